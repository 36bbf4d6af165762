//! Reading an archive batch by batch, from the caller's read callback or a file.

use std::ffi::{c_char, c_void};
use std::fs::File;
use std::io::Read;
use std::path::Path;

use keepsake::body::records::{BatchBuilder, encode_record};
use keepsake::json::Json;
use keepsake::{ArchiveReader, Error, Item, Record, Result};

use crate::buffer::{KeepsakeBuffer, check_out, give, handle, handle_mut, put, take, text};
use crate::callbacks::{CallbackSource, KeepsakeReadFn};
use crate::handle::Guarded;
use crate::options::KeepsakeOpenOptions;
use crate::reports::{EndJson, OpenedJson, SignatureJson, to_json};
use crate::status::{KeepsakeError, KeepsakeStatus, guard, guard_value};

/// An archive being read. Made by keepsake_reader_new or
/// keepsake_reader_open_file, which read and authenticate the header and
/// the metadata chunk; batches of records come out of
/// keepsake_reader_next_batch_json (or _encoded), each authenticated and
/// checked before it is handed out. Freed by keepsake_reader_free.
///
/// Records are handed out as their chunk authenticates, before the end of
/// the archive is checked: a caller that must not act on a damaged archive
/// keeps what it reads provisional until a next-batch call reports the end.
/// Reaching the end is a full verification.
pub struct KeepsakeReader {
    state: Guarded<ArchiveReader<Box<dyn Read>>>,
}

impl std::fmt::Debug for KeepsakeReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeepsakeReader").finish_non_exhaustive()
    }
}

/// Opens a reader on `source` with `options`.
fn open(source: Box<dyn Read>, options: &KeepsakeOpenOptions) -> Result<KeepsakeReader> {
    let reader = match options.threads {
        Some(threads) => {
            ArchiveReader::with_threads(source, &options.identities, options.limits, threads)?
        }
        None => ArchiveReader::new(source, &options.identities, options.limits)?,
    };
    Ok(KeepsakeReader {
        state: Guarded::new(reader),
    })
}

/// Opens an archive read through the caller's `read` callback: reads and
/// authenticates the header and the metadata chunk, and stores a new reader
/// at `*out`. `read` is called during this call and during later calls on
/// the reader, on the thread that makes them, with `user_data`; keep both
/// valid until the reader is freed.
///
/// # Safety
///
/// `options` must be NULL or a live handle from keepsake_open_options_new;
/// `out` writable storage for a `KeepsakeReader *`; `error` NULL or writable
/// storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_reader_new(
    read: KeepsakeReadFn,
    user_data: *mut c_void,
    options: *const KeepsakeOpenOptions,
    out: *mut *mut KeepsakeReader,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        check_out(out, "the reader output pointer")?;
        // SAFETY: as the caller promises.
        let options = unsafe { handle(options, "the open options") }?;
        let source = CallbackSource::new(read, user_data)?;
        let reader = open(Box::new(source), options)?;
        // SAFETY: checked not NULL; writable as the caller promises.
        unsafe { give(out, reader) };
        Ok(())
    })
}

/// Opens the archive file at `path` (UTF-8), as keepsake_reader_new does.
///
/// # Safety
///
/// `path` must be a NUL-terminated string; `options` NULL or a live handle
/// from keepsake_open_options_new; `out` writable storage for a
/// `KeepsakeReader *`; `error` NULL or writable storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_reader_open_file(
    path: *const c_char,
    options: *const KeepsakeOpenOptions,
    out: *mut *mut KeepsakeReader,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        check_out(out, "the reader output pointer")?;
        // SAFETY: as the caller promises.
        let path = Path::new(unsafe { text(path, "the archive path") }?);
        // SAFETY: as the caller promises.
        let options = unsafe { handle(options, "the open options") }?;
        let reader = open(Box::new(File::open(path)?), options)?;
        // SAFETY: checked not NULL; writable as the caller promises.
        unsafe { give(out, reader) };
        Ok(())
    })
}

/// Stores at `*out` what the reader learnt from the header and the metadata
/// chunk, as a JSON object: `format_version`, `key_slots`, `max_chunk_size`,
/// `max_record_size`, and `metadata` in the test vectors' form (`mode`,
/// `created_at_ns`, `elements`, `start_ns`, `end_ns`, `creator`).
///
/// # Safety
///
/// `reader` must be NULL or a live reader not in use by another thread;
/// `out` writable storage for a `KeepsakeBuffer`; `error` NULL or writable
/// storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_reader_metadata_json(
    reader: *const KeepsakeReader,
    out: *mut KeepsakeBuffer,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let reader = unsafe { handle(reader, "the reader") }?.state.get()?;
        let json = to_json(&OpenedJson::of(reader.header(), reader.metadata()))?;
        // SAFETY: as the caller promises.
        unsafe { put(out, json) }
    })
}

