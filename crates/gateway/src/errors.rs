//! The data-plane error catalogue (spec §5.2) and its wire form.
//!
//! The management API's errors live in `apigw-domain`; these are the ones only the gateway
//! returns. Each constructor fixes code, status and Huawei's wording together, and [`render`]
//! gives every error the data-plane body `{"error_code","error_msg","request_id"}`; a refused
//! call to a gRPC API gets the same error as a gRPC status instead ([`render_grpc`]).

use crate::body::GatewayBody;
use apigw_domain::ApiError;
use http::header::CONTENT_TYPE;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use std::fmt::{self, Write};

/// 404 `APIG.0101`: no API of the host's group is published in the stage for this method and
/// path (or for this listener's protocol).
pub fn api_not_found() -> ApiError {
    ApiError::new(
        404,
        "APIG.0101",
        "The API does not exist or has not been published in the environment.",
    )
}

/// 400 `APIG.0106`: a request parameter the API declares is missing or not of its type
/// (Huawei: the frontend parameters do not meet their definition).
pub fn orchestration_error() -> ApiError {
    ApiError::new(400, "APIG.0106", "Orchestration error.")
}

/// 400 `APIG.0201`: the request cannot be routed safely (e.g. dot segments in the path).
pub fn bad_request() -> ApiError {
    ApiError::new(400, "APIG.0201", "API request error.")
}

/// 414 `APIG.0201`: the request URI is longer than the gateway accepts (32 KiB).
pub fn uri_too_large() -> ApiError {
    ApiError::new(414, "APIG.0201", "Request URI too large.")
}

/// 494 `APIG.0201`: the request headers together are larger than the gateway accepts.
pub fn headers_too_large() -> ApiError {
    ApiError::new(494, "APIG.0201", "Request headers too large.")
}

/// 413 `APIG.0201`: the body exceeds the gateway's limit (12 MB by default).
pub fn body_too_large() -> ApiError {
    ApiError::new(413, "APIG.0201", "Request entity too large.")
}

/// 408 `APIG.0201`: the caller stopped sending its request body (nothing for the client
/// body timeout).
pub fn body_timeout() -> ApiError {
    ApiError::new(408, "APIG.0201", "Request timeout.")
}

/// 500 `APIG.0103`: the API has no backend in the environment called (its backend names an
/// environment variable the environment does not define).
pub fn backend_missing() -> ApiError {
    ApiError::new(500, "APIG.0103", "The backend does not exist.")
}

/// 502 `APIG.0202`: the backend could not be reached or broke the exchange.
pub fn backend_unavailable() -> ApiError {
    ApiError::new(502, "APIG.0202", "Backend unavailable")
}

/// 503 `APIG.0202`: the API's circuit breaker is open and names no downgrade (APIG answers
/// such calls 503, service unavailable).
pub fn breaker_open() -> ApiError {
    ApiError::new(503, "APIG.0202", "Backend unavailable")
}

/// 504 `APIG.0203`: the backend did not answer within the API's timeout.
pub fn backend_timeout() -> ApiError {
    ApiError::new(504, "APIG.0203", "Backend timeout")
}

/// The detail of `APIG.0303` for a call that presented no credential at all (a gateway
/// response tells it, `AUTH_HEADER_MISSING`, from wrong ones).
pub const NO_CREDENTIALS: &str = "authorization not found";

/// 401 `APIG.0303`: app authentication failed; `detail` follows Huawei's suffixes
/// (`app not found, appkey <key>`, `signature expired, ...`, `verify signature fail, ...`).
pub fn app_auth_failed(detail: impl fmt::Display) -> ApiError {
    ApiError::new(
        401,
        "APIG.0303",
        format!("Incorrect app authentication information: {detail}"),
    )
}

/// 401 `APIG.0307`: an `app_token` access token past its expiry (the caller asks the token
/// endpoint for a new one).
pub fn token_expired() -> ApiError {
    ApiError::new(401, "APIG.0307", "The token must be updated.")
}

