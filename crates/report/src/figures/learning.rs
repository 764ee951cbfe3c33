//! Learning figures: reward against generations (every seed faintly behind the mean over
//! seeds and its 95 % t-interval band), every seed alone, and final reward against the
//! learning rate (every seed's final reward behind the mean and its 95 % t-interval bars).

use std::collections::BTreeMap;

use pglab_estimator::Estimator;
use pglab_estimator::stats::spread;
use plotters::style::RGBColor;

use super::{Data, REWARD, color, figure, finite, mean_line, runs_in, seed_count};
use crate::load::{RunCurves, label_without, line_label};
use crate::plot::{Figure, Line, PALETTE, Panel};
use crate::record::{FINAL_WINDOW, Status};
use crate::summary_csv::LR;

pub fn reward(data: &Data) -> Result<(Figure, String), String> {
    let sweep = data.sweep;
    let done = |panel: &str, estimator: Estimator| -> Vec<&RunCurves> {
        let finished = |r: &&RunCurves| r.status == Status::Done && r.estimator == estimator;
        sweep
            .runs
            .iter()
            .filter(|r| r.panel == panel)
            .filter(finished)
            .collect()
    };
    let panels = sweep
        .panels
        .iter()
        .map(|panel| {
            let mut seeds = Vec::new();
            let mut means = Vec::new();
            for &estimator in &sweep.estimators {
                let mut by_x: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
                for run in done(panel, estimator) {
                    for &(g, reward) in &run.rewards {
                        by_x.entry(g).or_default().push(reward);
                    }
                    let points = run.rewards.iter().map(|&(g, v)| (g as f64, v)).collect();
                    let mut line = Line::new(color(estimator), points);
                    (line.faint, line.width) = (true, 2);
                    seeds.push(line);
                }
                means.push(mean_line(color(estimator), by_x, false));
            }
            // Seeds first: the means are drawn over them.
            seeds.extend(means);
            Panel {
                title: panel.clone(),
                lines: seeds,
            }
        })
        .collect();
    let mut figure = figure(
        "Reward during training: mean over seeds",
        REWARD,
        panels,
        &sweep.estimators,
    );
    figure.legend = sweep
        .estimators
        .iter()
        .map(|&e| {
            let counts = sweep.panels.iter().map(|p| done(p, e).len());
            (format!("{e}: mean of {}", seed_count(counts)), color(e))
        })
        .collect();
    figure.subtitle =
        "pale: each finished seed; bold: mean over seeds; band: 95 % t-interval of the mean".into();
    let caption = "Reward against generations, one panel per grid point: each finished seed \
                   (pale), the mean over seeds (bold; the legend gives the number of seeds) and, \
                   as the band, the 95 % Student-t interval of that mean at each step — \
                   unclipped, so with few seeds that disagree it can run past every seed."
        .to_string();
    Ok((finite(figure, "no finished run")?, caption))
}

pub fn reward_seeds(data: &Data) -> Result<(Figure, String), String> {
    let sweep = data.sweep;
    let panels = sweep
        .panels
        .iter()
        .map(|panel| Panel {
            title: panel.clone(),
            lines: runs_in(sweep, panel)
                .filter(|r| r.status != Status::Failed)
                .map(|r| {
                    let points = r.rewards.iter().map(|&(g, v)| (g as f64, v)).collect();
                    let mut line = Line::new(color(r.estimator), points);
                    line.width = 2;
                    line.cross_at_end = r.status == Status::Diverged;
                    line
                })
                .collect(),
        })
        .collect();
    let mut figure = figure("Reward of every seed", REWARD, panels, &sweep.estimators);
    figure.subtitle = "one line per run, diverged runs included (× where one diverged)".into();
    let caption = "Every seed's reward curve, diverged runs included (× marks where a run \
                   diverged); no averaging, no band."
        .to_string();
    Ok((finite(figure, "no run with metrics")?, caption))
}

/// One line of `lr_sensitivity.png`: an estimator (at one setting of the other grid keys) and
/// its finished runs' final rewards at each learning rate.
struct LrLine {
    label: String,
    estimator: Estimator,
    color: RGBColor,
    finals: Vec<(f64, Vec<f64>)>,
}

