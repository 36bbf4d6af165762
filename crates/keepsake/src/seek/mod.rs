//! The seekable reader (spec §7.2, §6.5): the header and metadata from the
//! start of a file, the trailer from its end, the seek index it points to,
//! and then only the record batches a caller asks for.
//!
//! Every chunk read is authenticated, and its records are checked against
//! its index entry; chunks not read are not checked. A full decode through
//! [`crate::stream::reader::ArchiveReader`] remains the only verification of an archive.

pub mod select;

use std::io::{Read, Seek};

use crate::body::index::{SeekIndex, entry_for};
use crate::body::records::{ArchiveMetadata, Record};
use crate::crypto::Identity;
use crate::error::{Error, Result};
use crate::format::{ChunkKind, FINAL_FRAME_LEN, FRAME_HEADER_LEN, FrameHeader, TAG_LEN, Trailer};
use crate::limits::Limits;
use crate::seek::select::{Filter, Selection};
use crate::stream::decoder::{FrameOpener, HeaderInfo, SealedFrame};
use crate::stream::reader::{open_seekable, read_exact_at};

/// A seekable archive opened for random access.
pub struct SeekableArchive<R: Read + Seek> {
    source: R,
    header: HeaderInfo,
    metadata: ArchiveMetadata,
    trailer: Trailer,
    archive_bytes: u64,
    opener: FrameOpener,
    limits: Limits,
    index: Option<SeekIndex>,
    chunks_decrypted: u64,
}

impl<R: Read + Seek> std::fmt::Debug for SeekableArchive<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeekableArchive")
            .field("metadata", &self.metadata)
            .field("trailer", &self.trailer)
            .field("has_index", &self.index.is_some())
            .field("chunks_decrypted", &self.chunks_decrypted)
            .finish_non_exhaustive()
    }
}

/// What [`SeekableArchive::read_selected`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeekReport {
    /// Whether the seek index chose the chunks; `false` when the archive has
    /// none, and every chunk was read.
    pub used_index: bool,
    /// Frames authenticated and decrypted by this reader, the metadata chunk,
    /// the index and the trailer included.
    pub chunks_decrypted: u64,
    /// Frames in the archive, the trailer included.
    pub chunks_total: u64,
}

impl<R: Read + Seek> SeekableArchive<R> {
    /// Reads the header, the metadata chunk, the trailer and, when the trailer
    /// points to one, the seek index, which is checked against the file
    /// (spec §6.5): any inconsistency is `Corrupt` at the index chunk.
    pub fn open(mut source: R, identities: &[Identity], limits: Limits) -> Result<Self> {
        let start = open_seekable(&mut source, identities, limits)?;
        let mut archive = SeekableArchive {
            source,
            header: start.header,
            metadata: start.metadata,
            trailer: start.trailer,
            archive_bytes: start.archive_bytes,
            opener: start.opener,
            limits,
            index: None,
            // The metadata chunk and the trailer.
            chunks_decrypted: 2,
        };
        if archive.trailer.index_chunk != 0 || archive.trailer.index_offset != 0 {
            archive.index = Some(archive.read_index()?);
        }
        Ok(archive)
    }

    /// Facts from the authenticated header, the recovered file key among them.
    pub fn header(&self) -> &HeaderInfo {
        &self.header
    }

    /// The archive's metadata chunk.
    pub fn metadata(&self) -> &ArchiveMetadata {
        &self.metadata
    }

    /// The authenticated trailer, not checked against the chunks.
    pub fn trailer(&self) -> &Trailer {
        &self.trailer
    }

    /// The seek index, when the archive has one.
    pub fn index(&self) -> Option<&SeekIndex> {
        self.index.as_ref()
    }

    /// How many frames this reader has authenticated and decrypted so far.
    pub fn chunks_decrypted(&self) -> u64 {
        self.chunks_decrypted
    }

    fn index_corrupt(&self, why: impl std::fmt::Display) -> Error {
        Error::corrupt(self.trailer.index_chunk, format!("the seek index {why}"))
    }

