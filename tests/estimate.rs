//! Size estimates against the archives they estimate: within 15% of the real
//! size for every sample shape, with and without a time range, for each
//! choice of elements, and for tiny and empty databases; and the `estimate`
//! command as a user sees it.

use std::path::{Path, PathBuf};
use std::process::Command;

use keepsake::{ArchiveKey, Elements, Error, WriterOptions};
use keepsake_sqlite::sample::{SAMPLE_END_NS, SampleOptions, SampleShape, write_sample};
use keepsake_sqlite::{
    CreateOptions, SizeEstimate, archive_metadata, create_archive, estimate_archive, open_database,
};
use serde_json::Value;

const DAY_NS: i64 = 86_400_000_000_000;

/// The largest error allowed, as a share of the real size.
const TOLERANCE: f64 = 0.15;

fn key() -> ArchiveKey {
    ArchiveKey::from_bytes([5; 32])
}

fn sample(dir: &Path, shape: SampleShape, messages: u64, conversations: u64) -> PathBuf {
    let db = dir.join(format!("{shape:?}-{messages}.db"));
    write_sample(
        &db,
        &SampleOptions {
            messages,
            conversations,
            shape,
            ..SampleOptions::default()
        },
    )
    .unwrap();
    db
}

/// Estimates, then creates the archive, and checks the estimate against it:
/// the size within [`TOLERANCE`], the counts and chunk bodies exact or close.
fn check(db: &Path, options: &CreateOptions, what: &str) -> (SizeEstimate, u64) {
    let estimate = estimate_archive(db, options).unwrap();
    let dir = db.parent().unwrap();
    let archive = dir.join("check.keepsake");
    let _ = std::fs::remove_file(&archive);
    let created = create_archive(db, &archive, &[key()], options).unwrap();
    let trailer = archive_metadata(&archive, &[key().into()])
        .unwrap()
        .trailer
        .expect("a seekable archive's trailer is read");
    std::fs::remove_file(&archive).unwrap();

    let error = (estimate.bytes as f64 - created.bytes as f64) / created.bytes as f64;
    assert!(
        error.abs() <= TOLERANCE,
        "{what}: estimated {} bytes, the archive has {} ({:+.1}%): {estimate:?}",
        estimate.bytes,
        created.bytes,
        error * 100.0
    );
    assert!(estimate.low_bytes <= estimate.bytes && estimate.bytes <= estimate.high_bytes);
    assert_eq!(
        (estimate.conversations, estimate.messages, estimate.consent),
        (created.conversations, created.messages, created.consent),
        "{what}: counts"
    );
    let plain_error = (estimate.plaintext_bytes as f64 - trailer.plaintext_bytes as f64)
        / trailer.plaintext_bytes as f64;
    assert!(
        plain_error.abs() <= 0.05,
        "{what}: estimated {} bytes before compression, the trailer says {}",
        estimate.plaintext_bytes,
        trailer.plaintext_bytes
    );
    (estimate, created.bytes)
}

/// Every choice of elements, with and without a time range of three months.
fn selections() -> Vec<(String, CreateOptions)> {
    let both = Elements::default();
    let messages = Elements {
        consent: false,
        ..both
    };
    let consent = Elements {
        messages: false,
        ..both
    };
    let mut out = Vec::new();
    for (name, elements) in [("all", both), ("messages", messages), ("consent", consent)] {
        for (range, start_ns, end_ns) in [
            ("", None, None),
            (
                " in a quarter",
                Some(SAMPLE_END_NS - 150 * DAY_NS),
                Some(SAMPLE_END_NS - 60 * DAY_NS),
            ),
        ] {
            out.push((
                format!("{name}{range}"),
                CreateOptions {
                    start_ns,
                    end_ns,
                    elements,
                    ..CreateOptions::default()
                },
            ));
        }
    }
    out
}

