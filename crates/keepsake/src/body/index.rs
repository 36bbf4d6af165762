//! The seek index (spec §6.5): an ignorable chunk, written just before the
//! trailer, that maps every chunk to its byte offset, its kind and, for a
//! record batch, the conversations and the time range it holds. A reader with
//! random access uses it to decrypt only the chunks a partial import needs; a
//! streaming reader authenticates, digests and skips it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::body::canonical::Walker;
use crate::body::records::{Record, encode_into};
use crate::error::{Error, Limit, Result};
use crate::format::ChunkKind;
use crate::limits::{DECODED_PER_INDEX_ENTRY, DECODED_PER_LIST_ELEMENT, DECODED_PER_VALUE, Limits};

/// The body of a seek-index chunk (spec §6.5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeekIndex {
    /// Every conversation id the entries refer to, each once, strictly ascending.
    pub conversations: Vec<ConversationId>,
    /// One entry per chunk before the index chunk, in chunk order.
    pub chunks: Vec<IndexEntry>,
}

/// A conversation id inside a [`SeekIndex`], encoded as postcard bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConversationId(#[serde(with = "serde_bytes")] pub Vec<u8>);

/// What the index says about one chunk.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// The byte offset of the chunk's frame from the start of the archive.
    pub offset: u64,
    /// The chunk's kind byte.
    pub kind: u8,
    /// Indices into [`SeekIndex::conversations`] of the Conversation records in
    /// this chunk, strictly ascending.
    pub conversation_records: Vec<u32>,
    /// Indices of the conversations with at least one Message in this chunk,
    /// strictly ascending.
    pub message_conversations: Vec<u32>,
    /// Message records in this chunk.
    pub messages: u64,
    /// Consent records in this chunk.
    pub consent: u64,
    /// The smallest and largest `sent_at_ns` of the messages in this chunk.
    pub sent_range: Option<(i64, i64)>,
}

impl IndexEntry {
    /// Counts a message of conversation `at` sent at `sent`.
    fn note_message(&mut self, at: u32, sent: i64) {
        // A conversation's messages are contiguous: dedupe as they come.
        if self.message_conversations.last() != Some(&at) {
            self.message_conversations.push(at);
        }
        self.messages += 1;
        self.sent_range = Some(match self.sent_range {
            None => (sent, sent),
            Some((first, last)) => (first.min(sent), last.max(sent)),
        });
    }
}

impl SeekIndex {
    /// The canonical body bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        encode_into(self, &mut out)?;
        Ok(out)
    }

    /// Decodes and checks an index body found in chunk `chunk` (spec §6.5.2):
    /// one canonical encoding whose decoded size is at most
    /// `max_decoded_size`, checked before anything is built, then ids
    /// strictly ascending and each referred to, every list strictly ascending
    /// and in range, and counts consistent. Offsets are checked against the
    /// file by the seekable reader.
    pub fn parse(body: &[u8], chunk: u64, max_decoded_size: u64) -> Result<SeekIndex> {
        let decoded_size = decoded_size(body)
            .ok_or_else(|| Error::corrupt(chunk, "the seek index is not one canonical encoding"))?;
        Limits::check(Limit::DecodedSize, decoded_size, max_decoded_size)?;
        // A body that walked is canonical: decoding it cannot fail.
        let index: SeekIndex = postcard::from_bytes(body).map_err(|error| {
            Error::corrupt(chunk, format!("the seek index does not decode: {error}"))
        })?;
        let bad = |why: &str| Err(Error::corrupt(chunk, format!("the seek index {why}")));
        if index.conversations.windows(2).any(|w| w[0] >= w[1]) {
            return bad("lists conversation ids out of order or twice");
        }
        let count = index.conversations.len();
        let mut referred = vec![false; count];
        for entry in &index.chunks {
            for list in [&entry.conversation_records, &entry.message_conversations] {
                if list.windows(2).any(|w| w[0] >= w[1]) {
                    return bad("has a conversation list out of order");
                }
                for &at in list.iter() {
                    match referred.get_mut(at as usize) {
                        Some(seen) => *seen = true,
                        None => return bad("refers to a conversation it does not list"),
                    }
                }
            }
            let holds_records =
                !entry.conversation_records.is_empty() || entry.messages != 0 || entry.consent != 0;
            if holds_records && entry.kind != ChunkKind::RECORDS.0 {
                return bad("gives records to a chunk that is not a record batch");
            }
            match entry.sent_range {
                None if entry.messages == 0 && entry.message_conversations.is_empty() => {}
                Some((first, last))
                    if entry.messages != 0
                        && !entry.message_conversations.is_empty()
                        && first <= last => {}
                _ => return bad("has a message time range that disagrees with its counts"),
            }
        }
        if referred.contains(&false) {
            return bad("lists a conversation no entry refers to");
        }
        Ok(index)
    }

    /// The decoded size of this index (spec §6.5.2).
    pub fn decoded_size(&self) -> u64 {
        let ids = self.conversations.iter().map(|id| id.0.len() as u64);
        let elements = self.chunks.iter().map(|entry| {
            (entry.conversation_records.len() + entry.message_conversations.len()) as u64
        });
        index_decoded_size(
            self.conversations.len() as u64,
            ids.sum(),
            self.chunks.len() as u64,
            elements.sum(),
        )
    }

    /// The position of conversation `id` in [`SeekIndex::conversations`].
    pub fn conversation(&self, id: &[u8]) -> Option<u32> {
        self.conversations
            .binary_search_by(|probe| probe.0.as_slice().cmp(id))
            .ok()
            .map(|at| at as u32)
    }
}