    /// Reads and checks the index chunk the trailer points to.
    fn read_index(&mut self) -> Result<SeekIndex> {
        let chunk = self.trailer.index_chunk;
        let offset = self.trailer.index_offset;
        let final_at = self.archive_bytes - FINAL_FRAME_LEN as u64;
        if chunk == 0 || chunk + 1 != self.trailer.chunk_count {
            return Err(self.index_corrupt("is not the chunk just before the trailer"));
        }
        let header_len = self.header.header_len as u64;
        if offset < header_len
            || offset > final_at.saturating_sub((FRAME_HEADER_LEN + TAG_LEN) as u64)
        {
            return Err(self.index_corrupt("offset is outside the archive's chunks"));
        }
        let (frame, stored) = self
            .read_frame(offset, chunk, final_at)
            .map_err(|error| self.index_corrupt(format!("frame cannot be read: {error}")))?;
        if frame.kind != ChunkKind::INDEX || frame.is_final() {
            return Err(self.index_corrupt("offset does not lead to an index chunk"));
        }
        let (_, body, _) = self
            .opener
            .open(SealedFrame::new(frame, stored))?
            .into_parts();
        self.chunks_decrypted += 1;
        let index = SeekIndex::parse(&body, chunk, self.limits.max_decoded_size)?;
        if index.chunks.len() as u64 != chunk {
            return Err(self.index_corrupt("does not have one entry per chunk"));
        }
        let first = index.chunks.first();
        if first
            .is_none_or(|entry| entry.offset != header_len || entry.kind != ChunkKind::METADATA.0)
        {
            return Err(self.index_corrupt("does not start with the metadata chunk"));
        }
        let smallest = (FRAME_HEADER_LEN + TAG_LEN) as u64;
        let mut ends = index
            .chunks
            .iter()
            .skip(1)
            .map(|entry| entry.offset)
            .chain([offset]);
        for entry in &index.chunks {
            let end = ends.next().unwrap_or(offset);
            if end < entry.offset.saturating_add(smallest) {
                return Err(self.index_corrupt("has offsets out of order or too close"));
            }
        }
        Ok(index)
    }

    /// Reads the frame that starts at `offset` and must end exactly at `end`,
    /// as chunk `chunk`.
    fn read_frame(&mut self, offset: u64, chunk: u64, end: u64) -> Result<(FrameHeader, Vec<u8>)> {
        let mut bytes = [0; FRAME_HEADER_LEN];
        read_exact_at(&mut self.source, offset, &mut bytes, self.archive_bytes)?;
        let frame = FrameHeader::parse(&bytes, chunk, self.header.prelude.max_chunk_size)?;
        if offset + FRAME_HEADER_LEN as u64 + u64::from(frame.stored_len) != end {
            return Err(Error::corrupt(
                self.trailer.index_chunk,
                format!("the seek index's offsets disagree with the length of chunk {chunk}"),
            ));
        }
        let mut stored = vec![0; frame.stored_len as usize];
        self.source.read_exact(&mut stored)?;
        Ok((frame, stored))
    }

    /// Reads, authenticates and decodes record batch `chunk`, found through
    /// the index, and checks its records against its index entry.
    pub fn read_chunk(&mut self, chunk: u64) -> Result<Vec<Record>> {
        let index = self
            .index
            .as_ref()
            .ok_or_else(|| Error::invalid("this archive has no seek index"))?;
        let at = usize::try_from(chunk)
            .ok()
            .filter(|&at| at > 0 && at < index.chunks.len())
            .ok_or_else(|| Error::invalid(format!("chunk {chunk} is not a record batch")))?;
        let entry = index.chunks[at].clone();
        if entry.kind != ChunkKind::RECORDS.0 {
            return Err(Error::invalid(format!(
                "chunk {chunk} is not a record batch"
            )));
        }
        let end = index
            .chunks
            .get(at + 1)
            .map_or(self.trailer.index_offset, |next| next.offset);
        let (frame, stored) = self.read_frame(entry.offset, chunk, end)?;
        if frame.kind.0 != entry.kind {
            return Err(self.index_corrupt(format!("gives chunk {chunk} the wrong kind")));
        }
        if frame.is_final() {
            return Err(Error::corrupt(
                chunk,
                "a final flag on a chunk that is not the trailer",
            ));
        }
        let (_, _, records) = self
            .opener
            .open(SealedFrame::new(frame, stored))?
            .into_parts();
        self.chunks_decrypted += 1;
        let records = records.ok_or_else(|| Error::invalid("a batch was not decoded"))??;
        let index = self
            .index
            .as_ref()
            .ok_or_else(|| Error::invalid("no index"))?;
        if entry_for(index, entry.offset, frame.kind, &records).as_ref() != Some(&entry) {
            return Err(self.index_corrupt(format!("disagrees with the records of chunk {chunk}")));
        }
        Ok(records)
    }

    /// Passes the records `selection` takes to `emit`, in archive order, each
    /// conversation before its messages, reading only the chunks the index
    /// says can hold them. Without an index, returns `Ok(None)` having read
    /// nothing: the caller reads the whole archive with a streaming reader.
    pub fn read_selected(
        &mut self,
        selection: &Selection,
        emit: &mut dyn FnMut(&Record) -> Result<()>,
    ) -> Result<Option<SeekReport>> {
        let Some(index) = self.index.as_ref() else {
            return Ok(None);
        };
        let chunks = selection.chunks(index);
        let mut filter = Filter::new(selection);
        for chunk in chunks {
            let records = self.read_chunk(chunk)?;
            filter.push(chunk, records, emit)?;
        }
        Ok(Some(self.report(true)))
    }

    /// This reader's counts so far.
    pub fn report(&self, used_index: bool) -> SeekReport {
        SeekReport {
            used_index,
            chunks_decrypted: self.chunks_decrypted,
            chunks_total: self.trailer.chunk_count + 1,
        }
    }
}
