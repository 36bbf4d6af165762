//! Restoring a pages archive (spec §6.4.3) as a new database, without letting
//! the archive's writer turn the restored database, or the restore itself,
//! against the user: anyone who knows the user's recipient string can write
//! an archive that authenticates.
//!
//! - The pages must describe the database they claim to: page 1's header
//!   gives the page size and, validly, the size in pages the archive
//!   declares, and every page the archive leaves out is a leaf of the
//!   database's free list. So the file restored is as large as the pages
//!   the archive carries make it, never a sparse file of an attacker's size.
//! - The check runs on a connection that evaluates as little of the
//!   writer's SQL as it can: SQLite's defensive mode, an untrusted schema,
//!   triggers and views off, CHECK constraints not evaluated, values no
//!   longer than the database itself, and a budget of steps proportional to
//!   the database's size.
//! - Triggers and views, which run the writer's SQL when the application
//!   writes or reads, are removed unless the caller asks to keep them.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::limits::Limit;
use rusqlite::{Connection, OpenFlags};

use super::header::{DatabaseHeader, walk_freelist};
use crate::DbResult;
use crate::files::{owner_only, remove_side_files};
use crate::import::{ReadTotals, open_once};
use keepsake::atomic::PendingFile;
use keepsake::body::records::ArchiveMode;
use keepsake::crypto::signature::{SignatureStatus, Signer, require_signer};
use keepsake::crypto::{Identity, OpenedWith};
use keepsake::error::{Error, Result};
use keepsake::limits::Limits;
use keepsake::progress::{Phase, Progress, Tracker};
use keepsake::stream::reader::{ArchiveReader, Item};

/// How [`restore_database`] reports, checks and cleans up.
#[derive(Clone, Debug, Default)]
pub struct RestoreOptions {
    /// Where progress goes (pages count as records), and how the caller cancels.
    pub progress: Progress,
    /// When set, the archive must be intact and validly signed by this
    /// signer (spec §6.6.3), or nothing is restored and the restore fails
    /// with [`Error::UntrustedSignature`]; checked before the database is
    /// put in place.
    pub trusted_signer: Option<Signer>,
    /// Keep the archive's triggers and views. By default they are removed:
    /// they run SQL the archive's writer chose whenever the application
    /// writes to a table (a trigger) or reads a view, so a restored trigger
    /// could, for instance, turn a "denied" the application writes into
    /// "allowed". Keep them only for an archive you made yourself.
    pub keep_triggers_and_views: bool,
    /// Run SQLite's full `integrity_check`, which also checks every index
    /// against its table (several times slower), instead of `quick_check`.
    pub full_check: bool,
    /// What the reader accepts from the archive (spec §9).
    pub limits: Limits,
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
    /// The triggers the archive's database had and the restored one does
    /// not (see [`RestoreOptions::keep_triggers_and_views`]).
    pub removed_triggers: Vec<String>,
    /// The views removed, likewise.
    pub removed_views: Vec<String>,
    /// What the trailer's signature block says (spec §6.6.3).
    pub signature: SignatureStatus,
    /// The kind of key slot that opened the archive (spec §11.3).
    pub opened_with: OpenedWith,
}

/// Rebuilds the database a pages archive holds as a new file at `out_db`,
/// opening the archive with any of `identities`.
///
/// Each page is written at `(number - 1) × page_size` of a temporary file in
/// the target directory, readable by its owner only; pages the archive
/// leaves out stay zero and the file is `database_pages × page_size` long.
/// Only once the whole archive, trailer included, has authenticated, its
/// pages have been checked against page 1 and the free list, SQLite's
/// `quick_check` (or `integrity_check`) says `ok`, and triggers and views
/// are removed, is the file renamed to `out_db`. An existing `out_db` is
/// refused; on any error nothing is left under `out_db` and the temporary
/// file is removed.
pub fn restore_database(
    archive: &Path,
    identities: &[Identity],
    out_db: &Path,
    options: &RestoreOptions,
) -> Result<RestoreReport> {
    let (totals, identities) = open_once(archive, identities, options.limits)?;
    restore_database_from(File::open(archive)?, &identities, out_db, options, totals)
}

