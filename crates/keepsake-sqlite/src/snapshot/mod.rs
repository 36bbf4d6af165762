//! Page mode (spec §6.4): a whole SQLite database archived as its pages, and
//! rebuilt from them.
//!
//! Pages are read through SQLite's `sqlite_dbpage` virtual table inside one
//! read transaction, never from the file behind SQLite's back: the pager
//! serves each page as of the transaction's snapshot, WAL frames included, so
//! the archive is consistent while other connections keep writing. The
//! bundled SQLite has that table only when built with
//! `LIBSQLITE3_FLAGS=-DSQLITE_ENABLE_DBPAGE_VTAB` (this crate's
//! `.cargo/config.toml` sets it; an embedding project needs the same).

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::DbResult;
use crate::schema::open_source;
use keepsake::body::records::{ArchiveMetadata, ArchiveMode, Elements};
use keepsake::crypto::Recipient;
use keepsake::error::{Error, Result};
use keepsake::progress::{Phase, Progress, Tracker};
use keepsake::storage::{ArchiveSink, CountingWriter, FileSink, WriteMode, write_then_commit};
use keepsake::stream::writer::{ArchiveWriter, WriterOptions};

mod estimate;
mod header;
mod restore;

pub use estimate::estimate_page_archive;
pub use restore::{RestoreOptions, RestoreReport, restore_database, restore_database_from};

use header::{DatabaseHeader, walk_freelist};

/// How [`create_page_archive`] writes and reports.
#[derive(Clone, Debug, Default)]
pub struct PageArchiveOptions {
    /// Chunking and compression; the chunk size must hold at least one page
    /// (8 + 4 + page size bytes).
    pub writer: WriterOptions,
    /// Where progress goes (pages count as records), and how the caller cancels.
    pub progress: Progress,
}

/// What [`create_page_archive`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageArchiveReport {
    /// The archive's length in bytes.
    pub bytes: u64,
    /// The database's page size.
    pub page_size: u32,
    /// The database's size in pages at the snapshot.
    pub database_pages: u32,
    /// Pages written: every page but the free-list leaves.
    pub pages: u64,
}

/// The metadata chunk of a pages archive: mode pages, every element, no time range.
pub fn page_metadata() -> ArchiveMetadata {
    let mut metadata = ArchiveMetadata::now();
    metadata.mode = ArchiveMode::Pages;
    metadata.elements = Elements {
        messages: true,
        consent: true,
    };
    metadata.start_ns = None;
    metadata.end_ns = None;
    metadata
}

/// Writes a pages archive of the whole database at `db` to a new file at
/// `archive`, which `key` opens.
///
/// One read transaction covers every read, so the archive is the database as
/// of one moment even while other connections write (in WAL mode they are
/// not blocked). Pages stream from SQLite to the archive one chunk at a time.
/// Free-list leaf pages are left out; they restore as zeros. As with
/// [`crate::create_archive`], the archive goes to a temporary file that is
/// renamed into place only when complete, and an existing `archive` is refused.
pub fn create_page_archive<R: Clone + Into<Recipient>>(
    db: &Path,
    archive: &Path,
    recipients: &[R],
    options: &PageArchiveOptions,
) -> Result<PageArchiveReport> {
    let mut sink = FileSink::create(archive, WriteMode::CreateNew)?;
    create_page_archive_to(db, &mut sink, recipients, options)
}

/// As [`create_page_archive`], into any [`ArchiveSink`], which is committed
/// once the archive is whole and aborted on any error or cancellation.
pub fn create_page_archive_to<S: ArchiveSink + ?Sized, R: Clone + Into<Recipient>>(
    db: &Path,
    sink: &mut S,
    recipients: &[R],
    options: &PageArchiveOptions,
) -> Result<PageArchiveReport> {
    let mut tracker = options.progress.track(Phase::Create);
    let report = write_then_commit(sink, |sink| {
        write_page_archive(db, sink, recipients, options, &mut tracker)
    })?;
    // Finished only once the archive is there.
    tracker.finish();
    Ok(report)
}

