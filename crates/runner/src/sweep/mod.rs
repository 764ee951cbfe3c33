//! `pglab sweep` / `pglab run` / `pglab check`: expand the grid, run each point (in parallel,
//! resumable), and write `summary.csv`. The folder holds everything about a sweep directory:
//! its layout as a type (`dir.rs`), the checks before a sweep starts (`checks.rs`), its lock,
//! where its runs stand (`run_state.rs`), and the commands that read it (`status`, `slurm`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::{Context, bail};
use clap::Args;
use pglab_report::{RunResult, Status, tensorboard, write_atomically};
use pglab_reward::CommandError;

use crate::experiment::{self, Overrides, RunSpec};
use crate::hash::sha256_hex;
use crate::machine::Machine;
use crate::progress::{Bar, Bars};
use crate::rl::run;
use checks::{check_models, check_reward_commands};
use dir::{RecordedOverrides, SweepDir};

pub mod checks;
pub mod dir;
pub mod hparams;
pub mod lock;
pub mod run_state;
pub mod slurm;
pub mod status;

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// The experiment file (TOML).
    pub file: PathBuf,
    /// Runs at once, each job on its own share of the cores (default: one per core on a CPU
    /// backend, 1 on a GPU). A run's results do not depend on it.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Run only shard I of N (`--shard 0/4`): runs i with i mod N = I. Shards may share `--out`.
    #[arg(long)]
    pub shard: Option<String>,
    /// Parent directory of the sweep's directory (default: the file's `[sweep] out`, else
    /// `results`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub overrides: Overrides,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The experiment file (TOML); its grid must have one point (pin grid keys with --set).
    pub file: PathBuf,
    /// Parent directory of the run's sweep directory (default: the file's `[sweep] out`, else
    /// `results`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override a setting, e.g. `--set train.lr=0.001` or `--set seed=3` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The experiment file (TOML).
    pub file: PathBuf,
    #[command(flatten)]
    pub overrides: Overrides,
}

/// Raised by Ctrl-C: runs stop at their next step; finished runs stay finished.
static STOP: AtomicBool = AtomicBool::new(false);

/// `pglab check`: validate, list the runs, check the models they need.
pub fn check(args: &CheckArgs) -> anyhow::Result<()> {
    let (experiment, runs) = experiment::load(&args.file, &args.overrides)?;
    check_models(&runs)?;
    check_reward_commands(&args.file, &runs)?;
    RecordedOverrides::of(&args.overrides).announce();
    writeln!(
        std::io::stdout(),
        "{}: {} run(s) into {}",
        args.file.display(),
        runs.len(),
        experiment.output_dir(None).display()
    )?;
    for run in &runs {
        writeln!(std::io::stdout(), "  {}", run.id)?;
    }
    Ok(())
}

/// `pglab run`: an experiment without a grid (or a grid of one point).
pub fn run_single(args: &RunArgs) -> anyhow::Result<()> {
    let overrides = Overrides::set(&args.set);
    let (_, runs) = experiment::load(&args.file, &overrides)?;
    if runs.len() != 1 {
        bail!(
            "{}: the grid has {} points; `pglab run` runs one (use `pglab sweep`, or pin grid keys with --set)",
            args.file.display(),
            runs.len()
        );
    }
    sweep(&SweepArgs {
        file: args.file.clone(),
        jobs: Some(1),
        shard: None,
        out: args.out.clone(),
        overrides,
    })
}

