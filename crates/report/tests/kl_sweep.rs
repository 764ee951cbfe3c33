//! The KL trade-off: a sweep over `train.kl_coef` written by the test (β = 0 logs no KL, as the
//! runner does), its final KL per grid point against hand computations, the figure and the
//! table; and a sweep where no run logged KL, which skips both and says why.

mod common;

use std::fmt::Write;
use std::path::Path;

use common::{assert_interval, assert_number, fixture_copy, ink, rows};
use pglab_report::ReportOptions;
use pglab_report::plot::{PALETTE, figure_size, png_size};

/// Writes a sweep of rloo at lr 0.02 over β = 0, 0.1, 1 and seeds 0, 1, six steps each: a
/// constant reward and the given KL per step.
fn kl_sweep(dir: &Path) {
    let runs: [(&str, u32, f64, Option<[f64; 6]>); 6] = [
        ("0", 0, 20.0, None),
        ("0", 1, 24.0, None),
        ("0.1", 0, 15.0, Some([9.0, 1.0, 1.0, 1.0, 1.0, 1.0])),
        ("0.1", 1, 17.0, Some([9.0, 2.0, 2.0, 2.0, 2.0, 2.0])),
        ("1", 0, 10.0, Some([0.5; 6])),
        ("1", 1, 12.0, Some([0.7; 6])),
    ];
    let mut summary = String::from(
        "run_id,train.kl_coef,seed,train.estimator,train.lr,status,reason,final_reward,\
         best_reward,steps,generations,wall_s\n",
    );
    for (beta, seed, reward, kl) in runs {
        let id = format!("s{seed}-kl{beta}");
        writeln!(
            summary,
            "{id},{beta},{seed},rloo,0.02,done,,{reward},{reward},6,48,1.5"
        )
        .unwrap();
        let mut metrics = String::from(
            "step,generations,reward_mean,reward_std,reward_min,reward_max,\
             frac_zero_std_groups,adv_mean,adv_std,loss,grad_norm,kl,entropy,tokens_per_s,\
             elapsed_s\n",
        );
        for step in 0..6 {
            let kl = kl.map_or(String::new(), |kl| kl[step].to_string());
            writeln!(
                metrics,
                "{step},{},{reward},1.0,0.0,40.0,0.0,0.0,1.0,-1.0,10.0,{kl},1.2,3000.0,1.0",
                8 * (step + 1)
            )
            .unwrap();
        }
        let run = dir.join("runs").join(&id);
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("metrics.csv"), metrics).unwrap();
    }
    std::fs::write(dir.join("summary.csv"), summary).unwrap();
}

#[test]
fn final_kl_per_grid_point_by_hand_with_its_figure_and_table() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("kl_penalty");
    kl_sweep(&dir);
    pglab_report::write(&dir, &ReportOptions::default()).unwrap();
    let rows = rows(&dir.join("report.csv"));
    let betas: Vec<&str> = rows.iter().map(|r| r["train.kl_coef"].as_str()).collect();
    assert_eq!(betas, ["0", "0.1", "1"]);
    // β = 0: no KL logged.
    for column in ["final_kl_mean", "final_kl_ci95_low", "final_kl_ci95_high"] {
        assert_number(&rows[0], column, None);
    }
    // β = 0.1: the first step's 9 is outside the last 5 steps → 1 and 2; mean 1.5, std √0.5,
    // half-width 12.706205 · √0.5/√2 = 6.3531025.
    assert_number(&rows[1], "final_kl_mean", Some(1.5));
    assert_interval(&rows[1], "final_kl_ci95", 1.5, 6.3531025);
    // β = 1: 0.5 and 0.7 → 0.6, std √0.02, half-width 12.706205 · 0.1 = 1.2706205.
    assert_number(&rows[2], "final_kl_mean", Some(0.6));
    assert_interval(&rows[2], "final_kl_ci95", 0.6, 1.2706205);

    let figure = dir.join("plots/kl_tradeoff.png");
    let bytes = std::fs::read(&figure).unwrap();
    assert_eq!(png_size(&bytes).unwrap(), figure_size(1, 1));
    assert!(ink(&figure, (PALETTE[0].0, PALETTE[0].1, PALETTE[0].2)).1);

    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    // Rewards 15, 17: 16 ± 12.706205 · √2/√2; β = 0's 20, 24: 22 ± 25.41241.
    for row in [
        "| rloo | 0 | 2 (2) | – | 22.0 [-3.41, 47.4] |",
        "| rloo | 0.1 | 2 (2) | 1.50 [-4.85, 7.85] | 16.0 [3.29, 28.7] |",
        "| rloo | 1 | 2 (2) | 0.600 [-0.671, 1.87] | 11.0 [-1.71, 23.7] |",
    ] {
        assert!(md.contains(row), "{row}\n{md}");
    }
    assert!(md.contains("](plots/kl_tradeoff.png)"), "{md}");
    // One learning rate: no best-rate table.
    assert!(
        !md.contains("## Each estimator at its own best learning rate"),
        "{md}"
    );
}

#[test]
fn without_kl_the_trade_off_is_skipped_and_says_why() {
    let (_tmp, dir) = fixture_copy();
    // Blank the kl column of every run's metrics.csv.
    for run in std::fs::read_dir(dir.join("runs")).unwrap() {
        let metrics = run.unwrap().path().join("metrics.csv");
        let Ok(text) = std::fs::read_to_string(&metrics) else {
            continue;
        };
        let blanked: Vec<String> = text
            .lines()
            .enumerate()
            .map(|(i, line)| {
                let mut fields: Vec<&str> = line.split(',').collect();
                if i > 0 {
                    fields[11] = "";
                }
                fields.join(",")
            })
            .collect();
        std::fs::write(&metrics, blanked.join("\n") + "\n").unwrap();
    }
    pglab_report::write(&dir, &ReportOptions::default()).unwrap();
    assert!(!dir.join("plots/kl_tradeoff.png").exists());
    for r in rows(&dir.join("report.csv")) {
        assert_number(&r, "final_kl_mean", None);
    }
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        md.contains("- `kl_tradeoff.png` not drawn: no finished run logged a KL"),
        "{md}"
    );
    assert!(
        !md.contains("## KL trade-off") && !md.contains("final KL"),
        "{md}"
    );
}
