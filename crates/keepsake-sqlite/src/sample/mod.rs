//! Realistic, deterministic sample data for trying Keepsake and testing it:
//! groups and DMs in several languages and scripts, replies, reactions,
//! attachments, disappearing messages, failed sends, membership changes and
//! consent decisions.
//!
//! By default the rows go in the order a client's database fills as it
//! syncs ([`SampleOrder::Sync`]): conversations and messages in the order they
//! were sent, one conversation's messages spread over the whole table, and a
//! few conversations far busier than the rest.
//!
//! The same options always produce the same database contents: everything
//! comes from a generator seeded with [`SampleOptions::seed`], and timestamps
//! fall in the year before a fixed date, never the current time.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;

use rand::distributions::{Distribution, WeightedIndex};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::DbResult;
use crate::rows::{InsertMode, RecordInserter, hex};
use crate::schema::open_database;
use keepsake::body::records::{Consent, ConsentEntityType, Record};
use keepsake::error::{Error, Result};

mod thread;
mod times;
mod words;

use thread::{People, Thread, consent_state};

/// The end of the sample's time span: 2025-06-01T00:00:00Z, in nanoseconds.
pub const SAMPLE_END_NS: i64 = 1_748_736_000 * NS_PER_SECOND;

/// The sample's time span: the 365 days before [`SAMPLE_END_NS`].
pub const SAMPLE_SPAN_NS: i64 = 365 * NS_PER_DAY;

const NS_PER_SECOND: i64 = 1_000_000_000;
const NS_PER_DAY: i64 = 86_400 * NS_PER_SECOND;

/// The most conversations a sample holds: each costs memory while generating.
pub const MAX_CONVERSATIONS: u64 = 1_000_000;

/// How much sample data to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleOptions {
    /// Messages in total, spread unevenly over the conversations: how busy
    /// a conversation is follows a heavy-tailed (Pareto) law, so that one
    /// in a hundred holds about a third of them.
    pub messages: u64,
    /// Conversations, about a third of them DMs; at most [`MAX_CONVERSATIONS`].
    pub conversations: u64,
    /// The seed: the same seed gives the same data.
    pub seed: u64,
    /// What the messages hold.
    pub shape: SampleShape,
    /// The order the rows are written in, which is their order in the tables.
    pub order: SampleOrder,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            messages: 2000,
            conversations: 20,
            seed: 1,
            shape: SampleShape::Mixed,
            order: SampleOrder::Sync,
        }
    }
}

/// The order a sample's rows are written in. It decides where rows sit in
/// the tables (their rowid order), which is what reading a table in order
/// walks, and it changes nothing else about what a database holds; but the
/// random draws come in another order, so the same seed gives other data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SampleOrder {
    /// As a client's database fills while it syncs: every row when it was
    /// sent, a conversation when it was created, so that the messages of all
    /// conversations are interleaved in time order.
    #[default]
    Sync,
    /// Each conversation followed by all its messages, one conversation after
    /// another: a database restored conversation by conversation.
    Grouped,
}

/// What the messages of a sample hold, for trying Keepsake on data that
/// compresses well, badly, or in between.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SampleShape {
    /// Mostly short texts, with reactions, replies, read receipts and about
    /// one small attachment (under 4 KB) in twenty messages.
    #[default]
    Mixed,
    /// Short texts, reactions and replies only: no attachments.
    TextHeavy,
    /// A quarter of the messages are attachments of 5 to 200 KB: three in
    /// four are random bytes, as photos and videos are (already compressed),
    /// the others text documents that compress well. About 25 MB per
    /// thousand messages.
    AttachmentHeavy,
}

/// What [`write_sample`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleReport {
    /// Conversations written.
    pub conversations: u64,
    /// Messages written.
    pub messages: u64,
    /// Consent records written.
    pub consent: u64,
}

/// The page cache of the connection that writes a sample, in KiB: rows in
/// sync order land all over the indexes, and a cache of a few pages would
/// write the same index pages out again and again.
const SAMPLE_CACHE_KIB: i64 = 64 << 10;

/// Writes sample data into the database at `db` (created, with the reference
/// schema, if needed), in one transaction.
///
/// Its ids are random, so it can be added to a database that holds other
/// data; writing the same seed twice into one database fails on the
/// duplicate ids and changes nothing.
pub fn write_sample(db: &Path, options: &SampleOptions) -> Result<SampleReport> {
    if options.conversations > MAX_CONVERSATIONS {
        return Err(Error::invalid(format!(
            "a sample holds at most {MAX_CONVERSATIONS} conversations, not {}",
            options.conversations
        )));
    }
    if options.conversations == 0 && options.messages > 0 {
        return Err(Error::invalid(
            "sample messages need at least one conversation to go into",
        ));
    }
    let mut conn = open_database(db)?;
    conn.pragma_update(None, "cache_size", -SAMPLE_CACHE_KIB)
        .db()?;
    let transaction = conn.transaction().db()?;
    let mut report = SampleReport {
        conversations: 0,
        messages: 0,
        consent: 0,
    };
    {
        let mut inserter = RecordInserter::new(&transaction, InsertMode::Fresh)?;
        generate(options, &mut |record| {
            inserter.insert(record)?;
            match record {
                Record::Conversation(_) => report.conversations += 1,
                Record::Message(_) => report.messages += 1,
                Record::Consent(_) => report.consent += 1,
            }
            Ok(())
        })?;
    }
    transaction.commit().db()?;
    Ok(report)
}

