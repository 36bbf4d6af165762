//! Per-chunk zstd compression (spec §5.4), with the decompressed size bounded
//! before anything is allocated for it.

use zstd::zstd_safe::{self, DCtx, DParameter, InBuffer, OutBuffer, ResetDirective};

use crate::error::{Error, Limit, Result};

/// The first four bytes of every ordinary zstd frame (RFC 8878 §3.1.1).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// Compresses chunk bodies at one zstd level; one per worker, reused.
pub struct Compressor {
    inner: zstd::bulk::Compressor<'static>,
}

impl Compressor {
    /// A compressor at `level` (zstd's own range; 0 means zstd's default).
    pub fn new(level: i32) -> Result<Self> {
        let inner = zstd::bulk::Compressor::new(level).map_err(Error::Io)?;
        Ok(Compressor { inner })
    }

    /// Compresses `body` into one zstd frame, or returns `None` when that would
    /// not make it smaller; the caller then stores it uncompressed, so a stored
    /// plaintext is never longer than the body (spec §5.4).
    pub fn compress(&mut self, body: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        self.compress_into(body, &mut out).then_some(out)
    }

    /// As [`compress`](Compressor::compress), into `out`, whose earlier
    /// content is dropped and whose allocation is reused: `true` when `out`
    /// holds the smaller frame, `false` when the body should be stored as it is.
    pub fn compress_into(&mut self, body: &[u8], out: &mut Vec<u8>) -> bool {
        let Some(room) = body.len().checked_sub(1) else {
            out.clear();
            return false;
        };
        // Room for one byte less than the body, whatever the buffer held
        // before: zstd gives up on a frame that does not fit, and the same
        // room gives the same frame. What the buffer held is overwritten.
        out.truncate(room);
        out.resize(room, 0);
        match self.inner.compress_to_buffer(body, out.as_mut_slice()) {
            Ok(written) => {
                out.truncate(written);
                true
            }
            Err(_) => {
                out.clear();
                false
            }
        }
    }
}

/// Decompresses chunk bodies; one per worker, reused.
pub struct Decompressor {
    context: DCtx<'static>,
}

impl Default for Decompressor {
    fn default() -> Self {
        Decompressor {
            context: DCtx::create(),
        }
    }
}

/// The smallest zstd window log that covers `limit` bytes; a frame asking for
/// a larger window than the chunk it holds is refused rather than allocated.
fn window_log_for(limit: usize) -> u32 {
    let log = usize::BITS - limit.saturating_sub(1).leading_zeros();
    // 10 is zstd's smallest window log (ZSTD_WINDOWLOG_ABSOLUTEMIN).
    log.clamp(10, 31)
}

