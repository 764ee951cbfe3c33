use super::*;
use crate::{GroupReduction, TokenReduction, policy_loss};

const CLIP: ClipRange = ClipRange {
    low: 0.2,
    high: 0.2,
};

fn options(token_reduction: TokenReduction) -> LossOptions {
    LossOptions {
        token_reduction,
        group_reduction: GroupReduction::Mean,
        max_new_tokens: 8,
    }
}

fn assert_close(got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-6 * want.abs().max(1.0),
        "{got} vs {want}"
    );
}

fn assert_rows(got: &[Vec<f32>], want: &[&[f64]]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.len(), w.len(), "{got:?} vs {want:?}");
        for (&g, &w) in g.iter().zip(*w) {
            assert_close(f64::from(g), w);
        }
    }
}

/// One prompt, k = 2: sequence 0 (A = +1) has ratios (1.5, 0.5, 1.1), sequence 1 (A = −1)
/// has (0.5, 1.5); every old log-prob is −1, so log π_θ = −1 + log ρ.
fn both_sides() -> (Vec<Vec<f32>>, Vec<Vec<f32>>, [f32; 2]) {
    let ratios: [&[f64]; 2] = [&[1.5, 0.5, 1.1], &[0.5, 1.5]];
    let new = ratios
        .iter()
        .map(|r| r.iter().map(|&r| (-1.0 + r.ln()) as f32).collect())
        .collect();
    let old = ratios.iter().map(|r| vec![-1.0; r.len()]).collect();
    (new, old, [1.0, -1.0])
}

/// `objective` with `clip` on [`both_sides`], summed over tokens.
fn on_both_sides(objective: Objective, clip: ClipRange) -> TokenLoss {
    let (new, old, a) = both_sides();
    token_loss(
        objective,
        clip,
        &new,
        &old,
        &a,
        2,
        &options(TokenReduction::Sum),
    )
    .unwrap()
}

#[test]
fn at_ratio_one_every_objective_is_the_policy_gradient() {
    // Two prompts, k = 2, ragged lengths; π_θ = π_old, so every ρ is exactly 1.
    let logp: Vec<Vec<f32>> = vec![
        vec![-0.5],
        vec![-1.0, -2.0],
        vec![-0.25, -0.5, -3.0],
        vec![-1.5, -0.5, -0.5, -1.0],
    ];
    let advantages = [1.0, -1.0, 2.0, 0.5];
    let n: Vec<usize> = logp.iter().map(Vec::len).collect();
    let s: Vec<f32> = logp.iter().map(|l| l.iter().sum()).collect();
    for reduction in [
        TokenReduction::Sum,
        TokenReduction::Mean,
        TokenReduction::BatchMean,
        TokenReduction::MaxTokens,
    ] {
        let o = options(reduction);
        let reference = policy_loss(&s, &n, &advantages, 2, &o).unwrap();
        let objectives = match reduction {
            // GSPO's sequence ratio is a mean over tokens: its step is the mean reduction's.
            TokenReduction::Mean => &[
                Objective::PolicyGradient,
                Objective::PpoClip,
                Objective::Cispo,
                Objective::Gspo,
            ][..],
            _ => &[
                Objective::PolicyGradient,
                Objective::PpoClip,
                Objective::Cispo,
            ][..],
        };
        for &objective in objectives {
            let loss = token_loss(objective, CLIP, &logp, &logp, &advantages, 2, &o).unwrap();
            for (row, &w) in loss.weights.iter().zip(&reference.weights) {
                // Bitwise: every token of sequence i carries w_i itself.
                assert!(row.iter().all(|&x| x == w), "{objective:?} {reduction:?}");
            }
            assert_close(loss.value, reference.value);
            assert_eq!(loss.ratios.tokens, 10);
            assert_eq!((loss.ratios.ratio_min, loss.ratios.ratio_max), (1.0, 1.0));
            assert_eq!(loss.ratios.clipped_low + loss.ratios.clipped_high, 0);
            assert_eq!(loss.ratios.approx_kl(), 0.0);
        }
    }
}

#[test]
fn ppo_drops_the_gradient_of_tokens_past_the_clip_in_the_advantages_direction() {
    let loss = on_both_sides(Objective::PpoClip, CLIP);
    // w_i = −A_i/N = (−0.5, +0.5). Sequence 0 (A > 0): ρ = 1.5 > 1.2 is clipped (0); 0.5 is
    // below the clip but A > 0 pushes it up, so it keeps ρ·w = −0.25; 1.1 → −0.55.
    // Sequence 1 (A < 0): ρ = 0.5 < 0.8 is clipped (0); 1.5 keeps 0.75.
    assert_rows(&loss.weights, &[&[0.0, -0.25, -0.55], &[0.0, 0.75]]);
    assert_eq!((loss.ratios.clipped_low, loss.ratios.clipped_high), (1, 1));
    assert_close(loss.ratios.clip_low_frac(), 0.2);
    assert_close(
        loss.ratios.ratio_mean(),
        (1.5 + 0.5 + 1.1 + 0.5 + 1.5) / 5.0,
    );
    assert_close(loss.ratios.ratio_max, 1.5);
    // Σ w·log π with log π = −1 + log ρ.
    let want =
        -0.25 * (-1.0 + 0.5f64.ln()) - 0.55 * (-1.0 + 1.1f64.ln()) + 0.75 * (-1.0 + 1.5f64.ln());
    assert_close(loss.value, want);
    // k3: Σ (ρ − 1 − log ρ) / 5.
    let k3: f64 = [1.5f64, 0.5, 1.1, 0.5, 1.5]
        .iter()
        .map(|r| r - 1.0 - r.ln())
        .sum::<f64>()
        / 5.0;
    assert_close(loss.ratios.approx_kl(), k3);
}

