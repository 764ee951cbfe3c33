//! Reading a sweep back from its CSV files alone — `summary.csv`, and each run's `metrics.csv`
//! and `probe.csv`, through the types the runner wrote them with — so a report can be rebuilt
//! from results copied off a cluster.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::bail;
use pglab_estimator::{Estimator, TokenReduction};

use crate::csv_rows;
use crate::record::{ProbeRecord, Status, StepRecord};
use crate::summary_csv::{self, ESTIMATOR, SEED, Summary};

/// Everything the report draws, one entry per run that has a result.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub name: String,
    /// Grid columns that split runs into panels (e.g. `train.lr`): the ones that vary and are
    /// neither the estimator, the seed, nor fixed by the estimator.
    pub panel_columns: Vec<String>,
    /// Panel labels (`lr = 3e-5`), in the grid's order; one empty label when nothing varies.
    pub panels: Vec<String>,
    /// Training estimators, each once, in declaration order (`Estimator::ALL`).
    pub estimators: Vec<Estimator>,
    /// Probed estimators, in declaration order.
    pub probed: Vec<Estimator>,
    pub runs: Vec<RunCurves>,
    /// Grid points without a result yet.
    pub pending: usize,
}

#[derive(Debug, Clone)]
pub struct RunCurves {
    pub id: String,
    pub estimator: Estimator,
    pub seed: String,
    pub panel: String,
    /// Values of the panel columns.
    pub panel_values: Vec<String>,
    pub lr: Option<f64>,
    pub status: Status,
    pub reason: String,
    pub final_reward: Option<f64>,
    pub best_reward: Option<f64>,
    /// (generations, reward_mean) per step.
    pub rewards: Vec<(u64, f64)>,
    /// The KL estimate against the starting model per step, aligned with `rewards`; None where
    /// the run logged none (kl_coef = 0).
    pub kl: Vec<Option<f64>>,
    pub probe: Vec<ProbeRecord>,
}

impl RunCurves {
    /// `estimator`'s probe figures at each probe step, under the run's own token reduction.
    pub fn probe_of(&self, estimator: Estimator) -> impl Iterator<Item = &ProbeRecord> {
        self.probe_under(estimator, self.own_reduction())
    }

    /// `estimator`'s probe figures under `reduction` (as `probe.csv` records it).
    pub fn probe_under(
        &self,
        estimator: Estimator,
        reduction: Option<TokenReduction>,
    ) -> impl Iterator<Item = &ProbeRecord> {
        self.probe
            .iter()
            .filter(move |p| p.estimator == estimator && p.token_reduction == reduction)
    }

    /// The run's own token reduction, which the probe writes first at every step (None in a
    /// file written before reductions were recorded, or when the run did not probe).
    pub fn own_reduction(&self) -> Option<TokenReduction> {
        self.probe.first().and_then(|p| p.token_reduction)
    }
}

