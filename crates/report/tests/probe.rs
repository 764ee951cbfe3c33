//! The probe's numbers on the committed fixture sweep (see `report.rs`): variance.csv per run
//! first and then across runs, against hand computations — a variance ratio only for
//! estimators with RLOO's expectation, unclipped SNRs averaged as written, no interval from a
//! single run — and a sweep without a probe, which skips the probe's figures and says why.

mod common;

use common::{assert_interval, assert_number, by_hand, fixture_copy, rows};
use pglab_report::ReportOptions;
use pglab_report::plot::png_size;

fn options() -> ReportOptions {
    ReportOptions::default()
}

/// The row of `estimator` at probe step `step`.
fn row<'a>(
    rows: &'a [std::collections::BTreeMap<String, String>],
    estimator: &str,
    step: &str,
) -> &'a std::collections::BTreeMap<String, String> {
    rows.iter()
        .find(|r| r["estimator"] == estimator && r["probe_step"] == step)
        .unwrap_or_else(|| panic!("no row for {estimator} at step {step}"))
}

#[test]
fn variance_csv_is_one_row_per_estimator_and_probe_step_by_hand() {
    let (_tmp, dir) = fixture_copy();
    pglab_report::write(&dir, &options()).unwrap();
    let rows = rows(&dir.join("variance.csv"));
    let keys: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["estimator"].as_str(), r["probe_step"].as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("reinforce", "0"),
            ("reinforce", "2"),
            ("rloo", "0"),
            ("rloo", "2"),
            ("grpo", "0"),
            ("grpo", "2")
        ]
    );
    // Step 0: three runs probed every estimator, one probe each: s0-reinforce-lr0.01 (A),
    // s1-reinforce-lr0.01 (B), s0-rloo-lr0.01 (C). Step 2: A and B only (C ran no step 2).
    // reinforce at step 0, paired ratios to RLOO: A 100/10, B 200/10, C 40/4 → 10, 20, 10; their
    // logs' mean and t-interval, mapped back by exp.
    let r = row(&rows, "reinforce", "0");
    assert_eq!(
        (
            r["runs"].as_str(),
            r["probes"].as_str(),
            r["left_out"].as_str()
        ),
        ("3", "3", "0")
    );
    assert_eq!(r["same_expectation_as_rloo"], "true");
    let (mean, _, half) = by_hand(&[10f64.ln(), 20f64.ln(), 10f64.ln()]);
    assert!((mean.exp() - 2000f64.powf(1.0 / 3.0)).abs() < 1e-9);
    assert_number(r, "var_ratio_to_rloo", Some(mean.exp()));
    assert_number(r, "var_ratio_to_rloo_ci95_low", Some((mean - half).exp()));
    assert_number(r, "var_ratio_to_rloo_ci95_high", Some((mean + half).exp()));
    // SNR as written, one value per run: 0.5, 1, 2; cosine 0.8, 0.5, 0.9.
    let (mean, _, half) = by_hand(&[0.5, 1.0, 2.0]);
    assert_number(r, "snr", Some(mean));
    assert_interval(r, "snr_ci95", mean, half);
    let (mean, _, half) = by_hand(&[0.8, 0.5, 0.9]);
    assert_number(r, "cos_to_ref", Some(mean));
    assert_interval(r, "cos_to_ref_ci95", mean, half);
    // grad_var 100, 200, 40 → median 100 (raw units). No file records cos_batches: 0.
    assert_number(r, "median_grad_var", Some(100.0));
    assert_eq!(r["batches"], "0");

    // reinforce at step 2: A 300/20 = 15; B's RLOO variance is 0, so no ratio: one ratio, no
    // interval. SNR −0.25 (kept, not clipped) and 0; cosine 0.6 and 0.1; median of 300, 50.
    let r = row(&rows, "reinforce", "2");
    assert_eq!((r["runs"].as_str(), r["probes"].as_str()), ("2", "2"));
    assert_number(r, "var_ratio_to_rloo", Some(15.0));
    assert_number(r, "var_ratio_to_rloo_ci95_low", None);
    assert_number(r, "snr", Some(-0.125));
    assert_number(r, "cos_to_ref", Some(0.35));
    assert_number(r, "median_grad_var", Some(175.0));

    // rloo against itself: every defined ratio is 1. At step 2 B's SNR is infinite (variance
    // 0): left out of the mean and counted.
    let r = row(&rows, "rloo", "0");
    assert_number(r, "var_ratio_to_rloo", Some(1.0));
    assert_number(r, "var_ratio_to_rloo_ci95_low", Some(1.0));
    assert_number(r, "var_ratio_to_rloo_ci95_high", Some(1.0));
    let (mean, _, half) = by_hand(&[0.1, 0.3, 0.5]);
    assert_number(r, "snr", Some(mean));
    assert_interval(r, "snr_ci95", mean, half);
    assert_number(r, "median_grad_var", Some(10.0));
    let r = row(&rows, "rloo", "2");
    assert_eq!(
        (
            r["runs"].as_str(),
            r["probes"].as_str(),
            r["left_out"].as_str()
        ),
        ("2", "1", "1")
    );
    assert_number(r, "snr", Some(0.2));
    assert_number(r, "snr_ci95_low", None);
    assert_number(r, "cos_to_ref", Some(0.95));

    // grpo rescales its advantages: no variance ratio, compared by SNR and cosine only.
    let r = row(&rows, "grpo", "0");
    assert_eq!(r["same_expectation_as_rloo"], "false");
    for column in [
        "var_ratio_to_rloo",
        "var_ratio_to_rloo_ci95_low",
        "var_ratio_to_rloo_ci95_high",
    ] {
        assert_number(r, column, None);
    }
    let (mean, _, half) = by_hand(&[0.4, -0.2, 1.0]);
    assert_number(r, "snr", Some(mean));
    assert_interval(r, "snr_ci95", mean, half);
    assert_number(r, "median_grad_var", Some(0.5));
    let r = row(&rows, "grpo", "2");
    assert_number(r, "snr", Some(0.1));
    assert_number(r, "cos_to_ref", Some(0.3));
    assert_number(r, "median_grad_var", Some(1.5));
}

