//! Plug-ins (`/plugins`): named pieces of per-API behaviour an instance keeps apart from its
//! APIs and attaches to published APIs, one plug-in of a type per API and environment
//! (attaching another of the same type replaces it). The types that parse, and the errors of
//! the resource.
//!
//! Types served: `cors` (the gateway answers the API's CORS preflights and marks its
//! responses with the origins, methods and headers the plug-in allows), `set_resp_headers`
//! (the gateway overrides, appends, deletes, keeps or adds fields of the API's responses) and
//! `rate_limit` (request throttling 2.0, see [`rate_limit`]) and `breaker` (the circuit
//! breaker, see [`breaker`]).
//! APIG's other types (`kafka_log`, `third_auth`, `proxy_cache`,
//! `proxy_mirror`, `oidc_auth`, `jwt_auth`) are refused with a message that says so: a
//! plug-in that is stored but does nothing would look like protection that is not there.
//!
//! A plug-in's `plugin_content` is kept in a canonical form: the JSON of the parsed
//! configuration, defaults filled in, in a fixed key order (what APIG answers is its own
//! rendering of the content too, defaults included).

use crate::error::ApiError;
use serde_json::{json, Map, Value};

mod breaker;
mod rate_limit;
mod rules;
pub use breaker::{
    BreakerCondition, BreakerPlugin, BreakerRule, BreakerTrigger, Downgrade, DowngradeBackend,
    DowngradeTarget, MockAnswer, NumberTest, OutcomeCondition, OutcomeValue, MAX_BREAKER_SECONDS,
    MAX_DOWNGRADE_FIELDS,
};
pub use rate_limit::{
    Algorithm, RateLimitPlugin, RateLimitRule, MAX_RATE_LIMIT_RULES, MAX_RATE_LIMIT_SPECIALS,
};
pub use rules::{
    condition_text, ParameterSource, RuleCondition, RuleParameter, RuleTest, SystemValue, MAX_RULES,
};

/// Most plug-ins one instance may have (our limit; APIG names none in its API reference).
pub const MAX_PLUGINS_PER_INSTANCE: usize = 500;

/// Most response fields one `set_resp_headers` plug-in may name (APIG's limit).
pub const MAX_RESPONSE_HEADER_RULES: usize = 10;

/// Longest `plugin_content` accepted, in bytes (APIG's limit).
pub const MAX_CONTENT_BYTES: usize = 65_535;

/// Longest value of a text field of a CORS plug-in, and of a response field value, in bytes
/// (our limits, to keep every answer's head small).
const MAX_CORS_FIELD_BYTES: usize = 2_048;
const MAX_HEADER_VALUE_BYTES: usize = 1_024;

impl ApiError {
    /// 404 `APIG.3068`: no plug-in with this id in the instance (APIG's code and message).
    pub fn plugin_not_found(id: &str) -> Self {
        Self::new(404, "APIG.3068", format!("Plugin {id} does not exist"))
    }

    /// 409 `APIG.3462`: the plug-in is attached to APIs (APIG's code and message).
    pub fn plugin_attached() -> Self {
        Self::new(
            409,
            "APIG.3462",
            "The plugin has been attached to the APIs and cannot perform the current operation",
        )
    }

    /// 409 `APIG.3213` (our code): another plug-in of the instance has this name.
    pub fn plugin_name_exists() -> Self {
        Self::new(409, "APIG.3213", "The plugin name already exists.")
    }

    /// 403 `APIG.3481` (our code): the instance has [`MAX_PLUGINS_PER_INSTANCE`] plug-ins.
    pub fn plugin_limit() -> Self {
        Self::new(
            403,
            "APIG.3481",
            "The number of plugins exceeds the maximum allowed limit.",
        )
    }

    /// 404 `APIG.3015` (APIG's code for a missing publication): the API is not published in
    /// the environment a plug-in is attached in.
    pub fn api_not_published_in_env(api_id: &str, env_id: &str) -> Self {
        Self::new(
            404,
            "APIG.3015",
            format!("The API {api_id} has not been published in environment {env_id}"),
        )
    }

