//! Issue 3's proof (c), end to end on a tiny GPT, through the path training takes
//! (`gradient::Batch`): sample → reward → advantages → policy loss → backward → SGD moves the
//! sampled completion's log-prob the way the advantage says, and RLOO on a group with identical
//! rewards gives exactly zero gradient.

use std::path::Path;

use burn::optim::SgdConfig;
use burn::prelude::*;
use pglab_estimator::{AdvantageOptions, Advantages, Estimator};
use pglab_model::{Gpt, Rollout, TokenBatch, flatten_gradients, sample, sequence_logprobs};
use pglab_reward::protocol::Phase;
use pglab_runner::environment::Environment;
use pglab_runner::experiment;
use pglab_runner::gradient::Batch;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The smoke experiment's first run with `set` applied, on the tiny GPT-2 fixture.
fn environment(set: &[&str]) -> (Environment, Gpt) {
    let root = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")).join("../..");
    std::env::set_current_dir(&root).unwrap();
    let set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
    let (_, runs) = experiment::load(
        Path::new("experiments/smoke.toml"),
        &experiment::Overrides::set(&set),
    )
    .unwrap();
    Environment::load(&runs[0].config, &Device::flex(), Path::new("unused")).unwrap()
}

/// k completions of one prompt, sampled without autodiff.
fn rollout(policy: &Gpt, environment: &Environment) -> Rollout {
    let prompts = environment.prompts(0);
    let sampling = &environment.config.sampling;
    sample(
        &policy.valid(),
        &prompts,
        sampling,
        &mut StdRng::seed_from_u64(4),
    )
    .unwrap()
}

fn completion_logprobs(policy: &Gpt, batch: &TokenBatch) -> Vec<f32> {
    let sum = sequence_logprobs(policy, batch, false).unwrap().sum;
    sum.into_data().try_into_vec_as::<f32>().unwrap()
}

/// One SGD step on the policy loss of one sampled completion with advantage `advantage`;
/// returns its log-prob before and after.
fn step_with_advantage(advantage: f32) -> (f32, f32) {
    let (environment, policy) = environment(&[
        "train.estimator=\"reinforce\"",
        "train.k=1",
        "train.prompts_per_step=1",
        "probe.every=0",
    ]);
    let rollout = rollout(&policy, &environment);
    assert_eq!(rollout.len(), 1);
    let scores = environment.score(&rollout, 0, Phase::Train).unwrap();
    let batch = Batch::new(&environment, &policy, &rollout, &scores, false).unwrap();
    let gradient = batch.policy_gradient(&[advantage], &environment).unwrap();
    assert!(gradient.loss.is_finite());
    let stepped = SgdConfig::new()
        .init()
        .step(1e-3, policy.clone(), gradient.grads);
    let tokens = rollout.token_batch(false, &environment.device).unwrap();
    (
        completion_logprobs(&policy, &tokens)[0],
        completion_logprobs(&stepped, &tokens)[0],
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
    let k = 4;
    let (environment, policy) = environment(&["train.k=4", "train.prompts_per_step=1"]);
    let rollout = rollout(&policy, &environment);
    assert_eq!(rollout.len(), k);
    let rloo = Advantages::new(Estimator::Rloo, k, AdvantageOptions::default()).unwrap();
    let gradient = |advantages: &[f32]| {
        let batch = Batch::new(&environment, &policy, &rollout, &[0.0; 4], false).unwrap();
        let gradient = batch.policy_gradient(advantages, &environment).unwrap();
        flatten_gradients(&policy, &gradient.grads).unwrap()
    };
    let advantages = rloo.advantages(&[3.0; 4]).unwrap();
    assert_eq!(advantages, vec![0.0; 4]);
    let zero = gradient(&advantages);
    assert_eq!(zero.len(), policy.config().n_params());
    assert!(
        zero.iter().all(|&g| g == 0.0),
        "every coordinate is exactly zero"
    );

    // The same samples with distinct rewards do move the weights: the zero above is RLOO's.
    let advantages = rloo.advantages(&[3.0, 1.0, 0.0, 2.0]).unwrap();
    assert!(gradient(&advantages).iter().any(|&g| g != 0.0));
}
