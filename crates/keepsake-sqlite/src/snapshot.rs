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

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::DbResult;
use crate::import::ReadTotals;
use crate::schema::open_source;
use keepsake::atomic::PendingFile;
use keepsake::body::records::{ArchiveMetadata, ArchiveMode, Elements};
use keepsake::crypto::{ArchiveKey, Identity, Recipient};
use keepsake::error::{Error, Result};
use keepsake::limits::Limits;
use keepsake::progress::{Phase, Progress};
use keepsake::storage::{ArchiveSink, CountingWriter, FileSink, WriteMode, write_then_commit};
use keepsake::stream::reader::{ArchiveReader, Item};
use keepsake::stream::writer::{ArchiveWriter, WriterOptions};

/// The database header fields the snapshot reads from page 1 (big-endian,
/// as SQLite stores them): the first free-list trunk page and the number of
/// free-list pages.
const FREELIST_TRUNK_AT: usize = 32;
const FREELIST_COUNT_AT: usize = 36;

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
    write_then_commit(sink, |sink| {
        write_page_archive(db, sink, recipients, options)
    })
}

fn write_page_archive<S: ArchiveSink + ?Sized, R: Clone + Into<Recipient>>(
    db: &Path,
    sink: &mut S,
    recipients: &[R],
    options: &PageArchiveOptions,
) -> Result<PageArchiveReport> {
    let mut conn = open_source(db)?;

    let snapshot = conn
        .transaction_with_behavior(TransactionBehavior::Deferred)
        .db()?;
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
    let free_leaves = freelist_leaves(&snapshot, database_pages)?;

    let mut tracker = options.progress.track(Phase::Create);
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
    tracker.finish();
    Ok(PageArchiveReport {
        bytes,
        page_size,
        database_pages,
        pages: trailer.pages,
    })
}

/// How many bytes of pages are compressed, about, to measure how well a
/// database's pages compress: in windows of one chunk's pages (at most
/// [`SAMPLE_WINDOW_BYTES`]), at least [`MIN_SAMPLE_WINDOWS`] of them.
const SAMPLE_BYTES: u64 = 4 << 20;
const MIN_SAMPLE_WINDOWS: u64 = 4;
/// The largest window of consecutive pages compressed as one batch body: a
/// whole default chunk, since zstd finds more to share in a larger body.
const SAMPLE_WINDOW_BYTES: u64 = 1 << 20;
/// The share of the compressed pages the range around a sampled estimate spans either side.
const SAMPLED_BAND: f64 = 0.10;

