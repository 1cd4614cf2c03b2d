//! Backend policies of an API (APIG `policy_https`, `policy_mocks`): other backends an API's
//! calls go to when they meet conditions (canary or per-tenant backends, a backend per client
//! network, a mock for test callers). The gateway tries the policies in order; the first whose
//! conditions hold (all of them, `effect_mode` `ALL`, or one, `ANY`) takes the call, with its
//! own backend parameters; a call that meets none goes to the API's own backend.
//!
//! A condition reads one thing of the call (`condition_origin`):
//! - `param`: a request parameter the API declares (`req_param_name`: a `req_params` entry or
//!   a `{name}` of `req_uri`), read where it is declared, or its default;
//! - `source`: the client address (the same one access control sees), against
//!   `condition_value`'s comma-separated addresses, ranges and CIDR blocks;
//! - `system`: the request path (`sys_param_name` `req_path`) or method (`req_method`;
//!   `reqPath`/`reqMethod` are Huawei's deprecated spellings, accepted and kept);
//! - `cookie`: the value of cookie `cookie_param_name`.
//!
//! and compares it (`condition_type`): `EXACT` (equal to `condition_value`), `ENUM` (equal to
//! one of its comma-separated values) or `PATTERN` (a regular expression found in the value;
//! anchor it with `^…$` to match the whole value). Patterns use Rust's `regex` syntax, which
//! is Perl's without look-around and back-references; those are refused.
//!
//! Huawei's limits: at most [`MAX_POLICIES`] policies per API, one to [`MAX_CONDITIONS`]
//! conditions per policy, names of 3–64 characters. Ours, where Huawei documents none: a
//! `condition_value` of at most [`CONDITION_VALUE_MAX`] characters, a source condition of at
//! most [`MAX_SOURCE_VALUES`] addresses. What we refuse although Huawei accepts it:
//! `policy_functions` (no FunctionGraph), `frontend_authorizer` and `orchestration`
//! conditions and `authorizer_id` (no custom authorizers or orchestration rules).

use super::{
    BackendApi, BackendParam, ParamLocation, ParamName, ReqParam, ReqUri, MOCK_CONTENT_MAX,
};
use crate::authz::AclValues;
use crate::error::ApiError;
use crate::fields::Fields;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::fmt;

/// Most backend policies one API may have (Huawei's limit).
pub const MAX_POLICIES: usize = 5;

/// Most conditions one policy may have (Huawei's limit).
pub const MAX_CONDITIONS: usize = 5;

/// Longest `condition_value`, in characters (our limit).
pub const CONDITION_VALUE_MAX: usize = 1024;

/// Most addresses, ranges or blocks one `source` condition may list (our limit, as an access
/// control policy's).
pub const MAX_SOURCE_VALUES: usize = 100;

/// Largest compiled form of a `PATTERN` (bytes): a pattern that would need more is refused
/// rather than allowed to take the gateway's memory.
pub const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// The methods a `req_method` condition may name.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

wire_enum!(
    /// How a policy's conditions combine (`effect_mode`).
    EffectMode {
        /// Every condition holds.
        All = "ALL",
        /// At least one condition holds.
        Any = "ANY",
    }
);

wire_enum!(
    /// How a condition compares (`condition_type`; accepted in any case).
    ConditionType {
        /// Equal to `condition_value`.
        Exact = "EXACT",
        /// Equal to one of `condition_value`'s comma-separated values.
        Enum = "ENUM",
        /// `condition_value` is a regular expression found in the value.
        Pattern = "PATTERN",
    }
);

text_value!(
    /// A backend policy's name: 3–64 characters, a letter (or CJK ideograph) first, then
    /// letters, digits, underscores and CJK ideographs; unique among the API's policies.
    PolicyName
);

impl PolicyName {
    /// Parses a policy's `name` (`APIG.2011` naming `field` otherwise).
    pub fn parse(s: &str, field: &str) -> Result<Self, ApiError> {
        let mut chars = s.chars();
        let first = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || super::is_cjk(c));
        let rest = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || super::is_cjk(c));
        if first && rest && super::char_len_between(s, 3, 64) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ApiError::invalid_body_field(field))
        }
    }
}

