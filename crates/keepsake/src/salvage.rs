//! Salvage: every record of every chunk that still authenticates in a
//! damaged archive (truncated, or with corrupt chunks in the middle), written
//! into a new, valid archive, with a report of what was lost. The new archive
//! says it is a salvage: its metadata names salvage and the salvage time, and
//! its salvage record (chunk 1, spec §6.7) carries the damaged archive's own
//! metadata and the report.
//!
//! Nothing is invented or altered: only frames that authenticate under the
//! archive's payload key, at the chunk number their nonce binds, contribute
//! records. Memory stays bounded: one frame in flight, one scanning window,
//! and the set of conversation ids seen (as every reader keeps).

use std::collections::{BTreeMap, HashSet};
#[cfg(feature = "fs")]
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
#[cfg(feature = "fs")]
use std::path::Path;

#[cfg(feature = "fs")]
use crate::atomic::write_new_file;
use crate::body::index::SeekIndex;
use crate::body::records::{ArchiveMetadata, ArchiveMode, Record, decode_exact};
use crate::body::salvage_record::SalvageRecord;
use crate::crypto::{ArchiveKey, Identity};
use crate::error::{Error, Result};
use crate::format::{
    ChunkKind, FLAG_COMPRESSED, FLAG_FINAL, FRAME_HEADER_LEN, FrameHeader, TAG_LEN, Trailer,
    check_value,
};
use crate::limits::Limits;
use crate::stream::decoder::{Decoder, FrameOpener, SealedFrame, Unit};
use crate::stream::writer::{ArchiveWriter, WriterOptions};

/// The smallest frame: a header and a tag around an empty body.
const MIN_FRAME_LEN: u64 = (FRAME_HEADER_LEN + TAG_LEN) as u64;

/// How much of the archive the scanner holds at a time.
const WINDOW_LEN: usize = 1 << 20;

/// A chunk that could not be recovered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LostChunk {
    /// Its chunk number.
    pub chunk: u64,
    /// Where its frame starts, when known (from its own frame header or the index).
    pub offset: Option<u64>,
    /// What it held, when the archive's seek index was recovered.
    pub held: Option<LostContent>,
}

/// What a lost chunk held, according to the seek index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LostContent {
    /// The chunk's kind.
    pub kind: ChunkKind,
    /// Conversation records in it.
    pub conversations: u64,
    /// Message records in it.
    pub messages: u64,
    /// Consent records in it.
    pub consent: u64,
    /// The ids of the conversations with a record or a message in it.
    pub conversation_ids: Vec<Vec<u8>>,
    /// The smallest and largest `sent_at_ns` of its messages.
    pub sent_range: Option<(i64, i64)>,
}

/// Record counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordCounts {
    /// Conversation records.
    pub conversations: u64,
    /// Message records.
    pub messages: u64,
    /// Consent records.
    pub consent: u64,
}

/// What [`salvage_archive`] recovered and lost.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SalvageReport {
    /// Chunks that authenticated (the metadata, batches, index and trailer included).
    pub chunks_recovered: u64,
    /// Chunks that did not, in chunk order, as far as they can be named.
    pub lost: Vec<LostChunk>,
    /// The archive ended before its final chunk: the offset where it ends.
    /// Chunks after the last one recovered are lost, and without the trailer
    /// their number is unknown.
    pub truncated_at: Option<u64>,
    /// Bytes after the final chunk, left out.
    pub trailing_bytes: u64,
    /// Whether the metadata chunk was lost (the salvage record then holds no
    /// original metadata, and the new archive's elements are the defaults).
    pub metadata_lost: bool,
    /// The records written to the new archive.
    pub written: RecordCounts,
    /// Messages that authenticated but whose conversation record was lost:
    /// the dependency rule forbids writing them, so they were dropped.
    pub messages_without_conversation: u64,
    /// The number of chunks the damaged archive had, from its trailer when
    /// that was recovered.
    pub chunks_expected: Option<u64>,
}