/// As [`restore_database`], from any byte stream (a download, a pipe),
/// reporting progress against `totals` when the caller knows them. In a
/// pages archive `totals.records` counts pages; the trailer, authenticated,
/// says how many follow, enough to refuse a database too large for them
/// before writing anything.
pub fn restore_database_from(
    source: impl Read,
    identities: &[Identity],
    out_db: &Path,
    options: &RestoreOptions,
    totals: ReadTotals,
) -> Result<RestoreReport> {
    let pending = PendingFile::beside(out_db)?;
    owner_only(pending.temp.as_file())?;
    let mut tracker = options.progress.track(Phase::Restore);
    tracker.set_totals(totals.bytes, totals.records);
    let archive_pages = totals.records;
    let reader = ArchiveReader::new(source, identities, options.limits)?;
    let temp_path = pending.temp.path().to_path_buf();
    let result = restore_into(
        reader,
        pending.temp.as_file(),
        &temp_path,
        archive_pages,
        options,
        &mut tracker,
    );
    let result = result.and_then(|report| {
        pending.persist(out_db)?;
        Ok(report)
    });
    // A failed check may leave SQLite's side files next to the temporary
    // file; the temporary file itself goes when `pending` is dropped.
    remove_side_files(&temp_path);
    if result.is_ok() {
        tracker.finish();
    }
    result
}

/// Rebuilds the database `reader` holds in `file`, the empty file at `path`,
/// checks it and removes its triggers and views as `options` say; the rest
/// of [`restore_database`] is about files. `archive_pages`, when known from
/// the trailer, bounds the database's size before anything is written.
pub(crate) fn restore_into<R: Read>(
    mut reader: ArchiveReader<R>,
    file: &File,
    path: &Path,
    archive_pages: Option<u64>,
    options: &RestoreOptions,
    tracker: &mut Tracker,
) -> Result<RestoreReport> {
    if reader.metadata().mode != ArchiveMode::Pages {
        return Err(Error::invalid(
            "this archive holds records, not database pages; use import to add them to a database",
        ));
    }
    let mut writer = PageWriter::new(file, archive_pages);
    while let Some(item) = reader.next_item()? {
        let Item::Pages(batch) = item else {
            return Err(Error::invalid("a record batch in a pages archive"));
        };
        for page in &batch.pages {
            writer.write(
                batch.page_size,
                batch.database_pages,
                page.number,
                &page.data,
            )?;
        }
        tracker.update(reader.bytes_read(), writer.written, reader.chunks_read())?;
    }
    let trailer = reader
        .trailer()
        .ok_or_else(|| Error::invalid("the reader ended without a trailer"))?;
    let signature = reader.header().signature_status(trailer);
    if let Some(trusted) = &options.trusted_signer {
        require_signer(&signature, trusted)?;
    }
    let (page_size, database_pages, pages) = writer.finish()?;
    let bytes = u64::from(page_size) * u64::from(database_pages);
    let (removed_triggers, removed_views) = check_and_clean(path, bytes, options)?;
    file.sync_all()?;
    // The last chance to cancel: after the rename the database exists.
    tracker.update(reader.bytes_read(), pages, reader.chunks_read())?;
    Ok(RestoreReport {
        page_size,
        database_pages,
        pages,
        bytes,
        removed_triggers,
        removed_views,
        signature,
        opened_with: reader.header().opened.opened_with(),
    })
}

