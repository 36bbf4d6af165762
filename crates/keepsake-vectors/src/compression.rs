//! Vectors of compressed frames and of extension points: zstd at and over
//! the limits, unknown chunk kinds and slot kinds.

use rand_chacha::ChaCha20Rng;

use keepsake::error::Limit;
use keepsake::format::{ChunkKind, FLAG_COMPRESSED};

use super::*;

pub(crate) fn compression_vectors(out: &mut Vec<Vector>) {
    for (level, what) in [
        (1, "zstd level 1"),
        (19, "zstd level 19"),
        (22, "zstd level 22, the maximum"),
        (-5, "zstd level -5, a fast negative level"),
    ] {
        let name = if level < 0 {
            format!("zstd-level-minus-{}", -level)
        } else {
            format!("zstd-level-{level}")
        };
        let mut build = Build::new(&name, &[KEY], &options(SMALL_CHUNK, level));
        build.records(&typical(2, 20));
        out.push(
            build
                .finish()
                .success(&format!("the many-chunk content compressed with {what}")),
        );
    }

    let records = base_batches();
    let mut build = Build::new("zstd-frame-longer-than-body", &[KEY], &small());
    build.batch_stored(&records[0], FLAG_COMPRESSED, |body| {
        zstd_raw(body, ZstdWindow::ContentSize(None), None, usize::MAX)
    });
    out.push(build.finish().success(
        "a compressed chunk whose zstd frame (one raw block) is longer than its body: readers must accept it",
    ));

    let mut build = Build::new("zstd-window-at-limit", &[KEY], &small());
    build.batch_stored(&records[0], FLAG_COMPRESSED, |body| {
        zstd_raw(body, ZstdWindow::Descriptor(WINDOW_4096), None, 100)
    });
    out.push(build.finish().success(
        "a zstd frame with no content size and a window of exactly max_chunk_size (4096), in several raw blocks",
    ));

    let mut build = Build::new("zstd-frame-with-checksum", &[KEY], &small());
    build.batch_stored(&records[1], FLAG_COMPRESSED, |body| {
        let mut compressor = zstd::bulk::Compressor::new(3).expect("zstd");
        compressor
            .set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))
            .expect("zstd");
        compressor.compress(body).expect("zstd")
    });
    out.push(
        build
            .finish()
            .success("a zstd frame carrying the optional content checksum"),
    );

    // Failures in the compressed form of chunk 2, after a valid batch.
    let failing = |name: &str,
                   description: &str,
                   outcome: Outcome,
                   stored: &dyn Fn(&[u8], &mut ChaCha20Rng) -> Vec<u8>| {
        let mut build = Build::new(name, &[KEY], &small());
        build.batch(&records[0]);
        let body = batch_body(&records[1]);
        let bytes = stored(&body, &mut build.rng);
        build.frame(ChunkKind::RECORDS, FLAG_COMPRESSED, bytes);
        build.batch(&records[2]);
        let built = build.finish();
        built.fails_at(TARGET, description, outcome)
    };
    let limit = Outcome::LimitExceeded {
        limit: Limit::ChunkSize,
    };
    let corrupt = Outcome::ChunkFailure {
        chunk: TARGET as u64,
    };
    out.push(failing(
        "zstd-window-over-limit",
        "a zstd frame whose window (4608 bytes) exceeds max_chunk_size (4096) though its content is small",
        limit,
        &|body, _| zstd_raw(body, ZstdWindow::Descriptor(WINDOW_4608), None, usize::MAX),
    ));
    out.push(failing(
        "zstd-content-size-over-limit",
        "a zstd frame declaring (and holding) 4097 bytes of content, one more than max_chunk_size",
        limit,
        &|_, _| zstd_compress(&[0x20; SMALL_CHUNK as usize + 1], 3),
    ));
    out.push(failing(
        "zstd-bomb-declared-size",
        "a zstd frame of a few dozen bytes declaring and holding 1 MiB of zeros",
        limit,
        &|_, _| zstd_compress(&vec![0; 1 << 20], 3),
    ));
    out.push(failing(
        "zstd-output-over-limit",
        "a 14-byte zstd frame with no content size and a 4096-byte window whose two RLE blocks expand to 4097 bytes",
        limit,
        &|_, _| zstd_rle(&[SMALL_CHUNK as usize, 1]),
    ));
    out.push(failing(
        "zstd-bomb-undeclared-size",
        "a zstd frame with no content size and a 4096-byte window whose 256 RLE blocks expand to 1 MiB",
        limit,
        &|_, _| zstd_rle(&[SMALL_CHUNK as usize; 256]),
    ));
    out.push(failing(
        "zstd-not-zstd",
        "a chunk flagged COMPRESSED whose stored plaintext is random bytes, not a zstd frame",
        corrupt,
        &|body, rng| random_bytes(rng, body.len()),
    ));
    out.push(failing(
        "zstd-frame-cut-short",
        "a zstd frame missing its last byte",
        corrupt,
        &|body, _| {
            let mut frame = zstd_compress(body, 3);
            frame.pop();
            frame
        },
    ));
    out.push(failing(
        "zstd-byte-after-frame",
        "a complete zstd frame followed by one stray zero byte",
        corrupt,
        &|body, _| [zstd_compress(body, 3), vec![0]].concat(),
    ));
    out.push(failing(
        "zstd-two-frames",
        "two complete zstd frames, each holding half the body: the stored plaintext must be exactly one frame",
        corrupt,
        &|body, _| {
            let (first, second) = body.split_at(body.len() / 2);
            [zstd_compress(first, 3), zstd_compress(second, 3)].concat()
        },
    ));
    out.push(failing(
        "zstd-skippable-frame",
        "a zstd skippable frame (magic 0x184d2a50) before the frame holding the body",
        corrupt,
        &|body, _| {
            [
                &[0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 1, 2, 3, 4][..],
                &zstd_compress(body, 3),
            ]
            .concat()
        },
    ));
    out.push(failing(
        "zstd-checksum-mismatch",
        "a zstd frame whose content checksum does not match its content",
        corrupt,
        &|body, _| {
            let mut compressor = zstd::bulk::Compressor::new(3).expect("zstd");
            compressor
                .set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))
                .expect("zstd");
            let mut frame = compressor.compress(body).expect("zstd");
            let last = frame.len() - 1;
            frame[last] ^= 0x01;
            frame
        },
    ));
    out.push(failing(
        "zstd-dictionary-required",
        "a zstd frame naming dictionary 7, which no reader has",
        corrupt,
        &|body, _| zstd_raw(body, ZstdWindow::ContentSize(None), Some(7), usize::MAX),
    ));
    out.push(failing(
        "zstd-content-size-mismatch",
        "a zstd frame declaring one byte more content than its raw block holds",
        corrupt,
        &|body, _| {
            zstd_raw(
                body,
                ZstdWindow::ContentSize(Some(body.len() as u32 + 1)),
                None,
                usize::MAX,
            )
        },
    ));
}

