//! Passphrase (kind 0x0002) and X25519 recipient (kind 0x0003) key slots
//! (spec §4.5), and [`Recipient`], what a writer is told to make a slot for.
//!
//! Neither kind has a check value: a wrapped key that does not authenticate
//! is simply "not ours", so a slot reveals nothing about who it is for.

use std::fmt;
use std::str::FromStr;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};
use hkdf::Hkdf;
use rand::{CryptoRng, RngCore};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

use crate::crypto::{ArchiveKey, FileKey, KEY_LEN, keytext};
use crate::error::{Error, Limit, Result};
use crate::format::{SlotEntry, TAG_LEN, slot_kind};

/// HKDF `info` for the key that wraps the file key in a passphrase slot.
pub const LABEL_PASSPHRASE_WRAP: &[u8] = b"keepsake/v1/passphrase-slot/wrap";
/// HKDF `info` for the key that wraps the file key in an X25519 slot.
pub const LABEL_X25519_WRAP: &[u8] = b"keepsake/v1/x25519-slot/wrap";

/// Length of a passphrase slot body.
pub const PASSPHRASE_SLOT_LEN: usize = 76;
/// Length of a passphrase slot's salt.
pub const PASSPHRASE_SALT_LEN: usize = 16;
/// Length of an X25519 slot body.
pub const X25519_SLOT_LEN: usize = 80;

/// How many passphrase slots of one header a reader runs Argon2 for.
pub const MAX_PASSPHRASE_SLOTS: usize = 4;

/// Argon2id cost parameters of a passphrase slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Argon2Params {
    /// What writers use unless told otherwise: 64 MiB, 3 passes, 1 lane.
    pub const DEFAULT: Argon2Params = Argon2Params {
        m_cost: 65536,
        t_cost: 3,
        p_cost: 1,
    };
    /// The least a writer may use (and a reader computes): 19 MiB, 2 passes,
    /// 1 lane. Tests use these; nothing may use less.
    pub const MINIMUM: Argon2Params = Argon2Params {
        m_cost: 19456,
        t_cost: 2,
        p_cost: 1,
    };
    /// The most a reader computes: 256 MiB, 10 passes, 4 lanes.
    pub const MAXIMUM: Argon2Params = Argon2Params {
        m_cost: 262144,
        t_cost: 10,
        p_cost: 4,
    };

    /// The first bound these parameters break, as a [`Error::LimitExceeded`].
    pub fn check(&self) -> Result<()> {
        let (min, max) = (Self::MINIMUM, Self::MAXIMUM);
        for (what, value, low, high) in [
            (Limit::Argon2Memory, self.m_cost, min.m_cost, max.m_cost),
            (Limit::Argon2Passes, self.t_cost, min.t_cost, max.t_cost),
            (Limit::Argon2Lanes, self.p_cost, min.p_cost, max.p_cost),
        ] {
            if value < low {
                return Err(Error::LimitExceeded {
                    what,
                    value: value.into(),
                    limit: low.into(),
                });
            }
            if value > high {
                return Err(Error::LimitExceeded {
                    what,
                    value: value.into(),
                    limit: high.into(),
                });
            }
        }
        Ok(())
    }
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A passphrase. Zeroized on drop; never printed.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wraps a passphrase; an empty one is refused.
    pub fn new(passphrase: impl Into<String>) -> Result<Self> {
        let passphrase = Zeroizing::new(passphrase.into());
        if passphrase.is_empty() {
            return Err(Error::InvalidKey {
                reason: "the passphrase is empty".into(),
            });
        }
        Ok(Passphrase(passphrase))
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// An X25519 recipient: the public key an archive can be encrypted to.
/// Its text form is `keepsake1…` (bech32).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct X25519Recipient(PublicKey);

impl X25519Recipient {
    /// The 32 public key bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// From 32 public key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        X25519Recipient(PublicKey::from(bytes))
    }
}

impl fmt::Display for X25519Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&keytext::encode(
            keytext::HRP_RECIPIENT,
            self.0.as_bytes(),
            false,
        ))
    }
}

