//! `keepsake bench`: Keepsake next to what a user would run instead
//! (`sqlite3 .backup`, `zstd`, `age`, and SQLite's own `INSERT … SELECT`), on
//! one sample database, in one run, on this machine.
//!
//! Every measured operation is a process of its own, timed from spawn to exit,
//! so that its peak memory is its own. Keepsake's operations, and SQLite's
//! `INSERT … SELECT`, re-run this binary (the hidden `bench-step` command),
//! which reads its own high-water mark (`VmHWM` in `/proc/self/status`) as it
//! ends: exact. External tools
//! cannot report theirs, so it is sampled from `/proc/<pid>/status` while they
//! run (a pipeline's processes summed): a lower bound, close for tools that
//! allocate their buffers up front.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use keepsake::{ArchiveKey, WriterOptions};
use keepsake_sqlite::DbResult;
use keepsake_sqlite::sample::SampleOptions;

use super::exit::{Direction, FAILURE, Failure};
use super::units::{bytes_human, duration_human};
use super::{
    Counts, Report, busy, database_bytes, import_counts, library_failure, read_key, write_key_file,
    write_sample,
};

/// Messages in the benchmark's sample database unless told otherwise: a
/// database of about 110 MB, benchmarked in seconds.
pub const DEFAULT_MESSAGES: u64 = 200_000;

/// The files of a run, in its working directory.
const DATABASE: &str = "messages.db";
const KEY_FILE: &str = "bench.key";
const ARCHIVE: &str = "messages.keepsake";
const SNAPSHOT: &str = "snapshot.db";
const IDENTITY: &str = "age-identity.txt";
const ENCRYPTED: &str = "snapshot.db.zst.age";
const COMPRESSED: &str = "messages.db.zst";
const IMPORTED: &str = "imported.db";
const COPIED: &str = "copied.db";

/// How to get the external tools.
const INSTALL: &str = "apt-get install sqlite3 zstd age";

/// What `keepsake bench` was asked to do.
#[derive(Debug)]
pub struct BenchRequest {
    /// Messages in the sample database.
    pub messages: u64,
    /// Where to make the working directory; the system's temporary directory if `None`.
    pub dir: Option<PathBuf>,
    /// Keep the working directory instead of removing it.
    pub keep: bool,
    /// Run every operation this many times and report the fastest run.
    pub runs: u32,
    /// Print one JSON object instead of a table.
    pub json: bool,
}

/// One operation of `keepsake bench`, run in a process of its own by the
/// benchmark, which reads the one JSON object it prints. Paths are relative
/// to the benchmark's working directory.
#[derive(Debug, clap::Subcommand)]
pub enum Step {
    /// Create ARCHIVE from DB, as `keepsake create` does.
    Create {
        db: PathBuf,
        archive: PathBuf,
        key_file: PathBuf,
    },
    /// Estimate the archive of DB, as `keepsake estimate` does.
    Estimate { db: PathBuf },
    /// Verify ARCHIVE, as `keepsake verify` does.
    Verify { archive: PathBuf, key_file: PathBuf },
    /// Import ARCHIVE into DB, as `keepsake import` does.
    Import {
        archive: PathBuf,
        db: PathBuf,
        key_file: PathBuf,
    },
    /// Copy every row of SOURCE into TARGET, a new database with the reference
    /// schema, by `INSERT … SELECT` in one transaction.
    Copy { source: PathBuf, target: PathBuf },
}

#[derive(Serialize)]
struct StepJson {
    ok: bool,
    step: &'static str,
    records: u64,
    output_bytes: u64,
    peak_rss_bytes: Option<u64>,
}

/// `keepsake bench-step`: one operation, then this process's peak memory.
pub fn step(step: &Step) -> Result<Report, Failure> {
    let (name, records, output_bytes) = match step {
        Step::Create {
            db,
            archive,
            key_file,
        } => {
            let key = read_key(key_file)?;
            let report = keepsake_sqlite::create_archive(db, archive, &[&key], &Default::default())
                .map_err(|error| {
                    library_failure(error, Direction::Writing, "cannot create".into())
                })?;
            ("create", Counts::from(&report).total(), report.bytes)
        }
        Step::Estimate { db } => {
            let estimate =
                keepsake_sqlite::estimate_archive(db, &Default::default()).map_err(|error| {
                    library_failure(error, Direction::Reading, "cannot estimate".into())
                })?;
            let records = estimate.conversations + estimate.messages + estimate.consent;
            ("estimate", records, estimate.bytes)
        }
        Step::Verify { archive, key_file } => {
            let key = read_key(key_file)?;
            let report =
                keepsake_sqlite::verify_archive(archive, &[key.into()]).map_err(|error| {
                    library_failure(error, Direction::Reading, "cannot verify".into())
                })?;
            let records = Counts::from(&report.trailer).total();
            ("verify", records, report.trailer.plaintext_bytes)
        }
        Step::Import {
            archive,
            db,
            key_file,
        } => {
            let key = read_key(key_file)?;
            let report =
                keepsake_sqlite::import_archive(archive, &[key.into()], db).map_err(|error| {
                    library_failure(error, Direction::Reading, "cannot import".into())
                })?;
            (
                "import",
                import_counts(&report).0.total(),
                database_bytes(db),
            )
        }
        Step::Copy { source, target } => {
            let rows = copy_rows(source, target).map_err(|error| {
                library_failure(error, Direction::Writing, "cannot copy".into())
            })?;
            ("copy", rows, database_bytes(target))
        }
    };
    let json = StepJson {
        ok: true,
        step: name,
        records,
        output_bytes,
        peak_rss_bytes: own_peak_rss(),
    };
    Report::new(String::new(), &json)
}

