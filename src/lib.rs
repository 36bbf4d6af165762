//! Keepsake: a streaming archive format for encrypted, portable messaging
//! backups, and its reference codec.
//!
//! The layers, bottom up: [`format`](mod@format) (the bytes), [`crypto`] (key schedule,
//! key slots, frame sealing), [`compress`], [`records`], the sans-I/O
//! [`decoder`] with its blocking [`reader`], the [`writer`], and the SQLite
//! adapters on top. The normative text is `spec/keepsake-v1.md`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod atomic;
pub mod compress;
mod content;
pub mod crypto;
pub mod decoder;
pub mod edit;
pub mod error;
pub mod format;
pub mod index;
pub mod keytext;
pub mod limits;
pub mod pages;
mod pipeline;
pub mod progress;
pub mod reader;
pub mod records;
pub mod salvage;
pub mod seek;
pub mod select;
pub mod signature;
pub mod slots;
pub mod writer;

pub use crypto::{ArchiveKey, Identity};
pub use decoder::{Decoder, Event};
pub use edit::{SlotInfo, SlotSelector, add_slot, list_slots, remove_slot};
pub use error::{Error, Limit, Result};
pub use limits::Limits;
pub use progress::{Phase, Progress, ProgressEvent};
pub use reader::{ArchiveReader, ArchiveSummary, Item, read_summary};
pub use records::{
    ArchiveMetadata, ArchiveMode, Consent, ConsentEntityType, ConsentState, Conversation,
    ConversationKind, DeliveryStatus, Elements, Message, MessageKind, Record,
};
pub use salvage::{SalvageReport, salvage_archive};
pub use seek::{SeekReport, SeekableArchive};
pub use select::Selection;
pub use signature::{SignatureStatus, Signer, SigningKey};
pub use slots::{Argon2Params, Opener, Passphrase, Recipient, X25519Identity, X25519Recipient};
pub use writer::{ArchiveWriter, WriterOptions};
pub mod estimate;
pub use estimate::{SizeEstimate, estimate_archive};
pub mod sample;
pub mod snapshot;
pub use snapshot::{
    PageArchiveOptions, PageArchiveReport, RestoreOptions, RestoreReport, create_page_archive,
    estimate_page_archive, restore_database,
};
pub mod sqlite;
pub use sqlite::{
    CreateOptions, ImportReport, archive_metadata, create_archive, import_archive, verify_archive,
};
#[doc(hidden)]
pub mod vectors;
