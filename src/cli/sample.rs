//! `keepsake sample`: a database of realistic sample data.

use std::borrow::Cow;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use keepsake_sqlite::sample::{SampleOptions, SampleReport, SampleShape};

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
