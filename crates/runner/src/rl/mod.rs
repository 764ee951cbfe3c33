//! One RL run, readable top to bottom in this folder: the environment (prompts in, rewards
//! out), the one policy-gradient path (`gradient.rs`), the RL step (`step.rs`: sample → score →
//! advantages → loss → backward → optimiser step), dynamic sampling (`resample.rs`), a clipped
//! objective's several updates per batch (`update.rs`), the gradient-variance probe (`probe.rs`),
//! and the run's loop (`run.rs`).

pub mod environment;
pub mod gradient;
pub mod probe;
pub mod resample;
pub mod run;
pub mod step;
pub mod update;
