//! Where each run of a sweep directory stands — its state, step and outcome — read only from
//! what runs write as they go (`done.json`, `failed.json`, `metrics.csv`, one row per step) and
//! from the sweep's locks, so it answers while a sweep runs, after it was killed, and for
//! shards of a Slurm sweep sharing the directory. Running and stopped runs are told apart by
//! those locks (flock): on a network filesystem that does not pass locks between nodes, a run
//! on another node reads as stopped. `pglab status` prints it; `pglab slurm --wait` polls it.

use std::collections::BTreeMap;
use std::path::Path;

use pglab_report::{RunResult, Status};
use serde::Serialize;

use crate::experiment::RunSpec;
use crate::sweep::dir::SweepDir;

/// A run's state, as `status` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Done,
    Diverged,
    Failed,
    /// Started, no outcome yet, and a sweep holding the directory's lock runs it.
    Running,
    /// Started, no outcome, and nothing runs it: killed or interrupted; a resumed sweep redoes
    /// it from the start.
    Stopped,
    /// Not started (or finished under settings that have since changed).
    Pending,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Done => "done",
            State::Diverged => "diverged",
            State::Failed => "failed",
            State::Running => "running",
            State::Stopped => "stopped",
            State::Pending => "pending",
        }
    }
}

/// One run's line.
#[derive(Debug, Serialize)]
pub struct RunStatus {
    pub id: String,
    /// Grid key → value at this run's point.
    pub grid: BTreeMap<String, String>,
    pub state: State,
    /// Steps logged so far (all of them for a finished run).
    pub step: usize,
    pub steps: usize,
    pub final_reward: Option<f64>,
    /// Why it failed or diverged.
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct SweepStatus {
    pub runs: Vec<RunStatus>,
    pub counts: BTreeMap<&'static str, usize>,
}

/// Every run of the sweep in `dir`, in grid order, with its state.
pub fn run_states(dir: &SweepDir) -> anyhow::Result<SweepStatus> {
    let holders = dir.holders();
    let runs: Vec<RunStatus> = dir
        .runs()?
        .iter()
        .enumerate()
        .map(|(i, spec)| run_status(dir, spec, holders.runs(i)))
        .collect();
    let mut counts = BTreeMap::new();
    for r in &runs {
        *counts.entry(r.state.name()).or_insert(0) += 1;
    }
    Ok(SweepStatus { runs, counts })
}

fn run_status(sweep: &SweepDir, spec: &RunSpec, in_running_sweep: bool) -> RunStatus {
    let dir = sweep.run_dir(spec);
    let outcome: Option<RunResult> = sweep.outcome(spec);
    let steps = spec.config.train.total_steps();
    let logged = logged_steps(&dir.join("metrics.csv"));
    let state = match outcome.as_ref().map(|r| r.status) {
        Some(Status::Done) => State::Done,
        Some(Status::Diverged) => State::Diverged,
        Some(Status::Failed) => State::Failed,
        None if !dir.join("config.toml").exists() => State::Pending,
        None if in_running_sweep => State::Running,
        None => State::Stopped,
    };
    RunStatus {
        id: spec.id.clone(),
        grid: spec
            .point
            .iter()
            .map(|(k, v)| {
                let value = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                (k.clone(), value)
            })
            .collect(),
        state,
        step: outcome.as_ref().map_or(logged, |r| r.steps.max(logged)),
        steps,
        final_reward: outcome.as_ref().and_then(|r| r.final_reward),
        reason: outcome.map(|r| r.reason).unwrap_or_default(),
    }
}

/// Rows of a `metrics.csv` (one per step, flushed as written), 0 when there is none.
fn logged_steps(path: &Path) -> usize {
    std::fs::read(path).map_or(0, |bytes| {
        bytes
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            .saturating_sub(1)
    })
}
