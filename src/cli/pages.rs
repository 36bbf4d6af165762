//! `keepsake create --mode pages` and `keepsake restore`: whole-database
//! snapshots as SQLite pages, and the database rebuilt from one.

use std::borrow::Cow;
use std::path::PathBuf;
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
    check: &'static str,
    removed_triggers: &'a [String],
    removed_views: &'a [String],
    signature: &'static str,
    signer: Option<String>,
    /// Whether the writer is known (spec §11.3).
    sender_authenticated: bool,
    elapsed_ms: u64,
}

/// What `keepsake restore` was asked to do.
#[derive(Debug)]
pub struct RestoreRequest {
    pub archive: Archive,
    pub out: PathBuf,
    pub open_with: super::keys::OpenWith,
    pub trusted_signer: Option<String>,
    pub keep_triggers_and_views: bool,
    pub full_check: bool,
    pub limits: keepsake::Limits,
    pub json: bool,
}

/// `keepsake restore`.
pub fn restore(request: &RestoreRequest) -> Result<Report, Failure> {
    let RestoreRequest {
        archive,
        out,
        open_with,
        json,
        ..
    } = request;
    let (out, json) = (out.as_path(), *json);
    archive.check_readable()?;
    refuse_existing(
        out,
        "restore only writes a new database",
        "choose another --out; to add an archive's records to an existing database, use import",
    )?;
    let trusted_signer = request
        .trusted_signer
        .as_deref()
        .map(super::keys::parse_signer)
        .transpose()?;
    let identities = open_with.identities()?;
    let started = Instant::now();
    let (totals, identities) = archive.open_once(&identities, request.limits, |error| {
        library_failure(
            error,
            Direction::Reading,
            format!("cannot restore {archive} into {}", out.display()),
        )
        .hint(format!("nothing was written to {}", out.display()))
    })?;
    let source = archive.stream()?;
    let report = with_progress_of(!json, "restoring the database", "pages", |progress| {
        keepsake_sqlite::restore_database_from(
            source,
            &identities,
            out,
            &RestoreOptions {
                progress: progress.clone(),
                trusted_signer,
                keep_triggers_and_views: request.keep_triggers_and_views,
                full_check: request.full_check,
                limits: request.limits,
            },
            totals,
        )
    })
    .map_err(|error| {
        // Only a mode mismatch is worth a second look at the header.
        let records = matches!(error, keepsake::Error::InvalidInput { .. })
            && matches!(
                archive.summary(&identities, request.limits),
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
    let sender_authenticated = super::keys::check_sender(
        report.opened_with,
        &report.signature,
        trusted_signer.as_ref(),
    );
    let check = if request.full_check {
        "integrity_check"
    } else {
        "quick_check"
    };
    let mut human = format!(
        "restored {} into {} ({}) in {}\n  pages     {} of {} ({} bytes each), SQLite's {check} ok\n  signature {}{}\n",
        archive,
        out.display(),
        bytes_human(report.bytes),
        duration_human(elapsed),
        report.pages,
        report.database_pages,
        report.page_size,
        report.signature.describe(),
        if sender_authenticated {
            ""
        } else {
            "; the writer is not authenticated"
        },
    );
    for (what, names) in [
        ("triggers", &report.removed_triggers),
        ("views", &report.removed_views),
    ] {
        if !names.is_empty() {
            human.push_str(&format!(
                "  removed   {} {what} the archive's database had: {} (--keep-triggers-and-views keeps them)\n",
                names.len(),
                names.join(", ")
            ));
        }
    }
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
            check,
            removed_triggers: &report.removed_triggers,
            removed_views: &report.removed_views,
            signature: report.signature.word(),
            signer: report.signature.signer().map(|signer| signer.to_string()),
            sender_authenticated,
            elapsed_ms: millis(elapsed),
        },
    )
}
