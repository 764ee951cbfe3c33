//! Sampling completions with a KV cache: temperature, top-k, top-p, a caller-owned seeded RNG,
//! batched prompts of different lengths, and an optional stop at end-of-text.

use burn::prelude::*;
use burn::tensor::activation::softmax;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::logprob::TokenBatch;
use crate::transformer::Transformer;

/// The fewest rows per sampling shard. Shards run in parallel on the rayon pool: on the flex
/// CPU backend one shard's token-by-token ops keep about one core busy. 32 rows sampled in 2
/// shards of 16 took 0.25 s against 0.55 s in one (shards of 8: 0.28 s; `small` config, 2
/// cores).
pub const SAMPLE_SHARD_ROWS: usize = 16;

/// Rows per shard for a batch of `rows` on a pool of `threads`: one shard per thread, of at
/// least [`SAMPLE_SHARD_ROWS`]. A shard's cost is mostly per decoding step, not per row: on one
/// thread 8 rows × 100 new tokens took 0.35 s, 16 rows 0.49 s, and 128 rows 4.24 s in 8 shards
/// of 16 against 3.05 s in one (`small` config), so more shards than threads only add steps.
pub fn sample_shard_rows(rows: usize, threads: usize) -> usize {
    SAMPLE_SHARD_ROWS.max(rows.div_ceil(threads.max(1)))
}

/// How to pick each new token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamplingConfig {
    pub max_new_tokens: usize,
    /// Logits are divided by this before the softmax; 1 samples the model's own distribution.
    pub temperature: f64,
    /// Keep only the k most likely tokens.
    pub top_k: Option<usize>,
    /// Keep the smallest set of most likely tokens whose probability reaches p (nucleus).
    pub top_p: Option<f64>,
    /// Stop a row at the model's `eos_token_id` (kept as the row's last token).
    pub stop_at_eos: bool,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        Self {
            max_new_tokens: 100,
            temperature: 1.0,
            top_k: None,
            top_p: None,
            stop_at_eos: false,
        }
    }
}

impl SamplingConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |field, value: String, message| {
            Err(ModelError::Sampling {
                field,
                value,
                message,
            })
        };
        if self.max_new_tokens == 0 {
            return bad("max_new_tokens", "0".into(), "must be at least 1");
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return bad(
                "temperature",
                self.temperature.to_string(),
                "must be finite and > 0",
            );
        }
        if self.top_k == Some(0) {
            return bad("top_k", "0".into(), "must be at least 1");
        }
        if let Some(p) = self.top_p
            && !(p > 0.0 && p <= 1.0)
        {
            return bad("top_p", p.to_string(), "must be in (0, 1]");
        }
        Ok(())
    }
}

/// Prompts and their sampled completions.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    /// Length of each row's prompt.
    pub prompt_lens: Vec<usize>,
    /// Each row's prompt followed by its completion (ending at EOS if it stopped there).
    pub sequences: Vec<Vec<u32>>,
}

impl Rollout {
    pub fn len(&self) -> usize {
        self.sequences.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sequences.is_empty()
    }

    /// Consecutive rollouts of `rows` rows each (the last may have fewer).
    pub fn chunks(&self, rows: usize) -> Vec<Rollout> {
        self.prompt_lens
            .chunks(rows.max(1))
            .zip(self.sequences.chunks(rows.max(1)))
            .map(|(prompt_lens, sequences)| Rollout {
                prompt_lens: prompt_lens.to_vec(),
                sequences: sequences.to_vec(),
            })
            .collect()
    }

    /// The prompt tokens of row `row` (with the special tokens its encoding added).
    pub fn prompt(&self, row: usize) -> &[u32] {
        &self.sequences[row][..self.prompt_lens[row]]
    }

    /// The sampled tokens of row `row`.
    pub fn completion(&self, row: usize) -> &[u32] {
        &self.sequences[row][self.prompt_lens[row]..]
    }

    /// The rollout as a left-padded batch scoring the completion tokens (with
    /// `include_prompt`, every token after the first).
    pub fn token_batch(&self, include_prompt: bool, device: &Device) -> Result<TokenBatch> {
        let score_from: Vec<usize> = if include_prompt {
            vec![1; self.len()]
        } else {
            self.prompt_lens.clone()
        };
        TokenBatch::new(&self.sequences, &score_from, device)
    }
}

