//! What opening a header yields (spec §4.5.3): the file key, bound to the
//! prelude it was recovered under, and the kind of slot that gave it up.
//!
//! Offered back as [`Identity::Opened`](crate::crypto::Identity::Opened), an
//! [`OpenedKey`] opens the same archive again without repeating the slot
//! work, so a command that reads a header twice (a summary for progress
//! totals, then the full read) runs Argon2id once (spec §4.5.1).

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::keys::{FileKey, KEY_LEN, derive_key};
use crate::format::{PRELUDE_LEN, Prelude, slot_kind};

/// HKDF `info` for the file-key commitment that signature scheme 2 signs
/// (spec §6.6.3).
pub const LABEL_FILE_KEY_COMMITMENT: &[u8] = b"keepsake/v1/signature/file-key-commitment";

/// Which kind of key slot gave up the file key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpenedWith {
    /// A raw-key slot (kind 0x0001).
    RawKey,
    /// A passphrase slot (kind 0x0002).
    Passphrase,
    /// An X25519 recipient slot (kind 0x0003).
    X25519,
}

impl OpenedWith {
    /// The slot kind's word, as `slots list` shows it: `raw-key`,
    /// `passphrase`, `x25519`.
    pub fn word(&self) -> &'static str {
        match self {
            OpenedWith::RawKey => "raw-key",
            OpenedWith::Passphrase => "passphrase",
            OpenedWith::X25519 => "x25519",
        }
    }

    /// Whether writing an archive that opens this way takes a secret. A raw
    /// key or a passphrase is shared only with whom its holder chose; an
    /// X25519 recipient string is public, so anyone who knows it can write an
    /// archive its identity opens (spec §11.3).
    pub fn needs_a_secret_to_write(&self) -> bool {
        !matches!(self, OpenedWith::X25519)
    }

    pub(crate) fn of_slot_kind(kind: u16) -> Option<OpenedWith> {
        match kind {
            slot_kind::RAW_KEY => Some(OpenedWith::RawKey),
            slot_kind::PASSPHRASE => Some(OpenedWith::Passphrase),
            slot_kind::X25519 => Some(OpenedWith::X25519),
            _ => None,
        }
    }
}

/// The file key recovered from one archive's header, with the prelude it
/// belongs to and the kind of slot that gave it up. Zeroized on drop; never
/// printed. It opens only an archive with the same prelude (salt included),
/// and the header MAC still decides.
#[derive(Clone)]
pub struct OpenedKey {
    pub(crate) file_key: FileKey,
    pub(crate) prelude: [u8; PRELUDE_LEN],
    opened_with: OpenedWith,
}

impl OpenedKey {
    pub(crate) fn new(file_key: FileKey, prelude: &Prelude, opened_with: OpenedWith) -> Self {
        OpenedKey {
            file_key,
            prelude: prelude.to_bytes(),
            opened_with,
        }
    }

    /// Which kind of slot gave up the file key. An `OpenedKey` offered back
    /// keeps the kind of the slot that first opened the archive.
    pub fn opened_with(&self) -> OpenedWith {
        self.opened_with
    }

    /// Whether this key was recovered from a header with this prelude.
    pub(crate) fn belongs_to(&self, prelude: &Prelude) -> bool {
        bool::from(self.prelude.ct_eq(&prelude.to_bytes()))
    }

    /// What a signature over this archive binds besides its trailer (spec §6.6.3).
    pub fn signature_context(&self) -> SignatureContext {
        SignatureContext::new(&self.file_key, self.prelude)
    }
}

impl PartialEq for OpenedKey {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.file_key.bytes().ct_eq(other.file_key.bytes()))
            && self.prelude == other.prelude
            && self.opened_with == other.opened_with
    }
}

impl Eq for OpenedKey {}

impl fmt::Debug for OpenedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "OpenedKey(<redacted>, opened with {})",
            self.opened_with.word()
        )
    }
}

/// The prelude and the file-key commitment of one archive: what a
/// signature binds besides the trailer (spec §6.6.3). Only a holder of the
/// file key can compute the commitment.
#[derive(Clone)]
pub struct SignatureContext {
    pub(crate) prelude: [u8; PRELUDE_LEN],
    pub(crate) commitment: Zeroizing<[u8; KEY_LEN]>,
}

impl SignatureContext {
    /// `HKDF(file key, salt, "keepsake/v1/signature/file-key-commitment", 32)`.
    pub(crate) fn new(file_key: &FileKey, prelude: [u8; PRELUDE_LEN]) -> Self {
        let salt = &prelude[PRELUDE_LEN - crate::format::SALT_LEN..];
        SignatureContext {
            prelude,
            commitment: derive_key(file_key.bytes(), salt, &[LABEL_FILE_KEY_COMMITMENT]),
        }
    }

    /// The 52 prelude bytes.
    pub fn prelude(&self) -> &[u8; PRELUDE_LEN] {
        &self.prelude
    }

    /// The 32-byte file-key commitment: the test vectors build signed
    /// messages from it. It reveals nothing of the file key, but only key
    /// holders should see it.
    #[doc(hidden)]
    pub fn commitment(&self) -> &[u8; KEY_LEN] {
        &self.commitment
    }
}

impl fmt::Debug for SignatureContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SignatureContext(<redacted>)")
    }
}
