//! Figures as PNG files, drawn with plotters' bitmap backend: one or more panels with shared
//! axes, lines with shaded bands or error bars (either way), faint lines behind them, labelled
//! points, and a title, a subtitle saying what the bands are, and a legend above the panels (so
//! none of it covers data). Text renders with the DejaVu Sans font embedded in the binary
//! (`assets/DejaVuSans.ttf`, Bitstream Vera license), so figures need no system fonts and come
//! out byte-identical on every machine.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Context, bail};
use plotters::coord::Shift;
use plotters::coord::combinators::{BindKeyPoints, LogCoord, WithKeyPoints};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

use crate::header::{DEFAULT_HEADER, draw_header, header_height};
use crate::record::replace_atomically;
use crate::text_layout::{text_width, wrap};

/// The font family every figure uses.
pub(crate) const FONT: &str = "sans-serif";
const FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The smallest figure, in pixels; figures with several panels grow from it.
pub const SIZE: (u32, u32) = (1600, 1000);

/// A figure: panels on a grid (`columns` per row) sharing one x and one y axis.
#[derive(Debug, Clone)]
pub struct Figure {
    pub title: String,
    /// A line under the title: what the lines and bands are (empty: none).
    pub subtitle: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    /// Where a log x axis puts its labels (e.g. the learning rates of a grid); empty: decades.
    pub x_ticks: Vec<f64>,
    /// A logarithmic y axis; values ≤ 0 are left out.
    pub log_y: bool,
    pub panels: Vec<Panel>,
    pub columns: usize,
    /// One entry per colour, drawn above the panels.
    pub legend: Vec<(String, RGBColor)>,
    /// A horizontal reference line at this y in every panel (e.g. a ratio of 1).
    pub reference: Option<f64>,
}

#[derive(Debug, Clone, Default)]
pub struct Panel {
    pub title: String,
    pub lines: Vec<Line>,
}

/// One curve; non-finite points are skipped.
#[derive(Debug, Clone)]
pub struct Line {
    pub color: RGBColor,
    pub width: u32,
    pub points: Vec<(f64, f64)>,
    /// A shaded band (x, low, high) under the line: a confidence interval.
    pub band: Vec<(f64, f64, f64)>,
    /// Vertical error bars (x, low, high) with caps.
    pub error_bars: Vec<(f64, f64, f64)>,
    /// Horizontal error bars (y, low, high) with caps.
    pub x_error_bars: Vec<(f64, f64, f64)>,
    /// A dot at every point.
    pub dots: bool,
    /// Segments between the points; false draws the points alone (with `dots`).
    pub connect: bool,
    /// Drawn pale, behind what it summarises (e.g. each seed behind the mean).
    pub faint: bool,
    /// Text beside a point: (x, y, text).
    pub labels: Vec<(f64, f64, String)>,
    /// A cross at the last point: where a run stopped (diverged).
    pub cross_at_end: bool,
}

impl Line {
    pub fn new(color: RGBColor, points: Vec<(f64, f64)>) -> Self {
        Self {
            color,
            width: 3,
            points,
            band: Vec::new(),
            error_bars: Vec::new(),
            x_error_bars: Vec::new(),
            dots: false,
            connect: true,
            faint: false,
            labels: Vec::new(),
            cross_at_end: false,
        }
    }
}

/// Colours that stay apart for readers with the common colour-vision deficiencies (Okabe–Ito),
/// then Paul Tol's wine for a ninth estimator.
pub const PALETTE: [RGBColor; 9] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(0, 0, 0),
    RGBColor(136, 34, 85),
];

pub(crate) fn register_fonts() -> anyhow::Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok());
    anyhow::ensure!(ok, "the embedded DejaVuSans.ttf is not a valid font");
    Ok(())
}

/// The (width, height) in pixels of a figure with `rows` × `columns` panels.
pub fn figure_size(rows: usize, columns: usize) -> (u32, u32) {
    let (rows, columns) = (rows.max(1) as u32, columns.max(1) as u32);
    (SIZE.0.max(640 * columns), SIZE.1.max(180 + 560 * rows))
}

