//! The circuit breaker (a `breaker` plug-in attached to an API) on the request path: before a
//! call goes to the backend, whether its breaker is open, and if so what answers instead;
//! after the backend answered (or did not), whether that counts as unhealthy and opens it.
//!
//! A [`Breaker`] is prepared when the routes are built: the rules' conditions
//! ([`RuleMatcher`]), and one [`Arm`] for the calls meeting no rule and one per rule, each
//! with its trigger, its window, its downgrade and its [`BreakerState`]. The state is the one
//! part that changes; a rebuild takes it over by the breaker's key (a shared plug-in's, or
//! one per plug-in, API and environment) and the rule's name, so a management change neither
//! closes an open breaker nor forgets a window's count.
//!
//! The state is four atomic words: the window's start, its calls and unhealthy calls, and
//! until when the breaker is open. Checking an API's breaker is a few loads; counting a call
//! one or two additions. Windows start at the first call after the previous one ended. In
//! counter mode the breaker opens at the call that reaches the threshold; in percentage mode,
//! when the first call after a window's end finds that window over the thresholds (APIG: at
//! the end of the window). It closes once `open_breaker_time` has passed; calls an open
//! breaker turns away (downgraded) are not counted. Each node counts its own calls, as
//! APIG's gateway components do.

use crate::body::GatewayBody;
use crate::policy::CallFacts;
use crate::rule_match::RuleMatcher;
use crate::snapshot::Serving;
use crate::upstream::BackendBody;
use apigw_domain::plugin::{BreakerCondition, BreakerPlugin, BreakerTrigger, OutcomeCondition};
use apigw_domain::ApiError;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The breaker of one API (or of the APIs sharing a plug-in), prepared for the request path.
#[derive(Debug)]
pub(crate) struct Breaker {
    /// The rules' conditions; `None` without rules.
    matcher: Option<RuleMatcher>,
    /// `[0]`: the calls meeting no rule; `[1 + i]`: rule `i`'s.
    arms: Box<[Arm]>,
}

/// One breaker: what trips it, for how long, what answers while it is open, and its counts.
#[derive(Debug)]
pub(crate) struct Arm {
    trigger: Trigger,
    opening: Opening,
    window_ms: i64,
    open_ms: i64,
    /// What answers the calls while it is open.
    pub downgrade: Downgraded,
    state: Arc<BreakerState>,
    /// Names it in logs (`<key>` or `<key>/<rule>`).
    label: Box<str>,
    /// Times it opened (`apigw_gateway_breaker_openings_total`).
    openings: metrics::Counter,
}

#[derive(Debug)]
enum Trigger {
    Timeout,
    Condition(OutcomeCondition),
}

#[derive(Debug, Clone, Copy)]
enum Opening {
    /// So many unhealthy calls in one window.
    Count(u32),
    /// At least `min_calls` calls in a window, at least `percent` % of them unhealthy.
    Share { min_calls: u32, percent: u32 },
}

/// What the access log and `X-Apig-Backend-Policy` name for a call an open breaker took.
pub(crate) const POLICY: &str = "circuit breaker";

/// What the proxy phase does with a call of an API with a breaker.
#[allow(clippy::large_enum_variant)] // returned once per call, by value: boxing would allocate
pub(crate) enum Consulted<'a> {
    /// Closed: the call goes to its backend, and this breaker judges the exchange.
    Closed(&'a Arm),
    /// Open: the call goes to the downgrade's backend (and is not judged).
    Rerouted(&'a Serving),
    /// Open: the gateway answers (the downgrade's fixed answer, or 503 `APIG.0202`).
    Answered(Result<http::Response<GatewayBody>, ApiError>),
}

/// What answers a call while its breaker is open.
#[derive(Debug)]
pub(crate) enum Downgraded {
    /// 503: nothing configured.
    Unavailable,
    /// A fixed answer.
    Mock(MockReply),
    /// Another backend (or the API's own, with extra request fields).
    Serve(Serving),
}

/// A `mock` downgrade's answer, its fields made once.
#[derive(Debug)]
pub(crate) struct MockReply {
    /// The status.
    pub status: StatusCode,
    /// The fields.
    pub headers: Box<[(HeaderName, HeaderValue)]>,
    /// The body.
    pub body: Bytes,
}

impl MockReply {
    /// The answer of `mock`: its fields that make valid ones (the management API checked
    /// them; one stored under an older rule is left out, with a warning).
    pub(crate) fn new(mock: &apigw_domain::plugin::MockAnswer) -> Self {
        let headers = mock
            .headers
            .iter()
            .filter_map(|(name, value)| {
                let field = HeaderName::from_bytes(name.as_bytes())
                    .ok()
                    .zip(HeaderValue::from_str(value).ok());
                if field.is_none() {
                    tracing::warn!(field = %name, "circuit breaker answer field unusable; left out");
                }
                field
            })
            .collect();
        Self {
            status: StatusCode::from_u16(mock.status).unwrap_or(StatusCode::OK),
            headers,
            body: Bytes::from(mock.body.clone()),
        }
    }
}

/// One breaker's counts; kept across route rebuilds (see the module documentation).
#[derive(Debug, Default)]
pub struct BreakerState {
    /// Unix milliseconds the current window started at (0: none yet).
    window_start: AtomicI64,
    calls: AtomicU32,
    unhealthy: AtomicU32,
    /// Unix milliseconds until which the breaker is open (0: closed).
    open_until: AtomicI64,
}

/// How a backend exchange ended, as breakers judge it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome {
    /// The answer's status (502 unreachable, 504 timed out).
    pub status: u16,
    /// The backend did not answer within the API's timeout.
    pub timed_out: bool,
    /// Milliseconds from sending the call to the answer (or to giving up).
    pub elapsed_ms: u64,
}

