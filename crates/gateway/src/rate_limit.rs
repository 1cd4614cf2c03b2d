//! Request throttling (APIG request throttling policies): at most so many calls of an API per
//! window in all, by one user, by one app and from one client address; past any of them,
//! 429 `APIG.0308`.
//!
//! A [`RateLimiter`] is a policy in force on one published API: its terms, immutable like the
//! rest of the snapshot, and the [`Counters`] of its binding (one published API, or all the
//! APIs of a shared policy), the one part that changes. A snapshot that replaces routes takes
//! over the counters of every binding that stays (same policy, same binding) and pairs them
//! with the policy's terms as just read, so a change never hands callers fresh windows.
//!
//! Windows are fixed, on the wall clock from the Unix epoch (a 1-minute window starts on the
//! minute). Counters are one atomic word each (window number and calls), so a call is a few
//! compare-and-swaps; the per-app and per-address counters live in concurrent maps created on
//! a caller's first call of a window and swept of past windows' entries as they grow. Each node
//! counts on its own and enforces its [`Share`] of every limit: the whole limit, or, when the
//! nodes of a cluster divide the limits among them (`--throttle-limits split`), the limit
//! divided by the number of nodes.
//!
//! Counters of windows of a minute or more can be read out ([`ThrottleCount`]) and added to, so
//! that the binary can checkpoint them: a restart carries their calls on.
//!
//! The instance's default limit (`ratelimit`, calls per second of each API) counts in
//! [`AllEnvs`], one counter per API that its entries of every environment share.
//!
//! A `rate_limit` plug-in (request throttling 2.0) attached to an API is a policy of its own
//! here, in place of the API's policy: its API limit may be absent, and its parameter-based
//! rules ([`crate::rate_rules`]) count the calls they take in counters of their own, in place
//! of the API counter.

use crate::config::ThrottlePolicy;
use crate::policy::CallFacts;
use crate::rate_rules::ParameterRules;
use dashmap::DashMap;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Entries past which a counter map drops the entries of past windows (at most once a window).
const SWEEP_AT: usize = 4096;

/// Most callers (apps, or addresses) one limiter counts in one window. Past this a new caller
/// is not counted on its own (the API and user limits still apply): memory stays bounded
/// whatever number of addresses a flood comes from.
const MAX_CALLERS: usize = 100_000;

/// The terms of a policy in force, as the request path reads them.
#[derive(Debug)]
struct Terms {
    window_ms: i64,
    /// `None`: no API limit (a `rate_limit` plug-in's -1).
    api: Option<u32>,
    user: Option<u32>,
    app: Option<u32>,
    app_exceptions: HashMap<Box<str>, u32>,
    ip: Option<u32>,
}

impl Terms {
    fn of(policy: &ThrottlePolicy) -> Self {
        Self {
            window_ms: i64::try_from(policy.window.as_millis())
                .unwrap_or(i64::MAX)
                .max(1),
            api: policy.api_limit,
            user: policy.user_limit,
            app: policy.app_limit,
            app_exceptions: policy
                .app_exceptions
                .iter()
                .map(|(app, limit)| (app.as_str().into(), *limit))
                .collect(),
            ip: policy.ip_limit,
        }
    }

    /// `X-Apig-RateLimit-*` form: `remain:9,limit:10,time:10 second`.
    fn describe(&self, remain: u32, limit: u32) -> String {
        crate::quota::rate_limit_field(remain, limit, self.window_ms)
    }
}

/// The part of each limit this node enforces: the whole limit, or its share when several
/// gateway nodes divide every limit among them. Exists because each node counts on its own:
/// without a share, a policy behind N nodes would admit up to N times its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Share {
    nodes: u32,
}

impl Share {
    /// The whole limit (one node, or nodes that do not divide limits).
    #[cfg(test)]
    pub const WHOLE: Share = Share { nodes: 1 };

    /// An equal share among `nodes` nodes (0 counts as 1).
    pub fn among(nodes: u32) -> Self {
        Self {
            nodes: nodes.max(1),
        }
    }

