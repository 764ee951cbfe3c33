//! `pglab score`: how likely a model finds a text.

use anyhow::{Context, bail};
use pglab_model::{Checkpoint, TokenBatch, sequence_logprobs};
use serde::Serialize;
use std::io::Write as _;

use crate::cli::ScoreArgs;

/// The figures `pglab score` prints; field names match what Python users compute.
#[derive(Debug, Serialize)]
pub struct Score {
    pub n_tokens: usize,
    pub sum_logprob: f64,
    pub mean_logprob: f64,
    pub perplexity: f64,
}

pub fn run(args: &ScoreArgs) -> anyhow::Result<()> {
    let selected = args.model.backend.select()?;
    let checkpoint = Checkpoint::load(&args.model.model, &selected.device)?;
    let score = score(&checkpoint, &args.text, &selected.device)?;
    if args.json {
        writeln!(std::io::stdout(), "{}", serde_json::to_string(&score)?)?;
    } else {
        writeln!(std::io::stdout(), "tokens        {}", score.n_tokens)?;
        writeln!(std::io::stdout(), "sum log-prob  {:.4}", score.sum_logprob)?;
        writeln!(std::io::stdout(), "mean log-prob {:.4}", score.mean_logprob)?;
        writeln!(std::io::stdout(), "perplexity    {:.4}", score.perplexity)?;
    }
    Ok(())
}

/// Scores tokens 2..n of `text` given their prefixes; no token is added.
pub fn score(
    checkpoint: &Checkpoint,
    text: &str,
    device: &burn::prelude::Device,
) -> anyhow::Result<Score> {
    let ids = checkpoint.tokenizer.encode_prompt(text)?;
    if ids.len() < 2 {
        bail!(
            "--text: {:?} is {} token(s); scoring needs at least 2",
            text,
            ids.len()
        );
    }
    checkpoint.model.check_ids(&ids).context("--text")?;
    let n_tokens = ids.len();
    let batch = TokenBatch::new(&[ids], &[1], device)?;
    let logprobs = sequence_logprobs(&checkpoint.model, &batch, false).context("--text")?;
    let sum_logprob = logprobs.sum.into_scalar::<f32>() as f64;
    let mean_logprob = sum_logprob / (n_tokens - 1) as f64;
    Ok(Score {
        n_tokens,
        sum_logprob,
        mean_logprob,
        perplexity: (-mean_logprob).exp(),
    })
}
