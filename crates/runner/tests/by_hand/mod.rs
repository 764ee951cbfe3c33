//! Pieces of a policy-gradient step recomputed by hand, independently of the runner's
//! `gradient` and `probe` modules, for the tests that check those against them.

#![allow(dead_code)]

use burn::optim::GradientsParams;
use burn::prelude::*;
use pglab_model::{TokenBatch, Transformer, flatten_gradients, greedy, sequence_logprobs};
use pglab_reward::protocol::Phase;
use pglab_runner::rl::environment::Environment;

/// ∇s_i: the gradient of row `i`'s summed log-prob alone, on a graph of its own.
pub fn sequence_gradient(policy: &Transformer, batch: &TokenBatch, i: usize) -> Vec<f32> {
    let logprobs = sequence_logprobs(policy, &batch.rows(i..i + 1), false).unwrap();
    let grads = GradientsParams::from_grads(logprobs.sum.sum().backward(), policy);
    flatten_gradients(policy, &grads).unwrap()
}

/// ‖g‖², summed in f64.
pub fn squared_norm(g: &[f32]) -> f64 {
    g.iter().map(|&x| f64::from(x).powi(2)).sum()
}

/// ReMax's baselines: the prompts of a batch (each repeated k times) decoded greedily, one
/// completion per prompt, and scored.
pub fn greedy_rewards(
    environment: &Environment,
    policy: &Transformer,
    prompts: &[Vec<u32>],
) -> Vec<f32> {
    let k = environment.config.train.k;
    let firsts: Vec<Vec<u32>> = prompts.iter().step_by(k).cloned().collect();
    let completions = greedy(&policy.valid(), &firsts, &environment.config.sampling).unwrap();
    environment.score(&completions, 0, Phase::Greedy).unwrap()
}
