//! Request bodies: the size limit (413 in APIG's shape before any handler runs) and the JSON
//! object reader whose accessors name the offending field in `APIG.2011` errors, so a wrong
//! type or a missing field never becomes a 500 or a generic message.

use crate::error::{ApiResult, Error};
use crate::AppState;
use apigw_domain::ApiError;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};
use serde_json::{Map, Value};

/// Middleware: buffers the body up to the configured limit, refusing larger ones with 413.
/// Management bodies are small; buffering lets the AK/SK check hash the body before the handler.
pub async fn limit_body(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.config.max_body_bytes;
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Error(ApiError::body_too_large(limit)).into_response();
    }
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return Error(ApiError::body_too_large(limit)).into_response();
        }
        Err(e) => {
            return Error(ApiError::malformed_body(format!(
                "the body could not be read: {e}"
            )))
            .into_response();
        }
    };
    let mut req = Request::from_parts(parts, Body::from(bytes.clone()));
    req.extensions_mut().insert(BufferedBody(bytes));
    next.run(req).await
}

/// The buffered request body, for the signature check.
#[derive(Debug, Clone)]
pub struct BufferedBody(pub Bytes);

/// A JSON object body. An empty body reads as `{}` so optional-body calls accept it.
#[derive(Debug, Default)]
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| Error(ApiError::malformed_body(e.body_text())))?;
        Self::parse(&bytes).map_err(Error)
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl JsonObject {
    /// Parses bytes as a JSON object.
    pub fn parse(bytes: &[u8]) -> Result<Self, ApiError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(other) => Err(ApiError::malformed_body(format!(
                "The request body must be a JSON object, not {}.",
                type_name(&other)
            ))),
            Err(e) => Err(ApiError::malformed_body(format!(
                "The request body is not valid JSON: {e}."
            ))),
        }
    }

    /// An optional string field; `null` counts as absent, another type is `APIG.2011`.
    pub fn opt_str(&self, field: &str) -> ApiResult<Option<&str>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Error(ApiError::invalid_body_field(field))),
        }
    }

    /// A mandatory string field; absent or of another type is `APIG.2011`.
    pub fn req_str(&self, field: &str) -> ApiResult<&str> {
        self.opt_str(field)?
            .ok_or_else(|| Error(ApiError::invalid_body_field(field)))
    }

    /// An optional nested object; another type is `APIG.2011` naming `field`.
    pub fn opt_object(&self, field: &str) -> ApiResult<Option<JsonObject>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(JsonObject(m.clone()))),
            Some(_) => Err(Error(ApiError::invalid_body_field(field))),
        }
    }

    /// A mandatory nested object.
    pub fn req_object(&self, field: &str) -> ApiResult<JsonObject> {
        self.opt_object(field)?
            .ok_or_else(|| Error(ApiError::invalid_body_field(field)))
    }

    /// An optional boolean field.
    pub fn opt_bool(&self, field: &str) -> ApiResult<Option<bool>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Error(ApiError::invalid_body_field(field))),
        }
    }

    /// A mandatory array of strings.
    pub fn req_str_array(&self, field: &str) -> ApiResult<Vec<&str>> {
        match self.0.get(field) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| Error(ApiError::invalid_body_field(field)))
                })
                .collect(),
            _ => Err(Error(ApiError::invalid_body_field(field))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_field_errors() {
        assert!(JsonObject::parse(b"").unwrap().0.is_empty());
        assert_eq!(JsonObject::parse(b"[1]").unwrap_err().code, "APIG.2000");
        assert_eq!(JsonObject::parse(b"{").unwrap_err().code, "APIG.2000");
        let o =
            JsonObject::parse(br#"{"name": 5, "remark": null, "x": "y", "l": ["a", 1]}"#).unwrap();
        assert_eq!(o.opt_str("name").unwrap_err().0.code, "APIG.2011");
        assert_eq!(o.opt_str("remark").unwrap(), None);
        assert_eq!(o.req_str("x").unwrap(), "y");
        assert!(o
            .req_str("missing")
            .unwrap_err()
            .0
            .message
            .contains("parameterName:missing"));
        assert!(o.req_str_array("l").is_err());
    }
}
