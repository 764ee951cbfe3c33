//! The experiment file's schema: one run's settings as serde types, with their defaults. Unknown
//! keys are rejected (`deny_unknown_fields`), so a misspelt key is an error, not a silent default.

use std::path::PathBuf;

use pglab_estimator::{
    AdvantageOptions, ClipRange, Estimator, GroupReduction, LossOptions, Objective, TokenReduction,
};
use pglab_model::SamplingConfig;
use pglab_report::SeedSubset;
use pglab_reward::RewardSpec;
use serde::{Deserialize, Serialize};

use crate::device::Backend;

/// One run's complete settings. An experiment file is this plus `[grid]` and `[sweep]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// `"default"` (the embedded model `pglab pretrain` builds) or a model directory.
    #[serde(default = "default_model")]
    pub model: String,
    #[serde(default = "default_backend")]
    pub backend: Backend,
    /// Seeds sampling; a grid key like any other.
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub sampling: SamplingConfig,
    pub train: TrainConfig,
    #[serde(default)]
    pub reward: RewardSpec,
    #[serde(default)]
    pub probe: ProbeConfig,
    #[serde(default)]
    pub logging: LoggingConfig,
    /// The experiment file's directory, where a reward command runs (its relative paths resolve
    /// against it). Not a setting: not written to `config.toml`, not hashed, so a moved checkout
    /// redoes no run.
    #[serde(skip)]
    pub experiment_dir: PathBuf,
}

/// The RL loop's settings (`[train]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub estimator: Estimator,
    #[serde(default)]
    pub optimizer: OptimizerKind,
    pub lr: f64,
    /// AdamW's decoupled weight decay.
    #[serde(default)]
    pub weight_decay: f64,
    /// Prompts, used in turn, `prompts_per_step` per step.
    pub prompts: Vec<String>,
    #[serde(default = "one")]
    pub prompts_per_step: usize,
    /// Completions per prompt.
    pub k: usize,
    /// Optimiser steps; or give `generations`, a budget of sampled completions.
    pub steps: Option<usize>,
    pub generations: Option<usize>,
    #[serde(default)]
    pub token_reduction: TokenReduction,
    #[serde(default)]
    pub group_reduction: GroupReduction,
    #[serde(default)]
    pub loss_includes_prompt: bool,
    /// β of the KL penalty against the starting model (0: off).
    #[serde(default)]
    pub kl_coef: f32,
    /// reinforce_ema's decay.
    #[serde(default = "ema_decay")]
    pub ema_decay: f32,
    /// ε in grpo's and reinforce_pp's denominators.
    #[serde(default = "eps")]
    pub eps: f32,
    // The keys below are left out of a run's saved settings at their defaults, so that the
    // settings, hash and probe stream of every run written before they existed stay the same.
    /// What each update minimises (`pglab_estimator::Objective`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub objective: Objective,
    /// ε_low and ε_high of the objectives' clip range [1 − ε_low, 1 + ε_high].
    #[serde(default = "clip", skip_serializing_if = "is_default_clip")]
    pub clip_low: f64,
    #[serde(default = "clip", skip_serializing_if = "is_default_clip")]
    pub clip_high: f64,
    /// Passes over each sampled batch.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub epochs: usize,
    /// Optimiser steps per pass, each over a contiguous share of the step's prompt groups.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub minibatches: usize,
    /// Dynamic sampling: at most this many extra sampling rounds per step to replace groups
    /// whose k rewards are all equal (0: off).
    #[serde(default, skip_serializing_if = "is_default")]
    pub resample_constant_groups: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    #[default]
    Sgd,
    Adam,
    Adamw,
}

/// The gradient-variance probe (docs/ARCHITECTURE.md, "One gradient-variance probe"): at the
/// steps it names, M = `batches` fresh batches, every estimator's gradient from the same samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbeConfig {
    /// Steps between probes, from step 0; 0 turns this schedule off.
    pub every: usize,
    /// Steps to probe besides every `every`-th: `steps = [0]` with `every = 0` probes the start
    /// only (the same weights in every run, so every run measures one estimand).
    pub steps: Vec<usize>,
    pub batches: usize,
    /// The estimators probed; by default every one the run's batch shape allows.
    pub estimators: Vec<Estimator>,
    /// Token reductions to probe every estimator under besides the run's own (which always
    /// comes first), from the same samples: `["sum", "mean", "batch_mean", "max_tokens"]`.
    /// Left out of a run's saved settings when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub token_reductions: Vec<TokenReduction>,
    /// Probe only the runs of these seeds (`[0, 1]`) or of the sweep's n lowest (`2`); every run
    /// when absent. A probe costs several training runs' time, and at the start one seed's
    /// runs already measure what every run would.
    pub seeds: Option<SeedSubset>,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            every: 0,
            steps: Vec::new(),
            batches: 8,
            estimators: Estimator::ALL.to_vec(),
            token_reductions: Vec::new(),
            seeds: None,
        }
    }
}

