//! The sans-I/O archive decoder (spec §7): fed bytes, it returns how many it
//! consumed and, when a unit is complete, an [`Event`].
//!
//! It does no I/O of its own, so the blocking [`crate::stream::reader::ArchiveReader`],
//! an async reader and a fuzz target feeding one byte at a time all share
//! this one state machine. At most one frame's bytes are buffered.

use crate::body::compress::Decompressor;
use std::sync::Arc;

use crate::body::content::{BatchFacts, ContentTally, DigestChain, DigestTurn, FactsBuilder};
use crate::body::pages::{PageBatch, PageSequence};
use crate::body::records::{
    ArchiveMetadata, ArchiveMode, BatchLimits, Record, check_batch, decode_exact, materialise_batch,
};
use crate::body::salvage_record::SalvageRecord;
use crate::crypto::signature::SignatureStatus;
use crate::crypto::{Identity, OpenedKey, PayloadCipher, open_header};
use crate::error::{Error, Limit, Result};
use crate::format::{
    ChunkKind, FINAL_FRAME_LEN, FORMAT_VERSION, FRAME_HEADER_LEN, FrameHeader, Header, HeaderLen,
    Prelude, TRAILER_LEN, Trailer, VERSIONED_PREFIX_LEN,
};
use crate::limits::Limits;
use crate::stream::pipeline::SpareBuffers;

/// What the decoder found, in archive order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The header authenticated under one of the identities.
    Header(HeaderInfo),
    /// The metadata chunk (always chunk 0).
    Metadata(ArchiveMetadata),
    /// An authenticated record batch.
    Records {
        /// The chunk index.
        chunk: u64,
        /// The records, in archive order.
        records: Vec<Record>,
    },
    /// An authenticated record batch, checked as [`Event::Records`] is, from
    /// a decoder that keeps no records ([`Decoder::checking_only`]).
    Checked {
        /// The chunk index.
        chunk: u64,
        /// How many records it held.
        records: u64,
    },
    /// An authenticated page batch, checked against the batches before it.
    Pages {
        /// The chunk index.
        chunk: u64,
        /// The pages and the database geometry they belong to.
        batch: PageBatch,
    },
    /// A salvage record at chunk 1 (spec §6.7): this archive was written by
    /// salvage from a damaged one. Its content never fails the archive.
    Salvaged {
        /// The record, or `None` when its body is not one canonical value.
        record: Option<SalvageRecord>,
    },
    /// An ignorable chunk this decoder does not interpret, authenticated and skipped.
    Skipped {
        /// The chunk index.
        chunk: u64,
        /// Its kind.
        kind: ChunkKind,
    },
    /// The trailer, checked against everything before it. No byte may follow.
    End(Trailer),
}

/// Facts from an authenticated header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderInfo {
    /// The format version.
    pub format_version: u16,
    /// How many key slots the header holds, of any kind.
    pub key_slots: usize,
    /// The header's length in bytes.
    pub header_len: usize,
    /// The prelude: suite, declared limits, salt.
    pub prelude: Prelude,
    /// The file key the header gave up and the kind of slot that did:
    /// offered back as an identity, it opens this archive again with no
    /// slot work.
    pub opened: OpenedKey,
}

impl HeaderInfo {
    /// What the signature block of this archive's `trailer` says (spec §6.6.3).
    pub fn signature_status(&self, trailer: &Trailer) -> SignatureStatus {
        SignatureStatus::of(&self.opened.signature_context(), trailer)
    }
}

#[derive(Debug)]
enum State {
    /// Reading the header; `need` bytes are wanted before looking again.
    Header { need: usize },
    /// Reading a frame header.
    FrameHeader,
    /// Reading a frame's ciphertext.
    FrameBody { frame: FrameHeader },
    /// The trailer has been read; only end of input may follow.
    Done,
    /// An error was returned; the decoder refuses further input.
    Failed,
}

