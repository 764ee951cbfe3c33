//! TensorBoard event files, so `tensorboard --logdir results/<sweep>` shows every run live, beside
//! the CSV files (which stay what the report reads).
//!
//! Each run writes `events.out.tfevents.<time>.pglab` in its directory as it goes, flushed after
//! every step: every numeric column of `metrics.csv` as a scalar, the probe's figures per
//! estimator, a few samples as text, and its hparams session (the grid values at the start, the
//! final metrics and the status at the end). The step axis is generations, as in the report's
//! figures, so runs with different k compare at equal sample cost. A run redone from its start
//! begins in an emptied directory, so it never holds two histories.
//!
//! No crate on crates.io writes these files and is kept up (tensorboard-rs: last release 2022),
//! and the format is small: TFRecord framing with a masked CRC-32C ([`record`]) around
//! `Event`/`Summary` protobuf messages ([`proto`], `prost` derives).

mod proto;
mod record;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use prost::Message;

use pglab_estimator::TokenReduction;

use crate::{ProbeRecord, StepRecord};
use proto::{
    Event, HParamsData, HParamsPluginData, Kind, Payload, PluginData, Summary, SummaryMetadata,
    SummaryValue, TensorProto, What,
};

/// One hparam's value, as the grid gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum HParam {
    Number(f64),
    Text(String),
    Bool(bool),
}

/// The metrics each run reports at its end, which TensorBoard's HPARAMS tab shows as columns.
pub const FINAL_METRICS: [&str; 2] = ["final/reward", "final/best_reward"];

/// An event file being written.
pub struct EventFile {
    file: File,
    path: PathBuf,
    /// The token reduction of the run's first probe record: its own, whose figures keep the
    /// plain `probe/<figure>/<estimator>` tags.
    own_reduction: Option<Option<TokenReduction>>,
}

impl EventFile {
    /// A new event file in `dir`, starting with its file-version event.
    pub fn create(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(format!("events.out.tfevents.{}.pglab", now() as u64));
        let file = File::create(&path).with_context(|| format!("{}", path.display()))?;
        let mut events = Self {
            file,
            path,
            own_reduction: None,
        };
        events.write(Event {
            wall_time: now(),
            step: 0,
            what: Some(What::FileVersion("brain.Event:2".into())),
        })?;
        Ok(events)
    }

