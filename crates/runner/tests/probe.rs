//! The probe's figures recomputed by hand: the same three batches re-sampled from the same
//! seed (batch b with the prompts of step b), their rewards shaped by hand when there is a KL
//! penalty, each estimator's gradient taken directly from a one-graph log-prob pass with
//! hand-written loss weights, and grad_var, ‖ḡ‖², the unclipped snr and the held-out cosine
//! (each batch against the lower-variance estimator's mean gradient over the other batches)
//! computed with two-pass formulas in f64. ReMax's baselines come from greedy completions
//! decoded and scored here, and the optimal baseline's norms from one backward pass per
//! sequence written out here.

use std::path::Path;
use std::time::Instant;

use burn::optim::GradientsParams;
use burn::prelude::*;
use pglab_estimator::{BaselineInputs, kl_estimates, shape_rewards};
use pglab_model::{Transformer, flatten_gradients, sample, sequence_logprobs};
use pglab_reward::protocol::Phase;
use pglab_runner::experiment;
use pglab_runner::rl::environment::Environment;
use pglab_runner::rl::probe::Probe;
use pglab_runner::rl::run::Learner;
use rand::SeedableRng;
use rand::rngs::StdRng;

mod by_hand;
use by_hand::{greedy_rewards, sequence_gradient, squared_norm};

/// The estimators probed, in order.
const PROBED: [&str; 4] = ["reinforce", "rloo", "remax", "optimal_baseline"];

/// The smoke experiment's first run, probing [`PROBED`] with 3 batches, after `train_steps` RL
/// steps.
fn setup(set: &[&str], train_steps: usize) -> (Environment, Transformer) {
    let root = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")).join("../..");
    std::env::set_current_dir(&root).unwrap();
    let mut set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
    set.extend(
        [
            "probe.batches=3",
            "probe.estimators=[\"reinforce\", \"rloo\", \"remax\", \"optimal_baseline\"]",
            "seed=0",
        ]
        .map(String::from),
    );
    let (_, runs) = experiment::load(
        Path::new("experiments/smoke.toml"),
        &experiment::Overrides::set(&set),
    )
    .unwrap();
    let config = &runs[0].config;
    let (environment, mut policy) =
        Environment::load(config, &Device::flex(), Path::new("unused")).unwrap();
    let mut learner = Learner::new(&config.train, config.seed, Instant::now()).unwrap();
    for _ in 0..train_steps {
        policy = learner.step(&environment, policy).unwrap().policy;
    }
    (environment, policy)
}

/// c_i of each sequence under the reduction named `reduction`, written out: 1 (sum), 1/n_i
/// (mean), N/Σ_j n_j (batch_mean), 1/max_new_tokens (max_tokens).
fn by_hand_scales(reduction: &str, n_tokens: &[usize], max_new_tokens: usize) -> Vec<f64> {
    let total: usize = n_tokens.iter().sum();
    n_tokens
        .iter()
        .map(|&n| match reduction {
            "sum" => 1.0,
            "mean" => 1.0 / n as f64,
            "batch_mean" => n_tokens.len() as f64 / total as f64,
            "max_tokens" => 1.0 / max_new_tokens as f64,
            other => panic!("no reduction {other}"),
        })
        .collect()
}

/// Runs the probe and checks its records against the by-hand computation under the run's
/// settings' reductions; returns the largest |shaped − score| seen, so a caller can tell the KL
/// penalty was in play.
fn probe_matches_a_two_pass_recomputation(environment: &Environment, policy: &Transformer) -> f32 {
    // The smoke file's: its own sum, then the listed others.
    let t = &environment.config.train;
    let reductions: Vec<&str> = environment
        .config
        .probe
        .reductions(t.token_reduction)
        .iter()
        .map(|r| r.name())
        .collect();
    assert!(
        reductions.len() >= 2,
        "the smoke grid probes two reductions"
    );
    probe_matches_by_hand_under(environment, policy, &reductions)
}

