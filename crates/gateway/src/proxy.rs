//! Forwarding a call to its backend: building the backend request from the matched route and
//! the API's backend definition, and sending it through the pooled client (`upstream`) within
//! the API's timeout.
//!
//! Rules applied here (spec §3.3, §3.6 step 6, RFC 9110 §7.6.1):
//! - backend path = the API's backend path with `{param}` filled (backend `PATH` parameters
//!   first, then the request's own path parameters), plus the `SWA` suffix; a gRPC backend
//!   gets the call's path as it is (its `req_uri` is `/`) and `TE: trailers` (`upstream::h2`);
//! - backend parameters (`CONSTANT`, `REQUEST`, `SYSTEM` `$context.appId`) placed in headers,
//!   query or path;
//! - hop-by-hop headers dropped both ways (`Connection` and every header it names,
//!   `Keep-Alive`, `Proxy-*`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`): here for the
//!   request, by the backend client's response parser (`upstream::h1`) for the response; the
//!   caller's credentials (`Authorization`, `X-Apig-AppCode`) never forwarded;
//! - `X-Request-Id` on the backend request, the caller's address appended to `X-Forwarded-For`;
//! - the request signed with the API's signature key, if one is bound (`backend_sign`);
//! - the API's timeout covers connecting, sending and the backend's response head, less the
//!   time spent waiting for the caller's body (bounded by the client body timeout: 408): 504
//!   `APIG.0203` when it passes, 502 `APIG.0202` when the backend cannot be reached or breaks
//!   the exchange;
//! - a `MOCK` API is answered by the gateway itself ([`mock_answer`]), no backend involved.

use crate::balancer::Endpoint;
use crate::body::{BodyWatch, GatewayBody, UpstreamBody};
use crate::breaker::MockReply;
use crate::config::{ParamLocation, ParamValue, ReqMethod, SystemParam};
use crate::errors;
use crate::fields::Forwarding;
use crate::params;
use crate::routes::RouteMatch;
use crate::snapshot::{ApiEntry, BackendEntry};
use crate::upstream::{self, BackendBody, BackendRequest, ExchangeError, GatewayFields};
use apigw_domain::ApiError;
use bytes::Bytes;
use http::header::{HeaderName, AUTHORIZATION, CONNECTION, CONTENT_TYPE, EXPECT, HOST};
use http::{request, HeaderMap, HeaderValue, Response, Uri};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::borrow::Cow;

/// Header carrying an AppCode (spec §4.1); a credential, so never forwarded.
pub(crate) const APP_CODE_HEADER: HeaderName = HeaderName::from_static("x-apig-appcode");
/// The request id header, on the backend request and on every response.
pub(crate) const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// The AppKey of the `app_secret` mode (spec §4.2).
pub(crate) const APP_SECRET_KEY_HEADER: HeaderName = HeaderName::from_static("x-hw-id");
/// The AppSecret of the `app_secret` mode (sic: the header named AppKey carries the secret).
pub(crate) const APP_SECRET_HEADER: HeaderName = HeaderName::from_static("x-hw-appkey");
/// The AppKey of the `app_api_key` mode.
pub(crate) const API_KEY_HEADER: HeaderName = HeaderName::from_static("apikey");
pub(crate) const FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Everything but RFC 3986 unreserved characters is encoded in parameter values.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The answer to an exchange with the API's backend, which the API's timeout bounded
/// (connecting, sending and the response head; `None`: the timeout passed). `caller_body`
/// watches a streamed body: when it failed, the exchange failed because of the caller (413
/// past the size limit, 408 when the caller stopped sending, else 400), not the backend.
pub(crate) fn exchanged(
    outcome: Option<Result<Response<BackendBody>, ExchangeError>>,
    endpoint: &Endpoint,
    caller_body: Option<&BodyWatch>,
) -> Result<Response<BackendBody>, ApiError> {
    match outcome {
        // The backend client's parser already left the hop-by-hop fields out.
        Some(Ok(response)) => Ok(response),
        Some(Err(_)) if caller_body.is_some_and(BodyWatch::failed) => {
            Err(caller_body.map_or_else(errors::bad_request, BodyWatch::refusal))
        }
        Some(Err(e @ ExchangeError::Body(_))) => {
            tracing::debug!(error = %e, "caller's body failed");
            Err(errors::bad_request())
        }
        Some(Err(e)) => {
            tracing::warn!(backend = %endpoint.authority, error = %e, "backend unavailable");
            Err(errors::backend_unavailable())
        }
        None => Err(errors::backend_timeout()),
    }
}