/// The shape parameter of the law of how busy a conversation is: a Pareto
/// weight `U^(-1/α)`, at most [`MAX_WEIGHT`] times the quietest one's.
const ACTIVITY_ALPHA: f64 = 1.1;
const MAX_WEIGHT: f64 = 2000.0;

/// Generates the sample's records in dependency order and in
/// `options.order`, passing each to `emit`: conversations and messages, then
/// consent. Memory grows with the number of conversations, not of messages.
fn generate(options: &SampleOptions, emit: &mut dyn FnMut(&Record) -> Result<()>) -> Result<()> {
    let mut rng = ChaCha20Rng::seed_from_u64(options.seed);
    let people = People::new(&mut rng, options.conversations);

    let weights: Vec<f64> = (0..options.conversations)
        .map(|_| {
            (1.0 - rng.r#gen::<f64>())
                .powf(-1.0 / ACTIVITY_ALPHA)
                .min(MAX_WEIGHT)
        })
        .collect();
    let mut counts = vec![0u64; weights.len()];
    if options.messages > 0 {
        let choose = WeightedIndex::new(&weights)
            .map_err(|error| Error::invalid(format!("sample weights are invalid: {error}")))?;
        for _ in 0..options.messages {
            counts[choose.sample(&mut rng)] += 1;
        }
    }

    let mut threads = Vec::with_capacity(counts.len());
    let mut records = Vec::with_capacity(counts.len());
    for (position, &count) in counts.iter().enumerate() {
        let (conversation, thread) =
            Thread::start(&mut rng, &people, options.shape, position, count);
        threads.push(thread);
        // In sync order a conversation's record waits for its creation time.
        match options.order {
            SampleOrder::Sync => records.push(Some(conversation)),
            SampleOrder::Grouped => {
                emit(&Record::Conversation(conversation))?;
                let thread = threads.last_mut().expect("just pushed");
                while let Some(sent_at_ns) = thread.times.advance(&mut rng) {
                    emit(&Record::Message(
                        thread.next_message(&mut rng, &people, sent_at_ns),
                    ))?;
                }
            }
        }
    }
    if options.order == SampleOrder::Sync {
        // Every conversation's next event, earliest first: its creation
        // (with its first message, sent then), then each later message.
        let mut next: BinaryHeap<Reverse<(i64, usize)>> = threads
            .iter()
            .zip(&records)
            .enumerate()
            .filter_map(|(position, (_, conversation))| {
                let created_at_ns = conversation.as_ref()?.created_at_ns;
                Some(Reverse((created_at_ns, position)))
            })
            .collect();
        while let Some(Reverse((_, position))) = next.pop() {
            if let Some(conversation) = records[position].take() {
                emit(&Record::Conversation(conversation))?;
            }
            let thread = &mut threads[position];
            if let Some(sent_at_ns) = thread.times.advance(&mut rng) {
                emit(&Record::Message(
                    thread.next_message(&mut rng, &people, sent_at_ns),
                ))?;
            }
            if let Some(at) = thread.times.peek() {
                next.push(Reverse((at, position)));
            }
        }
    }

    let start_ns = SAMPLE_END_NS - SAMPLE_SPAN_NS;
    let mut consent = Vec::new();
    let mut dm_peers = Vec::new();
    for thread in &threads {
        dm_peers.extend(thread.dm_peer());
        consent.push(Consent {
            entity_type: ConsentEntityType::Conversation,
            entity: hex(thread.id()),
            state: consent_state(&mut rng),
            updated_at_ns: rng.gen_range(thread.created_at_ns()..SAMPLE_END_NS),
        });
    }
    dm_peers.sort_unstable();
    dm_peers.dedup();
    for (contact, person) in people.contacts.iter().enumerate() {
        let is_dm_peer = dm_peers.binary_search(&contact).is_ok();
        if is_dm_peer || rng.gen_bool(0.2) {
            consent.push(Consent {
                entity_type: ConsentEntityType::Inbox,
                entity: person.inbox.clone(),
                state: consent_state(&mut rng),
                updated_at_ns: rng.gen_range(start_ns..SAMPLE_END_NS),
            });
        }
        if rng.gen_bool(0.3) {
            consent.push(Consent {
                entity_type: ConsentEntityType::Address,
                entity: person.address.clone(),
                state: consent_state(&mut rng),
                updated_at_ns: rng.gen_range(start_ns..SAMPLE_END_NS),
            });
        }
    }
    for record in consent {
        emit(&Record::Consent(record))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
