//! Python file objects as the core's byte sinks and sources: anything with a
//! `write(bytes)` method, or a `read(size)` method returning bytes.

use std::io;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::Raised;

/// A Python file object; an exception its methods raise is kept in `raised`
/// and surfaces as the operation's error.
pub(crate) struct PyFile {
    file: Py<PyAny>,
    raised: Raised,
}

impl PyFile {
    pub(crate) fn new(file: Py<PyAny>, raised: &Raised) -> Self {
        PyFile {
            file,
            raised: raised.clone(),
        }
    }

    fn failed(&self, error: PyErr, what: &str) -> io::Error {
        self.raised.keep(error);
        io::Error::other(format!("the file object's {what} raised an exception"))
    }
}

impl io::Write for PyFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        Python::attach(|py| {
            let written = self
                .file
                .call_method1(py, "write", (PyBytes::new(py, data),))
                .map_err(|error| self.failed(error, "write"))?;
            // `write` returns how many bytes it took; None (some raw files)
            // or anything else is taken as all of them.
            Ok(written
                .extract::<usize>(py)
                .ok()
                .filter(|&n| n <= data.len())
                .unwrap_or(data.len()))
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        Python::attach(|py| {
            if self.file.bind(py).hasattr("flush").unwrap_or(false) {
                self.file
                    .call_method0(py, "flush")
                    .map_err(|error| self.failed(error, "flush"))?;
            }
            Ok(())
        })
    }
}

impl io::Read for PyFile {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        Python::attach(|py| {
            let chunk = self
                .file
                .call_method1(py, "read", (buffer.len(),))
                .map_err(|error| self.failed(error, "read"))?;
            let chunk = chunk.bind(py).cast::<PyBytes>().map_err(|_| {
                io::Error::other("the file object's read returned something other than bytes")
            })?;
            let bytes = chunk.as_bytes();
            if bytes.len() > buffer.len() {
                return Err(io::Error::other(
                    "the file object's read returned more bytes than asked for",
                ));
            }
            buffer[..bytes.len()].copy_from_slice(bytes);
            Ok(bytes.len())
        })
    }
}
