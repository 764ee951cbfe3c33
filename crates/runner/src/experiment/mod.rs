//! Experiment files: the TOML a user writes (one run's settings plus a `[grid]` of values to
//! sweep), parsed with serde, validated once, and expanded into one `RunConfig` per grid point.
//! Every error names the file, line and column, the key, and for a misspelt key the nearest
//! valid one.
//!
//! - [`schema`]: the settings as serde types, with defaults;
//! - [`overrides`]: `--set key=value` and `--grid key=values`;
//! - [`grid`]: expansion and run ids;
//! - [`validate`]: what serde cannot check;
//! - `crate::toml_diagnostics`: where an error is and what to say about it.

pub mod grid;
pub mod overrides;
pub mod schema;
mod validate;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use pglab_report::ReportOptions;
use serde::Deserialize;
use toml::{Spanned, Table, Value};

use crate::toml_diagnostics::{
    describe, first_line, locate_grid_key, locate_key, location, offending_key,
};
use grid::{Point, expand_grid, run_id};
pub use overrides::Overrides;
use overrides::{get_dotted, parse_grid_override, parse_override, set_dotted};
pub use schema::{LoggingConfig, OptimizerKind, ProbeConfig, RunConfig, SweepSection, TrainConfig};
use validate::fits;
pub use validate::validate;

/// A parsed experiment: the base settings, the grid and where results go.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub path: PathBuf,
    pub text: String,
    pub sweep: SweepSection,
    /// The file's settings without `[grid]`/`[sweep]`, `--set` overrides applied.
    base: Table,
    /// Dotted key → values, keys in the order the file gives them.
    pub grid: Vec<(String, Vec<Value>)>,
    /// The grid keys `--grid` gave (errors about them name the flag, not the file).
    command_line_axes: Vec<String>,
    /// The `[report]` table: how the sweep's report judges its runs.
    pub report: ReportOptions,
}

/// One point of the grid: its id and settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    pub id: String,
    /// (dotted key, value) of each grid key at this point.
    pub point: Point,
    pub config: RunConfig,
}

/// Reads, parses and validates an experiment file with the command line's `--set` and `--grid`
/// overrides applied, and expands the grid. Nothing is written.
pub fn load(path: &Path, overrides: &Overrides) -> anyhow::Result<(Experiment, Vec<RunSpec>)> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let experiment = parse(path, &text, overrides)?;
    let runs = experiment.expand()?;
    Ok((experiment, runs))
}

/// The file's `[grid]`, `[sweep]` and `[report]`, other keys ignored, so the spans are the
/// file's own.
#[derive(Deserialize)]
struct FileShape {
    #[serde(default)]
    grid: BTreeMap<String, Spanned<Vec<Value>>>,
    #[serde(default)]
    sweep: SweepSection,
    #[serde(default)]
    report: ReportOptions,
}

pub fn parse(path: &Path, text: &str, overrides: &Overrides) -> anyhow::Result<Experiment> {
    let here = |span: Option<std::ops::Range<usize>>| location(path, text, span);
    let mut table: Table = text
        .parse::<Table>()
        .map_err(|e| anyhow::anyhow!("{}: {}", here(e.span()), first_line(e.message())))?;
    // `[grid]`, `[sweep]` and `[report]` are read on their own (with spans); the rest is one
    // run's settings.
    for section in ["grid", "sweep", "report"] {
        table.remove(section);
    }
    let mut shape: FileShape = toml::from_str(text)
        .map_err(|e| anyhow::anyhow!("{}: {}", here(e.span()), describe(e.message(), "")))?;
    for set in &overrides.set {
        let (key, value) = parse_override(set)?;
        // Setting a grid key pins it: the grid no longer varies it.
        shape.grid.remove(&key);
        set_dotted(&mut table, &key, value.clone())
            .map_err(|e| anyhow::anyhow!("--set {}: {e}", key.escape_debug()))?;
    }
    for (key, values) in &shape.grid {
        check_grid_values(values.get_ref())
            .map_err(|e| anyhow::anyhow!("{}: grid.\"{key}\": {e}", here(Some(values.span()))))?;
    }
    // The keys in the order the file writes them (their spans), so run ids read the same way.
    let mut keys: Vec<(&String, &Spanned<Vec<Value>>)> = shape.grid.iter().collect();
    keys.sort_by_key(|(_, values)| values.span().start);
    let mut grid: Vec<(String, Vec<Value>)> = keys
        .into_iter()
        .map(|(k, v)| (k.clone(), v.get_ref().clone()))
        .collect();
    let mut command_line_axes = Vec::new();
    for arg in &overrides.grid {
        let (key, values) = parse_grid_override(arg)?;
        command_line_axes.push(key.clone());
        replace_grid_axis(&mut grid, &overrides.set, key, values)
            .map_err(|e| anyhow::anyhow!("--grid {}: {e}", arg.escape_debug()))?;
    }
    let experiment = Experiment {
        path: path.to_path_buf(),
        text: text.to_string(),
        sweep: shape.sweep,
        base: table,
        grid,
        command_line_axes,
        report: shape.report,
    };
    // The base settings must form a valid run on their own when there is no grid (with a grid,
    // grid keys may fill required ones: `expand` checks every point).
    if experiment.grid.is_empty() {
        experiment.resolve(&[])?;
    }
    experiment.check_values_the_grid_replaces()?;
    Ok(experiment)
}

