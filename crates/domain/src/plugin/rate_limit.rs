//! The `rate_limit` plug-in (APIG's request throttling 2.0): basic limits per API, user, app
//! and client address over one window, excluded apps and tenants with their own limits, and
//! parameter-based rules (a condition on the call's method, path, headers, query or address,
//! and the calls per window the calls meeting it may make together).
//!
//! A rule's `match_regex` is APIG's condition text, a JSON array: `[name, operator, value]`
//! for one test of the parameter `name` declares, or `["AND" | "OR", condition, ...]`.
//! Operators: `==` equal, `~=` not equal, `~~` regular expression found in the value, `in`
//! one of a comma-separated list. The rules are tried in order; the first a call meets counts
//! the call against its own limit in place of `api_limit` (the user, app and address limits
//! still apply); a call meeting none counts against `api_limit`.

use super::content_field;
use super::rules::{
    condition_text, number, objects, only_keys, parameters_json, parse_condition, parse_parameters,
    text, RuleCondition, RuleParameter, MAX_RULES,
};
use crate::authz::TimeUnit;
use crate::error::ApiError;
use serde_json::{json, Map, Value};

/// Most parameter-based rules one plug-in may have (APIG's limit), and most parameters.
pub const MAX_RATE_LIMIT_RULES: usize = MAX_RULES;

/// Most excluded apps or tenants one plug-in may name per kind (our limit).
pub const MAX_RATE_LIMIT_SPECIALS: usize = 100;

/// A `rate_limit` plug-in's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitPlugin {
    /// `scope` `share`: the APIs the plug-in is attached to count together; `basic`: each
    /// on its own.
    pub shared: bool,
    /// `default_interval` × `default_time_unit`: the window of the basic limits, and of
    /// every rule that names none.
    pub interval: u32,
    /// Unit of `interval`.
    pub time_unit: TimeUnit,
    /// `api_limit`: calls of an API per window; `None` for -1 (no API limit).
    pub api_limit: Option<u32>,
    /// `user_limit`: calls per window by one tenant (the project owning the calling app).
    pub user_limit: Option<u32>,
    /// `app_limit`: calls per window by one app.
    pub app_limit: Option<u32>,
    /// `ip_limit`: calls per window from one client address.
    pub ip_limit: Option<u32>,
    /// `algorithm`: shown as given; every node counts its calls itself, as for request
    /// throttling policies (see the README).
    pub algorithm: Algorithm,
    /// Excluded apps (`specials` of type `app`): app id and its limit, in place of
    /// `app_limit`.
    pub app_specials: Vec<(String, u32)>,
    /// Excluded tenants (`specials` of type `user`): project id and its limit, in place of
    /// `user_limit`.
    pub user_specials: Vec<(String, u32)>,
    /// The parameters the rules test.
    pub parameters: Vec<RuleParameter>,
    /// The parameter-based rules, in the order they are tried.
    pub rules: Vec<RateLimitRule>,
}

/// `algorithm`: APIG's three ways of counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `counter` (high precision).
    Counter,
    /// `haht` (high performance).
    Haht,
    /// `local` (each node on its own).
    Local,
}

impl Algorithm {
    fn from_wire(s: &str) -> Option<Self> {
        match s {
            "counter" => Some(Self::Counter),
            "haht" => Some(Self::Haht),
            "local" => Some(Self::Local),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Haht => "haht",
            Self::Local => "local",
        }
    }
}

/// A parameter-based rule: the calls meeting `condition` may make `limit` calls per window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitRule {
    /// `rule_name`: unique in the plug-in.
    pub name: String,
    /// `match_regex`, parsed.
    pub condition: RuleCondition,
    /// The window: `interval` × `time_unit`, or the plug-in's when `interval` is 0.
    pub interval: u32,
    /// Unit of `interval`.
    pub time_unit: TimeUnit,
    /// Calls per window of the calls meeting the condition.
    pub limit: u32,
}

impl RateLimitRule {
    /// Length of the rule's window in milliseconds (`plugin`'s window when it names none).
    pub fn window_ms(&self, plugin: &RateLimitPlugin) -> u64 {
        if self.interval == 0 {
            plugin.window_ms()
        } else {
            u64::from(self.interval) * self.time_unit.seconds() * 1000
        }
    }
}