impl fmt::Debug for X25519Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "X25519Recipient({self})")
    }
}

impl FromStr for X25519Recipient {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        let bytes = keytext::decode(keytext::HRP_RECIPIENT, text, "recipient")?;
        Ok(Self::from_bytes(*bytes))
    }
}

/// An X25519 identity: the secret key that opens slots for its recipient.
/// Zeroized on drop; never printed. Its text form is `KEEPSAKE-SECRET-KEY-1…`.
#[derive(Clone)]
pub struct X25519Identity(StaticSecret);

impl X25519Identity {
    /// A fresh identity from the operating system's generator.
    pub fn generate() -> Self {
        Self::generate_with(&mut rand::rngs::OsRng)
    }

    /// A fresh identity from `rng`.
    pub fn generate_with(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        X25519Identity(StaticSecret::random_from_rng(rng))
    }

    /// From the 32 secret bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        X25519Identity(StaticSecret::from(bytes))
    }

    /// The recipient whose slots this identity opens.
    pub fn recipient(&self) -> X25519Recipient {
        X25519Recipient(PublicKey::from(&self.0))
    }

    /// The secret's text form, upper-case bech32.
    pub fn to_text(&self) -> Zeroizing<String> {
        keytext::encode(keytext::HRP_SECRET_KEY, self.0.as_bytes(), true)
    }

    /// Parses the text form, or an identity file: `#` comment lines, then one
    /// key line.
    pub fn from_text(text: &str) -> Result<Self> {
        let line = keytext::key_line(text).ok_or_else(|| Error::InvalidKey {
            reason: "the identity file holds no key line".into(),
        })?;
        let bytes = keytext::decode(keytext::HRP_SECRET_KEY, line, "identity")?;
        Ok(Self::from_bytes(*bytes))
    }

    /// An identity file: comments naming its creation time and recipient,
    /// then the key line.
    pub fn to_file_contents(&self, created: &str) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "# created: {created}\n# recipient: {}\n{}\n",
            self.recipient(),
            self.to_text().as_str()
        ))
    }
}

impl fmt::Debug for X25519Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("X25519Identity(<redacted>)")
    }
}

/// What a writer makes one key slot for.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Opener {
    /// A raw 32-byte key (slot kind 0x0001).
    RawKey(ArchiveKey),
    /// A passphrase stretched with Argon2id (slot kind 0x0002).
    Passphrase(Passphrase, Argon2Params),
    /// An X25519 recipient (slot kind 0x0003).
    X25519(X25519Recipient),
}

/// One key slot to write: what opens it and the name stored beside it.
#[derive(Clone, Debug)]
pub struct Recipient {
    /// What opens the slot.
    pub opener: Opener,
    /// The slot's name, UTF-8, at most 255 bytes; may be empty.
    pub name: String,
}

impl Recipient {
    /// A raw-key slot.
    pub fn raw_key(key: ArchiveKey) -> Self {
        Opener::RawKey(key).into()
    }

    /// A passphrase slot with the given Argon2 parameters.
    pub fn passphrase(passphrase: Passphrase, params: Argon2Params) -> Self {
        Opener::Passphrase(passphrase, params).into()
    }

    /// An X25519 recipient slot.
    pub fn x25519(recipient: X25519Recipient) -> Self {
        Opener::X25519(recipient).into()
    }

    /// The same slot, named.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

impl From<Opener> for Recipient {
    fn from(opener: Opener) -> Self {
        Recipient {
            opener,
            name: String::new(),
        }
    }
}

impl From<&ArchiveKey> for Recipient {
    fn from(key: &ArchiveKey) -> Self {
        Recipient::raw_key(key.clone())
    }
}

impl From<ArchiveKey> for Recipient {
    fn from(key: ArchiveKey) -> Self {
        Recipient::raw_key(key)
    }
}

fn wrap_key(ikm: &[u8], salt: &[u8], info: &[u8]) -> Zeroizing<[u8; KEY_LEN]> {
    let mut key = Zeroizing::new([0; KEY_LEN]);
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, key.as_mut())
        .expect("32 bytes is a valid HKDF output length");
    key
}

