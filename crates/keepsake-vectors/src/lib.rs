//! The published test vectors (`test-vectors/`, spec §7.3): every vector built
//! in memory from fixed keys and seeded generators, with the outcome a reader
//! must report, and the files that publish them.
//!
//! `cargo run --example generate-vectors -- test-vectors` writes the files;
//! `tests/vectors.rs` regenerates them, compares them byte for byte with the
//! committed ones and runs every vector through the reader. This module is
//! not part of the codec's API.
//!
//! Each failure vector carries exactly one defect. Defects that a reader
//! finds only after authentication (a bad trailer, a malformed batch, an
//! unknown kind) are sealed under the vector's own file key through the
//! writer's crate-private hooks, so that authentication passes and the defect
//! itself is what the reader reports.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};

use keepsake::body::records::{
    ArchiveMetadata, ArchiveMode, BatchBuilder, Consent, ConsentEntityType, ConsentState,
    Conversation, ConversationKind, DeliveryStatus, Elements, Message, MessageKind, Record,
    encode_record,
};
use keepsake::crypto::signature::SignatureStatus;
use keepsake::crypto::{ArchiveKey, Identity, Passphrase, Recipient, X25519Identity, seal_header};
use keepsake::error::{Error, Limit};
use keepsake::format::{
    CHECK_LEN, ChunkKind, FLAG_COMPRESSED, FLAG_FINAL, FRAME_HEADER_LEN, Header, HeaderLen,
    SlotEntry, TRAILER_LEN, Trailer, check_value, slot_kind,
};
use keepsake::limits::DEFAULT_MAX_CHUNK_SIZE;
use keepsake::stream::writer::{ArchiveWriter, WriterOptions};

pub mod pages;

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

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

// ---------------------------------------------------------------------------
// JSON forms, as `test-vectors/README.md` defines them. Typed structs, so the
// key order is the field order whatever serde_json's map type.

/// A record as the `NAME.records.json` files write it.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RecordJson {
    /// A conversation.
    Conversation {
        /// Hex.
        id: String,
        /// `group` or `dm`.
        kind: &'static str,
        /// Decimal string.
        created_at_ns: String,
        /// Text or null.
        name: Option<String>,
        /// Text or null.
        dm_peer: Option<String>,
        /// Text or null.
        added_by: Option<String>,
        /// Texts.
        member_ids: Vec<String>,
        /// Keys in UTF-8 byte order.
        metadata: BTreeMap<String, String>,
        /// Decimal string or null.
        last_message_ns: Option<String>,
    },
    /// A message.
    Message {
        /// Hex.
        id: String,
        /// Hex.
        conversation_id: String,
        /// Text.
        sender_id: String,
        /// Hex.
        sender_installation_id: String,
        /// Decimal string.
        sent_at_ns: String,
        /// `application` or `membership_change`.
        kind: &'static str,
        /// Text.
        content_type: String,
        /// Hex.
        content: String,
        /// `published`, `unpublished` or `failed`.
        delivery_status: &'static str,
        /// Hex or null.
        reference_id: Option<String>,
        /// Decimal string or null.
        expires_at_ns: Option<String>,
    },
    /// A consent preference.
    Consent {
        /// `conversation`, `inbox` or `address`.
        entity_type: &'static str,
        /// Text.
        entity: String,
        /// `unknown`, `allowed` or `denied`.
        state: &'static str,
        /// Decimal string.
        updated_at_ns: String,
    },
}

impl RecordJson {
    /// The JSON form of `record`.
    pub fn of(record: &Record) -> RecordJson {
        let ns = |value: i64| value.to_string();
        match record {
            Record::Conversation(c) => RecordJson::Conversation {
                id: hex(&c.id),
                kind: match c.kind {
                    ConversationKind::Group => "group",
                    ConversationKind::Dm => "dm",
                },
                created_at_ns: ns(c.created_at_ns),
                name: c.name.clone(),
                dm_peer: c.dm_peer.clone(),
                added_by: c.added_by.clone(),
                member_ids: c.member_ids.clone(),
                metadata: c.metadata.clone(),
                last_message_ns: c.last_message_ns.map(ns),
            },
            Record::Message(m) => RecordJson::Message {
                id: hex(&m.id),
                conversation_id: hex(&m.conversation_id),
                sender_id: m.sender_id.clone(),
                sender_installation_id: hex(&m.sender_installation_id),
                sent_at_ns: ns(m.sent_at_ns),
                kind: match m.kind {
                    MessageKind::Application => "application",
                    MessageKind::MembershipChange => "membership_change",
                },
                content_type: m.content_type.clone(),
                content: hex(&m.content),
                delivery_status: match m.delivery_status {
                    DeliveryStatus::Published => "published",
                    DeliveryStatus::Unpublished => "unpublished",
                    DeliveryStatus::Failed => "failed",
                },
                reference_id: m.reference_id.as_deref().map(hex),
                expires_at_ns: m.expires_at_ns.map(ns),
            },
            Record::Consent(c) => RecordJson::Consent {
                entity_type: match c.entity_type {
                    ConsentEntityType::Conversation => "conversation",
                    ConsentEntityType::Inbox => "inbox",
                    ConsentEntityType::Address => "address",
                },
                entity: c.entity.clone(),
                state: match c.state {
                    ConsentState::Unknown => "unknown",
                    ConsentState::Allowed => "allowed",
                    ConsentState::Denied => "denied",
                },
                updated_at_ns: ns(c.updated_at_ns),
            },
        }
    }
}

/// The metadata chunk as the manifest writes it.
#[derive(Serialize)]
pub struct MetadataJson {
    /// `records` or `pages`.
    pub mode: &'static str,
    /// Decimal string.
    pub created_at_ns: String,
    /// The requested elements.
    pub elements: ElementsJson,
    /// Decimal string or null.
    pub start_ns: Option<String>,
    /// Decimal string or null.
    pub end_ns: Option<String>,
    /// Text.
    pub creator: String,
}

/// [`Elements`] as the manifest writes it.
#[derive(Serialize)]
pub struct ElementsJson {
    /// Conversations and messages requested.
    pub messages: bool,
    /// Consent requested.
    pub consent: bool,
}

impl MetadataJson {
    /// The JSON form of `metadata`.
    pub fn of(metadata: &ArchiveMetadata) -> MetadataJson {
        MetadataJson {
            mode: match metadata.mode {
                ArchiveMode::Records => "records",
                ArchiveMode::Pages => "pages",
            },
            created_at_ns: metadata.created_at_ns.to_string(),
            elements: ElementsJson {
                messages: metadata.elements.messages,
                consent: metadata.elements.consent,
            },
            start_ns: metadata.start_ns.map(|ns| ns.to_string()),
            end_ns: metadata.end_ns.map(|ns| ns.to_string()),
            creator: metadata.creator.clone(),
        }
    }
}

/// The trailer as the manifest writes it.
#[derive(Serialize)]
pub struct TrailerJson {
    /// N.
    pub chunk_count: u64,
    /// Conversation records.
    pub conversations: u64,
    /// Message records.
    pub messages: u64,
    /// Consent records.
    pub consent: u64,
    /// Pages.
    pub pages: u64,
    /// Sum of body lengths.
    pub plaintext_bytes: u64,
    /// `[first, last]` as decimal strings, or null.
    pub time_range: Option<[String; 2]>,
    /// Hex.
    pub content_digest: String,
    /// The seek index's chunk, 0 if none.
    pub index_chunk: u64,
    /// The seek index's offset, 0 if none.
    pub index_offset: u64,
    /// The 97-byte signature block, hex.
    pub signature_block: String,
}

impl TrailerJson {
    /// The JSON form of `trailer`.
    pub fn of(trailer: &Trailer) -> TrailerJson {
        TrailerJson {
            chunk_count: trailer.chunk_count,
            conversations: trailer.conversations,
            messages: trailer.messages,
            consent: trailer.consent,
            pages: trailer.pages,
            plaintext_bytes: trailer.plaintext_bytes,
            time_range: trailer
                .time_range
                .map(|(first, last)| [first.to_string(), last.to_string()]),
            content_digest: hex(&trailer.content_digest),
            index_chunk: trailer.index_chunk,
            index_offset: trailer.index_offset,
            signature_block: hex(&trailer.signature),
        }
    }
}

#[derive(Serialize)]
struct HeaderJson {
    key_slots: usize,
    max_chunk_size: u32,
    max_record_size: u32,
}

#[derive(Serialize)]
struct EntryJson {
    name: String,
    file: String,
    file_sha256: String,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    passphrase: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<String>,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suite: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chunk: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    released_records: usize,
    released_records_sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    records_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<HeaderJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<MetadataJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trailer: Option<TrailerJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seek_outcome: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seek_chunk: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<SignatureJson>,
}

/// The signature status a reader must report (spec §6.6.3).
#[derive(Serialize)]
struct SignatureJson {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    signer: Option<String>,
}

#[derive(Serialize)]
struct ReaderLimitsJson {
    max_chunk_size: u32,
    max_record_size: u32,
}

#[derive(Serialize)]
struct ManifestJson {
    format: &'static str,
    format_version: u16,
    reader_limits: ReaderLimitsJson,
    vectors: Vec<EntryJson>,
}

/// A JSON file's text: two-space indentation and a final newline.
fn json_text<T: Serialize>(value: &T) -> Vec<u8> {
    let mut text = serde_json::to_vec_pretty(value).expect("vector JSON serialises");
    text.push(b'\n');
    text
}

/// The records file of a success vector, if it is small enough to publish.
fn records_file(vector: &Vector) -> Option<Vec<u8>> {
    if vector.outcome != Outcome::Success {
        return None;
    }
    let records: Vec<RecordJson> = vector.released.iter().map(RecordJson::of).collect();
    let text = json_text(&records);
    (text.len() <= RECORDS_FILE_LIMIT).then_some(text)
}

fn entry(vector: &Vector) -> EntryJson {
    let mut entry = EntryJson {
        name: vector.name.clone(),
        file: vector.file_name(),
        file_sha256: hex(&Sha256::digest(&vector.bytes)),
        description: vector.description.clone(),
        key: (vector.opener == VectorOpener::RawKey).then(|| hex(&vector.key)),
        passphrase: match &vector.opener {
            VectorOpener::Passphrase(text) => Some(text.clone()),
            _ => None,
        },
        identity: match &vector.opener {
            VectorOpener::X25519(secret) => Some(
                X25519Identity::from_bytes(*secret)
                    .to_text()
                    .as_str()
                    .to_owned(),
            ),
            _ => None,
        },
        outcome: vector.outcome.word(),
        error: None,
        suite: None,
        chunk: None,
        kind: None,
        limit: None,
        version: None,
        offset: None,
        released_records: vector.released.len(),
        released_records_sha256: hex(&records_sha256(&vector.released)),
        records_file: records_file(vector).map(|_| vector.records_file_name()),
        header: None,
        metadata: None,
        trailer: None,
        seek_outcome: vector.seek.map(|outcome| outcome.word()),
        seek_chunk: match vector.seek {
            Some(Outcome::ChunkFailure { chunk }) => Some(chunk),
            _ => None,
        },
        signature: vector.signature.map(|status| SignatureJson {
            status: status.word(),
            signer: status.signer().map(|signer| signer.to_string()),
        }),
    };
    match vector.outcome {
        Outcome::Success | Outcome::WrongKey => {}
        Outcome::HeaderFailure(error) => {
            entry.error = Some(match error {
                HeaderError::NotAnArchive => "not_an_archive",
                HeaderError::HeaderCorrupt => "header_corrupt",
                HeaderError::NoSupportedSlot => "no_supported_slot",
                HeaderError::UnsupportedSuite(suite) => {
                    entry.suite = Some(suite);
                    "unsupported_suite"
                }
            })
        }
        Outcome::ChunkFailure { chunk } => entry.chunk = Some(chunk),
        Outcome::Truncated { offset } | Outcome::TrailingData { offset } => {
            entry.offset = Some(offset)
        }
        Outcome::UnsupportedVersion { version } => entry.version = Some(version),
        Outcome::LimitExceeded { limit } => entry.limit = Some(limit.code()),
        Outcome::CriticalUnknownChunk { chunk, kind } => {
            entry.chunk = Some(chunk);
            entry.kind = Some(kind);
        }
    }
    if let Some(expected) = &vector.expected {
        entry.header = Some(HeaderJson {
            key_slots: expected.header.key_slots,
            max_chunk_size: expected.header.max_chunk_size,
            max_record_size: expected.header.max_record_size,
        });
        entry.metadata = Some(MetadataJson::of(&expected.metadata));
        entry.trailer = Some(TrailerJson::of(&expected.trailer));
    }
    entry
}

/// Every file of `test-vectors/` but its README: name and contents.
pub fn files(vectors: &[Vector]) -> Vec<(String, Vec<u8>)> {
    let manifest = ManifestJson {
        format: "keepsake-test-vectors",
        format_version: keepsake::format::FORMAT_VERSION,
        reader_limits: ReaderLimitsJson {
            max_chunk_size: DEFAULT_MAX_CHUNK_SIZE,
            max_record_size: DEFAULT_MAX_CHUNK_SIZE,
        },
        vectors: vectors.iter().map(entry).collect(),
    };
    let mut out = vec![("manifest.json".to_owned(), json_text(&manifest))];
    for vector in vectors {
        out.push((vector.file_name(), vector.bytes.clone()));
        if let Some(text) = records_file(vector) {
            out.push((vector.records_file_name(), text));
        }
    }
    out
}

/// Whether `name` is a file the generator writes (as opposed to the README).
pub fn is_generated(name: &str) -> bool {
    name == "manifest.json" || name.ends_with(".keepsake") || name.ends_with(".records.json")
}

