//! The rows and ratios a run reports, built from the tallies of its operations.

use serde::Serialize;

use super::process::{Machine, RowError, Tools};
use super::rows::{Op, Tallies, Tally};
use super::{
    ARCHIVE, ARCHIVE_ONE_THREAD, COMPRESSED, COPIED, DATABASE, ENCRYPTED, HALF_TARGET, IDENTITY,
    IMPORTED, INSTALL, KEY_FILE, PAGES, PARTIAL, RESTORED, SNAPSHOT,
};

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
    /// Why a row has no figures.
    pub(super) note: Option<String>,
    /// What else a row measured, in words.
    pub(super) detail: Option<String>,
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
            detail: None,
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
    /// `"sync"`: rows in the order a client's database fills while it syncs.
    pub(super) order: &'static str,
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
    /// keepsake create --threads 1's time over keepsake create's (one thread per core).
    pub(super) create_speedup_of_threads: Option<f64>,
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
    /// keepsake import's time into a database that holds the older half of
    /// the rows (from an earlier import) over `INSERT … SELECT`'s.
    pub(super) import_into_half_time_vs_insert_select: Option<f64>,
    /// The chunks a partial import of the conversation of median size
    /// decrypted, and the archive's chunks.
    pub(super) partial_import_chunks_decrypted: Option<u64>,
    pub(super) partial_import_chunks_total: Option<u64>,
    /// keepsake restore's time over keepsake verify's, of the same pages archive.
    pub(super) restore_time_vs_verify: Option<f64>,
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
    /// The conversation the partial import takes, and its messages.
    pub(super) partial_conversation: &'a str,
    pub(super) partial_conversation_messages: u64,
    pub(super) rows: &'a [Row],
    pub(super) ratios: Ratios,
    /// The working directory, when it was kept.
    pub(super) dir: Option<String>,
    pub(super) elapsed_ms: u64,
}

/// The sizes of the files a run wrote, and what it ran on.
pub(super) struct Outputs {
    pub(super) database: u64,
    pub(super) snapshot: Option<u64>,
    pub(super) encrypted: Option<u64>,
    pub(super) compressed: Option<u64>,
    pub(super) messages: u64,
    /// The conversation a partial import takes, and its messages.
    pub(super) conversation: String,
    pub(super) conversation_messages: u64,
}

/// One part of a pipeline's fastest run, as a tally of its own.
fn part_of(tally: &Tally, index: usize) -> Tally {
    let part = tally.best.as_ref().and_then(|parts| parts.get(index));
    Tally {
        best: part.map(|part| vec![part.clone()]),
        peak_rss: part.and_then(|part| part.peak_rss),
        error: tally.error.clone(),
        ..Tally::default()
    }
}

