//! The objectives: what a step minimises once a batch may be used for more than one update.
//!
//! [`policy_loss`](crate::policy_loss) weighs each sequence's log-prob by its advantage: right
//! for the batch's first update, when the policy is the one that sampled it. After an update the
//! batch is off-policy, and the objectives RL-for-LLM work trains with correct by the importance
//! ratio ρ_t = π_θ(y_t)/π_old(y_t) of each token and keep it near 1 by clipping:
//!
//! - `ppo_clip`: per token −min(ρ_t·A, clip(ρ_t, 1 − ε_low, 1 + ε_high)·A). Where the clipped
//!   term is the smaller, it is a constant, so the token's gradient is dropped: a token whose
//!   ratio has already moved past the clip in the advantage's direction moves no further.
//!   ε_high > ε_low is DAPO's "clip-higher".
//! - `gspo`: one ratio per sequence, s_i = exp(mean_t log ρ_t), clipped like PPO's but whole
//!   sequences at a time (Zheng et al. 2025, "Group Sequence Policy Optimization").
//! - `cispo`: −sg(clip(ρ_t, 1 − ε_low, 1 + ε_high))·A·log π_θ(y_t): the clipped ratio is a
//!   weight without gradient, so no token's gradient is ever dropped, only bounded (MiniMax-M1,
//!   2025).
//!
//! Every objective comes out in the same form: a weight w_{i,t} = ∂L/∂log π_θ(y_{i,t}) per token,
//! w_{i,t} = w_i·g_{i,t}, where w_i = −c_i·A_i/D is `policy_loss`'s weight (the token and group
//! reductions) and g_{i,t} the objective's factor: 1 (policy gradient), ρ_t or 0 (PPO), s_i or 0
//! (GSPO), clip(ρ_t) (CISPO). The model crate's backward pass takes those weights, so every
//! objective goes through the one policy-gradient path. At ρ = 1 (a batch's first update) every
//! g is 1 and each objective's step is exactly the policy gradient's; GSPO's with
//! `token_reduction = "mean"`, which its sequence ratio assumes.
//!
//! The loss value reported is Σ w_{i,t}·log π_θ(y_{i,t}): the surrogate whose gradient is the
//! objective's, so that it equals `policy_loss`'s value at ρ = 1 and the objectives' losses
//! compare. (PPO's clipped surrogate itself is −Σ c_i·A_i·min(…)/D, which at ρ = 1 is −Σ c_i·A_i
//! n_i/D, a number no other objective shares.)

use serde::{Deserialize, Serialize};

use crate::loss::loss_weights;
use crate::{EstimatorError, LossOptions};

const CONTEXT: &str = "objective";

/// What a step minimises (`train.objective`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// −A·log π: one update per batch, no off-policy correction (the default).
    #[default]
    PolicyGradient,
    PpoClip,
    Gspo,
    Cispo,
}

impl Objective {
    /// Its name as the experiment file writes it.
    pub fn name(self) -> &'static str {
        match self {
            Objective::PolicyGradient => "policy_gradient",
            Objective::PpoClip => "ppo_clip",
            Objective::Gspo => "gspo",
            Objective::Cispo => "cispo",
        }
    }

    /// Whether it corrects for a batch sampled by an earlier policy (every one but the plain
    /// policy gradient), and so may use a batch for several updates.
    pub fn corrects_off_policy(self) -> bool {
        self != Objective::PolicyGradient
    }
}

/// The clip range [1 − `low`, 1 + `high`] of the ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipRange {
    pub low: f64,
    pub high: f64,
}

impl ClipRange {
    /// `low` in (0, 1) (a ratio cannot fall to 0 or below) and `high` finite and > 0.
    ///
    /// # Errors
    /// [`EstimatorError::BadClip`] naming the key at fault.
    pub fn check(self, objective: Objective) -> Result<(), EstimatorError> {
        let bad = |key, value, range| EstimatorError::BadClip {
            objective: objective.name(),
            key,
            value,
            range,
        };
        if !(self.low > 0.0 && self.low < 1.0) {
            return Err(bad("clip_low", self.low, "in (0, 1)"));
        }
        if !(self.high.is_finite() && self.high > 0.0) {
            return Err(bad("clip_high", self.high, "finite and > 0"));
        }
        Ok(())
    }

