//! The gradient-variance probe: at the current weights, M fresh batches; for each batch every
//! probed estimator's gradient from the SAME samples and the same (KL-shaped) rewards as
//! training would use (a paired comparison), accumulated per estimator with Welford's method.
//!
//! Batch m uses the prompts of step `step + m`, so a probe's batches rotate over all prompts.
//! The M batches are sampled in one call; each row draws from its own RNG stream, so batch m's
//! samples do not depend on the other batches.
//! Every estimator's gradient is Σ_i w_i ∇s_i over the batch's per-sequence gradients
//! ([`ScoredBatch::policy_gradients`]): one backward pass per sequence, whatever the number of
//! estimators, rather than a forward and backward pass per distinct advantage vector.
//!
//! Besides `grad_var` and `snr`, each estimator's direction is scored by the cosine of every
//! batch's gradient to a held-out reference: the summed gradient, over the OTHER batches, of
//! the unbiased estimator with the lowest `grad_var` in this probe (so no batch is compared
//! with itself). Which estimator that is is known only after every batch, so the probe makes two
//! passes over its batches: the first samples them and accumulates the statistics, the second
//! scores each batch's gradients against the reference. The second pass reuses the first pass's
//! gradients when they fit in [`KEEP_GRADIENTS_BYTES`] (M · E · n_params · 4 bytes), and
//! otherwise takes them again, bitwise the same (at the chapter's size they would not fit).
//! What each of these choices saved is measured in BENCHMARKS.md, "The probe".
//!
//! With `probe.token_reductions`, every estimator is also measured under each listed token
//! reduction, from the same samples and rewards: a reduction changes only the loss's weights on
//! the per-sequence gradients, so it costs no further backward pass (the rewards' KL shaping
//! stays the run's own). The cosines' reference is then taken under `sum` when it is probed, so
//! that runs whose own reductions differ score their directions against the same gradient.
//!
//! When `remax` is probed, each distinct prompt of the probe is also decoded greedily and
//! scored, once per probe: the weights do not change during a probe, so neither does a
//! prompt's greedy completion. When `optimal_baseline` is, each batch's per-sequence gradients
//! are held until their norms are known ([`ScoredBatch::policy_gradients`]).

use std::collections::HashMap;

use burn::module::Module;
use pglab_estimator::stats::mean;
use pglab_estimator::{
    Advantages, BaselineInputs, Estimator, GradStats, TokenReduction, cosine,
    predicted_ratio_to_rloo,
};
use pglab_model::{Rollout, Transformer, sample};
use pglab_report::ProbeRecord;
use pglab_reward::protocol::Phase;
use rand::rngs::StdRng;

use crate::experiment::RunConfig;
use crate::rl::environment::Environment;
use crate::rl::gradient::ScoredBatch;

/// Up to this many bytes of first-pass gradients are kept for the second pass rather than
/// recomputed: per job, so a sweep holds up to jobs × this at once. 768 MiB keeps the default
/// sweep's start probe (three estimators of the default model, 995K parameters, at M = 64:
/// 764 MB) and all nine estimators at M = 16 (573 MB): recomputing them, at 512 MiB, made a
/// probe of M = 16 take 13.8 s instead of about 7 (BENCHMARKS.md, "The probe").
pub const KEEP_GRADIENTS_BYTES: usize = 768 << 20;

/// One `Advantages` per probed estimator, each observing the run's rewards so that
/// `reinforce_ema`'s baseline is the one it would have had in this run.
pub struct Probe {
    pub estimators: Vec<Advantages>,
    /// The token reductions every estimator is measured under, the run's own first.
    pub reductions: Vec<TokenReduction>,
}

impl Probe {
    /// The estimators `config.probe` names, configured like the run's own.
    pub fn new(config: &RunConfig) -> anyhow::Result<Self> {
        let t = &config.train;
        let estimators = config
            .probe
            .estimators
            .iter()
            .map(|&e| Advantages::new(e, t.k, t.advantage_options()))
            .collect::<Result<_, _>>()?;
        let reductions = config.probe.reductions(t.token_reduction);
        Ok(Self {
            estimators,
            reductions,
        })
    }

