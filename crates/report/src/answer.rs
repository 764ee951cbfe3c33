//! The answer section: the two questions pglab exists to answer, each as claims with an
//! estimate, its 95 % interval, what it rests on, and a verdict: "resolved" when the interval
//! excludes the null (a ratio of 1, a difference of 0; for a learning difference, when Welch's t
//! agrees too: [`difference_verdict`]), "not resolved at 95 %" otherwise. It
//! leads `summary.md` and `index.html`, is written as `answer.csv`, and is what `pglab compare`
//! holds two sweeps' reports against.
//!
//! 1. How much lower is RLOO's gradient variance than REINFORCE's? Every estimator with RLOO's
//!    expectation against RLOO at the start (probe step 0: every run at the same pretrained
//!    weights; later steps compare runs whose training went differently).
//! 2. What does that do to learning? Each estimator against every other at its best learning
//!    rate, the primary endpoint (`[report] primary`, default the AUC) first.

use pglab_estimator::stats::{spread, welch95};
use serde::{Deserialize, Serialize};

use crate::best_lr::BestLr;
use crate::csv_rows::{self, field_names, format};
use crate::head_to_head;
use crate::load::format_float;
use crate::table::number;
use crate::variance::{ProbeSummary, REFERENCE};

/// The learning endpoint a sweep declares first (`[report] primary`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// The mean reward over training: how fast an estimator learns.
    #[default]
    Auc,
    /// The mean reward over the last steps: where it ends.
    FinalReward,
}

impl Endpoint {
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Auc => "auc",
            Endpoint::FinalReward => "final_reward",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Endpoint::Auc => "mean reward over training (AUC)",
            Endpoint::FinalReward => "final reward",
        }
    }
}

/// One claim of the answer section: a row of `answer.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// Stable across sweeps of one experiment, so `pglab compare` can pair them:
    /// `variance_ratio:reinforce:step0`, `learning:auc:rloo-reinforce`.
    pub id: String,
    /// `variance` or `learning`.
    pub question: String,
    /// `primary`, or `secondary` (every claim but the declared endpoint's).
    pub role: String,
    /// The claim in words.
    pub statement: String,
    #[serde(serialize_with = "format::exact")]
    pub estimate: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub ci95_low: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub ci95_high: Option<f64>,
    /// The value of no effect: 1 for a ratio, 0 for a difference.
    pub null: f64,
    /// `resolved`, or `not resolved at 95 %`.
    pub verdict: String,
    /// What the estimate rests on: runs, seeds, probe step, method.
    pub rests_on: String,
}

pub const RESOLVED: &str = "resolved";
pub const NOT_RESOLVED: &str = "not resolved at 95 %";

impl Claim {
    /// Whether the interval excludes the null.
    pub fn resolved(&self) -> bool {
        self.verdict == RESOLVED
    }

    /// The sign of the effect: +1 above the null, −1 below, 0 without an estimate.
    pub fn direction(&self) -> i8 {
        match self.estimate {
            Some(e) if e > self.null => 1,
            Some(e) if e < self.null => -1,
            _ => 0,
        }
    }
}

fn verdict(null: f64, interval: Option<(f64, f64)>) -> String {
    match excludes(null, interval) {
        true => RESOLVED.into(),
        false => NOT_RESOLVED.into(),
    }
}

fn excludes(null: f64, interval: Option<(f64, f64)>) -> bool {
    matches!(interval, Some((low, high)) if low > null || high < null)
}

