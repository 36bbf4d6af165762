//! Writing a new file so that a failure leaves nothing under its name: the
//! bytes go to a temporary file in the destination's directory, which is
//! synced and then renamed into place, never over an existing file.

use std::fs::File;
use std::io::BufWriter;
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
        // Best effort: some platforms cannot open a directory, and by now the
        // file is complete under its final name.
        if let Ok(handle) = File::open(&self.directory) {
            let _ = handle.sync_all();
        }
        Ok(())
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
