//! `pglab sample`: completions of one prompt.

use anyhow::{Context, bail};
use pglab_model::{Checkpoint, SamplingConfig, sample};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use std::io::Write as _;

use crate::cli::SampleArgs;

#[derive(Serialize)]
struct Completion<'a> {
    index: usize,
    prompt: &'a str,
    completion: String,
    n_new_tokens: usize,
}

pub fn run(args: &SampleArgs) -> anyhow::Result<()> {
    let selected = args.model.backend.select()?;
    let checkpoint = Checkpoint::load(&args.model.model, &selected.device)?;
    if args.n == 0 {
        bail!("-n: must be at least 1");
    }
    let prompt = checkpoint.tokenizer.encode_prompt(&args.prompt)?;
    if prompt.is_empty() {
        bail!("--prompt: empty prompt; give at least one token of text");
    }
    let config = SamplingConfig {
        max_new_tokens: args.max_new_tokens,
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
        stop_at_eos: args.stop_at_eos,
    };
    let mut rng = StdRng::seed_from_u64(args.seed);
    let rollout =
        sample(&checkpoint.model, &vec![prompt; args.n], &config, &mut rng).context("sample")?;
    for index in 0..rollout.len() {
        let tokens = rollout.completion(index);
        let completion = checkpoint.tokenizer.decode(tokens)?;
        if args.json {
            let record = Completion {
                index,
                prompt: &args.prompt,
                completion,
                n_new_tokens: tokens.len(),
            };
            writeln!(std::io::stdout(), "{}", serde_json::to_string(&record)?)?;
        } else {
            if index > 0 {
                writeln!(std::io::stdout(), "{}", "-".repeat(60))?;
            }
            writeln!(std::io::stdout(), "{}{}", args.prompt, completion)?;
        }
    }
    Ok(())
}
