//! The gradient-variance probe: at the current weights, M fresh batches; for each batch every
//! probed estimator's gradient from the SAME samples and the same (KL-shaped) rewards as
//! training would use (a paired comparison), accumulated per estimator with Welford's method.
//!
//! Batch m uses the prompts of step `step + m`, so a probe's batches rotate over all prompts.
//! Besides `grad_var` and `snr`, each estimator's direction is scored by the cosine of every
//! batch's gradient to a held-out reference: the mean gradient, over the OTHER batches, of the
//! unbiased estimator with the lowest `grad_var` in this probe (so no batch is compared with
//! itself). That needs the reference's gradient of every batch before the cosines: the probe
//! runs in two passes over its batches, keeping the unbiased estimators' gradients of the first
//! (M · n_params · 4 bytes each: 69 MB for the default model at M = 16) and computing the
//! others in the second, so no gradient is computed twice.

use burn::module::Module;
use pglab_estimator::stats::mean;
use pglab_estimator::{Advantages, GradStats, cosine};
use pglab_model::{Gpt, Rollout, flatten_gradients, sample};
use pglab_report::ProbeRecord;
use rand::rngs::StdRng;

use crate::environment::Environment;
use crate::experiment::RunConfig;
use crate::gradient::Batch;

/// One `Advantages` per probed estimator, each observing the run's rewards so that
/// `reinforce_ema`'s baseline is the one it would have had in this run.
pub struct Probe {
    pub estimators: Vec<Advantages>,
}

/// One of the probe's batches: its samples, the rewards the estimators see, and the gradients
/// computed from it so far, by advantage vector (equal advantages share one backward pass).
struct ProbeBatch {
    rollout: Rollout,
    scores: Vec<f32>,
    rewards: Vec<f32>,
    /// The log-prob pass not yet consumed by a backward pass.
    pass: Option<Batch>,
    gradients: Vec<(Vec<f32>, Vec<f32>)>,
}

impl ProbeBatch {
    fn new(
        environment: &Environment,
        policy: &Gpt,
        step: usize,
        rng: &mut StdRng,
    ) -> anyhow::Result<Self> {
        let config = &environment.config;
        let rollout = sample(
            &policy.valid(),
            &environment.prompts(step),
            &config.sampling,
            rng,
        )?;
        let scores = environment.score(&rollout)?;
        let pass = Batch::new(environment, policy, &rollout, &scores, false)?;
        Ok(Self {
            rewards: pass.rewards.clone(),
            pass: Some(pass),
            rollout,
            scores,
            gradients: Vec::new(),
        })
    }

    /// The flattened policy gradient for `advantages`. All-zero advantages have a zero
    /// gradient without a backward pass; a backward pass consumes its log-prob pass, so a
    /// second distinct advantage vector runs a new one.
    fn gradient(
        &mut self,
        advantages: Vec<f32>,
        environment: &Environment,
        policy: &Gpt,
    ) -> anyhow::Result<&[f32]> {
        if let Some(i) = self.gradients.iter().position(|(a, _)| *a == advantages) {
            return Ok(&self.gradients[i].1);
        }
        let gradient = if advantages.iter().all(|&a| a == 0.0) {
            vec![0.0; policy.config().n_params()]
        } else {
            let pass = match self.pass.take() {
                Some(pass) => pass,
                None => Batch::new(environment, policy, &self.rollout, &self.scores, false)?,
            };
            let gradient = pass.policy_gradient(&advantages, environment)?;
            flatten_gradients(policy, &gradient.grads)?
        };
        self.gradients.push((advantages, gradient));
        Ok(&self.gradients[self.gradients.len() - 1].1)
    }

    fn mean_score(&self) -> f64 {
        mean(&self.scores)
    }
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
        Ok(Self { estimators })
    }

    /// Records a training step's rewards, as shaped for the estimator (see [`Batch`]).
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
        policy: &Gpt,
        step: usize,
        generations: usize,
        rng: &mut StdRng,
    ) -> anyhow::Result<Vec<ProbeRecord>> {
        let m = environment.config.probe.batches;
        let dim = policy.config().n_params();
        let unbiased: Vec<bool> = self
            .estimators
            .iter()
            .map(|a| a.estimator().is_unbiased())
            .collect();
        let mut stats: Vec<GradStats> = self
            .estimators
            .iter()
            .map(|_| GradStats::new(dim))
            .collect();
        // Pass 1: every batch sampled, the unbiased estimators' gradients kept.
        let mut batches = Vec::with_capacity(m);
        let mut reward_sum = 0.0;
        for b in 0..m {
            let mut batch = ProbeBatch::new(environment, policy, step + b, rng)?;
            reward_sum += batch.mean_score();
            for (e, estimator) in self.estimators.iter().enumerate() {
                if unbiased[e] {
                    let advantages = estimator.advantages(&batch.rewards)?;
                    stats[e].push(batch.gradient(advantages, environment, policy)?)?;
                }
            }
            batches.push(batch);
        }
        // The reference: the unbiased estimator with the lowest grad_var, summed over batches.
        let reference = (0..self.estimators.len())
            .filter(|&e| unbiased[e])
            .map(|e| Ok((e, stats[e].grad_var()?)))
            .collect::<anyhow::Result<Vec<_>>>()?
            .into_iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(e, _)| e);
        let mut reference_sum = vec![0.0f64; if reference.is_some() { dim } else { 0 }];
        if let Some(r) = reference {
            for batch in &mut batches {
                let advantages = self.estimators[r].advantages(&batch.rewards)?;
                let gradient = batch.gradient(advantages, environment, policy)?;
                for (s, &x) in reference_sum.iter_mut().zip(gradient) {
                    *s += f64::from(x);
                }
            }
        }
        // Pass 2: the other estimators' gradients, and every batch's cosine to the reference
        // held out from it.
        let mut cosines: Vec<Vec<f64>> = vec![Vec::new(); self.estimators.len()];
        for mut batch in batches {
            let held_out = match reference {
                Some(r) => {
                    let advantages = self.estimators[r].advantages(&batch.rewards)?;
                    let own = batch.gradient(advantages, environment, policy)?;
                    let others = reference_sum.iter().zip(own);
                    Some(others.map(|(s, &x)| s - f64::from(x)).collect::<Vec<f64>>())
                }
                None => None,
            };
            for (e, estimator) in self.estimators.iter().enumerate() {
                let advantages = estimator.advantages(&batch.rewards)?;
                let gradient = batch.gradient(advantages, environment, policy)?;
                if !unbiased[e] {
                    stats[e].push(gradient)?;
                }
                if let Some(held_out) = &held_out {
                    let cos = cosine(gradient, held_out);
                    if cos.is_finite() {
                        cosines[e].push(cos);
                    }
                }
            }
        }
        self.estimators
            .iter()
            .zip(&stats)
            .zip(&cosines)
            .map(|((a, s), cos)| {
                Ok(ProbeRecord {
                    step,
                    generations,
                    estimator: a.estimator(),
                    batches: m,
                    grad_var: s.grad_var()?,
                    grad_mean_sqnorm: s.grad_mean_sqnorm()?,
                    snr: s.snr()?,
                    cos_to_ref: mean(cos),
                    reward_mean: reward_sum / m as f64,
                })
            })
            .collect()
    }
}
