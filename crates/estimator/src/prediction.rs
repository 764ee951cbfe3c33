//! How much of a variance ratio the rewards' first two moments explain: the ratio of an
//! unbiased estimator's one-batch gradient variance to RLOO's, predicted as if each reward were
//! independent of its sequence's score function ∇log p (docs/variance_prediction.md derives it).
//!
//! With g = (1/N) Σ_i A_i s_i, E[s] = 0, and A_i independent of every s_j, the cross terms
//! vanish and Var(g) ∝ Σ_i E[A_i²]·E‖s‖². For rewards of mean μ and variance σ²:
//! - REINFORCE, A_i = r_i: E[A²] = σ² + μ²;
//! - a fixed baseline b (reinforce_ema's EMA at the probe), A_i = r_i − b: σ² + (μ − b)²;
//! - RLOO, A_i = r_i − mean of the group's k − 1 others: σ²·k/(k − 1);
//! - reinforce_mean, A_i = r_i − mean of the other prompts' N − k rewards: σ²·(1 + 1/(N − k)).
//!
//! So REINFORCE ÷ RLOO = (1 + μ²/σ²)·(k − 1)/k: an offset of the rewards alone makes REINFORCE's
//! variance large, and any baseline near μ removes most of it; reinforce_mean ÷ RLOO =
//! (1 + 1/(N − k))·(k − 1)/k does not depend on the rewards at all (15/16 at P = 2, k = 4). The
//! moments are those of all the probe's rewards, as if every prompt's completions earned rewards
//! from one distribution: prompts whose mean rewards differ add to REINFORCE's and
//! reinforce_mean's variance and not to RLOO's, which the prediction does not see. Where the measured ratio parts
//! from this prediction, rewards and score functions are not independent (the samples that
//! earn more are the ones the gradient pushes), and the prediction says by how much.

use crate::Estimator;

