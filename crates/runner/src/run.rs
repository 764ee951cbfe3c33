//! One run: the RL loop of DESIGN.md — sample → score → advantages → loss → backward → step —
//! with the probe every `probe.every` steps, writing `metrics.csv`, `probe.csv` and
//! `samples.jsonl` as it goes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Context;
use burn::optim::{AdamConfig, AdamWConfig, SgdConfig};
use burn::prelude::*;
use pglab_estimator::{Advantages, flatten_gradients, kl_estimates, loss_weights, shape_rewards};
use pglab_model::{
    Checkpoint, Gpt, Rollout, Tokenizer, sample, sequence_logprobs, sharded_logprobs,
};
use pglab_report::{CsvLog, FINAL_WINDOW, JsonLines, RunResult, SampleRecord, Status, StepRecord};
use pglab_reward::Reward;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::experiment::{OptimizerKind, RunConfig};
use crate::probe::Probe;

/// Where `model = "default"` lives.
pub const DEFAULT_MODEL_DIR: &str = "models/default";

pub fn model_dir(model: &str) -> PathBuf {
    match model {
        "default" => PathBuf::from(DEFAULT_MODEL_DIR),
        dir => PathBuf::from(dir),
    }
}

/// What stays fixed during a run: its settings, tokenizer, reward and prompts.
pub struct Policy {
    pub config: RunConfig,
    pub tokenizer: Tokenizer,
    pub reward: Box<dyn Reward>,
    /// Token ids of each configured prompt.
    pub prompt_ids: Vec<Vec<u32>>,
    /// The autodiff device the policy trains on.
    pub device: Device,
}

impl Policy {
    /// The N = P·k prompt rows of `step`: prompts in turn, each repeated k times (prompt-major).
    pub fn step_prompts(&self, step: usize) -> Vec<Vec<u32>> {
        let t = &self.config.train;
        (0..t.prompts_per_step)
            .flat_map(|j| {
                let prompt =
                    &self.prompt_ids[(step * t.prompts_per_step + j) % self.prompt_ids.len()];
                std::iter::repeat_n(prompt.clone(), t.k)
            })
            .collect()
    }

    /// The reward of every completion (decoded text, with its prompt's text).
    pub fn score(&self, rollout: &Rollout) -> anyhow::Result<Vec<f32>> {
        (0..rollout.len())
            .map(|i| {
                let (prompt, completion) = self.texts(rollout, i)?;
                Ok(self.reward.score(&prompt, &completion))
            })
            .collect()
    }

    pub fn texts(&self, rollout: &Rollout, i: usize) -> anyhow::Result<(String, String)> {
        let prompt = &rollout.sequences[i][..rollout.prompt_lens[i]];
        Ok((
            self.tokenizer.decode(prompt)?,
            self.tokenizer.decode(rollout.completion(i))?,
        ))
    }
}

/// Runs `config` into `dir` (which must exist and be empty of results). Stops early, with
/// `Ok(None)`, when `stop` is raised; a NaN/inf loss or reward ends the run as `Diverged`.
pub fn run(
    config: &RunConfig,
    dir: &Path,
    base: &Device,
    stop: &AtomicBool,
    progress: &dyn Fn(usize, usize, f64),
) -> anyhow::Result<Option<RunResult>> {
    let start = Instant::now();
    let device = base.clone().autodiff();
    let checkpoint = Checkpoint::load(&model_dir(&config.model), &device)?;
    let prompt_ids = config
        .train
        .prompts
        .iter()
        .map(|p| checkpoint.tokenizer.encode(p))
        .collect::<Result<Vec<_>, _>>()?;
    let policy = Policy {
        config: config.clone(),
        tokenizer: checkpoint.tokenizer,
        reward: config.reward.build()?,
        prompt_ids,
        device: device.clone(),
    };
    let mut model = checkpoint.model;
    // The frozen starting model, for the KL penalty.
    let reference = (config.train.kl_coef > 0.0).then(|| model.valid());
    let t = &config.train;
    let mut advantages = Advantages::new(t.estimator, t.k, t.advantage_options())?;
    let mut probe = Probe {
        estimators: config
            .probe
            .estimators
            .iter()
            .map(|&e| Advantages::new(e, t.k, t.advantage_options()))
            .collect::<Result<_, _>>()?,
    };
    let mut optimizer = match t.optimizer {
        OptimizerKind::Sgd => SgdConfig::new().init(),
        OptimizerKind::Adam => AdamConfig::new().init(),
        OptimizerKind::Adamw => AdamWConfig::new()
            .with_weight_decay(t.weight_decay as f32)
            .init(),
    };
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut metrics = CsvLog::create(&dir.join("metrics.csv"))?;
    let mut probes = CsvLog::create(&dir.join("probe.csv"))?;
    let mut samples = JsonLines::create(&dir.join("samples.jsonl"))?;

    let steps = t.total_steps();
    let n = t.sequences_per_step();
    let mut rewards_by_step: Vec<f64> = Vec::with_capacity(steps);
    let mut outcome = (Status::Done, String::new());
    for step in 0..steps {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let generations = (step + 1) * n;
        if config.probe.every > 0 && step % config.probe.every == 0 {
            // Its own RNG stream: turning the probe on does not change the training run.
            let mut probe_rng =
                StdRng::seed_from_u64(config.seed ^ (0x9E37_79B9_7F4A_7C15 ^ step as u64));
            for record in probe.run(&policy, &model, step, step * n, &mut probe_rng)? {
                probes.write(&record)?;
            }
        }
        let step_start = Instant::now();
        let (record, rollout, rewards, next) = rl_step(
            &policy,
            model,
            &mut advantages,
            &mut optimizer,
            reference.as_ref(),
            step,
            &mut rng,
        )?;
        model = next;
        probe.observe(&rewards)?;
        let mut record = record;
        record.generations = generations;
        record.tokens_per_s = rollout
            .sequences
            .iter()
            .zip(&rollout.prompt_lens)
            .map(|(s, p)| s.len() - p)
            .sum::<usize>() as f64
            / step_start.elapsed().as_secs_f64();
        record.elapsed_s = start.elapsed().as_secs_f64();
        metrics.write(&record)?;
        let log_every = config.logging.samples_every;
        if log_every > 0 && (step % log_every == 0 || step + 1 == steps) {
            for (i, &reward) in rewards.iter().enumerate().take(config.logging.samples) {
                let (prompt, completion) = policy.texts(&rollout, i)?;
                samples.write(&SampleRecord {
                    step,
                    prompt: &prompt,
                    completion: &completion,
                    reward,
                })?;
            }
        }
        progress(step + 1, steps, record.reward_mean);
        rewards_by_step.push(record.reward_mean);
        let finite = record.loss.is_finite()
            && record.grad_norm.is_finite()
            && record.reward_mean.is_finite();
        if !finite {
            outcome = (
                Status::Diverged,
                format!("non-finite loss or gradient at step {step}"),
            );
            break;
        }
    }
    let tail = &rewards_by_step[rewards_by_step.len().saturating_sub(FINAL_WINDOW)..];
    Ok(Some(RunResult {
        config_hash: String::new(),
        status: outcome.0,
        reason: outcome.1,
        final_reward: (!tail.is_empty()).then(|| tail.iter().sum::<f64>() / tail.len() as f64),
        best_reward: rewards_by_step
            .iter()
            .copied()
            .filter(|r| r.is_finite())
            .reduce(f64::max),
        steps: rewards_by_step.len(),
        generations: rewards_by_step.len() * n,
        wall_s: start.elapsed().as_secs_f64(),
    }))
}

