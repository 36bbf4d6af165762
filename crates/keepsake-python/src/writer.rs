//! `ArchiveWriter`: records in, an archive out, to a new file or to any
//! Python file object, for applications whose database has its own schema.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use pyo3::prelude::*;

use keepsake::format::Trailer as CoreTrailer;
use keepsake::storage::{ArchiveSink, FileSink, WriteMode};
use keepsake::{ArchiveMetadata, Record};

use crate::errors::{IntoPy, InvalidInputError, Raised};
use crate::files::PyFile;
use crate::keys::{SigningKey, recipients};
use crate::options::WriteOptions;
use crate::records::from_dict;
use crate::reports::Trailer;

/// The core writer, to either kind of sink.
enum Writing {
    File(keepsake::ArchiveWriter<FileSink>),
    Object(keepsake::ArchiveWriter<PyFile>),
}

impl Writing {
    fn write(&mut self, records: &[Record]) -> keepsake::Result<()> {
        match self {
            Writing::File(writer) => records.iter().try_for_each(|r| writer.write_record(r)),
            Writing::Object(writer) => records.iter().try_for_each(|r| writer.write_record(r)),
        }
    }

    fn finish(self) -> keepsake::Result<CoreTrailer> {
        match self {
            Writing::File(writer) => {
                let (mut file, trailer) = writer.finish()?;
                file.commit()?;
                Ok(trailer)
            }
            Writing::Object(writer) => Ok(writer.finish()?.1),
        }
    }
}

/// Writes an archive record by record.
///
/// `ArchiveWriter(sink, key, *, start=None, end=None, elements=("messages",
/// "consent"), level=3, chunk_size=1048576, signing_key=None, creator=None,
/// threads=None)`. `sink` is a path (a new file: written under a temporary
/// name and renamed when finished, never over an existing file, nothing left
/// if abandoned) or a binary file object with `write`. `key` is one key or a
/// list (one key slot each). `start`, `end` and `elements` only state in the
/// archive's metadata what was selected.
///
/// Records are dicts (see `read` for their keys) and must come in dependency
/// order: a conversation before its messages. You must call `finish` (or
/// leave a `with` block without an exception), or the archive has no final
/// chunk and every reader rejects it. The interpreter is released while
/// chunks are compressed and sealed.
#[pyclass(module = "keepsake")]
pub struct ArchiveWriter {
    state: Mutex<Option<Writing>>,
    raised: Raised,
}

impl ArchiveWriter {
    fn state(&self) -> PyResult<MutexGuard<'_, Option<Writing>>> {
        self.state
            .try_lock()
            .map_err(|_| InvalidInputError::new_err("the writer is in use by another call"))
    }
}

fn finished() -> PyErr {
    InvalidInputError::new_err("the writer is already finished or abandoned")
}

#[pymethods]
impl ArchiveWriter {
    #[new]
    #[pyo3(signature = (sink, key, *, start=None, end=None, elements=None, level=None, chunk_size=None, signing_key=None, creator=None, threads=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        sink: &Bound<'_, PyAny>,
        key: &Bound<'_, PyAny>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        elements: Option<&Bound<'_, PyAny>>,
        level: Option<i32>,
        chunk_size: Option<u32>,
        signing_key: Option<&Bound<'_, SigningKey>>,
        creator: Option<String>,
        threads: Option<usize>,
    ) -> PyResult<Self> {
        let recipients = recipients(key)?;
        let options = WriteOptions::new(
            start,
            end,
            elements,
            level,
            chunk_size,
            signing_key,
            threads,
        )?;
        let mut metadata = ArchiveMetadata::now();
        metadata.elements = options.elements;
        metadata.start_ns = options.start_ns;
        metadata.end_ns = options.end_ns;
        if let Some(creator) = creator {
            metadata.creator = creator;
        }
        let raised = Raised::default();
        let writing = if let Ok(path) = sink.extract::<PathBuf>() {
            py.detach(|| {
                let file = FileSink::create(&path, WriteMode::CreateNew)?;
                keepsake::ArchiveWriter::new(file, &recipients, &metadata, &options.writer)
            })
            .map(Writing::File)
            .py()?
        } else if sink.hasattr("write")? {
            let file = PyFile::new(sink.clone().unbind(), &raised);
            let writer = py.detach(|| {
                keepsake::ArchiveWriter::new(file, &recipients, &metadata, &options.writer)
            });
            raised.result(writer).map(Writing::Object)?
        } else {
            return Err(InvalidInputError::new_err(
                "the sink is a path or a binary file object with a write method",
            ));
        };
        Ok(ArchiveWriter {
            state: Mutex::new(Some(writing)),
            raised,
        })
    }

    /// Adds one record (a dict).
    fn write(&self, py: Python<'_>, record: &Bound<'_, PyAny>) -> PyResult<()> {
        let record = from_dict(record)?;
        self.write_records(py, &[record])
    }

    /// Adds every record of an iterable, in order; returns how many.
    fn write_all(&self, py: Python<'_>, records: &Bound<'_, PyAny>) -> PyResult<usize> {
        const BATCH: usize = 1024;
        let mut count = 0;
        let mut batch = Vec::with_capacity(BATCH);
        for record in records.try_iter()? {
            batch.push(from_dict(&record?)?);
            if batch.len() == BATCH {
                self.write_records(py, &batch)?;
                count += batch.len();
                batch.clear();
            }
        }
        self.write_records(py, &batch)?;
        Ok(count + batch.len())
    }

    /// Ends the archive: writes pending records, the seek index and the
    /// final chunk (and renames a new file into place). Returns the trailer.
    fn finish(&self, py: Python<'_>) -> PyResult<Trailer> {
        let writing = self.state()?.take().ok_or_else(finished)?;
        let trailer = py.detach(|| writing.finish());
        let trailer = self.raised.result(trailer)?;
        Ok(Trailer::of(py, &trailer))
    }

    /// Abandons the archive: a new file is not created; bytes already given
    /// to a file object stay there, and are no archive any reader accepts.
    fn abort(&self) -> PyResult<()> {
        self.state()?.take();
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Finishes the archive when the block ends normally, abandons it when
    /// the block raised.
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let pending = self.state()?.is_some();
        match exc_type {
            None if pending => self.finish(py).map(|_| false),
            _ => self.abort().map(|()| false),
        }
    }
}

impl ArchiveWriter {
    fn write_records(&self, py: Python<'_>, records: &[Record]) -> PyResult<()> {
        let mut state = self.state()?;
        let writing = state.as_mut().ok_or_else(finished)?;
        let written = py.detach(|| writing.write(records));
        self.raised.result(written)
    }
}
