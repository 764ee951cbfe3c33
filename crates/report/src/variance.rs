//! The probe's comparison of estimators at the same weights, for `variance.csv` and its table:
//! one row per (probed estimator, probe step), each run contributing one value per step, then
//! across runs with a 95 % interval. Undefined values (a saturated probe's SNR and cosine) are
//! left out and counted, never averaged in.
//!
//! A raw variance ratio compares quality only between estimators with the same expectation:
//! GRPO divides advantages by the group's reward std σ_r, so its variance is about σ_r² smaller
//! and its signal is too. The ratio to RLOO's is therefore given only for the estimators that
//! estimate the same gradient as RLOO ([`same_expectation_as_rloo`]); every estimator is
//! compared by its signal-to-noise ratio and its cosine to the reference direction, which do
//! not depend on the gradient's scale.

use std::collections::BTreeMap;

use pglab_estimator::stats::{GeometricSpread, Spread, geometric_spread, median, spread};
use pglab_estimator::{Estimator, TokenReduction};
use serde::{Deserialize, Serialize};

use crate::csv_rows::{self, field_names, format};
use crate::load::{RunCurves, Sweep};
use crate::table::{Cells, NONE, number, ratio_cell, spread_cell};

/// The estimator every variance ratio is relative to.
pub const REFERENCE: Estimator = Estimator::Rloo;

/// Whether `estimator`'s expected gradient is RLOO's, so that the ratio of their variances
/// compares estimates of the same quantity. RLOO is unbiased, so these are the unbiased
/// estimators ([`Estimator::is_unbiased`], an exhaustive match where each is classified).
pub fn same_expectation_as_rloo(estimator: Estimator) -> bool {
    estimator.is_unbiased()
}

/// (generations, `estimator`'s grad_var over RLOO's) at each probe of `run`, in step order.
/// Paired: both come from the same samples at the same weights. Probes where either variance
/// is zero or not finite give no ratio (its log is undefined).
pub fn paired_ratios(run: &RunCurves, estimator: Estimator) -> Vec<(u64, f64)> {
    paired_ratios_under(run, estimator, run.own_reduction())
}

/// The same under token reduction `reduction`: both variances under it.
fn paired_ratios_under(
    run: &RunCurves,
    estimator: Estimator,
    reduction: Option<TokenReduction>,
) -> Vec<(u64, f64)> {
    let reference: BTreeMap<usize, f64> = run
        .probe_under(REFERENCE, reduction)
        .map(|p| (p.step, p.grad_var))
        .collect();
    let positive = |v: f64| v > 0.0 && v.is_finite();
    run.probe_under(estimator, reduction)
        .filter_map(|p| {
            let r = *reference.get(&p.step)?;
            (positive(r) && positive(p.grad_var)).then(|| (p.generations as u64, p.grad_var / r))
        })
        .collect()
}

/// One run's figures for one probed estimator at one probe step; None where that probe does
/// not define them. Each run contributes one value per step, however many of its batches
/// defined a cosine (the count is kept).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunProbe {
    /// grad_var / RLOO's grad_var at this probe (paired: the same samples).
    pub ratio: Option<f64>,
    /// The probe's `snr`, as written: unclipped, so it may be negative (clipping at 0 would
    /// bias the mean upwards). None where undefined (a saturated probe, 0/0).
    pub snr: Option<f64>,
    pub cos_to_ref: Option<f64>,
    /// Batches behind `cos_to_ref`.
    pub cos_batches: usize,
    pub saturated: bool,
    /// The ratio the probe's reward moments predict (`ProbeRecord::var_ratio_predicted`).
    pub predicted: Option<f64>,
}

/// `estimator`'s figures in `run` at probe step `step` under token reduction `reduction`; None
/// when the run did not probe it there.
fn run_probe_under(
    run: &RunCurves,
    estimator: Estimator,
    reduction: Option<TokenReduction>,
    step: usize,
) -> Option<RunProbe> {
    let probe = run
        .probe_under(estimator, reduction)
        .find(|p| p.step == step)?;
    let finite = |x: f64| x.is_finite().then_some(x);
    let ratio = paired_ratios_under(run, estimator, reduction)
        .into_iter()
        .find(|&(generations, _)| generations == probe.generations as u64)
        .map(|(_, ratio)| ratio);
    Some(RunProbe {
        ratio,
        snr: finite(probe.snr).filter(|_| !probe.saturated),
        cos_to_ref: finite(probe.cos_to_ref).filter(|_| !probe.saturated),
        cos_batches: probe.cos_batches,
        saturated: probe.saturated,
        predicted: Some(probe.var_ratio_predicted).filter(|&v| v > 0.0 && v.is_finite()),
    })
}

