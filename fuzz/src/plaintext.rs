//! An authentic archive's plaintext, edited record by record and sealed
//! again under the known key: what the `reseal` target fuzzes.
//!
//! Byte-level mutations of an archive stop at the AEAD, and of a chunk
//! description mostly stop at the record encoding; these edits work on
//! decoded records, batches and the seek index instead (grow a member list
//! to a million ids, repeat a record, move it before its conversation, give
//! the index more ids than chunks), so the checks behind them, the
//! decoded-size limits among them, are reached with valid encodings.
//!
//! Input: a base byte (which archive, and whether its chunks are compressed),
//! then edits of eight bytes each: an op byte, three argument bytes `a`, `b`,
//! `c` and a 4-byte little-endian count `n`, applied in order (see [`Edit`]).

use std::collections::BTreeSet;

use keepsake::body::index::{ConversationId, IndexEntry, SeekIndex};
use keepsake::body::records::{BatchBuilder, Record, decode_exact, encode_record};
use keepsake::format::ChunkKind;
use keepsake::limits::{DEFAULT_MAX_CHUNK_SIZE, record_decoded_size};
use keepsake::{
    ArchiveMetadata, ArchiveMode, Consent, ConsentEntityType, ConsentState, Conversation,
    ConversationKind, DeliveryStatus, Elements, Limits, Message, MessageKind,
};

use crate::{COMPRESS_HERE, KEY, Sealer};

/// The most bytes an edit may add to one record or index, a little over the
/// reader's default chunk limit, so that both sides of it are reached.
const GROWTH: u64 = DEFAULT_MAX_CHUNK_SIZE as u64 + (64 << 10);

/// What a chunk holds before it is sealed.
#[derive(Clone, Debug)]
enum Body {
    /// A record batch, as the encodings of its records.
    Records(Vec<Vec<u8>>),
    /// The seek index, computed from the chunks sealed before it.
    Index,
    /// Any other body, as bytes.
    Raw(Vec<u8>),
}

#[derive(Clone, Debug)]
struct Chunk {
    kind: ChunkKind,
    body: Body,
    compress: bool,
}

/// Edits to the seek index, applied when it is computed.
#[derive(Clone, Debug, Default)]
struct IndexEdits {
    /// Conversation ids added, each `len` bytes, referred to by the first
    /// record batch's entry.
    ids: Vec<(u32, u8)>,
    /// Positions added to an entry's message list: (entry, count).
    elements: Vec<(u16, u32)>,
    /// Empty entries added.
    entries: u32,
}

/// An archive's plaintext, ready to be edited and sealed.
#[derive(Clone, Debug)]
pub struct Plaintext {
    chunks: Vec<Chunk>,
    index: IndexEdits,
}

/// One edit, decoded from eight input bytes `[op, a, b, c, n0, n1, n2, n3]`;
/// `chunk` and `record` pick one modulo how many there are.
#[derive(Clone, Copy, Debug)]
pub enum Edit {
    /// (op 0) A conversation's member ids become `n` copies of an id of `c % 8` bytes.
    Members {
        chunk: u8,
        record: u8,
        len: u8,
        count: u32,
    },
    /// (op 1) A conversation's metadata becomes `n` entries with values of `c % 8` bytes.
    Metadata {
        chunk: u8,
        record: u8,
        len: u8,
        count: u32,
    },
    /// (op 2) A record repeated `n % 4096` more times where it stands.
    Repeat { chunk: u8, record: u8, times: u32 },
    /// (op 3) A record moved to the end of chunk `c`.
    Move { chunk: u8, record: u8, to: u8 },
    /// (op 4) A record removed.
    Remove { chunk: u8, record: u8 },
    /// (op 5) A batch split in two before a record.
    Split { chunk: u8, record: u8 },
    /// (op 6) A byte of a record's encoding xored with `c` (at least 1).
    Flip {
        chunk: u8,
        record: u8,
        value: u8,
        at: u32,
    },
    /// (op 7) A byte of a record's encoding set to `c`.
    Set {
        chunk: u8,
        record: u8,
        value: u8,
        at: u32,
    },
    /// (op 8) A chunk written twice.
    Duplicate { chunk: u8 },
    /// (op 9) A chunk left out.
    Drop { chunk: u8 },
    /// (op 10) Two chunks swapped.
    Swap { chunk: u8, other: u8 },
    /// (op 11) A chunk's kind byte changed to `c`.
    Kind { chunk: u8, kind: u8 },
    /// (op 12) `n` conversation ids of `c % 8` bytes added to the index.
    IndexIds { len: u8, count: u32 },
    /// (op 13) `n` positions added to index entry `a`'s message list.
    IndexElements { entry: u8, count: u32 },
    /// (op 14) `n` empty entries added to the index.
    IndexEntries { count: u32 },
    /// (op 15) A chunk's compression switched.
    Compress { chunk: u8 },
}

