//! Trailer signatures (spec §6.6.3): scheme 2, Ed25519 bound to the file
//! key, which writers write; scheme 1, Ed25519 over the prelude and trailer
//! only, which readers still verify and report as not bound.
//!
//! Both cover the prelude and the trailer's first 120 bytes, which commit to
//! every chunk; scheme 2 also covers a commitment derived from the file key,
//! so a copy re-encrypted under another file key no longer verifies. Neither
//! covers the slot table, so slots can be added and removed without breaking
//! it. A bad signature never makes an archive unreadable: it is reported, and
//! a trusted-signer policy ([`require_signer`]) acts on it.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signature, Signer as _, VerifyingKey};
use rand::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::crypto::{OpenedWith, SignatureContext, keytext};
use crate::error::{Error, Result};
use crate::format::{
    PRELUDE_LEN, SIGNATURE_BLOCK_LEN, SIGNATURE_NONE, TRAILER_SIGNATURE_AT, Trailer,
};

/// Signature scheme byte 1: Ed25519 over the prelude and trailer, not bound
/// to the file key. Read, never written.
pub const SIGNATURE_ED25519: u8 = 0x01;
/// Signature scheme byte 2: Ed25519 bound to the file key. What writers write.
pub const SIGNATURE_ED25519_BOUND: u8 = 0x02;

/// The domain-separation prefix of a scheme-1 signed message.
pub const LABEL_ED25519: &[u8] = b"keepsake/v1/signature/ed25519";
/// The domain-separation prefix of a scheme-2 signed message.
pub const LABEL_ED25519_BOUND: &[u8] = b"keepsake/v1/signature/ed25519-bound";

/// An Ed25519 signing key. Zeroized on drop; never printed. Text form:
/// `KEEPSAKE-SIGNING-KEY-1…`.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// A fresh key from the operating system's generator.
    pub fn generate() -> Self {
        Self::generate_with(&mut rand::rngs::OsRng)
    }

    /// A fresh key from `rng`.
    pub fn generate_with(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let mut seed = Zeroizing::new([0; 32]);
        rng.fill_bytes(seed.as_mut());
        Self::from_bytes(*seed)
    }

    /// From the 32-byte secret seed.
    pub fn from_bytes(seed: [u8; 32]) -> Self {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The public key that verifies this key's signatures.
    pub fn signer(&self) -> Signer {
        Signer(self.0.verifying_key().to_bytes())
    }

    /// The secret's text form, upper-case bech32.
    pub fn to_text(&self) -> Zeroizing<String> {
        keytext::encode(keytext::HRP_SIGNING_KEY, &self.0.to_bytes(), true)
    }

    /// Parses the text form, or a key file: `#` comment lines, then the key line.
    pub fn from_text(text: &str) -> Result<Self> {
        let line = keytext::key_line(text).ok_or_else(|| Error::InvalidKey {
            reason: "the signing key file holds no key line".into(),
        })?;
        let seed = keytext::decode(keytext::HRP_SIGNING_KEY, line, "signing key")?;
        Ok(Self::from_bytes(*seed))
    }

    /// A signing key file: comments naming its creation time and signer, then the key line.
    pub fn to_file_contents(&self, created: &str) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "# created: {created}\n# signer: {}\n{}\n",
            self.signer(),
            self.to_text().as_str()
        ))
    }

    /// Fills `trailer`'s signature block with a scheme-2 signature, bound
    /// to the archive's file key through `context`.
    #[doc(hidden)]
    pub fn sign(&self, context: &SignatureContext, trailer: &mut Trailer) {
        let message = signed_message(&context.prelude, trailer, Some(&context.commitment));
        self.fill_block(SIGNATURE_ED25519_BOUND, &message, trailer);
    }

    /// Fills `trailer`'s signature block with a scheme-1 signature, which
    /// writers no longer write: the test vectors use it.
    #[doc(hidden)]
    pub fn sign_scheme_1(&self, prelude: &[u8; PRELUDE_LEN], trailer: &mut Trailer) {
        let message = signed_message(prelude, trailer, None);
        self.fill_block(SIGNATURE_ED25519, &message, trailer);
    }

    fn fill_block(&self, scheme: u8, message: &[u8], trailer: &mut Trailer) {
        let signature = self.0.sign(message);
        let mut block = [0; SIGNATURE_BLOCK_LEN];
        block[0] = scheme;
        block[1..33].copy_from_slice(&self.0.verifying_key().to_bytes());
        block[33..].copy_from_slice(&signature.to_bytes());
        trailer.signature = block;
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(<redacted>, signer {})", self.signer())
    }
}

