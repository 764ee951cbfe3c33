//! `pglab report` on a committed sweep (`tests/fixtures/report/`: CSV files only, numbers chosen
//! so every figure of the report can be worked out by hand): report.csv against those hand
//! computations, figures of the right size that show data and their bands, the summary's tables
//! with their intervals, byte-identical rebuilds, diverged/failed/pending runs, and errors that
//! name the file (an unknown estimator name among them). The probe's numbers: `probe.rs`.
//!
//! The fixture: reinforce and rloo at lr 0.01 (seeds 0–3) and 0.1 (seeds 0–2; reinforce's seed
//! 1 diverged and seed 2 failed, rloo's seed 2 is pending); KL logged by reinforce lr 0.1 seed 0
//! and rloo lr 0.1 seeds 0 and 1; probes (reinforce, rloo, grpo) in three runs at lr 0.01, with
//! negative (unclipped) and infinite SNRs.

mod common;

use std::path::Path;

use common::{assert_interval, assert_number, by_hand, fixture_copy, ink, pixels_near, rows};
use pglab_report::plot::{PALETTE, figure_size, png_size};
use pglab_report::{ReportOptions, SeedSubset};

const FIGURES: [&str; 8] = [
    "reward.png",
    "reward_seeds.png",
    "lr_sensitivity.png",
    "grad_variance.png",
    "variance_ratio.png",
    "snr.png",
    "cos_to_ref.png",
    "kl_tradeoff.png",
];

/// The fixture's reports count a final reward of 12 or more as a success.
fn options() -> ReportOptions {
    ReportOptions {
        success_reward: Some(12.0),
        ..ReportOptions::default()
    }
}

/// A run's mean reward over training from its four steps at 8, 16, 24, 32 generations: the
/// trapezoids 8·(r₀ + r₁)/2 + 8·(r₁ + r₂)/2 + 8·(r₂ + r₃)/2 over the span of 24.
fn auc(r: [f64; 4]) -> f64 {
    8.0 * (r[0] / 2.0 + r[1] + r[2] + r[3] / 2.0) / 24.0
}