impl SalvageReport {
    /// Whether everything was recovered: nothing lost, nothing dropped.
    pub fn is_complete(&self) -> bool {
        self.lost.is_empty()
            && self.truncated_at.is_none()
            && !self.metadata_lost
            && self.messages_without_conversation == 0
    }
}

/// Reads the damaged archive at `archive` with `identities`, under `limits`,
/// and writes every record of every chunk that authenticates to a new
/// archive at `out`, with a fresh file key and salt and one slot for the first
/// raw key among `identities`. `out` must not exist; it is written under a
/// temporary name and renamed once complete. A batch over `limits` counts
/// as lost.
///
/// The header must open (otherwise its error is returned and nothing is
/// written). After a damaged frame the scan goes on at the end the frame
/// header states when its check value holds, else byte by byte until a frame
/// header with a valid check value and a plausible chunk number authenticates.
#[cfg(feature = "fs")]
pub fn salvage_archive(
    archive: &Path,
    identities: &[Identity],
    limits: Limits,
    out: &Path,
) -> Result<SalvageReport> {
    let key = identities
        .iter()
        .find_map(|identity| match identity {
            Identity::RawKey(key) => Some(key),
            _ => None,
        })
        .ok_or_else(|| {
            Error::invalid(
                "salvage writes the new archive for a raw key: it needs one among the identities",
            )
        })?;
    let source = File::open(archive)?;
    write_new_file(out, |sink| {
        Ok(salvage(source, identities, limits, key, sink)?.1)
    })
}

/// The salvage itself, from any seekable source into any sink.
///
/// The damaged archive is scanned twice: once to learn what survives, so
/// that the new archive can say it in its salvage record (chunk 1, spec
/// §6.7) before any record, and once to copy the records. The new archive's
/// metadata names salvage as its creator and the salvage time as its
/// creation time; the damaged archive's own metadata travels in the record.
pub fn salvage<R: Read + Seek, W: std::io::Write>(
    source: R,
    identities: &[Identity],
    limits: Limits,
    key: &ArchiveKey,
    sink: W,
) -> Result<(W, SalvageReport)> {
    let mut scan = Scanner::open(source, identities, limits)?;
    let mut counting = DependencyFilter::default();
    let (mut report, original) = scan_all(&mut scan, &mut |records| {
        counting.keep(records);
        Ok(())
    })?;
    report.written = counting.written;
    report.messages_without_conversation = counting.dropped;
    report.metadata_lost = original.is_none();
    let record = SalvageRecord {
        chunks_expected: report.chunks_expected,
        chunks_recovered: report.chunks_recovered,
        lost_chunks: report.lost.iter().map(|lost| lost.chunk).collect(),
        truncated_at: report.truncated_at,
        trailing_bytes: report.trailing_bytes,
        messages_dropped: report.messages_without_conversation,
        original,
    };
    let metadata = salvage_metadata(record.original.as_ref());
    let options = WriterOptions {
        // The damaged archive's chunk size, so that every record it could
        // hold fits the new one.
        chunk_size: scan.max_chunk_size,
        ..WriterOptions::default()
    };
    let mut writer = ArchiveWriter::new(sink, &[key], &metadata, &options)?;
    writer.write_chunk(ChunkKind::SALVAGE, fitted(record, options.chunk_size)?)?;
    scan.rewind();
    let mut copying = DependencyFilter::default();
    scan_all(&mut scan, &mut |records| {
        for record in copying.keep(records) {
            writer.write_record(&record)?;
        }
        Ok(())
    })?;
    if (copying.written, copying.dropped) != (report.written, report.messages_without_conversation)
    {
        return Err(Error::invalid(
            "the damaged archive changed between the two salvage passes",
        ));
    }
    let (sink, _) = writer.finish()?;
    Ok((sink, report))
}