/// Writes pages at their places in the restored file, in the ascending
/// order the archive holds them (spec §6.4.1), buffered, and checks them
/// against the database header on page 1.
struct PageWriter<'f> {
    out: BufWriter<&'f File>,
    file: &'f File,
    /// Where the next byte written lands.
    position: u64,
    /// The geometry and header of the first batch, once seen.
    header: Option<(u32, u32, DatabaseHeader)>,
    archive_pages: Option<u64>,
    /// Pages written so far.
    written: u64,
    /// The runs of pages left out, `(first, last)`: each must be free-list leaves.
    missing: Vec<(u32, u32)>,
    last: u32,
}

impl<'f> PageWriter<'f> {
    fn new(file: &'f File, archive_pages: Option<u64>) -> Self {
        PageWriter {
            out: BufWriter::with_capacity(1 << 20, file),
            file,
            position: 0,
            header: None,
            archive_pages,
            written: 0,
            missing: Vec::new(),
            last: 0,
        }
    }

    fn write(
        &mut self,
        page_size: u32,
        database_pages: u32,
        number: u32,
        data: &[u8],
    ) -> Result<()> {
        let (_, _, header) = match self.header {
            Some(header) => header,
            // The reader makes page 1 the first page of the first batch,
            // and gives every batch the same geometry.
            None => {
                let header = check_page_one(page_size, database_pages, data, self.archive_pages)?;
                self.header = Some((page_size, database_pages, header));
                (page_size, database_pages, header)
            }
        };
        if number > self.last + 1 {
            self.missing.push((self.last + 1, number - 1));
        }
        self.last = number;
        self.written += 1;
        // Every page skipped so far is a free-list page: the file never
        // grows past what the header's free list can account for.
        if u64::from(number) - self.written > u64::from(header.freelist_pages) {
            return Err(unlike_header(format!(
                "it leaves out more pages than the database's free list holds ({})",
                header.freelist_pages
            )));
        }
        let at = u64::from(number - 1) * u64::from(page_size);
        if at != self.position {
            self.out.flush()?;
            self.out.seek(SeekFrom::Start(at))?;
        }
        self.out.write_all(data)?;
        self.position = at + data.len() as u64;
        Ok(())
    }

    /// Ends the file at the database's size, once every page left out has
    /// been found among the free list's leaves; returns the page size, the
    /// database's size in pages and the pages written.
    fn finish(mut self) -> Result<(u32, u32, u64)> {
        let (page_size, database_pages, header) = self
            .header
            .ok_or_else(|| Error::invalid("the archive holds no pages"))?;
        if database_pages > self.last {
            self.missing.push((self.last + 1, database_pages));
        }
        self.out.flush()?;
        drop(self.out);
        let mut file = self.file;
        let (mut leaves, _) = walk_freelist(&header, database_pages, &mut |number| {
            let mut page = vec![0; page_size as usize];
            file.seek(SeekFrom::Start(
                u64::from(number - 1) * u64::from(page_size),
            ))?;
            // A page past the end of what was written reads as zeros.
            let read = read_up_to(&mut file, &mut page)?;
            page[read..].fill(0);
            Ok(page)
        })?;
        leaves.sort_unstable();
        for &(first, last) in &self.missing {
            let at = leaves.partition_point(|&leaf| leaf < first);
            let listed = leaves[at..]
                .iter()
                .take_while(|&&leaf| leaf <= last)
                .count();
            if listed as u64 != u64::from(last - first) + 1 {
                return Err(unlike_header(format!(
                    "it leaves out page {first}, which is not on the database's free list"
                )));
            }
        }
        self.file
            .set_len(u64::from(page_size) * u64::from(database_pages))?;
        Ok((page_size, database_pages, self.written))
    }
}

/// Reads into `buffer` until it is full or the file ends; how many bytes were read.
fn read_up_to(file: &mut &File, buffer: &mut [u8]) -> Result<usize> {
    let mut read = 0;
    while read < buffer.len() {
        match file.read(&mut buffer[read..])? {
            0 => break,
            n => read += n,
        }
    }
    Ok(read)
}

