//! Frame sealing (spec §5.2, §5.3): ChaCha20-Poly1305 under the payload key,
//! with the frame header as associated data and the nonce built from the chunk
//! index and the final flag.

use std::fmt;

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};

use crate::error::{Error, Result};
use crate::format::{FRAME_HEADER_LEN, FrameHeader, TAG_LEN};

/// The nonce of a frame (spec §5.3): the chunk index as 8 little-endian bytes,
/// three zero bytes, then 0x01 for the final frame and 0x00 otherwise. Each
/// archive has a fresh payload key, so a (key, nonce) pair never repeats.
pub fn nonce(chunk: u64, is_final: bool) -> [u8; 12] {
    let mut nonce = [0; 12];
    nonce[..8].copy_from_slice(&chunk.to_le_bytes());
    nonce[11] = u8::from(is_final);
    nonce
}

/// ChaCha20-Poly1305 under the archive's payload key. Cheap to clone, so each
/// worker thread can hold its own.
#[derive(Clone)]
pub struct PayloadCipher(pub(crate) ChaCha20Poly1305);

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
