//! The training log-prob pass, data-parallel: the batch's rows cut into shards of at most
//! [`SHARD_ROWS`] sequences, each run forward and backward on its own fork of the model (its own
//! autodiff graph) on the rayon pool, and the parameter gradients summed in shard order.
//!
//! Why: on the flex CPU backend most element-wise ops of a forward or backward pass run on one
//! thread, so one autodiff graph keeps about one core busy (the training pass of `pglab bench`'s
//! `small` workload used 1.1 cores of 2). Independent graphs over disjoint rows keep every core
//! busy, and the gradient of a loss that is a sum over sequences is the sum of the shards'
//! gradients.
//!
//! The shard size is fixed rather than derived from the number of threads, so a batch is always
//! cut the same way and gives bitwise the same gradient whatever the thread count or `--jobs`.
//!
//! [`per_sequence_logprobs`] cuts shards of one row, for the gradient of each sequence's
//! log-prob on its own ([`ShardedLogprobs::shard_gradients`]): the gradient-variance probe
//! builds every estimator's gradient from those, one backward pass per sequence whatever the
//! number of estimators. One row per graph is no dearer than the batched pass on this CPU: a
//! training pass on 8 sequences of 116 tokens (`pglab bench --config small --prompts 2 --k 4`)
//! took 0.40 s as one shard of 8 (one graph keeps about one core busy), one sequence alone
//! 0.066 s, and 8 one-row graphs run two at a time on 2 cores.

use std::ops::Range;

use burn::module::Module;
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::prelude::*;
use rayon::prelude::*;

use crate::error::{ModelError, Result};
use crate::flatten::flatten_gradients;
use crate::logprob::{SequenceLogprobs, TokenBatch, sequence_logprobs};
use crate::transformer::Transformer;

/// Sequences per shard. 8 keeps two cores busy from a batch of 16 on; a batch of 32 splits in 4,
/// which measured slightly faster than 2 shards of 16 (whole-process bench, BENCHMARKS.md).
pub const SHARD_ROWS: usize = 8;

/// The log-probs of a batch, computed shard by shard, each shard still holding its graph.
pub struct ShardedLogprobs {
    shards: Vec<Shard>,
}

struct Shard {
    /// The fork of the model this shard's graph was recorded on.
    replica: Transformer,
    rows: Range<usize>,
    logprobs: SequenceLogprobs,
}

/// The log-probs of `batch`'s scored tokens under `model` (see [`sequence_logprobs`]), computed
/// in parallel shards on an autodiff device, ready for [`ShardedLogprobs::backward`].
pub fn sharded_logprobs(
    model: &Transformer,
    batch: &TokenBatch,
    with_entropy: bool,
) -> Result<ShardedLogprobs> {
    logprobs_in_shards(model, batch, with_entropy, SHARD_ROWS)
}

/// The same log-probs with every sequence on a graph of its own, ready for
/// [`ShardedLogprobs::shard_gradients`], which then gives one gradient per sequence.
pub fn per_sequence_logprobs(
    model: &Transformer,
    batch: &TokenBatch,
    with_entropy: bool,
) -> Result<ShardedLogprobs> {
    logprobs_in_shards(model, batch, with_entropy, 1)
}

