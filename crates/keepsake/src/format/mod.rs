//! The byte layout of an archive: the [header](Header) with its key slot
//! entries (spec §3, §4.1), [frame headers](FrameHeader) and chunk kinds (§5.1,
//! §6.1), and the [trailer](Trailer) (§6.6.1). Everything that knows an offset
//! or a field width lives here; the cryptography that fills the fields lives in
//! [`crate::crypto`], and chunk bodies other than the trailer in [`crate::body`].
//!
//! Parsing here is structural only: it needs no key. Authentication (the
//! header MAC, the frame AEAD) happens in [`crate::crypto`].

use sha2::{Digest, Sha256};

mod frame;
mod header;
mod trailer;

pub use frame::{ChunkKind, FLAG_COMPRESSED, FLAG_FINAL, FrameHeader};
pub use header::{Header, HeaderLen, Prelude, SlotEntry};
pub use trailer::{SIGNATURE_BLOCK_LEN, SIGNATURE_NONE, TRAILER_SIGNATURE_AT, Trailer};

/// The eight bytes every archive starts with (spec §3.1). Like PNG's
/// signature, the high-bit byte and the CR LF / SUB / LF tail catch 7-bit
/// channels and newline translation.
pub const MAGIC: [u8; 8] = [0x89, b'K', b'S', b'K', b'\r', b'\n', 0x1A, b'\n'];

/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u16 = 1;

/// Length of the magic and version: what a reader must see before it can
/// tell whether it understands the rest.
pub const VERSIONED_PREFIX_LEN: usize = 10;

/// Cipher suite 1: HKDF-SHA256, HMAC-SHA256, ChaCha20-Poly1305, zstd.
pub const SUITE_V1: u16 = 1;

/// Length of the archive salt.
pub const SALT_LEN: usize = 32;

/// Length of the prelude: the header fields the body binds (spec §3.1).
pub const PRELUDE_LEN: usize = 52;

/// Length of the fixed header part: prelude, slot table length and its check
/// value. The slot table, its own check value and the MAC follow.
pub const FIXED_HEADER_LEN: usize = 58;

/// Length of a check value: the first bytes of SHA-256 over the fields it
/// protects, so that damage to a length field reads as damage, not truncation.
pub const CHECK_LEN: usize = 4;

/// Length of the header MAC (HMAC-SHA256).
pub const MAC_LEN: usize = 32;

/// Length of a frame header (spec §5.1).
pub const FRAME_HEADER_LEN: usize = 18;

/// Length of the Poly1305 tag that ends every frame's ciphertext.
pub const TAG_LEN: usize = 16;

/// Exact length of the trailer body (spec §6.6); it is stored uncompressed, so
/// a seekable reader finds the final frame at a fixed distance from the end.
pub const TRAILER_LEN: usize = 512;

/// Length of the final frame: header, trailer body, tag.
pub const FINAL_FRAME_LEN: usize = FRAME_HEADER_LEN + TRAILER_LEN + TAG_LEN;

/// Length of a slot entry's fixed part: kind, body length, name length.
pub const SLOT_ENTRY_FIXED_LEN: usize = 5;

/// Key slot kinds (spec §4). Readers skip kinds they do not know.
pub mod slot_kind {
    /// A raw 32-byte key, as messaging SDKs hand over (spec §4.2).
    pub const RAW_KEY: u16 = 0x0001;
    /// Reserved: a passphrase stretched with Argon2id.
    pub const PASSPHRASE: u16 = 0x0002;
    /// Reserved: an X25519 recipient.
    pub const X25519: u16 = 0x0003;
}

/// Length of a raw-key slot body: salt, check value, wrapped file key.
pub const RAW_SLOT_LEN: usize = RAW_SLOT_SALT_LEN + RAW_SLOT_CHECK_LEN + WRAPPED_KEY_LEN;
/// Length of the per-slot salt in a raw-key slot.
pub const RAW_SLOT_SALT_LEN: usize = 16;
/// Length of the key-check value in a raw-key slot.
pub const RAW_SLOT_CHECK_LEN: usize = 16;
/// Length of a wrapped file key: 32 bytes of key and a 16-byte tag.
pub const WRAPPED_KEY_LEN: usize = 32 + TAG_LEN;

/// The first `CHECK_LEN` bytes of SHA-256 over `bytes`.
pub fn check_value(bytes: &[u8]) -> [u8; CHECK_LEN] {
    let digest = Sha256::digest(bytes);
    let mut check = [0; CHECK_LEN];
    check.copy_from_slice(&digest[..CHECK_LEN]);
    check
}

pub(crate) fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

pub(crate) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

pub(crate) fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"))
}