    /// Every numeric column of `metrics.csv` at this step, at step = generations.
    pub fn step(&mut self, record: &StepRecord) -> anyhow::Result<()> {
        let columns = serde_json::to_value(record)?;
        let values = columns
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(name, _)| name.as_str() != "generations")
            .filter_map(|(name, value)| Some((step_tag(name), value.as_f64()?)))
            .map(|(tag, value)| scalar(tag, value))
            .collect();
        self.summary(record.generations, values)
    }

    /// One estimator's figures at one probe: `probe/<figure>/<estimator>`, and
    /// `probe/<figure>/<estimator>/<reduction>` under a token reduction not the run's own.
    pub fn probe(&mut self, record: &ProbeRecord) -> anyhow::Result<()> {
        let own = *self.own_reduction.get_or_insert(record.token_reduction);
        // Another reduction's figures (`probe.token_reductions`) under a tag of their own.
        let estimator = match record.token_reduction {
            Some(r) if Some(r) != own => format!("{}/{}", record.estimator.name(), r.name()),
            _ => record.estimator.name().to_string(),
        };
        let values = [
            ("grad_var", record.grad_var),
            ("grad_mean_sqnorm", record.grad_mean_sqnorm),
            ("snr", record.snr),
            ("cos_to_ref", record.cos_to_ref),
        ]
        .into_iter()
        .map(|(figure, value)| scalar(format!("probe/{figure}/{estimator}"), value))
        .chain(std::iter::once(scalar(
            "probe/reward_mean".into(),
            record.reward_mean,
        )))
        .collect();
        self.summary(record.generations, values)
    }

    /// Sampled texts as one markdown list under `samples`.
    pub fn samples(&mut self, generations: usize, texts: &[String]) -> anyhow::Result<()> {
        let tensor = TensorProto {
            dtype: proto::DT_STRING,
            tensor_shape: Some(proto::TensorShape {
                dim: vec![proto::Dim {
                    size: texts.len() as i64,
                }],
            }),
            string_val: texts.iter().map(|t| t.as_bytes().to_vec()).collect(),
        };
        let value = SummaryValue {
            tag: "samples".into(),
            metadata: Some(plugin("text", Vec::new())),
            value: Some(Payload::Tensor(tensor)),
        };
        self.summary(generations, vec![value])
    }

    /// The run's hparams session begins: its grid values.
    pub fn session_start(&mut self, hparams: &[(String, HParam)]) -> anyhow::Result<()> {
        let start = proto::SessionStartInfo {
            hparams: hparams
                .iter()
                .map(|(name, value)| (name.clone(), value_of(value)))
                .collect(),
            group_name: String::new(),
            start_time_secs: now(),
        };
        self.hparams(
            "_hparams_/session_start_info",
            HParamsData::SessionStartInfo(start),
        )
    }

    /// The run's hparams session ends: its final metrics (at `generations`), then its status.
    pub fn session_end(
        &mut self,
        generations: usize,
        final_reward: Option<f64>,
        best_reward: Option<f64>,
        succeeded: bool,
    ) -> anyhow::Result<()> {
        let finals = FINAL_METRICS
            .iter()
            .zip([final_reward, best_reward])
            .filter_map(|(tag, value)| Some(scalar(tag.to_string(), value?)))
            .collect();
        self.summary(generations, finals)?;
        let status = if succeeded {
            proto::STATUS_SUCCESS
        } else {
            proto::STATUS_FAILURE
        };
        let end = proto::SessionEndInfo {
            status,
            end_time_secs: now(),
        };
        self.hparams(
            "_hparams_/session_end_info",
            HParamsData::SessionEndInfo(end),
        )
    }

    fn hparams(&mut self, tag: &str, data: HParamsData) -> anyhow::Result<()> {
        let content = HParamsPluginData {
            version: 0,
            data: Some(data),
        }
        .encode_to_vec();
        self.summary(0, vec![hparams_value(tag, content)])
    }

    fn summary(&mut self, step: usize, value: Vec<SummaryValue>) -> anyhow::Result<()> {
        self.write(Event {
            wall_time: now(),
            step: step as i64,
            what: Some(What::Summary(Summary { value })),
        })
    }

    /// One event, framed and flushed: a reader sees every step as soon as it is done.
    fn write(&mut self, event: Event) -> anyhow::Result<()> {
        self.file
            .write_all(&record::frame(&event.encode_to_vec()))
            .and_then(|()| self.file.flush())
            .with_context(|| format!("{}", self.path.display()))
    }
}

/// The sweep's hparams experiment, in `dir/events.out.tfevents.0.pglab-hparams`: which hparams
/// the HPARAMS tab lists (with every value the grid takes) and which metrics it shows.
pub fn write_experiment(
    dir: &Path,
    name: &str,
    hparams: &[(String, Vec<HParam>)],
) -> anyhow::Result<()> {
    let hparam_infos = hparams
        .iter()
        .map(|(name, values)| proto::HParamInfo {
            name: name.clone(),
            r#type: match values.first() {
                Some(HParam::Number(_)) => proto::DATA_TYPE_FLOAT64,
                Some(HParam::Bool(_)) => proto::DATA_TYPE_BOOL,
                _ => proto::DATA_TYPE_STRING,
            },
            domain_discrete: Some(proto::ListValue {
                values: values.iter().map(value_of).collect(),
            }),
        })
        .collect();
    let metric_infos = FINAL_METRICS
        .iter()
        .chain(&["reward/mean"])
        .map(|tag| proto::MetricInfo {
            name: Some(proto::MetricName {
                group: String::new(),
                tag: tag.to_string(),
            }),
            display_name: tag.to_string(),
        })
        .collect();
    let experiment = proto::Experiment {
        description: String::new(),
        hparam_infos,
        metric_infos,
        name: name.into(),
    };
    let content = HParamsPluginData {
        version: 0,
        data: Some(HParamsData::Experiment(experiment)),
    }
    .encode_to_vec();
    let events = [
        Event {
            wall_time: now(),
            step: 0,
            what: Some(What::FileVersion("brain.Event:2".into())),
        },
        Event {
            wall_time: now(),
            step: 0,
            what: Some(What::Summary(Summary {
                value: vec![hparams_value("_hparams_/experiment", content)],
            })),
        },
    ];
    let bytes: Vec<u8> = events
        .iter()
        .flat_map(|e| record::frame(&e.encode_to_vec()))
        .collect();
    crate::write_atomically(&dir.join("events.out.tfevents.0.pglab-hparams"), &bytes)
}

