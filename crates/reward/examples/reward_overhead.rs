//! What a reward command costs per RL step: the built-in A-word reward against the same reward
//! in Python (`experiments/rewards/a_words.py`), on batches shaped like the default sweep's (8
//! completions of about 100 words), and on a batch 16 times larger (a probe-sized request).
//!
//! `just bench-reward` (from the repository root). Prints the median time per batch over
//! `REPEATS` batches after a warm-up, for each reward and batch size.

#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use pglab_reward::protocol::Phase;
use pglab_reward::{CommandSpec, Request, RewardFunction, RewardSpec, Scope};

const REPEATS: usize = 200;
const WORDS: [&str; 12] = [
    "a", "ant", "Once", "upon", "time", "there", "was", "an", "apple", "and", "the", "dog",
];

/// `n` completions of 100 words each, deterministic.
fn completions(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            (0..100)
                .map(|j| WORDS[(i * 7 + j * j) % WORDS.len()])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn median_per_batch(reward: &RewardFunction, n: usize) -> Duration {
    let prompts = vec!["Once upon a time".to_string(); n];
    let texts = completions(n);
    let mut times: Vec<Duration> = (0..REPEATS + 10)
        .map(|step| {
            let start = Instant::now();
            let rewards = reward
                .score(&Request {
                    step,
                    seed: 0,
                    phase: Phase::Train,
                    prompts: &prompts,
                    completions: &texts,
                })
                .expect("scores");
            assert_eq!(rewards.len(), n);
            start.elapsed()
        })
        .skip(10)
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let log = std::env::temp_dir().join("pglab-reward-overhead.log");
    let built_in = RewardSpec::default()
        .start(Path::new("."), &log)
        .expect("built-in");
    let python = RewardSpec::Command(CommandSpec {
        command: vec!["python3".into(), "experiments/rewards/a_words.py".into()],
        timeout_s: 60.0,
        env: BTreeMap::new(),
        scope: Scope::Completion,
    })
    .start(Path::new("."), &log)
    .expect("run from the repository root, with python3 on PATH");
    println!("| batch | built-in a_words | a_words.py | overhead per batch |");
    println!("|---|---|---|---|");
    for n in [8, 128] {
        let (b, p) = (median_per_batch(&built_in, n), median_per_batch(&python, n));
        println!(
            "| {n} × 100 words | {:.3} ms | {:.3} ms | {:.3} ms |",
            b.as_secs_f64() * 1e3,
            p.as_secs_f64() * 1e3,
            (p.as_secs_f64() - b.as_secs_f64()) * 1e3
        );
    }
}
