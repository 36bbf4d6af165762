//! `keepsake create`: what to select, and the records archive of a database.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use keepsake::{Elements, Progress, WriterOptions};
use keepsake_sqlite::CreateOptions;

use super::exit::Failure;
use super::location::Archive;
use super::progress_bar::with_progress;
use super::units::{TimeRange, bytes_human, duration_human, millis, time_human};
use super::{Counts, Report, Selection, create_failure, database_bytes, existing_file};

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
    pub(crate) fn check(&self) -> Result<(), Failure> {
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
    pub(crate) fn options(&self, progress: &Progress) -> CreateOptions {
        CreateOptions {
            start_ns: self.since,
            end_ns: self.until,
            elements: self.elements,
            writer: self.writer(),
            progress: progress.clone(),
        }
    }

    pub(crate) fn selection(&self) -> Selection {
        Selection::new(self.elements, self.since, self.until)
    }
}

/// Why `create` refuses an existing archive, and what to do.
pub(crate) const CREATE_REFUSES: &str =
    "create never replaces an archive unless --replace is given";
pub(crate) const CREATE_HINT: &str =
    "choose another --out, give --replace, or move the old archive away first";

/// What `keepsake create` was asked to do.
#[derive(Debug)]
pub struct CreateRequest {
    pub db: PathBuf,
    pub out: Archive,
    /// Whether an existing archive at `out` may be replaced.
    pub replace: bool,
    pub write_for: super::keys::WriteFor,
    pub sign_with: Option<PathBuf>,
    pub selection: SelectionRequest,
    pub json: bool,
}

#[derive(Serialize)]
pub(crate) struct CreateJson<'a> {
    pub(crate) ok: bool,
    pub(crate) command: &'static str,
    pub(crate) archive: Cow<'a, str>,
    pub(crate) archive_bytes: u64,
    pub(crate) database: Cow<'a, str>,
    pub(crate) database_bytes: u64,
    pub(crate) estimated_bytes: Option<u64>,
    pub(crate) counts: Counts,
    pub(crate) time_range: Option<TimeRange>,
    pub(crate) selection: Selection,
    pub(crate) level: i32,
    pub(crate) chunk_size: u32,
    pub(crate) seek_index: bool,
    pub(crate) key_slots: usize,
    pub(crate) signer: Option<String>,
    pub(crate) elapsed_ms: u64,
}

/// `keepsake create`.
pub fn create(request: &CreateRequest) -> Result<Report, Failure> {
    request.selection.check()?;
    existing_file(&request.db, "database")?;
    let recipients = request.write_for.recipients()?;
    let signing_key = request
        .sign_with
        .as_deref()
        .map(super::keys::read_signing_key)
        .transpose()?;
    let mut sink = request
        .out
        .sink(request.replace, CREATE_REFUSES, CREATE_HINT)?;
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
        eprintln!("{}", super::estimate::human_size(estimate));
    }
    let started = Instant::now();
    let report = with_progress(!request.json, "creating the archive", |progress| {
        let mut options = request.selection.options(progress);
        options.writer.signing_key = signing_key.clone();
        keepsake_sqlite::create_archive_to(&request.db, &mut sink, &recipients, &options)
    })
    .map_err(|error| create_failure(error, &request.out, &request.db))?;
    let elapsed = started.elapsed();
    let counts = Counts::from(&report);
    let selection = request.selection.selection();
    let database_bytes = database_bytes(&request.db);
    let mut human = format!(
        "created {}: {} from a {} database, in {}\n  selected  {}\n  records   {}\n  messages  {}\n  key slots {}\n  signature {}\n",
        request.out,
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
            archive: request.out.name(),
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
