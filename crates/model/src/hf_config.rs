//! A `TransformerConfig` to and from Hugging Face's `config.json`: dispatch on `model_type`, and
//! GPT-2's and GPT-Neo's own keys (Llama's, Qwen2's and Qwen3's are in `llama_config.rs`). Kept
//! apart from `config.rs` so that the types do not import their readers and the readers import
//! the types, one way.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::{Activation, Arch, AttentionKind, TransformerConfig};
use crate::error::{ModelError, Result};
use crate::rope::RopeParameters;
use crate::{hf_keys, llama_config};

impl TransformerConfig {
    /// Reads a Hugging Face `config.json` (`model_type` `gpt2` or `gpt_neo`).
    pub fn from_hf_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ModelError::MissingFile {
                    path: path.to_path_buf(),
                    what: "the model's config.json",
                }
            } else {
                ModelError::io(path, e)
            }
        })?;
        Self::from_hf_json(&text, path)
    }

    /// Parses the text of a Hugging Face `config.json`; `path` is only used in errors.
    pub fn from_hf_json(text: &str, path: &Path) -> Result<Self> {
        let json_err = |source| ModelError::Json {
            path: path.to_path_buf(),
            source,
        };
        let value: Value = serde_json::from_str(text).map_err(json_err)?;
        let model_type = value
            .get("model_type")
            .and_then(Value::as_str)
            .unwrap_or("<missing>")
            .to_string();
        let config = match model_type.as_str() {
            "gpt2" => {
                refuse_unknown(&value, GPT2_READ, path)?;
                serde_json::from_value::<HfGpt2>(value)
                    .map_err(json_err)?
                    .into_config(path)?
            }
            "gpt_neo" => {
                refuse_unknown(&value, GPT_NEO_READ, path)?;
                serde_json::from_value::<HfGptNeo>(value)
                    .map_err(json_err)?
                    .into_config(path)?
            }
            "llama" => llama_config::from_hf(value, Arch::Llama, path)?,
            "qwen2" => llama_config::from_hf(value, Arch::Qwen2, path)?,
            "qwen3" => llama_config::from_hf(value, Arch::Qwen3, path)?,
            _ => {
                return Err(ModelError::UnknownModelType {
                    path: path.to_path_buf(),
                    found: model_type,
                });
            }
        };
        config.validate(path)?;
        Ok(config)
    }

    /// The `config.json` that `transformers` reads back as this model.
    pub fn to_hf_json(&self) -> Value {
        let activation = serde_json::to_value(self.activation).unwrap_or(Value::Null);
        match self.arch {
            Arch::Llama | Arch::Qwen2 | Arch::Qwen3 => llama_config::to_hf(self),
            Arch::Gpt2 => json!({
                "architectures": ["GPT2LMHeadModel"],
                "model_type": "gpt2",
                "vocab_size": self.vocab_size,
                "n_positions": self.n_positions,
                "n_ctx": self.n_positions,
                "n_embd": self.n_embd,
                "n_layer": self.n_layer,
                "n_head": self.n_head,
                "n_inner": self.n_inner,
                "activation_function": activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "bos_token_id": self.bos_token_id,
                "eos_token_id": self.eos_token_id,
                "tie_word_embeddings": true,
                "scale_attn_weights": true,
                "torch_dtype": "float32",
            }),
            Arch::GptNeo => json!({
                "architectures": ["GPTNeoForCausalLM"],
                "model_type": "gpt_neo",
                "vocab_size": self.vocab_size,
                "max_position_embeddings": self.n_positions,
                "hidden_size": self.n_embd,
                "num_layers": self.n_layer,
                "num_heads": self.n_head,
                "intermediate_size": self.n_inner,
                "activation_function": activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "attention_types": neo_attention_types(&self.attention_layers),
                "window_size": self.window_size,
                "bos_token_id": self.bos_token_id,
                "eos_token_id": self.eos_token_id,
                "tie_word_embeddings": true,
                "torch_dtype": "float32",
            }),
        }
    }
}

/// Every key the GPT-2 reader looks at (the rest: `hf_keys::IGNORED`, or refused). `n_ctx` is
/// GPT-2's old name for `n_positions`, which `transformers` itself no longer reads;
/// `reorder_and_upcast_attn` only moves the f16 → f32 upcast, and pglab computes in f32.
const GPT2_READ: &[&str] = &[
    "model_type",
    "vocab_size",
    "n_positions",
    "n_ctx",
    "n_embd",
    "n_layer",
    "n_head",
    "n_inner",
    "activation_function",
    "layer_norm_epsilon",
    "bos_token_id",
    "eos_token_id",
    "scale_attn_weights",
    "scale_attn_by_inverse_layer_idx",
    "reorder_and_upcast_attn",
    "tie_word_embeddings",
];

/// Every key the GPT-Neo reader looks at. `attention_layers` is what `transformers` expands
/// `attention_types` into; where a file has both, they must agree.
const GPT_NEO_READ: &[&str] = &[
    "model_type",
    "vocab_size",
    "max_position_embeddings",
    "hidden_size",
    "num_layers",
    "num_heads",
    "intermediate_size",
    "activation_function",
    "layer_norm_epsilon",
    "attention_types",
    "attention_layers",
    "window_size",
    "bos_token_id",
    "eos_token_id",
    "tie_word_embeddings",
];

fn refuse_unknown(value: &Value, read: &[&str], path: &Path) -> Result<()> {
    hf_keys::refuse_unknown(&value.as_object().cloned().unwrap_or_default(), read, path)
}

