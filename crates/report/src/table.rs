//! The report's numbers: one row per training group (estimator × grid point minus the seed) for
//! `report.csv`, and one row per probed estimator for `variance.csv`, each also as a formatted
//! table for `summary.md` and `index.html`.

use std::collections::BTreeMap;

use pglab_estimator::Estimator;
use pglab_estimator::stats::{Spread, median, spread};
use serde::{Deserialize, Serialize};

use crate::csv_rows::{self, field_names, format};
use crate::load::{RunCurves, Sweep, leaf, short_value};
use crate::record::Status;

/// The estimator every variance is compared with (the `…_to_rloo` columns).
pub const REFERENCE: Estimator = Estimator::Rloo;

/// One training group: the runs of one estimator at one grid point, over seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    pub estimator: Estimator,
    pub panel: String,
    pub panel_values: Vec<String>,
    pub runs: usize,
    pub diverged: usize,
    pub failed: usize,
    /// Over the finished (`done`) runs.
    pub final_reward: Option<Spread>,
    /// The highest `best_reward` of the group's finished runs.
    pub best_reward: Option<f64>,
    /// Mean over the finished runs that got there of the generations at which a step's mean
    /// reward first reached half of the sweep's best reward.
    pub generations_to_half_best: Option<f64>,
    pub reached_half_best: usize,
    /// Median over the group's probes of its own estimator's `grad_var`.
    pub median_grad_var: Option<f64>,
    /// Median over the group's probes of `grad_var` / RLOO's `grad_var` at the same probe.
    pub grad_var_ratio: Option<f64>,
}

/// One probed estimator, pooled over every run and probe of the sweep: a row of
/// `variance.csv`, every figure at full precision (`format::exact`), empty where there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VarianceRow {
    pub estimator: Estimator,
    pub probes: usize,
    #[serde(serialize_with = "format::exact")]
    pub median_grad_var: Option<f64>,
    /// Median of the paired ratio to RLOO over all probes.
    #[serde(rename = "grad_var_ratio_to_rloo", serialize_with = "format::exact")]
    pub ratio: Option<f64>,
    /// Median of the paired ratio at the first probe of each run (the starting weights).
    #[serde(
        rename = "grad_var_ratio_to_rloo_at_start",
        serialize_with = "format::exact"
    )]
    pub ratio_at_start: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub median_snr: Option<f64>,
}

/// The best step mean reward of any finished run: the yardstick of "generations to half".
pub fn sweep_best(sweep: &Sweep) -> Option<f64> {
    sweep
        .runs
        .iter()
        .filter(|r| r.status == Status::Done)
        .filter_map(|r| r.best_reward)
        .filter(|b| b.is_finite())
        .reduce(f64::max)
}

/// Rows in panel order, then estimator order.
pub fn group_rows(sweep: &Sweep) -> Vec<GroupRow> {
    let half = sweep_best(sweep).map(|b| b / 2.0);
    let mut rows = Vec::new();
    for panel in &sweep.panels {
        for &estimator in &sweep.estimators {
            let runs: Vec<&RunCurves> = sweep
                .runs
                .iter()
                .filter(|r| &r.panel == panel && r.estimator == estimator)
                .collect();
            if let Some(first) = runs.first() {
                rows.push(group_row(first, &runs, half));
            }
        }
    }
    rows
}

fn group_row(first: &RunCurves, runs: &[&RunCurves], half: Option<f64>) -> GroupRow {
    let done: Vec<&RunCurves> = runs
        .iter()
        .copied()
        .filter(|r| r.status == Status::Done)
        .collect();
    let count = |s: Status| runs.iter().filter(|r| r.status == s).count();
    let finals: Vec<f64> = done.iter().filter_map(|r| r.final_reward).collect();
    let reached: Vec<f64> = done
        .iter()
        .filter_map(|r| {
            let half = half?;
            let first = r.rewards.iter().find(|&&(_, reward)| reward >= half)?;
            Some(first.0 as f64)
        })
        .collect();
    let estimator = first.estimator;
    GroupRow {
        estimator,
        panel: first.panel.clone(),
        panel_values: first.panel_values.clone(),
        runs: runs.len(),
        diverged: count(Status::Diverged),
        failed: count(Status::Failed),
        final_reward: spread(&finals),
        best_reward: done.iter().filter_map(|r| r.best_reward).reduce(f64::max),
        generations_to_half_best: spread(&reached).map(|s| s.mean),
        reached_half_best: reached.len(),
        median_grad_var: median(
            runs.iter()
                .flat_map(|r| r.probe_of(estimator).map(|p| p.grad_var)),
        ),
        grad_var_ratio: median(ratios(runs.iter().copied(), estimator)),
    }
}

