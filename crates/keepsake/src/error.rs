//! The one error type of the public API.
//!
//! Every variant is something a caller can act on: ask for another key
//! ([`Error::WrongKey`]), tell the user the file is damaged ([`Error::Corrupt`],
//! [`Error::Truncated`]), or upgrade ([`Error::UnsupportedVersion`]). Messages
//! never contain key material.

use std::{fmt, io};

/// The limits a reader or writer enforces; named in [`Error::LimitExceeded`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// The largest chunk body (decompressed) a header may declare or a frame may carry.
    ChunkSize,
    /// The largest single encoded record.
    RecordSize,
    /// The largest decoded size of a record batch or a seek index (spec §6.3.1).
    DecodedSize,
    /// Argon2 memory of a passphrase slot, in KiB.
    Argon2Memory,
    /// Argon2 passes of a passphrase slot.
    Argon2Passes,
    /// Argon2 lanes of a passphrase slot.
    Argon2Lanes,
    /// Passphrase slots in one header that a reader computes.
    PassphraseSlots,
}

impl Limit {
    /// The limit's name in the test vectors' manifest and in machine-readable
    /// reports: `chunk_size`, `record_size`, `argon2_memory`, …
    pub fn code(&self) -> &'static str {
        match self {
            Limit::ChunkSize => "chunk_size",
            Limit::RecordSize => "record_size",
            Limit::DecodedSize => "decoded_size",
            Limit::Argon2Memory => "argon2_memory",
            Limit::Argon2Passes => "argon2_passes",
            Limit::Argon2Lanes => "argon2_lanes",
            Limit::PassphraseSlots => "passphrase_slots",
        }
    }

    /// What the limit counts.
    pub fn unit(&self) -> &'static str {
        match self {
            Limit::ChunkSize | Limit::RecordSize | Limit::DecodedSize => "bytes",
            Limit::Argon2Memory => "KiB",
            Limit::Argon2Passes => "passes",
            Limit::Argon2Lanes => "lanes",
            Limit::PassphraseSlots => "slots",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::ChunkSize => "chunk size",
            Limit::RecordSize => "record size",
            Limit::DecodedSize => "a batch's decoded size",
            Limit::Argon2Memory => "a passphrase slot's Argon2 memory",
            Limit::Argon2Passes => "a passphrase slot's Argon2 pass count",
            Limit::Argon2Lanes => "a passphrase slot's Argon2 lane count",
            Limit::PassphraseSlots => "the number of passphrase slots",
        })
    }
}

/// Everything that can go wrong while writing, reading or importing an archive.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input does not start with the Keepsake magic number.
    #[error("this is not a Keepsake archive (it does not start with the Keepsake signature)")]
    NotAnArchive,

    /// The archive was written in a format version this reader does not know.
    #[error(
        "this archive uses format version {version}, which this version of Keepsake cannot read (it reads version {})",
        crate::format::FORMAT_VERSION
    )]
    UnsupportedVersion {
        /// The version found in the header.
        version: u16,
    },

    /// The archive uses a cipher suite this reader does not know.
    #[error("this archive uses cipher suite {suite}, which this version of Keepsake cannot read")]
    UnsupportedSuite {
        /// The suite identifier found in the header.
        suite: u16,
    },

    /// No key slot in the header is of a kind this reader can open.
    #[error(
        "this archive can only be opened with a kind of key this version of Keepsake does not support"
    )]
    NoSupportedSlot,

    /// The key given opens none of the archive's key slots.
    #[error("the key does not open this archive (wrong key?)")]
    WrongKey,

    /// The header is structurally invalid or fails authentication.
    #[error("the archive header is damaged: {reason}")]
    HeaderCorrupt {
        /// What is wrong, in words.
        reason: String,
    },

    /// A chunk fails authentication or holds content that breaks the format's rules.
    #[error("the archive is damaged at chunk {chunk}: {reason}")]
    Corrupt {
        /// The zero-based index of the chunk (frame) where the damage was found.
        chunk: u64,
        /// What is wrong, in words.
        reason: String,
    },

    /// The input ended before the archive's final chunk.
    #[error("the archive is truncated: it ends after {offset} bytes, before its final chunk")]
    Truncated {
        /// How many bytes were read before the end.
        offset: u64,
    },

    /// Bytes follow the archive's final chunk.
    #[error("the archive has unexpected data after its final chunk, at byte {offset}")]
    TrailingData {
        /// The offset of the first byte after the final chunk.
        offset: u64,
    },

    /// A declared or actual size is over a limit, caught before allocating for it.
    #[error(
        "{what} of {value} {} is {} {limit} {}",
        what.unit(),
        if value > limit { "over the limit of" } else { "below the minimum of" },
        what.unit()
    )]
    LimitExceeded {
        /// Which limit.
        what: Limit,
        /// The size found.
        value: u64,
        /// The limit in force.
        limit: u64,
    },

    /// A chunk of an unknown kind that is not marked ignorable.
    #[error(
        "chunk {chunk} has kind {kind:#04x}, which this version of Keepsake does not know and must not skip"
    )]
    UnknownCriticalChunk {
        /// The zero-based chunk index.
        chunk: u64,
        /// The kind byte.
        kind: u8,
    },

    /// A key file or key string is not 32 bytes or 64 hex characters.
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// What is wrong with it.
        reason: String,
    },

    /// The caller asked for something the format or the adapter cannot do
    /// (records out of dependency order, an option out of range, …).
    #[error("{reason}")]
    InvalidInput {
        /// What is wrong, in words.
        reason: String,
    },

    /// A message was written into a conversation restored from an archive and not yet reactivated.
    #[error(
        "conversation {id} is inactive: it was restored from a backup and is read-only until this installation is added back to it"
    )]
    ConversationInactive {
        /// The conversation id, in hex.
        id: String,
    },

    /// The archive is intact but not signed, validly, by the signer the
    /// caller trusts (spec §6.6.3).
    #[error("the archive is not signed by the trusted signer: {reason}")]
    UntrustedSignature {
        /// What the signature block holds instead.
        reason: String,
    },

    /// The operation was cancelled through its progress handle.
    #[error("the operation was cancelled")]
    Cancelled,

    /// Reading or writing a file or stream failed.
    #[error("{0}")]
    Io(#[from] io::Error),

    /// The database an adapter reads or writes refused an operation; the
    /// source is the database library's own error.
    #[error("database error: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl Error {
    /// A [`Error::HeaderCorrupt`] for `reason`.
    pub fn header(reason: impl Into<String>) -> Self {
        Error::HeaderCorrupt {
            reason: reason.into(),
        }
    }

    /// A [`Error::Corrupt`] at `chunk` for `reason`.
    pub fn corrupt(chunk: u64, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            chunk,
            reason: reason.into(),
        }
    }

    /// An [`Error::Database`] from a database library's error.
    pub fn database(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Database(Box::new(error))
    }

    /// An [`Error::InvalidInput`] for `reason`.
    pub fn invalid(reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            reason: reason.into(),
        }
    }
}

impl From<Error> for io::Error {
    fn from(error: Error) -> Self {
        match error {
            Error::Io(inner) => inner,
            Error::Truncated { .. } => io::Error::new(io::ErrorKind::UnexpectedEof, error),
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
