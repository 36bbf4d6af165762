//! Vectors for passphrase and X25519 slots and Ed25519 signatures (spec
//! §4.5, §6.6.3). Each archive is opened by the one identity its manifest
//! entry names (`key`, `passphrase` or `identity`); signature vectors state
//! the status a reader must report.

use super::{
    Build, Built, KEY, Outcome, SMALL_CHUNK, VectorOpener, base_batches, encoded_metadata,
    random_bytes, small,
};
use crate::Vector;
use keepsake::crypto::signature::{SignatureStatus, SigningKey};
use keepsake::crypto::slots::{Argon2Params, Passphrase, Recipient, X25519Identity};
use keepsake::error::Limit;
use keepsake::format::{ChunkKind, SlotEntry, slot_kind};

/// The passphrase of the passphrase-slot vectors.
pub const PASSPHRASE: &str = "correct horse battery staple";
/// A passphrase that opens none of them.
pub const WRONG_PASSPHRASE: &str = "correct horse battery stapler";
/// The first recipient's secret.
pub const ALICE: [u8; 32] = [0x41; 32];
/// The second recipient's secret.
pub const BOB: [u8; 32] = [0x42; 32];
/// An identity no vector is written for.
pub const CAROL: [u8; 32] = [0x43; 32];
/// The seed of the signing key of the signed vectors.
pub const SIGNER: [u8; 32] = [0x53; 32];
/// The seed of another signing key.
pub const OTHER_SIGNER: [u8; 32] = [0x54; 32];

fn passphrase(text: &str) -> Passphrase {
    Passphrase::new(text).expect("not empty")
}

fn recipient(secret: [u8; 32]) -> Recipient {
    Recipient::x25519(X25519Identity::from_bytes(secret).recipient())
}

/// [`Build::sealed_for`] followed by the usual metadata chunk and one batch.
fn sealed(
    name: &str,
    recipients: &[Recipient],
    edit: impl FnOnce(&mut keepsake::format::Header, &mut rand_chacha::ChaCha20Rng),
) -> Build {
    let limits = (SMALL_CHUNK, small().max_record_size());
    let mut build = Build::sealed_for(name, limits, recipients, &small(), edit);
    let body = encoded_metadata(&build.metadata);
    build.chunk(ChunkKind::METADATA, body);
    build.batch(&base_batches()[0]);
    build
}

fn renamed(built: &Built, name: &str) -> Built {
    let mut built = built.clone();
    built.name = name.to_owned();
    built
}

/// A passphrase slot that is never computed: salt, the given costs, random wrapping.
fn hostile_passphrase_slot(rng: &mut rand_chacha::ChaCha20Rng, params: Argon2Params) -> SlotEntry {
    let mut body = random_bytes(rng, 16);
    body.extend_from_slice(&params.m_cost.to_le_bytes());
    body.extend_from_slice(&params.t_cost.to_le_bytes());
    body.extend_from_slice(&params.p_cost.to_le_bytes());
    body.extend_from_slice(&random_bytes(rng, 48));
    SlotEntry {
        kind: slot_kind::PASSPHRASE,
        name: String::new(),
        body,
    }
}

