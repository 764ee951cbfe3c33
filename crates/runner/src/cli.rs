//! The command line: `pglab <command>`, parsed with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::bench::BenchArgs;
use crate::device::Backend;
use crate::pretrain::PretrainArgs;
use crate::report::ReportArgs;
use crate::sweep::{CheckArgs, RunArgs, SweepArgs};

#[derive(Parser, Debug)]
#[command(
    name = "pglab",
    version,
    about = "Policy-gradient experiments on small language models"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Log-probability and perplexity of a text under a model (tokens 2..n given their
    /// prefixes, the convention of transformers' `labels=input_ids` loss).
    Score(ScoreArgs),
    /// Sample completions of a prompt.
    Sample(SampleArgs),
    /// Time sampling and a training step on random weights.
    Bench(BenchArgs),
    /// Run every point of an experiment's grid (resumable; `--jobs`, `--shard I/N`).
    Sweep(SweepArgs),
    /// Run an experiment file with a single grid point.
    Run(RunArgs),
    /// Validate an experiment file and list its runs; nothing is written.
    Check(CheckArgs),
    /// Pretrain the default model (or a model on your own text) into a model directory.
    Pretrain(PretrainArgs),
    /// Figures and tables of a sweep directory, from its CSV files (`pglab sweep` runs it too).
    Report(ReportArgs),
}

#[derive(Args, Debug)]
pub struct ModelArgs {
    /// A Hugging Face model directory (config.json, model.safetensors, tokenizer.json).
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: Backend,
}

#[derive(Args, Debug)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[arg(long)]
    pub text: String,
    /// One JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct SampleArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[arg(long)]
    pub prompt: String,
    #[arg(long, default_value_t = 100)]
    pub max_new_tokens: usize,
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    #[arg(long)]
    pub top_k: Option<usize>,
    #[arg(long)]
    pub top_p: Option<f64>,
    /// Number of completions.
    #[arg(short = 'n', long = "num", default_value_t = 1)]
    pub n: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// End a completion at the model's end-of-text token.
    #[arg(long)]
    pub stop_at_eos: bool,
    /// One JSON object per completion, one per line.
    #[arg(long)]
    pub json: bool,
}
