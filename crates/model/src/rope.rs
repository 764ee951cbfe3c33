//! Rotary position embeddings (Su et al. 2021) as `transformers`' Llama applies them: channel i
//! of the first half of a head is rotated with channel i of the second half ("rotate half"),
//! by the angle position · θ^(−2i/D).
//!
//! The angles are computed on the host, in f32 as `transformers` computes them (inverse
//! frequencies in f32, then position × frequency in f32), from each row's own position ids: a
//! left-padded row's first real token is at position 0, as in `generate`, so a padded row
//! rotates exactly as the row alone.

use burn::prelude::*;

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
        theta: f64,
        device: &Device,
    ) -> Self {
        let half = head_dim / 2;
        let inv_freq: Vec<f32> = (0..half)
            .map(|i| 1.0 / (theta as f32).powf((2 * i) as f32 / head_dim as f32))
            .collect();
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