/// The same, `reductions` naming the run's own (sum) and those `probe.token_reductions` adds,
/// in the order the probe writes them.
fn probe_matches_by_hand_under(
    environment: &Environment,
    policy: &Transformer,
    reductions: &[&str],
) -> f32 {
    let config = &environment.config;
    let t = &config.train;
    let probe = Probe::new(config).unwrap();
    let records = probe
        .run(environment, policy, 0, 0, &mut StdRng::seed_from_u64(5))
        .unwrap();

    // By hand: the same batches (same RNG: the probe samples its 3 batches, the prompts of
    // steps 0, 1 and 2, in one call), each estimator's gradient from its own loss.
    let mut rng = StdRng::seed_from_u64(5);
    let estimators = PROBED.len();
    let measured = estimators * reductions.len();
    let mut gradients: Vec<Vec<Vec<f64>>> = vec![vec![]; measured];
    let mut largest_penalty = 0.0f32;
    let device = &environment.device;
    let prompts: Vec<Vec<u32>> = (0..3).flat_map(|b| environment.prompts(b)).collect();
    let rollouts = sample(&policy.valid(), &prompts, &config.sampling, &mut rng)
        .unwrap()
        .chunks(prompts.len() / 3);
    for (b, rollout) in rollouts.into_iter().enumerate() {
        let scores = environment.score(&rollout, 0, Phase::Probe).unwrap();
        let batch = rollout.token_batch(t.loss_includes_prompt, device).unwrap();
        let logprobs = sequence_logprobs(policy, &batch, false).unwrap();
        let seq_logp = logprobs
            .sum
            .clone()
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap();
        let rewards = match &environment.reference {
            Some(reference) => {
                let frozen = rollout
                    .token_batch(t.loss_includes_prompt, &device.clone().without_autodiff())
                    .unwrap();
                let ref_logp = sequence_logprobs(reference, &frozen, false)
                    .unwrap()
                    .sum
                    .into_data()
                    .try_into_vec_as::<f32>()
                    .unwrap();
                let kl = kl_estimates(
                    &seq_logp,
                    &ref_logp,
                    &logprobs.n_scored,
                    t.token_reduction,
                    config.sampling.max_new_tokens,
                )
                .unwrap();
                shape_rewards(&scores, &kl, t.kl_coef).unwrap()
            }
            None => scores.clone(),
        };
        for (r, s) in rewards.iter().zip(&scores) {
            largest_penalty = largest_penalty.max((r - s).abs());
        }
        let n = rewards.len() as f64;
        let greedy_rewards = greedy_rewards(environment, policy, &environment.prompts(b));
        let sqnorms: Vec<f64> = (0..rewards.len())
            .map(|i| squared_norm(&sequence_gradient(policy, &batch, i)))
            .collect();
        for (r, reduction) in reductions.iter().enumerate() {
            let c = by_hand_scales(reduction, &batch.n_scored, config.sampling.max_new_tokens);
            let q: Vec<f64> = sqnorms.iter().zip(&c).map(|(g, c)| c * c * g).collect();
            let inputs = BaselineInputs {
                greedy_rewards: Some(&greedy_rewards),
                score_sqnorms: Some(&q),
            };
            for (e, estimator) in probe.estimators.iter().enumerate() {
                let advantages = estimator.advantages_with(&rewards, &inputs).unwrap();
                // L = −(1/N) Σ_i A_i c_i s_i.
                let weights: Vec<f32> = advantages
                    .iter()
                    .zip(&c)
                    .map(|(&a, c)| (-f64::from(a) * c / n) as f32)
                    .collect();
                let logprobs = sequence_logprobs(policy, &batch, false).unwrap();
                let weights =
                    Tensor::<1>::from_data(TensorData::new(weights, [rewards.len()]), device);
                let loss = (logprobs.sum * weights).sum();
                let grads = GradientsParams::from_grads(loss.backward(), policy);
                let g = flatten_gradients(policy, &grads).unwrap();
                gradients[r * estimators + e].push(g.iter().map(|&x| x as f64).collect());
            }
        }
    }
    let mean = |gs: &[Vec<f64>]| -> Vec<f64> {
        (0..gs[0].len())
            .map(|i| gs.iter().map(|g| g[i]).sum::<f64>() / gs.len() as f64)
            .collect()
    };
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let means: Vec<Vec<f64>> = gradients.iter().map(|g| mean(g)).collect();
    let vars: Vec<f64> = (0..measured)
        .map(|e| {
            gradients[e]
                .iter()
                .map(|g| {
                    g.iter()
                        .zip(&means[e])
                        .map(|(x, y)| (x - y).powi(2))
                        .sum::<f64>()
                })
                .sum::<f64>()
                / 2.0
        })
        .collect();
    // Every estimator here is unbiased: the reference is the one with the lowest variance under
    // `sum` when it is probed (else the run's own reduction), and each batch (under every
    // reduction) is compared with its mean gradient over the two other batches.
    let block = reductions.iter().position(|&r| r == "sum").unwrap_or(0) * estimators;
    let r = (block..block + estimators)
        .min_by(|&a, &b| vars[a].total_cmp(&vars[b]))
        .unwrap();
    let held_out = |b: usize| -> Vec<f64> {
        (0..means[r].len())
            .map(|i| (0..3).filter(|&o| o != b).map(|o| gradients[r][o][i]).sum())
            .collect()
    };
    for (e, record) in records.iter().enumerate() {
        let m = &means[e];
        let var = vars[e];
        let sqnorm = dot(m, m);
        let snr = (sqnorm - var / 3.0) / var;
        let cosines: Vec<f64> = (0..3)
            .map(|b| {
                let (g, h) = (&gradients[e][b], held_out(b));
                dot(g, &h) / (dot(g, g).sqrt() * dot(&h, &h).sqrt())
            })
            .filter(|c| c.is_finite())
            .collect();
        let cos = cosines.iter().sum::<f64>() / cosines.len() as f64;
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs().max(1e-12);
        assert!(var > 0.0, "{}: a real variance", record.estimator);
        assert!(
            close(record.grad_var, var),
            "{}: grad_var {} vs {var}",
            record.estimator,
            record.grad_var
        );
        assert!(
            close(record.grad_mean_sqnorm, sqnorm),
            "{}: ‖ḡ‖²",
            record.estimator
        );
        // SNR is a difference of two terms (‖ḡ‖²/var − 1/M): its error scales with them, not
        // with the SNR, which can sit near 0.
        assert!(
            (record.snr - snr).abs() <= 1e-6 * (sqnorm / var + 1.0 / 3.0),
            "{}: snr {} vs {snr}",
            record.estimator,
            record.snr
        );
        assert!(
            (record.cos_to_ref - cos).abs() < 1e-6,
            "{}: cos {} vs {cos}",
            record.estimator,
            record.cos_to_ref
        );
    }
    let names: Vec<String> = records.iter().map(|r| r.estimator.to_string()).collect();
    assert_eq!(names, PROBED.repeat(reductions.len()));
    let recorded: Vec<&str> = records
        .iter()
        .map(|r| r.token_reduction.expect("recorded").name())
        .collect();
    let expected: Vec<&str> = reductions
        .iter()
        .flat_map(|&r| std::iter::repeat_n(r, estimators))
        .collect();
    assert_eq!(recorded, expected);
    largest_penalty
}

