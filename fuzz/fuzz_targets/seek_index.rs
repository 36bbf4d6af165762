//! The seek index (spec §6.5): `SeekIndex::parse` on arbitrary bytes, and the
//! seekable reader on arbitrary archives.
//!
//! Input: a mode byte, then the rest. Mode even: the rest is an index body;
//! parsing must not panic, fail only with `Corrupt` at the index chunk, and an
//! index that parses re-encodes to exactly its bytes. Mode odd: the rest is an
//! archive, opened with `SeekableArchive` and read batch by batch through its
//! index; no panic, and every batch read through the index is one the
//! streaming reader also yields when it reads the archive successfully.
#![no_main]

use std::io::Cursor;

use keepsake::body::index::SeekIndex;
use keepsake::format::ChunkKind;
use keepsake::{ArchiveReader, Error, Limits, SeekableArchive};
use keepsake_fuzz::identities;
use libfuzzer_sys::fuzz_target;

const CHUNK: u64 = 9;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        match SeekIndex::parse(rest, CHUNK) {
            Ok(index) => assert_eq!(index.to_bytes().expect("an index encodes"), rest),
            Err(Error::Corrupt { chunk: CHUNK, .. }) => {}
            Err(other) => panic!("an index failed with an unexpected class: {other:?}"),
        }
        return;
    }
    let Ok(mut archive) =
        SeekableArchive::open(Cursor::new(rest), &identities(), Limits::default())
    else {
        return;
    };
    let Some(index) = archive.index().cloned() else {
        return;
    };
    let mut through_index = Vec::new();
    for (chunk, entry) in index.chunks.iter().enumerate() {
        if entry.kind != ChunkKind::RECORDS.0 {
            continue;
        }
        match archive.read_chunk(chunk as u64) {
            Ok(records) => through_index.push(records),
            Err(_) => return,
        }
    }
    // Whatever the index says, the batches it leads to are the archive's own.
    let Ok(mut reader) =
        ArchiveReader::with_threads(Cursor::new(rest), &identities(), Limits::default(), 1)
    else {
        return;
    };
    let mut streamed = Vec::new();
    loop {
        match reader.next_batch() {
            Ok(Some(batch)) => streamed.push(batch),
            Ok(None) => break,
            Err(_) => return,
        }
    }
    assert_eq!(through_index, streamed);
});
