//! The published test vectors (`test-vectors/`, spec §7.3): every vector built
//! in memory from fixed keys and seeded generators, with the outcome a reader
//! must report, and the files that publish them.
//!
//! `cargo run -p keepsake-vectors --example generate-vectors -- test-vectors`
//! writes the files; `tests/vectors.rs` regenerates them, compares them byte for byte with the
//! committed ones and runs every vector through the reader. This module is
//! not part of the codec's API.
//!
//! Each failure vector carries exactly one defect. Defects that a reader
//! finds only after authentication (a bad trailer, a malformed batch, an
//! unknown kind) are sealed under the vector's own file key through the
//! writer's hidden hooks, so that authentication passes and the defect
//! itself is what the reader reports.

use sha2::{Digest, Sha256};

use keepsake::body::records::{ArchiveMetadata, ArchiveMode, Record, encode_record};
use keepsake::body::salvage_record::SalvageRecord;
use keepsake::crypto::signature::SignatureStatus;
use keepsake::crypto::{ArchiveKey, Identity, Passphrase, X25519Identity};
use keepsake::error::{Error, Limit};
use keepsake::format::{ChunkKind, FLAG_COMPRESSED, Trailer};
use keepsake::limits::Limits;

mod amplification;
mod batch;
mod build;
mod compression;
mod content;
mod duplicates;
mod fixtures;
mod frame;
mod header;
mod index_reads;
mod manifest;
pub mod pages;
mod raw_slots;
mod salvage_records;
mod signatures;
mod slots;
mod trailer;
mod zstd_frames;

use amplification::*;
use batch::*;
use build::*;
use compression::*;
use content::*;
pub use duplicates::{DUPLICATE_CONSENT_ENTITY, DUPLICATE_CONVERSATION, DUPLICATE_MESSAGE_ID};
use fixtures::*;
use frame::*;
use header::*;
pub use manifest::*;
use raw_slots::*;
use trailer::*;
use zstd_frames::*;

/// The key every vector is opened with unless it says otherwise: bytes `00 01 … 1f`.
pub const KEY: [u8; 32] = key_from(0x00);
/// A second key, for archives with several raw-key slots: bytes `20 21 … 3f`.
pub const SECOND_KEY: [u8; 32] = key_from(0x20);
/// A key that opens no vector: bytes `e0 e1 … ff`.
pub const OTHER_KEY: [u8; 32] = key_from(0xe0);

const fn key_from(first: u8) -> [u8; 32] {
    let mut key = [0; 32];
    let mut i = 0;
    while i < 32 {
        key[i] = first + i as u8;
        i += 1;
    }
    key
}

/// `created_at_ns` of every vector's metadata unless the vector is about it.
pub const CREATED_AT_NS: i64 = 1_700_000_000_000_000_000;
/// `creator` of every vector's metadata unless the vector is about it.
pub const CREATOR: &str = "keepsake test vectors";
/// Files whose `records_file` JSON would be larger than this publish only its hash.
const RECORDS_FILE_LIMIT: usize = 64 * 1024;

const MINUTE_NS: i64 = 60_000_000_000;
const DAY_NS: i64 = 24 * 60 * MINUTE_NS;
const SMALL_CHUNK: u32 = keepsake::limits::MIN_CHUNK_SIZE;

/// The one defect of a seek-index vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IndexDefect {
    None,
    LastOffset,
    TrailerOffset,
}

/// What a reader must report for a vector: the vocabulary of spec §7.3, with
/// the parameters of the error where the spec gives it some.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The archive reads successfully.
    Success,
    /// `WrongKey`.
    WrongKey,
    /// `NotAnArchive`, `HeaderCorrupt`, `NoSupportedSlot` or `UnsupportedSuite`.
    HeaderFailure(HeaderError),
    /// `Corrupt{chunk}`.
    ChunkFailure {
        /// The index of the frame where the damage is found.
        chunk: u64,
    },
    /// `Truncated{offset}`: the input ended after `offset` bytes.
    Truncated {
        /// The number of bytes read.
        offset: u64,
    },
    /// `TrailingData{offset}`: bytes follow the final frame.
    TrailingData {
        /// The offset of the first byte after the final frame.
        offset: u64,
    },
    /// `UnsupportedVersion{version}`.
    UnsupportedVersion {
        /// The version the header states.
        version: u16,
    },
    /// `LimitExceeded` on the named limit.
    LimitExceeded {
        /// Which limit.
        limit: Limit,
    },
    /// `UnknownCriticalChunk{chunk, kind}`.
    CriticalUnknownChunk {
        /// The chunk index.
        chunk: u64,
        /// The kind byte.
        kind: u8,
    },
}

