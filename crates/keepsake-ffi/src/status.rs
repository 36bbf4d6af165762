//! Status codes, error objects, and the guard every entry point runs its
//! body in: errors become a status (and, when asked, an error object), and a
//! panic is caught before it can cross the boundary.

use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use keepsake::Error;

/// What a call came to: `KEEPSAKE_STATUS_OK`, or the class of its error.
///
/// Codes 1 to 11 are the archive errors of the format specification (§10),
/// one each; 20 and up are errors not caused by an archive's bytes. The
/// numbers never change; codes may be added, so treat an unknown code as a
/// failure (keepsake_status_name names it "unknown").
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepsakeStatus {
    /// Success.
    Ok = 0,
    /// The input does not start with the Keepsake magic: not an archive.
    NotAnArchive = 1,
    /// The archive's format version is one this library cannot read.
    UnsupportedVersion = 2,
    /// The archive's cipher suite is one this library cannot read.
    UnsupportedSuite = 3,
    /// No key slot is of a kind this library can open.
    NoSupportedSlot = 4,
    /// None of the keys given opens the archive.
    WrongKey = 5,
    /// The header is damaged or fails authentication.
    HeaderCorrupt = 6,
    /// A chunk is damaged; the error's details name it.
    Corrupt = 7,
    /// The input ended before the archive's final chunk.
    Truncated = 8,
    /// Bytes follow the archive's final chunk.
    TrailingData = 9,
    /// A size is over a limit; the error's details name the limit.
    LimitExceeded = 10,
    /// A chunk of a kind this library does not know and must not skip.
    UnknownCriticalChunk = 11,
    /// A key, passphrase, identity, recipient or signing key given is malformed.
    InvalidKey = 20,
    /// An argument is invalid: a NULL pointer, text that is not UTF-8,
    /// records that are not valid JSON records or come out of dependency
    /// order, an option out of range, a file that already exists.
    InvalidArgument = 21,
    /// Reading or writing failed (a file, or a read or write callback).
    Io = 22,
    /// The SQLite database refused an operation.
    Database = 23,
    /// The progress callback asked to stop.
    Cancelled = 24,
    /// The archive is intact but not validly signed by the signer required.
    UntrustedSignature = 25,
    /// A message was written into a conversation restored from an archive
    /// and not yet reactivated.
    ConversationInactive = 26,
    /// An error this version of the ABI does not classify more precisely.
    Other = 98,
    /// A bug in Keepsake, caught at the boundary; the handle it happened in
    /// stops working. Please report it.
    Internal = 99,
}

impl KeepsakeStatus {
    /// Every status, for tables and tests.
    pub(crate) const ALL: [KeepsakeStatus; 21] = [
        KeepsakeStatus::Ok,
        KeepsakeStatus::NotAnArchive,
        KeepsakeStatus::UnsupportedVersion,
        KeepsakeStatus::UnsupportedSuite,
        KeepsakeStatus::NoSupportedSlot,
        KeepsakeStatus::WrongKey,
        KeepsakeStatus::HeaderCorrupt,
        KeepsakeStatus::Corrupt,
        KeepsakeStatus::Truncated,
        KeepsakeStatus::TrailingData,
        KeepsakeStatus::LimitExceeded,
        KeepsakeStatus::UnknownCriticalChunk,
        KeepsakeStatus::InvalidKey,
        KeepsakeStatus::InvalidArgument,
        KeepsakeStatus::Io,
        KeepsakeStatus::Database,
        KeepsakeStatus::Cancelled,
        KeepsakeStatus::UntrustedSignature,
        KeepsakeStatus::ConversationInactive,
        KeepsakeStatus::Other,
        KeepsakeStatus::Internal,
    ];

