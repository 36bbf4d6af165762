//! The SQLite adapter: a reference schema, archives created from a consistent
//! snapshot of a database, and atomic, additive import of an archive into one.
//!
//! The streaming core ([`ArchiveWriter`], [`ArchiveReader`]) knows nothing of
//! SQLite; this module maps its [`Record`]s to and from the tables of
//! [`REFERENCE_SCHEMA`]. An application whose own tables differ can copy this
//! module's queries, or feed the core directly.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::time::Duration;

use rusqlite::types::{Type, ValueRef};
use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Row, Statement, ToSql, TransactionBehavior,
};

use crate::atomic::PendingFile;
use crate::crypto::{Identity, Recipient};
use crate::error::{Error, Result};
use crate::format::Trailer;
use crate::limits::Limits;
use crate::progress::{Phase, Progress, Tracker};
use crate::reader::{ArchiveReader, ArchiveSummary, read_summary};
use crate::records::{
    ArchiveMetadata, ArchiveMode, Consent, ConsentEntityType, ConsentState, Conversation,
    ConversationKind, DeliveryStatus, Elements, Message, MessageKind, Record,
};
use crate::seek::{SeekReport, SeekableArchive};
use crate::select::{Filter, Selection};
use crate::signature::SignatureStatus;
use crate::writer::{ArchiveWriter, WriterOptions};

/// The tables this adapter reads and writes, created by [`open_database`]
/// (every statement is `IF NOT EXISTS`, so applying it again changes nothing).
///
/// Tables are `STRICT`, so a column holds exactly the type a record field has
/// and a round trip through the database preserves every value: `NULL` is
/// `None`, an empty string or blob is `Some` of it. (`STRICT` needs SQLite
/// 3.37 or later; the bundled SQLite is newer.)
///
/// `conversations`, one row per group or DM:
/// - `id` BLOB, primary key: the conversation id.
/// - `kind` TEXT: `'group'` or `'dm'`.
/// - `created_at_ns` INTEGER: creation time, nanoseconds since the Unix epoch.
/// - `name` TEXT, nullable: the group name.
/// - `dm_peer` TEXT, nullable: for a DM, the other party's id.
/// - `added_by` TEXT, nullable: who added this installation.
/// - `member_ids` TEXT: the member ids as a JSON array of strings, in order.
/// - `metadata` TEXT: free-form metadata as a JSON object of strings.
/// - `last_message_ns` INTEGER, nullable: when the last message was sent.
/// - `is_active` INTEGER, 1 or 0: 0 marks a conversation that an import
///   created; it is read-only ([`insert_message`] refuses it) until the
///   application reactivates it. Not carried in archives.
///
/// `messages`, one row per message; the index on `sent_at_ns` serves time
/// ranges, the one on `(conversation_id, sent_at_ns, id)` serves reading a
/// conversation's messages in archive order without sorting:
/// - `id` BLOB, primary key: the message id.
/// - `conversation_id` BLOB, references `conversations(id)`.
/// - `sender_id` TEXT: the sender's id.
/// - `sender_installation_id` BLOB: the sending installation's id.
/// - `sent_at_ns` INTEGER: when it was sent, nanoseconds since the Unix epoch.
/// - `kind` TEXT: `'application'` or `'membership_change'`.
/// - `content_type` TEXT: such as `xmtp.org/text:1.0`.
/// - `content` BLOB: the encoded content, opaque to Keepsake.
/// - `delivery_status` TEXT: `'published'`, `'unpublished'` or `'failed'`.
/// - `reference_id` BLOB, nullable: the message a reply or reaction refers to.
/// - `expires_at_ns` INTEGER, nullable: when it expires.
///
/// `consent`, one row per entity, keyed by `(entity_type, entity)`:
/// - `entity_type` TEXT: `'conversation'` (the id in hex), `'inbox'` or `'address'`.
/// - `entity` TEXT: the entity.
/// - `state` TEXT: `'unknown'`, `'allowed'` or `'denied'`.
/// - `updated_at_ns` INTEGER: when the decision was made; on import the newer
///   decision wins.
pub const REFERENCE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS conversations (
    id BLOB NOT NULL PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('group', 'dm')),
    created_at_ns INTEGER NOT NULL,
    name TEXT,
    dm_peer TEXT,
    added_by TEXT,
    member_ids TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}',
    last_message_ns INTEGER,
    is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1))
) STRICT;

