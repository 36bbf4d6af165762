//! [`FileSink`]: a new archive as a local file, written under a temporary
//! name beside its destination and renamed into place on commit.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{ArchiveSink, WriteMode};
use crate::atomic::PendingFile;
use crate::error::{Error, Result};

/// Buffered writes: archive frames come in pieces, the file wants large writes.
const BUFFER_LEN: usize = 1 << 16;

/// A new archive file: the bytes go to a temporary file in the destination's
/// directory, which [`commit`](ArchiveSink::commit) syncs and renames to the
/// destination; [`abort`](ArchiveSink::abort), or dropping the sink, removes it.
#[derive(Debug)]
pub struct FileSink {
    destination: PathBuf,
    mode: WriteMode,
    writer: Option<BufWriter<PendingFile>>,
}

impl FileSink {
    /// Starts a new archive for `destination`. With [`WriteMode::CreateNew`],
    /// an existing file there (a dangling symbolic link included) is refused
    /// now, and one that appears before the commit makes the commit fail.
    pub fn create(destination: &Path, mode: WriteMode) -> Result<FileSink> {
        let pending = match mode {
            WriteMode::CreateNew => PendingFile::beside(destination)?,
            WriteMode::Replace => PendingFile::in_directory_of(destination)?,
        };
        Ok(FileSink {
            destination: destination.to_owned(),
            mode,
            writer: Some(BufWriter::with_capacity(BUFFER_LEN, pending)),
        })
    }

    /// Where the archive will be once committed.
    pub fn destination(&self) -> &Path {
        &self.destination
    }

    fn writer(&mut self) -> io::Result<&mut BufWriter<PendingFile>> {
        self.writer
            .as_mut()
            .ok_or_else(|| io::Error::other("this archive was already committed or aborted"))
    }
}

impl Write for FileSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer()?.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer()?.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer()?.flush()
    }
}

impl ArchiveSink for FileSink {
    fn commit(&mut self) -> Result<()> {
        let writer = self
            .writer
            .take()
            .ok_or_else(|| Error::invalid("this archive was already committed or aborted"))?;
        let pending = writer
            .into_inner()
            .map_err(|error| Error::Io(error.into_error()))?;
        pending.temp.as_file().sync_all()?;
        match self.mode {
            WriteMode::CreateNew => pending.persist(&self.destination),
            WriteMode::Replace => pending.persist_replacing(&self.destination),
        }
    }

    fn abort(&mut self) -> Result<()> {
        // Dropping the temporary file removes it.
        self.writer = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::write_then_commit;

    #[test]
    fn nothing_is_under_the_name_until_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.keepsake");
        let mut sink = FileSink::create(&out, WriteMode::CreateNew).unwrap();
        sink.write_all(b"archive bytes").unwrap();
        sink.flush().unwrap();
        assert!(!out.exists());
        sink.commit().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"archive bytes");
        assert!(sink.write_all(b"more").is_err(), "closed after the commit");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_write_aborts_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.keepsake");
        let mut sink = FileSink::create(&out, WriteMode::CreateNew).unwrap();
        let result: Result<()> = write_then_commit(&mut sink, |sink| {
            sink.write_all(&[7; 100_000])?;
            Err(Error::Cancelled)
        });
        assert!(matches!(result, Err(Error::Cancelled)));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn an_existing_file_is_replaced_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.keepsake");
        std::fs::write(&out, b"old").unwrap();
        assert!(FileSink::create(&out, WriteMode::CreateNew).is_err());
        let mut sink = FileSink::create(&out, WriteMode::Replace).unwrap();
        write_then_commit(&mut sink, |sink| Ok(sink.write_all(b"new")?)).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
    }

    #[test]
    fn a_file_that_appears_meanwhile_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.keepsake");
        let mut sink = FileSink::create(&out, WriteMode::CreateNew).unwrap();
        sink.write_all(b"new").unwrap();
        std::fs::write(&out, b"someone else's").unwrap();
        let error = write_then_commit(&mut sink, |_| Ok(())).unwrap_err();
        assert!(
            matches!(&error, Error::Io(io) if io.kind() == io::ErrorKind::AlreadyExists),
            "{error:?}"
        );
        assert_eq!(std::fs::read(&out).unwrap(), b"someone else's");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
