//! `pglab bench`: the RL step's two phases on random weights — sampling N sequences with the KV
//! cache, and one forward + backward + SGD step on them — timed as a median after warm-up.

use std::io::Write as _;
use std::time::Instant;

use burn::optim::SgdConfig;
use burn::prelude::*;
use clap::{Args, ValueEnum};
use pglab_estimator::{LossOptions, policy_loss};
use pglab_model::rope::RopeParameters;
use pglab_model::{
    Arch, AttentionKind, Rollout, SamplingConfig, Transformer, TransformerConfig, sample,
    sharded_logprobs,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::device::Backend;

/// The benchmark's model sizes (random weights).
#[derive(Debug, Clone, Copy, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BenchConfig {
    /// vocab 512, 64 positions, n_embd 32, 2 layers, 2 heads; 2 prompts × 2 completions of
    /// 4 + 12 tokens: seconds even on a software GPU driver, to check that a benchmark script
    /// runs end to end (`bench/gpu.sh` in the tests), not to measure anything.
    Tiny,
    /// vocab 4096, 256 positions, n_embd 128, 4 layers, 4 heads.
    Small,
    /// vocab 8192, 256 positions, n_embd 256, 6 layers, 8 heads.
    Medium,
    /// The reference chapter's model: a GPT-Neo of TinyStories-33M's shape (vocab 50,257,
    /// 2048 positions, n_embd 768, 4 layers alternating global and local attention with a
    /// window of 256, 16 heads; 68.5M parameters), RLOO's k = 10 completions of one 4-token
    /// prompt, 96 new tokens.
    Chapter,
    /// A Llama of SmolLM2-135M's shape (vocab 49,152, n_embd 576, 30 layers, 9 heads on 3
    /// key/value heads, SwiGLU width 1,536, RoPE base 100,000, tied head; 134.5M parameters),
    /// 2 prompts × 4 completions of 16 + 48 tokens (a step of the default workload would take
    /// minutes on 2 cores).
    Smollm,
    /// A Qwen3 of Qwen3-0.6B's shape (vocab 151,936, n_embd 1,024, 28 layers, 16 heads of 128
    /// channels on 8 key/value heads, q/k norms, SwiGLU width 3,072, RoPE base 1,000,000, tied
    /// head; 596M parameters), with `smollm`'s workload.
    Qwen3,
}

/// The batch one RL step samples and trains on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload {
    pub prompts: usize,
    pub k: usize,
    pub prompt_tokens: usize,
    pub new_tokens: usize,
}

impl BenchConfig {
    fn gpt(self) -> TransformerConfig {
        match self {
            BenchConfig::Tiny => TransformerConfig::gpt2(512, 64, 32, 2, 2),
            BenchConfig::Small => TransformerConfig::gpt2(4096, 256, 128, 4, 4),
            BenchConfig::Medium => TransformerConfig::gpt2(8192, 256, 256, 6, 8),
            BenchConfig::Chapter => {
                use AttentionKind::{Global, Local};
                TransformerConfig {
                    arch: Arch::GptNeo,
                    attention_layers: vec![Global, Local, Global, Local],
                    window_size: 256,
                    ..TransformerConfig::gpt2(50_257, 2048, 768, 4, 16)
                }
            }
            BenchConfig::Smollm => TransformerConfig {
                rope: RopeParameters::plain(100_000.0),
                ..TransformerConfig::llama(49_152, 2048, 576, 30, (9, 3), 1536)
            },
            BenchConfig::Qwen3 => TransformerConfig {
                arch: Arch::Qwen3,
                attention_head_dim: Some(128),
                layer_norm_epsilon: 1e-6,
                rope: RopeParameters::plain(1_000_000.0),
                ..TransformerConfig::llama(151_936, 2048, 1024, 28, (16, 8), 3072)
            },
        }
    }

