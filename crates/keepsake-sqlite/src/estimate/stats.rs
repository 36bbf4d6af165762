//! The statistics of an estimate: the record sizes found, the strata they
//! fall into, and how their sampled compression combines into one size with
//! a band of likely error.

use super::{MAX_SAMPLE, MIN_SAMPLE, SizeEstimate};
use keepsake::body::compress::Compressor;
use keepsake::format::{FRAME_HEADER_LEN, TAG_LEN};

/// What storing `body` costs: compressed when that is smaller, as the writer does.
pub(super) fn stored_len(compressor: &mut Compressor, body: &[u8]) -> u64 {
    compressor
        .compress(body)
        .map_or(body.len(), |compressed| compressed.len()) as u64
}

/// Windows take one part in `SAMPLE_SHARE` of what they sample, within
/// `MIN_SAMPLE` and `MAX_SAMPLE` bytes.
const SAMPLE_SHARE: f64 = 64.0;
/// A window of consecutive records aims at this many bytes, and a part has
/// two to four of them. Archive order interleaves the runs of many
/// conversations in a chunk: windows of 64 KiB, extrapolated to a chunk's
/// context, came out up to 13% large on texts; of 128 KiB, within 6%.
pub(super) const WINDOW: f64 = 128.0 * 1024.0;
pub(super) const MIN_WINDOWS: usize = 2;
pub(super) const MAX_WINDOWS: usize = 4;
/// Standard errors on each side of the estimate in its range.
const BAND_ERRORS: f64 = 2.0;
/// The share of the context extrapolation (see [`Sizes::extrapolate`])
/// added to each side of the range: on the sample data the extrapolation was
/// within a fifth of the real gain; a half leaves room for data that differs.
const BAND_CONTEXT: f64 = 0.5;
/// The least half-width of the range, as a share of the records' compressed
/// size: parts are compressed apart while the writer interleaves them,
/// which moved the size of the sample data by up to 4%.
const BAND_FLOOR: f64 = 0.05;
/// The largest share of a doubling's gain assumed for the next doubling.
pub(super) const MAX_DECAY: f64 = 2.0 / 3.0;

/// Compressed sizes of the same bytes in pieces of three lengths: whole,
/// halves and quarters.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Sizes {
    pub(super) whole: f64,
    pub(super) halves: f64,
    pub(super) quarters: f64,
}

impl Sizes {
    /// Compressed whole only: for bytes that need no extrapolation.
    pub(super) fn whole(compressor: &mut Compressor, body: &[u8]) -> Sizes {
        let whole = stored_len(compressor, body) as f64;
        Sizes {
            whole,
            halves: whole,
            quarters: whole,
        }
    }

    pub(super) fn measure(compressor: &mut Compressor, body: &[u8]) -> Sizes {
        let mut stored = |parts: usize| -> f64 {
            let len = body.len().div_ceil(parts).max(1);
            body.chunks(len)
                .map(|part| stored_len(compressor, part) as f64)
                .sum()
        };
        Sizes {
            whole: stored(1),
            halves: stored(2),
            quarters: stored(4),
        }
    }

    pub(super) fn add(&mut self, other: Sizes) {
        self.whole += other.whole;
        self.halves += other.halves;
        self.quarters += other.quarters;
    }

    /// The compressed size with pieces of `context` bytes rather than
    /// `piece` bytes.
    ///
    /// zstd finds more repeats with more context: ids and names recur
    /// across a conversation, phrases and keys across many. On chat data
    /// each doubling of the pieces gained a roughly constant share `q` of
    /// what the previous doubling gained (0.5 to 0.75), so the halves and
    /// quarters give the last gain and `q`, and the gains of the doublings
    /// up to `context` sum as a geometric series. `q` is capped at
    /// [`MAX_DECAY`]: it falls as pieces grow, and an estimate that errs
    /// should err on the large side. Pieces larger than the context lose at
    /// most what one halving costs.
    pub(super) fn extrapolate(&self, piece: f64, context: f64) -> f64 {
        let last = (self.halves - self.whole).max(0.0);
        if piece <= 0.0 || last <= 0.0 {
            return self.whole;
        }
        let doublings = (context / piece).log2();
        if doublings <= 0.0 {
            return self.whole + last * (-doublings).min(1.0);
        }
        let before = self.quarters - self.halves;
        let q = if before > 0.0 {
            (last / before).clamp(0.25, MAX_DECAY)
        } else {
            0.5
        };
        self.whole - last * q * (1.0 - q.powf(doublings)) / (1.0 - q)
    }
}