/// Reads the next batch with `encode`, storing it at `out`, or the empty
/// buffer at the end.
///
/// # Safety
///
/// As the callers'.
unsafe fn next_batch(
    reader: *mut KeepsakeReader,
    out: *mut KeepsakeBuffer,
    encode: fn(&[Record]) -> Result<Vec<u8>>,
) -> Result<()> {
    check_out(out, "the batch output pointer")?;
    // SAFETY: as the caller promises.
    let reader = unsafe { handle_mut(reader, "the reader") }?;
    let batch = reader.state.with(|reader| {
        // Page batches (a whole-database snapshot) hold no records: they are
        // authenticated and checked like any batch, and passed over.
        while let Some(item) = reader.next_item()? {
            if let Item::Records(records) = item {
                return Ok(Some(records));
            }
        }
        Ok(None)
    })?;
    match batch {
        Some(records) => {
            let bytes = encode(&records)?;
            // SAFETY: checked not NULL; writable as the caller promises.
            unsafe { put(out, bytes) }
        }
        None => {
            // SAFETY: checked not NULL; writable as the caller promises.
            unsafe { out.write(KeepsakeBuffer::EMPTY) };
            Ok(())
        }
    }
}

/// Reads the next batch of records and stores it at `*out` as a JSON array
/// of records in the form of `test-vectors/README.md` (the form
/// keepsake_writer_write_json takes). At the end of the archive, once its
/// final chunk has been authenticated and checked against everything read
/// and the input has ended, stores the empty buffer `{ NULL, 0 }` instead.
/// In an archive of mode `pages` (a whole-database snapshot), page batches
/// hold no records: they are authenticated and checked, and passed over.
/// After an error the reader hands out nothing more.
///
/// # Safety
///
/// `reader` must be NULL or a live reader not in use by another thread;
/// `out` writable storage for a `KeepsakeBuffer`; `error` NULL or writable
/// storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_reader_next_batch_json(
    reader: *mut KeepsakeReader,
    out: *mut KeepsakeBuffer,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    // SAFETY: the caller's promises are the ones `next_batch` needs.
    guard(error, || unsafe {
        next_batch(reader, out, |records| {
            to_json(&records.iter().map(Json).collect::<Vec<_>>())
        })
    })
}

/// As keepsake_reader_next_batch_json, with the batch in its canonical
/// encoding: a record batch body as the format specification defines it
/// (§6.3.1: the schema version as a varint, then each record as a varint
/// length and its postcard encoding). The records' encodings are the bytes
/// the test vectors' `released_records_sha256` hashes.
///
/// # Safety
///
/// `reader` must be NULL or a live reader not in use by another thread;
/// `out` writable storage for a `KeepsakeBuffer`; `error` NULL or writable
/// storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_reader_next_batch_encoded(
    reader: *mut KeepsakeReader,
    out: *mut KeepsakeBuffer,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    // SAFETY: the caller's promises are the ones `next_batch` needs.
    guard(error, || unsafe {
        next_batch(reader, out, |records| {
            let mut batch = BatchBuilder::new();
            for record in records {
                batch.push_encoded(&encode_record(record)?);
            }
            Ok(batch.take())
        })
    })
}

/// Once a next-batch call has reported the end, stores at `*out` what the
/// end of the archive says, as a JSON object: `bytes_read`, `chunks` (the
/// metadata and final chunks included), `trailer` in the test vectors' form,
/// and `signature` (`status`: `unsigned`, `valid`, `invalid` or
/// `unknown-scheme`; `signer`: `keepsakesig1…` or null). Before the end,
/// fails with KEEPSAKE_STATUS_INVALID_ARGUMENT.
///
/// # Safety
///
/// `reader` must be NULL or a live reader not in use by another thread;
/// `out` writable storage for a `KeepsakeBuffer`; `error` NULL or writable
/// storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_reader_end_json(
    reader: *const KeepsakeReader,
    out: *mut KeepsakeBuffer,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let reader = unsafe { handle(reader, "the reader") }?.state.get()?;
        let trailer = reader.trailer().ok_or_else(|| {
            Error::invalid("the end of the archive has not been reached: read every batch first")
        })?;
        let signature = reader.header().signature_status(trailer);
        let json = to_json(&EndJson {
            bytes_read: reader.bytes_read(),
            chunks: reader.chunks_read(),
            trailer: Json(trailer),
            signature: SignatureJson::of(&signature),
        })?;
        // SAFETY: as the caller promises.
        unsafe { put(out, json) }
    })
}

/// Frees a reader; NULL is ignored.
///
/// # Safety
///
/// `reader` must be NULL or a live reader, not freed before and not in use
/// by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_reader_free(reader: *mut KeepsakeReader) {
    // SAFETY: the caller's promise is the one `take` needs.
    guard_value((), || drop(unsafe { take(reader) }))
}
