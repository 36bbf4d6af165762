/*
 * keepsake.h: the C ABI of Keepsake, streaming archives for encrypted,
 * portable messaging backups.
 *
 * Generated from crates/keepsake-ffi by cbindgen; do not edit.
 *
 * Conventions (every function follows them):
 * - Every fallible function returns a KeepsakeStatus. KEEPSAKE_STATUS_OK is 0;
 *   any other value is the error's class. When the last argument `error` is
 *   not NULL, a failure also stores there a new KeepsakeError (message and
 *   details), which the caller frees with keepsake_error_free; on success
 *   *error is left untouched. Pass NULL to get the status alone.
 * - Handles (KeepsakeWriter, KeepsakeReader, KeepsakeOpenOptions,
 *   KeepsakeWriteOptions, KeepsakeError) are opaque. Each is created by one
 *   function and released by its _free function (or by
 *   keepsake_writer_finish); passing NULL to a _free function does nothing.
 *   A handle may be used from any thread, but not from two threads at once;
 *   options handles are only read by the functions that take them as const,
 *   which may share one handle across threads.
 * - Output buffers (KeepsakeBuffer) belong to the caller, who frees each with
 *   keepsake_buffer_free. Their bytes are followed by a NUL that `len` does
 *   not count, so JSON text can be used as a C string.
 * - Strings passed in are NUL-terminated UTF-8, and are copied: the caller
 *   may free them as soon as the call returns. Pointers passed in are only
 *   used during the call.
 * - Callbacks (write, read, progress) are called only during the call that
 *   was given them, on the thread that made it, and must return normally
 *   (no longjmp, no exception).
 * - No Rust panic crosses this boundary: one is caught and reported as
 *   KEEPSAKE_STATUS_INTERNAL, and the handle it happened in stops working.
 */

#ifndef KEEPSAKE_H
#define KEEPSAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * A total or an estimate that is not known (yet).
 */
#define KEEPSAKE_UNKNOWN UINT64_MAX

/**
 * What a call came to: `KEEPSAKE_STATUS_OK`, or the class of its error.
 *
 * Codes 1 to 11 are the archive errors of the format specification (§10),
 * one each; 20 and up are errors not caused by an archive's bytes. The
 * numbers never change; codes may be added, so treat an unknown code as a
 * failure (keepsake_status_name names it "unknown").
 */
enum KeepsakeStatus
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Success.
   */
  KEEPSAKE_STATUS_OK = 0,
  /**
   * The input does not start with the Keepsake magic: not an archive.
   */
  KEEPSAKE_STATUS_NOT_AN_ARCHIVE = 1,
  /**
   * The archive's format version is one this library cannot read.
   */
  KEEPSAKE_STATUS_UNSUPPORTED_VERSION = 2,
  /**
   * The archive's cipher suite is one this library cannot read.
   */
  KEEPSAKE_STATUS_UNSUPPORTED_SUITE = 3,
  /**
   * No key slot is of a kind this library can open.
   */
  KEEPSAKE_STATUS_NO_SUPPORTED_SLOT = 4,
  /**
   * None of the keys given opens the archive.
   */
  KEEPSAKE_STATUS_WRONG_KEY = 5,
  /**
   * The header is damaged or fails authentication.
   */
  KEEPSAKE_STATUS_HEADER_CORRUPT = 6,
  /**
   * A chunk is damaged; the error's details name it.
   */
  KEEPSAKE_STATUS_CORRUPT = 7,
  /**
   * The input ended before the archive's final chunk.
   */
  KEEPSAKE_STATUS_TRUNCATED = 8,
  /**
   * Bytes follow the archive's final chunk.
   */
  KEEPSAKE_STATUS_TRAILING_DATA = 9,
  /**
   * A size is over a limit; the error's details name the limit.
   */
  KEEPSAKE_STATUS_LIMIT_EXCEEDED = 10,
  /**
   * A chunk of a kind this library does not know and must not skip.
   */
  KEEPSAKE_STATUS_UNKNOWN_CRITICAL_CHUNK = 11,
  /**
   * A key, passphrase, identity, recipient or signing key given is malformed.
   */
  KEEPSAKE_STATUS_INVALID_KEY = 20,
  /**
   * An argument is invalid: a NULL pointer, text that is not UTF-8,
   * records that are not valid JSON records or come out of dependency
   * order, an option out of range, a file that already exists.
   */
  KEEPSAKE_STATUS_INVALID_ARGUMENT = 21,
  /**
   * Reading or writing failed (a file, or a read or write callback).
   */
  KEEPSAKE_STATUS_IO = 22,
  /**
   * The SQLite database refused an operation.
   */
  KEEPSAKE_STATUS_DATABASE = 23,
  /**
   * The progress callback asked to stop.
   */
  KEEPSAKE_STATUS_CANCELLED = 24,
  /**
   * The archive is intact but not validly signed by the signer required.
   */
  KEEPSAKE_STATUS_UNTRUSTED_SIGNATURE = 25,
  /**
   * A message was written into a conversation restored from an archive
   * and not yet reactivated.
   */
  KEEPSAKE_STATUS_CONVERSATION_INACTIVE = 26,
  /**
   * An error this version of the ABI does not classify more precisely.
   */
  KEEPSAKE_STATUS_OTHER = 98,
  /**
   * A bug in Keepsake, caught at the boundary; the handle it happened in
   * stops working. Please report it.
   */
  KEEPSAKE_STATUS_INTERNAL = 99,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum KeepsakeStatus KeepsakeStatus;
