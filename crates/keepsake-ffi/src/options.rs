//! The two options handles: how to open an archive (the keys to try, the
//! reader's limits) and how to write one (key slots, selection, chunking,
//! compression, signing).

use std::ffi::c_char;

use keepsake::crypto::signature::Signer;
use keepsake::stream::writer::WriterOptions;
use keepsake::{
    ArchiveKey, Argon2Params, Elements, Error, Identity, Limits, Passphrase, Recipient, Result,
    SigningKey, X25519Identity, X25519Recipient,
};

use crate::buffer::{bytes, handle_mut, optional_text, text};
use crate::status::{KeepsakeError, KeepsakeStatus, guard, guard_value};

/// How to open archives: the keys to try (raw keys, passphrases, X25519
/// identities; every slot is tried with every key of its kind) and the
/// reader's limits. Made by keepsake_open_options_new, freed by
/// keepsake_open_options_free. Holds secrets, wiped from memory when freed.
#[derive(Debug, Default)]
pub struct KeepsakeOpenOptions {
    pub(crate) identities: Vec<Identity>,
    pub(crate) limits: Limits,
    /// Worker threads for opening chunks; `None` for one per core.
    pub(crate) threads: Option<usize>,
    /// The signer verify and import require, if any.
    pub(crate) trusted_signer: Option<Signer>,
}

/// How to write an archive: its key slots (at least one), what the metadata
/// says was selected, chunking, compression and an optional signature. Made
/// by keepsake_write_options_new, freed by keepsake_write_options_free. Holds
/// secrets, wiped from memory when freed.
#[derive(Debug, Default)]
pub struct KeepsakeWriteOptions {
    pub(crate) recipients: Vec<Recipient>,
    pub(crate) elements: Elements,
    pub(crate) start_ns: Option<i64>,
    pub(crate) end_ns: Option<i64>,
    pub(crate) writer: WriterOptions,
    pub(crate) creator: Option<String>,
}

impl KeepsakeWriteOptions {
    /// The recipients, refusing an archive nobody could open.
    pub(crate) fn recipients(&self) -> Result<&[Recipient]> {
        if self.recipients.is_empty() {
            return Err(Error::invalid(
                "the write options hold no key slot: add a key, passphrase or recipient",
            ));
        }
        Ok(&self.recipients)
    }
}

/// A raw key from a key file's contents: 32 bytes, or 64 hex characters.
///
/// # Safety
///
/// As [`bytes`].
unsafe fn raw_key(key: *const u8, key_len: usize) -> Result<ArchiveKey> {
    // SAFETY: the caller's promise is the one `bytes` needs.
    ArchiveKey::from_key_file(unsafe { bytes(key, key_len, "the key") }?)
}

/// A new, empty set of open options: no key yet, the default limits (those
/// of the specification, §9), one worker thread per core. NULL only after
/// an internal error.
#[unsafe(no_mangle)]
pub extern "C" fn keepsake_open_options_new() -> *mut KeepsakeOpenOptions {
    guard_value(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(KeepsakeOpenOptions::default()))
    })
}

/// Frees open options, wiping the keys they hold; NULL is ignored.
///
/// # Safety
///
/// `options` must be NULL or a handle from keepsake_open_options_new, not
/// freed before and not in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_open_options_free(options: *mut KeepsakeOpenOptions) {
    // SAFETY: the caller's promise is the one `take` needs.
    guard_value((), || drop(unsafe { crate::buffer::take(options) }))
}

/// Adds a raw key to try: `key_len` bytes that are either the 32 bytes of the
/// key or its 64 hexadecimal characters (a key file's contents, a final
/// newline allowed).
///
/// # Safety
///
/// `options` must be NULL or a live handle from keepsake_open_options_new not
/// in use by another thread; `key` must point to `key_len` readable bytes;
/// `error` must be NULL or point to writable storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_open_options_add_key(
    options: *mut KeepsakeOpenOptions,
    key: *const u8,
    key_len: usize,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let options = unsafe { handle_mut(options, "the open options") }?;
        // SAFETY: as the caller promises.
        let key = unsafe { raw_key(key, key_len) }?;
        options.identities.push(key.into());
        Ok(())
    })
}

