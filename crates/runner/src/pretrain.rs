//! `pglab pretrain`: train the embedded default model (or one on a user's text) and save it as
//! a Hugging Face model directory — `config.json`, `model.safetensors`, `tokenizer.json` — with
//! `pretrain.csv` (the training log), `loss.png` (its chart) and `pretrain.json` (the stamp:
//! settings, file hashes and the measured results).
//!
//! The directory is written under a temporary name next to `--out` and renamed into place only
//! when complete, the stamp last. A later run whose settings hash equals the stamp's, and whose
//! files match their hashes and load, does nothing; anything else is rebuilt, saying why.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use burn::prelude::Device;
use clap::Args;
use pglab_estimator::stats::{mean, sample_std};
use pglab_model::Progress;
use pglab_model::pretrain::{Corpus, PretrainConfig, Pretrained, TrainRecord, pretrain};
use pglab_model::{Checkpoint, SamplingConfig, sample};
use pglab_report::pretrain_log::{self, PretrainRow};
use pglab_reward::RewardSpec;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use crate::device::Backend;
use crate::hash::sha256_hex;
use crate::progress::Bar;
use crate::toml_diagnostics::{describe, first_line, locate_key, location, offending_key};

/// Bumped whenever pglab's pretraining changes what the same settings produce; a model stamped
/// with another version is rebuilt.
pub const FORMAT_VERSION: u32 = 1;

pub const STAMP_FILE: &str = "pretrain.json";
pub const LOG_FILE: &str = "pretrain.csv";
pub const CHART_FILE: &str = "loss.png";
/// The files whose hashes the stamp records (and checks on the next run).
const MODEL_FILES: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];

#[derive(Args, Debug)]
pub struct PretrainArgs {
    /// The pretraining settings (TOML).
    #[arg(long, default_value = "experiments/pretrain.toml")]
    pub config: PathBuf,
    /// Train on this UTF-8 text file instead of the built-in story grammar (documents may be
    /// separated by `<|endoftext|>`).
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// The model directory to write.
    #[arg(long, default_value = "models/default")]
    pub out: PathBuf,
    /// Where to run: `auto` (a hardware GPU through wgpu if there is one, else `flex`), `flex`
    /// (CPU) or `wgpu`.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: Backend,
    /// Retrain even if `--out` already holds a model with the same settings.
    #[arg(long)]
    pub force: bool,
}

/// What `experiments/pretrain.toml` holds: the model crate's pretraining settings
/// ([`PretrainConfig`], its sections at the top level of the file) and `[report]`, what is
/// measured after training. Unknown keys are rejected; every key has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct PretrainFile {
    #[serde(flatten)]
    pub config: PretrainConfig,
    pub report: ReportSettings,
}

/// Read back from a stamp: `[report]`, and the rest as [`PretrainConfig`] (serde's `flatten`
/// cannot feed a struct that rejects unknown keys, so the rest goes through a JSON map).
impl<'de> Deserialize<'de> for PretrainFile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Parts {
            #[serde(default)]
            report: ReportSettings,
            #[serde(flatten)]
            config: serde_json::Map<String, serde_json::Value>,
        }
        let parts = Parts::deserialize(deserializer)?;
        let config = serde_json::from_value(serde_json::Value::Object(parts.config))
            .map_err(serde::de::Error::custom)?;
        Ok(Self {
            config,
            report: parts.report,
        })
    }
}

/// What is measured on the finished model and recorded in its stamp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSettings {
    /// The prompt samples continue.
    pub prompt: String,
    /// Samples kept in the stamp (and printed).
    pub samples: usize,
    /// Samples over which the A-word reward's base rate is measured.
    pub reward_samples: usize,
    /// New tokens per sample, at temperature 1.
    pub new_tokens: usize,
    pub seed: u64,
}

impl Default for ReportSettings {
    fn default() -> Self {
        Self {
            prompt: "Once upon a time".into(),
            samples: 3,
            reward_samples: 100,
            new_tokens: 100,
            seed: 0,
        }
    }
}