/// Grid values compared column by column: numerically where both parse as numbers, else as
/// text.
fn compare_values(a: &[String], b: &[String]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(x), Ok(y)) => x.total_cmp(&y),
            _ => x.cmp(y),
        };
        if order.is_ne() {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

/// Reads the sweep in `dir` (a directory holding `summary.csv` and `runs/`).
pub fn load(dir: &Path) -> anyhow::Result<Sweep> {
    let summary_path = dir.join("summary.csv");
    if !summary_path.exists() {
        bail!(
            "{}: not a sweep directory (no summary.csv; `pglab sweep` writes one)",
            dir.display()
        );
    }
    let summary = summary_csv::read(&summary_path)?;
    let panel_columns = panel_columns(&summary);
    let mut runs = Vec::new();
    let mut pending = 0;
    for (row, keys) in &summary.rows {
        let Some(status) = row.outcome.status else {
            pending += 1;
            continue;
        };
        let run_dir = dir.join("runs").join(&row.run_id);
        let steps = read_steps(&run_dir.join("metrics.csv"), status != Status::Failed)?;
        let panel_values: Vec<String> = panel_columns
            .iter()
            .map(|&c| row.point[c].clone())
            .collect();
        runs.push(RunCurves {
            id: row.run_id.clone(),
            estimator: keys.estimator,
            seed: keys.seed.clone().unwrap_or_else(|| "0".into()),
            panel: panel_label(&summary, &panel_columns, &panel_values),
            panel_values,
            lr: keys.lr,
            status,
            reason: row.outcome.reason.clone(),
            final_reward: row.outcome.final_reward,
            best_reward: row.outcome.best_reward,
            // A failed run may have stopped before writing any metrics.
            rewards: steps
                .iter()
                .map(|s| (s.generations as u64, s.reward_mean))
                .collect(),
            kl: steps.iter().map(|s| s.kl).collect(),
            probe: read_probe(&run_dir.join("probe.csv"))?,
        });
    }
    // Panels in the order of their values, numbers as numbers (lr 3e-3 before 0.01), whatever
    // order the grid lists them in.
    let mut by_value: Vec<&RunCurves> = runs.iter().collect();
    by_value.sort_by(|a, b| compare_values(&a.panel_values, &b.panel_values));
    let mut panels = first_seen(by_value.iter().map(|r| r.panel.as_str()));
    if panels.is_empty() {
        panels.push(String::new());
    }
    Ok(Sweep {
        name: sweep_name(dir),
        panel_columns: panel_columns
            .iter()
            .map(|&c| summary.point_columns[c].clone())
            .collect(),
        panels,
        estimators: in_order(runs.iter().map(|r| r.estimator)),
        probed: in_order(
            runs.iter()
                .flat_map(|r| r.probe.iter().map(|p| p.estimator)),
        ),
        runs,
        pending,
    })
}

/// The sweep directory's name, as it is called on disk.
fn sweep_name(dir: &Path) -> String {
    dir.canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string())
}

/// Each estimator once, in declaration order (`Estimator::ALL`): every table and legend lists
/// estimators in the same order, whatever order a grid or a probe named them in.
pub fn in_order(estimators: impl Iterator<Item = Estimator>) -> Vec<Estimator> {
    let rank = |e: &Estimator| Estimator::ALL.iter().position(|a| a == e);
    let mut seen: Vec<Estimator> = Vec::new();
    for e in estimators {
        if !seen.contains(&e) {
            seen.push(e);
        }
    }
    // Stable: an estimator missing from ALL (None sorts first) keeps its place among those.
    seen.sort_by_key(rank);
    seen
}

/// The point columns (indices into `point`) that vary, other than the estimator and the seed,
/// other than columns whose value the estimator fixes (a grid over `train = [{estimator =
/// …, k = …}]` tables), and other than a grid key whose values are tables: its keys have
/// columns of their own (`train` beside `train.estimator` and `train.lr`).
fn panel_columns(summary: &Summary) -> Vec<usize> {
    let position = |name: &str| summary.point_columns.iter().position(|c| c == name);
    let is_table = |column: &str| {
        let prefix = format!("{column}.");
        summary.point_columns.iter().any(|c| c.starts_with(&prefix))
    };
    let (estimator, seed) = (position(ESTIMATOR), position(SEED));
    let rows = || {
        summary
            .rows
            .iter()
            .map(|(row, keys)| (&row.point, keys.estimator))
    };
    (0..summary.point_columns.len())
        .filter(|&c| Some(c) != estimator && Some(c) != seed)
        .filter(|&c| !is_table(&summary.point_columns[c]))
        .filter(|&c| {
            let values = first_seen(rows().map(|(point, _)| point[c].as_str()));
            let mut by_estimator: BTreeMap<&str, &str> = BTreeMap::new();
            let fixed_by_estimator = rows().all(|(point, e)| {
                let value = point[c].as_str();
                *by_estimator.entry(e.name()).or_insert(value) == value
            });
            values.len() > 1 && !fixed_by_estimator
        })
        .collect()
}

