//! The reward command's protocol: one JSON line in per batch, one JSON line out.
//!
//! ```text
//! → {"step": 3, "seed": 0, "phase": "train", "prompts": ["Once upon a time", …], "completions": [" there was …", …]}
//! ← {"rewards": [4, 7.5, …]}
//! ```
//!
//! N prompts and N completions in (the prompt of each completion, repeated k times), N finite
//! numbers out, in the same order. Keys other than `rewards` in the answer are ignored.

use serde::{Deserialize, Serialize};

/// Which pass asked for the rewards: training, the gradient-variance probe (whose samples
/// never train the policy), or ReMax's baseline (one greedy completion per prompt, scored
/// and never trained on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Train,
    Probe,
    Greedy,
}

impl Phase {
    /// The name the request carries.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Train => "train",
            Phase::Probe => "probe",
            Phase::Greedy => "greedy",
        }
    }
}

/// One batch to score, as the command receives it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Request<'a> {
    /// The training step (0-based); a probe's batches carry the step it runs at.
    pub step: usize,
    /// The run's seed, for a reward that samples.
    pub seed: u64,
    pub phase: Phase,
    /// The prompt of each completion.
    pub prompts: &'a [String],
    /// The texts to score: the completions, or prompt + completion under `scope = "full_text"`.
    pub completions: &'a [String],
}

#[derive(Deserialize)]
struct Answer {
    rewards: Vec<serde_json::Value>,
}

/// The rewards in `line`, which must answer a batch of `n`; or what is wrong with it, in words.
pub fn parse_answer(line: &str, n: usize) -> Result<Vec<f32>, String> {
    // Python's json.dumps writes NaN and ±inf as bare words, which are not JSON: read them as
    // strings, so the error can say which reward was not finite.
    let answer: Answer = serde_json::from_str(&quote_non_finite(line)).map_err(|e| {
        format!(
            "answered {} which is not the JSON line {{\"rewards\": [...]}} ({e})",
            excerpt(line)
        )
    })?;
    if answer.rewards.len() != n {
        return Err(format!(
            "answered {} reward(s) for {n} completion(s)",
            answer.rewards.len()
        ));
    }
    answer
        .rewards
        .iter()
        .enumerate()
        .map(|(i, value)| match value.as_f64() {
            Some(x) if (x as f32).is_finite() => Ok(x as f32),
            Some(x) => Err(format!("reward {i} is {x:e}, beyond f32's range")),
            None => Err(format!("reward {i} is {value}, not a finite number")),
        })
        .collect()
}

/// `line` with the bare words `NaN`, `Infinity` and `-Infinity` outside strings quoted.
fn quote_non_finite(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if !in_string
            && let Some(word) = ["-Infinity", "Infinity", "NaN"]
                .into_iter()
                .find(|w| rest.starts_with(w))
        {
            out.push_str(&format!("\"{word}\""));
            rest = &rest[word.len()..];
            continue;
        }
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else {
            in_string = c == '"';
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The start of `line`, quoted, for an error message.
fn excerpt(line: &str) -> String {
    const SHOWN: usize = 120;
    let start: String = line.chars().take(SHOWN).collect();
    if line.chars().count() > SHOWN {
        format!("{start:?}…")
    } else {
        format!("{start:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_one_json_object_with_the_documented_keys() {
        let prompts = vec!["Once".to_string(), "Once".to_string()];
        let completions = vec![" a cat".to_string(), " \"an\"\n".to_string()];
        let request = Request {
            step: 3,
            seed: 7,
            phase: Phase::Probe,
            prompts: &prompts,
            completions: &completions,
        };
        let line = serde_json::to_string(&request).unwrap();
        assert!(!line.contains('\n'), "one line: {line}");
        assert_eq!(
            line,
            r#"{"step":3,"seed":7,"phase":"probe","prompts":["Once","Once"],"completions":[" a cat"," \"an\"\n"]}"#
        );
    }

    #[test]
    fn answers_parse_to_f32_in_order() {
        assert_eq!(
            parse_answer(r#"{"rewards": [1, 2.5, -3e2]}"#, 3),
            Ok(vec![1.0, 2.5, -300.0])
        );
        // Other keys are the command's own business.
        assert_eq!(
            parse_answer(r#"{"rewards": [0], "why": ["no A"]}"#, 1),
            Ok(vec![0.0])
        );
    }

    #[test]
    fn wrong_answers_say_what_is_wrong() {
        let err = |line: &str, n| parse_answer(line, n).unwrap_err();
        assert_eq!(
            err(r#"{"rewards": [1, 2]}"#, 3),
            "answered 2 reward(s) for 3 completion(s)"
        );
        assert_eq!(
            err(r#"{"rewards": [1, NaN]}"#, 2),
            "reward 1 is \"NaN\", not a finite number"
        );
        assert_eq!(
            err(r#"{"rewards": [-Infinity, 0]}"#, 2),
            "reward 0 is \"-Infinity\", not a finite number"
        );
        assert_eq!(
            err(r#"{"rewards": [Infinity]}"#, 1),
            "reward 0 is \"Infinity\", not a finite number"
        );
        assert_eq!(
            err(r#"{"rewards": [1e39]}"#, 1),
            "reward 0 is 1e39, beyond f32's range"
        );
        assert_eq!(
            err(r#"{"rewards": ["3"]}"#, 1),
            "reward 0 is \"3\", not a finite number"
        );
        assert!(
            err("hello", 1).starts_with("answered \"hello\" which is not the JSON line"),
            "{}",
            err("hello", 1)
        );
        assert!(err(r#"{"reward": [1]}"#, 1).contains("missing field `rewards`"));
        let long = "x".repeat(500);
        assert!(err(&long, 1).contains(&format!("\"{}\"…", "x".repeat(120))));
    }
}