/// The decoded size of an index holding `ids` conversation ids of `id_bytes`
/// bytes in all, and `entries` entries whose lists hold `elements` positions
/// in all (spec §6.5.2).
fn index_decoded_size(ids: u64, id_bytes: u64, entries: u64, elements: u64) -> u64 {
    ids.saturating_mul(DECODED_PER_VALUE)
        .saturating_add(id_bytes)
        .saturating_add(entries.saturating_mul(DECODED_PER_INDEX_ENTRY))
        .saturating_add(elements.saturating_mul(DECODED_PER_LIST_ELEMENT))
}

/// Walks an index body as one canonical [`SeekIndex`] without building it,
/// and returns its decoded size; `None` if the body is not one.
fn decoded_size(body: &[u8]) -> Option<u64> {
    let mut walk = Walker::new(body);
    let (mut ids, mut id_bytes, mut entries, mut elements) = (0u64, 0u64, 0u64, 0u64);
    for _ in 0..walk.count()? {
        id_bytes += walk.bytes()?.len() as u64;
        ids += 1;
    }
    for _ in 0..walk.count()? {
        walk.u64()?;
        walk.u8()?;
        for _ in 0..2 {
            for _ in 0..walk.count()? {
                walk.u32()?;
                elements += 1;
            }
        }
        walk.u64()?;
        walk.u64()?;
        if walk.option()? {
            walk.i64()?;
            walk.i64()?;
        }
        entries += 1;
    }
    walk.is_done()
        .then(|| index_decoded_size(ids, id_bytes, entries, elements))
}

/// Builds a [`SeekIndex`] while an archive is written: one entry per chunk,
/// fed the records of each batch before it is sealed. Memory grows with the
/// number of chunks and of conversations, never with the number of messages.
#[derive(Debug, Default)]
pub(crate) struct IndexBuilder {
    /// Conversation ids in the order first seen, with their provisional number.
    ids: BTreeMap<Vec<u8>, u32>,
    chunks: Vec<IndexEntry>,
    /// The entry of the batch being filled.
    pending: IndexEntry,
    /// How many entries already have their offset.
    placed: usize,
}

impl IndexBuilder {
    /// Notes a record added to the batch being filled.
    pub(crate) fn add_record(&mut self, record: &Record) {
        let next = self.ids.len() as u32;
        let entry = &mut self.pending;
        match record {
            Record::Conversation(conversation) => {
                let at = *self.ids.entry(conversation.id.clone()).or_insert(next);
                entry.conversation_records.push(at);
            }
            Record::Message(message) => {
                let at = match self.ids.get(&message.conversation_id) {
                    Some(&at) => at,
                    None => *self
                        .ids
                        .entry(message.conversation_id.clone())
                        .or_insert(next),
                };
                entry.note_message(at, message.sent_at_ns);
            }
            Record::Consent(_) => entry.consent += 1,
        }
    }

    /// Closes the entry of chunk number `entries()` with kind `kind`: the
    /// records noted since the last call if it is a record batch, none otherwise.
    pub(crate) fn add_chunk(&mut self, kind: ChunkKind) {
        let mut entry = std::mem::take(&mut self.pending);
        entry.kind = kind.0;
        self.chunks.push(entry);
    }

