//! The probe's figures, one panel per training estimator and grid point, a line per probed
//! estimator: its gradient variance, its variance relative to RLOO's (only for estimators with
//! RLOO's expectation, see [`crate::variance`]), its signal-to-noise ratio and its cosine to
//! the reference direction (every estimator: both are free of the gradient's scale). Each line
//! is a mean over the panel's runs at each probe, with its 95 % interval as a band.

use std::collections::BTreeMap;

use pglab_estimator::Estimator;

use super::{
    Data, GEOMETRIC_BAND, GEOMETRIC_SUBTITLE, T_BAND, T_SUBTITLE, color, figure, finite, legend,
    mean_line, runs_in,
};
use crate::load::{RunCurves, Sweep};
use crate::plot::{Figure, Line, Panel};
use crate::variance::{REFERENCE, paired_ratios, probe_steps, same_expectation_as_rloo};

/// These figures follow the probe over training; a sweep that probed at one step only (the
/// start, say) has nothing to follow, and the answer's forest plots show that step.
fn over_training(sweep: &Sweep) -> Result<(), String> {
    if sweep.probed.is_empty() {
        return Err("the sweep has no probe ([probe] every = 0)".into());
    }
    match probe_steps(sweep).as_slice() {
        [step] => Err(format!(
            "the probe ran at step {step} only: the forest plots (forest_*.png) show it"
        )),
        _ => Ok(()),
    }
}

/// Panels for probe figures: one per (training estimator, grid point), a row per estimator,
/// each titled with the estimator its runs were trained with and their number.
fn probe_panels(
    sweep: &Sweep,
    lines: impl Fn(&[&RunCurves]) -> Vec<Line>,
) -> Result<Vec<Panel>, String> {
    over_training(sweep)?;
    let mut panels = Vec::new();
    for &estimator in &sweep.estimators {
        for panel in &sweep.panels {
            let runs: Vec<&RunCurves> = runs_in(sweep, panel)
                .filter(|r| r.estimator == estimator)
                .collect();
            // Estimators with grids of their own: only the grid points that ran get a panel.
            if runs.is_empty() {
                continue;
            }
            // Short enough for four panels abreast: "rloo runs, lr = 3e-3 (8 probed)", and how
            // many of those probes were saturated (every reward equal: no SNR or cosine), so a
            // point missing from those figures is accounted for.
            let saturated_runs = runs
                .iter()
                .filter(|r| r.probe.iter().any(|p| p.saturated))
                .count();
            let probed = match runs.iter().filter(|r| !r.probe.is_empty()).count() {
                0 if runs.is_empty() => "none run".to_string(),
                0 => "none probed".to_string(),
                n if saturated_runs > 0 => format!("{n} probed, {saturated_runs} saturated"),
                n => format!("{n} probed"),
            };
            let title = match panel.as_str() {
                "" => format!("{estimator} runs ({probed})"),
                p => format!("{estimator} runs, {p} ({probed})"),
            };
            panels.push(Panel {
                title,
                lines: lines(&runs),
            });
        }
    }
    Ok(panels)
}

/// One line per estimator of `shown` from a per-run series of (generations, value).
fn probe_lines(
    shown: &[Estimator],
    runs: &[&RunCurves],
    log: bool,
    series: impl Fn(&RunCurves, Estimator) -> Vec<(u64, f64)>,
) -> Vec<Line> {
    shown
        .iter()
        .map(|&estimator| {
            let mut by_x: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
            for (g, v) in runs.iter().flat_map(|r| series(r, estimator)) {
                by_x.entry(g).or_default().push(v);
            }
            let steps = by_x.len();
            let line = mean_line(color(estimator), by_x, log);
            // Two probe steps make no curve: a line between them would suggest one.
            if steps < 3 { as_points(line) } else { line }
        })
        .collect()
}

/// `line` as dots with interval bars: its band becomes bars, its segments go.
fn as_points(mut line: Line) -> Line {
    line.error_bars = std::mem::take(&mut line.band);
    (line.dots, line.connect) = (true, false);
    line
}

fn probe_figure(sweep: &Sweep, title: &str, y_label: &str, panels: Vec<Panel>) -> Figure {
    let mut figure = figure(title, y_label, panels, &sweep.probed);
    // A row per training estimator, as wide as the most grid points one of them ran.
    let ran = |e: Estimator| {
        sweep
            .panels
            .iter()
            .filter(|p| runs_in(sweep, p).any(|r| r.estimator == e))
            .count()
    };
    figure.columns = sweep
        .estimators
        .iter()
        .map(|&e| ran(e))
        .max()
        .unwrap_or(1)
        .clamp(1, 4);
    figure
}

/// A probe column of `estimator` in `run` as (generations, value).
fn column(
    run: &RunCurves,
    estimator: Estimator,
    pick: fn(f64, f64, f64) -> f64,
) -> Vec<(u64, f64)> {
    run.probe_of(estimator)
        .map(|p| (p.generations as u64, pick(p.grad_var, p.snr, p.cos_to_ref)))
        .collect()
}