impl PretrainFile {
    /// Reads and validates a settings file; errors name the file and the key.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the pretraining settings", path.display()))?;
        Self::parse(&text, path)
    }

    /// Parses the text of a settings file; `path` is only used in errors, which read like an
    /// experiment file's (`file:line:col: key: problem`, with "did you mean" for a misspelt key).
    pub fn parse(text: &str, path: &Path) -> anyhow::Result<Self> {
        let mut table: Table = text.parse::<Table>().map_err(|e| {
            let at = location(path, text, e.span());
            anyhow::anyhow!("{at}: {}", first_line(e.message()))
        })?;
        let report = table
            .remove("report")
            .unwrap_or_else(|| Value::Table(Table::new()));
        let file = Self {
            config: deserialize(Value::Table(table), "", path, text)?,
            report: deserialize(report, "report", path, text)?,
        };
        file.config.validate(path)?;
        if file.report.new_tokens == 0 {
            bail!("{}: report.new_tokens: must be at least 1", path.display());
        }
        if file.report.prompt.is_empty() {
            bail!("{}: report.prompt: must not be empty", path.display());
        }
        Ok(file)
    }
}

/// `value` as a `T`, or one line naming the file, line and key (under `section`) at fault.
fn deserialize<T: serde::de::DeserializeOwned>(
    value: Value,
    section: &str,
    path: &Path,
    text: &str,
) -> anyhow::Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let key = offending_key(&e.path().to_string(), e.inner().message());
        let key = match (section, key.as_str()) {
            ("", key) => key.to_string(),
            (section, "") => section.to_string(),
            (section, key) => format!("{section}.{key}"),
        };
        let at = locate_key(path, text, &key);
        anyhow::anyhow!("{at}: {}", describe(e.inner().message(), &key))
    })
}

/// The stamp written last into a finished model directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stamp {
    pub format_version: u32,
    /// SHA-256 of the settings identity (see [`settings_hash`]).
    pub settings_sha256: String,
    pub settings: PretrainFile,
    pub corpus: CorpusStamp,
    /// SHA-256 of each model file.
    pub files: std::collections::BTreeMap<String, String>,
    pub results: Results,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum CorpusStamp {
    Grammar,
    File { path: PathBuf, sha256: String },
}

/// What the run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    pub backend: String,
    pub threads: usize,
    /// Corpus, tokenizer and training, seconds.
    pub pretrain_s: f64,
    /// Everything, report included, seconds.
    pub wall_s: f64,
    pub n_params: usize,
    pub vocab_size: usize,
    pub documents: usize,
    pub train_tokens: usize,
    pub eval_tokens: usize,
    pub initial_eval_loss: f64,
    /// The held-out loss of the weights kept: the best of every evaluation.
    pub final_eval_loss: f64,
    /// The step of the weights kept.
    #[serde(default)]
    pub best_step: usize,
    /// Where training stopped early, the held-out loss having stopped improving.
    #[serde(default)]
    pub stopped_at: Option<usize>,
    /// Said when the model ends no better than a unigram table or its starting weights.
    #[serde(default)]
    pub warning: Option<String>,
    /// exp(final held-out loss).
    pub eval_perplexity: f64,
    /// The unigram model's perplexity on the same held-out tokens.
    pub unigram_perplexity: f64,
    /// The A-word reward over `report.reward_samples` completions of the prompt.
    pub a_words_mean: f64,
    /// Bessel-corrected standard deviation.
    pub a_words_std: f64,
    pub samples: Vec<String>,
}

/// What a call to [`build`] did.
#[derive(Debug)]
pub enum Outcome {
    /// The directory already held this model.
    UpToDate,
    /// A model was trained and written; `reason` says why an existing directory was replaced.
    Built {
        reason: Option<String>,
        stamp: Box<Stamp>,
    },
}

