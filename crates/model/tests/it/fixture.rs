//! The committed fixture models (built by `tools/make_fixtures.py` with `transformers`) and
//! small helpers shared by the tests.

use std::path::PathBuf;

use burn::prelude::*;
use pglab_model::{Checkpoint, Transformer, TransformerConfig};
use serde::Deserialize;

/// The four written by transformers 4.46 (top-level rope keys), then the three by transformers
/// 5.25 (`rope_parameters`; Llama 3's rope scaling; Qwen3 with q/k norms and a head width of its
/// own).
pub const MODELS: [&str; 7] = [
    "tiny-gpt2",
    "tiny-gpt-neo",
    "tiny-llama",
    "tiny-qwen2",
    "tiny-llama-v5",
    "tiny-llama3-scaled",
    "tiny-qwen3",
];

pub fn dir(name: &str) -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("tests/fixtures")
        .join(name)
}

pub fn device() -> Device {
    Device::flex()
}

pub fn load(name: &str) -> Checkpoint {
    Checkpoint::load(&dir(name), &device()).expect("fixture loads")
}

#[derive(Deserialize)]
pub struct Reference {
    pub cases: Vec<Case>,
    pub sgd_step: SgdStep,
    /// For a tokenizer that adds a BOS token: each case's text as `transformers`' tokenizer
    /// encodes it (special tokens added), and the log-probs of those ids.
    #[serde(default)]
    pub bos_cases: Vec<BosCase>,
}

#[derive(Deserialize)]
pub struct BosCase {
    pub text: String,
    pub input_ids: Vec<u32>,
    pub token_logprobs: Vec<f64>,
}

/// One SGD step in `transformers` on the mean token NLL of `input_ids` (its `loss` with
/// `labels = input_ids`): the loss before and after.
#[derive(Deserialize)]
pub struct SgdStep {
    pub input_ids: Vec<u32>,
    pub lr: f64,
    pub loss_before: f64,
    pub loss_after: f64,
}

/// Reference figures computed by `transformers`.
#[derive(Deserialize)]
pub struct Case {
    pub text: String,
    pub input_ids: Vec<u32>,
    /// log p(ids[j+1] | ids[..=j])
    pub token_logprobs: Vec<f64>,
    pub sum_logprob: f64,
    pub last_logits_head: Vec<f64>,
}

pub fn reference(name: &str) -> Reference {
    let text = std::fs::read_to_string(dir(name).join("reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// burn's RNG is one per device, shared by the tests running in parallel: hold this while
/// seeding and drawing, so a seed gives the same weights whatever else runs.
pub static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A small random GPT-2, seeded.
pub fn tiny_gpt2(device: &Device, seed: u64) -> Transformer {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    device.seed(seed);
    let mut config = TransformerConfig::gpt2(64, 32, 16, 2, 2);
    config.eos_token_id = Some(0);
    Transformer::init(&config, device)
}

pub fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

pub fn ids_tensor(ids: &[u32], device: &Device) -> Tensor<2, Int> {
    let data: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(data, [1, ids.len()]), device)
}

pub fn assert_close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol, "{what}[{i}]: {x} vs {y} (tol {tol})");
    }
}
