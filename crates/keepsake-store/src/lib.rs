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
