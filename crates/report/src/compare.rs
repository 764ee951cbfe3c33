//! `pglab compare`: two sweeps of one experiment (replicates: other seeds, another machine),
//! claim by claim of their answer sections, with a verdict that says whether each claim held.
//! "Held" is decided here, from the two reports' own verdicts, never by reading intervals by
//! eye:
//! - held: resolved in both, in the same direction;
//! - not held: resolved in opposite directions, or resolved in one and not the other;
//! - not resolved in either.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::answer::{Claim, estimate_text};
use crate::csv_rows::{self, field_names, format};

/// One claim of both sweeps: a row of `compare.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub id: String,
    pub role: String,
    pub statement: String,
    #[serde(serialize_with = "format::exact")]
    pub a_estimate: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub a_ci95_low: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub a_ci95_high: Option<f64>,
    pub a_verdict: String,
    #[serde(serialize_with = "format::exact")]
    pub b_estimate: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub b_ci95_low: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub b_ci95_high: Option<f64>,
    pub b_verdict: String,
    /// `held`, `not held` (with why), `not resolved in either`, or `only in A`/`only in B`.
    pub verdict: String,
}

pub const HELD: &str = "held";
pub const NOT_RESOLVED_IN_EITHER: &str = "not resolved in either";
const OPPOSITE: &str = "not held: resolved in opposite directions";
const RESOLVED_IN_A_ONLY: &str = "not held: resolved in A only";
const RESOLVED_IN_B_ONLY: &str = "not held: resolved in B only";

/// Whether claim `a` held in `b`.
pub fn verdict(a: &Claim, b: &Claim) -> String {
    match (a.resolved(), b.resolved()) {
        (true, true) if a.direction() == b.direction() => HELD.into(),
        (true, true) => OPPOSITE.into(),
        (true, false) => RESOLVED_IN_A_ONLY.into(),
        (false, true) => RESOLVED_IN_B_ONLY.into(),
        (false, false) => NOT_RESOLVED_IN_EITHER.into(),
    }
}

/// Every claim of either sweep, in A's order then B's extra ones, with its verdict.
pub fn compare(a: &[Claim], b: &[Claim]) -> Vec<Comparison> {
    let row = |x: Option<&Claim>, y: Option<&Claim>| {
        let first = x.or(y).expect("one side has the claim");
        let verdict = match (x, y) {
            (Some(x), Some(y)) => verdict(x, y),
            (Some(_), None) => "only in A".into(),
            _ => "only in B".into(),
        };
        Comparison {
            id: first.id.clone(),
            role: first.role.clone(),
            // Each replicate picks its own best rates: where B's claim names other rates, say so.
            statement: match (x, y) {
                (Some(x), Some(y)) if x.statement != y.statement => {
                    format!("{} (in B: {})", x.statement, y.statement)
                }
                _ => first.statement.clone(),
            },
            a_estimate: x.and_then(|c| c.estimate),
            a_ci95_low: x.and_then(|c| c.ci95_low),
            a_ci95_high: x.and_then(|c| c.ci95_high),
            a_verdict: x.map_or(String::new(), |c| c.verdict.clone()),
            b_estimate: y.and_then(|c| c.estimate),
            b_ci95_low: y.and_then(|c| c.ci95_low),
            b_ci95_high: y.and_then(|c| c.ci95_high),
            b_verdict: y.map_or(String::new(), |c| c.verdict.clone()),
            verdict,
        }
    };
    let find = |claims: &'_ [Claim], id: &str| claims.iter().find(|c| c.id == id).cloned();
    let mut rows: Vec<Comparison> = a
        .iter()
        .map(|x| row(Some(x), find(b, &x.id).as_ref()))
        .collect();
    rows.extend(
        b.iter()
            .filter(|y| find(a, &y.id).is_none())
            .map(|y| row(None, Some(y))),
    );
    rows
}

