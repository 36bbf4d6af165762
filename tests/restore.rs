//! Restoring pages archives that authenticate but were written by someone
//! hostile (anyone who knows the user's recipient string can write one): the
//! restored database describes exactly the pages the archive carries, the
//! writer's SQL does not run while it is checked, and its triggers and views
//! do not survive unless asked for.

use std::path::{Path, PathBuf};
use std::time::Instant;

use keepsake::{ArchiveKey, ArchiveWriter, Error, Identity, SigningKey, WriterOptions};
use keepsake_sqlite::{RestoreOptions, RestoreReport, restore_database};
use rusqlite::Connection;

fn key() -> ArchiveKey {
    ArchiveKey::from_bytes([6; 32])
}

fn identities() -> Vec<Identity> {
    vec![Identity::RawKey(key())]
}

/// A database in rollback-journal mode made by `sql`, closed, and its file.
fn database(dir: &Path, sql: &str) -> PathBuf {
    let path = dir.join("source.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(sql).unwrap();
    conn.close().unwrap();
    path
}

/// Writes a pages archive of the database file at `db`, page by page through
/// the core writer, declaring `database_pages` and passing each page
/// through `tweak` first; signed by `signing_key` if given.
fn archive_of(
    db: &Path,
    out: &Path,
    database_pages: Option<u32>,
    tweak: &dyn Fn(u32, &mut Vec<u8>),
    signing_key: Option<SigningKey>,
) {
    let bytes = std::fs::read(db).unwrap();
    let page_size = u32::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    let pages: Vec<Vec<u8>> = bytes
        .chunks(page_size as usize)
        .map(<[u8]>::to_vec)
        .collect();
    let mut writer = ArchiveWriter::new(
        Vec::new(),
        &[&key()],
        &keepsake_sqlite::snapshot::page_metadata(),
        &WriterOptions {
            signing_key,
            ..WriterOptions::default()
        },
    )
    .unwrap();
    writer
        .set_page_geometry(page_size, database_pages.unwrap_or(pages.len() as u32))
        .unwrap();
    for (index, page) in pages.into_iter().enumerate() {
        let number = index as u32 + 1;
        let mut page = page;
        tweak(number, &mut page);
        writer.write_page(number, &page).unwrap();
    }
    let (archive, _) = writer.finish().unwrap();
    std::fs::write(out, archive).unwrap();
}

fn untouched(_: u32, _: &mut Vec<u8>) {}

fn restore(
    archive: &Path,
    out: &Path,
    options: &RestoreOptions,
) -> keepsake::Result<RestoreReport> {
    restore_database(archive, &identities(), out, options)
}

/// Nothing under `out`, and no temporary file beside it.
fn nothing_left(out: &Path) {
    assert!(!out.exists());
    let partial: Vec<String> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("partial"))
        .collect();
    assert!(partial.is_empty(), "{partial:?}");
}

const CONSENT: &str = "
    CREATE TABLE consent (entity TEXT PRIMARY KEY, state TEXT NOT NULL);
    INSERT INTO consent VALUES ('inbox-1', 'allowed');";

#[test]
fn the_writers_triggers_and_views_are_removed_unless_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(
        dir.path(),
        &format!(
            "{CONSENT}
             CREATE TRIGGER always_allowed AFTER UPDATE ON consent WHEN NEW.state = 'denied'
             BEGIN UPDATE consent SET state = 'allowed' WHERE entity = NEW.entity; END;
             CREATE VIEW everyone AS SELECT entity FROM consent;"
        ),
    );
    let archive = dir.path().join("pages.keepsake");
    archive_of(&db, &archive, None, &untouched, None);

    // The application denies, and the denial holds.
    let restored = dir.path().join("restored.db");
    let report = restore(&archive, &restored, &RestoreOptions::default()).unwrap();
    assert_eq!(report.removed_triggers, ["always_allowed"]);
    assert_eq!(report.removed_views, ["everyone"]);
    let conn = Connection::open(&restored).unwrap();
    conn.execute(
        "UPDATE consent SET state = 'denied' WHERE entity = 'inbox-1'",
        [],
    )
    .unwrap();
    let state: String = conn
        .query_row("SELECT state FROM consent", [], |row| row.get(0))
        .unwrap();
    assert_eq!(state, "denied");
    let objects: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type IN ('trigger', 'view')",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(objects, 0);

    // Asked to keep them, the restore keeps the database as it was.
    let kept = dir.path().join("kept.db");
    let options = RestoreOptions {
        keep_triggers_and_views: true,
        ..RestoreOptions::default()
    };
    let report = restore(&archive, &kept, &options).unwrap();
    assert!(report.removed_triggers.is_empty() && report.removed_views.is_empty());
    let conn = Connection::open(&kept).unwrap();
    conn.execute(
        "UPDATE consent SET state = 'denied' WHERE entity = 'inbox-1'",
        [],
    )
    .unwrap();
    let state: String = conn
        .query_row("SELECT state FROM consent", [], |row| row.get(0))
        .unwrap();
    assert_eq!(state, "allowed");
}