#else
typedef int32_t KeepsakeStatus;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * What a long operation is doing.
 */
enum KeepsakePhase
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * An operation this version does not name.
   */
  KEEPSAKE_PHASE_OTHER = 0,
  /**
   * Writing a new archive from a database.
   */
  KEEPSAKE_PHASE_CREATE = 1,
  /**
   * Decoding and authenticating a whole archive.
   */
  KEEPSAKE_PHASE_VERIFY = 2,
  /**
   * Importing an archive into a database.
   */
  KEEPSAKE_PHASE_IMPORT = 3,
  /**
   * Rebuilding a database from a pages archive.
   */
  KEEPSAKE_PHASE_RESTORE = 4,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum KeepsakePhase KeepsakePhase;
#else
typedef int32_t KeepsakePhase;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * An error: its status, a message for people, and its details. Created by a
 * failing call when asked for; freed with keepsake_error_free. Messages never
 * contain key material.
 */
typedef struct KeepsakeError KeepsakeError;

/**
 * How to open archives: the keys to try (raw keys, passphrases, X25519
 * identities; every slot is tried with every key of its kind) and the
 * reader's limits. Made by keepsake_open_options_new, freed by
 * keepsake_open_options_free. Holds secrets, wiped from memory when freed.
 */
typedef struct KeepsakeOpenOptions KeepsakeOpenOptions;

/**
 * An archive being read. Made by keepsake_reader_new or
 * keepsake_reader_open_file, which read and authenticate the header and
 * the metadata chunk; batches of records come out of
 * keepsake_reader_next_batch_json (or _encoded), each authenticated and
 * checked before it is handed out. Freed by keepsake_reader_free.
 *
 * Records are handed out as their chunk authenticates, before the end of
 * the archive is checked: a caller that must not act on a damaged archive
 * keeps what it reads provisional until a next-batch call reports the end.
 * Reaching the end is a full verification.
 */
typedef struct KeepsakeReader KeepsakeReader;

/**
 * How to write an archive: its key slots (at least one), what the metadata
 * says was selected, chunking, compression and an optional signature. Made
 * by keepsake_write_options_new, freed by keepsake_write_options_free. Holds
 * secrets, wiped from memory when freed.
 */
typedef struct KeepsakeWriteOptions KeepsakeWriteOptions;

/**
 * An archive being written. Made by keepsake_writer_new or
 * keepsake_writer_create_file; records go in with
 * keepsake_writer_write_json (or _write_encoded), and
 * keepsake_writer_finish ends the archive and frees the handle. Without
 * finish the archive has no final chunk and every reader rejects it:
 * keepsake_writer_free abandons it (a file writer then leaves no file).
 */
typedef struct KeepsakeWriter KeepsakeWriter;

/**
 * Bytes this library hands out: JSON text or an encoded batch. The caller
 * owns them and frees them with keepsake_buffer_free. `data[len]` is a NUL
 * that `len` does not count. The empty buffer is `{ NULL, 0 }`.
 */
typedef struct KeepsakeBuffer {
  /**
   * The first byte, or NULL for the empty buffer.
   */
  uint8_t *data;
  /**
   * How many bytes, the final NUL not counted.
   */
  size_t len;
} KeepsakeBuffer;

/**
 * One progress report.
 */
typedef struct KeepsakeProgressEvent {
  /**
   * The operation.
   */
  KeepsakePhase phase;
  /**
   * Archive bytes written (create) or read (verify, import) so far.
   */
  uint64_t bytes_done;
  /**
   * The archive's size when known (reading a file), else KEEPSAKE_UNKNOWN.
   */
  uint64_t bytes_total;
  /**
   * Records processed so far.
   */
  uint64_t records_done;
  /**
   * Records in all when known, else KEEPSAKE_UNKNOWN.
   */
  uint64_t records_total;
  /**
   * Chunks completed so far.
   */
  uint64_t chunks_done;
  /**
   * Milliseconds since the operation started.
   */
  uint64_t elapsed_ms;
  /**
   * The expected milliseconds left when a total is known, else KEEPSAKE_UNKNOWN.
   */
  uint64_t eta_ms;
  /**
   * Whether this is the last event of a successful operation.
   */
  bool finished;
} KeepsakeProgressEvent;

