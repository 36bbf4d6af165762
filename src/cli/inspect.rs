//! `keepsake inspect` and `keepsake verify`: what an archive says it holds,
//! and whether all of it reads.

use std::borrow::Cow;
use std::time::Instant;

use serde::Serialize;

use keepsake::{ArchiveMode, ArchiveSummary, Identity, Limits, SignatureStatus};
use keepsake_sqlite::VerifyReport;

use super::exit::{Direction, Failure};
use super::location::{Archive, Fetched};
use super::progress_bar::with_progress;
use super::units::{TimeRange, bytes_human, duration_human, millis, rfc3339, time_human};
use super::{Counts, Report, Selection, library_failure, mode_name};

#[derive(Serialize)]
pub(crate) struct InspectJson<'a> {
    pub(crate) ok: bool,
    pub(crate) command: &'static str,
    pub(crate) archive: Cow<'a, str>,
    pub(crate) archive_bytes: u64,
    /// What reading the summary fetched of the archive.
    pub(crate) bytes_fetched: u64,
    pub(crate) format_version: u16,
    pub(crate) key_slots: usize,
    pub(crate) mode: &'static str,
    pub(crate) created_at_ns: i64,
    pub(crate) created_at: Option<String>,
    pub(crate) creator: &'a str,
    pub(crate) selection: Selection,
    pub(crate) counts: Option<Counts>,
    pub(crate) pages: Option<u64>,
    pub(crate) time_range: Option<TimeRange>,
    pub(crate) chunks: Option<u64>,
    pub(crate) plaintext_bytes: Option<u64>,
    /// The seek index's chunk number, when the trailer points to one.
    pub(crate) seek_index_chunk: Option<u64>,
    pub(crate) signature: &'static str,
    pub(crate) signature_scheme: u8,
    pub(crate) signer: Option<String>,
    /// The kind of key slot that opened the archive.
    pub(crate) opened_with: &'static str,
    /// Whether the writer is known: false for an archive opened with an
    /// X25519 identity unless a trusted signer was required and matched.
    pub(crate) sender_authenticated: bool,
    /// What the salvage record says, for an archive written by salvage.
    pub(crate) salvaged_from: Option<super::salvage::SalvagedFromJson>,
}

/// The signature status in words, for people.
pub(crate) fn signature_human(status: &SignatureStatus) -> String {
    status.describe()
}

/// What opened the archive, for people.
fn opened_human(opened_with: keepsake::OpenedWith) -> &'static str {
    match opened_with {
        keepsake::OpenedWith::RawKey => "a raw key",
        keepsake::OpenedWith::Passphrase => "a passphrase",
        keepsake::OpenedWith::X25519 => "an X25519 identity",
    }
}

/// Reads an archive's summary from a few ranged reads; shared with the demo.
pub(crate) fn summarize(
    archive: &Archive,
    identities: &[Identity],
    limits: Limits,
) -> Result<(ArchiveSummary, Fetched), Failure> {
    archive.summary(identities, limits)
}

/// `keepsake inspect`.
pub fn inspect(
    archive: &Archive,
    open_with: &super::keys::OpenWith,
    limits: Limits,
) -> Result<Report, Failure> {
    let identities = open_with.identities()?;
    let (summary, fetched) = summarize(archive, &identities, limits)?;
    let metadata = &summary.metadata;
    let selection = Selection::of(metadata);
    let trailer = summary.trailer.as_ref();
    let counts = trailer.map(Counts::from);
    let time_range = trailer.and_then(|trailer| trailer.time_range);
    let mut human = format!(
        "archive   {}: {}, format version {}, {} key slot{}\n\
         created   {} by {}\n\
         selected  {}\n",
        archive,
        bytes_human(summary.archive_bytes),
        summary.format_version,
        summary.key_slots,
        if summary.key_slots == 1 { "" } else { "s" },
        time_human(metadata.created_at_ns),
        metadata.creator,
        match metadata.mode {
            ArchiveMode::Pages => "the whole database, as SQLite pages".to_owned(),
            ArchiveMode::Records => selection.human(),
        },
    );
    if let Some(trailer) = trailer
        && metadata.mode == ArchiveMode::Pages
    {
        human.push_str(&format!(
            "pages     {} SQLite pages of a whole-database snapshot (rebuild with `keepsake restore`)\nchunks    {} ({} before compression)\n",
            trailer.pages,
            trailer.chunk_count + 1,
            bytes_human(trailer.plaintext_bytes),
        ));
    } else if let Some(trailer) = trailer {
        human.push_str(&format!(
            "records   {}\nmessages  {}\nchunks    {} ({} before compression)\n",
            Counts::from(trailer).human(),
            TimeRange::human(trailer.time_range),
            trailer.chunk_count + 1,
            bytes_human(trailer.plaintext_bytes),
        ));
        human.push_str(&if trailer.index_chunk == 0 {
            "index     none (a partial import reads the whole archive)\n".to_owned()
        } else {
            format!(
                "index     seek index in chunk {} at byte {}\n",
                trailer.index_chunk, trailer.index_offset
            )
        });
    }
    let opened_with = summary.opened.opened_with();
    let sender_authenticated = super::keys::check_sender(opened_with, &summary.signature, None);
    human.push_str(&format!(
        "signature {}\nopened    with {}{}\n",
        signature_human(&summary.signature),
        opened_human(opened_with),
        if sender_authenticated {
            ""
        } else {
            "; the writer is not authenticated"
        },
    ));
    let (salvage_human, salvaged_from) =
        super::salvage::salvaged_from(summary.salvage.as_ref().map(Option::as_ref));
    human.push_str(&salvage_human);
    human.push_str(&format!(
        "(read from the header and the final chunk: {}; `keepsake verify` checks every chunk)\n",
        fetched.human()
    ));
    Report::new(
        human,
        &InspectJson {
            ok: true,
            command: "inspect",
            archive: archive.name(),
            archive_bytes: summary.archive_bytes,
            bytes_fetched: fetched.bytes,
            format_version: summary.format_version,
            key_slots: summary.key_slots,
            mode: mode_name(metadata.mode),
            created_at_ns: metadata.created_at_ns,
            created_at: rfc3339(metadata.created_at_ns),
            creator: &metadata.creator,
            selection,
            counts,
            pages: trailer.map(|trailer| trailer.pages),
            time_range: TimeRange::new(time_range),
            chunks: trailer.map(|trailer| trailer.chunk_count + 1),
            seek_index_chunk: trailer
                .map(|trailer| trailer.index_chunk)
                .filter(|&chunk| chunk != 0),
            plaintext_bytes: trailer.map(|trailer| trailer.plaintext_bytes),
            signature: summary.signature.word(),
            signature_scheme: summary.signature.scheme(),
            signer: summary.signature.signer().map(|signer| signer.to_string()),
            opened_with: opened_with.word(),
            sender_authenticated,
            salvaged_from,
        },
    )
}

