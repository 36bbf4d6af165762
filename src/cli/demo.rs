//! `keepsake demo`: the whole round trip on sample data in a temporary
//! directory, each step timed and checked against the one before.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use keepsake::Limits;
use keepsake_sqlite::sample::SampleOptions;

use super::exit::{Direction, FAILURE, Failure};
use super::units::{TimeRange, bytes_human, duration_human, millis};
use super::{
    Counts, Report, database_bytes, import_archive, import_counts, library_failure, read_key,
    summarize, verify_archive, write_key_file, write_sample,
};

/// Prints one row of the table as soon as its step is done. A closed stdout
/// does not stop the demo; the final summary reports it.
fn row(step: &str, result: &str, elapsed: Duration) {
    let time = duration_human(elapsed);
    let _ = writeln!(
        std::io::stdout(),
        "  {step:<STEP$} {result:<RESULT$} {time:>TIME$}"
    );
}

/// Column widths of the table.
const STEP: usize = 21;
const RESULT: usize = 40;
const TIME: usize = 9;

/// A check on the library's results; a failure here is a bug in Keepsake.
fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(Failure::new(
            FAILURE,
            "demo_check",
            format!("the demo's own check failed: {}", what()),
        ))
    }
}

fn timed<T>(work: impl FnOnce() -> Result<T, Failure>) -> Result<(T, Duration), Failure> {
    let started = Instant::now();
    let value = work()?;
    Ok((value, started.elapsed()))
}

#[derive(Serialize)]
struct DemoJson {
    ok: bool,
    command: &'static str,
    database_bytes: u64,
    archive_bytes: u64,
    counts: Counts,
    elapsed_ms: u64,
}

/// `keepsake demo`.
pub fn run(messages: u64, conversations: u64) -> Result<Report, Failure> {
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("keepsake-demo-")
        .tempdir()
        .map_err(|error| {
            Failure::new(
                FAILURE,
                "io",
                format!("cannot make a temporary directory: {error}"),
            )
        })?;
    let path = |name: &str| dir.path().join(name);
    let (key_file, db, archive, restored) = (
        path("demo.key"),
        path("messages.db"),
        path("backup.keepsake"),
        path("restored.db"),
    );
    let _ = writeln!(
        std::io::stdout(),
        "Keepsake demo, in a temporary directory that is removed at the end\n\n  \
         {:<STEP$} {:<RESULT$} {:>TIME$}\n  {}",
        "step",
        "result",
        "time",
        "-".repeat(STEP + RESULT + TIME + 2)
    );

    let (key, elapsed) = timed(|| {
        write_key_file(&key_file, &keepsake::ArchiveKey::generate())?;
        read_key(&key_file)
    })?;
    let identities = [keepsake::Identity::RawKey(key.clone())];
    row(
        "keygen",
        &format!("256-bit key in {}", file_name(&key_file)),
        elapsed,
    );

    let options = SampleOptions {
        messages,
        conversations,
        seed: 1,
        ..SampleOptions::default()
    };
    let (sample, elapsed) = timed(|| write_sample(&db, &options))?;
    let db_bytes = database_bytes(&db);
    let sampled = Counts::from(&sample);
    row(
        "sample",
        &format!(
            "{} records, {} database",
            sampled.total(),
            bytes_human(db_bytes)
        ),
        elapsed,
    );

    let (created, elapsed) = timed(|| {
        keepsake_sqlite::create_archive(&db, &archive, &[&key], &Default::default()).map_err(
            |error| {
                library_failure(
                    error,
                    Direction::Writing,
                    "cannot create the archive".into(),
                )
            },
        )
    })?;
    let counts = Counts::from(&created);
    row(
        "create",
        &format!(
            "{} archive, {}% of the database",
            bytes_human(created.bytes),
            percent(created.bytes, db_bytes)
        ),
        elapsed,
    );

    let archive = super::location::Archive::local(&archive);
    let ((summary, _), elapsed) = timed(|| summarize(&archive, &identities, Limits::default()))?;
    let listed = summary.trailer.as_ref().map(Counts::from);
    check(listed == Some(counts), || {
        format!("inspect lists {listed:?}, create wrote {counts:?}")
    })?;
    row(
        "inspect",
        &format!(
            "format {}, {} key slot, {} records",
            summary.format_version,
            summary.key_slots,
            counts.total()
        ),
        elapsed,
    );

    let (first, elapsed) = timed(|| {
        import_archive(
            &archive,
            &restored,
            &identities,
            None,
            Limits::default(),
            false,
        )
    })?;
    let (inserted, skipped) = import_counts(&first);
    check(inserted == counts && skipped == Counts::default(), || {
        format!("a first import inserted {inserted:?} and skipped {skipped:?} of {counts:?}")
    })?;
    row(
        "import (new database)",
        &format!("inserted {} records", inserted.total()),
        elapsed,
    );

    let (again, elapsed) = timed(|| {
        import_archive(
            &archive,
            &restored,
            &identities,
            None,
            Limits::default(),
            false,
        )
    })?;
    let (inserted, skipped) = import_counts(&again);
    check(inserted == Counts::default() && skipped == counts, || {
        format!("a second import inserted {inserted:?} and skipped {skipped:?} of {counts:?}")
    })?;
    row(
        "import again",
        &format!("inserted 0, skipped {} already there", skipped.total()),
        elapsed,
    );

    let (verified, elapsed) =
        timed(|| verify_archive(&archive, &identities, Limits::default(), false))?;
    let intact = Counts::from(&verified.trailer);
    check(intact == counts, || {
        format!("verify found {intact:?}, create wrote {counts:?}")
    })?;
    row(
        "verify",
        &format!("{} chunks authenticated, no damage", verified.chunks),
        elapsed,
    );

    let total = started.elapsed();
    let human = format!(
        "\nrecords   {}\n\
         messages  {}\n\
         sizes     database {}, archive {} ({}%)\n\
         total     {}\n\n\
         Next: `keepsake keygen --out my.key`, then `keepsake create --help`.\n",
        counts.human(),
        TimeRange::human(created.time_range),
        bytes_human(db_bytes),
        bytes_human(created.bytes),
        percent(created.bytes, db_bytes),
        duration_human(total),
    );
    let json = DemoJson {
        ok: true,
        command: "demo",
        database_bytes: db_bytes,
        archive_bytes: created.bytes,
        counts,
        elapsed_ms: millis(total),
    };
    dir.close().map_err(|error| {
        Failure::new(
            FAILURE,
            "io",
            format!("cannot remove the temporary directory: {error}"),
        )
    })?;
    Report::new(human, &json)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn percent(part: u64, whole: u64) -> u64 {
    part.saturating_mul(100).checked_div(whole).unwrap_or(0)
}
