//! Blocking adapters over the sans-I/O [`Decoder`]: a streaming reader for
//! any [`Read`], and a summary reader for seekable files (spec §7).

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Seek, SeekFrom};

use crate::body::pages::PageBatch;
use crate::body::records::{ArchiveMetadata, Record};
use crate::body::salvage_record::SalvageRecord;
use crate::crypto::Identity;
use crate::crypto::signature::SignatureStatus;
use crate::error::{Error, Result};
use crate::format::{ChunkKind, FINAL_FRAME_LEN, FRAME_HEADER_LEN, FrameHeader, Trailer};
use crate::limits::Limits;
use crate::stream::decoder::{
    Decoder, Event, FrameOpener, HeaderInfo, OpenedFrame, SealedFrame, Unit,
};
use crate::stream::pipeline::{OrderedPool, default_threads, usable_threads};

/// How much is read from the source at a time.
const READ_BUFFER_LEN: usize = 64 * 1024;

/// Frames opened ahead of the one being interpreted, per worker thread: more
/// would keep no worker busier. The read-ahead budget in bytes
/// ([`Limits::read_ahead`]) caps them further.
const FRAMES_IN_FLIGHT_PER_THREAD: usize = 2;

/// Feeds a [`Decoder`] from a [`Read`], one buffer at a time, opening frames
/// on worker threads when there are several and interpreting them in order.
///
/// The frames handed to the workers and not yet interpreted are held to a
/// byte budget, each counted as [`Limits::read_ahead_cost`], whatever the
/// number of threads: at most [`Limits::read_ahead`] bytes, or one frame,
/// plus the frame read next, which waits until there is room for it.
struct Feeder<R: Read> {
    source: R,
    decoder: Decoder,
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
    chunks: u64,
    threads: usize,
    pool: Option<OrderedPool<SealedFrame, OpenedFrame>>,
    /// An error met while reading ahead, reported once every frame before it
    /// has been interpreted: the outcome is the one a sequential reader gives.
    deferred: Option<Error>,
    input_done: bool,
    /// What each frame in the pool counts against the read-ahead, oldest first.
    charges: VecDeque<u64>,
    /// Their sum.
    charged: u64,
    /// A frame read while the read-ahead was full.
    waiting: Option<SealedFrame>,
    /// The most frames in flight at once, for the tests.
    #[cfg(test)]
    most_in_flight: usize,
}

impl<R: Read> Feeder<R> {
    fn new(source: R, decoder: Decoder, threads: usize) -> Self {
        Feeder {
            source,
            decoder,
            buffer: vec![0; READ_BUFFER_LEN].into_boxed_slice(),
            start: 0,
            end: 0,
            chunks: 0,
            threads,
            pool: None,
            deferred: None,
            input_done: false,
            charges: VecDeque::new(),
            charged: 0,
            waiting: None,
            #[cfg(test)]
            most_in_flight: 0,
        }
    }

    /// The next framing unit from the input, or `None` at a clean end after
    /// the final frame.
    fn next_unit(&mut self) -> Result<Option<Unit>> {
        loop {
            if self.start < self.end {
                let (used, unit) = self
                    .decoder
                    .feed_units(&self.buffer[self.start..self.end])?;
                self.start += used;
                if unit.is_some() {
                    return Ok(unit);
                }
                continue;
            }
            let read = match self.source.read(&mut self.buffer) {
                Ok(read) => read,
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(error) => return Err(error.into()),
            };
            if read == 0 {
                self.decoder.finish()?;
                return Ok(None);
            }
            self.start = 0;
            self.end = read;
        }
    }

    /// The next event, or `None` at a clean end of input after the trailer.
    fn next_event(&mut self) -> Result<Option<Event>> {
        if self.pool.is_none() {
            return match self.next_unit()? {
                None => Ok(None),
                Some(Unit::Header(info)) => {
                    if usable_threads(self.threads) > 1 {
                        let opener = self.decoder.chained_opener()?;
                        self.pool = Some(OrderedPool::new(
                            self.threads,
                            self.threads * FRAMES_IN_FLIGHT_PER_THREAD,
                            || {
                                let mut opener = opener.fork();
                                Ok(move |sealed| opener.open(sealed))
                            },
                        )?);
                    }
                    Ok(Some(Event::Header(info)))
                }
                Some(Unit::Frame(sealed)) => {
                    let opened = self.decoder.open(sealed)?;
                    self.interpret(opened).map(Some)
                }
            };
        }
        self.fill_pool();
        let pool = self
            .pool
            .as_mut()
            .ok_or_else(|| Error::invalid("no pool"))?;
        match pool.next_result()? {
            Some(opened) => {
                let charge = self.charges.pop_front().unwrap_or(0);
                self.charged -= charge;
                self.interpret(opened).map(Some)
            }
            None => match self.deferred.take() {
                Some(error) => Err(error),
                None => Ok(None),
            },
        }
    }

