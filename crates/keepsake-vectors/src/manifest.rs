//! The published files: each vector's archive and records, and the manifest
//! that states each one's expected outcome.

use keepsake::body::salvage_record::SalvageRecord;
use std::collections::BTreeMap;
use std::path::Path;
use std::{fs, io};

use serde::Serialize;
use sha2::{Digest, Sha256};

use keepsake::body::records::{
    ArchiveMetadata, ArchiveMode, ConsentEntityType, ConsentState, ConversationKind,
    DeliveryStatus, MessageKind, Record,
};
use keepsake::crypto::X25519Identity;
use keepsake::format::Trailer;
use keepsake::limits::DEFAULT_MAX_CHUNK_SIZE;

use super::*;

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
pub(crate) struct HeaderJson {
    pub(crate) key_slots: usize,
    pub(crate) max_chunk_size: u32,
    pub(crate) max_record_size: u32,
}

#[derive(Serialize)]
pub(crate) struct EntryJson {
    pub(crate) name: String,
    pub(crate) file: String,
    pub(crate) file_sha256: String,
    pub(crate) description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) passphrase: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) identity: Option<String>,
    pub(crate) outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) suite: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) chunk: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) kind: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) limit: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) offset: Option<u64>,
    pub(crate) released_records: usize,
    pub(crate) released_records_sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) records_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) header: Option<HeaderJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) metadata: Option<MetadataJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) trailer: Option<TrailerJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) seek_outcome: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) seek_chunk: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) signature: Option<SignatureJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) salvage_record: Option<SalvageRecordJson>,
}

/// The salvage record a reader that implements it must report (spec §6.7).
#[derive(Serialize)]
pub struct SalvageRecordJson {
    /// Whether the body is one canonical value; the other fields are null when not.
    pub readable: bool,
    /// The damaged archive's metadata, null when lost.
    pub original: Option<MetadataJson>,
    /// Decimal string or null.
    pub chunks_expected: Option<String>,
    /// Decimal string.
    pub chunks_recovered: Option<String>,
    /// Decimal strings.
    pub lost_chunks: Option<Vec<String>>,
    /// Decimal string or null.
    pub truncated_at: Option<String>,
    /// Decimal string.
    pub trailing_bytes: Option<String>,
    /// Decimal string.
    pub messages_dropped: Option<String>,
}

impl SalvageRecordJson {
    /// The JSON form of a salvage record, or of one that does not decode.
    pub fn of(record: Option<&SalvageRecord>) -> SalvageRecordJson {
        SalvageRecordJson {
            readable: record.is_some(),
            original: record
                .and_then(|record| record.original.as_ref())
                .map(MetadataJson::of),
            chunks_expected: record
                .and_then(|record| record.chunks_expected)
                .map(|count| count.to_string()),
            chunks_recovered: record.map(|record| record.chunks_recovered.to_string()),
            lost_chunks: record
                .map(|record| record.lost_chunks.iter().map(u64::to_string).collect()),
            truncated_at: record
                .and_then(|record| record.truncated_at)
                .map(|at| at.to_string()),
            trailing_bytes: record.map(|record| record.trailing_bytes.to_string()),
            messages_dropped: record.map(|record| record.messages_dropped.to_string()),
        }
    }
}

/// The signature status a reader must report (spec §6.6.3).
#[derive(Serialize)]
pub(crate) struct SignatureJson {
    pub(crate) status: &'static str,
    pub(crate) scheme: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) signer: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct ReaderLimitsJson {
    pub(crate) max_chunk_size: u32,
    pub(crate) max_record_size: u32,
}

#[derive(Serialize)]
pub(crate) struct ManifestJson {
    pub(crate) format: &'static str,
    pub(crate) format_version: u16,
    pub(crate) reader_limits: ReaderLimitsJson,
    pub(crate) vectors: Vec<EntryJson>,
}

/// A JSON file's text: two-space indentation and a final newline.
pub(crate) fn json_text<T: Serialize>(value: &T) -> Vec<u8> {
    let mut text = serde_json::to_vec_pretty(value).expect("vector JSON serialises");
    text.push(b'\n');
    text
}

/// The records file of a success vector, if it is small enough to publish.
pub(crate) fn records_file(vector: &Vector) -> Option<Vec<u8>> {
    if vector.outcome != Outcome::Success {
        return None;
    }
    let records: Vec<RecordJson> = vector.released.iter().map(RecordJson::of).collect();
    let text = json_text(&records);
    (text.len() <= RECORDS_FILE_LIMIT).then_some(text)
}

pub(crate) fn entry(vector: &Vector) -> EntryJson {
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
        salvage_record: vector
            .salvage
            .as_ref()
            .map(|record| SalvageRecordJson::of(record.as_ref())),
        signature: vector.signature.map(|status| SignatureJson {
            status: status.word(),
            scheme: status.scheme(),
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
