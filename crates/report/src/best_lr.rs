//! Each estimator at its own best learning rate: the head-to-head that a fixed learning rate
//! would bias towards whichever estimator that rate suits. The best rate is the one with the
//! highest mean over seeds of the declared primary endpoint (`[report] primary`: the mean reward
//! over training by default, the final reward if declared; ties go to the lower rate), so that
//! the rate is picked by the measure the answer leads with; when it is the smallest or
//! largest rate of the grid the summary warns that the optimum may lie outside the grid.
//! Only for sweeps whose `train.lr` takes at least two values.

use pglab_estimator::Estimator;
use pglab_estimator::stats::{Spread, welch95};
use serde::{Deserialize, Serialize};

use crate::ReportOptions;
use crate::answer::Endpoint;
use crate::groups::{GroupRow, group_rows, success_cell};
use crate::load::{Sweep, format_float, label_without, line_label};
use crate::summary_csv::LR;
use crate::table::{Cells, number, spread_cell};

/// One estimator (at one setting of the grid's other keys) at its best learning rate.
#[derive(Debug, Clone, PartialEq)]
pub struct BestLr<'a> {
    /// `rloo`, or `rloo (k = 4)` when other keys vary.
    pub label: String,
    pub estimator: Estimator,
    /// Its group at the best rate.
    pub row: &'a GroupRow,
    /// The rates it ran at, ascending.
    pub grid: Vec<f64>,
}

impl BestLr<'_> {
    pub fn lr(&self) -> f64 {
        self.row.lr.unwrap_or(f64::NAN)
    }

    /// Whether the best rate is the grid's smallest or largest (of at least two).
    pub fn at_edge(&self) -> bool {
        self.grid.len() >= 2
            && (self.lr() == self.grid[0] || self.lr() == self.grid[self.grid.len() - 1])
    }
}

/// The index of the best of (lr, mean of the endpoint) pairs: the highest mean, the lower rate on
/// a tie; None when no mean is finite.
pub fn best_index(points: &[(f64, f64)]) -> Option<usize> {
    points
        .iter()
        .enumerate()
        .filter(|(_, (_, mean))| mean.is_finite())
        .reduce(|best, next| {
            let ((_, (lr_b, mean_b)), (_, (lr_n, mean_n))) = (best, next);
            if mean_n > mean_b || (mean_n == mean_b && lr_n < lr_b) {
                next
            } else {
                best
            }
        })
        .map(|(i, _)| i)
}

/// Every line's best rate, in the groups' order; None when the sweep's `train.lr` has fewer
/// than two values.
pub fn best_lrs<'a>(
    sweep: &Sweep,
    rows: &'a [GroupRow],
    endpoint: Endpoint,
) -> Option<Vec<BestLr<'a>>> {
    let mut lrs: Vec<f64> = rows.iter().filter_map(|r| r.lr).collect();
    lrs.sort_by(f64::total_cmp);
    lrs.dedup();
    if lrs.len() < 2 {
        return None;
    }
    let mut lines: Vec<(String, Vec<&GroupRow>)> = Vec::new();
    for row in rows.iter().filter(|r| r.lr.is_some()) {
        let label = line_label(row.estimator, &label_without(sweep, &row.panel_values, LR));
        match lines.iter_mut().find(|(l, _)| *l == label) {
            Some((_, group)) => group.push(row),
            None => lines.push((label, vec![row])),
        }
    }
    // Lines in the sweep's estimator order (the grid's), not in the order their rates sort:
    // the head-to-head's pairs, and so the sign of each difference, follow it.
    let position = |e: Estimator| sweep.estimators.iter().position(|&x| x == e);
    lines.sort_by_key(|(_, group)| position(group[0].estimator));
    let best = lines
        .into_iter()
        .filter_map(|(label, group)| {
            let points: Vec<(f64, f64)> = group
                .iter()
                .map(|r| {
                    let spread = match endpoint {
                        Endpoint::Auc => r.auc,
                        Endpoint::FinalReward => r.final_reward,
                    };
                    let mean = spread.map_or(f64::NAN, |s| s.mean);
                    (r.lr.unwrap_or(f64::NAN), mean)
                })
                .collect();
            let row = group[best_index(&points)?];
            let mut grid: Vec<f64> = group.iter().filter_map(|r| r.lr).collect();
            grid.sort_by(f64::total_cmp);
            grid.dedup();
            Some(BestLr {
                label,
                estimator: row.estimator,
                row,
                grid,
            })
        })
        .collect();
    Some(best)
}