/// The predicted ratio of `estimator`'s gradient variance to RLOO's, for rewards of mean `mean`
/// and population variance `variance` in `prompts` groups of `k`; `baseline` is reinforce_ema's
/// baseline at the time. None where no prediction is derived (remax's greedy baseline and
/// optimal_baseline's weights depend on the samples' gradients; the biased estimators have no
/// ratio at all), or where it is undefined (σ² = 0, k < 2, or reinforce_mean with one prompt).
pub fn predicted_ratio_to_rloo(
    estimator: Estimator,
    mean: f64,
    variance: f64,
    k: usize,
    prompts: usize,
    baseline: f64,
) -> Option<f64> {
    if !(variance > 0.0 && variance.is_finite() && mean.is_finite()) || k < 2 {
        return None;
    }
    let others = (prompts.saturating_sub(1) * k) as f64;
    let rloo = variance * k as f64 / (k - 1) as f64;
    let second_moment = match estimator {
        Estimator::Reinforce => variance + mean * mean,
        Estimator::ReinforceEma => variance + (mean - baseline).powi(2),
        Estimator::ReinforceMean if others > 0.0 => variance * (1.0 + 1.0 / others),
        Estimator::ReinforceMean => return None,
        Estimator::Rloo => rloo,
        Estimator::Remax
        | Estimator::OptimalBaseline
        | Estimator::Grpo
        | Estimator::DrGrpo
        | Estimator::ReinforcePp
        | Estimator::ReinforcePpBaseline => return None,
    };
    Some(second_moment / rloo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AdvantageOptions, Advantages, GroupReduction, LossOptions, policy_loss};

    /// A two-armed softmax policy (π = 0.3, 0.7) whose reward does not depend on the arm: r is
    /// 10 with probability 0.6 and 14 with 0.4 (μ = 11.6, σ² = 3.84), whatever was sampled, for
    /// every prompt. Every outcome of a step of `prompts` groups of k samples (arm and reward of
    /// each) is enumerated, and each estimator's exact gradient variance computed through the
    /// crate's advantages and loss.
    fn exact_variance(estimator: Estimator, k: usize, prompts: usize) -> f64 {
        let pi = [0.3, 0.7];
        let rewards = [(10.0, 0.6), (14.0, 0.4)];
        let advantages = Advantages::new(estimator, k, AdvantageOptions::default()).unwrap();
        let n = k * prompts;
        let outcomes = 4usize.pow(n as u32);
        let mut moments = Vec::with_capacity(outcomes);
        for code in 0..outcomes {
            let pick: Vec<(usize, usize)> = (0..n)
                .map(|i| ((code >> (2 * i)) & 1, (code >> (2 * i + 1)) & 1))
                .collect();
            let p: f64 = pick.iter().map(|&(a, r)| pi[a] * rewards[r].1).product();
            let r: Vec<f32> = pick.iter().map(|&(_, r)| rewards[r].0 as f32).collect();
            let adv = advantages.advantages(&r).unwrap();
            let loss = policy_loss(
                &vec![0.0; n],
                &vec![1; n],
                &adv,
                k,
                &LossOptions {
                    group_reduction: GroupReduction::Mean,
                    ..LossOptions::default()
                },
            )
            .unwrap();
            // g = −Σ w_i (e_{a_i} − π), per coordinate.
            let mut g = [0.0f64; 2];
            for (&(a, _), &w) in pick.iter().zip(&loss.weights) {
                for (j, gj) in g.iter_mut().enumerate() {
                    *gj -= f64::from(w) * (f64::from(u8::from(j == a)) - pi[j]);
                }
            }
            moments.push((p, g));
        }
        let mean: Vec<f64> = (0..2)
            .map(|j| moments.iter().map(|(p, g)| p * g[j]).sum())
            .collect();
        moments
            .iter()
            .map(|(p, g)| p * (0..2).map(|j| (g[j] - mean[j]).powi(2)).sum::<f64>())
            .sum()
    }

    #[test]
    fn independent_rewards_give_exactly_the_predicted_ratio() {
        let (mu, var) = (0.6 * 10.0 + 0.4 * 14.0, 0.6 * 0.4 * 16.0);
        assert!((mu - 11.6f64).abs() < 1e-12 && (var - 3.84f64).abs() < 1e-12);
        for k in [2, 3, 4] {
            let rloo = exact_variance(Estimator::Rloo, k, 1);
            let reinforce = exact_variance(Estimator::Reinforce, k, 1);
            let predicted =
                predicted_ratio_to_rloo(Estimator::Reinforce, mu, var, k, 1, 0.0).unwrap();
            // (1 + 11.6²/3.84)·(k − 1)/k: 18.02 at k = 2, 24.02 at k = 3, 27.03 at k = 4. Exact
            // but for the advantages' and weights' rounding to f32.
            assert!(
                (reinforce / rloo - predicted).abs() < 1e-5 * predicted,
                "k = {k}: exact {} vs predicted {predicted}",
                reinforce / rloo
            );
            assert!((predicted - (1.0 + mu * mu / var) * (k - 1) as f64 / k as f64).abs() < 1e-12);
        }
    }

    #[test]
    fn the_other_prompts_mean_gives_exactly_its_predicted_ratio() {
        let (mu, var) = (11.6, 3.84);
        for (k, prompts) in [(2, 2), (2, 3), (3, 2)] {
            let rloo = exact_variance(Estimator::Rloo, k, prompts);
            let mean = exact_variance(Estimator::ReinforceMean, k, prompts);
            let predicted =
                predicted_ratio_to_rloo(Estimator::ReinforceMean, mu, var, k, prompts, 0.0)
                    .unwrap();
            // (1 + 1/(N − k))·(k − 1)/k, worked by hand: 0.75 for P = 2, k = 2 (N − k = 2);
            // 0.625 for P = 3, k = 2 (N − k = 4); 8/9 for P = 2, k = 3 (N − k = 3).
            let by_hand = match (k, prompts) {
                (2, 2) => 0.75,
                (2, 3) => 0.625,
                _ => 8.0 / 9.0,
            };
            assert!(
                (predicted - by_hand).abs() < 1e-12,
                "{k}, {prompts}: {predicted}"
            );
            assert!(
                (mean / rloo - predicted).abs() < 1e-5 * predicted,
                "k = {k}, P = {prompts}: exact {} vs predicted {predicted}",
                mean / rloo
            );
        }
        assert_eq!(
            predicted_ratio_to_rloo(Estimator::ReinforceMean, mu, var, 4, 1, 0.0),
            None
        );
    }

    #[test]
    fn a_baseline_at_the_mean_leaves_only_rloo_s_group_factor() {
        // b = μ: (1 + 0)·(k − 1)/k, below 1: a fixed baseline at the true mean beats RLOO's
        // estimate of it from k − 1 samples.
        let r = predicted_ratio_to_rloo(Estimator::ReinforceEma, 11.6, 3.84, 4, 1, 11.6).unwrap();
        assert!((r - 0.75).abs() < 1e-12);
        assert_eq!(
            predicted_ratio_to_rloo(Estimator::Rloo, 11.6, 3.84, 4, 1, 0.0),
            Some(1.0)
        );
        assert_eq!(
            predicted_ratio_to_rloo(Estimator::Reinforce, 12.0, 0.0, 4, 1, 0.0),
            None
        );
        assert_eq!(
            predicted_ratio_to_rloo(Estimator::Remax, 12.0, 1.0, 4, 1, 0.0),
            None
        );
    }
}
