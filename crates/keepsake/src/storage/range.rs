//! [`RangeReader`]: `Read + Seek` over a [`RangeRead`], fetching ahead of
//! sequential reads and only what is asked for elsewhere.

use std::io::{self, Read, Seek, SeekFrom};

use super::RangeRead;

/// What a small read fetches: a frame header and the start of its body.
const MIN_WINDOW: usize = 16 * 1024;
/// The largest read-ahead of a stream read through: a few requests per
/// MiB at most, and bounded memory.
const MAX_WINDOW: usize = 4 * 1024 * 1024;

/// Reads a [`RangeRead`] source as a seekable stream.
///
/// A small read (under 16 KiB, such as a frame header) fetches 16 KiB, which
/// holds the start of what follows; a larger read fetches what it asks. A
/// run of large reads each continuing the last (a stream read through)
/// doubles each fetch, up to 4 MiB. So a reader that seeks to a frame and
/// reads its header and body costs two requests and fetches at most 16 KiB
/// beyond the frame, and one that reads on costs few requests. The last two
/// fetches are kept, so reading again within them costs nothing: a small
/// archive's start, read first, still serves its chunks after its end was read. Everything fetched is
/// counted: [`bytes_fetched`](RangeReader::bytes_fetched) is what the
/// storage served.
#[derive(Debug)]
pub struct RangeReader<S> {
    source: S,
    size: Option<u64>,
    position: u64,
    buffer: Vec<u8>,
    /// The offset of `buffer[0]` in the archive.
    buffer_start: u64,
    /// The fetch before the last one, and where it starts: readers come
    /// back to the start of an archive after reading its end.
    previous: Vec<u8>,
    previous_start: u64,
    /// Where the last fetch ended, to tell a sequential read.
    last_end: Option<u64>,
    /// The size of the last fetch when a large read asked for it; 0 after a
    /// small read.
    window: usize,
    bytes_fetched: u64,
    fetches: u64,
}

impl<S: RangeRead> RangeReader<S> {
    /// A reader at offset 0 of `source`.
    pub fn new(source: S) -> Self {
        RangeReader {
            source,
            size: None,
            position: 0,
            buffer: Vec::new(),
            buffer_start: 0,
            previous: Vec::new(),
            previous_start: 0,
            last_end: None,
            window: 0,
            bytes_fetched: 0,
            fetches: 0,
        }
    }

    /// The archive's length, asked of the source once.
    pub fn size(&mut self) -> io::Result<u64> {
        match self.size {
            Some(size) => Ok(size),
            None => {
                let size = self.source.size()?;
                self.size = Some(size);
                Ok(size)
            }
        }
    }

    /// Bytes the source has served so far.
    pub fn bytes_fetched(&self) -> u64 {
        self.bytes_fetched
    }

    /// Range requests made so far.
    pub fn fetches(&self) -> u64 {
        self.fetches
    }

    /// The source.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.source
    }

    /// The source, and the counts with it.
    pub fn into_inner(self) -> S {
        self.source
    }

    fn fetch(&mut self, offset: u64, into: &mut [u8]) -> io::Result<()> {
        self.source.read_range(offset, into)?;
        self.fetches += 1;
        self.bytes_fetched += into.len() as u64;
        self.last_end = Some(offset + into.len() as u64);
        Ok(())
    }
}

