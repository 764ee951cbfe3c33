//! `pglab bench`: the RL step's two phases on random weights — sampling N sequences with the KV
//! cache, and one forward + backward + SGD step on them — timed as a median after warm-up.

use std::io::Write as _;
use std::time::Instant;

use burn::optim::SgdConfig;
use burn::prelude::*;
use clap::{Args, ValueEnum};
use pglab_model::{Gpt, GptConfig, Rollout, SamplingConfig, sample, sharded_logprobs};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::device::Backend;

/// The benchmark's model sizes (random weights).
#[derive(Debug, Clone, Copy, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BenchConfig {
    /// vocab 4096, 256 positions, n_embd 128, 4 layers, 4 heads.
    Small,
    /// vocab 8192, 256 positions, n_embd 256, 6 layers, 8 heads.
    Medium,
}

impl BenchConfig {
    fn gpt(self) -> GptConfig {
        match self {
            BenchConfig::Small => GptConfig::gpt2(4096, 256, 128, 4, 4),
            BenchConfig::Medium => GptConfig::gpt2(8192, 256, 256, 6, 8),
        }
    }
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[arg(long, value_enum, default_value = "small")]
    pub config: BenchConfig,
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: Backend,
    /// Timed repetitions of each phase, after one warm-up.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Prompts per step (P); sequences N = P·k.
    #[arg(long, default_value_t = 8)]
    pub prompts: usize,
    /// Completions per prompt (k).
    #[arg(long, default_value_t = 4)]
    pub k: usize,
    #[arg(long, default_value_t = 16)]
    pub prompt_tokens: usize,
    #[arg(long, default_value_t = 100)]
    pub new_tokens: usize,
    /// Also time sampling 50, 100 and 200 new tokens, to show it scales linearly.
    #[arg(long)]
    pub scaling: bool,
    /// One JSON line instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One benchmark result; the JSON field names are what the PyTorch reference prints too.
#[derive(Debug, Serialize)]
pub struct BenchRecord {
    pub sample_s: f64,
    pub train_s: f64,
    pub step_s: f64,
    /// Sampled tokens per second of a whole RL step (N · new tokens / step_s).
    pub tokens_per_s: f64,
    pub backend: String,
    pub config: BenchConfig,
    pub sequences: usize,
    pub prompt_tokens: usize,
    pub new_tokens: usize,
    pub repeats: usize,
    pub threads: usize,
    /// Median sampling time at 50/100/200 new tokens, with `--scaling`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sample_scaling: Vec<(usize, f64)>,
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.repeats >= 1, "--repeats: must be at least 1");
    anyhow::ensure!(
        args.prompts * args.k >= 1,
        "--prompts, --k: need at least one sequence"
    );
    let selected = args.backend.select()?;
    let device = selected.device.clone().autodiff();
    device.seed(0);
    let config = args.config.gpt();
    let mut model = Gpt::init(&config, &device);
    let mut rng = StdRng::seed_from_u64(0);
    let prompts: Vec<Vec<u32>> = (0..args.prompts)
        .map(|_| {
            (0..args.prompt_tokens)
                .map(|_| rng.random_range(0..config.vocab_size as u32))
                .collect()
        })
        .collect();
    let prompts: Vec<Vec<u32>> = prompts
        .iter()
        .flat_map(|p| vec![p.clone(); args.k])
        .collect();
    let sampling = |new_tokens| SamplingConfig {
        max_new_tokens: new_tokens,
        ..SamplingConfig::default()
    };

    // Sampling runs on the inference copy of the model: no autodiff graph is recorded.
    let time_sampling =
        |model: &Gpt, new_tokens: usize, rng: &mut StdRng| -> anyhow::Result<(f64, Rollout)> {
            let valid = model.valid();
            let mut last = None;
            let median = median_of(args.repeats, || {
                let start = Instant::now();
                last = Some(sample(&valid, &prompts, &sampling(new_tokens), rng)?);
                Ok(start.elapsed().as_secs_f64())
            })?;
            Ok((median, last.expect("at least one repeat")))
        };
    let (sample_s, rollout) = time_sampling(&model, args.new_tokens, &mut rng)?;

    let batch = rollout.token_batch(false, &device)?;
    let n = rollout.len();
    // Advantages ±1; the loss −(1/N) Σ_i A_i s_i, as weights on the summed log-probs s_i.
    let weights: Vec<f32> = (0..n)
        .map(|i| if i % 2 == 0 { -1.0 } else { 1.0 } / n as f32)
        .collect();
    let mut optimizer = SgdConfig::new().init();
    let train_s = median_of(args.repeats, || {
        let start = Instant::now();
        let grads = sharded_logprobs(&model, &batch, false)?.backward(&weights)?;
        model = optimizer.step(1e-4, model.clone(), grads);
        device.sync()?;
        Ok(start.elapsed().as_secs_f64())
    })?;

    let mut sample_scaling = Vec::new();
    if args.scaling {
        for new_tokens in [50, 100, 200] {
            sample_scaling.push((new_tokens, time_sampling(&model, new_tokens, &mut rng)?.0));
        }
    }
    let step_s = sample_s + train_s;
    let record = BenchRecord {
        sample_s,
        train_s,
        step_s,
        tokens_per_s: (n * args.new_tokens) as f64 / step_s,
        backend: selected.name.into(),
        config: args.config,
        sequences: n,
        prompt_tokens: args.prompt_tokens,
        new_tokens: args.new_tokens,
        repeats: args.repeats,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        sample_scaling,
    };
    if args.json {
        writeln!(std::io::stdout(), "{}", serde_json::to_string(&record)?)?;
    } else {
        print_table(&record)?;
    }
    Ok(())
}

/// Runs `f` once to warm up (kernel compilation, allocator), then `repeats` times; the median.
fn median_of(repeats: usize, mut f: impl FnMut() -> anyhow::Result<f64>) -> anyhow::Result<f64> {
    f()?;
    let mut times = (0..repeats)
        .map(|_| f())
        .collect::<anyhow::Result<Vec<f64>>>()?;
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn print_table(r: &BenchRecord) -> std::io::Result<()> {
    writeln!(
        std::io::stdout(),
        "pglab bench: {:?} on {} ({} threads), {} sequences, {}-token prompts, {} new tokens, median of {}",
        r.config,
        r.backend,
        r.threads,
        r.sequences,
        r.prompt_tokens,
        r.new_tokens,
        r.repeats
    )?;
    writeln!(std::io::stdout(), "  {:<28} {:>9}", "phase", "seconds")?;
    writeln!(
        std::io::stdout(),
        "  {:<28} {:>9.3}",
        "sample (KV cache, no grad)",
        r.sample_s
    )?;
    writeln!(
        std::io::stdout(),
        "  {:<28} {:>9.3}",
        "train (fwd + bwd + SGD)",
        r.train_s
    )?;
    writeln!(
        std::io::stdout(),
        "  {:<28} {:>9.3}",
        "RL step (sum)",
        r.step_s
    )?;
    writeln!(
        std::io::stdout(),
        "  {:<28} {:>9.0}",
        "sampled tokens / s",
        r.tokens_per_s
    )?;
    for (new_tokens, seconds) in &r.sample_scaling {
        writeln!(
            std::io::stdout(),
            "  {:<28} {:>9.3}",
            format!("sample {new_tokens} new tokens"),
            seconds
        )?;
    }
    Ok(())
}