/// Who is calling, for the backend request.
pub(crate) struct Caller<'a> {
    /// The authenticated app (APP APIs).
    pub app_id: Option<&'a str>,
    /// Its name.
    pub app_name: Option<&'a str>,
    /// The TCP peer's address as text (appended to `X-Forwarded-For`; `$context.sourceIp`
    /// unless `source_ip` says otherwise).
    pub peer_text: &'a HeaderValue,
    /// The client's address read from `X-Forwarded-For` (`real_ip_from_xff`), for
    /// `$context.sourceIp`.
    pub source_ip: Option<std::net::IpAddr>,
    /// The request id.
    pub request_id: &'a HeaderValue,
    /// The instance's own header of app credentials (`app_auth_header`), removed like
    /// `Authorization` otherwise is.
    pub credential_header: Option<&'a HeaderName>,
    /// The instance's header for a signature key's signature (`backend_sign_header`), in
    /// place of `Authorization`.
    pub sign_header: Option<&'a HeaderName>,
    /// The caller's own `X-Forwarded-For`, if it sent one.
    pub forwarded_for: Option<HeaderValue>,
}

/// Phase 8 of a `MOCK` API: the gateway's own answer in place of a backend's, 200 with the
/// mock's content as JSON (what APIG sends); `content` is shared, not copied.
pub(crate) fn mock_answer(content: &Bytes) -> Response<GatewayBody> {
    let mut response = Response::new(GatewayBody::full(content.clone()));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The fixed answer of an open circuit breaker's `mock` downgrade (`application/json` unless
/// its fields name another type).
pub(crate) fn breaker_answer(reply: &MockReply) -> Response<GatewayBody> {
    let mut response = Response::new(GatewayBody::full(reply.body.clone()));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    for (name, value) in reply.headers.iter() {
        headers.append(name.clone(), value.clone());
    }
    if !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    response
}

/// Builds the request for `api`'s `backend` from the caller's request head (`uri` is the
/// request URI the route was matched on).
pub(crate) fn backend_request(
    api: &ApiEntry,
    backend: &BackendEntry,
    route: &RouteMatch<'_, '_>,
    uri: &Uri,
    (parts, forwarding): (request::Parts, Forwarding),
    body: UpstreamBody,
    caller: &Caller<'_>,
) -> Result<BackendRequest, ApiError> {
    let request::Parts {
        method,
        mut headers,
        ..
    } = parts;
    let query = uri.query();

    // Parameter values are resolved before the headers change (a REQUEST parameter may name a
    // header). Values are plain text here and encoded for their target below.
    let values: Vec<Option<Cow<'_, str>>> = backend
        .params
        .iter()
        .map(|p| match &p.value {
            ParamValue::Constant(v) => Some(Cow::Borrowed(v.as_str())),
            ParamValue::System(SystemParam::AppId) => caller.app_id.map(Cow::Borrowed),
            ParamValue::System(SystemParam::AppName) => caller.app_name.map(Cow::Borrowed),
            ParamValue::System(SystemParam::SourceIp) => match caller.source_ip {
                Some(ip) => Some(Cow::Owned(ip.to_canonical().to_string())),
                None => caller.peer_text.to_str().ok().map(Cow::Borrowed),
            },
            ParamValue::System(SystemParam::RequestId) => {
                caller.request_id.to_str().ok().map(Cow::Borrowed)
            }
            ParamValue::Request(name) => request_value(name, route, query, &headers)
                .or_else(|| params::default_of(&api.req_params, name)),
        })
        .collect();

    // A gRPC backend is sent the call's own path (`/{package}.{service}/{method}`).
    let path = if backend.grpc {
        uri.path().to_owned()
    } else {
        backend_path(backend, route, &values)
    };
    let query = backend_query(api, backend, query, &values);
    let mut path_and_query = path;
    if let Some(query) = query.as_deref().filter(|q| !q.is_empty()) {
        path_and_query.push('?');
        path_and_query.push_str(query);
    }
    // Every part is either from the caller's valid URI or percent-encoded; a target that is
    // still not a valid origin form is refused rather than written on the wire.
    if !path_and_query.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(errors::bad_request());
    }
    strip_for_backend(&mut headers, forwarding);
    // The instance's own credential and backend-signature headers are the gateway's: a
    // caller's are never passed on (the signature, if any, is written below).
    for name in [caller.credential_header, caller.sign_header]
        .into_iter()
        .flatten()
    {
        headers.remove(name);
    }
    if !api.req_params.is_empty() {
        params::withhold_headers(&api.req_params, &mut headers);
    }
    let mut gateway = GatewayFields {
        host: match &backend.host_header {
            Some(host) => host.clone(),
            // A VPC channel without a proxy host passes the caller's `Host` on (HTTP/2: the
            // authority of its target).
            None => headers.get(HOST).cloned().unwrap_or_else(|| {
                let authority = uri.authority().map_or("", |a| a.as_str());
                HeaderValue::from_str(authority).unwrap_or(HeaderValue::from_static(""))
            }),
        },
        request_id: caller.request_id.clone(),
        forwarded_for: forwarded_for(caller.forwarded_for.as_ref(), caller.peer_text),
    };
    for (param, value) in backend.params.iter().zip(&values) {
        if param.location != ParamLocation::Header {
            continue;
        }
        let Some(value) = value else { continue };
        match (
            HeaderName::from_bytes(param.name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            // A backend parameter has the last word, even over the gateway's own fields.
            (Ok(name), Ok(value)) => match gateway.replacing(&name) {
                Some(field) => *field = value,
                None => {
                    headers.insert(name, value);
                }
            },
            _ => {
                tracing::debug!(param = %param.name, "backend header parameter not representable; skipped")
            }
        }
    }

    let method = match &backend.method {
        ReqMethod::Any => method,
        ReqMethod::Only(m) => m.clone(),
    };
    let mut request = BackendRequest {
        method,
        target: path_and_query,
        headers,
        gateway,
        body,
    };
    // Last: the signature covers the request as it goes out.
    if let Some(signer) = &backend.signing {
        let now = time::OffsetDateTime::now_utc();
        signer.sign(&mut request, (backend.grpc, caller.sign_header), now);
    }
    Ok(request)
}

/// The plain value of request parameter `name`: path parameter, else query, else header.
fn request_value<'a>(
    name: &str,
    route: &RouteMatch<'_, 'a>,
    query: Option<&'a str>,
    headers: &HeaderMap,
) -> Option<Cow<'a, str>> {
    if let Some(raw) = route.param(name) {
        return Some(percent_decode_str(raw).decode_utf8_lossy());
    }
    let from_query = query_value(query, name);
    if from_query.is_some() {
        return from_query;
    }
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| Cow::Owned(v.to_owned()))
}

