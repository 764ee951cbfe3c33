//! A sweep's results directory as a type: where everything lives, which runs are finished or
//! failed, the overrides it was run under, its summary and its lock. Every command that reads or
//! writes a sweep directory (sweep, status, slurm, report) goes through `SweepDir`.
//!
//! Layout: `<out>/<name>/sweep.toml` (the experiment file as run), `overrides.json`,
//! `machine.json` (the CPU, caches, threads and build it ran on), `summary.csv`, the report, and
//! `runs/<run_id>/{config.toml, machine.json, metrics.csv, probe.csv, samples.jsonl, done.json}`.
//! A run is finished when its `done.json` exists and names the hash of its `config.toml`; any
//! other run directory is redone from the start (docs/ARCHITECTURE.md, "The results directory").

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use pglab_report::summary_csv::{self, ESTIMATOR, LR, Outcome, SEED, SummaryRow};
use pglab_report::{RunResult, Status, write_atomically};

use crate::experiment::{self, Experiment, Overrides, RunSpec};
use crate::hash::sha256_hex;
use crate::sweep::lock::{Holders, SweepLock, holders, lock};

/// One sweep's directory (`results/reinforce_vs_rloo`).
#[derive(Debug, Clone)]
pub struct SweepDir {
    path: PathBuf,
}

impl SweepDir {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `sweep.toml`: the experiment file as it was run.
    pub fn experiment_file(&self) -> PathBuf {
        self.path.join("sweep.toml")
    }

    pub fn runs_dir(&self) -> PathBuf {
        self.path.join("runs")
    }

    /// The directory of run `spec`.
    pub fn run_dir(&self, spec: &RunSpec) -> PathBuf {
        self.runs_dir().join(&spec.id)
    }

    /// The finished result of a run, if its `done.json` matches its current settings.
    pub fn finished(&self, spec: &RunSpec) -> Option<RunResult> {
        let dir = self.run_dir(spec);
        let result: RunResult =
            serde_json::from_slice(&std::fs::read(dir.join("done.json")).ok()?).ok()?;
        let config_text = toml::to_string_pretty(&spec.config).ok()?;
        (result.config_hash == sha256_hex(config_text.as_bytes())).then_some(result)
    }

    /// A run's `failed.json`, if it failed.
    pub fn failed(&self, spec: &RunSpec) -> Option<RunResult> {
        let path = self.run_dir(spec).join("failed.json");
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }

    /// How a run ended: finished, else failed; None while it has not.
    pub fn outcome(&self, spec: &RunSpec) -> Option<RunResult> {
        self.finished(spec).or_else(|| self.failed(spec))
    }

    pub fn status(&self, spec: &RunSpec) -> Option<Status> {
        self.outcome(spec).map(|r| r.status)
    }

    /// The overrides it was run under (none recorded reads as none).
    pub fn recorded_overrides(&self) -> anyhow::Result<RecordedOverrides> {
        RecordedOverrides::read(&self.path)
    }

    /// The experiment recorded here: `sweep.toml` under its recorded overrides.
    pub fn experiment(&self) -> anyhow::Result<Experiment> {
        let file = self.experiment_file();
        let text = std::fs::read_to_string(&file).with_context(|| {
            format!(
                "{}: not a sweep directory (no readable sweep.toml)",
                self.path.display()
            )
        })?;
        let overrides = self.recorded_overrides()?.overrides;
        experiment::parse(&file, &text, &overrides)
    }

    /// The runs of the sweep recorded here, in grid order.
    pub fn runs(&self) -> anyhow::Result<Vec<RunSpec>> {
        self.experiment()?.expand()
    }

    /// Takes the directory's lock (the shard's, under `--shard`): one sweep at a time.
    pub fn lock(&self, shard: Option<(usize, usize)>) -> anyhow::Result<SweepLock> {
        lock(&self.path, shard)
    }

    /// Which runs the sweeps holding this directory's locks run.
    pub fn holders(&self) -> Holders {
        holders(&self.path)
    }

    /// `summary.csv`: one row per run of the whole grid (every shard's), built from the run
    /// directories, so shards sharing a directory agree on one summary.
    pub fn write_summary(&self, runs: &[RunSpec], experiment: &Experiment) -> anyhow::Result<()> {
        // The grid's keys, then the estimator, learning rate and seed of every run even when
        // they are not in the grid: the report groups and plots by them.
        let mut columns: Vec<String> = experiment.grid.iter().map(|(k, _)| k.clone()).collect();
        // A grid key whose values are tables (`train = [{ objective = …, epochs = … }]`): a
        // column per key any of them sets (`train.objective`), so the report can split by it.
        for (key, values) in &experiment.grid {
            for value in values {
                for sub in value.as_table().into_iter().flat_map(|t| t.keys()) {
                    let column = format!("{key}.{sub}");
                    if !columns.contains(&column) {
                        columns.push(column);
                    }
                }
            }
        }
        for key in summary_csv::KEYS {
            if !columns.iter().any(|c| c == key) {
                columns.push(key.to_string());
            }
        }
        let rows: Vec<SummaryRow> = runs
            .iter()
            .map(|spec| SummaryRow {
                run_id: spec.id.clone(),
                point: columns.iter().map(|c| point_value(spec, c)).collect(),
                outcome: Outcome::of(self.outcome(spec).as_ref()),
            })
            .collect();
        write_atomically(
            &self.path.join("summary.csv"),
            &summary_csv::to_csv(&columns, &rows)?,
        )
    }
}

