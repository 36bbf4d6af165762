//! The byte layout of an archive: header, key slot entries and frame headers
//! (spec §3–§5). Everything that knows an offset or a field width lives here;
//! the cryptography that fills the fields lives in [`crate::crypto`].
//!
//! Parsing here is structural only: it needs no key. Authentication (the
//! header MAC, the frame AEAD) happens in [`crate::crypto`].

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

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

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"))
}

/// The header fields the body is bound to through the payload key (spec §3.1, §4.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prelude {
    /// Cipher suite identifier; always [`SUITE_V1`] once parsed.
    pub suite: u16,
    /// The largest decompressed chunk body in this archive.
    pub max_chunk_size: u32,
    /// The largest single encoded record in this archive.
    pub max_record_size: u32,
    /// The per-archive random salt.
    pub salt: [u8; SALT_LEN],
}

impl Prelude {
    /// Reads the prelude from the start of a header whose fixed part has
    /// passed [`Header::measure`], and checks its declared limits are sane.
    pub fn parse(bytes: &[u8]) -> Result<Prelude> {
        if bytes.len() < PRELUDE_LEN {
            return Err(Error::Truncated {
                offset: bytes.len() as u64,
            });
        }
        let prelude = Prelude {
            suite: u16_at(bytes, 10),
            max_chunk_size: u32_at(bytes, 12),
            max_record_size: u32_at(bytes, 16),
            salt: bytes[20..52].try_into().expect("32 bytes"),
        };
        if prelude.max_chunk_size < crate::limits::MIN_CHUNK_SIZE {
            return Err(Error::header(format!(
                "the declared maximum chunk size {} is below the minimum of {}",
                prelude.max_chunk_size,
                crate::limits::MIN_CHUNK_SIZE
            )));
        }
        if prelude.max_record_size == 0 || prelude.max_record_size > prelude.max_chunk_size {
            return Err(Error::header(format!(
                "the declared maximum record size {} is not between 1 and the maximum chunk size",
                prelude.max_record_size
            )));
        }
        Ok(prelude)
    }

    /// The prelude's 52 bytes, as they stand at offset 0.
    pub fn to_bytes(&self) -> [u8; PRELUDE_LEN] {
        let mut out = [0; PRELUDE_LEN];
        out[0..8].copy_from_slice(&MAGIC);
        out[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        out[10..12].copy_from_slice(&self.suite.to_le_bytes());
        out[12..16].copy_from_slice(&self.max_chunk_size.to_le_bytes());
        out[16..20].copy_from_slice(&self.max_record_size.to_le_bytes());
        out[20..52].copy_from_slice(&self.salt);
        out
    }
}

/// One key slot: a way of recovering the file key (spec §4.1).
///
/// Slots of kinds this crate does not know are kept as opaque bytes, so a tool
/// that rewrites the header keeps them intact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotEntry {
    /// The slot kind; see [`slot_kind`].
    pub kind: u16,
    /// A name for the key, UTF-8, at most 255 bytes; may be empty.
    pub name: String,
    /// The kind-specific body.
    pub body: Vec<u8>,
}

/// A parsed archive header: prelude, key slots and MAC (spec §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The fields the body is bound to.
    pub prelude: Prelude,
    /// The key slots, in order.
    pub slots: Vec<SlotEntry>,
    /// HMAC-SHA256 over everything before it, under the header MAC key.
    pub mac: [u8; MAC_LEN],
}

/// How far a header can be parsed from the bytes available.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderLen {
    /// At least this many bytes are needed to go on.
    AtLeast(usize),
    /// The whole header is this many bytes long.
    Exactly(usize),
}

