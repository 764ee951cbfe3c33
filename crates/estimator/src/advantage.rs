//! Advantages from one step's rewards: `Estimator` (what a user picks) and `Advantages` (an
//! estimator configured for a run, holding the EMA baseline of `reinforce_ema`).
//!
//! Rewards arrive as one flat slice of N = P·k values, prompt-major: the k completions of
//! prompt 0, then those of prompt 1, and so on. A group g is the k completions of one prompt,
//! r̄_g their mean and s_g their Bessel-corrected standard deviation,
//! s_g = sqrt(Σ_{i∈g} (r_i − r̄_g)² / (k − 1)). Advantages come back in the same order.
//! Arithmetic is done in f64 and rounded to f32 once.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::EstimatorError;
use crate::stats::{mean, sample_std};

/// A policy-gradient estimator: how the rewards of one step become advantages A_i.
///
/// The serde names are what a user writes (`estimator = "rloo"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    /// REINFORCE, no baseline: A_i = r_i. Unbiased; high variance when rewards share a large
    /// mean.
    Reinforce,
    /// REINFORCE with a moving-average baseline: A_i = r_i − b, where b is an exponential moving
    /// average of past steps' mean rewards: b ← decay·b + (1 − decay)·mean(r), applied *after*
    /// the step's advantages are computed, starting from b = 0 before the first step. The
    /// baseline depends on past steps only, so the estimator is unbiased.
    ReinforceEma,
    /// REINFORCE with the batch's mean reward as baseline, left out by prompt: A_i = r_i − b_p,
    /// b_p the mean reward of the other prompts' N − k completions of the step. Those were
    /// sampled independently of completion i, so the estimator is unbiased; the baseline carries
    /// no information about i's own prompt, which makes it the comparator that removes the
    /// rewards' common offset and nothing else (RLOO also removes each prompt's). Needs P ≥ 2
    /// prompts per step.
    ReinforceMean,
    /// REINFORCE Leave-One-Out: A_i = r_i − (1/(k−1)) Σ_{j∈g, j≠i} r_j = k/(k−1)·(r_i − r̄_g).
    /// Unbiased; needs k ≥ 2.
    Rloo,
    /// GRPO's group-relative advantage: A_i = (r_i − r̄_g) / (s_g + ε). Biased (the division by
    /// a std estimated from the same samples); needs k ≥ 2.
    Grpo,
    /// Dr. GRPO: A_i = r_i − r̄_g, no std, no length normalisation. Its expected gradient is
    /// (k−1)/k times the true one; needs k ≥ 2.
    DrGrpo,
    /// REINFORCE++: global batch normalisation, A_i = (r_i − r̄) / (s + ε), with r̄ and s the
    /// mean and Bessel std over all N rewards of the step. Biased; needs N ≥ 2.
    ReinforcePp,
    /// REINFORCE++-baseline (verl `reinforce_plus_plus_baseline`, OpenRLHF
    /// `reinforce_baseline`): subtract the group mean, then whiten over the whole batch,
    /// A = (a − mean(a)) / (std(a) + ε) with a_i = r_i − r̄_g and the Bessel std over all N.
    /// (mean(a) is 0 by construction.) Biased (the batch std); needs k ≥ 2.
    ReinforcePpBaseline,
    /// ReMax (Li et al. 2023, verl `remax`): A_i = r_i − r(greedy_g), the baseline of prompt g
    /// the reward of a greedy completion of g under the current policy, scored by the same
    /// reward. Unbiased (the baseline does not depend on the sampled completion); needs the
    /// greedy rewards ([`BaselineInputs::greedy_rewards`]).
    Remax,
    /// The variance-optimal baseline b* = E[‖∇ℓ‖² r] / E[‖∇ℓ‖²] (Weaver & Tao 2001; Greensmith,
    /// Bartlett & Baxter 2004), estimated leave-one-out within the group so that it stays
    /// unbiased: A_i = r_i − b_i, b_i = Σ_{j≠i} q_j r_j / Σ_{j≠i} q_j with q_j = ‖∇ℓ_j‖² the
    /// squared norm of sequence j's log-prob gradient as the loss weighs it
    /// ([`BaselineInputs::score_sqnorms`]). Where every other q_j is 0 the b_i is RLOO's
    /// mean of the others. Needs k ≥ 2.
    OptimalBaseline,
}

