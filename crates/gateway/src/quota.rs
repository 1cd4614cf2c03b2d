//! App quotas (spec §1.13): at most `call_limit` calls per window; windows are aligned to the
//! quota's `reset_time` when it has one, else to the app's first call.
//!
//! One lock-free counter per app ([`QuotaCounter`]) under the terms of its quota
//! ([`QuotaPolicy`], shared by the apps bound to it and changed in place, so a quota change is
//! O(1) whatever the number of apps bound).
//!
//! Windows are on the wall clock (Unix milliseconds), so every node of a cluster, and a node
//! after a restart, puts a call in the same window. The calls themselves are shared through a
//! ledger in the store, outside the request path: a counter notes in its [`UsageBook`] that it
//! counted calls nobody else knows of yet; the node periodically takes those ([`QuotaUsage`],
//! [`UsageBook::take`]), adds them to the ledger, and merges the ledger's totals
//! ([`QuotaTally`], [`QuotaCounter::merge`]) back. Between two exchanges a node admits on what
//! it knows (the ledger's total as last read plus its own calls since), so a cluster can let
//! through beyond the limit what its nodes admit before they hear of each other's calls
//! (about two exchange intervals: one to report, one to read). Near a limit a call wakes the
//! exchange early ([`UsageBook::nearing`]), which keeps that overshoot small under bursts.

use arc_swap::ArcSwapOption;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now, in Unix milliseconds: the clock quota windows are on.
pub(crate) fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// What one quota allows: at most `limit` calls per window of `interval_ms`.
#[derive(Debug)]
pub(crate) struct QuotaTerms {
    limit: u32,
    interval_ms: i64,
    /// `reset_time` (Unix milliseconds): windows are aligned to it. `None`: each app's windows
    /// are aligned to its first call.
    fixed_anchor: Option<i64>,
}

impl QuotaTerms {
    /// `limit` calls per `interval` (limits above `u32::MAX` saturate; an interval under 1 ms
    /// counts as 1 ms), windows aligned to `reset_at_ms` (Unix milliseconds) when given.
    pub fn new(limit: u64, interval: Duration, reset_at_ms: Option<i64>) -> Self {
        Self {
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
            interval_ms: i64::try_from(interval.as_millis())
                .unwrap_or(i64::MAX)
                .max(1),
            fixed_anchor: reset_at_ms,
        }
    }

    /// The number of the window `now` falls in, for windows aligned to `anchor` (only equality
    /// between windows matters, so it may wrap).
    fn window(&self, now: i64, anchor: i64) -> u32 {
        now.saturating_sub(anchor).div_euclid(self.interval_ms) as u32
    }

    /// When the window `now` falls in began, for windows aligned to `anchor`.
    fn window_start(&self, now: i64, anchor: i64) -> i64 {
        let offset = now.saturating_sub(anchor);
        now.saturating_sub(offset.rem_euclid(self.interval_ms))
    }

    /// `X-Apig-RateLimit-*` form of these terms with `remain` calls left:
    /// `remain:9,limit:10,time:10 second`.
    fn describe(&self, remain: u32) -> String {
        rate_limit_field(remain, self.limit, self.interval_ms)
    }
}

/// The value of an `X-Apig-RateLimit-*` field (APIG's form, shared by quotas and request
/// throttling): `remain` of `limit` calls left in windows of `window_ms`,
/// `remain:9,limit:10,time:10 second`.
pub(crate) fn rate_limit_field(remain: u32, limit: u32, window_ms: i64) -> String {
    let (n, unit) = match window_ms {
        ms if ms % 86_400_000 == 0 => (ms / 86_400_000, "day"),
        ms if ms % 3_600_000 == 0 => (ms / 3_600_000, "hour"),
        ms if ms % 60_000 == 0 => (ms / 60_000, "minute"),
        ms => ((ms + 999) / 1000, "second"),
    };
    format!("remain:{remain},limit:{limit},time:{n} {unit}")
}