impl Edit {
    /// Reads the edits of an input, eight bytes each.
    pub fn parse_all(bytes: &[u8]) -> Vec<Edit> {
        bytes.chunks_exact(8).map(Edit::parse).collect()
    }

    fn parse(op: &[u8]) -> Edit {
        let (a, b, c) = (op[1], op[2], op[3]);
        let n = u32::from_le_bytes([op[4], op[5], op[6], op[7]]);
        match op[0] % 16 {
            0 => Edit::Members {
                chunk: a,
                record: b,
                len: c % 8,
                count: n,
            },
            1 => Edit::Metadata {
                chunk: a,
                record: b,
                len: c % 8,
                count: n,
            },
            2 => Edit::Repeat {
                chunk: a,
                record: b,
                times: n % 4096,
            },
            3 => Edit::Move {
                chunk: a,
                record: b,
                to: c,
            },
            4 => Edit::Remove {
                chunk: a,
                record: b,
            },
            5 => Edit::Split {
                chunk: a,
                record: b,
            },
            6 => Edit::Flip {
                chunk: a,
                record: b,
                value: c.max(1),
                at: n,
            },
            7 => Edit::Set {
                chunk: a,
                record: b,
                value: c,
                at: n,
            },
            8 => Edit::Duplicate { chunk: a },
            9 => Edit::Drop { chunk: a },
            10 => Edit::Swap { chunk: a, other: b },
            11 => Edit::Kind { chunk: a, kind: c },
            12 => Edit::IndexIds {
                len: c % 8,
                count: n,
            },
            13 => Edit::IndexElements { entry: a, count: n },
            14 => Edit::IndexEntries { count: n },
            _ => Edit::Compress { chunk: a },
        }
    }

    /// The eight input bytes of this edit.
    pub fn to_bytes(self) -> [u8; 8] {
        let (op, a, b, c, n) = match self {
            Edit::Members {
                chunk,
                record,
                len,
                count,
            } => (0, chunk, record, len, count),
            Edit::Metadata {
                chunk,
                record,
                len,
                count,
            } => (1, chunk, record, len, count),
            Edit::Repeat {
                chunk,
                record,
                times,
            } => (2, chunk, record, 0, times),
            Edit::Move { chunk, record, to } => (3, chunk, record, to, 0),
            Edit::Remove { chunk, record } => (4, chunk, record, 0, 0),
            Edit::Split { chunk, record } => (5, chunk, record, 0, 0),
            Edit::Flip {
                chunk,
                record,
                value,
                at,
            } => (6, chunk, record, value, at),
            Edit::Set {
                chunk,
                record,
                value,
                at,
            } => (7, chunk, record, value, at),
            Edit::Duplicate { chunk } => (8, chunk, 0, 0, 0),
            Edit::Drop { chunk } => (9, chunk, 0, 0, 0),
            Edit::Swap { chunk, other } => (10, chunk, other, 0, 0),
            Edit::Kind { chunk, kind } => (11, chunk, 0, kind, 0),
            Edit::IndexIds { len, count } => (12, 0, 0, len, count),
            Edit::IndexElements { entry, count } => (13, entry, 0, 0, count),
            Edit::IndexEntries { count } => (14, 0, 0, 0, count),
            Edit::Compress { chunk } => (15, chunk, 0, 0, 0),
        };
        let n = n.to_le_bytes();
        [op, a, b, c, n[0], n[1], n[2], n[3]]
    }
}

fn metadata() -> ArchiveMetadata {
    ArchiveMetadata {
        mode: ArchiveMode::Records,
        created_at_ns: 1_700_000_000_000_000_000,
        elements: Elements::default(),
        start_ns: None,
        end_ns: None,
        creator: "keepsake fuzz".into(),
    }
}

