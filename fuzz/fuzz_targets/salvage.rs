//! Salvage (`keepsake::salvage`) of a valid archive damaged arbitrarily: no
//! panic, no error once the header opens, a salvaged archive that reads back
//! successfully, and never a record that is not in the original.
//!
//! Input: damage operations applied in order to a fixed multi-chunk archive,
//! each 7 bytes: an op byte, a 4-byte little-endian position (taken modulo
//! the current length), a value byte and a length byte. Ops (op % 4):
//! 0 xor the byte at the position with the value, 1 truncate at the position,
//! 2 remove `length` bytes at the position, 3 insert `length` copies of the value.
#![no_main]

use std::collections::HashSet;
use std::io::Cursor;
use std::sync::OnceLock;

use keepsake::body::records::encode_record;
use keepsake::salvage::salvage;
use keepsake::{
    ArchiveMetadata, ArchiveReader, ArchiveWriter, Consent, ConsentEntityType, ConsentState,
    Conversation, ConversationKind, DeliveryStatus, Limits, Message, MessageKind, Record,
    WriterOptions,
};
use keepsake_fuzz::{identities, key};
use libfuzzer_sys::fuzz_target;

/// Eight conversations of forty messages each, then a consent record per
/// conversation: enough for a dozen 4 KiB chunks.
fn sample_records() -> Vec<Record> {
    let mut records = Vec::new();
    for c in 0u8..8 {
        let id = vec![c; 16];
        records.push(Record::Conversation(Conversation {
            id: id.clone(),
            kind: ConversationKind::Group,
            created_at_ns: i64::from(c),
            name: Some(format!("group {c}")),
            dm_peer: None,
            added_by: None,
            member_ids: vec![format!("member-{c}")],
            metadata: Default::default(),
            last_message_ns: None,
        }));
        for m in 0u8..40 {
            records.push(Record::Message(Message {
                id: vec![c, m, 1, 2, 3, 4, 5, 6],
                conversation_id: id.clone(),
                sender_id: format!("sender-{m}"),
                sender_installation_id: vec![m; 8],
                sent_at_ns: i64::from(c) * 1_000 + i64::from(m),
                kind: MessageKind::Application,
                content_type: "xmtp.org/text:1.0".to_owned(),
                content: format!("message {m} in conversation {c}, with some words").into_bytes(),
                delivery_status: DeliveryStatus::Published,
                reference_id: None,
                expires_at_ns: None,
            }));
        }
    }
    for c in 0u8..8 {
        records.push(Record::Consent(Consent {
            entity_type: ConsentEntityType::Conversation,
            entity: format!("{:02x}", c).repeat(16),
            state: ConsentState::Allowed,
            updated_at_ns: i64::from(c),
        }));
    }
    records
}

/// The original archive and the encodings of its records.
fn original() -> &'static (Vec<u8>, HashSet<Vec<u8>>) {
    static ORIGINAL: OnceLock<(Vec<u8>, HashSet<Vec<u8>>)> = OnceLock::new();
    ORIGINAL.get_or_init(|| {
        let records = sample_records();
        let options = WriterOptions {
            chunk_size: 4096,
            level: 1,
            threads: 1,
            ..WriterOptions::default()
        };
        let mut writer =
            ArchiveWriter::new(Vec::new(), &[&key()], &ArchiveMetadata::now(), &options)
                .expect("the sample archive writes");
        for record in &records {
            writer
                .write_record(record)
                .expect("the sample records are in order");
        }
        let (bytes, _) = writer.finish().expect("the sample archive finishes");
        let encoded = records
            .iter()
            .map(|record| encode_record(record).expect("records encode"))
            .collect();
        (bytes, encoded)
    })
}

fn damage(mut bytes: Vec<u8>, ops: &[u8]) -> Vec<u8> {
    for op in ops.chunks_exact(7) {
        if bytes.is_empty() {
            break;
        }
        let at = u32::from_le_bytes([op[1], op[2], op[3], op[4]]) as usize % bytes.len();
        let (value, length) = (op[5], usize::from(op[6]));
        match op[0] % 4 {
            0 => bytes[at] ^= value.max(1),
            1 => bytes.truncate(at),
            2 => {
                let end = (at + length).min(bytes.len());
                bytes.drain(at..end);
            }
            _ => {
                bytes.splice(at..at, std::iter::repeat_n(value, length));
            }
        }
    }
    bytes
}

fuzz_target!(|data: &[u8]| {
    let (bytes, known) = original();
    let damaged = damage(bytes.clone(), data);
    let Ok((out, _report)) = salvage(
        Cursor::new(&damaged),
        &identities(),
        Limits::default(),
        &key(),
        Vec::new(),
    ) else {
        // Only a header that does not open may fail a salvage.
        return;
    };
    let mut reader =
        ArchiveReader::with_threads(Cursor::new(&out), &identities(), Limits::default(), 1)
            .expect("a salvaged archive opens");
    while let Some(batch) = reader.next_batch().expect("a salvaged archive reads") {
        for record in batch {
            let encoded = encode_record(&record).expect("records encode");
            assert!(
                known.contains(&encoded),
                "salvage yielded a record not in the original: {record:?}"
            );
        }
    }
});
