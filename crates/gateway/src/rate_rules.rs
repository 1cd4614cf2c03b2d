//! The parameter-based rules of a `rate_limit` plug-in on the request path: which rule, if
//! any, a call counts under. The rules are tried in order; the first whose condition the call
//! meets takes it, and the call counts against that rule's own limit and window in place of
//! the API limit (see [`crate::rate_limit`]).
//!
//! Which rule a call meets is [`RuleMatcher`]'s (shared with the `breaker` plug-in's rules).

use crate::policy::CallFacts;
use crate::rate_limit::WindowCounter;
use crate::rule_match::RuleMatcher;
use apigw_domain::plugin::RateLimitPlugin;
use std::sync::Arc;

/// The rules of one `rate_limit` plug-in on one published API, prepared.
#[derive(Debug)]
pub(crate) struct ParameterRules {
    /// The rules' conditions.
    matcher: RuleMatcher,
    /// The rules, in the order they are tried.
    rules: Box<[Rule]>,
}

/// One rule, prepared: the limit of the calls that meet its condition.
#[derive(Debug)]
pub(crate) struct Rule {
    /// Window length in milliseconds.
    pub window_ms: i64,
    /// Calls per window.
    pub limit: u32,
    /// The calls counted under it (kept across route changes by the rule's name).
    pub counter: Arc<WindowCounter>,
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
        let matcher = RuleMatcher::new(
            &plugin.parameters,
            plugin.rules.iter().map(|r| &r.condition),
        )?;
        let rules = plugin
            .rules
            .iter()
            .map(|r| {
                Some(Rule {
                    window_ms: i64::try_from(r.window_ms(plugin)).ok()?.max(1),
                    limit: r.limit,
                    counter: counter_of(&r.name),
                })
            })
            .collect::<Option<Box<[_]>>>()?;
        Some(Box::new(Self { matcher, rules }))
    }

    /// The index of the first rule `call` meets, if any.
    pub(crate) fn matching(&self, call: &CallFacts<'_, '_>) -> Option<usize> {
        self.matcher.matching(call)
    }

    /// Rule `index`.
    pub(crate) fn rule(&self, index: usize) -> &Rule {
        &self.rules[index]
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
