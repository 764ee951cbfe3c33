//! `pglab pretrain`: train the embedded default model (or one on a user's text) and save it as
//! a Hugging Face model directory.

use std::path::PathBuf;

use clap::Args;

use crate::device::Backend;

#[derive(Args, Debug)]
pub struct PretrainArgs {
    /// The pretraining settings (TOML).
    #[arg(long, default_value = "experiments/pretrain.toml")]
    pub config: PathBuf,
    /// Train on this UTF-8 text file instead of the built-in story grammar.
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// The model directory to write.
    #[arg(long, default_value = "models/default")]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: Backend,
    /// Retrain even if `--out` already holds a model with the same settings.
    #[arg(long)]
    pub force: bool,
}

pub fn run(_args: &PretrainArgs) -> anyhow::Result<()> {
    anyhow::bail!("pglab pretrain: not implemented yet")
}
