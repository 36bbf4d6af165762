//! What operations report, as small read-only classes: the archive's
//! metadata, its trailer and signature, and the reports of create, verify
//! and import. Timestamps are `int` nanoseconds since the Unix epoch.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use keepsake::json::Word;
use keepsake::{ArchiveSummary as Summary, SignatureStatus};
use keepsake_sqlite::{
    CreateReport as Created, ImportReport as Imported, VerifyReport as Verified,
};

/// `__repr__` for a class, from the Python `repr` of the named fields.
macro_rules! repr {
    ($ty:ident, $($field:ident),+) => {
        #[pymethods]
        impl $ty {
            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                let fields = [$({
                    let value = (&self.$field).into_pyobject(py).map_err(Into::<PyErr>::into)?;
                    format!("{}={}", stringify!($field), value.as_any().repr()?)
                }),+];
                Ok(format!("{}({})", stringify!($ty), fields.join(", ")))
            }
        }
    };
}

/// The archive's metadata chunk: what its creator asked for.
#[pyclass(frozen, get_all, module = "keepsake")]
pub struct ArchiveMetadata {
    /// `records` or `pages` (a whole-database snapshot).
    mode: &'static str,
    /// When the archive was created.
    created_at_ns: i64,
    /// The kinds of data selected: `messages`, `consent` or both.
    elements: Vec<&'static str>,
    /// Start of the message time range (inclusive), or None.
    start_ns: Option<i64>,
    /// End of the message time range (exclusive), or None.
    end_ns: Option<i64>,
    /// The software that wrote the archive.
    creator: String,
}

repr!(
    ArchiveMetadata,
    mode,
    created_at_ns,
    elements,
    start_ns,
    end_ns,
    creator
);

impl ArchiveMetadata {
    pub(crate) fn of(metadata: &keepsake::ArchiveMetadata) -> Self {
        let mut elements = Vec::new();
        if metadata.elements.messages {
            elements.push("messages");
        }
        if metadata.elements.consent {
            elements.push("consent");
        }
        ArchiveMetadata {
            mode: metadata.mode.word(),
            created_at_ns: metadata.created_at_ns,
            elements,
            start_ns: metadata.start_ns,
            end_ns: metadata.end_ns,
            creator: metadata.creator.clone(),
        }
    }
}

/// The archive's final chunk: what it commits to as a whole.
#[pyclass(frozen, get_all, module = "keepsake")]
pub struct Trailer {
    /// Chunks before the final one.
    chunk_count: u64,
    /// Conversation records.
    conversations: u64,
    /// Message records.
    messages: u64,
    /// Consent records.
    consent: u64,
    /// Database pages (a pages archive).
    pages: u64,
    /// Bytes of every chunk before the final one, decompressed.
    plaintext_bytes: u64,
    /// The earliest and latest message send time, or None without messages.
    time_range: Option<(i64, i64)>,
    /// SHA-256 of the content (spec §6.6.2).
    content_digest: Py<PyBytes>,
    /// The seek index's chunk, 0 without one.
    index_chunk: u64,
    /// The seek index's offset, 0 without one.
    index_offset: u64,
    /// The 97-byte signature block (spec §6.6.3).
    signature_block: Py<PyBytes>,
}

repr!(
    Trailer,
    chunk_count,
    conversations,
    messages,
    consent,
    pages,
    time_range
);

impl Trailer {
    pub(crate) fn of(py: Python<'_>, trailer: &keepsake::format::Trailer) -> Self {
        Trailer {
            chunk_count: trailer.chunk_count,
            conversations: trailer.conversations,
            messages: trailer.messages,
            consent: trailer.consent,
            pages: trailer.pages,
            plaintext_bytes: trailer.plaintext_bytes,
            time_range: trailer.time_range,
            content_digest: PyBytes::new(py, &trailer.content_digest).unbind(),
            index_chunk: trailer.index_chunk,
            index_offset: trailer.index_offset,
            signature_block: PyBytes::new(py, &trailer.signature).unbind(),
        }
    }
}

/// What the trailer's signature block says (spec §6.6.3). A bad signature
/// never stops an archive from being read.
#[pyclass(frozen, get_all, module = "keepsake")]
pub struct Signature {
    /// `unsigned`, `valid`, `invalid` or `unknown-scheme`.
    status: &'static str,
    /// The signer named, `keepsakesig1...`, valid or not; None if unsigned.
    signer: Option<String>,
}

repr!(Signature, status, signer);

impl Signature {
    pub(crate) fn of(status: &SignatureStatus) -> Self {
        Signature {
            status: status.word(),
            signer: status.signer().map(|signer| signer.to_string()),
        }
    }
}

/// What `archive_metadata` reads: the header, the metadata chunk and the
/// trailer, without decoding the body.
#[pyclass(frozen, get_all, module = "keepsake")]
pub struct ArchiveSummary {
    /// The format version.
    format_version: u16,
    /// Key slots in the header.
    key_slots: usize,
    /// The archive's length in bytes.
    archive_bytes: u64,
    /// The metadata chunk.
    metadata: Py<ArchiveMetadata>,
    /// The trailer.
    trailer: Option<Py<Trailer>>,
    /// The signature.
    signature: Py<Signature>,
}

