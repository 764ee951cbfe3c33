//! `summary.csv`, one row per run of a sweep: `run_id`, the run's grid point (the grid's keys,
//! then [`KEYS`] where the grid lacks them), then its [`Outcome`]. `pglab sweep` writes it and
//! the report reads it back through the same types.
//!
//! The grid's keys differ from sweep to sweep, so they are a list of values between two fixed
//! parts rather than struct fields; the fixed columns after them are [`Outcome`]'s fields.

use std::path::Path;

use anyhow::bail;
use pglab_estimator::Estimator;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::csv_rows::{self, Table, field_names, format};
use crate::record::{RunResult, Status};

/// The first column: the run's directory under `runs/`.
pub const RUN_ID: &str = "run_id";
/// The column naming each run's training estimator.
pub const ESTIMATOR: &str = "train.estimator";
pub const LR: &str = "train.lr";
pub const SEED: &str = "seed";
/// Point columns every summary has, grid or not (in this order after the grid's keys): the
/// report groups and plots by them.
pub const KEYS: [&str; 3] = [ESTIMATOR, LR, SEED];

/// One row: the run, its grid point (one value per point column) and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryRow {
    pub run_id: String,
    pub point: Vec<String>,
    pub outcome: Outcome,
}

/// How a run ended: its `done.json` or `failed.json` without the hash, or nothing yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// None: not run yet, written `pending`.
    #[serde(serialize_with = "pending_if_none")]
    #[serde(deserialize_with = "none_if_pending")]
    pub status: Option<Status>,
    pub reason: String,
    #[serde(serialize_with = "format::display")]
    pub final_reward: Option<f64>,
    #[serde(serialize_with = "format::display")]
    pub best_reward: Option<f64>,
    pub steps: Option<usize>,
    pub generations: Option<usize>,
    #[serde(serialize_with = "format::one_decimal")]
    pub wall_s: Option<f64>,
}

impl Outcome {
    /// The outcome of a run with `result` (None: not run yet).
    pub fn of(result: Option<&RunResult>) -> Self {
        match result {
            Some(r) => Self {
                status: Some(r.status),
                reason: r.reason.clone(),
                final_reward: r.final_reward,
                best_reward: r.best_reward,
                steps: Some(r.steps),
                generations: Some(r.generations),
                wall_s: Some(r.wall_s),
            },
            None => Self {
                status: None,
                reason: String::new(),
                final_reward: None,
                best_reward: None,
                steps: None,
                generations: None,
                wall_s: None,
            },
        }
    }
}

fn pending_if_none<S: Serializer>(status: &Option<Status>, s: S) -> Result<S::Ok, S::Error> {
    match status {
        Some(status) => status.serialize(s),
        None => s.serialize_str("pending"),
    }
}

fn none_if_pending<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Status>, D::Error> {
    let text = String::deserialize(d)?;
    match text.as_str() {
        "done" => Ok(Some(Status::Done)),
        "diverged" => Ok(Some(Status::Diverged)),
        "failed" => Ok(Some(Status::Failed)),
        "pending" => Ok(None),
        other => Err(serde::de::Error::custom(format!(
            "{other:?} is not one of done, diverged, failed, pending"
        ))),
    }
}

/// The point columns the report reads by name, typed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunKeys {
    #[serde(rename = "train.estimator")]
    pub estimator: Estimator,
    #[serde(rename = "train.lr")]
    pub lr: Option<f64>,
    pub seed: Option<String>,
}

/// `summary.csv` with `point_columns` (the grid's keys, then the missing [`KEYS`]).
pub fn to_csv(point_columns: &[String], rows: &[SummaryRow]) -> anyhow::Result<Vec<u8>> {
    let mut header = vec![RUN_ID];
    header.extend(point_columns.iter().map(String::as_str));
    header.extend(field_names::<Outcome>());
    csv_rows::write(&header, rows)
}

/// A `summary.csv` read back.
#[derive(Debug, Clone)]
pub struct Summary {
    pub point_columns: Vec<String>,
    pub rows: Vec<(SummaryRow, RunKeys)>,
}

/// Reads `summary.csv`; a bad value is an error naming the line and column.
pub fn read(path: &Path) -> anyhow::Result<Summary> {
    let table = Table::read(path)?;
    let outcome = field_names::<Outcome>();
    let columns: Vec<&str> = table.header.iter().collect();
    let points = columns.len().saturating_sub(outcome.len());
    if columns.first() != Some(&RUN_ID) || points < 1 || columns[points..] != *outcome {
        bail!(
            "{}: expected the columns {RUN_ID}, the grid's keys, {}; found {}",
            path.display(),
            outcome.join(", "),
            columns.join(", ")
        );
    }
    let tail: csv::StringRecord = columns[points..].iter().collect();
    let rows = table
        .rows
        .iter()
        .map(|row| {
            let mut outcome: csv::StringRecord = row.iter().skip(points).collect();
            outcome.set_position(row.position().cloned());
            let summary_row = SummaryRow {
                run_id: row[0].to_string(),
                point: row.iter().take(points).skip(1).map(String::from).collect(),
                outcome: csv_rows::parse(path, &tail, &outcome)?,
            };
            Ok((summary_row, csv_rows::parse(path, &table.header, row)?))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Summary {
        point_columns: columns[1..points].iter().map(|c| c.to_string()).collect(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report/summary.csv")
    }

    #[test]
    fn the_fixture_reads_and_writes_back_byte_identical() {
        let summary = read(&fixture()).unwrap();
        assert_eq!(summary.point_columns, ["seed", ESTIMATOR, LR]);
        let rows: Vec<SummaryRow> = summary.rows.iter().map(|(r, _)| r.clone()).collect();
        let written = to_csv(&summary.point_columns, &rows).unwrap();
        assert!(written == std::fs::read(fixture()).unwrap());
        let (pending, keys) = &summary.rows[11];
        assert_eq!(pending.outcome, Outcome::of(None));
        assert_eq!(keys.estimator, Estimator::Rloo);
        assert_eq!((keys.lr, keys.seed.as_deref()), (Some(0.1), Some("2")));
    }

    #[test]
    fn keys_are_the_columns_run_keys_reads() {
        assert_eq!(field_names::<RunKeys>(), KEYS);
    }

    #[test]
    fn a_run_result_is_written_as_the_sweep_always_wrote_it() {
        let result = RunResult {
            config_hash: "abc".into(),
            status: Status::Diverged,
            reason: "non-finite loss, step 3".into(),
            final_reward: Some(f64::NAN),
            best_reward: Some(12.5),
            steps: 3,
            generations: 24,
            wall_s: 61.25,
            stderr_tail: Vec::new(),
        };
        let row = |outcome| SummaryRow {
            run_id: "s0-rloo".into(),
            point: vec!["rloo".into(), "0.0001".into(), "0".into()],
            outcome,
        };
        let columns = KEYS.map(String::from);
        let rows = [row(Outcome::of(Some(&result))), row(Outcome::of(None))];
        let text = String::from_utf8(to_csv(&columns, &rows).unwrap()).unwrap();
        assert_eq!(
            text,
            "run_id,train.estimator,train.lr,seed,status,reason,final_reward,best_reward,steps,\
             generations,wall_s\n\
             s0-rloo,rloo,0.0001,0,diverged,\"non-finite loss, step 3\",NaN,12.5,3,24,61.2\n\
             s0-rloo,rloo,0.0001,0,pending,,,,,,\n"
        );
    }
}
