//! The reliability matrix's rows not covered next to their features: two sweeps on one
//! directory, a disk that fills up mid-sweep, prompts longer than the model's context, bad model
//! directories and experiment files at the sweep level, and a bounded fuzz of experiment files,
//! prompts and reward inputs (never a panic).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use pglab_model::Tokenizer;
use pglab_reward::RewardSpec;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use common::root;

fn pglab() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pglab"));
    command.current_dir(root());
    command
}

fn smoke(out: &Path, extra: &[&str]) -> Output {
    pglab()
        .args(["sweep", "experiments/smoke.toml", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .expect("pglab runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every path under `dir`, relative to it.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return paths;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        paths.push(path.strip_prefix(dir).unwrap().to_path_buf());
        if path.is_dir() {
            paths.extend(
                tree(&path)
                    .into_iter()
                    .map(|p| path.strip_prefix(dir).unwrap().join(p)),
            );
        }
    }
    paths.sort();
    paths
}

#[test]
fn a_second_sweep_on_the_same_directory_is_refused_while_the_first_runs() {
    let tmp = tempfile::tempdir().unwrap();
    // A long first sweep (30 steps a run), killed once the second has been refused.
    let longer = ["--set", "train.steps=30"];
    let mut first = pglab()
        .args(["sweep", "experiments/smoke.toml", "--jobs", "1", "--out"])
        .arg(tmp.path())
        .args(longer)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // sweep.toml is written once the lock is held.
    let started = Instant::now();
    while !tmp.path().join("smoke/sweep.toml").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "first sweep never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let second = smoke(tmp.path(), &[]);
    assert_eq!(second.status.code(), Some(2), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("smoke: a sweep or shard is already running in this directory"),
        "{}",
        stderr(&second)
    );
    // The lock dies with its process, even on SIGKILL: a new sweep then runs to the end.
    first.kill().unwrap();
    first.wait().unwrap();
    // (Under the same --set: another would be refused, the directory being that sweep's.)
    let third = smoke(tmp.path(), &longer);
    assert!(third.status.success(), "{}", stderr(&third));
    assert!(tmp.path().join("smoke/runs/rloo-s1/done.json").is_file());
}

/// 4 KiB pages a file of `bytes` takes on tmpfs.
fn pages(bytes: u64) -> u64 {
    bytes.div_ceil(4096)
}

fn dir_pages(dir: &Path) -> u64 {
    tree(dir)
        .iter()
        .map(|p| dir.join(p))
        .filter(|p| p.is_file())
        .map(|p| pages(std::fs::metadata(p).unwrap().len()))
        .sum()
}

/// Runs `script` (sh, with `$1`… = `args`) in a private mount namespace, where it may mount a
/// tmpfs without real root where user namespaces are allowed. None when this machine cannot
/// (`common::optional("tmpfs")`: containers without mount rights, non-Linux systems); CI can,
/// and sets PGLAB_REQUIRE_TMPFS so that these tests cannot pass by skipping.
fn in_mount_namespace(script: &str, args: &[&std::ffi::OsStr]) -> Option<Output> {
    if !common::optional("tmpfs") {
        return None;
    }
    let output = Command::new("unshare")
        .args(["-rm", "sh", "-c", script, "sh"])
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    assert_ne!(
        output.status.code(),
        Some(90),
        "the tmpfs check passed but this mount failed: {output:?}"
    );
    Some(output)
}

#[test]
fn a_read_only_output_directory_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let mount = tmp.path().join("mnt");
    std::fs::create_dir_all(&mount).unwrap();
    let script = "mount -t tmpfs -o size=1m,ro tmpfs \"$1\" || exit 90; \
                  \"$2\" sweep experiments/smoke.toml --out \"$1\"";
    let Some(output) = in_mount_namespace(
        script,
        &[mount.as_os_str(), env!("CARGO_BIN_EXE_pglab").as_ref()],
    ) else {
        return;
    };
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(
        message.contains(&format!("creating {}", mount.join("smoke/runs").display()))
            && message.contains("Read-only file system (os error 30)"),
        "{message}"
    );
    assert!(!message.contains("panicked"), "{message}");
}

#[test]
fn a_full_disk_fails_the_run_with_the_os_error_and_keeps_finished_runs() {
    let tmp = tempfile::tempdir().unwrap();
    // The same sweep on an unlimited disk: what each run weighs, and what it writes.
    let reference = tmp.path().join("reference");
    assert!(smoke(&reference, &["--jobs", "1"]).status.success());
    let runs = reference.join("smoke/runs");
    let weight = |id: &str| dir_pages(&runs.join(id));
    // Room for the sweep file, the first two runs (jobs = 1 runs them in grid order) and half
    // of the third: the third run meets a full disk part-way.
    let size_pages = 1 + weight("reinforce-s0") + weight("reinforce-s1") + weight("rloo-s0") / 2;

    // A tmpfs of that size; the sweep's directory is copied out afterwards for the checks.
    let mount = tmp.path().join("mnt");
    let copy = tmp.path().join("copy");
    std::fs::create_dir_all(&mount).unwrap();
    std::fs::create_dir_all(&copy).unwrap();
    let script = "mount -t tmpfs -o size=\"$1\" tmpfs \"$2\" || exit 90; \
                  \"$3\" sweep experiments/smoke.toml --jobs 1 --out \"$2\"; code=$?; \
                  cp -a \"$2\"/. \"$4\"; exit $code";
    let size = format!("{}k", size_pages * 4);
    let Some(full) = in_mount_namespace(
        script,
        &[
            size.as_ref(),
            mount.as_os_str(),
            env!("CARGO_BIN_EXE_pglab").as_ref(),
            copy.as_os_str(),
        ],
    ) else {
        return;
    };
    let message = stderr(&full);
    assert_eq!(full.status.code(), Some(2), "{message}");
    assert!(
        message.contains("No space left on device (os error 28)"),
        "{message}"
    );
    assert!(message.contains("run(s) failed"), "{message}");
    assert!(message.contains("rloo-s0: "), "{message}");

    // The runs that finished before the disk filled are whole: the same samples and probe as
    // on the unlimited disk (same seed, same backend).
    let sweep = copy.join("smoke");
    for id in ["reinforce-s0", "reinforce-s1"] {
        assert!(
            sweep.join("runs").join(id).join("done.json").is_file(),
            "{id}"
        );
        for file in ["samples.jsonl", "probe.csv"] {
            assert_eq!(
                std::fs::read(sweep.join("runs").join(id).join(file)).unwrap(),
                std::fs::read(runs.join(id).join(file)).unwrap(),
                "{id}/{file}"
            );
        }
    }
    assert!(
        !sweep.join("runs/rloo-s0/done.json").exists(),
        "a failed run is never done"
    );
    let finished = |id: &str| std::fs::read(sweep.join("runs").join(id).join("done.json")).unwrap();
    let before = [finished("reinforce-s0"), finished("reinforce-s1")];

    // With room again, the same command finishes the grid without touching finished runs.
    let resumed = smoke(&copy, &["--jobs", "1"]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert!(
        stderr(&resumed).contains("2 already finished, 2 to run"),
        "{}",
        stderr(&resumed)
    );
    assert_eq!([finished("reinforce-s0"), finished("reinforce-s1")], before);
    assert!(sweep.join("runs/rloo-s1/done.json").is_file());
}

#[test]
fn prompts_longer_than_the_context_stop_the_sweep_before_any_run() {
    let tmp = tempfile::tempdir().unwrap();
    // The tiny GPT-2 has 64 positions; "Once upon a time" is 4+ tokens.
    let output = smoke(tmp.path(), &["--set", "sampling.max_new_tokens=62"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("exceeds the model's context of 64 positions")
            && message.contains("sampling.max_new_tokens (62)"),
        "{message}"
    );
    assert!(tree(tmp.path()).is_empty(), "{:?}", tree(tmp.path()));
}

#[test]
fn bad_model_directories_are_named_before_any_run() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-model");
    let wrong_type = tmp.path().join("wrong-type");
    std::fs::create_dir_all(&wrong_type).unwrap();
    let fixture = root().join("crates/model/tests/fixtures/tiny-gpt2");
    for file in ["model.safetensors", "tokenizer.json"] {
        std::fs::copy(fixture.join(file), wrong_type.join(file)).unwrap();
    }
    let config = std::fs::read_to_string(fixture.join("config.json")).unwrap();
    std::fs::write(
        wrong_type.join("config.json"),
        config.replace("\"gpt2\"", "\"llama\""),
    )
    .unwrap();
    let out = tmp.path().join("out");
    for (model, expected) in [
        (&missing, "no-such-model".to_string()),
        (
            &wrong_type,
            format!("{}", wrong_type.join("config.json").display()),
        ),
    ] {
        let set = format!("model={:?}", model.display().to_string());
        let output = smoke(&out, &["--set", &set]);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{message}");
        assert!(message.contains(&expected), "{message}");
        assert!(!message.contains("panicked"), "{message}");
        assert!(!out.exists(), "nothing written for {model:?}");
    }
}

#[test]
fn empty_or_non_utf8_experiment_files_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let binary = tmp.path().join("binary.toml");
    std::fs::write(&binary, b"model = \"default\"\n\xff\xfe = 1\n").unwrap();
    for (file, problem) in [(&empty, "missing field"), (&binary, "UTF-8")] {
        let output = pglab()
            .arg("sweep")
            .arg(file)
            .arg("--out")
            .arg(tmp.path().join("out"))
            .output()
            .unwrap();
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{message}");
        assert!(message.contains(&*file.to_string_lossy()), "{message}");
        assert!(message.contains(problem), "{message}");
        assert_eq!(message.lines().count(), 1, "{message}");
    }
    assert!(!tmp.path().join("out").exists());
}

/// A random string: ASCII, TOML punctuation, control characters, combining marks, emoji,
/// right-to-left text.
fn random_text(rng: &mut StdRng, max_len: usize) -> String {
    const PIECES: [&str; 24] = [
        "a", "A", "z", " ", "\n", "\t", "\"", "'", "=", "[", "]", "{", "}", ".", ",", "#", "0",
        "-1e9", "\u{0301}", "😀", "שלום", "\u{0}", "\u{7f}", "Ä",
    ];
    let len = rng.random_range(0..=max_len);
    (0..len)
        .map(|_| PIECES[rng.random_range(0..PIECES.len())])
        .collect()
}

/// `text` with a few random edits: deletions, insertions, duplicated or swapped lines.
fn mutate(rng: &mut StdRng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..rng.random_range(1..4) {
        let at = rng.random_range(0..=chars.len());
        match rng.random_range(0..3) {
            0 if at < chars.len() => {
                let end = (at + rng.random_range(1..12)).min(chars.len());
                chars.drain(at..end);
            }
            1 => {
                let insert: Vec<char> = random_text(rng, 4).chars().collect();
                chars.splice(at..at, insert);
            }
            _ => {
                let lines: Vec<String> = chars
                    .iter()
                    .collect::<String>()
                    .lines()
                    .map(String::from)
                    .collect();
                if lines.len() > 1 {
                    let (i, j) = (
                        rng.random_range(0..lines.len()),
                        rng.random_range(0..lines.len()),
                    );
                    let mut lines = lines;
                    lines.swap(i, j);
                    lines.insert(i, lines[j].clone());
                    chars = lines.join("\n").chars().collect();
                }
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn fuzzed_experiment_files_are_errors_never_panics() {
    let mut rng = StdRng::seed_from_u64(7);
    let files: Vec<(PathBuf, String)> = std::fs::read_dir(root().join("experiments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && !p.ends_with("pretrain.toml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    assert!(files.len() >= 4);
    let (mut accepted, mut rejected) = (0, 0);
    for i in 0..3000 {
        let (path, text) = &files[i % files.len()];
        let doc = if i % 10 == 9 {
            random_text(&mut rng, 200)
        } else {
            mutate(&mut rng, text)
        };
        let overrides = if i % 7 == 0 {
            vec![random_text(&mut rng, 12)]
        } else {
            vec![]
        };
        let parsed = std::panic::catch_unwind(|| {
            pglab_runner::experiment::parse(
                path,
                &doc,
                &pglab_runner::experiment::Overrides::set(&overrides),
            )
            .and_then(|e| e.expand().map(|runs| runs.len()))
        });
        match parsed {
            Ok(Ok(_)) => accepted += 1,
            Ok(Err(e)) => {
                let message = format!("{e:#}");
                assert!(
                    !message.is_empty() && !message.contains('\n'),
                    "{doc:?}: {message}"
                );
                rejected += 1;
            }
            Err(_) => panic!("parse panicked on {doc:?} with overrides {overrides:?}"),
        }
    }
    // The mutations reach both sides: some edits leave a valid file, most break it.
    assert!(
        accepted > 50 && rejected > 1000,
        "{accepted} accepted, {rejected} rejected"
    );
}

#[test]
fn random_prompts_and_completions_score_and_tokenize_without_panics() {
    let mut rng = StdRng::seed_from_u64(11);
    let specs = [
        "kind = \"a_words\"",
        "kind = \"a_words\"\nscope = \"full_text\"",
        "kind = \"starts_with\"\nletters = \"abc\"",
        "kind = \"alliteration\"",
        "kind = \"word_count\"\nwords = [\"a\", \"Äpfel\", \"the\"]",
    ];
    let rewards: Vec<_> = specs
        .iter()
        .map(|s| {
            let spec: RewardSpec = toml::from_str(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            spec.build().unwrap()
        })
        .collect();
    let tokenizer = Tokenizer::load(&root().join("crates/model/tests/fixtures/tiny-gpt2")).unwrap();
    for _ in 0..2000 {
        let prompt = random_text(&mut rng, 20);
        let completion = random_text(&mut rng, 60);
        for reward in &rewards {
            let score = reward.score(&prompt, &completion);
            assert!(
                score.is_finite(),
                "{reward:?} on {prompt:?} + {completion:?}: {score}"
            );
        }
        // A byte-level tokenizer takes any string and gives it back.
        let ids = tokenizer.encode(&prompt).unwrap();
        assert_eq!(tokenizer.decode(&ids).unwrap(), prompt);
    }
}