/**
 * Receives a progress event, at most every 100 ms and once more at the end
 * of a successful operation. Return true to go on, false to cancel: the
 * operation then fails with KEEPSAKE_STATUS_CANCELLED, leaving no archive
 * under the final name and no imported rows. `event` is valid only during
 * the call.
 */
typedef bool (*KeepsakeProgressFn)(void *user_data, const struct KeepsakeProgressEvent *event);

/**
 * Reads up to `capacity` bytes from the caller's source into `buffer`.
 * Returns how many bytes were read (at most `capacity`), 0 at the end of
 * the input, or a negative number on failure (the call that read fails with
 * KEEPSAKE_STATUS_IO). `buffer` is valid only during the call.
 */
typedef ptrdiff_t (*KeepsakeReadFn)(void *user_data, uint8_t *buffer, size_t capacity);

/**
 * The parameters of an error, by value. Fields that do not apply to the
 * error's status are zero (and `limit` NULL).
 */
typedef struct KeepsakeErrorDetails {
  /**
   * CORRUPT and UNKNOWN_CRITICAL_CHUNK: the zero-based index of the chunk.
   */
  uint64_t chunk;
  /**
   * TRUNCATED: the bytes read; TRAILING_DATA: the offset of the first extra byte.
   */
  uint64_t offset;
  /**
   * UNSUPPORTED_VERSION: the format version found.
   */
  uint16_t version;
  /**
   * UNSUPPORTED_SUITE: the cipher suite found.
   */
  uint16_t suite;
  /**
   * UNKNOWN_CRITICAL_CHUNK: the chunk's kind byte.
   */
  uint8_t kind;
  /**
   * LIMIT_EXCEEDED: the limit's name (`chunk_size`, `record_size`,
   * `argon2_memory`, `argon2_passes`, `argon2_lanes`, `passphrase_slots`,
   * or one added later), owned by the error.
   */
  const char *limit;
  /**
   * LIMIT_EXCEEDED: the size found.
   */
  uint64_t limit_value;
  /**
   * LIMIT_EXCEEDED: the limit in force.
   */
  uint64_t limit_bound;
} KeepsakeErrorDetails;

/**
 * Writes `len` bytes at `data` to the caller's sink. Returns 0 once all of
 * them are written, anything else on failure (the call that wrote fails
 * with KEEPSAKE_STATUS_IO). `data` is valid only during the call.
 */
typedef int32_t (*KeepsakeWriteFn)(void *user_data, const uint8_t *data, size_t len);

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * This library's version, such as `0.1.0`: a static NUL-terminated string.
 */
const char *keepsake_version(void);

/**
 * Reads the header, the metadata chunk and the final chunk of the archive
 * file at `path`, whatever its size (spec §7.2), and stores at `*out` a
 * JSON object: `format_version`, `key_slots`, `archive_bytes`, `metadata`
 * and `trailer` in the test vectors' form, and `signature` (`status`,
 * `signer`). The chunks between are not read, so damage there goes
 * unnoticed: keepsake_archive_verify finds it.
 *
 * # Safety
 *
 * `path` must be a NUL-terminated string; `options` NULL or a live handle
 * from keepsake_open_options_new; `out` writable storage for a
 * `KeepsakeBuffer`; `error` NULL or writable storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_archive_summary(const char *path,
                                        const struct KeepsakeOpenOptions *options,
                                        struct KeepsakeBuffer *out,
                                        struct KeepsakeError **error);

/**
 * Reads and authenticates the whole archive file at `path`, exactly as an
 * import would, and writes nothing. On success, when `report` is not NULL,
 * stores there a JSON object: `archive_bytes`, `chunks`, `metadata`,
 * `trailer` and `signature`. A bad signature does not fail verification;
 * the report states it. `on_progress` (may be NULL) is called as the work
 * goes, with `user_data`, and can cancel.
 *
 * # Safety
 *
 * `path` must be a NUL-terminated string; `options` NULL or a live handle
 * from keepsake_open_options_new; `report` NULL or writable storage for a
 * `KeepsakeBuffer`; `error` NULL or writable storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_archive_verify(const char *path,
                                       const struct KeepsakeOpenOptions *options,
                                       KeepsakeProgressFn on_progress,
                                       void *user_data,
                                       struct KeepsakeBuffer *report,
                                       struct KeepsakeError **error);

/**
 * Imports the archive file at `archive` into the SQLite database at `db`
 * (created, with the reference schema, if it does not exist), all or
 * nothing: on any error, cancellation included, the database is exactly as
 * it was. The import is additive: rows already there are kept, and an
 * archive imported twice inserts nothing the second time. On success, when
 * `report` is not NULL, stores there a JSON object `{"inserted": COUNTS,
 * "skipped": COUNTS}`, each COUNTS `{"conversations", "messages",
 * "consent"}`. `on_progress` (may be NULL) is called with `user_data`, and
 * can cancel.
 *
 * # Safety
 *
 * `archive` and `db` must be NUL-terminated strings; `options` NULL or a
 * live handle from keepsake_open_options_new; `report` NULL or writable
 * storage for a `KeepsakeBuffer`; `error` NULL or writable storage for a
 * `KeepsakeError *`.
 */
