//! Bytes handed out to the caller, and the checks on what the caller hands in.

use std::ffi::{CStr, c_char};

use keepsake::{Error, Result};

/// Bytes this library hands out: JSON text or an encoded batch. The caller
/// owns them and frees them with keepsake_buffer_free. `data[len]` is a NUL
/// that `len` does not count. The empty buffer is `{ NULL, 0 }`.
#[repr(C)]
#[derive(Debug)]
pub struct KeepsakeBuffer {
    /// The first byte, or NULL for the empty buffer.
    pub data: *mut u8,
    /// How many bytes, the final NUL not counted.
    pub len: usize,
}

impl KeepsakeBuffer {
    /// The empty buffer, `{ NULL, 0 }`.
    pub(crate) const EMPTY: KeepsakeBuffer = KeepsakeBuffer {
        data: std::ptr::null_mut(),
        len: 0,
    };

    /// A buffer owning `bytes`, with a NUL after them.
    pub(crate) fn from_vec(mut bytes: Vec<u8>) -> KeepsakeBuffer {
        let len = bytes.len();
        bytes.push(0);
        let data = Box::into_raw(bytes.into_boxed_slice()).cast::<u8>();
        KeepsakeBuffer { data, len }
    }

    /// Frees a buffer made by [`KeepsakeBuffer::from_vec`].
    ///
    /// # Safety
    ///
    /// `self` must be the empty buffer or come unchanged from `from_vec`,
    /// and not have been freed.
    pub(crate) unsafe fn free(self) {
        if self.data.is_null() {
            return;
        }
        let slice = std::ptr::slice_from_raw_parts_mut(self.data, self.len + 1);
        // SAFETY: `from_vec` leaked a boxed slice of exactly `len + 1` bytes
        // at `data`, and the caller promises it was not freed since.
        drop(unsafe { Box::from_raw(slice) });
    }
}

/// Frees a buffer this library handed out. The empty buffer `{ NULL, 0 }`
/// may be freed too, and is left alone.
///
/// # Safety
///
/// `buffer` must have been filled in by this library and not freed before,
/// its fields unchanged.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keepsake_buffer_free(buffer: KeepsakeBuffer) {
    // Freeing cannot panic; nothing to guard.
    // SAFETY: the caller's promise is the one `free` needs.
    unsafe { buffer.free() }
}

/// Stores `bytes` as a new buffer at `out`.
///
/// # Safety
///
/// `out` must be NULL or point to writable storage for a `KeepsakeBuffer`.
pub(crate) unsafe fn put(out: *mut KeepsakeBuffer, bytes: Vec<u8>) -> Result<()> {
    if out.is_null() {
        return Err(Error::invalid("the output buffer pointer is NULL"));
    }
    // SAFETY: not NULL, and writable by the caller's promise.
    unsafe { out.write(KeepsakeBuffer::from_vec(bytes)) };
    Ok(())
}

/// Checks that an output pointer is not NULL, before any work is done.
pub(crate) fn check_out<T>(out: *mut T, what: &str) -> Result<()> {
    if out.is_null() {
        return Err(Error::invalid(format!("{what} is NULL")));
    }
    Ok(())
}

/// A NUL-terminated UTF-8 string argument.
///
/// # Safety
///
/// `text` must be NULL or point to a NUL-terminated string that stays valid
/// and unchanged for `'a`.
pub(crate) unsafe fn text<'a>(text: *const c_char, what: &str) -> Result<&'a str> {
    if text.is_null() {
        return Err(Error::invalid(format!("{what} is NULL")));
    }
    // SAFETY: not NULL, and NUL-terminated and live by the caller's promise.
    let text = unsafe { CStr::from_ptr(text) };
    text.to_str()
        .map_err(|_| Error::invalid(format!("{what} is not valid UTF-8")))
}

/// An optional NUL-terminated UTF-8 string argument: NULL is `None`.
///
/// # Safety
///
/// As [`text`].
pub(crate) unsafe fn optional_text<'a>(
    value: *const c_char,
    what: &str,
) -> Result<Option<&'a str>> {
    if value.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller's promise is the one `text` needs.
    unsafe { text(value, what) }.map(Some)
}

/// A byte-string argument of `len` bytes; NULL is allowed when `len` is 0.
///
/// # Safety
///
/// `data` must be NULL with `len` 0, or point to `len` readable bytes that
/// stay valid and unchanged for `'a`.
pub(crate) unsafe fn bytes<'a>(data: *const u8, len: usize, what: &str) -> Result<&'a [u8]> {
    if data.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Error::invalid(format!("{what} is NULL")))
        };
    }
    // SAFETY: not NULL, and `len` readable bytes by the caller's promise.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// A handle argument, borrowed.
///
/// # Safety
///
/// `handle` must be NULL or a live handle of type `T` made by this library,
/// not used by another thread during `'a`.
pub(crate) unsafe fn handle<'a, T>(handle: *const T, what: &str) -> Result<&'a T> {
    // SAFETY: by the caller's promise a non-NULL pointer is a live `T`.
    unsafe { handle.as_ref() }.ok_or_else(|| Error::invalid(format!("{what} is NULL")))
}

/// A handle argument, borrowed mutably.
///
/// # Safety
///
/// As [`handle`].
pub(crate) unsafe fn handle_mut<'a, T>(handle: *mut T, what: &str) -> Result<&'a mut T> {
    // SAFETY: by the caller's promise a non-NULL pointer is a live `T` that
    // no one else uses during the call.
    unsafe { handle.as_mut() }.ok_or_else(|| Error::invalid(format!("{what} is NULL")))
}

/// Hands a new handle to the caller through `out`.
///
/// # Safety
///
/// `out` must point to writable storage for a `T *` (checked not NULL by
/// [`check_out`] before the work).
pub(crate) unsafe fn give<T>(out: *mut *mut T, value: T) {
    // SAFETY: checked not NULL beforehand, and writable by the caller's promise.
    unsafe { out.write(Box::into_raw(Box::new(value))) };
}

/// Takes back and drops a handle given out by [`give`]; NULL is ignored.
///
/// # Safety
///
/// `handle` must be NULL or a live handle given out by this library, not
/// freed before and not in use by another thread.
pub(crate) unsafe fn take<T>(handle: *mut T) -> Option<Box<T>> {
    if handle.is_null() {
        return None;
    }
    // SAFETY: a live handle given out by `give`, so a leaked `Box<T>`.
    Some(unsafe { Box::from_raw(handle) })
}
