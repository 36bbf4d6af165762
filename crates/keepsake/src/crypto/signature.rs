//! Trailer signature scheme 1, Ed25519 (spec §6.6.3).
//!
//! The signature covers the prelude and the trailer's first 120 bytes, which
//! commit to every chunk; it does not cover the slot table, so slots can be
//! added and removed without breaking it. A bad signature never makes an
//! archive unreadable: it is reported, and `verify --trusted-signer` acts on it.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signature, Signer as _, VerifyingKey};
use rand::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::crypto::keytext;
use crate::error::{Error, Result};
use crate::format::{
    PRELUDE_LEN, SIGNATURE_BLOCK_LEN, SIGNATURE_NONE, TRAILER_SIGNATURE_AT, Trailer,
};

/// Signature scheme byte: Ed25519.
pub const SIGNATURE_ED25519: u8 = 0x01;

/// The domain-separation prefix of a scheme-1 signed message.
pub const LABEL_ED25519: &[u8] = b"keepsake/v1/signature/ed25519";

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

    /// Fills `trailer`'s signature block with a scheme-1 signature.
    #[doc(hidden)]
    pub fn sign(&self, prelude: &[u8; PRELUDE_LEN], trailer: &mut Trailer) {
        let message = signed_message(prelude, trailer);
        let signature = self.0.sign(&message);
        let mut block = [0; SIGNATURE_BLOCK_LEN];
        block[0] = SIGNATURE_ED25519;
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureStatus {
    /// Scheme 0: not signed.
    Unsigned,
    /// A valid scheme-1 signature by this key.
    Valid(Signer),
    /// A scheme-1 block whose signature does not verify under the key it names.
    Invalid(Signer),
    /// A scheme this reader does not know.
    UnknownScheme(u8),
}

impl SignatureStatus {
    /// Reads the signature block of an authenticated trailer.
    pub fn of(prelude: &[u8; PRELUDE_LEN], trailer: &Trailer) -> Self {
        let block = &trailer.signature;
        match block[0] {
            SIGNATURE_NONE => SignatureStatus::Unsigned,
            SIGNATURE_ED25519 => {
                let signer = Signer(block[1..33].try_into().expect("32 bytes"));
                let signature = Signature::from_bytes(&block[33..].try_into().expect("64 bytes"));
                let valid = VerifyingKey::from_bytes(&signer.0)
                    .map(|key| {
                        key.verify_strict(&signed_message(prelude, trailer), &signature)
                            .is_ok()
                    })
                    .unwrap_or(false);
                if valid {
                    SignatureStatus::Valid(signer)
                } else {
                    SignatureStatus::Invalid(signer)
                }
            }
            scheme => SignatureStatus::UnknownScheme(scheme),
        }
    }

    /// A short word for output: `unsigned`, `valid`, `invalid`, `unknown-scheme`.
    pub fn word(&self) -> &'static str {
        match self {
            SignatureStatus::Unsigned => "unsigned",
            SignatureStatus::Valid(_) => "valid",
            SignatureStatus::Invalid(_) => "invalid",
            SignatureStatus::UnknownScheme(_) => "unknown-scheme",
        }
    }

    /// The signer named by the block, valid or not.
    pub fn signer(&self) -> Option<Signer> {
        match self {
            SignatureStatus::Valid(signer) | SignatureStatus::Invalid(signer) => Some(*signer),
            _ => None,
        }
    }
}

/// `LABEL_ED25519 || prelude || trailer[0..120]`.
fn signed_message(prelude: &[u8; PRELUDE_LEN], trailer: &Trailer) -> Vec<u8> {
    let bytes = trailer.to_bytes();
    let mut message = Vec::with_capacity(LABEL_ED25519.len() + PRELUDE_LEN + TRAILER_SIGNATURE_AT);
    message.extend_from_slice(LABEL_ED25519);
    message.extend_from_slice(prelude);
    message.extend_from_slice(&bytes[..TRAILER_SIGNATURE_AT]);
    message
}

/// Fails with [`Error::UntrustedSignature`] unless `status` is a valid
/// signature by `trusted`.
pub fn require_signer(status: &SignatureStatus, trusted: &Signer) -> Result<()> {
    let reason = match status {
        SignatureStatus::Valid(signer) if signer == trusted => return Ok(()),
        SignatureStatus::Valid(signer) => format!("it is signed by {signer}"),
        SignatureStatus::Invalid(signer) => {
            format!("its signature by {signer} does not verify")
        }
        SignatureStatus::Unsigned => "it is not signed".to_owned(),
        SignatureStatus::UnknownScheme(scheme) => {
            format!("it is signed with scheme {scheme}, which this version does not know")
        }
    };
    Err(Error::UntrustedSignature { reason })
}
