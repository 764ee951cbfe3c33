//! Policy-gradient estimators for pglab: advantages from rewards, the loss that turns them into
//! gradients, and the statistics that compare the gradients' variance.
//!
//! One RL step, as far as this crate is concerned (DESIGN.md, steps 3–4):
//!
//! 1. optionally shape the rewards with a KL penalty ([`kl_estimates`], [`shape_rewards`]);
//! 2. turn them into advantages with an [`Estimator`], configured for the run as
//!    [`Advantages`] (which carries `reinforce_ema`'s baseline);
//! 3. build the scalar loss from the per-sequence log-probs with [`policy_loss`]; its
//!    `backward()` gives the gradient. The loss is linear in the log-probs, and
//!    [`loss_weights`] gives its coefficients, for a log-prob pass that runs in shards.
//!
//! The gradient-variance probe flattens each estimator's gradient with [`flatten_gradients`]
//! and accumulates it in a [`GradStats`].
//!
//! Shapes: P prompts per step, k completions per prompt, N = P·k sequences, always prompt-major
//! (the k completions of prompt 0 first).

mod advantage;
mod error;
mod flatten;
mod kl;
mod loss;
mod variance;

pub use advantage::{AdvantageOptions, Advantages, Estimator};
pub use error::EstimatorError;
pub use flatten::flatten_gradients;
pub use kl::{kl_estimates, shape_rewards};
pub use loss::{GroupReduction, LossOptions, TokenReduction, loss_weights, policy_loss};
pub use variance::{GradStats, mean_gradient};