    /// The status's stable name: the error kind words of the command line's
    /// `--json` output (`wrong_key`, `corrupt`, …).
    pub fn name(self) -> &'static str {
        match self {
            KeepsakeStatus::Ok => "ok",
            KeepsakeStatus::NotAnArchive => "not_an_archive",
            KeepsakeStatus::UnsupportedVersion => "unsupported_version",
            KeepsakeStatus::UnsupportedSuite => "unsupported_suite",
            KeepsakeStatus::NoSupportedSlot => "no_supported_slot",
            KeepsakeStatus::WrongKey => "wrong_key",
            KeepsakeStatus::HeaderCorrupt => "header_corrupt",
            KeepsakeStatus::Corrupt => "corrupt",
            KeepsakeStatus::Truncated => "truncated",
            KeepsakeStatus::TrailingData => "trailing_data",
            KeepsakeStatus::LimitExceeded => "limit_exceeded",
            KeepsakeStatus::UnknownCriticalChunk => "unknown_critical_chunk",
            KeepsakeStatus::InvalidKey => "invalid_key",
            KeepsakeStatus::InvalidArgument => "invalid_argument",
            KeepsakeStatus::Io => "io",
            KeepsakeStatus::Database => "database",
            KeepsakeStatus::Cancelled => "cancelled",
            KeepsakeStatus::UntrustedSignature => "untrusted_signature",
            KeepsakeStatus::ConversationInactive => "conversation_inactive",
            KeepsakeStatus::Other => "other",
            KeepsakeStatus::Internal => "internal",
        }
    }

    /// The status of a library error.
    ///
    /// `Error` is non-exhaustive: a variant added later is
    /// [`KeepsakeStatus::Other`] until it is given its own code here.
    pub fn of(error: &Error) -> KeepsakeStatus {
        match error {
            Error::NotAnArchive => KeepsakeStatus::NotAnArchive,
            Error::UnsupportedVersion { .. } => KeepsakeStatus::UnsupportedVersion,
            Error::UnsupportedSuite { .. } => KeepsakeStatus::UnsupportedSuite,
            Error::NoSupportedSlot => KeepsakeStatus::NoSupportedSlot,
            Error::WrongKey => KeepsakeStatus::WrongKey,
            Error::HeaderCorrupt { .. } => KeepsakeStatus::HeaderCorrupt,
            Error::Corrupt { .. } => KeepsakeStatus::Corrupt,
            Error::Truncated { .. } => KeepsakeStatus::Truncated,
            Error::TrailingData { .. } => KeepsakeStatus::TrailingData,
            Error::LimitExceeded { .. } => KeepsakeStatus::LimitExceeded,
            Error::UnknownCriticalChunk { .. } => KeepsakeStatus::UnknownCriticalChunk,
            Error::InvalidKey { .. } => KeepsakeStatus::InvalidKey,
            Error::InvalidInput { .. } => KeepsakeStatus::InvalidArgument,
            Error::Io(_) => KeepsakeStatus::Io,
            Error::Database(_) => KeepsakeStatus::Database,
            Error::Cancelled => KeepsakeStatus::Cancelled,
            Error::UntrustedSignature { .. } => KeepsakeStatus::UntrustedSignature,
            Error::ConversationInactive { .. } => KeepsakeStatus::ConversationInactive,
            _ => KeepsakeStatus::Other,
        }
    }
}

/// The parameters of an error, by value. Fields that do not apply to the
/// error's status are zero (and `limit` NULL).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct KeepsakeErrorDetails {
    /// CORRUPT and UNKNOWN_CRITICAL_CHUNK: the zero-based index of the chunk.
    pub chunk: u64,
    /// TRUNCATED: the bytes read; TRAILING_DATA: the offset of the first extra byte.
    pub offset: u64,
    /// UNSUPPORTED_VERSION: the format version found.
    pub version: u16,
    /// UNSUPPORTED_SUITE: the cipher suite found.
    pub suite: u16,
    /// UNKNOWN_CRITICAL_CHUNK: the chunk's kind byte.
    pub kind: u8,
    /// LIMIT_EXCEEDED: the limit's name (`chunk_size`, `record_size`,
    /// `argon2_memory`, `argon2_passes`, `argon2_lanes`, `passphrase_slots`,
    /// or one added later), owned by the error.
    pub limit: *const c_char,
    /// LIMIT_EXCEEDED: the size found.
    pub limit_value: u64,
    /// LIMIT_EXCEEDED: the limit in force.
    pub limit_bound: u64,
}

/// An error: its status, a message for people, and its details. Created by a
/// failing call when asked for; freed with keepsake_error_free. Messages never
/// contain key material.
#[derive(Debug)]
pub struct KeepsakeError {
    status: KeepsakeStatus,
    message: CString,
    limit: Option<CString>,
    details: KeepsakeErrorDetails,
}

