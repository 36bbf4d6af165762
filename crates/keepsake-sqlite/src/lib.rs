//! The SQLite adapter: a reference schema, archives created from a consistent
//! snapshot of a database, and atomic, additive import of an archive into one.
//!
//! The streaming core ([`ArchiveWriter`], [`ArchiveReader`]) knows nothing of
//! SQLite; this module maps its [`Record`]s to and from the tables of
//! [`REFERENCE_SCHEMA`]. An application whose own tables differ can copy this
//! module's queries, or feed the core directly.

mod create;
pub mod estimate;
mod files;
mod import;
mod order;
mod rows;
pub mod sample;
mod schema;
mod selection;
pub mod snapshot;
mod window;

pub use create::{CreateReport, create_archive, create_archive_to};
pub use estimate::{SizeEstimate, estimate_archive};
pub use import::{
    CONSENT_CLOCK_SKEW_NS, ImportOptions, ImportReport, KindCounts, PartialImportReport,
    ReadTotals, VerifyReport, archive_metadata, archive_metadata_with, import_archive,
    import_archive_from, import_archive_with, import_selected, import_selected_from,
    plan_full_read, verify_archive, verify_archive_from, verify_archive_with,
};
pub use rows::{insert_message, is_active};
pub use schema::{REFERENCE_SCHEMA, open_database};
pub use selection::CreateOptions;
pub use snapshot::{
    PageArchiveOptions, PageArchiveReport, RestoreOptions, RestoreReport, create_page_archive,
    create_page_archive_to, estimate_page_archive, restore_database, restore_database_from,
};

/// Turns the database library's errors into [`keepsake::Error::Database`].
pub trait DbResult<T> {
    /// This result, its error as a [`keepsake::Error::Database`].
    fn db(self) -> keepsake::Result<T>;
}

impl<T> DbResult<T> for rusqlite::Result<T> {
    fn db(self) -> keepsake::Result<T> {
        self.map_err(keepsake::Error::database)
    }
}