KeepsakeStatus keepsake_database_import(const char *archive,
                                        const struct KeepsakeOpenOptions *options,
                                        const char *db,
                                        KeepsakeProgressFn on_progress,
                                        void *user_data,
                                        struct KeepsakeBuffer *report,
                                        struct KeepsakeError **error);

/**
 * Writes an archive of the SQLite database at `db` (in the reference
 * schema) to a new file at `archive`, as one consistent snapshot, with the
 * key slots, time range, elements, compression and signing key of
 * `options`. A conversation travels with any of its messages that do. The
 * file is written under a temporary name and renamed when complete: on any
 * error, cancellation included, nothing is left under `archive`, and an
 * existing file there is never replaced. On success, when `report` is not
 * NULL, stores there a JSON object: `archive_bytes`, `counts`
 * (`conversations`, `messages`, `consent`), `time_range` (`[first, last]`
 * as decimal strings, or null) and `seek_index`. `on_progress` (may be
 * NULL) is called with `user_data`, and can cancel.
 *
 * # Safety
 *
 * `db` and `archive` must be NUL-terminated strings; `options` NULL or a
 * live handle from keepsake_write_options_new; `report` NULL or writable
 * storage for a `KeepsakeBuffer`; `error` NULL or writable storage for a
 * `KeepsakeError *`.
 */
KeepsakeStatus keepsake_database_create_archive(const char *db,
                                                const char *archive,
                                                const struct KeepsakeWriteOptions *options,
                                                KeepsakeProgressFn on_progress,
                                                void *user_data,
                                                struct KeepsakeBuffer *report,
                                                struct KeepsakeError **error);

/**
 * Frees a buffer this library handed out. The empty buffer `{ NULL, 0 }`
 * may be freed too, and is left alone.
 *
 * # Safety
 *
 * `buffer` must have been filled in by this library and not freed before,
 * its fields unchanged.
 */
void keepsake_buffer_free(struct KeepsakeBuffer buffer);

/**
 * A new, empty set of open options: no key yet, the default limits (those
 * of the specification, §9), one worker thread per core. NULL only after
 * an internal error.
 */
struct KeepsakeOpenOptions *keepsake_open_options_new(void);

/**
 * Frees open options, wiping the keys they hold; NULL is ignored.
 *
 * # Safety
 *
 * `options` must be NULL or a handle from keepsake_open_options_new, not
 * freed before and not in use by another thread.
 */
void keepsake_open_options_free(struct KeepsakeOpenOptions *options);

/**
 * Adds a raw key to try: `key_len` bytes that are either the 32 bytes of the
 * key or its 64 hexadecimal characters (a key file's contents, a final
 * newline allowed).
 *
 * # Safety
 *
 * `options` must be NULL or a live handle from keepsake_open_options_new not
 * in use by another thread; `key` must point to `key_len` readable bytes;
 * `error` must be NULL or point to writable storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_open_options_add_key(struct KeepsakeOpenOptions *options,
                                             const uint8_t *key,
                                             size_t key_len,
                                             struct KeepsakeError **error);

/**
 * Adds a passphrase to try (NUL-terminated UTF-8, not empty).
 *
 * # Safety
 *
 * `options` must be NULL or a live handle from keepsake_open_options_new not
 * in use by another thread; `passphrase` a NUL-terminated string; `error`
 * NULL or writable storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_open_options_add_passphrase(struct KeepsakeOpenOptions *options,
                                                    const char *passphrase,
                                                    struct KeepsakeError **error);

/**
 * Adds an X25519 identity to try: its text form `KEEPSAKE-SECRET-KEY-1…`,
 * or the contents of an identity file (`#` comment lines, then the key line).
 *
 * # Safety
 *
 * `options` must be NULL or a live handle from keepsake_open_options_new not
 * in use by another thread; `identity` a NUL-terminated string; `error` NULL
 * or writable storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_open_options_add_identity(struct KeepsakeOpenOptions *options,
                                                  const char *identity,
                                                  struct KeepsakeError **error);

/**
 * Sets the largest chunk and the largest record a reader accepts from an
 * archive's header, in bytes; 0 keeps the default (4 MiB each). An archive that declares
 * more fails with KEEPSAKE_STATUS_LIMIT_EXCEEDED before anything is
 * allocated for it. The limit on a batch's decoded size stays at its
 * default, 16 MiB (spec §9). Readers, summaries, verify and import use these.
 *
 * # Safety
 *
 * `options` must be NULL or a live handle from keepsake_open_options_new not
 * in use by another thread; `error` NULL or writable storage for a
 * `KeepsakeError *`.
 */