    /// Records a training step's rewards, as shaped for the estimator (see [`ScoredBatch`]).
    pub fn observe(&mut self, rewards: &[f32]) -> anyhow::Result<()> {
        for a in &mut self.estimators {
            a.observe(rewards)?;
        }
        Ok(())
    }

    /// Runs the probe at `step` without changing the weights.
    pub fn run(
        &self,
        environment: &Environment,
        policy: &Transformer,
        step: usize,
        generations: usize,
        rng: &mut StdRng,
    ) -> anyhow::Result<Vec<ProbeRecord>> {
        let m = environment.config.probe.batches;
        let dim = policy.config().n_params();
        // One set of statistics per (reduction, estimator), reduction-major.
        let measured = self.reductions.len() * self.estimators.len();
        let mut stats: Vec<GradStats> = (0..measured).map(|_| GradStats::new(dim)).collect();
        // Pass 1: every batch sampled (in one call: its shards fill the pool, and one shard of
        // many rows costs little more than one of a batch's), every estimator's gradient into
        // its statistics.
        let prompts: Vec<Vec<u32>> = (0..m).flat_map(|b| environment.prompts(step + b)).collect();
        let rollouts = sample(&policy.valid(), &prompts, &environment.config.sampling, rng)?
            .chunks(prompts.len() / m);
        let keep = m * measured * dim * 4 <= KEEP_GRADIENTS_BYTES;
        let greedy = self.greedy_baselines(environment, policy, &prompts, step)?;
        let mut batches = Vec::with_capacity(m);
        let mut kept = Vec::new();
        let mut reward_sum = 0.0;
        let mut all_rewards: Vec<f32> = Vec::new();
        for rollout in rollouts {
            let scores = environment.score(&rollout, step, Phase::Probe)?;
            reward_sum += mean(&scores);
            all_rewards.extend_from_slice(&scores);
            let greedy = greedy.as_ref().map(|by_prompt| {
                let firsts = (0..rollout.len()).step_by(environment.config.train.k);
                firsts
                    .map(|i| by_prompt[rollout.prompt(i)])
                    .collect::<Vec<f32>>()
            });
            let gradients = self.gradients(environment, policy, &rollout, &scores, &greedy)?;
            for (s, g) in stats.iter_mut().zip(&gradients) {
                s.push(g)?;
            }
            if keep {
                kept.push(gradients);
            }
            batches.push((rollout, scores, greedy));
        }
        // Pass 2: each batch's cosine to the reference held out from it.
        let mut cosines: Vec<Vec<f64>> = vec![Vec::new(); measured];
        if let Some(r) = self.reference(&stats)? {
            let total: Vec<f64> = stats[r].mean().iter().map(|x| x * m as f64).collect();
            for (b, (rollout, scores, greedy)) in batches.iter().enumerate() {
                let gradients = match kept.get_mut(b) {
                    Some(g) => std::mem::take(g),
                    None => self.gradients(environment, policy, rollout, scores, greedy)?,
                };
                let held_out: Vec<f64> = total
                    .iter()
                    .zip(&gradients[r])
                    .map(|(s, &x)| s - f64::from(x))
                    .collect();
                for (cos, g) in cosines.iter_mut().zip(&gradients) {
                    let c = cosine(g, &held_out);
                    if c.is_finite() {
                        cos.push(c);
                    }
                }
            }
        }
        // Every completion earned the same reward: the centred estimators' gradients are exactly
        // zero (0/0), and the others' point wherever the samples collapsed; neither SNR nor a
        // direction measures an estimator here.
        let saturated = all_rewards.windows(2).all(|pair| pair[0] == pair[1]);
        // What the rewards' first two moments alone predict for each variance ratio.
        let (mu, var) = {
            let mu = mean(&all_rewards);
            let var = all_rewards
                .iter()
                .map(|&r| (f64::from(r) - mu).powi(2))
                .sum::<f64>()
                / all_rewards.len().max(1) as f64;
            (mu, var)
        };
        let k = environment.config.train.k;
        let prompts = environment.config.train.prompts_per_step;
        let measures = self
            .reductions
            .iter()
            .flat_map(|&r| self.estimators.iter().map(move |a| (r, a)));
        measures
            .zip(&stats)
            .zip(&cosines)
            .map(|(((reduction, a), s), cos)| {
                let defined = !saturated && !cos.is_empty();
                Ok(ProbeRecord {
                    step,
                    generations,
                    estimator: a.estimator(),
                    token_reduction: Some(reduction),
                    batches: m,
                    grad_var: s.grad_var()?,
                    grad_mean_sqnorm: s.grad_mean_sqnorm()?,
                    snr: if saturated { f64::NAN } else { s.snr()? },
                    cos_to_ref: if defined { mean(cos) } else { f64::NAN },
                    cos_batches: if defined { cos.len() } else { 0 },
                    reward_mean: reward_sum / m as f64,
                    saturated,
                    // Derived for a sequence's summed log-prob; a reduction that weighs
                    // sequences by their lengths is outside it.
                    var_ratio_predicted: match reduction == self.reductions[0] {
                        true => predicted_ratio_to_rloo(
                            a.estimator(),
                            mu,
                            var,
                            k,
                            prompts,
                            f64::from(a.baseline()),
                        )
                        .unwrap_or(f64::NAN),
                        false => f64::NAN,
                    },
                })
            })
            .collect()
    }

