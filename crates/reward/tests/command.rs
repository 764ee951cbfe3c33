//! `kind = "command"` against real Python programs: the shipped A-word reward against the
//! built-in one, every way a program can fail and the message it gives, and no program left
//! behind once its run lets go of it.

#![cfg(target_os = "linux")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[path = "fixtures/processes.rs"]
mod processes;

use pglab_reward::protocol::Phase;
use pglab_reward::{
    CommandError, CommandSpec, Request, RewardError, RewardFunction, RewardSpec, Scope,
};
use processes::{alive, assert_all_gone, recorded_pids};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture() -> String {
    root()
        .join("crates/reward/tests/fixtures/reward_command.py")
        .to_string_lossy()
        .into_owned()
}

fn spec(command: &[&str]) -> CommandSpec {
    CommandSpec {
        command: command.iter().map(|s| s.to_string()).collect(),
        timeout_s: 600.0,
        env: BTreeMap::new(),
        scope: Scope::Completion,
    }
}

/// `reward_command.py MODE ARGS…` started in a fresh directory, which is returned with it.
fn start(mode: &str, args: &[&str], timeout_s: f64) -> (RewardFunction, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let fixture = fixture();
    let mut command = vec!["python3", &fixture, mode];
    command.extend(args);
    let spec = RewardSpec::Command(CommandSpec {
        timeout_s,
        ..spec(&command)
    });
    let reward = spec
        .start(dir.path(), &dir.path().join("reward.log"))
        .unwrap();
    (reward, dir)
}

fn batch<'a>(step: usize, prompts: &'a [String], completions: &'a [String]) -> Request<'a> {
    Request {
        step,
        seed: 0,
        phase: Phase::Train,
        prompts,
        completions,
    }
}

fn strings(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|s| s.to_string()).collect()
}

/// Scores one batch of two completions at `step`.
fn score(reward: &RewardFunction, step: usize) -> Result<Vec<f32>, CommandError> {
    let prompts = strings(&["Once", "Once"]);
    let completions = strings(&[" an ant ate", " a big dog"]);
    reward.score(&batch(step, &prompts, &completions))
}

#[test]
fn the_python_a_word_reward_scores_every_text_as_the_built_in_one() {
    let dir = tempfile::tempdir().unwrap();
    let python = RewardSpec::Command(spec(&["python3", "a_words.py"]))
        .start(
            &root().join("experiments/rewards"),
            &dir.path().join("reward.log"),
        )
        .unwrap();
    let built_in = RewardSpec::default().build().unwrap();
    // Punctuation before the letter, digits first, every Unicode space, non-Latin capitals,
    // quotes, empty words, a text of spaces, a very long text.
    let mut texts = strings(&[
        "",
        "   ",
        "An apple (a day) \"always\" 'amazes' —and— 42a a42 ...a",
        "a\u{a0}a\u{2003}a\u{3000}a\u{85}a\u{2028}a\u{1680}a\u{202f}a\u{205f}a",
        "a\u{200b}a \u{feff}a Ä ä Ångström Α α А а",
        "\tA\nb\rC\u{b}a\u{c}a",
        "«Anna» ¿ante? ¡ahí! (((a))) -a- _a *a* #a @a",
    ]);
    texts.push("a b ".repeat(5000));
    // Every code point from U+0020 to U+02FF, glued and spaced, each also before an "a". Not
    // beyond: Rust's Alphabetic includes combining vowel signs that Python's isalnum does not
    // (the one difference a_words.py states), and Python's Unicode tables are older.
    let chars: String = (32..0x300u32).filter_map(char::from_u32).collect();
    texts.push(chars.clone());
    texts.push(chars.chars().flat_map(|c| [c, 'a', ' ']).collect());
    let prompts = vec![String::new(); texts.len()];
    let expected: Vec<f32> = texts.iter().map(|t| built_in.score("", t)).collect();
    assert_eq!(python.score(&batch(0, &prompts, &texts)).unwrap(), expected);
    assert_eq!(
        expected[2], 8.0,
        "hand count: An apple a always amazes and a42 ...a"
    );
    assert_eq!(expected[3], 9.0, "every space splits");
}

