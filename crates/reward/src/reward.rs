//! The `Reward` trait: prompt and completion in, a number out.

/// A reward: scores one sampled completion of a prompt.
///
/// Implementations decide, through their [`Scope`](crate::Scope), whether the prompt's text is
/// scored too. `Send + Sync` so one reward can serve runs on several threads.
pub trait Reward: Send + Sync + std::fmt::Debug {
    /// The reward of `completion`, sampled as the continuation of `prompt`.
    ///
    /// Never panics, for any strings; the result is always finite.
    fn score(&self, prompt: &str, completion: &str) -> f32;
}
