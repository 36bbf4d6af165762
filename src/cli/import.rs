//! `keepsake import`: the whole archive or part of it, into a database.

use std::borrow::Cow;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use keepsake::crypto::signature::Signer;
use keepsake::{Identity, Limits};
use keepsake_sqlite::{ImportOptions, ImportReport};

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
    pub(crate) left_out: LeftOut,
    pub(crate) signature: &'static str,
    pub(crate) signer: Option<String>,
    /// Whether the writer is known (spec §11.3).
    pub(crate) sender_authenticated: bool,
    pub(crate) elapsed_ms: u64,
}

/// What an import left out to protect what the database already holds.
#[derive(Serialize)]
pub(crate) struct LeftOut {
    /// Messages of conversations the database has and that are active.
    pub(crate) active_conversation_messages: u64,
    /// Consent records dated more than 24 hours after this machine's clock.
    pub(crate) future_consent: u64,
}

impl<'a> ImportJson<'a> {
    fn of(
        archive: &'a Archive,
        db: &'a Path,
        report: &ImportReport,
        sender_authenticated: bool,
        elapsed: std::time::Duration,
    ) -> Self {
        let (inserted, skipped) = import_counts(report);
        ImportJson {
            ok: true,
            command: "import",
            archive: archive.name(),
            database: db.to_string_lossy(),
            inserted,
            skipped,
            left_out: LeftOut::from(report),
            signature: report.signature.word(),
            signer: report.signature.signer().map(|signer| signer.to_string()),
            sender_authenticated,
            elapsed_ms: millis(elapsed),
        }
    }
}

impl From<&ImportReport> for LeftOut {
    fn from(report: &ImportReport) -> Self {
        LeftOut {
            active_conversation_messages: report.active_conversation_messages,
            future_consent: report.future_consent,
        }
    }
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
    trusted_signer: Option<Signer>,
    limits: Limits,
    show: bool,
) -> Result<ImportReport, Failure> {
    let (totals, identities) = archive.open_once(identities, limits, |error| {
        import_failure(error, archive, db)
    })?;
    let source = archive.stream()?;
    with_progress(show, "importing the archive", |progress| {
        let options = ImportOptions {
            progress: progress.clone(),
            trusted_signer,
            limits,
        };
        keepsake_sqlite::import_archive_from(source, &identities, db, &options, totals)
    })
    .map_err(|error| import_failure(error, archive, db))
}

/// A partial import's JSON: a whole import's, and how the chunks were found.
#[derive(Serialize)]
pub(crate) struct PartialImportJson<'a> {
    #[serde(flatten)]
    pub(crate) import: ImportJson<'a>,
    pub(crate) used_index: bool,
    pub(crate) chunks_decrypted: u64,
    pub(crate) chunks_total: u64,
    pub(crate) archive_bytes: u64,
    /// What the ranged reads fetched of the archive.
    pub(crate) bytes_fetched: u64,
}

/// `keepsake import`: the whole archive, or the part `selection` takes.
pub fn import(
    archive: &Archive,
    db: &Path,
    open_with: &super::keys::OpenWith,
    selection: &keepsake::Selection,
    trusted_signer: Option<&str>,
    limits: Limits,
    json: bool,
) -> Result<Report, Failure> {
    let trusted = trusted_signer.map(super::keys::parse_signer).transpose()?;
    let identities = open_with.identities()?;
    if selection.is_everything() {
        return import_all(archive, db, &identities, trusted, limits, json);
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
        let options = ImportOptions {
            progress: progress.clone(),
            trusted_signer: trusted,
            limits,
        };
        keepsake_sqlite::import_selected_from(&mut source, &identities, db, selection, &options)
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
    human.push_str(&left_out_human(&report.import));
    let sender_authenticated = signature_line(&report.import, trusted.as_ref(), &mut human);
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
            import: ImportJson::of(archive, db, &report.import, sender_authenticated, elapsed),
            used_index: report.seek.used_index,
            chunks_decrypted: report.seek.chunks_decrypted,
            chunks_total: report.seek.chunks_total,
            archive_bytes: fetched.archive_bytes,
            bytes_fetched: fetched.bytes,
        },
    )
}

/// Adds the signature line of an import's summary, warning on stderr when
/// the writer is not authenticated (spec §11.3) by the key slot that opened
/// the archive or by the `trusted` signer the import required; says whether
/// it is.
fn signature_line(report: &ImportReport, trusted: Option<&Signer>, human: &mut String) -> bool {
    let sender_authenticated = report.opened_with.is_none_or(|opened_with| {
        super::keys::check_sender(opened_with, &report.signature, trusted)
    });
    human.push_str(&format!(
        "signature {}{}\n",
        report.signature.describe(),
        if sender_authenticated {
            ""
        } else {
            "; the writer is not authenticated"
        }
    ));
    sender_authenticated
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

/// The lines saying what an import left out to protect the database's own
/// conversations and consent; none when it left out nothing.
pub(crate) fn left_out_human(report: &ImportReport) -> String {
    let mut human = String::new();
    if report.active_conversation_messages > 0 {
        human.push_str(&format!(
            "left out {} messages of conversations this database already has and uses (an import never adds to those)\n",
            report.active_conversation_messages
        ));
    }
    if report.future_consent > 0 {
        human.push_str(&format!(
            "left out {} consent records dated more than 24 hours in the future\n",
            report.future_consent
        ));
    }
    human
}

/// `keepsake import` of a whole archive.
pub(crate) fn import_all(
    archive: &Archive,
    db: &Path,
    identities: &[Identity],
    trusted_signer: Option<Signer>,
    limits: Limits,
    json: bool,
) -> Result<Report, Failure> {
    let started = Instant::now();
    let report = import_archive(archive, db, identities, trusted_signer, limits, !json)?;
    let elapsed = started.elapsed();
    let (inserted, skipped) = import_counts(&report);
    let mut human = format!(
        "imported {} into {} in {}\n",
        archive,
        db.display(),
        duration_human(elapsed)
    );
    human.push_str(&import_table(inserted, skipped));
    human.push_str(&left_out_human(&report));
    if inserted.total() == 0 && skipped.total() > 0 {
        human.push_str("(everything was already in the database)\n");
    }
    let sender_authenticated = signature_line(&report, trusted_signer.as_ref(), &mut human);
    Report::new(
        human,
        &ImportJson::of(archive, db, &report, sender_authenticated, elapsed),
    )
}
