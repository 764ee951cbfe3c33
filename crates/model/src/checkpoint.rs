//! Hugging Face model directories: `config.json` + `model.safetensors` (+ a tokenizer), read
//! and written in the layout `transformers` uses, so checkpoints move both ways.
//!
//! Module names are Hugging Face's, so loading is a copy. Two things are not:
//! - GPT-2 stores its projections as Conv1D weights, `[in, out]` — the orientation of burn's
//!   `Linear` — while GPT-Neo uses `nn.Linear`, `[out, in]`: GPT-Neo's are transposed.
//! - GPT-Neo has separate q/k/v projections without bias; they are concatenated into the fused
//!   `c_attn` the transformer runs (and split again when saving).
//!
//! GPT-2's and GPT-Neo's LM head is tied to `wte`: it is neither read nor written. Llama, Qwen2
//! and Qwen3 (`model.layers.{i}.self_attn.q_proj`, …, `nn.Linear` weights, separate q/k/v with
//! fewer key/value heads, a gated MLP, RMSNorm gains, Qwen3's `q_norm`/`k_norm`) are mapped in
//! `llama` and `llama_tensors`; their head is read and written when it is not tied.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::nn::{Embedding, Linear};
use burn::prelude::*;
use burn::tensor::DType;
use safetensors::{Dtype, SafeTensors, View};

use crate::config::{Arch, TransformerConfig};
use crate::error::{ModelError, Result};
use crate::norm::Norm;
use crate::tokenizer::Tokenizer;
use crate::transformer::Transformer;

pub const CONFIG_FILE: &str = "config.json";
pub const WEIGHTS_FILE: &str = "model.safetensors";

/// The checkpoint names of one block's tensors that differ between families.
struct Layout {
    /// Fused q/k/v (GPT-2) or the three separate projections (GPT-Neo).
    qkv: Qkv,
    attn_out: &'static str,
    /// Whether linear weights are stored `[out, in]` (nn.Linear) rather than `[in, out]`.
    transposed: bool,
}

enum Qkv {
    Fused(&'static str),
    Split([&'static str; 3]),
}

const GPT2: Layout = Layout {
    qkv: Qkv::Fused("attn.c_attn"),
    attn_out: "attn.c_proj",
    transposed: false,
};

const GPT_NEO: Layout = Layout {
    qkv: Qkv::Split([
        "attn.attention.q_proj",
        "attn.attention.k_proj",
        "attn.attention.v_proj",
    ]),
    attn_out: "attn.attention.out_proj",
    transposed: true,
};

fn layout(arch: Arch) -> &'static Layout {
    match arch {
        Arch::GptNeo => &GPT_NEO,
        _ => &GPT2,
    }
}

/// Buffers some checkpoints carry (causal masks, rotary frequencies); they hold no weights.
const BUFFER_SUFFIXES: [&str; 3] = [".attn.bias", ".attn.masked_bias", ".rotary_emb.inv_freq"];

/// A model and its tokenizer, as found in one directory.
#[derive(Debug)]
pub struct Checkpoint {
    pub model: Transformer,
    pub tokenizer: Tokenizer,
}

impl Checkpoint {
    /// Loads `dir/config.json`, `dir/model.safetensors` and the tokenizer.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        if !dir.is_dir() {
            return Err(ModelError::MissingFile {
                path: dir.to_path_buf(),
                what: "model directory",
            });
        }
        let model = load_model(dir, device)?;
        let tokenizer = Tokenizer::load(dir)?;
        Ok(Self { model, tokenizer })
    }

    /// Writes the model and tokenizer into `dir` (created if missing).
    pub fn save(&self, dir: &Path) -> Result<()> {
        save_model(&self.model, dir)?;
        self.tokenizer.save(dir)
    }
}

