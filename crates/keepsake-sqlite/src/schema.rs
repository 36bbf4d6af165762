//! The reference schema (`REFERENCE_SCHEMA`) and how this adapter connects
//! to a database: foreign keys on, a busy timeout, WAL mode, and read-only
//! for the source of an archive.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use keepsake::error::{Error, Result};

use crate::DbResult;

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
///   application reactivates it. Not carried in archives. An import adds
///   messages only to conversations it creates or an earlier import created
///   (0), never to an active one (1), whatever the archive holds.
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
///   decision wins, and a decision dated more than 24 hours after the
///   importing machine's clock is not imported.
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
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) const CONVERSATION_COLUMNS: &str = "id, kind, created_at_ns, name, dm_peer, added_by, \
     member_ids, metadata, last_message_ns";

pub(crate) const MESSAGE_COLUMNS: &str = "id, conversation_id, sender_id, sender_installation_id, \
     sent_at_ns, kind, content_type, content, delivery_status, reference_id, expires_at_ns";

pub(crate) const CONSENT_COLUMNS: &str = "entity_type, entity, state, updated_at_ns";

/// Opens the database at `path`, creating it if needed, and applies
/// [`REFERENCE_SCHEMA`]. The connection has foreign keys on, a busy timeout,
/// and the database is switched to WAL mode so that readers (such as
/// [`create_archive`]) never block writers.
pub fn open_database(path: &Path) -> Result<Connection> {
    let conn = connect(path)?;
    conn.execute_batch(REFERENCE_SCHEMA).db()?;
    Ok(conn)
}

/// Opens or creates a database with this adapter's connection settings,
/// without touching its tables.
pub(crate) fn connect(path: &Path) -> Result<Connection> {
    let conn = connect_as_it_is(path)?;
    set_journal_mode(&conn, "WAL")?;
    Ok(conn)
}

/// Opens a database with a busy timeout and foreign keys on, leaving its
/// journal mode as it is: whether other connections may be reading it is not
/// this connection's to decide.
pub(crate) fn connect_as_it_is(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).db()?;
    conn.busy_timeout(BUSY_TIMEOUT).db()?;
    conn.pragma_update(None, "foreign_keys", true).db()?;
    Ok(conn)
}

/// Sets the journal mode, which SQLite may decline (an in-memory database
/// stays in "memory" mode, which is fine): the pragma returns the mode in force.
pub(crate) fn set_journal_mode(conn: &Connection, mode: &str) -> Result<()> {
    let _mode: String = conn
        .query_row(&format!("PRAGMA journal_mode = {mode}"), [], |row| {
            row.get(0)
        })
        .db()?;
    Ok(())
}

/// The statements of [`REFERENCE_SCHEMA`] that create its tables, and those
/// that create its indexes: a new database can be filled before its
/// secondary indexes are built, in one sort each, rather than kept up row
/// by row.
pub(crate) fn reference_statements() -> (Vec<&'static str>, Vec<&'static str>) {
    REFERENCE_SCHEMA
        .split(';')
        .map(str::trim)
        .filter(|statement| !statement.is_empty())
        .partition(|statement| !statement.starts_with("CREATE INDEX"))
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
    )
    .db()?;
    conn.busy_timeout(BUSY_TIMEOUT).db()?;
    Ok(conn)
}