/// A grid axis's values: at least one, none twice.
fn check_grid_values(values: &[Value]) -> Result<(), String> {
    if values.is_empty() {
        return Err("empty list; give at least one value".into());
    }
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(format!("value {v} appears twice"));
        }
    }
    Ok(())
}

/// `--grid key=values`: replaces the axis `key` where the file has one (keeping its place in
/// the run ids), else adds it as the last (fastest-varying) axis.
fn replace_grid_axis(
    grid: &mut Vec<(String, Vec<Value>)>,
    pinned: &[String],
    key: String,
    values: Vec<Value>,
) -> Result<(), String> {
    check_grid_values(&values)?;
    if pinned
        .iter()
        .any(|set| set.split_once('=').is_some_and(|(k, _)| k.trim() == key))
    {
        return Err(format!(
            "`{key}` is also given by --set; give one or the other"
        ));
    }
    let nested = |outer: &str, inner: &str| inner.starts_with(&format!("{outer}."));
    if let Some((other, _)) = grid
        .iter()
        .find(|(k, _)| nested(k, &key) || nested(&key, k))
    {
        return Err(format!(
            "the grid's key `{other}` already varies `{key}` (or the other way round): replace `{other}` instead"
        ));
    }
    match grid.iter_mut().find(|(k, _)| *k == key) {
        Some((_, old)) => *old = values,
        None => grid.push((key, values)),
    }
    Ok(())
}

impl Experiment {
    /// The sweep's output directory: `out/name`.
    pub fn output_dir(&self, out_override: Option<&Path>) -> PathBuf {
        let name = self.sweep.name.clone().unwrap_or_else(|| {
            self.path
                .file_stem()
                .map_or("sweep".into(), |s| s.to_string_lossy().into_owned())
        });
        let out = out_override
            .map(Path::to_path_buf)
            .or_else(|| self.sweep.out.clone())
            .unwrap_or_else(|| PathBuf::from("results"));
        out.join(name)
    }

    /// Every grid point as a validated run, in a fixed order (first grid key slowest).
    pub fn expand(&self) -> anyhow::Result<Vec<RunSpec>> {
        let runs = expand_grid(&self.grid)
            .into_iter()
            .map(|point| {
                let config = self.resolve(&point)?;
                Ok(RunSpec {
                    id: run_id(&point),
                    point,
                    config,
                })
            })
            .collect::<anyhow::Result<Vec<RunSpec>>>()?;
        self.check_selection_seeds(&runs)?;
        self.probe_only_the_chosen_seeds(runs)
    }

    /// `[probe] seeds`, a sweep-level choice, resolved into each run's settings: the runs of
    /// other seeds do not probe, and no run carries the subset itself (a run's settings say what
    /// it does, whichever sweep it belongs to).
    fn probe_only_the_chosen_seeds(&self, mut runs: Vec<RunSpec>) -> anyhow::Result<Vec<RunSpec>> {
        let seeds: Vec<u64> = runs.iter().map(|r| r.config.seed).collect();
        for run in &mut runs {
            let Some(subset) = run.config.probe.seeds.take() else {
                continue;
            };
            let chosen = subset.pick(&seeds).map_err(|e| {
                let key = "probe.seeds";
                anyhow::anyhow!("{}: {key}: {e}", locate_key(&self.path, &self.text, key))
            })?;
            if !chosen.contains(&run.config.seed) {
                run.config.probe.turn_off();
            }
        }
        Ok(runs)
    }