/// Which runs pick each estimator's best rate and which compare them. With
/// `[report] selection_seeds`, the rate is picked on those seeds' runs and the head-to-head is
/// computed on the other seeds' runs only: picking and comparing on the same runs flatters the
/// winner (the best of three noisy rates is noisy upwards).
pub struct Selection {
    pub picked_on: Vec<GroupRow>,
    pub compared_on: Vec<GroupRow>,
    /// The seeds the rates were picked on; empty when every run does both.
    pub selection_seeds: Vec<String>,
    /// What the rates were picked by: the primary endpoint.
    pub endpoint: Endpoint,
}

/// A subset of a sweep's seeds, as an experiment file names it: `[0, 1]` (these seeds) or `2`
/// (the sweep's two lowest, so that a replicate run with other seeds, `--grid seed=…`, takes as
/// many). `[report] selection_seeds` and `[probe] seeds` are ones.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum SeedSubset {
    /// `= 2`: the two lowest seeds the sweep runs.
    Lowest(usize),
    /// `= [0, 1]`: these seeds.
    Listed(Vec<u64>),
}

impl Default for SeedSubset {
    /// No seed.
    fn default() -> Self {
        SeedSubset::Listed(Vec::new())
    }
}

impl SeedSubset {
    /// The subset of `seeds` (the sweep's, in any order, repeats allowed), ascending. Err names
    /// a listed seed the sweep does not run.
    pub fn pick(&self, seeds: &[u64]) -> Result<Vec<u64>, String> {
        let all = distinct(seeds);
        match self {
            SeedSubset::Lowest(n) => Ok(all.iter().take(*n).copied().collect()),
            SeedSubset::Listed(list) => {
                if let Some(missing) = list.iter().find(|s| !all.contains(s)) {
                    return Err(format!(
                        "seed {missing} is not one the sweep runs ({})",
                        seed_list(&all)
                    ));
                }
                let mut list = list.clone();
                list.sort_unstable();
                list.dedup();
                Ok(list)
            }
        }
    }

    /// [`pick`](Self::pick) for `[report] selection_seeds`, which must also leave at least one
    /// seed to compare the picked rates on.
    pub fn pick_for_selection(&self, seeds: &[u64]) -> Result<Vec<u64>, String> {
        let chosen = self.pick(seeds)?;
        let all = distinct(seeds);
        if !chosen.is_empty() && chosen.len() >= all.len() {
            return Err(format!(
                "{} of the sweep's {} seeds ({}) pick the rates, which leaves none to compare them on",
                chosen.len(),
                all.len(),
                seed_list(&all)
            ));
        }
        Ok(chosen)
    }
}

/// `seeds` ascending, each once.
fn distinct(seeds: &[u64]) -> Vec<u64> {
    let mut all = seeds.to_vec();
    all.sort_unstable();
    all.dedup();
    all
}

fn seed_list(seeds: &[u64]) -> String {
    let names: Vec<String> = seeds.iter().map(u64::to_string).collect();
    names.join(", ")
}