impl Header {
    /// Checks the header prefix in `bytes` as far as it goes and says how long
    /// the header is, or how many bytes are needed to tell.
    ///
    /// The order of checks is the spec's (§7 steps 1–4): magic, version, the
    /// fixed check value, suite. A version mismatch is reported before anything
    /// else is interpreted, since a later version may lay out the rest differently.
    pub fn measure(bytes: &[u8]) -> Result<HeaderLen> {
        let magic_seen = bytes.len().min(MAGIC.len());
        if bytes[..magic_seen] != MAGIC[..magic_seen] {
            return Err(Error::NotAnArchive);
        }
        if bytes.len() < VERSIONED_PREFIX_LEN {
            return Ok(HeaderLen::AtLeast(VERSIONED_PREFIX_LEN));
        }
        let version = u16_at(bytes, 8);
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion { version });
        }
        if bytes.len() < FIXED_HEADER_LEN {
            return Ok(HeaderLen::AtLeast(FIXED_HEADER_LEN));
        }
        if check_value(&bytes[..54]) != bytes[54..58] {
            return Err(Error::header(
                "the fixed header fields fail their check value",
            ));
        }
        let suite = u16_at(bytes, 10);
        if suite != SUITE_V1 {
            return Err(Error::UnsupportedSuite { suite });
        }
        let slot_table_len = usize::from(u16_at(bytes, 52));
        Ok(HeaderLen::Exactly(
            FIXED_HEADER_LEN + slot_table_len + CHECK_LEN + MAC_LEN,
        ))
    }

    /// Parses a whole header. `bytes` must be exactly the header, as
    /// [`Header::measure`] reported its length.
    pub fn parse(bytes: &[u8]) -> Result<Header> {
        match Header::measure(bytes)? {
            HeaderLen::Exactly(len) if len == bytes.len() => {}
            HeaderLen::Exactly(len) => {
                return Err(Error::header(format!(
                    "the header is {len} bytes long but {} were given",
                    bytes.len()
                )));
            }
            HeaderLen::AtLeast(_) => {
                return Err(Error::Truncated {
                    offset: bytes.len() as u64,
                });
            }
        }
        let prelude = Prelude::parse(bytes)?;
        let table_end = bytes.len() - MAC_LEN - CHECK_LEN;
        let table = &bytes[FIXED_HEADER_LEN..table_end];
        if check_value(table) != bytes[table_end..table_end + CHECK_LEN] {
            return Err(Error::header("the key slot table fails its check value"));
        }
        let slots = parse_slot_table(table)?;
        let mac = bytes[bytes.len() - MAC_LEN..].try_into().expect("32 bytes");
        Ok(Header {
            prelude,
            slots,
            mac,
        })
    }

    /// The bytes the header MAC covers: everything but the MAC itself.
    pub fn authenticated_bytes(&self) -> Result<Vec<u8>> {
        let mut table = Vec::new();
        for slot in &self.slots {
            let body_len = u16::try_from(slot.body.len())
                .map_err(|_| Error::invalid("a key slot body is longer than 65535 bytes"))?;
            let name_len = u8::try_from(slot.name.len())
                .map_err(|_| Error::invalid("a key slot name is longer than 255 bytes"))?;
            table.extend_from_slice(&slot.kind.to_le_bytes());
            table.extend_from_slice(&body_len.to_le_bytes());
            table.push(name_len);
            table.extend_from_slice(slot.name.as_bytes());
            table.extend_from_slice(&slot.body);
        }
        if self.slots.is_empty() {
            return Err(Error::invalid("an archive needs at least one key slot"));
        }
        let table_len = u16::try_from(table.len())
            .map_err(|_| Error::invalid("the key slots take more than 65535 bytes"))?;
        let mut out = Vec::with_capacity(FIXED_HEADER_LEN + table.len() + CHECK_LEN + MAC_LEN);
        out.extend_from_slice(&self.prelude.to_bytes());
        out.extend_from_slice(&table_len.to_le_bytes());
        let fixed_check = check_value(&out);
        out.extend_from_slice(&fixed_check);
        out.extend_from_slice(&table);
        out.extend_from_slice(&check_value(&table));
        Ok(out)
    }

    /// The header's bytes as they stand in the file.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = self.authenticated_bytes()?;
        out.extend_from_slice(&self.mac);
        Ok(out)
    }
}

fn parse_slot_table(mut table: &[u8]) -> Result<Vec<SlotEntry>> {
    let mut slots = Vec::new();
    while !table.is_empty() {
        if table.len() < SLOT_ENTRY_FIXED_LEN {
            return Err(Error::header("a key slot entry is cut short"));
        }
        let kind = u16_at(table, 0);
        let body_len = usize::from(u16_at(table, 2));
        let name_len = usize::from(table[4]);
        let rest = &table[SLOT_ENTRY_FIXED_LEN..];
        if rest.len() < name_len + body_len {
            return Err(Error::header(
                "a key slot entry is longer than the slot table",
            ));
        }
        let name = std::str::from_utf8(&rest[..name_len])
            .map_err(|_| Error::header("a key slot name is not valid UTF-8"))?
            .to_owned();
        let body = rest[name_len..name_len + body_len].to_vec();
        slots.push(SlotEntry { kind, name, body });
        table = &rest[name_len + body_len..];
    }
    if slots.is_empty() {
        return Err(Error::header("the header has no key slots"));
    }
    Ok(slots)
}

/// A chunk kind byte (spec §6). Bit 7 set means ignorable: a reader that does
/// not know the kind skips the chunk; an unknown kind without it is an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkKind(pub u8);

