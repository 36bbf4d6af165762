//! Reading archives into the reference schema: the cheap summary, a full
//! verification, and atomic, additive imports of a whole archive or of part
//! of it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use keepsake::body::records::{ArchiveMetadata, ArchiveMode, Record};
use keepsake::body::salvage_record::SalvageRecord;
use keepsake::crypto::signature::{SignatureStatus, Signer, require_signer};
use keepsake::crypto::{Identity, OpenedWith};
use keepsake::error::{Error, Limit, Result};
use keepsake::format::Trailer;
use keepsake::limits::Limits;
use keepsake::progress::{Phase, Progress, Tracker};
use keepsake::seek::select::{Filter, Selection};
use keepsake::seek::{SeekReport, SeekableArchive};
use keepsake::stream::reader::{ArchiveReader, ArchiveSummary, read_summary};

mod records;
mod target;

pub use records::CONSENT_CLOCK_SKEW_NS;
use target::import_into;

/// Reads an archive's header, metadata and trailer without decoding its
/// body: cheap whatever the archive's size. A damaged body goes unnoticed;
/// [`verify_archive`] finds it.
pub fn archive_metadata(archive: &Path, identities: &[Identity]) -> Result<ArchiveSummary> {
    archive_metadata_with(archive, identities, Limits::default())
}

/// As [`archive_metadata`], accepting what `limits` accept (for archives
/// whose chunks are larger than default readers read).
pub fn archive_metadata_with(
    archive: &Path,
    identities: &[Identity],
    limits: Limits,
) -> Result<ArchiveSummary> {
    read_summary(File::open(archive)?, identities, limits)
}

/// What [`verify_archive`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// The archive's length in bytes.
    pub bytes: u64,
    /// How many chunks it holds, the metadata chunk and the final one included.
    pub chunks: u64,
    /// The trailer, checked against everything read.
    pub trailer: Trailer,
    /// The metadata chunk.
    pub metadata: ArchiveMetadata,
    /// What the trailer's signature block says; a bad signature does not
    /// fail verification here (spec §6.6.3).
    pub signature: SignatureStatus,
    /// The kind of key slot that opened the archive: with the signature, it
    /// tells whether the writer is known (spec §11.3,
    /// [`sender_authenticated`](keepsake::crypto::signature::sender_authenticated)).
    pub opened_with: OpenedWith,
    /// The salvage record, when the archive is a salvage's output (spec
    /// §6.7): `Some(None)` when it does not decode.
    pub salvage: Option<Option<SalvageRecord>>,
}

/// Reads and authenticates a whole archive, as an import would, and writes
/// nothing: `Ok` means an import of it would find no damage.
pub fn verify_archive(archive: &Path, identities: &[Identity]) -> Result<VerifyReport> {
    verify_archive_with(archive, identities, Limits::default(), &Progress::default())
}

/// As [`verify_archive`], under `limits`, reporting to `progress` and
/// stopping with [`Error::Cancelled`] when it is cancelled.
pub fn verify_archive_with(
    archive: &Path,
    identities: &[Identity],
    limits: Limits,
    progress: &Progress,
) -> Result<VerifyReport> {
    let (totals, identities) = open_once(archive, identities, limits)?;
    verify_archive_from(File::open(archive)?, &identities, limits, progress, totals)
}

/// As [`verify_archive_with`], from any byte stream (a download, a pipe),
/// reporting progress against `totals` when the caller knows them.
pub fn verify_archive_from(
    source: impl Read,
    identities: &[Identity],
    limits: Limits,
    progress: &Progress,
    totals: ReadTotals,
) -> Result<VerifyReport> {
    let mut tracker = totals.tracker(progress, Phase::Verify);
    // Checks every record as an import would, without building them.
    let mut reader = ArchiveReader::checking_only(source, identities, limits)?;
    // Records, or pages in a pages archive.
    let mut records = 0;
    while let Some(checked) = reader.check_next()? {
        records += checked;
        tracker.update(reader.bytes_read(), records, reader.chunks_read())?;
    }
    tracker.update(reader.bytes_read(), records, reader.chunks_read())?;
    tracker.finish();
    let trailer = reader
        .trailer()
        .cloned()
        .ok_or_else(|| Error::invalid("the reader ended without a trailer"))?;
    let signature = reader.header().signature_status(&trailer);
    Ok(VerifyReport {
        bytes: reader.bytes_read(),
        chunks: reader.chunks_read(),
        signature,
        opened_with: reader.header().opened.opened_with(),
        salvage: reader.salvage_record().map(|record| record.cloned()),
        trailer,
        metadata: reader.metadata().clone(),
    })
}

