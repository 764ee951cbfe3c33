//! The band above a figure's panels: the title, the subtitle, and the legend in centred rows
//! that fit the figure's width (one row per entry would run off both sides of a figure whose
//! legend names several grid keys per line: `text_layout.rs`).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::plot::{FONT, Figure};
use crate::text_layout::{rows, text_width};

/// The legend's layout: a colour swatch, 12 px, the name in 30-px text, 44 px to the next entry;
/// a row every 50 px.
const SWATCH: u32 = 48;
const LEGEND_GAP: u32 = 44;
const LEGEND_ROW: u32 = 50;
/// The header `figure_size` makes room for: title, subtitle and one legend row.
pub(crate) const DEFAULT_HEADER: u32 = 90 + 40 + 10 + LEGEND_ROW;

/// Each legend entry's width (swatch and name), and the entries' rows within `width`.
fn legend_rows(
    figure: &Figure,
    width: u32,
) -> Result<(Vec<u32>, Vec<std::ops::Range<usize>>), String> {
    let widths = figure
        .legend
        .iter()
        .map(|(name, _)| text_width(name, 30).map(|w| SWATCH + 12 + w))
        .collect::<Result<Vec<u32>, _>>()?;
    let rows = rows(&widths, LEGEND_GAP, width.saturating_sub(80));
    Ok((widths, rows))
}

/// The pixels above the panels: the title, then the subtitle and the legend's rows where there
/// are.
pub(crate) fn header_height(figure: &Figure, width: u32) -> Result<u32, String> {
    let legend = legend_rows(figure, width)?.1.len() as u32;
    Ok(90
        + if figure.subtitle.is_empty() { 0 } else { 40 }
        + if legend == 0 {
            0
        } else {
            10 + LEGEND_ROW * legend
        })
}

/// The title and subtitle, centred, and the legend as centred rows of colour swatches and
/// names.
pub(crate) fn draw_header(
    area: &DrawingArea<BitMapBackend, Shift>,
    figure: &Figure,
) -> Result<(), Box<dyn std::error::Error>> {
    let (width, _) = area.dim_in_pixel();
    let centred = Pos::new(HPos::Center, VPos::Top);
    let title = TextStyle::from((FONT, 44).into_font()).pos(centred);
    area.draw_text(&figure.title, &title, (width as i32 / 2, 22))?;
    if !figure.subtitle.is_empty() {
        let subtitle = TextStyle::from((FONT, 28).into_font())
            .color(&RGBColor(70, 70, 70))
            .pos(centred);
        area.draw_text(&figure.subtitle, &subtitle, (width as i32 / 2, 78))?;
    }
    let label = TextStyle::from((FONT, 30).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let (widths, rows) = legend_rows(figure, width)?;
    let first = 90 + if figure.subtitle.is_empty() { 0 } else { 40 } + 10 + LEGEND_ROW / 2;
    for (r, row) in rows.iter().enumerate() {
        let total: u32 = widths[row.clone()]
            .iter()
            .map(|w| w + LEGEND_GAP)
            .sum::<u32>()
            - LEGEND_GAP;
        let y = (first + LEGEND_ROW * r as u32) as i32;
        let mut x = (width as i32 - total as i32) / 2;
        for ((name, color), w) in figure.legend[row.clone()].iter().zip(&widths[row.clone()]) {
            area.draw(&PathElement::new(
                vec![(x, y), (x + SWATCH as i32, y)],
                color.stroke_width(6),
            ))?;
            area.draw_text(name, &label, (x + SWATCH as i32 + 12, y))?;
            x += (w + LEGEND_GAP) as i32;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::{Line, PALETTE, Panel, draw, figure_size};

    #[test]
    fn a_long_legend_flows_into_rows_and_makes_the_figure_taller_not_cut() {
        let name = |i: usize| {
            format!(
                "rloo (clip_high = 0.2, clip_low = 0.2, epochs = {i}, objective = ppo_clip, \
                 token_reduction = sum)"
            )
        };
        let figure = Figure {
            title: "t".into(),
            subtitle: "s".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            log_x: false,
            x_ticks: Vec::new(),
            log_y: false,
            panels: vec![Panel {
                title: "clip_high = 4e-4, clip_low = 3e-4, epochs = 1, lr = 1, objective = \
                        policy_gradient, token_reduction = mean"
                    .into(),
                lines: vec![Line::new(PALETTE[0], vec![(0.0, 1.0), (1.0, 2.0)])],
            }],
            columns: 1,
            legend: (0..8).map(|i| (name(i), PALETTE[i])).collect(),
            reference: None,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.png");
        draw(&path, &figure).unwrap();
        let image = image::open(&path).unwrap().to_luma8();
        // Each entry is about 1,200 px wide in a 1,600-px figure: one per row, 8 rows of 50 px
        // where the default header has room for one.
        let (width, height) = figure_size(1, 1);
        assert_eq!(
            (image.width(), image.height()),
            (width, height + 7 * LEGEND_ROW)
        );
        // No legend text runs off either side.
        let header = header_height(&figure, width).unwrap();
        assert_eq!(header, DEFAULT_HEADER + 7 * LEGEND_ROW);
        for x in [0, width - 1] {
            assert!(
                (0..header).all(|y| image.get_pixel(x, y)[0] > 200),
                "ink at column {x}"
            );
        }
    }
}
