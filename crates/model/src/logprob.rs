//! Log-probabilities of chosen tokens, per token and per sequence, and per-token entropy, from
//! one batched forward pass. On an autodiff device the results carry gradients.

use std::ops::Range;

use burn::prelude::*;

use crate::error::{ModelError, Result};
use crate::transformer::Transformer;

/// Token sequences left-padded to a common length T, with the tokens whose log-probs count.
#[derive(Debug, Clone)]
pub struct TokenBatch {
    /// `[B, T]`, padding positions hold token 0.
    pub ids: Tensor<2, Int>,
    /// Padding positions at the start of each row.
    pub pad: Vec<usize>,
    /// `[B, T-1]`: 1 where the token at position t+1 is scored (given positions ..=t), else 0.
    pub scored: Tensor<2>,
    /// Number of scored tokens per row.
    pub n_scored: Vec<usize>,
}

impl TokenBatch {
    /// Left-pads `sequences`; in row b, tokens at index ≥ `score_from[b]` (and ≥ 1: the first
    /// token has no prefix to be predicted from) are scored.
    pub fn new(sequences: &[Vec<u32>], score_from: &[usize], device: &Device) -> Result<Self> {
        let t = sequences.iter().map(Vec::len).max().unwrap_or(0);
        if sequences.is_empty() || t < 2 {
            return Err(ModelError::Empty(
                "log-probs need at least one sequence of two or more tokens",
            ));
        }
        let b = sequences.len();
        let mut ids = Vec::with_capacity(b * t);
        let mut scored = Vec::with_capacity(b * (t - 1));
        let mut pad = Vec::with_capacity(b);
        let mut n_scored = Vec::with_capacity(b);
        for (seq, &from) in sequences.iter().zip(score_from) {
            let p = t - seq.len();
            pad.push(p);
            ids.extend(std::iter::repeat_n(0, p).chain(seq.iter().map(|&id| id as i64)));
            // Target position j+1 of the padded row is token j+1-p of the sequence.
            let first = p + from.max(1);
            scored.extend((1..t).map(|j| if j >= first { 1.0f32 } else { 0.0 }));
            n_scored.push(t.saturating_sub(first));
        }
        Ok(Self {
            ids: Tensor::from_data(TensorData::new(ids, [b, t]), device),
            pad,
            scored: Tensor::from_data(TensorData::new(scored, [b, t - 1]), device),
            n_scored,
        })
    }

    /// Number of sequences (rows).
    pub fn len(&self) -> usize {
        self.pad.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pad.is_empty()
    }

    /// Rows `rows` of the batch, still padded to the whole batch's length.
    pub fn rows(&self, rows: Range<usize>) -> Self {
        let [_, t] = self.ids.dims();
        Self {
            ids: self.ids.clone().slice([rows.clone(), 0..t]),
            pad: self.pad[rows.clone()].to_vec(),
            scored: self.scored.clone().slice([rows.clone(), 0..t - 1]),
            n_scored: self.n_scored[rows].to_vec(),
        }
    }
}

/// Log-probs of a batch's scored tokens.
#[derive(Debug, Clone)]
pub struct SequenceLogprobs {
    /// `[B, T-1]`: log p(token t+1 | tokens ..=t) where scored, 0 elsewhere.
    pub token_logprobs: Tensor<2>,
    /// `[B]`: sum of the scored tokens' log-probs.
    pub sum: Tensor<1>,
    /// `[B, T-1]`: entropy (nats) of the predictive distribution where scored, 0 elsewhere;
    /// `None` unless asked for.
    pub entropy: Option<Tensor<2>>,
    /// Number of scored tokens per row.
    pub n_scored: Vec<usize>,
}

impl SequenceLogprobs {
    /// `[B]`: mean log-prob per scored token (0 for a row with none).
    pub fn mean(&self) -> Tensor<1> {
        self.sum.clone() / self.per_token_divisor()
    }

    /// `[B]`: mean entropy per scored token, if entropy was computed.
    pub fn mean_entropy(&self) -> Option<Tensor<1>> {
        let entropy = self.entropy.clone()?;
        Some(entropy.sum_dim(1).squeeze_dim(1) / self.per_token_divisor())
    }

    fn per_token_divisor(&self) -> Tensor<1> {
        let n: Vec<f32> = self.n_scored.iter().map(|&n| n.max(1) as f32).collect();
        let len = n.len();
        Tensor::from_data(TensorData::new(n, [len]), &self.sum.device())
    }
}

/// Log-probabilities of `batch`'s scored tokens under `model`, and, if `with_entropy`, the
/// entropy of each scored position's predictive distribution. On an autodiff device the
/// log-probs carry gradients; the entropy is a reported figure and does not.
pub fn sequence_logprobs(
    model: &Transformer,
    batch: &TokenBatch,
    with_entropy: bool,
) -> Result<SequenceLogprobs> {
    let [b, t] = batch.ids.dims();
    let mut cache = model.new_cache(batch.pad.clone());
    let hidden = model.forward_hidden(batch.ids.clone(), &mut cache)?; // [B, T, C]
    let c = hidden.dims()[2];
    // Only the last S positions predict a scored token (S: the most scored tokens of any row);
    // the LM head's [B, S, V] logits are the step's largest tensor, so the prompt's positions
    // stay out of it.
    let s = batch.n_scored.iter().copied().max().unwrap_or(0).max(1);
    let logits = model.lm_head(hidden.slice([0..b, t - 1 - s..t - 1, 0..c])); // [B, S, V]
    let targets = batch.ids.clone().slice([0..b, t - s..t]).unsqueeze_dim(2); // [B, S, 1]
    let scored = batch.scored.clone().slice([0..b, t - 1 - s..t - 1]); // [B, S]
    // log p(target) = logit(target) − log Z with log Z = logsumexp(logits): no [B, S, V]
    // log-softmax is formed, and the backward pass of log Z is a single softmax.
    let max = logits.clone().detach().max_dim(2); // [B, S, 1], for stability only
    let exp = (logits.clone() - max.clone()).exp(); // [B, S, V]
    let sum_exp = exp.clone().sum_dim(2); // [B, S, 1]
    let log_z = sum_exp.clone().log() + max;
    let picked = logits.clone().gather(2, targets) - log_z.clone();
    let token_logprobs = picked.squeeze_dim(2) * scored.clone();
    let entropy = with_entropy.then(|| {
        // H = log Z − Σ_v p_v·logit_v with p = exp / Σ exp: the softmax's numerator is reused
        // (detached: the entropy is reported, never differentiated), not recomputed.
        let weighted = (exp.detach() * logits.detach()).sum_dim(2);
        let mean_logit = weighted / sum_exp.detach();
        (log_z.detach() - mean_logit).squeeze_dim(2) * scored
    });
    // Back to the documented [B, T-1]: zeros before the first scored column.
    let widen = |x: Tensor<2>| match t - 1 - s {
        0 => x,
        unscored => Tensor::cat(vec![Tensor::zeros([b, unscored], &x.device()), x], 1),
    };
    Ok(SequenceLogprobs {
        sum: token_logprobs.clone().sum_dim(1).squeeze_dim(1),
        token_logprobs: widen(token_logprobs),
        entropy: entropy.map(widen),
        n_scored: batch.n_scored.clone(),
    })
}
