//! The answer section's forest plots (drawn by `forest_chart.rs`): one row per claim, under a
//! heading per probe step or endpoint, each row's name and numbers on the left.
//! `forest_variance.png`: each estimator's gradient variance ÷ RLOO's (log scale), beside the
//! ratio the rewards' moments predict; `forest_snr.png` and `forest_cosine.png`: every probed
//! estimator's signal-to-noise ratio and cosine to the reference direction, the measures that
//! compare estimators of different scale; `forest_learning.png`: each head-to-head difference at
//! the best learning rates, the primary endpoint first.

use pglab_estimator::stats::Spread;

use super::{Data, color};
use crate::answer::Claim;
use crate::forest_chart::{Forest, ForestRow};
use crate::table::number;
use crate::variance::{ProbeSummary, REFERENCE};

/// `forest_variance.png`.
pub fn variance(data: &Data) -> Result<(Forest, String), String> {
    let rows = by_step(data.probes, |p| {
        let ratio = p
            .ratio
            .filter(|_| p.same_expectation_as_rloo && p.estimator != REFERENCE)?;
        let predicted = p
            .predicted
            .map_or(String::new(), |v| format!(", predicted {}", number(v)));
        Some(ForestRow {
            label: format!(
                "{} ÷ {REFERENCE}: {}{predicted}",
                p.estimator,
                with_interval(ratio.mean, ratio.interval)
            ),
            estimate: Some(ratio.mean),
            interval: ratio.interval,
            color: color(p.estimator),
        })
    });
    if rows.is_empty() {
        return Err(format!(
            "no probed estimator besides {REFERENCE} with its expectation has a variance ratio"
        ));
    }
    let forest = Forest {
        title: "Gradient variance ÷ RLOO's, at each probe step (1 = the same)".into(),
        subtitle: "dot: geometric mean over runs of the paired ratio; bar: its 95 % interval"
            .into(),
        x_label: "one-batch gradient variance ÷ RLOO's (log scale)".into(),
        log_x: true,
        null: 1.0,
        rows,
    };
    let caption = "One row per estimator with RLOO's expectation, under a heading per probe step \
                   (the start, where every run has the same weights, first): the geometric mean \
                   over runs of the paired ratio of its one-batch gradient variance to RLOO's, \
                   with the 95 % geometric t-interval as a bar, and the ratio the probe's reward \
                   mean and variance alone predict (were rewards independent of the score \
                   function). A bar clear of the line at 1 is a resolved difference; \
                   variance.csv has the numbers."
        .to_string();
    Ok((forest, caption))
}

/// `forest_snr.png`.
pub fn snr(data: &Data) -> Result<(Forest, String), String> {
    let forest = spread_forest(
        data,
        |p| p.snr,
        "Signal-to-noise ratio of one batch's gradient, at each probe step",
        "SNR: ‖mean gradient‖² ÷ its variance (one batch)",
    )
    .ok_or("no probe with a defined SNR (every probe saturated, or none run)")?;
    let caption = "One row per probed estimator (and token reduction, where the probe measured \
                   several) under a heading per probe step: the mean over \
                   runs of the probe's SNR (how much of a one-batch gradient is signal; it does \
                   not depend on the gradient's scale, so biased estimators compare too), with \
                   its 95 % t-interval. Saturated probes (every reward equal: 0/0) are left out \
                   and counted in variance.csv."
        .to_string();
    Ok((forest, caption))
}

/// `forest_cosine.png`.
pub fn cosine(data: &Data) -> Result<(Forest, String), String> {
    let forest = spread_forest(
        data,
        |p| p.cos_to_ref,
        "Cosine of one batch's gradient to the reference direction",
        "cosine to the held-out reference (1 = the same direction)",
    )
    .ok_or("no probe with a defined cosine (every probe saturated, or none run)")?;
    let caption = "One row per probed estimator (and token reduction, where the probe measured \
                   several) under a heading per probe step: the mean over \
                   runs of each batch's cosine to the reference direction (the lowest-variance \
                   unbiased estimator's gradient summed over the probe's other batches), with \
                   its 95 % t-interval. Saturated probes are left out and counted in \
                   variance.csv."
        .to_string();
    Ok((forest, caption))
}

