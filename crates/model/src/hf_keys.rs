//! Which keys of a `config.json` are read, which are deliberately ignored (and why), and the rule
//! for everything else: refused by name. A key the code does not know may change the arithmetic
//! (transformers 5's `rope_parameters` did, silently), so an unknown key is an error the user can
//! act on, never a guess.

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{ModelError, Result};

/// Keys any `transformers` config may carry that do not change the log-probs pglab computes:
/// - bookkeeping: which class and version wrote the file, where it came from;
/// - `torch_dtype`/`dtype`: the storage precision of the weights (pglab converts them to f32
///   and computes in f32);
/// - `use_cache`, `_attn_implementation*`, `chunk_size_feed_forward`, `return_dict`, `output_*`,
///   `torchscript`, `use_bfloat16`, `tf_legacy_loss`: how `transformers` runs or returns the same
///   arithmetic (its KV cache, its attention kernel, feed-forward chunking);
/// - `initializer_range`: how new weights would be drawn; a checkpoint brings its own;
/// - dropout rates: applied by `transformers` in training mode only; pglab never drops units,
///   so its log-probs and gradients are those of evaluation mode;
/// - token ids other than BOS/EOS, and `generate`'s defaults (temperature, top_k, …): sampling
///   is set by the experiment file, not the checkpoint;
/// - task heads and labels (`id2label`, `num_labels`, …): pglab uses the language-model head.
pub(crate) const IGNORED: &[&str] = &[
    "_name_or_path",
    "_commit_hash",
    "transformers_version",
    "architectures",
    "torch_dtype",
    "dtype",
    "use_cache",
    "_attn_implementation",
    "_attn_implementation_autoset",
    "attn_implementation",
    "chunk_size_feed_forward",
    "return_dict",
    "output_hidden_states",
    "output_attentions",
    "output_scores",
    "return_dict_in_generate",
    "torchscript",
    "use_bfloat16",
    "tf_legacy_loss",
    "initializer_range",
    "attention_dropout",
    "hidden_dropout",
    "resid_pdrop",
    "embd_pdrop",
    "attn_pdrop",
    "resid_dropout",
    "embed_dropout",
    "classifier_dropout",
    "summary_first_dropout",
    "summary_type",
    "summary_use_proj",
    "summary_activation",
    "summary_proj_to_labels",
    "pad_token_id",
    "sep_token_id",
    "decoder_start_token_id",
    "max_length",
    "min_length",
    "do_sample",
    "early_stopping",
    "num_beams",
    "num_beam_groups",
    "diversity_penalty",
    "temperature",
    "top_k",
    "top_p",
    "typical_p",
    "repetition_penalty",
    "length_penalty",
    "no_repeat_ngram_size",
    "encoder_no_repeat_ngram_size",
    "bad_words_ids",
    "num_return_sequences",
    "forced_bos_token_id",
    "forced_eos_token_id",
    "remove_invalid_values",
    "exponential_decay_length_penalty",
    "suppress_tokens",
    "begin_suppress_tokens",
    "finetuning_task",
    "id2label",
    "label2id",
    "num_labels",
    "problem_type",
    "task_specific_params",
    "tokenizer_class",
    "prefix",
    "is_decoder",
    "cross_attention_hidden_size",
    "tie_encoder_decoder",
    "gradient_checkpointing",
];

/// Whether a key's value is the harmless default.
type IsDefault = fn(&Value) -> bool;

/// Generic keys that are harmless at the value `transformers` gives them by default and change
/// the model otherwise: encoder-decoder wiring, pruned heads, cross-attention.
const DEFAULT_ONLY: &[(&str, IsDefault)] = &[
    ("is_encoder_decoder", |v| v == &Value::Bool(false)),
    ("add_cross_attention", |v| v == &Value::Bool(false)),
    ("pruned_heads", |v| {
        v.as_object().is_some_and(Map::is_empty) || v.as_array().is_some_and(Vec::is_empty)
    }),
];

/// Refuses the first key of `map` that is neither in `read` (the family's own keys, checked by
/// its reader), nor ignored, nor at a harmless default. `quantization_config` and `auto_map` fall
/// here by design: quantized weights and custom modelling code are not what pglab computes.
pub(crate) fn refuse_unknown(map: &Map<String, Value>, read: &[&str], path: &Path) -> Result<()> {
    for (key, value) in map {
        if read.contains(&key.as_str()) || IGNORED.contains(&key.as_str()) || value.is_null() {
            continue;
        }
        let message = match DEFAULT_ONLY.iter().find(|(name, _)| name == key) {
            Some((_, harmless)) if harmless(value) => continue,
            Some(_) => format!("{value} is not supported (a decoder-only model, nothing pruned)"),
            None => "is not a key pglab knows for this model_type; it may change the model's \
                     arithmetic, so the checkpoint is refused rather than loaded without it"
                .to_string(),
        };
        return Err(ModelError::Config {
            path: path.to_path_buf(),
            field: key.clone(),
            message,
        });
    }
    Ok(())
}
