//! Experiment files: the TOML a user writes (one run's settings plus a `[grid]` of values to
//! sweep), parsed with serde, validated once, and expanded into one `RunConfig` per grid point.
//! Every error names the file, line and column, the key, and for a misspelt key the nearest
//! valid one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pglab_estimator::{
    AdvantageOptions, Advantages, Estimator, GroupReduction, LossOptions, TokenReduction,
};
use pglab_model::SamplingConfig;
use pglab_reward::RewardSpec;
use serde::{Deserialize, Serialize};
use toml::{Spanned, Table, Value};

use crate::device::Backend;

/// One run's complete settings. An experiment file is this plus `[grid]` and `[sweep]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// `"default"` (the embedded model `pglab pretrain` builds) or a model directory.
    #[serde(default = "default_model")]
    pub model: String,
    #[serde(default = "default_backend")]
    pub backend: Backend,
    /// Seeds sampling; a grid key like any other.
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub sampling: SamplingConfig,
    pub train: TrainConfig,
    #[serde(default)]
    pub reward: RewardSpec,
    #[serde(default)]
    pub probe: ProbeConfig,
    #[serde(default)]
    pub logging: LoggingConfig,
}

/// The RL loop's settings (DESIGN.md, "The experiment").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub estimator: Estimator,
    #[serde(default)]
    pub optimizer: OptimizerKind,
    pub lr: f64,
    /// AdamW's decoupled weight decay.
    #[serde(default)]
    pub weight_decay: f64,
    /// Prompts, used in turn, `prompts_per_step` per step.
    pub prompts: Vec<String>,
    #[serde(default = "one")]
    pub prompts_per_step: usize,
    /// Completions per prompt.
    pub k: usize,
    /// Optimiser steps; or give `generations`, a budget of sampled completions.
    pub steps: Option<usize>,
    pub generations: Option<usize>,
    #[serde(default)]
    pub token_reduction: TokenReduction,
    #[serde(default)]
    pub group_reduction: GroupReduction,
    #[serde(default)]
    pub loss_includes_prompt: bool,
    /// β of the KL penalty against the starting model (0: off).
    #[serde(default)]
    pub kl_coef: f32,
    /// reinforce_ema's decay.
    #[serde(default = "ema_decay")]
    pub ema_decay: f32,
    /// ε in grpo's and reinforce_pp's denominators.
    #[serde(default = "eps")]
    pub eps: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    #[default]
    Sgd,
    Adam,
    Adamw,
}

/// The gradient-variance probe (DESIGN.md): every `every` steps, M = `batches` fresh batches,
/// every estimator's gradient from the same samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbeConfig {
    /// Steps between probes; 0 turns the probe off.
    pub every: usize,
    pub batches: usize,
    pub estimators: Vec<Estimator>,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            every: 0,
            batches: 8,
            estimators: Estimator::ALL.to_vec(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    /// Steps between `samples.jsonl` records (0: never).
    pub samples_every: usize,
    /// Completions recorded each time.
    pub samples: usize,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            samples_every: 10,
            samples: 4,
        }
    }
}

/// The `[sweep]` table: where results go.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SweepSection {
    /// Directory name under `out`; default: the experiment file's stem.
    pub name: Option<String>,
    /// Default: `results`.
    pub out: Option<PathBuf>,
}

fn default_model() -> String {
    "default".into()
}
fn default_backend() -> Backend {
    Backend::Auto
}
fn one() -> usize {
    1
}
fn ema_decay() -> f32 {
    AdvantageOptions::default().ema_decay
}
fn eps() -> f32 {
    AdvantageOptions::default().eps
}

impl TrainConfig {
    pub fn sequences_per_step(&self) -> usize {
        self.prompts_per_step * self.k
    }

    /// Steps to run: `steps`, or enough to spend the `generations` budget.
    pub fn total_steps(&self) -> usize {
        match (self.steps, self.generations) {
            (Some(steps), _) => steps,
            (None, Some(g)) => g.div_ceil(self.sequences_per_step().max(1)),
            (None, None) => 0,
        }
    }

