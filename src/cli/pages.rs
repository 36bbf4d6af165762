//! `keepsake create --mode pages` and `keepsake restore`: whole-database
//! snapshots as SQLite pages, and the database rebuilt from one.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use keepsake::{ArchiveMode, WriterOptions};

use keepsake_sqlite::{PageArchiveOptions, RestoreOptions};

use super::create::{CREATE_HINT, CREATE_REFUSES};
use super::exit::{Direction, Failure};
use super::location::Archive;
use super::progress_bar::with_progress_of;
use super::units::{bytes_human, duration_human, millis};
use super::{
    Report, create_failure, database_bytes, existing_file, library_failure, refuse_existing,
};

/// What `keepsake create --mode pages` was asked to do.
#[derive(Debug)]
pub struct CreatePagesRequest {
    pub db: PathBuf,
    pub out: Archive,
    /// Whether an existing archive at `out` may be replaced.
    pub replace: bool,
    pub write_for: super::keys::WriteFor,
    pub sign_with: Option<PathBuf>,
    pub writer: WriterOptions,
    pub json: bool,
}

#[derive(Serialize)]
struct CreatePagesJson<'a> {
    ok: bool,
    command: &'static str,
    mode: &'static str,
    archive: Cow<'a, str>,
    archive_bytes: u64,
    database: Cow<'a, str>,
    database_bytes: u64,
    page_size: u32,
    database_pages: u32,
    pages: u64,
    level: i32,
    chunk_size: u32,
    elapsed_ms: u64,
}

/// `keepsake create --mode pages`.
pub fn create(request: &CreatePagesRequest) -> Result<Report, Failure> {
    existing_file(&request.db, "database")?;
    let recipients = request.write_for.recipients()?;
    let signing_key = request
        .sign_with
        .as_deref()
        .map(super::keys::read_signing_key)
        .transpose()?;
    let mut sink = request
        .out
        .sink(request.replace, CREATE_REFUSES, CREATE_HINT)?;
    let started = Instant::now();
    let report = with_progress_of(
        !request.json,
        "snapshotting the database",
        "pages",
        |progress| {
            let mut writer = request.writer.clone();
            writer.signing_key = signing_key.clone();
            let options = PageArchiveOptions {
                writer,
                progress: progress.clone(),
            };
            keepsake_sqlite::create_page_archive_to(&request.db, &mut sink, &recipients, &options)
        },
    )
    .map_err(|error| create_failure(error, &request.out, &request.db))?;
    let elapsed = started.elapsed();
    let database_bytes = database_bytes(&request.db);
    let human = format!(
        "created {}: {} from a {} database, in {}\n  mode      pages: a snapshot of the whole database\n  pages     {} of {} ({} bytes each; free pages left out)\n",
        request.out,
        bytes_human(report.bytes),
        bytes_human(database_bytes),
        duration_human(elapsed),
        report.pages,
        report.database_pages,
        report.page_size,
    );
    Report::new(
        human,
        &CreatePagesJson {
            ok: true,
            command: "create",
            mode: "pages",
            archive: request.out.name(),
            archive_bytes: report.bytes,
            database: request.db.to_string_lossy(),
            database_bytes,
            page_size: report.page_size,
            database_pages: report.database_pages,
            pages: report.pages,
            level: request.writer.level,
            chunk_size: request.writer.chunk_size,
            elapsed_ms: millis(elapsed),
        },
    )
}

#[derive(Serialize)]
struct RestoreJson<'a> {
    ok: bool,
    command: &'static str,
    archive: Cow<'a, str>,
    database: Cow<'a, str>,
    database_bytes: u64,
    page_size: u32,
    database_pages: u32,
    pages: u64,
    elapsed_ms: u64,
}

/// `keepsake restore`.
pub fn restore(
    archive: &Archive,
    out: &Path,
    open_with: &super::keys::OpenWith,
    json: bool,
) -> Result<Report, Failure> {
    archive.check_readable()?;
    refuse_existing(
        out,
        "restore only writes a new database",
        "choose another --out; to add an archive's records to an existing database, use import",
    )?;
    let identities = open_with.identities()?;
    let started = Instant::now();
    let totals = archive.totals(&identities);
    let source = archive.stream()?;
    let report = with_progress_of(!json, "restoring the database", "pages", |progress| {
        keepsake_sqlite::restore_database_from(
            source,
            &identities,
            out,
            &RestoreOptions {
                progress: progress.clone(),
            },
            totals,
        )
    })
    .map_err(|error| {
        let records = matches!(
            archive.summary(&identities),
            Ok((summary, _)) if summary.metadata.mode == ArchiveMode::Records
        );
        let failure = library_failure(
            error,
            Direction::Reading,
            format!("cannot restore {archive} into {}", out.display()),
        );
        if records {
            failure.hint(format!(
                "this is a records archive: add its records to a database with `keepsake import {archive} --db DB`"
            ))
        } else {
            failure.hint(format!("nothing was written to {}", out.display()))
        }
    })?;
    let elapsed = started.elapsed();
    let human = format!(
        "restored {} into {} ({}) in {}\n  pages     {} of {} ({} bytes each), integrity check ok\n",
        archive,
        out.display(),
        bytes_human(report.bytes),
        duration_human(elapsed),
        report.pages,
        report.database_pages,
        report.page_size,
    );
    Report::new(
        human,
        &RestoreJson {
            ok: true,
            command: "restore",
            archive: archive.name(),
            database: out.to_string_lossy(),
            database_bytes: report.bytes,
            page_size: report.page_size,
            database_pages: report.database_pages,
            pages: report.pages,
            elapsed_ms: millis(elapsed),
        },
    )
}
