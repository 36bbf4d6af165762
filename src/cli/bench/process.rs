//! Running and measuring one operation: its processes, their time from spawn
//! to exit and their peak memory, and what machine and tools ran them.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::super::units::bytes_human;

/// This process's peak resident memory so far, where `/proc` tells it.
pub(super) fn own_peak_rss() -> Option<u64> {
    peak_rss(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// The peak resident memory in a `/proc/<pid>/status` text (`VmHWM`), in
/// bytes; `None` once the process has exited.
pub(super) fn peak_rss(status: &str) -> Option<u64> {
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse::<u64>()
        .ok()?;
    kib.checked_mul(1024)
}

/// The peak resident memory of process `pid` once it runs `program`: until
/// it has, it is a copy of this process, whose memory is not its own.
pub(super) fn running_peak_rss(pid: u32, program: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let name = status.lines().find_map(|line| line.strip_prefix("Name:"))?;
    // The kernel keeps the first 15 bytes of a program's name.
    let expected = program.get(..15).unwrap_or(program);
    if name.trim() == expected {
        peak_rss(&status)
    } else {
        None
    }
}

/// The machine the figures come from.
#[derive(Debug, Serialize)]
pub(super) struct Machine {
    /// Processors this process may use, as `nproc` counts them.
    pub(super) cpus: usize,
    pub(super) cpu_model: Option<String>,
    pub(super) memory_bytes: Option<u64>,
    /// The load average when the benchmark started: other work on the
    /// machine slows every row down.
    pub(super) load_average: Option<String>,
    pub(super) os: &'static str,
    pub(super) arch: &'static str,
}

impl Machine {
    pub(super) fn probe() -> Machine {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let cpu_model = cpuinfo.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            matches!(name.trim(), "model name" | "Model" | "cpu model")
                .then(|| value.trim().to_owned())
        });
        let meminfo = read("/proc/meminfo");
        let memory_bytes = meminfo.lines().find_map(|line| {
            let kib = line.strip_prefix("MemTotal:")?.trim().strip_suffix("kB")?;
            kib.trim().parse::<u64>().ok()?.checked_mul(1024)
        });
        let loadavg = read("/proc/loadavg");
        let load: Vec<&str> = loadavg.split_whitespace().take(3).collect();
        Machine {
            cpus: thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            memory_bytes,
            load_average: (load.len() == 3).then(|| load.join(" ")),
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
        }
    }

    pub(super) fn human(&self) -> String {
        let mut parts = vec![format!(
            "{} CPU{}",
            self.cpus,
            if self.cpus == 1 { "" } else { "s" }
        )];
        if let Some(model) = &self.cpu_model {
            parts.push(model.clone());
        }
        if let Some(memory) = self.memory_bytes {
            parts.push(format!("{} memory", bytes_human(memory)));
        }
        if let Some(load) = &self.load_average {
            parts.push(format!("load average {load} at the start"));
        }
        parts.join(", ")
    }
}

/// The external tools' versions; `None` where a tool is not installed.
#[derive(Debug, Serialize)]
pub(super) struct Tools {
    pub(super) sqlite3: Option<String>,
    pub(super) zstd: Option<String>,
    pub(super) age: Option<String>,
    pub(super) age_keygen: Option<String>,
}

impl Tools {
    pub(super) fn probe() -> Tools {
        Tools {
            sqlite3: version_of("sqlite3"),
            zstd: version_of("zstd"),
            age: version_of("age"),
            age_keygen: version_of("age-keygen"),
        }
    }

    /// A row's missing tools, or `None` when it has all it needs.
    pub(super) fn missing(&self, needed: &[&'static str]) -> Option<RowError> {
        let missing: Vec<&str> = needed
            .iter()
            .copied()
            .filter(|&tool| match tool {
                "sqlite3" => self.sqlite3.is_none(),
                "zstd" => self.zstd.is_none(),
                "age" => self.age.is_none(),
                _ => self.age_keygen.is_none(),
            })
            .collect();
        (!missing.is_empty()).then(|| RowError::NotInstalled(missing.join(", ")))
    }

    pub(super) fn human(&self) -> String {
        [
            ("sqlite3", &self.sqlite3),
            ("zstd", &self.zstd),
            ("age", &self.age),
        ]
        .iter()
        .map(|(name, version)| match version {
            Some(version) => format!("{name} {version}"),
            None => format!("{name} not installed"),
        })
        .collect::<Vec<_>>()
        .join(", ")
    }
}

/// `program --version`, reduced to its version number; `None` if the program
/// cannot be run.
pub(super) fn version_of(program: &str) -> Option<String> {
    let output = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let number = text
        .split_whitespace()
        .map(|word| {
            word.trim_start_matches('v')
                .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        })
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()) && word.contains('.'));
    Some(match number {
        Some(number) => number.to_owned(),
        None => text.lines().next().unwrap_or("unknown").trim().to_owned(),
    })
}

/// Why a row of an external tool has no figures.
#[derive(Clone, Debug)]
pub(super) enum RowError {
    /// These tools are not installed.
    NotInstalled(String),
    /// The tool ran and failed, or could not be run.
    Failed(String),
}

/// One process of a measured pipeline, run in the working directory.
pub(super) struct Stage {
    pub(super) program: OsString,
    pub(super) args: Vec<OsString>,
}

