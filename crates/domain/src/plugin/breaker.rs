//! The `breaker` plug-in (APIG's circuit breaker): when an API's backend keeps timing out, or
//! keeps answering in a way a condition calls unhealthy, the gateway stops sending it calls
//! for a while and answers them another way (a fixed answer, another backend, or 503).
//!
//! - **When it opens** (`breaker_condition`): `breaker_type` `timeout` counts the calls the
//!   backend did not answer in time; `condition` counts the calls whose answer meets
//!   `unhealthy_condition`, a condition over `$context.statusCode` (the backend's status) and
//!   `$context.backendResponseTime` (milliseconds until its answer). In `counter` mode the
//!   breaker opens as soon as `unhealthy_threshold` such calls fall in one `time_window`; in
//!   `percentage` mode it opens when a window ends in which at least `min_call_threshold`
//!   calls were made and at least `unhealthy_percentage` % of them were unhealthy. It stays
//!   open `open_breaker_time` seconds, then closes.
//! - **What an open breaker does** (`downgrade_default`): `mock` answers with a fixed status,
//!   body and fields; `passthrough` sends the call to the API's own backend with extra request
//!   fields; `http` / `http_vpc` send it to another backend (an address or a VPC channel).
//!   Without one, the gateway answers 503.
//! - **Rules** (`downgrade_parameters`, `downgrade_rules`): the first rule whose `match_regex`
//!   a call meets (the same condition syntax as `rate_limit`'s rules) counts the call in a
//!   breaker of its own, with its own condition and downgrade where it gives them (the
//!   plug-in's where it does not).
//! - `scope` `share`: the APIs the plug-in is attached to count together; `basic`: each on
//!   its own. Like APIG's gateway components, every node counts its own calls.

use super::content_field;
use super::rules::{
    condition_text, condition_tree, junction_json, objects, only_keys, parameters_json,
    parse_condition, parse_parameters, text, RuleCondition, RuleParameter, MAX_RULES,
};
use crate::api::{BackendAddress, BackendProtocol, HttpMethod};
use crate::error::ApiError;
use serde_json::{json, Map, Value};

/// Longest `time_window` and `open_breaker_time`, in seconds (our limit: an hour).
pub const MAX_BREAKER_SECONDS: u32 = 3_600;

/// Most fields a downgrade adds to an answer or a backend request (our limit).
pub const MAX_DOWNGRADE_FIELDS: usize = 10;

/// Longest backend timeout of an `http` downgrade, in milliseconds (APIG's API limit).
const MAX_TIMEOUT_MS: i64 = 600_000;

/// A `breaker` plug-in's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerPlugin {
    /// `scope` `share`: the APIs the plug-in is attached to count together.
    pub shared: bool,
    /// `breaker_condition`: when the breaker of calls meeting no rule opens.
    pub condition: BreakerCondition,
    /// `downgrade_default`: what an open breaker does; `None`: 503.
    pub downgrade: Option<Downgrade>,
    /// `downgrade_parameters`: what the rules read of a call.
    pub parameters: Vec<RuleParameter>,
    /// `downgrade_rules`, in the order they are tried.
    pub rules: Vec<BreakerRule>,
}

/// `breaker_condition`: what counts as unhealthy, and when the breaker opens and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerCondition {
    /// `breaker_type`: timeouts, or answers meeting a condition.
    pub trigger: BreakerTrigger,
    /// `breaker_mode` `percentage`; else `counter`.
    pub percentage_mode: bool,
    /// `unhealthy_threshold`: unhealthy calls in one window that open the breaker (counter
    /// mode; 0 when not given).
    pub unhealthy_threshold: u32,
    /// `min_call_threshold`: fewest calls in a window for it to open (percentage mode).
    pub min_call_threshold: u32,
    /// `unhealthy_percentage`: share of unhealthy calls, 1–100, that opens it (percentage
    /// mode).
    pub unhealthy_percentage: u32,
    /// `time_window`: seconds over which calls are counted.
    pub time_window: u32,
    /// `open_breaker_time`: seconds it stays open.
    pub open_breaker_time: u32,
}

/// `breaker_type`: what makes a call unhealthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakerTrigger {
    /// `timeout`: the backend did not answer within the API's timeout.
    Timeout,
    /// `condition`: the answer meets `unhealthy_condition`.
    Condition(OutcomeCondition),
}

/// `unhealthy_condition`, parsed: a condition over how the backend answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutcomeCondition {
    /// One test of one value.
    Test {
        /// Which value.
        value: OutcomeValue,
        /// What it must be.
        test: NumberTest,
    },
    /// Every one holds (`AND`).
    All(Vec<OutcomeCondition>),
    /// At least one holds (`OR`).
    Any(Vec<OutcomeCondition>),
}

/// A value of a backend's answer an `unhealthy_condition` tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeValue {
    /// `$context.statusCode`: the answer's status (502 when the backend could not be reached,
    /// 504 when it did not answer in time).
    StatusCode,
    /// `$context.backendResponseTime`: milliseconds from sending the call to the answer.
    ResponseTime,
}

impl OutcomeValue {
    fn from_wire(s: &str) -> Option<Self> {
        match s {
            "$context.statusCode" => Some(Self::StatusCode),
            "$context.backendResponseTime" => Some(Self::ResponseTime),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::StatusCode => "$context.statusCode",
            Self::ResponseTime => "$context.backendResponseTime",
        }
    }
}

