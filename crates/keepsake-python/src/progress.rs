//! Progress callbacks: a Python callable receives a [`ProgressEvent`] at most
//! every 100 ms; returning `False` cancels the operation (`CancelledError`),
//! and an exception it raises cancels it and propagates. Ctrl-C is checked
//! at the same moments, callback or not.

use pyo3::prelude::*;

use keepsake::{Progress, ProgressEvent as Event};

use crate::errors::Raised;

/// One progress report.
#[pyclass(frozen, get_all, module = "keepsake")]
pub struct ProgressEvent {
    /// `create`, `verify`, `import` or `restore`.
    phase: String,
    /// Archive bytes written (create) or read (verify, import) so far.
    bytes_done: u64,
    /// The archive's size when known (reading a file), else None.
    bytes_total: Option<u64>,
    /// Records processed so far.
    records_done: u64,
    /// Records in all when known, else None.
    records_total: Option<u64>,
    /// Chunks completed so far.
    chunks_done: u64,
    /// Seconds since the operation started.
    elapsed: f64,
    /// The expected seconds left when a total is known, else None.
    eta: Option<f64>,
    /// Whether this is the last event of a successful operation.
    finished: bool,
}

#[pymethods]
impl ProgressEvent {
    fn __repr__(&self) -> String {
        format!(
            "ProgressEvent(phase={:?}, bytes_done={}, records_done={}, records_total={:?}, finished={})",
            self.phase, self.bytes_done, self.records_done, self.records_total, self.finished
        )
    }
}

impl ProgressEvent {
    fn of(event: &Event) -> Self {
        ProgressEvent {
            phase: event.phase.to_string(),
            bytes_done: event.bytes_done,
            bytes_total: event.bytes_total,
            records_done: event.records_done,
            records_total: event.records_total,
            chunks_done: event.chunks_done,
            elapsed: event.elapsed.as_secs_f64(),
            eta: event.eta.map(|eta| eta.as_secs_f64()),
            finished: event.finished,
        }
    }
}

/// A progress handle calling `callback` (if any) and checking for Ctrl-C;
/// an exception either raises is kept in `raised`.
pub(crate) fn progress(callback: Option<Py<PyAny>>, raised: &Raised) -> Progress {
    let raised = raised.clone();
    Progress::cancellable(move |event| {
        Python::attach(|py| {
            let answer = py.check_signals().and_then(|()| match &callback {
                None => Ok(true),
                Some(callback) => {
                    let answer = callback.call1(py, (ProgressEvent::of(event),))?;
                    // Only False cancels: None (no return) goes on.
                    Ok(!answer.bind(py).is(pyo3::types::PyBool::new(py, false)))
                }
            });
            answer.unwrap_or_else(|error| {
                raised.keep(error);
                false
            })
        })
    })
}
