//! The SQLite adapter's operations on one sample database of 20,000
//! messages (about 11 MB) filled in sync order, as `keepsake bench` measures
//! them: create (on every core and on one thread), verify, import into a new
//! database and into one holding the older half of the rows, a partial
//! import of one conversation, and a pages archive's create and restore.
//! Throughput in database bytes; compare figures within one run.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use keepsake::{ArchiveKey, Identity, Selection, WriterOptions};
use keepsake_sqlite::sample::{SampleOptions, write_sample};
use keepsake_sqlite::{
    CreateOptions, ImportOptions, PageArchiveOptions, RestoreOptions, create_archive,
    create_page_archive, import_archive, import_selected, restore_database, verify_archive,
};

fn key() -> ArchiveKey {
    ArchiveKey::from_bytes([7; 32])
}

fn identities() -> [Identity; 1] {
    [Identity::RawKey(key())]
}

/// Removes a database and its side files, so that the next run starts afresh.
fn clear(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// A sample database, its archive and pages archive, the database of its
/// older half (from an import), and its conversation of median size.
struct Fixture {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    db: PathBuf,
    archive: PathBuf,
    pages: PathBuf,
    half: PathBuf,
    conversation: Vec<u8>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let db = path.join("sample.db");
    write_sample(
        &db,
        &SampleOptions {
            messages: 20_000,
            conversations: 100,
            ..SampleOptions::default()
        },
    )
    .unwrap();
    let archive = path.join("sample.keepsake");
    create_archive(&db, &archive, &[&key()], &CreateOptions::default()).unwrap();
    let pages = path.join("pages.keepsake");
    create_page_archive(&db, &pages, &[&key()], &PageArchiveOptions::default()).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (conversation, middle): (Vec<u8>, i64) = conn
        .query_row(
            "SELECT (SELECT conversation_id FROM messages GROUP BY conversation_id \
             ORDER BY count(*), conversation_id LIMIT 1 OFFSET 50), \
             (SELECT sent_at_ns FROM messages ORDER BY sent_at_ns LIMIT 1 OFFSET 10000)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    let older = path.join("older.keepsake");
    let options = CreateOptions {
        end_ns: Some(middle),
        ..CreateOptions::default()
    };
    create_archive(&db, &older, &[&key()], &options).unwrap();
    let half = path.join("half.db");
    import_archive(&older, &identities(), &half).unwrap();
    Fixture {
        _dir: dir,
        dir: path,
        db,
        archive,
        pages,
        half,
        conversation,
    }
}

fn database(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("database");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(std::fs::metadata(&f.db).unwrap().len()));
    for (name, threads) in [
        ("create", WriterOptions::default().threads),
        ("create_one_thread", 1),
    ] {
        group.bench_function(name, |b| {
            let out = f.dir.join("again.keepsake");
            let mut options = CreateOptions::default();
            options.writer.threads = threads;
            b.iter(|| {
                let _ = std::fs::remove_file(&out);
                black_box(create_archive(&f.db, &out, &[&key()], &options).unwrap())
            })
        });
    }
    group.bench_function("verify", |b| {
        b.iter(|| black_box(verify_archive(&f.archive, &identities()).unwrap()))
    });
    group.bench_function("import_new", |b| {
        let target = f.dir.join("imported.db");
        b.iter(|| {
            clear(&target);
            black_box(import_archive(&f.archive, &identities(), &target).unwrap())
        })
    });
    group.bench_function("import_into_half", |b| {
        let target = f.dir.join("half-then.db");
        b.iter_batched(
            || {
                clear(&target);
                std::fs::copy(&f.half, &target).unwrap();
            },
            |()| black_box(import_archive(&f.archive, &identities(), &target).unwrap()),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("import_conversation", |b| {
        let target = f.dir.join("one.db");
        let selection = Selection {
            conversations: vec![f.conversation.clone()],
            ..Selection::default()
        };
        b.iter(|| {
            clear(&target);
            let options = ImportOptions::default();
            black_box(
                import_selected(&f.archive, &identities(), &target, &selection, &options).unwrap(),
            )
        })
    });
    group.bench_function("create_pages", |b| {
        let out = f.dir.join("pages-again.keepsake");
        b.iter(|| {
            let _ = std::fs::remove_file(&out);
            let options = PageArchiveOptions::default();
            black_box(create_page_archive(&f.db, &out, &[&key()], &options).unwrap())
        })
    });
    group.bench_function("verify_pages", |b| {
        b.iter(|| black_box(verify_archive(&f.pages, &identities()).unwrap()))
    });
    group.bench_function("restore", |b| {
        let out = f.dir.join("restored.db");
        b.iter(|| {
            clear(&out);
            let options = RestoreOptions::default();
            black_box(restore_database(&f.pages, &identities(), &out, &options).unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, database);
criterion_main!(benches);