    pub fn loss_options(&self) -> LossOptions {
        LossOptions {
            token_reduction: self.token_reduction,
            group_reduction: self.group_reduction,
            loss_includes_prompt: self.loss_includes_prompt,
        }
    }

    pub fn advantage_options(&self) -> AdvantageOptions {
        AdvantageOptions {
            eps: self.eps,
            ema_decay: self.ema_decay,
        }
    }
}

/// A parsed experiment: the base settings, the grid and where results go.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub path: PathBuf,
    pub text: String,
    pub sweep: SweepSection,
    /// The file's settings without `[grid]`/`[sweep]`, `--set` overrides applied.
    base: Table,
    /// Dotted key → values, in file order of keys (BTreeMap: sorted, stable).
    pub grid: Vec<(String, Vec<Value>)>,
}

/// One point of the grid: its id and settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    pub id: String,
    /// (dotted key, value) of each grid key at this point.
    pub point: Vec<(String, Value)>,
    pub config: RunConfig,
}

/// Reads, parses and validates an experiment file with `--set key=value` overrides applied,
/// and expands the grid. Nothing is written.
pub fn load(path: &Path, overrides: &[String]) -> anyhow::Result<(Experiment, Vec<RunSpec>)> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let experiment = parse(path, &text, overrides)?;
    let runs = experiment.expand()?;
    Ok((experiment, runs))
}

/// The file's `[grid]` and `[sweep]`, other keys ignored, so the spans are the file's own.
#[derive(Deserialize)]
struct FileShape {
    #[serde(default)]
    grid: BTreeMap<String, Spanned<Vec<Value>>>,
    #[serde(default)]
    sweep: SweepSection,
}