/// Text as a C string: an interior NUL (possible in a message quoting input)
/// is shown as `\0`.
pub(crate) fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', "\\0")).expect("no interior NUL is left")
}

impl KeepsakeError {
    fn new(status: KeepsakeStatus, message: &str) -> Self {
        KeepsakeError {
            status,
            message: c_string(message),
            limit: None,
            details: KeepsakeErrorDetails {
                chunk: 0,
                offset: 0,
                version: 0,
                suite: 0,
                kind: 0,
                limit: std::ptr::null(),
                limit_value: 0,
                limit_bound: 0,
            },
        }
    }

    fn of(error: &Error) -> Self {
        let mut out = KeepsakeError::new(KeepsakeStatus::of(error), &error.to_string());
        let details = &mut out.details;
        match error {
            Error::Corrupt { chunk, .. } => details.chunk = *chunk,
            Error::UnknownCriticalChunk { chunk, kind } => {
                details.chunk = *chunk;
                details.kind = *kind;
            }
            Error::Truncated { offset } | Error::TrailingData { offset } => {
                details.offset = *offset
            }
            Error::UnsupportedVersion { version } => details.version = *version,
            Error::UnsupportedSuite { suite } => details.suite = *suite,
            Error::LimitExceeded { what, value, limit } => {
                details.limit_value = *value;
                details.limit_bound = *limit;
                let name = c_string(what.code());
                // The CString's bytes stay where they are when it moves.
                details.limit = name.as_ptr();
                out.limit = Some(name);
            }
            _ => {}
        }
        out
    }
}

/// Runs an entry point's body: returns `KEEPSAKE_STATUS_OK`, or the status of
/// its error, storing a new error object at `error_out` when it is not NULL.
/// A panic is caught and reported as `KEEPSAKE_STATUS_INTERNAL`.
pub(crate) fn guard(
    error_out: *mut *mut KeepsakeError,
    body: impl FnOnce() -> Result<(), Error>,
) -> KeepsakeStatus {
    let error = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return KeepsakeStatus::Ok,
        Ok(Err(error)) => KeepsakeError::of(&error),
        Err(payload) => {
            let text = payload
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            KeepsakeError::new(
                KeepsakeStatus::Internal,
                &format!("internal error in Keepsake (please report it): {text}"),
            )
        }
    };
    let status = error.status;
    if !error_out.is_null() {
        // Building the box cannot panic short of running out of memory,
        // which aborts rather than unwinds.
        let boxed = Box::into_raw(Box::new(error));
        // SAFETY: the caller passes either NULL (checked above) or a pointer
        // to writable storage for one `KeepsakeError *`, as the header says.
        unsafe { error_out.write(boxed) };
    }
    status
}

/// Runs an entry point that reports no status (a free, an accessor): a panic
/// is caught, and `fallback` returned instead.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// The stable name of a status code: `ok`, `wrong_key`, `corrupt`, … (the
/// error kind words of the command line's `--json` output), or `unknown`
/// for a code this version does not define. The string is static.
#[unsafe(no_mangle)]
pub extern "C" fn keepsake_status_name(status: i32) -> *const c_char {
    static UNKNOWN: &CStr = c"unknown";
    guard_value(UNKNOWN.as_ptr(), || {
        static NAMES: std::sync::OnceLock<Vec<(i32, CString)>> = std::sync::OnceLock::new();
        let names = NAMES.get_or_init(|| {
            KeepsakeStatus::ALL
                .iter()
                .map(|status| (*status as i32, c_string(status.name())))
                .collect()
        });
        names
            .iter()
            .find(|(code, _)| *code == status)
            .map_or(UNKNOWN.as_ptr(), |(_, name)| name.as_ptr())
    })
}

/// The error's status (never KEEPSAKE_STATUS_OK); KEEPSAKE_STATUS_INVALID_ARGUMENT
/// for NULL.
///
/// # Safety
///
/// `error` must be NULL or a live error from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_error_status(error: *const KeepsakeError) -> KeepsakeStatus {
    guard_value(KeepsakeStatus::Internal, || {
        // SAFETY: NULL or a live error, by the caller's promise.
        unsafe { error.as_ref() }.map_or(KeepsakeStatus::InvalidArgument, |error| error.status)
    })
}

