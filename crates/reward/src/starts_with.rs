//! `StartsWith`: the number of words whose first letter is one of a set (the A-word reward's
//! general form).

use crate::words::{Initial, same_letter, words};
use crate::{Reward, RewardError, Scope};

/// The number of words whose first letter is one of `letters`, ignoring case:
///
/// R(text) = #{ w ∈ words(text) : first_letter(w) ∈ letters }
///
/// with words and first letters as in [`words`](crate::words) (leading punctuation skipped).
/// `StartsWith::new("a", scope)` is the `a_words` reward: "Apple and (an) 'ant'" scores 4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartsWith {
    letters: Vec<char>,
    scope: Scope,
    initial: Initial,
}

impl StartsWith {
    /// A reward counting words that start with any letter of `letters` (case-insensitive).
    ///
    /// # Errors
    /// [`RewardError::NoLetters`] if `letters` is empty, [`RewardError::NotALetter`] if it
    /// holds a character that is not alphabetic.
    pub fn new(letters: &str, scope: Scope) -> Result<Self, RewardError> {
        if letters.is_empty() {
            return Err(RewardError::NoLetters);
        }
        if let Some(letter) = letters.chars().find(|c| !c.is_alphabetic()) {
            return Err(RewardError::NotALetter { letter });
        }
        Ok(Self {
            letters: letters.chars().collect(),
            scope,
            initial: Initial::Letter,
        })
    }

    /// The same reward, reading a word's initial by `initial` instead.
    pub fn with_initial(self, initial: Initial) -> Self {
        Self { initial, ..self }
    }

    /// The number of words of `text` that start with one of the letters.
    pub fn count(&self, text: &str) -> usize {
        words(text)
            .filter_map(|w| self.initial.of(w))
            .filter(|&c| self.letters.iter().any(|&l| same_letter(c, l)))
            .count()
    }
}

impl Reward for StartsWith {
    fn score(&self, prompt: &str, completion: &str) -> f32 {
        self.count(&self.scope.text(prompt, completion)) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a_words(text: &str) -> usize {
        StartsWith::new("a", Scope::Completion)
            .expect("\"a\" is a letter")
            .count(text)
    }

    #[test]
    fn a_words_counts_upper_and_lower_case() {
        // Apple, and, an, ant; not "banana".
        assert_eq!(a_words("Apple and banana an ant"), 4);
    }

    #[test]
    fn the_chapters_rule_counts_only_words_whose_first_character_is_a() {
        let chapter = StartsWith::new("a", Scope::Completion)
            .expect("a letter")
            .with_initial(Initial::FirstCharacter);
        // "Apple", "and", "an"; not "(ant)" or "'a'" (first character punctuation).
        assert_eq!(chapter.count("Apple and banana an (ant) 'a'"), 3);
        assert_eq!(a_words("Apple and banana an (ant) 'a'"), 5);
    }

    #[test]
    fn a_words_skips_leading_punctuation_and_quotes() {
        // "Alice, (and) 'away' “Anna” -a ... are counted; 'b and the lone quote are not.
        assert_eq!(a_words("\"Alice, (and) 'away' “Anna” -a 'b \""), 5);
    }

    #[test]
    fn a_words_counts_across_newlines_and_tabs() {
        assert_eq!(a_words("a\ta\na\r\nA  \u{a0}a"), 5);
    }

    #[test]
    fn a_words_does_not_count_inner_a_or_digits() {
        // "banana" has a's but starts with b; "4am" starts with a digit.
        assert_eq!(a_words("banana 4am bAnd"), 0);
    }

    #[test]
    fn a_words_does_not_count_accented_or_greek_look_alikes() {
        // Ä and à are other letters; Α is Greek capital alpha; Ä is in NFC form here.
        assert_eq!(a_words("Äpfel àla Αλφα alpha"), 1);
    }

    #[test]
    fn a_words_of_empty_text_is_zero() {
        assert_eq!(a_words(""), 0);
        assert_eq!(a_words("   \n\t"), 0);
    }

    #[test]
    fn starts_with_several_letters_counts_any_of_them() {
        let r = StartsWith::new("tT", Scope::Completion).expect("letters");
        // The, tall, tree., touched, (the); not She, branches.
        assert_eq!(r.count("The tall tree. She touched (the) branches"), 5);
        let vowels = StartsWith::new("aeiou", Scope::Completion).expect("letters");
        // an, egg, is, "under", Otto; not "bee", "yes".
        assert_eq!(vowels.count("an egg is \"under\" bee Otto yes"), 5);
    }

    #[test]
    fn starts_with_non_ascii_letter_matches_either_case() {
        let r = StartsWith::new("ä", Scope::Completion).expect("letters");
        assert_eq!(r.count("Ärger ärgert «Äpfel» apfel"), 3);
    }

    #[test]
    fn scope_decides_whether_prompt_words_count() {
        let completion = StartsWith::new("a", Scope::Completion).expect("letters");
        let full = StartsWith::new("a", Scope::FullText).expect("letters");
        // Prompt "Once upon a time" holds one A-word; the completion " an apple" holds two.
        assert_eq!(completion.score("Once upon a time", " an apple"), 2.0);
        assert_eq!(full.score("Once upon a time", " an apple"), 3.0);
    }

    #[test]
    fn full_text_joins_a_word_split_between_prompt_and_completion() {
        let full = StartsWith::new("a", Scope::FullText).expect("letters");
        // "A" + "pple" is one word "Apple"; counted once, not as "A" and "pple".
        assert_eq!(full.score("A", "pple a"), 2.0);
    }

    #[test]
    fn empty_letters_is_an_error() {
        assert_eq!(
            StartsWith::new("", Scope::Completion),
            Err(RewardError::NoLetters)
        );
    }

    #[test]
    fn non_letter_in_letters_is_an_error_naming_it() {
        let err = StartsWith::new("a1", Scope::Completion).expect_err("1 is not a letter");
        assert_eq!(err, RewardError::NotALetter { letter: '1' });
        let msg = err.to_string();
        assert!(msg.contains("starts_with") && msg.contains("'1'"), "{msg}");
    }
}