/// One quota as every app bound to it sees it.
///
/// Exists so that changing or deleting a quota costs the same whatever the number of apps
/// bound to it: the apps' counters share this object, and a change replaces the terms in it
/// (atomically; `None` once the quota is deleted) instead of rebuilding every app entry. It is
/// the one part of a snapshot that changes in place, like the counters.
#[derive(Debug)]
pub(crate) struct QuotaPolicy {
    quota_id: Box<str>,
    terms: ArcSwapOption<QuotaTerms>,
    /// Where the counters of its apps note calls the ledger has not been told of.
    book: Arc<UsageBook>,
}

impl QuotaPolicy {
    /// Quota `quota_id` in force with `terms`, its counters noting unreported calls in `book`.
    pub fn new(quota_id: &str, terms: QuotaTerms, book: &Arc<UsageBook>) -> Arc<Self> {
        Arc::new(Self {
            quota_id: quota_id.into(),
            terms: ArcSwapOption::from_pointee(terms),
            book: Arc::clone(book),
        })
    }

    /// Puts new terms in force for every app bound (`None`: the quota no longer limits them).
    pub fn set(&self, terms: Option<QuotaTerms>) {
        self.terms.store(terms.map(Arc::new));
    }

    /// The quota's id.
    pub fn quota_id(&self) -> &str {
        &self.quota_id
    }
}

/// Calls one app made against its quota on this node and not yet added to the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaUsage {
    /// The app.
    pub app_id: String,
    /// The quota it is bound to.
    pub app_quota_id: String,
    /// Start of the window the calls fell in (Unix milliseconds).
    pub window_start_ms: i64,
    /// Window length, so the ledger can place calls of a window it numbers differently.
    pub interval_ms: i64,
    /// Calls counted.
    pub calls: u32,
}

/// The ledger's total of one app's calls in one window, from every node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaTally {
    /// The app.
    pub app_id: String,
    /// The quota it is bound to.
    pub app_quota_id: String,
    /// Start of the window (Unix milliseconds).
    pub window_start_ms: i64,
    /// Calls counted in that window by every node.
    pub calls: u64,
}

/// The counters holding calls the ledger has not been told of.
///
/// Exists so that reporting costs in proportion to the apps that made calls, not to all apps:
/// a counter enters the book with its first unreported call (at most once per exchange), and
/// [`take`](Self::take) empties it.
#[derive(Debug, Default)]
pub(crate) struct UsageBook {
    unreported: Mutex<Vec<Arc<QuotaCounter>>>,
    /// Woken when an app nears its limit: the ledger should hear of its calls now rather
    /// than at the next periodic exchange.
    nearing: Arc<tokio::sync::Notify>,
}

impl UsageBook {
    /// What wakes when an app nears its limit (see [`QuotaCounter::acquire`]).
    pub fn nearing(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.nearing)
    }

    fn note(&self, counter: &Arc<QuotaCounter>) {
        self.unreported
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::clone(counter));
    }

    /// The calls counted since the last take, per app, in the windows current at `now` (calls
    /// of a window already over no longer limit anyone and are left out).
    pub fn take(&self, now: i64) -> Vec<QuotaUsage> {
        let counters =
            std::mem::take(&mut *self.unreported.lock().unwrap_or_else(|p| p.into_inner()));
        counters.iter().filter_map(|c| c.report(now)).collect()
    }
}

/// Whether a call that leaves `remain` of `limit` calls should bring the next exchange with the
/// ledger forward: below half the limit, at every 32nd of the limit and each time what is left
/// halves (so at most about 16 + log2(limit) times per window), the last call included. Other
/// nodes' calls a node does not know of yet matter only there, and a node that learns early
/// stops early.
fn nearing_the_limit(remain: u32, limit: u32) -> bool {
    let step = (limit / 32).max(1);
    remain <= limit / 2 && (remain.is_multiple_of(step) || remain.wrapping_add(1).is_power_of_two())
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
    app_id: Box<str>,
    policy: Arc<QuotaPolicy>,
    /// Start of one of the app's windows (its first call, or the ledger's window) in Unix
    /// milliseconds; 0 until then. Only without `reset_time`.
    anchor: AtomicI64,
    /// Window number (low 32 bits) in the high half, calls in that window in the low half.
    state: AtomicU64,
    /// Calls of the current window counted here and not yet reported to the ledger.
    unreported: AtomicU32,
}

