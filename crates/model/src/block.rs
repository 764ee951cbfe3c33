//! One transformer block (pre-LayerNorm: x + attn(ln_1 x), then x + mlp(ln_2 x)) and its MLP.

use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::prelude::*;
use burn::tensor::activation::{gelu, relu, sigmoid};

use crate::attention::CausalSelfAttention;
use crate::cache::KvCache;
use crate::config::{Activation, GptConfig};
use crate::init;

#[derive(Module, Debug)]
pub struct Mlp {
    pub c_fc: Linear,
    pub c_proj: Linear,
    #[module(skip)]
    activation: Activation,
}

impl Mlp {
    pub fn init(config: &GptConfig, device: &Device) -> Self {
        Self {
            c_fc: init::linear(config.n_embd, config.n_inner, true, init::STD, device),
            c_proj: init::linear(
                config.n_inner,
                config.n_embd,
                true,
                init::residual_std(config.n_layer),
                device,
            ),
            activation: config.activation,
        }
    }

    /// # Shapes
    /// - x, returned: `[B, T, C]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = self.c_fc.forward(x);
        let x = match self.activation {
            Activation::GeluNew => gelu_new(x),
            Activation::Gelu => gelu(x),
            Activation::Relu => relu(x),
        };
        self.c_proj.forward(x)
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
    pub ln_1: LayerNorm,
    pub attn: CausalSelfAttention,
    pub ln_2: LayerNorm,
    pub mlp: Mlp,
}

impl Block {
    pub fn init(config: &GptConfig, device: &Device) -> Self {
        let ln = || {
            LayerNormConfig::new(config.n_embd)
                .with_epsilon(config.layer_norm_epsilon)
                .init(device)
        };
        Self {
            ln_1: ln(),
            attn: CausalSelfAttention::init(config, device),
            ln_2: ln(),
            mlp: Mlp::init(config, device),
        }
    }

    /// # Shapes
    /// - x, returned: `[B, T, C]`; bias: `[B, 1, T, len + T]`
    pub fn forward(
        &self,
        x: Tensor<3>,
        bias: Tensor<4>,
        cache: &mut KvCache,
        layer: usize,
    ) -> Tensor<3> {
        let x = x.clone() + self.attn.forward(self.ln_1.forward(x), bias, cache, layer);
        x.clone() + self.mlp.forward(self.ln_2.forward(x))
    }
}
