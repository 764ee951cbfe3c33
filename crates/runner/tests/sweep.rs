//! `pglab sweep` end to end on the CI-sized smoke experiment (the committed tiny GPT-2): the
//! files it writes, determinism, resume after a real kill, divergence, and sharding.

mod common;

use std::path::Path;
use std::process::Command;

use common::{
    RUNS, assert_one_line_error, line_count, pglab, smoke_sweep as sweep, spawn_smoke_sweep, text,
    wait_until, without_columns,
};

#[test]
fn smoke_sweep_writes_every_runs_files_and_a_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let output = sweep(tmp.path(), &["--jobs", "2"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = tmp.path().join("smoke");
    let summary = text(&dir.join("summary.csv"));
    assert!(
        summary.starts_with("run_id,train.estimator,seed,train.lr,status,"),
        "{summary}"
    );
    for id in RUNS {
        let run = dir.join("runs").join(id);
        for file in [
            "config.toml",
            "metrics.csv",
            "probe.csv",
            "samples.jsonl",
            "done.json",
        ] {
            assert!(run.join(file).is_file(), "{id}/{file}");
        }
        assert!(summary.contains(&format!("{id},")), "{summary}");
        // 4 steps, one row each; probes at steps 0 and 2, every estimator (nine) each under
        // three token reductions (the run's own sum, and mean and batch_mean).
        assert_eq!(
            text(&run.join("metrics.csv")).lines().count(),
            1 + 4,
            "{id}"
        );
        let probe = text(&run.join("probe.csv"));
        assert_eq!(probe.lines().count(), 1 + 2 * 9 * 3, "{id}");
        assert!(probe.contains(",reinforce_pp,"), "{probe}");
        assert!(probe.contains(",reinforce_pp_baseline,"), "{probe}");
    }
    assert_eq!(summary.matches(",done,").count(), 4, "{summary}");
    assert!(dir.join("sweep.toml").is_file());
    // The sweep ends with its report (crates/report/tests/report.rs checks what is in it).
    for file in [
        "index.html",
        "summary.md",
        "report.csv",
        "variance.csv",
        "plots/reward.png",
        "plots/reward_seeds.png",
        "plots/grad_variance.png",
        "plots/variance_ratio.png",
        "plots/cos_to_ref.png",
        "plots/snr.png",
        "plots/lr_sensitivity.png",
    ] {
        assert!(dir.join(file).is_file(), "{file}");
    }

    // A second run of the same sweep recomputes nothing.
    let before = text(&dir.join("runs/rloo-s0/done.json"));
    let again = sweep(tmp.path(), &[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        again.status.success() && stderr.contains("4 already finished, 0 to run"),
        "{stderr}"
    );
    assert_eq!(text(&dir.join("runs/rloo-s0/done.json")), before);
}

/// Also across `--jobs`: one job runs on a rayon pool of every core, two jobs on pools of half
/// of them each, and a run's numbers must not depend on how many threads it had.
#[test]
fn same_seed_gives_identical_metrics_apart_from_time_columns_whatever_the_jobs() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (out, jobs) in [(a.path(), "1"), (b.path(), "2")] {
        let output = sweep(out, &["--jobs", jobs]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for id in RUNS {
        let metrics = |out: &Path| {
            without_columns(
                &text(&out.join("smoke/runs").join(id).join("metrics.csv")),
                &["tokens_per_s", "elapsed_s"],
            )
        };
        assert_eq!(metrics(a.path()), metrics(b.path()), "{id}");
        let probe = |out: &Path| text(&out.join("smoke/runs").join(id).join("probe.csv"));
        assert_eq!(probe(a.path()), probe(b.path()), "{id}");
    }
}

#[test]
fn shards_cover_every_run_exactly_once_and_share_one_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for shard in ["0/3", "1/3", "2/3"] {
        let output = sweep(tmp.path(), &["--shard", shard, "--jobs", "1"]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let runs = std::fs::read_dir(tmp.path().join("smoke/runs"))
            .unwrap()
            .count();
        seen.push(runs);
    }
    // Shard i of 3 takes runs i, i+3, …: 2 + 1 + 1 of the 4 runs, each once.
    assert_eq!(seen, [2, 3, 4]);
    let summary = text(&tmp.path().join("smoke/summary.csv"));
    assert_eq!(summary.matches(",done,").count(), 4, "{summary}");
}

#[test]
fn bad_shard_or_jobs_is_a_clear_error_and_writes_nothing() {
    for (args, expected) in [
        (["--shard", "3/3"], "--shard 3/3"),
        (["--jobs", "0"], "--jobs 0: a sweep needs at least one job"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        assert_one_line_error(&sweep(tmp.path(), &args), expected);
        assert!(!tmp.path().join("smoke").exists(), "{args:?} wrote nothing");
    }
}

#[test]
fn absurd_learning_rate_diverges_and_the_sweep_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let output = sweep(tmp.path(), &["--set", "train.lr=1e30", "--jobs", "2"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let summary = text(&tmp.path().join("smoke/summary.csv"));
    assert_eq!(summary.matches(",diverged,").count(), 4, "{summary}");
    assert!(summary.contains("non-finite"), "{summary}");
}

#[test]
fn killed_sweep_resumes_to_the_uninterrupted_result() {
    let (killed, clean) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let longer = ["--set", "train.steps=12", "--jobs", "1"];
    let mut child = spawn_smoke_sweep(killed.path(), &longer);
    // Kill it (SIGKILL) once the first run is finished and the second has started.
    let runs = killed.path().join("smoke/runs");
    let first_done = runs.join(RUNS[0]).join("done.json");
    wait_until("a finished run", || {
        first_done.exists() && runs.join(RUNS[1]).join("metrics.csv").exists()
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let finished_before = text(&runs.join(RUNS[0]).join("metrics.csv"));
    assert!(
        !runs.join(RUNS[3]).join("done.json").exists(),
        "killed before the end"
    );

    // `status` tells each run's true state from what the runs wrote and the (released) lock.
    let status = |out: &Path| -> serde_json::Value {
        let output = pglab(&["status", out.join("smoke").to_str().unwrap(), "--json"]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let seen = status(killed.path());
    let runs_seen = seen["runs"].as_array().unwrap();
    let ids: Vec<&str> = runs_seen
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, RUNS);
    assert_eq!(runs_seen[0]["state"], "done");
    assert_eq!(runs_seen[0]["step"], 12);
    assert_eq!(runs_seen[0]["steps"], 12);
    assert!(runs_seen[0]["final_reward"].is_number());
    assert_eq!(runs_seen[1]["state"], "stopped", "{seen}");
    let logged = text(&runs.join(RUNS[1]).join("metrics.csv"))
        .lines()
        .count()
        .saturating_sub(1);
    assert_eq!(runs_seen[1]["step"], logged);
    assert!(runs_seen[1]["final_reward"].is_null());
    for r in &runs_seen[2..] {
        let started = runs.join(r["id"].as_str().unwrap()).exists();
        assert_eq!(
            r["state"],
            if started { "stopped" } else { "pending" },
            "{r}"
        );
    }
    assert_eq!(runs_seen[2]["grid"]["train.estimator"], "rloo");
    assert_eq!(runs_seen[2]["grid"]["seed"], "0");
    let counts = &seen["counts"];
    assert_eq!(counts["done"], 1, "{counts}");

    let resumed = sweep(killed.path(), &longer);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("1 already finished"));
    assert_eq!(
        text(&runs.join(RUNS[0]).join("metrics.csv")),
        finished_before,
        "finished run untouched"
    );

    let after = status(killed.path());
    assert_eq!(after["counts"], serde_json::json!({ "done": 4 }), "{after}");
    let table = pglab(&["status", killed.path().join("smoke").to_str().unwrap()]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains(RUNS[3]) && table.contains("4 runs: 4 done"),
        "{table}"
    );

    let uninterrupted = sweep(clean.path(), &longer);
    assert!(uninterrupted.status.success());
    let summary = |out: &Path| without_columns(&text(&out.join("smoke/summary.csv")), &["wall_s"]);
    assert_eq!(summary(killed.path()), summary(clean.path()));
}

#[test]
fn check_lists_runs_and_writes_nothing() {
    let output = pglab(&["check", "experiments/smoke.toml"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("4 run(s)") && stdout.contains("rloo-s1"),
        "{stdout}"
    );
}

#[test]
fn tiny_stories_preset_validates_except_for_its_missing_model() {
    let output = pglab(&["check", "experiments/tiny_stories_rl.toml"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("models/TinyStories-33M") && stderr.contains("missing"),
        "{stderr}"
    );
}

#[test]
fn smollm_and_qwen3_presets_validate_except_for_their_missing_models() {
    for (file, model) in [
        ("experiments/smollm_rl.toml", "models/SmolLM2-135M"),
        ("experiments/qwen3_rl.toml", "models/Qwen3-0.6B"),
    ] {
        let output = pglab(&["check", file]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{file}: {stderr}");
        assert!(
            stderr.contains(model) && stderr.contains("missing"),
            "{file}: {stderr}"
        );
    }
}

/// The smoke grid, probe and all, on the rotary fixtures (grouped key/value heads, an untied
/// head, biases, Llama 3's rope scaling with a BOS-adding tokenizer, Qwen3's q/k norms and wide
/// heads): every run trains to the end with finite figures.
#[test]
fn smoke_sweep_trains_the_rotary_fixtures() {
    for name in [
        "tiny-llama",
        "tiny-qwen2",
        "tiny-llama3-scaled",
        "tiny-qwen3",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let model = format!("model=\"crates/model/tests/fixtures/{name}\"");
        let output = sweep(tmp.path(), &["--set", &model]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{name}: {stderr}");
        for id in RUNS {
            let run = tmp.path().join("smoke/runs").join(id);
            let done: serde_json::Value =
                serde_json::from_str(&text(&run.join("done.json"))).unwrap();
            assert_eq!(done["status"], "done", "{name} {id}");
            let metrics = text(&run.join("metrics.csv"));
            assert_eq!(metrics.lines().count(), 1 + 4, "{name} {id}: four steps");
            assert!(
                !metrics.contains("NaN") && !metrics.contains("inf"),
                "{name} {id}"
            );
            let probe = text(&run.join("probe.csv"));
            assert_eq!(
                probe.lines().count(),
                1 + 2 * 9 * 3,
                "{name} {id}: two probes, three reductions"
            );
            let config = text(&run.join("config.toml"));
            assert!(config.contains(name), "{name} {id}: {config}");
        }
    }
}

#[test]
fn ctrl_c_stops_cleanly_and_says_how_to_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let child = spawn_smoke_sweep(tmp.path(), &["--set", "train.steps=200", "--jobs", "1"]);
    let metrics = tmp
        .path()
        .join("smoke/runs")
        .join(RUNS[0])
        .join("metrics.csv");
    wait_until("two logged steps", || line_count(&metrics) >= 3);
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("interrupted") && stderr.contains("again to resume"),
        "{stderr}"
    );
    // Stopped mid-run: nothing is marked finished, and the summary says so.
    assert!(!metrics.with_file_name("done.json").exists());
    let summary = text(&tmp.path().join("smoke/summary.csv"));
    assert_eq!(summary.matches(",pending,").count(), 4, "{summary}");
}

#[test]
fn grid_overrides_run_what_check_lists_and_bad_ones_write_nothing() {
    let out = tempfile::tempdir().unwrap();
    let grid = [
        "--grid",
        "seed=100..103",
        "--grid",
        "train.estimator=[rloo]",
    ];
    let mut check_args = vec!["check", "experiments/smoke.toml"];
    check_args.extend(grid);
    let check = pglab(&check_args);
    let listed = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let expected = ["rloo-s100", "rloo-s101", "rloo-s102"];
    assert!(listed.contains("3 run(s)"), "{listed}");
    for id in expected {
        assert!(listed.contains(&format!("  {id}\n")), "{listed}");
    }

    let mut args = grid.to_vec();
    args.extend(["--set", "train.steps=2", "--jobs", "1"]);
    let ran = sweep(out.path(), &args);
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert!(stderr.contains("grid seed = [100, 101, 102]"), "{stderr}");
    let mut dirs: Vec<String> = std::fs::read_dir(out.path().join("smoke/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    assert_eq!(dirs, expected);
    assert_eq!(
        text(&out.path().join("smoke/summary.csv")).lines().count(),
        4
    );
    // `pglab report` rebuilds summary.csv from the run directories, under the recorded grid.
    let summary = text(&out.path().join("smoke/summary.csv"));
    std::fs::remove_file(out.path().join("smoke/summary.csv")).unwrap();
    let report = pglab(&["report", out.path().join("smoke").to_str().unwrap()]);
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    assert_eq!(text(&out.path().join("smoke/summary.csv")), summary);

    // The same directory under other overrides is refused, and nothing in it changes.
    let before = text(&out.path().join("smoke/summary.csv"));
    let other = sweep(
        out.path(),
        &["--grid", "seed=0..2", "--set", "train.steps=2"],
    );
    assert_eq!(other.status.code(), Some(2));
    let err = String::from_utf8_lossy(&other.stderr);
    assert!(
        err.contains(
            "was run with `--set train.steps=2 --grid seed=100..103 --grid train.estimator=[rloo]`"
        ),
        "{err}"
    );
    assert_eq!(text(&out.path().join("smoke/summary.csv")), before);

    for bad in ["seed=5..2", "seed=a..b", "seed=[]", "train.nosuch=[1]"] {
        let fresh = tempfile::tempdir().unwrap();
        let output = sweep(fresh.path(), &["--grid", bad]);
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bad}: {err}");
        assert_eq!(
            err.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "{bad}: {err}"
        );
        assert!(err.contains("--grid"), "{bad}: {err}");
        assert_eq!(
            std::fs::read_dir(fresh.path()).unwrap().count(),
            0,
            "{bad}: nothing written"
        );
    }
}

/// Slurm's SIGTERM before a kill (preemption, time limit, scancel) stops a sweep like Ctrl-C:
/// the finished run is kept, and the same command again completes the grid without redoing it.
#[test]
fn sigterm_keeps_finished_runs_and_the_rerun_completes_the_grid() {
    let tmp = tempfile::tempdir().unwrap();
    let longer = ["--set", "train.steps=8", "--jobs", "1"];
    let child = spawn_smoke_sweep(tmp.path(), &longer);
    let runs = tmp.path().join("smoke/runs");
    wait_until("a finished run", || {
        runs.join(RUNS[0]).join("done.json").exists()
            && line_count(&runs.join(RUNS[1]).join("metrics.csv")) >= 2
    });
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let finished = text(&runs.join(RUNS[0]).join("metrics.csv"));
    let stamp = std::fs::metadata(runs.join(RUNS[0]).join("done.json"))
        .unwrap()
        .modified()
        .unwrap();

    let resumed = sweep(tmp.path(), &longer);
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    assert!(stderr.contains("already finished"), "{stderr}");
    assert_eq!(text(&runs.join(RUNS[0]).join("metrics.csv")), finished);
    let again = std::fs::metadata(runs.join(RUNS[0]).join("done.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(stamp, again, "the finished run was not redone");
    for id in RUNS {
        assert!(runs.join(id).join("done.json").exists(), "{id}");
    }
}

/// Issue 21's smoke check: every estimator trains from an experiment file, and every run's
/// probe has each of the nine from the same samples; the report's variance table lists each
/// once. ReMax's greedy completions count as generations (P more per step).
#[test]
fn every_estimator_trains_and_the_report_lists_all_nine() {
    const ALL: [&str; 9] = [
        "reinforce",
        "reinforce_ema",
        "rloo",
        "grpo",
        "dr_grpo",
        "reinforce_pp",
        "reinforce_pp_baseline",
        "remax",
        "optimal_baseline",
    ];
    let tmp = tempfile::tempdir().unwrap();
    let estimators = format!(
        "train.estimator=[{}]",
        ALL.map(|e| format!("\"{e}\"")).join(",")
    );
    let output = sweep(
        tmp.path(),
        &["--grid", &estimators, "--grid", "seed=[0]", "--jobs", "2"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let dir = tmp.path().join("smoke");
    for estimator in ALL {
        let run = dir.join("runs").join(format!("{estimator}-s0"));
        let metrics = text(&run.join("metrics.csv"));
        let header: Vec<&str> = metrics.lines().next().unwrap().split(',').collect();
        let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
        let rows: Vec<Vec<&str>> = metrics
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect())
            .collect();
        assert_eq!(rows.len(), 4, "{estimator}: four steps");
        // P = 2 prompts × k = 3 completions, and ReMax's 2 greedy ones.
        let per_step = if estimator == "remax" { 8 } else { 6 };
        for (step, row) in rows.iter().enumerate() {
            assert_eq!(
                row[at("generations")],
                ((step + 1) * per_step).to_string(),
                "{estimator}"
            );
            let grad_norm: f64 = row[at("grad_norm")].parse().unwrap();
            assert!(
                grad_norm.is_finite(),
                "{estimator} step {step}: {grad_norm}"
            );
        }
        let probe = text(&run.join("probe.csv"));
        for e in ALL {
            assert_eq!(
                probe.matches(&format!(",{e},")).count(),
                2 * 3,
                "{estimator}: {e} in {probe} (two probes, three reductions)"
            );
        }
    }
    // One row per estimator and probe step (the smoke grid probes at steps 0 and 2).
    let variance = text(&dir.join("variance.csv"));
    for e in ALL {
        assert_eq!(
            variance
                .lines()
                .filter(|l| l.starts_with(&format!("{e},")))
                .count(),
            2 * 3,
            "{e}: {variance} (two steps, three reductions)"
        );
    }
    let summary = text(&dir.join("summary.md"));
    for e in ALL {
        assert!(summary.contains(e), "{e} in summary.md");
    }
}

/// The probe's samples do not depend on which estimators it compares: probing two of the nine
/// gives those two the same figures as probing all nine (all but the cosine, whose reference
/// is the lowest-variance unbiased estimator among those probed).
#[test]
fn adding_estimators_to_the_probe_leaves_the_others_figures_alone() {
    let (all, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let only_two = "probe.estimators=[\"reinforce\", \"rloo\"]";
    for (out, extra) in [
        (all.path(), vec!["--grid", "seed=[0]"]),
        (two.path(), vec!["--grid", "seed=[0]", "--set", only_two]),
    ] {
        let output = sweep(out, &extra);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for id in ["reinforce-s0", "rloo-s0"] {
        let rows = |out: &Path| {
            without_columns(
                &text(&out.join("smoke/runs").join(id).join("probe.csv")),
                &["cos_to_ref"],
            )
        };
        let (all, two) = (rows(all.path()), rows(two.path()));
        let shared: Vec<Vec<String>> = all
            .into_iter()
            .filter(|r| r[2] == "estimator" || r[2] == "reinforce" || r[2] == "rloo")
            .collect();
        assert_eq!(shared.len(), 1 + 2 * 2 * 3, "{id}");
        assert_eq!(shared, two, "{id}");
    }
}

/// `pglab compare`: a sweep against itself holds every claim it resolved and leaves the rest
/// unresolved in both; a directory that is not a sweep, or a sweep of another experiment, is
/// refused with one line and exit 2, writing nothing.
#[test]
fn compare_holds_a_sweep_against_itself_and_refuses_what_is_not_a_replicate() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(sweep(tmp.path(), &[]).status.success());
    let smoke = tmp.path().join("smoke");
    let out = tmp.path().join("compare");
    let (a, o) = (smoke.to_str().unwrap(), out.to_str().unwrap());
    let output = pglab(&["compare", a, a, "--out", o]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The last six columns have no commas in them: b_estimate … verdict, a_verdict before.
    let csv = text(&out.join("compare.csv"));
    assert!(
        csv.starts_with("id,role,statement,a_estimate,a_ci95_low,a_ci95_high,a_verdict,"),
        "{csv}"
    );
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.rsplitn(7, ',').collect())
        .collect();
    assert!(!rows.is_empty(), "{csv}");
    for row in &rows {
        let (verdict, a_verdict) = (row[0], row[5]);
        let expected = if a_verdict == "resolved" {
            "held"
        } else {
            "not resolved in either"
        };
        assert_eq!(verdict, expected, "{csv}");
    }
    assert!(String::from_utf8_lossy(&output.stdout).contains("| claim | A | B | verdict |"));

    // Not a sweep directory; a sweep of another experiment (another name).
    let other = tmp.path().join("other_experiment");
    let copied = Command::new("cp")
        .arg("-r")
        .arg(&smoke)
        .arg(&other)
        .status()
        .unwrap();
    assert!(copied.success());
    let renamed = text(&other.join("sweep.toml")).replace("name = \"smoke\"", "name = \"other\"");
    assert!(renamed.contains("name = \"other\""), "{renamed}");
    std::fs::write(other.join("sweep.toml"), renamed).unwrap();
    let refused = tmp.path().join("refused");
    for (first, said) in [
        (tmp.path().to_path_buf(), "not a sweep directory"),
        (other, "different experiments"),
    ] {
        let output = pglab(&[
            "compare",
            first.to_str().unwrap(),
            a,
            "--out",
            refused.to_str().unwrap(),
        ]);
        assert_one_line_error(&output, said);
        assert!(!refused.exists(), "nothing written");
    }
}

/// The page a browser loads to check a report: `index.html` in a frame, then whether it has its
/// answer section and whether every image it references decodes, written into `#result`.
const REPORT_CHECK: &str = r#"<!doctype html><html><body><div id="result">pending</div>
<iframe id="report" src="index.html" style="width:1400px;height:2400px"></iframe>
<script>
const frame = document.getElementById('report');
// The window's load waits for the frame's, which waits for its images: every image has by
// then loaded or failed, and a decoded one has a width.
window.addEventListener('load', () => {
  const say = (t) => { document.getElementById('result').textContent = t; };
  const page = frame.contentDocument;
  if (!page) { say('FAIL: the report could not be read'); return; }
  const problems = [];
  if (!page.getElementById('answer')) problems.push('no answer section');
  const images = [...page.images];
  if (images.length === 0) problems.push('no images');
  for (const image of images) {
    if (!image.complete || image.naturalWidth === 0) problems.push('broken ' + image.getAttribute('src'));
  }
  say(problems.length ? 'FAIL: ' + problems.join('; ') : 'OK: ' + images.length + ' images');
});
</script></body></html>"#;

/// What headless Chromium finds in the report of sweep directory `dir` at 1400 px.
fn browse(browser: &str, dir: &Path) -> String {
    std::fs::write(dir.join("check.html"), REPORT_CHECK).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--allow-file-access-from-files",
            "--window-size=1400,2400",
            "--virtual-time-budget=20000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", dir.join("check.html").display()))
        .output()
        .expect("the browser runs");
    let dom = String::from_utf8_lossy(&output.stdout);
    let start = dom.find("<div id=\"result\">").map(|i| i + 17).unwrap_or(0);
    dom[start..]
        .split("</div>")
        .next()
        .unwrap_or("")
        .to_string()
}

/// The smoke sweep's report in a real browser: it has its answer section and every image it
/// references decodes; the same check fails on a report without either (so it can fail).
#[test]
fn the_report_renders_in_a_browser_with_its_answer_and_every_image() {
    if !common::optional("chromium") {
        return;
    }
    let found = Command::new("bash")
        .arg(common::root().join("tools/optional-tools.sh"))
        .arg("chromium-binary")
        .output()
        .unwrap();
    let browser = String::from_utf8_lossy(&found.stdout).trim().to_string();
    let tmp = tempfile::tempdir().unwrap();
    assert!(sweep(tmp.path(), &[]).status.success());
    let dir = tmp.path().join("smoke");
    let result = browse(&browser, &dir);
    assert!(result.starts_with("OK: "), "{result}");

    std::fs::remove_file(dir.join("plots/reward.png")).unwrap();
    let index = text(&dir.join("index.html")).replace("id=\"answer\"", "id=\"elsewhere\"");
    std::fs::write(dir.join("index.html"), index).unwrap();
    let result = browse(&browser, &dir);
    assert!(
        result.contains("no answer section") && result.contains("broken plots/reward.png"),
        "{result}"
    );
}

/// A grid over clipped objectives (`train = [{ objective = …, epochs = … }]`): every run trains
/// through the updates path and logs its ratios, and summary.csv and report.csv name each run's
/// objective and epochs in columns of their own.
#[test]
fn a_grid_of_objectives_names_them_in_summary_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    let output = sweep(
        tmp.path(),
        &[
            "--set",
            "train.estimator=\"rloo\"",
            "--grid",
            "train=[{objective=\"ppo_clip\", epochs=2}, {objective=\"cispo\", epochs=1}]",
            "--grid",
            "seed=[0]",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = tmp.path().join("smoke");
    let summary = text(&dir.join("summary.csv"));
    let header: Vec<&str> = summary.lines().next().unwrap().split(',').collect();
    for column in ["train.objective", "train.epochs"] {
        assert!(header.contains(&column), "{summary}");
    }
    let report = text(&dir.join("report.csv"));
    let report_header = report.lines().next().unwrap();
    assert!(
        report_header.contains("train.objective") && report_header.contains("train.epochs"),
        "{report}"
    );
    assert_eq!(report.lines().count(), 1 + 2, "{report}");
    for (id, updates) in [
        ("s0-epochs2-objectiveppo_clip", 2),
        ("s0-epochs1-objectivecispo", 1),
    ] {
        let metrics = text(&dir.join("runs").join(id).join("metrics.csv"));
        let header: Vec<&str> = metrics.lines().next().unwrap().split(',').collect();
        let at = |name: &str| header.iter().position(|c| *c == name).unwrap();
        for line in metrics.lines().skip(1) {
            let row: Vec<&str> = line.split(',').collect();
            let (low, high): (f64, f64) = (
                row[at("ratio_min")].parse().unwrap(),
                row[at("ratio_max")].parse().unwrap(),
            );
            // One update per batch: every ratio is exactly 1. Two: the second's moved.
            match updates {
                1 => assert_eq!((low, high), (1.0, 1.0), "{id}: {line}"),
                _ => assert!(low < 1.0 || high > 1.0, "{id}: {line}"),
            }
            let clipped: f64 = row[at("clip_low_frac")].parse().unwrap();
            assert!((0.0..=1.0).contains(&clipped), "{id}: {line}");
        }
    }
}