/// What a reader knows of an archive before reading it through, for the
/// totals its progress events report against: from the archive's summary
/// ([`ReadTotals::of`]), or nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadTotals {
    /// The archive's length in bytes.
    pub bytes: Option<u64>,
    /// Its records (or, in a pages archive, pages), from its trailer.
    pub records: Option<u64>,
}

impl ReadTotals {
    /// The totals a summary (header, metadata and trailer) gives.
    pub fn of(summary: &ArchiveSummary) -> Self {
        ReadTotals {
            bytes: Some(summary.archive_bytes),
            records: summary.trailer.as_ref().map(|trailer| {
                trailer.conversations + trailer.messages + trailer.consent + trailer.pages
            }),
        }
    }

    fn tracker(self, progress: &Progress, phase: Phase) -> Tracker {
        let mut tracker = progress.track(phase);
        tracker.set_totals(self.bytes, self.records);
        tracker
    }
}

/// Opens the archive file at `archive` once, through its summary: see
/// [`plan_full_read`].
pub(crate) fn open_once(
    archive: &Path,
    identities: &[Identity],
    limits: Limits,
) -> Result<(ReadTotals, Vec<Identity>)> {
    plan_full_read(
        archive_metadata_with(archive, identities, limits),
        identities,
    )
}

/// What a full read of an archive needs once its summary has been read (or
/// has failed): the totals its progress reports against, and the identities
/// to open it with. Once the summary has opened the header, the full read
/// opens it with the recovered file key, so a passphrase archive costs one
/// Argon2id run per slot tried and command (spec §4.5.1). An error from the
/// key slots is returned at once: the full read would only repeat the work
/// to meet it again. Damage past the header leaves the totals unknown and
/// the full read to find and report it exactly.
pub fn plan_full_read(
    summary: Result<ArchiveSummary>,
    identities: &[Identity],
) -> Result<(ReadTotals, Vec<Identity>)> {
    match summary {
        Ok(summary) => Ok((
            ReadTotals::of(&summary),
            vec![Identity::Opened(summary.opened.clone())],
        )),
        Err(error @ (Error::WrongKey | Error::NoSupportedSlot | Error::HeaderCorrupt { .. })) => {
            Err(error)
        }
        Err(
            error @ Error::LimitExceeded {
                what:
                    Limit::Argon2Memory
                    | Limit::Argon2Passes
                    | Limit::Argon2Lanes
                    | Limit::PassphraseSlots,
                ..
            },
        ) => Err(error),
        Err(_) => Ok((ReadTotals::default(), identities.to_vec())),
    }
}

/// How many records of one kind an import added and left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindCounts {
    /// Records written to the database (for consent, new or replacing an older decision).
    pub inserted: u64,
    /// Records left out because the database already had them (or, for
    /// consent, a decision at least as recent).
    pub skipped: u64,
}

/// What [`import_archive`] did, per kind of record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Conversations.
    pub conversations: KindCounts,
    /// Messages.
    pub messages: KindCounts,
    /// Consent records.
    pub consent: KindCounts,
    /// What the trailer's signature block says (spec §6.6.3).
    pub signature: SignatureStatus,
    /// The kind of key slot that opened the archive (spec §11.3); `None`
    /// only in a report built by hand.
    pub opened_with: Option<OpenedWith>,
    /// Messages left out because their conversation was already in the
    /// database and active: an import adds messages only to conversations
    /// it created (now or in an earlier import), never to the application's
    /// own. Not counted in `messages`.
    pub active_conversation_messages: u64,
    /// Consent records left out because they are dated more than
    /// [`CONSENT_CLOCK_SKEW_NS`] (24 hours) after this machine's clock: the
    /// newer decision wins, so one dated in the future would override the
    /// user's own until then. Not counted in `consent`.
    pub future_consent: u64,
}