    /// `[report] selection_seeds` must name seeds the grid runs and leave some to compare on:
    /// a selection that matches nothing would drop the learning claims without a word.
    fn check_selection_seeds(&self, runs: &[RunSpec]) -> anyhow::Result<()> {
        let seeds: Vec<u64> = runs.iter().map(|r| r.config.seed).collect();
        match self.report.selection_seeds.pick_for_selection(&seeds) {
            Ok(_) => Ok(()),
            Err(e) => {
                let key = "report.selection_seeds";
                let at = locate_key(&self.path, &self.text, key);
                anyhow::bail!("{at}: {key}: {e}")
            }
        }
    }

    /// A value the grid replaces in every run is still read: `estimator = "rlooo"` under
    /// `[train]` with a grid over `train.estimator` is a typo the user should hear about. Each
    /// such key is deserialised at its own value with the first grid point's other values;
    /// combinations are not validated (a base `k = 1` is fine when the grid sets k in every run
    /// and pairs it with rloo). Keys whose grid values are tables are left to `expand`.
    fn check_values_the_grid_replaces(&self) -> anyhow::Result<()> {
        for (key, values) in &self.grid {
            if get_dotted(&self.base, key).is_none() || values.iter().any(Value::is_table) {
                continue;
            }
            let others: Point = self
                .grid
                .iter()
                .filter(|(k, _)| k != key)
                .map(|(k, v)| (k.clone(), v[0].clone()))
                .collect();
            self.resolve_with(&others, false)?;
        }
        Ok(())
    }

    /// The base settings with one grid point applied, deserialised and validated.
    fn resolve(&self, point: &[(String, Value)]) -> anyhow::Result<RunConfig> {
        self.resolve_with(point, true)
    }

    /// [`resolve`](Self::resolve), with `validate` (ranges and combinations) only when asked.
    fn resolve_with(&self, point: &[(String, Value)], checked: bool) -> anyhow::Result<RunConfig> {
        let locate_grid = |key: &str| locate_grid_key(&self.path, &self.text, key);
        let mut table = self.base.clone();
        for (key, value) in point {
            set_dotted(&mut table, key, value.clone()).map_err(|e| {
                if self.command_line_axes.iter().any(|k| k == key) {
                    anyhow::anyhow!("--grid {key}: {e}")
                } else {
                    anyhow::anyhow!("{}: grid.\"{key}\": {e}", locate_grid(key))
                }
            })?;
        }
        let grid_note = |key: &str| -> Option<String> {
            point
                .iter()
                .find(|(k, _)| k == key || k.starts_with(&format!("{key}.")))
                .map(|(k, v)| {
                    if self.command_line_axes.contains(k) {
                        format!("--grid {k}: value {v}")
                    } else {
                        format!("{}: grid.\"{k}\" = {v}", locate_grid(k))
                    }
                })
        };
        let at =
            |key: &str| grid_note(key).unwrap_or_else(|| locate_key(&self.path, &self.text, key));
        let estimators_given = get_dotted(&table, "probe.estimators").is_some();
        let mut config: RunConfig = match serde_path_to_error::deserialize(Value::Table(table)) {
            Ok(config) => config,
            Err(e) => {
                let key = offending_key(&e.path().to_string(), e.inner().message());
                anyhow::bail!("{}: {}", at(&key), describe(e.inner().message(), &key));
            }
        };
        if !estimators_given {
            // The default probes every estimator the step's shape allows (reinforce_mean needs
            // two prompts a step, the group estimators k ≥ 2), not an error for those it does not.
            let train = &config.train;
            config.probe.estimators.retain(|&e| fits(e, train));
        }
        if checked && let Err((key, message)) = validate(&config) {
            anyhow::bail!("{}: {key}: {message}", at(&key));
        }
        config.experiment_dir = self.dir()?;
        Ok(config)
    }

    /// The experiment file's directory, absolute.
    pub fn dir(&self) -> anyhow::Result<PathBuf> {
        let parent = self.path.parent().filter(|p| !p.as_os_str().is_empty());
        std::path::absolute(parent.unwrap_or(Path::new(".")))
            .with_context(|| format!("{}: its directory", self.path.display()))
    }
}
