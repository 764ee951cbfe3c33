//! Validation: what serde cannot check (ranges and combinations), once, on the typed settings.
//! Each config struct is destructured field by field, so a new field is a compile error here
//! until someone decides how to check it (or writes `field: _` to say it needs no check).

use pglab_estimator::{
    Advantages, BaselineInputs, Estimator, EstimatorError, Objective, TokenReduction,
};
use pglab_model::{ModelError, SamplingConfig};
use pglab_reward::RewardSpec;

use super::schema::{LoggingConfig, ProbeConfig, RunConfig, TrainConfig};

/// A failed check: (dotted key, message).
type Invalid = (String, String);

fn invalid(key: &str, message: impl Into<String>) -> Result<(), Invalid> {
    Err((key.to_string(), message.into()))
}

/// Checks what serde cannot: ranges and combinations. Returns (dotted key, message).
pub fn validate(config: &RunConfig) -> Result<(), Invalid> {
    let RunConfig {
        // Whether the model loads is checked before a sweep starts (it needs the disk).
        model: _,
        // Any backend parses; whether it is compiled in is checked when it is selected.
        backend: _,
        seed: _,
        sampling,
        train,
        reward,
        probe,
        logging:
            LoggingConfig {
                // Any count is meaningful (0: never).
                samples_every: _,
                samples: _,
                tensorboard: _,
            },
        // Set by the loader, not by the user.
        experiment_dir: _,
    } = config;
    validate_train(train)?;
    validate_sampling(sampling)?;
    validate_reward(reward)?;
    validate_probe(probe, train)
}

fn validate_train(train: &TrainConfig) -> Result<(), Invalid> {
    let TrainConfig {
        estimator,
        optimizer: _,
        lr,
        weight_decay,
        prompts,
        prompts_per_step,
        // Checked with the estimator, which needs enough completions (`check_estimator`).
        k: _,
        steps,
        generations,
        token_reduction: _,
        group_reduction: _,
        loss_includes_prompt: _,
        kl_coef,
        // Checked with the estimator, which uses them.
        ema_decay: _,
        eps: _,
        // Checked together in `validate_updates`.
        objective: _,
        clip_low: _,
        clip_high: _,
        epochs: _,
        minibatches: _,
        resample_constant_groups: _,
    } = train;
    if !(lr.is_finite() && *lr > 0.0) {
        return invalid("train.lr", format!("{lr} must be finite and > 0"));
    }
    if prompts.is_empty() || prompts.iter().any(|p| p.is_empty()) {
        return invalid("train.prompts", "give at least one non-empty prompt");
    }
    if *prompts_per_step == 0 {
        return invalid("train.prompts_per_step", "0 must be at least 1");
    }
    if let Err((key, e)) = check_estimator(*estimator, train) {
        return invalid(key.unwrap_or("train.k"), e);
    }
    match (steps, generations) {
        (Some(_), Some(_)) => return invalid("train.steps", "give steps or generations, not both"),
        (None, None) => return invalid("train.steps", "missing: give steps or generations"),
        (Some(0), _) | (_, Some(0)) => {
            return invalid("train.steps", "the budget must be at least 1");
        }
        _ => {}
    }
    if !(kl_coef.is_finite() && *kl_coef >= 0.0) {
        return invalid("train.kl_coef", format!("{kl_coef} must be finite and ≥ 0"));
    }
    if !(weight_decay.is_finite() && *weight_decay >= 0.0) {
        return invalid(
            "train.weight_decay",
            format!("{weight_decay} must be finite and ≥ 0"),
        );
    }
    validate_updates(train)
}

