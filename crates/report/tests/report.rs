//! `pglab report` on a committed sweep (`tests/fixtures/report/`: CSV files only, numbers chosen
//! so every figure of the report can be worked out by hand): report.csv and variance.csv against
//! those hand computations, figures of the right size that show data, byte-identical rebuilds,
//! diverged/failed/pending runs, a sweep without a probe, and errors that name the file (an
//! unknown estimator name among them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pglab_report::plot::{PALETTE, figure_size, png_size};

const FIGURES: [&str; 6] = [
    "reward.png",
    "reward_seeds.png",
    "grad_variance.png",
    "variance_ratio.png",
    "snr.png",
    "lr_sensitivity.png",
];

/// A fresh copy of the fixture sweep (the report writes into the sweep directory).
fn fixture_copy() -> (tempfile::TempDir, PathBuf) {
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
fn rows(path: &Path) -> Vec<BTreeMap<String, String>> {
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

fn assert_number(row: &BTreeMap<String, String>, column: &str, expected: Option<f64>) {
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

#[test]
fn report_csv_matches_hand_computation() {
    let (_tmp, dir) = fixture_copy();
    pglab_report::write(&dir).unwrap();
    let rows = rows(&dir.join("report.csv"));
    // Panels in grid order (lr 0.01, then 0.1), estimators in grid order within each.
    let keys: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["estimator"].as_str(), r["train.lr"].as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("reinforce", "0.01"),
            ("rloo", "0.01"),
            ("reinforce", "0.1"),
            ("rloo", "0.1")
        ]
    );
    // The sweep's best step reward is 40 (rloo, lr 0.01, seed 1), so "half of the best" is 20.
    // t₀.₉₇₅ from the printed table: df 1 → 12.706205, df 2 → 4.302653.
    let counts = |r: &BTreeMap<String, String>| {
        [
            "runs",
            "finished",
            "diverged",
            "failed",
            "runs_reaching_half_best",
        ]
        .map(|c| r[c].parse::<usize>().unwrap())
    };

    // reinforce, lr 0.01: finals 10, 12, 14 → mean 12, std 2, CI 12 ± 4.302653·2/√3.
    // Bests 15, 16, 20. Only seed 2 reaches 20, at 16 generations (its second step).
    // Probes: reinforce's grad_var 100, 300 (seed 0), 200, 50 (seed 1) → median 150; ratios to
    // RLOO's 100/10, 300/20, 200/10 (50/0 has none) → 10, 15, 20 → median 15.
    let r = &rows[0];
    assert_eq!(counts(r), [3, 3, 0, 0, 1]);
    let half_width = 4.302653 * 2.0 / 3f64.sqrt();
    assert_number(r, "final_reward_mean", Some(12.0));
    assert_number(r, "final_reward_std", Some(2.0));
    assert_number(r, "final_reward_ci95_low", Some(12.0 - half_width));
    assert_number(r, "final_reward_ci95_high", Some(12.0 + half_width));
    assert_number(r, "best_reward", Some(20.0));
    assert_number(r, "generations_to_half_best", Some(16.0));
    assert_number(r, "median_grad_var", Some(150.0));
    assert_number(r, "grad_var_ratio_to_rloo", Some(15.0));

    // rloo, lr 0.01: finals 20, 20, 23 → mean 21, deviations −1, −1, 2 → std √3, CI 21 ± t₂.
    // Reaches 20 at 8, 16, 16 generations → mean 40/3. One probe: rloo's grad_var 4, ratio 1.
    let r = &rows[1];
    assert_eq!(counts(r), [3, 3, 0, 0, 3]);
    assert_number(r, "final_reward_mean", Some(21.0));
    assert_number(r, "final_reward_std", Some(3f64.sqrt()));
    assert_number(r, "final_reward_ci95_low", Some(21.0 - 4.302653));
    assert_number(r, "final_reward_ci95_high", Some(21.0 + 4.302653));
    assert_number(r, "best_reward", Some(40.0));
    assert_number(r, "generations_to_half_best", Some(40.0 / 3.0));
    assert_number(r, "median_grad_var", Some(4.0));
    assert_number(r, "grad_var_ratio_to_rloo", Some(1.0));

    // reinforce, lr 0.1: seed 0 finished (final 5, best 8, never 20), seed 1 diverged (its best
    // of 7 does not count), seed 2 failed. One value: a mean, no spread. No probe.
    let r = &rows[2];
    assert_eq!(counts(r), [3, 1, 1, 1, 0]);
    assert_number(r, "final_reward_mean", Some(5.0));
    for column in [
        "final_reward_std",
        "final_reward_ci95_low",
        "final_reward_ci95_high",
        "generations_to_half_best",
        "median_grad_var",
        "grad_var_ratio_to_rloo",
    ] {
        assert_number(r, column, None);
    }
    assert_number(r, "best_reward", Some(8.0));

    // rloo, lr 0.1: seed 2 is pending (not counted); finals 30, 34 → mean 32, std √8,
    // CI 32 ± 12.706205·√8/√2 = 32 ± 25.41241. Both reach 20 at once (8 generations).
    let r = &rows[3];
    assert_eq!(counts(r), [2, 2, 0, 0, 2]);
    assert_number(r, "final_reward_mean", Some(32.0));
    assert_number(r, "final_reward_std", Some(8f64.sqrt()));
    assert_number(r, "final_reward_ci95_low", Some(32.0 - 25.41241));
    assert_number(r, "final_reward_ci95_high", Some(32.0 + 25.41241));
    assert_number(r, "best_reward", Some(34.0));
    assert_number(r, "generations_to_half_best", Some(8.0));
}

#[test]
fn variance_csv_pools_every_probe_by_hand() {
    let (_tmp, dir) = fixture_copy();
    pglab_report::write(&dir).unwrap();
    let rows = rows(&dir.join("variance.csv"));
    assert_eq!(rows.len(), 2);
    // reinforce: grad_var 100, 300, 200, 50, 40 → median 100; paired ratios 10, 15, 20, 10
    // (40/4) → median 12.5; first probe of each run 10, 20, 10 → 10; snr 0.5, 0.25, 1, 0, 2 → 0.5.
    let r = &rows[0];
    assert_eq!(
        (r["estimator"].as_str(), r["probes"].as_str()),
        ("reinforce", "5")
    );
    assert_number(r, "median_grad_var", Some(100.0));
    assert_number(r, "grad_var_ratio_to_rloo", Some(12.5));
    assert_number(r, "grad_var_ratio_to_rloo_at_start", Some(10.0));
    assert_number(r, "median_snr", Some(0.5));
    // rloo: grad_var 10, 20, 10, 0, 4 → median 10; every ratio with a positive RLOO is 1;
    // snr 0.1, 0.2, 0.3, 0.4, 0.5 → 0.3.
    let r = &rows[1];
    assert_eq!(
        (r["estimator"].as_str(), r["probes"].as_str()),
        ("rloo", "5")
    );
    assert_number(r, "median_grad_var", Some(10.0));
    assert_number(r, "grad_var_ratio_to_rloo", Some(1.0));
    assert_number(r, "grad_var_ratio_to_rloo_at_start", Some(1.0));
    assert_number(r, "median_snr", Some(0.3));
}

/// Share of pixels that are not white, and whether `color` appears.
fn ink(path: &Path, color: (u8, u8, u8)) -> (f64, bool) {
    let image = image::open(path).unwrap().to_rgb8();
    let pixels = image.pixels().count() as f64;
    let inked = image.pixels().filter(|p| p.0 != [255, 255, 255]).count() as f64;
    let has = image.pixels().any(|p| p.0 == [color.0, color.1, color.2]);
    (inked / pixels, has)
}

#[test]
fn figures_have_their_size_and_show_the_data() {
    let (_tmp, dir) = fixture_copy();
    pglab_report::write(&dir).unwrap();
    let plots = dir.join("plots");
    // Two learning rates: reward figures have two panels in a row; probe figures a row per
    // training estimator (2 × 2); lr_sensitivity one panel.
    let sizes = [
        figure_size(1, 2),
        figure_size(1, 2),
        figure_size(2, 2),
        figure_size(2, 2),
        figure_size(2, 2),
        figure_size(1, 1),
    ];
    let (reinforce, rloo) = (PALETTE[1], PALETTE[0]);
    for (file, size) in FIGURES.iter().zip(sizes) {
        let path = plots.join(file);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(png_size(&bytes).unwrap(), size, "{file}");
        assert!(size.0 >= 1600 && size.1 >= 1000, "{file}");
        let (share, has_reinforce) = ink(&path, (reinforce.0, reinforce.1, reinforce.2));
        assert!(
            share > 0.02,
            "{file}: only {share} of the pixels are not white"
        );
        assert!(has_reinforce, "{file}: no REINFORCE-coloured pixel");
    }
    // RLOO is a line in every figure but the ratio to itself (where it is the reference line).
    for file in FIGURES.iter().filter(|f| **f != "variance_ratio.png") {
        assert!(ink(&plots.join(file), (rloo.0, rloo.1, rloo.2)).1, "{file}");
    }
}

#[test]
fn rebuilding_from_the_csvs_gives_byte_identical_files() {
    let (_tmp, dir) = fixture_copy();
    pglab_report::write(&dir).unwrap();
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let outputs: Vec<String> = FIGURES
        .iter()
        .map(|f| format!("plots/{f}"))
        .chain(["report.csv", "variance.csv", "summary.md", "index.html"].map(String::from))
        .collect();
    let first: Vec<Vec<u8>> = outputs.iter().map(|f| read(f)).collect();
    std::fs::remove_dir_all(dir.join("plots")).unwrap();
    pglab_report::write(&dir).unwrap();
    for (name, before) in outputs.iter().zip(&first) {
        assert!(read(name) == *before, "{name} changed on rebuild");
    }
}

#[test]
fn summary_and_index_mark_diverged_failed_and_pending_runs() {
    let (_tmp, dir) = fixture_copy();
    let index = pglab_report::write(&dir).unwrap();
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.starts_with("# Sweep `fixture_sweep`\n"), "{md}");
    assert!(
        md.contains("12 runs: 9 finished, 1 diverged, 1 failed, 1 not run yet"),
        "{md}"
    );
    assert!(
        md.contains("- `s1-reinforce-lr0.1`: diverged: non-finite loss at step 1"),
        "{md}"
    );
    assert!(
        md.contains("- `s2-reinforce-lr0.1`: failed: runs/s2-reinforce-lr0.1/metrics.csv: No space left on device (os error 28)"),
        "{md}"
    );
    // The markdown table: a header, a rule and one row per group, all with the same columns.
    let table: Vec<&str> = md
        .lines()
        .skip_while(|l| !l.starts_with("| estimator |"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(table.len(), 2 + 4, "{md}");
    assert!(
        table.iter().all(|l| l.matches('|').count() == 12),
        "{table:?}"
    );
    assert_eq!(
        table[2],
        "| reinforce | 0.01 | 3 | 12.0 ± 2.00 | [7.03, 17.0] | 20.0 | 16.0 (1/3) | 150 | 15.0× | 0 | 0 |"
    );
    for figure in FIGURES {
        assert!(md.contains(&format!("](plots/{figure})")), "{figure}");
    }

    let html = std::fs::read_to_string(&index).unwrap();
    assert_eq!(index, dir.join("index.html"));
    for figure in FIGURES {
        assert!(
            html.contains(&format!("<img src=\"plots/{figure}\"")),
            "{figure}"
        );
    }
    assert!(
        html.contains("<td>reinforce</td><td>0.01</td><td>3</td>"),
        "{html}"
    );
    assert!(
        html.contains("<code>s1-reinforce-lr0.1</code>: diverged"),
        "{html}"
    );
    // Opens from disk: every link is relative.
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("src=\"/"));
}

#[test]
fn a_sweep_without_probe_skips_the_probe_figures_and_says_why() {
    let (_tmp, dir) = fixture_copy();
    // A stale figure from an earlier report must not survive.
    pglab_report::write(&dir).unwrap();
    // No probe.csv, or the empty one a run with `probe.every = 0` leaves.
    for (i, run) in std::fs::read_dir(dir.join("runs")).unwrap().enumerate() {
        let probe = run.unwrap().path().join("probe.csv");
        if i % 2 == 0 {
            let _ = std::fs::remove_file(probe);
        } else {
            std::fs::write(probe, "").unwrap();
        }
    }
    pglab_report::write(&dir).unwrap();
    for figure in ["grad_variance.png", "variance_ratio.png", "snr.png"] {
        assert!(!dir.join("plots").join(figure).exists(), "{figure}");
    }
    for figure in ["reward.png", "reward_seeds.png", "lr_sensitivity.png"] {
        assert!(dir.join("plots").join(figure).exists(), "{figure}");
    }
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        md.contains("- `grad_variance.png` not drawn: the sweep has no probe"),
        "{md}"
    );
    assert!(
        !md.contains("## Gradient variance at the same weights"),
        "{md}"
    );
}

