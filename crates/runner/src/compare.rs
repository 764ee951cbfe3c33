//! `pglab compare DIR_A DIR_B`: two sweeps of one experiment (replicates), claim by claim of
//! their answer sections, each with a verdict (held, not held, not resolved in either; the
//! rules are `pglab_report::compare`'s). Written as `compare.md` and `compare.csv` into `--out`,
//! and printed. A README's "held" comes from here, never from reading intervals by eye.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::Args;
use pglab_report::compare::{compare, compare_csv, compare_markdown};
use pglab_report::write_atomically;

use crate::sweep::dir::SweepDir;

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The first sweep directory (`results/reinforce_vs_rloo`).
    pub a: PathBuf,
    /// The second sweep directory: the same experiment run again (other seeds, another machine).
    pub b: PathBuf,
    /// Where `compare.md` and `compare.csv` go (created if missing).
    #[arg(long, default_value = "results/compare")]
    pub out: PathBuf,
}

pub fn run(args: &CompareArgs) -> anyhow::Result<()> {
    let (a, b) = (SweepDir::new(&args.a), SweepDir::new(&args.b));
    let (a_experiment, b_experiment) = (a.experiment()?, b.experiment()?);
    let (a_name, b_name) = (
        name(&a_experiment.sweep.name, a.path()),
        name(&b_experiment.sweep.name, b.path()),
    );
    if a_name != b_name {
        bail!(
            "{} and {}: sweeps of different experiments ({a_name:?} and {b_name:?}); compare replicates of one experiment",
            a.path().display(),
            b.path().display()
        );
    }
    let rows = compare(
        &pglab_report::answer(a.path(), &a_experiment.report)?,
        &pglab_report::answer(b.path(), &b_experiment.report)?,
    );
    let md = compare_markdown(
        &a.path().display().to_string(),
        &b.path().display().to_string(),
        &rows,
    );
    std::fs::create_dir_all(&args.out)?;
    write_atomically(&args.out.join("compare.md"), md.as_bytes())?;
    write_atomically(&args.out.join("compare.csv"), &compare_csv(&rows)?)?;
    let mut out = std::io::stdout().lock();
    write!(out, "{md}")?;
    writeln!(out, "\nwritten: {}", args.out.join("compare.md").display())?;
    Ok(())
}

/// The experiment's name: its `[sweep] name`, else the sweep directory's own name (which the
/// experiment file's name gave it).
fn name(declared: &Option<String>, dir: &Path) -> String {
    declared.clone().unwrap_or_else(|| {
        dir.file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned())
    })
}
