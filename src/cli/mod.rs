//! The commands: each checks what the library cannot (files that must or
//! must not exist, the key file), makes one library call and describes the
//! result twice, for people and as one JSON object.

pub mod bench;
mod create;
pub mod demo;
pub mod estimate;
pub mod exit;
mod import;
mod inspect;
mod keygen;
pub mod keys;
pub mod limits;
pub mod location;
pub mod pages;
pub mod progress_bar;
pub mod rekey;
pub mod salvage;
mod sample;
pub mod slots;
pub mod units;

pub use create::*;
pub use import::*;
pub use inspect::*;
pub use keygen::*;
pub use sample::*;

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::Path;

use serde::Serialize;
use zeroize::Zeroizing;

use keepsake::format::Trailer;
use keepsake::{ArchiveKey, ArchiveMetadata, ArchiveMode, Elements};
use keepsake_sqlite::sample::SampleReport;
use keepsake_sqlite::{CreateReport, ImportReport};

use exit::{Direction, FAILURE, Failure};
use progress_bar::busy;
use units::{rfc3339, time_human};

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
pub(crate) struct Selection {
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

/// Reads a key file to open an archive with: the text form, or 32 raw bytes
/// (spec §4.5.5). Raw bytes that do not look random are accepted, since an
/// archive may already depend on them, with a loud warning on stderr.
pub fn read_key(path: &Path) -> Result<ArchiveKey, Failure> {
    let (key, form) = read_key_file(path)?;
    if let keepsake::KeyFileForm::Implausible(why) = form {
        eprintln!(
            "keepsake: warning: key file {}: {why}. Anyone holding an archive made for it can test guesses offline, \
             one fast hash each. Move its archives to a random key: `keepsake keygen --out NEW.key`, then \
             `keepsake rekey ARCHIVE --out NEW --key-file {} --to-key-file NEW.key`.",
            path.display(),
            path.display()
        );
    }
    Ok(key)
}

/// Reads a key file and says what it looked like.
pub(crate) fn read_key_file(path: &Path) -> Result<(ArchiveKey, keepsake::KeyFileForm), Failure> {
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
        ArchiveKey::read_key_file(&contents)
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
    // Storage errors name their object and what was being done already.
    let named = matches!(&error, keepsake::Error::Io(io) if keepsake_store::is_store_error(io));
    let failure = Failure::library(error, direction);
    if !named
        && matches!(
            failure.kind,
            "io" | "database" | "not_found" | "access_denied" | "exists"
        )
    {
        failure.context(context)
    } else {
        failure
    }
}

/// A failed create of `out` from `db`, in either mode.
fn create_failure(error: keepsake::Error, out: &location::Archive, db: &Path) -> Failure {
    library_failure(
        error,
        Direction::Writing,
        format!("cannot create {out} from {}", db.display()),
    )
}
