//! Editing an archive's key slots without re-encrypting it (spec §4.6): the
//! header is opened, rewritten with a changed slot table and a new MAC, and
//! every byte after it is copied as it is.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use rand::{CryptoRng, RngCore};

use crate::crypto::{FileKey, HeaderKeys, Identity, open_file_key};
use crate::error::{Error, Result};
use crate::format::{Header, HeaderLen, SlotEntry, slot_kind};
use crate::slots::{Recipient, seal_slot};

/// The largest header read for editing: a slot table is at most 64 KiB.
const MAX_HEADER_LEN: usize = 1 << 17;

/// One key slot as `list_slots` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotInfo {
    /// Position in the slot table, from 0.
    pub index: usize,
    /// The slot kind (spec §4.5); unknown kinds are listed too.
    pub kind: u16,
    /// The slot's name; may be empty.
    pub name: String,
}

impl SlotInfo {
    /// The kind in words: `raw-key`, `passphrase`, `x25519`, or `unknown`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            slot_kind::RAW_KEY => "raw-key",
            slot_kind::PASSPHRASE => "passphrase",
            slot_kind::X25519 => "x25519",
            _ => "unknown",
        }
    }
}

/// Which slot `remove_slot` removes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotSelector {
    /// The slot at this index.
    Index(usize),
    /// The one slot with this name; several slots of that name is an error.
    Name(String),
}

/// Reads the whole header at the start of `source`.
fn read_header(source: &mut impl Read) -> Result<(Header, Vec<u8>)> {
    let mut bytes = Vec::new();
    loop {
        match Header::measure(&bytes)? {
            HeaderLen::Exactly(len) if len <= bytes.len() => {
                let header = Header::parse(&bytes[..len])?;
                return Ok((header, bytes));
            }
            HeaderLen::AtLeast(need) | HeaderLen::Exactly(need) => {
                if need > MAX_HEADER_LEN {
                    return Err(Error::header("the header is longer than any valid header"));
                }
                let start = bytes.len();
                bytes.resize(need, 0);
                source.read_exact(&mut bytes[start..]).map_err(|error| {
                    if error.kind() == io::ErrorKind::UnexpectedEof {
                        Error::Truncated {
                            offset: start as u64,
                        }
                    } else {
                        Error::Io(error)
                    }
                })?;
            }
        }
    }
}

/// Opens `archive`'s header with `identities`, checking its MAC.
fn open(archive: &Path, identities: &[Identity]) -> Result<(Header, FileKey, BufReader<File>)> {
    let mut file = BufReader::new(File::open(archive)?);
    let (header, _) = read_header(&mut file)?;
    let file_key = open_file_key(&header, identities)?;
    HeaderKeys::derive(&file_key, &header.prelude).check_mac(&header)?;
    Ok((header, file_key, file))
}

/// Lists `archive`'s key slots, once one of `identities` has opened its header.
pub fn list_slots(archive: &Path, identities: &[Identity]) -> Result<Vec<SlotInfo>> {
    let (header, _, _) = open(archive, identities)?;
    Ok(infos(&header))
}

fn infos(header: &Header) -> Vec<SlotInfo> {
    header
        .slots
        .iter()
        .enumerate()
        .map(|(index, slot)| SlotInfo {
            index,
            kind: slot.kind,
            name: slot.name.clone(),
        })
        .collect()
}

/// Writes a copy of `archive` to `out` with a slot for `recipient` added at
/// the end of the slot table. The body is copied byte for byte. Returns the
/// new slot table.
pub fn add_slot(
    archive: &Path,
    out: &Path,
    identities: &[Identity],
    recipient: &Recipient,
) -> Result<Vec<SlotInfo>> {
    add_slot_with_rng(archive, out, identities, recipient, &mut rand::rngs::OsRng)
}

fn add_slot_with_rng(
    archive: &Path,
    out: &Path,
    identities: &[Identity],
    recipient: &Recipient,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Vec<SlotInfo>> {
    let (mut header, file_key, rest) = open(archive, identities)?;
    let slot = seal_slot(recipient, &file_key, rng)?;
    header.slots.push(slot);
    rewrite(header, &file_key, rest, out)
}

/// Writes a copy of `archive` to `out` without the selected slot. Removing
/// the last slot is refused: nothing could open the result. Returns the new
/// slot table.
///
/// Removing a slot does not revoke a key: anyone who kept a copy of the old
/// archive, or the file key, can still read this one.
pub fn remove_slot(
    archive: &Path,
    out: &Path,
    identities: &[Identity],
    which: &SlotSelector,
) -> Result<Vec<SlotInfo>> {
    let (mut header, file_key, rest) = open(archive, identities)?;
    let index = match which {
        SlotSelector::Index(index) => {
            if *index >= header.slots.len() {
                return Err(Error::invalid(format!(
                    "there is no slot {index}; the archive has {} slots (0 to {})",
                    header.slots.len(),
                    header.slots.len() - 1
                )));
            }
            *index
        }
        SlotSelector::Name(name) => {
            let matching: Vec<usize> = header
                .slots
                .iter()
                .enumerate()
                .filter(|(_, slot)| &slot.name == name)
                .map(|(index, _)| index)
                .collect();
            match matching.as_slice() {
                [index] => *index,
                [] => return Err(Error::invalid(format!("no slot is named {name:?}"))),
                _ => {
                    return Err(Error::invalid(format!(
                        "{} slots are named {name:?}; remove one by its index",
                        matching.len()
                    )));
                }
            }
        }
    };
    if header.slots.len() == 1 {
        return Err(Error::invalid(
            "this is the archive's only key slot; removing it would leave an archive nobody can open",
        ));
    }
    let removed: SlotEntry = header.slots.remove(index);
    drop(removed);
    rewrite(header, &file_key, rest, out)
}

/// Seals `header` under `file_key` and writes it, then every byte of `rest`,
/// to a temporary file beside `out`, renamed to `out` once complete. An
/// existing `out` is never replaced.
fn rewrite(
    mut header: Header,
    file_key: &FileKey,
    mut rest: impl Read,
    out: &Path,
) -> Result<Vec<SlotInfo>> {
    if std::fs::symlink_metadata(out).is_ok() {
        return Err(Error::invalid(format!(
            "{} already exists; choose another name or remove it first",
            out.display()
        )));
    }
    let keys = HeaderKeys::derive(file_key, &header.prelude);
    header.mac = keys.mac(&header)?;
    let bytes = header.to_bytes()?;
    let directory = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".keepsake-")
        .suffix(".partial")
        .tempfile_in(directory)?;
    {
        let mut sink = BufWriter::with_capacity(1 << 16, temp.as_file_mut());
        sink.write_all(&bytes)?;
        io::copy(&mut rest, &mut sink)?;
        sink.flush()?;
    }
    temp.as_file().sync_all()?;
    temp.persist_noclobber(out)
        .map_err(|error| Error::Io(error.error))?;
    Ok(infos(&header))
}