/// The errors the `header_failure` outcome groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// `NotAnArchive`.
    NotAnArchive,
    /// `HeaderCorrupt`.
    HeaderCorrupt,
    /// `NoSupportedSlot`.
    NoSupportedSlot,
    /// `UnsupportedSuite{suite}`.
    UnsupportedSuite(u16),
}

impl Outcome {
    /// The outcome word of spec §7.3.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::WrongKey => "wrong_key",
            Outcome::HeaderFailure(_) => "header_failure",
            Outcome::ChunkFailure { .. } => "chunk_failure",
            Outcome::Truncated { .. } => "truncated",
            Outcome::TrailingData { .. } => "trailing_data",
            Outcome::UnsupportedVersion { .. } => "unsupported_version",
            Outcome::LimitExceeded { .. } => "limit_exceeded",
            Outcome::CriticalUnknownChunk { .. } => "critical_unknown_chunk",
        }
    }

    /// The outcome a reader error stands for (spec §10), or `None` for errors
    /// that do not come from the archive's bytes.
    pub fn of_error(error: &Error) -> Option<Outcome> {
        Some(match error {
            Error::NotAnArchive => Outcome::HeaderFailure(HeaderError::NotAnArchive),
            Error::HeaderCorrupt { .. } => Outcome::HeaderFailure(HeaderError::HeaderCorrupt),
            Error::NoSupportedSlot => Outcome::HeaderFailure(HeaderError::NoSupportedSlot),
            Error::UnsupportedSuite { suite } => {
                Outcome::HeaderFailure(HeaderError::UnsupportedSuite(*suite))
            }
            Error::WrongKey => Outcome::WrongKey,
            Error::Corrupt { chunk, .. } => Outcome::ChunkFailure { chunk: *chunk },
            Error::Truncated { offset } => Outcome::Truncated { offset: *offset },
            Error::TrailingData { offset } => Outcome::TrailingData { offset: *offset },
            Error::UnsupportedVersion { version } => {
                Outcome::UnsupportedVersion { version: *version }
            }
            Error::LimitExceeded { what, .. } => Outcome::LimitExceeded { limit: *what },
            Error::UnknownCriticalChunk { chunk, kind } => Outcome::CriticalUnknownChunk {
                chunk: *chunk,
                kind: *kind,
            },
            _ => return None,
        })
    }
}

/// Header facts a reader reports for a vector that reads successfully.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderFacts {
    /// The number of key slots, of any kind.
    pub key_slots: usize,
    /// The declared maximum chunk size.
    pub max_chunk_size: u32,
    /// The declared maximum record size.
    pub max_record_size: u32,
}

/// What a successful read yields besides the records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// Facts from the header.
    pub header: HeaderFacts,
    /// The metadata chunk.
    pub metadata: ArchiveMetadata,
    /// The trailer.
    pub trailer: Trailer,
}

/// One test vector: an archive, the key to try, and what a reader must report.
#[derive(Clone, Debug)]
pub struct Vector {
    /// A unique name; the file is `NAME.keepsake`.
    pub name: String,
    /// One line: what the vector holds, or its single defect.
    pub description: String,
    /// The key to open it with (for `wrong_key`, the key that fails).
    pub key: [u8; 32],
    /// The archive's bytes.
    pub bytes: Vec<u8>,
    /// What a reader must report.
    pub outcome: Outcome,
    /// The records a streaming reader releases before the outcome, in order:
    /// every record for a success, the records of the batches read before the
    /// failure otherwise.
    pub released: Vec<Record>,
    /// For a success: header facts, metadata and trailer.
    pub expected: Option<Expected>,
    /// For an archive whose trailer points to a seek index: what a reader
    /// that opens the archive through the index and then reads every record
    /// batch through it, in chunk order, must report (spec §6.5.4).
    pub seek: Option<Outcome>,
    /// What the reader opens it with; [`VectorOpener::RawKey`] uses `key`.
    pub opener: VectorOpener,
    /// The signature status a reader must report, for the vectors that state one.
    pub signature: Option<SignatureStatus>,
    /// The salvage record a reader that implements it must report (spec
    /// §6.7), for the vectors that state one: `Some(None)` for one that does
    /// not decode.
    pub salvage: Option<Option<SalvageRecord>>,
}