impl QuotaCounter {
    /// A counter for `app_id` with no calls yet under `policy`.
    pub fn new(app_id: &str, policy: Arc<QuotaPolicy>) -> Self {
        Self {
            app_id: app_id.into(),
            policy,
            anchor: AtomicI64::new(0),
            state: AtomicU64::new(0),
            unreported: AtomicU32::new(0),
        }
    }

    /// The quota this counter counts against.
    pub fn policy(&self) -> &Arc<QuotaPolicy> {
        &self.policy
    }

    /// What the app's windows are aligned to: the reset time, else its first call (`now`
    /// when this is the first).
    fn anchor(&self, terms: &QuotaTerms, now: i64) -> i64 {
        if let Some(fixed) = terms.fixed_anchor {
            return fixed;
        }
        match self.anchor.load(Ordering::Acquire) {
            0 => match self
                .anchor
                .compare_exchange(0, now, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => now,
                Err(set) => set,
            },
            set => set,
        }
    }

    /// Counts one call at `now` (Unix milliseconds, [`wall_ms`]).
    pub fn acquire(self: &Arc<Self>, now: i64) -> QuotaCall {
        let terms = self.policy.terms.load();
        let Some(terms) = terms.as_deref() else {
            return QuotaCall::Unlimited;
        };
        let window = terms.window(now, self.anchor(terms, now));
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
                Ok(_) => {
                    // A new window: calls of the last one no longer need reporting.
                    let before = if w == window {
                        self.unreported.fetch_add(1, Ordering::AcqRel)
                    } else {
                        self.unreported.swap(1, Ordering::AcqRel)
                    };
                    if before == 0 {
                        self.policy.book.note(self);
                    }
                    let remain = terms.limit - (count + 1);
                    if nearing_the_limit(remain, terms.limit) {
                        self.policy.book.nearing.notify_one();
                    }
                    return QuotaCall::Allowed(remain);
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// The calls counted since the last report, if they fell in the window current at `now`.
    fn report(&self, now: i64) -> Option<QuotaUsage> {
        let calls = self.unreported.swap(0, Ordering::AcqRel);
        let terms = self.policy.terms.load();
        let terms = terms.as_deref()?;
        let anchor = match terms.fixed_anchor {
            Some(fixed) => fixed,
            None => self.anchor.load(Ordering::Acquire),
        };
        let counted_in = (self.state.load(Ordering::Acquire) >> 32) as u32;
        if calls == 0 || anchor == 0 || counted_in != terms.window(now, anchor) {
            return None;
        }
        Some(QuotaUsage {
            app_id: self.app_id.to_string(),
            app_quota_id: self.policy.quota_id.to_string(),
            window_start_ms: terms.window_start(now, anchor),
            interval_ms: terms.interval_ms,
            calls,
        })
    }

    /// Takes in the ledger's total for the window that began at `window_start_ms`: the calls of
    /// every node, to which this node adds its own not yet reported. A total of another window
    /// than the one current at `now` is of no use and is ignored. Without a reset time the
    /// ledger's windows are the app's windows (the first node to report set them).
    pub fn merge(&self, window_start_ms: i64, calls: u64, now: i64) {
        let terms = self.policy.terms.load();
        let Some(terms) = terms.as_deref() else {
            return;
        };
        if now < window_start_ms || now - window_start_ms >= terms.interval_ms {
            return;
        }
        // The total is of the window current now (on the ledger's grid): only such a total
        // may move this app's windows onto that grid.
        let mut regridded = false;
        let anchor = match terms.fixed_anchor {
            Some(fixed) => fixed,
            None => {
                let mine = self.anchor.load(Ordering::Acquire);
                if mine == 0 || (window_start_ms - mine).rem_euclid(terms.interval_ms) != 0 {
                    self.anchor.store(window_start_ms, Ordering::Release);
                    regridded = true;
                    window_start_ms
                } else {
                    mine
                }
            }
        };
        if terms.window_start(now, anchor) != window_start_ms {
            return;
        }
        let window = terms.window(now, anchor);
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            let (w, count) = ((current >> 32) as u32, current as u32);
            let mine = if w == window && !regridded { count } else { 0 };
            // Calls not yet reported belong to this window unless the counter's last call
            // was in an earlier one.
            let unreported = if w == window || regridded {
                u64::from(self.unreported.load(Ordering::Acquire))
            } else {
                0
            };
            let known = u32::try_from(calls.saturating_add(unreported)).unwrap_or(u32::MAX);
            let next = (u64::from(window) << 32) | u64::from(mine.max(known));
            match self.state.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
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

    /// A counter for app `app` under a new quota `q` with its own book.
    fn counter(limit: u64, interval: Duration, reset_at_ms: Option<i64>) -> Arc<QuotaCounter> {
        let book = Arc::new(UsageBook::default());
        let policy = QuotaPolicy::new("q", QuotaTerms::new(limit, interval, reset_at_ms), &book);
        Arc::new(QuotaCounter::new("app", policy))
    }

    /// Some instant, as a wall clock would give it.
    const T: i64 = 1_780_000_000_000;

    #[test]
    fn counts_per_window_from_the_first_call() {
        let q = counter(2, Duration::from_secs(1), None);
        assert!(q.acquire(T + 500).is_allowed());
        assert!(q.acquire(T + 900).is_allowed());
        assert_eq!(q.acquire(T + 1400), QuotaCall::UsedUp);
        // The window started at 500, so it ends at 1500.
        assert!(q.acquire(T + 1500).is_allowed());
        assert!(q.acquire(T + 2499).is_allowed());
        assert_eq!(q.acquire(T + 2499), QuotaCall::UsedUp);
        assert!(q.acquire(T + 10_000).is_allowed());
    }

    #[test]
    fn concurrent_calls_never_exceed_the_limit() {
        let q = counter(1000, Duration::from_secs(3600), None);
        let granted: u32 = (0..4)
            .map(|_| {
                let q = q.clone();
                std::thread::spawn(move || {
                    (0..500).filter(|_| q.acquire(T).is_allowed()).count() as u32
                })
            })
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(granted, 1000);
        let usage = q.policy.book.take(T);
        assert_eq!(usage.len(), 1, "a counter enters the book once: {usage:?}");
        assert_eq!(usage[0].calls, 1000);
    }

    #[test]
    fn remaining_calls_and_their_description() {
        let q = counter(3, Duration::from_secs(60), None);
        assert_eq!(q.acquire(T + 5), QuotaCall::Allowed(2));
        assert_eq!(q.acquire(T + 6), QuotaCall::Allowed(1));
        assert_eq!(q.acquire(T + 7), QuotaCall::Allowed(0));
        assert_eq!(q.acquire(T + 8), QuotaCall::UsedUp);
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
        let book = Arc::new(UsageBook::default());
        let policy = QuotaPolicy::new(
            "q",
            QuotaTerms::new(2, Duration::from_secs(60), None),
            &book,
        );
        let (a, b) = (
            Arc::new(QuotaCounter::new("a", Arc::clone(&policy))),
            Arc::new(QuotaCounter::new("b", Arc::clone(&policy))),
        );
        assert_eq!(a.acquire(T), QuotaCall::Allowed(1));
        assert_eq!(a.acquire(T + 1), QuotaCall::Allowed(0));
        assert_eq!(a.acquire(T + 2), QuotaCall::UsedUp);
        // Raised: `a` may make the difference in the same window, `b` the new limit.
        policy.set(Some(QuotaTerms::new(3, Duration::from_secs(60), None)));
        assert_eq!(a.acquire(T + 3), QuotaCall::Allowed(0));
        assert_eq!(a.acquire(T + 4), QuotaCall::UsedUp);
        assert_eq!(b.acquire(T + 4), QuotaCall::Allowed(2));
        assert_eq!(b.describe(2).unwrap(), "remain:2,limit:3,time:1 minute");
        // Deleted: nothing limits either app any more, and nothing is reported.
        policy.set(None);
        assert_eq!(a.acquire(T + 5), QuotaCall::Unlimited);
        assert_eq!(b.acquire(T + 5), QuotaCall::Unlimited);
        assert!(a.describe(0).is_none());
        assert!(book.take(T + 6).is_empty());
    }

    #[test]
    fn windows_align_to_the_reset_time() {
        // The reset time lies 300 ms ahead: the current 1 s window ends then, not 1 s after the
        // first call.
        let q = counter(1, Duration::from_secs(1), Some(T + 300));
        assert!(q.acquire(T).is_allowed());
        assert_eq!(q.acquire(T + 250), QuotaCall::UsedUp);
        assert!(
            q.acquire(T + 350).is_allowed(),
            "a new window began at the reset time"
        );
        assert_eq!(q.acquire(T + 1250), QuotaCall::UsedUp);
        assert!(q.acquire(T + 1350).is_allowed());
        // A reset time long past aligns the same way.
        let past = counter(1, Duration::from_secs(1), Some(T + 300 - 86_400_000));
        assert!(past.acquire(T + 200).is_allowed());
        assert_eq!(past.acquire(T + 250), QuotaCall::UsedUp);
        assert!(past.acquire(T + 350).is_allowed());
    }

    /// What the ledger does with a report (the store's statement, in miniature): calls of its
    /// window add up, a later window starts over, an earlier one is ignored.
    fn add(ledger: &mut Option<(i64, u64)>, usage: &QuotaUsage) {
        let (ws, calls) = (usage.window_start_ms, u64::from(usage.calls));
        *ledger = Some(match *ledger {
            None => (ws, calls),
            Some((start, _)) if ws >= start + usage.interval_ms => (
                start + (ws - start) / usage.interval_ms * usage.interval_ms,
                calls,
            ),
            Some((start, total)) if ws > start - usage.interval_ms => (start, total + calls),
            Some(kept) => kept,
        });
    }

    fn merge(counter: &QuotaCounter, ledger: Option<(i64, u64)>, now: i64) {
        let (start, calls) = ledger.unwrap();
        counter.merge(start, calls, now);
    }

    #[test]
    fn nodes_sharing_a_ledger_keep_one_limit() {
        // One quota of 5 calls a minute, without a reset time, on two nodes.
        let (a, b) = (
            counter(5, Duration::from_secs(60), None),
            counter(5, Duration::from_secs(60), None),
        );
        let mut ledger = None;
        assert!(a.acquire(T).is_allowed());
        assert!(a.acquire(T + 10).is_allowed());
        // B's first call comes before it heard of A's: its own windows begin there.
        assert!(b.acquire(T + 500).is_allowed());
        for usage in a.policy.book.take(T + 1000) {
            assert_eq!(
                usage.window_start_ms, T,
                "A's window began at its first call"
            );
            add(&mut ledger, &usage);
        }
        for usage in b.policy.book.take(T + 1000) {
            assert_eq!(usage.window_start_ms, T + 500);
            add(&mut ledger, &usage);
        }
        assert_eq!(
            ledger,
            Some((T, 3)),
            "B's call counts in the ledger's window"
        );
        merge(&a, ledger, T + 1000);
        merge(&b, ledger, T + 1000);
        // Three of five are used, whichever node is asked; B now keeps A's windows.
        assert_eq!(b.acquire(T + 1100), QuotaCall::Allowed(1));
        assert_eq!(
            a.acquire(T + 1200),
            QuotaCall::Allowed(1),
            "A does not know of B's last call yet"
        );
        for usage in b.policy.book.take(T + 2000) {
            add(&mut ledger, &usage);
        }
        for usage in a.policy.book.take(T + 2000) {
            add(&mut ledger, &usage);
        }
        assert_eq!(ledger, Some((T, 5)));
        merge(&a, ledger, T + 2000);
        merge(&b, ledger, T + 2000);
        assert!(a.acquire(T + 2100).is_used_up());
        assert!(b.acquire(T + 2100).is_used_up());
        // The window that began at A's first call ends a minute later, on both nodes.
        assert!(b.acquire(T + 60_000).is_allowed());
        assert!(a.acquire(T + 60_001).is_allowed());
        // A stale total (of the window before) changes nothing.
        merge(&a, Some((T, 5)), T + 60_002);
        assert_eq!(a.acquire(T + 60_003), QuotaCall::Allowed(3));
    }

    #[test]
    fn a_restarted_node_continues_from_the_ledger() {
        let before = counter(3, Duration::from_secs(3600), None);
        let mut ledger = None;
        assert!(before.acquire(T).is_allowed());
        assert!(before.acquire(T + 1).is_allowed());
        for usage in before.policy.book.take(T + 2) {
            add(&mut ledger, &usage);
        }
        // After the restart: a fresh counter that read the ledger before its first call.
        let after = counter(3, Duration::from_secs(3600), None);
        merge(&after, ledger, T + 5000);
        assert_eq!(after.acquire(T + 5001), QuotaCall::Allowed(0));
        assert!(after.acquire(T + 5002).is_used_up());
        // Its windows are the ones of the first call before the restart.
        assert!(after.acquire(T + 3_600_000).is_allowed());
    }

    #[test]
    fn nearing_the_limit_brings_the_exchange_forward_a_few_times() {
        let signals: Vec<u32> = (0..5000).filter(|&r| nearing_the_limit(r, 5000)).collect();
        let mut expected: Vec<u32> = (0..=16).map(|n| n * 156).collect();
        expected.extend([1, 3, 7, 15, 31, 63, 127, 255, 511, 1023, 2047]);
        expected.sort();
        assert_eq!(
            signals, expected,
            "every 32nd and every halving below half the limit"
        );
        assert!(nearing_the_limit(0, 1), "the last call of a limit of one");
        assert!(!nearing_the_limit(3, 4) && nearing_the_limit(2, 4));
        let q = counter(4, Duration::from_secs(60), None);
        let nearing = q.policy.book.nearing();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let signalled = || {
            rt.block_on(async {
                tokio::time::timeout(Duration::from_millis(10), nearing.notified())
                    .await
                    .is_ok()
            })
        };
        assert!(q.acquire(T).is_allowed()); // 3 left
        assert!(!signalled(), "no signal above half the limit");
        assert!(q.acquire(T).is_allowed()); // 2 left
        assert!(signalled());
        assert!(q.acquire(T).is_allowed()); // 1 left
        assert!(signalled());
        assert!(q.acquire(T).is_allowed()); // none left
        assert!(signalled());
        assert!(q.acquire(T).is_used_up());
        assert!(
            !signalled(),
            "a refused call takes nothing and signals nothing"
        );
    }

    #[test]
    fn a_total_of_a_past_window_changes_nothing() {
        let q = counter(5, Duration::from_secs(60), None);
        assert!(q.acquire(T).is_allowed());
        assert!(q.acquire(T + 1).is_allowed());
        // A row on another grid whose window ended (as after the quota's interval changed):
        // neither the count nor the app's windows move.
        q.merge(T - 90_000, 4, T + 2);
        q.merge(T + 30_000, 4, T + 2); // and one not begun yet
        assert_eq!(q.acquire(T + 3), QuotaCall::Allowed(2));
        assert!(q.acquire(T + 59_999).is_allowed());
        assert_eq!(
            q.acquire(T + 60_000),
            QuotaCall::Allowed(4),
            "a new window at T + 1 min"
        );
    }

    #[test]
    fn calls_of_a_window_that_is_over_are_not_reported() {
        let q = counter(3, Duration::from_secs(1), None);
        assert!(q.acquire(T).is_allowed());
        assert!(q.policy.book.take(T + 1000).is_empty());
        assert!(q.acquire(T + 1000).is_allowed());
        assert!(q.acquire(T + 1001).is_allowed());
        assert_eq!(
            q.policy.book.take(T + 1500),
            vec![QuotaUsage {
                app_id: "app".into(),
                app_quota_id: "q".into(),
                window_start_ms: T + 1000,
                interval_ms: 1000,
                calls: 2,
            }]
        );
        assert!(q.policy.book.take(T + 1600).is_empty(), "reported once");
    }
}