KeepsakeStatus keepsake_open_options_set_limits(struct KeepsakeOpenOptions *options,
                                                uint32_t max_chunk_size,
                                                uint32_t max_record_size,
                                                struct KeepsakeError **error);

/**
 * Requires, of keepsake_archive_verify and keepsake_database_import, a
 * valid signature by `signer` (`keepsakesig1…`) bound to the archive's file
 * key (scheme 2): an archive intact but not so signed fails with
 * KEEPSAKE_STATUS_UNTRUSTED_SIGNATURE, and an import then writes nothing.
 * NULL removes a signer set before. Readers and summaries report the
 * signature but do not require it.
 *
 * # Safety
 *
 * `options` must be NULL or a live handle from keepsake_open_options_new not
 * in use by another thread; `signer` NULL or a NUL-terminated string;
 * `error` NULL or writable storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_open_options_set_trusted_signer(struct KeepsakeOpenOptions *options,
                                                        const char *signer,
                                                        struct KeepsakeError **error);

/**
 * Sets how many worker threads a reader opens chunks on; 0 means one per
 * core, 1 means all on the caller's thread. Records come out in the same
 * order whatever the number; memory grows by two chunks per thread.
 *
 * # Safety
 *
 * `options` must be NULL or a live handle from keepsake_open_options_new not
 * in use by another thread; `error` NULL or writable storage for a
 * `KeepsakeError *`.
 */
KeepsakeStatus keepsake_open_options_set_threads(struct KeepsakeOpenOptions *options,
                                                 uint32_t threads,
                                                 struct KeepsakeError **error);

/**
 * New write options: no key slot yet (add at least one), messages and
 * consent selected, no time range, 1 MiB chunks, zstd level 3, one worker
 * thread per core, unsigned. NULL only after an internal error.
 */
struct KeepsakeWriteOptions *keepsake_write_options_new(void);

/**
 * Frees write options, wiping the keys they hold; NULL is ignored.
 *
 * # Safety
 *
 * `options` must be NULL or a handle from keepsake_write_options_new, not
 * freed before and not in use by another thread.
 */
void keepsake_write_options_free(struct KeepsakeWriteOptions *options);

/**
 * Adds a key slot for a raw key: `key_len` bytes that are either the 32
 * bytes of the key or its 64 hexadecimal characters. `slot_name` (UTF-8, at
 * most 255 bytes, stored in the clear beside the slot) may be NULL.
 *
 * # Safety
 *
 * `options` must be NULL or a live handle from keepsake_write_options_new
 * not in use by another thread; `key` must point to `key_len` readable
 * bytes; `slot_name` NULL or a NUL-terminated string; `error` NULL or
 * writable storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_write_options_add_key(struct KeepsakeWriteOptions *options,
                                              const uint8_t *key,
                                              size_t key_len,
                                              const char *slot_name,
                                              struct KeepsakeError **error);

/**
 * Adds a key slot for a passphrase, stretched with Argon2id at `memory_kib`
 * KiB, `passes` passes and `lanes` lanes; 0 for any of them takes the
 * default (65536 KiB, 3 passes, 1 lane). Readers compute at most 262144 KiB,
 * 10 passes and 4 lanes, and writers use at least 19456 KiB and 2 passes.
 *
 * # Safety
 *
 * `options` must be NULL or a live handle from keepsake_write_options_new
 * not in use by another thread; `passphrase` a NUL-terminated string;
 * `slot_name` NULL or a NUL-terminated string; `error` NULL or writable
 * storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_write_options_add_passphrase(struct KeepsakeWriteOptions *options,
                                                     const char *passphrase,
                                                     const char *slot_name,
                                                     uint32_t memory_kib,
                                                     uint32_t passes,
                                                     uint32_t lanes,
                                                     struct KeepsakeError **error);

/**
 * Adds a key slot for an X25519 recipient, given as its text form
 * `keepsake1…`; the matching identity opens the archive.
 *
 * # Safety
 *
 * `options` must be NULL or a live handle from keepsake_write_options_new
 * not in use by another thread; `recipient` a NUL-terminated string;
 * `slot_name` NULL or a NUL-terminated string; `error` NULL or writable
 * storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_write_options_add_recipient(struct KeepsakeWriteOptions *options,
                                                    const char *recipient,
                                                    const char *slot_name,
                                                    struct KeepsakeError **error);

/**
 * Sets the message time range, in nanoseconds since the Unix epoch: from
 * `*start_ns` (inclusive) to `*end_ns` (exclusive); NULL leaves that end
 * open. Creating from a database selects the messages in range (and the
 * conversations they need); a record writer only states the range in the
 * archive's metadata, and writes what it is given.
 *
 * # Safety
 *
 * `options` must be NULL or a live handle from keepsake_write_options_new
 * not in use by another thread; `start_ns` and `end_ns` NULL or readable;
 * `error` NULL or writable storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_write_options_set_time_range(struct KeepsakeWriteOptions *options,
                                                     const int64_t *start_ns,
                                                     const int64_t *end_ns,
                                                     struct KeepsakeError **error);

/**
 * Sets which kinds of data are selected: conversations and their messages,
 * consent preferences, or both (at least one). As for the time range, a
 * record writer only states this in the metadata.
 *
 * # Safety
 *
 * `options` must be NULL or a live handle from keepsake_write_options_new
 * not in use by another thread; `error` NULL or writable storage for a
 * `KeepsakeError *`.
 */