pub fn run(args: &PretrainArgs) -> anyhow::Result<()> {
    let settings = PretrainFile::load(&args.config)?;
    let corpus = match &args.corpus {
        Some(path) => Corpus::from_file(path)?,
        None => Corpus::Grammar,
    };
    let selected = args.backend.select()?;
    let mut progress =
        Bar::new("{elapsed_precise} [{wide_bar}] {pos}/{len} steps, eta {eta} {msg}");
    let outcome = build(
        &settings,
        &corpus,
        &args.out,
        &selected.device,
        selected.name,
        args.force,
        &mut progress,
    )?;
    progress.finish();
    match outcome {
        Outcome::UpToDate => writeln!(
            std::io::stdout(),
            "{}: up to date (same settings, files intact); nothing to do (--force retrains)",
            args.out.display()
        )?,
        Outcome::Built { stamp, .. } => print_results(&args.out, &stamp.results)?,
    }
    Ok(())
}

/// The identity of a pretrained model: SHA-256 over pglab's format version, the resolved
/// settings (defaults filled in) and the corpus (the grammar, or a file's contents).
pub fn settings_hash(settings: &PretrainFile, corpus: &CorpusStamp) -> String {
    #[derive(Serialize)]
    struct Identity<'a> {
        format_version: u32,
        settings: &'a PretrainFile,
        corpus: Option<&'a str>,
    }
    let corpus = match corpus {
        CorpusStamp::Grammar => None,
        CorpusStamp::File { sha256, .. } => Some(sha256.as_str()),
    };
    let identity = Identity {
        format_version: FORMAT_VERSION,
        settings,
        corpus,
    };
    sha256_hex(
        serde_json::to_string(&identity)
            .unwrap_or_default()
            .as_bytes(),
    )
}

fn corpus_stamp(corpus: &Corpus) -> CorpusStamp {
    match corpus {
        Corpus::Grammar => CorpusStamp::Grammar,
        Corpus::File { path, text } => CorpusStamp::File {
            path: path.clone(),
            sha256: sha256_hex(text.as_bytes()),
        },
    }
}

/// Why the model directory `dir` is not a finished model with settings hash `expected`, or
/// `None` if it is (its stamp matches, every file has its recorded hash and the model loads).
pub fn stale_reason(dir: &Path, expected: &str, device: &Device) -> Option<String> {
    if !dir.exists() {
        return Some("no model yet".into());
    }
    let stamp_path = dir.join(STAMP_FILE);
    let text = match std::fs::read_to_string(&stamp_path) {
        Ok(text) => text,
        Err(_) => {
            return Some(format!(
                "{STAMP_FILE} is missing (an unfinished or foreign model)"
            ));
        }
    };
    let stamp: Stamp = match serde_json::from_str(&text) {
        Ok(stamp) => stamp,
        Err(e) => return Some(format!("{STAMP_FILE} is unreadable: {e}")),
    };
    if stamp.format_version != FORMAT_VERSION {
        return Some(format!(
            "made by pretraining format {}, this pglab writes {FORMAT_VERSION}",
            stamp.format_version
        ));
    }
    if stamp.settings_sha256 != expected {
        return Some("the settings or the corpus changed".into());
    }
    for name in MODEL_FILES {
        let recorded = stamp.files.get(name);
        match std::fs::read(dir.join(name)) {
            Err(_) => return Some(format!("{name} is missing")),
            Ok(bytes) if recorded != Some(&sha256_hex(&bytes)) => {
                return Some(format!("{name} does not match its recorded hash (corrupt)"));
            }
            Ok(_) => {}
        }
    }
    match Checkpoint::load(dir, device) {
        Ok(_) => None,
        Err(e) => Some(format!("it does not load: {e}")),
    }
}

