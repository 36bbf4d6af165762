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

impl From<X25519Identity> for Identity {
    fn from(identity: X25519Identity) -> Self {
        Identity::X25519(identity)
    }
}

/// Recovers the file key from the header's slots (spec §7.1 step 6).
///
/// Every slot of a known kind is tried with every identity of its type, and
/// the work is done for every slot even after one opened, so the time taken
/// does not tell which slot matched. Passphrase slots outside the Argon2
/// bounds, and those after the first [`MAX_PASSPHRASE_SLOTS`], are never computed.
pub(crate) fn open_file_key(header: &Header, identities: &[Identity]) -> Result<FileKey> {
    let mut found: Option<FileKey> = None;
    let mut damaged = false;
    let mut known_slots = 0;
    let mut skipped: Option<Error> = None;
    let mut passphrase_slots = 0;
    for slot in &header.slots {
        match slot.kind {
            slot_kind::RAW_KEY => {
                known_slots += 1;
                check_raw_slot(&slot.body)?;
                for identity in identities {
                    let Identity::RawKey(key) = identity else {
                        continue;
                    };
                    match try_raw_slot(key, &slot.body)? {
                        SlotTry::Opened(file_key) => {
                            found.get_or_insert(file_key);
                        }
                        SlotTry::Damaged => damaged = true,
                        SlotTry::NotOurs => {}
                    }
                }
            }
            slot_kind::PASSPHRASE => {
                known_slots += 1;
                let params = passphrase_params(&slot.body)?;
                let passphrases = identities.iter().filter_map(|identity| match identity {
                    Identity::Passphrase(passphrase) => Some(passphrase),
                    _ => None,
                });
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
                for passphrase in passphrases {
                    if let Some(file_key) = try_passphrase_slot(passphrase, &slot.body, params) {
                        found.get_or_insert(file_key);
                    }
                }
            }
            slot_kind::X25519 => {
                known_slots += 1;
                check_x25519_slot(&slot.body)?;
                for identity in identities {
                    let Identity::X25519(secret) = identity else {
                        continue;
                    };
                    if let Some(file_key) = try_x25519_slot(secret, &slot.body) {
                        found.get_or_insert(file_key);
                    }
                }
            }
            _ => {}
        }
    }
    match found {
        Some(file_key) => Ok(file_key),
        None if known_slots == 0 => Err(Error::NoSupportedSlot),
        None if damaged => Err(Error::header(
            "the key slot for this key is damaged (its check value matches but the wrapped key does not authenticate)",
        )),
        None => Err(skipped.unwrap_or(Error::WrongKey)),
    }
}

/// Recovers the file key and checks the header MAC (spec §7.1 steps 6–7).
pub(crate) fn open_header(header: &Header, identities: &[Identity]) -> Result<HeaderKeys> {
    let file_key = open_file_key(header, identities)?;
    let keys = HeaderKeys::derive(&file_key, &header.prelude);
    keys.check_mac(header)?;
    Ok(keys)
}

/// The keys derived from the file key for one archive.
#[doc(hidden)]
pub struct HeaderKeys {
    mac_key: Zeroizing<[u8; KEY_LEN]>,
    pub(crate) payload: PayloadCipher,
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

/// Builds a new header: fresh salt, one slot per recipient, MAC (spec §4).
#[doc(hidden)]
pub fn seal_header(
    prelude_limits: (u32, u32),
    recipients: &[Recipient],
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(Header, HeaderKeys)> {
    if recipients.is_empty() {
        return Err(Error::invalid("an archive needs at least one key"));
    }
    let file_key = FileKey::generate(rng);
    let mut salt = [0; crate::format::SALT_LEN];
    rng.fill_bytes(&mut salt);
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