/// `compare.csv`: [`Comparison`]'s columns.
pub fn compare_csv(rows: &[Comparison]) -> anyhow::Result<Vec<u8>> {
    csv_rows::write(field_names::<Comparison>(), rows)
}

/// What the verdicts of the claims in both sweeps would look like by chance alone. A claim
/// with no real effect is resolved in one replicate with probability at most 5 % (2.5 % on
/// each side), so it is resolved in exactly one of two with probability 2 · 0.05 · 0.95 =
/// 0.095 and holds (both, the same side) with 2 · 0.025² = 0.00125: among many claims a few
/// "resolved in one only" are what chance looks like, a "held" is not. None without a claim in
/// both.
pub fn chance_summary(rows: &[Comparison]) -> Option<String> {
    let both: Vec<&Comparison> = rows
        .iter()
        .filter(|r| !r.a_verdict.is_empty() && !r.b_verdict.is_empty())
        .collect();
    let m = both.len();
    let count = |verdicts: &[&str]| {
        both.iter()
            .filter(|r| verdicts.contains(&r.verdict.as_str()))
            .count()
    };
    (m > 0).then(|| {
        format!(
            "{m} claims in both: {} held, {} resolved in one only, {} in opposite directions, {} in neither. Were none of them real, chance alone would make about {:.2} hold and {:.1} resolve in one only.",
            count(&[HELD]),
            count(&[RESOLVED_IN_A_ONLY, RESOLVED_IN_B_ONLY]),
            count(&[OPPOSITE]),
            count(&[NOT_RESOLVED_IN_EITHER]),
            m as f64 * 2.0 * 0.025 * 0.025,
            m as f64 * 2.0 * 0.05 * 0.95,
        )
    })
}

