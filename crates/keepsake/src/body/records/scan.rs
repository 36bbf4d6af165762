//! A record checked in its encoding without being built: whether the bytes
//! are one canonical [`Record`](super::Record), how many string and
//! byte-string values it holds (what its decoded size counts, spec §6.3.1),
//! and the few fields the dependency rules need (spec §6.3.4), borrowed
//! from the batch. Lists are walked element by element; nothing is
//! allocated, whatever the counts say.
//!
//! The walk follows the field order of the types in the parent module; the
//! tests below hold the two together: the walk accepts exactly the bytes a
//! canonical decode accepts, and counts the values the decoded record holds.

use crate::body::canonical::Walker;

/// What a record's walk found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ScannedRecord<'a> {
    pub(crate) kind: Scanned<'a>,
    /// The string and byte-string values the record holds (spec §6.3.1).
    pub(crate) values: u64,
}

/// The fields of a record the dependency rules read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scanned<'a> {
    Conversation {
        id: &'a [u8],
    },
    Message {
        conversation_id: &'a [u8],
        sent_at_ns: i64,
    },
    Consent,
}

/// Variants of the record's enums (spec §6.3.2): `Record`,
/// `ConversationKind`, `MessageKind`, `DeliveryStatus`, `ConsentEntityType`,
/// `ConsentState`.
const RECORD_KINDS: u32 = 3;
const CONVERSATION_KINDS: u32 = 2;
const MESSAGE_KINDS: u32 = 2;
const DELIVERY_STATUSES: u32 = 3;
const CONSENT_ENTITY_TYPES: u32 = 3;
const CONSENT_STATES: u32 = 3;

/// Walks `bytes` as exactly one canonical record; `None` if they are not one.
pub(crate) fn scan_record(bytes: &[u8]) -> Option<ScannedRecord<'_>> {
    let mut walk = Walker::new(bytes);
    let scanned = match walk.variant(RECORD_KINDS)? {
        0 => conversation(&mut walk)?,
        1 => message(&mut walk)?,
        _ => consent(&mut walk)?,
    };
    walk.is_done().then_some(scanned)
}

fn conversation<'a>(walk: &mut Walker<'a>) -> Option<ScannedRecord<'a>> {
    let id = walk.bytes()?;
    walk.variant(CONVERSATION_KINDS)?;
    walk.i64()?;
    let mut values = 1;
    // name, dm_peer, added_by
    for _ in 0..3 {
        if walk.option()? {
            walk.str()?;
            values += 1;
        }
    }
    // member_ids: each element takes a byte at least, so the loop ends with the bytes.
    for _ in 0..walk.count()? {
        walk.str()?;
        values += 1;
    }
    // metadata: keys strictly ascending as UTF-8 bytes (spec B.8).
    let mut previous: Option<&str> = None;
    for _ in 0..walk.count()? {
        let key = walk.str()?;
        if previous.is_some_and(|previous| previous.as_bytes() >= key.as_bytes()) {
            return None;
        }
        previous = Some(key);
        walk.str()?;
        values += 2;
    }
    if walk.option()? {
        walk.i64()?;
    }
    Some(ScannedRecord {
        kind: Scanned::Conversation { id },
        values,
    })
}

fn message<'a>(walk: &mut Walker<'a>) -> Option<ScannedRecord<'a>> {
    walk.bytes()?;
    let conversation_id = walk.bytes()?;
    walk.str()?;
    walk.bytes()?;
    let sent_at_ns = walk.i64()?;
    walk.variant(MESSAGE_KINDS)?;
    walk.str()?;
    walk.bytes()?;
    walk.variant(DELIVERY_STATUSES)?;
    // id, conversation_id, sender_id, sender_installation_id, content_type, content
    let mut values = 6;
    if walk.option()? {
        walk.bytes()?;
        values += 1;
    }
    if walk.option()? {
        walk.i64()?;
    }
    Some(ScannedRecord {
        kind: Scanned::Message {
            conversation_id,
            sent_at_ns,
        },
        values,
    })
}

fn consent<'a>(walk: &mut Walker<'a>) -> Option<ScannedRecord<'a>> {
    walk.variant(CONSENT_ENTITY_TYPES)?;
    walk.str()?;
    walk.variant(CONSENT_STATES)?;
    walk.i64()?;
    Some(ScannedRecord {
        kind: Scanned::Consent,
        values: 1,
    })
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::super::strategy::records;
    use super::super::{Record, decode_canonical, encode_record};
    use super::*;

    /// What the walk must report for a record, from the record itself.
    fn expected(record: &Record) -> ScannedRecord<'_> {
        ScannedRecord {
            kind: match record {
                Record::Conversation(conversation) => Scanned::Conversation {
                    id: &conversation.id,
                },
                Record::Message(message) => Scanned::Message {
                    conversation_id: &message.conversation_id,
                    sent_at_ns: message.sent_at_ns,
                },
                Record::Consent(_) => Scanned::Consent,
            },
            values: record.values(),
        }
    }

    proptest! {
        /// A record's encoding walks to the fields and values the record holds.
        #[test]
        fn walks_read_what_records_write(records in records()) {
            for record in &records {
                let bytes = encode_record(record).unwrap();
                prop_assert_eq!(scan_record(&bytes), Some(expected(record)));
            }
        }

        /// Damaged or arbitrary bytes: the walk accepts them exactly when a
        /// canonical decode does, and then agrees with the decoded record.
        #[test]
        fn walks_accept_exactly_what_records_accept(
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
                let decoded = decode_canonical::<Record>(candidate, 0, "a record").ok();
                prop_assert_eq!(scan_record(candidate), decoded.as_ref().map(expected));
            }
        }
    }

    #[test]
    fn metadata_keys_out_of_order_or_repeated_are_refused() {
        // Conversation, empty id, Group, created 0, three None, no members,
        // metadata {"b": "", "a": ""}, no last message.
        let mut bytes = vec![0, 0, 0, 0, 0, 0, 0, 0, 2, 1, b'b', 0, 1, b'a', 0, 0];
        assert_eq!(scan_record(&bytes), None);
        bytes[13] = b'b';
        assert_eq!(scan_record(&bytes), None);
        bytes[10] = b'a';
        assert_eq!(
            scan_record(&bytes),
            Some(ScannedRecord {
                kind: Scanned::Conversation { id: &[] },
                values: 5
            })
        );
    }

    #[test]
    fn a_count_far_beyond_the_bytes_ends_with_them() {
        // A conversation claiming u64::MAX members and holding three.
        let mut bytes = vec![0, 0, 0, 0, 0, 0, 0];
        bytes.extend([0xff; 9]);
        bytes.push(0x01);
        bytes.extend([0, 0, 0]);
        assert_eq!(scan_record(&bytes), None);
    }
}