    /// Reads frames ahead into the pool until it holds two per thread or
    /// the read-ahead budget, or the input ends.
    fn fill_pool(&mut self) {
        while self.deferred.is_none() && self.pool.as_ref().is_some_and(|pool| !pool.is_full()) {
            let sealed = match self.waiting.take() {
                Some(sealed) => sealed,
                None if self.input_done => return,
                None => match self.next_unit() {
                    Ok(Some(Unit::Frame(sealed))) => sealed,
                    Ok(Some(Unit::Header(_))) => {
                        self.deferred = Some(Error::invalid("a second header in one archive"));
                        return;
                    }
                    Ok(None) => {
                        self.input_done = true;
                        return;
                    }
                    Err(error) => {
                        self.deferred = Some(error);
                        return;
                    }
                },
            };
            let cost = self.decoder.read_ahead_cost(&sealed);
            if !self.charges.is_empty()
                && self.charged.saturating_add(cost) > self.decoder.limits().read_ahead
            {
                self.waiting = Some(sealed);
                return;
            }
            if let Some(pool) = self.pool.as_mut() {
                match pool.submit(sealed) {
                    Ok(_) => {
                        self.charges.push_back(cost);
                        self.charged += cost;
                        debug_assert!(
                            self.charges.len() == 1
                                || self.charged <= self.decoder.limits().read_ahead
                        );
                        #[cfg(test)]
                        {
                            self.most_in_flight = self.most_in_flight.max(self.charges.len());
                        }
                    }
                    Err(error) => self.deferred = Some(error),
                }
            }
        }
    }

    fn interpret(&mut self, opened: OpenedFrame) -> Result<Event> {
        let event = self.decoder.interpret(opened)?;
        self.chunks += 1;
        Ok(event)
    }

    fn expect_header(&mut self) -> Result<HeaderInfo> {
        match self.next_event()? {
            Some(Event::Header(info)) => Ok(info),
            _ => Err(Error::invalid("the decoder did not start with the header")),
        }
    }

    fn expect_metadata(&mut self) -> Result<ArchiveMetadata> {
        match self.next_event()? {
            Some(Event::Metadata(metadata)) => Ok(metadata),
            _ => Err(Error::invalid(
                "the decoder did not continue with the metadata",
            )),
        }
    }
}

/// Reads an archive from any byte source, one authenticated batch at a time.
///
/// Records are released as their chunk authenticates, before the trailer is
/// checked: a caller that must not act on a damaged archive (an import) keeps
/// its changes provisional until [`next_batch`](ArchiveReader::next_batch)
/// returns `Ok(None)`.
pub struct ArchiveReader<R: Read> {
    feeder: Feeder<R>,
    header: HeaderInfo,
    metadata: ArchiveMetadata,
    trailer: Option<Trailer>,
    /// The salvage record, once chunk 1 has been read and was one.
    salvage: Option<Option<SalvageRecord>>,
}