/// A difference of means between runs `a` and `b` is resolved when its percentile-bootstrap
/// interval excludes 0 and a test that holds its level with a few runs agrees: Welch's
/// t-interval, or, where both sides are constant (Welch's undefined), the exact permutation
/// test (p = 2/C(n_a + n_b, n_a) < 0.05). The bootstrap alone covered a zero difference in 80 %
/// of simulated 3-vs-3 comparisons of normal data, 83 % at 4 and 90 % at 6 (nominal 95 %); with
/// Welch's agreement required, 97 %, 96 % and 96 % (`python3 tools/bootstrap_coverage.py`).
fn difference_verdict(a: &[f64], b: &[f64], bootstrap: Option<(f64, f64)>) -> String {
    let agrees = match (spread(a), spread(b)) {
        (Some(sa), Some(sb)) => match welch95(&sa, &sb) {
            Some((_, low, high)) => excludes(0.0, Some((low, high))),
            None => sa.n >= 2 && sb.n >= 2 && 2.0 / binomial(sa.n + sb.n, sa.n) < 0.05,
        },
        _ => false,
    };
    verdict(0.0, bootstrap.filter(|_| agrees))
}

/// C(n, k), in f64 (exact for the sizes of a sweep).
fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |c, i| c * (n - i) as f64 / (i + 1) as f64)
}

/// The variance claims: every estimator with RLOO's expectation against RLOO, at the start.
pub fn variance_claims(probes: &[ProbeSummary]) -> Vec<Claim> {
    let Some(start) = probes.iter().map(|p| p.probe_step).min() else {
        return Vec::new();
    };
    probes
        .iter()
        .filter(|p| p.probe_step == start && p.same_expectation_as_rloo)
        .filter(|p| p.estimator != REFERENCE)
        .map(|p| {
            let interval = p.ratio.and_then(|r| r.interval);
            let where_ = if start == 0 {
                "at the start (probe step 0, every run at the same weights)".to_string()
            } else {
                format!("at probe step {start}")
            };
            Claim {
                id: format!("variance_ratio:{}:step{start}", p.estimator),
                question: "variance".into(),
                role: "secondary".into(),
                statement: format!(
                    "{}'s one-batch gradient variance ÷ {REFERENCE}'s, {where_}",
                    p.estimator
                ),
                estimate: p.ratio.map(|r| r.mean),
                ci95_low: interval.map(|i| i.0),
                ci95_high: interval.map(|i| i.1),
                null: 1.0,
                verdict: verdict(1.0, interval),
                rests_on: format!(
                    "{} runs, one paired ratio each (the same samples); geometric mean, t-interval on the log{}",
                    p.ratio.map_or(0, |r| r.n),
                    p.predicted.map_or(String::new(), |v| format!(
                        "; the rewards' mean and variance alone predict {}× (were rewards independent of the score function)",
                        number(v)
                    ))
                ),
            }
        })
        .collect()
}

/// The learning claims: every pair of estimators at their best rates, on both endpoints, the
/// declared one first.
pub fn learning_claims(best: &[BestLr], primary: Endpoint, selection: &str) -> Vec<Claim> {
    let endpoints = match primary {
        Endpoint::Auc => [Endpoint::Auc, Endpoint::FinalReward],
        Endpoint::FinalReward => [Endpoint::FinalReward, Endpoint::Auc],
    };
    let mut claims = Vec::new();
    for endpoint in endpoints {
        for (i, earlier) in best.iter().enumerate() {
            for later in &best[i + 1..] {
                let pick = |b: &BestLr| match endpoint {
                    Endpoint::Auc => b.row.aucs.clone(),
                    Endpoint::FinalReward => b.row.final_rewards.clone(),
                };
                let (a, b) = (pick(later), pick(earlier));
                let difference = head_to_head::bootstrap(&a, &b);
                let interval = difference.map(|(_, low, high)| (low, high));
                claims.push(Claim {
                    id: format!(
                        "learning:{}:{}-{}",
                        endpoint.name(),
                        later.label,
                        earlier.label
                    ),
                    question: "learning".into(),
                    role: if endpoint == primary {
                        "primary"
                    } else {
                        "secondary"
                    }
                    .into(),
                    statement: format!(
                        "{} of {} (lr {}) − {} (lr {}), {}",
                        endpoint.describe(),
                        later.label,
                        format_float(later.lr()),
                        earlier.label,
                        format_float(earlier.lr()),
                        if later.grid.len() > 1 || earlier.grid.len() > 1 {
                            "each at its best learning rate"
                        } else {
                            "each at the one learning rate it ran"
                        }
                    ),
                    estimate: difference.map(|d| d.0),
                    ci95_low: interval.map(|i| i.0),
                    ci95_high: interval.map(|i| i.1),
                    null: 0.0,
                    verdict: difference_verdict(&a, &b, interval),
                    rests_on: format!(
                        "{} and {} seeds; the percentile bootstrap of the difference of means (10,000 resamples, seeded), resolved only where Welch's t (head_to_head.csv) agrees; {selection}",
                        a.len(),
                        b.len()
                    ),
                });
            }
        }
    }
    // The declared endpoint's claims lead; only they are primary.
    claims
}