impl ImportReport {
    /// Counts `record` as inserted or skipped.
    pub(crate) fn count(&mut self, record: &Record, inserted: bool) {
        let counts = match record {
            Record::Conversation(_) => &mut self.conversations,
            Record::Message(_) => &mut self.messages,
            Record::Consent(_) => &mut self.consent,
        };
        if inserted {
            counts.inserted += 1;
        } else {
            counts.skipped += 1;
        }
    }
}

/// How an import reports, and what it requires of the archive.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Where progress goes, and how the caller cancels.
    pub progress: Progress,
    /// When set, the archive must be intact and validly signed by this
    /// signer (spec §6.6.3), or nothing is imported and the import fails with
    /// [`Error::UntrustedSignature`]. It is checked once the whole archive
    /// has been read, before the transaction commits.
    pub trusted_signer: Option<Signer>,
    /// What the reader accepts from the archive (spec §9).
    pub limits: Limits,
}

/// Imports an archive into the database at `db` (created, with
/// [`REFERENCE_SCHEMA`](crate::REFERENCE_SCHEMA), if needed), all or nothing.
///
/// The import is additive: conversations and messages already in the
/// database are never changed. A message whose id exists is skipped; a
/// conversation that exists is skipped, and one that does not is created
/// inactive (read-only, see [`is_active`](crate::is_active)); a consent
/// record replaces the database's only when it is strictly newer. An import
/// never changes a conversation it did not create: messages of a
/// conversation the database has and that is active are left out, and so
/// are consent records dated far in the future (see [`ImportReport`]).
///
/// Changes are committed only once the whole archive, trailer included, has
/// been authenticated; on any error, or if the process is killed, an
/// existing database is left exactly as it was. A new database is built
/// under a temporary name beside `db`, readable by its owner only, and
/// renamed to `db` only when complete: until then nothing is under that name.
pub fn import_archive(archive: &Path, identities: &[Identity], db: &Path) -> Result<ImportReport> {
    import_archive_with(archive, identities, db, &ImportOptions::default())
}

/// As [`import_archive`], reporting to `options.progress` (when it is
/// cancelled the import stops with [`Error::Cancelled`] and the database is
/// left as it was) and requiring `options.trusted_signer`'s signature if set.
pub fn import_archive_with(
    archive: &Path,
    identities: &[Identity],
    db: &Path,
    options: &ImportOptions,
) -> Result<ImportReport> {
    let (totals, identities) = open_once(archive, identities, options.limits)?;
    import_archive_from(File::open(archive)?, &identities, db, options, totals)
}

/// As [`import_archive_with`], from any byte stream (a download, a pipe),
/// reporting progress against `totals` when the caller knows them. The
/// guarantees are the same: nothing is committed until the whole stream,
/// trailer included, has authenticated, so a stream that fails half way (a
/// dropped connection) leaves the database exactly as it was.
pub fn import_archive_from(
    source: impl Read,
    identities: &[Identity],
    db: &Path,
    options: &ImportOptions,
    totals: ReadTotals,
) -> Result<ImportReport> {
    let mut tracker = totals.tracker(&options.progress, Phase::Import);
    // A wrong key or a damaged header fails here, before the database is touched.
    let mut reader = ArchiveReader::new(source, identities, options.limits)?;
    if reader.metadata().mode != ArchiveMode::Records {
        return Err(Error::invalid(
            "this archive holds database pages, not records; it cannot be imported row by row: rebuild the database from it with restore",
        ));
    }
    let mut report = import_into(db, &mut |importer| {
        let mut records = 0;
        while let Some(batch) = reader.next_batch()? {
            for record in &batch {
                importer.add(record)?;
            }
            records += batch.len() as u64;
            tracker.update(reader.bytes_read(), records, reader.chunks_read())?;
        }
        check_signer(options, &reader)?;
        // The last chance to cancel: after the commit the rows are there.
        tracker.update(reader.bytes_read(), records, reader.chunks_read())
    })?;
    tracker.finish();
    if let Some(trailer) = reader.trailer() {
        report.signature = reader.header().signature_status(trailer);
    }
    report.opened_with = Some(reader.header().opened.opened_with());
    Ok(report)
}