impl Selection {
    pub fn of(sweep: &Sweep, options: &ReportOptions) -> Self {
        let ran: Vec<u64> = sweep
            .runs
            .iter()
            .filter_map(|r| r.seed.parse().ok())
            .collect();
        // The runner refuses a selection that cannot work before the sweep starts; a directory
        // that still has one (assembled by hand) is reported as if every run did both.
        let chosen = options
            .selection_seeds
            .pick_for_selection(&ran)
            .unwrap_or_default();
        let seeds: Vec<String> = chosen.iter().map(u64::to_string).collect();
        if seeds.is_empty() {
            let rows = group_rows(sweep, options);
            return Self {
                picked_on: rows.clone(),
                compared_on: rows,
                selection_seeds: seeds,
                endpoint: options.primary,
            };
        }
        let part = |selecting: bool| {
            let mut part = sweep.clone();
            part.runs.retain(|r| seeds.contains(&r.seed) == selecting);
            group_rows(&part, options)
        };
        Self {
            picked_on: part(true),
            compared_on: part(false),
            selection_seeds: seeds,
            endpoint: options.primary,
        }
    }

    /// Each line's best rate as picked, with its row among the runs that compare.
    pub fn best(&self, sweep: &Sweep) -> Option<Vec<BestLr<'_>>> {
        let picked = best_lrs(sweep, &self.picked_on, self.endpoint)?;
        let best = picked
            .into_iter()
            .filter_map(|b| {
                let row = self.compared_on.iter().find(|r| {
                    r.estimator == b.row.estimator
                        && r.panel_values == b.row.panel_values
                        && r.lr == b.row.lr
                })?;
                Some(BestLr { row, ..b })
            })
            .collect();
        Some(best)
    }

    /// What the head-to-head rests on, in words.
    pub fn describe(&self) -> String {
        if self.selection_seeds.is_empty() {
            "the best rates picked from the same seeds".into()
        } else {
            format!(
                "the best rates picked on seeds {} and compared on the other seeds only",
                self.selection_seeds.join(", ")
            )
        }
    }
}

pub fn cells(best: &[BestLr], options: &ReportOptions) -> Cells {
    let mut header: Vec<String> = ["estimator", "best lr", "lrs run", "runs (finished)"]
        .map(String::from)
        .to_vec();
    header.push("final reward".into());
    if let Some(t) = options.success_reward {
        header.push(format!("success (final reward ≥ {})", number(t)));
    }
    header.push("mean reward over training (AUC)".into());
    let rows = best
        .iter()
        .map(|b| {
            let grid: Vec<String> = b.grid.iter().map(|&lr| format_float(lr)).collect();
            let mut cells = vec![
                b.label.clone(),
                format_float(b.lr()),
                grid.join(", "),
                format!("{} ({})", b.row.runs, b.row.finished),
                spread_cell(b.row.final_reward),
            ];
            if options.success_reward.is_some() {
                cells.push(success_cell(b.row.success.as_ref()));
            }
            cells.push(spread_cell(b.row.auc));
            cells
        })
        .collect();
    Cells { header, rows }
}

/// Every pair of lines at their best rates, the later in the table minus the earlier
/// (`rloo − reinforce`): the difference of mean final rewards and of mean rewards over training,
/// each with Welch's 95 % interval. None with fewer than two lines.
pub fn head_to_head(best: &[BestLr]) -> Option<Cells> {
    if best.len() < 2 {
        return None;
    }
    let difference = |a: Option<Spread>, b: Option<Spread>| -> String {
        match a.zip(b).and_then(|(a, b)| welch95(&a, &b)) {
            Some((d, low, high)) => {
                let verdict = if low > 0.0 || high < 0.0 {
                    "excludes 0"
                } else {
                    "includes 0"
                };
                format!(
                    "{} [{}, {}] ({verdict})",
                    number(d),
                    number(low),
                    number(high)
                )
            }
            None => "–".into(),
        }
    };
    let header = [
        "difference at the best rates",
        "final reward",
        "mean reward over training (AUC)",
    ]
    .map(String::from)
    .to_vec();
    let mut rows = Vec::new();
    for (i, earlier) in best.iter().enumerate() {
        for later in &best[i + 1..] {
            rows.push(vec![
                format!(
                    "{} ({}) − {} ({})",
                    later.label,
                    format_float(later.lr()),
                    earlier.label,
                    format_float(earlier.lr())
                ),
                difference(later.row.final_reward, earlier.row.final_reward),
                difference(later.row.auc, earlier.row.auc),
            ]);
        }
    }
    Some(Cells { header, rows })
}