impl ProbeConfig {
    /// Whether the probe runs before training step `step`.
    pub fn at(&self, step: usize) -> bool {
        (self.every > 0 && step.is_multiple_of(self.every)) || self.steps.contains(&step)
    }

    /// Whether it runs at all.
    pub fn is_on(&self) -> bool {
        self.every > 0 || !self.steps.is_empty()
    }

    /// The reductions the probe measures under: the run's `own` first, then the others listed.
    pub fn reductions(&self, own: TokenReduction) -> Vec<TokenReduction> {
        let mut reductions = vec![own];
        for &r in &self.token_reductions {
            if !reductions.contains(&r) {
                reductions.push(r);
            }
        }
        reductions
    }

    /// Off: what a run whose seed `seeds` leaves out gets.
    pub fn turn_off(&mut self) {
        self.every = 0;
        self.steps.clear();
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    /// Steps between `samples.jsonl` records (0: never).
    pub samples_every: usize,
    /// Completions recorded each time.
    pub samples: usize,
    /// A TensorBoard event file in each run's directory (`tensorboard --logdir results/<sweep>`).
    pub tensorboard: bool,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            samples_every: 10,
            samples: 4,
            tensorboard: true,
        }
    }
}

/// The `[sweep]` table: where results go.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SweepSection {
    /// Directory name under `out`; default: the experiment file's stem.
    pub name: Option<String>,
    /// Default: `results`.
    pub out: Option<PathBuf>,
}

fn default_model() -> String {
    "default".into()
}
fn default_backend() -> Backend {
    Backend::Auto
}
fn one() -> usize {
    1
}
/// PPO's usual ε.
const DEFAULT_CLIP: f64 = 0.2;
fn clip() -> f64 {
    DEFAULT_CLIP
}
fn is_default_clip(x: &f64) -> bool {
    *x == DEFAULT_CLIP
}
fn is_one(n: &usize) -> bool {
    *n == 1
}
fn is_default<T: Default + PartialEq>(x: &T) -> bool {
    *x == T::default()
}
fn ema_decay() -> f32 {
    AdvantageOptions::default().ema_decay
}
fn eps() -> f32 {
    AdvantageOptions::default().eps
}

impl TrainConfig {
    /// Completions generated per step: P·k sampled, and for ReMax one greedy completion per
    /// prompt besides, so that runs compared at equal generations paid for the same decoding.
    pub fn sequences_per_step(&self) -> usize {
        let greedy = if self.estimator.needs_greedy() {
            self.prompts_per_step
        } else {
            0
        };
        self.prompts_per_step * self.k + greedy
    }

    /// Steps to run: `steps`, or enough to spend the `generations` budget.
    pub fn total_steps(&self) -> usize {
        match (self.steps, self.generations) {
            (Some(steps), _) => steps,
            (None, Some(g)) => g.div_ceil(self.sequences_per_step().max(1)),
            (None, None) => 0,
        }
    }

    /// The loss's options; `max_new_tokens` is the sampling budget (`sampling.max_new_tokens`)
    /// that `token_reduction = "max_tokens"` divides by.
    pub fn loss_options(&self, max_new_tokens: usize) -> LossOptions {
        LossOptions {
            token_reduction: self.token_reduction,
            group_reduction: self.group_reduction,
            max_new_tokens,
        }
    }

    pub fn clip_range(&self) -> ClipRange {
        ClipRange {
            low: self.clip_low,
            high: self.clip_high,
        }
    }

    /// Optimiser steps per sampled batch.
    pub fn updates_per_batch(&self) -> usize {
        self.epochs * self.minibatches
    }

    pub fn advantage_options(&self) -> AdvantageOptions {
        AdvantageOptions {
            eps: self.eps,
            ema_decay: self.ema_decay,
        }
    }
}
