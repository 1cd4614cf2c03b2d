//! App quotas (spec §1.13): at most `call_limit` calls per window, the first window starting at
//! the app's first call.
//!
//! One lock-free counter per app. It lives behind an `Arc` so that a snapshot rebuilt after a
//! management change takes over the counter of the previous snapshot (same app, same limit and
//! interval): replacing the configuration must not hand every app a fresh quota.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Milliseconds since the first use in this process (a monotonic clock for the counters).
pub(crate) fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let ms = EPOCH.get_or_init(Instant::now).elapsed().as_millis();
    u64::try_from(ms).unwrap_or(u64::MAX)
}

/// A fixed-window call counter.
#[derive(Debug)]
pub(crate) struct QuotaCounter {
    limit: u32,
    interval_ms: u64,
    /// `now_ms() + 1` of the first call; 0 until then.
    anchor: AtomicU64,
    /// Window number (low 32 bits) in the high half, calls in that window in the low half.
    state: AtomicU64,
}

impl QuotaCounter {
    /// A counter allowing `limit` calls per `interval` (limits above `u32::MAX` saturate; an
    /// interval under 1 ms counts as 1 ms).
    pub fn new(limit: u64, interval: Duration) -> Self {
        Self {
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
            interval_ms: u64::try_from(interval.as_millis())
                .unwrap_or(u64::MAX)
                .max(1),
            anchor: AtomicU64::new(0),
            state: AtomicU64::new(0),
        }
    }

    /// Whether this counter enforces the same quota as `(limit, interval)`.
    pub fn same_terms(&self, other: &QuotaCounter) -> bool {
        (self.limit, self.interval_ms) == (other.limit, other.interval_ms)
    }

    /// Counts one call at time `now` (from [`now_ms`]); false when the window's quota is used up
    /// (a refused call is not counted).
    pub fn try_acquire(&self, now: u64) -> bool {
        let anchor = match self.anchor.load(Ordering::Acquire) {
            0 => match self
                .anchor
                .compare_exchange(0, now + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => now + 1,
                Err(set) => set,
            },
            set => set,
        };
        let window = ((now + 1).saturating_sub(anchor) / self.interval_ms) as u32;
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            let (w, count) = ((current >> 32) as u32, current as u32);
            let count = if w == window { count } else { 0 };
            if count >= self.limit {
                return false;
            }
            let next = (u64::from(window) << 32) | u64::from(count + 1);
            match self.state.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_window_from_the_first_call() {
        let q = QuotaCounter::new(2, Duration::from_secs(1));
        assert!(q.try_acquire(500));
        assert!(q.try_acquire(900));
        assert!(!q.try_acquire(1400));
        // The window started at 500, so it ends at 1500.
        assert!(q.try_acquire(1500));
        assert!(q.try_acquire(2499));
        assert!(!q.try_acquire(2499));
        assert!(q.try_acquire(10_000));
    }

    #[test]
    fn concurrent_calls_never_exceed_the_limit() {
        let q = std::sync::Arc::new(QuotaCounter::new(1000, Duration::from_secs(3600)));
        let granted: u32 = (0..4)
            .map(|_| {
                let q = q.clone();
                std::thread::spawn(move || (0..500).filter(|_| q.try_acquire(5)).count() as u32)
            })
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(granted, 1000);
    }
}