/// Adds a passphrase to try (NUL-terminated UTF-8, not empty).
///
/// # Safety
///
/// `options` must be NULL or a live handle from keepsake_open_options_new not
/// in use by another thread; `passphrase` a NUL-terminated string; `error`
/// NULL or writable storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_open_options_add_passphrase(
    options: *mut KeepsakeOpenOptions,
    passphrase: *const c_char,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let options = unsafe { handle_mut(options, "the open options") }?;
        // SAFETY: as the caller promises.
        let passphrase = Passphrase::new(unsafe { text(passphrase, "the passphrase") }?)?;
        options.identities.push(passphrase.into());
        Ok(())
    })
}

/// Adds an X25519 identity to try: its text form `KEEPSAKE-SECRET-KEY-1…`,
/// or the contents of an identity file (`#` comment lines, then the key line).
///
/// # Safety
///
/// `options` must be NULL or a live handle from keepsake_open_options_new not
/// in use by another thread; `identity` a NUL-terminated string; `error` NULL
/// or writable storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_open_options_add_identity(
    options: *mut KeepsakeOpenOptions,
    identity: *const c_char,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let options = unsafe { handle_mut(options, "the open options") }?;
        // SAFETY: as the caller promises.
        let identity = X25519Identity::from_text(unsafe { text(identity, "the identity") }?)?;
        options.identities.push(identity.into());
        Ok(())
    })
}

/// Sets the largest chunk and the largest record a reader accepts from an
/// archive's header, in bytes; 0 keeps the default (4 MiB each). An archive that declares
/// more fails with KEEPSAKE_STATUS_LIMIT_EXCEEDED before anything is
/// allocated for it. The limit on a batch's decoded size stays at its
/// default, 16 MiB (spec §9). Readers, summaries, verify and import use these.
///
/// # Safety
///
/// `options` must be NULL or a live handle from keepsake_open_options_new not
/// in use by another thread; `error` NULL or writable storage for a
/// `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_open_options_set_limits(
    options: *mut KeepsakeOpenOptions,
    max_chunk_size: u32,
    max_record_size: u32,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let options = unsafe { handle_mut(options, "the open options") }?;
        let defaults = Limits::default();
        let or_default = |value: u32, default: u32| if value == 0 { default } else { value };
        options.limits.max_chunk_size = or_default(max_chunk_size, defaults.max_chunk_size);
        options.limits.max_record_size = or_default(max_record_size, defaults.max_record_size);
        Ok(())
    })
}

/// Requires, of keepsake_archive_verify and keepsake_database_import, a
/// valid signature by `signer` (`keepsakesig1…`) bound to the archive's file
/// key (scheme 2): an archive intact but not so signed fails with
/// KEEPSAKE_STATUS_UNTRUSTED_SIGNATURE, and an import then writes nothing.
/// NULL removes a signer set before. Readers and summaries report the
/// signature but do not require it.
///
/// # Safety
///
/// `options` must be NULL or a live handle from keepsake_open_options_new not
/// in use by another thread; `signer` NULL or a NUL-terminated string;
/// `error` NULL or writable storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_open_options_set_trusted_signer(
    options: *mut KeepsakeOpenOptions,
    signer: *const c_char,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let options = unsafe { handle_mut(options, "the open options") }?;
        options.trusted_signer = if signer.is_null() {
            None
        } else {
            // SAFETY: not NULL; NUL-terminated as the caller promises.
            Some(unsafe { text(signer, "the signer") }?.parse::<Signer>()?)
        };
        Ok(())
    })
}

/// Sets how many worker threads a reader opens chunks on; 0 means one per
/// core, 1 means all on the caller's thread. Records come out in the same
/// order whatever the number; memory grows by two chunks per thread.
///
/// # Safety
///
/// `options` must be NULL or a live handle from keepsake_open_options_new not
/// in use by another thread; `error` NULL or writable storage for a
/// `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_open_options_set_threads(
    options: *mut KeepsakeOpenOptions,
    threads: u32,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let options = unsafe { handle_mut(options, "the open options") }?;
        options.threads = (threads != 0).then_some(threads as usize);
        Ok(())
    })
}

/// New write options: no key slot yet (add at least one), messages and
/// consent selected, no time range, 1 MiB chunks, zstd level 3, one worker
/// thread per core, unsigned. NULL only after an internal error.
#[unsafe(no_mangle)]
pub extern "C" fn keepsake_write_options_new() -> *mut KeepsakeWriteOptions {
    guard_value(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(KeepsakeWriteOptions::default()))
    })
}