/// An Ed25519 public key as stored in a signature block. Text form:
/// `keepsakesig1…`. It need not be a valid curve point: a block naming an
/// invalid key is reported as an invalid signature by that key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signer(pub [u8; 32]);

impl fmt::Display for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&keytext::encode(keytext::HRP_SIGNER, &self.0, false))
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer({self})")
    }
}

impl FromStr for Signer {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        Ok(Signer(*keytext::decode(
            keytext::HRP_SIGNER,
            text,
            "signer",
        )?))
    }
}

/// What an archive's signature block says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SignatureStatus {
    /// Scheme 0: not signed.
    #[default]
    Unsigned,
    /// A valid scheme-2 signature by this key, bound to this archive's file key.
    Valid(Signer),
    /// A scheme-2 block whose signature does not verify under the key it
    /// names, for this archive's file key (a copy re-encrypted under another
    /// file key reads this way).
    Invalid(Signer),
    /// A valid scheme-1 signature by this key. Scheme 1 does not bind the
    /// file key: a key holder could have re-encrypted a signed archive for
    /// other recipients, and the signature would still verify.
    ValidUnbound(Signer),
    /// A scheme-1 block whose signature does not verify.
    InvalidUnbound(Signer),
    /// A scheme this reader does not know.
    UnknownScheme(u8),
}

impl SignatureStatus {
    /// Reads the signature block of an authenticated trailer, for the archive
    /// whose prelude and file-key commitment `context` holds.
    pub fn of(context: &SignatureContext, trailer: &Trailer) -> Self {
        let block = &trailer.signature;
        let scheme = block[0];
        let commitment = match scheme {
            SIGNATURE_NONE => return SignatureStatus::Unsigned,
            SIGNATURE_ED25519 => None,
            SIGNATURE_ED25519_BOUND => Some(&*context.commitment),
            scheme => return SignatureStatus::UnknownScheme(scheme),
        };
        let signer = Signer(block[1..33].try_into().expect("32 bytes"));
        let signature: [u8; 64] = block[33..].try_into().expect("64 bytes");
        let message = signed_message(&context.prelude, trailer, commitment);
        let valid = verify_strict(&signer.0, &message, &signature);
        match (scheme == SIGNATURE_ED25519_BOUND, valid) {
            (true, true) => SignatureStatus::Valid(signer),
            (true, false) => SignatureStatus::Invalid(signer),
            (false, true) => SignatureStatus::ValidUnbound(signer),
            (false, false) => SignatureStatus::InvalidUnbound(signer),
        }
    }

    /// A short word for output: `unsigned`, `valid`, `valid-unbound`,
    /// `invalid`, `unknown-scheme`.
    pub fn word(&self) -> &'static str {
        match self {
            SignatureStatus::Unsigned => "unsigned",
            SignatureStatus::Valid(_) => "valid",
            SignatureStatus::ValidUnbound(_) => "valid-unbound",
            SignatureStatus::Invalid(_) | SignatureStatus::InvalidUnbound(_) => "invalid",
            SignatureStatus::UnknownScheme(_) => "unknown-scheme",
        }
    }

    /// The scheme byte of the signature block.
    pub fn scheme(&self) -> u8 {
        match self {
            SignatureStatus::Unsigned => SIGNATURE_NONE,
            SignatureStatus::Valid(_) | SignatureStatus::Invalid(_) => SIGNATURE_ED25519_BOUND,
            SignatureStatus::ValidUnbound(_) | SignatureStatus::InvalidUnbound(_) => {
                SIGNATURE_ED25519
            }
            SignatureStatus::UnknownScheme(scheme) => *scheme,
        }
    }

    /// The signer named by the block, valid or not.
    pub fn signer(&self) -> Option<Signer> {
        match self {
            SignatureStatus::Valid(signer)
            | SignatureStatus::Invalid(signer)
            | SignatureStatus::ValidUnbound(signer)
            | SignatureStatus::InvalidUnbound(signer) => Some(*signer),
            _ => None,
        }
    }

    /// The status in words, for people: "signed by …, valid", and so on.
    pub fn describe(&self) -> String {
        match self {
            SignatureStatus::Unsigned => "unsigned".to_owned(),
            SignatureStatus::Valid(signer) => format!("signed by {signer}, valid"),
            SignatureStatus::Invalid(signer) => {
                format!(
                    "signed by {signer}, INVALID (the signature does not verify for this archive)"
                )
            }
            SignatureStatus::ValidUnbound(signer) => format!(
                "signed by {signer} with scheme 1, valid, not bound to the file key (a key holder could have re-encrypted a signed archive for other recipients)"
            ),
            SignatureStatus::InvalidUnbound(signer) => {
                format!("signed by {signer} with scheme 1, INVALID")
            }
            SignatureStatus::UnknownScheme(scheme) => {
                format!("signed with scheme {scheme}, which this version does not know")
            }
        }
    }
}

