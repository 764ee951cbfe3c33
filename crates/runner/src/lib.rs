//! The `pglab` binary's library: command-line parsing, backend selection and one module per
//! command. This is the only crate that prints, exits or names a backend.

pub mod bench;
pub mod cli;
pub mod device;
pub mod environment;
pub mod experiment;
pub mod gradient;
pub mod hash;
pub mod lock;
pub mod pretrain;
pub mod probe;
pub mod progress;
pub mod report;
pub mod run;
pub mod sample;
pub mod score;
pub mod step;
pub mod sweep;