/// Writes every vector file into `dir`, creating it if needed, and removes
/// generated files left there by vectors that no longer exist.
pub fn publish(vectors: &[Vector], dir: &Path) -> io::Result<usize> {
    fs::create_dir_all(dir)?;
    let files = files(vectors);
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_generated(&name) && !files.iter().any(|(file, _)| *file == name) {
            fs::remove_file(entry.path())?;
        }
    }
    for (name, contents) in &files {
        fs::write(dir.join(name), contents)?;
    }
    Ok(files.len())
}

// ---------------------------------------------------------------------------
// Building archives.

/// The deterministic generator for the vector (or base archive) `name`.
fn rng(name: &str) -> ChaCha20Rng {
    ChaCha20Rng::from_seed(Sha256::digest(format!("keepsake test vector {name}")).into())
}

fn key(bytes: [u8; 32]) -> ArchiveKey {
    ArchiveKey::from_bytes(bytes)
}

fn metadata() -> ArchiveMetadata {
    ArchiveMetadata {
        mode: ArchiveMode::Records,
        created_at_ns: CREATED_AT_NS,
        elements: Elements::default(),
        start_ns: None,
        end_ns: None,
        creator: CREATOR.to_owned(),
    }
}

fn options(chunk_size: u32, level: i32) -> WriterOptions {
    WriterOptions {
        chunk_size,
        level,
        ..WriterOptions::default()
    }
}

fn small() -> WriterOptions {
    options(SMALL_CHUNK, 3)
}

/// An archive being written through the real writer, remembering which
/// records each chunk carries.
struct Build {
    name: String,
    rng: ChaCha20Rng,
    writer: ArchiveWriter<Vec<u8>>,
    header: HeaderFacts,
    metadata: ArchiveMetadata,
    /// The records of each frame written so far, when known.
    chunks: Vec<Vec<Record>>,
    /// Every record written, in order.
    all: Vec<Record>,
    /// Whether `chunks` is exact: false once the writer batched records itself.
    tracked: bool,
}

impl Build {
    /// An archive written through the public constructor with one raw-key
    /// slot per key.
    fn new(name: &str, keys: &[[u8; 32]], options: &WriterOptions) -> Build {
        Build::with_metadata(name, keys, options, metadata())
    }

    fn with_metadata(
        name: &str,
        keys: &[[u8; 32]],
        options: &WriterOptions,
        metadata: ArchiveMetadata,
    ) -> Build {
        let mut build = Build::indexed(name, keys, options, metadata);
        // The published vectors predate the seek index; those that carry one add it by hand.
        build.writer.without_index();
        build
    }

    /// An archive whose writer builds a seek index, which the vector takes
    /// with [`ArchiveWriter::take_index`] and writes as it chooses.
    fn indexed(
        name: &str,
        keys: &[[u8; 32]],
        options: &WriterOptions,
        metadata: ArchiveMetadata,
    ) -> Build {
        let mut rng = rng(name);
        let keys: Vec<ArchiveKey> = keys.iter().copied().map(key).collect();
        let key_refs: Vec<&ArchiveKey> = keys.iter().collect();
        let writer = ArchiveWriter::with_rng(Vec::new(), &key_refs, &metadata, options, &mut rng)
            .expect("vector archives are valid writer input");
        Build {
            name: name.to_owned(),
            rng,
            writer,
            header: HeaderFacts {
                key_slots: keys.len(),
                max_chunk_size: options.chunk_size,
                max_record_size: options.max_record_size(),
            },
            metadata,
            chunks: vec![Vec::new()],
            all: Vec::new(),
            tracked: true,
        }
    }

    /// An archive whose header is sealed with the declared `limits` and
    /// `slots` (key and name), then changed by `edit` and authenticated
    /// again, with no chunk written yet. The body is chunked by `options`.
    fn sealed(
        name: &str,
        limits: (u32, u32),
        slots: &[([u8; 32], &str)],
        options: &WriterOptions,
        edit: impl FnOnce(&mut Header, &mut ChaCha20Rng),
    ) -> Build {
        let recipients: Vec<Recipient> = slots
            .iter()
            .map(|(k, n)| Recipient::raw_key(key(*k)).named(*n))
            .collect();
        Build::sealed_for(name, limits, &recipients, options, edit)
    }

    /// [`Build::sealed`] with slots for any recipients.
    fn sealed_for(
        name: &str,
        limits: (u32, u32),
        recipients: &[Recipient],
        options: &WriterOptions,
        edit: impl FnOnce(&mut Header, &mut ChaCha20Rng),
    ) -> Build {
        let mut rng = rng(name);
        let (mut header, keys) = seal_header(limits, recipients, &mut rng).expect("vector header");
        edit(&mut header, &mut rng);
        header.mac = keys.mac(&header).expect("vector header");
        let mut writer =
            ArchiveWriter::start(Vec::new(), &header, keys, options).expect("vector header");
        writer.without_index();
        Build {
            name: name.to_owned(),
            rng,
            writer,
            header: HeaderFacts {
                key_slots: header.slots.len(),
                max_chunk_size: limits.0,
                max_record_size: limits.1,
            },
            metadata: metadata(),
            chunks: Vec::new(),
            all: Vec::new(),
            tracked: true,
        }
    }

    /// [`Build::sealed`] followed by the usual metadata chunk.
    fn sealed_with_metadata(
        name: &str,
        limits: (u32, u32),
        slots: &[([u8; 32], &str)],
        options: &WriterOptions,
        edit: impl FnOnce(&mut Header, &mut ChaCha20Rng),
    ) -> Build {
        let mut build = Build::sealed(name, limits, slots, options, edit);
        let body = encoded_metadata(&build.metadata);
        build.chunk(ChunkKind::METADATA, body);
        build
    }

    /// Records through the writer's own batching.
    fn records(&mut self, records: &[Record]) {
        for record in records {
            self.writer.write_record(record).expect("vector records");
        }
        self.all.extend_from_slice(records);
        self.tracked = false;
    }

    /// Records as exactly one batch chunk.
    fn batch(&mut self, records: &[Record]) {
        assert!(
            self.tracked,
            "{}: batches after untracked records",
            self.name
        );
        for record in records {
            self.writer.write_record(record).expect("vector records");
        }
        self.writer.flush_batch().expect("vector batch");
        self.all.extend_from_slice(records);
        self.chunks.push(records.to_vec());
    }

    /// A chunk of any kind, compressed when that helps, counted in the trailer.
    fn chunk(&mut self, kind: ChunkKind, body: Vec<u8>) {
        self.writer.flush_batch().expect("vector batch");
        self.writer.write_chunk(kind, body).expect("vector chunk");
        self.chunks.push(Vec::new());
    }

    /// A frame sealed with exactly these kind, flags and stored plaintext,
    /// not counted in the trailer: for chunks the reader must refuse.
    fn frame(&mut self, kind: ChunkKind, flags: u8, stored: Vec<u8>) {
        self.writer.flush_batch().expect("vector batch");
        self.writer
            .write_frame(kind, flags, stored)
            .expect("vector frame");
        self.chunks.push(Vec::new());
    }

    /// A record batch whose stored plaintext `store` makes from its body,
    /// counted in the trailer like any batch: for compressed forms the
    /// writer's compressor does not produce.
    fn batch_stored(
        &mut self,
        records: &[Record],
        flags: u8,
        store: impl FnOnce(&[u8]) -> Vec<u8>,
    ) {
        self.writer.flush_batch().expect("vector batch");
        let body = batch_body(records);
        let tally = self.writer.tally_mut();
        tally.add_chunk(ChunkKind::RECORDS, &body);
        for record in records {
            assert!(tally.check_order(record).is_ok(), "{}: order", self.name);
            tally.add_record(record);
        }
        self.writer
            .write_frame(ChunkKind::RECORDS, flags, store(&body))
            .expect("vector frame");
        self.all.extend_from_slice(records);
        self.chunks.push(records.to_vec());
    }

    /// The trailer that would end the archive now.
    fn trailer(&mut self) -> Trailer {
        self.writer.trailer().expect("vector trailer")
    }

    fn finish(self) -> Built {
        self.finish_with(|_| {})
    }

    /// Ends the archive with the trailer the writer would write, changed by `edit`.
    fn finish_with(mut self, edit: impl FnOnce(&mut Trailer)) -> Built {
        let mut trailer = self.trailer();
        edit(&mut trailer);
        let stored = trailer.to_bytes().to_vec();
        self.end(ChunkKind::TRAILER, FLAG_FINAL, stored, trailer)
    }

    /// Ends the archive with a final frame made by `make` from the trailer the
    /// writer would write.
    fn finish_raw(
        mut self,
        kind: ChunkKind,
        flags: u8,
        make: impl FnOnce(&Trailer) -> Vec<u8>,
    ) -> Built {
        let trailer = self.trailer();
        let stored = make(&trailer);
        self.end(kind, flags, stored, trailer)
    }

    fn end(mut self, kind: ChunkKind, flags: u8, stored: Vec<u8>, trailer: Trailer) -> Built {
        self.writer
            .write_frame(kind, flags, stored)
            .expect("vector frame");
        let bytes = self.writer.into_sink().expect("vector sink");
        let built = Built {
            name: self.name,
            frames: frames(&bytes),
            bytes,
            header: self.header,
            metadata: self.metadata,
            chunks: self.chunks,
            all: self.all,
            tracked: self.tracked,
            trailer,
        };
        if built.tracked {
            assert_eq!(
                built.frames.len(),
                built.chunks.len() + 1,
                "{}: a batch did not fit one chunk",
                built.name
            );
        }
        built
    }
}

/// A finished archive and what went into it.
#[derive(Clone)]
struct Built {
    name: String,
    bytes: Vec<u8>,
    frames: Vec<Span>,
    header: HeaderFacts,
    metadata: ArchiveMetadata,
    chunks: Vec<Vec<Record>>,
    all: Vec<Record>,
    tracked: bool,
    trailer: Trailer,
}

impl Built {
    /// The vector that reads this archive successfully.
    fn success(self, description: &str) -> Vector {
        Vector {
            name: self.name,
            description: description.to_owned(),
            key: KEY,
            bytes: self.bytes,
            outcome: Outcome::Success,
            released: self.all,
            expected: Some(Expected {
                header: self.header,
                metadata: self.metadata,
                trailer: self.trailer,
            }),
            seek: None,
            opener: VectorOpener::RawKey,
            signature: None,
        }
    }

    /// A vector that fails at chunk `chunk` of this archive's layout, or
    /// reads it up to there.
    fn fails_at(&self, chunk: usize, description: &str, outcome: Outcome) -> Vector {
        Vector::new(&self.name, description, self.bytes.clone(), outcome)
            .with_released(self.before(chunk))
    }

    /// The records of the chunks before chunk `chunk`.
    fn before(&self, chunk: usize) -> Vec<Record> {
        assert!(self.tracked, "{}: chunk layout unknown", self.name);
        self.chunks[..chunk.min(self.chunks.len())].concat()
    }

    /// The records of the chunks whose frames end at or before `offset`.
    fn read_by(&self, offset: usize) -> Vec<Record> {
        let complete = self.frames.iter().take_while(|f| f.end <= offset).count();
        self.before(complete)
    }

    fn header_len(&self) -> usize {
        self.frames[0].start
    }

    fn frame(&self, chunk: usize) -> Span {
        self.frames[chunk]
    }

    fn last(&self) -> usize {
        self.frames.len() - 1
    }
}

/// Where one frame lies in an archive.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
    flags: u8,
}

/// The frames of a well-formed archive, found from their headers alone.
fn frames(bytes: &[u8]) -> Vec<Span> {
    let mut at = match Header::measure(bytes) {
        Ok(HeaderLen::Exactly(len)) => len,
        other => panic!("not a well-formed header: {other:?}"),
    };
    let mut out = Vec::new();
    while at < bytes.len() {
        let stored_len = u32::from_le_bytes(bytes[at + 2..at + 6].try_into().expect("4 bytes"));
        let end = at + FRAME_HEADER_LEN + stored_len as usize;
        out.push(Span {
            start: at,
            end,
            flags: bytes[at + 1],
        });
        at = end;
    }
    assert_eq!(at, bytes.len(), "frames overrun the archive");
    out
}

fn batch_body(records: &[Record]) -> Vec<u8> {
    let mut batch = BatchBuilder::new();
    for record in records {
        batch.push_encoded(&encode_record(record).expect("vector records encode"));
    }
    batch.take()
}

fn varint(value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    keepsake::body::records::push_varint(value, &mut out);
    out
}

/// A batch body with the schema version and these already-encoded entries.
fn raw_batch(entries: &[&[u8]]) -> Vec<u8> {
    let mut body = varint(1);
    for entry in entries {
        body.extend(varint(entry.len() as u64));
        body.extend_from_slice(entry);
    }
    body
}

fn encoded_metadata(metadata: &ArchiveMetadata) -> Vec<u8> {
    let mut body = Vec::new();
    keepsake::body::records::encode_into(metadata, &mut body).expect("metadata encodes");
    body
}

fn encoded(record: &Record) -> Vec<u8> {
    encode_record(record).expect("vector records encode")
}

/// `bytes` with the single occurrence of `from` replaced by `to`.
fn replace_once(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let found: Vec<usize> = (0..=bytes.len().saturating_sub(from.len()))
        .filter(|&at| bytes[at..].starts_with(from))
        .collect();
    assert_eq!(found.len(), 1, "pattern must occur exactly once");
    [&bytes[..found[0]], to, &bytes[found[0] + from.len()..]].concat()
}

// Byte surgery on finished archives.

fn flip(bytes: &[u8], offset: usize, bit: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[offset] ^= 1 << bit;
    out
}

fn set(bytes: &[u8], offset: usize, value: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[offset..offset + value.len()].copy_from_slice(value);
    out
}

