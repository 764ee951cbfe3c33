//! Exact moments of every estimator's batch gradient, by enumerating the 5⁸ outcomes of a batch
//! with the estimators' formulas written out again in `main.rs` (`advantages`).

use super::*;

/// The exact distribution of one estimator's batch gradient estimate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Moments {
    pub(crate) mean: Vector,
    /// Var(g_j) per coordinate.
    pub(crate) coordinate_var: Vector,
    /// σ² = E‖g − μ‖², what `grad_var` estimates.
    pub(crate) var: f64,
    /// E‖g − μ‖⁴.
    pub(crate) fourth: f64,
}

impl Moments {
    /// The standard error of a sample variance over M independent batches.
    pub(crate) fn var_se(&self, m: usize) -> f64 {
        ((self.fourth - self.var * self.var) / m as f64).sqrt()
    }
}

/// Calls `f(probability, gradient)` for every outcome of a batch.
fn for_each_outcome(
    bandit: &Bandit,
    estimator: Estimator,
    reduction: GroupReduction,
    baseline: f64,
    mut f: impl FnMut(f64, &Vector),
) {
    let pi = softmax(&bandit.logits);
    let norms = score_sqnorms(&pi);
    let greedy_reward = bandit.rewards[greedy(&pi)];
    let scale = loss_scale(reduction);
    let mut actions = [0usize; N];
    loop {
        let prob: f64 = actions.iter().map(|&a| pi[a]).product();
        let rewards: Vec<f64> = actions.iter().map(|&a| bandit.rewards[a]).collect();
        let q: Vec<f64> = actions.iter().map(|&a| norms[a]).collect();
        let adv = advantages(estimator, &rewards, baseline, greedy_reward, &q);
        let mut g = [0.0; ACTIONS];
        for (i, &a) in actions.iter().enumerate() {
            for (j, gj) in g.iter_mut().enumerate() {
                *gj += scale * adv[i] * (f64::from(u8::from(j == a)) - pi[j]);
            }
        }
        f(prob, &g);
        // Next outcome, odometer-style.
        let mut i = 0;
        while i < N {
            actions[i] += 1;
            if actions[i] < ACTIONS {
                break;
            }
            actions[i] = 0;
            i += 1;
        }
        if i == N {
            return;
        }
    }
}

pub(crate) fn exact_moments(
    estimator: Estimator,
    reduction: GroupReduction,
    baseline: f64,
) -> Moments {
    exact_moments_of(&BANDIT, estimator, reduction, baseline)
}

pub(crate) fn exact_moments_of(
    bandit: &Bandit,
    estimator: Estimator,
    reduction: GroupReduction,
    baseline: f64,
) -> Moments {
    let mut mean = [0.0; ACTIONS];
    for_each_outcome(bandit, estimator, reduction, baseline, |p, g| {
        for j in 0..ACTIONS {
            mean[j] += p * g[j];
        }
    });
    let (mut coordinate_var, mut var, mut fourth) = ([0.0; ACTIONS], 0.0, 0.0);
    for_each_outcome(bandit, estimator, reduction, baseline, |p, g| {
        let mut sq = 0.0;
        for j in 0..ACTIONS {
            let d = (g[j] - mean[j]).powi(2);
            coordinate_var[j] += p * d;
            sq += d;
        }
        var += p * sq;
        fourth += p * sq * sq;
    });
    Moments {
        mean,
        coordinate_var,
        var,
        fourth,
    }
}
