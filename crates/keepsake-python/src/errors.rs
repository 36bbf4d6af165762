//! The exceptions: one per error class of the format specification (§10) and
//! per non-archive error, all under `KeepsakeError`, with the error's
//! parameters as attributes. Input and output failures are Python's own
//! `OSError` subclasses, as for any file operation.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use keepsake::Error;

create_exception!(
    keepsake,
    KeepsakeError,
    PyException,
    "Base class of every Keepsake error. `kind` names the class (`wrong_key`, `corrupt`, ...)."
);
create_exception!(
    keepsake,
    NotAnArchiveError,
    KeepsakeError,
    "The input does not start with the Keepsake magic."
);
create_exception!(
    keepsake,
    UnsupportedVersionError,
    KeepsakeError,
    "The archive's format version is newer than this package reads; `version` is it."
);
create_exception!(
    keepsake,
    UnsupportedSuiteError,
    KeepsakeError,
    "The archive's cipher suite is unknown to this package; `suite` is it."
);
create_exception!(
    keepsake,
    NoSupportedSlotError,
    KeepsakeError,
    "No key slot of the archive is of a kind this package can open."
);
create_exception!(
    keepsake,
    WrongKeyError,
    KeepsakeError,
    "None of the keys given opens the archive."
);
create_exception!(
    keepsake,
    HeaderCorruptError,
    KeepsakeError,
    "The archive's header is damaged or fails authentication."
);
create_exception!(
    keepsake,
    CorruptError,
    KeepsakeError,
    "A chunk of the archive is damaged; `chunk` is its zero-based index."
);
create_exception!(
    keepsake,
    TruncatedError,
    KeepsakeError,
    "The archive ends before its final chunk; `offset` is the bytes read."
);
create_exception!(
    keepsake,
    TrailingDataError,
    KeepsakeError,
    "Bytes follow the archive's final chunk; `offset` is the first of them."
);
create_exception!(
    keepsake,
    LimitExceededError,
    KeepsakeError,
    "A size is over a limit: `limit` names it (`chunk_size`, `record_size`, ...), `value` is the size found, `maximum` the limit."
);
create_exception!(
    keepsake,
    UnknownCriticalChunkError,
    KeepsakeError,
    "A chunk of a kind this package does not know and must not skip; `chunk`, `chunk_kind`."
);
create_exception!(
    keepsake,
    InvalidKeyError,
    KeepsakeError,
    "A key, passphrase, identity, recipient or signing key given is malformed."
);
create_exception!(
    keepsake,
    InvalidInputError,
    KeepsakeError,
    "An argument or record is invalid: a malformed record, records out of dependency order, an option out of range, an archive path that exists."
);
create_exception!(
    keepsake,
    DatabaseError,
    KeepsakeError,
    "The SQLite database refused an operation."
);
create_exception!(
    keepsake,
    CancelledError,
    KeepsakeError,
    "The progress callback returned False: the operation stopped and left nothing behind."
);
create_exception!(
    keepsake,
    UntrustedSignatureError,
    KeepsakeError,
    "The archive is intact but not validly signed by the signer required."
);
create_exception!(
    keepsake,
    ConversationInactiveError,
    KeepsakeError,
    "A message was written into a conversation restored from an archive and not yet reactivated."
);

/// Registers every exception class on the module.
pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    for (name, class) in [
        ("KeepsakeError", py.get_type::<KeepsakeError>()),
        ("NotAnArchiveError", py.get_type::<NotAnArchiveError>()),
        (
            "UnsupportedVersionError",
            py.get_type::<UnsupportedVersionError>(),
        ),
        (
            "UnsupportedSuiteError",
            py.get_type::<UnsupportedSuiteError>(),
        ),
        (
            "NoSupportedSlotError",
            py.get_type::<NoSupportedSlotError>(),
        ),
        ("WrongKeyError", py.get_type::<WrongKeyError>()),
        ("HeaderCorruptError", py.get_type::<HeaderCorruptError>()),
        ("CorruptError", py.get_type::<CorruptError>()),
        ("TruncatedError", py.get_type::<TruncatedError>()),
        ("TrailingDataError", py.get_type::<TrailingDataError>()),
        ("LimitExceededError", py.get_type::<LimitExceededError>()),
        (
            "UnknownCriticalChunkError",
            py.get_type::<UnknownCriticalChunkError>(),
        ),
        ("InvalidKeyError", py.get_type::<InvalidKeyError>()),
        ("InvalidInputError", py.get_type::<InvalidInputError>()),
        ("DatabaseError", py.get_type::<DatabaseError>()),
        ("CancelledError", py.get_type::<CancelledError>()),
        (
            "UntrustedSignatureError",
            py.get_type::<UntrustedSignatureError>(),
        ),
        (
            "ConversationInactiveError",
            py.get_type::<ConversationInactiveError>(),
        ),
    ] {
        module.add(name, class)?;
    }
    Ok(())
}

