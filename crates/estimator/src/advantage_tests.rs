use super::*;

const EPS: f32 = 1e-6;

fn advantages(estimator: Estimator, k: usize, rewards: &[f32]) -> Vec<f32> {
    Advantages::new(estimator, k, AdvantageOptions::default())
        .expect("valid configuration")
        .advantages(rewards)
        .expect("valid rewards")
}

fn assert_close(got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (f64::from(*g) - w).abs() <= 1e-6 * w.abs().max(1.0),
            "{got:?} vs {want:?}"
        );
    }
}

// Two prompts, k = 3: groups (0, 3, 6) and (2, 2, 5).
// Group means 3 and 3; deviations (−3, 0, 3) and (−1, −1, 2).
// Bessel variances (9+0+9)/2 = 9 and (1+1+4)/2 = 3, so stds 3 and √3.
const R: [f32; 6] = [0.0, 3.0, 6.0, 2.0, 2.0, 5.0];

#[test]
fn reinforce_advantages_are_the_rewards() {
    assert_close(
        &advantages(Estimator::Reinforce, 3, &R),
        &[0.0, 3.0, 6.0, 2.0, 2.0, 5.0],
    );
}

#[test]
fn reinforce_mean_subtracts_the_mean_of_the_other_prompts_rewards() {
    // Prompt 0's baseline is prompt 1's mean (2+2+5)/3 = 3, prompt 1's is prompt 0's, also 3.
    assert_close(
        &advantages(Estimator::ReinforceMean, 3, &R),
        &[-3.0, 0.0, 3.0, -1.0, -1.0, 2.0],
    );
    // Three prompts of k = 2: (1, 3), (0, 2), (8, 10); means 2, 1, 9. Prompt 0's baseline is
    // (0+2+8+10)/4 = 5, prompt 1's (1+3+8+10)/4 = 5.5, prompt 2's (1+3+0+2)/4 = 1.5.
    assert_close(
        &advantages(
            Estimator::ReinforceMean,
            2,
            &[1.0, 3.0, 0.0, 2.0, 8.0, 10.0],
        ),
        &[-4.0, -2.0, -5.5, -3.5, 6.5, 8.5],
    );
    // Equal rewards everywhere: exactly 0, not a rounding error away from it.
    let equal = advantages(Estimator::ReinforceMean, 2, &[0.1; 6]);
    assert!(equal.iter().all(|&a| a == 0.0), "{equal:?}");
}

#[test]
fn reinforce_mean_with_one_prompt_is_an_error_naming_the_count() {
    let mean = Advantages::new(Estimator::ReinforceMean, 4, AdvantageOptions::default())
        .expect("k = 4 is fine");
    let err = mean
        .advantages(&[1.0, 2.0, 3.0, 4.0])
        .expect_err("one prompt");
    assert_eq!(
        err,
        EstimatorError::TooFewPrompts {
            estimator: Estimator::ReinforceMean,
            prompts: 1
        }
    );
    assert!(
        err.to_string()
            .contains("at least 2 prompts per step, got 1")
    );
}

#[test]
fn rloo_advantages_subtract_the_mean_of_the_other_completions() {
    // 0 − (3+6)/2 = −4.5, 3 − (0+6)/2 = 0, 6 − (0+3)/2 = 4.5;
    // 2 − (2+5)/2 = −1.5, again −1.5, 5 − (2+2)/2 = 3.
    assert_close(
        &advantages(Estimator::Rloo, 3, &R),
        &[-4.5, 0.0, 4.5, -1.5, -1.5, 3.0],
    );
}

#[test]
fn dr_grpo_advantages_subtract_the_group_mean() {
    assert_close(
        &advantages(Estimator::DrGrpo, 3, &R),
        &[-3.0, 0.0, 3.0, -1.0, -1.0, 2.0],
    );
}

#[test]
fn grpo_advantages_divide_by_bessel_std_plus_eps() {
    let e = f64::from(EPS);
    let s2 = 3f64.sqrt() + e;
    assert_close(
        &advantages(Estimator::Grpo, 3, &R),
        &[
            -3.0 / (3.0 + e),
            0.0,
            3.0 / (3.0 + e),
            -1.0 / s2,
            -1.0 / s2,
            2.0 / s2,
        ],
    );
}