impl Estimator {
    /// Every estimator, in declaration order.
    pub const ALL: [Estimator; 10] = [
        Estimator::Reinforce,
        Estimator::ReinforceEma,
        Estimator::ReinforceMean,
        Estimator::Rloo,
        Estimator::Grpo,
        Estimator::DrGrpo,
        Estimator::ReinforcePp,
        Estimator::ReinforcePpBaseline,
        Estimator::Remax,
        Estimator::OptimalBaseline,
    ];

    /// The name a user writes, as serde spells it.
    pub fn name(self) -> &'static str {
        match self {
            Estimator::Reinforce => "reinforce",
            Estimator::ReinforceEma => "reinforce_ema",
            Estimator::ReinforceMean => "reinforce_mean",
            Estimator::Rloo => "rloo",
            Estimator::Grpo => "grpo",
            Estimator::DrGrpo => "dr_grpo",
            Estimator::ReinforcePp => "reinforce_pp",
            Estimator::ReinforcePpBaseline => "reinforce_pp_baseline",
            Estimator::Remax => "remax",
            Estimator::OptimalBaseline => "optimal_baseline",
        }
    }

    /// Whether the baseline is computed within each prompt's group (so k ≥ 2 is required).
    /// An exhaustive match: a new estimator does not compile until it is classified.
    pub fn is_group(self) -> bool {
        match self {
            Estimator::Rloo
            | Estimator::Grpo
            | Estimator::DrGrpo
            | Estimator::ReinforcePpBaseline
            | Estimator::OptimalBaseline => true,
            Estimator::Reinforce
            | Estimator::ReinforceEma
            | Estimator::ReinforceMean
            | Estimator::ReinforcePp
            | Estimator::Remax => false,
        }
    }

    /// Whether the expected gradient equals the true policy gradient. The probe's held-out
    /// reference direction is the lowest-variance one of these. An exhaustive match, like
    /// [`is_group`](Self::is_group).
    pub fn is_unbiased(self) -> bool {
        match self {
            Estimator::Reinforce
            | Estimator::ReinforceEma
            | Estimator::ReinforceMean
            | Estimator::Rloo
            | Estimator::Remax
            | Estimator::OptimalBaseline => true,
            Estimator::Grpo
            | Estimator::DrGrpo
            | Estimator::ReinforcePp
            | Estimator::ReinforcePpBaseline => false,
        }
    }

    /// Whether the advantages need a greedy completion of each prompt, scored
    /// ([`BaselineInputs::greedy_rewards`]). Exhaustive, like [`is_group`](Self::is_group).
    pub fn needs_greedy(self) -> bool {
        match self {
            Estimator::Remax => true,
            Estimator::Reinforce
            | Estimator::ReinforceEma
            | Estimator::ReinforceMean
            | Estimator::Rloo
            | Estimator::Grpo
            | Estimator::DrGrpo
            | Estimator::ReinforcePp
            | Estimator::ReinforcePpBaseline
            | Estimator::OptimalBaseline => false,
        }
    }

    /// Whether the advantages need each sequence's squared gradient norm
    /// ([`BaselineInputs::score_sqnorms`]). Exhaustive, like [`is_group`](Self::is_group).
    pub fn needs_score_norms(self) -> bool {
        match self {
            Estimator::OptimalBaseline => true,
            Estimator::Reinforce
            | Estimator::ReinforceEma
            | Estimator::ReinforceMean
            | Estimator::Rloo
            | Estimator::Grpo
            | Estimator::DrGrpo
            | Estimator::ReinforcePp
            | Estimator::ReinforcePpBaseline
            | Estimator::Remax => false,
        }
    }

    /// Whether the advantages divide by a standard deviation plus `eps` (so `eps` must be
    /// positive). Exhaustive, like [`is_group`](Self::is_group).
    pub fn uses_eps(self) -> bool {
        match self {
            Estimator::Grpo | Estimator::ReinforcePp | Estimator::ReinforcePpBaseline => true,
            Estimator::Reinforce
            | Estimator::ReinforceEma
            | Estimator::ReinforceMean
            | Estimator::Rloo
            | Estimator::DrGrpo
            | Estimator::Remax
            | Estimator::OptimalBaseline => false,
        }
    }
}

/// What `remax` and `optimal_baseline` need besides the rewards. The other estimators ignore
/// it; [`BaselineInputs::NONE`] is all they need.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BaselineInputs<'a> {
    /// r(greedy_g): the reward of one greedy completion of each prompt, P values in prompt
    /// order (`remax`).
    pub greedy_rewards: Option<&'a [f32]>,
    /// q_i = ‖∇ℓ_i‖²: the squared norm of each sequence's log-prob gradient, with ℓ_i as the
    /// loss reduces it (the sum of its token log-probs, or their mean), N values in batch order
    /// (`optimal_baseline`).
    pub score_sqnorms: Option<&'a [f64]>,
}