/// The archive decoder. Create one per archive with the identities that may
/// open it, then [`feed`](Decoder::feed) it bytes and call
/// [`finish`](Decoder::finish) at end of input.
pub struct Decoder {
    identities: Vec<Identity>,
    keep_records: bool,
    limits: Limits,
    state: State,
    buffer: Vec<u8>,
    /// Buffers back from interpreted frames, for reading and decompressing
    /// the next ones.
    spare_buffers: SpareBuffers,
    offset: u64,
    opened: Option<Opened>,
    next_chunk: u64,
    tally: ContentTally,
    /// The archive's mode, once the metadata chunk has been read.
    mode: Option<ArchiveMode>,
    pages: PageSequence,
}

/// What the header gave: the keys and the limits the body must keep.
struct Opened {
    opener: FrameOpener,
    prelude: Prelude,
}

/// A frame read from the input whose ciphertext has not been opened yet.
#[derive(Debug)]
pub(crate) struct SealedFrame {
    frame: FrameHeader,
    stored: Vec<u8>,
    /// A buffer to decompress the body into, whose allocation is reused.
    spare: Vec<u8>,
}

impl SealedFrame {
    /// A frame read by a caller that found it itself (the seekable reader, salvage).
    pub(crate) fn new(frame: FrameHeader, stored: Vec<u8>) -> SealedFrame {
        SealedFrame {
            frame,
            stored,
            spare: Vec::new(),
        }
    }
}

impl OpenedFrame {
    /// The frame header, the body, and the records when it is a record batch,
    /// built once the batch has passed its checks.
    pub(crate) fn into_parts(self) -> (FrameHeader, Vec<u8>, Option<Result<Vec<Record>>>) {
        let chunk = self.frame.chunk;
        let records = self.records.map(|batch| {
            batch.and_then(|batch| materialise_batch(&self.body, chunk, batch.facts.records))
        });
        (self.frame, self.body, records)
    }
}

/// A record batch checked off the in-order thread; its records are built,
/// when wanted, only by the thread that hands them over (spec §9: one
/// batch's decoded records at a time).
#[derive(Debug)]
struct RecordBatch {
    /// What the batch adds to the content tally.
    facts: BatchFacts,
}

/// A frame authenticated and decompressed, with its records checked when it
/// is a record batch: the work that can run on any thread.
#[derive(Debug)]
pub(crate) struct OpenedFrame {
    frame: FrameHeader,
    body: Vec<u8>,
    /// The sealed frame's other buffer, handed back for reuse.
    spare: Vec<u8>,
    records: Option<Result<RecordBatch>>,
    pages: Option<Result<PageBatch>>,
}

/// Authenticates, decompresses and decodes frames of one archive (spec §7.1
/// steps 10, 11 and the decoding half of 13). Each worker thread has its own.
pub(crate) struct FrameOpener {
    cipher: PayloadCipher,
    decompressor: Decompressor,
    max_chunk_size: u32,
    batch_limits: BatchLimits,
    /// Where this opener adds each body to the content digest, when the
    /// decoder that interprets the frames does not.
    digest_chain: Option<Arc<DigestChain>>,
}

impl FrameOpener {
    /// Another opener for the same archive, for another thread.
    pub(crate) fn fork(&self) -> FrameOpener {
        FrameOpener {
            cipher: self.cipher.clone(),
            decompressor: Decompressor::default(),
            max_chunk_size: self.max_chunk_size,
            batch_limits: self.batch_limits,
            digest_chain: self.digest_chain.clone(),
        }
    }

    /// Authenticates, decompresses and decodes a frame; with a digest chain,
    /// then adds its body to the content digest in its turn.
    pub(crate) fn open(&mut self, sealed: SealedFrame) -> Result<OpenedFrame> {
        let Some(chain) = self.digest_chain.clone() else {
            return self.open_frame(sealed);
        };
        let frame = sealed.frame;
        let turn = DigestTurn::new(&chain, frame.chunk);
        let opened = self.open_frame(sealed);
        // The trailer itself is not digested (spec §6.6.2).
        turn.take(match &opened {
            Ok(opened) if !frame.is_final() => Some((frame.kind, opened.body.as_slice())),
            _ => None,
        });
        opened
    }