#[test]
fn the_program_gets_the_batch_and_its_run_s_directory_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let script = "import json, os, sys\n\
        for line in sys.stdin:\n    \
            b = json.loads(line)\n    \
            r = [len(c) + 1000 * b['step'] + 100 * b['seed'] + 10 * len(p) + int(os.environ['EXTRA']) for p, c in zip(b['prompts'], b['completions'])]\n    \
            r[0] += 0.5 if b['phase'] == 'probe' else 0\n    \
            r[-1] += len(open('here.txt').read())\n    \
            print(json.dumps({'rewards': r}), flush=True)\n";
    std::fs::write(dir.path().join("score.py"), script).unwrap();
    std::fs::write(dir.path().join("here.txt"), "12345").unwrap();
    for (scope, full) in [(Scope::Completion, false), (Scope::FullText, true)] {
        let reward = RewardSpec::Command(CommandSpec {
            env: BTreeMap::from([("EXTRA".to_string(), "7".to_string())]),
            scope,
            ..spec(&["python3", "score.py"])
        })
        .start(dir.path(), &dir.path().join("reward.log"))
        .unwrap();
        let prompts = strings(&["ab", "abc"]);
        let completions = strings(&["xyz", ""]);
        let rewards = reward
            .score(&Request {
                step: 2,
                seed: 3,
                phase: Phase::Probe,
                prompts: &prompts,
                completions: &completions,
            })
            .unwrap();
        // 2000 + 300 + 10·len(prompt) + 7 + len(text) (+ 0.5 on the probe's first, + 5 from
        // here.txt, read in the experiment's directory, on the last).
        let text_lens = if full { [5.0, 3.0] } else { [3.0, 0.0] };
        assert_eq!(
            rewards,
            vec![
                2307.0 + 20.0 + text_lens[0] + 0.5,
                2307.0 + 30.0 + text_lens[1] + 5.0
            ],
            "{scope:?}"
        );
    }
}

#[test]
fn each_failure_names_the_command_the_step_and_what_was_wrong() {
    let cases = [
        (
            "exit",
            "exited with status 3 before answering; its stderr ends: giving up",
        ),
        ("crash", "ZeroDivisionError: division by zero"),
        (
            "not_json",
            "answered \"hello\" which is not the JSON line {\"rewards\": [...]}",
        ),
        ("wrong_count", "answered 1 reward(s) for 2 completion(s)"),
        ("nan", "reward 0 is \"NaN\", not a finite number"),
        ("inf", "reward 0 is \"Infinity\", not a finite number"),
        ("hang", "no answer within 1 s (timeout_s); killed it"),
    ];
    for (mode, problem) in cases {
        // A short timeout only where it is the point: a loaded machine may take over a second
        // to start Python.
        let timeout_s = if mode == "hang" { 1.0 } else { 60.0 };
        let (reward, _dir) = start(mode, &["--step", "1"], timeout_s);
        assert_eq!(
            score(&reward, 0).unwrap(),
            vec![3.0, 1.0],
            "{mode}: step 0 is fine"
        );
        let err = score(&reward, 1).unwrap_err();
        let line = err.to_string();
        assert!(
            line.starts_with(&format!(
                "reward command `python3 {} {mode} --step 1` at step 1 (train): ",
                fixture()
            )),
            "{mode}: {line}"
        );
        assert!(line.contains(problem), "{mode}: {line}");
        assert!(!line.contains('\n'), "{mode}: one line: {line}");
        assert_eq!(
            err.stderr_tail.first().map(String::as_str),
            Some("reward_command.py: started"),
            "{mode}"
        );
        // Broken for good: the next batch fails with the same error, without waiting.
        assert_eq!(score(&reward, 2).unwrap_err(), err, "{mode}");
    }
}

#[test]
fn a_crash_leaves_its_traceback_in_the_error_and_in_reward_log() {
    let (reward, dir) = start("crash", &[], 600.0);
    let err = score(&reward, 0).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "exited with status 1 before answering; its stderr ends: ZeroDivisionError: division by zero"
        ),
        "{err}"
    );
    assert_eq!(
        err.stderr_tail.last().unwrap(),
        "ZeroDivisionError: division by zero"
    );
    assert!(err.stderr_tail.iter().any(|l| l.starts_with("Traceback")));
    drop(reward);
    let log = std::fs::read_to_string(dir.path().join("reward.log")).unwrap();
    assert!(
        log.starts_with("reward_command.py: started\nTraceback"),
        "{log}"
    );
}

#[test]
fn a_line_written_unasked_fails_the_next_batch() {
    let (reward, _dir) = start("unasked", &[], 600.0);
    assert_eq!(score(&reward, 0).unwrap(), vec![3.0, 1.0]);
    std::thread::sleep(Duration::from_millis(200));
    let err = score(&reward, 1).unwrap_err();
    assert!(
        err.to_string().contains(
            "at step 1 (train): wrote \"debug: scored\" to stdout unasked (stdout carries only answers; write logs to stderr)"
        ),
        "{err}"
    );
}