/// 400 `APIG.1009`: the token endpoint was given an AppKey and AppSecret that are no app's.
pub fn app_credentials_invalid() -> ApiError {
    ApiError::new(400, "APIG.1009", "AppKey or AppSecret is invalid")
}

/// 403 `APIG.0304`: the app has no authorization for this API in this environment.
pub fn app_not_authorized() -> ApiError {
    ApiError::new(
        403,
        "APIG.0304",
        "The app is not authorized to access the API.",
    )
}

/// 429 `APIG.0308`: too many failed authentications from this address or for this AppKey, or
/// a request throttling policy's limit reached.
pub fn throttled() -> ApiError {
    ApiError::new(
        429,
        "APIG.0308",
        "The throttling threshold has been reached.",
    )
}

/// 403 `APIG.0306`: the name called verifies client certificates and this connection's
/// client presented none from its CA set (plain HTTP, or a TLS connection opened for another
/// name).
pub fn access_denied() -> ApiError {
    ApiError::new(403, "APIG.0306", "API access denied.")
}

/// 403 `APIG.0402`: the API's access control policy does not admit the client address.
pub fn ip_not_allowed() -> ApiError {
    ApiError::new(
        403,
        "APIG.0402",
        "The IP address is not authorized to access the API.",
    )
}

/// 403 `APIG.0405`: the app's ACL does not admit the client address.
pub fn untrusted_ip() -> ApiError {
    ApiError::new(
        403,
        "APIG.0405",
        "The app is not accessed from a trusted IP address.",
    )
}

/// 405 `APIG.0501` (sic, per Huawei's table): the app's quota for the current window is used up.
pub fn quota_used_up() -> ApiError {
    ApiError::new(405, "APIG.0501", "The app quota has been used up.")
}

/// 500 `APIG.0601`: a gateway fault (never a credential problem).
pub fn internal() -> ApiError {
    ApiError::new(500, "APIG.0601", "Internal server error.")
}

