//! Policy-gradient estimators for pglab: advantages from rewards, the loss that turns them into
//! gradients, and the statistics that compare the gradients' variance.
//!
//! One RL step, as far as this crate is concerned (docs/ARCHITECTURE.md, "One RL step"):
//!
//! 1. optionally shape the rewards with a KL penalty ([`kl_estimates`], [`shape_rewards`]);
//! 2. turn them into advantages with an [`Estimator`], configured for the run as
//!    [`Advantages`] (which carries `reinforce_ema`'s baseline);
//! 3. turn them, with the per-sequence log-probs, into the loss with [`policy_loss`]: its
//!    value and its weights ∂L/∂s_i, from which the model crate's backward pass gives the
//!    gradient; or, when a batch serves several updates, into per-token weights with an
//!    [`Objective`] that corrects by the importance ratio ([`token_loss`]).
//!
//! The gradient-variance probe accumulates each estimator's flattened gradient in a
//! [`GradStats`]; [`stats`] holds the summary statistics every crate uses.
//!
//! Everything here is arithmetic on host vectors: the crate knows no tensors (burn lives in the
//! model crate), so the report can know estimators by type without compiling burn.
//!
//! Shapes: P prompts per step, k completions per prompt, N = P·k sequences, always prompt-major
//! (the k completions of prompt 0 first).

mod advantage;
pub mod bootstrap;
mod error;
mod kl;
mod loss;
mod objective;
mod prediction;
pub mod stats;
mod variance;

pub use advantage::{AdvantageOptions, Advantages, BaselineInputs, Estimator};
pub use error::EstimatorError;
pub use kl::{kl_estimates, shape_rewards};
pub use loss::{GroupReduction, LossOptions, PolicyLoss, TokenReduction, policy_loss};
pub use objective::{ClipRange, Objective, RatioStats, TokenLoss, token_loss};
pub use prediction::predicted_ratio_to_rloo;
pub use variance::{GradStats, cosine};
