//! The trailer body (spec §6.6.1): fixed-size and never compressed.

use super::{TRAILER_LEN, u64_at};
use crate::error::{Error, Result};

/// Signature scheme byte in the trailer: the archive is not signed.
pub const SIGNATURE_NONE: u8 = 0;

/// Length of the trailer's signature block: scheme, public key, signature.
pub const SIGNATURE_BLOCK_LEN: usize = 1 + 32 + 64;

/// Offset of the signature block in the trailer body; a signature covers the
/// trailer bytes before it.
pub const TRAILER_SIGNATURE_AT: usize = 120;

/// The final chunk's body (spec §6.6): what the archive commits to as a whole.
///
/// Fixed-size and never compressed, so a seekable reader finds the final frame
/// at a known distance from the end of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trailer {
    /// The number of chunks before the final one (the final chunk's own index).
    pub chunk_count: u64,
    /// Conversation records in the archive.
    pub conversations: u64,
    /// Message records in the archive.
    pub messages: u64,
    /// Consent records in the archive.
    pub consent: u64,
    /// SQLite pages in the archive (page mode; zero in row mode).
    pub pages: u64,
    /// The sum of the decompressed body lengths of every chunk before the final one.
    pub plaintext_bytes: u64,
    /// The earliest and latest message `sent_at_ns`, if there are messages.
    pub time_range: Option<(i64, i64)>,
    /// SHA-256 over every chunk before the final one, each as kind byte,
    /// body length (u32 little-endian) and decompressed body.
    pub content_digest: [u8; 32],
    /// The index of the seek-index chunk, or zero when there is none.
    pub index_chunk: u64,
    /// The byte offset of the seek-index chunk's frame, or zero when there is none.
    pub index_offset: u64,
    /// The signature block: scheme byte, then scheme-specific bytes; all zero
    /// when the archive is unsigned.
    pub signature: [u8; SIGNATURE_BLOCK_LEN],
}

impl Trailer {
    /// The trailer body's 512 bytes.
    pub fn to_bytes(&self) -> [u8; TRAILER_LEN] {
        let mut out = [0; TRAILER_LEN];
        out[0..8].copy_from_slice(&self.chunk_count.to_le_bytes());
        out[8..16].copy_from_slice(&self.conversations.to_le_bytes());
        out[16..24].copy_from_slice(&self.messages.to_le_bytes());
        out[24..32].copy_from_slice(&self.consent.to_le_bytes());
        out[32..40].copy_from_slice(&self.pages.to_le_bytes());
        out[40..48].copy_from_slice(&self.plaintext_bytes.to_le_bytes());
        if let Some((first, last)) = self.time_range {
            out[48] = 1;
            out[56..64].copy_from_slice(&first.to_le_bytes());
            out[64..72].copy_from_slice(&last.to_le_bytes());
        }
        out[72..104].copy_from_slice(&self.content_digest);
        out[104..112].copy_from_slice(&self.index_chunk.to_le_bytes());
        out[112..120].copy_from_slice(&self.index_offset.to_le_bytes());
        out[TRAILER_SIGNATURE_AT..TRAILER_SIGNATURE_AT + SIGNATURE_BLOCK_LEN]
            .copy_from_slice(&self.signature);
        out
    }

    /// Parses a trailer body found in chunk `chunk`. The body has already
    /// authenticated, so a rule broken here is a writer's bug, reported as damage.
    pub fn parse(bytes: &[u8], chunk: u64) -> Result<Trailer> {
        let bytes: &[u8; TRAILER_LEN] = bytes.try_into().map_err(|_| {
            Error::corrupt(
                chunk,
                format!(
                    "the trailer is {} bytes long instead of {TRAILER_LEN}",
                    bytes.len()
                ),
            )
        })?;
        let time_range = match bytes[48] {
            0 if bytes[49..72].iter().all(|&b| b == 0) => None,
            1 if bytes[49..56].iter().all(|&b| b == 0) => {
                let first = u64_at(bytes, 56) as i64;
                let last = u64_at(bytes, 64) as i64;
                if first > last {
                    return Err(Error::corrupt(
                        chunk,
                        "the trailer's time range is reversed",
                    ));
                }
                Some((first, last))
            }
            _ => {
                return Err(Error::corrupt(
                    chunk,
                    "the trailer's time range is malformed",
                ));
            }
        };
        Ok(Trailer {
            chunk_count: u64_at(bytes, 0),
            conversations: u64_at(bytes, 8),
            messages: u64_at(bytes, 16),
            consent: u64_at(bytes, 24),
            pages: u64_at(bytes, 32),
            plaintext_bytes: u64_at(bytes, 40),
            time_range,
            content_digest: bytes[72..104].try_into().expect("32 bytes"),
            index_chunk: u64_at(bytes, 104),
            index_offset: u64_at(bytes, 112),
            signature: bytes[TRAILER_SIGNATURE_AT..TRAILER_SIGNATURE_AT + SIGNATURE_BLOCK_LEN]
                .try_into()
                .expect("97 bytes"),
        })
    }
}
