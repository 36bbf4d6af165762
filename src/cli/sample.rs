//! `keepsake sample`: a database of realistic sample data.

use std::borrow::Cow;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use keepsake_sqlite::sample::{SampleOptions, SampleOrder, SampleReport, SampleShape};

use super::exit::{Direction, Failure};
use super::progress_bar::busy;
use super::units::{bytes_human, duration_human, millis};
use super::{Counts, Report, database_bytes, library_failure, refuse_existing};

#[derive(Serialize)]
pub(crate) struct SampleJson<'a> {
    pub(crate) ok: bool,
    pub(crate) command: &'static str,
    pub(crate) database: Cow<'a, str>,
    pub(crate) database_bytes: u64,
    pub(crate) seed: u64,
    pub(crate) shape: &'static str,
    pub(crate) order: &'static str,
    pub(crate) counts: Counts,
    pub(crate) elapsed_ms: u64,
}

/// Writes a sample database; shared with the demo.
pub(crate) fn write_sample(db: &Path, options: &SampleOptions) -> Result<SampleReport, Failure> {
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
pub fn sample(db: &Path, options: &SampleOptions, json: bool) -> Result<Report, Failure> {
    let started = Instant::now();
    let report = busy(!json, "writing sample data", || write_sample(db, options))?;
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
            seed: options.seed,
            shape: match options.shape {
                SampleShape::Mixed => "mixed",
                SampleShape::TextHeavy => "text-heavy",
                SampleShape::AttachmentHeavy => "attachment-heavy",
            },
            order: match options.order {
                SampleOrder::Sync => "sync",
                SampleOrder::Grouped => "grouped",
            },
            counts,
            elapsed_ms: millis(elapsed),
        },
    )
}
