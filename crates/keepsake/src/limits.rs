//! Size limits, set once and checked before every allocation that depends on
//! a length read from the input.

use crate::error::{Error, Limit, Result};

/// The largest chunk size any reader built with default limits accepts: 64 MiB.
pub const DEFAULT_MAX_CHUNK_SIZE: u32 = 64 << 20;

/// The smallest `max_chunk_size` a header may declare (spec §3.1): room for
/// the trailer and a metadata chunk.
pub const MIN_CHUNK_SIZE: u32 = 4096;

/// What a reader is prepared to accept from an archive's header.
///
/// An archive declares its own limits in its header; a reader refuses, with
/// [`Error::LimitExceeded`], a header that declares more than these, so a
/// hostile file can never make it allocate more than `max_chunk_size` (plus a
/// frame header and tag) for one chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest decompressed chunk body accepted.
    pub max_chunk_size: u32,
    /// The largest single encoded record accepted.
    pub max_record_size: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_chunk_size: DEFAULT_MAX_CHUNK_SIZE,
            max_record_size: DEFAULT_MAX_CHUNK_SIZE,
        }
    }
}

impl Limits {
    /// Checks a size against a limit, naming the limit in the error.
    pub(crate) fn check(what: Limit, value: u64, limit: u64) -> Result<()> {
        if value > limit {
            Err(Error::LimitExceeded { what, value, limit })
        } else {
            Ok(())
        }
    }
}
