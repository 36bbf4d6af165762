//! Where an archive is, as given on the command line — a local path or an
//! object URL (`s3://bucket/key`, `gs://`, `az://`, `https://`) — and the one
//! place that opens it: as a stream, for ranged reads, or as the sink of a
//! new archive.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use keepsake::storage::SeekRanges;
use keepsake::{
    ArchiveSink, ArchiveSummary, FileSink, Identity, RangeRead, RangeReader, WriteMode,
};
use keepsake_sqlite::ReadTotals;
use keepsake_store::{ObjectArchive, StoreOptions};

use super::exit::{Direction, Failure};
use super::{existing_file, library_failure, refuse_existing};

/// An archive argument: a local file, or an object in storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArchiveLocation {
    /// A path on this machine.
    File(PathBuf),
    /// An object URL, as given.
    Object(String),
}

/// Parses an archive argument: a URL of object storage, or else a path.
pub fn parse_location(text: &str) -> Result<ArchiveLocation, String> {
    if keepsake_store::is_object_url(text) {
        return Ok(ArchiveLocation::Object(text.to_owned()));
    }
    if let Some((scheme, _)) = text.split_once("://")
        && !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return Err(format!(
            "{scheme}:// is not a kind of storage keepsake reaches: give a local path, or an s3://, gs://, az:// or https:// URL"
        ));
    }
    Ok(ArchiveLocation::File(PathBuf::from(text)))
}

impl fmt::Display for ArchiveLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArchiveLocation::File(path) => write!(f, "{}", path.display()),
            ArchiveLocation::Object(url) => f.write_str(url),
        }
    }
}

/// How to reach object storage: flags over the store's environment variables.
#[derive(Debug, Clone, Args)]
#[command(
    next_help_heading = "Object storage (archives given as s3://, gs://, az:// or https:// URLs)"
)]
pub struct StoreArgs {
    /// The S3 endpoint, for an S3-compatible server [default: $AWS_ENDPOINT_URL].
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// The S3 region [default: $AWS_REGION].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// The S3 access key id [default: $AWS_ACCESS_KEY_ID].
    #[arg(long, value_name = "ID")]
    pub access_key_id: Option<String>,
    /// The name of an environment variable holding the S3 secret access key
    /// (never given on the command line) [default: AWS_SECRET_ACCESS_KEY].
    #[arg(long, value_name = "VAR")]
    pub secret_access_key_env: Option<String>,
    /// Any other setting of the store by object_store's name, such as
    /// aws_session_token, google_service_account or proxy_url; repeatable.
    /// Secrets are better left in the store's environment variables.
    #[arg(long = "store-option", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub store_options: Vec<(String, String)>,
    /// Allow plain http:// to an endpoint that is not a loopback address.
    #[arg(long)]
    pub allow_http: bool,
    /// How many times a failed request (a dropped connection, a server
    /// error, a timeout) is retried, with exponential backoff.
    #[arg(long, value_name = "N", default_value_t = StoreOptions::default().retries)]
    pub store_retries: usize,
    /// Seconds a request may wait for the server to send anything.
    #[arg(long, value_name = "SECONDS", default_value_t = StoreOptions::default().read_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub store_timeout: u64,
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .filter(|(key, _)| !key.is_empty())
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))
}

impl StoreArgs {
    fn options(&self) -> Result<StoreOptions, Failure> {
        let secret = match &self.secret_access_key_env {
            None => None,
            Some(var) => Some(std::env::var(var).map_err(|_| {
                Failure::usage(format!(
                    "the environment variable {var} is not set, or is not valid UTF-8"
                ))
            })?),
        };
        Ok(StoreOptions {
            endpoint: self.endpoint_url.clone(),
            region: self.region.clone(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: secret,
            config: self.store_options.clone(),
            allow_http: self.allow_http,
            retries: self.store_retries,
            read_timeout: Duration::from_secs(self.store_timeout),
            ..StoreOptions::default()
        })
    }
}

/// What a ranged read fetched of an archive, for the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fetched {
    /// The archive's size.
    pub archive_bytes: u64,
    /// The bytes the storage served.
    pub bytes: u64,
    /// The requests (or, for a local file, reads) it took.
    pub requests: u64,
}

impl Fetched {
    pub(crate) fn of<S: RangeRead>(reader: &mut RangeReader<S>) -> Fetched {
        Fetched {
            archive_bytes: reader.size().unwrap_or(0),
            bytes: reader.bytes_fetched(),
            requests: reader.fetches(),
        }
    }

    /// "fetched 80.0 KiB of 200.1 MiB (0.04%) in 4 requests".
    pub fn human(&self) -> String {
        let share = if self.archive_bytes == 0 {
            0.0
        } else {
            self.bytes as f64 * 100.0 / self.archive_bytes as f64
        };
        format!(
            "fetched {} of {} ({share:.2}%) in {} ranged read{}",
            super::units::bytes_human(self.bytes),
            super::units::bytes_human(self.archive_bytes),
            self.requests,
            if self.requests == 1 { "" } else { "s" }
        )
    }
}

/// An archive location with the settings to reach it: what commands open.
#[derive(Clone, Debug)]
pub struct Archive {
    location: ArchiveLocation,
    store: StoreOptions,
}