impl BaselineInputs<'_> {
    /// No greedy rewards, no gradient norms.
    pub const NONE: BaselineInputs<'static> = BaselineInputs {
        greedy_rewards: None,
        score_sqnorms: None,
    };
}

impl fmt::Display for Estimator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Numbers an estimator may need, with their defaults. Unknown keys are rejected.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdvantageOptions {
    /// ε added to the std by `grpo`, `reinforce_pp` and `reinforce_pp_baseline` (default 1e-6).
    pub eps: f32,
    /// Decay of `reinforce_ema`'s moving-average baseline (default 0.9).
    pub ema_decay: f32,
}

impl Default for AdvantageOptions {
    fn default() -> Self {
        Self {
            eps: 1e-6,
            ema_decay: 0.9,
        }
    }
}

/// An estimator configured for a run with k completions per prompt; carries `reinforce_ema`'s
/// baseline from step to step.
#[derive(Debug, Clone, PartialEq)]
pub struct Advantages {
    estimator: Estimator,
    k: usize,
    options: AdvantageOptions,
    /// b, the moving average of past steps' mean rewards (`reinforce_ema` only; 0 before the
    /// first step).
    baseline: f64,
}

impl Advantages {
    /// Validates the configuration.
    ///
    /// # Errors
    /// [`EstimatorError::EmptyGroup`] for k = 0, [`EstimatorError::GroupTooSmall`] for a group
    /// estimator with k < 2, [`EstimatorError::BadEps`] / [`EstimatorError::BadEmaDecay`] for
    /// options out of range.
    pub fn new(
        estimator: Estimator,
        k: usize,
        options: AdvantageOptions,
    ) -> Result<Self, EstimatorError> {
        if k == 0 {
            return Err(EstimatorError::EmptyGroup { estimator });
        }
        if estimator.is_group() && k < 2 {
            return Err(EstimatorError::GroupTooSmall { estimator, k });
        }
        if estimator.uses_eps() && !(options.eps.is_finite() && options.eps > 0.0) {
            return Err(EstimatorError::BadEps {
                estimator,
                eps: options.eps,
            });
        }
        let decay = options.ema_decay;
        if estimator == Estimator::ReinforceEma && !(0.0..1.0).contains(&decay) {
            return Err(EstimatorError::BadEmaDecay { decay });
        }
        Ok(Self {
            estimator,
            k,
            options,
            baseline: 0.0,
        })
    }

    /// The estimator.
    pub fn estimator(&self) -> Estimator {
        self.estimator
    }

    /// Completions per prompt.
    pub fn k(&self) -> usize {
        self.k
    }

    /// `reinforce_ema`'s current baseline b (built from the steps observed so far; 0 before the
    /// first). Always 0 for the other estimators.
    pub fn baseline(&self) -> f32 {
        self.baseline as f32
    }

    /// One training step: the advantages of `rewards`, then (for `reinforce_ema`) the baseline
    /// update with this step's mean reward. Equivalent to [`advantages`](Self::advantages)
    /// followed by [`observe`](Self::observe).
    ///
    /// # Errors
    /// As [`advantages`](Self::advantages).
    pub fn step(&mut self, rewards: &[f32]) -> Result<Vec<f32>, EstimatorError> {
        self.step_with(rewards, &BaselineInputs::NONE)
    }

    /// [`step`](Self::step) with what `remax` and `optimal_baseline` need.
    ///
    /// # Errors
    /// As [`advantages_with`](Self::advantages_with).
    pub fn step_with(
        &mut self,
        rewards: &[f32],
        inputs: &BaselineInputs,
    ) -> Result<Vec<f32>, EstimatorError> {
        let advantages = self.advantages_with(rewards, inputs)?;
        self.observe(rewards)?;
        Ok(advantages)
    }

