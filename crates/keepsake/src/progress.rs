//! Progress events and cancellation for long operations (create, verify,
//! import): what a UI shows, and how a caller stops one.
//!
//! A [`Progress`] handle is cheap to clone and may be shared across threads:
//! keep one clone to call [`Progress::cancel`] from anywhere, and give another
//! to the operation. Events arrive at a bounded rate, not per record.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// What an operation is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Writing a new archive from a database.
    Create,
    /// Decoding and authenticating a whole archive.
    Verify,
    /// Importing an archive into a database.
    Import,
    /// Rebuilding a database from a pages archive.
    Restore,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Create => "create",
            Phase::Verify => "verify",
            Phase::Import => "import",
            Phase::Restore => "restore",
        })
    }
}

/// One progress report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgressEvent {
    /// The operation.
    pub phase: Phase,
    /// Archive bytes written (create) or read (verify, import) so far.
    pub bytes_done: u64,
    /// The archive's size when known: the file length when reading; `None`
    /// while creating, since the size is only known at the end.
    pub bytes_total: Option<u64>,
    /// Records (or, for a pages archive, database pages) processed so far.
    pub records_done: u64,
    /// Records in all, when known: from the database's counts when creating,
    /// from the trailer of a seekable archive when reading.
    pub records_total: Option<u64>,
    /// Chunks completed so far.
    pub chunks_done: u64,
    /// Time since the operation started.
    pub elapsed: Duration,
    /// The expected time left, from the fraction done so far, when a total is known.
    pub eta: Option<Duration>,
    /// Whether this is the last event of a successful operation.
    pub finished: bool,
}

type Callback = dyn Fn(&ProgressEvent) + Send + Sync;

struct Shared {
    callback: Option<Box<Callback>>,
    cancelled: AtomicBool,
    interval: Duration,
}

/// A progress callback and a cancellation flag, shared by the caller and one
/// operation. The default handle reports nothing and is never cancelled.
#[derive(Clone)]
pub struct Progress(Arc<Shared>);

impl Default for Progress {
    fn default() -> Self {
        Progress(Arc::new(Shared {
            callback: None,
            cancelled: AtomicBool::new(false),
            interval: Duration::MAX,
        }))
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Progress")
            .field("reports", &self.0.callback.is_some())
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// How often events are delivered by default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(100);

impl Progress {
    /// A handle that calls `callback` at most every 100 ms, and once more at
    /// the end of a successful operation. The callback runs on the
    /// operation's thread: keep it short.
    pub fn new(callback: impl Fn(&ProgressEvent) + Send + Sync + 'static) -> Self {
        Self::with_interval(DEFAULT_INTERVAL, callback)
    }

    /// As [`Progress::new`], with events at most every `interval`.
    pub fn with_interval(
        interval: Duration,
        callback: impl Fn(&ProgressEvent) + Send + Sync + 'static,
    ) -> Self {
        Progress(Arc::new(Shared {
            callback: Some(Box::new(callback)),
            cancelled: AtomicBool::new(false),
            interval,
        }))
    }

    /// As [`Progress::new`], for a callback that answers whether to go on:
    /// returning `false` cancels the operation, as [`Progress::cancel`] does.
    /// This is how a binding hands a foreign callback its say.
    pub fn cancellable(callback: impl Fn(&ProgressEvent) -> bool + Send + Sync + 'static) -> Self {
        Progress(Arc::new_cyclic(|shared: &std::sync::Weak<Shared>| {
            // Weak, so that the callback does not keep its own handle alive.
            let shared = shared.clone();
            Shared {
                callback: Some(Box::new(move |event: &ProgressEvent| {
                    if !callback(event)
                        && let Some(shared) = shared.upgrade()
                    {
                        shared.cancelled.store(true, Ordering::SeqCst);
                    }
                })),
                cancelled: AtomicBool::new(false),
                interval: DEFAULT_INTERVAL,
            }
        }))
    }

    /// Asks the operation to stop. It returns [`Error::Cancelled`] at its next
    /// check, leaving no archive under the final name and no imported rows.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
    }

    /// Whether [`Progress::cancel`] has been called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// Starts tracking one operation.
    pub fn track(&self, phase: Phase) -> Tracker {
        let now = Instant::now();
        Tracker {
            progress: self.clone(),
            event: ProgressEvent {
                phase,
                bytes_done: 0,
                bytes_total: None,
                records_done: 0,
                records_total: None,
                chunks_done: 0,
                elapsed: Duration::ZERO,
                eta: None,
                finished: false,
            },
            started: now,
            last_report: None,
        }
    }
}

/// The state of one tracked operation.
pub struct Tracker {
    progress: Progress,
    event: ProgressEvent,
    started: Instant,
    last_report: Option<Instant>,
}

impl Tracker {
    /// Sets the totals, when the operation learns them.
    pub fn set_totals(&mut self, bytes: Option<u64>, records: Option<u64>) {
        self.event.bytes_total = bytes;
        self.event.records_total = records;
    }

