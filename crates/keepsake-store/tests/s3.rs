//! The object storage back end against a real S3-compatible server (s3s-fs,
//! in this process, on the loopback interface): uploads that appear only
//! when whole, streamed and ranged reads, retries, and clear errors.

use std::io::{self, Read, Write};
use std::sync::Arc;

use proptest::prelude::*;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use keepsake::body::records::{
    ArchiveMetadata, Conversation, ConversationKind, DeliveryStatus, Message, MessageKind, Record,
};
use keepsake::storage::write_then_commit;
use keepsake::{
    ArchiveKey, ArchiveReader, ArchiveSink, ArchiveWriter, Identity, Limits, RangeReader,
    SeekableArchive, WriteMode, WriterOptions,
};
use keepsake_store::{ObjectArchive, StoreOptions};
use keepsake_test_s3::{ACCESS_KEY_ID, S3Server, SECRET_ACCESS_KEY};

const MIB: usize = 1024 * 1024;

fn options(server: &S3Server) -> StoreOptions {
    StoreOptions {
        endpoint: Some(server.endpoint()),
        region: Some("us-east-1".into()),
        access_key_id: Some(ACCESS_KEY_ID.into()),
        secret_access_key: Some(SECRET_ACCESS_KEY.into()),
        retries: 2,
        part_size: 5 * MIB,
        ..StoreOptions::default()
    }
}

fn archive(server: &S3Server, key: &str) -> ObjectArchive {
    ObjectArchive::from_url(&server.url(key), &options(server)).unwrap()
}

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut bytes = vec![0; len];
    ChaCha20Rng::seed_from_u64(seed).fill_bytes(&mut bytes);
    bytes
}

/// Conversations of messages with incompressible 50 KB contents: about
/// `messages * 50 KB` of archive, in 64 KiB chunks.
fn records(conversations: u8, messages: usize) -> Vec<Record> {
    let mut records = Vec::new();
    for c in 0..conversations {
        let id = vec![c; 32];
        records.push(Record::Conversation(Conversation {
            id: id.clone(),
            kind: ConversationKind::Group,
            created_at_ns: 1,
            name: Some(format!("conversation {c}")),
            dm_peer: None,
            added_by: None,
            member_ids: vec!["a".into(), "b".into()],
            metadata: Default::default(),
            last_message_ns: None,
        }));
        for m in 0..messages {
            records.push(Record::Message(Message {
                id: format!("{c}-{m}").into_bytes(),
                conversation_id: id.clone(),
                sender_id: "a".into(),
                sender_installation_id: vec![1; 32],
                sent_at_ns: 1_000 + m as i64,
                kind: MessageKind::Application,
                content_type: "text".into(),
                content: random_bytes(50_000, (u64::from(c) << 32) + m as u64),
                delivery_status: DeliveryStatus::Published,
                reference_id: None,
                expires_at_ns: None,
            }));
        }
    }
    records
}

/// Writes `records` as an archive into `sink` and commits it.
fn write_archive(sink: &mut dyn ArchiveSink, key: &ArchiveKey, records: &[Record]) {
    let options = WriterOptions {
        chunk_size: 64 * 1024,
        ..WriterOptions::default()
    };
    write_then_commit(sink, |sink| {
        let mut writer = ArchiveWriter::new(sink, &[key], &ArchiveMetadata::now(), &options)?;
        for record in records {
            writer.write_record(record)?;
        }
        writer.finish()?;
        Ok(())
    })
    .unwrap();
}

fn read_all(reader: impl Read, key: &ArchiveKey) -> Vec<Record> {
    let identities = [Identity::RawKey(key.clone())];
    let mut reader = ArchiveReader::new(reader, &identities, Limits::default()).unwrap();
    let mut out = Vec::new();
    while let Some(batch) = reader.next_batch().unwrap() {
        out.extend(batch);
    }
    out
}

fn kind(error: &keepsake::Error) -> io::ErrorKind {
    match error {
        keepsake::Error::Io(error) => error.kind(),
        other => panic!("not an I/O error: {other:?}"),
    }
}

