//! The decode target's properties behind the AEAD: chunk bodies of any kind, flags and content,
//! sealed under key [7; 32] from a chunk description (see `seal_description`), decode without
//! panic, the same whole, byte by byte and in pieces.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    keepsake_fuzz::check_decode(&keepsake_fuzz::seal_description(data));
});
