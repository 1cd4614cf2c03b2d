//! What the parameter-based rules of plug-ins share (`rate_limit`'s `parameters` and `rules`,
//! `breaker`'s `downgrade_parameters` and `downgrade_rules`): the parameters a rule reads of a
//! call, and APIG's condition text over them.
//!
//! A condition (`match_regex`) is a JSON array: `[name, operator, value]` for one test of the
//! parameter `name` declares, or `["AND" | "OR", condition, ...]`. Operators: `==` equal, `~=`
//! not equal, `~~` regular expression found in the value, `in` one of a comma-separated list.

use super::content_field;
use crate::api::policy::compile_pattern;
use crate::error::ApiError;
use serde_json::{json, Map, Value};

/// Most rules one plug-in may have (APIG's limit), and most parameters.
pub const MAX_RULES: usize = 100;

/// Deepest nesting of `AND`/`OR` in a rule's condition (our limit).
const MAX_CONDITION_DEPTH: usize = 5;

/// Largest number of a plug-in's content (APIG's bound).
pub(super) const MAX_NUMBER: i64 = 2_147_483_647;

/// A parameter the rules of a plug-in test, by its `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleParameter {
    /// How the rules name it (1–32 characters, unique in the plug-in).
    pub name: String,
    /// What of the call it reads.
    pub source: ParameterSource,
}

/// What of a call a rule parameter reads (`type` and `value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParameterSource {
    /// `header`: the first value of this request header (lower case).
    Header(String),
    /// `query`: the first value of this query parameter.
    Query(String),
    /// `path`: the request path.
    Path,
    /// `method`: the request method.
    Method,
    /// `system`: a value the gateway knows of the call.
    System(SystemValue),
}

/// The system values a rule parameter of type `system` may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemValue {
    /// `sourceIp`: the client address (as access control sees it).
    SourceIp,
    /// `serverName`: the host the call was sent to, without port.
    ServerName,
}

impl SystemValue {
    const ALL: [(&'static str, Self); 2] = [
        ("sourceIp", Self::SourceIp),
        ("serverName", Self::ServerName),
    ];

    fn from_wire(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, v)| *v)
    }

    fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("", |(n, _)| n)
    }
}

/// A rule's condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleCondition {
    /// One test of one parameter (an index into the plug-in's `parameters`).
    Test {
        /// Which parameter.
        parameter: usize,
        /// What it must be.
        test: RuleTest,
    },
    /// Every one holds (`AND`).
    All(Vec<RuleCondition>),
    /// At least one holds (`OR`).
    Any(Vec<RuleCondition>),
}

/// What a rule's parameter must be. A call without the parameter meets no test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleTest {
    /// `==`.
    Equals(String),
    /// `~=`.
    NotEquals(String),
    /// `~~`: the regular expression is found in the value.
    Pattern(String),
    /// `in`: one of these.
    OneOf(Vec<String>),
}

/// A number field of the content: an integer in `min..=MAX_NUMBER`.
pub(super) fn number(
    content: &Map<String, Value>,
    field: &str,
    min: i64,
) -> Result<Option<i64>, ApiError> {
    match content.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if (min..=MAX_NUMBER).contains(&n) => Ok(Some(n)),
            _ => Err(content_field(field)),
        },
    }
}

/// Refuses a key of `object` outside `known`, naming it under `prefix`.
pub(super) fn only_keys(
    object: &Map<String, Value>,
    known: &[&str],
    prefix: &str,
) -> Result<(), ApiError> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(content_field(&format!("{prefix}{key}"))),
        None => Ok(()),
    }
}

/// The objects of the list `field` (at most `max`; absent or `null`: none).
pub(super) fn objects<'a>(
    content: &'a Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<Vec<&'a Map<String, Value>>, ApiError> {
    match content.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) if list.len() <= max => list
            .iter()
            .map(|item| item.as_object().ok_or_else(|| content_field(field)))
            .collect(),
        Some(_) => Err(content_field(field)),
    }
}

/// The text `key` of `object`, refused as `field` when it is none.
pub(super) fn text<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<&'a str, ApiError> {
    match object.get(key) {
        Some(Value::String(s)) => Ok(s.as_str()),
        _ => Err(content_field(field)),
    }
}

/// The parameters of the list `field` (`parameters`, `downgrade_parameters`): names 1–32
/// characters, unique, neither `AND` nor `OR`; a header's or query parameter's name given.
pub(super) fn parse_parameters(
    content: &Map<String, Value>,
    field: &str,
) -> Result<Vec<RuleParameter>, ApiError> {
    let mut parameters: Vec<RuleParameter> = Vec::new();
    for parameter in objects(content, field, MAX_RULES)? {
        // `id`, `disabled` and `focused` are the console's (APIG's own examples carry them).
        only_keys(
            parameter,
            &["id", "type", "name", "value", "disabled", "focused"],
            &format!("{field}."),
        )?;
        let name = text(parameter, "name", &format!("{field}.name"))?;
        let name_ok = (1..=32).contains(&name.chars().count())
            && !name.chars().any(char::is_control)
            && !matches!(name, "AND" | "OR");
        if !name_ok || parameters.iter().any(|p| p.name == name) {
            return Err(content_field(&format!("{field}.name")));
        }
        let value = text(parameter, "value", &format!("{field}.value"))?;
        let bad_value = || content_field(&format!("{field}.value"));
        let source = match text(parameter, "type", &format!("{field}.type"))? {
            "header" => {
                let lower = value.to_ascii_lowercase();
                if lower.is_empty() || lower.len() > 128 || !lower.bytes().all(super::is_tchar) {
                    return Err(bad_value());
                }
                ParameterSource::Header(lower)
            }
            "query" => {
                if value.is_empty() || value.len() > 128 || value.chars().any(char::is_control) {
                    return Err(bad_value());
                }
                ParameterSource::Query(value.to_owned())
            }
            "path" => ParameterSource::Path,
            "method" => ParameterSource::Method,
            "system" => ParameterSource::System(SystemValue::from_wire(value).ok_or_else(|| {
                ApiError::new(
                    400,
                    "APIG.2011",
                    format!(
                        "Parameter value does not match the rules,parameterName:plugin_content.{field}.value. \
                         System parameter {value} is not supported; use sourceIp or serverName."
                    ),
                )
            })?),
            _ => return Err(content_field(&format!("{field}.type"))),
        };
        parameters.push(RuleParameter {
            name: name.to_owned(),
            source,
        });
    }
    Ok(parameters)
}

