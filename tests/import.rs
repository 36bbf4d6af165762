//! What an import promises beyond additive, all-or-nothing rows: it never
//! adds to a conversation the application owns, never lets a consent dated
//! in the future override the user, requires a trusted signer when asked,
//! builds a new database out of sight and owner-only, and leaves an existing
//! database's journal mode and readers alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use keepsake::{
    ArchiveKey, ArchiveMetadata, ArchiveWriter, Consent, ConsentEntityType, ConsentState,
    Conversation, ConversationKind, DeliveryStatus, Error, Identity, Message, MessageKind, Record,
    Selection, SigningKey, WriterOptions,
};
use keepsake_sqlite::{
    CONSENT_CLOCK_SKEW_NS, ImportOptions, import_archive, import_archive_with, import_selected,
    open_database,
};
use rusqlite::Connection;

mod common;
use common::{database_digest, listing};

fn key() -> ArchiveKey {
    ArchiveKey::from_bytes([4; 32])
}

fn identities() -> Vec<Identity> {
    vec![Identity::RawKey(key())]
}

fn conversation(id: &[u8]) -> Record {
    Record::Conversation(Conversation {
        id: id.to_vec(),
        kind: ConversationKind::Dm,
        created_at_ns: 1,
        name: None,
        dm_peer: Some("peer".into()),
        added_by: None,
        member_ids: vec!["me".into(), "peer".into()],
        metadata: BTreeMap::new(),
        last_message_ns: Some(9),
    })
}

fn message(id: &[u8], conversation_id: &[u8]) -> Record {
    Record::Message(Message {
        id: id.to_vec(),
        conversation_id: conversation_id.to_vec(),
        sender_id: "peer".into(),
        sender_installation_id: vec![7],
        sent_at_ns: 5,
        kind: MessageKind::Application,
        content_type: "xmtp.org/text:1.0".into(),
        content: b"hi".to_vec(),
        delivery_status: DeliveryStatus::Published,
        reference_id: None,
        expires_at_ns: None,
    })
}

fn consent(entity: &str, state: ConsentState, updated_at_ns: i64) -> Record {
    Record::Consent(Consent {
        entity_type: ConsentEntityType::Inbox,
        entity: entity.into(),
        state,
        updated_at_ns,
    })
}

/// An archive of `records`, signed by `signing_key` if given.
fn archive(dir: &Path, name: &str, records: &[Record], signing_key: Option<SigningKey>) -> PathBuf {
    let mut writer = ArchiveWriter::new(
        Vec::new(),
        &[&key()],
        &ArchiveMetadata::now(),
        &WriterOptions {
            signing_key,
            ..WriterOptions::default()
        },
    )
    .unwrap();
    for record in records {
        writer.write_record(record).unwrap();
    }
    let (bytes, _) = writer.finish().unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

fn count(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(sql, [], |row| row.get(0))
        .unwrap()
}

#[test]
fn messages_go_only_into_conversations_an_import_created() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    // The application's own conversation, active.
    let conn = open_database(&db).unwrap();
    conn.execute(
        "INSERT INTO conversations (id, kind, created_at_ns) VALUES (x'6f776e', 'dm', 1)",
        [],
    )
    .unwrap();
    drop(conn);

    let first = archive(
        dir.path(),
        "first.keepsake",
        &[
            conversation(b"own"),
            message(b"m1", b"own"),
            conversation(b"new"),
            message(b"m2", b"new"),
        ],
        None,
    );
    let report = import_archive(&first, &identities(), &db).unwrap();
    assert_eq!(report.active_conversation_messages, 1);
    assert_eq!((report.messages.inserted, report.messages.skipped), (1, 0));
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM messages WHERE conversation_id = x'6f776e'"
        ),
        0
    );

    // A later archive adds to the conversation the first import created
    // (inactive), and still not to the application's.
    let second = archive(
        dir.path(),
        "second.keepsake",
        &[
            conversation(b"own"),
            message(b"m3", b"own"),
            conversation(b"new"),
            message(b"m4", b"new"),
        ],
        None,
    );
    let report = import_archive(&second, &identities(), &db).unwrap();
    assert_eq!(report.active_conversation_messages, 1);
    assert_eq!(report.messages.inserted, 1);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM messages WHERE conversation_id = x'6e6577'"
        ),
        2
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM messages WHERE conversation_id = x'6f776e'"
        ),
        0
    );
}

#[test]
fn consent_dated_more_than_a_day_ahead_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let now = now_ns();
    open_database(&db)
        .unwrap()
        .execute(
            "INSERT INTO consent VALUES ('inbox', 'spammer', 'denied', ?1)",
            [now],
        )
        .unwrap();
    let hour = 3_600_000_000_000;
    let archive = archive(
        dir.path(),
        "a.keepsake",
        &[
            consent("spammer", ConsentState::Allowed, i64::MAX),
            consent(
                "later",
                ConsentState::Allowed,
                now + CONSENT_CLOCK_SKEW_NS + hour,
            ),
            consent(
                "soon",
                ConsentState::Allowed,
                now + CONSENT_CLOCK_SKEW_NS - hour,
            ),
        ],
        None,
    );
    let report = import_archive(&archive, &identities(), &db).unwrap();
    assert_eq!(report.future_consent, 2);
    assert_eq!((report.consent.inserted, report.consent.skipped), (1, 0));
    let state: String = Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT state FROM consent WHERE entity = 'spammer'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(state, "denied");
    assert_eq!(count(&db, "SELECT count(*) FROM consent"), 2);
}