/// Recomputes `fixed_check` (header bytes 54..58).
fn fix_fixed_check(mut bytes: Vec<u8>) -> Vec<u8> {
    let check = check_value(&bytes[..54]);
    bytes[54..58].copy_from_slice(&check);
    bytes
}

/// Recomputes `table_check` from `slot_table_len` and the table.
fn fix_table_check(mut bytes: Vec<u8>) -> Vec<u8> {
    let table_len = usize::from(u16::from_le_bytes([bytes[52], bytes[53]]));
    let end = 58 + table_len;
    let check = check_value(&bytes[58..end]);
    bytes[end..end + CHECK_LEN].copy_from_slice(&check);
    bytes
}

/// Recomputes the `frame_check` of the frame starting at `start`.
fn fix_frame_check(mut bytes: Vec<u8>, start: usize) -> Vec<u8> {
    let check = check_value(&bytes[start..start + 14]);
    bytes[start + 14..start + 18].copy_from_slice(&check);
    bytes
}

fn splice(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// zstd frames written by hand (RFC 8878 §3.1.1), for forms the compressor
// does not produce.

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// How a hand-written zstd frame states its window.
#[derive(Clone, Copy)]
enum ZstdWindow {
    /// Single segment: a 4-byte `Frame_Content_Size` equal to the body's
    /// length (or the given value), and no window descriptor.
    ContentSize(Option<u32>),
    /// A window descriptor byte and no content size.
    Descriptor(u8),
}

/// A block header: last-block flag, type (0 raw, 1 RLE), size.
fn zstd_block_header(last: bool, block_type: u32, size: usize) -> [u8; 3] {
    let value = u32::from(last) | block_type << 1 | (size as u32) << 3;
    let bytes = value.to_le_bytes();
    [bytes[0], bytes[1], bytes[2]]
}

/// A zstd frame header for `window`, optionally naming a dictionary.
fn zstd_frame_header(window: ZstdWindow, content_len: usize, dictionary: Option<u8>) -> Vec<u8> {
    let dictionary_flag = u8::from(dictionary.is_some());
    let mut out = ZSTD_MAGIC.to_vec();
    match window {
        ZstdWindow::ContentSize(declared) => {
            // Frame_Content_Size_flag 2 (four bytes), Single_Segment_flag set.
            out.push(0x80 | 0x20 | dictionary_flag);
            out.extend(dictionary);
            let declared = declared.unwrap_or(content_len as u32);
            out.extend_from_slice(&declared.to_le_bytes());
        }
        ZstdWindow::Descriptor(descriptor) => {
            out.push(dictionary_flag);
            out.push(descriptor);
            out.extend(dictionary);
        }
    }
    out
}

/// One zstd frame holding `body` as raw blocks of at most `block` bytes.
fn zstd_raw(body: &[u8], window: ZstdWindow, dictionary: Option<u8>, block: usize) -> Vec<u8> {
    let mut out = zstd_frame_header(window, body.len(), dictionary);
    let pieces: Vec<&[u8]> = if body.is_empty() {
        vec![&[]]
    } else {
        body.chunks(block).collect()
    };
    for (i, piece) in pieces.iter().enumerate() {
        out.extend(zstd_block_header(i + 1 == pieces.len(), 0, piece.len()));
        out.extend_from_slice(piece);
    }
    out
}

/// One zstd frame with no content size and a 4096-byte window, holding RLE
/// blocks (each one byte of input) of the given sizes: spaces.
fn zstd_rle(blocks: &[usize]) -> Vec<u8> {
    let mut out = zstd_frame_header(ZstdWindow::Descriptor(WINDOW_4096), 0, None);
    for (i, &size) in blocks.iter().enumerate() {
        out.extend(zstd_block_header(i + 1 == blocks.len(), 1, size));
        out.push(b' ');
    }
    out
}

/// Window descriptor bytes: `Window_Size = 2^(10 + exponent) * (1 + mantissa / 8)`.
const WINDOW_4096: u8 = 2 << 3;
const WINDOW_4608: u8 = 2 << 3 | 1;

fn zstd_compress(body: &[u8], level: i32) -> Vec<u8> {
    zstd::bulk::compress(body, level).expect("zstd compresses")
}

// Sample records.

fn conversation(id: &[u8], kind: ConversationKind, name: Option<&str>) -> Conversation {
    Conversation {
        id: id.to_vec(),
        kind,
        created_at_ns: CREATED_AT_NS - 30 * DAY_NS,
        name: name.map(str::to_owned),
        dm_peer: match kind {
            ConversationKind::Dm => Some("bob".to_owned()),
            ConversationKind::Group => None,
        },
        added_by: Some("alice".to_owned()),
        member_ids: vec!["alice".to_owned(), "bob".to_owned()],
        metadata: BTreeMap::new(),
        last_message_ns: None,
    }
}

fn message(id: &[u8], conversation_id: &[u8], sent_at_ns: i64, text: &str) -> Message {
    Message {
        id: id.to_vec(),
        conversation_id: conversation_id.to_vec(),
        sender_id: "alice".to_owned(),
        sender_installation_id: vec![0xA1, 0x1C, 0xE0, 0x01],
        sent_at_ns,
        kind: MessageKind::Application,
        content_type: "xmtp.org/text:1.0".to_owned(),
        content: text.as_bytes().to_vec(),
        delivery_status: DeliveryStatus::Published,
        reference_id: None,
        expires_at_ns: None,
    }
}

fn consent(entity_type: ConsentEntityType, entity: &str, state: ConsentState) -> Consent {
    Consent {
        entity_type,
        entity: entity.to_owned(),
        state,
        updated_at_ns: CREATED_AT_NS - DAY_NS,
    }
}

fn conv(c: Conversation) -> Record {
    Record::Conversation(c)
}

fn msg(m: Message) -> Record {
    Record::Message(m)
}

fn cons(c: Consent) -> Record {
    Record::Consent(c)
}

const GROUP_ID: &[u8] = b"\x01group:weekend";
const DM_ID: &[u8] = b"\x02dm:alice+bob";
const T1: i64 = CREATED_AT_NS - 2 * DAY_NS;

/// The three batches of the base archive that most damage vectors start
/// from: a group with two messages, a DM with two longer messages (a
/// compressed chunk), and two consent records.
fn base_batches() -> [Vec<Record>; 3] {
    let mut group = conversation(GROUP_ID, ConversationKind::Group, Some("Weekend plans"));
    group.member_ids.push("carol".to_owned());
    group
        .metadata
        .insert("description".to_owned(), "Hiking on Saturday".to_owned());
    group.last_message_ns = Some(T1 + MINUTE_NS);
    let first = message(b"m-g-1", GROUP_ID, T1, "Who is in for Saturday?");
    let mut reply = message(b"m-g-2", GROUP_ID, T1 + MINUTE_NS, "Me! 🥾");
    reply.sender_id = "bob".to_owned();
    reply.reference_id = Some(b"m-g-1".to_vec());
    let dm = conversation(DM_ID, ConversationKind::Dm, None);
    let long = "See you at the trailhead at eight; bring water and snacks. ".repeat(6);
    let mut dm_first = message(b"m-d-1", DM_ID, T1 + 2 * MINUTE_NS, &long);
    dm_first.delivery_status = DeliveryStatus::Unpublished;
    let mut dm_second = message(b"m-d-2", DM_ID, T1 + 3 * MINUTE_NS, &long.to_uppercase());
    dm_second.kind = MessageKind::MembershipChange;
    dm_second.expires_at_ns = Some(CREATED_AT_NS + 365 * DAY_NS);
    [
        vec![conv(group), msg(first), msg(reply)],
        vec![conv(dm), msg(dm_first), msg(dm_second)],
        vec![
            cons(consent(
                ConsentEntityType::Inbox,
                "bob",
                ConsentState::Allowed,
            )),
            cons(consent(
                ConsentEntityType::Address,
                "0x00000000000000000000000000000000deadbeef",
                ConsentState::Denied,
            )),
        ],
    ]
}

/// The base archive, unfinished: chunk 0 metadata, chunks 1–3 the base
/// batches; the trailer is chunk 4.
fn base_build(name: &str) -> Build {
    let mut build = Build::new(name, &[KEY], &small());
    for batch in base_batches() {
        build.batch(&batch);
    }
    build
}

/// The chunk most frame and body defects are put in: the base archive's
/// second batch, which is stored compressed.
const TARGET: usize = 2;

/// A record of exactly `target` encoded bytes, from `make(n)` whose length
/// grows by one with `n` (apart from the length varint).
fn sized(target: usize, make: impl Fn(usize) -> Record) -> Record {
    let base = encoded(&make(0)).len();
    let mut n = target.saturating_sub(base);
    while encoded(&make(n)).len() > target {
        n -= 1;
    }
    let record = make(n);
    assert_eq!(
        encoded(&record).len(),
        target,
        "no record of {target} bytes"
    );
    record
}

fn random_bytes(rng: &mut ChaCha20Rng, len: usize) -> Vec<u8> {
    let mut out = vec![0; len];
    rng.fill_bytes(&mut out);
    out
}

/// Messages of one conversation, `count` of them, each `len` bytes of text
/// that compresses well.
fn chatter(conversation_id: &[u8], count: usize, len: usize) -> Vec<Record> {
    let phrase = "the quick brown fox jumps over the lazy dog; ";
    (0..count)
        .map(|i| {
            let mut text = format!("message {i}: ");
            while text.len() < len {
                text.push_str(phrase);
            }
            text.truncate(len);
            let id = format!("m-{i:04}");
            msg(message(
                id.as_bytes(),
                conversation_id,
                T1 + i as i64 * MINUTE_NS,
                &text,
            ))
        })
        .collect()
}

/// Several conversations with messages, then consent: a typical small export.
fn typical(conversations: usize, messages: usize) -> Vec<Record> {
    let mut out = Vec::new();
    for c in 0..conversations {
        let id = format!("conversation-{c}");
        let kind = if c % 2 == 0 {
            ConversationKind::Group
        } else {
            ConversationKind::Dm
        };
        let name = format!("Conversation {c}");
        out.push(conv(conversation(
            id.as_bytes(),
            kind,
            (kind == ConversationKind::Group).then_some(name.as_str()),
        )));
        for m in 0..messages {
            let text = format!(
                "{m}: {}",
                "lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(m % 5 + 1)
            );
            let message_id = format!("c{c}-m{m}");
            let mut message = message(
                message_id.as_bytes(),
                id.as_bytes(),
                T1 + (c * messages + m) as i64 * MINUTE_NS,
                &text,
            );
            if m % 4 == 3 {
                message.reference_id = Some(format!("c{c}-m{}", m - 1).into_bytes());
            }
            out.push(msg(message));
        }
    }
    out.push(cons(consent(
        ConsentEntityType::Conversation,
        "636f6e766572736174696f6e2d30",
        ConsentState::Allowed,
    )));
    out.push(cons(consent(
        ConsentEntityType::Inbox,
        "mallory",
        ConsentState::Denied,
    )));
    out
}

// ---------------------------------------------------------------------------
// The catalogue.

mod slots;

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
    let mut names: Vec<&str> = out.iter().map(|v| v.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), out.len(), "vector names must be unique");
    out
}