    /// 400 `APIG.2011`: a CORS plug-in's `allow_methods` leaves out the method of an API it
    /// is attached to (APIG's rule: the API's method must be among them).
    pub fn cors_plugin_method_not_allowed(api_id: &str, method: &str) -> Self {
        Self::new(
            400,
            "APIG.2011",
            format!(
                "Invalid parameter value,parameterName:allow_methods. The CORS plugin does not \
                 allow {method}, the method of API {api_id}"
            ),
        )
    }
}

/// 400 `APIG.2011` naming a field of `plugin_content` (`plugin_content.<field>`).
fn content_field(field: &str) -> ApiError {
    ApiError::invalid_body_field(&format!("plugin_content.{field}"))
}

/// What a plug-in does: APIG's `plugin_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PluginType {
    /// `cors`: cross-origin resource sharing.
    Cors,
    /// `set_resp_headers`: HTTP response header management.
    SetRespHeaders,
    /// `rate_limit`: request throttling 2.0.
    RateLimit,
    /// `breaker`: the circuit breaker.
    Breaker,
}

/// APIG's plug-in types this gateway does not run (refused with a message saying so).
const UNSERVED_TYPES: [&str; 6] = [
    "kafka_log",
    "third_auth",
    "proxy_cache",
    "proxy_mirror",
    "oidc_auth",
    "jwt_auth",
];

impl PluginType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cors => "cors",
            Self::SetRespHeaders => "set_resp_headers",
            Self::RateLimit => "rate_limit",
            Self::Breaker => "breaker",
        }
    }

    /// From the wire name, if it is a type this gateway runs.
    pub fn from_wire(s: &str) -> Option<Self> {
        match s {
            "cors" => Some(Self::Cors),
            "set_resp_headers" => Some(Self::SetRespHeaders),
            "rate_limit" => Some(Self::RateLimit),
            "breaker" => Some(Self::Breaker),
            _ => None,
        }
    }

    /// Parses the `plugin_type` body field: APIG's other types are refused as unsupported,
    /// anything else as invalid.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        if let Some(t) = Self::from_wire(s) {
            return Ok(t);
        }
        if UNSERVED_TYPES.contains(&s) {
            return Err(ApiError::new(
                400,
                "APIG.2011",
                format!(
                    "Parameter value does not match the rules,parameterName:plugin_type. \
                     Plugins of type {s} are not supported by this gateway; use cors, set_resp_headers, rate_limit or breaker."
                ),
            ));
        }
        Err(ApiError::invalid_body_field("plugin_type"))
    }
}

/// Whether `s` is a plug-in name: 3–255 characters, starting with a letter or a Chinese
/// character, then letters, digits, `-`, `_` and Chinese characters.
pub fn is_plugin_name(s: &str) -> bool {
    let is_cjk = |c: char| ('\u{4e00}'..='\u{9fa5}').contains(&c);
    let mut chars = s.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || is_cjk(c));
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || is_cjk(c));
    first_ok && rest_ok && (3..=255).contains(&s.chars().count())
}

/// A CORS plug-in's configuration (`CorsPluginContent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsPlugin {
    /// `allow_origin`: `*`, or the origins allowed (`scheme://host[:port]`).
    pub allow_origin: OriginList,
    /// `allow_methods`: the methods a preflight allows, upper case.
    pub allow_methods: Vec<String>,
    /// `allow_headers`: the request fields a preflight allows (`*` for any).
    pub allow_headers: Vec<String>,
    /// `expose_headers`: the response fields a page may read (`*` for any).
    pub expose_headers: Vec<String>,
    /// `max_age`: seconds a browser may keep a preflight's answer.
    pub max_age: u32,
    /// `allow_credentials`: whether pages may send cookies and credentials.
    pub allow_credentials: bool,
}

/// The origins a CORS plug-in allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginList {
    /// `*`: any origin.
    Any,
    /// These origins, compared without regard to case.
    Only(Vec<String>),
}

/// The methods a CORS plug-in may allow.
const CORS_METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"];

/// Whether `b` may be part of a field name (RFC 9110 `tchar`).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Splits a comma-separated list, trimming each item and leaving out empty ones.
fn items(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|i| !i.is_empty())
}

