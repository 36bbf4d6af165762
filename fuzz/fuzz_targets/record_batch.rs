//! records::decode_batch on arbitrary bytes with arbitrary limits: no panic, only damage, a
//! record-size limit or a decoded-size limit as errors; a batch that decodes re-encodes with
//! BatchBuilder and encode_record to exactly its bytes and keeps to both limits; a batch over the
//! decoded-size limit reports the running sum at the first record past it. Each entry is also
//! decoded on its own by the canonical walk (a batch of one) and by postcard with the
//! re-encoding check: both accept exactly the same entries.
//!
//! Input: the record-size limit (4 bytes, little-endian), the decoded-size limit in bytes
//! (4 bytes, little-endian), then the batch body.
#![no_main]

use keepsake::body::records::{
    BatchBuilder, BatchLimits, Record, decode_batch, decode_exact, encode_record,
};
use keepsake::limits::record_decoded_size;
use keepsake::{Error, Limit};
use libfuzzer_sys::fuzz_target;

const CHUNK: u64 = 5;

/// A batch with no limit but what the format allows.
const UNLIMITED: BatchLimits = BatchLimits {
    max_record_size: u32::MAX,
    max_decoded_size: u64::MAX,
};

/// A varint of at most five bytes from the front of `bytes`, as the batch
/// walk reads its schema version and entry lengths (spec §6.3.1).
fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(5) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

/// The entries of a batch body, as far as they can be told apart.
fn entries(body: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let Some((_, mut rest)) = varint(body) else {
        return out;
    };
    while let Some((len, after)) = varint(rest) {
        let Some(entry) = usize::try_from(len).ok().and_then(|len| after.get(..len)) else {
            break;
        };
        out.push(entry);
        rest = &after[entry.len()..];
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((record_limit, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let Some((decoded_limit, body)) = rest.split_first_chunk::<4>() else {
        return;
    };
    let limits = BatchLimits {
        max_record_size: u32::from_le_bytes(*record_limit),
        max_decoded_size: u64::from(u32::from_le_bytes(*decoded_limit)),
    };
    for entry in entries(body) {
        let mut alone = BatchBuilder::new();
        alone.push_encoded(entry);
        let walked = decode_batch(&alone.take(), CHUNK, UNLIMITED).is_ok();
        let decoded = decode_exact::<Record>(entry, CHUNK, "a record").is_ok();
        assert_eq!(
            walked, decoded,
            "the walk and postcard disagree on {entry:?}"
        );
    }
    match decode_batch(body, CHUNK, limits) {
        Ok(records) => {
            let mut batch = BatchBuilder::new();
            let mut decoded_size = 0;
            for record in &records {
                let encoded = encode_record(record).expect("a decoded record encodes");
                assert!(encoded.len() <= limits.max_record_size as usize);
                decoded_size += record_decoded_size(encoded.len(), record.values());
                batch.push_encoded(&encoded);
            }
            assert_eq!(batch.take(), body);
            assert!(decoded_size <= limits.max_decoded_size);
        }
        Err(Error::Corrupt { chunk: CHUNK, .. })
        | Err(Error::LimitExceeded {
            what: Limit::RecordSize,
            ..
        }) => {}
        Err(Error::LimitExceeded {
            what: Limit::DecodedSize,
            value,
            limit,
        }) => {
            assert_eq!(limit, limits.max_decoded_size);
            assert!(value > limit);
            // The running sum of the records before it, and of the one that broke it.
            let mut sum = 0;
            for entry in entries(body) {
                let Ok(record) = decode_exact::<Record>(entry, CHUNK, "a record") else {
                    panic!("a record before the decoded-size limit is not canonical");
                };
                sum += record_decoded_size(entry.len(), record.values());
                if sum > limit {
                    break;
                }
            }
            assert_eq!(
                sum, value,
                "the limit was not reported at the first record past it"
            );
        }
        Err(other) => panic!("a batch failed with an unexpected class: {other:?}"),
    }
});
