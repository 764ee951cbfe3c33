//! `pglab slurm FILE`: a sweep as a Slurm job array. Task i of N runs shard i/N of the grid
//! (`pglab sweep FILE --shard i/N`), every task writing into the one sweep directory (a shared
//! filesystem); a report job, queued after the whole array (`afterany`), rebuilds `summary.csv`
//! and the report from the run directories. Slurm's SIGTERM before a kill (preemption, time
//! limit, `scancel`) stops a task like Ctrl-C, after its current step, so resubmitting the same
//! command runs only what is missing.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use pglab_report::write_atomically;

use crate::experiment::{self, Overrides};
use crate::sweep::checks::{check_models, check_reward_commands};
use crate::sweep::dir::{RecordedOverrides, SweepDir};
use crate::sweep::run_state::{State, run_states};

/// Array tasks when `--tasks` is not given: one per run, at most this many.
pub const DEFAULT_MAX_TASKS: usize = 64;

#[derive(Args, Debug)]
pub struct SlurmArgs {
    /// The experiment file (TOML).
    pub file: PathBuf,
    /// Array tasks, each running one shard of the grid (default: one per run, at most 64).
    #[arg(long)]
    pub tasks: Option<usize>,
    /// CPUs per task; each task runs that many runs at once (`pglab sweep --jobs`).
    #[arg(long, default_value_t = 1)]
    pub cpus_per_task: usize,
    /// Slurm partition (`#SBATCH --partition`); default: the cluster's.
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit per task (`#SBATCH --time`, e.g. `2:00:00`).
    #[arg(long)]
    pub time: Option<String>,
    /// Memory per task (`#SBATCH --mem`, e.g. `4G`).
    #[arg(long)]
    pub mem: Option<String>,
    /// Parent directory of the sweep's directory (default: the file's `[sweep] out`, else
    /// `results`); on a filesystem every node sees.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub overrides: Overrides,
    /// Another `#SBATCH` line for both jobs, e.g. `--sbatch-arg=--account=lab` (repeatable).
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_args: Vec<String>,
    /// Write and print the scripts; submit nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Return when the report job has ended; exit 2 if any run did not finish.
    #[arg(long)]
    pub wait: bool,
}

/// The two job scripts of a submission.
#[derive(Debug)]
pub struct Scripts {
    pub array: PathBuf,
    pub report: PathBuf,
    pub tasks: usize,
}

pub fn run(args: &SlurmArgs) -> anyhow::Result<()> {
    if args.tasks == Some(0) {
        bail!("--tasks 0: an array needs at least one task");
    }
    if args.cpus_per_task == 0 {
        bail!("--cpus-per-task 0: a task needs at least one CPU");
    }
    let (experiment, runs) = experiment::load(&args.file, &args.overrides)?;
    check_models(&runs)?;
    check_reward_commands(&args.file, &runs)?;
    let sbatch = if args.dry_run {
        None
    } else {
        Some(find_on_path("sbatch").context(
            "sbatch is not on PATH: `pglab slurm` submits with Slurm's sbatch (use --dry-run to write the scripts only)",
        )?)
    };
    let out = experiment.output_dir(args.out.as_deref());
    let recorded = RecordedOverrides::of(&args.overrides);
    recorded.announce();
    recorded.check_against(&out)?;
    let tasks = args
        .tasks
        .unwrap_or(runs.len().min(DEFAULT_MAX_TASKS))
        .min(runs.len());
    let scripts = write_scripts(args, &out, tasks)?;
    let mut stdout = std::io::stdout();
    let Some(sbatch) = sbatch else {
        for path in [&scripts.array, &scripts.report] {
            writeln!(stdout, "# {}", path.display())?;
            stdout.write_all(&std::fs::read(path)?)?;
        }
        writeln!(
            stdout,
            "# dry run: nothing submitted ({} runs in {tasks} tasks). It would run:\n#   sbatch --parsable {}\n#   sbatch --parsable --dependency=afterany:<array job id> {}",
            runs.len(),
            scripts.array.display(),
            scripts.report.display()
        )?;
        return Ok(());
    };
    let array_id = submit(&sbatch, &[], &scripts.array)?;
    let report_id = submit(
        &sbatch,
        &[format!("--dependency=afterany:{array_id}")],
        &scripts.report,
    )?;
    let logs = out.join("slurm");
    writeln!(
        stdout,
        "submitted array job {array_id} ({} runs in {tasks} tasks) and report job {report_id}\n  follow: squeue -j {array_id},{report_id}   logs: {}/task-*.out   progress: pglab status {}",
        runs.len(),
        logs.display(),
        out.display()
    )?;
    if args.wait {
        wait_for(&report_id)?;
        let status = run_states(&SweepDir::new(&out))?;
        // A diverged run finished (its outcome is a result, as in `pglab sweep`); a failed,
        // stopped or pending one did not.
        let unfinished: Vec<String> = status
            .runs
            .iter()
            .filter(|r| !matches!(r.state, State::Done | State::Diverged))
            .map(|r| format!("{} {}", r.id, r.state.name()))
            .collect();
        if !unfinished.is_empty() {
            bail!(
                "{} of {} runs did not finish ({}); see {}/task-*.out, then submit the same command again to run only those",
                unfinished.len(),
                status.runs.len(),
                unfinished.join(", "),
                logs.display()
            );
        }
        writeln!(
            stdout,
            "all {} runs finished ({}); report: {}",
            status.runs.len(),
            status
                .counts
                .iter()
                .map(|(state, n)| format!("{n} {state}"))
                .collect::<Vec<_>>()
                .join(", "),
            out.join("index.html").display()
        )?;
    }
    Ok(())
}