/// A breaker of the plug-in as the routes build it: its downgrade prepared, its state.
pub(crate) struct ArmParts {
    /// What answers while open.
    pub downgrade: Downgraded,
    /// Its counts.
    pub state: Arc<BreakerState>,
    /// Its name in logs and metrics.
    pub label: String,
}

impl Breaker {
    /// The breaker of `plugin`: `parts(0, None)` gives the parts of the calls meeting no
    /// rule, `parts(1 + i, Some(name))` those of rule `i`. `None` when a rule's header name
    /// or pattern does not compile (the management API checked both, so only content stored
    /// under an older rule can).
    pub(crate) fn new(
        plugin: &BreakerPlugin,
        mut parts: impl FnMut(usize, Option<&str>) -> ArmParts,
    ) -> Option<Box<Self>> {
        let matcher = if plugin.rules.is_empty() {
            None
        } else {
            Some(RuleMatcher::new(
                &plugin.parameters,
                plugin.rules.iter().map(|r| &r.condition),
            )?)
        };
        let mut arms = Vec::with_capacity(1 + plugin.rules.len());
        arms.push(Arm::new(&plugin.condition, parts(0, None)));
        for (i, rule) in plugin.rules.iter().enumerate() {
            let condition = rule.breaker.as_ref().unwrap_or(&plugin.condition);
            arms.push(Arm::new(condition, parts(1 + i, Some(&rule.name))));
        }
        Some(Box::new(Self {
            matcher,
            arms: arms.into(),
        }))
    }

    /// The breaker `call` counts in: its first matching rule's, else the default one.
    pub(crate) fn arm(&self, call: &CallFacts<'_, '_>) -> &Arm {
        let index = match &self.matcher {
            Some(matcher) => matcher.matching(call).map_or(0, |i| i + 1),
            None => 0,
        };
        &self.arms[index.min(self.arms.len() - 1)]
    }

    /// What the proxy phase does with `call` at `now` (Unix milliseconds): a closed breaker
    /// lets it through and judges the exchange; an open one sends it elsewhere or answers it.
    /// Out of line: only APIs with a breaker run it.
    #[inline(never)]
    pub(crate) fn consult(&self, call: &CallFacts<'_, '_>, now: i64) -> Consulted<'_> {
        let arm = self.arm(call);
        if !arm.is_open(now) {
            return Consulted::Closed(arm);
        }
        match &arm.downgrade {
            Downgraded::Unavailable => Consulted::Answered(Err(crate::errors::breaker_open())),
            Downgraded::Mock(reply) => Consulted::Answered(Ok(crate::proxy::breaker_answer(reply))),
            Downgraded::Serve(serving) => Consulted::Rerouted(serving),
        }
    }

    /// Every breaker's key in logs and its state (for the next build to take over).
    pub(crate) fn states(&self) -> impl Iterator<Item = (&str, &Arc<BreakerState>)> {
        self.arms.iter().map(|a| (&*a.label, &a.state))
    }
}

impl Arm {
    fn new(condition: &BreakerCondition, parts: ArmParts) -> Self {
        let opening = if condition.percentage_mode {
            Opening::Share {
                min_calls: condition.min_call_threshold.max(1),
                percent: condition.unhealthy_percentage.clamp(1, 100),
            }
        } else {
            Opening::Count(condition.unhealthy_threshold.max(1))
        };
        let as_ms = |ms: u64| i64::try_from(ms).unwrap_or(i64::MAX).max(1);
        Self {
            trigger: match &condition.trigger {
                BreakerTrigger::Timeout => Trigger::Timeout,
                BreakerTrigger::Condition(c) => Trigger::Condition(c.clone()),
            },
            opening,
            window_ms: as_ms(condition.window_ms()),
            open_ms: as_ms(condition.open_ms()),
            downgrade: parts.downgrade,
            state: parts.state,
            openings: crate::meters::breaker_openings(&parts.label),
            label: parts.label.into(),
        }
    }

