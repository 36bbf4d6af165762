//! The Python package of Keepsake, `import keepsake`: the archive-backup
//! calls of messaging SDKs on SQLite databases in the reference schema
//! (`create_archive`, `archive_metadata`, `import_archive`, `verify_archive`)
//! and a record-level `ArchiveWriter` and `ArchiveReader` for applications
//! with their own schema, all calling the same Rust core.
//!
//! Built into a wheel by maturin (`pyproject.toml`); tested from Python
//! (`tests/`). Long work runs with the interpreter released.

mod archive;
mod errors;
mod files;
mod keys;
mod options;
mod progress;
mod reader;
mod records;
mod reports;
mod writer;

use pyo3::prelude::*;

/// The native part of the `keepsake` package; `keepsake/__init__.py`
/// re-exports everything.
#[pymodule]
#[pyo3(name = "_keepsake")]
fn keepsake_python(module: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(module)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_function(wrap_pyfunction!(archive::create_archive, module)?)?;
    module.add_function(wrap_pyfunction!(archive::archive_metadata, module)?)?;
    module.add_function(wrap_pyfunction!(archive::import_archive, module)?)?;
    module.add_function(wrap_pyfunction!(archive::verify_archive, module)?)?;
    module.add_function(wrap_pyfunction!(records::encode_record, module)?)?;
    module.add_class::<writer::ArchiveWriter>()?;
    module.add_class::<reader::ArchiveReader>()?;
    module.add_class::<keys::Passphrase>()?;
    module.add_class::<keys::X25519Identity>()?;
    module.add_class::<keys::X25519Recipient>()?;
    module.add_class::<keys::SigningKey>()?;
    module.add_class::<progress::ProgressEvent>()?;
    module.add_class::<reports::ArchiveMetadata>()?;
    module.add_class::<reports::Trailer>()?;
    module.add_class::<reports::Signature>()?;
    module.add_class::<reports::ArchiveSummary>()?;
    module.add_class::<reports::VerifyReport>()?;
    module.add_class::<reports::ImportReport>()?;
    module.add_class::<reports::CreateReport>()?;
    module.add_class::<reports::Counts>()?;
    Ok(())
}