fn content_vectors(out: &mut Vec<Vector>) {
    out.push(
        Build::new("empty", &[KEY], &WriterOptions::default())
            .finish()
            .success(
                "no records: the metadata chunk and the trailer only, with the default options",
            ),
    );

    let group = conversation(GROUP_ID, ConversationKind::Group, Some("Weekend plans"));
    let mut build = Build::new("one-conversation", &[KEY], &small());
    build.batch(&[conv(group.clone())]);
    out.push(build.finish().success("one conversation record"));

    let mut build = Build::new("one-message", &[KEY], &small());
    build.batch(&[
        conv(group.clone()),
        msg(message(b"m-1", GROUP_ID, T1, "hello")),
    ]);
    out.push(
        build
            .finish()
            .success("one message record after its conversation, in one batch"),
    );

    let mut build = Build::new("one-consent", &[KEY], &small());
    build.batch(&[cons(consent(
        ConsentEntityType::Inbox,
        "alice",
        ConsentState::Allowed,
    ))]);
    out.push(
        build
            .finish()
            .success("one consent record and nothing else"),
    );

    let mut build = Build::new("typical-default-options", &[KEY], &WriterOptions::default());
    build.records(&typical(3, 12));
    out.push(build.finish().success(
        "three conversations with twelve messages each and two consent records, default options (one chunk)",
    ));

    let mut empty = conversation(b"", ConversationKind::Group, None);
    empty.created_at_ns = 0;
    empty.dm_peer = None;
    empty.added_by = None;
    empty.member_ids = Vec::new();
    let bare = Message {
        id: Vec::new(),
        conversation_id: Vec::new(),
        sender_id: String::new(),
        sender_installation_id: Vec::new(),
        sent_at_ns: 0,
        kind: MessageKind::Application,
        content_type: String::new(),
        content: Vec::new(),
        delivery_status: DeliveryStatus::Published,
        reference_id: None,
        expires_at_ns: None,
    };
    let mut build = Build::new("fields-empty-or-none", &[KEY], &small());
    build.batch(&[
        conv(empty.clone()),
        msg(bare.clone()),
        cons(Consent {
            entity_type: ConsentEntityType::Conversation,
            entity: String::new(),
            state: ConsentState::Unknown,
            updated_at_ns: 0,
        }),
    ]);
    out.push(build.finish().success(
        "every byte string and string empty, every option None, every sequence and map empty, every timestamp 0",
    ));

    let mut some = empty.clone();
    some.name = Some(String::new());
    some.dm_peer = Some(String::new());
    some.added_by = Some(String::new());
    some.member_ids = vec![String::new()];
    some.metadata = BTreeMap::from([(String::new(), String::new())]);
    some.last_message_ns = Some(0);
    let mut some_message = bare.clone();
    some_message.reference_id = Some(Vec::new());
    some_message.expires_at_ns = Some(0);
    let mut build = Build::new("fields-some-empty", &[KEY], &small());
    build.batch(&[conv(some), msg(some_message)]);
    out.push(build.finish().success(
        "every option Some of an empty value or 0 (distinct from None), a member list and a map holding one empty string",
    ));

    for (name, at, what) in [
        ("timestamps-min", i64::MIN, "i64::MIN"),
        ("timestamps-max", i64::MAX, "i64::MAX"),
    ] {
        let mut c = conversation(GROUP_ID, ConversationKind::Group, Some("edge of time"));
        c.created_at_ns = at;
        c.last_message_ns = Some(at);
        let mut m = message(b"m-1", GROUP_ID, at, "edge");
        m.expires_at_ns = Some(at);
        let mut k = consent(ConsentEntityType::Inbox, "alice", ConsentState::Denied);
        k.updated_at_ns = at;
        let mut meta = metadata();
        meta.start_ns = Some(at);
        meta.end_ns = Some(at);
        let mut build = Build::with_metadata(name, &[KEY], &small(), meta);
        build.batch(&[conv(c), msg(m), cons(k)]);
        out.push(build.finish().success(&format!(
            "every timestamp, in records, metadata range and trailer time range, is {what}"
        )));
    }

    let mut build = Build::new("timestamps-zigzag-boundaries", &[KEY], &small());
    let mut records = vec![conv(conversation(GROUP_ID, ConversationKind::Group, None))];
    for (i, at) in [-1i64, 0, 1, -64, 63, 64, -65, i64::MIN + 1, i64::MAX - 1]
        .into_iter()
        .enumerate()
    {
        records.push(msg(message(
            format!("m-{i}").as_bytes(),
            GROUP_ID,
            at,
            "zigzag",
        )));
    }
    build.batch(&records);
    out.push(build.finish().success(
        "message timestamps around the zigzag and varint boundaries: -1, 0, 1, -64, 63, 64, -65, i64::MIN + 1, i64::MAX - 1",
    ));

    let texts = [
        "👩‍👩‍👧‍👦 🏳️‍🌈 🇯🇵 👍🏽",
        "漢字 かな カナ 한국어",
        "שלום עולם · مرحبا بالعالم",
        "\u{202E}gnp.exe\u{202C} \u{200F}rtl mark",
        "e\u{301} a\u{308} Z\u{337}\u{31B}a\u{338}l\u{335}g\u{336}o\u{334} \u{1100}\u{1161}",
        "nul\u{0} bom\u{FEFF} ls\u{2028} ps\u{2029} del\u{7F} nel\u{85}",
        "\u{FFFD} \u{FFFF} \u{10FFFF} \u{1D11E}",
        "tab\t newline\n cr\r quote\" backslash\\",
    ];
    let mut c = conversation(GROUP_ID, ConversationKind::Dm, Some(texts[0]));
    c.dm_peer = Some(texts[2].to_owned());
    c.added_by = Some(texts[3].to_owned());
    c.member_ids = texts.iter().map(|t| t.to_string()).collect();
    c.metadata = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_string(), texts[(i + 1) % texts.len()].to_string()))
        .collect();
    let mut records = vec![conv(c)];
    for (i, text) in texts.iter().enumerate() {
        let mut m = message(format!("m-{i}").as_bytes(), GROUP_ID, T1, text);
        m.sender_id = texts[(i + 3) % texts.len()].to_owned();
        m.content_type = format!("example.org/{}:1.0", texts[(i + 5) % texts.len()]);
        records.push(msg(m));
        records.push(cons(consent(
            ConsentEntityType::Inbox,
            text,
            ConsentState::Allowed,
        )));
    }
    let mut meta = metadata();
    meta.creator = format!("keepsake {} テスト", texts[0]);
    let mut build = Build::with_metadata("unicode-text", &[KEY], &small(), meta);
    build.batch(&records);
    out.push(build.finish().success(
        "text fields holding emoji and ZWJ sequences, CJK, right-to-left and bidi controls, combining marks, NUL, BOM, U+2028, noncharacters and JSON escapes",
    ));

    let mut c = conversation(GROUP_ID, ConversationKind::Group, Some("key order"));
    c.metadata = [
        "",
        "a",
        "ab",
        "b",
        "Z",
        "é",
        "\u{FF61}",
        "😀",
        "\u{10FFFF}",
        "~",
    ]
    .iter()
    .map(|k| (k.to_string(), format!("value of {k:?}")))
    .collect();
    let mut build = Build::new("map-keys-utf8-order", &[KEY], &small());
    build.batch(&[conv(c)]);
    out.push(build.finish().success(
        "conversation metadata keys in UTF-8 byte order, which differs from UTF-16 order (U+FF61 before U+1F600) and puts a prefix first",
    ));

    let all_bytes: Vec<u8> = (0..=255).collect();
    let reversed: Vec<u8> = all_bytes.iter().rev().copied().collect();
    let mut c = conversation(&all_bytes, ConversationKind::Group, None);
    c.name = Some("binary".to_owned());
    let mut m = message(&reversed, &all_bytes, T1, "");
    m.content = [all_bytes.clone(), reversed.clone()].concat();
    m.sender_installation_id = vec![0x00, 0xFF, 0x80, 0x7F];
    m.reference_id = Some(vec![0x00]);
    let mut build = Build::new("binary-all-byte-values", &[KEY], &small());
    build.batch(&[conv(c), msg(m)]);
    out.push(build.finish().success(
        "byte-string fields holding every byte value 00 to ff: ids of 256 bytes and 512 bytes of content",
    ));

    let mut meta = metadata();
    meta.start_ns = Some(CREATED_AT_NS - 7 * DAY_NS);
    meta.end_ns = Some(CREATED_AT_NS);
    meta.elements = Elements {
        messages: true,
        consent: false,
    };
    let mut build = Build::with_metadata("metadata-time-range", &[KEY], &small(), meta);
    build.batch(&base_batches()[0]);
    out.push(build.finish().success(
        "metadata with a requested time range and consent not requested; the records agree",
    ));

    let mut meta = metadata();
    meta.created_at_ns = i64::MIN;
    meta.start_ns = Some(i64::MIN);
    meta.end_ns = Some(i64::MAX);
    meta.elements = Elements {
        messages: false,
        consent: false,
    };
    meta.creator = String::new();
    out.push(
        Build::with_metadata("metadata-extremes", &[KEY], &small(), meta)
            .finish()
            .success(
                "metadata with created_at_ns i64::MIN, the widest range, no elements requested and an empty creator",
            ),
    );

    let mut meta = metadata();
    meta.elements = Elements {
        messages: false,
        consent: false,
    };
    meta.start_ns = Some(0);
    meta.end_ns = Some(1);
    let mut build = Build::with_metadata("metadata-disagrees-with-records", &[KEY], &small(), meta);
    for batch in base_batches() {
        build.batch(&batch);
    }
    out.push(build.finish().success(
        "records the metadata's elements and time range exclude: a writer's fault that a reader reports but must not fail on",
    ));
}

fn chunking_vectors(out: &mut Vec<Vector>) {
    let mut build = Build::new("many-chunks", &[KEY], &small());
    build.records(&typical(3, 40));
    let built = build.finish();
    assert!(
        built.frames.len() > 6,
        "many-chunks has {}",
        built.frames.len()
    );
    out.push(built.success(
        "three conversations with 40 messages each and consent, chunked by the writer at 4096 bytes",
    ));

    for chunk_count in [255u64, 256, 257] {
        let name = format!("chunk-count-{chunk_count}");
        let mut build = Build::new(&name, &[KEY], &small());
        // A conversation, then one 2100-byte message per chunk: two never fit
        // in 4096 bytes, so chunks 1 to N - 1 hold one message each (the
        // first also holds the conversation).
        let mut records = vec![conv(conversation(GROUP_ID, ConversationKind::Group, None))];
        records.extend(chatter(GROUP_ID, chunk_count as usize - 1, 2100));
        build.records(&records);
        let built = build.finish();
        assert_eq!(built.trailer.chunk_count, chunk_count, "{name}");
        out.push(built.success(&format!(
            "{chunk_count} chunks before the trailer (the final frame is chunk {chunk_count}), one message each: the chunk index crosses a byte boundary"
        )));
    }

    let max = small().max_record_size() as usize;
    let c = conversation(GROUP_ID, ConversationKind::Group, None);
    let big = sized(max, |n| {
        msg(message(b"m-big", GROUP_ID, T1, &"x".repeat(n)))
    });
    let mut build = Build::new("record-max-size", &[KEY], &small());
    build.batch(&[conv(c.clone())]);
    build.batch(std::slice::from_ref(&big));
    out.push(build.finish().success(&format!(
        "a message record of exactly max_record_size ({max}) bytes, alone in its batch"
    )));

    let mut build = Build::new("batch-fills-max-chunk-size", &[KEY], &small());
    let fill = {
        let noise = random_bytes(&mut build.rng, SMALL_CHUNK as usize);
        let head = batch_body(&[conv(c.clone())]).len();
        let target = SMALL_CHUNK as usize - head - 2;
        sized(target, |n| {
            let mut m = message(b"m-noise", GROUP_ID, T1, "");
            m.content = noise[..n].to_vec();
            msg(m)
        })
    };
    build.batch(&[conv(c.clone()), fill]);
    let built = build.finish();
    let span = built.frame(1);
    assert_eq!(span.flags, 0, "the full batch must be stored uncompressed");
    assert_eq!(
        span.end - span.start,
        FRAME_HEADER_LEN + SMALL_CHUNK as usize + 16,
        "the full batch must be max_chunk_size long"
    );
    out.push(built.success(
        "a batch body of exactly max_chunk_size (4096) bytes that does not compress, stored as is: stored_len is 4112",
    ));

    let mut build = Build::new(
        "record-length-varint-boundaries",
        &[KEY],
        &WriterOptions::default(),
    );
    let smallest = cons(Consent {
        entity_type: ConsentEntityType::Conversation,
        entity: String::new(),
        state: ConsentState::Unknown,
        updated_at_ns: 0,
    });
    assert_eq!(encoded(&smallest).len(), 5);
    let mut records = vec![smallest];
    records.extend([127usize, 128, 16_383, 16_384].map(|len| {
        sized(len, |n| {
            cons(Consent {
                entity_type: ConsentEntityType::Address,
                entity: "a".repeat(n),
                state: ConsentState::Allowed,
                updated_at_ns: 0,
            })
        })
    }));
    build.batch(&records);
    out.push(build.finish().success(
        "records of 5 (the smallest), 127, 128, 16383 and 16384 encoded bytes: entry lengths of one, two and three varint bytes",
    ));

    let mut build = Build::new("compressed-and-stored-chunks", &[KEY], &small());
    let noise = random_bytes(&mut build.rng, 3000);
    let mut noisy = message(b"m-noise", GROUP_ID, T1, "");
    noisy.content = noise;
    build.batch(&[conv(c.clone()), msg(noisy)]);
    build.batch(&chatter(GROUP_ID, 20, 100));
    let built = build.finish();
    assert_eq!(built.frame(1).flags, 0, "random content must be stored");
    assert_eq!(built.frame(2).flags, FLAG_COMPRESSED, "text must compress");
    out.push(built.success(
        "one batch of random bytes stored uncompressed (zstd would not shrink it) and one compressed batch",
    ));
}

