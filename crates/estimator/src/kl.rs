//! KL reward shaping: subtract β times each sequence's KL estimate against a frozen reference
//! model from its reward, before the estimator sees it.

use crate::{EstimatorError, TokenReduction};

const CONTEXT: &str = "KL reward shaping";

/// Per-sequence KL estimates from per-sequence summed log-probs of the sampled tokens:
///
/// KL_i = Σ_t (log π(y_t) − log π_ref(y_t)) = policy_logp_i − reference_logp_i
///
/// with `TokenReduction::Sum`, and KL_i / n_tokens_i with `TokenReduction::Mean` (what the
/// reference book's KL chapters do): in general c_i·KL_i with the loss's own c_i
/// ([`TokenReduction::scales`]; `max_new_tokens` is `MaxTokens`'s divisor). The sum runs over the same tokens as the log-probs given
/// (the completion's, normally); `n_tokens` counts them. Plain numbers: no gradient flows
/// through this term.
///
/// # Errors
/// [`EstimatorError::LengthMismatch`] if the slices differ in length,
/// [`EstimatorError::NonFinite`] for a NaN or infinite log-prob,
/// [`EstimatorError::NoTokens`] for a zero count under `Mean`.
pub fn kl_estimates(
    policy_logp: &[f32],
    reference_logp: &[f32],
    n_tokens: &[usize],
    reduction: TokenReduction,
    max_new_tokens: usize,
) -> Result<Vec<f32>, EstimatorError> {
    let n = policy_logp.len();
    EstimatorError::check_len(CONTEXT, "reference_logp", reference_logp.len(), n)?;
    EstimatorError::check_len(CONTEXT, "n_tokens", n_tokens.len(), n)?;
    check_finite("policy_logp", policy_logp)?;
    check_finite("reference_logp", reference_logp)?;
    let divisors = reduction.divisors(n_tokens, max_new_tokens);
    (0..n)
        .map(|i| {
            let kl = f64::from(policy_logp[i]) - f64::from(reference_logp[i]);
            match reduction {
                TokenReduction::Sum => Ok(kl as f32),
                TokenReduction::Mean if n_tokens[i] == 0 => Err(EstimatorError::NoTokens {
                    context: CONTEXT,
                    index: i,
                }),
                _ if divisors[i] == 0.0 => Ok(0.0),
                _ => Ok((kl / divisors[i]) as f32),
            }
        })
        .collect()
}

/// Rewards shaped by the KL penalty: r'_i = r_i − β·KL_i, with β = `kl_coef` ≥ 0 (β = 0 leaves
/// the rewards unchanged).
///
/// # Errors
/// [`EstimatorError::BadKlCoef`] for a negative or non-finite β,
/// [`EstimatorError::LengthMismatch`] if `kl` and `rewards` differ in length,
/// [`EstimatorError::NonFinite`] for a NaN or infinite reward or KL.
pub fn shape_rewards(
    rewards: &[f32],
    kl: &[f32],
    kl_coef: f32,
) -> Result<Vec<f32>, EstimatorError> {
    if !(kl_coef.is_finite() && kl_coef >= 0.0) {
        return Err(EstimatorError::BadKlCoef { kl_coef });
    }
    EstimatorError::check_len(CONTEXT, "kl", kl.len(), rewards.len())?;
    check_finite("rewards", rewards)?;
    check_finite("kl", kl)?;
    Ok(rewards
        .iter()
        .zip(kl)
        .map(|(&r, &d)| (f64::from(r) - f64::from(kl_coef) * f64::from(d)) as f32)
        .collect())
}

