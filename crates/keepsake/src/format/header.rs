//! The header (spec §3): the prelude, the slot table of key slot entries
//! (§4.1), their check values and the MAC field.

use super::{
    CHECK_LEN, FIXED_HEADER_LEN, FORMAT_VERSION, MAC_LEN, MAGIC, PRELUDE_LEN, SALT_LEN,
    SLOT_ENTRY_FIXED_LEN, SUITE_V1, VERSIONED_PREFIX_LEN, check_value, u16_at, u32_at,
};
use crate::error::{Error, Result};

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