/// The objective, its clip range, the updates per batch and dynamic sampling, which only make
/// sense together.
fn validate_updates(train: &TrainConfig) -> Result<(), Invalid> {
    let objective = train.objective;
    if let Err(e) = train.clip_range().check(objective) {
        let key = match e {
            EstimatorError::BadClip { key, .. } => key,
            _ => "clip_low",
        };
        return invalid(&format!("train.{key}"), e.to_string());
    }
    for (key, value) in [("epochs", train.epochs), ("minibatches", train.minibatches)] {
        if value == 0 {
            return invalid(&format!("train.{key}"), "0 must be at least 1");
        }
        if value > 1 && !objective.corrects_off_policy() {
            return invalid(
                &format!("train.{key}"),
                format!(
                    "{key} = {value} reuses a batch after the policy that sampled it has moved, \
                     and objective = \"policy_gradient\" has no off-policy correction: use \
                     \"ppo_clip\", \"gspo\" or \"cispo\""
                ),
            );
        }
    }
    if !train.prompts_per_step.is_multiple_of(train.minibatches) {
        return invalid(
            "train.minibatches",
            format!(
                "{} does not divide prompts_per_step = {}: each minibatch holds whole prompt groups",
                train.minibatches, train.prompts_per_step
            ),
        );
    }
    if objective == Objective::Gspo && train.token_reduction != TokenReduction::Mean {
        return invalid(
            "train.token_reduction",
            "objective = \"gspo\" takes each sequence's ratio as a mean over its tokens; \
             set token_reduction = \"mean\"",
        );
    }
    if objective.corrects_off_policy() && train.estimator.needs_score_norms() {
        return invalid(
            "train.objective",
            format!(
                "estimator `{}` weighs each sequence by its own gradient's norm, computed \
                 sequence by sequence; it trains with objective = \"policy_gradient\" only",
                train.estimator.name()
            ),
        );
    }
    if train.resample_constant_groups > 0 && !train.estimator.is_group() {
        let groups: Vec<&str> = Estimator::ALL
            .iter()
            .filter(|e| e.is_group())
            .map(|e| e.name())
            .collect();
        return invalid(
            "train.resample_constant_groups",
            format!(
                "estimator `{}` takes no baseline from a prompt's group, so a group of equal \
                 rewards still carries signal; dynamic sampling is for the group estimators \
                 ({})",
                train.estimator.name(),
                groups.join(", ")
            ),
        );
    }
    Ok(())
}

/// The model crate owns sampling's checks; the key is the field it names.
fn validate_sampling(sampling: &SamplingConfig) -> Result<(), Invalid> {
    match sampling.validate() {
        Ok(()) => Ok(()),
        Err(e) => {
            let field = match &e {
                ModelError::Sampling { field, .. } => *field,
                _ => "sampling",
            };
            invalid(&format!("sampling.{field}"), e.to_string())
        }
    }
}

/// The reward crate owns its checks (a command's program is looked for later, by `pglab check`
/// and before a sweep starts: `pglab status` reads a sweep's copy of the file elsewhere).
fn validate_reward(reward: &RewardSpec) -> Result<(), Invalid> {
    match reward.validate() {
        Ok(_) => Ok(()),
        Err(e) => invalid("reward", e.to_string()),
    }
}

fn validate_probe(probe: &ProbeConfig, train: &TrainConfig) -> Result<(), Invalid> {
    let ProbeConfig {
        batches,
        estimators,
        steps,
        ..
    } = probe;
    if !probe.is_on() {
        return Ok(());
    }
    let total = train.total_steps();
    if let Some(step) = steps.iter().find(|&&s| s >= total) {
        return invalid(
            "probe.steps",
            format!("step {step} is never reached: the run has {total} steps, from step 0"),
        );
    }
    if *batches < 2 {
        return invalid(
            "probe.batches",
            format!("{batches} must be at least 2 (a variance needs two batches)"),
        );
    }
    if estimators.is_empty() {
        return invalid("probe.estimators", "give at least one estimator");
    }
    for &e in estimators {
        if let Err((key, error)) = check_estimator(e, train) {
            return invalid(key.unwrap_or("probe.estimators"), error);
        }
    }
    Ok(())
}

/// Whether `estimator` works with the run's batch shape and settings ([`check_estimator`]).
pub fn fits(estimator: Estimator, train: &TrainConfig) -> bool {
    check_estimator(estimator, train).is_ok()
}

/// Whether `estimator` works with the step's k completions of each of P prompts: the group
/// estimators need k ≥ 2, `reinforce_pp` (normalised over the whole step) N = P·k ≥ 2. Asked of
/// the estimator itself, on a step of zero rewards (zero greedy rewards, unit gradient norms),
/// so no rule is restated here. An error about one of the estimator's own settings names that
/// key (`train.eps`, `train.ema_decay`); one about the batch's shape names none (the caller's key).
fn check_estimator(
    estimator: Estimator,
    train: &TrainConfig,
) -> Result<(), (Option<&'static str>, String)> {
    let advantages =
        Advantages::new(estimator, train.k, train.advantage_options()).map_err(|e| {
            let key = match e {
                EstimatorError::BadEps { .. } => Some("train.eps"),
                EstimatorError::BadEmaDecay { .. } => Some("train.ema_decay"),
                _ => None,
            };
            (key, e.to_string())
        })?;
    let n = train.prompts_per_step * train.k;
    let inputs = BaselineInputs {
        greedy_rewards: Some(&vec![0.0; train.prompts_per_step]),
        score_sqnorms: Some(&vec![1.0; n]),
    };
    match advantages.advantages_with(&vec![0.0; n], &inputs) {
        Ok(_) => Ok(()),
        Err(e) => Err((
            None,
            format!(
                "{e} (prompts_per_step = {} × k = {})",
                train.prompts_per_step, train.k
            ),
        )),
    }
}