impl Decompressor {
    /// Decompresses the zstd stream in `stored`, which must decode completely
    /// to at most `limit` bytes. Output grows as it is produced, so a bomb is
    /// stopped at `limit + 1` bytes whatever its frame header claims.
    pub fn decompress(&mut self, stored: &[u8], limit: usize, chunk: u64) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.decompress_into(stored, limit, chunk, &mut out)?;
        Ok(out)
    }

    /// As [`decompress`](Decompressor::decompress), into `out`, whose earlier
    /// content is dropped and whose allocation is reused (never beyond
    /// `limit + 1` bytes, so a bomb stops at the same point).
    pub fn decompress_into(
        &mut self,
        stored: &[u8],
        limit: usize,
        chunk: u64,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let corrupt = |code: usize| {
            let name = zstd_safe::get_error_name(code);
            // zstd reports a frame whose window is larger than `WindowLogMax`
            // allows only by this message; such a frame would need more memory
            // than the chunk limit, so it is a limit, not damage.
            if name.contains("too much memory") {
                return Error::LimitExceeded {
                    what: Limit::ChunkSize,
                    value: limit as u64 + 1,
                    limit: limit as u64,
                };
            }
            Error::corrupt(
                chunk,
                format!("the compressed body does not decode ({})", name),
            )
        };
        let too_large = |value: usize| Error::LimitExceeded {
            what: Limit::ChunkSize,
            value: value as u64,
            limit: limit as u64,
        };
        self.context
            .reset(ResetDirective::SessionAndParameters)
            .map_err(corrupt)?;
        self.context
            .set_parameter(DParameter::WindowLogMax(window_log_for(limit)))
            .map_err(corrupt)?;
        if let Ok(Some(declared)) = zstd_safe::get_frame_content_size(stored)
            && declared > limit as u64
        {
            return Err(Error::LimitExceeded {
                what: Limit::ChunkSize,
                value: declared,
                limit: limit as u64,
            });
        }

        // One ordinary zstd frame, nothing else (spec §5.4): a skippable frame
        // would decode to nothing and hide bytes in an authenticated chunk.
        if stored.len() < 4 || stored[..4] != ZSTD_MAGIC {
            return Err(Error::corrupt(
                chunk,
                "the compressed body is not a zstd frame",
            ));
        }
        let ceiling = limit + 1;
        out.clear();
        if out.capacity() > ceiling {
            out.shrink_to(ceiling);
        }
        out.reserve_exact(stored.len().saturating_mul(4).clamp(1, ceiling));
        let mut input = InBuffer::around(stored);
        loop {
            if out.len() == out.capacity() {
                if out.len() >= ceiling {
                    return Err(too_large(out.len()));
                }
                let grown = out.capacity().saturating_mul(2).min(ceiling);
                out.reserve_exact(grown - out.len());
            }
            let position = out.len();
            let hint = {
                let mut output = OutBuffer::around_pos(out, position);
                self.context
                    .decompress_stream(&mut output, &mut input)
                    .map_err(corrupt)?
            };
            if out.len() > limit {
                return Err(too_large(out.len()));
            }
            let input_done = input.pos() == stored.len();
            if hint == 0 && input_done {
                return Ok(());
            }
            if hint == 0 {
                return Err(Error::corrupt(
                    chunk,
                    "bytes follow the compressed body's zstd frame",
                ));
            }
            if input_done && out.len() < out.capacity() {
                return Err(Error::corrupt(chunk, "the compressed body ends mid-frame"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn compress_then_decompress_is_identity(body in proptest::collection::vec(any::<u8>(), 0..20_000), repeat in 1usize..8) {
            let body: Vec<u8> = body.iter().copied().cycle().take(body.len() * repeat).collect();
            let mut compressor = Compressor::new(3).unwrap();
            if let Some(stored) = compressor.compress(&body) {
                prop_assert!(stored.len() < body.len());
                let back = Decompressor::default().decompress(&stored, body.len(), 0).unwrap();
                prop_assert_eq!(back, body);
            }
        }

        /// A buffer reused from an earlier chunk, whatever it holds, gives
        /// the same frame and the same body as a fresh one.
        #[test]
        fn reused_buffers_change_nothing(
            earlier in proptest::collection::vec(any::<u8>(), 0..40_000),
            body in proptest::collection::vec(0u8..4, 0..20_000),
        ) {
            let mut compressor = Compressor::new(3).unwrap();
            let mut reused = earlier.clone();
            let fresh = compressor.compress(&body);
            prop_assert_eq!(compressor.compress_into(&body, &mut reused), fresh.is_some());
            if let Some(stored) = fresh {
                prop_assert_eq!(&reused, &stored);
                let mut decompressor = Decompressor::default();
                let mut reused = earlier;
                decompressor.decompress_into(&stored, body.len(), 0, &mut reused).unwrap();
                prop_assert_eq!(&reused, &body);
                // A bomb stops at the same point in a buffer larger than the limit.
                let limit = body.len() / 2;
                reused.reserve(4 * body.len());
                let fresh = decompressor.decompress(&stored, limit, 0).map(|_| ());
                let again = decompressor.decompress_into(&stored, limit, 0, &mut reused);
                prop_assert_eq!(format!("{fresh:?}"), format!("{again:?}"));
            }
        }
    }

    #[test]
    fn a_bomb_is_stopped_at_the_limit() {
        let body = vec![0u8; 1 << 20];
        let stored = Compressor::new(19).unwrap().compress(&body).unwrap();
        match Decompressor::default().decompress(&stored, 4096, 7) {
            Err(Error::LimitExceeded {
                what: Limit::ChunkSize,
                value,
                limit: 4096,
            }) => {
                assert!(value > 4096)
            }
            other => panic!("expected LimitExceeded, got {other:?}"),
        }
    }

    #[test]
    fn a_bomb_without_a_declared_size_is_stopped_too() {
        let body = vec![0u8; 1 << 20];
        let mut encoder = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        encoder.include_contentsize(false).unwrap();
        std::io::Write::write_all(&mut encoder, &body).unwrap();
        let stored = encoder.finish().unwrap();
        assert!(matches!(
            Decompressor::default().decompress(&stored, 4096, 0),
            Err(Error::LimitExceeded { .. })
        ));
    }

    #[test]
    fn incompressible_bodies_are_left_alone() {
        use rand::{RngCore, SeedableRng};
        let mut body = vec![0u8; 4096];
        rand_chacha::ChaCha20Rng::seed_from_u64(1).fill_bytes(&mut body);
        assert!(Compressor::new(3).unwrap().compress(&body).is_none());
    }

    #[test]
    fn only_one_ordinary_frame_is_accepted() {
        let body = vec![7u8; 10_000];
        let stored = Compressor::new(3).unwrap().compress(&body).unwrap();
        let mut two = stored.clone();
        two.extend_from_slice(&stored);
        assert!(matches!(
            Decompressor::default().decompress(&two, 100_000, 5),
            Err(Error::Corrupt { chunk: 5, .. })
        ));
        // A skippable frame: magic 0x184D2A50, length 4, four bytes.
        let skippable = [0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 1, 2, 3, 4];
        assert!(matches!(
            Decompressor::default().decompress(&skippable, 100_000, 5),
            Err(Error::Corrupt { chunk: 5, .. })
        ));
        let mut padded = stored;
        padded.push(0);
        assert!(matches!(
            Decompressor::default().decompress(&padded, 100_000, 5),
            Err(Error::Corrupt { chunk: 5, .. })
        ));
    }

    #[test]
    fn a_cut_frame_is_corrupt() {
        let body = vec![7u8; 100_000];
        let stored = Compressor::new(3).unwrap().compress(&body).unwrap();
        let cut = &stored[..stored.len() - 3];
        assert!(matches!(
            Decompressor::default().decompress(cut, 200_000, 3),
            Err(Error::Corrupt { chunk: 3, .. })
        ));
    }
}