    /// This node's part of `limit`: rounded up, so a cluster whose load is evenly balanced
    /// admits at least the limit (and at most `nodes - 1` calls more), and never 0.
    #[inline]
    pub fn of(self, limit: u32) -> u32 {
        if self.nodes == 1 {
            limit
        } else {
            limit.div_ceil(self.nodes)
        }
    }
}

/// One fixed-window counter: the window number in the high half, the calls in it in the low.
#[derive(Debug, Default)]
pub(crate) struct WindowCounter(AtomicU64);

impl WindowCounter {
    /// Counts a call in `window` if fewer than `limit` were; the calls left after it.
    pub(crate) fn take(&self, window: u32, limit: u32) -> Option<u32> {
        let mut current = self.0.load(Ordering::Acquire);
        loop {
            let (w, count) = ((current >> 32) as u32, current as u32);
            let count = if w == window { count } else { 0 };
            if count >= limit {
                return None;
            }
            let next = (u64::from(window) << 32) | u64::from(count + 1);
            match self
                .0
                .compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Some(limit - count - 1),
                Err(actual) => current = actual,
            }
        }
    }

    /// Takes back a call counted in `window` (a later limit refused it).
    pub(crate) fn give_back(&self, window: u32) {
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                let (w, count) = ((current >> 32) as u32, current as u32);
                (w == window && count > 0).then_some(current - 1)
            });
    }

    fn window(&self) -> u32 {
        (self.0.load(Ordering::Acquire) >> 32) as u32
    }

    /// The calls counted in `window` (0 if the counter holds another).
    fn calls_in(&self, window: u32) -> u32 {
        let current = self.0.load(Ordering::Acquire);
        if (current >> 32) as u32 == window {
            current as u32
        } else {
            0
        }
    }

    /// Adds `calls` counted elsewhere (a checkpoint) to `window`.
    fn add(&self, window: u32, calls: u32) {
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                let (w, count) = ((current >> 32) as u32, current as u32);
                let count = if w == window { count } else { 0 };
                Some((u64::from(window) << 32) | u64::from(count.saturating_add(calls)))
            });
    }
}

/// The calls of one API in all its environments against the instance's default limit
/// (`ratelimit`, calls per second), shared by the API's entries of every environment.
#[derive(Debug, Default)]
pub(crate) struct AllEnvs(WindowCounter);

impl AllEnvs {
    /// Counts a call at `now` (Unix milliseconds) against `per_second`: the calls left in this
    /// second, or `None` when refused.
    pub fn take(&self, now: i64, per_second: u32) -> Option<u32> {
        self.0.take(second(now), per_second)
    }

    /// Takes back the call counted at `now` (the API's policy refused it).
    pub fn give_back(&self, now: i64) {
        self.0.give_back(second(now));
    }

    /// `X-Apig-RateLimit-api-allenv` of a call that left `remain` of `per_second`.
    pub fn describe(remain: u32, per_second: u32) -> String {
        crate::quota::rate_limit_field(remain, per_second, 1000)
    }
}

/// The number of the second `now` (Unix milliseconds) falls in.
fn second(now: i64) -> u32 {
    now.div_euclid(1000) as u32
}

/// Counters by caller (app id or client address), hashed with `S`.
#[derive(Debug)]
struct CounterMap<K: Eq + Hash, S: BuildHasher + Clone> {
    counters: DashMap<K, WindowCounter, S>,
    /// The last window in which the map was swept.
    swept: AtomicU32,
}

impl<K: Eq + Hash, S: BuildHasher + Clone + Default> Default for CounterMap<K, S> {
    fn default() -> Self {
        Self {
            counters: DashMap::with_hasher(S::default()),
            swept: AtomicU32::new(u32::MAX),
        }
    }
}

