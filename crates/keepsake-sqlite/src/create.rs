//! Creating a records archive from a database in the reference schema, as one
//! consistent snapshot.

use std::path::Path;

use rusqlite::{Connection, ToSql, TransactionBehavior};

use keepsake::body::records::{ArchiveMetadata, ArchiveMode, Elements, Record};
use keepsake::crypto::Recipient;
use keepsake::error::{Error, Result};
use keepsake::progress::{Phase, Progress};
use keepsake::storage::{ArchiveSink, CountingWriter, FileSink, WriteMode, write_then_commit};
use keepsake::stream::writer::{ArchiveWriter, WriterOptions};

use crate::DbResult;
use crate::rows::{consent_from_row, conversation_from_row, message_from_row};
use crate::schema::{
    CONSENT_COLUMNS, CONVERSATION_COLUMNS, MESSAGE_COLUMNS, MESSAGE_ORDER, open_source,
};

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

    /// The messages of conversation `:conversation` to archive, in archive order.
    pub(crate) fn message_query(&self) -> String {
        format!(
            "SELECT {MESSAGE_COLUMNS} FROM {} ORDER BY {MESSAGE_ORDER}",
            self.conversation_messages()
        )
    }

    /// The `FROM` clause of the messages of conversation `:conversation` to
    /// archive, as `m`; [`MESSAGE_ORDER`] is their archive order.
    pub(crate) fn conversation_messages(&self) -> String {
        format!(
            "messages AS m WHERE m.conversation_id = :conversation{}",
            self.range_condition()
        )
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
    fn range_condition(&self) -> String {
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
    fn count_records(&self, conn: &Connection) -> Result<u64> {
        let range = self.range_params();
        let count = |sql: &str| -> Result<u64> {
            Ok(conn
                .query_row(sql, range.as_slice(), |row| row.get::<_, i64>(0))
                .db()?
                .max(0) as u64)
        };
        let mut total = 0;
        if self.elements.messages {
            total += count(&format!(
                "SELECT count(*) FROM ({})",
                self.conversation_query()
            ))?;
            total += count(&format!(
                "SELECT count(*) FROM {}",
                self.message_selection()
            ))?;
        }
        if self.elements.consent {
            total += conn
                .query_row("SELECT count(*) FROM consent", [], |row| {
                    row.get::<_, i64>(0)
                })
                .db()?
                .max(0) as u64;
        }
        Ok(total)
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
/// Conversations come in id order, each followed by its messages in
/// `(sent_at_ns, id)` order, then consent; memory stays constant in the
/// number of messages. A message whose conversation row is missing (possible
/// only in a database written with foreign keys off) is left out. The archive is written to a temporary file in the same
/// directory, synced, then renamed: on any error nothing is left under
/// `archive`. An existing file at `archive` is never overwritten; that is an
/// [`Error::InvalidInput`].
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
    write_then_commit(sink, |sink| {
        write_records_archive(db, sink, recipients, options)
    })
}

fn write_records_archive<S: ArchiveSink + ?Sized, R: Clone + Into<Recipient>>(
    db: &Path,
    sink: &mut S,
    recipients: &[R],
    options: &CreateOptions,
) -> Result<CreateReport> {
    options.validate()?;
    let mut conn = open_source(db)?;

    let metadata = options.metadata();

    let snapshot = conn
        .transaction_with_behavior(TransactionBehavior::Deferred)
        .db()?;
    let mut tracker = options.progress.track(Phase::Create);
    let counted = CountingWriter::new(sink);
    let mut writer = ArchiveWriter::new(counted, recipients, &metadata, &options.writer)?;
    tracker.set_totals(None, Some(options.count_records(&snapshot)?));
    let mut records = 0;
    read_snapshot(&snapshot, options, &mut |record| {
        writer.write_record(record)?;
        records += 1;
        tracker.update(writer.bytes_written(), records, writer.chunks_written())
    })?;
    let (counted, trailer) = writer.finish()?;
    // Ends the read transaction; nothing was written through it.
    snapshot.commit().db()?;
    let bytes = counted.written();
    // The last chance to cancel: after the commit the archive exists.
    tracker.update(bytes, records, trailer.chunk_count + 1)?;
    tracker.finish();
    Ok(CreateReport {
        bytes,
        conversations: trailer.conversations,
        messages: trailer.messages,
        consent: trailer.consent,
        time_range: trailer.time_range,
        seek_index: trailer.index_chunk != 0,
    })
}

/// Reads the records `options` selects, in dependency order, passing each to
/// `emit`. The caller holds the transaction that makes the reads one snapshot.
pub(crate) fn read_snapshot(
    conn: &Connection,
    options: &CreateOptions,
    emit: &mut dyn FnMut(&Record) -> Result<()>,
) -> Result<()> {
    if options.elements.messages {
        let range = options.range_params();
        let mut conversations = conn.prepare(&options.conversation_query()).db()?;
        let mut messages = conn.prepare(&options.message_query()).db()?;
        let mut rows = conversations.query(range.as_slice()).db()?;
        while let Some(row) = rows.next().db()? {
            let conversation = conversation_from_row(row).db()?;
            let id = conversation.id.clone();
            emit(&Record::Conversation(conversation))?;
            let mut params = range.clone();
            params.push((":conversation", &id));
            let mut message_rows = messages.query(params.as_slice()).db()?;
            while let Some(row) = message_rows.next().db()? {
                emit(&Record::Message(message_from_row(row).db()?))?;
            }
        }
    }
    if options.elements.consent {
        let mut consent = conn.prepare(&consent_query()).db()?;
        let mut rows = consent.query([]).db()?;
        while let Some(row) = rows.next().db()? {
            emit(&Record::Consent(consent_from_row(row).db()?))?;
        }
    }
    Ok(())
}

/// The consent records to archive, in archive order.
pub(crate) fn consent_query() -> String {
    format!("SELECT {CONSENT_COLUMNS} FROM consent ORDER BY entity_type, entity")
}