    /// Records the byte offset of the next frame written, in chunk order.
    pub(crate) fn place(&mut self, offset: u64) {
        if let Some(entry) = self.chunks.get_mut(self.placed) {
            entry.offset = offset;
            self.placed += 1;
        }
    }

    /// How many chunks have an entry.
    pub(crate) fn entries(&self) -> u64 {
        self.chunks.len() as u64
    }

    /// The finished index, conversation numbers remapped to ascending id order.
    pub(crate) fn build(self) -> SeekIndex {
        let mut remap = vec![0u32; self.ids.len()];
        let mut conversations = Vec::with_capacity(self.ids.len());
        // A BTreeMap iterates in ascending key order: the final numbering.
        for (position, (id, provisional)) in self.ids.into_iter().enumerate() {
            remap[provisional as usize] = position as u32;
            conversations.push(ConversationId(id));
        }
        let chunks = self
            .chunks
            .into_iter()
            .map(|mut entry| {
                for list in [
                    &mut entry.conversation_records,
                    &mut entry.message_conversations,
                ] {
                    for at in list.iter_mut() {
                        *at = remap[*at as usize];
                    }
                    list.sort_unstable();
                    list.dedup();
                }
                entry
            })
            .collect();
        SeekIndex {
            conversations,
            chunks,
        }
    }
}

