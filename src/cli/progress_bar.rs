//! Progress bars on stderr, fed by the library's progress events: shown only
//! when stderr is a terminal and the output is for a person.

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
    let progress = Progress::new(move |event| update(&shown, unit, event));
    let result = work(&progress);
    bar.finish_and_clear();
    result
}

/// Runs `work` with a spinner only: for steps that report no events.
pub fn busy<T>(show: bool, message: &'static str, work: impl FnOnce() -> T) -> T {
    with_progress(show, message, |_| work())
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