/// Frees write options, wiping the keys they hold; NULL is ignored.
///
/// # Safety
///
/// `options` must be NULL or a handle from keepsake_write_options_new, not
/// freed before and not in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_write_options_free(options: *mut KeepsakeWriteOptions) {
    // SAFETY: the caller's promise is the one `take` needs.
    guard_value((), || drop(unsafe { crate::buffer::take(options) }))
}

/// Adds a key slot for a raw key: `key_len` bytes that are either the 32
/// bytes of the key or its 64 hexadecimal characters. `slot_name` (UTF-8, at
/// most 255 bytes, stored in the clear beside the slot) may be NULL.
///
/// # Safety
///
/// `options` must be NULL or a live handle from keepsake_write_options_new
/// not in use by another thread; `key` must point to `key_len` readable
/// bytes; `slot_name` NULL or a NUL-terminated string; `error` NULL or
/// writable storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_write_options_add_key(
    options: *mut KeepsakeWriteOptions,
    key: *const u8,
    key_len: usize,
    slot_name: *const c_char,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let options = unsafe { handle_mut(options, "the write options") }?;
        // SAFETY: as the caller promises.
        let key = unsafe { raw_key(key, key_len) }?;
        // SAFETY: as the caller promises.
        let name = unsafe { optional_text(slot_name, "the slot name") }?;
        options
            .recipients
            .push(Recipient::raw_key(key).named(name.unwrap_or_default()));
        Ok(())
    })
}

/// Adds a key slot for a passphrase, stretched with Argon2id at `memory_kib`
/// KiB, `passes` passes and `lanes` lanes; 0 for any of them takes the
/// default (65536 KiB, 3 passes, 1 lane). Readers compute at most 262144 KiB,
/// 10 passes and 4 lanes, and writers use at least 19456 KiB and 2 passes.
///
/// # Safety
///
/// `options` must be NULL or a live handle from keepsake_write_options_new
/// not in use by another thread; `passphrase` a NUL-terminated string;
/// `slot_name` NULL or a NUL-terminated string; `error` NULL or writable
/// storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_write_options_add_passphrase(
    options: *mut KeepsakeWriteOptions,
    passphrase: *const c_char,
    slot_name: *const c_char,
    memory_kib: u32,
    passes: u32,
    lanes: u32,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let options = unsafe { handle_mut(options, "the write options") }?;
        // SAFETY: as the caller promises.
        let passphrase = Passphrase::new(unsafe { text(passphrase, "the passphrase") }?)?;
        // SAFETY: as the caller promises.
        let name = unsafe { optional_text(slot_name, "the slot name") }?;
        let default = Argon2Params::DEFAULT;
        let or_default = |value: u32, default: u32| if value == 0 { default } else { value };
        let params = Argon2Params {
            m_cost: or_default(memory_kib, default.m_cost),
            t_cost: or_default(passes, default.t_cost),
            p_cost: or_default(lanes, default.p_cost),
        };
        params.check().map_err(|error| {
            Error::invalid(format!(
                "the passphrase slot's Argon2 parameters are out of range: {error}"
            ))
        })?;
        options
            .recipients
            .push(Recipient::passphrase(passphrase, params).named(name.unwrap_or_default()));
        Ok(())
    })
}

/// Adds a key slot for an X25519 recipient, given as its text form
/// `keepsake1…`; the matching identity opens the archive.
///
/// # Safety
///
/// `options` must be NULL or a live handle from keepsake_write_options_new
/// not in use by another thread; `recipient` a NUL-terminated string;
/// `slot_name` NULL or a NUL-terminated string; `error` NULL or writable
/// storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_write_options_add_recipient(
    options: *mut KeepsakeWriteOptions,
    recipient: *const c_char,
    slot_name: *const c_char,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let options = unsafe { handle_mut(options, "the write options") }?;
        // SAFETY: as the caller promises.
        let recipient: X25519Recipient = unsafe { text(recipient, "the recipient") }?.parse()?;
        // SAFETY: as the caller promises.
        let name = unsafe { optional_text(slot_name, "the slot name") }?;
        options
            .recipients
            .push(Recipient::x25519(recipient).named(name.unwrap_or_default()));
        Ok(())
    })
}

