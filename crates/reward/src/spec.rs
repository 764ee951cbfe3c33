//! `RewardSpec`: the reward a user names in TOML, and how it becomes a `Box<dyn Reward>`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::words::Initial;
use crate::{
    Alliteration, CommandSpec, Reward, RewardError, RewardFunction, Scope, StartsWith, WordCount,
};

/// A reward as a user writes it: the `kind` tag picks the variant, its other keys are the
/// variant's fields, and every variant takes an optional `scope` (default `"completion"`).
/// Unknown keys are rejected.
///
/// ```toml
/// [reward]
/// kind = "starts_with"
/// letters = "aeiou"
/// scope = "full_text"
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RewardSpec {
    /// The number of words starting with "A" or "a" (leading punctuation skipped):
    /// R = #{ w : first_letter(w) ∈ {a, A} }. The default reward; `starts_with` with
    /// `letters = "a"`.
    AWords {
        /// Which text is scored.
        #[serde(default)]
        scope: Scope,
        /// How a word's initial is read: `letter` (default, leading punctuation skipped) or
        /// `first_character` (the reference chapter's rule).
        #[serde(default)]
        initial: Initial,
    },
    /// The number of words whose first letter is one of `letters`, ignoring case:
    /// R = #{ w : first_letter(w) ∈ letters }. See [`StartsWith`].
    StartsWith {
        /// The letters, e.g. `"aeiou"`.
        letters: String,
        /// Which text is scored.
        #[serde(default)]
        scope: Scope,
        /// How a word's initial is read (as for `a_words`).
        #[serde(default)]
        initial: Initial,
    },
    /// The number of adjacent word pairs with the same first letter, ignoring case:
    /// R = #{ i : first_letter(w_i) = first_letter(w_{i+1}) }. See [`Alliteration`].
    Alliteration {
        /// Which text is scored.
        #[serde(default)]
        scope: Scope,
    },
    /// The number of words equal to one of `words` after stripping surrounding punctuation:
    /// R = #{ w : strip(w) ∈ words }. See [`WordCount`].
    WordCount {
        /// The words to count.
        words: Vec<String>,
        /// Match case exactly (default: ignore case).
        #[serde(default)]
        case_sensitive: bool,
        /// Which text is scored.
        #[serde(default)]
        scope: Scope,
    },
    /// The user's own program, sent each batch as a JSON line on its stdin, answering with the
    /// rewards as a JSON line on its stdout. See [`CommandSpec`] and [`protocol`](crate::protocol).
    Command(CommandSpec),
}

impl Default for RewardSpec {
    /// The default: A-words in the completion.
    fn default() -> Self {
        RewardSpec::AWords {
            scope: Scope::Completion,
            initial: Initial::Letter,
        }
    }
}

impl RewardSpec {
    /// The scope this reward scores.
    pub fn scope(&self) -> Scope {
        match self {
            RewardSpec::AWords { scope, .. }
            | RewardSpec::StartsWith { scope, .. }
            | RewardSpec::Alliteration { scope }
            | RewardSpec::WordCount { scope, .. } => *scope,
            RewardSpec::Command(command) => command.scope,
        }
    }

    /// Checks the configuration, without starting anything.
    ///
    /// # Errors
    /// A [`RewardError`] naming the reward and the value at fault.
    pub fn validate(&self) -> Result<(), RewardError> {
        match self {
            RewardSpec::Command(command) => command.validate(),
            built_in => built_in.build().map(drop),
        }
    }

    /// The reward of a run whose experiment file is in `dir`: a built-in one, or the program
    /// started (its stderr going to `log`).
    ///
    /// # Errors
    /// The configuration's, or why the program could not start.
    pub fn start(&self, dir: &Path, log: &Path) -> Result<RewardFunction, RewardError> {
        Ok(match self {
            RewardSpec::Command(command) => {
                command.validate()?;
                RewardFunction::Command(Box::new(command.start(dir, log)?), command.scope)
            }
            built_in => RewardFunction::BuiltIn(built_in.build()?),
        })
    }

