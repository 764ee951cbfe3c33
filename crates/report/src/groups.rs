//! The training results: one row per group (estimator × grid point minus the seed) for
//! `report.csv`, and the same as a table for `summary.md` and `index.html`. Every statistic is
//! computed per run first ([`crate::run_stats`]) and then across the group's finished runs
//! (`done`; a diverged run has no final reward) as a mean with its 95 % t-interval, or for the
//! success rate a Wilson 95 % interval. Four seeds can split between two outcomes: the
//! interval is then wide, and is written as wide as it is.

use pglab_estimator::Estimator;
use pglab_estimator::stats::{Spread, spread, wilson95};
use serde::{Deserialize, Serialize};

use crate::ReportOptions;
use crate::csv_rows::{self, field_names, format};
use crate::load::{RunCurves, Sweep, leaf, short_value};
use crate::record::{FINAL_WINDOW, Status};
use crate::run_stats::{auc, final_window_mean};
use crate::table::{Cells, NONE, number, spread_cell};

/// One training group: the runs of one estimator at one grid point, over seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    pub estimator: Estimator,
    pub panel: String,
    pub panel_values: Vec<String>,
    /// The group's learning rate (`train.lr`), when summary.csv has one.
    pub lr: Option<f64>,
    pub runs: usize,
    /// Runs that ended `done`: the ones every statistic below is over.
    pub finished: usize,
    pub diverged: usize,
    pub failed: usize,
    /// Final reward (summary.csv's, the mean of the last `FINAL_WINDOW` steps) over the runs.
    pub final_reward: Option<Spread>,
    /// Finished runs with a final reward ≥ the threshold; None without a threshold.
    pub success: Option<Success>,
    /// Each run's mean reward over training (normalised area under its curve).
    pub auc: Option<Spread>,
    /// The finished runs' own final rewards and AUCs, for intervals that resample them.
    pub final_rewards: Vec<f64>,
    pub aucs: Vec<f64>,
    /// Each run's mean KL over its last `FINAL_WINDOW` steps; None when no run logged KL.
    pub final_kl: Option<Spread>,
    /// The highest `best_reward` of the group's finished runs.
    pub best_reward: Option<f64>,
    /// Mean over the finished runs that got there of the generations at which a step's mean
    /// reward first reached half of the sweep's best reward.
    pub generations_to_half_best: Option<f64>,
    pub reached_half_best: usize,
}

/// How many of a group's trials (its finished and diverged runs) succeeded, and the Wilson 95 %
/// interval of the rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Success {
    pub successes: usize,
    pub trials: usize,
    /// None when no run finished.
    pub interval: Option<(f64, f64)>,
}

impl Success {
    pub fn rate(&self) -> Option<f64> {
        (self.trials > 0).then(|| self.successes as f64 / self.trials as f64)
    }
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
pub fn group_rows(sweep: &Sweep, options: &ReportOptions) -> Vec<GroupRow> {
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
                rows.push(group_row(first, &runs, half, options.success_reward));
            }
        }
    }
    rows
}

fn group_row(
    first: &RunCurves,
    runs: &[&RunCurves],
    half: Option<f64>,
    success_reward: Option<f64>,
) -> GroupRow {
    let done: Vec<&RunCurves> = runs
        .iter()
        .copied()
        .filter(|r| r.status == Status::Done)
        .collect();
    let count = |s: Status| runs.iter().filter(|r| r.status == s).count();
    let finals: Vec<f64> = done
        .iter()
        .filter_map(|r| r.final_reward)
        .filter(|f| f.is_finite())
        .collect();
    let aucs: Vec<f64> = done.iter().filter_map(|r| auc(&r.rewards)).collect();
    let kls: Vec<f64> = done
        .iter()
        .filter_map(|r| final_window_mean(&r.kl))
        .collect();
    let reached: Vec<f64> = done
        .iter()
        .filter_map(|r| {
            let half = half?;
            let first = r.rewards.iter().find(|&&(_, reward)| reward >= half)?;
            Some(first.0 as f64)
        })
        .collect();
    // A diverged run is a trial that failed; a run that failed on an error (a full disk, a
    // bad reward program) says nothing about the estimator and is left out.
    let success = success_reward.map(|threshold| {
        let successes = finals.iter().filter(|&&f| f >= threshold).count();
        let trials = done.len() + count(Status::Diverged);
        Success {
            successes,
            trials,
            interval: wilson95(successes, trials),
        }
    });
    GroupRow {
        estimator: first.estimator,
        panel: first.panel.clone(),
        panel_values: first.panel_values.clone(),
        lr: first.lr,
        runs: runs.len(),
        finished: done.len(),
        diverged: count(Status::Diverged),
        failed: count(Status::Failed),
        final_reward: spread(&finals),
        success,
        auc: spread(&aucs),
        final_rewards: finals.clone(),
        aucs: aucs.clone(),
        final_kl: spread(&kls),
        best_reward: done.iter().filter_map(|r| r.best_reward).reduce(f64::max),
        generations_to_half_best: spread(&reached).map(|s| s.mean),
        reached_half_best: reached.len(),
    }
}

/// `report.csv`'s columns after the estimator and the grid point: every figure at full
/// precision (`format::exact`), empty where there is none (an interval from one run, a success
/// rate without a threshold, a KL the runs did not log).
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
    pub success_rate: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub success_ci95_low: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub success_ci95_high: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub auc_mean: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub auc_ci95_low: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub auc_ci95_high: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub final_kl_mean: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub final_kl_ci95_low: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub final_kl_ci95_high: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub best_reward: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub generations_to_half_best: Option<f64>,
    pub runs_reaching_half_best: usize,
}

