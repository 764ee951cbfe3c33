//! The `pglab` binary's library: command-line parsing, backend selection and one module per
//! command. This is the only crate that prints, exits or names a backend. It writes to stdout
//! with `writeln!` (an error on a closed pipe, which `main` ends quietly), never `println!`
//! (a panic there): the workspace lints deny `print_stdout` here too.
#![allow(clippy::print_stderr)]

pub mod bench;
pub mod cli;
pub mod device;
pub mod environment;
pub mod experiment;
pub mod gradient;
pub mod hash;
pub mod hparams;
pub mod lock;
pub mod machine;
pub mod pretrain;
pub mod probe;
pub mod progress;
pub mod report;
pub mod run;
pub mod sample;
pub mod score;
pub mod slurm;
pub mod status;
pub mod step;
pub mod sweep;
