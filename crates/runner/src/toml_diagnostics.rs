//! Where an error in a TOML file is, and what to say about it: `file:line:col` of a byte span
//! or of a dotted key's assignment, serde's message on one line, and "did you mean" for a
//! misspelt key. Experiment files and pretraining files both report through it.

use std::path::Path;

/// The dotted key an error is about: serde's path, plus the field an "unknown field" or
/// "missing field" message names when the path stops at its parent.
pub fn offending_key(path: &str, message: &str) -> String {
    let path = if path == "." { "" } else { path };
    let field = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))
        .and_then(|rest| rest.split('`').next());
    match field {
        Some(field) if !path.ends_with(field) => {
            if path.is_empty() {
                field.to_string()
            } else {
                format!("{path}.{field}")
            }
        }
        _ => path.to_string(),
    }
}

/// serde's message, with a "did you mean" for an unknown field.
pub fn describe(message: &str, key: &str) -> String {
    let message = first_line(message);
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return if key.is_empty() {
            message
        } else {
            format!("{key}: {message}")
        };
    };
    let unknown = rest.split('`').next().unwrap_or("");
    let expected: Vec<&str> = rest.split('`').skip(2).step_by(2).collect();
    let nearest = expected
        .iter()
        .map(|e| (strsim::levenshtein(unknown, e), *e))
        .min()
        .filter(|(d, _)| *d <= 3.max(unknown.len() / 3));
    let key = if key.is_empty() { unknown } else { key };
    match nearest {
        Some((_, e)) => format!(
            "{key}: unknown key; did you mean `{e}`? (expected one of {})",
            expected.join(", ")
        ),
        None => format!(
            "{key}: unknown key (expected one of {})",
            expected.join(", ")
        ),
    }
}

pub fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or("").trim().to_string()
}

/// `file:line:col` of a byte span (1-based), or the file alone.
pub fn location(path: &Path, text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(span) = span else {
        return path.display().to_string();
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.chars().rev().take_while(|&c| c != '\n').count() + 1;
    format!("{}:{line}:{col}", path.display())
}

/// `file:line:col` of a grid key's line, or the file.
pub fn locate_grid_key(path: &Path, text: &str, key: &str) -> String {
    let needle = format!("\"{key}\"");
    let offset = text.find(&needle).or_else(|| text.find(key));
    location(path, text, offset.map(|o| o..o + 1))
}

/// `file:line:col` of a dotted key's assignment (its section header + key), or the file.
pub fn locate_key(path: &Path, text: &str, key: &str) -> String {
    let (section, leaf) = match key.rsplit_once('.') {
        Some((s, l)) => (Some(s), l),
        None => (None, key),
    };
    let mut current: Option<String> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(header) = trimmed.strip_prefix('[') {
            current = header.split(']').next().map(|h| h.trim().to_string());
        } else if trimmed.starts_with(leaf)
            && trimmed[leaf.len()..].trim_start().starts_with('=')
            && current.as_deref() == section
        {
            let col = line.len() - trimmed.len();
            return location(path, text, Some(offset + col..offset + col + 1));
        }
        offset += line.len();
    }
    path.display().to_string()
}