KeepsakeStatus keepsake_write_options_set_elements(struct KeepsakeWriteOptions *options,
                                                   bool messages,
                                                   bool consent,
                                                   struct KeepsakeError **error);

/**
 * Sets the zstd level (1 to 22; default 3) and the largest chunk before
 * compression in bytes (4096 to 67108864; default 1048576; 0 keeps the
 * current value). A value out of range fails when a writer is made.
 *
 * # Safety
 *
 * `options` must be NULL or a live handle from keepsake_write_options_new
 * not in use by another thread; `error` NULL or writable storage for a
 * `KeepsakeError *`.
 */
KeepsakeStatus keepsake_write_options_set_compression(struct KeepsakeWriteOptions *options,
                                                      int32_t level,
                                                      uint32_t chunk_size,
                                                      struct KeepsakeError **error);

/**
 * Sets how many worker threads compress and seal chunks; 0 means one per
 * core. The archive's bytes are the same whatever the number.
 *
 * # Safety
 *
 * `options` must be NULL or a live handle from keepsake_write_options_new
 * not in use by another thread; `error` NULL or writable storage for a
 * `KeepsakeError *`.
 */
KeepsakeStatus keepsake_write_options_set_threads(struct KeepsakeWriteOptions *options,
                                                  uint32_t threads,
                                                  struct KeepsakeError **error);

