//! Walking canonical postcard encodings (spec Appendix B) without building
//! the values they encode.
//!
//! A reader must know what decoding a record or a seek index will cost
//! before it allocates for it (spec §6.3.1, §6.5.2): the walk checks that the
//! bytes are the one canonical encoding of a value and counts what the value
//! holds, allocating nothing. Materialising the value afterwards with postcard
//! then cannot fail. Every method returns `None` for bytes that are not a
//! canonical encoding; a count larger than the bytes left is caught by the
//! first element that runs out of bytes, so no loop outlives the input.

/// A cursor over the bytes of one encoded value.
#[derive(Clone, Debug)]
pub(crate) struct Walker<'a> {
    rest: &'a [u8],
}

impl<'a> Walker<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Walker { rest: bytes }
    }

    /// Whether every byte has been read (spec B.10: nothing may follow the value).
    pub(crate) fn is_done(&self) -> bool {
        self.rest.is_empty()
    }

    /// A varint of at most `max_bytes` bytes and at most `max` (spec B.1):
    /// minimal, and within its type.
    fn varint(&mut self, max_bytes: usize, max: u64) -> Option<u64> {
        let mut value: u64 = 0;
        for (i, &byte) in self.rest.iter().enumerate().take(max_bytes) {
            let bits = u64::from(byte & 0x7f);
            // Bits shifted past 64 are lost: the value would not fit.
            if i == 9 && bits > 1 {
                return None;
            }
            value |= bits << (7 * i);
            if byte & 0x80 == 0 {
                let minimal = i == 0 || byte != 0;
                self.rest = &self.rest[i + 1..];
                return (minimal && value <= max).then_some(value);
            }
        }
        None
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        self.varint(10, u64::MAX)
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.varint(5, u64::from(u32::MAX))
            .map(|value| value as u32)
    }

    /// A zigzag-encoded i64 (spec B.2).
    pub(crate) fn i64(&mut self) -> Option<i64> {
        let zigzag = self.u64()?;
        Some(((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64))
    }

    /// One byte, as is (a u8).
    pub(crate) fn u8(&mut self) -> Option<u8> {
        let (&byte, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(byte)
    }

    /// A length-prefixed byte string (spec B.5).
    pub(crate) fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.u64()?).ok()?;
        let (bytes, rest) = self.rest.split_at_checked(len)?;
        self.rest = rest;
        Some(bytes)
    }

    /// A length-prefixed UTF-8 string (spec B.5).
    pub(crate) fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }

    /// An `Option` tag (spec B.4): whether a value follows.
    pub(crate) fn option(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    /// An enum discriminant below `variants` (spec B.9).
    pub(crate) fn variant(&mut self, variants: u32) -> Option<u32> {
        self.u32().filter(|&variant| variant < variants)
    }

    /// The element count of a sequence or map (spec B.6, B.8).
    pub(crate) fn count(&mut self) -> Option<u64> {
        self.u64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The walker reads integers exactly as postcard writes them, and
        /// accepts a varint only in its one canonical form.
        #[test]
        fn integers_read_as_postcard_writes_them(a in any::<u64>(), b in any::<u32>(), c in any::<i64>()) {
            let bytes = postcard::to_allocvec(&(a, b, c)).unwrap();
            let mut walker = Walker::new(&bytes);
            prop_assert_eq!(walker.u64(), Some(a));
            prop_assert_eq!(walker.u32(), Some(b));
            prop_assert_eq!(walker.i64(), Some(c));
            prop_assert!(walker.is_done());
        }

        #[test]
        fn varints_are_read_only_when_postcard_reads_them_canonically(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
            let walked = Walker::new(&bytes).u64();
            let decoded = postcard::take_from_bytes::<u64>(&bytes).ok().filter(|(value, rest)| {
                postcard::to_allocvec(value).unwrap() == bytes[..bytes.len() - rest.len()]
            });
            prop_assert_eq!(walked, decoded.map(|(value, _)| value));
            let walked = Walker::new(&bytes).u32();
            let decoded = postcard::take_from_bytes::<u32>(&bytes).ok().filter(|(value, rest)| {
                postcard::to_allocvec(value).unwrap() == bytes[..bytes.len() - rest.len()]
            });
            prop_assert_eq!(walked, decoded.map(|(value, _)| value));
        }
    }

    #[test]
    fn non_minimal_and_over_long_varints_are_refused() {
        assert_eq!(Walker::new(&[0x80, 0x00]).u64(), None);
        assert_eq!(Walker::new(&[0xff, 0xff, 0xff, 0xff, 0x10]).u32(), None);
        assert_eq!(Walker::new(&[0xff; 10]).u64(), None);
        let mut max = vec![0xff; 9];
        max.push(0x01);
        assert_eq!(Walker::new(&max).u64(), Some(u64::MAX));
        max[9] = 0x02;
        assert_eq!(Walker::new(&max).u64(), None);
    }

    #[test]
    fn a_length_past_the_end_is_refused() {
        assert_eq!(Walker::new(&[3, b'a', b'b']).bytes(), None);
        assert_eq!(Walker::new(&[2, 0xc3, 0x28]).str(), None);
        assert_eq!(Walker::new(&[2, b'o', b'k']).str(), Some("ok"));
    }
}