/// SQLite copying the rows itself, the fastest an import into a new database
/// could be: the target is made as an import makes it (reference schema, WAL,
/// foreign keys on) and filled in one transaction.
fn copy_rows(source: &Path, target: &Path) -> keepsake::Result<u64> {
    let source = source
        .to_str()
        .ok_or_else(|| keepsake::Error::InvalidInput {
            reason: "the source database's path is not UTF-8".into(),
        })?;
    let mut conn = keepsake_sqlite::open_database(target)?;
    conn.execute("ATTACH DATABASE ?1 AS source", [source])
        .db()?;
    let transaction = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .db()?;
    let mut rows = 0;
    // Conversations first: messages refer to them.
    for table in ["conversations", "messages", "consent"] {
        let copied = transaction
            .execute(
                &format!("INSERT INTO main.{table} SELECT * FROM source.{table}"),
                [],
            )
            .db()?;
        rows += copied as u64;
    }
    transaction.commit().db()?;
    conn.execute("DETACH DATABASE source", []).db()?;
    Ok(rows)
}

/// This process's peak resident memory so far, where `/proc` tells it.
fn own_peak_rss() -> Option<u64> {
    peak_rss(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// The peak resident memory in a `/proc/<pid>/status` text (`VmHWM`), in
/// bytes; `None` once the process has exited.
fn peak_rss(status: &str) -> Option<u64> {
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
fn running_peak_rss(pid: u32, program: &str) -> Option<u64> {
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
struct Machine {
    /// Processors this process may use, as `nproc` counts them.
    cpus: usize,
    cpu_model: Option<String>,
    memory_bytes: Option<u64>,
    /// The load average when the benchmark started: other work on the
    /// machine slows every row down.
    load_average: Option<String>,
    os: &'static str,
    arch: &'static str,
}

impl Machine {
    fn probe() -> Machine {
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

    fn human(&self) -> String {
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
struct Tools {
    sqlite3: Option<String>,
    zstd: Option<String>,
    age: Option<String>,
    age_keygen: Option<String>,
}

impl Tools {
    fn probe() -> Tools {
        Tools {
            sqlite3: version_of("sqlite3"),
            zstd: version_of("zstd"),
            age: version_of("age"),
            age_keygen: version_of("age-keygen"),
        }
    }

    /// A row's missing tools, or `None` when it has all it needs.
    fn missing(&self, needed: &[&'static str]) -> Option<RowError> {
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

    fn human(&self) -> String {
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
fn version_of(program: &str) -> Option<String> {
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
enum RowError {
    /// These tools are not installed.
    NotInstalled(String),
    /// The tool ran and failed, or could not be run.
    Failed(String),
}

/// One process of a measured pipeline, run in the working directory.
struct Stage {
    program: OsString,
    args: Vec<OsString>,
}

impl Stage {
    fn new(program: impl AsRef<OsStr>, args: &[&str]) -> Stage {
        Stage {
            program: program.as_ref().to_owned(),
            args: args.iter().map(OsString::from).collect(),
        }
    }

    fn name(&self) -> String {
        Path::new(&self.program)
            .file_name()
            .unwrap_or(&self.program)
            .to_string_lossy()
            .into_owned()
    }
}

/// Where the last process of a pipeline writes.
enum Sink {
    Null,
    File(&'static str),
    Capture,
}

/// One run of one pipeline.
#[derive(Clone, Debug)]
struct Measured {
    elapsed: Duration,
    /// The sum of its processes' peaks, if every one was seen.
    peak_rss: Option<u64>,
    stdout: Vec<u8>,
}

fn drain(mut from: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        bytes
    })
}

/// Runs `stages` as a pipeline in `dir`, the first reading nothing and the
/// last writing to `sink`, and measures it: the time from the first spawn to
/// the last exit, and each process's peak memory, sampled until it exits.
fn run(dir: &Path, stages: &[Stage], sink: Sink) -> Result<Measured, RowError> {
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

/// The operations, in the order each round runs them; `op as usize` is its
/// place in [`OPS`] and [`Tallies`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Create,
    Estimate,
    Backup,
    Compress,
    Verify,
    Decompress,
    Decrypt,
    Import,
    Copy,
}

impl Op {
    fn label(self) -> &'static str {
        match self {
            Op::Create => "benchmarking keepsake create",
            Op::Estimate => "benchmarking keepsake estimate",
            Op::Backup => "benchmarking sqlite3 .backup | zstd -3 | age",
            Op::Compress => "benchmarking zstd -3",
            Op::Verify => "benchmarking keepsake verify",
            Op::Decompress => "benchmarking zstd -d",
            Op::Decrypt => "benchmarking age -d | zstd -d",
            Op::Import => "benchmarking keepsake import",
            Op::Copy => "benchmarking INSERT … SELECT",
        }
    }
}

const OPS: [Op; 9] = [
    Op::Create,
    Op::Estimate,
    Op::Backup,
    Op::Compress,
    Op::Verify,
    Op::Decompress,
    Op::Decrypt,
    Op::Import,
    Op::Copy,
];

/// An operation's runs: the parts of its fastest run (a pipeline of several
/// commands has one part per command), the largest peak memory of any run.
#[derive(Debug, Default)]
struct Tally {
    best: Option<Vec<Measured>>,
    peak_rss: Option<u64>,
    records: Option<u64>,
    output_bytes: Option<u64>,
    error: Option<RowError>,
}

impl Tally {
    fn add(&mut self, parts: Vec<Measured>) {
        let total = |parts: &[Measured]| parts.iter().map(|part| part.elapsed).sum::<Duration>();
        let peak = parts.iter().filter_map(|part| part.peak_rss).max();
        self.peak_rss = self.peak_rss.max(peak);
        if self
            .best
            .as_ref()
            .is_none_or(|best| total(&parts) < total(best))
        {
            self.best = Some(parts);
        }
    }

    fn seconds(&self) -> Option<f64> {
        self.best.as_ref().map(|parts| {
            parts
                .iter()
                .map(|part| part.elapsed)
                .sum::<Duration>()
                .as_secs_f64()
        })
    }

    fn ok(&self) -> bool {
        self.error.is_none() && self.best.is_some()
    }
}

/// A run of the benchmark in its working directory.
struct Bench<'a> {
    dir: &'a Path,
    exe: PathBuf,
    tools: Tools,
    /// The age recipient of the identity made for this run.
    recipient: Result<String, RowError>,
    expected_records: u64,
}

impl Bench<'_> {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Removes what an operation writes, so that each run starts afresh.
    fn clear(&self, names: &[&str]) {
        for name in names {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let _ = std::fs::remove_file(self.path(&format!("{name}{suffix}")));
            }
        }
    }

    /// Runs one of Keepsake's operations in a child process; a failure ends
    /// the benchmark.
    fn keepsake(&self, what: &str, args: &[&str]) -> Result<(Measured, Value), Failure> {
        let mut full = vec!["bench-step"];
        full.extend_from_slice(args);
        let mut measured =
            run(self.dir, &[Stage::new(&self.exe, &full)], Sink::Capture).map_err(|error| {
                let reason = match error {
                    RowError::NotInstalled(name) => format!("cannot run {name}"),
                    RowError::Failed(reason) => reason,
                };
                Failure::new(
                    FAILURE,
                    "other",
                    format!("the benchmark's keepsake {what} failed: {reason}"),
                )
            })?;
        let report: Value = serde_json::from_slice(&measured.stdout).map_err(|error| {
            Failure::new(
                FAILURE,
                "other",
                format!("the benchmark's keepsake {what} printed no report: {error}"),
            )
        })?;
        // Exact, where sampling could catch the copy of this process that
        // the child is before it runs the binary again.
        measured.peak_rss = report.get("peak_rss_bytes").and_then(Value::as_u64);
        let records = report.get("records").and_then(Value::as_u64);
        if records != Some(self.expected_records) {
            return Err(Failure::new(
                FAILURE,
                "other",
                format!(
                    "the benchmark's keepsake {what} handled {records:?} records, not the {} of the sample",
                    self.expected_records
                ),
            ));
        }
        Ok((measured, report))
    }

    /// Runs an external tool's operation once, unless a tool it needs is
    /// missing or an operation whose output it reads failed.
    fn external(
        &self,
        tally: &mut Tally,
        needs: &[&'static str],
        reads: Option<(&Tally, &str)>,
        once: impl FnOnce() -> Result<Vec<Measured>, RowError>,
    ) {
        let blocked = self.tools.missing(needs).or_else(|| {
            let (earlier, name) = reads?;
            match earlier.error.as_ref()? {
                RowError::NotInstalled(tools) => Some(RowError::NotInstalled(tools.clone())),
                RowError::Failed(_) => {
                    Some(RowError::Failed(format!("needs {name}, which failed")))
                }
            }
        });
        match blocked.map_or_else(once, Err) {
            Ok(parts) => tally.add(parts),
            Err(error) => tally.error = Some(error),
        }
    }

    /// `sqlite3 .backup`, then `zstd -3 | age`: what a user would run to make
    /// an encrypted, compressed backup without Keepsake.
    fn backup(&self) -> Result<Vec<Measured>, RowError> {
        let recipient = self.recipient.clone()?;
        self.clear(&[SNAPSHOT, ENCRYPTED]);
        let backup = run(
            self.dir,
            &[Stage::new(
                "sqlite3",
                &[DATABASE, &format!(".backup {SNAPSHOT}")],
            )],
            Sink::Null,
        )?;
        let seal = run(
            self.dir,
            &[
                Stage::new("zstd", &["-3", "-q", "-c", SNAPSHOT]),
                Stage::new("age", &["-r", &recipient, "-o", ENCRYPTED]),
            ],
            Sink::Null,
        )?;
        Ok(vec![backup, seal])
    }

    /// Runs `op` once and adds it to its tally; the operations whose output
    /// it reads have run before it.
    fn round(&self, op: Op, tallies: &mut Tallies) -> Result<(), Failure> {
        let mut tally = std::mem::take(&mut tallies.0[op as usize]);
        let result = self.round_of(op, &mut tally, tallies);
        tallies.0[op as usize] = tally;
        result
    }

    fn round_of(&self, op: Op, tally: &mut Tally, earlier: &Tallies) -> Result<(), Failure> {
        if tally.error.is_some() {
            return Ok(());
        }
        let (measured, report) = match op {
            Op::Create => {
                self.clear(&[ARCHIVE]);
                self.keepsake("create", &["create", DATABASE, ARCHIVE, KEY_FILE])?
            }
            Op::Estimate => self.keepsake("estimate", &["estimate", DATABASE])?,
            Op::Verify => self.keepsake("verify", &["verify", ARCHIVE, KEY_FILE])?,
            Op::Import => {
                self.clear(&[IMPORTED]);
                self.keepsake("import", &["import", ARCHIVE, IMPORTED, KEY_FILE])?
            }
            Op::Copy => {
                self.clear(&[COPIED]);
                self.keepsake("INSERT … SELECT", &["copy", DATABASE, COPIED])?
            }
            Op::Backup => {
                let needs = ["sqlite3", "zstd", "age", "age-keygen"];
                self.external(tally, &needs, None, || self.backup());
                return Ok(());
            }
            Op::Compress => {
                self.external(tally, &["zstd"], None, || {
                    self.clear(&[COMPRESSED]);
                    let stage = Stage::new("zstd", &["-3", "-q", "-c", DATABASE]);
                    Ok(vec![run(self.dir, &[stage], Sink::File(COMPRESSED))?])
                });
                return Ok(());
            }
            Op::Decompress => {
                let reads = Some((earlier.of(Op::Compress), "zstd -3"));
                self.external(tally, &["zstd"], reads, || {
                    let stage = Stage::new("zstd", &["-d", "-q", "-c", COMPRESSED]);
                    Ok(vec![run(self.dir, &[stage], Sink::Null)?])
                });
                return Ok(());
            }
            Op::Decrypt => {
                let reads = Some((earlier.of(Op::Backup), "the backup pipeline"));
                self.external(tally, &["age", "zstd"], reads, || {
                    let stages = [
                        Stage::new("age", &["-d", "-i", IDENTITY, ENCRYPTED]),
                        Stage::new("zstd", &["-d", "-q", "-c"]),
                    ];
                    Ok(vec![run(self.dir, &stages, Sink::Null)?])
                });
                return Ok(());
            }
        };
        tally.records = report.get("records").and_then(Value::as_u64);
        tally.output_bytes = report.get("output_bytes").and_then(Value::as_u64);
        tally.add(vec![measured]);
        Ok(())
    }
}

/// Every operation's tally, in the order of [`OPS`].
#[derive(Debug, Default)]
struct Tallies([Tally; OPS.len()]);

impl Tallies {
    fn of(&self, op: Op) -> &Tally {
        &self.0[op as usize]
    }
}

/// One line of the table.
#[derive(Debug, Serialize)]
struct Row {
    /// A stable name for scripts.
    id: &'static str,
    operation: &'static str,
    /// What was run, in the working directory.
    command: String,
    /// `keepsake`, `baseline`, `step` (a part of the row above) or `reference`.
    role: &'static str,
    /// `ok`, `not_installed` or `failed`.
    status: &'static str,
    note: Option<String>,
    input_bytes: Option<u64>,
    output_bytes: Option<u64>,
    seconds: Option<f64>,
    throughput: Option<f64>,
    throughput_unit: &'static str,
    /// The baseline's time over this row's, both working on the same
    /// database: above 1 is faster.
    speed_ratio: Option<f64>,
    speed_baseline: Option<&'static str>,
    /// This row's output over its baseline's: below 1 is smaller.
    size_ratio: Option<f64>,
    size_baseline: Option<&'static str>,
    peak_rss_bytes: Option<u64>,
    /// `exact` (the process's own high-water mark) or `sampled`.
    peak_rss_method: Option<&'static str>,
    records: Option<u64>,
}

impl Row {
    /// A row without figures yet.
    fn new(id: &'static str, operation: &'static str, role: &'static str, command: String) -> Row {
        Row {
            id,
            operation,
            command,
            role,
            status: "ok",
            note: None,
            input_bytes: None,
            output_bytes: None,
            seconds: None,
            throughput: None,
            throughput_unit: "MB/s",
            speed_ratio: None,
            speed_baseline: None,
            size_ratio: None,
            size_baseline: None,
            peak_rss_bytes: None,
            peak_rss_method: None,
            records: None,
        }
    }

    /// The row with the figures of `tally`, its throughput counted in
    /// `messages` per second if given, else in MB of input per second.
    fn measured(
        mut self,
        tally: &Tally,
        input_bytes: Option<u64>,
        output_bytes: Option<u64>,
        messages: Option<u64>,
    ) -> Row {
        match &tally.error {
            None => {}
            Some(RowError::NotInstalled(tools)) => {
                self.status = "not_installed";
                self.note = Some(format!("not installed: {tools} ({INSTALL})"));
                return self;
            }
            Some(RowError::Failed(reason)) => {
                self.status = "failed";
                self.note = Some(reason.clone());
                return self;
            }
        }
        self.seconds = tally.seconds();
        self.input_bytes = input_bytes;
        self.output_bytes = output_bytes;
        let work = match messages {
            Some(messages) => {
                self.throughput_unit = "messages/s";
                Some(messages as f64)
            }
            None => input_bytes.map(|bytes| bytes as f64 / 1e6),
        };
        self.throughput = ratio(work, self.seconds);
        self.peak_rss_bytes = tally.peak_rss;
        // Keepsake's steps, INSERT … SELECT among them, report their own.
        self.peak_rss_method = Some(if tally.records.is_some() {
            "exact"
        } else {
            "sampled"
        });
        self.records = tally.records;
        self
    }
}

fn ratio(over: Option<f64>, under: Option<f64>) -> Option<f64> {
    match (over, under) {
        (Some(over), Some(under)) if under > 0.0 => Some(over / under),
        _ => None,
    }
}

/// The sample database of a run.
#[derive(Debug, Serialize)]
struct SampleJson {
    messages: u64,
    conversations: u64,
    consent: u64,
    database_bytes: u64,
    seconds: f64,
}

/// The comparisons the benchmark exists for.
#[derive(Debug, Serialize)]
struct Ratios {
    /// The backup pipeline's time over keepsake create's.
    create_speed_vs_backup_pipeline: Option<f64>,
    /// The archive's size over `zstd -3` of the database file.
    archive_size_vs_zstd: Option<f64>,
    /// keepsake estimate's time over keepsake create's.
    estimate_time_vs_create: Option<f64>,
    /// The estimated size over the size of the archive create wrote.
    estimate_size_vs_archive: Option<f64>,
    /// `zstd -d`'s time over keepsake verify's, for the same database.
    verify_speed_vs_zstd_d: Option<f64>,
    /// keepsake import's time over `INSERT … SELECT`'s.
    import_time_vs_insert_select: Option<f64>,
    /// The largest peak memory of Keepsake's operations.
    keepsake_peak_rss_bytes: Option<u64>,
}

#[derive(Serialize)]
struct BenchJson<'a> {
    ok: bool,
    command: &'static str,
    keepsake_version: &'static str,
    level: i32,
    chunk_size: u32,
    runs: u32,
    machine: &'a Machine,
    tools: &'a Tools,
    sample: SampleJson,
    rows: &'a [Row],
    ratios: Ratios,
    /// The working directory, when it was kept.
    dir: Option<String>,
    elapsed_ms: u64,
}

/// `keepsake bench`.
pub fn run_bench(request: &BenchRequest) -> Result<Report, Failure> {
    let started = Instant::now();
    let machine = Machine::probe();
    let tools = Tools::probe();
    let exe = std::env::current_exe().map_err(|error| {
        Failure::new(
            FAILURE,
            "io",
            format!("cannot find the keepsake executable to run each step: {error}"),
        )
    })?;
    let mut builder = tempfile::Builder::new();
    builder.prefix("keepsake-bench-");
    let workdir = match &request.dir {
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| builder.tempdir_in(dir))
            .map_err(|error| Failure::io("make a working directory in", dir, &error))?,
        None => builder.tempdir().map_err(|error| {
            Failure::new(
                FAILURE,
                "io",
                format!("cannot make a temporary directory: {error}"),
            )
        })?,
    };
    let dir = &workdir.path().to_path_buf();
    write_key_file(&dir.join(KEY_FILE), &ArchiveKey::generate())?;

    let options = SampleOptions {
        messages: request.messages,
        ..SampleOptions::default()
    };
    let sampling = Instant::now();
    let sample = busy(!request.json, "writing the sample database", || {
        write_sample(&dir.join(DATABASE), &options)
    })?;
    let sample = SampleJson {
        messages: sample.messages,
        conversations: sample.conversations,
        consent: sample.consent,
        database_bytes: database_bytes(&dir.join(DATABASE)),
        seconds: sampling.elapsed().as_secs_f64(),
    };
    let db_bytes = sample.database_bytes;

    let recipient = match tools.missing(&["age-keygen"]) {
        Some(missing) => Err(missing),
        None => run(
            dir,
            &[Stage::new("age-keygen", &["-o", IDENTITY])],
            Sink::Null,
        )
        .and_then(|_| {
            let identity = std::fs::read_to_string(dir.join(IDENTITY))
                .map_err(|error| RowError::Failed(format!("cannot read {IDENTITY}: {error}")))?;
            identity
                .lines()
                .find_map(|line| line.strip_prefix("# public key: "))
                .map(|key| key.trim().to_owned())
                .ok_or_else(|| RowError::Failed(format!("no public key in {IDENTITY}")))
        }),
    };
    let bench = Bench {
        dir,
        exe,
        tools,
        recipient,
        expected_records: sample.messages + sample.conversations + sample.consent,
    };
    let mut tallies = Tallies::default();
    for _ in 0..request.runs {
        for op in OPS {
            busy(!request.json, op.label(), || bench.round(op, &mut tallies))?;
        }
    }

    let size = |name: &str| std::fs::metadata(dir.join(name)).ok().map(|m| m.len());
    let snapshot_bytes = size(SNAPSHOT);
    let encrypted_bytes = size(ENCRYPTED);
    let compressed_bytes = size(COMPRESSED);
    let archive_bytes = tallies.of(Op::Create).output_bytes;
    let messages = Some(sample.messages);
    let step = |op: Op, index: usize| {
        let tally = tallies.of(op);
        let part = tally.best.as_ref().and_then(|parts| parts.get(index));
        Tally {
            best: part.map(|part| vec![part.clone()]),
            peak_rss: part.and_then(|part| part.peak_rss),
            error: tally.error.clone(),
            ..Tally::default()
        }
    };
    // The recipient changes every run; the command shows its shape.
    let recipient = "age1…";
    let backup = format!("sqlite3 {DATABASE} '.backup {SNAPSHOT}'");
    let seal = format!("zstd -3 -c {SNAPSHOT} | age -r {recipient} -o {ENCRYPTED}");
    let mut rows = vec![
        Row::new(
            "keepsake_create",
            "keepsake create",
            "keepsake",
            format!("keepsake create --db {DATABASE} --out {ARCHIVE} --key-file {KEY_FILE}"),
        )
        .measured(tallies.of(Op::Create), Some(db_bytes), archive_bytes, None),
        Row::new(
            "keepsake_estimate",
            "keepsake estimate",
            "keepsake",
            format!("keepsake estimate --db {DATABASE}"),
        )
        .measured(
            tallies.of(Op::Estimate),
            Some(db_bytes),
            tallies.of(Op::Estimate).output_bytes,
            None,
        ),
        Row::new(
            "backup_pipeline",
            ".backup | zstd -3 | age",
            "baseline",
            format!("{backup} && {seal}"),
        )
        .measured(
            tallies.of(Op::Backup),
            Some(db_bytes),
            encrypted_bytes,
            None,
        ),
        Row::new(
            "backup_pipeline.sqlite3_backup",
            "sqlite3 .backup",
            "step",
            backup,
        )
        .measured(&step(Op::Backup, 0), Some(db_bytes), snapshot_bytes, None),
        Row::new("backup_pipeline.zstd_age", "zstd -3 | age", "step", seal).measured(
            &step(Op::Backup, 1),
            snapshot_bytes,
            encrypted_bytes,
            None,
        ),
        Row::new(
            "zstd",
            "zstd -3 (database file)",
            "baseline",
            format!("zstd -3 -c {DATABASE} > {COMPRESSED}"),
        )
        .measured(
            tallies.of(Op::Compress),
            Some(db_bytes),
            compressed_bytes,
            None,
        ),
        Row::new(
            "keepsake_verify",
            "keepsake verify",
            "keepsake",
            format!("keepsake verify {ARCHIVE} --key-file {KEY_FILE}"),
        )
        .measured(
            tallies.of(Op::Verify),
            archive_bytes,
            tallies.of(Op::Verify).output_bytes,
            None,
        ),
        Row::new(
            "zstd_d",
            "zstd -d > /dev/null",
            "baseline",
            format!("zstd -d -c {COMPRESSED} > /dev/null"),
        )
        .measured(
            tallies.of(Op::Decompress),
            compressed_bytes,
            Some(db_bytes),
            None,
        ),
        Row::new(
            "age_d_zstd_d",
            "age -d | zstd -d > /dev/null",
            "reference",
            format!("age -d -i {IDENTITY} {ENCRYPTED} | zstd -d -c > /dev/null"),
        )
        .measured(
            tallies.of(Op::Decrypt),
            encrypted_bytes,
            snapshot_bytes,
            None,
        ),
        Row::new(
            "keepsake_import",
            "keepsake import (new db)",
            "keepsake",
            format!("keepsake import {ARCHIVE} --db {IMPORTED} --key-file {KEY_FILE}"),
        )
        .measured(
            tallies.of(Op::Import),
            archive_bytes,
            tallies.of(Op::Import).output_bytes,
            messages,
        ),
        Row::new(
            "insert_select",
            "INSERT … SELECT (new db)",
            "baseline",
            format!(
                "ATTACH '{DATABASE}' AS source; INSERT INTO main.t SELECT * FROM source.t \
                 for each table, in one transaction, into a new {COPIED}"
            ),
        )
        .measured(
            tallies.of(Op::Copy),
            Some(db_bytes),
            tallies.of(Op::Copy).output_bytes,
            messages,
        ),
    ];
    let find = |rows: &[Row], id: &str| rows.iter().position(|row| row.id == id);
    for (id, speed, size) in [
        ("keepsake_create", "backup_pipeline", Some("zstd")),
        // What an estimate costs and how close it comes, against create.
        (
            "keepsake_estimate",
            "keepsake_create",
            Some("keepsake_create"),
        ),
        ("keepsake_verify", "zstd_d", None),
        ("keepsake_import", "insert_select", None),
    ] {
        let (Some(row), Some(baseline)) = (find(&rows, id), find(&rows, speed)) else {
            continue;
        };
        rows[row].speed_baseline = Some(speed);
        // By time, not input throughput: verify reads a smaller file than
        // zstd -d does for the same database, and should not gain or lose by it.
        rows[row].speed_ratio = ratio(rows[baseline].seconds, rows[row].seconds);
        if let Some(size) = size
            && let Some(baseline) = find(&rows, size)
        {
            rows[row].size_baseline = Some(size);
            rows[row].size_ratio = ratio(
                rows[row].output_bytes.map(|bytes| bytes as f64),
                rows[baseline].output_bytes.map(|bytes| bytes as f64),
            );
        }
    }
    let ratios = Ratios {
        create_speed_vs_backup_pipeline: rows[0].speed_ratio,
        archive_size_vs_zstd: rows[0].size_ratio,
        estimate_time_vs_create: ratio(
            tallies.of(Op::Estimate).seconds(),
            tallies.of(Op::Create).seconds(),
        ),
        estimate_size_vs_archive: find(&rows, "keepsake_estimate").and_then(|i| rows[i].size_ratio),
        verify_speed_vs_zstd_d: find(&rows, "keepsake_verify").and_then(|i| rows[i].speed_ratio),
        import_time_vs_insert_select: ratio(
            tallies.of(Op::Import).seconds(),
            tallies.of(Op::Copy).seconds(),
        )
        .filter(|_| tallies.of(Op::Copy).ok()),
        keepsake_peak_rss_bytes: [
            tallies.of(Op::Create),
            tallies.of(Op::Verify),
            tallies.of(Op::Import),
        ]
        .iter()
        .filter_map(|tally| tally.peak_rss)
        .max(),
    };

    let writer = WriterOptions::default();
    let kept = if request.keep {
        Some(workdir.keep())
    } else {
        workdir.close().map_err(|error| {
            Failure::new(
                FAILURE,
                "io",
                format!("cannot remove the benchmark's working directory: {error}"),
            )
        })?;
        None
    };
    let json = BenchJson {
        ok: true,
        command: "bench",
        keepsake_version: env!("CARGO_PKG_VERSION"),
        level: writer.level,
        chunk_size: writer.chunk_size,
        runs: request.runs,
        machine: &machine,
        tools: &bench.tools,
        sample,
        rows: &rows,
        ratios,
        dir: kept.map(|dir| dir.to_string_lossy().into_owned()),
        elapsed_ms: super::units::millis(started.elapsed()),
    };
    Report::new(human_report(&json), &json)
}

/// Column widths of the table.
const OPERATION: usize = 28;
const SIZE: usize = 10;
const SECONDS: usize = 8;
const THROUGHPUT: usize = 13;
const RATIO: usize = 7;
const PEAK: usize = 8;

fn megabytes(bytes: Option<u64>) -> String {
    bytes.map_or_else(String::new, |bytes| format!("{:.1} MB", bytes as f64 / 1e6))
}

/// The table, with what it was measured on above it and what its columns
/// mean below.
fn human_report(json: &BenchJson<'_>) -> String {
    let sample = &json.sample;
    let mut out = format!(
        "Keepsake {} benchmark: {} messages in {} conversations, a {} database (written in {})\n\
         machine   {}\n\
         tools     {}\n\
         keepsake  zstd level {}, {} chunks; {}; files hot in the page cache\n\n",
        json.keepsake_version,
        sample.messages,
        sample.conversations,
        megabytes(Some(sample.database_bytes)),
        duration_human(Duration::from_secs_f64(sample.seconds)),
        json.machine.human(),
        json.tools.human(),
        json.level,
        bytes_human(u64::from(json.chunk_size)),
        if json.runs == 1 {
            "one run of each operation".to_owned()
        } else {
            format!("the fastest of {} runs of each operation", json.runs)
        },
    );
    out.push_str(&format!(
        "  {:<OPERATION$} {:>SIZE$} {:>SIZE$} {:>SECONDS$} {:>THROUGHPUT$} {:>RATIO$} {:>RATIO$} {:>PEAK$}\n",
        "operation", "input", "output", "seconds", "throughput", "speed", "size", "peak MiB"
    ));
    let width = OPERATION + 2 * SIZE + SECONDS + THROUGHPUT + 2 * RATIO + PEAK + 7;
    out.push_str(&format!("  {}\n", "-".repeat(width)));
    for row in json.rows {
        if row.status != "ok" && row.role == "step" {
            // Its pipeline's row says why.
            continue;
        }
        // A pipeline's steps are indented under it.
        let operation = if row.role == "step" {
            format!("  {}", row.operation)
        } else {
            row.operation.to_owned()
        };
        if let Some(note) = row.note.as_ref().filter(|_| row.status != "ok") {
            out.push_str(&format!("  {operation:<OPERATION$} {note}\n"));
            continue;
        }
        let throughput =
            row.throughput
                .map_or_else(String::new, |value| match row.throughput_unit {
                    "MB/s" => format!("{value:.1} MB/s"),
                    _ => format!("{value:.0} msg/s"),
                });
        let times = |value: Option<f64>, baseline: bool| match value {
            Some(value) => format!("{value:.2}×"),
            None if baseline => "base".to_owned(),
            None => String::new(),
        };
        let speed = times(
            row.speed_ratio,
            matches!(row.id, "backup_pipeline" | "zstd_d" | "insert_select"),
        );
        let size = times(row.size_ratio, row.id == "zstd");
        out.push_str(&format!(
            "  {:<OPERATION$} {:>SIZE$} {:>SIZE$} {:>SECONDS$} {:>THROUGHPUT$} {:>RATIO$} {:>RATIO$} {:>PEAK$}\n",
            operation,
            megabytes(row.input_bytes),
            megabytes(row.output_bytes),
            row.seconds.map_or_else(String::new, |s| format!("{s:.3}")),
            throughput,
            speed,
            size,
            row.peak_rss_bytes
                .map_or_else(String::new, |bytes| format!("{:.1}", bytes as f64 / 1048576.0)),
        ));
    }
    out.push_str(
        "\n  speed: the baseline's seconds over Keepsake's for the same database (create: the\n    \
         .backup | zstd | age pipeline; estimate: keepsake create; verify: zstd -d; import:\n    \
         INSERT … SELECT); above 1 is faster\n  \
         size: output over zstd -3 of the database file; below 1 is smaller (estimate: the\n    \
         estimated size over the archive create wrote)\n  \
         throughput: MB/s (10^6 bytes) of input; messages/s for import\n  \
         peak MiB: the process's peak resident memory; Keepsake's and INSERT … SELECT's are\n    \
         exact, the tools' sampled while they run (a pipeline's processes summed)\n",
    );
    let elapsed = duration_human(Duration::from_millis(json.elapsed_ms));
    match &json.dir {
        Some(dir) => out.push_str(&format!("\nfinished in {elapsed}; files kept in {dir}\n")),
        None => out.push_str(&format!(
            "\nfinished in {elapsed}; the working directory was removed (--keep keeps it)\n"
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_memory_is_read_from_proc_status() {
        let status =
            "Name:\tkeepsake\nVmPeak:\t  20000 kB\nVmHWM:\t    8128 kB\nVmRSS:\t 8000 kB\n";
        assert_eq!(peak_rss(status), Some(8128 * 1024));
        assert_eq!(peak_rss("Name:\tzombie\nState:\tZ (zombie)\n"), None);
        if cfg!(target_os = "linux") {
            assert!(own_peak_rss().is_some_and(|bytes| bytes > 0));
        }
    }

    #[test]
    fn ratios_need_both_sides() {
        assert_eq!(ratio(Some(3.0), Some(2.0)), Some(1.5));
        assert_eq!(ratio(Some(3.0), None), None);
        assert_eq!(ratio(Some(3.0), Some(0.0)), None);
    }
}
