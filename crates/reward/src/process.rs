//! `RewardProcess`: the user's reward program, started once per run and kept for the whole run.
//!
//! Three threads serve its pipes, so that nothing the program does can block the run beyond
//! `timeout_s`: one writes the requests to its stdin (a program that stops reading fills the
//! pipe), one reads its stdout line by line (a program that stops answering), one copies its
//! stderr to the run's `reward.log` and keeps the last lines for the error message. The run
//! waits for each answer with a timeout, and on any failure kills the program's whole process
//! group (a shell wrapper's children too).
//!
//! The program gets its own process group, so a Ctrl-C at the terminal reaches pglab alone:
//! pglab stops its runs at the end of a step and then ends each run's program itself. Were the
//! program to receive the SIGINT too, it would die mid-step and the interrupted run would read
//! as failed.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::protocol::{Request, parse_answer};

/// Lines of stderr kept for the error message and `failed.json`.
const STDERR_TAIL: usize = 20;
/// The longest answer line read; a program that writes more without a newline is broken.
const MAX_LINE: u64 = 64 << 20;
/// How long a program gets to exit by itself once its stdin is closed, before it is killed.
const GRACE: Duration = Duration::from_secs(2);

/// A reward command that failed: which command, when, and what went wrong, with the last lines
/// it wrote to its stderr.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reward command `{command}` {at}: {problem}")]
pub struct CommandError {
    /// The command as the experiment file gives it, joined with spaces.
    pub command: String,
    /// `at the start of the run`, `at step 3 (train)`, ….
    pub at: String,
    pub problem: String,
    /// The last lines of its stderr (also in the run's `reward.log`).
    pub stderr_tail: Vec<String>,
}

/// A running reward program: send it a batch, get its rewards.
pub struct RewardProcess {
    command: String,
    timeout: Duration,
    state: Mutex<Pipes>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
}

struct Pipes {
    child: Child,
    /// To the stdin writer; dropped to close the program's stdin.
    requests: Option<Sender<String>>,
    /// From the stdout reader: one line per answer; disconnected at end of file.
    answers: Receiver<Result<String, String>>,
    /// Disconnected once stderr reaches end of file (everything is in `reward.log`).
    stderr_done: Receiver<()>,
    /// Set by the first failure: the program is killed and every later request fails.
    failed: Option<CommandError>,
}

impl std::fmt::Debug for RewardProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RewardProcess")
            .field("command", &self.command)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RewardProcess {
    /// Starts `program args…` in `dir` with `env` added to pglab's environment, its stderr
    /// going to `log`. `shown` is the command as the user wrote it, for messages.
    pub fn start(
        shown: String,
        program: &Path,
        args: &[String],
        env: &BTreeMap<String, String>,
        dir: &Path,
        log: &Path,
        timeout: Duration,
    ) -> Result<Self, CommandError> {
        let fail = |problem: String| CommandError {
            command: shown.clone(),
            at: "at the start of the run".into(),
            problem,
            stderr_tail: Vec::new(),
        };
        let log = File::create(log).map_err(|e| fail(format!("{}: {e}", log.display())))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(env)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().map_err(|e| {
            fail(match e.kind() {
                std::io::ErrorKind::NotFound => {
                    format!("cannot start: {} not found", program.display())
                }
                _ => format!("cannot start {}: {e}", program.display()),
            })
        })?;
        let (stdin, stdout, stderr) = (
            child.stdin.take().expect("piped"),
            child.stdout.take().expect("piped"),
            child.stderr.take().expect("piped"),
        );
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let (requests, stderr_done) = (
            write_requests(stdin),
            copy_stderr(stderr, log, &stderr_tail),
        );
        Ok(Self {
            command: shown,
            timeout,
            state: Mutex::new(Pipes {
                child,
                requests: Some(requests),
                answers: read_answers(stdout),
                stderr_done,
                failed: None,
            }),
            stderr_tail,
        })
    }

    /// The program's rewards for `request`'s completions; on any failure the program is killed
    /// and this and every later call fail.
    pub fn score(&self, request: &Request) -> Result<Vec<f32>, CommandError> {
        let mut pipes = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(failed) = &pipes.failed {
            return Err(failed.clone());
        }
        let at = format!("at step {} ({})", request.step, request.phase.name());
        match self.round_trip(&mut pipes, request) {
            Ok(rewards) => Ok(rewards),
            Err(problem) => {
                pipes.kill();
                // The program's last words (a Python traceback) reach stderr before it exits;
                // give the copying thread a moment to read them.
                let _ = pipes.stderr_done.recv_timeout(Duration::from_secs(1));
                let stderr_tail: Vec<String> = self
                    .stderr_tail
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .cloned()
                    .collect();
                let problem = match stderr_tail.iter().rev().find(|l| !l.trim().is_empty()) {
                    Some(last) => format!("{problem}; its stderr ends: {}", last.trim()),
                    None => problem,
                };
                let error = CommandError {
                    command: self.command.clone(),
                    at,
                    problem,
                    stderr_tail,
                };
                pipes.failed = Some(error.clone());
                Err(error)
            }
        }
    }

    /// Sends one request and waits for its answer.
    fn round_trip(&self, pipes: &mut Pipes, request: &Request) -> Result<Vec<f32>, String> {
        // An answer before the question: the program writes something else to stdout, and
        // every answer from here on would be one batch late.
        if let Ok(line) = pipes.answers.try_recv() {
            return Err(match line {
                Ok(line) => format!(
                    "wrote {:?} to stdout unasked (stdout carries only answers; write logs to stderr)",
                    line.trim_end()
                ),
                Err(e) => e,
            });
        }
        let line = serde_json::to_string(request).map_err(|e| e.to_string())? + "\n";
        let sent = pipes
            .requests
            .as_ref()
            .is_some_and(|r| r.send(line).is_ok());
        if !sent {
            return Err(pipes.exit_status("stopped reading its stdin"));
        }
        match pipes.answers.recv_timeout(self.timeout) {
            Ok(Ok(line)) => parse_answer(line.trim_end(), request.completions.len()),
            Ok(Err(e)) => Err(e),
            Err(RecvTimeoutError::Timeout) => Err(format!(
                "no answer within {} s (timeout_s); killed it",
                self.timeout.as_secs_f64()
            )),
            Err(RecvTimeoutError::Disconnected) => {
                Err(pipes.exit_status("closed its stdout without answering"))
            }
        }
    }
}