    /// Records how far the operation has got; fails with [`Error::Cancelled`]
    /// once cancellation was asked for, and reports when the interval has passed.
    pub fn update(&mut self, bytes: u64, records: u64, chunks: u64) -> Result<()> {
        if self.progress.is_cancelled() {
            return Err(Error::Cancelled);
        }
        self.event.bytes_done = bytes;
        self.event.records_done = records;
        self.event.chunks_done = chunks;
        if self.progress.0.callback.is_none() {
            return Ok(());
        }
        let now = Instant::now();
        let due = match self.last_report {
            None => true,
            Some(last) => now.duration_since(last) >= self.progress.0.interval,
        };
        if due {
            self.last_report = Some(now);
            self.report(now, false);
        }
        Ok(())
    }

    /// Reports the final event of a successful operation.
    pub fn finish(&mut self) {
        if self.progress.0.callback.is_some() {
            self.report(Instant::now(), true);
        }
    }

    fn report(&mut self, now: Instant, finished: bool) {
        let elapsed = now.duration_since(self.started);
        self.event.elapsed = elapsed;
        self.event.finished = finished;
        self.event.eta = if finished {
            Some(Duration::ZERO)
        } else {
            self.fraction_done()
                .filter(|&fraction| fraction > 0.0)
                .map(|fraction| elapsed.mul_f64(((1.0 - fraction) / fraction).min(1e6)))
        };
        if let Some(callback) = &self.progress.0.callback {
            callback(&self.event);
        }
    }

    /// The fraction done, by records when their total is known, else by bytes.
    fn fraction_done(&self) -> Option<f64> {
        let event = &self.event;
        let by = |done: u64, total: Option<u64>| {
            total
                .filter(|&total| total > 0)
                .map(|total| (done as f64 / total as f64).clamp(0.0, 1.0))
        };
        by(event.records_done, event.records_total).or(by(event.bytes_done, event.bytes_total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn events_are_rate_limited_and_the_last_one_is_finished() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let progress = Progress::with_interval(Duration::from_secs(3600), move |event| {
            sink.lock().unwrap().push(event.clone())
        });
        let mut tracker = progress.track(Phase::Import);
        tracker.set_totals(Some(1000), Some(10));
        for i in 0..10 {
            tracker.update(i * 100, i, i).unwrap();
        }
        tracker.finish();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(!seen[0].finished);
        assert!(seen[1].finished);
        assert_eq!(seen[1].records_done, 9);
        assert_eq!(seen[1].eta, Some(Duration::ZERO));
    }

    #[test]
    fn cancelling_from_another_thread_stops_the_next_update() {
        let progress = Progress::default();
        let mut tracker = progress.track(Phase::Create);
        tracker.update(1, 1, 1).unwrap();
        let remote = progress.clone();
        std::thread::spawn(move || remote.cancel()).join().unwrap();
        assert!(matches!(tracker.update(2, 2, 2), Err(Error::Cancelled)));
    }

    #[test]
    fn a_callback_that_answers_false_cancels_the_next_update() {
        let calls = Arc::new(Mutex::new(0));
        let counter = calls.clone();
        let progress = Progress::cancellable(move |event| {
            *counter.lock().unwrap() += 1;
            event.records_done < 2
        });
        let mut tracker = progress.track(Phase::Import);
        tracker.update(1, 1, 1).unwrap();
        assert!(!progress.is_cancelled());
        // Events are rate-limited: force the next one through.
        tracker.last_report = None;
        tracker.update(2, 2, 2).unwrap();
        assert!(progress.is_cancelled());
        assert!(matches!(tracker.update(3, 3, 3), Err(Error::Cancelled)));
        assert_eq!(*calls.lock().unwrap(), 2);
        // The callback holds no strong handle: dropping the last one frees it.
        let weak = Arc::downgrade(&progress.0);
        drop((tracker, progress));
        assert!(weak.upgrade().is_none());
    }

    #[test]
    fn the_eta_follows_the_fraction_done() {
        let progress = Progress::with_interval(Duration::ZERO, |_| {});
        let mut tracker = progress.track(Phase::Verify);
        tracker.set_totals(Some(100), None);
        std::thread::sleep(Duration::from_millis(20));
        tracker.update(50, 0, 0).unwrap();
        let eta = tracker.event.eta.unwrap();
        let elapsed = tracker.event.elapsed;
        // Half done: the time left is about the time spent.
        assert!(
            eta.abs_diff(elapsed) < Duration::from_millis(5),
            "{eta:?} vs {elapsed:?}"
        );
    }
}