    /// Whether the breaker is open at `now` (Unix milliseconds).
    pub(crate) fn is_open(&self, now: i64) -> bool {
        if now < self.state.open_until.load(Ordering::Relaxed) {
            return true;
        }
        self.roll(now);
        now < self.state.open_until.load(Ordering::Relaxed)
    }

    /// Counts a call the backend answered with `outcome` at `now`; opens the breaker when
    /// that reaches a count-mode threshold.
    pub(crate) fn record(&self, outcome: &Outcome, now: i64) {
        self.roll(now);
        let state = &*self.state;
        state.calls.fetch_add(1, Ordering::Relaxed);
        let unhealthy = match &self.trigger {
            Trigger::Timeout => outcome.timed_out,
            Trigger::Condition(c) => c.holds(outcome.status, outcome.elapsed_ms),
        };
        if !unhealthy {
            return;
        }
        let count = state.unhealthy.fetch_add(1, Ordering::Relaxed) + 1;
        if let Opening::Count(threshold) = self.opening {
            if count == threshold {
                let calls = state.calls.swap(0, Ordering::Relaxed);
                state.unhealthy.store(0, Ordering::Relaxed);
                state.window_start.store(now, Ordering::Relaxed);
                self.open(now, count, calls);
            }
        }
    }

    /// Counts the backend exchange that ended with `exchanged`, sent at `sent` (Unix
    /// milliseconds, and the instant); a call that failed on the caller's side (its body) is
    /// not the backend's doing and not counted.
    #[inline(never)] // breakers only
    pub(crate) fn judge(
        &self,
        exchanged: &Result<http::Response<BackendBody>, ApiError>,
        (wall, sent): (i64, Instant),
    ) {
        let (status, timed_out) = match exchanged {
            Ok(response) => (response.status().as_u16(), false),
            Err(e) if e.status == 504 => (504, true),
            Err(e) if e.status == 502 => (502, false),
            Err(_) => return,
        };
        let elapsed_ms = u64::try_from(sent.elapsed().as_millis()).unwrap_or(u64::MAX);
        let outcome = Outcome {
            status,
            timed_out,
            elapsed_ms,
        };
        let now = wall.saturating_add(i64::try_from(elapsed_ms).unwrap_or(i64::MAX));
        self.record(&outcome, now);
    }

