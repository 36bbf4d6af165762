//! Size limits, set once and checked before every allocation that depends on
//! a length read from the input, and the decoded-size measure that bounds
//! what decoding a record batch or a seek index costs (spec §6.3.1, §6.5.2, §9).

use crate::error::{Error, Limit, Result};

/// The largest chunk size a reader with default limits accepts: 4 MiB, four
/// times what writers write by default (spec §9).
pub const DEFAULT_MAX_CHUNK_SIZE: u32 = 4 << 20;

/// The largest decoded size of one record batch or seek index a reader with
/// default limits accepts: 16 MiB (spec §6.3.1, §9).
pub const DEFAULT_MAX_DECODED_SIZE: u64 = 16 << 20;

/// How many bytes of frames a reader with default limits holds in flight on
/// its worker threads, each frame counted as [`Limits::read_ahead_cost`].
pub const DEFAULT_READ_AHEAD: u64 = 32 << 20;

/// The largest chunk size a writer accepts. Archives with chunks over
/// [`DEFAULT_MAX_CHUNK_SIZE`] need readers whose limits were raised to read them.
pub const WRITER_MAX_CHUNK_SIZE: u32 = 64 << 20;

/// The smallest `max_chunk_size` a header may declare (spec §3.1): room for
/// the trailer and a metadata chunk.
pub const MIN_CHUNK_SIZE: u32 = 4096;

/// The decoded size of a record (spec §6.3.1): this much per record...
pub const DECODED_PER_RECORD: u64 = 256;
/// ...plus this much per string or byte-string value it holds...
pub const DECODED_PER_VALUE: u64 = 32;
/// ...plus its entry length. In a seek index (spec §6.5.2): this much per
/// entry, [`DECODED_PER_VALUE`] plus its length per conversation id...
pub const DECODED_PER_INDEX_ENTRY: u64 = 128;
/// ...and this much per element of an entry's lists.
pub const DECODED_PER_LIST_ELEMENT: u64 = 8;

/// What a reader is prepared to accept from an archive, and how much it
/// reads ahead.
///
/// An archive declares its own limits in its header; a reader refuses, with
/// [`Error::LimitExceeded`], a header that declares more than these, so a
/// hostile file can never make it allocate more than `max_chunk_size` (plus a
/// frame header and tag) for one chunk, nor decode a batch whose values would
/// take more than a small multiple of `max_decoded_size` (spec §6.3.1).
///
/// Construct with [`Limits::default`] or [`Limits::for_chunk_size`] and
/// change fields from there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest decompressed chunk body accepted.
    pub max_chunk_size: u32,
    /// The largest single encoded record accepted.
    pub max_record_size: u32,
    /// The largest decoded size (spec §6.3.1) of one record batch or one
    /// seek index accepted.
    pub max_decoded_size: u64,
    /// The bytes of frames a reader opening chunks on several threads holds
    /// ahead of the one it hands over, each counted as
    /// [`Limits::read_ahead_cost`]; at least one frame is always read.
    pub read_ahead: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::for_chunk_size(DEFAULT_MAX_CHUNK_SIZE)
    }
}

impl Limits {
    /// Limits that accept archives declaring chunks of up to `max_chunk_size`
    /// bytes, and every archive a conforming writer writes with that chunk
    /// size: records up to a chunk, decoded batches up to four chunks (and at
    /// least 16 MiB), and a read-ahead of eight chunks (at least 32 MiB).
    pub fn for_chunk_size(max_chunk_size: u32) -> Self {
        Limits {
            max_chunk_size,
            max_record_size: max_chunk_size,
            max_decoded_size: decoded_size_budget(max_chunk_size),
            read_ahead: DEFAULT_READ_AHEAD.max(8 * u64::from(max_chunk_size)),
        }
    }

    /// What a frame of `stored_len` stored bytes, from an archive declaring
    /// `max_chunk_size`, counts against [`Limits::read_ahead`]: its stored
    /// bytes, room for its body, and as much again for what decoding the body
    /// keeps (pages copied out, or a few bytes per record checked).
    pub fn read_ahead_cost(stored_len: u32, max_chunk_size: u32) -> u64 {
        u64::from(stored_len) + 2 * u64::from(max_chunk_size)
    }

    /// Checks a size against a limit, naming the limit in the error.
    pub(crate) fn check(what: Limit, value: u64, limit: u64) -> Result<()> {
        if value > limit {
            Err(Error::LimitExceeded { what, value, limit })
        } else {
            Ok(())
        }
    }
}

/// The largest decoded size a writer gives a record batch or a seek index
/// when its chunks are at most `chunk_size` bytes (spec §8.3): four chunks,
/// and never less than what default readers accept.
pub fn decoded_size_budget(chunk_size: u32) -> u64 {
    DEFAULT_MAX_DECODED_SIZE.max(4 * u64::from(chunk_size))
}

/// The decoded size of a record whose entry is `entry_len` bytes long and
/// holds `values` string and byte-string values (spec §6.3.1).
pub fn record_decoded_size(entry_len: usize, values: u64) -> u64 {
    DECODED_PER_RECORD
        .saturating_add(entry_len as u64)
        .saturating_add(values.saturating_mul(DECODED_PER_VALUE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limits_accept_what_default_writers_write() {
        let limits = Limits::default();
        assert_eq!(limits.max_chunk_size, 4 << 20);
        assert_eq!(limits.max_record_size, 4 << 20);
        assert_eq!(limits.max_decoded_size, 16 << 20);
        assert_eq!(limits.read_ahead, 32 << 20);
        let writer = crate::stream::writer::DEFAULT_CHUNK_SIZE;
        assert!(writer <= limits.max_chunk_size);
        assert_eq!(decoded_size_budget(writer), limits.max_decoded_size);
        // Raised limits read what a writer with that chunk size writes.
        let raised = Limits::for_chunk_size(WRITER_MAX_CHUNK_SIZE);
        assert_eq!(
            raised.max_decoded_size,
            decoded_size_budget(WRITER_MAX_CHUNK_SIZE)
        );
        assert_eq!(raised.max_decoded_size, 256 << 20);
    }
}