impl CorsPlugin {
    /// Reads a CORS plug-in's content (an object; unknown fields refused). Defaults: any
    /// origin, every method, no header list, nothing exposed, two days, no credentials.
    fn parse(content: &Map<String, Value>) -> Result<Self, ApiError> {
        for key in content.keys() {
            if !matches!(
                key.as_str(),
                "allow_origin"
                    | "allow_methods"
                    | "allow_headers"
                    | "expose_headers"
                    | "max_age"
                    | "allow_credentials"
            ) {
                return Err(content_field(key));
            }
        }
        let text = |field: &str| -> Result<Option<&str>, ApiError> {
            match content.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.len() <= MAX_CORS_FIELD_BYTES => Ok(Some(s)),
                Some(_) => Err(content_field(field)),
            }
        };
        let allow_origin = match text("allow_origin")?.map(str::trim) {
            None | Some("*") => OriginList::Any,
            Some(list) => {
                let origins: Vec<String> = items(list).map(str::to_owned).collect();
                let valid = |o: &String| {
                    (o.starts_with("http://") || o.starts_with("https://"))
                        && o.bytes().all(|b| b.is_ascii_graphic())
                };
                if origins.is_empty() || !origins.iter().all(valid) {
                    return Err(content_field("allow_origin"));
                }
                OriginList::Only(origins)
            }
        };
        let allow_methods = match text("allow_methods")? {
            None => CORS_METHODS.iter().map(|m| (*m).to_owned()).collect(),
            Some(list) => {
                let mut methods: Vec<String> = Vec::new();
                for m in items(list) {
                    let upper = m.to_ascii_uppercase();
                    if !CORS_METHODS.contains(&upper.as_str()) {
                        return Err(content_field("allow_methods"));
                    }
                    if !methods.contains(&upper) {
                        methods.push(upper);
                    }
                }
                if methods.is_empty() {
                    return Err(content_field("allow_methods"));
                }
                methods
            }
        };
        let names = |field: &str| -> Result<Vec<String>, ApiError> {
            let Some(list) = text(field)? else {
                return Ok(Vec::new());
            };
            let names: Vec<String> = items(list).map(str::to_owned).collect();
            let valid = |n: &String| n == "*" || n.bytes().all(is_tchar);
            if !names.iter().all(valid) {
                return Err(content_field(field));
            }
            Ok(names)
        };
        let allow_headers = names("allow_headers")?;
        let expose_headers = names("expose_headers")?;
        let max_age = match content.get("max_age") {
            None | Some(Value::Null) => 172_800,
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n <= i32::MAX as u32)
                .ok_or_else(|| content_field("max_age"))?,
        };
        let allow_credentials = match content.get("allow_credentials") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(content_field("allow_credentials")),
        };
        Ok(Self {
            allow_origin,
            allow_methods,
            allow_headers,
            expose_headers,
            max_age,
            allow_credentials,
        })
    }

    /// Whether the plug-in allows `method` (an API attached to it must have one it allows;
    /// `ANY` needs them all).
    pub fn allows_method(&self, method: &str) -> bool {
        if method.eq_ignore_ascii_case("ANY") {
            return CORS_METHODS
                .iter()
                .all(|m| self.allow_methods.iter().any(|a| a == m));
        }
        self.allow_methods
            .iter()
            .any(|m| m.eq_ignore_ascii_case(method))
    }

    fn to_json(&self) -> Value {
        let origin = match &self.allow_origin {
            OriginList::Any => "*".to_owned(),
            OriginList::Only(origins) => origins.join(","),
        };
        json!({
            "allow_origin": origin,
            "allow_methods": self.allow_methods.join(","),
            "allow_headers": self.allow_headers.join(","),
            "expose_headers": self.expose_headers.join(","),
            "max_age": self.max_age,
            "allow_credentials": self.allow_credentials,
        })
    }
}

/// What a `set_resp_headers` rule does to the response fields of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderAction {
    /// `override`: the fields of that name are replaced by this one.
    Override,
    /// `append`: the values of that name, joined with commas, then this value, in one field.
    Append,
    /// `delete`: the fields of that name are removed.
    Delete,
    /// `skip`: the backend's fields of that name stand; without any, this one is added.
    Skip,
    /// `add`: this field is added beside any of that name.
    Add,
}

