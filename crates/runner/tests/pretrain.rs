//! `pglab pretrain`'s model directory: a second run with the same settings does nothing; a
//! corrupt, partial or differently configured directory is detected and rebuilt, never used;
//! bad corpus files and settings files give one clear error naming the file (and key).

use std::path::Path;

use burn::prelude::Device;
use pglab_model::Checkpoint;
use pglab_model::Silent;
use pglab_model::pretrain::Corpus;
use pglab_runner::pretrain::{Outcome, PretrainFile, STAMP_FILE, build};

/// A model small enough to pretrain in well under a second.
fn tiny() -> PretrainFile {
    PretrainFile::parse(
        r#"
        seed = 1
        [corpus]
        stories = 120
        eval_fraction = 0.1
        [tokenizer]
        vocab_size = 300
        [model]
        n_embd = 16
        n_layer = 1
        n_head = 2
        n_positions = 48
        [train]
        steps = 3
        batch_size = 2
        seq_len = 16
        warmup_steps = 1
        eval_every = 2
        eval_windows = 2
        [report]
        samples = 2
        reward_samples = 3
        new_tokens = 5
        "#,
        Path::new("tiny.toml"),
    )
    .unwrap()
}

fn device() -> Device {
    Device::flex()
}

fn build_into(settings: &PretrainFile, out: &Path) -> Outcome {
    build(
        settings,
        &Corpus::Grammar,
        out,
        &device(),
        "flex",
        false,
        &mut Silent,
    )
    .unwrap()
}

fn rebuilt_because(outcome: Outcome) -> String {
    match outcome {
        Outcome::Built { reason, .. } => reason.unwrap_or_default(),
        Outcome::UpToDate => panic!("expected a rebuild"),
    }
}

#[test]
fn second_run_is_a_no_op_and_damage_is_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("models/default");
    let settings = tiny();

    let Outcome::Built { reason, stamp } = build_into(&settings, &out) else {
        panic!("the first run must build");
    };
    assert_eq!(reason, None);
    for file in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        STAMP_FILE,
        "pretrain.csv",
        "loss.png",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    assert_eq!(stamp.results.samples.len(), 2);
    assert!(stamp.results.samples[0].starts_with("Once upon a time"));
    Checkpoint::load(&out, &device()).unwrap();
    // No temporary directories are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("default")]);
    let csv = std::fs::read_to_string(out.join("pretrain.csv")).unwrap();
    assert_eq!(
        csv.lines().next(),
        Some("step,train_loss,eval_loss,lr,tokens_per_s")
    );
    assert_eq!(csv.lines().count(), 1 + 4, "{csv}");

    assert!(matches!(build_into(&settings, &out), Outcome::UpToDate));

    // A truncated weights file.
    let weights = out.join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let reason = rebuilt_because(build_into(&settings, &out));
    assert!(reason.contains("model.safetensors"), "{reason}");
    assert!(matches!(build_into(&settings, &out), Outcome::UpToDate));

    // Same size, one byte flipped: the hash catches it.
    let mut bytes = std::fs::read(&weights).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&weights, &bytes).unwrap();
    let reason = rebuilt_because(build_into(&settings, &out));
    assert!(reason.contains("model.safetensors"), "{reason}");

    // A directory without its stamp (an interrupted or foreign model).
    std::fs::remove_file(out.join(STAMP_FILE)).unwrap();
    let reason = rebuilt_because(build_into(&settings, &out));
    assert!(reason.contains(STAMP_FILE), "{reason}");

    // Different settings.
    let mut other = settings.clone();
    other.config.train.steps = 2;
    let reason = rebuilt_because(build_into(&other, &out));
    assert!(reason.contains("settings"), "{reason}");
    assert!(matches!(build_into(&other, &out), Outcome::UpToDate));
    let Outcome::Built { reason, .. } = build(
        &other,
        &Corpus::Grammar,
        &out,
        &device(),
        "flex",
        true,
        &mut Silent,
    )
    .unwrap() else {
        panic!("--force must rebuild");
    };
    assert_eq!(reason.as_deref(), Some("--force"));
}

#[test]
fn a_corpus_file_is_used_and_its_contents_are_part_of_the_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let text_path = tmp.path().join("corpus.txt");
    let text: String = (0..200)
        .map(|i| format!("The quick fox number {i} jumps over the lazy dog.\n"))
        .collect();
    std::fs::write(&text_path, &text).unwrap();
    let out = tmp.path().join("m");
    let settings = tiny();
    let corpus = Corpus::from_file(&text_path).unwrap();
    let run = |corpus: &Corpus| {
        build(
            &settings,
            corpus,
            &out,
            &device(),
            "flex",
            false,
            &mut Silent,
        )
        .unwrap()
    };
    assert!(matches!(run(&corpus), Outcome::Built { .. }));
    assert!(matches!(run(&corpus), Outcome::UpToDate));
    std::fs::write(&text_path, text + "One more line.\n").unwrap();
    let changed = Corpus::from_file(&text_path).unwrap();
    let reason = rebuilt_because(run(&changed));
    assert!(reason.contains("corpus"), "{reason}");
}