/// Estimates the size of the archive [`create_page_archive`] would write
/// from the database at `db` with `writer` options, without writing it.
///
/// The pages that travel (all but the free-list leaves), their batches and
/// framing are counted exactly; their compressed size is the page content
/// times a ratio measured by compressing about 4 MiB of evenly spread windows
/// of consecutive pages as batch bodies, the way the writer does (everything,
/// when the database is that small, and the estimate is then exact). Counts
/// of records are zero: a snapshot holds pages.
pub fn estimate_page_archive(db: &Path, writer: &WriterOptions) -> Result<crate::SizeEstimate> {
    let mut conn = open_source(db)?;
    let snapshot = conn
        .transaction_with_behavior(TransactionBehavior::Deferred)
        .db()?;
    snapshot
        .query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
        .db()?;
    let page_size: u32 = snapshot
        .query_row("PRAGMA main.page_size", [], |row| row.get(0))
        .db()?;
    let database_pages: u32 = snapshot
        .query_row("PRAGMA main.page_count", [], |row| row.get(0))
        .db()?;
    let free_leaves = freelist_leaves(&snapshot, database_pages)?;

    // The header, the metadata chunk and the final frame, written for real.
    let key = ArchiveKey::generate();
    let mut empty = ArchiveWriter::new(Vec::new(), &[&key], &page_metadata(), writer)?;
    empty.set_page_geometry(page_size, database_pages)?;
    let metadata_len = {
        let mut body = Vec::new();
        keepsake::body::records::encode_into(&page_metadata(), &mut body)?;
        body.len() as u64
    };
    let fixed = empty.bytes_written() + keepsake::format::FINAL_FRAME_LEN as u64;

    let entry = u64::from(page_size) + keepsake::format::page_batch::PAGE_NUMBER_LEN as u64;
    let per_chunk =
        (u64::from(writer.chunk_size) - keepsake::format::page_batch::FIXED_LEN as u64) / entry;
    let pages = u64::from(database_pages) - free_leaves.len() as u64;
    let chunks = pages.div_ceil(per_chunk);
    let body_bytes = pages * entry + chunks * keepsake::format::page_batch::FIXED_LEN as u64;
    let framing = chunks * (keepsake::format::FRAME_HEADER_LEN + keepsake::format::TAG_LEN) as u64;

    // Windows of consecutive travelling pages, evenly spread.
    let travelling: Vec<u32> = (1..=database_pages)
        .filter(|number| free_leaves.binary_search(number).is_err())
        .collect();
    let window = (SAMPLE_WINDOW_BYTES / entry).clamp(1, per_chunk) as usize;
    let windows = (SAMPLE_BYTES / (window as u64 * entry)).max(MIN_SAMPLE_WINDOWS) as usize;
    let exact = travelling.len() <= window * windows;
    let (window, starts): (usize, Vec<usize>) = if exact {
        let window = per_chunk as usize;
        (window, (0..travelling.len()).step_by(window).collect())
    } else {
        let stride = travelling.len() / windows;
        (
            window,
            (0..windows)
                .map(|i| i * stride + (stride - window) / 2)
                .collect(),
        )
    };
    let mut compressor = keepsake::body::compress::Compressor::new(writer.level)?;
    let (mut sampled_plain, mut sampled_stored) = (0u64, 0u64);
    let mut statement = snapshot.prepare(
        "SELECT pgno, data FROM sqlite_dbpage('main') WHERE pgno >= ?1 AND pgno <= ?2 ORDER BY pgno",
    ).db()?;
    for start in starts {
        let numbers = &travelling[start..(start + window).min(travelling.len())];
        let (Some(&first), Some(&last)) = (numbers.first(), numbers.last()) else {
            continue;
        };
        let mut builder = keepsake::body::pages::BatchBuilder::new(page_size, database_pages)?;
        let mut rows = statement.query([first, last]).db()?;
        while let Some(row) = rows.next().db()? {
            let number: u32 = row.get(0).db()?;
            if numbers.binary_search(&number).is_ok() {
                let data = row.get_ref(1).db()?.as_blob().map_err(|_| {
                    Error::invalid("sqlite_dbpage returned a page that is not a blob")
                })?;
                builder.push(number, data)?;
            }
        }
        if let Some(body) = builder.take() {
            sampled_plain += body.len() as u64;
            sampled_stored += compressor
                .compress(&body)
                .map_or(body.len(), |compressed| compressed.len())
                as u64;
        }
    }
    drop(statement);
    snapshot.commit().db()?;

    let ratio = if sampled_plain > 0 {
        sampled_stored as f64 / sampled_plain as f64
    } else {
        1.0
    };
    let stored = if exact {
        sampled_stored
    } else {
        (body_bytes as f64 * ratio).round() as u64
    };
    let index = page_index_len(
        empty.bytes_written() - metadata_len - FRAME_OVERHEAD,
        empty.bytes_written(),
        (stored + framing) / chunks.max(1),
        chunks,
    );
    let bytes = fixed + stored + framing + index + FRAME_OVERHEAD;
    let band = if exact {
        0
    } else {
        (stored as f64 * SAMPLED_BAND).round() as u64
    };
    Ok(crate::SizeEstimate {
        bytes,
        low_bytes: bytes - band.min(stored),
        high_bytes: (bytes + band).min(fixed + body_bytes + framing).max(bytes),
        conversations: 0,
        messages: 0,
        consent: 0,
        plaintext_bytes: metadata_len + body_bytes + index,
        chunks: chunks + 3,
        compression_ratio: ratio,
        sampled_bytes: sampled_plain,
    })
}

/// A frame's length beyond its body: frame header and tag.
const FRAME_OVERHEAD: u64 = (keepsake::format::FRAME_HEADER_LEN + keepsake::format::TAG_LEN) as u64;

/// The length of a pages archive's seek index body (spec §6.5.2), stored
/// uncompressed: no conversation, and one entry per chunk before it, each
/// an offset (a varint), the kind byte, two empty lists, two zero counts and
/// no time range. Offsets after the metadata chunk step by `chunk_stored`,
/// so a varint's length may be off by a byte near a power of 128.
fn page_index_len(header_len: u64, first_page_offset: u64, chunk_stored: u64, chunks: u64) -> u64 {
    const ENTRY_TAIL: u64 = 6;
    let varint = |value: u64| keepsake::body::records::varint_len(value) as u64;
    let mut len = 1 + varint(chunks + 1) + varint(header_len) + ENTRY_TAIL;
    let mut offset = first_page_offset;
    for _ in 0..chunks {
        len += varint(offset) + ENTRY_TAIL;
        offset += chunk_stored;
    }
    len
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
    let header = read_page(conn, 1)?;
    let be32 = |bytes: &[u8], at: usize| -> Option<u32> {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let damaged = || Error::invalid("the database's free list is damaged");
    let mut trunk = be32(&header, FREELIST_TRUNK_AT).ok_or_else(damaged)?;
    let total = be32(&header, FREELIST_COUNT_AT).ok_or_else(damaged)?;
    let mut leaves = Vec::new();
    let mut trunks = 0u32;
    while trunk != 0 {
        trunks += 1;
        if trunk > database_pages || trunks > database_pages {
            return Err(damaged());
        }
        let page = read_page(conn, trunk)?;
        let count = be32(&page, 4).ok_or_else(damaged)? as usize;
        for i in 0..count {
            let leaf = be32(&page, 8 + 4 * i).ok_or_else(damaged)?;
            if leaf == 0 || leaf > database_pages {
                return Err(damaged());
            }
            leaves.push(leaf);
        }
        trunk = be32(&page, 0).ok_or_else(damaged)?;
    }
    if u64::from(trunks) + leaves.len() as u64 != u64::from(total) {
        return Err(damaged());
    }
    leaves.sort_unstable();
    leaves.dedup();
    Ok(leaves)
}

/// How [`restore_database`] reports.
#[derive(Clone, Debug, Default)]
pub struct RestoreOptions {
    /// Where progress goes (pages count as records), and how the caller cancels.
    pub progress: Progress,
}

/// What [`restore_database`] rebuilt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreReport {
    /// The database's page size.
    pub page_size: u32,
    /// The database's size in pages.
    pub database_pages: u32,
    /// Pages the archive held; the others were free-list leaves, restored as zeros.
    pub pages: u64,
    /// The restored database's length in bytes.
    pub bytes: u64,
}

