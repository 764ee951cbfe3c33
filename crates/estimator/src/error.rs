//! `EstimatorError`: bad configuration or inputs for advantages, the loss and the statistics.

use crate::Estimator;

/// Everything that can go wrong in this crate. Each message names the estimator (or the
/// function) and the value at fault; none of these is ever turned into a silent zero.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EstimatorError {
    /// k = 0 completions per prompt: there is nothing to estimate from.
    #[error("estimator `{estimator}`: k = 0 completions per prompt; each group needs at least one")]
    EmptyGroup {
        /// The estimator being configured.
        estimator: Estimator,
    },
    /// A group estimator with k < 2: its baseline would be undefined (or its advantages all 0).
    #[error(
        "estimator `{estimator}` needs k >= 2 completions per prompt (it compares each completion with the rest of its group), got k = {k}"
    )]
    GroupTooSmall {
        /// The group estimator.
        estimator: Estimator,
        /// The k given.
        k: usize,
    },
    /// No rewards were given for a step.
    #[error("estimator `{estimator}`: the reward list is empty")]
    NoRewards {
        /// The estimator.
        estimator: Estimator,
    },
    /// The number of rewards is not a multiple of k.
    #[error(
        "estimator `{estimator}`: {n} rewards do not split into groups of k = {k} completions per prompt"
    )]
    RaggedGroups {
        /// The estimator.
        estimator: Estimator,
        /// Number of rewards given.
        n: usize,
        /// Completions per prompt.
        k: usize,
    },
    /// A batch-normalised estimator got fewer than two rewards, so its std is undefined.
    #[error(
        "estimator `{estimator}` normalises by the batch std and needs at least 2 rewards per step, got {n}"
    )]
    BatchTooSmall {
        /// The estimator.
        estimator: Estimator,
        /// Number of rewards given.
        n: usize,
    },
    /// `reinforce_mean` with a single prompt per step: no other prompt to take a baseline from.
    #[error(
        "estimator `{estimator}` takes each completion's baseline from the other prompts of the step and needs at least 2 prompts per step, got {prompts}"
    )]
    TooFewPrompts {
        /// The estimator.
        estimator: Estimator,
        /// Prompts per step given.
        prompts: usize,
    },
    /// A reward is NaN or infinite.
    #[error("estimator `{estimator}`: reward {index} is {value}, not a finite number")]
    NonFiniteReward {
        /// The estimator.
        estimator: Estimator,
        /// Position of the reward in the step's list.
        index: usize,
        /// The reward.
        value: f32,
    },
    /// `remax` without greedy rewards, or `optimal_baseline` without gradient norms.
    #[error(
        "estimator `{estimator}`: its baseline needs {input}, and none were given (a caller bug: the runner computes them for this estimator)"
    )]
    MissingInput {
        /// The estimator.
        estimator: Estimator,
        /// The input it needs.
        input: &'static str,
    },
    /// ε must be finite and positive (it keeps a zero-std group from dividing by zero).
    #[error("estimator `{estimator}`: eps = {eps} must be finite and > 0")]
    BadEps {
        /// The estimator.
        estimator: Estimator,
        /// The ε given.
        eps: f32,
    },
    /// The EMA decay must lie in [0, 1).
    #[error("estimator `reinforce_ema`: ema_decay = {decay} must be in [0, 1)")]
    BadEmaDecay {
        /// The decay given.
        decay: f32,
    },
    /// The KL coefficient must be finite and non-negative.
    #[error("KL reward shaping: kl_coef = {kl_coef} must be finite and >= 0")]
    BadKlCoef {
        /// The β given.
        kl_coef: f32,
    },
    /// Two per-sequence inputs differ in length.
    #[error("{context}: {what} has {got} entries, expected {expected} (one per sequence)")]
    LengthMismatch {
        /// The function that received them.
        context: &'static str,
        /// The mismatched input.
        what: &'static str,
        /// Its length.
        got: usize,
        /// The length it should have.
        expected: usize,
    },
    /// No sequences at all.
    #[error("{context}: no sequences (N = 0)")]
    NoSequences {
        /// The function that received them.
        context: &'static str,
    },
    /// N sequences do not split into groups of k.
    #[error("{context}: {n} sequences do not split into groups of k = {k} completions per prompt")]
    UnevenGroups {
        /// The function that received them.
        context: &'static str,
        /// Number of sequences.
        n: usize,
        /// Completions per prompt.
        k: usize,
    },
    /// A per-sequence value is NaN or infinite.
    #[error("{context}: {what}[{index}] is {value}, not a finite number")]
    NonFinite {
        /// The function that received it.
        context: &'static str,
        /// The input it belongs to.
        what: &'static str,
        /// Position of the sequence.
        index: usize,
        /// The value.
        value: f32,
    },
    /// A squared gradient norm below zero.
    #[error("{context}: score_sqnorms[{index}] is {value}; a squared norm cannot be negative")]
    NegativeSqnorm {
        /// The function that received it.
        context: &'static str,
        /// Position of the sequence.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A sequence with zero tokens under a mean-over-tokens reduction.
    #[error(
        "{context}: sequence {index} has 0 tokens, so its mean over tokens (token_reduction = \"mean\") is undefined"
    )]
    NoTokens {
        /// The function that received it.
        context: &'static str,
        /// Position of the sequence.
        index: usize,
    },
    /// A clip range that is not one: `clip_low` outside (0, 1), `clip_high` not finite and > 0.
    #[error("objective `{objective}`: {key} = {value} must be {range}")]
    BadClip {
        /// The objective being configured (its serde name).
        objective: &'static str,
        /// `clip_low` or `clip_high`.
        key: &'static str,
        /// The value given.
        value: f64,
        /// What it must be.
        range: &'static str,
    },
    /// A sequence's current and old log-probs cover different numbers of tokens.
    #[error(
        "{context}: sequence {index} has {got} old log-probs for {expected} tokens (π_old must score the same tokens)"
    )]
    TokenCountMismatch {
        /// The function that received them.
        context: &'static str,
        /// Position of the sequence.
        index: usize,
        /// Old log-probs given.
        got: usize,
        /// Tokens of the current pass.
        expected: usize,
    },
    /// A gradient vector's length differs from the statistics' dimension.
    #[error("gradient statistics: gradient has {got} coordinates, expected {expected}")]
    DimensionMismatch {
        /// Expected number of coordinates.
        expected: usize,
        /// Coordinates given.
        got: usize,
    },
    /// A gradient coordinate is NaN or infinite.
    #[error("gradient statistics: coordinate {index} of batch {batch} is {value}, not finite")]
    NonFiniteGradient {
        /// 0-based batch index within the probe.
        batch: usize,
        /// Coordinate index.
        index: usize,
        /// The value.
        value: f32,
    },
    /// A statistic needs more batches than were pushed.
    #[error("gradient statistics: {statistic} needs at least {needed} batches, got {got}")]
    TooFewBatches {
        /// The statistic asked for.
        statistic: &'static str,
        /// Batches it needs.
        needed: usize,
        /// Batches pushed.
        got: usize,
    },
}

impl EstimatorError {
    /// `Ok` when an input of `what` has the `expected` length, else `LengthMismatch`.
    pub(crate) fn check_len(
        context: &'static str,
        what: &'static str,
        got: usize,
        expected: usize,
    ) -> Result<(), Self> {
        if got == expected {
            Ok(())
        } else {
            Err(Self::LengthMismatch {
                context,
                what,
                got,
                expected,
            })
        }
    }
}