type Optim = burn::optim::ModuleOptimizer;

/// DESIGN.md's RL step, top to bottom. Returns the step's record (generations and timing
/// filled in by the caller), the rollout, its rewards and the updated model.
fn rl_step(
    policy: &Policy,
    model: Gpt,
    advantages: &mut Advantages,
    optimizer: &mut Optim,
    reference: Option<&Gpt>,
    step: usize,
    rng: &mut StdRng,
) -> anyhow::Result<(StepRecord, Rollout, Vec<f32>, Gpt)> {
    let config = &policy.config;
    let t = &config.train;
    // 1. Sample N = P·k completions, without autodiff.
    let rollout = sample(
        &model.valid(),
        &policy.step_prompts(step),
        &config.sampling,
        rng,
    )?;
    // 2. Score them.
    let rewards = policy.score(&rollout)?;
    // The log-prob pass: the only one that records a graph, in parallel shards of rows.
    let batch = rollout.token_batch(t.loss_includes_prompt, &policy.device)?;
    let logprobs = sharded_logprobs(&model, &batch, true)?;
    let seq_logp = logprobs.sum();
    let n_scored = logprobs.n_scored();
    let entropy = mean(&logprobs.mean_entropy().context("entropy")?);
    // Optional KL shaping against the starting model (no gradient through it).
    let (shaped, kl) = match reference {
        Some(reference) => {
            let ref_batch = rollout.token_batch(
                t.loss_includes_prompt,
                &policy.device.clone().without_autodiff(),
            )?;
            let ref_logp = host(sequence_logprobs(reference, &ref_batch, false)?.sum);
            let kl = kl_estimates(&seq_logp, &ref_logp, &n_scored, t.token_reduction)?;
            (shape_rewards(&rewards, &kl, t.kl_coef)?, Some(mean(&kl)))
        }
        None => (rewards.clone(), None),
    };
    // 3. Advantages.
    let advantage = advantages.step(&shaped)?;
    // 4. The policy loss L = Σ_i w_i s_i and its gradient.
    let weights = loss_weights(&n_scored, &advantage, t.k, &t.loss_options())?;
    let loss_value: f64 = weights
        .iter()
        .zip(&seq_logp)
        .map(|(&w, &s)| w as f64 * s as f64)
        .sum();
    let grads = logprobs.backward(&weights)?;
    let grad_norm = flatten_gradients(&model, &grads)?
        .iter()
        .map(|&g| (g as f64).powi(2))
        .sum::<f64>()
        .sqrt();
    // 5. One optimiser step.
    let model = optimizer.step(t.lr, model, grads);

    let record = StepRecord {
        step,
        generations: 0,
        reward_mean: mean(&rewards),
        reward_std: std(&rewards),
        reward_min: rewards.iter().copied().fold(f32::INFINITY, f32::min) as f64,
        reward_max: rewards.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64,
        frac_zero_std_groups: frac_constant_groups(&rewards, t.k),
        adv_mean: mean(&advantage),
        adv_std: std(&advantage),
        loss: loss_value,
        grad_norm,
        kl,
        entropy,
        tokens_per_s: 0.0,
        elapsed_s: 0.0,
    };
    Ok((record, rollout, rewards, model))
}

fn host(t: Tensor<1>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap_or_default()
}

fn mean(xs: &[f32]) -> f64 {
    xs.iter().map(|&x| x as f64).sum::<f64>() / xs.len().max(1) as f64
}

/// Bessel-corrected sample standard deviation (0 for fewer than two values).
fn std(xs: &[f32]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    (xs.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt()
}

fn frac_constant_groups(rewards: &[f32], k: usize) -> f64 {
    let groups: Vec<&[f32]> = rewards.chunks(k.max(1)).collect();
    let constant = groups
        .iter()
        .filter(|g| g.iter().all(|&r| r == g[0]))
        .count();
    constant as f64 / groups.len().max(1) as f64
}
