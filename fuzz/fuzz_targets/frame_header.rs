//! FrameHeader::parse on 18 arbitrary bytes, as found and with the check value recomputed, for an
//! expected chunk index and chunk-size limit: no panic, only the error classes a frame header can
//! have, and on success to_bytes() gives back exactly the 18 bytes.
//!
//! Input: the 18 bytes, then optionally the expected index (8 bytes, little-endian; default the
//! index the bytes state) and the limit (4 bytes, little-endian; default u32::MAX).
#![no_main]

use keepsake::Error;
use keepsake::format::{FRAME_HEADER_LEN, FrameHeader, TAG_LEN, check_value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((bytes, rest)) = data.split_first_chunk::<FRAME_HEADER_LEN>() else {
        return;
    };
    let stated = u64::from_le_bytes(bytes[6..14].try_into().expect("eight bytes"));
    let expected = rest
        .first_chunk::<8>()
        .map_or(stated, |b| u64::from_le_bytes(*b));
    let limit = rest.get(8..12).map_or(u32::MAX, |b| {
        u32::from_le_bytes(b.try_into().expect("four bytes"))
    });
    check(bytes, expected, limit);
    let mut fixed = *bytes;
    let check_bytes = check_value(&fixed[..14]);
    fixed[14..].copy_from_slice(&check_bytes);
    check(&fixed, expected, limit);
});

fn check(bytes: &[u8; FRAME_HEADER_LEN], expected: u64, limit: u32) {
    match FrameHeader::parse(bytes, expected, limit) {
        Ok(frame) => {
            assert_eq!(&frame.to_bytes(), bytes);
            assert_eq!(frame.chunk, expected);
            assert!(frame.stored_len as usize >= TAG_LEN);
            assert!(u64::from(frame.stored_len) - TAG_LEN as u64 <= u64::from(limit));
        }
        Err(Error::Corrupt { chunk, .. }) => assert_eq!(chunk, expected),
        Err(Error::LimitExceeded { .. }) => {}
        Err(other) => panic!("a frame header failed with an unexpected class: {other:?}"),
    }
}
