//! The environment of a run, in RL's sense: it hands out the prompts of each step and turns
//! completions into rewards. It holds what stays fixed while the policy trains: the run's
//! settings, the tokenizer, the reward function (a built-in one, or the user's program, started
//! here and ended when the environment is dropped), the prompts' token ids, and the frozen
//! starting model that the KL penalty measures against.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use pglab_estimator::LossOptions;
use pglab_model::{Checkpoint, Rollout, Tokenizer, Transformer, greedy};
use pglab_reward::protocol::Phase;
use pglab_reward::{Request, RewardFunction};

use crate::experiment::RunConfig;

/// Where `model = "default"` lives.
pub const DEFAULT_MODEL_DIR: &str = "models/default";

pub fn model_dir(model: &str) -> PathBuf {
    match model {
        "default" => PathBuf::from(DEFAULT_MODEL_DIR),
        dir => PathBuf::from(dir),
    }
}

pub struct Environment {
    pub config: RunConfig,
    pub tokenizer: Tokenizer,
    pub reward: RewardFunction,
    /// Token ids of each configured prompt.
    pub prompt_ids: Vec<Vec<u32>>,
    /// The autodiff device the policy trains on.
    pub device: Device,
    /// The starting model, frozen (no autodiff), when `kl_coef > 0`: rewards are shaped by
    /// the policy's KL from it.
    pub reference: Option<Transformer>,
}

impl Environment {
    /// Loads `config`'s model onto `base` with autodiff and starts its reward (a reward
    /// command's stderr goes to `reward_log`): the environment, and the policy it starts from.
    pub fn load(
        config: &RunConfig,
        base: &Device,
        reward_log: &Path,
    ) -> anyhow::Result<(Self, Transformer)> {
        let device = base.clone().autodiff();
        let checkpoint = Checkpoint::load(&model_dir(&config.model), &device)?;
        let prompt_ids = config
            .train
            .prompts
            .iter()
            .map(|p| checkpoint.tokenizer.encode_prompt(p))
            .collect::<Result<Vec<_>, _>>()?;
        let policy = checkpoint.model;
        let environment = Self {
            config: config.clone(),
            tokenizer: checkpoint.tokenizer,
            reward: config.reward.start(&config.experiment_dir, reward_log)?,
            prompt_ids,
            device,
            reference: (config.train.kl_coef > 0.0).then(|| policy.valid()),
        };
        Ok((environment, policy))
    }

    /// The loss's options, with the sampling budget `max_tokens` divides by.
    pub fn loss_options(&self) -> LossOptions {
        self.config
            .train
            .loss_options(self.config.sampling.max_new_tokens)
    }

    /// The N = P·k prompt rows of `step`: prompts in turn, each repeated k times (prompt-major).
    pub fn prompts(&self, step: usize) -> Vec<Vec<u32>> {
        let p = self.config.train.prompts_per_step;
        self.prompt_rows(step * p..(step + 1) * p)
    }

    /// The rows of the `indices`-th prompts in the run's order (the configured prompts in turn,
    /// over and over), each repeated k times.
    pub fn prompt_rows(&self, indices: std::ops::Range<usize>) -> Vec<Vec<u32>> {
        let k = self.config.train.k;
        indices
            .flat_map(|j| {
                let prompt = &self.prompt_ids[j % self.prompt_ids.len()];
                std::iter::repeat_n(prompt.clone(), k)
            })
            .collect()
    }

    /// The reward function's score of every completion (decoded text, with its prompt's text),
    /// before any KL shaping: one request for the whole batch. `step` and `phase` tell a reward
    /// command which batch this is.
    pub fn score(&self, rollout: &Rollout, step: usize, phase: Phase) -> anyhow::Result<Vec<f32>> {
        let (prompts, completions): (Vec<String>, Vec<String>) = (0..rollout.len())
            .map(|i| self.texts(rollout, i))
            .collect::<anyhow::Result<Vec<_>>>()?
            .into_iter()
            .unzip();
        Ok(self.reward.score(&Request {
            step,
            seed: self.config.seed,
            phase,
            prompts: &prompts,
            completions: &completions,
        })?)
    }

    /// ReMax's baseline for each group of `rollout` (k rows per prompt): the reward of one
    /// greedy completion of the group's prompt under `policy`, with the run's sampling length
    /// and end-of-text settings, scored as one batch of `Phase::Greedy`.
    pub fn greedy_scores(
        &self,
        policy: &Transformer,
        rollout: &Rollout,
        step: usize,
    ) -> anyhow::Result<Vec<f32>> {
        let k = self.config.train.k;
        let prompts: Vec<Vec<u32>> = (0..rollout.len())
            .step_by(k)
            .map(|i| rollout.prompt(i).to_vec())
            .collect();
        self.greedy_scores_of(policy, &prompts, step)
    }

    /// The reward of one greedy completion of each of `prompts` under `policy`, scored as one
    /// batch of `Phase::Greedy`.
    pub fn greedy_scores_of(
        &self,
        policy: &Transformer,
        prompts: &[Vec<u32>],
        step: usize,
    ) -> anyhow::Result<Vec<f32>> {
        let completions = greedy(&policy.valid(), prompts, &self.config.sampling)?;
        self.score(&completions, step, Phase::Greedy)
    }

    /// The prompt's and the completion's text of row `i`.
    pub fn texts(&self, rollout: &Rollout, i: usize) -> anyhow::Result<(String, String)> {
        let prompt = rollout.prompt(i);
        Ok((
            self.tokenizer.decode_prompt(prompt)?,
            self.tokenizer.decode(rollout.completion(i))?,
        ))
    }
}
