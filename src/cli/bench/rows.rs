//! The operations a run measures, side by side with their baselines, and the
//! rows and ratios it reports.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::super::exit::{FAILURE, Failure};
use super::process::{Machine, Measured, RowError, Sink, Stage, Tools, run};
use super::{
    ARCHIVE, COMPRESSED, COPIED, DATABASE, ENCRYPTED, IDENTITY, IMPORTED, INSTALL, KEY_FILE,
    SNAPSHOT,
};

/// The operations, in the order each round runs them; `op as usize` is its
/// place in [`OPS`] and [`Tallies`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
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
    pub(super) fn label(self) -> &'static str {
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

pub(super) const OPS: [Op; 9] = [
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
pub(super) struct Tally {
    pub(super) best: Option<Vec<Measured>>,
    pub(super) peak_rss: Option<u64>,
    pub(super) records: Option<u64>,
    pub(super) output_bytes: Option<u64>,
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
    pub(super) expected_records: u64,
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

    /// Runs one of Keepsake's operations in a child process; a failure ends
    /// the benchmark.
    pub(super) fn keepsake(&self, what: &str, args: &[&str]) -> Result<(Measured, Value), Failure> {
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
pub(super) struct Tallies([Tally; OPS.len()]);

impl Tallies {
    pub(super) fn of(&self, op: Op) -> &Tally {
        &self.0[op as usize]
    }
}

/// One line of the table.
#[derive(Debug, Serialize)]
pub(super) struct Row {
    /// A stable name for scripts.
    pub(super) id: &'static str,
    pub(super) operation: &'static str,
    /// What was run, in the working directory.
    pub(super) command: String,
    /// `keepsake`, `baseline`, `step` (a part of the row above) or `reference`.
    pub(super) role: &'static str,
    /// `ok`, `not_installed` or `failed`.
    pub(super) status: &'static str,
    pub(super) note: Option<String>,
    pub(super) input_bytes: Option<u64>,
    pub(super) output_bytes: Option<u64>,
    pub(super) seconds: Option<f64>,
    pub(super) throughput: Option<f64>,
    pub(super) throughput_unit: &'static str,
    /// The baseline's time over this row's, both working on the same
    /// database: above 1 is faster.
    pub(super) speed_ratio: Option<f64>,
    pub(super) speed_baseline: Option<&'static str>,
    /// This row's output over its baseline's: below 1 is smaller.
    pub(super) size_ratio: Option<f64>,
    pub(super) size_baseline: Option<&'static str>,
    pub(super) peak_rss_bytes: Option<u64>,
    /// `exact` (the process's own high-water mark) or `sampled`.
    pub(super) peak_rss_method: Option<&'static str>,
    pub(super) records: Option<u64>,
}

impl Row {
    /// A row without figures yet.
    pub(super) fn new(
        id: &'static str,
        operation: &'static str,
        role: &'static str,
        command: String,
    ) -> Row {
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
    pub(super) fn measured(
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

pub(super) fn ratio(over: Option<f64>, under: Option<f64>) -> Option<f64> {
    match (over, under) {
        (Some(over), Some(under)) if under > 0.0 => Some(over / under),
        _ => None,
    }
}

/// The sample database of a run.
#[derive(Debug, Serialize)]
pub(super) struct SampleJson {
    pub(super) messages: u64,
    pub(super) conversations: u64,
    pub(super) consent: u64,
    pub(super) database_bytes: u64,
    pub(super) seconds: f64,
}

/// The comparisons the benchmark exists for.
#[derive(Debug, Serialize)]
pub(super) struct Ratios {
    /// The backup pipeline's time over keepsake create's.
    pub(super) create_speed_vs_backup_pipeline: Option<f64>,
    /// The archive's size over `zstd -3` of the database file.
    pub(super) archive_size_vs_zstd: Option<f64>,
    /// keepsake estimate's time over keepsake create's.
    pub(super) estimate_time_vs_create: Option<f64>,
    /// The estimated size over the size of the archive create wrote.
    pub(super) estimate_size_vs_archive: Option<f64>,
    /// `zstd -d`'s time over keepsake verify's, for the same database.
    pub(super) verify_speed_vs_zstd_d: Option<f64>,
    /// keepsake import's time over `INSERT … SELECT`'s.
    pub(super) import_time_vs_insert_select: Option<f64>,
    /// The largest peak memory of Keepsake's operations.
    pub(super) keepsake_peak_rss_bytes: Option<u64>,
}

#[derive(Serialize)]
pub(super) struct BenchJson<'a> {
    pub(super) ok: bool,
    pub(super) command: &'static str,
    pub(super) keepsake_version: &'static str,
    pub(super) level: i32,
    pub(super) chunk_size: u32,
    pub(super) runs: u32,
    pub(super) machine: &'a Machine,
    pub(super) tools: &'a Tools,
    pub(super) sample: SampleJson,
    pub(super) rows: &'a [Row],
    pub(super) ratios: Ratios,
    /// The working directory, when it was kept.
    pub(super) dir: Option<String>,
    pub(super) elapsed_ms: u64,
}