/// Loads `dir/config.json` and `dir/model.safetensors`.
pub fn load_model(dir: &Path, device: &Device) -> Result<Transformer> {
    let config = TransformerConfig::from_hf_file(&dir.join(CONFIG_FILE))?;
    let path = dir.join(WEIGHTS_FILE);
    let bytes = std::fs::read(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ModelError::MissingFile {
                path: path.clone(),
                what: "the weights (model.safetensors)",
            }
        } else {
            ModelError::io(&path, e)
        }
    })?;
    let tensors = SafeTensors::deserialize(&bytes).map_err(|e| ModelError::Safetensors {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let mut weights = Weights::new(tensors, path, device);
    let model = weights.model(&config)?;
    weights.check_all_used()?;
    Ok(model)
}

/// Reads tensors by checkpoint name, checking shapes against the config, and remembers which
/// names were used so that leftovers (a wrong `model_type`) are reported.
struct Weights<'a> {
    tensors: SafeTensors<'a>,
    /// `transformer.` when saved from a `…LMHeadModel`, empty for a bare `GPT2Model`.
    prefix: &'static str,
    path: PathBuf,
    device: Device,
    used: HashSet<String>,
}

impl<'a> Weights<'a> {
    fn new(tensors: SafeTensors<'a>, path: PathBuf, device: &Device) -> Self {
        let prefix = if tensors
            .names()
            .iter()
            .any(|n| n.starts_with("transformer."))
        {
            "transformer."
        } else {
            ""
        };
        Self {
            tensors,
            prefix,
            path,
            device: device.clone(),
            used: HashSet::new(),
        }
    }

    fn model(&mut self, config: &TransformerConfig) -> Result<Transformer> {
        if config.arch.rotary() {
            return self.llama(config);
        }
        let (c, inner) = (config.n_embd, config.n_inner);
        let layout = layout(config.arch);
        let mut model = Transformer::init(config, &self.device);
        model.wte.weight = self.param("wte.weight", [config.vocab_size, c], false)?;
        model.wpe = Some(Embedding {
            weight: self.param("wpe.weight", [config.n_positions, c], false)?,
        });
        self.norm(&mut model.ln_f, "ln_f", c)?;
        for (i, block) in model.h.iter_mut().enumerate() {
            let h = format!("h.{i}");
            self.norm(&mut block.ln_1, &format!("{h}.ln_1"), c)?;
            self.norm(&mut block.ln_2, &format!("{h}.ln_2"), c)?;
            block.attn.c_attn = match layout.qkv {
                Qkv::Fused(name) => self.linear(&format!("{h}.{name}"), c, 3 * c, true, false)?,
                Qkv::Split(names) => {
                    let parts = names
                        .iter()
                        .map(|name| self.projection(&format!("{h}.{name}"), c, c, false, true))
                        .collect::<Result<Vec<_>>>()?;
                    fuse(parts)
                }
            };
            let t = layout.transposed;
            block.attn.c_proj = self.linear(&format!("{h}.{}", layout.attn_out), c, c, true, t)?;
            block.mlp.c_fc = self.linear(&format!("{h}.mlp.c_fc"), c, inner, true, t)?;
            block.mlp.c_proj = self.linear(&format!("{h}.mlp.c_proj"), inner, c, true, t)?;
        }
        Ok(model)
    }

    /// A Llama, Qwen2 or Qwen3 checkpoint (`nn.Linear` weights, stored `[out, in]`).
    fn llama(&mut self, config: &TransformerConfig) -> Result<Transformer> {
        let (c, q, kv, inner, vocab) = (
            config.n_embd,
            config.q_dim(),
            config.kv_dim(),
            config.n_inner,
            config.vocab_size,
        );
        let d = config.head_dim();
        let qkv_bias = config.arch == Arch::Qwen2;
        let mut model = Transformer::init(config, &self.device);
        model.wte.weight = self.param("model.embed_tokens.weight", [vocab, c], false)?;
        self.norm(&mut model.ln_f, "model.norm", c)?;
        for (i, block) in model.h.iter_mut().enumerate() {
            let l = format!("model.layers.{i}");
            self.norm(&mut block.ln_1, &format!("{l}.input_layernorm"), c)?;
            self.norm(&mut block.ln_2, &format!("{l}.post_attention_layernorm"), c)?;
            let attention = ["q_proj", "k_proj", "v_proj"]
                .iter()
                .zip([q, kv, kv])
                .map(|(name, width)| {
                    self.projection(&format!("{l}.self_attn.{name}"), c, width, qkv_bias, true)
                })
                .collect::<Result<Vec<_>>>()?;
            block.attn.c_attn = fuse(attention);
            if let Some(norm) = &mut block.attn.q_norm {
                norm.gamma = self.param(&format!("{l}.self_attn.q_norm.weight"), [d], false)?;
            }
            if let Some(norm) = &mut block.attn.k_norm {
                norm.gamma = self.param(&format!("{l}.self_attn.k_norm.weight"), [d], false)?;
            }
            let mut linear = |name: &str, d_in, d_out| {
                self.linear(&format!("{l}.{name}"), d_in, d_out, false, true)
            };
            block.attn.c_proj = linear("self_attn.o_proj", q, c)?;
            block.mlp.c_gate = Some(linear("mlp.gate_proj", c, inner)?);
            block.mlp.c_fc = linear("mlp.up_proj", c, inner)?;
            block.mlp.c_proj = linear("mlp.down_proj", inner, c)?;
        }
        if !config.tie_word_embeddings {
            model.lm_head = Some(self.linear("lm_head", c, vocab, false, true)?);
        }
        Ok(model)
    }