/// What a number must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberTest {
    /// `==`.
    Equals(u64),
    /// `~=` (also `!=`).
    NotEquals(u64),
    /// `>`.
    Above(u64),
    /// `>=`.
    AtLeast(u64),
    /// `<`.
    Below(u64),
    /// `<=`.
    AtMost(u64),
    /// `in`: one of a comma-separated list.
    OneOf(Vec<u64>),
}

impl NumberTest {
    /// Whether `n` passes.
    pub fn holds(&self, n: u64) -> bool {
        match self {
            Self::Equals(v) => n == *v,
            Self::NotEquals(v) => n != *v,
            Self::Above(v) => n > *v,
            Self::AtLeast(v) => n >= *v,
            Self::Below(v) => n < *v,
            Self::AtMost(v) => n <= *v,
            Self::OneOf(vs) => vs.contains(&n),
        }
    }

    fn wire(&self) -> (&'static str, Value) {
        match self {
            Self::Equals(v) => ("==", json!(v)),
            Self::NotEquals(v) => ("~=", json!(v)),
            Self::Above(v) => (">", json!(v)),
            Self::AtLeast(v) => (">=", json!(v)),
            Self::Below(v) => ("<", json!(v)),
            Self::AtMost(v) => ("<=", json!(v)),
            Self::OneOf(vs) => {
                let list: Vec<String> = vs.iter().map(u64::to_string).collect();
                ("in", Value::from(list.join(",")))
            }
        }
    }
}

impl OutcomeCondition {
    /// Whether an answer with `status` after `elapsed_ms` meets the condition.
    pub fn holds(&self, status: u16, elapsed_ms: u64) -> bool {
        match self {
            Self::Test { value, test } => test.holds(match value {
                OutcomeValue::StatusCode => u64::from(status),
                OutcomeValue::ResponseTime => elapsed_ms,
            }),
            Self::All(parts) => parts.iter().all(|c| c.holds(status, elapsed_ms)),
            Self::Any(parts) => parts.iter().any(|c| c.holds(status, elapsed_ms)),
        }
    }

    fn parse(text: &str) -> Option<Self> {
        let value = serde_json::from_str::<Value>(text).ok()?;
        let join = |all, parts| {
            if all {
                Self::All(parts)
            } else {
                Self::Any(parts)
            }
        };
        condition_tree(&value, 0, &Self::test, join)
    }

    /// A test (`[value, op, operand]`) of the backend's answer, if it is one.
    fn test(head: &str, op: &Value, operand: &Value) -> Option<Self> {
        let value = OutcomeValue::from_wire(head)?;
        let single = || match operand {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        let test = match op.as_str()? {
            "==" => NumberTest::Equals(single()?),
            "~=" | "!=" => NumberTest::NotEquals(single()?),
            ">" => NumberTest::Above(single()?),
            ">=" => NumberTest::AtLeast(single()?),
            "<" => NumberTest::Below(single()?),
            "<=" => NumberTest::AtMost(single()?),
            "in" => {
                let items = match operand {
                    Value::String(s) => s
                        .split(',')
                        .map(str::trim)
                        .filter(|i| !i.is_empty())
                        .map(|i| i.parse::<u64>().ok())
                        .collect::<Option<Vec<_>>>()?,
                    Value::Number(n) => vec![n.as_u64()?],
                    _ => return None,
                };
                if items.is_empty() || items.len() > 100 {
                    return None;
                }
                NumberTest::OneOf(items)
            }
            _ => return None,
        };
        Some(Self::Test { value, test })
    }

    fn to_json(&self) -> Value {
        match self {
            Self::Test { value, test } => {
                let (op, operand) = test.wire();
                json!([value.as_str(), op, operand])
            }
            Self::All(parts) | Self::Any(parts) => junction_json(
                matches!(self, Self::All(_)),
                parts.iter().map(Self::to_json),
            ),
        }
    }
}

/// A `downgrade_rules` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerRule {
    /// `rule_name`: unique in the plug-in.
    pub name: String,
    /// `match_regex`, parsed.
    pub condition: RuleCondition,
    /// `parameters`: the names of the declared parameters the rule uses (shown as given).
    pub parameters: Vec<String>,
    /// `breaker_condition`: the rule's own; `None`: the plug-in's.
    pub breaker: Option<BreakerCondition>,
    /// `downgrade_backend`: the rule's own; `None`: the plug-in's.
    pub downgrade: Option<Downgrade>,
}

/// What an open breaker does with a call (`PluginBreakerDowngradeInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Downgrade {
    /// `mock`: a fixed answer.
    Mock(MockAnswer),
    /// `passthrough`: the API's own backend, with these request fields added (name lower
    /// case, value).
    Passthrough(Vec<(String, String)>),
    /// `http` / `http_vpc`: another backend.
    Http(DowngradeBackend),
}

/// `mock_info`: the answer a `mock` downgrade gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockAnswer {
    /// `status_code`: 200–599.
    pub status: u16,
    /// `result_content`: the body.
    pub body: String,
    /// `headers`: response fields (name lower case, value).
    pub headers: Vec<(String, String)>,
}

