//! `WordCount`: the number of occurrences of given words.

use crate::words::{strip_punctuation, words};
use crate::{Reward, RewardError, Scope};

/// The number of words of the text equal to one of the given words:
///
/// R(text) = #{ w ∈ words(text) : strip(w) ∈ targets }
///
/// where strip removes a word's leading and trailing characters that are neither letters nor
/// digits (`"(cat),"` → `"cat"`; inner apostrophes and hyphens stay: `"don't"`). Comparison
/// ignores case (full Unicode lowercase) unless `case_sensitive`. Each word of the text counts at
/// most once, however many targets it equals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordCount {
    /// Targets, lowercased unless `case_sensitive`.
    targets: Vec<String>,
    case_sensitive: bool,
    scope: Scope,
}

impl WordCount {
    /// A reward counting occurrences of `words`.
    ///
    /// # Errors
    /// [`RewardError::NoWords`] if `words` is empty; [`RewardError::UnmatchableWord`] for a word
    /// that no stripped text word can equal (empty, holding whitespace, or starting or ending with
    /// punctuation).
    pub fn new(words: &[String], case_sensitive: bool, scope: Scope) -> Result<Self, RewardError> {
        if words.is_empty() {
            return Err(RewardError::NoWords);
        }
        let mut targets = Vec::with_capacity(words.len());
        for word in words {
            let matchable = !word.is_empty()
                && !word.chars().any(char::is_whitespace)
                && strip_punctuation(word) == word;
            if !matchable {
                return Err(RewardError::UnmatchableWord { word: word.clone() });
            }
            targets.push(if case_sensitive {
                word.clone()
            } else {
                word.to_lowercase()
            });
        }
        Ok(Self {
            targets,
            case_sensitive,
            scope,
        })
    }

    /// The number of words of `text` equal to a target.
    pub fn count(&self, text: &str) -> usize {
        words(text)
            .map(strip_punctuation)
            .filter(|w| !w.is_empty())
            .filter(|w| {
                if self.case_sensitive {
                    self.targets.iter().any(|t| t == w)
                } else {
                    let w = w.to_lowercase();
                    self.targets.contains(&w)
                }
            })
            .count()
    }
}

impl Reward for WordCount {
    fn score(&self, prompt: &str, completion: &str) -> f32 {
        self.count(&self.scope.text(prompt, completion)) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    fn count(words: &[&str], text: &str) -> usize {
        WordCount::new(&targets(words), false, Scope::Completion)
            .expect("valid words")
            .count(text)
    }

    #[test]
    fn counts_every_occurrence_ignoring_case_and_surrounding_punctuation() {
        // cat, Cat., "CAT", (cat); not "cats" or "bobcat".
        assert_eq!(count(&["cat"], "cat Cat. \"CAT\" cats bobcat (cat)"), 4);
    }

    #[test]
    fn counts_several_target_words() {
        // dog, cat, dog! = 3; "hot-dog" strips to itself and is not "dog".
        assert_eq!(count(&["cat", "dog"], "dog\tcat\ndog! hot-dog"), 3);
    }

    #[test]
    fn a_text_word_counts_once_even_if_targets_repeat() {
        assert_eq!(count(&["cat", "Cat", "cat"], "cat"), 1);
    }

    #[test]
    fn inner_apostrophes_are_part_of_the_word() {
        // don't (twice, once quoted); "dont" differs.
        assert_eq!(count(&["don't"], "don't 'don't' dont"), 2);
    }

    #[test]
    fn non_ascii_words_match_case_insensitively() {
        assert_eq!(count(&["über"], "Über über ÜBER, uber"), 3);
    }

    #[test]
    fn case_sensitive_matching_counts_exact_case_only() {
        let r = WordCount::new(&targets(&["Cat"]), true, Scope::Completion).expect("valid");
        assert_eq!(r.count("Cat cat CAT (Cat)"), 2);
    }

    #[test]
    fn empty_text_scores_zero() {
        assert_eq!(count(&["cat"], ""), 0);
        assert_eq!(count(&["cat"], " ... "), 0);
    }

    #[test]
    fn scope_decides_whether_prompt_words_count() {
        let full = WordCount::new(&targets(&["time"]), false, Scope::FullText).expect("valid");
        let completion =
            WordCount::new(&targets(&["time"]), false, Scope::Completion).expect("valid");
        assert_eq!(full.score("Once upon a time", ", time flew"), 2.0);
        assert_eq!(completion.score("Once upon a time", ", time flew"), 1.0);
    }

    #[test]
    fn empty_word_list_is_an_error() {
        assert_eq!(
            WordCount::new(&[], false, Scope::Completion),
            Err(RewardError::NoWords)
        );
    }

    #[test]
    fn unmatchable_words_are_errors_naming_the_word() {
        for bad in ["", "two words", "cat!", "'cat", "..."] {
            let err = WordCount::new(&targets(&["ok", bad]), false, Scope::Completion)
                .expect_err("unmatchable word");
            assert_eq!(
                err,
                RewardError::UnmatchableWord {
                    word: bad.to_string()
                }
            );
            let msg = err.to_string();
            assert!(
                msg.contains("word_count") && msg.contains(&format!("{bad:?}")),
                "{msg}"
            );
        }
    }
}
