//! `Norm`: the normalisation before each sub-layer and at the end of the stack — LayerNorm
//! (GPT-2, GPT-Neo: centred, gain and bias) or RMSNorm (Llama, Qwen2: x / rms(x) · gain).

use burn::nn::{LayerNorm, LayerNormConfig, RmsNorm, RmsNormConfig};
use burn::prelude::*;

use crate::config::TransformerConfig;

#[derive(Module, Debug)]
pub enum Norm {
    Layer(LayerNorm),
    Rms(RmsNorm),
}

impl Norm {
    /// The family's norm over `n_embd` channels, gain 1 (and bias 0).
    pub fn init(config: &TransformerConfig, device: &Device) -> Self {
        let eps = config.layer_norm_epsilon;
        if config.arch.rotary() {
            Norm::Rms(
                RmsNormConfig::new(config.n_embd)
                    .with_epsilon(eps)
                    .init(device),
            )
        } else {
            Norm::Layer(
                LayerNormConfig::new(config.n_embd)
                    .with_epsilon(eps)
                    .init(device),
            )
        }
    }

    /// # Shapes
    /// - x, returned: `[B, T, C]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        match self {
            Norm::Layer(ln) => ln.forward(x),
            Norm::Rms(rms) => rms.forward(x),
        }
    }
}