fn write_page_archive<S: ArchiveSink + ?Sized, R: Clone + Into<Recipient>>(
    db: &Path,
    sink: &mut S,
    recipients: &[R],
    options: &PageArchiveOptions,
    tracker: &mut Tracker,
) -> Result<PageArchiveReport> {
    let mut conn = open_source(db)?;

    let snapshot = conn
        .transaction_with_behavior(TransactionBehavior::Deferred)
        .db()?;
    let (page_size, database_pages, free_leaves) = geometry(&snapshot)?;

    tracker.set_totals(
        None,
        Some(u64::from(database_pages) - free_leaves.len() as u64),
    );
    let counted = CountingWriter::new(sink);
    let mut writer = ArchiveWriter::new(counted, recipients, &page_metadata(), &options.writer)?;
    writer.set_page_geometry(page_size, database_pages)?;
    let mut pages = 0;
    {
        let mut statement = snapshot
            .prepare("SELECT pgno, data FROM sqlite_dbpage('main') ORDER BY pgno")
            .db()?;
        let mut rows = statement.query([]).db()?;
        while let Some(row) = rows.next().db()? {
            let number: u32 = row.get(0).db()?;
            if free_leaves.binary_search(&number).is_ok() {
                continue;
            }
            let data =
                row.get_ref(1).db()?.as_blob().map_err(|_| {
                    Error::invalid("sqlite_dbpage returned a page that is not a blob")
                })?;
            writer.write_page(number, data)?;
            pages += 1;
            tracker.update(writer.bytes_written(), pages, writer.chunks_written())?;
        }
    }
    let (counted, trailer) = writer.finish()?;
    // Ends the read transaction; nothing was written through it.
    snapshot.commit().db()?;
    let bytes = counted.written();
    // The last chance to cancel: after the commit the archive exists.
    tracker.update(bytes, pages, trailer.chunk_count + 1)?;
    Ok(PageArchiveReport {
        bytes,
        page_size,
        database_pages,
        pages: trailer.pages,
    })
}

/// The page size, the size in pages and the free-list leaves of the
/// snapshot that `snapshot`, a transaction not read from yet, starts.
fn geometry(snapshot: &Connection) -> Result<(u32, u32, Vec<u32>)> {
    // A first read starts the read transaction: from here on every read,
    // pragmas included, sees this one snapshot.
    snapshot
        .query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
        .db()?;
    let page_size: u32 = snapshot
        .query_row("PRAGMA main.page_size", [], |row| row.get(0))
        .db()?;
    let database_pages: u32 = snapshot
        .query_row("PRAGMA main.page_count", [], |row| row.get(0))
        .db()?;
    let free_leaves = freelist_leaves(snapshot, database_pages)?;
    Ok((page_size, database_pages, free_leaves))
}

/// Reads one page of the snapshot.
fn read_page(conn: &Connection, number: u32) -> Result<Vec<u8>> {
    conn.query_row(
        "SELECT data FROM sqlite_dbpage('main') WHERE pgno = ?1",
        [number],
        |row| row.get(0),
    )
    .map_err(|error| match error {
        rusqlite::Error::SqliteFailure(_, Some(ref message))
            if message.contains("no such table") =>
        {
            Error::invalid(
                "this build of SQLite lacks the sqlite_dbpage table; build with \
                 LIBSQLITE3_FLAGS=-DSQLITE_ENABLE_DBPAGE_VTAB",
            )
        }
        other => Error::database(other),
    })
}

/// The free-list leaf pages of the snapshot, sorted: the pages that need
/// not travel. Trunk pages travel, since they hold the list itself. The walk
/// is bounded by the database's size, so a damaged list cannot loop.
fn freelist_leaves(conn: &Connection, database_pages: u32) -> Result<Vec<u32>> {
    let page = read_page(conn, 1)?;
    let header = DatabaseHeader::parse(&page)
        .ok_or_else(|| Error::invalid("page 1 of the database is not a SQLite header"))?;
    let (mut leaves, _) = walk_freelist(&header, database_pages, &mut |number| {
        read_page(conn, number)
    })?;
    leaves.sort_unstable();
    leaves.dedup();
    Ok(leaves)
}
