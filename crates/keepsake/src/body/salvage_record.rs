//! The salvage record (chunk kind 0x82, spec §6.7): what an archive written
//! by salvage says about the damaged archive it came from.
//!
//! It is ignorable: a reader that does not know it skips it, and one that
//! does reports it but never fails an archive because of its content.

use serde::{Deserialize, Serialize};

use crate::body::records::{ArchiveMetadata, decode_exact, encode_into};
use crate::error::Result;

/// The body of a salvage record, one canonical postcard value (spec §6.7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalvageRecord {
    /// The damaged archive's metadata chunk (its creator, creation time,
    /// requested elements and time range), or `None` when it was lost.
    pub original: Option<ArchiveMetadata>,
    /// How many chunks the damaged archive had, final one included, when its
    /// trailer was recovered.
    pub chunks_expected: Option<u64>,
    /// How many of its chunks authenticated.
    pub chunks_recovered: u64,
    /// The indexes of the chunks lost, ascending, as far as they can be named.
    pub lost_chunks: Vec<u64>,
    /// Where the damaged archive ended before its final chunk, if it did.
    pub truncated_at: Option<u64>,
    /// Bytes after its final chunk, left out.
    pub trailing_bytes: u64,
    /// Messages that authenticated but were dropped because their
    /// conversation record was lost.
    pub messages_dropped: u64,
}

impl SalvageRecord {
    /// The canonical body.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        encode_into(self, &mut body)?;
        Ok(body)
    }

    /// Decodes a body; `None` unless it is exactly one canonical value.
    pub fn decode(body: &[u8]) -> Option<SalvageRecord> {
        decode_exact(body, 1, "the salvage record").ok()
    }

    /// Whether the salvage lost nothing.
    pub fn is_complete(&self) -> bool {
        self.original.is_some()
            && self.lost_chunks.is_empty()
            && self.truncated_at.is_none()
            && self.messages_dropped == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::records::{ArchiveMode, Elements};
    use proptest::prelude::*;

    fn record() -> impl Strategy<Value = SalvageRecord> {
        (
            proptest::option::of((any::<i64>(), any::<bool>(), any::<bool>(), ".{0,20}")),
            proptest::option::of(any::<u64>()),
            any::<u64>(),
            proptest::collection::vec(any::<u64>(), 0..8),
            proptest::option::of(any::<u64>()),
            any::<u64>(),
            any::<u64>(),
        )
            .prop_map(
                |(original, expected, recovered, lost, truncated, trailing, dropped)| {
                    SalvageRecord {
                        original: original.map(|(at, messages, consent, creator)| {
                            ArchiveMetadata {
                                mode: ArchiveMode::Records,
                                created_at_ns: at,
                                elements: Elements { messages, consent },
                                start_ns: None,
                                end_ns: Some(at),
                                creator,
                            }
                        }),
                        chunks_expected: expected,
                        chunks_recovered: recovered,
                        lost_chunks: lost,
                        truncated_at: truncated,
                        trailing_bytes: trailing,
                        messages_dropped: dropped,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn round_trips_and_refuses_anything_but_one_canonical_value(
            record in record(),
            extra in any::<u8>(),
        ) {
            let body = record.encode().unwrap();
            prop_assert_eq!(SalvageRecord::decode(&body), Some(record));
            let mut longer = body.clone();
            longer.push(extra);
            prop_assert_eq!(SalvageRecord::decode(&longer), None);
            prop_assert_eq!(SalvageRecord::decode(&body[..body.len() - 1]), None);
        }
    }
}