impl HeaderAction {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Override => "override",
            Self::Append => "append",
            Self::Delete => "delete",
            Self::Skip => "skip",
            Self::Add => "add",
        }
    }

    fn from_wire(s: &str) -> Option<Self> {
        Some(match s {
            "override" => Self::Override,
            "append" => Self::Append,
            "delete" => Self::Delete,
            "skip" => Self::Skip,
            "add" => Self::Add,
            _ => return None,
        })
    }
}

/// One rule of a `set_resp_headers` plug-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderRule {
    /// The field name, lower case (names compare without regard to case).
    pub name: String,
    /// The value (empty for `delete`).
    pub value: String,
    /// What is done.
    pub action: HeaderAction,
}

/// Whether `name` (lower case) is a response field a plug-in may not touch: the gateway's own
/// (`x-apig-*`, `x-request-id`, `date`), CORS's (`access-control-*`) and those that frame
/// the response or belong to one connection.
fn is_reserved_response_field(name: &str) -> bool {
    name.starts_with("x-apig-")
        || name.starts_with("access-control-")
        || matches!(name, "x-request-id" | "date")
        || is_framing_or_hop_field(name)
}

/// Whether `name` (lower case) frames a message or belongs to one connection (a plug-in may
/// set neither on a request or a response).
fn is_framing_or_hop_field(name: &str) -> bool {
    name.starts_with("proxy-")
        || matches!(
            name,
            "content-length"
                | "transfer-encoding"
                | "connection"
                | "keep-alive"
                | "te"
                | "trailer"
                | "upgrade"
        )
}

/// A `set_resp_headers` plug-in's configuration: its rules, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHeaderRules(pub Vec<HeaderRule>);

impl ResponseHeaderRules {
    /// Reads `{"response_headers": [{"name", "value", "action"}, ...]}`: 1 to
    /// [`MAX_RESPONSE_HEADER_RULES`] rules, names unique without regard to case and none the
    /// gateway keeps for itself; `value_type`, where given, must be `custom_value`.
    fn parse(content: &Map<String, Value>) -> Result<Self, ApiError> {
        if let Some(key) = content.keys().find(|k| *k != "response_headers") {
            return Err(content_field(key));
        }
        let field = "response_headers";
        let list = match content.get(field) {
            Some(Value::Array(list))
                if !list.is_empty() && list.len() <= MAX_RESPONSE_HEADER_RULES =>
            {
                list
            }
            _ => return Err(content_field(field)),
        };
        let mut rules: Vec<HeaderRule> = Vec::with_capacity(list.len());
        for item in list {
            let Value::Object(rule) = item else {
                return Err(content_field(field));
            };
            if let Some(key) = rule
                .keys()
                .find(|k| !matches!(k.as_str(), "name" | "value" | "action" | "value_type"))
            {
                return Err(content_field(&format!("{field}.{key}")));
            }
            let text = |key: &str| match rule.get(key) {
                None | Some(Value::Null) => Ok(""),
                Some(Value::String(s)) => Ok(s.as_str()),
                Some(_) => Err(content_field(&format!("{field}.{key}"))),
            };
            let name = text("name")?.to_ascii_lowercase();
            let name_ok = !name.is_empty() && name.len() <= 128 && name.bytes().all(is_tchar);
            if !name_ok || is_reserved_response_field(&name) || rules.iter().any(|r| r.name == name)
            {
                return Err(content_field(&format!("{field}.name")));
            }
            let action = HeaderAction::from_wire(text("action")?)
                .ok_or_else(|| content_field(&format!("{field}.action")))?;
            let value = text("value")?;
            let value_ok = value.len() <= MAX_HEADER_VALUE_BYTES
                && value
                    .bytes()
                    .all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
            if !value_ok {
                return Err(content_field(&format!("{field}.value")));
            }
            if !matches!(text("value_type")?, "" | "custom_value") {
                return Err(content_field(&format!("{field}.value_type")));
            }
            rules.push(HeaderRule {
                name,
                value: match action {
                    HeaderAction::Delete => String::new(),
                    _ => value.trim().to_owned(),
                },
                action,
            });
        }
        Ok(Self(rules))
    }

