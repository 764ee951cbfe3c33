//! The gradient-variance probe: at the current weights, M fresh batches; for each batch every
//! probed estimator's gradient from the SAME samples and the same (KL-shaped) rewards as
//! training would use (a paired comparison), accumulated per estimator with Welford's method.

use burn::module::Module;
use pglab_estimator::{Advantages, GradStats, mean_gradient};
use pglab_model::{Gpt, flatten_gradients, sample};
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
        let config = &environment.config;
        let batches = config.probe.batches;
        let mut stats: Vec<GradStats> = Vec::new();
        let mut reward_sum = 0.0;
        let frozen = policy.valid();
        for _ in 0..batches {
            let rollout = sample(&frozen, &environment.prompts(step), &config.sampling, rng)?;
            let scores = environment.score(&rollout)?;
            reward_sum += scores.iter().map(|&r| r as f64).sum::<f64>() / scores.len() as f64;
            let mut batch = Some(Batch::new(environment, policy, &rollout, &scores, false)?);
            let rewards = batch
                .as_ref()
                .map(|b| b.rewards.clone())
                .unwrap_or_default();
            // Advantages that repeat (e.g. reinforce_ema before its baseline moves) share one
            // backward pass; all-zero advantages have a zero gradient without one. A backward
            // pass consumes its batch's graph: a second distinct estimator needs a new pass.
            let mut done: Vec<(Vec<f32>, Vec<f32>)> = Vec::new();
            for (e, estimator) in self.estimators.iter().enumerate() {
                let advantages = estimator.advantages(&rewards)?;
                let gradient = match done.iter().find(|(a, _)| *a == advantages) {
                    Some((_, g)) => g.clone(),
                    None => {
                        let g = if advantages.iter().all(|&a| a == 0.0) {
                            vec![0.0; policy.config().n_params()]
                        } else {
                            let batch = match batch.take() {
                                Some(batch) => batch,
                                None => Batch::new(environment, policy, &rollout, &scores, false)?,
                            };
                            let gradient = batch.policy_gradient(&advantages, environment)?;
                            flatten_gradients(policy, &gradient.grads)?
                        };
                        done.push((advantages, g.clone()));
                        g
                    }
                };
                if stats.len() <= e {
                    stats.push(GradStats::new(gradient.len()));
                }
                stats[e].push(&gradient)?;
            }
        }
        // The reference direction: the mean gradient of the unbiased estimators over all batches.
        let unbiased: Vec<&GradStats> = self
            .estimators
            .iter()
            .zip(&stats)
            .filter(|(a, _)| a.estimator().is_unbiased())
            .map(|(_, s)| s)
            .collect();
        let reference = if unbiased.is_empty() {
            None
        } else {
            Some(mean_gradient(&unbiased)?)
        };
        self.estimators
            .iter()
            .zip(&stats)
            .map(|(a, s)| {
                Ok(ProbeRecord {
                    step,
                    generations,
                    estimator: a.estimator(),
                    batches,
                    grad_var: s.grad_var()?,
                    grad_mean_sqnorm: s.grad_mean_sqnorm()?,
                    snr: s.snr()?,
                    cos_to_ref: match &reference {
                        Some(r) => s.cos_to_ref(r)?,
                        None => f64::NAN,
                    },
                    reward_mean: reward_sum / batches as f64,
                })
            })
            .collect()
    }
}