/// The steps at which any run probed: step 0 is the clean comparison (every run at the same
/// pretrained weights); later steps compare runs whose training has gone differently.
pub fn probe_steps(sweep: &Sweep) -> Vec<usize> {
    let mut steps: Vec<usize> = sweep
        .runs
        .iter()
        .flat_map(|r| r.probe.iter().map(|p| p.step))
        .collect();
    steps.sort_unstable();
    steps.dedup();
    steps
}

/// One probed estimator at one probe step over the sweep's runs: the numbers of a
/// `variance.csv` row. Never pooled across steps.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeSummary {
    pub estimator: Estimator,
    /// The token reduction its gradients were taken under (None: not recorded, a run's own).
    pub token_reduction: Option<TokenReduction>,
    pub probe_step: usize,
    /// Runs that probed it at this step.
    pub runs: usize,
    /// Probes whose SNR is defined, the ones its mean is over.
    pub probes: usize,
    /// Probes left out of SNR and cosine as undefined: saturated (every reward equal) or 0/0.
    pub left_out: usize,
    /// Batches behind the cosines, summed over the probes.
    pub batches: usize,
    pub same_expectation_as_rloo: bool,
    /// Across runs of the paired ratios at this step; None for an estimator without RLOO's
    /// expectation.
    pub ratio: Option<GeometricSpread>,
    /// The geometric mean over the runs of the ratio their reward moments predict, were rewards
    /// independent of the score function: how much of `ratio` the rewards' offset explains.
    pub predicted: Option<f64>,
    pub snr: Option<Spread>,
    pub cos_to_ref: Option<Spread>,
    /// Median over the step's probes, in the gradient's raw units (squared norm).
    pub median_grad_var: Option<f64>,
}

/// Every (token reduction, probed estimator, probe step) the sweep's probes recorded: the
/// reductions in the order they first appear (a run's own first, so a sweep of one reduction
/// gives one row per estimator and step), estimators in the sweep's order, steps ascending.
pub fn probe_summaries(sweep: &Sweep) -> Vec<ProbeSummary> {
    let steps = probe_steps(sweep);
    let mut reductions: Vec<Option<TokenReduction>> = Vec::new();
    for p in sweep.runs.iter().flat_map(|r| &r.probe) {
        if !reductions.contains(&p.token_reduction) {
            reductions.push(p.token_reduction);
        }
    }
    reductions
        .iter()
        .flat_map(|&reduction| sweep.probed.iter().map(move |&e| (reduction, e)))
        .flat_map(|(reduction, e)| steps.iter().map(move |&step| (reduction, e, step)))
        .filter_map(|(reduction, estimator, step)| {
            let per_run: Vec<RunProbe> = sweep
                .runs
                .iter()
                .filter_map(|r| run_probe_under(r, estimator, reduction, step))
                .collect();
            if per_run.is_empty() {
                return None;
            }
            let across = |pick: fn(&RunProbe) -> Option<f64>| {
                let values: Vec<f64> = per_run.iter().filter_map(pick).collect();
                spread(&values)
            };
            let same = same_expectation_as_rloo(estimator);
            let ratios: Vec<f64> = per_run.iter().filter_map(|r| r.ratio).collect();
            let predictions: Vec<f64> = per_run.iter().filter_map(|r| r.predicted).collect();
            let grad_vars = sweep
                .runs
                .iter()
                .flat_map(|r| r.probe_under(estimator, reduction))
                .filter(|p| p.step == step)
                .map(|p| p.grad_var);
            let defined = per_run.iter().filter(|r| r.snr.is_some()).count();
            Some(ProbeSummary {
                estimator,
                token_reduction: reduction,
                probe_step: step,
                runs: per_run.len(),
                probes: defined,
                left_out: per_run.len() - defined,
                batches: per_run
                    .iter()
                    .filter(|r| r.cos_to_ref.is_some())
                    .map(|r| r.cos_batches)
                    .sum(),
                same_expectation_as_rloo: same,
                ratio: if same {
                    geometric_spread(&ratios)
                } else {
                    None
                },
                predicted: geometric_spread(&predictions).map(|g| g.mean),
                snr: across(|r| r.snr),
                cos_to_ref: across(|r| r.cos_to_ref),
                median_grad_var: median(grad_vars),
            })
        })
        .collect()
}

