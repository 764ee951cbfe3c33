//! The probe's numbers on the committed fixture sweep (see `report.rs`): variance.csv per run
//! first and then across runs, against hand computations — a variance ratio only for
//! estimators with RLOO's expectation, unclipped SNRs averaged as written, no interval from a
//! single run — and a sweep without a probe, which skips the probe's figures and says why.

mod common;

use common::{assert_interval, assert_number, by_hand, fixture_copy, rows};
use pglab_report::ReportOptions;

fn options() -> ReportOptions {
    ReportOptions::default()
}

#[test]
fn variance_csv_is_per_run_then_across_runs_by_hand() {
    let (_tmp, dir) = fixture_copy();
    pglab_report::write(&dir, &options()).unwrap();
    let rows = rows(&dir.join("variance.csv"));
    let names: Vec<&str> = rows.iter().map(|r| r["estimator"].as_str()).collect();
    assert_eq!(names, ["reinforce", "rloo", "grpo"]);
    // Three runs probed every estimator: s0-reinforce-lr0.01 (A, two probes),
    // s1-reinforce-lr0.01 (B, two probes), s0-rloo-lr0.01 (C, one probe).
    for r in &rows {
        assert_eq!(
            (r["runs"].as_str(), r["probes"].as_str()),
            ("3", "5"),
            "{r:?}"
        );
    }

    // reinforce, RLOO's expectation. Paired ratios to RLOO: A 100/10, 300/20 → 10, 15; B 200/10
    // → 20 (its second probe has RLOO's variance 0: no ratio); C 40/4 → 10. Per run the mean
    // log: ln √150, ln 20, ln 10; across runs their mean and t-interval, mapped back by exp.
    let r = &rows[0];
    assert_eq!(r["same_expectation_as_rloo"], "true");
    let (mean, _, half) = by_hand(&[150f64.sqrt().ln(), 20f64.ln(), 10f64.ln()]);
    // exp(mean) = (√150 · 20 · 10)^(1/3) = 13.48.
    assert!((mean.exp() - (150f64.sqrt() * 200.0).powf(1.0 / 3.0)).abs() < 1e-9);
    assert_number(r, "var_ratio_to_rloo", Some(mean.exp()));
    assert_number(r, "var_ratio_to_rloo_ci95_low", Some((mean - half).exp()));
    assert_number(r, "var_ratio_to_rloo_ci95_high", Some((mean + half).exp()));
    // SNR, unclipped and averaged as written: A (0.5 − 0.25)/2 = 0.125, B (1 + 0)/2 = 0.5, C 2.
    let (mean, _, half) = by_hand(&[0.125, 0.5, 2.0]);
    assert!((mean - 0.875).abs() < 1e-12);
    assert_number(r, "snr", Some(0.875));
    assert_interval(r, "snr_ci95", 0.875, half);
    // Cosine: A (0.8 + 0.6)/2, B (0.5 + 0.1)/2, C 0.9.
    let (mean, _, half) = by_hand(&[0.7, 0.3, 0.9]);
    assert_number(r, "cos_to_ref", Some(mean));
    assert_interval(r, "cos_to_ref_ci95", mean, half);
    // grad_var 100, 300, 200, 50, 40 → median 100 (raw units).
    assert_number(r, "median_grad_var", Some(100.0));

    // rloo against itself: every defined ratio is 1, so 1 with the interval [1, 1]. SNR: A
    // (0.1 + 0.2)/2, B 0.3 (its infinite SNR where the variance is 0 is left out), C 0.5.
    let r = &rows[1];
    assert_eq!(r["same_expectation_as_rloo"], "true");
    assert_number(r, "var_ratio_to_rloo", Some(1.0));
    assert_number(r, "var_ratio_to_rloo_ci95_low", Some(1.0));
    assert_number(r, "var_ratio_to_rloo_ci95_high", Some(1.0));
    let (mean, _, half) = by_hand(&[0.15, 0.3, 0.5]);
    assert_number(r, "snr", Some(mean));
    assert_interval(r, "snr_ci95", mean, half);
    let (mean, _, half) = by_hand(&[0.95, 0.8, 0.95]);
    assert_number(r, "cos_to_ref", Some(mean));
    assert_interval(r, "cos_to_ref_ci95", mean, half);
    // grad_var 10, 20, 10, 0, 4 → median 10.
    assert_number(r, "median_grad_var", Some(10.0));

    // grpo rescales its advantages: no variance ratio, compared by SNR and cosine only. SNR:
    // A (0.4 + 0.6)/2 = 0.5, B (−0.2 − 0.4)/2 = −0.3 (negative: kept, not clipped), C 1.
    let r = &rows[2];
    assert_eq!(r["same_expectation_as_rloo"], "false");
    for column in [
        "var_ratio_to_rloo",
        "var_ratio_to_rloo_ci95_low",
        "var_ratio_to_rloo_ci95_high",
    ] {
        assert_number(r, column, None);
    }
    let (mean, _, half) = by_hand(&[0.5, -0.3, 1.0]);
    assert!((mean - 0.4).abs() < 1e-12);
    assert_number(r, "snr", Some(0.4));
    assert_interval(r, "snr_ci95", 0.4, half);
    let (mean, _, half) = by_hand(&[0.6, 0.2, 0.6]);
    assert_number(r, "cos_to_ref", Some(mean));
    assert_interval(r, "cos_to_ref_ci95", mean, half);
    // grad_var 1, 2, 0.5, 1, 0.25 → median 1.
    assert_number(r, "median_grad_var", Some(1.0));
}

#[test]
fn with_one_probed_run_there_is_a_mean_and_no_interval() {
    let (_tmp, dir) = fixture_copy();
    for run in ["s0-reinforce-lr0.01", "s1-reinforce-lr0.01"] {
        std::fs::remove_file(dir.join("runs").join(run).join("probe.csv")).unwrap();
    }
    pglab_report::write(&dir, &options()).unwrap();
    let rows = rows(&dir.join("variance.csv"));
    // Only s0-rloo-lr0.01 is left: ratio 40/4, snr 2, cos 0.9 for reinforce.
    let r = &rows[0];
    assert_eq!(
        (r["estimator"].as_str(), r["runs"].as_str()),
        ("reinforce", "1")
    );
    assert_number(r, "var_ratio_to_rloo", Some(10.0));
    assert_number(r, "snr", Some(2.0));
    assert_number(r, "cos_to_ref", Some(0.9));
    for column in [
        "var_ratio_to_rloo_ci95_low",
        "var_ratio_to_rloo_ci95_high",
        "snr_ci95_low",
        "snr_ci95_high",
        "cos_to_ref_ci95_low",
        "cos_to_ref_ci95_high",
    ] {
        assert_number(r, column, None);
    }
}

#[test]
fn a_sweep_without_probe_skips_the_probe_figures_and_says_why() {
    let (_tmp, dir) = fixture_copy();
    // A stale figure from an earlier report must not survive.
    pglab_report::write(&dir, &options()).unwrap();
    // No probe.csv, or the empty one a run with `probe.every = 0` leaves.
    for (i, run) in std::fs::read_dir(dir.join("runs")).unwrap().enumerate() {
        let probe = run.unwrap().path().join("probe.csv");
        if i % 2 == 0 {
            let _ = std::fs::remove_file(probe);
        } else {
            std::fs::write(probe, "").unwrap();
        }
    }
    pglab_report::write(&dir, &options()).unwrap();
    for figure in [
        "grad_variance.png",
        "variance_ratio.png",
        "snr.png",
        "cos_to_ref.png",
    ] {
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
        !md.contains("## Estimators compared at the same weights"),
        "{md}"
    );
}