/// `forest_learning.png`.
pub fn learning(data: &Data) -> Result<(Forest, String), String> {
    let claims: Vec<&Claim> = data
        .claims
        .iter()
        .filter(|c| c.question == "learning" && c.estimate.is_some())
        .collect();
    if claims.is_empty() {
        return Err("no two estimators with finished runs at a best learning rate".into());
    }
    let mut rows = Vec::new();
    for role in ["primary", "secondary"] {
        let mut heading = false;
        for c in claims.iter().filter(|c| c.role == role) {
            let endpoint = c.id.split(':').nth(1).unwrap_or("");
            if !heading {
                rows.push(heading_row(&format!(
                    "{role} endpoint{}",
                    if role == "primary" {
                        format!(": {endpoint}")
                    } else {
                        "s".into()
                    }
                )));
                heading = true;
            }
            let pair = c.id.split(':').nth(2).unwrap_or("").replace('-', " − ");
            let interval = c.ci95_low.zip(c.ci95_high);
            let estimate = c.estimate.unwrap_or(f64::NAN);
            // The primary endpoint is named by its heading; secondary rows name their own.
            let name = if role == "primary" {
                pair
            } else {
                format!("{endpoint}, {pair}")
            };
            rows.push(ForestRow {
                label: format!("{name}: {}", with_interval(estimate, interval)),
                estimate: Some(estimate),
                interval,
                color: if role == "primary" {
                    super::PALETTE_PRIMARY
                } else {
                    super::PALETTE_SECONDARY
                },
            });
        }
    }
    let forest = Forest {
        title: "Head to head at the best learning rates (0 = no difference)".into(),
        subtitle: "dot: difference of the means over seeds; bar: 95 % percentile bootstrap \
                   interval"
            .into(),
        x_label: "difference of means (reward)".into(),
        log_x: false,
        null: 0.0,
        rows,
    };
    let caption = "One row per comparison of two estimators, each at its own best learning rate \
                   (the primary endpoint first, in blue): the difference of the means over \
                   seeds with its 95 % percentile bootstrap interval (10,000 seeded resamples of \
                   each side's runs). A bar clear of 0 is a resolved difference; answer.csv has \
                   the numbers and what each rests on, head_to_head.csv Welch's interval beside \
                   it."
    .to_string();
    Ok((forest, caption))
}

/// Rows under a heading per probe step, from `row` of each (estimator, step) that has one.
fn by_step(
    probes: &[ProbeSummary],
    row: impl Fn(&ProbeSummary) -> Option<ForestRow>,
) -> Vec<ForestRow> {
    let mut steps: Vec<usize> = probes.iter().map(|p| p.probe_step).collect();
    steps.sort_unstable();
    steps.dedup();
    let mut rows = Vec::new();
    for step in steps {
        let at_step: Vec<ForestRow> = probes
            .iter()
            .filter(|p| p.probe_step == step)
            .filter_map(&row)
            .collect();
        if at_step.is_empty() {
            continue;
        }
        rows.push(heading_row(&if step == 0 {
            "probe step 0, the start (every run at the same weights)".to_string()
        } else {
            format!("probe step {step} (runs trained differently until here)")
        }));
        rows.extend(at_step);
    }
    rows
}

/// A forest of a per-run statistic's mean and t-interval; None when no row has one.
fn spread_forest(
    data: &Data,
    pick: fn(&ProbeSummary) -> Option<Spread>,
    title: &str,
    x_label: &str,
) -> Option<Forest> {
    // Under several token reductions, each estimator's rows together, one per reduction.
    let first = data.all_probes.first().map(|p| p.token_reduction);
    let several = data
        .all_probes
        .iter()
        .any(|p| Some(p.token_reduction) != first);
    let mut probes = data.all_probes.to_vec();
    let position = |p: &ProbeSummary| data.sweep.probed.iter().position(|&e| e == p.estimator);
    probes.sort_by_key(position);
    let rows = by_step(&probes, |p| {
        let s = pick(p)?;
        let left_out = if p.left_out > 0 {
            format!(" ({} saturated left out)", p.left_out)
        } else {
            String::new()
        };
        let name = match (several, p.token_reduction) {
            (true, Some(reduction)) => format!("{}, {}", p.estimator, reduction.name()),
            _ => p.estimator.to_string(),
        };
        Some(ForestRow {
            label: format!("{name}: {}{left_out}", with_interval(s.mean, s.interval())),
            estimate: Some(s.mean),
            interval: s.interval(),
            color: color(p.estimator),
        })
    });
    (!rows.is_empty()).then(|| Forest {
        title: title.into(),
        subtitle: "dot: mean over runs; bar: its 95 % t-interval".into(),
        x_label: x_label.into(),
        log_x: false,
        null: 0.0,
        rows,
    })
}

fn heading_row(text: &str) -> ForestRow {
    ForestRow {
        label: text.to_string(),
        estimate: None,
        interval: None,
        color: plotters::style::BLACK,
    }
}

/// `18.2 [16.6, 20.0]`, or the estimate alone.
fn with_interval(estimate: f64, interval: Option<(f64, f64)>) -> String {
    match interval {
        Some((lo, hi)) => format!("{} [{}, {}]", number(estimate), number(lo), number(hi)),
        None => number(estimate),
    }
}
