//! Storage errors as Keepsake errors: [`keepsake::Error::Io`] with the
//! [`io::ErrorKind`] a caller can act on (`NotFound`, `PermissionDenied`,
//! `AlreadyExists`, anything else `Other`) and a message that names the object.

use std::error::Error as _;
use std::fmt;
use std::io;

/// A failed storage request: what was being done to which object, and why.
#[derive(Debug)]
pub(crate) struct StoreError {
    message: String,
    source: Option<object_store::Error>,
}

/// Whether `error` comes from this crate, and so already names the object
/// and what was being done to it.
pub fn is_store_error(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<StoreError>())
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// The kind of a storage error, and a few words for people.
fn classify(error: &object_store::Error) -> (io::ErrorKind, &'static str) {
    use object_store::Error as E;
    match error {
        E::NotFound { .. } if mentions(error, "NoSuchBucket") => {
            (io::ErrorKind::NotFound, "the bucket does not exist")
        }
        E::NotFound { .. } => (io::ErrorKind::NotFound, "no such object"),
        E::AlreadyExists { .. } | E::Precondition { .. } => (
            io::ErrorKind::AlreadyExists,
            "an object already exists there",
        ),
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => {
            (io::ErrorKind::PermissionDenied, "access denied")
        }
        // Listings report a missing bucket or refused credentials only as
        // generic errors that carry S3's status and code.
        _ if mentions(error, "NoSuchBucket") => {
            (io::ErrorKind::NotFound, "the bucket does not exist")
        }
        _ if [
            "403 Forbidden",
            "AccessDenied",
            "SignatureDoesNotMatch",
            "InvalidAccessKeyId",
        ]
        .iter()
        .any(|code| mentions(error, code)) =>
        {
            (io::ErrorKind::PermissionDenied, "access denied")
        }
        _ => (io::ErrorKind::Other, "the storage request failed"),
    }
}

/// Whether `needle` appears anywhere in the error or its causes.
fn mentions(error: &object_store::Error, needle: &str) -> bool {
    causes(error).contains(needle)
}

/// The error and its causes on one line, each cause once.
fn causes(error: &object_store::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

/// Whether the store refused the credentials or the operation.
pub(crate) fn is_denied(error: &object_store::Error) -> bool {
    classify(error).0 == io::ErrorKind::PermissionDenied
}

/// An [`io::Error`] for a failed attempt to `what` (such as "read") the
/// object at `url`.
pub(crate) fn io_error(what: &str, url: &str, error: object_store::Error) -> io::Error {
    let (kind, reason) = classify(&error);
    let message = format!("cannot {what} {url}: {reason} ({})", causes(&error));
    io::Error::new(
        kind,
        StoreError {
            message,
            source: Some(error),
        },
    )
}

/// As [`io_error`], as Keepsake's error.
pub(crate) fn store_error(what: &str, url: &str, error: object_store::Error) -> keepsake::Error {
    keepsake::Error::Io(io_error(what, url, error))
}

/// An error of this crate's own, not from a request; `message` names the object.
pub(crate) fn other(message: String) -> io::Error {
    mine(io::ErrorKind::Other, message)
}

/// An error of `kind` of this crate's own; `message` names the object.
pub(crate) fn mine(kind: io::ErrorKind, message: String) -> io::Error {
    io::Error::new(
        kind,
        StoreError {
            message,
            source: None,
        },
    )
}
