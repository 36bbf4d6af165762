//! Writing a new file so that a failure leaves nothing under its name: the
//! bytes go to a temporary file in the destination's directory, which is
//! synced and then renamed into place, never over an existing file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// A file being written for `destination`, under a temporary name beside it.
pub struct PendingFile {
    /// The temporary file; write the new content here.
    pub temp: NamedTempFile,
    directory: PathBuf,
}

impl PendingFile {
    /// Refuses a destination that already exists (a dangling symbolic link
    /// included), then creates the temporary file in its directory.
    pub fn beside(destination: &Path) -> Result<PendingFile> {
        if std::fs::symlink_metadata(destination).is_ok() {
            return Err(Error::invalid(format!(
                "{} already exists; choose another name or remove it first",
                destination.display()
            )));
        }
        Self::in_directory_of(destination)
    }

    /// Creates the temporary file in the directory of `destination`, whether
    /// or not something is there already.
    pub fn in_directory_of(destination: &Path) -> Result<PendingFile> {
        let directory = match destination.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".keepsake-")
            .suffix(".partial")
            .tempfile_in(&directory)?;
        Ok(PendingFile { temp, directory })
    }

    /// Renames the complete, synced file to `destination`, unless something
    /// appeared there meanwhile, and makes the rename durable.
    pub fn persist(self, destination: &Path) -> Result<()> {
        self.temp
            .persist_noclobber(destination)
            .map_err(|error| Error::Io(error.error))?;
        Self::sync_directory(&self.directory);
        Ok(())
    }

    /// Renames the complete, synced file to `destination`, replacing what is
    /// there in one step, and makes the rename durable.
    pub fn persist_replacing(self, destination: &Path) -> Result<()> {
        self.temp
            .persist(destination)
            .map_err(|error| Error::Io(error.error))?;
        Self::sync_directory(&self.directory);
        Ok(())
    }

    fn sync_directory(directory: &Path) {
        // Best effort: some platforms cannot open a directory, and by now the
        // file is complete under its final name.
        if let Ok(handle) = File::open(directory) {
            let _ = handle.sync_all();
        }
    }
}

impl Write for PendingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.temp.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.temp.flush()
    }
}

impl std::fmt::Debug for PendingFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingFile")
            .field("temp", &self.temp.path())
            .finish_non_exhaustive()
    }
}

/// Writes a new file at `destination` through a buffered sink: `write` gets
/// the sink and hands it back with its result; the file is synced and renamed
/// into place only then. On any error nothing is left under `destination`.
pub fn write_new_file<T>(
    destination: &Path,
    write: impl FnOnce(BufWriter<&mut File>) -> Result<(BufWriter<&mut File>, T)>,
) -> Result<T> {
    let mut pending = PendingFile::beside(destination)?;
    let sink = BufWriter::with_capacity(1 << 16, pending.temp.as_file_mut());
    let (sink, out) = write(sink)?;
    let file = sink
        .into_inner()
        .map_err(|error| Error::Io(error.into_error()))?;
    file.sync_all()?;
    pending.persist(destination)?;
    Ok(out)
}

/// A new file written through a buffer, for a sink that must leave nothing
/// under its name unless it completes: bytes go to a [`PendingFile`], and
/// [`finish`](AtomicFile::finish) syncs it and renames it into place.
/// Dropped unfinished, it leaves nothing behind.
pub struct AtomicFile {
    writer: BufWriter<File>,
    pending: PendingFile,
    destination: PathBuf,
}

impl AtomicFile {
    /// Starts a new file for `destination`, which must not exist.
    pub fn create(destination: &Path) -> Result<AtomicFile> {
        let pending = PendingFile::beside(destination)?;
        let file = pending.temp.as_file().try_clone()?;
        Ok(AtomicFile {
            writer: BufWriter::with_capacity(1 << 16, file),
            pending,
            destination: destination.to_owned(),
        })
    }

    /// Flushes and syncs the file, renames it to its destination and returns
    /// its length.
    pub fn finish(self) -> Result<u64> {
        let file = self
            .writer
            .into_inner()
            .map_err(|error| Error::Io(error.into_error()))?;
        file.sync_all()?;
        let len = file.metadata()?.len();
        self.pending.persist(&self.destination)?;
        Ok(len)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.writer.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

impl std::fmt::Debug for AtomicFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtomicFile")
            .field("destination", &self.destination)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_appears_only_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new");
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"hello").unwrap();
        assert!(!path.exists());
        assert_eq!(file.finish().unwrap(), 5);
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        // Never over an existing file.
        assert!(matches!(
            AtomicFile::create(&path),
            Err(Error::InvalidInput { .. })
        ));
    }

    #[test]
    fn an_unfinished_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = AtomicFile::create(&dir.path().join("new")).unwrap();
        file.write_all(b"partial").unwrap();
        drop(file);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