CREATE TABLE IF NOT EXISTS messages (
    id BLOB NOT NULL PRIMARY KEY,
    conversation_id BLOB NOT NULL REFERENCES conversations (id),
    sender_id TEXT NOT NULL,
    sender_installation_id BLOB NOT NULL,
    sent_at_ns INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('application', 'membership_change')),
    content_type TEXT NOT NULL,
    content BLOB NOT NULL,
    delivery_status TEXT NOT NULL
        CHECK (delivery_status IN ('published', 'unpublished', 'failed')),
    reference_id BLOB,
    expires_at_ns INTEGER
) STRICT;

CREATE INDEX IF NOT EXISTS messages_by_sent_at ON messages (sent_at_ns);
CREATE INDEX IF NOT EXISTS messages_by_conversation
    ON messages (conversation_id, sent_at_ns, id);

CREATE TABLE IF NOT EXISTS consent (
    entity_type TEXT NOT NULL CHECK (entity_type IN ('conversation', 'inbox', 'address')),
    entity TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('unknown', 'allowed', 'denied')),
    updated_at_ns INTEGER NOT NULL,
    PRIMARY KEY (entity_type, entity)
) STRICT, WITHOUT ROWID;
";

/// How long a connection waits for another connection's write lock before
/// giving up with a "database is locked" error.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const CONVERSATION_COLUMNS: &str = "id, kind, created_at_ns, name, dm_peer, added_by, \
     member_ids, metadata, last_message_ns";

pub(crate) const MESSAGE_COLUMNS: &str = "id, conversation_id, sender_id, sender_installation_id, \
     sent_at_ns, kind, content_type, content, delivery_status, reference_id, expires_at_ns";

const CONSENT_COLUMNS: &str = "entity_type, entity, state, updated_at_ns";

/// The archive order of the messages of one conversation, as `m`.
pub(crate) const MESSAGE_ORDER: &str = "m.sent_at_ns, m.id";

/// Runs a statement whose eleven parameters are [`MESSAGE_COLUMNS`], in order.
fn execute_message(statement: &mut Statement<'_>, message: &Message) -> rusqlite::Result<usize> {
    statement.execute(rusqlite::params![
        message.id,
        message.conversation_id,
        message.sender_id,
        message.sender_installation_id,
        message.sent_at_ns,
        message.kind.name(),
        message.content_type,
        message.content,
        message.delivery_status.name(),
        message.reference_id,
        message.expires_at_ns,
    ])
}

/// Opens the database at `path`, creating it if needed, and applies
/// [`REFERENCE_SCHEMA`]. The connection has foreign keys on, a busy timeout,
/// and the database is switched to WAL mode so that readers (such as
/// [`create_archive`]) never block writers.
pub fn open_database(path: &Path) -> Result<Connection> {
    let conn = connect(path)?;
    conn.execute_batch(REFERENCE_SCHEMA)?;
    Ok(conn)
}

/// Opens or creates a database with this adapter's connection settings,
/// without touching its tables.
fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // The pragma returns the mode in force; an in-memory database stays in
    // "memory" mode, which is fine.
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(conn)
}

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
    fn message_query(&self) -> String {
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
                .query_row(sql, range.as_slice(), |row| row.get::<_, i64>(0))?
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
                })?
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
    let mut pending = PendingFile::beside(archive)?;
    let mut conn = open_source(db)?;

    let metadata = options.metadata();

    let snapshot = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
    let mut tracker = options.progress.track(Phase::Create);
    let sink = BufWriter::with_capacity(1 << 16, pending.temp.as_file_mut());
    let mut writer = ArchiveWriter::new(sink, recipients, &metadata, &options.writer)?;
    tracker.set_totals(None, Some(options.count_records(&snapshot)?));
    let mut records = 0;
    read_snapshot(&snapshot, options, &mut |record| {
        writer.write_record(record)?;
        records += 1;
        tracker.update(writer.bytes_written(), records, writer.chunks_written())
    })?;
    let (sink, trailer) = writer.finish()?;
    // Ends the read transaction; nothing was written through it.
    snapshot.commit()?;
    let file = sink
        .into_inner()
        .map_err(|error| Error::Io(error.into_error()))?;
    file.sync_all()?;
    let bytes = file.metadata()?.len();
    // The last chance to cancel: after the rename the archive exists.
    tracker.update(bytes, records, trailer.chunk_count + 1)?;
    pending.persist(archive)?;
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

