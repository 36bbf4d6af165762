//! Vectors of malformed record batches (spec §6.3).

use std::collections::BTreeMap;

use keepsake::body::records::{Consent, ConsentEntityType, ConsentState, ConversationKind};
use keepsake::error::Limit;
use keepsake::format::ChunkKind;

use super::*;

pub(crate) fn batch_vectors(out: &mut Vec<Vector>) {
    let records = base_batches();
    let group = conversation(GROUP_ID, ConversationKind::Group, Some("g"));
    let mut with_meta = group.clone();
    with_meta.metadata = BTreeMap::from([
        ("a".to_owned(), "1".to_owned()),
        ("b".to_owned(), "2".to_owned()),
    ]);
    let mut astral = group.clone();
    astral.metadata = BTreeMap::from([
        ("\u{FF61}".to_owned(), "1".to_owned()),
        ("😀".to_owned(), "2".to_owned()),
    ]);
    let entry_of = |key: &str, value: &str| {
        [
            varint(key.len() as u64),
            key.as_bytes().to_vec(),
            varint(value.len() as u64),
            value.as_bytes().to_vec(),
        ]
        .concat()
    };
    let simple = Consent {
        entity_type: ConsentEntityType::Inbox,
        entity: "ab".to_owned(),
        state: ConsentState::Allowed,
        updated_at_ns: 0,
    };
    let simple_bytes = encoded(&cons(simple.clone()));
    assert_eq!(simple_bytes, [0x02, 0x01, 0x02, b'a', b'b', 0x01, 0x00]);
    let message_bytes = encoded(&msg(message(b"m-1", GROUP_ID, T1, "hi")));
    let group_bytes = encoded(&conv(group.clone()));
    let last = message_bytes.len() - 1;
    assert_eq!(
        message_bytes[last], 0x00,
        "expires_at_ns None is the last byte"
    );

    let corrupt = Outcome::ChunkFailure {
        chunk: TARGET as u64,
    };
    let record_limit = Outcome::LimitExceeded {
        limit: Limit::RecordSize,
    };
    let max = small().max_record_size() as usize;
    let over = encoded(&sized(max + 1, |n| {
        cons(Consent {
            entity_type: ConsentEntityType::Inbox,
            entity: "x".repeat(n),
            state: ConsentState::Allowed,
            updated_at_ns: 0,
        })
    }));

    let cases: Vec<(&str, &str, Outcome, Vec<u8>)> = vec![
        (
            "batch-empty",
            "a batch holding only the schema version",
            corrupt,
            varint(1),
        ),
        (
            "batch-empty-body",
            "a record batch with an empty body",
            corrupt,
            Vec::new(),
        ),
        (
            "batch-schema-version-2",
            "a batch of record schema version 2, unknown to format version 1",
            corrupt,
            [varint(2), raw_batch(&[&simple_bytes])[1..].to_vec()].concat(),
        ),
        (
            "batch-schema-version-non-minimal",
            "the schema version written as 81 00, an over-long varint",
            corrupt,
            [vec![0x81, 0x00], raw_batch(&[&simple_bytes])[1..].to_vec()].concat(),
        ),
        (
            "batch-entry-length-non-minimal",
            "an entry length written as a two-byte varint (over-long)",
            corrupt,
            [
                vec![0x01, 0x80 | simple_bytes.len() as u8, 0x00],
                simple_bytes.clone(),
            ]
            .concat(),
        ),
        (
            "batch-entry-length-over-u32",
            "an entry length varint of five bytes whose value exceeds 2^32 - 1: damage, not a limit",
            corrupt,
            [
                vec![0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F],
                simple_bytes.clone(),
            ]
            .concat(),
        ),
        (
            "batch-entry-past-end",
            "the last entry's length one more than the bytes left in the batch",
            corrupt,
            [
                vec![0x01, simple_bytes.len() as u8 + 1],
                simple_bytes.clone(),
            ]
            .concat(),
        ),
        (
            "record-trailing-byte",
            "an entry holding a consent record followed by one zero byte inside the entry",
            corrupt,
            raw_batch(&[&[simple_bytes.clone(), vec![0]].concat()]),
        ),
        (
            "record-over-max-record-size",
            "an authenticated batch whose one entry is 4089 bytes, one more than max_record_size 4088 (the batch fits max_chunk_size)",
            record_limit,
            raw_batch(&[&over]),
        ),
        (
            "record-length-u32-max",
            "an entry length of 2^32 - 1 (ff ff ff ff 0f) with no bytes after it: the limit is checked first",
            record_limit,
            vec![0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F],
        ),
        (
            "record-non-canonical-varint",
            "a consent record's timestamp 0 written as 80 00, an over-long varint",
            corrupt,
            raw_batch(&[&[&simple_bytes[..6], &[0x80, 0x00][..]].concat()]),
        ),
        (
            "record-i64-varint-overflow",
            "a consent record's timestamp written as a 10-byte varint whose value exceeds 64 bits",
            corrupt,
            raw_batch(&[&[&simple_bytes[..6], &[0xFF; 9][..], &[0x7F][..]].concat()]),
        ),
        (
            "record-unknown-variant",
            "a record of enum discriminant 3, which Record does not define",
            corrupt,
            raw_batch(&[&set(&simple_bytes, 0, &[3])]),
        ),
        (
            "record-invalid-enum-value",
            "a consent record with state 3, which ConsentState does not define",
            corrupt,
            raw_batch(&[&set(&simple_bytes, 5, &[3])]),
        ),
        (
            "record-invalid-option-tag",
            "a message whose expires_at_ns option tag is 02",
            corrupt,
            raw_batch(&[&group_bytes, &set(&message_bytes, last, &[2])]),
        ),
        (
            "record-invalid-utf8",
            "a consent entity whose bytes c3 28 are not UTF-8",
            corrupt,
            raw_batch(&[&set(&simple_bytes, 3, &[0xC3, 0x28])]),
        ),
        (
            "record-string-past-entry",
            "a consent entity whose length (127) runs past the end of its entry",
            corrupt,
            raw_batch(&[&set(&simple_bytes, 2, &[0x7F])]),
        ),
        (
            "record-map-keys-out-of-order",
            "conversation metadata keys \"b\" then \"a\": not ascending",
            corrupt,
            raw_batch(&[&replace_once(
                &encoded(&conv(with_meta.clone())),
                &[entry_of("a", "1"), entry_of("b", "2")].concat(),
                &[entry_of("b", "2"), entry_of("a", "1")].concat(),
            )]),
        ),
        (
            "record-map-keys-duplicate",
            "conversation metadata with the key \"a\" twice",
            corrupt,
            raw_batch(&[&replace_once(
                &encoded(&conv(with_meta.clone())),
                &[entry_of("a", "1"), entry_of("b", "2")].concat(),
                &[entry_of("a", "1"), entry_of("a", "2")].concat(),
            )]),
        ),
        (
            "record-map-keys-utf16-order",
            "conversation metadata keys U+1F600 then U+FF61: UTF-16 order, not the UTF-8 byte order the format requires",
            corrupt,
            raw_batch(&[&replace_once(
                &encoded(&conv(astral.clone())),
                &[entry_of("\u{FF61}", "1"), entry_of("😀", "2")].concat(),
                &[entry_of("😀", "2"), entry_of("\u{FF61}", "1")].concat(),
            )]),
        ),
        (
            "message-before-its-conversation",
            "a message, then its conversation's record, in one batch",
            corrupt,
            raw_batch(&[
                &encoded(&msg(message(b"m-x", b"late", T1, "too early"))),
                &encoded(&conv(conversation(b"late", ConversationKind::Dm, None))),
            ]),
        ),
        (
            "message-without-conversation",
            "a message whose conversation never appears",
            corrupt,
            raw_batch(&[&encoded(&msg(message(b"m-x", b"nowhere", T1, "orphan")))]),
        ),
        (
            "conversation-repeated",
            "the record of the conversation of chunk 1 again in chunk 2",
            corrupt,
            batch_body(&records[0][..1]),
        ),
        (
            "conversation-repeated-in-one-batch",
            "one batch holding the same new conversation record twice",
            corrupt,
            raw_batch(&[
                &encoded(&conv(conversation(b"twice", ConversationKind::Dm, None))),
                &encoded(&conv(conversation(b"twice", ConversationKind::Dm, None))),
            ]),
        ),
    ];
    for (name, description, outcome, body) in cases {
        let mut build = Build::new(name, &[KEY], &small());
        build.batch(&records[0]);
        build.frame(ChunkKind::RECORDS, 0, body);
        build.batch(&records[2]);
        out.push(build.finish().fails_at(TARGET, description, outcome));
    }
}
