//! Line charts as PNG files, drawn with plotters' bitmap backend. Text renders with the DejaVu
//! Sans font embedded in the binary (`assets/DejaVuSans.ttf`, Bitstream Vera license), so charts
//! need no system fonts.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::bail;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

/// The font family every chart uses.
const FONT: &str = "sans-serif";
const FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Width and height of every chart, in pixels.
pub const SIZE: (u32, u32) = (1600, 1000);

/// One named line of (x, y) points.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// What a chart shows and how its axes are labelled.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// A logarithmic y axis (all y values must be > 0).
    pub log_y: bool,
}

fn register_fonts() -> anyhow::Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok());
    anyhow::ensure!(ok, "the embedded DejaVuSans.ttf is not a valid font");
    Ok(())
}

/// Draws `series` as lines, one colour each, with a title, axis labels and a legend, into the
/// PNG file `path` (`SIZE` pixels). Non-finite points are skipped.
pub fn line_chart(path: &Path, chart: &Chart, series: &[Series]) -> anyhow::Result<()> {
    register_fonts()?;
    let finite = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!chart.log_y || y > 0.0);
    let all: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied().filter(finite))
        .collect();
    if all.is_empty() {
        bail!("{}: no finite points to plot", path.display());
    }
    let (mut x0, mut x1) = min_max(all.iter().map(|p| p.0));
    let (mut y0, mut y1) = min_max(all.iter().map(|p| p.1));
    if x1 <= x0 {
        (x0, x1) = (x0 - 0.5, x1 + 0.5);
    }
    if chart.log_y {
        (y0, y1) = (y0 / 1.2, y1 * 1.2);
    } else {
        let pad = ((y1 - y0) * 0.05).max(1e-9);
        (y0, y1) = (y0 - pad, y1 + pad);
    }
    let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = BitMapBackend::new(path, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(chart.title, (FONT, 44))
            .margin(30)
            .x_label_area_size(90)
            .y_label_area_size(120);
        macro_rules! finish {
            ($ctx:expr) => {{
                let mut ctx = $ctx;
                ctx.configure_mesh()
                    .x_desc(chart.x_label)
                    .y_desc(chart.y_label)
                    .label_style((FONT, 26))
                    .axis_desc_style((FONT, 32))
                    .draw()?;
                for (i, s) in series.iter().enumerate() {
                    let color = Palette99::pick(i).to_rgba();
                    let points: Vec<(f64, f64)> = s.points.iter().copied().filter(finite).collect();
                    ctx.draw_series(LineSeries::new(points, color.stroke_width(3)))?
                        .label(s.name.as_str())
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x - 12, y), (x + 14, y)], color.stroke_width(4))
                        });
                }
                ctx.configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .label_font((FONT, 28))
                    .position(SeriesLabelPosition::UpperRight)
                    .draw()?;
            }};
        }
        if chart.log_y {
            finish!(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale())?);
        } else {
            finish!(builder.build_cartesian_2d(x0..x1, y0..y1)?);
        }
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| anyhow::anyhow!("{}: cannot draw the chart: {e}", path.display()))
}

fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_chart_writes_a_png_of_the_chart_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.png");
        let series = vec![
            Series {
                name: "train".into(),
                points: (0..50)
                    .map(|i| (i as f64, 8.0 / (1.0 + i as f64)))
                    .collect(),
            },
            Series {
                name: "held-out".into(),
                points: vec![(0.0, 8.0), (25.0, 0.5), (49.0, 0.3)],
            },
        ];
        for log_y in [false, true] {
            let chart = Chart {
                title: "Loss",
                x_label: "step",
                y_label: "nats per token",
                log_y,
            };
            line_chart(&path, &chart, &series).unwrap();
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(&bytes[1..4], b"PNG");
            // The IHDR chunk holds width and height, big-endian, at bytes 16..24.
            let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
            let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
            assert_eq!((width, height), SIZE);
        }
    }

    #[test]
    fn a_chart_without_points_is_an_error_naming_the_file() {
        let chart = Chart {
            title: "t",
            x_label: "x",
            y_label: "y",
            log_y: false,
        };
        let err = line_chart(Path::new("empty.png"), &chart, &[]).unwrap_err();
        assert!(format!("{err:#}").contains("empty.png"));
    }
}