/// Opens the source database of an archive read-only: creating an archive
/// never changes the database, nor creates one that is not there.
pub(crate) fn open_source(db: &Path) -> Result<Connection> {
    if !db.is_file() {
        return Err(Error::invalid(format!(
            "the database {} does not exist",
            db.display()
        )));
    }
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
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
        let mut conversations = conn.prepare(&options.conversation_query())?;
        let mut messages = conn.prepare(&options.message_query())?;
        let mut rows = conversations.query(range.as_slice())?;
        while let Some(row) = rows.next()? {
            let conversation = conversation_from_row(row)?;
            let id = conversation.id.clone();
            emit(&Record::Conversation(conversation))?;
            let mut params = range.clone();
            params.push((":conversation", &id));
            let mut message_rows = messages.query(params.as_slice())?;
            while let Some(row) = message_rows.next()? {
                emit(&Record::Message(message_from_row(row)?))?;
            }
        }
    }
    if options.elements.consent {
        let mut consent = conn.prepare(&consent_query())?;
        let mut rows = consent.query([])?;
        while let Some(row) = rows.next()? {
            emit(&Record::Consent(consent_from_row(row)?))?;
        }
    }
    Ok(())
}

/// The consent records to archive, in archive order.
pub(crate) fn consent_query() -> String {
    format!("SELECT {CONSENT_COLUMNS} FROM consent ORDER BY entity_type, entity")
}

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
    let mut tracker = reading_tracker(archive, identities, progress, Phase::Verify);
    // Checks every record as an import would, without building them.
    let mut reader =
        ArchiveReader::checking_only(File::open(archive)?, identities, Limits::default())?;
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

/// A tracker for reading `archive`, with its size and, when its trailer can
/// be read from the end of the file, its record count as totals.
fn reading_tracker(
    archive: &Path,
    identities: &[Identity],
    progress: &Progress,
    phase: Phase,
) -> Tracker {
    let mut tracker = progress.track(phase);
    // A summary that fails here fails the full read too, which reports it.
    let summary = archive_metadata(archive, identities).ok();
    let records = summary
        .as_ref()
        .and_then(|summary| summary.trailer.as_ref())
        .map(|trailer| trailer.conversations + trailer.messages + trailer.consent + trailer.pages);
    tracker.set_totals(summary.map(|summary| summary.archive_bytes), records);
    tracker
}

fn open_archive(archive: &Path, identities: &[Identity]) -> Result<ArchiveReader<File>> {
    let file = File::open(archive)?;
    ArchiveReader::new(file, identities, Limits::default())
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
    let mut tracker = reading_tracker(archive, identities, progress, Phase::Import);
    // A wrong key or a damaged header fails here, before the database is touched.
    let mut reader = open_archive(archive, identities)?;
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
        let transaction = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        transaction.execute_batch(REFERENCE_SCHEMA)?;
        let mut report = ImportReport::default();
        {
            let mut inserter = RecordInserter::new(&transaction, InsertMode::Additive)?;
            feed(&mut |record| {
                let inserted = inserter.insert(record)?;
                report.count(record, inserted);
                Ok(())
            })?;
        }
        transaction.commit()?;
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
    let mut tracker = progress.track(Phase::Import);
    let mut seekable = SeekableArchive::open(File::open(archive)?, identities, Limits::default())?;
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
    let mut reader = ArchiveReader::new(File::open(archive)?, identities, Limits::default())?;
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

/// How a [`RecordInserter`] treats rows the database already has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InsertMode {
    /// An import: existing rows are kept and the record skipped (consent:
    /// replaced only by a strictly newer decision); new conversations are
    /// inactive.
    Additive,
    /// New data from this installation: an existing row is an error; new
    /// conversations are active.
    Fresh,
}

/// Writes records into the tables of [`REFERENCE_SCHEMA`] with prepared
/// statements; the one place that maps a record to its row.
pub(crate) struct RecordInserter<'conn> {
    conversation: Statement<'conn>,
    message: Statement<'conn>,
    consent: Statement<'conn>,
}

