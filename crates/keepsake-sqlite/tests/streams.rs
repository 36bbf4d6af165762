//! The adapter over streams and sinks rather than paths: a new archive
//! appears only through a commit, and an import from a stream that breaks
//! half way (a dropped download) leaves the database exactly as it was.

use std::io::{self, Cursor, Read, Write};

use proptest::prelude::*;

use keepsake::storage::SeekRanges;
use keepsake::{ArchiveKey, ArchiveSink, Identity, Progress, RangeReader, Selection};
use keepsake_sqlite::sample::{SampleOptions, write_sample};
use keepsake_sqlite::{CreateOptions, ImportOptions, ReadTotals};

#[path = "../../../tests/common/mod.rs"]
mod common;
use common::database_digest as digest;

/// A sink that keeps what it is given and how it ended.
#[derive(Default)]
struct Recorded {
    bytes: Vec<u8>,
    commits: u32,
    aborts: u32,
    /// Writes fail once this many bytes have been taken.
    fail_after: Option<usize>,
}

impl Write for Recorded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self
            .fail_after
            .is_some_and(|limit| self.bytes.len() + buf.len() > limit)
        {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "upload broke",
            ));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ArchiveSink for Recorded {
    fn commit(&mut self) -> keepsake::Result<()> {
        self.commits += 1;
        Ok(())
    }

    fn abort(&mut self) -> keepsake::Result<()> {
        self.aborts += 1;
        Ok(())
    }
}

/// A stream that breaks after `after` bytes, as a dropped download does.
struct Broken<R> {
    inner: R,
    left: usize,
}

impl<R: Read> Read for Broken<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection dropped",
            ));
        }
        let n = out.len().min(self.left);
        let n = self.inner.read(&mut out[..n])?;
        self.left -= n;
        Ok(n)
    }
}

struct Setup {
    dir: tempfile::TempDir,
    key: ArchiveKey,
    archive: Vec<u8>,
}

fn setup(messages: u64) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("source.db");
    write_sample(
        &db,
        &SampleOptions {
            messages,
            ..SampleOptions::default()
        },
    )
    .unwrap();
    let key = ArchiveKey::generate();
    let mut sink = Recorded::default();
    let options = CreateOptions {
        writer: keepsake::WriterOptions {
            chunk_size: 16 * 1024,
            ..Default::default()
        },
        ..Default::default()
    };
    let report = keepsake_sqlite::create_archive_to(&db, &mut sink, &[&key], &options).unwrap();
    assert_eq!((sink.commits, sink.aborts), (1, 0));
    assert_eq!(report.bytes, sink.bytes.len() as u64);
    Setup {
        dir,
        key,
        archive: sink.bytes,
    }
}

fn identities(setup: &Setup) -> [Identity; 1] {
    [Identity::RawKey(setup.key.clone())]
}

#[test]
fn a_create_that_fails_or_is_cancelled_aborts_and_never_commits() {
    let setup = setup(500);
    let db = setup.dir.path().join("source.db");
    let cancelled = Progress::default();
    cancelled.cancel();
    let mut sink = Recorded::default();
    let options = CreateOptions {
        progress: cancelled,
        ..CreateOptions::default()
    };
    let error =
        keepsake_sqlite::create_archive_to(&db, &mut sink, &[&setup.key], &options).unwrap_err();
    assert!(matches!(error, keepsake::Error::Cancelled), "{error:?}");
    assert_eq!((sink.commits, sink.aborts), (0, 1));

    let mut sink = Recorded {
        fail_after: Some(setup.archive.len() / 2),
        ..Recorded::default()
    };
    let error = keepsake_sqlite::create_archive_to(
        &db,
        &mut sink,
        &[&setup.key],
        &CreateOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(error, keepsake::Error::Io(_)), "{error:?}");
    assert_eq!((sink.commits, sink.aborts), (0, 1));
}