#[test]
fn a_multipart_archive_round_trips_through_stream_and_ranges() {
    let server = S3Server::start();
    let key = ArchiveKey::generate();
    let records = records(3, 80);
    let object = archive(&server, "big.keepsake");
    let mut sink = object.sink(WriteMode::CreateNew).unwrap();
    write_archive(&mut sink, &key, &records);
    let size = object.head().unwrap().size;
    assert!(size > 10 * MIB as u64, "{size} bytes: several parts");
    assert_eq!(server.pending_parts(), 0);

    let stream = object.stream().unwrap();
    assert_eq!(stream.size(), size);
    assert_eq!(read_all(stream, &key), records);

    // One conversation's chunk through the index: a small part of the archive.
    let identities = [Identity::RawKey(key.clone())];
    let mut ranged = RangeReader::new(object.ranges());
    let mut seekable = SeekableArchive::open(&mut ranged, &identities, Limits::default()).unwrap();
    let index = seekable.index().expect("an index").clone();
    let chunk = index.chunks.len() as u64 / 2;
    let read = seekable.read_chunk(chunk).unwrap();
    assert!(!read.is_empty());
    assert!(records.contains(&read[0]));
    drop(seekable);
    assert!(
        ranged.bytes_fetched() < size / 20,
        "{} of {size} bytes fetched",
        ranged.bytes_fetched()
    );
}

#[test]
fn an_aborted_or_dropped_upload_leaves_no_object_and_no_parts() {
    let server = S3Server::start();
    let object = archive(&server, "aborted.keepsake");
    let mut sink = object.sink(WriteMode::CreateNew).unwrap();
    sink.write_all(&random_bytes(12 * MIB, 1)).unwrap();
    // Parts upload in the background; wait (boundedly) until one is there.
    let waited = std::time::Instant::now();
    while server.pending_parts() == 0 && waited.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(server.pending_parts() > 0, "parts were uploaded");
    sink.abort().unwrap();
    assert!(!server.has_object("aborted.keepsake"));
    assert_eq!(server.pending_parts(), 0);
    assert_eq!(kind(&object.head().unwrap_err()), io::ErrorKind::NotFound);

    let mut sink = object.sink(WriteMode::CreateNew).unwrap();
    sink.write_all(&random_bytes(7 * MIB, 2)).unwrap();
    drop(sink);
    assert!(!server.has_object("aborted.keepsake"));
    assert_eq!(server.pending_parts(), 0);
}

#[test]
fn an_existing_object_is_replaced_only_when_asked() {
    let server = S3Server::start();
    let object = archive(&server, "taken.keepsake");
    let mut sink = object.sink(WriteMode::CreateNew).unwrap();
    sink.write_all(b"first").unwrap();
    sink.commit().unwrap();

    let error = object.sink(WriteMode::CreateNew).unwrap_err();
    assert_eq!(kind(&error), io::ErrorKind::AlreadyExists);

    // Appearing while a one-part archive was written: the conditional put refuses it.
    let other = archive(&server, "raced.keepsake");
    let mut small = other.sink(WriteMode::CreateNew).unwrap();
    small.write_all(b"second").unwrap();
    let mut first = other.sink(WriteMode::CreateNew).unwrap();
    first.write_all(b"winner").unwrap();
    first.commit().unwrap();
    assert_eq!(
        kind(&small.commit().unwrap_err()),
        io::ErrorKind::AlreadyExists
    );

    let mut replacing = object.sink(WriteMode::Replace).unwrap();
    replacing.write_all(b"second").unwrap();
    replacing.commit().unwrap();
    let mut text = String::new();
    object.stream().unwrap().read_to_string(&mut text).unwrap();
    assert_eq!(text, "second");
}

