//! Llama's, Qwen2's and Qwen3's `config.json`: read into a `TransformerConfig`, and written back.
//!
//! A key that would change the maths and that the transformer does not implement (a rope type
//! other than "default" and "llama3", a sliding window, another activation, biases Llama does
//! not have, tensor-parallel slicing, interleaved rotary channels) is refused with its name, never ignored, and so is any key pglab does not
//! know (`hf_keys.rs`): a model that loads computes what `transformers` computes. The rotary
//! keys, in transformers 4's and 5's formats, are read in `hf_rope.rs`.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::{Activation, Arch, AttentionKind, TransformerConfig};
use crate::error::{ModelError, Result};
use crate::rope::RopeScaling;
use crate::{hf_keys, hf_rope};

/// Every key this family's reader looks at (the rest: `hf_keys::IGNORED`, or refused).
const READ: &[&str] = &[
    "model_type",
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "max_position_embeddings",
    "rms_norm_eps",
    "rope_theta",
    "rope_scaling",
    "rope_parameters",
    "original_max_position_embeddings",
    "partial_rotary_factor",
    "rope_interleaved",
    "hidden_act",
    "tie_word_embeddings",
    "attention_bias",
    "mlp_bias",
    "pretraining_tp",
    "head_dim",
    "use_sliding_window",
    "sliding_window",
    "max_window_layers",
    "layer_types",
    "bos_token_id",
    "eos_token_id",
    // SmolLM2's marker that it is a plain Llama.
    "is_llama_config",
];

/// The fields read besides the rotary ones (`hf_rope.rs`).
#[derive(Deserialize)]
struct HfLlama {
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_key_value_heads: Option<usize>,
    max_position_embeddings: usize,
    #[serde(default = "default_rms_eps")]
    rms_norm_eps: f64,
    #[serde(default = "silu")]
    hidden_act: String,
    #[serde(default)]
    tie_word_embeddings: bool,
    #[serde(default)]
    attention_bias: bool,
    #[serde(default)]
    mlp_bias: bool,
    #[serde(default = "one")]
    pretraining_tp: usize,
    head_dim: Option<usize>,
    #[serde(default)]
    use_sliding_window: bool,
    /// transformers 5 lists each layer's attention: every one must be "full_attention".
    layer_types: Option<Vec<String>>,
    #[serde(default)]
    rope_interleaved: bool,
    bos_token_id: Option<TokenIds>,
    eos_token_id: Option<TokenIds>,
}

/// `eos_token_id` is a number, or a list of them (Llama 3); the first is the one sampling
/// stops at.
#[derive(Deserialize)]
#[serde(untagged)]
enum TokenIds {
    One(u32),
    Many(Vec<u32>),
}

impl TokenIds {
    fn first(self) -> Option<u32> {
        match self {
            TokenIds::One(id) => Some(id),
            TokenIds::Many(ids) => ids.first().copied(),
        }
    }
}

