//! The report's six figures, each built from the loaded CSVs: learning curves (mean with a 95 %
//! band over seeds, and every seed alone), the probe's gradient variance, its ratio to RLOO's,
//! its signal-to-noise ratio, and final reward against learning rate.

use std::collections::BTreeMap;
use std::path::Path;

use pglab_estimator::Estimator;
use pglab_estimator::stats::{Spread, spread};
use plotters::style::RGBColor;

use crate::load::{RunCurves, Sweep, leaf, short_value};
use crate::plot::{self, Figure, Line, PALETTE, Panel};
use crate::record::Status;
use crate::summary_csv::LR;
use crate::table::{REFERENCE, paired_ratios};

/// A figure the report wrote, or why it could not.
#[derive(Debug, Clone)]
pub struct Drawn {
    pub file: &'static str,
    pub caption: &'static str,
    /// None when drawn; otherwise why not (e.g. the sweep had no probe).
    pub skipped: Option<String>,
}

/// The same colour for an estimator in every figure: REINFORCE-like warm, RLOO blue, the group
/// estimators apart. A new estimator does not compile until it has a colour here.
pub fn color(estimator: Estimator) -> RGBColor {
    match estimator {
        Estimator::Reinforce => PALETTE[1],
        Estimator::ReinforceEma => PALETTE[4],
        Estimator::Rloo => PALETTE[0],
        Estimator::Grpo => PALETTE[2],
        Estimator::DrGrpo => PALETTE[3],
        Estimator::ReinforcePp => PALETTE[5],
    }
}

/// The legend entries of `estimators`: each by name, in its colour.
fn legend(estimators: &[Estimator]) -> Vec<(String, RGBColor)> {
    estimators
        .iter()
        .map(|&e| (e.to_string(), color(e)))
        .collect()
}

const GENERATIONS: &str = "generations (completions sampled)";
const REWARD: &str = "reward (mean per completion)";

/// Draws every figure into `dir`; a figure without data is skipped and says why.
pub fn draw_all(sweep: &Sweep, dir: &Path) -> anyhow::Result<Vec<Drawn>> {
    type Build = fn(&Sweep) -> Result<Figure, String>;
    let figures: [(&'static str, &'static str, Build); 6] = [
        (
            "reward.png",
            "Reward vs generations: mean over seeds with a 95 % confidence band (t-interval of the mean, clipped to the range of the seeds), one panel per grid point.",
            reward,
        ),
        (
            "reward_seeds.png",
            "Every seed's reward curve (× marks where a run diverged).",
            reward_seeds,
        ),
        (
            "grad_variance.png",
            "The probe's gradient variance at the current weights (log scale): geometric mean over seeds with a 95 % band.",
            grad_variance,
        ),
        (
            "variance_ratio.png",
            "Each estimator's gradient variance divided by RLOO's at the same probe, from the same samples (log scale).",
            variance_ratio,
        ),
        (
            "snr.png",
            "The probe's gradient signal-to-noise ratio: mean over seeds with a 95 % band.",
            snr,
        ),
        (
            "lr_sensitivity.png",
            "Final reward (mean of the last steps) vs learning rate: mean over seeds, 95 % CI bars (clipped to the range of the seeds; report.csv has the unclipped interval); estimators are set slightly apart horizontally so their bars stay visible.",
            lr_sensitivity,
        ),
    ];
    let mut drawn = Vec::new();
    for (file, caption, build) in figures {
        let skipped = match build(sweep) {
            Ok(figure) => {
                plot::draw(&dir.join(file), &figure)?;
                None
            }
            Err(why) => {
                // A stale figure from an earlier report would contradict the tables.
                let _ = std::fs::remove_file(dir.join(file));
                Some(why)
            }
        };
        drawn.push(Drawn {
            file,
            caption,
            skipped,
        });
    }
    Ok(drawn)
}

fn figure(title: &str, y_label: &str, panels: Vec<Panel>, estimators: &[Estimator]) -> Figure {
    Figure {
        title: title.into(),
        subtitle: String::new(),
        x_label: GENERATIONS.into(),
        y_label: y_label.into(),
        log_x: false,
        x_ticks: Vec::new(),
        log_y: false,
        columns: panels.len().min(3),
        panels,
        legend: legend(estimators),
        reference: None,
    }
}

/// Mean and 95 % band over the values at each x; on a log axis, over log10 of the positive
/// values (a geometric mean with a multiplicative band).
fn mean_line(color: RGBColor, by_x: BTreeMap<u64, Vec<f64>>, log: bool) -> Line {
    let mut points = Vec::new();
    let mut band = Vec::new();
    for (x, values) in by_x {
        let values: Vec<f64> = if log {
            values
                .into_iter()
                .filter(|v| *v > 0.0 && v.is_finite())
                .map(f64::log10)
                .collect()
        } else {
            values.into_iter().filter(|v| v.is_finite()).collect()
        };
        let Some(s) = spread(&values) else { continue };
        let back = |v: f64| if log { 10f64.powf(v) } else { v };
        points.push((x as f64, back(s.mean)));
        if let Some((lo, hi)) = clipped_ci(&values, &s) {
            band.push((x as f64, back(lo), back(hi)));
        }
    }
    let mut line = Line::new(color, points);
    line.band = band;
    line
}

