//! Size estimates before creating an archive: how large the archive that
//! [`create_archive`](crate::create_archive) would write is, in a small
//! fraction of the time writing it takes.
//!
//! An estimate reads one snapshot, as `create_archive` does, and adds up:
//! - The records' encoded size. Counts are exact, over the same selection
//!   `create_archive` reads. Conversations and consent, which are few, are
//!   sized exactly in SQL from the encoding rules, every row. Messages are
//!   counted through the index they are read by, without reading their rows,
//!   and sized from runs of consecutive rowids evenly spread over the table:
//!   the content of about 16,000 is measured, to pin down the share of large
//!   ones, and about 4,000 of those are sized exactly from the lengths of
//!   their fields. Reading every message row would by itself cost a large
//!   share of what creating the archive costs.
//! - Their compressed size, from a small sample encoded and compressed as the
//!   writer does: windows of consecutive records in archive order, starting
//!   at sized messages, for most records; and the contents of large
//!   messages, which compress on their own (a photo does not, a document
//!   does), from a slice of each one sized, or of some picked in proportion
//!   to their size. Each part is weighted by its own estimated size, so how
//!   the parts mix adds no sampling error. Windows and slices are smaller
//!   than the writer's chunks, and zstd does better with more context, so
//!   each is also compressed in halves and quarters and its ratio
//!   extrapolated to the context the archive gives it.
//! - The fixed costs: the header, metadata chunk, an empty seek index and
//!   final chunk (measured by writing an empty archive with the same
//!   options), and the frame header, tag and schema version of each record
//!   chunk.
//! - The seek index's growth: an entry per record chunk and each
//!   conversation's id, sized from typical lengths, not compressed.
//!
//! Records that come to less than 256 KiB are all encoded and
//! compressed as the writer would: the estimate of a small archive is exact.

use std::path::Path;

use rusqlite::TransactionBehavior;

use crate::DbResult;
use crate::order::read_snapshot;
use crate::schema::open_source;
use crate::selection::CreateOptions;
use keepsake::body::compress::Compressor;
use keepsake::crypto::ArchiveKey;
use keepsake::error::Result;
use keepsake::format::{FRAME_HEADER_LEN, TAG_LEN};
use keepsake::stream::writer::ArchiveWriter;

mod batcher;
mod encoded_size;
mod sampler;
mod stats;

use batcher::*;
use sampler::*;
use stats::*;

/// How large an archive of a database would be: what [`estimate_archive`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct SizeEstimate {
    /// The estimated archive size in bytes.
    pub bytes: u64,
    /// The low end of the range the real size very likely falls in: two
    /// standard errors of the sampling below the estimate, and half the
    /// context extrapolation, or 5% of the compressed records if that is
    /// more. Never below what the archive's framing alone takes.
    pub low_bytes: u64,
    /// The high end of that range, as far above the estimate; never more
    /// than the archive would take if nothing compressed.
    pub high_bytes: u64,
    /// Conversation records the archive would hold (exact).
    pub conversations: u64,
    /// Message records the archive would hold (exact).
    pub messages: u64,
    /// Consent records the archive would hold (exact).
    pub consent: u64,
    /// The chunk bodies before compression, the metadata chunk's included:
    /// what the archive's trailer would report as its plaintext bytes.
    pub plaintext_bytes: u64,
    /// Chunks in the archive, the metadata chunk, seek index and final chunk included.
    pub chunks: u64,
    /// The records' estimated compressed size over their encoded size: 1.0
    /// means they do not compress at all.
    pub compression_ratio: f64,
    /// Bytes of encoded records compressed to measure the ratio.
    pub sampled_bytes: u64,
}