fn compression_vectors(out: &mut Vec<Vector>) {
    for (level, what) in [
        (1, "zstd level 1"),
        (19, "zstd level 19"),
        (22, "zstd level 22, the maximum"),
        (-5, "zstd level -5, a fast negative level"),
    ] {
        let name = if level < 0 {
            format!("zstd-level-minus-{}", -level)
        } else {
            format!("zstd-level-{level}")
        };
        let mut build = Build::new(&name, &[KEY], &options(SMALL_CHUNK, level));
        build.records(&typical(2, 20));
        out.push(
            build
                .finish()
                .success(&format!("the many-chunk content compressed with {what}")),
        );
    }

    let records = base_batches();
    let mut build = Build::new("zstd-frame-longer-than-body", &[KEY], &small());
    build.batch_stored(&records[0], FLAG_COMPRESSED, |body| {
        zstd_raw(body, ZstdWindow::ContentSize(None), None, usize::MAX)
    });
    out.push(build.finish().success(
        "a compressed chunk whose zstd frame (one raw block) is longer than its body: readers must accept it",
    ));

    let mut build = Build::new("zstd-window-at-limit", &[KEY], &small());
    build.batch_stored(&records[0], FLAG_COMPRESSED, |body| {
        zstd_raw(body, ZstdWindow::Descriptor(WINDOW_4096), None, 100)
    });
    out.push(build.finish().success(
        "a zstd frame with no content size and a window of exactly max_chunk_size (4096), in several raw blocks",
    ));

    let mut build = Build::new("zstd-frame-with-checksum", &[KEY], &small());
    build.batch_stored(&records[1], FLAG_COMPRESSED, |body| {
        let mut compressor = zstd::bulk::Compressor::new(3).expect("zstd");
        compressor
            .set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))
            .expect("zstd");
        compressor.compress(body).expect("zstd")
    });
    out.push(
        build
            .finish()
            .success("a zstd frame carrying the optional content checksum"),
    );

    // Failures in the compressed form of chunk 2, after a valid batch.
    let failing = |name: &str,
                   description: &str,
                   outcome: Outcome,
                   stored: &dyn Fn(&[u8], &mut ChaCha20Rng) -> Vec<u8>| {
        let mut build = Build::new(name, &[KEY], &small());
        build.batch(&records[0]);
        let body = batch_body(&records[1]);
        let bytes = stored(&body, &mut build.rng);
        build.frame(ChunkKind::RECORDS, FLAG_COMPRESSED, bytes);
        build.batch(&records[2]);
        let built = build.finish();
        built.fails_at(TARGET, description, outcome)
    };
    let limit = Outcome::LimitExceeded {
        limit: Limit::ChunkSize,
    };
    let corrupt = Outcome::ChunkFailure {
        chunk: TARGET as u64,
    };
    out.push(failing(
        "zstd-window-over-limit",
        "a zstd frame whose window (4608 bytes) exceeds max_chunk_size (4096) though its content is small",
        limit,
        &|body, _| zstd_raw(body, ZstdWindow::Descriptor(WINDOW_4608), None, usize::MAX),
    ));
    out.push(failing(
        "zstd-content-size-over-limit",
        "a zstd frame declaring (and holding) 4097 bytes of content, one more than max_chunk_size",
        limit,
        &|_, _| zstd_compress(&[0x20; SMALL_CHUNK as usize + 1], 3),
    ));
    out.push(failing(
        "zstd-bomb-declared-size",
        "a zstd frame of a few dozen bytes declaring and holding 1 MiB of zeros",
        limit,
        &|_, _| zstd_compress(&vec![0; 1 << 20], 3),
    ));
    out.push(failing(
        "zstd-output-over-limit",
        "a 14-byte zstd frame with no content size and a 4096-byte window whose two RLE blocks expand to 4097 bytes",
        limit,
        &|_, _| zstd_rle(&[SMALL_CHUNK as usize, 1]),
    ));
    out.push(failing(
        "zstd-bomb-undeclared-size",
        "a zstd frame with no content size and a 4096-byte window whose 256 RLE blocks expand to 1 MiB",
        limit,
        &|_, _| zstd_rle(&[SMALL_CHUNK as usize; 256]),
    ));
    out.push(failing(
        "zstd-not-zstd",
        "a chunk flagged COMPRESSED whose stored plaintext is random bytes, not a zstd frame",
        corrupt,
        &|body, rng| random_bytes(rng, body.len()),
    ));
    out.push(failing(
        "zstd-frame-cut-short",
        "a zstd frame missing its last byte",
        corrupt,
        &|body, _| {
            let mut frame = zstd_compress(body, 3);
            frame.pop();
            frame
        },
    ));
    out.push(failing(
        "zstd-byte-after-frame",
        "a complete zstd frame followed by one stray zero byte",
        corrupt,
        &|body, _| [zstd_compress(body, 3), vec![0]].concat(),
    ));
    out.push(failing(
        "zstd-two-frames",
        "two complete zstd frames, each holding half the body: the stored plaintext must be exactly one frame",
        corrupt,
        &|body, _| {
            let (first, second) = body.split_at(body.len() / 2);
            [zstd_compress(first, 3), zstd_compress(second, 3)].concat()
        },
    ));
    out.push(failing(
        "zstd-skippable-frame",
        "a zstd skippable frame (magic 0x184d2a50) before the frame holding the body",
        corrupt,
        &|body, _| {
            [
                &[0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 1, 2, 3, 4][..],
                &zstd_compress(body, 3),
            ]
            .concat()
        },
    ));
    out.push(failing(
        "zstd-checksum-mismatch",
        "a zstd frame whose content checksum does not match its content",
        corrupt,
        &|body, _| {
            let mut compressor = zstd::bulk::Compressor::new(3).expect("zstd");
            compressor
                .set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))
                .expect("zstd");
            let mut frame = compressor.compress(body).expect("zstd");
            let last = frame.len() - 1;
            frame[last] ^= 0x01;
            frame
        },
    ));
    out.push(failing(
        "zstd-dictionary-required",
        "a zstd frame naming dictionary 7, which no reader has",
        corrupt,
        &|body, _| zstd_raw(body, ZstdWindow::ContentSize(None), Some(7), usize::MAX),
    ));
    out.push(failing(
        "zstd-content-size-mismatch",
        "a zstd frame declaring one byte more content than its raw block holds",
        corrupt,
        &|body, _| {
            zstd_raw(
                body,
                ZstdWindow::ContentSize(Some(body.len() as u32 + 1)),
                None,
                usize::MAX,
            )
        },
    ));
}

fn extension_vectors(out: &mut Vec<Vector>) {
    let records = base_batches();
    let text = "an extension this reader does not know; "
        .repeat(20)
        .into_bytes();

    let mut build = Build::new("unknown-ignorable-chunk", &[KEY], &small());
    build.batch(&records[0]);
    build.chunk(ChunkKind(0xC7), text.clone());
    build.batch(&records[1]);
    let built = build.finish();
    assert_eq!(built.frame(2).flags, FLAG_COMPRESSED);
    out.push(built.success(
        "an ignorable chunk of unassigned kind 0xc7 (compressed) between two batches: skipped, but counted in the digest",
    ));

    let mut build = Build::new("unknown-ignorable-chunk-empty", &[KEY], &small());
    build.batch(&records[0]);
    build.chunk(ChunkKind(0xFF), Vec::new());
    out.push(build.finish().success(
        "an ignorable chunk of kind 0xff with an empty body (stored_len 16) as the last chunk",
    ));

    let mut build = Build::new("unknown-ignorable-chunk-0x80", &[KEY], &small());
    let noise = random_bytes(&mut build.rng, 700);
    build.chunk(ChunkKind(0x80), noise);
    build.batch(&records[0]);
    out.push(build.finish().success(
        "an ignorable chunk of kind 0x80 (random bytes, stored uncompressed) as chunk 1, before any batch",
    ));

    let mut build = Build::new("seek-index-chunk", &[KEY], &small());
    for batch in &records {
        build.batch(batch);
    }
    build.writer.drain().expect("vector frames");
    let index_offset = build.writer.bytes_written();
    let index_chunk = build.chunks.len() as u64;
    let body = random_bytes(&mut build.rng, 64);
    build.chunk(ChunkKind::INDEX, body);
    out.push(
        build
            .finish_with(|trailer| {
                trailer.index_chunk = index_chunk;
                trailer.index_offset = index_offset;
            })
            .success(
                "a seek-index chunk (kind 0x81) with an arbitrary body, which the trailer's index fields locate: a reader without the index skips it; one that uses it finds the body is not a seek index",
            )
            .with_seek(Outcome::ChunkFailure { chunk: index_chunk }),
    );

    // A well-formed seek index, then single defects in it or in the trailer's
    // pointer to it. A streaming reader skips the index whatever it holds.
    for (name, description, defect) in [
        (
            "seek-index",
            "a seek index (kind 0x81) as chunk N - 1, located by the trailer: a streaming reader skips it, a reader that uses it reads every batch through it",
            IndexDefect::None,
        ),
        (
            "seek-index-wrong-offset",
            "a seek index whose entry for the last batch is one byte off: the chunk before it does not end where the index says",
            IndexDefect::LastOffset,
        ),
        (
            "seek-index-trailer-offset-wrong",
            "a correct seek index, but the trailer's index_offset is one byte past the index frame",
            IndexDefect::TrailerOffset,
        ),
    ] {
        let mut build = Build::indexed(name, &[KEY], &small(), metadata());
        for batch in &records {
            build.batch(batch);
        }
        let mut index = build
            .writer
            .take_index()
            .expect("vector index")
            .expect("an index");
        if defect == IndexDefect::LastOffset {
            let last = index.chunks.last_mut().expect("entries");
            last.offset += 1;
        }
        let index_offset = build.writer.bytes_written();
        let index_chunk = build.chunks.len() as u64;
        build.chunk(ChunkKind::INDEX, index.to_bytes().expect("vector index"));
        let pointed = match defect {
            IndexDefect::TrailerOffset => index_offset + 1,
            _ => index_offset,
        };
        let seek = match defect {
            IndexDefect::None => Outcome::Success,
            _ => Outcome::ChunkFailure { chunk: index_chunk },
        };
        out.push(
            build
                .finish_with(|trailer| {
                    trailer.index_chunk = index_chunk;
                    trailer.index_offset = pointed;
                })
                .success(description)
                .with_seek(seek),
        );
    }

    for (name, kind, description) in [
        (
            "unknown-critical-chunk",
            0x42u8,
            "a sealed chunk of unassigned critical kind 0x42 after a batch",
        ),
        (
            "unknown-critical-chunk-0x7f",
            0x7F,
            "a sealed chunk of kind 0x7f, the highest critical kind",
        ),
        (
            "unknown-critical-chunk-0x00",
            0x00,
            "a sealed chunk of kind 0x00",
        ),
    ] {
        let mut build = Build::new(name, &[KEY], &small());
        build.batch(&records[0]);
        build.chunk(ChunkKind(kind), text.clone());
        build.batch(&records[1]);
        out.push(build.finish().fails_at(
            TARGET,
            description,
            Outcome::CriticalUnknownChunk {
                chunk: TARGET as u64,
                kind,
            },
        ));
    }

    // A page batch in a records archive breaks the mode rules (spec §6.1)
    // whatever its body; readers of earlier revisions reported it as an
    // unknown critical kind instead.
    let mut build = Build::new("page-batch-chunk", &[KEY], &small());
    build.batch(&records[0]);
    build.chunk(ChunkKind::PAGES, text.clone());
    build.batch(&records[1]);
    out.push(build.finish().fails_at(
        TARGET,
        "a sealed chunk of kind 0x03 (SQLite pages) in a records archive",
        Outcome::ChunkFailure {
            chunk: TARGET as u64,
        },
    ));
}

fn key_slot_vectors(out: &mut Vec<Vector>) {
    let records = base_batches();
    let limits = (SMALL_CHUNK, small().max_record_size());

    let mut build = Build::new("two-key-slots-first-key", &[KEY, SECOND_KEY], &small());
    build.batch(&records[0]);
    out.push(
        build
            .finish()
            .success("two raw-key slots, opened by the first"),
    );

    let mut build = Build::new("two-key-slots-second-key", &[SECOND_KEY, KEY], &small());
    build.batch(&records[0]);
    out.push(
        build
            .finish()
            .success("two raw-key slots, opened by the second"),
    );

    let mut build = Build::new("two-key-slots-same-key", &[KEY, KEY], &small());
    build.batch(&records[0]);
    out.push(
        build
            .finish()
            .success("two raw-key slots for the same key, each with its own slot salt"),
    );

    let mut build = Build::sealed_with_metadata(
        "slot-name",
        limits,
        &[(KEY, "Alice's phone 📱")],
        &small(),
        |_, _| {},
    );
    build.batch(&records[0]);
    out.push(
        build
            .finish()
            .success("a raw-key slot named \"Alice's phone 📱\""),
    );

    let long_name = format!("{}abc", "🔑".repeat(63));
    assert_eq!(long_name.len(), 255);
    let mut build = Build::sealed_with_metadata(
        "slot-name-255-bytes",
        limits,
        &[(KEY, &long_name)],
        &small(),
        |_, _| {},
    );
    build.batch(&records[0]);
    out.push(
        build
            .finish()
            .success("a raw-key slot whose name is 255 bytes long, the maximum"),
    );

    let mut build = Build::sealed_with_metadata(
        "reserved-slot-kind-beside-raw-key",
        limits,
        &[(KEY, "")],
        &small(),
        |header, rng| {
            header.slots.insert(
                0,
                SlotEntry {
                    kind: slot_kind::PASSPHRASE,
                    name: "passphrase".to_owned(),
                    body: random_bytes(rng, 60),
                },
            );
        },
    );
    build.batch(&records[0]);
    out.push(build.finish().fails_at(
        0,
        "a passphrase slot (kind 0x0002) of 60 bytes instead of 76 before the raw-key slot; written when the kind was reserved, it is malformed now that the kind is defined",
        Outcome::HeaderFailure(HeaderError::HeaderCorrupt),
    ));

    let mut build = Build::sealed_with_metadata(
        "unassigned-slot-kind-beside-raw-key",
        limits,
        &[(KEY, "")],
        &small(),
        |header, _| {
            header.slots.push(SlotEntry {
                kind: 0xFFFF,
                name: "future".to_owned(),
                body: Vec::new(),
            });
        },
    );
    build.batch(&records[0]);
    out.push(build.finish().success(
        "a slot of unassigned kind 0xffff with an empty body after the raw-key slot: skipped unread",
    ));

    let mut build = Build::sealed_with_metadata(
        "many-key-slots-last-opens",
        limits,
        &[(OTHER_KEY, "old"), (SECOND_KEY, "laptop"), (KEY, "phone")],
        &small(),
        |header, rng| {
            header.slots.insert(
                1,
                SlotEntry {
                    kind: slot_kind::X25519,
                    name: String::new(),
                    body: random_bytes(rng, 80),
                },
            );
        },
    );
    build.batch(&records[0]);
    out.push(build.finish().success(
        "four slots: raw key, reserved kind 0x0003, raw key, and last the raw-key slot that opens",
    ));

    let mut build = Build::new("wrong-key", &[KEY], &small());
    build.batch(&records[0]);
    out.push(
        build
            .finish()
            .fails_at(
                0,
                "the key given is not the archive's key",
                Outcome::WrongKey,
            )
            .with_key(OTHER_KEY),
    );

    let mut build = Build::new("wrong-key-two-slots", &[KEY, SECOND_KEY], &small());
    build.batch(&records[0]);
    out.push(
        build
            .finish()
            .fails_at(
                0,
                "the key given opens neither of two raw-key slots",
                Outcome::WrongKey,
            )
            .with_key(OTHER_KEY),
    );

    let header_corrupt = Outcome::HeaderFailure(HeaderError::HeaderCorrupt);
    let mut build = Build::sealed_with_metadata(
        "only-reserved-slot-kinds",
        limits,
        &[(KEY, "")],
        &small(),
        |header, rng| {
            header.slots = vec![
                SlotEntry {
                    kind: slot_kind::PASSPHRASE,
                    name: String::new(),
                    body: random_bytes(rng, 60),
                },
                SlotEntry {
                    kind: slot_kind::X25519,
                    name: String::new(),
                    body: random_bytes(rng, 80),
                },
            ];
        },
    );
    build.batch(&records[0]);
    out.push(build.finish().fails_at(
        0,
        "a passphrase slot of 60 bytes instead of 76 and a random X25519 slot; written when both kinds were reserved, the passphrase slot is malformed now that the kind is defined",
        Outcome::HeaderFailure(HeaderError::HeaderCorrupt),
    ));

    let mut build = Build::sealed_with_metadata(
        "only-unassigned-slot-kinds",
        limits,
        &[(KEY, "")],
        &small(),
        |header, rng| {
            header.slots = vec![
                SlotEntry {
                    kind: 0x0004,
                    name: String::new(),
                    body: random_bytes(rng, 80),
                },
                SlotEntry {
                    kind: 0xFFFF,
                    name: "future".to_owned(),
                    body: Vec::new(),
                },
            ];
        },
    );
    build.batch(&records[0]);
    out.push(build.finish().fails_at(
        0,
        "the only slots are of unassigned kinds 0x0004 and 0xFFFF, which no reader of this revision implements",
        Outcome::HeaderFailure(HeaderError::NoSupportedSlot),
    ));

    for (name, len) in [("raw-key-slot-79-bytes", 79), ("raw-key-slot-81-bytes", 81)] {
        let mut build =
            Build::sealed_with_metadata(name, limits, &[(KEY, "")], &small(), |header, _| {
                header.slots[0].body.resize(len, 0);
            });
        build.batch(&records[0]);
        out.push(build.finish().fails_at(
            0,
            &format!(
                "a raw-key slot body of {len} bytes instead of 80, with the header MAC recomputed"
            ),
            header_corrupt,
        ));
    }
}

