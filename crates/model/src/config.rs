//! `TransformerConfig`: the hyper-parameters of one decoder-only model (its Hugging Face
//! `config.json` form is read and written in `hf_config.rs` and `llama_config.rs`, which import
//! this file, never the other way).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::rope::RopeParameters;

/// Which checkpoint family a model belongs to. The transformer is the same pre-norm stack; the
/// families differ in attention scaling, q/k/v biases, local attention, position encoding, norm,
/// MLP and checkpoint tensor names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    /// GPT-2: fused `c_attn` with bias, scores scaled by 1/√d, all layers global.
    Gpt2,
    /// GPT-Neo (the TinyStories models): q/k/v without bias, no score scaling, and layers that
    /// alternate between global attention and a sliding window of `window_size`.
    GptNeo,
    /// Llama (SmolLM2, TinyLlama): RMSNorm, rotary positions, a SwiGLU MLP, grouped-query
    /// attention, no biases, an LM head tied or not.
    Llama,
    /// Qwen2 (Qwen2.5): Llama with biases on q, k and v.
    Qwen2,
    /// Qwen3: Llama with an RMSNorm over each head's channels on q and k before the rotation
    /// (`q_norm`, `k_norm`), and heads whose width need not be hidden / heads.
    Qwen3,
}

impl Arch {
    /// Whether positions are rotary (rotating q and k) rather than a learned embedding.
    pub fn rotary(self) -> bool {
        match self {
            Arch::Llama | Arch::Qwen2 | Arch::Qwen3 => true,
            Arch::Gpt2 | Arch::GptNeo => false,
        }
    }

    /// Whether queries and keys pass a per-head RMSNorm before the rotation.
    pub fn qk_norm(self) -> bool {
        match self {
            Arch::Qwen3 => true,
            Arch::Gpt2 | Arch::GptNeo | Arch::Llama | Arch::Qwen2 => false,
        }
    }
}

/// What one layer's attention may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttentionKind {
    /// Every earlier position.
    Global,
    /// Only the last `window_size` positions, the current one included.
    Local,
}

/// The MLP non-linearity, by its `transformers` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    /// `gelu_new`: the tanh approximation GPT-2 was trained with.
    #[serde(rename = "gelu_new")]
    GeluNew,
    /// `gelu`: the exact, erf-based form.
    #[serde(rename = "gelu")]
    Gelu,
    #[serde(rename = "relu")]
    Relu,
    /// `silu`: x·sigmoid(x), the gate of Llama's SwiGLU MLP.
    #[serde(rename = "silu")]
    Silu,
}

/// Hyper-parameters of a decoder-only model, named as in GPT-2's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransformerConfig {
    pub arch: Arch,
    pub vocab_size: usize,
    pub n_positions: usize,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
    /// Key/value heads: `n_head` except under grouped-query attention, where each key/value
    /// head serves n_head / n_kv_head query heads.
    pub n_kv_head: usize,
    /// Width of one attention head where the checkpoint sets it apart from n_embd / n_head
    /// (`head_dim`: Qwen3, some Llamas); None for n_embd / n_head.
    pub attention_head_dim: Option<usize>,
    /// Width of the MLP's hidden layer (4·n_embd unless the checkpoint says otherwise).
    pub n_inner: usize,
    pub activation: Activation,
    pub layer_norm_epsilon: f64,
    /// One entry per layer.
    pub attention_layers: Vec<AttentionKind>,
    /// Width of a local layer's sliding window (unused by global layers).
    pub window_size: usize,
    /// Rotary positions' base and scaling (Llama, Qwen2; unused by the other families).
    pub rope: RopeParameters,
    /// Whether the LM head is the token embedding (GPT-2, GPT-Neo, SmolLM2) or its own matrix.
    pub tie_word_embeddings: bool,
    pub bos_token_id: Option<u32>,
    pub eos_token_id: Option<u32>,
}

impl TransformerConfig {
    /// A GPT-2 of the given size with GPT-2's defaults for everything else.
    pub fn gpt2(
        vocab_size: usize,
        n_positions: usize,
        n_embd: usize,
        n_layer: usize,
        n_head: usize,
    ) -> Self {
        Self {
            arch: Arch::Gpt2,
            vocab_size,
            n_positions,
            n_embd,
            n_layer,
            n_head,
            n_kv_head: n_head,
            attention_head_dim: None,
            n_inner: 4 * n_embd,
            activation: Activation::GeluNew,
            layer_norm_epsilon: 1e-5,
            attention_layers: vec![AttentionKind::Global; n_layer],
            window_size: n_positions,
            rope: RopeParameters::plain(10_000.0),
            tie_word_embeddings: true,
            bos_token_id: None,
            eos_token_id: None,
        }
    }

    /// A Llama of the given size (SwiGLU MLP of width `n_inner`, RMSNorm ε 1e-5, RoPE base
    /// 10,000, tied head).
    pub fn llama(
        vocab_size: usize,
        n_positions: usize,
        n_embd: usize,
        n_layer: usize,
        (n_head, n_kv_head): (usize, usize),
        n_inner: usize,
    ) -> Self {
        Self {
            arch: Arch::Llama,
            n_kv_head,
            n_inner,
            activation: Activation::Silu,
            ..Self::gpt2(vocab_size, n_positions, n_embd, n_layer, n_head)
        }
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.attention_head_dim.unwrap_or(self.n_embd / self.n_head)
    }

