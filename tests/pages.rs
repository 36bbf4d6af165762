//! Page mode: a whole database archived as pages and restored, also while
//! another connection writes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use keepsake::{ArchiveKey, ArchiveMode, Error, Identity, Progress, WriterOptions};
use keepsake_sqlite::sample::{SampleOptions, write_sample};
use keepsake_sqlite::{PageArchiveOptions, RestoreOptions, create_page_archive, restore_database};

mod common;
use common::database_digest;

fn key() -> ArchiveKey {
    ArchiveKey::from_bytes([5; 32])
}

fn identities() -> Vec<Identity> {
    vec![Identity::RawKey(key())]
}

fn small_chunks() -> PageArchiveOptions {
    PageArchiveOptions {
        writer: WriterOptions {
            chunk_size: 64 * 1024,
            ..WriterOptions::default()
        },
        progress: Progress::default(),
    }
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap()
}

fn sample(dir: &Path) -> PathBuf {
    let db = dir.join("source.db");
    write_sample(
        &db,
        &SampleOptions {
            messages: 2000,
            conversations: 20,
            ..Default::default()
        },
    )
    .unwrap();
    db
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("partial"))
        .collect()
}

#[test]
fn a_sample_database_round_trips_through_pages() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample(dir.path());
    let archive = dir.path().join("pages.keepsake");
    let report = create_page_archive(&db, &archive, &[key()], &small_chunks()).unwrap();
    assert!(report.pages >= 2);
    assert_eq!(report.pages, u64::from(report.database_pages));

    let summary = keepsake_sqlite::archive_metadata(&archive, &[key().into()]).unwrap();
    assert_eq!(summary.metadata.mode, ArchiveMode::Pages);
    let trailer = summary.trailer.unwrap();
    assert_eq!(trailer.pages, report.pages);
    assert_eq!(
        (trailer.conversations, trailer.messages, trailer.consent),
        (0, 0, 0)
    );

    let restored = dir.path().join("restored.db");
    let restore = restore_database(
        &archive,
        &identities(),
        &restored,
        &RestoreOptions::default(),
    )
    .unwrap();
    assert_eq!(restore.pages, report.pages);
    assert_eq!(integrity(&restored), "ok");
    assert_eq!(database_digest(&restored), database_digest(&db));
    assert!(leftovers(dir.path()).is_empty());

    // An existing database is never overwritten.
    let again = restore_database(
        &archive,
        &identities(),
        &restored,
        &RestoreOptions::default(),
    );
    assert!(
        matches!(again, Err(Error::InvalidInput { .. })),
        "{again:?}"
    );
}

#[test]
fn free_list_leaves_stay_behind_and_the_rows_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample(dir.path());
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("PRAGMA auto_vacuum = NONE; DELETE FROM messages WHERE rowid % 3 = 0;")
            .unwrap();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
        let free: u32 = conn
            .query_row("PRAGMA freelist_count", [], |row| row.get(0))
            .unwrap();
        assert!(free > 2, "the deletes should free pages, freed {free}");
    }
    let archive = dir.path().join("pages.keepsake");
    let report = create_page_archive(&db, &archive, &[key()], &small_chunks()).unwrap();
    assert!(report.pages < u64::from(report.database_pages));
    let restored = dir.path().join("restored.db");
    restore_database(
        &archive,
        &identities(),
        &restored,
        &RestoreOptions::default(),
    )
    .unwrap();
    assert_eq!(integrity(&restored), "ok");
    assert_eq!(database_digest(&restored), database_digest(&db));
    let bytes = std::fs::metadata(&restored).unwrap().len();
    assert_eq!(
        bytes,
        u64::from(report.page_size) * u64::from(report.database_pages)
    );
}

