//! `[reward] kind = "command"` end to end: the shipped Python A-word reward trains exactly as the
//! built-in one, every failure fails its run alone with one line, `pglab check` refuses a
//! missing program, and no reward process outlives its run — finished, failed or interrupted.

#![cfg(target_os = "linux")]

mod common;
#[path = "../../reward/tests/fixtures/processes.rs"]
mod processes;

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{RUNS, pglab, root, text, without_columns};
use processes::{assert_all_gone, recorded_pids};

fn fixture() -> String {
    root()
        .join("crates/reward/tests/fixtures/reward_command.py")
        .canonicalize()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// `pglab sweep FILE --out OUT ARGS…`.
fn sweep(file: &Path, out: &Path, args: &[&str]) -> Output {
    let mut all = vec![
        "sweep",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    all.extend(args);
    pglab(&all)
}

/// A small experiment on the tiny fixture whose reward is `reward_command.py ARGS…`, run for two
/// seeds. The timeout is 1 s where the program hangs (the point of that test) and 60 s
/// elsewhere, as a loaded machine may take over a second to start Python.
fn fixture_experiment(dir: &Path, args: &[&str], extra: &str) -> PathBuf {
    let timeout_s = if args.first() == Some(&"hang") { 1 } else { 60 };
    let mut command = vec!["python3".to_string(), fixture()];
    command.extend(args.iter().map(|a| a.to_string()));
    let file = dir.join("experiment.toml");
    std::fs::write(
        &file,
        format!(
            "model = \"crates/model/tests/fixtures/tiny-gpt2\"\nbackend = \"flex\"\n\
             [sweep]\nname = \"cmd\"\n\
             [sampling]\nmax_new_tokens = 8\n\
             [train]\nestimator = \"rloo\"\nlr = 0.01\nprompts = [\"Anna had a ball.\"]\nk = 2\nsteps = 3\n\
             [reward]\nkind = \"command\"\ncommand = {}\ntimeout_s = {timeout_s}\n\
             {extra}\n\
             [grid]\nseed = [0, 1]\n",
            toml::Value::try_from(&command).unwrap()
        ),
    )
    .unwrap();
    file
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every process `reward_command.py --pids DIR` recorded in `pids_dir` has ended.
fn assert_all_ended(pids_dir: &Path, case: &str) {
    let pids = recorded_pids(pids_dir);
    assert!(!pids.is_empty(), "{case}: no reward process was started");
    assert_all_gone(&pids, case);
}

#[test]
fn the_python_a_word_reward_trains_exactly_as_the_built_in_one() {
    let tmp = tempfile::tempdir().unwrap();
    let smoke = text(&root().join("experiments/smoke.toml"));
    let built_in_reward = "[reward]\nkind = \"starts_with\"\nletters = \"abc\"\n";
    assert!(smoke.contains(built_in_reward));
    // The command's script path is relative: it resolves against the experiment's directory.
    std::fs::create_dir(tmp.path().join("rewards")).unwrap();
    std::fs::copy(
        root().join("experiments/rewards/a_words.py"),
        tmp.path().join("rewards/a_words.py"),
    )
    .unwrap();
    let write = |name: &str, reward: &str| {
        let file = tmp.path().join(name);
        std::fs::write(&file, smoke.replace(built_in_reward, reward)).unwrap();
        file
    };
    let built_in = write("built_in.toml", "[reward]\nkind = \"a_words\"\n");
    let command = write(
        "command.toml",
        "[reward]\nkind = \"command\"\ncommand = [\"python3\", \"rewards/a_words.py\"]\n",
    );
    for (file, out) in [(&built_in, "built_in"), (&command, "command")] {
        let output = sweep(file, &tmp.path().join(out), &[]);
        assert!(output.status.success(), "{out}: {}", stderr(&output));
    }
    let mut rewarded = 0.0;
    for id in RUNS {
        let metrics = |out: &str| {
            text(
                &tmp.path()
                    .join(out)
                    .join("smoke/runs")
                    .join(id)
                    .join("metrics.csv"),
            )
        };
        let (a, b) = (metrics("built_in"), metrics("command"));
        assert_eq!(
            without_columns(&a, &["tokens_per_s", "elapsed_s"]),
            without_columns(&b, &["tokens_per_s", "elapsed_s"]),
            "{id}"
        );
        let column = a
            .lines()
            .next()
            .unwrap()
            .split(',')
            .position(|c| c == "reward_mean");
        rewarded += a
            .lines()
            .skip(1)
            .map(|l| {
                l.split(',')
                    .nth(column.unwrap())
                    .unwrap()
                    .parse::<f64>()
                    .unwrap()
            })
            .sum::<f64>();
        let probe = text(
            &tmp.path()
                .join("command/smoke/runs")
                .join(id)
                .join("probe.csv"),
        );
        assert_eq!(
            probe.lines().count(),
            1 + 2 * 9 * 3,
            "{id}: two probes of nine estimators under three reductions"
        );
        let log = tmp
            .path()
            .join("command/smoke/runs")
            .join(id)
            .join("reward.log");
        assert_eq!(
            text(&log),
            "",
            "{id}: a quiet reward leaves an empty reward.log"
        );
    }
    assert!(rewarded > 0.0, "the comparison saw some A-words");
}

#[test]
fn the_probe_asks_once_per_batch_and_training_once_per_step() {
    let tmp = tempfile::tempdir().unwrap();
    let pids = tmp.path().join("pids");
    std::fs::create_dir(&pids).unwrap();
    let file = fixture_experiment(
        tmp.path(),
        &["ok", "--pids", pids.to_str().unwrap()],
        "[probe]\nevery = 2\nbatches = 3\nestimators = [\"reinforce\", \"rloo\"]\n",
    );
    let output = sweep(&file, &tmp.path().join("out"), &["--set", "seed=0"]);
    assert!(output.status.success(), "{}", stderr(&output));
    // Probes at steps 0 and 2, three batches of k = 2 each, before that step's training batch.
    let expected = "probe 0 2\nprobe 0 2\nprobe 0 2\ntrain 0 2\ntrain 1 2\n\
                    probe 2 2\nprobe 2 2\nprobe 2 2\ntrain 2 2\n";
    assert_eq!(text(&pids.join("requests")), expected);
}

/// ReMax asks for one more batch after each of its own: the greedy completion of each prompt
/// (one prompt here), as `"phase": "greedy"`; a probe of remax asks once for its prompts.
#[test]
fn remax_asks_for_each_prompts_greedy_completion_after_each_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let pids = tmp.path().join("pids");
    std::fs::create_dir(&pids).unwrap();
    let file = fixture_experiment(
        tmp.path(),
        &["ok", "--pids", pids.to_str().unwrap()],
        "[probe]\nevery = 2\nbatches = 2\nestimators = [\"rloo\", \"remax\"]\n",
    );
    let args = ["--set", "seed=0", "--set", "train.estimator=\"remax\""];
    let output = sweep(&file, &tmp.path().join("out"), &args);
    assert!(output.status.success(), "{}", stderr(&output));
    // The probe decodes its distinct prompts greedily once, before its batches are scored.
    let expected = "greedy 0 1\nprobe 0 2\nprobe 0 2\ntrain 0 2\ngreedy 0 1\n\
                    train 1 2\ngreedy 1 1\n\
                    greedy 2 1\nprobe 2 2\nprobe 2 2\ntrain 2 2\ngreedy 2 1\n";
    assert_eq!(text(&pids.join("requests")), expected);
}

#[test]
fn a_failing_command_fails_its_run_with_one_line_and_the_sweep_goes_on() {
    let cases = [
        (
            "exit",
            "train",
            "exited with status 3 before answering; its stderr ends: giving up",
        ),
        (
            "crash",
            "train",
            "exited with status 1 before answering; its stderr ends: ZeroDivisionError: division by zero",
        ),
        (
            "hang",
            "train",
            "no answer within 1 s (timeout_s); killed it",
        ),
        (
            "not_json",
            "train",
            "answered \"hello\" which is not the JSON line {\"rewards\": [...]} (expected value at line 1 column 1)",
        ),
        (
            "wrong_count",
            "train",
            "answered 1 reward(s) for 2 completion(s)",
        ),
        ("nan", "train", "reward 0 is \"NaN\", not a finite number"),
        (
            "inf",
            "probe",
            "reward 0 is \"Infinity\", not a finite number",
        ),
    ];
    for (mode, phase, problem) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let args = [mode, "--seed", "0", "--step", "1"];
        // The probe runs before its step's training batch, so it meets the failure first.
        let probe = if phase == "probe" {
            "[probe]\nevery = 1\nbatches = 2\nestimators = [\"reinforce\", \"rloo\"]\n"
        } else {
            ""
        };
        let file = fixture_experiment(tmp.path(), &args, probe);
        let output = sweep(&file, &tmp.path().join("out"), &["--jobs", "1"]);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{mode}: {err}");
        // The last line the program wrote to stderr ends the message: its own last words, or
        // the fixture's greeting when it died silently.
        let last_words = if problem.contains("its stderr ends") {
            ""
        } else {
            "; its stderr ends: reward_command.py: started"
        };
        let line = format!(
            "reward command `python3 {} {}` at step 1 ({phase}): {problem}{last_words}",
            fixture(),
            args.join(" ")
        );
        assert!(
            err.contains(&format!("1 run(s) failed (rerun the same command to retry them; finished runs are kept): s0: {line}")),
            "{mode}: {err}"
        );
        let runs = tmp.path().join("out/cmd/runs");
        let failed: serde_json::Value =
            serde_json::from_str(&text(&runs.join("s0/failed.json"))).unwrap();
        assert_eq!(failed["status"], "failed", "{mode}");
        assert_eq!(failed["reason"], line.as_str(), "{mode}");
        let tail = failed["stderr_tail"].as_array().unwrap();
        assert_eq!(tail[0], "reward_command.py: started", "{mode}");
        assert!(text(&runs.join("s0/reward.log")).starts_with("reward_command.py: started\n"));
        // The other seed's run is untouched by seed 0's failure (under `hang` its 1 s timeout
        // also covers Python's start, too tight to promise on a loaded machine).
        if mode != "hang" {
            assert!(
                runs.join("s1/done.json").exists(),
                "{mode}: the sweep went on"
            );
        }
        let summary = text(&tmp.path().join("out/cmd/summary.csv"));
        assert!(summary.contains(",failed,"), "{mode}: {summary}");
    }
}

#[test]
fn check_and_sweep_refuse_a_missing_program_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("missing.toml");
    let smoke = text(&root().join("experiments/smoke.toml"));
    std::fs::write(
        &file,
        smoke.replace(
            "[reward]\nkind = \"starts_with\"\nletters = \"abc\"\n",
            "[reward]\nkind = \"command\"\ncommand = [\"no-such-reward-program\", \"x.py\"]\n",
        ),
    )
    .unwrap();
    let expected = format!(
        "error: {}: reward.command: program \"no-such-reward-program\" not found on PATH\n",
        file.display()
    );
    let check = pglab(&["check", file.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(2));
    assert_eq!(stderr(&check), expected);
    assert!(check.stdout.is_empty());
    let out = tmp.path().join("out");
    let run = sweep(&file, &out, &[]);
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(stderr(&run), expected);
    assert!(!out.exists(), "nothing written");
}

#[test]
fn no_reward_process_outlives_a_finished_or_failed_run() {
    for (mode, ends) in [("ok", "finished"), ("hang", "failed")] {
        let tmp = tempfile::tempdir().unwrap();
        let pids = tmp.path().join("pids");
        std::fs::create_dir(&pids).unwrap();
        let args = [
            mode,
            "--step",
            "1",
            "--pids",
            pids.to_str().unwrap(),
            "--grandchild",
        ];
        let file = fixture_experiment(tmp.path(), &args, "");
        let output = sweep(&file, &tmp.path().join("out"), &[]);
        assert_eq!(output.status.success(), mode == "ok", "{}", stderr(&output));
        assert_eq!(
            recorded_pids(&pids).len(),
            4,
            "two runs, each a program and its child"
        );
        assert_all_ended(&pids, ends);
    }
}

#[test]
fn no_reward_process_outlives_an_interrupted_sweep() {
    for signal in ["INT", "TERM"] {
        let tmp = tempfile::tempdir().unwrap();
        let pids = tmp.path().join("pids");
        std::fs::create_dir(&pids).unwrap();
        let args = ["ok", "--pids", pids.to_str().unwrap(), "--grandchild"];
        let file = fixture_experiment(tmp.path(), &args, "");
        let child = Command::new(env!("CARGO_BIN_EXE_pglab"))
            .args(["sweep", file.to_str().unwrap(), "--out"])
            .arg(tmp.path().join("out"))
            .args(["--set", "train.steps=100000", "--jobs", "2"])
            .current_dir(root())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let requests = pids.join("requests");
        let deadline = Instant::now() + Duration::from_secs(120);
        while std::fs::read_to_string(&requests).map_or(0, |r| r.lines().count()) < 6 {
            assert!(Instant::now() < deadline, "the runs never scored");
            std::thread::sleep(Duration::from_millis(10));
        }
        // To pglab's whole process group, as Ctrl-C at a terminal sends it.
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), "--", &format!("-{}", child.id())])
            .status()
            .unwrap();
        assert!(sent.success());
        let output = child.wait_with_output().unwrap();
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{signal}: {err}");
        assert!(err.contains("interrupted"), "{signal}: {err}");
        assert_all_ended(&pids, signal);
        // Stopped, not failed: the reward process was ended by pglab, after the run stopped.
        for id in ["s0", "s1"] {
            let dir = tmp.path().join("out/cmd/runs").join(id);
            assert!(!dir.join("failed.json").exists(), "{signal}: {id}: {err}");
            // The signal reached pglab alone (the program has its own process group): the
            // program did not die of it mid-step.
            let log = std::fs::read_to_string(dir.join("reward.log")).unwrap_or_default();
            assert!(!log.contains("KeyboardInterrupt"), "{signal}: {id}: {log}");
        }
    }
}