#[derive(Serialize)]
pub(crate) struct VerifyJson<'a> {
    pub(crate) ok: bool,
    pub(crate) command: &'static str,
    pub(crate) archive: Cow<'a, str>,
    pub(crate) archive_bytes: u64,
    pub(crate) chunks: u64,
    pub(crate) plaintext_bytes: u64,
    pub(crate) mode: &'static str,
    pub(crate) created_at_ns: i64,
    pub(crate) created_at: Option<String>,
    pub(crate) creator: &'a str,
    pub(crate) selection: Selection,
    pub(crate) counts: Counts,
    pub(crate) pages: u64,
    pub(crate) time_range: Option<TimeRange>,
    pub(crate) signature: &'static str,
    pub(crate) signature_scheme: u8,
    pub(crate) signer: Option<String>,
    pub(crate) opened_with: &'static str,
    pub(crate) sender_authenticated: bool,
    pub(crate) salvaged_from: Option<super::salvage::SalvagedFromJson>,
    pub(crate) elapsed_ms: u64,
}

/// Decodes a whole archive as it is read or downloaded; shared with the demo.
pub(crate) fn verify_archive(
    archive: &Archive,
    identities: &[Identity],
    limits: Limits,
    show: bool,
) -> Result<VerifyReport, Failure> {
    let failure = |error| {
        library_failure(
            error,
            Direction::Reading,
            format!("cannot verify {archive}"),
        )
    };
    let (totals, identities) = archive.open_once(identities, limits, failure)?;
    let source = archive.stream()?;
    with_progress(show, "verifying the archive", |progress| {
        keepsake_sqlite::verify_archive_from(source, &identities, limits, progress, totals)
    })
    .map_err(failure)
}

/// `keepsake verify`.
pub fn verify(
    archive: &Archive,
    open_with: &super::keys::OpenWith,
    limits: Limits,
    trusted_signer: Option<&str>,
    json: bool,
) -> Result<Report, Failure> {
    let trusted = trusted_signer.map(super::keys::parse_signer).transpose()?;
    let identities = open_with.identities()?;
    let started = Instant::now();
    let report = verify_archive(archive, &identities, limits, !json)?;
    let elapsed = started.elapsed();
    if let Some(trusted) = &trusted {
        keepsake::crypto::signature::require_signer(&report.signature, trusted).map_err(
            |error| library_failure(error, Direction::Reading, String::new()).context(archive),
        )?;
    }
    let counts = Counts::from(&report.trailer);
    let sender_authenticated =
        super::keys::check_sender(report.opened_with, &report.signature, trusted.as_ref());
    let mut human = format!(
        "{} is intact: {} chunks ({}) authenticated in {}\n  signature {}\n  opened    with {}{}\n",
        archive,
        report.chunks,
        bytes_human(report.bytes),
        duration_human(elapsed),
        signature_human(&report.signature),
        opened_human(report.opened_with),
        if sender_authenticated {
            ""
        } else {
            "; the writer is not authenticated"
        },
    );
    let (salvage_human, salvaged_from) =
        super::salvage::salvaged_from(report.salvage.as_ref().map(Option::as_ref));
    for line in salvage_human.lines() {
        human.push_str(&format!("  {line}\n"));
    }
    if report.metadata.mode == ArchiveMode::Pages {
        human.push_str(&format!(
            "  pages     {} SQLite pages of a whole-database snapshot\n",
            report.trailer.pages
        ));
    } else {
        human.push_str(&format!(
            "  records   {}\n  messages  {}\n",
            counts.human(),
            TimeRange::human(report.trailer.time_range),
        ));
    }
    Report::new(
        human,
        &VerifyJson {
            ok: true,
            command: "verify",
            archive: archive.name(),
            archive_bytes: report.bytes,
            chunks: report.chunks,
            plaintext_bytes: report.trailer.plaintext_bytes,
            mode: mode_name(report.metadata.mode),
            created_at_ns: report.metadata.created_at_ns,
            created_at: rfc3339(report.metadata.created_at_ns),
            creator: &report.metadata.creator,
            selection: Selection::of(&report.metadata),
            counts,
            pages: report.trailer.pages,
            time_range: TimeRange::new(report.trailer.time_range),
            signature: report.signature.word(),
            signature_scheme: report.signature.scheme(),
            signer: report.signature.signer().map(|signer| signer.to_string()),
            opened_with: report.opened_with.word(),
            sender_authenticated,
            salvaged_from,
            elapsed_ms: millis(elapsed),
        },
    )
}