#[test]
fn verify_and_import_from_a_stream_match_the_archive() {
    let setup = setup(800);
    let ids = identities(&setup);
    let totals = ReadTotals {
        bytes: Some(setup.archive.len() as u64),
        records: None,
    };
    let report = keepsake_sqlite::verify_archive_from(
        Cursor::new(&setup.archive),
        &ids,
        keepsake::Limits::default(),
        &Progress::default(),
        totals,
    )
    .unwrap();
    assert_eq!(report.bytes, setup.archive.len() as u64);
    assert_eq!(report.trailer.messages, 800);

    let db = setup.dir.path().join("streamed.db");
    let imported = keepsake_sqlite::import_archive_from(
        Cursor::new(&setup.archive),
        &ids,
        &db,
        &ImportOptions::default(),
        totals,
    )
    .unwrap();
    assert_eq!(imported.messages.inserted, 800);
    let file = setup.dir.path().join("archive.keepsake");
    std::fs::write(&file, &setup.archive).unwrap();
    let by_path = setup.dir.path().join("by-path.db");
    keepsake_sqlite::import_archive(&file, &ids, &by_path).unwrap();
    assert_eq!(digest(&db), digest(&by_path));
}

#[test]
fn a_partial_import_through_ranges_fetches_less_and_matches_a_file() {
    let setup = setup(3000);
    let ids = identities(&setup);
    let file = setup.dir.path().join("archive.keepsake");
    std::fs::write(&file, &setup.archive).unwrap();
    let conn = rusqlite::Connection::open(setup.dir.path().join("source.db")).unwrap();
    let id: Vec<u8> = conn
        .query_row(
            "SELECT id FROM conversations ORDER BY id LIMIT 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let selection = Selection {
        conversations: vec![id],
        since: None,
        until: None,
    };
    let by_path = setup.dir.path().join("by-path.db");
    keepsake_sqlite::import_selected(&file, &ids, &by_path, &selection, &ImportOptions::default())
        .unwrap();
    let mut ranges = RangeReader::new(SeekRanges(Cursor::new(&setup.archive)));
    let by_ranges = setup.dir.path().join("by-ranges.db");
    let report = keepsake_sqlite::import_selected_from(
        &mut ranges,
        &ids,
        &by_ranges,
        &selection,
        &ImportOptions::default(),
    )
    .unwrap();
    assert!(report.seek.used_index);
    assert_eq!(digest(&by_path), digest(&by_ranges));
    assert!(
        ranges.bytes_fetched() < setup.archive.len() as u64,
        "{} of {}",
        ranges.bytes_fetched(),
        setup.archive.len()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Wherever the stream breaks, the import fails with an I/O error (not
    /// as damage), a database that had data is exactly as it was, and one
    /// the import would have created is not left behind.
    #[test]
    fn a_stream_broken_anywhere_imports_nothing(cut in 0.0f64..1.0) {
        SETUP.with(|(dir, key, archive, other)| {
            let ids = [Identity::RawKey(key.clone())];
            let name = format!("target-{}", (cut * 1e12) as u64);
            let db = dir.path().join(format!("{name}.db"));
            std::fs::copy(other, &db).unwrap();
            let before = digest(&db);
            let broken = || Broken {
                inner: Cursor::new(&archive[..]),
                left: (archive.len() as f64 * cut) as usize,
            };
            let error = keepsake_sqlite::import_archive_from(
                broken(), &ids, &db, &ImportOptions::default(), ReadTotals::default(),
            )
            .unwrap_err();
            prop_assert!(
                matches!(&error, keepsake::Error::Io(io) if io.kind() == io::ErrorKind::ConnectionReset),
                "{:?}", error
            );
            prop_assert_eq!(digest(&db), before);
            let fresh = dir.path().join(format!("{name}-new.db"));
            prop_assert!(keepsake_sqlite::import_archive_from(
                broken(), &ids, &fresh, &ImportOptions::default(), ReadTotals::default(),
            )
            .is_err());
            prop_assert!(!fresh.exists());
            Ok(())
        })?;
    }
}

thread_local! {
    /// An archive of one sample, and a database of another to import it into.
    static SETUP: (tempfile::TempDir, ArchiveKey, Vec<u8>, std::path::PathBuf) = {
        let setup = setup(600);
        let other = setup.dir.path().join("other.db");
        write_sample(&other, &SampleOptions { messages: 300, seed: 2, ..SampleOptions::default() })
            .unwrap();
        (setup.dir, setup.key, setup.archive, other)
    };
}
