//! Where archives live: what a storage back end provides so that the codec
//! can write an archive into it and read one from it without knowing what it
//! is — a local file, an object store, an app's own server.
//!
//! - [`ArchiveSink`]: the bytes of a new archive, written in order, then either
//!   committed (the whole archive appears under its name at once) or aborted
//!   (nothing appears). [`FileSink`] writes a temporary file and renames it;
//!   an object store completes a multipart upload only after the trailer.
//! - [`RangeRead`]: random access by byte range, as object stores and HTTP
//!   servers serve it. [`RangeReader`] turns one into the `Read + Seek` that
//!   [`crate::SeekableArchive`] and [`crate::read_summary`] take, fetching
//!   only what they read and counting it, so that `inspect` or a partial
//!   import downloads a small part of a large archive.
//!
//! A streaming read (verify, import, restore) needs nothing but
//! [`std::io::Read`]; a streaming write nothing but an [`ArchiveSink`].

#[cfg(feature = "fs")]
mod file;
mod range;

use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::error::Result;

#[cfg(feature = "fs")]
pub use file::FileSink;
pub use range::RangeReader;

/// Whether a new archive may take the place of one already under its name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WriteMode {
    /// Refuse an existing file or object (the default): a backup never
    /// silently replaces another.
    #[default]
    CreateNew,
    /// Replace whatever is under the name, once the new archive is whole.
    Replace,
}

/// A byte sink for one new archive that ends in exactly one of two ways.
///
/// Write the archive's bytes in order, then call [`commit`](ArchiveSink::commit)
/// once it is whole (after [`crate::ArchiveWriter::finish`]): only then does
/// anything appear under the destination's name, and all of it at once. On
/// any error or cancellation call [`abort`](ArchiveSink::abort): nothing
/// appears. An implementation dropped without either aborts, best effort; a
/// process killed outright leaves nothing under the name either, at most
/// scraps elsewhere (a temporary file, the parts of an incomplete upload).
pub trait ArchiveSink: Write {
    /// Makes everything written appear under the destination's name, all at
    /// once. On an error nothing appeared. Writing after this is an error.
    fn commit(&mut self) -> Result<()>;

    /// Discards everything written: nothing appears under the destination's
    /// name. Calling it again, or after a failed commit, does nothing.
    fn abort(&mut self) -> Result<()>;
}

impl<S: ArchiveSink + ?Sized> ArchiveSink for &mut S {
    fn commit(&mut self) -> Result<()> {
        (**self).commit()
    }

    fn abort(&mut self) -> Result<()> {
        (**self).abort()
    }
}

impl<S: ArchiveSink + ?Sized> ArchiveSink for Box<S> {
    fn commit(&mut self) -> Result<()> {
        (**self).commit()
    }

    fn abort(&mut self) -> Result<()> {
        (**self).abort()
    }
}

/// Runs `write` on `sink` and commits it; aborts it when `write` or the
/// commit fails, and returns that first error. `write` should make its last
/// cancellation check just before returning: after the commit the archive exists.
pub fn write_then_commit<S: ArchiveSink + ?Sized, T>(
    sink: &mut S,
    write: impl FnOnce(&mut S) -> Result<T>,
) -> Result<T> {
    let result = write(sink).and_then(|value| {
        sink.flush()?;
        sink.commit()?;
        Ok(value)
    });
    if result.is_err() {
        // The error that stopped the write is the one worth reporting.
        let _ = sink.abort();
    }
    result
}

/// Random access to an archive's bytes, by range: what storage that serves
/// byte ranges (an object store, an HTTP server) implements so that a reader
/// can fetch the header, the trailer and single chunks without the rest.
/// Wrap one in a [`RangeReader`] to read it.
pub trait RangeRead {
    /// The archive's length in bytes.
    fn size(&mut self) -> io::Result<u64>;

    /// Fills `buffer` with the bytes at `offset..offset + buffer.len()`, a
    /// range within the archive. A range the source cannot serve whole is an
    /// error, never a short read: a short read would look like a truncated archive.
    fn read_range(&mut self, offset: u64, buffer: &mut [u8]) -> io::Result<()>;
}

impl<S: RangeRead + ?Sized> RangeRead for &mut S {
    fn size(&mut self) -> io::Result<u64> {
        (**self).size()
    }

    fn read_range(&mut self, offset: u64, buffer: &mut [u8]) -> io::Result<()> {
        (**self).read_range(offset, buffer)
    }
}

impl<S: RangeRead + ?Sized> RangeRead for Box<S> {
    fn size(&mut self) -> io::Result<u64> {
        (**self).size()
    }

    fn read_range(&mut self, offset: u64, buffer: &mut [u8]) -> io::Result<()> {
        (**self).read_range(offset, buffer)
    }
}

/// Any seekable reader (a local file, a buffer) serves ranges too, so that
/// one code path reads archives from files and from storage alike.
#[derive(Debug)]
pub struct SeekRanges<R>(pub R);

impl<R: Read + Seek> RangeRead for SeekRanges<R> {
    fn size(&mut self) -> io::Result<u64> {
        self.0.seek(SeekFrom::End(0))
    }

    fn read_range(&mut self, offset: u64, buffer: &mut [u8]) -> io::Result<()> {
        self.0.seek(SeekFrom::Start(offset))?;
        self.0.read_exact(buffer)
    }
}

/// A writer that counts the bytes written through it: the length of an
/// archive written to a sink that cannot tell it.
#[derive(Debug)]
pub struct CountingWriter<W> {
    inner: W,
    written: u64,
}

impl<W: Write> CountingWriter<W> {
    /// Counts from zero.
    pub fn new(inner: W) -> Self {
        CountingWriter { inner, written: 0 }
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