#[test]
fn bad_corpus_files_are_named_with_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty.txt");
    std::fs::write(&empty, "  \n").unwrap();
    let binary = tmp.path().join("binary.bin");
    std::fs::write(&binary, [b'o', b'k', 0xff, 0xfe]).unwrap();
    let missing = tmp.path().join("missing.txt");
    for (path, problem) in [
        (&empty, "empty"),
        (&binary, "not UTF-8"),
        (&missing, "cannot read"),
    ] {
        let err = Corpus::from_file(path).unwrap_err().to_string();
        assert!(err.contains(&*path.to_string_lossy()), "{err}");
        assert!(err.contains(problem), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
}

#[test]
fn bad_settings_name_the_file_and_key() {
    let path = Path::new("experiments/pretrain.toml");
    for (text, key) in [
        ("[train]\nstepz = 3\n", "train.stepz"),
        ("[train]\nsteps = \"many\"\n", "train.steps"),
        ("[model]\nn_embd = 30\nn_head = 4\n", "model.n_head"),
        ("[tokenizer]\nvocab_size = 100\n", "tokenizer.vocab_size"),
        ("colour = 1\n", "colour"),
    ] {
        let err = format!("{:#}", PretrainFile::parse(text, path).unwrap_err());
        assert!(
            err.contains("experiments/pretrain.toml") && err.contains(key),
            "{text:?}: {err}"
        );
        assert!(!err.contains('\n'), "{err}");
    }
}

#[test]
fn the_committed_settings_are_the_defaults() {
    let path = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../../experiments/pretrain.toml");
    let file = PretrainFile::load(&path).unwrap();
    assert_eq!(file, PretrainFile::default());
}

/// A corpus whose held-out part is unlike its training text: sentences from a dozen words, then
/// strings of digits, which the held-out part is mostly made of and training never sees. The
/// held-out loss falls a little (the shared sentence end), then rises as training makes digits
/// unlikely: training stops once `patience` evaluations bring nothing better, the best held-out
/// weights are saved, and the user is told plainly.
#[test]
fn pretraining_keeps_the_best_held_out_weights_stops_early_and_warns() {
    let words = [
        "the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "big", "red",
    ];
    let mut text = String::new();
    for i in 0..200 {
        let sentence: Vec<&str> = (0..8)
            .map(|j| words[(i * 7 + j * 5 + i * j) % words.len()])
            .collect();
        text.push_str(&sentence.join(" "));
        text.push_str(".<|endoftext|>");
    }
    let mut state = 12345u64;
    for _ in 0..40 {
        let mut doc = String::new();
        for _ in 0..8 {
            for _ in 0..4 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                doc.push(char::from(b'0' + ((state >> 33) % 10) as u8));
            }
            doc.push(' ');
        }
        text.push_str(&doc);
        text.push_str("<|endoftext|>");
    }
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus.txt");
    std::fs::write(&corpus, &text).unwrap();
    let config = dir.path().join("tiny.toml");
    std::fs::write(
        &config,
        r#"
        seed = 1
        [corpus]
        eval_fraction = 0.45
        [tokenizer]
        vocab_size = 300
        [model]
        n_embd = 32
        n_layer = 1
        n_head = 2
        n_positions = 48
        [train]
        steps = 200
        batch_size = 8
        seq_len = 32
        lr = 1e-2
        warmup_steps = 2
        eval_every = 10
        eval_windows = 1000
        patience = 3
        [report]
        samples = 1
        reward_samples = 2
        new_tokens = 5
        "#,
    )
    .unwrap();
    let out = dir.path().join("model");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pglab"))
        .args(["pretrain", "--backend", "flex", "--config"])
        .arg(&config)
        .arg("--corpus")
        .arg(&corpus)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: held-out perplexity ended at")
            && stderr.contains("before training: the corpus (240 documents")
            && stderr.contains("The weights kept are step "),
        "{stderr}"
    );
    let csv = std::fs::read_to_string(out.join("pretrain.csv")).unwrap();
    let evals: Vec<(usize, f64)> = csv
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            Some((cells[0].parse().ok()?, cells[2].parse().ok()?))
        })
        .collect();
    let (best_step, best_loss) = evals
        .iter()
        .copied()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    let stamp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join(STAMP_FILE)).unwrap()).unwrap();
    let results = &stamp["results"];
    assert_eq!(results["best_step"], best_step, "{results}");
    // Stopped after 3 evaluations without a better one, well before 200 steps.
    let last = evals.last().unwrap().0;
    assert_eq!(last, best_step + 30, "{evals:?}");
    assert_eq!(results["stopped_at"], last);
    let recorded = results["final_eval_loss"].as_f64().unwrap();
    assert!(
        (recorded - best_loss).abs() < 1e-5,
        "{recorded} vs {best_loss}"
    );
    assert!(
        evals.iter().any(|&(_, loss)| loss > best_loss + 0.05),
        "{evals:?}"
    );
    // The saved weights are the best ones: their held-out loss, measured afresh, is the best.
    let checkpoint = Checkpoint::load(&out, &device()).unwrap();
    let tokens = pglab_model::pretrain::tokenize(
        &checkpoint.tokenizer,
        &text
            .split("<|endoftext|>")
            .filter(|d| !d.trim().is_empty())
            .map(String::from)
            .collect::<Vec<_>>(),
        checkpoint.tokenizer.token_to_id("<|endoftext|>").unwrap(),
    )
    .unwrap();
    let n_eval = (tokens.len() as f64 * 0.45).ceil() as usize;
    let eval = &tokens[tokens.len() - n_eval..];
    let file = PretrainFile::load(&config).unwrap();
    let starts = pglab_model::pretrain::train::eval_windows(eval.len(), 32, 1000);
    let measured = pglab_model::pretrain::train::eval_loss(
        &checkpoint.model,
        eval,
        &starts,
        &file.config.train,
        &device(),
    )
    .unwrap();
    assert!(
        (measured - best_loss).abs() < 1e-4,
        "{measured} vs {best_loss}"
    );
}