    /// Starts a new window when the current one has ended; in percentage mode, opens the
    /// breaker when the ended window was over the thresholds.
    fn roll(&self, now: i64) {
        let state = &*self.state;
        let start = state.window_start.load(Ordering::Relaxed);
        if now < start.saturating_add(self.window_ms) && start <= now {
            return;
        }
        // One caller starts the new window and judges the old one.
        if state
            .window_start
            .compare_exchange(start, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let calls = state.calls.swap(0, Ordering::Relaxed);
        let unhealthy = state.unhealthy.swap(0, Ordering::Relaxed);
        if let Opening::Share { min_calls, percent } = self.opening {
            let over = u64::from(unhealthy) * 100 >= u64::from(percent) * u64::from(calls);
            if start != 0 && calls >= min_calls && over {
                self.open(now, unhealthy, calls);
            }
        }
    }

    fn open(&self, now: i64, unhealthy: u32, calls: u32) {
        self.state
            .open_until
            .store(now.saturating_add(self.open_ms), Ordering::Relaxed);
        self.openings.increment(1);
        tracing::warn!(
            breaker = &*self.label,
            unhealthy,
            calls,
            open_seconds = self.open_ms / 1000,
            "circuit breaker opened: calls are downgraded until it closes"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apigw_domain::plugin::{PluginContent, PluginType};
    use serde_json::json;

    fn plugin(condition: serde_json::Value) -> BreakerPlugin {
        let content = json!({"breaker_condition": condition});
        match PluginContent::parse(PluginType::Breaker, &content.to_string()).unwrap() {
            PluginContent::Breaker(p) => p,
            other => panic!("{other:?}"),
        }
    }

    fn breaker(plugin: &BreakerPlugin, state: &Arc<BreakerState>) -> Box<Breaker> {
        Breaker::new(plugin, |_, _| ArmParts {
            downgrade: Downgraded::Unavailable,
            state: Arc::clone(state),
            label: "test".into(),
        })
        .unwrap()
    }

    const OK: Outcome = Outcome {
        status: 200,
        timed_out: false,
        elapsed_ms: 5,
    };
    const TIMEOUT: Outcome = Outcome {
        status: 504,
        timed_out: true,
        elapsed_ms: 1000,
    };

    #[test]
    fn counter_mode_opens_at_the_threshold_and_closes_after_the_open_time() {
        let p = plugin(json!({"breaker_type": "timeout", "unhealthy_threshold": 2,
            "time_window": 10, "open_breaker_time": 5}));
        let state = Arc::default();
        let b = breaker(&p, &state);
        let arm = &b.arms[0];
        let t = 1_000_000;
        assert!(!arm.is_open(t));
        arm.record(&TIMEOUT, t);
        arm.record(&OK, t + 1);
        assert!(!arm.is_open(t + 2));
        arm.record(&TIMEOUT, t + 3);
        assert!(arm.is_open(t + 4));
        assert!(arm.is_open(t + 3 + 4_999));
        assert!(!arm.is_open(t + 3 + 5_000));
        // A new window: one timeout does not open it again.
        arm.record(&TIMEOUT, t + 5_100);
        assert!(!arm.is_open(t + 5_101));
        // Timeouts in different windows do not add up.
        arm.record(&TIMEOUT, t + 5_100 + 10_000);
        assert!(!arm.is_open(t + 5_100 + 10_001));
        // A rebuilt breaker with the same state is still where it was.
        arm.record(&TIMEOUT, t + 5_100 + 10_002);
        let again = breaker(&p, &state);
        assert!(again.arms[0].is_open(t + 5_100 + 10_003));
    }

    #[test]
    fn percentage_mode_judges_a_window_when_it_ends() {
        let p = plugin(
            json!({"breaker_type": "condition", "breaker_mode": "percentage",
            "unhealthy_condition": "[\"$context.statusCode\",\">=\",500]",
            "min_call_threshold": 4, "unhealthy_percentage": 50,
            "time_window": 1, "open_breaker_time": 2}),
        );
        let b = breaker(&p, &Arc::default());
        let arm = &b.arms[0];
        let t = 5_000_000;
        let failed = Outcome { status: 500, ..OK };
        // Three calls, all failing: too few calls.
        for i in 0..3 {
            arm.record(&failed, t + i);
        }
        assert!(!arm.is_open(t + 1_000));
        // Four calls, two failing: 50 %, judged at the window's end.
        arm.record(&failed, t + 1_001);
        arm.record(&failed, t + 1_002);
        arm.record(&OK, t + 1_003);
        arm.record(&OK, t + 1_004);
        assert!(!arm.is_open(t + 1_500));
        assert!(arm.is_open(t + 2_001));
        assert!(arm.is_open(t + 4_000));
        assert!(!arm.is_open(t + 4_001));
    }

    #[test]
    fn a_call_counts_in_its_rule_s_breaker() {
        let content = json!({
            "breaker_condition": {"breaker_type": "timeout", "unhealthy_threshold": 1,
                "time_window": 10, "open_breaker_time": 10},
            "downgrade_parameters": [{"type": "method", "name": "m", "value": "method"}],
            "downgrade_rules": [{"rule_name": "writes", "match_regex": "[\"m\",\"~=\",\"GET\"]",
                "breaker_condition": {"breaker_type": "condition",
                    "unhealthy_condition": "[\"$context.backendResponseTime\",\">\",100]",
                    "unhealthy_threshold": 2, "time_window": 10, "open_breaker_time": 10}}]
        });
        let PluginContent::Breaker(p) =
            PluginContent::parse(PluginType::Breaker, &content.to_string()).unwrap()
        else {
            panic!()
        };
        let mut names = Vec::new();
        let b = Breaker::new(&p, |_, rule| {
            names.push(rule.map(str::to_owned));
            ArmParts {
                downgrade: Downgraded::Unavailable,
                state: Arc::default(),
                label: "test".into(),
            }
        })
        .unwrap();
        assert_eq!(names, [None, Some("writes".to_owned())]);
        let uri: http::Uri = "/x".parse().unwrap();
        let route = crate::routes::RouteMatch::empty(uri.path());
        let headers = http::HeaderMap::new();
        let (post, get) = (http::Method::POST, http::Method::GET);
        let call = |method| CallFacts {
            client: "192.0.2.1".parse().unwrap(),
            method,
            uri: &uri,
            route: &route,
            headers: &headers,
            host: "h",
        };
        let arm = b.arm(&call(&post));
        assert!(std::ptr::eq(arm, &b.arms[1]));
        let t = 9_000_000;
        let slow = Outcome {
            elapsed_ms: 101,
            ..OK
        };
        arm.record(&slow, t);
        assert!(!arm.is_open(t));
        arm.record(&slow, t + 1);
        assert!(arm.is_open(t + 2));
        // GET meets no rule: the default breaker, still closed.
        assert!(!b.arm(&call(&get)).is_open(t + 2));
    }
}