/// The salvage record's body, made to fit one chunk (spec §6.7): when the
/// lost chunks are too many to list, only the first are; when even the
/// original metadata does not fit beside the rest, it is left out.
fn fitted(mut record: SalvageRecord, chunk_size: u32) -> Result<Vec<u8>> {
    let fits = |body: &Vec<u8>| body.len() <= chunk_size as usize;
    let mut body = record.encode()?;
    while !fits(&body) && !record.lost_chunks.is_empty() {
        let keep = record.lost_chunks.len() / 2;
        record.lost_chunks.truncate(keep);
        body = record.encode()?;
    }
    if !fits(&body) {
        record.original = None;
        body = record.encode()?;
    }
    Ok(body)
}

/// One pass over the damaged archive: every record batch that authenticates
/// goes to `visit`, in chunk order; returns what was recovered and lost
/// (record counts aside) and the metadata chunk, if it was recovered.
fn scan_all<R: Read + Seek>(
    scan: &mut Scanner<R>,
    visit: &mut dyn FnMut(Vec<Record>) -> Result<()>,
) -> Result<(SalvageReport, Option<ArchiveMetadata>)> {
    let mut report = SalvageReport::default();
    // Where each damaged frame with a readable header started, by chunk.
    let mut damaged: BTreeMap<u64, u64> = BTreeMap::new();
    // Where an unreadable stretch began, for the first chunk it swallowed.
    let mut gap_start: Option<u64> = None;
    let mut index: Option<SeekIndex> = None;
    let mut metadata: Option<ArchiveMetadata> = None;
    let mut expected = 0u64;
    let mut trailer: Option<Trailer> = None;
    loop {
        match scan.next(expected)? {
            Found::End => {
                report.truncated_at = Some(scan.len);
                // A frame cut off by the end of the input.
                let cut = gap_start
                    .take()
                    .or((scan.pos < scan.len).then_some(scan.pos));
                if let Some(from) = cut {
                    damaged.insert(expected, from);
                    expected += 1;
                }
                break;
            }
            Found::Damaged { chunk, offset } => {
                skip_to(&mut damaged, &mut gap_start, expected, chunk);
                damaged.insert(chunk, offset);
                expected = chunk + 1;
            }
            Found::Skipped { from } => {
                gap_start.get_or_insert(from);
            }
            Found::Frame {
                chunk,
                offset,
                frame,
                body,
                records,
            } => {
                skip_to(&mut damaged, &mut gap_start, expected, chunk);
                expected = chunk + 1;
                report.chunks_recovered += 1;
                match frame.kind {
                    ChunkKind::TRAILER => {
                        // The frame ends where its own length says: a final
                        // frame too short to hold a trailer is damage.
                        let end = offset + FRAME_HEADER_LEN as u64 + u64::from(frame.stored_len);
                        report.trailing_bytes = scan.len.saturating_sub(end);
                        trailer = Trailer::parse(&body, chunk).ok();
                        if trailer.is_none() {
                            report.chunks_recovered -= 1;
                            damaged.insert(chunk, offset);
                        }
                        break;
                    }
                    ChunkKind::METADATA if chunk == 0 => {
                        match decode_exact::<ArchiveMetadata>(&body, 0, "the archive metadata") {
                            Ok(found) if found.mode == ArchiveMode::Records => {
                                metadata = Some(found)
                            }
                            Ok(_) => {
                                return Err(Error::invalid(
                                    "this archive holds database pages; salvage recovers records only",
                                ));
                            }
                            Err(_) => {
                                report.chunks_recovered -= 1;
                                damaged.insert(0, offset);
                            }
                        }
                    }
                    ChunkKind::RECORDS => match records {
                        Some(Ok(records)) => visit(records)?,
                        _ => {
                            report.chunks_recovered -= 1;
                            damaged.insert(chunk, offset);
                        }
                    },
                    ChunkKind::INDEX => {
                        index = SeekIndex::parse(&body, chunk, scan.max_decoded_size).ok();
                    }
                    // Another ignorable chunk authenticated: nothing to keep.
                    _ => {}
                }
            }
        }
    }
    if let Some(trailer) = &trailer {
        report.chunks_expected = Some(trailer.chunk_count + 1);
    }
    report.lost = damaged
        .into_iter()
        .map(|(chunk, offset)| describe(chunk, offset, index.as_ref()))
        .collect();
    // Chunks after the cut: named when the index says how many there were.
    if report.truncated_at.is_some()
        && let Some(index) = &index
    {
        for chunk in expected..index.chunks.len() as u64 {
            report
                .lost
                .push(describe(chunk, UNKNOWN_OFFSET, Some(index)));
        }
    }
    Ok((report, metadata))
}

