//! Writing a new file so that a failure leaves nothing under its name: the
//! bytes go to a temporary file in the destination's directory, which is
//! synced and then renamed into place, never over an existing file.

use std::fs::File;
use std::io::Write;
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