/// How a part's records sit among the others in the archive's chunks, which
/// decides how much context the writer gives them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Placement {
    /// Conversations and small messages, interleaved: their context in a
    /// chunk is their share of it.
    #[default]
    Interleaved,
    /// Consent, in a run of its own at the end.
    Contiguous,
    /// Large messages, each sampled alone and extrapolated to its whole
    /// length already.
    Alone,
}

/// One part of the record stream, sampled on its own: its encoded size and
/// what its samples compressed to.
#[derive(Debug, Default)]
pub(super) struct Stratum {
    /// Records in it: exact for conversations and consent.
    pub(super) records: u64,
    /// Their encoded size in record batches, length prefixes included.
    pub(super) bytes: f64,
    pub(super) placement: Placement,
    /// Each sample's encoded and compressed sizes.
    pub(super) samples: Vec<(f64, f64)>,
    /// The ratio is the samples' total compressed over total encoded size;
    /// otherwise (samples picked in proportion to their size) the mean of
    /// their ratios.
    pub(super) pooled: bool,
    /// Whether the samples are all of the part, with no sampling error.
    pub(super) complete: bool,
    /// Bytes compressed to take the samples.
    pub(super) compressed: f64,
    /// The mean record entry size weighted by size: what a chunk leaves
    /// unused at its end is about half of it.
    pub(super) size_biased_entry: f64,
    /// For windows: all of them compressed whole, in halves and quarters,
    /// and how many pieces (batches) they were compressed in.
    pub(super) sizes: Sizes,
    pub(super) pieces: f64,
    /// For slices: the mean share of their size the extrapolation to whole
    /// records took off.
    pub(super) extrapolated: f64,
    /// For messages: the sum and the sum of squares of the entry sizes of
    /// the part's picked messages, for the sizing error.
    pub(super) picked_sum: f64,
    pub(super) picked_squares: f64,
}

impl Stratum {
    pub(super) fn sampled(&self) -> f64 {
        self.samples.iter().map(|&(plain, _)| plain).sum()
    }

    /// Compressed over encoded size as sampled; 1.0 without samples.
    pub(super) fn sampled_ratio(&self) -> f64 {
        if self.samples.is_empty() {
            return 1.0;
        }
        if !self.pooled {
            let sum: f64 = self.samples.iter().map(|&(x, y)| y / x).sum();
            return sum / self.samples.len() as f64;
        }
        let plain = self.sampled();
        let stored: f64 = self.samples.iter().map(|&(_, stored)| stored).sum();
        if plain > 0.0 { stored / plain } else { 1.0 }
    }

    /// The ratio with the context the archive gives the part's records,
    /// `context` bytes of them, and how far that moved from the sampled ratio.
    pub(super) fn ratio(&self, context: f64) -> (f64, f64) {
        let sampled = self.sampled_ratio();
        if self.placement == Placement::Alone {
            return (sampled, self.extrapolated);
        }
        if self.complete || self.pieces <= 0.0 || self.sizes.whole <= 0.0 {
            return (sampled, 0.0);
        }
        let piece = self.sampled() / self.pieces;
        let scaled = self.sizes.extrapolate(piece, context) / self.sizes.whole;
        let ratio = (sampled * scaled).clamp(0.0, 1.0);
        (ratio, (sampled - ratio).abs())
    }

    /// The variance of [`Stratum::sampled_ratio`] as an estimate of the
    /// whole part's.
    pub(super) fn ratio_variance(&self) -> f64 {
        let n = self.samples.len();
        if self.complete || n < 2 || self.bytes <= 0.0 {
            return 0.0;
        }
        let ratio = self.sampled_ratio();
        let n_f = n as f64;
        if !self.pooled {
            let spread: f64 = self
                .samples
                .iter()
                .map(|&(x, y)| (y / x - ratio).powi(2))
                .sum();
            return spread / ((n_f - 1.0) * n_f);
        }
        // The ratio estimator's, with the finite-population correction.
        let unsampled = (1.0 - self.sampled() / self.bytes).max(0.0);
        let mean_plain = self.sampled() / n_f;
        let spread: f64 = self
            .samples
            .iter()
            .map(|&(x, y)| (y - ratio * x).powi(2))
            .sum();
        unsampled * spread / ((n_f - 1.0) * n_f * mean_plain * mean_plain)
    }
}

