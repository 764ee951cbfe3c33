//! `pglab report DIR`: figures and tables of a sweep, rebuilt from its CSV files alone —
//! `plots/*.png`, `report.csv` (one row per estimator and grid point), `variance.csv` (one row
//! per probed estimator), `summary.md` and `index.html`. `pglab sweep` calls it at the end.

mod figures;
mod load;
mod summary;
mod table;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use crate::record::write_atomically;
pub use figures::color;
pub use load::{Sweep, load};
pub use pglab_estimator::stats::{Spread, spread, t95};
pub use table::{GroupRow, VarianceRow, group_rows, variance_rows};

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A sweep directory (the one holding `summary.csv` and `runs/`).
    pub dir: PathBuf,
}

pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    let index = write(&args.dir)?;
    println!("report: {}", index.display());
    Ok(())
}

/// Writes the report of the sweep in `dir`; returns the path of its `index.html`.
pub fn write(dir: &Path) -> anyhow::Result<PathBuf> {
    let sweep = load(dir)?;
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots).with_context(|| format!("creating {}", plots.display()))?;
    let figures = figures::draw_all(&sweep, &plots)?;
    let groups = group_rows(&sweep);
    let variance = variance_rows(&sweep);
    write_atomically(
        &dir.join("report.csv"),
        &table::report_csv(&sweep, &groups)?,
    )?;
    write_atomically(&dir.join("variance.csv"), &table::variance_csv(&variance)?)?;
    let contents = summary::Contents {
        sweep: &sweep,
        groups: table::group_cells(&sweep, &groups),
        variance: table::variance_cells(&variance),
        figures: &figures,
        best: table::sweep_best(&sweep),
    };
    write_atomically(
        &dir.join("summary.md"),
        summary::markdown(&contents).as_bytes(),
    )?;
    let index = dir.join("index.html");
    write_atomically(&index, summary::html(&contents).as_bytes())?;
    Ok(index)
}
