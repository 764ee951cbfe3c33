//! The sign convention of a policy-gradient step: descending −(log-prob) raises the log-prob.

use burn::optim::{GradientsParams, SgdConfig};
use pglab_model::{Checkpoint, TokenBatch, Transformer, sequence_logprobs};

use crate::fixture::{self, floats};

fn logprob(model: &Transformer, batch: &TokenBatch) -> f32 {
    floats(sequence_logprobs(model, batch, false).unwrap().sum)[0]
}

/// One SGD step on −weight·(log-prob of a sequence); returns the log-prob before and after.
fn step(weight: f32) -> (f32, f32) {
    let device = fixture::device().autodiff();
    let model = Checkpoint::load(&fixture::dir("tiny-gpt2"), &device)
        .unwrap()
        .model;
    let sequence = vec![vec![3, 1, 4, 1, 5, 9, 2, 6, 5, 3]];
    let batch = TokenBatch::new(&sequence, &[3], &device).unwrap();
    let before = logprob(&model, &batch);
    let loss = sequence_logprobs(&model, &batch, false).unwrap().sum.sum() * (-weight);
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let model = SgdConfig::new().init().step(1e-3, model, grads);
    (before, logprob(&model, &batch))
}

#[test]
fn sgd_step_on_negative_logprob_raises_logprob() {
    let (before, after) = step(1.0);
    assert!(after > before + 1e-3, "{before} -> {after}");
}

#[test]
fn sgd_step_on_positive_logprob_lowers_logprob() {
    let (before, after) = step(-1.0);
    assert!(after < before - 1e-3, "{before} -> {after}");
}

/// Entropy −Σ p log p of each position's prediction, checked against a host computation in f64
/// from the full logits.
#[test]
fn entropy_matches_softmax_of_logits() {
    let checkpoint = fixture::load("tiny-gpt2");
    let device = fixture::device();
    let ids = vec![5, 6, 7, 8, 9];
    let batch = TokenBatch::new(std::slice::from_ref(&ids), &[1], &device).unwrap();
    let entropy = floats(
        sequence_logprobs(&checkpoint.model, &batch, true)
            .unwrap()
            .entropy
            .unwrap(),
    );
    let logits = floats(
        checkpoint
            .model
            .logits(fixture::ids_tensor(&ids, &device))
            .unwrap(),
    );
    let v = checkpoint.model.config().vocab_size;
    let expected: Vec<f32> = logits
        .chunks(v)
        .take(ids.len() - 1)
        .map(|row| {
            let max = row.iter().fold(f64::MIN, |m, &x| m.max(x as f64));
            let z: f64 = row.iter().map(|&x| (x as f64 - max).exp()).sum();
            let logp = |x: f32| x as f64 - max - z.ln();
            -row.iter().map(|&x| logp(x).exp() * logp(x)).sum::<f64>() as f32
        })
        .collect();
    fixture::assert_close(&entropy, &expected, 1e-4, "entropy");
}