/// The decoded value of query parameter `name` (the first, if it appears more than once).
pub(crate) fn query_value<'a>(query: Option<&'a str>, name: &str) -> Option<Cow<'a, str>> {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_form(key) == name).then(|| decode_form(value))
        })
}

/// Decodes a query component (`+` is a space, as form encoding has it).
fn decode_form(raw: &str) -> Cow<'_, str> {
    if raw.contains('+') {
        Cow::Owned(
            percent_decode_str(&raw.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned(),
        )
    } else {
        percent_decode_str(raw).decode_utf8_lossy()
    }
}

/// The backend path: the backend's path with `{param}` filled, plus the `SWA` suffix.
fn backend_path(
    backend: &BackendEntry,
    route: &RouteMatch<'_, '_>,
    values: &[Option<Cow<'_, str>>],
) -> String {
    let template = &*backend.path;
    let mut path = String::with_capacity(template.len() + route.suffix.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        path.push_str(&rest[..open]);
        let name = &rest[open + 1..close];
        let from_params = backend
            .params
            .iter()
            .zip(values)
            .find(|(p, _)| p.location == ParamLocation::Path && p.name == name)
            .and_then(|(_, v)| v.as_deref());
        match from_params {
            Some(value) => path.extend(utf8_percent_encode(value, COMPONENT)),
            // The request's own segment is already encoded and holds no `/`.
            None => path.push_str(route.param(name).unwrap_or_default()),
        }
        rest = &rest[close + 1..];
    }
    path.push_str(rest);
    let suffix = route.suffix;
    if path.ends_with('/') && suffix.starts_with('/') {
        path.pop();
    }
    path.push_str(suffix);
    if path.is_empty() {
        path.push('/');
    }
    path
}

/// The backend query: the caller's, with `QUERY` parameters replacing same-named ones.
fn backend_query<'q>(
    api: &ApiEntry,
    backend: &BackendEntry,
    query: Option<&'q str>,
    values: &[Option<Cow<'_, str>>],
) -> Option<Cow<'q, str>> {
    let params: Vec<_> = backend
        .params
        .iter()
        .zip(values)
        .filter(|(p, _)| p.location == ParamLocation::Query)
        .collect();
    let withholds = !api.req_params.is_empty() && api.req_params.iter().any(|p| !p.pass_through);
    if params.is_empty() && !withholds {
        return query.map(Cow::Borrowed);
    }
    let mut out = String::new();
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        let key = decode_form(pair.split_once('=').map_or(pair, |(k, _)| k));
        if pair.is_empty()
            || params.iter().any(|(p, _)| key == p.name)
            || params::withheld_query(&api.req_params, &key)
        {
            continue;
        }
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(pair);
    }
    for (param, value) in params {
        let Some(value) = value else { continue };
        if !out.is_empty() {
            out.push('&');
        }
        out.extend(utf8_percent_encode(&param.name, COMPONENT));
        out.push('=');
        out.extend(utf8_percent_encode(value, COMPONENT));
    }
    Some(Cow::Owned(out))
}

