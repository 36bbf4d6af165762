//! What the trailer commits to (spec §6.6), accumulated the same way by the
//! writer, which fills the trailer, and the reader, which checks it.

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use sha2::{Digest, Sha256};

use crate::body::records::{Record, Scanned, ScannedRecord};
use crate::error::{Error, Result};
use crate::format::{ChunkKind, SIGNATURE_BLOCK_LEN, Trailer};

/// Running totals over the chunks and records of one archive.
///
/// It remembers every conversation id seen, to enforce dependency order
/// (spec §8): memory grows with the number of conversations, never with the
/// number of messages.
#[derive(Debug, Default)]
#[doc(hidden)]
pub struct ContentTally {
    conversations: u64,
    messages: u64,
    consent: u64,
    pages: u64,
    time_range: Option<(i64, i64)>,
    digest: DigestSite,
    seen_conversations: HashSet<Vec<u8>>,
}

/// Where the content digest is computed: by the tally as chunks come in, or
/// by the threads that open them (see [`DigestChain`]).
#[derive(Debug)]
enum DigestSite {
    Here(ContentDigest),
    Chained(Arc<DigestChain>),
}

impl Default for DigestSite {
    fn default() -> Self {
        DigestSite::Here(ContentDigest::default())
    }
}

/// The content digest (spec §6.6.2) and plaintext length of the chunks
/// added so far.
#[derive(Clone, Debug, Default)]
struct ContentDigest {
    digest: Sha256,
    plaintext_bytes: u64,
}

impl ContentDigest {
    fn add(&mut self, kind: ChunkKind, body: &[u8]) {
        self.digest.update([kind.0]);
        // Bodies are bounded by the header's u32 chunk size, so this never saturates.
        self.digest
            .update(u32::try_from(body.len()).unwrap_or(u32::MAX).to_le_bytes());
        self.digest.update(body);
        self.plaintext_bytes += body.len() as u64;
    }
}

/// The content digest computed by the threads that open frames in
/// parallel, each hashing its own chunk's body once every earlier chunk's has
/// been hashed. The digest is one running hash in chunk order, so this does
/// not make it parallel; it keeps it off the thread that interprets chunks
/// in order, which would otherwise do all of it while the workers wait.
#[derive(Debug)]
pub(crate) struct DigestChain {
    state: Mutex<ChainState>,
    turn: Condvar,
}

#[derive(Debug)]
struct ChainState {
    /// The chunk whose turn it is.
    next: u64,
    content: ContentDigest,
}

impl DigestChain {
    /// Waits until every chunk before `chunk` has had its turn, adds the
    /// body `entry` holds, if any, and passes the turn on. Every chunk from
    /// the first must come exactly once (none for the final frame, or for
    /// one that failed to open), or the threads waiting for later turns
    /// wait forever: [`DigestTurn`] makes sure of it.
    fn add(&self, chunk: u64, entry: Option<(ChunkKind, &[u8])>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while state.next < chunk {
            state = self
                .turn
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if state.next == chunk {
            if let Some((kind, body)) = entry {
                state.content.add(kind, body);
            }
            state.next += 1;
            self.turn.notify_all();
        }
    }

    fn current(&self) -> ContentDigest {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.content.clone()
    }
}

/// One chunk's turn in a [`DigestChain`]: taken with its body, or passed on
/// empty when dropped untaken, so that a frame that fails to open, however
/// it fails, never leaves the later ones waiting.
pub(crate) struct DigestTurn<'a> {
    chain: &'a DigestChain,
    chunk: u64,
    taken: bool,
}

impl<'a> DigestTurn<'a> {
    pub(crate) fn new(chain: &'a DigestChain, chunk: u64) -> Self {
        DigestTurn {
            chain,
            chunk,
            taken: false,
        }
    }

    /// Adds `entry` (the chunk's kind and body, or `None`) in turn.
    pub(crate) fn take(mut self, entry: Option<(ChunkKind, &[u8])>) {
        self.taken = true;
        self.chain.add(self.chunk, entry);
    }
}

impl Drop for DigestTurn<'_> {
    fn drop(&mut self) {
        if !self.taken {
            self.chain.add(self.chunk, None);
        }
    }
}

