//! One error type for the model crate; every message names the file or field at fault.

use std::path::PathBuf;

/// Everything that can go wrong when loading, saving or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: missing {what}", path.display())]
    MissingFile { path: PathBuf, what: &'static str },
    #[error("{}: invalid JSON: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: unsupported model_type {found:?} (expected \"gpt2\", \"gpt_neo\", \"llama\", \"qwen2\" or \"qwen3\")", path.display())]
    UnknownModelType { path: PathBuf, found: String },
    #[error("{}: {field}: {message}", path.display())]
    Config {
        path: PathBuf,
        field: String,
        message: String,
    },
    #[error("{}: cannot read safetensors: {message}", path.display())]
    Safetensors { path: PathBuf, message: String },
    #[error("{}: tensor {name:?} is missing", path.display())]
    MissingTensor { path: PathBuf, name: String },
    #[error("{}: tensor {name:?} has shape {found:?}, but config.json implies {expected:?}", path.display())]
    ShapeMismatch {
        path: PathBuf,
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("{}: tensor {name:?} has dtype {dtype}, expected F32, F16 or BF16", path.display())]
    UnsupportedDtype {
        path: PathBuf,
        name: String,
        dtype: String,
    },
    #[error("{}: unexpected tensors {names:?} (is model_type right?)", path.display())]
    UnexpectedTensors { path: PathBuf, names: Vec<String> },
    #[error("{}: {message}", path.display())]
    Tokenizer { path: PathBuf, message: String },
    #[error("tokenizer: {0}")]
    Encode(String),
    #[error("sampling: {field} = {value}: {message}")]
    Sampling {
        field: &'static str,
        value: String,
        message: &'static str,
    },
    #[error(
        "sequence of {needed} tokens does not fit the model's context of {n_positions} positions"
    )]
    ContextTooLong { needed: usize, n_positions: usize },
    #[error("token id {id} is outside the vocabulary of {vocab_size}")]
    TokenOutOfRange { id: u32, vocab_size: usize },
    #[error("loss weights: {found} given for a batch of {expected} sequences")]
    LossWeights { expected: usize, found: usize },
    #[error(
        "flattening gradients: reading parameter {param} back from the device failed: {reason}"
    )]
    GradientRead { param: String, reason: String },
    #[error("a flat gradient has {found} values; the model has {expected} trainable parameters")]
    FlatGradientLength { expected: usize, found: usize },
    #[error("empty input: {0}")]
    Empty(&'static str),
    #[error("{}: {message}", path.display())]
    Corpus { path: PathBuf, message: String },
    #[error("pretraining: {0}")]
    Pretrain(String),
}

pub type Result<T> = std::result::Result<T, ModelError>;

impl ModelError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
