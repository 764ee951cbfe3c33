//! `pglab report DIR`: the report of a sweep directory, rebuilt from its CSV files alone by
//! `pglab_report::write` (figures, `report.csv`, `variance.csv`, `summary.md`, `index.html`).
//! `pglab sweep` writes the same report at the end.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A sweep directory (the one holding `summary.csv` and `runs/`).
    pub dir: PathBuf,
}

pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    let index = pglab_report::write(&args.dir)?;
    writeln!(std::io::stdout(), "report: {}", index.display())?;
    Ok(())
}