/// What of the call a condition reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionSubject {
    /// A declared request parameter, where the API declares it (`PATH` for a `{name}` of
    /// `req_uri` without a `req_params` entry).
    Param {
        /// `req_param_name`.
        name: ParamName,
        /// Where the caller sends it.
        location: ParamLocation,
    },
    /// The client address.
    SourceIp,
    /// The request path (`sys_param_name` as given: `req_path` or `reqPath`).
    Path(&'static str),
    /// The request method (`sys_param_name` as given: `req_method` or `reqMethod`).
    Method(&'static str),
    /// A cookie's value, by name.
    Cookie(String),
}

/// What a condition's subject must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionTest {
    /// Equal to this text.
    Exact(String),
    /// Equal to one of these.
    OneOf(Vec<String>),
    /// This regular expression (checked to compile) is found in it.
    Pattern(String),
    /// The client address is one of these.
    Addresses(AclValues),
}

/// One condition of a backend policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyCondition {
    /// What it reads.
    pub subject: ConditionSubject,
    /// What it requires.
    pub test: ConditionTest,
    /// `condition_type` as given (a `source` condition needs none).
    condition_type: Option<ConditionType>,
    /// `condition_value` as given.
    value: String,
}

/// Where a policy sends the calls it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyBackend {
    /// A backend server (`policy_https`), of the API's kind (HTTP or gRPC).
    Server(BackendApi),
    /// The gateway's fixed answer with this body (`policy_mocks` `result_content`).
    Mock(String),
}

/// One backend policy: conditions, and the backend of the calls that meet them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendPolicy {
    /// Name, unique among the API's policies.
    pub name: PolicyName,
    /// How its conditions combine.
    pub effect_mode: EffectMode,
    /// One to [`MAX_CONDITIONS`] conditions.
    pub conditions: Vec<PolicyCondition>,
    /// Where its calls go.
    pub backend: PolicyBackend,
    /// Its backend parameters (the API's own `backend_params` are its default backend's).
    pub backend_params: Vec<BackendParam>,
}

/// The body field a policy list travels in, by the API's backend type.
pub(super) fn field_of(mock: bool) -> &'static str {
    if mock {
        "policy_mocks"
    } else {
        "policy_https"
    }
}

/// What the policies of one API are read against: the rest of its definition.
pub(super) struct PolicyContext<'a> {
    /// A `MOCK` API (`policy_mocks`); otherwise `policy_https`.
    pub mock: bool,
    /// A gRPC API: its policy backends follow the gRPC backend rules.
    pub grpc: bool,
    /// The API's declared request parameters.
    pub req_params: &'a [ReqParam],
    /// The API's request path (its `{name}` parameters count as declared).
    pub req_uri: &'a ReqUri,
}

/// Reads the API's backend policies (`APIG.2011` naming the first bad field).
pub(super) fn parse_policies(
    f: &Fields<'_>,
    cx: &PolicyContext<'_>,
) -> Result<Vec<BackendPolicy>, ApiError> {
    if !f.opt_array("policy_functions")?.is_empty() {
        return Err(f.bad("policy_functions"));
    }
    // The list of the other backend type must be empty.
    if !f.opt_array(field_of(!cx.mock))?.is_empty() {
        return Err(f.bad(field_of(!cx.mock)));
    }
    let field = field_of(cx.mock);
    let items = f.opt_array(field)?;
    if items.len() > MAX_POLICIES {
        return Err(f.bad(field));
    }
    let mut names = HashSet::with_capacity(items.len());
    let mut policies = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item = f.item(field, i, item)?;
        let policy = parse_policy(&item, cx)?;
        if !names.insert(policy.name.as_str().to_owned()) {
            return Err(item.bad("name"));
        }
        policies.push(policy);
    }
    Ok(policies)
}

