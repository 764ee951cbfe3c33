//! The rotary parameters of a Llama-family `config.json`, in either format `transformers` writes:
//! up to 4.x `rope_theta` (and `rope_scaling`) at the top level; from 5.0 one object,
//! `"rope_parameters": {"rope_type": "default", "rope_theta": 50000.0}`. Both read into one
//! `RopeParameters`. Nothing in them is ignored: before this file, a transformers 5 checkpoint
//! loaded with the default θ = 10,000 and gave log-probs off by up to 0.5 nats per text without
//! a word, and a Llama 3 scaling was accepted and not applied (off by 9 nats). So:
//! - where both formats appear, what both state must agree, or the config is refused;
//! - a `rope_type` other than "default" and "llama3" is refused by name;
//! - a key inside either object that is not read is refused by name.

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{ModelError, Result};
use crate::rope::{RopeParameters, RopeScaling};

/// θ when a config names none (`transformers`' Llama, Qwen2 and Qwen3 default alike).
const DEFAULT_THETA: f64 = 10_000.0;

/// Values the top level of a config lends to the rope objects (as transformers 5's
/// `convert_rope_params_to_dict` and `standardize_rope_params` lend them).
struct TopLevel {
    theta: Option<f64>,
    /// Llama 3's pretraining context: the top-level key first, else the object's own, else
    /// `max_position_embeddings`.
    original_max_position_embeddings: Option<f64>,
    max_position_embeddings: Option<f64>,
}

/// The rope description of config `map`; `path` names the file in errors.
pub(crate) fn read(map: &Map<String, Value>, path: &Path) -> Result<RopeParameters> {
    let refuse = |field: &str, message: String| ModelError::Config {
        path: path.to_path_buf(),
        field: field.to_string(),
        message,
    };
    let top_number = |key: &str| match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => number(v)
            .map(Some)
            .ok_or_else(|| refuse(key, format!("{v} is not a number"))),
    };
    if let Some(partial) = top_number("partial_rotary_factor")?
        && partial != 1.0
    {
        return Err(refuse(
            "partial_rotary_factor",
            format!("{partial} is not supported (every channel of a head rotates: 1.0)"),
        ));
    }
    let top = TopLevel {
        theta: top_number("rope_theta")?,
        original_max_position_embeddings: top_number("original_max_position_embeddings")?,
        max_position_embeddings: top_number("max_position_embeddings")?,
    };
    // The 4.x form: rope_scaling stated (null meaning "no scaling") or only θ.
    let top_scaling = match map.get("rope_scaling") {
        None => None,
        Some(Value::Null) => Some(RopeScaling::Default),
        Some(v) => Some(object(v, "rope_scaling", &top, path)?.scaling),
    };
    let current = match map.get("rope_parameters") {
        None | Some(Value::Null) => None,
        Some(v) => Some(object(v, "rope_parameters", &top, path)?),
    };
    let Some(current) = current else {
        return Ok(RopeParameters {
            theta: top.theta.unwrap_or(DEFAULT_THETA),
            scaling: top_scaling.unwrap_or(RopeScaling::Default),
        });
    };
    if let Some(theta) = top.theta
        && theta != current.theta
    {
        return Err(refuse(
            "rope_parameters.rope_theta",
            format!(
                "{} disagrees with the top-level rope_theta {theta}; keep one of them",
                current.theta
            ),
        ));
    }
    if let Some(scaling) = top_scaling
        && scaling != current.scaling
    {
        return Err(refuse(
            "rope_parameters",
            format!(
                "{} disagrees with the top-level rope_scaling ({}); keep one of them",
                describe(&current.scaling),
                describe(&scaling)
            ),
        ));
    }
    Ok(current)
}

