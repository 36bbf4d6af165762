//! Vectors of damaged frames and misplaced chunks (spec §7.1 steps 8–12).

use keepsake::error::Limit;
use keepsake::format::{ChunkKind, FLAG_COMPRESSED, FLAG_FINAL, FRAME_HEADER_LEN};

use super::*;

pub(crate) fn frame_vectors(base: &Built, out: &mut Vec<Vector>) {
    let b = &base.bytes;
    let span = base.frame(TARGET);
    let at = span.start;
    let corrupt = Outcome::ChunkFailure {
        chunk: TARGET as u64,
    };
    let released = base.before(TARGET);
    let vector = |name: &str, description: &str, bytes: Vec<u8>, outcome: Outcome| {
        Vector::new(name, description, bytes, outcome).with_released(released.clone())
    };

    for (name, description, offset, bit) in [
        (
            "frame-kind-bit-flipped",
            "bit 0 of chunk 2's kind flipped (records to pages)",
            0,
            0,
        ),
        (
            "frame-flags-bit-flipped",
            "bit 1 of chunk 2's flags flipped (COMPRESSED cleared)",
            1,
            1,
        ),
        (
            "frame-stored-len-bit-flipped",
            "bit 0 of chunk 2's stored_len flipped",
            2,
            0,
        ),
        (
            "frame-chunk-index-bit-flipped",
            "bit 0 of chunk 2's chunk index flipped (2 to 3)",
            6,
            0,
        ),
        (
            "frame-chunk-index-high-bit-flipped",
            "bit 7 of the last byte of chunk 2's chunk index flipped",
            13,
            7,
        ),
        (
            "frame-check-bit-flipped",
            "bit 0 of chunk 2's frame_check flipped",
            14,
            0,
        ),
    ] {
        out.push(vector(
            name,
            &format!("{description}; frame_check not recomputed"),
            flip(b, at + offset, bit),
            corrupt,
        ));
    }

    let recomputed = |offset: usize, value: &[u8]| fix_frame_check(set(b, at + offset, value), at);
    let stored_len = (span.end - span.start - FRAME_HEADER_LEN) as u32;
    out.push(vector(
        "frame-kind-changed-check-recomputed",
        "chunk 2's kind changed to ignorable 0x82 with frame_check recomputed: authentication fails before the kind is looked at",
        recomputed(0, &[0x82]),
        corrupt,
    ));
    out.push(vector(
        "frame-compressed-flag-cleared-check-recomputed",
        "chunk 2's COMPRESSED flag cleared with frame_check recomputed: authentication fails",
        recomputed(1, &[0]),
        corrupt,
    ));
    out.push(vector(
        "frame-final-flag-set-check-recomputed",
        "chunk 2's FINAL flag set with frame_check recomputed: authentication fails (nonce and associated data differ)",
        recomputed(1, &[FLAG_COMPRESSED | FLAG_FINAL]),
        corrupt,
    ));
    out.push(vector(
        "frame-reserved-flag-set-check-recomputed",
        "reserved flag bit 0x04 set on chunk 2 with frame_check recomputed",
        recomputed(1, &[FLAG_COMPRESSED | 0x04]),
        corrupt,
    ));
    out.push(vector(
        "frame-chunk-index-changed-check-recomputed",
        "chunk 2's index changed to 3 with frame_check recomputed",
        recomputed(6, &3u64.to_le_bytes()),
        corrupt,
    ));
    out.push(vector(
        "frame-stored-len-shorter-check-recomputed",
        "chunk 2's stored_len one less with frame_check recomputed: the tag is read one byte early and fails",
        recomputed(2, &(stored_len - 1).to_le_bytes()),
        corrupt,
    ));
    out.push(vector(
        "frame-stored-len-below-tag-check-recomputed",
        "chunk 2's stored_len set to 15, shorter than a tag, with frame_check recomputed",
        recomputed(2, &15u32.to_le_bytes()),
        corrupt,
    ));
    let limit = Outcome::LimitExceeded {
        limit: Limit::ChunkSize,
    };
    out.push(vector(
        "frame-stored-len-over-max-chunk-size",
        "chunk 2's stored_len set to 4113 (max_chunk_size + 17) with frame_check recomputed",
        recomputed(2, &(SMALL_CHUNK + 17).to_le_bytes()),
        limit,
    ));
    out.push(vector(
        "frame-stored-len-u32-max",
        "chunk 2's stored_len set to 0xffffffff with frame_check recomputed",
        recomputed(2, &u32::MAX.to_le_bytes()),
        limit,
    ));
    out.push(vector(
        "ciphertext-bit-flipped",
        "bit 0 of chunk 2's first ciphertext byte flipped",
        flip(b, at + FRAME_HEADER_LEN, 0),
        corrupt,
    ));
    out.push(vector(
        "tag-bit-flipped",
        "bit 7 of the last byte of chunk 2's tag flipped",
        flip(b, span.end - 1, 7),
        corrupt,
    ));
    out.push(Vector::new(
        "metadata-ciphertext-bit-flipped",
        "bit 0 of the metadata chunk's first ciphertext byte flipped",
        flip(b, base.frame(0).start + FRAME_HEADER_LEN, 0),
        Outcome::ChunkFailure { chunk: 0 },
    ));
    let last = base.last();
    out.push(
        Vector::new(
            "trailer-ciphertext-bit-flipped",
            "bit 0 of the final frame's first ciphertext byte flipped",
            flip(b, base.frame(last).start + FRAME_HEADER_LEN, 0),
            Outcome::ChunkFailure { chunk: last as u64 },
        )
        .with_released(base.before(last)),
    );

    let piece = |chunk: usize| {
        let span = base.frame(chunk);
        &b[span.start..span.end]
    };
    let head = &b[..base.frame(1).start];
    let tail = &b[base.frame(3).start..];
    out.push(Vector::new(
        "chunks-swapped",
        "chunks 1 and 2 swapped",
        splice(&[head, piece(2), piece(1), tail]),
        Outcome::ChunkFailure { chunk: 1 },
    ));
    out.push(
        Vector::new(
            "chunk-duplicated",
            "chunk 1 repeated in place of chunk 2",
            splice(&[head, piece(1), piece(1), piece(2), tail]),
            Outcome::ChunkFailure { chunk: 2 },
        )
        .with_released(base.before(2)),
    );
    out.push(
        Vector::new(
            "chunk-dropped",
            "chunk 2 removed",
            splice(&[head, piece(1), tail]),
            Outcome::ChunkFailure { chunk: 2 },
        )
        .with_released(base.before(2)),
    );
    out.push(Vector::new(
        "metadata-chunk-dropped",
        "chunk 0, the metadata, removed",
        splice(&[&b[..base.header_len()], &b[base.frame(1).start..]]),
        Outcome::ChunkFailure { chunk: 0 },
    ));
}

