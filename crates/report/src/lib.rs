//! pglab's results directory without burn: the formats a run writes (`record`) and the report
//! rebuilt from a sweep's CSV files alone — `plots/*.png`, `report.csv` (one row per estimator
//! and grid point), `variance.csv` (one row per probed estimator), `summary.md` and
//! `index.html`. `pglab sweep` writes it at the end and `pglab report DIR` on demand.

mod figures;
mod load;
pub mod plot;
pub mod record;
mod summary;
mod table;

use std::path::{Path, PathBuf};

use anyhow::Context;

pub use figures::color;
pub use load::{Sweep, format_float, load};
pub use pglab_estimator::stats::{Spread, spread, t95};
use record::write_atomically;
pub use table::{GroupRow, VarianceRow, group_rows, variance_rows};

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