impl<K: Eq + Hash, S: BuildHasher + Clone> CounterMap<K, S> {
    /// Counts a call of `key` in `window` against `limit`: the calls left, or `None` when
    /// refused. A caller past [`MAX_CALLERS`] is let through uncounted (`Some(limit)`).
    fn take<Q>(&self, key: &Q, window: u32, limit: u32) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized + ToOwned,
        Q::Owned: Into<K>,
    {
        if let Some(counter) = self.counters.get(key) {
            return counter.take(window, limit);
        }
        if self.counters.len() >= SWEEP_AT {
            self.sweep(window);
            if self.counters.len() >= MAX_CALLERS {
                return Some(limit);
            }
        }
        self.counters
            .entry(key.to_owned().into())
            .or_default()
            .take(window, limit)
    }

    /// Takes back `key`'s call of `window`.
    fn give_back<Q>(&self, key: &Q, window: u32)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(counter) = self.counters.get(key) {
            counter.give_back(window);
        }
    }

    /// Drops the counters of past windows, once per window.
    fn sweep(&self, window: u32) {
        let last = self.swept.swap(window, Ordering::AcqRel);
        if last != window {
            self.counters.retain(|_, c| c.window() == window);
        }
    }
}

/// Windows at least this long have their counts checkpointed to the store (see
/// [`ThrottleCount`]): a restart in the middle of an hour or a day keeps its calls; shorter
/// windows are over before a restarted node serves.
pub const CHECKPOINTED_WINDOW_MS: i64 = 60_000;

/// Whose calls a [`ThrottleCount`] counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleCaller {
    /// Every call (the API limit).
    Api,
    /// The calls of authenticated apps (the user limit).
    User,
    /// One app's calls.
    App(String),
    /// The calls from one client address.
    Address(IpAddr),
}

/// The calls one node counted in the current window of one throttling counter: what a
/// checkpoint keeps so that a restart (or another node, after a crash) carries them on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleCount {
    /// The binding the counter belongs to (a shared policy's id, or policy/API/environment).
    pub binding: String,
    /// Whose calls.
    pub caller: ThrottleCaller,
    /// Start of the window (Unix milliseconds).
    pub window_start_ms: i64,
    /// The window's length in milliseconds.
    pub window_ms: i64,
    /// Calls counted in it.
    pub calls: u32,
}

/// What one call may still make of each limit after it (for `X-Apig-Mode: debug`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Remaining {
    /// The API limit, or the limit of the parameter-based rule the call counted under.
    api: Option<(u32, u32)>,
    /// That rule, if one.
    rule: Option<usize>,
    user: Option<(u32, u32)>,
    app: Option<(u32, u32)>,
    ip: Option<(u32, u32)>,
}

/// The counters of one binding of a request throttling policy: one published API's, or all
/// the APIs' of a shared policy. App ids come from the snapshot's index and hash with its
/// fast hasher; client addresses, which callers choose, with SipHash under a random key.
#[derive(Debug)]
pub(crate) struct Counters {
    /// Which binding these counters belong to (see [`Counters::key_of`]).
    key: Box<str>,
    api: WindowCounter,
    user: WindowCounter,
    apps: CounterMap<Box<str>, crate::IndexHasher>,
    ips: CounterMap<IpAddr, std::collections::hash_map::RandomState>,
    /// The counters of a `rate_limit` plug-in's parameter-based rules, by rule name: handed
    /// out when the routes are built (never on the request path), so that a rule keeps its
    /// calls across changes.
    rules: Mutex<HashMap<Box<str>, Arc<WindowCounter>>>,
}

impl Counters {
    /// The counters a published API (`api_id` in `env_id`) bound to `policy` counts against:
    /// the policy's own when it is shared, else the API's in that environment.
    pub fn key_of(policy: &ThrottlePolicy, api_id: &str, env_id: &str) -> String {
        if policy.shared {
            policy.throttle_id.clone()
        } else {
            format!("{}/{api_id}/{env_id}", policy.throttle_id)
        }
    }

    /// Counters with no calls yet.
    pub fn new(key: &str) -> Arc<Self> {
        Arc::new(Self {
            key: key.into(),
            api: WindowCounter::default(),
            user: WindowCounter::default(),
            apps: CounterMap::default(),
            ips: CounterMap::default(),
            rules: Mutex::default(),
        })
    }

