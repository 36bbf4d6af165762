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

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row, ToSql, TransactionBehavior};

use crate::compress::Compressor;
use crate::crypto::ArchiveKey;
use crate::error::{Error, Result};
use crate::format::{FRAME_HEADER_LEN, TAG_LEN};
use crate::records::{BatchBuilder, Record, encode_into, varint_len};
use crate::sqlite::{
    CreateOptions, MESSAGE_COLUMNS, MESSAGE_ORDER, consent_from_row, consent_query,
    conversation_from_row, message_from_row, open_source, read_snapshot,
};
use crate::writer::ArchiveWriter;

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
    let snapshot = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
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
    snapshot.commit()?;
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

/// How many messages have their content counted, to pin down the share of
/// large ones: an eighth of them, within these bounds. About [`PICKED`] of
/// those (every one, every second, up to every [`COUNTED`]-th run) are
/// picked and sized from all their fields. Both come in runs of [`RUN`]
/// consecutive rowids: neighbours share a table page, so a run costs about
/// one page read.
const MIN_COUNTED: f64 = 4096.0;
const MAX_COUNTED: f64 = 16384.0;
const PICKED: f64 = 4096.0;
const COUNTED: f64 = 4.0;
const RUN: i64 = 16;

/// How many conversations the message count looks up one by one before
/// it steps through every message's index entry instead.
const MAX_COUNT_SEEKS: i64 = 4096;

/// A message's fields other than its content come to about this many bytes
/// when none was picked to measure them.
const GUESSED_OVERHEAD: f64 = 200.0;

/// A message whose content is at least this long is large: sampled on its
/// own rather than in a window of its neighbours.
const LARGE_CONTENT: i64 = 1024;

/// The bytes of one large message compressed for the sample: its middle.
const SLICE: usize = 4 << 10;

/// How many large messages are compressed: every one picked, up to this
/// many. Their compressibility varies most, but SQLite reads the whole of a
/// message to cut a slice of it.
const MAX_SLICES: usize = 128;

/// Windows take one part in `SAMPLE_SHARE` of what they sample, within
/// `MIN_SAMPLE` and `MAX_SAMPLE` bytes.
const SAMPLE_SHARE: f64 = 64.0;
const MIN_SAMPLE: f64 = 128.0 * 1024.0;
const MAX_SAMPLE: f64 = 256.0 * 1024.0;

/// A window of consecutive records aims at this many bytes, and a part has
/// two to four of them.
const WINDOW: f64 = 64.0 * 1024.0;
const MIN_WINDOWS: usize = 2;
const MAX_WINDOWS: usize = 4;

/// Standard errors on each side of the estimate in its range.
const BAND_ERRORS: f64 = 2.0;

/// The share of the context extrapolation (see [`Sizes::extrapolate`])
/// added to each side of the range: on the sample data the extrapolation was
/// within a fifth of the real gain; a half leaves room for data that differs.
const BAND_CONTEXT: f64 = 0.5;

/// The least half-width of the range, as a share of the records' compressed
/// size: parts are compressed apart while the writer interleaves them,
/// which moved the size of the sample data by up to 4%.
const BAND_FLOOR: f64 = 0.05;

/// The largest share of a doubling's gain assumed for the next doubling.
const MAX_DECAY: f64 = 2.0 / 3.0;

/// Compressed sizes of the same bytes in pieces of three lengths: whole,
/// halves and quarters.
#[derive(Clone, Copy, Debug, Default)]
struct Sizes {
    whole: f64,
    halves: f64,
    quarters: f64,
}

impl Sizes {
    /// Compressed whole only: for bytes that need no extrapolation.
    fn whole(compressor: &mut Compressor, body: &[u8]) -> Sizes {
        let whole = stored_len(compressor, body) as f64;
        Sizes {
            whole,
            halves: whole,
            quarters: whole,
        }
    }

    fn measure(compressor: &mut Compressor, body: &[u8]) -> Sizes {
        let mut stored = |parts: usize| -> f64 {
            let len = body.len().div_ceil(parts).max(1);
            body.chunks(len)
                .map(|part| stored_len(compressor, part) as f64)
                .sum()
        };
        Sizes {
            whole: stored(1),
            halves: stored(2),
            quarters: stored(4),
        }
    }

    fn add(&mut self, other: Sizes) {
        self.whole += other.whole;
        self.halves += other.halves;
        self.quarters += other.quarters;
    }

    /// The compressed size with pieces of `context` bytes rather than
    /// `piece` bytes.
    ///
    /// zstd finds more repeats with more context: ids and names recur
    /// across a conversation, phrases and keys across many. On chat data
    /// each doubling of the pieces gained a roughly constant share `q` of
    /// what the previous doubling gained (0.5 to 0.75), so the halves and
    /// quarters give the last gain and `q`, and the gains of the doublings
    /// up to `context` sum as a geometric series. `q` is capped at
    /// [`MAX_DECAY`]: it falls as pieces grow, and an estimate that errs
    /// should err on the large side. Pieces larger than the context lose at
    /// most what one halving costs.
    fn extrapolate(&self, piece: f64, context: f64) -> f64 {
        let last = (self.halves - self.whole).max(0.0);
        if piece <= 0.0 || last <= 0.0 {
            return self.whole;
        }
        let doublings = (context / piece).log2();
        if doublings <= 0.0 {
            return self.whole + last * (-doublings).min(1.0);
        }
        let before = self.quarters - self.halves;
        let q = if before > 0.0 {
            (last / before).clamp(0.25, MAX_DECAY)
        } else {
            0.5
        };
        self.whole - last * q * (1.0 - q.powf(doublings)) / (1.0 - q)
    }
}

/// How a part's records sit among the others in the archive's chunks, which
/// decides how much context the writer gives them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Placement {
    /// Conversations and small messages, interleaved: their context in a
    /// chunk is their share of it.
    #[default]
    Interleaved,
    /// Consent, in a run of its own at the end.
    Contiguous,
    /// Large messages, each sampled alone and extrapolated to its whole
    /// length already.
    Alone,
}

