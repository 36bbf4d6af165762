//! Vectors of bad trailers and bad endings (spec §6.6, §7.1 steps 14–15).

use keepsake::crypto::signature::SignatureStatus;
use keepsake::format::{ChunkKind, FLAG_FINAL, TRAILER_LEN, Trailer};

use super::*;

/// A change to the trailer a writer would write.
pub(crate) type TrailerEdit = fn(&mut Trailer);
/// A trailer body made from the trailer a writer would write.
pub(crate) type TrailerBytes = fn(&Trailer) -> Vec<u8>;

pub(crate) fn trailer_vectors(out: &mut Vec<Vector>) {
    let corrupt = Outcome::ChunkFailure { chunk: 4 };
    let edits: [(&str, &str, TrailerEdit); 10] = [
        (
            "trailer-wrong-chunk-count",
            "the trailer's chunk_count one too many",
            |t| t.chunk_count += 1,
        ),
        (
            "trailer-wrong-conversations",
            "the trailer counts one conversation too many",
            |t| t.conversations += 1,
        ),
        (
            "trailer-wrong-messages",
            "the trailer counts one message too few",
            |t| t.messages -= 1,
        ),
        (
            "trailer-wrong-consent",
            "the trailer counts one consent record too many",
            |t| t.consent += 1,
        ),
        (
            "trailer-wrong-pages",
            "the trailer counts one page in a records archive",
            |t| t.pages = 1,
        ),
        (
            "trailer-wrong-plaintext-bytes",
            "the trailer's plaintext_bytes one too many",
            |t| t.plaintext_bytes += 1,
        ),
        (
            "trailer-wrong-time-range",
            "the trailer's first_sent_at_ns one nanosecond early",
            |t| {
                if let Some((first, _)) = &mut t.time_range {
                    *first -= 1
                }
            },
        ),
        (
            "trailer-time-range-missing",
            "the trailer's time_range_flag 0 although there are messages",
            |t| t.time_range = None,
        ),
        (
            "trailer-time-range-reversed",
            "the trailer's first and last sent_at_ns swapped",
            |t| {
                if let Some((first, last)) = &mut t.time_range {
                    std::mem::swap(first, last)
                }
            },
        ),
        (
            "trailer-wrong-digest",
            "bit 0 of the trailer's content digest flipped",
            |t| t.content_digest[0] ^= 1,
        ),
    ];
    for (name, description, edit) in edits {
        let built = base_build(name).finish_with(edit);
        out.push(built.fails_at(4, description, corrupt));
    }

    let raws: [(&str, &str, TrailerBytes); 4] = [
        (
            "trailer-time-range-flag-2",
            "the trailer's time_range_flag is 2",
            |t| set(&t.to_bytes(), 48, &[2]),
        ),
        (
            "trailer-time-range-padding",
            "a non-zero byte in the 7 zero bytes after time_range_flag",
            |t| set(&t.to_bytes(), 49, &[1]),
        ),
        ("trailer-511-bytes", "a trailer body of 511 bytes", |t| {
            t.to_bytes()[..TRAILER_LEN - 1].to_vec()
        }),
        ("trailer-513-bytes", "a trailer body of 513 bytes", |t| {
            [&t.to_bytes()[..], &[0][..]].concat()
        }),
    ];
    for (name, description, make) in raws {
        let built = base_build(name).finish_raw(ChunkKind::TRAILER, FLAG_FINAL, make);
        out.push(built.fails_at(4, description, corrupt));
    }

    let mut build = base_build("trailer-signature-unknown-scheme");
    let signature = random_bytes(&mut build.rng, 96);
    out.push(
        build
            .finish_with(|t| {
                t.signature[0] = 0x01;
                t.signature[1..].copy_from_slice(&signature);
            })
            .success(
                "a trailer whose signature block is scheme 1 (Ed25519) followed by random bytes: the signature is invalid, which a reader reports and does not fail on",
            )
            .with_signature(SignatureStatus::InvalidUnbound(keepsake::crypto::signature::Signer(
                signature[..32].try_into().expect("32 bytes"),
            ))),
    );
    out.push(
        base_build("trailer-reserved-bytes")
            .finish_raw(ChunkKind::TRAILER, FLAG_FINAL, |t| {
                let mut bytes = t.to_bytes();
                bytes[217..].fill(0xA5);
                bytes.to_vec()
            })
            .success("a trailer whose 295 reserved bytes are a5, not zero: readers ignore them"),
    );
}

