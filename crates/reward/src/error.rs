//! `RewardError`: what can be wrong with a reward's configuration.

use crate::CommandError;

/// A reward configuration that cannot be built. Each message names the reward and the value at
/// fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewardError {
    /// `starts_with` was given no letters.
    #[error("reward `starts_with`: `letters` is empty; give at least one letter, e.g. \"a\"")]
    NoLetters,
    /// `starts_with` was given a character that is not a letter, so no word could ever match it.
    #[error(
        "reward `starts_with`: {letter:?} in `letters` is not a letter (a word's first letter is always alphabetic, so it could never match)"
    )]
    NotALetter {
        /// The offending character.
        letter: char,
    },
    /// `word_count` was given an empty word list.
    #[error("reward `word_count`: `words` is empty; give at least one word")]
    NoWords,
    /// `word_count` was given a word that no word of a text can ever equal.
    #[error(
        "reward `word_count`: word {word:?} can never match: words are compared after stripping leading and trailing punctuation, so a word must be non-empty, contain no whitespace, and start and end with a letter or digit"
    )]
    UnmatchableWord {
        /// The offending word.
        word: String,
    },
    /// `command` names no program.
    #[error(
        "reward `command`: `command` is empty; give the program and its arguments, e.g. [\"python3\", \"rewards/a_words.py\"]"
    )]
    EmptyCommand,
    /// `timeout_s` is not a positive number of seconds.
    #[error("reward `command`: `timeout_s` = {timeout_s} must be a positive number of seconds")]
    BadTimeout {
        /// The value given.
        timeout_s: String,
    },
    /// An `env` key that no environment variable can have.
    #[error(
        "reward `command`: `env` key {key:?} is not a variable name (empty, or contains '=' or NUL)"
    )]
    BadEnvKey {
        /// The offending key.
        key: String,
    },
    /// A reward that runs as its own process was asked for as a built-in one.
    #[error("reward `command` runs as its own program: start it with `RewardSpec::start`")]
    NotBuiltIn,
    /// The program could not start.
    #[error(transparent)]
    Command(#[from] CommandError),
}