    /// The counter of the parameter-based rule `name`.
    fn rule_counter(&self, name: &str) -> Arc<WindowCounter> {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(rules.entry(name.into()).or_default())
    }

    /// Which binding the counters belong to.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The calls counted in `window` (of `window_ms`), one [`ThrottleCount`] per counter
    /// with any.
    fn counts(&self, window: u32, window_ms: i64, out: &mut Vec<ThrottleCount>) {
        let mut push = |caller, calls| {
            if calls > 0 {
                out.push(ThrottleCount {
                    binding: self.key.to_string(),
                    caller,
                    window_start_ms: i64::from(window) * window_ms,
                    window_ms,
                    calls,
                });
            }
        };
        push(ThrottleCaller::Api, self.api.calls_in(window));
        push(ThrottleCaller::User, self.user.calls_in(window));
        for entry in self.apps.counters.iter() {
            push(
                ThrottleCaller::App(entry.key().to_string()),
                entry.value().calls_in(window),
            );
        }
        for entry in self.ips.counters.iter() {
            push(
                ThrottleCaller::Address(*entry.key()),
                entry.value().calls_in(window),
            );
        }
    }

    /// Adds `count`'s calls to its counter, if it is of `window`.
    fn restore(&self, count: &ThrottleCount, window: u32) {
        let calls = count.calls;
        match &count.caller {
            ThrottleCaller::Api => self.api.add(window, calls),
            ThrottleCaller::User => self.user.add(window, calls),
            // The maps stay bounded, whatever several nodes' checkpoints add up to.
            ThrottleCaller::App(app) if self.apps.counters.len() < MAX_CALLERS => {
                let key: Box<str> = app.as_str().into();
                let counter = self.apps.counters.entry(key).or_default();
                counter.add(window, calls);
            }
            ThrottleCaller::Address(ip) if self.ips.counters.len() < MAX_CALLERS => {
                self.ips.counters.entry(*ip).or_default().add(window, calls);
            }
            ThrottleCaller::App(_) | ThrottleCaller::Address(_) => {}
        }
    }
}

/// A request throttling policy in force on one published API: the policy's terms as read
/// when the routes were built, and its binding's counters.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    terms: Terms,
    counters: Arc<Counters>,
    /// A `rate_limit` plug-in's parameter-based rules, if it has any.
    rules: Option<Box<ParameterRules>>,
}

impl RateLimiter {
    /// `policy` counting in `counters` (new ones, or those of the previous routes: the calls
    /// counted in the current windows stay).
    pub fn new(policy: &ThrottlePolicy, counters: Arc<Counters>) -> Self {
        let rules = policy
            .parameter_rules
            .as_deref()
            .and_then(|plugin| ParameterRules::new(plugin, |name| counters.rule_counter(name)));
        Self {
            terms: Terms::of(policy),
            counters,
            rules,
        }
    }

    /// The parameter-based rule `call` counts under, if the policy has rules and one takes
    /// it.
    pub fn rule_for(&self, call: &CallFacts<'_, '_>) -> Option<usize> {
        self.rules.as_ref()?.matching(call)
    }

    /// The binding's counters.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// The calls of the current window at `now` (Unix milliseconds), when the window is long
    /// enough to checkpoint ([`CHECKPOINTED_WINDOW_MS`]).
    pub fn checkpoint(&self, now: i64, out: &mut Vec<ThrottleCount>) {
        let window_ms = self.terms.window_ms;
        if window_ms >= CHECKPOINTED_WINDOW_MS {
            let window = now.div_euclid(window_ms) as u32;
            self.counters.counts(window, window_ms, out);
        }
    }

    /// Adds a checkpointed count of this binding to the counters, if it is of the current
    /// window at `now` under the policy's present terms (a count of another window length or
    /// of a window that is over is dropped). Whether it was taken.
    pub fn restore(&self, count: &ThrottleCount, now: i64) -> bool {
        let window_ms = self.terms.window_ms;
        let window = now.div_euclid(window_ms);
        let current = count.window_ms == window_ms && count.window_start_ms == window * window_ms;
        if current {
            self.counters.restore(count, window as u32);
        }
        current
    }