/// The summaries the answer and the forest charts compare estimators on: those under the
/// sweep's first reduction (its runs' own, when they share one).
pub fn primary_summaries(summaries: &[ProbeSummary]) -> Vec<ProbeSummary> {
    let primary = summaries.first().map(|s| s.token_reduction);
    summaries
        .iter()
        .filter(|s| Some(s.token_reduction) == primary)
        .cloned()
        .collect()
}

/// A row of `variance.csv`, every figure at full precision (`format::exact`), empty where
/// there is none: no ratio for an estimator without RLOO's expectation, no interval from a
/// single run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VarianceRow {
    pub estimator: Estimator,
    /// Empty in a sweep whose probe files did not record it.
    pub token_reduction: Option<TokenReduction>,
    pub probe_step: usize,
    pub runs: usize,
    pub probes: usize,
    pub left_out: usize,
    pub batches: usize,
    pub same_expectation_as_rloo: bool,
    #[serde(serialize_with = "format::exact")]
    pub var_ratio_to_rloo: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub var_ratio_to_rloo_ci95_low: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub var_ratio_to_rloo_ci95_high: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub var_ratio_predicted: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub snr: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub snr_ci95_low: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub snr_ci95_high: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub cos_to_ref: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub cos_to_ref_ci95_low: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub cos_to_ref_ci95_high: Option<f64>,
    #[serde(serialize_with = "format::exact")]
    pub median_grad_var: Option<f64>,
}

impl From<&ProbeSummary> for VarianceRow {
    fn from(s: &ProbeSummary) -> Self {
        let bound = |s: Option<Spread>, high: bool| {
            let (lo, hi) = s?.interval()?;
            Some(if high { hi } else { lo })
        };
        let ratio_bound = |high: bool| {
            let (lo, hi) = s.ratio?.interval?;
            Some(if high { hi } else { lo })
        };
        Self {
            estimator: s.estimator,
            token_reduction: s.token_reduction,
            probe_step: s.probe_step,
            runs: s.runs,
            probes: s.probes,
            left_out: s.left_out,
            batches: s.batches,
            same_expectation_as_rloo: s.same_expectation_as_rloo,
            var_ratio_to_rloo: s.ratio.map(|g| g.mean),
            var_ratio_to_rloo_ci95_low: ratio_bound(false),
            var_ratio_to_rloo_ci95_high: ratio_bound(true),
            var_ratio_predicted: s.predicted,
            snr: s.snr.map(|s| s.mean),
            snr_ci95_low: bound(s.snr, false),
            snr_ci95_high: bound(s.snr, true),
            cos_to_ref: s.cos_to_ref.map(|s| s.mean),
            cos_to_ref_ci95_low: bound(s.cos_to_ref, false),
            cos_to_ref_ci95_high: bound(s.cos_to_ref, true),
            median_grad_var: s.median_grad_var,
        }
    }
}

/// `variance.csv`: [`VarianceRow`]'s columns.
pub fn variance_csv(summaries: &[ProbeSummary]) -> anyhow::Result<Vec<u8>> {
    let rows: Vec<VarianceRow> = summaries.iter().map(VarianceRow::from).collect();
    csv_rows::write(field_names::<VarianceRow>(), &rows)
}

