//! The options an archive is written with, from keyword arguments: the
//! message time range, the elements, compression and chunking, a signing key.

use pyo3::prelude::*;
use pyo3::types::PyString;

use keepsake::Elements;
use keepsake::stream::writer::WriterOptions;

use crate::errors::InvalidInputError;
use crate::keys::SigningKey;

/// What an archive is written with, besides its key slots.
pub(crate) struct WriteOptions {
    pub(crate) start_ns: Option<i64>,
    pub(crate) end_ns: Option<i64>,
    pub(crate) elements: Elements,
    pub(crate) writer: WriterOptions,
}

impl WriteOptions {
    /// The options from their keyword arguments.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        elements: Option<&Bound<'_, PyAny>>,
        level: Option<i32>,
        chunk_size: Option<u32>,
        signing_key: Option<&Bound<'_, SigningKey>>,
        threads: Option<usize>,
    ) -> PyResult<Self> {
        let start_ns = start.map(timestamp).transpose()?;
        let end_ns = end.map(timestamp).transpose()?;
        if let (Some(start), Some(end)) = (start_ns, end_ns)
            && start >= end
        {
            return Err(InvalidInputError::new_err(format!(
                "the time range is empty: its start ({start}) must be before its end ({end})"
            )));
        }
        let mut writer = WriterOptions::default();
        if let Some(level) = level {
            writer.level = level;
        }
        if let Some(chunk_size) = chunk_size {
            writer.chunk_size = chunk_size;
        }
        if let Some(threads) = threads.filter(|&threads| threads > 0) {
            writer.threads = threads;
        }
        writer.signing_key = signing_key.map(|key| key.get().0.clone());
        Ok(WriteOptions {
            start_ns,
            end_ns,
            elements: elements
                .map(parse_elements)
                .transpose()?
                .unwrap_or_default(),
            writer,
        })
    }
}

/// `("messages", "consent")`, either or both.
fn parse_elements(elements: &Bound<'_, PyAny>) -> PyResult<Elements> {
    if elements.is_instance_of::<PyString>() {
        return Err(InvalidInputError::new_err(
            "elements is a sequence such as (\"messages\", \"consent\"), not a string",
        ));
    }
    let mut chosen = Elements {
        messages: false,
        consent: false,
    };
    for element in elements.try_iter()? {
        match element?.extract::<String>()?.as_str() {
            "messages" => chosen.messages = true,
            "consent" => chosen.consent = true,
            other => {
                return Err(InvalidInputError::new_err(format!(
                    "elements are \"messages\" and \"consent\", not {other:?}"
                )));
            }
        }
    }
    if !chosen.messages && !chosen.consent {
        return Err(InvalidInputError::new_err(
            "nothing to archive: choose messages, consent or both",
        ));
    }
    Ok(chosen)
}

/// A time as nanoseconds since the Unix epoch: an `int` of nanoseconds, or
/// a `datetime` with a time zone.
pub(crate) fn timestamp(value: &Bound<'_, PyAny>) -> PyResult<i64> {
    if let Ok(ns) = value.extract::<i64>() {
        return Ok(ns);
    }
    let py = value.py();
    let datetime = py.import("datetime")?;
    if !value.is_instance(&datetime.getattr("datetime")?)? {
        return Err(InvalidInputError::new_err(
            "a time is an int of nanoseconds since the Unix epoch or a datetime with a time zone",
        ));
    }
    if value.getattr("tzinfo")?.is_none() {
        return Err(InvalidInputError::new_err(
            "a datetime without a time zone is ambiguous: give it one (tzinfo)",
        ));
    }
    let utc = datetime.getattr("timezone")?.getattr("utc")?;
    let epoch = datetime
        .getattr("datetime")?
        .call1((1970, 1, 1, 0, 0, 0, 0, utc))?;
    let delta = value.call_method1("__sub__", (epoch,))?;
    let days: i64 = delta.getattr("days")?.extract()?;
    let seconds: i64 = delta.getattr("seconds")?.extract()?;
    let micros: i64 = delta.getattr("microseconds")?.extract()?;
    (days * 86_400 + seconds)
        .checked_mul(1_000_000_000)
        .and_then(|ns| ns.checked_add(micros * 1_000))
        .ok_or_else(|| InvalidInputError::new_err("the time is out of range"))
}
