//! [`ObjectSink`]: a new archive streamed into object storage, appearing
//! only when whole.

use std::io::{self, Write};

use object_store::{
    ObjectStore, PutMode, PutMultipartOptions, PutOptions, PutPayload, WriteMultipart,
};

use keepsake::{ArchiveSink, WriteMode};

use crate::error::{io_error, other, store_error};
use crate::location::ObjectArchive;
use crate::runtime::{block_on, handle};

impl ObjectArchive {
    /// A sink for a new archive at this place: with [`WriteMode::CreateNew`]
    /// an existing object is refused now.
    pub fn sink(&self, mode: WriteMode) -> keepsake::Result<ObjectSink> {
        if self.check_bucket {
            self.require_bucket("write")?;
        }
        if mode == WriteMode::CreateNew && self.exists()? {
            return Err(self.already_exists());
        }
        ObjectSink::new(self, mode)
    }
}

/// Where an upload is.
#[derive(Debug)]
enum State {
    /// Buffering the first part: an archive that fits in one part is sent
    /// with one conditional request on commit.
    First(Vec<u8>),
    /// A multipart upload under way.
    Parts(Box<WriteMultipart>),
    /// Committed, aborted, or failed and aborted.
    Closed,
}

/// A new archive streaming into object storage, an [`ArchiveSink`].
///
/// Bytes fill parts of [`crate::StoreOptions::part_size`]; full parts upload
/// in the background, at most [`crate::StoreOptions::parts_in_flight`] at
/// once (a write waits for room), so memory stays at a few parts whatever
/// the archive's size. [`commit`](ArchiveSink::commit) completes the upload;
/// [`abort`](ArchiveSink::abort), an error, or dropping the sink aborts it,
/// and nothing appears under the name. A process killed mid-way leaves no
/// object either, only the parts of an incomplete upload, which the store
/// discards when told to (S3: a lifecycle rule that aborts incomplete
/// multipart uploads).
///
/// With [`WriteMode::CreateNew`] an existing object is refused when the
/// sink is made and again at the commit. An archive that fits in one part
/// is written with a conditional request, so of two creates racing for one
/// name only one succeeds (where the store honours `If-None-Match`); a
/// larger one is checked just before the upload completes, which leaves a
/// short window in which a racing writer's archive could be replaced by
/// another whole archive.
#[derive(Debug)]
pub struct ObjectSink {
    archive: ObjectArchive,
    mode: WriteMode,
    state: State,
}

impl ObjectSink {
    pub(crate) fn new(archive: &ObjectArchive, mode: WriteMode) -> keepsake::Result<Self> {
        Ok(ObjectSink {
            archive: archive.clone(),
            mode,
            state: State::First(Vec::new()),
        })
    }

    fn fail(&self, error: object_store::Error) -> io::Error {
        io_error("upload", &self.archive.url, error)
    }

    /// Starts the multipart upload with the first part's bytes.
    fn start_parts(&mut self, first: &[u8]) -> io::Result<()> {
        let archive = &self.archive;
        let upload = block_on(
            archive
                .store
                .put_multipart_opts(&archive.path, PutMultipartOptions::default()),
        )?
        .map_err(|error| self.fail(error))?;
        let mut parts = WriteMultipart::new_with_chunk_size(upload, archive.options.part_size);
        // Writing spawns the part uploads on the runtime.
        let _runtime = handle()?.enter();
        parts.write(first);
        self.state = State::Parts(Box::new(parts));
        Ok(())
    }

    fn closed(&self) -> io::Error {
        other(format!(
            "cannot upload {}: the upload was already committed or aborted",
            self.archive.url
        ))
    }
}

impl Write for ObjectSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.state {
            State::Closed => return Err(self.closed()),
            State::First(first) => {
                first.extend_from_slice(buf);
                if first.len() >= self.archive.options.part_size {
                    let first = std::mem::take(first);
                    self.start_parts(&first)?;
                }
            }
            State::Parts(parts) => {
                let in_flight = self.archive.options.parts_in_flight;
                let room = block_on(parts.wait_for_capacity(in_flight))?;
                if let Err(error) = room {
                    let error = self.fail(error);
                    // A part failed after its retries: give the upload up.
                    let _ = self.abort();
                    return Err(error);
                }
                let _runtime = handle()?.enter();
                parts.write(buf);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ArchiveSink for ObjectSink {
    fn commit(&mut self) -> keepsake::Result<()> {
        let archive = self.archive.clone();
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Closed => Err(keepsake::Error::Io(self.closed())),
            State::First(first) => {
                let mode = match self.mode {
                    WriteMode::CreateNew => PutMode::Create,
                    WriteMode::Replace => PutMode::Overwrite,
                };
                let options = PutOptions {
                    mode,
                    ..PutOptions::default()
                };
                let payload = PutPayload::from(first);
                match block_on(archive.store.put_opts(&archive.path, payload, options))? {
                    Ok(_) => Ok(()),
                    Err(object_store::Error::AlreadyExists { .. }) => Err(archive.already_exists()),
                    Err(error) => Err(store_error("upload", &archive.url, error)),
                }
            }
            State::Parts(parts) => {
                if self.mode == WriteMode::CreateNew {
                    match archive.exists() {
                        Ok(false) => {}
                        Ok(true) => {
                            let _ = block_on(parts.abort());
                            return Err(archive.already_exists());
                        }
                        Err(error) => {
                            let _ = block_on(parts.abort());
                            return Err(error);
                        }
                    }
                }
                // `finish` aborts the upload itself when it fails.
                match block_on(parts.finish())? {
                    Ok(_) => Ok(()),
                    Err(error) => Err(store_error("upload", &archive.url, error)),
                }
            }
        }
    }

    fn abort(&mut self) -> keepsake::Result<()> {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Parts(mut parts) => {
                // Parts still uploading land first: one the store received
                // after the abort would stay behind it, unseen and paid for.
                let _ = block_on(parts.wait_for_capacity(0));
                block_on(parts.abort())?
                    .map_err(|error| store_error("abort the upload of", &self.archive.url, error))
            }
            State::First(_) | State::Closed => Ok(()),
        }
    }
}

impl Drop for ObjectSink {
    /// Dropped neither committed nor aborted (an early return, a panic):
    /// abort, best effort, so that the store keeps no parts.
    fn drop(&mut self) {
        let _ = self.abort();
    }
}
