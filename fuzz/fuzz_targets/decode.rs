//! A full decode of arbitrary bytes with key [7; 32] (and the test vectors' key): no panic, and the
//! same events and the same error whether the decoder is fed the input whole, one byte at a time
//! or in arbitrary pieces; the blocking reader and the seekable summary agree with it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    keepsake_fuzz::check_decode(data);
});
