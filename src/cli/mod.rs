//! The commands: each checks what the library cannot (files that must or
//! must not exist, the key file), makes one library call and describes the
//! result twice, for people and as one JSON object.

pub mod bench;
pub mod demo;
pub mod estimate;
pub mod exit;
pub mod keys;
pub mod pages;
pub mod progress_bar;
pub mod salvage;
pub mod slots;
pub mod units;

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use zeroize::Zeroizing;

use keepsake::format::Trailer;
use keepsake::{
    ArchiveKey, ArchiveMetadata, ArchiveMode, ArchiveSummary, Elements, Identity, Progress,
    SignatureStatus, SigningKey, WriterOptions, X25519Identity,
};
use keepsake_sqlite::sample::{SampleOptions, SampleReport, SampleShape};
use keepsake_sqlite::{CreateOptions, CreateReport, ImportReport, VerifyReport};

use exit::{Direction, FAILURE, Failure};
use progress_bar::{busy, with_progress};
use units::{TimeRange, bytes_human, duration_human, millis, rfc3339, time_human};

/// Messages in a sample database unless told otherwise.
pub const DEFAULT_SAMPLE_MESSAGES: u64 = 2000;
/// Conversations in a sample database unless told otherwise.
pub const DEFAULT_SAMPLE_CONVERSATIONS: u64 = 20;

/// A key file is 64 hex characters and a line ending, or 32 bytes; anything
/// much longer is not a key file, and is not read in full.
const KEY_FILE_MAX: u64 = 1024;

/// What a command prints on success.
#[derive(Debug)]
pub struct Report {
    /// The summary for people, ending in a newline.
    pub human: String,
    /// The one JSON object `--json` prints, on one line, fields in the order
    /// their struct declares them.
    pub json: String,
    /// For a command that did its work but has something to flag (a salvage
    /// that lost data): a documented nonzero exit status and a line for stderr.
    pub flag: Option<(u8, String)>,
}

impl Report {
    /// Paths go into `json` as lossy strings (`Cow<str>`, not `Path`, which
    /// serde refuses when it is not UTF-8): once the work is done, describing
    /// it must not fail.
    fn new(human: String, json: &impl Serialize) -> Result<Report, Failure> {
        let json = serde_json::to_string(json).map_err(|error| {
            Failure::new(
                FAILURE,
                "other",
                format!("cannot describe the result: {error}"),
            )
        })?;
        Ok(Report {
            human,
            json,
            flag: None,
        })
    }
}

/// Record counts per kind, in JSON.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub conversations: u64,
    pub messages: u64,
    pub consent: u64,
}

impl Counts {
    fn total(self) -> u64 {
        self.conversations + self.messages + self.consent
    }

    fn human(self) -> String {
        format!(
            "{} conversations, {} messages, {} consent",
            self.conversations, self.messages, self.consent
        )
    }
}

impl From<&Trailer> for Counts {
    fn from(trailer: &Trailer) -> Self {
        Counts {
            conversations: trailer.conversations,
            messages: trailer.messages,
            consent: trailer.consent,
        }
    }
}

impl From<&CreateReport> for Counts {
    fn from(report: &CreateReport) -> Self {
        Counts {
            conversations: report.conversations,
            messages: report.messages,
            consent: report.consent,
        }
    }
}

impl From<&SampleReport> for Counts {
    fn from(report: &SampleReport) -> Self {
        Counts {
            conversations: report.conversations,
            messages: report.messages,
            consent: report.consent,
        }
    }
}

/// The inserted and skipped counts of an import, in JSON.
fn import_counts(report: &ImportReport) -> (Counts, Counts) {
    (
        Counts {
            conversations: report.conversations.inserted,
            messages: report.messages.inserted,
            consent: report.consent.inserted,
        },
        Counts {
            conversations: report.conversations.skipped,
            messages: report.messages.skipped,
            consent: report.consent.skipped,
        },
    )
}

