//! Causal multi-head self-attention, global or over a sliding window, reading and extending a
//! `KvCache` so that generating token t costs O(t), not a pass over the whole prefix.

use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::softmax;

use crate::cache::KvCache;
use crate::config::{Arch, GptConfig};
use crate::init;

/// Self-attention with a fused q/k/v projection (`c_attn`, `[C, 3C]`) and an output projection
/// (`c_proj`). GPT-Neo's separate q/k/v checkpoint tensors are concatenated into `c_attn` when
/// loading, so both families run the same code.
#[derive(Module, Debug)]
pub struct CausalSelfAttention {
    pub c_attn: Linear,
    pub c_proj: Linear,
    n_head: usize,
    /// GPT-2 scales scores by 1/√(C/H); GPT-Neo does not scale them at all.
    scale: f64,
}

impl CausalSelfAttention {
    pub fn init(config: &GptConfig, device: &Device) -> Self {
        let c = config.n_embd;
        let (qkv_bias, scale) = match config.arch {
            Arch::Gpt2 => (true, 1.0 / (config.head_dim() as f64).sqrt()),
            Arch::GptNeo => (false, 1.0),
        };
        Self {
            c_attn: init::linear(c, 3 * c, qkv_bias, init::STD, device),
            c_proj: init::linear(c, c, true, init::residual_std(config.n_layer), device),
            n_head: config.n_head,
            scale,
        }
    }

    /// # Shapes
    /// - x: `[B, T, C]` for the T new positions
    /// - bias: `[B, 1, T, len + T]` (see `KvCache::attention_bias`)
    /// - returned: `[B, T, C]`
    pub fn forward(
        &self,
        x: Tensor<3>,
        bias: Tensor<4>,
        cache: &mut KvCache,
        layer: usize,
    ) -> Tensor<3> {
        let [b, t, c] = x.dims();
        let h = self.n_head;
        let heads = |x: Tensor<3>| x.reshape([b, t, h, c / h]).swap_dims(1, 2); // [B, H, T, C/H]

        let qkv = self.c_attn.forward(x); // [B, T, 3C]
        let q = heads(qkv.clone().slice([0..b, 0..t, 0..c]));
        let k = heads(qkv.clone().slice([0..b, 0..t, c..2 * c]));
        let v = heads(qkv.slice([0..b, 0..t, 2 * c..3 * c]));
        let (k, v) = cache.append(layer, k, v); // [B, H, len + T, C/H]

        let scores = q.matmul(k.swap_dims(2, 3)); // [B, H, T, len + T]
        let scores = if self.scale == 1.0 {
            scores
        } else {
            scores * self.scale
        };
        let weights = softmax(scores + bias, 3);
        let y = weights.matmul(v).swap_dims(1, 2).reshape([b, t, c]);
        self.c_proj.forward(y)
    }
}