    /// The advantages of one step's `rewards` (N = P·k, prompt-major), leaving the baseline
    /// alone: what the gradient-variance probe uses, at the run's current baseline.
    ///
    /// # Errors
    /// [`EstimatorError::NoRewards`], [`EstimatorError::RaggedGroups`] if N is not a multiple
    /// of k, [`EstimatorError::NonFiniteReward`], [`EstimatorError::BatchTooSmall`] for
    /// `reinforce_pp` with N < 2, and for `remax` and `optimal_baseline`
    /// [`EstimatorError::MissingInput`]: use [`advantages_with`](Self::advantages_with).
    pub fn advantages(&self, rewards: &[f32]) -> Result<Vec<f32>, EstimatorError> {
        self.advantages_with(rewards, &BaselineInputs::NONE)
    }

    /// [`advantages`](Self::advantages) with what `remax` and `optimal_baseline` need.
    ///
    /// # Errors
    /// As [`advantages`](Self::advantages); [`EstimatorError::MissingInput`] when the estimator
    /// needs an input that is `None`, [`EstimatorError::LengthMismatch`] when it has the wrong
    /// length, [`EstimatorError::NonFinite`] for a NaN, infinite or negative value in it.
    pub fn advantages_with(
        &self,
        rewards: &[f32],
        inputs: &BaselineInputs,
    ) -> Result<Vec<f32>, EstimatorError> {
        self.check(rewards)?;
        let r: Vec<f64> = rewards.iter().map(|&x| f64::from(x)).collect();
        let eps = f64::from(self.options.eps);
        let a: Vec<f64> = match self.estimator {
            Estimator::Reinforce => r,
            Estimator::ReinforceEma => r.iter().map(|x| x - self.baseline).collect(),
            Estimator::ReinforceMean => other_prompts_mean(&r, self.k),
            Estimator::Rloo => per_group(&r, self.k, |g| {
                let k = g.len() as f64;
                let sum: f64 = g.iter().sum();
                g.iter().map(|x| x - (sum - x) / (k - 1.0)).collect()
            }),
            Estimator::Grpo => per_group(&r, self.k, |g| standardise(g, eps)),
            Estimator::DrGrpo => per_group(&r, self.k, |g| {
                let mean = mean(g);
                g.iter().map(|x| x - mean).collect()
            }),
            Estimator::ReinforcePp => standardise(&r, eps),
            Estimator::ReinforcePpBaseline => {
                let centred = per_group(&r, self.k, |g| {
                    let mean = mean(g);
                    g.iter().map(|x| x - mean).collect()
                });
                standardise(&centred, eps)
            }
            Estimator::Remax => {
                let greedy = self.greedy_rewards(inputs, r.len())?;
                r.iter()
                    .enumerate()
                    .map(|(i, x)| x - greedy[i / self.k])
                    .collect()
            }
            Estimator::OptimalBaseline => {
                let q = self.score_sqnorms(inputs, r.len())?;
                let groups = r.chunks(self.k).zip(q.chunks(self.k));
                groups
                    .flat_map(|(g, q)| optimal_leave_one_out(g, q))
                    .collect()
            }
        };
        Ok(a.into_iter().map(|x| x as f32).collect())
    }

    /// Records a step's rewards: `reinforce_ema`'s b ← decay·b + (1 − decay)·mean(rewards);
    /// nothing for the other estimators.
    ///
    /// # Errors
    /// As [`advantages`](Self::advantages).
    pub fn observe(&mut self, rewards: &[f32]) -> Result<(), EstimatorError> {
        self.check(rewards)?;
        if self.estimator == Estimator::ReinforceEma {
            let decay = f64::from(self.options.ema_decay);
            let r: Vec<f64> = rewards.iter().map(|&x| f64::from(x)).collect();
            self.baseline = decay * self.baseline + (1.0 - decay) * mean(&r);
        }
        Ok(())
    }

    /// `remax`'s r(greedy_g), one per group of the `n` rewards, checked.
    fn greedy_rewards(
        &self,
        inputs: &BaselineInputs,
        n: usize,
    ) -> Result<Vec<f64>, EstimatorError> {
        let greedy = inputs.greedy_rewards.ok_or(EstimatorError::MissingInput {
            estimator: self.estimator,
            input: "greedy_rewards",
        })?;
        EstimatorError::check_len(CONTEXT, "greedy_rewards", greedy.len(), n / self.k)?;
        let greedy: Vec<f64> = greedy.iter().map(|&x| f64::from(x)).collect();
        check_finite(&greedy, "greedy_rewards")?;
        Ok(greedy)
    }

