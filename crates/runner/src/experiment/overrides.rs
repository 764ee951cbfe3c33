//! `--set key=value` and `--grid key=values` overrides, and setting a dotted key in a TOML table (also how a grid
//! point is applied to the base settings).

use toml::{Table, Value};

/// Sets `a.b.c = value` in a TOML table, creating intermediate tables.
pub fn set_dotted(table: &mut Table, key: &str, value: Value) -> Result<(), String> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let leaf = parts.pop().filter(|l| !l.is_empty()).ok_or("empty key")?;
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{part}` is a value, not a section"))?;
    }
    // A table value merges into the table at `key` (several keys varying together).
    match (value, current.get_mut(leaf)) {
        (Value::Table(values), Some(Value::Table(target))) => {
            for (k, v) in values {
                target.insert(k, v);
            }
        }
        (value, _) => {
            current.insert(leaf.to_string(), value);
        }
    }
    Ok(())
}

/// `key=value`, the value read as TOML (`0.1`, `"rloo"`, `[1, 2]`), or as a bare string.
pub fn parse_override(set: &str) -> anyhow::Result<(String, Value)> {
    let (key, raw) = set
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("--set {}: expected key=value", set.escape_debug()))?;
    Ok((key.trim().to_string(), toml_or_word(raw.trim())))
}

/// The value at dotted `key` in a TOML table, if there is one.
pub fn get_dotted<'a>(table: &'a Table, key: &str) -> Option<&'a Value> {
    let mut parts = key.split('.');
    let mut value = table.get(parts.next()?)?;
    for part in parts {
        value = value.as_table()?.get(part)?;
    }
    Some(value)
}

/// What the command line changes in an experiment file; recorded in the sweep directory
/// (`overrides.json`) so that a sweep resumes only under the same changes.
#[derive(Debug, Clone, Default, PartialEq, clap::Args, serde::Serialize, serde::Deserialize)]
pub struct Overrides {
    /// Override a setting, e.g. `--set train.lr=0.001` or `--set model=/path/to/model`
    /// (repeatable); setting a grid key pins it to that value.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    #[serde(default)]
    pub set: Vec<String>,
    /// Replace or add one grid axis (repeatable): `--grid seed=100..108` (a half-open integer
    /// range: 100, 101, …, 107), `--grid train.lr=[1e-4,3e-4]`, `--grid train.estimator=[rloo]`.
    #[arg(long = "grid", value_name = "KEY=VALUES")]
    #[serde(default)]
    pub grid: Vec<String>,
}

impl Overrides {
    /// `--set` overrides only.
    pub fn set(set: &[String]) -> Self {
        Self {
            set: set.to_vec(),
            grid: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.grid.is_empty()
    }

    /// How the command line writes them (`--set a=1 --grid seed=0..4`).
    pub fn describe(&self) -> String {
        let set = self.set.iter().map(|s| format!("--set {s}"));
        let grid = self.grid.iter().map(|g| format!("--grid {g}"));
        set.chain(grid).collect::<Vec<_>>().join(" ")
    }
}

/// `key=values` of `--grid`: the values as a half-open integer range (`100..108`), a list
/// (`[1e-4, 3e-4]`, `[rloo, reinforce]`: TOML values or bare words), or one value.
pub fn parse_grid_override(arg: &str) -> anyhow::Result<(String, Vec<Value>)> {
    let bad = |message: String| anyhow::anyhow!("--grid {}: {message}", arg.escape_debug());
    let (key, raw) = arg.split_once('=').ok_or_else(|| {
        bad("expected KEY=VALUES, e.g. seed=100..108 or train.lr=[1e-4,3e-4]".into())
    })?;
    let (key, raw) = (key.trim(), raw.trim());
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(bad(format!("`{key}` is not a key")));
    }
    let values = if let Some((start, end)) = raw.split_once("..") {
        let bound = |b: &str| {
            b.trim().parse::<i64>().map_err(|_| {
                bad(format!(
                    "`{}` is not an integer (a range is START..END, e.g. 100..108)",
                    b.trim()
                ))
            })
        };
        let (start, end) = (bound(start)?, bound(end)?);
        if start >= end {
            return Err(bad(format!(
                "the range {start}..{end} is empty (it counts {start}, {}, … up to but not including {end})",
                start + 1
            )));
        }
        (start..end).map(Value::Integer).collect()
    } else if let Value::Array(list) = toml_or_word(raw) {
        list
    } else if let Some(inner) = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        // Not a TOML array: bare words (`[rloo, reinforce]`).
        inner
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(toml_or_word)
            .collect()
    } else if raw.is_empty() {
        Vec::new()
    } else {
        vec![toml_or_word(raw)]
    };
    if values.is_empty() {
        return Err(bad("no values; give at least one".into()));
    }
    Ok((key.to_string(), values))
}

/// A value read as TOML (`0.1`, `"rloo"`, `true`), or else as a bare string.
fn toml_or_word(raw: &str) -> Value {
    format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()))
}