/// Samples one completion per prompt.
///
/// Each row draws from its own RNG stream, seeded from one number taken from `rng`, so a row's
/// tokens depend on the seed and its row index, not on what else is in the batch: a left-padded
/// row samples exactly what it samples alone, and shards of [`SAMPLE_SHARD_ROWS`] rows run in
/// parallel.
pub fn sample(
    model: &Transformer,
    prompts: &[Vec<u32>],
    config: &SamplingConfig,
    rng: &mut impl RngCore,
) -> Result<Rollout> {
    check(model, prompts, config)?;
    let base_seed = rng.next_u64();
    // Rows sample in parallel shards: each row's tokens depend only on its prompt and its RNG
    // stream, so how the batch is cut changes nothing but the speed.
    decode(model, prompts, |first_row, shard, head| {
        let row_rngs = (first_row..first_row + shard.len())
            .map(|row| StdRng::seed_from_u64(base_seed.wrapping_add(row as u64)))
            .collect();
        sample_shard(model, head, shard, config, Pick::Sample(row_rngs))
    })
}

/// The greedy completion of each prompt: the most likely token at every step, with the length
/// and end-of-text settings of `config` (temperature, top-k and top-p never change which token
/// is the most likely, so they play no part). What ReMax's baseline scores.
pub fn greedy(
    model: &Transformer,
    prompts: &[Vec<u32>],
    config: &SamplingConfig,
) -> Result<Rollout> {
    check(model, prompts, config)?;
    decode(model, prompts, |_, shard, head| {
        sample_shard(model, head, shard, config, Pick::Greedy)
    })
}

/// How each new token is picked.
enum Pick {
    /// Drawn from the (filtered) distribution, row b with its own RNG.
    Sample(Vec<StdRng>),
    /// The most likely token.
    Greedy,
}

/// The batch cut into shards of [`sample_shard_rows`] that decode in parallel; `shard(first_row,
/// prompts, head)` decodes one, with the LM head laid out once for all of them
/// ([`Transformer::decode_head`]).
fn decode(
    model: &Transformer,
    prompts: &[Vec<u32>],
    shard: impl Fn(usize, &[Vec<u32>], &Tensor<2>) -> Result<Vec<Vec<u32>>> + Sync,
) -> Result<Rollout> {
    let head = model.decode_head();
    let shard_rows = sample_shard_rows(prompts.len(), rayon::current_num_threads());
    let shards: Vec<Vec<Vec<u32>>> = prompts
        .par_chunks(shard_rows)
        .enumerate()
        .map(|(s, rows)| shard(s * shard_rows, rows, &head))
        .collect::<Result<_>>()?;
    Ok(Rollout {
        prompt_lens: prompts.iter().map(Vec::len).collect(),
        sequences: shards.into_iter().flatten().collect(),
    })
}

/// The settings, the prompts and the context length, checked before anything is decoded.
fn check(model: &Transformer, prompts: &[Vec<u32>], config: &SamplingConfig) -> Result<()> {
    config.validate()?;
    let model_config = model.config();
    if prompts.is_empty() {
        return Err(ModelError::Empty("no prompts to sample from"));
    }
    if prompts.iter().any(Vec::is_empty) {
        return Err(ModelError::Empty("a prompt has no tokens"));
    }
    let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let needed = longest + config.max_new_tokens;
    if needed > model_config.n_positions {
        return Err(ModelError::ContextTooLong {
            needed,
            n_positions: model_config.n_positions,
        });
    }
    for prompt in prompts {
        model.check_ids(prompt)?;
    }
    Ok(())
}