    /// `optimal_baseline`'s q_i, one per reward, checked.
    fn score_sqnorms<'a>(
        &self,
        inputs: &BaselineInputs<'a>,
        n: usize,
    ) -> Result<&'a [f64], EstimatorError> {
        let q = inputs.score_sqnorms.ok_or(EstimatorError::MissingInput {
            estimator: self.estimator,
            input: "score_sqnorms",
        })?;
        EstimatorError::check_len(CONTEXT, "score_sqnorms", q.len(), n)?;
        check_finite(q, "score_sqnorms")?;
        if let Some((index, &value)) = q.iter().enumerate().find(|(_, v)| **v < 0.0) {
            return Err(EstimatorError::NegativeSqnorm {
                context: CONTEXT,
                index,
                value,
            });
        }
        Ok(q)
    }

    fn check(&self, rewards: &[f32]) -> Result<(), EstimatorError> {
        let estimator = self.estimator;
        let n = rewards.len();
        if n == 0 {
            return Err(EstimatorError::NoRewards { estimator });
        }
        if !n.is_multiple_of(self.k) {
            return Err(EstimatorError::RaggedGroups {
                estimator,
                n,
                k: self.k,
            });
        }
        if let Some((index, &value)) = rewards.iter().enumerate().find(|(_, r)| !r.is_finite()) {
            return Err(EstimatorError::NonFiniteReward {
                estimator,
                index,
                value,
            });
        }
        if estimator == Estimator::ReinforcePp && n < 2 {
            return Err(EstimatorError::BatchTooSmall { estimator, n });
        }
        if estimator == Estimator::ReinforceMean && n < 2 * self.k {
            return Err(EstimatorError::TooFewPrompts {
                estimator,
                prompts: n / self.k,
            });
        }
        Ok(())
    }
}

/// A_i = r_i − b_i in one group, b_i = Σ_{j≠i} q_j r_j / Σ_{j≠i} q_j, or the mean of the others
/// where their q_j are all 0. Computed as Σ_{j≠i} q_j (r_i − r_j) / Σ_{j≠i} q_j, the same number,
/// so that a group whose rewards are all equal gets advantages of exactly 0, as RLOO's do (the
/// quotient of the sums gave b_i = r·(1 ± 1 ulp), and a saturated run's probe a variance of
/// 1e-12 where RLOO's is 0).
fn optimal_leave_one_out(r: &[f64], q: &[f64]) -> Vec<f64> {
    (0..r.len())
        .map(|i| {
            let others = (0..r.len()).filter(|&j| j != i);
            let weight: f64 = others.clone().map(|j| q[j]).sum();
            if weight > 0.0 {
                others.map(|j| q[j] * (r[i] - r[j])).sum::<f64>() / weight
            } else {
                others.map(|j| r[i] - r[j]).sum::<f64>() / (r.len() - 1) as f64
            }
        })
        .collect()
}

/// A_i = r_i − (mean of the rewards outside i's group): `reinforce_mean`. Computed as
/// Σ_{j∉g} (r_i − r_j) / (N − k), the same number, so that a step whose rewards are all equal
/// gets advantages of exactly 0.
fn other_prompts_mean(r: &[f64], k: usize) -> Vec<f64> {
    let others = (r.len() - k) as f64;
    r.chunks(k)
        .enumerate()
        .flat_map(|(g, group)| {
            group.iter().map(move |&x| {
                let outside = r.chunks(k).enumerate().filter(|&(h, _)| h != g);
                outside.flat_map(|(_, o)| o).map(|y| x - y).sum::<f64>() / others
            })
        })
        .collect()
}

/// Applies `f` to each consecutive group of `k` values and concatenates the results.
fn per_group(r: &[f64], k: usize, f: impl Fn(&[f64]) -> Vec<f64>) -> Vec<f64> {
    r.chunks(k).flat_map(f).collect()
}

const CONTEXT: &str = "advantages";

/// `Err(NonFinite)` naming the first value of `what` that is NaN or infinite.
fn check_finite(x: &[f64], what: &'static str) -> Result<(), EstimatorError> {
    match x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((index, &value)) => Err(EstimatorError::NonFinite {
            context: CONTEXT,
            what,
            index,
            value: value as f32,
        }),
        None => Ok(()),
    }
}

/// (x_i − x̄) / (s + ε) with s the Bessel-corrected std; needs at least two values.
fn standardise(x: &[f64], eps: f64) -> Vec<f64> {
    let mean = mean(x);
    let scale = sample_std(x) + eps;
    x.iter().map(|v| (v - mean) / scale).collect()
}

#[cfg(test)]
#[path = "advantage_tests.rs"]
mod tests;