    fn linear(
        &mut self,
        name: &str,
        d_in: usize,
        d_out: usize,
        bias: bool,
        transposed: bool,
    ) -> Result<Linear> {
        let (weight, bias) = self.projection(name, d_in, d_out, bias, transposed)?;
        Ok(Linear {
            weight: Param::from_tensor(weight),
            bias: bias.map(Param::from_tensor),
        })
    }

    /// A linear layer's weight (`[d_in, d_out]`) and bias, as plain tensors.
    fn projection(
        &mut self,
        name: &str,
        d_in: usize,
        d_out: usize,
        bias: bool,
        transposed: bool,
    ) -> Result<Projection> {
        let weight = self.tensor(&format!("{name}.weight"), [d_in, d_out], transposed)?;
        let bias = match bias {
            true => Some(self.tensor(&format!("{name}.bias"), [d_out], false)?),
            false => None,
        };
        Ok((weight, bias))
    }

    /// A LayerNorm's gain and bias, or an RMSNorm's gain.
    fn norm(&mut self, norm: &mut Norm, name: &str, c: usize) -> Result<()> {
        match norm {
            Norm::Layer(ln) => {
                ln.gamma = self.param(&format!("{name}.weight"), [c], false)?;
                ln.beta = Some(self.param(&format!("{name}.bias"), [c], false)?);
            }
            Norm::Rms(rms) => rms.gamma = self.param(&format!("{name}.weight"), [c], false)?,
        }
        Ok(())
    }

    fn param<const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
        transposed: bool,
    ) -> Result<Param<Tensor<D>>> {
        Ok(Param::from_tensor(self.tensor(name, shape, transposed)?))
    }

    /// The tensor `name` as f32, of our `shape`; a `transposed` 2-D tensor is stored
    /// `[shape[1], shape[0]]` in the checkpoint.
    fn tensor<const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
        transposed: bool,
    ) -> Result<Tensor<D>> {
        let full = format!("{}{name}", self.prefix);
        let view = self
            .tensors
            .tensor(&full)
            .map_err(|_| ModelError::MissingTensor {
                path: self.path.clone(),
                name: full.clone(),
            })?;
        let mut stored = shape;
        if transposed {
            stored.reverse();
        }
        if view.shape() != stored {
            return Err(ModelError::ShapeMismatch {
                path: self.path.clone(),
                name: full,
                expected: stored.to_vec(),
                found: view.shape().to_vec(),
            });
        }
        let dtype = match view.dtype() {
            Dtype::F32 => DType::F32,
            Dtype::F16 => DType::F16,
            Dtype::BF16 => DType::BF16,
            other => {
                return Err(ModelError::UnsupportedDtype {
                    path: self.path.clone(),
                    name: full,
                    dtype: format!("{other:?}"),
                });
            }
        };
        let data = TensorData::from_bytes_vec(view.data().to_vec(), stored, dtype).convert::<f32>();
        self.used.insert(full);
        let tensor = Tensor::<D>::from_data(data, &self.device);
        Ok(if transposed {
            tensor.transpose()
        } else {
            tensor
        })
    }

    fn check_all_used(&self) -> Result<()> {
        // A tied head may be stored beside the embedding it equals.
        let tied_head = ["lm_head.weight"];
        let mut unused: Vec<String> = self
            .tensors
            .names()
            .into_iter()
            .filter(|n| !self.used.contains(*n) && !tied_head.contains(n))
            .filter(|n| !BUFFER_SUFFIXES.iter().any(|s| n.ends_with(s)))
            .map(String::from)
            .collect();
        if unused.is_empty() {
            return Ok(());
        }
        unused.sort();
        Err(ModelError::UnexpectedTensors {
            path: self.path.clone(),
            names: unused,
        })
    }
}