/// Rebuilds the database a pages archive holds as a new file at `out_db`,
/// opening the archive with any of `identities`.
///
/// Each page is written at `(number - 1) × page_size` of a temporary file in
/// the target directory; pages the archive leaves out stay zero and the file
/// is `database_pages × page_size` long. Only once the whole archive,
/// trailer included, has authenticated and SQLite's `PRAGMA integrity_check`
/// says `ok` is the file renamed to `out_db`. An existing `out_db` is refused;
/// on any error nothing is left under `out_db` and the temporary file is removed.
pub fn restore_database(
    archive: &Path,
    identities: &[Identity],
    out_db: &Path,
    options: &RestoreOptions,
) -> Result<RestoreReport> {
    let summary =
        keepsake::stream::reader::read_summary(File::open(archive)?, identities, Limits::default())
            .ok();
    let totals = summary.as_ref().map(ReadTotals::of).unwrap_or_default();
    restore_database_from(File::open(archive)?, identities, out_db, options, totals)
}

/// As [`restore_database`], from any byte stream (a download, a pipe),
/// reporting progress against `totals` when the caller knows them.
pub fn restore_database_from(
    source: impl Read,
    identities: &[Identity],
    out_db: &Path,
    options: &RestoreOptions,
    totals: ReadTotals,
) -> Result<RestoreReport> {
    let pending = PendingFile::beside(out_db)?;
    let mut tracker = options.progress.track(Phase::Restore);
    tracker.set_totals(totals.bytes, totals.records);
    let mut reader = ArchiveReader::new(source, identities, Limits::default())?;
    if reader.metadata().mode != ArchiveMode::Pages {
        return Err(Error::invalid(
            "this archive holds records, not database pages; use import to add them to a database",
        ));
    }
    let temp_path = pending.temp.path().to_path_buf();
    let result = (|| {
        let mut file = pending.temp.as_file();
        let mut geometry = None;
        let mut pages = 0u64;
        while let Some(item) = reader.next_item()? {
            let Item::Pages(batch) = item else {
                return Err(Error::invalid("a record batch in a pages archive"));
            };
            geometry = Some((batch.page_size, batch.database_pages));
            for page in &batch.pages {
                let at = u64::from(page.number - 1) * u64::from(batch.page_size);
                file.seek(SeekFrom::Start(at))?;
                file.write_all(&page.data)?;
                pages += 1;
            }
            tracker.update(reader.bytes_read(), pages, reader.chunks_read())?;
        }
        let (page_size, database_pages) =
            geometry.ok_or_else(|| Error::invalid("the archive holds no pages"))?;
        let bytes = u64::from(page_size) * u64::from(database_pages);
        file.set_len(bytes)?;
        file.sync_all()?;
        check_integrity(&temp_path)?;
        // The last chance to cancel: after the rename the database exists.
        tracker.update(reader.bytes_read(), pages, reader.chunks_read())?;
        Ok(RestoreReport {
            page_size,
            database_pages,
            pages,
            bytes,
        })
    })();
    let result = result.and_then(|report| {
        pending.persist(out_db)?;
        Ok(report)
    });
    // A failed check may leave SQLite's side files next to the temporary
    // file; the temporary file itself goes when `temp` is dropped.
    remove_side_files(&temp_path);
    if result.is_ok() {
        tracker.finish();
    }
    result
}

/// Runs `PRAGMA integrity_check` on the database at `path`, then closes it.
fn check_integrity(path: &Path) -> Result<()> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .db()?;
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .db()?;
    conn.close().map_err(|(_, error)| Error::database(error))?;
    if verdict != "ok" {
        // The archive authenticated, so its writer put these pages in: report
        // it as SQLite would report the database.
        return Err(Error::database(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some(format!(
                "the restored database fails SQLite's integrity check: {verdict}"
            )),
        )));
    }
    Ok(())
}

fn remove_side_files(path: &Path) {
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
}