/// `answer.csv`: [`Claim`]'s columns.
pub fn answer_csv(claims: &[Claim]) -> anyhow::Result<Vec<u8>> {
    csv_rows::write(field_names::<Claim>(), claims)
}

/// Reads an `answer.csv` back.
pub fn read_answer_csv(path: &std::path::Path) -> anyhow::Result<Vec<Claim>> {
    csv_rows::read(path)
}

/// A claim's estimate and interval as the answer section prints them.
pub fn estimate_text(claim: &Claim) -> String {
    let estimate = claim.estimate.map_or("–".to_string(), number);
    match (claim.ci95_low, claim.ci95_high) {
        (Some(low), Some(high)) => format!("{estimate} [{}, {}]", number(low), number(high)),
        _ => format!("{estimate} (no interval)"),
    }
}

/// The two questions with their headings, the one holding the primary endpoint first.
pub fn questions(claims: &[Claim]) -> Vec<(&'static str, &'static str)> {
    let mut questions = vec![
        (
            "variance",
            "How much lower is RLOO's gradient variance than REINFORCE's?",
        ),
        ("learning", "What does that do to learning?"),
    ];
    questions.sort_by_key(|(q, _)| {
        !claims
            .iter()
            .any(|c| c.question == *q && c.role == "primary")
    });
    questions
}

/// What a list of claims could show by chance alone: each is tested at 95 %, so were none of
/// them real, about 5 % of them would still read "resolved" (the expected count, whatever the
/// dependence between them; a learning verdict needs two tests to agree, so its level is at
/// most 5 %). With 28 pairwise claims (8 grid points), about 1.4: a reader should see that
/// beside how many resolved. `None` for a single claim.
pub fn chance_note(claims: &[&Claim]) -> Option<String> {
    let m = claims.len();
    (m >= 2).then(|| {
        let resolved = claims.iter().filter(|c| c.resolved()).count();
        format!(
            "{m} claims, each at 95 %: were none of them real, about {:.1} would be resolved by chance alone; {resolved} {}.",
            0.05 * m as f64,
            if resolved == 1 { "is" } else { "are" }
        )
    })
}

