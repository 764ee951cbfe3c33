//! The runner's drawing of [`Progress`] (the one progress interface, from the model crate):
//! indicatif bars when stderr is a terminal, plain lines otherwise. A [`Bar`] is one piece of
//! work (pretraining, or one run of a sweep); [`Bars`] is a sweep's overall bar and its runs'.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use pglab_model::Progress;

use pglab_report::Status;

/// One piece of work's bar. It appears at the first step (not before: a bar for work that has
/// not started would read `0/1`); stages and notes are lines above it.
pub struct Bar {
    bar: ProgressBar,
    start: Instant,
    /// The sweep's bars this one joins at its first step; None for a bar of its own.
    multi: Option<MultiProgress>,
    terminal: bool,
    shown: bool,
}

impl Bar {
    /// A bar of its own, drawn with `template` (indicatif's syntax).
    pub fn new(template: &str) -> Self {
        Self::with(template, None)
    }

    fn with(template: &str, multi: Option<MultiProgress>) -> Self {
        let bar = ProgressBar::hidden();
        bar.set_style(
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Self {
            bar,
            start: Instant::now(),
            terminal: std::io::stderr().is_terminal(),
            multi,
            shown: false,
        }
    }

    /// The last status the work gave.
    pub fn status(&self) -> String {
        self.bar.message()
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn line(&self, line: &str) {
        match (&self.multi, self.shown) {
            (Some(m), true) => {
                let _ = m.println(line);
            }
            (None, true) => self.bar.println(line),
            _ => eprintln!("{line}"),
        }
    }
}

impl Progress for Bar {
    fn stage(&mut self, what: &str) {
        self.line(&format!(
            "[{:>5.1}s] {what}",
            self.start.elapsed().as_secs_f64()
        ));
    }

    fn step(&mut self, done: usize, total: usize, status: &str) {
        if !self.shown && self.terminal {
            match &self.multi {
                Some(m) => {
                    self.bar = m.add(self.bar.clone());
                }
                None => self.bar.set_draw_target(ProgressDrawTarget::stderr()),
            }
            self.shown = true;
        }
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
        self.bar.set_message(status.to_string());
    }

    fn note(&mut self, line: &str) {
        self.line(line);
    }
}

/// A sweep's progress: one bar over the runs and one per active run on a terminal, a line per
/// finished run otherwise.
pub struct Bars {
    multi: Option<MultiProgress>,
    overall: ProgressBar,
    total: usize,
    finished: AtomicUsize,
    lines: Mutex<()>,
}

impl Bars {
    pub fn new(total: usize) -> Self {
        let multi = std::io::stderr().is_terminal().then(MultiProgress::new);
        let overall = match &multi {
            Some(m) => {
                let bar = m.add(ProgressBar::new(total as u64));
                bar.set_style(
                    ProgressStyle::with_template(
                        "runs {bar:30} {pos}/{len} [{elapsed_precise}, eta {eta}]",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar
            }
            None => ProgressBar::hidden(),
        };
        Self {
            multi,
            overall,
            total,
            finished: AtomicUsize::new(0),
            lines: Mutex::new(()),
        }
    }

    /// The bar of the run `id`.
    pub fn start(&self, id: &str) -> Bar {
        let bar = Bar::with(
            "  {prefix:24} {bar:20} step {pos}/{len} {msg}",
            self.multi.clone(),
        );
        bar.bar.set_prefix(id.to_string());
        bar
    }

    /// Closes the run's bar and logs how the run ended.
    pub fn finish(&self, id: &str, bar: &Bar, outcome: &Result<Option<Status>, String>) {
        let n = self.finished.fetch_add(1, Ordering::Relaxed) + 1;
        bar.finish();
        self.overall.inc(1);
        let what = match outcome {
            Ok(Some(s)) => format!("{s:?} ({})", bar.status()).to_lowercase(),
            Ok(None) => format!("interrupted ({})", bar.status()),
            Err(reason) => format!("failed: {reason}"),
        };
        let line = format!("[{n}/{}] {id}: {what}", self.total);
        match &self.multi {
            Some(m) => {
                let _ = m.println(line);
            }
            None => {
                let _guard = self.lines.lock();
                eprintln!("{line}");
            }
        }
    }
}