impl<R: Read> std::fmt::Debug for ArchiveReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveReader")
            .field("decoder", &self.feeder.decoder)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl<R: Read> ArchiveReader<R> {
    /// Reads and authenticates the header and the metadata chunk; the rest
    /// is opened on one worker thread per core.
    pub fn new(source: R, identities: &[Identity], limits: Limits) -> Result<Self> {
        Self::with_threads(source, identities, limits, default_threads())
    }

    /// As [`ArchiveReader::new`], opening chunks on `threads` worker threads
    /// (one means all on the caller's thread). Records come out in archive
    /// order whatever the number of threads. The frames opened ahead take at
    /// most two per thread and [`Limits::read_ahead`] bytes in all, however
    /// many threads there are.
    pub fn with_threads(
        source: R,
        identities: &[Identity],
        limits: Limits,
        threads: usize,
    ) -> Result<Self> {
        Self::from_decoder(source, Decoder::new(identities, limits), threads)
    }

    /// A reader that checks every batch as [`ArchiveReader::new`]'s does but
    /// builds no records, for [`check_next`](ArchiveReader::check_next):
    /// verification without copying out the archive's content.
    pub fn checking_only(source: R, identities: &[Identity], limits: Limits) -> Result<Self> {
        Self::from_decoder(
            source,
            Decoder::checking_only(identities, limits),
            default_threads(),
        )
    }

    fn from_decoder(source: R, decoder: Decoder, threads: usize) -> Result<Self> {
        let mut feeder = Feeder::new(source, decoder, threads);
        let header = feeder.expect_header()?;
        let metadata = feeder.expect_metadata()?;
        Ok(ArchiveReader {
            feeder,
            header,
            metadata,
            trailer: None,
            salvage: None,
        })
    }

    /// What the salvage record at chunk 1 says, once chunk 1 has been read:
    /// `None` for an archive that is not a salvage's output, `Some(None)` for
    /// a salvage record that does not decode (spec §6.7).
    pub fn salvage_record(&self) -> Option<Option<&SalvageRecord>> {
        self.salvage.as_ref().map(Option::as_ref)
    }

    /// The archive's metadata chunk.
    pub fn metadata(&self) -> &ArchiveMetadata {
        &self.metadata
    }

    /// Facts from the authenticated header.
    pub fn header(&self) -> &HeaderInfo {
        &self.header
    }

    /// The next authenticated record batch, or `Ok(None)` once the trailer has
    /// been checked against everything read and the input has ended.
    ///
    /// A page batch (an archive of mode pages) is an [`Error::InvalidInput`]
    /// here rather than skipped: read such an archive with
    /// [`next_item`](ArchiveReader::next_item).
    pub fn next_batch(&mut self) -> Result<Option<Vec<Record>>> {
        match self.next_item()? {
            None => Ok(None),
            Some(Item::Records(records)) => Ok(Some(records)),
            Some(Item::Pages(_)) => Err(Error::invalid(
                "this archive holds database pages, not records; read it with next_item",
            )),
        }
    }

    /// The next authenticated batch of either kind, or `Ok(None)` once the
    /// trailer has been checked against everything read and the input has ended.
    ///
    /// A reader from [`checking_only`](ArchiveReader::checking_only) has no
    /// records to hand over: this is an [`Error::InvalidInput`] there.
    pub fn next_item(&mut self) -> Result<Option<Item>> {
        match self.next_batch_event()? {
            None => Ok(None),
            Some(Event::Records { records, .. }) => Ok(Some(Item::Records(records))),
            Some(Event::Pages { batch, .. }) => Ok(Some(Item::Pages(batch))),
            Some(_) => Err(Error::invalid(
                "this reader checks batches without keeping them; read it with check_next",
            )),
        }
    }

    /// Reads, authenticates and checks the next batch of either kind and
    /// returns how many records or pages it held instead of the batch, or
    /// `Ok(None)` once the trailer has been checked and the input has ended.
    pub fn check_next(&mut self) -> Result<Option<u64>> {
        Ok(self.next_batch_event()?.map(|event| match event {
            Event::Records { records, .. } => records.len() as u64,
            Event::Checked { records, .. } => records,
            Event::Pages { batch, .. } => batch.pages.len() as u64,
            _ => 0,
        }))
    }

    /// The next record, checked or page batch event, skipping the rest; at
    /// the end, the checked trailer is kept and `None` returned.
    fn next_batch_event(&mut self) -> Result<Option<Event>> {
        if self.trailer.is_some() {
            return Ok(None);
        }
        loop {
            match self.feeder.next_event()? {
                Some(
                    event @ (Event::Records { .. } | Event::Checked { .. } | Event::Pages { .. }),
                ) => return Ok(Some(event)),
                Some(Event::End(trailer)) => {
                    if self.feeder.next_event()?.is_some() {
                        return Err(Error::invalid(
                            "the decoder produced an event after the end",
                        ));
                    }
                    self.trailer = Some(trailer);
                    return Ok(None);
                }
                Some(Event::Salvaged { record }) => self.salvage = Some(record),
                Some(_) => continue,
                None => return Err(Error::invalid("the decoder ended without a trailer")),
            }
        }
    }

    /// The checked trailer, once [`next_batch`](ArchiveReader::next_batch) has returned `Ok(None)`.
    pub fn trailer(&self) -> Option<&Trailer> {
        self.trailer.as_ref()
    }

    /// How many archive bytes have been consumed.
    pub fn bytes_read(&self) -> u64 {
        self.feeder.decoder.offset()
    }

    /// How many chunks have been read, the final one included once reached.
    pub fn chunks_read(&self) -> u64 {
        self.feeder.chunks
    }
}