/// The data-plane response for `error`: JSON body with `request_id`; the caller adds the
/// `X-Request-Id` header (every response has it, not only errors).
///
/// The body is written directly, not through a `serde_json::Value` (a map, its strings and a
/// serializer cost some 5,900 instructions a refusal, a third of a 401's whole path;
/// BENCHMARKS.md); the text is the same as serde_json's.
pub fn render(error: &ApiError, request_id: &str) -> Response<GatewayBody> {
    let mut body = String::with_capacity(64 + error.message.len() + request_id.len());
    body.push_str(r#"{"error_code":""#);
    push_json_escaped(&mut body, error.code);
    body.push_str(r#"","error_msg":""#);
    push_json_escaped(&mut body, &error.message);
    body.push_str(r#"","request_id":""#);
    push_json_escaped(&mut body, request_id);
    body.push_str("\"}");
    let mut response = Response::new(GatewayBody::full(body));
    *response.status_mut() =
        StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    response
}

/// Writes `value` as the content of a JSON string, escaped as serde_json escapes it (`"`,
/// `\\`, and control characters: `\n`-style where JSON has a short form, else `\u00XX`); runs
/// of other characters are copied whole.
pub(crate) fn push_json_escaped(out: &mut String, value: &str) {
    let mut start = 0;
    for (i, b) in value.bytes().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        // Every byte escaped is ASCII: `i` is a character boundary.
        out.push_str(&value[start..i]);
        if short.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(short);
        }
        start = i + 1;
    }
    out.push_str(&value[start..]);
}

/// `grpc-status` of a gRPC response (gRPC over HTTP/2, "Responses").
const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
/// `grpc-message`: the status message, percent-encoded.
const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
/// What `grpc-message` encodes besides controls and non-ASCII: `%` itself (gRPC's rule).
const GRPC_MESSAGE_ENCODED: &AsciiSet = &CONTROLS.add(b'%');

/// The gRPC status code of a gateway refusal, from its HTTP status: gRPC's own mapping of
/// HTTP statuses where it has one (401, 403, 404, 502, 503), else the code that says what
/// happened (limits reached: `RESOURCE_EXHAUSTED`, the backend's timeout: `DEADLINE_EXCEEDED`).
fn grpc_code(status: u16) -> u8 {
    match status {
        400 | 414 | 494 => 3, // INVALID_ARGUMENT
        401 => 16,            // UNAUTHENTICATED
        403 => 7,             // PERMISSION_DENIED
        404 => 12,            // UNIMPLEMENTED
        405 | 413 | 429 => 8, // RESOURCE_EXHAUSTED (quota, size, throttling)
        408 => 1,             // CANCELLED (the caller stopped sending)
        502 | 503 => 14,      // UNAVAILABLE
        504 => 4,             // DEADLINE_EXCEEDED
        500 => 13,            // INTERNAL
        _ => 2,               // UNKNOWN
    }
}

/// The refusal of a call to a gRPC API as gRPC clients read it: a trailers-only response (200,
/// `content-type: application/grpc`, no body) whose `grpc-status` says what happened and whose
/// `grpc-message` is `<APIG code>: <message>`, so a gRPC client sees the APIG code where a
/// REST client reads `error_code` (Envoy answers gRPC calls it refuses the same way). The
/// caller adds `X-Request-Id`.
pub fn render_grpc(error: &ApiError) -> Response<GatewayBody> {
    let mut response = Response::new(GatewayBody::full(bytes::Bytes::new()));
    let message = format!("{}: {}", error.code, error.message);
    let message = utf8_percent_encode(&message, GRPC_MESSAGE_ENCODED).to_string();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert(
        GRPC_STATUS,
        HeaderValue::from(u16::from(grpc_code(error.status))),
    );
    if let Ok(message) = HeaderValue::from_str(&message) {
        headers.insert(GRPC_MESSAGE, message);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_body_is_what_serde_json_writes() {
        for message in [
            "Incorrect app authentication information: app not found, appkey k",
            "quote \" backslash \\ slash / tab \t nl \n cr \r bell \u{7} bs \u{8} ff \u{c} del \u{7f}",
            "unicode é 中文 🙂 and \u{1f}",
            "",
        ] {
            let error = ApiError::new(401, "APIG.0303", message.to_owned());
            let response = render(&error, "0123456789abcdef0123456789abcdef");
            let GatewayBody::Full(Some(body)) = response.body() else {
                panic!("a full body");
            };
            let expected = serde_json::json!({
                "error_code": "APIG.0303",
                "error_msg": message,
                "request_id": "0123456789abcdef0123456789abcdef",
            })
            .to_string();
            assert_eq!(std::str::from_utf8(body).unwrap(), expected, "{message:?}");
        }
    }

    #[test]
    fn a_grpc_refusal_is_a_trailers_only_response_with_the_apig_code() {
        let response = render_grpc(&app_auth_failed("app not found, appcode 100% wrong"));
        assert_eq!(response.status(), StatusCode::OK);
        let h = response.headers();
        assert_eq!(h["content-type"], "application/grpc");
        assert_eq!(h["grpc-status"], "16");
        assert_eq!(
            h["grpc-message"],
            "APIG.0303: Incorrect app authentication information: app not found, appcode 100%25 wrong"
        );
        for (error, code) in [
            (app_not_authorized(), "7"),
            (throttled(), "8"),
            (quota_used_up(), "8"),
            (backend_unavailable(), "14"),
            (backend_timeout(), "4"),
            (api_not_found(), "12"),
            (ApiError::new(418, "APIG.9999", "x"), "2"),
        ] {
            assert_eq!(
                render_grpc(&error).headers()["grpc-status"],
                code,
                "{error}"
            );
        }
    }
}