/// Writes `slurm/array.sh` and `slurm/report.sh` into the sweep directory `out`.
pub fn write_scripts(args: &SlurmArgs, out: &Path, tasks: usize) -> anyhow::Result<Scripts> {
    let slurm = out.join("slurm");
    std::fs::create_dir_all(&slurm).with_context(|| format!("creating {}", slurm.display()))?;
    let here = std::env::current_dir().context("the current directory")?;
    let absolute = |p: &Path| {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            here.join(p)
        }
    };
    let slurm = absolute(&slurm);
    let pglab = std::env::current_exe().context("the pglab binary's path")?;
    let name = out
        .file_name()
        .map_or("sweep".into(), |n| n.to_string_lossy().into_owned());

    let mut header = vec![format!("#SBATCH --cpus-per-task={}", args.cpus_per_task)];
    for (flag, value) in [
        ("partition", &args.partition),
        ("time", &args.time),
        ("mem", &args.mem),
    ] {
        if let Some(v) = value {
            header.push(format!("#SBATCH --{flag}={v}"));
        }
    }
    header.extend(args.sbatch_args.iter().map(|a| format!("#SBATCH {a}")));

    let mut sweep_args = vec![
        quote(&absolute(&args.file).to_string_lossy()),
        "--shard".into(),
        format!("\"$SLURM_ARRAY_TASK_ID/{tasks}\""),
        "--jobs".into(),
        args.cpus_per_task.to_string(),
    ];
    if let Some(parent) = out.parent() {
        sweep_args.extend(["--out".into(), quote(&absolute(parent).to_string_lossy())]);
    }
    for set in &args.overrides.set {
        sweep_args.extend(["--set".into(), quote(set)]);
    }
    for grid in &args.overrides.grid {
        sweep_args.extend(["--grid".into(), quote(grid)]);
    }
    // `exec`: pglab itself receives Slurm's SIGTERM (a shell would not pass it on).
    let array = format!(
        "#!/bin/bash\n#SBATCH --job-name=pglab-{name}\n#SBATCH --array=0-{last}\n#SBATCH --output={log}/task-%a.out\n{header}\n# Shard $SLURM_ARRAY_TASK_ID of {tasks}; written by `pglab slurm`.\nset -eu\ncd {here}\nexec {pglab} sweep {args}\n",
        last = tasks - 1,
        log = slurm.display(),
        header = header.join("\n"),
        here = quote(&here.to_string_lossy()),
        pglab = quote(&pglab.to_string_lossy()),
        args = sweep_args.join(" "),
    );
    let report = format!(
        "#!/bin/bash\n#SBATCH --job-name=pglab-{name}-report\n#SBATCH --output={log}/report.out\n{header}\n# After every task of the array (afterany): summary.csv and the report from the run directories.\nset -eu\ncd {here}\nexec {pglab} report {dir}\n",
        log = slurm.display(),
        header = header.join("\n"),
        here = quote(&here.to_string_lossy()),
        pglab = quote(&pglab.to_string_lossy()),
        dir = quote(&absolute(out).to_string_lossy()),
    );
    let scripts = Scripts {
        array: slurm.join("array.sh"),
        report: slurm.join("report.sh"),
        tasks,
    };
    write_atomically(&scripts.array, array.as_bytes())?;
    write_atomically(&scripts.report, report.as_bytes())?;
    Ok(scripts)
}

/// A single-quoted shell word.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// `sbatch --parsable [extra] script`: the job id.
fn submit(sbatch: &Path, extra: &[String], script: &Path) -> anyhow::Result<String> {
    let output = Command::new(sbatch)
        .arg("--parsable")
        .args(extra)
        .arg(script)
        .output()
        .with_context(|| format!("running {}", sbatch.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let id = stdout.trim().split(';').next().unwrap_or("").to_string();
    if !output.status.success() || id.is_empty() {
        bail!(
            "sbatch {} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(id)
}

/// Returns once `squeue` no longer lists job `id`.
fn wait_for(id: &str) -> anyhow::Result<()> {
    loop {
        let output = Command::new("squeue")
            .args(["-h", "-j", id, "-o", "%T"])
            .output()
            .context("running squeue")?;
        // squeue errors on a job id it has already forgotten: the job is over.
        if !output.status.success() || output.stdout.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}
