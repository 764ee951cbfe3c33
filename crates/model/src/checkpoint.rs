//! Hugging Face model directories: `config.json` + `model.safetensors` (+ a tokenizer), read
//! and written in the layout `transformers` uses, so checkpoints move both ways.
//!
//! Module names are Hugging Face's, so loading is a copy. Two things are not:
//! - GPT-2 stores its projections as Conv1D weights, `[in, out]` — the orientation of burn's
//!   `Linear` — while GPT-Neo uses `nn.Linear`, `[out, in]`: GPT-Neo's are transposed.
//! - GPT-Neo has separate q/k/v projections without bias; they are concatenated into the fused
//!   `c_attn` the transformer runs (and split again when saving).
//!
//! The LM head is tied to `wte`: it is neither read nor written.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::nn::{LayerNorm, Linear};
use burn::prelude::*;
use burn::tensor::DType;
use safetensors::{Dtype, SafeTensors, View};

use crate::config::{Arch, GptConfig};
use crate::error::{ModelError, Result};
use crate::gpt::Gpt;
use crate::tokenizer::Tokenizer;

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
        Arch::Gpt2 => &GPT2,
        Arch::GptNeo => &GPT_NEO,
    }
}

/// Buffers some checkpoints carry (causal masks); they hold no weights.
const BUFFER_SUFFIXES: [&str; 2] = [".attn.bias", ".attn.masked_bias"];

/// A model and its tokenizer, as found in one directory.
#[derive(Debug)]
pub struct Checkpoint {
    pub model: Gpt,
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
pub fn load_model(dir: &Path, device: &Device) -> Result<Gpt> {
    let config = GptConfig::from_hf_file(&dir.join(CONFIG_FILE))?;
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

    fn model(&mut self, config: &GptConfig) -> Result<Gpt> {
        let (c, inner) = (config.n_embd, config.n_inner);
        let layout = layout(config.arch);
        let mut model = Gpt::init(config, &self.device);
        model.wte.weight = self.param("wte.weight", [config.vocab_size, c], false)?;
        model.wpe.weight = self.param("wpe.weight", [config.n_positions, c], false)?;
        self.layer_norm(&mut model.ln_f, "ln_f", c)?;
        for (i, block) in model.h.iter_mut().enumerate() {
            let h = format!("h.{i}");
            self.layer_norm(&mut block.ln_1, &format!("{h}.ln_1"), c)?;
            self.layer_norm(&mut block.ln_2, &format!("{h}.ln_2"), c)?;
            block.attn.c_attn = match layout.qkv {
                Qkv::Fused(name) => self.linear(&format!("{h}.{name}"), c, 3 * c, true, false)?,
                Qkv::Split(names) => {
                    let parts = names
                        .iter()
                        .map(|name| self.tensor(&format!("{h}.{name}.weight"), [c, c], true))
                        .collect::<Result<Vec<_>>>()?;
                    Linear {
                        weight: Param::from_tensor(Tensor::cat(parts, 1)),
                        bias: None,
                    }
                }
            };
            let t = layout.transposed;
            block.attn.c_proj = self.linear(&format!("{h}.{}", layout.attn_out), c, c, true, t)?;
            block.mlp.c_fc = self.linear(&format!("{h}.mlp.c_fc"), c, inner, true, t)?;
            block.mlp.c_proj = self.linear(&format!("{h}.mlp.c_proj"), inner, c, true, t)?;
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
        Ok(Linear {
            weight: Param::from_tensor(self.tensor(
                &format!("{name}.weight"),
                [d_in, d_out],
                transposed,
            )?),
            bias: match bias {
                true => Some(self.param(&format!("{name}.bias"), [d_out], false)?),
                false => None,
            },
        })
    }

    fn layer_norm(&mut self, ln: &mut LayerNorm, name: &str, c: usize) -> Result<()> {
        ln.gamma = self.param(&format!("{name}.weight"), [c], false)?;
        ln.beta = Some(self.param(&format!("{name}.bias"), [c], false)?);
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

/// Writes `dir/config.json` and `dir/model.safetensors` in the layout `transformers` saves a
/// `GPT2LMHeadModel` / `GPTNeoForCausalLM` in. The files are written in place: write into a
/// fresh directory and rename it into place when complete (as `pglab pretrain` does), so no
/// reader sees half a model.
pub fn save_model(model: &Gpt, dir: &Path) -> Result<()> {
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

/// Every tensor of `model` under its checkpoint name (prefixed `transformer.`).
fn checkpoint_tensors(model: &Gpt) -> BTreeMap<String, HostTensor> {
    let config = model.config();
    let layout = layout(config.arch);
    let c = config.n_embd;
    let mut out = BTreeMap::new();
    let mut put = |name: String, tensor: HostTensor| {
        out.insert(format!("transformer.{name}"), tensor);
    };
    let orient = |w: Tensor<2>| if layout.transposed { w.transpose() } else { w };
    let linear = |put: &mut dyn FnMut(String, HostTensor), name: String, linear: &Linear| {
        put(
            format!("{name}.weight"),
            HostTensor::new(orient(linear.weight.val())),
        );
        if let Some(bias) = &linear.bias {
            put(format!("{name}.bias"), HostTensor::new(bias.val()));
        }
    };
    let layer_norm = |put: &mut dyn FnMut(String, HostTensor), name: &str, ln: &LayerNorm| {
        put(format!("{name}.weight"), HostTensor::new(ln.gamma.val()));
        if let Some(beta) = &ln.beta {
            put(format!("{name}.bias"), HostTensor::new(beta.val()));
        }
    };
    put("wte.weight".into(), HostTensor::new(model.wte.weight.val()));
    put("wpe.weight".into(), HostTensor::new(model.wpe.weight.val()));
    layer_norm(&mut put, "ln_f", &model.ln_f);
    for (i, block) in model.h.iter().enumerate() {
        let h = format!("h.{i}");
        layer_norm(&mut put, &format!("{h}.ln_1"), &block.ln_1);
        layer_norm(&mut put, &format!("{h}.ln_2"), &block.ln_2);
        match layout.qkv {
            Qkv::Fused(name) => linear(&mut put, format!("{h}.{name}"), &block.attn.c_attn),
            Qkv::Split(names) => {
                let w = block.attn.c_attn.weight.val(); // [C, 3C]
                for (j, name) in names.iter().enumerate() {
                    let part = w.clone().slice([0..c, j * c..(j + 1) * c]);
                    put(format!("{h}.{name}.weight"), HostTensor::new(orient(part)));
                }
            }
        }
        linear(
            &mut put,
            format!("{h}.{}", layout.attn_out),
            &block.attn.c_proj,
        );
        linear(&mut put, format!("{h}.mlp.c_fc"), &block.mlp.c_fc);
        linear(&mut put, format!("{h}.mlp.c_proj"), &block.mlp.c_proj);
    }
    out
}
