//! The wgpu backend computes what the CPU backend computes: log-probs of the parity fixtures
//! within 1e-4, the same greedy completion, and the same SGD step. One test, so that the
//! kernels (slow to compile on a software Vulkan driver) are compiled once per process.
//! Needs a Vulkan driver (`common::optional("wgpu")`): skipped without one unless
//! PGLAB_REQUIRE_WGPU is set (CI, bench/gpu.sh); with a driver, no adapter is a failure.
#![cfg(feature = "wgpu")]

mod common;

use std::path::{Path, PathBuf};

use burn::optim::SgdConfig;
use burn::prelude::*;
use pglab_model::{
    Checkpoint, SHARD_ROWS, SamplingConfig, TokenBatch, sample, sequence_logprobs, sharded_logprobs,
};
use pglab_runner::device::Backend;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../model/tests/fixtures")
        .join(name)
}

fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

/// Per-token log-probs of `sequences` and those after one SGD step on −Σ log-probs of
/// `SHARD_ROWS + 1` copies of them, taken as a run takes it: through the sharded pass (two
/// shards, two graphs on the device at once).
fn logprobs_and_step(dir: &Path, sequences: &[Vec<u32>], device: &Device) -> (Vec<f32>, Vec<f32>) {
    let device = device.clone().autodiff();
    let model = Checkpoint::load(dir, &device).unwrap().model;
    let batch = TokenBatch::new(sequences, &vec![1; sequences.len()], &device).unwrap();
    let lp = sequence_logprobs(&model, &batch, false).unwrap();
    let before = floats(lp.token_logprobs.clone());
    let rows: Vec<Vec<u32>> = sequences
        .iter()
        .cycle()
        .take(SHARD_ROWS + 1)
        .cloned()
        .collect();
    let step_batch = TokenBatch::new(&rows, &vec![1; rows.len()], &device).unwrap();
    let grads = sharded_logprobs(&model, &step_batch, false)
        .unwrap()
        .backward(&vec![-1.0; rows.len()])
        .unwrap();
    let model = SgdConfig::new().init().step(0.01, model, grads);
    let after = floats(
        sequence_logprobs(&model, &batch, false)
            .unwrap()
            .token_logprobs,
    );
    (before, after)
}

fn assert_close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len());
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(worst <= tol, "{what}: max difference {worst} > {tol}");
}

#[test]
fn wgpu_matches_flex_on_the_parity_fixtures() {
    if !common::optional("wgpu") {
        return;
    }
    let wgpu = Backend::Wgpu.select().unwrap().device;
    let flex = Backend::Flex.select().unwrap().device;
    for name in [
        "tiny-gpt2",
        "tiny-gpt-neo",
        "tiny-llama",
        "tiny-qwen2",
        "tiny-llama3-scaled",
        "tiny-qwen3",
    ] {
        let dir = fixture(name);
        let checkpoint = Checkpoint::load(&dir, &flex).unwrap();
        let texts = [
            "Anna had a ball.",
            "Once upon a time, a little cat sat in the sun and ate an apple.",
        ];
        let sequences: Vec<Vec<u32>> = texts
            .iter()
            .map(|t| checkpoint.tokenizer.encode(t).unwrap())
            .collect();

        let (flex_lp, flex_after) = logprobs_and_step(&dir, &sequences, &flex);
        let (wgpu_lp, wgpu_after) = logprobs_and_step(&dir, &sequences, &wgpu);
        assert_close(&wgpu_lp, &flex_lp, 1e-4, &format!("{name} log-probs"));
        assert_close(
            &wgpu_after,
            &flex_after,
            1e-3,
            &format!("{name} log-probs after SGD"),
        );

        let greedy = SamplingConfig {
            max_new_tokens: 12,
            top_k: Some(1),
            ..Default::default()
        };
        let on = |device: &Device| {
            let model = Checkpoint::load(&dir, device).unwrap().model;
            sample(&model, &sequences, &greedy, &mut StdRng::seed_from_u64(0)).unwrap()
        };
        assert_eq!(on(&wgpu), on(&flex), "{name}: greedy completions");
    }
}
