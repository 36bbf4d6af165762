//! The SQLite adapter end to end: sample database → archive → database,
//! with filters, additive and atomic import, and consistent snapshots.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use keepsake::{
    ArchiveKey, ArchiveReader, Consent, ConsentEntityType, ConsentState, Conversation,
    ConversationKind, DeliveryStatus, Elements, Error, Identity, Limits, Message, MessageKind,
    Record, WriterOptions,
};
use keepsake_sqlite::sample::{SampleOptions, write_sample};
use keepsake_sqlite::{
    self, CreateOptions, ImportReport, KindCounts, create_archive, import_archive, insert_message,
    is_active, open_database, verify_archive,
};
use rusqlite::Connection;
use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};

mod common;
use common::listing;

/// Each table and the primary key that orders its rows.
const TABLES: [(&str, &str); 3] = [
    ("conversations", "id"),
    ("messages", "id"),
    ("consent", "entity_type, entity"),
];

/// Row count and SHA-256 of every row, in primary-key order, of each table;
/// `is_active` left out unless asked for.
fn digests(db: &Path, with_is_active: bool) -> BTreeMap<&'static str, (u64, String)> {
    let conn = Connection::open(db).unwrap();
    let mut out = BTreeMap::new();
    for (table, key) in TABLES {
        let mut statement = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY {key}"))
            .unwrap();
        let columns: Vec<String> = statement
            .column_names()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let mut rows = statement.query([]).unwrap();
        let mut hash = Sha256::new();
        let mut count = 0;
        while let Some(row) = rows.next().unwrap() {
            count += 1;
            for (index, column) in columns.iter().enumerate() {
                if column == "is_active" && !with_is_active {
                    continue;
                }
                let (tag, bytes): (u8, Vec<u8>) = match row.get_ref(index).unwrap() {
                    ValueRef::Null => (0, Vec::new()),
                    ValueRef::Integer(value) => (1, value.to_le_bytes().to_vec()),
                    ValueRef::Real(value) => (2, value.to_le_bytes().to_vec()),
                    ValueRef::Text(text) => (3, text.to_vec()),
                    ValueRef::Blob(blob) => (4, blob.to_vec()),
                };
                hash.update([tag]);
                hash.update((bytes.len() as u64).to_le_bytes());
                hash.update(&bytes);
            }
        }
        let hex: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        out.insert(table, (count, hex));
    }
    out
}