/// `http_info` / `http_vpc_info`: the backend an `http` or `http_vpc` downgrade calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DowngradeBackend {
    /// Where: an address, or a VPC channel's servers.
    pub target: DowngradeTarget,
    /// `scheme` `HTTPS`.
    pub https: bool,
    /// `method`: the method sent (`ANY`: the caller's).
    pub method: HttpMethod,
    /// `path`: the path sent.
    pub path: String,
    /// `timeout`: milliseconds allowed for its answer.
    pub timeout_ms: u32,
    /// Given as `http_vpc` (shown so).
    pub as_http_vpc: bool,
}

/// Where a downgrade backend is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DowngradeTarget {
    /// `address`: `host[:port]`.
    Address(BackendAddress),
    /// `vpc_channel_id`: a VPC channel of the instance.
    Channel(String),
}

/// A whole number of the content in `min..=max`, `None` when absent.
fn bounded(
    object: &Map<String, Value>,
    key: &str,
    field: &str,
    (min, max): (i64, i64),
) -> Result<Option<u32>, ApiError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n as u32)),
            _ => Err(content_field(field)),
        },
    }
}

/// A list of `{key|name, value}` fields (at most [`MAX_DOWNGRADE_FIELDS`]), names checked by
/// `name_ok` (given lower case).
fn fields(
    object: &Map<String, Value>,
    key: &str,
    field: &str,
    name_ok: impl Fn(&str) -> bool,
) -> Result<Vec<(String, String)>, ApiError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for item in objects(object, key, MAX_DOWNGRADE_FIELDS)? {
        only_keys(
            item,
            &["key", "name", "value", "location"],
            &format!("{field}."),
        )?;
        let name = match (item.get("key"), item.get("name")) {
            (Some(Value::String(n)), None) | (None, Some(Value::String(n))) => n,
            _ => return Err(content_field(&format!("{field}.key"))),
        };
        let name = name.to_ascii_lowercase();
        let valid = !name.is_empty()
            && name.len() <= 128
            && name.bytes().all(super::is_tchar)
            && name_ok(&name)
            && !out.iter().any(|(n, _)| *n == name);
        if !valid {
            return Err(content_field(&format!("{field}.key")));
        }
        if !matches!(item.get("location"), None | Some(Value::Null))
            && item.get("location") != Some(&Value::from("header"))
        {
            return Err(content_field(&format!("{field}.location")));
        }
        let value = match item.get("value") {
            None | Some(Value::Null) => "",
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(content_field(&format!("{field}.value"))),
        };
        let value_ok = value.len() <= 1_024
            && value
                .bytes()
                .all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
        if !value_ok {
            return Err(content_field(&format!("{field}.value")));
        }
        out.push((name, value.trim().to_owned()));
    }
    Ok(out)
}

fn fields_json(fields: &[(String, String)]) -> Value {
    let list: Vec<Value> = fields
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    Value::Array(list)
}

/// Whether `name` is a request field a `passthrough` downgrade may add: not one that frames
/// the request, belongs to one connection, or carries the caller's credentials.
fn is_addable_request_field(name: &str) -> bool {
    !name.starts_with("x-apig-")
        && !matches!(name, "host" | "authorization" | "x-request-id")
        && !super::is_framing_or_hop_field(name)
}

impl BreakerCondition {
    fn parse(object: &Map<String, Value>, field: &str) -> Result<Self, ApiError> {
        only_keys(
            object,
            &[
                "breaker_type",
                "breaker_mode",
                "unhealthy_condition",
                "unhealthy_threshold",
                "min_call_threshold",
                "unhealthy_percentage",
                "time_window",
                "open_breaker_time",
            ],
            &format!("{field}."),
        )?;
        let name = |key: &str| format!("{field}.{key}");
        let condition_text = match object.get("unhealthy_condition") {
            None | Some(Value::Null) => "",
            Some(Value::String(s)) => s.trim(),
            Some(_) => return Err(content_field(&name("unhealthy_condition"))),
        };
        let condition = if condition_text.is_empty() {
            None
        } else {
            Some(
                OutcomeCondition::parse(condition_text)
                    .ok_or_else(|| content_field(&name("unhealthy_condition")))?,
            )
        };
        let trigger = match text(object, "breaker_type", &name("breaker_type"))? {
            "timeout" => BreakerTrigger::Timeout,
            "condition" => BreakerTrigger::Condition(condition.ok_or_else(|| {
                ApiError::missing_field(&format!("plugin_content.{}", name("unhealthy_condition")))
            })?),
            _ => return Err(content_field(&name("breaker_type"))),
        };
        let percentage_mode = match object.get("breaker_mode") {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) if s == "counter" => false,
            Some(Value::String(s)) if s == "percentage" => true,
            Some(_) => return Err(content_field(&name("breaker_mode"))),
        };
        let count = (1, super::rules::MAX_NUMBER);
        let required = |key: &str, range| {
            bounded(object, key, &name(key), range)?
                .ok_or_else(|| ApiError::missing_field(&format!("plugin_content.{}", name(key))))
        };
        // Shown as 0 when not given, so 0 reads back as not given.
        let optional = |key: &str, (_, max): (i64, i64)| {
            Ok::<_, ApiError>(bounded(object, key, &name(key), (0, max))?.filter(|n| *n > 0))
        };
        let seconds = (1, i64::from(MAX_BREAKER_SECONDS));
        let (unhealthy_threshold, min_call_threshold, unhealthy_percentage) = if percentage_mode {
            (
                optional("unhealthy_threshold", count)?,
                Some(required("min_call_threshold", count)?),
                Some(required("unhealthy_percentage", (1, 100))?),
            )
        } else {
            (
                Some(required("unhealthy_threshold", count)?),
                optional("min_call_threshold", count)?,
                optional("unhealthy_percentage", (1, 100))?,
            )
        };
        Ok(Self {
            trigger,
            percentage_mode,
            unhealthy_threshold: unhealthy_threshold.unwrap_or(0),
            min_call_threshold: min_call_threshold.unwrap_or(0),
            unhealthy_percentage: unhealthy_percentage.unwrap_or(0),
            time_window: required("time_window", seconds)?,
            open_breaker_time: required("open_breaker_time", seconds)?,
        })
    }

    fn to_json(&self) -> Value {
        let (kind, condition) = match &self.trigger {
            BreakerTrigger::Timeout => ("timeout", String::new()),
            BreakerTrigger::Condition(c) => ("condition", c.to_json().to_string()),
        };
        json!({
            "breaker_type": kind,
            "breaker_mode": if self.percentage_mode { "percentage" } else { "counter" },
            "unhealthy_condition": condition,
            "unhealthy_threshold": self.unhealthy_threshold,
            "min_call_threshold": self.min_call_threshold,
            "unhealthy_percentage": self.unhealthy_percentage,
            "time_window": self.time_window,
            "open_breaker_time": self.open_breaker_time,
        })
    }

    /// Length of the counting window in milliseconds.
    pub fn window_ms(&self) -> u64 {
        u64::from(self.time_window) * 1000
    }

    /// How long the breaker stays open, in milliseconds.
    pub fn open_ms(&self) -> u64 {
        u64::from(self.open_breaker_time) * 1000
    }
}

