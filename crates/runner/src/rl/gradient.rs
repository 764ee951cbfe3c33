//! The policy gradient of one batch: the one path the RL step and the probe share. The
//! log-prob pass over the sampled tokens (in shards, each on its own graph:
//! `pglab_model::shard`), the rewards the estimator sees (the scores, shaped by the KL penalty
//! when the environment has a reference model), then, for one estimator's advantages, the loss
//! (`pglab_estimator::policy_loss`) and its backward pass.
//!
//! It takes two calls, [`ScoredBatch::new`] and [`ScoredBatch::policy_gradient`], because the advantages
//! need the shaped rewards, which need the log-prob pass. The probe wants several estimators'
//! gradients from the same samples, and a backward pass consumes its graph: it builds the batch
//! with [`ScoredBatch::per_sequence`] (each sequence on a graph of its own) and takes every
//! estimator's gradient as Σ_i w_i ∇s_i from one backward pass per sequence
//! ([`ScoredBatch::policy_gradients`]), whatever the number of estimators.
//!
//! `optimal_baseline` needs each sequence's gradient norm before any advantage is known, so
//! with it [`ScoredBatch::policy_gradients`] holds every per-sequence gradient until the last one is
//! in (N × n_params floats) and adds them up afterwards; without it each is added into the
//! sums as it comes.

use std::ops::Range;

use burn::optim::GradientsParams;
use burn::prelude::*;
use pglab_estimator::stats::mean;
use pglab_estimator::{
    LossOptions, PolicyLoss, TokenReduction, kl_estimates, policy_loss, shape_rewards,
};
use pglab_model::{
    Rollout, ShardedLogprobs, TokenBatch, Transformer, per_sequence_logprobs, sequence_logprobs,
    sharded_logprobs,
};

use crate::rl::environment::Environment;

/// A batch of completions, its log-probs under the policy (graph recorded) and its rewards.
pub struct ScoredBatch {
    logprobs: ShardedLogprobs,
    /// s_i: the summed log-prob of each sequence's scored tokens.
    seq_logp: Vec<f32>,
    /// n_i: how many tokens each s_i sums.
    n_scored: Vec<usize>,
    /// What the estimator sees: r_i − kl_coef·KL_i, or the scores r_i without a reference.
    pub rewards: Vec<f32>,
    /// Mean KL estimate against the reference; None without one.
    pub kl: Option<f64>,
    /// Mean per-token entropy of the policy on the scored tokens, when asked for.
    pub entropy: Option<f64>,
}

/// One estimator's policy gradient of a per-sequence batch, flattened in the order of the
/// model's parameters (`pglab_model::flatten_gradients`).
pub struct FlatGradient {
    pub advantages: Vec<f32>,
    /// The loss value L = Σ_i w_i s_i.
    pub loss: f64,
    pub gradient: Vec<f32>,
}

/// The gradient of the policy loss of one batch for one estimator's advantages.
pub struct PolicyGradient {
    /// The loss value L = Σ_i w_i s_i.
    pub loss: f64,
    pub grads: GradientsParams,
}

impl ScoredBatch {
    /// The log-prob pass over `rollout` under `policy`, and its rewards from `scores` (one per
    /// completion, from [`Environment::score`]).
    pub fn new(
        environment: &Environment,
        policy: &Transformer,
        rollout: &Rollout,
        scores: &[f32],
        with_entropy: bool,
    ) -> anyhow::Result<Self> {
        Self::with_pass(
            environment,
            rollout,
            scores,
            &environment.device,
            |tokens| Ok(sharded_logprobs(policy, tokens, with_entropy)?),
        )
    }

    /// The same batch with every sequence on a graph of its own, for
    /// [`ScoredBatch::policy_gradients`].
    pub fn per_sequence(
        environment: &Environment,
        policy: &Transformer,
        rollout: &Rollout,
        scores: &[f32],
        with_entropy: bool,
    ) -> anyhow::Result<Self> {
        Self::with_pass(
            environment,
            rollout,
            scores,
            &environment.device,
            |tokens| Ok(per_sequence_logprobs(policy, tokens, with_entropy)?),
        )
    }