    fn open_frame(&mut self, sealed: SealedFrame) -> Result<OpenedFrame> {
        let SealedFrame {
            frame,
            mut stored,
            mut spare,
        } = sealed;
        self.cipher.open(&frame.to_bytes(), &frame, &mut stored)?;
        let (body, spare) = if frame.is_compressed() {
            self.decompressor.decompress_into(
                &stored,
                self.max_chunk_size as usize,
                frame.chunk,
                &mut spare,
            )?;
            (spare, stored)
        } else {
            (stored, spare)
        };
        // Decoding errors wait for the placement checks, which come first (spec §7.1 step 12).
        let records =
            (frame.kind == ChunkKind::RECORDS).then(|| self.decode_records(&body, frame.chunk));
        let pages = (frame.kind == ChunkKind::PAGES)
            .then(|| crate::body::pages::decode_batch(&body, frame.chunk));
        Ok(OpenedFrame {
            frame,
            body,
            spare,
            records,
            pages,
        })
    }

    /// Checks a record batch (spec §6.3.1) and gathers what it adds to the
    /// tally, building no record.
    fn decode_records(&self, body: &[u8], chunk: u64) -> Result<RecordBatch> {
        let mut facts = FactsBuilder::new(body);
        check_batch(body, chunk, self.batch_limits, |_, record| {
            facts.add(&record)
        })?;
        Ok(RecordBatch {
            facts: facts.finish(),
        })
    }
}

/// What the framing half of the decoder produces.
#[derive(Debug)]
pub(crate) enum Unit {
    /// The header authenticated.
    Header(HeaderInfo),
    /// A frame's bytes, to be opened.
    Frame(SealedFrame),
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("state", &self.state)
            .field("offset", &self.offset)
            .field("next_chunk", &self.next_chunk)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// A decoder that opens the archive with any of `identities`, refusing an
    /// archive whose header declares more than `limits`.
    pub fn new(identities: &[Identity], limits: Limits) -> Self {
        Decoder {
            identities: identities.to_vec(),
            keep_records: true,
            limits,
            state: State::Header {
                need: VERSIONED_PREFIX_LEN,
            },
            buffer: Vec::new(),
            spare_buffers: SpareBuffers::default(),
            offset: 0,
            opened: None,
            next_chunk: 0,
            tally: ContentTally::default(),
            mode: None,
            pages: PageSequence::default(),
        }
    }

    /// A decoder that checks record batches exactly as [`Decoder::new`]'s
    /// does but keeps none of their records: each batch comes out as
    /// [`Event::Checked`] with its record count. Verifying this way decodes
    /// records as views into the batch and copies none of their content.
    pub fn checking_only(identities: &[Identity], limits: Limits) -> Self {
        Decoder {
            keep_records: false,
            ..Decoder::new(identities, limits)
        }
    }

    /// How many bytes the decoder has consumed.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether the trailer has been read and checked.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// The index of the next chunk expected.
    pub fn next_chunk(&self) -> u64 {
        self.next_chunk
    }

    /// The limits this decoder reads under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// What `sealed`, a frame of this archive, counts against the read-ahead
    /// ([`Limits::read_ahead_cost`]).
    pub(crate) fn read_ahead_cost(&self, sealed: &SealedFrame) -> u64 {
        let max_chunk_size = self
            .opened
            .as_ref()
            .map_or(self.limits.max_chunk_size, |opened| {
                opened.prelude.max_chunk_size
            });
        Limits::read_ahead_cost(sealed.frame.stored_len, max_chunk_size)
    }

    /// Consumes bytes from `input` up to the end of the next complete unit.
    ///
    /// Returns how many bytes were consumed and the event completed, if any;
    /// call again with the rest of the input. Once an error is returned the
    /// decoder is spent and every later call fails.
    pub fn feed(&mut self, input: &[u8]) -> Result<(usize, Option<Event>)> {
        let result = self.feed_units(input).and_then(|(used, unit)| {
            let event = match unit {
                None => None,
                Some(Unit::Header(info)) => Some(Event::Header(info)),
                Some(Unit::Frame(sealed)) => {
                    let opened = self.open(sealed)?;
                    Some(self.interpret(opened)?)
                }
            };
            Ok((used, event))
        });
        self.fail_on(result)
    }

    /// The framing half of [`Decoder::feed`]: consumes bytes up to the end of
    /// the header or of one frame, without opening the frame.
    pub(crate) fn feed_units(&mut self, input: &[u8]) -> Result<(usize, Option<Unit>)> {
        let result = self.feed_inner(input);
        self.fail_on(result)
    }