fn count(db: &Path, sql: &str) -> u64 {
    let conn = Connection::open(db).unwrap();
    conn.query_row(sql, [], |row| row.get(0)).unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    key: ArchiveKey,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Fixture {
            root: dir.path().to_owned(),
            _dir: dir,
            key: ArchiveKey::from_bytes([7; 32]),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// A sample database with the default options.
    fn sample(&self, name: &str) -> PathBuf {
        let db = self.path(name);
        write_sample(&db, &SampleOptions::default()).unwrap();
        db
    }

    fn create(&self, db: &Path, name: &str, options: &CreateOptions) -> PathBuf {
        let archive = self.path(name);
        create_archive(db, &archive, &[&self.key], options).unwrap();
        archive
    }

    /// Every record of an archive, in archive order.
    fn records(&self, archive: &Path) -> Vec<Record> {
        let file = std::fs::File::open(archive).unwrap();
        let mut reader = ArchiveReader::new(
            file,
            &[Identity::RawKey(self.key.clone())],
            Limits::default(),
        )
        .unwrap();
        let mut out = Vec::new();
        while let Some(batch) = reader.next_batch().unwrap() {
            out.extend(batch);
        }
        out
    }
}

fn counts(inserted: u64, skipped: u64) -> KindCounts {
    KindCounts { inserted, skipped }
}

fn conversation(id: &[u8]) -> Conversation {
    Conversation {
        id: id.to_vec(),
        kind: ConversationKind::Group,
        created_at_ns: 1,
        name: Some(format!("group {id:?}")),
        dm_peer: None,
        added_by: None,
        member_ids: vec!["me".into(), "you".into()],
        metadata: BTreeMap::new(),
        last_message_ns: None,
    }
}

fn message(id: &[u8], conversation_id: &[u8], sent_at_ns: i64) -> Message {
    Message {
        id: id.to_vec(),
        conversation_id: conversation_id.to_vec(),
        sender_id: "me".into(),
        sender_installation_id: vec![1, 2, 3],
        sent_at_ns,
        kind: MessageKind::Application,
        content_type: "xmtp.org/text:1.0".into(),
        content: b"hello".to_vec(),
        delivery_status: DeliveryStatus::Published,
        reference_id: None,
        expires_at_ns: None,
    }
}

fn consent(entity: &str, state: ConsentState, updated_at_ns: i64) -> Consent {
    Consent {
        entity_type: ConsentEntityType::Inbox,
        entity: entity.into(),
        state,
        updated_at_ns,
    }
}

/// Writes records through the adapter's own connection settings.
fn insert_rows(
    db: &Path,
    conversations: &[Conversation],
    messages: &[Message],
    consent: &[Consent],
) {
    let conn = open_database(db).unwrap();
    for c in conversations {
        conn.execute(
            "INSERT INTO conversations (id, kind, created_at_ns, name, member_ids) VALUES (?1, 'group', ?2, ?3, ?4)",
            rusqlite::params![c.id, c.created_at_ns, c.name, serde_json::to_string(&c.member_ids).unwrap()],
        )
        .unwrap();
    }
    for m in messages {
        insert_message(&conn, m).unwrap();
    }
    for c in consent {
        conn.execute(
            "INSERT INTO consent VALUES ('inbox', ?1, ?2, ?3)",
            rusqlite::params![
                c.entity,
                format!("{:?}", c.state).to_lowercase(),
                c.updated_at_ns
            ],
        )
        .unwrap();
    }
}

#[test]
fn a_sample_database_round_trips_exactly() {
    let fixture = Fixture::new();
    let source = fixture.sample("source.db");
    let archive = fixture.path("backup.keepsake");
    let created = create_archive(
        &source,
        &archive,
        &[&fixture.key],
        &CreateOptions::default(),
    )
    .unwrap();
    assert_eq!((created.conversations, created.messages), (20, 2000));
    assert_eq!(created.bytes, std::fs::metadata(&archive).unwrap().len());

    let verified = verify_archive(&archive, &[fixture.key.clone().into()]).unwrap();
    assert_eq!(verified.bytes, created.bytes);
    assert_eq!(verified.trailer.messages, 2000);
    assert_eq!(verified.trailer.time_range, created.time_range);
    assert_eq!(verified.chunks, verified.trailer.chunk_count + 1);
    let summary =
        keepsake_sqlite::archive_metadata(&archive, &[fixture.key.clone().into()]).unwrap();
    assert_eq!(summary.trailer.as_ref(), Some(&verified.trailer));
    assert_eq!(summary.metadata, verified.metadata);
    assert_eq!(summary.metadata.elements, Elements::default());

    let target = fixture.path("target.db");
    let report = import_archive(&archive, &[fixture.key.clone().into()], &target).unwrap();
    assert_eq!(report.conversations, counts(20, 0));
    assert_eq!(report.messages, counts(2000, 0));
    assert_eq!(report.consent, counts(created.consent, 0));
    assert_eq!(digests(&source, false), digests(&target, false));
    assert_eq!(
        count(
            &target,
            "SELECT count(*) FROM conversations WHERE is_active = 0"
        ),
        20
    );
    assert_eq!(
        count(
            &source,
            "SELECT count(*) FROM conversations WHERE is_active = 1"
        ),
        20
    );
}

#[test]
fn the_same_seed_writes_the_same_database() {
    let fixture = Fixture::new();
    let first = fixture.sample("first.db");
    let second = fixture.sample("second.db");
    assert_eq!(digests(&first, true), digests(&second, true));
    // Writing the same sample twice into one database fails and changes nothing.
    let before = digests(&first, true);
    assert!(matches!(
        write_sample(&first, &SampleOptions::default()),
        Err(Error::Database(_))
    ));
    assert_eq!(digests(&first, true), before);
}

#[test]
fn a_second_import_of_the_same_archive_changes_nothing() {
    let fixture = Fixture::new();
    let source = fixture.sample("source.db");
    let archive = fixture.create(&source, "a.keepsake", &CreateOptions::default());
    let target = fixture.path("target.db");
    let first = import_archive(&archive, &[fixture.key.clone().into()], &target).unwrap();
    let after_first = digests(&target, true);
    let second = import_archive(&archive, &[fixture.key.clone().into()], &target).unwrap();
    assert_eq!(digests(&target, true), after_first);
    assert_eq!(
        second.conversations,
        counts(0, first.conversations.inserted)
    );
    assert_eq!(second.messages, counts(0, first.messages.inserted));
    assert_eq!(second.consent, counts(0, first.consent.inserted));
}

#[test]
fn import_adds_only_the_missing_rows_and_leaves_existing_ones_alone() {
    let fixture = Fixture::new();
    let source = fixture.path("source.db");
    insert_rows(
        &source,
        &[conversation(b"a"), conversation(b"b"), conversation(b"c")],
        &[
            message(b"1", b"a", 10),
            message(b"2", b"a", 20),
            message(b"3", b"b", 30),
            message(b"4", b"c", 40),
            message(b"5", b"c", 50),
        ],
        &[],
    );
    let archive = fixture.create(&source, "a.keepsake", &CreateOptions::default());

    // The target already has conversation a (named differently, its own and
    // active), conversation c as an earlier import left it (inactive, with
    // message 4), and data of its own.
    let target = fixture.path("target.db");
    let mut renamed = conversation(b"a");
    renamed.name = Some("our own name".into());
    insert_rows(
        &target,
        &[renamed, conversation(b"c"), conversation(b"z")],
        &[
            message(b"1", b"a", 10),
            message(b"4", b"c", 40),
            message(b"9", b"z", 5),
        ],
        &[],
    );
    open_database(&target)
        .unwrap()
        .execute(
            "UPDATE conversations SET is_active = 0 WHERE id = x'63'",
            [],
        )
        .unwrap();
    let report = import_archive(&archive, &[fixture.key.clone().into()], &target).unwrap();
    assert_eq!(report.conversations, counts(1, 2));
    // a's messages stay out; b's is new, c's 5 new and 4 already there.
    assert_eq!(report.messages, counts(2, 1));
    assert_eq!(report.active_conversation_messages, 2);
    assert_eq!(count(&target, "SELECT count(*) FROM messages"), 5);
    assert_eq!(
        count(
            &target,
            "SELECT count(*) FROM messages WHERE conversation_id = x'61'"
        ),
        1
    );
    assert_eq!(count(&target, "SELECT count(*) FROM conversations"), 4);
    let conn = open_database(&target).unwrap();
    let name: String = conn
        .query_row(
            "SELECT name FROM conversations WHERE id = x'61'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(name, "our own name");
    // Existing conversations keep their state; only the created one is inactive.
    assert!(is_active(&conn, b"a").unwrap());
    assert!(is_active(&conn, b"z").unwrap());
    assert!(!is_active(&conn, b"b").unwrap());
    assert!(!is_active(&conn, b"c").unwrap());
}

#[test]
fn the_newer_consent_decision_wins_in_both_directions() {
    let fixture = Fixture::new();
    let source = fixture.path("source.db");
    insert_rows(
        &source,
        &[],
        &[],
        &[
            consent("older-here", ConsentState::Denied, 200),
            consent("newer-here", ConsentState::Allowed, 200),
            consent("same-time", ConsentState::Denied, 100),
            consent("new", ConsentState::Allowed, 1),
        ],
    );
    let archive = fixture.create(&source, "a.keepsake", &CreateOptions::default());
    let target = fixture.path("target.db");
    insert_rows(
        &target,
        &[],
        &[],
        &[
            consent("older-here", ConsentState::Allowed, 100),
            consent("newer-here", ConsentState::Denied, 300),
            consent("same-time", ConsentState::Allowed, 100),
        ],
    );
    let report = import_archive(&archive, &[fixture.key.clone().into()], &target).unwrap();
    assert_eq!(report.consent, counts(2, 2));
    let conn = open_database(&target).unwrap();
    let state = |entity: &str| -> (String, i64) {
        conn.query_row(
            "SELECT state, updated_at_ns FROM consent WHERE entity_type = 'inbox' AND entity = ?1",
            [entity],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap()
    };
    assert_eq!(state("older-here"), ("denied".into(), 200));
    assert_eq!(state("newer-here"), ("denied".into(), 300));
    assert_eq!(state("same-time"), ("allowed".into(), 100));
    assert_eq!(state("new"), ("allowed".into(), 1));
}

/// Conversations a (messages at 10, 20, 30), b (30, 40), c (none), d (5).
fn ranged_source(fixture: &Fixture) -> PathBuf {
    let source = fixture.path("source.db");
    insert_rows(
        &source,
        &[
            conversation(b"a"),
            conversation(b"b"),
            conversation(b"c"),
            conversation(b"d"),
        ],
        &[
            message(b"a10", b"a", 10),
            message(b"a20", b"a", 20),
            message(b"a30", b"a", 30),
            message(b"b30", b"b", 30),
            message(b"b40", b"b", 40),
            message(b"d05", b"d", 5),
        ],
        &[consent("someone", ConsentState::Allowed, 1)],
    );
    source
}

/// The ids of an archive's records: conversations as `c:<id>`, messages as
/// `m:<id>`, consent as `consent:<entity>`.
fn ids(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|record| match record {
            Record::Conversation(c) => format!("c:{}", String::from_utf8_lossy(&c.id)),
            Record::Message(m) => format!("m:{}", String::from_utf8_lossy(&m.id)),
            Record::Consent(c) => format!("consent:{}", c.entity),
        })
        .collect()
}

#[test]
fn a_time_range_is_half_open_and_conversations_travel_with_their_messages() {
    let fixture = Fixture::new();
    let source = ranged_source(&fixture);
    let cases: [(Option<i64>, Option<i64>, &[&str]); 5] = [
        (
            None,
            None,
            // Conversations first, then the messages by conversation.
            &[
                "c:a",
                "c:b",
                "c:c",
                "c:d",
                "m:a10",
                "m:a20",
                "m:a30",
                "m:b30",
                "m:b40",
                "m:d05",
                "consent:someone",
            ],
        ),
        (Some(20), Some(30), &["c:a", "m:a20", "consent:someone"]),
        (
            Some(30),
            Some(41),
            &["c:a", "c:b", "m:a30", "m:b30", "m:b40", "consent:someone"],
        ),
        (None, Some(10), &["c:d", "m:d05", "consent:someone"]),
        (Some(40), None, &["c:b", "m:b40", "consent:someone"]),
    ];
    for (n, (start_ns, end_ns, expected)) in cases.into_iter().enumerate() {
        let options = CreateOptions {
            start_ns,
            end_ns,
            ..CreateOptions::default()
        };
        let archive = fixture.create(&source, &format!("{n}.keepsake"), &options);
        assert_eq!(
            ids(&fixture.records(&archive)),
            expected,
            "{start_ns:?}..{end_ns:?}"
        );
        let summary =
            keepsake_sqlite::archive_metadata(&archive, &[fixture.key.clone().into()]).unwrap();
        assert_eq!(
            (summary.metadata.start_ns, summary.metadata.end_ns),
            (start_ns, end_ns)
        );

        // The restored database holds exactly those rows, foreign keys intact.
        let target = fixture.path(&format!("{n}.db"));
        import_archive(&archive, &[fixture.key.clone().into()], &target).unwrap();
        let conversations = expected.iter().filter(|id| id.starts_with("c:")).count() as u64;
        assert_eq!(
            count(&target, "SELECT count(*) FROM conversations"),
            conversations
        );
        let orphans = "SELECT count(*) FROM messages WHERE conversation_id NOT IN (SELECT id FROM conversations)";
        assert_eq!(count(&target, orphans), 0);
    }
    let report = create_archive(
        &source,
        &fixture.path("bounds.keepsake"),
        &[&fixture.key],
        &CreateOptions {
            start_ns: Some(20),
            end_ns: Some(40),
            ..CreateOptions::default()
        },
    )
    .unwrap();
    assert_eq!(report.time_range, Some((20, 30)));
    assert_eq!(
        (report.conversations, report.messages, report.consent),
        (2, 3, 1)
    );
}

#[test]
fn elements_choose_messages_consent_or_both() {
    let fixture = Fixture::new();
    let source = ranged_source(&fixture);
    let only = |messages, consent, name: &str| {
        let options = CreateOptions {
            elements: Elements { messages, consent },
            ..CreateOptions::default()
        };
        ids(&fixture.records(&fixture.create(&source, name, &options)))
    };
    assert_eq!(only(false, true, "consent.keepsake"), ["consent:someone"]);
    let messages = only(true, false, "messages.keepsake");
    assert_eq!(messages.len(), 10);
    assert!(messages.iter().all(|id| !id.starts_with("consent:")));
    let nothing = CreateOptions {
        elements: Elements {
            messages: false,
            consent: false,
        },
        ..CreateOptions::default()
    };
    let path = fixture.path("nothing.keepsake");
    assert!(matches!(
        create_archive(&source, &path, &[&fixture.key], &nothing),
        Err(Error::InvalidInput { .. })
    ));
    assert!(!path.exists());
}

#[test]
fn an_empty_database_round_trips_to_an_empty_archive() {
    let fixture = Fixture::new();
    let source = fixture.path("empty.db");
    drop(open_database(&source).unwrap());
    let archive = fixture.path("empty.keepsake");
    let report = create_archive(
        &source,
        &archive,
        &[&fixture.key],
        &CreateOptions::default(),
    )
    .unwrap();
    assert_eq!(
        (
            report.conversations,
            report.messages,
            report.consent,
            report.time_range
        ),
        (0, 0, 0, None)
    );
    assert!(fixture.records(&archive).is_empty());
    let target = fixture.path("target.db");
    assert_eq!(
        import_archive(&archive, &[fixture.key.clone().into()], &target).unwrap(),
        ImportReport {
            opened_with: Some(keepsake::crypto::OpenedWith::RawKey),
            ..ImportReport::default()
        }
    );
    assert_eq!(digests(&source, true), digests(&target, true));
}

/// A target database with rows of its own, and a many-chunk archive to import into it.
fn damaged_import_setup(fixture: &Fixture) -> (PathBuf, PathBuf) {
    let source = fixture.sample("source.db");
    // Small chunks (the sample's attachments need more than the 4 KiB minimum).
    let options = CreateOptions {
        writer: WriterOptions {
            chunk_size: 16 << 10,
            ..WriterOptions::default()
        },
        ..CreateOptions::default()
    };
    let archive = fixture.create(&source, "a.keepsake", &options);
    assert!(
        verify_archive(&archive, &[fixture.key.clone().into()])
            .unwrap()
            .chunks
            > 10
    );
    let target = fixture.path("target.db");
    insert_rows(
        &target,
        &[conversation(b"mine")],
        &[message(b"m", b"mine", 1)],
        &[consent("x", ConsentState::Denied, 1)],
    );
    (archive, target)
}

#[test]
fn a_truncated_archive_leaves_the_database_unchanged() {
    let fixture = Fixture::new();
    let (archive, target) = damaged_import_setup(&fixture);
    let bytes = std::fs::read(&archive).unwrap();
    let before = digests(&target, true);
    // Cut mid-way, and cut just before the end, after every record batch
    // has been read and inserted.
    for keep in [bytes.len() / 2, bytes.len() - 1] {
        let cut = fixture.path(&format!("cut-{keep}.keepsake"));
        std::fs::write(&cut, &bytes[..keep]).unwrap();
        let result = import_archive(&cut, &[fixture.key.clone().into()], &target);
        assert!(
            matches!(result, Err(Error::Truncated { .. })),
            "{keep}: {result:?}"
        );
        assert_eq!(digests(&target, true), before);
    }
    // The database is still writable afterwards: no transaction left open.
    import_archive(&archive, &[fixture.key.clone().into()], &target).unwrap();
    assert_eq!(count(&target, "SELECT count(*) FROM messages"), 2001);
}

#[test]
fn a_failed_import_into_a_new_path_leaves_no_database_behind() {
    let fixture = Fixture::new();
    let (archive, _) = damaged_import_setup(&fixture);
    let bytes = std::fs::read(&archive).unwrap();
    let cut = fixture.path("cut.keepsake");
    std::fs::write(&cut, &bytes[..bytes.len() - 1]).unwrap();
    let fresh = fixture.path("fresh.db");
    let result = import_archive(&cut, &[fixture.key.clone().into()], &fresh);
    assert!(matches!(result, Err(Error::Truncated { .. })), "{result:?}");
    let left: Vec<_> = std::fs::read_dir(fixture.path(""))
        .unwrap()
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("fresh.db"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_damaged_chunk_leaves_the_database_unchanged() {
    let fixture = Fixture::new();
    let (archive, target) = damaged_import_setup(&fixture);
    let mut bytes = std::fs::read(&archive).unwrap();
    let before = digests(&target, true);
    let at = bytes.len() - 2000;
    bytes[at] ^= 1;
    let damaged = fixture.path("damaged.keepsake");
    std::fs::write(&damaged, &bytes).unwrap();
    let result = import_archive(&damaged, &[fixture.key.clone().into()], &target);
    assert!(matches!(result, Err(Error::Corrupt { .. })), "{result:?}");
    assert!(matches!(
        verify_archive(&damaged, &[fixture.key.clone().into()]),
        Err(Error::Corrupt { .. })
    ));
    assert_eq!(digests(&target, true), before);
}

#[test]
fn a_wrong_key_leaves_the_database_unchanged() {
    let fixture = Fixture::new();
    let (archive, target) = damaged_import_setup(&fixture);
    let before = digests(&target, true);
    let wrong = ArchiveKey::from_bytes([8; 32]);
    assert!(matches!(
        import_archive(&archive, &[wrong.clone().into()], &target),
        Err(Error::WrongKey)
    ));
    assert!(matches!(
        verify_archive(&archive, &[wrong.clone().into()]),
        Err(Error::WrongKey)
    ));
    assert!(matches!(
        keepsake_sqlite::archive_metadata(&archive, &[wrong.clone().into()]),
        Err(Error::WrongKey)
    ));
    assert_eq!(digests(&target, true), before);
    // Nor is a database created for an archive that cannot be opened.
    let fresh = fixture.path("never.db");
    assert!(import_archive(&archive, &[wrong.clone().into()], &fresh).is_err());
    assert!(!fresh.exists());
}

#[test]
fn a_failed_create_leaves_nothing_under_the_final_name() {
    let fixture = Fixture::new();
    let source = fixture.sample("source.db");
    let before = listing(&fixture.root);
    let archive = fixture.path("a.keepsake");
    let options = CreateOptions {
        writer: WriterOptions {
            chunk_size: 1,
            ..WriterOptions::default()
        },
        ..CreateOptions::default()
    };
    let result = create_archive(&source, &archive, &[&fixture.key], &options);
    assert!(
        matches!(result, Err(Error::InvalidInput { .. })),
        "{result:?}"
    );
    assert!(!archive.exists());
    // No temporary file is left behind either.
    assert_eq!(listing(&fixture.root), before);

    // A missing database creates neither an archive nor a database.
    let missing = fixture.path("missing.db");
    let result = create_archive(
        &missing,
        &archive,
        &[&fixture.key],
        &CreateOptions::default(),
    );
    assert!(
        matches!(result, Err(Error::InvalidInput { .. })),
        "{result:?}"
    );
    assert!(!archive.exists());
    assert!(!missing.exists());

    // An empty time range is refused before anything is written.
    let empty_range = CreateOptions {
        start_ns: Some(5),
        end_ns: Some(5),
        ..CreateOptions::default()
    };
    assert!(matches!(
        create_archive(&source, &archive, &[&fixture.key], &empty_range),
        Err(Error::InvalidInput { .. })
    ));
    assert_eq!(listing(&fixture.root), before);
}

#[test]
fn create_refuses_to_overwrite_an_existing_file() {
    let fixture = Fixture::new();
    let source = fixture.sample("source.db");
    let archive = fixture.path("a.keepsake");
    std::fs::write(&archive, b"precious").unwrap();
    let result = create_archive(
        &source,
        &archive,
        &[&fixture.key],
        &CreateOptions::default(),
    );
    match result {
        Err(Error::InvalidInput { reason }) => {
            assert!(reason.contains("already exists"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(std::fs::read(&archive).unwrap(), b"precious");
}

/// Write number `n` of the snapshot test: a message in a, one in b, a consent record.
fn write_one(conn: &Connection, n: i64) {
    for side in [b"a", b"b"] {
        let id = format!("{}{n:08}", side[0] as char);
        insert_message(conn, &message(id.as_bytes(), side, n)).unwrap();
    }
    conn.prepare_cached("INSERT INTO consent VALUES ('inbox', ?1, 'allowed', ?2)")
        .unwrap()
        .execute(rusqlite::params![format!("{n:08}"), n])
        .unwrap();
}

#[test]
fn create_reads_one_snapshot_while_another_connection_writes() {
    let fixture = Fixture::new();
    let source = fixture.path("source.db");
    // Two conversations; every write below adds, in one transaction, one
    // message to each and one consent record, so any consistent snapshot holds
    // as many of each. (The conversations are read before the messages, and
    // the consent after them.)
    insert_rows(&source, &[conversation(b"a"), conversation(b"b")], &[], &[]);
    {
        let mut conn = open_database(&source).unwrap();
        let transaction = conn.transaction().unwrap();
        for n in 0..20_000i64 {
            write_one(&transaction, n);
        }
        transaction.commit().unwrap();
    }
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let source = source.clone();
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut conn = open_database(&source).unwrap();
            let mut n = 20_000i64;
            while !done.load(Ordering::SeqCst) {
                let transaction = conn.transaction().unwrap();
                write_one(&transaction, n);
                transaction.commit().unwrap();
                n += 1;
            }
            n - 20_000
        })
    };
    // Give the writer a head start so that writes overlap the whole create.
    while count(&source, "SELECT count(*) FROM messages") < 40_010 {
        std::thread::yield_now();
    }
    let archive = fixture.path("a.keepsake");
    let options = CreateOptions {
        writer: WriterOptions {
            chunk_size: 4096,
            ..WriterOptions::default()
        },
        ..CreateOptions::default()
    };
    let report = create_archive(&source, &archive, &[&fixture.key], &options).unwrap();
    done.store(true, Ordering::SeqCst);
    let written_during = writer.join().unwrap();

    let records = fixture.records(&archive);
    let per_side = |side: u8| {
        records
            .iter()
            .filter(|r| matches!(r, Record::Message(m) if m.conversation_id == [side]))
            .count() as u64
    };
    let (a, b) = (per_side(b'a'), per_side(b'b'));
    assert_eq!(a, b, "a torn snapshot: {a} messages in a, {b} in b");
    assert_eq!(report.messages, a + b);
    assert_eq!(
        report.consent, a,
        "a torn snapshot: {a} writes' messages, {} consent",
        report.consent
    );
    // The snapshot is a prefix of the writes: messages 0..a of each side.
    let expected_last = format!("a{:08}", a - 1);
    assert!(
        records
            .iter()
            .any(|r| matches!(r, Record::Message(m) if m.id == expected_last.as_bytes()))
    );
    // And the writer was not blocked: it went on writing after the snapshot.
    let total = count(&source, "SELECT count(*) FROM messages");
    assert!(
        total > report.messages,
        "{total} rows, {} archived",
        report.messages
    );
    assert!(written_during > 5);
}

#[test]
fn restored_conversations_are_read_only_until_reactivated() {
    let fixture = Fixture::new();
    let source = fixture.path("source.db");
    insert_rows(
        &source,
        &[conversation(b"a")],
        &[message(b"1", b"a", 1)],
        &[],
    );
    let archive = fixture.create(&source, "a.keepsake", &CreateOptions::default());
    let target = fixture.path("target.db");
    import_archive(&archive, &[fixture.key.clone().into()], &target).unwrap();

    let conn = open_database(&target).unwrap();
    assert!(!is_active(&conn, b"a").unwrap());
    match insert_message(&conn, &message(b"2", b"a", 2)) {
        Err(Error::ConversationInactive { id }) => assert_eq!(id, "61"),
        other => panic!("expected ConversationInactive, got {other:?}"),
    }
    match insert_message(&conn, &message(b"2", &[0xab, 0x01], 2)) {
        Err(Error::InvalidInput { reason }) => assert!(reason.contains("ab01"), "{reason}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert!(matches!(
        is_active(&conn, b"nope"),
        Err(Error::InvalidInput { .. })
    ));
    assert_eq!(count(&target, "SELECT count(*) FROM messages"), 1);

    conn.execute(
        "UPDATE conversations SET is_active = 1 WHERE id = x'61'",
        [],
    )
    .unwrap();
    insert_message(&conn, &message(b"2", b"a", 2)).unwrap();
    // A duplicate id is refused by the database.
    assert!(matches!(
        insert_message(&conn, &message(b"2", b"a", 3)),
        Err(Error::Database(_))
    ));
    assert_eq!(count(&target, "SELECT count(*) FROM messages"), 2);
}
