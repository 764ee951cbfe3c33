//! Reading a sweep back from its CSV files alone — `summary.csv`, and each run's `metrics.csv`
//! and `probe.csv` — so a report can be rebuilt from results copied off a cluster.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};

use crate::record::Status;

/// The summary column naming each run's training estimator (always written by `pglab sweep`).
pub const ESTIMATOR: &str = "train.estimator";
pub const SEED: &str = "seed";
pub const LR: &str = "train.lr";

/// Everything the report draws, one entry per run that has a result.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub name: String,
    /// Grid columns that split runs into panels (e.g. `train.lr`): the ones that vary and are
    /// neither the estimator, the seed, nor fixed by the estimator.
    pub panel_columns: Vec<String>,
    /// Panel labels (`lr = 3e-5`), in the grid's order; one empty label when nothing varies.
    pub panels: Vec<String>,
    /// Training estimators, in the grid's order.
    pub estimators: Vec<String>,
    /// Probed estimators, in `probe.csv`'s order.
    pub probed: Vec<String>,
    pub runs: Vec<RunCurves>,
    /// Grid points without a result yet.
    pub pending: usize,
}

#[derive(Debug, Clone)]
pub struct RunCurves {
    pub id: String,
    pub estimator: String,
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
    pub probe: Vec<ProbePoint>,
}

/// One estimator at one probe of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbePoint {
    pub step: u64,
    pub generations: u64,
    pub estimator: String,
    pub grad_var: f64,
    pub snr: f64,
}

impl RunCurves {
    /// `estimator`'s probe figure at each probe step.
    pub fn probe_of<'a>(&'a self, estimator: &'a str) -> impl Iterator<Item = &'a ProbePoint> {
        self.probe.iter().filter(move |p| p.estimator == estimator)
    }
}

/// A CSV file read into rows of named string fields, with errors naming the file, the line and
/// the column.
struct Table<'a> {
    path: &'a Path,
    header: Vec<String>,
    rows: Vec<csv::StringRecord>,
}

impl<'a> Table<'a> {
    fn read(path: &'a Path) -> anyhow::Result<Self> {
        let mut reader =
            csv::Reader::from_path(path).with_context(|| format!("{}", path.display()))?;
        let header = reader
            .headers()
            .with_context(|| format!("{}", path.display()))?
            .iter()
            .map(str::to_string)
            .collect();
        let rows = reader
            .records()
            .collect::<Result<_, _>>()
            .with_context(|| format!("{}", path.display()))?;
        Ok(Self { path, header, rows })
    }

    fn column(&self, name: &str) -> anyhow::Result<usize> {
        self.header.iter().position(|h| h == name).with_context(|| {
            format!(
                "{}: no column `{name}` (columns: {})",
                self.path.display(),
                self.header.join(", ")
            )
        })
    }

    /// Row `i`'s number in `column`: None when empty, an error naming the spot when not a number.
    fn number(&self, i: usize, column: usize) -> anyhow::Result<Option<f64>> {
        let text = self.rows[i].get(column).unwrap_or("").trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse().map(Some).map_err(|_| {
            anyhow::anyhow!(
                "{}:{}: column `{}`: {text:?} is not a number",
                self.path.display(),
                i + 2,
                self.header[column]
            )
        })
    }

    fn count(&self, i: usize, column: usize) -> anyhow::Result<u64> {
        match self.number(i, column)? {
            Some(v) if v >= 0.0 && v.fract() == 0.0 => Ok(v as u64),
            _ => bail!(
                "{}:{}: column `{}`: expected a whole number",
                self.path.display(),
                i + 2,
                self.header[column]
            ),
        }
    }

    fn text(&self, i: usize, column: usize) -> &str {
        self.rows[i].get(column).unwrap_or("")
    }
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
    let summary = Table::read(&summary_path)?;
    let id = summary.column("run_id")?;
    let status = summary.column("status")?;
    let estimator = summary.column(ESTIMATOR)?;
    let (reason, final_reward, best_reward) = (
        summary.column("reason")?,
        summary.column("final_reward")?,
        summary.column("best_reward")?,
    );
    let seed = summary.column(SEED).ok();
    let lr = summary.column(LR).ok();
    let grid: Vec<usize> = (id + 1..status).collect();
    let panel_columns = panel_columns(&summary, &grid, estimator, seed);

