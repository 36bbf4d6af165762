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

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use keepsake::{ArchiveKey, WriterOptions};
use keepsake_sqlite::DbResult;
use keepsake_sqlite::sample::SampleOptions;

use super::exit::{Direction, FAILURE, Failure};
use super::{
    Counts, Report, busy, database_bytes, import_counts, library_failure, read_key, write_key_file,
    write_sample,
};

mod process;
mod rows;
mod table;

use process::*;
use rows::*;
use table::*;

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