/// What the creator of an archive asked for, in JSON.
#[derive(Debug, Serialize)]
struct Selection {
    elements: Vec<&'static str>,
    since_ns: Option<i64>,
    since: Option<String>,
    until_ns: Option<i64>,
    until: Option<String>,
}

impl Selection {
    fn new(elements: Elements, since: Option<i64>, until: Option<i64>) -> Self {
        let mut names = Vec::new();
        if elements.messages {
            names.push("messages");
        }
        if elements.consent {
            names.push("consent");
        }
        Selection {
            elements: names,
            since_ns: since,
            since: since.and_then(rfc3339),
            until_ns: until,
            until: until.and_then(rfc3339),
        }
    }

    fn of(metadata: &ArchiveMetadata) -> Self {
        Selection::new(metadata.elements, metadata.start_ns, metadata.end_ns)
    }

    /// "messages sent from 2026-01-01T00:00:00Z, plus consent".
    fn human(&self) -> String {
        let mut parts = Vec::new();
        if self.elements.contains(&"messages") {
            let range = match (self.since_ns, self.until_ns) {
                (None, None) => "all messages".to_owned(),
                (Some(since), None) => format!("messages sent from {}", time_human(since)),
                (None, Some(until)) => format!("messages sent before {}", time_human(until)),
                (Some(since), Some(until)) => format!(
                    "messages sent from {} until before {}",
                    time_human(since),
                    time_human(until)
                ),
            };
            parts.push(range);
        }
        if self.elements.contains(&"consent") {
            parts.push("consent".to_owned());
        }
        if parts.is_empty() {
            "nothing".to_owned()
        } else {
            parts.join(", plus ")
        }
    }
}

fn mode_name(mode: ArchiveMode) -> &'static str {
    match mode {
        ArchiveMode::Records => "records",
        ArchiveMode::Pages => "pages",
    }
}

/// Reads a key file: 64 hexadecimal characters (a trailing newline allowed)
/// or 32 raw bytes.
pub fn read_key(path: &Path) -> Result<ArchiveKey, Failure> {
    let file = File::open(path).map_err(|error| {
        let failure = Failure::io("read key file", path, &error);
        if error.kind() == ErrorKind::NotFound {
            failure.hint("make a key with `keepsake keygen --out KEYFILE`")
        } else {
            failure
        }
    })?;
    let mut contents = Zeroizing::new(Vec::with_capacity(KEY_FILE_MAX as usize + 64));
    file.take(KEY_FILE_MAX + 1)
        .read_to_end(&mut contents)
        .map_err(|error| Failure::io("read key file", path, &error))?;
    let key = if contents.len() as u64 > KEY_FILE_MAX {
        Err(keepsake::Error::InvalidKey {
            reason: format!(
                "a key file must hold 64 hexadecimal characters or exactly 32 bytes, but this one is over {KEY_FILE_MAX} bytes long"
            ),
        })
    } else {
        ArchiveKey::from_key_file(&contents)
    };
    key.map_err(|error| {
        Failure::library(error, Direction::Reading).context(format!("key file {}", path.display()))
    })
}

/// Writes `key` to a new file as 64 hex characters and a newline, readable by
/// its owner only. Never replaces an existing file.
pub fn write_key_file(path: &Path, key: &ArchiveKey) -> Result<(), Failure> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|error| {
        if error.kind() == ErrorKind::AlreadyExists {
            Failure::new(
                FAILURE,
                "exists",
                format!(
                    "{} already exists; keygen never overwrites a key file",
                    path.display()
                ),
            )
            .hint("choose another --out, or delete the old key once no archive needs it")
        } else {
            Failure::io("create key file", path, &error)
        }
    })?;
    let hex = key.to_hex();
    let written = file
        .write_all(hex.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all());
    if let Err(error) = written {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(Failure::io("write key file", path, &error));
    }
    Ok(())
}

/// The size of a database on disk, its write-ahead log included.
fn database_bytes(db: &Path) -> u64 {
    let size = |path: &Path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    size(db) + size(Path::new(&wal))
}

