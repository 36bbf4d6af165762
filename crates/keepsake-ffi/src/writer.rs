//! Writing an archive record by record, to the caller's write callback or to
//! a new file.

use std::ffi::{c_char, c_void};
use std::path::Path;

use keepsake::body::records::{BatchLimits, decode_batch};
use keepsake::format::Trailer;
use keepsake::json::Json;
use keepsake::storage::{ArchiveSink, FileSink, WriteMode};
use keepsake::{ArchiveMetadata, ArchiveWriter, Error, Record, Result};

use crate::buffer::{KeepsakeBuffer, bytes, check_out, give, handle_mut, take, text};
use crate::callbacks::{CallbackSink, KeepsakeWriteFn};
use crate::handle::Guarded;
use crate::options::KeepsakeWriteOptions;
use crate::reports::put_if_asked;
use crate::status::{KeepsakeError, KeepsakeStatus, guard, guard_value};

/// An archive being written. Made by keepsake_writer_new or
/// keepsake_writer_create_file; records go in with
/// keepsake_writer_write_json (or _write_encoded), and
/// keepsake_writer_finish ends the archive and frees the handle. Without
/// finish the archive has no final chunk and every reader rejects it:
/// keepsake_writer_free abandons it (a file writer then leaves no file).
pub struct KeepsakeWriter {
    state: Guarded<Writing>,
    /// The largest record the archive's header allows.
    max_record_size: u32,
}

enum Writing {
    /// To the caller's callback.
    Callback(ArchiveWriter<CallbackSink>),
    /// To a new file, renamed into place by finish.
    File(ArchiveWriter<FileSink>),
}

impl std::fmt::Debug for Writing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Writing::Callback(writer) => f.debug_tuple("Callback").field(writer).finish(),
            Writing::File(writer) => f.debug_tuple("File").field(writer).finish(),
        }
    }
}

impl Writing {
    fn write_record(&mut self, record: &Record) -> Result<()> {
        match self {
            Writing::Callback(writer) => writer.write_record(record),
            Writing::File(writer) => writer.write_record(record),
        }
    }

    fn finish(self) -> Result<Trailer> {
        match self {
            Writing::Callback(writer) => Ok(writer.finish()?.1),
            Writing::File(writer) => {
                let (mut file, trailer) = writer.finish()?;
                file.commit()?;
                Ok(trailer)
            }
        }
    }
}

/// The metadata chunk of a record archive written with `options`.
fn metadata(options: &KeepsakeWriteOptions) -> ArchiveMetadata {
    let mut metadata = ArchiveMetadata::now();
    metadata.elements = options.elements;
    metadata.start_ns = options.start_ns;
    metadata.end_ns = options.end_ns;
    if let Some(creator) = &options.creator {
        metadata.creator = creator.clone();
    }
    metadata
}

/// A writer to `sink`: the header and the metadata chunk written.
fn start<W: std::io::Write>(
    sink: W,
    options: &KeepsakeWriteOptions,
    wrap: fn(ArchiveWriter<W>) -> Writing,
) -> Result<KeepsakeWriter> {
    let writer = ArchiveWriter::new(
        sink,
        options.recipients()?,
        &metadata(options),
        &options.writer,
    )?;
    Ok(KeepsakeWriter {
        state: Guarded::new(wrap(writer)),
        max_record_size: options.writer.max_record_size(),
    })
}

/// Starts an archive written to the caller's `write` callback: writes the
/// header and the metadata chunk (through `write`) and stores a new writer
/// at `*out`. `write` is called during this call and during later calls on
/// the writer, on the thread that makes them, with `user_data`; keep both
/// valid until the writer is finished or freed.
///
/// # Safety
///
/// `options` must be NULL or a live handle from keepsake_write_options_new;
/// `out` must point to writable storage for a `KeepsakeWriter *`; `error`
/// NULL or writable storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_writer_new(
    write: KeepsakeWriteFn,
    user_data: *mut c_void,
    options: *const KeepsakeWriteOptions,
    out: *mut *mut KeepsakeWriter,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        check_out(out, "the writer output pointer")?;
        // SAFETY: as the caller promises.
        let options = unsafe { crate::buffer::handle(options, "the write options") }?;
        let sink = CallbackSink::new(write, user_data)?;
        let writer = start(sink, options, Writing::Callback)?;
        // SAFETY: checked not NULL; writable as the caller promises.
        unsafe { give(out, writer) };
        Ok(())
    })
}

