//! Intervals for differences that respect what the data can be: a seeded percentile bootstrap
//! for a difference of two means, and Newcombe's hybrid score interval for a difference of two
//! success rates. A normal-theory t-interval on bimodal, bounded final rewards (runs that reach
//! the maximum and runs that collapse) printed RLOO's mean reward as [57.9, 117] on a scale that
//! ends at 100; a percentile bootstrap interval cannot leave the range of the resampled means.

use crate::stats::wilson95;

/// Resamples per bootstrap interval.
pub const RESAMPLES: usize = 10_000;

/// The bootstrap's fixed seed: the same data give the same interval, on every machine.
pub const SEED: u64 = 0x5eed_b007;

/// SplitMix64 (Steele, Lea & Flood 2014): a few lines, no dependency, and the same stream
/// whatever version of `rand` the workspace has.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n ≤ 2³²: the modulo bias is below 2⁻³²).
    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
}

/// mean(a) − mean(b) with the 95 % percentile bootstrap interval: `resamples` times, each
/// sample resampled with replacement to its own size, the difference of the resampled means;
/// the interval runs from the 2.5th to the 97.5th percentile of those differences (sorted
/// differences at ⌊0.025·R⌋ and ⌈0.975·R⌉ − 1). None when either side is empty.
pub fn bootstrap_difference95(
    a: &[f64],
    b: &[f64],
    resamples: usize,
    seed: u64,
) -> Option<(f64, f64, f64)> {
    if a.is_empty() || b.is_empty() || resamples == 0 {
        return None;
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let mut rng = SplitMix64(seed);
    let mut resampled =
        |v: &[f64]| (0..v.len()).map(|_| v[rng.below(v.len())]).sum::<f64>() / v.len() as f64;
    let mut differences: Vec<f64> = (0..resamples)
        .map(|_| resampled(a) - resampled(b))
        .collect();
    differences.sort_by(f64::total_cmp);
    let low = differences[(0.025 * resamples as f64).floor() as usize];
    let high = differences[((0.975 * resamples as f64).ceil() as usize).max(1) - 1];
    Some((mean(a) - mean(b), low, high))
}

/// p₁ − p₂ of two success rates with Newcombe's (1998) hybrid score interval (his method 10):
/// from the Wilson intervals (l₁, u₁) and (l₂, u₂), the difference d ∓ its half-widths
/// √((p₁ − l₁)² + (u₂ − p₂)²) below and √((u₁ − p₁)² + (p₂ − l₂)²) above. It stays within
/// [−1, 1] and is not degenerate at 0/n or n/n. None when either n is 0.
pub fn newcombe95(x1: usize, n1: usize, x2: usize, n2: usize) -> Option<(f64, f64, f64)> {
    let (l1, u1) = wilson95(x1, n1)?;
    let (l2, u2) = wilson95(x2, n2)?;
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let d = p1 - p2;
    let below = ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let above = ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    Some((d, d - below, d + above))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Newcombe's own worked example (Statistics in Medicine 17, 1998, Table II): 56/70 against
    /// 48/80, a difference of 0.2000 with the method-10 interval 0.0524 to 0.3339.
    #[test]
    fn newcombe_s_worked_example() {
        let (d, low, high) = newcombe95(56, 70, 48, 80).unwrap();
        assert!((d - 0.2).abs() < 1e-12);
        assert!((low - 0.0524).abs() < 5e-5, "{low}");
        assert!((high - 0.3339).abs() < 5e-5, "{high}");
        // All or nothing on both sides: still an interval, within [−1, 1].
        let (d, low, high) = newcombe95(8, 8, 0, 8).unwrap();
        assert_eq!(d, 1.0);
        assert!(low > 0.0 && low < 1.0 && high <= 1.0, "{low} {high}");
        assert_eq!(newcombe95(0, 0, 1, 2), None);
    }

    /// By hand: a = (0, 1), b = (0). A resampled mean of a is 0, ½ or 1 with probabilities ¼,
    /// ½, ¼, and b's is 0: the 2.5th percentile of the differences is 0 and the 97.5th is 1
    /// (each end holds about 2,500 of the 10,000, far beyond the 250 the percentile needs).
    #[test]
    fn bootstrap_of_a_two_point_sample_by_hand() {
        let (d, low, high) = bootstrap_difference95(&[0.0, 1.0], &[0.0], RESAMPLES, SEED).unwrap();
        assert_eq!((d, low, high), (0.5, 0.0, 1.0));
    }

    /// Rewards bounded by 0 and 100, split between runs that reach the top and runs that
    /// collapse: the interval stays inside what resampled means can be, where a t-interval of
    /// the same mean runs past 100.
    #[test]
    fn bootstrap_intervals_stay_within_what_the_data_allow() {
        let a = [100.0, 100.0, 100.0, 99.8, 100.0, 100.0, 0.4, 100.0];
        let b = [0.0, 3.1, 95.0, 0.2, 1.0, 99.0, 0.0, 2.2];
        let (d, low, high) = bootstrap_difference95(&a, &b, RESAMPLES, SEED).unwrap();
        assert!(low >= 0.4 - 99.0 && high <= 100.0 - 0.0, "[{low}, {high}]");
        assert!(low < d && d < high, "{low} {d} {high}");
        // Seeded: the same interval again; another seed, nearly the same.
        assert_eq!(
            bootstrap_difference95(&a, &b, RESAMPLES, SEED),
            Some((d, low, high))
        );
        let (_, low2, high2) = bootstrap_difference95(&a, &b, RESAMPLES, 7).unwrap();
        assert!((low2 - low).abs() < 5.0 && (high2 - high).abs() < 5.0);
        assert_eq!(bootstrap_difference95(&[], &b, RESAMPLES, SEED), None);
    }
}
