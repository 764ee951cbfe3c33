//! Causal multi-head self-attention, global or over a sliding window, with grouped key/value
//! heads and rotary positions where the family has them, reading and extending a `KvCache` so
//! that generating token t costs O(t), not a pass over the whole prefix.

use burn::nn::{Linear, RmsNorm, RmsNormConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;

use crate::cache::KvCache;
use crate::config::{Arch, TransformerConfig};
use crate::init;
use crate::rope::Rope;

/// Self-attention with a fused q/k/v projection (`c_attn`, `[C, Q + 2·KV]`, Q = n_head · head
/// width, KV = n_kv_head · head width; Q = C except where a checkpoint sets the head width
/// apart) and an output projection (`c_proj`, `[Q, C]`). Separate q/k/v checkpoint tensors
/// (GPT-Neo, Llama, Qwen2, Qwen3) are concatenated into `c_attn` when loading, so every family
/// runs this code.
#[derive(Module, Debug)]
pub struct CausalSelfAttention {
    pub c_attn: Linear,
    pub c_proj: Linear,
    /// Qwen3's RMSNorm over each query head's channels, before the rotation (gain `[D]`).
    pub q_norm: Option<RmsNorm>,
    /// The same over each key head's channels.
    pub k_norm: Option<RmsNorm>,
    n_head: usize,
    /// Key/value heads; each serves n_head / n_kv_head query heads. The cache keeps them as they
    /// are (not repeated), so grouped-query attention also shrinks the cache.
    n_kv_head: usize,
    head_dim: usize,
    /// Scores are scaled by 1/√D, except GPT-Neo's, which are not scaled at all.
    scale: f64,
}

impl CausalSelfAttention {
    pub fn init(config: &TransformerConfig, device: &Device) -> Self {
        let (c, q, kv, d) = (
            config.n_embd,
            config.q_dim(),
            config.kv_dim(),
            config.head_dim(),
        );
        let scaled = 1.0 / (d as f64).sqrt();
        // (q/k/v bias, output bias, score scale)
        let (qkv_bias, out_bias, scale) = match config.arch {
            Arch::Gpt2 => (true, true, scaled),
            Arch::GptNeo => (false, true, 1.0),
            Arch::Llama | Arch::Qwen3 => (false, false, scaled),
            Arch::Qwen2 => (true, false, scaled),
        };
        let residual_std = init::residual_std(config.n_layer);
        let head_norm = || {
            config.arch.qk_norm().then(|| {
                RmsNormConfig::new(d)
                    .with_epsilon(config.layer_norm_epsilon)
                    .init(device)
            })
        };
        Self {
            c_attn: init::linear(c, q + 2 * kv, qkv_bias, init::STD, device),
            c_proj: init::linear(q, c, out_bias, residual_std, device),
            q_norm: head_norm(),
            k_norm: head_norm(),
            n_head: config.n_head,
            n_kv_head: config.n_kv_head,
            head_dim: d,
            scale,
        }
    }

    /// # Shapes
    /// - x: `[B, T, C]` for the T new positions
    /// - bias: `[B, 1, T, len + T]` (see `KvCache::attention_bias`)
    /// - rope: the T positions' rotations, for a rotary family
    /// - returned: `[B, T, C]`
    pub fn forward(
        &self,
        x: Tensor<3>,
        bias: Tensor<4>,
        rope: Option<&Rope>,
        cache: &mut KvCache,
        layer: usize,
    ) -> Tensor<3> {
        let [b, t, _] = x.dims();
        let (h, hkv, d) = (self.n_head, self.n_kv_head, self.head_dim);
        let (q_dim, kv) = (h * d, hkv * d);
        // [B, T, heads·D] → [B, heads, T, D]
        let heads = |x: Tensor<3>, n: usize| x.reshape([b, t, n, d]).swap_dims(1, 2);

        let qkv = self.c_attn.forward(x); // [B, T, Q + 2·KV]
        let mut q = heads(qkv.clone().slice([0..b, 0..t, 0..q_dim]), h);
        let mut k = heads(qkv.clone().slice([0..b, 0..t, q_dim..q_dim + kv]), hkv);
        let v = heads(qkv.slice([0..b, 0..t, q_dim + kv..q_dim + 2 * kv]), hkv);
        if let (Some(q_norm), Some(k_norm)) = (&self.q_norm, &self.k_norm) {
            q = q_norm.forward(q);
            k = k_norm.forward(k);
        }
        if let Some(rope) = rope {
            q = rope.apply(q);
            k = rope.apply(k);
        }
        let (k, v) = cache.append(layer, k, v); // [B, Hkv, len + T, D]
        let (k, v) = (repeat_kv(k, h / hkv), repeat_kv(v, h / hkv)); // [B, H, len + T, D]

        let scores = q.matmul(k.swap_dims(2, 3)); // [B, H, T, len + T]
        let scores = if self.scale == 1.0 {
            scores
        } else {
            scores * self.scale
        };
        let weights = softmax(scores + bias, 3);
        let y = weights.matmul(v).swap_dims(1, 2).reshape([b, t, q_dim]);
        self.c_proj.forward(y)
    }
}

/// Each key/value head repeated for the `group` query heads it serves (`transformers`'
/// `repeat_kv`: head j serves query heads j·group … (j+1)·group − 1).
///
/// # Shapes
/// - x: `[B, Hkv, S, D]`; returned: `[B, Hkv·group, S, D]`
fn repeat_kv(x: Tensor<4>, group: usize) -> Tensor<4> {
    if group == 1 {
        return x;
    }
    let [b, hkv, s, d] = x.dims();
    x.unsqueeze_dim::<5>(2)
        .expand([b, hkv, group, s, d])
        .reshape([b, hkv * group, s, d])
}