/// The page batch layout (spec §6.4): a fixed part, then entries of a page
/// number and one page of content each.
pub mod page_batch {
    /// Length of the fixed part: `page_size` u32le at 0, `database_pages` u32le at 4.
    pub const FIXED_LEN: usize = 8;
    /// Offset of `page_size`.
    pub const PAGE_SIZE_AT: usize = 0;
    /// Offset of `database_pages`.
    pub const DATABASE_PAGES_AT: usize = 4;
    /// Length of an entry's page number (u32le), which the page content follows.
    pub const PAGE_NUMBER_LEN: usize = 4;
    /// The smallest page size SQLite uses.
    pub const MIN_PAGE_SIZE: u32 = 512;
    /// The largest page size SQLite uses.
    pub const MAX_PAGE_SIZE: u32 = 65536;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn slot() -> impl Strategy<Value = SlotEntry> {
        (any::<u16>(), "\\PC{0,12}", vec(any::<u8>(), 0..100))
            .prop_map(|(kind, name, body)| SlotEntry { kind, name, body })
    }

    fn header() -> impl Strategy<Value = Header> {
        (
            4096u32..,
            any::<[u8; 32]>(),
            vec(slot(), 1..5),
            any::<[u8; 32]>(),
            any::<u32>(),
        )
            .prop_map(|(max_chunk_size, salt, slots, mac, record)| Header {
                prelude: Prelude {
                    suite: SUITE_V1,
                    max_chunk_size,
                    max_record_size: 1 + record % max_chunk_size,
                    salt,
                },
                slots,
                mac,
            })
    }

    proptest! {
        #[test]
        fn headers_round_trip_byte_for_byte(header in header()) {
            let bytes = header.to_bytes().unwrap();
            prop_assert_eq!(Header::measure(&bytes).unwrap(), HeaderLen::Exactly(bytes.len()));
            let parsed = Header::parse(&bytes).unwrap();
            prop_assert_eq!(&parsed, &header);
            prop_assert_eq!(parsed.to_bytes().unwrap(), bytes);
        }

        #[test]
        fn a_header_prefix_never_measures_as_complete(header in header(), cut in 0usize..200) {
            let bytes = header.to_bytes().unwrap();
            let cut = cut.min(bytes.len() - 1);
            match Header::measure(&bytes[..cut]) {
                Ok(HeaderLen::AtLeast(need)) => prop_assert!(need > cut),
                Ok(HeaderLen::Exactly(len)) => prop_assert_eq!(len, bytes.len()),
                Err(error) => prop_assert!(false, "prefix of {} bytes: {:?}", cut, error),
            }
        }

        #[test]
        fn frame_headers_round_trip(kind in any::<u8>(), flags in 0u8..4, stored_len in 16u32..100_000, chunk in any::<u64>()) {
            let frame = FrameHeader { kind: ChunkKind(kind), flags, stored_len, chunk };
            let bytes = frame.to_bytes();
            prop_assert_eq!(FrameHeader::parse(&bytes, chunk, 100_000).unwrap(), frame);
        }

        #[test]
        fn a_damaged_frame_header_is_corrupt(stored_len in 16u32..1000, chunk in any::<u64>(), at in 0usize..FRAME_HEADER_LEN, bit in 0u8..8) {
            let frame = FrameHeader { kind: ChunkKind::RECORDS, flags: FLAG_COMPRESSED, stored_len, chunk };
            let mut bytes = frame.to_bytes();
            bytes[at] ^= 1 << bit;
            let is_corrupt = matches!(
                FrameHeader::parse(&bytes, chunk, 100_000),
                Err(Error::Corrupt { chunk: c, .. }) if c == chunk
            );
            prop_assert!(is_corrupt);
        }

        #[test]
        fn trailers_round_trip(counts in any::<[u64; 8]>(), range in proptest::option::of(any::<(i64, i64)>()), digest in any::<[u8; 32]>()) {
            let trailer = Trailer {
                chunk_count: counts[0],
                conversations: counts[1],
                messages: counts[2],
                consent: counts[3],
                pages: counts[4],
                plaintext_bytes: counts[5],
                time_range: range.map(|(a, b)| (a.min(b), a.max(b))),
                content_digest: digest,
                index_chunk: counts[6],
                index_offset: counts[7],
                signature: [0; SIGNATURE_BLOCK_LEN],
            };
            prop_assert_eq!(Trailer::parse(&trailer.to_bytes(), 0).unwrap(), trailer);
        }
    }

    #[test]
    fn the_magic_is_checked_before_anything_else() {
        assert!(matches!(
            Header::measure(b"PK\x03\x04"),
            Err(Error::NotAnArchive)
        ));
        assert_eq!(
            Header::measure(&MAGIC[..3]).unwrap(),
            HeaderLen::AtLeast(10)
        );
    }

    #[test]
    fn a_future_version_is_reported_as_such() {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&2u16.to_le_bytes());
        assert!(matches!(
            Header::measure(&bytes),
            Err(Error::UnsupportedVersion { version: 2 })
        ));
    }
}