/// One part of the record stream, sampled on its own: its encoded size and
/// what its samples compressed to.
#[derive(Debug, Default)]
struct Stratum {
    /// Records in it: exact for conversations and consent.
    records: u64,
    /// Their encoded size in record batches, length prefixes included.
    bytes: f64,
    placement: Placement,
    /// Each sample's encoded and compressed sizes.
    samples: Vec<(f64, f64)>,
    /// The ratio is the samples' total compressed over total encoded size;
    /// otherwise (samples picked in proportion to their size) the mean of
    /// their ratios.
    pooled: bool,
    /// Whether the samples are all of the part, with no sampling error.
    complete: bool,
    /// Bytes compressed to take the samples.
    compressed: f64,
    /// The mean record entry size weighted by size: what a chunk leaves
    /// unused at its end is about half of it.
    size_biased_entry: f64,
    /// For windows: all of them compressed whole, in halves and quarters,
    /// and how many pieces (batches) they were compressed in.
    sizes: Sizes,
    pieces: f64,
    /// For slices: the mean share of their size the extrapolation to whole
    /// records took off.
    extrapolated: f64,
    /// For messages: the sum and the sum of squares of the entry sizes of
    /// the part's picked messages, for the sizing error.
    picked_sum: f64,
    picked_squares: f64,
}

impl Stratum {
    fn sampled(&self) -> f64 {
        self.samples.iter().map(|&(plain, _)| plain).sum()
    }

    /// Compressed over encoded size as sampled; 1.0 without samples.
    fn sampled_ratio(&self) -> f64 {
        if self.samples.is_empty() {
            return 1.0;
        }
        if !self.pooled {
            let sum: f64 = self.samples.iter().map(|&(x, y)| y / x).sum();
            return sum / self.samples.len() as f64;
        }
        let plain = self.sampled();
        let stored: f64 = self.samples.iter().map(|&(_, stored)| stored).sum();
        if plain > 0.0 { stored / plain } else { 1.0 }
    }

    /// The ratio with the context the archive gives the part's records,
    /// `context` bytes of them, and how far that moved from the sampled ratio.
    fn ratio(&self, context: f64) -> (f64, f64) {
        let sampled = self.sampled_ratio();
        if self.placement == Placement::Alone {
            return (sampled, self.extrapolated);
        }
        if self.complete || self.pieces <= 0.0 || self.sizes.whole <= 0.0 {
            return (sampled, 0.0);
        }
        let piece = self.sampled() / self.pieces;
        let scaled = self.sizes.extrapolate(piece, context) / self.sizes.whole;
        let ratio = (sampled * scaled).clamp(0.0, 1.0);
        (ratio, (sampled - ratio).abs())
    }

    /// The variance of [`Stratum::sampled_ratio`] as an estimate of the
    /// whole part's.
    fn ratio_variance(&self) -> f64 {
        let n = self.samples.len();
        if self.complete || n < 2 || self.bytes <= 0.0 {
            return 0.0;
        }
        let ratio = self.sampled_ratio();
        let n_f = n as f64;
        if !self.pooled {
            let spread: f64 = self
                .samples
                .iter()
                .map(|&(x, y)| (y / x - ratio).powi(2))
                .sum();
            return spread / ((n_f - 1.0) * n_f);
        }
        // The ratio estimator's, with the finite-population correction.
        let unsampled = (1.0 - self.sampled() / self.bytes).max(0.0);
        let mean_plain = self.sampled() / n_f;
        let spread: f64 = self
            .samples
            .iter()
            .map(|&(x, y)| (y - ratio * x).powi(2))
            .sum();
        unsampled * spread / ((n_f - 1.0) * n_f * mean_plain * mean_plain)
    }
}

/// Adds the parts up into an estimate (counts left at zero). `picked` is
/// how many messages were picked to size them, of how many.
fn combine(
    strata: &[Stratum],
    picked: Option<(f64, f64)>,
    chunk_size: u32,
    fixed: u64,
) -> SizeEstimate {
    let total: f64 = strata.iter().map(|s| s.bytes).sum();
    let chunk = f64::from(chunk_size);
    let interleaved: f64 = strata
        .iter()
        .filter(|s| s.placement == Placement::Interleaved)
        .map(|s| s.bytes)
        .sum();
    let (mut stored, mut variance, mut shift) = (0.0, 0.0, 0.0);
    // The messages' size is estimated from the picked ones: the spread of
    // their compressed sizes gives its error.
    let (mut picked_sum, mut picked_squares) = (0.0, 0.0);
    for stratum in strata {
        // How many bytes of the part's own kind a chunk holds.
        let context = match stratum.placement {
            Placement::Contiguous => chunk.min(stratum.bytes),
            _ if total > 0.0 => chunk.min(total) * interleaved / total,
            _ => 0.0,
        };
        let (ratio, moved) = stratum.ratio(context);
        stored += stratum.bytes * ratio;
        shift += stratum.bytes * moved;
        let sampled = stratum.sampled_ratio();
        let scale = if sampled > 0.0 { ratio / sampled } else { 1.0 };
        variance += (stratum.bytes * scale).powi(2) * stratum.ratio_variance();
        picked_sum += ratio * stratum.picked_sum;
        picked_squares += ratio * ratio * stratum.picked_squares;
    }
    if let Some((n, population)) = picked
        && n > 1.0
        && n < population
    {
        let spread = (picked_squares - picked_sum * picked_sum / n) / (n - 1.0);
        variance += population * population * (1.0 - n / population) * spread.max(0.0) / n;
    }
    let ratio = if total > 0.0 { stored / total } else { 1.0 };
    // A batch is closed when the next record would not fit, so a chunk ends
    // on average half a record short of the chunk size.
    let unused = if total > 0.0 {
        strata
            .iter()
            .map(|s| s.bytes * s.size_biased_entry)
            .sum::<f64>()
            / (2.0 * total)
    } else {
        0.0
    };
    let chunks = if total > 0.0 {
        (total / (chunk - unused.min(chunk / 2.0))).ceil().max(1.0)
    } else {
        0.0
    };
    // Each record chunk adds its schema version byte, frame header and tag.
    let framing = chunks * (FRAME_HEADER_LEN + TAG_LEN) as f64;
    let plain = total + chunks;
    let estimate = fixed as f64 + stored + chunks * ratio + framing;
    let spread = (BAND_ERRORS * variance.sqrt() + BAND_CONTEXT * shift).max(BAND_FLOOR * stored);
    // Nothing compresses to less than nothing, and a chunk that does not
    // compress is stored as it is.
    let floor = fixed as f64 + framing;
    let ceiling = fixed as f64 + plain + framing;
    let round = |value: f64| value.clamp(floor, ceiling).round() as u64;
    SizeEstimate {
        bytes: round(estimate),
        low_bytes: round(estimate - spread),
        high_bytes: round(estimate + spread),
        conversations: 0,
        messages: 0,
        consent: 0,
        plaintext_bytes: plain.round() as u64,
        chunks: chunks as u64,
        compression_ratio: ratio,
        sampled_bytes: strata.iter().map(|s| s.compressed).sum::<f64>().round() as u64,
    }
}

