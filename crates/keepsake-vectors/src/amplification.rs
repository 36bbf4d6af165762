//! Vectors of decoded-size amplification (spec §6.3.1, §9): record batches
//! whose lists hold hundreds of thousands of empty strings, a byte each in
//! the encoding and a few hundred bytes in all once compressed, at and just
//! over the reader's decoded-size limit.

use keepsake::body::records::{Conversation, ConversationKind};
use keepsake::error::Limit;
use keepsake::format::ChunkKind;
use keepsake::limits::{DEFAULT_MAX_DECODED_SIZE, record_decoded_size};

use super::*;

/// The writers' default chunk size, which these vectors declare.
const CHUNK: u32 = keepsake::stream::writer::DEFAULT_CHUNK_SIZE;

/// A conversation whose record's decoded size is exactly `decoded_size`:
/// empty member ids for the bulk, and a name whose length takes up the rest.
pub(crate) fn crowded(id: &[u8], decoded_size: u64) -> Record {
    crowded_with(id, decoded_size, "")
}

/// As [`crowded`], every member id being `member`.
pub(crate) fn crowded_with(id: &[u8], decoded_size: u64, member: &str) -> Record {
    let with = |members: usize, name: usize| {
        conv(Conversation {
            id: id.to_vec(),
            kind: ConversationKind::Group,
            created_at_ns: CREATED_AT_NS,
            name: Some("n".repeat(name)),
            dm_peer: None,
            added_by: None,
            member_ids: vec![member.to_owned(); members],
            metadata: Default::default(),
            last_message_ns: None,
        })
    };
    let size = |record: &Record| record_decoded_size(encoded(record).len(), record.values());
    // Each member adds its encoding and 32 for the value; the member count's
    // varint grows by up to four bytes.
    let each = 1 + member.len() as u64 + 32;
    let members = ((decoded_size - size(&with(0, 0)) - 4) / each) as usize;
    let name = (decoded_size - size(&with(members, 0))) as usize;
    let record = with(members, name);
    assert!(name < 128, "the name's length varint is one byte");
    assert_eq!(size(&record), decoded_size);
    record
}

/// How many member ids a conversation record holds.
fn members(record: &Record) -> usize {
    match record {
        Record::Conversation(conversation) => conversation.member_ids.len(),
        _ => 0,
    }
}

pub(crate) fn amplification_vectors(out: &mut Vec<Vector>) {
    let limit = DEFAULT_MAX_DECODED_SIZE;
    let over = Outcome::LimitExceeded {
        limit: Limit::DecodedSize,
    };
    let options = options(CHUNK, 3);
    let records = base_batches();

    let at_limit = crowded(b"crowded", limit);
    assert_eq!(members(&at_limit), 508_389, "as the description says");
    let mut build = Build::new("decoded-size-at-limit", &[KEY], &options);
    build.batch(&records[0]);
    build.batch(std::slice::from_ref(&at_limit));
    out.push(build.finish().success(
        "a batch whose one record's decoded size is exactly 16 MiB (508 389 empty member ids in a 508 KB entry), what a reader with default limits accepts",
    ));

    let mut build = Build::new("decoded-size-over-limit", &[KEY], &options);
    build.batch(&records[0]);
    build.chunk(
        ChunkKind::RECORDS,
        batch_body(&[crowded(b"crowded", limit + 1)]),
    );
    build.batch(&records[2]);
    out.push(build.finish().fails_at(
        TARGET,
        "a batch whose one record's decoded size is 16 MiB + 1, one over the default limit: it compresses to a few hundred bytes",
        over,
    ));

    let mut build = Build::new("decoded-size-at-limit-in-every-batch", &[KEY], &options);
    for batch in 0..6u8 {
        let record = crowded_with(&[b'c', batch], limit, "m");
        assert_eq!(members(&record), 493_437, "as the description says");
        build.batch(&[record]);
    }
    out.push(build.finish().success(
        "six batches, each one record whose decoded size is exactly 16 MiB (493 437 one-byte member ids in a 987 KB entry): what a reader with default limits accepts, batch after batch",
    ));

    let half = crowded(b"crowded-1", limit / 2);
    let rest = crowded(b"crowded-2", limit / 2 + 1);
    let mut build = Build::new("decoded-size-over-limit-in-sum", &[KEY], &options);
    build.batch(&records[0]);
    build.chunk(ChunkKind::RECORDS, batch_body(&[half, rest]));
    build.batch(&records[2]);
    out.push(build.finish().fails_at(
        TARGET,
        "a batch of two records, each under the decoded-size limit, whose decoded sizes add up to 16 MiB + 1",
        over,
    ));
}
