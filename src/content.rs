//! What the trailer commits to (spec §6.6), accumulated the same way by the
//! writer, which fills the trailer, and the reader, which checks it.

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::format::{ChunkKind, SIGNATURE_BLOCK_LEN, Trailer};
use crate::records::Record;

/// Running totals over the chunks and records of one archive.
///
/// It remembers every conversation id seen, to enforce dependency order
/// (spec §8): memory grows with the number of conversations, never with the
/// number of messages.
#[derive(Debug, Default)]
pub(crate) struct ContentTally {
    conversations: u64,
    messages: u64,
    consent: u64,
    pages: u64,
    plaintext_bytes: u64,
    time_range: Option<(i64, i64)>,
    digest: Sha256,
    seen_conversations: HashSet<Vec<u8>>,
}

/// Why a record breaks dependency order.
pub(crate) enum OrderError {
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
    /// Adds a chunk body (decompressed) to the content digest.
    pub(crate) fn add_chunk(&mut self, kind: ChunkKind, body: &[u8]) {
        self.digest.update([kind.0]);
        // Bodies are bounded by the header's u32 chunk size, so this never saturates.
        self.digest
            .update(u32::try_from(body.len()).unwrap_or(u32::MAX).to_le_bytes());
        self.digest.update(body);
        self.plaintext_bytes += body.len() as u64;
    }

    /// Checks a record against dependency order without counting it.
    pub(crate) fn check_order(&self, record: &Record) -> Result<(), OrderError> {
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
    pub(crate) fn add_record(&mut self, record: &Record) {
        match record {
            Record::Conversation(conversation) => {
                self.seen_conversations.insert(conversation.id.clone());
                self.conversations += 1;
            }
            Record::Message(message) => {
                self.messages += 1;
                let at = message.sent_at_ns;
                self.time_range = Some(match self.time_range {
                    None => (at, at),
                    Some((first, last)) => (first.min(at), last.max(at)),
                });
            }
            Record::Consent(_) => self.consent += 1,
        }
    }

    /// Counts the pages of a page batch.
    pub(crate) fn add_pages(&mut self, pages: u64) {
        self.pages += pages;
    }

    /// Pages counted so far.
    pub(crate) fn pages(&self) -> u64 {
        self.pages
    }

    /// The trailer for an archive whose final chunk has index `chunk_count`.
    pub(crate) fn trailer(&self, chunk_count: u64) -> Trailer {
        Trailer {
            chunk_count,
            conversations: self.conversations,
            messages: self.messages,
            consent: self.consent,
            pages: self.pages,
            plaintext_bytes: self.plaintext_bytes,
            time_range: self.time_range,
            content_digest: self.digest.clone().finalize().into(),
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