/// Marks chunks `expected .. found` lost, the first of them at the start of
/// the unreadable stretch before `found`, if there was one.
fn skip_to(
    damaged: &mut BTreeMap<u64, u64>,
    gap_start: &mut Option<u64>,
    expected: u64,
    found: u64,
) {
    let from = gap_start.take();
    if found > expected {
        damaged
            .entry(expected)
            .or_insert(from.unwrap_or(UNKNOWN_OFFSET));
    }
    for lost in expected..found {
        damaged.entry(lost).or_insert(UNKNOWN_OFFSET);
    }
}

/// A lost chunk whose frame was never found: the index may say where it was.
const UNKNOWN_OFFSET: u64 = u64::MAX;

/// The new archive's metadata: written now by salvage, for what the damaged
/// archive was asked to hold (its elements and time range, when known).
fn salvage_metadata(original: Option<&ArchiveMetadata>) -> ArchiveMetadata {
    let mut metadata = ArchiveMetadata::now();
    metadata.creator = concat!("keepsake ", env!("CARGO_PKG_VERSION"), " salvage").to_owned();
    if let Some(original) = original {
        metadata.elements = original.elements;
        metadata.start_ns = original.start_ns;
        metadata.end_ns = original.end_ns;
    }
    metadata
}

fn describe(chunk: u64, offset: u64, index: Option<&SeekIndex>) -> LostChunk {
    let entry = index.and_then(|index| index.chunks.get(usize::try_from(chunk).ok()?));
    let held = entry.map(|entry| {
        let index = index.expect("an entry comes from an index");
        let mut positions: Vec<u32> = entry
            .conversation_records
            .iter()
            .chain(&entry.message_conversations)
            .copied()
            .collect();
        positions.sort_unstable();
        positions.dedup();
        LostContent {
            kind: ChunkKind(entry.kind),
            conversations: entry.conversation_records.len() as u64,
            messages: entry.messages,
            consent: entry.consent,
            conversation_ids: positions
                .into_iter()
                .filter_map(|at| index.conversations.get(at as usize))
                .map(|id| id.0.clone())
                .collect(),
            sent_range: entry.sent_range,
        }
    });
    let offset = match offset {
        UNKNOWN_OFFSET => entry.map(|entry| entry.offset),
        known => Some(known),
    };
    LostChunk {
        chunk,
        offset,
        held,
    }
}

/// The dependency rule applied to what survives: a conversation once, a
/// message only after its conversation (spec §6.3.4).
#[derive(Default)]
struct DependencyFilter {
    seen: HashSet<Vec<u8>>,
    written: RecordCounts,
    /// Messages whose conversation record was lost.
    dropped: u64,
}

impl DependencyFilter {
    /// The records of one batch that may be written, counted.
    fn keep(&mut self, records: Vec<Record>) -> Vec<Record> {
        records
            .into_iter()
            .filter(|record| match record {
                // A conversation twice cannot come from authentic chunks of
                // one archive; keep the first.
                Record::Conversation(conversation) => {
                    let new = self.seen.insert(conversation.id.clone());
                    self.written.conversations += u64::from(new);
                    new
                }
                Record::Message(message) => {
                    let known = self.seen.contains(&message.conversation_id);
                    if known {
                        self.written.messages += 1;
                    } else {
                        self.dropped += 1;
                    }
                    known
                }
                Record::Consent(_) => {
                    self.written.consent += 1;
                    true
                }
            })
            .collect()
    }
}