/// The records of base archive `base`: a few conversations with their
/// messages, and consent, in dependency order.
fn base_records(base: u8) -> Vec<Record> {
    let conversations = 1 + base % 4;
    let mut records = Vec::new();
    for c in 0..conversations {
        records.push(Record::Conversation(Conversation {
            id: vec![c, 0xc0],
            kind: if c % 2 == 0 {
                ConversationKind::Group
            } else {
                ConversationKind::Dm
            },
            created_at_ns: 1_600_000_000_000_000_000 + i64::from(c),
            name: Some(format!("conversation {c}")),
            dm_peer: (c % 2 == 1).then(|| "peer".into()),
            added_by: None,
            member_ids: vec!["inbox-a".into(), "inbox-b".into()],
            metadata: [("k".to_owned(), "v".to_owned())].into(),
            last_message_ns: None,
        }));
        for m in 0..12u32 {
            records.push(Record::Message(Message {
                id: vec![c, m as u8, 0x3e],
                conversation_id: vec![c, 0xc0],
                sender_id: "inbox-a".into(),
                sender_installation_id: vec![0xaa; 4],
                sent_at_ns: 1_650_000_000_000_000_000 + i64::from(m) * 1000 + i64::from(c),
                kind: MessageKind::Application,
                content_type: "xmtp.org/text:1.0".into(),
                content: format!("message {m}").into_bytes(),
                delivery_status: DeliveryStatus::Published,
                reference_id: (m % 3 == 0).then(|| vec![c, 0]),
                expires_at_ns: None,
            }));
        }
    }
    records.push(Record::Consent(Consent {
        entity_type: ConsentEntityType::Inbox,
        entity: "inbox-b".into(),
        state: ConsentState::Allowed,
        updated_at_ns: 1,
    }));
    records
}

impl Plaintext {
    /// Base archive `base % 8`: the metadata, its records in batches of
    /// fifteen, and a seek index; chunks compressed unless `base & 8`.
    pub fn base(base: u8) -> Plaintext {
        let compress = base & 8 == 0;
        let mut body = Vec::new();
        keepsake::body::records::encode_into(&metadata(), &mut body).expect("metadata encodes");
        let mut chunks = vec![Chunk {
            kind: ChunkKind::METADATA,
            body: Body::Raw(body),
            compress,
        }];
        for batch in base_records(base % 8).chunks(15) {
            chunks.push(Chunk {
                kind: ChunkKind::RECORDS,
                body: Body::Records(
                    batch
                        .iter()
                        .map(|record| encode_record(record).expect("records encode"))
                        .collect(),
                ),
                compress,
            });
        }
        chunks.push(Chunk {
            kind: ChunkKind::INDEX,
            body: Body::Index,
            compress,
        });
        Plaintext {
            chunks,
            index: IndexEdits::default(),
        }
    }

    /// The entries of record batch `chunk` (modulo the number of batches).
    fn batch(&mut self, chunk: u8) -> Option<&mut Vec<Vec<u8>>> {
        let batches: Vec<usize> = (0..self.chunks.len())
            .filter(|&at| matches!(self.chunks[at].body, Body::Records(_)))
            .collect();
        let at = *batches.get(usize::from(chunk) % batches.len().max(1))?;
        match &mut self.chunks[at].body {
            Body::Records(entries) => Some(entries),
            _ => None,
        }
    }

    fn chunk_at(&self, chunk: u8) -> Option<usize> {
        (!self.chunks.is_empty()).then(|| usize::from(chunk) % self.chunks.len())
    }