/// Why a record breaks dependency order.
#[doc(hidden)]
pub enum OrderError {
    /// A second record for a conversation id already seen.
    DuplicateConversation,
    /// A message whose conversation has not appeared before it.
    OrphanMessage,
}

impl OrderError {
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            OrderError::DuplicateConversation => "a conversation appears twice",
            OrderError::OrphanMessage => "a message comes before its conversation's record",
        }
    }
}

impl ContentTally {
    /// Adds a chunk body (decompressed) to the content digest, unless the
    /// threads that open chunks compute it.
    #[doc(hidden)]
    pub fn add_chunk(&mut self, kind: ChunkKind, body: &[u8]) {
        if let DigestSite::Here(content) = &mut self.digest {
            content.add(kind, body);
        }
    }

    /// Hands the content digest, from chunk `next_chunk` on, to the threads
    /// that open chunks: each must add its chunk through the chain returned.
    pub(crate) fn chain_digest(&mut self, next_chunk: u64) -> Arc<DigestChain> {
        let content = match &self.digest {
            DigestSite::Here(content) => content.clone(),
            DigestSite::Chained(chain) => chain.current(),
        };
        let chain = Arc::new(DigestChain {
            state: Mutex::new(ChainState {
                next: next_chunk,
                content,
            }),
            turn: Condvar::new(),
        });
        self.digest = DigestSite::Chained(Arc::clone(&chain));
        chain
    }

    /// Checks a record against dependency order without counting it.
    #[doc(hidden)]
    pub fn check_order(&self, record: &Record) -> Result<(), OrderError> {
        match record {
            Record::Conversation(conversation)
                if self.seen_conversations.contains(&conversation.id) =>
            {
                Err(OrderError::DuplicateConversation)
            }
            Record::Message(message)
                if !self.seen_conversations.contains(&message.conversation_id) =>
            {
                Err(OrderError::OrphanMessage)
            }
            _ => Ok(()),
        }
    }

    /// Counts a record that passed [`ContentTally::check_order`].
    #[doc(hidden)]
    pub fn add_record(&mut self, record: &Record) {
        match record {
            Record::Conversation(conversation) => {
                self.seen_conversations.insert(conversation.id.clone());
                self.conversations += 1;
            }
            Record::Message(message) => {
                self.messages += 1;
                self.time_range = widen(self.time_range, (message.sent_at_ns, message.sent_at_ns));
            }
            Record::Consent(_) => self.consent += 1,
        }
    }

    /// Checks a whole batch's records against dependency order and counts
    /// them, from facts gathered off this thread: the outcome is the one
    /// [`ContentTally::check_order`] and [`ContentTally::add_record`] give
    /// record by record.
    /// `body` is the batch the facts were gathered from.
    pub(crate) fn add_batch(&mut self, facts: &BatchFacts, body: &[u8]) -> Result<(), OrderError> {
        for step in &facts.order {
            let id = body
                .get(step.at as usize..(step.at as usize).saturating_add(step.len as usize))
                .unwrap_or_default();
            if step.define {
                if !self.seen_conversations.insert(id.to_vec()) {
                    return Err(OrderError::DuplicateConversation);
                }
            } else if !self.seen_conversations.contains(id) {
                return Err(OrderError::OrphanMessage);
            }
        }
        self.conversations += facts.conversations;
        self.messages += facts.messages;
        self.consent += facts.consent;
        if let Some(range) = facts.time_range {
            self.time_range = widen(self.time_range, range);
        }
        Ok(())
    }

    /// Counts the pages of a page batch.
    #[doc(hidden)]
    pub fn add_pages(&mut self, pages: u64) {
        self.pages += pages;
    }

    /// Pages counted so far.
    pub(crate) fn pages(&self) -> u64 {
        self.pages
    }

    /// The trailer for an archive whose final chunk has index `chunk_count`.
    pub(crate) fn trailer(&self, chunk_count: u64) -> Trailer {
        let content = match &self.digest {
            DigestSite::Here(content) => content.clone(),
            DigestSite::Chained(chain) => chain.current(),
        };
        Trailer {
            chunk_count,
            conversations: self.conversations,
            messages: self.messages,
            consent: self.consent,
            pages: self.pages,
            plaintext_bytes: content.plaintext_bytes,
            time_range: self.time_range,
            content_digest: content.digest.finalize().into(),
            index_chunk: 0,
            index_offset: 0,
            signature: [0; SIGNATURE_BLOCK_LEN],
        }
    }