impl From<&GroupRow> for GroupFigures {
    fn from(row: &GroupRow) -> Self {
        let low = |s: Option<Spread>| s.and_then(|s| s.interval()).map(|(lo, _)| lo);
        let high = |s: Option<Spread>| s.and_then(|s| s.interval()).map(|(_, hi)| hi);
        let success = row.success.as_ref();
        Self {
            runs: row.runs,
            finished: row.finished,
            diverged: row.diverged,
            failed: row.failed,
            final_reward_mean: row.final_reward.map(|s| s.mean),
            final_reward_std: row.final_reward.map(|s| s.std),
            final_reward_ci95_low: low(row.final_reward),
            final_reward_ci95_high: high(row.final_reward),
            success_rate: success.and_then(Success::rate),
            success_ci95_low: success.and_then(|s| s.interval).map(|(lo, _)| lo),
            success_ci95_high: success.and_then(|s| s.interval).map(|(_, hi)| hi),
            auc_mean: row.auc.map(|s| s.mean),
            auc_ci95_low: low(row.auc),
            auc_ci95_high: high(row.auc),
            final_kl_mean: row.final_kl.map(|s| s.mean),
            final_kl_ci95_low: low(row.final_kl),
            final_kl_ci95_high: high(row.final_kl),
            best_reward: row.best_reward,
            generations_to_half_best: row.generations_to_half_best,
            runs_reaching_half_best: row.reached_half_best,
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

/// `k/n = rate [low, high]`, the Wilson interval of the success rate.
pub fn success_cell(success: Option<&Success>) -> String {
    match success {
        Some(s) => match (s.rate(), s.interval) {
            (Some(rate), Some((lo, hi))) => format!(
                "{}/{} = {} [{}, {}]",
                s.successes,
                s.trials,
                number(rate),
                number(lo),
                number(hi)
            ),
            _ => NONE.into(),
        },
        None => NONE.into(),
    }
}

/// The training table for people: each figure with its interval; the success and KL columns
/// only when the sweep has them.
pub fn group_cells(sweep: &Sweep, rows: &[GroupRow], options: &ReportOptions) -> Cells {
    let with_kl = rows.iter().any(|r| r.final_kl.is_some());
    let mut header: Vec<String> = vec!["estimator".into()];
    header.extend(sweep.panel_columns.iter().map(|c| leaf(c).to_string()));
    header.extend(["runs (finished)", "final reward"].map(String::from));
    if let Some(t) = options.success_reward {
        header.push(format!("success (final reward ≥ {})", number(t)));
    }
    header.push("mean reward over training (AUC)".into());
    if with_kl {
        header.push("final KL".into());
    }
    header.extend(["best", "generations to ½ best", "diverged", "failed"].map(String::from));
    let rows = rows
        .iter()
        .map(|row| {
            let mut cells = vec![row.estimator.to_string()];
            cells.extend(row.panel_values.iter().map(|v| short_value(v)));
            cells.push(format!("{} ({})", row.runs, row.finished));
            cells.push(spread_cell(row.final_reward));
            if options.success_reward.is_some() {
                cells.push(success_cell(row.success.as_ref()));
            }
            cells.push(spread_cell(row.auc));
            if with_kl {
                cells.push(spread_cell(row.final_kl));
            }
            cells.extend([
                row.best_reward.map_or(NONE.into(), number),
                match row.generations_to_half_best {
                    Some(g) => {
                        format!("{} ({}/{})", number(g), row.reached_half_best, row.finished)
                    }
                    None => "never".into(),
                },
                row.diverged.to_string(),
                row.failed.to_string(),
            ]);
            cells
        })
        .collect();
    Cells { header, rows }
}

/// What the training table's numbers are.
pub fn training_note(best: Option<f64>, options: &ReportOptions) -> String {
    let success = match options.success_reward {
        Some(t) => format!(
            " Success: the runs whose final reward is at least {} (k/n = rate; a diverged run \
             counts as a failure, a run that failed on an error is left out), with the Wilson \
             95 % interval of the rate.",
            number(t)
        ),
        None => String::new(),
    };
    format!(
        "Statistics over the finished runs (seeds) of each row, each run counted once: the \
         mean, and in brackets the 95 % Student-t interval of the mean (none from a single \
         run; with few seeds that split between outcomes it is wide, and is shown unclipped). \
         Final reward: the mean reward of a run's last {FINAL_WINDOW} steps.{success} Mean \
         reward over training (AUC): the area under a run's reward-vs-generations curve \
         (trapezoids) divided by the generations it spans. Final KL: a run's mean KL estimate \
         against the starting model over its last {FINAL_WINDOW} steps. Best: the highest step \
         mean reward of any finished seed. Generations to ½ best: the first generation count \
         at which a step's mean reward reached half of the sweep's best ({}), averaged over \
         the seeds that got there (seeds/finished).",
        best.map_or("none".into(), number)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
                "success_rate",
                "success_ci95_low",
                "success_ci95_high",
                "auc_mean",
                "auc_ci95_low",
                "auc_ci95_high",
                "final_kl_mean",
                "final_kl_ci95_low",
                "final_kl_ci95_high",
                "best_reward",
                "generations_to_half_best",
                "runs_reaching_half_best",
            ]
        );
    }

    #[test]
    fn success_cells_carry_the_wilson_interval() {
        // 3 of 8 (stats' test): [0.136844, 0.694258].
        let s = Success {
            successes: 3,
            trials: 8,
            interval: wilson95(3, 8),
        };
        assert_eq!(success_cell(Some(&s)), "3/8 = 0.375 [0.137, 0.694]");
        assert_eq!(success_cell(None), "–");
    }
}