/// The `*_info` keys of a downgrade; only the one of its type may be set.
const DOWNGRADE_INFOS: [&str; 5] = [
    "mock_info",
    "passthrough_infos",
    "http_info",
    "http_vpc_info",
    "func_info",
];

impl Downgrade {
    /// A downgrade object, `None` for `null` (503).
    fn parse(value: Option<&Value>, field: &str) -> Result<Option<Self>, ApiError> {
        let object = match value {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Object(o)) => o,
            Some(_) => return Err(content_field(field)),
        };
        let mut keys = vec!["type"];
        keys.extend(DOWNGRADE_INFOS);
        only_keys(object, &keys, &format!("{field}."))?;
        let kind = text(object, "type", &format!("{field}.type"))?;
        let info_key = match kind {
            "mock" => "mock_info",
            "passthrough" => "passthrough_infos",
            "http" => "http_info",
            "http_vpc" => "http_vpc_info",
            "function" => {
                return Err(ApiError::new(
                    400,
                    "APIG.2011",
                    format!(
                        "Parameter value does not match the rules,parameterName:plugin_content.{field}.type. \
                         FunctionGraph backends are not supported by this gateway; use mock, passthrough, http or http_vpc."
                    ),
                ))
            }
            _ => return Err(content_field(&format!("{field}.type"))),
        };
        if let Some(other) = DOWNGRADE_INFOS
            .iter()
            .find(|k| **k != info_key && !matches!(object.get(**k), None | Some(Value::Null)))
        {
            return Err(content_field(&format!("{field}.{other}")));
        }
        let info_field = format!("{field}.{info_key}");
        if kind == "passthrough" {
            let headers = fields(object, info_key, &info_field, is_addable_request_field)?;
            return Ok(Some(Self::Passthrough(headers)));
        }
        let info = match object.get(info_key) {
            Some(Value::Object(o)) => o,
            None | Some(Value::Null) => {
                return Err(ApiError::missing_field(&format!(
                    "plugin_content.{info_field}"
                )))
            }
            Some(_) => return Err(content_field(&info_field)),
        };
        Ok(Some(match kind {
            "mock" => Self::Mock(MockAnswer::parse(info, &info_field)?),
            _ => Self::Http(DowngradeBackend::parse(
                info,
                &info_field,
                kind == "http_vpc",
            )?),
        }))
    }

    fn to_json(&self) -> Value {
        match self {
            Self::Mock(m) => json!({
                "type": "mock",
                "mock_info": {
                    "status_code": m.status,
                    "result_content": m.body,
                    "headers": fields_json(&m.headers),
                },
            }),
            Self::Passthrough(headers) => json!({
                "type": "passthrough",
                "passthrough_infos": fields_json(headers),
            }),
            Self::Http(b) => {
                let (is_vpc, channel, address) = match &b.target {
                    DowngradeTarget::Address(a) => (false, String::new(), a.to_string()),
                    DowngradeTarget::Channel(id) => (true, id.clone(), String::new()),
                };
                let mut info = json!({
                    "vpc_channel_id": channel,
                    "scheme": if b.https { "HTTPS" } else { "HTTP" },
                    "method": b.method.as_str(),
                    "path": b.path,
                    "timeout": b.timeout_ms,
                });
                if b.as_http_vpc {
                    json!({"type": "http_vpc", "http_vpc_info": info})
                } else {
                    info["isVpc"] = Value::from(is_vpc);
                    info["address"] = Value::from(address);
                    json!({"type": "http", "http_info": info})
                }
            }
        }
    }
}

