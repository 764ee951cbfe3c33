//! Sampling: determinism per seed, batch-independence of padded rows, KV-cache logits equal to
//! full-forward logits, and the sampled distribution equal to the model's.

use burn::prelude::*;
use burn::tensor::activation::softmax;
use pglab_model::norm::Norm;
use pglab_model::{
    SAMPLE_SHARD_ROWS, SamplingConfig, Transformer, greedy, sample, sample_shard_rows,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::fixture::{self, assert_close, floats, ids_tensor};

fn config(max_new_tokens: usize) -> SamplingConfig {
    SamplingConfig {
        max_new_tokens,
        ..SamplingConfig::default()
    }
}

#[test]
fn same_seed_same_completion_on_the_same_backend() {
    let model = fixture::load("tiny-gpt-neo").model;
    let prompts = vec![vec![5, 6, 7], vec![8, 9]];
    let run = |seed| {
        sample(
            &model,
            &prompts,
            &config(20),
            &mut StdRng::seed_from_u64(seed),
        )
        .unwrap()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8), "different seeds should give different text");
}

#[test]
fn padded_row_samples_what_it_samples_alone() {
    for name in fixture::MODELS {
        let model = fixture::load(name).model;
        let short = vec![11, 12];
        let long = vec![20, 21, 22, 23, 24, 25, 26];
        let sampling = config(25);
        let batch = sample(
            &model,
            &[short.clone(), long],
            &sampling,
            &mut StdRng::seed_from_u64(3),
        )
        .unwrap();
        let alone = sample(&model, &[short], &sampling, &mut StdRng::seed_from_u64(3)).unwrap();
        assert_eq!(batch.sequences[0], alone.sequences[0], "{name}");
        assert_eq!(batch.completion(0).len(), 25);
    }
}

/// Rows sample in parallel shards; a row's completion must not depend on how the batch was cut.
/// On a pool of 4 threads the long batch (35 rows) cuts into shards of 16, 16 and 3 and the
/// short one (20 rows) into 16 and 4: row 17 sits in a 16-row shard padded to 9 positions in
/// the long batch and in a 4-row shard padded to 4 in the short one. On one thread the long
/// batch is one shard of 35.
#[test]
fn a_row_samples_the_same_whatever_shard_it_falls_in() {
    assert_eq!(
        SAMPLE_SHARD_ROWS, 16,
        "the rows below are placed for shards of 16"
    );
    assert_eq!(sample_shard_rows(35, 4), 16);
    assert_eq!(sample_shard_rows(20, 4), 16);
    assert_eq!(sample_shard_rows(35, 1), 35);
    assert_eq!(sample_shard_rows(128, 2), 64);
    let model = fixture::load("tiny-gpt2").model;
    let mut prompts: Vec<Vec<u32>> = (0..2 * SAMPLE_SHARD_ROWS + 3)
        .map(|i| {
            let len = if i == 30 { 9 } else { 2 + i % 3 };
            (0..len).map(|j| (5 + 3 * i + j) as u32 % 300).collect()
        })
        .collect();
    // The first row of the second shard repeats row 0's prompt.
    prompts[16] = prompts[0].clone();
    let sampling = config(15);
    let run = |prompts: &[Vec<u32>], threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| sample(&model, prompts, &sampling, &mut StdRng::seed_from_u64(11)).unwrap())
    };
    let long = run(&prompts, 4);
    let short = run(&prompts[..20], 4);
    assert_eq!(long.sequences[..20], short.sequences[..]);
    assert_eq!(long, run(&prompts, 4), "same seed, same rollout");
    assert_eq!(long, run(&prompts, 1), "one shard of 35 rows");
    assert!(long.sequences.iter().all(|s| s.len() <= 9 + 15));
    assert_ne!(
        long.completion(16),
        long.completion(0),
        "a shard's rows continue the batch's RNG streams, not restart them"
    );
}

