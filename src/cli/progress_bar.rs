//! Progress bars on stderr, fed by the library's progress events: shown only
//! when stderr is a terminal and the output is for a person. With
//! `KEEPSAKE_PROGRESS=json` in the environment, every event is also written
//! to stderr as one JSON line, for a program that drives the command.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use keepsake::{Progress, ProgressEvent};

use super::units::bytes_human;

/// Runs `work` with a progress bar on stderr when `show` and stderr is a
/// terminal, handing it the [`Progress`] that drives the bar.
pub fn with_progress<T>(show: bool, message: &'static str, work: impl FnOnce(&Progress) -> T) -> T {
    with_progress_of(show, message, "records", work)
}

/// As [`with_progress`], counting `unit` (such as "pages") instead of records.
pub fn with_progress_of<T>(
    show: bool,
    message: &'static str,
    unit: &'static str,
    work: impl FnOnce(&Progress) -> T,
) -> T {
    let bar = if show && std::io::stderr().is_terminal() {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    let shown = bar.clone();
    let progress = if std::env::var_os(PROGRESS_VAR).is_some_and(|value| value == "json") {
        Progress::with_interval(JSON_INTERVAL, move |event| {
            eprintln!("{}", event_json(event));
            update(&shown, unit, event);
        })
    } else {
        Progress::new(move |event| update(&shown, unit, event))
    };
    let result = work(&progress);
    bar.finish_and_clear();
    result
}

/// Runs `work` with a spinner only: for steps that report no events.
pub fn busy<T>(show: bool, message: &'static str, work: impl FnOnce() -> T) -> T {
    with_progress(show, message, |_| work())
}

/// The environment variable that asks for progress events as JSON lines.
pub const PROGRESS_VAR: &str = "KEEPSAKE_PROGRESS";

/// How often JSON progress events come, at most: often enough for a
/// program to act at any point of a long operation.
const JSON_INTERVAL: Duration = Duration::from_millis(10);

/// One progress event as a JSON line.
fn event_json(event: &ProgressEvent) -> String {
    serde_json::json!({
        "progress": event.phase.to_string(),
        "records_done": event.records_done,
        "records_total": event.records_total,
        "bytes_done": event.bytes_done,
        "bytes_total": event.bytes_total,
        "chunks_done": event.chunks_done,
        "elapsed_ms": super::units::millis(event.elapsed),
        "finished": event.finished,
    })
    .to_string()
}

fn update(bar: &ProgressBar, unit: &str, event: &ProgressEvent) {
    match event.records_total {
        Some(total) if bar.length() != Some(total) => {
            bar.set_length(total);
            bar.set_style(
                ProgressStyle::with_template(&format!(
                    "{{spinner}} {{msg}} [{{bar:30}}] {{pos}}/{{len}} {unit}, {{prefix}} (eta {{eta}})"
                ))
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
        }
        _ => {}
    }
    bar.set_prefix(bytes_human(event.bytes_done));
    bar.set_position(event.records_done);
}