fn check_finite(what: &'static str, values: &[f32]) -> Result<(), EstimatorError> {
    match values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((index, &value)) => Err(EstimatorError::NonFinite {
            context: CONTEXT,
            what,
            index,
            value,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kl_is_the_difference_of_summed_log_probs() {
        // Sequence 0: Σ log π = −2, Σ log π_ref = −3 → KL 1; sequence 1: −5 vs −4.5 → −0.5.
        let kl = kl_estimates(
            &[-2.0, -5.0],
            &[-3.0, -4.5],
            &[4, 2],
            TokenReduction::Sum,
            8,
        )
        .expect("valid");
        assert_eq!(kl, vec![1.0, -0.5]);
    }

    #[test]
    fn mean_reduction_divides_kl_by_token_count() {
        let kl = kl_estimates(
            &[-2.0, -5.0],
            &[-3.0, -4.5],
            &[4, 2],
            TokenReduction::Mean,
            8,
        )
        .expect("valid");
        assert_eq!(kl, vec![0.25, -0.25]);
        // The batch's mean over tokens: 6 tokens over 2 sequences, so each KL_i / 3.
        let kl = kl_estimates(
            &[-2.0, -5.0],
            &[-3.0, -4.5],
            &[4, 2],
            TokenReduction::BatchMean,
            8,
        )
        .expect("valid");
        assert_eq!(kl, vec![1.0 / 3.0, -0.5 / 3.0]);
        // Over the sampling budget: KL_i / 8.
        let kl = kl_estimates(
            &[-2.0, -5.0],
            &[-3.0, -4.5],
            &[4, 2],
            TokenReduction::MaxTokens,
            8,
        )
        .expect("valid");
        assert_eq!(kl, vec![0.125, -0.0625]);
    }

    #[test]
    fn shaped_reward_subtracts_beta_times_kl() {
        // 3 − 0.5·1 = 2.5; 1 − 0.5·(−0.5) = 1.25.
        let shaped = shape_rewards(&[3.0, 1.0], &[1.0, -0.5], 0.5).expect("valid");
        assert_eq!(shaped, vec![2.5, 1.25]);
    }

    #[test]
    fn zero_kl_coef_leaves_rewards_unchanged() {
        let shaped = shape_rewards(&[3.0, -1.0], &[10.0, -7.0], 0.0).expect("valid");
        assert_eq!(shaped, vec![3.0, -1.0]);
    }

    #[test]
    fn negative_or_nan_kl_coef_is_an_error_naming_it() {
        let err = shape_rewards(&[1.0], &[0.0], -0.1).expect_err("negative β");
        assert_eq!(err, EstimatorError::BadKlCoef { kl_coef: -0.1 });
        assert!(err.to_string().contains("kl_coef = -0.1"), "{err}");
        assert!(shape_rewards(&[1.0], &[0.0], f32::NAN).is_err());
    }

    #[test]
    fn mismatched_lengths_are_errors() {
        let err = shape_rewards(&[1.0, 2.0], &[0.0], 0.1).expect_err("lengths");
        assert_eq!(
            err,
            EstimatorError::LengthMismatch {
                context: CONTEXT,
                what: "kl",
                got: 1,
                expected: 2
            }
        );
        assert!(kl_estimates(&[1.0], &[1.0, 2.0], &[1], TokenReduction::Sum, 8).is_err());
        assert!(kl_estimates(&[1.0], &[1.0], &[], TokenReduction::Sum, 8).is_err());
    }

    #[test]
    fn zero_tokens_under_mean_reduction_is_an_error() {
        let err = kl_estimates(&[0.0, 0.0], &[0.0, 0.0], &[3, 0], TokenReduction::Mean, 8)
            .expect_err("0");
        assert_eq!(
            err,
            EstimatorError::NoTokens {
                context: CONTEXT,
                index: 1
            }
        );
    }

    #[test]
    fn non_finite_log_prob_is_an_error_naming_it() {
        let err = kl_estimates(
            &[0.0, f32::NEG_INFINITY],
            &[0.0, 0.0],
            &[1, 1],
            TokenReduction::Sum,
            8,
        )
        .expect_err("−inf");
        assert!(err.to_string().contains("policy_logp[1] is -inf"), "{err}");
    }
}