pub const HEAD_TO_HEAD_NOTE: &str = "The difference of the two means over seeds, with Welch's 95 % \
     interval (unequal variances; Welch–Satterthwaite degrees of freedom, rounded down). This, \
     not whether the two rows' own intervals overlap, says whether one estimator is ahead: two \
     overlapping intervals can still have a difference whose interval excludes 0.";

/// The warnings under the table: a best rate at the edge of its grid.
pub fn warnings(best: &[BestLr]) -> Vec<String> {
    best.iter()
        .filter(|b| b.at_edge())
        .map(|b| {
            let side = if b.lr() == b.grid[0] {
                "smallest"
            } else {
                "largest"
            };
            format!(
                "{}: best lr at the edge of the grid ({}, the {side} of {}): the optimum may \
                 lie outside it.",
                b.label,
                format_float(b.lr()),
                b.grid
                    .iter()
                    .map(|&lr| format_float(lr))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect()
}

pub fn note(options: &ReportOptions, selection: &Selection) -> String {
    let success = match options.success_reward {
        Some(_) => " (success rate: the Wilson 95 % interval)",
        None => "",
    };
    let endpoint = match options.primary {
        Endpoint::Auc => "mean reward over training (the primary endpoint)",
        Endpoint::FinalReward => "final reward (the primary endpoint)",
    };
    format!(
        "Each estimator at the learning rate where its {endpoint} over seeds is highest \
         (ties: the lower rate), so that no estimator is judged at a rate that suits another. \
         Mean over the finished seeds with the 95 % Student-t interval of the mean in \
         brackets{success}. {}",
        if selection.selection_seeds.is_empty() {
            "The best rate is picked from the same runs it is reported on, which flatters it \
             slightly."
                .to_string()
        } else {
            format!(
                "The best rates were picked on seeds {}; the rows are the other seeds' runs, \
                 so the pick does not flatter them.",
                selection.selection_seeds.join(", ")
            )
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_subsets_are_the_lowest_n_or_the_listed_ones_and_selections_leave_some() {
        let ran = [5, 3, 9, 3, 7];
        assert_eq!(SeedSubset::Lowest(2).pick(&ran), Ok(vec![3, 5]));
        assert_eq!(SeedSubset::Listed(vec![9, 3]).pick(&ran), Ok(vec![3, 9]));
        assert_eq!(SeedSubset::default().pick(&ran), Ok(vec![]));
        assert_eq!(
            SeedSubset::Listed(vec![4]).pick(&ran),
            Err("seed 4 is not one the sweep runs (3, 5, 7, 9)".into())
        );
        // All of them is a subset, but not a selection: nothing would be left to compare.
        assert_eq!(SeedSubset::Lowest(9).pick(&ran), Ok(vec![3, 5, 7, 9]));
        assert_eq!(
            SeedSubset::Lowest(4).pick_for_selection(&ran),
            Err("4 of the sweep's 4 seeds (3, 5, 7, 9) pick the rates, which leaves none to compare them on".into())
        );
        let parse = |json: &str| serde_json::from_str::<ReportOptions>(json);
        let lowest = parse(r#"{"selection_seeds": 2}"#).unwrap();
        assert_eq!(lowest.selection_seeds, SeedSubset::Lowest(2));
        let listed = parse(r#"{"selection_seeds": [0, 1]}"#).unwrap();
        assert_eq!(listed.selection_seeds, SeedSubset::Listed(vec![0, 1]));
        assert!(parse(r#"{"selection_seeds": "two"}"#).is_err());
    }

    #[test]
    fn the_best_rate_has_the_highest_mean_and_ties_go_to_the_lower_rate() {
        // 0.1 and 0.01 tie at 5; 1.0 is lower.
        let points = [(0.1, 5.0), (0.01, 5.0), (1.0, 4.0)];
        assert_eq!(best_index(&points), Some(1));
        assert_eq!(best_index(&[(0.1, f64::NAN), (0.3, 2.0)]), Some(1));
        assert_eq!(best_index(&[(0.1, f64::NAN)]), None);
        assert_eq!(best_index(&[]), None);
    }

    #[test]
    fn only_the_grid_ends_are_edges() {
        let row = |lr| GroupRow {
            estimator: Estimator::Rloo,
            panel: String::new(),
            panel_values: Vec::new(),
            lr: Some(lr),
            runs: 1,
            finished: 1,
            diverged: 0,
            failed: 0,
            final_reward: None,
            success: None,
            auc: None,
            final_rewards: Vec::new(),
            aucs: Vec::new(),
            final_kl: None,
            best_reward: None,
            generations_to_half_best: None,
            reached_half_best: 0,
        };
        let (low, mid, high) = (row(0.01), row(0.03), row(0.1));
        let best = |row| BestLr {
            label: "rloo".into(),
            estimator: Estimator::Rloo,
            row,
            grid: vec![0.01, 0.03, 0.1],
        };
        assert!(best(&low).at_edge() && best(&high).at_edge() && !best(&mid).at_edge());
        let lone = BestLr {
            grid: vec![0.03],
            ..best(&mid)
        };
        assert!(!lone.at_edge());
        assert_eq!(
            warnings(&[best(&high)]),
            [
                "rloo: best lr at the edge of the grid (0.1, the largest of 0.01, 0.03, 0.1): the \
              optimum may lie outside it."
            ]
        );
    }

    #[test]
    fn head_to_head_is_the_later_minus_the_earlier_with_welch_intervals() {
        use pglab_estimator::stats::spread;
        let row = |estimator, lr, finals: &[f64], aucs: &[f64]| GroupRow {
            estimator,
            panel: String::new(),
            panel_values: Vec::new(),
            lr: Some(lr),
            runs: finals.len(),
            finished: finals.len(),
            diverged: 0,
            failed: 0,
            final_reward: spread(finals),
            success: None,
            auc: spread(aucs),
            final_rewards: finals.to_vec(),
            aucs: aucs.to_vec(),
            final_kl: None,
            best_reward: None,
            generations_to_half_best: None,
            reached_half_best: 0,
        };
        // Final rewards: the hand-computed case of stats::welch95 (1.5 ± 4.209980); AUC: the
        // same values shifted so the difference, 11.5 ± 4.21, excludes 0.
        let reinforce = row(
            Estimator::Reinforce,
            3e-4,
            &[1.0, 2.0, 3.0, 4.0],
            &[1.0, 2.0, 3.0, 4.0],
        );
        let rloo = row(Estimator::Rloo, 3e-3, &[2.0, 4.0, 6.0], &[12.0, 14.0, 16.0]);
        let best = |label: &str, row| BestLr {
            label: label.into(),
            estimator: Estimator::Rloo,
            row,
            grid: vec![3e-4, 3e-3],
        };
        let cells = head_to_head(&[best("reinforce", &reinforce), best("rloo", &rloo)]).unwrap();
        assert_eq!(
            cells.rows,
            [[
                "rloo (3e-3) − reinforce (3e-4)",
                "1.50 [-2.71, 5.71] (includes 0)",
                "11.5 [7.29, 15.7] (excludes 0)"
            ]]
        );
        assert!(head_to_head(&[best("rloo", &rloo)]).is_none());
    }
}