/// `compare.md`: one line per claim, A's and B's estimates and the verdict.
pub fn compare_markdown(a_name: &str, b_name: &str, rows: &[Comparison]) -> String {
    let mut md = format!(
        "# Replication: A = `{a_name}`, B = `{b_name}`\n\n\
         Each claim of the two answer sections: held (resolved in both, the same direction), not \
         held (opposite directions, or resolved in one only), or not resolved in either.\n\n\
         | claim | A | B | verdict |\n|---|---|---|---|\n"
    );
    for r in rows {
        let side = |estimate, low, high, verdict: &str| {
            if verdict.is_empty() {
                return "–".to_string();
            }
            let claim = Claim {
                id: String::new(),
                question: String::new(),
                role: String::new(),
                statement: String::new(),
                estimate,
                ci95_low: low,
                ci95_high: high,
                null: 0.0,
                verdict: verdict.to_string(),
                rests_on: String::new(),
            };
            format!("{} ({verdict})", estimate_text(&claim))
        };
        let role = if r.role == "primary" {
            "**primary** "
        } else {
            ""
        };
        writeln!(
            md,
            "| {role}{} | {} | {} | **{}** |",
            r.statement,
            side(r.a_estimate, r.a_ci95_low, r.a_ci95_high, &r.a_verdict),
            side(r.b_estimate, r.b_ci95_low, r.b_ci95_high, &r.b_verdict),
            r.verdict
        )
        .unwrap();
    }
    if let Some(summary) = chance_summary(rows) {
        write!(md, "\n{summary}\n").unwrap();
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::{NOT_RESOLVED, RESOLVED};

    /// A learning claim `id` estimated at `estimate` [low, high] (null 0).
    fn claim(id: &str, estimate: f64, low: f64, high: f64) -> Claim {
        let resolved = low > 0.0 || high < 0.0;
        Claim {
            id: id.into(),
            question: "learning".into(),
            role: "secondary".into(),
            statement: id.into(),
            estimate: Some(estimate),
            ci95_low: Some(low),
            ci95_high: Some(high),
            null: 0.0,
            verdict: if resolved { RESOLVED } else { NOT_RESOLVED }.into(),
            rests_on: String::new(),
        }
    }

    /// Eight claims with no effect in either replicate but two resolved in B: 8 · 0.00125 =
    /// 0.01 expected to hold by chance, 8 · 0.095 = 0.76 to be resolved in one only.
    #[test]
    fn the_comparison_says_what_chance_alone_would_give() {
        let a: Vec<Claim> = (0..8)
            .map(|i| claim(&format!("c{i}"), 0.5, -2.0, 3.0))
            .collect();
        let b: Vec<Claim> = (0..8)
            .map(|i| match i < 2 {
                true => claim(&format!("c{i}"), 2.0, 0.5, 3.5),
                false => claim(&format!("c{i}"), 0.1, -1.0, 1.2),
            })
            .collect();
        assert_eq!(
            chance_summary(&compare(&a, &b)).as_deref(),
            Some(
                "8 claims in both: 0 held, 2 resolved in one only, 0 in opposite directions, 6 in \
                 neither. Were none of them real, chance alone would make about 0.01 hold and \
                 0.8 resolve in one only."
            )
        );
        assert_eq!(chance_summary(&compare(&a[..1], &[])), None);
    }

    /// Two replicates, as the README's third replicate found them: the AUC difference held,
    /// the final-reward difference lost its resolution, one claim flipped, one never resolved.
    #[test]
    fn each_claim_gets_the_verdict_its_two_resolutions_give() {
        let a = [
            claim("auc", 55.1, 30.3, 80.0),
            claim("final", 47.8, 9.2, 86.5),
            claim("flip", 3.0, 1.0, 5.0),
            claim("noise", 0.5, -2.0, 3.0),
            claim("only_a", 1.0, 0.5, 1.5),
        ];
        let b = [
            claim("auc", 59.8, 31.0, 88.6),
            claim("final", 45.3, -0.67, 91.2),
            claim("flip", -2.0, -4.0, -0.5),
            claim("noise", -0.1, -1.0, 0.8),
            claim("only_b", 1.0, 0.5, 1.5),
        ];
        let rows = compare(&a, &b);
        let verdicts: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.id.as_str(), r.verdict.as_str()))
            .collect();
        assert_eq!(
            verdicts,
            [
                ("auc", HELD),
                ("final", "not held: resolved in A only"),
                ("flip", "not held: resolved in opposite directions"),
                ("noise", NOT_RESOLVED_IN_EITHER),
                ("only_a", "only in A"),
                ("only_b", "only in B"),
            ]
        );
        assert_eq!(rows[1].b_ci95_low, Some(-0.67));
        // The same claim about other rates in B: both statements shown.
        let mut at_other_rates = claim("auc", 10.0, 5.0, 15.0);
        at_other_rates.statement = "rloo (lr 0.03) − reinforce (lr 0.01)".into();
        let mut at_a_rates = claim("auc", 10.0, 5.0, 15.0);
        at_a_rates.statement = "rloo (lr 0.01) − reinforce (lr 0.03)".into();
        assert_eq!(
            compare(&[at_a_rates], &[at_other_rates])[0].statement,
            "rloo (lr 0.01) − reinforce (lr 0.03) (in B: rloo (lr 0.03) − reinforce (lr 0.01))"
        );
        let md = compare_markdown("a", "b", &rows);
        assert!(
            md.contains("| final | 47.8 [9.20, 86.5] (resolved) | 45.3 [-0.670, 91.2] (not resolved at 95 %) | **not held: resolved in A only** |"),
            "{md}"
        );
        // Four claims in both (auc, final, flip, noise), one of each verdict; the two only in
        // one sweep are not counted.
        assert!(md.contains("4 claims in both: 1 held, 1 resolved in one only, 1 in opposite directions, 1 in neither."), "{md}");
        let csv = String::from_utf8(compare_csv(&rows).unwrap()).unwrap();
        assert!(csv.starts_with("id,role,statement,a_estimate,"), "{csv}");
        assert_eq!(csv.lines().count(), 1 + 6);
    }
}
