//! Reading archives into the reference schema: the cheap summary, a full
//! verification, and atomic, additive imports of a whole archive or of part
//! of it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use rusqlite::TransactionBehavior;

use keepsake::body::records::{ArchiveMetadata, ArchiveMode, Record};
use keepsake::crypto::Identity;
use keepsake::crypto::signature::SignatureStatus;
use keepsake::error::{Error, Result};
use keepsake::format::Trailer;
use keepsake::limits::Limits;
use keepsake::progress::{Phase, Progress, Tracker};
use keepsake::seek::select::{Filter, Selection};
use keepsake::seek::{SeekReport, SeekableArchive};
use keepsake::stream::reader::{ArchiveReader, ArchiveSummary, read_summary};

use crate::DbResult;
use crate::rows::{InsertMode, RecordInserter};
use crate::schema::{REFERENCE_SCHEMA, connect};

/// Reads an archive's header, metadata and trailer without decoding its
/// body: cheap whatever the archive's size. A damaged body goes unnoticed;
/// [`verify_archive`] finds it.
pub fn archive_metadata(archive: &Path, identities: &[Identity]) -> Result<ArchiveSummary> {
    let file = File::open(archive)?;
    read_summary(file, identities, Limits::default())
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
}

/// Reads and authenticates a whole archive, as an import would, and writes
/// nothing: `Ok` means an import of it would find no damage.
pub fn verify_archive(archive: &Path, identities: &[Identity]) -> Result<VerifyReport> {
    verify_archive_with(archive, identities, &Progress::default())
}

/// As [`verify_archive`], reporting to `progress` and stopping with
/// [`Error::Cancelled`] when it is cancelled.
pub fn verify_archive_with(
    archive: &Path,
    identities: &[Identity],
    progress: &Progress,
) -> Result<VerifyReport> {
    let totals = ReadTotals::of_file(archive, identities);
    verify_archive_from(File::open(archive)?, identities, progress, totals)
}