pub fn variance_cells(summaries: &[ProbeSummary]) -> Cells {
    let header = [
        "probed estimator",
        "probe step",
        "runs (probes defined; left out)",
        "same expectation as RLOO",
        "grad var ÷ RLOO's (geometric mean)",
        "SNR",
        "cos to reference",
        "median grad var (raw units)",
    ]
    .map(String::from)
    .to_vec();
    // Several reductions: each row says which.
    let reductions = summaries
        .iter()
        .filter(|s| s.token_reduction != summaries[0].token_reduction)
        .count();
    let rows = summaries
        .iter()
        .map(|s| {
            let estimator = match (reductions, s.token_reduction) {
                (0, _) | (_, None) => s.estimator.to_string(),
                (_, Some(r)) => format!("{} (token_reduction {})", s.estimator, r.name()),
            };
            let step = if s.probe_step == 0 {
                "0 (start: the same weights in every run)".to_string()
            } else {
                s.probe_step.to_string()
            };
            vec![
                estimator,
                step,
                format!("{} ({}; {})", s.runs, s.probes, s.left_out),
                if s.same_expectation_as_rloo {
                    "yes"
                } else {
                    "no"
                }
                .into(),
                if s.same_expectation_as_rloo {
                    match s.predicted {
                        Some(p) => format!("{} (predicted {}×)", ratio_cell(s.ratio), number(p)),
                        None => ratio_cell(s.ratio),
                    }
                } else {
                    "not comparable".into()
                },
                spread_cell(s.snr),
                spread_cell(s.cos_to_ref),
                s.median_grad_var.map_or(NONE.into(), number),
            ]
        })
        .collect();
    Cells { header, rows }
}

pub const VARIANCE_NOTE: &str = "Every probe draws fresh batches at the run's current weights \
and computes every estimator's gradient from the same samples. One row per probe step, never \
pooled across steps: step 0 is the clean comparison (every run at the same pretrained weights); \
at later steps the runs have trained differently, and which of them still vary their rewards \
depends on how training went. Each run is one replicate, with one value per step: the mean \
over runs, with the 95 % Student-t interval of that mean in brackets. A probe whose rewards \
were all equal (a saturated run) defines no SNR or cosine: it is left out of both and counted \
(\"left out\"), never averaged in as 0. grad var ÷ RLOO's: over runs, the mean of \
ln(grad_var ÷ RLOO's grad_var) at the same probe, reported as the geometric mean ratio with \
the geometric interval exp(mean ∓ half-width), and beside it the ratio the probe's reward mean μ \
and variance σ² alone predict were rewards independent of the score function (REINFORCE: \
(1 + μ²/σ²)(k − 1)/k; docs/variance_prediction.md): where the two agree, the variance reduction is \
the rewards' offset that any baseline removes; given only for estimators whose expected \
gradient is RLOO's (reinforce, reinforce_ema, rloo). GRPO, Dr. GRPO and REINFORCE++ rescale or \
bias the gradient (GRPO divides by the reward std, shrinking both its variance and its signal), \
so a variance ratio would not measure quality: compare them by SNR and cosine. SNR: (‖ḡ‖² − \
grad_var/M) ÷ grad_var, unclipped (it can be negative when the mean gradient is within noise). \
Cos to reference: the cosine between one batch's gradient and a held-out reference direction (the \
mean gradient, over the probe's other batches, of the unbiased estimator with the lowest variance \
at that probe), averaged over the batches where it is defined (their number in variance.csv's \
`batches`). Median grad var: in the gradient's squared-norm units, \
comparable only between estimators with the same expectation. With `probe.token_reductions`, every estimator is also measured \
under each listed token reduction from the same samples: a reduction rescales the gradient (and \
reweighs sequences by their lengths), so reductions are compared by SNR and by the cosine to the \
run's own reference direction; a variance ratio is to RLOO under the same reduction.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variance_csv_columns_in_order() {
        assert_eq!(
            field_names::<VarianceRow>(),
            [
                "estimator",
                "token_reduction",
                "probe_step",
                "runs",
                "probes",
                "left_out",
                "batches",
                "same_expectation_as_rloo",
                "var_ratio_to_rloo",
                "var_ratio_to_rloo_ci95_low",
                "var_ratio_to_rloo_ci95_high",
                "var_ratio_predicted",
                "snr",
                "snr_ci95_low",
                "snr_ci95_high",
                "cos_to_ref",
                "cos_to_ref_ci95_low",
                "cos_to_ref_ci95_high",
                "median_grad_var",
            ]
        );
    }

    #[test]
    fn same_expectation_is_being_unbiased() {
        // RLOO is unbiased, so "RLOO's expectation" is the true gradient's; the two lists agree.
        for e in Estimator::ALL {
            assert_eq!(same_expectation_as_rloo(e), e.is_unbiased(), "{e}");
        }
        assert!(same_expectation_as_rloo(REFERENCE));
    }
}
