//! Summary statistics, the one place pglab computes them: mean, Bessel-corrected standard
//! deviation, a Student-t 95 % confidence interval for the mean, and medians. Used for a step's
//! rewards, the estimators' standardisation, pretraining's reward check and the report's
//! statistics over seeds, so every one of them means the same thing by "std".

/// The arithmetic mean, accumulated in f64 (f32 inputs are widened exactly); NaN for no values.
pub fn mean<T: Copy + Into<f64>>(values: &[T]) -> f64 {
    values.iter().map(|&v| v.into()).sum::<f64>() / values.len() as f64
}

/// The Bessel-corrected sample standard deviation, sqrt(Σ (x − x̄)² / (n − 1)); NaN for fewer
/// than two values, where it is undefined.
pub fn sample_std<T: Copy + Into<f64>>(values: &[T]) -> f64 {
    let n = values.len();
    if n < 2 {
        return f64::NAN;
    }
    let mean = mean(values);
    let squares: f64 = values.iter().map(|&v| (v.into() - mean).powi(2)).sum();
    (squares / (n - 1) as f64).sqrt()
}

/// Mean and spread of a handful of values (one per seed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator); NaN when n < 2.
    pub std: f64,
    /// Half-width of the 95 % confidence interval of the mean, t₀.₉₇₅(n − 1) · std / √n; NaN
    /// when n < 2.
    pub ci95: f64,
}

/// The mean and spread of `values`, or None when there are none.
pub fn spread(values: &[f64]) -> Option<Spread> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let std = sample_std(values);
    let ci95 = if n < 2 {
        f64::NAN
    } else {
        t95(n - 1) * std / (n as f64).sqrt()
    };
    Some(Spread {
        n,
        mean: mean(values),
        std,
        ci95,
    })
}

/// The 0.975 quantile of Student's t distribution with `df` degrees of freedom: exact to the
/// printed digits up to 30 (the table every statistics book prints; seeds rarely number more),
/// then the Cornish–Fisher expansion around the normal quantile, within 1e-5 there. A table
/// rather than a statistics crate: this is the one quantile pglab needs.
///
/// # Panics
/// For `df = 0`, where the distribution is undefined; callers ask only with n ≥ 2 values.
pub fn t95(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157,
        2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922,
        2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831,
        2.048407, 2.045230, 2.042272,
    ];
    assert!(df >= 1, "t95: degrees of freedom must be at least 1");
    if df <= TABLE.len() {
        return TABLE[df - 1];
    }
    let (z, v) = (1.959963984540054_f64, df as f64);
    z + (z.powi(3) + z) / (4.0 * v)
        + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * v * v)
        + (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / (384.0 * v.powi(3))
}

/// The median of the finite `values` (the mean of the middle two for an even count).
pub fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut sorted: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_std_by_hand() {
        // 1, 2, 3, 6: mean 3; squared deviations 4 + 1 + 0 + 9 = 14, /3, std √(14/3).
        assert_eq!(mean(&[1.0, 2.0, 3.0, 6.0]), 3.0);
        assert!((sample_std(&[1.0, 2.0, 3.0, 6.0]) - (14.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!(sample_std(&[4.0]).is_nan() && mean::<f64>(&[]).is_nan());
        assert_eq!(mean(&[0.5f32, 1.5]), 1.0);
    }

    #[test]
    fn spread_of_three_values_by_hand() {
        // 10, 12, 14: mean 12; squared deviations 4 + 0 + 4 = 8, /2 = 4, std 2;
        // CI half-width 4.302653 · 2 / √3 = 4.968275.
        let s = spread(&[10.0, 12.0, 14.0]).unwrap();
        assert_eq!((s.n, s.mean, s.std), (3, 12.0, 2.0));
        assert!((s.ci95 - 4.968275).abs() < 1e-6, "{}", s.ci95);
    }

    #[test]
    fn one_value_has_a_mean_and_no_spread() {
        let s = spread(&[7.5]).unwrap();
        assert_eq!(s.mean, 7.5);
        assert!(s.std.is_nan() && s.ci95.is_nan());
        assert_eq!(spread(&[]), None);
    }

    #[test]
    fn t_quantiles_match_scipy() {
        // scipy.stats.t.ppf(0.975, df) for df = 1, 4, 30, 31, 60, 1000.
        let reference = [
            (1, 12.706204736),
            (4, 2.776445105),
            (30, 2.042272456),
            (31, 2.039513446),
            (60, 2.000297822),
            (1000, 1.962339081),
        ];
        for (df, t) in reference {
            assert!((t95(df) - t).abs() < 2e-5, "df {df}: {} vs {t}", t95(df));
        }
        // Decreasing towards the normal quantile.
        assert!(t95(31) < t95(30) && t95(10_000) > 1.959963);
    }

    #[test]
    fn medians_skip_non_finite_values() {
        assert_eq!(median([3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median([4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median([f64::NAN, 5.0, f64::INFINITY]), Some(5.0));
        assert_eq!(median([f64::NAN]), None);
    }
}
