//! Dynamic sampling (DAPO, Yu et al. 2025): a prompt group whose k rewards are all equal gives
//! a group baseline nothing to compare, so every advantage in it is 0 and it spends a batch's
//! place on no signal. With `train.resample_constant_groups = N` such groups are dropped and
//! replaced by groups of the prompts that come next, up to N extra sampling rounds per step;
//! if the batch is still short after N rounds, the dropped groups fill it, first dropped first,
//! so its shape (P groups of k) never changes.
//!
//! Every completion sampled counts in the run's `generations`, kept or not: runs compared at
//! equal generations paid for the same sampling.

use burn::prelude::*;
use pglab_model::{Rollout, Transformer, sample};
use pglab_reward::protocol::Phase;
use rand::rngs::StdRng;

use crate::rl::environment::Environment;

/// A step's batch after dynamic sampling.
pub struct Resampled {
    pub rollout: Rollout,
    pub scores: Vec<f32>,
    /// Completions sampled, the first round's included.
    pub sampled: usize,
    /// Groups of equal rewards left out of the batch.
    pub groups_dropped: usize,
    /// Sampling rounds after the first.
    pub rounds: usize,
}

/// One prompt's k completions and their scores.
struct Group {
    prompt_lens: Vec<usize>,
    sequences: Vec<Vec<u32>>,
    scores: Vec<f32>,
}

impl Group {
    fn is_constant(&self) -> bool {
        self.scores.iter().all(|&r| r == self.scores[0])
    }
}

/// Replaces `rollout`'s constant groups (the first sampling round of `step`, scored `scores`)
/// by fresh groups of the prompts after the step's own, sampled from `policy` with `rng`.
pub fn resample_constant_groups(
    environment: &Environment,
    policy: &Transformer,
    rollout: Rollout,
    scores: Vec<f32>,
    step: usize,
    rng: &mut StdRng,
) -> anyhow::Result<Resampled> {
    let t = &environment.config.train;
    let (k, wanted) = (t.k, t.prompts_per_step);
    let mut sampled = rollout.len();
    let (mut kept, mut constant) = (Vec::new(), Vec::new());
    sort_groups(rollout, scores, k, &mut kept, &mut constant);
    let mut next_prompt = (step + 1) * wanted;
    let mut rounds = 0;
    while kept.len() < wanted && rounds < t.resample_constant_groups {
        let missing = wanted - kept.len();
        let prompts = environment.prompt_rows(next_prompt..next_prompt + missing);
        next_prompt += missing;
        let more = sample(&policy.valid(), &prompts, &environment.config.sampling, rng)?;
        let more_scores = environment.score(&more, step, Phase::Train)?;
        sampled += more.len();
        rounds += 1;
        sort_groups(more, more_scores, k, &mut kept, &mut constant);
    }
    let short = wanted.saturating_sub(kept.len());
    let groups_dropped = constant.len() - short.min(constant.len());
    kept.extend(constant.into_iter().take(short));
    kept.truncate(wanted);
    let mut batch = Rollout {
        prompt_lens: Vec::with_capacity(wanted * k),
        sequences: Vec::with_capacity(wanted * k),
    };
    let mut batch_scores = Vec::with_capacity(wanted * k);
    for group in kept {
        batch.prompt_lens.extend(group.prompt_lens);
        batch.sequences.extend(group.sequences);
        batch_scores.extend(group.scores);
    }
    Ok(Resampled {
        rollout: batch,
        scores: batch_scores,
        sampled,
        groups_dropped,
        rounds,
    })
}

/// Splits a prompt-major rollout into its groups of k, each into `kept` or `constant`.
fn sort_groups(
    rollout: Rollout,
    scores: Vec<f32>,
    k: usize,
    kept: &mut Vec<Group>,
    constant: &mut Vec<Group>,
) {
    let groups = rollout
        .prompt_lens
        .chunks(k)
        .zip(rollout.sequences.chunks(k))
        .zip(scores.chunks(k));
    for ((prompt_lens, sequences), scores) in groups {
        let group = Group {
            prompt_lens: prompt_lens.to_vec(),
            sequences: sequences.to_vec(),
            scores: scores.to_vec(),
        };
        if group.is_constant() {
            constant.push(group);
        } else {
            kept.push(group);
        }
    }
}