/// A probe that measured two token reductions (`probe.token_reductions`): variance.csv has a
/// row per (reduction, estimator, step), each variance ratio to RLOO under the same reduction;
/// the answer compares estimators under the runs' own reduction only.
#[test]
fn each_probed_token_reduction_gets_its_own_rows() {
    let (_tmp, dir) = fixture_copy();
    let header = "step,generations,estimator,token_reduction,batches,grad_var,grad_mean_sqnorm,snr,cos_to_ref,cos_batches,reward_mean,saturated,var_ratio_predicted";
    // Per run: (reinforce, rloo) grad_var and SNR under sum, then under mean.
    for (run, sum, mean) in [
        (
            "s0-reinforce-lr0.01",
            [(100.0, 0.5), (10.0, 0.1)],
            [(0.02, 0.6), (0.004, 0.2)],
        ),
        (
            "s1-reinforce-lr0.01",
            [(200.0, 1.0), (10.0, 0.3)],
            [(0.03, 0.9), (0.001, 0.4)],
        ),
        (
            "s0-rloo-lr0.01",
            [(40.0, 2.0), (4.0, 0.5)],
            [(0.01, 1.2), (0.002, 0.7)],
        ),
    ] {
        let mut text = format!("{header}\n");
        for (reduction, figures) in [("sum", sum), ("mean", mean)] {
            for (estimator, (var, snr)) in ["reinforce", "rloo"].iter().zip(figures) {
                text += &format!(
                    "0,0,{estimator},{reduction},4,{var},1.0,{snr},0.5,4,12.0,false,NaN\n"
                );
            }
        }
        std::fs::write(dir.join("runs").join(run).join("probe.csv"), text).unwrap();
    }
    for run in [
        "s1-rloo-lr0.01",
        "s0-reinforce-lr0.1",
        "s1-reinforce-lr0.1",
        "s0-rloo-lr0.1",
        "s1-rloo-lr0.1",
        "s2-reinforce-lr0.01",
        "s2-rloo-lr0.01",
    ] {
        let _ = std::fs::remove_file(dir.join("runs").join(run).join("probe.csv"));
    }
    pglab_report::write(&dir, &options()).unwrap();
    let variance = rows(&dir.join("variance.csv"));
    let keys: Vec<(&str, &str)> = variance
        .iter()
        .map(|r| (r["token_reduction"].as_str(), r["estimator"].as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("sum", "reinforce"),
            ("sum", "rloo"),
            ("mean", "reinforce"),
            ("mean", "rloo")
        ]
    );
    // Under sum: ratios 10, 20, 10, as without reductions. Under mean: 5, 30, 5.
    let (mean, _, _) = by_hand(&[10f64.ln(), 20f64.ln(), 10f64.ln()]);
    assert_number(&variance[0], "var_ratio_to_rloo", Some(mean.exp()));
    let (mean, _, half) = by_hand(&[5f64.ln(), 30f64.ln(), 5f64.ln()]);
    assert_number(&variance[2], "var_ratio_to_rloo", Some(mean.exp()));
    assert_number(
        &variance[2],
        "var_ratio_to_rloo_ci95_high",
        Some((mean + half).exp()),
    );
    let (mean, _, half) = by_hand(&[0.6, 0.9, 1.2]);
    assert_number(&variance[2], "snr", Some(mean));
    assert_interval(&variance[2], "snr_ci95", mean, half);
    // The answer's variance claim is the sum's (geometric mean 2000^(1/3) ≈ 12.6), never the
    // mean's (750^(1/3) ≈ 9.09).
    let answer = rows(&dir.join("answer.csv"));
    let estimates: Vec<f64> = answer
        .iter()
        .filter_map(|r| r["estimate"].parse::<f64>().ok())
        .collect();
    let near = |x: f64| estimates.iter().any(|e| (e - x).abs() < 1e-6 * x);
    assert!(near(2000f64.powf(1.0 / 3.0)), "{estimates:?}");
    assert!(!near(750f64.powf(1.0 / 3.0)), "{estimates:?}");
    // The SNR and cosine forests compare reductions too: under the step-0 heading, a row per
    // (estimator, reduction), 2 × 2, at 64 px each below the 150-px title band and 130 px of
    // axis: 150 + 130 + 5 · 64 = 600 px tall (the runs' own reduction alone made 472).
    for file in ["forest_snr.png", "forest_cosine.png"] {
        let bytes = std::fs::read(dir.join("plots").join(file)).unwrap();
        assert_eq!(png_size(&bytes).unwrap().1, 600, "{file}");
    }
}