/// The answer section in markdown: each question, then its claims, primary first.
pub fn markdown(claims: &[Claim]) -> String {
    let mut out = String::from("## The answer\n\n");
    if claims.is_empty() {
        out.push_str("No claim could be made: the sweep has neither a probe nor two estimators with finished runs.\n\n");
        return out;
    }
    for (question, heading) in questions(claims) {
        let mut ours: Vec<&Claim> = claims.iter().filter(|c| c.question == question).collect();
        if ours.is_empty() {
            continue;
        }
        ours.sort_by_key(|c| c.role != "primary");
        out.push_str(&format!("**{heading}**\n\n"));
        let note = chance_note(&ours);
        for c in ours {
            let role = if c.role == "primary" {
                "**primary endpoint** — "
            } else {
                ""
            };
            out.push_str(&format!(
                "- {role}{}: **{}**, {} (null {}). Rests on: {}.\n",
                c.statement,
                estimate_text(c),
                c.verdict,
                number(c.null),
                c.rests_on
            ));
        }
        if let Some(note) = note {
            out.push_str(&format!("\n{note}\n"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(estimate: f64, low: f64, high: f64, null: f64) -> Claim {
        Claim {
            id: "x".into(),
            question: "learning".into(),
            role: "primary".into(),
            statement: String::new(),
            estimate: Some(estimate),
            ci95_low: Some(low),
            ci95_high: Some(high),
            null,
            verdict: verdict(null, Some((low, high))),
            rests_on: String::new(),
        }
    }

    #[test]
    fn a_learning_difference_needs_welchs_agreement_with_few_runs() {
        // 3 vs 3 AUCs a little apart: the bootstrap's interval excludes 0 (its resampled means
        // stay within each side's range: [1, 4]), Welch's (t with 2 df, ±2.78 around 2.5) does not.
        let (a, b) = ([96.0, 96.5, 97.0], [93.0, 94.0, 95.0]);
        let (_, low, high) = head_to_head::bootstrap(&a, &b).unwrap();
        assert!(low > 0.0, "bootstrap [{low}, {high}]");
        let welch = welch95(&spread(&a).unwrap(), &spread(&b).unwrap()).unwrap();
        assert!(welch.1 < 0.0, "Welch {welch:?}");
        assert_eq!(difference_verdict(&a, &b, Some((low, high))), NOT_RESOLVED);
        // Far apart, both agree.
        let b = [40.0, 55.0, 60.0];
        let (_, low, high) = head_to_head::bootstrap(&a, &b).unwrap();
        assert_eq!(difference_verdict(&a, &b, Some((low, high))), RESOLVED);
        // Both sides constant (Welch undefined): the exact permutation test, p = 2/C(6, 3) =
        // 0.1 at 3 a side (never resolved), 2/C(8, 4) = 0.029 at 4.
        let interval = Some((100.0, 100.0));
        assert_eq!(
            difference_verdict(&[100.0; 3], &[0.0; 3], interval),
            NOT_RESOLVED
        );
        assert_eq!(
            difference_verdict(&[100.0; 4], &[0.0; 4], interval),
            RESOLVED
        );
        assert_eq!(binomial(8, 4), 70.0);
    }

    #[test]
    fn the_answer_says_how_many_claims_chance_alone_would_resolve() {
        // 28 claims (the pairs of 8 grid points), 3 resolved: 28 × 0.05 = 1.4 by chance.
        let claims: Vec<Claim> = (0..28)
            .map(|i| match i < 3 {
                true => claim(5.0, 1.0, 9.0, 0.0),
                false => claim(1.0, -3.0, 5.0, 0.0),
            })
            .collect();
        let expected = "28 claims, each at 95 %: were none of them real, about 1.4 would be \
                        resolved by chance alone; 3 are.";
        assert_eq!(
            chance_note(&claims.iter().collect::<Vec<_>>()).as_deref(),
            Some(expected)
        );
        assert!(markdown(&claims).contains(expected));
        // One resolved of two: 0.1 expected; a lone claim gets no note.
        let two = [claim(5.0, 1.0, 9.0, 0.0), claim(1.0, -3.0, 5.0, 0.0)];
        assert_eq!(
            chance_note(&two.iter().collect::<Vec<_>>()).as_deref(),
            Some(
                "2 claims, each at 95 %: were none of them real, about 0.1 would be resolved \
                 by chance alone; 1 is."
            )
        );
        assert_eq!(chance_note(&[&two[0]]), None);
    }

    #[test]
    fn a_claim_is_resolved_when_its_interval_excludes_the_null() {
        assert!(claim(20.0, 18.8, 21.3, 1.0).resolved());
        assert!(claim(-3.0, -5.0, -0.5, 0.0).resolved());
        assert!(!claim(45.3, -0.67, 91.2, 0.0).resolved());
        // The null on the interval's edge is not excluded.
        assert!(!claim(1.0, 0.0, 2.0, 0.0).resolved());
        assert_eq!(claim(-3.0, -5.0, -0.5, 0.0).direction(), -1);
        assert_eq!(claim(20.0, 18.8, 21.3, 1.0).direction(), 1);
        assert_eq!(verdict(0.0, None), NOT_RESOLVED);
    }
}
