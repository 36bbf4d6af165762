//! Vectors for passphrase and X25519 slots, and for the order in which a
//! reader reports on slots (spec §4.1, §4.5). Each archive is opened by the
//! one identity its manifest entry names (`key`, `passphrase` or `identity`).

use super::{
    Build, Built, KEY, Outcome, SMALL_CHUNK, VectorOpener, base_batches, encoded_metadata,
    random_bytes, small,
};
use crate::Vector;
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
}
