//! A run's hyper-parameters as TensorBoard's HPARAMS tab lists them: its grid values (a table
//! axis such as `train = {estimator, lr}` as `train.estimator` and `train.lr`), plus the
//! estimator, learning rate and seed of every run whether the grid varies them or not, as
//! `summary.csv` has them.

use pglab_report::tensorboard::HParam;
use toml::Value;

use crate::experiment::RunSpec;

/// `spec`'s hparams, in grid order, then `train.estimator`, `train.lr` and `seed` if missing.
pub fn of(spec: &RunSpec) -> Vec<(String, HParam)> {
    let mut hparams = Vec::new();
    for (key, value) in &spec.point {
        flatten(key, value, &mut hparams);
    }
    let t = &spec.config.train;
    for (key, value) in [
        (
            "train.estimator",
            HParam::Text(t.estimator.name().to_string()),
        ),
        ("train.lr", HParam::Number(t.lr)),
        ("seed", HParam::Number(spec.config.seed as f64)),
    ] {
        if !hparams.iter().any(|(k, _)| k == key) {
            hparams.push((key.to_string(), value));
        }
    }
    hparams
}

/// Every hparam of `runs` with the values it takes, in first-seen order.
pub fn domains(runs: &[RunSpec]) -> Vec<(String, Vec<HParam>)> {
    let mut domains: Vec<(String, Vec<HParam>)> = Vec::new();
    for (key, value) in runs.iter().flat_map(of) {
        match domains.iter_mut().find(|(k, _)| *k == key) {
            Some((_, values)) if !values.contains(&value) => values.push(value),
            Some(_) => {}
            None => domains.push((key, vec![value])),
        }
    }
    domains
}

fn flatten(key: &str, value: &Value, out: &mut Vec<(String, HParam)>) {
    match value {
        Value::Table(table) => {
            for (k, v) in table {
                flatten(&format!("{key}.{k}"), v, out);
            }
        }
        Value::Integer(i) => out.push((key.into(), HParam::Number(*i as f64))),
        Value::Float(x) => out.push((key.into(), HParam::Number(*x))),
        Value::Boolean(b) => out.push((key.into(), HParam::Bool(*b))),
        Value::String(s) => out.push((key.into(), HParam::Text(s.clone()))),
        other => out.push((key.into(), HParam::Text(other.to_string()))),
    }
}