#[test]
fn report_csv_matches_hand_computation() {
    let (_tmp, dir) = fixture_copy();
    pglab_report::write(&dir, &options()).unwrap();
    let rows = rows(&dir.join("report.csv"));
    // Panels in grid order (lr 0.01, then 0.1), estimators in declaration order within each.
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
    let counts = |r: &std::collections::BTreeMap<String, String>| {
        [
            "runs",
            "finished",
            "diverged",
            "failed",
            "runs_reaching_half_best",
        ]
        .map(|c| r[c].parse::<usize>().unwrap())
    };

    // reinforce, lr 0.01: finals 10, 12, 14, 5 → mean 10.25, squared deviations 0.0625 +
    // 3.0625 + 14.0625 + 27.5625 = 44.75, std √(44.75/3), half-width 3.182446 · std/2.
    // Success (≥ 12): 12 and 14, 2 of 4 → 0.5, Wilson [0.150039, 0.849961] (symmetric about ½:
    // half 1.959964 · √(0.0625 + 3.841459/64)/(1 + 3.841459/4) = 0.349961).
    // Rewards (9, 10, 15, 6), (11, 16, 12, 9), (8, 20, 14, 14), (4, 6, 2, 8): AUC 32.5/3, 38/3,
    // 15, 14/3. No KL. Bests 15, 16, 20, 8; only seed 2 reaches 20, at 16 generations.
    let r = &rows[0];
    assert_eq!(counts(r), [4, 4, 0, 0, 1]);
    let (mean, std, half) = by_hand(&[10.0, 12.0, 14.0, 5.0]);
    assert!((mean - 10.25).abs() < 1e-12 && (std - (44.75f64 / 3.0).sqrt()).abs() < 1e-12);
    assert_number(r, "final_reward_mean", Some(10.25));
    assert_number(r, "final_reward_std", Some(std));
    assert_interval(r, "final_reward_ci95", 10.25, half);
    assert_number(r, "success_rate", Some(0.5));
    assert_number(r, "success_ci95_low", Some(0.150039));
    assert_number(r, "success_ci95_high", Some(0.849961));
    let aucs = [
        auc([9.0, 10.0, 15.0, 6.0]),
        auc([11.0, 16.0, 12.0, 9.0]),
        auc([8.0, 20.0, 14.0, 14.0]),
        auc([4.0, 6.0, 2.0, 8.0]),
    ];
    assert!((aucs[0] - 32.5 / 3.0).abs() < 1e-12 && (aucs[3] - 14.0 / 3.0).abs() < 1e-12);
    let (auc_mean, _, auc_half) = by_hand(&aucs);
    assert!((auc_mean - 129.5 / 12.0).abs() < 1e-12);
    assert_number(r, "auc_mean", Some(auc_mean));
    assert_interval(r, "auc_ci95", auc_mean, auc_half);
    for column in ["final_kl_mean", "final_kl_ci95_low", "final_kl_ci95_high"] {
        assert_number(r, column, None);
    }
    assert_number(r, "best_reward", Some(20.0));
    assert_number(r, "generations_to_half_best", Some(16.0));

    // rloo, lr 0.01: finals 20, 20, 23, 29 → mean 23, deviations −3, −3, 0, 6 → std √18,
    // half-width 3.182446 · √18/2. All four ≥ 12: Wilson for 4/4 = [1.480182/1.960365 −
    // 0.244945, 1] = [0.510109, 1]. Reach 20 at 8, 16, 16, 8 generations → 12.
    let r = &rows[1];
    assert_eq!(counts(r), [4, 4, 0, 0, 4]);
    let (mean, std, half) = by_hand(&[20.0, 20.0, 23.0, 29.0]);
    assert!((mean - 23.0).abs() < 1e-12 && (std - 18f64.sqrt()).abs() < 1e-12);
    assert_number(r, "final_reward_mean", Some(23.0));
    assert_interval(r, "final_reward_ci95", 23.0, half);
    assert_number(r, "success_rate", Some(1.0));
    assert_number(r, "success_ci95_low", Some(0.510109));
    assert_number(r, "success_ci95_high", Some(1.0));
    let aucs = [
        auc([20.0, 25.0, 15.0, 20.0]),
        auc([10.0, 40.0, 10.0, 20.0]),
        auc([19.0, 30.0, 21.0, 22.0]),
        auc([26.0, 28.0, 30.0, 32.0]),
    ];
    let (auc_mean, _, auc_half) = by_hand(&aucs);
    assert_number(r, "auc_mean", Some(auc_mean));
    assert_interval(r, "auc_ci95", auc_mean, auc_half);
    assert_number(r, "best_reward", Some(40.0));
    assert_number(r, "generations_to_half_best", Some(12.0));

    // reinforce, lr 0.1: seed 0 finished (final 5, best 8, never 20), seed 1 diverged (its best
    // of 7 does not count), seed 2 failed. One value: a mean, no spread, no interval. Success
    // 0 of 2 (the diverged run is a failed trial, the failed run no trial): Wilson
    // [0, 3.841459/(2 + 3.841459)] = [0, 0.657620]. AUC of (8, 5, 4, 3):
    // 14.5/3. KL 0.1, 0.2, 0.3, 0.4: all four steps are within the last 5 → 0.25.
    let r = &rows[2];
    assert_eq!(counts(r), [3, 1, 1, 1, 0]);
    assert_number(r, "final_reward_mean", Some(5.0));
    assert_number(r, "success_rate", Some(0.0));
    assert_number(r, "success_ci95_low", Some(0.0));
    assert_number(r, "success_ci95_high", Some(0.657620));
    assert_number(r, "auc_mean", Some(14.5 / 3.0));
    assert_number(r, "final_kl_mean", Some(0.25));
    for column in [
        "final_reward_std",
        "final_reward_ci95_low",
        "final_reward_ci95_high",
        "auc_ci95_low",
        "auc_ci95_high",
        "final_kl_ci95_low",
        "final_kl_ci95_high",
        "generations_to_half_best",
    ] {
        assert_number(r, column, None);
    }
    assert_number(r, "best_reward", Some(8.0));

    // rloo, lr 0.1: seed 2 is pending (not counted); finals 30, 34 → mean 32, std √8,
    // half-width 12.706205 · √8/√2 = 25.41241; the constant curves give the same AUCs. Both
    // succeed: Wilson for 2/2 = [1.460365/2.920729 − 0.960365/2.920729, 1] = [0.342380, 1].
    // KL (1, 1, 2, 2) → 1.5 and (2, 2, 3, 3) → 2.5: mean 2, std √0.5, half-width
    // 12.706205 · √0.5/√2 = 6.353103 — an interval reaching below 0, shown as it is.
    let r = &rows[3];
    assert_eq!(counts(r), [2, 2, 0, 0, 2]);
    assert_number(r, "final_reward_mean", Some(32.0));
    assert_number(r, "final_reward_std", Some(8f64.sqrt()));
    assert_interval(r, "final_reward_ci95", 32.0, 25.41241);
    assert_number(r, "success_rate", Some(1.0));
    assert_number(r, "success_ci95_low", Some(0.342380));
    assert_number(r, "auc_mean", Some(32.0));
    assert_interval(r, "auc_ci95", 32.0, 25.41241);
    assert_number(r, "final_kl_mean", Some(2.0));
    assert_interval(r, "final_kl_ci95", 2.0, 6.353103);
    assert_number(r, "best_reward", Some(34.0));
    assert_number(r, "generations_to_half_best", Some(8.0));
}