fn header_vectors(base: &Built, out: &mut Vec<Vector>) {
    let corrupt = Outcome::HeaderFailure(HeaderError::HeaderCorrupt);
    let vector = Vector::new;
    let b = &base.bytes;
    // Offsets in a header with one unnamed raw-key slot (spec §3, §4.1, §4.2).
    let slot = 58;
    let body = slot + 5;
    let table_check = body + 80;
    let mac = table_check + 4;
    assert_eq!(mac + 32, base.header_len());

    out.push(vector(
        "magic-bit-flipped",
        "bit 5 of magic byte 1 flipped ('K' to 'k')",
        flip(b, 1, 5),
        Outcome::HeaderFailure(HeaderError::NotAnArchive),
    ));
    out.push(vector(
        "not-an-archive-text",
        "a text file, not an archive",
        b"Hello, this is not a Keepsake archive.\n".to_vec(),
        Outcome::HeaderFailure(HeaderError::NotAnArchive),
    ));
    out.push(vector(
        "not-an-archive-short",
        "three bytes whose third differs from the magic: NotAnArchive although the input is shorter than the magic",
        vec![0x89, b'K', b'X'],
        Outcome::HeaderFailure(HeaderError::NotAnArchive),
    ));
    out.push(vector(
        "version-bit-flipped",
        "bit 1 of the version flipped (version 3); the fixed check value is not recomputed, and the version is checked first",
        flip(b, 8, 1),
        Outcome::UnsupportedVersion { version: 3 },
    ));
    out.push(vector(
        "version-2",
        "format version 2 from the future, with the fixed check value recomputed",
        fix_fixed_check(set(b, 8, &[2, 0])),
        Outcome::UnsupportedVersion { version: 2 },
    ));
    out.push(vector(
        "version-big-endian",
        "version bytes 00 01 (version 256, as a big-endian writer would put 1), fixed check recomputed",
        fix_fixed_check(set(b, 8, &[0, 1])),
        Outcome::UnsupportedVersion { version: 256 },
    ));
    out.push(vector(
        "version-0",
        "format version 0, with the fixed check value recomputed",
        fix_fixed_check(set(b, 8, &[0, 0])),
        Outcome::UnsupportedVersion { version: 0 },
    ));
    out.push(vector(
        "version-only",
        "ten bytes: the magic and version 2, nothing else; the version is reported before the missing bytes",
        [&b[..8], &[2, 0][..]].concat(),
        Outcome::UnsupportedVersion { version: 2 },
    ));
    out.push(vector(
        "suite-2",
        "cipher suite 2, with the fixed check value recomputed",
        fix_fixed_check(set(b, 10, &[2, 0])),
        Outcome::HeaderFailure(HeaderError::UnsupportedSuite(2)),
    ));

    let flips: [(&str, &str, usize, u8); 17] = [
        ("suite-bit-flipped", "bit 0 of the suite flipped", 10, 0),
        (
            "max-chunk-size-bit-flipped",
            "bit 3 of max_chunk_size's second byte flipped",
            13,
            3,
        ),
        (
            "max-record-size-bit-flipped",
            "bit 0 of max_record_size flipped",
            16,
            0,
        ),
        (
            "salt-bit-flipped",
            "bit 7 of the archive salt's first byte flipped",
            20,
            7,
        ),
        (
            "slot-table-length-bit-flipped",
            "bit 2 of slot_table_len flipped",
            52,
            2,
        ),
        (
            "fixed-check-bit-flipped",
            "bit 0 of fixed_check flipped",
            54,
            0,
        ),
        (
            "slot-kind-bit-flipped",
            "bit 1 of the slot kind flipped (0x0001 to 0x0003)",
            slot,
            1,
        ),
        (
            "slot-body-length-bit-flipped",
            "bit 0 of the slot's body_len flipped",
            slot + 2,
            0,
        ),
        (
            "slot-name-length-bit-flipped",
            "bit 0 of the slot's name_len flipped",
            slot + 4,
            0,
        ),
        (
            "slot-salt-bit-flipped",
            "bit 4 of the slot salt flipped",
            body + 3,
            4,
        ),
        (
            "slot-check-bit-flipped",
            "bit 4 of the slot's key-check value flipped",
            body + 16,
            4,
        ),
        (
            "wrapped-key-bit-flipped",
            "bit 4 of the wrapped file key flipped",
            body + 40,
            4,
        ),
        (
            "wrap-tag-bit-flipped",
            "bit 4 of the wrapped key's tag flipped",
            body + 79,
            4,
        ),
        (
            "table-check-bit-flipped",
            "bit 6 of table_check flipped",
            table_check + 1,
            6,
        ),
        (
            "header-mac-bit-flipped",
            "bit 0 of the header MAC flipped",
            mac,
            0,
        ),
        (
            "header-mac-last-bit-flipped",
            "bit 7 of the header MAC's last byte flipped",
            mac + 31,
            7,
        ),
        (
            "salt-last-bit-flipped",
            "bit 0 of the archive salt's last byte flipped",
            51,
            0,
        ),
    ];
    for (name, description, offset, bit) in flips {
        out.push(vector(
            name,
            &format!("{description}; no check value recomputed"),
            flip(b, offset, bit),
            corrupt,
        ));
    }

    // The same fields changed with the check values recomputed, so that the
    // defect reaches the key slot or the header MAC.
    out.push(vector(
        "max-chunk-size-changed-check-recomputed",
        "max_chunk_size doubled to 8192 with fixed_check recomputed: the header MAC fails",
        fix_fixed_check(set(b, 12, &8192u32.to_le_bytes())),
        corrupt,
    ));
    out.push(vector(
        "salt-changed-check-recomputed",
        "the archive salt's first byte changed with fixed_check recomputed: the header MAC fails",
        fix_fixed_check(flip(b, 20, 0)),
        corrupt,
    ));
    out.push(vector(
        "slot-check-changed-table-check-recomputed",
        "the slot's key-check value changed with table_check recomputed: the slot still opens, the header MAC fails",
        fix_table_check(flip(b, body + 16, 0)),
        corrupt,
    ));
    out.push(vector(
        "wrapped-key-changed-table-check-recomputed",
        "the wrapped file key changed with table_check recomputed: the key-check value matches but the unwrap fails (a damaged slot)",
        fix_table_check(flip(b, body + 40, 0)),
        corrupt,
    ));
    out.push(vector(
        "wrap-tag-changed-table-check-recomputed",
        "the wrapped key's tag changed with table_check recomputed: a damaged slot, not a wrong key",
        fix_table_check(flip(b, body + 79, 0)),
        corrupt,
    ));
    out.push(vector(
        "slot-salt-changed-table-check-recomputed",
        "the slot salt changed with table_check recomputed: neither the key-check value nor the unwrap matches, which no reader can tell from a wrong key",
        fix_table_check(flip(b, body, 0)),
        Outcome::WrongKey,
    ));
    out.push(vector(
        "slot-kind-changed-table-check-recomputed",
        "the only slot's kind changed to 0x0002 (passphrase) with table_check recomputed: an 80-byte passphrase slot is malformed",
        fix_table_check(set(b, slot, &[2, 0])),
        corrupt,
    ));
    out.push(vector(
        "slot-entry-overruns-table",
        "the slot's body_len raised to 81 with table_check recomputed: the entry runs past the slot table",
        fix_table_check(set(b, slot + 2, &81u16.to_le_bytes())),
        corrupt,
    ));

    let header_len = base.header_len();
    let frames = &b[header_len..];
    let with_table = |table: &[u8]| {
        let mut bytes = b[..52].to_vec();
        bytes.extend_from_slice(&(table.len() as u16).to_le_bytes());
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(table);
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(&b[mac..header_len]);
        bytes.extend_from_slice(frames);
        fix_table_check(fix_fixed_check(bytes))
    };
    out.push(vector(
        "slot-table-empty",
        "slot_table_len 0 with both check values recomputed: a header without key slots",
        with_table(&[]),
        corrupt,
    ));
    out.push(vector(
        "slot-table-trailing-bytes",
        "three zero bytes after the last slot entry, slot_table_len and both check values adjusted: too short for another entry",
        with_table(&[&b[slot..table_check], &[0, 0, 0][..]].concat()),
        corrupt,
    ));

    let limits = (SMALL_CHUNK, small().max_record_size());
    let named = Build::sealed_with_metadata(
        "slot-name-invalid-utf8",
        limits,
        &[(KEY, "phone é")],
        &small(),
        |_, _| {},
    )
    .finish();
    let e_acute_tail = slot + 5 + "phone é".len() - 1;
    out.push(vector(
        "slot-name-invalid-utf8",
        "a slot name whose last byte is changed so it is not UTF-8, table_check recomputed",
        fix_table_check(set(&named.bytes, e_acute_tail, &[0x28])),
        corrupt,
    ));
    out.push(vector(
        "slot-name-changed-table-check-recomputed",
        "a slot name's first byte changed with table_check recomputed: the header MAC covers the names",
        fix_table_check(flip(&named.bytes, slot + 5, 5)),
        corrupt,
    ));

    let unknown = Build::sealed_with_metadata(
        "unknown-slot-body-changed",
        limits,
        &[(KEY, "")],
        &small(),
        |header, rng| {
            header.slots.push(SlotEntry {
                kind: 0x0100,
                name: String::new(),
                body: random_bytes(rng, 16),
            });
        },
    )
    .finish();
    out.push(vector(
        "unknown-slot-body-changed",
        "a byte of an unknown-kind slot's body changed, table_check recomputed: the header MAC covers slots a reader skips",
        fix_table_check(flip(&unknown.bytes, table_check + 5, 0)),
        corrupt,
    ));

    for (name, limits, description, outcome) in [
        (
            "max-chunk-size-below-minimum",
            (SMALL_CHUNK - 1, SMALL_CHUNK - 9),
            "a header declaring max_chunk_size 4095, below the minimum of 4096, MAC valid",
            corrupt,
        ),
        (
            "max-record-size-zero",
            (SMALL_CHUNK, 0),
            "a header declaring max_record_size 0, MAC valid",
            corrupt,
        ),
        (
            "max-record-size-above-chunk-size",
            (SMALL_CHUNK, SMALL_CHUNK + 1),
            "a header declaring max_record_size 4097 above max_chunk_size 4096, MAC valid",
            corrupt,
        ),
        (
            "max-chunk-size-over-reader-limit",
            (DEFAULT_MAX_CHUNK_SIZE + 1, DEFAULT_MAX_CHUNK_SIZE + 1 - 8),
            "a header declaring max_chunk_size 64 MiB + 1, over the default reader limit; valid otherwise",
            Outcome::LimitExceeded {
                limit: Limit::ChunkSize,
            },
        ),
    ] {
        let mut build =
            Build::sealed_with_metadata(name, limits, &[(KEY, "")], &small(), |_, _| {});
        build.batch(&base_batches()[0]);
        out.push(build.finish().fails_at(0, description, outcome));
    }

    let mut build = Build::sealed_with_metadata(
        "max-record-size-one",
        (SMALL_CHUNK, 1),
        &[(KEY, "")],
        &small(),
        |_, _| {},
    );
    build.chunk(ChunkKind(0xC0), b"no record fits".to_vec());
    out.push(
        build
            .finish()
            .success("a header declaring max_record_size 1, the smallest allowed, and no records"),
    );

    let mut build = Build::new(
        "max-chunk-size-at-reader-limit",
        &[KEY],
        &options(DEFAULT_MAX_CHUNK_SIZE, 3),
    );
    build.batch(&base_batches()[0]);
    out.push(
        build
            .finish()
            .success("a header declaring max_chunk_size 64 MiB, exactly the default reader limit"),
    );

    let twin = base_build("base-twin").finish();
    out.push(
        Vector::new(
            "header-from-another-archive",
            "the base archive's header replaced by the header of another archive for the same key: frame 0 fails authentication",
            splice(&[&twin.bytes[..twin.header_len()], &b[header_len..]]),
            Outcome::ChunkFailure { chunk: 0 },
        ),
    );
    let span = base.frame(TARGET);
    let twin_span = twin.frame(TARGET);
    out.push(
        Vector::new(
            "chunk-from-another-archive",
            "chunk 2 replaced by chunk 2 of another archive for the same key: it fails authentication",
            splice(&[
                &b[..span.start],
                &twin.bytes[twin_span.start..twin_span.end],
                &b[span.end..],
            ]),
            Outcome::ChunkFailure {
                chunk: TARGET as u64,
            },
        )
        .with_released(base.before(TARGET)),
    );
}

