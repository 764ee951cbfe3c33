//! `RewardFunction`: what a run scores its batches with, a built-in [`Reward`] or the user's
//! program. One call per batch, so a program answers a whole batch in one round trip.

use std::borrow::Cow;

use crate::process::{CommandError, RewardProcess};
use crate::protocol::Request;
use crate::{Reward, Scope};

/// A run's reward: started by [`RewardSpec::start`](crate::RewardSpec::start).
#[derive(Debug)]
pub enum RewardFunction {
    BuiltIn(Box<dyn Reward>),
    /// The program, and which text it is sent.
    Command(Box<RewardProcess>, Scope),
}

impl RewardFunction {
    /// The reward of every completion of `batch` (the request a reward program is sent, with
    /// the bare completions), in order. A built-in reward cannot fail; a program can, and then
    /// it is killed and every later call fails too.
    pub fn score(&self, batch: &Request) -> Result<Vec<f32>, CommandError> {
        let pairs = batch.prompts.iter().zip(batch.completions);
        match self {
            RewardFunction::BuiltIn(reward) => Ok(pairs.map(|(p, c)| reward.score(p, c)).collect()),
            RewardFunction::Command(process, scope) => {
                let texts: Cow<[String]> = match scope {
                    Scope::Completion => Cow::Borrowed(batch.completions),
                    Scope::FullText => pairs.map(|(p, c)| scope.text(p, c).into_owned()).collect(),
                };
                process.score(&Request {
                    completions: &texts,
                    ..*batch
                })
            }
        }
    }
}
