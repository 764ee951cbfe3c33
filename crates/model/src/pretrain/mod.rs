//! Pretraining a small GPT-2 from scratch: a corpus (the built-in story grammar or a user's
//! text), a byte-level BPE tokenizer trained on it, and a language-model training loop. The
//! result is a [`Checkpoint`] that saves in the Hugging Face layout.
//!
//! Nothing here prints: progress goes through the [`Progress`](crate::Progress) trait.

pub mod bpe;
pub mod corpus;
pub mod train;

use std::path::{Path, PathBuf};

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;
use crate::config::TransformerConfig;
use crate::error::{ModelError, Result};
use crate::progress::Progress;
use crate::transformer::Transformer;

pub use bpe::{END_OF_TEXT, train_tokenizer};
pub use train::{TrainRecord, learning_rate, lm_loss};

/// Everything that decides a pretrained model, as written in `experiments/pretrain.toml`.
/// Every field has a default; unknown keys are rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PretrainConfig {
    /// Seeds the corpus grammar, weight initialisation and batch sampling.
    pub seed: u64,
    pub corpus: CorpusSettings,
    pub tokenizer: TokenizerSettings,
    pub model: ModelSettings,
    pub train: TrainSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorpusSettings {
    /// Stories the built-in grammar writes (unused with a corpus file).
    pub stories: usize,
    /// Share of the token stream (its end) held out for evaluation.
    pub eval_fraction: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenizerSettings {
    /// BPE vocabulary size, the end-of-text token included (at least 257).
    pub vocab_size: usize,
}

/// The GPT-2's size (GPT-2's defaults for everything else).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSettings {
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
    /// Context length; RL prompts plus their completions must fit.
    pub n_positions: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSettings {
    /// AdamW steps.
    pub steps: usize,
    /// Windows per step (B).
    pub batch_size: usize,
    /// Tokens per window (T), at most n_positions.
    pub seq_len: usize,
    /// Peak learning rate, reached after the warm-up.
    pub lr: f64,
    /// Learning rate at the last step, after the cosine decay.
    pub min_lr: f64,
    pub warmup_steps: usize,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f64,
    /// Measure the held-out loss every this many steps (and at the end).
    pub eval_every: usize,
    /// Held-out windows of `seq_len` tokens evaluated each time (fewer if the split is short).
    pub eval_windows: usize,
    /// Stop once the held-out loss has not improved for this many evaluations in a row (0:
    /// never stop early). Either way the weights kept are those with the best held-out loss.
    pub patience: usize,
}

impl Default for CorpusSettings {
    fn default() -> Self {
        Self {
            stories: 6000,
            eval_fraction: 0.05,
        }
    }
}

impl Default for TokenizerSettings {
    fn default() -> Self {
        Self { vocab_size: 2048 }
    }
}

impl Default for ModelSettings {
    fn default() -> Self {
        Self {
            n_embd: 128,
            n_layer: 4,
            n_head: 4,
            n_positions: 256,
        }
    }
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            steps: 300,
            batch_size: 16,
            seq_len: 128,
            lr: 3e-3,
            min_lr: 3e-4,
            warmup_steps: 30,
            weight_decay: 0.1,
            eval_every: 25,
            eval_windows: 64,
            patience: 4,
        }
    }
}

impl PretrainConfig {
    /// Checks the settings against each other; errors name `path` and the key.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let err = |field: &str, message: String| {
            Err(ModelError::Config {
                path: path.to_path_buf(),
                field: field.into(),
                message,
            })
        };
        let (m, t) = (&self.model, &self.train);
        for (field, value) in [
            ("corpus.stories", self.corpus.stories),
            ("model.n_embd", m.n_embd),
            ("model.n_layer", m.n_layer),
            ("model.n_head", m.n_head),
            ("model.n_positions", m.n_positions),
            ("train.steps", t.steps),
            ("train.batch_size", t.batch_size),
            ("train.seq_len", t.seq_len),
            ("train.eval_every", t.eval_every),
            ("train.eval_windows", t.eval_windows),
        ] {
            if value == 0 {
                return err(field, "must be at least 1".into());
            }
        }
        if !(self.corpus.eval_fraction > 0.0 && self.corpus.eval_fraction < 0.5) {
            return err(
                "corpus.eval_fraction",
                format!("{} is not in (0, 0.5)", self.corpus.eval_fraction),
            );
        }
        if self.tokenizer.vocab_size < bpe::MIN_VOCAB_SIZE {
            return err(
                "tokenizer.vocab_size",
                format!(
                    "{} is below the byte-level minimum of {} (256 bytes + end-of-text)",
                    self.tokenizer.vocab_size,
                    bpe::MIN_VOCAB_SIZE
                ),
            );
        }
        if !m.n_embd.is_multiple_of(m.n_head) {
            return err(
                "model.n_head",
                format!("{} does not divide n_embd = {}", m.n_head, m.n_embd),
            );
        }
        if t.seq_len > m.n_positions {
            return err(
                "train.seq_len",
                format!(
                    "{} exceeds model.n_positions = {}",
                    t.seq_len, m.n_positions
                ),
            );
        }
        if !(t.lr.is_finite() && t.lr > 0.0) {
            return err("train.lr", format!("{} must be finite and > 0", t.lr));
        }
        if !(t.min_lr.is_finite() && t.min_lr >= 0.0 && t.min_lr <= t.lr) {
            return err("train.min_lr", format!("{} is not in [0, lr]", t.min_lr));
        }
        if t.warmup_steps > t.steps {
            return err(
                "train.warmup_steps",
                format!("{} exceeds train.steps = {}", t.warmup_steps, t.steps),
            );
        }
        if !(t.weight_decay.is_finite() && t.weight_decay >= 0.0) {
            return err(
                "train.weight_decay",
                format!("{} must be finite and ≥ 0", t.weight_decay),
            );
        }
        Ok(())
    }

    /// The GPT-2 these settings describe, for a tokenizer of `vocab_size` tokens whose
    /// end-of-text token is `eos`.
    pub fn gpt_config(&self, vocab_size: usize, eos: u32) -> TransformerConfig {
        let m = &self.model;
        let mut config =
            TransformerConfig::gpt2(vocab_size, m.n_positions, m.n_embd, m.n_layer, m.n_head);
        config.bos_token_id = Some(eos);
        config.eos_token_id = Some(eos);
        config
    }
}

