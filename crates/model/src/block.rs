//! One transformer block (pre-LayerNorm: x + attn(ln_1 x), then x + mlp(ln_2 x)) and its MLP.

use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::prelude::*;
use burn::tensor::activation::{gelu, gelu_approximate, relu};

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
            Activation::GeluNew => gelu_approximate(x),
            Activation::Gelu => gelu(x),
            Activation::Relu => relu(x),
        };
        self.c_proj.forward(x)
    }
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