#[test]
fn a_program_that_cannot_start_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("reward.log");
    let err = RewardSpec::Command(spec(&["no-such-reward-program", "x"]))
        .start(dir.path(), &log)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "reward command `no-such-reward-program x` at the start of the run: cannot start: program \"no-such-reward-program\" not found on PATH"
    );
    let err = RewardSpec::Command(spec(&["./rewards/missing.sh"]))
        .start(dir.path(), &log)
        .unwrap_err();
    assert!(
        err.to_string().ends_with(&format!(
            "cannot start: {}: No such file or directory (os error 2)",
            dir.path().join("./rewards/missing.sh").display()
        )),
        "{err}"
    );
    std::fs::write(dir.path().join("plain.txt"), "").unwrap();
    let err = RewardSpec::Command(spec(&["./plain.txt"]))
        .start(dir.path(), &log)
        .unwrap_err();
    assert!(
        err.to_string().ends_with("is not an executable file"),
        "{err}"
    );
}

#[test]
fn bad_settings_are_refused_before_anything_starts() {
    let check = |s: CommandSpec| RewardSpec::Command(s).validate().unwrap_err();
    assert_eq!(check(spec(&[])), RewardError::EmptyCommand);
    assert_eq!(check(spec(&[""])), RewardError::EmptyCommand);
    assert_eq!(
        check(CommandSpec {
            timeout_s: 0.0,
            ..spec(&["python3"])
        })
        .to_string(),
        "reward `command`: `timeout_s` = 0 must be a positive number of seconds"
    );
    assert_eq!(
        check(CommandSpec {
            env: BTreeMap::from([("A=B".to_string(), String::new())]),
            ..spec(&["python3"])
        }),
        RewardError::BadEnvKey { key: "A=B".into() }
    );
    let parsed: RewardSpec = toml::from_str(
        "kind = \"command\"\ncommand = [\"python3\", \"r.py\"]\ntimeout_s = 2.5\nscope = \"full_text\"\nenv = { A = \"1\" }\n",
    )
    .unwrap();
    assert_eq!(
        parsed,
        RewardSpec::Command(CommandSpec {
            timeout_s: 2.5,
            env: BTreeMap::from([("A".to_string(), "1".to_string())]),
            scope: Scope::FullText,
            ..spec(&["python3", "r.py"])
        })
    );
    assert!(
        toml::from_str::<RewardSpec>("kind = \"command\"\ncommand = [\"python3\"]\ntimeout = 3\n")
            .unwrap_err()
            .to_string()
            .contains("unknown field `timeout`")
    );
    assert!(toml::from_str::<RewardSpec>("kind = \"command\"\n").is_err());
}

#[test]
fn no_program_outlives_its_reward() {
    let cases = [
        ("ok", false, 1),
        ("ignore_eof", false, 1),
        ("ok", true, 2),
        ("hang", true, 2),
    ];
    for (mode, grandchild, processes) in cases {
        let args: &[&str] = if grandchild {
            &["--pids", ".", "--grandchild"]
        } else {
            &["--pids", "."]
        };
        let (reward, dir) = start(mode, args, if mode == "hang" { 1.0 } else { 60.0 });
        let result = score(&reward, 0);
        assert_eq!(result.is_ok(), mode != "hang", "{mode}: {result:?}");
        let running = recorded_pids(dir.path());
        assert_eq!(running.len(), processes, "{mode}: {running:?}");
        assert!(
            running.iter().all(|&p| alive(p)) || mode == "hang",
            "{mode}"
        );
        let start = Instant::now();
        drop(reward);
        // A program that ignores the end of its input is killed after the grace period.
        assert!(start.elapsed() < Duration::from_secs(5), "{mode}");
        assert_all_gone(&running, mode);
    }
}

#[test]
fn the_readme_s_example_program_speaks_the_protocol() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("```python\n#!/usr/bin/env python3\n# my_reward.py")
        .expect("README has the example");
    let block = &readme[start + "```python\n".len()..];
    let program = &block[..block.find("```").unwrap()];
    assert!(program.lines().count() <= 16, "a short example: {program}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rewards")).unwrap();
    std::fs::write(dir.path().join("rewards/my_reward.py"), program).unwrap();
    let reward = RewardSpec::Command(spec(&["python3", "rewards/my_reward.py"]))
        .start(dir.path(), &dir.path().join("reward.log"))
        .unwrap();
    assert_eq!(score(&reward, 0).unwrap(), vec![3.0, 1.0]);
    assert_eq!(score(&reward, 1).unwrap(), vec![3.0, 1.0]);
}
