//! The calls of the archive-backup API messaging SDKs document, on SQLite
//! databases in the reference schema: create, read the metadata, import,
//! and verify.

use std::path::PathBuf;

use pyo3::prelude::*;

use keepsake::crypto::signature::{Signer, require_signer};
use keepsake_sqlite::CreateOptions;

use crate::errors::{IntoPy, Raised};
use crate::keys::{SigningKey, identities, recipients};
use crate::options::WriteOptions;
use crate::progress::progress;
use crate::reports::{ArchiveSummary, CreateReport, ImportReport, VerifyReport};

/// Writes an archive of the database `db` (reference schema) to a new file
/// at `path`, which `key` opens (one key or a list: one slot each), as one
/// consistent snapshot. `start` (inclusive) and `end` (exclusive) select
/// messages by send time (int nanoseconds or a datetime with a time zone); a
/// conversation travels with any of its messages that do. `elements` is
/// `("messages", "consent")`, either or both. Nothing is left at `path` on
/// any error or cancellation, and an existing file is never replaced.
#[pyfunction]
#[pyo3(signature = (db, path, key, *, start=None, end=None, elements=None, progress=None, level=None, chunk_size=None, signing_key=None, threads=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn create_archive(
    py: Python<'_>,
    db: PathBuf,
    path: PathBuf,
    key: &Bound<'_, PyAny>,
    start: Option<&Bound<'_, PyAny>>,
    end: Option<&Bound<'_, PyAny>>,
    elements: Option<&Bound<'_, PyAny>>,
    progress: Option<Py<PyAny>>,
    level: Option<i32>,
    chunk_size: Option<u32>,
    signing_key: Option<&Bound<'_, SigningKey>>,
    threads: Option<usize>,
) -> PyResult<CreateReport> {
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
    let raised = Raised::default();
    let create = CreateOptions {
        start_ns: options.start_ns,
        end_ns: options.end_ns,
        elements: options.elements,
        writer: options.writer,
        progress: self::progress(progress, &raised),
    };
    let created = py.detach(|| keepsake_sqlite::create_archive(&db, &path, &recipients, &create));
    CreateReport::of(py, &raised.result(created)?)
}

/// Reads the header, the metadata chunk and the trailer of the archive at
/// `path`, whatever its size; the chunks between are not read, so damage
/// there goes unnoticed (`verify_archive` finds it).
#[pyfunction]
pub(crate) fn archive_metadata(
    py: Python<'_>,
    path: PathBuf,
    key: &Bound<'_, PyAny>,
) -> PyResult<ArchiveSummary> {
    let identities = identities(key)?;
    let summary = py
        .detach(|| keepsake_sqlite::archive_metadata(&path, &identities))
        .py()?;
    ArchiveSummary::of(py, &summary)
}

/// Imports the archive at `path` into the database `db` (created with the
/// reference schema if needed), all or nothing: after any error or a
/// cancellation the database is exactly as it was. Additive: rows already
/// there are kept, so importing twice inserts nothing the second time. With
/// `trusted_signer` (`keepsakesig1...`), an archive not validly signed by it
/// (scheme 2) raises UntrustedSignatureError and nothing is imported.
#[pyfunction]
#[pyo3(signature = (path, key, db, *, progress=None, trusted_signer=None))]
pub(crate) fn import_archive(
    py: Python<'_>,
    path: PathBuf,
    key: &Bound<'_, PyAny>,
    db: PathBuf,
    progress: Option<Py<PyAny>>,
    trusted_signer: Option<&str>,
) -> PyResult<ImportReport> {
    let identities = identities(key)?;
    let trusted_signer = signer(trusted_signer)?;
    let raised = Raised::default();
    let progress = self::progress(progress, &raised);
    let options = keepsake_sqlite::ImportOptions {
        progress,
        trusted_signer,
        ..keepsake_sqlite::ImportOptions::default()
    };
    let imported =
        py.detach(|| keepsake_sqlite::import_archive_with(&path, &identities, &db, &options));
    ImportReport::of(py, &raised.result(imported)?)
}

/// Reads and authenticates the whole archive at `path`, as an import would,
/// and writes nothing. With `trusted_signer`, an archive intact but not
/// validly signed by it raises UntrustedSignatureError.
#[pyfunction]
#[pyo3(signature = (path, key, *, progress=None, trusted_signer=None))]
pub(crate) fn verify_archive(
    py: Python<'_>,
    path: PathBuf,
    key: &Bound<'_, PyAny>,
    progress: Option<Py<PyAny>>,
    trusted_signer: Option<&str>,
) -> PyResult<VerifyReport> {
    let identities = identities(key)?;
    let trusted_signer = signer(trusted_signer)?;
    let raised = Raised::default();
    let progress = self::progress(progress, &raised);
    let verified = py.detach(|| {
        keepsake_sqlite::verify_archive_with(
            &path,
            &identities,
            keepsake::Limits::default(),
            &progress,
        )
    });
    let verified = raised.result(verified)?;
    if let Some(trusted) = &trusted_signer {
        require_signer(&verified.signature, trusted).py()?;
    }
    VerifyReport::of(py, &verified, trusted_signer.as_ref())
}

/// The signer a verify or import requires, from its text `keepsakesig1...`.
fn signer(text: Option<&str>) -> PyResult<Option<Signer>> {
    text.map(|text| text.parse::<Signer>()).transpose().py()
}
