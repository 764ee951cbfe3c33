//! The analytic bandit: every estimator's Monte Carlo mean and variance, computed through the
//! real loss (`policy_loss`'s weights, chained through the softmax's score function by hand),
//! against closed forms and exact enumerations.
//!
//! The policy is a softmax over five actions (one-token completions) with fixed logits θ and
//! fixed rewards r. Its exact policy gradient is ∇_θ J = π ⊙ (r − E_π[r]), and a one-sample
//! REINFORCE estimate r_a (e_a − π) has covariance trace
//! Σ_a π_a r_a² ‖e_a − π‖² − ‖∇J‖², with ‖e_a − π‖² = 1 − 2π_a + ‖π‖².
//! Each batch samples k = 4 actions for each of P = 2 prompts (the same bandit), and every
//! estimator's gradient is computed from the same samples (paired), as the probe does. The
//! estimate of ∇J is −∇L. The expected gradients of the biased estimators (grpo, reinforce_pp)
//! are computed exactly by enumerating every outcome of a group (5⁴) or a batch (5⁸).
//! Seeds are fixed, so the test is deterministic.

use std::sync::OnceLock;

use pglab_estimator::{
    AdvantageOptions, Advantages, Estimator, GradStats, LossOptions, policy_loss,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ACTIONS: usize = 5;
const LOGITS: [f64; ACTIONS] = [0.4, -0.2, 0.0, 0.7, -0.9];
/// All positive with a large common mean (≈ 13.5), where a baseline matters most.
const REWARDS: [f64; ACTIONS] = [11.0, 12.0, 14.0, 17.0, 13.0];
const P: usize = 2;
const K: usize = 4;
const N: usize = P * K;
const BATCHES: usize = 4000;
const SEED: u64 = 20_240_601;
const EPS: f64 = 1e-6;

type Vector = [f64; ACTIONS];

/// π = softmax(θ), in f64.
fn policy() -> Vector {
    let max = LOGITS.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let exp = LOGITS.map(|t| (t - max).exp());
    let z: f64 = exp.iter().sum();
    exp.map(|e| e / z)
}

/// ∇J = π ⊙ (r − E_π[r]).
fn exact_gradient() -> Vector {
    let pi = policy();
    let mean: f64 = (0..ACTIONS).map(|a| pi[a] * REWARDS[a]).sum();
    std::array::from_fn(|a| pi[a] * (REWARDS[a] - mean))
}

/// Trace of the covariance of the batch REINFORCE estimate (1/N) Σ_i r_{a_i} (e_{a_i} − π).
fn reinforce_grad_var() -> f64 {
    let pi = policy();
    let pi_sq: f64 = pi.iter().map(|p| p * p).sum();
    let second_moment: f64 = (0..ACTIONS)
        .map(|a| pi[a] * REWARDS[a].powi(2) * (1.0 - 2.0 * pi[a] + pi_sq))
        .sum();
    let g = exact_gradient();
    let sq_norm: f64 = g.iter().map(|x| x * x).sum();
    (second_moment - sq_norm) / N as f64
}

/// E[(1/n) Σ_i A_i (e_{a_i} − π)] over all 5ⁿ outcomes of n independent actions, where
/// `advantages` maps the n rewards to their advantages.
fn enumerated_expectation(n: usize, advantages: impl Fn(&[f64]) -> Vec<f64>) -> Vector {
    let pi = policy();
    let mut expectation = [0.0; ACTIONS];
    let mut actions = vec![0usize; n];
    loop {
        let prob: f64 = actions.iter().map(|&a| pi[a]).product();
        let rewards: Vec<f64> = actions.iter().map(|&a| REWARDS[a]).collect();
        let adv = advantages(&rewards);
        for (i, &a) in actions.iter().enumerate() {
            for (j, e) in expectation.iter_mut().enumerate() {
                let score = if j == a { 1.0 } else { 0.0 } - pi[j];
                *e += prob * adv[i] * score / n as f64;
            }
        }
        // Next outcome, odometer-style.
        let mut i = 0;
        while i < n {
            actions[i] += 1;
            if actions[i] < ACTIONS {
                break;
            }
            actions[i] = 0;
            i += 1;
        }
        if i == n {
            return expectation;
        }
    }
}

/// (x − x̄) / (s + ε) with the Bessel-corrected s, written out independently of the crate.
fn standardised(x: &[f64]) -> Vec<f64> {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let std = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    x.iter().map(|v| (v - mean) / (std + EPS)).collect()
}

/// Every estimator's gradient statistics over the same BATCHES batches.
struct Simulation {
    stats: Vec<(Estimator, GradStats)>,
}

impl Simulation {
    fn stats(&self, estimator: Estimator) -> &GradStats {
        &self
            .stats
            .iter()
            .find(|(e, _)| *e == estimator)
            .expect("every estimator is simulated")
            .1
    }
}

fn simulation() -> &'static Simulation {
    static SIMULATION: OnceLock<Simulation> = OnceLock::new();
    SIMULATION.get_or_init(simulate)
}

