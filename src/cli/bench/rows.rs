//! The operations a run measures, side by side with their baselines, and the
//! rows and ratios it reports.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::super::exit::{FAILURE, Failure};
use super::process::{Measured, RowError, Sink, Stage, Tools, run};
use super::{
    ARCHIVE, ARCHIVE_ONE_THREAD, COMPRESSED, COPIED, DATABASE, ENCRYPTED, HALF_DB, HALF_TARGET,
    IDENTITY, IMPORTED, KEY_FILE, PAGES, PARTIAL, RESTORED, SNAPSHOT,
};

/// The operations, in the order each round runs them; `op as usize` is its
/// place in [`OPS`] and [`Tallies`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Create,
    CreateOneThread,
    Estimate,
    Backup,
    Compress,
    Verify,
    Decompress,
    Decrypt,
    Import,
    ImportIntoHalf,
    ImportConversation,
    Copy,
    CreatePages,
    VerifyPages,
    Restore,
}

impl Op {
    pub(super) fn label(self) -> &'static str {
        match self {
            Op::Create => "benchmarking keepsake create",
            Op::CreateOneThread => "benchmarking keepsake create --threads 1",
            Op::Estimate => "benchmarking keepsake estimate",
            Op::Backup => "benchmarking sqlite3 .backup | zstd -3 | age",
            Op::Compress => "benchmarking zstd -3",
            Op::Verify => "benchmarking keepsake verify",
            Op::Decompress => "benchmarking zstd -d",
            Op::Decrypt => "benchmarking age -d | zstd -d",
            Op::Import => "benchmarking keepsake import",
            Op::ImportIntoHalf => "benchmarking keepsake import into a database holding half",
            Op::ImportConversation => "benchmarking keepsake import --conversation",
            Op::Copy => "benchmarking INSERT … SELECT",
            Op::CreatePages => "benchmarking keepsake create --mode pages",
            Op::VerifyPages => "benchmarking keepsake verify (pages)",
            Op::Restore => "benchmarking keepsake restore",
        }
    }
}

pub(super) const OPS: [Op; 15] = [
    Op::Create,
    Op::CreateOneThread,
    Op::Estimate,
    Op::Backup,
    Op::Compress,
    Op::Verify,
    Op::Decompress,
    Op::Decrypt,
    Op::Import,
    Op::ImportIntoHalf,
    Op::ImportConversation,
    Op::Copy,
    Op::CreatePages,
    Op::VerifyPages,
    Op::Restore,
];

/// An operation's runs: the parts of its fastest run (a pipeline of several
/// commands has one part per command), the largest peak memory of any run.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) best: Option<Vec<Measured>>,
    pub(super) peak_rss: Option<u64>,
    pub(super) records: Option<u64>,
    pub(super) output_bytes: Option<u64>,
    /// For an import of part of an archive: chunks decrypted, and in all.
    pub(super) chunks: Option<(u64, u64)>,
    pub(super) error: Option<RowError>,
}

impl Tally {
    pub(super) fn add(&mut self, parts: Vec<Measured>) {
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

    pub(super) fn seconds(&self) -> Option<f64> {
        self.best.as_ref().map(|parts| {
            parts
                .iter()
                .map(|part| part.elapsed)
                .sum::<Duration>()
                .as_secs_f64()
        })
    }

    pub(super) fn ok(&self) -> bool {
        self.error.is_none() && self.best.is_some()
    }
}

/// A run of the benchmark in its working directory.
pub(super) struct Bench<'a> {
    pub(super) dir: &'a Path,
    pub(super) exe: PathBuf,
    pub(super) tools: Tools,
    /// The age recipient of the identity made for this run.
    pub(super) recipient: Result<String, RowError>,
    /// The records of the sample.
    pub(super) expected_records: u64,
    /// The conversation a partial import takes, in hex.
    pub(super) conversation: String,
}