impl Pipes {
    /// How the program ended, if it did within a second: `exited with status 1`.
    fn exit_status(&mut self, otherwise: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(status)) => return format!("{} before answering", ended(status)),
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(_) => break,
            }
        }
        otherwise.to_string()
    }

    /// Kills the program's process group and reaps the program.
    fn kill(&mut self) {
        self.requests = None;
        #[cfg(unix)]
        if let Ok(pid) = i32::try_from(self.child.id()) {
            use nix::sys::signal::{Signal, killpg};
            let _ = killpg(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RewardProcess {
    /// The run is over: close the program's stdin, give it [`GRACE`] to exit by itself (to
    /// flush what it keeps), then kill what is left of its process group.
    fn drop(&mut self) {
        let pipes = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        pipes.requests = None;
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline && matches!(pipes.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(5));
        }
        pipes.kill();
    }
}

/// `exited with status 3`, `was killed by signal 9`.
fn ended(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return format!("was killed by signal {signal}");
    }
    match status.code() {
        Some(code) => format!("exited with status {code}"),
        None => format!("ended ({status})"),
    }
}

/// The stdin writer: each request as it comes; ends (closing stdin) when the sender is dropped
/// or the program stops reading.
fn write_requests(mut stdin: ChildStdin) -> Sender<String> {
    let (sender, requests) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in requests {
            if stdin
                .write_all(line.as_bytes())
                .and_then(|()| stdin.flush())
                .is_err()
            {
                break;
            }
        }
    });
    sender
}

/// The stdout reader: one message per line, or what was wrong with it.
fn read_answers(stdout: impl Read + Send + 'static) -> Receiver<Result<String, String>> {
    let (sender, answers) = mpsc::channel();
    std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        loop {
            let mut line = Vec::new();
            let answer = match stdout.by_ref().take(MAX_LINE).read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) if !line.ends_with(b"\n") && line.len() as u64 == MAX_LINE => Err(format!(
                    "wrote more than {} MiB to stdout without a newline",
                    MAX_LINE >> 20
                )),
                Ok(_) => String::from_utf8(line)
                    .map_err(|_| "answered a line that is not UTF-8".to_string()),
                Err(e) => Err(format!("reading its stdout: {e}")),
            };
            let broken = answer.is_err();
            if sender.send(answer).is_err() || broken {
                break;
            }
        }
    });
    answers
}

/// The stderr copier: every line to `log` as it comes, the last [`STDERR_TAIL`] kept in `tail`.
fn copy_stderr(
    stderr: impl Read + Send + 'static,
    mut log: File,
    tail: &Arc<Mutex<VecDeque<String>>>,
) -> Receiver<()> {
    let (done, stderr_done) = mpsc::channel::<()>();
    let tail = Arc::clone(tail);
    std::thread::spawn(move || {
        let _done = done;
        let mut stderr = BufReader::new(stderr);
        let mut line = Vec::new();
        // At most 1 MiB a line: a program that never writes a newline costs no more.
        while matches!(stderr.by_ref().take(1 << 20).read_until(b'\n', &mut line), Ok(n) if n > 0) {
            let _ = log.write_all(&line).and_then(|()| log.flush());
            let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
            if tail.len() == STDERR_TAIL {
                tail.pop_front();
            }
            tail.push_back(String::from_utf8_lossy(&line).trim_end().to_string());
            line.clear();
        }
    });
    stderr_done
}
