//! The forest chart: one row per claim, read top to bottom like the table it summarises. Each
//! row's name and numbers stand in a column on the left ("reinforce · start: 18.2 [16.6, 20.0]"),
//! its estimate is a dot and its 95 % interval a bar across the value axis, and a vertical line
//! marks no effect (a ratio of 1, a difference of 0). Groups of rows (a probe step, an endpoint)
//! get a heading row. Unlike the line charts (`plot.rs`), the value axis always spans every
//! interval in full: in a forest plot the interval is the message, and a cut bar would read as
//! a resolved one. Drawn on a categorical y axis (plotters' segmented coordinates), so each
//! row's label sits exactly at its bar.

use std::path::Path;

use anyhow::Context;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::plot::{FONT, register_fonts, tick};
use crate::record::replace_atomically;

/// A forest chart's content.
#[derive(Debug, Clone)]
pub struct Forest {
    pub title: String,
    /// What the dots, bars and colours are.
    pub subtitle: String,
    pub x_label: String,
    /// A logarithmic value axis (ratios); rows whose values are not positive are left out.
    pub log_x: bool,
    /// The value of no effect: 1 for a ratio, 0 for a difference.
    pub null: f64,
    pub rows: Vec<ForestRow>,
}

/// A row: a heading (no estimate) or a claim.
#[derive(Debug, Clone)]
pub struct ForestRow {
    pub label: String,
    pub estimate: Option<f64>,
    pub interval: Option<(f64, f64)>,
    pub color: RGBColor,
}

/// Row height and the widths that do not depend on the labels, in pixels.
const ROW: u32 = 64;
const WIDTH: u32 = 1600;
const LABEL_FONT: u32 = 26;
/// The value axis's least width: a figure whose labels need more than `WIDTH` leaves it grows
/// wider instead of cutting them (a grid of two factors labels a difference with both, e.g.
/// "grpo (token_reduction = max_tokens) − rloo (token_reduction = mean): 64.8 [43.3, 84.9]").
const PLOT_MIN: u32 = 760;
/// The chart's margins beside the label area and the plot: left + right.
const MARGINS: u32 = 18 + 48;

/// Draws `forest` into the PNG file `path` (atomically, as every figure).
pub fn draw(path: &Path, forest: &Forest) -> anyhow::Result<()> {
    register_fonts()?;
    let (lo, hi) = value_range(forest)
        .with_context(|| format!("{}: no finite estimate to plot", path.display()))?;
    replace_atomically(path, ".png", |tmp| {
        render(tmp.path(), forest, (lo, hi))
            .map_err(|e| anyhow::anyhow!("{}: cannot draw the figure: {e}", path.display()))
    })
}