/// The run's value of a summary point column: its grid value, or for a [`summary_csv::KEYS`]
/// column outside the grid, its setting.
fn point_value(spec: &RunSpec, column: &str) -> String {
    let value = spec
        .point
        .iter()
        .find(|(k, _)| k == column)
        .map(|(_, v)| v)
        .or_else(|| table_entry(spec, column));
    match (value, column) {
        (Some(toml::Value::String(s)), _) => s.clone(),
        (Some(other), _) => other.to_string(),
        (None, ESTIMATOR) => spec.config.train.estimator.name().to_string(),
        (None, LR) => spec.config.train.lr.to_string(),
        (None, SEED) => spec.config.seed.to_string(),
        // A key some of a grid key's tables set and this run's leaves at its setting: the
        // setting as the run's config.toml writes it (empty at a default it leaves out).
        (None, other) => setting(spec, other).unwrap_or_default(),
    }
}

/// `train.objective` in the run's grid table `train`, if it sets it.
fn table_entry<'a>(spec: &'a RunSpec, column: &str) -> Option<&'a toml::Value> {
    let (key, sub) = column.rsplit_once('.')?;
    let (_, value) = spec.point.iter().find(|(k, _)| k == key)?;
    value.as_table()?.get(sub)
}

/// The run's setting at a dotted key, as its config.toml writes it.
fn setting(spec: &RunSpec, column: &str) -> Option<String> {
    let mut value = toml::Value::try_from(&spec.config).ok()?;
    for part in column.split('.') {
        value = value.as_table()?.get(part)?.clone();
    }
    Some(match value {
        toml::Value::String(s) => s,
        other => other.to_string(),
    })
}

/// The command line's overrides of a sweep, as `overrides.json` records them: a sweep directory
/// resumes only under the same ones. Another `--grid seed=…` in the same directory would mix two
/// sweeps' runs in one report, and another `--set` would redo finished runs under new settings,
/// so either is refused with a pointer to `--out`.
#[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecordedOverrides {
    /// As typed (`--grid seed=100..108`).
    pub command_line: String,
    /// As applied (`grid seed = [100, 101, …]`), what is compared.
    pub applied: Vec<String>,
    /// The flags' values, to expand the same grid again (`pglab status`).
    #[serde(flatten)]
    pub overrides: Overrides,
}

impl RecordedOverrides {
    pub fn of(overrides: &Overrides) -> Self {
        let mut applied: Vec<String> = overrides
            .set
            .iter()
            .filter_map(|s| experiment::overrides::parse_override(s).ok())
            .map(|(k, v)| format!("set {k} = {v}"))
            .collect();
        applied.extend(
            overrides
                .grid
                .iter()
                .filter_map(|g| experiment::overrides::parse_grid_override(g).ok())
                .map(|(k, v)| format!("grid {k} = {}", toml::Value::Array(v))),
        );
        Self {
            command_line: overrides.describe(),
            applied,
            overrides: overrides.clone(),
        }
    }

    /// Says on stderr what the command line changed (`set train.lr = 0.01`, `grid seed = [0, 1]`).
    pub fn announce(&self) {
        for line in &self.applied {
            eprintln!("{line}");
        }
    }

    /// The record in sweep directory `out`; none (a sweep without overrides, or one run before
    /// they were recorded) reads as no overrides.
    pub fn read(out: &Path) -> anyhow::Result<Self> {
        let path = out.join("overrides.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{}: not an overrides record", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("{}", path.display())),
        }
    }

    /// Refuses a sweep directory that was run under other overrides.
    pub fn check_against(&self, out: &Path) -> anyhow::Result<()> {
        // No run started yet (a sweep stopped before it recorded its overrides): nothing to mix.
        let no_runs = std::fs::read_dir(out.join("runs")).map_or(true, |mut d| d.next().is_none());
        if no_runs && !out.join("overrides.json").exists() {
            return Ok(());
        }
        let before = Self::read(out)?;
        if before.applied != self.applied {
            let said = |c: &str| {
                if c.is_empty() {
                    "no --set or --grid".to_string()
                } else {
                    format!("`{c}`")
                }
            };
            bail!(
                "{}: this sweep directory was run with {}, this command has {}; give it another --out (or delete the directory) so the two sweeps' runs do not mix",
                out.display(),
                said(&before.command_line),
                said(&self.command_line)
            );
        }
        Ok(())
    }
}
