//! App quotas (spec §1.13): at most `call_limit` calls per window; windows are aligned to the
//! quota's `reset_time` when it has one, else the first window starts at the app's first call.
//!
//! One lock-free counter per app. It lives behind an `Arc` so that a snapshot rebuilt after a
//! management change takes over the counter of the previous snapshot (same app, same limit and
//! interval): replacing the configuration must not hand every app a fresh quota.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
    /// The configured `reset_time` (Unix ms), for comparing terms.
    reset_at_ms: Option<i64>,
    /// `reset_time` on the [`now_ms`] clock (may lie before its start or in the future).
    fixed_anchor: Option<i64>,
    /// `now_ms() + 1` of the first call; 0 until then (only without `reset_time`).
    anchor: AtomicU64,
    /// Window number (low 32 bits) in the high half, calls in that window in the low half.
    state: AtomicU64,
}

impl QuotaCounter {
    /// A counter allowing `limit` calls per `interval` (limits above `u32::MAX` saturate; an
    /// interval under 1 ms counts as 1 ms).
    #[cfg(test)]
    pub fn new(limit: u64, interval: Duration) -> Self {
        Self::aligned(limit, interval, None)
    }

    /// A counter whose windows are aligned to `reset_at_ms` (Unix milliseconds) when given.
    pub fn aligned(limit: u64, interval: Duration, reset_at_ms: Option<i64>) -> Self {
        let fixed_anchor = reset_at_ms.map(|reset| {
            let wall = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            i64::try_from(now_ms())
                .unwrap_or(i64::MAX)
                .saturating_add(reset.saturating_sub(wall))
        });
        Self {
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
            interval_ms: u64::try_from(interval.as_millis())
                .unwrap_or(u64::MAX)
                .max(1),
            reset_at_ms,
            fixed_anchor,
            anchor: AtomicU64::new(0),
            state: AtomicU64::new(0),
        }
    }

    /// Whether this counter enforces the same quota as `other` (limit, interval, reset time).
    pub fn same_terms(&self, other: &QuotaCounter) -> bool {
        (self.limit, self.interval_ms, self.reset_at_ms)
            == (other.limit, other.interval_ms, other.reset_at_ms)
    }

    /// The window `now` falls in (only equality between windows matters, so it may wrap).
    fn window(&self, now: u64) -> u32 {
        if let Some(anchor) = self.fixed_anchor {
            let since = i64::try_from(now)
                .unwrap_or(i64::MAX)
                .saturating_sub(anchor);
            let interval = i64::try_from(self.interval_ms).unwrap_or(i64::MAX);
            return since.div_euclid(interval) as u32;
        }
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
        ((now + 1).saturating_sub(anchor) / self.interval_ms) as u32
    }

    /// Counts one call at time `now` (from [`now_ms`]) and returns the calls left in the window;
    /// `None` when the window's quota is used up (a refused call is not counted).
    pub fn acquire(&self, now: u64) -> Option<u32> {
        let window = self.window(now);
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            let (w, count) = ((current >> 32) as u32, current as u32);
            let count = if w == window { count } else { 0 };
            if count >= self.limit {
                return None;
            }
            let next = (u64::from(window) << 32) | u64::from(count + 1);
            match self.state.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(self.limit - (count + 1)),
                Err(actual) => current = actual,
            }
        }
    }
}

impl QuotaCounter {
    /// `X-Apig-RateLimit-*` form of this quota with `remain` calls left:
    /// `remain:9,limit:10,time:10 second`.
    pub fn describe(&self, remain: u32) -> String {
        let (n, unit) = match self.interval_ms {
            ms if ms % 86_400_000 == 0 => (ms / 86_400_000, "day"),
            ms if ms % 3_600_000 == 0 => (ms / 3_600_000, "hour"),
            ms if ms % 60_000 == 0 => (ms / 60_000, "minute"),
            ms => (ms.div_ceil(1000), "second"),
        };
        format!("remain:{remain},limit:{},time:{n} {unit}", self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_window_from_the_first_call() {
        let q = QuotaCounter::new(2, Duration::from_secs(1));
        assert!(q.acquire(500).is_some());
        assert!(q.acquire(900).is_some());
        assert!(q.acquire(1400).is_none());
        // The window started at 500, so it ends at 1500.
        assert!(q.acquire(1500).is_some());
        assert!(q.acquire(2499).is_some());
        assert!(q.acquire(2499).is_none());
        assert!(q.acquire(10_000).is_some());
    }

    #[test]
    fn concurrent_calls_never_exceed_the_limit() {
        let q = std::sync::Arc::new(QuotaCounter::new(1000, Duration::from_secs(3600)));
        let granted: u32 = (0..4)
            .map(|_| {
                let q = q.clone();
                std::thread::spawn(move || {
                    (0..500).filter(|_| q.acquire(5).is_some()).count() as u32
                })
            })
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(granted, 1000);
    }

    #[test]
    fn remaining_calls_and_their_description() {
        let q = QuotaCounter::new(3, Duration::from_secs(60));
        assert_eq!(q.acquire(5), Some(2));
        assert_eq!(q.acquire(6), Some(1));
        assert_eq!(q.acquire(7), Some(0));
        assert_eq!(q.acquire(8), None);
        assert_eq!(q.describe(0), "remain:0,limit:3,time:1 minute");
        assert_eq!(
            QuotaCounter::new(10, Duration::from_secs(10)).describe(9),
            "remain:9,limit:10,time:10 second"
        );
        assert_eq!(
            QuotaCounter::new(1, Duration::from_secs(7200)).describe(1),
            "remain:1,limit:1,time:2 hour"
        );
    }

    #[test]
    fn windows_align_to_the_reset_time() {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let now = now_ms();
        // The reset time lies 300 ms ahead: the current 1 s window ends then, not 1 s after the
        // first call.
        let q = QuotaCounter::aligned(1, Duration::from_secs(1), Some(wall + 300));
        assert!(q.acquire(now).is_some());
        assert!(q.acquire(now + 250).is_none());
        assert!(
            q.acquire(now + 350).is_some(),
            "a new window began at the reset time"
        );
        assert!(q.acquire(now + 1250).is_none());
        assert!(q.acquire(now + 1350).is_some());
        // A reset time long past aligns the same way.
        let past = QuotaCounter::aligned(1, Duration::from_secs(1), Some(wall + 300 - 86_400_000));
        assert!(past.acquire(now + 200).is_some());
        assert!(past.acquire(now + 250).is_none());
        assert!(past.acquire(now + 350).is_some());
        // Different reset times are different terms (a change hands out a new counter).
        assert!(!q.same_terms(&past));
        assert!(q.same_terms(&QuotaCounter::aligned(
            1,
            Duration::from_secs(1),
            Some(wall + 300)
        )));
    }
}
