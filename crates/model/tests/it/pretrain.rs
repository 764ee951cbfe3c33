//! Pretraining: a few seconds of training on a tiny config learns the grammar's stories (the
//! held-out loss falls far below its start and below the unigram baseline), and the result
//! saves and reloads exactly.

use pglab_model::pretrain::{
    Corpus, CorpusSettings, END_OF_TEXT, ModelSettings, PretrainConfig, TokenizerSettings,
    TrainSettings, pretrain,
};
use pglab_model::{Checkpoint, Silent, Transformer};

use crate::fixture::{self, floats, ids_tensor};

fn tiny() -> PretrainConfig {
    PretrainConfig {
        seed: 3,
        corpus: CorpusSettings {
            stories: 400,
            eval_fraction: 0.1,
        },
        tokenizer: TokenizerSettings { vocab_size: 384 },
        model: ModelSettings {
            n_embd: 64,
            n_layer: 2,
            n_head: 2,
            n_positions: 64,
        },
        train: TrainSettings {
            steps: 120,
            batch_size: 16,
            seq_len: 32,
            lr: 5e-3,
            min_lr: 5e-4,
            warmup_steps: 10,
            weight_decay: 0.0,
            eval_every: 20,
            eval_windows: 32,
            patience: 4,
        },
    }
}

fn logits(model: &Transformer, ids: &[u32]) -> Vec<f32> {
    let device = model.wte.weight.val().device();
    floats(model.logits(ids_tensor(ids, &device)).unwrap())
}

#[test]
fn tiny_pretraining_lowers_held_out_loss_far_below_its_start_and_saves_exactly() {
    let config = tiny();
    config.validate("tiny.toml".as_ref()).unwrap();
    let device = fixture::device();
    let pretrained = {
        let _rng = fixture::RNG.lock().unwrap_or_else(|e| e.into_inner());
        pretrain(&config, &Corpus::Grammar, &device, &mut Silent).unwrap()
    };
    // An untrained model is close to uniform over the vocabulary: loss ≈ ln V.
    let uniform = (pretrained.checkpoint.tokenizer.vocab_size() as f64).ln();
    assert!(
        (pretrained.initial_eval_loss - uniform).abs() < 0.3,
        "initial {} vs ln V {uniform}",
        pretrained.initial_eval_loss
    );
    assert!(
        pretrained.final_eval_loss < 0.6 * pretrained.initial_eval_loss,
        "held-out loss {} → {}",
        pretrained.initial_eval_loss,
        pretrained.final_eval_loss
    );
    assert!(
        pretrained.final_eval_loss < pretrained.unigram_eval_loss - 0.5,
        "model {} vs unigram {}",
        pretrained.final_eval_loss,
        pretrained.unigram_eval_loss
    );
    // One record before training and one per step, the held-out loss at every eval_every.
    assert_eq!(pretrained.records.len(), config.train.steps + 1);
    let evals: Vec<usize> = pretrained
        .records
        .iter()
        .filter(|r| r.eval_loss.is_some())
        .map(|r| r.step)
        .collect();
    assert_eq!(evals, vec![0, 20, 40, 60, 80, 100, 120]);

    let checkpoint = &pretrained.checkpoint;
    let config_json = checkpoint.model.config();
    let eos = checkpoint.tokenizer.token_to_id(END_OF_TEXT);
    assert_eq!(config_json.eos_token_id, eos);
    assert_eq!(config_json.bos_token_id, eos);

    let tmp = tempfile::tempdir().unwrap();
    checkpoint.save(tmp.path()).unwrap();
    let loaded = Checkpoint::load(tmp.path(), &device).unwrap();
    let text = "Once upon a time, there was a little fox.";
    let ids = checkpoint.tokenizer.encode(text).unwrap();
    assert_eq!(loaded.tokenizer.encode(text).unwrap(), ids);
    assert_eq!(loaded.model.config(), checkpoint.model.config());
    assert_eq!(logits(&loaded.model, &ids), logits(&checkpoint.model, &ids));
}
