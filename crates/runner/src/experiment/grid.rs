//! The grid: its Cartesian expansion in the order the file gives its keys (first key slowest),
//! and the run id of each point, read in the same order (`rloo-lr1e-4-s0`).

use pglab_report::format_float;
use toml::Value;

/// A grid point: (dotted key, value) of each grid key.
pub type Point = Vec<(String, Value)>;

/// Every point of `grid`, first key slowest.
pub fn expand_grid(grid: &[(String, Vec<Value>)]) -> Vec<Point> {
    let mut points: Vec<Point> = vec![vec![]];
    for (key, values) in grid {
        points = points
            .into_iter()
            .flat_map(|point| {
                values.iter().map(move |v| {
                    let mut p = point.clone();
                    p.push((key.clone(), v.clone()));
                    p
                })
            })
            .collect();
    }
    points
}

/// Readable run directory name from a grid point: `rloo-lr3e-4-s2`.
pub fn run_id(point: &[(String, Value)]) -> String {
    if point.is_empty() {
        return "run".into();
    }
    let parts: Vec<String> = point
        .iter()
        .map(|(key, value)| {
            let leaf = key.rsplit('.').next().unwrap_or(key);
            let value = match value {
                Value::String(s) => s.clone(),
                Value::Float(f) => format_float(*f),
                Value::Table(t) => {
                    let point: Vec<(String, Value)> =
                        t.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                    return run_id(&point);
                }
                other => other.to_string(),
            };
            match leaf {
                "estimator" | "optimizer" => value,
                "seed" => format!("s{value}"),
                _ => format!("{leaf}{value}"),
            }
        })
        .collect();
    parts
        .join("-")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}
