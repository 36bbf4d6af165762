//! Whole-archive operations on files by path: the summary, verification,
//! and import into / create from a SQLite database in the reference schema.

use std::ffi::{c_char, c_void};
use std::fs::File;
use std::path::Path;

use keepsake::crypto::signature::require_signer;
use keepsake::read_summary;
use keepsake_sqlite::{
    CreateOptions, ImportOptions, create_archive, import_archive_with, verify_archive_with,
};

use crate::buffer::{KeepsakeBuffer, check_out, handle, put, text};
use crate::callbacks::{KeepsakeProgressFn, progress};
use crate::options::{KeepsakeOpenOptions, KeepsakeWriteOptions};
use crate::reports::{CreateJson, ImportJson, SummaryJson, VerifyJson, put_if_asked, to_json};
use crate::status::{KeepsakeError, KeepsakeStatus, guard};

/// Reads the header, the metadata chunk and the final chunk of the archive
/// file at `path`, whatever its size (spec §7.2), and stores at `*out` a
/// JSON object: `format_version`, `key_slots`, `archive_bytes`, `metadata`
/// and `trailer` in the test vectors' form, and `signature` (`status`,
/// `signer`). The chunks between are not read, so damage there goes
/// unnoticed: keepsake_archive_verify finds it.
///
/// # Safety
///
/// `path` must be a NUL-terminated string; `options` NULL or a live handle
/// from keepsake_open_options_new; `out` writable storage for a
/// `KeepsakeBuffer`; `error` NULL or writable storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_archive_summary(
    path: *const c_char,
    options: *const KeepsakeOpenOptions,
    out: *mut KeepsakeBuffer,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        check_out(out, "the summary output pointer")?;
        // SAFETY: as the caller promises.
        let path = Path::new(unsafe { text(path, "the archive path") }?);
        // SAFETY: as the caller promises.
        let options = unsafe { handle(options, "the open options") }?;
        let summary = read_summary(File::open(path)?, &options.identities, options.limits)?;
        // SAFETY: checked not NULL; writable as the caller promises.
        unsafe { put(out, to_json(&SummaryJson::of(&summary))?) }
    })
}

/// Reads and authenticates the whole archive file at `path`, exactly as an
/// import would, and writes nothing. On success, when `report` is not NULL,
/// stores there a JSON object: `archive_bytes`, `chunks`, `metadata`,
/// `trailer` and `signature`. A bad signature does not fail verification;
/// the report states it. `on_progress` (may be NULL) is called as the work
/// goes, with `user_data`, and can cancel.
///
/// # Safety
///
/// `path` must be a NUL-terminated string; `options` NULL or a live handle
/// from keepsake_open_options_new; `report` NULL or writable storage for a
/// `KeepsakeBuffer`; `error` NULL or writable storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_archive_verify(
    path: *const c_char,
    options: *const KeepsakeOpenOptions,
    on_progress: KeepsakeProgressFn,
    user_data: *mut c_void,
    report: *mut KeepsakeBuffer,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let path = Path::new(unsafe { text(path, "the archive path") }?);
        // SAFETY: as the caller promises.
        let options = unsafe { handle(options, "the open options") }?;
        let progress = progress(on_progress, user_data);
        let verified = verify_archive_with(path, &options.identities, options.limits, &progress)?;
        if let Some(trusted) = &options.trusted_signer {
            require_signer(&verified.signature, trusted)?;
        }
        // SAFETY: NULL or writable, as the caller promises.
        unsafe {
            put_if_asked(
                report,
                &VerifyJson::of(&verified, options.trusted_signer.as_ref()),
            )
        }
    })
}

/// Imports the archive file at `archive` into the SQLite database at `db`
/// (created, with the reference schema, if it does not exist), all or
/// nothing: on any error, cancellation included, the database is exactly as
/// it was. The import is additive: rows already there are kept, and an
/// archive imported twice inserts nothing the second time. On success, when
/// `report` is not NULL, stores there a JSON object `{"inserted": COUNTS,
/// "skipped": COUNTS}`, each COUNTS `{"conversations", "messages",
/// "consent"}`. `on_progress` (may be NULL) is called with `user_data`, and
/// can cancel.
///
/// # Safety
///
/// `archive` and `db` must be NUL-terminated strings; `options` NULL or a
/// live handle from keepsake_open_options_new; `report` NULL or writable
/// storage for a `KeepsakeBuffer`; `error` NULL or writable storage for a
/// `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_database_import(
    archive: *const c_char,
    options: *const KeepsakeOpenOptions,
    db: *const c_char,
    on_progress: KeepsakeProgressFn,
    user_data: *mut c_void,
    report: *mut KeepsakeBuffer,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let archive = Path::new(unsafe { text(archive, "the archive path") }?);
        // SAFETY: as the caller promises.
        let db = Path::new(unsafe { text(db, "the database path") }?);
        // SAFETY: as the caller promises.
        let options = unsafe { handle(options, "the open options") }?;
        let progress = progress(on_progress, user_data);
        let import_options = ImportOptions {
            progress,
            trusted_signer: options.trusted_signer,
            limits: options.limits,
        };
        let imported = import_archive_with(archive, &options.identities, db, &import_options)?;
        // SAFETY: NULL or writable, as the caller promises.
        unsafe { put_if_asked(report, &ImportJson::of(&imported)) }
    })
}

/// Writes an archive of the SQLite database at `db` (in the reference
/// schema) to a new file at `archive`, as one consistent snapshot, with the
/// key slots, time range, elements, compression and signing key of
/// `options`. A conversation travels with any of its messages that do. The
/// file is written under a temporary name and renamed when complete: on any
/// error, cancellation included, nothing is left under `archive`, and an
/// existing file there is never replaced. On success, when `report` is not
/// NULL, stores there a JSON object: `archive_bytes`, `counts`
/// (`conversations`, `messages`, `consent`), `time_range` (`[first, last]`
/// as decimal strings, or null) and `seek_index`. `on_progress` (may be
/// NULL) is called with `user_data`, and can cancel.
///
/// # Safety
///
/// `db` and `archive` must be NUL-terminated strings; `options` NULL or a
/// live handle from keepsake_write_options_new; `report` NULL or writable
/// storage for a `KeepsakeBuffer`; `error` NULL or writable storage for a
/// `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_database_create_archive(
    db: *const c_char,
    archive: *const c_char,
    options: *const KeepsakeWriteOptions,
    on_progress: KeepsakeProgressFn,
    user_data: *mut c_void,
    report: *mut KeepsakeBuffer,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let db = Path::new(unsafe { text(db, "the database path") }?);
        // SAFETY: as the caller promises.
        let archive = Path::new(unsafe { text(archive, "the archive path") }?);
        // SAFETY: as the caller promises.
        let options = unsafe { handle(options, "the write options") }?;
        let create = CreateOptions {
            start_ns: options.start_ns,
            end_ns: options.end_ns,
            elements: options.elements,
            writer: options.writer.clone(),
            progress: progress(on_progress, user_data),
        };
        let created = create_archive(db, archive, options.recipients()?, &create)?;
        // SAFETY: NULL or writable, as the caller promises.
        unsafe { put_if_asked(report, &CreateJson::of(&created)) }
    })
}
