//! The sans-I/O archive decoder (spec §7): fed bytes, it returns how many it
//! consumed and, when a unit is complete, an [`Event`].
//!
//! It does no I/O of its own, so the blocking [`crate::reader::ArchiveReader`],
//! an async reader and a fuzz target feeding one byte at a time all share
//! this one state machine. At most one frame's bytes are buffered.

use crate::compress::Decompressor;
use crate::content::ContentTally;
use crate::crypto::{Identity, PayloadCipher, open_header};
use crate::error::{Error, Limit, Result};
use crate::format::{
    ChunkKind, FINAL_FRAME_LEN, FORMAT_VERSION, FRAME_HEADER_LEN, FrameHeader, Header, HeaderLen,
    Prelude, TRAILER_LEN, Trailer, VERSIONED_PREFIX_LEN,
};
use crate::limits::Limits;
use crate::records::{ArchiveMetadata, Record, decode_batch, decode_exact};

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
    limits: Limits,
    state: State,
    buffer: Vec<u8>,
    offset: u64,
    opened: Option<Opened>,
    decompressor: Decompressor,
    next_chunk: u64,
    tally: ContentTally,
}

/// What the header gave: the keys and the limits the body must keep.
struct Opened {
    cipher: PayloadCipher,
    prelude: Prelude,
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
            limits,
            state: State::Header {
                need: VERSIONED_PREFIX_LEN,
            },
            buffer: Vec::new(),
            offset: 0,
            opened: None,
            decompressor: Decompressor::default(),
            next_chunk: 0,
            tally: ContentTally::default(),
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

    /// Consumes bytes from `input` up to the end of the next complete unit.
    ///
    /// Returns how many bytes were consumed and the event completed, if any;
    /// call again with the rest of the input. Once an error is returned the
    /// decoder is spent and every later call fails.
    pub fn feed(&mut self, input: &[u8]) -> Result<(usize, Option<Event>)> {
        let result = self.feed_inner(input);
        if result.is_err() {
            self.state = State::Failed;
            self.buffer = Vec::new();
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

    fn feed_inner(&mut self, input: &[u8]) -> Result<(usize, Option<Event>)> {
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
            if let Some(event) = self.step()? {
                return Ok((consumed, Some(event)));
            }
        }
    }

    /// Acts on a complete buffer; returns an event or moves to the next state.
    fn step(&mut self) -> Result<Option<Event>> {
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
                    Ok(Some(Event::Header(info)))
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
                let mut stored = std::mem::take(&mut self.buffer);
                let event = self.open_frame(&frame, &mut stored)?;
                self.next_chunk += 1;
                self.state = if matches!(event, Event::End(_)) {
                    State::Done
                } else {
                    State::FrameHeader
                };
                Ok(Some(event))
            }
            state @ (State::Done | State::Failed) => {
                self.state = state;
                Ok(None)
            }
        }
    }

    fn prelude(&self) -> Result<&Prelude> {
        self.opened
            .as_ref()
            .map(|opened| &opened.prelude)
            .ok_or_else(|| Error::invalid("the header has not been read"))
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
        let keys = open_header(&header, &self.identities)?;
        self.opened = Some(Opened {
            cipher: keys.payload,
            prelude: header.prelude.clone(),
        });
        Ok(HeaderInfo {
            format_version: FORMAT_VERSION,
            key_slots: header.slots.len(),
            header_len: self.buffer.len(),
            prelude: header.prelude,
        })
    }

    /// Authenticates, decompresses and interprets one frame (spec §7 steps 10–14).
    fn open_frame(&mut self, frame: &FrameHeader, stored: &mut Vec<u8>) -> Result<Event> {
        let opened = self
            .opened
            .as_ref()
            .ok_or_else(|| Error::invalid("the header has not been read"))?;
        opened.cipher.open(&frame.to_bytes(), frame, stored)?;
        let chunk = frame.chunk;
        let limit = opened.prelude.max_chunk_size as usize;
        let max_record_size = opened.prelude.max_record_size;
        let body = if frame.is_compressed() {
            self.decompressor.decompress(stored, limit, chunk)?
        } else {
            std::mem::take(stored)
        };

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
            let trailer = Trailer::parse(&body, chunk)?;
            self.tally.check(&trailer, chunk)?;
            return Ok(Event::End(trailer));
        }

        self.tally.add_chunk(kind, &body);
        match kind {
            ChunkKind::METADATA => Ok(Event::Metadata(decode_exact(
                &body,
                chunk,
                "the archive metadata",
            )?)),
            ChunkKind::RECORDS => {
                let records = decode_batch(&body, chunk, max_record_size)?;
                for record in &records {
                    self.tally
                        .check_order(record)
                        .map_err(|why| Error::corrupt(chunk, why.describe()))?;
                    self.tally.add_record(record);
                }
                Ok(Event::Records { chunk, records })
            }
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
        let opened = self
            .opened
            .as_ref()
            .ok_or_else(|| Error::invalid("the header has not been read"))?;
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
        opened.cipher.open(header_bytes, &frame, &mut stored)?;
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