impl<'conn> RecordInserter<'conn> {
    pub(crate) fn new(conn: &'conn Connection, mode: InsertMode) -> Result<Self> {
        let (is_active, keep_conversation, keep_message, keep_consent) = match mode {
            InsertMode::Additive => (
                0,
                " ON CONFLICT (id) DO NOTHING",
                " ON CONFLICT (id) DO NOTHING",
                " ON CONFLICT (entity_type, entity) DO UPDATE \
                 SET state = excluded.state, updated_at_ns = excluded.updated_at_ns \
                 WHERE excluded.updated_at_ns > consent.updated_at_ns",
            ),
            InsertMode::Fresh => (1, "", "", ""),
        };
        Ok(RecordInserter {
            conversation: conn.prepare(&format!(
                "INSERT INTO conversations ({CONVERSATION_COLUMNS}, is_active) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, {is_active}){keep_conversation}"
            ))?,
            message: conn.prepare(&format!(
                "INSERT INTO messages ({MESSAGE_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11){keep_message}"
            ))?,
            consent: conn.prepare(&format!(
                "INSERT INTO consent ({CONSENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4){keep_consent}"
            ))?,
        })
    }

    /// Writes one record; `false` when the database kept its own row instead.
    pub(crate) fn insert(&mut self, record: &Record) -> Result<bool> {
        let changed = match record {
            Record::Conversation(conversation) => {
                let (member_ids, metadata) = conversation_json(conversation)?;
                self.conversation.execute(rusqlite::params![
                    conversation.id,
                    conversation.kind.name(),
                    conversation.created_at_ns,
                    conversation.name,
                    conversation.dm_peer,
                    conversation.added_by,
                    member_ids,
                    metadata,
                    conversation.last_message_ns,
                ])?
            }
            Record::Message(message) => execute_message(&mut self.message, message)?,
            Record::Consent(consent) => self.consent.execute(rusqlite::params![
                consent.entity_type.name(),
                consent.entity,
                consent.state.name(),
                consent.updated_at_ns,
            ])?,
        };
        Ok(changed != 0)
    }
}

impl ImportReport {
    fn count(&mut self, record: &Record, inserted: bool) {
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

/// Whether the conversation `conversation_id` accepts new messages: `false`
/// for one an import created and the application has not reactivated (by
/// setting `is_active` to 1). An unknown id is an [`Error::InvalidInput`].
pub fn is_active(conn: &Connection, conversation_id: &[u8]) -> Result<bool> {
    let active: Option<i64> = conn
        .query_row(
            "SELECT is_active FROM conversations WHERE id = ?1",
            [conversation_id],
            |row| row.get(0),
        )
        .optional()?;
    match active {
        Some(active) => Ok(active != 0),
        None => Err(Error::invalid(format!(
            "conversation {} does not exist",
            hex(conversation_id)
        ))),
    }
}

/// Inserts a new message into an active conversation.
///
/// Fails with [`Error::ConversationInactive`] when the conversation was
/// restored from an archive and is read-only, with [`Error::InvalidInput`]
/// when it does not exist, and with [`Error::Database`] when a message with
/// the same id exists.
pub fn insert_message(conn: &Connection, message: &Message) -> Result<()> {
    // The check and the insert are one statement, so no other connection can
    // deactivate the conversation between them.
    let mut statement = conn.prepare_cached(&format!(
        "INSERT INTO messages ({MESSAGE_COLUMNS}) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 \
         WHERE EXISTS (SELECT 1 FROM conversations WHERE id = ?2 AND is_active = 1)"
    ))?;
    let inserted = execute_message(&mut statement, message)?;
    if inserted == 1 {
        return Ok(());
    }
    if is_active(conn, &message.conversation_id)? {
        Err(Error::invalid(format!(
            "message {} was not inserted: its conversation changed while inserting",
            hex(&message.id)
        )))
    } else {
        Err(Error::ConversationInactive {
            id: hex(&message.conversation_id),
        })
    }
}

/// Lower-case hexadecimal, for ids in messages.
pub(crate) use crate::records::hex;

/// `member_ids` and `metadata` as the JSON text the schema stores.
fn conversation_json(conversation: &Conversation) -> Result<(String, String)> {
    let encode = |error: serde_json::Error| {
        Error::invalid(format!(
            "conversation fields cannot be encoded as JSON: {error}"
        ))
    };
    Ok((
        serde_json::to_string(&conversation.member_ids).map_err(encode)?,
        serde_json::to_string(&conversation.metadata).map_err(encode)?,
    ))
}

/// A row of [`CONVERSATION_COLUMNS`].
pub(crate) fn conversation_from_row(row: &Row<'_>) -> rusqlite::Result<Conversation> {
    Ok(Conversation {
        id: row.get(0)?,
        kind: text_enum(row, 1)?,
        created_at_ns: row.get(2)?,
        name: row.get(3)?,
        dm_peer: row.get(4)?,
        added_by: row.get(5)?,
        member_ids: json_column(row, 6)?,
        metadata: json_column(row, 7)?,
        last_message_ns: row.get(8)?,
    })
}

/// A row of [`MESSAGE_COLUMNS`].
pub(crate) fn message_from_row(row: &Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: row.get(0)?,
        conversation_id: row.get(1)?,
        sender_id: row.get(2)?,
        sender_installation_id: row.get(3)?,
        sent_at_ns: row.get(4)?,
        kind: text_enum(row, 5)?,
        content_type: row.get(6)?,
        content: row.get(7)?,
        delivery_status: text_enum(row, 8)?,
        reference_id: row.get(9)?,
        expires_at_ns: row.get(10)?,
    })
}