#[test]
fn a_trusted_signer_is_required_before_the_import_commits() {
    let dir = tempfile::tempdir().unwrap();
    let signer = SigningKey::from_bytes([3; 32]);
    let records = [conversation(b"c"), message(b"m", b"c")];
    let existing = dir.path().join("existing.db");
    open_database(&existing).unwrap();
    let before = database_digest(&existing);
    let trusting = ImportOptions {
        trusted_signer: Some(signer.signer()),
        ..ImportOptions::default()
    };
    for (name, key) in [
        ("unsigned", None),
        ("other", Some(SigningKey::from_bytes([2; 32]))),
    ] {
        let archive = archive(dir.path(), &format!("{name}.keepsake"), &records, key);
        for db in [existing.clone(), dir.path().join("new.db")] {
            let result = import_archive_with(&archive, &identities(), &db, &trusting);
            assert!(
                matches!(result, Err(Error::UntrustedSignature { .. })),
                "{name}: {result:?}"
            );
        }
        assert_eq!(database_digest(&existing), before);
        assert!(!dir.path().join("new.db").exists());
        // A partial import too, which then reads the whole archive.
        let selection = Selection {
            conversations: vec![b"c".to_vec()],
            ..Selection::default()
        };
        let result = import_selected(&archive, &identities(), &existing, &selection, &trusting);
        assert!(
            matches!(result, Err(Error::UntrustedSignature { .. })),
            "{name}: {result:?}"
        );
        assert_eq!(database_digest(&existing), before);
    }
    let signed = archive(dir.path(), "signed.keepsake", &records, Some(signer));
    let report = import_archive_with(&signed, &identities(), &existing, &trusting).unwrap();
    assert_eq!(report.messages.inserted, 1);
    let selection = Selection {
        conversations: vec![b"c".to_vec()],
        ..Selection::default()
    };
    let partial = import_selected(
        &signed,
        &identities(),
        &dir.path().join("part.db"),
        &selection,
        &trusting,
    )
    .unwrap();
    assert!(!partial.seek.used_index);
    assert_eq!(partial.import.messages.inserted, 1);
}

#[test]
fn a_new_database_appears_complete_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let good = archive(
        dir.path(),
        "good.keepsake",
        &[conversation(b"c"), message(b"m", b"c")],
        None,
    );
    let mut damaged = std::fs::read(&good).unwrap();
    let at = damaged.len() - 40;
    damaged[at] ^= 1;
    let bad = dir.path().join("bad.keepsake");
    std::fs::write(&bad, damaged).unwrap();
    let db = dir.path().join("new.db");
    assert!(import_archive(&bad, &identities(), &db).is_err());
    assert_eq!(listing(dir.path()), ["bad.keepsake", "good.keepsake"]);

    import_archive(&good, &identities(), &db).unwrap();
    assert_eq!(
        listing(dir.path()),
        ["bad.keepsake", "good.keepsake", "new.db"]
    );
    let conn = Connection::open(&db).unwrap();
    let (mode, check): (String, String) = conn
        .query_row(
            "SELECT * FROM pragma_journal_mode, pragma_integrity_check",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!((mode.as_str(), check.as_str()), ("wal", "ok"));
    // The schema is the reference schema, as open_database makes it.
    let schema = |db: &Path| -> Vec<(String, String, Option<String>)> {
        Connection::open(db)
            .unwrap()
            .prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY name")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let reference = dir.path().join("reference.db");
    open_database(&reference).unwrap();
    assert_eq!(schema(&db), schema(&reference));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn an_existing_database_keeps_its_journal_mode_and_its_readers_their_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let records = [conversation(b"c"), message(b"m", b"c")];
    let archive = archive(dir.path(), "a.keepsake", &records, None);

    // A database in rollback-journal mode stays in it.
    let rollback = dir.path().join("rollback.db");
    Connection::open(&rollback)
        .unwrap()
        .execute_batch(keepsake_sqlite::REFERENCE_SCHEMA)
        .unwrap();
    import_archive(&archive, &identities(), &rollback).unwrap();
    let mode: String = Connection::open(&rollback)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "delete");

    // In WAL mode, a reader in the middle of a transaction keeps its
    // snapshot while the import commits, and sees the rows after.
    let wal = dir.path().join("wal.db");
    open_database(&wal).unwrap();
    let mut reader = Connection::open(&wal).unwrap();
    let snapshot = reader.transaction().unwrap();
    let during = |conn: &Connection| -> i64 {
        conn.query_row("SELECT count(*) FROM messages", [], |row| row.get(0))
            .unwrap()
    };
    assert_eq!(during(&snapshot), 0);
    import_archive(&archive, &identities(), &wal).unwrap();
    assert_eq!(during(&snapshot), 0);
    snapshot.commit().unwrap();
    assert_eq!(during(&reader), 1);
}