/// Fails unless `path` is an existing regular file.
fn existing_file(path: &Path, what: &str) -> Result<(), Failure> {
    let metadata = std::fs::metadata(path)
        .map_err(|error| Failure::io(&format!("open {what}"), path, &error))?;
    if metadata.is_file() {
        Ok(())
    } else {
        Err(Failure::new(
            FAILURE,
            "io",
            format!("{} is not a file", path.display()),
        ))
    }
}

/// Fails if `path` exists: a command that makes a new file never replaces one.
fn refuse_existing(path: &Path, what: &str, hint: &str) -> Result<(), Failure> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Err(Failure::new(
            FAILURE,
            "exists",
            format!("{} already exists; {what}", path.display()),
        )
        .hint(hint)),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
        Err(error) => Err(Failure::io("check", path, &error)),
    }
}

/// Adds context to an error that does not name the file it concerns.
fn library_failure(error: keepsake::Error, direction: Direction, context: String) -> Failure {
    let failure = Failure::library(error, direction);
    if matches!(failure.kind, "io" | "database") {
        failure.context(context)
    } else {
        failure
    }
}

/// A failed create of `out` from `db`, in either mode.
fn create_failure(error: keepsake::Error, out: &Path, db: &Path) -> Failure {
    library_failure(
        error,
        Direction::Writing,
        format!("cannot create {} from {}", out.display(), db.display()),
    )
}

#[derive(Serialize)]
struct KeygenJson<'a> {
    ok: bool,
    command: &'static str,
    key_file: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recipient: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signer: Option<String>,
}

/// What kind of key `keygen` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// A raw 32-byte archive key (hex).
    Raw,
    /// An X25519 identity; its recipient is printed.
    X25519,
    /// An Ed25519 signing key; its signer is printed.
    Ed25519,
}

/// The time a key file says it was created.
fn created_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `keepsake keygen`.
pub fn keygen(out: &Path, kind: KeyKind) -> Result<Report, Failure> {
    let (human, recipient, signer) = match kind {
        KeyKind::Raw => return keygen_raw(out),
        KeyKind::X25519 => {
            let identity = X25519Identity::generate();
            keys::write_secret_file(out, &identity.to_file_contents(&created_now()))?;
            let recipient = identity.recipient().to_string();
            (
                format!(
                    "wrote a new identity to {}
recipient: {recipient}
                     Give the recipient to whoever makes archives for you (`create --recipient`);
                     keep the identity file private: it opens them.
",
                    out.display()
                ),
                Some(recipient),
                None,
            )
        }
        KeyKind::Ed25519 => {
            let key = SigningKey::generate();
            keys::write_secret_file(out, &key.to_file_contents(&created_now()))?;
            let signer = key.signer().to_string();
            (
                format!(
                    "wrote a new signing key to {}
signer: {signer}
                     Archives made with `create --sign-with` carry this installation's signature;
                     check it with `verify --trusted-signer {signer}`.
",
                    out.display()
                ),
                None,
                Some(signer),
            )
        }
    };
    Report::new(
        human,
        &KeygenJson {
            ok: true,
            command: "keygen",
            key_file: out.to_string_lossy(),
            recipient,
            signer,
        },
    )
}

fn keygen_raw(out: &Path) -> Result<Report, Failure> {
    write_key_file(out, &ArchiveKey::generate())?;
    let human = format!(
        "wrote a new key to {}\n\
         Keep it safe and private: anyone who has it can read the archives made with it,\n\
         and nobody can read them without it.\n",
        out.display()
    );
    Report::new(
        human,
        &KeygenJson {
            ok: true,
            command: "keygen",
            key_file: out.to_string_lossy(),
            recipient: None,
            signer: None,
        },
    )
}

#[derive(Serialize)]
struct SampleJson<'a> {
    ok: bool,
    command: &'static str,
    database: Cow<'a, str>,
    database_bytes: u64,
    seed: u64,
    shape: &'static str,
    counts: Counts,
    elapsed_ms: u64,
}