fn check_shape(shape: SampleShape, messages: u64, conversations: u64) {
    let dir = tempfile::tempdir().unwrap();
    let db = sample(dir.path(), shape, messages, conversations);
    for (name, options) in selections() {
        check(&db, &options, &format!("{shape:?}, {name}"));
    }
}

#[test]
fn the_mixed_sample_is_estimated_within_15_percent() {
    check_shape(SampleShape::Mixed, 2000, 20);
}

#[test]
fn a_text_heavy_sample_is_estimated_within_15_percent() {
    check_shape(SampleShape::TextHeavy, 3000, 12);
}

#[test]
fn an_attachment_heavy_sample_is_estimated_within_15_percent() {
    check_shape(SampleShape::AttachmentHeavy, 120, 6);
}

/// A page snapshot's estimate against the snapshot it estimates.
fn check_pages(db: &Path, writer: &WriterOptions, what: &str) -> SizeEstimate {
    let estimate = keepsake_sqlite::estimate_page_archive(db, writer).unwrap();
    let archive = db.parent().unwrap().join("pages.keepsake");
    let _ = std::fs::remove_file(&archive);
    let options = keepsake_sqlite::PageArchiveOptions {
        writer: writer.clone(),
        ..Default::default()
    };
    let created = keepsake_sqlite::create_page_archive(db, &archive, &[key()], &options).unwrap();
    let trailer = archive_metadata(&archive, &[key().into()])
        .unwrap()
        .trailer
        .unwrap();
    std::fs::remove_file(&archive).unwrap();
    let error = (estimate.bytes as f64 - created.bytes as f64) / created.bytes as f64;
    assert!(
        error.abs() <= TOLERANCE,
        "{what}: estimated {} bytes, the snapshot has {} ({:+.1}%): {estimate:?}",
        estimate.bytes,
        created.bytes,
        error * 100.0
    );
    assert!(estimate.low_bytes <= estimate.bytes && estimate.bytes <= estimate.high_bytes);
    // The pages, their batches and framing are counted exactly.
    // The seek index's offsets are estimated: a varint may be a byte off per entry.
    assert!(
        estimate.plaintext_bytes.abs_diff(trailer.plaintext_bytes) <= trailer.chunk_count,
        "{what}: {} estimated plaintext bytes, {} in the trailer",
        estimate.plaintext_bytes,
        trailer.plaintext_bytes
    );
    assert_eq!(estimate.chunks, trailer.chunk_count + 1, "{what}");
    estimate
}

#[test]
fn page_snapshots_are_estimated_within_15_percent() {
    let dir = tempfile::tempdir().unwrap();
    for (shape, messages, conversations) in [
        (SampleShape::Mixed, 2000, 20),
        (SampleShape::TextHeavy, 3000, 12),
        (SampleShape::AttachmentHeavy, 120, 6),
        // Over 4 MiB of pages: the compression is sampled, not measured on all.
        (SampleShape::Mixed, 9000, 30),
    ] {
        let db = sample(dir.path(), shape, messages, conversations);
        for writer in [
            WriterOptions::default(),
            WriterOptions {
                chunk_size: 16 << 10,
                level: 1,
                ..WriterOptions::default()
            },
        ] {
            check_pages(
                &db,
                &writer,
                &format!("{shape:?}, {} byte chunks", writer.chunk_size),
            );
        }
        // Free pages do not travel, and the estimate knows it.
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "DELETE FROM messages WHERE rowid % 2 = 0; PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
        drop(conn);
        check_pages(
            &db,
            &WriterOptions::default(),
            &format!("{shape:?}, half deleted"),
        );
    }
}

#[test]
fn chunk_size_and_level_count() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample(dir.path(), SampleShape::Mixed, 2000, 20);
    let default = check(&db, &CreateOptions::default(), "default").0;
    let small_chunks = CreateOptions {
        writer: WriterOptions {
            chunk_size: 16 << 10,
            level: 1,
            ..WriterOptions::default()
        },
        ..CreateOptions::default()
    };
    let small = check(&db, &small_chunks, "16 KiB chunks at level 1").0;
    // Smaller chunks mean more chunks and less context to compress with.
    assert!(small.chunks > default.chunks);
    assert!(small.bytes > default.bytes);
    // Picked the same way every time: the same database, the same estimate.
    assert_eq!(
        estimate_archive(&db, &CreateOptions::default()).unwrap(),
        default
    );
}

