//! How long work reports how far it has got: one small trait for pretraining, a run and a
//! sweep's runs alike. Library code calls it and never prints; the runner draws it on the
//! terminal (indicatif); tests pass [`Silent`].

/// Progress of a piece of work, in steps.
pub trait Progress {
    /// A stage begins ("writing the corpus", "training the tokenizer", …).
    fn stage(&mut self, _what: &str) {}
    /// `done` of `total` steps, with a short status for the bar (`loss 3.21`, `reward 2.30`).
    fn step(&mut self, _done: usize, _total: usize, _status: &str) {}
    /// A line worth keeping in the log (a held-out loss), printed above any bar.
    fn note(&mut self, _line: &str) {}
}

/// Progress that goes nowhere.
pub struct Silent;

impl Progress for Silent {}