/// Reads a `llama`, `qwen2` or `qwen3` config.json's `value`; `path` names the file in errors.
pub(crate) fn from_hf(value: Value, arch: Arch, path: &Path) -> Result<TransformerConfig> {
    let json_err = |source| ModelError::Json {
        path: path.to_path_buf(),
        source,
    };
    let map = value.as_object().cloned().unwrap_or_default();
    hf_keys::refuse_unknown(&map, READ, path)?;
    let rope = hf_rope::read(&map, path)?;
    let hf: HfLlama = serde_json::from_value(value).map_err(json_err)?;
    let refuse = |field: &str, message: String| {
        Err(ModelError::Config {
            path: path.to_path_buf(),
            field: field.into(),
            message,
        })
    };
    if hf.hidden_act != "silu" {
        return refuse(
            "hidden_act",
            format!(
                "{:?} is not supported (SwiGLU with \"silu\")",
                hf.hidden_act
            ),
        );
    }
    // Qwen2's q/k/v biases are its own (it has no such key); Llama's and Qwen3's would also
    // put one on the output projection.
    if hf.attention_bias && arch != Arch::Qwen2 {
        return refuse("attention_bias", "true is not supported".into());
    }
    if hf.mlp_bias {
        return refuse("mlp_bias", "true is not supported".into());
    }
    if hf.pretraining_tp != 1 {
        return refuse(
            "pretraining_tp",
            format!("{} is not supported (1)", hf.pretraining_tp),
        );
    }
    if hf.use_sliding_window {
        return refuse(
            "use_sliding_window",
            "true is not supported (every layer attends to the whole context)".into(),
        );
    }
    if let Some(kind) = hf
        .layer_types
        .iter()
        .flatten()
        .find(|kind| *kind != "full_attention")
    {
        return refuse(
            "layer_types",
            format!("{kind:?} is not supported (every layer \"full_attention\")"),
        );
    }
    if hf.rope_interleaved {
        return refuse(
            "rope_interleaved",
            "true is not supported (rotary channels paired as halves, as transformers does)".into(),
        );
    }
    // Qwen3's head width defaults to 128 whatever the hidden size (transformers' Qwen3Config);
    // Llama's and Qwen2's to hidden_size / heads.
    let head_dim = match (hf.head_dim, arch) {
        (Some(d), _) => Some(d),
        (None, Arch::Qwen3) => Some(128),
        (None, _) => None,
    };
    let attention_head_dim = head_dim.filter(|d| d * hf.num_attention_heads != hf.hidden_size);
    Ok(TransformerConfig {
        arch,
        vocab_size: hf.vocab_size,
        n_positions: hf.max_position_embeddings,
        n_embd: hf.hidden_size,
        n_layer: hf.num_hidden_layers,
        n_head: hf.num_attention_heads,
        n_kv_head: hf.num_key_value_heads.unwrap_or(hf.num_attention_heads),
        attention_head_dim,
        n_inner: hf.intermediate_size,
        activation: Activation::Silu,
        layer_norm_epsilon: hf.rms_norm_eps,
        attention_layers: vec![AttentionKind::Global; hf.num_hidden_layers],
        window_size: hf.max_position_embeddings,
        rope,
        tie_word_embeddings: hf.tie_word_embeddings,
        bos_token_id: hf.bos_token_id.and_then(TokenIds::first),
        eos_token_id: hf.eos_token_id.and_then(TokenIds::first),
    })
}

/// The `config.json` that `transformers` reads back as `config`.
pub(crate) fn to_hf(config: &TransformerConfig) -> Value {
    let (architecture, model_type) = match config.arch {
        Arch::Qwen2 => ("Qwen2ForCausalLM", "qwen2"),
        Arch::Qwen3 => ("Qwen3ForCausalLM", "qwen3"),
        _ => ("LlamaForCausalLM", "llama"),
    };
    let mut value = json!({
        "architectures": [architecture],
        "model_type": model_type,
        "vocab_size": config.vocab_size,
        "hidden_size": config.n_embd,
        "intermediate_size": config.n_inner,
        "num_hidden_layers": config.n_layer,
        "num_attention_heads": config.n_head,
        "num_key_value_heads": config.n_kv_head,
        "head_dim": config.head_dim(),
        "max_position_embeddings": config.n_positions,
        "rms_norm_eps": config.layer_norm_epsilon,
        "rope_theta": config.rope.theta,
        "rope_scaling": rope_scaling(&config.rope.scaling),
        "rope_parameters": rope_parameters(config),
        "hidden_act": "silu",
        "tie_word_embeddings": config.tie_word_embeddings,
        "bos_token_id": config.bos_token_id,
        "eos_token_id": config.eos_token_id,
        "torch_dtype": "float32",
    });
    if config.arch != Arch::Qwen2 {
        value["attention_bias"] = json!(false);
    }
    if config.arch == Arch::Llama {
        value["mlp_bias"] = json!(false);
    } else {
        value["use_sliding_window"] = json!(false);
    }
    value
}

/// 4.x's `rope_scaling` (null for plain RoPE). Written beside 5.x's `rope_parameters`, stating
/// the same, so that transformers 4 and 5 both read the rotary maths pglab computed with.
fn rope_scaling(scaling: &RopeScaling) -> Value {
    match *scaling {
        RopeScaling::Default => Value::Null,
        RopeScaling::Llama3 {
            factor,
            low_freq_factor,
            high_freq_factor,
            original_max_position_embeddings,
        } => json!({
            "rope_type": "llama3",
            "factor": factor,
            "low_freq_factor": low_freq_factor,
            "high_freq_factor": high_freq_factor,
            "original_max_position_embeddings": original_max_position_embeddings as u64,
        }),
    }
}

/// 5.x's `rope_parameters`: the rope type, θ and the scaling's own keys in one object.
fn rope_parameters(config: &TransformerConfig) -> Value {
    let mut value = match rope_scaling(&config.rope.scaling) {
        Value::Null => json!({ "rope_type": "default" }),
        scaling => scaling,
    };
    value["rope_theta"] = json!(config.rope.theta);
    value
}

