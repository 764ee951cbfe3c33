//! Parity with `transformers`: the same tokens and the same per-token log-probs (1e-4 nats) for
//! the committed fixtures (GPT-2, GPT-Neo, Llama, Qwen2 written by transformers 4; Llama, a
//! Llama 3-scaled Llama and Qwen3 written by transformers 5), alone and as rows of one
//! left-padded batch, and the same loss after one SGD step.

use burn::optim::{GradientsParams, SgdConfig};
use pglab_model::{Checkpoint, TokenBatch, Tokenizer, Transformer, sequence_logprobs};

use crate::fixture::{self, MODELS, assert_close, floats};

#[test]
fn tokenizer_matches_transformers_ids() {
    for name in MODELS {
        let checkpoint = fixture::load(name);
        for case in fixture::reference(name).cases {
            let ids = checkpoint.tokenizer.encode(&case.text).unwrap();
            assert_eq!(ids, case.input_ids, "{name}: {:?}", case.text);
            assert_eq!(checkpoint.tokenizer.decode(&ids).unwrap(), case.text);
        }
    }
}

/// A prompt gets what `transformers`' `tokenizer(text)` adds: a BOS token first where the
/// tokenizer adds one (the Llama 3-scaled fixture's, as Llama 3's does), nothing elsewhere; and
/// the log-probs after that BOS are transformers'.
#[test]
fn prompts_get_the_special_tokens_transformers_adds() {
    let mut with_bos = 0;
    for name in MODELS {
        let checkpoint = fixture::load(name);
        let reference = fixture::reference(name);
        for case in &reference.cases {
            let prompt = checkpoint.tokenizer.encode_prompt(&case.text).unwrap();
            match reference.bos_cases.iter().find(|b| b.text == case.text) {
                Some(bos) => {
                    assert_eq!(prompt, bos.input_ids, "{name}: {:?}", case.text);
                    assert_eq!(
                        prompt[1..],
                        case.input_ids[..],
                        "{name}: BOS, then the text"
                    );
                    assert_eq!(
                        checkpoint.tokenizer.decode_prompt(&prompt).unwrap(),
                        case.text
                    );
                    let batch =
                        TokenBatch::new(std::slice::from_ref(&prompt), &[1], &fixture::device())
                            .unwrap();
                    let lp = sequence_logprobs(&checkpoint.model, &batch, false).unwrap();
                    let expected: Vec<f32> = bos.token_logprobs.iter().map(|&x| x as f32).collect();
                    assert_close(&floats(lp.token_logprobs), &expected, 1e-4, name);
                    with_bos += 1;
                }
                None => assert_eq!(prompt, case.input_ids, "{name}: {:?}", case.text),
            }
        }
    }
    assert_eq!(with_bos, 4, "the BOS fixture's four cases");
}

#[test]
fn gpt2_vocab_and_merges_files_tokenize_like_tokenizer_json() {
    let tmp = tempfile::tempdir().unwrap();
    for file in ["vocab.json", "merges.txt"] {
        std::fs::copy(fixture::dir("tiny-gpt2").join(file), tmp.path().join(file)).unwrap();
    }
    let tokenizer = Tokenizer::load(tmp.path()).unwrap();
    for case in fixture::reference("tiny-gpt2").cases {
        assert_eq!(
            tokenizer.encode(&case.text).unwrap(),
            case.input_ids,
            "{:?}",
            case.text
        );
    }
}

/// Scoring only a suffix (a completion after its prompt) gives transformers' log-probs on the
/// scored tokens and exact zeros before them; rows scored from different points share a batch.
#[test]
fn scored_suffix_matches_transformers_and_is_zero_before() {
    for name in MODELS {
        let checkpoint = fixture::load(name);
        let cases = fixture::reference(name).cases;
        let case = cases.iter().max_by_key(|c| c.input_ids.len()).unwrap();
        let n = case.input_ids.len();
        assert!(n >= 6, "{name}: the longest case has {n} tokens");
        let sequences = vec![case.input_ids.clone(); 2];
        let score_from = [n - 2, 3];
        let batch = TokenBatch::new(&sequences, &score_from, &fixture::device()).unwrap();
        let lp = sequence_logprobs(&checkpoint.model, &batch, true).unwrap();
        assert_eq!(lp.n_scored, vec![2, n - 3]);
        assert_eq!(lp.token_logprobs.dims(), [2, n - 1]);
        let rows = floats(lp.token_logprobs);
        let entropy = floats(lp.entropy.unwrap());
        for (row, &from) in score_from.iter().enumerate() {
            let got = &rows[row * (n - 1)..(row + 1) * (n - 1)];
            let expected: Vec<f32> = (1..n)
                .map(|j| {
                    if j >= from {
                        case.token_logprobs[j - 1] as f32
                    } else {
                        0.0
                    }
                })
                .collect();
            assert_close(got, &expected, 1e-4, &format!("{name} row {row}"));
            let h = &entropy[row * (n - 1)..(row + 1) * (n - 1)];
            for (j, &h) in (1..n).zip(h) {
                assert_eq!(
                    h == 0.0,
                    j < from,
                    "{name} row {row}: entropy at target {j} is {h}"
                );
            }
        }
    }
}