fn simulate() -> Simulation {
    let pi = policy();
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut estimators: Vec<(Advantages, GradStats)> = Estimator::ALL
        .iter()
        .map(|&e| {
            let advantages =
                Advantages::new(e, K, AdvantageOptions::default()).expect("valid configuration");
            (advantages, GradStats::new(ACTIONS))
        })
        .collect();
    let n_tokens = [1usize; N];
    for _ in 0..BATCHES {
        let actions: Vec<usize> = (0..N).map(|_| sample(&pi, &mut rng)).collect();
        let rewards: Vec<f32> = actions.iter().map(|&a| REWARDS[a] as f32).collect();
        for (advantages, stats) in &mut estimators {
            let adv = advantages.step(&rewards).expect("finite rewards");
            let seq_logp: Vec<f32> = actions.iter().map(|&a| pi[a].ln() as f32).collect();
            let loss = policy_loss(&seq_logp, &n_tokens, &adv, K, &LossOptions::default())
                .expect("consistent inputs");
            // s_i = log π(a_i), ∂s_i/∂θ = e_{a_i} − π: ∇_θ L = Σ_i w_i (e_{a_i} − π).
            let estimate: Vec<f32> = (0..ACTIONS)
                .map(|j| {
                    let loss_grad: f64 = actions
                        .iter()
                        .zip(&loss.weights)
                        .map(|(&a, &w)| f64::from(w) * (f64::from(u8::from(a == j)) - pi[j]))
                        .sum();
                    -loss_grad as f32
                })
                .collect();
            stats
                .push(&estimate)
                .expect("finite gradient of the right length");
        }
    }
    Simulation {
        stats: estimators
            .into_iter()
            .map(|(a, s)| (a.estimator(), s))
            .collect(),
    }
}

/// One action drawn from π by inverting its CDF.
fn sample(pi: &Vector, rng: &mut StdRng) -> usize {
    let u: f64 = rng.random();
    let mut cdf = 0.0;
    for (a, p) in pi.iter().enumerate() {
        cdf += p;
        if u < cdf {
            return a;
        }
    }
    ACTIONS - 1
}

/// |ḡ_j − expected_j| / se_j per coordinate, se_j = sqrt(var_j / M).
fn z_scores(stats: &GradStats, expected: &Vector) -> Vector {
    let var = stats.coordinate_variance().expect("M >= 2");
    let m = stats.count() as f64;
    std::array::from_fn(|j| (stats.mean()[j] - expected[j]).abs() / (var[j] / m).sqrt())
}

fn assert_mean_within_4_se(estimator: Estimator, expected: &Vector) {
    let stats = simulation().stats(estimator);
    let z = z_scores(stats, expected);
    assert!(
        z.iter().all(|&z| z < 4.0),
        "{estimator}: mean {:?} vs expected {expected:?}: z = {z:?}",
        stats.mean()
    );
}

fn assert_mean_off_by_10_se(estimator: Estimator, unexpected: &Vector) {
    let stats = simulation().stats(estimator);
    let z = z_scores(stats, unexpected);
    assert!(
        z.iter().any(|&z| z > 10.0),
        "{estimator}: mean {:?} is not measurably off {unexpected:?}: z = {z:?}",
        stats.mean()
    );
}

#[test]
fn reinforce_mean_matches_exact_policy_gradient() {
    assert_mean_within_4_se(Estimator::Reinforce, &exact_gradient());
}

#[test]
fn reinforce_ema_mean_matches_exact_policy_gradient() {
    assert_mean_within_4_se(Estimator::ReinforceEma, &exact_gradient());
}

#[test]
fn rloo_mean_matches_exact_policy_gradient() {
    assert_mean_within_4_se(Estimator::Rloo, &exact_gradient());
}

#[test]
fn dr_grpo_mean_is_k_minus_1_over_k_times_policy_gradient() {
    let g = exact_gradient();
    let scale = (K as f64 - 1.0) / K as f64;
    assert_mean_within_4_se(Estimator::DrGrpo, &g.map(|x| scale * x));
    assert_mean_off_by_10_se(Estimator::DrGrpo, &g);
}

#[test]
fn grpo_mean_matches_its_enumerated_expectation_and_is_biased() {
    // Groups are independent and identically distributed, so the batch expectation is one
    // group's: enumerate its 5⁴ outcomes.
    let expected = enumerated_expectation(K, standardised);
    assert_mean_within_4_se(Estimator::Grpo, &expected);
    assert_mean_off_by_10_se(Estimator::Grpo, &exact_gradient());
}

#[test]
fn reinforce_pp_mean_matches_its_enumerated_expectation_and_is_biased() {
    // Batch normalisation couples all N actions: enumerate the 5⁸ outcomes of a batch.
    let expected = enumerated_expectation(N, standardised);
    assert_mean_within_4_se(Estimator::ReinforcePp, &expected);
    assert_mean_off_by_10_se(Estimator::ReinforcePp, &exact_gradient());
}

#[test]
fn reinforce_grad_var_matches_closed_form_within_10_percent() {
    let measured = simulation()
        .stats(Estimator::Reinforce)
        .grad_var()
        .expect("M >= 2");
    let closed = reinforce_grad_var();
    assert!(
        (measured / closed - 1.0).abs() < 0.10,
        "grad_var {measured} vs closed form {closed}"
    );
}

#[test]
fn rloo_grad_var_is_lower_than_reinforce_with_large_positive_rewards() {
    let sim = simulation();
    let reinforce = sim.stats(Estimator::Reinforce).grad_var().expect("M >= 2");
    let rloo = sim.stats(Estimator::Rloo).grad_var().expect("M >= 2");
    // Rewards share a mean ≈ 13.5 and spread ≈ 2, so REINFORCE's variance is dominated by
    // the common mean that RLOO's baseline removes: expect far more than a factor 2.
    assert!(
        rloo < reinforce / 2.0,
        "rloo grad_var {rloo} vs reinforce {reinforce}"
    );
}
