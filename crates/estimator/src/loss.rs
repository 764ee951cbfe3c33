//! The policy-gradient loss: per-sequence log-probs and advantages in, one scalar out.

use serde::{Deserialize, Serialize};

use crate::EstimatorError;

const CONTEXT: &str = "policy_loss";

/// How a sequence's token log-probs become its ℓ_i = c_i·s_i (s_i the sum of its n_i token
/// log-probs). The four are the aggregation modes of the RL frameworks (TRL's `loss_type`, verl's
/// `loss_agg_mode`; the README maps the names); they differ in how a long completion weighs
/// against a short one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenReduction {
    /// c_i = 1: the sequence's log-probability (the default).
    #[default]
    Sum,
    /// c_i = 1/n_i: the mean over its own tokens, i.e. minus the mean token cross-entropy (the
    /// reference chapter's and GRPO's choice: a long completion's tokens each weigh less).
    Mean,
    /// c_i = N/Σ_j n_j: every token of the batch weighs the same, so that the loss over the N
    /// sequences is the mean over all the batch's tokens (DAPO's token-level mean).
    BatchMean,
    /// c_i = 1/`max_new_tokens`: the sum over the sequence divided by a constant (Dr. GRPO's),
    /// so no sequence's length rescales its tokens.
    MaxTokens,
}

impl TokenReduction {
    /// Every reduction, in the order the README lists them.
    pub const ALL: [TokenReduction; 4] = [
        TokenReduction::Sum,
        TokenReduction::Mean,
        TokenReduction::BatchMean,
        TokenReduction::MaxTokens,
    ];

    /// Its name as the experiment file writes it.
    pub fn name(self) -> &'static str {
        match self {
            TokenReduction::Sum => "sum",
            TokenReduction::Mean => "mean",
            TokenReduction::BatchMean => "batch_mean",
            TokenReduction::MaxTokens => "max_tokens",
        }
    }

    /// c_i = ∂ℓ_i/∂s_i for every sequence of a batch whose sequences count `n_tokens` tokens,
    /// `max_new_tokens` the sampling budget (used by `MaxTokens` only). A sequence with no
    /// tokens has no gradient, and gets 0 under `Mean`; a batch with no tokens at all gets 0
    /// under `BatchMean`.
    pub fn scales(self, n_tokens: &[usize], max_new_tokens: usize) -> Vec<f64> {
        self.divisors(n_tokens, max_new_tokens)
            .into_iter()
            .map(|d| if d == 0.0 { 0.0 } else { 1.0 / d })
            .collect()
    }

    /// 1/c_i (0 where c_i is 0): the loss divides by these, so that `Sum` and `Mean` weigh
    /// exactly as they did before the batch-level reductions existed.
    pub(crate) fn divisors(self, n_tokens: &[usize], max_new_tokens: usize) -> Vec<f64> {
        let total: usize = n_tokens.iter().sum();
        n_tokens
            .iter()
            .map(|&n| match self {
                TokenReduction::Sum => 1.0,
                TokenReduction::Mean => n as f64,
                TokenReduction::BatchMean => total as f64 / n_tokens.len() as f64,
                TokenReduction::MaxTokens => max_new_tokens.max(1) as f64,
            })
            .collect()
    }

    /// Whether a sequence with no tokens leaves ℓ_i undefined (a mean over nothing).
    fn needs_tokens(self) -> bool {
        matches!(self, TokenReduction::Mean)
    }
}

/// How the N per-sequence terms are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupReduction {
    /// Mean over all N = P·k sequences: L = −(1/N) Σ_i A_i ℓ_i (the default).
    #[default]
    Mean,
    /// Sum within each prompt's group, mean over the P prompts: L = −(1/P) Σ_i A_i ℓ_i. With one
    /// prompt this sums the k losses before the step, as the reference chapter's RLOO does; it
    /// is k times the `Mean` loss.
    Sum,
}

/// The loss's options, as a user writes them (each key optional, unknown keys rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LossOptions {
    /// How each sequence's token log-probs are reduced.
    pub token_reduction: TokenReduction,
    /// Mean over all sequences, or sum within groups and mean over prompts.
    pub group_reduction: GroupReduction,
    /// The sampling budget `MaxTokens` divides by: `sampling.max_new_tokens`, not a loss key.
    #[serde(skip)]
    pub max_new_tokens: usize,
}

/// The policy-gradient loss of one step: its value, and its gradient with respect to each
/// sequence's summed log-prob, which is all the backward pass needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyLoss {
    /// L = Σ_i w_i s_i, accumulated in f64.
    pub value: f64,
    /// w_i = ∂L/∂s_i = −A_i / (D·n_i), one per sequence, in batch order.
    pub weights: Vec<f32>,
}