    /// The in-order half: checks an opened frame's placement, adds it to
    /// what the trailer must match, and turns it into an event (spec §7.1
    /// steps 12–14).
    pub(crate) fn interpret(&mut self, mut opened: OpenedFrame) -> Result<Event> {
        let buffers = [
            std::mem::take(&mut opened.body),
            std::mem::take(&mut opened.spare),
        ];
        let result = self.interpret_inner(opened, &buffers[0]);
        for buffer in buffers {
            self.spare_buffers.give(buffer);
        }
        self.fail_on(result)
    }

    /// Opens a frame on the caller's thread.
    pub(crate) fn open(&mut self, sealed: SealedFrame) -> Result<OpenedFrame> {
        let result = self.opener_mut().and_then(|opener| opener.open(sealed));
        self.fail_on(result)
    }

    /// An opener for another thread, once the header has been read.
    pub(crate) fn fork_opener(&self) -> Result<FrameOpener> {
        Ok(self.opened()?.opener.fork())
    }

    /// An opener for worker threads that open every frame from here on, in
    /// order, each adding its body to the content digest: this decoder then
    /// only interprets them, and computes none of the digest itself.
    pub(crate) fn chained_opener(&mut self) -> Result<FrameOpener> {
        let mut opener = self.fork_opener()?;
        opener.digest_chain = Some(self.tally.chain_digest(self.next_chunk));
        Ok(opener)
    }

    fn fail_on<T>(&mut self, result: Result<T>) -> Result<T> {
        if result.is_err() {
            self.state = State::Failed;
            self.buffer = Vec::new();
            self.spare_buffers = SpareBuffers::default();
        }
        result
    }

    /// Tells the decoder the input has ended: an error unless the trailer has
    /// been read (spec §7: end of input before the final frame is truncation).
    pub fn finish(&mut self) -> Result<()> {
        match self.state {
            State::Done => Ok(()),
            State::Failed => Err(Error::invalid("the decoder already failed")),
            State::Header { .. } if Header::measure(&self.buffer).is_err() => {
                self.state = State::Failed;
                Header::measure(&self.buffer).map(|_| ())
            }
            _ => {
                self.state = State::Failed;
                Err(Error::Truncated {
                    offset: self.offset,
                })
            }
        }
    }

    fn feed_inner(&mut self, input: &[u8]) -> Result<(usize, Option<Unit>)> {
        let mut consumed = 0;
        loop {
            let need = match &self.state {
                State::Header { need } => *need,
                State::FrameHeader => FRAME_HEADER_LEN,
                State::FrameBody { frame } => frame.stored_len as usize,
                State::Done if input.is_empty() => return Ok((0, None)),
                State::Done => {
                    return Err(Error::TrailingData {
                        offset: self.offset,
                    });
                }
                State::Failed => return Err(Error::invalid("the decoder already failed")),
            };
            let wanted = need.saturating_sub(self.buffer.len());
            let take = wanted.min(input.len() - consumed);
            // Grow with the bytes that actually arrive, never to a declared
            // length up front: a frame that claims the maximum size and then
            // ends costs at most twice what was sent (spec §9).
            let len = self.buffer.len();
            if self.buffer.capacity() < len + take {
                let grown = (len + take).max(2 * self.buffer.capacity()).min(need);
                self.buffer.reserve_exact(grown - len);
            }
            self.buffer
                .extend_from_slice(&input[consumed..consumed + take]);
            consumed += take;
            self.offset += take as u64;
            if self.buffer.len() < need {
                return Ok((consumed, None));
            }
            if let Some(unit) = self.step()? {
                return Ok((consumed, Some(unit)));
            }
        }
    }