/// The text a model is pretrained on.
#[derive(Debug, Clone)]
pub enum Corpus {
    /// `stories` stories from the built-in grammar, seeded with the config's seed.
    Grammar,
    /// A user's text file, split into documents at [`END_OF_TEXT`] markers if it has any.
    File { path: PathBuf, text: String },
}

impl Corpus {
    /// Reads a UTF-8 text file; a missing, unreadable, non-UTF-8 or empty file is an error that
    /// names it.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| ModelError::Corpus {
            path: path.to_path_buf(),
            message: format!("cannot read the corpus file: {e}"),
        })?;
        let text = String::from_utf8(bytes).map_err(|e| ModelError::Corpus {
            path: path.to_path_buf(),
            message: format!(
                "the corpus file is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        })?;
        if text.trim().is_empty() {
            return Err(ModelError::Corpus {
                path: path.to_path_buf(),
                message: "the corpus file is empty".into(),
            });
        }
        Ok(Corpus::File {
            path: path.to_path_buf(),
            text,
        })
    }

    /// The corpus as documents.
    pub fn documents(&self, config: &PretrainConfig) -> Vec<String> {
        match self {
            Corpus::Grammar => corpus::stories(config.seed, config.corpus.stories),
            Corpus::File { text, .. } => text
                .split(END_OF_TEXT)
                .filter(|doc| !doc.trim().is_empty())
                .map(String::from)
                .collect(),
        }
    }
}

/// A pretrained model and how it got there.
#[derive(Debug)]
pub struct Pretrained {
    /// The model (on the plain, non-autodiff device) and its tokenizer.
    pub checkpoint: Checkpoint,
    /// One record per step, and one for step 0 before training.
    pub records: Vec<TrainRecord>,
    /// Held-out loss (nats per token) before training, and of the weights kept (the best).
    pub initial_eval_loss: f64,
    pub final_eval_loss: f64,
    /// The step whose weights were kept: the lowest held-out loss.
    pub best_step: usize,
    /// The step training stopped at when the held-out loss stopped improving.
    pub stopped_at: Option<usize>,
    /// Held-out loss of the unigram model fit to the training tokens (add-one smoothing), on
    /// the same held-out targets.
    pub unigram_eval_loss: f64,
    pub documents: usize,
    pub train_tokens: usize,
    pub eval_tokens: usize,
}

impl Pretrained {
    /// What to tell the user when training ended worse than a unigram table or than the random
    /// initialisation (the weights kept are still the best held-out ones): the corpus is too
    /// small for these settings. A 37 KB text (this project's README and BENCHMARKS) trained
    /// for 300 steps ended at perplexity 5,085 from 2,033 at the start, with a unigram
    /// baseline of 788.
    pub fn warning(&self) -> Option<String> {
        let last = self
            .records
            .iter()
            .rev()
            .find_map(|r| r.eval_loss.map(|loss| (r.step, loss)))?;
        let above = if last.1 >= self.unigram_eval_loss {
            format!("the unigram baseline's {:.0}", self.unigram_eval_loss.exp())
        } else if last.1 > self.initial_eval_loss {
            format!("its {:.0} before training", self.initial_eval_loss.exp())
        } else {
            return None;
        };
        Some(format!(
            "held-out perplexity ended at {:.0} (step {}), above {above}: the corpus ({} \
             documents, {} training tokens) is too small for a model of {} parameters trained \
             this long, and it learnt the training text by heart. The weights kept are step \
             {}'s (perplexity {:.0}); give more text, or fewer train.steps, a smaller model or a \
             smaller tokenizer.vocab_size",
            last.1.exp(),
            last.0,
            self.documents,
            self.train_tokens,
            self.checkpoint.model.config().n_params(),
            self.best_step,
            self.final_eval_loss.exp()
        ))
    }
}

/// Writes or reads the corpus, trains the tokenizer on it, and pretrains a GPT-2 on `device`
/// (gradients are taken on `device.autodiff()`).
pub fn pretrain(
    config: &PretrainConfig,
    corpus: &Corpus,
    device: &Device,
    progress: &mut dyn Progress,
) -> Result<Pretrained> {
    progress.stage("writing the corpus");
    let documents = corpus.documents(config);
    if documents.is_empty() {
        return Err(ModelError::Pretrain("the corpus has no documents".into()));
    }
    progress.stage("training the tokenizer");
    let tokenizer = train_tokenizer(&documents, config.tokenizer.vocab_size)?;
    let eos = tokenizer
        .token_to_id(END_OF_TEXT)
        .ok_or_else(|| ModelError::Pretrain("the tokenizer lost its end-of-text token".into()))?;
    progress.stage("tokenizing");
    let tokens = tokenize(&tokenizer, &documents, eos)?;
    let n_eval = ((tokens.len() as f64) * config.corpus.eval_fraction).ceil() as usize;
    let (train_tokens, eval_tokens) = tokens.split_at(tokens.len() - n_eval);

    let autodiff = device.clone().autodiff();
    autodiff.seed(config.seed);
    let model = Transformer::init(&config.gpt_config(tokenizer.vocab_size(), eos), &autodiff);
    progress.stage("training");
    let trained = train::train(
        model,
        train_tokens,
        eval_tokens,
        &config.train,
        config.seed,
        progress,
    )?;
    let eval_losses: Vec<f64> = trained.records.iter().filter_map(|r| r.eval_loss).collect();
    let starts = train::eval_windows(
        eval_tokens.len(),
        config.train.seq_len,
        config.train.eval_windows,
    );
    let unigram_eval_loss = unigram_loss(
        train_tokens,
        eval_tokens,
        &starts,
        config.train.seq_len,
        tokenizer.vocab_size(),
    );
    Ok(Pretrained {
        checkpoint: Checkpoint {
            model: trained.model.valid(),
            tokenizer,
        },
        initial_eval_loss: eval_losses.first().copied().unwrap_or(f64::NAN),
        final_eval_loss: trained.best_eval_loss,
        best_step: trained.best_step,
        stopped_at: trained.stopped_at,
        unigram_eval_loss,
        records: trained.records,
        documents: documents.len(),
        train_tokens: train_tokens.len(),
        eval_tokens: eval_tokens.len(),
    })
}

/// The token stream: each document preceded by the end-of-text token.
pub fn tokenize(tokenizer: &crate::Tokenizer, documents: &[String], eos: u32) -> Result<Vec<u32>> {
    let mut tokens = Vec::new();
    for doc in documents {
        tokens.push(eos);
        tokens.extend(tokenizer.encode(doc)?);
    }
    Ok(tokens)
}

/// Cross-entropy (nats per token) on the held-out targets — the tokens `start + 1 ..= start + t`
/// of each window — of the unigram distribution of `train` with add-one smoothing over a
/// vocabulary of `vocab_size`.
pub fn unigram_loss(
    train: &[u32],
    eval: &[u32],
    starts: &[usize],
    t: usize,
    vocab_size: usize,
) -> f64 {
    let mut counts = vec![0usize; vocab_size];
    for &id in train {
        if let Some(c) = counts.get_mut(id as usize) {
            *c += 1;
        }
    }
    let total = (train.len() + vocab_size) as f64;
    let mut nll = 0.0;
    let mut n = 0usize;
    for &s in starts {
        for &id in &eval[s + 1..s + t + 1] {
            let count = counts.get(id as usize).copied().unwrap_or(0);
            nll -= ((count + 1) as f64 / total).ln();
            n += 1;
        }
    }
    nll / n.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unigram_loss_matches_a_hand_computed_value() {
        // Train counts over a vocabulary of 3: token 0 twice, token 1 once, token 2 never;
        // smoothed p = (3/6, 2/6, 1/6). Held-out targets: 1, 2.
        let loss = unigram_loss(&[0, 0, 1], &[0, 1, 2], &[0], 2, 3);
        let expected = -((2.0f64 / 6.0).ln() + (1.0f64 / 6.0).ln()) / 2.0;
        assert!((loss - expected).abs() < 1e-12, "{loss} vs {expected}");
    }

    #[test]
    fn defaults_are_valid_and_fit_the_rl_prompts() {
        let config = PretrainConfig::default();
        config.validate(Path::new("x.toml")).unwrap();
        assert!(config.model.n_positions >= 256);
    }

    #[test]
    fn invalid_settings_name_the_file_and_key() {
        let mut config = PretrainConfig::default();
        config.train.seq_len = 512;
        let err = config
            .validate(Path::new("p.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("p.toml") && err.contains("train.seq_len"),
            "{err}"
        );
    }

    #[test]
    fn corpus_file_splits_at_end_of_text() {
        let corpus = Corpus::File {
            path: "x".into(),
            text: "one<|endoftext|>two<|endoftext|>\n".into(),
        };
        let docs = corpus.documents(&PretrainConfig::default());
        assert_eq!(docs, vec!["one".to_string(), "two".to_string()]);
    }
}
