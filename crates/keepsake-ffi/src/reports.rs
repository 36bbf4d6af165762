//! The JSON documents the ABI hands out besides records: what a reader learns
//! from the header and at the end, summaries, and the reports of verify,
//! import and create. Metadata and trailers inside them take the test
//! vectors' form (`keepsake::json`); counts are JSON numbers, timestamps
//! decimal strings.

use serde::Serialize;

use keepsake::crypto::signature::{Signer, sender_authenticated};
use keepsake::format::Trailer;
use keepsake::json::Json;
use keepsake::stream::decoder::HeaderInfo;
use keepsake::{ArchiveMetadata, ArchiveSummary, Result, SignatureStatus};
use keepsake_sqlite::{CreateReport, ImportReport, KindCounts, VerifyReport};

/// A signature status (spec §6.6.3): `unsigned`, `valid`, `invalid` or
/// `unknown-scheme`, and the signer named, valid or not.
#[derive(Serialize)]
pub(crate) struct SignatureJson {
    status: &'static str,
    signer: Option<String>,
}

impl SignatureJson {
    pub(crate) fn of(status: &SignatureStatus) -> Self {
        SignatureJson {
            status: status.word(),
            signer: status.signer().map(|signer| signer.to_string()),
        }
    }
}

/// What a reader knows once the header and metadata are read.
#[derive(Serialize)]
pub(crate) struct OpenedJson<'a> {
    format_version: u16,
    key_slots: usize,
    max_chunk_size: u32,
    max_record_size: u32,
    metadata: Json<&'a ArchiveMetadata>,
}

impl<'a> OpenedJson<'a> {
    pub(crate) fn of(header: &HeaderInfo, metadata: &'a ArchiveMetadata) -> Self {
        OpenedJson {
            format_version: header.format_version,
            key_slots: header.key_slots,
            max_chunk_size: header.prelude.max_chunk_size,
            max_record_size: header.prelude.max_record_size,
            metadata: Json(metadata),
        }
    }
}

/// What a reader knows at the end: the checked trailer and its signature.
#[derive(Serialize)]
pub(crate) struct EndJson<'a> {
    pub(crate) bytes_read: u64,
    pub(crate) chunks: u64,
    pub(crate) trailer: Json<&'a Trailer>,
    pub(crate) signature: SignatureJson,
}

/// The summary of a seekable archive (spec §7.2).
#[derive(Serialize)]
pub(crate) struct SummaryJson<'a> {
    format_version: u16,
    key_slots: usize,
    archive_bytes: u64,
    metadata: Json<&'a ArchiveMetadata>,
    trailer: Option<Json<&'a Trailer>>,
    signature: SignatureJson,
}

impl<'a> SummaryJson<'a> {
    pub(crate) fn of(summary: &'a ArchiveSummary) -> Self {
        SummaryJson {
            format_version: summary.format_version,
            key_slots: summary.key_slots,
            archive_bytes: summary.archive_bytes,
            metadata: Json(&summary.metadata),
            trailer: summary.trailer.as_ref().map(Json),
            signature: SignatureJson::of(&summary.signature),
        }
    }
}

/// What a verification found.
#[derive(Serialize)]
pub(crate) struct VerifyJson<'a> {
    archive_bytes: u64,
    chunks: u64,
    metadata: Json<&'a ArchiveMetadata>,
    trailer: Json<&'a Trailer>,
    signature: SignatureJson,
    /// `raw-key`, `passphrase` or `x25519`.
    opened_with: &'static str,
    /// Whether the writer is known (spec §11.3): false for an archive opened
    /// with an X25519 identity, whose recipient string anyone may know,
    /// unless a trusted signer's valid signature names the writer.
    sender_authenticated: bool,
}

impl<'a> VerifyJson<'a> {
    /// The report of a verification that required `trusted`, if set.
    pub(crate) fn of(report: &'a VerifyReport, trusted: Option<&Signer>) -> Self {
        VerifyJson {
            archive_bytes: report.bytes,
            chunks: report.chunks,
            metadata: Json(&report.metadata),
            trailer: Json(&report.trailer),
            signature: SignatureJson::of(&report.signature),
            opened_with: report.opened_with.word(),
            sender_authenticated: sender_authenticated(
                report.opened_with,
                &report.signature,
                trusted,
            ),
        }
    }
}

/// Records per kind.
#[derive(Serialize)]
struct CountsJson {
    conversations: u64,
    messages: u64,
    consent: u64,
}

/// What an import inserted and skipped, per kind.
#[derive(Serialize)]
pub(crate) struct ImportJson {
    inserted: CountsJson,
    skipped: CountsJson,
    /// Messages of conversations the database has and uses, left out.
    active_conversation_messages: u64,
    /// Consent records dated more than a day ahead of this machine's clock, left out.
    future_consent: u64,
    signature: SignatureJson,
}

impl ImportJson {
    pub(crate) fn of(report: &ImportReport) -> Self {
        let counts = |pick: fn(&KindCounts) -> u64| CountsJson {
            conversations: pick(&report.conversations),
            messages: pick(&report.messages),
            consent: pick(&report.consent),
        };
        ImportJson {
            inserted: counts(|kind| kind.inserted),
            skipped: counts(|kind| kind.skipped),
            active_conversation_messages: report.active_conversation_messages,
            future_consent: report.future_consent,
            signature: SignatureJson::of(&report.signature),
        }
    }
}

/// What a create from a database wrote.
#[derive(Serialize)]
pub(crate) struct CreateJson {
    archive_bytes: u64,
    counts: CountsJson,
    time_range: Option<[String; 2]>,
    seek_index: bool,
}

impl CreateJson {
    pub(crate) fn of(report: &CreateReport) -> Self {
        CreateJson {
            archive_bytes: report.bytes,
            counts: CountsJson {
                conversations: report.conversations,
                messages: report.messages,
                consent: report.consent,
            },
            time_range: report
                .time_range
                .map(|(first, last)| [first.to_string(), last.to_string()]),
            seek_index: report.seek_index,
        }
    }
}

/// `value` as JSON text.
pub(crate) fn to_json(value: &impl Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(value)
        .map_err(|error| keepsake::Error::invalid(format!("cannot write JSON: {error}")))
}

/// Stores `value` as JSON at `out`, unless `out` is NULL (the caller did
/// not ask for it).
///
/// # Safety
///
/// `out` must be NULL or point to writable storage for a `KeepsakeBuffer`.
pub(crate) unsafe fn put_if_asked(
    out: *mut crate::buffer::KeepsakeBuffer,
    value: &impl Serialize,
) -> Result<()> {
    if out.is_null() {
        return Ok(());
    }
    // SAFETY: not NULL, and writable as the caller promises.
    unsafe { crate::buffer::put(out, to_json(value)?) }
}
