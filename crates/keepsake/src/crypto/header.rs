//! Opening and sealing the header (spec §4.3, §4.4, §7.1 steps 6–7): which
//! identity opens which slot, the header MAC, and the keys derived from the
//! file key.

use chacha20poly1305::aead::KeyInit;
use chacha20poly1305::{ChaCha20Poly1305, Key};
use hmac::{Hmac, Mac};
use rand::{CryptoRng, RngCore};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::frame::PayloadCipher;
use super::keys::{ArchiveKey, FileKey, KEY_LEN, derive_key};
use super::opened::{OpenedKey, OpenedWith, SignatureContext};
use super::raw_slot::{SlotTry, check_raw_slot, try_raw_slot};
use super::slots::{
    MAX_PASSPHRASE_SLOTS, Passphrase, Recipient, X25519Identity, check_x25519_slot,
    passphrase_params, seal_slot, try_passphrase_slot, try_x25519_slot,
};
use crate::error::{Error, Limit, Result};
use crate::format::{Header, MAC_LEN, PRELUDE_LEN, Prelude, slot_kind};

/// HKDF `info` for the header MAC key (spec §4.3).
pub const LABEL_HEADER_MAC: &[u8] = b"keepsake/v1/header-mac";
/// HKDF `info` prefix for the payload key; the 52-byte prelude follows it (spec §4.4).
pub const LABEL_PAYLOAD: &[u8] = b"keepsake/v1/payload";

/// The ways of opening an archive a reader can offer.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Identity {
    /// A raw 32-byte key, matched against raw-key slots.
    RawKey(ArchiveKey),
    /// A passphrase, matched against passphrase slots.
    Passphrase(Passphrase),
    /// An X25519 secret key, matched against X25519 recipient slots.
    X25519(X25519Identity),
    /// The file key already recovered from this archive's header: opens it
    /// again with no slot work (no second Argon2id run).
    Opened(OpenedKey),
}

impl From<ArchiveKey> for Identity {
    fn from(key: ArchiveKey) -> Self {
        Identity::RawKey(key)
    }
}

impl From<Passphrase> for Identity {
    fn from(passphrase: Passphrase) -> Self {
        Identity::Passphrase(passphrase)
    }
}

impl From<OpenedKey> for Identity {
    fn from(opened: OpenedKey) -> Self {
        Identity::Opened(opened)
    }
}

impl From<X25519Identity> for Identity {
    fn from(identity: X25519Identity) -> Self {
        Identity::X25519(identity)
    }
}

/// Recovers the file key from the header's slots (spec §4.5.3, §7.1 steps
/// 5.6 and 6).
///
/// Every slot of a kind this reader implements is checked for its length
/// before any is tried, so a malformed table costs no key derivation. Then
/// every such slot is tried with every identity of its type, and the work is
/// done for every slot even after one opened, so the time taken does not
/// tell which slot matched. Passphrase slots are candidates only when a
/// passphrase is offered; those outside the Argon2 bounds, and those after the
/// first [`MAX_PASSPHRASE_SLOTS`] within them, are never computed. An
/// [`Identity::Opened`] for this prelude skips the slot work altogether.
pub(crate) fn open_file_key(header: &Header, identities: &[Identity]) -> Result<OpenedKey> {
    let mut known_slots = 0;
    for slot in &header.slots {
        match slot.kind {
            slot_kind::RAW_KEY => check_raw_slot(&slot.body)?,
            slot_kind::PASSPHRASE => {
                passphrase_params(&slot.body)?;
            }
            slot_kind::X25519 => check_x25519_slot(&slot.body)?,
            _ => continue,
        }
        known_slots += 1;
    }
    if known_slots == 0 {
        return Err(Error::NoSupportedSlot);
    }
    if let Some(opened) = identities.iter().find_map(|identity| match identity {
        Identity::Opened(opened) if opened.belongs_to(&header.prelude) => Some(opened),
        _ => None,
    }) {
        return Ok(opened.clone());
    }

    let passphrase_offered = identities
        .iter()
        .any(|identity| matches!(identity, Identity::Passphrase(_)));
    let mut found: Option<(FileKey, OpenedWith)> = None;
    let mut damaged = false;
    let mut skipped: Option<Error> = None;
    let mut passphrase_slots = 0;
    for slot in &header.slots {
        let Some(kind) = OpenedWith::of_slot_kind(slot.kind) else {
            continue;
        };
        let mut take = |file_key: FileKey| {
            found.get_or_insert((file_key, kind));
        };
        match kind {
            OpenedWith::RawKey => {
                for identity in identities {
                    let Identity::RawKey(key) = identity else {
                        continue;
                    };
                    match try_raw_slot(key, &slot.body)? {
                        SlotTry::Opened(file_key) => take(file_key),
                        SlotTry::Damaged => damaged = true,
                        SlotTry::NotOurs => {}
                    }
                }
            }
            // With no passphrase offered, passphrase slots are not candidates:
            // whatever their costs, the outcome is decided by the others
            // (spec §4.5.3).
            OpenedWith::Passphrase if !passphrase_offered => {}
            OpenedWith::Passphrase => {
                let params = passphrase_params(&slot.body)?;
                if let Err(error) = params.check() {
                    skipped.get_or_insert(error);
                    continue;
                }
                passphrase_slots += 1;
                if passphrase_slots > MAX_PASSPHRASE_SLOTS {
                    skipped.get_or_insert(Error::LimitExceeded {
                        what: Limit::PassphraseSlots,
                        value: passphrase_slots as u64,
                        limit: MAX_PASSPHRASE_SLOTS as u64,
                    });
                    continue;
                }
                for identity in identities {
                    let Identity::Passphrase(passphrase) = identity else {
                        continue;
                    };
                    if let Some(file_key) = try_passphrase_slot(passphrase, &slot.body, params) {
                        take(file_key);
                    }
                }
            }
            OpenedWith::X25519 => {
                for identity in identities {
                    let Identity::X25519(secret) = identity else {
                        continue;
                    };
                    if let Some(file_key) = try_x25519_slot(secret, &slot.body) {
                        take(file_key);
                    }
                }
            }
        }
    }
    match found {
        Some((file_key, kind)) => Ok(OpenedKey::new(file_key, &header.prelude, kind)),
        None if damaged => Err(Error::header(
            "the key slot for this key is damaged (its check value matches but the wrapped key does not authenticate)",
        )),
        None => Err(skipped.unwrap_or(Error::WrongKey)),
    }
}