pub fn grad_variance(data: &Data) -> Result<(Figure, String), String> {
    let sweep = data.sweep;
    let panels = probe_panels(sweep, |runs| {
        probe_lines(&sweep.probed, runs, true, |r, e| column(r, e, |v, _, _| v))
    })?;
    let mut figure = probe_figure(
        sweep,
        "Gradient variance of one batch's estimate (probe, same weights and samples)",
        "grad_var (squared gradient norm, log scale)",
        panels,
    );
    figure.subtitle = GEOMETRIC_SUBTITLE.into();
    figure.log_y = true;
    let caption = format!(
        "The probe's variance of one batch's gradient estimate at the current weights, in the \
         gradient's raw units (log scale): {GEOMETRIC_BAND}. Raw units compare only estimators \
         with the same expectation (reinforce, reinforce_ema, rloo): GRPO and REINFORCE++ \
         divide by a reward std, which shrinks their variance and their signal alike."
    );
    Ok((
        finite(figure, "no positive grad_var in probe.csv")?,
        caption,
    ))
}

pub fn variance_ratio(data: &Data) -> Result<(Figure, String), String> {
    let sweep = data.sweep;
    over_training(sweep)?;
    if !sweep.probed.contains(&REFERENCE) {
        return Err(format!("the probe did not include {REFERENCE}"));
    }
    let compared: Vec<Estimator> = sweep
        .probed
        .iter()
        .copied()
        .filter(|&e| e != REFERENCE && same_expectation_as_rloo(e))
        .collect();
    if compared.is_empty() {
        return Err(format!(
            "no probed estimator besides {REFERENCE} has its expectation (reinforce, \
             reinforce_ema); the others are compared by SNR and cosine"
        ));
    }
    let panels = probe_panels(sweep, |runs| {
        probe_lines(&compared, runs, true, paired_ratios)
    })?;
    let mut figure = probe_figure(
        sweep,
        "Gradient variance ÷ RLOO's at the same probe (RLOO = 1, black line)",
        "grad_var ÷ RLOO's grad_var (log scale)",
        panels,
    );
    figure.subtitle = "only estimators with RLOO's expectation; geometric mean over seeds; band: \
                       95 % geometric t-interval"
        .into();
    figure.legend = legend(&compared);
    figure.log_y = true;
    figure.reference = Some(1.0);
    let caption = format!(
        "Each estimator's gradient variance divided by RLOO's at the same probe, from the same \
         samples (log scale), shown only for the estimators whose expected gradient is RLOO's; \
         {GEOMETRIC_BAND}. Rescaled or biased estimators (grpo, dr_grpo, reinforce_pp) are left \
         out: their variance ratio would not measure quality (see snr.png and cos_to_ref.png)."
    );
    Ok((
        finite(figure, "no probe where both variances are positive")?,
        caption,
    ))
}

pub fn snr(data: &Data) -> Result<(Figure, String), String> {
    let sweep = data.sweep;
    let panels = probe_panels(sweep, |runs| {
        probe_lines(&sweep.probed, runs, false, |r, e| column(r, e, |_, s, _| s))
    })?;
    let mut figure = probe_figure(
        sweep,
        "Gradient signal-to-noise ratio (probe): ‖mean‖² less its noise, over the variance",
        "SNR (dimensionless, unclipped)",
        panels,
    );
    figure.subtitle = T_SUBTITLE.into();
    let caption = format!(
        "The probe's signal-to-noise ratio (‖ḡ‖² − grad_var/M) ÷ grad_var of every probed \
         estimator, unclipped (negative where the mean gradient is within its noise): mean over \
         seeds, {T_BAND}. Free of the gradient's scale, so it compares every estimator. A \
         saturated probe (every reward equal) defines no SNR: it is left out, and each panel's \
         title counts the runs that had one."
    );
    Ok((finite(figure, "no finite snr in probe.csv")?, caption))
}

pub fn cos_to_ref(data: &Data) -> Result<(Figure, String), String> {
    let sweep = data.sweep;
    let panels = probe_panels(sweep, |runs| {
        probe_lines(&sweep.probed, runs, false, |r, e| column(r, e, |_, _, c| c))
    })?;
    let mut figure = probe_figure(
        sweep,
        "Cosine of each estimator's mean gradient to the reference direction (probe)",
        "cos to reference",
        panels,
    );
    figure.subtitle = T_SUBTITLE.into();
    let caption = format!(
        "The cosine between one batch's gradient and a held-out reference direction (the mean \
         gradient, over the probe's other batches, of the unbiased estimator with the lowest \
         variance at that probe), averaged over the probe's batches: mean over seeds, {T_BAND}. Free of the gradient's scale, so it compares every estimator."
    );
    Ok((
        finite(figure, "no finite cos_to_ref in probe.csv")?,
        caption,
    ))
}