/// Feeding tokens one at a time through the cache gives, at every position, the logits of one
/// full forward pass — for GPT-Neo past its local window, and for a left-padded row — whether
/// the cache concatenates (capacity 0), writes into buffers that fill up half-way through the
/// 23 positions and then concatenates (10), or writes in place throughout (32).
#[test]
fn kv_cache_logits_equal_full_forward_logits_at_every_position() {
    for (name, capacity) in fixture::MODELS
        .into_iter()
        .flat_map(|name| [0, 10, 32].map(|capacity| (name, capacity)))
    {
        let model = fixture::load(name).model;
        let device = fixture::device();
        let seq: Vec<u32> = (0..20).map(|i| (i * 37 + 5) % 400).collect();
        let full = floats(model.logits(ids_tensor(&seq, &device)).unwrap());
        let v = model.config().vocab_size;

        // Row 0: 3 padding positions, then `seq`; row 1: `seq` alone. Prefill 4 real tokens.
        let pad = 3;
        let mut cache = model.new_cache_with_capacity(vec![pad, 0], capacity);
        let mut rows: [Vec<u32>; 2] = [vec![0; pad], vec![]];
        let step = |ids: &[Vec<u32>; 2]| {
            let data: Vec<i64> = ids.iter().flatten().map(|&i| i as i64).collect();
            Tensor::<2, Int>::from_data(TensorData::new(data, [2, ids[0].len()]), &device)
        };
        rows[0].extend(&seq[..4]);
        rows[1].extend(&seq[..4 + pad]);
        // Row 1 is unpadded, so give it `pad` more real tokens to keep the widths equal.
        let prefill = model.forward(step(&rows), &mut cache).unwrap(); // [2, 4+pad, V]
        let mut cached: Vec<Vec<f32>> = vec![vec![], vec![]];
        let prefill = floats(prefill);
        let width = 4 + pad;
        cached[0].extend(&prefill[pad * v..width * v]);
        cached[1].extend(&prefill[width * v..(width + 4) * v]); // first 4 positions of row 1
        for t in 4..seq.len() {
            let next = [vec![seq[t]], vec![seq[(t + pad).min(seq.len() - 1)]]];
            let logits = floats(model.forward(step(&next), &mut cache).unwrap());
            cached[0].extend(&logits[..v]);
        }
        assert_close(
            &cached[0],
            &full,
            1e-4,
            &format!("{name} padded row, cached, capacity {capacity}"),
        );
        assert_close(
            &cached[1],
            &full[..4 * v],
            1e-4,
            &format!("{name} unpadded row, prefill, capacity {capacity}"),
        );
    }
}

#[test]
fn top_k_1_is_greedy_decoding() {
    let model = fixture::load("tiny-gpt2").model;
    let device = fixture::device();
    let sampling = SamplingConfig {
        top_k: Some(1),
        ..config(8)
    };
    let rollout = sample(
        &model,
        &[vec![3, 4, 5]],
        &sampling,
        &mut StdRng::seed_from_u64(1),
    )
    .unwrap();
    let seq = &rollout.sequences[0];
    let logits = model.logits(ids_tensor(seq, &device)).unwrap().argmax(2); // [1, T, 1]
    let argmax: Vec<i64> = logits.into_data().try_into_vec_as().unwrap();
    for t in 3..seq.len() {
        assert_eq!(
            seq[t] as i64,
            argmax[t - 1],
            "token {t} is the argmax of its prefix"
        );
    }
}

/// `greedy` (ReMax's baseline completion): every new token is the argmax of the full forward
/// pass over its prefix, for every architecture, in a batch of left-padded prompts of different
/// lengths; temperature, top-k and top-p change nothing.
#[test]
fn greedy_takes_the_argmax_of_each_prefix_whatever_the_filters() {
    let device = fixture::device();
    let prompts = vec![vec![3, 4, 5], vec![6, 7], vec![8]];
    for name in fixture::MODELS {
        let model = fixture::load(name).model;
        let rollout = greedy(&model, &prompts, &config(8)).unwrap();
        for (row, prompt) in prompts.iter().enumerate() {
            let seq = &rollout.sequences[row];
            assert_eq!(seq.len(), prompt.len() + 8, "{name} row {row}");
            let argmax = model.logits(ids_tensor(seq, &device)).unwrap().argmax(2);
            let argmax: Vec<i64> = argmax.into_data().try_into_vec_as().unwrap();
            for t in prompt.len()..seq.len() {
                assert_eq!(seq[t] as i64, argmax[t - 1], "{name} row {row} token {t}");
            }
        }
        let filtered = SamplingConfig {
            temperature: 3.0,
            top_k: Some(5),
            top_p: Some(0.5),
            ..config(8)
        };
        assert_eq!(
            greedy(&model, &prompts, &filtered).unwrap(),
            rollout,
            "{name}"
        );
    }
}

/// The next-token frequencies over many rows match the softmax of the logits (chi-square-like
/// bound), and top-k / top-p only ever emit allowed tokens.
fn first_token_counts(model: &Transformer, sampling: &SamplingConfig, rows: usize) -> Vec<usize> {
    let prompts = vec![vec![7u32, 8, 9]; rows];
    let rollout = sample(model, &prompts, sampling, &mut StdRng::seed_from_u64(11)).unwrap();
    let mut counts = vec![0; model.config().vocab_size];
    for r in 0..rows {
        counts[rollout.completion(r)[0] as usize] += 1;
    }
    counts
}

fn next_token_probs(model: &Transformer, temperature: f64) -> Vec<f32> {
    let logits = model
        .logits(ids_tensor(&[7, 8, 9], &fixture::device()))
        .unwrap();
    let [_, t, v] = logits.dims();
    floats(softmax(
        logits.slice([0..1, t - 1..t, 0..v]) / temperature,
        2,
    ))
}

