//! Per-run statistics: the first stage of every number the report gives. The run is the unit of
//! replication (its steps and probes share weights and are not independent), so each statistic
//! is computed once per run here and only then summarised across runs with a 95 % interval
//! (`pglab_estimator::stats`).

use crate::record::FINAL_WINDOW;

/// The area under a run's reward-vs-generations curve by the trapezoid rule, divided by the
/// generations it spans, so it reads as the run's mean reward over training (weighting each
/// stretch of training by the samples it cost, not by its number of steps). None for fewer
/// than two steps (no curve), a zero span, or a non-finite reward.
pub fn auc(rewards: &[(u64, f64)]) -> Option<f64> {
    let (&(first, _), &(last, _)) = (rewards.first()?, rewards.last()?);
    if last <= first {
        return None;
    }
    let area: f64 = rewards
        .windows(2)
        .map(|w| {
            let ((g0, r0), (g1, r1)) = (w[0], w[1]);
            (g1 as f64 - g0 as f64) * (r0 + r1) / 2.0
        })
        .sum();
    let mean = area / (last - first) as f64;
    mean.is_finite().then_some(mean)
}

/// The mean of the values logged in the run's last [`FINAL_WINDOW`] steps, as the run's final
/// reward is (steps without a value are left out); None when none of them has one.
pub fn final_window_mean(values: &[Option<f64>]) -> Option<f64> {
    let tail = &values[values.len().saturating_sub(FINAL_WINDOW)..];
    finite_mean(tail.iter().flatten().copied())
}

/// The mean of the finite values; None when there is none. A non-finite value (an undefined
/// SNR or cosine at one probe) says nothing about the others, so it is left out rather than
/// turning the run's mean into NaN.
pub fn finite_mean(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_is_the_trapezoid_area_over_the_span() {
        // Steps at 8, 16, 32 generations with rewards 0, 4, 4: area 8·2 + 16·4 = 80 over a span
        // of 24 → 10/3. The long last stretch weighs twice the first.
        let auc = auc(&[(8, 0.0), (16, 4.0), (32, 4.0)]).unwrap();
        assert!((auc - 80.0 / 24.0).abs() < 1e-12, "{auc}");
        // A constant curve's mean is the constant.
        assert_eq!(super::auc(&[(8, 3.0), (16, 3.0)]), Some(3.0));
        assert_eq!(super::auc(&[(8, 3.0)]), None);
        assert_eq!(super::auc(&[]), None);
        assert_eq!(super::auc(&[(8, 3.0), (16, f64::NAN)]), None);
    }

    #[test]
    fn the_final_window_is_the_last_steps_with_a_value() {
        assert_eq!(FINAL_WINDOW, 5);
        // Six steps: the first is outside the window. 2, 2, 4, 4 → 3 (one step without a value).
        let kl = [
            Some(100.0),
            Some(2.0),
            None,
            Some(2.0),
            Some(4.0),
            Some(4.0),
        ];
        assert_eq!(final_window_mean(&kl), Some(3.0));
        assert_eq!(final_window_mean(&[None, None]), None);
        assert_eq!(final_window_mean(&[]), None);
    }

    #[test]
    fn finite_mean_leaves_out_undefined_values() {
        assert_eq!(
            finite_mean([1.0, f64::INFINITY, -3.0, f64::NAN]),
            Some(-1.0)
        );
        assert_eq!(finite_mean([f64::NAN]), None);
    }
}
