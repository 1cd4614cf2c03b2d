//! Calls from browser pages of other origins to APIs whose `cors` switch is on (APIG's "CORS"):
//! the API's owner allows any origin, and the gateway says so in the two places a browser
//! looks.
//!
//! - A *preflight* (an `OPTIONS` request with `Origin` and `Access-Control-Request-Method`,
//!   which a browser sends before a call that is not "simple") is answered by the gateway
//!   itself when the API it asks about allows CORS, or when an `OPTIONS` API at that path does
//!   (APIG's recipe for preflights): 200 with the methods, headers and cache time allowed, no
//!   credentials needed (browsers send none on a preflight) and no backend called.
//! - Every other response of such an API, the gateway's own refusals included (a page can
//!   then read why it was refused), carries `Access-Control-Allow-Origin: *` and exposes the
//!   gateway's headers, unless the backend's response already carries its own
//!   `Access-Control-Allow-Origin`, which then stands as the backend sent it.
//!
//! Nothing here runs for an API without CORS beyond one comparison of the method.

use crate::body::GatewayBody;
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};

/// Any origin may call (APIG's value; credentials are never allowed with it).
const ANY_ORIGIN: &str = "*";
/// The methods a preflight allows (APIG's list).
const ALLOWED_METHODS: &str = "GET,POST,PUT,DELETE,HEAD,OPTIONS,PATCH";
/// The request headers a preflight allows when the browser names none: APIG's list with the
/// credential headers apigw reads beside the signature's.
const DEFAULT_ALLOWED_HEADERS: &str = "X-Stage,X-Sdk-Date,X-Sdk-Nonce,X-Proxy-Signed-Headers,\
X-Sdk-Content-Sha256,X-Forwarded-For,Authorization,Content-Type,Accept,Accept-Ranges,\
Cache-Control,Range,X-Apig-AppCode,X-HW-ID,X-HW-AppKey";
/// The response headers a page may read (APIG's list).
const EXPOSED_HEADERS: &str = "X-Request-Id,X-Apig-Latency,X-Apig-Upstream-Latency,\
X-Apig-RateLimit-Api,X-Apig-RateLimit-User,X-Apig-RateLimit-App,X-Apig-RateLimit-Ip,\
X-Apig-RateLimit-Api-Allenv";
/// How long a browser may keep a preflight's answer, in seconds (APIG's two days).
const MAX_AGE_SECONDS: &str = "172800";

/// The method a CORS preflight asks about, if `method` and `headers` make one: `OPTIONS` with
/// `Origin` and a valid `Access-Control-Request-Method`.
pub(crate) fn preflight_method(method: &Method, headers: &HeaderMap) -> Option<Method> {
    if method != Method::OPTIONS || !headers.contains_key(ORIGIN) {
        return None;
    }
    let asked = headers.get(ACCESS_CONTROL_REQUEST_METHOD)?;
    Method::from_bytes(asked.as_bytes().trim_ascii()).ok()
}

/// The gateway's answer to a preflight for an API that allows CORS. The request headers the
/// browser names (`Access-Control-Request-Headers`) are allowed as named, as an API open to
/// any origin allows any header; [`mark`] adds the origin and exposed headers.
pub(crate) fn preflight_answer(request: &HeaderMap) -> Response<GatewayBody> {
    let mut response = Response::new(GatewayBody::Full(None));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED_METHODS),
    );
    let allowed = match request.get(ACCESS_CONTROL_REQUEST_HEADERS) {
        Some(named) if !named.as_bytes().trim_ascii().is_empty() => named.clone(),
        _ => HeaderValue::from_static(DEFAULT_ALLOWED_HEADERS),
    };
    headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, allowed);
    headers.insert(
        ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(MAX_AGE_SECONDS),
    );
    response
}

/// Marks a response of an API that allows CORS: any origin may read it, and the gateway's
/// headers with it. A backend that chose its own `Access-Control-Allow-Origin` keeps it (and
/// the rest of its CORS fields) as sent.
pub(crate) fn mark(response: &mut Response<GatewayBody>) {
    if let GatewayBody::Upstream(body) = response.body_mut() {
        let fields = body.fields_mut();
        if !fields.contains(&ACCESS_CONTROL_ALLOW_ORIGIN) {
            fields.push(&ACCESS_CONTROL_ALLOW_ORIGIN, ANY_ORIGIN.as_bytes());
            fields.push(&ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSED_HEADERS.as_bytes());
        }
        return;
    }
    let headers = response.headers_mut();
    headers.insert(
        ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static(ANY_ORIGIN),
    );
    headers.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED_HEADERS),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(fields: &[(&'static str, &'static str)]) -> HeaderMap {
        fields
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn a_preflight_is_options_with_an_origin_and_a_requested_method() {
        let preflight = headers(&[
            ("origin", "https://app.example"),
            ("access-control-request-method", " PUT "),
        ]);
        assert_eq!(
            preflight_method(&Method::OPTIONS, &preflight),
            Some(Method::PUT)
        );
        assert_eq!(preflight_method(&Method::GET, &preflight), None);
        let no_origin = headers(&[("access-control-request-method", "PUT")]);
        assert_eq!(preflight_method(&Method::OPTIONS, &no_origin), None);
        let no_method = headers(&[("origin", "https://app.example")]);
        assert_eq!(preflight_method(&Method::OPTIONS, &no_method), None);
        let bad_method = headers(&[
            ("origin", "https://app.example"),
            ("access-control-request-method", "P(T"),
        ]);
        assert_eq!(preflight_method(&Method::OPTIONS, &bad_method), None);
    }

    #[test]
    fn the_preflight_answer_allows_the_named_headers_or_the_default_list() {
        let named = preflight_answer(&headers(&[(
            "access-control-request-headers",
            "x-apig-appcode,content-type",
        )]));
        assert_eq!(named.status(), 200);
        let h = named.headers();
        assert_eq!(
            h[ACCESS_CONTROL_ALLOW_HEADERS],
            "x-apig-appcode,content-type"
        );
        assert_eq!(h[ACCESS_CONTROL_ALLOW_METHODS], ALLOWED_METHODS);
        assert_eq!(h[ACCESS_CONTROL_MAX_AGE], "172800");
        let unnamed = preflight_answer(&headers(&[("access-control-request-headers", " ")]));
        assert_eq!(
            unnamed.headers()[ACCESS_CONTROL_ALLOW_HEADERS],
            DEFAULT_ALLOWED_HEADERS
        );
    }

    #[test]
    fn the_gateway_s_own_answers_are_marked() {
        let mut response = Response::new(GatewayBody::full("{}"));
        mark(&mut response);
        assert_eq!(response.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(
            response.headers()[ACCESS_CONTROL_EXPOSE_HEADERS],
            EXPOSED_HEADERS
        );
    }
}