    /// The same pass without autodiff (no graph, no gradient): the log-probs of the policy
    /// that sampled a batch (π_old), which the ratio of a batch's later updates divides by.
    pub fn frozen(
        environment: &Environment,
        policy: &Transformer,
        rollout: &Rollout,
        scores: &[f32],
        with_entropy: bool,
    ) -> anyhow::Result<Self> {
        let policy = policy.valid();
        let frozen = environment.device.clone().without_autodiff();
        Self::with_pass(environment, rollout, scores, &frozen, |tokens| {
            Ok(sharded_logprobs(&policy, tokens, with_entropy)?)
        })
    }

    /// Each sequence's scored tokens' log-probs, in order.
    pub fn token_logprobs(&self) -> Vec<Vec<f32>> {
        self.logprobs.token_logprobs()
    }

    /// The gradient of Σ_{i,t} `weights[i][t]`·log π(y_{i,t}) (an objective's per-token
    /// weights, `pglab_estimator::token_loss`).
    pub fn token_gradient(self, weights: &[Vec<f32>]) -> anyhow::Result<GradientsParams> {
        Ok(self.logprobs.backward_per_token(weights)?)
    }

    fn with_pass(
        environment: &Environment,
        rollout: &Rollout,
        scores: &[f32],
        device: &Device,
        pass: impl FnOnce(&TokenBatch) -> anyhow::Result<ShardedLogprobs>,
    ) -> anyhow::Result<Self> {
        let t = &environment.config.train;
        let tokens = rollout.token_batch(t.loss_includes_prompt, device)?;
        let logprobs = pass(&tokens)?;
        let seq_logp = logprobs.sum();
        let n_scored = logprobs.n_scored();
        let entropy = logprobs.mean_entropy().map(|e| mean(&e));
        // The KL penalty, with no gradient through the frozen reference.
        let (rewards, kl) = match &environment.reference {
            Some(reference) => {
                let frozen = environment.device.clone().without_autodiff();
                let tokens = rollout.token_batch(t.loss_includes_prompt, &frozen)?;
                let reference_logp = sequence_logprobs(reference, &tokens, false)?
                    .sum
                    .into_data()
                    .try_into_vec_as::<f32>()
                    .map_err(|e| anyhow::anyhow!("reading the reference's log-probs: {e:?}"))?;
                let kl = kl_estimates(
                    &seq_logp,
                    &reference_logp,
                    &n_scored,
                    t.token_reduction,
                    environment.config.sampling.max_new_tokens,
                )?;
                (shape_rewards(scores, &kl, t.kl_coef)?, Some(mean(&kl)))
            }
            None => (scores.to_vec(), None),
        };
        Ok(Self {
            logprobs,
            seq_logp,
            n_scored,
            rewards,
            kl,
            entropy,
        })
    }

    /// The loss for `advantages` (one per completion) and its gradient with respect to the
    /// policy's parameters.
    pub fn policy_gradient(
        self,
        advantages: &[f32],
        environment: &Environment,
    ) -> anyhow::Result<PolicyGradient> {
        let t = &environment.config.train;
        let loss = policy_loss(
            &self.seq_logp,
            &self.n_scored,
            advantages,
            t.k,
            &environment.loss_options(),
        )?;
        let grads = self.logprobs.backward(&loss.weights)?;
        Ok(PolicyGradient {
            loss: loss.value,
            grads,
        })
    }

