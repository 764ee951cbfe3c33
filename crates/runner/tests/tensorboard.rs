//! TensorBoard event files, read back with TensorBoard's own reader (`EventAccumulator`, through
//! `tools/read_tensorboard.py`): every run's scalars equal its `metrics.csv`, the probe's
//! figures and the samples are there, the hparams session carries the run's grid values, and a
//! killed-and-resumed run has one history. Needs the Python `tensorboard` package (asked up
//! front, `common::optional`): CI installs it and sets PGLAB_REQUIRE_TENSORBOARD=1; elsewhere
//! the tests skip.

mod common;

use std::path::Path;
use std::process::Command;

use common::{RUNS, line_count, optional, root, smoke_sweep, spawn_smoke_sweep, text, wait_until};
use serde_json::Value;

/// What `tools/read_tensorboard.py` reads from sweep directory `dir`.
fn read(dir: &Path) -> Value {
    let output = Command::new("python3")
        .arg(root().join("tools/read_tensorboard.py"))
        .arg(dir)
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    serde_json::from_slice(&output.stdout).unwrap()
}

fn sweep(out: &Path, extra: &[&str]) {
    let output = smoke_sweep(out, extra);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The (generations, value) pairs of `column` in a CSV file.
fn column(csv: &str, x: &str, y: &str) -> Vec<(i64, f64)> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = |name| header.iter().position(|h| *h == name).unwrap();
    let (ix, iy) = (at(x), at(y));
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[ix].parse().unwrap(), cells[iy].parse().unwrap())
        })
        .collect()
}

/// The (step, value) pairs of scalar `tag`, values as the f32 an event file stores (null, a
/// non-finite value, as NaN).
fn pairs(scalars: &Value, tag: &str) -> Vec<(i64, f32)> {
    scalars[tag]
        .as_array()
        .unwrap_or_else(|| panic!("no tag {tag} in {scalars}"))
        .iter()
        .map(|p| {
            (
                p[0].as_i64().unwrap(),
                p[1].as_f64().map_or(f32::NAN, |v| v as f32),
            )
        })
        .collect()
}

#[test]
fn every_run_s_event_file_matches_its_csv_files_and_carries_its_grid_values() {
    if !optional("tensorboard") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    sweep(tmp.path(), &[]);
    let sweep_dir = tmp.path().join("smoke");
    let read = read(&sweep_dir);
    for id in RUNS {
        let run = &read["runs"][id];
        assert_eq!(run["event_files"], 1, "{id}");
        let scalars = &run["scalars"];
        let metrics = text(&sweep_dir.join("runs").join(id).join("metrics.csv"));
        // Every numeric column, at step = generations, as f32.
        for (column_name, tag) in [
            ("reward_mean", "reward/mean"),
            ("reward_std", "reward/std"),
            ("adv_mean", "advantage/mean"),
            ("loss", "train/loss"),
            ("grad_norm", "train/grad_norm"),
            ("entropy", "train/entropy"),
            ("step", "train/step"),
        ] {
            let expected: Vec<(i64, f32)> = column(&metrics, "generations", column_name)
                .into_iter()
                .map(|(g, v)| (g, v as f32))
                .collect();
            assert_eq!(pairs(scalars, tag), expected, "{id} {tag}");
        }
        // The probe: every estimator's figures at each probe's generations.
        let probe = text(&sweep_dir.join("runs").join(id).join("probe.csv"));
        let probed = column(&probe, "generations", "grad_var");
        for estimator in [
            "reinforce",
            "reinforce_ema",
            "rloo",
            "grpo",
            "dr_grpo",
            "reinforce_pp",
            "reinforce_pp_baseline",
            "remax",
            "optimal_baseline",
        ] {
            // The run's own reduction under the plain tag, the smoke file's others
            // (`probe.token_reductions`) under their own.
            for figure in ["grad_var", "snr", "cos_to_ref"] {
                for tag in [
                    format!("probe/{figure}/{estimator}"),
                    format!("probe/{figure}/{estimator}/mean"),
                    format!("probe/{figure}/{estimator}/batch_mean"),
                ] {
                    let steps: Vec<i64> = pairs(scalars, &tag).iter().map(|p| p.0).collect();
                    assert_eq!(steps, vec![0, 12], "{id} {tag}");
                }
            }
        }
        assert_eq!(probed.len(), 2 * 9 * 3, "{id}");
        assert_eq!(run["texts"], serde_json::json!(["samples"]), "{id}");
        // The hparams session: the grid's values (estimator, seed) and the run's rate.
        let hparams = &run["session_start"]["sessionStartInfo"]["hparams"];
        let (estimator, seed) = id.split_once("-s").unwrap();
        assert_eq!(hparams["train.estimator"], estimator, "{id}: {hparams}");
        assert_eq!(hparams["seed"], seed.parse::<f64>().unwrap(), "{id}");
        assert_eq!(hparams["train.lr"], 0.05, "{id}");
        assert_eq!(
            run["session_end"]["sessionEndInfo"]["status"], "STATUS_SUCCESS",
            "{id}"
        );
        let done: Value =
            serde_json::from_str(&text(&sweep_dir.join("runs").join(id).join("done.json")))
                .unwrap();
        let final_reward = pairs(scalars, "final/reward");
        assert_eq!(final_reward.len(), 1, "{id}");
        assert_eq!(
            final_reward[0].1,
            done["final_reward"].as_f64().unwrap() as f32,
            "{id}"
        );
    }
    let experiment = &read["experiment"]["experiment"];
    let names: Vec<&str> = experiment["hparamInfos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["train.estimator", "seed", "train.lr"]);
    let metrics: Vec<&str> = experiment["metricInfos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"]["tag"].as_str().unwrap())
        .collect();
    assert_eq!(
        metrics,
        ["final/reward", "final/best_reward", "reward/mean"]
    );
}

#[test]
fn a_killed_and_resumed_run_has_one_history() {
    if !optional("tensorboard") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let longer = ["--set", "train.steps=8", "--jobs", "1"];
    let mut child = spawn_smoke_sweep(tmp.path(), &longer);
    let first = tmp
        .path()
        .join("smoke/runs")
        .join(RUNS[0])
        .join("metrics.csv");
    wait_until("three logged steps", || line_count(&first) >= 4);
    child.kill().unwrap();
    child.wait().unwrap();
    sweep(tmp.path(), &longer);
    let read = read(&tmp.path().join("smoke"));
    for id in RUNS {
        let run = &read["runs"][id];
        assert_eq!(run["event_files"], 1, "{id}");
        let steps: Vec<i64> = pairs(&run["scalars"], "reward/mean")
            .iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(steps, (1..=8).map(|s| s * 6).collect::<Vec<_>>(), "{id}");
    }
}

#[test]
fn no_event_file_when_turned_off() {
    let tmp = tempfile::tempdir().unwrap();
    sweep(tmp.path(), &["--set", "logging.tensorboard=false"]);
    let mut found = Vec::new();
    let mut dirs = vec![tmp.path().to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.to_string_lossy().contains("tfevents") {
                found.push(path);
            }
        }
    }
    assert!(found.is_empty(), "{found:?}");
}
