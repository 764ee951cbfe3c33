//! `--set key=value` overrides, and setting a dotted key in a TOML table (also how a grid
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
    let key = key.trim().to_string();
    let raw = raw.trim();
    let value = format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()));
    Ok((key, value))
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
