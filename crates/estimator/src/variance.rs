//! Gradient-variance statistics: a streaming (Welford) accumulator over the M flattened
//! gradients one estimator produced in a probe, and the figures the report draws from it.

use crate::EstimatorError;

/// Streaming mean and scatter of M gradient vectors ĝ_1 … ĝ_M of one estimator, in
/// O(parameters) memory (Welford's algorithm, in f64):
///
/// - ḡ = (1/M) Σ_m ĝ_m (the mean gradient),
/// - `grad_var` = (1/(M−1)) Σ_m ‖ĝ_m − ḡ‖², the trace of the covariance of a one-batch estimate,
/// - `grad_mean_sqnorm` = ‖ḡ‖²,
/// - `snr` = (‖ḡ‖² − grad_var/M) / grad_var (‖ḡ‖² less its expected noise, over the noise of
///   one batch). Not clipped at 0: it is an estimate, negative when the mean is mostly noise,
///   and averaging estimates clipped at 0 would bias the average upwards.
///
/// The direction of single batches against a reference is [`cosine`].
#[derive(Debug, Clone, PartialEq)]
pub struct GradStats {
    count: usize,
    mean: Vec<f64>,
    /// Σ_m (ĝ_m − ḡ)² per coordinate (Welford's M2).
    scatter: Vec<f64>,
}

impl GradStats {
    /// An empty accumulator for gradients of `dim` coordinates.
    pub fn new(dim: usize) -> Self {
        Self {
            count: 0,
            mean: vec![0.0; dim],
            scatter: vec![0.0; dim],
        }
    }

    /// Number of coordinates.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// M, the number of gradients pushed.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Adds one batch's flattened gradient.
    ///
    /// # Errors
    /// [`EstimatorError::DimensionMismatch`] if its length is not [`dim`](Self::dim),
    /// [`EstimatorError::NonFiniteGradient`] for a NaN or infinite coordinate. On error the
    /// accumulator is unchanged.
    pub fn push(&mut self, gradient: &[f32]) -> Result<(), EstimatorError> {
        if gradient.len() != self.dim() {
            return Err(EstimatorError::DimensionMismatch {
                expected: self.dim(),
                got: gradient.len(),
            });
        }
        if let Some((index, &value)) = gradient.iter().enumerate().find(|(_, g)| !g.is_finite()) {
            return Err(EstimatorError::NonFiniteGradient {
                batch: self.count,
                index,
                value,
            });
        }
        self.count += 1;
        let m = self.count as f64;
        for ((mean, scatter), &g) in self.mean.iter_mut().zip(&mut self.scatter).zip(gradient) {
            let g = f64::from(g);
            let delta = g - *mean;
            *mean += delta / m;
            *scatter += delta * (g - *mean);
        }
        Ok(())
    }

    /// ḡ, the mean gradient (all zeros before the first push).
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// The per-coordinate sample variance (1/(M−1)) Σ_m (ĝ_{m,j} − ḡ_j)².
    ///
    /// # Errors
    /// [`EstimatorError::TooFewBatches`] if M < 2.
    pub fn coordinate_variance(&self) -> Result<Vec<f64>, EstimatorError> {
        let denominator = self.bessel("coordinate_variance")?;
        Ok(self.scatter.iter().map(|s| s / denominator).collect())
    }

    /// `grad_var` = (1/(M−1)) Σ_m ‖ĝ_m − ḡ‖².
    ///
    /// # Errors
    /// [`EstimatorError::TooFewBatches`] if M < 2.
    pub fn grad_var(&self) -> Result<f64, EstimatorError> {
        let denominator = self.bessel("grad_var")?;
        Ok(self.scatter.iter().sum::<f64>() / denominator)
    }

    /// `grad_mean_sqnorm` = ‖ḡ‖².
    ///
    /// # Errors
    /// [`EstimatorError::TooFewBatches`] if M < 1.
    pub fn grad_mean_sqnorm(&self) -> Result<f64, EstimatorError> {
        if self.count == 0 {
            return Err(EstimatorError::TooFewBatches {
                statistic: "grad_mean_sqnorm",
                needed: 1,
                got: 0,
            });
        }
        Ok(self.mean.iter().map(|x| x * x).sum())
    }