    /// `remax`'s baseline for each distinct prompt among `prompts` (when it is probed): the
    /// reward of its greedy completion, all decoded and scored as one batch.
    fn greedy_baselines(
        &self,
        environment: &Environment,
        policy: &Transformer,
        prompts: &[Vec<u32>],
        step: usize,
    ) -> anyhow::Result<Option<HashMap<Vec<u32>, f32>>> {
        if !self.needs(Estimator::needs_greedy) {
            return Ok(None);
        }
        let mut distinct: Vec<Vec<u32>> = Vec::new();
        for p in prompts {
            if !distinct.contains(p) {
                distinct.push(p.clone());
            }
        }
        let scores = environment.greedy_scores_of(policy, &distinct, step)?;
        Ok(Some(distinct.into_iter().zip(scores).collect()))
    }

    /// Whether any probed estimator needs what `need` asks about.
    fn needs(&self, need: fn(Estimator) -> bool) -> bool {
        self.estimators.iter().any(|a| need(a.estimator()))
    }

    /// Every probed estimator's flattened gradient on one batch under every probed reduction
    /// (reduction-major), from the rewards training would see (and `remax`'s greedy rewards,
    /// when it is probed).
    fn gradients(
        &self,
        environment: &Environment,
        policy: &Transformer,
        rollout: &Rollout,
        scores: &[f32],
        greedy: &Option<Vec<f32>>,
    ) -> anyhow::Result<Vec<Vec<f32>>> {
        let batch = ScoredBatch::per_sequence(environment, policy, rollout, scores, false)?;
        let gradients = batch.policy_gradients(
            self.needs(Estimator::needs_score_norms),
            &self.reductions,
            |rewards, q| {
                let inputs = BaselineInputs {
                    greedy_rewards: greedy.as_deref(),
                    score_sqnorms: q,
                };
                let advantages = self
                    .estimators
                    .iter()
                    .map(|a| a.advantages_with(rewards, &inputs));
                Ok(advantages.collect::<Result<Vec<_>, _>>()?)
            },
            environment,
            policy,
        )?;
        Ok(gradients.into_iter().map(|g| g.gradient).collect())
    }

    /// The cosines' reference, as an index into `stats` (reduction-major): the unbiased
    /// estimator with the lowest `grad_var` under the `sum` reduction when it is probed (its
    /// expected gradient is the true gradient of the expected reward, so the reference means
    /// the same whatever the run's own reduction), else under the run's own; None without an
    /// unbiased estimator. Every reduction's gradients are scored against that one direction
    /// (a cosine ignores their scale).
    fn reference(&self, stats: &[GradStats]) -> anyhow::Result<Option<usize>> {
        let block = self
            .reductions
            .iter()
            .position(|&r| r == TokenReduction::Sum)
            .unwrap_or(0);
        let offset = block * self.estimators.len();
        let mut best: Option<(usize, f64)> = None;
        for (e, a) in self.estimators.iter().enumerate() {
            if a.estimator().is_unbiased() {
                let var = stats[offset + e].grad_var()?;
                if best.is_none_or(|(_, v)| var < v) {
                    best = Some((offset + e, var));
                }
            }
        }
        Ok(best.map(|(e, _)| e))
    }
}