/// The scalar policy-gradient loss of one step:
///
/// L = −(1/D) Σ_i A_i ℓ_i,  ℓ_i = c_i·s_i ([`TokenReduction::scales`]: 1, 1/n_i, N/Σ_j n_j or
/// 1/max_new_tokens),
///
/// with s_i = `seq_logp[i]` the summed log-probs of sequence i's counted tokens, n_i =
/// `n_tokens[i]` their number, A_i = `advantages[i]` (constants: no gradient flows through
/// them) and D = N for `GroupReduction::Mean`, P = N/k for `GroupReduction::Sum`.
///
/// L is linear in the s_i, so it is returned as its value and its weights w_i = ∂L/∂s_i =
/// −c_i·A_i / D: the gradient of L with respect to the weights of a model is Σ_i w_i ∇s_i,
/// which a log-prob pass cut into shards computes shard by shard (`pglab_model::shard`).
/// Minimising L with SGD moves the weights by +lr·A_i·∇ℓ_i/D, so a completion with a positive
/// advantage becomes more likely.
///
/// # Shapes
/// - `seq_logp`, `n_tokens`, `advantages`: N entries each, the same order (prompt-major)
///
/// # Errors
/// [`EstimatorError::LengthMismatch`] if the inputs disagree on N,
/// [`EstimatorError::NoSequences`] for N = 0, [`EstimatorError::UnevenGroups`] if N is not a
/// positive multiple of k, [`EstimatorError::NonFinite`] for a NaN or infinite advantage,
/// [`EstimatorError::NoTokens`] for n_i = 0 under `TokenReduction::Mean`.
pub fn policy_loss(
    seq_logp: &[f32],
    n_tokens: &[usize],
    advantages: &[f32],
    k: usize,
    options: &LossOptions,
) -> Result<PolicyLoss, EstimatorError> {
    EstimatorError::check_len(CONTEXT, "advantages", advantages.len(), seq_logp.len())?;
    let weights = loss_weights(n_tokens, advantages, k, options)?;
    let value = weights
        .iter()
        .zip(seq_logp)
        .map(|(&w, &s)| f64::from(w) * f64::from(s))
        .sum();
    Ok(PolicyLoss { value, weights })
}

