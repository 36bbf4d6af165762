//! Exit codes, and how a failure is told to a person (stderr) and to a
//! program (`--json` on stdout).

use std::io::{ErrorKind, Write};
use std::process::ExitCode;

use serde::Serialize;

use keepsake::Error;

use super::Report;

/// Any failure not listed below: I/O, the database, a refused overwrite.
pub const FAILURE: u8 = 1;
/// A bad command line, option value or key file.
pub const USAGE: u8 = 2;
/// The key does not open the archive.
pub const WRONG_KEY: u8 = 3;
/// The archive is not one, or is truncated, damaged, or over this reader's limits.
pub const DAMAGED: u8 = 4;
/// The archive needs a newer Keepsake.
pub const UNSUPPORTED: u8 = 5;
/// `salvage` wrote a new archive, but some of the damaged archive's content
/// could not be recovered.
pub const SALVAGED_WITH_LOSS: u8 = 6;
/// The archive is intact but not validly signed by the trusted signer.
pub const UNTRUSTED: u8 = 7;

/// Whether an operation reads an archive or writes one: a size over a limit
/// is damage in an archive being read, and a plain failure while writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Reading,
    Writing,
}

/// Why a command failed, ready to print.
#[derive(Debug)]
pub struct Failure {
    /// The process exit status.
    pub code: u8,
    /// A stable name for the kind of failure, for programs.
    pub kind: &'static str,
    /// What went wrong, in words.
    pub message: String,
    /// What the user might do about it.
    pub hints: Vec<String>,
}

impl Failure {
    /// A failure with no hint.
    pub fn new(code: u8, kind: &'static str, message: impl Into<String>) -> Self {
        Failure {
            code,
            kind,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// An invalid option value or combination that the argument parser cannot catch.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure::new(USAGE, "usage", message)
    }

    /// A file operation on `path` failed.
    pub fn io(what: &str, path: &std::path::Path, error: &std::io::Error) -> Self {
        Failure::new(
            FAILURE,
            "io",
            format!("cannot {what} {}: {error}", path.display()),
        )
    }

    /// A library error, mapped to its exit code, with a hint where one helps.
    pub fn library(error: Error, direction: Direction) -> Self {
        let (code, kind, hint) = classify(&error, direction);
        let mut failure = Failure::new(code, kind, error.to_string());
        if let Some(hint) = hint {
            failure.hints.push(hint.to_owned());
        }
        failure
    }

    /// Prefixes the message with what was being done.
    pub fn context(mut self, context: impl std::fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// Adds a hint after any the failure already has.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }
}

/// The exit code, the stable kind name and a hint for a library error.
///
/// `Error` is non-exhaustive: a variant added later exits with 1 until it is
/// given a better place here.
pub fn classify(error: &Error, direction: Direction) -> (u8, &'static str, Option<&'static str>) {
    const ANOTHER_COPY: &str =
        "the file was damaged or changed after it was written; try another copy of the archive";
    const UPGRADE: &str = "the archive was written by a newer Keepsake; upgrade to read it";
    match error {
        Error::WrongKey => (
            WRONG_KEY,
            "wrong_key",
            Some(
                "check that --key-file, --passphrase-env or --identity is one this archive was created for",
            ),
        ),
        Error::UntrustedSignature { .. } => (
            UNTRUSTED,
            "untrusted_signature",
            Some("the archive may not come from the installation you expect"),
        ),
        Error::NotAnArchive => (
            DAMAGED,
            "not_an_archive",
            Some("check the path: this file is not a Keepsake archive"),
        ),
        Error::HeaderCorrupt { .. } => (DAMAGED, "header_corrupt", Some(ANOTHER_COPY)),
        Error::Corrupt { .. } => (DAMAGED, "corrupt", Some(ANOTHER_COPY)),
        Error::TrailingData { .. } => (DAMAGED, "trailing_data", Some(ANOTHER_COPY)),
        Error::Truncated { .. } => (
            DAMAGED,
            "truncated",
            Some(
                "the archive is incomplete, perhaps cut off while copying or uploading; try another copy",
            ),
        ),
        Error::LimitExceeded { .. } if direction == Direction::Reading => (
            DAMAGED,
            "limit_exceeded",
            Some(
                "the archive holds sizes this reader does not accept: it is damaged, hostile, or was made with chunks over 4MiB; if you trust it, raise the limits with --max-chunk-size",
            ),
        ),
        Error::LimitExceeded { .. } => (FAILURE, "limit_exceeded", None),
        Error::UnsupportedVersion { .. } => (UNSUPPORTED, "unsupported_version", Some(UPGRADE)),
        Error::UnsupportedSuite { .. } => (UNSUPPORTED, "unsupported_suite", Some(UPGRADE)),
        Error::NoSupportedSlot => (UNSUPPORTED, "no_supported_slot", Some(UPGRADE)),
        // Chunks are authenticated before their kind is looked at, so an
        // unknown critical kind comes from a newer writer, not from damage.
        Error::UnknownCriticalChunk { .. } => {
            (UNSUPPORTED, "unknown_critical_chunk", Some(UPGRADE))
        }
        Error::InvalidKey { .. } => (
            USAGE,
            "invalid_key",
            Some(
                "a key file holds 64 hexadecimal characters or 32 raw bytes; make one with `keepsake keygen --out KEYFILE`",
            ),
        ),
        Error::InvalidInput { .. } => (USAGE, "invalid_input", None),
        Error::ConversationInactive { .. } => (FAILURE, "conversation_inactive", None),
        Error::Cancelled => (FAILURE, "cancelled", None),
        Error::Io(error) => match error.kind() {
            ErrorKind::NotFound => (FAILURE, "not_found", None),
            ErrorKind::PermissionDenied => (
                FAILURE,
                "access_denied",
                Some(
                    "for object storage, check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for S3) and that they may use this bucket",
                ),
            ),
            ErrorKind::AlreadyExists => (FAILURE, "exists", None),
            _ => (FAILURE, "io", None),
        },
        Error::Database(_) => (FAILURE, "database", None),
        _ => (FAILURE, "other", None),
    }
}

/// What `--json` prints when a command fails.
#[derive(Serialize)]
struct JsonFailure<'a> {
    ok: bool,
    error: JsonError<'a>,
}

#[derive(Serialize)]
struct JsonError<'a> {
    kind: &'a str,
    exit_code: u8,
    message: &'a str,
    hints: &'a [String],
}

