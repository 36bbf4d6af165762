//! Reading an archive from object storage: all of it as a stream, or byte
//! ranges of it.

use std::io::{self, Read};

use bytes::Bytes;
use futures::StreamExt;
use object_store::{GetOptions, GetRange, ObjectStore};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use keepsake::RangeRead;

use crate::error::{io_error, other};
use crate::location::ObjectArchive;
use crate::runtime::{block_on, handle};

impl ObjectArchive {
    /// A streaming reader of the whole archive, for verify, import and
    /// restore: it downloads ahead while the caller decodes.
    pub fn stream(&self) -> keepsake::Result<ObjectStream> {
        ObjectStream::open(self)
    }

    /// Ranged reads of the archive, for its summary and partial imports;
    /// wrap it in a [`keepsake::RangeReader`].
    pub fn ranges(&self) -> ObjectRanges {
        ObjectRanges::new(self)
    }
}

/// The largest range one request of a stream asks for. Each is retried on
/// its own (from where it broke, while the object is unchanged), so a long
/// download of a large archive gets the same retries in every part of it.
const SEGMENT: u64 = 32 * 1024 * 1024;

/// Pieces of body received ahead of the reader: with the socket's own
/// buffers, enough to keep the connection busy while the reader decodes.
const PIECES_AHEAD: usize = 16;

/// The whole archive as it downloads: a [`Read`] that a streaming reader
/// (verify, import, restore) decodes while the bytes arrive.
///
/// The download runs ahead on a background task in ranges of 32 MiB, each
/// pinned to the object's version: an object replaced meanwhile is an error,
/// not a mix. A connection that drops or a server error is retried from
/// where it broke; once the retries run out, a read fails with the cause. A
/// download that ends early is an error, never an end of input, so it can
/// never pass for a truncated archive.
#[derive(Debug)]
pub struct ObjectStream {
    pieces: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    received: u64,
    size: u64,
    url: String,
    task: JoinHandle<()>,
}

impl ObjectStream {
    pub(crate) fn open(archive: &ObjectArchive) -> keepsake::Result<Self> {
        let meta = archive.head()?;
        let (sender, pieces) = mpsc::channel(PIECES_AHEAD);
        let task = handle()?.spawn(download(archive.clone(), meta.size, meta.e_tag, sender));
        Ok(ObjectStream {
            pieces,
            current: Bytes::new(),
            received: 0,
            size: meta.size,
            url: archive.url.clone(),
            task,
        })
    }

    /// The archive's size, from the storage.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes downloaded and read so far.
    pub fn received(&self) -> u64 {
        self.received
    }
}

/// Sends the object's bytes to `sender` one range at a time; stops at the
/// first error, which it sends, or when the reader is gone.
async fn download(
    archive: ObjectArchive,
    size: u64,
    e_tag: Option<String>,
    sender: mpsc::Sender<io::Result<Bytes>>,
) {
    let mut at = 0;
    while at < size {
        let end = (at + SEGMENT).min(size);
        let options = GetOptions {
            range: Some(GetRange::Bounded(at..end)),
            if_match: e_tag.clone(),
            ..GetOptions::default()
        };
        let mut body = match archive.store.get_opts(&archive.path, options).await {
            Ok(result) => result.into_stream(),
            Err(error) => {
                let _ = sender
                    .send(Err(io_error("download", &archive.url, error)))
                    .await;
                return;
            }
        };
        while let Some(piece) = body.next().await {
            let piece = piece.map_err(|error| io_error("download", &archive.url, error));
            let failed = piece.is_err();
            if let Ok(piece) = &piece {
                at += piece.len() as u64;
            }
            if sender.send(piece).await.is_err() || failed {
                return;
            }
        }
        if at < end {
            let _ = sender
                .send(Err(other(format!(
                    "cannot download {}: the server sent {} bytes less than asked",
                    archive.url,
                    end - at
                ))))
                .await;
            return;
        }
    }
}

impl Read for ObjectStream {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            if self.received >= self.size {
                return Ok(0);
            }
            match self.pieces.blocking_recv() {
                Some(Ok(piece)) => self.current = piece,
                Some(Err(error)) => return Err(error),
                None => {
                    return Err(other(format!(
                        "cannot download {}: the download stopped after {} of {} bytes",
                        self.url, self.received, self.size
                    )));
                }
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        self.received += n as u64;
        Ok(n)
    }
}

impl Drop for ObjectStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Byte ranges of an archive in object storage: a [`RangeRead`] for a
/// [`keepsake::RangeReader`]. The first request asks for the object's size
/// and version; every range after is pinned to that version, so an object
/// replaced meanwhile is an error, not a mix.
#[derive(Debug)]
pub struct ObjectRanges {
    archive: ObjectArchive,
    meta: Option<(u64, Option<String>)>,
}

impl ObjectRanges {
    pub(crate) fn new(archive: &ObjectArchive) -> Self {
        ObjectRanges {
            archive: archive.clone(),
            meta: None,
        }
    }

    fn meta(&mut self) -> io::Result<(u64, Option<String>)> {
        if let Some(meta) = &self.meta {
            return Ok(meta.clone());
        }
        let meta = self.archive.head().map_err(io::Error::from)?;
        let meta = (meta.size, meta.e_tag);
        self.meta = Some(meta.clone());
        Ok(meta)
    }
}

impl RangeRead for ObjectRanges {
    fn size(&mut self) -> io::Result<u64> {
        Ok(self.meta()?.0)
    }

    fn read_range(&mut self, offset: u64, buffer: &mut [u8]) -> io::Result<()> {
        if buffer.is_empty() {
            return Ok(());
        }
        let (_, e_tag) = self.meta()?;
        let end = offset + buffer.len() as u64;
        let options = GetOptions {
            range: Some(GetRange::Bounded(offset..end)),
            if_match: e_tag,
            ..GetOptions::default()
        };
        let archive = &self.archive;
        let bytes = block_on(async {
            archive
                .store
                .get_opts(&archive.path, options)
                .await?
                .bytes()
                .await
        })?
        .map_err(|error| io_error("read", &archive.url, error))?;
        if bytes.len() != buffer.len() {
            return Err(other(format!(
                "cannot read {}: asked for bytes {offset} to {end}, the server sent {}",
                archive.url,
                bytes.len()
            )));
        }
        buffer.copy_from_slice(&bytes);
        Ok(())
    }
}