    /// Applies one edit; an edit that does not apply changes nothing.
    pub fn apply(&mut self, edit: Edit) {
        match edit {
            Edit::Members {
                chunk,
                record,
                len,
                count,
            } => {
                let count = u64::from(count).min(GROWTH / (1 + u64::from(len)));
                self.conversation(chunk, record, |conversation| {
                    conversation.member_ids = vec!["m".repeat(usize::from(len)); count as usize];
                });
            }
            Edit::Metadata {
                chunk,
                record,
                len,
                count,
            } => {
                // Keys of eight digits, ascending: nine bytes each, and the value.
                let count = u64::from(count).min(GROWTH / (10 + u64::from(len)));
                let value = "v".repeat(usize::from(len));
                self.conversation(chunk, record, |conversation| {
                    conversation.metadata = (0..count)
                        .map(|key| (format!("{key:08}"), value.clone()))
                        .collect();
                });
            }
            Edit::Repeat {
                chunk,
                record,
                times,
            } => {
                if let Some(entries) = self.batch(chunk)
                    && !entries.is_empty()
                {
                    let at = usize::from(record) % entries.len();
                    let times =
                        (u64::from(times)).min(GROWTH / entries[at].len().max(1) as u64) as usize;
                    let copies = vec![entries[at].clone(); times];
                    entries.splice(at..at, copies);
                }
            }
            Edit::Move { chunk, record, to } => {
                let moved = self.batch(chunk).and_then(|entries| {
                    (!entries.is_empty())
                        .then(|| entries.remove(usize::from(record) % entries.len()))
                });
                if let (Some(moved), Some(entries)) = (moved, self.batch(to)) {
                    entries.push(moved);
                }
            }
            Edit::Remove { chunk, record } => {
                if let Some(entries) = self.batch(chunk)
                    && !entries.is_empty()
                {
                    entries.remove(usize::from(record) % entries.len());
                }
            }
            Edit::Split { chunk, record } => {
                let Some(at) = self.chunk_at(chunk) else {
                    return;
                };
                if let Body::Records(entries) = &mut self.chunks[at].body
                    && !entries.is_empty()
                {
                    let rest = entries.split_off(usize::from(record) % entries.len());
                    let mut second = self.chunks[at].clone();
                    second.body = Body::Records(rest);
                    self.chunks.insert(at + 1, second);
                }
            }
            Edit::Flip {
                chunk,
                record,
                value,
                at,
            }
            | Edit::Set {
                chunk,
                record,
                value,
                at,
            } => {
                let set = matches!(edit, Edit::Set { .. });
                if let Some(entries) = self.batch(chunk)
                    && !entries.is_empty()
                {
                    let count = entries.len();
                    let entry = &mut entries[usize::from(record) % count];
                    if !entry.is_empty() {
                        let len = entry.len();
                        let byte = &mut entry[at as usize % len];
                        *byte = if set { value } else { *byte ^ value };
                    }
                }
            }
            Edit::Duplicate { chunk } => {
                if let Some(at) = self.chunk_at(chunk) {
                    let copy = self.chunks[at].clone();
                    self.chunks.insert(at, copy);
                }
            }
            Edit::Drop { chunk } => {
                if let Some(at) = self.chunk_at(chunk) {
                    self.chunks.remove(at);
                }
            }
            Edit::Swap { chunk, other } => {
                if let (Some(a), Some(b)) = (self.chunk_at(chunk), self.chunk_at(other)) {
                    self.chunks.swap(a, b);
                }
            }
            Edit::Kind { chunk, kind } => {
                if let Some(at) = self.chunk_at(chunk) {
                    self.chunks[at].kind = ChunkKind(kind);
                }
            }
            Edit::IndexIds { len, count } => {
                let count = u64::from(count).min(GROWTH / (1 + u64::from(len))) as u32;
                self.index.ids.push((count, len));
            }
            Edit::IndexElements { entry, count } => {
                let count = u64::from(count).min(GROWTH) as u32;
                self.index.elements.push((u16::from(entry), count));
            }
            Edit::IndexEntries { count } => {
                self.index.entries = self
                    .index
                    .entries
                    .saturating_add(count)
                    .min((GROWTH / 7) as u32);
            }
            Edit::Compress { chunk } => {
                if let Some(at) = self.chunk_at(chunk) {
                    self.chunks[at].compress = !self.chunks[at].compress;
                }
            }
        }
    }

    /// Changes conversation record `record` of batch `chunk`, if it is one.
    fn conversation(&mut self, chunk: u8, record: u8, change: impl FnOnce(&mut Conversation)) {
        let Some(entries) = self.batch(chunk) else {
            return;
        };
        let conversations: Vec<usize> = (0..entries.len())
            .filter(|&at| entries[at].first() == Some(&0))
            .collect();
        let Some(&at) = conversations.get(usize::from(record) % conversations.len().max(1)) else {
            return;
        };
        if let Ok(Record::Conversation(mut conversation)) =
            decode_exact::<Record>(&entries[at], 0, "a record")
        {
            change(&mut conversation);
            entries[at] =
                encode_record(&Record::Conversation(conversation)).expect("records encode");
        }
    }

    /// The decoded size (spec §6.3.1) of each chunk of the kind of a record
    /// batch, in chunk order, when it holds canonical records only.
    pub fn decoded_sizes(&self) -> Vec<Option<u64>> {
        self.chunks
            .iter()
            .filter(|chunk| chunk.kind == ChunkKind::RECORDS)
            .map(|chunk| {
                // Another body under the kind of a batch: its size is not known here.
                let Body::Records(entries) = &chunk.body else {
                    return None;
                };
                entries.iter().try_fold(0u64, |sum, entry| {
                    let record = decode_exact::<Record>(entry, 0, "a record").ok()?;
                    Some(sum + record_decoded_size(entry.len(), record.values()))
                })
            })
            .collect()
    }

