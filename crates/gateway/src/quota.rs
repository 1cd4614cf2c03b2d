//! App quotas (spec §1.13): at most `call_limit` calls per window; windows are aligned to the
//! quota's `reset_time` when it has one, else the first window starts at the app's first call.
//!
//! One lock-free counter per app ([`QuotaCounter`]) under the terms of its quota
//! ([`QuotaPolicy`], shared by the apps bound to it and changed in place, so a quota change is
//! O(1) whatever the number of apps bound).

use arc_swap::ArcSwapOption;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds since the first use in this process (a monotonic clock for the counters).
pub(crate) fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let ms = EPOCH.get_or_init(Instant::now).elapsed().as_millis();
    u64::try_from(ms).unwrap_or(u64::MAX)
}

/// What one quota allows: at most `limit` calls per window of `interval_ms`.
#[derive(Debug)]
pub(crate) struct QuotaTerms {
    limit: u32,
    interval_ms: u64,
    /// `reset_time` on the [`now_ms`] clock (may lie before its start or in the future):
    /// windows are aligned to it. `None`: each app's first window starts at its first call.
    fixed_anchor: Option<i64>,
}

impl QuotaTerms {
    /// `limit` calls per `interval` (limits above `u32::MAX` saturate; an interval under 1 ms
    /// counts as 1 ms), windows aligned to `reset_at_ms` (Unix milliseconds) when given.
    pub fn new(limit: u64, interval: Duration, reset_at_ms: Option<i64>) -> Self {
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
            fixed_anchor,
        }
    }

    /// The window `now` falls in for an app whose first call is noted in `anchor` (only
    /// equality between windows matters, so it may wrap).
    fn window(&self, now: u64, anchor: &AtomicU64) -> u32 {
        if let Some(fixed) = self.fixed_anchor {
            let since = i64::try_from(now).unwrap_or(i64::MAX).saturating_sub(fixed);
            let interval = i64::try_from(self.interval_ms).unwrap_or(i64::MAX);
            return since.div_euclid(interval) as u32;
        }
        let anchor = match anchor.load(Ordering::Acquire) {
            0 => match anchor.compare_exchange(0, now + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => now + 1,
                Err(set) => set,
            },
            set => set,
        };
        ((now + 1).saturating_sub(anchor) / self.interval_ms) as u32
    }

    /// `X-Apig-RateLimit-*` form of these terms with `remain` calls left:
    /// `remain:9,limit:10,time:10 second`.
    fn describe(&self, remain: u32) -> String {
        let (n, unit) = match self.interval_ms {
            ms if ms % 86_400_000 == 0 => (ms / 86_400_000, "day"),
            ms if ms % 3_600_000 == 0 => (ms / 3_600_000, "hour"),
            ms if ms % 60_000 == 0 => (ms / 60_000, "minute"),
            ms => (ms.div_ceil(1000), "second"),
        };
        format!("remain:{remain},limit:{},time:{n} {unit}", self.limit)
    }
}

/// One quota as every app bound to it sees it.
///
/// Exists so that changing or deleting a quota costs the same whatever the number of apps
/// bound to it: the apps' counters share this object, and a change replaces the terms in it
/// (atomically; `None` once the quota is deleted) instead of rebuilding every app entry. It is
/// the one part of a snapshot that changes in place, like the counters.
#[derive(Debug)]
pub(crate) struct QuotaPolicy {
    terms: ArcSwapOption<QuotaTerms>,
}

impl QuotaPolicy {
    /// A policy in force with `terms`.
    pub fn new(terms: QuotaTerms) -> Arc<Self> {
        Arc::new(Self {
            terms: ArcSwapOption::from_pointee(terms),
        })
    }

    /// Puts new terms in force for every app bound (`None`: the quota no longer limits them).
    pub fn set(&self, terms: Option<QuotaTerms>) {
        self.terms.store(terms.map(Arc::new));
    }
}

/// The outcome of counting one call against an app's quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QuotaCall {
    /// The quota was deleted: nothing limits the app.
    Unlimited,
    /// Counted; this many calls are left in the window.
    Allowed(u32),
    /// The window's calls are used up (the call was not counted).
    UsedUp,
}

#[cfg(test)]
impl QuotaCall {
    /// Counted.
    pub fn is_allowed(self) -> bool {
        matches!(self, Self::Allowed(_))
    }

    /// Refused.
    pub fn is_used_up(self) -> bool {
        self == Self::UsedUp
    }
}

/// One app's fixed-window call counter under a shared [`QuotaPolicy`].
///
/// It lives behind an `Arc` so that a snapshot rebuilt or patched after a management change
/// takes over the counter of the previous snapshot (same app, same quota): replacing the
/// configuration must not hand every app a fresh quota. New terms apply to the calls already
/// counted in the current window.
#[derive(Debug)]
pub(crate) struct QuotaCounter {
    policy: Arc<QuotaPolicy>,
    /// `now_ms() + 1` of the first call; 0 until then (only without `reset_time`).
    anchor: AtomicU64,
    /// Window number (low 32 bits) in the high half, calls in that window in the low half.
    state: AtomicU64,
}

impl QuotaCounter {
    /// A counter with no calls yet under `policy`.
    pub fn new(policy: Arc<QuotaPolicy>) -> Self {
        Self {
            policy,
            anchor: AtomicU64::new(0),
            state: AtomicU64::new(0),
        }
    }

