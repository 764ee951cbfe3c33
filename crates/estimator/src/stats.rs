//! Summary statistics, the one place pglab computes them: mean, Bessel-corrected standard
//! deviation, a Student-t 95 % confidence interval for the mean (and its geometric form for
//! ratios), the Wilson 95 % interval of a proportion, and medians. Used for a step's rewards,
//! the estimators' standardisation, pretraining's reward check and the report's statistics over
//! seeds, so every one of them means the same thing by "std" and by "95 % interval".

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

impl Spread {
    /// The 95 % t-interval of the mean, (mean − ci95, mean + ci95); None when n < 2 (no
    /// interval from one value).
    pub fn interval(&self) -> Option<(f64, f64)> {
        (self.n >= 2).then_some((self.mean - self.ci95, self.mean + self.ci95))
    }
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

/// The geometric mean of positive values (ratios) and its 95 % interval: the t-interval of the
/// mean of their natural logs, mapped back by exp. A ratio and its reciprocal get reciprocal
/// intervals, which an arithmetic mean of ratios would not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeometricSpread {
    pub n: usize,
    /// exp(mean of ln v).
    pub mean: f64,
    /// exp(mean of ln v ∓ its t-interval half-width); None when n < 2.
    pub interval: Option<(f64, f64)>,
}

/// The geometric mean and 95 % interval of `values`; None when there are none or one is not
/// positive and finite (its log is undefined: callers leave such values out, and say so).
pub fn geometric_spread(values: &[f64]) -> Option<GeometricSpread> {
    if values.iter().any(|&v| !(v > 0.0 && v.is_finite())) {
        return None;
    }
    let logs: Vec<f64> = values.iter().map(|v| v.ln()).collect();
    let s = spread(&logs)?;
    Some(GeometricSpread {
        n: s.n,
        mean: s.mean.exp(),
        interval: s.interval().map(|(lo, hi)| (lo.exp(), hi.exp())),
    })
}

/// The 0.975 quantile of the standard normal distribution.
pub const Z95: f64 = 1.959963984540054;

/// The Wilson score 95 % interval of a proportion, `successes` out of `n` trials:
/// (p̂ + z²/2n ∓ z·√(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n). Unlike p̂ ∓ z·√(p̂(1 − p̂)/n) it stays
/// within [0, 1] and does not collapse to a point at 0/n or n/n, which a handful of seeds often
/// gives. None for n = 0.
///
/// # Panics
/// When `successes > n`.
pub fn wilson95(successes: usize, n: usize) -> Option<(f64, f64)> {
    assert!(successes <= n, "wilson95: {successes} successes out of {n}");
    if n == 0 {
        return None;
    }
    let (k, n, z2) = (successes as f64, n as f64, Z95 * Z95);
    let p = k / n;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    // At 0/n the lower end is exactly 0 and at n/n the upper exactly 1; rounding can put them a
    // hair to either side (0/3 gave 5.55e-17, which the report printed).
    let lower = if successes == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let upper = if successes as f64 == n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    Some((lower, upper))
}

