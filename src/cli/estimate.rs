//! `keepsake estimate`: how large an archive of a database would be, before
//! spending the time and space to write it.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Instant;

use clap::ValueEnum;
use serde::Serialize;

use keepsake::Progress;

use keepsake_sqlite::SizeEstimate;

use super::exit::{Direction, Failure};
use super::progress_bar::busy;
use super::units::{bytes_human, duration_human, millis};
use super::{
    Counts, Report, Selection, SelectionRequest, database_bytes, existing_file, library_failure,
};

/// What an estimate is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// The rows `create` archives: conversations, messages and consent.
    Rows,
    /// A snapshot of the whole database's pages (`create --mode pages`).
    Pages,
}

/// What `keepsake estimate` was asked to do.
#[derive(Debug)]
pub struct EstimateRequest {
    pub db: PathBuf,
    pub selection: SelectionRequest,
    pub mode: Mode,
    pub json: bool,
}

#[derive(Serialize)]
struct EstimateJson<'a> {
    ok: bool,
    command: &'static str,
    database: Cow<'a, str>,
    database_bytes: u64,
    mode: &'static str,
    estimated_bytes: u64,
    low_bytes: u64,
    high_bytes: u64,
    counts: Counts,
    plaintext_bytes: u64,
    chunks: u64,
    compression_ratio: f64,
    sampled_bytes: u64,
    selection: Selection,
    level: i32,
    chunk_size: u32,
    elapsed_ms: u64,
}

/// The estimate in one line, for people: its size and the range it likely
/// falls in.
pub fn human_size(estimate: &SizeEstimate) -> String {
    if estimate.low_bytes == estimate.high_bytes {
        format!("estimated size: {}", bytes_human(estimate.bytes))
    } else {
        format!(
            "estimated size: about {} (likely {} to {})",
            bytes_human(estimate.bytes),
            bytes_human(estimate.low_bytes),
            bytes_human(estimate.high_bytes)
        )
    }
}

/// `keepsake estimate`.
pub fn estimate(request: &EstimateRequest) -> Result<Report, Failure> {
    if request.mode == Mode::Pages {
        return estimate_pages(request);
    }
    let selection = &request.selection;
    selection.check()?;
    existing_file(&request.db, "database")?;
    let options = selection.options(&Progress::default());
    let started = Instant::now();
    let estimate = busy(!request.json, "estimating the archive", || {
        keepsake_sqlite::estimate_archive(&request.db, &options)
    })
    .map_err(|error| {
        library_failure(
            error,
            Direction::Writing,
            format!("cannot estimate an archive of {}", request.db.display()),
        )
    })?;
    let elapsed = started.elapsed();
    let counts = Counts {
        conversations: estimate.conversations,
        messages: estimate.messages,
        consent: estimate.consent,
    };
    let database_bytes = database_bytes(&request.db);
    let human = format!(
        "{} for {} ({} database), found in {}\n  selected  {}\n  records   {}\n  \
         content   {} in {} chunks before compression, compressing to about {:.0}% \
         (measured on {} of it)\n",
        human_size(&estimate),
        request.db.display(),
        bytes_human(database_bytes),
        duration_human(elapsed),
        selection.selection().human(),
        counts.human(),
        bytes_human(estimate.plaintext_bytes),
        estimate.chunks,
        estimate.compression_ratio * 100.0,
        bytes_human(estimate.sampled_bytes),
    );
    Report::new(
        human,
        &EstimateJson {
            ok: true,
            command: "estimate",
            database: request.db.to_string_lossy(),
            database_bytes,
            mode: "rows",
            estimated_bytes: estimate.bytes,
            low_bytes: estimate.low_bytes,
            high_bytes: estimate.high_bytes,
            counts,
            plaintext_bytes: estimate.plaintext_bytes,
            chunks: estimate.chunks,
            compression_ratio: estimate.compression_ratio,
            sampled_bytes: estimate.sampled_bytes,
            selection: selection.selection(),
            level: options.writer.level,
            chunk_size: options.writer.chunk_size,
            elapsed_ms: millis(elapsed),
        },
    )
}

#[derive(Serialize)]
struct PagesEstimateJson<'a> {
    ok: bool,
    command: &'static str,
    database: Cow<'a, str>,
    database_bytes: u64,
    mode: &'static str,
    estimated_bytes: u64,
    low_bytes: u64,
    high_bytes: u64,
    plaintext_bytes: u64,
    chunks: u64,
    compression_ratio: f64,
    sampled_bytes: u64,
    level: i32,
    chunk_size: u32,
    elapsed_ms: u64,
}

/// `keepsake estimate --mode pages`.
fn estimate_pages(request: &EstimateRequest) -> Result<Report, Failure> {
    let selection = &request.selection;
    if selection.since.is_some() || selection.until.is_some() || selection.elements_given {
        return Err(Failure::usage(
            "--since, --until and --elements select rows; --mode pages always archives the whole database",
        ));
    }
    existing_file(&request.db, "database")?;
    let writer = selection.writer();
    let started = Instant::now();
    let estimate = busy(!request.json, "estimating the snapshot", || {
        keepsake_sqlite::estimate_page_archive(&request.db, &writer)
    })
    .map_err(|error| {
        library_failure(
            error,
            Direction::Writing,
            format!("cannot estimate a snapshot of {}", request.db.display()),
        )
    })?;
    let elapsed = started.elapsed();
    let database_bytes = database_bytes(&request.db);
    let human = format!(
        "{} for a snapshot of {} ({} database), found in {}\n  \
         pages     {} in {} chunks before compression, compressing to about {:.0}% \
         (measured on {} of it)\n",
        human_size(&estimate),
        request.db.display(),
        bytes_human(database_bytes),
        duration_human(elapsed),
        bytes_human(estimate.plaintext_bytes),
        estimate.chunks,
        estimate.compression_ratio * 100.0,
        bytes_human(estimate.sampled_bytes),
    );
    Report::new(
        human,
        &PagesEstimateJson {
            ok: true,
            command: "estimate",
            database: request.db.to_string_lossy(),
            database_bytes,
            mode: "pages",
            estimated_bytes: estimate.bytes,
            low_bytes: estimate.low_bytes,
            high_bytes: estimate.high_bytes,
            plaintext_bytes: estimate.plaintext_bytes,
            chunks: estimate.chunks,
            compression_ratio: estimate.compression_ratio,
            sampled_bytes: estimate.sampled_bytes,
            level: writer.level,
            chunk_size: writer.chunk_size,
            elapsed_ms: millis(elapsed),
        },
    )
}