#[test]
fn sampled_frequencies_match_model_probabilities() {
    let model = fixture::load("tiny-gpt-neo").model;
    let rows = 4000;
    for temperature in [1.0, 0.5] {
        let sampling = SamplingConfig {
            temperature,
            ..config(1)
        };
        let counts = first_token_counts(&model, &sampling, rows);
        let probs = next_token_probs(&model, temperature);
        for (token, (&count, &p)) in counts.iter().zip(&probs).enumerate() {
            let expected = p as f64 * rows as f64;
            let sd = (expected * (1.0 - p as f64)).sqrt().max(1.0);
            assert!(
                (count as f64 - expected).abs() < 5.0 * sd,
                "T={temperature} token {token}: {count} draws, expected {expected:.1}"
            );
        }
    }
}

#[test]
fn top_k_and_top_p_only_emit_allowed_tokens() {
    let model = fixture::load("tiny-gpt-neo").model;
    let probs = next_token_probs(&model, 1.0);
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));

    let top_k = SamplingConfig {
        top_k: Some(5),
        ..config(1)
    };
    let counts = first_token_counts(&model, &top_k, 500);
    let emitted: Vec<usize> = (0..counts.len()).filter(|&t| counts[t] > 0).collect();
    assert!(
        emitted.iter().all(|t| order[..5].contains(t)),
        "{emitted:?} vs {:?}",
        &order[..5]
    );
    assert!(emitted.len() >= 3, "the top 5 share the draws");

    // The nucleus of p: the fewest most-likely tokens whose mass reaches p.
    let p = 0.6;
    let mut mass = 0.0;
    let nucleus: Vec<usize> = order
        .iter()
        .copied()
        .take_while(|&t| {
            let before = mass;
            mass += probs[t];
            before < p
        })
        .collect();
    let top_p = SamplingConfig {
        top_p: Some(p as f64),
        ..config(1)
    };
    let counts = first_token_counts(&model, &top_p, 500);
    let emitted: Vec<usize> = (0..counts.len()).filter(|&t| counts[t] > 0).collect();
    assert!(
        emitted.iter().all(|t| nucleus.contains(t)),
        "{emitted:?} vs nucleus {nucleus:?}"
    );
}

#[test]
fn stop_at_eos_ends_a_row_at_end_of_text() {
    let device = fixture::device();
    let mut model = fixture::tiny_gpt2(&device, 5);
    // Make end-of-text (id 0) overwhelmingly likely after any prefix: the final LayerNorm
    // outputs a constant vector along channel 0, and wte[0] points far along it.
    let c = model.config().n_embd;
    let v = model.config().vocab_size;
    let mut direction = vec![0.0f32; c];
    direction[0] = 1.0;
    let direction = Tensor::<1>::from_data(TensorData::new(direction, [c]), &device);
    let Norm::Layer(ln_f) = &mut model.ln_f else {
        panic!("GPT-2 ends with a LayerNorm")
    };
    ln_f.gamma = ln_f.gamma.clone().map(|g| g.zeros_like());
    ln_f.beta = ln_f.beta.take().map(|b| b.map(|_| direction.clone()));
    model.wte.weight = model.wte.weight.map(|w| {
        let row = Tensor::<2>::from_data(TensorData::new(vec![100.0f32; 1], [1, 1]), &device);
        w.slice_assign([0..1, 0..1], row)
    });
    assert!(v > 1);
    let prompts = vec![vec![5, 6]];
    let stop = SamplingConfig {
        stop_at_eos: true,
        ..config(10)
    };
    let rollout = sample(&model, &prompts, &stop, &mut StdRng::seed_from_u64(0)).unwrap();
    assert_eq!(rollout.completion(0), &[0]);
    let go_on = sample(&model, &prompts, &config(10), &mut StdRng::seed_from_u64(0)).unwrap();
    assert_eq!(go_on.completion(0), &[0; 10]);
    // Greedy decoding stops there too.
    assert_eq!(greedy(&model, &prompts, &stop).unwrap().completion(0), &[0]);
    assert_eq!(
        greedy(&model, &prompts, &config(10)).unwrap().completion(0),
        &[0; 10]
    );
}

#[test]
fn bad_sampling_settings_are_errors_naming_the_field() {
    let model = fixture::load("tiny-gpt2").model;
    let mut rng = StdRng::seed_from_u64(0);
    let cases = [
        (
            SamplingConfig {
                temperature: 0.0,
                ..config(5)
            },
            "temperature",
        ),
        (
            SamplingConfig {
                top_p: Some(1.5),
                ..config(5)
            },
            "top_p",
        ),
        (
            SamplingConfig {
                top_k: Some(0),
                ..config(5)
            },
            "top_k",
        ),
        (config(0), "max_new_tokens"),
    ];
    for (sampling, field) in cases {
        let err = sample(&model, &[vec![1]], &sampling, &mut rng)
            .unwrap_err()
            .to_string();
        assert!(err.contains(field), "{err}");
    }
    let err = sample(&model, &[vec![1; 60]], &config(10), &mut rng)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("70 tokens") && err.contains("64 positions"),
        "{err}"
    );
    let err = sample(&model, &[vec![400]], &config(1), &mut rng)
        .unwrap_err()
        .to_string();
    assert!(err.contains("400") && err.contains("vocabulary"), "{err}");
}