    /// Checks a trailer read from chunk `chunk_count` against what was read
    /// before it (spec §7 step 14). The index and signature fields are not
    /// derived from the content, so they are not compared here.
    pub(crate) fn check(&self, found: &Trailer, chunk_count: u64) -> Result<()> {
        let expected = self.trailer(chunk_count);
        let mismatch = |field: &str| {
            Err(Error::corrupt(
                chunk_count,
                format!("the trailer's {field} does not match the archive's content"),
            ))
        };
        if found.chunk_count != expected.chunk_count {
            return mismatch("chunk count");
        }
        if (
            found.conversations,
            found.messages,
            found.consent,
            found.pages,
        ) != (
            expected.conversations,
            expected.messages,
            expected.consent,
            expected.pages,
        ) {
            return mismatch("record or page counts");
        }
        if found.plaintext_bytes != expected.plaintext_bytes {
            return mismatch("plaintext length");
        }
        if found.time_range != expected.time_range {
            return mismatch("time range");
        }
        if found.content_digest != expected.content_digest {
            return mismatch("content digest");
        }
        Ok(())
    }
}

/// The smallest range holding both `range` and `more`.
fn widen(range: Option<(i64, i64)>, more: (i64, i64)) -> Option<(i64, i64)> {
    Some(match range {
        None => more,
        Some((first, last)) => (first.min(more.0), last.max(more.1)),
    })
}

/// What one record batch adds to a [`ContentTally`], gathered on the thread
/// that checked the batch so that the in-order thread only merges it.
///
/// Dependency order needs the conversations seen in earlier batches, so the
/// batch keeps, in record order, each conversation it defines and each
/// conversation its messages need that it has not defined or needed already:
/// replaying those steps fails at the same record as checking one by one.
/// Each step names its id by where it stands in the batch's body, so what the
/// facts keep is a few bytes per record, however long the ids.
#[derive(Debug, Default)]
pub(crate) struct BatchFacts {
    /// How many records the batch holds.
    pub(crate) records: u64,
    conversations: u64,
    messages: u64,
    consent: u64,
    time_range: Option<(i64, i64)>,
    order: Vec<OrderStep>,
}

/// A conversation id a record defines or needs: bytes `at .. at + len` of the body.
#[derive(Clone, Copy, Debug)]
struct OrderStep {
    define: bool,
    at: u32,
    len: u32,
}

/// Gathers a [`BatchFacts`] while a batch body is walked, record by record.
pub(crate) struct FactsBuilder<'a> {
    body: &'a [u8],
    facts: BatchFacts,
    /// Conversations this batch has defined or needed, to record each once.
    mentioned: HashSet<&'a [u8]>,
}

impl<'a> FactsBuilder<'a> {
    pub(crate) fn new(body: &'a [u8]) -> Self {
        FactsBuilder {
            body,
            facts: BatchFacts::default(),
            mentioned: HashSet::new(),
        }
    }

    /// Notes a record walked in this builder's body.
    pub(crate) fn add(&mut self, record: &ScannedRecord<'a>) {
        self.facts.records += 1;
        match record.kind {
            Scanned::Conversation { id } => {
                self.facts.conversations += 1;
                self.mentioned.insert(id);
                self.push(true, id);
            }
            Scanned::Message {
                conversation_id,
                sent_at_ns,
            } => {
                self.facts.messages += 1;
                self.facts.time_range = widen(self.facts.time_range, (sent_at_ns, sent_at_ns));
                // Messages mostly follow their conversation, so the last step is checked first.
                let just_seen = self
                    .facts
                    .order
                    .last()
                    .is_some_and(|last| self.id(last) == conversation_id);
                if !just_seen && self.mentioned.insert(conversation_id) {
                    self.push(false, conversation_id);
                }
            }
            Scanned::Consent => self.facts.consent += 1,
        }
    }