pub(crate) fn end_vectors(base: &Built, out: &mut Vec<Vector>) {
    let b = &base.bytes;
    let all = base.before(base.chunks.len());
    let end = b.len() as u64;
    let trailing = Outcome::TrailingData { offset: end };
    out.push(base.clone().success(
        "the archive most damage vectors start from: a group with two messages, a DM with two (compressed chunk), two consent records",
    ));
    out.push(
        Vector::new(
            "trailing-zero-byte",
            "one zero byte after the final frame",
            [&b[..], &[0][..]].concat(),
            trailing,
        )
        .with_released(all.clone()),
    );
    let last = base.frame(base.last());
    out.push(
        Vector::new(
            "trailing-copy-of-final-frame",
            "the final frame repeated",
            [&b[..], &b[last.start..]].concat(),
            trailing,
        )
        .with_released(all.clone()),
    );
    let mut build = base_build("trailing-second-final-frame");
    let trailer = build.trailer();
    build
        .writer
        .write_frame(ChunkKind::TRAILER, FLAG_FINAL, trailer.to_bytes().to_vec())
        .expect("vector frame");
    build.chunks.push(Vec::new());
    let first_end = build.writer.bytes_written();
    let second = build.trailer();
    let built = build.end(
        ChunkKind::TRAILER,
        FLAG_FINAL,
        second.to_bytes().to_vec(),
        second,
    );
    out.push(
        Vector::new(
            "trailing-second-final-frame",
            "a second final frame, sealed as chunk 5, after a valid final frame",
            built.bytes,
            Outcome::TrailingData { offset: first_end },
        )
        .with_released(all.clone()),
    );
    let empty = Build::new("trailing-archive", &[KEY], &small()).finish();
    out.push(
        Vector::new(
            "trailing-second-archive",
            "a whole second archive (empty, same key) appended",
            [&b[..], &empty.bytes[..]].concat(),
            trailing,
        )
        .with_released(all.clone()),
    );

    let header_len = base.header_len();
    let frame = |chunk: usize| base.frame(chunk);
    let cuts: [(&str, &str, usize); 14] = [
        ("truncated-empty", "an empty file", 0),
        (
            "truncated-in-magic",
            "cut after 5 bytes, inside the magic",
            5,
        ),
        (
            "truncated-after-version",
            "cut after the version (10 bytes)",
            10,
        ),
        (
            "truncated-in-fixed-header",
            "cut after 57 bytes, inside fixed_check",
            57,
        ),
        ("truncated-in-slot-table", "cut inside the slot table", 100),
        (
            "truncated-in-header-mac",
            "cut one byte before the end of the header",
            header_len - 1,
        ),
        (
            "truncated-after-header",
            "cut right after the header, before frame 0",
            header_len,
        ),
        (
            "truncated-in-frame-header",
            "cut inside frame 0's header",
            header_len + 7,
        ),
        (
            "truncated-in-metadata-ciphertext",
            "cut inside frame 0's ciphertext",
            frame(0).end - 10,
        ),
        (
            "truncated-after-chunk-1",
            "cut at the frame boundary after chunk 1",
            frame(1).end,
        ),
        (
            "truncated-in-chunk-2-ciphertext",
            "cut inside chunk 2's ciphertext",
            frame(2).start + 30,
        ),
        (
            "truncated-final-frame-missing",
            "cut at the frame boundary before the final frame",
            frame(4).start,
        ),
        (
            "truncated-in-final-frame-header",
            "cut inside the final frame's header",
            frame(4).start + 9,
        ),
        ("truncated-last-byte", "the last byte removed", b.len() - 1),
    ];
    for (name, description, cut) in cuts {
        out.push(
            Vector::new(
                name,
                description,
                b[..cut].to_vec(),
                Outcome::Truncated { offset: cut as u64 },
            )
            .with_released(base.read_by(cut)),
        );
    }
}
