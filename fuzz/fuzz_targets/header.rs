//! Header::measure and Header::parse on arbitrary bytes, as found and with their check values
//! recomputed: no panic, measure agrees with parse, and a parsed header re-serialises to exactly
//! its own bytes (the format is canonical).
#![no_main]

use keepsake::format::{CHECK_LEN, FIXED_HEADER_LEN, Header, HeaderLen, MAC_LEN, check_value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check(data);
    // Mutations rarely keep a SHA-256 check value right; recompute both so
    // that they reach the fields behind them.
    let mut fixed = data.to_vec();
    if fixed.len() >= FIXED_HEADER_LEN {
        let check = check_value(&fixed[..54]);
        fixed[54..FIXED_HEADER_LEN].copy_from_slice(&check);
    }
    if let Ok(HeaderLen::Exactly(len)) = Header::measure(&fixed)
        && len <= fixed.len()
    {
        let table_end = len - MAC_LEN - CHECK_LEN;
        let check = check_value(&fixed[FIXED_HEADER_LEN..table_end]);
        fixed[table_end..table_end + CHECK_LEN].copy_from_slice(&check);
    }
    check(&fixed);
});

fn check(data: &[u8]) {
    let parsed = Header::parse(data);
    match Header::measure(data) {
        Err(_) => assert!(parsed.is_err(), "parse accepted what measure refused"),
        Ok(HeaderLen::AtLeast(need)) => {
            assert!(
                need > data.len(),
                "measure asked for {need} bytes, it has them"
            );
            assert!(
                parsed.is_err(),
                "parse accepted a header measure called incomplete"
            );
        }
        Ok(HeaderLen::Exactly(len)) => {
            if len != data.len() {
                assert!(
                    parsed.is_err(),
                    "parse accepted {} bytes as a {len}-byte header",
                    data.len()
                );
            }
            if len <= data.len() {
                let bytes = &data[..len];
                if let Ok(header) = Header::parse(bytes) {
                    assert_eq!(
                        header.to_bytes().expect("a parsed header serialises"),
                        bytes
                    );
                    // A decoder measures every prefix as it arrives: none may fail.
                    for cut in 0..len {
                        match Header::measure(&bytes[..cut]) {
                            Ok(HeaderLen::AtLeast(need)) => assert!(need > cut),
                            Ok(HeaderLen::Exactly(whole)) => assert_eq!(whole, len),
                            Err(error) => {
                                panic!("a {cut}-byte prefix of a valid header: {error:?}")
                            }
                        }
                    }
                }
            }
        }
    }
}
