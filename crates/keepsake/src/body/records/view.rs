//! Records decoded as views borrowed from their batch: what a check that
//! keeps no records (verification) decodes, without copying out a byte of
//! content or allocating for each message.
//!
//! Each view mirrors its record field for field, with the same serde
//! representation, so it accepts exactly the bytes the record accepts and
//! re-encodes to the same bytes; the tests below hold the two together.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ConsentEntityType, ConsentState, ConversationKind, DeliveryStatus, MessageKind};

/// A borrowed [`Record`](super::Record).
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum RecordView<'a> {
    Conversation(#[serde(borrow)] ConversationView<'a>),
    Message(#[serde(borrow)] MessageView<'a>),
    Consent(#[serde(borrow)] ConsentView<'a>),
}

/// A borrowed [`Conversation`](super::Conversation).
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ConversationView<'a> {
    #[serde(with = "serde_bytes")]
    pub(crate) id: &'a [u8],
    kind: ConversationKind,
    created_at_ns: i64,
    #[serde(borrow)]
    name: Option<&'a str>,
    #[serde(borrow)]
    dm_peer: Option<&'a str>,
    #[serde(borrow)]
    added_by: Option<&'a str>,
    #[serde(borrow)]
    member_ids: Vec<&'a str>,
    #[serde(borrow)]
    metadata: BTreeMap<&'a str, &'a str>,
    last_message_ns: Option<i64>,
}

/// A borrowed [`Message`](super::Message).
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MessageView<'a> {
    #[serde(with = "serde_bytes")]
    id: &'a [u8],
    #[serde(with = "serde_bytes")]
    pub(crate) conversation_id: &'a [u8],
    sender_id: &'a str,
    #[serde(with = "serde_bytes")]
    sender_installation_id: &'a [u8],
    pub(crate) sent_at_ns: i64,
    kind: MessageKind,
    content_type: &'a str,
    #[serde(with = "serde_bytes")]
    content: &'a [u8],
    delivery_status: DeliveryStatus,
    #[serde(borrow, with = "serde_bytes")]
    reference_id: Option<&'a [u8]>,
    expires_at_ns: Option<i64>,
}

/// A borrowed [`Consent`](super::Consent).
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ConsentView<'a> {
    entity_type: ConsentEntityType,
    entity: &'a str,
    state: ConsentState,
    updated_at_ns: i64,
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::super::strategy::records;
    use super::super::{Record, decode_canonical, encode_record};
    use super::*;

    /// Whether `bytes` decodes canonically as `T`.
    fn accepts<'a, T: Serialize + Deserialize<'a>>(bytes: &'a [u8]) -> bool {
        decode_canonical::<T>(bytes, 0, "a record").is_ok()
    }

    proptest! {
        /// A record's encoding decodes as a view that re-encodes to the same bytes.
        #[test]
        fn views_read_what_records_write(records in records()) {
            for record in records {
                let bytes = encode_record(&record).unwrap();
                let view: RecordView =
                    decode_canonical(&bytes, 0, "a record").unwrap();
                prop_assert_eq!(postcard::to_allocvec(&view).unwrap(), bytes.as_slice());
                let same_ids = match (&record, &view) {
                (Record::Conversation(owned), RecordView::Conversation(view)) => owned.id == view.id,
                (Record::Message(owned), RecordView::Message(view)) => {
                    owned.conversation_id == view.conversation_id
                        && owned.sent_at_ns == view.sent_at_ns
                }
                (Record::Consent(_), RecordView::Consent(_)) => true,
                _ => false,
            };
            prop_assert!(same_ids);
            }
        }

        /// Damaged or arbitrary bytes: a view accepts them exactly when a record does.
        #[test]
        fn views_accept_exactly_what_records_accept(
            records in records(),
            edits in vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
            cut in any::<prop::sample::Index>(),
            noise in vec(any::<u8>(), 0..64),
        ) {
            prop_assume!(!records.is_empty());
            let mut bytes = encode_record(&records[edits.len() % records.len()]).unwrap();
            for (at, value) in edits {
                let at = at.index(bytes.len());
                bytes[at] = value;
            }
            let cut_short = &bytes[..cut.index(bytes.len() + 1)];
            for candidate in [&bytes[..], cut_short, &noise[..]] {
                prop_assert_eq!(accepts::<RecordView>(candidate), accepts::<Record>(candidate));
            }
        }
    }
}