/// What the scanner found next.
enum Found {
    /// An authenticated frame.
    Frame {
        chunk: u64,
        offset: u64,
        frame: FrameHeader,
        body: Vec<u8>,
        records: Option<Result<Vec<Record>>>,
    },
    /// A frame whose header is intact but whose content does not authenticate.
    Damaged { chunk: u64, offset: u64 },
    /// Bytes from `from` that hold no frame header; the scan moved one byte on.
    Skipped { from: u64 },
    /// The end of the input, before the final frame.
    End,
}

/// Walks a damaged archive frame by frame, resynchronising after damage.
struct Scanner<R: Read + Seek> {
    source: R,
    len: u64,
    pos: u64,
    /// Where frame 0 starts.
    header_len: u64,
    opener: FrameOpener,
    max_chunk_size: u32,
    max_decoded_size: u64,
    window: Vec<u8>,
    window_at: u64,
}

impl<R: Read + Seek> Scanner<R> {
    /// Opens the header; its failure is the salvage's failure.
    fn open(mut source: R, identities: &[Identity], limits: Limits) -> Result<Self> {
        let len = source.seek(SeekFrom::End(0))?;
        source.seek(SeekFrom::Start(0))?;
        let mut decoder = Decoder::new(identities, limits);
        let mut buffer = vec![0; 64 * 1024];
        let (header_len, max_chunk_size) = 'header: loop {
            let read = source.read(&mut buffer)?;
            if read == 0 {
                decoder.finish()?;
                return Err(Error::Truncated { offset: len });
            }
            let mut at = 0;
            while at < read {
                let (used, unit) = decoder.feed_units(&buffer[at..read])?;
                at += used;
                if let Some(Unit::Header(info)) = unit {
                    break 'header (info.header_len as u64, info.prelude.max_chunk_size);
                }
                if used == 0 {
                    break;
                }
            }
        };
        let opener = decoder.fork_opener()?;
        Ok(Scanner {
            source,
            len,
            pos: header_len,
            header_len,
            opener,
            max_chunk_size,
            max_decoded_size: limits.max_decoded_size,
            window: Vec::new(),
            window_at: 0,
        })
    }

    /// Back to frame 0, for a second pass with the same keys.
    fn rewind(&mut self) {
        self.pos = self.header_len;
    }

    /// The 18 bytes at `pos`, if the input holds them.
    fn header_at(&mut self, pos: u64) -> Result<Option<[u8; FRAME_HEADER_LEN]>> {
        if pos + FRAME_HEADER_LEN as u64 > self.len {
            return Ok(None);
        }
        let in_window = pos >= self.window_at
            && pos + FRAME_HEADER_LEN as u64 <= self.window_at + self.window.len() as u64;
        if !in_window {
            let want = (self.len - pos).min(WINDOW_LEN as u64) as usize;
            self.window.resize(want, 0);
            self.source.seek(SeekFrom::Start(pos))?;
            self.source.read_exact(&mut self.window)?;
            self.window_at = pos;
        }
        let at = (pos - self.window_at) as usize;
        let mut bytes = [0; FRAME_HEADER_LEN];
        bytes.copy_from_slice(&self.window[at..at + FRAME_HEADER_LEN]);
        Ok(Some(bytes))
    }

    /// A frame header at `pos` that could be chunk `expected` or a later one.
    fn plausible(
        &self,
        bytes: &[u8; FRAME_HEADER_LEN],
        pos: u64,
        expected: u64,
    ) -> Option<FrameHeader> {
        let flags = bytes[1];
        if flags & !(FLAG_FINAL | FLAG_COMPRESSED) != 0 {
            return None;
        }
        let chunk = FrameHeader::stated_chunk(bytes);
        // Every chunk takes at least a minimal frame, so no chunk number can
        // be further ahead than the bytes left allow.
        let ahead = (self.len - pos) / MIN_FRAME_LEN;
        if chunk < expected || chunk - expected > ahead {
            return None;
        }
        if check_value(&bytes[..14]) != bytes[14..18] {
            return None;
        }
        FrameHeader::parse(bytes, chunk, self.max_chunk_size).ok()
    }

    /// The next frame at or after the current position.
    fn next(&mut self, expected: u64) -> Result<Found> {
        let from = self.pos;
        let Some(bytes) = self.header_at(self.pos)? else {
            return Ok(Found::End);
        };
        let Some(frame) = self.plausible(&bytes, self.pos, expected) else {
            self.pos += 1;
            return Ok(Found::Skipped { from });
        };
        let offset = self.pos;
        let end = offset + FRAME_HEADER_LEN as u64 + u64::from(frame.stored_len);
        if end > self.len {
            // Cut off inside this frame, or a header found by chance: look further.
            self.pos += 1;
            return Ok(Found::Skipped { from });
        }
        let mut stored = vec![0; frame.stored_len as usize];
        self.source
            .seek(SeekFrom::Start(offset + FRAME_HEADER_LEN as u64))?;
        self.source.read_exact(&mut stored)?;
        match self.opener.open(SealedFrame::new(frame, stored)) {
            Ok(opened) => {
                let (frame, body, records) = opened.into_parts();
                self.pos = end;
                Ok(Found::Frame {
                    chunk: frame.chunk,
                    offset,
                    frame,
                    body,
                    records,
                })
            }
            Err(_) => {
                // The header's check value held, so its length is trusted.
                self.pos = end;
                Ok(Found::Damaged {
                    chunk: frame.chunk,
                    offset,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::records::{Consent, ConsentEntityType, ConsentState};

    #[test]
    fn a_final_frame_too_short_for_a_trailer_is_lost_not_read_past() {
        let key = ArchiveKey::from_bytes([7; 32]);
        let options = WriterOptions {
            threads: 1,
            ..WriterOptions::default()
        };
        let mut writer =
            ArchiveWriter::new(Vec::new(), &[&key], &ArchiveMetadata::now(), &options).unwrap();
        writer.without_index();
        writer
            .write_record(&Record::Consent(Consent {
                entity_type: ConsentEntityType::Inbox,
                entity: "someone".into(),
                state: ConsentState::Allowed,
                updated_at_ns: 1,
            }))
            .unwrap();
        writer.flush_batch().unwrap();
        // An authentic final frame of kind 0x04 holding 100 bytes, not 512.
        writer
            .write_frame(ChunkKind::TRAILER, FLAG_FINAL, vec![0; 100])
            .unwrap();
        let bytes = writer.into_sink().unwrap();
        let (_, report) = salvage(
            std::io::Cursor::new(&bytes),
            &[key.clone().into()],
            Limits::default(),
            &key,
            Vec::new(),
        )
        .unwrap();
        assert_eq!(report.trailing_bytes, 0);
        assert_eq!(report.written.consent, 1);
        assert!(!report.is_complete());
        assert_eq!(report.lost.len(), 1);
        assert_eq!(report.lost[0].chunk, 2);
        assert_eq!(report.chunks_expected, None);
    }

    #[test]
    fn a_salvage_record_always_fits_one_chunk() {
        let metadata = ArchiveMetadata {
            creator: "x".repeat(4090),
            ..ArchiveMetadata::now()
        };
        let record = SalvageRecord {
            original: Some(metadata),
            chunks_expected: None,
            chunks_recovered: 3,
            lost_chunks: (1..5000).collect(),
            truncated_at: Some(1 << 40),
            trailing_bytes: 0,
            messages_dropped: 9,
        };
        let body = fitted(record.clone(), 4096).unwrap();
        assert!(body.len() <= 4096);
        let decoded = SalvageRecord::decode(&body).unwrap();
        assert!(decoded.original.is_none() && decoded.lost_chunks.is_empty());
        let small = SalvageRecord {
            original: None,
            ..record.clone()
        };
        let decoded = SalvageRecord::decode(&fitted(small, 4096).unwrap()).unwrap();
        assert!(!decoded.lost_chunks.is_empty());
        assert!(decoded.lost_chunks.len() < 4999);
        assert_eq!(
            decoded.lost_chunks,
            record.lost_chunks[..decoded.lost_chunks.len()]
        );
    }
}
