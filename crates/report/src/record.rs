//! What a run writes: one `StepRecord` per step (`metrics.csv`), one `ProbeRecord` per probe
//! and estimator (`probe.csv`), sampled texts (`samples.jsonl`), and `done.json`, written
//! last and atomically, which is what marks a run complete. The runner writes these types and
//! the report reads the same ones back, so a column's name and order live in one place (the
//! field order is the column order).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use pglab_estimator::{Estimator, TokenReduction};
use serde::{Deserialize, Serialize};

/// One optimiser step: a row of `metrics.csv` (results/README.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: usize,
    /// Completions sampled so far, this step's included.
    pub generations: usize,
    pub reward_mean: f64,
    pub reward_std: f64,
    pub reward_min: f64,
    pub reward_max: f64,
    /// Share of prompts whose k completions all got the same reward (no signal for a group
    /// estimator).
    pub frac_zero_std_groups: f64,
    pub adv_mean: f64,
    pub adv_std: f64,
    pub loss: f64,
    pub grad_norm: f64,
    /// Mean KL estimate against the starting model (empty when kl_coef = 0).
    pub kl: Option<f64>,
    /// Mean per-token entropy of the policy on the sampled completions (nats).
    pub entropy: f64,
    pub tokens_per_s: f64,
    pub elapsed_s: f64,
    // The columns below came with the clipped objectives and dynamic sampling; a file written
    // before them loads with their defaults. `loss` and `grad_norm` above are means over the
    // step's updates when there are several.
    /// Share of the step's tokens whose ratio was clipped below 1 − ε_low / above 1 + ε_high
    /// (`pglab_estimator::RatioStats`); empty under `policy_gradient`.
    #[serde(default)]
    pub clip_low_frac: Option<f64>,
    #[serde(default)]
    pub clip_high_frac: Option<f64>,
    /// The importance ratio π_θ/π_old over the step's tokens and updates.
    #[serde(default)]
    pub ratio_mean: Option<f64>,
    #[serde(default)]
    pub ratio_min: Option<f64>,
    #[serde(default)]
    pub ratio_max: Option<f64>,
    /// Mean k3 estimate per token of KL(π_old ‖ π_θ) at the updates.
    #[serde(default)]
    pub kl_old: Option<f64>,
    /// Dynamic sampling: groups of equal rewards left out, and extra sampling rounds.
    #[serde(default)]
    pub groups_dropped: usize,
    #[serde(default)]
    pub resample_rounds: usize,
}

/// One estimator at one probe: a row of `probe.csv` (results/README.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeRecord {
    pub step: usize,
    pub generations: usize,
    /// Written as serde names it (`rloo`); an unknown name does not load.
    pub estimator: Estimator,
    /// The token reduction the gradients were taken under: the run's own in a run's first rows
    /// at each probe, then those `probe.token_reductions` adds; empty in a file written before
    /// it was recorded (the run's own).
    #[serde(default)]
    pub token_reduction: Option<TokenReduction>,
    pub batches: usize,
    pub grad_var: f64,
    pub grad_mean_sqnorm: f64,
    /// NaN where undefined: in a saturated probe (every reward of its batches equal), and
    /// where the gradient is zero in every batch (0/0).
    pub snr: f64,
    /// The mean over the batches whose cosine is defined; NaN when none is (a saturated probe,
    /// or a zero reference direction).
    pub cos_to_ref: f64,
    /// How many batches `cos_to_ref` averages (0 in a file written before it was recorded).
    #[serde(default)]
    pub cos_batches: usize,
    pub reward_mean: f64,
    /// Whether every reward of the probe's batches was equal: then no estimator's SNR or
    /// cosine is defined, and the report leaves the probe out of them and counts it.
    #[serde(default)]
    pub saturated: bool,
    /// grad_var ÷ RLOO's as the probe's reward mean and variance alone predict it, were rewards
    /// independent of the score function (`pglab_estimator::predicted_ratio_to_rloo`); NaN where
    /// none is derived (and in a file written before it was recorded).
    #[serde(default = "not_recorded")]
    pub var_ratio_predicted: f64,
}

fn not_recorded() -> f64 {
    f64::NAN
}

/// A sampled completion, as logged to `samples.jsonl`.
#[derive(Debug, Clone, Serialize)]
pub struct SampleRecord<'a> {
    pub step: usize,
    pub prompt: &'a str,
    pub completion: &'a str,
    pub reward: f32,
}

/// How a run ended; `done.json` holds it (with `Done` or `Diverged`), and `summary.csv` a row.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunResult {
    /// Hash of the run's `config.toml`: a finished run is reused only for the same settings.
    pub config_hash: String,
    pub status: Status,
    /// Why it diverged or failed.
    pub reason: String,
    /// Mean reward over the last `FINAL_WINDOW` steps.
    pub final_reward: Option<f64>,
    pub best_reward: Option<f64>,
    pub steps: usize,
    pub generations: usize,
    pub wall_s: f64,
    /// A failed run's reward command: the last lines it wrote to its stderr (`reward.log` in the
    /// run's directory has them all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stderr_tail: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Done,
    Diverged,
    Failed,
}

/// Steps averaged for `final_reward`.
pub const FINAL_WINDOW: usize = 5;

/// A CSV file written one row at a time and flushed after each, so a crash loses at most the
/// row being written.
pub struct CsvLog {
    writer: csv::Writer<File>,
}

impl CsvLog {
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let file = File::create(path).with_context(|| format!("{}", path.display()))?;
        Ok(Self {
            writer: csv::Writer::from_writer(file),
        })
    }

    pub fn write<T: Serialize>(&mut self, row: &T) -> anyhow::Result<()> {
        self.writer.serialize(row)?;
        self.writer.flush()?;
        Ok(())
    }
}

/// `samples.jsonl`, one JSON object per line.
pub struct JsonLines {
    writer: BufWriter<File>,
}

impl JsonLines {
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let file = File::create(path).with_context(|| format!("{}", path.display()))?;
        Ok(Self {
            writer: BufWriter::new(file),
        })
    }

    pub fn write<T: Serialize>(&mut self, row: &T) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.writer, row)?;
        self.writer.write_all(b"\n")?;
        self.writer.flush()?;
        Ok(())
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so a
/// reader sees the old file or the whole new one, never half of one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    replace_atomically(path, "", |tmp| {
        tmp.write_all(bytes)
            .with_context(|| format!("{}", path.display()))
    })
}

/// The one way pglab replaces a file: `fill` writes a temporary file beside `path` (ending in
/// `suffix`, through the handle or by its path), which is then synced and renamed over `path`.
pub fn replace_atomically(
    path: &Path,
    suffix: &str,
    fill: impl FnOnce(&mut tempfile::NamedTempFile) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut tmp = temporary_beside(path, suffix)?;
    fill(&mut tmp)?;
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("{}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("{}", path.display()))?;
    Ok(())
}

/// An empty temporary file in `path`'s directory, ending in `suffix`, readable by everyone
/// like a file `File::create` makes (tempfile's default, owner-only, would hide results from
/// colleagues on a shared machine once renamed into place).
pub fn temporary_beside(path: &Path, suffix: &str) -> anyhow::Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.suffix(suffix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    builder
        .tempfile_in(dir)
        .with_context(|| format!("{}", dir.display()))
}