/// A row of [`CONSENT_COLUMNS`].
pub(crate) fn consent_from_row(row: &Row<'_>) -> rusqlite::Result<Consent> {
    Ok(Consent {
        entity_type: text_enum(row, 0)?,
        entity: row.get(1)?,
        state: text_enum(row, 2)?,
        updated_at_ns: row.get(3)?,
    })
}

/// Decodes a JSON text column, reporting bad JSON as a conversion failure.
fn json_column<T: serde::de::DeserializeOwned>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    serde_json::from_str(text_column(row, index)?).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(error))
    })
}

/// A record enum stored as one of a fixed set of words.
trait TextEnum: Sized {
    /// What the column holds, for error messages.
    const WHAT: &'static str;
    /// The word stored for this value.
    fn name(self) -> &'static str;
    /// The value a word stands for.
    fn parse(word: &str) -> Option<Self>;
}

/// Implements [`TextEnum`] from one list of variants and words, which must
/// match the schema's CHECK constraints.
macro_rules! text_enum_words {
    ($ty:ty, $what:literal, $($variant:path => $word:literal),+ $(,)?) => {
        impl TextEnum for $ty {
            const WHAT: &'static str = $what;
            fn name(self) -> &'static str {
                match self {
                    $($variant => $word),+
                }
            }
            fn parse(word: &str) -> Option<Self> {
                match word {
                    $($word => Some($variant),)+
                    _ => None,
                }
            }
        }
    };
}

text_enum_words!(ConversationKind, "conversation kind",
    ConversationKind::Group => "group",
    ConversationKind::Dm => "dm",
);
text_enum_words!(MessageKind, "message kind",
    MessageKind::Application => "application",
    MessageKind::MembershipChange => "membership_change",
);
text_enum_words!(DeliveryStatus, "delivery status",
    DeliveryStatus::Published => "published",
    DeliveryStatus::Unpublished => "unpublished",
    DeliveryStatus::Failed => "failed",
);
text_enum_words!(ConsentEntityType, "consent entity type",
    ConsentEntityType::Conversation => "conversation",
    ConsentEntityType::Inbox => "inbox",
    ConsentEntityType::Address => "address",
);
text_enum_words!(ConsentState, "consent state",
    ConsentState::Unknown => "unknown",
    ConsentState::Allowed => "allowed",
    ConsentState::Denied => "denied",
);

/// Reads a [`TextEnum`] column; an unknown word is a conversion failure.
fn text_enum<T: TextEnum>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    let word = text_column(row, index)?;
    T::parse(word).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            Type::Text,
            format!("{word:?} is not a known {}", T::WHAT).into(),
        )
    })
}

