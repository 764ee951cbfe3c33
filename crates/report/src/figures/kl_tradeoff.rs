//! `kl_tradeoff.png`: the KL trade-off's figure (its table and labels: `crate::kl_tradeoff`).

use std::cmp::Ordering;

use super::{Data, color};
use crate::groups::GroupRow;
use crate::kl_tradeoff::{kl_coef_column, point_label};
use crate::load::{label_without, line_label};
use crate::plot::{Figure, Line, Panel};
use crate::record::FINAL_WINDOW;

/// `kl_tradeoff.png`: a point per group with KL, error bars both ways, one line per estimator
/// (and setting of the other grid keys) through its kl_coef values in order.
pub fn figure(data: &Data) -> Result<(Figure, String), String> {
    let sweep = data.sweep;
    let kl_column = kl_coef_column(sweep);
    let mut lines: Vec<(String, Vec<&GroupRow>)> = Vec::new();
    for row in data.groups {
        if row.final_kl.is_none() || row.final_reward.is_none() {
            continue;
        }
        let rest = match kl_column {
            Some(c) => label_without(sweep, &row.panel_values, &sweep.panel_columns[c]),
            None => String::new(),
        };
        let label = line_label(row.estimator, &rest);
        match lines.iter_mut().find(|(l, _)| *l == label) {
            Some((_, rows)) => rows.push(row),
            None => lines.push((label, vec![row])),
        }
    }
    if lines.is_empty() {
        return Err("no finished run logged a KL (kl_coef = 0 in every run)".into());
    }
    let legend = lines
        .iter()
        .map(|(label, rows)| (label.clone(), color(rows[0].estimator)))
        .collect();
    let drawn = lines
        .into_iter()
        .map(|(_, mut rows)| {
            if let Some(c) = kl_column {
                let coef = |r: &GroupRow| r.panel_values[c].parse::<f64>().unwrap_or(f64::NAN);
                rows.sort_by(|a, b| coef(a).partial_cmp(&coef(b)).unwrap_or(Ordering::Equal));
            }
            let mut line = Line::new(color(rows[0].estimator), Vec::new());
            // Points of different grid points are joined only along kl_coef.
            (line.dots, line.connect) = (true, kl_column.is_some());
            for row in rows {
                let (Some(kl), Some(reward)) = (row.final_kl, row.final_reward) else {
                    continue;
                };
                line.points.push((kl.mean, reward.mean));
                line.labels
                    .push((kl.mean, reward.mean, point_label(sweep, row)));
                line.error_bars
                    .extend(reward.interval().map(|(lo, hi)| (kl.mean, lo, hi)));
                line.x_error_bars
                    .extend(kl.interval().map(|(lo, hi)| (reward.mean, lo, hi)));
            }
            line
        })
        .collect();
    let figure = Figure {
        title: "KL trade-off: final reward against final KL".into(),
        subtitle: "mean over seeds; bars both ways: 95 % t-interval of the mean (unclipped)".into(),
        x_label: format!("final KL to the starting model (mean of the last {FINAL_WINDOW} steps)"),
        y_label: format!("final reward (mean of the last {FINAL_WINDOW} steps)"),
        log_x: false,
        x_ticks: Vec::new(),
        log_y: false,
        panels: vec![Panel {
            title: String::new(),
            lines: drawn,
        }],
        columns: 1,
        legend,
        reference: None,
    };
    let caption = "Final reward against final KL, one point per grid point with KL (labelled by \
                   its kl_coef β): means over the finished seeds, with the 95 % Student-t \
                   interval of each mean as bars both ways, unclipped. Runs with kl_coef = 0 log \
                   no KL and have no point; the table gives their reward."
        .to_string();
    Ok((figure, caption))
}
