//! The answer section's forest plots: one row per claim, its estimate as a dot and its 95 %
//! interval as a bar, against the line of no effect. `forest_variance.png`: each estimator's
//! gradient variance ÷ RLOO's at each probe step (log scale, a ratio of 1 marked); the start
//! first. `forest_learning.png`: each head-to-head difference at the best learning rates
//! (0 marked), the primary endpoint first. Rows run left to right, each dot labelled.

use super::{Data, color};
use crate::answer::Claim;
use crate::plot::{Figure, Line, Panel};
use crate::variance::REFERENCE;

/// `forest_variance.png`.
pub fn variance(data: &Data) -> Result<(Figure, String), String> {
    let mut lines = Vec::new();
    let mut legend = Vec::new();
    let rows = data
        .probes
        .iter()
        .filter(|p| p.same_expectation_as_rloo && p.estimator != REFERENCE)
        .filter_map(|p| Some((p, p.ratio?)));
    for (i, (p, ratio)) in rows.enumerate() {
        let x = i as f64;
        let mut line = Line::new(color(p.estimator), vec![(x, ratio.mean)]);
        (line.dots, line.connect) = (true, false);
        line.error_bars
            .extend(ratio.interval.map(|(lo, hi)| (x, lo, hi)));
        let step = if p.probe_step == 0 {
            "start".to_string()
        } else {
            format!("step {}", p.probe_step)
        };
        line.labels
            .push((x, ratio.mean, format!("{} · {step}", p.estimator)));
        lines.push(line);
        let name = p.estimator.to_string();
        if !legend.iter().any(|(n, _)| *n == name) {
            legend.push((name, color(p.estimator)));
        }
    }
    if lines.is_empty() {
        return Err(format!(
            "no probed estimator besides {REFERENCE} with its expectation has a variance ratio"
        ));
    }
    let figure = forest(
        "Gradient variance ÷ RLOO's, each probe step apart (1 = no difference)",
        "grad_var ÷ RLOO's (log scale)",
        lines,
        legend,
        true,
        1.0,
    );
    let caption = "One row per estimator with RLOO's expectation and probe step (the start, \
                   where every run has the same weights, first): the geometric mean over runs of \
                   the paired ratio of its one-batch gradient variance to RLOO's, with the 95 % \
                   geometric t-interval as a bar (a bar reaching more than a decade past the \
                   dots is cut at the axis). A bar clear of the line at 1 is a resolved \
                   difference; variance.csv has the numbers."
        .to_string();
    Ok((figure, caption))
}

/// `forest_learning.png`.
pub fn learning(data: &Data) -> Result<(Figure, String), String> {
    let claims: Vec<&Claim> = data
        .claims
        .iter()
        .filter(|c| c.question == "learning" && c.estimate.is_some())
        .collect();
    if claims.is_empty() {
        return Err("no two estimators with finished runs at a best learning rate".into());
    }
    let mut lines = Vec::new();
    for (i, c) in claims.iter().enumerate() {
        let (x, y) = (i as f64, c.estimate.unwrap_or(f64::NAN));
        let colour = if c.role == "primary" {
            super::PALETTE_PRIMARY
        } else {
            super::PALETTE_SECONDARY
        };
        let mut line = Line::new(colour, vec![(x, y)]);
        (line.dots, line.connect) = (true, false);
        if let (Some(lo), Some(hi)) = (c.ci95_low, c.ci95_high) {
            line.error_bars.push((x, lo, hi));
        }
        let endpoint = c.id.split(':').nth(1).unwrap_or("");
        let pair = c.id.split(':').nth(2).unwrap_or("");
        line.labels.push((x, y, format!("{endpoint}: {pair}")));
        lines.push(line);
    }
    let legend = vec![
        ("primary endpoint".to_string(), super::PALETTE_PRIMARY),
        ("secondary".to_string(), super::PALETTE_SECONDARY),
    ];
    let figure = forest(
        "Head to head at the best learning rates (0 = no difference)",
        "difference of means (reward)",
        lines,
        legend,
        false,
        0.0,
    );
    let caption = "One row per comparison of two estimators, each at its own best learning rate, \
                   the primary endpoint first: the difference of the means over seeds with \
                   Welch's 95 % interval as a bar. A bar clear of 0 is a resolved difference; \
                   answer.csv has the numbers and what each rests on."
        .to_string();
    Ok((figure, caption))
}

fn forest(
    title: &str,
    y_label: &str,
    lines: Vec<Line>,
    legend: Vec<(String, plotters::style::RGBColor)>,
    log_y: bool,
    null: f64,
) -> Figure {
    Figure {
        title: title.into(),
        subtitle: "dot: the estimate; bar: its 95 % interval".into(),
        x_label: "claim (left to right, as labelled)".into(),
        y_label: y_label.into(),
        log_x: false,
        x_ticks: Vec::new(),
        log_y,
        panels: vec![Panel {
            title: String::new(),
            lines,
        }],
        columns: 1,
        legend,
        reference: Some(null),
    }
}
