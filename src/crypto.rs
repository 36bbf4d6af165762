//! The key schedule, key slots, header MAC and frame sealing (spec §4, §5).
//!
//! Every derived key comes from HKDF-SHA256 with its own `info` label, listed
//! once below; "where is the nonce built" is [`nonce`].

use std::fmt;

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::{CryptoRng, RngCore};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Limit, Result};
use crate::format::{
    FRAME_HEADER_LEN, FrameHeader, Header, MAC_LEN, PRELUDE_LEN, Prelude, RAW_SLOT_CHECK_LEN,
    RAW_SLOT_LEN, RAW_SLOT_SALT_LEN, SlotEntry, TAG_LEN, slot_kind,
};
pub use crate::slots::{
    Argon2Params, Opener, Passphrase, Recipient, X25519Identity, X25519Recipient,
};
use crate::slots::{
    MAX_PASSPHRASE_SLOTS, check_x25519_slot, passphrase_params, seal_slot, try_passphrase_slot,
    try_x25519_slot,
};

/// HKDF `info` for the key that wraps the file key in a raw-key slot (spec §4.2).
pub const LABEL_RAW_SLOT_WRAP: &[u8] = b"keepsake/v1/raw-key-slot/wrap";
/// HKDF `info` for a raw-key slot's key-check value (spec §4.2).
pub const LABEL_RAW_SLOT_CHECK: &[u8] = b"keepsake/v1/raw-key-slot/check";
/// HKDF `info` for the header MAC key (spec §4.3).
pub const LABEL_HEADER_MAC: &[u8] = b"keepsake/v1/header-mac";
/// HKDF `info` prefix for the payload key; the 52-byte prelude follows it (spec §4.4).
pub const LABEL_PAYLOAD: &[u8] = b"keepsake/v1/payload";

/// Length of every symmetric key here.
pub const KEY_LEN: usize = 32;

/// The 32-byte key an application holds for its archives, as messaging SDKs
/// hand it over. Zeroized on drop; never printed.
#[derive(Clone)]
pub struct ArchiveKey(Zeroizing<[u8; KEY_LEN]>);

impl ArchiveKey {
    /// Wraps 32 key bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        ArchiveKey(Zeroizing::new(bytes))
    }

    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Self {
        Self::generate_with(&mut rand::rngs::OsRng)
    }

    /// A fresh random key from `rng`.
    pub fn generate_with(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let mut key = Zeroizing::new([0; KEY_LEN]);
        rng.fill_bytes(key.as_mut());
        ArchiveKey(key)
    }

    /// Reads a key file's contents: 64 hex characters (a trailing newline
    /// allowed) or exactly 32 raw bytes.
    pub fn from_key_file(contents: &[u8]) -> Result<Self> {
        let text = contents
            .strip_suffix(b"\r\n")
            .or_else(|| contents.strip_suffix(b"\n"))
            .unwrap_or(contents);
        if text.len() == 2 * KEY_LEN && text.iter().all(u8::is_ascii_hexdigit) {
            return Self::from_hex(std::str::from_utf8(text).expect("hex digits are ASCII"));
        }
        if let Ok(bytes) = <[u8; KEY_LEN]>::try_from(contents) {
            return Ok(Self::from_bytes(bytes));
        }
        Err(Error::InvalidKey {
            reason: format!(
                "a key file must hold 64 hexadecimal characters or exactly 32 bytes, but this one holds {} bytes that are neither",
                contents.len()
            ),
        })
    }

    /// Parses 64 hexadecimal characters.
    pub fn from_hex(hex: &str) -> Result<Self> {
        let digits = hex.as_bytes();
        if digits.len() != 2 * KEY_LEN {
            return Err(Error::InvalidKey {
                reason: format!("expected 64 hexadecimal characters, found {}", digits.len()),
            });
        }
        let mut key = Zeroizing::new([0; KEY_LEN]);
        for (byte, pair) in key.iter_mut().zip(digits.chunks_exact(2)) {
            let high = hex_digit(pair[0]);
            let low = hex_digit(pair[1]);
            match (high, low) {
                (Some(high), Some(low)) => *byte = high << 4 | low,
                _ => {
                    return Err(Error::InvalidKey {
                        reason: "the key contains a character that is not hexadecimal".into(),
                    });
                }
            }
        }
        Ok(ArchiveKey(key))
    }

    /// The key as 64 lower-case hexadecimal characters, for writing a key file.
    pub fn to_hex(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(2 * KEY_LEN));
        for byte in self.0.iter() {
            out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
            out.push(char::from(b"0123456789abcdef"[usize::from(byte & 0x0f)]));
        }
        out
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Debug for ArchiveKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ArchiveKey(<redacted>)")
    }
}

