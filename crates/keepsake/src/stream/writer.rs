//! The streaming archive writer (spec §8): records in, archive bytes out to
//! any [`Write`], one chunk in memory at a time.

use std::io::Write;

use rand::{CryptoRng, RngCore};

use crate::body::compress::Compressor;
use crate::body::content::ContentTally;
use crate::body::index::IndexBuilder;
use crate::body::pages::{BatchBuilder as PageBatchBuilder, batch_len};
use crate::body::records::{
    ArchiveMetadata, ArchiveMode, BatchBuilder, Record, encode_into, varint_len,
};
use crate::crypto::signature::SigningKey;
use crate::crypto::slots::Recipient;
use crate::crypto::{HeaderKeys, PayloadCipher, SignatureContext, seal_header};
use crate::error::{Error, Limit, Result};
use crate::format::{
    ChunkKind, FLAG_COMPRESSED, FLAG_FINAL, FRAME_HEADER_LEN, FrameHeader, Header, PRELUDE_LEN,
    Prelude, TAG_LEN, Trailer,
};
use crate::limits::{
    MIN_CHUNK_SIZE, WRITER_MAX_CHUNK_SIZE, decoded_size_budget, record_decoded_size,
};
use crate::stream::pipeline::{OrderedPool, SpareBuffers, default_threads, usable_threads};

/// The default chunk size: large enough for zstd to find redundancy across
/// messages, small enough that one chunk per worker stays cheap.
pub const DEFAULT_CHUNK_SIZE: u32 = 1 << 20;

/// The default zstd level.
pub const DEFAULT_LEVEL: i32 = 3;

/// Room in a chunk beyond its largest record: the batch's schema varint and
/// the record's length varint.
const BATCH_OVERHEAD: u32 = 8;

/// How an archive is chunked and compressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriterOptions {
    /// The largest decompressed chunk body, declared in the header; between
    /// 4 KiB and 64 MiB. A batch is closed before it would grow past this, or
    /// past its decoded-size budget ([`decoded_size_budget`]). Readers with
    /// default limits accept chunks of up to 4 MiB
    /// ([`crate::limits::DEFAULT_MAX_CHUNK_SIZE`]); larger ones need raised limits.
    pub chunk_size: u32,
    /// The zstd level for every chunk.
    pub level: i32,
    /// Worker threads that compress and seal chunks; one seals on the
    /// caller's thread. The bytes written are the same whatever the number.
    pub threads: usize,
    /// When set, the trailer carries an Ed25519 signature by this key (spec §6.6.3).
    pub signing_key: Option<SigningKey>,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            chunk_size: DEFAULT_CHUNK_SIZE,
            level: DEFAULT_LEVEL,
            threads: default_threads(),
            signing_key: None,
        }
    }
}

impl WriterOptions {
    /// Checks the options against what the format and this writer allow.
    fn validate(&self) -> Result<()> {
        if !(MIN_CHUNK_SIZE..=WRITER_MAX_CHUNK_SIZE).contains(&self.chunk_size) {
            return Err(Error::invalid(format!(
                "the chunk size must be between {MIN_CHUNK_SIZE} and {WRITER_MAX_CHUNK_SIZE} bytes, not {}",
                self.chunk_size
            )));
        }
        let levels = zstd::compression_level_range();
        if !levels.contains(&self.level) {
            return Err(Error::invalid(format!(
                "the zstd level must be between {} and {}, not {}",
                levels.start(),
                levels.end(),
                self.level
            )));
        }
        Ok(())
    }

    /// The largest record these options allow: one that fits a chunk alone.
    pub fn max_record_size(&self) -> u32 {
        self.chunk_size - BATCH_OVERHEAD
    }

    /// The largest decoded size (spec §6.3.1) of a batch these options
    /// write: what readers with limits for this chunk size accept.
    pub fn max_decoded_size(&self) -> u64 {
        decoded_size_budget(self.chunk_size)
    }
}