impl LrLine {
    fn push(&mut self, lr: f64, reward: f64) {
        match self.finals.iter_mut().find(|(x, _)| *x == lr) {
            Some((_, rewards)) => rewards.push(reward),
            None => self.finals.push((lr, vec![reward])),
        }
    }

    /// Each seed's final reward (pale dots), then the means with their unclipped 95 %
    /// t-interval bars, moved sideways by `dodge` (a factor on the log axis).
    fn draw(mut self, dodge: f64) -> [Line; 2] {
        self.finals.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut seeds = Line::new(self.color, Vec::new());
        (seeds.faint, seeds.connect, seeds.dots) = (true, false, true);
        let mut means = Line::new(self.color, Vec::new());
        means.dots = true;
        for (lr, rewards) in &self.finals {
            let Some(s) = spread(rewards) else { continue };
            let x = lr * dodge;
            seeds.points.extend(rewards.iter().map(|&r| (x, r)));
            means.points.push((x, s.mean));
            means
                .error_bars
                .extend(s.interval().map(|(lo, hi)| (x, lo, hi)));
        }
        [seeds, means]
    }
}

pub fn lr_sensitivity(data: &Data) -> Result<(Figure, String), String> {
    let sweep = data.sweep;
    if sweep.runs.iter().all(|r| r.lr.is_none()) {
        return Err("summary.csv has no train.lr column".into());
    }
    let mut lines: Vec<LrLine> = Vec::new();
    for run in sweep.runs.iter().filter(|r| r.status == Status::Done) {
        let (Some(lr), Some(reward)) = (run.lr, run.final_reward) else {
            continue;
        };
        if !reward.is_finite() {
            continue;
        }
        let label = line_label(run.estimator, &label_without(sweep, &run.panel_values, LR));
        match lines.iter_mut().find(|l| l.label == label) {
            Some(line) => line.push(lr, reward),
            None => lines.push(LrLine {
                label,
                estimator: run.estimator,
                color: color(run.estimator),
                finals: vec![(lr, vec![reward])],
            }),
        }
    }
    let mut ticks: Vec<f64> = sweep.runs.iter().filter_map(|r| r.lr).collect();
    ticks.sort_by(f64::total_cmp);
    ticks.dedup();
    // One colour per estimator, as in every figure, unless an estimator has several lines (other
    // grid keys besides the rate): then one colour per line, so the legend tells them apart.
    let shared = lines
        .iter()
        .enumerate()
        .any(|(i, l)| lines[..i].iter().any(|m| m.estimator == l.estimator));
    for (i, line) in lines.iter_mut().enumerate() {
        line.color = match shared {
            true => PALETTE[i % PALETTE.len()],
            false => color(line.estimator),
        };
    }
    let legend = lines.iter().map(|l| (l.label.clone(), l.color)).collect();
    let count = lines.len() as f64;
    let lines = lines
        .into_iter()
        .enumerate()
        // Lines side by side at each learning rate, so error bars don't hide each other.
        .flat_map(|(i, l)| l.draw(10f64.powf(0.012 * (i as f64 - (count - 1.0) / 2.0))))
        .collect();
    let mut figure = figure(
        "Final reward vs learning rate",
        &format!("final reward (mean of the last {FINAL_WINDOW} steps)"),
        vec![Panel {
            title: String::new(),
            lines,
        }],
        &[],
    );
    figure.subtitle = "pale dots: each finished seed; bold: mean over seeds; bars: 95 % \
                       t-interval of the mean (unclipped)"
        .into();
    figure.x_label = "learning rate (log scale)".into();
    figure.log_x = true;
    figure.x_ticks = ticks;
    figure.legend = legend;
    let caption = "Final reward (mean of a run's last steps) against the learning rate: each \
                   finished seed (pale dots), the mean over seeds (bold) and its 95 % Student-t \
                   interval as bars, unclipped (report.csv has the same interval); estimators \
                   are set slightly apart horizontally so their bars stay visible."
        .to_string();
    Ok((finite(figure, "no finished run")?, caption))
}