/// Completions of one shard of prompts, each new token chosen by `pick`.
fn sample_shard(
    model: &Transformer,
    head: &Tensor<2>,
    prompts: &[Vec<u32>],
    config: &SamplingConfig,
    mut pick: Pick,
) -> Result<Vec<Vec<u32>>> {
    let model_config = model.config();
    let device = model.wte.weight.val().device();
    let b = prompts.len();
    let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let pad: Vec<usize> = prompts.iter().map(|p| longest - p.len()).collect();
    let ids: Vec<i64> = prompts
        .iter()
        .zip(&pad)
        .flat_map(|(p, &n)| std::iter::repeat_n(0, n).chain(p.iter().map(|&id| id as i64)))
        .collect();

    // Prefill: one pass over the prompts, logits for the last position only.
    let mut cache = model.new_cache_with_capacity(pad, longest + config.max_new_tokens);
    let hidden = model.forward_hidden(
        Tensor::from_data(TensorData::new(ids, [b, longest]), &device),
        &mut cache,
    )?;
    let c = model_config.n_embd;
    let mut logits = model.lm_head_with(
        hidden.slice([0..b, longest - 1..longest, 0..c]),
        head.clone(),
    );

    let eos = model_config.eos_token_id.filter(|_| config.stop_at_eos);
    let mut sequences = prompts.to_vec();
    let mut done = vec![false; b];
    for step in 0..config.max_new_tokens {
        let last = logits.squeeze_dim(1);
        let next = match &mut pick {
            Pick::Sample(row_rngs) => choose(last, config, row_rngs),
            Pick::Greedy => most_likely(last),
        };
        for (row, &id) in next.iter().enumerate() {
            if !done[row] {
                sequences[row].push(id);
                done[row] = Some(id) == eos;
            }
        }
        if step + 1 == config.max_new_tokens || done.iter().all(|&d| d) {
            break;
        }
        let input: Vec<i64> = next.iter().map(|&id| id as i64).collect();
        let hidden = model.forward_hidden(
            Tensor::from_data(TensorData::new(input, [b, 1]), &device),
            &mut cache,
        )?;
        logits = model.lm_head_with(hidden, head.clone());
    }
    Ok(sequences)
}

/// The most likely token of each row of `[B, V]` logits.
fn most_likely(logits: Tensor<2>) -> Vec<u32> {
    token_ids(logits.argmax(1))
}

/// Picks one token per row from `[B, V]` logits by inverse-CDF sampling: one uniform number
/// per row from that row's RNG, compared with the cumulative distribution on the device.
fn choose(logits: Tensor<2>, config: &SamplingConfig, row_rngs: &mut [StdRng]) -> Vec<u32> {
    let [b, v] = logits.dims();
    let device = logits.device();
    let mut logits = logits / config.temperature;
    if let Some(k) = config.top_k.filter(|&k| k < v) {
        let kth = logits
            .clone()
            .topk(k, 1)
            .slice([0..b, k - 1..k])
            .expand([b, v]); // [B, V]
        let below = logits.clone().lower(kth);
        logits = logits.mask_fill(below, f32::NEG_INFINITY);
    }
    let mut probs = softmax(logits, 1); // [B, V]
    if let Some(p) = config.top_p.filter(|&p| p < 1.0) {
        let (sorted, _) = probs.clone().sort_descending_with_indices(1);
        // A token stays if the tokens more likely than it have not yet reached p.
        let before = sorted.clone().cumsum(1) - sorted.clone();
        let dropped = before.greater_equal_elem(p);
        let smallest_kept = sorted.mask_fill(dropped, 2.0).min_dim(1).expand([b, v]);
        let below = probs.clone().lower(smallest_kept);
        probs = probs.mask_fill(below, 0.0);
    }
    let cdf = probs.cumsum(1); // [B, V]
    let total = cdf.clone().slice([0..b, v - 1..v]); // [B, 1]
    let uniforms: Vec<f32> = row_rngs.iter_mut().map(|rng| rng.random::<f32>()).collect();
    let target = total * Tensor::<2>::from_data(TensorData::new(uniforms, [b, 1]), &device);
    let index = cdf.lower_equal(target.expand([b, v])).int().sum_dim(1); // [B, 1]
    token_ids(index.clamp_max(v as i64 - 1))
}

/// `[B, 1]` token indices read back from the device, one per row.
fn token_ids(index: Tensor<2, Int>) -> Vec<u32> {
    index
        .into_data()
        .try_into_vec_as::<i64>()
        .unwrap_or_default()
        .into_iter()
        .map(|id| id as u32)
        .collect()
}
