//! GPT-2's weight initialisation: N(0, 0.02) weights, zero biases, unit LayerNorm, and the
//! residual projections scaled down by 1/√(2·n_layer) so the residual stream's variance does
//! not grow with depth (Radford et al. 2019, §2.3).

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::Distribution;

pub(crate) const STD: f64 = 0.02;

/// A `Linear` of `[d_in, d_out]` with N(0, std²) weights and, if `bias`, zero biases.
pub(crate) fn linear(d_in: usize, d_out: usize, bias: bool, std: f64, device: &Device) -> Linear {
    Linear {
        weight: Param::from_tensor(normal([d_in, d_out], std, device)),
        bias: bias.then(|| Param::from_tensor(Tensor::zeros([d_out], device))),
    }
}

pub(crate) fn normal(shape: [usize; 2], std: f64, device: &Device) -> Tensor<2> {
    Tensor::random(shape, Distribution::Normal(0.0, std), device)
}

/// Standard deviation of a residual projection (`attn.c_proj`, `mlp.c_proj`).
pub(crate) fn residual_std(n_layer: usize) -> f64 {
    STD / (2.0 * n_layer as f64).sqrt()
}
