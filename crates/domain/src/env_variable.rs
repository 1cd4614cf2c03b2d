//! Environment variables (`/env-variables`): a value per API group and environment that an
//! API's backend address and path refer to as `#name#`, so one definition published in
//! several environments calls a different backend in each. The values that parse, the
//! `#name#` templates, and the errors of the resource.
//!
//! Variables are read when calls are routed, not when an API is published: adding, changing
//! or deleting one takes effect for the APIs already published in its environment. An API
//! whose backend names a variable its environment does not define answers 500 `APIG.0103`.

use crate::error::ApiError;
use serde_json::{json, Value};
use std::borrow::Cow;

/// Most variables one group may have in one environment (Huawei's limit).
pub const MAX_VARIABLES_PER_GROUP_ENV: usize = 50;

/// What encloses a variable's name where it is used.
const MARK: char = '#';

impl ApiError {
    /// 404 `APIG.3011`: no such variable in the instance.
    pub fn env_variable_not_found(id: &str) -> Self {
        Self::new(
            404,
            "APIG.3011",
            format!("The environment variable does not exist, id: {id}"),
        )
    }

    /// 400 `APIG.3303`: the group has a variable of this name in the environment already.
    pub fn env_variable_exists() -> Self {
        Self::new(400, "APIG.3303", "The environment variable already exists.")
    }

    /// 403 `APIG.3106`: the group has [`MAX_VARIABLES_PER_GROUP_ENV`] variables in the
    /// environment already.
    pub fn env_variable_limit() -> Self {
        Self::new(
            403,
            "APIG.3106",
            "The number of variables exceeds the maximum allowed limit.",
        )
    }
}

/// `variable_name`: 3–32 letters, digits, `-` and `_`, starting with a letter; case-sensitive
/// (`ABC` and `abc` are two variables).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VariableName(String);

impl VariableName {
    /// Parses `variable_name`: 400 `APIG.2011` naming the field otherwise.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        if is_variable_name(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ApiError::invalid_body_field("variable_name"))
        }
    }

    /// Reads back a name this type wrote (the store's copy).
    pub fn from_stored(name: String) -> Self {
        Self(name)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_variable_name(s: &str) -> bool {
    let b = s.as_bytes();
    (3..=32).contains(&b.len())
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
}

/// `variable_value`: 1–255 letters, digits and `_-/.:` (what may stand in a host, a port or a
/// path).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VariableValue(String);

impl VariableValue {
    /// Parses `variable_value`: 400 `APIG.2011` naming the field otherwise.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let ok = (1..=255).contains(&raw.len())
            && raw
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"_-/.:".contains(&c));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ApiError::invalid_body_field("variable_value"))
        }
    }

    /// Reads back a value this type wrote (the store's copy).
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    /// The value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One variable as the management API shows it (`EnvVariableInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVariable {
    /// 32 hex id.
    pub id: String,
    /// The API group it belongs to.
    pub group_id: String,
    /// The environment it holds in.
    pub env_id: String,
    /// `variable_name`.
    pub name: VariableName,
    /// `variable_value`.
    pub value: VariableValue,
}

impl EnvVariable {
    /// The wire form: `id`, `group_id`, `env_id`, `variable_name`, `variable_value`.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "group_id": self.group_id,
            "env_id": self.env_id,
            "variable_name": self.name.as_str(),
            "variable_value": self.value.as_str(),
        })
    }
}

/// A name a template uses that its environment does not define.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undefined(pub String);

/// Checks the `#name#` references of `template`: every `#` pairs with the next into a
/// reference to a valid [`VariableName`]. Returns whether there is any (`None`: a `#` that
/// does not pair, or a reference that is not a name).
pub fn references(template: &str) -> Option<bool> {
    let mut parts = template.split(MARK);
    parts.next();
    let mut any = false;
    while let Some(name) = parts.next() {
        // The text after the closing mark; none left means the mark did not close.
        parts.next()?;
        if !is_variable_name(name) {
            return None;
        }
        any = true;
    }
    Some(any)
}

