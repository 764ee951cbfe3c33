//! Checkpoints: save → load reproduces a model exactly, for every family; bad directories give
//! one clear error naming the file.

use std::path::Path;

use pglab_model::{
    Arch, AttentionKind, Checkpoint, Transformer, TransformerConfig, load_model, save_model,
};

use crate::fixture::{self, floats, ids_tensor};

fn logits(model: &Transformer) -> Vec<f32> {
    let ids: Vec<u32> = (1..20).collect();
    floats(model.logits(ids_tensor(&ids, &fixture::device())).unwrap())
}

#[test]
fn saved_model_reloads_with_identical_logits() {
    let device = fixture::device();
    let mut neo = TransformerConfig::gpt2(64, 32, 16, 2, 2);
    neo.arch = Arch::GptNeo;
    neo.attention_layers = vec![AttentionKind::Global, AttentionKind::Local];
    neo.window_size = 3;
    let llama = TransformerConfig::llama(64, 32, 16, 2, (4, 2), 24);
    let qwen2 = TransformerConfig {
        arch: Arch::Qwen2,
        tie_word_embeddings: false,
        ..TransformerConfig::llama(64, 32, 16, 2, (4, 1), 24)
    };
    for config in [TransformerConfig::gpt2(64, 32, 16, 2, 2), neo, llama, qwen2] {
        let model = {
            let _rng = fixture::RNG.lock().unwrap_or_else(|e| e.into_inner());
            device.seed(1);
            Transformer::init(&config, &device)
        };
        let tmp = tempfile::tempdir().unwrap();
        save_model(&model, tmp.path()).unwrap();
        let loaded = load_model(tmp.path(), &device).unwrap();
        assert_eq!(loaded.config(), &config);
        assert_eq!(logits(&loaded), logits(&model), "{:?}", config.arch);
    }
}

#[test]
fn fixture_resaved_keeps_its_tensor_names_and_logits() {
    // PGLAB_KEEP_SAVED=DIR keeps the saved copies in DIR/<fixture>, for
    // `tools/check_saved_model.py` (transformers opening what pglab saves).
    let keep = std::env::var_os("PGLAB_KEEP_SAVED").map(std::path::PathBuf::from);
    for name in fixture::MODELS {
        let original = fixture::load(name);
        let tmp = tempfile::tempdir().unwrap();
        let saved = keep
            .as_ref()
            .map_or(tmp.path().to_path_buf(), |d| d.join(name));
        original.save(&saved).unwrap();
        let names = |dir: &Path| {
            let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
            let mut names: Vec<String> = safetensors::SafeTensors::deserialize(&bytes)
                .unwrap()
                .names()
                .into_iter()
                .map(String::from)
                .collect();
            names.sort();
            names
        };
        assert_eq!(names(&saved), names(&fixture::dir(name)), "{name}");
        let reloaded = Checkpoint::load(&saved, &fixture::device()).unwrap();
        assert_eq!(logits(&reloaded.model), logits(&original.model), "{name}");
    }
}

/// A copy of the GPT-2 fixture to break.
fn broken_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture::dir("tiny-gpt2")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, tmp.path().join(path.file_name().unwrap())).unwrap();
    }
    tmp
}

fn load_error(dir: &Path) -> String {
    Checkpoint::load(dir, &fixture::device())
        .unwrap_err()
        .to_string()
}

fn edit_config(dir: &Path, from: &str, to: &str) {
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "config.json has {from}");
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

#[test]
fn missing_directory_is_named() {
    let err = load_error(Path::new("/no/such/model"));
    assert!(
        err.contains("/no/such/model") && err.contains("model directory"),
        "{err}"
    );
}

#[test]
fn unknown_model_type_is_named_with_its_file() {
    let dir = broken_copy();
    edit_config(dir.path(), "\"gpt2\"", "\"mistral\"");
    let err = load_error(dir.path());
    assert!(
        err.contains("config.json") && err.contains("\"mistral\""),
        "{err}"
    );
}

#[test]
fn weights_not_matching_config_name_the_tensor_and_shapes() {
    let dir = broken_copy();
    edit_config(dir.path(), "\"n_embd\": 32", "\"n_embd\": 48");
    let err = load_error(dir.path());
    assert!(
        err.contains("model.safetensors") && err.contains("transformer.wte.weight"),
        "{err}"
    );
    assert!(
        err.contains("[400, 48]") && err.contains("[400, 32]"),
        "{err}"
    );
}

#[test]
fn wrong_model_type_for_the_weights_is_reported() {
    let dir = broken_copy();
    // A GPT-2 checkpoint declared as GPT-Neo: its tensor names do not fit.
    let config = std::fs::read_to_string(fixture::dir("tiny-gpt-neo").join("config.json")).unwrap();
    std::fs::write(dir.path().join("config.json"), config).unwrap();
    let err = load_error(dir.path());
    assert!(
        err.contains("model.safetensors") && err.contains("q_proj"),
        "{err}"
    );
}

#[test]
fn missing_config_weights_and_tokenizer_are_named() {
    for (file, expected) in [
        ("config.json", "config.json"),
        ("model.safetensors", "model.safetensors"),
    ] {
        let dir = broken_copy();
        std::fs::remove_file(dir.path().join(file)).unwrap();
        let err = load_error(dir.path());
        assert!(err.contains(expected) && err.contains("missing"), "{err}");
    }
    let dir = broken_copy();
    for file in ["tokenizer.json", "vocab.json"] {
        std::fs::remove_file(dir.path().join(file)).unwrap();
    }
    let err = load_error(dir.path());
    assert!(
        err.contains("tokenizer") && err.contains("missing"),
        "{err}"
    );
}

#[test]
fn corrupt_safetensors_is_an_error_not_a_panic() {
    let dir = broken_copy();
    let path = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_error(dir.path());
    assert!(
        err.contains("model.safetensors") && err.contains("safetensors"),
        "{err}"
    );
}
