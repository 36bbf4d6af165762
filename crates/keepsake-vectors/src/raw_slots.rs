//! Vectors of raw-key slots: several keys, damaged slots, wrong keys.

use keepsake::format::{SlotEntry, slot_kind};

use super::*;

pub(crate) fn key_slot_vectors(out: &mut Vec<Vector>) {
    let records = base_batches();
    let limits = (SMALL_CHUNK, small().max_record_size());

    let mut build = Build::new("two-key-slots-first-key", &[KEY, SECOND_KEY], &small());
    build.batch(&records[0]);
    out.push(
        build
            .finish()
            .success("two raw-key slots, opened by the first"),
    );

    let mut build = Build::new("two-key-slots-second-key", &[SECOND_KEY, KEY], &small());
    build.batch(&records[0]);
    out.push(
        build
            .finish()
            .success("two raw-key slots, opened by the second"),
    );

    let mut build = Build::new("two-key-slots-same-key", &[KEY, KEY], &small());
    build.batch(&records[0]);
    out.push(
        build
            .finish()
            .success("two raw-key slots for the same key, each with its own slot salt"),
    );

    let mut build = Build::sealed_with_metadata(
        "slot-name",
        limits,
        &[(KEY, "Alice's phone 📱")],
        &small(),
        |_, _| {},
    );
    build.batch(&records[0]);
    out.push(
        build
            .finish()
            .success("a raw-key slot named \"Alice's phone 📱\""),
    );

    let long_name = format!("{}abc", "🔑".repeat(63));
    assert_eq!(long_name.len(), 255);
    let mut build = Build::sealed_with_metadata(
        "slot-name-255-bytes",
        limits,
        &[(KEY, &long_name)],
        &small(),
        |_, _| {},
    );
    build.batch(&records[0]);
    out.push(
        build
            .finish()
            .success("a raw-key slot whose name is 255 bytes long, the maximum"),
    );

    let mut build = Build::sealed_with_metadata(
        "reserved-slot-kind-beside-raw-key",
        limits,
        &[(KEY, "")],
        &small(),
        |header, rng| {
            header.slots.insert(
                0,
                SlotEntry {
                    kind: slot_kind::PASSPHRASE,
                    name: "passphrase".to_owned(),
                    body: random_bytes(rng, 60),
                },
            );
        },
    );
    build.batch(&records[0]);
    out.push(build.finish().fails_at(
        0,
        "a passphrase slot (kind 0x0002) of 60 bytes instead of 76 before the raw-key slot; written when the kind was reserved, it is malformed now that the kind is defined",
        Outcome::HeaderFailure(HeaderError::HeaderCorrupt),
    ));

    let mut build = Build::sealed_with_metadata(
        "unassigned-slot-kind-beside-raw-key",
        limits,
        &[(KEY, "")],
        &small(),
        |header, _| {
            header.slots.push(SlotEntry {
                kind: 0xFFFF,
                name: "future".to_owned(),
                body: Vec::new(),
            });
        },
    );
    build.batch(&records[0]);
    out.push(build.finish().success(
        "a slot of unassigned kind 0xffff with an empty body after the raw-key slot: skipped unread",
    ));

    let mut build = Build::sealed_with_metadata(
        "many-key-slots-last-opens",
        limits,
        &[(OTHER_KEY, "old"), (SECOND_KEY, "laptop"), (KEY, "phone")],
        &small(),
        |header, rng| {
            header.slots.insert(
                1,
                SlotEntry {
                    kind: slot_kind::X25519,
                    name: String::new(),
                    body: random_bytes(rng, 80),
                },
            );
        },
    );
    build.batch(&records[0]);
    out.push(build.finish().success(
        "four slots: raw key, reserved kind 0x0003, raw key, and last the raw-key slot that opens",
    ));

    let mut build = Build::new("wrong-key", &[KEY], &small());
    build.batch(&records[0]);
    out.push(
        build
            .finish()
            .fails_at(
                0,
                "the key given is not the archive's key",
                Outcome::WrongKey,
            )
            .with_key(OTHER_KEY),
    );

    let mut build = Build::new("wrong-key-two-slots", &[KEY, SECOND_KEY], &small());
    build.batch(&records[0]);
    out.push(
        build
            .finish()
            .fails_at(
                0,
                "the key given opens neither of two raw-key slots",
                Outcome::WrongKey,
            )
            .with_key(OTHER_KEY),
    );

    let header_corrupt = Outcome::HeaderFailure(HeaderError::HeaderCorrupt);
    let mut build = Build::sealed_with_metadata(
        "only-reserved-slot-kinds",
        limits,
        &[(KEY, "")],
        &small(),
        |header, rng| {
            header.slots = vec![
                SlotEntry {
                    kind: slot_kind::PASSPHRASE,
                    name: String::new(),
                    body: random_bytes(rng, 60),
                },
                SlotEntry {
                    kind: slot_kind::X25519,
                    name: String::new(),
                    body: random_bytes(rng, 80),
                },
            ];
        },
    );
    build.batch(&records[0]);
    out.push(build.finish().fails_at(
        0,
        "a passphrase slot of 60 bytes instead of 76 and a random X25519 slot; written when both kinds were reserved, the passphrase slot is malformed now that the kind is defined",
        Outcome::HeaderFailure(HeaderError::HeaderCorrupt),
    ));

    let mut build = Build::sealed_with_metadata(
        "only-unassigned-slot-kinds",
        limits,
        &[(KEY, "")],
        &small(),
        |header, rng| {
            header.slots = vec![
                SlotEntry {
                    kind: 0x0004,
                    name: String::new(),
                    body: random_bytes(rng, 80),
                },
                SlotEntry {
                    kind: 0xFFFF,
                    name: "future".to_owned(),
                    body: Vec::new(),
                },
            ];
        },
    );
    build.batch(&records[0]);
    out.push(build.finish().fails_at(
        0,
        "the only slots are of unassigned kinds 0x0004 and 0xFFFF, which no reader of this revision implements",
        Outcome::HeaderFailure(HeaderError::NoSupportedSlot),
    ));

    for (name, len) in [("raw-key-slot-79-bytes", 79), ("raw-key-slot-81-bytes", 81)] {
        let mut build =
            Build::sealed_with_metadata(name, limits, &[(KEY, "")], &small(), |header, _| {
                header.slots[0].body.resize(len, 0);
            });
        build.batch(&records[0]);
        out.push(build.finish().fails_at(
            0,
            &format!(
                "a raw-key slot body of {len} bytes instead of 80, with the header MAC recomputed"
            ),
            header_corrupt,
        ));
    }
}
