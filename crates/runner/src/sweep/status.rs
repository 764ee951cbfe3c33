//! `pglab status DIR`: where a sweep stands — every run of its grid with its state, step and
//! outcome (`run_state.rs` reads them), and a count per state.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;

use crate::sweep::dir::SweepDir;
use crate::sweep::run_state::run_states;

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// A sweep directory (`results/reinforce_vs_rloo`), while its sweep runs or after.
    pub dir: PathBuf,
    /// One JSON object (`runs`, `counts`) instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &StatusArgs) -> anyhow::Result<()> {
    let status = run_states(&SweepDir::new(&args.dir))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&status)?)?;
        return Ok(());
    }
    let width = status.runs.iter().map(|r| r.id.len()).max().unwrap_or(2);
    for r in &status.runs {
        let reward = r.final_reward.map_or("–".into(), |x| format!("{x:.2}"));
        let reason = if r.reason.is_empty() {
            String::new()
        } else {
            format!("  {}", r.reason)
        };
        writeln!(
            out,
            "{:width$}  {:8}  {:>5}/{:<5}  final reward {reward:>6}{reason}",
            r.id,
            r.state.name(),
            r.step,
            r.steps
        )?;
    }
    let counts: Vec<String> = status
        .counts
        .iter()
        .map(|(state, n)| format!("{n} {state}"))
        .collect();
    writeln!(out, "{} runs: {}", status.runs.len(), counts.join(", "))?;
    Ok(())
}
