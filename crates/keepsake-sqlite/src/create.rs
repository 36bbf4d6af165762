//! Creating a records archive from a database in the reference schema, as one
//! consistent snapshot.

use std::io::Write;
use std::path::Path;

use rusqlite::Connection;

use keepsake::crypto::Recipient;
use keepsake::error::Result;
use keepsake::format::Trailer;
use keepsake::progress::{Phase, Tracker};
use keepsake::storage::{ArchiveSink, CountingWriter, FileSink, WriteMode, write_then_commit};
use keepsake::stream::writer::ArchiveWriter;

use crate::order::{Event, read_selection};
use crate::schema::open_source;
use crate::selection::CreateOptions;

/// What [`create_archive`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateReport {
    /// The archive's length in bytes.
    pub bytes: u64,
    /// Conversation records written.
    pub conversations: u64,
    /// Message records written.
    pub messages: u64,
    /// Consent records written.
    pub consent: u64,
    /// The earliest and latest `sent_at_ns` among the messages written, if any.
    pub time_range: Option<(i64, i64)>,
    /// Whether the archive has a seek index; `false` only when the index
    /// would have been larger than one chunk, and was left out (spec §6.5.3).
    pub seek_index: bool,
}

/// Writes an archive of the database at `db` to a new file at `archive`,
/// which `key` opens.
///
/// Everything is read inside one read transaction, so the archive is one
/// consistent snapshot even while other connections keep writing (in WAL
/// mode they are not blocked). What is included:
/// - With `elements.messages` and no time range: every conversation, even
///   one without messages, each followed by its messages.
/// - With `elements.messages` and a time range `[start_ns, end_ns)` on
///   `sent_at_ns`: the messages in range, and exactly the conversations that
///   have at least one of them (a conversation travels with its messages).
/// - With `elements.consent`: every consent record (the time range applies to
///   messages only).
///
/// The records go in the order [`crate::order`] describes: conversations,
/// then the messages in windows of the table grouped by conversation, then
/// consent; memory stays bounded whatever the number of messages. With more
/// than one writer thread (`options.writer.threads`), the database is read
/// on a thread of its own. A message whose conversation row is missing
/// (possible only in a database written with foreign keys off) is left out.
/// The archive is written to a temporary file in the same directory, synced,
/// then renamed: on any error nothing is left under `archive`. An existing
/// file at `archive` is never overwritten; that is an [`Error::InvalidInput`].
pub fn create_archive<R: Clone + Into<Recipient>>(
    db: &Path,
    archive: &Path,
    recipients: &[R],
    options: &CreateOptions,
) -> Result<CreateReport> {
    options.validate()?;
    let mut sink = FileSink::create(archive, WriteMode::CreateNew)?;
    create_archive_to(db, &mut sink, recipients, options)
}

/// As [`create_archive`], into any [`ArchiveSink`]: a file, a multipart
/// upload, an app's own storage. The sink is committed once the archive is
/// whole, and aborted on any error or cancellation, so nothing appears under
/// its name unless it is a whole archive.
pub fn create_archive_to<S: ArchiveSink + ?Sized, R: Clone + Into<Recipient>>(
    db: &Path,
    sink: &mut S,
    recipients: &[R],
    options: &CreateOptions,
) -> Result<CreateReport> {
    let mut tracker = options.progress.track(Phase::Create);
    let report = write_then_commit(sink, |sink| {
        write_records_archive(db, sink, recipients, options, &mut tracker)
    })?;
    // Finished only once the archive is there.
    tracker.finish();
    Ok(report)
}

fn write_records_archive<S: ArchiveSink + ?Sized, R: Clone + Into<Recipient>>(
    db: &Path,
    sink: &mut S,
    recipients: &[R],
    options: &CreateOptions,
    tracker: &mut Tracker,
) -> Result<CreateReport> {
    options.validate()?;
    let mut conn = open_source(db)?;
    let counted = CountingWriter::new(sink);
    let (counted, trailer) = write_archive(&mut conn, counted, recipients, options, tracker)?;
    let bytes = counted.written();
    // The last chance to cancel: after the commit the archive exists.
    let records = trailer.conversations + trailer.messages + trailer.consent;
    tracker.update(bytes, records, trailer.chunk_count + 1)?;
    Ok(CreateReport {
        bytes,
        conversations: trailer.conversations,
        messages: trailer.messages,
        consent: trailer.consent,
        time_range: trailer.time_range,
        seek_index: trailer.index_chunk != 0,
    })
}

/// Writes the archive of the database `conn` is open on to `sink`, as one
/// snapshot, and returns the sink with the trailer written; the rest of
/// [`create_archive`] is about files.
pub(crate) fn write_archive<W: Write, R: Clone + Into<Recipient>>(
    conn: &mut Connection,
    sink: W,
    recipients: &[R],
    options: &CreateOptions,
    tracker: &mut Tracker,
) -> Result<(W, Trailer)> {
    options.validate()?;
    let mut writer = ArchiveWriter::new(sink, recipients, &options.metadata(), &options.writer)?;
    let mut records = 0;
    let own_thread = options.writer.threads > 1;
    read_selection(conn, options, own_thread, &mut |event| match event {
        Event::Total(total) => {
            tracker.set_totals(None, Some(total));
            Ok(())
        }
        Event::Record(record) => {
            writer.write_record(record)?;
            records += 1;
            tracker.update(writer.bytes_written(), records, writer.chunks_written())
        }
    })?;
    writer.finish()
}