/// A linear layer's weight and bias, before they become parameters.
type Projection = (Tensor<2>, Option<Tensor<1>>);

/// Separate q, k and v projections as one, their outputs side by side (`[C, C + 2·KV]`).
fn fuse(parts: Vec<Projection>) -> Linear {
    let (weights, biases): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
    let biases: Option<Vec<Tensor<1>>> = biases.into_iter().collect();
    Linear {
        weight: Param::from_tensor(Tensor::cat(weights, 1)),
        bias: biases.map(|b| Param::from_tensor(Tensor::cat(b, 0))),
    }
}

/// Writes `dir/config.json` and `dir/model.safetensors` in the layout `transformers` saves a
/// `GPT2LMHeadModel` / `GPTNeoForCausalLM` in. The files are written in place: write into a
/// fresh directory and rename it into place when complete (as `pglab pretrain` does), so no
/// reader sees half a model.
pub fn save_model(model: &Transformer, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
    let config = model.config();
    let json = serde_json::to_string_pretty(&config.to_hf_json()).unwrap_or_default();
    let config_path = dir.join(CONFIG_FILE);
    std::fs::write(&config_path, json).map_err(|e| ModelError::io(&config_path, e))?;

    let tensors = checkpoint_tensors(model);
    let metadata = Some(std::collections::HashMap::from([(
        "format".to_string(),
        "pt".to_string(),
    )]));
    let path = dir.join(WEIGHTS_FILE);
    let bytes =
        safetensors::serialize(tensors.iter().map(|(name, t)| (name.as_str(), t)), metadata)
            .map_err(|e| ModelError::Safetensors {
                path: path.clone(),
                message: e.to_string(),
            })?;
    std::fs::write(&path, bytes).map_err(|e| ModelError::io(&path, e))
}

