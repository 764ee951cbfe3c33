//! The clipped objectives and dynamic sampling through the RL step itself (`rl_step`), on the
//! tiny GPT-2 fixture: one update of `ppo_clip`, `cispo` (and `gspo` under the mean reduction)
//! is the policy gradient's step bit for bit; a batch's later updates divide by the policy
//! that sampled it; a resampled step counts every completion it sampled.

use std::path::Path;
use std::time::Instant;

use burn::prelude::*;
use pglab_estimator::Advantages;
use pglab_model::{Rollout, Transformer, sequence_logprobs};
use pglab_runner::experiment;
use pglab_runner::rl::environment::Environment;
use pglab_runner::rl::step::{Step, optimizer, rl_step};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The smoke experiment's first run (RLOO, 2 prompts × k = 3) with `set` applied; with a
/// `[reward]` table of its own when `reward` is given.
fn environment(set: &[&str], reward: Option<&str>) -> (Environment, Transformer) {
    let root = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")).join("../..");
    std::env::set_current_dir(&root).unwrap();
    let mut set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
    set.push("probe.every=0".into());
    let smoke = std::fs::read_to_string("experiments/smoke.toml").unwrap();
    let file = match reward {
        Some(reward) => {
            let own = smoke.replace(
                "[reward]\nkind = \"starts_with\"\nletters = \"abc\"",
                reward,
            );
            assert_ne!(own, smoke, "the smoke file's [reward] table");
            let dir = std::env::temp_dir().join(format!("pglab-objectives-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join("smoke.toml");
            std::fs::write(&file, own).unwrap();
            file
        }
        None => Path::new("experiments/smoke.toml").to_path_buf(),
    };
    let (_, runs) = experiment::load(&file, &experiment::Overrides::set(&set)).unwrap();
    Environment::load(&runs[0].config, &Device::flex(), Path::new("unused")).unwrap()
}

/// Step 0 of a run with `set`, sampled with seed 9.
fn first_step(set: &[&str]) -> (Environment, Transformer, Step) {
    first_step_rewarded(set, None)
}

fn first_step_rewarded(set: &[&str], reward: Option<&str>) -> (Environment, Transformer, Step) {
    let (environment, policy) = environment(set, reward);
    let step = step_from(&environment, policy.clone(), 0, 9);
    (environment, policy, step)
}

/// Step `index` of `environment`'s run from `policy`, sampled with seed `seed`.
fn step_from(environment: &Environment, policy: Transformer, index: usize, seed: u64) -> Step {
    let t = &environment.config.train;
    let mut advantages = Advantages::new(t.estimator, t.k, t.advantage_options()).unwrap();
    rl_step(
        environment,
        policy,
        &mut advantages,
        &mut optimizer(t),
        index,
        index * t.sequences_per_step(),
        &mut StdRng::seed_from_u64(seed),
        Instant::now(),
    )
    .unwrap()
}

/// Each sequence's completion tokens' log-probs under `policy`, flattened.
fn token_logprobs(policy: &Transformer, rollout: &Rollout, device: &Device) -> Vec<f32> {
    let tokens = rollout.token_batch(false, device).unwrap();
    let logprobs = sequence_logprobs(policy, &tokens, false).unwrap();
    let [_, width] = logprobs.token_logprobs.dims();
    let values: Vec<f32> = logprobs.token_logprobs.into_data().iter::<f32>().collect();
    values
        .chunks(width)
        .zip(&tokens.n_scored)
        .flat_map(|(row, &n)| row[width - n..].to_vec())
        .collect()
}

/// One update of a clipped objective (`clipped`) against the policy gradient's step from the
/// same policy and seed (`reference`): the same samples and rewards, the same loss (to the last
/// bits) and gradient, every ratio exactly 1 and nothing clipped, and bitwise the same weights
/// after, seen through every token's log-prob.
fn assert_same_update(clipped: &Step, reference: &Step, device: &Device, what: &str) {
    assert_eq!(
        clipped.rollout, reference.rollout,
        "{what}: the same samples"
    );
    assert_eq!(
        clipped.rewards, reference.rewards,
        "{what}: the same rewards"
    );
    let (a, b) = (&clipped.record, &reference.record);
    assert!(
        (a.loss - b.loss).abs() <= 1e-6 * b.loss.abs().max(1.0),
        "{what}: loss {} vs {}",
        a.loss,
        b.loss
    );
    assert_eq!(a.grad_norm, b.grad_norm, "{what}: the same gradient");
    assert!(b.grad_norm > 0.0);
    // Every ratio exactly 1; the policy gradient's record has no ratio at all.
    assert_eq!((a.ratio_min, a.ratio_max), (Some(1.0), Some(1.0)), "{what}");
    assert_eq!((a.clip_low_frac, a.clip_high_frac), (Some(0.0), Some(0.0)));
    assert_eq!(a.kl_old, Some(0.0));
    assert_eq!(b.ratio_mean, None);
    assert_eq!(
        token_logprobs(&clipped.policy, &reference.rollout, device),
        token_logprobs(&reference.policy, &reference.rollout, device),
        "{what}: the same weights after the step"
    );
}

#[test]
fn one_update_of_each_clipped_objective_is_the_policy_gradients_step() {
    for (objective, reduction, kl) in [
        ("ppo_clip", "sum", "0"),
        ("cispo", "sum", "0"),
        ("ppo_clip", "batch_mean", "0"),
        ("cispo", "max_tokens", "0"),
        ("gspo", "mean", "0"),
        // With the KL penalty on, both paths take the reference pass (its estimates are 0 at
        // step 0, where the policy is the reference: the next test steps away from it first).
        ("ppo_clip", "sum", "0.5"),
    ] {
        let reduction = format!("train.token_reduction=\"{reduction}\"");
        let kl = format!("train.kl_coef={kl}");
        let (environment, before, reference) = first_step(&[&reduction, &kl]);
        let objective_key = format!("train.objective=\"{objective}\"");
        let (_, _, clipped) = first_step(&[&reduction, &kl, &objective_key]);
        let what = format!("{objective} under {reduction}, {kl}");
        let device = &environment.device;
        assert_same_update(&clipped, &reference, device, &what);
        // And the step moved the weights.
        assert_ne!(
            token_logprobs(&reference.policy, &reference.rollout, device),
            token_logprobs(&before, &reference.rollout, device)
        );
    }
}

#[test]
fn away_from_the_reference_one_clipped_update_with_a_kl_penalty_is_the_policy_gradients_step() {
    // One policy-gradient step first (lr 0.2, no penalty) moves the policy off the reference;
    // from there, step 1 of each path with the KL penalty: its estimates are no longer 0, so
    // the penalty shapes the rewards both paths train on.
    let (plain, start) = environment(&["train.lr=0.2"], None);
    let moved = step_from(&plain, start, 0, 9).policy;
    for objective in ["ppo_clip", "cispo"] {
        let kl = "train.kl_coef=0.5";
        let (reference_env, _) = environment(&[kl], None);
        let objective_key = format!("train.objective=\"{objective}\"");
        let (clipped_env, _) = environment(&[kl, &objective_key], None);
        let reference = step_from(&reference_env, moved.clone(), 1, 11);
        let clipped = step_from(&clipped_env, moved.clone(), 1, 11);
        let estimate = reference
            .record
            .kl
            .expect("the penalty's estimate is recorded");
        assert!(
            estimate > 1e-4,
            "{objective}: the policy left the reference: kl {estimate}"
        );
        assert_eq!(
            clipped.record.kl, reference.record.kl,
            "{objective}: the same KL"
        );
        assert_ne!(
            reference.rewards, reference.scores,
            "the penalty shaped the rewards"
        );
        assert_same_update(&clipped, &reference, &reference_env.device, objective);
    }
}

#[test]
fn a_batchs_second_epoch_divides_by_the_policy_that_sampled_it() {
    // Two epochs of CISPO: the second update's ratios are π_θ1/π_old, θ1 the weights after the
    // first. By hand: θ1 is one CISPO update (which at ratio 1 is the policy gradient's), and
    // its ratios on the batch are recomputed here. The step's mean ratio averages the first
    // update's (1 up to the last bits: π_old comes from a pass without autodiff) with those.
    let lr = "train.lr=0.2";
    let (environment, before, one) = first_step(&[lr, "train.objective=\"cispo\""]);
    let (_, _, two) = first_step(&[lr, "train.objective=\"cispo\"", "train.epochs=2"]);
    assert_eq!(one.rollout, two.rollout);
    let device = &environment.device;
    let old = token_logprobs(&before, &one.rollout, device);
    let after_one = token_logprobs(&one.policy, &one.rollout, device);
    let ratios: Vec<f64> = after_one
        .iter()
        .zip(&old)
        .map(|(&new, &old)| (f64::from(new) - f64::from(old)).exp())
        .collect();
    let n = ratios.len() as f64;
    let want_mean = (n + ratios.iter().sum::<f64>()) / (2.0 * n);
    let record = &two.record;
    let got_mean = record.ratio_mean.unwrap();
    let close = |got: f64, want: f64| (got - want).abs() <= 1e-4 * want.abs().max(1.0);
    assert!(close(got_mean, want_mean), "{got_mean} vs {want_mean}");
    let (lowest, highest) = ratios
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &r| {
            (lo.min(r), hi.max(r))
        });
    assert!(
        highest - lowest > 1e-3,
        "the first update moved the ratios: {lowest}..{highest}"
    );
    let (got_min, got_max) = (record.ratio_min.unwrap(), record.ratio_max.unwrap());
    assert!(close(got_min, lowest.min(1.0)), "{got_min} vs {lowest}");
    assert!(close(got_max, highest.max(1.0)), "{got_max} vs {highest}");
    assert!(record.kl_old.unwrap() > 0.0);
    // The second update moved the weights further than the first alone.
    assert_ne!(token_logprobs(&two.policy, &one.rollout, device), after_one);
}

#[test]
fn minibatches_split_the_step_into_updates_over_whole_groups() {
    // 2 prompts, 2 minibatches: two updates of one group each. The second's ratios are those of
    // its group after the first update, so they are not all 1.
    let (_, _, step) = first_step(&[
        "train.lr=0.5",
        "train.objective=\"ppo_clip\"",
        "train.minibatches=2",
    ]);
    let record = &step.record;
    assert!(record.ratio_max.unwrap() > record.ratio_min.unwrap());
    assert!(record.loss.is_finite() && record.grad_norm > 0.0);
}

#[test]
fn a_step_that_resamples_counts_every_completion_it_sampled() {
    // A reward no completion earns: every group's rewards are equal (all 0), so each of the 2
    // extra rounds resamples both groups, and the batch is refilled with the first dropped.
    let (_, _, step) = first_step_rewarded(
        &[
            "train.resample_constant_groups=2",
            "train.estimator=\"rloo\"",
        ],
        Some("[reward]\nkind = \"word_count\"\nwords = [\"zzzzqqqq\"]"),
    );
    let record = &step.record;
    assert_eq!(
        record.generations,
        3 * 6,
        "three rounds of 2 prompts × k = 3"
    );
    assert_eq!(record.resample_rounds, 2);
    assert_eq!(
        record.groups_dropped, 4,
        "6 constant groups drawn, 2 kept to fill the batch"
    );
    assert_eq!(step.rollout.len(), 6);
    assert_eq!(record.frac_zero_std_groups, 1.0);

    // On the smoke reward, a step either ended with no constant group or ran out of rounds.
    let (_, _, step) = first_step(&[
        "train.resample_constant_groups=3",
        "train.estimator=\"rloo\"",
    ]);
    let record = &step.record;
    assert!(record.frac_zero_std_groups == 0.0 || record.resample_rounds == 3);
    assert!(record.generations >= 6 && record.generations % 3 == 0);
    assert_eq!(
        record.generations - 6 > 0,
        record.resample_rounds > 0,
        "every extra round sampled"
    );
}
