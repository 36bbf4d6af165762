//! Frame headers (spec §5.1) and the chunk kinds they name (§6.1).

use super::{FRAME_HEADER_LEN, TAG_LEN, check_value, u32_at, u64_at};
use crate::error::{Error, Result};

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
    /// The salvage record; ignorable, written by salvage as chunk 1.
    pub const SALVAGE: ChunkKind = ChunkKind(0x82);

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
            ChunkKind::SALVAGE => "salvage record",
            kind if kind.is_ignorable() => "unknown (ignorable)",
            _ => "unknown (critical)",
        }
    }
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