/// `lr = 3e-5, k = 4`: each panel column by its last dotted part, numbers written short.
fn panel_label(summary: &Summary, columns: &[usize], values: &[String]) -> String {
    columns
        .iter()
        .zip(values)
        .map(|(&c, value)| {
            let column = &summary.point_columns[c];
            format!("{} = {}", leaf(column), short_value(value))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A grid point's label without one column (`k = 4` of `lr = 1e-4, k = 4` without `train.lr`):
/// what tells apart the lines of a figure whose x axis is that column.
pub fn label_without(sweep: &Sweep, panel_values: &[String], column: &str) -> String {
    sweep
        .panel_columns
        .iter()
        .zip(panel_values)
        .filter(|(c, _)| c.as_str() != column)
        .map(|(c, v)| format!("{} = {}", leaf(c), short_value(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `estimator` or `estimator (k = 4)`: a line of one estimator at one setting of the other keys.
pub fn line_label(estimator: Estimator, rest: &str) -> String {
    if rest.is_empty() {
        estimator.to_string()
    } else {
        format!("{estimator} ({rest})")
    }
}

/// The last part of a dotted key: `lr` of `train.lr`.
pub fn leaf(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// A grid value as people read it: floats written short (`0.00003` → `3e-5`).
pub fn short_value(value: &str) -> String {
    match value.parse::<f64>() {
        Ok(v) if value.contains(['.', 'e', 'E']) => format_float(v),
        _ => value.to_string(),
    }
}

/// A float as pglab writes it in run ids and labels: short, `3e-5` rather than `0.00003`.
pub fn format_float(f: f64) -> String {
    if f != 0.0 && (f.abs() < 1e-2 || f.abs() >= 1e4) {
        let s = format!("{f:e}");
        s.replace("e-0", "e-")
    } else {
        let s = format!("{f}");
        s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
    }
}

fn first_seen<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for item in items {
        if !seen.iter().any(|s| s == item) {
            seen.push(item.to_string());
        }
    }
    seen
}

/// The rows of `metrics.csv`; a missing file is an error only when `required`.
fn read_steps(path: &Path, required: bool) -> anyhow::Result<Vec<StepRecord>> {
    if !path.exists() && !required {
        return Ok(Vec::new());
    }
    csv_rows::read(path)
}

/// The rows of `probe.csv`; none when the run had no probe (no file, or the empty file a run
/// with `probe.every = 0` leaves).
fn read_probe(path: &Path) -> anyhow::Result<Vec<ProbeRecord>> {
    if std::fs::metadata(path).map_or(true, |m| m.len() == 0) {
        return Ok(Vec::new());
    }
    csv_rows::read(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panel_values_sort_as_numbers_where_they_are_numbers() {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        // As text "0.01" < "3e-3"; as numbers 0.003 < 0.01.
        assert_eq!(compare_values(&v(&["3e-3"]), &v(&["0.01"])), Less);
        assert_eq!(compare_values(&v(&["0.1"]), &v(&["0.03"])), Greater);
        // Column by column: the first that differs decides; text where not numbers.
        assert_eq!(compare_values(&v(&["4", "b"]), &v(&["4", "a"])), Greater);
        assert_eq!(
            compare_values(&v(&["sum", "1e-3"]), &v(&["mean", "0.1"])),
            Greater
        );
        assert_eq!(compare_values(&v(&["1e-2"]), &v(&["0.01"])), Equal);
    }

    #[test]
    fn estimators_come_once_each_in_declaration_order() {
        use Estimator::{DrGrpo, Grpo, Reinforce, Rloo};
        let named = [Grpo, Rloo, Grpo, Reinforce, DrGrpo, Rloo];
        assert_eq!(in_order(named.into_iter()), [Reinforce, Rloo, Grpo, DrGrpo]);
    }

    #[test]
    fn grid_values_are_written_short() {
        assert_eq!(short_value("0.00003"), "3e-5");
        assert_eq!(short_value("0.1"), "0.1");
        assert_eq!(short_value("4"), "4");
        assert_eq!(leaf("train.lr"), "lr");
    }
}