/// Writes a sample database; shared with the demo.
fn write_sample(db: &Path, options: &SampleOptions) -> Result<SampleReport, Failure> {
    refuse_existing(
        db,
        "sample only writes a new database",
        "choose another --db path",
    )?;
    keepsake_sqlite::sample::write_sample(db, options).map_err(|error| {
        library_failure(
            error,
            Direction::Writing,
            format!("cannot write sample data to {}", db.display()),
        )
    })
}

/// `keepsake sample`.
pub fn sample(
    db: &Path,
    messages: u64,
    conversations: u64,
    seed: u64,
    shape: SampleShape,
    json: bool,
) -> Result<Report, Failure> {
    let options = SampleOptions {
        messages,
        conversations,
        seed,
        shape,
    };
    let started = Instant::now();
    let report = busy(!json, "writing sample data", || write_sample(db, &options))?;
    let elapsed = started.elapsed();
    let counts = Counts::from(&report);
    let database_bytes = database_bytes(db);
    let human = format!(
        "wrote sample data to {} ({}) in {}\n  records   {}\n",
        db.display(),
        bytes_human(database_bytes),
        duration_human(elapsed),
        counts.human()
    );
    Report::new(
        human,
        &SampleJson {
            ok: true,
            command: "sample",
            database: db.to_string_lossy(),
            database_bytes,
            seed,
            shape: match shape {
                SampleShape::Mixed => "mixed",
                SampleShape::TextHeavy => "text-heavy",
                SampleShape::AttachmentHeavy => "attachment-heavy",
            },
            counts,
            elapsed_ms: millis(elapsed),
        },
    )
}

/// What goes into an archive and how it is written, as `create` and
/// `estimate` are asked.
#[derive(Debug)]
pub struct SelectionRequest {
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub elements: Elements,
    /// Whether `--elements` was given, rather than defaulted.
    pub elements_given: bool,
    pub level: i32,
    pub chunk_size: Option<u32>,
    pub threads: Option<usize>,
}

impl SelectionRequest {
    /// Refuses an empty time range with the options' own names.
    fn check(&self) -> Result<(), Failure> {
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since >= until
        {
            return Err(Failure::usage(format!(
                "--since ({}) must be earlier than --until ({}): --since is inclusive and --until exclusive",
                time_human(since),
                time_human(until)
            )));
        }
        Ok(())
    }

    pub fn writer(&self) -> WriterOptions {
        WriterOptions {
            chunk_size: self
                .chunk_size
                .unwrap_or(WriterOptions::default().chunk_size),
            level: self.level,
            threads: self.threads.unwrap_or(WriterOptions::default().threads),
            signing_key: None,
        }
    }

    /// The library's options, reporting progress to `progress`.
    fn options(&self, progress: &Progress) -> CreateOptions {
        CreateOptions {
            start_ns: self.since,
            end_ns: self.until,
            elements: self.elements,
            writer: self.writer(),
            progress: progress.clone(),
        }
    }

    fn selection(&self) -> Selection {
        Selection::new(self.elements, self.since, self.until)
    }
}

/// What `keepsake create` was asked to do.
#[derive(Debug)]
pub struct CreateRequest {
    pub db: PathBuf,
    pub out: PathBuf,
    pub write_for: keys::WriteFor,
    pub sign_with: Option<PathBuf>,
    pub selection: SelectionRequest,
    pub json: bool,
}

#[derive(Serialize)]
struct CreateJson<'a> {
    ok: bool,
    command: &'static str,
    archive: Cow<'a, str>,
    archive_bytes: u64,
    database: Cow<'a, str>,
    database_bytes: u64,
    estimated_bytes: Option<u64>,
    counts: Counts,
    time_range: Option<TimeRange>,
    selection: Selection,
    level: i32,
    chunk_size: u32,
    seek_index: bool,
    key_slots: usize,
    signer: Option<String>,
    elapsed_ms: u64,
}

