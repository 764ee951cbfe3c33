//! `KvCache`: the keys and values of every position seen so far, per layer, plus what a batch
//! of left-padded rows needs to attend correctly (pad lengths, positions, attention masks).
//!
//! Rows of a batch may have prompts of different lengths. They are left-padded to a common
//! length: row b's first `pad[b]` positions are padding. A padding position is never attended
//! to by a real token, and real tokens get position ids counted from their row's first real
//! token, so a padded row computes exactly what the same row computes alone.

use burn::prelude::*;

use crate::config::AttentionKind;

/// Added to the attention score of a masked key. Finite, so that no row of the softmax is ever
/// all `-inf` (which would give NaN, and NaN gradients); `exp(-1e9)` is exactly 0 in f32.
const MASKED: f32 = -1e9;

/// Keys and values of past positions, one entry per layer, outside the `Module`.
///
/// With a capacity, each layer's keys and values live in buffers of that many positions,
/// allocated at the first append and written in place after it: appending a token then copies
/// only its own keys and values, not the whole cache (`Tensor::cat`), which made sampling 100
/// and 200 tokens 15–20 % slower. Past the capacity (or without one) appends concatenate.
#[derive(Debug, Clone)]
pub struct KvCache {
    layers: Vec<Option<(Tensor<4>, Tensor<4>)>>,
    pad: Vec<usize>,
    len: usize,
    capacity: usize,
}

impl KvCache {
    /// An empty cache for `n_layer` layers and a batch whose row b has `pad[b]` padding
    /// positions at its start.
    pub fn new(n_layer: usize, pad: Vec<usize>) -> Self {
        Self::with_capacity(n_layer, pad, 0)
    }

    /// An empty cache that will hold up to `capacity` positions (padding included) without
    /// reallocating.
    pub fn with_capacity(n_layer: usize, pad: Vec<usize>, capacity: usize) -> Self {
        Self {
            layers: vec![None; n_layer],
            pad,
            len: 0,
            capacity,
        }
    }

    /// Number of positions (padding included) already in the cache.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Left-padding of each row.
    pub fn pad(&self) -> &[usize] {
        &self.pad
    }

    /// Appends this step's keys and values to layer `layer` and returns all of them.
    ///
    /// # Shapes
    /// - k, v: `[B, H, T, C/H]` for the T new positions
    /// - returned: `[B, H, len + T, C/H]`
    pub(crate) fn append(
        &mut self,
        layer: usize,
        k: Tensor<4>,
        v: Tensor<4>,
    ) -> (Tensor<4>, Tensor<4>) {
        let [b, h, t, d] = k.dims();
        let end = self.len + t;
        let (k, v) = match self.layers[layer].take() {
            // The first append of a cache with room: buffers of `capacity` positions.
            None if end < self.capacity => {
                let buffer = |x: Tensor<4>| {
                    Tensor::<4>::zeros([b, h, self.capacity, d], &x.device())
                        .slice_assign([0..b, 0..h, 0..t, 0..d], x)
                };
                self.layers[layer] = Some((buffer(k.clone()), buffer(v.clone())));
                return (k, v);
            }
            None => (k, v),
            // In place: the views returned last time are dropped by now, so flex writes into
            // the buffer it owns alone.
            Some((past_k, past_v)) if end <= past_k.dims()[2] && self.capacity > 0 => {
                let at = [0..b, 0..h, self.len..end, 0..d];
                let past_k = past_k.slice_assign(at.clone(), k);
                let past_v = past_v.slice_assign(at, v);
                let seen = [0..b, 0..h, 0..end, 0..d];
                let views = (
                    past_k.clone().slice(seen.clone()),
                    past_v.clone().slice(seen),
                );
                self.layers[layer] = Some((past_k, past_v));
                return views;
            }
            Some((past_k, past_v)) => {
                let [.., stored, _] = past_k.dims();
                let seen = [0..b, 0..h, 0..self.len.min(stored), 0..d];
                (
                    Tensor::cat(vec![past_k.slice(seen.clone()), k], 2),
                    Tensor::cat(vec![past_v.slice(seen), v], 2),
                )
            }
        };
        self.layers[layer] = Some((k.clone(), v.clone()));
        (k, v)
    }

    /// Marks `t` new positions as stored (after every layer has appended them).
    pub(crate) fn advance(&mut self, t: usize) {
        self.len += t;
    }

    /// Position ids of the next `t` positions: counted from each row's first real token;
    /// padding positions get 0.
    ///
    /// # Shapes
    /// - returned: `[B, T]`
    pub(crate) fn positions(&self, t: usize, device: &Device) -> Tensor<2, Int> {
        Tensor::from_data(
            TensorData::new(self.position_ids(t), [self.pad.len(), t]),
            device,
        )
    }

    /// [`positions`](Self::positions) on the host, row-major.
    pub(crate) fn position_ids(&self, t: usize) -> Vec<i64> {
        self.pad
            .iter()
            .flat_map(|&pad| (self.len..self.len + t).map(move |i| i.saturating_sub(pad) as i64))
            .collect()
    }

    /// The largest position id the next `t` positions will use, plus one.
    pub(crate) fn context_needed(&self, t: usize) -> usize {
        let min_pad = self.pad.iter().copied().min().unwrap_or(0);
        (self.len + t).saturating_sub(min_pad)
    }

    /// Additive attention bias for the next `t` queries against all `len + t` keys: 0 where a
    /// query may attend, `MASKED` elsewhere. A query sees earlier-or-equal real positions of its
    /// own row (and, for a local layer, only the last `window` of them). A padding query sees
    /// only itself, so its softmax stays finite; nothing real ever reads it.
    ///
    /// # Shapes
    /// - returned: `[B, 1, T, len + T]`, broadcast over heads
    pub(crate) fn attention_bias(
        &self,
        t: usize,
        kind: AttentionKind,
        window: usize,
        device: &Device,
    ) -> Tensor<4> {
        let keys = self.len + t;
        let mut bias = Vec::with_capacity(self.pad.len() * t * keys);
        for &pad in &self.pad {
            for q in self.len..self.len + t {
                for k in 0..keys {
                    let causal = k <= q && (k >= pad || k == q);
                    let in_window = kind == AttentionKind::Global || q - k.min(q) < window;
                    bias.push(if causal && in_window { 0.0 } else { MASKED });
                }
            }
        }
        Tensor::from_data(TensorData::new(bias, [self.pad.len(), 1, t, keys]), device)
    }
}