    /// The quota this counter counts against.
    pub fn policy(&self) -> &Arc<QuotaPolicy> {
        &self.policy
    }

    /// Counts one call at time `now` (from [`now_ms`]).
    pub fn acquire(&self, now: u64) -> QuotaCall {
        let terms = self.policy.terms.load();
        let Some(terms) = terms.as_deref() else {
            return QuotaCall::Unlimited;
        };
        let window = terms.window(now, &self.anchor);
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            let (w, count) = ((current >> 32) as u32, current as u32);
            let count = if w == window { count } else { 0 };
            if count >= terms.limit {
                return QuotaCall::UsedUp;
            }
            let next = (u64::from(window) << 32) | u64::from(count + 1);
            match self.state.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return QuotaCall::Allowed(terms.limit - (count + 1)),
                Err(actual) => current = actual,
            }
        }
    }

    /// `X-Apig-RateLimit-*` form of the quota with `remain` calls left, while it is in force.
    pub fn describe(&self, remain: u32) -> Option<String> {
        Some(self.policy.terms.load().as_deref()?.describe(remain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(limit: u64, interval: Duration, reset_at_ms: Option<i64>) -> QuotaCounter {
        QuotaCounter::new(QuotaPolicy::new(QuotaTerms::new(
            limit,
            interval,
            reset_at_ms,
        )))
    }

    #[test]
    fn counts_per_window_from_the_first_call() {
        let q = counter(2, Duration::from_secs(1), None);
        assert!(q.acquire(500).is_allowed());
        assert!(q.acquire(900).is_allowed());
        assert_eq!(q.acquire(1400), QuotaCall::UsedUp);
        // The window started at 500, so it ends at 1500.
        assert!(q.acquire(1500).is_allowed());
        assert!(q.acquire(2499).is_allowed());
        assert_eq!(q.acquire(2499), QuotaCall::UsedUp);
        assert!(q.acquire(10_000).is_allowed());
    }

    #[test]
    fn concurrent_calls_never_exceed_the_limit() {
        let q = Arc::new(counter(1000, Duration::from_secs(3600), None));
        let granted: u32 = (0..4)
            .map(|_| {
                let q = q.clone();
                std::thread::spawn(move || {
                    (0..500).filter(|_| q.acquire(5).is_allowed()).count() as u32
                })
            })
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(granted, 1000);
    }

    #[test]
    fn remaining_calls_and_their_description() {
        let q = counter(3, Duration::from_secs(60), None);
        assert_eq!(q.acquire(5), QuotaCall::Allowed(2));
        assert_eq!(q.acquire(6), QuotaCall::Allowed(1));
        assert_eq!(q.acquire(7), QuotaCall::Allowed(0));
        assert_eq!(q.acquire(8), QuotaCall::UsedUp);
        assert_eq!(q.describe(0).unwrap(), "remain:0,limit:3,time:1 minute");
        assert_eq!(
            counter(10, Duration::from_secs(10), None)
                .describe(9)
                .unwrap(),
            "remain:9,limit:10,time:10 second"
        );
        assert_eq!(
            counter(1, Duration::from_secs(7200), None)
                .describe(1)
                .unwrap(),
            "remain:1,limit:1,time:2 hour"
        );
    }

    #[test]
    fn new_terms_apply_to_every_counter_and_to_the_calls_already_counted() {
        let policy = QuotaPolicy::new(QuotaTerms::new(2, Duration::from_secs(60), None));
        let (a, b) = (
            QuotaCounter::new(Arc::clone(&policy)),
            QuotaCounter::new(Arc::clone(&policy)),
        );
        assert_eq!(a.acquire(0), QuotaCall::Allowed(1));
        assert_eq!(a.acquire(1), QuotaCall::Allowed(0));
        assert_eq!(a.acquire(2), QuotaCall::UsedUp);
        // Raised: `a` may make the difference in the same window, `b` the new limit.
        policy.set(Some(QuotaTerms::new(3, Duration::from_secs(60), None)));
        assert_eq!(a.acquire(3), QuotaCall::Allowed(0));
        assert_eq!(a.acquire(4), QuotaCall::UsedUp);
        assert_eq!(b.acquire(4), QuotaCall::Allowed(2));
        assert_eq!(b.describe(2).unwrap(), "remain:2,limit:3,time:1 minute");
        // Deleted: nothing limits either app any more.
        policy.set(None);
        assert_eq!(a.acquire(5), QuotaCall::Unlimited);
        assert_eq!(b.acquire(5), QuotaCall::Unlimited);
        assert!(a.describe(0).is_none());
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
        let q = counter(1, Duration::from_secs(1), Some(wall + 300));
        assert!(q.acquire(now).is_allowed());
        assert_eq!(q.acquire(now + 250), QuotaCall::UsedUp);
        assert!(
            q.acquire(now + 350).is_allowed(),
            "a new window began at the reset time"
        );
        assert_eq!(q.acquire(now + 1250), QuotaCall::UsedUp);
        assert!(q.acquire(now + 1350).is_allowed());
        // A reset time long past aligns the same way.
        let past = counter(1, Duration::from_secs(1), Some(wall + 300 - 86_400_000));
        assert!(past.acquire(now + 200).is_allowed());
        assert_eq!(past.acquire(now + 250), QuotaCall::UsedUp);
        assert!(past.acquire(now + 350).is_allowed());
    }
}