/// `keepsake create`.
pub fn create(request: &CreateRequest) -> Result<Report, Failure> {
    request.selection.check()?;
    existing_file(&request.db, "database")?;
    refuse_existing(
        &request.out,
        "create never replaces a file",
        "choose another --out, or move the old file away first",
    )?;
    let recipients = request.write_for.recipients()?;
    let signing_key = request
        .sign_with
        .as_deref()
        .map(keys::read_signing_key)
        .transpose()?;
    let signer = signing_key.as_ref().map(|key| key.signer().to_string());
    let writer = request.selection.writer();
    // Only a hint: if it fails, the create below reports why.
    let estimate = keepsake_sqlite::estimate_archive(
        &request.db,
        &request.selection.options(&Progress::default()),
    )
    .ok();
    if let Some(estimate) = &estimate
        && !request.json
    {
        eprintln!("{}", estimate::human_size(estimate));
    }
    let started = Instant::now();
    let report = with_progress(!request.json, "creating the archive", |progress| {
        let mut options = request.selection.options(progress);
        options.writer.signing_key = signing_key.clone();
        keepsake_sqlite::create_archive(&request.db, &request.out, &recipients, &options)
    })
    .map_err(|error| create_failure(error, &request.out, &request.db))?;
    let elapsed = started.elapsed();
    let counts = Counts::from(&report);
    let selection = request.selection.selection();
    let database_bytes = database_bytes(&request.db);
    let mut human = format!(
        "created {}: {} from a {} database, in {}\n  selected  {}\n  records   {}\n  messages  {}\n  key slots {}\n  signature {}\n",
        request.out.display(),
        bytes_human(report.bytes),
        bytes_human(database_bytes),
        duration_human(elapsed),
        selection.human(),
        counts.human(),
        TimeRange::human(report.time_range),
        recipients.len(),
        signer
            .as_deref()
            .map_or("unsigned".to_owned(), |signer| format!(
                "signed by {signer}"
            )),
    );
    if !report.seek_index {
        human.push_str(
            "  (no seek index: it would not fit in one chunk; a partial import will read the whole archive)\n",
        );
    }
    Report::new(
        human,
        &CreateJson {
            ok: true,
            command: "create",
            archive: request.out.to_string_lossy(),
            archive_bytes: report.bytes,
            database: request.db.to_string_lossy(),
            database_bytes,
            estimated_bytes: estimate.map(|estimate| estimate.bytes),
            counts,
            time_range: TimeRange::new(report.time_range),
            selection,
            level: writer.level,
            chunk_size: writer.chunk_size,
            seek_index: report.seek_index,
            key_slots: recipients.len(),
            signer,
            elapsed_ms: millis(elapsed),
        },
    )
}

#[derive(Serialize)]
struct InspectJson<'a> {
    ok: bool,
    command: &'static str,
    archive: Cow<'a, str>,
    archive_bytes: u64,
    format_version: u16,
    key_slots: usize,
    mode: &'static str,
    created_at_ns: i64,
    created_at: Option<String>,
    creator: &'a str,
    selection: Selection,
    counts: Option<Counts>,
    pages: Option<u64>,
    time_range: Option<TimeRange>,
    chunks: Option<u64>,
    plaintext_bytes: Option<u64>,
    /// The seek index's chunk number, when the trailer points to one.
    seek_index_chunk: Option<u64>,
    signature: &'static str,
    signer: Option<String>,
}

/// The signature status in words, for people.
fn signature_human(status: &SignatureStatus) -> String {
    match status {
        SignatureStatus::Unsigned => "unsigned".to_owned(),
        SignatureStatus::Valid(signer) => format!("signed by {signer}, valid"),
        SignatureStatus::Invalid(signer) => format!("signed by {signer}, INVALID"),
        SignatureStatus::UnknownScheme(scheme) => {
            format!("signed with unknown scheme {scheme} (not checked)")
        }
    }
}

