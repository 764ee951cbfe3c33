//! The KL trade-off of sweeps whose runs log a KL estimate (a KL penalty, `train.kl_coef` > 0):
//! each grid point's final reward against its final KL, both as means over seeds with their
//! 95 % t-intervals — as a table here, and as a figure (`figures/kl_tradeoff.rs`,
//! `kl_tradeoff.png`, error bars both ways, points labelled by kl_coef).

use crate::groups::GroupRow;
use crate::load::{Sweep, leaf, short_value};
use crate::record::FINAL_WINDOW;
use crate::table::{Cells, spread_cell};

/// The grid column of the KL coefficient, when the sweep varies it.
pub(crate) fn kl_coef_column(sweep: &Sweep) -> Option<usize> {
    sweep
        .panel_columns
        .iter()
        .position(|c| leaf(c) == "kl_coef")
}

/// How a group's point is labelled: `β = 0.1` by its kl_coef, else by its grid point.
pub(crate) fn point_label(sweep: &Sweep, row: &GroupRow) -> String {
    match kl_coef_column(sweep) {
        Some(c) => format!("β = {}", short_value(&row.panel_values[c])),
        None => row.panel.clone(),
    }
}

/// The table: every group, those without KL too (their final reward is the reference a KL
/// penalty trades against); None when no run logged KL.
pub fn cells(sweep: &Sweep, rows: &[GroupRow]) -> Option<Cells> {
    if rows.iter().all(|r| r.final_kl.is_none()) {
        return None;
    }
    let mut header: Vec<String> = vec!["estimator".into()];
    header.extend(sweep.panel_columns.iter().map(|c| leaf(c).to_string()));
    header.extend(["runs (finished)", "final KL", "final reward"].map(String::from));
    let rows = rows
        .iter()
        .map(|row| {
            let mut cells = vec![row.estimator.to_string()];
            cells.extend(row.panel_values.iter().map(|v| short_value(v)));
            cells.extend([
                format!("{} ({})", row.runs, row.finished),
                spread_cell(row.final_kl),
                spread_cell(row.final_reward),
            ]);
            cells
        })
        .collect();
    Some(Cells { header, rows })
}

pub fn note() -> String {
    format!(
        "Final KL: a run's mean KL estimate against the starting model over its last \
         {FINAL_WINDOW} steps; final reward: its mean reward over the same steps. Mean over the \
         finished seeds, 95 % Student-t interval of the mean in brackets (none from one run). \
         Runs with kl_coef = 0 log no KL: their rows give the reward without a penalty, and \
         kl_tradeoff.png has no point for them."
    )
}
