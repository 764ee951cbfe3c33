//! One transformer block (pre-norm: x + attn(ln_1 x), then x + mlp(ln_2 x)) and its MLP.

use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::{gelu, relu, sigmoid, silu};

use crate::attention::CausalSelfAttention;
use crate::cache::KvCache;
use crate::config::{Activation, TransformerConfig};
use crate::init;
use crate::norm::Norm;
use crate::rope::Rope;

/// GPT-2's MLP, c_proj(act(c_fc x)), or with a gate (Llama's SwiGLU:
/// c_proj(silu(c_gate x) ⊙ c_fc x), `c_fc` being `up_proj` and `c_proj` `down_proj`).
#[derive(Module, Debug)]
pub struct Mlp {
    pub c_fc: Linear,
    pub c_gate: Option<Linear>,
    pub c_proj: Linear,
    #[module(skip)]
    activation: Activation,
}

impl Mlp {
    pub fn init(config: &TransformerConfig, device: &Device) -> Self {
        let (c, inner) = (config.n_embd, config.n_inner);
        // The rotary families' MLPs are gated and have no biases.
        let gated = config.arch.rotary();
        Self {
            c_fc: init::linear(c, inner, !gated, init::STD, device),
            c_gate: gated.then(|| init::linear(c, inner, false, init::STD, device)),
            c_proj: init::linear(inner, c, !gated, init::residual_std(config.n_layer), device),
            activation: config.activation,
        }
    }

    /// # Shapes
    /// - x, returned: `[B, T, C]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let (x, gate) = match &self.c_gate {
            Some(gate) => (x.clone(), Some(gate.forward(x))),
            None => (x, None),
        };
        let up = self.c_fc.forward(x);
        let x = match gate {
            Some(gate) => self.activate(gate) * up,
            None => self.activate(up),
        };
        self.c_proj.forward(x)
    }

    fn activate(&self, x: Tensor<3>) -> Tensor<3> {
        match self.activation {
            Activation::GeluNew => gelu_new(x),
            Activation::Gelu => gelu(x),
            Activation::Relu => relu(x),
            Activation::Silu => silu(x),
        }
    }
}

/// GPT-2's `gelu_new`: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), written as
/// x·sigmoid(2·√(2/π)·(x + 0.044715·x³)) (the same function, since 1 + tanh(u) = 2·sigmoid(2u)).
/// burn's `gelu_approximate` takes x³ with `powf` and calls `tanh`; on the flex backend both
/// are per-element libm calls (powf, tanhf → expm1f) that a profile of `pglab bench` (sampling
/// and a training step) put at about 16 % of its time. Products and one sigmoid (flex fuses it,
/// forward and backward) do the same work in fewer, cheaper ops.
fn gelu_new<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    const TWO_SQRT_2_OVER_PI: f64 =
        2.0 * core::f64::consts::FRAC_2_SQRT_PI * core::f64::consts::FRAC_1_SQRT_2;
    let cube = x.clone() * x.clone() * x.clone();
    let inner = (x.clone() + cube * 0.044715) * TWO_SQRT_2_OVER_PI;
    x * sigmoid(inner)
}

#[derive(Module, Debug)]
pub struct Block {
    pub ln_1: Norm,
    pub attn: CausalSelfAttention,
    pub ln_2: Norm,
    pub mlp: Mlp,
}

impl Block {
    pub fn init(config: &TransformerConfig, device: &Device) -> Self {
        Self {
            ln_1: Norm::init(config, device),
            attn: CausalSelfAttention::init(config, device),
            ln_2: Norm::init(config, device),
            mlp: Mlp::init(config, device),
        }
    }

    /// # Shapes
    /// - x, returned: `[B, T, C]`; bias: `[B, 1, T, len + T]`
    pub fn forward(
        &self,
        x: Tensor<3>,
        bias: Tensor<4>,
        rope: Option<&Rope>,
        cache: &mut KvCache,
        layer: usize,
    ) -> Tensor<3> {
        let attention = self
            .attn
            .forward(self.ln_1.forward(x.clone()), bias, rope, cache, layer);
        let x = x + attention;
        x.clone() + self.mlp.forward(self.ln_2.forward(x))
    }
}