/// Fails unless the archive `reader` has read to its end is validly signed
/// by the trusted signer, if `options` names one.
fn check_signer<R: Read>(options: &ImportOptions, reader: &ArchiveReader<R>) -> Result<()> {
    let Some(trusted) = &options.trusted_signer else {
        return Ok(());
    };
    let trailer = reader
        .trailer()
        .ok_or_else(|| Error::invalid("the reader ended without a trailer"))?;
    require_signer(&reader.header().signature_status(trailer), trusted)
}

/// What [`import_selected`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartialImportReport {
    /// The records imported and skipped.
    pub import: ImportReport,
    /// How the chunks were chosen and how many were decrypted. Without a seek
    /// index (`used_index` false) every chunk was read and the whole archive
    /// verified, trailer included.
    pub seek: SeekReport,
}

/// Imports the part of an archive that `selection` takes (see
/// [`Selection`] for the rules) into `db`, with the guarantees of
/// [`import_archive`]: one transaction, additive, all or nothing.
///
/// With a seek index, only the record batches the index points to are
/// read; each is authenticated and checked against its entry, but the
/// chunks not read are not, so the trailer is not checked against the
/// content. Without one (an archive written without it), or when
/// `options.trusted_signer` asks for a signature, which covers the whole
/// content, the whole archive is read and verified and the records
/// filtered; the report says which.
pub fn import_selected(
    archive: &Path,
    identities: &[Identity],
    db: &Path,
    selection: &Selection,
    options: &ImportOptions,
) -> Result<PartialImportReport> {
    import_selected_from(File::open(archive)?, identities, db, selection, options)
}

/// As [`import_selected`], from any seekable source: a file, or a
/// [`keepsake::RangeReader`] over storage that serves byte ranges, which
/// then fetches only the header, the metadata, the trailer, the seek index
/// and the chunks the selection needs.
pub fn import_selected_from<S: Read + Seek>(
    mut source: S,
    identities: &[Identity],
    db: &Path,
    selection: &Selection,
    options: &ImportOptions,
) -> Result<PartialImportReport> {
    let mut tracker = options.progress.track(Phase::Import);
    let mut seekable = SeekableArchive::open(&mut source, identities, options.limits)?;
    if seekable.metadata().mode != ArchiveMode::Records {
        return Err(Error::invalid(
            "this archive holds database pages, not records; it cannot be imported row by row",
        ));
    }
    // A read through the index checks no trailer against the chunks, but the
    // trailer itself is authentic: its signature block says what it says.
    let signature = seekable.header().signature_status(seekable.trailer());
    let opened_with = Some(seekable.header().opened.opened_with());
    if seekable.index().is_some() && options.trusted_signer.is_none() {
        let mut seek = SeekReport::default();
        let mut import = import_into(db, &mut |importer| {
            let mut records = 0;
            seek = seekable
                .read_selected(selection, &mut |record| {
                    records += 1;
                    importer.add(record)
                })?
                .ok_or_else(|| Error::invalid("the seek index went away"))?;
            tracker.update(0, records, seek.chunks_decrypted)
        })?;
        tracker.finish();
        import.signature = signature;
        import.opened_with = opened_with;
        return Ok(PartialImportReport { import, seek });
    }
    let total = seekable.trailer().chunk_count + 1;
    // The header is opened once: the full read reuses the recovered key.
    let identities = [Identity::Opened(seekable.header().opened.clone())];
    drop(seekable);
    source.seek(SeekFrom::Start(0))?;
    let mut reader = ArchiveReader::new(source, &identities, options.limits)?;
    let mut import = import_into(db, &mut |importer| {
        let mut filter = Filter::new(selection);
        let mut records = 0;
        while let Some(batch) = reader.next_batch()? {
            records += batch.len() as u64;
            // The batch just released is the last chunk read.
            filter.push(reader.chunks_read() - 1, batch, &mut |record| {
                importer.add(record)
            })?;
            tracker.update(reader.bytes_read(), records, reader.chunks_read())?;
        }
        check_signer(options, &reader)?;
        tracker.update(reader.bytes_read(), records, reader.chunks_read())
    })?;
    tracker.finish();
    import.signature = signature;
    import.opened_with = opened_with;
    Ok(PartialImportReport {
        import,
        seek: SeekReport {
            used_index: false,
            chunks_decrypted: reader.chunks_read(),
            chunks_total: total,
        },
    })
}