repr!(ArchiveSummary, format_version, key_slots, archive_bytes);

impl ArchiveSummary {
    pub(crate) fn of(py: Python<'_>, summary: &Summary) -> PyResult<Self> {
        Ok(ArchiveSummary {
            format_version: summary.format_version,
            key_slots: summary.key_slots,
            archive_bytes: summary.archive_bytes,
            metadata: Py::new(py, ArchiveMetadata::of(&summary.metadata))?,
            trailer: summary
                .trailer
                .as_ref()
                .map(|trailer| Py::new(py, Trailer::of(py, trailer)))
                .transpose()?,
            signature: Py::new(py, Signature::of(&summary.signature))?,
        })
    }
}

/// What `verify_archive` found: every chunk authenticated and checked.
#[pyclass(frozen, get_all, module = "keepsake")]
pub struct VerifyReport {
    /// The archive's length in bytes.
    archive_bytes: u64,
    /// Chunks, the metadata and final ones included.
    chunks: u64,
    /// The metadata chunk.
    metadata: Py<ArchiveMetadata>,
    /// The trailer, checked against everything read.
    trailer: Py<Trailer>,
    /// The signature.
    signature: Py<Signature>,
    /// The kind of key slot that opened the archive: `raw-key`,
    /// `passphrase` or `x25519`.
    opened_with: &'static str,
    /// Whether the writer is known (spec §11.3): false for an archive opened
    /// with an X25519 identity, whose recipient anyone may know, unless the
    /// verification required a trusted signer.
    sender_authenticated: bool,
}

repr!(
    VerifyReport,
    archive_bytes,
    chunks,
    opened_with,
    sender_authenticated
);

impl VerifyReport {
    /// The report of a verification that required `trusted`, if set.
    pub(crate) fn of(
        py: Python<'_>,
        report: &Verified,
        trusted: Option<&keepsake::crypto::signature::Signer>,
    ) -> PyResult<Self> {
        Ok(VerifyReport {
            archive_bytes: report.bytes,
            chunks: report.chunks,
            metadata: Py::new(py, ArchiveMetadata::of(&report.metadata))?,
            trailer: Py::new(py, Trailer::of(py, &report.trailer))?,
            signature: Py::new(py, Signature::of(&report.signature))?,
            opened_with: report.opened_with.word(),
            sender_authenticated: keepsake::crypto::signature::sender_authenticated(
                report.opened_with,
                &report.signature,
                trusted,
            ),
        })
    }
}

/// Records per kind.
#[pyclass(frozen, get_all, eq, module = "keepsake")]
#[derive(PartialEq)]
pub struct Counts {
    /// Conversations.
    conversations: u64,
    /// Messages.
    messages: u64,
    /// Consent records.
    consent: u64,
}

repr!(Counts, conversations, messages, consent);

/// What `import_archive` did: records inserted, and records skipped because
/// the database already had them (or, for consent, a decision as recent).
#[pyclass(frozen, get_all, module = "keepsake")]
pub struct ImportReport {
    /// Records written to the database.
    inserted: Py<Counts>,
    /// Records left out.
    skipped: Py<Counts>,
    /// Messages left out because their conversation is one the database
    /// already has and uses: an import never adds to those.
    active_conversation_messages: u64,
    /// Consent records left out because they are dated more than a day
    /// ahead of this machine's clock.
    future_consent: u64,
    /// The archive's signature.
    signature: Py<Signature>,
}

repr!(
    ImportReport,
    inserted,
    skipped,
    active_conversation_messages,
    future_consent
);

impl ImportReport {
    pub(crate) fn of(py: Python<'_>, report: &Imported) -> PyResult<Self> {
        let counts = |pick: fn(&keepsake_sqlite::KindCounts) -> u64| {
            Py::new(
                py,
                Counts {
                    conversations: pick(&report.conversations),
                    messages: pick(&report.messages),
                    consent: pick(&report.consent),
                },
            )
        };
        Ok(ImportReport {
            inserted: counts(|kind| kind.inserted)?,
            skipped: counts(|kind| kind.skipped)?,
            active_conversation_messages: report.active_conversation_messages,
            future_consent: report.future_consent,
            signature: Py::new(py, Signature::of(&report.signature))?,
        })
    }
}

/// What `create_archive` wrote.
#[pyclass(frozen, get_all, module = "keepsake")]
pub struct CreateReport {
    /// The archive's length in bytes.
    archive_bytes: u64,
    /// Records written, per kind.
    counts: Py<Counts>,
    /// The earliest and latest message send time, or None without messages.
    time_range: Option<(i64, i64)>,
    /// Whether the archive has a seek index.
    seek_index: bool,
}

repr!(CreateReport, archive_bytes, counts, time_range, seek_index);

impl CreateReport {
    pub(crate) fn of(py: Python<'_>, report: &Created) -> PyResult<Self> {
        Ok(CreateReport {
            archive_bytes: report.bytes,
            counts: Py::new(
                py,
                Counts {
                    conversations: report.conversations,
                    messages: report.messages,
                    consent: report.consent,
                },
            )?,
            time_range: report.time_range,
            seek_index: report.seek_index,
        })
    }
}
