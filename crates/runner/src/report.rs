//! `pglab report DIR`: the report of a sweep directory, `summary.csv` rebuilt from the run
//! directories when the directory has its `sweep.toml`, then the rest from the CSV files alone by
//! `pglab_report::write` (figures, `report.csv`, `variance.csv`, `summary.md`, `index.html`),
//! judged by the `[report]` table of the experiment file the sweep ran (`DIR/sweep.toml`).
//! `pglab sweep` writes the same report at the end.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;
use pglab_report::ReportOptions;

use crate::experiment;
use crate::sweep::dir::SweepDir;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A sweep directory (the one holding `summary.csv` and `runs/`).
    pub dir: PathBuf,
}

pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    let dir = SweepDir::new(&args.dir);
    let sweep_file = dir.experiment_file();
    let options = match std::fs::read_to_string(&sweep_file) {
        Ok(text) => {
            // The grid as the sweep ran it: summary.csv from the run directories first, so
            // the report of shards that ran apart (Slurm) covers every run.
            let overrides = dir.recorded_overrides()?.overrides;
            let experiment = experiment::parse(&sweep_file, &text, &overrides)?;
            let runs = experiment.expand()?;
            dir.write_summary(&runs, &experiment)?;
            experiment.report
        }
        // A directory assembled by hand: the report without a success threshold.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ReportOptions::default(),
        Err(e) => anyhow::bail!("{}: {e}", sweep_file.display()),
    };
    let index = pglab_report::write(&args.dir, &options)?;
    writeln!(std::io::stdout(), "report: {}", index.display())?;
    Ok(())
}