impl Stage {
    pub(super) fn new(program: impl AsRef<OsStr>, args: &[&str]) -> Stage {
        Stage {
            program: program.as_ref().to_owned(),
            args: args.iter().map(OsString::from).collect(),
        }
    }

    pub(super) fn name(&self) -> String {
        Path::new(&self.program)
            .file_name()
            .unwrap_or(&self.program)
            .to_string_lossy()
            .into_owned()
    }
}

/// Where the last process of a pipeline writes.
pub(super) enum Sink {
    Null,
    File(&'static str),
    Capture,
}

/// One run of one pipeline.
#[derive(Clone, Debug)]
pub(super) struct Measured {
    pub(super) elapsed: Duration,
    /// The sum of its processes' peaks, if every one was seen.
    pub(super) peak_rss: Option<u64>,
    pub(super) stdout: Vec<u8>,
}

pub(super) fn drain(mut from: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        bytes
    })
}

/// Runs `stages` as a pipeline in `dir`, the first reading nothing and the
/// last writing to `sink`, and measures it: the time from the first spawn to
/// the last exit, and each process's peak memory, sampled until it exits.
pub(super) fn run(dir: &Path, stages: &[Stage], sink: Sink) -> Result<Measured, RowError> {
    let started = Instant::now();
    let mut children: Vec<Child> = Vec::new();
    let mut stderrs = Vec::new();
    let mut captured = None;
    let mut upstream = None;
    let stop = |children: Vec<Child>| {
        for mut child in children {
            let _ = child.kill();
            let _ = child.wait();
        }
    };
    for (index, stage) in stages.iter().enumerate() {
        let last = index + 1 == stages.len();
        let stdout = match (&sink, last) {
            (_, false) | (Sink::Capture, true) => Stdio::piped(),
            (Sink::Null, true) => Stdio::null(),
            (Sink::File(name), true) => match File::create(dir.join(name)) {
                Ok(file) => Stdio::from(file),
                Err(error) => {
                    stop(children);
                    return Err(RowError::Failed(format!("cannot create {name}: {error}")));
                }
            },
        };
        let stdin = upstream.take().map_or_else(Stdio::null, Stdio::from);
        let spawned = Command::new(&stage.program)
            .args(&stage.args)
            .current_dir(dir)
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) => {
                stop(children);
                return Err(if error.kind() == ErrorKind::NotFound {
                    RowError::NotInstalled(stage.name())
                } else {
                    RowError::Failed(format!("cannot run {}: {error}", stage.name()))
                });
            }
        };
        if last {
            captured = child.stdout.take().map(drain);
        } else {
            upstream = child.stdout.take();
        }
        stderrs.push(child.stderr.take().map(drain));
        children.push(child);
    }

    // Each child is waited for on a thread of its own, which notes the
    // moment it exits; meanwhile this thread samples their memory.
    let (sender, exits) = mpsc::channel::<(usize, std::io::Result<ExitStatus>, Instant)>();
    let pids: Vec<u32> = children.iter().map(Child::id).collect();
    for (index, mut child) in children.into_iter().enumerate() {
        let sender = sender.clone();
        thread::spawn(move || {
            let status = child.wait();
            let _ = sender.send((index, status, Instant::now()));
        });
    }
    drop(sender);
    let names: Vec<String> = stages.iter().map(Stage::name).collect();
    let mut peaks: Vec<Option<u64>> = vec![None; pids.len()];
    let mut statuses: Vec<Option<std::io::Result<ExitStatus>>> =
        (0..pids.len()).map(|_| None).collect();
    let mut finished = started;
    while statuses.iter().any(Option::is_none) {
        for (index, pid) in pids.iter().enumerate() {
            if statuses[index].is_none()
                && let Some(peak) = running_peak_rss(*pid, &names[index])
            {
                peaks[index] = Some(peaks[index].map_or(peak, |seen| seen.max(peak)));
            }
        }
        // Sample often while it is young, less as it runs on: the cost of
        // sampling stays under a percent of the time measured.
        let interval =
            (started.elapsed() / 200).clamp(Duration::from_micros(500), Duration::from_millis(5));
        match exits.recv_timeout(interval) {
            Ok((index, status, at)) => {
                statuses[index] = Some(status);
                finished = finished.max(at);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    let elapsed = finished.duration_since(started);
    let stderrs: Vec<Vec<u8>> = stderrs
        .into_iter()
        .map(|handle| {
            handle
                .and_then(|handle| handle.join().ok())
                .unwrap_or_default()
        })
        .collect();
    let stdout = captured
        .and_then(|handle| handle.join().ok())
        .unwrap_or_default();
    for (index, status) in statuses.into_iter().enumerate() {
        let failure = match status {
            Some(Ok(status)) if status.success() => continue,
            Some(Ok(status)) => status.to_string(),
            Some(Err(error)) => error.to_string(),
            None => "no exit status".to_owned(),
        };
        let said = String::from_utf8_lossy(&stderrs[index]);
        let said = said.trim();
        return Err(RowError::Failed(if said.is_empty() {
            format!("{} failed ({failure})", stages[index].name())
        } else {
            format!("{} failed ({failure}): {said}", stages[index].name())
        }));
    }
    Ok(Measured {
        elapsed,
        peak_rss: peaks.into_iter().sum(),
        stdout,
    })
}