/// `wrapped_key || wrap_tag`: the file key sealed under `wrap_key`, zero nonce, no AD.
fn seal_file_key(wrap_key: &[u8; KEY_LEN], file_key: &FileKey, out: &mut Vec<u8>) {
    let mut wrapped = Zeroizing::new(*file_key.bytes());
    let tag = ChaCha20Poly1305::new(Key::from_slice(wrap_key))
        .encrypt_in_place_detached(&Nonce::default(), &[], wrapped.as_mut())
        .expect("32 bytes is far below the AEAD's length limit");
    out.extend_from_slice(wrapped.as_ref());
    out.extend_from_slice(&tag);
}

fn open_file_key(wrap_key: &[u8; KEY_LEN], sealed: &[u8]) -> Option<FileKey> {
    let mut key = Zeroizing::new([0; KEY_LEN]);
    key.copy_from_slice(&sealed[..KEY_LEN]);
    ChaCha20Poly1305::new(Key::from_slice(wrap_key))
        .decrypt_in_place_detached(
            &Nonce::default(),
            &[],
            key.as_mut(),
            Tag::from_slice(&sealed[KEY_LEN..KEY_LEN + TAG_LEN]),
        )
        .ok()
        .map(|()| FileKey::from_bytes(key))
}

thread_local! {
    static ARGON2_RUNS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many Argon2id computations this thread has run: a test hook, so a
/// test can check that a command opens a passphrase archive's header once.
#[doc(hidden)]
pub fn argon2_runs_on_this_thread() -> u64 {
    ARGON2_RUNS.with(std::cell::Cell::get)
}

fn argon2_key(
    passphrase: &Passphrase,
    salt: &[u8],
    params: Argon2Params,
) -> Zeroizing<[u8; KEY_LEN]> {
    ARGON2_RUNS.with(|runs| runs.set(runs.get() + 1));
    // A fuzzing build hashes at Argon2's smallest cost whatever the slot
    // declares (the declared costs are still checked against §4.5.1's bounds):
    // a campaign's time goes to parsing, not to one quarter-second hash per input.
    let params = if cfg!(fuzzing) {
        Argon2Params {
            m_cost: 8,
            t_cost: 1,
            p_cost: 1,
        }
    } else {
        params
    };
    let params = Params::new(params.m_cost, params.t_cost, params.p_cost, Some(KEY_LEN))
        .expect("parameters within the spec's bounds are valid Argon2 parameters");
    let mut k = Zeroizing::new([0; KEY_LEN]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.0.as_bytes(), salt, k.as_mut())
        .expect("a 16-byte salt and 32-byte output are valid");
    k
}

/// Builds the slot for one recipient wrapping `file_key`.
pub(crate) fn seal_slot(
    recipient: &Recipient,
    file_key: &FileKey,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<SlotEntry> {
    if recipient.name.len() > 255 {
        return Err(Error::invalid(
            "a key slot name is at most 255 bytes of UTF-8",
        ));
    }
    let (kind, body) = match &recipient.opener {
        Opener::RawKey(key) => {
            return Ok(crate::crypto::seal_raw_slot(
                key,
                &recipient.name,
                file_key,
                rng,
            ));
        }
        Opener::Passphrase(passphrase, params) => {
            params.check().map_err(|error| {
                Error::invalid(format!(
                    "the passphrase slot's Argon2 parameters are outside what readers accept: {error}"
                ))
            })?;
            let mut salt = [0; PASSPHRASE_SALT_LEN];
            rng.fill_bytes(&mut salt);
            let k = argon2_key(passphrase, &salt, *params);
            let wrap = wrap_key(k.as_ref(), &salt, LABEL_PASSPHRASE_WRAP);
            let mut body = Vec::with_capacity(PASSPHRASE_SLOT_LEN);
            body.extend_from_slice(&salt);
            body.extend_from_slice(&params.m_cost.to_le_bytes());
            body.extend_from_slice(&params.t_cost.to_le_bytes());
            body.extend_from_slice(&params.p_cost.to_le_bytes());
            seal_file_key(&wrap, file_key, &mut body);
            (slot_kind::PASSPHRASE, body)
        }
        Opener::X25519(public) => {
            let ephemeral = StaticSecret::random_from_rng(&mut *rng);
            let share = PublicKey::from(&ephemeral);
            let shared = ephemeral.diffie_hellman(&public.0);
            if !shared.was_contributory() {
                return Err(Error::InvalidKey {
                    reason: "the recipient is not a usable X25519 public key (it yields an all-zero shared secret)".into(),
                });
            }
            let mut salt = [0; 64];
            salt[..32].copy_from_slice(share.as_bytes());
            salt[32..].copy_from_slice(public.0.as_bytes());
            let wrap = wrap_key(shared.as_bytes(), &salt, LABEL_X25519_WRAP);
            let mut body = Vec::with_capacity(X25519_SLOT_LEN);
            body.extend_from_slice(share.as_bytes());
            seal_file_key(&wrap, file_key, &mut body);
            (slot_kind::X25519, body)
        }
    };
    Ok(SlotEntry {
        kind,
        name: recipient.name.clone(),
        body,
    })
}

/// The Argon2 parameters of a passphrase slot body, checked for length.
pub(crate) fn passphrase_params(body: &[u8]) -> Result<Argon2Params> {
    if body.len() != PASSPHRASE_SLOT_LEN {
        return Err(Error::header(format!(
            "a passphrase slot is {} bytes long instead of {PASSPHRASE_SLOT_LEN}",
            body.len()
        )));
    }
    let u32_at = |at: usize| u32::from_le_bytes(body[at..at + 4].try_into().expect("4 bytes"));
    Ok(Argon2Params {
        m_cost: u32_at(16),
        t_cost: u32_at(20),
        p_cost: u32_at(24),
    })
}

/// Tries one passphrase slot whose parameters have passed
/// [`Argon2Params::check`].
pub(crate) fn try_passphrase_slot(
    passphrase: &Passphrase,
    body: &[u8],
    params: Argon2Params,
) -> Option<FileKey> {
    let salt = &body[..PASSPHRASE_SALT_LEN];
    let mut k = argon2_key(passphrase, salt, params);
    let wrap = wrap_key(k.as_ref(), salt, LABEL_PASSPHRASE_WRAP);
    k.zeroize();
    open_file_key(&wrap, &body[28..])
}

/// Checks an X25519 slot body's length.
pub(crate) fn check_x25519_slot(body: &[u8]) -> Result<()> {
    if body.len() != X25519_SLOT_LEN {
        return Err(Error::header(format!(
            "an X25519 slot is {} bytes long instead of {X25519_SLOT_LEN}",
            body.len()
        )));
    }
    Ok(())
}

/// Tries one X25519 slot (length already checked). An all-zero shared
/// secret opens nothing, like a slot for someone else.
pub(crate) fn try_x25519_slot(identity: &X25519Identity, body: &[u8]) -> Option<FileKey> {
    let share: [u8; 32] = body[..32].try_into().expect("32 bytes");
    let shared = identity.0.diffie_hellman(&PublicKey::from(share));
    let mut salt = [0; 64];
    salt[..32].copy_from_slice(&share);
    salt[32..].copy_from_slice(identity.recipient().0.as_bytes());
    // Derive and try to unwrap even for a zero secret, so the work done
    // does not tell the cases apart; the result is thrown away.
    let wrap = wrap_key(shared.as_bytes(), &salt, LABEL_X25519_WRAP);
    let opened = open_file_key(&wrap, &body[32..]);
    if shared.was_contributory() {
        opened
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn file_key(bytes: [u8; 32]) -> FileKey {
        FileKey::from_bytes(Zeroizing::new(bytes))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn x25519_slots_open_only_for_their_recipient_and_unchanged(
            key in any::<[u8; 32]>(),
            secret in any::<[u8; 32]>(),
            other in any::<[u8; 32]>(),
            seed in any::<u64>(),
            at in 0usize..X25519_SLOT_LEN,
            mask in 1u8..,
        ) {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
            let identity = X25519Identity::from_bytes(secret);
            let slot = seal_slot(&Recipient::x25519(identity.recipient()), &file_key(key), &mut rng).unwrap();
            prop_assert_eq!(slot.kind, slot_kind::X25519);
            prop_assert_eq!(slot.body.len(), X25519_SLOT_LEN);
            check_x25519_slot(&slot.body).unwrap();
            let opened = try_x25519_slot(&identity, &slot.body).unwrap();
            prop_assert_eq!(opened.bytes(), &key);
            let stranger = X25519Identity::from_bytes(other);
            if stranger.recipient() != identity.recipient() {
                prop_assert!(try_x25519_slot(&stranger, &slot.body).is_none());
            }
            // Any changed byte, in the share or the wrapping, opens nothing.
            let mut changed = slot.body.clone();
            changed[at] ^= mask;
            prop_assert!(try_x25519_slot(&identity, &changed).is_none());
            // A body of another length is refused before it is tried.
            prop_assert!(check_x25519_slot(&slot.body[..X25519_SLOT_LEN - 1]).is_err());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4))]

        #[test]
        fn passphrase_slots_round_trip_and_refuse_changes(
            key in any::<[u8; 32]>(),
            text in "[ -~]{1,24}",
            seed in any::<u64>(),
            at in 0usize..PASSPHRASE_SLOT_LEN,
        ) {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
            let passphrase = Passphrase::new(text.clone()).unwrap();
            let recipient = Recipient::passphrase(passphrase.clone(), Argon2Params::MINIMUM);
            let slot = seal_slot(&recipient, &file_key(key), &mut rng).unwrap();
            prop_assert_eq!(slot.body.len(), PASSPHRASE_SLOT_LEN);
            let params = passphrase_params(&slot.body).unwrap();
            prop_assert_eq!(params, Argon2Params::MINIMUM);
            let opened = try_passphrase_slot(&passphrase, &slot.body, params).unwrap();
            prop_assert_eq!(opened.bytes(), &key);
            let wrong = Passphrase::new(format!("{text}!")).unwrap();
            prop_assert!(try_passphrase_slot(&wrong, &slot.body, params).is_none());
            // A changed salt or wrapping opens nothing; changed costs are
            // either out of bounds or a different Argon2 output.
            let mut changed = slot.body.clone();
            changed[at] ^= 0x01;
            let changed_params = passphrase_params(&changed).unwrap();
            if changed_params.check().is_ok() && changed_params.m_cost <= 2 * 19456 {
                prop_assert!(try_passphrase_slot(&passphrase, &changed, changed_params).is_none());
            }
            prop_assert!(passphrase_params(&slot.body[1..]).is_err());
        }
    }

    #[test]
    fn cost_bounds_are_inclusive() {
        Argon2Params::MINIMUM.check().unwrap();
        Argon2Params::MAXIMUM.check().unwrap();
        Argon2Params::DEFAULT.check().unwrap();
        for params in [
            Argon2Params {
                m_cost: 19455,
                ..Argon2Params::MINIMUM
            },
            Argon2Params {
                m_cost: 262_145,
                ..Argon2Params::MINIMUM
            },
            Argon2Params {
                t_cost: 1,
                ..Argon2Params::MINIMUM
            },
            Argon2Params {
                t_cost: 11,
                ..Argon2Params::MINIMUM
            },
            Argon2Params {
                p_cost: 0,
                ..Argon2Params::MINIMUM
            },
            Argon2Params {
                p_cost: 5,
                ..Argon2Params::MINIMUM
            },
        ] {
            assert!(
                matches!(params.check(), Err(Error::LimitExceeded { .. })),
                "{params:?}"
            );
        }
    }

    #[test]
    fn a_low_order_share_opens_nothing() {
        let identity = X25519Identity::from_bytes([5; 32]);
        let mut body = vec![0; X25519_SLOT_LEN];
        // The all-zero point is of low order: the shared secret is zero.
        assert!(try_x25519_slot(&identity, &body).is_none());
        body[0] = 1;
        assert!(try_x25519_slot(&identity, &body).is_none());
    }
}