pub fn parse(path: &Path, text: &str, overrides: &[String]) -> anyhow::Result<Experiment> {
    let here = |span: Option<std::ops::Range<usize>>| location(path, text, span);
    let mut table: Table = text
        .parse::<Table>()
        .map_err(|e| anyhow::anyhow!("{}: {}", here(e.span()), first_line(e.message())))?;
    // `[grid]` and `[sweep]` are read on their own (with spans); the rest is one run's settings.
    table.remove("grid");
    table.remove("sweep");
    let shape: FileShape = toml::from_str(text)
        .map_err(|e| anyhow::anyhow!("{}: {}", here(e.span()), describe(e.message(), "")))?;
    let mut shape = shape;
    for set in overrides {
        let (key, value) = parse_override(set)?;
        // Setting a grid key pins it: the grid no longer varies it.
        shape.grid.remove(&key);
        set_dotted(&mut table, &key, value.clone())
            .map_err(|e| anyhow::anyhow!("--set {}: {e}", key.escape_debug()))?;
        eprintln!("set {key} = {value}");
    }
    // The base settings must form a valid run on their own (grid keys may fill required ones,
    // so check a run built from the first grid point instead when there is a grid).
    let grid: Vec<(String, Vec<Value>)> = shape
        .grid
        .iter()
        .map(|(k, v)| (k.clone(), v.get_ref().clone()))
        .collect();
    for (key, values) in &shape.grid {
        let at = here(Some(values.span()));
        if values.get_ref().is_empty() {
            anyhow::bail!("{at}: grid.\"{key}\": empty list; give at least one value");
        }
        let list = values.get_ref();
        for (i, v) in list.iter().enumerate() {
            if list[..i].contains(v) {
                anyhow::bail!("{at}: grid.\"{key}\": value {v} appears twice");
            }
        }
    }
    let experiment = Experiment {
        path: path.to_path_buf(),
        text: text.to_string(),
        sweep: shape.sweep,
        base: table,
        grid,
    };
    // Errors in the base settings point at the file's line.
    if experiment.grid.is_empty() {
        experiment.resolve(&[])?;
    }
    Ok(experiment)
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
        let mut points: Vec<Vec<(String, Value)>> = vec![vec![]];
        for (key, values) in &self.grid {
            points = points
                .into_iter()
                .flat_map(|point| {
                    values.iter().map(move |v| {
                        let mut p = point.clone();
                        p.push((key.clone(), v.clone()));
                        p
                    })
                })
                .collect();
        }
        let runs = points
            .into_iter()
            .map(|point| {
                let config = self.resolve(&point)?;
                Ok(RunSpec {
                    id: run_id(&point),
                    point,
                    config,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(runs)
    }

    /// The base settings with one grid point applied, deserialised and validated.
    fn resolve(&self, point: &[(String, Value)]) -> anyhow::Result<RunConfig> {
        let mut table = self.base.clone();
        for (key, value) in point {
            set_dotted(&mut table, key, value.clone())
                .map_err(|e| anyhow::anyhow!("{}: grid.\"{key}\": {e}", self.locate_grid(key)))?;
        }
        let grid_note = |key: &str| -> Option<String> {
            point
                .iter()
                .find(|(k, _)| k == key)
                .map(|(k, v)| format!("{}: grid.\"{k}\" = {v}", self.locate_grid(k)))
        };
        let config: RunConfig = match serde_path_to_error::deserialize(Value::Table(table)) {
            Ok(config) => config,
            Err(e) => {
                let key = offending_key(&e.path().to_string(), e.inner().message());
                let at = grid_note(&key).unwrap_or_else(|| self.locate_key(&key));
                anyhow::bail!("{at}: {}", describe(e.inner().message(), &key));
            }
        };
        if let Err((key, message)) = validate(&config) {
            let at = grid_note(&key).unwrap_or_else(|| self.locate_key(&key));
            anyhow::bail!("{at}: {key}: {message}");
        }
        Ok(config)
    }

    fn locate_grid(&self, key: &str) -> String {
        let needle = format!("\"{key}\"");
        let offset = self.text.find(&needle).or_else(|| self.text.find(key));
        location(&self.path, &self.text, offset.map(|o| o..o + 1))
    }

    /// file:line:col of a dotted key's assignment (its section header + key), or the file.
    fn locate_key(&self, key: &str) -> String {
        let (section, leaf) = match key.rsplit_once('.') {
            Some((s, l)) => (Some(s), l),
            None => (None, key),
        };
        let mut current: Option<String> = None;
        let mut offset = 0;
        for line in self.text.split_inclusive('\n') {
            let trimmed = line.trim_start();
            if let Some(header) = trimmed.strip_prefix('[') {
                current = header.split(']').next().map(|h| h.trim().to_string());
            } else if trimmed.starts_with(leaf)
                && trimmed[leaf.len()..].trim_start().starts_with('=')
                && current.as_deref() == section
            {
                let col = line.len() - trimmed.len();
                return location(&self.path, &self.text, Some(offset + col..offset + col + 1));
            }
            offset += line.len();
        }
        self.path.display().to_string()
    }
}

/// Checks what serde cannot: ranges and combinations. Returns (dotted key, message).
pub fn validate(config: &RunConfig) -> Result<(), (String, String)> {
    let t = &config.train;
    let err = |key: &str, message: String| Err((key.to_string(), message));
    if !(t.lr.is_finite() && t.lr > 0.0) {
        return err("train.lr", format!("{} must be finite and > 0", t.lr));
    }
    if t.prompts.is_empty() || t.prompts.iter().any(|p| p.is_empty()) {
        return err("train.prompts", "give at least one non-empty prompt".into());
    }
    if t.prompts_per_step == 0 {
        return err("train.prompts_per_step", "0 must be at least 1".into());
    }
    if let Err(e) = Advantages::new(t.estimator, t.k, t.advantage_options()) {
        return err("train.k", e.to_string());
    }
    match (t.steps, t.generations) {
        (Some(_), Some(_)) => {
            return err("train.steps", "give steps or generations, not both".into());
        }
        (None, None) => return err("train.steps", "missing: give steps or generations".into()),
        (Some(0), _) | (_, Some(0)) => {
            return err("train.steps", "the budget must be at least 1".into());
        }
        _ => {}
    }
    if !(t.kl_coef.is_finite() && t.kl_coef >= 0.0) {
        return err(
            "train.kl_coef",
            format!("{} must be finite and ≥ 0", t.kl_coef),
        );
    }
    if !(t.weight_decay.is_finite() && t.weight_decay >= 0.0) {
        return err(
            "train.weight_decay",
            format!("{} must be finite and ≥ 0", t.weight_decay),
        );
    }
    if let Err(e) = config.sampling.validate() {
        let field = match &e {
            pglab_model::ModelError::Sampling { field, .. } => *field,
            _ => "sampling",
        };
        return err(&format!("sampling.{field}"), e.to_string());
    }
    if let Err(e) = config.reward.build() {
        return err("reward", e.to_string());
    }
    if config.probe.every > 0 {
        if config.probe.batches < 2 {
            return err(
                "probe.batches",
                format!(
                    "{} must be at least 2 (a variance needs two batches)",
                    config.probe.batches
                ),
            );
        }
        if config.probe.estimators.is_empty() {
            return err("probe.estimators", "give at least one estimator".into());
        }
        for &e in &config.probe.estimators {
            if let Err(error) = Advantages::new(e, t.k, t.advantage_options()) {
                return err("probe.estimators", error.to_string());
            }
        }
    }
    Ok(())
}

/// Readable run directory name from a grid point: `rloo-lr3e-4-s2`.
pub fn run_id(point: &[(String, Value)]) -> String {
    if point.is_empty() {
        return "run".into();
    }
    let parts: Vec<String> = point
        .iter()
        .map(|(key, value)| {
            let leaf = key.rsplit('.').next().unwrap_or(key);
            let value = match value {
                Value::String(s) => s.clone(),
                Value::Float(f) => format_float(*f),
                Value::Table(t) => {
                    let point: Vec<(String, Value)> =
                        t.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                    return run_id(&point);
                }
                other => other.to_string(),
            };
            match leaf {
                "estimator" | "optimizer" => value,
                "seed" => format!("s{value}"),
                _ => format!("{leaf}{value}"),
            }
        })
        .collect();
    parts
        .join("-")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `3e-4` rather than `0.0003`; integers as `1`, not `1.0`.
pub fn format_float(f: f64) -> String {
    if f != 0.0 && (f.abs() < 1e-2 || f.abs() >= 1e4) {
        let s = format!("{f:e}");
        s.replace("e-0", "e-")
    } else {
        let s = format!("{f}");
        s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
    }
}

/// Sets `a.b.c = value` in a TOML table, creating intermediate tables.
fn set_dotted(table: &mut Table, key: &str, value: Value) -> Result<(), String> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let leaf = parts.pop().filter(|l| !l.is_empty()).ok_or("empty key")?;
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{part}` is a value, not a section"))?;
    }
    // A table value merges into the table at `key` (several keys varying together).
    match (value, current.get_mut(leaf)) {
        (Value::Table(values), Some(Value::Table(target))) => {
            for (k, v) in values {
                target.insert(k, v);
            }
        }
        (value, _) => {
            current.insert(leaf.to_string(), value);
        }
    }
    Ok(())
}

/// `key=value`, the value read as TOML (`0.1`, `"rloo"`, `[1, 2]`), or as a bare string.
fn parse_override(set: &str) -> anyhow::Result<(String, Value)> {
    let (key, raw) = set
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("--set {}: expected key=value", set.escape_debug()))?;
    let key = key.trim().to_string();
    let raw = raw.trim();
    let value = format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()));
    Ok((key, value))
}

/// The dotted key an error is about: serde's path, plus the field an "unknown field" or
/// "missing field" message names when the path stops at its parent.
fn offending_key(path: &str, message: &str) -> String {
    let path = if path == "." { "" } else { path };
    let field = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))
        .and_then(|rest| rest.split('`').next());
    match field {
        Some(field) if !path.ends_with(field) => {
            if path.is_empty() {
                field.to_string()
            } else {
                format!("{path}.{field}")
            }
        }
        _ => path.to_string(),
    }
}

/// serde's message, with a "did you mean" for an unknown field.
fn describe(message: &str, key: &str) -> String {
    let message = first_line(message);
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return if key.is_empty() {
            message
        } else {
            format!("{key}: {message}")
        };
    };
    let unknown = rest.split('`').next().unwrap_or("");
    let expected: Vec<&str> = rest.split('`').skip(2).step_by(2).collect();
    let nearest = expected
        .iter()
        .map(|e| (strsim::levenshtein(unknown, e), *e))
        .min()
        .filter(|(d, _)| *d <= 3.max(unknown.len() / 3));
    let key = if key.is_empty() { unknown } else { key };
    match nearest {
        Some((_, e)) => format!(
            "{key}: unknown key; did you mean `{e}`? (expected one of {})",
            expected.join(", ")
        ),
        None => format!(
            "{key}: unknown key (expected one of {})",
            expected.join(", ")
        ),
    }
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or("").trim().to_string()
}

/// `file:line:col` of a byte span (1-based), or the file alone.
fn location(path: &Path, text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(span) = span else {
        return path.display().to_string();
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.chars().rev().take_while(|&c| c != '\n').count() + 1;
    format!("{}:{line}:{col}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"model = "m"

[train]
estimator = "rloo"
lr = 0.01
prompts = ["Once upon a time"]
k = 4
steps = 10
"#;

    fn runs(text: &str, overrides: &[&str]) -> anyhow::Result<Vec<RunSpec>> {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        parse(Path::new("exp.toml"), text, &overrides)?.expand()
    }

    fn error(text: &str) -> String {
        format!("{:#}", runs(text, &[]).unwrap_err())
    }

    #[test]
    fn grid_is_the_cartesian_product_in_file_order() {
        let text = format!(
            "{BASE}\n[grid]\n\"train.estimator\" = [\"reinforce\", \"rloo\"]\n\"train.lr\" = [0.1, 0.001, 3e-4]\nseed = [0, 1]\n"
        );
        let runs = runs(&text, &[]).unwrap();
        assert_eq!(runs.len(), 2 * 3 * 2);
        // BTreeMap order of keys: seed, train.estimator, train.lr (first key slowest).
        let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            &ids[..4],
            [
                "s0-reinforce-lr0.1",
                "s0-reinforce-lr1e-3",
                "s0-reinforce-lr3e-4",
                "s0-rloo-lr0.1"
            ]
        );
        let last = runs.last().unwrap();
        assert_eq!(
            (
                last.config.seed,
                last.config.train.estimator,
                last.config.train.lr
            ),
            (1, Estimator::Rloo, 3e-4)
        );
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
    }

    #[test]
    fn table_grid_values_vary_keys_together() {
        let text = format!(
            "{BASE}\n[grid]\ntrain = [{{ estimator = \"reinforce\", k = 1 }}, {{ estimator = \"rloo\", k = 10 }}]\n"
        );
        let runs = runs(&text, &[]).unwrap();
        let got: Vec<(Estimator, usize, &str)> = runs
            .iter()
            .map(|r| (r.config.train.estimator, r.config.train.k, r.id.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (Estimator::Reinforce, 1, "reinforce-k1"),
                (Estimator::Rloo, 10, "rloo-k10")
            ]
        );
        assert_eq!(runs[0].config.train.lr, 0.01, "other keys of [train] stay");
    }

    #[test]
    fn syntax_error_names_file_line_and_column() {
        let err = error("model = \"m\"\n[train\nlr = 1\n");
        assert!(err.starts_with("exp.toml:2:"), "{err}");
    }

    #[test]
    fn misspelt_key_suggests_the_nearest() {
        let err = error(&BASE.replace("lr = 0.01", "lrr = 0.01"));
        assert!(err.starts_with("exp.toml:5:1"), "{err}");
        assert!(
            err.contains("train.lrr") && err.contains("did you mean `lr`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_section_is_rejected() {
        let err = error(&format!("{BASE}\n[rewards]\nkind = \"a_words\"\n"));
        assert!(
            err.contains("rewards") && err.contains("did you mean `reward`"),
            "{err}"
        );
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = error(&BASE.replace("lr = 0.01", "lr = \"fast\""));
        assert!(
            err.starts_with("exp.toml:5:1: train.lr: invalid type: string \"fast\", expected f64"),
            "{err}"
        );
    }

    #[test]
    fn missing_required_key_is_named() {
        let err = error(&BASE.replace("estimator = \"rloo\"\n", ""));
        assert!(err.contains("missing field `estimator`"), "{err}");
    }

    #[test]
    fn invalid_values_name_key_and_value() {
        for (from, to, expected) in [
            (
                "lr = 0.01",
                "lr = 0.0",
                "train.lr: 0 must be finite and > 0",
            ),
            ("lr = 0.01", "lr = -1e-3", "train.lr: -0.001"),
            ("k = 4", "k = 1", "train.k"),
            (
                "steps = 10",
                "steps = 10\nprompts_per_step = 0",
                "train.prompts_per_step",
            ),
            (
                "prompts = [\"Once upon a time\"]",
                "prompts = []",
                "train.prompts",
            ),
        ] {
            let err = error(&BASE.replace(from, to));
            assert!(err.contains(expected), "{to}: {err}");
            assert!(err.starts_with("exp.toml:"), "{err}");
        }
        let err = error(&format!("{BASE}\n[sampling]\ntemperature = 0.0\n"));
        assert!(
            err.contains("sampling.temperature") && err.contains("exp.toml:11:1"),
            "{err}"
        );
        let err = error(&format!("{BASE}\n[sampling]\ntop_p = 1.5\n"));
        assert!(
            err.contains("sampling.top_p") && err.contains("1.5"),
            "{err}"
        );
    }

    #[test]
    fn k_below_two_names_the_group_estimator() {
        let err = error(&BASE.replace("k = 4", "k = 1"));
        assert!(err.contains("rloo") && err.contains('1'), "{err}");
    }

    #[test]
    fn grid_errors_name_the_grid_key() {
        let err = error(&format!("{BASE}\n[grid]\n\"train.lr\" = []\n"));
        assert!(
            err.contains("grid.\"train.lr\"") && err.contains("empty"),
            "{err}"
        );
        let err = error(&format!("{BASE}\n[grid]\n\"train.lr\" = [0.1, 0.1]\n"));
        assert!(err.contains("appears twice"), "{err}");
        let err = error(&format!(
            "{BASE}\n[grid]\n\"train.learning_rate\" = [0.1]\n"
        ));
        assert!(
            err.contains("grid.\"train.learning_rate\"") && err.contains("unknown key"),
            "{err}"
        );
        let err = error(&format!("{BASE}\n[grid]\n\"train.lr\" = [0.1, -1.0]\n"));
        assert!(
            err.contains("grid.\"train.lr\" = -1") && err.contains("exp.toml:11:"),
            "{err}"
        );
    }

    #[test]
    fn set_on_a_grid_key_pins_it() {
        let text = format!("{BASE}\n[grid]\nseed = [0, 1, 2]\n\"train.lr\" = [0.1, 0.2]\n");
        let pinned = runs(&text, &["seed=7"]).unwrap();
        assert_eq!(pinned.len(), 2);
        assert!(pinned.iter().all(|r| r.config.seed == 7));
    }

    #[test]
    fn set_overrides_any_key() {
        let set = runs(
            BASE,
            &[
                "train.lr=0.5",
                "train.estimator=\"grpo\"",
                "sampling.max_new_tokens=7",
            ],
        )
        .unwrap();
        let c = &set[0].config;
        assert_eq!(
            (c.train.lr, c.train.estimator, c.sampling.max_new_tokens),
            (0.5, Estimator::Grpo, 7)
        );
        let err = format!("{:#}", runs(BASE, &["train.lrr=0.5"]).unwrap_err());
        assert!(err.contains("did you mean `lr`"), "{err}");
    }

    #[test]
    fn committed_experiments_are_valid() {
        let dir = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
            .join("../../experiments");
        for name in [
            "smoke",
            "reinforce_vs_rloo",
            "tiny_stories_rl",
            "kl_penalty",
        ] {
            let path = dir.join(format!("{name}.toml"));
            let (experiment, runs) = load(&path, &[]).unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert!(!runs.is_empty(), "{name}");
            assert!(experiment.output_dir(None).ends_with(name), "{name}");
        }
    }

    #[test]
    fn run_ids_read_like_their_grid_point() {
        let point = vec![
            ("train.estimator".to_string(), Value::String("rloo".into())),
            ("train.lr".to_string(), Value::Float(3e-4)),
            ("seed".to_string(), Value::Integer(2)),
        ];
        assert_eq!(run_id(&point), "rloo-lr3e-4-s2");
    }
}