/// The 95 % t-interval of the mean, clipped to the range of the values: with a few seeds that
/// split between two outcomes the t-interval runs past both, into rewards no run can have.
fn clipped_ci(values: &[f64], s: &Spread) -> Option<(f64, f64)> {
    if s.n < 2 {
        return None;
    }
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    Some(((s.mean - s.ci95).max(min), (s.mean + s.ci95).min(max)))
}

fn runs_in<'a>(sweep: &'a Sweep, panel: &'a str) -> impl Iterator<Item = &'a RunCurves> {
    sweep.runs.iter().filter(move |r| r.panel == panel)
}

fn reward(sweep: &Sweep) -> Result<Figure, String> {
    let panels = sweep
        .panels
        .iter()
        .map(|panel| Panel {
            title: panel.clone(),
            lines: sweep
                .estimators
                .iter()
                .map(|&estimator| {
                    let mut by_x: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
                    let done = runs_in(sweep, panel)
                        .filter(|r| r.estimator == estimator && r.status == Status::Done);
                    for &(g, reward) in done.flat_map(|r| &r.rewards) {
                        by_x.entry(g).or_default().push(reward);
                    }
                    mean_line(color(estimator), by_x, false)
                })
                .collect(),
        })
        .collect();
    let title = "Reward during training (mean over seeds, 95 % CI band)";
    finite(
        figure(title, REWARD, panels, &sweep.estimators),
        "no finished run",
    )
}

fn reward_seeds(sweep: &Sweep) -> Result<Figure, String> {
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
    let title = "Reward of every seed (× where a run diverged)";
    finite(
        figure(title, REWARD, panels, &sweep.estimators),
        "no run with metrics",
    )
}

/// Panels for probe figures: one per (training estimator, grid point), a row per estimator.
fn probe_panels(
    sweep: &Sweep,
    lines: impl Fn(&[&RunCurves]) -> Vec<Line>,
) -> Result<Vec<Panel>, String> {
    if sweep.probed.is_empty() {
        return Err("the sweep has no probe ([probe] every = 0)".into());
    }
    let mut panels = Vec::new();
    for &estimator in &sweep.estimators {
        for panel in &sweep.panels {
            let runs: Vec<&RunCurves> = runs_in(sweep, panel)
                .filter(|r| r.estimator == estimator)
                .collect();
            let title = match panel.as_str() {
                "" => format!("trained with {estimator}"),
                p => format!("trained with {estimator}, {p}"),
            };
            panels.push(Panel {
                title,
                lines: lines(&runs),
            });
        }
    }
    Ok(panels)
}

/// One line per probed estimator from a per-run series of (generations, value).
fn probe_lines(
    sweep: &Sweep,
    runs: &[&RunCurves],
    skip: Option<Estimator>,
    log: bool,
    series: impl Fn(&RunCurves, Estimator) -> Vec<(u64, f64)>,
) -> Vec<Line> {
    sweep
        .probed
        .iter()
        .copied()
        .filter(|&e| Some(e) != skip)
        .map(|estimator| {
            let mut by_x: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
            for (g, v) in runs.iter().flat_map(|r| series(r, estimator)) {
                by_x.entry(g).or_default().push(v);
            }
            mean_line(color(estimator), by_x, log)
        })
        .collect()
}

fn probe_figure(sweep: &Sweep, title: &str, y_label: &str, panels: Vec<Panel>) -> Figure {
    let mut figure = figure(title, y_label, panels, &sweep.probed);
    figure.columns = sweep.panels.len().min(4);
    figure
}

fn grad_variance(sweep: &Sweep) -> Result<Figure, String> {
    let panels = probe_panels(sweep, |runs| {
        probe_lines(sweep, runs, None, true, |r, e| {
            r.probe_of(e)
                .map(|p| (p.generations as u64, p.grad_var))
                .collect()
        })
    })?;
    let mut figure = probe_figure(
        sweep,
        "Gradient variance of one batch's estimate (probe, same weights and samples)",
        "grad_var (squared gradient norm, log scale)",
        panels,
    );
    figure.log_y = true;
    finite(figure, "no positive grad_var in probe.csv")
}

fn variance_ratio(sweep: &Sweep) -> Result<Figure, String> {
    if !sweep.probed.contains(&REFERENCE) {
        return Err(format!("the probe did not include {REFERENCE}"));
    }
    let panels = probe_panels(sweep, |runs| {
        probe_lines(sweep, runs, Some(REFERENCE), true, paired_ratios)
    })?;
    let compared: Vec<Estimator> = sweep
        .probed
        .iter()
        .copied()
        .filter(|&e| e != REFERENCE)
        .collect();
    let mut figure = probe_figure(
        sweep,
        "Gradient variance relative to RLOO's at the same probe (RLOO = 1, black line)",
        "grad_var / RLOO's grad_var (log scale)",
        panels,
    );
    figure.legend = legend(&compared);
    figure.log_y = true;
    figure.reference = Some(1.0);
    finite(figure, "no probe where RLOO's variance is positive")
}