/// Adds the parts up into an estimate (counts left at zero). `picked` is
/// how many messages were picked to size them, of how many.
pub(super) fn combine(
    strata: &[Stratum],
    picked: Option<(f64, f64)>,
    chunk_size: u32,
    fixed: u64,
) -> SizeEstimate {
    let total: f64 = strata.iter().map(|s| s.bytes).sum();
    let chunk = f64::from(chunk_size);
    let interleaved: f64 = strata
        .iter()
        .filter(|s| s.placement == Placement::Interleaved)
        .map(|s| s.bytes)
        .sum();
    let (mut stored, mut variance, mut shift) = (0.0, 0.0, 0.0);
    // The messages' size is estimated from the picked ones: the spread of
    // their compressed sizes gives its error.
    let (mut picked_sum, mut picked_squares) = (0.0, 0.0);
    for stratum in strata {
        // How many bytes of the part's own kind a chunk holds.
        let context = match stratum.placement {
            Placement::Contiguous => chunk.min(stratum.bytes),
            _ if total > 0.0 => chunk.min(total) * interleaved / total,
            _ => 0.0,
        };
        let (ratio, moved) = stratum.ratio(context);
        stored += stratum.bytes * ratio;
        shift += stratum.bytes * moved;
        let sampled = stratum.sampled_ratio();
        let scale = if sampled > 0.0 { ratio / sampled } else { 1.0 };
        variance += (stratum.bytes * scale).powi(2) * stratum.ratio_variance();
        picked_sum += ratio * stratum.picked_sum;
        picked_squares += ratio * ratio * stratum.picked_squares;
    }
    if let Some((n, population)) = picked
        && n > 1.0
        && n < population
    {
        let spread = (picked_squares - picked_sum * picked_sum / n) / (n - 1.0);
        variance += population * population * (1.0 - n / population) * spread.max(0.0) / n;
    }
    let ratio = if total > 0.0 { stored / total } else { 1.0 };
    // A batch is closed when the next record would not fit, so a chunk ends
    // on average half a record short of the chunk size.
    let unused = if total > 0.0 {
        strata
            .iter()
            .map(|s| s.bytes * s.size_biased_entry)
            .sum::<f64>()
            / (2.0 * total)
    } else {
        0.0
    };
    let chunks = if total > 0.0 {
        (total / (chunk - unused.min(chunk / 2.0))).ceil().max(1.0)
    } else {
        0.0
    };
    // Each record chunk adds its schema version byte, frame header and tag.
    let framing = chunks * (FRAME_HEADER_LEN + TAG_LEN) as f64;
    let plain = total + chunks;
    let estimate = fixed as f64 + stored + chunks * ratio + framing;
    let spread = (BAND_ERRORS * variance.sqrt() + BAND_CONTEXT * shift).max(BAND_FLOOR * stored);
    // Nothing compresses to less than nothing, and a chunk that does not
    // compress is stored as it is.
    let floor = fixed as f64 + framing;
    let ceiling = fixed as f64 + plain + framing;
    let round = |value: f64| value.clamp(floor, ceiling).round() as u64;
    SizeEstimate {
        bytes: round(estimate),
        low_bytes: round(estimate - spread),
        high_bytes: round(estimate + spread),
        conversations: 0,
        messages: 0,
        consent: 0,
        plaintext_bytes: plain.round() as u64,
        chunks: chunks as u64,
        compression_ratio: ratio,
        sampled_bytes: strata.iter().map(|s| s.compressed).sum::<f64>().round() as u64,
    }
}

/// How many windows of how many bytes to sample a part of `bytes` bytes
/// with; `None` when the whole part is small enough to compress. A window
/// larger than a chunk is batched into chunks, as the writer would.
pub(super) fn plan(bytes: f64) -> Option<(usize, f64)> {
    let budget = (bytes / SAMPLE_SHARE).clamp(MIN_SAMPLE, MAX_SAMPLE);
    if bytes <= budget {
        return None;
    }
    let windows = ((budget / WINDOW).round() as usize).clamp(MIN_WINDOWS, MAX_WINDOWS);
    Some((windows, budget / windows as f64))
}
