//! `Transformer`: token embeddings (plus learned position embeddings, or rotary positions inside
//! attention), a stack of blocks, a final norm and an LM head, tied to the token embedding or
//! its own. Module names are GPT-2's (`wte`, `wpe`, `h`, `ln_f`); the checkpoint module maps
//! every family's names onto them.

use burn::module::Param;
use burn::nn::{Embedding, Linear};
use burn::prelude::*;

use crate::block::Block;
use crate::cache::KvCache;
use crate::config::{AttentionKind, TransformerConfig};
use crate::error::{ModelError, Result};
use crate::init;
use crate::norm::Norm;
use crate::rope::Rope;

#[derive(Module, Debug)]
pub struct Transformer {
    pub wte: Embedding,
    /// Learned position embeddings; none for the rotary families.
    pub wpe: Option<Embedding>,
    pub h: Vec<Block>,
    pub ln_f: Norm,
    /// An untied LM head, `[C, V]`; none when the head is `wte`.
    pub lm_head: Option<Linear>,
    #[module(skip)]
    config: TransformerConfig,
}

impl Transformer {
    /// A freshly initialised model (GPT-2's initialisation; seed it with `device.seed(..)`).
    pub fn init(config: &TransformerConfig, device: &Device) -> Self {
        let embedding = |rows, std| Embedding {
            weight: Param::from_tensor(init::normal([rows, config.n_embd], std, device)),
        };
        Self {
            wte: embedding(config.vocab_size, init::STD),
            wpe: (!config.arch.rotary()).then(|| embedding(config.n_positions, 0.01)),
            h: (0..config.n_layer)
                .map(|_| Block::init(config, device))
                .collect(),
            ln_f: Norm::init(config, device),
            lm_head: (!config.tie_word_embeddings)
                .then(|| init::linear(config.n_embd, config.vocab_size, false, init::STD, device)),
            config: config.clone(),
        }
    }

    pub fn config(&self) -> &TransformerConfig {
        &self.config
    }

    /// An empty cache for a batch whose row b starts with `pad[b]` padding positions.
    pub fn new_cache(&self, pad: Vec<usize>) -> KvCache {
        KvCache::new(self.config.n_layer, pad)
    }

    /// An empty cache with room for `capacity` positions (padding included), for decoding
    /// token by token.
    pub fn new_cache_with_capacity(&self, pad: Vec<usize>, capacity: usize) -> KvCache {
        KvCache::with_capacity(self.config.n_layer, pad, capacity)
    }

    /// Runs the T new positions through the transformer, extending `cache`, and returns the
    /// final hidden states (after `ln_f`).
    ///
    /// # Shapes
    /// - input_ids: `[B, T]`
    /// - returned: `[B, T, C]`
    pub fn forward_hidden(
        &self,
        input_ids: Tensor<2, Int>,
        cache: &mut KvCache,
    ) -> Result<Tensor<3>> {
        let [_, t] = input_ids.dims();
        let needed = cache.context_needed(t);
        if needed > self.config.n_positions {
            return Err(ModelError::ContextTooLong {
                needed,
                n_positions: self.config.n_positions,
            });
        }
        let device = input_ids.device();
        let [b, _] = input_ids.dims();
        let mut x = self.wte.forward(input_ids);
        if let Some(wpe) = &self.wpe {
            x = x + wpe.forward(cache.positions(t, &device));
        }
        let rope = self.config.arch.rotary().then(|| {
            let c = &self.config;
            Rope::new(
                &cache.position_ids(t),
                [b, t],
                c.head_dim(),
                &c.rope,
                &device,
            )
        });

        let bias = |kind| cache.attention_bias(t, kind, self.config.window_size, &device);
        let global = bias(AttentionKind::Global);
        let local = self
            .config
            .attention_layers
            .contains(&AttentionKind::Local)
            .then(|| bias(AttentionKind::Local));
        for (layer, block) in self.h.iter().enumerate() {
            let bias = match (self.config.attention_layers[layer], &local) {
                (AttentionKind::Local, Some(local)) => local.clone(),
                _ => global.clone(),
            };
            x = block.forward(x, bias, rope.as_ref(), cache, layer);
        }
        cache.advance(t);
        Ok(self.ln_f.forward(x))
    }

    /// Logits over the vocabulary from hidden states, through the head: `wte` (tied) or its own.
    ///
    /// # Shapes
    /// - hidden: `[B, T, C]`
    /// - returned: `[B, T, V]`
    pub fn lm_head(&self, hidden: Tensor<3>) -> Tensor<3> {
        let head = match &self.lm_head {
            Some(head) => head.weight.val(),           // [C, V]
            None => self.wte.weight.val().transpose(), // [V, C]ᵀ
        };
        self.lm_head_with(hidden, head)
    }

    /// The head's [C, V] weight laid out row-major, for a loop that applies it many times
    /// without a gradient (decoding). A tied head is wteᵀ, a strided view that the CPU matmul
    /// packs anew at every call: at the chapter's size (V = 50,257, C = 768, 10 rows) one decode
    /// step's head took 31–36 ms through the view and 16–19 ms through this copy (bitwise the
    /// same logits from 3 rows on; a single row takes gemm's vector path and differs in the last
    /// bits). The copy costs one pass over the 154 MB weight per `sample` call (on a GPU it goes
    /// through host memory: one read-back and one upload per call).
    pub fn decode_head(&self) -> Tensor<2> {
        match &self.lm_head {
            Some(head) => head.weight.val(),
            None => {
                let view = self.wte.weight.val().transpose();
                let device = view.device();
                Tensor::from_data(view.into_data(), &device)
            }
        }
    }

    /// [`lm_head`](Self::lm_head) through a given [C, V] `head` (from
    /// [`decode_head`](Self::decode_head)).
    pub fn lm_head_with(&self, hidden: Tensor<3>, head: Tensor<2>) -> Tensor<3> {
        let [b, t, c] = hidden.dims();
        let logits = hidden.reshape([b * t, c]).matmul(head); // [B·T, V]
        logits.reshape([b, t, self.config.vocab_size])
    }

    /// Logits for the T new positions, extending `cache`.
    ///
    /// # Shapes
    /// - input_ids: `[B, T]`
    /// - returned: `[B, T, V]`
    pub fn forward(&self, input_ids: Tensor<2, Int>, cache: &mut KvCache) -> Result<Tensor<3>> {
        let hidden = self.forward_hidden(input_ids, cache)?;
        Ok(self.lm_head(hidden))
    }

    /// Logits of unpadded sequences of equal length, in one pass without a cache to keep.
    ///
    /// # Shapes
    /// - input_ids: `[B, T]`
    /// - returned: `[B, T, V]`
    pub fn logits(&self, input_ids: Tensor<2, Int>) -> Result<Tensor<3>> {
        let [b, _] = input_ids.dims();
        self.forward(input_ids, &mut self.new_cache(vec![0; b]))
    }

    /// Checks that every id is inside the vocabulary (embedding lookups do not).
    pub fn check_ids(&self, ids: &[u32]) -> Result<()> {
        match ids
            .iter()
            .find(|&&id| id as usize >= self.config.vocab_size)
        {
            Some(&id) => Err(ModelError::TokenOutOfRange {
                id,
                vocab_size: self.config.vocab_size,
            }),
            None => Ok(()),
        }
    }
}