    let mut runs = Vec::new();
    let mut pending = 0;
    for i in 0..summary.rows.len() {
        let status = match summary.text(i, status) {
            "done" => Status::Done,
            "diverged" => Status::Diverged,
            "failed" => Status::Failed,
            "pending" => {
                pending += 1;
                continue;
            }
            other => bail!(
                "{}:{}: column `status`: {other:?} is not one of done, diverged, failed, pending",
                summary_path.display(),
                i + 2
            ),
        };
        let id = summary.text(i, id).to_string();
        let run_dir = dir.join("runs").join(&id);
        let panel_values: Vec<String> = panel_columns
            .iter()
            .map(|&c| summary.text(i, c).to_string())
            .collect();
        runs.push(RunCurves {
            estimator: summary.text(i, estimator).to_string(),
            seed: seed.map_or("0", |c| summary.text(i, c)).to_string(),
            panel: panel_label(&summary, &panel_columns, &panel_values),
            panel_values,
            lr: lr.map(|c| summary.number(i, c)).transpose()?.flatten(),
            reason: summary.text(i, reason).to_string(),
            final_reward: summary.number(i, final_reward)?,
            best_reward: summary.number(i, best_reward)?,
            // A failed run may have stopped before writing any metrics.
            rewards: read_rewards(&run_dir.join("metrics.csv"), status != Status::Failed)?,
            probe: read_probe(&run_dir.join("probe.csv"))?,
            status,
            id,
        });
    }
    let estimators = first_seen(runs.iter().map(|r| r.estimator.as_str()));
    let probed = first_seen(
        runs.iter()
            .flat_map(|r| r.probe.iter().map(|p| p.estimator.as_str())),
    );
    let mut panels = first_seen(runs.iter().map(|r| r.panel.as_str()));
    if panels.is_empty() {
        panels.push(String::new());
    }
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string());
    Ok(Sweep {
        name,
        panel_columns: panel_columns
            .iter()
            .map(|&c| summary.header[c].clone())
            .collect(),
        panels,
        estimators,
        probed,
        runs,
        pending,
    })
}

/// The grid columns that vary, other than the estimator and the seed and other than columns
/// whose value the estimator fixes (a grid over `train = [{estimator = …, k = …}]` tables).
fn panel_columns(
    summary: &Table,
    grid: &[usize],
    estimator: usize,
    seed: Option<usize>,
) -> Vec<usize> {
    let rows = 0..summary.rows.len();
    grid.iter()
        .copied()
        .filter(|&c| c != estimator && Some(c) != seed)
        .filter(|&c| {
            let values = first_seen(rows.clone().map(|i| summary.text(i, c)));
            let mut by_estimator: BTreeMap<&str, &str> = BTreeMap::new();
            let fixed_by_estimator = rows.clone().all(|i| {
                let value = summary.text(i, c);
                *by_estimator
                    .entry(summary.text(i, estimator))
                    .or_insert(value)
                    == value
            });
            values.len() > 1 && !fixed_by_estimator
        })
        .collect()
}

/// `lr = 3e-5, k = 4`: each panel column by its last dotted part, numbers written short.
fn panel_label(summary: &Table, columns: &[usize], values: &[String]) -> String {
    columns
        .iter()
        .zip(values)
        .map(|(&c, value)| format!("{} = {}", leaf(&summary.header[c]), short_value(value)))
        .collect::<Vec<_>>()
        .join(", ")
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

/// (generations, reward_mean) per step of `metrics.csv`; a missing file is an error only when
/// `required`.
fn read_rewards(path: &Path, required: bool) -> anyhow::Result<Vec<(u64, f64)>> {
    if !path.exists() && !required {
        return Ok(Vec::new());
    }
    let table = Table::read(path)?;
    let (generations, reward) = (table.column("generations")?, table.column("reward_mean")?);
    (0..table.rows.len())
        .map(|i| {
            let reward = table.number(i, reward)?.unwrap_or(f64::NAN);
            Ok((table.count(i, generations)?, reward))
        })
        .collect()
}

/// The rows of `probe.csv`; none when the run had no probe (no file, or the empty file a run
/// with `probe.every = 0` leaves).
fn read_probe(path: &Path) -> anyhow::Result<Vec<ProbePoint>> {
    if std::fs::metadata(path).map_or(true, |m| m.len() == 0) {
        return Ok(Vec::new());
    }
    let table = Table::read(path)?;
    let (step, generations, estimator, grad_var, snr) = (
        table.column("step")?,
        table.column("generations")?,
        table.column("estimator")?,
        table.column("grad_var")?,
        table.column("snr")?,
    );
    (0..table.rows.len())
        .map(|i| {
            Ok(ProbePoint {
                step: table.count(i, step)?,
                generations: table.count(i, generations)?,
                estimator: table.text(i, estimator).to_string(),
                grad_var: table.number(i, grad_var)?.unwrap_or(f64::NAN),
                snr: table.number(i, snr)?.unwrap_or(f64::NAN),
            })
        })
        .collect()
}
