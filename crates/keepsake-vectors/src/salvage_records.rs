//! Vectors for the salvage record (chunk kind 0x82, spec §6.7): what an
//! archive written by salvage says about the damaged archive it came from.
//! Both read successfully; a salvage record never fails an archive.

use keepsake::body::records::{ArchiveMetadata, Elements};
use keepsake::body::salvage_record::SalvageRecord;
use keepsake::format::ChunkKind;

use super::{Build, KEY, Vector, base_batches, metadata, small};

/// The metadata of a salvage's output: salvage as creator, a later time.
fn salvage_metadata() -> ArchiveMetadata {
    ArchiveMetadata {
        created_at_ns: super::CREATED_AT_NS + super::DAY_NS,
        creator: "keepsake 0.1.0 salvage".to_owned(),
        ..metadata()
    }
}

pub(super) fn vectors(out: &mut Vec<Vector>) {
    let record = SalvageRecord {
        original: Some(ArchiveMetadata {
            elements: Elements {
                messages: true,
                consent: true,
            },
            ..metadata()
        }),
        chunks_expected: Some(5),
        chunks_recovered: 4,
        lost_chunks: vec![3],
        truncated_at: None,
        trailing_bytes: 0,
        messages_dropped: 0,
    };
    let mut build = Build::with_metadata("salvage-record", &[KEY], &small(), salvage_metadata());
    build.chunk(
        ChunkKind::SALVAGE,
        record.encode().expect("a salvage record encodes"),
    );
    build.batch(&base_batches()[0]);
    out.push(
        build
            .finish()
            .success("an archive written by salvage: its metadata names salvage, and chunk 1 is a salvage record holding the damaged archive's metadata and its one lost chunk, 3 of 5")
            .with_salvage(Some(record.clone())),
    );

    // The same record with a varint made one byte longer than it need be.
    let mut body = record.encode().expect("a salvage record encodes");
    let at = body.len() - 6;
    assert_eq!(
        &body[at..],
        [4, 1, 3, 0, 0, 0],
        "chunks_recovered, one lost chunk (3), and three zero fields"
    );
    body.splice(at..=at, [0x84, 0x00]);
    let mut build = Build::with_metadata(
        "salvage-record-not-canonical",
        &[KEY],
        &small(),
        salvage_metadata(),
    );
    build.chunk(ChunkKind::SALVAGE, body);
    build.batch(&base_batches()[0]);
    out.push(
        build
            .finish()
            .success("a salvage record whose chunks_recovered varint is not minimal: it does not decode, which a reader reports without failing the archive")
            .with_salvage(None),
    );
}