#[test]
fn without_a_success_threshold_the_success_columns_are_empty() {
    let (_tmp, dir) = fixture_copy();
    pglab_report::write(&dir, &ReportOptions::default()).unwrap();
    for r in rows(&dir.join("report.csv")) {
        for column in ["success_rate", "success_ci95_low", "success_ci95_high"] {
            assert_number(&r, column, None);
        }
    }
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(!md.contains("success"), "{md}");
}

#[test]
fn figures_have_their_size_and_show_the_data() {
    let (_tmp, dir) = fixture_copy();
    pglab_report::write(&dir, &options()).unwrap();
    let plots = dir.join("plots");
    // Two learning rates: reward figures have two panels in a row; probe figures a row per
    // training estimator (2 × 2); lr_sensitivity and kl_tradeoff one panel.
    let sizes = [
        figure_size(1, 2),
        figure_size(1, 2),
        figure_size(1, 1),
        figure_size(2, 2),
        figure_size(2, 2),
        figure_size(2, 2),
        figure_size(2, 2),
        figure_size(1, 1),
    ];
    let rgb = |c: plotters::style::RGBColor| (c.0, c.1, c.2);
    let (reinforce, rloo, grpo) = (rgb(PALETTE[1]), rgb(PALETTE[0]), rgb(PALETTE[2]));
    for (file, size) in FIGURES.iter().zip(sizes) {
        let path = plots.join(file);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(png_size(&bytes).unwrap(), size, "{file}");
        assert!(size.0 >= 1600 && size.1 >= 1000, "{file}");
        let (share, has_reinforce) = ink(&path, reinforce);
        assert!(
            share > 0.02,
            "{file}: only {share} of the pixels are not white"
        );
        assert!(has_reinforce, "{file}: no REINFORCE-coloured pixel");
    }
    // RLOO is a line in every figure but the ratio to itself (where it is the reference line).
    for file in FIGURES.iter().filter(|f| **f != "variance_ratio.png") {
        assert!(ink(&plots.join(file), rloo).1, "{file}");
    }
    // GRPO, probed but rescaled, is in the SNR, cosine and variance figures and not in the
    // variance ratio's.
    for file in ["grad_variance.png", "snr.png", "cos_to_ref.png"] {
        assert!(ink(&plots.join(file), grpo).1, "{file}");
    }
    assert!(!ink(&plots.join("variance_ratio.png"), grpo).1);
    // The forest plots of the answer section: a row per claim, as tall as their rows need;
    // REINFORCE's rows in its colour, the head-to-head's primary rows in the primary colour.
    for file in [
        "forest_variance.png",
        "forest_snr.png",
        "forest_cosine.png",
        "forest_learning.png",
    ] {
        let bytes = std::fs::read(plots.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let (width, height) = png_size(&bytes).unwrap();
        assert!(width == 1600 && height > 300, "{file}: {width} × {height}");
    }
    for file in ["forest_variance.png", "forest_snr.png", "forest_cosine.png"] {
        assert!(ink(&plots.join(file), reinforce).1, "{file}");
    }
    assert!(ink(&plots.join("forest_learning.png"), rloo).1);
}
/// The shade of a band of `color`: plotters fills it with the colour at 18 % opacity over white,
/// 255 − 0.18 · (255 − c) per channel.
fn band_shade(color: plotters::style::RGBColor) -> (u8, u8, u8) {
    let shade = |c: u8| (255.0 - 0.18 * (255.0 - f64::from(c))).round() as u8;
    (shade(color.0), shade(color.1), shade(color.2))
}

#[test]
fn reward_bands_are_drawn_where_there_are_seeds_to_average() {
    let (_tmp, dir) = fixture_copy();
    pglab_report::write(&dir, &options()).unwrap();
    let reward = dir.join("plots/reward.png");
    // RLOO's band at lr 0.1 (two seeds: 32 ± 25.4, unclipped) alone covers a large area.
    let rloo = pixels_near(&reward, band_shade(PALETTE[0]));
    let reinforce = pixels_near(&reward, band_shade(PALETTE[1]));
    assert!(rloo > 100_000 && reinforce > 10_000, "{rloo} {reinforce}");
    // With one finished seed per grid point there is a mean and no interval: no band.
    for run in ["s1", "s2", "s3"] {
        for group in ["reinforce-lr0.01", "rloo-lr0.01", "rloo-lr0.1"] {
            let summary = dir.join("summary.csv");
            let text = std::fs::read_to_string(&summary).unwrap();
            let from = format!("{run}-{group},{},", &run[1..]);
            let row = text.lines().find(|l| l.starts_with(&from));
            if let Some(row) = row {
                let failed = row.replacen(",done,", ",failed,", 1);
                std::fs::write(&summary, text.replacen(row, &failed, 1)).unwrap();
            }
        }
    }
    pglab_report::write(&dir, &options()).unwrap();
    // (A few dozen anti-aliased pixels at the edges of pale lines come near the shade.)
    for color in [PALETTE[0], PALETTE[1]] {
        let shaded = pixels_near(&reward, band_shade(color));
        assert!(shaded < 1_000, "{shaded}");
    }
}

#[test]
fn rebuilding_from_the_csvs_gives_byte_identical_files() {
    let (_tmp, dir) = fixture_copy();
    pglab_report::write(&dir, &options()).unwrap();
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let outputs: Vec<String> = FIGURES
        .iter()
        .map(|f| format!("plots/{f}"))
        .chain(["report.csv", "variance.csv", "summary.md", "index.html"].map(String::from))
        .collect();
    let first: Vec<Vec<u8>> = outputs.iter().map(|f| read(f)).collect();
    std::fs::remove_dir_all(dir.join("plots")).unwrap();
    pglab_report::write(&dir, &options()).unwrap();
    for (name, before) in outputs.iter().zip(&first) {
        assert!(read(name) == *before, "{name} changed on rebuild");
    }
}

#[test]
fn summary_and_index_mark_diverged_failed_and_pending_runs() {
    let (_tmp, dir) = fixture_copy();
    let index = pglab_report::write(&dir, &options()).unwrap();
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.starts_with("# Sweep `fixture_sweep`\n"), "{md}");
    assert!(
        md.contains("14 runs: 11 finished, 1 diverged, 1 failed, 1 not run yet"),
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
    // Every number with its interval: final reward 10.25 ± 6.1456 (report.csv's test), success
    // 2/4 with Wilson [0.150, 0.850], AUC 10.79 ± 7.04; one run: a mean and why no interval.
    assert_eq!(
        table[2],
        "| reinforce | 0.01 | 4 (4) | 10.2 [4.10, 16.4] | 2/4 = 0.500 [0.150, 0.850] | \
         10.8 [3.75, 17.8] | – | 20.0 | 16.0 (1/4) | 0 | 0 |"
    );
    assert_eq!(
        table[4],
        "| reinforce | 0.1 | 3 (1) | 5.00 (1 run, no interval) | 0/2 = 0 [0, 0.658] | \
         4.83 (1 run, no interval) | 0.250 (1 run, no interval) | 8.00 | never | 1 | 1 |"
    );
    // Each estimator at its own best rate (reinforce 10.25 at 0.01 over 5 at 0.1; rloo 32 at
    // 0.1 over 23 at 0.01); with two rates, both are at an edge of the grid.
    assert!(
        md.contains("## Each estimator at its own best learning rate"),
        "{md}"
    );
    assert!(
        md.contains(
            "| rloo | 0.1 | 0.01, 0.1 | 2 (2) | 32.0 [6.59, 57.4] | 2/2 = 1.00 [0.342, 1.00] | \
             32.0 [6.59, 57.4] |"
        ),
        "{md}"
    );
    for warning in [
        "**Warning**: reinforce: best lr at the edge of the grid (0.01, the smallest of 0.01, \
         0.1): the optimum may lie outside it.",
        "**Warning**: rloo: best lr at the edge of the grid (0.1, the largest of 0.01, 0.1): the \
         optimum may lie outside it.",
    ] {
        assert!(md.contains(warning), "{warning}\n{md}");
    }
    // The KL table: final KL 2 ± 6.353 for rloo at lr 0.1, reaching below zero as computed.
    assert!(
        md.contains("| rloo | 0.1 | 2 (2) | 2.00 [-4.35, 8.35] | 32.0 [6.59, 57.4] |"),
        "{md}"
    );
    // The probe table, one row per probe step: at the start grpo has no variance ratio and its
    // SNRs 0.4, −0.2, 1 average to 0.4 ± 4.3027 · 0.6/√3; reinforce's paired ratios 10, 20, 10
    // give the geometric mean 2000^(1/3) = 12.6 and exp(mean log ∓ 0.9941).
    let start = "0 (start: the same weights in every run)";
    assert!(
        md.contains(&format!(
            "| grpo | {start} | 3 (3; 0) | no | not comparable | 0.400 [-1.09, 1.89] |"
        )),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "| reinforce | {start} | 3 (3; 0) | yes | 12.6× [4.66×, 34.0×] |"
        )),
        "{md}"
    );
    // At step 2 rloo's run B has an infinite SNR (variance 0): one probe left out.
    assert!(md.contains("| rloo | 2 | 2 (1; 1) | yes |"), "{md}");
    // The answer section comes first, the primary endpoint (the AUC) leading.
    let answer = md.find("## The answer").expect("an answer section");
    assert!(answer < md.find("## Training").unwrap(), "{md}");
    let primary = md.find("**primary endpoint**").expect("a primary endpoint");
    assert!(primary < md.find("gradient variance ÷").unwrap(), "{md}");
    // Head to head at the best rates: rloo's 30, 34 against reinforce's 10, 12, 14, 5: 21.75,
    // se² = 8/2 + 14.9167/4 = 7.729, Welch ν = 2.895 → 2, t = 4.302653: ± 11.962.
    assert!(
        md.contains("| rloo (0.1) − reinforce (0.01) | 21.8 [9.79, 33.7] (excludes 0) |"),
        "{md}"
    );
    // Every table is followed by the sentence that says what its intervals are.
    let sections: Vec<&str> = md.split("\n## ").skip(1).collect();
    assert_eq!(sections.len(), 8, "{md}");
    for section in sections.iter().filter(|s| s.contains("\n|---")) {
        let after = section.rsplit_once("|\n\n").map_or("", |(_, rest)| rest);
        assert!(after.contains("95 %"), "no interval note under {section}");
    }
    for figure in FIGURES {
        assert!(md.contains(&format!("](plots/{figure})")), "{figure}");
    }
    // Every figure's caption names its band or bars.
    for caption in md.split("](plots/").skip(1) {
        let caption = caption.split("\n\n").nth(1).unwrap_or("");
        assert!(
            caption.contains("95 %") || caption.contains("no band"),
            "{caption}"
        );
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
        html.contains("<td>reinforce</td><td>0.01</td><td>4 (4)</td>"),
        "{html}"
    );
    assert!(
        html.contains("<code>s1-reinforce-lr0.1</code>: diverged"),
        "{html}"
    );
    assert!(
        html.contains("<p class=\"warning\"><strong>Warning</strong>: rloo: best lr at the edge"),
        "{html}"
    );
    // Opens from disk: every link is relative.
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("src=\"/"));
}

