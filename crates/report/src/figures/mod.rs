//! The report's figures, each built from the loaded CSVs and each saying what its bands are (in
//! its subtitle, legend or axis, and in its caption): learning curves and final reward against
//! the learning rate ([`learning`]), the probe's comparisons ([`probe`]) and the KL trade-off
//! (`kl_tradeoff.rs`), and the answer section's forest plots (`forest.rs`). A band or bar called
//! a 95 % interval is the interval as computed, never clipped to the range of the seeds: with a
//! few seeds that split between two outcomes it runs past both, and the figure shows that, up
//! to a decade past the data on a log axis (past the points' span on a linear one), where the
//! axis ends and cuts it (`plot::Ranges`).

mod forest;
mod kl_tradeoff;
mod learning;
mod probe;

use std::collections::BTreeMap;
use std::path::Path;

use pglab_estimator::Estimator;
use pglab_estimator::stats::{geometric_spread, spread};
use plotters::style::RGBColor;

use crate::answer::Claim;
use crate::forest_chart::{self, Forest};
use crate::groups::GroupRow;
use crate::load::{RunCurves, Sweep};
use crate::plot::{self, Figure, Line, PALETTE, Panel};
use crate::variance::ProbeSummary;

/// A figure the report wrote, or why it could not.
#[derive(Debug, Clone)]
pub struct Drawn {
    pub file: &'static str,
    /// What the figure shows and what its bands are.
    pub caption: String,
    /// None when drawn; otherwise why not (e.g. the sweep had no probe).
    pub skipped: Option<String>,
}

/// What a figure is built from.
pub struct Data<'a> {
    pub sweep: &'a Sweep,
    pub groups: &'a [GroupRow],
    /// The probe's rows under the runs' own token reduction and the answer section's claims,
    /// for the forest plots.
    pub probes: &'a [ProbeSummary],
    /// Every token reduction the probe measured (`variance.csv`'s rows): the SNR and cosine
    /// forests show each, since reductions compare by those.
    pub all_probes: &'a [ProbeSummary],
    pub claims: &'a [Claim],
}

/// The forest plots' colours for the primary endpoint's rows and the others'.
const PALETTE_PRIMARY: RGBColor = PALETTE[0];
const PALETTE_SECONDARY: RGBColor = PALETTE[6];

