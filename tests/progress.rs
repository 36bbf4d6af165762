//! Progress events and cancellation through the library calls: events arrive
//! with sensible totals, and a cancelled operation leaves nothing behind.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keepsake::{ArchiveKey, Error, Limits, Progress, ProgressEvent, WriterOptions};
use keepsake_sqlite::sample::{SampleOptions, write_sample};
use keepsake_sqlite::{CreateOptions, ImportOptions, import_archive_with, verify_archive_with};

mod common;
use common::database_digest;

fn key() -> ArchiveKey {
    ArchiveKey::from_bytes([3; 32])
}

/// A sample database and an archive of it with many small chunks.
fn fixture(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let db = dir.join("source.db");
    write_sample(
        &db,
        &SampleOptions {
            messages: 3000,
            conversations: 12,
            ..Default::default()
        },
    )
    .unwrap();
    let archive = dir.join("source.keepsake");
    keepsake_sqlite::create_archive(&db, &archive, &[key()], &small_chunks(Progress::default()))
        .unwrap();
    (db, archive)
}

fn small_chunks(progress: Progress) -> CreateOptions {
    CreateOptions {
        writer: WriterOptions {
            chunk_size: 16 << 10,
            ..Default::default()
        },
        progress,
        ..Default::default()
    }
}

/// A handle that records every event, one per update.
fn recording() -> (Progress, Arc<Mutex<Vec<ProgressEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let progress = Progress::with_interval(Duration::ZERO, move |event| {
        sink.lock().unwrap().push(event.clone())
    });
    (progress, events)
}

/// A handle that cancels itself once `after` records are done.
fn cancelling_after(after: u64) -> Progress {
    let slot: Arc<Mutex<Option<Progress>>> = Arc::new(Mutex::new(None));
    let inner = slot.clone();
    let progress = Progress::with_interval(Duration::ZERO, move |event| {
        if event.records_done >= after
            && let Some(progress) = inner.lock().unwrap().as_ref()
        {
            progress.cancel();
        }
    });
    *slot.lock().unwrap() = Some(progress.clone());
    progress
}

fn check_events(events: &[ProgressEvent], records: u64) {
    assert!(events.len() > 2, "{} events", events.len());
    for pair in events.windows(2) {
        assert!(pair[0].records_done <= pair[1].records_done);
        assert!(pair[0].bytes_done <= pair[1].bytes_done);
        assert!(pair[0].elapsed <= pair[1].elapsed);
    }
    let last = events.last().unwrap();
    assert!(last.finished);
    assert_eq!(last.records_done, records);
    assert_eq!(last.records_total, Some(records));
    assert!(
        events[..events.len() - 1]
            .iter()
            .all(|event| !event.finished)
    );
}

#[test]
fn create_verify_and_import_report_progress_up_to_their_totals() {
    let dir = tempfile::tempdir().unwrap();
    let (db, archive) = fixture(dir.path());
    let records = {
        let summary = keepsake_sqlite::archive_metadata(&archive, &[key().into()]).unwrap();
        let trailer = summary.trailer.unwrap();
        trailer.conversations + trailer.messages + trailer.consent
    };

    let (progress, events) = recording();
    let second = dir.path().join("second.keepsake");
    let report =
        keepsake_sqlite::create_archive(&db, &second, &[key()], &small_chunks(progress)).unwrap();
    let events = events.lock().unwrap();
    check_events(&events, records);
    assert_eq!(events.last().unwrap().bytes_done, report.bytes);

    let (progress, events) = recording();
    verify_archive_with(&archive, &[key().into()], Limits::default(), &progress).unwrap();
    let events = events.lock().unwrap();
    check_events(&events, records);
    let size = std::fs::metadata(&archive).unwrap().len();
    assert_eq!(events.last().unwrap().bytes_total, Some(size));
    assert_eq!(events.last().unwrap().bytes_done, size);

    let (progress, events) = recording();
    import_archive_with(
        &archive,
        &[key().into()],
        &dir.path().join("restored.db"),
        &reporting(progress),
    )
    .unwrap();
    check_events(&events.lock().unwrap(), records);
}

#[test]
fn a_cancelled_create_leaves_no_file_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = fixture(dir.path());
    let before: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    let out = dir.path().join("cancelled.keepsake");
    let result =
        keepsake_sqlite::create_archive(&db, &out, &[key()], &small_chunks(cancelling_after(500)));
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert!(!out.exists());
    let after: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(
        before.len(),
        after.len(),
        "a temporary file was left behind"
    );
}

#[test]
fn a_cancelled_import_leaves_the_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let (_, archive) = fixture(dir.path());
    // Import into a copy of a database that already holds other data.
    let target = dir.path().join("target.db");
    let mut other = SampleOptions {
        messages: 100,
        conversations: 3,
        ..Default::default()
    };
    other.seed = 9;
    write_sample(&target, &other).unwrap();
    let before = database_digest(&target);
    let result = import_archive_with(
        &archive,
        &[key().into()],
        &target,
        &reporting(cancelling_after(1000)),
    );
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert_eq!(database_digest(&target), before);
    // Cancelled right at the end, after every batch: still nothing.
    let result = import_archive_with(
        &archive,
        &[key().into()],
        &target,
        &reporting(cancelling_after(u64::MAX)),
    );
    assert!(result.is_ok());
    assert_ne!(database_digest(&target), before);
}

#[test]
fn a_cancelled_verify_stops_with_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let (_, archive) = fixture(dir.path());
    let result = verify_archive_with(
        &archive,
        &[key().into()],
        Limits::default(),
        &cancelling_after(200),
    );
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
}

#[test]
fn a_handle_cancelled_before_the_start_stops_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (_, archive) = fixture(dir.path());
    let progress = Progress::default();
    progress.cancel();
    let target = dir.path().join("never.db");
    let result = import_archive_with(&archive, &[key().into()], &target, &reporting(progress));
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert!(!target.exists());
}

/// Import options reporting to `progress`.
fn reporting(progress: Progress) -> ImportOptions {
    ImportOptions {
        progress,
        ..ImportOptions::default()
    }
}