/// Prints a command's outcome and returns its exit status: on success the
/// report (human or JSON) on stdout; on failure the message and hints on
/// stderr, and with `json` also one JSON error object on stdout.
pub fn finish(outcome: Result<Report, Failure>, json: bool) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    let (code, printed) = match outcome {
        Ok(report) => {
            let printed = if json {
                writeln!(stdout, "{}", report.json)
            } else {
                write!(stdout, "{}", report.human)
            };
            let code = match &report.flag {
                Some((code, message)) => {
                    let _ = writeln!(std::io::stderr().lock(), "keepsake: {message}");
                    *code
                }
                None => 0,
            };
            (code, printed)
        }
        Err(failure) => {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "keepsake: {}", failure.message);
            for hint in &failure.hints {
                let _ = writeln!(stderr, "hint: {hint}");
            }
            let printed = if json {
                let object = JsonFailure {
                    ok: false,
                    error: JsonError {
                        kind: failure.kind,
                        exit_code: failure.code,
                        message: &failure.message,
                        hints: &failure.hints,
                    },
                };
                serde_json::to_string(&object)
                    .map_err(std::io::Error::other)
                    .and_then(|text| writeln!(stdout, "{text}"))
            } else {
                Ok(())
            };
            (failure.code, printed)
        }
    };
    match printed.and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::from(code),
        // A closed pipe (`keepsake inspect ... | head -0`) is the reader's
        // choice, not a failure worth a message.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(code),
        Err(error) => {
            eprintln!("keepsake: cannot write the output: {error}");
            ExitCode::from(if code == 0 { FAILURE } else { code })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_archive_failure_has_its_documented_code() {
        let cases = [
            (Error::WrongKey, WRONG_KEY),
            (Error::NotAnArchive, DAMAGED),
            (Error::Truncated { offset: 3 }, DAMAGED),
            (Error::TrailingData { offset: 3 }, DAMAGED),
            (
                Error::Corrupt {
                    chunk: 1,
                    reason: "x".into(),
                },
                DAMAGED,
            ),
            (Error::HeaderCorrupt { reason: "x".into() }, DAMAGED),
            (
                Error::LimitExceeded {
                    what: keepsake::Limit::ChunkSize,
                    value: 2,
                    limit: 1,
                },
                DAMAGED,
            ),
            (Error::UnsupportedVersion { version: 2 }, UNSUPPORTED),
            (Error::UnsupportedSuite { suite: 2 }, UNSUPPORTED),
            (Error::NoSupportedSlot, UNSUPPORTED),
            (
                Error::UnknownCriticalChunk { chunk: 1, kind: 9 },
                UNSUPPORTED,
            ),
            (Error::InvalidKey { reason: "x".into() }, USAGE),
            (Error::Cancelled, FAILURE),
            (Error::UntrustedSignature { reason: "x".into() }, UNTRUSTED),
            (Error::Io(std::io::Error::other("x")), FAILURE),
        ];
        for (error, code) in cases {
            assert_eq!(classify(&error, Direction::Reading).0, code, "{error:?}");
        }
    }
}
