//! `kind = "command"`: a reward computed by the user's own program, which speaks the
//! [`protocol`](crate::protocol) on its stdin and stdout.
//!
//! ```toml
//! [reward]
//! kind = "command"
//! command = ["python3", "rewards/a_words.py"]
//! timeout_s = 60
//! env = { PYTHONHASHSEED = "0" }
//! ```
//!
//! The program runs in the experiment file's directory, so relative paths among its arguments
//! (and a relative program path, `./rewards/score.sh`) resolve against that directory; a bare
//! program name (`python3`) is looked up on `PATH`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::process::{CommandError, RewardProcess};
use crate::{RewardError, Scope};

/// The settings of a `command` reward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// The program and its arguments.
    pub command: Vec<String>,
    /// Seconds the program has to answer one batch before the run fails (default 600).
    #[serde(default = "default_timeout_s")]
    pub timeout_s: f64,
    /// Variables added to the program's environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Which text the program receives as `completions`: the completion, or prompt + completion.
    #[serde(default)]
    pub scope: Scope,
}

fn default_timeout_s() -> f64 {
    600.0
}

impl CommandSpec {
    /// What can be checked without the filesystem.
    pub fn validate(&self) -> Result<(), RewardError> {
        if self.command.first().is_none_or(|p| p.is_empty()) {
            return Err(RewardError::EmptyCommand);
        }
        if !(self.timeout_s.is_finite() && self.timeout_s > 0.0) {
            return Err(RewardError::BadTimeout {
                timeout_s: self.timeout_s.to_string(),
            });
        }
        if let Some(key) = self
            .env
            .keys()
            .find(|k| k.is_empty() || k.contains(['=', '\0']))
        {
            return Err(RewardError::BadEnvKey { key: key.clone() });
        }
        Ok(())
    }

    /// The command as written, for messages: `python3 rewards/a_words.py`.
    pub fn shown(&self) -> String {
        self.command
            .iter()
            .map(|a| {
                if a.is_empty() || a.contains(char::is_whitespace) {
                    format!("{a:?}")
                } else {
                    a.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The program to start, for an experiment file in `dir`: a path with a `/` resolved against
    /// `dir`, a bare name found on `PATH` (the `env` table's, if it sets one). The error says
    /// what was looked for where.
    pub fn program(&self, dir: &Path) -> Result<PathBuf, String> {
        let name = self.command.first().map_or("", String::as_str);
        if name.contains('/') {
            let path = dir.join(name);
            return match std::fs::metadata(&path) {
                Ok(m) if is_executable(&m) => Ok(path),
                Ok(_) => Err(format!("{} is not an executable file", path.display())),
                Err(e) => Err(format!("{}: {e}", path.display())),
            };
        }
        let path = match self.env.get("PATH") {
            Some(p) => Some(p.into()),
            None => std::env::var_os("PATH"),
        };
        path.iter()
            .flat_map(std::env::split_paths)
            .map(|d| d.join(name))
            .find(|p| std::fs::metadata(p).is_ok_and(|m| is_executable(&m)))
            .ok_or_else(|| format!("program {name:?} not found on PATH"))
    }

    /// Starts the program for a run: in `dir`, its stderr going to `log`.
    pub fn start(&self, dir: &Path, log: &Path) -> Result<RewardProcess, CommandError> {
        let program = self.program(dir).map_err(|problem| CommandError {
            command: self.shown(),
            at: "at the start of the run".into(),
            problem: format!("cannot start: {problem}"),
            stderr_tail: Vec::new(),
        })?;
        RewardProcess::start(
            self.shown(),
            &program,
            &self.command[1..],
            &self.env,
            dir,
            log,
            Duration::from_secs_f64(self.timeout_s),
        )
    }
}

#[cfg(unix)]
fn is_executable(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(metadata: &std::fs::Metadata) -> bool {
    metadata.is_file()
}
