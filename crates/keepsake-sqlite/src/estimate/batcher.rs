//! Measuring compression as the writer does: records batched into chunks,
//! compressed, and the stored lengths summed.

use super::stats::{Sizes, Stratum};
use keepsake::body::compress::Compressor;
use keepsake::body::records::{BatchBuilder, Record, encode_into, varint_len};
use keepsake::error::Result;

/// One large message's sample.
#[derive(Clone, Copy, Debug)]
pub(super) struct Slice {
    /// Its content's length, and the length of the slice compressed.
    pub(super) content: f64,
    pub(super) piece: f64,
    /// The slice's compressed size over its length, extrapolated to the
    /// whole content, and how much the extrapolation took off.
    pub(super) ratio: f64,
    pub(super) shift: f64,
}

impl Slice {
    /// Measures `piece`, a whole content or a slice of one `content` bytes long.
    pub(super) fn measure(compressor: &mut Compressor, piece: &[u8], content: f64) -> Slice {
        let len = piece.len().max(1) as f64;
        let sizes = if len < content {
            Sizes::measure(compressor, piece)
        } else {
            Sizes::whole(compressor, piece)
        };
        let whole = sizes.extrapolate(len, content);
        Slice {
            content,
            piece: len,
            ratio: (whole / len).clamp(0.0, 1.0),
            shift: ((sizes.whole - whole) / len).max(0.0),
        }
    }
}

/// A weighted mean.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Mean {
    pub(super) sum: f64,
    pub(super) weight: f64,
}

impl Mean {
    pub(super) fn add(&mut self, value: f64, weight: f64) {
        self.sum += value * weight;
        self.weight += weight;
    }

    pub(super) fn value(&self) -> Option<f64> {
        (self.weight > 0.0).then(|| self.sum / self.weight)
    }
}

/// The windows of one part.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) windows: Vec<Window>,
}

impl Tally {
    pub(super) fn add(&mut self, window: Window) {
        if window.plain > 0 {
            self.windows.push(window);
        }
    }

    pub(super) fn close(self, stratum: &mut Stratum) {
        let mut entries = Mean::default();
        for window in &self.windows {
            let plain = window.plain as f64;
            stratum.samples.push((plain, window.sizes.whole));
            stratum.sizes.add(window.sizes);
            stratum.pieces += window.pieces as f64;
            stratum.compressed += plain;
            entries.add(window.squares / window.taken as f64, window.taken as f64);
        }
        // Messages have theirs from the picked ones.
        if stratum.size_biased_entry == 0.0 {
            stratum.size_biased_entry = entries.value().unwrap_or(0.0);
        }
    }
}

/// One window, batched and compressed as the writer would.
#[derive(Debug, Default)]
pub(super) struct Window {
    /// Batch bodies before compression, their stored sizes (whole, in
    /// halves and in quarters), and how many batches there were.
    pub(super) plain: u64,
    pub(super) sizes: Sizes,
    pub(super) pieces: u64,
    /// Record entries taken, in bytes, and the sum of their squares.
    pub(super) taken: u64,
    pub(super) squares: f64,
}

/// Batches records exactly as the writer does and compresses each batch;
/// full once `limit` bytes of records were taken.
pub(super) struct Batcher<'c> {
    pub(super) compressor: &'c mut Compressor,
    pub(super) chunk_size: usize,
    pub(super) batch: BatchBuilder,
    pub(super) scratch: Vec<u8>,
    pub(super) limit: f64,
    pub(super) window: Window,
}

impl Batcher<'_> {
    pub(super) fn full(&self) -> bool {
        self.window.taken as f64 >= self.limit
    }

    /// Adds a record, closing the batch first when the record would not fit,
    /// as [`ArchiveWriter::write_record`] does.
    pub(super) fn push(&mut self, record: &Record) -> Result<()> {
        self.scratch.clear();
        encode_into(record, &mut self.scratch)?;
        let entry = varint_len(self.scratch.len() as u64) + self.scratch.len();
        if !self.batch.is_empty() && self.batch.len() + entry > self.chunk_size {
            self.flush();
        }
        self.batch.push_encoded(&self.scratch);
        self.window.taken += entry as u64;
        self.window.squares += (entry as f64).powi(2);
        Ok(())
    }

    pub(super) fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let body = self.batch.take();
        self.window.plain += body.len() as u64;
        self.window
            .sizes
            .add(Sizes::measure(self.compressor, &body));
        self.window.pieces += 1;
    }

    pub(super) fn finish(mut self) -> Window {
        self.flush();
        self.window
    }
}