impl MockAnswer {
    fn parse(info: &Map<String, Value>, field: &str) -> Result<Self, ApiError> {
        only_keys(
            info,
            &["status_code", "result_content", "headers"],
            &format!("{field}."),
        )?;
        let status = bounded(
            info,
            "status_code",
            &format!("{field}.status_code"),
            (200, 599),
        )?
        .unwrap_or(200) as u16;
        let body = match info.get("result_content") {
            None | Some(Value::Null) => "",
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(content_field(&format!("{field}.result_content"))),
        };
        let headers = fields(info, "headers", &format!("{field}.headers"), |n| {
            !super::is_reserved_response_field(n)
        })?;
        Ok(Self {
            status,
            body: body.to_owned(),
            headers,
        })
    }
}

impl DowngradeBackend {
    fn parse(info: &Map<String, Value>, field: &str, as_http_vpc: bool) -> Result<Self, ApiError> {
        only_keys(
            info,
            &[
                "isVpc",
                "vpc_channel_id",
                "address",
                "scheme",
                "method",
                "path",
                "timeout",
            ],
            &format!("{field}."),
        )?;
        let name = |key: &str| format!("{field}.{key}");
        let optional_text = |key: &str| match info.get(key) {
            None | Some(Value::Null) => Ok(""),
            Some(Value::String(s)) => Ok(s.trim()),
            Some(_) => Err(content_field(&name(key))),
        };
        let is_vpc = as_http_vpc
            || match info.get("isVpc") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(content_field(&name("isVpc"))),
            };
        let target = if is_vpc {
            let id = optional_text("vpc_channel_id")?;
            let id_ok = !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !id_ok {
                return Err(content_field(&name("vpc_channel_id")));
            }
            DowngradeTarget::Channel(id.to_owned())
        } else {
            let address = BackendAddress::parse(optional_text("address")?)
                .ok_or_else(|| content_field(&name("address")))?;
            DowngradeTarget::Address(address)
        };
        let https = match optional_text("scheme")?.to_ascii_uppercase().as_str() {
            "" | "HTTP" => false,
            "HTTPS" => true,
            _ => return Err(content_field(&name("scheme"))),
        };
        let method = match optional_text("method")?.to_ascii_uppercase().as_str() {
            "" => HttpMethod::Any,
            m => HttpMethod::from_wire(m).ok_or_else(|| content_field(&name("method")))?,
        };
        let path = match optional_text("path")? {
            "" => "/",
            p => p,
        };
        let path_ok = path.starts_with('/')
            && path.len() <= 1_024
            && path
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'?' && b != b'#');
        if !path_ok {
            return Err(content_field(&name("path")));
        }
        let timeout_ms =
            bounded(info, "timeout", &name("timeout"), (1, MAX_TIMEOUT_MS))?.unwrap_or(5_000);
        Ok(Self {
            target,
            https,
            method,
            path: path.to_owned(),
            timeout_ms,
            as_http_vpc,
        })
    }

    /// The protocol spoken to it.
    pub fn protocol(&self) -> BackendProtocol {
        if self.https {
            BackendProtocol::Https
        } else {
            BackendProtocol::Http
        }
    }
}

