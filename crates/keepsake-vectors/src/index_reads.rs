//! Vectors for reading through a seek index (spec §6.5.4): which chunk a
//! failure is attributed to, and in which order a chunk read through the
//! index is checked. A streaming reader skips the index: each of these reads
//! successfully that way.

use super::{Build, KEY, Outcome, Vector, base_batches, metadata, small};

/// One defect in an otherwise correct index.
enum Defect {
    /// The first batch's entry points one byte into its frame.
    FirstBatchOffset,
    /// The first batch's entry counts one message too many.
    FirstBatchMessages,
}

pub(super) fn vectors(out: &mut Vec<Vector>) {
    for (name, description, defect) in [
        (
            "seek-index-first-batch-offset-wrong",
            "a seek index whose entry for chunk 1 points one byte into that chunk's frame: read through the index, the frame header there fails its check value, which is checked before the frame's end, so the failure is chunk 1's",
            Defect::FirstBatchOffset,
        ),
        (
            "seek-index-entry-counts-wrong",
            "a seek index whose entry for chunk 1 counts one message more than the chunk holds: the chunk authenticates and decodes, then disagrees with its entry, which is the index's failure",
            Defect::FirstBatchMessages,
        ),
    ] {
        let mut build = Build::indexed(name, &[KEY], &small(), metadata());
        for batch in &base_batches() {
            build.batch(batch);
        }
        let mut index = build
            .writer
            .take_index()
            .expect("vector index")
            .expect("an index");
        let index_chunk = build.chunks.len() as u64;
        let seek = match defect {
            Defect::FirstBatchOffset => {
                index.chunks[1].offset += 1;
                Outcome::ChunkFailure { chunk: 1 }
            }
            Defect::FirstBatchMessages => {
                assert!(index.chunks[1].messages > 0);
                index.chunks[1].messages += 1;
                Outcome::ChunkFailure { chunk: index_chunk }
            }
        };
        out.push(
            build
                .finish_with_index(&index, 0)
                .success(description)
                .with_seek(seek),
        );
    }
}
