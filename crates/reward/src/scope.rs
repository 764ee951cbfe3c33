//! `Scope`: whether a reward scores the completion alone or the prompt and completion together.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// Which text a reward scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The completion's text only (the default).
    #[default]
    Completion,
    /// The full text: the prompt immediately followed by the completion (`prompt + completion`,
    /// no separator inserted, as the decoded full sequence reads). The reference chapter scores
    /// this.
    FullText,
}

impl Scope {
    /// The text to score under this scope.
    pub fn text<'a>(self, prompt: &'a str, completion: &'a str) -> Cow<'a, str> {
        match self {
            Scope::Completion => Cow::Borrowed(completion),
            Scope::FullText => Cow::Owned(format!("{prompt}{completion}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_scope_ignores_the_prompt() {
        assert_eq!(Scope::Completion.text("Once upon", " a time"), " a time");
    }

    #[test]
    fn full_text_scope_is_prompt_then_completion_without_separator() {
        assert_eq!(
            Scope::FullText.text("Once upon a ti", "me there"),
            "Once upon a time there"
        );
    }
}
