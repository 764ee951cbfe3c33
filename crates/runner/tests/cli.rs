//! `pglab score` and `pglab sample` from the command line: figures that match `transformers`,
//! completions for a fixture and for a model saved by pglab, and one-line errors with exit
//! code 2 for bad input.

use std::path::PathBuf;

mod common;
use common::{assert_one_line_error, pglab};

fn fixture(name: &str) -> String {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../model/tests/fixtures")
        .join(name);
    dir.to_string_lossy().into_owned()
}

#[test]
fn score_json_matches_the_transformers_reference() {
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(PathBuf::from(fixture("tiny-gpt-neo")).join("reference.json"))
            .unwrap(),
    )
    .unwrap();
    let case = &reference["cases"][1];
    let text = case["text"].as_str().unwrap();
    let output = pglab(&[
        "score",
        "--model",
        &fixture("tiny-gpt-neo"),
        "--text",
        text,
        "--json",
        "--backend",
        "flex",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let score: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let n = case["input_ids"].as_array().unwrap().len() as u64;
    assert_eq!(score["n_tokens"].as_u64(), Some(n));
    let sum = case["sum_logprob"].as_f64().unwrap();
    assert!(
        (score["sum_logprob"].as_f64().unwrap() - sum).abs() < 1e-3,
        "{score}"
    );
    let mean = sum / (n - 1) as f64;
    assert!(
        (score["mean_logprob"].as_f64().unwrap() - mean).abs() < 1e-4,
        "{score}"
    );
    assert!(
        (score["perplexity"].as_f64().unwrap() - (-mean).exp()).abs() < 1e-2,
        "{score}"
    );
}

#[test]
fn sample_prints_n_completions_of_the_requested_length() {
    let output = pglab(&[
        "sample",
        "--model",
        &fixture("tiny-gpt2"),
        "--prompt",
        "Once upon a time",
        "-n",
        "3",
        "--max-new-tokens",
        "7",
        "--seed",
        "1",
        "--json",
        "--backend",
        "flex",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines
            .iter()
            .all(|l| l["n_new_tokens"] == 7 && l["prompt"] == "Once upon a time")
    );
}

#[test]
fn a_model_saved_by_pglab_samples_and_scores() {
    // pglab writes a model directory (the fixture, re-saved); score and sample open it.
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("model");
    let reference = fixture("tiny-gpt2");
    let checkpoint = pglab_model::Checkpoint::load(
        std::path::Path::new(&reference),
        &burn::prelude::Device::flex(),
    )
    .unwrap();
    checkpoint.save(&model).unwrap();
    let model = model.to_str().unwrap();
    let text = "Anna had a ball.";
    let saved = pglab(&[
        "score",
        "--model",
        model,
        "--text",
        text,
        "--json",
        "--backend",
        "flex",
    ]);
    let original = pglab(&[
        "score",
        "--model",
        &reference,
        "--text",
        text,
        "--json",
        "--backend",
        "flex",
    ]);
    assert!(saved.status.success());
    assert_eq!(
        saved.stdout, original.stdout,
        "a saved model scores exactly like the original"
    );
    let sample = pglab(&[
        "sample",
        "--model",
        model,
        "--prompt",
        "Anna",
        "--max-new-tokens",
        "5",
        "--backend",
        "flex",
    ]);
    assert!(sample.status.success() && String::from_utf8_lossy(&sample.stdout).starts_with("Anna"));
}

#[test]
fn bad_inputs_are_one_line_errors_with_exit_code_2() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("config.json"),
        r#"{"model_type": "mistral"}"#,
    )
    .unwrap();
    let unknown = tmp.path().to_str().unwrap().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["score", "--model", "/no/such/dir", "--text", "hi there"],
            "/no/such/dir",
        ),
        (
            vec!["score", "--model", &unknown, "--text", "hi there"],
            "\"mistral\"",
        ),
        (
            vec!["score", "--model", &unknown, "--text", "hi there"],
            "config.json",
        ),
        (
            vec!["sample", "--model", "/no/such/dir", "--prompt", "hi"],
            "model directory",
        ),
    ];
    for (args, expected) in cases {
        let mut args = args;
        args.extend(["--backend", "flex"]);
        assert_one_line_error(&pglab(&args), expected);
    }
    let output = pglab(&[
        "score",
        "--model",
        &fixture("tiny-gpt2"),
        "--text",
        "A",
        "--backend",
        "flex",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("at least 2"));
}

