//! The sharded log-prob pass against the one-graph pass it replaces: the same log-probs and
//! entropies, the same parameter gradients (up to float summation order), bitwise the same
//! gradient every time.

use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use pglab_model::{
    ModelError, SHARD_ROWS, TokenBatch, Transformer, per_sequence_logprobs, sequence_logprobs,
    sharded_logprobs,
};

use crate::fixture::{self, floats};

/// 2·SHARD_ROWS + 3 sequences (three shards, the last one short) of lengths 4 to 13, left-padded,
/// scored from different positions, and a loss weight for each.
fn batch(device: &Device) -> (TokenBatch, Vec<f32>) {
    let n = 2 * SHARD_ROWS + 3;
    let sequences: Vec<Vec<u32>> = (0..n)
        .map(|i| {
            (0..4 + i % 10)
                .map(|j| ((7 * i + 3 * j) % 50) as u32)
                .collect()
        })
        .collect();
    let score_from: Vec<usize> = (0..n).map(|i| 1 + i % 3).collect();
    let weights = (0..n).map(|i| (i as f32 - 9.0) / 7.0).collect();
    (
        TokenBatch::new(&sequences, &score_from, device).unwrap(),
        weights,
    )
}

/// The tiny GPT-2 fixture on an autodiff device, with the batch above.
fn setup() -> (Device, Transformer, TokenBatch, Vec<f32>) {
    let device = fixture::device().autodiff();
    let model = pglab_model::Checkpoint::load(&fixture::dir("tiny-gpt2"), &device)
        .unwrap()
        .model;
    let (batch, weights) = batch(&device);
    (device, model, batch, weights)
}

/// Every parameter's gradient, flattened in the module's order.
fn flat(model: &Transformer, grads: &GradientsParams) -> Vec<f32> {
    struct Flat<'a>(&'a GradientsParams, Vec<f32>);
    impl burn::module::ModuleVisitor for Flat<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let grad = self
                .0
                .get::<D>(param.id)
                .expect("every parameter has a gradient");
            self.1.extend(grad.into_data().iter::<f32>());
        }
    }
    let mut visitor = Flat(grads, Vec::new());
    model.visit(&mut visitor);
    visitor.1
}

#[test]
fn shards_give_the_one_graph_logprobs_entropy_and_gradient() {
    let (device, model, batch, weights) = setup();
    let n = batch.len();

    let whole = sequence_logprobs(&model, &batch, true).unwrap();
    let sharded = sharded_logprobs(&model, &batch, true).unwrap();
    assert_eq!(sharded.n_scored(), whole.n_scored);
    let close = |got: &[f32], want: &[f32], tol: f32| {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= tol * w.abs().max(1.0), "[{i}]: {g} vs {w}");
        }
    };
    close(&sharded.sum(), &floats(whole.sum.clone()), 1e-5);
    close(
        &sharded.mean_entropy().unwrap(),
        &floats(whole.mean_entropy().unwrap()),
        1e-5,
    );

    let w = Tensor::<1>::from_data(TensorData::new(weights.clone(), [n]), &device);
    let loss = (whole.sum * w).sum();
    let expected = flat(
        &model,
        &GradientsParams::from_grads(loss.backward(), &model),
    );
    let got = flat(&model, &sharded.backward(&weights).unwrap());
    assert_eq!(got.len(), model.config().n_params());
    assert!(expected.iter().any(|&g| g.abs() > 1e-3), "a real gradient");
    close(&got, &expected, 1e-4);
}

#[test]
fn per_sequence_gradients_are_each_sequences_own_and_combine_into_the_batch_gradient() {
    let (device, model, batch, weights) = setup();
    let n = batch.len();
    let mut rows_seen = Vec::new();
    let mut combined = vec![0.0f64; model.config().n_params()];
    let mut gradients = Vec::new();
    per_sequence_logprobs(&model, &batch, false)
        .unwrap()
        .shard_gradients(&model, |rows, gradient| {
            for (c, &g) in combined.iter_mut().zip(&gradient) {
                *c += f64::from(weights[rows.start]) * f64::from(g);
            }
            rows_seen.push(rows);
            gradients.push(gradient);
            Ok::<(), ModelError>(())
        })
        .unwrap();
    assert_eq!(rows_seen, (0..n).map(|i| i..i + 1).collect::<Vec<_>>());

    let close = |got: &[f32], want: &[f32], what: &str| {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-4 * w.abs().max(1.0),
                "{what}[{i}]: {g} vs {w}"
            );
        }
    };
    // Sequence 5's gradient is that of its log-prob alone, from a one-graph pass over it.
    let alone = sequence_logprobs(&model, &batch.rows(5..6), false).unwrap();
    let own = flat(
        &model,
        &GradientsParams::from_grads(alone.sum.sum().backward(), &model),
    );
    assert!(own.iter().any(|&g| g.abs() > 1e-3), "a real gradient");
    close(&gradients[5], &own, "sequence 5");
    assert_ne!(
        gradients[5], gradients[6],
        "sequences have their own gradients"
    );

    // Σ_i w_i ∇s_i is the one-graph gradient of Σ_i w_i s_i.
    let whole = sequence_logprobs(&model, &batch, false).unwrap();
    let w = Tensor::<1>::from_data(TensorData::new(weights, [n]), &device);
    let expected = flat(
        &model,
        &GradientsParams::from_grads((whole.sum * w).sum().backward(), &model),
    );
    let combined: Vec<f32> = combined.iter().map(|&x| x as f32).collect();
    close(&combined, &expected, "Σ w_i ∇s_i");
}

#[test]
fn sharded_gradient_is_bitwise_reproducible() {
    let (_, model, batch, weights) = setup();
    let grad = || {
        let grads = sharded_logprobs(&model, &batch, false)
            .unwrap()
            .backward(&weights)
            .unwrap();
        flat(&model, &grads)
    };
    let first = grad();
    assert!(first.iter().all(|g| g.is_finite()));
    assert_eq!(first, grad());
}

#[test]
fn wrong_number_of_loss_weights_is_an_error_naming_both_counts() {
    let (_, model, batch, weights) = setup();
    let n = batch.len();
    let err = sharded_logprobs(&model, &batch, false)
        .unwrap()
        .backward(&weights[1..])
        .unwrap_err();
    assert!(
        matches!(err, ModelError::LossWeights { expected, found } if expected == n && found == n - 1)
    );
    assert_eq!(
        err.to_string(),
        format!("loss weights: {} given for a batch of {n} sequences", n - 1)
    );
}