    /// Counts one call at `now` (Unix milliseconds) by `app` (`None`: an unauthenticated
    /// call, which no user or app limit concerns) from `client` against this node's `share` of
    /// each limit: what is left of each, or `Err` with what was left when one refused it (a
    /// refused call counts nowhere). A call that `rule` (see [`Self::rule_for`]) takes counts
    /// against that rule's limit and window in place of the API limit.
    pub fn acquire(
        &self,
        now: i64,
        share: Share,
        (app, client): (Option<&str>, IpAddr),
        rule: Option<usize>,
    ) -> Result<Remaining, Remaining> {
        let (terms, counters) = (&self.terms, &*self.counters);
        let window = now.div_euclid(terms.window_ms) as u32;
        let rule_in_force = rule.zip(self.rules.as_deref());
        // The API's own count: the rule's counter, or the API limit's (if it has one).
        let api_count = match rule_in_force {
            Some((index, rules)) => {
                let rule = rules.rule(index);
                let rule_window = now.div_euclid(rule.window_ms) as u32;
                Some((&*rule.counter, rule_window, share.of(rule.limit)))
            }
            None => terms.api.map(|l| (&counters.api, window, share.of(l))),
        };
        let give_back_api = || {
            if let Some((counter, window, _)) = api_count {
                counter.give_back(window);
            }
        };
        let mut left = Remaining {
            rule: rule_in_force.map(|(index, _)| index),
            ..Remaining::default()
        };
        if let Some((counter, window, limit)) = api_count {
            let Some(remain) = counter.take(window, limit) else {
                left.api = Some((0, limit));
                return Err(left);
            };
            left.api = Some((remain, limit));
        }
        let user = app.and(terms.user).map(|l| share.of(l));
        if let Some(limit) = user {
            let Some(remain) = counters.user.take(window, limit) else {
                give_back_api();
                left.user = Some((0, limit));
                return Err(left);
            };
            left.user = Some((remain, limit));
        }
        let app_limit = app.and_then(|a| {
            let limit = terms.app_exceptions.get(a).copied().or(terms.app);
            limit.map(|l| (a, share.of(l)))
        });
        if let Some((app, limit)) = app_limit {
            let Some(remain) = counters.apps.take(app, window, limit) else {
                give_back_api();
                if user.is_some() {
                    counters.user.give_back(window);
                }
                left.app = Some((0, limit));
                return Err(left);
            };
            left.app = Some((remain, limit));
        }
        if let Some(limit) = terms.ip.map(|l| share.of(l)) {
            let Some(remain) = counters.ips.take(&client, window, limit) else {
                give_back_api();
                if user.is_some() {
                    counters.user.give_back(window);
                }
                if let Some((app, _)) = app_limit {
                    counters.apps.give_back(app, window);
                }
                left.ip = Some((0, limit));
                return Err(left);
            };
            left.ip = Some((remain, limit));
        }
        Ok(left)
    }

