//! Decoder-only causal language models on burn: GPT-2, GPT-Neo, Llama, Qwen2 and Qwen3 in one
//! transformer, sampling with a KV cache, per-sequence log-probabilities, and Hugging Face
//! checkpoint directories.
//!
//! Code takes a `&Device`; nothing here names a backend.
//!
//! # Shape letters
//! B batch, T time (positions), C channels (`n_embd`), V vocabulary, H heads, Hkv key/value
//! heads, D one head's channels.

pub mod attention;
pub mod block;
pub mod cache;
pub mod config;
pub mod error;
mod flatten;
mod hf_config;
mod hf_keys;
mod hf_rope;
mod init;
mod llama_config;
pub mod norm;
pub mod progress;
pub mod rope;
pub mod transformer;

pub use cache::KvCache;
pub use config::{Activation, Arch, AttentionKind, TransformerConfig};
pub use error::{ModelError, Result};
pub use flatten::{flatten_gradients, unflatten_gradients};
pub use progress::{Progress, Silent};
pub use transformer::Transformer;

pub mod logprob;
pub mod sample;
pub mod shard;

pub use logprob::{SequenceLogprobs, TokenBatch, sequence_logprobs};
pub use sample::{Rollout, SAMPLE_SHARD_ROWS, SamplingConfig, greedy, sample, sample_shard_rows};
pub use shard::{SHARD_ROWS, ShardedLogprobs, per_sequence_logprobs, sharded_logprobs};
pub mod checkpoint;
pub mod pretrain;
pub mod tokenizer;

pub use checkpoint::{Checkpoint, load_model, save_model};
pub use tokenizer::Tokenizer;
