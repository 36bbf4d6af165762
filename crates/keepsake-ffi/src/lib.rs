//! The C ABI of Keepsake, for hosts that call C: Swift, Kotlin (JNI), Go
//! (cgo), C#, C++ and C itself.
//!
//! Built as a shared and a static library (`libkeepsake_ffi`), with the
//! header `include/keepsake.h` generated from this crate by cbindgen (its
//! test fails when the committed header is stale). The header states the
//! conventions every function follows: a status code per error class, error
//! objects with a message and details, opaque handles, buffers the caller
//! frees, callbacks called only during the call that was given them.
//!
//! Records cross the boundary as JSON in the form `test-vectors/README.md`
//! defines ([`keepsake::json`]), or in their canonical encoding (spec §6.3.1).
//!
//! Every entry point runs in [`status::guard`] (or `guard_value`), which
//! catches panics: none crosses into the host.
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod archive;
pub mod buffer;
pub mod callbacks;
mod handle;
pub mod options;
pub mod reader;
mod reports;
pub mod status;
pub mod writer;

use std::ffi::c_char;

/// This library's version, such as `0.1.0`: a static NUL-terminated string.
#[unsafe(no_mangle)]
pub extern "C" fn keepsake_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