    /// Acts on a complete buffer; returns a unit or moves to the next state.
    fn step(&mut self) -> Result<Option<Unit>> {
        match std::mem::replace(&mut self.state, State::Failed) {
            State::Header { .. } => match Header::measure(&self.buffer)? {
                HeaderLen::AtLeast(need) => {
                    self.state = State::Header { need };
                    Ok(None)
                }
                HeaderLen::Exactly(need) if need > self.buffer.len() => {
                    // The fixed part is in: its declared limits are checked
                    // before the slot table is read (spec §7 step 5).
                    self.check_declared_limits()?;
                    self.state = State::Header { need };
                    Ok(None)
                }
                _ => {
                    let info = self.open_header()?;
                    self.buffer.clear();
                    self.state = State::FrameHeader;
                    Ok(Some(Unit::Header(info)))
                }
            },
            State::FrameHeader => {
                let bytes: [u8; FRAME_HEADER_LEN] = self.buffer[..]
                    .try_into()
                    .map_err(|_| Error::invalid("frame header buffer size"))?;
                let max_chunk_size = self.prelude()?.max_chunk_size;
                let frame = FrameHeader::parse(&bytes, self.next_chunk, max_chunk_size)?;
                self.buffer.clear();
                self.state = State::FrameBody { frame };
                Ok(None)
            }
            State::FrameBody { frame } => {
                let next = self.spare_buffers.take();
                let stored = std::mem::replace(&mut self.buffer, next);
                let spare = self.spare_buffers.take();
                self.next_chunk += 1;
                // After the final frame only the end of input may come; whether
                // the final frame really is the trailer is checked in order.
                self.state = if frame.is_final() {
                    State::Done
                } else {
                    State::FrameHeader
                };
                Ok(Some(Unit::Frame(SealedFrame {
                    frame,
                    stored,
                    spare,
                })))
            }
            state @ (State::Done | State::Failed) => {
                self.state = state;
                Ok(None)
            }
        }
    }

    fn opened(&self) -> Result<&Opened> {
        self.opened
            .as_ref()
            .ok_or_else(|| Error::invalid("the header has not been read"))
    }

    fn opener_mut(&mut self) -> Result<&mut FrameOpener> {
        self.opened
            .as_mut()
            .map(|opened| &mut opened.opener)
            .ok_or_else(|| Error::invalid("the header has not been read"))
    }

    fn prelude(&self) -> Result<&Prelude> {
        Ok(&self.opened()?.prelude)
    }

    /// Checks the limits the fixed header part declares: sane, and within ours.
    fn check_declared_limits(&self) -> Result<()> {
        let prelude = Prelude::parse(&self.buffer)?;
        Limits::check(
            Limit::ChunkSize,
            u64::from(prelude.max_chunk_size),
            u64::from(self.limits.max_chunk_size),
        )?;
        Limits::check(
            Limit::RecordSize,
            u64::from(prelude.max_record_size),
            u64::from(self.limits.max_record_size),
        )
    }

    /// Parses the header and opens it (spec §7.1 steps 5.4 to 7).
    fn open_header(&mut self) -> Result<HeaderInfo> {
        let header = Header::parse(&self.buffer)?;
        let (opened, keys) = open_header(&header, &self.identities)?;
        self.opened = Some(Opened {
            opener: FrameOpener {
                cipher: keys.payload,
                decompressor: Decompressor::default(),
                max_chunk_size: header.prelude.max_chunk_size,
                batch_limits: BatchLimits {
                    max_record_size: header.prelude.max_record_size,
                    max_decoded_size: self.limits.max_decoded_size,
                },
                digest_chain: None,
            },
            prelude: header.prelude.clone(),
        });
        Ok(HeaderInfo {
            format_version: FORMAT_VERSION,
            key_slots: header.slots.len(),
            header_len: self.buffer.len(),
            prelude: header.prelude,
            opened,
        })
    }