/**
 * Signs the archive's trailer with an Ed25519 signing key, given as its
 * text form `KEEPSAKE-SIGNING-KEY-1…` or a signing key file's contents;
 * NULL removes a key set before. Readers report the signer (`keepsakesig1…`).
 *
 * # Safety
 *
 * `options` must be NULL or a live handle from keepsake_write_options_new
 * not in use by another thread; `signing_key` NULL or a NUL-terminated
 * string; `error` NULL or writable storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_write_options_set_signing_key(struct KeepsakeWriteOptions *options,
                                                      const char *signing_key,
                                                      struct KeepsakeError **error);

/**
 * Sets the name of the software that writes the archive, stored in its
 * metadata (default `keepsake <version>`), such as `my-sdk 2.1`. Archives
 * created from a database always name Keepsake.
 *
 * # Safety
 *
 * `options` must be NULL or a live handle from keepsake_write_options_new
 * not in use by another thread; `creator` a NUL-terminated string; `error`
 * NULL or writable storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_write_options_set_creator(struct KeepsakeWriteOptions *options,
                                                  const char *creator,
                                                  struct KeepsakeError **error);

/**
 * Opens an archive read through the caller's `read` callback: reads and
 * authenticates the header and the metadata chunk, and stores a new reader
 * at `*out`. `read` is called during this call and during later calls on
 * the reader, on the thread that makes them, with `user_data`; keep both
 * valid until the reader is freed.
 *
 * # Safety
 *
 * `options` must be NULL or a live handle from keepsake_open_options_new;
 * `out` writable storage for a `KeepsakeReader *`; `error` NULL or writable
 * storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_reader_new(KeepsakeReadFn read,
                                   void *user_data,
                                   const struct KeepsakeOpenOptions *options,
                                   struct KeepsakeReader **out,
                                   struct KeepsakeError **error);

/**
 * Opens the archive file at `path` (UTF-8), as keepsake_reader_new does.
 *
 * # Safety
 *
 * `path` must be a NUL-terminated string; `options` NULL or a live handle
 * from keepsake_open_options_new; `out` writable storage for a
 * `KeepsakeReader *`; `error` NULL or writable storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_reader_open_file(const char *path,
                                         const struct KeepsakeOpenOptions *options,
                                         struct KeepsakeReader **out,
                                         struct KeepsakeError **error);

/**
 * Stores at `*out` what the reader learnt from the header and the metadata
 * chunk, as a JSON object: `format_version`, `key_slots`, `max_chunk_size`,
 * `max_record_size`, and `metadata` in the test vectors' form (`mode`,
 * `created_at_ns`, `elements`, `start_ns`, `end_ns`, `creator`).
 *
 * # Safety
 *
 * `reader` must be NULL or a live reader not in use by another thread;
 * `out` writable storage for a `KeepsakeBuffer`; `error` NULL or writable
 * storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_reader_metadata_json(const struct KeepsakeReader *reader,
                                             struct KeepsakeBuffer *out,
                                             struct KeepsakeError **error);

/**
 * Reads the next batch of records and stores it at `*out` as a JSON array
 * of records in the form of `test-vectors/README.md` (the form
 * keepsake_writer_write_json takes). At the end of the archive, once its
 * final chunk has been authenticated and checked against everything read
 * and the input has ended, stores the empty buffer `{ NULL, 0 }` instead.
 * In an archive of mode `pages` (a whole-database snapshot), page batches
 * hold no records: they are authenticated and checked, and passed over.
 * After an error the reader hands out nothing more.
 *
 * # Safety
 *
 * `reader` must be NULL or a live reader not in use by another thread;
 * `out` writable storage for a `KeepsakeBuffer`; `error` NULL or writable
 * storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_reader_next_batch_json(struct KeepsakeReader *reader,
                                               struct KeepsakeBuffer *out,
                                               struct KeepsakeError **error);

/**
 * As keepsake_reader_next_batch_json, with the batch in its canonical
 * encoding: a record batch body as the format specification defines it
 * (§6.3.1: the schema version as a varint, then each record as a varint
 * length and its postcard encoding). The records' encodings are the bytes
 * the test vectors' `released_records_sha256` hashes.
 *
 * # Safety
 *
 * `reader` must be NULL or a live reader not in use by another thread;
 * `out` writable storage for a `KeepsakeBuffer`; `error` NULL or writable
 * storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_reader_next_batch_encoded(struct KeepsakeReader *reader,
                                                  struct KeepsakeBuffer *out,
                                                  struct KeepsakeError **error);

/**
 * Once a next-batch call has reported the end, stores at `*out` what the
 * end of the archive says, as a JSON object: `bytes_read`, `chunks` (the
 * metadata and final chunks included), `trailer` in the test vectors' form,
 * and `signature` (`status`: `unsigned`, `valid`, `invalid` or
 * `unknown-scheme`; `signer`: `keepsakesig1…` or null). Before the end,
 * fails with KEEPSAKE_STATUS_INVALID_ARGUMENT.
 *
 * # Safety
 *
 * `reader` must be NULL or a live reader not in use by another thread;
 * `out` writable storage for a `KeepsakeBuffer`; `error` NULL or writable
 * storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_reader_end_json(const struct KeepsakeReader *reader,
                                        struct KeepsakeBuffer *out,
                                        struct KeepsakeError **error);

/**
 * Frees a reader; NULL is ignored.
 *
 * # Safety
 *
 * `reader` must be NULL or a live reader, not freed before and not in use
 * by another thread.
 */
void keepsake_reader_free(struct KeepsakeReader *reader);

/**
 * The stable name of a status code: `ok`, `wrong_key`, `corrupt`, … (the
 * error kind words of the command line's `--json` output), or `unknown`
 * for a code this version does not define. The string is static.
 */
const char *keepsake_status_name(int32_t status);

/**
 * The error's status (never KEEPSAKE_STATUS_OK); KEEPSAKE_STATUS_INVALID_ARGUMENT
 * for NULL.
 *
 * # Safety
 *
 * `error` must be NULL or a live error from this library.
 */
KeepsakeStatus keepsake_error_status(const struct KeepsakeError *error);

/**
 * The error's message, for people: NUL-terminated UTF-8, owned by the
 * error and valid until it is freed. An empty string for NULL.
 *
 * # Safety
 *
 * `error` must be NULL or a live error from this library.
 */
const char *keepsake_error_message(const struct KeepsakeError *error);

