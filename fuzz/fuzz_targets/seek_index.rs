//! The seek index (spec §6.5): `SeekIndex::parse` on arbitrary bytes, and the
//! seekable reader on arbitrary archives.
//!
//! Input: a mode byte, then the rest. Mode even: a decoded-size limit in KiB
//! (one byte), then an index body;
//! parsing must not panic, fail only with `Corrupt` at the index chunk or
//! over the decoded-size limit (for a canonical body whose decoded size is
//! over it), and an index that parses re-encodes to exactly its bytes and
//! is within the limit. Mode odd: the rest is an
//! archive, opened with `SeekableArchive` and read batch by batch through its
//! index; no panic, and every batch read through the index is one the
//! streaming reader also yields when it reads the archive successfully.
#![no_main]

use keepsake::body::index::SeekIndex;
use keepsake::{Error, Limit};
use libfuzzer_sys::fuzz_target;

const CHUNK: u64 = 9;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let Some((&kib, rest)) = rest.split_first() else {
            return;
        };
        let limit = u64::from(kib) << 10;
        match SeekIndex::parse(rest, CHUNK, limit) {
            Ok(index) => {
                assert_eq!(index.to_bytes().expect("an index encodes"), rest);
                assert!(index.decoded_size() <= limit);
            }
            Err(Error::Corrupt { chunk: CHUNK, .. }) => {}
            // Over the limit: then it is canonical, and parses without one.
            Err(Error::LimitExceeded {
                what: Limit::DecodedSize,
                value,
                ..
            }) => {
                assert!(value > limit);
                if let Ok(index) = SeekIndex::parse(rest, CHUNK, u64::MAX) {
                    assert_eq!(index.decoded_size(), value);
                }
            }
            Err(other) => panic!("an index failed with an unexpected class: {other:?}"),
        }
        return;
    }
    keepsake_fuzz::check_seek(rest);
});
