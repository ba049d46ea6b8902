//! A rolling count of outcomes over a time window, cut into ten buckets so old outcomes age out
//! a tenth of the window at a time, with no allocation and no per-call timestamp kept.

use std::time::{Duration, Instant};

const BUCKETS: usize = 10;

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// The tick this bucket currently counts; a bucket of an older tick is stale.
    tick: u64,
    successes: u32,
    failures: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Window {
    origin: Instant,
    bucket_ms: u64,
    buckets: [Bucket; BUCKETS],
}

/// Calls and failures still inside the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Counts {
    pub calls: u32,
    pub failures: u32,
}

impl Window {
    pub fn new(window: Duration, origin: Instant) -> Self {
        let bucket_ms = u64::try_from(window.as_millis() / BUCKETS as u128).unwrap_or(u64::MAX).max(1);
        // Tick 0 is "now", so fresh buckets (tick 0, empty) never count as stale data.
        Self { origin, bucket_ms, buckets: [Bucket::default(); BUCKETS] }
    }

    fn tick(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.origin).as_millis()).unwrap_or(u64::MAX) / self.bucket_ms
    }

    pub fn record(&mut self, now: Instant, failure: bool) {
        let tick = self.tick(now);
        let bucket = &mut self.buckets[(tick % BUCKETS as u64) as usize];
        if bucket.tick != tick {
            *bucket = Bucket { tick, ..Bucket::default() };
        }
        if failure {
            bucket.failures = bucket.failures.saturating_add(1);
        } else {
            bucket.successes = bucket.successes.saturating_add(1);
        }
    }

    pub fn counts(&self, now: Instant) -> Counts {
        let tick = self.tick(now);
        let oldest = tick.saturating_sub(BUCKETS as u64 - 1);
        self.buckets.iter().filter(|b| b.tick >= oldest && b.tick <= tick).fold(Counts::default(), |c, b| Counts {
            calls: c.calls.saturating_add(b.successes).saturating_add(b.failures),
            failures: c.failures.saturating_add(b.failures),
        })
    }

    pub fn clear(&mut self) {
        self.buckets = [Bucket::default(); BUCKETS];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_age_out_a_bucket_at_a_time() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut w = Window::new(ms(1000), t0);
        w.record(t0, true);
        w.record(t0 + ms(150), false);
        w.record(t0 + ms(950), true);
        assert_eq!(w.counts(t0 + ms(990)), Counts { calls: 3, failures: 2 });
        // At 1.0 s the first bucket (0..100 ms) has left the window, at 1.1 s the second, and
        // the last outcome (950 ms) leaves at 1.9 s.
        assert_eq!(w.counts(t0 + ms(1000)), Counts { calls: 2, failures: 1 });
        assert_eq!(w.counts(t0 + ms(1100)), Counts { calls: 1, failures: 1 });
        assert_eq!(w.counts(t0 + ms(1899)), Counts { calls: 1, failures: 1 });
        assert_eq!(w.counts(t0 + ms(1900)), Counts::default());
        assert_eq!(w.counts(t0 + ms(5000)), Counts::default());
        // A bucket reused after a full turn starts from zero.
        w.record(t0 + ms(2000), false);
        assert_eq!(w.counts(t0 + ms(2000)), Counts { calls: 1, failures: 0 });
        w.clear();
        assert_eq!(w.counts(t0 + ms(2000)), Counts::default());
    }
}