/// As [`verify_archive_with`], from any byte stream (a download, a pipe),
/// reporting progress against `totals` when the caller knows them.
pub fn verify_archive_from(
    source: impl Read,
    identities: &[Identity],
    progress: &Progress,
    totals: ReadTotals,
) -> Result<VerifyReport> {
    let mut tracker = totals.tracker(progress, Phase::Verify);
    // Checks every record as an import would, without building them.
    let mut reader = ArchiveReader::checking_only(source, identities, Limits::default())?;
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
    let signature = SignatureStatus::of(&reader.header().prelude.to_bytes(), &trailer);
    Ok(VerifyReport {
        bytes: reader.bytes_read(),
        chunks: reader.chunks_read(),
        signature,
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

    /// The totals of the archive file at `archive`; none when its summary
    /// cannot be read, since the full read then fails and reports why.
    fn of_file(archive: &Path, identities: &[Identity]) -> Self {
        archive_metadata(archive, identities)
            .map(|summary| ReadTotals::of(&summary))
            .unwrap_or_default()
    }

    fn tracker(self, progress: &Progress, phase: Phase) -> Tracker {
        let mut tracker = progress.track(phase);
        tracker.set_totals(self.bytes, self.records);
        tracker
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
}

/// Imports an archive into the database at `db` (created, with
/// [`REFERENCE_SCHEMA`], if needed), all or nothing.
///
/// The import is additive: conversations and messages already in the
/// database are never changed. A message whose id exists is skipped; a
/// conversation that exists is skipped, and one that does not is created
/// inactive (read-only, see [`is_active`]); a consent record replaces the
/// database's only when it is strictly newer. Changes are committed only once
/// the whole archive, trailer included, has been authenticated; on any error
/// the database is left exactly as it was (a database file created for the
/// import stays, without tables, unless the archive could not be opened at all).
pub fn import_archive(archive: &Path, identities: &[Identity], db: &Path) -> Result<ImportReport> {
    import_archive_with(archive, identities, db, &Progress::default())
}

/// As [`import_archive`], reporting to `progress`; when it is cancelled the
/// import stops with [`Error::Cancelled`] and the database is left as it was.
pub fn import_archive_with(
    archive: &Path,
    identities: &[Identity],
    db: &Path,
    progress: &Progress,
) -> Result<ImportReport> {
    let totals = ReadTotals::of_file(archive, identities);
    import_archive_from(File::open(archive)?, identities, db, progress, totals)
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
    progress: &Progress,
    totals: ReadTotals,
) -> Result<ImportReport> {
    let mut tracker = totals.tracker(progress, Phase::Import);
    // A wrong key or a damaged header fails here, before the database is touched.
    let mut reader = ArchiveReader::new(source, identities, Limits::default())?;
    if reader.metadata().mode != ArchiveMode::Records {
        return Err(Error::invalid(
            "this archive holds database pages, not records; it cannot be imported row by row: rebuild the database from it with restore",
        ));
    }
    let report = import_into(db, &mut |insert| {
        let mut records = 0;
        while let Some(batch) = reader.next_batch()? {
            for record in &batch {
                insert(record)?;
            }
            records += batch.len() as u64;
            tracker.update(reader.bytes_read(), records, reader.chunks_read())?;
        }
        // The last chance to cancel: after the commit the rows are there.
        tracker.update(reader.bytes_read(), records, reader.chunks_read())
    })?;
    tracker.finish();
    Ok(report)
}

/// A record sink for [`import_into`]'s caller.
type Insert<'a> = dyn FnMut(&Record) -> Result<()> + 'a;

/// Runs `feed` inside one IMMEDIATE transaction on `db` (created with
/// [`REFERENCE_SCHEMA`] if needed), inserting every record it hands over
/// additively, and commits only when `feed` returns `Ok`. On any error the
/// database is left as it was, and a database file this call created is removed.
fn import_into(
    db: &Path,
    feed: &mut dyn FnMut(&mut Insert<'_>) -> Result<()>,
) -> Result<ImportReport> {
    let created = !db.exists();
    let result = connect(db).and_then(|mut conn| {
        // Dropping the transaction on an error (or a panic) rolls it back.
        let transaction = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db()?;
        transaction.execute_batch(REFERENCE_SCHEMA).db()?;
        let mut report = ImportReport::default();
        {
            let mut inserter = RecordInserter::new(&transaction, InsertMode::Additive)?;
            feed(&mut |record| {
                let inserted = inserter.insert(record)?;
                report.count(record, inserted);
                Ok(())
            })?;
        }
        transaction.commit().db()?;
        Ok(report)
    });
    if result.is_err() && created {
        // The database did not exist before this import: leave none behind.
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut path = db.as_os_str().to_owned();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
    result
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
/// content. Without one (an archive written without it), the whole archive
/// is read and verified and the records filtered; the report says which.
pub fn import_selected(
    archive: &Path,
    identities: &[Identity],
    db: &Path,
    selection: &Selection,
    progress: &Progress,
) -> Result<PartialImportReport> {
    import_selected_from(File::open(archive)?, identities, db, selection, progress)
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
    progress: &Progress,
) -> Result<PartialImportReport> {
    let mut tracker = progress.track(Phase::Import);
    let mut seekable = SeekableArchive::open(&mut source, identities, Limits::default())?;
    if seekable.metadata().mode != ArchiveMode::Records {
        return Err(Error::invalid(
            "this archive holds database pages, not records; it cannot be imported row by row",
        ));
    }
    if seekable.index().is_some() {
        let mut seek = SeekReport::default();
        let import = import_into(db, &mut |insert| {
            let mut records = 0;
            seek = seekable
                .read_selected(selection, &mut |record| {
                    records += 1;
                    insert(record)
                })?
                .ok_or_else(|| Error::invalid("the seek index went away"))?;
            tracker.update(0, records, seek.chunks_decrypted)
        })?;
        tracker.finish();
        return Ok(PartialImportReport { import, seek });
    }
    let total = seekable.trailer().chunk_count + 1;
    drop(seekable);
    source.seek(SeekFrom::Start(0))?;
    let mut reader = ArchiveReader::new(source, identities, Limits::default())?;
    let import = import_into(db, &mut |insert| {
        let mut filter = Filter::new(selection);
        let mut records = 0;
        while let Some(batch) = reader.next_batch()? {
            records += batch.len() as u64;
            // The batch just released is the last chunk read.
            filter.push(reader.chunks_read() - 1, batch, insert)?;
            tracker.update(reader.bytes_read(), records, reader.chunks_read())?;
        }
        tracker.update(reader.bytes_read(), records, reader.chunks_read())
    })?;
    tracker.finish();
    Ok(PartialImportReport {
        import,
        seek: SeekReport {
            used_index: false,
            chunks_decrypted: reader.chunks_read(),
            chunks_total: total,
        },
    })
}