impl<S: RangeRead> Read for RangeReader<S> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let size = self.size()?;
        if out.is_empty() || self.position >= size {
            return Ok(0);
        }
        for (start, kept) in [
            (self.buffer_start, &self.buffer),
            (self.previous_start, &self.previous),
        ] {
            if (start..start + kept.len() as u64).contains(&self.position) {
                let at = (self.position - start) as usize;
                let n = out.len().min(kept.len() - at);
                out[..n].copy_from_slice(&kept[at..at + n]);
                self.position += n as u64;
                return Ok(n);
            }
        }
        // A small read (a frame header) fetches one small window, which
        // holds the start of what follows; a large one fetches what it asks,
        // and a run of large reads that continue each other (a stream read
        // through) doubles each fetch up to the largest window.
        let at = self.position;
        let want = if out.len() < MIN_WINDOW {
            self.window = 0;
            MIN_WINDOW
        } else if self.last_end == Some(at) && self.window > 0 {
            self.window = (self.window * 2).clamp(out.len(), MAX_WINDOW.max(out.len()));
            self.window
        } else {
            self.window = out.len();
            out.len()
        };
        let n = (want as u64).min(size - at) as usize;
        // The last fetch becomes the previous one; the one before is reused.
        std::mem::swap(&mut self.buffer, &mut self.previous);
        self.previous_start = self.buffer_start;
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.resize(n, 0);
        let fetched = self.fetch(at, &mut buffer);
        self.buffer = buffer;
        if let Err(error) = fetched {
            self.buffer.clear();
            return Err(error);
        }
        self.buffer_start = at;
        let n = out.len().min(n);
        out[..n].copy_from_slice(&self.buffer[..n]);
        self.position += n as u64;
        Ok(n)
    }
}