/// Sets the message time range, in nanoseconds since the Unix epoch: from
/// `*start_ns` (inclusive) to `*end_ns` (exclusive); NULL leaves that end
/// open. Creating from a database selects the messages in range (and the
/// conversations they need); a record writer only states the range in the
/// archive's metadata, and writes what it is given.
///
/// # Safety
///
/// `options` must be NULL or a live handle from keepsake_write_options_new
/// not in use by another thread; `start_ns` and `end_ns` NULL or readable;
/// `error` NULL or writable storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_write_options_set_time_range(
    options: *mut KeepsakeWriteOptions,
    start_ns: *const i64,
    end_ns: *const i64,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let options = unsafe { handle_mut(options, "the write options") }?;
        // SAFETY: NULL or readable, as the caller promises.
        let (start, end) = unsafe { (start_ns.as_ref().copied(), end_ns.as_ref().copied()) };
        if let (Some(start), Some(end)) = (start, end)
            && start >= end
        {
            return Err(Error::invalid(format!(
                "the time range is empty: its start ({start}) must be before its end ({end})"
            )));
        }
        options.start_ns = start;
        options.end_ns = end;
        Ok(())
    })
}

/// Sets which kinds of data are selected: conversations and their messages,
/// consent preferences, or both (at least one). As for the time range, a
/// record writer only states this in the metadata.
///
/// # Safety
///
/// `options` must be NULL or a live handle from keepsake_write_options_new
/// not in use by another thread; `error` NULL or writable storage for a
/// `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_write_options_set_elements(
    options: *mut KeepsakeWriteOptions,
    messages: bool,
    consent: bool,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let options = unsafe { handle_mut(options, "the write options") }?;
        if !messages && !consent {
            return Err(Error::invalid(
                "nothing to archive: choose messages, consent or both",
            ));
        }
        options.elements = Elements { messages, consent };
        Ok(())
    })
}

/// Sets the zstd level (1 to 22; default 3) and the largest chunk before
/// compression in bytes (4096 to 67108864; default 1048576; 0 keeps the
/// current value). A value out of range fails when a writer is made.
///
/// # Safety
///
/// `options` must be NULL or a live handle from keepsake_write_options_new
/// not in use by another thread; `error` NULL or writable storage for a
/// `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_write_options_set_compression(
    options: *mut KeepsakeWriteOptions,
    level: i32,
    chunk_size: u32,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let options = unsafe { handle_mut(options, "the write options") }?;
        options.writer.level = level;
        if chunk_size != 0 {
            options.writer.chunk_size = chunk_size;
        }
        Ok(())
    })
}

/// Sets how many worker threads compress and seal chunks; 0 means one per
/// core. The archive's bytes are the same whatever the number.
///
/// # Safety
///
/// `options` must be NULL or a live handle from keepsake_write_options_new
/// not in use by another thread; `error` NULL or writable storage for a
/// `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_write_options_set_threads(
    options: *mut KeepsakeWriteOptions,
    threads: u32,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let options = unsafe { handle_mut(options, "the write options") }?;
        options.writer.threads = if threads == 0 {
            WriterOptions::default().threads
        } else {
            threads as usize
        };
        Ok(())
    })
}

/// Signs the archive's trailer with an Ed25519 signing key, given as its
/// text form `KEEPSAKE-SIGNING-KEY-1…` or a signing key file's contents;
/// NULL removes a key set before. Readers report the signer (`keepsakesig1…`).
///
/// # Safety
///
/// `options` must be NULL or a live handle from keepsake_write_options_new
/// not in use by another thread; `signing_key` NULL or a NUL-terminated
/// string; `error` NULL or writable storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_write_options_set_signing_key(
    options: *mut KeepsakeWriteOptions,
    signing_key: *const c_char,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let options = unsafe { handle_mut(options, "the write options") }?;
        // SAFETY: as the caller promises.
        let text = unsafe { optional_text(signing_key, "the signing key") }?;
        options.writer.signing_key = text.map(SigningKey::from_text).transpose()?;
        Ok(())
    })
}

/// Sets the name of the software that writes the archive, stored in its
/// metadata (default `keepsake <version>`), such as `my-sdk 2.1`. Archives
/// created from a database always name Keepsake.
///
/// # Safety
///
/// `options` must be NULL or a live handle from keepsake_write_options_new
/// not in use by another thread; `creator` a NUL-terminated string; `error`
/// NULL or writable storage for a `KeepsakeError *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_write_options_set_creator(
    options: *mut KeepsakeWriteOptions,
    creator: *const c_char,
    error: *mut *mut KeepsakeError,
) -> KeepsakeStatus {
    guard(error, || {
        // SAFETY: as the caller promises.
        let options = unsafe { handle_mut(options, "the write options") }?;
        // SAFETY: as the caller promises.
        options.creator = Some(unsafe { text(creator, "the creator") }?.to_owned());
        Ok(())
    })
}
