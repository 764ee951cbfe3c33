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

    /// Token ids of `text`, with no special tokens added (a corpus, a completion).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        self.encode_with(text, false)
    }

    /// Token ids of a text the model starts from (a prompt, a text to score), with the special
    /// tokens the tokenizer's post-processor adds, as `transformers`' `tokenizer(text)` gives
    /// them: Llama 3's and Llama 2's tokenizers put a BOS token first, a model trained with it
    /// expects it, and log-probs without it are not the ones the model was trained to give.
    /// GPT-2's and Qwen's post-processors add nothing: there it equals `encode`.
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>> {
        self.encode_with(text, true)
    }

    fn encode_with(&self, text: &str, special_tokens: bool) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode(text, special_tokens)
            .map_err(|e| ModelError::Encode(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Text of `ids` (special tokens kept, so end-of-text markers stay visible).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, false)
            .map_err(|e| ModelError::Encode(e.to_string()))
    }

    /// Text of a prompt's ids without the special tokens `encode_prompt` added (a reward sees
    /// the prompt as the user wrote it, not a BOS marker).
    pub fn decode_prompt(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, true)
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