/// An optional limit: absent, `null` or 0 is none.
fn optional_limit(content: &Map<String, Value>, field: &str) -> Result<Option<u32>, ApiError> {
    Ok(number(content, field, 0)?
        .filter(|n| *n > 0)
        .map(|n| n as u32))
}

/// A time unit of the content (`second`, `minute`, `hour`, `day`), `None` when absent.
fn time_unit(content: &Map<String, Value>, field: &str) -> Result<Option<TimeUnit>, ApiError> {
    match content.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => TimeUnit::from_wire(&s.to_ascii_uppercase())
            .map(Some)
            .ok_or_else(|| content_field(field)),
        Some(_) => Err(content_field(field)),
    }
}

fn unit_wire(unit: TimeUnit) -> String {
    unit.as_str().to_ascii_lowercase()
}

impl RateLimitPlugin {
    /// Reads the content of a `rate_limit` plug-in and checks its limits against each other:
    /// user and address limits at most the API limit, the app limit at most the user limit
    /// (or the API limit), every excluded limit at most the API limit.
    pub(super) fn parse(content: &Map<String, Value>) -> Result<Self, ApiError> {
        only_keys(
            content,
            &[
                "scope",
                "default_time_unit",
                "default_interval",
                "api_limit",
                "app_limit",
                "user_limit",
                "ip_limit",
                "algorithm",
                "specials",
                "parameters",
                "rules",
            ],
            "",
        )?;
        let shared = match content.get("scope") {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) if s == "basic" => false,
            Some(Value::String(s)) if s == "share" => true,
            Some(_) => return Err(content_field("scope")),
        };
        let api_limit = match content.get("api_limit") {
            None | Some(Value::Null) => {
                return Err(ApiError::missing_field("plugin_content.api_limit"))
            }
            Some(v) if v.as_i64() == Some(-1) => None,
            Some(_) => Some(number(content, "api_limit", 1)?.unwrap_or(1) as u32),
        };
        let ceiling = api_limit.unwrap_or(u32::MAX);
        let user_limit = optional_limit(content, "user_limit")?;
        let app_limit = optional_limit(content, "app_limit")?;
        let ip_limit = optional_limit(content, "ip_limit")?;
        if user_limit.is_some_and(|u| u > ceiling) {
            return Err(ApiError::value_too_large("plugin_content.user_limit"));
        }
        if app_limit.is_some_and(|a| a > user_limit.unwrap_or(ceiling)) {
            return Err(ApiError::value_too_large("plugin_content.app_limit"));
        }
        if ip_limit.is_some_and(|i| i > ceiling) {
            return Err(ApiError::value_too_large("plugin_content.ip_limit"));
        }
        let algorithm = match content.get("algorithm") {
            None | Some(Value::Null) => Algorithm::Counter,
            Some(Value::String(s)) => {
                Algorithm::from_wire(s).ok_or_else(|| content_field("algorithm"))?
            }
            Some(_) => return Err(content_field("algorithm")),
        };
        let mut plugin = Self {
            shared,
            interval: number(content, "default_interval", 1)?.unwrap_or(1) as u32,
            time_unit: time_unit(content, "default_time_unit")?.unwrap_or(TimeUnit::Second),
            api_limit,
            user_limit,
            app_limit,
            ip_limit,
            algorithm,
            app_specials: Vec::new(),
            user_specials: Vec::new(),
            parameters: Vec::new(),
            rules: Vec::new(),
        };
        plugin.parse_specials(content, ceiling)?;
        plugin.parameters = parse_parameters(content, "parameters")?;
        plugin.parse_rules(content)?;
        Ok(plugin)
    }

    fn parse_specials(
        &mut self,
        content: &Map<String, Value>,
        ceiling: u32,
    ) -> Result<(), ApiError> {
        for special in objects(content, "specials", 2)? {
            only_keys(special, &["type", "policies"], "specials.")?;
            let list = match text(special, "type", "specials.type")? {
                "app" if self.app_specials.is_empty() => &mut self.app_specials,
                "user" if self.user_specials.is_empty() => &mut self.user_specials,
                _ => return Err(content_field("specials.type")),
            };
            let policies = objects(special, "policies", MAX_RATE_LIMIT_SPECIALS)?;
            if policies.is_empty() {
                return Err(content_field("specials.policies"));
            }
            for policy in policies {
                only_keys(policy, &["key", "limit"], "specials.policies.")?;
                let key = text(policy, "key", "specials.policies.key")?;
                let key_ok = !key.is_empty()
                    && key.len() <= 64
                    && key
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !key_ok || list.iter().any(|(k, _)| k == key) {
                    return Err(content_field("specials.policies.key"));
                }
                let limit = number(policy, "limit", 1)?
                    .ok_or_else(|| content_field("specials.policies.limit"))?
                    as u32;
                if limit > ceiling {
                    return Err(ApiError::value_too_large(
                        "plugin_content.specials.policies.limit",
                    ));
                }
                list.push((key.to_owned(), limit));
            }
        }
        Ok(())
    }

    fn parse_rules(&mut self, content: &Map<String, Value>) -> Result<(), ApiError> {
        for rule in objects(content, "rules", MAX_RATE_LIMIT_RULES)? {
            only_keys(
                rule,
                &["rule_name", "match_regex", "time_unit", "interval", "limit"],
                "rules.",
            )?;
            let name = text(rule, "rule_name", "rules.rule_name")?;
            let name_ok =
                (1..=64).contains(&name.chars().count()) && !name.chars().any(char::is_control);
            if !name_ok || self.rules.iter().any(|r| r.name == name) {
                return Err(content_field("rules.rule_name"));
            }
            let condition_text = text(rule, "match_regex", "rules.match_regex")?;
            let condition = parse_condition(&self.parameters, condition_text)
                .ok_or_else(|| content_field("rules.match_regex"))?;
            let limit = number(rule, "limit", 1)?.ok_or_else(|| content_field("rules.limit"))?;
            self.rules.push(RateLimitRule {
                name: name.to_owned(),
                condition,
                interval: number(rule, "interval", 0)?.unwrap_or(0) as u32,
                time_unit: time_unit(rule, "time_unit")?.unwrap_or(self.time_unit),
                limit: limit as u32,
            });
        }
        Ok(())
    }

    /// Length of the basic limits' window in milliseconds.
    pub fn window_ms(&self) -> u64 {
        u64::from(self.interval) * self.time_unit.seconds() * 1000
    }

    pub(super) fn to_json(&self) -> Value {
        let limit = |l: Option<u32>| l.map_or(0, i64::from);
        let special = |kind: &str, list: &[(String, u32)]| {
            let policies: Vec<Value> = list
                .iter()
                .map(|(key, limit)| json!({"key": key, "limit": limit}))
                .collect();
            json!({"type": kind, "policies": policies})
        };
        let mut specials = Vec::new();
        if !self.app_specials.is_empty() {
            specials.push(special("app", &self.app_specials));
        }
        if !self.user_specials.is_empty() {
            specials.push(special("user", &self.user_specials));
        }
        let parameters = parameters_json(&self.parameters);
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|r| {
                json!({
                    "rule_name": r.name,
                    "match_regex": condition_text(&self.parameters, &r.condition).to_string(),
                    "time_unit": unit_wire(r.time_unit),
                    "interval": r.interval,
                    "limit": r.limit,
                })
            })
            .collect();
        json!({
            "scope": if self.shared { "share" } else { "basic" },
            "default_time_unit": unit_wire(self.time_unit),
            "default_interval": self.interval,
            "api_limit": self.api_limit.map_or(-1, i64::from),
            "user_limit": limit(self.user_limit),
            "app_limit": limit(self.app_limit),
            "ip_limit": limit(self.ip_limit),
            "algorithm": self.algorithm.as_str(),
            "specials": specials,
            "parameters": parameters,
            "rules": rules,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::rules::{ParameterSource, RuleTest, SystemValue};
    use super::super::{PluginContent, PluginType};
    use super::*;

    fn parse(content: Value) -> Result<RateLimitPlugin, ApiError> {
        match PluginContent::parse(PluginType::RateLimit, &content.to_string())? {
            PluginContent::RateLimit(p) => Ok(p),
            other => panic!("{other:?}"),
        }
    }

    fn field_of(e: ApiError) -> String {
        e.message.to_string()
    }

    fn full() -> Value {
        json!({
            "scope": "basic", "default_interval": 60, "default_time_unit": "second",
            "api_limit": 100, "app_limit": 50, "user_limit": 50, "ip_limit": 20,
            "specials": [
                {"type": "app", "policies": [{"key": "e9230d70c749408eb3d1e838850cdd23", "limit": 10}]},
                {"type": "user", "policies": [{"key": "878f1b87f71c40a7a15db0998f358bb9", "limit": 10}]}
            ],
            "algorithm": "counter",
            "parameters": [
                {"id": "3wuj354lpptv0toe0", "value": "reqPath", "type": "path", "name": "reqPath"},
                {"id": "53h7e7j11u38l3ocp", "value": "method", "type": "method", "name": "method"},
                {"value": "Host", "type": "header", "name": "Host"},
                {"value": "tier", "type": "query", "name": "tier"},
                {"value": "sourceIp", "type": "system", "name": "ip"}
            ],
            "rules": [
                {"match_regex": "[\"Host\",\"==\",\"www.abc.com\"]", "rule_name": "u8mb",
                 "time_unit": "second", "interval": 2, "limit": 5},
                {"match_regex": "[\"AND\",[\"method\",\"~=\",\"POST\"],[\"OR\",[\"reqPath\",\"~~\",\"^/v1/\"],[\"tier\",\"in\",\"gold, silver\"]]]",
                 "rule_name": "r2", "limit": 7}
            ]
        })
    }

    #[test]
    fn apig_s_example_parses_and_renders_in_canonical_form() {
        let plugin = parse(full()).unwrap();
        assert!(!plugin.shared);
        assert_eq!(plugin.window_ms(), 60_000);
        assert_eq!(plugin.api_limit, Some(100));
        assert_eq!(
            plugin.app_specials,
            vec![("e9230d70c749408eb3d1e838850cdd23".into(), 10)]
        );
        assert_eq!(
            plugin.parameters[2].source,
            ParameterSource::Header("host".into())
        );
        assert_eq!(
            plugin.parameters[4].source,
            ParameterSource::System(SystemValue::SourceIp)
        );
        assert_eq!(plugin.rules[0].window_ms(&plugin), 2_000);
        // A rule without a window takes the plug-in's.
        assert_eq!(plugin.rules[1].window_ms(&plugin), 60_000);
        let RuleCondition::All(parts) = &plugin.rules[1].condition else {
            panic!("{:?}", plugin.rules[1].condition)
        };
        assert_eq!(
            parts[0],
            RuleCondition::Test {
                parameter: 1,
                test: RuleTest::NotEquals("POST".into())
            }
        );
        let RuleCondition::Any(inner) = &parts[1] else {
            panic!("{parts:?}")
        };
        assert_eq!(
            inner[1],
            RuleCondition::Test {
                parameter: 3,
                test: RuleTest::OneOf(vec!["gold".into(), "silver".into()])
            }
        );
        // The canonical form reads back as the same configuration.
        let text = PluginContent::RateLimit(plugin.clone()).to_content();
        assert_eq!(parse(serde_json::from_str(&text).unwrap()).unwrap(), plugin);
        let shown: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(shown["rules"][1]["time_unit"], "second");
        assert_eq!(shown["rules"][1]["interval"], 0);
        assert_eq!(
            shown["rules"][1]["match_regex"],
            "[\"AND\",[\"method\",\"~=\",\"POST\"],[\"OR\",[\"reqPath\",\"~~\",\"^/v1/\"],[\"tier\",\"in\",\"gold,silver\"]]]"
        );
    }

    #[test]
    fn the_least_content_is_an_api_limit() {
        let plugin = parse(json!({"api_limit": -1})).unwrap();
        assert_eq!(plugin.api_limit, None);
        assert_eq!((plugin.interval, plugin.time_unit), (1, TimeUnit::Second));
        assert_eq!(plugin.algorithm, Algorithm::Counter);
        let shown: Value =
            serde_json::from_str(&PluginContent::RateLimit(plugin).to_content()).unwrap();
        assert_eq!(shown["api_limit"], -1);
        assert_eq!(shown["scope"], "basic");
        assert_eq!(
            field_of(parse(json!({"scope": "basic"})).unwrap_err()),
            "The request parameters must be specified,parameterName:plugin_content.api_limit"
        );
    }

    #[test]
    fn every_rule_of_the_content_is_enforced() {
        let bad = |patch: Value, field: &str| {
            let mut content = full();
            for (k, v) in patch.as_object().unwrap() {
                content[k] = v.clone();
            }
            let e = parse(content).unwrap_err();
            assert!(e.message.contains(field), "{patch}: {}", e.message);
        };
        bad(json!({"scope": "all"}), "plugin_content.scope");
        bad(json!({"api_limit": 0}), "plugin_content.api_limit");
        bad(
            json!({"api_limit": 2_147_483_648_i64}),
            "plugin_content.api_limit",
        );
        bad(json!({"api_limit": "100"}), "plugin_content.api_limit");
        bad(json!({"user_limit": 101}), "plugin_content.user_limit");
        bad(json!({"app_limit": 51}), "plugin_content.app_limit");
        bad(json!({"ip_limit": 101}), "plugin_content.ip_limit");
        bad(
            json!({"default_interval": 0}),
            "plugin_content.default_interval",
        );
        bad(
            json!({"default_time_unit": "week"}),
            "plugin_content.default_time_unit",
        );
        bad(json!({"algorithm": "fast"}), "plugin_content.algorithm");
        bad(json!({"extra": 1}), "plugin_content.extra");
        bad(
            json!({"specials": [{"type": "tenant", "policies": [{"key": "a", "limit": 1}]}]}),
            "specials.type",
        );
        bad(
            json!({"specials": [{"type": "app", "policies": [{"key": "a", "limit": 1}]},
                                {"type": "app", "policies": [{"key": "b", "limit": 1}]}]}),
            "specials.type",
        );
        bad(
            json!({"specials": [{"type": "app", "policies": [{"key": "a", "limit": 101}]}]}),
            "specials.policies.limit",
        );
        bad(
            json!({"specials": [{"type": "app", "policies": [{"key": "a b", "limit": 1}]}]}),
            "specials.policies.key",
        );
        bad(
            json!({"specials": [{"type": "app", "policies": []}]}),
            "specials.policies",
        );
        bad(
            json!({"parameters": [{"type": "header", "name": "h", "value": "a b"}]}),
            "parameters.value",
        );
        bad(
            json!({"parameters": [{"type": "cookie", "name": "c", "value": "c"}]}),
            "parameters.type",
        );
        bad(
            json!({"parameters": [{"type": "system", "name": "s", "value": "appName"}]}),
            "System parameter appName",
        );
        bad(
            json!({"parameters": [{"type": "path", "name": "p", "value": "p"},
                                  {"type": "method", "name": "p", "value": "m"}]}),
            "parameters.name",
        );
        bad(
            json!({"parameters": [{"type": "path", "name": "x".repeat(33), "value": "p"}]}),
            "parameters.name",
        );
        let rule = |m: &str| json!({"rules": [{"rule_name": "r", "match_regex": m, "limit": 1}]});
        bad(rule("[\"Nope\",\"==\",\"x\"]"), "rules.match_regex");
        bad(rule("[\"Host\",\">\",\"x\"]"), "rules.match_regex");
        bad(rule("[\"Host\",\"~~\",\"(\"]"), "rules.match_regex");
        bad(rule("[\"Host\",\"in\",\" , \"]"), "rules.match_regex");
        bad(rule("[\"AND\"]"), "rules.match_regex");
        bad(rule("not json"), "rules.match_regex");
        bad(rule("[\"AND\",[\"AND\",[\"AND\",[\"AND\",[\"AND\",[\"AND\",[\"Host\",\"==\",\"a\"]]]]]]]"), "rules.match_regex");
        bad(
            json!({"rules": [{"rule_name": "r", "match_regex": "[\"Host\",\"==\",\"a\"]"}]}),
            "rules.limit",
        );
        bad(
            json!({"rules": [{"rule_name": "r", "match_regex": "[\"Host\",\"==\",\"a\"]", "limit": 1},
                             {"rule_name": "r", "match_regex": "[\"Host\",\"==\",\"b\"]", "limit": 1}]}),
            "rules.rule_name",
        );
        let many: Vec<Value> = (0..=MAX_RATE_LIMIT_RULES)
            .map(|i| json!({"rule_name": format!("r{i}"), "match_regex": "[\"Host\",\"==\",\"a\"]", "limit": 1}))
            .collect();
        bad(json!({ "rules": many }), "plugin_content.rules");
    }
}
