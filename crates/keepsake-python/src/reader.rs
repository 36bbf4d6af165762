//! `ArchiveReader`: an archive in, records out, from a file or any Python
//! file object, one authenticated batch at a time.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use keepsake::{Item, Limits, Record};

use crate::errors::{InvalidInputError, Raised};
use crate::files::PyFile;
use crate::keys::identities;
use crate::records::to_dict;
use crate::reports::{ArchiveMetadata, Signature, Trailer};

type CoreReader = keepsake::ArchiveReader<Box<dyn Read + Send>>;

struct Reading {
    /// None once closed.
    reader: Option<CoreReader>,
    /// Records of the current batch not yet handed out by iteration.
    pending: VecDeque<Record>,
}

/// Reads an archive; iterate over it for its records, as dicts.
///
/// `ArchiveReader(source, key, *, max_chunk_size=None, max_record_size=None,
/// threads=None)`. `source` is a path or a binary file object with `read`;
/// `key` is one key or a list of keys to try. Opening reads and
/// authenticates the header and the metadata chunk (`metadata`,
/// `format_version`, `key_slots`).
///
/// Records come out as their chunk authenticates, before the end of the
/// archive is checked: keep what you read provisional until iteration ends
/// without an exception, which means the whole archive was authenticated
/// and checked (then `trailer` and `signature` are set). An error raises
/// the exception of its class, after the records of the batches before it.
/// A record is a dict whose `type` is `conversation`, `message` or
/// `consent`, with the fields of the format specification (§6.3.2): byte
/// strings as `bytes`, times as `int` nanoseconds, enumerations as strings.
/// Page batches (a whole-database snapshot) hold no records and are passed
/// over. The interpreter is released while chunks are read and opened.
#[pyclass(module = "keepsake")]
pub struct ArchiveReader {
    state: Mutex<Reading>,
    raised: Raised,
    /// The metadata chunk.
    #[pyo3(get)]
    metadata: Py<ArchiveMetadata>,
    /// The archive's format version.
    #[pyo3(get)]
    format_version: u16,
    /// How many key slots its header holds.
    #[pyo3(get)]
    key_slots: usize,
}

impl ArchiveReader {
    fn state(&self) -> PyResult<MutexGuard<'_, Reading>> {
        self.state
            .try_lock()
            .map_err(|_| InvalidInputError::new_err("the reader is in use by another call"))
    }

    /// The next batch of records from the archive, or None at its end.
    fn read_batch(&self, py: Python<'_>, reading: &mut Reading) -> PyResult<Option<Vec<Record>>> {
        let reader = reading.reader.as_mut().ok_or_else(closed)?;
        let batch = py.detach(|| {
            while let Some(item) = reader.next_item()? {
                if let Item::Records(records) = item {
                    return Ok(Some(records));
                }
            }
            Ok(None)
        });
        self.raised.result(batch)
    }
}

#[pymethods]
impl ArchiveReader {
    #[new]
    #[pyo3(signature = (source, key, *, max_chunk_size=None, max_record_size=None, threads=None))]
    fn new(
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        key: &Bound<'_, PyAny>,
        max_chunk_size: Option<u32>,
        max_record_size: Option<u32>,
        threads: Option<usize>,
    ) -> PyResult<Self> {
        let identities = identities(key)?;
        let mut limits = Limits::default();
        if let Some(max) = max_chunk_size {
            limits.max_chunk_size = max;
        }
        if let Some(max) = max_record_size {
            limits.max_record_size = max;
        }
        let raised = Raised::default();
        let input: Box<dyn Read + Send> = if let Ok(path) = source.extract::<PathBuf>() {
            Box::new(py.detach(|| File::open(path)).map_err(PyErr::from)?)
        } else if source.hasattr("read")? {
            Box::new(PyFile::new(source.clone().unbind(), &raised))
        } else {
            return Err(InvalidInputError::new_err(
                "the source is a path or a binary file object with a read method",
            ));
        };
        let reader = py.detach(|| match threads.filter(|&threads| threads > 0) {
            Some(threads) => CoreReader::with_threads(input, &identities, limits, threads),
            None => CoreReader::new(input, &identities, limits),
        });
        let reader = raised.result(reader)?;
        Ok(ArchiveReader {
            metadata: Py::new(py, ArchiveMetadata::of(reader.metadata()))?,
            format_version: reader.header().format_version,
            key_slots: reader.header().key_slots,
            state: Mutex::new(Reading {
                reader: Some(reader),
                pending: VecDeque::new(),
            }),
            raised,
        })
    }

    /// The next batch of records as a list of dicts (what is left of the
    /// current one, if iteration stopped inside it), or None at the end.
    fn next_batch<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyList>>> {
        let mut reading = self.state()?;
        let records: Vec<Record> = if reading.pending.is_empty() {
            match self.read_batch(py, &mut reading)? {
                Some(records) => records,
                None => return Ok(None),
            }
        } else {
            reading.pending.drain(..).collect()
        };
        let dicts = records
            .iter()
            .map(|record| to_dict(py, record))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, dicts).map(Some)
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let mut reading = self.state()?;
        while reading.pending.is_empty() {
            match self.read_batch(py, &mut reading)? {
                Some(records) => reading.pending.extend(records),
                None => return Ok(None),
            }
        }
        match reading.pending.pop_front() {
            Some(record) => to_dict(py, &record).map(Some),
            None => Ok(None),
        }
    }

    /// The trailer, once every record has been read; None before.
    #[getter]
    fn trailer(&self, py: Python<'_>) -> PyResult<Option<Trailer>> {
        let reading = self.state()?;
        let reader = reading.reader.as_ref().ok_or_else(closed)?;
        Ok(reader.trailer().map(|trailer| Trailer::of(py, trailer)))
    }

    /// The signature, once every record has been read; None before.
    #[getter]
    fn signature(&self) -> PyResult<Option<Signature>> {
        let reading = self.state()?;
        let reader = reading.reader.as_ref().ok_or_else(closed)?;
        Ok(reader
            .trailer()
            .map(|trailer| Signature::of(&reader.header().signature_status(trailer))))
    }

    /// Closes the source (a file opened by path) and ends reading; the
    /// trailer and signature are gone with it.
    fn close(&self) -> PyResult<()> {
        let mut reading = self.state()?;
        reading.reader = None;
        reading.pending.clear();
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Closes the reader.
    fn __exit__(
        &self,
        _exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.close().map(|()| false)
    }
}

fn closed() -> PyErr {
    InvalidInputError::new_err("the reader is closed")
}