impl fmt::Display for Archive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.location.fmt(f)
    }
}

/// A ranged reader of a file or an object.
pub type Ranged = RangeReader<Box<dyn RangeRead>>;

impl Archive {
    /// `location`, reached with `store` when it is an object.
    pub fn new(location: ArchiveLocation, store: &StoreArgs) -> Result<Archive, Failure> {
        let store = match location {
            ArchiveLocation::Object(_) => store.options()?,
            ArchiveLocation::File(_) => StoreOptions::default(),
        };
        Ok(Archive { location, store })
    }

    /// A local file.
    pub fn local(path: &Path) -> Archive {
        Archive {
            location: ArchiveLocation::File(path.to_owned()),
            store: StoreOptions::default(),
        }
    }

    /// The archive as given, for reports.
    pub fn name(&self) -> Cow<'_, str> {
        match &self.location {
            ArchiveLocation::File(path) => path.to_string_lossy(),
            ArchiveLocation::Object(url) => Cow::Borrowed(url),
        }
    }

    fn failure(&self, error: keepsake::Error) -> Failure {
        library_failure(error, Direction::Reading, format!("cannot read {self}"))
    }

    fn object(&self, url: &str) -> Result<ObjectArchive, Failure> {
        ObjectArchive::from_url(url, &self.store).map_err(|error| {
            Failure::library(error, Direction::Reading)
                .hint("object URLs look like s3://bucket/path/to/archive.keepsake")
        })
    }

    /// Fails early when a local archive is missing; an object's absence is
    /// found by its first request.
    pub fn check_readable(&self) -> Result<(), Failure> {
        match &self.location {
            ArchiveLocation::File(path) => existing_file(path, "archive"),
            ArchiveLocation::Object(url) => self.object(url).map(drop),
        }
    }

    /// The whole archive as a stream: a file, or a download.
    pub fn stream(&self) -> Result<Box<dyn Read>, Failure> {
        match &self.location {
            ArchiveLocation::File(path) => {
                existing_file(path, "archive")?;
                let file =
                    File::open(path).map_err(|error| Failure::io("open archive", path, &error))?;
                Ok(Box::new(file))
            }
            ArchiveLocation::Object(url) => Ok(Box::new(
                self.object(url)?
                    .stream()
                    .map_err(|error| self.failure(error))?,
            )),
        }
    }

    /// Ranged reads of the archive, counting what they fetch.
    pub fn ranged(&self) -> Result<Ranged, Failure> {
        let source: Box<dyn RangeRead> = match &self.location {
            ArchiveLocation::File(path) => {
                existing_file(path, "archive")?;
                let file =
                    File::open(path).map_err(|error| Failure::io("open archive", path, &error))?;
                Box::new(SeekRanges(file))
            }
            ArchiveLocation::Object(url) => Box::new(self.object(url)?.ranges()),
        };
        Ok(RangeReader::new(source))
    }

    /// The header, metadata and trailer, from a few ranged reads, and what they fetched.
    pub fn summary(
        &self,
        identities: &[Identity],
        limits: keepsake::Limits,
    ) -> Result<(ArchiveSummary, Fetched), Failure> {
        let mut reader = self.ranged()?;
        let summary = keepsake::read_summary(&mut reader, identities, limits)
            .map_err(|error| self.failure(error))?;
        Ok((summary, Fetched::of(&mut reader)))
    }

    /// Opens the archive once, through its summary: the progress totals of
    /// a full read and the identities that read opens it with (see
    /// [`keepsake_sqlite::plan_full_read`]). A key-slot error is turned into
    /// a failure by `failure`, which says what was being done.
    pub fn open_once(
        &self,
        identities: &[Identity],
        limits: keepsake::Limits,
        failure: impl FnOnce(keepsake::Error) -> Failure,
    ) -> Result<(ReadTotals, Vec<Identity>), Failure> {
        let mut reader = self.ranged()?;
        let summary = keepsake::read_summary(&mut reader, identities, limits);
        keepsake_sqlite::plan_full_read(summary, identities).map_err(failure)
    }

    /// A sink for a new archive here; with `replace` false an existing
    /// file or object is refused now (and again when the archive is committed).
    /// `what` and `hint` say why an existing one is refused and what to do.
    pub fn sink(
        &self,
        replace: bool,
        what: &str,
        hint: &str,
    ) -> Result<Box<dyn ArchiveSink>, Failure> {
        let mode = if replace {
            WriteMode::Replace
        } else {
            WriteMode::CreateNew
        };
        match &self.location {
            ArchiveLocation::File(path) => {
                if !replace {
                    refuse_existing(path, what, hint)?;
                }
                let sink = FileSink::create(path, mode).map_err(|error| {
                    library_failure(
                        error,
                        Direction::Writing,
                        format!("cannot create {}", path.display()),
                    )
                })?;
                Ok(Box::new(sink))
            }
            ArchiveLocation::Object(url) => {
                let sink = self.object(url)?.sink(mode).map_err(|error| {
                    let failure = Failure::library(error, Direction::Writing);
                    if failure.kind == "exists" {
                        failure.hint(hint)
                    } else {
                        failure
                    }
                })?;
                Ok(Box::new(sink))
            }
        }
    }
}
