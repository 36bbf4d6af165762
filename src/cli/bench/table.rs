//! The report as a table for people.

use std::time::Duration;

use super::super::units::{bytes_human, duration_human};
use super::report::BenchJson;

/// Column widths of the table.
pub(super) const OPERATION: usize = 31;
pub(super) const SIZE: usize = 10;
pub(super) const SECONDS: usize = 8;
pub(super) const THROUGHPUT: usize = 13;
pub(super) const RATIO: usize = 7;
pub(super) const PEAK: usize = 8;

pub(super) fn megabytes(bytes: Option<u64>) -> String {
    bytes.map_or_else(String::new, |bytes| format!("{:.1} MB", bytes as f64 / 1e6))
}

/// The table, with what it was measured on above it and what its columns
/// mean below.
pub(super) fn human_report(json: &BenchJson<'_>) -> String {
    let sample = &json.sample;
    let mut out = format!(
        "Keepsake {} benchmark: {} messages in {} conversations, a {} database filled in sync order (written in {})\n\
         machine   {}\n\
         tools     {}\n\
         keepsake  zstd level {}, {} chunks; {}; files hot in the page cache\n\n",
        json.keepsake_version,
        sample.messages,
        sample.conversations,
        megabytes(Some(sample.database_bytes)),
        duration_human(Duration::from_secs_f64(sample.seconds)),
        json.machine.human(),
        json.tools.human(),
        json.level,
        bytes_human(u64::from(json.chunk_size)),
        if json.runs == 1 {
            "one run of each operation".to_owned()
        } else {
            format!("the fastest of {} runs of each operation", json.runs)
        },
    );
    out.push_str(&format!(
        "  {:<OPERATION$} {:>SIZE$} {:>SIZE$} {:>SECONDS$} {:>THROUGHPUT$} {:>RATIO$} {:>RATIO$} {:>PEAK$}\n",
        "operation", "input", "output", "seconds", "throughput", "speed", "size", "peak MiB"
    ));
    let width = OPERATION + 2 * SIZE + SECONDS + THROUGHPUT + 2 * RATIO + PEAK + 7;
    out.push_str(&format!("  {}\n", "-".repeat(width)));
    for row in json.rows {
        if row.status != "ok" && row.role == "step" {
            // Its pipeline's row says why.
            continue;
        }
        // A pipeline's steps are indented under it.
        let operation = if row.role == "step" {
            format!("  {}", row.operation)
        } else {
            row.operation.to_owned()
        };
        if let Some(note) = row.note.as_ref().filter(|_| row.status != "ok") {
            out.push_str(&format!("  {operation:<OPERATION$} {note}\n"));
            continue;
        }
        let throughput =
            row.throughput
                .map_or_else(String::new, |value| match row.throughput_unit {
                    "MB/s" => format!("{value:.1} MB/s"),
                    _ => format!("{value:.0} msg/s"),
                });
        let times = |value: Option<f64>, baseline: bool| match value {
            Some(value) => format!("{value:.2}×"),
            None if baseline => "base".to_owned(),
            None => String::new(),
        };
        let speed = times(
            row.speed_ratio,
            matches!(
                row.id,
                "backup_pipeline" | "zstd_d" | "insert_select" | "keepsake_verify_pages"
            ),
        );
        let size = times(row.size_ratio, row.id == "zstd");
        out.push_str(&format!(
            "  {:<OPERATION$} {:>SIZE$} {:>SIZE$} {:>SECONDS$} {:>THROUGHPUT$} {:>RATIO$} {:>RATIO$} {:>PEAK$}\n",
            operation,
            megabytes(row.input_bytes),
            megabytes(row.output_bytes),
            row.seconds.map_or_else(String::new, |s| format!("{s:.3}")),
            throughput,
            speed,
            size,
            row.peak_rss_bytes
                .map_or_else(String::new, |bytes| format!("{:.1}", bytes as f64 / 1048576.0)),
        ));
        if let Some(detail) = &row.detail {
            out.push_str(&format!("    {detail}\n"));
        }
    }
    out.push_str(
        "\n  speed: the baseline's seconds over Keepsake's for the same database (create: the\n    \
         .backup | zstd | age pipeline; estimate: keepsake create; verify: zstd -d; import:\n    \
         INSERT … SELECT; restore: verify of the same pages archive); above 1 is faster\n  \
         size: output over zstd -3 of the database file; below 1 is smaller (estimate: the\n    \
         estimated size over the archive create wrote)\n  \
         throughput: MB/s (10^6 bytes) of input; messages/s for import\n  \
         peak MiB: the process's peak resident memory; Keepsake's and INSERT … SELECT's are\n    \
         exact, the tools' sampled while they run (a pipeline's processes summed)\n",
    );
    let elapsed = duration_human(Duration::from_millis(json.elapsed_ms));
    match &json.dir {
        Some(dir) => out.push_str(&format!("\nfinished in {elapsed}; files kept in {dir}\n")),
        None => out.push_str(&format!(
            "\nfinished in {elapsed}; the working directory was removed (--keep keeps it)\n"
        )),
    }
    out
}
