//! Which records a partial import takes, and the filter that applies the
//! choice to records in archive order while keeping the dependency rule.
//!
//! The rules (README, "Partial import"):
//! - a conversation filter selects those conversations' records, their
//!   messages, and the consent records whose entity is one of them (hex id);
//! - a time filter `[since, until)` selects messages by `sent_at_ns`, and the
//!   conversation records they need; it selects no consent record;
//! - both together select the messages that pass both, the filtered
//!   conversations that have one of them, and the filtered conversations'
//!   consent records.

use std::collections::{HashMap, HashSet};

use crate::body::index::SeekIndex;
use crate::body::records::{
    Consent, ConsentEntityType, Message, Record, decode_exact, encode_record, hex,
};
use crate::error::{Error, Result};

/// What a partial import takes from an archive. The default selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only these conversations (and their messages and consent); empty means all.
    pub conversations: Vec<Vec<u8>>,
    /// Only messages sent at or after this time, in nanoseconds since the Unix epoch.
    pub since: Option<i64>,
    /// Only messages sent before this time (exclusive).
    pub until: Option<i64>,
}

impl Selection {
    /// Whether this selection takes every record.
    pub fn is_everything(&self) -> bool {
        self.conversations.is_empty() && !self.has_time()
    }

    fn has_time(&self) -> bool {
        self.since.is_some() || self.until.is_some()
    }

    fn in_time(&self, sent_at_ns: i64) -> bool {
        self.since.is_none_or(|since| sent_at_ns >= since)
            && self.until.is_none_or(|until| sent_at_ns < until)
    }

    /// Whether a chunk whose messages were sent within `first..=last` can hold
    /// a message in the time range.
    fn range_meets(&self, (first, last): (i64, i64)) -> bool {
        self.since.is_none_or(|since| last >= since) && self.until.is_none_or(|until| first < until)
    }

    /// The record batches (chunk numbers, ascending) whose index entries can
    /// hold a selected record, or a record a selected one depends on.
    pub fn chunks(&self, index: &SeekIndex) -> Vec<u64> {
        let records = crate::format::ChunkKind::RECORDS.0;
        let wanted: Option<HashSet<u32>> = (!self.conversations.is_empty()).then(|| {
            self.conversations
                .iter()
                .filter_map(|id| index.conversation(id))
                .collect()
        });
        let conversation_ok = |at: &u32| wanted.as_ref().is_none_or(|set| set.contains(at));
        let mut chunks = HashSet::new();
        let mut needed: HashSet<u32> = HashSet::new();
        for (chunk, entry) in index.chunks.iter().enumerate() {
            if entry.kind != records {
                continue;
            }
            let messages = entry
                .sent_range
                .is_some_and(|range| self.range_meets(range))
                && entry.message_conversations.iter().any(conversation_ok);
            if messages {
                chunks.insert(chunk as u64);
                needed.extend(
                    entry
                        .message_conversations
                        .iter()
                        .filter(|at| conversation_ok(at)),
                );
            }
            let consent = entry.consent > 0 && (wanted.is_some() || !self.has_time());
            if consent {
                chunks.insert(chunk as u64);
            }
        }
        if !self.has_time() {
            match &wanted {
                Some(set) => needed.extend(set),
                None => needed.extend(0..index.conversations.len() as u32),
            }
        }
        for (chunk, entry) in index.chunks.iter().enumerate() {
            if entry.kind == records
                && entry
                    .conversation_records
                    .iter()
                    .any(|at| needed.contains(at))
            {
                chunks.insert(chunk as u64);
            }
        }
        let mut chunks: Vec<u64> = chunks.into_iter().collect();
        chunks.sort_unstable();
        chunks
    }
}

/// Applies a [`Selection`] to records in archive order. A conversation record
/// waits (in memory, one per conversation at most) until its first selected
/// message, when a time filter may leave it without any; a selected message
/// whose conversation record was never seen breaks the dependency rule.
///
/// A waiting record is held in its encoding, which costs its length, not the
/// several times more its values take once decoded (spec §6.3.1): a record
/// whose lists hold many tiny strings waits as compactly as any other.
#[derive(Debug)]
pub struct Filter<'a> {
    selection: &'a Selection,
    wanted: HashSet<&'a [u8]>,
    wanted_hex: HashSet<String>,
    seen: HashSet<Vec<u8>>,
    /// Conversation records waiting, by id, in their encoding.
    pending: HashMap<Vec<u8>, Vec<u8>>,
}

impl<'a> Filter<'a> {
    /// A filter that applies `selection`.
    pub fn new(selection: &'a Selection) -> Self {
        Filter {
            selection,
            wanted: selection.conversations.iter().map(Vec::as_slice).collect(),
            wanted_hex: selection.conversations.iter().map(|id| hex(id)).collect(),
            seen: HashSet::new(),
            pending: HashMap::new(),
        }
    }

    fn conversation_ok(&self, id: &[u8]) -> bool {
        self.wanted.is_empty() || self.wanted.contains(id)
    }

    fn message_ok(&self, message: &Message) -> bool {
        self.conversation_ok(&message.conversation_id) && self.selection.in_time(message.sent_at_ns)
    }

    fn consent_ok(&self, consent: &Consent) -> bool {
        if self.wanted.is_empty() {
            !self.selection.has_time()
        } else {
            consent.entity_type == ConsentEntityType::Conversation
                && self.wanted_hex.contains(&consent.entity)
        }
    }

    /// Passes the selected records among `records` (from chunk `chunk`) to
    /// `emit`, each conversation before its messages.
    pub fn push(
        &mut self,
        chunk: u64,
        records: Vec<Record>,
        emit: &mut dyn FnMut(&Record) -> Result<()>,
    ) -> Result<()> {
        for record in records {
            match record {
                Record::Conversation(conversation) => {
                    if !self.seen.insert(conversation.id.clone()) {
                        return Err(Error::corrupt(chunk, "a conversation appears twice"));
                    }
                    if !self.conversation_ok(&conversation.id) {
                        continue;
                    }
                    if self.selection.has_time() {
                        let id = conversation.id.clone();
                        let encoded = encode_record(&Record::Conversation(conversation))?;
                        self.pending.insert(id, encoded);
                    } else {
                        emit(&Record::Conversation(conversation))?;
                    }
                }
                Record::Message(message) => {
                    if !self.message_ok(&message) {
                        continue;
                    }
                    if !self.seen.contains(&message.conversation_id) {
                        return Err(Error::corrupt(
                            chunk,
                            "a message comes before its conversation's record",
                        ));
                    }
                    if let Some(encoded) = self.pending.remove(&message.conversation_id) {
                        emit(&decode_exact(&encoded, chunk, "a waiting conversation")?)?;
                    }
                    emit(&Record::Message(message))?;
                }
                Record::Consent(consent) => {
                    if self.consent_ok(&consent) {
                        emit(&Record::Consent(consent))?;
                    }
                }
            }
        }
        Ok(())
    }
}
