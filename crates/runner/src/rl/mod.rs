//! One RL run, readable top to bottom in this folder: the environment (prompts in, rewards
//! out), the one policy-gradient path (`gradient.rs`), the RL step (`step.rs`: sample → score →
//! advantages → loss → backward → optimiser step), the gradient-variance probe (`probe.rs`), and
//! the run's loop (`run.rs`).

pub mod environment;
pub mod gradient;
pub mod probe;
pub mod run;
pub mod step;