/// One authenticated batch from [`ArchiveReader::next_item`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A record batch (an archive of mode records).
    Records(Vec<Record>),
    /// A page batch (an archive of mode pages).
    Pages(PageBatch),
}

/// What `archive_metadata` tells without decoding the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveSummary {
    /// The format version of the archive.
    pub format_version: u16,
    /// How many key slots its header holds.
    pub key_slots: usize,
    /// The metadata chunk.
    pub metadata: ArchiveMetadata,
    /// The authenticated trailer, read from the end of the file.
    pub trailer: Option<Trailer>,
    /// The archive's length in bytes.
    pub archive_bytes: u64,
    /// What the trailer's signature block says (spec §6.6.3).
    pub signature: SignatureStatus,
    /// The file key the header gave up and the kind of slot that did: pass
    /// it on as an [`Identity::Opened`] to read the archive again without
    /// repeating the slot work.
    pub opened: crate::crypto::OpenedKey,
    /// The salvage record at chunk 1, when the archive is a salvage's output
    /// (spec §6.7): `Some(None)` when it does not decode.
    pub salvage: Option<Option<SalvageRecord>>,
}

/// Reads the header, the metadata chunk and the trailer of a seekable
/// archive, whatever its size: three small reads (spec §7.2).
///
/// The chunks between are not read, so a damaged body goes unnoticed here;
/// a full decode finds it.
pub fn read_summary<R: Read + Seek>(
    mut source: R,
    identities: &[Identity],
    limits: Limits,
) -> Result<ArchiveSummary> {
    let mut opened = open_seekable(&mut source, identities, limits)?;
    let signature = opened.header.signature_status(&opened.trailer);
    let salvage = read_salvage_record(&mut source, &mut opened);
    Ok(ArchiveSummary {
        salvage,
        signature,
        opened: opened.header.opened.clone(),
        format_version: opened.header.format_version,
        key_slots: opened.header.key_slots,
        metadata: opened.metadata,
        trailer: Some(opened.trailer),
        archive_bytes: opened.archive_bytes,
    })
}

/// Chunk 1 of a seekable archive when it is a salvage record (spec §6.7):
/// one more small read. Anything unexpected there reads as no record, since
/// a summary verifies nothing between the metadata and the trailer.
fn read_salvage_record<R: Read + Seek>(
    source: &mut R,
    start: &mut SeekableStart,
) -> Option<Option<SalvageRecord>> {
    if start.trailer.chunk_count < 2 {
        return None;
    }
    let mut bytes = [0; FRAME_HEADER_LEN];
    read_exact_at(
        source,
        start.after_metadata,
        &mut bytes,
        start.archive_bytes,
    )
    .ok()?;
    let frame = FrameHeader::parse(&bytes, 1, start.header.prelude.max_chunk_size).ok()?;
    if frame.kind != ChunkKind::SALVAGE || frame.is_final() {
        return None;
    }
    let mut stored = vec![0; frame.stored_len as usize];
    read_exact_at(
        source,
        start.after_metadata + FRAME_HEADER_LEN as u64,
        &mut stored,
        start.archive_bytes,
    )
    .ok()?;
    let (_, body, _) = start
        .opener
        .open(SealedFrame::new(frame, stored))
        .ok()?
        .into_parts();
    Some(SalvageRecord::decode(&body))
}

/// What the three reads of a seekable archive give (spec §7.2), with an
/// opener for any other frame of it.
pub(crate) struct SeekableStart {
    pub(crate) header: HeaderInfo,
    pub(crate) metadata: ArchiveMetadata,
    pub(crate) trailer: Trailer,
    pub(crate) archive_bytes: u64,
    /// Where frame 1 starts.
    pub(crate) after_metadata: u64,
    pub(crate) opener: FrameOpener,
}