#[test]
fn a_tiny_database_is_estimated_within_15_percent() {
    let dir = tempfile::tempdir().unwrap();
    for (messages, conversations) in [(0, 1), (1, 1), (5, 2)] {
        let db = sample(dir.path(), SampleShape::Mixed, messages, conversations);
        for (name, options) in selections() {
            check(&db, &options, &format!("{messages} messages, {name}"));
        }
    }
}

#[test]
fn messages_without_their_conversation_are_counted_as_create_leaves_them_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample(dir.path(), SampleShape::Mixed, 2000, 20);
    let conn = rusqlite::Connection::open(&db).unwrap();
    // With foreign keys off, the messages stay behind.
    conn.pragma_update(None, "foreign_keys", false).unwrap();
    let removed = conn
        .execute(
            "DELETE FROM conversations WHERE id = (SELECT min(id) FROM conversations)",
            [],
        )
        .unwrap();
    assert_eq!(removed, 1);
    let (orphans, all): (u64, u64) = conn
        .query_row(
            "SELECT count(*) FILTER (WHERE conversation_id NOT IN \
             (SELECT id FROM conversations)), count(*) FROM messages",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert!(orphans > 0);
    let estimate = estimate_archive(&db, &CreateOptions::default()).unwrap();
    assert_eq!(estimate.messages, all - orphans);
    check(&db, &CreateOptions::default(), "with orphaned messages");
    // Without the conversation index, counting steps through the messages.
    conn.execute("DROP INDEX messages_by_conversation", [])
        .unwrap();
    check(
        &db,
        &CreateOptions::default(),
        "orphaned, without the index",
    );
    // Intact again, and still without the index.
    conn.execute(
        "DELETE FROM messages WHERE conversation_id NOT IN (SELECT id FROM conversations)",
        [],
    )
    .unwrap();
    drop(conn);
    let (estimate, _) = check(&db, &CreateOptions::default(), "without the index");
    assert_eq!(estimate.messages, all - orphans);
}

#[test]
fn an_empty_database_costs_exactly_the_fixed_overhead() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("empty.db");
    drop(open_database(&db).unwrap());
    for (name, options) in selections() {
        let (estimate, actual) = check(&db, &options, &format!("empty, {name}"));
        // Header, metadata chunk, empty seek index and final chunk: known to the byte.
        assert_eq!(estimate.bytes, actual, "{name}");
        assert_eq!((estimate.low_bytes, estimate.high_bytes), (actual, actual));
        assert_eq!(estimate.chunks, 3);
        assert_eq!(estimate.sampled_bytes, 0);
    }
}

#[test]
fn what_create_refuses_estimate_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let db = sample(dir.path(), SampleShape::Mixed, 10, 2);
    let refused = [
        CreateOptions {
            start_ns: Some(10),
            end_ns: Some(10),
            ..CreateOptions::default()
        },
        CreateOptions {
            elements: Elements {
                messages: false,
                consent: false,
            },
            ..CreateOptions::default()
        },
        CreateOptions {
            writer: WriterOptions {
                chunk_size: 100,
                ..WriterOptions::default()
            },
            ..CreateOptions::default()
        },
    ];
    for options in refused {
        assert!(
            matches!(
                estimate_archive(&db, &options),
                Err(Error::InvalidInput { .. })
            ),
            "{options:?}"
        );
    }
    assert!(matches!(
        estimate_archive(&dir.path().join("missing.db"), &CreateOptions::default()),
        Err(Error::InvalidInput { .. })
    ));
    assert!(!dir.path().join("missing.db").exists());
}

