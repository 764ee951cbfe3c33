//! The `pglab` binary's library: command-line parsing, backend selection, the RL loop (`rl/`),
//! the sweep directory and the commands on it (`sweep/`), and one module per other command
//! (docs/ARCHITECTURE.md draws the layout). This is the only crate that prints, exits or names a backend. It writes to stdout
//! with `writeln!` (an error on a closed pipe, which `main` ends quietly), never `println!`
//! (a panic there): the workspace lints deny `print_stdout` here too.
#![allow(clippy::print_stderr)]

pub mod bench;
pub mod cli;
pub mod compare;
pub mod device;
pub mod experiment;
pub mod hash;
pub mod machine;
pub mod pretrain;
pub mod progress;
pub mod report;
pub mod rl;
pub mod sample;
pub mod score;
pub mod sweep;
pub mod toml_diagnostics;