/// Recovers the file key and checks the header MAC (spec §7.1 steps 6–7).
pub(crate) fn open_header(
    header: &Header,
    identities: &[Identity],
) -> Result<(OpenedKey, HeaderKeys)> {
    let opened = open_file_key(header, identities)?;
    let keys = HeaderKeys::derive(&opened.file_key, &header.prelude);
    keys.check_mac(header)?;
    Ok((opened, keys))
}

/// The keys derived from the file key for one archive.
#[doc(hidden)]
pub struct HeaderKeys {
    mac_key: Zeroizing<[u8; KEY_LEN]>,
    pub(crate) payload: PayloadCipher,
    /// What a signature binds besides the trailer (spec §6.6.3).
    pub(crate) signature: SignatureContext,
}

impl HeaderKeys {
    pub(crate) fn derive(file_key: &FileKey, prelude: &Prelude) -> Self {
        let prelude_bytes: [u8; PRELUDE_LEN] = prelude.to_bytes();
        let mac_key = derive_key(file_key.0.as_ref(), &prelude.salt, &[LABEL_HEADER_MAC]);
        let payload_key = derive_key(
            file_key.0.as_ref(),
            &prelude.salt,
            &[LABEL_PAYLOAD, &prelude_bytes],
        );
        HeaderKeys {
            mac_key,
            payload: PayloadCipher(ChaCha20Poly1305::new(Key::from_slice(payload_key.as_ref()))),
            signature: SignatureContext::new(file_key, prelude_bytes),
        }
    }

    /// Fails unless the header's MAC is the one these keys compute.
    pub(crate) fn check_mac(&self, header: &Header) -> Result<()> {
        let expected = self.mac(header)?;
        if !bool::from(expected.ct_eq(&header.mac)) {
            return Err(Error::header("the header fails authentication"));
        }
        Ok(())
    }

    /// HMAC-SHA256 over the header's authenticated bytes (spec §4.3).
    #[doc(hidden)]
    pub fn mac(&self, header: &Header) -> Result<[u8; MAC_LEN]> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.mac_key.as_ref())
            .expect("HMAC takes keys of any length");
        mac.update(&header.authenticated_bytes()?);
        Ok(mac.finalize().into_bytes().into())
    }
}

/// Builds a new header: fresh file key and salt, one slot per recipient,
/// MAC (spec §4).
#[doc(hidden)]
pub fn seal_header(
    prelude_limits: (u32, u32),
    recipients: &[Recipient],
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(Header, HeaderKeys)> {
    let file_key = FileKey::generate(rng);
    let mut salt = [0; crate::format::SALT_LEN];
    rng.fill_bytes(&mut salt);
    seal_header_with(prelude_limits, recipients, file_key, salt, rng)
}

/// As [`seal_header`] with a fresh file key under a given archive salt: what
/// a key holder does to re-encrypt an archive under the same prelude. The
/// test vectors use it to show that signature scheme 2 does not survive
/// that (spec §6.6.3); writers never reuse a salt (spec §8.1).
#[doc(hidden)]
pub fn seal_header_with_salt(
    prelude_limits: (u32, u32),
    recipients: &[Recipient],
    salt: [u8; crate::format::SALT_LEN],
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(Header, HeaderKeys)> {
    let file_key = FileKey::generate(rng);
    seal_header_with(prelude_limits, recipients, file_key, salt, rng)
}

fn seal_header_with(
    prelude_limits: (u32, u32),
    recipients: &[Recipient],
    file_key: FileKey,
    salt: [u8; crate::format::SALT_LEN],
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(Header, HeaderKeys)> {
    if recipients.is_empty() {
        return Err(Error::invalid("an archive needs at least one key"));
    }
    let prelude = Prelude {
        suite: crate::format::SUITE_V1,
        max_chunk_size: prelude_limits.0,
        max_record_size: prelude_limits.1,
        salt,
    };
    let slots = recipients
        .iter()
        .map(|recipient| seal_slot(recipient, &file_key, rng))
        .collect::<Result<_>>()?;
    let mut header = Header {
        prelude,
        slots,
        mac: [0; MAC_LEN],
    };
    let header_keys = HeaderKeys::derive(&file_key, &header.prelude);
    header.mac = header_keys.mac(&header)?;
    Ok((header, header_keys))
}
