//! What is checked before a sweep starts, since a problem here would fail every run: the
//! models load and each prompt plus its new tokens fits the context; reward programs exist.

use std::path::Path;

use anyhow::{Context, bail};
use pglab_model::Checkpoint;
use pglab_reward::RewardSpec;

use crate::device::cpu;
use crate::experiment::RunSpec;
use crate::rl::environment::model_dir;

/// Every reward command's program is there: checked before any run starts, as a missing one
/// would fail every run.
pub fn check_reward_commands(file: &Path, runs: &[RunSpec]) -> anyhow::Result<()> {
    for run in runs {
        if let RewardSpec::Command(command) = &run.config.reward {
            command
                .program(&run.config.experiment_dir)
                .map_err(|problem| {
                    anyhow::anyhow!("{}: reward.command: {problem}", file.display())
                })?;
        }
    }
    Ok(())
}

/// Every model the runs need loads, and each run's prompts plus new tokens fit its context —
/// checked before any run starts.
pub fn check_models(runs: &[RunSpec]) -> anyhow::Result<()> {
    let mut checked: Vec<(String, usize)> = Vec::new();
    for run in runs {
        let config = &run.config;
        let dir = model_dir(&config.model);
        if config.model == "default" && !dir.exists() {
            bail!(
                "model \"default\": {} is missing; build it with `just pretrain` (or `pglab pretrain`)",
                dir.display()
            );
        }
        let checkpoint = Checkpoint::load(&dir, &cpu())
            .with_context(|| format!("model = {:?}", config.model))?;
        for prompt in &config.train.prompts {
            let tokens = checkpoint.tokenizer.encode_prompt(prompt)?.len();
            let needed = tokens + config.sampling.max_new_tokens;
            let n_positions = checkpoint.model.config().n_positions;
            if needed > n_positions && !checked.contains(&(prompt.clone(), needed)) {
                bail!(
                    "train.prompts: {prompt:?} ({tokens} tokens) + sampling.max_new_tokens ({}) = {needed} exceeds the model's context of {n_positions} positions",
                    config.sampling.max_new_tokens
                );
            }
            checked.push((prompt.clone(), needed));
        }
    }
    Ok(())
}