/// The random per-archive key that the key slots wrap (spec §4).
pub(crate) struct FileKey(Zeroizing<[u8; KEY_LEN]>);

impl FileKey {
    pub(crate) fn from_bytes(bytes: Zeroizing<[u8; KEY_LEN]>) -> Self {
        FileKey(bytes)
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    pub(crate) fn generate(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let mut key = Zeroizing::new([0; KEY_LEN]);
        rng.fill_bytes(key.as_mut());
        FileKey(key)
    }
}

/// HKDF-SHA256 with `info` given in parts, concatenated.
fn hkdf(ikm: &[u8], salt: &[u8], info: &[&[u8]], out: &mut [u8]) {
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand_multi_info(info, out)
        .expect("HKDF output lengths here are far below the 8160-byte maximum");
}

fn derive_key(ikm: &[u8], salt: &[u8], info: &[&[u8]]) -> Zeroizing<[u8; KEY_LEN]> {
    let mut key = Zeroizing::new([0; KEY_LEN]);
    hkdf(ikm, salt, info, key.as_mut());
    key
}

/// The nonce of a frame (spec §5.3): the chunk index as 8 little-endian bytes,
/// three zero bytes, then 0x01 for the final frame and 0x00 otherwise. Each
/// archive has a fresh payload key, so a (key, nonce) pair never repeats.
pub fn nonce(chunk: u64, is_final: bool) -> [u8; 12] {
    let mut nonce = [0; 12];
    nonce[..8].copy_from_slice(&chunk.to_le_bytes());
    nonce[11] = u8::from(is_final);
    nonce
}

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
enum SlotTry {
    Opened(FileKey),
    /// The check value matched but the wrapped key did not authenticate.
    Damaged,
    NotOurs,
}

fn check_raw_slot(body: &[u8]) -> Result<()> {
    if body.len() != RAW_SLOT_LEN {
        return Err(Error::header(format!(
            "a raw-key slot is {} bytes long instead of {RAW_SLOT_LEN}",
            body.len()
        )));
    }
    Ok(())
}

fn try_raw_slot(key: &ArchiveKey, body: &[u8]) -> Result<SlotTry> {
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
pub(crate) struct HeaderKeys {
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
    pub(crate) fn mac(&self, header: &Header) -> Result<[u8; MAC_LEN]> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.mac_key.as_ref())
            .expect("HMAC takes keys of any length");
        mac.update(&header.authenticated_bytes()?);
        Ok(mac.finalize().into_bytes().into())
    }
}