/// The same colour for an estimator in every figure: REINFORCE-like warm, RLOO blue, the group
/// estimators apart. A new estimator does not compile until it has a colour here.
pub fn color(estimator: Estimator) -> RGBColor {
    match estimator {
        Estimator::Reinforce => PALETTE[1],
        Estimator::ReinforceEma => PALETTE[4],
        // Dark gold: warm like its REINFORCE siblings, apart from both in hue and lightness.
        Estimator::ReinforceMean => RGBColor(140, 100, 20),
        Estimator::Rloo => PALETTE[0],
        Estimator::Grpo => PALETTE[2],
        Estimator::DrGrpo => PALETTE[3],
        Estimator::ReinforcePp => PALETTE[5],
        Estimator::ReinforcePpBaseline => PALETTE[6],
        Estimator::Remax => PALETTE[7],
        Estimator::OptimalBaseline => PALETTE[8],
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

/// The band of a mean over seeds, as subtitles and captions name it.
pub const T_BAND: &str = "band: 95 % t-interval of the mean over seeds (unclipped; none where \
                          fewer than 2 seeds)";
/// The band of a geometric mean over seeds (log axes).
pub const GEOMETRIC_BAND: &str = "geometric mean over seeds; band: 95 % geometric t-interval, \
                                  exp(mean ∓ t-half-width) of the logs";
/// Subtitles: the same, short enough for one line of the figure.
pub const T_SUBTITLE: &str = "mean over seeds; band: 95 % t-interval of the mean (unclipped)";
pub const GEOMETRIC_SUBTITLE: &str =
    "geometric mean over seeds; band: 95 % geometric t-interval (exp of the logs' interval)";

/// A figure's file, its caption and how to build it (Err: why it cannot be drawn).
type Build = fn(&Data) -> Result<(Figure, String), String>;

/// A forest figure's file, caption and builder (`forest.rs`, drawn by `forest_chart.rs`).
type BuildForest = fn(&Data) -> Result<(Forest, String), String>;

/// Draws every figure into `dir`, the answer's forest plots first; a figure without data is
/// skipped and says why.
pub fn draw_all(data: &Data, dir: &Path) -> anyhow::Result<Vec<Drawn>> {
    let forests: [(&'static str, BuildForest); 4] = [
        ("forest_variance.png", forest::variance),
        ("forest_snr.png", forest::snr),
        ("forest_cosine.png", forest::cosine),
        ("forest_learning.png", forest::learning),
    ];
    let figures: [(&'static str, Build); 8] = [
        ("reward.png", learning::reward),
        ("reward_seeds.png", learning::reward_seeds),
        ("lr_sensitivity.png", learning::lr_sensitivity),
        ("grad_variance.png", probe::grad_variance),
        ("variance_ratio.png", probe::variance_ratio),
        ("snr.png", probe::snr),
        ("cos_to_ref.png", probe::cos_to_ref),
        ("kl_tradeoff.png", kl_tradeoff::figure),
    ];
    let mut drawn = Vec::new();
    for (file, build) in forests {
        let built = build(data);
        drawn.push(draw_one(dir, file, built, forest_chart::draw)?);
    }
    for (file, build) in figures {
        let built = build(data);
        drawn.push(draw_one(dir, file, built, plot::draw)?);
    }
    Ok(drawn)
}

/// Draws one built figure with `draw`, or removes a stale file when it has no data.
fn draw_one<T>(
    dir: &Path,
    file: &'static str,
    built: Result<(T, String), String>,
    draw: fn(&Path, &T) -> anyhow::Result<()>,
) -> anyhow::Result<Drawn> {
    let (caption, skipped) = match built {
        Ok((figure, caption)) => {
            draw(&dir.join(file), &figure)?;
            (caption, None)
        }
        Err(why) => {
            // A stale figure from an earlier report would contradict the tables.
            let _ = std::fs::remove_file(dir.join(file));
            (String::new(), Some(why))
        }
    };
    Ok(Drawn {
        file,
        caption,
        skipped,
    })
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

/// The mean over the values at each x with the 95 % t-interval of the mean as its band, or on
/// a log axis the geometric mean with the geometric interval (over the positive values).
fn mean_line(color: RGBColor, by_x: BTreeMap<u64, Vec<f64>>, log: bool) -> Line {
    let mut points = Vec::new();
    let mut band = Vec::new();
    for (x, values) in by_x {
        let x = x as f64;
        if log {
            let positive: Vec<f64> = values
                .into_iter()
                .filter(|v| *v > 0.0 && v.is_finite())
                .collect();
            let Some(g) = geometric_spread(&positive) else {
                continue;
            };
            points.push((x, g.mean));
            band.extend(g.interval.map(|(lo, hi)| (x, lo, hi)));
        } else {
            let finite: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
            let Some(s) = spread(&finite) else { continue };
            points.push((x, s.mean));
            band.extend(s.interval().map(|(lo, hi)| (x, lo, hi)));
        }
    }
    let mut line = Line::new(color, points);
    line.band = band;
    line
}

fn runs_in<'a>(sweep: &'a Sweep, panel: &'a str) -> impl Iterator<Item = &'a RunCurves> {
    sweep.runs.iter().filter(move |r| r.panel == panel)
}

/// `n` seeds, or `a–b` when panels differ.
fn seed_count(counts: impl IntoIterator<Item = usize>) -> String {
    let counts: Vec<usize> = counts.into_iter().filter(|&n| n > 0).collect();
    let (lo, hi) = (counts.iter().min(), counts.iter().max());
    match (lo, hi) {
        (Some(1), Some(1)) => "1 seed".into(),
        (Some(lo), Some(hi)) if lo == hi => format!("{lo} seeds"),
        (Some(lo), Some(hi)) => format!("{lo}–{hi} seeds"),
        _ => "no seed".into(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_the_unclipped_intervals() {
        // Two seeds at 0 and 10: mean 5, std √50, half-width 12.706205 · √50/√2 = 63.531025 —
        // far past both seeds, and drawn so.
        let line = mean_line(PALETTE[0], BTreeMap::from([(8, vec![0.0, 10.0])]), false);
        assert_eq!(line.points, [(8.0, 5.0)]);
        let (_, lo, hi) = line.band[0];
        assert!((lo + 58.531025).abs() < 1e-5 && (hi - 68.531025).abs() < 1e-5);
        // Log axis (−1 left out): 1 and 100, logs 0 and ln 100, half-width 12.706205 · ln 10 →
        // geometric mean 10, interval 10^(1 ∓ 12.706205).
        let line = mean_line(
            PALETTE[0],
            BTreeMap::from([(8, vec![1.0, 100.0, -1.0])]),
            true,
        );
        assert!((line.points[0].1 - 10.0).abs() < 1e-9);
        let (_, lo, hi) = line.band[0];
        assert!((lo.log10() - (1.0 - 12.706205)).abs() < 1e-5, "{lo}");
        assert!((hi.log10() - (1.0 + 12.706205)).abs() < 1e-5, "{hi}");
        // One seed: a point, no band.
        let line = mean_line(PALETTE[0], BTreeMap::from([(8, vec![3.0])]), false);
        assert_eq!((line.points.len(), line.band.len()), (1, 0));
    }

    #[test]
    fn seed_counts_read_as_a_number_or_a_range() {
        assert_eq!(seed_count([4, 4, 0]), "4 seeds");
        assert_eq!(seed_count([1]), "1 seed");
        assert_eq!(seed_count([2, 4]), "2–4 seeds");
        assert_eq!(seed_count([]), "no seed");
    }
}