    /// The flattened policy gradient of each advantage vector that `advantages` returns (one
    /// per estimator) under each of `reductions` (reduction-major: every estimator's under the
    /// first reduction, then under the second, …), as Σ_i w_i ∇s_i over the per-sequence
    /// gradients of a [`ScoredBatch::per_sequence`] batch, summed in f64 in sequence order. A
    /// reduction changes only the weights w_i, so any number of them costs no further backward
    /// pass. `advantages` is called once per reduction with the rewards the estimator sees and,
    /// `with_norms`, each sequence's q_i = ‖∇ℓ_i‖² (ℓ_i as that reduction reduces the
    /// sequence's tokens).
    pub fn policy_gradients(
        self,
        with_norms: bool,
        reductions: &[TokenReduction],
        mut advantages: impl FnMut(&[f32], Option<&[f64]>) -> anyhow::Result<Vec<Vec<f32>>>,
        environment: &Environment,
        policy: &Transformer,
    ) -> anyhow::Result<Vec<FlatGradient>> {
        let t = &environment.config.train;
        let max_new_tokens = environment.config.sampling.max_new_tokens;
        let (seq_logp, n_scored) = (&self.seq_logp, &self.n_scored);
        let mut sums = Vec::new();
        let one_row = |rows: &Range<usize>| {
            anyhow::ensure!(
                rows.len() == 1,
                "policy_gradients needs a per-sequence batch"
            );
            Ok(())
        };
        // Every (reduction, estimator)'s advantages and loss weights, given the squared norms
        // ‖∇s_i‖² when the estimators need them.
        let rewards = &self.rewards;
        let mut weigh = |sqnorms: Option<&[f64]>| {
            let mut all: Vec<(Vec<f32>, PolicyLoss)> = Vec::new();
            for &reduction in reductions {
                let q: Option<Vec<f64>> = sqnorms.map(|sq| {
                    let scales = reduction.scales(n_scored, max_new_tokens);
                    sq.iter().zip(scales).map(|(g, c)| c.powi(2) * g).collect()
                });
                let options = LossOptions {
                    token_reduction: reduction,
                    ..environment.loss_options()
                };
                for a in advantages(rewards, q.as_deref())? {
                    let loss = policy_loss(seq_logp, n_scored, &a, t.k, &options)?;
                    all.push((a, loss));
                }
            }
            anyhow::Ok(all)
        };
        let weighed = if with_norms {
            let mut gradients = Vec::with_capacity(seq_logp.len());
            self.logprobs.shard_gradients(policy, |rows, gradient| {
                one_row(&rows)?;
                gradients.push(gradient);
                anyhow::Ok(())
            })?;
            let sqnorms: Vec<f64> = gradients.iter().map(|g| squared_norm(g)).collect();
            let weighed = weigh(Some(&sqnorms))?;
            let losses: Vec<&PolicyLoss> = weighed.iter().map(|(_, l)| l).collect();
            for (i, gradient) in gradients.iter().enumerate() {
                accumulate(&mut sums, &losses, i, gradient);
            }
            weighed
        } else {
            let weighed = weigh(None)?;
            let losses: Vec<&PolicyLoss> = weighed.iter().map(|(_, l)| l).collect();
            self.logprobs.shard_gradients(policy, |rows, gradient| {
                one_row(&rows)?;
                accumulate(&mut sums, &losses, rows.start, &gradient);
                anyhow::Ok(())
            })?;
            weighed
        };
        let dim = policy.config().n_params();
        sums.resize(weighed.len(), vec![0.0; dim]);
        Ok(weighed
            .into_iter()
            .zip(sums)
            .map(|((advantages, loss), sum)| FlatGradient {
                advantages,
                loss: loss.value,
                gradient: sum.into_iter().map(|x| x as f32).collect(),
            })
            .collect())
    }
}

/// Adds sequence `i`'s gradient, weighted by each loss's w_i, into that loss's sum (created at
/// the first sequence).
fn accumulate(sums: &mut Vec<Vec<f64>>, losses: &[&PolicyLoss], i: usize, gradient: &[f32]) {
    if sums.is_empty() {
        sums.resize(losses.len(), vec![0.0; gradient.len()]);
    }
    for (sum, loss) in sums.iter_mut().zip(losses) {
        let w = f64::from(loss.weights[i]);
        if w != 0.0 {
            for (s, &g) in sum.iter_mut().zip(gradient) {
                *s += w * f64::from(g);
            }
        }
    }
}

/// ‖g‖², accumulated in f64.
pub fn squared_norm(g: &[f32]) -> f64 {
    g.iter().map(|&x| f64::from(x).powi(2)).sum()
}