/// Draws `figure` into the PNG file `path`, through a temporary file and a rename
/// ([`replace_atomically`]), so a reader never sees half a picture.
pub fn draw(path: &Path, figure: &Figure) -> anyhow::Result<()> {
    register_fonts()?;
    let ranges = Ranges::of(figure)
        .with_context(|| format!("{}: no finite points to plot", path.display()))?;
    // plotters picks the image format from the extension.
    replace_atomically(path, ".png", |tmp| {
        render(tmp.path(), figure, &ranges)
            .map_err(|e| anyhow::anyhow!("{}: cannot draw the figure: {e}", path.display()))
    })
}

/// Renders `figure` into the PNG file `png`: the header, then the panels on their grid.
fn render(png: &Path, figure: &Figure, ranges: &Ranges) -> Result<(), String> {
    let columns = figure.columns.clamp(1, figure.panels.len().max(1));
    let rows = figure.panels.len().div_ceil(columns);
    let (width, height) = figure_size(rows, columns);
    // A legend of more than one row makes the figure taller, not its panels shorter.
    let header = header_height(figure, width)?;
    let size = (width, height + header.saturating_sub(DEFAULT_HEADER));
    let render = || -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = BitMapBackend::new(png, size).into_drawing_area();
        root.fill(&WHITE)?;
        let (top, body) = root.split_vertically(header);
        draw_header(&top, figure)?;
        let areas = body.split_evenly((rows, columns));
        for (i, (panel, area)) in figure.panels.iter().zip(&areas).enumerate() {
            let labels = AxisLabels {
                x: if i / columns == rows - 1 || i + columns >= figure.panels.len() {
                    figure.x_label.as_str()
                } else {
                    ""
                },
                y: if i % columns == 0 {
                    figure.y_label.as_str()
                } else {
                    ""
                },
            };
            draw_panel(area, figure, panel, ranges, &labels)?;
        }
        root.present()?;
        Ok(())
    };
    render().map_err(|e| e.to_string())
}

/// Axis descriptions of one panel: only the bottom row names x and the left column names y.
struct AxisLabels<'a> {
    x: &'a str,
    y: &'a str,
}

/// The axes every panel shares, padded so nothing sits on the frame.
struct Ranges {
    x: (f64, f64),
    y: (f64, f64),
}

impl Ranges {
    /// The axes from the data: every point (and the reference line), and of the bands and bars
    /// only what lies within `reach` of the points. A wide interval from a few seeds once made
    /// an axis of 1e−25..1e25 and squashed every line flat; now it is cut at the axis's edge.
    fn of(figure: &Figure) -> Option<Self> {
        let x_ok = |x: f64| x.is_finite() && (!figure.log_x || x > 0.0);
        let y_ok = |y: f64| y.is_finite() && (!figure.log_y || y > 0.0);
        let lines = || figure.panels.iter().flat_map(|p| &p.lines);
        let mut xs = Vec::new();
        let mut ys: Vec<f64> = figure.reference.into_iter().collect();
        for line in lines() {
            for &(x, y) in line.points.iter().filter(|&&(x, y)| x_ok(x) && y_ok(y)) {
                xs.push(x);
                ys.push(y);
            }
        }
        if xs.is_empty() {
            return None;
        }
        let (xr, yr) = (
            reach(min_max(&xs), figure.log_x),
            reach(min_max(&ys), figure.log_y),
        );
        for line in lines() {
            let bars = line.band.iter().chain(&line.error_bars);
            for &(_, lo, hi) in bars.filter(|&&(x, _, _)| x_ok(x)) {
                ys.extend(
                    [lo, hi]
                        .into_iter()
                        .filter(|&y| y_ok(y))
                        .map(|y| y.clamp(yr.0, yr.1)),
                );
            }
            for &(_, lo, hi) in line.x_error_bars.iter().filter(|&&(y, _, _)| y_ok(y)) {
                xs.extend(
                    [lo, hi]
                        .into_iter()
                        .filter(|&x| x_ok(x))
                        .map(|x| x.clamp(xr.0, xr.1)),
                );
            }
        }
        let (x0, x1) = min_max(&xs);
        let (y0, y1) = min_max(&ys);
        // Room for the text of labelled points.
        let labelled = lines().any(|l| !l.labels.is_empty());
        Some(Self {
            x: pad(x0, x1, figure.log_x, if labelled { 0.08 } else { 0.0 }),
            y: pad(y0, y1, figure.log_y, 0.05),
        })
    }
}