    /// Width of the queries (and of the attention's output): one head's width per head.
    pub fn q_dim(&self) -> usize {
        self.n_head * self.head_dim()
    }

    /// Width of the keys (and of the values): one head's width per key/value head.
    pub fn kv_dim(&self) -> usize {
        self.n_kv_head * self.head_dim()
    }

    /// The number of parameters (a tied LM head adds none).
    pub fn n_params(&self) -> usize {
        let (c, inner, q, kv) = (self.n_embd, self.n_inner, self.q_dim(), self.kv_dim());
        let qkv_bias = match self.arch {
            Arch::Gpt2 | Arch::Qwen2 => q + 2 * kv,
            Arch::GptNeo | Arch::Llama | Arch::Qwen3 => 0,
        };
        let qk_norm = if self.arch.qk_norm() {
            2 * self.head_dim()
        } else {
            0
        };
        let attention = c * (q + 2 * kv) + qkv_bias + q * c + qk_norm;
        let (norms, out_bias, mlp, positions) = if self.arch.rotary() {
            // Two RMSNorm gains; gate, up and down projections without biases.
            (2 * c, 0, 3 * c * inner, 0)
        } else {
            (
                2 * 2 * c,
                c,
                c * inner + inner + inner * c + c,
                self.n_positions * c,
            )
        };
        let final_norm = if self.arch.rotary() { c } else { 2 * c };
        let head = if self.tie_word_embeddings {
            0
        } else {
            self.vocab_size * c
        };
        self.vocab_size * c
            + positions
            + self.n_layer * (norms + attention + out_bias + mlp)
            + final_norm
            + head
    }

    /// Checks the internal consistency a model needs; `path` and field names go in the error.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let err = |field: &str, message: String| ModelError::Config {
            path: path.to_path_buf(),
            field: field.into(),
            message,
        };
        for (field, value) in [
            ("vocab_size", self.vocab_size),
            ("n_positions", self.n_positions),
            ("n_embd", self.n_embd),
            ("n_layer", self.n_layer),
            ("n_head", self.n_head),
            ("n_inner", self.n_inner),
        ] {
            if value == 0 {
                return Err(err(field, "must be at least 1".into()));
            }
        }
        if self.attention_head_dim == Some(0) {
            return Err(err("head_dim", "must be at least 1".into()));
        }
        if self.attention_head_dim.is_none() && !self.n_embd.is_multiple_of(self.n_head) {
            return Err(err(
                "n_head",
                format!("{} does not divide n_embd = {}", self.n_head, self.n_embd),
            ));
        }
        if self.n_kv_head == 0 || !self.n_head.is_multiple_of(self.n_kv_head) {
            return Err(err(
                "num_key_value_heads",
                format!(
                    "{} does not divide the {} attention heads",
                    self.n_kv_head, self.n_head
                ),
            ));
        }
        if self.arch.rotary() && !self.head_dim().is_multiple_of(2) {
            return Err(err(
                "num_attention_heads",
                format!(
                    "a head of {} channels cannot be rotated in pairs",
                    self.head_dim()
                ),
            ));
        }
        if self.attention_layers.len() != self.n_layer {
            return Err(err(
                "attention_types",
                format!(
                    "describes {} layers, but the model has {}",
                    self.attention_layers.len(),
                    self.n_layer
                ),
            ));
        }
        if self.attention_layers.contains(&AttentionKind::Local) && self.window_size == 0 {
            return Err(err("window_size", "must be at least 1".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TransformerConfig> {
        TransformerConfig::from_hf_json(text, Path::new("dir/config.json"))
    }

    #[test]
    fn gpt_neo_attention_types_expand_per_layer() {
        let config = parse(
            r#"{"model_type": "gpt_neo", "vocab_size": 10, "max_position_embeddings": 8,
                "hidden_size": 4, "num_layers": 4, "num_heads": 2, "window_size": 3,
                "attention_types": [[["global", "local"], 2]]}"#,
        )
        .unwrap();
        use AttentionKind::*;
        assert_eq!(config.attention_layers, vec![Global, Local, Global, Local]);
        assert_eq!(config.n_inner, 16);
        let back =
            TransformerConfig::from_hf_json(&config.to_hf_json().to_string(), Path::new("x"));
        assert_eq!(back.unwrap(), config);
    }

    #[test]
    fn unknown_model_type_names_file_and_type() {
        let err = parse(r#"{"model_type": "mistral"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("dir/config.json"), "{err}");
        assert!(err.contains("\"mistral\""), "{err}");
    }

    #[test]
    fn attention_types_must_cover_every_layer() {
        let err = parse(
            r#"{"model_type": "gpt_neo", "vocab_size": 10, "max_position_embeddings": 8,
                "hidden_size": 4, "num_layers": 3, "num_heads": 2, "window_size": 3,
                "attention_types": [[["global", "local"], 1]]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("attention_types"), "{err}");
    }

    #[test]
    fn heads_must_divide_width() {
        let err = parse(
            r#"{"model_type": "gpt2", "vocab_size": 10, "n_positions": 8, "n_embd": 10,
                "n_layer": 1, "n_head": 3}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("n_head") && err.contains("n_embd = 10"),
            "{err}"
        );
    }

    #[test]
    fn n_params_counts_gpt2_small() {
        // GPT-2 small (124M): the figure every reference quotes, 124,439,808.
        let config = TransformerConfig::gpt2(50257, 1024, 768, 12, 12);
        assert_eq!(config.n_params(), 124_439_808);
    }
}