fn logprobs_in_shards(
    model: &Transformer,
    batch: &TokenBatch,
    with_entropy: bool,
    shard_rows: usize,
) -> Result<ShardedLogprobs> {
    let n = batch.len();
    let device = batch.ids.device();
    let shards = (0..n.div_ceil(shard_rows))
        .into_par_iter()
        .map(|s| {
            let rows = s * shard_rows..((s + 1) * shard_rows).min(n);
            // A fork holds the same weights but starts a graph of its own, so shards never
            // wait on one another's graph lock.
            let replica = model.clone().fork(&device);
            let logprobs = sequence_logprobs(&replica, &batch.rows(rows.clone()), with_entropy)?;
            Ok(Shard {
                replica,
                rows,
                logprobs,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ShardedLogprobs { shards })
}

impl ShardedLogprobs {
    /// Summed log-prob of each sequence's scored tokens, in batch order.
    pub fn sum(&self) -> Vec<f32> {
        self.gather(|l| Some(l.sum.clone()))
            .expect("every shard has sums")
    }

    /// Mean entropy per scored token of each sequence, if entropy was asked for.
    pub fn mean_entropy(&self) -> Option<Vec<f32>> {
        self.gather(SequenceLogprobs::mean_entropy)
    }

    /// Number of scored tokens of each sequence.
    pub fn n_scored(&self) -> Vec<usize> {
        self.shards
            .iter()
            .flat_map(|s| s.logprobs.n_scored.iter().copied())
            .collect()
    }

    /// Log-probs of each sequence's scored tokens, in order: one vector of n_i per sequence.
    pub fn token_logprobs(&self) -> Vec<Vec<f32>> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let logprobs = &shard.logprobs;
            let [rows, width] = logprobs.token_logprobs.dims();
            let values: Vec<f32> = logprobs.token_logprobs.to_data().iter::<f32>().collect();
            // Rows are left-padded and scored to their end: a row's n_i scored tokens are its
            // last n_i columns.
            for (row, &n) in values
                .chunks(width.max(1))
                .zip(&logprobs.n_scored)
                .take(rows)
            {
                out.push(row[width - n..].to_vec());
            }
        }
        out
    }

    /// The gradient of L = Σ_i `weights[i]`·s_i (s_i the summed log-probs of sequence i) with
    /// respect to the model's parameters: every shard's backward pass in parallel, then the
    /// shards' gradients added in shard order.
    ///
    /// # Errors
    /// [`ModelError::LossWeights`] unless `weights` has one entry per sequence.
    pub fn backward(self, weights: &[f32]) -> Result<GradientsParams> {
        self.check_rows(weights.len())?;
        self.backward_with(|shard| {
            let w = &weights[shard.rows.clone()];
            let device = shard.logprobs.sum.device();
            let w = Tensor::<1>::from_data(TensorData::new(w.to_vec(), [w.len()]), &device);
            (shard.logprobs.sum.clone() * w).sum()
        })
    }

    /// The gradient of L = Σ_{i,t} `weights[i][t]`·log π(y_{i,t}), one weight per scored token
    /// (in the order of [`ShardedLogprobs::token_logprobs`]): what an objective with a ratio per
    /// token needs. With every weight of sequence i equal to w_i it is bitwise
    /// [`ShardedLogprobs::backward`]'s gradient.
    ///
    /// # Errors
    /// [`ModelError::LossWeights`] unless `weights` has one entry per sequence and each entry
    /// one weight per scored token.
    pub fn backward_per_token(self, weights: &[Vec<f32>]) -> Result<GradientsParams> {
        self.check_rows(weights.len())?;
        let n_scored = self.n_scored();
        if let Some((i, w)) = weights
            .iter()
            .enumerate()
            .find(|(i, w)| w.len() != n_scored[*i])
        {
            return Err(ModelError::LossWeights {
                expected: n_scored[i],
                found: w.len(),
            });
        }
        self.backward_with(|shard| {
            let logprobs = &shard.logprobs;
            let [rows, width] = logprobs.token_logprobs.dims();
            let mut dense = vec![0.0f32; rows * width];
            for (r, i) in shard.rows.clone().enumerate() {
                let w = &weights[i];
                dense[(r + 1) * width - w.len()..(r + 1) * width].copy_from_slice(w);
            }
            let device = logprobs.token_logprobs.device();
            let w = Tensor::<2>::from_data(TensorData::new(dense, [rows, width]), &device);
            (logprobs.token_logprobs.clone() * w).sum()
        })
    }

    fn check_rows(&self, found: usize) -> Result<()> {
        let expected = self.shards.last().map_or(0, |s| s.rows.end);
        if found == expected {
            Ok(())
        } else {
            Err(ModelError::LossWeights { expected, found })
        }
    }

    /// Every shard's backward pass of its `loss` in parallel, the gradients added in shard order.
    fn backward_with(self, loss: impl Fn(&Shard) -> Tensor<1> + Sync) -> Result<GradientsParams> {
        let grads: Vec<(Transformer, GradientsParams)> = self
            .shards
            .into_par_iter()
            .map(|shard| {
                let grads = GradientsParams::from_grads(loss(&shard).backward(), &shard.replica);
                (shard.replica, grads)
            })
            .collect();
        let mut sum = GradientsAccumulator::new();
        for (replica, grads) in grads {
            sum.accumulate(&replica, grads);
        }
        Ok(sum.grads())
    }

    /// The gradient of each shard's summed log-probs Σ_{i in shard} s_i, flattened in the
    /// order of `model`'s parameters ([`flatten_gradients`]), handed to `each` in shard order
    /// with the shard's rows. As many shards run backward at once as the rayon pool has threads,
    /// so at most that many flattened gradients are held at a time.
    pub fn shard_gradients<E: From<ModelError>>(
        self,
        model: &Transformer,
        mut each: impl FnMut(Range<usize>, Vec<f32>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let at_once = rayon::current_num_threads().max(1);
        let mut shards = self.shards.into_iter();
        loop {
            let wave: Vec<Shard> = shards.by_ref().take(at_once).collect();
            if wave.is_empty() {
                return Ok(());
            }
            let gradients: Vec<(Range<usize>, Result<Vec<f32>>)> = wave
                .into_par_iter()
                .map(|shard| {
                    let grads = GradientsParams::from_grads(
                        shard.logprobs.sum.sum().backward(),
                        &shard.replica,
                    );
                    (shard.rows, flatten_gradients(model, &grads))
                })
                .collect();
            for (rows, gradient) in gradients {
                each(rows, gradient?)?;
            }
        }
    }

    fn gather(&self, part: impl Fn(&SequenceLogprobs) -> Option<Tensor<1>>) -> Option<Vec<f32>> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let values = part(&shard.logprobs)?.into_data();
            out.extend(values.iter::<f32>());
        }
        Some(out)
    }
}