/// `template` with each `#name#` replaced by `value(name)`; the first name without a value
/// is the error. A template without references is returned as it is.
pub fn substitute<'t, 'v>(
    template: &'t str,
    value: impl Fn(&str) -> Option<&'v str>,
) -> Result<Cow<'t, str>, Undefined> {
    if !template.contains(MARK) {
        return Ok(Cow::Borrowed(template));
    }
    let mut out = String::with_capacity(template.len() + 32);
    for (i, part) in template.split(MARK).enumerate() {
        if i % 2 == 0 {
            out.push_str(part);
        } else {
            out.push_str(value(part).ok_or_else(|| Undefined(part.to_owned()))?);
        }
    }
    Ok(Cow::Owned(out))
}

/// `template` with every reference replaced by a placeholder that is valid in a host label and
/// a path segment, to check the rest of a templated field with the rules of its plain form.
pub(crate) fn with_placeholders(template: &str) -> Cow<'_, str> {
    substitute(template, |_| Some("v")).unwrap_or(Cow::Borrowed(template))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_follow_huaweis_rules() {
        for good in ["abc", "Address", "a_b-c", &"a".repeat(32)] {
            assert!(VariableName::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "1abc",
            "_abc",
            "a.bc",
            "ab c",
            "äbc",
            &"a".repeat(33),
            "",
        ] {
            let e = VariableName::parse(bad).unwrap_err();
            assert_eq!(e.code, "APIG.2011", "{bad}");
        }
        for good in [
            "1",
            "192.168.1.5",
            "/Stage/test",
            "host:8080",
            "a_b-c",
            &"v".repeat(255),
        ] {
            assert!(VariableValue::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "a#b", "a?b", "ä", &"v".repeat(256)] {
            let e = VariableValue::parse(bad).unwrap_err();
            assert_eq!(e.code, "APIG.2011", "{bad}");
        }
    }

    #[test]
    fn references_pair_their_marks_around_names() {
        assert_eq!(references("example.com"), Some(false));
        assert_eq!(references("#address#:8080"), Some(true));
        assert_eq!(references("/#Path#/items/#ver#"), Some(true));
        assert_eq!(references("#abc##def#"), Some(true));
        assert_eq!(references("#address"), None, "unclosed");
        assert_eq!(references("a#b#c#"), None, "unclosed after a pair");
        assert_eq!(references("#ab#"), None, "name too short");
        assert_eq!(references("##"), None, "empty name");
        assert_eq!(references("#a b c#"), None);
    }

    #[test]
    fn substitution_fills_every_reference_or_names_the_first_missing() {
        let vars = |n: &str| match n {
            "address" => Some("10.0.0.1"),
            "Path" => Some("/Stage/test"),
            _ => None,
        };
        assert_eq!(substitute("#address#:8080", vars).unwrap(), "10.0.0.1:8080");
        assert_eq!(
            substitute("#Path#/items", vars).unwrap(),
            "/Stage/test/items"
        );
        assert!(matches!(
            substitute("plain", vars).unwrap(),
            Cow::Borrowed("plain")
        ));
        assert_eq!(
            substitute("#address#/#path#", vars),
            Err(Undefined("path".into())),
            "names are case-sensitive"
        );
        assert_eq!(with_placeholders("#address#.example.com"), "v.example.com");
    }

    #[test]
    fn the_wire_form_has_huaweis_fields() {
        let v = EnvVariable {
            id: "i".into(),
            group_id: "g".into(),
            env_id: "e".into(),
            name: VariableName::parse("address").unwrap(),
            value: VariableValue::parse("192.168.1.5").unwrap(),
        };
        assert_eq!(
            v.to_json(),
            json!({"id": "i", "group_id": "g", "env_id": "e",
                   "variable_name": "address", "variable_value": "192.168.1.5"})
        );
    }
}