#[test]
fn a_multipart_create_refuses_an_object_that_appeared_meanwhile() {
    let server = S3Server::start();
    let object = archive(&server, "late.keepsake");
    let mut sink = object.sink(WriteMode::CreateNew).unwrap();
    sink.write_all(&random_bytes(6 * MIB, 4)).unwrap();
    let mut other = object.sink(WriteMode::CreateNew).unwrap();
    other.write_all(b"someone else's").unwrap();
    other.commit().unwrap();
    assert_eq!(
        kind(&sink.commit().unwrap_err()),
        io::ErrorKind::AlreadyExists
    );
    assert_eq!(server.pending_parts(), 0);
    let mut text = String::new();
    object.stream().unwrap().read_to_string(&mut text).unwrap();
    assert_eq!(text, "someone else's");
}

#[test]
fn server_errors_and_cut_connections_are_retried() {
    let server = S3Server::start();
    let object = archive(&server, "flaky.keepsake");
    let bytes = random_bytes(11 * MIB, 5);
    server.fail_next_requests(2);
    let mut sink = object.sink(WriteMode::CreateNew).unwrap();
    sink.write_all(&bytes).unwrap();
    server.fail_next_requests(2);
    sink.commit().unwrap();

    server.cut_next_bodies(2, 3 * MIB as u64);
    let mut downloaded = Vec::new();
    object
        .stream()
        .unwrap()
        .read_to_end(&mut downloaded)
        .unwrap();
    assert!(downloaded == bytes, "the download resumed where it broke");

    server.cut_next_bodies(1, 1000);
    let mut ranged = RangeReader::new(object.ranges());
    let mut middle = vec![0; 100_000];
    io::Seek::seek(&mut ranged, io::SeekFrom::Start(5_000_000)).unwrap();
    ranged.read_exact(&mut middle).unwrap();
    assert!(middle[..] == bytes[5_000_000..5_100_000]);
}

#[test]
fn exhausted_retries_are_an_error_that_says_why() {
    let server = S3Server::start();
    let object = archive(&server, "down.keepsake");
    let mut sink = object.sink(WriteMode::CreateNew).unwrap();
    sink.write_all(b"whole").unwrap();
    sink.commit().unwrap();
    server.fail_next_requests(100);
    let error = object.stream().unwrap_err();
    let message = error.to_string();
    assert_eq!(kind(&error), io::ErrorKind::Other, "{message}");
    assert!(message.contains("down.keepsake"), "{message}");
    assert!(
        message.contains("503") || message.contains("SlowDown"),
        "{message}"
    );
}

#[test]
fn a_server_gone_mid_download_is_a_read_error_not_an_end() {
    let server = S3Server::start();
    let object = archive(&server, "half.keepsake");
    let bytes = random_bytes(6 * MIB, 6);
    let mut sink = object.sink(WriteMode::CreateNew).unwrap();
    sink.write_all(&bytes).unwrap();
    sink.commit().unwrap();
    let mut stream = object.stream().unwrap();
    server.stop_after_body_bytes(server.body_bytes_sent() + 2 * MIB as u64);
    let mut downloaded = Vec::new();
    let error = stream.read_to_end(&mut downloaded).unwrap_err();
    assert!(server.is_down());
    assert!(downloaded.len() < bytes.len());
    assert!(error.to_string().contains("half.keepsake"), "{error}");
}

#[test]
fn wrong_credentials_and_missing_objects_are_clear() {
    let server = S3Server::start();
    let mut wrong = options(&server);
    wrong.secret_access_key = Some("not-the-secret".into());
    let denied = ObjectArchive::from_url(&server.url("a.keepsake"), &wrong).unwrap();
    let error = denied.head().unwrap_err();
    assert_eq!(kind(&error), io::ErrorKind::PermissionDenied, "{error}");
    assert!(error.to_string().contains("access denied"), "{error}");
    let error = denied.sink(WriteMode::CreateNew).unwrap_err();
    assert_eq!(kind(&error), io::ErrorKind::PermissionDenied, "{error}");

    let missing = archive(&server, "nothing-here.keepsake");
    let error = missing.stream().unwrap_err();
    assert_eq!(kind(&error), io::ErrorKind::NotFound, "{error}");
    assert!(error.to_string().contains("no such object"), "{error}");

    let options = options(&server);
    let no_bucket = ObjectArchive::from_url("s3://no-such-bucket/a.keepsake", &options).unwrap();
    for error in [
        no_bucket.stream().unwrap_err(),
        no_bucket.sink(WriteMode::CreateNew).unwrap_err(),
    ] {
        assert_eq!(kind(&error), io::ErrorKind::NotFound, "{error}");
        assert!(
            error.to_string().contains("bucket does not exist"),
            "{error}"
        );
    }
    assert!(!server.root().join("no-such-bucket").exists());

    let error = ObjectArchive::from_url("s3://bucket-only", &options).unwrap_err();
    assert!(error.to_string().contains("names no object"), "{error}");
}

