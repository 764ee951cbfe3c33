//! Rotary position embeddings (Su et al. 2021) as `transformers`' Llama applies them: channel i
//! of the first half of a head is rotated with channel i of the second half ("rotate half"),
//! by the angle position · inv_freq[i], with inv_freq[i] = θ^(−2i/D) and, for Llama 3's
//! scaling, the long wavelengths stretched by `factor` (`RopeParameters::inv_freq`).
//!
//! The angles are computed on the host, in f32 as `transformers` computes them (inverse
//! frequencies in f32, then position × frequency in f32), from each row's own position ids: a
//! left-padded row's first real token is at position 0, as in `generate`, so a padded row
//! rotates exactly as the row alone.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// What sets a model's rotary frequencies: the base θ and how (whether) they are rescaled for
/// long contexts. `hf_rope.rs` reads it from either `config.json` format.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RopeParameters {
    pub theta: f64,
    pub scaling: RopeScaling,
}

/// The rescaling of the frequencies (`rope_type` in `transformers`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RopeScaling {
    /// `"default"`: θ^(−2i/D) as it is.
    Default,
    /// `"llama3"` (Llama 3.1/3.2): frequencies whose wavelength exceeds
    /// original_max_position_embeddings / low_freq_factor are divided by `factor`, those shorter
    /// than original_max_position_embeddings / high_freq_factor are kept, and those between are
    /// interpolated smoothly.
    Llama3 {
        factor: f64,
        low_freq_factor: f64,
        high_freq_factor: f64,
        original_max_position_embeddings: f64,
    },
}

impl RopeParameters {
    /// Plain RoPE with base `theta`.
    pub fn plain(theta: f64) -> Self {
        Self {
            theta,
            scaling: RopeScaling::Default,
        }
    }

    /// The D/2 inverse frequencies of a head of `head_dim` channels, in f32 operation by
    /// operation as `transformers`' `_compute_default_rope_parameters` and
    /// `_compute_llama3_parameters` compute them (torch promotes Python scalars to the tensor's
    /// f32 before each operation).
    pub fn inv_freq(&self, head_dim: usize) -> Vec<f32> {
        let base = self.theta as f32;
        let default = (0..head_dim / 2).map(|i| 1.0 / base.powf((2 * i) as f32 / head_dim as f32));
        match self.scaling {
            RopeScaling::Default => default.collect(),
            RopeScaling::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_max_position_embeddings: old_context,
            } => {
                // Python floats (f64) until they meet the f32 tensor.
                let low_freq_wavelen = (old_context / low_freq_factor) as f32;
                let high_freq_wavelen = (old_context / high_freq_factor) as f32;
                let (factor, low) = (factor as f32, low_freq_factor as f32);
                let band = (high_freq_factor - low_freq_factor) as f32;
                let two_pi = std::f64::consts::TAU as f32;
                default
                    .map(|f| {
                        let wavelen = two_pi / f;
                        let scaled = if wavelen > low_freq_wavelen {
                            f / factor
                        } else {
                            f
                        };
                        if wavelen >= high_freq_wavelen && wavelen <= low_freq_wavelen {
                            let smooth = (old_context as f32 / wavelen - low) / band;
                            (1.0 - smooth) * scaled / factor + smooth * scaled
                        } else {
                            scaled
                        }
                    })
                    .collect()
            }
        }
    }
}

/// cos and sin of every (row, position, channel) angle of one forward pass.
pub struct Rope {
    cos: Tensor<4>,
    sin: Tensor<4>,
}

impl Rope {
    /// The angles of `positions` (`[B, T]`, row-major) for heads of `head_dim` channels.
    pub fn new(
        positions: &[i64],
        [b, t]: [usize; 2],
        head_dim: usize,
        parameters: &RopeParameters,
        device: &Device,
    ) -> Self {
        let inv_freq = parameters.inv_freq(head_dim);
        let mut cos = Vec::with_capacity(b * t * head_dim);
        let mut sin = Vec::with_capacity(b * t * head_dim);
        for &p in positions {
            for _ in 0..2 {
                for f in &inv_freq {
                    let angle = p as f32 * f;
                    cos.push(angle.cos());
                    sin.push(angle.sin());
                }
            }
        }
        let tensor =
            |v: Vec<f32>| Tensor::from_data(TensorData::new(v, [b, 1, t, head_dim]), device);
        Self {
            cos: tensor(cos),
            sin: tensor(sin),
        }
    }

    /// x · cos + rotate_half(x) · sin, with rotate_half(x) = (−x₂, x₁) for x = (x₁, x₂).
    ///
    /// # Shapes
    /// - x, returned: `[B, H, T, D]`
    pub fn apply(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, h, t, d] = x.dims();
        let first = x.clone().slice([0..b, 0..h, 0..t, 0..d / 2]);
        let second = x.clone().slice([0..b, 0..h, 0..t, d / 2..d]);
        let rotated = Tensor::cat(vec![second.neg(), first], 3);
        x * self.cos.clone() + rotated * self.sin.clone()
    }
}