/// Every row of the report, each compared with its baseline.
pub(super) fn rows(tallies: &Tallies, out: &Outputs) -> Vec<Row> {
    let of = |op| tallies.of(op);
    let db = Some(out.database);
    let archive = of(Op::Create).output_bytes;
    let pages = of(Op::CreatePages).output_bytes;
    let messages = Some(out.messages);
    // The recipient changes every run; the command shows its shape.
    let backup = format!("sqlite3 {DATABASE} '.backup {SNAPSHOT}'");
    let seal = format!("zstd -3 -c {SNAPSHOT} | age -r age1… -o {ENCRYPTED}");
    let import =
        |into: &str| format!("keepsake import {ARCHIVE} --db {into} --key-file {KEY_FILE}");
    let mut conversation = Row::new(
        "keepsake_import_conversation",
        "keepsake import --conversation",
        "keepsake",
        format!("{} --conversation {}", import(PARTIAL), out.conversation),
    )
    .measured(
        of(Op::ImportConversation),
        archive,
        of(Op::ImportConversation).output_bytes,
        None,
    );
    if let Some((decrypted, total)) = of(Op::ImportConversation).chunks {
        conversation.detail = Some(format!(
            "a conversation of {} messages (the median): {decrypted} of {total} chunks decrypted",
            out.conversation_messages
        ));
    }
    let mut rows = vec![
        Row::new(
            "keepsake_create",
            "keepsake create",
            "keepsake",
            format!("keepsake create --db {DATABASE} --out {ARCHIVE} --key-file {KEY_FILE}"),
        )
        .measured(of(Op::Create), db, archive, None),
        Row::new(
            "keepsake_create_threads_1",
            "keepsake create --threads 1",
            "keepsake",
            format!(
                "keepsake create --db {DATABASE} --out {ARCHIVE_ONE_THREAD} --key-file {KEY_FILE} --threads 1"
            ),
        )
        .measured(of(Op::CreateOneThread), db, of(Op::CreateOneThread).output_bytes, None),
        Row::new(
            "keepsake_estimate",
            "keepsake estimate",
            "keepsake",
            format!("keepsake estimate --db {DATABASE}"),
        )
        .measured(of(Op::Estimate), db, of(Op::Estimate).output_bytes, None),
        Row::new(
            "backup_pipeline",
            ".backup | zstd -3 | age",
            "baseline",
            format!("{backup} && {seal}"),
        )
        .measured(of(Op::Backup), db, out.encrypted, None),
        Row::new("backup_pipeline.sqlite3_backup", "sqlite3 .backup", "step", backup)
            .measured(&part_of(of(Op::Backup), 0), db, out.snapshot, None),
        Row::new("backup_pipeline.zstd_age", "zstd -3 | age", "step", seal).measured(
            &part_of(of(Op::Backup), 1),
            out.snapshot,
            out.encrypted,
            None,
        ),
        Row::new(
            "zstd",
            "zstd -3 (database file)",
            "baseline",
            format!("zstd -3 -c {DATABASE} > {COMPRESSED}"),
        )
        .measured(of(Op::Compress), db, out.compressed, None),
        Row::new(
            "keepsake_verify",
            "keepsake verify",
            "keepsake",
            format!("keepsake verify {ARCHIVE} --key-file {KEY_FILE}"),
        )
        .measured(of(Op::Verify), archive, of(Op::Verify).output_bytes, None),
        Row::new(
            "zstd_d",
            "zstd -d > /dev/null",
            "baseline",
            format!("zstd -d -c {COMPRESSED} > /dev/null"),
        )
        .measured(of(Op::Decompress), out.compressed, db, None),
        Row::new(
            "age_d_zstd_d",
            "age -d | zstd -d > /dev/null",
            "reference",
            format!("age -d -i {IDENTITY} {ENCRYPTED} | zstd -d -c > /dev/null"),
        )
        .measured(of(Op::Decrypt), out.encrypted, out.snapshot, None),
        Row::new("keepsake_import", "keepsake import (new db)", "keepsake", import(IMPORTED))
            .measured(of(Op::Import), archive, of(Op::Import).output_bytes, messages),
        Row::new(
            "keepsake_import_half",
            "keepsake import (half there)",
            "keepsake",
            import(HALF_TARGET),
        )
        .measured(of(Op::ImportIntoHalf), archive, of(Op::ImportIntoHalf).output_bytes, messages),
        conversation,
        Row::new(
            "insert_select",
            "INSERT … SELECT (new db)",
            "baseline",
            format!(
                "ATTACH '{DATABASE}' AS source; INSERT INTO main.t SELECT * FROM source.t \
                 for each table, in one transaction, into a new {COPIED} (rollback journal, \
                 foreign keys off: SQLite copies whole tables and indexes)"
            ),
        )
        .measured(of(Op::Copy), db, of(Op::Copy).output_bytes, messages),
        Row::new(
            "keepsake_create_pages",
            "keepsake create --mode pages",
            "keepsake",
            format!(
                "keepsake create --mode pages --db {DATABASE} --out {PAGES} --key-file {KEY_FILE}"
            ),
        )
        .measured(of(Op::CreatePages), db, pages, None),
        Row::new(
            "keepsake_verify_pages",
            "keepsake verify (pages)",
            "baseline",
            format!("keepsake verify {PAGES} --key-file {KEY_FILE}"),
        )
        .measured(of(Op::VerifyPages), pages, of(Op::VerifyPages).output_bytes, None),
        Row::new(
            "keepsake_restore",
            "keepsake restore",
            "keepsake",
            format!("keepsake restore {PAGES} --out {RESTORED} --key-file {KEY_FILE}"),
        )
        .measured(of(Op::Restore), pages, of(Op::Restore).output_bytes, None),
    ];
    let find = |rows: &[Row], id: &str| rows.iter().position(|row| row.id == id);
    for (id, speed, size) in [
        ("keepsake_create", "backup_pipeline", Some("zstd")),
        ("keepsake_create_threads_1", "backup_pipeline", Some("zstd")),
        // What an estimate costs and how close it comes, against create.
        (
            "keepsake_estimate",
            "keepsake_create",
            Some("keepsake_create"),
        ),
        ("keepsake_verify", "zstd_d", None),
        ("keepsake_import", "insert_select", None),
        ("keepsake_import_half", "insert_select", None),
        ("keepsake_create_pages", "backup_pipeline", Some("zstd")),
        ("keepsake_restore", "keepsake_verify_pages", None),
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
    rows
}

/// The comparisons of `rows`.
pub(super) fn ratios(rows: &[Row], tallies: &Tallies) -> Ratios {
    let row = |id: &str| rows.iter().find(|row| row.id == id);
    let seconds = |id: &str| row(id).and_then(|row| row.seconds);
    let copied = tallies.of(Op::Copy).ok();
    let chunks = tallies.of(Op::ImportConversation).chunks;
    Ratios {
        create_speed_vs_backup_pipeline: row("keepsake_create").and_then(|row| row.speed_ratio),
        create_speedup_of_threads: ratio(
            seconds("keepsake_create_threads_1"),
            seconds("keepsake_create"),
        ),
        archive_size_vs_zstd: row("keepsake_create").and_then(|row| row.size_ratio),
        estimate_time_vs_create: ratio(seconds("keepsake_estimate"), seconds("keepsake_create")),
        estimate_size_vs_archive: row("keepsake_estimate").and_then(|row| row.size_ratio),
        verify_speed_vs_zstd_d: row("keepsake_verify").and_then(|row| row.speed_ratio),
        import_time_vs_insert_select: ratio(seconds("keepsake_import"), seconds("insert_select"))
            .filter(|_| copied),
        import_into_half_time_vs_insert_select: ratio(
            seconds("keepsake_import_half"),
            seconds("insert_select"),
        )
        .filter(|_| copied),
        partial_import_chunks_decrypted: chunks.map(|(decrypted, _)| decrypted),
        partial_import_chunks_total: chunks.map(|(_, total)| total),
        restore_time_vs_verify: ratio(
            seconds("keepsake_restore"),
            seconds("keepsake_verify_pages"),
        ),
        keepsake_peak_rss_bytes: [Op::Create, Op::Verify, Op::Import]
            .iter()
            .filter_map(|&op| tallies.of(op).peak_rss)
            .max(),
    }
}
