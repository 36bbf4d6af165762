//! Structure-aware: records of every kind in dependency order, written with ArchiveWriter (any
//! chunk size from 4 KiB to 64 KiB, zstd level 1 to 5) and read back with ArchiveReader, come back
//! identical, with the trailer the writer wrote; writing them again gives the same bytes.
#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use keepsake::body::records::encode_record;
use keepsake::{
    ArchiveMetadata, ArchiveMode, ArchiveReader, ArchiveWriter, Consent, ConsentEntityType,
    ConsentState, Conversation, ConversationKind, DeliveryStatus, Elements, Limits, Message,
    MessageKind, Record, WriterOptions,
};
use keepsake_fuzz::{identities, key};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;

#[derive(Arbitrary, Debug)]
struct Input {
    seed: u64,
    chunk_size: u16,
    level: u8,
    metadata: MetadataInput,
    items: Vec<Item>,
}

#[derive(Arbitrary, Debug)]
struct MetadataInput {
    created_at_ns: i64,
    messages: bool,
    consent: bool,
    start_ns: Option<i64>,
    end_ns: Option<i64>,
    creator: String,
}

#[derive(Arbitrary, Debug)]
enum Item {
    Conversation(ConversationInput),
    /// A message in the conversation at this position among those written so far.
    Message(u8, MessageInput),
    Consent(ConsentInput),
}

#[derive(Arbitrary, Debug)]
struct ConversationInput {
    id: Vec<u8>,
    group: bool,
    created_at_ns: i64,
    name: Option<String>,
    dm_peer: Option<String>,
    added_by: Option<String>,
    member_ids: Vec<String>,
    metadata: BTreeMap<String, String>,
    last_message_ns: Option<i64>,
}

#[derive(Arbitrary, Debug)]
struct MessageInput {
    id: Vec<u8>,
    sender_id: String,
    sender_installation_id: Vec<u8>,
    sent_at_ns: i64,
    application: bool,
    content_type: String,
    content: Vec<u8>,
    delivery_status: u8,
    reference_id: Option<Vec<u8>>,
    expires_at_ns: Option<i64>,
}

#[derive(Arbitrary, Debug)]
struct ConsentInput {
    entity_type: u8,
    entity: String,
    state: u8,
    updated_at_ns: i64,
}

/// The records the items describe, in dependency order: a message whose
/// conversation is not yet written goes to the one at its position, or is
/// dropped while there is none; a repeated conversation id is dropped.
fn records(items: Vec<Item>) -> Vec<Record> {
    let mut conversations: Vec<Vec<u8>> = Vec::new();
    let mut out = Vec::new();
    for item in items {
        match item {
            Item::Conversation(c) => {
                if conversations.contains(&c.id) {
                    continue;
                }
                conversations.push(c.id.clone());
                out.push(Record::Conversation(Conversation {
                    id: c.id,
                    kind: if c.group {
                        ConversationKind::Group
                    } else {
                        ConversationKind::Dm
                    },
                    created_at_ns: c.created_at_ns,
                    name: c.name,
                    dm_peer: c.dm_peer,
                    added_by: c.added_by,
                    member_ids: c.member_ids,
                    metadata: c.metadata,
                    last_message_ns: c.last_message_ns,
                }));
            }
            Item::Message(at, m) => {
                if conversations.is_empty() {
                    continue;
                }
                let conversation_id = conversations[usize::from(at) % conversations.len()].clone();
                out.push(Record::Message(Message {
                    id: m.id,
                    conversation_id,
                    sender_id: m.sender_id,
                    sender_installation_id: m.sender_installation_id,
                    sent_at_ns: m.sent_at_ns,
                    kind: if m.application {
                        MessageKind::Application
                    } else {
                        MessageKind::MembershipChange
                    },
                    content_type: m.content_type,
                    content: m.content,
                    delivery_status: match m.delivery_status % 3 {
                        0 => DeliveryStatus::Published,
                        1 => DeliveryStatus::Unpublished,
                        _ => DeliveryStatus::Failed,
                    },
                    reference_id: m.reference_id,
                    expires_at_ns: m.expires_at_ns,
                }));
            }
            Item::Consent(c) => out.push(Record::Consent(Consent {
                entity_type: match c.entity_type % 3 {
                    0 => ConsentEntityType::Conversation,
                    1 => ConsentEntityType::Inbox,
                    _ => ConsentEntityType::Address,
                },
                entity: c.entity,
                state: match c.state % 3 {
                    0 => ConsentState::Unknown,
                    1 => ConsentState::Allowed,
                    _ => ConsentState::Denied,
                },
                updated_at_ns: c.updated_at_ns,
            })),
        }
    }
    out
}

fn write(
    records: &[Record],
    metadata: &ArchiveMetadata,
    options: &WriterOptions,
    seed: u64,
) -> (Vec<u8>, keepsake::format::Trailer) {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let mut writer = ArchiveWriter::with_rng(Vec::new(), &[&key()], metadata, options, &mut rng)
        .expect("start an archive");
    for record in records {
        writer.write_record(record).expect("write a record");
    }
    writer.finish().expect("finish an archive")
}

fuzz_target!(|input: Input| {
    let options = WriterOptions {
        chunk_size: 4096 + u32::from(input.chunk_size) % (65536 - 4096 + 1),
        level: 1 + i32::from(input.level % 5),
        threads: 1 + usize::from(input.level % 2),
        signing_key: None,
    };
    let metadata = ArchiveMetadata {
        mode: ArchiveMode::Records,
        created_at_ns: input.metadata.created_at_ns,
        elements: Elements {
            messages: input.metadata.messages,
            consent: input.metadata.consent,
        },
        start_ns: input.metadata.start_ns,
        end_ns: input.metadata.end_ns,
        creator: input.metadata.creator,
    };
    // Metadata too large for one chunk is refused by the writer, as it must be.
    if postcard::to_allocvec(&metadata)
        .expect("encode metadata")
        .len()
        > options.chunk_size as usize
    {
        return;
    }
    // A record too large for one chunk is refused by the writer; leave those
    // out, and with a conversation its messages, before writing.
    let mut records = records(input.items);
    let max = options.max_record_size() as usize;
    let mut too_large = Vec::new();
    records.retain(|record| {
        let fits = encode_record(record).expect("encode a record").len() <= max;
        match record {
            Record::Conversation(c) if !fits => too_large.push(c.id.clone()),
            Record::Message(m) if too_large.contains(&m.conversation_id) => return false,
            _ => {}
        }
        fits
    });

    let (bytes, trailer) = write(&records, &metadata, &options, input.seed);
    let (again, _) = write(&records, &metadata, &options, input.seed);
    assert!(
        bytes == again,
        "the same records, key and seed gave two different archives"
    );

    let mut reader =
        ArchiveReader::new(bytes.as_slice(), &identities(), Limits::default()).expect("open");
    assert_eq!(reader.metadata(), &metadata);
    let mut read = Vec::new();
    while let Some(batch) = reader.next_batch().expect("read a batch") {
        read.extend(batch);
    }
    assert!(
        read == records,
        "the records read back differ from those written"
    );
    assert_eq!(reader.trailer(), Some(&trailer));
    let count = |kind: fn(&Record) -> bool| records.iter().filter(|r| kind(r)).count() as u64;
    assert_eq!(
        trailer.conversations,
        count(|r| matches!(r, Record::Conversation(_)))
    );
    assert_eq!(trailer.messages, count(|r| matches!(r, Record::Message(_))));
    assert_eq!(trailer.consent, count(|r| matches!(r, Record::Consent(_))));
    assert_eq!(trailer.chunk_count + 1, reader.chunks_read());
});