#[test]
fn a_store_of_ones_own_serves_the_same() {
    let store: Arc<dyn keepsake_store::ObjectStore> =
        Arc::new(keepsake_store::object_store::memory::InMemory::new());
    let object = ObjectArchive::new(
        store,
        "app/backup.keepsake".into(),
        "app backup",
        &StoreOptions::default(),
    )
    .unwrap();
    let key = ArchiveKey::generate();
    let records = records(1, 3);
    let mut sink = object.sink(WriteMode::CreateNew).unwrap();
    write_archive(&mut sink, &key, &records);
    assert_eq!(read_all(object.stream().unwrap(), &key), records);
    let summary = keepsake::read_summary(
        RangeReader::new(object.ranges()),
        &[Identity::RawKey(key)],
        Limits::default(),
    )
    .unwrap();
    assert_eq!(summary.trailer.unwrap().messages, 3);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// However the bytes come in, the object holds exactly them, in one part
    /// or several.
    #[test]
    fn uploads_hold_exactly_what_was_written(
        len in 0usize..(12 * MIB),
        pieces in proptest::collection::vec(1usize..(3 * MIB), 1..8),
        seed in any::<u64>(),
    ) {
        let server = S3Server::start();
        let object = archive(&server, "any.keepsake");
        let bytes = random_bytes(len, seed);
        let mut sink = object.sink(WriteMode::CreateNew).unwrap();
        let mut at = 0;
        for piece in pieces.iter().cycle() {
            if at >= bytes.len() {
                break;
            }
            let end = (at + piece).min(bytes.len());
            sink.write_all(&bytes[at..end]).unwrap();
            at = end;
        }
        sink.commit().unwrap();
        let mut downloaded = Vec::new();
        object.stream().unwrap().read_to_end(&mut downloaded).unwrap();
        prop_assert!(downloaded == bytes);
        prop_assert_eq!(server.pending_parts(), 0);
    }
}

#[test]
fn an_import_reports_progress_in_downloaded_bytes() {
    let server = S3Server::start();
    let key = ArchiveKey::generate();
    let records = records(2, 60);
    let object = archive(&server, "progress.keepsake");
    let mut sink = object.sink(WriteMode::CreateNew).unwrap();
    write_archive(&mut sink, &key, &records);
    let size = object.head().unwrap().size;

    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = events.clone();
    let progress = keepsake::Progress::with_interval(std::time::Duration::ZERO, move |event| {
        seen.lock()
            .unwrap()
            .push((event.bytes_done, event.bytes_total, event.finished));
    });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("restored.db");
    let totals = keepsake_sqlite::ReadTotals {
        bytes: Some(size),
        records: None,
    };
    let stream = object.stream().unwrap();
    let identities = [Identity::RawKey(key)];
    let options = keepsake_sqlite::ImportOptions {
        progress,
        ..Default::default()
    };
    let report =
        keepsake_sqlite::import_archive_from(stream, &identities, &db, &options, totals).unwrap();
    assert_eq!(report.messages.inserted, 120);
    let events = events.lock().unwrap();
    assert!(events.len() > 10, "{} events", events.len());
    assert!(
        events.windows(2).all(|pair| pair[0].0 <= pair[1].0),
        "bytes only grow"
    );
    assert!(events.iter().all(|event| event.1 == Some(size)));
    assert_eq!(events.last().copied(), Some((size, Some(size), true)));
}