#[test]
fn probe_figures_match_a_two_pass_recomputation_from_the_same_samples() {
    let (environment, policy) = setup(&[], 0);
    assert!(environment.reference.is_none());
    assert_eq!(
        probe_matches_a_two_pass_recomputation(&environment, &policy),
        0.0
    );
}

#[test]
fn probe_measures_every_listed_token_reduction_from_the_same_samples() {
    // The run's own `sum` first, then the three others, each against its own loss weights by
    // hand (the optimal baseline's norms rescaled by c_i²), every cosine against the sum's
    // reference.
    let (environment, policy) = setup(
        &[
            "probe.token_reductions=[\"mean\", \"batch_mean\", \"max_tokens\", \"sum\"]",
            // Prompts of different lengths counted in: the reductions weigh sequences apart.
            "train.loss_includes_prompt=true",
        ],
        0,
    );
    probe_matches_by_hand_under(
        &environment,
        &policy,
        &["sum", "mean", "batch_mean", "max_tokens"],
    );
}

#[test]
fn a_run_of_another_reduction_scores_directions_against_the_sums_reference() {
    // The run's own reduction is the mean; the probe adds the sum, whose lowest-variance
    // unbiased direction is every cosine's reference.
    let (environment, policy) = setup(
        &[
            "train.token_reduction=\"mean\"",
            "probe.token_reductions=[\"sum\"]",
            "train.loss_includes_prompt=true",
        ],
        0,
    );
    probe_matches_by_hand_under(&environment, &policy, &["mean", "sum"]);
}

#[test]
fn probe_with_a_kl_penalty_sees_the_rewards_training_shapes() {
    // One step away from the reference, so the KL estimates are not zero.
    let (environment, policy) = setup(&["train.kl_coef=0.5"], 1);
    assert!(environment.reference.is_some());
    let penalty = probe_matches_a_two_pass_recomputation(&environment, &policy);
    assert!(
        penalty > 1e-4,
        "the KL penalty moved the rewards by {penalty}"
    );
}
