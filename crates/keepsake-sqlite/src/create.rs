//! Creating a records archive from a database in the reference schema, as one
//! consistent snapshot.

use std::io::Write;
use std::path::Path;

use rusqlite::{Connection, ToSql};

use keepsake::body::records::{ArchiveMetadata, ArchiveMode, Elements};
use keepsake::crypto::Recipient;
use keepsake::error::{Error, Result};
use keepsake::format::Trailer;
use keepsake::progress::{Phase, Progress, Tracker};
use keepsake::storage::{ArchiveSink, CountingWriter, FileSink, WriteMode, write_then_commit};
use keepsake::stream::writer::{ArchiveWriter, WriterOptions};

use crate::DbResult;
use crate::order::{Event, read_selection};
use crate::schema::{CONSENT_COLUMNS, CONVERSATION_COLUMNS, open_source};

/// How many conversations the message count looks up one by one before
/// it steps through every message's index entry instead.
const MAX_COUNT_SEEKS: i64 = 16_384;

/// What [`create_archive`] writes.
#[derive(Clone, Debug, Default)]
pub struct CreateOptions {
    /// Only messages sent at or after this time (nanoseconds since the Unix epoch).
    pub start_ns: Option<i64>,
    /// Only messages sent before this time (exclusive).
    pub end_ns: Option<i64>,
    /// Which kinds of data to include; at least one must be chosen.
    pub elements: Elements,
    /// Chunking and compression.
    pub writer: WriterOptions,
    /// Where progress goes, and how the caller cancels.
    pub progress: Progress,
}

impl CreateOptions {
    pub(crate) fn validate(&self) -> Result<()> {
        if !self.elements.messages && !self.elements.consent {
            return Err(Error::invalid(
                "nothing to archive: choose messages, consent or both",
            ));
        }
        if let (Some(start), Some(end)) = (self.start_ns, self.end_ns)
            && start >= end
        {
            return Err(Error::invalid(format!(
                "the time range is empty: its start ({start}) must be before its end ({end})"
            )));
        }
        Ok(())
    }

    /// The metadata chunk of an archive created with these options.
    pub(crate) fn metadata(&self) -> ArchiveMetadata {
        let mut metadata = ArchiveMetadata::now();
        metadata.mode = ArchiveMode::Records;
        metadata.elements = self.elements;
        metadata.start_ns = self.start_ns;
        metadata.end_ns = self.end_ns;
        metadata
    }

    /// The conversations to archive, in id order.
    pub(crate) fn conversation_query(&self) -> String {
        format!(
            "SELECT {CONVERSATION_COLUMNS} FROM {} ORDER BY c.id",
            self.conversation_selection()
        )
    }

    /// The `FROM` clause of the conversations to archive, as `c`: all of them,
    /// or with a time range those with a message in it.
    pub(crate) fn conversation_selection(&self) -> String {
        if self.start_ns.is_some() || self.end_ns.is_some() {
            format!(
                "conversations AS c WHERE EXISTS \
                 (SELECT 1 FROM messages AS m WHERE m.conversation_id = c.id{})",
                self.range_condition()
            )
        } else {
            "conversations AS c".to_owned()
        }
    }

    /// The `FROM` clause of all the messages to archive, as `m`.
    pub(crate) fn message_selection(&self) -> String {
        format!("messages AS m WHERE {}", self.message_condition())
    }

    /// The condition on `m` of the messages to archive: those in the time
    /// range whose conversation exists. (`IN` rather than `EXISTS`, so that
    /// SQLite walks the index by conversation instead of every row.)
    pub(crate) fn message_condition(&self) -> String {
        format!(
            "m.conversation_id IN (SELECT id FROM conversations){}",
            self.range_condition()
        )
    }

    /// The SQL condition on `m.sent_at_ns` for the time range, using the
    /// named parameters `:start` and `:end`; empty without a range.
    pub(crate) fn range_condition(&self) -> String {
        let mut condition = String::new();
        if self.start_ns.is_some() {
            condition.push_str(" AND m.sent_at_ns >= :start");
        }
        if self.end_ns.is_some() {
            condition.push_str(" AND m.sent_at_ns < :end");
        }
        condition
    }

    /// How many records the selection holds in the snapshot `conn` reads:
    /// the total a create reports progress against.
    pub(crate) fn count_records(&self, conn: &Connection) -> Result<u64> {
        let count = |sql: &str, params: &[(&str, &dyn ToSql)]| -> Result<u64> {
            Ok(conn
                .query_row(sql, params, |row| row.get::<_, i64>(0))
                .db()?
                .max(0) as u64)
        };
        let mut total = 0;
        if self.elements.messages {
            total += count(
                &format!("SELECT count(*) FROM {}", self.conversation_selection()),
                self.range_params().as_slice(),
            )?;
            total += self.count_messages(conn)?.max(0) as u64;
        }
        if self.elements.consent {
            total += count("SELECT count(*) FROM consent", &[])?;
        }
        Ok(total)
    }

    /// Counts the selected messages. Without a time range, when every
    /// conversation that has messages exists, that is the table's row count,
    /// which SQLite reads off the pages of its smallest index; one seek of
    /// the conversation index per conversation tells whether they all
    /// exist. Otherwise it steps through the selection's index entries:
    /// about 12 ms per 200,000 messages.
    pub(crate) fn count_messages(&self, conn: &Connection) -> Result<i64> {
        let options = self;
        if options.start_ns.is_none() && options.end_ns.is_none() {
            let (rows, indexed): (i64, bool) = conn
                .query_row(
                    "SELECT (SELECT count(*) FROM messages), EXISTS (SELECT 1 FROM \
                 pragma_index_info('messages_by_conversation') \
                 WHERE seqno = 0 AND name = 'conversation_id')",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .db()?;
            if indexed {
                // The distinct conversation ids of the messages, one seek
                // each, up to a bound; whether the walk ended, and how many
                // of those it found have no conversation.
                let (ended, orphaned): (bool, i64) = conn
                    .query_row(
                        "WITH RECURSIVE ids(id, step) AS ( \
                     SELECT (SELECT min(conversation_id) FROM messages), 0 UNION ALL \
                     SELECT (SELECT min(conversation_id) FROM messages \
                     WHERE conversation_id > ids.id), step + 1 \
                     FROM ids WHERE ids.id IS NOT NULL AND step < :seeks) \
                     SELECT ifnull(max(id IS NULL), 0), \
                     count(*) FILTER (WHERE id NOT IN (SELECT id FROM conversations)) FROM ids",
                        rusqlite::named_params! { ":seeks": MAX_COUNT_SEEKS },
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .db()?;
                if ended && orphaned == 0 {
                    return Ok(rows);
                }
            }
        }
        let params = options.range_params();
        conn.query_row(
            &format!("SELECT count(*) FROM {}", options.message_selection()),
            params.as_slice(),
            |row| row.get(0),
        )
        .db()
    }

    /// The values for [`CreateOptions::range_condition`]'s parameters.
    pub(crate) fn range_params(&self) -> Vec<(&'static str, &dyn ToSql)> {
        let mut params: Vec<(&'static str, &dyn ToSql)> = Vec::new();
        if let Some(start) = &self.start_ns {
            params.push((":start", start));
        }
        if let Some(end) = &self.end_ns {
            params.push((":end", end));
        }
        params
    }
}

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

/// The consent records to archive, in archive order.
pub(crate) fn consent_query() -> String {
    format!("SELECT {CONSENT_COLUMNS} FROM consent ORDER BY entity_type, entity")
}
