//! The parameter-based rules of a `rate_limit` plug-in on the request path: which rule, if
//! any, a call counts under. The rules are tried in order; the first whose condition the call
//! meets takes it, and the call counts against that rule's own limit and window in place of
//! the API limit (see [`crate::rate_limit`]).
//!
//! The parameters the rules test are resolved when the routes are built (a header's name
//! parsed, a pattern compiled) and each is read at most once per call, however many rules
//! test it, as backend policies read theirs (the two share [`Subject`] and [`read`]).

use crate::policy::{read, CallFacts, Subject};
use crate::rate_limit::WindowCounter;
use apigw_domain::plugin::{
    ParameterSource, RateLimitPlugin, RuleCondition, RuleTest, SystemValue,
};
use http::HeaderName;
use regex::Regex;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::sync::Arc;

/// The rules of one `rate_limit` plug-in on one published API, prepared.
#[derive(Debug)]
pub(crate) struct ParameterRules {
    /// What the rules read, one per declared parameter (conditions refer to them by index).
    subjects: Box<[Subject]>,
    /// The rules, in the order they are tried.
    rules: Box<[Rule]>,
}

/// One rule, prepared: its condition, and the limit of the calls that meet it.
#[derive(Debug)]
pub(crate) struct Rule {
    condition: Condition,
    /// Window length in milliseconds.
    pub window_ms: i64,
    /// Calls per window.
    pub limit: u32,
    /// The calls counted under it (kept across route changes by the rule's name).
    pub counter: Arc<WindowCounter>,
}

#[derive(Debug)]
enum Condition {
    Test { subject: usize, test: Test },
    All(Box<[Condition]>),
    Any(Box<[Condition]>),
}

#[derive(Debug)]
enum Test {
    Equals(Box<str>),
    NotEquals(Box<str>),
    Pattern(Regex),
    OneOf(Box<[Box<str>]>),
}

impl ParameterRules {
    /// The rules of `plugin` (`None` when it has none), each counting in the counter
    /// `counter_of` gives for its name; `None` as well when a header name or pattern does not
    /// compile (the management API checked both, so only content stored under an older rule
    /// can).
    pub(crate) fn new(
        plugin: &RateLimitPlugin,
        mut counter_of: impl FnMut(&str) -> Arc<WindowCounter>,
    ) -> Option<Box<Self>> {
        if plugin.rules.is_empty() {
            return None;
        }
        let subjects = plugin
            .parameters
            .iter()
            .map(|p| {
                Some(match &p.source {
                    ParameterSource::Header(name) => {
                        Subject::Header(HeaderName::from_bytes(name.as_bytes()).ok()?, None)
                    }
                    ParameterSource::Query(name) => Subject::Query(name.as_str().into(), None),
                    ParameterSource::Path => Subject::Path,
                    ParameterSource::Method => Subject::Method,
                    ParameterSource::System(SystemValue::SourceIp) => Subject::ClientAddress,
                    ParameterSource::System(SystemValue::ServerName) => Subject::ServerName,
                })
            })
            .collect::<Option<Box<[_]>>>()?;
        let rules = plugin
            .rules
            .iter()
            .map(|r| {
                Some(Rule {
                    condition: Condition::new(&r.condition)?,
                    window_ms: i64::try_from(r.window_ms(plugin)).ok()?.max(1),
                    limit: r.limit,
                    counter: counter_of(&r.name),
                })
            })
            .collect::<Option<Box<[_]>>>()?;
        Some(Box::new(Self { subjects, rules }))
    }

    /// The index of the first rule `call` meets, if any. Out of line: only APIs with rules
    /// run it.
    #[inline(never)]
    pub(crate) fn matching(&self, call: &CallFacts<'_, '_>) -> Option<usize> {
        let mut values: SmallVec<[Option<Option<Cow<'_, str>>>; 4]> =
            SmallVec::from_elem(None, self.subjects.len());
        self.rules
            .iter()
            .position(|rule| rule.condition.holds(call, &self.subjects, &mut values))
    }

    /// Rule `index`.
    pub(crate) fn rule(&self, index: usize) -> &Rule {
        &self.rules[index]
    }
}

impl Condition {
    fn new(condition: &RuleCondition) -> Option<Self> {
        let all = |parts: &[RuleCondition]| -> Option<Box<[Condition]>> {
            parts.iter().map(Self::new).collect()
        };
        Some(match condition {
            RuleCondition::All(parts) => Self::All(all(parts)?),
            RuleCondition::Any(parts) => Self::Any(all(parts)?),
            RuleCondition::Test { parameter, test } => Self::Test {
                subject: *parameter,
                test: match test {
                    RuleTest::Equals(v) => Test::Equals(v.as_str().into()),
                    RuleTest::NotEquals(v) => Test::NotEquals(v.as_str().into()),
                    RuleTest::Pattern(p) => {
                        Test::Pattern(apigw_domain::api::policy::compile_pattern(p).ok()?)
                    }
                    RuleTest::OneOf(vs) => {
                        Test::OneOf(vs.iter().map(|v| v.as_str().into()).collect())
                    }
                },
            },
        })
    }