/// A WAL database that another thread keeps inserting rows 1, 2, 3… into,
/// one row per transaction, until `stop` is set.
fn concurrent_source(dir: &Path) -> PathBuf {
    let db = dir.join("busy.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE log (id INTEGER PRIMARY KEY, body TEXT NOT NULL);",
    )
    .unwrap();
    // Enough rows that the snapshot takes many steps.
    let transaction = conn.unchecked_transaction().unwrap();
    for id in 1..=3000 {
        transaction
            .execute("INSERT INTO log VALUES (?1, ?2)", (id, body(id)))
            .unwrap();
    }
    transaction.commit().unwrap();
    db
}

fn body(id: i64) -> String {
    format!("row {id} {}", "x".repeat((id % 200) as usize))
}

fn spawn_writer(db: &Path, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<i64> {
    let db = db.to_path_buf();
    std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        let mut id = 3000;
        while !stop.load(Ordering::SeqCst) {
            id += 1;
            conn.execute("INSERT INTO log VALUES (?1, ?2)", (id, body(id)))
                .unwrap();
        }
        id
    })
}

/// The restored rows are exactly 1..=k for some k, each with its content.
fn assert_prefix(restored: &Path, at_least: i64, at_most: i64) {
    assert_eq!(integrity(restored), "ok");
    let conn = rusqlite::Connection::open(restored).unwrap();
    let mut statement = conn
        .prepare("SELECT id, body FROM log ORDER BY id")
        .unwrap();
    let rows: Vec<(i64, String)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let k = rows.len() as i64;
    assert!(
        (at_least..=at_most).contains(&k),
        "{k} rows, not between {at_least} and {at_most}"
    );
    for (i, (id, text)) in rows.iter().enumerate() {
        assert_eq!(*id, i as i64 + 1);
        assert_eq!(*text, body(*id));
    }
}

#[test]
fn a_snapshot_taken_while_another_connection_writes_is_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let db = concurrent_source(dir.path());
    let stop = Arc::new(AtomicBool::new(false));
    let writer = spawn_writer(&db, stop.clone());
    // Let the writer get going, so that the snapshot includes WAL frames.
    while rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM log", [], |row| row.get::<_, i64>(0))
        .unwrap()
        < 3050
    {
        std::thread::yield_now();
    }
    let archive = dir.path().join("busy.keepsake");
    let mut options = small_chunks();
    options.writer.chunk_size = 4096 * 2 + 16;
    create_page_archive(&db, &archive, &[key()], &options).unwrap();
    stop.store(true, Ordering::SeqCst);
    let last = writer.join().unwrap();
    let restored = dir.path().join("restored.db");
    restore_database(
        &archive,
        &identities(),
        &restored,
        &RestoreOptions::default(),
    )
    .unwrap();
    assert_prefix(&restored, 3050, last);
}

#[cfg(unix)]
#[test]
fn the_cli_snapshots_a_database_while_it_is_written() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let db = concurrent_source(dir.path());
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, format!("{}\n", "05".repeat(32))).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = spawn_writer(&db, stop.clone());
    let archive = dir.path().join("busy.keepsake");
    let output = Command::new(env!("CARGO_BIN_EXE_keepsake"))
        .args(["create", "--mode", "pages", "--db"])
        .arg(&db)
        .arg("--out")
        .arg(&archive)
        .arg("--key-file")
        .arg(&key_file)
        .output()
        .unwrap();
    stop.store(true, Ordering::SeqCst);
    let last = writer.join().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let restored = dir.path().join("restored.db");
    let output = Command::new(env!("CARGO_BIN_EXE_keepsake"))
        .arg("restore")
        .arg(&archive)
        .arg("--out")
        .arg(&restored)
        .arg("--key-file")
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_prefix(&restored, 3000, last);
}