fn frame_vectors(base: &Built, out: &mut Vec<Vector>) {
    let b = &base.bytes;
    let span = base.frame(TARGET);
    let at = span.start;
    let corrupt = Outcome::ChunkFailure {
        chunk: TARGET as u64,
    };
    let released = base.before(TARGET);
    let vector = |name: &str, description: &str, bytes: Vec<u8>, outcome: Outcome| {
        Vector::new(name, description, bytes, outcome).with_released(released.clone())
    };

    for (name, description, offset, bit) in [
        (
            "frame-kind-bit-flipped",
            "bit 0 of chunk 2's kind flipped (records to pages)",
            0,
            0,
        ),
        (
            "frame-flags-bit-flipped",
            "bit 1 of chunk 2's flags flipped (COMPRESSED cleared)",
            1,
            1,
        ),
        (
            "frame-stored-len-bit-flipped",
            "bit 0 of chunk 2's stored_len flipped",
            2,
            0,
        ),
        (
            "frame-chunk-index-bit-flipped",
            "bit 0 of chunk 2's chunk index flipped (2 to 3)",
            6,
            0,
        ),
        (
            "frame-chunk-index-high-bit-flipped",
            "bit 7 of the last byte of chunk 2's chunk index flipped",
            13,
            7,
        ),
        (
            "frame-check-bit-flipped",
            "bit 0 of chunk 2's frame_check flipped",
            14,
            0,
        ),
    ] {
        out.push(vector(
            name,
            &format!("{description}; frame_check not recomputed"),
            flip(b, at + offset, bit),
            corrupt,
        ));
    }

    let recomputed = |offset: usize, value: &[u8]| fix_frame_check(set(b, at + offset, value), at);
    let stored_len = (span.end - span.start - FRAME_HEADER_LEN) as u32;
    out.push(vector(
        "frame-kind-changed-check-recomputed",
        "chunk 2's kind changed to ignorable 0x82 with frame_check recomputed: authentication fails before the kind is looked at",
        recomputed(0, &[0x82]),
        corrupt,
    ));
    out.push(vector(
        "frame-compressed-flag-cleared-check-recomputed",
        "chunk 2's COMPRESSED flag cleared with frame_check recomputed: authentication fails",
        recomputed(1, &[0]),
        corrupt,
    ));
    out.push(vector(
        "frame-final-flag-set-check-recomputed",
        "chunk 2's FINAL flag set with frame_check recomputed: authentication fails (nonce and associated data differ)",
        recomputed(1, &[FLAG_COMPRESSED | FLAG_FINAL]),
        corrupt,
    ));
    out.push(vector(
        "frame-reserved-flag-set-check-recomputed",
        "reserved flag bit 0x04 set on chunk 2 with frame_check recomputed",
        recomputed(1, &[FLAG_COMPRESSED | 0x04]),
        corrupt,
    ));
    out.push(vector(
        "frame-chunk-index-changed-check-recomputed",
        "chunk 2's index changed to 3 with frame_check recomputed",
        recomputed(6, &3u64.to_le_bytes()),
        corrupt,
    ));
    out.push(vector(
        "frame-stored-len-shorter-check-recomputed",
        "chunk 2's stored_len one less with frame_check recomputed: the tag is read one byte early and fails",
        recomputed(2, &(stored_len - 1).to_le_bytes()),
        corrupt,
    ));
    out.push(vector(
        "frame-stored-len-below-tag-check-recomputed",
        "chunk 2's stored_len set to 15, shorter than a tag, with frame_check recomputed",
        recomputed(2, &15u32.to_le_bytes()),
        corrupt,
    ));
    let limit = Outcome::LimitExceeded {
        limit: Limit::ChunkSize,
    };
    out.push(vector(
        "frame-stored-len-over-max-chunk-size",
        "chunk 2's stored_len set to 4113 (max_chunk_size + 17) with frame_check recomputed",
        recomputed(2, &(SMALL_CHUNK + 17).to_le_bytes()),
        limit,
    ));
    out.push(vector(
        "frame-stored-len-u32-max",
        "chunk 2's stored_len set to 0xffffffff with frame_check recomputed",
        recomputed(2, &u32::MAX.to_le_bytes()),
        limit,
    ));
    out.push(vector(
        "ciphertext-bit-flipped",
        "bit 0 of chunk 2's first ciphertext byte flipped",
        flip(b, at + FRAME_HEADER_LEN, 0),
        corrupt,
    ));
    out.push(vector(
        "tag-bit-flipped",
        "bit 7 of the last byte of chunk 2's tag flipped",
        flip(b, span.end - 1, 7),
        corrupt,
    ));
    out.push(Vector::new(
        "metadata-ciphertext-bit-flipped",
        "bit 0 of the metadata chunk's first ciphertext byte flipped",
        flip(b, base.frame(0).start + FRAME_HEADER_LEN, 0),
        Outcome::ChunkFailure { chunk: 0 },
    ));
    let last = base.last();
    out.push(
        Vector::new(
            "trailer-ciphertext-bit-flipped",
            "bit 0 of the final frame's first ciphertext byte flipped",
            flip(b, base.frame(last).start + FRAME_HEADER_LEN, 0),
            Outcome::ChunkFailure { chunk: last as u64 },
        )
        .with_released(base.before(last)),
    );

    let piece = |chunk: usize| {
        let span = base.frame(chunk);
        &b[span.start..span.end]
    };
    let head = &b[..base.frame(1).start];
    let tail = &b[base.frame(3).start..];
    out.push(Vector::new(
        "chunks-swapped",
        "chunks 1 and 2 swapped",
        splice(&[head, piece(2), piece(1), tail]),
        Outcome::ChunkFailure { chunk: 1 },
    ));
    out.push(
        Vector::new(
            "chunk-duplicated",
            "chunk 1 repeated in place of chunk 2",
            splice(&[head, piece(1), piece(1), piece(2), tail]),
            Outcome::ChunkFailure { chunk: 2 },
        )
        .with_released(base.before(2)),
    );
    out.push(
        Vector::new(
            "chunk-dropped",
            "chunk 2 removed",
            splice(&[head, piece(1), tail]),
            Outcome::ChunkFailure { chunk: 2 },
        )
        .with_released(base.before(2)),
    );
    out.push(Vector::new(
        "metadata-chunk-dropped",
        "chunk 0, the metadata, removed",
        splice(&[&b[..base.header_len()], &b[base.frame(1).start..]]),
        Outcome::ChunkFailure { chunk: 0 },
    ));
}

fn placement_vectors(out: &mut Vec<Vector>) {
    let records = base_batches();
    let limits = (SMALL_CHUNK, small().max_record_size());

    let mut build = Build::new("final-flag-on-records-chunk", &[KEY], &small());
    build.batch(&records[0]);
    build.frame(ChunkKind::RECORDS, FLAG_FINAL, batch_body(&records[1]));
    build.batch(&records[2]);
    out.push(build.finish().fails_at(
        TARGET,
        "a record batch sealed with the FINAL flag (in its nonce too) as chunk 2",
        Outcome::ChunkFailure { chunk: 2 },
    ));

    let mut build = Build::new("trailer-without-final-flag", &[KEY], &small());
    build.batch(&records[0]);
    let built = build.finish_raw(ChunkKind::TRAILER, 0, |t| t.to_bytes().to_vec());
    out.push(built.fails_at(
        2,
        "a correct trailer sealed without the FINAL flag",
        Outcome::ChunkFailure { chunk: 2 },
    ));

    let mut build = Build::new("trailer-compressed", &[KEY], &small());
    build.batch(&records[0]);
    let built = build.finish_raw(ChunkKind::TRAILER, FLAG_FINAL | FLAG_COMPRESSED, |t| {
        zstd_compress(&t.to_bytes(), 3)
    });
    out.push(built.fails_at(
        2,
        "a correct trailer sealed compressed (zstd) with the FINAL flag",
        Outcome::ChunkFailure { chunk: 2 },
    ));

    let mut build = Build::new("final-chunk-not-trailer", &[KEY], &small());
    build.batch(&records[0]);
    let built = build.finish_raw(ChunkKind(0xC0), FLAG_FINAL, |t| t.to_bytes().to_vec());
    out.push(built.fails_at(
        2,
        "the final frame (FINAL set) has ignorable kind 0xc0 instead of the trailer kind",
        Outcome::ChunkFailure { chunk: 2 },
    ));

    let meta = encoded_metadata(&metadata());
    let mut build = Build::sealed(
        "metadata-missing",
        limits,
        &[(KEY, "")],
        &small(),
        |_, _| {},
    );
    build.batch(&records[0]);
    build.batch(&records[1]);
    out.push(build.finish().fails_at(
        0,
        "chunk 0 is a record batch: the metadata chunk is missing",
        Outcome::ChunkFailure { chunk: 0 },
    ));

    let mut build = Build::new("metadata-repeated", &[KEY], &small());
    build.batch(&records[0]);
    build.chunk(ChunkKind::METADATA, meta.clone());
    build.batch(&records[1]);
    out.push(build.finish().fails_at(
        2,
        "a second metadata chunk as chunk 2",
        Outcome::ChunkFailure { chunk: 2 },
    ));

    let zigzag = |n: i64| ((n << 1) ^ (n >> 63)) as u64;
    let elements_at = 1 + varint(zigzag(CREATED_AT_NS)).len();
    let creator_len = [varint(CREATOR.len() as u64), CREATOR.as_bytes().to_vec()].concat();
    for (name, description, body) in [
        (
            "metadata-trailing-byte",
            "the metadata body followed by one zero byte",
            [meta.clone(), vec![0]].concat(),
        ),
        ("metadata-empty", "an empty metadata body", Vec::new()),
        (
            "metadata-invalid-mode",
            "metadata mode 2, which ArchiveMode does not define",
            set(&meta, 0, &[2]),
        ),
        (
            "metadata-invalid-bool",
            "metadata elements.messages encoded as 02, not a bool",
            set(&meta, elements_at, &[2]),
        ),
        (
            "metadata-non-canonical-length",
            "the creator's length written as a two-byte varint (over-long)",
            replace_once(
                &meta,
                &creator_len,
                &[&[0x80 | CREATOR.len() as u8, 0x00][..], CREATOR.as_bytes()].concat(),
            ),
        ),
    ] {
        let mut build = Build::sealed(name, limits, &[(KEY, "")], &small(), |_, _| {});
        build.chunk(ChunkKind::METADATA, body);
        build.batch(&records[0]);
        out.push(
            build
                .finish()
                .fails_at(0, description, Outcome::ChunkFailure { chunk: 0 }),
        );
    }
}