    /// Whether `call` meets the condition; `values` keeps what was read of each subject.
    fn holds<'c>(
        &self,
        call: &'c CallFacts<'_, '_>,
        subjects: &'c [Subject],
        values: &mut SmallVec<[Option<Option<Cow<'c, str>>>; 4]>,
    ) -> bool {
        match self {
            Self::All(parts) => parts.iter().all(|c| c.holds(call, subjects, values)),
            Self::Any(parts) => parts.iter().any(|c| c.holds(call, subjects, values)),
            Self::Test { subject, test } => {
                let Some(slot) = values.get_mut(*subject) else {
                    return false;
                };
                let value = slot.get_or_insert_with(|| read(call, &subjects[*subject]));
                // A call without the parameter is equal to nothing, so not equal to anything.
                match (test, value.as_deref()) {
                    (Test::NotEquals(v), value) => value != Some(&**v),
                    (_, None) => false,
                    (Test::Equals(v), Some(value)) => **v == *value,
                    (Test::Pattern(re), Some(value)) => re.is_match(value),
                    (Test::OneOf(vs), Some(value)) => vs.iter().any(|v| **v == *value),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::RouteMatch;
    use apigw_domain::plugin::{PluginContent, PluginType};
    use http::{HeaderMap, Method, Uri};
    use serde_json::json;

    fn plugin(rules: serde_json::Value) -> RateLimitPlugin {
        let content = json!({
            "api_limit": 100,
            "parameters": [
                {"type": "method", "name": "method", "value": "method"},
                {"type": "path", "name": "reqPath", "value": "reqPath"},
                {"type": "header", "name": "Tier", "value": "X-Tier"},
                {"type": "query", "name": "region", "value": "region"},
                {"type": "system", "name": "ip", "value": "sourceIp"},
                {"type": "system", "name": "server", "value": "serverName"}
            ],
            "rules": rules,
        });
        match PluginContent::parse(PluginType::RateLimit, &content.to_string()).unwrap() {
            PluginContent::RateLimit(p) => p,
            other => panic!("{other:?}"),
        }
    }

    fn rule(name: &str, condition: serde_json::Value) -> serde_json::Value {
        json!({"rule_name": name, "match_regex": condition.to_string(), "limit": 1})
    }

    /// Which rule a call meets: `(method, target, X-Tier, host)`.
    fn matching(rules: &ParameterRules, call: (&str, &str, Option<&str>, &str)) -> Option<usize> {
        let (method, target, tier, host) = call;
        let method: Method = method.parse().unwrap();
        let uri: Uri = target.parse().unwrap();
        let mut headers = HeaderMap::new();
        if let Some(tier) = tier {
            headers.insert("x-tier", tier.parse().unwrap());
        }
        let route = RouteMatch::empty(uri.path());
        let call = CallFacts {
            client: "192.0.2.7".parse().unwrap(),
            method: &method,
            uri: &uri,
            route: &route,
            headers: &headers,
            host,
        };
        rules.matching(&call)
    }

    #[test]
    fn the_first_rule_a_call_meets_takes_it() {
        let plugin = plugin(json!([
            rule(
                "writes",
                json!([
                    "AND",
                    ["method", "~=", "GET"],
                    ["reqPath", "~~", "^/orders/"]
                ])
            ),
            rule(
                "gold",
                json!(["OR", ["Tier", "==", "gold"], ["region", "in", "eu,us"]])
            ),
            rule("no-tier", json!(["Tier", "~=", "silver"])),
            rule(
                "local",
                json!([
                    "AND",
                    ["ip", "==", "192.0.2.7"],
                    ["server", "==", "api.example.com"]
                ])
            ),
        ]));
        let mut names = Vec::new();
        let rules = ParameterRules::new(&plugin, |name| {
            names.push(name.to_owned());
            Arc::default()
        })
        .unwrap();
        assert_eq!(names, ["writes", "gold", "no-tier", "local"]);
        let host = "api.example.com:8443";
        assert_eq!(matching(&rules, ("POST", "/orders/7", None, host)), Some(0));
        assert_eq!(
            matching(&rules, ("GET", "/orders/7", Some("gold"), host)),
            Some(1)
        );
        assert_eq!(
            matching(&rules, ("GET", "/x?region=eu", Some("silver"), host)),
            Some(1)
        );
        // No X-Tier at all: not equal to "silver".
        assert_eq!(matching(&rules, ("GET", "/x", None, host)), Some(2));
        assert_eq!(
            matching(&rules, ("GET", "/x?region=asia", Some("silver"), host)),
            Some(3)
        );
        assert_eq!(
            matching(&rules, ("GET", "/x", Some("silver"), "other.example.com")),
            None
        );
    }

    #[test]
    fn a_plugin_without_rules_prepares_none() {
        assert!(ParameterRules::new(&plugin(json!([])), |_| Arc::default()).is_none());
    }
}