    /// The default workload: 8 prompts × 4 completions of 16 + 100 tokens for the GPT-2
    /// sizes; the chapter's own step for `chapter`.
    fn workload(self) -> Workload {
        match self {
            BenchConfig::Tiny => Workload {
                prompts: 2,
                k: 2,
                prompt_tokens: 4,
                new_tokens: 12,
            },
            BenchConfig::Small | BenchConfig::Medium => Workload {
                prompts: 8,
                k: 4,
                prompt_tokens: 16,
                new_tokens: 100,
            },
            BenchConfig::Chapter => Workload {
                prompts: 1,
                k: 10,
                prompt_tokens: 4,
                new_tokens: 96,
            },
            BenchConfig::Smollm | BenchConfig::Qwen3 => Workload {
                prompts: 2,
                k: 4,
                prompt_tokens: 16,
                new_tokens: 48,
            },
        }
    }
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The model shape and workload to time, on random weights.
    #[arg(long, value_enum, default_value = "small")]
    pub config: BenchConfig,
    /// Where to run: `auto` (a hardware GPU through wgpu if there is one, else `flex`), `flex`
    /// (CPU) or `wgpu`.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: Backend,
    /// Timed repetitions of each phase, after one warm-up.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Prompts per step (P); sequences N = P·k. Default: 8, 1 for `chapter`, 2 for `smollm` and
    /// `qwen3`.
    #[arg(long)]
    pub prompts: Option<usize>,
    /// Completions per prompt (k). Default: 4, or 10 for `chapter`.
    #[arg(long)]
    pub k: Option<usize>,
    /// Random prompt tokens per sequence. Default: 16, or 4 for `chapter`.
    #[arg(long)]
    pub prompt_tokens: Option<usize>,
    /// New tokens sampled per sequence. Default: 100, 96 for `chapter`, 48 for `smollm` and
    /// `qwen3`.
    #[arg(long)]
    pub new_tokens: Option<usize>,
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

impl BenchArgs {
    fn workload(&self) -> Workload {
        let default = self.config.workload();
        Workload {
            prompts: self.prompts.unwrap_or(default.prompts),
            k: self.k.unwrap_or(default.k),
            prompt_tokens: self.prompt_tokens.unwrap_or(default.prompt_tokens),
            new_tokens: self.new_tokens.unwrap_or(default.new_tokens),
        }
    }
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.repeats >= 1, "--repeats: must be at least 1");
    let workload = args.workload();
    anyhow::ensure!(
        workload.prompts * workload.k >= 1,
        "--prompts, --k: need at least one sequence"
    );
    anyhow::ensure!(
        workload.prompt_tokens >= 1,
        "--prompt-tokens: must be at least 1"
    );
    let selected = args.backend.select()?;
    let device = selected.device.clone().autodiff();
    device.seed(0);
    let config = args.config.gpt();
    let mut model = Transformer::init(&config, &device);
    let mut rng = StdRng::seed_from_u64(0);
    // `--scaling` samples up to 200 new tokens.
    let longest = if args.scaling {
        workload.new_tokens.max(200)
    } else {
        workload.new_tokens
    };
    let positions = workload.prompt_tokens + longest;
    anyhow::ensure!(
        positions <= config.n_positions,
        "--prompt-tokens + --new-tokens: {positions} positions, more than the model's {}",
        config.n_positions
    );
    let prompts: Vec<Vec<u32>> = (0..workload.prompts)
        .map(|_| {
            (0..workload.prompt_tokens)
                .map(|_| rng.random_range(0..config.vocab_size as u32))
                .collect()
        })
        .collect();
    let prompts: Vec<Vec<u32>> = prompts
        .iter()
        .flat_map(|p| vec![p.clone(); workload.k])
        .collect();
    let sampling = |new_tokens| SamplingConfig {
        max_new_tokens: new_tokens,
        ..SamplingConfig::default()
    };

    // Sampling runs on the inference copy of the model: no autodiff graph is recorded.
    let time_sampling = |model: &Transformer,
                         new_tokens: usize,
                         rng: &mut StdRng|
     -> anyhow::Result<(f64, Rollout)> {
        let valid = model.valid();
        let mut last = None;
        let median = median_of(args.repeats, || {
            let start = Instant::now();
            last = Some(sample(&valid, &prompts, &sampling(new_tokens), rng)?);
            Ok(start.elapsed().as_secs_f64())
        })?;
        Ok((median, last.expect("at least one repeat")))
    };
    let (sample_s, rollout) = time_sampling(&model, workload.new_tokens, &mut rng)?;

    let batch = rollout.token_batch(false, &device)?;
    let n = rollout.len();
    // Advantages ±1 through the loss every run uses (its default reductions: −(1/N) Σ_i A_i s_i),
    // as weights on the summed log-probs s_i; the s_i's values do not enter the weights.
    let advantages: Vec<f32> = (0..n)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let scored = vec![workload.new_tokens; n];
    let loss = policy_loss(
        &vec![0.0; n],
        &scored,
        &advantages,
        workload.k,
        &LossOptions::default(),
    )?;
    let weights = loss.weights;
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
        tokens_per_s: (n * workload.new_tokens) as f64 / step_s,
        backend: selected.name.into(),
        config: args.config,
        sequences: n,
        prompt_tokens: workload.prompt_tokens,
        new_tokens: workload.new_tokens,
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