impl<S: RangeRead> Seek for RangeReader<S> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
            SeekFrom::End(delta) => self.size()?.checked_add_signed(delta),
        };
        self.position = target.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "a seek before the start")
        })?;
        Ok(self.position)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use proptest::prelude::*;

    use super::*;
    use crate::storage::SeekRanges;

    fn source(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    /// A source that counts what it serves on its own, to check the reader's counts.
    struct Counted {
        inner: SeekRanges<Cursor<Vec<u8>>>,
        served: u64,
        sizes: u64,
    }

    impl RangeRead for Counted {
        fn size(&mut self) -> io::Result<u64> {
            self.sizes += 1;
            self.inner.size()
        }

        fn read_range(&mut self, offset: u64, buffer: &mut [u8]) -> io::Result<()> {
            self.served += buffer.len() as u64;
            self.inner.read_range(offset, buffer)
        }
    }

    fn counted(bytes: Vec<u8>) -> RangeReader<Counted> {
        RangeReader::new(Counted {
            inner: SeekRanges(Cursor::new(bytes)),
            served: 0,
            sizes: 0,
        })
    }

    #[test]
    fn a_frame_read_far_into_a_large_source_costs_two_fetches() {
        let bytes = source(64 << 20);
        let mut reader = counted(bytes.clone());
        reader.seek(SeekFrom::Start(40 << 20)).unwrap();
        let mut header = [0; 20];
        reader.read_exact(&mut header).unwrap();
        let mut body = vec![0; 300_000];
        reader.read_exact(&mut body).unwrap();
        assert_eq!(header[..], bytes[40 << 20..(40 << 20) + 20]);
        assert_eq!(body[..], bytes[(40 << 20) + 20..(40 << 20) + 300_020]);
        assert_eq!(reader.fetches(), 2);
        assert_eq!(reader.bytes_fetched(), 300_020);
        assert_eq!(reader.get_mut().served, 300_020);
    }

    #[test]
    fn a_sequential_read_grows_its_window_and_fetches_each_byte_once() {
        let bytes = source(20 << 20);
        let mut reader = counted(bytes.clone());
        let mut out = Vec::new();
        let mut chunk = vec![0; 64 * 1024];
        loop {
            let n = reader.read(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(out, bytes);
        assert_eq!(reader.bytes_fetched(), bytes.len() as u64);
        // 64 KiB reads at first, then 4 MiB windows: far fewer than 320 reads.
        assert!(reader.fetches() < 20, "{} fetches", reader.fetches());
        assert_eq!(reader.get_mut().sizes, 1, "the size is asked once");
    }

    #[test]
    fn a_small_archive_is_fetched_once() {
        let bytes = source(40_000);
        let mut reader = counted(bytes.clone());
        let mut start = vec![0; 64 * 1024];
        let n = reader.read(&mut start).unwrap();
        assert_eq!(start[..n], bytes[..]);
        reader.seek(SeekFrom::End(-50)).unwrap();
        let mut tail = [0; 50];
        reader.read_exact(&mut tail).unwrap();
        assert_eq!(tail[..], bytes[bytes.len() - 50..]);
        assert_eq!(reader.bytes_fetched(), bytes.len() as u64);
        assert_eq!(reader.fetches(), 1);
    }

    #[test]
    fn the_start_is_kept_while_the_end_is_read() {
        let bytes = source(300_000);
        let mut reader = counted(bytes.clone());
        let mut start = vec![0; 64 * 1024];
        reader.read_exact(&mut start).unwrap();
        reader.seek(SeekFrom::End(-34)).unwrap();
        reader.read_exact(&mut [0; 34]).unwrap();
        reader.seek(SeekFrom::Start(500)).unwrap();
        let mut chunk = vec![0; 100_000];
        reader.read_exact(&mut chunk).unwrap();
        assert_eq!(chunk[..], bytes[500..100_500]);
        assert_eq!(reader.bytes_fetched(), 100_500 + 34);
    }

    #[test]
    fn the_tail_is_fetched_exactly() {
        let bytes = source(1 << 20);
        let mut reader = counted(bytes.clone());
        reader.seek(SeekFrom::End(-100)).unwrap();
        let mut tail = [0; 100];
        reader.read_exact(&mut tail).unwrap();
        assert_eq!(tail[..], bytes[bytes.len() - 100..]);
        assert_eq!(reader.bytes_fetched(), 100);
        let mut more = [0; 1];
        assert_eq!(reader.read(&mut more).unwrap(), 0, "end of the archive");
    }

    #[test]
    fn a_failed_fetch_is_an_error_not_an_end() {
        struct Failing;
        impl RangeRead for Failing {
            fn size(&mut self) -> io::Result<u64> {
                Ok(1000)
            }
            fn read_range(&mut self, _: u64, _: &mut [u8]) -> io::Result<()> {
                Err(io::Error::new(io::ErrorKind::ConnectionReset, "gone"))
            }
        }
        let mut reader = RangeReader::new(Failing);
        let error = reader.read(&mut [0; 10]).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
        assert!(reader.seek(SeekFrom::Current(-1)).is_err());
    }

    #[derive(Clone, Debug)]
    enum Op {
        Seek(u64),
        Read(usize),
    }

    fn op(len: u64) -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..len + 10).prop_map(Op::Seek),
            (0usize..200_000).prop_map(Op::Read),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the seeks and reads, the reader returns exactly what a
        /// cursor over the same bytes returns, and never fetches a byte
        /// outside the source.
        #[test]
        fn reads_match_a_cursor(
            len in 0usize..300_000,
            ops in proptest::collection::vec(op(300_000), 1..40),
        ) {
            let bytes = source(len);
            let mut reader = counted(bytes.clone());
            let mut cursor = Cursor::new(bytes);
            for op in ops {
                match op {
                    Op::Seek(to) => {
                        prop_assert_eq!(
                            reader.seek(SeekFrom::Start(to)).unwrap(),
                            cursor.seek(SeekFrom::Start(to)).unwrap()
                        );
                    }
                    Op::Read(n) => {
                        let mut got = vec![0; n];
                        let mut want = vec![0; n];
                        let got_n = read_full(&mut reader, &mut got);
                        let want_n = read_full(&mut cursor, &mut want);
                        prop_assert_eq!(got_n, want_n);
                        prop_assert_eq!(&got[..got_n], &want[..want_n]);
                    }
                }
            }
            prop_assert_eq!(reader.bytes_fetched(), reader.get_mut().served);
        }
    }

    fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> usize {
        let mut done = 0;
        while done < buffer.len() {
            match reader.read(&mut buffer[done..]).unwrap() {
                0 => break,
                n => done += n,
            }
        }
        done
    }
}
