//! Keepsake archives in object storage: S3 and S3-compatible servers, Google
//! Cloud Storage, Azure Blob Storage and plain HTTP(S), all through the
//! `object_store` crate.
//!
//! The codec core defines what storage must provide ([`keepsake::storage`]);
//! this crate provides it over any [`ObjectStore`]:
//!
//! - [`ObjectSink`], an [`keepsake::ArchiveSink`]: a new archive streams into a
//!   multipart upload, a few parts in memory whatever its size, and the
//!   upload is completed only on commit (after the trailer), aborted on any
//!   error or cancellation, so no object appears under the name unless it
//!   is a whole archive.
//! - [`ObjectStream`], a [`std::io::Read`]: the whole archive as it downloads,
//!   for verify, import and restore, which decode while it arrives.
//! - [`ObjectRanges`], a [`keepsake::RangeRead`]: byte ranges of the archive,
//!   for the summary (`inspect`) and partial imports, which fetch only the
//!   header, the metadata, the seek index, the trailer and the chunks needed.
//!
//! Everything here blocks: requests run on a small runtime of this crate's
//! own (two worker threads, started on first use). Call it from ordinary
//! threads, not from inside an async runtime.
//!
//! ```no_run
//! use keepsake::{ArchiveKey, Progress, RangeReader, Selection, WriteMode};
//! use keepsake_sqlite::{CreateOptions, ImportOptions, ReadTotals};
//! use keepsake_store::{ObjectArchive, StoreOptions};
//!
//! fn main() -> keepsake::Result<()> {
//!     let key = ArchiveKey::from_key_file(&std::fs::read("my.key")?)?;
//!     let db = std::path::Path::new("chat.db");
//!     // Credentials, region and endpoint from AWS_* (or the fields of StoreOptions).
//!     let archive = ObjectArchive::from_url("s3://backups/chat.keepsake", &StoreOptions::default())?;
//!
//!     // Streams into a multipart upload, completed only once the archive is whole.
//!     let mut sink = archive.sink(WriteMode::CreateNew)?;
//!     keepsake_sqlite::create_archive_to(db, &mut sink, &[&key], &CreateOptions::default())?;
//!
//!     // Imports while it downloads; all or nothing, as from a file.
//!     let identities = [key.into()];
//!     let restored = std::path::Path::new("restored.db");
//!     let options = ImportOptions {
//!         progress: Progress::new(|event| eprintln!("{} bytes downloaded", event.bytes_done)),
//!         ..Default::default()
//!     };
//!     keepsake_sqlite::import_archive_from(
//!         archive.stream()?, &identities, restored, &options, ReadTotals::default(),
//!     )?;
//!
//!     // One conversation: the header, metadata, index, trailer and its chunks only.
//!     let mut ranges = RangeReader::new(archive.ranges());
//!     let selection = Selection { conversations: vec![vec![7; 32]], since: None, until: None };
//!     keepsake_sqlite::import_selected_from(
//!         &mut ranges, &identities, restored, &selection, &ImportOptions::default(),
//!     )?;
//!     println!("fetched {} bytes", ranges.bytes_fetched());
//!     Ok(())
//! }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod location;
mod options;
mod read;
mod runtime;
mod write;

pub use error::is_store_error;
pub use location::{ObjectArchive, is_object_url};
pub use object_store;
pub use object_store::ObjectStore;
pub use options::StoreOptions;
pub use read::{ObjectRanges, ObjectStream};
pub use write::ObjectSink;

/// The README's Rust examples, compiled with the crates they use so that
/// they keep up with the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeExamples;
