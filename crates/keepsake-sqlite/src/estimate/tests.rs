//! Estimates against the archives they estimate, and the size computations
//! against the encoder.

use std::collections::BTreeMap;

use proptest::prelude::*;

use rusqlite::{Connection, Row};

use super::encoded_size::{
    MESSAGE_LENGTHS_SQL, MessageLengths, consent_size_sql, conversation_size_sql, message_size,
    zigzag_len,
};
use super::stats::{MAX_DECAY, MAX_WINDOWS, MIN_WINDOWS, WINDOW};
use super::*;
use crate::REFERENCE_SCHEMA;
use crate::rows::{
    InsertMode, RecordInserter, consent_from_row, conversation_from_row, message_from_row,
};
use keepsake::body::records::strategy::records;
use keepsake::body::records::{
    Consent, ConsentEntityType, ConsentState, Conversation, ConversationKind, DeliveryStatus,
    Message, MessageKind, Record, encode_into, encode_record,
};

fn database(records: &[Record]) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    conn.execute_batch(REFERENCE_SCHEMA).unwrap();
    let mut inserter = RecordInserter::new(&conn, InsertMode::Additive).unwrap();
    for record in records {
        inserter.insert(record).unwrap();
    }
    drop(inserter);
    conn
}

/// Every row of `table` as a record, with what `size` says of it (its
/// table's columns come in the order the row readers expect).
fn sized<T: rusqlite::types::FromSql>(
    conn: &Connection,
    table: &str,
    size: &str,
    read: fn(&Row<'_>) -> rusqlite::Result<Record>,
    at: usize,
) -> Vec<(Record, T)> {
    let mut statement = conn
        .prepare(&format!("SELECT *, {size} FROM {table}"))
        .unwrap();
    statement
        .query_map([], |row| Ok((read(row)?, row.get(at)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// Checks the SQL and Rust size rules against the encoder, row by row.
fn sizes_match(conn: &Connection) {
    let conversations: Vec<(Record, u64)> = sized(
        conn,
        "conversations AS c",
        &conversation_size_sql(),
        |row| Ok(Record::Conversation(conversation_from_row(row)?)),
        10,
    );
    let consent: Vec<(Record, u64)> = sized(
        conn,
        "consent",
        &consent_size_sql(),
        |row| Ok(Record::Consent(consent_from_row(row)?)),
        4,
    );
    for (record, size) in conversations.into_iter().chain(consent) {
        assert_eq!(
            size,
            encode_record(&record).unwrap().len() as u64,
            "{record:?}"
        );
    }
    let messages: Vec<(Record, String)> = sized(
        conn,
        "messages AS m",
        MESSAGE_LENGTHS_SQL,
        |row| Ok(Record::Message(message_from_row(row)?)),
        11,
    );
    for (record, lengths) in messages {
        let lengths: MessageLengths = serde_json::from_str(&lengths).unwrap();
        assert_eq!(
            message_size(&lengths),
            encode_record(&record).unwrap().len() as u64,
            "{record:?}"
        );
    }
}

proptest! {
    #[test]
    fn sizes_from_sql_are_the_encoded_sizes(records in records()) {
        sizes_match(&database(&records));
    }
}

#[test]
fn extreme_values_are_sized_exactly() {
    let conversation = Conversation {
        id: vec![0; 200],
        kind: ConversationKind::Group,
        created_at_ns: i64::MIN,
        name: Some(String::new()),
        dm_peer: None,
        added_by: Some("nul \0 inside, RTL \u{202e}עברית, 🏳️‍🌈".into()),
        member_ids: (0..200).map(|n| format!("\"member\" {n} \\ ☃")).collect(),
        metadata: BTreeMap::from([
            (String::new(), String::new()),
            ("ключ".into(), "x".repeat(20_000)),
        ]),
        last_message_ns: Some(i64::MAX),
    };
    let message = |n: u8, content: usize, sent_at_ns: i64| {
        Record::Message(Message {
            id: vec![n; 32],
            conversation_id: conversation.id.clone(),
            sender_id: "ß".repeat(100),
            sender_installation_id: Vec::new(),
            sent_at_ns,
            kind: MessageKind::MembershipChange,
            content_type: String::new(),
            content: vec![n; content],
            delivery_status: DeliveryStatus::Failed,
            reference_id: Some(vec![1; 300]),
            expires_at_ns: Some(-sent_at_ns),
        })
    };
    let records = vec![
        Record::Conversation(conversation.clone()),
        message(1, 0, 0),
        message(2, 127, -64),
        message(3, 128, 63),
        message(4, 16_384, 64),
        message(5, 2_100_000, i64::MIN + 1),
        Record::Consent(Consent {
            entity_type: ConsentEntityType::Address,
            entity: "\0".repeat(130),
            state: ConsentState::Unknown,
            updated_at_ns: i64::MIN,
        }),
    ];
    sizes_match(&database(&records));
}

#[test]
fn zigzag_lengths_follow_postcard() {
    for value in [
        0,
        1,
        -1,
        63,
        -64,
        64,
        -65,
        8191,
        -8192,
        8192,
        i64::MAX,
        i64::MIN,
    ] {
        let mut encoded = Vec::new();
        encode_into(&value, &mut encoded).unwrap();
        assert_eq!(zigzag_len(value), encoded.len() as u64, "{value}");
    }
}

#[test]
fn extrapolation_follows_the_measured_gains() {
    // Sizes falling as 1/context: halving costs 100 bytes, then 200.
    let sizes = Sizes {
        whole: 1000.0,
        halves: 1100.0,
        quarters: 1300.0,
    };
    // Gains halve each doubling, summing to at most the last gain.
    let far = sizes.extrapolate(1000.0, 1e12);
    assert!((far - 900.0).abs() < 1e-3, "{far}");
    assert!((sizes.extrapolate(1000.0, 2000.0) - 950.0).abs() < 1e-6);
    assert_eq!(sizes.extrapolate(1000.0, 1000.0), 1000.0);
    // Less context than measured costs at most one halving.
    assert!((sizes.extrapolate(1000.0, 500.0) - 1100.0).abs() < 1e-6);
    assert!((sizes.extrapolate(1000.0, 1.0) - 1100.0).abs() < 1e-6);
    // Incompressible data gains nothing.
    let flat = Sizes {
        whole: 1000.0,
        halves: 1000.0,
        quarters: 1000.0,
    };
    assert_eq!(flat.extrapolate(1000.0, 1e9), 1000.0);
    // A slow decay is capped, so the estimate errs large.
    let slow = Sizes {
        whole: 1000.0,
        halves: 1100.0,
        quarters: 1220.0,
    };
    let capped = 1000.0 - 100.0 * MAX_DECAY / (1.0 - MAX_DECAY);
    assert!((slow.extrapolate(1000.0, 1e12) - capped).abs() < 1e-2);
}

#[test]
fn small_parts_are_compressed_whole_and_large_ones_in_windows() {
    assert_eq!(plan(100.0 * 1024.0), None);
    let (windows, window) = plan(64.0 * 1024.0 * 1024.0).unwrap();
    assert_eq!(windows, MAX_WINDOWS);
    assert!((window - WINDOW).abs() < 1.0);
    let (windows, window) = plan(1024.0 * 1024.0).unwrap();
    assert_eq!((windows, window), (MIN_WINDOWS, MIN_SAMPLE / 2.0));
}
