//! A pretrained model directory's log: `pretrain.csv` (one [`PretrainRow`] per logged step)
//! and `loss.png`, its chart (training and held-out loss against the step, log scale).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::csv_rows::{self, field_names, format};
use crate::plot::{self, Figure, Line, PALETTE, Panel};
use crate::record::write_atomically;

/// One logged pretraining step, as `pretrain.csv` writes it: losses to six decimals, the
/// learning rate in scientific notation, the token rate to one decimal; empty where not
/// measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PretrainRow {
    pub step: usize,
    /// Loss (nats per token) of this step's batch, before the update.
    #[serde(serialize_with = "format::six_decimals")]
    pub train_loss: Option<f64>,
    /// Held-out loss (nats per token) after `step` steps.
    #[serde(serialize_with = "format::six_decimals")]
    pub eval_loss: Option<f64>,
    #[serde(serialize_with = "format::scientific")]
    pub lr: f64,
    #[serde(serialize_with = "format::one_decimal_always")]
    pub tokens_per_s: f64,
}

/// Writes `pretrain.csv` (the header too when there are no rows).
pub fn write_log(path: &Path, rows: &[PretrainRow]) -> anyhow::Result<()> {
    write_atomically(path, &csv_rows::write(field_names::<PretrainRow>(), rows)?)
}

/// Draws `loss.png`: the batch loss and the held-out loss against the step.
pub fn draw_loss(path: &Path, rows: &[PretrainRow]) -> anyhow::Result<()> {
    let line = |color, pick: fn(&PretrainRow) -> Option<f64>| {
        let points = rows
            .iter()
            .filter_map(|r| pick(r).map(|v| (r.step as f64, v)))
            .collect();
        Line::new(color, points)
    };
    let figure = Figure {
        title: "Pretraining loss".into(),
        subtitle: String::new(),
        x_label: "step".into(),
        y_label: "loss (nats per token, log scale)".into(),
        log_x: false,
        x_ticks: Vec::new(),
        log_y: true,
        panels: vec![Panel {
            title: String::new(),
            lines: vec![
                line(PALETTE[0], |r| r.train_loss),
                line(PALETTE[1], |r| r.eval_loss),
            ],
        }],
        columns: 1,
        legend: vec![
            ("train (batch)".into(), PALETTE[0]),
            ("held-out".into(), PALETTE[1]),
        ],
        reference: None,
    };
    plot::draw(path, &figure)
}