fn parse_policy(f: &Fields<'_>, cx: &PolicyContext<'_>) -> Result<BackendPolicy, ApiError> {
    let name = PolicyName::parse(f.req_str("name")?, &f.name("name"))?;
    let effect_mode = EffectMode::parse(f.req_str("effect_mode")?, &f.name("effect_mode"))?;
    if f.opt_str("authorizer_id")?.is_some_and(|a| !a.is_empty()) {
        return Err(f.bad("authorizer_id"));
    }
    let items = f.opt_array("conditions")?;
    if items.is_empty() || items.len() > MAX_CONDITIONS {
        return Err(f.bad("conditions"));
    }
    let conditions = items
        .iter()
        .enumerate()
        .map(|(i, c)| parse_condition(&f.item("conditions", i, c)?, cx))
        .collect::<Result<Vec<_>, _>>()?;
    let backend = if cx.mock {
        PolicyBackend::Mock(
            f.opt_text("result_content", MOCK_CONTENT_MAX)?
                .unwrap_or_default(),
        )
    } else {
        let server = BackendApi::parse(f)?;
        if cx.grpc {
            PolicyBackend::Server(super::GrpcRules::backend(server, f)?)
        } else if server.req_protocol.is_grpc() {
            return Err(f.bad("req_protocol"));
        } else {
            PolicyBackend::Server(server)
        }
    };
    let server = match &backend {
        PolicyBackend::Server(s) => Some(s),
        PolicyBackend::Mock(_) => None,
    };
    let backend_params =
        super::parse_backend_params(f, server, cx.grpc, cx.req_params, cx.req_uri, "req_uri")?;
    Ok(BackendPolicy {
        name,
        effect_mode,
        conditions,
        backend,
        backend_params,
    })
}

/// A cookie name (RFC 6265 token): visible ASCII without separators.
fn is_cookie_name(s: &str) -> bool {
    (1..=255).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
}

fn parse_condition(f: &Fields<'_>, cx: &PolicyContext<'_>) -> Result<PolicyCondition, ApiError> {
    let value = f.req_str("condition_value")?;
    if value.is_empty()
        || value.chars().count() > CONDITION_VALUE_MAX
        || value.chars().any(char::is_control)
    {
        return Err(f.bad("condition_value"));
    }
    let condition_type = match f.opt_str("condition_type")? {
        Some(t) => Some(
            ConditionType::from_wire(&t.to_ascii_uppercase())
                .ok_or_else(|| f.bad("condition_type"))?,
        ),
        None => None,
    };
    let needs_type = || condition_type.ok_or_else(|| f.bad("condition_type"));
    let (subject, kind) = match f.req_str("condition_origin")? {
        "param" => {
            let name = f.req_str("req_param_name")?;
            let declared = cx.req_params.iter().find(|p| p.name.as_str() == name);
            let location = match declared {
                Some(p) => p.location,
                None if cx.req_uri.has_param(name) => ParamLocation::Path,
                None => return Err(f.bad("req_param_name")),
            };
            let name = ParamName::parse(name, &f.name("req_param_name"))?;
            (ConditionSubject::Param { name, location }, needs_type()?)
        }
        "source" => (ConditionSubject::SourceIp, ConditionType::Exact),
        "system" => {
            let subject = match f.req_str("sys_param_name")? {
                "req_path" => ConditionSubject::Path("req_path"),
                "reqPath" => ConditionSubject::Path("reqPath"),
                "req_method" => ConditionSubject::Method("req_method"),
                "reqMethod" => ConditionSubject::Method("reqMethod"),
                _ => return Err(f.bad("sys_param_name")),
            };
            (subject, needs_type()?)
        }
        "cookie" => {
            let name = f.req_str("cookie_param_name")?;
            if !is_cookie_name(name) {
                return Err(f.bad("cookie_param_name"));
            }
            (ConditionSubject::Cookie(name.to_owned()), needs_type()?)
        }
        _ => return Err(f.bad("condition_origin")),
    };
    let bad_value = || f.bad("condition_value");
    let test = match (&subject, kind) {
        (ConditionSubject::SourceIp, _) => {
            let values: Vec<&str> = value.split(',').map(str::trim).collect();
            let field = f.name("condition_value");
            ConditionTest::Addresses(AclValues::parse_field(&values, &field, MAX_SOURCE_VALUES)?)
        }
        (ConditionSubject::Method(_), ConditionType::Pattern) => {
            return Err(f.bad("condition_type"))
        }
        (_, ConditionType::Exact) => ConditionTest::Exact(value.to_owned()),
        (_, ConditionType::Enum) => {
            let values: Vec<String> = value
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect();
            if values.is_empty() {
                return Err(bad_value());
            }
            ConditionTest::OneOf(values)
        }
        (_, ConditionType::Pattern) => {
            compile_pattern(value).map_err(|_| bad_value())?;
            ConditionTest::Pattern(value.to_owned())
        }
    };
    if let ConditionSubject::Method(_) = subject {
        let methods: &[String] = match &test {
            ConditionTest::Exact(m) => std::slice::from_ref(m),
            ConditionTest::OneOf(ms) => ms,
            _ => &[],
        };
        if !methods.iter().all(|m| METHODS.contains(&m.as_str())) {
            return Err(bad_value());
        }
    }
    Ok(PolicyCondition {
        subject,
        test,
        condition_type,
        value: value.to_owned(),
    })
}