/// The Python exception for a library error: its class, its message, `kind`
/// (the error kind words of the command line's `--json` output) and its
/// parameters as attributes.
///
/// `Error` is non-exhaustive: a variant added later raises `KeepsakeError`
/// itself (kind `other`) until it is given its own class here.
pub(crate) fn to_py(error: Error) -> PyErr {
    let message = error.to_string();
    let (exception, kind, attributes): (PyErr, &str, Vec<(&str, Attribute)>) = match error {
        Error::NotAnArchive => (
            NotAnArchiveError::new_err(message),
            "not_an_archive",
            vec![],
        ),
        Error::UnsupportedVersion { version } => (
            UnsupportedVersionError::new_err(message),
            "unsupported_version",
            vec![("version", Attribute::Number(version.into()))],
        ),
        Error::UnsupportedSuite { suite } => (
            UnsupportedSuiteError::new_err(message),
            "unsupported_suite",
            vec![("suite", Attribute::Number(suite.into()))],
        ),
        Error::NoSupportedSlot => (
            NoSupportedSlotError::new_err(message),
            "no_supported_slot",
            vec![],
        ),
        Error::WrongKey => (WrongKeyError::new_err(message), "wrong_key", vec![]),
        Error::HeaderCorrupt { .. } => (
            HeaderCorruptError::new_err(message),
            "header_corrupt",
            vec![],
        ),
        Error::Corrupt { chunk, .. } => (
            CorruptError::new_err(message),
            "corrupt",
            vec![("chunk", Attribute::Number(chunk))],
        ),
        Error::Truncated { offset } => (
            TruncatedError::new_err(message),
            "truncated",
            vec![("offset", Attribute::Number(offset))],
        ),
        Error::TrailingData { offset } => (
            TrailingDataError::new_err(message),
            "trailing_data",
            vec![("offset", Attribute::Number(offset))],
        ),
        Error::LimitExceeded { what, value, limit } => (
            LimitExceededError::new_err(message),
            "limit_exceeded",
            vec![
                ("limit", Attribute::Text(what.code())),
                ("value", Attribute::Number(value)),
                ("maximum", Attribute::Number(limit)),
            ],
        ),
        Error::UnknownCriticalChunk { chunk, kind } => (
            UnknownCriticalChunkError::new_err(message),
            "unknown_critical_chunk",
            vec![
                ("chunk", Attribute::Number(chunk)),
                ("chunk_kind", Attribute::Number(kind.into())),
            ],
        ),
        Error::InvalidKey { .. } => (InvalidKeyError::new_err(message), "invalid_key", vec![]),
        Error::InvalidInput { .. } => {
            (InvalidInputError::new_err(message), "invalid_input", vec![])
        }
        Error::ConversationInactive { .. } => (
            ConversationInactiveError::new_err(message),
            "conversation_inactive",
            vec![],
        ),
        Error::UntrustedSignature { .. } => (
            UntrustedSignatureError::new_err(message),
            "untrusted_signature",
            vec![],
        ),
        Error::Cancelled => (CancelledError::new_err(message), "cancelled", vec![]),
        Error::Database(_) => (DatabaseError::new_err(message), "database", vec![]),
        // Python's own OSError subclasses (FileNotFoundError, ...).
        Error::Io(error) => return error.into(),
        _ => (KeepsakeError::new_err(message), "other", vec![]),
    };
    Python::attach(|py| {
        let value = exception.value(py);
        // Setting an attribute on a fresh exception does not fail.
        let _ = value.setattr("kind", kind);
        for (name, attribute) in attributes {
            let _ = match attribute {
                Attribute::Number(number) => value.setattr(name, number),
                Attribute::Text(text) => value.setattr(name, text),
            };
        }
    });
    exception
}

/// A parameter of an error, as an exception attribute.
enum Attribute {
    Number(u64),
    Text(&'static str),
}

/// `Result<T, keepsake::Error>` as a Python result.
pub(crate) trait IntoPy<T> {
    /// The result, its error as a Python exception.
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for keepsake::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

/// A Python exception raised inside a callback the core called (a progress
/// callback, a file object's `read` or `write`), kept to be raised again
/// when the operation returns: the caller sees its own exception, not the
/// failure it caused.
#[derive(Clone, Default)]
pub(crate) struct Raised(std::sync::Arc<std::sync::Mutex<Option<PyErr>>>);

impl Raised {
    /// Keeps `error`; the first one kept wins.
    pub(crate) fn keep(&self, error: PyErr) {
        if let Ok(mut slot) = self.0.lock()
            && slot.is_none()
        {
            *slot = Some(error);
        }
    }

    /// The operation's result, or the exception a callback raised during it.
    pub(crate) fn result<T>(&self, result: keepsake::Result<T>) -> PyResult<T> {
        match self.0.lock().ok().and_then(|mut slot| slot.take()) {
            Some(error) => Err(error),
            None => result.py(),
        }
    }
}
