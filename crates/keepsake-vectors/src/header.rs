//! Vectors of damaged and unsupported headers (spec §7.1 steps 1–7).

use keepsake::error::Limit;
use keepsake::format::{ChunkKind, SlotEntry};

use super::*;

pub(crate) fn header_vectors(base: &Built, out: &mut Vec<Vector>) {
    let corrupt = Outcome::HeaderFailure(HeaderError::HeaderCorrupt);
    let vector = Vector::new;
    let b = &base.bytes;
    // Offsets in a header with one unnamed raw-key slot (spec §3, §4.1, §4.2).
    let slot = 58;
    let body = slot + 5;
    let table_check = body + 80;
    let mac = table_check + 4;
    assert_eq!(mac + 32, base.header_len());

    out.push(vector(
        "magic-bit-flipped",
        "bit 5 of magic byte 1 flipped ('K' to 'k')",
        flip(b, 1, 5),
        Outcome::HeaderFailure(HeaderError::NotAnArchive),
    ));
    out.push(vector(
        "not-an-archive-text",
        "a text file, not an archive",
        b"Hello, this is not a Keepsake archive.\n".to_vec(),
        Outcome::HeaderFailure(HeaderError::NotAnArchive),
    ));
    out.push(vector(
        "not-an-archive-short",
        "three bytes whose third differs from the magic: NotAnArchive although the input is shorter than the magic",
        vec![0x89, b'K', b'X'],
        Outcome::HeaderFailure(HeaderError::NotAnArchive),
    ));
    out.push(vector(
        "version-bit-flipped",
        "bit 1 of the version flipped (version 3); the fixed check value is not recomputed, and the version is checked first",
        flip(b, 8, 1),
        Outcome::UnsupportedVersion { version: 3 },
    ));
    out.push(vector(
        "version-2",
        "format version 2 from the future, with the fixed check value recomputed",
        fix_fixed_check(set(b, 8, &[2, 0])),
        Outcome::UnsupportedVersion { version: 2 },
    ));
    out.push(vector(
        "version-big-endian",
        "version bytes 00 01 (version 256, as a big-endian writer would put 1), fixed check recomputed",
        fix_fixed_check(set(b, 8, &[0, 1])),
        Outcome::UnsupportedVersion { version: 256 },
    ));
    out.push(vector(
        "version-0",
        "format version 0, with the fixed check value recomputed",
        fix_fixed_check(set(b, 8, &[0, 0])),
        Outcome::UnsupportedVersion { version: 0 },
    ));
    out.push(vector(
        "version-only",
        "ten bytes: the magic and version 2, nothing else; the version is reported before the missing bytes",
        [&b[..8], &[2, 0][..]].concat(),
        Outcome::UnsupportedVersion { version: 2 },
    ));
    out.push(vector(
        "suite-2",
        "cipher suite 2, with the fixed check value recomputed",
        fix_fixed_check(set(b, 10, &[2, 0])),
        Outcome::HeaderFailure(HeaderError::UnsupportedSuite(2)),
    ));

    let flips: [(&str, &str, usize, u8); 17] = [
        ("suite-bit-flipped", "bit 0 of the suite flipped", 10, 0),
        (
            "max-chunk-size-bit-flipped",
            "bit 3 of max_chunk_size's second byte flipped",
            13,
            3,
        ),
        (
            "max-record-size-bit-flipped",
            "bit 0 of max_record_size flipped",
            16,
            0,
        ),
        (
            "salt-bit-flipped",
            "bit 7 of the archive salt's first byte flipped",
            20,
            7,
        ),
        (
            "slot-table-length-bit-flipped",
            "bit 2 of slot_table_len flipped",
            52,
            2,
        ),
        (
            "fixed-check-bit-flipped",
            "bit 0 of fixed_check flipped",
            54,
            0,
        ),
        (
            "slot-kind-bit-flipped",
            "bit 1 of the slot kind flipped (0x0001 to 0x0003)",
            slot,
            1,
        ),
        (
            "slot-body-length-bit-flipped",
            "bit 0 of the slot's body_len flipped",
            slot + 2,
            0,
        ),
        (
            "slot-name-length-bit-flipped",
            "bit 0 of the slot's name_len flipped",
            slot + 4,
            0,
        ),
        (
            "slot-salt-bit-flipped",
            "bit 4 of the slot salt flipped",
            body + 3,
            4,
        ),
        (
            "slot-check-bit-flipped",
            "bit 4 of the slot's key-check value flipped",
            body + 16,
            4,
        ),
        (
            "wrapped-key-bit-flipped",
            "bit 4 of the wrapped file key flipped",
            body + 40,
            4,
        ),
        (
            "wrap-tag-bit-flipped",
            "bit 4 of the wrapped key's tag flipped",
            body + 79,
            4,
        ),
        (
            "table-check-bit-flipped",
            "bit 6 of table_check flipped",
            table_check + 1,
            6,
        ),
        (
            "header-mac-bit-flipped",
            "bit 0 of the header MAC flipped",
            mac,
            0,
        ),
        (
            "header-mac-last-bit-flipped",
            "bit 7 of the header MAC's last byte flipped",
            mac + 31,
            7,
        ),
        (
            "salt-last-bit-flipped",
            "bit 0 of the archive salt's last byte flipped",
            51,
            0,
        ),
    ];
    for (name, description, offset, bit) in flips {
        out.push(vector(
            name,
            &format!("{description}; no check value recomputed"),
            flip(b, offset, bit),
            corrupt,
        ));
    }

    // The same fields changed with the check values recomputed, so that the
    // defect reaches the key slot or the header MAC.
    out.push(vector(
        "max-chunk-size-changed-check-recomputed",
        "max_chunk_size doubled to 8192 with fixed_check recomputed: the header MAC fails",
        fix_fixed_check(set(b, 12, &8192u32.to_le_bytes())),
        corrupt,
    ));
    out.push(vector(
        "salt-changed-check-recomputed",
        "the archive salt's first byte changed with fixed_check recomputed: the header MAC fails",
        fix_fixed_check(flip(b, 20, 0)),
        corrupt,
    ));
    out.push(vector(
        "slot-check-changed-table-check-recomputed",
        "the slot's key-check value changed with table_check recomputed: the slot still opens, the header MAC fails",
        fix_table_check(flip(b, body + 16, 0)),
        corrupt,
    ));
    out.push(vector(
        "wrapped-key-changed-table-check-recomputed",
        "the wrapped file key changed with table_check recomputed: the key-check value matches but the unwrap fails (a damaged slot)",
        fix_table_check(flip(b, body + 40, 0)),
        corrupt,
    ));
    out.push(vector(
        "wrap-tag-changed-table-check-recomputed",
        "the wrapped key's tag changed with table_check recomputed: a damaged slot, not a wrong key",
        fix_table_check(flip(b, body + 79, 0)),
        corrupt,
    ));
    out.push(vector(
        "slot-salt-changed-table-check-recomputed",
        "the slot salt changed with table_check recomputed: neither the key-check value nor the unwrap matches, which no reader can tell from a wrong key",
        fix_table_check(flip(b, body, 0)),
        Outcome::WrongKey,
    ));
    out.push(vector(
        "slot-kind-changed-table-check-recomputed",
        "the only slot's kind changed to 0x0002 (passphrase) with table_check recomputed: an 80-byte passphrase slot is malformed",
        fix_table_check(set(b, slot, &[2, 0])),
        corrupt,
    ));
    out.push(vector(
        "slot-entry-overruns-table",
        "the slot's body_len raised to 81 with table_check recomputed: the entry runs past the slot table",
        fix_table_check(set(b, slot + 2, &81u16.to_le_bytes())),
        corrupt,
    ));

    let header_len = base.header_len();
    let frames = &b[header_len..];
    let with_table = |table: &[u8]| {
        let mut bytes = b[..52].to_vec();
        bytes.extend_from_slice(&(table.len() as u16).to_le_bytes());
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(table);
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(&b[mac..header_len]);
        bytes.extend_from_slice(frames);
        fix_table_check(fix_fixed_check(bytes))
    };
    out.push(vector(
        "slot-table-empty",
        "slot_table_len 0 with both check values recomputed: a header without key slots",
        with_table(&[]),
        corrupt,
    ));
    out.push(vector(
        "slot-table-trailing-bytes",
        "three zero bytes after the last slot entry, slot_table_len and both check values adjusted: too short for another entry",
        with_table(&[&b[slot..table_check], &[0, 0, 0][..]].concat()),
        corrupt,
    ));

    let limits = (SMALL_CHUNK, small().max_record_size());
    let named = Build::sealed_with_metadata(
        "slot-name-invalid-utf8",
        limits,
        &[(KEY, "phone é")],
        &small(),
        |_, _| {},
    )
    .finish();
    let e_acute_tail = slot + 5 + "phone é".len() - 1;
    out.push(vector(
        "slot-name-invalid-utf8",
        "a slot name whose last byte is changed so it is not UTF-8, table_check recomputed",
        fix_table_check(set(&named.bytes, e_acute_tail, &[0x28])),
        corrupt,
    ));
    out.push(vector(
        "slot-name-changed-table-check-recomputed",
        "a slot name's first byte changed with table_check recomputed: the header MAC covers the names",
        fix_table_check(flip(&named.bytes, slot + 5, 5)),
        corrupt,
    ));

    let unknown = Build::sealed_with_metadata(
        "unknown-slot-body-changed",
        limits,
        &[(KEY, "")],
        &small(),
        |header, rng| {
            header.slots.push(SlotEntry {
                kind: 0x0100,
                name: String::new(),
                body: random_bytes(rng, 16),
            });
        },
    )
    .finish();
    out.push(vector(
        "unknown-slot-body-changed",
        "a byte of an unknown-kind slot's body changed, table_check recomputed: the header MAC covers slots a reader skips",
        fix_table_check(flip(&unknown.bytes, table_check + 5, 0)),
        corrupt,
    ));

    for (name, limits, description, outcome) in [
        (
            "max-chunk-size-below-minimum",
            (SMALL_CHUNK - 1, SMALL_CHUNK - 9),
            "a header declaring max_chunk_size 4095, below the minimum of 4096, MAC valid",
            corrupt,
        ),
        (
            "max-record-size-zero",
            (SMALL_CHUNK, 0),
            "a header declaring max_record_size 0, MAC valid",
            corrupt,
        ),
        (
            "max-record-size-above-chunk-size",
            (SMALL_CHUNK, SMALL_CHUNK + 1),
            "a header declaring max_record_size 4097 above max_chunk_size 4096, MAC valid",
            corrupt,
        ),
        (
            "max-chunk-size-over-reader-limit",
            (READER_CHUNK_LIMIT + 1, READER_CHUNK_LIMIT + 1 - 8),
            "a header declaring max_chunk_size 64 MiB + 1, over the manifest's reader limit; valid otherwise",
            Outcome::LimitExceeded {
                limit: Limit::ChunkSize,
            },
        ),
    ] {
        let mut build =
            Build::sealed_with_metadata(name, limits, &[(KEY, "")], &small(), |_, _| {});
        build.batch(&base_batches()[0]);
        out.push(build.finish().fails_at(0, description, outcome));
    }

    let mut build = Build::sealed_with_metadata(
        "max-record-size-one",
        (SMALL_CHUNK, 1),
        &[(KEY, "")],
        &small(),
        |_, _| {},
    );
    build.chunk(ChunkKind(0xC0), b"no record fits".to_vec());
    out.push(
        build
            .finish()
            .success("a header declaring max_record_size 1, the smallest allowed, and no records"),
    );

    let mut build = Build::new(
        "max-chunk-size-at-reader-limit",
        &[KEY],
        &options(READER_CHUNK_LIMIT, 3),
    );
    build.batch(&base_batches()[0]);
    out.push(
        build.finish().success(
            "a header declaring max_chunk_size 64 MiB, exactly the manifest's reader limit",
        ),
    );

    let twin = base_build("base-twin").finish();
    out.push(
        Vector::new(
            "header-from-another-archive",
            "the base archive's header replaced by the header of another archive for the same key: frame 0 fails authentication",
            splice(&[&twin.bytes[..twin.header_len()], &b[header_len..]]),
            Outcome::ChunkFailure { chunk: 0 },
        ),
    );
    let span = base.frame(TARGET);
    let twin_span = twin.frame(TARGET);
    out.push(
        Vector::new(
            "chunk-from-another-archive",
            "chunk 2 replaced by chunk 2 of another archive for the same key: it fails authentication",
            splice(&[
                &b[..span.start],
                &twin.bytes[twin_span.start..twin_span.end],
                &b[span.end..],
            ]),
            Outcome::ChunkFailure {
                chunk: TARGET as u64,
            },
        )
        .with_released(base.before(TARGET)),
    );
}