fn snr(sweep: &Sweep) -> Result<Figure, String> {
    let panels = probe_panels(sweep, |runs| {
        probe_lines(sweep, runs, None, false, |r, e| {
            r.probe_of(e)
                .map(|p| (p.generations as u64, p.snr))
                .collect()
        })
    })?;
    let figure = probe_figure(
        sweep,
        "Gradient signal-to-noise ratio (probe): ‖mean‖² less its noise, over the variance",
        "SNR (dimensionless)",
        panels,
    );
    finite(figure, "no finite snr in probe.csv")
}

/// One line of `lr_sensitivity.png`: an estimator (at one setting of the other grid keys) and
/// its finished runs' final rewards at each learning rate.
struct LrLine {
    label: String,
    estimator: Estimator,
    finals: Vec<(f64, Vec<f64>)>,
}

impl LrLine {
    fn push(&mut self, lr: f64, reward: f64) {
        match self.finals.iter_mut().find(|(x, _)| *x == lr) {
            Some((_, rewards)) => rewards.push(reward),
            None => self.finals.push((lr, vec![reward])),
        }
    }

    /// Means with clipped 95 % bars, moved sideways by `dodge` (a factor on the log axis).
    fn draw(mut self, dodge: f64) -> Line {
        self.finals.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut line = Line::new(color(self.estimator), Vec::new());
        for (lr, rewards) in &self.finals {
            let Some(s) = spread(rewards) else { continue };
            line.points.push((lr * dodge, s.mean));
            if let Some((lo, hi)) = clipped_ci(rewards, &s) {
                line.error_bars.push((lr * dodge, lo, hi));
            }
        }
        line.dots = true;
        line
    }
}

fn lr_sensitivity(sweep: &Sweep) -> Result<Figure, String> {
    if sweep.runs.iter().all(|r| r.lr.is_none()) {
        return Err("summary.csv has no train.lr column".into());
    }
    let mut lines: Vec<LrLine> = Vec::new();
    for run in sweep.runs.iter().filter(|r| r.status == Status::Done) {
        let (Some(lr), Some(reward)) = (run.lr, run.final_reward) else {
            continue;
        };
        let rest = rest_of_panel(sweep, run);
        let label = if rest.is_empty() {
            run.estimator.to_string()
        } else {
            format!("{} ({rest})", run.estimator)
        };
        match lines.iter_mut().find(|l| l.label == label) {
            Some(line) => line.push(lr, reward),
            None => lines.push(LrLine {
                label,
                estimator: run.estimator,
                finals: vec![(lr, vec![reward])],
            }),
        }
    }
    let mut ticks: Vec<f64> = sweep.runs.iter().filter_map(|r| r.lr).collect();
    ticks.sort_by(f64::total_cmp);
    ticks.dedup();
    let legend = lines
        .iter()
        .map(|l| (l.label.clone(), color(l.estimator)))
        .collect();
    let count = lines.len() as f64;
    let lines = lines
        .into_iter()
        .enumerate()
        // Lines side by side at each learning rate, so error bars don't hide each other.
        .map(|(i, l)| l.draw(10f64.powf(0.012 * (i as f64 - (count - 1.0) / 2.0))))
        .collect();
    let mut figure = figure(
        "Final reward vs learning rate (mean over seeds, 95 % CI)",
        "final reward (mean of the last steps)",
        vec![Panel {
            title: String::new(),
            lines,
        }],
        &[],
    );
    figure.x_label = "learning rate (log scale)".into();
    figure.log_x = true;
    figure.x_ticks = ticks;
    figure.legend = legend;
    finite(figure, "no finished run")
}

/// The run's panel label without the learning rate (`k = 4` of `lr = 1e-4, k = 4`).
fn rest_of_panel(sweep: &Sweep, run: &RunCurves) -> String {
    sweep
        .panel_columns
        .iter()
        .zip(&run.panel_values)
        .filter(|(c, _)| c.as_str() != LR)
        .map(|(c, v)| format!("{} = {}", leaf(c), short_value(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The figure, or `why` when it has no point to draw.
fn finite(figure: Figure, why: &str) -> Result<Figure, String> {
    let any = figure.panels.iter().flat_map(|p| &p.lines).any(|l| {
        l.points.iter().any(|&(x, y)| {
            x.is_finite()
                && y.is_finite()
                && (!figure.log_y || y > 0.0)
                && (!figure.log_x || x > 0.0)
        })
    });
    if any { Ok(figure) } else { Err(why.into()) }
}
