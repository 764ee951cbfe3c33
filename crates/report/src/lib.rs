//! pglab's results directory, without burn: the formats runs write ([`record`], and
//! [`summary_csv`] for the sweep's `summary.csv`; [`pretrain_log`] for a pretrained model's
//! log) and the report rebuilt from a sweep's CSV files alone — `plots/*.png`, `report.csv`
//! (one row per estimator and grid point), `variance.csv` (one row per probed estimator),
//! `summary.md` and `index.html`. `pglab sweep` writes the report at the end and
//! `pglab report DIR` on demand.
//!
//! The runner writes every file through the types here and the report reads them back through
//! the same ones, so a column's name and place are declared once. Estimators are known by
//! type ([`pglab_estimator::Estimator`]): an unknown name in a file is an error naming the
//! file, line and column, and a new estimator does not compile until [`color`] gives it one.

mod csv_rows;
mod figures;
mod load;
pub mod plot;
pub mod pretrain_log;
pub mod record;
mod summary;
pub mod summary_csv;
mod table;

use std::path::{Path, PathBuf};

use anyhow::Context;

pub use figures::color;
pub use load::{Sweep, format_float, load};
pub use record::{
    CsvLog, FINAL_WINDOW, JsonLines, ProbeRecord, RunResult, SampleRecord, Status, StepRecord,
    replace_atomically, temporary_beside, write_atomically,
};
pub use table::{GroupRow, REFERENCE, VarianceRow, group_rows, variance_rows};

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