#[test]
fn a_cancelled_create_leaves_no_archive() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample(dir.path());
    let archive = dir.path().join("pages.keepsake");
    let progress = Progress::default();
    progress.cancel();
    let options = PageArchiveOptions {
        progress,
        ..small_chunks()
    };
    let result = create_page_archive(&db, &archive, &[key()], &options);
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert!(!archive.exists());
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn a_failed_or_cancelled_restore_leaves_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample(dir.path());
    let archive = dir.path().join("pages.keepsake");
    create_page_archive(&db, &archive, &[key()], &small_chunks()).unwrap();
    let restored = dir.path().join("restored.db");

    let progress = Progress::default();
    progress.cancel();
    let result = restore_database(
        &archive,
        &identities(),
        &restored,
        &RestoreOptions {
            progress,
            ..RestoreOptions::default()
        },
    );
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert!(!restored.exists());

    // Damage near the end: every page is written before the trailer fails.
    let mut bytes = std::fs::read(&archive).unwrap();
    let at = bytes.len() - 600;
    bytes[at] ^= 1;
    let damaged = dir.path().join("damaged.keepsake");
    std::fs::write(&damaged, &bytes).unwrap();
    let result = restore_database(
        &damaged,
        &identities(),
        &restored,
        &RestoreOptions::default(),
    );
    assert!(matches!(result, Err(Error::Corrupt { .. })), "{result:?}");
    assert!(!restored.exists());

    let wrong = vec![Identity::RawKey(ArchiveKey::from_bytes([6; 32]))];
    let result = restore_database(&archive, &wrong, &restored, &RestoreOptions::default());
    assert!(matches!(result, Err(Error::WrongKey)), "{result:?}");
    assert!(!restored.exists());
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

#[test]
fn records_and_pages_archives_are_not_confused() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample(dir.path());
    let records = dir.path().join("records.keepsake");
    keepsake_sqlite::create_archive(&db, &records, &[key()], &Default::default()).unwrap();
    let restored = dir.path().join("restored.db");
    let result = restore_database(
        &records,
        &identities(),
        &restored,
        &RestoreOptions::default(),
    );
    assert!(
        matches!(&result, Err(Error::InvalidInput { reason }) if reason.contains("import")),
        "{result:?}"
    );
    assert!(!restored.exists());

    let pages = dir.path().join("pages.keepsake");
    create_page_archive(&db, &pages, &[key()], &small_chunks()).unwrap();
    let target = dir.path().join("target.db");
    let result = keepsake_sqlite::import_archive(&pages, &[key().into()], &target);
    assert!(
        matches!(result, Err(Error::InvalidInput { .. })),
        "{result:?}"
    );

    // A chunk size that cannot hold one page is refused before anything is written.
    let tiny = PageArchiveOptions {
        writer: WriterOptions {
            chunk_size: 4096,
            ..WriterOptions::default()
        },
        progress: Progress::default(),
    };
    let result = create_page_archive(&db, &dir.path().join("tiny.keepsake"), &[key()], &tiny);
    assert!(
        matches!(result, Err(Error::InvalidInput { .. })),
        "{result:?}"
    );
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn the_published_snapshot_vector_restores_to_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let vectors = keepsake_vectors::all();
    let vector = vectors.iter().find(|v| v.name == "pages-snapshot").unwrap();
    let archive = dir.path().join("snapshot.keepsake");
    std::fs::write(&archive, &vector.bytes).unwrap();
    let restored = dir.path().join("restored.db");
    let report = restore_database(
        &archive,
        &[vector.archive_key().into()],
        &restored,
        &RestoreOptions::default(),
    )
    .unwrap();
    assert_eq!(
        (report.page_size, report.database_pages, report.pages),
        (512, 4, 3)
    );
    assert_eq!(integrity(&restored), "ok");
    let conn = rusqlite::Connection::open(&restored).unwrap();
    let rows: Vec<String> = conn
        .prepare("SELECT x FROM t ORDER BY rowid")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows, keepsake_vectors::pages::ROWS);
    let free: u32 = conn
        .query_row("PRAGMA freelist_count", [], |row| row.get(0))
        .unwrap();
    assert_eq!(free, 2);
    // The free-list leaf travelled as nothing and came back as zeros.
    let bytes = std::fs::read(&restored).unwrap();
    assert_eq!(bytes.len(), 4 * 512);
    assert!(bytes[3 * 512..].iter().all(|&b| b == 0));
}

