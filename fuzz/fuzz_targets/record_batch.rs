//! records::decode_batch on arbitrary bytes with an arbitrary record-size limit: no panic, only
//! damage or a record-size limit as errors, and a batch that decodes re-encodes with BatchBuilder
//! and encode_record to exactly its bytes.
//!
//! Input: the limit (4 bytes, little-endian), then the batch body.
#![no_main]

use keepsake::body::records::{BatchBuilder, decode_batch, encode_record};
use keepsake::{Error, Limit};
use libfuzzer_sys::fuzz_target;

const CHUNK: u64 = 5;

fuzz_target!(|data: &[u8]| {
    let Some((limit, body)) = data.split_first_chunk::<4>() else {
        return;
    };
    let max_record_size = u32::from_le_bytes(*limit);
    match decode_batch(body, CHUNK, max_record_size) {
        Ok(records) => {
            let mut batch = BatchBuilder::new();
            for record in &records {
                let encoded = encode_record(record).expect("a decoded record encodes");
                assert!(encoded.len() <= max_record_size as usize);
                batch.push_encoded(&encoded);
            }
            assert_eq!(batch.take(), body);
        }
        Err(Error::Corrupt { chunk: CHUNK, .. })
        | Err(Error::LimitExceeded {
            what: Limit::RecordSize,
            ..
        }) => {}
        Err(other) => panic!("a batch failed with an unexpected class: {other:?}"),
    }
});