    pub(crate) fn finish(self) -> BatchFacts {
        self.facts
    }

    /// Records a step for `id`, a slice of the body.
    fn push(&mut self, define: bool, id: &[u8]) {
        // Bodies are bounded by the header's u32 chunk size.
        let at = (id.as_ptr() as usize).saturating_sub(self.body.as_ptr() as usize);
        self.facts.order.push(OrderStep {
            define,
            at: u32::try_from(at).unwrap_or(u32::MAX),
            len: u32::try_from(id.len()).unwrap_or(u32::MAX),
        });
    }

    fn id(&self, step: &OrderStep) -> &'a [u8] {
        let at = step.at as usize;
        self.body
            .get(at..at.saturating_add(step.len as usize))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;
    use crate::body::records::strategy::{consent, conversation, message};
    use crate::body::records::{
        BatchBuilder, BatchLimits, Conversation, Message, check_batch, encode_record,
    };

    /// Records over a few conversation ids in any order, so that many break
    /// dependency order, cut into batches.
    fn batches() -> impl Strategy<Value = Vec<Vec<Record>>> {
        (
            conversation(),
            message(Vec::new()),
            consent(),
            vec((0u8..3, 0u8..4, -3i64..3), 0..24),
            vec(any::<prop::sample::Index>(), 0..4),
        )
            .prop_map(|(conversation, message, consent, steps, cuts)| {
                let records: Vec<Record> = steps
                    .into_iter()
                    .map(|(kind, id, sent_at_ns)| match kind {
                        0 => Record::Conversation(Conversation {
                            id: vec![id],
                            ..conversation.clone()
                        }),
                        1 => Record::Message(Message {
                            conversation_id: vec![id],
                            sent_at_ns,
                            ..message.clone()
                        }),
                        _ => Record::Consent(consent.clone()),
                    })
                    .collect();
                let mut cuts: Vec<usize> = cuts
                    .iter()
                    .map(|cut| cut.index(records.len() + 1))
                    .collect();
                cuts.sort_unstable();
                let mut batches = Vec::new();
                let mut start = 0;
                for cut in cuts.into_iter().chain([records.len()]) {
                    batches.push(records[start..cut].to_vec());
                    start = cut;
                }
                batches
            })
    }

    /// The batch that broke dependency order and why, or the counts and
    /// time range of all of them.
    type Outcome = std::result::Result<(u64, u64, u64, Option<(i64, i64)>), (usize, &'static str)>;

    fn counts(tally: &ContentTally) -> (u64, u64, u64, Option<(i64, i64)>) {
        (
            tally.conversations,
            tally.messages,
            tally.consent,
            tally.time_range,
        )
    }

    fn one_by_one(batches: &[Vec<Record>]) -> Outcome {
        let mut tally = ContentTally::default();
        for (at, batch) in batches.iter().enumerate() {
            for record in batch {
                tally
                    .check_order(record)
                    .map_err(|why| (at, why.describe()))?;
                tally.add_record(record);
            }
        }
        Ok(counts(&tally))
    }

    /// The facts of each batch gathered from its encoding, as a reader does.
    fn merged(batches: &[Vec<Record>]) -> Outcome {
        let mut tally = ContentTally::default();
        for (at, batch) in batches.iter().enumerate() {
            let mut builder = BatchBuilder::new();
            for record in batch {
                builder.push_encoded(&encode_record(record).unwrap());
            }
            let body = builder.take();
            let mut facts = FactsBuilder::new(&body);
            if !batch.is_empty() {
                check_batch(
                    &body,
                    1,
                    BatchLimits::record_size_only(u32::MAX),
                    |_, record| facts.add(&record),
                )
                .unwrap();
            }
            let facts = facts.finish();
            assert_eq!(facts.records, batch.len() as u64);
            tally
                .add_batch(&facts, &body)
                .map_err(|why| (at, why.describe()))?;
        }
        Ok(counts(&tally))
    }

    proptest! {
        /// Merging each batch's facts ends as checking record by record does.
        #[test]
        fn batch_facts_check_as_records_do(batches in batches()) {
            prop_assert_eq!(merged(&batches), one_by_one(&batches));
        }
    }
}