/// (generations, `estimator`'s grad_var over RLOO's) at each probe of `run`, in step order;
/// probes where RLOO's is zero or not finite give no ratio.
pub fn paired_ratios(run: &RunCurves, estimator: Estimator) -> Vec<(u64, f64)> {
    let reference: BTreeMap<usize, f64> = run
        .probe_of(REFERENCE)
        .map(|p| (p.step, p.grad_var))
        .collect();
    run.probe_of(estimator)
        .filter_map(|p| {
            let r = *reference.get(&p.step)?;
            let ok = r > 0.0 && r.is_finite() && p.grad_var.is_finite();
            ok.then(|| (p.generations as u64, p.grad_var / r))
        })
        .collect()
}

fn ratios<'a>(runs: impl Iterator<Item = &'a RunCurves>, estimator: Estimator) -> Vec<f64> {
    runs.flat_map(|r| paired_ratios(r, estimator))
        .map(|(_, ratio)| ratio)
        .collect()
}

pub fn variance_rows(sweep: &Sweep) -> Vec<VarianceRow> {
    sweep
        .probed
        .iter()
        .map(|&estimator| {
            let points = || sweep.runs.iter().flat_map(|r| r.probe_of(estimator));
            VarianceRow {
                estimator,
                probes: points().count(),
                median_grad_var: median(points().map(|p| p.grad_var)),
                ratio: median(ratios(sweep.runs.iter(), estimator)),
                ratio_at_start: median(
                    sweep.runs.iter().filter_map(|r| {
                        paired_ratios(r, estimator).first().map(|&(_, ratio)| ratio)
                    }),
                ),
                median_snr: median(points().map(|p| p.snr)),
            }
        })
        .collect()
}

/// A table as text cells: what both `summary.md` and `index.html` render.
#[derive(Debug, Clone, PartialEq)]
pub struct Cells {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// `report.csv`'s columns after the estimator and the grid point: every figure at full
/// precision (`format::exact`), empty where there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupFigures {
    pub runs: usize,
    pub finished: usize,
    pub diverged: usize,
    pub failed: usize,
    #[serde(serialize_with = "format::exact")]
    pub final_reward_mean: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub final_reward_std: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub final_reward_ci95_low: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub final_reward_ci95_high: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub best_reward: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub generations_to_half_best: Option<f64>,
    pub runs_reaching_half_best: usize,
    #[serde(serialize_with = "format::exact")]
    pub median_grad_var: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub grad_var_ratio_to_rloo: Option<f64>,
}

impl From<&GroupRow> for GroupFigures {
    fn from(row: &GroupRow) -> Self {
        let finals = row.final_reward;
        Self {
            runs: row.runs,
            finished: finals.map_or(0, |s| s.n),
            diverged: row.diverged,
            failed: row.failed,
            final_reward_mean: finals.map(|s| s.mean),
            final_reward_std: finals.map(|s| s.std),
            final_reward_ci95_low: finals.map(|s| s.mean - s.ci95),
            final_reward_ci95_high: finals.map(|s| s.mean + s.ci95),
            best_reward: row.best_reward,
            generations_to_half_best: row.generations_to_half_best,
            runs_reaching_half_best: row.reached_half_best,
            median_grad_var: row.median_grad_var,
            grad_var_ratio_to_rloo: row.grad_var_ratio,
        }
    }
}

/// One row of `report.csv`: the estimator, the group's grid point (one value per panel
/// column), then its figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow<'a> {
    pub estimator: Estimator,
    pub panel_values: &'a [String],
    pub figures: GroupFigures,
}

/// `report.csv`: `estimator`, the sweep's panel columns, then [`GroupFigures`]' columns.
pub fn report_csv(sweep: &Sweep, rows: &[GroupRow]) -> anyhow::Result<Vec<u8>> {
    let mut header = vec!["estimator"];
    header.extend(sweep.panel_columns.iter().map(String::as_str));
    header.extend(field_names::<GroupFigures>());
    let rows: Vec<ReportRow> = rows
        .iter()
        .map(|row| ReportRow {
            estimator: row.estimator,
            panel_values: &row.panel_values,
            figures: GroupFigures::from(row),
        })
        .collect();
    csv_rows::write(&header, &rows)
}

