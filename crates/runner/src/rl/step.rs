//! The RL step, top to bottom (docs/ARCHITECTURE.md, "One RL step"): sample → score → advantages → loss → backward → step
//! (or, under a clipped objective, several updates: `update.rs`).

use std::time::Instant;

use anyhow::Context;
use burn::optim::GradientsParams;
use burn::optim::{AdamConfig, AdamWConfig, SgdConfig};
use burn::prelude::*;
use pglab_estimator::stats::{mean, sample_std};
use pglab_estimator::{Advantages, BaselineInputs, RatioStats};
use pglab_model::{Rollout, Transformer, flatten_gradients, sample, unflatten_gradients};
use pglab_report::StepRecord;
use pglab_reward::protocol::Phase;
use rand::rngs::StdRng;

use crate::experiment::{OptimizerKind, TrainConfig};
use crate::rl::environment::Environment;
use crate::rl::gradient::{ScoredBatch, squared_norm};
use crate::rl::resample::{Resampled, resample_constant_groups};
use crate::rl::update::{Updates, update};

pub type Optimizer = burn::optim::ModuleOptimizer;

/// The optimiser the run's settings name.
pub fn optimizer(train: &TrainConfig) -> Optimizer {
    match train.optimizer {
        OptimizerKind::Sgd => SgdConfig::new().init(),
        OptimizerKind::Adam => AdamConfig::new().init(),
        OptimizerKind::Adamw => AdamWConfig::new()
            .with_weight_decay(train.weight_decay as f32)
            .init(),
    }
}

/// What one RL step produced.
pub struct Step {
    /// The policy after the optimiser step.
    pub policy: Transformer,
    pub record: StepRecord,
    pub rollout: Rollout,
    /// The reward function's scores.
    pub scores: Vec<f32>,
    /// What the estimator saw: the scores, KL-shaped when there is a penalty.
    pub rewards: Vec<f32>,
}

/// One RL step at `step` (0-based) of a run that started at `run_start`, after `generations`
/// completions were sampled in the run's earlier steps.
#[allow(clippy::too_many_arguments)]
pub fn rl_step(
    environment: &Environment,
    policy: Transformer,
    advantages: &mut Advantages,
    optimizer: &mut Optimizer,
    step: usize,
    generations: usize,
    rng: &mut StdRng,
    run_start: Instant,
) -> anyhow::Result<Step> {
    let start = Instant::now();
    let config = &environment.config;
    let t = &config.train;
    // 1. Sample N = P·k completions, without autodiff.
    let prompts = environment.prompts(step);
    let rollout = sample(&policy.valid(), &prompts, &config.sampling, rng)?;
    // 2. Score them (with dynamic sampling, replacing groups of equal rewards; and, for ReMax,
    // scoring each prompt's greedy completion: its baseline).
    let scores = environment.score(&rollout, step, Phase::Train)?;
    let batch = if t.resample_constant_groups > 0 {
        resample_constant_groups(environment, &policy, rollout, scores, step, rng)?
    } else {
        Resampled {
            sampled: rollout.len(),
            rollout,
            scores,
            groups_dropped: 0,
            rounds: 0,
        }
    };
    let (rollout, scores) = (batch.rollout, batch.scores);
    let greedy = if t.estimator.needs_greedy() {
        Some(environment.greedy_scores(&policy, &rollout, step)?)
    } else {
        None
    };
    // 3–5. Advantages (reinforce_ema's baseline then observes this step's rewards), the loss,
    // its gradient and the optimiser's step; or, under a clipped objective, its updates.
    let train = match t.objective.corrects_off_policy() {
        true => update,
        false => policy_gradient_step,
    };
    let updated = train(
        environment,
        policy,
        &rollout,
        &scores,
        greedy.as_deref(),
        advantages,
        optimizer,
    )?;
    let Updates {
        policy,
        rewards,
        kl,
        entropy,
        advantages: advantage,
        loss,
        grad_norm,
        ratios,
    } = updated;

    let new_tokens: usize = (0..rollout.len())
        .map(|i| rollout.completion(i).len())
        .sum();
    let ratios = t.objective.corrects_off_policy().then_some(ratios);
    let ratio = |f: fn(&RatioStats) -> f64| ratios.as_ref().map(f);
    let record = StepRecord {
        step,
        generations: generations + batch.sampled + greedy.as_ref().map_or(0, Vec::len),
        reward_mean: mean(&scores),
        reward_std: sample_std(&scores),
        reward_min: scores.iter().copied().fold(f32::INFINITY, f32::min) as f64,
        reward_max: scores.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64,
        frac_zero_std_groups: frac_constant_groups(&scores, t.k),
        adv_mean: mean(&advantage),
        adv_std: sample_std(&advantage),
        loss,
        grad_norm,
        kl,
        entropy,
        tokens_per_s: new_tokens as f64 / start.elapsed().as_secs_f64(),
        elapsed_s: run_start.elapsed().as_secs_f64(),
        clip_low_frac: ratio(RatioStats::clip_low_frac),
        clip_high_frac: ratio(RatioStats::clip_high_frac),
        ratio_mean: ratio(RatioStats::ratio_mean),
        ratio_min: ratio(|r| r.ratio_min),
        ratio_max: ratio(|r| r.ratio_max),
        kl_old: ratio(RatioStats::approx_kl),
        groups_dropped: batch.groups_dropped,
        resample_rounds: batch.rounds,
    };
    Ok(Step {
        policy,
        record,
        rollout,
        scores,
        rewards,
    })
}