fn default_rms_eps() -> f64 {
    1e-6
}
fn silu() -> String {
    "silu".into()
}
fn one() -> usize {
    1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rope::RopeParameters;

    const SMOLLM2_135M: &str = r#"{
        "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
        "bos_token_id": 0, "eos_token_id": 0, "hidden_act": "silu", "hidden_size": 576,
        "initializer_range": 0.041666666666666664, "intermediate_size": 1536,
        "is_llama_config": true, "max_position_embeddings": 8192, "model_type": "llama",
        "num_attention_heads": 9, "num_hidden_layers": 30, "num_key_value_heads": 3,
        "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_interleaved": false,
        "rope_scaling": null, "rope_theta": 100000, "tie_word_embeddings": true,
        "torch_dtype": "bfloat16", "transformers_version": "4.40.1", "use_cache": true,
        "vocab_size": 49152}"#;

    fn parse(text: &str) -> Result<TransformerConfig> {
        TransformerConfig::from_hf_json(text, Path::new("m/config.json"))
    }

    #[test]
    fn smollm2_135m_s_config_reads_and_counts_its_parameters() {
        let config = parse(SMOLLM2_135M).unwrap();
        assert_eq!(config.arch, Arch::Llama);
        assert_eq!(
            (config.n_head, config.n_kv_head, config.head_dim()),
            (9, 3, 64)
        );
        assert_eq!(config.rope, RopeParameters::plain(100_000.0));
        assert!(config.tie_word_embeddings);
        // By hand: embedding 49,152 × 576 = 28,311,552; per layer q and o 576² each, k and v
        // 576 × 192 each, MLP 3 × 576 × 1,536, two norms 2 × 576: 3,540,096; × 30, plus the
        // final norm's 576. 134.5M, the "135M" of its name.
        assert_eq!(config.n_params(), 28_311_552 + 30 * 3_540_096 + 576);
        assert_eq!(config.n_params(), 134_515_008);
        let back =
            TransformerConfig::from_hf_json(&config.to_hf_json().to_string(), Path::new("x"));
        assert_eq!(back.unwrap(), config);
    }

    #[test]
    fn what_the_transformer_does_not_implement_is_refused_by_name() {
        let with = |key: &str, value: &str| {
            let mut v: Value = serde_json::from_str(SMOLLM2_135M).unwrap();
            v[key] = serde_json::from_str(value).unwrap();
            parse(&v.to_string()).unwrap_err().to_string()
        };
        for (key, value) in [
            ("rope_scaling", r#"{"type": "linear", "factor": 2.0}"#),
            ("hidden_act", r#""gelu""#),
            ("attention_bias", "true"),
            ("mlp_bias", "true"),
            ("pretraining_tp", "2"),
            ("num_key_value_heads", "2"),
            ("rope_interleaved", "true"),
            ("layer_types", r#"["full_attention", "sliding_attention"]"#),
            ("quantization_config", r#"{"quant_method": "bitsandbytes"}"#),
            ("auto_map", r#"{"AutoModelForCausalLM": "modeling.Model"}"#),
            ("pruned_heads", r#"{"0": [1]}"#),
            ("is_encoder_decoder", "true"),
            ("a_key_from_the_future", "1"),
        ] {
            let err = with(key, value);
            assert!(err.starts_with("m/config.json: "), "{key}: {err}");
            assert!(err.contains(key), "{key}: {err}");
        }
        let mut qwen: Value = serde_json::from_str(SMOLLM2_135M).unwrap();
        qwen["model_type"] = json!("qwen2");
        qwen["use_sliding_window"] = json!(true);
        let err = parse(&qwen.to_string()).unwrap_err().to_string();
        assert!(err.contains("use_sliding_window"), "{err}");
        // Qwen2's q/k/v biases are its own: attention_bias is a Llama key.
        qwen["use_sliding_window"] = json!(false);
        qwen["attention_bias"] = json!(true);
        assert_eq!(parse(&qwen.to_string()).unwrap().arch, Arch::Qwen2);
    }

    /// What transformers 5.25's `LlamaConfig(…).save_pretrained` and `Qwen2Config` write.
    #[test]
    fn transformers_5_configs_read_their_rope_parameters() {
        let llama = r#"{"attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 1,
            "eos_token_id": 2, "head_dim": 8, "hidden_act": "silu", "hidden_size": 32,
            "initializer_range": 0.02, "intermediate_size": 48, "max_position_embeddings": 64,
            "mlp_bias": false, "model_type": "llama", "num_attention_heads": 4,
            "num_hidden_layers": 2, "num_key_value_heads": 2, "pad_token_id": null,
            "pretraining_tp": 1, "rms_norm_eps": 1e-06,
            "rope_parameters": {"rope_theta": 50000.0, "rope_type": "default"},
            "tie_word_embeddings": false, "transformers_version": "5.25.0", "use_cache": true,
            "vocab_size": 400}"#;
        assert_eq!(parse(llama).unwrap().rope, RopeParameters::plain(50_000.0));
        let qwen2 = r#"{"attention_dropout": 0.0, "bos_token_id": null, "eos_token_id": null,
            "hidden_act": "silu", "hidden_size": 32, "initializer_range": 0.02,
            "intermediate_size": 48, "layer_types": ["full_attention", "full_attention"],
            "max_position_embeddings": 64, "max_window_layers": 28, "model_type": "qwen2",
            "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2,
            "pad_token_id": null, "rms_norm_eps": 1e-06,
            "rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"},
            "sliding_window": null, "tie_word_embeddings": false,
            "transformers_version": "5.25.0", "use_cache": true, "use_sliding_window": false,
            "vocab_size": 400}"#;
        let config = parse(qwen2).unwrap();
        assert_eq!(
            (config.arch, config.rope),
            (Arch::Qwen2, RopeParameters::plain(1e6))
        );
    }

    /// Qwen3-0.6B's config.json as published (transformers 4.51).
    const QWEN3_06B: &str = r#"{"architectures": ["Qwen3ForCausalLM"], "attention_bias": false,
        "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645,
        "head_dim": 128, "hidden_act": "silu", "hidden_size": 1024, "initializer_range": 0.02,
        "intermediate_size": 3072, "max_position_embeddings": 40960, "max_window_layers": 28,
        "model_type": "qwen3", "num_attention_heads": 16, "num_hidden_layers": 28,
        "num_key_value_heads": 8, "rms_norm_eps": 1e-06, "rope_scaling": null,
        "rope_theta": 1000000, "sliding_window": null, "tie_word_embeddings": true,
        "torch_dtype": "bfloat16", "transformers_version": "4.51.0", "use_cache": true,
        "use_sliding_window": false, "vocab_size": 151936}"#;

    #[test]
    fn qwen3_0_6b_reads_with_heads_wider_than_hidden_over_heads() {
        let config = parse(QWEN3_06B).unwrap();
        assert_eq!(config.arch, Arch::Qwen3);
        assert_eq!(
            (config.head_dim(), config.q_dim(), config.kv_dim()),
            (128, 2048, 1024)
        );
        // Per layer: q 1024 × 2048, k and v 1024 × 1024 each, o 2048 × 1024, MLP 3 × 1024 ×
        // 3072, two norms of 1024 and the q/k norms of 128 each: 15,730,944; × 28 is
        // 440,466,432, the "non-embedding 0.44B" of its model card. Plus the tied embedding
        // 151,936 × 1024 and the final norm: 596.0M, the hub's "596M params".
        assert_eq!(config.n_params(), 28 * 15_730_944 + 151_936 * 1024 + 1024);
        let back =
            TransformerConfig::from_hf_json(&config.to_hf_json().to_string(), Path::new("x"));
        assert_eq!(back.unwrap(), config);
        // Without head_dim, Qwen3's default is 128, not hidden / heads.
        let mut v: Value = serde_json::from_str(QWEN3_06B).unwrap();
        v.as_object_mut().unwrap().remove("head_dim");
        assert_eq!(parse(&v.to_string()).unwrap().head_dim(), 128);
        v["attention_bias"] = json!(true);
        let err = parse(&v.to_string()).unwrap_err().to_string();
        assert!(err.contains("attention_bias"), "{err}");
    }

    #[test]
    fn a_llama_head_width_apart_from_hidden_over_heads_is_read() {
        let mut v: Value = serde_json::from_str(SMOLLM2_135M).unwrap();
        v["head_dim"] = json!(32);
        let config = parse(&v.to_string()).unwrap();
        assert_eq!((config.q_dim(), config.kv_dim()), (288, 96));
        // Per layer: q and o 576 × 288 each, k and v 576 × 96 each, MLP 3 × 576 × 1,536, two
        // norms 2 × 576.
        let layer = 2 * 576 * 288 + 2 * 576 * 96 + 3 * 576 * 1536 + 2 * 576;
        assert_eq!(config.n_params(), 28_311_552 + 30 * layer + 576);
    }

    #[test]
    fn a_list_of_eos_ids_stops_at_the_first() {
        let mut v: Value = serde_json::from_str(SMOLLM2_135M).unwrap();
        v["eos_token_id"] = json!([128001, 128008, 128009]);
        assert_eq!(parse(&v.to_string()).unwrap().eos_token_id, Some(128001));
    }
}