/// Writes one archive to a byte sink.
///
/// You must call [`finish`](ArchiveWriter::finish) when you are done writing,
/// or the archive has no final chunk and every reader rejects it as truncated.
pub struct ArchiveWriter<W: Write> {
    sink: W,
    prelude: [u8; PRELUDE_LEN],
    /// What a signature binds besides the trailer (spec §6.6.3).
    signature_context: SignatureContext,
    cipher: PayloadCipher,
    compressor: Compressor,
    options: WriterOptions,
    batch: BatchBuilder,
    /// The decoded size of the records in `batch` (spec §6.3.1).
    batch_decoded_size: u64,
    scratch: Vec<u8>,
    next_chunk: u64,
    bytes_written: u64,
    tally: ContentTally,
    failed: bool,
    /// The seek index being built, unless the caller turned it off.
    index: Option<IndexBuilder>,
    /// The mode the metadata chunk declared; `None` for the test vectors'
    /// hand-built archives, which may write anything.
    mode: Option<ArchiveMode>,
    /// The pending page batch of a pages archive, once the geometry is set.
    pages: Option<PageBatchBuilder>,
    /// Workers compressing and sealing chunks, when there are several.
    pool: Option<OrderedPool<SealJob, SealedFrame>>,
    /// Buffers back from sealed frames, for the next batches and frames.
    spare_buffers: SpareBuffers,
}

impl<W: Write> std::fmt::Debug for ArchiveWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveWriter")
            .field("options", &self.options)
            .field("next_chunk", &self.next_chunk)
            .field("bytes_written", &self.bytes_written)
            .finish_non_exhaustive()
    }
}

impl<W: Write> ArchiveWriter<W> {
    /// Starts an archive that each of `recipients` opens (one key slot each):
    /// writes the header and the metadata chunk, with a fresh file key and
    /// salt from the system's generator. Pass `&[&key]` for one raw key, or
    /// [`Recipient`]s for passphrases, X25519 recipients and slot names.
    pub fn new<R: Clone + Into<Recipient>>(
        sink: W,
        recipients: &[R],
        metadata: &ArchiveMetadata,
        options: &WriterOptions,
    ) -> Result<Self> {
        Self::with_rng(sink, recipients, metadata, options, &mut rand::rngs::OsRng)
    }

