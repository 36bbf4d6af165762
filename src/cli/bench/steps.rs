//! One operation of `keepsake bench`, run in a process of its own by the
//! benchmark (the hidden `bench-step` command), which reads the one JSON
//! object it prints: what it handled, and its own peak memory.

use std::path::{Path, PathBuf};

use serde::Serialize;

use keepsake::WriterOptions;
use keepsake_sqlite::{CreateOptions, DbResult, ImportOptions, PageArchiveOptions, RestoreOptions};

use super::super::exit::{Direction, Failure};
use super::super::{Counts, Report, database_bytes, library_failure, read_key};
use super::process::own_peak_rss;

/// One operation; paths are relative to the benchmark's working directory.
#[derive(Debug, clap::Subcommand)]
pub enum Step {
    /// Create ARCHIVE from DB, as `keepsake create` does.
    Create {
        db: PathBuf,
        archive: PathBuf,
        key_file: PathBuf,
        /// Worker threads, as `create --threads`.
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Create a pages ARCHIVE from DB, as `keepsake create --mode pages` does.
    CreatePages {
        db: PathBuf,
        archive: PathBuf,
        key_file: PathBuf,
    },
    /// Estimate the archive of DB, as `keepsake estimate` does.
    Estimate { db: PathBuf },
    /// Verify ARCHIVE, as `keepsake verify` does.
    Verify { archive: PathBuf, key_file: PathBuf },
    /// Import ARCHIVE into DB, as `keepsake import` does; only one
    /// conversation's part of it with `--conversation`.
    Import {
        archive: PathBuf,
        db: PathBuf,
        key_file: PathBuf,
        #[arg(long)]
        conversation: Option<String>,
    },
    /// Restore a pages ARCHIVE as OUT, as `keepsake restore` does.
    Restore {
        archive: PathBuf,
        out: PathBuf,
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
    /// For an import of part of an archive: chunks decrypted of the total.
    chunks_decrypted: Option<u64>,
    chunks_total: Option<u64>,
    /// Why the operation failed, when it did: the failure's kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    peak_rss_bytes: Option<u64>,
}

/// What a step did.
struct Done {
    name: &'static str,
    records: u64,
    output_bytes: u64,
    chunks: Option<(u64, u64)>,
}

/// `keepsake bench-step`: one operation, then this process's peak memory,
/// printed as one JSON object whether the operation succeeded or not (a
/// failure also exits with its status and names its kind).
pub fn step(step: &Step) -> Result<Report, Failure> {
    let (done, failure) = match run_step(step) {
        Ok(done) => (done, None),
        Err(failure) => (Done::new(step.name(), 0, 0), Some(failure)),
    };
    let json = StepJson {
        ok: failure.is_none(),
        step: done.name,
        records: done.records,
        output_bytes: done.output_bytes,
        chunks_decrypted: done.chunks.map(|(decrypted, _)| decrypted),
        chunks_total: done.chunks.map(|(_, total)| total),
        error: failure.as_ref().map(|failure| failure.kind),
        peak_rss_bytes: own_peak_rss(),
    };
    let mut report = Report::new(String::new(), &json)?;
    report.flag = failure.map(|failure| (failure.code, failure.message));
    Ok(report)
}

impl Step {
    /// The step's name in its report.
    fn name(&self) -> &'static str {
        match self {
            Step::Create { .. } => "create",
            Step::CreatePages { .. } => "create-pages",
            Step::Estimate { .. } => "estimate",
            Step::Verify { .. } => "verify",
            Step::Import { .. } => "import",
            Step::Restore { .. } => "restore",
            Step::Copy { .. } => "copy",
        }
    }
}

/// Runs one step: what it handled and wrote.
fn run_step(step: &Step) -> Result<Done, Failure> {
    let failed = |what: &'static str, direction| {
        move |error| library_failure(error, direction, format!("cannot {what}"))
    };
    let done = match step {
        Step::Create {
            db,
            archive,
            key_file,
            threads,
        } => {
            let key = read_key(key_file)?;
            let mut options = CreateOptions::default();
            if let Some(threads) = threads {
                options.writer.threads = *threads;
            }
            let report = keepsake_sqlite::create_archive(db, archive, &[&key], &options)
                .map_err(failed("create", Direction::Writing))?;
            Done::new("create", Counts::from(&report).total(), report.bytes)
        }
        Step::CreatePages {
            db,
            archive,
            key_file,
        } => {
            let key = read_key(key_file)?;
            let options = PageArchiveOptions {
                writer: WriterOptions::default(),
                ..PageArchiveOptions::default()
            };
            let report = keepsake_sqlite::create_page_archive(db, archive, &[&key], &options)
                .map_err(failed("create a pages archive", Direction::Writing))?;
            Done::new("create-pages", report.pages, report.bytes)
        }
        Step::Estimate { db } => {
            let estimate = keepsake_sqlite::estimate_archive(db, &CreateOptions::default())
                .map_err(failed("estimate", Direction::Reading))?;
            let records = estimate.conversations + estimate.messages + estimate.consent;
            Done::new("estimate", records, estimate.bytes)
        }
        Step::Verify { archive, key_file } => {
            let key = read_key(key_file)?;
            let report = keepsake_sqlite::verify_archive(archive, &[key.into()])
                .map_err(failed("verify", Direction::Reading))?;
            let records = Counts::from(&report.trailer).total() + report.trailer.pages;
            Done::new("verify", records, report.trailer.plaintext_bytes)
        }
        Step::Import {
            archive,
            db,
            key_file,
            conversation,
        } => {
            let key = read_key(key_file)?;
            let identities = [key.into()];
            let options = ImportOptions::default();
            let (report, chunks) = match conversation {
                None => (
                    keepsake_sqlite::import_archive_with(archive, &identities, db, &options)
                        .map_err(failed("import", Direction::Reading))?,
                    None,
                ),
                Some(hex) => {
                    let selection = keepsake::Selection {
                        conversations: vec![super::super::units::parse_hex_id(hex).map_err(
                            |reason| Failure::usage(format!("--conversation {hex}: {reason}")),
                        )?],
                        ..keepsake::Selection::default()
                    };
                    let partial = keepsake_sqlite::import_selected(
                        archive,
                        &identities,
                        db,
                        &selection,
                        &options,
                    )
                    .map_err(failed("import part of", Direction::Reading))?;
                    let seek = partial.seek;
                    (
                        partial.import,
                        Some((seek.chunks_decrypted, seek.chunks_total)),
                    )
                }
            };
            let (inserted, skipped) = super::super::import_counts(&report);
            let records = inserted.total()
                + skipped.total()
                + report.active_conversation_messages
                + report.future_consent;
            Done {
                chunks,
                ..Done::new("import", records, database_bytes(db))
            }
        }
        Step::Restore {
            archive,
            out,
            key_file,
        } => {
            let key = read_key(key_file)?;
            let report = keepsake_sqlite::restore_database(
                archive,
                &[key.into()],
                out,
                &RestoreOptions::default(),
            )
            .map_err(failed("restore", Direction::Reading))?;
            Done::new("restore", report.pages, report.bytes)
        }
        Step::Copy { source, target } => {
            let rows = copy_rows(source, target).map_err(failed("copy", Direction::Writing))?;
            Done::new("copy", rows, database_bytes(target))
        }
    };
    Ok(done)
}

impl Done {
    fn new(name: &'static str, records: u64, output_bytes: u64) -> Done {
        Done {
            name,
            records,
            output_bytes,
            chunks: None,
        }
    }
}

/// SQLite copying the rows itself, the fastest way it offers: into a new
/// database with the reference schema, in a rollback journal, in one
/// transaction, with foreign keys off so that SQLite copies each table and
/// index whole, in its own order, rather than row by row (its transfer
/// optimization, which foreign key checks would turn off).
fn copy_rows(source: &Path, target: &Path) -> keepsake::Result<u64> {
    let source = source
        .to_str()
        .ok_or_else(|| keepsake::Error::InvalidInput {
            reason: "the source database's path is not UTF-8".into(),
        })?;
    let mut conn = rusqlite::Connection::open(target).db()?;
    conn.pragma_update(None, "foreign_keys", false).db()?;
    conn.execute_batch(keepsake_sqlite::REFERENCE_SCHEMA).db()?;
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