/// How many windows of how many bytes to sample a part of `bytes` bytes
/// with; `None` when the whole part is small enough to compress. A window
/// larger than a chunk is batched into chunks, as the writer would.
fn plan(bytes: f64) -> Option<(usize, f64)> {
    let budget = (bytes / SAMPLE_SHARE).clamp(MIN_SAMPLE, MAX_SAMPLE);
    if bytes <= budget {
        return None;
    }
    let windows = ((budget / WINDOW).round() as usize).clamp(MIN_WINDOWS, MAX_WINDOWS);
    Some((windows, budget / windows as f64))
}

/// SQL for the length of the varint postcard writes for `x`, a length (at
/// most 2^35 - 1).
fn varint_sql(x: &str) -> String {
    format!(
        "(CASE WHEN {x} < 128 THEN 1 WHEN {x} < 16384 THEN 2 WHEN {x} < 2097152 THEN 3 \
         WHEN {x} < 268435456 THEN 4 ELSE 5 END)"
    )
}

/// SQL for the length of the zigzag varint postcard writes for the i64 `x`.
fn zigzag_sql(x: &str) -> String {
    let mut sql = String::from("(CASE");
    for bytes in 1..=9 {
        let bound = 1i64 << (7 * bytes - 1);
        sql.push_str(&format!(
            " WHEN {x} BETWEEN {} AND {} THEN {bytes}",
            -bound,
            bound - 1
        ));
    }
    sql.push_str(" ELSE 10 END)");
    sql
}

/// SQL for the encoded length of a string or byte string `len` bytes long:
/// its length prefix and its bytes.
fn field_sql(len: &str) -> String {
    format!("({} + {len})", varint_sql(len))
}

/// The byte length of a BLOB column (SQLite reads it without the content)
/// and of a TEXT column in UTF-8.
fn blob_len(column: &str) -> String {
    format!("length({column})")
}

fn text_len(column: &str) -> String {
    format!("octet_length({column})")
}

/// SQL for the encoded length of an `Option` column `x` whose value encodes
/// as `some`.
fn option_sql(x: &str, some: &str) -> String {
    format!("(CASE WHEN {x} IS NULL THEN 1 ELSE 1 + {some} END)")
}

/// SQL for the encoded length of a conversation row `c`, without its length
/// prefix: the record's tag, then each field of
/// [`Conversation`](crate::Conversation) in order, the kind as one byte;
/// `member_ids` and `metadata` are JSON in the table and a postcard
/// sequence and map in the record.
fn conversation_size_sql() -> String {
    let text = |column: &str| field_sql(&text_len(column));
    let optional = |column: &str| option_sql(column, &text(column));
    format!(
        "2 + {id} + {created} + {name} + {peer} + {added} \
         + {members} + (SELECT ifnull(sum({value}), 0) FROM json_each(c.member_ids)) \
         + {entries} + (SELECT ifnull(sum({key} + {value}), 0) FROM json_each(c.metadata)) \
         + {last}",
        id = field_sql(&blob_len("c.id")),
        created = zigzag_sql("c.created_at_ns"),
        name = optional("c.name"),
        peer = optional("c.dm_peer"),
        added = optional("c.added_by"),
        members = varint_sql("json_array_length(c.member_ids)"),
        value = text("value"),
        entries = varint_sql("(SELECT count(*) FROM json_each(c.metadata))"),
        key = text("key"),
        last = option_sql("c.last_message_ns", &zigzag_sql("c.last_message_ns")),
    )
}

/// The encoded length of a message record, without its length prefix, from
/// the lengths of its fields and its integers: the record's tag, then each
/// field of [`Message`](crate::Message) in order, the kind and delivery
/// status one byte each.
fn message_size(lengths: &MessageLengths) -> u64 {
    let field = |len: u64| varint_len(len) as u64 + len;
    let MessageLengths(
        _,
        id,
        conversation,
        sender,
        installation,
        sent,
        content_type,
        content,
        reference,
        expires,
    ) = *lengths;
    3 + field(id)
        + field(conversation)
        + field(sender)
        + field(installation)
        + zigzag_len(sent)
        + field(content_type)
        + field(content)
        + reference.map_or(1, |len| 1 + field(len))
        + expires.map_or(1, |at| 1 + zigzag_len(at))
}

/// The length of the zigzag varint postcard writes for `value`.
fn zigzag_len(value: i64) -> u64 {
    varint_len(((value << 1) ^ (value >> 63)) as u64) as u64
}

/// A picked message as the walk reads it: its rowid, the byte lengths of
/// its id, conversation id, sender id, installation id, send time, content
/// type, content, reference id, and its expiry time.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
struct MessageLengths(
    i64,
    u64,
    u64,
    u64,
    u64,
    i64,
    u64,
    u64,
    Option<u64>,
    Option<i64>,
);

/// SQL for [`MessageLengths`] of a message row `m`, as a JSON array.
const MESSAGE_LENGTHS_SQL: &str = "json_array(m.rowid, length(m.id), length(m.conversation_id), \
     octet_length(m.sender_id), length(m.sender_installation_id), m.sent_at_ns, \
     octet_length(m.content_type), length(m.content), length(m.reference_id), m.expires_at_ns)";

/// SQL for the encoded length of a consent row, without its length prefix:
/// the record's tag, the entity type, the entity, the state and the time.
fn consent_size_sql() -> String {
    format!(
        "3 + {} + {}",
        field_sql(&text_len("entity")),
        zigzag_sql("updated_at_ns")
    )
}

