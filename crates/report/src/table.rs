//! Tables for people: a table as text cells (what both `summary.md` and `index.html` render),
//! and how a number and its interval are written in them — always together, `12.0 [7.03, 17.0]`,
//! so no figure in the summary reads as more certain than it is.

use pglab_estimator::stats::{GeometricSpread, Spread};

/// A table as text cells, with the sentence printed under it that says what its intervals are.
#[derive(Debug, Clone, PartialEq)]
pub struct Cells {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// What a cell shows where there is no value.
pub const NONE: &str = "–";

/// `mean [low, high]` with the 95 % t-interval; one run has a mean and no interval.
pub fn spread_cell(s: Option<Spread>) -> String {
    match s {
        None => NONE.into(),
        Some(s) => interval_cell(s.mean, s.interval(), s.n),
    }
}

/// `mean× [low×, high×]`: a geometric mean ratio with its geometric 95 % interval.
pub fn ratio_cell(g: Option<GeometricSpread>) -> String {
    match g {
        None => NONE.into(),
        Some(g) => match g.interval {
            Some((lo, hi)) => format!("{}× [{}×, {}×]", number(g.mean), number(lo), number(hi)),
            None => format!("{}× ({})", number(g.mean), no_interval(g.n)),
        },
    }
}

/// `value [low, high]`, or the value and why it has no interval.
pub fn interval_cell(value: f64, interval: Option<(f64, f64)>, n: usize) -> String {
    match interval {
        Some((lo, hi)) => format!("{} [{}, {}]", number(value), number(lo), number(hi)),
        None => format!("{} ({})", number(value), no_interval(n)),
    }
}

fn no_interval(n: usize) -> String {
    format!("{n} run, no interval")
}

/// Three significant digits, in scientific notation outside 0.001 ≤ |x| < 100000.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x == 0.0 {
        return "0".into();
    }
    let magnitude = x.abs().log10().floor() as i32;
    if !(-3..5).contains(&magnitude) {
        return format!("{x:.2e}");
    }
    format!("{x:.*}", (2 - magnitude).max(0) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pglab_estimator::stats::{geometric_spread, spread};

    #[test]
    fn numbers_have_three_significant_digits() {
        assert_eq!(number(12.26), "12.3");
        assert_eq!(number(0.5), "0.500");
        assert_eq!(number(100.0), "100");
        assert_eq!(number(35_012.9), "35013");
        assert_eq!(number(973_578.5), "9.74e5");
        assert_eq!(number(0.0004), "4.00e-4");
        assert_eq!(number(-2.0), "-2.00");
    }

    #[test]
    fn numbers_come_with_their_intervals() {
        // 10, 12, 14: 12 ± 4.302653 · 2/√3 = 12 ± 4.968.
        assert_eq!(
            spread_cell(spread(&[10.0, 12.0, 14.0])),
            "12.0 [7.03, 17.0]"
        );
        assert_eq!(spread_cell(spread(&[5.0])), "5.00 (1 run, no interval)");
        assert_eq!(spread_cell(None), "–");
        // 2 and 8: logs ln 4 ∓ ln 2, std ln 4/√2, half-width 12.706205 · (ln 4/√2)/√2 = 6.353103 ·
        // ln 4: geometric mean 4, interval 4^(1 ∓ 6.353103) = [5.99e-4, 26731].
        assert_eq!(
            ratio_cell(geometric_spread(&[2.0, 8.0])),
            "4.00× [5.99e-4×, 26731×]"
        );
    }
}
