//! Llama's and Qwen2's `config.json`: read into a `GptConfig`, and written back.
//!
//! A key that would change the maths and that the transformer does not implement (a
//! `rope_scaling`, a sliding window, another activation, biases Llama does not have, tensor
//! parallel slicing, a head width other than hidden / heads) is refused with its name, never
//! ignored: a model that loads computes what `transformers` computes.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::{Activation, Arch, AttentionKind, GptConfig};
use crate::error::{ModelError, Result};

/// The fields read; others (`torch_dtype`, `initializer_range`, `use_cache`, …) do not change
/// what the model computes.
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
    #[serde(default = "default_rope_theta")]
    rope_theta: f64,
    #[serde(default)]
    rope_scaling: Value,
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

/// Reads a `llama` or `qwen2` config.json's `value`; `path` names the file in errors.
pub(crate) fn from_hf(value: Value, arch: Arch, path: &Path) -> Result<GptConfig> {
    let hf: HfLlama = serde_json::from_value(value).map_err(|source| ModelError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let refuse = |field: &'static str, message: String| {
        Err(ModelError::Config {
            path: path.to_path_buf(),
            field,
            message,
        })
    };
    if !hf.rope_scaling.is_null() {
        return refuse(
            "rope_scaling",
            format!(
                "{} is not supported (only plain RoPE: rope_scaling null)",
                hf.rope_scaling
            ),
        );
    }
    if hf.hidden_act != "silu" {
        return refuse(
            "hidden_act",
            format!(
                "{:?} is not supported (SwiGLU with \"silu\")",
                hf.hidden_act
            ),
        );
    }
    if hf.attention_bias && arch == Arch::Llama {
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
    if let Some(head_dim) = hf.head_dim
        && head_dim * hf.num_attention_heads != hf.hidden_size
    {
        return refuse(
            "head_dim",
            format!(
                "{head_dim} × {} heads ≠ hidden_size {} is not supported",
                hf.num_attention_heads, hf.hidden_size
            ),
        );
    }
    Ok(GptConfig {
        arch,
        vocab_size: hf.vocab_size,
        n_positions: hf.max_position_embeddings,
        n_embd: hf.hidden_size,
        n_layer: hf.num_hidden_layers,
        n_head: hf.num_attention_heads,
        n_kv_head: hf.num_key_value_heads.unwrap_or(hf.num_attention_heads),
        n_inner: hf.intermediate_size,
        activation: Activation::Silu,
        layer_norm_epsilon: hf.rms_norm_eps,
        attention_layers: vec![AttentionKind::Global; hf.num_hidden_layers],
        window_size: hf.max_position_embeddings,
        rope_theta: hf.rope_theta,
        tie_word_embeddings: hf.tie_word_embeddings,
        bos_token_id: hf.bos_token_id.and_then(TokenIds::first),
        eos_token_id: hf.eos_token_id.and_then(TokenIds::first),
    })
}

/// The `config.json` that `transformers` reads back as `config`.
pub(crate) fn to_hf(config: &GptConfig) -> Value {
    let (architecture, model_type) = match config.arch {
        Arch::Qwen2 => ("Qwen2ForCausalLM", "qwen2"),
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
        "max_position_embeddings": config.n_positions,
        "rms_norm_eps": config.layer_norm_epsilon,
        "rope_theta": config.rope_theta,
        "rope_scaling": null,
        "hidden_act": "silu",
        "tie_word_embeddings": config.tie_word_embeddings,
        "bos_token_id": config.bos_token_id,
        "eos_token_id": config.eos_token_id,
        "torch_dtype": "float32",
    });
    if config.arch == Arch::Llama {
        value["attention_bias"] = json!(false);
        value["mlp_bias"] = json!(false);
    } else {
        value["use_sliding_window"] = json!(false);
    }
    value
}

fn default_rms_eps() -> f64 {
    1e-6
}
fn default_rope_theta() -> f64 {
    10_000.0
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

    fn parse(text: &str) -> Result<GptConfig> {
        GptConfig::from_hf_json(text, Path::new("m/config.json"))
    }

    #[test]
    fn smollm2_135m_s_config_reads_and_counts_its_parameters() {
        let config = parse(SMOLLM2_135M).unwrap();
        assert_eq!(config.arch, Arch::Llama);
        assert_eq!(
            (config.n_head, config.n_kv_head, config.head_dim()),
            (9, 3, 64)
        );
        assert_eq!(config.rope_theta, 100_000.0);
        assert!(config.tie_word_embeddings);
        // By hand: embedding 49,152 × 576 = 28,311,552; per layer q and o 576² each, k and v
        // 576 × 192 each, MLP 3 × 576 × 1,536, two norms 2 × 576: 3,540,096; × 30, plus the
        // final norm's 576. 134.5M, the "135M" of its name.
        assert_eq!(config.n_params(), 28_311_552 + 30 * 3_540_096 + 576);
        assert_eq!(config.n_params(), 134_515_008);
        let back = GptConfig::from_hf_json(&config.to_hf_json().to_string(), Path::new("x"));
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
            ("head_dim", "32"),
            ("num_key_value_heads", "2"),
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

    #[test]
    fn a_list_of_eos_ids_stops_at_the_first() {
        let mut v: Value = serde_json::from_str(SMOLLM2_135M).unwrap();
        v["eos_token_id"] = json!([128001, 128008, 128009]);
        assert_eq!(parse(&v.to_string()).unwrap().eos_token_id, Some(128001));
    }
}
