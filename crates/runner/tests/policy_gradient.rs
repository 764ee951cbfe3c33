//! Issue 3's proof (c), end to end on a tiny GPT: sample → reward → advantages → policy loss →
//! backward → SGD moves the sampled completion's log-prob the way the advantage says, and RLOO
//! on a group with identical rewards gives exactly zero gradient.

use std::path::PathBuf;

use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use pglab_estimator::{
    AdvantageOptions, Advantages, Estimator, LossOptions, flatten_gradients, policy_loss,
};
use pglab_model::{
    Checkpoint, Gpt, Rollout, SamplingConfig, TokenBatch, sample, sequence_logprobs,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn model(device: &Device) -> Gpt {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../model/tests/fixtures/tiny-gpt2");
    Checkpoint::load(&dir, device).unwrap().model
}

/// k completions of one prompt, sampled without autodiff.
fn rollout(model: &Gpt, k: usize) -> Rollout {
    let sampling = SamplingConfig {
        max_new_tokens: 12,
        ..Default::default()
    };
    sample(
        &model.valid(),
        &vec![vec![5, 6, 7]; k],
        &sampling,
        &mut StdRng::seed_from_u64(4),
    )
    .unwrap()
}

fn completion_logprobs(model: &Gpt, batch: &TokenBatch) -> Vec<f32> {
    let sum = sequence_logprobs(model, batch, false).unwrap().sum;
    sum.into_data().try_into_vec_as::<f32>().unwrap()
}

/// One SGD step on the policy loss of one sampled completion with advantage `advantage`;
/// returns its log-prob before and after.
fn step_with_advantage(advantage: f32) -> (f32, f32) {
    let device = Device::flex().autodiff();
    let model = model(&device);
    let batch = rollout(&model, 1).token_batch(false, &device).unwrap();
    let logprobs = sequence_logprobs(&model, &batch, false).unwrap();
    let loss = policy_loss(
        logprobs.sum,
        &logprobs.n_scored,
        &[advantage],
        1,
        &LossOptions::default(),
    )
    .unwrap();
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let stepped = SgdConfig::new().init().step(1e-3, model.clone(), grads);
    (
        completion_logprobs(&model, &batch)[0],
        completion_logprobs(&stepped, &batch)[0],
    )
}

#[test]
fn positive_advantage_raises_the_sampled_completions_logprob() {
    let (before, after) = step_with_advantage(2.0);
    assert!(after > before + 1e-4, "{before} -> {after}");
}

#[test]
fn negative_advantage_lowers_the_sampled_completions_logprob() {
    let (before, after) = step_with_advantage(-2.0);
    assert!(after < before - 1e-4, "{before} -> {after}");
}

#[test]
fn rloo_with_identical_rewards_in_a_group_gives_exactly_zero_gradient() {
    let device = Device::flex().autodiff();
    let model = model(&device);
    let k = 4;
    let batch = rollout(&model, k).token_batch(false, &device).unwrap();
    let advantages = Advantages::new(Estimator::Rloo, k, AdvantageOptions::default())
        .unwrap()
        .advantages(&[3.0; 4])
        .unwrap();
    assert_eq!(advantages, vec![0.0; 4]);
    let logprobs = sequence_logprobs(&model, &batch, false).unwrap();
    let loss = policy_loss(
        logprobs.sum,
        &logprobs.n_scored,
        &advantages,
        k,
        &LossOptions::default(),
    )
    .unwrap();
    let gradient = flatten_gradients(
        &model,
        &GradientsParams::from_grads(loss.backward(), &model),
    )
    .unwrap();
    assert_eq!(gradient.len(), model.config().n_params());
    assert!(
        gradient.iter().all(|&g| g == 0.0),
        "every coordinate is exactly zero"
    );

    // The same samples with distinct rewards do move the weights: the zero above is RLOO's.
    let advantages = Advantages::new(Estimator::Rloo, k, AdvantageOptions::default())
        .unwrap()
        .advantages(&[3.0, 1.0, 0.0, 2.0])
        .unwrap();
    let logprobs = sequence_logprobs(&model, &batch, false).unwrap();
    let loss = policy_loss(
        logprobs.sum,
        &logprobs.n_scored,
        &advantages,
        k,
        &LossOptions::default(),
    )
    .unwrap();
    let gradient = flatten_gradients(
        &model,
        &GradientsParams::from_grads(loss.backward(), &model),
    )
    .unwrap();
    assert!(gradient.iter().any(|&g| g != 0.0));
}
