//! `head_to_head.csv`: every pair of estimators at their best learning rates, each endpoint by
//! the interval methods that fit it, the method named on each row. Final reward and AUC: the
//! seeded percentile bootstrap of the difference of means (10,000 resamples; it cannot leave the
//! range of the data) and Welch's t-interval beside it; the success rate: Newcombe's hybrid
//! score interval. The answer section's learning claims use the bootstrap.

use pglab_estimator::bootstrap::{RESAMPLES, SEED, bootstrap_difference95, newcombe95};
use pglab_estimator::stats::welch95;
use serde::{Deserialize, Serialize};

use crate::best_lr::BestLr;
use crate::csv_rows::{self, field_names, format};
use crate::load::format_float;

/// One (pair, endpoint, method): a row of `head_to_head.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadToHeadRow {
    /// `rloo (3e-3) − reinforce (3e-4)`: the later estimator minus the earlier.
    pub comparison: String,
    /// `final_reward`, `auc` or `success_rate`.
    pub endpoint: String,
    /// `bootstrap_percentile` (10,000 resamples, seeded), `welch_t` or `newcombe`.
    pub method: String,
    #[serde(serialize_with = "format::exact")]
    pub estimate: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub ci95_low: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub ci95_high: Option<f64>,
    pub n_a: usize,
    pub n_b: usize,
}

/// The bootstrap difference of `later` − `earlier` on the per-run values `pick` gives.
pub fn bootstrap(later: &[f64], earlier: &[f64]) -> Option<(f64, f64, f64)> {
    bootstrap_difference95(later, earlier, RESAMPLES, SEED)
}

pub fn rows(best: &[BestLr]) -> Vec<HeadToHeadRow> {
    let mut rows = Vec::new();
    for (i, earlier) in best.iter().enumerate() {
        for later in &best[i + 1..] {
            let comparison = format!(
                "{} ({}) − {} ({})",
                later.label,
                format_float(later.lr()),
                earlier.label,
                format_float(earlier.lr())
            );
            let row =
                |endpoint: &str, method: &str, v: Option<(f64, f64, f64)>, n: (usize, usize)| {
                    HeadToHeadRow {
                        comparison: comparison.clone(),
                        endpoint: endpoint.into(),
                        method: method.into(),
                        estimate: v.map(|v| v.0),
                        ci95_low: v.map(|v| v.1),
                        ci95_high: v.map(|v| v.2),
                        n_a: n.0,
                        n_b: n.1,
                    }
                };
            let (a, b) = (later.row, earlier.row);
            for (endpoint, (va, vb), (sa, sb)) in [
                (
                    "final_reward",
                    (&a.final_rewards, &b.final_rewards),
                    (a.final_reward, b.final_reward),
                ),
                ("auc", (&a.aucs, &b.aucs), (a.auc, b.auc)),
            ] {
                let n = (va.len(), vb.len());
                rows.push(row(endpoint, "bootstrap_percentile", bootstrap(va, vb), n));
                let welch = sa.zip(sb).and_then(|(sa, sb)| welch95(&sa, &sb));
                rows.push(row(endpoint, "welch_t", welch, n));
            }
            if let (Some(sa), Some(sb)) = (a.success, b.success) {
                let newcombe = newcombe95(sa.successes, sa.trials, sb.successes, sb.trials);
                rows.push(row(
                    "success_rate",
                    "newcombe",
                    newcombe,
                    (sa.trials, sb.trials),
                ));
            }
        }
    }
    rows
}

/// `head_to_head.csv`: [`HeadToHeadRow`]'s columns.
pub fn head_to_head_csv(rows: &[HeadToHeadRow]) -> anyhow::Result<Vec<u8>> {
    csv_rows::write(field_names::<HeadToHeadRow>(), rows)
}
