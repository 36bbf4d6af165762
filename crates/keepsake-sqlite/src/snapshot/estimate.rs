//! Estimating the size of a pages archive before writing it.

use std::path::Path;

use rusqlite::TransactionBehavior;

use super::{geometry, page_metadata};
use crate::DbResult;
use crate::schema::open_source;
use keepsake::crypto::ArchiveKey;
use keepsake::error::{Error, Result};
use keepsake::stream::writer::{ArchiveWriter, WriterOptions};

/// How many bytes of pages are compressed, about, to measure how well a
/// database's pages compress: in windows of one chunk's pages (at most
/// [`SAMPLE_WINDOW_BYTES`]), at least [`MIN_SAMPLE_WINDOWS`] of them.
const SAMPLE_BYTES: u64 = 4 << 20;
const MIN_SAMPLE_WINDOWS: u64 = 4;
/// The largest window of consecutive pages compressed as one batch body: a
/// whole default chunk, since zstd finds more to share in a larger body.
const SAMPLE_WINDOW_BYTES: u64 = 1 << 20;
/// The share of the compressed pages the range around a sampled estimate spans either side.
const SAMPLED_BAND: f64 = 0.10;

/// Estimates the size of the archive [`create_page_archive`] would write
/// from the database at `db` with `writer` options, without writing it.
///
/// The pages that travel (all but the free-list leaves), their batches and
/// framing are counted exactly; their compressed size is the page content
/// times a ratio measured by compressing about 4 MiB of evenly spread windows
/// of consecutive pages as batch bodies, the way the writer does (everything,
/// when the database is that small, and the estimate is then exact). Counts
/// of records are zero: a snapshot holds pages.
pub fn estimate_page_archive(db: &Path, writer: &WriterOptions) -> Result<crate::SizeEstimate> {
    let mut conn = open_source(db)?;
    let snapshot = conn
        .transaction_with_behavior(TransactionBehavior::Deferred)
        .db()?;
    let (page_size, database_pages, free_leaves) = geometry(&snapshot)?;

    // The header, the metadata chunk and the final frame, written for real.
    let key = ArchiveKey::generate();
    let mut empty = ArchiveWriter::new(Vec::new(), &[&key], &page_metadata(), writer)?;
    empty.set_page_geometry(page_size, database_pages)?;
    let metadata_len = {
        let mut body = Vec::new();
        keepsake::body::records::encode_into(&page_metadata(), &mut body)?;
        body.len() as u64
    };
    let fixed = empty.bytes_written() + keepsake::format::FINAL_FRAME_LEN as u64;

    let entry = u64::from(page_size) + keepsake::format::page_batch::PAGE_NUMBER_LEN as u64;
    let per_chunk =
        (u64::from(writer.chunk_size) - keepsake::format::page_batch::FIXED_LEN as u64) / entry;
    let pages = u64::from(database_pages) - free_leaves.len() as u64;
    let chunks = pages.div_ceil(per_chunk);
    let body_bytes = pages * entry + chunks * keepsake::format::page_batch::FIXED_LEN as u64;
    let framing = chunks * (keepsake::format::FRAME_HEADER_LEN + keepsake::format::TAG_LEN) as u64;

    // Windows of consecutive travelling pages, evenly spread.
    let travelling: Vec<u32> = (1..=database_pages)
        .filter(|number| free_leaves.binary_search(number).is_err())
        .collect();
    let window = (SAMPLE_WINDOW_BYTES / entry).clamp(1, per_chunk) as usize;
    let windows = (SAMPLE_BYTES / (window as u64 * entry)).max(MIN_SAMPLE_WINDOWS) as usize;
    let exact = travelling.len() <= window * windows;
    let (window, starts): (usize, Vec<usize>) = if exact {
        let window = per_chunk as usize;
        (window, (0..travelling.len()).step_by(window).collect())
    } else {
        let stride = travelling.len() / windows;
        (
            window,
            (0..windows)
                .map(|i| i * stride + (stride - window) / 2)
                .collect(),
        )
    };
    let mut compressor = keepsake::body::compress::Compressor::new(writer.level)?;
    let (mut sampled_plain, mut sampled_stored) = (0u64, 0u64);
    let mut statement = snapshot.prepare(
        "SELECT pgno, data FROM sqlite_dbpage('main') WHERE pgno >= ?1 AND pgno <= ?2 ORDER BY pgno",
    ).db()?;
    for start in starts {
        let numbers = &travelling[start..(start + window).min(travelling.len())];
        let (Some(&first), Some(&last)) = (numbers.first(), numbers.last()) else {
            continue;
        };
        let mut builder = keepsake::body::pages::BatchBuilder::new(page_size, database_pages)?;
        let mut rows = statement.query([first, last]).db()?;
        while let Some(row) = rows.next().db()? {
            let number: u32 = row.get(0).db()?;
            if numbers.binary_search(&number).is_ok() {
                let data = row.get_ref(1).db()?.as_blob().map_err(|_| {
                    Error::invalid("sqlite_dbpage returned a page that is not a blob")
                })?;
                builder.push(number, data)?;
            }
        }
        if let Some(body) = builder.take() {
            sampled_plain += body.len() as u64;
            sampled_stored += compressor
                .compress(&body)
                .map_or(body.len(), |compressed| compressed.len())
                as u64;
        }
    }
    drop(statement);
    snapshot.commit().db()?;

    let ratio = if sampled_plain > 0 {
        sampled_stored as f64 / sampled_plain as f64
    } else {
        1.0
    };
    let stored = if exact {
        sampled_stored
    } else {
        (body_bytes as f64 * ratio).round() as u64
    };
    let index = page_index_len(
        empty.bytes_written() - metadata_len - FRAME_OVERHEAD,
        empty.bytes_written(),
        (stored + framing) / chunks.max(1),
        chunks,
    );
    let bytes = fixed + stored + framing + index + FRAME_OVERHEAD;
    let band = if exact {
        0
    } else {
        (stored as f64 * SAMPLED_BAND).round() as u64
    };
    Ok(crate::SizeEstimate {
        bytes,
        low_bytes: bytes - band.min(stored),
        high_bytes: (bytes + band).min(fixed + body_bytes + framing).max(bytes),
        conversations: 0,
        messages: 0,
        consent: 0,
        plaintext_bytes: metadata_len + body_bytes + index,
        chunks: chunks + 3,
        compression_ratio: ratio,
        sampled_bytes: sampled_plain,
    })
}

/// A frame's length beyond its body: frame header and tag.
const FRAME_OVERHEAD: u64 = (keepsake::format::FRAME_HEADER_LEN + keepsake::format::TAG_LEN) as u64;

/// The length of a pages archive's seek index body (spec §6.5.2), stored
/// uncompressed: no conversation, and one entry per chunk before it, each
/// an offset (a varint), the kind byte, two empty lists, two zero counts and
/// no time range. Offsets after the metadata chunk step by `chunk_stored`,
/// so a varint's length may be off by a byte near a power of 128.
fn page_index_len(header_len: u64, first_page_offset: u64, chunk_stored: u64, chunks: u64) -> u64 {
    const ENTRY_TAIL: u64 = 6;
    let varint = |value: u64| keepsake::body::records::varint_len(value) as u64;
    let mut len = 1 + varint(chunks + 1) + varint(header_len) + ENTRY_TAIL;
    let mut offset = first_page_offset;
    for _ in 0..chunks {
        len += varint(offset) + ENTRY_TAIL;
        offset += chunk_stored;
    }
    len
}