#[test]
fn token_logprobs_match_transformers() {
    for name in MODELS {
        let checkpoint = fixture::load(name);
        for case in fixture::reference(name).cases {
            let batch = TokenBatch::new(
                std::slice::from_ref(&case.input_ids),
                &[1],
                &fixture::device(),
            )
            .unwrap();
            let lp = sequence_logprobs(&checkpoint.model, &batch, false).unwrap();
            let expected: Vec<f32> = case.token_logprobs.iter().map(|&x| x as f32).collect();
            let what = format!("{name} {:?}", case.text);
            assert_close(&floats(lp.token_logprobs), &expected, 1e-4, &what);
            let sum = floats(lp.sum)[0] as f64;
            assert!(
                (sum - case.sum_logprob).abs() < 1e-3,
                "{what}: sum {sum} vs {}",
                case.sum_logprob
            );
        }
    }
}

#[test]
fn last_position_logits_match_transformers() {
    for name in MODELS {
        let checkpoint = fixture::load(name);
        for case in fixture::reference(name).cases {
            let ids = fixture::ids_tensor(&case.input_ids, &fixture::device());
            let logits = checkpoint.model.logits(ids).unwrap(); // [1, T, V]
            let [_, t, v] = logits.dims();
            let last = floats(logits.slice([0..1, t - 1..t, 0..v]));
            let expected: Vec<f32> = case.last_logits_head.iter().map(|&x| x as f32).collect();
            assert_close(&last[..expected.len()], &expected, 1e-4, name);
        }
    }
}

/// Every case as one row of a single batch: rows are left-padded to the longest, and each must
/// still match its reference (padding is invisible to the real tokens).
#[test]
fn left_padded_batch_rows_match_transformers() {
    for name in MODELS {
        let checkpoint = fixture::load(name);
        let cases = fixture::reference(name).cases;
        let sequences: Vec<Vec<u32>> = cases.iter().map(|c| c.input_ids.clone()).collect();
        let lengths: Vec<usize> = sequences.iter().map(Vec::len).collect();
        assert!(
            lengths.iter().min() < lengths.iter().max(),
            "cases differ in length"
        );
        let batch =
            TokenBatch::new(&sequences, &vec![1; sequences.len()], &fixture::device()).unwrap();
        let lp = sequence_logprobs(&checkpoint.model, &batch, false).unwrap();
        let [_, width] = lp.token_logprobs.dims();
        let rows = floats(lp.token_logprobs);
        for (b, case) in cases.iter().enumerate() {
            let row = &rows[b * width..(b + 1) * width];
            let pad = width - case.token_logprobs.len();
            assert!(
                row[..pad].iter().all(|&x| x == 0.0),
                "{name}: padding is not scored"
            );
            let expected: Vec<f32> = case.token_logprobs.iter().map(|&x| x as f32).collect();
            assert_close(&row[pad..], &expected, 1e-4, &format!("{name} row {b}"));
        }
    }
}

/// One SGD step on the mean token NLL moves the loss as it moves in `transformers`: the same
/// gradient, through every parameter (tied or untied head, biases, gains), applied the same way.
#[test]
fn one_sgd_step_changes_the_loss_as_in_transformers() {
    for name in MODELS {
        let device = fixture::device().autodiff();
        let model = Checkpoint::load(&fixture::dir(name), &device)
            .unwrap()
            .model;
        let reference = fixture::reference(name).sgd_step;
        let ids = vec![reference.input_ids.clone()];
        let batch = TokenBatch::new(&ids, &[1], &device).unwrap();
        let tokens = (reference.input_ids.len() - 1) as f32;
        let loss = |model: &Transformer| {
            sequence_logprobs(model, &batch, false).unwrap().sum.sum() / -tokens
        };
        let before = loss(&model);
        let loss_before = floats(before.clone())[0];
        let grads = GradientsParams::from_grads(before.backward(), &model);
        let model = SgdConfig::new().init().step(reference.lr, model, grads);
        let loss_after = floats(loss(&model))[0];
        let tol = 2e-4;
        assert!(
            (f64::from(loss_before) - reference.loss_before).abs() < tol,
            "{name}: loss before {loss_before} vs {}",
            reference.loss_before
        );
        assert!(
            (f64::from(loss_after) - reference.loss_after).abs() < tol,
            "{name}: loss after {loss_after} vs {} (before {})",
            reference.loss_after,
            reference.loss_before
        );
        // The step moved the loss by far more than the tolerance: the check has teeth.
        assert!((reference.loss_after - reference.loss_before).abs() > 50.0 * tol);
    }
}

/// Llama's other tokenizer kind, sentencepiece BPE with byte fallback (TinyLlama, Llama 2), as
/// transformers' LlamaTokenizerFast writes tokenizer.json in its legacy and current forms:
/// the same ids and the same decoded text (a character outside the vocabulary comes back
/// through its bytes).
#[test]
fn sentencepiece_tokenizers_match_transformers() {
    #[derive(serde::Deserialize)]
    struct Case {
        text: String,
        input_ids: Vec<u32>,
        decoded: String,
    }
    #[derive(serde::Deserialize)]
    struct Reference {
        cases: Vec<Case>,
    }
    for name in ["llama-spm-legacy", "llama-spm"] {
        let dir = fixture::dir("tokenizers").join(name);
        let tokenizer = Tokenizer::load(&dir).unwrap();
        let reference: Reference =
            serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap())
                .unwrap();
        for case in reference.cases {
            assert_eq!(
                tokenizer.encode(&case.text).unwrap(),
                case.input_ids,
                "{name}: {:?}",
                case.text
            );
            assert_eq!(
                tokenizer.decode(&case.input_ids).unwrap(),
                case.decoded,
                "{name}"
            );
        }
    }
}