/// One optimiser step on the policy gradient of the batch (`objective = "policy_gradient"`).
fn policy_gradient_step(
    environment: &Environment,
    policy: Transformer,
    rollout: &Rollout,
    scores: &[f32],
    greedy: Option<&[f32]>,
    advantages: &mut Advantages,
    optimizer: &mut Optimizer,
) -> anyhow::Result<Updates> {
    let t = &environment.config.train;
    let trained = if t.estimator.needs_score_norms() {
        per_sequence_gradient(environment, &policy, rollout, scores, advantages)?
    } else {
        batch_gradient(environment, &policy, rollout, scores, greedy, advantages)?
    };
    Ok(Updates {
        policy: optimizer.step(t.lr, policy, trained.grads),
        rewards: trained.rewards,
        kl: trained.kl,
        entropy: trained.entropy,
        advantages: trained.advantages,
        loss: trained.loss,
        grad_norm: trained.grad_norm,
        ratios: RatioStats::default(),
    })
}

/// What the gradient half of a step produced.
struct Backward {
    /// What the estimator saw: the scores, KL-shaped when there is a penalty.
    rewards: Vec<f32>,
    kl: Option<f64>,
    entropy: f64,
    advantages: Vec<f32>,
    loss: f64,
    grads: GradientsParams,
    grad_norm: f64,
}

/// The usual path: one log-prob pass in shards of several sequences, one backward pass of the
/// loss.
fn batch_gradient(
    environment: &Environment,
    policy: &Transformer,
    rollout: &Rollout,
    scores: &[f32],
    greedy_rewards: Option<&[f32]>,
    advantages: &mut Advantages,
) -> anyhow::Result<Backward> {
    // The log-prob pass records the only graph and shapes the rewards.
    let batch = ScoredBatch::new(environment, policy, rollout, scores, true)?;
    let (rewards, kl) = (batch.rewards.clone(), batch.kl);
    let entropy = batch.entropy.context("entropy")?;
    let inputs = BaselineInputs {
        greedy_rewards,
        score_sqnorms: None,
    };
    let advantage = advantages.step_with(&rewards, &inputs)?;
    let gradient = batch.policy_gradient(&advantage, environment)?;
    let grad_norm = squared_norm(&flatten_gradients(policy, &gradient.grads)?).sqrt();
    Ok(Backward {
        rewards,
        kl,
        entropy,
        advantages: advantage,
        loss: gradient.loss,
        grads: gradient.grads,
        grad_norm,
    })
}

/// `optimal_baseline`'s path: every sequence's gradient on its own (its norm weighs the
/// others' baselines), then their weighted sum, back into the optimiser's form.
fn per_sequence_gradient(
    environment: &Environment,
    policy: &Transformer,
    rollout: &Rollout,
    scores: &[f32],
    advantages: &mut Advantages,
) -> anyhow::Result<Backward> {
    let batch = ScoredBatch::per_sequence(environment, policy, rollout, scores, true)?;
    let (rewards, kl) = (batch.rewards.clone(), batch.kl);
    let entropy = batch.entropy.context("entropy")?;
    let mut flat = batch.policy_gradients(
        true,
        &[environment.config.train.token_reduction],
        |rewards, q| {
            let inputs = BaselineInputs {
                greedy_rewards: None,
                score_sqnorms: q,
            };
            Ok(vec![advantages.step_with(rewards, &inputs)?])
        },
        environment,
        policy,
    )?;
    let gradient = flat.pop().context("one estimator's gradient")?;
    Ok(Backward {
        rewards,
        kl,
        entropy,
        grad_norm: squared_norm(&gradient.gradient).sqrt(),
        grads: unflatten_gradients(policy, &gradient.gradient)?,
        advantages: gradient.advantages,
        loss: gradient.loss,
    })
}

/// The share of prompts whose k completions all scored the same (no signal for a group
/// estimator).
fn frac_constant_groups(scores: &[f32], k: usize) -> f64 {
    let groups: Vec<&[f32]> = scores.chunks(k.max(1)).collect();
    let constant = groups
        .iter()
        .filter(|g| g.iter().all(|&r| r == g[0]))
        .count();
    constant as f64 / groups.len().max(1) as f64
}