    /// `snr` = (‖ḡ‖² − grad_var/M) / grad_var, unclipped. When `grad_var` is 0 (every batch
    /// gave the same gradient) it is +∞ if ‖ḡ‖² > 0, and undefined (NaN) if the gradient is
    /// zero too: 0/0, as RLOO's is when every group's rewards are equal. Writing that as 0 made
    /// a sweep's mean SNR an artefact of how many runs had saturated.
    ///
    /// # Errors
    /// [`EstimatorError::TooFewBatches`] if M < 2.
    pub fn snr(&self) -> Result<f64, EstimatorError> {
        let var = self.grad_var()?;
        let sqnorm = self.grad_mean_sqnorm()?;
        Ok(if var > 0.0 {
            (sqnorm - var / self.count as f64) / var
        } else if sqnorm > 0.0 {
            f64::INFINITY
        } else {
            f64::NAN
        })
    }

    fn bessel(&self, statistic: &'static str) -> Result<f64, EstimatorError> {
        if self.count < 2 {
            return Err(EstimatorError::TooFewBatches {
                statistic,
                needed: 2,
                got: self.count,
            });
        }
        Ok(self.count as f64 - 1.0)
    }
}

/// ⟨a, b⟩ / (‖a‖ ‖b‖), in f64; NaN when either vector is zero (no direction) or their lengths
/// differ.
pub fn cosine(a: &[f32], b: &[f64]) -> f64 {
    if a.len() != b.len() {
        return f64::NAN;
    }
    let (mut dot, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let x = f64::from(x);
        dot += x * y;
        aa += x * x;
        bb += y * y;
    }
    dot / (aa.sqrt() * bb.sqrt())
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    /// M random gradients of `dim` coordinates with a non-zero mean and uneven scales.
    fn random_gradients(m: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..m)
            .map(|_| {
                (0..dim)
                    .map(|j| 100.0 + j as f32 + (1.0 + j as f32) * rng.random_range(-1.0..1.0))
                    .collect()
            })
            .collect()
    }

    fn accumulate(gradients: &[Vec<f32>]) -> GradStats {
        let mut stats = GradStats::new(gradients[0].len());
        for g in gradients {
            stats.push(g).expect("valid gradient");
        }
        stats
    }

    /// Two-pass mean and (1/(M−1)) Σ ‖g − ḡ‖², the textbook way.
    fn two_pass(gradients: &[Vec<f32>]) -> (Vec<f64>, f64) {
        let m = gradients.len() as f64;
        let dim = gradients[0].len();
        let mean: Vec<f64> = (0..dim)
            .map(|j| gradients.iter().map(|g| f64::from(g[j])).sum::<f64>() / m)
            .collect();
        let scatter: f64 = gradients
            .iter()
            .map(|g| {
                g.iter()
                    .zip(&mean)
                    .map(|(&x, mu)| (f64::from(x) - mu).powi(2))
                    .sum::<f64>()
            })
            .sum();
        (mean, scatter / (m - 1.0))
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
    }

    #[test]
    fn welford_mean_and_grad_var_match_a_two_pass_computation() {
        for (m, dim, seed) in [(2, 3, 1), (17, 8, 2), (500, 40, 3)] {
            let gradients = random_gradients(m, dim, seed);
            let stats = accumulate(&gradients);
            let (mean, var) = two_pass(&gradients);
            assert_eq!(stats.count(), m);
            for (a, b) in stats.mean().iter().zip(&mean) {
                assert!(close(*a, *b, 1e-12), "mean {a} vs {b}");
            }
            let got = stats.grad_var().expect("M >= 2");
            assert!(close(got, var, 1e-9), "grad_var {got} vs {var}");
            let sqnorm: f64 = mean.iter().map(|x| x * x).sum();
            let got_sq = stats.grad_mean_sqnorm().expect("M >= 1");
            assert!(close(got_sq, sqnorm, 1e-12), "{got_sq} vs {sqnorm}");
            let snr = (sqnorm - var / m as f64).max(0.0) / var;
            assert!(close(stats.snr().expect("M >= 2"), snr, 1e-9));
            let coord: f64 = stats.coordinate_variance().expect("M >= 2").iter().sum();
            assert!(close(coord, var, 1e-9));
        }
    }

    #[test]
    fn grad_var_of_two_hand_picked_gradients() {
        // ĝ_1 = (1, 2), ĝ_2 = (3, 6): ḡ = (2, 4); deviations (∓1, ∓2), each ‖·‖² = 5;
        // grad_var = (5 + 5)/1 = 10; ‖ḡ‖² = 20; snr = (20 − 10/2)/10 = 1.5.
        let stats = accumulate(&[vec![1.0, 2.0], vec![3.0, 6.0]]);
        assert_eq!(stats.mean(), &[2.0, 4.0]);
        assert_eq!(stats.grad_var(), Ok(10.0));
        assert_eq!(stats.grad_mean_sqnorm(), Ok(20.0));
        assert_eq!(stats.snr(), Ok(1.5));
        assert_eq!(stats.coordinate_variance(), Ok(vec![2.0, 8.0]));
    }

    #[test]
    fn snr_is_negative_when_the_mean_is_noise() {
        // ĝ = (1), (−1): ḡ = 0, grad_var = 2, (0 − 2/2) / 2 = −0.5, not clipped.
        let stats = accumulate(&[vec![1.0], vec![-1.0]]);
        assert_eq!(stats.snr(), Ok(-0.5));
    }

    #[test]
    fn snr_of_identical_gradients_is_infinite_or_undefined() {
        assert_eq!(
            accumulate(&[vec![1.0, 0.0], vec![1.0, 0.0]]).snr(),
            Ok(f64::INFINITY)
        );
        // A zero gradient in every batch: 0/0.
        assert!(accumulate(&[vec![0.0], vec![0.0]]).snr().unwrap().is_nan());
    }

    #[test]
    fn cosine_of_hand_picked_vectors() {
        assert!(close(cosine(&[1.0, 1.0], &[2.0, 2.0]), 1.0, 1e-12));
        assert!(close(cosine(&[1.0, 1.0], &[-3.0, -3.0]), -1.0, 1e-12));
        assert!(cosine(&[1.0, 1.0], &[1.0, -1.0]).abs() < 1e-12);
        // (1,1)·(1,0) / (√2 · 1) = 1/√2.
        assert!(close(
            cosine(&[1.0, 1.0], &[1.0, 0.0]),
            std::f64::consts::FRAC_1_SQRT_2,
            1e-12
        ));
        assert!(cosine(&[1.0, 1.0], &[0.0, 0.0]).is_nan());
        assert!(cosine(&[0.0, 0.0], &[1.0, 0.0]).is_nan());
        assert!(cosine(&[1.0], &[1.0, 0.0]).is_nan());
    }

    #[test]
    fn statistics_need_enough_batches() {
        let mut stats = GradStats::new(2);
        assert!(stats.grad_mean_sqnorm().is_err());
        stats.push(&[1.0, 1.0]).expect("ok");
        let err = stats.grad_var().expect_err("one batch");
        assert_eq!(
            err,
            EstimatorError::TooFewBatches {
                statistic: "grad_var",
                needed: 2,
                got: 1
            }
        );
        assert!(
            err.to_string()
                .contains("grad_var needs at least 2 batches, got 1")
        );
        assert!(stats.snr().is_err());
    }

    #[test]
    fn wrong_length_or_non_finite_gradients_are_rejected_and_not_counted() {
        let mut stats = GradStats::new(3);
        assert_eq!(
            stats.push(&[1.0, 2.0]),
            Err(EstimatorError::DimensionMismatch {
                expected: 3,
                got: 2
            })
        );
        let err = stats.push(&[1.0, f32::NAN, 0.0]).expect_err("NaN");
        assert!(
            err.to_string().contains("coordinate 1 of batch 0 is NaN"),
            "{err}"
        );
        assert_eq!(stats.count(), 0);
        assert_eq!(stats.mean(), &[0.0; 3]);
    }
}