#[test]
fn grpo_gives_zero_advantage_to_a_group_with_equal_rewards() {
    assert_close(&advantages(Estimator::Grpo, 2, &[4.0, 4.0]), &[0.0, 0.0]);
}

#[test]
fn reinforce_pp_normalises_over_the_whole_batch() {
    // Batch mean 18/6 = 3; deviations (−3, 0, 3, −1, −1, 2); squares sum 9+0+9+1+1+4 = 24;
    // Bessel variance 24/5 = 4.8.
    let s = 4.8f64.sqrt() + f64::from(EPS);
    assert_close(
        &advantages(Estimator::ReinforcePp, 3, &R),
        &[-3.0 / s, 0.0, 3.0 / s, -1.0 / s, -1.0 / s, 2.0 / s],
    );
}

#[test]
fn reinforce_pp_baseline_centres_each_group_then_whitens_the_batch() {
    // Groups (1, 3) and (10, 14): a = (−1, 1, −2, 2), mean 0, Bessel std √(10/3) = 1.825742.
    let got = advantages(Estimator::ReinforcePpBaseline, 2, &[1.0, 3.0, 10.0, 14.0]);
    let s = (10.0f64 / 3.0).sqrt() + 1e-6;
    assert_close(&got, &[-1.0 / s, 1.0 / s, -2.0 / s, 2.0 / s]);
    // Unlike reinforce_pp, the groups' different means do not enter.
    let pp = advantages(Estimator::ReinforcePp, 2, &[1.0, 3.0, 10.0, 14.0]);
    assert!(pp[0] < -0.5 && got[0] > -0.6);
}

fn advantages_with(
    estimator: Estimator,
    k: usize,
    rewards: &[f32],
    inputs: &BaselineInputs,
) -> Result<Vec<f32>, EstimatorError> {
    Advantages::new(estimator, k, AdvantageOptions::default())
        .expect("valid configuration")
        .advantages_with(rewards, inputs)
}

#[test]
fn remax_subtracts_each_prompts_greedy_reward() {
    // Greedy rewards 4 and 1 for the two prompts of R: (0−4, 3−4, 6−4), (2−1, 2−1, 5−1).
    let inputs = BaselineInputs {
        greedy_rewards: Some(&[4.0, 1.0]),
        ..BaselineInputs::NONE
    };
    let got = advantages_with(Estimator::Remax, 3, &R, &inputs).expect("valid");
    assert_close(&got, &[-4.0, -1.0, 2.0, 1.0, 1.0, 4.0]);
    // k = 1 is fine: the baseline does not come from the group.
    let one = advantages_with(
        Estimator::Remax,
        1,
        &[5.0, 7.0],
        &BaselineInputs {
            greedy_rewards: Some(&[2.0, 9.0]),
            ..BaselineInputs::NONE
        },
    );
    assert_close(&one.expect("valid"), &[3.0, -2.0]);
}

#[test]
fn optimal_baseline_weights_the_other_rewards_by_their_gradient_norms() {
    // Group (0, 3, 6) with q = (1, 2, 3):
    //   b_0 = (2·3 + 3·6)/(2+3) = 24/5 = 4.8      → A_0 = 0 − 4.8 = −4.8
    //   b_1 = (1·0 + 3·6)/(1+3) = 18/4 = 4.5      → A_1 = 3 − 4.5 = −1.5
    //   b_2 = (1·0 + 2·3)/(1+2) = 6/3 = 2         → A_2 = 6 − 2 = 4
    // Group (2, 2, 5) with q = (4, 0, 0): b_0's others have q = 0, so it is RLOO's
    // (2+5)/2 = 3.5 → A = −1.5; b_1 = 4·2/4 = 2 → A = 0; b_2 = 2 → A = 3.
    let q = [1.0, 2.0, 3.0, 4.0, 0.0, 0.0];
    let inputs = BaselineInputs {
        score_sqnorms: Some(&q),
        ..BaselineInputs::NONE
    };
    let got = advantages_with(Estimator::OptimalBaseline, 3, &R, &inputs).expect("valid");
    assert_close(&got, &[-4.8, -1.5, 4.0, -1.5, 0.0, 3.0]);
}

