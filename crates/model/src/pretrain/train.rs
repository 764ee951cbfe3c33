//! The language-model training loop: random fixed-length windows of the training token stream,
//! loss = −mean token log-prob, AdamW with linear warm-up and cosine decay, and the held-out
//! loss measured every `eval_every` steps.

use std::time::Instant;

use burn::optim::AdamWConfig;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::TrainSettings;
use crate::error::{ModelError, Result};
use crate::logprob::TokenBatch;
use crate::progress::Progress;
use crate::shard::sharded_logprobs;
use crate::transformer::Transformer;

/// One row of the training log (`pretrain.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainRecord {
    /// Optimiser steps taken (0: before the first one).
    pub step: usize,
    /// Loss (nats per token) of this step's batch, before the update; `None` at step 0.
    pub train_loss: Option<f64>,
    /// Held-out loss (nats per token) after `step` steps, where measured.
    pub eval_loss: Option<f64>,
    /// Learning rate of this step's update.
    pub lr: f64,
    /// Training tokens per second of this step (forward, backward and update).
    pub tokens_per_s: f64,
}

/// Learning rate at 0-based `step`: linear warm-up over `warmup_steps` to `lr`, then a cosine
/// decay to `min_lr` at the last step.
pub fn learning_rate(settings: &TrainSettings, step: usize) -> f64 {
    let (lr, min_lr) = (settings.lr, settings.min_lr);
    if step < settings.warmup_steps {
        return lr * (step + 1) as f64 / settings.warmup_steps as f64;
    }
    let decay_steps = settings.steps.saturating_sub(settings.warmup_steps).max(1);
    let progress = ((step - settings.warmup_steps) as f64 / decay_steps as f64).min(1.0);
    min_lr + 0.5 * (lr - min_lr) * (1.0 + (std::f64::consts::PI * progress).cos())
}

/// Mean negative log-likelihood (nats per token) of `targets` given `inputs`.
///
/// # Shapes
/// - inputs, targets: `[B, T]`
/// - returned: `[1]`
pub fn lm_loss(
    model: &Transformer,
    inputs: Tensor<2, Int>,
    targets: Tensor<2, Int>,
) -> Result<Tensor<1>> {
    let logits = model.logits(inputs)?; // [B, T, V]
    let log_probs = log_softmax(logits, 2);
    let picked = log_probs.gather(2, targets.unsqueeze_dim(2)); // [B, T, 1]
    Ok(picked.mean().neg())
}

/// `[B, T]` inputs and targets from windows of `T + 1` tokens starting at `starts`.
fn batch(tokens: &[u32], starts: &[usize], t: usize, device: &Device) -> [Tensor<2, Int>; 2] {
    let b = starts.len();
    let mut inputs = Vec::with_capacity(b * t);
    let mut targets = Vec::with_capacity(b * t);
    for &s in starts {
        inputs.extend(tokens[s..s + t].iter().map(|&id| id as i64));
        targets.extend(tokens[s + 1..s + t + 1].iter().map(|&id| id as i64));
    }
    [inputs, targets].map(|ids| Tensor::from_data(TensorData::new(ids, [b, t]), device))
}

/// The starts of the held-out windows: consecutive, non-overlapping targets, at most
/// `max_windows` of them.
pub fn eval_windows(n_tokens: usize, t: usize, max_windows: usize) -> Vec<usize> {
    let n = n_tokens.saturating_sub(1) / t;
    (0..n.min(max_windows)).map(|i| i * t).collect()
}

/// Held-out loss (nats per token) of `model` over the windows `starts` of `tokens`.
pub fn eval_loss(
    model: &Transformer,
    tokens: &[u32],
    starts: &[usize],
    settings: &TrainSettings,
    device: &Device,
) -> Result<f64> {
    let mut total = 0.0;
    for chunk in starts.chunks(settings.batch_size) {
        let [inputs, targets] = batch(tokens, chunk, settings.seq_len, device);
        let loss = lm_loss(model, inputs, targets)?;
        total += scalar(loss)? * chunk.len() as f64;
    }
    Ok(total / starts.len().max(1) as f64)
}

fn scalar(t: Tensor<1>) -> Result<f64> {
    t.into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .ok()
        .and_then(|v| v.first().copied())
        .ok_or_else(|| ModelError::Pretrain("could not read a loss back from the device".into()))
}

/// What [`train`] returns.
pub struct Trained {
    /// The weights with the lowest held-out loss (step 0's included).
    pub model: Transformer,
    pub best_step: usize,
    pub best_eval_loss: f64,
    /// The step it stopped at, when `patience` evaluations in a row did not improve.
    pub stopped_at: Option<usize>,
    /// One record per step taken, and one for step 0 before training.
    pub records: Vec<TrainRecord>,
}

