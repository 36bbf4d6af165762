//! The raw-key slot (kind 0x0001, spec §4.2): a 32-byte key wraps the file
//! key, with a check value that tells a damaged slot from a wrong key.

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};
use rand::{CryptoRng, RngCore};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::keys::{ArchiveKey, FileKey, KEY_LEN, derive_key, hkdf};
use crate::error::{Error, Result};
use crate::format::{RAW_SLOT_CHECK_LEN, RAW_SLOT_LEN, RAW_SLOT_SALT_LEN, SlotEntry, slot_kind};

/// HKDF `info` for the key that wraps the file key in a raw-key slot (spec §4.2).
pub const LABEL_RAW_SLOT_WRAP: &[u8] = b"keepsake/v1/raw-key-slot/wrap";
/// HKDF `info` for a raw-key slot's key-check value (spec §4.2).
pub const LABEL_RAW_SLOT_CHECK: &[u8] = b"keepsake/v1/raw-key-slot/check";

/// Builds a raw-key slot wrapping `file_key` for `key` (spec §4.2).
pub(crate) fn seal_raw_slot(
    key: &ArchiveKey,
    name: &str,
    file_key: &FileKey,
    rng: &mut (impl RngCore + CryptoRng),
) -> SlotEntry {
    let mut salt = [0; RAW_SLOT_SALT_LEN];
    rng.fill_bytes(&mut salt);
    let mut check = [0; RAW_SLOT_CHECK_LEN];
    hkdf(key.bytes(), &salt, &[LABEL_RAW_SLOT_CHECK], &mut check);
    let wrap_key = derive_key(key.bytes(), &salt, &[LABEL_RAW_SLOT_WRAP]);
    let mut wrapped = file_key.0.to_vec();
    let tag = ChaCha20Poly1305::new(Key::from_slice(wrap_key.as_ref()))
        .encrypt_in_place_detached(&Nonce::default(), &[], &mut wrapped)
        .expect("32 bytes is far below the AEAD's length limit");
    let mut body = Vec::with_capacity(RAW_SLOT_LEN);
    body.extend_from_slice(&salt);
    body.extend_from_slice(&check);
    body.extend_from_slice(&wrapped);
    body.extend_from_slice(&tag);
    wrapped.zeroize();
    SlotEntry {
        kind: slot_kind::RAW_KEY,
        name: name.to_owned(),
        body,
    }
}

/// What trying one raw-key slot found.
pub(crate) enum SlotTry {
    Opened(FileKey),
    /// The check value matched but the wrapped key did not authenticate.
    Damaged,
    NotOurs,
}

pub(crate) fn check_raw_slot(body: &[u8]) -> Result<()> {
    if body.len() != RAW_SLOT_LEN {
        return Err(Error::header(format!(
            "a raw-key slot is {} bytes long instead of {RAW_SLOT_LEN}",
            body.len()
        )));
    }
    Ok(())
}

pub(crate) fn try_raw_slot(key: &ArchiveKey, body: &[u8]) -> Result<SlotTry> {
    check_raw_slot(body)?;
    let (salt, rest) = body.split_at(RAW_SLOT_SALT_LEN);
    let (stored_check, wrapped) = rest.split_at(RAW_SLOT_CHECK_LEN);
    let mut check = [0; RAW_SLOT_CHECK_LEN];
    hkdf(key.bytes(), salt, &[LABEL_RAW_SLOT_CHECK], &mut check);
    let check_matches: bool = check.ct_eq(stored_check).into();
    // Unwrap whether or not the check matched, so the work done does not
    // depend on which slot is ours, and a damaged check value is told apart
    // from a key that is not ours (spec §7 step 6).
    let wrap_key = derive_key(key.bytes(), salt, &[LABEL_RAW_SLOT_WRAP]);
    let mut file_key = Zeroizing::new([0; KEY_LEN]);
    file_key.copy_from_slice(&wrapped[..KEY_LEN]);
    let opened = ChaCha20Poly1305::new(Key::from_slice(wrap_key.as_ref()))
        .decrypt_in_place_detached(
            &Nonce::default(),
            &[],
            file_key.as_mut(),
            Tag::from_slice(&wrapped[KEY_LEN..]),
        )
        .is_ok();
    Ok(match (opened, check_matches) {
        (true, _) => SlotTry::Opened(FileKey(file_key)),
        (false, true) => SlotTry::Damaged,
        (false, false) => SlotTry::NotOurs,
    })
}
