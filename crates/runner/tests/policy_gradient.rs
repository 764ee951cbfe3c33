//! Issue 3's proof (c), end to end on a tiny GPT, through the path training takes
//! (`gradient::ScoredBatch`): sample → reward → advantages → policy loss → backward → SGD moves the
//! sampled completion's log-prob the way the advantage says, and RLOO on a group with identical
//! rewards gives exactly zero gradient. ReMax's and the optimal baseline's training steps equal
//! the same step written out by hand.

use std::path::Path;
use std::time::Instant;

use burn::optim::SgdConfig;
use burn::prelude::*;
use pglab_estimator::{AdvantageOptions, Advantages, BaselineInputs, Estimator};
use pglab_model::{Rollout, TokenBatch, Transformer, flatten_gradients, sample, sequence_logprobs};
use pglab_reward::protocol::Phase;
use pglab_runner::experiment;
use pglab_runner::rl::environment::Environment;
use pglab_runner::rl::gradient::ScoredBatch;
use pglab_runner::rl::step::{optimizer, rl_step};
use rand::SeedableRng;
use rand::rngs::StdRng;

mod by_hand;
use by_hand::{greedy_rewards, sequence_gradient, squared_norm};

/// The smoke experiment's first run with `set` applied, on the tiny GPT-2 fixture.
fn environment(set: &[&str]) -> (Environment, Transformer) {
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
fn rollout(policy: &Transformer, environment: &Environment) -> Rollout {
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

fn completion_logprobs(policy: &Transformer, batch: &TokenBatch) -> Vec<f32> {
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
    let batch = ScoredBatch::new(&environment, &policy, &rollout, &scores, false).unwrap();
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
        let batch = ScoredBatch::new(&environment, &policy, &rollout, &[0.0; 4], false).unwrap();
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

/// One `rl_step` of `estimator` against the same step by hand: the same samples (same seed),
/// ReMax's greedy completions decoded and scored here, the optimal baseline's q_i = ‖∇ℓ_i‖²
/// from one backward pass per sequence (ℓ_i the token mean: q_i = ‖∇s_i‖²/n_i²), the
/// advantages from those, and the gradient from the usual one-pass loss. The step's loss,
/// gradient norm and updated weights (seen through the batch's log-probs) must agree.
fn rl_step_matches_the_step_by_hand(estimator: &str) {
    let set = format!("train.estimator=\"{estimator}\"");
    let (environment, policy) =
        environment(&[&set, "train.token_reduction=\"mean\"", "probe.every=0"]);
    let t = &environment.config.train;
    let mut advantages = Advantages::new(t.estimator, t.k, t.advantage_options()).unwrap();
    let step = rl_step(
        &environment,
        policy.clone(),
        &mut advantages,
        &mut optimizer(t),
        0,
        0,
        &mut StdRng::seed_from_u64(9),
        Instant::now(),
    )
    .unwrap();

    let prompts = environment.prompts(0);
    let sampling = &environment.config.sampling;
    let rollout = sample(
        &policy.valid(),
        &prompts,
        sampling,
        &mut StdRng::seed_from_u64(9),
    )
    .unwrap();
    assert_eq!(rollout, step.rollout, "the same samples");
    let scores = environment.score(&rollout, 0, Phase::Train).unwrap();
    let greedy_rewards = greedy_rewards(&environment, &policy, &prompts);
    let tokens = rollout.token_batch(false, &environment.device).unwrap();
    let n_tokens: Vec<usize> = (0..rollout.len())
        .map(|i| rollout.completion(i).len())
        .collect();
    let q: Vec<f64> = (0..rollout.len())
        .map(|i| {
            squared_norm(&sequence_gradient(&policy, &tokens, i)) / (n_tokens[i] as f64).powi(2)
        })
        .collect();
    let inputs = BaselineInputs {
        greedy_rewards: Some(&greedy_rewards),
        score_sqnorms: Some(&q),
    };
    let by_hand = Advantages::new(t.estimator, t.k, t.advantage_options())
        .unwrap()
        .advantages_with(&scores, &inputs)
        .unwrap();
    // The baselines are not some other estimator's: not REINFORCE's 0, not RLOO's mean.
    let rloo = Advantages::new(Estimator::Rloo, t.k, t.advantage_options()).unwrap();
    let rloo = rloo.advantages(&scores).unwrap();
    assert!(
        by_hand != scores && by_hand != rloo,
        "{estimator}: {by_hand:?}"
    );
    let batch = ScoredBatch::new(&environment, &policy, &rollout, &scores, false).unwrap();
    let gradient = batch.policy_gradient(&by_hand, &environment).unwrap();
    let grad_norm = squared_norm(&flatten_gradients(&policy, &gradient.grads).unwrap()).sqrt();
    let stepped = SgdConfig::new()
        .init()
        .step(t.lr, policy.clone(), gradient.grads);

    let close = |a: f64, b: f64, what: &str| {
        assert!(
            (a - b).abs() <= 1e-5 * b.abs().max(1e-6),
            "{estimator} {what}: {a} vs {b}"
        )
    };
    close(step.record.loss, gradient.loss, "loss");
    close(step.record.grad_norm, grad_norm, "grad_norm");
    assert!(grad_norm > 0.0, "{estimator}: a real gradient");
    let mean_advantage = by_hand.iter().map(|&a| f64::from(a)).sum::<f64>() / by_hand.len() as f64;
    close(step.record.adv_mean, mean_advantage, "adv_mean");
    let after = completion_logprobs(&step.policy, &tokens);
    let want = completion_logprobs(&stepped, &tokens);
    for (a, w) in after.iter().zip(&want) {
        close(f64::from(*a), f64::from(*w), "log-prob after the step");
    }
    let before = completion_logprobs(&policy, &tokens);
    assert!(
        before.iter().zip(&after).any(|(b, a)| (b - a).abs() > 1e-4),
        "{estimator}: the step moved"
    );
}

#[test]
fn remax_trains_with_each_prompts_greedy_reward_as_its_baseline() {
    rl_step_matches_the_step_by_hand("remax");
}

#[test]
fn optimal_baseline_trains_with_per_sequence_gradient_norms() {
    rl_step_matches_the_step_by_hand("optimal_baseline");
}