/// `pglab report DIR` as the binary runs it: success, or the error as the one line it prints.
fn pglab_report(dir: &Path) -> (bool, String) {
    match pglab_report::write(dir) {
        Ok(_) => (true, String::new()),
        Err(err) => (false, format!("error: {err:#}")),
    }
}

#[test]
fn bad_input_is_an_error_naming_the_file_and_place() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, stderr) = pglab_report(tmp.path());
    assert!(
        !ok && stderr.contains("not a sweep directory (no summary.csv"),
        "{stderr}"
    );
    assert!(!tmp.path().join("plots").exists(), "nothing written");

    let (_tmp, dir) = fixture_copy();
    let metrics = dir.join("runs/s0-rloo-lr0.1/metrics.csv");
    let text = std::fs::read_to_string(&metrics).unwrap();
    std::fs::write(&metrics, text.replacen("\n1,16,30,", "\n1,16,thirty,", 1)).unwrap();
    let (ok, stderr) = pglab_report(&dir);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains(
            "s0-rloo-lr0.1/metrics.csv:3: column `reward_mean`: \"thirty\" is not a number"
        ),
        "{stderr}"
    );

    let (_tmp, dir) = fixture_copy();
    std::fs::remove_file(dir.join("runs/s0-rloo-lr0.1/metrics.csv")).unwrap();
    let (ok, stderr) = pglab_report(&dir);
    assert!(
        !ok && stderr.contains("s0-rloo-lr0.1/metrics.csv"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_estimator_is_a_one_line_error_naming_file_line_and_column() {
    let (_tmp, dir) = fixture_copy();
    let probe = dir.join("runs/s1-reinforce-lr0.01/probe.csv");
    let text = std::fs::read_to_string(&probe).unwrap();
    std::fs::write(&probe, text.replacen("\n0,0,rloo,", "\n0,0,ppo,", 1)).unwrap();
    let (ok, stderr) = pglab_report(&dir);
    assert!(!ok && stderr.lines().count() == 1, "{stderr}");
    assert!(
        stderr
            .contains("s1-reinforce-lr0.01/probe.csv:3: column `estimator`: unknown variant `ppo`"),
        "{stderr}"
    );

    let (_tmp, dir) = fixture_copy();
    let summary = dir.join("summary.csv");
    let text = std::fs::read_to_string(&summary).unwrap();
    std::fs::write(&summary, text.replacen(",0,rloo,0.1,", ",0,ppo,0.1,", 1)).unwrap();
    let (ok, stderr) = pglab_report(&dir);
    assert!(!ok && stderr.lines().count() == 1, "{stderr}");
    assert!(
        stderr.contains("summary.csv:5: column `train.estimator`: unknown variant `ppo`"),
        "{stderr}"
    );
}