/// Compiles a `PATTERN` condition's expression, within [`PATTERN_SIZE_LIMIT`]: the one way
/// both the rule check and the gateway build it.
pub fn compile_pattern(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(PATTERN_SIZE_LIMIT)
        .dfa_size_limit(PATTERN_SIZE_LIMIT)
        .build()
}

impl PolicyCondition {
    /// `condition_value` as given.
    pub fn value(&self) -> &str {
        &self.value
    }

    fn to_json(&self) -> Value {
        let mut v = json!({ "condition_value": self.value });
        if let Some(t) = self.condition_type {
            v["condition_type"] = json!(t.as_str());
        }
        let origin = match &self.subject {
            ConditionSubject::Param { name, location } => {
                v["req_param_name"] = json!(name.as_str());
                v["req_param_location"] = json!(location.as_str());
                "param"
            }
            ConditionSubject::SourceIp => "source",
            ConditionSubject::Path(n) | ConditionSubject::Method(n) => {
                v["sys_param_name"] = json!(n);
                "system"
            }
            ConditionSubject::Cookie(name) => {
                v["cookie_param_name"] = json!(name);
                "cookie"
            }
        };
        v["condition_origin"] = json!(origin);
        v
    }
}

impl BackendPolicy {
    /// The wire form: the policy's fields and its backend's (`url_domain`, `req_uri`, ... or
    /// `result_content`).
    pub fn to_json(&self) -> Value {
        let mut v = match &self.backend {
            PolicyBackend::Server(server) => server.to_json(),
            PolicyBackend::Mock(content) => json!({ "result_content": content }),
        };
        v["name"] = json!(self.name.as_str());
        v["effect_mode"] = json!(self.effect_mode.as_str());
        v["conditions"] = self
            .conditions
            .iter()
            .map(PolicyCondition::to_json)
            .collect();
        v["backend_params"] = self
            .backend_params
            .iter()
            .map(BackendParam::to_json)
            .collect();
        v
    }