/// How far past the points `lo..hi` an interval may take the axis: a decade on a log axis, the
/// points' span (at least half their size) on a linear one.
fn reach((lo, hi): (f64, f64), log: bool) -> (f64, f64) {
    if log {
        (lo / 10.0, hi * 10.0)
    } else {
        let span = (hi - lo).max(0.5 * lo.abs().max(hi.abs())).max(1e-12);
        (lo - span, hi + span)
    }
}

/// Widens `lo..hi` by `share` of its span (a factor on a log axis), and an empty range to one.
fn pad(lo: f64, hi: f64, log: bool, share: f64) -> (f64, f64) {
    if log {
        let factor = if hi > lo { 1.25 } else { 2.0 };
        (lo / factor, hi * factor)
    } else if hi > lo {
        let pad = (hi - lo) * share;
        (lo - pad, hi + pad)
    } else {
        (lo - 0.5, hi + 0.5)
    }
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

/// Tick labels short enough not to collide: 3e-5, 0.25, 1200, 2e6.
pub fn tick(v: f64) -> String {
    let a = v.abs();
    // A linear axis's zero can arrive as −6e−17; no axis here has ticks that small.
    if a < 1e-12 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.0e}");
        s.replace("e-0", "e-")
    } else {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    }
}

fn draw_panel(
    area: &DrawingArea<BitMapBackend, Shift>,
    figure: &Figure,
    panel: &Panel,
    ranges: &Ranges,
    labels: &AxisLabels,
) -> Result<(), Box<dyn std::error::Error>> {
    // A title wider than its panel breaks into lines at its ", " separators (text_layout.rs),
    // drawn above the chart; one that fits is the chart's caption.
    let (panel_width, _) = area.dim_in_pixel();
    let title = wrap(&panel.title, ", ", panel_width.saturating_sub(40), |t| {
        text_width(t, 32)
    })?;
    let (heading, area) = match title.len() {
        0 | 1 => (None, area.clone()),
        n => {
            let (top, rest) = area.split_vertically(18 + 40 * n as u32);
            (Some(top), rest)
        }
    };
    if let Some(top) = &heading {
        let centred =
            TextStyle::from((FONT, 32).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        for (i, line) in title.iter().enumerate() {
            top.draw_text(line, &centred, (panel_width as i32 / 2, 18 + 40 * i as i32))?;
        }
    }
    let mut builder = ChartBuilder::on(&area);
    builder
        .margin(18)
        .margin_right(36)
        .x_label_area_size(if labels.x.is_empty() { 50 } else { 95 })
        .y_label_area_size(if labels.y.is_empty() { 100 } else { 140 });
    if heading.is_none() && !panel.title.is_empty() {
        builder.caption(&panel.title, (FONT, 32));
    }
    let (x0, x1) = ranges.x;
    let (y0, y1) = ranges.y;
    let x_ok = |x: f64| x.is_finite() && (!figure.log_x || x > 0.0);
    let y_ok = |y: f64| y.is_finite() && (!figure.log_y || y > 0.0);
    // A band or bar reaching past the axis is cut at it (`Ranges::of`).
    let floor = |y: f64| y.clamp(y0, y1);
    let floor_x = |x: f64| x.clamp(x0, x1);
    macro_rules! finish {
        ($ctx:expr) => {{
            let mut ctx = $ctx;
            ctx.configure_mesh()
                .x_desc(labels.x)
                .y_desc(labels.y)
                .x_labels(8)
                .y_labels(8)
                .x_label_formatter(&|v| tick(*v))
                .y_label_formatter(&|v| tick(*v))
                .label_style((FONT, 24))
                .axis_desc_style((FONT, 28))
                .light_line_style(RGBColor(238, 238, 238))
                .bold_line_style(RGBColor(215, 215, 215))
                .draw()?;
            if let Some(y) = figure.reference {
                ctx.draw_series(LineSeries::new(
                    vec![(x0, y), (x1, y)],
                    BLACK.mix(0.6).stroke_width(2),
                ))?;
            }
            for line in &panel.lines {
                let band: Vec<(f64, f64, f64)> = line
                    .band
                    .iter()
                    .copied()
                    .filter(|&(x, lo, hi)| x_ok(x) && lo.is_finite() && y_ok(hi))
                    .collect();
                if band.len() >= 2 {
                    let outline: Vec<(f64, f64)> = band
                        .iter()
                        .map(|&(x, _, hi)| (x, floor(hi)))
                        .chain(band.iter().rev().map(|&(x, lo, _)| (x, floor(lo))))
                        .collect();
                    ctx.draw_series(std::iter::once(Polygon::new(
                        outline,
                        line.color.mix(0.18).filled(),
                    )))?;
                }
            }
            for line in &panel.lines {
                let style = if line.faint {
                    line.color.mix(0.3).stroke_width(line.width)
                } else {
                    line.color.stroke_width(line.width)
                };
                let points: Vec<(f64, f64)> = line
                    .points
                    .iter()
                    .copied()
                    .filter(|&(x, y)| x_ok(x) && y_ok(y))
                    .collect();
                for &(x, lo, hi) in line.error_bars.iter().filter(|&&(x, _, _)| x_ok(x)) {
                    if lo.is_finite() && y_ok(hi) {
                        let (lo, hi) = (floor(lo), floor(hi));
                        ctx.draw_series(std::iter::once(PathElement::new(
                            vec![(x, lo), (x, hi)],
                            style,
                        )))?;
                        for y in [lo, hi] {
                            ctx.draw_series(std::iter::once(
                                EmptyElement::at((x, y))
                                    + PathElement::new(vec![(-10, 0), (10, 0)], style),
                            ))?;
                        }
                    }
                }
                for &(y, lo, hi) in line.x_error_bars.iter().filter(|&&(y, _, _)| y_ok(y)) {
                    if x_ok(hi) && lo.is_finite() {
                        let (lo, hi) = (floor_x(lo), floor_x(hi));
                        ctx.draw_series(std::iter::once(PathElement::new(
                            vec![(lo, y), (hi, y)],
                            style,
                        )))?;
                        for x in [lo, hi] {
                            ctx.draw_series(std::iter::once(
                                EmptyElement::at((x, y))
                                    + PathElement::new(vec![(0, -10), (0, 10)], style),
                            ))?;
                        }
                    }
                }
                if line.connect {
                    ctx.draw_series(LineSeries::new(points.clone(), style))?;
                }
                // A lone point has no segment to show it.
                if line.dots || points.len() == 1 {
                    ctx.draw_series(points.iter().map(|&p| Circle::new(p, 7, style.filled())))?;
                }
                for (x, y, text) in line.labels.iter().filter(|&&(x, y, _)| x_ok(x) && y_ok(y)) {
                    ctx.draw_series(std::iter::once(
                        EmptyElement::at((*x, *y))
                            + Text::new(text.clone(), (14, -34), (FONT, 24).into_font()),
                    ))?;
                }
                if let (true, Some(&last)) = (line.cross_at_end, points.last()) {
                    ctx.draw_series(std::iter::once(Cross::new(
                        last,
                        12,
                        line.color.stroke_width(4),
                    )))?;
                }
            }
        }};
    }
    match (figure.log_x, figure.log_y) {
        (false, false) => finish!(builder.build_cartesian_2d(x0..x1, y0..y1)?),
        (true, false) => finish!(builder.build_cartesian_2d(log_x_axis(figure, x0, x1), y0..y1)?),
        (false, true) => finish!(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale())?),
        (true, true) => {
            finish!(builder.build_cartesian_2d(log_x_axis(figure, x0, x1), (y0..y1).log_scale())?)
        }
    }
    Ok(())
}