/// Makes `out` hold the model `settings` and `corpus` describe: nothing to do if it already
/// does (unless `force`), else pretrain on `device`, measure, and replace `out` atomically.
pub fn build(
    settings: &PretrainFile,
    corpus: &Corpus,
    out: &Path,
    device: &Device,
    backend: &str,
    force: bool,
    progress: &mut dyn Progress,
) -> anyhow::Result<Outcome> {
    let corpus_stamp = corpus_stamp(corpus);
    let hash = settings_hash(settings, &corpus_stamp);
    let reason = match stale_reason(out, &hash, device) {
        None if !force => return Ok(Outcome::UpToDate),
        None => Some("--force".to_string()),
        Some(reason) => out.exists().then_some(reason),
    };
    if let Some(reason) = &reason {
        progress.stage(&format!("{}: rebuilding: {reason}", out.display()));
    }

    let start = Instant::now();
    let pretrained = pretrain(&settings.config, corpus, device, progress)?;
    let pretrain_s = start.elapsed().as_secs_f64();
    progress.stage("sampling from the model");
    let (samples, a_words_mean, a_words_std) = report(&pretrained.checkpoint, &settings.report)?;

    // Everything goes into a fresh directory next to `out`, renamed into place when complete.
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("{}: cannot create the directory", parent.display()))?;
    let name = out
        .file_name()
        .map_or("model".into(), |n| n.to_string_lossy().into_owned());
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.partial-"))
        .tempdir_in(&parent)
        .with_context(|| format!("{}: cannot create a temporary directory", parent.display()))?;
    pretrained.checkpoint.save(tmp.path())?;
    write_log(&tmp.path().join(LOG_FILE), &pretrained.records)?;
    plot_loss(&tmp.path().join(CHART_FILE), &pretrained.records)?;
    let mut files = std::collections::BTreeMap::new();
    for name in MODEL_FILES {
        let path = tmp.path().join(name);
        let bytes = std::fs::read(&path).with_context(|| format!("{}", path.display()))?;
        files.insert(name.to_string(), sha256_hex(&bytes));
    }
    let stamp = Stamp {
        format_version: FORMAT_VERSION,
        settings_sha256: hash,
        settings: settings.clone(),
        corpus: corpus_stamp,
        files,
        results: results(
            &pretrained,
            backend,
            pretrain_s,
            start,
            samples,
            a_words_mean,
            a_words_std,
        ),
    };
    let json = serde_json::to_string_pretty(&stamp)?;
    let stamp_path = tmp.path().join(STAMP_FILE);
    std::fs::write(&stamp_path, json + "\n")
        .with_context(|| format!("{}: cannot write", stamp_path.display()))?;

    replace_dir(tmp, out)?;
    Ok(Outcome::Built {
        reason,
        stamp: Box::new(stamp),
    })
}

fn results(
    p: &Pretrained,
    backend: &str,
    pretrain_s: f64,
    start: Instant,
    samples: Vec<String>,
    a_words_mean: f64,
    a_words_std: f64,
) -> Results {
    let config = p.checkpoint.model.config();
    Results {
        backend: backend.into(),
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        pretrain_s,
        wall_s: start.elapsed().as_secs_f64(),
        n_params: config.n_params(),
        vocab_size: config.vocab_size,
        documents: p.documents,
        train_tokens: p.train_tokens,
        eval_tokens: p.eval_tokens,
        initial_eval_loss: p.initial_eval_loss,
        final_eval_loss: p.final_eval_loss,
        best_step: p.best_step,
        stopped_at: p.stopped_at,
        warning: p.warning(),
        eval_perplexity: p.final_eval_loss.exp(),
        unigram_perplexity: p.unigram_eval_loss.exp(),
        a_words_mean,
        a_words_std,
        samples,
    }
}

/// Moves the finished temporary directory to `out`, replacing what was there.
fn replace_dir(tmp: tempfile::TempDir, out: &Path) -> anyhow::Result<()> {
    let tmp = tmp.keep();
    if out.exists() {
        let old = out.with_file_name(format!(
            ".{}.old-{}",
            out.file_name()
                .map_or("model".into(), |n| n.to_string_lossy()),
            std::process::id()
        ));
        std::fs::rename(out, &old)
            .with_context(|| format!("{}: cannot move the old model aside", out.display()))?;
        std::fs::rename(&tmp, out)
            .with_context(|| format!("{}: cannot move the new model into place", out.display()))?;
        std::fs::remove_dir_all(&old)
            .with_context(|| format!("{}: cannot remove the old model", old.display()))?;
    } else {
        std::fs::rename(&tmp, out)
            .with_context(|| format!("{}: cannot move the new model into place", out.display()))?;
    }
    Ok(())
}

