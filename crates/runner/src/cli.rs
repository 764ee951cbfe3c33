//! The command line: `pglab <command>`, parsed with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::bench::BenchArgs;
use crate::compare::CompareArgs;
use crate::device::Backend;
use crate::pretrain::PretrainArgs;
use crate::report::ReportArgs;
use crate::sweep::slurm::SlurmArgs;
use crate::sweep::status::StatusArgs;
use crate::sweep::{CheckArgs, RunArgs, SweepArgs};

#[derive(Parser, Debug)]
#[command(
    name = "pglab",
    version = concat!(
        env!("CARGO_PKG_VERSION"),
        " (commit ",
        env!("PGLAB_COMMIT"),
        ", burn ",
        env!("PGLAB_BURN_VERSION"),
        ")"
    ),
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
    #[command(
        after_long_help = "Example: pglab score --model models/default --text \"Once upon a time\""
    )]
    Score(ScoreArgs),
    /// Sample completions of a prompt.
    #[command(
        after_long_help = "Example: pglab sample --model models/default --prompt \"One day\" -n 3 --top-k 50"
    )]
    Sample(SampleArgs),
    /// Time sampling and a training step on random weights.
    #[command(
        after_long_help = "Examples:\n  pglab bench --config small --repeats 3\n  pglab bench --config chapter --backend flex --json"
    )]
    Bench(BenchArgs),
    /// Run every point of an experiment's grid (resumable; `--jobs`, `--shard I/N`).
    #[command(
        after_long_help = "Examples:\n  pglab sweep experiments/reinforce_vs_rloo.toml\n  pglab sweep experiments/reinforce_vs_rloo.toml --grid seed=100..108 --out results/rerun\n  pglab sweep experiments/smoke.toml --set train.lr=0.01 --jobs 1\n  pglab sweep FILE --shard 0/4   (one of four shards sharing the sweep directory)"
    )]
    Sweep(SweepArgs),
    /// Submit a sweep to Slurm: a job array of shards, then a report job after it.
    #[command(
        after_long_help = "Examples:\n  pglab slurm experiments/reinforce_vs_rloo.toml --tasks 16 --time 1:00:00 --dry-run\n  pglab slurm experiments/reinforce_vs_rloo.toml --partition cpu --sbatch-arg=--account=lab --wait\n\nThe scripts call this pglab binary by its absolute path and run from the current directory: the\nnodes need both, and the sweep directory, on a shared filesystem. Resubmitting the same command\nruns only the runs that did not finish."
    )]
    Slurm(SlurmArgs),
    /// Run an experiment file with a single grid point.
    #[command(after_long_help = "Example: pglab run experiments/smoke.toml --set seed=3")]
    Run(RunArgs),
    /// Validate an experiment file and list its runs; nothing is written.
    #[command(
        after_long_help = "Example: pglab check experiments/reinforce_vs_rloo.toml --grid seed=100..102"
    )]
    Check(CheckArgs),
    /// Pretrain the default model (or a model on your own text) into a model directory.
    #[command(
        after_long_help = "Examples:\n  pglab pretrain   (the default model into models/default; a no-op when it is there)\n  pglab pretrain --corpus my_stories.txt --out models/mine"
    )]
    Pretrain(PretrainArgs),
    /// Where a sweep stands: every run's state, step and outcome (works while it runs).
    #[command(
        after_long_help = "Examples:\n  pglab status results/reinforce_vs_rloo\n  pglab status results/reinforce_vs_rloo --json | jq '.counts'"
    )]
    Status(StatusArgs),
    /// Figures and tables of a sweep directory, from its CSV files (`pglab sweep` runs it too).
    #[command(after_long_help = "Example: pglab report results/reinforce_vs_rloo")]
    Report(ReportArgs),
    /// Two sweeps of one experiment, claim by claim of their answer sections: held or not.
    #[command(
        after_long_help = "Example: pglab compare results/reinforce_vs_rloo results/seeds100/reinforce_vs_rloo --out results/compare"
    )]
    Compare(CompareArgs),
    /// Shell completions: `pglab completions bash > ~/.local/share/bash-completion/completions/pglab`.
    #[command(
        after_long_help = "Examples:\n  pglab completions bash > ~/.local/share/bash-completion/completions/pglab\n  pglab completions zsh > ~/.zfunc/_pglab\n  pglab completions fish > ~/.config/fish/completions/pglab.fish"
    )]
    Completions(CompletionsArgs),
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ModelArgs {
    /// A Hugging Face model directory (config.json, model.safetensors, tokenizer.json).
    #[arg(long)]
    pub model: PathBuf,
    /// Where to run: `auto` (a hardware GPU through wgpu if there is one, else `flex`), `flex`
    /// (CPU) or `wgpu`.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: Backend,
}

#[derive(Args, Debug)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The text to score.
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
    /// The text to continue.
    #[arg(long)]
    pub prompt: String,
    /// Tokens to sample after the prompt.
    #[arg(long, default_value_t = 100)]
    pub max_new_tokens: usize,
    /// Logits are divided by this before the softmax; 1 samples the model's own distribution.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Keep only the k most likely tokens (transformers' `generate` defaults to 50).
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Keep the smallest set of most likely tokens whose probability reaches p (nucleus).
    #[arg(long)]
    pub top_p: Option<f64>,
    /// Number of completions.
    #[arg(short = 'n', long = "num", default_value_t = 1)]
    pub n: usize,
    /// The sampling RNG's seed: the same seed, model and backend give the same completions.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// End a completion at the model's end-of-text token.
    #[arg(long)]
    pub stop_at_eos: bool,
    /// One JSON object per completion, one per line.
    #[arg(long)]
    pub json: bool,
}

/// `pglab completions SHELL`: the completion script on stdout.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<()> {
    use clap::CommandFactory;
    use std::io::Write as _;
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "pglab", &mut script);
    std::io::stdout().write_all(&script)?;
    Ok(())
}