/// Starts an archive written to a new file at `path` (UTF-8). The bytes go
/// to a temporary file in the same directory, which keepsake_writer_finish
/// syncs and renames to `path`: until then, and if the writer is freed
/// instead or anything fails, nothing exists under `path`. An existing file
/// at `path` is never replaced (KEEPSAKE_STATUS_INVALID_ARGUMENT).
///
/// # Safety
///
/// `path` must be a NUL-terminated string; `options` NULL or a live handle
/// from keepsake_write_options_new; `out` writable storage for a
/// `KeepsakeWriter *`; `error` NULL or writable storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_writer_create_file(
    path: *const c_char,
    options: *const KeepsakeWriteOptions,
    out: *mut *mut KeepsakeWriter,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        check_out(out, "the writer output pointer")?;
        // SAFETY: as the caller promises.
        let path = Path::new(unsafe { text(path, "the archive path") }?);
        // SAFETY: as the caller promises.
        let options = unsafe { crate::buffer::handle(options, "the write options") }?;
        // Options without a key slot fail before a temporary file is made.
        options.recipients()?;
        let writer = start(
            FileSink::create(path, WriteMode::CreateNew)?,
            options,
            Writing::File,
        )?;
        // SAFETY: checked not NULL; writable as the caller promises.
        unsafe { give(out, writer) };
        Ok(())
    })
}

/// Writes records given as JSON text: an array of records in the form of
/// `test-vectors/README.md` (each an object whose `type` is `conversation`,
/// `message` or `consent`; byte strings in hex; timestamps as decimal
/// strings; nullable fields may be left out). Records must come in
/// dependency order: a conversation before its messages, each conversation
/// once. The whole text is parsed before anything is written, so malformed
/// JSON writes nothing; a record out of order fails the call after the
/// records before it were written, and the writer stays usable.
///
/// # Safety
///
/// `writer` must be NULL or a live writer not in use by another thread;
/// `json` must point to `json_len` readable bytes; `error` NULL or writable
/// storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_writer_write_json(
    writer: *mut KeepsakeWriter,
    json: *const u8,
    json_len: usize,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let writer = unsafe { handle_mut(writer, "the writer") }?;
        // SAFETY: as the caller promises.
        let json = unsafe { bytes(json, json_len, "the records") }?;
        let records: Vec<Json<Record>> = serde_json::from_slice(json).map_err(|error| {
            Error::invalid(format!(
                "the records are not a JSON array of records: {error}"
            ))
        })?;
        writer.state.with(|writing| {
            records
                .iter()
                .try_for_each(|Json(record)| writing.write_record(record))
        })
    })
}

/// Writes records given in their canonical encoding: a record batch body as
/// the format specification defines it (§6.3.1: the schema version as a
/// varint, then each record as a varint length and its postcard encoding),
/// exactly what keepsake_reader_next_batch_encoded hands out. Each record
/// must be canonically encoded. The whole batch is decoded before anything
/// is written; records out of dependency order fail as with _write_json.
///
/// # Safety
///
/// `writer` must be NULL or a live writer not in use by another thread;
/// `batch` must point to `batch_len` readable bytes; `error` NULL or writable
/// storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_writer_write_encoded(
    writer: *mut KeepsakeWriter,
    batch: *const u8,
    batch_len: usize,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let writer = unsafe { handle_mut(writer, "the writer") }?;
        // SAFETY: as the caller promises.
        let batch = unsafe { bytes(batch, batch_len, "the batch") }?;
        let records = decode_batch(
            batch,
            0,
            BatchLimits::record_size_only(writer.max_record_size),
        )
        .map_err(|error| {
            Error::invalid(format!(
                "the batch is not a valid record batch body: {error}"
            ))
        })?;
        writer.state.with(|writing| {
            records
                .iter()
                .try_for_each(|record| writing.write_record(record))
        })
    })
}

/// Ends the archive: writes any pending records, the seek index and the
/// final chunk (and, for a file writer, syncs it and renames it into
/// place). On success, when `trailer` is not NULL, stores there the
/// trailer as JSON (the test vectors' form: counts, time range, content
/// digest, signature block). The writer is freed whatever the outcome.
///
/// # Safety
///
/// `writer` must be NULL or a live writer not in use by another thread, and
/// is not valid after the call; `trailer` NULL or writable storage for a
/// `KeepsakeBuffer`; `error` NULL or writable storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_writer_finish(
    writer: *mut KeepsakeWriter,
    trailer: *mut KeepsakeBuffer,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: NULL or a live writer given out by this library, which the
        // caller hands back for good.
        let mut writer =
            unsafe { take(writer) }.ok_or_else(|| Error::invalid("the writer is NULL"))?;
        let finished = writer.state.take()?.finish()?;
        // SAFETY: NULL or writable, as the caller promises.
        unsafe { put_if_asked(trailer, &Json(&finished)) }
    })
}

/// Abandons an archive being written and frees the writer; NULL is ignored.
/// The bytes already given to a write callback stay there (they are not an
/// archive any reader accepts); a file writer leaves no file.
///
/// # Safety
///
/// `writer` must be NULL or a live writer, not freed before and not in use
/// by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_writer_free(writer: *mut KeepsakeWriter) {
    // SAFETY: the caller's promise is the one `take` needs.
    guard_value((), || drop(unsafe { take(writer) }))
}