/// w_i = −c_i·A_i / D, after checking the inputs.
pub(crate) fn loss_weights(
    n_tokens: &[usize],
    advantages: &[f32],
    k: usize,
    options: &LossOptions,
) -> Result<Vec<f32>, EstimatorError> {
    let n = advantages.len();
    EstimatorError::check_len(CONTEXT, "n_tokens", n_tokens.len(), n)?;
    if n == 0 {
        return Err(EstimatorError::NoSequences { context: CONTEXT });
    }
    if k == 0 || !n.is_multiple_of(k) {
        return Err(EstimatorError::UnevenGroups {
            context: CONTEXT,
            n,
            k,
        });
    }
    if let Some((index, &value)) = advantages.iter().enumerate().find(|(_, a)| !a.is_finite()) {
        return Err(EstimatorError::NonFinite {
            context: CONTEXT,
            what: "advantages",
            index,
            value,
        });
    }
    let denominator = match options.group_reduction {
        GroupReduction::Mean => n as f64,
        GroupReduction::Sum => (n / k) as f64,
    };
    if options.token_reduction.needs_tokens()
        && let Some(index) = n_tokens.iter().position(|&t| t == 0)
    {
        return Err(EstimatorError::NoTokens {
            context: CONTEXT,
            index,
        });
    }
    let divisors = options
        .token_reduction
        .divisors(n_tokens, options.max_new_tokens);
    let weights = advantages
        .iter()
        .zip(divisors)
        .map(|(&a, d)| {
            if d == 0.0 {
                0.0
            } else {
                (-f64::from(a) / (denominator * d)) as f32
            }
        })
        .collect();
    Ok(weights)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(token: TokenReduction, group: GroupReduction) -> LossOptions {
        LossOptions {
            token_reduction: token,
            group_reduction: group,
            max_new_tokens: 8,
        }
    }

    // Two prompts, k = 2: summed log-probs s = (−1, −2, −3, −4) over n = (1, 2, 3, 4) tokens,
    // advantages A = (1, −1, 2, 0.5).
    const S: [f32; 4] = [-1.0, -2.0, -3.0, -4.0];
    const N_TOKENS: [usize; 4] = [1, 2, 3, 4];
    const A: [f32; 4] = [1.0, -1.0, 2.0, 0.5];

    /// The loss value and ∂L/∂s for the fixed example.
    fn loss_and_grad(options: &LossOptions) -> (f32, Vec<f32>) {
        let loss = policy_loss(&S, &N_TOKENS, &A, 2, options).expect("valid inputs");
        (loss.value as f32, loss.weights)
    }

    fn assert_close(got: &[f32], want: &[f32]) {
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= 1e-6 * w.abs().max(1.0),
                "{got:?} vs {want:?}"
            );
        }
        assert_eq!(got.len(), want.len());
    }

    #[test]
    fn sum_tokens_mean_groups_is_minus_mean_of_advantage_times_log_prob() {
        // Σ A s = −1 + 2 − 6 − 2 = −7, so L = −(−7)/4 = 1.75; ∂L/∂s_i = −A_i/4.
        let (loss, grad) = loss_and_grad(&options(TokenReduction::Sum, GroupReduction::Mean));
        assert_close(&[loss], &[1.75]);
        assert_close(&grad, &[-0.25, 0.25, -0.5, -0.125]);
    }

    #[test]
    fn group_sum_divides_by_prompts_not_sequences() {
        // P = 2: L = 7/2 = 3.5; ∂L/∂s_i = −A_i/2.
        let (loss, grad) = loss_and_grad(&options(TokenReduction::Sum, GroupReduction::Sum));
        assert_close(&[loss], &[3.5]);
        assert_close(&grad, &[-0.5, 0.5, -1.0, -0.25]);
    }

    #[test]
    fn token_mean_divides_each_log_prob_by_its_token_count() {
        // ℓ = s/n = (−1, −1, −1, −1); Σ A ℓ = −(1 − 1 + 2 + 0.5) = −2.5.
        // Mean over N = 4: L = 0.625; ∂L/∂s_i = −A_i/(4 n_i) = (−1/4, 1/8, −1/6, −1/32).
        let (loss, grad) = loss_and_grad(&options(TokenReduction::Mean, GroupReduction::Mean));
        assert_close(&[loss], &[0.625]);
        assert_close(&grad, &[-0.25, 0.125, -1.0 / 6.0, -0.031_25]);
        // Sum within groups, mean over P = 2 (the reference chapter's form): L = 1.25.
        let (loss, grad) = loss_and_grad(&options(TokenReduction::Mean, GroupReduction::Sum));
        assert_close(&[loss], &[1.25]);
        assert_close(&grad, &[-0.5, 0.25, -1.0 / 3.0, -0.0625]);
    }

    #[test]
    fn batch_mean_weighs_every_token_of_the_batch_alike() {
        // Σ n = 10 tokens: L = −(1/10) Σ A s = 0.7, whatever the group reduction's D would
        // have been (c_i = N/Σn = 0.4, D = 4); ∂L/∂s_i = −A_i/10.
        let (loss, grad) = loss_and_grad(&options(TokenReduction::BatchMean, GroupReduction::Mean));
        assert_close(&[loss], &[0.7]);
        assert_close(&grad, &[-0.1, 0.1, -0.2, -0.05]);
        // Summed within groups (D = P = 2): k = 2 times that.
        let (loss, _) = loss_and_grad(&options(TokenReduction::BatchMean, GroupReduction::Sum));
        assert_close(&[loss], &[1.4]);
    }

    #[test]
    fn max_tokens_divides_every_sequence_by_the_sampling_budget() {
        // max_new_tokens = 8: L = −(1/4)(1/8) Σ A s = 7/32; ∂L/∂s_i = −A_i/32, the same divisor
        // for a 1-token and a 4-token completion.
        let (loss, grad) = loss_and_grad(&options(TokenReduction::MaxTokens, GroupReduction::Mean));
        assert_close(&[loss], &[7.0 / 32.0]);
        assert_close(&grad, &[-0.031_25, 0.031_25, -0.0625, -0.015_625]);
        assert_eq!(
            TokenReduction::MaxTokens.scales(&[1, 4], 8),
            vec![0.125, 0.125]
        );
        assert_eq!(TokenReduction::BatchMean.scales(&[1, 3], 8), vec![0.5, 0.5]);
        assert_eq!(TokenReduction::Mean.scales(&[0, 4], 8), vec![0.0, 0.25]);
        assert_eq!(TokenReduction::BatchMean.scales(&[0, 0], 8), vec![0.0, 0.0]);
    }

    #[test]
    fn sgd_on_the_loss_makes_a_positive_advantage_completion_more_likely() {
        // A 3-action softmax policy with equal logits θ; action 0 was sampled with A = +1 and
        // action 1 with A = −1. With s_i = log π(a_i), ∂s_i/∂θ_j = [j = a_i] − π_j, so
        // ∂L/∂θ = Σ_i w_i (e_{a_i} − π). One SGD step θ ← θ − lr·∂L/∂θ must raise π(0) and
        // lower π(1).
        let pi = [1.0 / 3.0; 3];
        let actions = [0usize, 1];
        let s: Vec<f32> = actions.iter().map(|&a| (pi[a] as f32).ln()).collect();
        let loss = policy_loss(&s, &[1, 1], &[1.0, -1.0], 2, &LossOptions::default())
            .expect("valid inputs");
        let grad: Vec<f64> = (0..3)
            .map(|j| {
                actions
                    .iter()
                    .zip(&loss.weights)
                    .map(|(&a, &w)| f64::from(w) * (f64::from(u8::from(j == a)) - pi[j]))
                    .sum()
            })
            .collect();
        let lr = 0.5;
        let stepped: Vec<f64> = grad.iter().map(|g| -lr * g).collect();
        let z: f64 = stepped.iter().map(|t| t.exp()).sum();
        let after: Vec<f64> = stepped.iter().map(|t| t.exp() / z).collect();
        let before = 1.0 / 3.0;
        assert!(
            after[0] > before + 1e-3,
            "π(0) went {before} → {}",
            after[0]
        );
        assert!(
            after[1] < before - 1e-3,
            "π(1) went {before} → {}",
            after[1]
        );
    }

    #[test]
    fn mismatched_lengths_are_errors_naming_the_input() {
        let err = policy_loss(&S, &N_TOKENS, &A[..3], 2, &LossOptions::default())
            .expect_err("3 advantages for 4 sequences");
        assert_eq!(
            err,
            EstimatorError::LengthMismatch {
                context: CONTEXT,
                what: "advantages",
                got: 3,
                expected: 4
            }
        );
        assert!(
            err.to_string()
                .contains("advantages has 3 entries, expected 4")
        );
        assert!(policy_loss(&S, &[1], &A, 2, &LossOptions::default()).is_err());
    }

    #[test]
    fn uneven_groups_and_empty_batches_are_errors() {
        let err = policy_loss(&S, &N_TOKENS, &A, 3, &LossOptions::default())
            .expect_err("4 is not a multiple of 3");
        assert_eq!(
            err,
            EstimatorError::UnevenGroups {
                context: CONTEXT,
                n: 4,
                k: 3
            }
        );
        assert!(policy_loss(&S, &N_TOKENS, &A, 0, &LossOptions::default()).is_err());
        assert_eq!(
            policy_loss(&[], &[], &[], 1, &LossOptions::default()).expect_err("empty"),
            EstimatorError::NoSequences { context: CONTEXT }
        );
    }

    #[test]
    fn non_finite_advantage_is_an_error_naming_it() {
        let err = policy_loss(
            &S,
            &N_TOKENS,
            &[1.0, f32::NAN, 0.0, 0.0],
            2,
            &LossOptions::default(),
        )
        .expect_err("NaN advantage");
        assert!(err.to_string().contains("advantages[1] is NaN"), "{err}");
    }

    #[test]
    fn zero_tokens_under_mean_reduction_is_an_error() {
        let err = policy_loss(
            &S,
            &[1, 2, 0, 4],
            &A,
            2,
            &options(TokenReduction::Mean, GroupReduction::Mean),
        )
        .expect_err("zero tokens");
        assert_eq!(
            err,
            EstimatorError::NoTokens {
                context: CONTEXT,
                index: 2
            }
        );
        // Under Sum the count is not used, so 0 is fine.
        assert!(policy_loss(&S, &[1, 2, 0, 4], &A, 2, &LossOptions::default()).is_ok());
    }

    #[test]
    fn loss_options_parse_from_toml_with_defaults() {
        let o: LossOptions = toml::from_str("token_reduction = \"mean\"\n").expect("parses");
        assert_eq!(o.token_reduction, TokenReduction::Mean);
        assert_eq!(o.group_reduction, GroupReduction::Mean);
        // Which tokens a sequence's ℓ_i sums (`train.loss_includes_prompt`) is the log-prob
        // pass's business, not the loss's.
        assert!(toml::from_str::<LossOptions>("loss_includes_prompt = true\n").is_err());
        assert!(toml::from_str::<LossOptions>("group_reduction = \"max\"\n").is_err());
        for reduction in TokenReduction::ALL {
            let text = format!("token_reduction = \"{}\"\n", reduction.name());
            let o: LossOptions = toml::from_str(&text).expect("parses");
            assert_eq!(o.token_reduction, reduction);
        }
        assert!(toml::from_str::<LossOptions>("reduction = \"sum\"\n").is_err());
    }
}