/// The caller's `X-Forwarded-For` (`existing`) with its address appended, or the address
/// alone.
fn forwarded_for(existing: Option<&HeaderValue>, peer: &HeaderValue) -> HeaderValue {
    let existing = existing
        .map(|v| v.as_bytes().trim_ascii())
        .filter(|v| !v.is_empty());
    match existing {
        None => peer.clone(),
        Some(existing) => {
            let mut joined = Vec::with_capacity(existing.len() + 2 + peer.len());
            joined.extend_from_slice(existing);
            joined.extend_from_slice(b", ");
            joined.extend_from_slice(peer.as_bytes());
            match HeaderValue::from_bytes(&joined) {
                Ok(v) => v,
                Err(_) => peer.clone(),
            }
        }
    }
}

/// Removes what must not reach the backend: hop-by-hop headers (RFC 9110 §7.6.1: those
/// `Connection` names, `Connection` itself, and the fixed set including every `Proxy-*`
/// header), the caller's credentials and `Expect` (the gateway answers it itself).
/// `found`: what the pipeline's one pass over the fields saw (most requests carry none of
/// them; removal, a hash lookup each, only for what is there).
fn strip_for_backend(headers: &mut HeaderMap, found: Forwarding) {
    let is_hop_by_hop = |name: &HeaderName| upstream::is_hop_by_hop(name.as_str().as_bytes());
    // One test each: a name is built (and dropped) only when there is one to remove.
    if found.authorization {
        headers.remove(AUTHORIZATION);
    }
    if found.app_code {
        headers.remove(APP_CODE_HEADER);
    }
    if found.app_secret {
        headers.remove(APP_SECRET_KEY_HEADER);
        headers.remove(APP_SECRET_HEADER);
    }
    if found.api_key {
        headers.remove(API_KEY_HEADER);
    }
    if found.expect {
        headers.remove(EXPECT);
    }
    if !found.hop_by_hop {
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
        .collect();
    let fixed: Vec<HeaderName> = headers
        .keys()
        .filter(|k| is_hop_by_hop(k))
        .cloned()
        .collect();
    for name in named.into_iter().chain(fixed) {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_are_removed() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("connection", "keep-alive, X-Custom-Hop"),
            ("x-custom-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("proxy-authorization", "x"),
            ("proxy-connection", "keep-alive"),
            ("te", "trailers"),
            ("trailer", "x-t"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("authorization", "SDK-HMAC-SHA256 Access=k"),
            ("x-apig-appcode", "code"),
            ("x-hw-id", "key"),
            ("x-hw-appkey", "secret"),
            ("expect", "100-continue"),
            ("x-end-to-end", "kept"),
        ] {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let found = crate::fields::RequestFields::of(&h).forwarding;
        strip_for_backend(&mut h, found);
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h["x-end-to-end"], "kept");
    }

    #[test]
    fn forwarded_for_is_appended() {
        let v = |p| HeaderValue::from_static(p);
        assert_eq!(forwarded_for(None, &v("10.0.0.1")), "10.0.0.1");
        let existing = v("10.0.0.1");
        assert_eq!(
            forwarded_for(Some(&existing), &v("10.0.0.2")),
            "10.0.0.1, 10.0.0.2"
        );
        assert_eq!(forwarded_for(Some(&v("  ")), &v("10.0.0.3")), "10.0.0.3");
    }

    #[test]
    fn form_components_decode() {
        assert_eq!(decode_form("a+b%2Fc"), "a b/c");
        assert_eq!(decode_form("plain"), "plain");
    }
}