pub(crate) fn placement_vectors(out: &mut Vec<Vector>) {
    let records = base_batches();
    let limits = (SMALL_CHUNK, small().max_record_size());

    let mut build = Build::new("final-flag-on-records-chunk", &[KEY], &small());
    build.batch(&records[0]);
    build.frame(ChunkKind::RECORDS, FLAG_FINAL, batch_body(&records[1]));
    build.batch(&records[2]);
    out.push(build.finish().fails_at(
        TARGET,
        "a record batch sealed with the FINAL flag (in its nonce too) as chunk 2",
        Outcome::ChunkFailure { chunk: 2 },
    ));

    let mut build = Build::new("trailer-without-final-flag", &[KEY], &small());
    build.batch(&records[0]);
    let built = build.finish_raw(ChunkKind::TRAILER, 0, |t| t.to_bytes().to_vec());
    out.push(built.fails_at(
        2,
        "a correct trailer sealed without the FINAL flag",
        Outcome::ChunkFailure { chunk: 2 },
    ));

    let mut build = Build::new("trailer-compressed", &[KEY], &small());
    build.batch(&records[0]);
    let built = build.finish_raw(ChunkKind::TRAILER, FLAG_FINAL | FLAG_COMPRESSED, |t| {
        zstd_compress(&t.to_bytes(), 3)
    });
    out.push(built.fails_at(
        2,
        "a correct trailer sealed compressed (zstd) with the FINAL flag",
        Outcome::ChunkFailure { chunk: 2 },
    ));

    let mut build = Build::new("final-chunk-not-trailer", &[KEY], &small());
    build.batch(&records[0]);
    let built = build.finish_raw(ChunkKind(0xC0), FLAG_FINAL, |t| t.to_bytes().to_vec());
    out.push(built.fails_at(
        2,
        "the final frame (FINAL set) has ignorable kind 0xc0 instead of the trailer kind",
        Outcome::ChunkFailure { chunk: 2 },
    ));

    let meta = encoded_metadata(&metadata());
    let mut build = Build::sealed(
        "metadata-missing",
        limits,
        &[(KEY, "")],
        &small(),
        |_, _| {},
    );
    build.batch(&records[0]);
    build.batch(&records[1]);
    out.push(build.finish().fails_at(
        0,
        "chunk 0 is a record batch: the metadata chunk is missing",
        Outcome::ChunkFailure { chunk: 0 },
    ));

    let mut build = Build::new("metadata-repeated", &[KEY], &small());
    build.batch(&records[0]);
    build.chunk(ChunkKind::METADATA, meta.clone());
    build.batch(&records[1]);
    out.push(build.finish().fails_at(
        2,
        "a second metadata chunk as chunk 2",
        Outcome::ChunkFailure { chunk: 2 },
    ));

    let zigzag = |n: i64| ((n << 1) ^ (n >> 63)) as u64;
    let elements_at = 1 + varint(zigzag(CREATED_AT_NS)).len();
    let creator_len = [varint(CREATOR.len() as u64), CREATOR.as_bytes().to_vec()].concat();
    for (name, description, body) in [
        (
            "metadata-trailing-byte",
            "the metadata body followed by one zero byte",
            [meta.clone(), vec![0]].concat(),
        ),
        ("metadata-empty", "an empty metadata body", Vec::new()),
        (
            "metadata-invalid-mode",
            "metadata mode 2, which ArchiveMode does not define",
            set(&meta, 0, &[2]),
        ),
        (
            "metadata-invalid-bool",
            "metadata elements.messages encoded as 02, not a bool",
            set(&meta, elements_at, &[2]),
        ),
        (
            "metadata-non-canonical-length",
            "the creator's length written as a two-byte varint (over-long)",
            replace_once(
                &meta,
                &creator_len,
                &[&[0x80 | CREATOR.len() as u8, 0x00][..], CREATOR.as_bytes()].concat(),
            ),
        ),
    ] {
        let mut build = Build::sealed(name, limits, &[(KEY, "")], &small(), |_, _| {});
        build.chunk(ChunkKind::METADATA, body);
        build.batch(&records[0]);
        out.push(
            build
                .finish()
                .fails_at(0, description, Outcome::ChunkFailure { chunk: 0 }),
        );
    }
}