/// A log x axis labelled at `figure.x_ticks`, or at the powers of ten in range (plotters' own
/// choice on a narrow log range can be a single label).
fn log_x_axis(figure: &Figure, x0: f64, x1: f64) -> WithKeyPoints<LogCoord<f64>> {
    let ticks = if figure.x_ticks.is_empty() {
        (x0.log10().ceil() as i32..=x1.log10().floor() as i32)
            .map(|e| 10f64.powi(e))
            .collect()
    } else {
        figure.x_ticks.clone()
    };
    (x0..x1).log_scale().with_key_points(ticks)
}

/// Checks that `bytes` are a PNG and returns its (width, height) from the IHDR chunk.
pub fn png_size(bytes: &[u8]) -> anyhow::Result<(u32, u32)> {
    if bytes.len() < 24 || &bytes[1..4] != b"PNG" {
        bail!("not a PNG file");
    }
    let be =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Ok((be(16), be(20)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(panels: Vec<Panel>, log_x: bool, log_y: bool) -> Figure {
        Figure {
            title: "Loss".into(),
            subtitle: "band: 95 % t-interval of the mean".into(),
            x_label: "step".into(),
            y_label: "nats per token".into(),
            log_x,
            x_ticks: Vec::new(),
            log_y,
            columns: 3,
            legend: vec![
                ("train".into(), PALETTE[0]),
                ("held-out".into(), PALETTE[1]),
            ],
            reference: Some(1.0),
            panels,
        }
    }

    fn panel() -> Panel {
        let mut line = Line::new(
            PALETTE[0],
            (1..50).map(|i| (i as f64, 8.0 / i as f64)).collect(),
        );
        line.band = (1..50)
            .map(|i| (i as f64, 6.0 / i as f64, 10.0 / i as f64))
            .collect();
        let mut bars = Line::new(PALETTE[1], vec![(1.0, 8.0), (25.0, 0.5), (49.0, 0.3)]);
        bars.error_bars = vec![(1.0, 7.0, 9.0), (25.0, -0.5, 1.5), (49.0, 0.2, 0.4)];
        bars.dots = true;
        bars.cross_at_end = true;
        bars.x_error_bars = vec![(8.0, 0.5, 2.0), (0.5, 20.0, 30.0)];
        bars.labels = vec![(25.0, 0.5, "β = 0.1".into())];
        let mut faint = Line::new(PALETTE[0], vec![(1.0, 7.0), (49.0, 0.2)]);
        faint.faint = true;
        let mut scatter = Line::new(PALETTE[2], vec![(2.0, 3.0), (3.0, 2.0)]);
        (scatter.connect, scatter.dots) = (false, true);
        Panel {
            title: "lr = 1e-4".into(),
            lines: vec![faint, line, bars, scatter],
        }
    }

    #[test]
    fn every_axis_kind_draws_a_png_of_the_figure_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("figure.png");
        for (log_x, log_y) in [(false, false), (true, false), (false, true), (true, true)] {
            draw(&path, &figure(vec![panel()], log_x, log_y)).unwrap();
            let size = png_size(&std::fs::read(&path).unwrap()).unwrap();
            assert_eq!(size, SIZE, "log_x {log_x}, log_y {log_y}");
        }
        // Four panels, three per row: two rows, three columns, wider and taller.
        draw(&path, &figure(vec![panel(); 4], false, false)).unwrap();
        let size = png_size(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(size, (1920, 1300));
        assert_eq!(size, figure_size(2, 3));
        // Nothing but the picture is left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// An interval of fifty decades: the axis stays a decade (and 1.25×) past the points.
    #[test]
    fn axes_come_from_the_points_and_reach_at_most_a_decade_past_them() {
        let mut line = Line::new(PALETTE[0], vec![(0.0, 2.0), (1.0, 20.0), (2.0, 5.0)]);
        line.band = vec![(0.0, -100.0, 1e25), (1.0, 1.0, 40.0), (2.0, 1e-3, 1e3)];
        let panel = Panel {
            title: String::new(),
            lines: vec![line],
        };
        let without_reference = |log_y| Figure {
            reference: None,
            ..figure(vec![panel.clone()], false, log_y)
        };
        let log = without_reference(true);
        let (y0, y1) = Ranges::of(&log).unwrap().y;
        assert!(
            (y0 - 0.2 / 1.25).abs() < 1e-12 && (y1 - 200.0 * 1.25).abs() < 1e-9,
            "{y0} {y1}"
        );
        // Linear: the points span 2..20, so an interval reaches at most 18 past either end.
        let linear = without_reference(false);
        let (y0, y1) = Ranges::of(&linear).unwrap().y;
        let pad = (38.0 + 16.0) * 0.05;
        assert!(
            (y0 - (-16.0 - pad)).abs() < 1e-9 && (y1 - (38.0 + pad)).abs() < 1e-9,
            "{y0} {y1}"
        );
    }

    #[test]
    fn a_figure_without_points_is_an_error_naming_the_file() {
        let err = draw(Path::new("empty.png"), &figure(vec![], false, false)).unwrap_err();
        assert!(format!("{err:#}").contains("empty.png"), "{err:#}");
        let only_nan = Panel {
            title: String::new(),
            lines: vec![Line::new(PALETTE[0], vec![(1.0, f64::NAN)])],
        };
        assert!(draw(Path::new("nan.png"), &figure(vec![only_nan], false, false)).is_err());
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(3e-5), "3e-5");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(1200.0), "1200");
        assert_eq!(tick(2e6), "2e6");
        assert_eq!(tick(-40.0), "-40");
    }
}