/// The one identity a vector is read with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VectorOpener {
    /// The raw key `Vector::key`.
    RawKey,
    /// A passphrase.
    Passphrase(String),
    /// An X25519 identity, by its 32 secret bytes.
    X25519([u8; 32]),
}

impl Vector {
    fn new(name: &str, description: &str, bytes: Vec<u8>, outcome: Outcome) -> Vector {
        Vector {
            name: name.to_owned(),
            description: description.to_owned(),
            key: KEY,
            bytes,
            outcome,
            released: Vec::new(),
            expected: None,
            seek: None,
            opener: VectorOpener::RawKey,
            signature: None,
            salvage: None,
        }
    }

    /// States the outcome of a read through the seek index.
    fn with_seek(mut self, outcome: Outcome) -> Vector {
        self.seek = Some(outcome);
        self
    }

    fn with_key(mut self, key: [u8; 32]) -> Vector {
        self.key = key;
        self
    }

    fn with_signature(mut self, status: SignatureStatus) -> Vector {
        self.signature = Some(status);
        self
    }

    fn with_salvage(mut self, record: Option<SalvageRecord>) -> Vector {
        self.salvage = Some(record);
        self
    }

    fn with_opener(mut self, opener: VectorOpener) -> Vector {
        self.opener = opener;
        self
    }

    fn with_released(mut self, records: Vec<Record>) -> Vector {
        self.released = records;
        self
    }

    /// The key as the reader takes it.
    pub fn archive_key(&self) -> ArchiveKey {
        ArchiveKey::from_bytes(self.key)
    }

    /// The identities to read the vector with.
    pub fn identities(&self) -> Vec<Identity> {
        vec![match &self.opener {
            VectorOpener::RawKey => self.archive_key().into(),
            VectorOpener::Passphrase(text) => Passphrase::new(text.as_str())
                .expect("vector passphrases are not empty")
                .into(),
            VectorOpener::X25519(secret) => X25519Identity::from_bytes(*secret).into(),
        }]
    }

    /// The archive's file name in `test-vectors/`.
    pub fn file_name(&self) -> String {
        format!("{}.keepsake", self.name)
    }

    fn records_file_name(&self) -> String {
        format!("{}.records.json", self.name)
    }
}

/// SHA-256 over the concatenated canonical encodings of `records` (each
/// record's bytes as they stand in a batch entry, without the entry length):
/// the `released_records_sha256` of the manifest.
pub fn records_sha256(records: &[Record]) -> [u8; 32] {
    let mut digest = Sha256::new();
    for record in records {
        digest.update(encode_record(record).expect("vector records encode"));
    }
    digest.finalize().into()
}

/// The reader limits every vector is read with, which the manifest states
/// (`reader_limits`): the defaults of spec §9, but chunks and records of up
/// to 64 MiB, so that the vectors at and over that chunk-size limit keep the
/// one defect they were made with.
pub fn reader_limits() -> Limits {
    Limits {
        max_chunk_size: READER_CHUNK_LIMIT,
        max_record_size: READER_CHUNK_LIMIT,
        ..Limits::default()
    }
}

/// The chunk-size limit of [`reader_limits`].
const READER_CHUNK_LIMIT: u32 = 64 << 20;

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Every vector, in manifest order.
pub fn all() -> Vec<Vector> {
    let mut out = Vec::new();
    content_vectors(&mut out);
    chunking_vectors(&mut out);
    compression_vectors(&mut out);
    extension_vectors(&mut out);
    key_slot_vectors(&mut out);
    let base = base_build("base").finish();
    assert_eq!(
        base.frame(TARGET).flags,
        FLAG_COMPRESSED,
        "the target chunk must be stored compressed"
    );
    header_vectors(&base, &mut out);
    frame_vectors(&base, &mut out);
    placement_vectors(&mut out);
    batch_vectors(&mut out);
    trailer_vectors(&mut out);
    end_vectors(&base, &mut out);
    pages::page_vectors(&mut out);
    slots::vectors(&mut out);
    signatures::vectors(&mut out);
    salvage_records::vectors(&mut out);
    duplicates::vectors(&mut out);
    index_reads::vectors(&mut out);
    amplification_vectors(&mut out);
    let mut names: Vec<&str> = out.iter().map(|v| v.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), out.len(), "vector names must be unique");
    out
}