/// Builds a new header: fresh salt, one slot per recipient, MAC (spec §4).
pub(crate) fn seal_header(
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

/// ChaCha20-Poly1305 under the archive's payload key. Cheap to clone, so each
/// worker thread can hold its own.
#[derive(Clone)]
pub struct PayloadCipher(ChaCha20Poly1305);

impl PayloadCipher {
    /// Encrypts `buffer` in place and appends the tag; the frame header is the
    /// associated data (spec §5.2).
    pub fn seal(&self, header: &[u8; FRAME_HEADER_LEN], frame: &FrameHeader, buffer: &mut Vec<u8>) {
        let tag = self
            .0
            .encrypt_in_place_detached(
                Nonce::from_slice(&nonce(frame.chunk, frame.is_final())),
                header,
                buffer,
            )
            .expect("chunks are far below the AEAD's 256 GiB length limit");
        buffer.extend_from_slice(&tag);
    }

    /// Authenticates and decrypts a frame's ciphertext in place, leaving the
    /// stored plaintext (spec §7 step 10).
    pub fn open(
        &self,
        header: &[u8; FRAME_HEADER_LEN],
        frame: &FrameHeader,
        buffer: &mut Vec<u8>,
    ) -> Result<()> {
        let body_len = buffer
            .len()
            .checked_sub(TAG_LEN)
            .ok_or_else(|| Error::corrupt(frame.chunk, "the frame is shorter than its tag"))?;
        let tag = *Tag::from_slice(&buffer[body_len..]);
        buffer.truncate(body_len);
        self.0
            .decrypt_in_place_detached(
                Nonce::from_slice(&nonce(frame.chunk, frame.is_final())),
                header,
                buffer,
                &tag,
            )
            .map_err(|_| Error::corrupt(frame.chunk, "the chunk fails authentication"))
    }
}

impl fmt::Debug for PayloadCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PayloadCipher(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{ChunkKind, FLAG_FINAL};
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn sealed(keys: &[(&ArchiveKey, &str)], seed: u64) -> (Header, HeaderKeys) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let recipients: Vec<Recipient> = keys
            .iter()
            .map(|(key, name)| Recipient::raw_key((*key).clone()).named(*name))
            .collect();
        seal_header((4096, 4000), &recipients, &mut rng).unwrap()
    }

    proptest! {
        #[test]
        fn frames_open_only_with_their_own_header(body in proptest::collection::vec(any::<u8>(), 0..2000), chunk in any::<u64>(), last in any::<bool>(), seed in any::<u64>()) {
            let key = ArchiveKey::from_bytes([1; 32]);
            let (_, keys) = sealed(&[(&key, "")], seed);
            let frame = FrameHeader {
                kind: ChunkKind::RECORDS,
                flags: if last { FLAG_FINAL } else { 0 },
                stored_len: (body.len() + TAG_LEN) as u32,
                chunk,
            };
            let header = frame.to_bytes();
            let mut buffer = body.clone();
            keys.payload.seal(&header, &frame, &mut buffer);
            prop_assert_eq!(buffer.len(), body.len() + TAG_LEN);

            let mut opened = buffer.clone();
            keys.payload.open(&header, &frame, &mut opened).unwrap();
            prop_assert_eq!(&opened, &body);

            // The same ciphertext at another position, or with the final flag
            // flipped, does not authenticate: the nonce binds both.
            let moved = FrameHeader { chunk: chunk.wrapping_add(1), ..frame };
            let mut again = buffer.clone();
            prop_assert!(keys.payload.open(&moved.to_bytes(), &moved, &mut again).is_err());
            let flipped = FrameHeader { flags: frame.flags ^ FLAG_FINAL, ..frame };
            let mut again = buffer.clone();
            prop_assert!(keys.payload.open(&flipped.to_bytes(), &flipped, &mut again).is_err());
        }
    }

    #[test]
    fn each_slot_opens_and_a_stranger_is_wrong_key() {
        let first = ArchiveKey::from_bytes([1; 32]);
        let second = ArchiveKey::from_bytes([2; 32]);
        let (header, _) = sealed(&[(&first, "phone"), (&second, "laptop")], 7);
        assert!(open_header(&header, &[first.into()]).is_ok());
        assert!(open_header(&header, &[second.into()]).is_ok());
        let stranger = ArchiveKey::from_bytes([3; 32]);
        assert!(matches!(
            open_header(&header, &[stranger.into()]),
            Err(Error::WrongKey)
        ));
    }

    #[test]
    fn a_damaged_wrapped_key_is_not_reported_as_a_wrong_key() {
        let key = ArchiveKey::from_bytes([1; 32]);
        let (mut header, _) = sealed(&[(&key, "")], 8);
        let last = header.slots[0].body.len() - 1;
        header.slots[0].body[last] ^= 1;
        assert!(matches!(
            open_header(&header, &[key.into()]),
            Err(Error::HeaderCorrupt { .. })
        ));
    }

    #[test]
    fn a_slot_moved_to_another_header_fails_the_mac() {
        let key = ArchiveKey::from_bytes([1; 32]);
        let (mut header, _) = sealed(&[(&key, "")], 9);
        let (other, _) = sealed(&[(&key, "")], 10);
        header.slots = other.slots;
        assert!(matches!(
            open_header(&header, &[key.into()]),
            Err(Error::HeaderCorrupt { .. })
        ));
    }

    #[test]
    fn key_files_accept_hex_or_raw_bytes_and_nothing_else() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let from_hex = ArchiveKey::from_key_file(format!("{hex}\n").as_bytes()).unwrap();
        assert_eq!(from_hex.to_hex().as_str(), hex.to_lowercase());
        let raw = ArchiveKey::from_key_file(&[0x5a; 32]).unwrap();
        assert_eq!(raw.bytes(), &[0x5a; 32]);
        for bad in [
            &b"abc"[..],
            &[0; 33][..],
            &b"zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"[..],
        ] {
            assert!(matches!(
                ArchiveKey::from_key_file(bad),
                Err(Error::InvalidKey { .. })
            ));
        }
        assert_eq!(format!("{from_hex:?}"), "ArchiveKey(<redacted>)");
    }
}
