//! What the runner's end-to-end tests share: the pglab binary run from the repository root,
//! files read back, CSV files compared without their wall-clock columns, and the smoke grid's
//! run ids.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")).join("../..")
}

/// `pglab ARGS` from the repository root (where the experiment files' relative paths resolve).
pub fn pglab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pglab"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("pglab runs")
}

/// Bad input's answer: exit 2 and one line, `error: …` containing `expected`, no panic.
pub fn assert_one_line_error(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(expected),
        "expected {expected:?}: {stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

pub fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A CSV with the named columns blanked (wall-clock figures differ between runs).
pub fn without_columns(csv: &str, columns: &[&str]) -> Vec<Vec<String>> {
    let mut rows = csv
        .lines()
        .map(|l| l.split(',').map(String::from).collect::<Vec<_>>());
    let header = rows.next().unwrap();
    let drop: Vec<usize> = columns
        .iter()
        .filter_map(|c| header.iter().position(|h| h == c))
        .collect();
    assert_eq!(
        drop.len(),
        columns.len(),
        "columns {columns:?} in {header:?}"
    );
    std::iter::once(header.clone())
        .chain(rows)
        .map(|row| {
            row.into_iter()
                .enumerate()
                .map(|(i, v)| if drop.contains(&i) { String::new() } else { v })
                .collect()
        })
        .collect()
}

/// The smoke grid's runs (`experiments/smoke.toml`), in grid order.
pub const RUNS: [&str; 4] = ["reinforce-s0", "reinforce-s1", "rloo-s0", "rloo-s1"];

/// Whether optional `tool` (tensorboard, slurm, wgpu, tmpfs) is usable here, asked of
/// `tools/optional-tools.sh check TOOL` before a test that needs it starts. When it is not, a
/// failure if `PGLAB_REQUIRE_<TOOL>` is set (CI, after installing it), else one "skipped" line
/// naming what is missing, and false.
pub fn optional(tool: &str) -> bool {
    let output = Command::new("bash")
        .arg(root().join("tools/optional-tools.sh"))
        .args(["check", tool])
        .output()
        .expect("bash runs");
    if output.status.success() {
        return true;
    }
    let missing = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let require = format!("PGLAB_REQUIRE_{}", tool.to_uppercase());
    assert!(
        std::env::var_os(&require).is_none(),
        "{require} is set but {tool} is missing here: {missing}"
    );
    #[allow(clippy::print_stderr)]
    {
        eprintln!("skipped: needs {tool}, missing here: {missing}");
    }
    false
}

/// `pglab sweep experiments/smoke.toml --out OUT EXTRA…`, run to its end.
pub fn smoke_sweep(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "sweep",
        "experiments/smoke.toml",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    pglab(&args)
}

/// The same sweep started in the background, its stderr piped (to kill it mid-way).
pub fn spawn_smoke_sweep(out: &Path, extra: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_pglab"))
        .args(["sweep", "experiments/smoke.toml", "--out"])
        .arg(out)
        .args(extra)
        .current_dir(root())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("pglab starts")
}

/// Polls `ready` every 10 ms until it holds; fails naming `what` after two minutes.
pub fn wait_until(what: &str, ready: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} never happened"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Lines in a file (a metrics.csv as it is written), 0 when it is not there yet.
pub fn line_count(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}
