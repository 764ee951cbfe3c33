//! Rewards for pglab: a completion's text in, one number out (no burn).
//!
//! A reward implements [`Reward`]: it receives the prompt and the completion and returns an
//! `f32`. Which text it scores is its [`Scope`]: the completion alone (the default) or the full
//! text, prompt followed by completion.
//!
//! A user picks a reward in TOML through [`RewardSpec`], a tagged enum whose variant names are
//! the names a user types:
//!
//! ```toml
//! [reward]
//! kind = "a_words"
//! scope = "completion"
//! ```
//!
//! # Words and first letters
//!
//! Every reward here reads text as words, with one rule (see [`words`]):
//!
//! - a **word** is a maximal run of non-whitespace characters, whitespace being Unicode's
//!   `White_Space` property (spaces, tabs, newlines, no-break spaces, …);
//! - a word's **first letter** is found by skipping its leading characters that are neither
//!   letters nor digits (quotes, brackets, dashes, …) and taking the next character, if it is
//!   alphabetic; a word whose first such character is a digit (`"42"`, `"3am"`), or that has
//!   none (`"—"`), has no first letter;
//! - letters compare case-insensitively, by their full Unicode lowercase (`'Ä'` matches `'ä'`,
//!   not `'a'`).
//!
//! Scoring never panics: any `&str` is a valid input, and the empty text scores 0.
//!
//! # A user's own reward
//!
//! `kind = "command"` ([`CommandSpec`]) runs the user's program once per run and sends it each
//! batch as one JSON line ([`protocol`]); a run scores through [`RewardFunction`], which is one
//! or the other.

mod alliteration;
mod command;
mod error;
mod function;
mod process;
pub mod protocol;
mod reward;
mod scope;
mod spec;
mod starts_with;
mod word_count;
pub mod words;

pub use alliteration::Alliteration;
pub use command::CommandSpec;
pub use error::RewardError;
pub use function::RewardFunction;
pub use process::{CommandError, RewardProcess};
pub use protocol::{Phase, Request};
pub use reward::Reward;
pub use scope::Scope;
pub use spec::RewardSpec;
pub use starts_with::StartsWith;
pub use word_count::WordCount;