/// The difference of two means, a − b, with Welch's 95 % interval: half-width
/// t₀.₉₇₅(ν) · √(s_a²/n_a + s_b²/n_b), ν the Welch–Satterthwaite degrees of freedom rounded
/// down (slightly wider, never narrower). Two intervals that overlap can still have a
/// difference whose interval excludes 0: this, not the overlap, is the test of a difference.
/// None when either side has fewer than two values, or neither varies.
pub fn welch95(a: &Spread, b: &Spread) -> Option<(f64, f64, f64)> {
    if a.n < 2 || b.n < 2 {
        return None;
    }
    let (va, vb) = (a.std.powi(2) / a.n as f64, b.std.powi(2) / b.n as f64);
    let se2 = va + vb;
    if se2.is_nan() || se2 <= 0.0 {
        return None;
    }
    let df = se2.powi(2) / (va.powi(2) / (a.n - 1) as f64 + vb.powi(2) / (b.n - 1) as f64);
    // ν is exactly an integer for equal variances and sizes; rounding must not drop it by one.
    let half = t95(((df + 1e-9).floor() as usize).max(1)) * se2.sqrt();
    let diff = a.mean - b.mean;
    Some((diff, diff - half, diff + half))
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
    let (z, v) = (Z95, df as f64);
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
    fn the_interval_is_the_mean_plus_or_minus_the_half_width() {
        // 10, 12, 14: 12 ± 4.968275 (above).
        let (lo, hi) = spread(&[10.0, 12.0, 14.0]).unwrap().interval().unwrap();
        assert!((lo - 7.031725).abs() < 1e-6 && (hi - 16.968275).abs() < 1e-6);
        assert_eq!(spread(&[7.5]).unwrap().interval(), None);
    }

    #[test]
    fn geometric_spread_by_hand() {
        // 1, e, e²: logs 0, 1, 2, mean 1, std 1; half-width 4.302653 · 1/√3 = 2.484138;
        // geometric mean e¹ = 2.718282, interval [e^−1.484138, e^3.484138] = [0.226698, 32.5943].
        let e = std::f64::consts::E;
        let g = geometric_spread(&[1.0, e, e * e]).unwrap();
        assert_eq!(g.n, 3);
        assert!((g.mean - e).abs() < 1e-12, "{}", g.mean);
        let (lo, hi) = g.interval.unwrap();
        assert!(
            (lo - 0.226698).abs() < 1e-6 && (hi - 32.5943).abs() < 1e-4,
            "{lo} {hi}"
        );
        // A ratio and its reciprocal: reciprocal means and intervals. 2 and 8: geometric mean 4.
        let (up, down) = (
            geometric_spread(&[2.0, 8.0]).unwrap(),
            geometric_spread(&[0.5, 0.125]).unwrap(),
        );
        assert!((up.mean - 4.0).abs() < 1e-12 && (up.mean * down.mean - 1.0).abs() < 1e-12);
        let ((a, b), (c, d)) = (up.interval.unwrap(), down.interval.unwrap());
        assert!((a * d - 1.0).abs() < 1e-9 && (b * c - 1.0).abs() < 1e-9);
        // One value: a mean, no interval; no value, or one not positive: nothing.
        assert_eq!(geometric_spread(&[3.0]).unwrap().interval, None);
        assert_eq!(geometric_spread(&[]), None);
        assert_eq!(geometric_spread(&[2.0, 0.0]), None);
        assert_eq!(geometric_spread(&[2.0, f64::INFINITY]), None);
    }

    #[test]
    fn wilson_intervals_by_hand() {
        // 3 of 8 at z = 1.959964 (z² = 3.841459): p̂ = 0.375, 1 + z²/n = 1.480182;
        // centre (0.375 + 0.240091)/1.480182 = 0.415551;
        // half 1.959964 · √(0.234375/8 + 3.841459/256)/1.480182 = 1.959964 · 0.210482/1.480182
        // = 0.278707 → [0.136844, 0.694258].
        let close = |(lo, hi): (f64, f64), (a, b): (f64, f64)| {
            assert!((lo - a).abs() < 1e-6 && (hi - b).abs() < 1e-6, "{lo} {hi}");
        };
        close(wilson95(3, 8).unwrap(), (0.136844, 0.694258));
        // 2 of 4: symmetric about ½; half 1.959964 · √(0.0625 + 0.060023)/1.960365 = 0.349961.
        close(wilson95(2, 4).unwrap(), (0.150039, 0.849961));
        // 0 of 1: centre = half = (3.841459/2)/4.841459 = 0.396725 → [0, 0.793451].
        close(wilson95(0, 1).unwrap(), (0.0, 0.793451));
        // The ends at 0/n and n/n are exact, not a rounding error away.
        for n in 1..=64 {
            assert_eq!(wilson95(0, n).unwrap().0, 0.0, "0/{n}");
            assert_eq!(wilson95(n, n).unwrap().1, 1.0, "{n}/{n}");
        }
        // 4 of 4: centre 1.480182/1.960365 = 0.755055, half 1.959964 · √(3.841459/64)/1.960365
        // = 0.244945 → [0.510109, 1].
        close(wilson95(4, 4).unwrap(), (0.510109, 1.0));
        assert_eq!(wilson95(0, 0), None);
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

    #[test]
    fn welch_interval_matches_a_hand_computation() {
        // a = 1, 2, 3, 4: mean 2.5, s² = 5/3; b = 2, 4, 6: mean 4, s² = 4. se² = 5/12 + 4/3 =
        // 1.75; ν = 1.75² / ((5/12)²/3 + (4/3)²/2) = 3.0625 / 0.946759… = 3.2347 → 3, t = 3.182446;
        // half-width 3.182446 · √1.75 = 4.209980.
        let (a, b) = (
            spread(&[1.0, 2.0, 3.0, 4.0]).unwrap(),
            spread(&[2.0, 4.0, 6.0]).unwrap(),
        );
        let (diff, low, high) = welch95(&a, &b).unwrap();
        assert!((diff + 1.5).abs() < 1e-12);
        assert!((low - (-1.5 - 4.209980)).abs() < 1e-5, "{low}");
        assert!((high - (-1.5 + 4.209980)).abs() < 1e-5, "{high}");
        // Overlapping intervals ([9.37, 10.63] and [8.17, 9.43]), a difference that excludes
        // 0: 1.2 ± 2.145 · 0.378 = [0.389, 2.011].
        let x_values = [9.0, 10.0, 11.0, 9.0, 10.0, 11.0, 10.0, 10.0];
        let y_values = x_values.map(|v| v - 1.2);
        let (x, y) = (spread(&x_values).unwrap(), spread(&y_values).unwrap());
        let (x_low, _) = x.interval().unwrap();
        let (_, y_high) = y.interval().unwrap();
        assert!(x_low < y_high, "the intervals overlap");
        let (_, low, high) = welch95(&x, &y).unwrap();
        assert!(
            (low - 0.389).abs() < 1e-3 && (high - 2.011).abs() < 1e-3,
            "{low} {high}"
        );
        assert_eq!(welch95(&spread(&[1.0]).unwrap(), &y), None);
        assert_eq!(
            welch95(&spread(&[2.0, 2.0]).unwrap(), &spread(&[1.0, 1.0]).unwrap()),
            None
        );
    }
}
