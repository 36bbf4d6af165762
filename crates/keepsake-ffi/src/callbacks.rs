//! The caller's callbacks: a byte sink, a byte source, and progress with
//! cancellation, each as a C function pointer and a `user_data` pointer.

use std::ffi::c_void;
use std::io;

use keepsake::{Phase, Progress, ProgressEvent};

/// Writes `len` bytes at `data` to the caller's sink. Returns 0 once all of
/// them are written, anything else on failure (the call that wrote fails
/// with KEEPSAKE_STATUS_IO). `data` is valid only during the call.
pub type KeepsakeWriteFn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, data: *const u8, len: usize) -> i32>;

/// Reads up to `capacity` bytes from the caller's source into `buffer`.
/// Returns how many bytes were read (at most `capacity`), 0 at the end of
/// the input, or a negative number on failure (the call that read fails with
/// KEEPSAKE_STATUS_IO). `buffer` is valid only during the call.
pub type KeepsakeReadFn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, buffer: *mut u8, capacity: usize) -> isize>;

/// Receives a progress event, at most every 100 ms and once more at the end
/// of a successful operation. Return true to go on, false to cancel: the
/// operation then fails with KEEPSAKE_STATUS_CANCELLED, leaving no archive
/// under the final name and no imported rows. `event` is valid only during
/// the call.
pub type KeepsakeProgressFn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, event: *const KeepsakeProgressEvent) -> bool,
>;

/// A total or an estimate that is not known (yet).
pub const KEEPSAKE_UNKNOWN: u64 = u64::MAX;

/// What a long operation is doing.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepsakePhase {
    /// An operation this version does not name.
    Other = 0,
    /// Writing a new archive from a database.
    Create = 1,
    /// Decoding and authenticating a whole archive.
    Verify = 2,
    /// Importing an archive into a database.
    Import = 3,
    /// Rebuilding a database from a pages archive.
    Restore = 4,
}

/// One progress report.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct KeepsakeProgressEvent {
    /// The operation.
    pub phase: KeepsakePhase,
    /// Archive bytes written (create) or read (verify, import) so far.
    pub bytes_done: u64,
    /// The archive's size when known (reading a file), else KEEPSAKE_UNKNOWN.
    pub bytes_total: u64,
    /// Records processed so far.
    pub records_done: u64,
    /// Records in all when known, else KEEPSAKE_UNKNOWN.
    pub records_total: u64,
    /// Chunks completed so far.
    pub chunks_done: u64,
    /// Milliseconds since the operation started.
    pub elapsed_ms: u64,
    /// The expected milliseconds left when a total is known, else KEEPSAKE_UNKNOWN.
    pub eta_ms: u64,
    /// Whether this is the last event of a successful operation.
    pub finished: bool,
}

impl KeepsakeProgressEvent {
    fn of(event: &ProgressEvent) -> Self {
        let millis = |duration: std::time::Duration| {
            u64::try_from(duration.as_millis()).unwrap_or(KEEPSAKE_UNKNOWN - 1)
        };
        KeepsakeProgressEvent {
            // `Phase` is non-exhaustive: a later phase is `Other` until named here.
            phase: match event.phase {
                Phase::Create => KeepsakePhase::Create,
                Phase::Verify => KeepsakePhase::Verify,
                Phase::Import => KeepsakePhase::Import,
                Phase::Restore => KeepsakePhase::Restore,
                _ => KeepsakePhase::Other,
            },
            bytes_done: event.bytes_done,
            bytes_total: event.bytes_total.unwrap_or(KEEPSAKE_UNKNOWN),
            records_done: event.records_done,
            records_total: event.records_total.unwrap_or(KEEPSAKE_UNKNOWN),
            chunks_done: event.chunks_done,
            elapsed_ms: millis(event.elapsed),
            eta_ms: event.eta.map_or(KEEPSAKE_UNKNOWN, millis),
            finished: event.finished,
        }
    }
}

/// A C function pointer and its `user_data`.
#[derive(Clone, Copy)]
struct Foreign<F> {
    function: F,
    user_data: *mut c_void,
}

// SAFETY: the header tells callers that a callback is called only during the
// call that was given it, on the thread that made it. The operations here
// keep that promise: a `Progress` built by `progress` is dropped before its
// entry point returns, and the core reports progress on the operation's own
// thread; a sink or source is only called by the thread driving its handle,
// which the caller does not share between threads at once.
unsafe impl<F> Send for Foreign<F> {}
// SAFETY: as for `Send`: never called from two threads at once.
unsafe impl<F> Sync for Foreign<F> {}

/// A progress handle that reports to `callback`, which cancels by returning
/// false; the default handle when `callback` is NULL.
pub(crate) fn progress(callback: KeepsakeProgressFn, user_data: *mut c_void) -> Progress {
    let Some(function) = callback else {
        return Progress::default();
    };
    let foreign = Foreign {
        function,
        user_data,
    };
    Progress::cancellable(move |event| {
        let event = KeepsakeProgressEvent::of(event);
        let foreign = foreign;
        // SAFETY: the caller gave a callback that accepts its `user_data`
        // and an event pointer valid for the call, during this operation.
        unsafe { (foreign.function)(foreign.user_data, &event) }
    })
}

/// The caller's byte sink.
pub(crate) struct CallbackSink(Foreign<unsafe extern "C" fn(*mut c_void, *const u8, usize) -> i32>);

impl CallbackSink {
    pub(crate) fn new(write: KeepsakeWriteFn, user_data: *mut c_void) -> keepsake::Result<Self> {
        let function =
            write.ok_or_else(|| keepsake::Error::invalid("the write callback is NULL"))?;
        Ok(CallbackSink(Foreign {
            function,
            user_data,
        }))
    }
}

impl io::Write for CallbackSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // SAFETY: the callback accepts its `user_data` and `data.len()`
        // readable bytes at `data`, valid for the call.
        let code = unsafe { (self.0.function)(self.0.user_data, data.as_ptr(), data.len()) };
        if code != 0 {
            return Err(io::Error::other(format!(
                "the write callback failed (it returned {code})"
            )));
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The caller's byte source.
pub(crate) struct CallbackSource(
    Foreign<unsafe extern "C" fn(*mut c_void, *mut u8, usize) -> isize>,
);

impl CallbackSource {
    pub(crate) fn new(read: KeepsakeReadFn, user_data: *mut c_void) -> keepsake::Result<Self> {
        let function = read.ok_or_else(|| keepsake::Error::invalid("the read callback is NULL"))?;
        Ok(CallbackSource(Foreign {
            function,
            user_data,
        }))
    }
}

impl io::Read for CallbackSource {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        // SAFETY: the callback accepts its `user_data` and `buffer.len()`
        // writable bytes at `buffer`, valid for the call.
        let read =
            unsafe { (self.0.function)(self.0.user_data, buffer.as_mut_ptr(), buffer.len()) };
        match usize::try_from(read) {
            Ok(read) if read <= buffer.len() => Ok(read),
            Ok(read) => Err(io::Error::other(format!(
                "the read callback returned {read} bytes for a buffer of {}",
                buffer.len()
            ))),
            Err(_) => Err(io::Error::other(format!(
                "the read callback failed (it returned {read})"
            ))),
        }
    }
}