    fn interpret_inner(&mut self, opened: OpenedFrame, body: &[u8]) -> Result<Event> {
        let OpenedFrame {
            frame,
            records,
            pages,
            ..
        } = opened;
        let frame = &frame;
        let chunk = frame.chunk;
        let kind = frame.kind;
        if (kind == ChunkKind::TRAILER) != frame.is_final() {
            return Err(Error::corrupt(
                chunk,
                "the final flag is set on a chunk other than the trailer, or missing from the trailer",
            ));
        }
        if (kind == ChunkKind::METADATA) != (chunk == 0) {
            return Err(Error::corrupt(
                chunk,
                "the metadata chunk must be the first chunk and only the first",
            ));
        }
        if kind == ChunkKind::TRAILER {
            if frame.is_compressed() {
                return Err(Error::corrupt(chunk, "the trailer must not be compressed"));
            }
            let trailer = Trailer::parse(body, chunk)?;
            if self.mode == Some(ArchiveMode::Pages) && self.pages.is_empty() {
                return Err(Error::corrupt(
                    chunk,
                    "a pages archive ends without any page batch",
                ));
            }
            self.tally.check(&trailer, chunk)?;
            return Ok(Event::End(trailer));
        }

        self.tally.add_chunk(kind, body);
        match kind {
            ChunkKind::METADATA => {
                let metadata: ArchiveMetadata = decode_exact(body, chunk, "the archive metadata")?;
                self.mode = Some(metadata.mode);
                Ok(Event::Metadata(metadata))
            }
            ChunkKind::RECORDS => {
                if self.mode != Some(ArchiveMode::Records) {
                    return Err(Error::corrupt(
                        chunk,
                        "a record batch in an archive whose mode is pages",
                    ));
                }
                let batch = records.ok_or_else(|| Error::invalid("a batch was not decoded"))??;
                self.tally
                    .add_batch(&batch.facts, body)
                    .map_err(|why| Error::corrupt(chunk, why.describe()))?;
                Ok(if self.keep_records {
                    Event::Records {
                        chunk,
                        records: materialise_batch(body, chunk, batch.facts.records)?,
                    }
                } else {
                    Event::Checked {
                        chunk,
                        records: batch.facts.records,
                    }
                })
            }
            ChunkKind::PAGES => {
                if self.mode != Some(ArchiveMode::Pages) {
                    return Err(Error::corrupt(
                        chunk,
                        "a page batch in an archive whose mode is records",
                    ));
                }
                let batch = pages.ok_or_else(|| Error::invalid("a batch was not decoded"))??;
                self.pages.add(&batch, chunk)?;
                self.tally.add_pages(batch.pages.len() as u64);
                Ok(Event::Pages { chunk, batch })
            }
            ChunkKind::SALVAGE if chunk == 1 => Ok(Event::Salvaged {
                record: SalvageRecord::decode(body),
            }),
            kind if kind.is_ignorable() => Ok(Event::Skipped { chunk, kind }),
            kind => Err(Error::UnknownCriticalChunk {
                chunk,
                kind: kind.0,
            }),
        }
    }

    /// Opens the final frame of an archive whose header this decoder has read,
    /// found at the end of a seekable file (spec §7.2): the trailer without
    /// reading the chunks between. `file_len` is the archive's length.
    pub(crate) fn open_final_frame(
        &self,
        bytes: &[u8; FINAL_FRAME_LEN],
        file_len: u64,
    ) -> Result<Trailer> {
        let opened = self.opened()?;
        let header_bytes: &[u8; FRAME_HEADER_LEN] = bytes[..FRAME_HEADER_LEN]
            .try_into()
            .map_err(|_| Error::invalid("frame header size"))?;
        // The final frame's index is not known in advance: take the one the
        // frame header states, then let authentication confirm it.
        let chunk = FrameHeader::stated_chunk(header_bytes);
        // A tail that is not a well-formed final frame header is what a cut-off
        // archive looks like; a well-formed one that breaks the trailer's rules
        // is damage (spec §7.2).
        let frame = match FrameHeader::parse(header_bytes, chunk, opened.prelude.max_chunk_size) {
            Ok(frame) if frame.kind == ChunkKind::TRAILER && frame.is_final() => frame,
            _ => return Err(Error::Truncated { offset: file_len }),
        };
        if frame.is_compressed()
            || frame.stored_len as usize != TRAILER_LEN + crate::format::TAG_LEN
            || chunk < 1
        {
            return Err(Error::corrupt(
                chunk,
                "the final frame breaks the trailer's layout rules",
            ));
        }
        let mut stored = bytes[FRAME_HEADER_LEN..].to_vec();
        opened
            .opener
            .cipher
            .open(header_bytes, &frame, &mut stored)?;
        let trailer = Trailer::parse(&stored, chunk)?;
        if trailer.chunk_count != chunk {
            return Err(Error::corrupt(
                chunk,
                "the trailer's chunk count does not match its position",
            ));
        }
        Ok(trailer)
    }
}