    fn clamp(self, ratio: f64) -> f64 {
        ratio.clamp(1.0 - self.low, 1.0 + self.high)
    }
}

/// The loss of one update as per-token weights.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenLoss {
    /// Σ_{i,t} w_{i,t}·log π_θ(y_{i,t}), accumulated in f64.
    pub value: f64,
    /// w_{i,t} = ∂L/∂log π_θ(y_{i,t}): one vector per sequence, one entry per counted token.
    pub weights: Vec<Vec<f32>>,
    pub ratios: RatioStats,
}

/// The importance ratios of an update, summed so that updates and minibatches add up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioStats {
    /// Tokens counted.
    pub tokens: usize,
    /// Tokens clipped below 1 − ε_low: for PPO and GSPO those with A < 0, whose gradient is
    /// dropped; for CISPO every one, whose weight is raised to the bound.
    pub clipped_low: usize,
    /// The same above 1 + ε_high (A > 0 for PPO and GSPO).
    pub clipped_high: usize,
    /// Σ of the objective's ratio per token (GSPO's s_i for each token of sequence i).
    pub ratio_sum: f64,
    pub ratio_min: f64,
    pub ratio_max: f64,
    /// Σ_t (ρ_t − 1) − log ρ_t: the k3 estimate of KL(π_old ‖ π_θ), per token, ≥ 0.
    pub approx_kl_sum: f64,
}

impl Default for RatioStats {
    fn default() -> Self {
        Self {
            tokens: 0,
            clipped_low: 0,
            clipped_high: 0,
            ratio_sum: 0.0,
            ratio_min: f64::INFINITY,
            ratio_max: f64::NEG_INFINITY,
            approx_kl_sum: 0.0,
        }
    }
}

impl RatioStats {
    /// Both updates' tokens together.
    pub fn merge(&mut self, other: &RatioStats) {
        self.tokens += other.tokens;
        self.clipped_low += other.clipped_low;
        self.clipped_high += other.clipped_high;
        self.ratio_sum += other.ratio_sum;
        self.ratio_min = self.ratio_min.min(other.ratio_min);
        self.ratio_max = self.ratio_max.max(other.ratio_max);
        self.approx_kl_sum += other.approx_kl_sum;
    }

    fn per_token(&self, sum: f64) -> f64 {
        match self.tokens {
            0 => f64::NAN,
            n => sum / n as f64,
        }
    }

    /// The share of tokens clipped below (NaN with no tokens).
    pub fn clip_low_frac(&self) -> f64 {
        self.per_token(self.clipped_low as f64)
    }

    pub fn clip_high_frac(&self) -> f64 {
        self.per_token(self.clipped_high as f64)
    }

    pub fn ratio_mean(&self) -> f64 {
        self.per_token(self.ratio_sum)
    }

    /// Mean k3 KL estimate per token.
    pub fn approx_kl(&self) -> f64 {
        self.per_token(self.approx_kl_sum)
    }

    fn count(&mut self, ratio: f64, log_ratio: f64) {
        self.tokens += 1;
        self.ratio_sum += ratio;
        self.ratio_min = self.ratio_min.min(ratio);
        self.ratio_max = self.ratio_max.max(ratio);
        self.approx_kl_sum += log_ratio.exp_m1() - log_ratio;
    }
}

