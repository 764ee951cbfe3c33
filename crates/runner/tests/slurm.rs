//! `pglab slurm`: the scripts it writes (`--dry-run`), its one-line errors, and the smoke grid
//! on a real one-node Slurm cluster (tools/slurm-up.sh), compared run by run with a local
//! `pglab sweep`, then cancelled mid-way and resubmitted. The cluster tests skip where Slurm is
//! not installed (`common::optional`), unless `PGLAB_REQUIRE_SLURM=1` (CI) makes that a failure.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{RUNS, optional, pglab, root, text, without_columns};

/// `pglab` under coreutils' `timeout`: a job that Slurm never schedules fails the test instead
/// of hanging CI.
fn pglab_within(seconds: u32, args: &[&str]) -> Output {
    let output = Command::new("timeout")
        .arg(seconds.to_string())
        .arg(env!("CARGO_BIN_EXE_pglab"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("timeout runs");
    assert_ne!(
        output.status.code(),
        Some(124),
        "pglab {args:?} took over {seconds} s"
    );
    output
}

#[test]
fn dry_run_writes_the_array_and_report_scripts() {
    let out = tempfile::tempdir().unwrap();
    let output = pglab(&[
        "slurm",
        "experiments/smoke.toml",
        "--tasks",
        "2",
        "--cpus-per-task",
        "2",
        "--time",
        "0:10:00",
        "--out",
        out.path().to_str().unwrap(),
        "--set",
        "train.steps=3",
        "--grid",
        "seed=0..2",
        "--sbatch-arg=--account=lab",
        "--dry-run",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let array = text(&out.path().join("smoke/slurm/array.sh"));
    let report = text(&out.path().join("smoke/slurm/report.sh"));
    for line in [
        "#SBATCH --array=0-1",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --time=0:10:00",
        "#SBATCH --account=lab",
        "--shard \"$SLURM_ARRAY_TASK_ID/2\" --jobs 2",
        "--set 'train.steps=3' --grid 'seed=0..2'",
        "task-%a.out",
    ] {
        assert!(array.contains(line), "{line}\n{array}");
    }
    let pglab_path = std::fs::canonicalize(env!("CARGO_BIN_EXE_pglab")).unwrap();
    assert!(
        array.contains(&format!("exec '{}' sweep '", pglab_path.display())),
        "{array}"
    );
    assert!(
        report.contains(" report '") && report.contains("smoke'"),
        "{report}"
    );
    assert!(
        stdout.contains(&array) && stdout.contains(&report),
        "{stdout}"
    );
    assert!(
        stdout.contains("--dependency=afterany:<array job id>"),
        "the report waits for every task: {stdout}"
    );
    assert!(stdout.contains("4 runs in 2 tasks"), "{stdout}");
    // Nothing runs in a dry run.
    assert!(!out.path().join("smoke/runs").exists());
}

#[test]
fn bad_slurm_input_is_one_line_with_exit_2() {
    let out = tempfile::tempdir().unwrap();
    let out = out.path().to_str().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let no_sbatch = Command::new(env!("CARGO_BIN_EXE_pglab"))
        .args(["slurm", "experiments/smoke.toml", "--out", out])
        .env("PATH", empty.path())
        .current_dir(root())
        .output()
        .unwrap();
    for (output, expected) in [
        (no_sbatch, "sbatch is not on PATH"),
        (
            pglab(&[
                "slurm",
                "experiments/smoke.toml",
                "--tasks",
                "0",
                "--dry-run",
            ]),
            "--tasks 0",
        ),
        (
            pglab(&["slurm", "experiments/no_such_file.toml", "--dry-run"]),
            "experiments/no_such_file.toml",
        ),
        (
            pglab(&[
                "slurm",
                "experiments/smoke.toml",
                "--grid",
                "seed=3..1",
                "--dry-run",
            ]),
            "--grid seed=3..1",
        ),
    ] {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{expected}: {stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        assert!(errors[0].contains(expected), "{expected}: {stderr}");
    }
    assert_eq!(
        std::fs::read_dir(out).unwrap().count(),
        0,
        "nothing written"
    );
}

/// Whether a local Slurm answers: its tools present (`common::optional`), then the cluster
/// started with tools/slurm-up.sh if need be. Slurm installed but unable to start is a failure.
fn slurm_up() -> bool {
    if !optional("slurm") {
        return false;
    }
    let script = root().join("tools/slurm-up.sh");
    let started = Command::new("bash").arg(&script).output().unwrap();
    assert!(
        started.status.success(),
        "Slurm is installed but did not start: {}",
        String::from_utf8_lossy(&started.stdout).trim()
    );
    true
}

/// Waits until Slurm no longer lists job `id`.
fn wait_gone(id: &str) {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let q = Command::new("squeue")
            .args(["-h", "-j", id])
            .output()
            .unwrap();
        if !q.status.success() || q.stdout.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        assert!(Instant::now() < deadline, "job {id} never ended");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_smoke_grid_on_slurm_equals_a_local_sweep_and_resumes_after_scancel() {
    if !slurm_up() {
        return;
    }
    let (cluster, local) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let cluster_out = cluster.path().to_str().unwrap();
    let submitted = pglab_within(
        600,
        &[
            "slurm",
            "experiments/smoke.toml",
            "--tasks",
            "2",
            "--out",
            cluster_out,
            "--wait",
        ],
    );
    let stdout = String::from_utf8_lossy(&submitted.stdout);
    assert!(
        submitted.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&submitted.stderr)
    );
    assert!(stdout.contains("all 4 runs finished"), "{stdout}");
    let ran = pglab(&[
        "sweep",
        "experiments/smoke.toml",
        "--out",
        local.path().to_str().unwrap(),
    ]);
    assert!(ran.status.success());
    for id in RUNS {
        let file = |out: &Path, name: &str| text(&out.join("smoke/runs").join(id).join(name));
        assert_eq!(
            without_columns(
                &file(cluster.path(), "metrics.csv"),
                &["tokens_per_s", "elapsed_s"]
            ),
            without_columns(
                &file(local.path(), "metrics.csv"),
                &["tokens_per_s", "elapsed_s"]
            ),
            "{id}"
        );
        assert_eq!(
            file(cluster.path(), "probe.csv"),
            file(local.path(), "probe.csv"),
            "{id}"
        );
    }
    let summary = |out: &Path| without_columns(&text(&out.join("smoke/summary.csv")), &["wall_s"]);
    assert_eq!(summary(cluster.path()), summary(local.path()));
    assert!(cluster.path().join("smoke/index.html").exists());

    // Cancelled mid-way, then the same command: only the missing runs run.
    let long = tempfile::tempdir().unwrap();
    let long_out = long.path().to_str().unwrap();
    let args = [
        "slurm",
        "experiments/smoke.toml",
        "--tasks",
        "1",
        "--out",
        long_out,
        "--set",
        "train.steps=30",
    ];
    let first = pglab(&args);
    let said = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let array_id = said
        .split("submitted array job ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_string();
    let report_id = said
        .split("report job ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_string();
    let runs = long.path().join("smoke/runs");
    let deadline = Instant::now() + Duration::from_secs(300);
    while !runs.join(RUNS[0]).join("done.json").exists() {
        assert!(Instant::now() < deadline, "the array never finished a run");
        std::thread::sleep(Duration::from_millis(50));
    }
    let cancelled = Command::new("scancel").arg(&array_id).status().unwrap();
    assert!(cancelled.success());
    wait_gone(&array_id);
    wait_gone(&report_id);
    let kept = std::fs::metadata(runs.join(RUNS[0]).join("done.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert!(
        !RUNS
            .iter()
            .all(|id| runs.join(id).join("done.json").exists()),
        "cancelled before the end"
    );
    let mut again = args.to_vec();
    again.push("--wait");
    let second = pglab_within(600, &again);
    assert!(
        second.status.success(),
        "{}{}",
        String::from_utf8_lossy(&second.stdout),
        String::from_utf8_lossy(&second.stderr)
    );
    let log = text(&long.path().join("smoke/slurm/task-0.out"));
    assert!(log.contains("already finished"), "{log}");
    let after = std::fs::metadata(runs.join(RUNS[0]).join("done.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(kept, after, "a finished run was redone");
    for id in RUNS {
        assert!(runs.join(id).join("done.json").exists(), "{id}");
    }
}