    /// Seals the plaintext under [`KEY`], chunks of up to the reader's
    /// default limit declared, and ends it with the trailer a reader expects.
    pub fn seal(&self) -> Vec<u8> {
        let max_chunk_size = DEFAULT_MAX_CHUNK_SIZE;
        let mut sealer = Sealer::new(&KEY, max_chunk_size, max_chunk_size - 8);
        let mut sealed: Vec<(u64, ChunkKind, Vec<Record>)> = Vec::new();
        for chunk in &self.chunks {
            let (body, records) = match &chunk.body {
                Body::Records(entries) => {
                    let mut batch = BatchBuilder::new();
                    entries.iter().for_each(|entry| batch.push_encoded(entry));
                    let records = entries
                        .iter()
                        .filter_map(|entry| decode_exact::<Record>(entry, 0, "a record").ok())
                        .collect();
                    (batch.take(), records)
                }
                Body::Index => (self.index_body(&sealed), Vec::new()),
                Body::Raw(bytes) => (bytes.clone(), Vec::new()),
            };
            sealed.push((sealer.offset(), chunk.kind, records));
            let flags = if chunk.compress { COMPRESS_HERE } else { 0 };
            sealer.chunk(chunk.kind, flags, &body);
        }
        sealer.trailer();
        sealer.into_bytes()
    }

    /// The seek index of the chunks sealed so far, as a writer fills it
    /// (spec §6.5.3), then changed by the index edits.
    fn index_body(&self, sealed: &[(u64, ChunkKind, Vec<Record>)]) -> Vec<u8> {
        let mut ids = BTreeSet::new();
        for (_, _, records) in sealed {
            for record in records {
                match record {
                    Record::Conversation(conversation) => ids.insert(conversation.id.clone()),
                    Record::Message(message) => ids.insert(message.conversation_id.clone()),
                    Record::Consent(_) => false,
                };
            }
        }
        for &(count, len) in &self.index.ids {
            for n in 0..count {
                let mut id = n.to_be_bytes().to_vec();
                id.resize(usize::from(len).max(4), 0xee);
                ids.insert(id);
            }
        }
        let ids: Vec<Vec<u8>> = ids.into_iter().collect();
        let position = |id: &[u8]| {
            ids.binary_search_by(|probe| probe.as_slice().cmp(id))
                .ok()
                .map(|at| at as u32)
        };
        let mut index = SeekIndex {
            conversations: ids.iter().cloned().map(ConversationId).collect(),
            chunks: Vec::new(),
        };
        for (offset, kind, records) in sealed {
            let mut entry = IndexEntry {
                offset: *offset,
                kind: kind.0,
                ..IndexEntry::default()
            };
            for record in records {
                match record {
                    Record::Conversation(conversation) => entry
                        .conversation_records
                        .extend(position(&conversation.id)),
                    Record::Message(message) => {
                        entry
                            .message_conversations
                            .extend(position(&message.conversation_id));
                        entry.messages += 1;
                        let at = message.sent_at_ns;
                        entry.sent_range = Some(match entry.sent_range {
                            None => (at, at),
                            Some((first, last)) => (first.min(at), last.max(at)),
                        });
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
            index.chunks.push(entry);
        }
        // The added ids are referred to by the first record batch's entry.
        if !self.index.ids.is_empty()
            && let Some(entry) = index
                .chunks
                .iter_mut()
                .find(|entry| entry.kind == ChunkKind::RECORDS.0)
        {
            entry.conversation_records = (0..ids.len() as u32).collect();
        }
        for &(at, count) in &self.index.elements {
            if let Some(entry) = index.chunks.get_mut(usize::from(at)) {
                entry.message_conversations = (0..count).collect();
            }
        }
        index
            .chunks
            .extend((0..self.index.entries).map(|_| IndexEntry::default()));
        index.to_bytes().expect("an index encodes")
    }
}

/// Seals `input` as the `reseal` target does: its base, edited.
pub fn reseal(input: &[u8]) -> (Plaintext, Vec<u8>) {
    let Some((&base, edits)) = input.split_first() else {
        let plaintext = Plaintext::base(0);
        let bytes = plaintext.seal();
        return (plaintext, bytes);
    };
    let mut plaintext = Plaintext::base(base);
    for edit in Edit::parse_all(edits) {
        plaintext.apply(edit);
    }
    let bytes = plaintext.seal();
    (plaintext, bytes)
}

/// The decoded-size limit the decoding targets read with.
pub fn decoded_size_limit() -> u64 {
    Limits::default().max_decoded_size
}