/// The loss of one update of `objective` as per-token weights of log π_θ (see the module's
/// header).
///
/// # Shapes
/// - `logp`, `logp_old`: one vector per sequence, the log-probs of its counted tokens under
///   the current policy and under the policy that sampled it, the same tokens in the same order
/// - `advantages`: one per sequence; N sequences in all, prompt-major, groups of k
///
/// # Errors
/// Those of [`policy_loss`](crate::policy_loss);
/// [`EstimatorError::BadClip`] for a clip range that is not one;
/// [`EstimatorError::TokenCountMismatch`] when a sequence's two vectors differ in length;
/// [`EstimatorError::NonFinite`] for a NaN or infinite log-prob.
pub fn token_loss(
    objective: Objective,
    clip: ClipRange,
    logp: &[Vec<f32>],
    logp_old: &[Vec<f32>],
    advantages: &[f32],
    k: usize,
    options: &LossOptions,
) -> Result<TokenLoss, EstimatorError> {
    clip.check(objective)?;
    EstimatorError::check_len(CONTEXT, "logp_old", logp_old.len(), logp.len())?;
    EstimatorError::check_len(CONTEXT, "advantages", advantages.len(), logp.len())?;
    let n_tokens: Vec<usize> = logp.iter().map(Vec::len).collect();
    let sequence_weights = loss_weights(&n_tokens, advantages, k, options)?;
    let mut ratios = RatioStats::default();
    let mut weights = Vec::with_capacity(logp.len());
    let mut value = 0.0;
    for (i, (new, old)) in logp.iter().zip(logp_old).enumerate() {
        if old.len() != new.len() {
            return Err(EstimatorError::TokenCountMismatch {
                context: CONTEXT,
                index: i,
                got: old.len(),
                expected: new.len(),
            });
        }
        let log_ratios = log_ratios(i, new, old)?;
        let factors = factors(objective, clip, advantages[i], &log_ratios, &mut ratios);
        let w = f64::from(sequence_weights[i]);
        let row: Vec<f32> = factors.iter().map(|g| (w * g) as f32).collect();
        value += row
            .iter()
            .zip(new)
            .map(|(&w, &l)| f64::from(w) * f64::from(l))
            .sum::<f64>();
        weights.push(row);
    }
    Ok(TokenLoss {
        value,
        weights,
        ratios,
    })
}

/// log ρ_t = log π_θ(y_t) − log π_old(y_t) of sequence `index`, in f64.
fn log_ratios(index: usize, new: &[f32], old: &[f32]) -> Result<Vec<f64>, EstimatorError> {
    let non_finite = |what, value| EstimatorError::NonFinite {
        context: CONTEXT,
        what,
        index,
        value,
    };
    new.iter()
        .zip(old)
        .map(|(&n, &o)| match (n.is_finite(), o.is_finite()) {
            (false, _) => Err(non_finite("logp", n)),
            (_, false) => Err(non_finite("logp_old", o)),
            _ => Ok(f64::from(n) - f64::from(o)),
        })
        .collect()
}

/// g_t of one sequence with advantage `a`, counting its ratios into `stats`.
fn factors(
    objective: Objective,
    clip: ClipRange,
    a: f32,
    log_ratios: &[f64],
    stats: &mut RatioStats,
) -> Vec<f64> {
    let (below, above) = (1.0 - clip.low, 1.0 + clip.high);
    // PPO's and GSPO's rule: the clipped term is the min where the ratio has passed the bound
    // in the direction the advantage pushes it; there the gradient is dropped.
    let ppo = |ratio: f64, stats: &mut RatioStats| {
        if a > 0.0 && ratio > above {
            stats.clipped_high += 1;
            0.0
        } else if a < 0.0 && ratio < below {
            stats.clipped_low += 1;
            0.0
        } else {
            ratio
        }
    };
    match objective {
        Objective::Gspo => {
            let n = log_ratios.len().max(1) as f64;
            let s = (log_ratios.iter().sum::<f64>() / n).exp();
            log_ratios
                .iter()
                .map(|&l| {
                    stats.count(s, l);
                    ppo(s, stats)
                })
                .collect()
        }
        _ => log_ratios
            .iter()
            .map(|&l| {
                let ratio = l.exp();
                stats.count(ratio, l);
                match objective {
                    Objective::PolicyGradient => 1.0,
                    Objective::PpoClip => ppo(ratio, stats),
                    _ => {
                        if ratio < below {
                            stats.clipped_low += 1;
                        } else if ratio > above {
                            stats.clipped_high += 1;
                        }
                        clip.clamp(ratio)
                    }
                }
            })
            .collect(),
    }
}

#[cfg(test)]
#[path = "objective_tests.rs"]
mod tests;
