//! A step's updates under an objective with an importance ratio (`train.objective` =
//! `ppo_clip`, `gspo` or `cispo`): the batch is sampled and scored once, its advantages taken
//! once, then it serves `epochs` passes of `minibatches` optimiser steps each.
//!
//! π_old, the policy that sampled the batch, is what every ratio divides by. With one update
//! per batch it is read from the update's own log-prob pass, so every ratio is exactly 1 and
//! the step is the policy gradient's, bit for bit. With several, it comes from one pass without
//! autodiff before the first update (a minibatch's first pass may come after other minibatches
//! have moved the policy); the rewards' KL shaping and the entropy come from that pass too.
//!
//! Minibatches are contiguous runs of whole prompt groups, in the batch's order, the same in
//! every epoch (no shuffling: the step draws nothing from the run's random stream beyond what
//! sampling drew). Each minibatch's loss is reduced over its own sequences and tokens, as
//! TRL's and verl's are.

use std::ops::Range;

use anyhow::Context;
use burn::optim::GradientsParams;
use pglab_estimator::stats::mean;
use pglab_estimator::{Advantages, BaselineInputs, RatioStats, token_loss};
use pglab_model::{Rollout, ShardedLogprobs, Transformer, flatten_gradients, sharded_logprobs};

use crate::rl::environment::Environment;
use crate::rl::gradient::{ScoredBatch, squared_norm};
use crate::rl::step::Optimizer;

/// What a step's updates produced.
pub struct Updates {
    /// The policy after the last update.
    pub policy: Transformer,
    /// What the estimator saw: the scores, KL-shaped when there is a penalty.
    pub rewards: Vec<f32>,
    pub kl: Option<f64>,
    pub entropy: f64,
    pub advantages: Vec<f32>,
    /// The mean over the updates of each one's loss and gradient norm.
    pub loss: f64,
    pub grad_norm: f64,
    /// Every update's ratios together.
    pub ratios: RatioStats,
}

/// Trains `policy` on one scored batch: `epochs` × `minibatches` updates of the run's objective.
pub fn update(
    environment: &Environment,
    policy: Transformer,
    rollout: &Rollout,
    scores: &[f32],
    greedy_rewards: Option<&[f32]>,
    advantages: &mut Advantages,
    optimizer: &mut Optimizer,
) -> anyhow::Result<Updates> {
    let t = &environment.config.train;
    let single = t.updates_per_batch() == 1;
    // The first pass: with a graph when it is also the only update's.
    let batch = if single {
        ScoredBatch::new(environment, &policy, rollout, scores, true)?
    } else {
        ScoredBatch::frozen(environment, &policy, rollout, scores, true)?
    };
    let (rewards, kl) = (batch.rewards.clone(), batch.kl);
    let entropy = batch.entropy.context("entropy")?;
    let old = batch.token_logprobs();
    let inputs = BaselineInputs {
        greedy_rewards,
        score_sqnorms: None,
    };
    let advantage = advantages.step_with(&rewards, &inputs)?;

    let mut policy = policy;
    let mut first = single.then_some(batch);
    let mut ratios = RatioStats::default();
    let (mut losses, mut norms) = (Vec::new(), Vec::new());
    // Later passes' tokens, built once (a single update needs none).
    let tokens = match single {
        true => None,
        false => Some(rollout.token_batch(t.loss_includes_prompt, &environment.device)?),
    };
    for _ in 0..t.epochs {
        for rows in minibatches(rollout.len(), t.minibatches) {
            let (new, gradient) = match (first.take(), &tokens) {
                // The only update: its pass is π_old's, so the log-probs are `old` themselves.
                (Some(batch), _) => (old.clone(), Pass::Scored(batch)),
                (None, Some(tokens)) => {
                    let logprobs = sharded_logprobs(&policy, &tokens.rows(rows.clone()), false)?;
                    (logprobs.token_logprobs(), Pass::Rows(logprobs))
                }
                (None, None) => anyhow::bail!("a single update takes one pass"),
            };
            let loss = token_loss(
                t.objective,
                t.clip_range(),
                &new,
                &old[rows.clone()],
                &advantage[rows],
                t.k,
                &environment.loss_options(),
            )?;
            let grads = gradient.backward(&loss.weights)?;
            norms.push(squared_norm(&flatten_gradients(&policy, &grads)?).sqrt());
            losses.push(loss.value);
            ratios.merge(&loss.ratios);
            policy = optimizer.step(t.lr, policy, grads);
        }
    }
    Ok(Updates {
        policy,
        rewards,
        kl,
        entropy,
        advantages: advantage,
        loss: mean(&losses),
        grad_norm: mean(&norms),
        ratios,
    })
}

/// A minibatch's log-prob pass, still holding its graph.
enum Pass {
    /// The whole batch's first pass (a single update).
    Scored(ScoredBatch),
    Rows(ShardedLogprobs),
}

impl Pass {
    fn backward(self, weights: &[Vec<f32>]) -> anyhow::Result<GradientsParams> {
        match self {
            Pass::Scored(batch) => batch.token_gradient(weights),
            Pass::Rows(logprobs) => Ok(logprobs.backward_per_token(weights)?),
        }
    }
}

/// The rows of each of `count` minibatches of an `n`-row batch (`count` divides the prompts,
/// so each is whole groups).
fn minibatches(n: usize, count: usize) -> impl Iterator<Item = Range<usize>> {
    let size = n / count;
    (0..count).map(move |m| m * size..(m + 1) * size)
}
