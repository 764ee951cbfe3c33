//! What the report's integration tests share: a fresh copy of a fixture sweep, CSV files read
//! back as maps, numbers compared by hand, and pixels counted in a figure.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A fresh copy of the fixture sweep `tests/fixtures/report` (the report writes into the
/// sweep directory).
pub fn fixture_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fixture_sweep");
    copy_dir(
        &Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
            .join("tests/fixtures/report"),
        &dir,
    );
    (tmp, dir)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A CSV file as one map of column → value per row.
pub fn rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// `column` of `row` is `expected` (to 1e-6), or empty for None.
pub fn assert_number(row: &BTreeMap<String, String>, column: &str, expected: Option<f64>) {
    let text = &row[column];
    match expected {
        None => assert_eq!(text, "", "{column} of {row:?}"),
        Some(e) => {
            let got: f64 = text
                .parse()
                .unwrap_or_else(|_| panic!("{column}: {text:?}"));
            assert!((got - e).abs() < 1e-6, "{column}: {got} vs {e} in {row:?}");
        }
    }
}

/// `prefix_low` and `prefix_high` are mean ∓ half-width.
pub fn assert_interval(row: &BTreeMap<String, String>, prefix: &str, mean: f64, half: f64) {
    assert_number(row, &format!("{prefix}_low"), Some(mean - half));
    assert_number(row, &format!("{prefix}_high"), Some(mean + half));
}

/// The sample mean, Bessel std and 95 % t half-width of `values`, with t₀.₉₇₅ from the printed
/// table (df 1 → 12.706205, 2 → 4.302653, 3 → 3.182446): what the tests compare with.
pub fn by_hand(values: &[f64]) -> (f64, f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let t = match values.len() {
        2 => 12.706205,
        3 => 4.302653,
        4 => 3.182446,
        n => panic!("no t value typed in for {n} values"),
    };
    (mean, std, t * std / n.sqrt())
}

/// Share of pixels that are not white, and whether `color` appears exactly.
pub fn ink(path: &Path, color: (u8, u8, u8)) -> (f64, bool) {
    let image = image::open(path).unwrap().to_rgb8();
    let pixels = image.pixels().count() as f64;
    let inked = image.pixels().filter(|p| p.0 != [255, 255, 255]).count() as f64;
    let has = image.pixels().any(|p| p.0 == [color.0, color.1, color.2]);
    (inked / pixels, has)
}

/// Pixels within 2 of `color` in every channel.
pub fn pixels_near(path: &Path, color: (u8, u8, u8)) -> usize {
    let image = image::open(path).unwrap().to_rgb8();
    let [r, g, b] = [color.0, color.1, color.2].map(i32::from);
    image
        .pixels()
        .filter(|p| {
            let [pr, pg, pb] = p.0.map(i32::from);
            (pr - r).abs() <= 2 && (pg - g).abs() <= 2 && (pb - b).abs() <= 2
        })
        .count()
}