#[test]
fn every_page_rule_vector_fails_a_restore_at_its_chunk_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let restored = dir.path().join("restored.db");
    let vectors = keepsake_vectors::all();
    let rejections: Vec<_> = vectors
        .iter()
        .filter(|v| {
            (v.name.starts_with("pages-") || v.name == "record-batch-in-pages-archive")
                && v.name != "pages-snapshot"
        })
        .collect();
    assert!(rejections.len() >= 14, "{}", rejections.len());
    for vector in rejections {
        let archive = dir.path().join(vector.file_name());
        std::fs::write(&archive, &vector.bytes).unwrap();
        let result = restore_database(
            &archive,
            &[vector.archive_key().into()],
            &restored,
            &RestoreOptions::default(),
        );
        let keepsake_vectors::Outcome::ChunkFailure { chunk } = vector.outcome else {
            panic!("{}: expected a chunk failure", vector.name);
        };
        assert!(
            matches!(result, Err(Error::Corrupt { chunk: c, .. }) if c == chunk),
            "{}: {result:?}",
            vector.name
        );
        assert!(!restored.exists(), "{}", vector.name);
    }
    assert!(leftovers(dir.path()).is_empty());
}

/// A pages archive, written through the public writer, of `pages` (page 1 first).
fn hand_written(path: &Path, page_size: u32, pages: &[(u32, Vec<u8>)], database_pages: u32) {
    let metadata = keepsake_sqlite::snapshot::page_metadata();
    let mut writer =
        keepsake::ArchiveWriter::new(Vec::new(), &[&key()], &metadata, &WriterOptions::default())
            .unwrap();
    writer.set_page_geometry(page_size, database_pages).unwrap();
    for (number, data) in pages {
        writer.write_page(*number, data).unwrap();
    }
    let (bytes, trailer) = writer.finish().unwrap();
    assert_eq!(trailer.pages, pages.len() as u64);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn pages_that_are_not_a_database_fail_the_restore_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let restored = dir.path().join("restored.db");
    // Not a database at all: SQLite refuses to open it.
    let garbage = dir.path().join("garbage.keepsake");
    hand_written(&garbage, 512, &[(1, vec![0x5a; 512])], 1);
    let result = restore_database(
        &garbage,
        &identities(),
        &restored,
        &RestoreOptions::default(),
    );
    assert!(matches!(result, Err(Error::Database(_))), "{result:?}");
    assert!(!restored.exists());
    // A real page 1 whose schema points at a table page that never came, and
    // is not on the free list: the pages do not make up the database.
    let pages = keepsake_vectors::pages::database_pages();
    let broken = dir.path().join("broken.keepsake");
    hand_written(
        &broken,
        512,
        &[(1, pages[0].clone()), (3, pages[2].clone())],
        4,
    );
    let result = restore_database(
        &broken,
        &identities(),
        &restored,
        &RestoreOptions::default(),
    );
    assert!(
        matches!(&result, Err(Error::Database(error)) if error.to_string().contains("not on the database's free list")),
        "{result:?}"
    );
    assert!(!restored.exists());
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn the_writer_refuses_what_a_pages_archive_cannot_hold() {
    let metadata = keepsake_sqlite::snapshot::page_metadata();
    let options = WriterOptions::default();
    let mut writer =
        keepsake::ArchiveWriter::new(Vec::new(), &[&key()], &metadata, &options).unwrap();
    assert!(writer.set_page_geometry(1000, 4).is_err());
    assert!(writer.write_page(1, &[0; 512]).is_err(), "no geometry yet");
    writer.set_page_geometry(512, 4).unwrap();
    assert!(
        writer.write_page(2, &[0; 512]).is_err(),
        "page 1 comes first"
    );
    let mut writer =
        keepsake::ArchiveWriter::new(Vec::new(), &[&key()], &metadata, &options).unwrap();
    writer.set_page_geometry(512, 4).unwrap();
    assert!(writer.write_page(1, &[0; 100]).is_err(), "a short page");
    writer.write_page(1, &[0; 512]).unwrap();
    assert!(writer.write_page(1, &[0; 512]).is_err(), "page 1 twice");
    assert!(
        writer.write_page(5, &[0; 512]).is_err(),
        "past the database"
    );
    let records = keepsake::Record::Consent(keepsake::Consent {
        entity_type: keepsake::ConsentEntityType::Inbox,
        entity: "x".into(),
        state: keepsake::ConsentState::Allowed,
        updated_at_ns: 0,
    });
    assert!(
        writer.write_record(&records).is_err(),
        "records in a pages archive"
    );
    // No page at all: no archive.
    let mut empty =
        keepsake::ArchiveWriter::new(Vec::new(), &[&key()], &metadata, &options).unwrap();
    empty.set_page_geometry(512, 4).unwrap();
    assert!(empty.finish().is_err());
    // Pages in a records archive: refused up front.
    let mut records_writer = keepsake::ArchiveWriter::new(
        Vec::new(),
        &[&key()],
        &keepsake::ArchiveMetadata::now(),
        &options,
    )
    .unwrap();
    assert!(records_writer.set_page_geometry(512, 4).is_err());
}

#[cfg(unix)]
#[test]
fn the_cli_points_each_kind_of_archive_to_its_command() {
    use std::process::Command;
    let run = |args: &[&std::ffi::OsStr]| {
        let output = Command::new(env!("CARGO_BIN_EXE_keepsake"))
            .args(args)
            .output()
            .unwrap();
        (
            output.status.code().unwrap(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let db = sample(dir.path());
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, format!("{}\n", "05".repeat(32))).unwrap();
    let pages = dir.path().join("pages.keepsake");
    let records = dir.path().join("records.keepsake");
    let os = |s: &'static str| std::ffi::OsStr::new(s);
    let (code, out, err) = run(&[
        os("create"),
        os("--mode"),
        os("pages"),
        os("--json"),
        os("--db"),
        db.as_os_str(),
        os("--out"),
        pages.as_os_str(),
        os("--key-file"),
        key_file.as_os_str(),
    ]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["mode"], "pages");
    assert!(json["pages"].as_u64().unwrap() > 0);
    let (code, _, _) = run(&[
        os("create"),
        os("--db"),
        db.as_os_str(),
        os("--out"),
        records.as_os_str(),
        os("--key-file"),
        key_file.as_os_str(),
    ]);
    assert_eq!(code, 0);

    let target = dir.path().join("target.db");
    let (code, _, err) = run(&[
        os("import"),
        pages.as_os_str(),
        os("--db"),
        target.as_os_str(),
        os("--key-file"),
        key_file.as_os_str(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("restore"), "{err}");
    let (code, _, err) = run(&[
        os("restore"),
        records.as_os_str(),
        os("--out"),
        target.as_os_str(),
        os("--key-file"),
        key_file.as_os_str(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("import"), "{err}");
    assert!(!target.exists());
    let (code, _, err) = run(&[
        os("create"),
        os("--mode"),
        os("pages"),
        os("--elements"),
        os("consent"),
        os("--db"),
        db.as_os_str(),
        os("--out"),
        dir.path().join("x.keepsake").as_os_str(),
        os("--key-file"),
        key_file.as_os_str(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--mode pages"), "{err}");
    let (code, out, err) = run(&[
        os("inspect"),
        pages.as_os_str(),
        os("--key-file"),
        key_file.as_os_str(),
        os("--json"),
    ]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["mode"], "pages");
    assert!(json["pages"].as_u64().unwrap() > 0);
}
