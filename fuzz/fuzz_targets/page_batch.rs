//! pages::decode_batch on arbitrary bytes: no panic, only damage as an error, nothing allocated
//! beyond the body, and a batch that decodes re-encodes with encode_batch to exactly its bytes.
#![no_main]

use keepsake::Error;
use keepsake::body::pages::{batch_len, decode_batch, encode_batch};
use libfuzzer_sys::fuzz_target;

const CHUNK: u64 = 3;

fuzz_target!(|body: &[u8]| {
    match decode_batch(body, CHUNK) {
        Ok(batch) => {
            assert_eq!(batch_len(batch.page_size, batch.pages.len()), body.len());
            assert!(batch.pages.windows(2).all(|w| w[0].number < w[1].number));
            assert_eq!(encode_batch(&batch).expect("a decoded batch encodes"), body);
        }
        Err(Error::Corrupt { chunk: CHUNK, .. }) => {}
        Err(other) => panic!("a page batch failed with an unexpected class: {other:?}"),
    }
});
