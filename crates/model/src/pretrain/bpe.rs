//! Training a byte-level BPE tokenizer (GPT-2's scheme) on a corpus with Hugging Face's
//! `tokenizers`: any text encodes, since every byte is in the initial alphabet.

use tokenizers::AddedToken;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::TrainerWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::processors::byte_level::ByteLevel as ByteLevelProcessor;

use crate::error::{ModelError, Result};
use crate::tokenizer::Tokenizer;

/// The special token between documents; also the model's `bos_token_id` and `eos_token_id`.
pub const END_OF_TEXT: &str = "<|endoftext|>";

/// The smallest vocabulary a byte-level BPE can have: 256 bytes and the end-of-text token.
pub const MIN_VOCAB_SIZE: usize = 257;

/// A byte-level BPE tokenizer of (at most) `vocab_size` tokens trained on `documents`, with
/// [`END_OF_TEXT`] as token 0.
pub fn train_tokenizer(documents: &[String], vocab_size: usize) -> Result<Tokenizer> {
    if vocab_size < MIN_VOCAB_SIZE {
        return Err(ModelError::Encode(format!(
            "vocab_size {vocab_size} is below the byte-level minimum of {MIN_VOCAB_SIZE}"
        )));
    }
    let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
        .vocab_size(vocab_size)
        .min_frequency(2)
        .show_progress(false)
        .special_tokens(vec![AddedToken::from(END_OF_TEXT, true)])
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build()
        .into();
    let mut inner = tokenizers::Tokenizer::new(BPE::default());
    inner.with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false)));
    inner.with_decoder(Some(ByteLevelDecoder::default()));
    inner.with_post_processor(Some(ByteLevelProcessor::default().trim_offsets(false)));
    inner
        .train(&mut trainer, documents.iter())
        .map_err(|e| ModelError::Encode(format!("training the BPE tokenizer: {e}")))?;
    Ok(Tokenizer::new(inner))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pretrain::corpus;

    #[test]
    fn trained_tokenizer_round_trips_any_text_and_puts_end_of_text_first() {
        let docs = corpus::stories(0, 200);
        let tokenizer = train_tokenizer(&docs, 400).unwrap();
        assert_eq!(tokenizer.token_to_id(END_OF_TEXT), Some(0));
        assert!(tokenizer.vocab_size() <= 400);
        for text in [docs[3].as_str(), "Zwölf Ärger 🦀 — «ok»\n\ttabs"] {
            let ids = tokenizer.encode(text).unwrap();
            assert_eq!(tokenizer.decode(&ids).unwrap(), text);
        }
        // Merges learnt on the corpus: a story takes far fewer tokens than bytes.
        let ids = tokenizer.encode(&docs[3]).unwrap();
        assert!(ids.len() * 2 < docs[3].len(), "{} tokens", ids.len());
    }

    #[test]
    fn training_is_deterministic() {
        let docs = corpus::stories(1, 100);
        let a = train_tokenizer(&docs, 350).unwrap();
        let b = train_tokenizer(&docs, 350).unwrap();
        let text = &docs[7];
        assert_eq!(a.encode(text).unwrap(), b.encode(text).unwrap());
        assert_eq!(
            a.inner().to_string(false).unwrap(),
            b.inner().to_string(false).unwrap()
        );
    }
}