/// GPT-2's `config.json`, the fields we use (`GPT2_READ`).
#[derive(Deserialize)]
struct HfGpt2 {
    vocab_size: usize,
    n_positions: usize,
    n_embd: usize,
    n_layer: usize,
    n_head: usize,
    n_inner: Option<usize>,
    #[serde(default = "gelu_new")]
    activation_function: String,
    #[serde(default = "default_eps")]
    layer_norm_epsilon: f64,
    bos_token_id: Option<u32>,
    eos_token_id: Option<u32>,
    #[serde(default = "yes")]
    scale_attn_weights: bool,
    #[serde(default)]
    scale_attn_by_inverse_layer_idx: bool,
    #[serde(default = "yes")]
    tie_word_embeddings: bool,
}

impl HfGpt2 {
    fn into_config(self, path: &Path) -> Result<TransformerConfig> {
        let unsupported = |field: &str, message: &str| {
            Err(ModelError::Config {
                path: path.to_path_buf(),
                field: field.into(),
                message: message.into(),
            })
        };
        if !self.scale_attn_weights {
            return unsupported("scale_attn_weights", "false is not supported");
        }
        if self.scale_attn_by_inverse_layer_idx {
            return unsupported("scale_attn_by_inverse_layer_idx", "true is not supported");
        }
        if !self.tie_word_embeddings {
            return unsupported("tie_word_embeddings", "untied LM heads are not supported");
        }
        Ok(TransformerConfig {
            arch: Arch::Gpt2,
            vocab_size: self.vocab_size,
            n_positions: self.n_positions,
            n_embd: self.n_embd,
            n_layer: self.n_layer,
            n_head: self.n_head,
            n_kv_head: self.n_head,
            attention_head_dim: None,
            n_inner: self.n_inner.unwrap_or(4 * self.n_embd),
            activation: parse_activation(&self.activation_function, path)?,
            layer_norm_epsilon: self.layer_norm_epsilon,
            attention_layers: vec![AttentionKind::Global; self.n_layer],
            window_size: self.n_positions,
            rope: RopeParameters::plain(10_000.0),
            tie_word_embeddings: true,
            bos_token_id: self.bos_token_id,
            eos_token_id: self.eos_token_id,
        })
    }
}

/// GPT-Neo's `config.json`, the fields we use (`GPT_NEO_READ`).
#[derive(Deserialize)]
struct HfGptNeo {
    vocab_size: usize,
    max_position_embeddings: usize,
    hidden_size: usize,
    num_layers: usize,
    num_heads: usize,
    intermediate_size: Option<usize>,
    #[serde(default = "gelu_new")]
    activation_function: String,
    #[serde(default = "default_eps")]
    layer_norm_epsilon: f64,
    /// `[[["global", "local"], 12]]`: a pattern and how often it repeats.
    attention_types: Vec<(Vec<AttentionKind>, usize)>,
    attention_layers: Option<Vec<AttentionKind>>,
    window_size: usize,
    bos_token_id: Option<u32>,
    eos_token_id: Option<u32>,
    #[serde(default = "yes")]
    tie_word_embeddings: bool,
}

impl HfGptNeo {
    fn into_config(self, path: &Path) -> Result<TransformerConfig> {
        let attention_layers = self
            .attention_types
            .iter()
            .flat_map(|(pattern, repeat)| std::iter::repeat_n(pattern, *repeat).flatten())
            .copied()
            .collect::<Vec<_>>();
        let refuse = |field: &str, message: String| ModelError::Config {
            path: path.to_path_buf(),
            field: field.into(),
            message,
        };
        if let Some(listed) = &self.attention_layers
            && *listed != attention_layers
        {
            return Err(refuse(
                "attention_layers",
                format!(
                    "{listed:?} disagrees with attention_types, which expands to {attention_layers:?}"
                ),
            ));
        }
        if !self.tie_word_embeddings {
            return Err(refuse(
                "tie_word_embeddings",
                "untied LM heads are not supported".into(),
            ));
        }
        Ok(TransformerConfig {
            arch: Arch::GptNeo,
            vocab_size: self.vocab_size,
            n_positions: self.max_position_embeddings,
            n_embd: self.hidden_size,
            n_layer: self.num_layers,
            n_head: self.num_heads,
            n_kv_head: self.num_heads,
            attention_head_dim: None,
            n_inner: self.intermediate_size.unwrap_or(4 * self.hidden_size),
            activation: parse_activation(&self.activation_function, path)?,
            layer_norm_epsilon: self.layer_norm_epsilon,
            attention_layers,
            window_size: self.window_size,
            rope: RopeParameters::plain(10_000.0),
            tie_word_embeddings: true,
            bos_token_id: self.bos_token_id,
            eos_token_id: self.eos_token_id,
        })
    }
}

/// Compresses per-layer kinds back into GPT-Neo's run-length form.
fn neo_attention_types(layers: &[AttentionKind]) -> Value {
    let runs: Vec<Value> = layers.iter().map(|kind| json!([[kind], 1])).collect();
    Value::Array(runs)
}

fn parse_activation(name: &str, path: &Path) -> Result<Activation> {
    serde_json::from_value(Value::String(name.into())).map_err(|_| ModelError::Config {
        path: path.to_path_buf(),
        field: "activation_function".into(),
        message: format!("{name:?} is not supported (gelu_new, gelu, relu or silu)"),
    })
}

fn gelu_new() -> String {
    "gelu_new".into()
}
fn default_eps() -> f64 {
    1e-5
}
fn yes() -> bool {
    true
}