    /// Validates the configuration and builds a built-in reward.
    ///
    /// # Errors
    /// A [`RewardError`] naming the reward and the value at fault; [`RewardError::NotBuiltIn`]
    /// for `command`, which [`start`](Self::start) starts.
    pub fn build(&self) -> Result<Box<dyn Reward>, RewardError> {
        Ok(match self {
            RewardSpec::AWords { scope, initial } => {
                Box::new(StartsWith::new("a", *scope)?.with_initial(*initial))
            }
            RewardSpec::StartsWith {
                letters,
                scope,
                initial,
            } => Box::new(StartsWith::new(letters, *scope)?.with_initial(*initial)),
            RewardSpec::Alliteration { scope } => Box::new(Alliteration::new(*scope)),
            RewardSpec::WordCount {
                words,
                case_sensitive,
                scope,
            } => Box::new(WordCount::new(words, *case_sensitive, *scope)?),
            RewardSpec::Command(_) => return Err(RewardError::NotBuiltIn),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        reward: RewardSpec,
    }

    fn parse(toml_text: &str) -> Result<RewardSpec, toml::de::Error> {
        toml::from_str::<File>(toml_text).map(|f| f.reward)
    }

    #[test]
    fn the_chapters_first_character_rule_parses_and_scores() {
        let spec =
            parse("[reward]\nkind = \"a_words\"\ninitial = \"first_character\"\n").expect("parses");
        let reward = spec.build().expect("valid");
        // "(an" and "'a'" start with punctuation: only "Anna" and "apple".
        assert_eq!(reward.score("", "Anna ate (an apple 'a'"), 3.0);
        assert!(parse("[reward]\nkind = \"a_words\"\ninitial = \"first\"\n").is_err());
    }

    #[test]
    fn a_words_parses_with_and_without_scope() {
        let with = parse("[reward]\nkind = \"a_words\"\nscope = \"full_text\"\n").expect("parses");
        assert_eq!(
            with,
            RewardSpec::AWords {
                scope: Scope::FullText,
                initial: Initial::Letter,
            }
        );
        let without = parse("[reward]\nkind = \"a_words\"\n").expect("parses");
        assert_eq!(without, RewardSpec::default());
    }

    #[test]
    fn every_kind_parses_from_toml() {
        let s = parse("[reward]\nkind = \"starts_with\"\nletters = \"aeiou\"\n").expect("parses");
        assert_eq!(
            s,
            RewardSpec::StartsWith {
                letters: "aeiou".into(),
                scope: Scope::Completion,
                initial: Initial::Letter,
            }
        );
        let a =
            parse("[reward]\nkind = \"alliteration\"\nscope = \"completion\"\n").expect("parses");
        assert_eq!(
            a,
            RewardSpec::Alliteration {
                scope: Scope::Completion
            }
        );
        let w =
            parse("[reward]\nkind = \"word_count\"\nwords = [\"cat\", \"dog\"]\n").expect("parses");
        assert_eq!(
            w,
            RewardSpec::WordCount {
                words: vec!["cat".into(), "dog".into()],
                case_sensitive: false,
                scope: Scope::Completion
            }
        );
    }

    #[test]
    fn unknown_keys_kinds_and_scopes_are_rejected() {
        assert!(parse("[reward]\nkind = \"a_words\"\nletters = \"b\"\n").is_err());
        assert!(parse("[reward]\nkind = \"a_word\"\n").is_err());
        assert!(parse("[reward]\nkind = \"a_words\"\nscope = \"prompt\"\n").is_err());
        assert!(parse("[reward]\nkind = \"starts_with\"\n").is_err());
    }

    #[test]
    fn spec_round_trips_through_toml() {
        let spec = RewardSpec::WordCount {
            words: vec!["über".into()],
            case_sensitive: true,
            scope: Scope::FullText,
        };
        let text = toml::to_string(&File {
            reward: spec.clone(),
        })
        .expect("serialises");
        assert_eq!(parse(&text).expect("parses back"), spec);
    }

    #[test]
    fn built_rewards_score_hand_counted_texts() {
        let prompt = "Once upon a time";
        let completion = " an ant ate an apple, and a bee buzzed by.";
        let score = |spec: RewardSpec| spec.build().expect("valid").score(prompt, completion);
        // an, ant, ate, an, apple, and, a = 7 in the completion; + "a" of the prompt = 8.
        assert_eq!(score(RewardSpec::default()), 7.0);
        assert_eq!(
            score(RewardSpec::AWords {
                scope: Scope::FullText,
                initial: Initial::Letter,
            }),
            8.0
        );
        // b-words: bee, buzzed, by. = 3.
        assert_eq!(
            score(RewardSpec::StartsWith {
                letters: "B".into(),
                scope: Scope::Completion,
                initial: Initial::Letter,
            }),
            3.0
        );
        // an-ant, ant-ate, ate-an, an-apple, apple-and, and-a, bee-buzzed, buzzed-by = 8.
        assert_eq!(
            score(RewardSpec::Alliteration {
                scope: Scope::Completion
            }),
            8.0
        );
        // Full text adds upon-a? no; a-time? no; time-an? no: still 8.
        assert_eq!(
            score(RewardSpec::Alliteration {
                scope: Scope::FullText
            }),
            8.0
        );
        assert_eq!(
            score(RewardSpec::WordCount {
                words: vec!["an".into(), "a".into()],
                case_sensitive: false,
                scope: Scope::FullText
            }),
            4.0
        );
    }

    #[test]
    fn a_words_equals_starts_with_a() {
        let a = RewardSpec::default().build().expect("valid");
        let s = RewardSpec::StartsWith {
            letters: "A".into(),
            scope: Scope::Completion,
            initial: Initial::Letter,
        }
        .build()
        .expect("valid");
        for text in ["", "An apple a day", "«Ärger» and \"all\"", "4am ant\tAA"] {
            assert_eq!(a.score("", text), s.score("", text), "{text:?}");
        }
    }

    #[test]
    fn invalid_specs_fail_to_build_with_a_named_error() {
        let err = RewardSpec::StartsWith {
            letters: "a!".into(),
            scope: Scope::Completion,
            initial: Initial::Letter,
        }
        .build()
        .expect_err("'!' is not a letter");
        assert_eq!(err, RewardError::NotALetter { letter: '!' });
        let err = RewardSpec::WordCount {
            words: vec![],
            case_sensitive: false,
            scope: Scope::Completion,
        }
        .build()
        .expect_err("no words");
        assert_eq!(err, RewardError::NoWords);
    }

    #[test]
    fn scope_reports_the_variant_scope() {
        let spec = RewardSpec::WordCount {
            words: vec!["x".into()],
            case_sensitive: false,
            scope: Scope::FullText,
        };
        assert_eq!(spec.scope(), Scope::FullText);
        assert_eq!(RewardSpec::default().scope(), Scope::Completion);
    }

    #[test]
    fn scoring_never_panics_and_stays_finite_on_odd_strings() {
        let specs = [
            RewardSpec::default(),
            RewardSpec::StartsWith {
                letters: "ßİΣ".into(),
                scope: Scope::FullText,
                initial: Initial::Letter,
            },
            RewardSpec::Alliteration {
                scope: Scope::FullText,
            },
            RewardSpec::WordCount {
                words: vec!["ﬁ".into(), "İstanbul".into()],
                case_sensitive: false,
                scope: Scope::FullText,
            },
        ];
        // Combining marks, zero-width and bidi controls, emoji sequences, NUL, lone
        // punctuation, letters whose lowercase is longer than themselves (İ, ẞ, ﬁ).
        let mut texts: Vec<String> = [
            "",
            "\0",
            "e\u{301}\u{301}",
            "\u{200b}a\u{200d}",
            "\u{202e}abc",
            "👩‍👩‍👧 a 👍🏽",
            "İ i̇ ẞ ß ﬁ ﬁx",
            "\"\"\"",
            "a\u{0}b",
            "\u{feff}A",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every 251st code point, each as its own word and glued to the next.
        let chars: String = (0..=0x10ffffu32)
            .step_by(251)
            .filter_map(char::from_u32)
            .collect();
        texts.push(chars.clone());
        texts.push(chars.chars().flat_map(|c| [c, ' ']).collect());
        for spec in &specs {
            let reward = spec.build().expect("valid");
            for prompt in &texts {
                for completion in &texts {
                    assert!(reward.score(prompt, completion).is_finite());
                }
            }
        }
    }
}
