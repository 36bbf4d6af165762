//! Writing a new file so that a failure leaves nothing under its name: the
//! bytes go to a temporary file in the destination's directory, which is
//! synced and then renamed into place, never over an existing file.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};
use crate::storage::{FileSink, WriteMode, write_then_commit};

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

/// Writes a new file at `destination` through a [`FileSink`]: `write` gets
/// the sink; the file is synced and renamed into place only once it returns
/// `Ok`. On any error nothing is left under `destination`, and an existing
/// file there is never replaced.
pub fn write_new_file<T>(
    destination: &Path,
    write: impl FnOnce(&mut FileSink) -> Result<T>,
) -> Result<T> {
    let mut sink = FileSink::create(destination, WriteMode::CreateNew)?;
    write_then_commit(&mut sink, write)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_file_appears_only_when_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new");
        let len = write_new_file(&path, |sink| {
            sink.write_all(b"hello")?;
            Ok(5)
        })
        .unwrap();
        assert_eq!(len, 5);
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        // Never over an existing file.
        let again = write_new_file(&path, |sink| Ok(sink.write_all(b"other")?));
        assert!(
            matches!(again, Err(Error::InvalidInput { .. })),
            "{again:?}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let result: Result<()> = write_new_file(&dir.path().join("new"), |sink| {
            sink.write_all(b"partial")?;
            Err(Error::invalid("stopped half way"))
        });
        assert!(result.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