    /// As [`ArchiveWriter::new`], drawing the file key, salt and slot salts from
    /// `rng`. Only a deterministic generator for test vectors should pass
    /// anything but a system generator here.
    pub fn with_rng<R: Clone + Into<Recipient>>(
        sink: W,
        recipients: &[R],
        metadata: &ArchiveMetadata,
        options: &WriterOptions,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self> {
        options.validate()?;
        let recipients: Vec<Recipient> = recipients.iter().cloned().map(Into::into).collect();
        let (header, keys) = seal_header(
            (options.chunk_size, options.max_record_size()),
            &recipients,
            rng,
        )?;
        let mut writer = Self::start(sink, &header, keys, options)?;
        writer.mode = Some(metadata.mode);
        let mut body = Vec::new();
        encode_into(metadata, &mut body)?;
        if body.len() > options.chunk_size as usize {
            return Err(Error::invalid(
                "the archive metadata does not fit in one chunk",
            ));
        }
        writer.write_chunk(ChunkKind::METADATA, body)?;
        Ok(writer)
    }

    /// Writes a sealed header and returns a writer positioned at chunk 0, with
    /// no metadata chunk written yet. `options` are taken as given: the test
    /// vectors use this to write headers and bodies no caller may ask for.
    #[doc(hidden)]
    pub fn start(
        mut sink: W,
        header: &Header,
        keys: HeaderKeys,
        options: &WriterOptions,
    ) -> Result<Self> {
        let header_bytes = header.to_bytes()?;
        sink.write_all(&header_bytes)?;
        let pool = if usable_threads(options.threads) > 1 {
            let cipher = keys.payload.clone();
            let level = options.level;
            Some(OrderedPool::new(
                options.threads,
                options.threads * CHUNKS_IN_FLIGHT_PER_THREAD,
                || {
                    let mut compressor = Compressor::new(level)?;
                    let cipher = cipher.clone();
                    Ok(move |job: SealJob| job.seal(&mut compressor, &cipher))
                },
            )?)
        } else {
            None
        };
        let mut writer = ArchiveWriter {
            sink,
            prelude: Prelude::to_bytes(&header.prelude),
            signature_context: keys.signature,
            cipher: keys.payload,
            compressor: Compressor::new(options.level)?,
            options: options.clone(),
            batch: BatchBuilder::new(),
            batch_decoded_size: 0,
            scratch: Vec::new(),
            next_chunk: 0,
            bytes_written: header_bytes.len() as u64,
            tally: ContentTally::default(),
            failed: false,
            index: Some(IndexBuilder::default()),
            mode: None,
            pages: None,
            pool: None,
            spare_buffers: SpareBuffers::default(),
        };
        writer.pool = pool;
        Ok(writer)
    }

    /// The 52 prelude bytes of the archive's header.
    pub fn prelude(&self) -> &[u8; PRELUDE_LEN] {
        &self.prelude
    }

    /// The prelude and file-key commitment a signature binds (spec §6.6.3):
    /// the test vectors sign with it.
    #[doc(hidden)]
    pub fn signature_context(&self) -> &SignatureContext {
        &self.signature_context
    }

    /// How many chunks have been written to the sink so far.
    pub fn chunks_written(&self) -> u64 {
        self.next_chunk
    }

    /// How many archive bytes have been written to the sink so far; chunks
    /// still being sealed on worker threads are not counted yet.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Adds a record. Records must come in dependency order: a conversation
    /// before any of its messages, and each conversation once (spec §8).
    pub fn write_record(&mut self, record: &Record) -> Result<()> {
        self.guard()?;
        if self.mode == Some(ArchiveMode::Pages) {
            return Err(Error::invalid(
                "a pages archive holds no records; write pages with write_page",
            ));
        }
        self.tally.check_order(record).map_err(|why| {
            Error::invalid(format!(
                "records out of dependency order: {}",
                why.describe()
            ))
        })?;
        self.scratch.clear();
        encode_into(record, &mut self.scratch)?;
        let max_record_size = self.options.max_record_size();
        if self.scratch.len() > max_record_size as usize {
            return Err(Error::LimitExceeded {
                what: Limit::RecordSize,
                value: self.scratch.len() as u64,
                limit: u64::from(max_record_size),
            });
        }
        // A reader must be able to decode any batch this writer closes
        // (spec §8.3): a record that alone breaks the budget is refused.
        let decoded_size = record_decoded_size(self.scratch.len(), record.values());
        let budget = self.options.max_decoded_size();
        if decoded_size > budget {
            return Err(Error::LimitExceeded {
                what: Limit::DecodedSize,
                value: decoded_size,
                limit: budget,
            });
        }
        let entry_len = varint_len(self.scratch.len() as u64) + self.scratch.len();
        let full = self.batch.len() + entry_len > self.options.chunk_size as usize
            || self.batch_decoded_size + decoded_size > budget;
        if !self.batch.is_empty() && full {
            self.flush_batch()?;
        }
        self.batch.push_encoded(&self.scratch);
        self.batch_decoded_size += decoded_size;
        self.tally.add_record(record);
        if let Some(index) = self.index.as_mut() {
            index.add_record(record);
        }
        Ok(())
    }

    /// Sets the geometry of the database whose pages follow (spec §6.4):
    /// its page size and its size in pages. Once, before the first
    /// [`write_page`](ArchiveWriter::write_page), in an archive whose
    /// metadata mode is [`ArchiveMode::Pages`].
    pub fn set_page_geometry(&mut self, page_size: u32, database_pages: u32) -> Result<()> {
        self.guard()?;
        if self.mode != Some(ArchiveMode::Pages) {
            return Err(Error::invalid(
                "pages go only in an archive whose metadata mode is pages",
            ));
        }
        if self.pages.is_some() {
            return Err(Error::invalid("the page geometry is already set"));
        }
        let builder = PageBatchBuilder::new(page_size, database_pages)?;
        if batch_len(page_size, 1) > self.options.chunk_size as usize {
            return Err(Error::invalid(format!(
                "the chunk size {} is too small for one page of {page_size} bytes: it must be at least {}",
                self.options.chunk_size,
                batch_len(page_size, 1)
            )));
        }
        self.pages = Some(builder);
        Ok(())
    }

    /// Adds database page `number`, `page_size` bytes. Page 1 comes first and
    /// numbers ascend; pages left out (free-list leaves) are restored as zeros.
    /// As many pages go in one batch as the chunk size allows.
    pub fn write_page(&mut self, number: u32, data: &[u8]) -> Result<()> {
        self.guard()?;
        let chunk_size = self.options.chunk_size as usize;
        let builder = self
            .pages
            .as_mut()
            .ok_or_else(|| Error::invalid("set the page geometry before writing pages"))?;
        if self.tally.pages() == 0 && builder.pending() == 0 && number != 1 {
            return Err(Error::invalid("the first page written must be page 1"));
        }
        if batch_len(builder.page_size(), builder.pending() + 1) > chunk_size {
            self.flush_batch()?;
        }
        let builder = self
            .pages
            .as_mut()
            .ok_or_else(|| Error::invalid("no page geometry"))?;
        builder.push(number, data)?;
        Ok(())
    }

    /// Writes any pending batch and the trailer, flushes the sink and returns
    /// it with the trailer written.
    ///
    /// Unless [`without_index`](ArchiveWriter::without_index) was called, a
    /// seek index chunk comes just before the trailer and the trailer points
    /// to it (spec §6.5); when the index would be larger than the chunk size,
    /// or its decoded size larger than a batch's budget, it is left out and
    /// the returned trailer's index fields are zero.
    pub fn finish(mut self) -> Result<(W, Trailer)> {
        self.guard()?;
        self.flush_batch()?;
        self.drain()?;
        if self.mode == Some(ArchiveMode::Pages) && self.tally.pages() == 0 {
            self.failed = true;
            return Err(Error::invalid(
                "a pages archive needs at least page 1 before it is finished",
            ));
        }
        let placed = self.write_index()?;
        let mut trailer = self.trailer()?;
        if let Some((chunk, offset)) = placed {
            trailer.index_chunk = chunk;
            trailer.index_offset = offset;
        }
        if let Some(key) = &self.options.signing_key {
            key.sign(&self.signature_context, &mut trailer);
        }
        self.write_frame(ChunkKind::TRAILER, FLAG_FINAL, trailer.to_bytes().to_vec())?;
        Ok((self.into_sink()?, trailer))
    }

    /// Leaves the seek index out of this archive: the trailer's index fields
    /// stay zero. The published test vectors are written this way.
    pub fn without_index(&mut self) {
        self.index = None;
    }

    /// Writes any pending batch and hands over the seek index as it stands,
    /// leaving the archive without one unless the caller writes it: the test
    /// vectors use this to write indexes with deliberate defects.
    pub fn take_index(&mut self) -> Result<Option<crate::body::index::SeekIndex>> {
        self.flush_batch()?;
        self.drain()?;
        Ok(self.index.take().map(IndexBuilder::build))
    }

    /// Writes the seek index chunk, once every other chunk is written, and
    /// returns its chunk number and frame offset; `None` when there is none.
    fn write_index(&mut self) -> Result<Option<(u64, u64)>> {
        let Some(index) = self.index.take() else {
            return Ok(None);
        };
        debug_assert_eq!(index.entries(), self.next_chunk);
        let index = index.build();
        if index.decoded_size() > self.options.max_decoded_size() {
            return Ok(None);
        }
        let body = index.to_bytes()?;
        if body.len() > self.options.chunk_size as usize {
            return Ok(None);
        }
        let chunk = self.next_chunk;
        let offset = self.bytes_written;
        self.write_chunk(ChunkKind::INDEX, body)?;
        self.drain()?;
        Ok(Some((chunk, offset)))
    }

    /// Writes any pending batch and returns the trailer that would end the
    /// archive here, without writing it.
    #[doc(hidden)]
    pub fn trailer(&mut self) -> Result<Trailer> {
        self.guard()?;
        self.flush_batch()?;
        self.drain()?;
        Ok(self.tally.trailer(self.next_chunk))
    }

    /// Flushes the sink and returns it, whatever has been written.
    #[doc(hidden)]
    pub fn into_sink(mut self) -> Result<W> {
        self.drain()?;
        self.sink.flush()?;
        Ok(self.sink)
    }

    /// What the trailer will commit to; the test vectors count chunks they
    /// seal with [`ArchiveWriter::write_frame`] through it.
    pub fn tally_mut(&mut self) -> &mut ContentTally {
        &mut self.tally
    }

    fn guard(&self) -> Result<()> {
        if self.failed {
            Err(Error::invalid(
                "this archive writer already failed; start a new archive",
            ))
        } else {
            Ok(())
        }
    }

    /// Writes the pending record or page batch, if any, as one chunk.
    #[doc(hidden)]
    pub fn flush_batch(&mut self) -> Result<()> {
        if let Some(builder) = self.pages.as_mut() {
            let pages = builder.pending() as u64;
            if let Some(body) = builder.take() {
                self.tally.add_pages(pages);
                return self.write_chunk(ChunkKind::PAGES, body);
            }
        }
        if self.batch.is_empty() {
            return Ok(());
        }
        let buffer = self.spare_buffers.take();
        let body = self.batch.take_reusing(buffer);
        self.batch_decoded_size = 0;
        self.write_chunk(ChunkKind::RECORDS, body)
    }

    /// Compresses (when that helps), seals and writes one non-final chunk.
    #[doc(hidden)]
    pub fn write_chunk(&mut self, kind: ChunkKind, body: Vec<u8>) -> Result<()> {
        self.tally.add_chunk(kind, &body);
        if let Some(index) = self.index.as_mut() {
            index.add_chunk(kind);
        }
        let job = SealJob {
            kind,
            chunk: self.next_chunk,
            body,
            spare: self.spare_buffers.take(),
        };
        self.next_chunk += 1;
        let sealed = match self.pool.as_mut() {
            Some(pool) => pool.submit(job),
            None => job.seal(&mut self.compressor, &self.cipher).map(Some),
        };
        match sealed {
            Ok(Some(frame)) => self.write_sealed(frame),
            Ok(None) => Ok(()),
            Err(error) => {
                self.failed = true;
                Err(error)
            }
        }
    }

    /// Seals `stored` as the next frame with exactly these kind and flags,
    /// without compressing it or adding it to the trailer's tally.
    #[doc(hidden)]
    pub fn write_frame(&mut self, kind: ChunkKind, flags: u8, stored: Vec<u8>) -> Result<()> {
        self.drain()?;
        let frame = match seal_frame(&self.cipher, kind, flags, self.next_chunk, stored) {
            Ok(frame) => frame,
            Err(error) => {
                self.failed = true;
                return Err(error);
            }
        };
        self.next_chunk += 1;
        self.write_sealed(frame)
    }

    /// Writes every chunk the workers still hold, in order.
    #[doc(hidden)]
    pub fn drain(&mut self) -> Result<()> {
        while let Some(pool) = self.pool.as_mut() {
            match pool.next_result() {
                Ok(Some(frame)) => self.write_sealed(frame)?,
                Ok(None) => break,
                Err(error) => {
                    self.failed = true;
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// Writes a frame a worker sealed, and keeps its buffers for reuse.
    fn write_sealed(&mut self, frame: SealedFrame) -> Result<()> {
        if let Some(index) = self.index.as_mut() {
            index.place(self.bytes_written);
        }
        let result = self
            .sink
            .write_all(&frame.header)
            .and_then(|()| self.sink.write_all(&frame.stored));
        if result.is_err() {
            self.failed = true;
        }
        result?;
        self.bytes_written += (frame.header.len() + frame.stored.len()) as u64;
        self.spare_buffers.give(frame.stored);
        self.spare_buffers.give(frame.spare);
        Ok(())
    }
}

/// Chunks compressing or waiting to be written, per worker thread.
const CHUNKS_IN_FLIGHT_PER_THREAD: usize = 2;

/// One chunk for a worker to compress and seal.
struct SealJob {
    kind: ChunkKind,
    chunk: u64,
    body: Vec<u8>,
    /// A buffer to compress the body into, whose allocation is reused.
    spare: Vec<u8>,
}

impl SealJob {
    /// Compresses the body when that makes it smaller, then seals it: the
    /// whole frame, on whichever thread runs the job.
    fn seal(self, compressor: &mut Compressor, cipher: &PayloadCipher) -> Result<SealedFrame> {
        let SealJob {
            kind,
            chunk,
            body,
            mut spare,
        } = self;
        let (flags, stored, spare) = if compressor.compress_into(&body, &mut spare) {
            (FLAG_COMPRESSED, spare, body)
        } else {
            (0, body, spare)
        };
        let mut frame = seal_frame(cipher, kind, flags, chunk, stored)?;
        frame.spare = spare;
        Ok(frame)
    }
}

/// A frame ready to write (spec §5): its header, then its ciphertext and tag.
struct SealedFrame {
    header: [u8; FRAME_HEADER_LEN],
    stored: Vec<u8>,
    /// The job's other buffer, handed back for reuse.
    spare: Vec<u8>,
}

/// Seals `stored` in place as frame `chunk` (spec §5).
fn seal_frame(
    cipher: &PayloadCipher,
    kind: ChunkKind,
    flags: u8,
    chunk: u64,
    mut stored: Vec<u8>,
) -> Result<SealedFrame> {
    let stored_len = u32::try_from(stored.len() + TAG_LEN)
        .map_err(|_| Error::invalid("a chunk is larger than the format allows"))?;
    let frame = FrameHeader {
        kind,
        flags,
        stored_len,
        chunk,
    };
    let header = frame.to_bytes();
    cipher.seal(&header, &frame, &mut stored);
    Ok(SealedFrame {
        header,
        stored,
        spare: Vec::new(),
    })
}