/**
 * The error's parameters (which chunk, which offset, which limit, …); all
 * zero for NULL. `limit` points into the error and is valid until it is freed.
 *
 * # Safety
 *
 * `error` must be NULL or a live error from this library.
 */
struct KeepsakeErrorDetails keepsake_error_details(const struct KeepsakeError *error);

/**
 * Frees an error; NULL is ignored.
 *
 * # Safety
 *
 * `error` must be NULL or an error from this library, not freed before.
 */
void keepsake_error_free(struct KeepsakeError *error);

/**
 * Starts an archive written to the caller's `write` callback: writes the
 * header and the metadata chunk (through `write`) and stores a new writer
 * at `*out`. `write` is called during this call and during later calls on
 * the writer, on the thread that makes them, with `user_data`; keep both
 * valid until the writer is finished or freed.
 *
 * # Safety
 *
 * `options` must be NULL or a live handle from keepsake_write_options_new;
 * `out` must point to writable storage for a `KeepsakeWriter *`; `error`
 * NULL or writable storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_writer_new(KeepsakeWriteFn write,
                                   void *user_data,
                                   const struct KeepsakeWriteOptions *options,
                                   struct KeepsakeWriter **out,
                                   struct KeepsakeError **error);

/**
 * Starts an archive written to a new file at `path` (UTF-8). The bytes go
 * to a temporary file in the same directory, which keepsake_writer_finish
 * syncs and renames to `path`: until then, and if the writer is freed
 * instead or anything fails, nothing exists under `path`. An existing file
 * at `path` is never replaced (KEEPSAKE_STATUS_INVALID_ARGUMENT).
 *
 * # Safety
 *
 * `path` must be a NUL-terminated string; `options` NULL or a live handle
 * from keepsake_write_options_new; `out` writable storage for a
 * `KeepsakeWriter *`; `error` NULL or writable storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_writer_create_file(const char *path,
                                           const struct KeepsakeWriteOptions *options,
                                           struct KeepsakeWriter **out,
                                           struct KeepsakeError **error);

/**
 * Writes records given as JSON text: an array of records in the form of
 * `test-vectors/README.md` (each an object whose `type` is `conversation`,
 * `message` or `consent`; byte strings in hex; timestamps as decimal
 * strings; nullable fields may be left out). Records must come in
 * dependency order: a conversation before its messages, each conversation
 * once. The whole text is parsed before anything is written, so malformed
 * JSON writes nothing; a record out of order fails the call after the
 * records before it were written, and the writer stays usable.
 *
 * # Safety
 *
 * `writer` must be NULL or a live writer not in use by another thread;
 * `json` must point to `json_len` readable bytes; `error` NULL or writable
 * storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_writer_write_json(struct KeepsakeWriter *writer,
                                          const uint8_t *json,
                                          size_t json_len,
                                          struct KeepsakeError **error);

/**
 * Writes records given in their canonical encoding: a record batch body as
 * the format specification defines it (§6.3.1: the schema version as a
 * varint, then each record as a varint length and its postcard encoding),
 * exactly what keepsake_reader_next_batch_encoded hands out. Each record
 * must be canonically encoded. The whole batch is decoded before anything
 * is written; records out of dependency order fail as with _write_json.
 *
 * # Safety
 *
 * `writer` must be NULL or a live writer not in use by another thread;
 * `batch` must point to `batch_len` readable bytes; `error` NULL or writable
 * storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_writer_write_encoded(struct KeepsakeWriter *writer,
                                             const uint8_t *batch,
                                             size_t batch_len,
                                             struct KeepsakeError **error);

/**
 * Ends the archive: writes any pending records, the seek index and the
 * final chunk (and, for a file writer, syncs it and renames it into
 * place). On success, when `trailer` is not NULL, stores there the
 * trailer as JSON (the test vectors' form: counts, time range, content
 * digest, signature block). The writer is freed whatever the outcome.
 *
 * # Safety
 *
 * `writer` must be NULL or a live writer not in use by another thread, and
 * is not valid after the call; `trailer` NULL or writable storage for a
 * `KeepsakeBuffer`; `error` NULL or writable storage for a `KeepsakeError *`.
 */
KeepsakeStatus keepsake_writer_finish(struct KeepsakeWriter *writer,
                                      struct KeepsakeBuffer *trailer,
                                      struct KeepsakeError **error);

/**
 * Abandons an archive being written and frees the writer; NULL is ignored.
 * The bytes already given to a write callback stay there (they are not an
 * archive any reader accepts); a file writer leaves no file.
 *
 * # Safety
 *
 * `writer` must be NULL or a live writer, not freed before and not in use
 * by another thread.
 */
void keepsake_writer_free(struct KeepsakeWriter *writer);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* KEEPSAKE_H */
