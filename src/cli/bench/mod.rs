//! `keepsake bench`: Keepsake next to what a user would run instead
//! (`sqlite3 .backup`, `zstd`, `age`, and SQLite's own `INSERT … SELECT`), on
//! one sample database filled as a client's is (sync order), in one run, on
//! this machine.
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

use keepsake::{ArchiveKey, WriterOptions};
use keepsake_sqlite::sample::{SampleOptions, SampleOrder};
use keepsake_sqlite::{CreateOptions, DbResult};

use super::exit::{Direction, FAILURE, Failure};
use super::{
    Report, busy, database_bytes, library_failure, read_key, write_key_file, write_sample,
};

mod process;
mod report;
mod rows;
mod steps;
mod table;

use process::*;
use report::*;
use rows::*;
pub use steps::{Step, step};
use table::*;

/// Messages in the benchmark's sample database unless told otherwise: a
/// database of about 110 MB, benchmarked in seconds.
pub const DEFAULT_MESSAGES: u64 = 200_000;

/// Messages per conversation unless told otherwise, about what a client
/// that syncs thousands of conversations holds (the busiest far more, most
/// far fewer).
const MESSAGES_PER_CONVERSATION: u64 = 200;

/// The files of a run, in its working directory.
const DATABASE: &str = "messages.db";
const KEY_FILE: &str = "bench.key";
const ARCHIVE: &str = "messages.keepsake";
const ARCHIVE_ONE_THREAD: &str = "messages-1-thread.keepsake";
const SNAPSHOT: &str = "snapshot.db";
const IDENTITY: &str = "age-identity.txt";
const ENCRYPTED: &str = "snapshot.db.zst.age";
const COMPRESSED: &str = "messages.db.zst";
const IMPORTED: &str = "imported.db";
const COPIED: &str = "copied.db";
/// The older half of the messages, archived and imported before the run:
/// the database an import of the whole archive then adds to.
const HALF_ARCHIVE: &str = "older-half.keepsake";
const HALF_DB: &str = "older-half.db";
const HALF_TARGET: &str = "half-then-imported.db";
const PARTIAL: &str = "one-conversation.db";
const PAGES: &str = "pages.keepsake";
const RESTORED: &str = "restored.db";

/// How to get the external tools.
const INSTALL: &str = "apt-get install sqlite3 zstd age";

/// What `keepsake bench` was asked to do.
#[derive(Debug)]
pub struct BenchRequest {
    /// Messages in the sample database.
    pub messages: u64,
    /// Conversations in it; one per 200 messages (at least 20) if `None`.
    pub conversations: Option<u64>,
    /// Where to make the working directory; the system's temporary directory if `None`.
    pub dir: Option<PathBuf>,
    /// Keep the working directory instead of removing it.
    pub keep: bool,
    /// Run every operation this many times and report the fastest run.
    pub runs: u32,
    /// Print one JSON object instead of a table.
    pub json: bool,
}

/// The conversation of median size in `db`, in hex, and its messages; and
/// the send time that splits the messages in halves.
fn median_conversation_and_time(db: &Path) -> keepsake::Result<(String, u64, i64)> {
    let conn = rusqlite::Connection::open(db).db()?;
    let (conversation, messages) = conn
        .query_row(
            "SELECT lower(hex(conversation_id)), count(*) AS n FROM messages \
             GROUP BY conversation_id ORDER BY n, conversation_id LIMIT 1 \
             OFFSET (SELECT count(DISTINCT conversation_id) FROM messages) / 2",
            [],
            |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)),
        )
        .db()?;
    let middle = conn
        .query_row(
            "SELECT sent_at_ns FROM messages ORDER BY sent_at_ns LIMIT 1 \
             OFFSET (SELECT count(*) FROM messages) / 2",
            [],
            |row| row.get(0),
        )
        .db()?;
    Ok((conversation, messages.max(0) as u64, middle))
}

/// The database an import into "half there" adds to: the messages sent
/// before `until` (and their conversations, and consent), imported from an
/// archive of them as an earlier restore would have.
fn older_half(dir: &Path, key: &ArchiveKey, until: i64) -> keepsake::Result<()> {
    let options = CreateOptions {
        end_ns: Some(until),
        ..CreateOptions::default()
    };
    let archive = dir.join(HALF_ARCHIVE);
    keepsake_sqlite::create_archive(&dir.join(DATABASE), &archive, &[key], &options)?;
    keepsake_sqlite::import_archive(&archive, &[key.clone().into()], &dir.join(HALF_DB))?;
    Ok(())
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
        conversations: request
            .conversations
            .unwrap_or((request.messages / MESSAGES_PER_CONVERSATION).max(20)),
        order: SampleOrder::Sync,
        ..SampleOptions::default()
    };
    let sampling = Instant::now();
    let sample = busy(!request.json, "writing the sample database", || {
        write_sample(&dir.join(DATABASE), &options)
    })?;
    let key = read_key(&dir.join(KEY_FILE))?;
    let (conversation, conversation_messages, middle) =
        busy(!request.json, "preparing the older half", || {
            let (conversation, messages, middle) =
                median_conversation_and_time(&dir.join(DATABASE))?;
            older_half(dir, &key, middle)?;
            Ok((conversation, messages, middle))
        })
        .map_err(|error| {
            library_failure(
                error,
                Direction::Writing,
                "cannot prepare the benchmark".into(),
            )
        })?;
    let _ = middle;
    let sample = SampleJson {
        order: "sync",
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
        conversation: conversation.clone(),
    };
    let mut tallies = Tallies::default();
    for _ in 0..request.runs {
        for op in OPS {
            busy(!request.json, op.label(), || bench.round(op, &mut tallies))?;
        }
    }

    let size = |name: &str| std::fs::metadata(dir.join(name)).ok().map(|m| m.len());
    let outputs = Outputs {
        database: db_bytes,
        snapshot: size(SNAPSHOT),
        encrypted: size(ENCRYPTED),
        compressed: size(COMPRESSED),
        messages: sample.messages,
        conversation: conversation.clone(),
        conversation_messages,
    };
    let rows = report::rows(&tallies, &outputs);
    let ratios = report::ratios(&rows, &tallies);

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
        partial_conversation: &conversation,
        partial_conversation_messages: conversation_messages,
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