impl BreakerPlugin {
    /// Reads the content of a `breaker` plug-in.
    pub(super) fn parse(content: &Map<String, Value>) -> Result<Self, ApiError> {
        only_keys(
            content,
            &[
                "scope",
                "breaker_condition",
                "downgrade_default",
                "downgrade_parameters",
                "downgrade_rules",
            ],
            "",
        )?;
        let shared = match content.get("scope") {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) if s == "basic" => false,
            Some(Value::String(s)) if s == "share" => true,
            Some(_) => return Err(content_field("scope")),
        };
        let condition = match content.get("breaker_condition") {
            Some(Value::Object(o)) => BreakerCondition::parse(o, "breaker_condition")?,
            None | Some(Value::Null) => {
                return Err(ApiError::missing_field("plugin_content.breaker_condition"))
            }
            Some(_) => return Err(content_field("breaker_condition")),
        };
        let downgrade = Downgrade::parse(content.get("downgrade_default"), "downgrade_default")?;
        let parameters = parse_parameters(content, "downgrade_parameters")?;
        let mut rules: Vec<BreakerRule> = Vec::new();
        for rule in objects(content, "downgrade_rules", MAX_RULES)? {
            only_keys(
                rule,
                &[
                    "rule_name",
                    "match_regex",
                    "parameters",
                    "breaker_condition",
                    "downgrade_backend",
                ],
                "downgrade_rules.",
            )?;
            let name = text(rule, "rule_name", "downgrade_rules.rule_name")?;
            let name_ok =
                (1..=64).contains(&name.chars().count()) && !name.chars().any(char::is_control);
            if !name_ok || rules.iter().any(|r| r.name == name) {
                return Err(content_field("downgrade_rules.rule_name"));
            }
            let condition_text = text(rule, "match_regex", "downgrade_rules.match_regex")?;
            let condition = parse_condition(&parameters, condition_text)
                .ok_or_else(|| content_field("downgrade_rules.match_regex"))?;
            let names = match rule.get("parameters") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(list)) => list
                    .iter()
                    .map(|n| {
                        n.as_str()
                            .filter(|n| parameters.iter().any(|p| p.name == *n))
                            .map(str::to_owned)
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| content_field("downgrade_rules.parameters"))?,
                Some(_) => return Err(content_field("downgrade_rules.parameters")),
            };
            let breaker = match rule.get("breaker_condition") {
                None | Some(Value::Null) => None,
                Some(Value::Object(o)) => Some(BreakerCondition::parse(
                    o,
                    "downgrade_rules.breaker_condition",
                )?),
                Some(_) => return Err(content_field("downgrade_rules.breaker_condition")),
            };
            let downgrade = Downgrade::parse(
                rule.get("downgrade_backend"),
                "downgrade_rules.downgrade_backend",
            )?;
            rules.push(BreakerRule {
                name: name.to_owned(),
                condition,
                parameters: names,
                breaker,
                downgrade,
            });
        }
        Ok(Self {
            shared,
            condition,
            downgrade,
            parameters,
            rules,
        })
    }

    pub(super) fn to_json(&self) -> Value {
        let downgrade = |d: &Option<Downgrade>| d.as_ref().map_or(Value::Null, Downgrade::to_json);
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|r| {
                json!({
                    "rule_name": r.name,
                    "match_regex": condition_text(&self.parameters, &r.condition).to_string(),
                    "parameters": r.parameters,
                    "breaker_condition": r.breaker.as_ref().map_or(Value::Null, BreakerCondition::to_json),
                    "downgrade_backend": downgrade(&r.downgrade),
                })
            })
            .collect();
        json!({
            "scope": if self.shared { "share" } else { "basic" },
            "breaker_condition": self.condition.to_json(),
            "downgrade_default": downgrade(&self.downgrade),
            "downgrade_parameters": parameters_json(&self.parameters),
            "downgrade_rules": rules,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{PluginContent, PluginType};
    use super::*;

    fn parse(content: Value) -> Result<BreakerPlugin, ApiError> {
        match PluginContent::parse(PluginType::Breaker, &content.to_string())? {
            PluginContent::Breaker(b) => Ok(b),
            other => panic!("{other:?}"),
        }
    }

    fn refused_field(content: Value) -> String {
        let e = parse(content).unwrap_err();
        assert_eq!(e.status, 400, "{e:?}");
        e.message.to_string()
    }

    /// The example of APIG's user guide (an `http` downgrade, a `mock` one in a rule).
    fn guide_example() -> Value {
        json!({
            "breaker_condition": {"breaker_type": "timeout", "breaker_mode": "counter",
                "unhealthy_threshold": 30, "time_window": 15, "open_breaker_time": 15,
                "unhealthy_percentage": 51, "min_call_threshold": 20},
            "scope": "share",
            "downgrade_default": {"type": "http", "passthrough_infos": null, "func_info": null,
                "mock_info": null, "http_info": {"isVpc": false, "vpc_channel_id": "",
                "address": "10.10.10.10", "scheme": "HTTP", "method": "GET", "path": "/demo",
                "timeout": 5000}, "http_vpc_info": null},
            "downgrade_parameters": [
                {"name": "reqPath", "type": "path", "value": "path", "disabled": true,
                 "focused": true, "id": "92002eqbpilg6g"},
                {"name": "method", "type": "method", "value": "method"}
            ],
            "downgrade_rules": [{
                "rule_name": "rule-test1", "parameters": ["reqPath", "method"],
                "match_regex": "[\"reqPath\",\"==\",\"/test\"]",
                "downgrade_backend": {"type": "mock", "mock_info": {"status_code": 200,
                    "result_content": "{status: ok}", "headers": []}},
                "breaker_condition": {"breaker_type": "timeout", "breaker_mode": "percentage",
                    "unhealthy_threshold": 30, "time_window": 15, "open_breaker_time": 15,
                    "unhealthy_percentage": 51, "min_call_threshold": 20}
            }]
        })
    }

    #[test]
    fn apig_s_examples_parse_and_render_in_canonical_form() {
        let plugin = parse(guide_example()).unwrap();
        assert!(plugin.shared);
        assert_eq!(plugin.condition.trigger, BreakerTrigger::Timeout);
        assert!(!plugin.condition.percentage_mode);
        assert_eq!(plugin.condition.unhealthy_threshold, 30);
        assert_eq!(plugin.condition.window_ms(), 15_000);
        match &plugin.downgrade {
            Some(Downgrade::Http(b)) => {
                assert_eq!(
                    b.target,
                    DowngradeTarget::Address(BackendAddress::parse("10.10.10.10").unwrap())
                );
                assert_eq!(
                    (b.https, b.method, b.path.as_str(), b.timeout_ms),
                    (false, HttpMethod::Get, "/demo", 5000)
                );
            }
            other => panic!("{other:?}"),
        }
        let rule = &plugin.rules[0];
        assert_eq!(rule.parameters, ["reqPath", "method"]);
        assert!(rule.breaker.as_ref().unwrap().percentage_mode);
        assert_eq!(
            rule.downgrade,
            Some(Downgrade::Mock(MockAnswer {
                status: 200,
                body: "{status: ok}".into(),
                headers: vec![]
            }))
        );
        // The canonical form reads back the same.
        let shown = PluginContent::Breaker(plugin.clone()).to_content();
        assert_eq!(
            parse(serde_json::from_str(&shown).unwrap()).unwrap(),
            plugin
        );
        let shown: Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(
            shown["downgrade_default"]["http_info"]["address"],
            "10.10.10.10"
        );
        assert_eq!(
            shown["downgrade_rules"][0]["match_regex"],
            "[\"reqPath\",\"==\",\"/test\"]"
        );

        // The Terraform provider's example: a condition over status and response time.
        let plugin = parse(json!({
            "breaker_condition": {"breaker_type": "condition", "breaker_mode": "counter",
                "unhealthy_condition": "[\"OR\",[\"$context.statusCode\",\"in\",\"500,501,504\"],[\"$context.backendResponseTime\",\">\",6000]]",
                "unhealthy_threshold": 30, "min_call_threshold": 20, "unhealthy_percentage": 51,
                "time_window": 15, "open_breaker_time": 15},
            "downgrade_default": null,
            "downgrade_parameters": [{"type": "query", "name": "authType", "value": "authType"}],
            "downgrade_rules": [{"breaker_condition": {"breaker_type": "timeout",
                "breaker_mode": "percentage", "unhealthy_condition": "", "unhealthy_threshold": 30,
                "min_call_threshold": 20, "unhealthy_percentage": 51, "time_window": 15,
                "open_breaker_time": 15}, "downgrade_backend": null, "rule_name": "rule-qkqe",
                "match_regex": "[\"authType\",\"~=\",\"Token\"]", "parameters": ["authType"]}],
            "scope": "basic"
        }))
        .unwrap();
        let BreakerTrigger::Condition(condition) = &plugin.condition.trigger else {
            panic!("{:?}", plugin.condition.trigger)
        };
        assert!(condition.holds(501, 10));
        assert!(condition.holds(200, 6001));
        assert!(!condition.holds(200, 6000));
        assert!(!condition.holds(502, 100));
        assert_eq!(plugin.downgrade, None);
        let shown = PluginContent::Breaker(plugin.clone()).to_content();
        assert_eq!(
            parse(serde_json::from_str(&shown).unwrap()).unwrap(),
            plugin
        );
    }

    #[test]
    fn every_kind_of_downgrade_parses() {
        let with = |downgrade: Value| {
            parse(json!({
                "breaker_condition": {"breaker_type": "timeout", "unhealthy_threshold": 1,
                    "time_window": 1, "open_breaker_time": 1},
                "downgrade_default": downgrade,
            }))
        };
        let mock = with(json!({"type": "mock", "mock_info": {"status_code": 503,
            "result_content": "{\"busy\":true}", "headers": [{"key": "Retry-After", "value": "30"}]}}));
        assert_eq!(
            mock.unwrap().downgrade,
            Some(Downgrade::Mock(MockAnswer {
                status: 503,
                body: "{\"busy\":true}".into(),
                headers: vec![("retry-after".into(), "30".into())],
            }))
        );
        let pass = with(
            json!({"type": "passthrough", "passthrough_infos": [{"name": "X-Degraded", "value": "1"}]}),
        );
        assert_eq!(
            pass.unwrap().downgrade,
            Some(Downgrade::Passthrough(vec![(
                "x-degraded".into(),
                "1".into()
            )]))
        );
        let vpc = with(
            json!({"type": "http_vpc", "http_vpc_info": {"vpc_channel_id": "abc123",
            "scheme": "HTTPS", "method": "POST", "path": "/fallback", "timeout": 100}}),
        )
        .unwrap();
        let Some(Downgrade::Http(b)) = &vpc.downgrade else {
            panic!("{vpc:?}")
        };
        assert_eq!(b.target, DowngradeTarget::Channel("abc123".into()));
        assert!(b.https && b.as_http_vpc);
        let shown = PluginContent::Breaker(vpc.clone()).to_content();
        assert_eq!(parse(serde_json::from_str(&shown).unwrap()).unwrap(), vpc);
        let channel =
            with(json!({"type": "http", "http_info": {"isVpc": true, "vpc_channel_id": "c1"}}));
        let Some(Downgrade::Http(b)) = channel.unwrap().downgrade else {
            panic!()
        };
        assert_eq!(
            (b.method, b.path.as_str(), b.timeout_ms),
            (HttpMethod::Any, "/", 5000)
        );
        assert!(!b.as_http_vpc);
    }

    #[test]
    fn every_rule_of_the_content_is_enforced() {
        let base = || {
            json!({"breaker_condition": {"breaker_type": "timeout", "unhealthy_threshold": 3,
                "time_window": 10, "open_breaker_time": 30}})
        };
        parse(base()).unwrap();
        let cases: Vec<(Value, &str)> = vec![
            (json!({"scope": "all"}), "plugin_content.scope"),
            (json!({"unknown": 1}), "plugin_content.unknown"),
            (
                json!({"breaker_condition": 1}),
                "plugin_content.breaker_condition",
            ),
            (
                json!({"breaker_condition": {"breaker_type": "slow", "unhealthy_threshold": 3, "time_window": 10, "open_breaker_time": 30}}),
                "breaker_condition.breaker_type",
            ),
            (
                json!({"breaker_condition": {"breaker_type": "timeout", "unhealthy_threshold": 0, "time_window": 10, "open_breaker_time": 30}}),
                "breaker_condition.unhealthy_threshold",
            ),
            (
                json!({"breaker_condition": {"breaker_type": "timeout", "unhealthy_threshold": 3, "time_window": 3601, "open_breaker_time": 30}}),
                "breaker_condition.time_window",
            ),
            (
                json!({"breaker_condition": {"breaker_type": "timeout", "unhealthy_threshold": 3, "time_window": 10, "open_breaker_time": 0}}),
                "breaker_condition.open_breaker_time",
            ),
            (
                json!({"breaker_condition": {"breaker_type": "timeout", "breaker_mode": "percentage", "min_call_threshold": 5, "unhealthy_percentage": 101, "time_window": 10, "open_breaker_time": 30}}),
                "breaker_condition.unhealthy_percentage",
            ),
            (
                json!({"breaker_condition": {"breaker_type": "condition", "unhealthy_condition": "[\"$context.latency\",\">\",5]", "unhealthy_threshold": 3, "time_window": 10, "open_breaker_time": 30}}),
                "breaker_condition.unhealthy_condition",
            ),
            (
                json!({"breaker_condition": {"breaker_type": "condition", "unhealthy_condition": "[\"$context.statusCode\",\"in\",\"5xx\"]", "unhealthy_threshold": 3, "time_window": 10, "open_breaker_time": 30}}),
                "breaker_condition.unhealthy_condition",
            ),
            (
                json!({"downgrade_default": {"type": "mock", "mock_info": {"status_code": 100}}}),
                "downgrade_default.mock_info.status_code",
            ),
            (
                json!({"downgrade_default": {"type": "mock", "mock_info": {"headers": [{"key": "X-Request-Id", "value": "1"}]}}}),
                "downgrade_default.mock_info.headers.key",
            ),
            (
                json!({"downgrade_default": {"type": "mock"}}),
                "plugin_content.downgrade_default.mock_info",
            ),
            (
                json!({"downgrade_default": {"type": "mock", "mock_info": {}, "http_info": {"address": "a"}}}),
                "downgrade_default.http_info",
            ),
            (
                json!({"downgrade_default": {"type": "passthrough", "passthrough_infos": [{"key": "Host", "value": "x"}]}}),
                "downgrade_default.passthrough_infos.key",
            ),
            (
                json!({"downgrade_default": {"type": "http", "http_info": {"address": "not an address"}}}),
                "downgrade_default.http_info.address",
            ),
            (
                json!({"downgrade_default": {"type": "http", "http_info": {"address": "b.example", "path": "relative"}}}),
                "downgrade_default.http_info.path",
            ),
            (
                json!({"downgrade_default": {"type": "http", "http_info": {"address": "b.example", "timeout": 600001}}}),
                "downgrade_default.http_info.timeout",
            ),
            (
                json!({"downgrade_default": {"type": "http_vpc", "http_vpc_info": {"vpc_channel_id": ""}}}),
                "downgrade_default.http_vpc_info.vpc_channel_id",
            ),
            (
                json!({"downgrade_default": {"type": "function", "func_info": {}}}),
                "FunctionGraph backends are not supported",
            ),
            (
                json!({"downgrade_rules": [{"rule_name": "r", "match_regex": "[\"nope\",\"==\",\"1\"]"}]}),
                "downgrade_rules.match_regex",
            ),
            (
                json!({"downgrade_parameters": [{"type": "method", "name": "m", "value": "method"}],
                    "downgrade_rules": [{"rule_name": "r", "match_regex": "[\"m\",\"==\",\"GET\"]", "parameters": ["x"]}]}),
                "downgrade_rules.parameters",
            ),
            (
                json!({"downgrade_parameters": [{"type": "method", "name": "m", "value": "method"}],
                    "downgrade_rules": [{"rule_name": "r", "match_regex": "[\"m\",\"==\",\"GET\"]"},
                                        {"rule_name": "r", "match_regex": "[\"m\",\"==\",\"PUT\"]"}]}),
                "downgrade_rules.rule_name",
            ),
            (
                json!({"downgrade_parameters": [{"type": "system", "name": "s", "value": "apiName"}]}),
                "System parameter apiName is not supported",
            ),
        ];
        for (patch, wanted) in cases {
            let mut content = base();
            for (k, v) in patch.as_object().unwrap() {
                content[k] = v.clone();
            }
            let message = refused_field(content.clone());
            assert!(message.contains(wanted), "{content}: {message}");
        }
        // Missing mandatory fields are named as such.
        let e = parse(json!({})).unwrap_err();
        assert_eq!(e.code, "APIG.2001", "{e:?}");
        let e = parse(
            json!({"breaker_condition": {"breaker_type": "condition", "unhealthy_threshold": 3,
            "time_window": 10, "open_breaker_time": 30}}),
        )
        .unwrap_err();
        assert!(e.message.contains("unhealthy_condition"), "{e:?}");
        let e = parse(
            json!({"breaker_condition": {"breaker_type": "timeout", "breaker_mode": "percentage",
            "unhealthy_percentage": 50, "time_window": 10, "open_breaker_time": 30}}),
        )
        .unwrap_err();
        assert!(e.message.contains("min_call_threshold"), "{e:?}");
    }
}