    /// The `X-Apig-RateLimit-*` fields of a call that left `left`: (name, value) per limit.
    pub fn describe(&self, left: &Remaining) -> Vec<(&'static str, String)> {
        let terms = &self.terms;
        let mut fields = Vec::with_capacity(4);
        if let Some((remain, limit)) = left.api {
            let rule = left.rule.zip(self.rules.as_deref());
            let field = match rule {
                Some((index, rules)) => {
                    let window_ms = rules.rule(index).window_ms;
                    crate::quota::rate_limit_field(remain, limit, window_ms)
                }
                None => terms.describe(remain, limit),
            };
            fields.push(("x-apig-ratelimit-api", field));
        }
        let named = [
            ("x-apig-ratelimit-user", left.user),
            ("x-apig-ratelimit-app", left.app),
            ("x-apig-ratelimit-ip", left.ip),
        ];
        for (name, limit) in named {
            if let Some((remain, limit)) = limit {
                fields.push((name, terms.describe(remain, limit)));
            }
        }
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn policy(api: u32, user: Option<u32>, app: Option<u32>, ip: Option<u32>) -> ThrottlePolicy {
        ThrottlePolicy {
            throttle_id: "t".into(),
            shared: false,
            window: Duration::from_secs(1),
            api_limit: Some(api),
            user_limit: user,
            app_limit: app,
            app_exceptions: vec![("vip".into(), 5)],
            ip_limit: ip,
            parameter_rules: None,
        }
    }

    const T: i64 = 1_780_000_000_000;

    fn limiter(policy: &ThrottlePolicy) -> RateLimiter {
        RateLimiter::new(policy, Counters::new("k"))
    }
    fn ip(n: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, n])
    }

    #[test]
    fn the_api_limit_counts_every_call_per_fixed_window() {
        let l = limiter(&policy(2, None, None, None));
        assert_eq!(
            l.acquire(T, Share::WHOLE, (None, ip(1)), None).unwrap().api,
            Some((1, 2))
        );
        assert_eq!(
            l.acquire(T + 999, Share::WHOLE, (Some("a"), ip(2)), None)
                .unwrap()
                .api,
            Some((0, 2))
        );
        assert!(l
            .acquire(T + 999, Share::WHOLE, (None, ip(3)), None)
            .is_err());
        // Windows start on the epoch's second.
        assert!(l
            .acquire(T + 1000, Share::WHOLE, (None, ip(1)), None)
            .is_ok());
    }

    #[test]
    fn app_user_and_address_limits_apply_to_their_callers_and_refusals_count_nowhere() {
        let l = limiter(&policy(100, Some(4), Some(2), Some(3)));
        assert!(l.acquire(T, Share::WHOLE, (Some("a"), ip(1)), None).is_ok());
        assert!(l.acquire(T, Share::WHOLE, (Some("a"), ip(1)), None).is_ok());
        // App a is at its limit; the refusal takes back the API and user calls.
        let refused = l
            .acquire(T, Share::WHOLE, (Some("a"), ip(1)), None)
            .unwrap_err();
        assert_eq!(refused.app, Some((0, 2)));
        // Address 1 has made two calls; b's call from it is the third and last.
        let ok = l
            .acquire(T, Share::WHOLE, (Some("b"), ip(1)), None)
            .unwrap();
        assert_eq!((ok.user, ok.ip), (Some((1, 4)), Some((0, 3))));
        assert!(l
            .acquire(T, Share::WHOLE, (None, ip(1)), None)
            .unwrap_err()
            .ip
            .is_some());
        // The user (every app's tenant) has one call left: unauthenticated calls do not count.
        assert!(l.acquire(T, Share::WHOLE, (Some("c"), ip(2)), None).is_ok());
        assert_eq!(
            l.acquire(T, Share::WHOLE, (Some("d"), ip(3)), None)
                .unwrap_err()
                .user,
            Some((0, 4))
        );
        assert!(l.acquire(T, Share::WHOLE, (None, ip(4)), None).is_ok());
        assert_eq!(
            l.acquire(T, Share::WHOLE, (None, ip(4)), None).unwrap().api,
            Some((100 - 6, 100))
        );
    }

    #[test]
    fn an_app_exception_replaces_the_app_limit_and_new_terms_keep_the_counts() {
        let l = limiter(&policy(100, None, Some(1), None));
        for _ in 0..5 {
            assert!(l
                .acquire(T, Share::WHOLE, (Some("vip"), ip(1)), None)
                .is_ok());
        }
        assert!(l
            .acquire(T, Share::WHOLE, (Some("vip"), ip(1)), None)
            .is_err());
        assert!(l.acquire(T, Share::WHOLE, (Some("x"), ip(1)), None).is_ok());
        assert!(l
            .acquire(T, Share::WHOLE, (Some("x"), ip(1)), None)
            .is_err());
        let l = RateLimiter::new(&policy(6, None, Some(3), None), Arc::clone(l.counters()));
        // 6 API calls counted so far: the new API limit is reached.
        assert!(l
            .acquire(T, Share::WHOLE, (Some("y"), ip(1)), None)
            .is_err());
        assert!(l
            .acquire(T + 1000, Share::WHOLE, (Some("x"), ip(1)), None)
            .is_ok());
    }

    #[test]
    fn counter_maps_forget_past_windows_and_stay_bounded() {
        let m: CounterMap<IpAddr, std::collections::hash_map::RandomState> = CounterMap::default();
        for n in 0..SWEEP_AT as u32 + 10 {
            let a = IpAddr::from(n.to_be_bytes());
            assert_eq!(m.take(&a, 1, 1), Some(0));
        }
        assert!(m.counters.len() > SWEEP_AT);
        // A new caller in a new window sweeps the old window's counters.
        assert_eq!(m.take(&ip(1), 2, 1), Some(0));
        assert_eq!(m.counters.len(), 1);
    }

    #[test]
    fn a_share_divides_every_limit_rounding_up() {
        assert_eq!(Share::among(0), Share::WHOLE);
        assert_eq!(Share::among(1).of(7), 7);
        assert_eq!(Share::among(2).of(7), 4);
        assert_eq!(Share::among(3).of(1), 1, "never 0");
        assert_eq!(Share::among(4).of(u32::MAX), u32::MAX / 4 + 1);
        let l = limiter(&policy(4, Some(4), Some(6), Some(100)));
        let half = Share::among(2);
        let first = l.acquire(T, half, (Some("a"), ip(1)), None).unwrap();
        assert_eq!(first.api, Some((1, 2)));
        assert_eq!(first.user, Some((1, 2)));
        assert_eq!(first.app, Some((2, 3)));
        assert_eq!(first.ip, Some((49, 50)));
        assert!(l.acquire(T, half, (Some("a"), ip(1)), None).is_ok());
        assert_eq!(
            l.acquire(T, half, (Some("a"), ip(1)), None)
                .unwrap_err()
                .api,
            Some((0, 2))
        );
        // The same counters under the whole limits: two more calls.
        assert!(l.acquire(T, Share::WHOLE, (Some("a"), ip(1)), None).is_ok());
    }

    #[test]
    fn counts_of_windows_of_a_minute_or_more_are_checkpointed_and_restored() {
        let mut minute = policy(10, Some(10), Some(5), Some(10));
        minute.window = Duration::from_secs(60);
        let l = limiter(&minute);
        assert!(l.acquire(T, Share::WHOLE, (Some("a"), ip(1)), None).is_ok());
        assert!(l.acquire(T, Share::WHOLE, (Some("a"), ip(1)), None).is_ok());
        assert!(l.acquire(T, Share::WHOLE, (None, ip(2)), None).is_ok());
        let mut counts = Vec::new();
        l.checkpoint(T + 1000, &mut counts);
        let calls = |caller: ThrottleCaller| {
            let found = counts.iter().find(|c| c.caller == caller);
            found.map(|c| (c.calls, c.binding.as_str(), c.window_ms))
        };
        assert_eq!(counts.len(), 5, "{counts:?}");
        assert_eq!(calls(ThrottleCaller::Api), Some((3, "k", 60_000)));
        assert_eq!(calls(ThrottleCaller::User).unwrap().0, 2);
        assert_eq!(calls(ThrottleCaller::App("a".into())).unwrap().0, 2);
        assert_eq!(calls(ThrottleCaller::Address(ip(1))).unwrap().0, 2);
        assert_eq!(calls(ThrottleCaller::Address(ip(2))).unwrap().0, 1);
        assert!(counts.iter().all(|c| c.window_start_ms == T - T % 60_000));

        // A restarted node carries on with them, in the same window only.
        let restarted = limiter(&minute);
        assert!(counts.iter().all(|c| restarted.restore(c, T + 2000)));
        let left = restarted
            .acquire(T + 2000, Share::WHOLE, (Some("a"), ip(1)), None)
            .unwrap();
        assert_eq!(
            (left.api.unwrap().0, left.app.unwrap().0, left.ip.unwrap().0),
            (6, 2, 7)
        );
        assert!(!limiter(&minute).restore(&counts[0], T + 60_000));
        let mut hour = minute.clone();
        hour.window = Duration::from_secs(3600);
        assert!(
            !limiter(&hour).restore(&counts[0], T),
            "another window length"
        );

        // Windows shorter than a minute are not checkpointed.
        let second = limiter(&policy(10, None, None, None));
        assert!(second.acquire(T, Share::WHOLE, (None, ip(1)), None).is_ok());
        let mut none = Vec::new();
        second.checkpoint(T, &mut none);
        assert!(none.is_empty());
    }

    #[test]
    fn a_call_a_parameter_rule_takes_counts_against_the_rule_in_place_of_the_api_limit() {
        let content = serde_json::json!({
            "api_limit": -1, "ip_limit": 3, "default_interval": 1, "default_time_unit": "minute",
            "parameters": [{"type": "method", "name": "method", "value": "method"}],
            "rules": [{"rule_name": "writes", "match_regex": "[\"method\",\"==\",\"POST\"]",
                       "interval": 10, "time_unit": "second", "limit": 1}]
        });
        let plugin = match apigw_domain::plugin::PluginContent::parse(
            apigw_domain::plugin::PluginType::RateLimit,
            &content.to_string(),
        )
        .unwrap()
        {
            apigw_domain::plugin::PluginContent::RateLimit(p) => p,
            other => panic!("{other:?}"),
        };
        let mut p = policy(1, None, None, Some(3));
        p.api_limit = None;
        p.window = Duration::from_secs(60);
        p.parameter_rules = Some(Arc::new(plugin));
        let counters = Counters::new("k");
        let l = RateLimiter::new(&p, Arc::clone(&counters));
        // No API limit: a call no rule takes counts only against the address limit.
        let plain = l.acquire(T, Share::WHOLE, (None, ip(1)), None).unwrap();
        assert_eq!(plain.api, None);
        assert_eq!(
            l.describe(&plain),
            [(
                "x-apig-ratelimit-ip",
                "remain:2,limit:3,time:1 minute".to_owned()
            )]
        );
        // The rule's one call per 10 seconds.
        let first = l.acquire(T, Share::WHOLE, (None, ip(1)), Some(0)).unwrap();
        assert_eq!(first.api, Some((0, 1)));
        assert_eq!(l.describe(&first)[0].1, "remain:0,limit:1,time:10 second");
        let refused = l
            .acquire(T, Share::WHOLE, (None, ip(2)), Some(0))
            .unwrap_err();
        assert_eq!(refused.api, Some((0, 1)));
        // A call the address limit refuses gives the rule its call back (the next window of
        // the rule, the same minute of the address limit).
        assert!(l.acquire(T, Share::WHOLE, (None, ip(1)), None).is_ok());
        assert!(l
            .acquire(T + 10_000, Share::WHOLE, (None, ip(1)), Some(0))
            .is_err());
        assert!(l
            .acquire(T + 10_000, Share::WHOLE, (None, ip(2)), Some(0))
            .is_ok());
        // The routes built again hand the rule the same counter.
        let again = RateLimiter::new(&p, counters);
        assert!(again
            .acquire(T + 10_000, Share::WHOLE, (None, ip(3)), Some(0))
            .is_err());
    }

    #[test]
    fn terms_describe_their_window() {
        let mut p = policy(10, None, None, None);
        assert_eq!(
            Terms::of(&p).describe(9, 10),
            "remain:9,limit:10,time:1 second"
        );
        p.window = Duration::from_secs(120);
        assert_eq!(
            Terms::of(&p).describe(0, 10),
            "remain:0,limit:10,time:2 minute"
        );
        p.window = Duration::from_secs(86_400);
        assert_eq!(
            Terms::of(&p).describe(0, 10),
            "remain:0,limit:10,time:1 day"
        );
    }
}
