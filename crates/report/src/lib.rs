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
//! file, line and column, and a new estimator does not compile until [`color`] gives it one
//! and [`same_expectation_as_rloo`] classifies it.
//!
//! Every statistic treats the run as the unit of replication: computed per run first, then
//! across runs as a mean with its 95 % interval (Student-t; geometric for variance ratios;
//! Wilson for success rates), and every table and figure says which interval it shows.

pub mod answer;
mod best_lr;
pub mod compare;
mod csv_rows;
mod figures;
mod forest_chart;
mod groups;
pub mod head_to_head;
mod header;
mod kl_tradeoff;
mod load;
pub mod plot;
pub mod pretrain_log;
pub mod record;
mod run_stats;
mod summary;
pub mod summary_csv;
mod table;
pub mod tensorboard;
mod text_layout;
mod variance;

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

pub use answer::{Claim, Endpoint, read_answer_csv};
pub use best_lr::SeedSubset;
pub use figures::color;
pub use groups::{GroupRow, Success, group_rows};
pub use load::{Sweep, format_float, load};
pub use record::{
    CsvLog, FINAL_WINDOW, JsonLines, ProbeRecord, RunResult, SampleRecord, Status, StepRecord,
    replace_atomically, temporary_beside, write_atomically,
};
pub use variance::{
    ProbeSummary, REFERENCE, VarianceRow, probe_summaries, same_expectation_as_rloo,
};

/// What a report needs beyond the sweep's files: the experiment file's `[report]` table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportOptions {
    /// The final reward at or above which a run counts as a success (`success_rate` and its
    /// Wilson interval in report.csv; a diverged run counts as a failure); None: no success
    /// columns.
    pub success_reward: Option<f64>,
    /// The learning endpoint declared first (`"auc"`, the default, or `"final_reward"`): the
    /// answer section leads with it and labels every other claim secondary.
    pub primary: Endpoint,
    /// The seeds whose runs pick each estimator's best learning rate; the head-to-head is then
    /// computed on the other seeds' runs only. A list names them; a number n takes the sweep's
    /// n lowest seeds, so that a replicate run with other seeds (`--grid seed=…`) holds out as
    /// many. Empty (the default): every run does both, and the report says the rates were
    /// picked from the same seeds.
    pub selection_seeds: SeedSubset,
}

/// Writes the report of the sweep in `dir`; returns the path of its `index.html`.
pub fn write(dir: &Path, options: &ReportOptions) -> anyhow::Result<PathBuf> {
    let sweep = load(dir)?;
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots).with_context(|| format!("creating {}", plots.display()))?;
    let groups = group_rows(&sweep, options);
    // Every reduction the probe measured goes into variance.csv and its table; the answer and
    // the figures compare estimators under one.
    let all_probes = probe_summaries(&sweep);
    let probes = variance::primary_summaries(&all_probes);
    let claims = claims(&sweep, &probes, options);
    let data = figures::Data {
        sweep: &sweep,
        groups: &groups,
        probes: &probes,
        all_probes: &all_probes,
        claims: &claims,
    };
    let figures = figures::draw_all(&data, &plots)?;
    write_atomically(
        &dir.join("report.csv"),
        &groups::report_csv(&sweep, &groups)?,
    )?;
    write_atomically(
        &dir.join("variance.csv"),
        &variance::variance_csv(&all_probes)?,
    )?;
    write_atomically(&dir.join("answer.csv"), &answer::answer_csv(&claims)?)?;
    let selection = best_lr::Selection::of(&sweep, options);
    let pairs = selection
        .best(&sweep)
        .map(|best| head_to_head::rows(&best))
        .unwrap_or_default();
    write_atomically(
        &dir.join("head_to_head.csv"),
        &head_to_head::head_to_head_csv(&pairs)?,
    )?;
    let contents = summary::Contents {
        sweep: &sweep,
        answer: &claims,
        sections: sections(&sweep, &groups, &all_probes, options),
        figures: &figures,
    };
    write_atomically(
        &dir.join("summary.md"),
        summary::markdown(&contents).as_bytes(),
    )?;
    let index = dir.join("index.html");
    write_atomically(&index, summary::html(&contents).as_bytes())?;
    Ok(index)
}

/// The answer section of the sweep in `dir`, computed from its CSV files without writing
/// anything (what `pglab compare` holds two sweeps against each other with).
pub fn answer(dir: &Path, options: &ReportOptions) -> anyhow::Result<Vec<Claim>> {
    let sweep = load(dir)?;
    let probes = variance::primary_summaries(&probe_summaries(&sweep));
    Ok(claims(&sweep, &probes, options))
}

/// The answer section's claims: the declared learning endpoint first, then the variance ratios
/// at the start, then the other learning endpoint.
pub fn claims(sweep: &Sweep, probes: &[ProbeSummary], options: &ReportOptions) -> Vec<Claim> {
    let selection = best_lr::Selection::of(sweep, options);
    let learning = selection
        .best(sweep)
        .map(|best| answer::learning_claims(&best, options.primary, &selection.describe()))
        .unwrap_or_default();
    let (primary, secondary): (Vec<Claim>, Vec<Claim>) =
        learning.into_iter().partition(|c| c.role == "primary");
    primary
        .into_iter()
        .chain(answer::variance_claims(probes))
        .chain(secondary)
        .collect()
}

/// The summary's tables, in reading order: training, each estimator at its best learning rate,
/// the KL trade-off, the probe.
fn sections(
    sweep: &Sweep,
    groups: &[GroupRow],
    probes: &[ProbeSummary],
    options: &ReportOptions,
) -> Vec<summary::Section> {
    let mut sections = vec![summary::Section {
        title: "Training: one row per estimator and grid point, over seeds".into(),
        cells: groups::group_cells(sweep, groups, options),
        note: groups::training_note(groups::sweep_best(sweep), options),
        warnings: Vec::new(),
    }];
    // The same picks as the answer's: on the selection seeds when there are, shown on the
    // others.
    let selection = best_lr::Selection::of(sweep, options);
    if let Some(best) = selection.best(sweep) {
        sections.push(summary::Section {
            title: "Each estimator at its own best learning rate".into(),
            cells: best_lr::cells(&best, options),
            note: best_lr::note(options, &selection),
            warnings: best_lr::warnings(&best),
        });
        if let Some(cells) = best_lr::head_to_head(&best) {
            sections.push(summary::Section {
                title: "Head to head, each at its best learning rate".into(),
                cells,
                note: best_lr::HEAD_TO_HEAD_NOTE.into(),
                warnings: Vec::new(),
            });
        }
    }
    if let Some(cells) = kl_tradeoff::cells(sweep, groups) {
        sections.push(summary::Section {
            title: "KL trade-off: final reward against final KL".into(),
            cells,
            note: kl_tradeoff::note(),
            warnings: Vec::new(),
        });
    }
    if !probes.is_empty() {
        sections.push(summary::Section {
            title: "Estimators compared at the same weights (probe)".into(),
            cells: variance::variance_cells(probes),
            note: variance::VARIANCE_NOTE.into(),
            warnings: Vec::new(),
        });
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_options_read_from_a_report_table() {
        let read = |text: &str| serde_json::from_str::<ReportOptions>(text);
        assert_eq!(read("{}").unwrap(), ReportOptions::default());
        assert_eq!(
            read(r#"{"success_reward": 60}"#).unwrap().success_reward,
            Some(60.0)
        );
        let err = read(r#"{"success": 60}"#).unwrap_err().to_string();
        assert!(err.contains("unknown field `success`"), "{err}");
    }
}