    fn to_json(&self) -> Value {
        let rules: Vec<Value> = self
            .0
            .iter()
            .map(|r| json!({"name": r.name, "value": r.value, "action": r.action.as_str()}))
            .collect();
        json!({ "response_headers": rules })
    }
}

/// A plug-in's configuration, by type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginContent {
    /// `cors`.
    Cors(CorsPlugin),
    /// `set_resp_headers`.
    SetRespHeaders(ResponseHeaderRules),
    /// `rate_limit`.
    RateLimit(RateLimitPlugin),
    /// `breaker`.
    Breaker(BreakerPlugin),
}

impl PluginContent {
    /// Parses `plugin_content` (a JSON object in a string, at most [`MAX_CONTENT_BYTES`]) as
    /// the configuration of a plug-in of type `t`.
    pub fn parse(t: PluginType, content: &str) -> Result<Self, ApiError> {
        if content.len() > MAX_CONTENT_BYTES {
            return Err(ApiError::invalid_body_field("plugin_content"));
        }
        let Ok(Value::Object(object)) = serde_json::from_str::<Value>(content) else {
            return Err(ApiError::invalid_body_field("plugin_content"));
        };
        Ok(match t {
            PluginType::Cors => Self::Cors(CorsPlugin::parse(&object)?),
            PluginType::SetRespHeaders => {
                Self::SetRespHeaders(ResponseHeaderRules::parse(&object)?)
            }
            PluginType::RateLimit => Self::RateLimit(RateLimitPlugin::parse(&object)?),
            PluginType::Breaker => Self::Breaker(BreakerPlugin::parse(&object)?),
        })
    }

    /// The type of plug-in this configures.
    pub fn plugin_type(&self) -> PluginType {
        match self {
            Self::Cors(_) => PluginType::Cors,
            Self::SetRespHeaders(_) => PluginType::SetRespHeaders,
            Self::RateLimit(_) => PluginType::RateLimit,
            Self::Breaker(_) => PluginType::Breaker,
        }
    }

    /// The canonical `plugin_content` text (stored, and shown).
    pub fn to_content(&self) -> String {
        match self {
            Self::Cors(c) => c.to_json(),
            Self::SetRespHeaders(r) => r.to_json(),
            Self::RateLimit(r) => r.to_json(),
            Self::Breaker(b) => b.to_json(),
        }
        .to_string()
    }
}

/// A plug-in as created or replaced: name, type and configuration checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSpec {
    /// `plugin_name`: unique in the instance.
    pub name: String,
    /// `plugin_content`, parsed (its type is the plug-in's type).
    pub content: PluginContent,
    /// `remark`: up to 255 characters.
    pub remark: String,
}