#[test]
fn optimal_baseline_gives_exactly_zero_to_a_group_of_equal_rewards() {
    let r = [0.1f32, 0.1, 0.1, 7.3, 7.3, 7.3];
    let q = [0.37, 1.9e3, 2.2e-4, 5.0, 0.0, 1.0 / 3.0];
    let inputs = BaselineInputs {
        score_sqnorms: Some(&q),
        ..BaselineInputs::NONE
    };
    let a = advantages_with(Estimator::OptimalBaseline, 3, &r, &inputs).expect("valid");
    assert_eq!(a, vec![0.0; 6]);
}

#[test]
fn optimal_baseline_with_equal_norms_is_rloo() {
    for (k, seed) in [(2, 11), (4, 12), (7, 13)] {
        let r = pseudo_rewards(3 * k, seed);
        let q = vec![0.37; r.len()];
        let inputs = BaselineInputs {
            score_sqnorms: Some(&q),
            ..BaselineInputs::NONE
        };
        let optimal = advantages_with(Estimator::OptimalBaseline, k, &r, &inputs).expect("ok");
        let rloo = advantages(Estimator::Rloo, k, &r);
        let want: Vec<f64> = rloo.iter().map(|&x| f64::from(x)).collect();
        assert_close(&optimal, &want);
    }
}

#[test]
fn missing_or_malformed_baseline_inputs_are_errors_naming_them() {
    let remax = advantages_with(Estimator::Remax, 3, &R, &BaselineInputs::NONE);
    let err = remax.expect_err("no greedy rewards");
    assert!(err.to_string().contains("remax") && err.to_string().contains("greedy_rewards"));
    let optimal = Advantages::new(Estimator::OptimalBaseline, 3, AdvantageOptions::default())
        .expect("valid")
        .advantages(&R);
    let err = optimal.expect_err("no norms");
    assert!(err.to_string().contains("optimal_baseline"), "{err}");
    assert!(err.to_string().contains("score_sqnorms"), "{err}");
    // One greedy reward per prompt: 2 for R, not 6.
    let err = advantages_with(
        Estimator::Remax,
        3,
        &R,
        &BaselineInputs {
            greedy_rewards: Some(&R),
            ..BaselineInputs::NONE
        },
    )
    .expect_err("wrong length");
    assert!(
        err.to_string()
            .contains("greedy_rewards has 6 entries, expected 2"),
        "{err}"
    );
    let err = advantages_with(
        Estimator::Remax,
        3,
        &R,
        &BaselineInputs {
            greedy_rewards: Some(&[1.0, f32::INFINITY]),
            ..BaselineInputs::NONE
        },
    )
    .expect_err("infinite");
    assert!(
        err.to_string().contains("greedy_rewards[1] is inf"),
        "{err}"
    );
    let q = [1.0, 1.0, -0.5, 1.0, 1.0, 1.0];
    let err = advantages_with(
        Estimator::OptimalBaseline,
        3,
        &R,
        &BaselineInputs {
            score_sqnorms: Some(&q),
            ..BaselineInputs::NONE
        },
    )
    .expect_err("negative");
    assert!(
        err.to_string().contains("score_sqnorms[2] is -0.5"),
        "{err}"
    );
    // The other estimators need neither.
    for estimator in Estimator::ALL {
        let needs = estimator.needs_greedy() || estimator.needs_score_norms();
        let got = advantages_with(estimator, 3, &R, &BaselineInputs::NONE);
        assert_eq!(got.is_err(), needs, "{estimator}");
    }
}

#[test]
fn reinforce_ema_first_step_uses_zero_baseline() {
    assert_close(
        &advantages(Estimator::ReinforceEma, 3, &R),
        &[0.0, 3.0, 6.0, 2.0, 2.0, 5.0],
    );
}