/// The error's message, for people: NUL-terminated UTF-8, owned by the
/// error and valid until it is freed. An empty string for NULL.
///
/// # Safety
///
/// `error` must be NULL or a live error from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_error_message(error: *const KeepsakeError) -> *const c_char {
    guard_value(c"".as_ptr(), || {
        // SAFETY: NULL or a live error, by the caller's promise.
        unsafe { error.as_ref() }.map_or(c"".as_ptr(), |error| error.message.as_ptr())
    })
}

/// The error's parameters (which chunk, which offset, which limit, …); all
/// zero for NULL. `limit` points into the error and is valid until it is freed.
///
/// # Safety
///
/// `error` must be NULL or a live error from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_error_details(
    error: *const KeepsakeError,
) -> KeepsakeErrorDetails {
    let none = KeepsakeError::new(KeepsakeStatus::Ok, "").details;
    guard_value(none, || {
        // SAFETY: NULL or a live error, by the caller's promise.
        unsafe { error.as_ref() }.map_or(none, |error| error.details)
    })
}

/// Frees an error; NULL is ignored.
///
/// # Safety
///
/// `error` must be NULL or an error from this library, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_error_free(error: *mut KeepsakeError) {
    guard_value((), || {
        // SAFETY: NULL or an error given out by `guard` and not freed, by
        // the caller's promise.
        drop(unsafe { crate::buffer::take(error) });
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepsake::Limit;

    #[test]
    fn every_archive_error_has_its_own_code() {
        let cases = [
            (Error::NotAnArchive, 1),
            (Error::UnsupportedVersion { version: 2 }, 2),
            (Error::UnsupportedSuite { suite: 9 }, 3),
            (Error::NoSupportedSlot, 4),
            (Error::WrongKey, 5),
            (Error::header("x"), 6),
            (Error::corrupt(3, "x"), 7),
            (Error::Truncated { offset: 1 }, 8),
            (Error::TrailingData { offset: 1 }, 9),
            (
                Error::LimitExceeded {
                    what: Limit::RecordSize,
                    value: 2,
                    limit: 1,
                },
                10,
            ),
            (Error::UnknownCriticalChunk { chunk: 1, kind: 7 }, 11),
            (Error::InvalidKey { reason: "x".into() }, 20),
            (Error::invalid("x"), 21),
            (Error::Io(std::io::Error::other("x")), 22),
            (Error::database(std::io::Error::other("x")), 23),
            (Error::Cancelled, 24),
            (Error::UntrustedSignature { reason: "x".into() }, 25),
            (Error::ConversationInactive { id: "ab".into() }, 26),
        ];
        let mut seen = std::collections::BTreeSet::new();
        for (error, code) in cases {
            let status = KeepsakeStatus::of(&error);
            assert_eq!(status as i32, code, "{error:?}");
            assert!(seen.insert(code), "{code} twice");
        }
        let names: std::collections::BTreeSet<_> = KeepsakeStatus::ALL
            .iter()
            .map(|status| status.name())
            .collect();
        assert_eq!(names.len(), KeepsakeStatus::ALL.len(), "names are unique");
    }

    #[test]
    fn details_carry_the_parameters() {
        let error = KeepsakeError::of(&Error::LimitExceeded {
            what: Limit::ChunkSize,
            value: 9,
            limit: 4,
        });
        let details = error.details;
        // SAFETY: `limit` points into `error`, which is alive.
        let limit = unsafe { std::ffi::CStr::from_ptr(details.limit) };
        assert_eq!(limit.to_str().unwrap(), "chunk_size");
        assert_eq!((details.limit_value, details.limit_bound), (9, 4));
        let error = KeepsakeError::of(&Error::UnknownCriticalChunk {
            chunk: 4,
            kind: 0x7f,
        });
        assert_eq!((error.details.chunk, error.details.kind), (4, 0x7f));
        assert!(error.details.limit.is_null());
    }

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let mut error: *mut KeepsakeError = std::ptr::null_mut();
        let status = guard(&mut error, || panic!("boom"));
        assert_eq!(status, KeepsakeStatus::Internal);
        // SAFETY: `guard` stored a box it allocated.
        let error = unsafe { Box::from_raw(error) };
        assert!(error.message.to_str().unwrap().contains("boom"));
    }
}
