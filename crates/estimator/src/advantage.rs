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
    pub const ALL: [Estimator; 9] = [
        Estimator::Reinforce,
        Estimator::ReinforceEma,
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
    /// ([`BaselineInputs::greedy_rewards`]).
    pub fn needs_greedy(self) -> bool {
        self == Estimator::Remax
    }

    /// Whether the advantages need each sequence's squared gradient norm
    /// ([`BaselineInputs::score_sqnorms`]).
    pub fn needs_score_norms(self) -> bool {
        self == Estimator::OptimalBaseline
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

/// Numbers an estimator may need, with DESIGN.md's defaults. Unknown keys are rejected.
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
        let uses_eps = matches!(
            estimator,
            Estimator::Grpo | Estimator::ReinforcePp | Estimator::ReinforcePpBaseline
        );
        if uses_eps && !(options.eps.is_finite() && options.eps > 0.0) {
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
mod tests {
    use super::*;

    const EPS: f32 = 1e-6;

    fn advantages(estimator: Estimator, k: usize, rewards: &[f32]) -> Vec<f32> {
        Advantages::new(estimator, k, AdvantageOptions::default())
            .expect("valid configuration")
            .advantages(rewards)
            .expect("valid rewards")
    }

    fn assert_close(got: &[f32], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!(
                (f64::from(*g) - w).abs() <= 1e-6 * w.abs().max(1.0),
                "{got:?} vs {want:?}"
            );
        }
    }

    // Two prompts, k = 3: groups (0, 3, 6) and (2, 2, 5).
    // Group means 3 and 3; deviations (−3, 0, 3) and (−1, −1, 2).
    // Bessel variances (9+0+9)/2 = 9 and (1+1+4)/2 = 3, so stds 3 and √3.
    const R: [f32; 6] = [0.0, 3.0, 6.0, 2.0, 2.0, 5.0];

    #[test]
    fn reinforce_advantages_are_the_rewards() {
        assert_close(
            &advantages(Estimator::Reinforce, 3, &R),
            &[0.0, 3.0, 6.0, 2.0, 2.0, 5.0],
        );
    }

    #[test]
    fn rloo_advantages_subtract_the_mean_of_the_other_completions() {
        // 0 − (3+6)/2 = −4.5, 3 − (0+6)/2 = 0, 6 − (0+3)/2 = 4.5;
        // 2 − (2+5)/2 = −1.5, again −1.5, 5 − (2+2)/2 = 3.
        assert_close(
            &advantages(Estimator::Rloo, 3, &R),
            &[-4.5, 0.0, 4.5, -1.5, -1.5, 3.0],
        );
    }

    #[test]
    fn dr_grpo_advantages_subtract_the_group_mean() {
        assert_close(
            &advantages(Estimator::DrGrpo, 3, &R),
            &[-3.0, 0.0, 3.0, -1.0, -1.0, 2.0],
        );
    }

    #[test]
    fn grpo_advantages_divide_by_bessel_std_plus_eps() {
        let e = f64::from(EPS);
        let s2 = 3f64.sqrt() + e;
        assert_close(
            &advantages(Estimator::Grpo, 3, &R),
            &[
                -3.0 / (3.0 + e),
                0.0,
                3.0 / (3.0 + e),
                -1.0 / s2,
                -1.0 / s2,
                2.0 / s2,
            ],
        );
    }

    #[test]
    fn grpo_gives_zero_advantage_to_a_group_with_equal_rewards() {
        assert_close(&advantages(Estimator::Grpo, 2, &[4.0, 4.0]), &[0.0, 0.0]);
    }

    #[test]
    fn reinforce_pp_normalises_over_the_whole_batch() {
        // Batch mean 18/6 = 3; deviations (−3, 0, 3, −1, −1, 2); squares sum 9+0+9+1+1+4 = 24;
        // Bessel variance 24/5 = 4.8.
        let s = 4.8f64.sqrt() + f64::from(EPS);
        assert_close(
            &advantages(Estimator::ReinforcePp, 3, &R),
            &[-3.0 / s, 0.0, 3.0 / s, -1.0 / s, -1.0 / s, 2.0 / s],
        );
    }

    #[test]
    fn reinforce_pp_baseline_centres_each_group_then_whitens_the_batch() {
        // Groups (1, 3) and (10, 14): a = (−1, 1, −2, 2), mean 0, Bessel std √(10/3) = 1.825742.
        let got = advantages(Estimator::ReinforcePpBaseline, 2, &[1.0, 3.0, 10.0, 14.0]);
        let s = (10.0f64 / 3.0).sqrt() + 1e-6;
        assert_close(&got, &[-1.0 / s, 1.0 / s, -2.0 / s, 2.0 / s]);
        // Unlike reinforce_pp, the groups' different means do not enter.
        let pp = advantages(Estimator::ReinforcePp, 2, &[1.0, 3.0, 10.0, 14.0]);
        assert!(pp[0] < -0.5 && got[0] > -0.6);
    }

    fn advantages_with(
        estimator: Estimator,
        k: usize,
        rewards: &[f32],
        inputs: &BaselineInputs,
    ) -> Result<Vec<f32>, EstimatorError> {
        Advantages::new(estimator, k, AdvantageOptions::default())
            .expect("valid configuration")
            .advantages_with(rewards, inputs)
    }

    #[test]
    fn remax_subtracts_each_prompts_greedy_reward() {
        // Greedy rewards 4 and 1 for the two prompts of R: (0−4, 3−4, 6−4), (2−1, 2−1, 5−1).
        let inputs = BaselineInputs {
            greedy_rewards: Some(&[4.0, 1.0]),
            ..BaselineInputs::NONE
        };
        let got = advantages_with(Estimator::Remax, 3, &R, &inputs).expect("valid");
        assert_close(&got, &[-4.0, -1.0, 2.0, 1.0, 1.0, 4.0]);
        // k = 1 is fine: the baseline does not come from the group.
        let one = advantages_with(
            Estimator::Remax,
            1,
            &[5.0, 7.0],
            &BaselineInputs {
                greedy_rewards: Some(&[2.0, 9.0]),
                ..BaselineInputs::NONE
            },
        );
        assert_close(&one.expect("valid"), &[3.0, -2.0]);
    }

    #[test]
    fn optimal_baseline_weights_the_other_rewards_by_their_gradient_norms() {
        // Group (0, 3, 6) with q = (1, 2, 3):
        //   b_0 = (2·3 + 3·6)/(2+3) = 24/5 = 4.8      → A_0 = 0 − 4.8 = −4.8
        //   b_1 = (1·0 + 3·6)/(1+3) = 18/4 = 4.5      → A_1 = 3 − 4.5 = −1.5
        //   b_2 = (1·0 + 2·3)/(1+2) = 6/3 = 2         → A_2 = 6 − 2 = 4
        // Group (2, 2, 5) with q = (4, 0, 0): b_0's others have q = 0, so it is RLOO's
        // (2+5)/2 = 3.5 → A = −1.5; b_1 = 4·2/4 = 2 → A = 0; b_2 = 2 → A = 3.
        let q = [1.0, 2.0, 3.0, 4.0, 0.0, 0.0];
        let inputs = BaselineInputs {
            score_sqnorms: Some(&q),
            ..BaselineInputs::NONE
        };
        let got = advantages_with(Estimator::OptimalBaseline, 3, &R, &inputs).expect("valid");
        assert_close(&got, &[-4.8, -1.5, 4.0, -1.5, 0.0, 3.0]);
    }

    #[test]
    fn optimal_baseline_gives_exactly_zero_to_a_group_of_equal_rewards() {
        let r = [0.1f32, 0.1, 0.1, 7.3, 7.3, 7.3];
        let q = [0.37, 1.9e3, 2.2e-4, 5.0, 0.0, 1.0 / 3.0];
        let inputs = BaselineInputs {
            score_sqnorms: Some(&q),
            ..BaselineInputs::NONE
        };
        let a = advantages_with(Estimator::OptimalBaseline, 3, &r, &inputs).expect("valid");
        assert_eq!(a, vec![0.0; 6]);
    }

    #[test]
    fn optimal_baseline_with_equal_norms_is_rloo() {
        for (k, seed) in [(2, 11), (4, 12), (7, 13)] {
            let r = pseudo_rewards(3 * k, seed);
            let q = vec![0.37; r.len()];
            let inputs = BaselineInputs {
                score_sqnorms: Some(&q),
                ..BaselineInputs::NONE
            };
            let optimal = advantages_with(Estimator::OptimalBaseline, k, &r, &inputs).expect("ok");
            let rloo = advantages(Estimator::Rloo, k, &r);
            let want: Vec<f64> = rloo.iter().map(|&x| f64::from(x)).collect();
            assert_close(&optimal, &want);
        }
    }

    #[test]
    fn missing_or_malformed_baseline_inputs_are_errors_naming_them() {
        let remax = advantages_with(Estimator::Remax, 3, &R, &BaselineInputs::NONE);
        let err = remax.expect_err("no greedy rewards");
        assert!(err.to_string().contains("remax") && err.to_string().contains("greedy_rewards"));
        let optimal = Advantages::new(Estimator::OptimalBaseline, 3, AdvantageOptions::default())
            .expect("valid")
            .advantages(&R);
        let err = optimal.expect_err("no norms");
        assert!(err.to_string().contains("optimal_baseline"), "{err}");
        assert!(err.to_string().contains("score_sqnorms"), "{err}");
        // One greedy reward per prompt: 2 for R, not 6.
        let err = advantages_with(
            Estimator::Remax,
            3,
            &R,
            &BaselineInputs {
                greedy_rewards: Some(&R),
                ..BaselineInputs::NONE
            },
        )
        .expect_err("wrong length");
        assert!(
            err.to_string()
                .contains("greedy_rewards has 6 entries, expected 2"),
            "{err}"
        );
        let err = advantages_with(
            Estimator::Remax,
            3,
            &R,
            &BaselineInputs {
                greedy_rewards: Some(&[1.0, f32::INFINITY]),
                ..BaselineInputs::NONE
            },
        )
        .expect_err("infinite");
        assert!(
            err.to_string().contains("greedy_rewards[1] is inf"),
            "{err}"
        );
        let q = [1.0, 1.0, -0.5, 1.0, 1.0, 1.0];
        let err = advantages_with(
            Estimator::OptimalBaseline,
            3,
            &R,
            &BaselineInputs {
                score_sqnorms: Some(&q),
                ..BaselineInputs::NONE
            },
        )
        .expect_err("negative");
        assert!(
            err.to_string().contains("score_sqnorms[2] is -0.5"),
            "{err}"
        );
        // The other estimators need neither.
        for estimator in Estimator::ALL {
            let needs = estimator.needs_greedy() || estimator.needs_score_norms();
            let got = advantages_with(estimator, 3, &R, &BaselineInputs::NONE);
            assert_eq!(got.is_err(), needs, "{estimator}");
        }
    }

    #[test]
    fn reinforce_ema_first_step_uses_zero_baseline() {
        assert_close(
            &advantages(Estimator::ReinforceEma, 3, &R),
            &[0.0, 3.0, 6.0, 2.0, 2.0, 5.0],
        );
    }

    #[test]
    fn reinforce_ema_baseline_uses_only_past_steps() {
        let options = AdvantageOptions {
            ema_decay: 0.5,
            ..AdvantageOptions::default()
        };
        let mut ema = Advantages::new(Estimator::ReinforceEma, 2, options).expect("valid");
        // Step 1: b = 0, so A = r; then b = 0.5·0 + 0.5·mean(2, 6) = 2.
        assert_close(&ema.step(&[2.0, 6.0]).expect("ok"), &[2.0, 6.0]);
        assert_eq!(ema.baseline(), 2.0);
        // Step 2: b = 2 (from step 1 only), even though this step's mean is 11; then
        // b = 0.5·2 + 0.5·11 = 6.5.
        assert_close(&ema.step(&[10.0, 12.0]).expect("ok"), &[8.0, 10.0]);
        assert_eq!(ema.baseline(), 6.5);
        // Step 3: b = 6.5 whatever this step's rewards are.
        assert_close(&ema.advantages(&[0.0, 100.0]).expect("ok"), &[-6.5, 93.5]);
        assert_close(&ema.advantages(&[-50.0, 7.0]).expect("ok"), &[-56.5, 0.5]);
        // `advantages` alone leaves the baseline untouched.
        assert_eq!(ema.baseline(), 6.5);
    }

    #[test]
    fn reinforce_ema_default_decay_is_0_9() {
        let mut ema =
            Advantages::new(Estimator::ReinforceEma, 1, AdvantageOptions::default()).expect("ok");
        ema.step(&[10.0]).expect("ok");
        // b = 0.9·0 + 0.1·10 = 1.
        assert_close(&ema.advantages(&[0.0]).expect("ok"), &[-1.0]);
    }

    /// A small deterministic generator (an LCG), so the property tests need no dependency.
    fn pseudo_rewards(n: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 20.0 - 5.0
            })
            .collect()
    }

    #[test]
    fn rloo_advantages_sum_to_zero_per_group() {
        for (k, seed) in [(2, 1), (3, 2), (5, 3), (10, 4)] {
            let r = pseudo_rewards(4 * k, seed);
            let a = advantages(Estimator::Rloo, k, &r);
            for (g, group) in a.chunks(k).enumerate() {
                let sum: f64 = group.iter().map(|&x| f64::from(x)).sum();
                let scale: f64 = group.iter().map(|&x| f64::from(x).abs()).sum();
                assert!(sum.abs() <= 1e-6 * scale, "k={k} group {g}: sum {sum}");
            }
        }
    }

    #[test]
    fn rloo_equals_k_over_k_minus_1_times_dr_grpo() {
        for (k, seed) in [(2, 5), (3, 6), (4, 7), (10, 8)] {
            let r = pseudo_rewards(3 * k, seed);
            let rloo = advantages(Estimator::Rloo, k, &r);
            let dr = advantages(Estimator::DrGrpo, k, &r);
            let ratio = k as f64 / (k as f64 - 1.0);
            for (a, d) in rloo.iter().zip(&dr) {
                let want = ratio * f64::from(*d);
                // Equal up to the final rounding of each to f32.
                assert!(
                    (f64::from(*a) - want).abs()
                        <= 2.0 * f64::from(f32::EPSILON) * want.abs().max(1.0),
                    "k={k}: rloo {a} vs {want}"
                );
            }
        }
    }

    #[test]
    fn group_estimators_reject_k_below_two_naming_estimator_and_k() {
        for estimator in [
            Estimator::Rloo,
            Estimator::Grpo,
            Estimator::DrGrpo,
            Estimator::ReinforcePpBaseline,
            Estimator::OptimalBaseline,
        ] {
            let err = Advantages::new(estimator, 1, AdvantageOptions::default())
                .expect_err("k = 1 is an error");
            assert_eq!(err, EstimatorError::GroupTooSmall { estimator, k: 1 });
            let msg = err.to_string();
            assert!(
                msg.contains(estimator.name()) && msg.contains("k = 1"),
                "{msg}"
            );
        }
    }

    #[test]
    fn non_group_estimators_accept_k_of_one() {
        for estimator in [
            Estimator::Reinforce,
            Estimator::ReinforceEma,
            Estimator::ReinforcePp,
            Estimator::Remax,
        ] {
            assert!(Advantages::new(estimator, 1, AdvantageOptions::default()).is_ok());
        }
    }

    #[test]
    fn k_of_zero_is_an_empty_group_error_for_every_estimator() {
        for estimator in Estimator::ALL {
            let err = Advantages::new(estimator, 0, AdvantageOptions::default())
                .expect_err("k = 0 is an error");
            assert_eq!(err, EstimatorError::EmptyGroup { estimator });
            assert!(err.to_string().contains(estimator.name()));
        }
    }

    #[test]
    fn empty_reward_list_is_an_error() {
        for estimator in Estimator::ALL {
            let a = Advantages::new(estimator, 2, AdvantageOptions::default()).expect("valid");
            assert_eq!(
                a.advantages(&[]),
                Err(EstimatorError::NoRewards { estimator })
            );
        }
    }

    #[test]
    fn non_finite_reward_is_an_error_naming_estimator_index_and_value() {
        let a = Advantages::new(Estimator::Grpo, 2, AdvantageOptions::default()).expect("valid");
        let err = a.advantages(&[1.0, 2.0, f32::NAN, 0.0]).expect_err("NaN");
        assert!(matches!(
            err,
            EstimatorError::NonFiniteReward { estimator: Estimator::Grpo, index: 2, value } if value.is_nan()
        ));
        let msg = err.to_string();
        assert!(
            msg.contains("grpo") && msg.contains("reward 2") && msg.contains("NaN"),
            "{msg}"
        );
        let mut ema =
            Advantages::new(Estimator::ReinforceEma, 1, AdvantageOptions::default()).expect("ok");
        let err = ema.step(&[f32::INFINITY]).expect_err("inf");
        assert!(err.to_string().contains("inf"), "{err}");
        // A rejected step leaves the baseline as it was.
        assert_eq!(ema.baseline(), 0.0);
    }

    #[test]
    fn ragged_reward_list_is_an_error() {
        let a = Advantages::new(Estimator::Rloo, 3, AdvantageOptions::default()).expect("valid");
        let err = a
            .advantages(&[1.0; 7])
            .expect_err("7 is not a multiple of 3");
        assert_eq!(
            err,
            EstimatorError::RaggedGroups {
                estimator: Estimator::Rloo,
                n: 7,
                k: 3
            }
        );
        assert!(err.to_string().contains("7 rewards"));
    }

    #[test]
    fn reinforce_pp_with_a_single_reward_is_an_error() {
        let a =
            Advantages::new(Estimator::ReinforcePp, 1, AdvantageOptions::default()).expect("ok");
        assert_eq!(
            a.advantages(&[3.0]),
            Err(EstimatorError::BatchTooSmall {
                estimator: Estimator::ReinforcePp,
                n: 1
            })
        );
    }

    #[test]
    fn bad_eps_and_decay_are_errors_naming_the_value() {
        let bad_eps = AdvantageOptions {
            eps: 0.0,
            ..AdvantageOptions::default()
        };
        let err = Advantages::new(Estimator::Grpo, 4, bad_eps).expect_err("eps 0");
        assert_eq!(
            err,
            EstimatorError::BadEps {
                estimator: Estimator::Grpo,
                eps: 0.0
            }
        );
        assert!(err.to_string().contains("grpo") && err.to_string().contains("eps = 0"));
        // eps is irrelevant to rloo, so it is not checked there.
        assert!(Advantages::new(Estimator::Rloo, 4, bad_eps).is_ok());
        let bad_decay = AdvantageOptions {
            ema_decay: 1.0,
            ..AdvantageOptions::default()
        };
        let err = Advantages::new(Estimator::ReinforceEma, 4, bad_decay).expect_err("decay 1");
        assert_eq!(err, EstimatorError::BadEmaDecay { decay: 1.0 });
        assert!(err.to_string().contains("ema_decay = 1"));
    }

    #[test]
    fn estimator_names_match_serde_and_parse_from_toml() {
        #[derive(Deserialize, Serialize)]
        struct Row {
            estimator: Estimator,
        }
        for estimator in Estimator::ALL {
            let text = format!("estimator = \"{}\"\n", estimator.name());
            let row: Row = toml::from_str(&text).expect("parses");
            assert_eq!(row.estimator, estimator);
            assert_eq!(toml::to_string(&Row { estimator }).expect("ok"), text);
            assert_eq!(estimator.to_string(), estimator.name());
        }
        assert!(toml::from_str::<Row>("estimator = \"ppo\"\n").is_err());
    }

    #[test]
    fn advantage_options_default_and_reject_unknown_keys() {
        let o: AdvantageOptions = toml::from_str("eps = 1e-8\n").expect("parses");
        assert_eq!(o.eps, 1e-8);
        assert_eq!(o.ema_decay, 0.9);
        assert!(toml::from_str::<AdvantageOptions>("epsilon = 1e-8\n").is_err());
    }
}