/// A saturated probe (every reward of its batches equal: RLOO's gradient is exactly zero, its
/// SNR 0/0, and REINFORCE's samples have collapsed) defines no SNR or cosine: the report leaves
/// it out of both, counts it, and never averages it in as 0.
#[test]
fn a_saturated_probe_is_left_out_of_snr_and_cosine_and_counted() {
    let (_tmp, dir) = fixture_copy();
    let probe = dir.join("runs/s1-reinforce-lr0.01/probe.csv");
    let saturated = "step,generations,estimator,batches,grad_var,grad_mean_sqnorm,snr,cos_to_ref,cos_batches,reward_mean,saturated,var_ratio_predicted
0,0,reinforce,4,200,1.0,1.0,0.5,4,12.0,false,18.0
0,0,rloo,4,10,1.0,0.3,0.7,4,12.0,false,1.0
0,0,grpo,4,0.5,1.0,-0.2,0.3,4,12.0,false,NaN
2,16,reinforce,4,50,2500.0,NaN,NaN,0,100.0,true,NaN
2,16,rloo,4,0,0.0,NaN,NaN,0,100.0,true,NaN
2,16,grpo,4,0,0.0,NaN,NaN,0,100.0,true,NaN
";
    std::fs::write(&probe, saturated).unwrap();
    pglab_report::write(&dir, &options()).unwrap();
    let rows = rows(&dir.join("variance.csv"));
    // Step 2: A's probe alone defines SNR and cosine; B's is left out and counted.
    let r = row(&rows, "reinforce", "2");
    assert_eq!(
        (
            r["runs"].as_str(),
            r["probes"].as_str(),
            r["left_out"].as_str()
        ),
        ("2", "1", "1")
    );
    assert_number(r, "snr", Some(-0.25));
    assert_number(r, "cos_to_ref", Some(0.6));
    let r = row(&rows, "rloo", "2");
    assert_eq!((r["probes"].as_str(), r["left_out"].as_str()), ("1", "1"));
    assert_number(r, "snr", Some(0.2));
    // Step 0 is untouched by it; B's four cosine batches are counted (A's and C's files do not
    // record theirs).
    let r = row(&rows, "reinforce", "0");
    assert_eq!(
        (
            r["probes"].as_str(),
            r["left_out"].as_str(),
            r["batches"].as_str()
        ),
        ("3", "0", "4")
    );
    // Only B's file records a prediction (the others were written before it was): 18 for
    // reinforce; none for grpo, which has no ratio.
    assert_number(r, "var_ratio_predicted", Some(18.0));
    assert_number(row(&rows, "grpo", "0"), "var_ratio_predicted", None);
    // The report says how many probes were left out.
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(summary.contains("2 (1; 1)"), "{summary}");
}

#[test]
fn with_one_probed_run_there_is_a_mean_and_no_interval() {
    let (_tmp, dir) = fixture_copy();
    for run in ["s0-reinforce-lr0.01", "s1-reinforce-lr0.01"] {
        std::fs::remove_file(dir.join("runs").join(run).join("probe.csv")).unwrap();
    }
    pglab_report::write(&dir, &options()).unwrap();
    let rows = rows(&dir.join("variance.csv"));
    // Only s0-rloo-lr0.01 is left, with its one probe at step 0: ratio 40/4, snr 2, cos 0.9.
    let r = &rows[0];
    assert_eq!(
        (
            r["estimator"].as_str(),
            r["probe_step"].as_str(),
            r["runs"].as_str()
        ),
        ("reinforce", "0", "1")
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