/// Reads an archive's summary; shared with the demo.
fn summarize(archive: &Path, identities: &[Identity]) -> Result<ArchiveSummary, Failure> {
    existing_file(archive, "archive")?;
    keepsake_sqlite::archive_metadata(archive, identities).map_err(|error| {
        library_failure(
            error,
            Direction::Reading,
            format!("cannot read {}", archive.display()),
        )
    })
}

/// `keepsake inspect`.
pub fn inspect(archive: &Path, open_with: &keys::OpenWith) -> Result<Report, Failure> {
    let identities = open_with.identities()?;
    let summary = summarize(archive, &identities)?;
    let metadata = &summary.metadata;
    let selection = Selection::of(metadata);
    let trailer = summary.trailer.as_ref();
    let counts = trailer.map(Counts::from);
    let time_range = trailer.and_then(|trailer| trailer.time_range);
    let mut human = format!(
        "archive   {}: {}, format version {}, {} key slot{}\n\
         created   {} by {}\n\
         selected  {}\n",
        archive.display(),
        bytes_human(summary.archive_bytes),
        summary.format_version,
        summary.key_slots,
        if summary.key_slots == 1 { "" } else { "s" },
        time_human(metadata.created_at_ns),
        metadata.creator,
        match metadata.mode {
            ArchiveMode::Pages => "the whole database, as SQLite pages".to_owned(),
            ArchiveMode::Records => selection.human(),
        },
    );
    if let Some(trailer) = trailer
        && metadata.mode == ArchiveMode::Pages
    {
        human.push_str(&format!(
            "pages     {} SQLite pages of a whole-database snapshot (rebuild with `keepsake restore`)\nchunks    {} ({} before compression)\n",
            trailer.pages,
            trailer.chunk_count + 1,
            bytes_human(trailer.plaintext_bytes),
        ));
    } else if let Some(trailer) = trailer {
        human.push_str(&format!(
            "records   {}\nmessages  {}\nchunks    {} ({} before compression)\n",
            Counts::from(trailer).human(),
            TimeRange::human(trailer.time_range),
            trailer.chunk_count + 1,
            bytes_human(trailer.plaintext_bytes),
        ));
        human.push_str(&if trailer.index_chunk == 0 {
            "index     none (a partial import reads the whole archive)\n".to_owned()
        } else {
            format!(
                "index     seek index in chunk {} at byte {}\n",
                trailer.index_chunk, trailer.index_offset
            )
        });
    }
    human.push_str(&format!(
        "signature {}\n",
        signature_human(&summary.signature)
    ));
    human.push_str(
        "(read from the header and the final chunk; `keepsake verify` checks every chunk)\n",
    );
    Report::new(
        human,
        &InspectJson {
            ok: true,
            command: "inspect",
            archive: archive.to_string_lossy(),
            archive_bytes: summary.archive_bytes,
            format_version: summary.format_version,
            key_slots: summary.key_slots,
            mode: mode_name(metadata.mode),
            created_at_ns: metadata.created_at_ns,
            created_at: rfc3339(metadata.created_at_ns),
            creator: &metadata.creator,
            selection,
            counts,
            pages: trailer.map(|trailer| trailer.pages),
            time_range: TimeRange::new(time_range),
            chunks: trailer.map(|trailer| trailer.chunk_count + 1),
            seek_index_chunk: trailer
                .map(|trailer| trailer.index_chunk)
                .filter(|&chunk| chunk != 0),
            plaintext_bytes: trailer.map(|trailer| trailer.plaintext_bytes),
            signature: summary.signature.word(),
            signer: summary.signature.signer().map(|signer| signer.to_string()),
        },
    )
}