pub fn sweep(args: &SweepArgs) -> anyhow::Result<()> {
    let (experiment, runs) = experiment::load(&args.file, &args.overrides)?;
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    if args.jobs == Some(0) {
        bail!("--jobs 0: a sweep needs at least one job (leave --jobs out for one per core)");
    }
    check_models(&runs)?;
    check_reward_commands(&args.file, &runs)?;
    let out = experiment.output_dir(args.out.as_deref());
    let dir = SweepDir::new(&out);
    let recorded = RecordedOverrides::of(&args.overrides);
    recorded.announce();
    let runs_dir = dir.runs_dir();
    let resumed = runs_dir.exists();
    std::fs::create_dir_all(&runs_dir)
        .with_context(|| format!("creating {}", runs_dir.display()))?;
    // The lock first: a sweep running here is the first thing to hear about.
    let _lock = dir.lock(shard)?;
    if resumed {
        recorded.check_against(&out)?;
    }
    // The overrides first: `sweep.toml` present means they are recorded too.
    write_atomically(
        &out.join("overrides.json"),
        serde_json::to_string_pretty(&recorded)?.as_bytes(),
    )?;
    write_atomically(&out.join("sweep.toml"), experiment.text.as_bytes())?;

    let mine: Vec<&RunSpec> = runs
        .iter()
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|(index, count)| i % count == index))
        .map(|(_, r)| r)
        .collect();
    let pending: Vec<&RunSpec> = mine
        .iter()
        .copied()
        .filter(|r| dir.finished(r).is_none())
        .collect();
    let backend = runs[0].config.backend.select()?;
    // What decides whether these results reproduce bit for bit elsewhere (machine.rs).
    let machine = Machine::current(backend.name).to_json();
    write_atomically(&out.join("machine.json"), machine.as_bytes())?;
    if runs[0].config.logging.tensorboard {
        let name = out
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into());
        tensorboard::write_experiment(&out, &name, &hparams::domains(&runs))?;
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| if backend.name == "flex" { cores() } else { 1 })
        .clamp(1, pending.len().max(1));
    eprintln!(
        "{}: {} run(s){}, {} already finished, {} to run with {jobs} job(s) on {} → {}",
        args.file.display(),
        mine.len(),
        shard.map_or(String::new(), |(i, n)| format!(" in shard {i}/{n}")),
        mine.len() - pending.len(),
        pending.len(),
        backend.name,
        out.display()
    );
    let _ = ctrlc::set_handler(|| {
        STOP.store(true, Ordering::Relaxed);
        eprintln!("\ninterrupt: stopping after the current step of each run…");
    });

    let progress = Bars::new(pending.len());
    let device = backend.device;
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let run_next = |spec: &RunSpec| {
        let mut bar = progress.start(&spec.id);
        let outcome = run_point(spec, &dir.run_dir(spec), &device, &machine, &mut bar);
        progress.finish(&spec.id, &bar, &outcome);
        if let Err(reason) = outcome {
            let mut failures = failures.lock().unwrap_or_else(|e| e.into_inner());
            failures.push(format!("{}: {reason}", spec.id));
        }
    };
    // Each job takes the next pending run, on a rayon pool of its own (cores / jobs threads):
    // a run's parallel work (its shards, flex's matmuls) stays on its job's threads, and one job
    // alone gets every core (a shared pool of `jobs` threads left a 1-job sweep on one core).
    let threads = (cores() / jobs).max(1);
    let pools = (0..jobs)
        .map(|_| rayon::ThreadPoolBuilder::new().num_threads(threads).build())
        .collect::<Result<Vec<_>, _>>()?;
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for pool in &pools {
            scope.spawn(|| {
                pool.install(|| {
                    while !STOP.load(Ordering::Relaxed) {
                        match pending.get(next.fetch_add(1, Ordering::Relaxed)) {
                            Some(spec) => run_next(spec),
                            None => break,
                        }
                    }
                })
            });
        }
    });
    // Summary and report go on a full or read-only disk too: their errors are reported beside
    // the runs' own, not instead of them.
    let mut problems = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    let failed = problems.len();
    match dir.write_summary(&runs, &experiment) {
        Ok(()) => eprintln!("summary: {}", out.join("summary.csv").display()),
        Err(e) => problems.push(format!("summary.csv not written: {e:#}")),
    }
    if runs.iter().any(|r| dir.status(r).is_some()) {
        match pglab_report::write(&out, &experiment.report) {
            Ok(index) => eprintln!("report: {}", index.display()),
            Err(e) => problems.push(format!("report not written: {e:#}")),
        }
    }
    if STOP.load(Ordering::Relaxed) {
        bail!(
            "interrupted: finished runs are kept; run the same command again to resume ({})",
            out.display()
        );
    }
    if failed > 0 {
        bail!(
            "{failed} run(s) failed (rerun the same command to retry them; finished runs are kept): {}",
            problems.join("; ")
        );
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    Ok(())
}

/// Trains one grid point into `dir` (from scratch), and records how it ended: its status (None
/// when interrupted), or why it failed. Errors and panics become a `failed.json`; the sweep
/// goes on.
fn run_point(
    spec: &RunSpec,
    dir: &Path,
    device: &burn::prelude::Device,
    machine: &str,
    bar: &mut Bar,
) -> Result<Option<Status>, String> {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
        || -> anyhow::Result<Option<RunResult>> {
            if dir.exists() {
                std::fs::remove_dir_all(dir)
                    .with_context(|| format!("clearing {}", dir.display()))?;
            }
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let config_text = toml::to_string_pretty(&spec.config)?;
            write_atomically(&dir.join("config.toml"), config_text.as_bytes())?;
            write_atomically(&dir.join("machine.json"), machine.as_bytes())?;
            let hparams = hparams::of(spec);
            let Some(mut result) = run::train(&spec.config, dir, &hparams, device, &STOP, bar)?
            else {
                return Ok(None);
            };
            result.config_hash = sha256_hex(config_text.as_bytes());
            write_atomically(
                &dir.join("done.json"),
                serde_json::to_string_pretty(&result)?.as_bytes(),
            )?;
            Ok(Some(result))
        },
    ));
    let (message, stderr_tail) = match outcome {
        Ok(Ok(Some(result))) => return Ok(Some(result.status)),
        Ok(Ok(None)) => return Ok(None),
        // An error once the stop is raised is the interruption's doing (a reward command that
        // got the signal too): the run is redone on resume, not marked failed.
        Ok(Err(_)) if STOP.load(Ordering::Relaxed) => return Ok(None),
        Ok(Err(e)) => (
            format!("{e:#}"),
            e.downcast_ref::<CommandError>()
                .map(|c| c.stderr_tail.clone())
                .unwrap_or_default(),
        ),
        Err(panic) => (
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .map_or("panic".into(), |m| format!("panic: {m}")),
            Vec::new(),
        ),
    };
    let failed = RunResult {
        config_hash: String::new(),
        status: Status::Failed,
        reason: message.clone(),
        final_reward: None,
        best_reward: None,
        steps: 0,
        generations: 0,
        wall_s: 0.0,
        stderr_tail,
    };
    // On a full disk this may fail too; the sweep's final error still names the run and why.
    let _ = std::fs::create_dir_all(dir);
    let _ = write_atomically(
        &dir.join("failed.json"),
        serde_json::to_string_pretty(&failed)
            .unwrap_or_default()
            .as_bytes(),
    );
    Err(message)
}

fn parse_shard(shard: &str) -> anyhow::Result<(usize, usize)> {
    let parsed = shard
        .split_once('/')
        .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((i, n)) if n > 0 && i < n => Ok((i, n)),
        _ => bail!("--shard {shard}: expected I/N with 0 ≤ I < N, e.g. 0/4"),
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
