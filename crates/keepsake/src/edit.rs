//! Editing an archive's key slots without re-encrypting it (spec §4.6): the
//! header is opened, rewritten with a changed slot table and a new MAC, and
//! every byte after it is copied as it is.

#[cfg(feature = "fs")]
use std::fs::File;
#[cfg(feature = "fs")]
use std::io::BufReader;
use std::io::{self, Read, Write};
#[cfg(feature = "fs")]
use std::path::Path;

use rand::{CryptoRng, RngCore};

#[cfg(feature = "fs")]
use crate::atomic::write_new_file;
use crate::crypto::slots::{Recipient, seal_slot};
use crate::crypto::{FileKey, HeaderKeys, Identity, open_file_key};
use crate::error::{Error, Result};
use crate::format::{Header, HeaderLen, slot_kind};

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

/// Opens the header at the start of `source` with `identities`, checking its
/// MAC; `source` is left just after the header.
fn open(source: &mut impl Read, identities: &[Identity]) -> Result<(Header, FileKey)> {
    let (header, _) = read_header(source)?;
    let file_key = open_file_key(&header, identities)?.file_key;
    HeaderKeys::derive(&file_key, &header.prelude).check_mac(&header)?;
    Ok((header, file_key))
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

/// A change to an archive's slot table.
#[derive(Clone, Debug)]
pub enum SlotChange {
    /// Add a slot for this recipient at the end of the table.
    Add(Recipient),
    /// Remove the selected slot. Removing the last slot is refused: nothing
    /// could open the result.
    Remove(SlotSelector),
}

/// Lists the key slots of the archive at the start of `source`, once one of
/// `identities` has opened its header. Reads only the header.
pub fn read_slots(mut source: impl Read, identities: &[Identity]) -> Result<Vec<SlotInfo>> {
    let (header, _) = open(&mut source, identities)?;
    Ok(infos(&header))
}

/// Copies the archive read from `source` to `sink` with its slot table
/// changed: the header is opened with `identities`, rewritten with a new MAC,
/// and every byte after it copied as it is. Returns the sink and the new slot
/// table.
///
/// Removing a slot does not revoke a key: anyone who kept a copy of the old
/// archive, or its file key, can still read this one (spec §4.6, §11.3).
pub fn edit_slots<R: Read, W: Write>(
    mut source: R,
    identities: &[Identity],
    change: &SlotChange,
    sink: W,
) -> Result<(W, Vec<SlotInfo>)> {
    edit_slots_with_rng(
        &mut source,
        identities,
        change,
        sink,
        &mut rand::rngs::OsRng,
    )
}

fn edit_slots_with_rng<W: Write>(
    source: &mut impl Read,
    identities: &[Identity],
    change: &SlotChange,
    mut sink: W,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(W, Vec<SlotInfo>)> {
    let (mut header, file_key) = open(source, identities)?;
    match change {
        SlotChange::Add(recipient) => header.slots.push(seal_slot(recipient, &file_key, rng)?),
        SlotChange::Remove(which) => {
            let index = select(&header, which)?;
            header.slots.remove(index);
        }
    }
    let keys = HeaderKeys::derive(&file_key, &header.prelude);
    header.mac = keys.mac(&header)?;
    sink.write_all(&header.to_bytes()?)?;
    io::copy(source, &mut sink)?;
    sink.flush()?;
    Ok((sink, infos(&header)))
}

/// The index of the slot `which` selects, unless it is the only one.
fn select(header: &Header, which: &SlotSelector) -> Result<usize> {
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
    Ok(index)
}

/// Lists the key slots of the archive at `archive`.
#[cfg(feature = "fs")]
pub fn list_slots(archive: &Path, identities: &[Identity]) -> Result<Vec<SlotInfo>> {
    read_slots(BufReader::new(File::open(archive)?), identities)
}

/// Writes a copy of `archive` to `out` with a slot for `recipient` added at
/// the end of the slot table (see [`edit_slots`]). Returns the new slot table.
#[cfg(feature = "fs")]
pub fn add_slot(
    archive: &Path,
    out: &Path,
    identities: &[Identity],
    recipient: &Recipient,
) -> Result<Vec<SlotInfo>> {
    edit_file(
        archive,
        out,
        identities,
        &SlotChange::Add(recipient.clone()),
    )
}

/// Writes a copy of `archive` to `out` without the selected slot (see
/// [`edit_slots`]); this does not revoke the removed key. Returns the new
/// slot table.
#[cfg(feature = "fs")]
pub fn remove_slot(
    archive: &Path,
    out: &Path,
    identities: &[Identity],
    which: &SlotSelector,
) -> Result<Vec<SlotInfo>> {
    edit_file(archive, out, identities, &SlotChange::Remove(which.clone()))
}

/// [`edit_slots`] from the file `archive` into a new file `out`, written under
/// a temporary name and renamed once complete; an existing `out` is never
/// replaced.
#[cfg(feature = "fs")]
fn edit_file(
    archive: &Path,
    out: &Path,
    identities: &[Identity],
    change: &SlotChange,
) -> Result<Vec<SlotInfo>> {
    let source = BufReader::new(File::open(archive)?);
    // The sink is flushed with its errors reported, not on drop.
    write_new_file(out, |sink| {
        Ok(edit_slots(source, identities, change, sink)?.1)
    })
}
