//! Blocking adapters over the sans-I/O [`Decoder`]: a streaming reader for
//! any [`Read`], and a summary reader for seekable files (spec §7).

use std::io::{ErrorKind, Read, Seek, SeekFrom};

use crate::crypto::Identity;
use crate::decoder::{Decoder, Event, HeaderInfo};
use crate::error::{Error, Result};
use crate::format::{FINAL_FRAME_LEN, Trailer};
use crate::limits::Limits;
use crate::records::{ArchiveMetadata, Record};

/// How much is read from the source at a time.
const READ_BUFFER_LEN: usize = 64 * 1024;

/// Feeds a [`Decoder`] from a [`Read`], one buffer at a time.
struct Feeder<R: Read> {
    source: R,
    decoder: Decoder,
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
    chunks: u64,
}

impl<R: Read> Feeder<R> {
    fn new(source: R, identities: &[Identity], limits: Limits) -> Self {
        Feeder {
            source,
            decoder: Decoder::new(identities, limits),
            buffer: vec![0; READ_BUFFER_LEN].into_boxed_slice(),
            start: 0,
            end: 0,
            chunks: 0,
        }
    }

    /// The next event, or `None` at a clean end of input after the trailer.
    fn next_event(&mut self) -> Result<Option<Event>> {
        loop {
            if self.start < self.end {
                let (used, event) = self.decoder.feed(&self.buffer[self.start..self.end])?;
                self.start += used;
                if let Some(event) = event {
                    if !matches!(event, Event::Header(_)) {
                        self.chunks += 1;
                    }
                    return Ok(Some(event));
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
    /// Reads and authenticates the header and the metadata chunk.
    pub fn new(source: R, identities: &[Identity], limits: Limits) -> Result<Self> {
        let mut feeder = Feeder::new(source, identities, limits);
        let header = feeder.expect_header()?;
        let metadata = feeder.expect_metadata()?;
        Ok(ArchiveReader {
            feeder,
            header,
            metadata,
            trailer: None,
        })
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
    pub fn next_batch(&mut self) -> Result<Option<Vec<Record>>> {
        if self.trailer.is_some() {
            return Ok(None);
        }
        loop {
            match self.feeder.next_event()? {
                Some(Event::Records { records, .. }) => return Ok(Some(records)),
                Some(Event::End(trailer)) => {
                    if self.feeder.next_event()?.is_some() {
                        return Err(Error::invalid(
                            "the decoder produced an event after the end",
                        ));
                    }
                    self.trailer = Some(trailer);
                    return Ok(None);
                }
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
    let archive_bytes = source.seek(SeekFrom::End(0))?;
    source.seek(SeekFrom::Start(0))?;
    let mut feeder = Feeder::new(&mut source, identities, limits);
    let header = feeder.expect_header()?;
    let metadata = feeder.expect_metadata()?;
    let metadata_end = feeder.decoder.offset();
    let after_metadata = metadata_end;
    if archive_bytes < after_metadata + FINAL_FRAME_LEN as u64 {
        return Err(Error::Truncated {
            offset: archive_bytes,
        });
    }
    let decoder = std::mem::replace(&mut feeder.decoder, Decoder::new(&[], limits));
    drop(feeder);
    source.seek(SeekFrom::Start(archive_bytes - FINAL_FRAME_LEN as u64))?;
    let mut tail = [0; FINAL_FRAME_LEN];
    source
        .read_exact(&mut tail)
        .map_err(|error| match error.kind() {
            ErrorKind::UnexpectedEof => Error::Truncated {
                offset: archive_bytes,
            },
            _ => Error::Io(error),
        })?;
    let trailer = decoder.open_final_frame(&tail, archive_bytes)?;
    Ok(ArchiveSummary {
        format_version: header.format_version,
        key_slots: header.key_slots,
        metadata,
        trailer: Some(trailer),
        archive_bytes,
    })
}