/// A transformers 5 checkpoint whose config.json says something pglab does not compute (a rope
/// type, rope keys in both formats that disagree, a key it does not know, a change to the
/// arithmetic it does not implement) is refused: exit 2, one line naming the file and the key.
#[test]
fn a_config_pglab_would_not_compute_faithfully_is_refused_by_key() {
    let fixture_dir = PathBuf::from(fixture("tiny-llama-v5"));
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture_dir.join("config.json")).unwrap())
            .unwrap();
    let edits: [(&str, &str, &str); 7] = [
        (
            "rope_parameters",
            r#"{"rope_type": "yarn", "rope_theta": 50000.0, "factor": 4.0}"#,
            "rope_parameters.rope_type: \"yarn\"",
        ),
        ("rope_theta", "10000.0", "rope_parameters.rope_theta"),
        (
            "rope_scaling",
            r#"{"type": "linear", "factor": 2.0}"#,
            "rope_scaling.rope_type",
        ),
        (
            "quantization_config",
            r#"{"quant_method": "awq"}"#,
            "quantization_config",
        ),
        ("hidden_act", r#""gelu""#, "hidden_act"),
        ("rope_interleaved", "true", "rope_interleaved"),
        ("partial_rotary_factor", "0.5", "partial_rotary_factor"),
    ];
    for (key, value, expected) in edits {
        let tmp = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(&fixture_dir).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, tmp.path().join(path.file_name().unwrap())).unwrap();
        }
        let mut config = original.clone();
        config[key] = serde_json::from_str(value).unwrap();
        let config_path = tmp.path().join("config.json");
        std::fs::write(&config_path, config.to_string()).unwrap();
        let model = tmp.path().to_str().unwrap();
        let output = pglab(&[
            "score",
            "--model",
            model,
            "--text",
            "Anna had a ball.",
            "--backend",
            "flex",
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{key}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{key}: one line: {stderr}"
        );
        assert!(
            stderr.contains(&format!("{}: {expected}", config_path.display())),
            "{key}: {stderr}"
        );
    }
}

/// `pglab score` on a checkpoint whose tokenizer adds a BOS token scores the text after it, as
/// `transformers` scores `tokenizer(text)`.
#[test]
fn score_puts_the_bos_token_first_where_the_tokenizer_adds_one() {
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(fixture("tiny-llama3-scaled")).join("reference.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let case = &reference["bos_cases"][1];
    let output = pglab(&[
        "score",
        "--model",
        &fixture("tiny-llama3-scaled"),
        "--text",
        case["text"].as_str().unwrap(),
        "--json",
        "--backend",
        "flex",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let score: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let n = case["input_ids"].as_array().unwrap().len() as u64;
    assert_eq!(score["n_tokens"].as_u64(), Some(n), "{score}");
    let sum = case["sum_logprob"].as_f64().unwrap();
    assert!(
        (score["sum_logprob"].as_f64().unwrap() - sum).abs() < 1e-3,
        "{score} vs {sum}"
    );
}

/// Every subcommand, flag and argument says what it is for, and every subcommand's long help
/// has an example.
#[test]
fn every_flag_has_help_text_and_every_command_an_example() {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if id != "help" && id != "version" && arg.get_help().is_none() {
                missing.push(format!("{path} {id}: no help"));
            }
        }
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = format!("{path} {}", sub.get_name());
            if sub.get_about().is_none() {
                missing.push(format!("{name}: no about"));
            }
            if !sub
                .get_after_long_help()
                .is_some_and(|h| h.to_string().contains("pglab "))
            {
                missing.push(format!("{name}: no example"));
            }
            walk(sub, &name, missing);
        }
    }
    let mut missing = Vec::new();
    walk(&pglab_runner::cli::Cli::command(), "pglab", &mut missing);
    assert!(missing.is_empty(), "{missing:#?}");
    // The walk sees the flags (a help-less flag would be caught).
    let sweep = pglab_runner::cli::Cli::command();
    let sweep = sweep.find_subcommand("sweep").unwrap();
    let flags: Vec<&str> = sweep.get_arguments().map(|a| a.get_id().as_str()).collect();
    for flag in ["jobs", "shard", "out", "set", "grid"] {
        assert!(flags.contains(&flag), "{flags:?}");
    }
    // `run` takes only what applies to one run.
    let run = pglab_runner::cli::Cli::command();
    let run: Vec<String> = run
        .find_subcommand("run")
        .unwrap()
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    assert!(
        !run.iter()
            .any(|a| a == "jobs" || a == "shard" || a == "grid"),
        "{run:?}"
    );
}

#[test]
fn version_names_the_commit_and_burn_and_completions_cover_the_commands() {
    let version = pglab(&["--version"]);
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(version.starts_with("pglab "), "{version}");
    assert!(version.contains("(commit "), "{version}");
    let lock = std::fs::read_to_string(
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../Cargo.lock"),
    )
    .unwrap();
    let burn = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"burn\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .unwrap()
        .trim_end_matches('"');
    assert!(version.contains(&format!("burn {burn})")), "{version}");
    for shell in ["bash", "zsh", "fish"] {
        let script = pglab(&["completions", shell]);
        assert!(script.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&script.stdout);
        for word in ["sweep", "status", "--grid", "--shard"] {
            assert!(script.contains(word), "{shell}: {word}");
        }
    }
    let bad = pglab(&["completions", "powershel"]);
    assert_eq!(bad.status.code(), Some(2));
}