/// Checks page 1 against the geometry the archive declares: it must be a
/// database header with that page size and, validly, that size in pages;
/// and the pages the archive carries, when known, with the free list's,
/// must make up the database.
fn check_page_one(
    page_size: u32,
    database_pages: u32,
    page: &[u8],
    archive_pages: Option<u64>,
) -> Result<DatabaseHeader> {
    let header = DatabaseHeader::parse(page)
        .ok_or_else(|| unlike_header("its page 1 is not a SQLite database header".into()))?;
    if header.page_size != page_size {
        return Err(unlike_header(format!(
            "it declares pages of {page_size} bytes where the database header says {}",
            header.page_size
        )));
    }
    match header.database_pages {
        Some(pages) if pages == database_pages => {}
        Some(pages) => {
            return Err(unlike_header(format!(
                "it declares a database of {database_pages} pages where the database header says {pages}"
            )));
        }
        None => {
            return Err(unlike_header(
                "the database header gives no valid size (written before SQLite 3.7.0?)".into(),
            ));
        }
    }
    if let Some(carried) = archive_pages {
        // Every page left out is a free-list leaf, listed on a trunk page
        // that travels: at most a page's worth of page numbers per page.
        let per_trunk = u64::from(page_size / 4).saturating_sub(2);
        let free = u64::from(header.freelist_pages);
        if u64::from(database_pages) > carried + free || free > carried * per_trunk {
            return Err(unlike_header(format!(
                "it carries {carried} pages of a database of {database_pages}, with {free} free-list pages"
            )));
        }
    }
    Ok(header)
}

/// The error for pages that do not make up the database they claim to.
fn unlike_header(why: String) -> Error {
    corrupt(format!(
        "the archive's pages do not make up a consistent database: {why}"
    ))
}

/// How many SQLite virtual machine steps a check may take per byte of the
/// database, beyond a fixed allowance: about 200 times what checking a
/// database of small rows takes, so that only SQL the archive's writer
/// put in the schema can run out of it.
const CHECK_STEPS_PER_BYTE: u64 = 16;
const CHECK_STEPS_FIXED: u64 = 10_000_000;
/// How long a check may take, beyond a fixed allowance, per byte of the
/// database: a step may compute a value as long as the database, so the
/// steps alone do not bound the time. 4 MB/s is some 25 times slower than
/// a check runs on a small machine.
const CHECK_BYTES_PER_SECOND: u64 = 4_000_000;
const CHECK_SECONDS_FIXED: u64 = 10;
/// How often, in steps, the budget is looked at.
const CHECK_STEP_INTERVAL: i32 = 1000;

/// Checks the restored database at `path`, `bytes` long, on a defensive
/// connection, then removes its triggers and views unless `options` keep
/// them; returns the names of those removed.
fn check_and_clean(
    path: &Path,
    bytes: u64,
    options: &RestoreOptions,
) -> Result<(Vec<String>, Vec<String>)> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .db()?;
    defend(&conn, bytes)?;
    let check = if options.full_check {
        "integrity_check"
    } else {
        "quick_check"
    };
    let verdict: String = conn
        .query_row(&format!("PRAGMA {check}"), [], |row| row.get(0))
        .map_err(|error| match error {
            rusqlite::Error::SqliteFailure(code, _)
                if code.code == rusqlite::ErrorCode::OperationInterrupted =>
            {
                let (steps, time) = budget(bytes);
                corrupt(format!(
                    "checking the restored database took more than the {steps} steps or {} s allowed for a database of {bytes} bytes: its schema runs more SQL than any database needs",
                    time.as_secs()
                ))
            }
            other => Error::database(other),
        })?;
    if verdict != "ok" {
        // The archive authenticated, so its writer put these pages in: report
        // it as SQLite would report the database.
        return Err(corrupt(format!(
            "the restored database fails SQLite's {check}: {verdict}"
        )));
    }
    conn.progress_handler(CHECK_STEP_INTERVAL, None::<fn() -> bool>);
    let removed = if options.keep_triggers_and_views {
        (Vec::new(), Vec::new())
    } else {
        (drop_all(&conn, "trigger")?, drop_all(&conn, "view")?)
    };
    conn.close().map_err(|(_, error)| Error::database(error))?;
    Ok(removed)
}