/// A condition tree in APIG's text form: `["AND" | "OR", part, ...]` (at least one part,
/// nested at most [`MAX_CONDITION_DEPTH`] deep) joined by `join` (`true` for `AND`), or a
/// test `[name, operator, operand]` read by `test`.
pub(super) fn condition_tree<T>(
    value: &Value,
    depth: usize,
    test: &impl Fn(&str, &Value, &Value) -> Option<T>,
    join: fn(bool, Vec<T>) -> T,
) -> Option<T> {
    let list = value.as_array()?;
    let head = list.first()?.as_str()?;
    if matches!(head, "AND" | "OR") {
        if depth >= MAX_CONDITION_DEPTH || list.len() < 2 {
            return None;
        }
        let parts = list[1..]
            .iter()
            .map(|c| condition_tree(c, depth + 1, test, join))
            .collect::<Option<Vec<_>>>()?;
        return Some(join(head == "AND", parts));
    }
    let [_, op, operand] = list.as_slice() else {
        return None;
    };
    test(head, op, operand)
}

/// `["AND" | "OR", part, ...]`: a junction in APIG's text form.
pub(super) fn junction_json(all: bool, parts: impl Iterator<Item = Value>) -> Value {
    let mut list = vec![Value::from(if all { "AND" } else { "OR" })];
    list.extend(parts);
    Value::Array(list)
}

/// The condition `text` (a rule's `match_regex`) over `parameters`, if it is one.
pub(super) fn parse_condition(parameters: &[RuleParameter], text: &str) -> Option<RuleCondition> {
    let value = serde_json::from_str::<Value>(text).ok()?;
    let join = |all, parts| {
        if all {
            RuleCondition::All(parts)
        } else {
            RuleCondition::Any(parts)
        }
    };
    condition_tree(
        &value,
        0,
        &|name, op, operand| test(parameters, name, op, operand),
        join,
    )
}

/// A test of `match_regex` (`[name, op, operand]`), if it is one of a declared parameter.
fn test(
    parameters: &[RuleParameter],
    head: &str,
    op: &Value,
    operand: &Value,
) -> Option<RuleCondition> {
    let parameter = parameters.iter().position(|p| p.name == head)?;
    let operand = match operand {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    if operand.len() > 1_024 {
        return None;
    }
    let test = match op.as_str()? {
        "==" => RuleTest::Equals(operand),
        "~=" => RuleTest::NotEquals(operand),
        "~~" => {
            compile_pattern(&operand).ok()?;
            RuleTest::Pattern(operand)
        }
        "in" => {
            let items: Vec<String> = operand
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            if items.is_empty() {
                return None;
            }
            RuleTest::OneOf(items)
        }
        _ => return None,
    };
    Some(RuleCondition::Test { parameter, test })
}

/// A rule's condition in APIG's text form.
pub fn condition_text(parameters: &[RuleParameter], condition: &RuleCondition) -> Value {
    match condition {
        RuleCondition::All(parts) | RuleCondition::Any(parts) => junction_json(
            matches!(condition, RuleCondition::All(_)),
            parts.iter().map(|c| condition_text(parameters, c)),
        ),
        RuleCondition::Test { parameter, test } => {
            let name = parameters[*parameter].name.as_str();
            let (op, operand) = match test {
                RuleTest::Equals(v) => ("==", v.clone()),
                RuleTest::NotEquals(v) => ("~=", v.clone()),
                RuleTest::Pattern(v) => ("~~", v.clone()),
                RuleTest::OneOf(vs) => ("in", vs.join(",")),
            };
            json!([name, op, operand])
        }
    }
}

/// The parameters as APIG shows them.
pub(super) fn parameters_json(parameters: &[RuleParameter]) -> Value {
    let list: Vec<Value> = parameters
        .iter()
        .map(|p| {
            let (kind, value) = match &p.source {
                ParameterSource::Header(h) => ("header", h.as_str()),
                ParameterSource::Query(q) => ("query", q.as_str()),
                ParameterSource::Path => ("path", "reqPath"),
                ParameterSource::Method => ("method", "method"),
                ParameterSource::System(s) => ("system", s.as_str()),
            };
            json!({"type": kind, "name": p.name, "value": value})
        })
        .collect();
    Value::Array(list)
}