/// Runs the binary; returns its exit status and stdout.
fn keepsake(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_keepsake"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn the_estimate_command_reports_what_create_then_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let (db, key, archive) = (path("chat.db"), path("my.key"), path("chat.keepsake"));
    assert_eq!(keepsake(&["keygen", "--out", &key]).0, 0);
    let (code, out, _) = keepsake(&[
        "sample",
        "--db",
        &db,
        "--messages",
        "40",
        "--conversations",
        "4",
        "--shape",
        "attachment-heavy",
        "--json",
    ]);
    assert_eq!(code, 0);
    let sample: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(sample["shape"], "attachment-heavy");

    let range = [
        "--since",
        "2024-06-01T00:00:00Z",
        "--until",
        "2025-06-01T00:00:00Z",
    ];
    let mut args = vec!["estimate", "--db", &db, "--json"];
    args.extend(range);
    let (code, out, _) = keepsake(&args);
    assert_eq!(code, 0);
    assert_eq!(out.trim_end().lines().count(), 1);
    let estimate: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(estimate["command"], "estimate");
    assert_eq!(estimate["mode"], "rows");
    assert_eq!(estimate["counts"]["messages"], sample["counts"]["messages"]);
    let bytes = estimate["estimated_bytes"].as_u64().unwrap();
    assert!(estimate["low_bytes"].as_u64().unwrap() <= bytes);
    assert!(bytes <= estimate["high_bytes"].as_u64().unwrap());

    let mut args = vec![
        "create",
        "--db",
        &db,
        "--out",
        &archive,
        "--key-file",
        &key,
        "--json",
    ];
    args.extend(range);
    let (code, out, _) = keepsake(&args);
    assert_eq!(code, 0);
    let created: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(created["estimated_bytes"], bytes);
    assert_eq!(created["counts"], estimate["counts"]);
    let actual = created["archive_bytes"].as_u64().unwrap() as f64;
    assert!((bytes as f64 - actual).abs() <= TOLERANCE * actual);

    // People read the estimate first, on stderr, then the real size.
    std::fs::remove_file(&archive).unwrap();
    let (code, out, err) =
        keepsake(&["create", "--db", &db, "--out", &archive, "--key-file", &key]);
    assert_eq!(code, 0);
    assert!(err.starts_with("estimated size: "), "{err}");
    assert!(out.starts_with("created "), "{out}");
    let (code, out, _) = keepsake(&["estimate", "--db", &db, "--elements", "consent"]);
    assert_eq!(code, 0);
    assert!(out.contains("0 conversations, 0 messages"), "{out}");
}

#[test]
fn estimate_refuses_what_it_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db").to_string_lossy().into_owned();
    assert_eq!(keepsake(&["sample", "--db", &db, "--messages", "5"]).0, 0);
    let (code, out, err) = keepsake(&[
        "estimate",
        "--db",
        &db,
        "--mode",
        "pages",
        "--since",
        "2025-01-01T00:00:00Z",
        "--json",
    ]);
    assert_eq!(code, 2);
    let failure: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(failure["ok"], false);
    assert!(err.contains("--mode pages"), "{err}");
    let (code, out, _) = keepsake(&["estimate", "--db", &db, "--mode", "pages", "--json"]);
    assert_eq!(code, 0);
    let estimate: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(estimate["mode"], "pages");
    assert!(estimate["estimated_bytes"].as_u64().unwrap() > 0);
    let (code, _, err) = keepsake(&[
        "estimate",
        "--db",
        &db,
        "--since",
        "2025-02-01T00:00:00Z",
        "--until",
        "2025-01-01T00:00:00Z",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--since"), "{err}");
    let missing = dir.path().join("missing.db").to_string_lossy().into_owned();
    let (code, _, err) = keepsake(&["estimate", "--db", &missing]);
    assert_eq!(code, 1);
    assert!(err.starts_with("keepsake: "), "{err}");
}