/// `settings.samples` completions of the prompt, and the mean and std of the A-word reward over
/// `settings.reward_samples` completions, all at temperature 1.
pub fn report(
    checkpoint: &Checkpoint,
    settings: &ReportSettings,
) -> anyhow::Result<(Vec<String>, f64, f64)> {
    let prompt = checkpoint.tokenizer.encode_prompt(&settings.prompt)?;
    let n = settings.samples.max(settings.reward_samples);
    if n == 0 {
        return Ok((Vec::new(), f64::NAN, f64::NAN));
    }
    let config = SamplingConfig {
        max_new_tokens: settings.new_tokens,
        ..SamplingConfig::default()
    };
    let reward = RewardSpec::default().build()?;
    let mut rng = StdRng::seed_from_u64(settings.seed);
    let mut texts = Vec::with_capacity(n);
    // Batches of 32 keep the KV cache small.
    for chunk in (0..n).collect::<Vec<_>>().chunks(32) {
        let rollout = sample(
            &checkpoint.model,
            &vec![prompt.clone(); chunk.len()],
            &config,
            &mut rng,
        )?;
        for row in 0..rollout.len() {
            texts.push(checkpoint.tokenizer.decode(rollout.completion(row))?);
        }
    }
    let rewards: Vec<f64> = texts
        .iter()
        .take(settings.reward_samples)
        .map(|t| reward.score(&settings.prompt, t) as f64)
        .collect();
    let samples = texts
        .iter()
        .take(settings.samples)
        .map(|t| format!("{}{t}", settings.prompt))
        .collect();
    Ok((samples, mean(&rewards), sample_std(&rewards)))
}

/// `pretrain.csv`: step, train_loss, eval_loss, lr, tokens_per_s (empty where not measured).
fn write_log(path: &Path, records: &[TrainRecord]) -> anyhow::Result<()> {
    pretrain_log::write_log(path, &log_rows(records))
}

/// `loss.png`: the chart of `pretrain.csv`.
fn plot_loss(path: &Path, records: &[TrainRecord]) -> anyhow::Result<()> {
    pretrain_log::draw_loss(path, &log_rows(records))
}

/// The training log as `pretrain.csv` writes it.
fn log_rows(records: &[TrainRecord]) -> Vec<PretrainRow> {
    records
        .iter()
        .map(|r| PretrainRow {
            step: r.step,
            train_loss: r.train_loss,
            eval_loss: r.eval_loss,
            lr: r.lr,
            tokens_per_s: r.tokens_per_s,
        })
        .collect()
}

fn print_results(out: &Path, r: &Results) -> std::io::Result<()> {
    writeln!(
        std::io::stdout(),
        "{}: pretrained in {:.0} s on {} ({} threads); {} parameters, vocabulary {}",
        out.display(),
        r.pretrain_s,
        r.backend,
        r.threads,
        r.n_params,
        r.vocab_size
    )?;
    writeln!(
        std::io::stdout(),
        "  held-out perplexity {:.2} (loss {:.3}; {:.1} before training), unigram baseline {:.1}; weights of step {}{}",
        r.eval_perplexity,
        r.final_eval_loss,
        r.initial_eval_loss.exp(),
        r.unigram_perplexity,
        r.best_step,
        r.stopped_at.map_or(String::new(), |s| format!(
            " (stopped at step {s}: no better since)"
        ))
    )?;
    if let Some(warning) = &r.warning {
        eprintln!("warning: {warning}");
    }
    writeln!(
        std::io::stdout(),
        "  A-word reward of 100 new tokens: mean {:.2}, std {:.2}",
        r.a_words_mean,
        r.a_words_std
    )?;
    for (i, s) in r.samples.iter().enumerate() {
        writeln!(
            std::io::stdout(),
            "  sample {}: {}",
            i + 1,
            s.replace('\n', " ")
        )?;
    }
    Ok(())
}