#[test]
fn reinforce_ema_baseline_uses_only_past_steps() {
    let options = AdvantageOptions {
        ema_decay: 0.5,
        ..AdvantageOptions::default()
    };
    let mut ema = Advantages::new(Estimator::ReinforceEma, 2, options).expect("valid");
    // Step 1: b = 0, so A = r; then b = 0.5·0 + 0.5·mean(2, 6) = 2.
    assert_close(&ema.step(&[2.0, 6.0]).expect("ok"), &[2.0, 6.0]);
    assert_eq!(ema.baseline(), 2.0);
    // Step 2: b = 2 (from step 1 only), even though this step's mean is 11; then
    // b = 0.5·2 + 0.5·11 = 6.5.
    assert_close(&ema.step(&[10.0, 12.0]).expect("ok"), &[8.0, 10.0]);
    assert_eq!(ema.baseline(), 6.5);
    // Step 3: b = 6.5 whatever this step's rewards are.
    assert_close(&ema.advantages(&[0.0, 100.0]).expect("ok"), &[-6.5, 93.5]);
    assert_close(&ema.advantages(&[-50.0, 7.0]).expect("ok"), &[-56.5, 0.5]);
    // `advantages` alone leaves the baseline untouched.
    assert_eq!(ema.baseline(), 6.5);
}

#[test]
fn reinforce_ema_default_decay_is_0_9() {
    let mut ema =
        Advantages::new(Estimator::ReinforceEma, 1, AdvantageOptions::default()).expect("ok");
    ema.step(&[10.0]).expect("ok");
    // b = 0.9·0 + 0.1·10 = 1.
    assert_close(&ema.advantages(&[0.0]).expect("ok"), &[-1.0]);
}

/// A small deterministic generator (an LCG), so the property tests need no dependency.
fn pseudo_rewards(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 20.0 - 5.0
        })
        .collect()
}

#[test]
fn rloo_advantages_sum_to_zero_per_group() {
    for (k, seed) in [(2, 1), (3, 2), (5, 3), (10, 4)] {
        let r = pseudo_rewards(4 * k, seed);
        let a = advantages(Estimator::Rloo, k, &r);
        for (g, group) in a.chunks(k).enumerate() {
            let sum: f64 = group.iter().map(|&x| f64::from(x)).sum();
            let scale: f64 = group.iter().map(|&x| f64::from(x).abs()).sum();
            assert!(sum.abs() <= 1e-6 * scale, "k={k} group {g}: sum {sum}");
        }
    }
}

#[test]
fn rloo_equals_k_over_k_minus_1_times_dr_grpo() {
    for (k, seed) in [(2, 5), (3, 6), (4, 7), (10, 8)] {
        let r = pseudo_rewards(3 * k, seed);
        let rloo = advantages(Estimator::Rloo, k, &r);
        let dr = advantages(Estimator::DrGrpo, k, &r);
        let ratio = k as f64 / (k as f64 - 1.0);
        for (a, d) in rloo.iter().zip(&dr) {
            let want = ratio * f64::from(*d);
            // Equal up to the final rounding of each to f32.
            assert!(
                (f64::from(*a) - want).abs() <= 2.0 * f64::from(f32::EPSILON) * want.abs().max(1.0),
                "k={k}: rloo {a} vs {want}"
            );
        }
    }
}

#[test]
fn group_estimators_reject_k_below_two_naming_estimator_and_k() {
    for estimator in [
        Estimator::Rloo,
        Estimator::Grpo,
        Estimator::DrGrpo,
        Estimator::ReinforcePpBaseline,
        Estimator::OptimalBaseline,
    ] {
        let err = Advantages::new(estimator, 1, AdvantageOptions::default())
            .expect_err("k = 1 is an error");
        assert_eq!(err, EstimatorError::GroupTooSmall { estimator, k: 1 });
        let msg = err.to_string();
        assert!(
            msg.contains(estimator.name()) && msg.contains("k = 1"),
            "{msg}"
        );
    }
}

#[test]
fn non_group_estimators_accept_k_of_one_and_group_ones_refuse_it() {
    for estimator in Estimator::ALL {
        let k_of_one = Advantages::new(estimator, 1, AdvantageOptions::default());
        assert_eq!(k_of_one.is_ok(), !estimator.is_group(), "{estimator}");
    }
}

#[test]
fn k_of_zero_is_an_empty_group_error_for_every_estimator() {
    for estimator in Estimator::ALL {
        let err = Advantages::new(estimator, 0, AdvantageOptions::default())
            .expect_err("k = 0 is an error");
        assert_eq!(err, EstimatorError::EmptyGroup { estimator });
        assert!(err.to_string().contains(estimator.name()));
    }
}