#[test]
fn the_writers_check_constraints_are_not_evaluated() {
    let dir = tempfile::tempdir().unwrap();
    // A CHECK whose every evaluation builds a 2 GB string, which SQLite
    // refuses: a check that evaluates it fails, one that does not passes.
    let db = database(
        dir.path(),
        "PRAGMA ignore_check_constraints = ON;
         CREATE TABLE t (a INTEGER CHECK (length(printf('%.*c', 2000000000, 'x')) > 0));
         INSERT INTO t VALUES (1), (2), (3);",
    );
    let archive = dir.path().join("pages.keepsake");
    archive_of(&db, &archive, None, &untouched, None);
    let restored = dir.path().join("restored.db");
    let report = restore(&archive, &restored, &RestoreOptions::default()).unwrap();
    assert_eq!(report.pages, 2);
    let full = dir.path().join("full.db");
    let options = RestoreOptions {
        full_check: true,
        ..RestoreOptions::default()
    };
    restore(&archive, &full, &options).unwrap();
}

#[test]
fn a_check_runs_out_of_time_before_the_writers_sql_does() {
    let dir = tempfile::tempdir().unwrap();
    // An index on an expression that builds a 900 KB string per row: the
    // full check evaluates it 200,000 times, some 180 GB of work, for a
    // database of a few megabytes. The writer wrote the schema
    // directly, as a hostile one would, over an index of the same keys.
    let db = database(
        dir.path(),
        "CREATE TABLE t (a INTEGER);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
         INSERT INTO t SELECT i FROM n;
         CREATE INDEX heavy ON t ((a * 0 + 900000));
         PRAGMA writable_schema = ON;
         UPDATE sqlite_schema SET sql = 'CREATE INDEX heavy ON t (length(printf(''%.*c'', 900000, a)))'
             WHERE name = 'heavy';
         PRAGMA writable_schema = OFF;",
    );
    let archive = dir.path().join("pages.keepsake");
    archive_of(&db, &archive, None, &untouched, None);
    let restored = dir.path().join("restored.db");
    let options = RestoreOptions {
        full_check: true,
        ..RestoreOptions::default()
    };
    let started = Instant::now();
    let result = restore(&archive, &restored, &options);
    assert!(
        matches!(&result, Err(Error::Database(error)) if error.to_string().contains("allowed for a database of")),
        "{result:?}"
    );
    // The budget of a small database: ten seconds and a little.
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
    nothing_left(&restored);
    // The quick check, the default, does not evaluate index expressions.
    restore(&archive, &restored, &RestoreOptions::default()).unwrap();
}

/// Sets the in-header database size of page 1 (offset 28, big-endian).
fn header_size(page: &mut [u8], pages: u32) {
    page[28..32].copy_from_slice(&pages.to_be_bytes());
}

#[test]
fn the_declared_size_must_be_the_headers() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path(), CONSENT);
    let pages = (std::fs::metadata(&db).unwrap().len() / 4096) as u32;
    let restored = dir.path().join("restored.db");

    // One page more than the header says.
    let archive = dir.path().join("longer.keepsake");
    archive_of(&db, &archive, Some(pages + 1), &untouched, None);
    let result = restore(&archive, &restored, &RestoreOptions::default());
    assert!(
        matches!(&result, Err(Error::Database(error)) if error.to_string().contains("where the database header says")),
        "{result:?}"
    );
    nothing_left(&restored);

    // A header whose size is not valid (the change counter disagrees).
    let archive = dir.path().join("invalid.keepsake");
    archive_of(
        &db,
        &archive,
        None,
        &|number, page| {
            if number == 1 {
                page[92] ^= 0xff;
            }
        },
        None,
    );
    let result = restore(&archive, &restored, &RestoreOptions::default());
    assert!(
        matches!(&result, Err(Error::Database(error)) if error.to_string().contains("no valid size")),
        "{result:?}"
    );
    nothing_left(&restored);
}

#[test]
fn a_database_of_four_billion_pages_is_refused_before_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path(), CONSENT);
    let restored = dir.path().join("restored.db");
    for (name, header) in [("declared", false), ("declared-and-header", true)] {
        let archive = dir.path().join(format!("{name}.keepsake"));
        archive_of(
            &db,
            &archive,
            Some(u32::MAX),
            &|number, page| {
                if number == 1 && header {
                    header_size(page, u32::MAX);
                    // Free-list pages enough to leave the rest out.
                    page[36..40].copy_from_slice(&(u32::MAX - 2).to_be_bytes());
                }
            },
            None,
        );
        let result = restore(&archive, &restored, &RestoreOptions::default());
        assert!(
            matches!(&result, Err(Error::Database(error)) if error.to_string().contains("consistent database")),
            "{name}: {result:?}"
        );
        nothing_left(&restored);
    }
}

#[test]
fn a_trusted_signer_is_required_before_the_database_is_put_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path(), CONSENT);
    let signer = SigningKey::from_bytes([9; 32]);
    let other = SigningKey::from_bytes([8; 32]);
    let restored = dir.path().join("restored.db");
    let trusting = RestoreOptions {
        trusted_signer: Some(signer.signer()),
        ..RestoreOptions::default()
    };
    for (name, key) in [("unsigned", None), ("other", Some(other))] {
        let archive = dir.path().join(format!("{name}.keepsake"));
        archive_of(&db, &archive, None, &untouched, key);
        let result = restore(&archive, &restored, &trusting);
        assert!(
            matches!(result, Err(Error::UntrustedSignature { .. })),
            "{name}: {result:?}"
        );
        nothing_left(&restored);
    }
    let archive = dir.path().join("signed.keepsake");
    archive_of(&db, &archive, None, &untouched, Some(signer));
    restore(&archive, &restored, &trusting).unwrap();
}