impl Bench<'_> {
    pub(super) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Removes what an operation writes, so that each run starts afresh.
    pub(super) fn clear(&self, names: &[&str]) {
        for name in names {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let _ = std::fs::remove_file(self.path(&format!("{name}{suffix}")));
            }
        }
    }

    /// Runs one of Keepsake's operations in a child process, which must
    /// report handling `expected` records (or pages) if given; a failure
    /// ends the benchmark.
    pub(super) fn keepsake(
        &self,
        what: &str,
        args: &[&str],
        expected: Option<u64>,
    ) -> Result<(Measured, Value), Failure> {
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
        if let Some(expected) = expected
            && records != Some(expected)
        {
            return Err(Failure::new(
                FAILURE,
                "other",
                format!(
                    "the benchmark's keepsake {what} handled {records:?} records, not the {expected} of the sample"
                ),
            ));
        }
        Ok((measured, report))
    }

    /// Runs an external tool's operation once, unless a tool it needs is
    /// missing or an operation whose output it reads failed.
    pub(super) fn external(
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
    pub(super) fn backup(&self) -> Result<Vec<Measured>, RowError> {
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
    pub(super) fn round(&self, op: Op, tallies: &mut Tallies) -> Result<(), Failure> {
        let mut tally = std::mem::take(&mut tallies.0[op as usize]);
        let result = self.round_of(op, &mut tally, tallies);
        tallies.0[op as usize] = tally;
        result
    }

    pub(super) fn round_of(
        &self,
        op: Op,
        tally: &mut Tally,
        earlier: &Tallies,
    ) -> Result<(), Failure> {
        if tally.error.is_some() {
            return Ok(());
        }
        let records = Some(self.expected_records);
        let (measured, report) = match op {
            Op::Create => {
                self.clear(&[ARCHIVE]);
                self.keepsake("create", &["create", DATABASE, ARCHIVE, KEY_FILE], records)?
            }
            Op::CreateOneThread => {
                self.clear(&[ARCHIVE_ONE_THREAD]);
                let args = [
                    "create",
                    DATABASE,
                    ARCHIVE_ONE_THREAD,
                    KEY_FILE,
                    "--threads",
                    "1",
                ];
                self.keepsake("create --threads 1", &args, records)?
            }
            Op::Estimate => self.keepsake("estimate", &["estimate", DATABASE], records)?,
            Op::Verify => self.keepsake("verify", &["verify", ARCHIVE, KEY_FILE], records)?,
            Op::Import => {
                self.clear(&[IMPORTED]);
                let args = ["import", ARCHIVE, IMPORTED, KEY_FILE];
                self.keepsake("import", &args, records)?
            }
            Op::ImportIntoHalf => {
                self.clear(&[HALF_TARGET]);
                std::fs::copy(self.path(HALF_DB), self.path(HALF_TARGET)).map_err(|error| {
                    Failure::io("copy the half database to", &self.path(HALF_TARGET), &error)
                })?;
                let args = ["import", ARCHIVE, HALF_TARGET, KEY_FILE];
                self.keepsake("import into half", &args, records)?
            }
            Op::ImportConversation => {
                self.clear(&[PARTIAL]);
                let args = [
                    "import",
                    ARCHIVE,
                    PARTIAL,
                    KEY_FILE,
                    "--conversation",
                    &self.conversation,
                ];
                self.keepsake("import --conversation", &args, None)?
            }
            Op::Copy => {
                self.clear(&[COPIED]);
                self.keepsake("INSERT … SELECT", &["copy", DATABASE, COPIED], records)?
            }
            Op::CreatePages => {
                self.clear(&[PAGES]);
                let args = ["create-pages", DATABASE, PAGES, KEY_FILE];
                self.keepsake("create --mode pages", &args, None)?
            }
            Op::VerifyPages => {
                self.keepsake("verify (pages)", &["verify", PAGES, KEY_FILE], None)?
            }
            Op::Restore => {
                self.clear(&[RESTORED]);
                let args = ["restore", PAGES, RESTORED, KEY_FILE];
                self.keepsake("restore", &args, None)?
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
        let chunks = |field| report.get(field).and_then(Value::as_u64);
        tally.chunks = chunks("chunks_decrypted").zip(chunks("chunks_total"));
        tally.add(vec![measured]);
        Ok(())
    }
}

/// Every operation's tally, in the order of [`OPS`].
#[derive(Debug, Default)]
pub(super) struct Tallies([Tally; OPS.len()]);

impl Tallies {
    pub(super) fn of(&self, op: Op) -> &Tally {
        &self.0[op as usize]
    }
}
