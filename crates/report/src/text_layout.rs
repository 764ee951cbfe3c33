//! Fitting a figure's text to its width. A grid of several keys names a panel or a legend entry
//! by all of them ("clip_high = 4e-4, clip_low = 3e-4, epochs = 1, lr = 1, objective =
//! policy_gradient, token_reduction = mean"): drawn on one line, such panel titles ran into
//! each other and a legend ran off both sides of the figure (`experiments/sample_reuse.toml`'s
//! report). Titles break into lines at their ", " separators; legend entries flow into rows.

use plotters::prelude::IntoFont;

use crate::plot::FONT;

/// The width in pixels of `text` in the figures' font at `size`.
pub fn text_width(text: &str, size: u32) -> Result<u32, String> {
    (FONT, size)
        .into_font()
        .box_size(text)
        .map(|(w, _)| w)
        .map_err(|e| e.to_string())
}

/// `text` broken into lines no wider than `max` (as `width` measures them), at `separator`s,
/// which end the line they break (so the text reads back joined). A piece wider than `max` on
/// its own keeps a line to itself: it is never cut inside.
pub fn wrap(
    text: &str,
    separator: &str,
    max: u32,
    width: impl Fn(&str) -> Result<u32, String>,
) -> Result<Vec<String>, String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    let pieces: Vec<&str> = text.split(separator).collect();
    for (i, piece) in pieces.iter().enumerate() {
        let piece = match i + 1 < pieces.len() {
            true => format!("{piece}{}", separator.trim_end()),
            false => piece.to_string(),
        };
        let joined = match current.is_empty() {
            true => piece.clone(),
            false => format!("{current} {piece}"),
        };
        if current.is_empty() || width(&joined)? <= max {
            current = joined;
        } else {
            lines.push(std::mem::replace(&mut current, piece));
        }
    }
    lines.push(current);
    Ok(lines)
}

/// Items of the given widths laid out left to right in rows no wider than `max`, `gap` apart:
/// each row as the range of item indices it holds. An item wider than `max` has a row of its
/// own.
pub fn rows(widths: &[u32], gap: u32, max: u32) -> Vec<std::ops::Range<usize>> {
    let mut rows = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (i, &w) in widths.iter().enumerate() {
        if i > start && used + gap + w > max {
            rows.push(start..i);
            (start, used) = (i, w);
        } else {
            used += if i > start { gap + w } else { w };
        }
    }
    if start < widths.len() {
        rows.push(start..widths.len());
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10 pixels a character: widths by hand.
    fn chars(text: &str) -> Result<u32, String> {
        Ok(10 * text.chars().count() as u32)
    }

    #[test]
    fn a_title_breaks_at_its_separators_and_reads_back_whole() {
        let title = "clip_high = 4e-4, clip_low = 3e-4, epochs = 1, lr = 1";
        // 30 characters a line: "clip_high = 4e-4, clip_low = 3e-4," is 34, too long.
        let lines = wrap(title, ", ", 300, chars).unwrap();
        assert_eq!(
            lines,
            [
                "clip_high = 4e-4,",
                "clip_low = 3e-4, epochs = 1,",
                "lr = 1"
            ]
        );
        assert_eq!(lines.join(" "), title);
        // Room for all of it: one line, unchanged.
        assert_eq!(wrap(title, ", ", 1000, chars).unwrap(), [title]);
        // A piece longer than the room keeps a line of its own, uncut.
        assert_eq!(
            wrap("a, token_reduction = mean, b", ", ", 50, chars).unwrap(),
            ["a,", "token_reduction = mean,", "b"]
        );
    }

    #[test]
    fn legend_entries_flow_into_rows_that_fit() {
        // 100-wide room, gap 10: 40 + 10 + 40 = 90 fits, a third does not.
        assert_eq!(rows(&[40, 40, 40, 40, 40], 10, 100), [0..2, 2..4, 4..5]);
        // One wider than the room has a row to itself; nothing is lost.
        assert_eq!(rows(&[30, 150, 30, 30], 10, 100), [0..1, 1..2, 2..4]);
        assert_eq!(
            rows(&[30, 30], 10, 100),
            vec![std::ops::Range { start: 0, end: 2 }]
        );
        assert!(rows(&[], 10, 100).is_empty());
    }
}