#[derive(Serialize)]
struct VerifyJson<'a> {
    ok: bool,
    command: &'static str,
    archive: Cow<'a, str>,
    archive_bytes: u64,
    chunks: u64,
    plaintext_bytes: u64,
    mode: &'static str,
    created_at_ns: i64,
    created_at: Option<String>,
    creator: &'a str,
    selection: Selection,
    counts: Counts,
    pages: u64,
    time_range: Option<TimeRange>,
    signature: &'static str,
    signer: Option<String>,
    elapsed_ms: u64,
}

/// Decodes a whole archive; shared with the demo.
fn verify_archive(
    archive: &Path,
    identities: &[Identity],
    show: bool,
) -> Result<VerifyReport, Failure> {
    existing_file(archive, "archive")?;
    with_progress(show, "verifying the archive", |progress| {
        keepsake_sqlite::verify_archive_with(archive, identities, progress)
    })
    .map_err(|error| {
        library_failure(
            error,
            Direction::Reading,
            format!("cannot verify {}", archive.display()),
        )
    })
}

/// `keepsake verify`.
pub fn verify(
    archive: &Path,
    open_with: &keys::OpenWith,
    trusted_signer: Option<&str>,
    json: bool,
) -> Result<Report, Failure> {
    let trusted = trusted_signer.map(keys::parse_signer).transpose()?;
    let identities = open_with.identities()?;
    let started = Instant::now();
    let report = verify_archive(archive, &identities, !json)?;
    let elapsed = started.elapsed();
    if let Some(trusted) = &trusted {
        keepsake::crypto::signature::require_signer(&report.signature, trusted).map_err(
            |error| {
                library_failure(error, Direction::Reading, String::new()).context(archive.display())
            },
        )?;
    }
    let counts = Counts::from(&report.trailer);
    let mut human = format!(
        "{} is intact: {} chunks ({}) authenticated in {}\n  signature {}\n",
        archive.display(),
        report.chunks,
        bytes_human(report.bytes),
        duration_human(elapsed),
        signature_human(&report.signature),
    );
    if report.metadata.mode == ArchiveMode::Pages {
        human.push_str(&format!(
            "  pages     {} SQLite pages of a whole-database snapshot\n",
            report.trailer.pages
        ));
    } else {
        human.push_str(&format!(
            "  records   {}\n  messages  {}\n",
            counts.human(),
            TimeRange::human(report.trailer.time_range),
        ));
    }
    Report::new(
        human,
        &VerifyJson {
            ok: true,
            command: "verify",
            archive: archive.to_string_lossy(),
            archive_bytes: report.bytes,
            chunks: report.chunks,
            plaintext_bytes: report.trailer.plaintext_bytes,
            mode: mode_name(report.metadata.mode),
            created_at_ns: report.metadata.created_at_ns,
            created_at: rfc3339(report.metadata.created_at_ns),
            creator: &report.metadata.creator,
            selection: Selection::of(&report.metadata),
            counts,
            pages: report.trailer.pages,
            time_range: TimeRange::new(report.trailer.time_range),
            signature: report.signature.word(),
            signer: report.signature.signer().map(|signer| signer.to_string()),
            elapsed_ms: millis(elapsed),
        },
    )
}

#[derive(Serialize)]
struct ImportJson<'a> {
    ok: bool,
    command: &'static str,
    archive: Cow<'a, str>,
    database: Cow<'a, str>,
    inserted: Counts,
    skipped: Counts,
    elapsed_ms: u64,
}

/// An import's failure, with what was being done and the all-or-nothing hint.
fn import_failure(error: keepsake::Error, archive: &Path, db: &Path) -> Failure {
    library_failure(
        error,
        Direction::Reading,
        format!("cannot import {} into {}", archive.display(), db.display()),
    )
    .hint(format!(
        "nothing was imported into {}: an import is all or nothing",
        db.display()
    ))
}

/// Imports an archive; shared with the demo.
fn import_archive(
    archive: &Path,
    db: &Path,
    identities: &[Identity],
    show: bool,
) -> Result<ImportReport, Failure> {
    existing_file(archive, "archive")?;
    with_progress(show, "importing the archive", |progress| {
        keepsake_sqlite::import_archive_with(archive, identities, db, progress)
    })
    .map_err(|error| import_failure(error, archive, db))
}