#[test]
fn empty_reward_list_is_an_error() {
    for estimator in Estimator::ALL {
        let a = Advantages::new(estimator, 2, AdvantageOptions::default()).expect("valid");
        assert_eq!(
            a.advantages(&[]),
            Err(EstimatorError::NoRewards { estimator })
        );
    }
}

#[test]
fn non_finite_reward_is_an_error_naming_estimator_index_and_value() {
    let a = Advantages::new(Estimator::Grpo, 2, AdvantageOptions::default()).expect("valid");
    let err = a.advantages(&[1.0, 2.0, f32::NAN, 0.0]).expect_err("NaN");
    assert!(matches!(
        err,
        EstimatorError::NonFiniteReward { estimator: Estimator::Grpo, index: 2, value } if value.is_nan()
    ));
    let msg = err.to_string();
    assert!(
        msg.contains("grpo") && msg.contains("reward 2") && msg.contains("NaN"),
        "{msg}"
    );
    let mut ema =
        Advantages::new(Estimator::ReinforceEma, 1, AdvantageOptions::default()).expect("ok");
    let err = ema.step(&[f32::INFINITY]).expect_err("inf");
    assert!(err.to_string().contains("inf"), "{err}");
    // A rejected step leaves the baseline as it was.
    assert_eq!(ema.baseline(), 0.0);
}

#[test]
fn ragged_reward_list_is_an_error() {
    let a = Advantages::new(Estimator::Rloo, 3, AdvantageOptions::default()).expect("valid");
    let err = a
        .advantages(&[1.0; 7])
        .expect_err("7 is not a multiple of 3");
    assert_eq!(
        err,
        EstimatorError::RaggedGroups {
            estimator: Estimator::Rloo,
            n: 7,
            k: 3
        }
    );
    assert!(err.to_string().contains("7 rewards"));
}

#[test]
fn reinforce_pp_with_a_single_reward_is_an_error() {
    let a = Advantages::new(Estimator::ReinforcePp, 1, AdvantageOptions::default()).expect("ok");
    assert_eq!(
        a.advantages(&[3.0]),
        Err(EstimatorError::BatchTooSmall {
            estimator: Estimator::ReinforcePp,
            n: 1
        })
    );
}

#[test]
fn bad_eps_and_decay_are_errors_naming_the_value() {
    let bad_eps = AdvantageOptions {
        eps: 0.0,
        ..AdvantageOptions::default()
    };
    let err = Advantages::new(Estimator::Grpo, 4, bad_eps).expect_err("eps 0");
    assert_eq!(
        err,
        EstimatorError::BadEps {
            estimator: Estimator::Grpo,
            eps: 0.0
        }
    );
    assert!(err.to_string().contains("grpo") && err.to_string().contains("eps = 0"));
    // eps is irrelevant to rloo, so it is not checked there.
    assert!(Advantages::new(Estimator::Rloo, 4, bad_eps).is_ok());
    let bad_decay = AdvantageOptions {
        ema_decay: 1.0,
        ..AdvantageOptions::default()
    };
    let err = Advantages::new(Estimator::ReinforceEma, 4, bad_decay).expect_err("decay 1");
    assert_eq!(err, EstimatorError::BadEmaDecay { decay: 1.0 });
    assert!(err.to_string().contains("ema_decay = 1"));
}

#[test]
fn estimator_names_match_serde_and_parse_from_toml() {
    #[derive(Deserialize, Serialize)]
    struct Row {
        estimator: Estimator,
    }
    for estimator in Estimator::ALL {
        let text = format!("estimator = \"{}\"\n", estimator.name());
        let row: Row = toml::from_str(&text).expect("parses");
        assert_eq!(row.estimator, estimator);
        assert_eq!(toml::to_string(&Row { estimator }).expect("ok"), text);
        assert_eq!(estimator.to_string(), estimator.name());
    }
    assert!(toml::from_str::<Row>("estimator = \"ppo\"\n").is_err());
}

#[test]
fn advantage_options_default_and_reject_unknown_keys() {
    let o: AdvantageOptions = toml::from_str("eps = 1e-8\n").expect("parses");
    assert_eq!(o.eps, 1e-8);
    assert_eq!(o.ema_decay, 0.9);
    assert!(toml::from_str::<AdvantageOptions>("epsilon = 1e-8\n").is_err());
}