pub(super) fn vectors(out: &mut Vec<Vector>) {
    let every_kind = sealed(
        "every-slot-kind",
        &[
            Recipient::raw_key(super::key(KEY)).named("phone"),
            Recipient::passphrase(passphrase(PASSPHRASE), Argon2Params::MINIMUM).named("memorised"),
            recipient(ALICE).named("alice"),
            recipient(BOB),
        ],
        |_, _| {},
    )
    .finish();
    let openers = [
        ("raw-key", VectorOpener::RawKey),
        (
            "passphrase",
            VectorOpener::Passphrase(PASSPHRASE.to_owned()),
        ),
        ("first-recipient", VectorOpener::X25519(ALICE)),
        ("second-recipient", VectorOpener::X25519(BOB)),
    ];
    for (which, opener) in openers {
        out.push(
            renamed(&every_kind, &format!("every-slot-kind-opened-by-{which}"))
                .success(&format!(
                    "a raw-key, a passphrase (Argon2id m=19456 t=2 p=1) and two X25519 recipient slots, opened by the {}",
                    which.replace('-', " ")
                ))
                .with_opener(opener),
        );
    }
    out.push(
        renamed(&every_kind, "every-slot-kind-wrong-passphrase")
            .fails_at(
                0,
                "the archive of every slot kind, given a passphrase that opens none of its slots",
                Outcome::WrongKey,
            )
            .with_opener(VectorOpener::Passphrase(WRONG_PASSPHRASE.to_owned())),
    );
    out.push(
        renamed(&every_kind, "every-slot-kind-wrong-identity")
            .fails_at(
                0,
                "the archive of every slot kind, given an X25519 identity it has no slot for",
                Outcome::WrongKey,
            )
            .with_opener(VectorOpener::X25519(CAROL)),
    );

    for (name, params, limit, what) in [
        (
            "passphrase-slot-argon2-memory-over-limit",
            Argon2Params {
                m_cost: 262_145,
                ..Argon2Params::DEFAULT
            },
            Limit::Argon2Memory,
            "m_cost 262145 KiB, one over the reader maximum",
        ),
        (
            "passphrase-slot-argon2-passes-below-minimum",
            Argon2Params {
                t_cost: 1,
                ..Argon2Params::DEFAULT
            },
            Limit::Argon2Passes,
            "t_cost 1, below the minimum of 2",
        ),
    ] {
        out.push(
            sealed(name, &[Recipient::raw_key(super::key(KEY))], |header, rng| {
                header.slots.push(hostile_passphrase_slot(rng, params));
            })
            .finish()
            .fails_at(
                0,
                &format!(
                    "a raw-key slot and a passphrase slot with {what}, given a passphrase: the slot is never computed"
                ),
                Outcome::LimitExceeded { limit },
            )
            .with_opener(VectorOpener::Passphrase(PASSPHRASE.to_owned())),
        );
    }

    out.push(
        sealed(
            "unknown-slot-kind-beside-x25519-slot",
            &[recipient(ALICE)],
            |header, rng| {
                header.slots.insert(
                    0,
                    SlotEntry {
                        kind: 0x0010,
                        name: "future".to_owned(),
                        body: random_bytes(rng, 40),
                    },
                );
            },
        )
        .finish()
        .success("a slot of unassigned kind 0x0010 before an X25519 slot: skipped, and the X25519 slot opens")
        .with_opener(VectorOpener::X25519(ALICE)),
    );

    let signing = SigningKey::from_bytes(SIGNER);
    let other = SigningKey::from_bytes(OTHER_SIGNER);
    let signed = |name: &str, key: &SigningKey, flip: bool| {
        let build = super::Build::new(name, &[KEY], &small());
        let mut build = build;
        build.batch(&base_batches()[0]);
        let prelude = *build.writer.prelude();
        build.finish_with(|trailer| {
            key.sign(&prelude, trailer);
            if flip {
                trailer.signature[40] ^= 0x01;
            }
        })
    };
    out.push(
        signed("signed-ed25519", &signing, false)
            .success("an archive signed with Ed25519 (scheme 1): the signature is valid")
            .with_signature(SignatureStatus::Valid(signing.signer())),
    );
    out.push(
        signed("signed-ed25519-bad-signature", &signing, true)
            .success("an Ed25519 signature block with one bit of R flipped: the archive reads, and its signature is reported invalid")
            .with_signature(SignatureStatus::Invalid(signing.signer())),
    );
    out.push(
        signed("signed-ed25519-by-another-key", &other, false)
            .success("an archive validly signed by another Ed25519 key: valid, by that key; a verifier trusting only the key of signed-ed25519 refuses it")
            .with_signature(SignatureStatus::Valid(other.signer())),
    );
}
