//! One run: the RL loop — one [`rl_step`] after another, through a [`Learner`] — with the
//! probe at the steps `[probe]` names, writing `metrics.csv`, `probe.csv`, `samples.jsonl` and a
//! TensorBoard event file as it goes.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::prelude::*;
use pglab_estimator::Advantages;
use pglab_estimator::stats::mean;
use pglab_model::{Progress, Transformer};
use pglab_report::tensorboard::{EventFile, HParam};
use pglab_report::{CsvLog, FINAL_WINDOW, JsonLines, RunResult, SampleRecord, Status};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::experiment::{RunConfig, TrainConfig};
use crate::hash::sha256_hex;
use crate::rl::environment::Environment;
use crate::rl::probe::Probe;
use crate::rl::step::{Optimizer, Step, optimizer, rl_step};

/// Trains `config` into `dir` (which must exist and be empty of results), reporting every step
/// and its mean reward to `progress`; `hparams` are the run's grid values, for TensorBoard.
/// Stops early, with `Ok(None)`, when `stop` is raised; a NaN/inf loss or reward ends the run as
/// `Diverged`.
pub fn train(
    config: &RunConfig,
    dir: &Path,
    hparams: &[(String, HParam)],
    base: &Device,
    stop: &AtomicBool,
    progress: &mut dyn Progress,
) -> anyhow::Result<Option<RunResult>> {
    let start = Instant::now();
    let (environment, mut policy) = Environment::load(config, base, &dir.join("reward.log"))?;
    let t = &config.train;
    let mut learner = Learner::new(t, config.seed, start)?;
    let mut probe = Probe::new(config)?;
    let run_key = probe_key(config)?;
    let mut metrics = CsvLog::create(&dir.join("metrics.csv"))?;
    let mut probes = CsvLog::create(&dir.join("probe.csv"))?;
    let mut samples = JsonLines::create(&dir.join("samples.jsonl"))?;
    let mut events = match config.logging.tensorboard {
        true => Some(EventFile::create(dir)?),
        false => None,
    };
    if let Some(events) = &mut events {
        events.session_start(hparams)?;
    }

    let steps = t.total_steps();
    let mut rewards_by_step: Vec<f64> = Vec::with_capacity(steps);
    let mut outcome = (Status::Done, String::new());
    for step in 0..steps {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let generations = learner.generations();
        if t.generations.is_some_and(|budget| generations >= budget) {
            break;
        }
        if config.probe.at(step) {
            // Its own RNG stream: turning the probe on does not change the training run. The
            // stream depends on the run's whole settings, not only its seed, so runs that share
            // a seed (other estimators or learning rates) probe independent samples: the run
            // is the unit of replication.
            let mut probe_rng = StdRng::seed_from_u64(run_key ^ step as u64);
            for record in probe.run(&environment, &policy, step, generations, &mut probe_rng)? {
                probes.write(&record)?;
                if let Some(events) = &mut events {
                    events.probe(&record)?;
                }
            }
        }
        let Step {
            policy: next,
            record,
            rollout,
            scores,
            rewards,
        } = learner.step(&environment, policy)?;
        policy = next;
        probe.observe(&rewards)?;
        metrics.write(&record)?;
        if let Some(events) = &mut events {
            events.step(&record)?;
        }
        let log_every = config.logging.samples_every;
        if log_every > 0 && (step % log_every == 0 || step + 1 == steps) {
            let mut texts = Vec::new();
            for (i, &reward) in scores.iter().enumerate().take(config.logging.samples) {
                let (prompt, completion) = environment.texts(&rollout, i)?;
                samples.write(&SampleRecord {
                    step,
                    prompt: &prompt,
                    completion: &completion,
                    reward,
                })?;
                texts.push(format!("**{prompt}**{completion} (reward {reward})"));
            }
            if let Some(events) = &mut events {
                events.samples(record.generations, &texts)?;
            }
        }
        progress.step(
            step + 1,
            steps,
            &format!("reward {:.2}", record.reward_mean),
        );
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
    let result = RunResult {
        config_hash: String::new(),
        status: outcome.0,
        reason: outcome.1,
        final_reward: (!tail.is_empty()).then(|| mean(tail)),
        best_reward: rewards_by_step
            .iter()
            .copied()
            .filter(|r| r.is_finite())
            .reduce(f64::max),
        steps: rewards_by_step.len(),
        generations: learner.generations(),
        wall_s: start.elapsed().as_secs_f64(),
        stderr_tail: Vec::new(),
    };
    if let Some(events) = &mut events {
        events.session_end(
            result.generations,
            result.final_reward,
            result.best_reward,
            result.status == Status::Done,
        )?;
    }
    Ok(Some(result))
}

/// What a run carries from one RL step to the next: the estimator's state (reinforce_ema's
/// baseline), the optimiser's, the sampling RNG stream and the completions sampled so far.
pub struct Learner {
    advantages: Advantages,
    optimizer: Optimizer,
    rng: StdRng,
    step: usize,
    generations: usize,
    start: Instant,
}

impl Learner {
    /// A run's learner before its first step: `train`'s estimator and optimiser, samples drawn
    /// from `seed`'s stream; the steps' `elapsed_s` count from `start`.
    pub fn new(train: &TrainConfig, seed: u64, start: Instant) -> anyhow::Result<Self> {
        Ok(Self {
            advantages: Advantages::new(train.estimator, train.k, train.advantage_options())?,
            optimizer: optimizer(train),
            rng: StdRng::seed_from_u64(seed),
            step: 0,
            generations: 0,
            start,
        })
    }

    /// The run's next RL step from `policy`.
    pub fn step(&mut self, environment: &Environment, policy: Transformer) -> anyhow::Result<Step> {
        let step = rl_step(
            environment,
            policy,
            &mut self.advantages,
            &mut self.optimizer,
            self.step,
            self.generations,
            &mut self.rng,
            self.start,
        )?;
        self.step += 1;
        self.generations = step.record.generations;
        Ok(step)
    }

    /// Completions sampled so far. With dynamic sampling a step may sample more than P·k, and a
    /// `generations` budget then ends the run in fewer steps than `steps` counts.
    pub fn generations(&self) -> usize {
        self.generations
    }
}

/// 64 bits of the SHA-256 of the run's settings: what seeds its probe's samples.
/// Which estimators (and token reductions) are probed is left out: the probe's samples, and so every estimator's
/// figures, stay the same when one is added to or dropped from the probe (the default sweep
/// went from five to nine without resampling the five).
fn probe_key(config: &RunConfig) -> anyhow::Result<u64> {
    let mut keyed = config.clone();
    keyed.probe.estimators.clear();
    keyed.probe.token_reductions.clear();
    let hex = sha256_hex(toml::to_string(&keyed)?.as_bytes());
    Ok(u64::from_str_radix(&hex[..16], 16)?)
}
