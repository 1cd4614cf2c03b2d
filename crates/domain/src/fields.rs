//! Reading the fields of a JSON request body: each accessor checks the field's JSON type and
//! names a bad field by its dotted path (`backend_api.timeout`, `members[1].host`) in the
//! `APIG.2011` error, so every resource reports its body errors alike.

use crate::error::ApiError;
use serde_json::{Map, Value};

/// A JSON object being read, with the dotted path used in error names.
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
}

impl<'a> Fields<'a> {
    /// Reads `map`, naming its fields `prefix` + name (`"backend_api."`, `""` at the top).
    pub(crate) fn new(map: &'a Map<String, Value>, prefix: &str) -> Self {
        Self {
            map,
            prefix: prefix.to_owned(),
        }
    }

    /// The dotted path of `field`, as errors name it.
    pub(crate) fn name(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    /// 400 `APIG.2011` naming `field`.
    pub(crate) fn bad(&self, field: &str) -> ApiError {
        ApiError::invalid_body_field(&self.name(field))
    }

    /// Every field of the object (for objects whose keys are data, not field names).
    pub(crate) fn entries(&self) -> &'a Map<String, Value> {
        self.map
    }

    /// The value of `field`; `null` counts as absent.
    pub(crate) fn get(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    /// A string field, if present.
    pub(crate) fn opt_str(&self, field: &str) -> Result<Option<&'a str>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.bad(field)),
        }
    }

    /// A string field that must be present.
    pub(crate) fn req_str(&self, field: &str) -> Result<&'a str, ApiError> {
        self.opt_str(field)?.ok_or_else(|| self.bad(field))
    }

    /// A string field of at most `max` characters, if present.
    pub(crate) fn opt_text(&self, field: &str, max: usize) -> Result<Option<String>, ApiError> {
        match self.opt_str(field)? {
            Some(s) if s.chars().count() > max => Err(self.bad(field)),
            other => Ok(other.map(str::to_owned)),
        }
    }

    /// An integer field (a JSON number), if present.
    pub(crate) fn opt_int(&self, field: &str) -> Result<Option<i64>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| self.bad(field)),
        }
    }

    /// An integer in `range`, given as a number or a string of digits (as some SDKs send
    /// numbers).
    pub(crate) fn opt_int_in(
        &self,
        field: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, ApiError> {
        let n = match self.get(field) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            Some(_) => None,
        };
        match n {
            Some(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(self.bad(field)),
        }
    }

    /// A boolean field, if present.
    pub(crate) fn opt_bool(&self, field: &str) -> Result<Option<bool>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.bad(field)),
        }
    }

    /// An object field, to be read in turn, if present.
    pub(crate) fn opt_object(&self, field: &str) -> Result<Option<Fields<'a>>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(Fields::new(m, &format!("{}.", self.name(field))))),
            Some(_) => Err(self.bad(field)),
        }
    }

    /// An array field; absent reads as empty.
    pub(crate) fn opt_array(&self, field: &str) -> Result<&'a [Value], ApiError> {
        match self.get(field) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(self.bad(field)),
        }
    }

    /// The `i`-th item of the array `field`, which must be an object.
    pub(crate) fn item(&self, field: &str, i: usize, v: &'a Value) -> Result<Fields<'a>, ApiError> {
        let name = format!("{}[{i}]", self.name(field));
        match v {
            Value::Object(m) => Ok(Fields::new(m, &format!("{name}."))),
            _ => Err(ApiError::invalid_body_field(&name)),
        }
    }
}
