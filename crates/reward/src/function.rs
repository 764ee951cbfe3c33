//! `RewardFunction`: what a run scores its batches with, a built-in [`Reward`] or the user's
//! program. One call per batch, so a program answers a whole batch in one round trip.

use std::borrow::Cow;

use crate::process::{CommandError, RewardProcess};
use crate::protocol::{Phase, Request};
use crate::{Reward, Scope};

/// One batch of completions to score.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    pub step: usize,
    pub seed: u64,
    pub phase: Phase,
    /// The prompt of each completion.
    pub prompts: &'a [String],
    pub completions: &'a [String],
}

/// A run's reward: started by [`RewardSpec::start`](crate::RewardSpec::start).
#[derive(Debug)]
pub enum RewardFunction {
    BuiltIn(Box<dyn Reward>),
    /// The program, and which text it is sent.
    Command(Box<RewardProcess>, Scope),
}

impl RewardFunction {
    /// The reward of every completion of `batch`, in order. A built-in reward cannot fail; a
    /// program can, and then it is killed and every later call fails too.
    pub fn score(&self, batch: &Batch) -> Result<Vec<f32>, CommandError> {
        let pairs = batch.prompts.iter().zip(batch.completions);
        match self {
            RewardFunction::BuiltIn(reward) => Ok(pairs.map(|(p, c)| reward.score(p, c)).collect()),
            RewardFunction::Command(process, scope) => {
                let texts: Cow<[String]> = match scope {
                    Scope::Completion => Cow::Borrowed(batch.completions),
                    Scope::FullText => pairs.map(|(p, c)| scope.text(p, c).into_owned()).collect(),
                };
                process.score(&Request {
                    step: batch.step,
                    seed: batch.seed,
                    phase: batch.phase,
                    prompts: batch.prompts,
                    completions: &texts,
                })
            }
        }
    }
}
