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

    order_vectors(out);
}

/// Which slot outcome a reader reports when several could apply (spec
/// §4.5.3, §7.1 steps 5.5 to 6): passphrase slots count only when a
/// passphrase is offered; the first skipped slot in slot order, and within a
/// slot the first parameter out of bounds, names the limit; a slot of an
/// implemented kind with the wrong length is a damaged header, whatever the
/// identities and the other slots.
fn order_vectors(out: &mut Vec<Vector>) {
    let five_passphrase_slots =
        |header: &mut keepsake::format::Header, rng: &mut rand_chacha::ChaCha20Rng| {
            for _ in 0..5 {
                header
                    .slots
                    .push(hostile_passphrase_slot(rng, Argon2Params::MINIMUM));
            }
        };
    let five = sealed(
        "passphrase-slots-five",
        &[Recipient::raw_key(super::key(KEY))],
        five_passphrase_slots,
    )
    .finish();
    out.push(
        renamed(&five, "passphrase-slots-five-given-wrong-raw-key")
            .fails_at(
                0,
                "a raw-key slot and five passphrase slots within the Argon2 bounds, given a raw key that opens nothing and no passphrase: passphrase slots are not candidates, so the outcome is a wrong key",
                Outcome::WrongKey,
            )
            .with_key(super::OTHER_KEY),
    );
    out.push(
        renamed(&five, "passphrase-slots-five-given-wrong-passphrase")
            .fails_at(
                0,
                "a raw-key slot and five passphrase slots within the Argon2 bounds, given a passphrase that opens none of the four computed: the fifth is never computed",
                Outcome::LimitExceeded {
                    limit: Limit::PassphraseSlots,
                },
            )
            .with_opener(VectorOpener::Passphrase(WRONG_PASSPHRASE.to_owned())),
    );
    out.push(
        renamed(&five, "passphrase-slots-five-opened-by-raw-key")
            .success("a raw-key slot and five passphrase slots within the Argon2 bounds, opened by the raw key: no passphrase slot is computed")
    );
    out.push(
        sealed(
            "passphrase-slot-over-limit-given-wrong-identity",
            &[recipient(ALICE)],
            |header, rng| {
                header.slots.push(hostile_passphrase_slot(
                    rng,
                    Argon2Params {
                        m_cost: 262_145,
                        ..Argon2Params::DEFAULT
                    },
                ));
            },
        )
        .finish()
        .fails_at(
            0,
            "an X25519 slot and a passphrase slot whose m_cost is over the reader maximum, given an X25519 identity it has no slot for: the passphrase slot is not a candidate, so the outcome is a wrong key",
            Outcome::WrongKey,
        )
        .with_opener(VectorOpener::X25519(CAROL)),
    );
    out.push(
        sealed(
            "passphrase-slots-several-out-of-bounds",
            &[Recipient::raw_key(super::key(KEY))],
            |header, rng| {
                header.slots.push(hostile_passphrase_slot(
                    rng,
                    Argon2Params {
                        p_cost: 5,
                        ..Argon2Params::DEFAULT
                    },
                ));
                header.slots.push(hostile_passphrase_slot(
                    rng,
                    Argon2Params {
                        m_cost: 262_145,
                        t_cost: 1,
                        p_cost: 1,
                    },
                ));
            },
        )
        .finish()
        .fails_at(
            0,
            "a raw-key slot, a passphrase slot with p_cost 5, then one with m_cost 262145 and t_cost 1, given a passphrase: the first skipped slot in slot order names the limit, argon2 lanes",
            Outcome::LimitExceeded {
                limit: Limit::Argon2Lanes,
            },
        )
        .with_opener(VectorOpener::Passphrase(PASSPHRASE.to_owned())),
    );
    out.push(
        sealed(
            "passphrase-slot-several-parameters-out-of-bounds",
            &[Recipient::raw_key(super::key(KEY))],
            |header, rng| {
                header.slots.push(hostile_passphrase_slot(
                    rng,
                    Argon2Params {
                        m_cost: 262_145,
                        t_cost: 11,
                        p_cost: 0,
                    },
                ));
            },
        )
        .finish()
        .fails_at(
            0,
            "a raw-key slot and a passphrase slot with m_cost, t_cost and p_cost all out of bounds, given a passphrase: within a slot the parameters are checked in the order m, t, p, so the limit is argon2 memory",
            Outcome::LimitExceeded {
                limit: Limit::Argon2Memory,
            },
        )
        .with_opener(VectorOpener::Passphrase(PASSPHRASE.to_owned())),
    );
    out.push(
        sealed(
            "x25519-slot-79-bytes-beside-unknown-kind",
            &[Recipient::raw_key(super::key(KEY))],
            |header, rng| {
                header.slots = vec![
                    SlotEntry {
                        kind: 0x0010,
                        name: String::new(),
                        body: random_bytes(rng, 40),
                    },
                    SlotEntry {
                        kind: slot_kind::X25519,
                        name: String::new(),
                        body: random_bytes(rng, 79),
                    },
                ];
            },
        )
        .finish()
        .fails_at(
            0,
            "a slot of unassigned kind and an X25519 slot of 79 bytes instead of 80: the length of an implemented kind is checked before anything else about the slots, so the header is damaged, not without a supported slot",
            Outcome::HeaderFailure(super::HeaderError::HeaderCorrupt),
        ),
    );
    out.push(
        sealed(
            "passphrase-slot-75-bytes-given-raw-key",
            &[Recipient::raw_key(super::key(KEY))],
            |header, rng| {
                let mut slot = hostile_passphrase_slot(rng, Argon2Params::MINIMUM);
                slot.body.pop();
                header.slots.push(slot);
            },
        )
        .finish()
        .fails_at(
            0,
            "a raw-key slot that the key opens and a passphrase slot of 75 bytes instead of 76: slot lengths are checked before any slot is tried, whatever the identities offered",
            Outcome::HeaderFailure(super::HeaderError::HeaderCorrupt),
        ),
    );
}