/// One f32 tensor ready for safetensors.
struct HostTensor {
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl HostTensor {
    fn new<const D: usize>(tensor: Tensor<D>) -> Self {
        let shape = tensor.dims().to_vec();
        let data = tensor.into_data().convert::<f32>();
        Self {
            shape,
            bytes: data.as_bytes().to_vec(),
        }
    }
}

impl View for &HostTensor {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Every tensor of `model` under its checkpoint name.
fn checkpoint_tensors(model: &Transformer) -> BTreeMap<String, HostTensor> {
    if model.config().arch.rotary() {
        llama_tensors(model)
    } else {
        gpt_tensors(model)
    }
}

/// `linear`'s weight (transposed to `[out, in]` when `transposed`) and bias, as `name.weight`
/// and `name.bias`.
fn put_linear(
    out: &mut BTreeMap<String, HostTensor>,
    name: &str,
    linear: &Linear,
    transposed: bool,
) {
    let weight = linear.weight.val();
    let weight = if transposed {
        weight.transpose()
    } else {
        weight
    };
    out.insert(format!("{name}.weight"), HostTensor::new(weight));
    if let Some(bias) = &linear.bias {
        out.insert(format!("{name}.bias"), HostTensor::new(bias.val()));
    }
}

fn put_norm(out: &mut BTreeMap<String, HostTensor>, name: &str, norm: &Norm) {
    let (gamma, beta) = match norm {
        Norm::Layer(ln) => (ln.gamma.val(), ln.beta.as_ref().map(|b| b.val())),
        Norm::Rms(rms) => (rms.gamma.val(), None),
    };
    out.insert(format!("{name}.weight"), HostTensor::new(gamma));
    if let Some(beta) = beta {
        out.insert(format!("{name}.bias"), HostTensor::new(beta));
    }
}

/// The fused q/k/v projection cut back into its parts, of widths `widths`.
fn split(fused: &Linear, widths: [usize; 3]) -> Vec<Linear> {
    let [c, _] = fused.weight.dims();
    let mut start = 0;
    widths
        .iter()
        .map(|&w| {
            let range = start..start + w;
            start += w;
            Linear {
                weight: Param::from_tensor(fused.weight.val().slice([0..c, range.clone()])),
                bias: fused
                    .bias
                    .as_ref()
                    .map(|b| Param::from_tensor(b.val().slice([range]))),
            }
        })
        .collect()
}

/// GPT-2's and GPT-Neo's tensors, prefixed `transformer.`.
fn gpt_tensors(model: &Transformer) -> BTreeMap<String, HostTensor> {
    let config = model.config();
    let layout = layout(config.arch);
    let c = config.n_embd;
    let t = layout.transposed;
    let mut out = BTreeMap::new();
    out.insert("wte.weight".into(), HostTensor::new(model.wte.weight.val()));
    if let Some(wpe) = &model.wpe {
        out.insert("wpe.weight".into(), HostTensor::new(wpe.weight.val()));
    }
    put_norm(&mut out, "ln_f", &model.ln_f);
    for (i, block) in model.h.iter().enumerate() {
        let h = format!("h.{i}");
        put_norm(&mut out, &format!("{h}.ln_1"), &block.ln_1);
        put_norm(&mut out, &format!("{h}.ln_2"), &block.ln_2);
        match layout.qkv {
            Qkv::Fused(name) => put_linear(&mut out, &format!("{h}.{name}"), &block.attn.c_attn, t),
            Qkv::Split(names) => {
                for (name, part) in names.iter().zip(split(&block.attn.c_attn, [c, c, c])) {
                    put_linear(&mut out, &format!("{h}.{name}"), &part, t);
                }
            }
        }
        put_linear(
            &mut out,
            &format!("{h}.{}", layout.attn_out),
            &block.attn.c_proj,
            t,
        );
        put_linear(&mut out, &format!("{h}.mlp.c_fc"), &block.mlp.c_fc, t);
        put_linear(&mut out, &format!("{h}.mlp.c_proj"), &block.mlp.c_proj, t);
    }
    out.into_iter()
        .map(|(name, tensor)| (format!("transformer.{name}"), tensor))
        .collect()
}

/// Llama's, Qwen2's and Qwen3's tensors, as `LlamaForCausalLM`, `Qwen2ForCausalLM` and
/// `Qwen3ForCausalLM` save them.
fn llama_tensors(model: &Transformer) -> BTreeMap<String, HostTensor> {
    let config = model.config();
    let (q, kv) = (config.q_dim(), config.kv_dim());
    let mut out = BTreeMap::new();
    out.insert(
        "model.embed_tokens.weight".into(),
        HostTensor::new(model.wte.weight.val()),
    );
    put_norm(&mut out, "model.norm", &model.ln_f);
    for (i, block) in model.h.iter().enumerate() {
        let l = format!("model.layers.{i}");
        put_norm(&mut out, &format!("{l}.input_layernorm"), &block.ln_1);
        put_norm(
            &mut out,
            &format!("{l}.post_attention_layernorm"),
            &block.ln_2,
        );
        let names = ["q_proj", "k_proj", "v_proj"];
        for (name, part) in names.iter().zip(split(&block.attn.c_attn, [q, kv, kv])) {
            put_linear(&mut out, &format!("{l}.self_attn.{name}"), &part, true);
        }
        let head_norms = [
            ("q_norm", &block.attn.q_norm),
            ("k_norm", &block.attn.k_norm),
        ];
        for (name, norm) in head_norms
            .into_iter()
            .filter_map(|(n, norm)| Some((n, norm.as_ref()?)))
        {
            let gain = HostTensor::new(norm.gamma.val());
            out.insert(format!("{l}.self_attn.{name}.weight"), gain);
        }
        put_linear(
            &mut out,
            &format!("{l}.self_attn.o_proj"),
            &block.attn.c_proj,
            true,
        );
        if let Some(gate) = &block.mlp.c_gate {
            put_linear(&mut out, &format!("{l}.mlp.gate_proj"), gate, true);
        }
        put_linear(&mut out, &format!("{l}.mlp.up_proj"), &block.mlp.c_fc, true);
        put_linear(
            &mut out,
            &format!("{l}.mlp.down_proj"),
            &block.mlp.c_proj,
            true,
        );
    }
    if let Some(head) = &model.lm_head {
        put_linear(&mut out, "lm_head", head, true);
    }
    out
}
