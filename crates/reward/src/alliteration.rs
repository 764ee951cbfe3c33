//! `Alliteration`: the number of adjacent word pairs whose first letters match.

use crate::words::{first_letter, same_letter, words};
use crate::{Reward, Scope};

/// The number of adjacent word pairs whose first letters are the same letter, ignoring case:
///
/// R(text) = #{ i : first_letter(w_i) = first_letter(w_{i+1}) },  w = words(text)
///
/// A run of three alliterating words scores 2. A word without a first letter (`"—"`, `"42"`)
/// matches nothing and so breaks a run ("big — bad" scores 0), as any other intervening word
/// does ("Zebadiah the Zebra" scores 0).
///
/// This is the reward of the reference book's later chapters, with one difference: that book
/// compares each word's raw first character (`word[0].lower()`), while here leading punctuation
/// is skipped, so `"Hello" Harry` alliterates and two quoted words `"a" "b"` do not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alliteration {
    scope: Scope,
}

impl Alliteration {
    /// The alliteration reward over `scope`.
    pub fn new(scope: Scope) -> Self {
        Self { scope }
    }

    /// The number of alliterating adjacent word pairs in `text`.
    pub fn count(&self, text: &str) -> usize {
        let mut pairs = 0;
        let mut previous: Option<char> = None;
        for letter in words(text).map(first_letter) {
            if let (Some(a), Some(b)) = (previous, letter)
                && same_letter(a, b)
            {
                pairs += 1;
            }
            previous = letter;
        }
        pairs
    }
}

impl Reward for Alliteration {
    fn score(&self, prompt: &str, completion: &str) -> f32 {
        self.count(&self.scope.text(prompt, completion)) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alliteration(text: &str) -> usize {
        Alliteration::new(Scope::Completion).count(text)
    }

    #[test]
    fn adjacent_pairs_with_same_first_letter_count_case_insensitively() {
        // to-touch, touch-the, the-tall, tall-tree: 4 pairs.
        assert_eq!(alliteration("to touch the tall tree"), 4);
        // She-started: 1 (case differs).
        assert_eq!(alliteration("She started"), 1);
    }

    #[test]
    fn an_intervening_word_breaks_alliteration() {
        assert_eq!(alliteration("Zebadiah the Zebra"), 0);
    }

    #[test]
    fn leading_punctuation_is_skipped_before_comparing() {
        // tree?" -> t, "The -> T: 1 pair; "Hello, -> H, Harry -> H: 1 pair.
        assert_eq!(alliteration("tree?\" \"The"), 1);
        assert_eq!(alliteration("“Hello,” Harry"), 1);
    }

    #[test]
    fn letterless_words_break_runs_and_never_match() {
        assert_eq!(alliteration("big — bad"), 0);
        assert_eq!(alliteration("42 42 apple"), 0);
        assert_eq!(alliteration("... ..."), 0);
    }

    #[test]
    fn pairs_span_newlines_and_tabs() {
        assert_eq!(alliteration("happy\nhippo\thops"), 2);
    }

    #[test]
    fn non_ascii_letters_alliterate_by_case_folding() {
        // Ärger-ärgert: 1; ärgert-Äpfel: 1; Äpfel-apfel: no (ä ≠ a).
        assert_eq!(alliteration("Ärger ärgert Äpfel apfel"), 2);
        // Σ/σ/ς all lowercase to σ or ς; Σ→σ, σ→σ: 1 pair.
        assert_eq!(alliteration("Σοφία σοφή"), 1);
    }

    #[test]
    fn empty_and_single_word_texts_score_zero() {
        assert_eq!(alliteration(""), 0);
        assert_eq!(alliteration("alone"), 0);
        assert_eq!(alliteration(" \n "), 0);
    }

    #[test]
    fn full_text_scope_counts_the_pair_across_the_prompt_boundary() {
        let full = Alliteration::new(Scope::FullText);
        let completion = Alliteration::new(Scope::Completion);
        // "a time" + " to tell tales": time-to, to-tell, tell-tales = 3 in the full text.
        assert_eq!(full.score("a time", " to tell tales"), 3.0);
        assert_eq!(completion.score("a time", " to tell tales"), 2.0);
    }
}