/// Trains `model` (on an autodiff device) on `train` tokens for up to `settings.steps` AdamW
/// steps, measuring the loss on `eval` tokens at step 0, every `eval_every` steps and at the
/// end, and keeps the weights with the lowest held-out loss: on a corpus too small for the
/// model, the last weights can be worse than the first.
pub fn train(
    mut model: Transformer,
    train: &[u32],
    eval: &[u32],
    settings: &TrainSettings,
    seed: u64,
    progress: &mut dyn Progress,
) -> Result<Trained> {
    let t = settings.seq_len;
    if train.len() <= t + 1 || eval.len() <= t + 1 {
        return Err(ModelError::Pretrain(format!(
            "corpus too small: {} training and {} held-out tokens, but windows of seq_len + 1 = {} \
             tokens are needed",
            train.len(),
            eval.len(),
            t + 1
        )));
    }
    let device = model.wte.weight.val().device();
    let eval_starts = eval_windows(eval.len(), t, settings.eval_windows);
    let evaluate = |model: &Transformer| {
        // On the inference copy of the model: no autodiff graph is recorded.
        let valid = model.valid();
        let valid_device = valid.wte.weight.val().device();
        eval_loss(&valid, eval, &eval_starts, settings, &valid_device)
    };
    let mut optimizer = AdamWConfig::new()
        .with_beta_2(0.95)
        .with_epsilon(1e-8)
        .with_weight_decay(settings.weight_decay as f32)
        .init();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut records = Vec::with_capacity(settings.steps + 1);
    let first = TrainRecord {
        step: 0,
        train_loss: None,
        eval_loss: Some(evaluate(&model)?),
        lr: 0.0,
        tokens_per_s: 0.0,
    };
    let mut best = (model.clone(), 0, first.eval_loss.unwrap_or(f64::INFINITY));
    let mut since_best = 0;
    let mut stopped_at = None;
    report(progress, &first, settings.steps);
    records.push(first);
    for step in 0..settings.steps {
        let start = Instant::now();
        let lr = learning_rate(settings, step);
        let starts: Vec<usize> = (0..settings.batch_size)
            .map(|_| rng.random_range(0..train.len() - t))
            .collect();
        // Forward, in parallel shards of rows: every token after a window's first is scored,
        // and the mean token NLL is Σ_i w_i s_i with w_i = −1/(B·T) on each window's sum s_i.
        let windows: Vec<Vec<u32>> = starts.iter().map(|&s| train[s..=s + t].to_vec()).collect();
        let batch = TokenBatch::new(&windows, &vec![1; windows.len()], &device)?;
        let logprobs = sharded_logprobs(&model, &batch, false)?;
        let tokens = (windows.len() * t) as f64;
        let train_loss = -logprobs.sum().iter().map(|&s| s as f64).sum::<f64>() / tokens;
        if !train_loss.is_finite() {
            return Err(ModelError::Pretrain(format!(
                "the training loss diverged ({train_loss}) at step {}; lower train.lr",
                step + 1
            )));
        }
        // Backward and one AdamW step.
        let grads = logprobs.backward(&vec![(-1.0 / tokens) as f32; windows.len()])?;
        model = optimizer.step(lr, model, grads);
        let elapsed = start.elapsed().as_secs_f64();
        let done = step + 1;
        let eval_loss = (done % settings.eval_every == 0 || done == settings.steps)
            .then(|| evaluate(&model))
            .transpose()?;
        let record = TrainRecord {
            step: done,
            train_loss: Some(train_loss),
            eval_loss,
            lr,
            tokens_per_s: (settings.batch_size * t) as f64 / elapsed.max(1e-9),
        };
        report(progress, &record, settings.steps);
        records.push(record);
        if let Some(loss) = eval_loss {
            if loss < best.2 {
                best = (model.clone(), done, loss);
                since_best = 0;
            } else {
                since_best += 1;
                if settings.patience > 0 && since_best >= settings.patience && done < settings.steps
                {
                    progress.note(&format!(
                        "stopped at step {done}: the held-out loss has not improved on step {}'s \
                         {:.4} for {since_best} evaluations",
                        best.1, best.2
                    ));
                    stopped_at = Some(done);
                    break;
                }
            }
        }
    }
    let (model, best_step, best_eval_loss) = best;
    Ok(Trained {
        model,
        best_step,
        best_eval_loss,
        stopped_at,
        records,
    })
}

/// A step's record as progress: loss, held-out loss and speed on the bar; each held-out loss
/// also as a line of its own, so the log keeps the learning curve.
fn report(progress: &mut dyn Progress, record: &TrainRecord, steps: usize) {
    let mut status = String::new();
    if let Some(loss) = record.train_loss {
        status.push_str(&format!("loss {loss:.3} "));
    }
    if let Some(eval) = record.eval_loss {
        status.push_str(&format!("held-out {eval:.3} "));
        progress.note(&format!(
            "step {:>5}: held-out loss {eval:.4} (perplexity {:.2})",
            record.step,
            eval.exp()
        ));
    }
    status.push_str(&format!("{:.0} tok/s", record.tokens_per_s));
    progress.step(record.step, steps, &status);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> TrainSettings {
        TrainSettings {
            steps: 100,
            warmup_steps: 10,
            lr: 1e-3,
            min_lr: 1e-4,
            ..TrainSettings::default()
        }
    }

    #[test]
    fn learning_rate_warms_up_linearly_then_decays_to_min_lr() {
        let s = settings();
        assert!((learning_rate(&s, 0) - 1e-4).abs() < 1e-12);
        assert!((learning_rate(&s, 4) - 5e-4).abs() < 1e-12);
        assert!((learning_rate(&s, 10) - 1e-3).abs() < 1e-12);
        // Half way through the decay, the cosine is at its midpoint.
        assert!((learning_rate(&s, 55) - 5.5e-4).abs() < 1e-12);
        assert!((learning_rate(&s, 100) - 1e-4).abs() < 1e-12);
        for step in 10..99 {
            assert!(learning_rate(&s, step + 1) <= learning_rate(&s, step));
        }
    }

    #[test]
    fn eval_windows_cover_each_target_once() {
        // 10 tokens, windows of 3 targets: targets 1..=3, 4..=6, 7..=9.
        assert_eq!(eval_windows(10, 3, 100), vec![0, 3, 6]);
        assert_eq!(eval_windows(10, 3, 2), vec![0, 3]);
        assert_eq!(eval_windows(3, 3, 100), Vec::<usize>::new());
    }
}