    /// The backend server, if the policy has one (not a mock).
    pub fn server(&self) -> Option<&BackendApi> {
        match &self.backend {
            PolicyBackend::Server(s) => Some(s),
            PolicyBackend::Mock(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::ApiDefinition;
    use super::*;
    use serde_json::Map;

    fn definition(policies: Value) -> Result<ApiDefinition, ApiError> {
        let body = json!({
            "group_id": "c77f5e81d9cb4424bf704ef2b0ac7600", "name": "routed", "type": 1,
            "req_method": "GET", "req_uri": "/users/{user_id}", "auth_type": "NONE",
            "backend_type": "HTTP",
            "backend_api": {"url_domain": "10.0.0.1:8080", "req_protocol": "HTTP",
                            "req_method": "GET", "req_uri": "/u/{uid}", "timeout": 5000},
            "req_params": [{"name": "X-Tier", "location": "HEADER", "type": "STRING"}],
            "backend_params": [{"name": "uid", "value": "user_id", "location": "PATH",
                                "origin": "REQUEST"}],
            "policy_https": policies
        });
        let Value::Object(map) = body else {
            unreachable!()
        };
        ApiDefinition::parse(&map)
    }

    fn policy(conditions: Value) -> Value {
        json!({"name": "canary", "effect_mode": "ALL", "conditions": conditions,
               "url_domain": "10.0.0.2", "req_protocol": "HTTPS", "req_method": "ANY",
               "req_uri": "/canary", "timeout": 100})
    }

    #[test]
    fn conditions_parse_into_their_subjects_and_tests() {
        let d = definition(json!([policy(json!([
            {"condition_origin": "param", "req_param_name": "user_id", "condition_type": "enum",
             "condition_value": "1, 2,,3"},
            {"condition_origin": "param", "req_param_name": "X-Tier", "condition_type": "EXACT",
             "condition_value": "gold"},
            {"condition_origin": "source", "condition_value": "10.0.0.0/8,::1"},
            {"condition_origin": "system", "sys_param_name": "req_method",
             "condition_type": "ENUM", "condition_value": "GET,POST"},
            {"condition_origin": "cookie", "cookie_param_name": "beta",
             "condition_type": "PATTERN", "condition_value": "^y(es)?$"}
        ]))]))
        .unwrap();
        let p = &d.policies()[0];
        assert_eq!(p.effect_mode, EffectMode::All);
        let c = &p.conditions;
        assert_eq!(
            c[0].subject,
            ConditionSubject::Param {
                name: ParamName::parse("user_id", "x").unwrap(),
                location: ParamLocation::Path
            }
        );
        assert_eq!(
            c[0].test,
            ConditionTest::OneOf(vec!["1".into(), "2".into(), "3".into()])
        );
        assert!(matches!(
            c[1].subject,
            ConditionSubject::Param {
                location: ParamLocation::Header,
                ..
            }
        ));
        match &c[2].test {
            ConditionTest::Addresses(a) => {
                assert!(a.matcher().contains("10.1.2.3".parse().unwrap()));
                assert!(a.matcher().contains("::1".parse().unwrap()));
                assert!(!a.matcher().contains("11.0.0.1".parse().unwrap()));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c[3].subject, ConditionSubject::Method("req_method"));
        assert_eq!(c[4].test, ConditionTest::Pattern("^y(es)?$".into()));
        // The policy's backend: its own server, defaults filled in.
        let server = p.server().unwrap();
        assert_eq!(server.req_uri.as_str(), "/canary");
        assert_eq!(server.retry_count, -1);
        assert_eq!(d.servers().count(), 2);
    }

    #[test]
    fn the_stored_form_parses_back_to_the_same_definition() {
        let d = definition(json!([policy(json!([
            {"condition_origin": "system", "sys_param_name": "reqPath",
             "condition_type": "pattern", "condition_value": "^/users/9"},
            {"condition_origin": "source", "condition_value": "192.168.0.1-192.168.0.9"}
        ]))]))
        .unwrap();
        let stored = d.to_stored();
        let again = ApiDefinition::from_stored(&stored).unwrap();
        assert_eq!(again, d);
        let json: Map<String, Value> = serde_json::from_str(&stored).unwrap();
        let condition = &json["policy_https"][0]["conditions"][0];
        assert_eq!(condition["sys_param_name"], "reqPath");
        assert_eq!(condition["condition_type"], "PATTERN");
        assert!(json["policy_https"][0]["conditions"][1]
            .get("condition_type")
            .is_none());
    }

    #[test]
    fn names_follow_huaweis_rule() {
        for ok in ["abc", "a_1", "策略名", &"a".repeat(64)] {
            assert!(PolicyName::parse(ok, "n").is_ok(), "{ok}");
        }
        for bad in ["ab", "_ab", "1ab", "a-b", "a b", &"a".repeat(65)] {
            assert!(PolicyName::parse(bad, "n").is_err(), "{bad}");
        }
    }

    #[test]
    fn patterns_too_large_to_compile_are_refused() {
        // Huge counted repetitions blow the compiled size limit.
        let huge = "(a{1000}){1000}";
        assert!(compile_pattern(huge).is_err());
        let d = definition(json!([policy(json!([
            {"condition_origin": "param", "req_param_name": "X-Tier",
             "condition_type": "PATTERN", "condition_value": huge}
        ]))]));
        assert_eq!(
            d.unwrap_err().to_string(),
            ApiError::invalid_body_field("policy_https[0].conditions[0].condition_value")
                .to_string()
        );
    }
}
