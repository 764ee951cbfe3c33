//! A thin wrapper over Hugging Face's `tokenizers`: load `tokenizer.json` (or GPT-2's
//! `vocab.json` + `merges.txt`), encode, decode, save.

use std::path::Path;

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;

use crate::error::{ModelError, Result};

pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// Text ↔ token ids.
#[derive(Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokenizer {{ vocab_size: {} }}", self.vocab_size())
    }
}

impl Tokenizer {
    pub fn new(inner: tokenizers::Tokenizer) -> Self {
        Self { inner }
    }

    /// Loads `dir/tokenizer.json`, or else GPT-2's `dir/vocab.json` + `dir/merges.txt`
    /// (byte-level BPE, no prefix space).
    pub fn load(dir: &Path) -> Result<Self> {
        let json = dir.join(TOKENIZER_FILE);
        let (vocab, merges) = (dir.join("vocab.json"), dir.join("merges.txt"));
        let inner = if json.is_file() {
            tokenizers::Tokenizer::from_file(&json).map_err(|e| ModelError::Tokenizer {
                path: json.clone(),
                message: e.to_string(),
            })?
        } else if vocab.is_file() && merges.is_file() {
            let bpe = BPE::from_file(&vocab.to_string_lossy(), &merges.to_string_lossy())
                .build()
                .map_err(|e| ModelError::Tokenizer {
                    path: vocab.clone(),
                    message: format!("with merges.txt: {e}"),
                })?;
            let mut inner = tokenizers::Tokenizer::new(bpe);
            inner.with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false)));
            inner.with_decoder(Some(ByteLevelDecoder::default()));
            inner
        } else {
            return Err(ModelError::MissingFile {
                path: json,
                what: "a tokenizer (tokenizer.json, or vocab.json + merges.txt)",
            });
        };
        Ok(Self { inner })
    }

    /// Writes `dir/tokenizer.json`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(TOKENIZER_FILE);
        self.inner
            .save(&path, false)
            .map_err(|e| ModelError::Tokenizer {
                path,
                message: e.to_string(),
            })
    }

    /// Token ids of `text`, with no special tokens added.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode(text, false)
            .map_err(|e| ModelError::Encode(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Text of `ids` (special tokens kept, so end-of-text markers stay visible).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, false)
            .map_err(|e| ModelError::Encode(e.to_string()))
    }

    /// Vocabulary size, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}