/// Sets up `conn` to run as little of the database's own SQL as it can,
/// for a database of `bytes` bytes.
fn defend(conn: &Connection, bytes: u64) -> Result<()> {
    for (setting, on) in [
        // No writes to the schema or to pages behind SQLite's back.
        (DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true),
        // Functions in the schema only if harmless.
        (DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false),
    ] {
        conn.set_db_config(setting, on).db()?;
    }
    conn.execute_batch(
        "PRAGMA ignore_check_constraints = ON; PRAGMA cell_size_check = ON; \
         PRAGMA cache_size = -16384;",
    )
    .db()?;
    // No value the schema computes may be longer than the database.
    let longest = i32::try_from(bytes.max(1 << 20)).unwrap_or(i32::MAX);
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, longest).db()?;
    let (steps, time) = budget(bytes);
    let mut allowed = steps / CHECK_STEP_INTERVAL as u64;
    let started = Instant::now();
    conn.progress_handler(
        CHECK_STEP_INTERVAL,
        Some(move || {
            allowed = allowed.saturating_sub(1);
            // Returning true interrupts the statement.
            allowed == 0 || started.elapsed() > time
        }),
    );
    Ok(())
}

/// The steps and the time a check of a database of `bytes` bytes may take.
fn budget(bytes: u64) -> (u64, Duration) {
    let steps = CHECK_STEPS_FIXED.saturating_add(bytes.saturating_mul(CHECK_STEPS_PER_BYTE));
    let seconds = CHECK_SECONDS_FIXED.saturating_add(bytes / CHECK_BYTES_PER_SECOND);
    (steps, Duration::from_secs(seconds))
}

/// Drops every schema object of `kind` (`trigger` or `view`), in one
/// transaction; returns their names.
fn drop_all(conn: &Connection, kind: &str) -> Result<Vec<String>> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = ?1 ORDER BY name")
        .db()?
        .query_map([kind], |row| row.get(0))
        .db()?
        .collect::<rusqlite::Result<_>>()
        .db()?;
    if names.is_empty() {
        return Ok(names);
    }
    let mut sql = "BEGIN;".to_owned();
    for name in &names {
        let quoted = name.replace('"', "\"\"");
        sql.push_str(&format!(
            "DROP {} IF EXISTS \"{quoted}\";",
            kind.to_uppercase()
        ));
    }
    sql.push_str("COMMIT;");
    conn.execute_batch(&sql).db()?;
    Ok(names)
}

/// A database error saying the restored file is corrupt, as SQLite says it.
fn corrupt(message: String) -> Error {
    Error::database(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
        Some(message),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checking_connection_runs_none_of_the_schemas_code_it_can_refuse() {
        let conn = Connection::open_in_memory().unwrap();
        defend(&conn, 4096).unwrap();
        for (setting, on) in [
            (DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true),
            (DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false),
            (DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false),
            (DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false),
        ] {
            assert_eq!(conn.db_config(setting).unwrap(), on, "{setting:?}");
        }
        let ignored: bool = conn
            .query_row("PRAGMA ignore_check_constraints", [], |row| row.get(0))
            .unwrap();
        assert!(ignored);
        // No value longer than the database (at least a mebibyte) is computed.
        assert_eq!(conn.limit(Limit::SQLITE_LIMIT_LENGTH).unwrap(), 1 << 20);
        let too_long = conn.query_row("SELECT zeroblob(2000000)", [], |row| {
            row.get::<_, Vec<u8>>(0)
        });
        assert!(too_long.is_err());
    }
}
