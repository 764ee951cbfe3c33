//! The gradient-variance probe: at the current weights, M fresh batches; for each batch every
//! probed estimator's gradient from the SAME samples (a paired comparison), accumulated per
//! estimator with Welford's method.

use burn::prelude::*;
use pglab_estimator::{Advantages, GradStats, flatten_gradients, loss_weights, mean_gradient};
use pglab_model::{Gpt, sample, sharded_logprobs};
use pglab_report::ProbeRecord;
use rand::rngs::StdRng;

use crate::run::Policy;

/// One `Advantages` per probed estimator, each observing the run's rewards so that
/// `reinforce_ema`'s baseline is the one it would have had in this run.
pub struct Probe {
    pub estimators: Vec<Advantages>,
}

impl Probe {
    pub fn observe(&mut self, rewards: &[f32]) -> anyhow::Result<()> {
        for a in &mut self.estimators {
            a.observe(rewards)?;
        }
        Ok(())
    }

    /// Runs the probe at `step` without changing the weights.
    pub fn run(
        &self,
        policy: &Policy,
        model: &Gpt,
        step: usize,
        generations: usize,
        rng: &mut StdRng,
    ) -> anyhow::Result<Vec<ProbeRecord>> {
        let config = &policy.config;
        let batches = config.probe.batches;
        let mut stats: Vec<GradStats> = Vec::new();
        let mut reward_sum = 0.0;
        let valid = model.valid();
        for _ in 0..batches {
            let prompts = policy.step_prompts(step);
            let rollout = sample(&valid, &prompts, &config.sampling, rng)?;
            let rewards = policy.score(&rollout)?;
            reward_sum += rewards.iter().map(|&r| r as f64).sum::<f64>() / rewards.len() as f64;
            let batch = rollout.token_batch(config.train.loss_includes_prompt, &policy.device)?;
            // Advantages that repeat (e.g. reinforce_ema before its baseline moves) share one
            // backward pass; all-zero advantages have a zero gradient without one.
            let mut done: Vec<(Vec<f32>, Vec<f32>)> = Vec::new();
            for (e, estimator) in self.estimators.iter().enumerate() {
                let advantages = estimator.advantages(&rewards)?;
                let gradient = match done.iter().find(|(a, _)| *a == advantages) {
                    Some((_, g)) => g.clone(),
                    None => {
                        let g = if advantages.iter().all(|&a| a == 0.0) {
                            vec![0.0; model.config().n_params()]
                        } else {
                            let logprobs = sharded_logprobs(model, &batch, false)?;
                            let weights = loss_weights(
                                &logprobs.n_scored(),
                                &advantages,
                                config.train.k,
                                &config.train.loss_options(),
                            )?;
                            flatten_gradients(model, &logprobs.backward(&weights)?)?
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