/// The entry a record batch's actual records imply, numbered against `index`;
/// `None` when a record's conversation is not in the index. The seekable
/// reader compares it with the stored entry.
pub(crate) fn entry_for(
    index: &SeekIndex,
    offset: u64,
    kind: ChunkKind,
    records: &[Record],
) -> Option<IndexEntry> {
    let mut entry = IndexEntry {
        offset,
        kind: kind.0,
        ..IndexEntry::default()
    };
    for record in records {
        match record {
            Record::Conversation(conversation) => entry
                .conversation_records
                .push(index.conversation(&conversation.id)?),
            Record::Message(message) => {
                let at = index.conversation(&message.conversation_id)?;
                entry.note_message(at, message.sent_at_ns);
            }
            Record::Consent(_) => entry.consent += 1,
        }
    }
    for list in [
        &mut entry.conversation_records,
        &mut entry.message_conversations,
    ] {
        list.sort_unstable();
        list.dedup();
    }
    Some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn index() -> impl Strategy<Value = SeekIndex> {
        (
            proptest::collection::btree_set(vec(any::<u8>(), 0..20), 0..8),
            vec(
                (
                    any::<u64>(),
                    any::<bool>(),
                    any::<u64>(),
                    any::<u64>(),
                    any::<(i64, i64)>(),
                ),
                0..10,
            ),
        )
            .prop_map(|(ids, chunks)| {
                let count = ids.len() as u32;
                let mut chunks: Vec<IndexEntry> = chunks
                    .into_iter()
                    .map(|(offset, records, messages, consent, (a, b))| {
                        if records && count > 0 {
                            let pick = (offset % u64::from(count)) as u32;
                            IndexEntry {
                                offset,
                                kind: ChunkKind::RECORDS.0,
                                conversation_records: vec![pick],
                                message_conversations: vec![pick],
                                messages: messages.max(1),
                                consent,
                                sent_range: Some((a.min(b), a.max(b))),
                            }
                        } else {
                            IndexEntry {
                                offset,
                                kind: ChunkKind::METADATA.0,
                                ..IndexEntry::default()
                            }
                        }
                    })
                    .collect();
                // Every listed conversation is referred to.
                if count > 0 {
                    chunks.push(IndexEntry {
                        kind: ChunkKind::RECORDS.0,
                        conversation_records: (0..count).collect(),
                        ..IndexEntry::default()
                    });
                }
                SeekIndex {
                    conversations: ids.into_iter().map(ConversationId).collect(),
                    chunks,
                }
            })
    }

    proptest! {
        #[test]
        fn indices_round_trip(index in index()) {
            let bytes = index.to_bytes().unwrap();
            prop_assert_eq!(SeekIndex::parse(&bytes, 7, u64::MAX).unwrap(), index);
        }

        #[test]
        fn damage_never_panics_and_a_canonical_decode_re_encodes(index in index(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut bytes = index.to_bytes().unwrap();
            if !bytes.is_empty() {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            if let Ok(parsed) = SeekIndex::parse(&bytes, 7, u64::MAX) {
                prop_assert_eq!(parsed.to_bytes().unwrap(), bytes);
            }
        }

        /// The walk accepts exactly the bodies a canonical decode accepts,
        /// and measures the index that decode builds.
        #[test]
        fn the_walk_accepts_and_measures_what_a_decode_builds(
            index in index(),
            edits in vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = index.to_bytes().unwrap();
            prop_assert_eq!(decoded_size(&bytes), Some(index.decoded_size()));
            for (at, value) in edits {
                let at = at.index(bytes.len());
                bytes[at] = value;
            }
            let cut_short = &bytes[..cut.index(bytes.len() + 1)];
            for candidate in [&bytes[..], cut_short] {
                let decoded: Option<SeekIndex> =
                    crate::body::records::decode_exact(candidate, 7, "the seek index").ok();
                prop_assert_eq!(decoded_size(candidate), decoded.map(|index| index.decoded_size()));
            }
        }

        #[test]
        fn an_index_over_the_decoded_size_limit_is_refused(index in index()) {
            let bytes = index.to_bytes().unwrap();
            let size = index.decoded_size();
            prop_assume!(size > 0);
            prop_assert_eq!(SeekIndex::parse(&bytes, 7, size).unwrap(), index);
            let refused = matches!(
                SeekIndex::parse(&bytes, 7, size - 1),
                Err(Error::LimitExceeded { what: Limit::DecodedSize, value, .. }) if value == size
            );
            prop_assert!(refused);
        }

        #[test]
        fn an_over_long_varint_is_rejected(index in index()) {
            // Re-encode the entry count with a redundant continuation byte.
            let bytes = index.to_bytes().unwrap();
            let ids = index.conversations.len();
            prop_assume!(ids < 0x80);
            let mut padded = vec![(ids as u8) | 0x80, 0x00];
            padded.extend_from_slice(&bytes[1..]);
            let rejected = matches!(SeekIndex::parse(&padded, 7, u64::MAX), Err(Error::Corrupt { chunk: 7, .. }));
            prop_assert!(rejected);
        }
    }

    #[test]
    fn a_body_claiming_millions_of_entries_is_measured_before_it_is_built() {
        // A million empty entries take seven bytes each and count 128 each.
        let entry = IndexEntry::default();
        let index = SeekIndex {
            conversations: Vec::new(),
            chunks: vec![entry; 1000],
        };
        let bytes = index.to_bytes().unwrap();
        assert_eq!(bytes.len(), 3 + 7 * 1000);
        assert_eq!(index.decoded_size(), 128 * 1000);
        assert!(matches!(
            SeekIndex::parse(&bytes, 7, 128 * 1000 - 1),
            Err(Error::LimitExceeded {
                what: Limit::DecodedSize,
                ..
            })
        ));
        // Ids cost their length and 32 each; list elements 8 each.
        let index = SeekIndex {
            conversations: vec![ConversationId(vec![1, 2, 3])],
            chunks: vec![IndexEntry {
                kind: ChunkKind::RECORDS.0,
                conversation_records: vec![0],
                message_conversations: vec![0],
                messages: 1,
                sent_range: Some((0, 0)),
                ..IndexEntry::default()
            }],
        };
        assert_eq!(index.decoded_size(), 32 + 3 + 128 + 2 * 8);
    }

    #[test]
    fn unsorted_or_unreferenced_conversations_are_rejected() {
        let entry = IndexEntry {
            kind: ChunkKind::RECORDS.0,
            conversation_records: vec![0, 1],
            ..IndexEntry::default()
        };
        let unsorted = SeekIndex {
            conversations: vec![ConversationId(vec![2]), ConversationId(vec![1])],
            chunks: vec![entry.clone()],
        };
        assert!(SeekIndex::parse(&unsorted.to_bytes().unwrap(), 3, u64::MAX).is_err());
        let unreferenced = SeekIndex {
            conversations: vec![
                ConversationId(vec![1]),
                ConversationId(vec![2]),
                ConversationId(vec![3]),
            ],
            chunks: vec![entry.clone()],
        };
        assert!(SeekIndex::parse(&unreferenced.to_bytes().unwrap(), 3, u64::MAX).is_err());
        let out_of_range = SeekIndex {
            conversations: vec![ConversationId(vec![1])],
            chunks: vec![entry],
        };
        assert!(SeekIndex::parse(&out_of_range.to_bytes().unwrap(), 3, u64::MAX).is_err());
    }
}