/// Borrows a TEXT column without copying it.
fn text_column<'row>(row: &'row Row<'_>, index: usize) -> rusqlite::Result<&'row str> {
    match row.get_ref(index)? {
        ValueRef::Text(bytes) => std::str::from_utf8(bytes).map_err(|error| {
            rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(error))
        }),
        other => Err(rusqlite::Error::InvalidColumnType(
            index,
            row.as_ref().column_name(index).unwrap_or("?").to_owned(),
            other.data_type(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use proptest::prelude::*;

    use super::*;
    use crate::records::tests::records;

    fn memory_db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        conn.execute_batch(REFERENCE_SCHEMA).unwrap();
        conn
    }

    fn import_records(conn: &Connection, records: &[Record]) -> ImportReport {
        let mut inserter = RecordInserter::new(conn, InsertMode::Additive).unwrap();
        let mut report = ImportReport::default();
        for record in records {
            let inserted = inserter.insert(record).unwrap();
            report.count(record, inserted);
        }
        report
    }

    fn snapshot(conn: &Connection, options: &CreateOptions) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        read_snapshot(conn, options, &mut |record| {
            out.push(record.clone());
            Ok(())
        })?;
        Ok(out)
    }

    /// What an additive import of `records` into an empty database holds,
    /// in snapshot order: the first conversation and message of each id, the
    /// newest consent of each entity (the first among equals).
    fn expected(records: &[Record]) -> Vec<Record> {
        let mut conversations = BTreeMap::new();
        let mut messages: BTreeMap<Vec<u8>, Message> = BTreeMap::new();
        let mut consent: BTreeMap<(&str, String), Consent> = BTreeMap::new();
        for record in records {
            match record {
                Record::Conversation(c) => {
                    conversations
                        .entry(c.id.clone())
                        .or_insert_with(|| c.clone());
                }
                Record::Message(m) => {
                    messages.entry(m.id.clone()).or_insert_with(|| m.clone());
                }
                Record::Consent(c) => {
                    let key = (c.entity_type.name(), c.entity.clone());
                    match consent.get(&key) {
                        Some(old) if old.updated_at_ns >= c.updated_at_ns => {}
                        _ => {
                            consent.insert(key, c.clone());
                        }
                    }
                }
            }
        }
        let mut out = Vec::new();
        for (id, conversation) in conversations {
            out.push(Record::Conversation(conversation));
            let mut mine: Vec<&Message> = messages
                .values()
                .filter(|m| m.conversation_id == id)
                .collect();
            mine.sort_by(|a, b| (a.sent_at_ns, &a.id).cmp(&(b.sent_at_ns, &b.id)));
            out.extend(mine.into_iter().cloned().map(Record::Message));
        }
        out.extend(consent.into_values().map(Record::Consent));
        out
    }

    proptest! {
        #[test]
        fn records_round_trip_through_the_tables(records in records()) {
            let conn = memory_db();
            import_records(&conn, &records);
            let back = snapshot(&conn, &CreateOptions::default()).unwrap();
            prop_assert_eq!(back, expected(&records));
            // A second import finds everything already there.
            let again = import_records(&conn, &records);
            prop_assert_eq!(again.conversations.inserted + again.messages.inserted + again.consent.inserted, 0);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn records_round_trip_through_an_archive(records in records()) {
            let dir = tempfile::tempdir().unwrap();
            let (source, archive, target) =
                (dir.path().join("source.db"), dir.path().join("a.keepsake"), dir.path().join("target.db"));
            import_records(&open_database(&source).unwrap(), &records);
            let key = crate::ArchiveKey::generate();
            create_archive(&source, &archive, &[&key], &CreateOptions::default()).unwrap();
            import_archive(&archive, &[key.into()], &target).unwrap();
            let everything = CreateOptions::default();
            let back = snapshot(&open_database(&target).unwrap(), &everything).unwrap();
            prop_assert_eq!(back, expected(&records));
        }
    }

    #[test]
    fn extreme_values_survive_exactly() {
        let conversation = Conversation {
            id: Vec::new(),
            kind: ConversationKind::Dm,
            created_at_ns: i64::MIN,
            name: Some(String::new()),
            dm_peer: None,
            added_by: Some("nul \0 inside, RTL \u{202e}עברית, 🏳️‍🌈".into()),
            member_ids: vec![String::new(), "\"quoted\" \\ back".into()],
            metadata: [(String::new(), String::new()), ("ключ".into(), "值".into())].into(),
            last_message_ns: Some(i64::MAX),
        };
        let base = Message {
            id: vec![0],
            conversation_id: Vec::new(),
            sender_id: String::new(),
            sender_installation_id: Vec::new(),
            sent_at_ns: i64::MIN,
            kind: MessageKind::MembershipChange,
            content_type: String::new(),
            content: Vec::new(),
            delivery_status: DeliveryStatus::Failed,
            reference_id: Some(Vec::new()),
            expires_at_ns: Some(i64::MIN),
        };
        let other = Message {
            id: vec![0xff; 64],
            sent_at_ns: i64::MAX,
            content: (0..=255).collect(),
            reference_id: None,
            expires_at_ns: None,
            delivery_status: DeliveryStatus::Unpublished,
            kind: MessageKind::Application,
            ..base.clone()
        };
        let consent = Consent {
            entity_type: ConsentEntityType::Address,
            entity: String::new(),
            state: ConsentState::Unknown,
            updated_at_ns: i64::MAX,
        };
        let records = vec![
            Record::Conversation(conversation),
            Record::Message(other),
            Record::Message(base),
            Record::Consent(consent),
        ];
        let conn = memory_db();
        import_records(&conn, &records);
        assert_eq!(
            snapshot(&conn, &CreateOptions::default()).unwrap(),
            expected(&records)
        );
        // Some("") and None stay apart in the table itself.
        let (null_reference, empty_reference): (i64, i64) = conn
            .query_row(
                "SELECT sum(reference_id IS NULL), sum(length(reference_id) = 0) FROM messages",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!((null_reference, empty_reference), (1, 1));
    }

    #[test]
    fn every_enum_word_passes_the_schema_checks() {
        let conn = memory_db();
        let mut records = Vec::new();
        for (n, kind) in [ConversationKind::Group, ConversationKind::Dm]
            .into_iter()
            .enumerate()
        {
            records.push(Record::Conversation(Conversation {
                id: vec![n as u8],
                kind,
                created_at_ns: 0,
                name: None,
                dm_peer: None,
                added_by: None,
                member_ids: Vec::new(),
                metadata: BTreeMap::new(),
                last_message_ns: None,
            }));
        }
        let mut n = 0u8;
        for kind in [MessageKind::Application, MessageKind::MembershipChange] {
            for delivery_status in [
                DeliveryStatus::Published,
                DeliveryStatus::Unpublished,
                DeliveryStatus::Failed,
            ] {
                n += 1;
                records.push(Record::Message(Message {
                    id: vec![n],
                    conversation_id: vec![0],
                    sender_id: "s".into(),
                    sender_installation_id: vec![1],
                    sent_at_ns: i64::from(n),
                    kind,
                    content_type: "t".into(),
                    content: vec![2],
                    delivery_status,
                    reference_id: None,
                    expires_at_ns: None,
                }));
            }
        }
        for entity_type in [
            ConsentEntityType::Conversation,
            ConsentEntityType::Inbox,
            ConsentEntityType::Address,
        ] {
            for state in [
                ConsentState::Unknown,
                ConsentState::Allowed,
                ConsentState::Denied,
            ] {
                records.push(Record::Consent(Consent {
                    entity_type,
                    entity: format!("{state:?}"),
                    state,
                    updated_at_ns: 0,
                }));
            }
        }
        let report = import_records(&conn, &records);
        assert_eq!(report.conversations.inserted, 2);
        assert_eq!(report.messages.inserted, 6);
        assert_eq!(report.consent.inserted, 9);
        assert_eq!(
            snapshot(&conn, &CreateOptions::default()).unwrap(),
            expected(&records)
        );
    }

    #[test]
    fn damaged_rows_are_errors_not_panics() {
        // Another application's tables, without this schema's type and CHECK constraints.
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE conversations (id, kind, created_at_ns, name, dm_peer, added_by,
                 member_ids, metadata, last_message_ns, is_active);
             CREATE TABLE messages (id, conversation_id, sender_id, sender_installation_id,
                 sent_at_ns, kind, content_type, content, delivery_status, reference_id,
                 expires_at_ns);
             CREATE TABLE consent (entity_type, entity, state, updated_at_ns);",
        )
        .unwrap();
        let good = "INSERT INTO conversations VALUES (x'01', 'group', 1, NULL, NULL, NULL, '[]', '{}', NULL, 1)";
        let damaged = [
            "INSERT INTO conversations VALUES (x'01', 'channel', 1, NULL, NULL, NULL, '[]', '{}', NULL, 1)",
            "INSERT INTO conversations VALUES (x'01', 'group', 1, NULL, NULL, NULL, '[1,2]', '{}', NULL, 1)",
            "INSERT INTO conversations VALUES (x'01', 'group', 1, NULL, NULL, NULL, '[]', 'not json', NULL, 1)",
            "INSERT INTO conversations VALUES ('text id', 'group', 1, NULL, NULL, NULL, '[]', '{}', NULL, 1)",
            "INSERT INTO conversations VALUES (x'01', 'group', 1.5, NULL, NULL, NULL, '[]', '{}', NULL, 1)",
            "INSERT INTO conversations VALUES (x'01', 7, 1, NULL, NULL, NULL, '[]', '{}', NULL, 1)",
            "INSERT INTO conversations VALUES (x'01', 'group', 1, x'ff', NULL, NULL, '[]', '{}', NULL, 1)",
            "INSERT INTO conversations VALUES (x'01', 'group', 1, CAST(x'ff' AS TEXT), NULL, NULL, '[]', '{}', NULL, 1)",
            "INSERT INTO conversations VALUES (x'01', 'group', 1, NULL, NULL, NULL, NULL, '{}', NULL, 1)",
            &format!(
                "{good}; INSERT INTO messages VALUES (x'02', x'01', 's', x'', 1, 'application', 't', x'', 'lost', NULL, NULL)"
            ),
            &format!(
                "{good}; INSERT INTO messages VALUES (x'02', x'01', 's', x'', 1, 'application', 't', 'text', 'failed', NULL, NULL)"
            ),
            "INSERT INTO consent VALUES ('wallet', 'e', 'allowed', 1)",
            "INSERT INTO consent VALUES ('inbox', 'e', 'maybe', 1)",
            "INSERT INTO consent VALUES ('inbox', 'e', 'allowed', NULL)",
        ];
        for insert in damaged {
            conn.execute_batch(
                "DELETE FROM conversations; DELETE FROM messages; DELETE FROM consent",
            )
            .unwrap();
            conn.execute_batch(insert).unwrap();
            let result = snapshot(&conn, &CreateOptions::default());
            assert!(
                matches!(result, Err(Error::Database(_))),
                "{insert}: {result:?}"
            );
        }
    }

    #[test]
    fn messages_are_read_in_archive_order_without_sorting() {
        let conn = memory_db();
        let ranges = [
            (None, None),
            (Some(1), None),
            (None, Some(2)),
            (Some(1), Some(2)),
        ];
        for (start_ns, end_ns) in ranges {
            let options = CreateOptions {
                start_ns,
                end_ns,
                ..CreateOptions::default()
            };
            for query in [options.message_query(), options.conversation_query()] {
                let mut plan = conn
                    .prepare(&format!("EXPLAIN QUERY PLAN {query}"))
                    .unwrap();
                let details: Vec<String> = plan
                    .query_map(
                        rusqlite::named_params! {":conversation": [0u8; 0].as_slice(), ":start": 1, ":end": 2}
                            .iter()
                            .filter(|(name, _)| query.contains(name))
                            .copied()
                            .collect::<Vec<_>>()
                            .as_slice(),
                        |row| row.get::<_, String>(3),
                    )
                    .unwrap()
                    .collect::<rusqlite::Result<_>>()
                    .unwrap();
                let plan = details.join("; ");
                assert!(!plan.contains("TEMP B-TREE"), "{query}: {plan}");
                assert!(!plan.contains("SCAN m"), "{query}: {plan}");
            }
        }
    }

    #[test]
    fn enum_words_are_distinct_and_parse_back() {
        fn check<T: TextEnum + Copy + PartialEq + std::fmt::Debug>(all: &[T]) {
            let words: HashSet<&str> = all.iter().map(|v| v.name()).collect();
            assert_eq!(words.len(), all.len());
            for &value in all {
                assert_eq!(T::parse(value.name()), Some(value));
            }
            assert_eq!(T::parse("bogus"), None);
        }
        check(&[ConversationKind::Group, ConversationKind::Dm]);
        check(&[MessageKind::Application, MessageKind::MembershipChange]);
        check(&[
            DeliveryStatus::Published,
            DeliveryStatus::Unpublished,
            DeliveryStatus::Failed,
        ]);
        check(&[
            ConsentEntityType::Conversation,
            ConsentEntityType::Inbox,
            ConsentEntityType::Address,
        ]);
        check(&[
            ConsentState::Unknown,
            ConsentState::Allowed,
            ConsentState::Denied,
        ]);
    }
}