/// `variance.csv`: [`VarianceRow`]'s columns.
pub fn variance_csv(rows: &[VarianceRow]) -> anyhow::Result<Vec<u8>> {
    csv_rows::write(field_names::<VarianceRow>(), rows)
}

/// The training table for people: reward as mean ± std with the CI, counts where they matter.
pub fn group_cells(sweep: &Sweep, rows: &[GroupRow]) -> Cells {
    let mut header: Vec<String> = vec!["estimator".into()];
    header.extend(sweep.panel_columns.iter().map(|c| leaf(c).to_string()));
    header.extend(
        [
            "runs",
            "final reward (mean ± std)",
            "95 % CI",
            "best",
            "generations to ½ best",
            "median grad var",
            "× RLOO's",
            "diverged",
            "failed",
        ]
        .map(String::from),
    );
    let rows = rows
        .iter()
        .map(|row| {
            let mut cells = vec![row.estimator.to_string()];
            cells.extend(row.panel_values.iter().map(|v| short_value(v)));
            let finals = row.final_reward;
            cells.extend([
                row.runs.to_string(),
                finals.map_or("–".into(), |s| {
                    if s.n < 2 {
                        number(s.mean)
                    } else {
                        format!("{} ± {}", number(s.mean), number(s.std))
                    }
                }),
                finals.filter(|s| s.n >= 2).map_or("–".into(), |s| {
                    format!("[{}, {}]", number(s.mean - s.ci95), number(s.mean + s.ci95))
                }),
                row.best_reward.map_or("–".into(), number),
                match row.generations_to_half_best {
                    Some(g) => format!(
                        "{} ({}/{})",
                        number(g),
                        row.reached_half_best,
                        finals.map_or(0, |s| s.n)
                    ),
                    None => "never".into(),
                },
                row.median_grad_var.map_or("–".into(), number),
                row.grad_var_ratio
                    .map_or("–".into(), |r| format!("{}×", number(r))),
                row.diverged.to_string(),
                row.failed.to_string(),
            ]);
            cells
        })
        .collect();
    Cells { header, rows }
}

pub fn variance_cells(rows: &[VarianceRow]) -> Cells {
    let header = [
        "probed estimator",
        "probes",
        "median grad var",
        "× RLOO's (median)",
        "× RLOO's at the start",
        "median SNR",
    ]
    .map(String::from)
    .to_vec();
    let ratio = |r: Option<f64>| r.map_or("–".into(), |r| format!("{}×", number(r)));
    let rows = rows
        .iter()
        .map(|row| {
            vec![
                row.estimator.to_string(),
                row.probes.to_string(),
                row.median_grad_var.map_or("–".into(), number),
                ratio(row.ratio),
                ratio(row.ratio_at_start),
                row.median_snr.map_or("–".into(), number),
            ]
        })
        .collect();
    Cells { header, rows }
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
    fn exact_numbers_read_back_unchanged() {
        #[derive(Serialize)]
        struct Exact(#[serde(serialize_with = "format::exact")] Option<f64>);
        let text = |v| String::from_utf8(csv_rows::write(&["x"], &[Exact(v)]).unwrap()).unwrap();
        for v in [0.1, 1.0 / 3.0, 973578.5391366496, 1e-300] {
            let written = text(Some(v));
            assert_eq!(written.lines().nth(1).unwrap().parse::<f64>().unwrap(), v);
        }
        assert_eq!(text(None), "x\n\"\"\n");
        assert_eq!(text(Some(f64::NAN)), "x\n\"\"\n");
    }

    #[test]
    fn report_csv_columns_in_order() {
        assert_eq!(
            field_names::<GroupFigures>(),
            [
                "runs",
                "finished",
                "diverged",
                "failed",
                "final_reward_mean",
                "final_reward_std",
                "final_reward_ci95_low",
                "final_reward_ci95_high",
                "best_reward",
                "generations_to_half_best",
                "runs_reaching_half_best",
                "median_grad_var",
                "grad_var_ratio_to_rloo",
            ]
        );
        assert_eq!(
            field_names::<VarianceRow>(),
            [
                "estimator",
                "probes",
                "median_grad_var",
                "grad_var_ratio_to_rloo",
                "grad_var_ratio_to_rloo_at_start",
                "median_snr",
            ]
        );
    }
}