/// The tag of a `metrics.csv` column: grouped by what it measures.
fn step_tag(column: &str) -> String {
    let group = match column {
        c if c.starts_with("reward_") || c == "frac_zero_std_groups" => "reward",
        c if c.starts_with("adv_") => "advantage",
        "tokens_per_s" | "elapsed_s" => "speed",
        c if c.starts_with("clip_") || c.starts_with("ratio_") || c == "kl_old" => "update",
        "groups_dropped" | "resample_rounds" => "sampling",
        _ => "train",
    };
    let name = column
        .strip_prefix("reward_")
        .or_else(|| column.strip_prefix("adv_"))
        .unwrap_or(column);
    format!("{group}/{name}")
}

fn scalar(tag: String, value: f64) -> SummaryValue {
    SummaryValue {
        tag,
        metadata: None,
        value: Some(Payload::SimpleValue(value as f32)),
    }
}

fn plugin(name: &str, content: Vec<u8>) -> SummaryMetadata {
    SummaryMetadata {
        plugin_data: Some(PluginData {
            plugin_name: name.into(),
            content,
        }),
    }
}

/// An hparams summary value: the plugin data, on an empty float tensor (as TensorBoard's own
/// writer does, so its data provider keeps it).
fn hparams_value(tag: &str, content: Vec<u8>) -> SummaryValue {
    SummaryValue {
        tag: tag.into(),
        metadata: Some(plugin("hparams", content)),
        value: Some(Payload::Tensor(TensorProto {
            dtype: proto::DT_FLOAT,
            tensor_shape: Some(proto::TensorShape {
                dim: vec![proto::Dim { size: 0 }],
            }),
            string_val: Vec::new(),
        })),
    }
}

fn value_of(value: &HParam) -> proto::Value {
    proto::Value {
        kind: Some(match value {
            HParam::Number(x) => Kind::Number(*x),
            HParam::Text(s) => Kind::Text(s.clone()),
            HParam::Bool(b) => Kind::Bool(*b),
        }),
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_columns_are_grouped_by_what_they_measure() {
        assert_eq!(step_tag("reward_mean"), "reward/mean");
        assert_eq!(
            step_tag("frac_zero_std_groups"),
            "reward/frac_zero_std_groups"
        );
        assert_eq!(step_tag("adv_std"), "advantage/std");
        assert_eq!(step_tag("loss"), "train/loss");
        assert_eq!(step_tag("grad_norm"), "train/grad_norm");
        assert_eq!(step_tag("kl"), "train/kl");
        assert_eq!(step_tag("step"), "train/step");
        assert_eq!(step_tag("tokens_per_s"), "speed/tokens_per_s");
        assert_eq!(step_tag("clip_high_frac"), "update/clip_high_frac");
        assert_eq!(step_tag("ratio_max"), "update/ratio_max");
        assert_eq!(step_tag("kl_old"), "update/kl_old");
        assert_eq!(step_tag("groups_dropped"), "sampling/groups_dropped");
    }
}
