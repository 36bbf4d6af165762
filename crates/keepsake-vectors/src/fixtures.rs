//! The records vectors hold: a small fixed conversation history, and
//! generated chatter for the larger ones.

use std::collections::BTreeMap;

use rand::RngCore;
use rand_chacha::ChaCha20Rng;

use keepsake::body::records::{
    Consent, ConsentEntityType, ConsentState, Conversation, ConversationKind, DeliveryStatus,
    Message, MessageKind, Record,
};

use super::*;

pub(crate) fn conversation(id: &[u8], kind: ConversationKind, name: Option<&str>) -> Conversation {
    Conversation {
        id: id.to_vec(),
        kind,
        created_at_ns: CREATED_AT_NS - 30 * DAY_NS,
        name: name.map(str::to_owned),
        dm_peer: match kind {
            ConversationKind::Dm => Some("bob".to_owned()),
            ConversationKind::Group => None,
        },
        added_by: Some("alice".to_owned()),
        member_ids: vec!["alice".to_owned(), "bob".to_owned()],
        metadata: BTreeMap::new(),
        last_message_ns: None,
    }
}

pub(crate) fn message(id: &[u8], conversation_id: &[u8], sent_at_ns: i64, text: &str) -> Message {
    Message {
        id: id.to_vec(),
        conversation_id: conversation_id.to_vec(),
        sender_id: "alice".to_owned(),
        sender_installation_id: vec![0xA1, 0x1C, 0xE0, 0x01],
        sent_at_ns,
        kind: MessageKind::Application,
        content_type: "xmtp.org/text:1.0".to_owned(),
        content: text.as_bytes().to_vec(),
        delivery_status: DeliveryStatus::Published,
        reference_id: None,
        expires_at_ns: None,
    }
}

pub(crate) fn consent(
    entity_type: ConsentEntityType,
    entity: &str,
    state: ConsentState,
) -> Consent {
    Consent {
        entity_type,
        entity: entity.to_owned(),
        state,
        updated_at_ns: CREATED_AT_NS - DAY_NS,
    }
}

pub(crate) fn conv(c: Conversation) -> Record {
    Record::Conversation(c)
}

pub(crate) fn msg(m: Message) -> Record {
    Record::Message(m)
}

pub(crate) fn cons(c: Consent) -> Record {
    Record::Consent(c)
}

pub(crate) const GROUP_ID: &[u8] = b"\x01group:weekend";
pub(crate) const DM_ID: &[u8] = b"\x02dm:alice+bob";
pub(crate) const T1: i64 = CREATED_AT_NS - 2 * DAY_NS;

/// The three batches of the base archive that most damage vectors start
/// from: a group with two messages, a DM with two longer messages (a
/// compressed chunk), and two consent records.
pub(crate) fn base_batches() -> [Vec<Record>; 3] {
    let mut group = conversation(GROUP_ID, ConversationKind::Group, Some("Weekend plans"));
    group.member_ids.push("carol".to_owned());
    group
        .metadata
        .insert("description".to_owned(), "Hiking on Saturday".to_owned());
    group.last_message_ns = Some(T1 + MINUTE_NS);
    let first = message(b"m-g-1", GROUP_ID, T1, "Who is in for Saturday?");
    let mut reply = message(b"m-g-2", GROUP_ID, T1 + MINUTE_NS, "Me! 🥾");
    reply.sender_id = "bob".to_owned();
    reply.reference_id = Some(b"m-g-1".to_vec());
    let dm = conversation(DM_ID, ConversationKind::Dm, None);
    let long = "See you at the trailhead at eight; bring water and snacks. ".repeat(6);
    let mut dm_first = message(b"m-d-1", DM_ID, T1 + 2 * MINUTE_NS, &long);
    dm_first.delivery_status = DeliveryStatus::Unpublished;
    let mut dm_second = message(b"m-d-2", DM_ID, T1 + 3 * MINUTE_NS, &long.to_uppercase());
    dm_second.kind = MessageKind::MembershipChange;
    dm_second.expires_at_ns = Some(CREATED_AT_NS + 365 * DAY_NS);
    [
        vec![conv(group), msg(first), msg(reply)],
        vec![conv(dm), msg(dm_first), msg(dm_second)],
        vec![
            cons(consent(
                ConsentEntityType::Inbox,
                "bob",
                ConsentState::Allowed,
            )),
            cons(consent(
                ConsentEntityType::Address,
                "0x00000000000000000000000000000000deadbeef",
                ConsentState::Denied,
            )),
        ],
    ]
}

