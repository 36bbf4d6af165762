//! The importer's rules for records an archive repeats (spec §6.3.4 rules 4
//! and 6), checked on the published vectors: the first of two messages with
//! one id is kept and the second counted as skipped; of several consent
//! records for one entity, the greatest `updated_at_ns` wins, the first in
//! archive order among equals.

use std::path::PathBuf;

use keepsake::ArchiveKey;
use keepsake_sqlite::{KindCounts, import_archive};
use rusqlite::Connection;

fn vector(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("test-vectors")
        .join(format!("{name}.keepsake"))
}

fn key() -> keepsake::Identity {
    ArchiveKey::from_bytes(keepsake_vectors::KEY).into()
}

#[test]
fn a_repeated_message_id_keeps_the_first_and_skips_the_second() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("target.db");
    let report = import_archive(&vector("message-id-repeated"), &[key()], &db).unwrap();
    assert_eq!(
        report.messages,
        KindCounts {
            inserted: 2,
            skipped: 1
        }
    );
    let conn = Connection::open(&db).unwrap();
    let content: Vec<u8> = conn
        .query_row(
            "SELECT content FROM messages WHERE id = ?1",
            [keepsake_vectors::DUPLICATE_MESSAGE_ID],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(content, b"the first copy, which an importer keeps");
}

#[test]
fn repeated_consent_keeps_the_newest_and_the_first_among_equals() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("target.db");
    import_archive(&vector("consent-repeated"), &[key()], &db).unwrap();
    let conn = Connection::open(&db).unwrap();
    let (state, updated_at_ns): (String, i64) = conn
        .query_row(
            "SELECT state, updated_at_ns FROM consent WHERE entity = ?1",
            [keepsake_vectors::DUPLICATE_CONSENT_ENTITY],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(state, "denied");
    assert_eq!(
        updated_at_ns,
        keepsake_vectors::CREATED_AT_NS - 24 * 60 * 60_000_000_000 + 5 * 60_000_000_000
    );
}
