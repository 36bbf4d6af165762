//! An authentic archive's plaintext (its records, batches and seek index), edited record by
//! record and sealed again under key [7; 32] (see `plaintext`): the decode target's properties,
//! the seek index read against the streaming reader, and the decoded-size limit (spec §6.3.1)
//! held to: an archive that reads has every batch within the limit, and one refused for its
//! decoded size has a batch over it.
#![no_main]

use keepsake_fuzz::plaintext::{decoded_size_limit, reseal};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (plaintext, bytes) = reseal(data);
    let outcome = keepsake_fuzz::check_decode(&bytes);
    keepsake_fuzz::check_seek(&bytes);
    let limit = decoded_size_limit();
    let sizes = plaintext.decoded_sizes();
    match outcome.error.as_deref() {
        None => assert!(
            sizes
                .iter()
                .all(|size| size.is_some_and(|size| size <= limit)),
            "an archive with a batch over the decoded-size limit read: {sizes:?}"
        ),
        Some(error) if error.contains("DecodedSize") => assert!(
            sizes
                .iter()
                .any(|size| size.is_none_or(|size| size > limit)),
            "refused for its decoded size with every batch within it: {error}, {sizes:?}"
        ),
        Some(_) => {}
    }
});