fn batch_vectors(out: &mut Vec<Vector>) {
    let records = base_batches();
    let group = conversation(GROUP_ID, ConversationKind::Group, Some("g"));
    let mut with_meta = group.clone();
    with_meta.metadata = BTreeMap::from([
        ("a".to_owned(), "1".to_owned()),
        ("b".to_owned(), "2".to_owned()),
    ]);
    let mut astral = group.clone();
    astral.metadata = BTreeMap::from([
        ("\u{FF61}".to_owned(), "1".to_owned()),
        ("😀".to_owned(), "2".to_owned()),
    ]);
    let entry_of = |key: &str, value: &str| {
        [
            varint(key.len() as u64),
            key.as_bytes().to_vec(),
            varint(value.len() as u64),
            value.as_bytes().to_vec(),
        ]
        .concat()
    };
    let simple = Consent {
        entity_type: ConsentEntityType::Inbox,
        entity: "ab".to_owned(),
        state: ConsentState::Allowed,
        updated_at_ns: 0,
    };
    let simple_bytes = encoded(&cons(simple.clone()));
    assert_eq!(simple_bytes, [0x02, 0x01, 0x02, b'a', b'b', 0x01, 0x00]);
    let message_bytes = encoded(&msg(message(b"m-1", GROUP_ID, T1, "hi")));
    let group_bytes = encoded(&conv(group.clone()));
    let last = message_bytes.len() - 1;
    assert_eq!(
        message_bytes[last], 0x00,
        "expires_at_ns None is the last byte"
    );

    let corrupt = Outcome::ChunkFailure {
        chunk: TARGET as u64,
    };
    let record_limit = Outcome::LimitExceeded {
        limit: Limit::RecordSize,
    };
    let max = small().max_record_size() as usize;
    let over = encoded(&sized(max + 1, |n| {
        cons(Consent {
            entity_type: ConsentEntityType::Inbox,
            entity: "x".repeat(n),
            state: ConsentState::Allowed,
            updated_at_ns: 0,
        })
    }));

    let cases: Vec<(&str, &str, Outcome, Vec<u8>)> = vec![
        (
            "batch-empty",
            "a batch holding only the schema version",
            corrupt,
            varint(1),
        ),
        (
            "batch-empty-body",
            "a record batch with an empty body",
            corrupt,
            Vec::new(),
        ),
        (
            "batch-schema-version-2",
            "a batch of record schema version 2, unknown to format version 1",
            corrupt,
            [varint(2), raw_batch(&[&simple_bytes])[1..].to_vec()].concat(),
        ),
        (
            "batch-schema-version-non-minimal",
            "the schema version written as 81 00, an over-long varint",
            corrupt,
            [vec![0x81, 0x00], raw_batch(&[&simple_bytes])[1..].to_vec()].concat(),
        ),
        (
            "batch-entry-length-non-minimal",
            "an entry length written as a two-byte varint (over-long)",
            corrupt,
            [
                vec![0x01, 0x80 | simple_bytes.len() as u8, 0x00],
                simple_bytes.clone(),
            ]
            .concat(),
        ),
        (
            "batch-entry-length-over-u32",
            "an entry length varint of five bytes whose value exceeds 2^32 - 1: damage, not a limit",
            corrupt,
            [
                vec![0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F],
                simple_bytes.clone(),
            ]
            .concat(),
        ),
        (
            "batch-entry-past-end",
            "the last entry's length one more than the bytes left in the batch",
            corrupt,
            [
                vec![0x01, simple_bytes.len() as u8 + 1],
                simple_bytes.clone(),
            ]
            .concat(),
        ),
        (
            "record-trailing-byte",
            "an entry holding a consent record followed by one zero byte inside the entry",
            corrupt,
            raw_batch(&[&[simple_bytes.clone(), vec![0]].concat()]),
        ),
        (
            "record-over-max-record-size",
            "an authenticated batch whose one entry is 4089 bytes, one more than max_record_size 4088 (the batch fits max_chunk_size)",
            record_limit,
            raw_batch(&[&over]),
        ),
        (
            "record-length-u32-max",
            "an entry length of 2^32 - 1 (ff ff ff ff 0f) with no bytes after it: the limit is checked first",
            record_limit,
            vec![0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F],
        ),
        (
            "record-non-canonical-varint",
            "a consent record's timestamp 0 written as 80 00, an over-long varint",
            corrupt,
            raw_batch(&[&[&simple_bytes[..6], &[0x80, 0x00][..]].concat()]),
        ),
        (
            "record-i64-varint-overflow",
            "a consent record's timestamp written as a 10-byte varint whose value exceeds 64 bits",
            corrupt,
            raw_batch(&[&[&simple_bytes[..6], &[0xFF; 9][..], &[0x7F][..]].concat()]),
        ),
        (
            "record-unknown-variant",
            "a record of enum discriminant 3, which Record does not define",
            corrupt,
            raw_batch(&[&set(&simple_bytes, 0, &[3])]),
        ),
        (
            "record-invalid-enum-value",
            "a consent record with state 3, which ConsentState does not define",
            corrupt,
            raw_batch(&[&set(&simple_bytes, 5, &[3])]),
        ),
        (
            "record-invalid-option-tag",
            "a message whose expires_at_ns option tag is 02",
            corrupt,
            raw_batch(&[&group_bytes, &set(&message_bytes, last, &[2])]),
        ),
        (
            "record-invalid-utf8",
            "a consent entity whose bytes c3 28 are not UTF-8",
            corrupt,
            raw_batch(&[&set(&simple_bytes, 3, &[0xC3, 0x28])]),
        ),
        (
            "record-string-past-entry",
            "a consent entity whose length (127) runs past the end of its entry",
            corrupt,
            raw_batch(&[&set(&simple_bytes, 2, &[0x7F])]),
        ),
        (
            "record-map-keys-out-of-order",
            "conversation metadata keys \"b\" then \"a\": not ascending",
            corrupt,
            raw_batch(&[&replace_once(
                &encoded(&conv(with_meta.clone())),
                &[entry_of("a", "1"), entry_of("b", "2")].concat(),
                &[entry_of("b", "2"), entry_of("a", "1")].concat(),
            )]),
        ),
        (
            "record-map-keys-duplicate",
            "conversation metadata with the key \"a\" twice",
            corrupt,
            raw_batch(&[&replace_once(
                &encoded(&conv(with_meta.clone())),
                &[entry_of("a", "1"), entry_of("b", "2")].concat(),
                &[entry_of("a", "1"), entry_of("a", "2")].concat(),
            )]),
        ),
        (
            "record-map-keys-utf16-order",
            "conversation metadata keys U+1F600 then U+FF61: UTF-16 order, not the UTF-8 byte order the format requires",
            corrupt,
            raw_batch(&[&replace_once(
                &encoded(&conv(astral.clone())),
                &[entry_of("\u{FF61}", "1"), entry_of("😀", "2")].concat(),
                &[entry_of("😀", "2"), entry_of("\u{FF61}", "1")].concat(),
            )]),
        ),
        (
            "message-before-its-conversation",
            "a message, then its conversation's record, in one batch",
            corrupt,
            raw_batch(&[
                &encoded(&msg(message(b"m-x", b"late", T1, "too early"))),
                &encoded(&conv(conversation(b"late", ConversationKind::Dm, None))),
            ]),
        ),
        (
            "message-without-conversation",
            "a message whose conversation never appears",
            corrupt,
            raw_batch(&[&encoded(&msg(message(b"m-x", b"nowhere", T1, "orphan")))]),
        ),
        (
            "conversation-repeated",
            "the record of the conversation of chunk 1 again in chunk 2",
            corrupt,
            batch_body(&records[0][..1]),
        ),
        (
            "conversation-repeated-in-one-batch",
            "one batch holding the same new conversation record twice",
            corrupt,
            raw_batch(&[
                &encoded(&conv(conversation(b"twice", ConversationKind::Dm, None))),
                &encoded(&conv(conversation(b"twice", ConversationKind::Dm, None))),
            ]),
        ),
    ];
    for (name, description, outcome, body) in cases {
        let mut build = Build::new(name, &[KEY], &small());
        build.batch(&records[0]);
        build.frame(ChunkKind::RECORDS, 0, body);
        build.batch(&records[2]);
        out.push(build.finish().fails_at(TARGET, description, outcome));
    }
}

/// A change to the trailer a writer would write.
type TrailerEdit = fn(&mut Trailer);
/// A trailer body made from the trailer a writer would write.
type TrailerBytes = fn(&Trailer) -> Vec<u8>;

fn trailer_vectors(out: &mut Vec<Vector>) {
    let corrupt = Outcome::ChunkFailure { chunk: 4 };
    let edits: [(&str, &str, TrailerEdit); 10] = [
        (
            "trailer-wrong-chunk-count",
            "the trailer's chunk_count one too many",
            |t| t.chunk_count += 1,
        ),
        (
            "trailer-wrong-conversations",
            "the trailer counts one conversation too many",
            |t| t.conversations += 1,
        ),
        (
            "trailer-wrong-messages",
            "the trailer counts one message too few",
            |t| t.messages -= 1,
        ),
        (
            "trailer-wrong-consent",
            "the trailer counts one consent record too many",
            |t| t.consent += 1,
        ),
        (
            "trailer-wrong-pages",
            "the trailer counts one page in a records archive",
            |t| t.pages = 1,
        ),
        (
            "trailer-wrong-plaintext-bytes",
            "the trailer's plaintext_bytes one too many",
            |t| t.plaintext_bytes += 1,
        ),
        (
            "trailer-wrong-time-range",
            "the trailer's first_sent_at_ns one nanosecond early",
            |t| {
                if let Some((first, _)) = &mut t.time_range {
                    *first -= 1
                }
            },
        ),
        (
            "trailer-time-range-missing",
            "the trailer's time_range_flag 0 although there are messages",
            |t| t.time_range = None,
        ),
        (
            "trailer-time-range-reversed",
            "the trailer's first and last sent_at_ns swapped",
            |t| {
                if let Some((first, last)) = &mut t.time_range {
                    std::mem::swap(first, last)
                }
            },
        ),
        (
            "trailer-wrong-digest",
            "bit 0 of the trailer's content digest flipped",
            |t| t.content_digest[0] ^= 1,
        ),
    ];
    for (name, description, edit) in edits {
        let built = base_build(name).finish_with(edit);
        out.push(built.fails_at(4, description, corrupt));
    }

    let raws: [(&str, &str, TrailerBytes); 4] = [
        (
            "trailer-time-range-flag-2",
            "the trailer's time_range_flag is 2",
            |t| set(&t.to_bytes(), 48, &[2]),
        ),
        (
            "trailer-time-range-padding",
            "a non-zero byte in the 7 zero bytes after time_range_flag",
            |t| set(&t.to_bytes(), 49, &[1]),
        ),
        ("trailer-511-bytes", "a trailer body of 511 bytes", |t| {
            t.to_bytes()[..TRAILER_LEN - 1].to_vec()
        }),
        ("trailer-513-bytes", "a trailer body of 513 bytes", |t| {
            [&t.to_bytes()[..], &[0][..]].concat()
        }),
    ];
    for (name, description, make) in raws {
        let built = base_build(name).finish_raw(ChunkKind::TRAILER, FLAG_FINAL, make);
        out.push(built.fails_at(4, description, corrupt));
    }

    let mut build = base_build("trailer-signature-unknown-scheme");
    let signature = random_bytes(&mut build.rng, 96);
    out.push(
        build
            .finish_with(|t| {
                t.signature[0] = 0x01;
                t.signature[1..].copy_from_slice(&signature);
            })
            .success(
                "a trailer whose signature block is scheme 1 (Ed25519) followed by random bytes: the signature is invalid, which a reader reports and does not fail on",
            )
            .with_signature(SignatureStatus::Invalid(keepsake::crypto::signature::Signer(
                signature[..32].try_into().expect("32 bytes"),
            ))),
    );
    out.push(
        base_build("trailer-reserved-bytes")
            .finish_raw(ChunkKind::TRAILER, FLAG_FINAL, |t| {
                let mut bytes = t.to_bytes();
                bytes[217..].fill(0xA5);
                bytes.to_vec()
            })
            .success("a trailer whose 295 reserved bytes are a5, not zero: readers ignore them"),
    );
}

fn end_vectors(base: &Built, out: &mut Vec<Vector>) {
    let b = &base.bytes;
    let all = base.before(base.chunks.len());
    let end = b.len() as u64;
    let trailing = Outcome::TrailingData { offset: end };
    out.push(base.clone().success(
        "the archive most damage vectors start from: a group with two messages, a DM with two (compressed chunk), two consent records",
    ));
    out.push(
        Vector::new(
            "trailing-zero-byte",
            "one zero byte after the final frame",
            [&b[..], &[0][..]].concat(),
            trailing,
        )
        .with_released(all.clone()),
    );
    let last = base.frame(base.last());
    out.push(
        Vector::new(
            "trailing-copy-of-final-frame",
            "the final frame repeated",
            [&b[..], &b[last.start..]].concat(),
            trailing,
        )
        .with_released(all.clone()),
    );
    let mut build = base_build("trailing-second-final-frame");
    let trailer = build.trailer();
    build
        .writer
        .write_frame(ChunkKind::TRAILER, FLAG_FINAL, trailer.to_bytes().to_vec())
        .expect("vector frame");
    build.chunks.push(Vec::new());
    let first_end = build.writer.bytes_written();
    let second = build.trailer();
    let built = build.end(
        ChunkKind::TRAILER,
        FLAG_FINAL,
        second.to_bytes().to_vec(),
        second,
    );
    out.push(
        Vector::new(
            "trailing-second-final-frame",
            "a second final frame, sealed as chunk 5, after a valid final frame",
            built.bytes,
            Outcome::TrailingData { offset: first_end },
        )
        .with_released(all.clone()),
    );
    let empty = Build::new("trailing-archive", &[KEY], &small()).finish();
    out.push(
        Vector::new(
            "trailing-second-archive",
            "a whole second archive (empty, same key) appended",
            [&b[..], &empty.bytes[..]].concat(),
            trailing,
        )
        .with_released(all.clone()),
    );

    let header_len = base.header_len();
    let frame = |chunk: usize| base.frame(chunk);
    let cuts: [(&str, &str, usize); 14] = [
        ("truncated-empty", "an empty file", 0),
        (
            "truncated-in-magic",
            "cut after 5 bytes, inside the magic",
            5,
        ),
        (
            "truncated-after-version",
            "cut after the version (10 bytes)",
            10,
        ),
        (
            "truncated-in-fixed-header",
            "cut after 57 bytes, inside fixed_check",
            57,
        ),
        ("truncated-in-slot-table", "cut inside the slot table", 100),
        (
            "truncated-in-header-mac",
            "cut one byte before the end of the header",
            header_len - 1,
        ),
        (
            "truncated-after-header",
            "cut right after the header, before frame 0",
            header_len,
        ),
        (
            "truncated-in-frame-header",
            "cut inside frame 0's header",
            header_len + 7,
        ),
        (
            "truncated-in-metadata-ciphertext",
            "cut inside frame 0's ciphertext",
            frame(0).end - 10,
        ),
        (
            "truncated-after-chunk-1",
            "cut at the frame boundary after chunk 1",
            frame(1).end,
        ),
        (
            "truncated-in-chunk-2-ciphertext",
            "cut inside chunk 2's ciphertext",
            frame(2).start + 30,
        ),
        (
            "truncated-final-frame-missing",
            "cut at the frame boundary before the final frame",
            frame(4).start,
        ),
        (
            "truncated-in-final-frame-header",
            "cut inside the final frame's header",
            frame(4).start + 9,
        ),
        ("truncated-last-byte", "the last byte removed", b.len() - 1),
    ];
    for (name, description, cut) in cuts {
        out.push(
            Vector::new(
                name,
                description,
                b[..cut].to_vec(),
                Outcome::Truncated { offset: cut as u64 },
            )
            .with_released(base.read_by(cut)),
        );
    }
}