/// Ed25519 verification with the strict rules of spec §6.6.3: `S` canonical
/// (below the group order), `A` and `R` canonical encodings of points that
/// are not of small order, and the cofactorless equation `[S]B = R + [k]A`.
fn verify_strict(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    // ed25519-dalek decompresses without checking that the encoding is the
    // canonical one (y below p); the spec requires it of `A` and `R` alike.
    let r: [u8; 32] = signature[..32].try_into().expect("32 bytes");
    if !canonical_point(public_key) || !canonical_point(&r) {
        return false;
    }
    key.verify_strict(message, &Signature::from_bytes(signature))
        .is_ok()
}

/// Whether a point encoding's `y` (the low 255 bits) is below p = 2^255 − 19.
/// The only non-canonical values are p to 2^255 − 1, that is `y` ≥ p.
fn canonical_point(encoding: &[u8; 32]) -> bool {
    let mut y = *encoding;
    y[31] &= 0x7f;
    // p = 2^255 - 19: little-endian ed ff ff … ff 7f.
    let mut p = [0xff; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    // y < p, compared from the most significant byte.
    for i in (0..32).rev() {
        if y[i] != p[i] {
            return y[i] < p[i];
        }
    }
    false
}

/// `label || prelude || trailer[0..120]`, then for scheme 2 the file-key
/// commitment (spec §6.6.3).
fn signed_message(
    prelude: &[u8; PRELUDE_LEN],
    trailer: &Trailer,
    commitment: Option<&[u8; 32]>,
) -> Vec<u8> {
    let bytes = trailer.to_bytes();
    let label = match commitment {
        Some(_) => LABEL_ED25519_BOUND,
        None => LABEL_ED25519,
    };
    let mut message = Vec::with_capacity(label.len() + PRELUDE_LEN + TRAILER_SIGNATURE_AT + 32);
    message.extend_from_slice(label);
    message.extend_from_slice(prelude);
    message.extend_from_slice(&bytes[..TRAILER_SIGNATURE_AT]);
    if let Some(commitment) = commitment {
        message.extend_from_slice(commitment);
    }
    message
}

/// Fails with [`Error::UntrustedSignature`] unless `status` is a valid
/// scheme-2 signature by `trusted` (spec §6.6.3, §11.3). A valid scheme-1
/// signature is refused too: it does not show that the signer wrote this
/// archive for these recipients.
pub fn require_signer(status: &SignatureStatus, trusted: &Signer) -> Result<()> {
    let reason = match status {
        SignatureStatus::Valid(signer) if signer == trusted => return Ok(()),
        SignatureStatus::Valid(signer) => format!("it is signed by {signer}"),
        SignatureStatus::Invalid(signer) => {
            format!("its signature by {signer} does not verify for this archive")
        }
        SignatureStatus::ValidUnbound(signer) => format!(
            "its signature by {signer} uses scheme 1, which is not bound to the archive's file key: a key holder could have re-encrypted a signed archive for other recipients; ask the signer for a new archive"
        ),
        SignatureStatus::InvalidUnbound(signer) => {
            format!("its scheme-1 signature by {signer} does not verify")
        }
        SignatureStatus::Unsigned => "it is not signed".to_owned(),
        SignatureStatus::UnknownScheme(scheme) => {
            format!("it is signed with scheme {scheme}, which this version does not know")
        }
    };
    Err(Error::UntrustedSignature { reason })
}

/// Whether the archive's writer is known to the reader (spec §11.3).
///
/// An archive opened with a raw key or a passphrase was written by someone
/// who holds that secret. One opened with an X25519 identity could have been
/// written by anyone who knows the public recipient string, unless the reader
/// required a trusted signer and the archive carries that signer's valid
/// scheme-2 signature: pass that signer as `trusted` only when the caller
/// enforces [`require_signer`] with it.
pub fn sender_authenticated(
    opened_with: OpenedWith,
    status: &SignatureStatus,
    trusted: Option<&Signer>,
) -> bool {
    opened_with.needs_a_secret_to_write()
        || trusted.is_some_and(|trusted| require_signer(status, trusted).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::FileKey;
    use proptest::prelude::*;

    fn trailer(counts: [u64; 6], digest: [u8; 32]) -> Trailer {
        Trailer {
            chunk_count: counts[0],
            conversations: counts[1],
            messages: counts[2],
            consent: counts[3],
            pages: counts[4],
            plaintext_bytes: counts[5],
            time_range: None,
            content_digest: digest,
            index_chunk: 0,
            index_offset: 0,
            signature: [0; SIGNATURE_BLOCK_LEN],
        }
    }

    fn context(file_key: [u8; 32], prelude: [u8; PRELUDE_LEN]) -> SignatureContext {
        SignatureContext::new(&FileKey::from_bytes(Zeroizing::new(file_key)), prelude)
    }

    proptest! {
        // Each case signs twice and verifies six times; debug builds of
        // curve arithmetic are slow.
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn scheme_2_verifies_only_for_its_file_key_prelude_and_trailer(
            seed in any::<[u8; 32]>(),
            file_key in any::<[u8; 32]>(),
            other_key in any::<[u8; 32]>(),
            prelude in proptest::collection::vec(any::<u8>(), PRELUDE_LEN),
            counts in any::<[u64; 6]>(),
            digest in any::<[u8; 32]>(),
            at in 0usize..PRELUDE_LEN,
        ) {
            let prelude: [u8; PRELUDE_LEN] = prelude.try_into().unwrap();
            let key = SigningKey::from_bytes(seed);
            let signer = key.signer();
            let context = context(file_key, prelude);
            let mut signed = trailer(counts, digest);
            key.sign(&context, &mut signed);
            prop_assert_eq!(SignatureStatus::of(&context, &signed), SignatureStatus::Valid(signer));
            prop_assert!(require_signer(&SignatureStatus::of(&context, &signed), &signer).is_ok());

            // Another file key under the same prelude: a re-encryption.
            if other_key != file_key {
                let copy = self::context(other_key, prelude);
                prop_assert_eq!(SignatureStatus::of(&copy, &signed), SignatureStatus::Invalid(signer));
            }
            // Another prelude byte.
            let mut moved = prelude;
            moved[at] ^= 1;
            prop_assert_eq!(
                SignatureStatus::of(&self::context(file_key, moved), &signed),
                SignatureStatus::Invalid(signer)
            );
            // Another count.
            let mut recounted = signed.clone();
            recounted.plaintext_bytes ^= 1;
            prop_assert_eq!(SignatureStatus::of(&context, &recounted), SignatureStatus::Invalid(signer));

            // Scheme 1 over the same trailer survives a re-encryption, and is
            // reported as not bound.
            let mut unbound = trailer(counts, digest);
            key.sign_scheme_1(&prelude, &mut unbound);
            let copy = self::context(other_key, prelude);
            prop_assert_eq!(SignatureStatus::of(&copy, &unbound), SignatureStatus::ValidUnbound(signer));
            prop_assert!(require_signer(&SignatureStatus::of(&copy, &unbound), &signer).is_err());
        }

        #[test]
        fn a_point_encoding_is_canonical_exactly_when_y_is_below_p(
            encoding in any::<[u8; 32]>(),
            excess in 0u8..19,
            sign in any::<bool>(),
        ) {
            let mut y = encoding;
            y[31] &= 0x7f;
            // y < p unless all of bytes 1..31 are ff, byte 31 is 7f and byte 0 is at least ed.
            let high = y[1..31].iter().all(|&b| b == 0xff) && y[31] == 0x7f;
            prop_assert_eq!(canonical_point(&encoding), !(high && y[0] >= 0xed));
            // p + excess, with either sign bit, is never canonical.
            let mut over = [0xff; 32];
            over[0] = 0xed + excess;
            over[31] = if sign { 0xff } else { 0x7f };
            prop_assert!(!canonical_point(&over));
        }
    }
}