/// The value axis: every estimate, every interval end and the null, padded.
fn value_range(forest: &Forest) -> Option<(f64, f64)> {
    let ok = |v: f64| v.is_finite() && (!forest.log_x || v > 0.0);
    let mut values: Vec<f64> = vec![forest.null];
    for row in &forest.rows {
        let Some(estimate) = row.estimate.filter(|&e| ok(e)) else {
            continue;
        };
        values.push(estimate);
        if let Some((lo, hi)) = row.interval {
            values.extend([lo, hi].into_iter().filter(|&v| ok(v)));
        }
    }
    if values.len() < 2 {
        return None;
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some(if forest.log_x {
        (lo / 1.2, hi * 1.2)
    } else {
        let pad = 0.05 * (hi - lo).max(1e-9);
        (lo - pad, hi + pad)
    })
}

/// The widest row label in pixels, and the figure's width: `WIDTH`, or wider when the labels
/// and `PLOT_MIN` of value axis need it.
fn widths(forest: &Forest) -> Result<(u32, u32), String> {
    let font = (FONT, LABEL_FONT).into_font();
    let mut widest = 0;
    for row in &forest.rows {
        let (w, _) = font.box_size(&row.label).map_err(|e| e.to_string())?;
        widest = widest.max(w);
    }
    let label_area = widest + 40;
    Ok((label_area, WIDTH.max(label_area + PLOT_MIN + MARGINS)))
}

fn render(png: &Path, forest: &Forest, (lo, hi): (f64, f64)) -> Result<(), String> {
    let n = forest.rows.len().max(1);
    let header = 150;
    let (label_area, width) = widths(forest)?;
    let size = (width, header + 130 + ROW * n as u32);
    let render = || -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = BitMapBackend::new(png, size).into_drawing_area();
        root.fill(&WHITE)?;
        let centred = Pos::new(HPos::Center, VPos::Top);
        let title = TextStyle::from((FONT, 44).into_font()).pos(centred);
        root.draw_text(&forest.title, &title, (width as i32 / 2, 22))?;
        let subtitle = TextStyle::from((FONT, 28).into_font())
            .color(&RGBColor(70, 70, 70))
            .pos(centred);
        root.draw_text(&forest.subtitle, &subtitle, (width as i32 / 2, 80))?;
        let (_, body) = root.split_vertically(header);
        let mut builder = ChartBuilder::on(&body);
        builder
            .margin(18)
            .margin_right(48)
            .x_label_area_size(95)
            .y_label_area_size(label_area);
        // Row 0 on top: the categorical axis runs upwards, so row i sits at n − 1 − i.
        let at = |i: usize| SegmentValue::CenterOf(n - 1 - i);
        let label_of = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(j) if *j < n => forest.rows[n - 1 - j].label.clone(),
            _ => String::new(),
        };
        macro_rules! finish {
            ($ctx:expr) => {{
                let mut ctx = $ctx;
                ctx.configure_mesh()
                    .x_desc(forest.x_label.as_str())
                    .x_labels(8)
                    .y_labels(n)
                    .x_label_formatter(&|v| tick(*v))
                    .y_label_formatter(&label_of)
                    .label_style((FONT, LABEL_FONT))
                    .axis_desc_style((FONT, 28))
                    .disable_y_mesh()
                    .light_line_style(RGBColor(238, 238, 238))
                    .bold_line_style(RGBColor(215, 215, 215))
                    .draw()?;
                ctx.draw_series(LineSeries::new(
                    [
                        (forest.null, SegmentValue::Exact(0)),
                        (forest.null, SegmentValue::Last),
                    ],
                    BLACK.mix(0.6).stroke_width(2),
                ))?;
                for (i, row) in forest.rows.iter().enumerate() {
                    let Some(estimate) = row.estimate else {
                        // A heading after the first: a rule above it, between the groups.
                        if i > 0 {
                            let top = SegmentValue::Exact(n - i);
                            ctx.draw_series(LineSeries::new(
                                [(lo, top.clone()), (hi, top)],
                                RGBColor(170, 170, 170).stroke_width(1),
                            ))?;
                        }
                        continue;
                    };
                    let style = row.color.stroke_width(4);
                    if let Some((a, b)) = row.interval {
                        ctx.draw_series(std::iter::once(PathElement::new(
                            vec![(a, at(i)), (b, at(i))],
                            style,
                        )))?;
                        for x in [a, b] {
                            ctx.draw_series(std::iter::once(
                                EmptyElement::at((x, at(i)))
                                    + PathElement::new(vec![(0, -12), (0, 12)], style),
                            ))?;
                        }
                    }
                    ctx.draw_series(std::iter::once(Circle::new(
                        (estimate, at(i)),
                        9,
                        style.filled(),
                    )))?;
                }
            }};
        }
        // plotters' integer ranges include their end: 0..n − 1 is n rows.
        let rows = (0..n - 1).into_segmented();
        if forest.log_x {
            finish!(builder.build_cartesian_2d((lo..hi).log_scale(), rows)?);
        } else {
            finish!(builder.build_cartesian_2d(lo..hi, rows)?);
        }
        root.present()?;
        Ok(())
    };
    render().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(estimate: f64, interval: (f64, f64)) -> ForestRow {
        ForestRow {
            label: "x".into(),
            estimate: Some(estimate),
            interval: Some(interval),
            color: BLACK,
        }
    }

    #[test]
    fn a_label_wider_than_the_default_room_widens_the_figure_instead_of_being_cut() {
        let long = "grpo (token_reduction = max_tokens) − rloo (token_reduction = mean), each at \
                    the one learning rate it ran: 64.8 [43.3, 84.9]";
        let forest = Forest {
            title: "t".into(),
            subtitle: String::new(),
            x_label: String::new(),
            log_x: false,
            null: 0.0,
            rows: vec![
                ForestRow {
                    label: long.into(),
                    ..row(64.8, (43.3, 84.9))
                },
                row(-2.0, (-6.3, 0.01)),
            ],
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("forest.png");
        draw(&path, &forest).unwrap();
        let image = image::open(&path).unwrap().to_luma8();
        assert!(image.width() > WIDTH, "{} px wide", image.width());
        // Ink in the rows' band (below the 150-px header): the leftmost dark column is inside
        // the margin, not at the edge where a cut label would start.
        let leftmost = (0..image.width())
            .find(|&x| (150..image.height()).any(|y| image.get_pixel(x, y)[0] < 128))
            .unwrap();
        assert!(leftmost >= 10, "ink from column {leftmost}");
        // Short labels keep the default width.
        let short = Forest {
            rows: vec![row(1.0, (0.5, 1.5))],
            ..forest
        };
        draw(&path, &short).unwrap();
        assert_eq!(image::open(&path).unwrap().width(), WIDTH);
    }

    #[test]
    fn the_value_axis_spans_every_interval_and_the_null() {
        let forest = Forest {
            title: String::new(),
            subtitle: String::new(),
            x_label: String::new(),
            log_x: false,
            null: 0.0,
            rows: vec![row(-11.6, (-74.9, 54.0)), row(-32.5, (-98.3, 33.3))],
        };
        // −98.3 … 54.0, padded by 5 % of 152.3 = 7.615 on each side.
        let (lo, hi) = value_range(&forest).unwrap();
        assert!(
            (lo + 105.915).abs() < 1e-9 && (hi - 61.615).abs() < 1e-9,
            "{lo} {hi}"
        );
        // A ratio axis: 0.878 … 20.0 and the null 1 inside, padded by a factor 1.2.
        let ratios = Forest {
            log_x: true,
            null: 1.0,
            rows: vec![row(18.2, (16.6, 20.0)), row(0.95, (0.878, 1.03))],
            ..forest
        };
        let (lo, hi) = value_range(&ratios).unwrap();
        assert!((lo - 0.878 / 1.2).abs() < 1e-12 && (hi - 24.0).abs() < 1e-12);
    }
}
