//! `keepsake slots list|add|remove`: see and change who can open an archive
//! without re-encrypting it (spec §4.6).

use std::borrow::Cow;

use keepsake::storage::write_then_commit;

use serde::Serialize;

use keepsake::{Argon2Params, Recipient, SlotSelector};

use super::exit::{Direction, Failure};
use super::keys::{OpenWith, parse_recipient, passphrase_from_env};
use super::location::Archive;
use super::{Report, library_failure};

/// The one slot `slots add` adds.
#[derive(Debug)]
pub enum NewSlot {
    KeyFile(std::path::PathBuf),
    PassphraseEnv(String),
    Recipient(String),
}

#[derive(Serialize)]
struct SlotJson {
    index: usize,
    kind: &'static str,
    kind_id: u16,
    name: String,
}

#[derive(Serialize)]
struct ListJson<'a> {
    ok: bool,
    command: &'static str,
    archive: Cow<'a, str>,
    slots: Vec<SlotJson>,
}

/// `keepsake slots list`.
pub fn list(archive: &Archive, open_with: &OpenWith) -> Result<Report, Failure> {
    let identities = open_with.identities()?;
    // The header only: a ranged read, not the whole archive.
    let source = archive.ranged()?;
    let slots = keepsake::read_slots(source, &identities).map_err(|error| {
        library_failure(error, Direction::Reading, format!("cannot read {archive}"))
    })?;
    let mut human = format!("{archive} has {} key slots\n", slots.len());
    human.push_str("  index  kind        name\n");
    for slot in &slots {
        let kind = if slot.kind_name() == "unknown" {
            format!("{:#06x}", slot.kind)
        } else {
            slot.kind_name().to_owned()
        };
        human.push_str(&format!(
            "  {:>5}  {:<10}  {}\n",
            slot.index, kind, slot.name
        ));
    }
    Report::new(
        human,
        &ListJson {
            ok: true,
            command: "slots list",
            archive: archive.name(),
            slots: slots
                .iter()
                .map(|slot| SlotJson {
                    index: slot.index,
                    kind: slot.kind_name(),
                    kind_id: slot.kind,
                    name: slot.name.clone(),
                })
                .collect(),
        },
    )
}

#[derive(Serialize)]
struct EditJson<'a> {
    ok: bool,
    command: &'static str,
    archive: Cow<'a, str>,
    out: Cow<'a, str>,
    key_slots: usize,
    /// Whether a key that opened the original is shut out of the copy: never,
    /// for a slot edit, which keeps the file key (spec §4.6, §11.3).
    revokes: bool,
}

/// What `slots remove` does not do, said where the user reads it.
const NOT_A_REVOCATION: &str = "this does not revoke the removed key: the file key is unchanged, so the removed key still opens\n\
     the original and every other copy, and whoever kept the file key or an old copy can read this one.\n\
     To shut a key out, make a copy under a new file key: `keepsake rekey`\n";

fn edited(
    command: &'static str,
    archive: &Archive,
    out: &Archive,
    key_slots: usize,
    done: &str,
) -> Result<Report, Failure> {
    let mut human = format!(
        "wrote {out}: {done}; it now has {key_slots} key slots\n\
         (the original {archive} is unchanged)\n"
    );
    if command == "slots remove" {
        human.push_str(NOT_A_REVOCATION);
    }
    Report::new(
        human,
        &EditJson {
            ok: true,
            command,
            archive: archive.name(),
            out: out.name(),
            key_slots,
            revokes: false,
        },
    )
}

/// Copies `archive` to a new archive at `out` with its slot table changed:
/// the header rewritten, the body streamed through untouched.
fn edit(
    archive: &Archive,
    out: &Archive,
    identities: &[keepsake::Identity],
    change: &keepsake::SlotChange,
    what: &str,
) -> Result<Vec<keepsake::SlotInfo>, Failure> {
    let mut sink = out.sink(
        false,
        "slots never replaces a file",
        "choose another --out; replace the old archive yourself once the new one is checked",
    )?;
    let source = archive.stream()?;
    write_then_commit(&mut sink, |sink| {
        Ok(keepsake::edit_slots(source, identities, change, sink)?.1)
    })
    .map_err(|error| {
        library_failure(
            error,
            Direction::Reading,
            format!("cannot {what} {archive}"),
        )
    })
}

/// `keepsake slots add`.
pub fn add(
    archive: &Archive,
    out: &Archive,
    open_with: &OpenWith,
    new: &NewSlot,
    name: Option<&str>,
) -> Result<Report, Failure> {
    archive.check_readable()?;
    let identities = open_with.identities()?;
    let recipient = match new {
        NewSlot::KeyFile(path) => Recipient::raw_key(super::keys::read_new_key(path)?),
        NewSlot::PassphraseEnv(var) => {
            Recipient::passphrase(passphrase_from_env(var)?, Argon2Params::DEFAULT)
        }
        NewSlot::Recipient(text) => Recipient::x25519(parse_recipient(text)?),
    }
    .named(name.unwrap_or_default());
    let change = keepsake::SlotChange::Add(recipient);
    let slots = edit(archive, out, &identities, &change, "add a slot to")?;
    edited("slots add", archive, out, slots.len(), "added a key slot")
}

/// `keepsake slots remove`.
pub fn remove(
    archive: &Archive,
    out: &Archive,
    open_with: &OpenWith,
    which: &SlotSelector,
) -> Result<Report, Failure> {
    archive.check_readable()?;
    let identities = open_with.identities()?;
    let change = keepsake::SlotChange::Remove(which.clone());
    let slots = edit(archive, out, &identities, &change, "remove a slot from")?;
    let what = match which {
        SlotSelector::Index(index) => format!("removed key slot {index}"),
        SlotSelector::Name(name) => format!("removed the key slot named {name:?}"),
    };
    edited("slots remove", archive, out, slots.len(), &what)
}
