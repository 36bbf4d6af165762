//! `keepsake import`: the whole archive or part of it, into a database.

use std::borrow::Cow;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use keepsake::Identity;
use keepsake_sqlite::ImportReport;

use super::exit::{Direction, Failure};
use super::location::{Archive, Fetched};
use super::progress_bar::with_progress;
use super::units::{duration_human, millis};
use super::{Counts, Report, import_counts, library_failure};

#[derive(Serialize)]
pub(crate) struct ImportJson<'a> {
    pub(crate) ok: bool,
    pub(crate) command: &'static str,
    pub(crate) archive: Cow<'a, str>,
    pub(crate) database: Cow<'a, str>,
    pub(crate) inserted: Counts,
    pub(crate) skipped: Counts,
    pub(crate) elapsed_ms: u64,
}

/// An import's failure, with what was being done and the all-or-nothing hint.
pub(crate) fn import_failure(error: keepsake::Error, archive: &Archive, db: &Path) -> Failure {
    library_failure(
        error,
        Direction::Reading,
        format!("cannot import {archive} into {}", db.display()),
    )
    .hint(format!(
        "nothing was imported into {}: an import is all or nothing",
        db.display()
    ))
}

/// Imports an archive as it is read or downloaded; shared with the demo.
pub(crate) fn import_archive(
    archive: &Archive,
    db: &Path,
    identities: &[Identity],
    show: bool,
) -> Result<ImportReport, Failure> {
    let totals = archive.totals(identities);
    let source = archive.stream()?;
    with_progress(show, "importing the archive", |progress| {
        keepsake_sqlite::import_archive_from(source, identities, db, progress, totals)
    })
    .map_err(|error| import_failure(error, archive, db))
}

#[derive(Serialize)]
pub(crate) struct PartialImportJson<'a> {
    pub(crate) ok: bool,
    pub(crate) command: &'static str,
    pub(crate) archive: Cow<'a, str>,
    pub(crate) database: Cow<'a, str>,
    pub(crate) inserted: Counts,
    pub(crate) skipped: Counts,
    pub(crate) used_index: bool,
    pub(crate) chunks_decrypted: u64,
    pub(crate) chunks_total: u64,
    pub(crate) archive_bytes: u64,
    /// What the ranged reads fetched of the archive.
    pub(crate) bytes_fetched: u64,
    pub(crate) elapsed_ms: u64,
}

/// `keepsake import`: the whole archive, or the part `selection` takes.
pub fn import(
    archive: &Archive,
    db: &Path,
    open_with: &super::keys::OpenWith,
    selection: &keepsake::Selection,
    json: bool,
) -> Result<Report, Failure> {
    let identities = open_with.identities()?;
    if selection.is_everything() {
        return import_all(archive, db, &identities, json);
    }
    if let (Some(since), Some(until)) = (selection.since, selection.until)
        && since >= until
    {
        return Err(Failure::usage(
            "--since must be earlier than --until: --since is inclusive and --until exclusive",
        ));
    }
    let mut source = archive.ranged()?;
    let started = Instant::now();
    let report = with_progress(!json, "importing part of the archive", |progress| {
        keepsake_sqlite::import_selected_from(&mut source, &identities, db, selection, progress)
    })
    .map_err(|error| import_failure(error, archive, db))?;
    let elapsed = started.elapsed();
    let fetched = Fetched::of(&mut source);
    let (inserted, skipped) = import_counts(&report.import);
    let mut human = format!(
        "imported part of {} into {} in {}\n",
        archive,
        db.display(),
        duration_human(elapsed)
    );
    human.push_str(&import_table(inserted, skipped));
    if report.seek.used_index {
        human.push_str(&format!(
            "decrypted {} of {} chunks, found through the archive's seek index\n",
            report.seek.chunks_decrypted, report.seek.chunks_total
        ));
    } else {
        human.push_str(&format!(
            "the archive has no seek index: read and verified all {} chunks, then filtered\n",
            report.seek.chunks_total
        ));
    }
    human.push_str(&format!("{}\n", fetched.human()));
    Report::new(
        human,
        &PartialImportJson {
            ok: true,
            command: "import",
            archive: archive.name(),
            database: db.to_string_lossy(),
            inserted,
            skipped,
            used_index: report.seek.used_index,
            chunks_decrypted: report.seek.chunks_decrypted,
            chunks_total: report.seek.chunks_total,
            archive_bytes: fetched.archive_bytes,
            bytes_fetched: fetched.bytes,
            elapsed_ms: millis(elapsed),
        },
    )
}

/// The inserted / skipped table of an import's summary.
pub(crate) fn import_table(inserted: Counts, skipped: Counts) -> String {
    let mut human = "                 inserted   skipped\n".to_owned();
    for (name, inserted, skipped) in [
        (
            "conversations",
            inserted.conversations,
            skipped.conversations,
        ),
        ("messages", inserted.messages, skipped.messages),
        ("consent", inserted.consent, skipped.consent),
    ] {
        human.push_str(&format!("  {name:<13} {inserted:>10} {skipped:>9}\n"));
    }
    human
}

/// `keepsake import` of a whole archive.
pub(crate) fn import_all(
    archive: &Archive,
    db: &Path,
    identities: &[Identity],
    json: bool,
) -> Result<Report, Failure> {
    let started = Instant::now();
    let report = import_archive(archive, db, identities, !json)?;
    let elapsed = started.elapsed();
    let (inserted, skipped) = import_counts(&report);
    let mut human = format!(
        "imported {} into {} in {}\n",
        archive,
        db.display(),
        duration_human(elapsed)
    );
    human.push_str(&import_table(inserted, skipped));
    if inserted.total() == 0 && skipped.total() > 0 {
        human.push_str("(everything was already in the database)\n");
    }
    Report::new(
        human,
        &ImportJson {
            ok: true,
            command: "import",
            archive: archive.name(),
            database: db.to_string_lossy(),
            inserted,
            skipped,
            elapsed_ms: millis(elapsed),
        },
    )
}