#[derive(Serialize)]
struct PartialImportJson<'a> {
    ok: bool,
    command: &'static str,
    archive: Cow<'a, str>,
    database: Cow<'a, str>,
    inserted: Counts,
    skipped: Counts,
    used_index: bool,
    chunks_decrypted: u64,
    chunks_total: u64,
    elapsed_ms: u64,
}

/// `keepsake import`: the whole archive, or the part `selection` takes.
pub fn import(
    archive: &Path,
    db: &Path,
    open_with: &keys::OpenWith,
    selection: &keepsake::Selection,
    json: bool,
) -> Result<Report, Failure> {
    let identities = open_with.identities()?;
    if selection.is_everything() {
        return import_all(archive, db, &identities, json);
    }
    if let (Some(since), Some(until)) = (selection.since, selection.until)
        && since >= until
    {
        return Err(Failure::usage(
            "--since must be earlier than --until: --since is inclusive and --until exclusive",
        ));
    }
    existing_file(archive, "archive")?;
    let started = Instant::now();
    let report = with_progress(!json, "importing part of the archive", |progress| {
        keepsake_sqlite::import_selected(archive, &identities, db, selection, progress)
    })
    .map_err(|error| import_failure(error, archive, db))?;
    let elapsed = started.elapsed();
    let (inserted, skipped) = import_counts(&report.import);
    let mut human = format!(
        "imported part of {} into {} in {}\n",
        archive.display(),
        db.display(),
        duration_human(elapsed)
    );
    human.push_str(&import_table(inserted, skipped));
    if report.seek.used_index {
        human.push_str(&format!(
            "decrypted {} of {} chunks, found through the archive's seek index\n",
            report.seek.chunks_decrypted, report.seek.chunks_total
        ));
    } else {
        human.push_str(&format!(
            "the archive has no seek index: read and verified all {} chunks, then filtered\n",
            report.seek.chunks_total
        ));
    }
    Report::new(
        human,
        &PartialImportJson {
            ok: true,
            command: "import",
            archive: archive.to_string_lossy(),
            database: db.to_string_lossy(),
            inserted,
            skipped,
            used_index: report.seek.used_index,
            chunks_decrypted: report.seek.chunks_decrypted,
            chunks_total: report.seek.chunks_total,
            elapsed_ms: millis(elapsed),
        },
    )
}

/// The inserted / skipped table of an import's summary.
fn import_table(inserted: Counts, skipped: Counts) -> String {
    let mut human = "                 inserted   skipped\n".to_owned();
    for (name, inserted, skipped) in [
        (
            "conversations",
            inserted.conversations,
            skipped.conversations,
        ),
        ("messages", inserted.messages, skipped.messages),
        ("consent", inserted.consent, skipped.consent),
    ] {
        human.push_str(&format!("  {name:<13} {inserted:>10} {skipped:>9}\n"));
    }
    human
}

/// `keepsake import` of a whole archive.
fn import_all(
    archive: &Path,
    db: &Path,
    identities: &[Identity],
    json: bool,
) -> Result<Report, Failure> {
    let started = Instant::now();
    let report = import_archive(archive, db, identities, !json)?;
    let elapsed = started.elapsed();
    let (inserted, skipped) = import_counts(&report);
    let mut human = format!(
        "imported {} into {} in {}\n",
        archive.display(),
        db.display(),
        duration_human(elapsed)
    );
    human.push_str(&import_table(inserted, skipped));
    if inserted.total() == 0 && skipped.total() > 0 {
        human.push_str("(everything was already in the database)\n");
    }
    Report::new(
        human,
        &ImportJson {
            ok: true,
            command: "import",
            archive: archive.to_string_lossy(),
            database: db.to_string_lossy(),
            inserted,
            skipped,
            elapsed_ms: millis(elapsed),
        },
    )
}