pub(crate) fn extension_vectors(out: &mut Vec<Vector>) {
    let records = base_batches();
    let text = "an extension this reader does not know; "
        .repeat(20)
        .into_bytes();

    let mut build = Build::new("unknown-ignorable-chunk", &[KEY], &small());
    build.batch(&records[0]);
    build.chunk(ChunkKind(0xC7), text.clone());
    build.batch(&records[1]);
    let built = build.finish();
    assert_eq!(built.frame(2).flags, FLAG_COMPRESSED);
    out.push(built.success(
        "an ignorable chunk of unassigned kind 0xc7 (compressed) between two batches: skipped, but counted in the digest",
    ));

    let mut build = Build::new("unknown-ignorable-chunk-empty", &[KEY], &small());
    build.batch(&records[0]);
    build.chunk(ChunkKind(0xFF), Vec::new());
    out.push(build.finish().success(
        "an ignorable chunk of kind 0xff with an empty body (stored_len 16) as the last chunk",
    ));

    let mut build = Build::new("unknown-ignorable-chunk-0x80", &[KEY], &small());
    let noise = random_bytes(&mut build.rng, 700);
    build.chunk(ChunkKind(0x80), noise);
    build.batch(&records[0]);
    out.push(build.finish().success(
        "an ignorable chunk of kind 0x80 (random bytes, stored uncompressed) as chunk 1, before any batch",
    ));

    let mut build = Build::new("seek-index-chunk", &[KEY], &small());
    for batch in &records {
        build.batch(batch);
    }
    build.writer.drain().expect("vector frames");
    let index_offset = build.writer.bytes_written();
    let index_chunk = build.chunks.len() as u64;
    let body = random_bytes(&mut build.rng, 64);
    build.chunk(ChunkKind::INDEX, body);
    out.push(
        build
            .finish_with(|trailer| {
                trailer.index_chunk = index_chunk;
                trailer.index_offset = index_offset;
            })
            .success(
                "a seek-index chunk (kind 0x81) with an arbitrary body, which the trailer's index fields locate: a reader without the index skips it; one that uses it finds the body is not a seek index",
            )
            .with_seek(Outcome::ChunkFailure { chunk: index_chunk }),
    );

    // A well-formed seek index, then single defects in it or in the trailer's
    // pointer to it. A streaming reader skips the index whatever it holds.
    for (name, description, defect) in [
        (
            "seek-index",
            "a seek index (kind 0x81) as chunk N - 1, located by the trailer: a streaming reader skips it, a reader that uses it reads every batch through it",
            IndexDefect::None,
        ),
        (
            "seek-index-wrong-offset",
            "a seek index whose entry for the last batch is one byte off: the chunk before it does not end where the index says",
            IndexDefect::LastOffset,
        ),
        (
            "seek-index-trailer-offset-wrong",
            "a correct seek index, but the trailer's index_offset is one byte past the index frame",
            IndexDefect::TrailerOffset,
        ),
    ] {
        let mut build = Build::indexed(name, &[KEY], &small(), metadata());
        for batch in &records {
            build.batch(batch);
        }
        let mut index = build
            .writer
            .take_index()
            .expect("vector index")
            .expect("an index");
        if defect == IndexDefect::LastOffset {
            let last = index.chunks.last_mut().expect("entries");
            last.offset += 1;
        }
        let index_chunk = build.chunks.len() as u64;
        let shift = u64::from(defect == IndexDefect::TrailerOffset);
        let seek = match defect {
            IndexDefect::None => Outcome::Success,
            _ => Outcome::ChunkFailure { chunk: index_chunk },
        };
        out.push(
            build
                .finish_with_index(&index, shift)
                .success(description)
                .with_seek(seek),
        );
    }

    for (name, kind, description) in [
        (
            "unknown-critical-chunk",
            0x42u8,
            "a sealed chunk of unassigned critical kind 0x42 after a batch",
        ),
        (
            "unknown-critical-chunk-0x7f",
            0x7F,
            "a sealed chunk of kind 0x7f, the highest critical kind",
        ),
        (
            "unknown-critical-chunk-0x00",
            0x00,
            "a sealed chunk of kind 0x00",
        ),
    ] {
        let mut build = Build::new(name, &[KEY], &small());
        build.batch(&records[0]);
        build.chunk(ChunkKind(kind), text.clone());
        build.batch(&records[1]);
        out.push(build.finish().fails_at(
            TARGET,
            description,
            Outcome::CriticalUnknownChunk {
                chunk: TARGET as u64,
                kind,
            },
        ));
    }

    // A page batch in a records archive breaks the mode rules (spec §6.1)
    // whatever its body; readers of earlier revisions reported it as an
    // unknown critical kind instead.
    let mut build = Build::new("page-batch-chunk", &[KEY], &small());
    build.batch(&records[0]);
    build.chunk(ChunkKind::PAGES, text.clone());
    build.batch(&records[1]);
    out.push(build.finish().fails_at(
        TARGET,
        "a sealed chunk of kind 0x03 (SQLite pages) in a records archive",
        Outcome::ChunkFailure {
            chunk: TARGET as u64,
        },
    ));
}