#[test]
fn clip_higher_lets_a_positive_advantage_token_rise_further() {
    let clip = ClipRange {
        low: 0.2,
        high: 0.6,
    };
    let loss = on_both_sides(Objective::PpoClip, clip);
    // 1.5 < 1.6 now: −0.5·1.5 = −0.75; the low side is unchanged.
    assert_rows(&loss.weights, &[&[-0.75, -0.25, -0.55], &[0.0, 0.75]]);
    assert_eq!((loss.ratios.clipped_low, loss.ratios.clipped_high), (1, 0));
}

#[test]
fn cispo_bounds_every_tokens_weight_and_drops_none() {
    let loss = on_both_sides(Objective::Cispo, CLIP);
    // w·clip(ρ, 0.8, 1.2): (−0.6, −0.4, −0.55) and (0.4, 0.6): no zero weight.
    assert_rows(&loss.weights, &[&[-0.6, -0.4, -0.55], &[0.4, 0.6]]);
    assert!(loss.weights.iter().flatten().all(|&w| w != 0.0));
    // Clipped on either side whatever the advantage's sign.
    assert_eq!((loss.ratios.clipped_low, loss.ratios.clipped_high), (2, 2));
}

#[test]
fn gspo_clips_whole_sequences_by_their_geometric_mean_ratio() {
    // Sequence 0 (A = +1): ratios (2, 0.5), geometric mean 1: kept, every token weight w_0.
    // Sequence 1 (A = −1): ratios (0.5, 0.5): s = 0.5 < 0.8 with A < 0, dropped whole.
    // Mean reduction, N = 2: w_i = −A_i/(2·n_i) = (−0.25, 0.25).
    let new = vec![
        vec![2f64.ln() as f32, 0.5f64.ln() as f32],
        vec![0.5f64.ln() as f32; 2],
    ];
    let old = vec![vec![0.0; 2], vec![0.0; 2]];
    let o = options(TokenReduction::Mean);
    let loss = token_loss(Objective::Gspo, CLIP, &new, &old, &[1.0, -1.0], 2, &o).unwrap();
    assert_rows(&loss.weights, &[&[-0.25, -0.25], &[0.0, 0.0]]);
    assert_eq!((loss.ratios.clipped_low, loss.ratios.clipped_high), (2, 0));
    // The same sequence 1 with A = +1 is inside its rule (a low ratio with a positive
    // advantage is pulled back up): weight w·s = −0.25·0.5 per token.
    let loss = token_loss(Objective::Gspo, CLIP, &new, &old, &[1.0, 1.0], 2, &o).unwrap();
    assert_rows(&loss.weights, &[&[-0.25, -0.25], &[-0.125, -0.125]]);
    // PPO on the same tokens treats sequence 0's two ratios separately: 2 > 1.2 is clipped.
    let loss = token_loss(Objective::PpoClip, CLIP, &new, &old, &[1.0, -1.0], 2, &o).unwrap();
    assert_rows(&loss.weights, &[&[0.0, -0.125], &[0.0, 0.0]]);
}

#[test]
fn bad_clip_ranges_and_ragged_inputs_are_errors_naming_the_key() {
    let logp = vec![vec![-1.0f32]; 2];
    let o = options(TokenReduction::Sum);
    let run = |low, high| {
        token_loss(
            Objective::PpoClip,
            ClipRange { low, high },
            &logp,
            &logp,
            &[1.0, 0.0],
            2,
            &o,
        )
    };
    for low in [0.0, 1.0, -0.1, f64::NAN] {
        let err = run(low, 0.2).expect_err("bad clip_low");
        assert!(err.to_string().contains("clip_low"), "{err}");
        assert!(err.to_string().contains("ppo_clip"), "{err}");
    }
    for high in [0.0, f64::INFINITY] {
        assert!(
            run(0.2, high)
                .expect_err("bad clip_high")
                .to_string()
                .contains("clip_high")
        );
    }
    let old = vec![vec![-1.0f32], vec![-1.0, -2.0]];
    let err =
        token_loss(Objective::Cispo, CLIP, &logp, &old, &[1.0, 0.0], 2, &o).expect_err("ragged");
    assert_eq!(
        err,
        EstimatorError::TokenCountMismatch {
            context: CONTEXT,
            index: 1,
            got: 2,
            expected: 1
        }
    );
    let nan = vec![vec![f32::NAN], vec![-1.0]];
    let err = token_loss(Objective::Cispo, CLIP, &nan, &logp, &[1.0, 0.0], 2, &o).expect_err("NaN");
    assert!(err.to_string().contains("logp[0] is NaN"), "{err}");
}

#[test]
fn objectives_parse_by_their_names() {
    #[derive(serde::Deserialize)]
    struct T {
        objective: Objective,
    }
    for name in ["policy_gradient", "ppo_clip", "gspo", "cispo"] {
        let t: T = toml::from_str(&format!("objective = \"{name}\"")).unwrap();
        assert_eq!(t.objective.name(), name);
    }
    assert!(toml::from_str::<T>("objective = \"ppo\"").is_err());
}
