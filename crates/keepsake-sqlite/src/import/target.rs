//! The database an import writes into, in one transaction that commits only
//! once the whole archive has been read and checked.
//!
//! - An existing database is written in place, in one IMMEDIATE transaction
//!   in the journal mode it is in (a write-ahead log when other connections
//!   may be reading it), so that after any failure or kill SQLite's own
//!   recovery leaves it exactly as it was.
//! - A new database is built in a temporary file beside it, owner-only,
//!   with no journal on disk (nobody else can see it), its tables filled
//!   before its secondary indexes are built in one sort each; it is
//!   switched to WAL mode, synced, and renamed into place. Until that rename
//!   there is nothing under its name.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use keepsake::atomic::PendingFile;
use keepsake::error::{Error, Result};

use super::ImportReport;
use super::records::Importer;
use crate::DbResult;
use crate::files::{owner_only, remove_side_files};
use crate::schema::{REFERENCE_SCHEMA, connect_as_it_is, reference_statements, set_journal_mode};

/// The page cache of an import's connection, in KiB: small, since memory
/// is better spent on a larger window of rows in id order (see
/// [`super::records`]), and SQLite sorts in as much to build an index.
const CACHE_KIB: i64 = 8 << 10;

/// What hands an import its records.
pub(super) type Feed<'a> = dyn FnMut(&mut Importer<'_>) -> Result<()> + 'a;

/// Runs `feed` inside one transaction on `db` (created with
/// [`REFERENCE_SCHEMA`] if it does not exist), and commits only when `feed`
/// returns `Ok`. On any error the database is left as it was, and a new one
/// is not created.
pub(super) fn import_into(db: &Path, feed: &mut Feed<'_>) -> Result<ImportReport> {
    if std::fs::symlink_metadata(db).is_ok() {
        into_existing(db, feed)
    } else {
        into_new(db, feed)
    }
}

fn into_existing(db: &Path, feed: &mut Feed<'_>) -> Result<ImportReport> {
    let mut conn = connect_as_it_is(db)?;
    conn.pragma_update(None, "cache_size", -CACHE_KIB).db()?;
    // Dropping the transaction on an error (or a panic) rolls it back.
    let transaction = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    transaction.execute_batch(REFERENCE_SCHEMA).db()?;
    let report = fill(&transaction, feed)?;
    transaction.commit().db()?;
    Ok(report)
}

fn into_new(db: &Path, feed: &mut Feed<'_>) -> Result<ImportReport> {
    let pending = PendingFile::beside(db)?;
    owner_only(pending.temp.as_file())?;
    let path = pending.temp.path().to_path_buf();
    let built = build(&path, feed);
    remove_side_files(&path);
    let report = built?;
    pending.temp.as_file().sync_all()?;
    // Nothing is under `db` until this rename; dropping `pending` on an
    // error removes the temporary file.
    pending.persist(db)?;
    Ok(report)
}

/// Fills the new database at `path` and closes it.
fn build(path: &Path, feed: &mut Feed<'_>) -> Result<ImportReport> {
    let mut conn = Connection::open(path).db()?;
    // A failed statement must still roll back, so the journal is kept, in
    // memory: the database is new, so there is nothing for it to hold but
    // page 1. Nothing is synced until the file is complete.
    set_journal_mode(&conn, "MEMORY")?;
    conn.pragma_update(None, "synchronous", "OFF").db()?;
    conn.pragma_update(None, "cache_size", -CACHE_KIB).db()?;
    // Every message goes in after its conversation (the reader holds the
    // archive to dependency order, and the import leaves out messages, never
    // their conversations), so checking each one's conversation here would
    // only cost time.
    conn.pragma_update(None, "foreign_keys", false).db()?;
    let (tables, indexes) = reference_statements();
    let transaction = conn.transaction().db()?;
    for statement in tables {
        transaction.execute_batch(statement).db()?;
    }
    let report = fill(&transaction, feed)?;
    // One more thread sorts while this one merges.
    transaction.pragma_update(None, "threads", 1).db()?;
    for statement in indexes {
        transaction.execute_batch(statement).db()?;
    }
    transaction.commit().db()?;
    // As every database this adapter creates: readers never block writers.
    set_journal_mode(&conn, "WAL")?;
    conn.close().map_err(|(_, error)| Error::database(error))?;
    Ok(report)
}

fn fill(conn: &Connection, feed: &mut Feed<'_>) -> Result<ImportReport> {
    let mut importer = Importer::new(conn)?;
    feed(&mut importer)?;
    importer.finish()
}