/// A message picked to size the messages by.
#[derive(Clone, Copy, Debug)]
struct Picked {
    rowid: i64,
    /// Its entry in a record batch: length prefix and encoding.
    entry: f64,
    /// Its content's length.
    content: u64,
    large: bool,
}

/// What one walk of the selected messages found.
#[derive(Debug, Default)]
struct Walk {
    /// Messages selected (exact).
    count: u64,
    /// Among the counted ones: how many, how many large, their content
    /// bytes, and the content bytes of the small ones.
    counted: f64,
    large: f64,
    content: f64,
    small_content: f64,
    picked: Vec<Picked>,
}

/// A walk as SQLite returns it: the counted ones' count, large count,
/// content and clipped content, the picked ones' lengths as JSON, and the
/// count of all (0 where counted apart).
type WalkRow = (i64, i64, i64, i64, String, i64);

impl Walk {
    fn read(row: &Row<'_>) -> rusqlite::Result<WalkRow> {
        Ok((
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
        ))
    }

    fn parse((counted, large, content, clipped, picked, count): WalkRow) -> Result<Walk> {
        let picked: Vec<MessageLengths> = serde_json::from_str(&picked).map_err(|error| {
            Error::invalid(format!("the message sample is unreadable: {error}"))
        })?;
        Ok(Walk {
            count: count.max(0) as u64,
            counted: counted as f64,
            large: large as f64,
            content: content as f64,
            // Contents shorter than the threshold sum to the clipped sum less
            // the threshold once per large message.
            small_content: clipped.saturating_sub(large * LARGE_CONTENT) as f64,
            picked: picked
                .iter()
                .map(|lengths| {
                    let size = message_size(lengths);
                    Picked {
                        rowid: lengths.0,
                        entry: (varint_len(size) as u64 + size) as f64,
                        content: lengths.7,
                        large: lengths.7 >= LARGE_CONTENT as u64,
                    }
                })
                .collect(),
        })
    }
}

/// What [`Sampler::messages`] found.
struct Messages {
    /// Messages selected (exact), and how many were picked.
    count: u64,
    picked: f64,
    small: Stratum,
    large: Stratum,
}

/// Reads the samples of one snapshot.
struct Sampler<'a> {
    conn: &'a Connection,
    options: &'a CreateOptions,
    compressor: Compressor,
}

/// Named parameters of a statement.
type Params<'p> = Vec<(&'static str, &'p dyn ToSql)>;