/// `rope_parameters` (5.x) or a non-null `rope_scaling` (4.x), named `key` in errors. θ comes from
/// the object, else from the top level, else the default.
fn object(value: &Value, key: &'static str, top: &TopLevel, path: &Path) -> Result<RopeParameters> {
    let refuse = |field: String, message: String| ModelError::Config {
        path: path.to_path_buf(),
        field,
        message,
    };
    let Some(fields) = value.as_object() else {
        return Err(refuse(key.into(), format!("{value} is not an object")));
    };
    if fields.values().any(Value::is_object) {
        return Err(refuse(
            key.into(),
            "rope parameters per layer type are not supported (one set for every layer)".into(),
        ));
    }
    let get = |name: &str| -> Result<Option<f64>> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => number(v)
                .map(Some)
                .ok_or_else(|| refuse(format!("{key}.{name}"), format!("{v} is not a number"))),
        }
    };
    let rope_type = rope_type(fields, key, path)?;
    let theta = get("rope_theta")?.or(top.theta).unwrap_or(DEFAULT_THETA);
    if let Some(partial) = get("partial_rotary_factor")?
        && partial != 1.0
    {
        return Err(refuse(
            format!("{key}.partial_rotary_factor"),
            format!("{partial} is not supported (every channel of a head rotates: 1.0)"),
        ));
    }
    let (scaling, read): (RopeScaling, &[&str]) = match rope_type.as_str() {
        "default" => (RopeScaling::Default, &[]),
        "llama3" => {
            let need = |name: &str| {
                get(name)?.ok_or_else(|| {
                    refuse(
                        format!("{key}.{name}"),
                        "is missing (rope_type \"llama3\" needs it)".into(),
                    )
                })
            };
            let own = get("original_max_position_embeddings")?;
            if let (Some(own), Some(outer)) = (own, top.original_max_position_embeddings)
                && own != outer
            {
                return Err(refuse(
                    format!("{key}.original_max_position_embeddings"),
                    format!("{own} disagrees with the top-level {outer}; keep one of them"),
                ));
            }
            let original = top
                .original_max_position_embeddings
                .or(own)
                .or(top.max_position_embeddings)
                .ok_or_else(|| {
                    refuse(
                        format!("{key}.original_max_position_embeddings"),
                        "is missing, and so is max_position_embeddings".into(),
                    )
                })?;
            let (low_freq_factor, high_freq_factor) =
                (need("low_freq_factor")?, need("high_freq_factor")?);
            if high_freq_factor <= low_freq_factor {
                return Err(refuse(
                    format!("{key}.high_freq_factor"),
                    format!("{high_freq_factor} must exceed low_freq_factor {low_freq_factor}"),
                ));
            }
            let scaling = RopeScaling::Llama3 {
                factor: need("factor")?,
                low_freq_factor,
                high_freq_factor,
                original_max_position_embeddings: original,
            };
            (scaling, LLAMA3_KEYS)
        }
        other => {
            return Err(refuse(
                format!("{key}.rope_type"),
                format!("{other:?} is not implemented (pglab computes \"default\" and \"llama3\")"),
            ));
        }
    };
    let known = ["rope_type", "type", "rope_theta", "partial_rotary_factor"];
    if let Some(unread) = fields
        .keys()
        .find(|k| !known.contains(&k.as_str()) && !read.contains(&k.as_str()))
    {
        return Err(refuse(
            format!("{key}.{unread}"),
            format!("is not read for rope_type {rope_type:?}, so it cannot be honoured; remove it"),
        ));
    }
    Ok(RopeParameters { theta, scaling })
}

/// The keys of Llama 3's scaling besides the type and θ.
const LLAMA3_KEYS: &[&str] = &[
    "factor",
    "low_freq_factor",
    "high_freq_factor",
    "original_max_position_embeddings",
];

/// `rope_type`, or 4.x's older `type`; "default" when neither is there.
fn rope_type(fields: &Map<String, Value>, key: &'static str, path: &Path) -> Result<String> {
    let named = |name: &str| fields.get(name).and_then(Value::as_str);
    match (named("rope_type"), named("type")) {
        (Some(a), Some(b)) if a != b => Err(ModelError::Config {
            path: path.to_path_buf(),
            field: format!("{key}.rope_type"),
            message: format!("{a:?} disagrees with {key}.type {b:?}"),
        }),
        (Some(t), _) | (None, Some(t)) => Ok(t.to_string()),
        (None, None) => Ok("default".into()),
    }
}

/// A JSON number (configs write 10000 and 10000.0 alike).
fn number(value: &Value) -> Option<f64> {
    value.as_f64()
}

/// The scaling as a config would name it, for messages.
fn describe(scaling: &RopeScaling) -> String {
    match scaling {
        RopeScaling::Default => "no scaling".into(),
        RopeScaling::Llama3 { factor, .. } => format!("llama3, factor {factor}"),
    }
}

#[cfg(test)]
#[path = "hf_rope_tests.rs"]
mod tests;
