//! `pglab`: parse the command line, run it, and on error print one line and exit 2.

#![allow(clippy::print_stderr)]

use clap::Parser;
use pglab_runner::cli::{Cli, Command};
use pglab_runner::sweep::{self, slurm, status};
use pglab_runner::{bench, compare, pretrain, report, sample, score};

fn main() {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Score(args) => score::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Pretrain(args) => pretrain::run(args),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Run(args) => sweep::run_single(args),
        Command::Check(args) => sweep::check(args),
        Command::Report(args) => report::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Status(args) => status::run(args),
        Command::Slurm(args) => slurm::run(args),
        Command::Completions(args) => pglab_runner::cli::completions(args),
    };
    if let Err(err) = result {
        // The reader went away (`pglab check FILE | head -1`): nothing more to say, and no
        // error either — what it read was complete.
        if broken_pipe(&err) {
            return;
        }
        eprintln!("error: {err:#}");
        std::process::exit(2);
    }
}

/// Whether `err` comes from writing to a closed pipe.
fn broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