/// Estimates the size of the archive [`create_archive`](crate::create_archive)
/// would write from the database at `db` with `options`, without writing it.
///
/// Reads one consistent snapshot, like `create_archive`, and fails where it
/// would fail before writing: invalid options, a missing database, tables
/// that are not the reference schema. A record too large for one chunk is
/// not looked for; `create_archive` reports it. The time range, the
/// elements, the zstd level and the chunk size all count. The sample is
/// picked the same way every time, so an unchanged database gives the same
/// estimate.
pub fn estimate_archive(db: &Path, options: &CreateOptions) -> Result<SizeEstimate> {
    options.validate()?;
    let empty = empty_archive(options)?;
    let fixed = empty.bytes;
    let mut conn = open_source(db)?;
    let snapshot = conn
        .transaction_with_behavior(TransactionBehavior::Deferred)
        .db()?;
    let mut sampler = Sampler {
        conn: &snapshot,
        options,
        compressor: Compressor::new(options.writer.level)?,
    };
    let mut strata = Vec::new();
    let mut picked = None;
    let (mut conversations, mut messages, mut consent) = (0, 0, 0);
    if options.elements.messages {
        let stratum = sampler.conversations()?;
        conversations = stratum.records;
        strata.push(stratum);
        let sample = sampler.messages()?;
        messages = sample.count;
        picked = Some((sample.picked, sample.count as f64));
        strata.extend([sample.small, sample.large]);
    }
    if options.elements.consent {
        let stratum = sampler.consent()?;
        consent = stratum.records;
        strata.push(stratum);
    }
    let total: f64 = strata.iter().map(|s| s.bytes).sum();
    let mut estimate = if total <= EXACT_BELOW {
        // Small enough to do what the writer does, but for the encryption.
        let mut batcher = sampler.batcher(f64::INFINITY);
        read_snapshot(&snapshot, options, &mut |record| batcher.push(record))?;
        exact(batcher.finish(), fixed)
    } else {
        combine(&strata, picked, options.writer.chunk_size, fixed)
    };
    // Ends the read transaction; nothing was written through it.
    snapshot.commit().db()?;
    estimate.conversations = conversations;
    estimate.messages = messages;
    estimate.consent = consent;
    estimate.plaintext_bytes += empty.plaintext_bytes;
    let record_chunks = estimate.chunks;
    estimate.chunks += empty.chunks;
    let index = index_growth(conversations, messages > 0, record_chunks);
    estimate.bytes += index;
    estimate.low_bytes += index;
    estimate.high_bytes += index;
    estimate.plaintext_bytes += index;
    Ok(estimate)
}

/// A conversation id's usual length in bytes.
const TYPICAL_ID_LEN: u64 = 32;

/// An index entry's usual length beyond its conversation positions: offset,
/// kind, list lengths, counts and an empty time range.
const TYPICAL_ENTRY_LEN: u64 = 8;

/// What a time range of two large timestamps adds to an entry.
const TIME_RANGE_LEN: u64 = 18;

/// How much the seek index (spec §6.5) grows beyond an empty archive's for
/// `conversations` conversations in `record_chunks` record chunks: each id
/// with its length and its positions in the entries of about one chunk, and
/// an entry per chunk. Ids are random bytes, so none of it is assumed to compress.
fn index_growth(conversations: u64, with_messages: bool, record_chunks: u64) -> u64 {
    let (positions, range) = if with_messages {
        (2, TIME_RANGE_LEN)
    } else {
        (1, 0)
    };
    conversations * (TYPICAL_ID_LEN + 1 + positions) + record_chunks * (TYPICAL_ENTRY_LEN + range)
}

/// The estimate of an archive whose records were all batched and compressed
/// as the writer does (counts left at zero): exact.
fn exact(records: Window, fixed: u64) -> SizeEstimate {
    let framing = records.pieces * (FRAME_HEADER_LEN + TAG_LEN) as u64;
    let bytes = fixed + records.sizes.whole as u64 + framing;
    SizeEstimate {
        bytes,
        low_bytes: bytes,
        high_bytes: bytes,
        conversations: 0,
        messages: 0,
        consent: 0,
        plaintext_bytes: records.plain,
        chunks: records.pieces,
        compression_ratio: if records.plain > 0 {
            records.sizes.whole / records.plain as f64
        } else {
            1.0
        },
        sampled_bytes: records.plain,
    }
}

/// What an archive with these options and no records holds: its header,
/// metadata chunk, empty seek index and final chunk.
struct EmptyArchive {
    bytes: u64,
    plaintext_bytes: u64,
    chunks: u64,
}

/// Writes an archive with these options and no records, which checks the
/// writer options too.
fn empty_archive(options: &CreateOptions) -> Result<EmptyArchive> {
    let key = ArchiveKey::generate();
    let writer = ArchiveWriter::new(Vec::new(), &[&key], &options.metadata(), &options.writer)?;
    let (bytes, trailer) = writer.finish()?;
    Ok(EmptyArchive {
        bytes: bytes.len() as u64,
        plaintext_bytes: trailer.plaintext_bytes,
        chunks: trailer.chunk_count + 1,
    })
}

/// Records of fewer bytes than this are all compressed, exactly as the
/// writer would: the estimate is then the archive's size.
const EXACT_BELOW: f64 = 256.0 * 1024.0;

const PICKED: f64 = 4096.0;
const COUNTED: f64 = 4.0;
const RUN: i64 = 16;

const MIN_SAMPLE: f64 = 128.0 * 1024.0;
const MAX_SAMPLE: f64 = 512.0 * 1024.0;

#[cfg(test)]
mod tests;
