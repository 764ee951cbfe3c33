//! `bench/gpu.sh` end to end on whatever wgpu adapter this machine has (in CI the software
//! Vulkan driver), with the `tiny` benchmark config: the parity test must pass, and the table
//! and JSON lines must hold pglab's wgpu figures. It uses this build's binaries (the `pglab`
//! under test and the `wgpu` parity test next to this one), so nothing is rebuilt. Needs a
//! Vulkan driver (`common::optional("wgpu")`).
#![cfg(feature = "wgpu")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{root, text};

/// The newest `wgpu-<hash>` test binary beside this test's own.
fn wgpu_test_binary() -> PathBuf {
    let me = std::env::current_exe().unwrap();
    let deps = me.parent().unwrap();
    std::fs::read_dir(deps)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("wgpu-") && p.extension().is_none()
        })
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
        .expect("the wgpu parity test is built beside this one (cargo test --workspace)")
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    text(path)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn gpu_script_runs_end_to_end_with_the_tiny_config() {
    if !common::optional("wgpu") {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let output = Command::new("bash")
        .arg(root().join("bench/gpu.sh"))
        .arg(out.path())
        .env("PGLAB_BIN", env!("CARGO_BIN_EXE_pglab"))
        .env("PGLAB_WGPU_TEST", wgpu_test_binary())
        .env("PGLAB_GPU_CONFIGS", "tiny")
        .env("PGLAB_GPU_REPEATS", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");

    let parity = text(&out.path().join("parity.log"));
    assert!(parity.contains("test result: ok. 1 passed"), "{parity}");
    assert!(text(&out.path().join("machine.txt")).contains("cpu: "));
    let records = lines(&out.path().join("bench.jsonl"));
    let pglab: Vec<_> = records
        .iter()
        .filter(|r| r.get("torch_version").is_none())
        .collect();
    assert_eq!(pglab.len(), 1, "{records:?}");
    let r = pglab[0];
    assert_eq!(r["config"], "tiny");
    assert!(r["backend"].as_str().unwrap().starts_with("wgpu"), "{r}");
    assert_eq!(r["sequences"], 4);
    assert_eq!(r["new_tokens"], 12);
    let step = r["step_s"].as_f64().unwrap();
    assert!(step > 0.0 && step.is_finite(), "{r}");
    let table = text(&out.path().join("bench.md"));
    assert!(table.contains("tiny"), "{table}");
    assert!(table.contains("pglab"), "{table}");
}
