//! Proptest strategies for valid records, for the property tests of this
//! crate and of the adapters built on it (feature `proptest`).

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;

use super::{
    Consent, ConsentEntityType, ConsentState, Conversation, ConversationKind, DeliveryStatus,
    Message, MessageKind, Record,
};

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..40)
}

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,20}"
}

/// Any valid conversation.
pub fn conversation() -> impl Strategy<Value = Conversation> {
    (
        bytes(),
        prop_oneof![Just(ConversationKind::Group), Just(ConversationKind::Dm)],
        any::<i64>(),
        option::of(text()),
        option::of(text()),
        option::of(text()),
        vec(text(), 0..4),
        btree_map(text(), text(), 0..3),
        option::of(any::<i64>()),
    )
        .prop_map(
            |(id, kind, created_at_ns, name, dm_peer, added_by, member_ids, metadata, last)| {
                Conversation {
                    id,
                    kind,
                    created_at_ns,
                    name,
                    dm_peer,
                    added_by,
                    member_ids,
                    metadata,
                    last_message_ns: last,
                }
            },
        )
}

/// Any valid message in conversation `conversation_id`.
pub fn message(conversation_id: Vec<u8>) -> impl Strategy<Value = Message> {
    (
        bytes(),
        text(),
        bytes(),
        any::<i64>(),
        prop_oneof![
            Just(MessageKind::Application),
            Just(MessageKind::MembershipChange)
        ],
        text(),
        vec(any::<u8>(), 0..300),
        prop_oneof![
            Just(DeliveryStatus::Published),
            Just(DeliveryStatus::Unpublished),
            Just(DeliveryStatus::Failed)
        ],
        option::of(bytes()),
        option::of(any::<i64>()),
    )
        .prop_map(
            move |(
                id,
                sender_id,
                installation,
                sent,
                kind,
                content_type,
                content,
                status,
                reference_id,
                expires,
            )| Message {
                id,
                conversation_id: conversation_id.clone(),
                sender_id,
                sender_installation_id: installation,
                sent_at_ns: sent,
                kind,
                content_type,
                content,
                delivery_status: status,
                reference_id,
                expires_at_ns: expires,
            },
        )
}

/// Any valid consent record.
pub fn consent() -> impl Strategy<Value = Consent> {
    (
        prop_oneof![
            Just(ConsentEntityType::Conversation),
            Just(ConsentEntityType::Inbox),
            Just(ConsentEntityType::Address)
        ],
        text(),
        prop_oneof![
            Just(ConsentState::Unknown),
            Just(ConsentState::Allowed),
            Just(ConsentState::Denied)
        ],
        any::<i64>(),
    )
        .prop_map(|(entity_type, entity, state, updated_at_ns)| Consent {
            entity_type,
            entity,
            state,
            updated_at_ns,
        })
}

/// Records in dependency order: each conversation followed by some of its
/// messages, then consent.
pub fn records() -> impl Strategy<Value = Vec<Record>> {
    (
        vec(
            conversation().prop_flat_map(|c| {
                let id = c.id.clone();
                (Just(c), vec(message(id), 0..4))
            }),
            0..5,
        ),
        vec(consent(), 0..4),
    )
        .prop_map(|(conversations, consents)| {
            let mut out = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for (conversation, messages) in conversations {
                if seen.insert(conversation.id.clone()) {
                    out.push(Record::Conversation(conversation));
                    out.extend(messages.into_iter().map(Record::Message));
                }
            }
            out.extend(consents.into_iter().map(Record::Consent));
            out
        })
}