impl Sampler<'_> {
    /// A batcher that takes records until `limit` bytes of them.
    fn batcher(&mut self, limit: f64) -> Batcher<'_> {
        Batcher {
            compressor: &mut self.compressor,
            chunk_size: self.options.writer.chunk_size as usize,
            batch: BatchBuilder::new(),
            scratch: Vec::new(),
            limit,
            window: Window::default(),
        }
    }

    /// The conversation records: sizes exact from SQL, compression from
    /// windows of consecutive records.
    fn conversations(&mut self) -> Result<Stratum> {
        let options = self.options;
        let from = format!("{} LIMIT -1 OFFSET 0", options.conversation_selection());
        let (records, bytes) =
            self.totals(&conversation_size_sql(), &from, options.range_params())?;
        self.windows(
            &options.conversation_query(),
            options.range_params(),
            Stratum {
                records,
                bytes,
                ..Stratum::default()
            },
            |row| Ok(Record::Conversation(conversation_from_row(row)?)),
        )
    }

    /// The consent records, as the conversations; the time range does not
    /// apply to them.
    fn consent(&mut self) -> Result<Stratum> {
        let (records, bytes) =
            self.totals(&consent_size_sql(), "consent LIMIT -1 OFFSET 0", Vec::new())?;
        self.windows(
            &consent_query(),
            Vec::new(),
            Stratum {
                records,
                bytes,
                placement: Placement::Contiguous,
                ..Stratum::default()
            },
            |row| Ok(Record::Consent(consent_from_row(row)?)),
        )
    }

    /// Counts the rows of `from` and sums their entry sizes: `size` and its
    /// length prefix. (`LIMIT -1 OFFSET 0` in `from` keeps SQLite from
    /// computing `size` once for every use of it.)
    fn totals(&self, size: &str, from: &str, params: Params<'_>) -> Result<(u64, f64)> {
        let sql = format!(
            "SELECT count(*), ifnull(sum(e + {}), 0) FROM (SELECT {size} AS e FROM {from})",
            varint_sql("e")
        );
        let (count, sum): (i64, i64) = self.conn.query_row(&sql, params.as_slice(), |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
        Ok((count.max(0) as u64, sum.max(0) as f64))
    }

    /// Samples the records `query` reads in archive order, in windows at
    /// evenly spread offsets, into `stratum` (whose size is known).
    fn windows(
        &mut self,
        query: &str,
        params: Params<'_>,
        mut stratum: Stratum,
        read: impl Fn(&Row<'_>) -> rusqlite::Result<Record>,
    ) -> Result<Stratum> {
        stratum.pooled = true;
        stratum.complete = true;
        if stratum.records == 0 {
            return Ok(stratum);
        }
        let plan = plan(stratum.bytes);
        let (windows, window) = plan.unwrap_or((1, f64::INFINITY));
        stratum.complete = plan.is_none();
        let conn = self.conn;
        let mut statement = conn.prepare(&format!("{query} LIMIT -1 OFFSET :skip"))?;
        let records = stratum.records as f64;
        let per_record = stratum.bytes / records;
        let mut tally = Tally::default();
        for index in 0..windows {
            let skip = if stratum.complete {
                0
            } else {
                let centre = records * (index as f64 + 0.5) / windows as f64;
                (centre - window / per_record / 2.0).max(0.0) as i64
            };
            let mut params = params.clone();
            params.push((":skip", &skip));
            let mut rows = statement.query(params.as_slice())?;
            let mut batcher = self.batcher(window);
            while !batcher.full() {
                let Some(row) = rows.next()? else { break };
                batcher.push(&read(row)?)?;
            }
            tally.add(batcher.finish());
        }
        tally.close(&mut stratum);
        Ok(stratum)
    }

    /// The messages: the exact count, sizes from the counted and picked
    /// ones, then windows of small messages and slices of large ones.
    fn messages(&mut self) -> Result<Messages> {
        let walk = self.pick_messages()?;
        let count = walk.count as f64;
        let scale = if walk.counted > 0.0 {
            count / walk.counted
        } else {
            0.0
        };
        let every_row = walk.picked.len() as u64 >= walk.count;
        let (small_rows, large_rows): (Vec<Picked>, Vec<Picked>) =
            walk.picked.iter().partition(|p| !p.large);
        // The fields other than the content, and the framing, vary little:
        // the picked messages measure them.
        let overhead = |rows: &[Picked]| {
            let mut mean = Mean::default();
            for pick in rows {
                mean.add(pick.entry - pick.content as f64, 1.0);
            }
            mean.value()
        };
        let fallback = overhead(&walk.picked).unwrap_or(GUESSED_OVERHEAD);
        let large_count = walk.large * scale;
        let small_count = count - large_count;
        let part = |rows: &[Picked], records: f64, bytes: f64, placement| {
            let sum: f64 = rows.iter().map(|p| p.entry).sum();
            let squares: f64 = rows.iter().map(|p| p.entry * p.entry).sum();
            Stratum {
                records: records.round() as u64,
                bytes,
                placement,
                pooled: true,
                complete: true,
                size_biased_entry: if sum > 0.0 { squares / sum } else { 0.0 },
                picked_sum: sum,
                picked_squares: squares,
                ..Stratum::default()
            }
        };
        // A large message's content compresses on its own; its other
        // fields are like a small message's, and compress as those do.
        let small_bytes = walk.small_content * scale
            + small_count * overhead(&small_rows).unwrap_or(fallback)
            + large_count * overhead(&large_rows).unwrap_or(fallback);
        let large_content = (walk.content - walk.small_content) * scale;
        let mut small = part(
            &small_rows,
            small_count,
            small_bytes,
            Placement::Interleaved,
        );
        let mut large = part(&large_rows, large_count, large_content, Placement::Alone);
        if !small_rows.is_empty() {
            self.small_windows(&small_rows, &mut small)?;
        }
        if !large_rows.is_empty() {
            self.large_slices(&large_rows, every_row, &mut large)?;
        }
        Ok(Messages {
            count: walk.count,
            picked: walk.counted,
            small,
            large,
        })
    }

    /// Counts the selected messages exactly, then counts the content of an
    /// eighth of them (see [`MIN_COUNTED`]) and picks some of those, in runs
    /// of rowids evenly spread over the table; or, when the runs find too
    /// few (a time range may select few of the table's rows), in runs of
    /// the selection's own index.
    fn pick_messages(&self) -> Result<Walk> {
        // Two subqueries: SQLite finds a lone min() or max() at one end of
        // the table, but computes both in one query by reading every row.
        let (first, last): (Option<i64>, Option<i64>) = self.conn.query_row(
            "SELECT (SELECT min(rowid) FROM messages), (SELECT max(rowid) FROM messages)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(Walk::default());
        };
        let count = self.count_messages()?;
        let counted = (count as f64 / 8.0).clamp(MIN_COUNTED, MAX_COUNTED);
        // Every how many counted runs one is picked.
        let pick = |counted: f64| (counted / PICKED).round().clamp(1.0, COUNTED) as i64;
        let span = last as f64 - first as f64 + 1.0;
        let stride = ((span * RUN as f64 / counted) as i64).max(RUN);
        let mut walk = self.runs(first, last, stride, pick(counted))?;
        walk.count = count.max(0) as u64;
        let picked = walk.picked.len() as f64;
        if picked < walk.count as f64 && picked < PICKED / 2.0 {
            let every = (count as f64 / counted).clamp(1.0, 1e15) as i64;
            let counted = count as f64 / every as f64;
            return self.walk(every, every * pick(counted));
        }
        Ok(walk)
    }

    /// Counts the selected messages. Without a time range, when every
    /// conversation that has messages exists, that is the table's row count,
    /// which SQLite reads off the pages of its smallest index; one seek of
    /// the conversation index per conversation tells whether they all
    /// exist. Otherwise it steps through the selection's index entries:
    /// about 12 ms per 200,000 messages.
    fn count_messages(&self) -> Result<i64> {
        let options = self.options;
        if options.start_ns.is_none() && options.end_ns.is_none() {
            let (rows, indexed): (i64, bool) = self.conn.query_row(
                "SELECT (SELECT count(*) FROM messages), EXISTS (SELECT 1 FROM \
                 pragma_index_info('messages_by_conversation') \
                 WHERE seqno = 0 AND name = 'conversation_id')",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            if indexed {
                // The distinct conversation ids of the messages, one seek
                // each, up to a bound; whether the walk ended, and how many
                // of those it found have no conversation.
                let (ended, orphaned): (bool, i64) = self.conn.query_row(
                    "WITH RECURSIVE ids(id, step) AS ( \
                     SELECT (SELECT min(conversation_id) FROM messages), 0 UNION ALL \
                     SELECT (SELECT min(conversation_id) FROM messages \
                     WHERE conversation_id > ids.id), step + 1 \
                     FROM ids WHERE ids.id IS NOT NULL AND step < :seeks) \
                     SELECT ifnull(max(id IS NULL), 0), \
                     count(*) FILTER (WHERE id NOT IN (SELECT id FROM conversations)) FROM ids",
                    rusqlite::named_params! { ":seeks": MAX_COUNT_SEEKS },
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )?;
                if ended && orphaned == 0 {
                    return Ok(rows);
                }
            }
        }
        let params = options.range_params();
        Ok(self.conn.query_row(
            &format!("SELECT count(*) FROM {}", options.message_selection()),
            params.as_slice(),
            |row| row.get(0),
        )?)
    }

    /// Counts the content of the selected messages in runs of [`RUN`]
    /// rowids every `stride` from `first` to `last`, and picks those of
    /// every `pick`-th run. SQLite seeks each run by rowid and reads its
    /// rows in order.
    fn runs(&self, first: i64, last: i64, stride: i64, pick: i64) -> Result<Walk> {
        let sql = format!(
            "WITH RECURSIVE runs(start) AS (SELECT :first UNION ALL \
             SELECT start + :stride FROM runs WHERE start <= :last - :stride) \
             SELECT count(*), ifnull(sum(length(m.content) >= :large), 0), \
             ifnull(sum(length(m.content)), 0), ifnull(sum(min(length(m.content), :large)), 0), \
             json_group_array({MESSAGE_LENGTHS_SQL}) \
             FILTER (WHERE ((runs.start - :first) / :stride) % :pick = 0), 0 \
             FROM runs CROSS JOIN messages AS m NOT INDEXED \
             WHERE {} AND m.rowid BETWEEN runs.start AND runs.start + {}",
            self.options.message_condition(),
            RUN - 1
        );
        let mut params = self.options.range_params();
        params.extend([
            (":first", &first as &dyn ToSql),
            (":last", &last),
            (":stride", &stride),
            (":pick", &pick),
            (":large", &LARGE_CONTENT),
        ]);
        Walk::parse(self.conn.query_row(&sql, params.as_slice(), Walk::read)?)
    }

    /// One walk of the selected messages' index: their count, the content of
    /// those in every `counted`-th run of rowids and the lengths of those in
    /// every `picked`-th. SQLite reads the rows of those only.
    fn walk(&self, counted: i64, picked: i64) -> Result<Walk> {
        let counted_run = format!("FILTER (WHERE (m.rowid / {RUN}) % :counted = 0)");
        let sql = format!(
            "SELECT count(*) {counted_run}, \
             ifnull(sum(length(m.content) >= :large) {counted_run}, 0), \
             ifnull(sum(length(m.content)) {counted_run}, 0), \
             ifnull(sum(min(length(m.content), :large)) {counted_run}, 0), \
             json_group_array({MESSAGE_LENGTHS_SQL}) FILTER (WHERE (m.rowid / {RUN}) % :picked = 0), \
             count(*) FROM {}",
            self.options.message_selection()
        );
        let mut params = self.options.range_params();
        params.extend([
            (":counted", &counted as &dyn ToSql),
            (":picked", &picked),
            (":large", &LARGE_CONTENT),
        ]);
        Walk::parse(self.conn.query_row(&sql, params.as_slice(), Walk::read)?)
    }

    /// Windows of consecutive small messages in archive order, starting at
    /// evenly spread picked ones; every small message when they are few.
    fn small_windows(&mut self, picked: &[Picked], stratum: &mut Stratum) -> Result<()> {
        let conn = self.conn;
        let options = self.options;
        let small = format!(
            "SELECT {MESSAGE_COLUMNS} FROM {} AND length(m.content) < :large",
            options.conversation_messages()
        );
        let mut tally = Tally::default();
        let Some((windows, window)) = plan(stratum.bytes) else {
            let mut conversations = conn.prepare(&format!(
                "SELECT c.id FROM {} ORDER BY c.id",
                options.conversation_selection()
            ))?;
            let ids: Vec<Vec<u8>> = conversations
                .query_map(options.range_params().as_slice(), |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut statement = conn.prepare(&format!("{small} ORDER BY {MESSAGE_ORDER}"))?;
            let mut batcher = self.batcher(f64::INFINITY);
            for id in &ids {
                let mut params = options.range_params();
                params.extend([
                    (":conversation", id as &dyn ToSql),
                    (":large", &LARGE_CONTENT),
                ]);
                let mut rows = statement.query(params.as_slice())?;
                while let Some(row) = rows.next()? {
                    batcher.push(&Record::Message(message_from_row(row)?))?;
                }
            }
            tally.add(batcher.finish());
            tally.close(stratum);
            return Ok(());
        };
        stratum.complete = false;
        let mut key = conn.prepare(
            "SELECT m.conversation_id, m.sent_at_ns, m.id FROM messages AS m WHERE m.rowid = ?1",
        )?;
        // Archive order is MESSAGE_ORDER, two columns: the send time and the id.
        let mut statement = conn.prepare(&format!(
            "{small} AND ({MESSAGE_ORDER}) >= (:sent, :id) ORDER BY {MESSAGE_ORDER}"
        ))?;
        let mut next = conn.prepare(&format!(
            "SELECT id FROM (SELECT c.id AS id FROM {}) WHERE id > :after ORDER BY id LIMIT 1",
            options.conversation_selection()
        ))?;
        for index in 0..windows {
            let start = picked[(picked.len() * (2 * index + 1)) / (2 * windows)];
            let (mut conversation, mut sent, mut id): (Vec<u8>, i64, Vec<u8>) = key
                .query_row([start.rowid], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })?;
            let mut batcher = self.batcher(window);
            // On into the next conversations, as the writer's chunks go.
            loop {
                let mut params = options.range_params();
                params.extend([
                    (":conversation", &conversation as &dyn ToSql),
                    (":large", &LARGE_CONTENT),
                    (":sent", &sent),
                    (":id", &id),
                ]);
                let mut rows = statement.query(params.as_slice())?;
                while !batcher.full() {
                    let Some(row) = rows.next()? else { break };
                    batcher.push(&Record::Message(message_from_row(row)?))?;
                }
                drop(rows);
                if batcher.full() {
                    break;
                }
                let mut params = options.range_params();
                params.push((":after", &conversation as &dyn ToSql));
                let following: Option<Vec<u8>> = next
                    .query_row(params.as_slice(), |row| row.get(0))
                    .optional()?;
                let Some(following) = following else { break };
                (conversation, sent, id) = (following, i64::MIN, Vec::new());
            }
            tally.add(batcher.finish());
        }
        tally.close(stratum);
        Ok(())
    }

    /// The contents of large messages, each compressed on its own: its
    /// middle [`SLICE`] bytes, extrapolated to its whole length. Every picked
    /// one up to [`MAX_SLICES`], else that many picked among them in
    /// proportion to their content's size.
    fn large_slices(
        &mut self,
        picked: &[Picked],
        every_row: bool,
        stratum: &mut Stratum,
    ) -> Result<()> {
        stratum.pooled = picked.len() <= MAX_SLICES;
        stratum.complete = stratum.pooled && every_row;
        let picks: Vec<Picked> = if stratum.pooled {
            picked.to_vec()
        } else {
            let total: f64 = picked.iter().map(|p| p.content as f64).sum();
            let mut picks = Vec::with_capacity(MAX_SLICES);
            let (mut cumulative, mut next) = (0.0, 0);
            for index in 0..MAX_SLICES {
                let at = total * (index as f64 + 0.5) / MAX_SLICES as f64;
                while next + 1 < picked.len() && cumulative + picked[next].content as f64 <= at {
                    cumulative += picked[next].content as f64;
                    next += 1;
                }
                picks.push(picked[next]);
            }
            picks
        };
        // The middle of the content; SQLite reads it all, but copies out
        // only this.
        let mut middle = self
            .conn
            .prepare("SELECT substr(m.content, ?2, ?3) FROM messages AS m WHERE m.rowid = ?1")?;
        let mut seen: HashMap<i64, Slice> = HashMap::new();
        let mut shift = Mean::default();
        for pick in picks {
            let slice = match seen.get(&pick.rowid) {
                Some(&slice) => slice,
                None => {
                    let len = SLICE.min(pick.content as usize) as i64;
                    let start = (pick.content as i64 - len) / 2 + 1;
                    let piece: Vec<u8> =
                        middle.query_row([pick.rowid, start, len], |row| row.get(0))?;
                    let slice = Slice::measure(&mut self.compressor, &piece, pick.content as f64);
                    stratum.compressed += slice.piece;
                    seen.insert(pick.rowid, slice);
                    slice
                }
            };
            // Picked evenly, each counts by its size; picked by size, once.
            let weight = if stratum.pooled { slice.content } else { 1.0 };
            shift.add(slice.shift, weight);
            stratum.samples.push(if stratum.pooled {
                (slice.content, slice.content * slice.ratio)
            } else {
                (slice.piece, slice.piece * slice.ratio)
            });
        }
        stratum.extrapolated = shift.value().unwrap_or(0.0);
        Ok(())
    }
}

/// One large message's sample.
#[derive(Clone, Copy, Debug)]
struct Slice {
    /// Its content's length, and the length of the slice compressed.
    content: f64,
    piece: f64,
    /// The slice's compressed size over its length, extrapolated to the
    /// whole content, and how much the extrapolation took off.
    ratio: f64,
    shift: f64,
}

impl Slice {
    /// Measures `piece`, a whole content or a slice of one `content` bytes long.
    fn measure(compressor: &mut Compressor, piece: &[u8], content: f64) -> Slice {
        let len = piece.len().max(1) as f64;
        let sizes = if len < content {
            Sizes::measure(compressor, piece)
        } else {
            Sizes::whole(compressor, piece)
        };
        let whole = sizes.extrapolate(len, content);
        Slice {
            content,
            piece: len,
            ratio: (whole / len).clamp(0.0, 1.0),
            shift: ((sizes.whole - whole) / len).max(0.0),
        }
    }
}

/// What storing `body` costs: compressed when that is smaller, as the writer does.
fn stored_len(compressor: &mut Compressor, body: &[u8]) -> u64 {
    compressor
        .compress(body)
        .map_or(body.len(), |compressed| compressed.len()) as u64
}

/// A weighted mean.
#[derive(Clone, Copy, Debug, Default)]
struct Mean {
    sum: f64,
    weight: f64,
}

impl Mean {
    fn add(&mut self, value: f64, weight: f64) {
        self.sum += value * weight;
        self.weight += weight;
    }

    fn value(&self) -> Option<f64> {
        (self.weight > 0.0).then(|| self.sum / self.weight)
    }
}

/// The windows of one part.
#[derive(Debug, Default)]
struct Tally {
    windows: Vec<Window>,
}

impl Tally {
    fn add(&mut self, window: Window) {
        if window.plain > 0 {
            self.windows.push(window);
        }
    }

    fn close(self, stratum: &mut Stratum) {
        let mut entries = Mean::default();
        for window in &self.windows {
            let plain = window.plain as f64;
            stratum.samples.push((plain, window.sizes.whole));
            stratum.sizes.add(window.sizes);
            stratum.pieces += window.pieces as f64;
            stratum.compressed += plain;
            entries.add(window.squares / window.taken as f64, window.taken as f64);
        }
        // Messages have theirs from the picked ones.
        if stratum.size_biased_entry == 0.0 {
            stratum.size_biased_entry = entries.value().unwrap_or(0.0);
        }
    }
}

/// One window, batched and compressed as the writer would.
#[derive(Debug, Default)]
struct Window {
    /// Batch bodies before compression, their stored sizes (whole, in
    /// halves and in quarters), and how many batches there were.
    plain: u64,
    sizes: Sizes,
    pieces: u64,
    /// Record entries taken, in bytes, and the sum of their squares.
    taken: u64,
    squares: f64,
}

/// Batches records exactly as the writer does and compresses each batch;
/// full once `limit` bytes of records were taken.
struct Batcher<'c> {
    compressor: &'c mut Compressor,
    chunk_size: usize,
    batch: BatchBuilder,
    scratch: Vec<u8>,
    limit: f64,
    window: Window,
}

impl Batcher<'_> {
    fn full(&self) -> bool {
        self.window.taken as f64 >= self.limit
    }

    /// Adds a record, closing the batch first when the record would not fit,
    /// as [`ArchiveWriter::write_record`] does.
    fn push(&mut self, record: &Record) -> Result<()> {
        self.scratch.clear();
        encode_into(record, &mut self.scratch)?;
        let entry = varint_len(self.scratch.len() as u64) + self.scratch.len();
        if !self.batch.is_empty() && self.batch.len() + entry > self.chunk_size {
            self.flush();
        }
        self.batch.push_encoded(&self.scratch);
        self.window.taken += entry as u64;
        self.window.squares += (entry as f64).powi(2);
        Ok(())
    }

    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let body = self.batch.take();
        self.window.plain += body.len() as u64;
        self.window
            .sizes
            .add(Sizes::measure(self.compressor, &body));
        self.window.pieces += 1;
    }

    fn finish(mut self) -> Window {
        self.flush();
        self.window
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::records::tests::records;
    use crate::records::{
        Consent, ConsentEntityType, ConsentState, Conversation, ConversationKind, DeliveryStatus,
        Message, MessageKind, encode_record,
    };
    use crate::sqlite::{InsertMode, REFERENCE_SCHEMA, RecordInserter};

    fn database(records: &[Record]) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        conn.execute_batch(REFERENCE_SCHEMA).unwrap();
        let mut inserter = RecordInserter::new(&conn, InsertMode::Additive).unwrap();
        for record in records {
            inserter.insert(record).unwrap();
        }
        drop(inserter);
        conn
    }

    /// Every row of `table` as a record, with what `size` says of it (its
    /// table's columns come in the order the row readers expect).
    fn sized<T: rusqlite::types::FromSql>(
        conn: &Connection,
        table: &str,
        size: &str,
        read: fn(&Row<'_>) -> rusqlite::Result<Record>,
        at: usize,
    ) -> Vec<(Record, T)> {
        let mut statement = conn
            .prepare(&format!("SELECT *, {size} FROM {table}"))
            .unwrap();
        statement
            .query_map([], |row| Ok((read(row)?, row.get(at)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// Checks the SQL and Rust size rules against the encoder, row by row.
    fn sizes_match(conn: &Connection) {
        let conversations: Vec<(Record, u64)> = sized(
            conn,
            "conversations AS c",
            &conversation_size_sql(),
            |row| Ok(Record::Conversation(conversation_from_row(row)?)),
            10,
        );
        let consent: Vec<(Record, u64)> = sized(
            conn,
            "consent",
            &consent_size_sql(),
            |row| Ok(Record::Consent(consent_from_row(row)?)),
            4,
        );
        for (record, size) in conversations.into_iter().chain(consent) {
            assert_eq!(
                size,
                encode_record(&record).unwrap().len() as u64,
                "{record:?}"
            );
        }
        let messages: Vec<(Record, String)> = sized(
            conn,
            "messages AS m",
            MESSAGE_LENGTHS_SQL,
            |row| Ok(Record::Message(message_from_row(row)?)),
            11,
        );
        for (record, lengths) in messages {
            let lengths: MessageLengths = serde_json::from_str(&lengths).unwrap();
            assert_eq!(
                message_size(&lengths),
                encode_record(&record).unwrap().len() as u64,
                "{record:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn sizes_from_sql_are_the_encoded_sizes(records in records()) {
            sizes_match(&database(&records));
        }
    }

    #[test]
    fn extreme_values_are_sized_exactly() {
        let conversation = Conversation {
            id: vec![0; 200],
            kind: ConversationKind::Group,
            created_at_ns: i64::MIN,
            name: Some(String::new()),
            dm_peer: None,
            added_by: Some("nul \0 inside, RTL \u{202e}עברית, 🏳️‍🌈".into()),
            member_ids: (0..200).map(|n| format!("\"member\" {n} \\ ☃")).collect(),
            metadata: BTreeMap::from([
                (String::new(), String::new()),
                ("ключ".into(), "x".repeat(20_000)),
            ]),
            last_message_ns: Some(i64::MAX),
        };
        let message = |n: u8, content: usize, sent_at_ns: i64| {
            Record::Message(Message {
                id: vec![n; 32],
                conversation_id: conversation.id.clone(),
                sender_id: "ß".repeat(100),
                sender_installation_id: Vec::new(),
                sent_at_ns,
                kind: MessageKind::MembershipChange,
                content_type: String::new(),
                content: vec![n; content],
                delivery_status: DeliveryStatus::Failed,
                reference_id: Some(vec![1; 300]),
                expires_at_ns: Some(-sent_at_ns),
            })
        };
        let records = vec![
            Record::Conversation(conversation.clone()),
            message(1, 0, 0),
            message(2, 127, -64),
            message(3, 128, 63),
            message(4, 16_384, 64),
            message(5, 2_100_000, i64::MIN + 1),
            Record::Consent(Consent {
                entity_type: ConsentEntityType::Address,
                entity: "\0".repeat(130),
                state: ConsentState::Unknown,
                updated_at_ns: i64::MIN,
            }),
        ];
        sizes_match(&database(&records));
    }

    #[test]
    fn zigzag_lengths_follow_postcard() {
        for value in [
            0,
            1,
            -1,
            63,
            -64,
            64,
            -65,
            8191,
            -8192,
            8192,
            i64::MAX,
            i64::MIN,
        ] {
            let mut encoded = Vec::new();
            encode_into(&value, &mut encoded).unwrap();
            assert_eq!(zigzag_len(value), encoded.len() as u64, "{value}");
        }
    }

    #[test]
    fn extrapolation_follows_the_measured_gains() {
        // Sizes falling as 1/context: halving costs 100 bytes, then 200.
        let sizes = Sizes {
            whole: 1000.0,
            halves: 1100.0,
            quarters: 1300.0,
        };
        // Gains halve each doubling, summing to at most the last gain.
        let far = sizes.extrapolate(1000.0, 1e12);
        assert!((far - 900.0).abs() < 1e-3, "{far}");
        assert!((sizes.extrapolate(1000.0, 2000.0) - 950.0).abs() < 1e-6);
        assert_eq!(sizes.extrapolate(1000.0, 1000.0), 1000.0);
        // Less context than measured costs at most one halving.
        assert!((sizes.extrapolate(1000.0, 500.0) - 1100.0).abs() < 1e-6);
        assert!((sizes.extrapolate(1000.0, 1.0) - 1100.0).abs() < 1e-6);
        // Incompressible data gains nothing.
        let flat = Sizes {
            whole: 1000.0,
            halves: 1000.0,
            quarters: 1000.0,
        };
        assert_eq!(flat.extrapolate(1000.0, 1e9), 1000.0);
        // A slow decay is capped, so the estimate errs large.
        let slow = Sizes {
            whole: 1000.0,
            halves: 1100.0,
            quarters: 1220.0,
        };
        let capped = 1000.0 - 100.0 * MAX_DECAY / (1.0 - MAX_DECAY);
        assert!((slow.extrapolate(1000.0, 1e12) - capped).abs() < 1e-2);
    }

    #[test]
    fn small_parts_are_compressed_whole_and_large_ones_in_windows() {
        assert_eq!(plan(100.0 * 1024.0), None);
        let (windows, window) = plan(64.0 * 1024.0 * 1024.0).unwrap();
        assert_eq!(windows, MAX_WINDOWS);
        assert!((window - WINDOW).abs() < 1.0);
        let (windows, window) = plan(1024.0 * 1024.0).unwrap();
        assert_eq!((windows, window), (MIN_WINDOWS, MIN_SAMPLE / 2.0));
    }
}
