//! The probe's figures recomputed by hand: the same three batches re-sampled from the same
//! seed, each estimator's gradient taken directly, and grad_var, ‖ḡ‖², snr and cos_to_ref
//! computed with two-pass formulas in f64.

use std::path::Path;

use burn::optim::GradientsParams;
use burn::prelude::*;
use pglab_estimator::{Advantages, Estimator, flatten_gradients, policy_loss};
use pglab_model::{Checkpoint, sample, sequence_logprobs};
use pglab_runner::experiment;
use pglab_runner::probe::Probe;
use pglab_runner::run::Policy;
use rand::SeedableRng;
use rand::rngs::StdRng;

#[test]
fn probe_figures_match_a_two_pass_recomputation_from_the_same_samples() {
    let root = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")).join("../..");
    std::env::set_current_dir(&root).unwrap();
    let set = [
        "probe.batches=3",
        "probe.estimators=[\"reinforce\", \"rloo\"]",
        "seed=0",
    ]
    .map(String::from);
    let (_, runs) = experiment::load(Path::new("experiments/smoke.toml"), &set).unwrap();
    let config = runs[0].config.clone();
    let device = Device::flex().autodiff();
    let checkpoint = Checkpoint::load(Path::new(&config.model), &device).unwrap();
    let prompt_ids = config
        .train
        .prompts
        .iter()
        .map(|p| checkpoint.tokenizer.encode(p).unwrap())
        .collect();
    let policy = Policy {
        reward: config.reward.build().unwrap(),
        tokenizer: checkpoint.tokenizer,
        prompt_ids,
        device: device.clone(),
        config: config.clone(),
    };
    let model = checkpoint.model;
    let t = &config.train;
    let estimators: Vec<Advantages> = [Estimator::Reinforce, Estimator::Rloo]
        .iter()
        .map(|&e| Advantages::new(e, t.k, t.advantage_options()).unwrap())
        .collect();
    let probe = Probe { estimators };
    let records = probe
        .run(&policy, &model, 0, 0, &mut StdRng::seed_from_u64(5))
        .unwrap();

    // By hand: the same batches (same RNG), each estimator's gradient from its own loss.
    let mut rng = StdRng::seed_from_u64(5);
    let mut gradients: Vec<Vec<Vec<f64>>> = vec![vec![]; 2];
    for _ in 0..3 {
        let rollout = sample(
            &model.valid(),
            &policy.step_prompts(0),
            &config.sampling,
            &mut rng,
        )
        .unwrap();
        let rewards = policy.score(&rollout).unwrap();
        let batch = rollout.token_batch(false, &device).unwrap();
        for (e, estimator) in probe.estimators.iter().enumerate() {
            let advantages = estimator.advantages(&rewards).unwrap();
            let logprobs = sequence_logprobs(&model, &batch, false).unwrap();
            let loss = policy_loss(
                logprobs.sum,
                &logprobs.n_scored,
                &advantages,
                t.k,
                &t.loss_options(),
            )
            .unwrap();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let g = flatten_gradients(&model, &grads).unwrap();
            gradients[e].push(g.iter().map(|&x| x as f64).collect());
        }
    }
    let mean = |gs: &[Vec<f64>]| -> Vec<f64> {
        (0..gs[0].len())
            .map(|i| gs.iter().map(|g| g[i]).sum::<f64>() / gs.len() as f64)
            .collect()
    };
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    // Both estimators are unbiased: the reference is the mean of their mean gradients.
    let means: Vec<Vec<f64>> = gradients.iter().map(|g| mean(g)).collect();
    let reference: Vec<f64> = (0..means[0].len())
        .map(|i| (means[0][i] + means[1][i]) / 2.0)
        .collect();
    for (e, record) in records.iter().enumerate() {
        let m = &means[e];
        let var = gradients[e]
            .iter()
            .map(|g| g.iter().zip(m).map(|(x, y)| (x - y).powi(2)).sum::<f64>())
            .sum::<f64>()
            / 2.0;
        let sqnorm = dot(m, m);
        let snr = (sqnorm - var / 3.0).max(0.0) / var;
        let cos = dot(m, &reference) / (sqnorm.sqrt() * dot(&reference, &reference).sqrt());
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
        assert!(
            close(record.snr, snr),
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
    assert_eq!(records[0].estimator, "reinforce");
    assert_eq!(records[1].estimator, "rloo");
}