/// The base archive, unfinished: chunk 0 metadata, chunks 1–3 the base
/// batches; the trailer is chunk 4.
pub(crate) fn base_build(name: &str) -> Build {
    let mut build = Build::new(name, &[KEY], &small());
    for batch in base_batches() {
        build.batch(&batch);
    }
    build
}

/// The chunk most frame and body defects are put in: the base archive's
/// second batch, which is stored compressed.
pub(crate) const TARGET: usize = 2;

/// A record of exactly `target` encoded bytes, from `make(n)` whose length
/// grows by one with `n` (apart from the length varint).
pub(crate) fn sized(target: usize, make: impl Fn(usize) -> Record) -> Record {
    let base = encoded(&make(0)).len();
    let mut n = target.saturating_sub(base);
    while encoded(&make(n)).len() > target {
        n -= 1;
    }
    let record = make(n);
    assert_eq!(
        encoded(&record).len(),
        target,
        "no record of {target} bytes"
    );
    record
}

pub(crate) fn random_bytes(rng: &mut ChaCha20Rng, len: usize) -> Vec<u8> {
    let mut out = vec![0; len];
    rng.fill_bytes(&mut out);
    out
}

/// Messages of one conversation, `count` of them, each `len` bytes of text
/// that compresses well.
pub(crate) fn chatter(conversation_id: &[u8], count: usize, len: usize) -> Vec<Record> {
    let phrase = "the quick brown fox jumps over the lazy dog; ";
    (0..count)
        .map(|i| {
            let mut text = format!("message {i}: ");
            while text.len() < len {
                text.push_str(phrase);
            }
            text.truncate(len);
            let id = format!("m-{i:04}");
            msg(message(
                id.as_bytes(),
                conversation_id,
                T1 + i as i64 * MINUTE_NS,
                &text,
            ))
        })
        .collect()
}

/// Several conversations with messages, then consent: a typical small export.
pub(crate) fn typical(conversations: usize, messages: usize) -> Vec<Record> {
    let mut out = Vec::new();
    for c in 0..conversations {
        let id = format!("conversation-{c}");
        let kind = if c % 2 == 0 {
            ConversationKind::Group
        } else {
            ConversationKind::Dm
        };
        let name = format!("Conversation {c}");
        out.push(conv(conversation(
            id.as_bytes(),
            kind,
            (kind == ConversationKind::Group).then_some(name.as_str()),
        )));
        for m in 0..messages {
            let text = format!(
                "{m}: {}",
                "lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(m % 5 + 1)
            );
            let message_id = format!("c{c}-m{m}");
            let mut message = message(
                message_id.as_bytes(),
                id.as_bytes(),
                T1 + (c * messages + m) as i64 * MINUTE_NS,
                &text,
            );
            if m % 4 == 3 {
                message.reference_id = Some(format!("c{c}-m{}", m - 1).into_bytes());
            }
            out.push(msg(message));
        }
    }
    out.push(cons(consent(
        ConsentEntityType::Conversation,
        "636f6e766572736174696f6e2d30",
        ConsentState::Allowed,
    )));
    out.push(cons(consent(
        ConsentEntityType::Inbox,
        "mallory",
        ConsentState::Denied,
    )));
    out
}
