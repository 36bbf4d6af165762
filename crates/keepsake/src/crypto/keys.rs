//! The keys an application holds ([`ArchiveKey`]) and the random per-archive
//! file key that slots wrap (spec §4), and HKDF-SHA256, from which every other
//! key is derived.

use std::fmt;

use hkdf::Hkdf;
use rand::{CryptoRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Length of every symmetric key here.
pub const KEY_LEN: usize = 32;

/// The 32-byte key an application holds for its archives, as messaging SDKs
/// hand it over. Zeroized on drop; never printed.
#[derive(Clone)]
pub struct ArchiveKey(pub(crate) Zeroizing<[u8; KEY_LEN]>);

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

    /// Reads a key file's contents: the text form (64 hex characters, a
    /// trailing newline allowed, spec §4.5.5) or exactly 32 raw bytes.
    /// [`ArchiveKey::read_key_file`] also says whether raw bytes look random.
    pub fn from_key_file(contents: &[u8]) -> Result<Self> {
        Self::read_key_file(contents).map(|(key, _)| key)
    }

    /// As [`ArchiveKey::from_key_file`], with what the file looked like: the
    /// text form, raw bytes that look random, or raw bytes that do not (a
    /// typed phrase, or a few repeated values), which an application SHOULD
    /// refuse for a new archive and warn about when opening one (spec §4.5.5).
    pub fn read_key_file(contents: &[u8]) -> Result<(Self, KeyFileForm)> {
        let text = contents
            .strip_suffix(b"\r\n")
            .or_else(|| contents.strip_suffix(b"\n"))
            .unwrap_or(contents);
        if text.len() == 2 * KEY_LEN && text.iter().all(u8::is_ascii_hexdigit) {
            let key = Self::from_hex(std::str::from_utf8(text).expect("hex digits are ASCII"))?;
            return Ok((key, KeyFileForm::Text));
        }
        if let Ok(bytes) = <[u8; KEY_LEN]>::try_from(contents) {
            return Ok((Self::from_bytes(bytes), KeyFileForm::of_raw(&bytes)));
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

/// What a key file held (spec §4.5.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyFileForm {
    /// The text form `keygen` writes: 64 hexadecimal characters and a newline.
    Text,
    /// Exactly 32 raw bytes that look random.
    RawBytes,
    /// Exactly 32 raw bytes that do not look random; the reason says why.
    /// Such a key can be guessed offline at the speed of one HKDF per guess.
    Implausible(&'static str),
}

impl KeyFileForm {
    /// 32 random bytes are all printable ASCII with probability about 10^-14
    /// and hold fewer than 16 distinct values with a far smaller one.
    fn of_raw(bytes: &[u8; KEY_LEN]) -> KeyFileForm {
        if bytes
            .iter()
            .all(|byte| byte.is_ascii_graphic() || byte.is_ascii_whitespace())
        {
            return KeyFileForm::Implausible(
                "its 32 bytes are all printable characters: most likely a typed phrase, not 32 random bytes",
            );
        }
        let mut seen = [false; 256];
        bytes
            .iter()
            .for_each(|&byte| seen[usize::from(byte)] = true);
        if seen.iter().filter(|&&seen| seen).count() < 16 {
            return KeyFileForm::Implausible(
                "its 32 bytes hold fewer than 16 distinct values: not 32 random bytes",
            );
        }
        KeyFileForm::RawBytes
    }
}

pub(crate) fn hex_digit(c: u8) -> Option<u8> {
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
#[derive(Clone)]
pub(crate) struct FileKey(pub(crate) Zeroizing<[u8; KEY_LEN]>);

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
pub(crate) fn hkdf(ikm: &[u8], salt: &[u8], info: &[&[u8]], out: &mut [u8]) {
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand_multi_info(info, out)
        .expect("HKDF output lengths here are far below the 8160-byte maximum");
}

pub(crate) fn derive_key(ikm: &[u8], salt: &[u8], info: &[&[u8]]) -> Zeroizing<[u8; KEY_LEN]> {
    let mut key = Zeroizing::new([0; KEY_LEN]);
    hkdf(ikm, salt, info, key.as_mut());
    key
}