/// Reads the header and metadata chunk from the start of `source` and the
/// trailer from its end, leaving the chunks between unread.
pub(crate) fn open_seekable<R: Read + Seek>(
    source: &mut R,
    identities: &[Identity],
    limits: Limits,
) -> Result<SeekableStart> {
    let archive_bytes = source.seek(SeekFrom::End(0))?;
    source.seek(SeekFrom::Start(0))?;
    let mut feeder = Feeder::new(&mut *source, Decoder::new(identities, limits), 1);
    let header = feeder.expect_header()?;
    let metadata = feeder.expect_metadata()?;
    let after_metadata = feeder.decoder.offset();
    if archive_bytes < after_metadata + FINAL_FRAME_LEN as u64 {
        return Err(Error::Truncated {
            offset: archive_bytes,
        });
    }
    let decoder = std::mem::replace(&mut feeder.decoder, Decoder::new(&[], limits));
    drop(feeder);
    let mut tail = [0; FINAL_FRAME_LEN];
    read_exact_at(
        source,
        archive_bytes - FINAL_FRAME_LEN as u64,
        &mut tail,
        archive_bytes,
    )?;
    let trailer = decoder.open_final_frame(&tail, archive_bytes)?;
    let opener = decoder.fork_opener()?;
    Ok(SeekableStart {
        header,
        metadata,
        trailer,
        archive_bytes,
        after_metadata,
        opener,
    })
}

/// Reads exactly `buffer.len()` bytes at `offset`; a short read is
/// truncation of an archive `archive_bytes` long.
pub(crate) fn read_exact_at<R: Read + Seek>(
    source: &mut R,
    offset: u64,
    buffer: &mut [u8],
    archive_bytes: u64,
) -> Result<()> {
    source.seek(SeekFrom::Start(offset))?;
    source
        .read_exact(buffer)
        .map_err(|error| match error.kind() {
            ErrorKind::UnexpectedEof => Error::Truncated {
                offset: archive_bytes,
            },
            _ => Error::Io(error),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::records::{Consent, ConsentEntityType, ConsentState};
    use crate::crypto::ArchiveKey;
    use crate::limits::MIN_CHUNK_SIZE;
    use crate::stream::writer::{ArchiveWriter, WriterOptions};

    /// An archive of 4 KiB chunks, some thirty of them.
    fn many_chunks() -> Vec<u8> {
        let key = ArchiveKey::from_bytes([7; 32]);
        let options = WriterOptions {
            chunk_size: MIN_CHUNK_SIZE,
            threads: 1,
            ..WriterOptions::default()
        };
        let mut writer =
            ArchiveWriter::new(Vec::new(), &[&key], &ArchiveMetadata::now(), &options).unwrap();
        for n in 0..4000u32 {
            let record = Record::Consent(Consent {
                entity_type: ConsentEntityType::Inbox,
                entity: format!("inbox-{n}-{}", n.wrapping_mul(2_654_435_761)),
                state: ConsentState::Allowed,
                updated_at_ns: i64::from(n),
            });
            writer.write_record(&record).unwrap();
        }
        writer.finish().unwrap().0
    }

    /// Reads `bytes` on four threads with `read_ahead` (the reader checks the
    /// budget as it submits each frame); returns the most frames that were
    /// in flight at once.
    fn most_in_flight(bytes: &[u8], read_ahead: u64) -> usize {
        let limits = Limits {
            read_ahead,
            ..Limits::default()
        };
        let identities = [ArchiveKey::from_bytes([7; 32]).into()];
        let mut reader = ArchiveReader::with_threads(bytes, &identities, limits, 4).unwrap();
        let mut batches = 0;
        while reader.next_batch().unwrap().is_some() {
            batches += 1;
        }
        assert!(batches > 20, "{batches} batches");
        assert!(reader.feeder.charges.is_empty() && reader.feeder.charged == 0);
        reader.feeder.most_in_flight
    }

    #[test]
    fn frames_read_ahead_keep_to_the_byte_budget_whatever_the_threads() {
        let bytes = many_chunks();
        // Each 4 KiB frame counts its stored bytes and 8 KiB.
        let frame = Limits::read_ahead_cost(MIN_CHUNK_SIZE, MIN_CHUNK_SIZE);
        assert_eq!(most_in_flight(&bytes, 0), 1);
        // Frames are stored compressed, so three budgeted frames hold three or four.
        let three = most_in_flight(&bytes, 3 * frame);
        assert!((3..=4).contains(&three), "{three} frames");
        // A generous budget leaves two frames per thread.
        assert_eq!(most_in_flight(&bytes, u64::MAX), 8);
    }
}