impl ChunkKind {
    /// Archive metadata; always chunk 0.
    pub const METADATA: ChunkKind = ChunkKind(0x01);
    /// A batch of records (conversations, messages, consent).
    pub const RECORDS: ChunkKind = ChunkKind(0x02);
    /// A batch of SQLite database pages (snapshot mode).
    pub const PAGES: ChunkKind = ChunkKind(0x03);
    /// The trailer; always the final chunk.
    pub const TRAILER: ChunkKind = ChunkKind(0x04);
    /// The seek index; ignorable, so streaming readers may skip it.
    pub const INDEX: ChunkKind = ChunkKind(0x81);

    const IGNORABLE_BIT: u8 = 0x80;

    /// Whether a reader that does not know this kind may skip it.
    pub fn is_ignorable(self) -> bool {
        self.0 & Self::IGNORABLE_BIT != 0
    }

    /// A short lower-case name, for reports.
    pub fn name(self) -> &'static str {
        match self {
            ChunkKind::METADATA => "metadata",
            ChunkKind::RECORDS => "records",
            ChunkKind::PAGES => "pages",
            ChunkKind::TRAILER => "trailer",
            ChunkKind::INDEX => "index",
            kind if kind.is_ignorable() => "unknown (ignorable)",
            _ => "unknown (critical)",
        }
    }
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

/// Frame flag: this is the final frame (spec §5.1). Also carried in the nonce.
pub const FLAG_FINAL: u8 = 0x01;
/// Frame flag: the stored plaintext is a zstd stream.
pub const FLAG_COMPRESSED: u8 = 0x02;
const KNOWN_FLAGS: u8 = FLAG_FINAL | FLAG_COMPRESSED;

/// The 18-byte header in front of every frame's ciphertext (spec §5.1); the
/// AEAD's associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// What the chunk holds.
    pub kind: ChunkKind,
    /// [`FLAG_FINAL`] and [`FLAG_COMPRESSED`].
    pub flags: u8,
    /// Length of the ciphertext including its tag.
    pub stored_len: u32,
    /// The zero-based position of this frame in the archive.
    pub chunk: u64,
}

impl FrameHeader {
    /// Whether this is the final frame.
    pub fn is_final(&self) -> bool {
        self.flags & FLAG_FINAL != 0
    }

    /// Whether the stored plaintext is zstd-compressed.
    pub fn is_compressed(&self) -> bool {
        self.flags & FLAG_COMPRESSED != 0
    }

    /// The frame header's bytes, check value included.
    pub fn to_bytes(&self) -> [u8; FRAME_HEADER_LEN] {
        let mut out = [0; FRAME_HEADER_LEN];
        out[0] = self.kind.0;
        out[1] = self.flags;
        out[2..6].copy_from_slice(&self.stored_len.to_le_bytes());
        out[6..14].copy_from_slice(&self.chunk.to_le_bytes());
        let check = check_value(&out[..14]);
        out[14..18].copy_from_slice(&check);
        out
    }

    /// The chunk index a frame header states, unchecked: for a reader that
    /// finds the final frame by seeking to the end and so cannot expect one.
    pub fn stated_chunk(bytes: &[u8; FRAME_HEADER_LEN]) -> u64 {
        u64_at(bytes, 6)
    }

    /// Parses and checks a frame header found where chunk `expected` should be,
    /// in an archive whose chunks are at most `max_chunk_size` bytes (spec §7 step 9).
    pub fn parse(
        bytes: &[u8; FRAME_HEADER_LEN],
        expected: u64,
        max_chunk_size: u32,
    ) -> Result<FrameHeader> {
        if check_value(&bytes[..14]) != bytes[14..18] {
            return Err(Error::corrupt(
                expected,
                "the frame header fails its check value",
            ));
        }
        let header = FrameHeader {
            kind: ChunkKind(bytes[0]),
            flags: bytes[1],
            stored_len: u32_at(bytes, 2),
            chunk: u64_at(bytes, 6),
        };
        if header.chunk != expected {
            return Err(Error::corrupt(
                expected,
                format!(
                    "found chunk {} where chunk {expected} belongs (chunks reordered, dropped or duplicated)",
                    header.chunk
                ),
            ));
        }
        if header.flags & !KNOWN_FLAGS != 0 {
            return Err(Error::corrupt(
                expected,
                format!("unknown frame flags {:#04x}", header.flags),
            ));
        }
        if (header.stored_len as usize) < TAG_LEN {
            return Err(Error::corrupt(
                expected,
                "the frame is shorter than its tag",
            ));
        }
        crate::limits::Limits::check(
            crate::error::Limit::ChunkSize,
            u64::from(header.stored_len) - TAG_LEN as u64,
            u64::from(max_chunk_size),
        )?;
        Ok(header)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
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
