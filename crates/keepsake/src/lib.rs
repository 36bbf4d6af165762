//! Keepsake: a streaming archive format for encrypted, portable messaging
//! backups, and its reference codec.
//!
//! This crate is the codec core: it knows the bytes, the keys and the streams,
//! and nothing of SQLite, command lines or any particular storage. The layers,
//! bottom up, follow the spec (`spec/keepsake-v1.md`):
//!
//! - [`format`](mod@format): the byte layout of headers, slot entries, frame
//!   headers and the trailer (§3, §4.1, §5.1, §6.6.1);
//! - [`crypto`]: the key schedule, key slots of every kind, frame sealing and
//!   signatures (§4, §5.2–§5.3, §6.6.3);
//! - [`body`]: what frames carry: compression, metadata and record batches,
//!   page batches, the seek index and the trailer's commitments (§5.4, §6);
//! - [`stream`]: the sans-I/O [`Decoder`], the blocking [`ArchiveReader`] and
//!   the [`ArchiveWriter`] (§7, §8);
//! - [`seek`]: random access through the seek index, and partial reads
//!   (§6.5.4); [`edit`]: key slot editing (§4.6); [`rekey`]: a copy under a
//!   new file key, which revokes (§11.3); [`salvage`]: recovery of damaged
//!   archives (§7.4, §6.7);
//! - [`storage`]: what a storage back end implements — a sink that commits
//!   or aborts a new archive, and ranged reads of an existing one.
//!
//! [`json`] defines the JSON form of records, metadata and trailers that
//! other languages exchange (`test-vectors/README.md`).
//!
//! Features: `parallel` (default) seals and opens chunks on worker threads;
//! `fs` (default) adds the helpers that work on files by path.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod body;
pub mod crypto;
pub mod edit;
pub mod error;
pub mod format;
pub mod json;
pub mod limits;
pub mod progress;
pub mod rekey;
pub mod salvage;
pub mod seek;
pub mod storage;
pub mod stream;

#[cfg(feature = "fs")]
pub mod atomic;

pub use body::records::{
    ArchiveMetadata, ArchiveMode, Consent, ConsentEntityType, ConsentState, Conversation,
    ConversationKind, DeliveryStatus, Elements, Message, MessageKind, Record,
};
pub use crypto::signature::{SignatureStatus, Signer, SigningKey};
pub use crypto::slots::{
    Argon2Params, Opener, Passphrase, Recipient, X25519Identity, X25519Recipient,
};
pub use crypto::{ArchiveKey, Identity, KeyFileForm, OpenedKey, OpenedWith};
pub use edit::{SlotChange, SlotInfo, SlotSelector, edit_slots, read_slots};
#[cfg(feature = "fs")]
pub use edit::{add_slot, list_slots, remove_slot};
pub use error::{Error, Limit, Result};
pub use limits::Limits;
pub use progress::{Phase, Progress, ProgressEvent};
#[cfg(feature = "fs")]
pub use rekey::rekey_archive;
pub use rekey::{RekeyReport, rekey};
#[cfg(feature = "fs")]
pub use salvage::salvage_archive;
pub use salvage::{SalvageReport, salvage};
pub use seek::select::Selection;
pub use seek::{SeekReport, SeekableArchive};
#[cfg(feature = "fs")]
pub use storage::FileSink;
pub use storage::{ArchiveSink, RangeRead, RangeReader, WriteMode};
pub use stream::decoder::{Decoder, Event};
pub use stream::reader::{ArchiveReader, ArchiveSummary, Item, read_summary};
pub use stream::writer::{ArchiveWriter, WriterOptions};
