//! When one conversation's messages are sent: uniformly at random between its
//! creation and the end of the sample, drawn one at a time in ascending order
//! so that a sample interleaving many conversations holds no list of times.

use rand::Rng;
use rand_chacha::ChaCha20Rng;

use super::SAMPLE_END_NS;

/// The send times of one conversation's messages, in ascending order: the
/// first at its creation, the others uniform over the time after it.
///
/// The last time is drawn first (the largest of the others, so that the
/// conversation's record can say when its last message was sent before any
/// is written), then those in between in ascending order, each given the one
/// before it (the sequential method for order statistics: the smallest of
/// `k` uniforms on `[x, 1)` is `x + (1 − x)(1 − U^(1/k))`).
#[derive(Clone, Debug)]
pub(super) struct Times {
    created_at_ns: i64,
    /// The last message's time; equal to the creation time for one message.
    last_ns: i64,
    /// Messages not yet handed out, the first and last included.
    remaining: u64,
    /// Messages strictly between the first and the last still to draw.
    between: u64,
    /// Where the previous time between fell, as a fraction of the span from
    /// the creation time to the last message.
    position: f64,
    /// The next time to hand out, drawn ahead.
    next: Option<i64>,
}

impl Times {
    /// The times of `count` messages of a conversation created at `created_at_ns`.
    pub(super) fn new(rng: &mut ChaCha20Rng, created_at_ns: i64, count: u64) -> Self {
        let last_ns = if count >= 2 {
            let span = (SAMPLE_END_NS - created_at_ns) as f64;
            let max = uniform(rng).powf(1.0 / (count - 1) as f64);
            (created_at_ns + (span * max) as i64).clamp(created_at_ns, SAMPLE_END_NS - 1)
        } else {
            created_at_ns
        };
        Times {
            created_at_ns,
            last_ns,
            remaining: count,
            between: count.saturating_sub(2),
            position: 0.0,
            next: (count > 0).then_some(created_at_ns),
        }
    }

    /// When the last message is sent; `None` without messages.
    pub(super) fn last(&self) -> Option<i64> {
        (self.remaining > 0).then_some(self.last_ns)
    }

    /// The next message's time, without taking it.
    pub(super) fn peek(&self) -> Option<i64> {
        self.next
    }

    /// Takes the next message's time and draws the one after it.
    pub(super) fn advance(&mut self, rng: &mut ChaCha20Rng) -> Option<i64> {
        let current = self.next?;
        self.remaining -= 1;
        self.next = if self.between > 0 {
            let step = 1.0 - uniform(rng).powf(1.0 / self.between as f64);
            self.between -= 1;
            self.position += (1.0 - self.position) * step;
            let span = (self.last_ns - self.created_at_ns) as f64;
            let at = self.created_at_ns + (span * self.position) as i64;
            Some(at.clamp(current, self.last_ns))
        } else if self.remaining > 0 {
            Some(self.last_ns)
        } else {
            None
        };
        Some(current)
    }
}

/// A uniform draw in `(0, 1]`, whose powers stay finite and in range.
fn uniform(rng: &mut ChaCha20Rng) -> f64 {
    1.0 - rng.r#gen::<f64>()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::SeedableRng;

    use super::*;

    fn all(seed: u64, created: i64, count: u64) -> (Option<i64>, Vec<i64>) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut times = Times::new(&mut rng, created, count);
        let last = times.last();
        let mut out = Vec::new();
        while let Some(time) = times.advance(&mut rng) {
            out.push(time);
            assert!(out.len() as u64 <= count, "more times than messages");
        }
        (last, out)
    }

    proptest! {
        #[test]
        fn times_ascend_from_the_creation_to_the_announced_last(
            seed in any::<u64>(),
            created in (SAMPLE_END_NS - 400 * 86_400_000_000_000)..SAMPLE_END_NS,
            count in 0u64..300,
        ) {
            let (last, times) = all(seed, created, count);
            prop_assert_eq!(times.len() as u64, count);
            prop_assert_eq!(last, times.last().copied());
            prop_assert!(times.windows(2).all(|pair| pair[0] <= pair[1]));
            if let Some(&first) = times.first() {
                prop_assert_eq!(first, created);
            }
            prop_assert!(times.iter().all(|&t| (created..SAMPLE_END_NS).contains(&t)));
        }
    }

    #[test]
    fn times_spread_evenly_over_the_span() {
        let created = SAMPLE_END_NS - 100 * 86_400_000_000_000;
        let (_, times) = all(7, created, 100_001);
        let span = (SAMPLE_END_NS - created) as f64;
        // Quartiles of a uniform sample of 100 000 fall within 1% of the span.
        for quarter in 1..4 {
            let at = times[times.len() * quarter / 4];
            let fraction = (at - created) as f64 / span;
            assert!(
                (fraction - quarter as f64 / 4.0).abs() < 0.01,
                "quartile {quarter} at {fraction}"
            );
        }
    }
}