/// `pglab report DIR` as the binary runs it: success, or the error as the one line it prints.
fn pglab_report(dir: &Path) -> (bool, String) {
    match pglab_report::write(dir, &options()) {
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

/// A grid over `train = [{ estimator = …, lr = … }, …]` tables (each estimator over its own
/// rates) has a `train` column beside `train.estimator` and `train.lr`: the report reads the
/// rates from `train.lr`, so each estimator is one line over its rates, as with a product grid.
#[test]
fn a_grid_of_tables_is_read_through_its_keys() {
    let (_tmp, dir) = fixture_copy();
    let path = dir.join("summary.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let mut out = format!(
        "run_id,train,{}\n",
        &lines.next().unwrap()["run_id,".len()..]
    );
    for line in lines {
        let (id, rest) = line.split_once(',').unwrap();
        let fields: Vec<&str> = rest.split(',').collect();
        let table = format!(
            "\"{{ estimator = \"\"{}\"\", lr = {} }}\"",
            fields[1], fields[2]
        );
        out.push_str(&format!("{id},{table},{rest}\n"));
    }
    std::fs::write(&path, out).unwrap();
    let (ok, stderr) = pglab_report(&dir);
    assert!(ok, "{stderr}");
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(!md.contains("train = {"), "{md}");
    assert!(
        md.contains(
            "| rloo | 0.1 | 0.01, 0.1 | 2 (2) | 32.0 [6.59, 57.4] | 2/2 = 1.00 [0.342, 1.00] | \
             32.0 [6.59, 57.4] |"
        ),
        "{md}"
    );
    let rows = rows(&dir.join("report.csv"));
    assert!(rows.iter().all(|r| !r.contains_key("train")), "{rows:?}");
}

/// `head_to_head.csv`: rloo at 0.1 (final rewards 30, 34) against reinforce at 0.01 (10, 12,
/// 14, 5): Welch's interval as the report's table has it (21.75 ± 11.962), a bootstrap interval
/// that cannot leave what resampled means allow (rloo's means lie in [30, 34], reinforce's in
/// [5, 14]: differences in [16, 29]), and Newcombe's interval of 2/2 − 2/4 by hand: from the
/// Wilson intervals, 0.5 − √(0 + (0.8500 − 0.5)²)… = [−0.2449, 0.8500].
#[test]
fn head_to_head_csv_names_its_method_on_every_row() {
    let (_tmp, dir) = fixture_copy();
    pglab_report::write(&dir, &options()).unwrap();
    let rows = rows(&dir.join("head_to_head.csv"));
    let find = |endpoint: &str, method: &str| {
        rows.iter()
            .find(|r| {
                r["comparison"] == "rloo (0.1) − reinforce (0.01)"
                    && r["endpoint"] == endpoint
                    && r["method"] == method
            })
            .unwrap_or_else(|| panic!("no {endpoint} {method} row in {rows:?}"))
    };
    let welch = find("final_reward", "welch_t");
    assert_number(welch, "estimate", Some(21.75));
    // se² = 8/2 + (44.75/3)/4, Welch's ν = 2.895 → 2 degrees of freedom, t = 4.302653.
    let half = 4.302653 * (8.0 / 2.0 + 44.75 / 3.0 / 4.0f64).sqrt();
    assert_interval(welch, "ci95", 21.75, half);
    let boot = find("final_reward", "bootstrap_percentile");
    assert_number(boot, "estimate", Some(21.75));
    let (low, high): (f64, f64) = (
        boot["ci95_low"].parse().unwrap(),
        boot["ci95_high"].parse().unwrap(),
    );
    assert!(
        (16.0..21.75).contains(&low) && (21.75..=29.0).contains(&high) && high > 21.75,
        "[{low}, {high}]"
    );
    assert_eq!((boot["n_a"].as_str(), boot["n_b"].as_str()), ("2", "4"));
    let newcombe = find("success_rate", "newcombe");
    assert_number(newcombe, "estimate", Some(0.5));
    let (low, high): (f64, f64) = (
        newcombe["ci95_low"].parse().unwrap(),
        newcombe["ci95_high"].parse().unwrap(),
    );
    assert!(
        (low + 0.244_940_6).abs() < 1e-6 && (high - 0.849_961_0).abs() < 1e-6,
        "[{low}, {high}]"
    );
    assert!(
        rows.iter()
            .any(|r| r["endpoint"] == "auc" && r["method"] == "bootstrap_percentile")
    );
}

/// `[report] selection_seeds`: each estimator's best rate is picked on those seeds' runs, and the
/// head-to-head uses the other seeds' runs only. Picked on seeds 2 and 3, rloo's best rate is
/// 0.01 (its 0.1 runs there are pending), where on every seed it was 0.1; the comparison then
/// rests on seeds 0 and 1 of each side.
#[test]
fn held_out_seeds_pick_the_rates_and_the_others_compare_them() {
    let (_tmp, dir) = fixture_copy();
    let held_out = ReportOptions {
        selection_seeds: SeedSubset::Listed(vec![2, 3]),
        ..options()
    };
    pglab_report::write(&dir, &held_out).unwrap();
    let claims = rows(&dir.join("answer.csv"));
    let learning: Vec<_> = claims
        .iter()
        .filter(|c| c["question"] == "learning")
        .collect();
    assert_eq!(learning.len(), 2, "{claims:?}");
    for claim in learning {
        assert!(
            claim["statement"].contains("rloo (lr 0.01) − reinforce (lr 0.01)"),
            "{claim:?}"
        );
        assert!(claim["rests_on"].starts_with("2 and 2 seeds"), "{claim:?}");
        assert!(
            claim["rests_on"].contains("picked on seeds 2, 3 and compared on the other seeds only"),
            "{claim:?}"
        );
    }
    // Without held-out seeds the same sweep compares rloo at 0.1, picked from the same runs.
    let (_tmp2, dir2) = fixture_copy();
    pglab_report::write(&dir2, &options()).unwrap();
    let claims = rows(&dir2.join("answer.csv"));
    let primary = claims.iter().find(|c| c["role"] == "primary").unwrap();
    assert!(
        primary["statement"].contains("rloo (lr 0.1) − reinforce (lr 0.01)"),
        "{primary:?}"
    );
    assert!(
        primary["rests_on"].contains("picked from the same seeds"),
        "{primary:?}"
    );
}
