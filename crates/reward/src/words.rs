//! The word rule every reward shares: what a word is and what its first letter is.
//!
//! - A **word** is a maximal run of non-whitespace characters ([`char::is_whitespace`], Unicode's
//!   `White_Space`: spaces, tabs, newlines, no-break spaces, …).
//! - A word's **first letter**: skip the leading characters that are neither letters nor digits
//!   (quotes, brackets, dashes, other punctuation and symbols); the next character is the first
//!   letter if it is alphabetic. A word whose first letter-or-digit is a digit (`"42"`, `"3am"`),
//!   or that has none (`"—"`, `"..."`), has no first letter.
//! - Letters compare case-insensitively by their full Unicode lowercase mapping
//!   ([`same_letter`]).
//!
//! Everything here works on `char`s, never on byte offsets, so no input can split a UTF-8
//! sequence or panic.

/// The words of `text`, in order.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split_whitespace()
}

/// The first letter of `word`, after skipping leading characters that are neither letters nor
/// digits; `None` if the first letter-or-digit is a digit or there is none.
pub fn first_letter(word: &str) -> Option<char> {
    word.chars()
        .find(|c| c.is_alphanumeric())
        .filter(|c| c.is_alphabetic())
}

/// Which character of a word counts as its initial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Initial {
    /// The first letter after leading punctuation ([`first_letter`]): `"(and"` starts with a.
    #[default]
    Letter,
    /// The word's first character, whatever it is: `"(and"` starts with `(`. The reference
    /// chapter's rule (`word[0].lower() == "a"` over `text.split()`).
    FirstCharacter,
}

impl Initial {
    /// The initial of `word` under this rule, if it is a letter.
    pub fn of(self, word: &str) -> Option<char> {
        match self {
            Initial::Letter => first_letter(word),
            Initial::FirstCharacter => word.chars().next().filter(|c| c.is_alphabetic()),
        }
    }
}

/// Whether two letters are the same letter, ignoring case (full Unicode lowercase mapping).
pub fn same_letter(a: char, b: char) -> bool {
    a == b || a.to_lowercase().eq(b.to_lowercase())
}

/// `word` without its leading and trailing characters that are neither letters nor digits
/// (`"(Alice's,"` → `"Alice's"`); may be empty.
pub fn strip_punctuation(word: &str) -> &str {
    word.trim_matches(|c: char| !c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_spaces_tabs_newlines_and_no_break_space() {
        let text = " one\ttwo\nthree\r\nfour\u{a0}five  ";
        let got: Vec<&str> = words(text).collect();
        assert_eq!(got, ["one", "two", "three", "four", "five"]);
    }

    #[test]
    fn empty_and_blank_text_have_no_words() {
        assert_eq!(words("").count(), 0);
        assert_eq!(words(" \t\n ").count(), 0);
    }

    #[test]
    fn the_first_character_rule_does_not_skip_punctuation() {
        assert_eq!(Initial::FirstCharacter.of("\"Apple"), None);
        assert_eq!(Initial::FirstCharacter.of("apple,"), Some('a'));
        assert_eq!(Initial::FirstCharacter.of("4am"), None);
        assert_eq!(Initial::Letter.of("\"Apple"), Some('A'));
    }

    #[test]
    fn first_letter_skips_leading_quotes_and_brackets() {
        assert_eq!(first_letter("\"Apple"), Some('A'));
        assert_eq!(first_letter("(and)"), Some('a'));
        assert_eq!(first_letter("“¿Qué"), Some('Q'));
        assert_eq!(first_letter("--apple"), Some('a'));
        assert_eq!(first_letter("'tis"), Some('t'));
    }

    #[test]
    fn words_starting_with_a_digit_or_without_letters_have_no_first_letter() {
        assert_eq!(first_letter("42"), None);
        assert_eq!(first_letter("3am"), None);
        assert_eq!(first_letter("—"), None);
        assert_eq!(first_letter("..."), None);
        assert_eq!(first_letter(""), None);
    }

    #[test]
    fn first_letter_of_non_ascii_words() {
        assert_eq!(first_letter("Äpfel"), Some('Ä'));
        assert_eq!(first_letter("«élan»"), Some('é'));
        assert_eq!(first_letter("Ωmega"), Some('Ω'));
        assert_eq!(first_letter("日本"), Some('日'));
    }

    #[test]
    fn same_letter_ignores_case_only() {
        assert!(same_letter('a', 'A'));
        assert!(same_letter('Ä', 'ä'));
        assert!(same_letter('Σ', 'σ'));
        assert!(!same_letter('a', 'ä'));
        assert!(!same_letter('A', 'Α')); // Latin A vs Greek capital alpha
        assert!(!same_letter('a', 'b'));
    }

    #[test]
    fn strip_punctuation_keeps_inner_apostrophes() {
        assert_eq!(strip_punctuation("(Alice's,"), "Alice's");
        assert_eq!(strip_punctuation("\"hello!\""), "hello");
        assert_eq!(strip_punctuation("..."), "");
        assert_eq!(strip_punctuation("«Ünïcode»"), "Ünïcode");
    }
}