impl PluginSpec {
    /// Reads a create or replace body (`get` gives a body field by name): `plugin_name`,
    /// `plugin_type`, `plugin_scope` (`global`, the one scope) and `plugin_content` are
    /// mandatory, `remark` is not.
    pub fn parse<'a>(get: impl Fn(&str) -> Option<&'a Value>) -> Result<Self, ApiError> {
        let text = |field: &str| match get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(ApiError::invalid_body_field(field)),
        };
        let required = |field: &str| text(field)?.ok_or_else(|| ApiError::missing_field(field));
        let name = required("plugin_name")?;
        if !is_plugin_name(name) {
            return Err(ApiError::invalid_body_field("plugin_name"));
        }
        let plugin_type = PluginType::parse(required("plugin_type")?)?;
        if required("plugin_scope")? != "global" {
            return Err(ApiError::invalid_body_field("plugin_scope"));
        }
        let content = PluginContent::parse(plugin_type, required("plugin_content")?)?;
        let remark = text("remark")?.unwrap_or_default();
        if remark.chars().count() > 255 {
            return Err(ApiError::invalid_body_field("remark"));
        }
        Ok(Self {
            name: name.to_owned(),
            content,
            remark: remark.to_owned(),
        })
    }

    /// A stored plug-in, checked again (a row that breaks the rules is corrupt).
    pub fn from_stored(
        name: String,
        plugin_type: &str,
        content: &str,
        remark: String,
    ) -> Option<Self> {
        let content = PluginContent::parse(PluginType::from_wire(plugin_type)?, content).ok()?;
        Some(Self {
            name,
            content,
            remark,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Result<PluginSpec, ApiError> {
        PluginSpec::parse(|f| v.get(f))
    }

    fn cors(content: Value) -> Result<CorsPlugin, ApiError> {
        match PluginContent::parse(PluginType::Cors, &content.to_string())? {
            PluginContent::Cors(c) => Ok(c),
            other => panic!("{other:?}"),
        }
    }

    fn rules(content: Value) -> Result<ResponseHeaderRules, ApiError> {
        match PluginContent::parse(PluginType::SetRespHeaders, &content.to_string())? {
            PluginContent::SetRespHeaders(r) => Ok(r),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_create_body_parses_with_its_content_in_canonical_form() {
        let spec = body(json!({
            "plugin_name": "cors_plugin-1",
            "plugin_type": "cors",
            "plugin_scope": "global",
            "plugin_content": "{\"allow_origin\":\"https://a.example, https://b.example\",\"allow_methods\":\"get,POST\"}",
            "remark": "for the web app",
        }))
        .unwrap();
        assert_eq!(spec.name, "cors_plugin-1");
        assert_eq!(spec.remark, "for the web app");
        assert_eq!(spec.content.plugin_type(), PluginType::Cors);
        let shown: Value = serde_json::from_str(&spec.content.to_content()).unwrap();
        assert_eq!(
            shown,
            json!({
                "allow_origin": "https://a.example,https://b.example",
                "allow_methods": "GET,POST",
                "allow_headers": "",
                "expose_headers": "",
                "max_age": 172800,
                "allow_credentials": false,
            })
        );
        // The canonical form parses back to the same configuration.
        let again = PluginContent::parse(PluginType::Cors, &spec.content.to_content()).unwrap();
        assert_eq!(again, spec.content);
    }

    #[test]
    fn bad_bodies_name_their_field() {
        let ok = json!({"plugin_name": "abc", "plugin_type": "cors", "plugin_scope": "global", "plugin_content": "{}"});
        assert!(body(ok.clone()).is_ok());
        let with = |field: &str, v: Value| {
            let mut b = ok.clone();
            b[field] = v;
            body(b).unwrap_err()
        };
        for (field, value, code) in [
            ("plugin_name", json!("ab"), "APIG.2011"),
            ("plugin_name", json!("1abc"), "APIG.2011"),
            ("plugin_name", json!("a b c"), "APIG.2011"),
            ("plugin_name", json!("a".repeat(256)), "APIG.2011"),
            ("plugin_type", json!("nope"), "APIG.2011"),
            ("plugin_scope", json!("local"), "APIG.2011"),
            ("plugin_content", json!("[1]"), "APIG.2011"),
            ("plugin_content", json!("not json"), "APIG.2011"),
            ("plugin_content", json!({}), "APIG.2011"),
            ("remark", json!("r".repeat(256)), "APIG.2011"),
        ] {
            let e = with(field, value);
            assert_eq!(e.code, code, "{field}");
            assert!(e.message.contains(field), "{field}: {}", e.message);
        }
        for field in [
            "plugin_name",
            "plugin_type",
            "plugin_scope",
            "plugin_content",
        ] {
            let mut b = ok.clone();
            b.as_object_mut().unwrap().remove(field);
            let e = body(b).unwrap_err();
            assert_eq!(e.code, "APIG.2001", "{field}");
            assert!(e.message.contains(field));
        }
        let e = with("plugin_type", json!("kafka_log"));
        assert!(e.message.contains("not supported"), "{}", e.message);
        assert!(body(json!({"plugin_name": "abc", "plugin_type": "cors", "plugin_scope": "global",
            "plugin_content": format!("{{\"allow_origin\":\"{}\"}}", "x".repeat(MAX_CONTENT_BYTES))}))
        .is_err());
    }

    #[test]
    fn cors_content_is_checked_field_by_field() {
        let c = cors(
            json!({"allow_origin": "*", "allow_headers": "X-Apig-AppCode, Content-Type",
            "expose_headers": "X-Request-Id", "max_age": 600, "allow_credentials": true}),
        )
        .unwrap();
        assert_eq!(c.allow_origin, OriginList::Any);
        assert_eq!(c.allow_headers, ["X-Apig-AppCode", "Content-Type"]);
        assert_eq!(c.max_age, 600);
        assert!(c.allow_credentials);
        assert!(c.allows_method("get") && c.allows_method("ANY"));
        let only_get = cors(json!({"allow_methods": "GET"})).unwrap();
        assert!(!only_get.allows_method("POST") && !only_get.allows_method("ANY"));
        for (field, bad) in [
            ("allow_origin", json!("example.com")),
            ("allow_origin", json!(" , ")),
            ("allow_origin", json!(1)),
            ("allow_methods", json!("GET,FETCH")),
            ("allow_methods", json!(",")),
            ("allow_headers", json!("X Bad")),
            ("expose_headers", json!("a:b")),
            ("max_age", json!(-1)),
            ("max_age", json!("60")),
            ("max_age", json!(1u64 << 32)),
            ("allow_credentials", json!("true")),
            ("unknown", json!(1)),
        ] {
            let e = cors(json!({ field: bad })).unwrap_err();
            assert_eq!(e.code, "APIG.2011");
            assert!(
                e.message.contains(&format!("plugin_content.{field}")),
                "{field}: {}",
                e.message
            );
        }
    }

    #[test]
    fn response_header_rules_are_checked_and_kept_in_order() {
        let r = rules(json!({"response_headers": [
            {"name": "X-Custom-Pwd", "value": "secret", "action": "override"},
            {"name": "X-Custom-Id", "value": "ignored", "action": "delete"},
            {"name": "Cache-Control", "value": "no-store", "action": "skip", "value_type": "custom_value"},
        ]}))
        .unwrap();
        assert_eq!(r.0.len(), 3);
        assert_eq!(r.0[0].name, "x-custom-pwd");
        assert_eq!(r.0[1].value, "", "a deleted field has no value");
        assert_eq!(r.0[2].action, HeaderAction::Skip);
        let twelve: Vec<Value> = (0..11)
            .map(|i| json!({"name": format!("x-h{i}"), "value": "v", "action": "add"}))
            .collect();
        for bad in [
            json!({"response_headers": []}),
            json!({"response_headers": twelve}),
            json!({"response_headers": "x"}),
            json!({"other": 1, "response_headers": [{"name": "a", "action": "add"}]}),
            json!({"response_headers": [{"name": "", "value": "v", "action": "add"}]}),
            json!({"response_headers": [{"name": "a b", "value": "v", "action": "add"}]}),
            json!({"response_headers": [{"name": "X-Apig-Latency", "value": "v", "action": "override"}]}),
            json!({"response_headers": [{"name": "X-Request-Id", "value": "v", "action": "override"}]}),
            json!({"response_headers": [{"name": "Access-Control-Allow-Origin", "value": "*", "action": "add"}]}),
            json!({"response_headers": [{"name": "Content-Length", "value": "1", "action": "override"}]}),
            json!({"response_headers": [{"name": "Date", "value": "today", "action": "override"}]}),
            json!({"response_headers": [{"name": "a", "value": "v", "action": "replace"}]}),
            json!({"response_headers": [{"name": "a", "value": "v\r\nb: c", "action": "add"}]}),
            json!({"response_headers": [{"name": "a", "value": "v", "action": "add", "value_type": "system_parameter"}]}),
            json!({"response_headers": [{"name": "a", "value": "1", "action": "add"}, {"name": "A", "value": "2", "action": "add"}]}),
            json!({"response_headers": [{"name": "a", "value": "v", "action": "add", "extra": 1}]}),
        ] {
            let e = rules(bad.clone()).unwrap_err();
            assert_eq!(e.code, "APIG.2011", "{bad}");
            assert!(e.message.contains("plugin_content"), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn stored_plugins_are_checked_again() {
        let content = PluginContent::parse(PluginType::Cors, "{}").unwrap();
        let stored =
            PluginSpec::from_stored("abc".into(), "cors", &content.to_content(), String::new());
        assert_eq!(stored.unwrap().content, content);
        assert!(PluginSpec::from_stored("abc".into(), "kafka_log", "{}", String::new()).is_none());
        assert!(PluginSpec::from_stored("abc".into(), "cors", "[]", String::new()).is_none());
    }
}
