//! The per-request path, as named phases read top to bottom (in the manner of Pingora):
//!
//! 1. **request id**: 32 hex digits, on every response (replacing a backend's own) and the
//!    backend request; the request's fields read in one walk ([`RequestFields`]); then the
//!    **head limits**: URI over 32 KiB → 414, headers over 32 KiB → 494 (`APIG.0201`);
//! 2. **route**: host → group, `X-Stage` → environment, method + path → published API
//!    (404 `APIG.0101`); a CORS preflight for an API with `cors` on is answered here (see
//!    [`cors`]); then the **client address** the later phases see: the TCP peer, or where the
//!    instance has `real_ip_from_xff`, an address of `X-Forwarded-For`; and the API's
//!    **access control policy**, if one is bound, admits it (403 `APIG.0402`);
//! 3. **authenticate** (APP APIs): `X-Apig-AppCode` where allowed; the AppKey with its AppSecret
//!    (`X-HW-ID`/`X-HW-AppKey`, or `Authorization: Basic`), the AppKey alone (`apikey`) or an
//!    access token (`Authorization: Bearer`) where the instance turned those modes on; else
//!    the `SDK-HMAC-SHA256` signature (401 `APIG.0303`; 429 `APIG.0308` once failures pile
//!    up). Before the route, a request to the instance's `app_token` endpoint is answered
//!    with a token (see [`app_token`]);
//! 4. **authorize**: the app holds an authorization for the API in this environment
//!    (403 `APIG.0304`);
//! 5. **ACL**: the app's client-IP list admits the caller (403 `APIG.0405`);
//! 6. **request parameters**: the declared ones are there and of their type (400 `APIG.0106`,
//!    see [`params`]);
//! 7. **request throttling**: the instance's default limit of calls per second of the API
//!    (`ratelimit`), if configured, and the API's throttling policy, if one is bound, have room
//!    for the call, in all, for the user, the app and the client address (429 `APIG.0308`,
//!    see [`crate::rate_limit`]);
//! 8. **quota**: the app's call quota has room (405 `APIG.0501`);
//! 9. **proxy**: the backend request, sent with the API's timeout (502/504/413; 408 when the
//!    caller stops sending its body); a `MOCK` API is answered here with its fixed content;
//!    an API's open circuit breaker answers in the backend's place, sends the call to another
//!    backend or refuses it (503 `APIG.0202`), and a closed one judges the exchange's outcome
//!    (see [`crate::breaker`]);
//! 10. **report**: the API's metrics and the access line.
//!
//! The response of an API with `cors` on, refusals included, is marked for browsers
//! (`Access-Control-Allow-Origin: *`) before it is reported.
//!
//! With `X-Apig-Mode: debug` the response also carries `X-Apig-Latency` and
//! `X-Apig-Upstream-Latency` (milliseconds), for an app with a quota `X-Apig-RateLimit-app`
//! (`remain:9,limit:10,time:10 second`), and for an API with a throttling policy
//! `X-Apig-RateLimit-api` and, for the limits the policy sets, `-user`, `-app` and `-ip`; with
//! the instance's default limit, `X-Apig-RateLimit-api-allenv`.
//!
//! Once answered, the request is counted in its API's [`meters`](crate::meters) (status
//! class, latency, upstream latency; refusals by APIG code) when a recorder is installed, and
//! logged as one access line when the access log is on; the clock is read only for those and
//! for the debugging headers.
//!
//! A phase borrows from the snapshot loaded once per request and does only its own work: the
//! AppCode is hashed once per request at most (once per connection when the client repeats
//! it, see [`ConnState`]; an access token's HMAC likewise), the body is read into memory only
//! when a signature covers it, no lock is taken on the success path (failures go to the
//! throttling book).

use crate::app_token::{self, TokenRefusal};
use crate::apps::{AppEntry, AuthTarget};
use crate::balancer::CallKey;
use crate::body::{BodyLimits, BodyWatch, CallerBody, GatewayBody, LimitedBody, UpstreamBody};
use crate::breaker::{self, Consulted};
use crate::config::{ApiAuth, AppTokenConfig, Protocol, Transport};
use crate::cors;
use crate::deadline::ExchangeTimer;
use crate::errors;
use crate::fields::RequestFields;
use crate::meters;
use crate::params;
use crate::policy;
use crate::proxy::{self, Caller, REQUEST_ID_HEADER};
use crate::quota::QuotaCall;
use crate::rate_limit::{AllEnvs, Share};
use crate::responses;
use crate::routes::RouteMatch;
use crate::snapshot::{ApiEntry, Serving, Snapshot};
use crate::tls::ClientCaFingerprint;
use crate::Inner;
use apigw_domain::gateway_response::ResponseType;
use apigw_domain::ApiError;
use apigw_signing::{Authorization, PayloadHash, CONTENT_SHA256_HEADER, UNSIGNED_PAYLOAD};
use base64::Engine;
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;
use subtle::ConstantTimeEq;

/// The connection a request arrived on.
#[derive(Debug, Clone)]
pub(crate) struct Conn {
    /// The TCP peer (the address ACLs and throttling see; `X-Forwarded-For` is not trusted).
    pub peer: SocketAddr,
    /// Whether the listener terminates TLS.
    pub tls: bool,
    /// The peer's address as the backend sees it in `X-Forwarded-For`, formatted once per
    /// connection.
    pub peer_text: HeaderValue,
    /// The routes this connection's requests are served with instead of the snapshot in
    /// service (a debugging call's); `None` for every listener's connection.
    pub routes: Option<Arc<Snapshot>>,
    /// The CA set the client's certificate was verified against in the TLS handshake (the
    /// name it asked for verifies client certificates); `None`: no certificate was asked for.
    pub client_ca: Option<ClientCaFingerprint>,
}

impl Conn {
    pub fn new(peer: SocketAddr, tls: bool) -> Self {
        let text = peer.ip().to_canonical().to_string();
        Self {
            peer,
            tls,
            peer_text: HeaderValue::try_from(text).expect("an IP address is a valid header value"),
            routes: None,
            client_ca: None,
        }
    }
}

/// The client's address read from `X-Forwarded-For`, where the instance says so
/// (`real_ip_from_xff`, its `xff_index`); `None` leaves the TCP peer as the client.
///
/// Exists because behind a load balancer the TCP peer is the balancer: the feature names which
/// address of `X-Forwarded-For` is the client's (0 the first, -1 the last, the one the nearest
/// proxy added). Every `X-Forwarded-For` field counts, in order, as one list; no address at
/// that index, or none that parses, leaves the peer.
#[inline]
fn forwarded_client(headers: &http::HeaderMap, xff_index: Option<i32>) -> Option<IpAddr> {
    // Most instances do not read the header: nothing else to do.
    xff_index.and_then(|index| forwarded_address(headers, index))
}

/// [`forwarded_client`]'s reading of the header, out of line: only instances with the feature
/// run it.
#[cold]
#[inline(never)]
fn forwarded_address(headers: &http::HeaderMap, index: i32) -> Option<IpAddr> {
    let mut listed = headers
        .get_all(proxy::FORWARDED_FOR)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or_default().split(','));
    let chosen = match usize::try_from(index) {
        Ok(from_start) => listed.nth(from_start),
        Err(_) => listed.rev().nth(index.unsigned_abs() as usize - 1),
    };
    chosen?.trim().parse().ok()
}

/// The stage used when a request has no `X-Stage`.
const DEFAULT_STAGE: &str = "RELEASE";

/// A phase's result, or leaving the labelled block of phases with its refusal.
macro_rules! pass {
    ($phase:expr, $phases:lifetime) => {
        match $phase {
            Ok(value) => value,
            Err(refusal) => break $phases Err(refusal),
        }
    };
}

/// Runs one request through every phase; never fails (errors become data-plane responses).
///
/// An `async` block rather than an `async fn`: an `async fn` copies its arguments into its
/// body's own variables, which would keep a second copy of the request in the future.
#[allow(clippy::manual_async_fn)] // deliberate, see above
#[inline(always)] // the future is built in place, in its caller's state, not copied there
pub(crate) fn handle<'a>(
    gw: &'a Inner,
    request: Request<CallerBody>,
    conn: &'a Conn,
    state: &'a mut ConnState,
) -> impl Future<Output = Response<GatewayBody>> + Send + 'a {
    async move {
        // Phase 1: request id.
        let request_id = RequestId::generate();
        // The snapshot in service, or the routes a debugging call brought. Chosen in here,
        // not by the caller: the future is then built in place from its arguments alone.
        let snapshot = match &conn.routes {
            None => gw.snapshot.load_full(),
            Some(routes) => Arc::clone(routes),
        };
        let settings = &gw.settings;
        let mut trace = Trace::default();
        // Set once the request's fields are read (`X-Apig-Mode` asks for timing too).
        let started;
        let access;
        // The group the host leads to, once known (its gateway response answers a call no
        // API takes).
        let mut group = None;
        // The circuit breaker that judges the exchange, with the wall clock and the instant
        // the call was sent (out here, not in the block's result, which stays as small).
        let watched;
        // Phases 1 (head limits) to 9, inline: each `pass!` leaves the block with its phase's
        // refusal. One future for the whole request (no layer per phase to build and move); the
        // only awaits are a signed body and the backend exchange.
        let phases = 'phases: {
            // Everything before the exchange in a block of its own: its values (the request head,
            // route, backend request) are gone before the exchange is awaited, so the request's
            // future does not keep room for them while it waits for the backend.
            let (picked, exchange, caller_body, sent, deadline) = {
                let (parts, body) = request.into_parts();
                let mut fields = RequestFields::of(&parts.headers);
                trace.enabled = fields.debug;
                // The clock is read only when something reports the latency.
                trace.timed = settings.metrics || settings.access_log || fields.debug;
                started = trace.timed.then(Instant::now);
                // Boxed: the request's future stays small (it is moved as a whole) when the
                // log is off.
                access = settings
                    .access_log
                    .then(|| Box::new((parts.method.clone(), parts.uri.clone())));
                pass!(refuse_oversized_head(&parts, fields.bytes), 'phases);
                // The route borrows the path; a clone of the URI (reference-counted bytes) lets
                // the request head move on to the proxy phase later.
                let uri = parts.uri.clone();

                // Phase 2: route (404). A CORS preflight is routed by the method it asks about,
                // then as the OPTIONS it is; the first API that allows CORS has the gateway
                // answer it, without credentials or backend. (One call site of `route`, so it
                // stays inlined into the common path.)
                let preflight = if parts.method == Method::OPTIONS {
                    cors::preflight_method(&parts.method, &parts.headers)
                } else {
                    None
                };
                let mut asking = preflight.as_ref();
                let transport = Transport {
                    tls: conn.tls,
                    http2: parts.version == http::Version::HTTP_2,
                };
                let host = request_host(&fields, &uri);
                let site = pass!(
                    snapshot.host_route(host).ok_or_else(errors::api_not_found),
                    'phases
                );
                group = Some(site.group);
                // A name bound without a port for this protocol (-1) is not served on it; one
                // bound with `is_http_redirect_to_https` sends plain HTTP callers to HTTPS
                // before anything else is looked at.
                if !site.served(conn.tls) {
                    break 'phases Err(errors::api_not_found());
                }
                if site.redirect_to_https && !conn.tls {
                    break 'phases Ok(redirect_to_https(
                        host,
                        site.https_port,
                        &uri,
                        &parts.method,
                    ));
                }
                // A name that verifies client certificates is served only on connections
                // whose client presented one from its CA set (the handshake for that name
                // asked for it): not over plain HTTP, nor on a connection opened for another
                // name (`Host` differing from SNI).
                if site.client_ca.is_some() && site.client_ca != conn.client_ca {
                    break 'phases Err(errors::access_denied());
                }
                // The instance's token endpoint (`app_token`), on every host it serves, ahead
                // of its APIs (most instances have none: one test).
                if let Some(terms) = snapshot.features().app_token.as_deref() {
                    if uri.path() == terms.uri {
                        let xff = snapshot.features().client_ip_xff_index;
                        trace.client = forwarded_client(&parts.headers, xff);
                        let client = trace.client.unwrap_or_else(|| conn.peer.ip());
                        let request = (&parts.method, &parts.headers, body);
                        let issued =
                            app_token::answer(gw, terms, &snapshot, request, (conn.tls, client));
                        let (answer, app) = Box::pin(issued).await;
                        trace.app = app;
                        break 'phases answer;
                    }
                }
                let route = loop {
                    let method = asking.unwrap_or(&parts.method);
                    let mut routed = route(&snapshot, site.group, &fields, method, &uri, transport);
                    // A call by IP address the DEFAULT group has no API for may reach another
                    // group's where the instance says so (`app_route`).
                    if routed.is_err() && site.fallback && snapshot.features().app_route {
                        let call = (&fields, method, &uri, transport);
                        if let Some((g, found)) = route_by_address(&snapshot, host, call) {
                            group = Some(g);
                            routed = Ok(found);
                        }
                    }
                    if preflight.is_some() {
                        if let Some(api) = routed.as_ref().ok().map(|r| snapshot.api(r.api)) {
                            // A CORS plug-in answers in place of the API's own switch.
                            let plugins = api.plugins.as_deref().filter(|p| p.has_cors());
                            if let Some(plugins) = plugins {
                                trace.api = Some(api);
                                trace.origin = plugins.origin_to_keep(&parts.headers);
                                break 'phases Ok(plugins.preflight_answer());
                            }
                            if api.cors {
                                trace.api = Some(api);
                                break 'phases Ok(cors::preflight_answer(&parts.headers));
                            }
                        }
                        if asking.take().is_some() {
                            continue;
                        }
                    }
                    break pass!(routed, 'phases);
                };
                let api = snapshot.api(route.api);
                trace.api = Some(api);
                if let Some(plugins) = api.plugins.as_deref() {
                    trace.origin = plugins.origin_to_keep(&parts.headers);
                }
                tracing::debug!(
                    request_id = request_id.as_str(),
                    api_id = &*api.api_id,
                    api = &*api.name,
                    "routed"
                );
                let features = snapshot.features();
                // The instance's own header of app credentials (`app_auth_header`) stands in
                // for `Authorization`, which then reaches the backend as the caller sent it.
                if let Some(name) = &features.app_auth_header {
                    fields.authorization = parts.headers.get(name);
                    fields.forwarding.authorization = false;
                }
                let mut limits = BodyLimits::of(settings, features);
                // A gRPC call's stream may be long: the limit holds each of its messages (a
                // body read whole for a signature is still held to it as a whole).
                limits.per_grpc_message = api.protocol == Protocol::Grpcs;
                if !limits.per_grpc_message {
                    let declared =
                        refuse_declared_oversize(fields.content_length, limits.max_bytes);
                    pass!(declared, 'phases);
                }
                // Who the client is: the TCP peer, unless the instance reads the address from
                // X-Forwarded-For (what ACLs, throttling, $context.sourceIp and the log see).
                let forwarded = forwarded_client(&parts.headers, features.client_ip_xff_index);
                let client = forwarded.unwrap_or_else(|| conn.peer.ip());
                trace.client = forwarded;
                // The API's access control policy admits the client (403 APIG.0402).
                if let Some(acl) = &api.ip_acl {
                    if !acl.allows(client) {
                        break 'phases Err(errors::ip_not_allowed());
                    }
                }

                // Phase 3: authenticate (401, 429).
                let memo = &mut state.app_code;
                let identified = identify(gw, &snapshot, api.auth, &fields, (conn, client), memo);
                let identified = pass!(identified, 'phases);
                let (app, outgoing) = match identified {
                    Identified::Anyone => (None, Outgoing::stream(body, limits)),
                    Identified::App(app) => (Some(app), Outgoing::stream(body, limits)),
                    Identified::Signed(signed) => {
                        // Boxed: only signed requests pay for the room their body's reading needs.
                        let verified =
                            Box::pin(verify_signed(gw, &signed, &parts, (body, limits), client))
                                .await;
                        (Some(signed.app), pass!(verified, 'phases))
                    }
                };
                trace.app = app;
                if let Some(app) = app {
                    // Phase 4: authorize (403 APIG.0304).
                    pass!(authorize(app, &api.target), 'phases);
                    // Phase 5: ACL (403 APIG.0405).
                    pass!(check_acl(app, client), 'phases);
                }
                // Phase 6: request parameters (400 APIG.0106), before any quota is spent.
                if !api.req_params.is_empty() {
                    let query = uri.query();
                    let checked = params::check(&api.req_params, &route, query, &parts.headers);
                    pass!(checked, 'phases);
                }
                // What throttling rules and backend policies read of the call (references).
                let call = policy::CallFacts {
                    client,
                    method: &parts.method,
                    uri: &uri,
                    route: &route,
                    headers: &parts.headers,
                    host,
                };
                // Phase 7: request throttling (429 APIG.0308), before any quota is spent. The
                // wall clock, read once for this phase and the next.
                let mut wall = None;
                let per_second = features.api_calls_per_second;
                if per_second.is_some() || api.rate_limit.is_some() {
                    let now = *wall.insert(crate::quota::wall_ms());
                    let share = gw.throttle_share();
                    let limits = (per_second, share);
                    let throttled = throttle(api, limits, (app, &call), now, &mut trace);
                    pass!(throttled, 'phases);
                }
                if let Some(app) = app {
                    // Phase 8: quota (405 APIG.0501).
                    pass!(take_quota(app, wall, &mut trace), 'phases);
                }

                // Phase 9: proxy (502, 504, 413), or a MOCK API's fixed answer: the API's
                // backend, or its first backend policy whose conditions the call meets.
                let serving = match &api.policies {
                    None => &api.serving,
                    Some(policies) => {
                        let (serving, policy) = policies.serving(api, &call, &request_id);
                        trace.policy = policy;
                        serving
                    }
                };
                // The circuit breaker: an open one answers the call another way (503
                // `APIG.0202` without a downgrade); a closed one counts how the backend answers.
                let (serving, judge) = match api.breaker.as_deref() {
                    None => (serving, None),
                    Some(breaker) => {
                        let now = *wall.get_or_insert_with(crate::quota::wall_ms);
                        match breaker.consult(&call, now) {
                            Consulted::Closed(arm) => (serving, Some((arm, now))),
                            Consulted::Rerouted(downgrade) => {
                                trace.policy = Some(breaker::POLICY);
                                (downgrade, None)
                            }
                            Consulted::Answered(answer) => {
                                trace.policy = Some(breaker::POLICY);
                                break 'phases answer;
                            }
                        }
                    }
                };
                let backend = match serving {
                    Serving::Proxy(backend) => backend,
                    Serving::Mock(content) => break 'phases Ok(proxy::mock_answer(content)),
                    Serving::Missing(_) => break 'phases Err(errors::backend_missing()),
                };
                // The server: the backend's address, or one of its VPC channel's (502 APIG.0202
                // when none is healthy).
                let call = CallKey { client, uri: &uri };
                let Some(picked) = backend.pick(&call) else {
                    break 'phases Err(errors::backend_unavailable());
                };
                let caller = Caller {
                    app_id: app.map(|a| &*a.app_id),
                    app_name: app.map(|a| &*a.app_name),
                    peer_text: &conn.peer_text,
                    source_ip: forwarded,
                    request_id: &request_id.header,
                    forwarded_for: fields.forwarded_for.cloned(),
                    credential_header: features.app_auth_header.as_ref(),
                    sign_header: features.backend_sign_header.as_ref(),
                };
                let mut forwarding = fields.forwarding;
                forwarding.api_key &= features.app_api_key;
                // A signature key that signs the body's hash needs the body whole (boxed: only
                // such APIs pay for the room its reading needs); a gRPC stream is not held.
                let body = match backend.signing.as_deref() {
                    Some(signer) if signer.hashes_body(backend.grpc) => {
                        let whole = outgoing.body.read_whole(outgoing.watch.as_deref());
                        UpstreamBody::buffered(pass!(Box::pin(whole).await, 'phases))
                    }
                    _ => outgoing.body,
                };
                let backend_request = proxy::backend_request(
                    api,
                    backend,
                    &route,
                    &uri,
                    (parts, forwarding),
                    body,
                    &caller,
                );
                let backend_request = pass!(backend_request, 'phases);
                // One clock reading for the upstream latency, the deadline and the pool.
                let sent = trace.timed.then(Instant::now);
                let now = sent.unwrap_or_else(Instant::now);
                // Boxed by the client: the exchange's state (connection, head buffers, retries)
                // is the largest part of a request's future.
                let exchange = gw
                    .upstream
                    .exchange(backend, picked.endpoint, backend_request, now);
                // The API's timeout, unless the instance caps every backend's (backend_timeout).
                let timeout = match features.max_backend_timeout {
                    Some(cap) => backend.timeout.min(cap),
                    None => backend.timeout,
                };
                // The breaker judges the exchange by the wall clock at sending and the time
                // it took (one clock reading after the exchange, not two).
                watched = judge.map(|(arm, wall)| (arm, wall, now));
                (picked, exchange, outgoing.watch, sent, now + timeout)
            };
            let caller_body = caller_body.as_deref();
            let exchanged = state.timer.bound(deadline, exchange, caller_body).await;
            let exchanged = proxy::exchanged(exchanged, picked.endpoint, caller_body);
            if let Some((arm, wall, sent)) = watched {
                arm.judge(&exchanged, (wall, sent));
            }
            let response = pass!(exchanged, 'phases);
            trace.upstream = sent.map(|t| t.elapsed());
            // Least connections: the call counts at its server until its body is through.
            let response = match picked.in_flight {
                Some(in_flight) => response.map(|body| body.counting(in_flight)),
                None => response,
            };
            Ok(response.map(GatewayBody::Upstream))
        };
        let (mut response, refusal) = match phases {
            Ok(response) => (response, None),
            Err(error) => {
                tracing::debug!(
                    request_id = request_id.as_str(),
                    code = error.code,
                    status = error.status,
                    "request refused"
                );
                // A gRPC API's callers read the refusal as a gRPC status (counted with the
                // refusal's HTTP status); others get their gateway response, if one changes
                // this refusal's answer, else the gateway's own.
                if trace.api.is_some_and(|api| api.protocol == Protocol::Grpcs) {
                    (
                        errors::render_grpc(&error),
                        Some((error.code, error.status)),
                    )
                } else {
                    let client = trace.client.unwrap_or_else(|| conn.peer.ip());
                    let refused = (&error, request_id.as_str(), client);
                    let response = refusal_answer(&snapshot, group, &trace, refused);
                    let status = response.status().as_u16();
                    (response, Some((error.code, status)))
                }
            }
        };
        // The API's plug-ins (response fields, CORS), else its own CORS switch.
        if let Some(api) = trace.api {
            match api.plugins.as_deref() {
                Some(plugins) => plugins.respond(&mut response, api.cors, trace.origin.as_deref()),
                None if api.cors => cors::mark(&mut response),
                None => {}
            }
        }
        let elapsed = started.map(|t| t.elapsed()).unwrap_or_default();
        // Phase 10: report (metrics, access log). A refusal counts with its HTTP status, also
        // when a gRPC caller got it as a gRPC status.
        let status = match refusal {
            Some((_, status)) => http::StatusCode::from_u16(status).unwrap_or(response.status()),
            None => response.status(),
        };
        let outcome = Outcome {
            status,
            refusal: refusal.map(|(code, _)| code),
            elapsed,
        };
        report(gw, conn, &request_id, &trace, &outcome, access.as_deref());
        match response.body_mut() {
            // A proxied response: one more line among the backend's (which had its own
            // X-Request-Id left out), no header map to build.
            GatewayBody::Upstream(body) => {
                body.fields_mut()
                    .push(&REQUEST_ID_HEADER, request_id.header.as_bytes());
            }
            GatewayBody::Full(_) => {
                let id = request_id.header.clone();
                response.headers_mut().insert(REQUEST_ID_HEADER, id);
            }
        }
        if trace.enabled {
            trace.write(response.headers_mut(), elapsed);
        }
        response
    }
}

/// The answer to a refused call: the gateway response of its API (or, routed to none, of
/// the host's group) where one changes this refusal's answer, else the gateway's own error
/// body. `refused` is the error, the request id and the client's address.
#[inline(never)] // refusals only: kept out of the request path's code
fn refusal_answer(
    snapshot: &Snapshot,
    group: Option<u32>,
    trace: &Trace<'_>,
    (error, request_id, client): (&ApiError, &str, IpAddr),
) -> Response<GatewayBody> {
    let custom = match trace.api {
        Some(api) => api
            .responses
            .as_deref()
            .map(|r| (&*r.set, Some((&*api.api_id, &*api.name, &*r.stage)))),
        None => group
            .and_then(|g| snapshot.group_responses(g))
            .map(|set| (set, None)),
    };
    if let Some((set, api)) = custom {
        let missing = error.message.ends_with(errors::NO_CREDENTIALS);
        let facts = responses::Facts {
            error,
            kind: ResponseType::of_refusal(error.code, error.status, missing),
            request_id,
            api,
            app: trace.app.map(|a| (&*a.app_id, &*a.app_name)),
            client,
        };
        if let Some(answer) = set.render(&facts) {
            return answer;
        }
    }
    errors::render(error, request_id)
}

/// Answers a request head the server could not read as a request (400, 414, 494): with a
/// request id, counted and logged like any refusal.
pub(crate) fn refuse_head(gw: &Inner, conn: &Conn, error: &ApiError) -> Response<GatewayBody> {
    let request_id = RequestId::generate();
    let outcome = Outcome {
        status: http::StatusCode::from_u16(error.status).unwrap_or(http::StatusCode::BAD_REQUEST),
        refusal: Some(error.code),
        elapsed: std::time::Duration::ZERO,
    };
    report(gw, conn, &request_id, &Trace::default(), &outcome, None);
    let mut response = errors::render(error, request_id.as_str());
    response
        .headers_mut()
        .insert(REQUEST_ID_HEADER, request_id.header);
    response
}

/// How a request ended, for [`report`].
struct Outcome {
    status: http::StatusCode,
    /// The APIG code of the gateway's own answer, if it refused the request.
    refusal: Option<&'static str>,
    /// Request head to response head (zero when nothing asked for timing).
    elapsed: std::time::Duration,
}

/// Phase 10: counts the request in its API's meters (with a recorder installed) and writes its
/// access line when the access log is on (`access`: the method and URI, when known).
fn report(
    gw: &Inner,
    conn: &Conn,
    request_id: &RequestId,
    trace: &Trace<'_>,
    outcome: &Outcome,
    access: Option<&(http::Method, Uri)>,
) {
    if gw.settings.metrics {
        let api = trace.api.map_or(&gw.unrouted, |api| &api.meters);
        api.record(outcome.status, outcome.elapsed, trace.upstream);
        if let Some(code) = outcome.refusal {
            meters::refused(code);
        }
    }
    if !gw.settings.access_log {
        tracing::debug!(
            request_id = request_id.as_str(),
            status = outcome.status.as_u16(),
            "request done"
        );
        return;
    }
    // No method and path for a head that could not be read as a request.
    let (method, path) = access.map_or(("-", "-"), |(method, uri)| (method.as_str(), uri.path()));
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    tracing::info!(
        target: "apigw::access",
        request_id = request_id.as_str(),
        client = %trace.client.unwrap_or(conn.peer.ip()).to_canonical(),
        tls = conn.tls,
        %method,
        path,
        status = outcome.status.as_u16(),
        code = outcome.refusal.unwrap_or("-"),
        api_id = trace.api.map_or("-", |a| &*a.api_id),
        app_id = trace.app.map_or("-", |a| &*a.app_id),
        policy = trace.policy.unwrap_or("-"),
        latency_ms = ms(outcome.elapsed),
        upstream_ms = trace.upstream.map(ms),
        "request"
    );
}

/// The header that asks for debugging headers on the response.
pub(crate) const DEBUG_MODE_HEADER: HeaderName = HeaderName::from_static("x-apig-mode");
/// The header naming the stage (environment) to call.
pub(crate) const STAGE_HEADER: HeaderName = HeaderName::from_static("x-stage");

/// What the phases learn for the metrics, the access log and `X-Apig-Mode: debug`.
#[derive(Default)]
struct Trace<'s> {
    /// Whether the caller asked for the debugging headers (nothing is formatted otherwise).
    enabled: bool,
    /// Whether latencies are measured (metrics, access log or debugging headers).
    timed: bool,
    /// The API the request was routed to.
    api: Option<&'s ApiEntry>,
    /// The app that called it.
    app: Option<&'s AppEntry>,
    /// The client's address when read from `X-Forwarded-For` (else the TCP peer's).
    client: Option<IpAddr>,
    /// The backend policy that took the call, if one did (`circuit breaker`: an open breaker).
    policy: Option<&'s str>,
    /// Time to the backend's response head.
    upstream: Option<std::time::Duration>,
    /// The app's quota after this call (`X-Apig-RateLimit-app`).
    app_quota: Option<String>,
    /// The API's throttling limits after this call (`X-Apig-RateLimit-api`, `-user`, `-app`,
    /// `-ip`; an app limit of the policy takes the place of the app's quota there).
    rate_limits: Vec<(&'static str, String)>,
    /// The request's `Origin`, kept where a CORS plug-in compares it with the origins it
    /// allows (boxed: most requests have none to keep).
    origin: Option<Box<HeaderValue>>,
}

impl Trace<'_> {
    fn write(self, headers: &mut http::HeaderMap, total: std::time::Duration) {
        let ms = |d: std::time::Duration| HeaderValue::from(d.as_millis() as u64);
        headers.insert("x-apig-latency", ms(total));
        if let Some(upstream) = self.upstream {
            headers.insert("x-apig-upstream-latency", ms(upstream));
        }
        // Which backend policy took the call (ours: Huawei's debugging headers do not say).
        if let Some(policy) = self.policy.and_then(|p| HeaderValue::from_str(p).ok()) {
            headers.insert("x-apig-backend-policy", policy);
        }
        if let Some(quota) = self.app_quota.and_then(|q| HeaderValue::try_from(q).ok()) {
            headers.insert("x-apig-ratelimit-app", quota);
        }
        for (name, value) in self.rate_limits {
            if let Ok(value) = HeaderValue::try_from(value) {
                headers.insert(name, value);
            }
        }
    }
}

/// The host the request names: its `Host` field, else the authority of its target (HTTP/2).
fn request_host<'r>(fields: &RequestFields<'r>, uri: &'r Uri) -> &'r str {
    fields
        .host
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.host())
        .unwrap_or_default()
}

/// The answer to a plain HTTP request for a name that redirects to HTTPS: 301 for `GET` and
/// `HEAD` (what browsers and caches expect), 308 otherwise (the method and body are kept).
/// The request's port is dropped; the binding's HTTPS port (`ingress_https_port`) is named
/// when it is not the standard one.
fn redirect_to_https(
    host: &str,
    https_port: Option<u16>,
    uri: &Uri,
    method: &Method,
) -> Response<GatewayBody> {
    // Only bound domain names redirect (never an IP literal): the port is what follows ':'.
    let name = host.trim().split(':').next().unwrap_or_default();
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    let location = match https_port {
        Some(port) => format!("https://{name}:{port}{target}"),
        None => format!("https://{name}{target}"),
    };
    let status = if *method == Method::GET || *method == Method::HEAD {
        StatusCode::MOVED_PERMANENTLY
    } else {
        StatusCode::PERMANENT_REDIRECT
    };
    let mut response = Response::new(GatewayBody::Full(None));
    *response.status_mut() = status;
    // The name passed `host_route`, so it is a valid authority; a value that still fails
    // (it cannot) leaves the redirect without a target rather than panicking.
    if let Ok(location) = HeaderValue::try_from(location) {
        response
            .headers_mut()
            .insert(http::header::LOCATION, location);
    }
    response
}

/// Phase 2: the API of `group` this request (with `method`) addresses.
fn route<'s, 'r>(
    snapshot: &'s Snapshot,
    group: u32,
    fields: &RequestFields<'_>,
    method: &Method,
    uri: &'r Uri,
    transport: Transport,
) -> Result<RouteMatch<'s, 'r>, ApiError> {
    let path = uri.path();
    if has_dot_segment(path) {
        return Err(errors::bad_request());
    }
    let stage = match fields.stage.map(|v| v.to_str()) {
        None => DEFAULT_STAGE,
        Some(Ok(v)) if v.trim().is_empty() => DEFAULT_STAGE,
        Some(Ok(v)) => v.trim(),
        Some(Err(_)) => return Err(errors::api_not_found()),
    };
    snapshot
        .route(group, stage, method, path, transport)
        .ok_or_else(errors::api_not_found)
}

/// `app_route`: the first group other than the DEFAULT one with an API for a call whose host
/// is an IP address (none for any other host), and that API's route.
#[cold]
#[inline(never)]
fn route_by_address<'s, 'r>(
    snapshot: &'s Snapshot,
    host: &str,
    (fields, method, uri, transport): (&RequestFields<'_>, &Method, &'r Uri, Transport),
) -> Option<(u32, RouteMatch<'s, 'r>)> {
    crate::snapshot::host_only(host.trim())
        .parse::<IpAddr>()
        .ok()?;
    snapshot.other_groups().find_map(|g| {
        let found = route(snapshot, g, fields, method, uri, transport).ok()?;
        Some((g, found))
    })
}

/// `.` or `..` segments (also percent-encoded) would let a `SWA` suffix climb out of the
/// backend path on a backend that normalises; such requests are refused.
fn has_dot_segment(path: &str) -> bool {
    // Most paths have neither a dot nor a percent sign: one scan settles them.
    if !path.bytes().any(|b| b == b'.' || b == b'%') {
        return false;
    }
    path.split('/').any(|segment| {
        let lower = segment.as_bytes();
        let dots = |s: &[u8]| {
            s.eq_ignore_ascii_case(b".")
                || s.eq_ignore_ascii_case(b"%2e")
                || s.eq_ignore_ascii_case(b"..")
                || s.eq_ignore_ascii_case(b".%2e")
                || s.eq_ignore_ascii_case(b"%2e.")
                || s.eq_ignore_ascii_case(b"%2e%2e")
        };
        lower.len() <= 6 && dots(lower)
    })
}

/// The largest request URI (path and query) the gateway accepts, as APIG does.
const MAX_URI_BYTES: usize = 32 * 1024;
/// The largest sum of header names and values the gateway accepts.
const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Head limits: 414 for a URI over [`MAX_URI_BYTES`], 494 for headers over [`MAX_HEADER_BYTES`]
/// (the connection's read buffer caps both before this; these give APIG's answers).
/// `header_bytes`: the fields' names and values together.
fn refuse_oversized_head(parts: &Parts, header_bytes: usize) -> Result<(), ApiError> {
    let uri_len = parts.uri.path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > MAX_URI_BYTES {
        return Err(errors::uri_too_large());
    }
    if header_bytes > MAX_HEADER_BYTES {
        return Err(errors::headers_too_large());
    }
    Ok(())
}

/// A declared `Content-Length` over the limit is refused before anything is read (chunked
/// bodies are cut off while streaming or reading instead).
fn refuse_declared_oversize(
    content_length: Option<&HeaderValue>,
    limit: u64,
) -> Result<(), ApiError> {
    let declared = content_length
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(len) if len > limit => Err(errors::body_too_large()),
        _ => Ok(()),
    }
}

/// Phase 4: the app holds an authorization for this API in this environment.
fn authorize(app: &AppEntry, api: &Arc<AuthTarget>) -> Result<(), ApiError> {
    if app.may_call(api) {
        Ok(())
    } else {
        Err(errors::app_not_authorized())
    }
}

/// Phase 5: the app's ACL admits the caller's address.
fn check_acl(app: &AppEntry, peer: IpAddr) -> Result<(), ApiError> {
    match &app.acl {
        Some(acl) if !acl.allows(peer) => Err(errors::untrusted_ip()),
        _ => Ok(()),
    }
}

/// Phase 7: one call of the API against the instance's default limit (`per_second`, all
/// environments together), then against its request throttling policy (or `rate_limit`
/// plug-in, under the first of its parameter-based rules the call meets), by the app (if
/// any) from the client's address at `now` (Unix milliseconds); each limit as far as this
/// node's `share` of it goes. A refused call counts against no limit.
fn throttle(
    api: &ApiEntry,
    (per_second, share): (Option<u32>, Share),
    (app, call): (Option<&AppEntry>, &policy::CallFacts<'_, '_>),
    now: i64,
    trace: &mut Trace<'_>,
) -> Result<(), ApiError> {
    if let Some(limit) = per_second.map(|l| share.of(l)) {
        let taken = api.all_envs.take(now, limit);
        if trace.enabled {
            let left = AllEnvs::describe(taken.unwrap_or(0), limit);
            trace
                .rate_limits
                .push(("x-apig-ratelimit-api-allenv", left));
        }
        if taken.is_none() {
            return Err(errors::throttled());
        }
    }
    let Some(limiter) = &api.rate_limit else {
        return Ok(());
    };
    let rule = limiter.rule_for(call);
    let caller = (app.map(|a| &*a.app_id), call.client);
    let counted = limiter.acquire(now, share, caller, rule);
    if trace.enabled {
        let (Ok(left) | Err(left)) = &counted;
        trace.rate_limits.extend(limiter.describe(left));
    }
    if counted.is_err() {
        if per_second.is_some() {
            api.all_envs.give_back(now);
        }
        return Err(errors::throttled());
    }
    Ok(())
}

/// Phase 8: one call of the app's quota (a refused call takes none), at `wall` (Unix
/// milliseconds) when the throttling phase has read the clock already.
fn take_quota(app: &AppEntry, wall: Option<i64>, trace: &mut Trace<'_>) -> Result<(), ApiError> {
    let Some(quota) = &app.quota else {
        return Ok(());
    };
    match quota.acquire(wall.unwrap_or_else(crate::quota::wall_ms)) {
        QuotaCall::Unlimited => Ok(()),
        QuotaCall::Allowed(remain) => {
            if trace.enabled {
                trace.app_quota = quota.describe(remain);
            }
            Ok(())
        }
        QuotaCall::UsedUp => {
            if trace.enabled {
                trace.app_quota = quota.describe(0);
            }
            Err(errors::quota_used_up())
        }
    }
}

/// The body on its way to the backend.
struct Outgoing {
    body: UpstreamBody,
    /// What a streamed body tells the proxy (too large, caller stalled, caller waits).
    watch: Option<Arc<BodyWatch>>,
}

impl Outgoing {
    fn stream(body: CallerBody, limits: BodyLimits) -> Self {
        // No body: nothing to limit or watch.
        if let CallerBody::Empty = body {
            return Self {
                body: UpstreamBody::Buffered(None),
                watch: None,
            };
        }
        let (body, watch) = LimitedBody::new(body, limits);
        Self {
            body: UpstreamBody::Streaming(body),
            watch: Some(watch),
        }
    }

    fn buffered(bytes: Bytes) -> Self {
        Self {
            body: UpstreamBody::buffered(bytes),
            watch: None,
        }
    }
}

/// Phase 3, from the request head: who calls. AppCodes, the key-and-secret modes and `NONE`
/// APIs are settled here; a signature names its app, and is verified once its body (or
/// declared hash) is at hand.
///
/// Not async, and the signature's verification a separate future: the AppCode and `NONE`
/// paths build no future of their own, so nothing is moved in and out of one per request.
fn identify<'s, 'h>(
    gw: &Inner,
    snapshot: &'s Snapshot,
    auth: ApiAuth,
    fields: &RequestFields<'h>,
    (conn, peer): (&Conn, IpAddr),
    memo: &mut AppCodeMemo,
) -> Result<Identified<'s, 'h>, ApiError> {
    let ApiAuth::App { app_code_header } = auth else {
        return Ok(Identified::Anyone);
    };
    let app_code = fields.app_code.filter(|_| app_code_header);
    // An AppCode, or an AppSecret presented itself, only over TLS (unless allowed in clear).
    let in_clear_allowed = conn.tls || gw.settings.allow_app_code_over_http;

    if let (Some(code), true) = (app_code, in_clear_allowed) {
        let hash = memo.hash(code.as_bytes(), &gw.settings.app_code_hasher);
        return match snapshot.app_by_code_hash(&hash) {
            Some(app) => Ok(Identified::App(app)),
            None => Err(gw.auth_failure(peer, None, || "app code not found".to_owned())),
        };
    }

    // The instance's modes that present the AppSecret itself (off unless configured).
    let modes = snapshot.features();
    let hw_id = fields.hw_id.filter(|_| modes.app_secret);
    if let (Some(key), true) = (hw_id, in_clear_allowed) {
        let secret = fields.hw_app_key.map_or(&[][..], HeaderValue::as_bytes);
        return key_and_secret(gw, snapshot, peer, key.as_bytes(), secret);
    }

    // The AppKey alone, where the instance allows it (`app_api_key`). The index compares keys
    // only within a bucket of the process's seeded hash: its timing tells nothing of a key.
    let api_key = fields.api_key.filter(|_| modes.app_api_key);
    if let (Some(key), true) = (api_key, in_clear_allowed) {
        let key = key.to_str().unwrap_or_default();
        return match snapshot.app_by_key(key) {
            Some(app) => Ok(Identified::App(app)),
            None => Err(gw.auth_failure(peer, None, || "app not found by apikey".to_owned())),
        };
    }

    let Some(value) = fields.authorization else {
        return Err(gw.auth_failure(peer, None, || {
            if app_code.is_some() {
                "app code is only accepted over HTTPS".to_owned()
            } else if hw_id.is_some() {
                "app secret is only accepted over HTTPS".to_owned()
            } else if api_key.is_some() {
                "apikey is only accepted over HTTPS".to_owned()
            } else {
                errors::NO_CREDENTIALS.to_owned()
            }
        }));
    };
    let value = value.to_str().unwrap_or_default();
    if let Some(encoded) = basic_credentials(value).filter(|_| modes.app_basic) {
        if !in_clear_allowed {
            return Err(gw.auth_failure(peer, None, || {
                "app secret is only accepted over HTTPS".to_owned()
            }));
        }
        let mut decoded = [0u8; MAX_BASIC_CREDENTIALS];
        let Some((key, secret)) = decode_basic(encoded, &mut decoded) else {
            return Err(gw.auth_failure(peer, None, || {
                "basic credentials are not base64(AppKey:AppSecret)".to_owned()
            }));
        };
        return key_and_secret(gw, snapshot, peer, key, secret);
    }
    if let Some(terms) = &modes.app_token {
        if let Some(token) = app_token::bearer(value) {
            let memo = &mut memo.token;
            return bearer_app(gw, (terms, memo), snapshot, token, (in_clear_allowed, peer));
        }
    }
    let authorization = match Authorization::parse(value) {
        Ok(a) => a,
        Err(e) => return Err(gw.auth_failure(peer, None, || e.to_string())),
    };
    let Some(app) = snapshot.app_by_key(authorization.access) else {
        return Err(gw.auth_failure(peer, None, || {
            format!("app not found, appkey {}", authorization.access)
        }));
    };
    Ok(Identified::Signed(Box::new(Signed { app, authorization })))
}

/// Phase 3 for `Authorization: Bearer <token>` (the `app_token` mode): the app of a current
/// access token. An expired one is 401 `APIG.0307`, not a failure that counts toward the
/// 429: callers meet it in the normal course of things.
fn bearer_app<'s, 'h>(
    gw: &Inner,
    (terms, memo): (&Arc<AppTokenConfig>, &mut app_token::TokenMemo),
    snapshot: &'s Snapshot,
    token: &str,
    (in_clear_allowed, peer): (bool, IpAddr),
) -> Result<Identified<'s, 'h>, ApiError> {
    if !in_clear_allowed {
        return Err(gw.auth_failure(peer, None, || {
            "app token is only accepted over HTTPS".to_owned()
        }));
    }
    match memo.app(&gw.settings.app_token_key, terms, snapshot, token) {
        Ok(app) => Ok(Identified::App(app)),
        Err(TokenRefusal::Expired) => Err(errors::token_expired()),
        Err(TokenRefusal::Invalid(why)) => Err(gw.auth_failure(peer, None, || why.to_owned())),
    }
}

/// The longest `AppKey:AppSecret` pair of the `app_basic` mode (64 + 1 + 128 characters fit).
const MAX_BASIC_CREDENTIALS: usize = 256;

/// The encoded credentials of an `Authorization: Basic ...` value (scheme case-insensitive).
fn basic_credentials(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("basic")
        .then(|| rest.trim_matches(' '))
}

/// The AppKey and AppSecret of Basic credentials, decoded into `buf` (no allocation); `None`
/// unless they are base64 of `key:secret` that fits.
fn decode_basic<'b>(
    encoded: &str,
    buf: &'b mut [u8; MAX_BASIC_CREDENTIALS],
) -> Option<(&'b [u8], &'b [u8])> {
    let n = base64::engine::general_purpose::STANDARD
        .decode_slice(encoded, buf)
        .ok()?;
    let pair = &buf[..n];
    let at = pair.iter().position(|&b| b == b':')?;
    Some((&pair[..at], &pair[at + 1..]))
}

/// Phase 3 for the modes that present an AppKey with its AppSecret (`app_secret`,
/// `app_basic`): the app, when the secret is its own.
fn key_and_secret<'s, 'h>(
    gw: &Inner,
    snapshot: &'s Snapshot,
    peer: IpAddr,
    key: &[u8],
    secret: &[u8],
) -> Result<Identified<'s, 'h>, ApiError> {
    let key = std::str::from_utf8(key).unwrap_or_default();
    let Some(app) = snapshot.app_by_key(key) else {
        return Err(gw.auth_failure(peer, None, || format!("app not found, appkey {key}")));
    };
    if !app.secret_matches(secret) {
        return Err(gw.auth_failure(peer, Some(key), || {
            format!("app secret does not match, appkey {key}")
        }));
    }
    Ok(Identified::App(app))
}

/// What a connection keeps from one request to the next (an HTTP/1.1 connection serves them
/// one at a time; an HTTP/2 request gets a state of its own, a [`StreamState`]).
#[derive(Default)]
pub(crate) struct ConnState {
    /// The backend-deadline timer, re-armed for each request.
    pub timer: ExchangeTimer,
    /// The last AppCode presented on the connection, with its index hash.
    app_code: AppCodeMemo,
}

/// The AppCode memo of an HTTP/2 connection, lent to one of its streams at a time.
///
/// Exists because HTTP/2 serves a connection's requests side by side, each with a state of
/// its own: a client that sends its requests one after another on one connection (most do)
/// still pays the AppCode's HMAC once, and a stream that finds the memo lent out hashes as
/// if it had none.
#[derive(Default)]
pub(crate) struct SharedMemo(std::sync::Mutex<Option<AppCodeMemo>>);

impl SharedMemo {
    /// A connection's memo, empty and not lent.
    pub fn new() -> Arc<Self> {
        Arc::new(Self(std::sync::Mutex::new(Some(AppCodeMemo::default()))))
    }

    /// The state of one request of the connection: with its memo when no other request holds
    /// it (given back when the state is dropped, however the request ends).
    pub fn stream(self: &Arc<Self>) -> StreamState {
        let memo = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        let lent = memo.is_some();
        StreamState {
            state: ConnState {
                timer: ExchangeTimer::default(),
                app_code: memo.unwrap_or_default(),
            },
            shared: lent.then(|| Arc::clone(self)),
        }
    }
}

/// The [`ConnState`] of one HTTP/2 request, holding its connection's AppCode memo if it got it.
pub(crate) struct StreamState {
    state: ConnState,
    /// Where the memo goes back to; `None` when another request held it.
    shared: Option<Arc<SharedMemo>>,
}

impl std::ops::Deref for StreamState {
    type Target = ConnState;
    fn deref(&self) -> &ConnState {
        &self.state
    }
}

impl std::ops::DerefMut for StreamState {
    fn deref_mut(&mut self) -> &mut ConnState {
        &mut self.state
    }
}

impl Drop for StreamState {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            let memo = std::mem::take(&mut self.state.app_code);
            *shared.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(memo);
        }
    }
}

/// The last AppCode a connection presented and its index hash (an HMAC-SHA256: three SHA-256
/// blocks, most of what an AppCode check costs).
///
/// Exists because a client nearly always presents the same AppCode on every request of a
/// keep-alive connection. Only the hash is remembered, never whether it was found: each
/// request still looks it up in the snapshot in service, so a revoked code is refused at once.
/// The presented code is compared in constant time, since one connection may carry the calls
/// of several clients (a proxy in front).
#[derive(Default)]
struct AppCodeMemo {
    code: Vec<u8>,
    hash: Option<[u8; 32]>,
    /// The connection's last access token (`app_token`), lent with the AppCode's memo.
    token: app_token::TokenMemo,
}

impl AppCodeMemo {
    /// Codes longer than this are hashed every time (APIG's are 64 to 180 characters): the
    /// memo stays small on every connection.
    const MAX_CODE: usize = 256;

    /// The index hash of `code`, from the memo when it is the connection's last code.
    fn hash(&mut self, code: &[u8], hasher: &crate::config::AppCodeHasher) -> [u8; 32] {
        if let Some(hash) = self.hash {
            if bool::from(self.code.as_slice().ct_eq(code)) {
                return hash;
            }
        }
        let hash = hasher.hash(code);
        if code.len() <= Self::MAX_CODE {
            self.code.clear();
            self.code.extend_from_slice(code);
            self.hash = Some(hash);
        }
        hash
    }
}

/// Who calls, as far as the request head tells (phase 3).
enum Identified<'s, 'h> {
    /// A `NONE` API: no credential asked for.
    Anyone,
    /// The app whose AppCode was presented.
    App(&'s AppEntry),
    /// A known app's signature, still to be verified (boxed: the signature path is the
    /// rarer one, and this keeps the others' value small).
    Signed(Box<Signed<'s, 'h>>),
}

/// A signature by a known app, before verification.
struct Signed<'s, 'h> {
    app: &'s AppEntry,
    authorization: Authorization<'h>,
}

/// Phase 3 for a signature: verifies it over the request (reading the body unless a signed
/// `X-Sdk-Content-Sha256` stands in for it, within `limits`); the body to forward.
async fn verify_signed(
    gw: &Inner,
    signed: &Signed<'_, '_>,
    parts: &Parts,
    (body, limits): (CallerBody, BodyLimits),
    peer: IpAddr,
) -> Result<Outgoing, ApiError> {
    let Signed { app, authorization } = signed;
    // The AppKey of a known app (the map key `access` was found under).
    let key = Some(authorization.access);

    // A signed X-Sdk-Content-Sha256 stands in for the body hash (an unsigned one is ignored,
    // or a captured request could have its body replaced).
    let content_hash_signed = authorization
        .signed_header_names()
        .any(|n| n.eq_ignore_ascii_case(CONTENT_SHA256_HEADER));
    let declared_hash = if content_hash_signed {
        parts
            .headers
            .get(CONTENT_SHA256_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    } else {
        None
    };
    let (buffered, outgoing) = match declared_hash {
        Some(UNSIGNED_PAYLOAD) => (None, Outgoing::stream(body, limits)),
        _ => {
            let bytes = read_body(body, limits).await?;
            (Some(bytes.clone()), Outgoing::buffered(bytes))
        }
    };
    let payload = match (declared_hash, &buffered) {
        (Some(hash), _) => PayloadHash::Precomputed(hash),
        (None, Some(bytes)) => PayloadHash::Body(bytes),
        (None, None) => PayloadHash::Body(&[]),
    };
    let verified = gw.verifier.verify(
        authorization,
        &parts.method,
        &parts.uri,
        &parts.headers,
        payload,
        &app.signing_key,
        time::OffsetDateTime::now_utc(),
    );
    if let Err(e) = verified {
        return Err(gw.auth_failure(peer, key, || e.to_string()));
    }
    // A signed hash other than UNSIGNED-PAYLOAD must be the body's.
    if let (Some(hash), Some(bytes)) = (declared_hash, &buffered) {
        let actual = Sha256::digest(bytes);
        let matches = hex::decode(hash).is_ok_and(|h| h.as_slice() == actual.as_slice());
        if !matches {
            return Err(gw.auth_failure(peer, key, || {
                "payload hash does not match x-sdk-content-sha256".to_owned()
            }));
        }
    }
    Ok(outgoing)
}

/// Reads a body the signature covers, within the body size limit and the client body timeout.
/// The limit holds the whole body even for a gRPC call: it is all kept in memory.
pub(crate) async fn read_body(body: CallerBody, limits: BodyLimits) -> Result<Bytes, ApiError> {
    if let CallerBody::Empty = body {
        return Ok(Bytes::new());
    }
    let whole = BodyLimits {
        per_grpc_message: false,
        ..limits
    };
    let (body, watch) = LimitedBody::new(body, whole);
    match body.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(_) => Err(watch.refusal()),
    }
}

/// A request id: 32 lower-case hex digits from the thread's CSPRNG.
pub(crate) struct RequestId {
    /// The id as it goes on the wire (a slice of its batch, see below).
    header: HeaderValue,
}

/// Request ids made at once: one random draw, one hex encoding and one allocation serve this
/// many requests (each id's header value is a slice of the shared batch, so cloning it onto
/// the backend request is a reference count, not a copy).
const REQUEST_IDS_PER_BATCH: usize = 64;

thread_local! {
    /// The thread's current batch of ids and how many of them are used.
    static REQUEST_IDS: std::cell::RefCell<(Bytes, usize)> =
        const { std::cell::RefCell::new((Bytes::new(), REQUEST_IDS_PER_BATCH)) };
}

impl RequestId {
    fn generate() -> Self {
        REQUEST_IDS.with_borrow_mut(|(batch, used)| {
            if *used == REQUEST_IDS_PER_BATCH {
                let mut random = [0u8; 16 * REQUEST_IDS_PER_BATCH];
                rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut random);
                let mut text = vec![0u8; 32 * REQUEST_IDS_PER_BATCH];
                hex::encode_to_slice(random, &mut text).expect("two hex digits per byte");
                *batch = Bytes::from(text);
                *used = 0;
            }
            let slice = batch.slice(*used * 32..(*used + 1) * 32);
            *used += 1;
            let header =
                HeaderValue::from_maybe_shared(slice).expect("hex is a valid header value");
            Self { header }
        })
    }

    pub(crate) fn as_str(&self) -> &str {
        self.header.to_str().expect("hex is ASCII")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AppCodeHasher;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_app_code_memo_hashes_a_new_code_and_remembers_the_last_one() {
        static HASHED: AtomicUsize = AtomicUsize::new(0);
        fn index(code: &[u8]) -> [u8; 32] {
            let mut out = [0u8; 32];
            out[0] = code.len() as u8;
            out[1] = code[code.len() - 1];
            out
        }
        let hasher = AppCodeHasher::custom(|code| {
            HASHED.fetch_add(1, Ordering::SeqCst);
            index(code)
        });
        let mut memo = AppCodeMemo::default();
        // How many times the hasher ran for `code`; the hash is right either way.
        let hashes = |memo: &mut AppCodeMemo, code: &[u8]| {
            let before = HASHED.load(Ordering::SeqCst);
            assert_eq!(memo.hash(code, &hasher), index(code));
            HASHED.load(Ordering::SeqCst) - before
        };
        assert_eq!(hashes(&mut memo, b"first-code"), 1);
        assert_eq!(hashes(&mut memo, b"first-code"), 0, "remembered");
        assert_eq!(
            hashes(&mut memo, b"first-codf"),
            1,
            "differs in its last byte"
        );
        assert_eq!(
            hashes(&mut memo, b"first-code"),
            1,
            "only the last code is kept"
        );
        assert_eq!(
            hashes(&mut memo, b"first-cod"),
            1,
            "a prefix is another code"
        );
        let long = vec![b'x'; AppCodeMemo::MAX_CODE + 1];
        assert_eq!(hashes(&mut memo, &long), 1);
        assert_eq!(hashes(&mut memo, &long), 1, "too long to keep");
        assert_eq!(hashes(&mut memo, b"first-cod"), 0, "still the last kept");
    }

    #[test]
    fn an_http2_connection_lends_its_memo_to_one_request_at_a_time() {
        let hasher = AppCodeHasher::custom(|code| [code.len() as u8; 32]);
        let shared = SharedMemo::new();
        let mut first = shared.stream();
        first.app_code.hash(b"the-code", &hasher);
        // While the first request holds it, a second one gets an empty memo of its own.
        let second = shared.stream();
        assert!(second.app_code.hash.is_none() && second.shared.is_none());
        drop(second);
        drop(first);
        // Given back when the first ended: the next request finds its code remembered.
        let third = shared.stream();
        assert_eq!(third.app_code.code, b"the-code");
        assert!(third.app_code.hash.is_some());
    }

    #[test]
    fn the_client_address_comes_from_x_forwarded_for_only_where_the_instance_says() {
        let mut headers = http::HeaderMap::new();
        let client =
            |h: &http::HeaderMap, index| forwarded_client(h, index).map(|ip| ip.to_string());
        let at = |s: &str| Some(s.to_owned());
        assert_eq!(client(&headers, Some(-1)), None, "no header");
        headers.append(
            proxy::FORWARDED_FOR,
            HeaderValue::from_static("1.1.1.1, 2.2.2.2"),
        );
        headers.append(
            proxy::FORWARDED_FOR,
            HeaderValue::from_static("2001:db8::3"),
        );
        assert_eq!(client(&headers, None), None, "feature off");
        assert_eq!(client(&headers, Some(0)), at("1.1.1.1"));
        assert_eq!(client(&headers, Some(1)), at("2.2.2.2"));
        assert_eq!(client(&headers, Some(2)), at("2001:db8::3"));
        assert_eq!(client(&headers, Some(-1)), at("2001:db8::3"));
        assert_eq!(client(&headers, Some(-3)), at("1.1.1.1"));
        assert_eq!(client(&headers, Some(3)), None, "beyond the list");
        assert_eq!(client(&headers, Some(-4)), None, "beyond the list");
        assert_eq!(client(&headers, Some(i32::MAX)), None, "the largest index");
        assert_eq!(client(&headers, Some(i32::MIN)), None, "the smallest index");
        let mut junk = http::HeaderMap::new();
        junk.append(
            proxy::FORWARDED_FOR,
            HeaderValue::from_static("unknown, 1.2.3.4:80"),
        );
        assert_eq!(client(&junk, Some(0)), None, "not an address");
        assert_eq!(client(&junk, Some(-1)), None, "an address with a port");
    }

    #[test]
    fn basic_credentials_decode_into_key_and_secret() {
        let mut buf = [0u8; MAX_BASIC_CREDENTIALS];
        let decoded = decode_basic("a2V5OnNlYzpyZXQ=", &mut buf);
        assert_eq!(decoded, Some((&b"key"[..], &b"sec:ret"[..])));
        for bad in ["a2V5", "!!!", "a2V5OnNlY3JldA"] {
            let mut buf = [0u8; MAX_BASIC_CREDENTIALS];
            assert_eq!(decode_basic(bad, &mut buf), None, "{bad:?}");
        }
        // Longer than any AppKey:AppSecret pair: refused, not truncated.
        use base64::Engine;
        let long = base64::engine::general_purpose::STANDARD.encode([b'k'; 300]);
        let mut buf = [0u8; MAX_BASIC_CREDENTIALS];
        assert_eq!(decode_basic(&long, &mut buf), None);
    }

    #[test]
    fn basic_credentials_are_found_after_the_scheme() {
        assert_eq!(
            basic_credentials("Basic a2V5OnNlY3JldA=="),
            Some("a2V5OnNlY3JldA==")
        );
        assert_eq!(basic_credentials("basic  a2V5 "), Some("a2V5"));
        assert_eq!(basic_credentials("BASIC x"), Some("x"));
        for other in [
            "Basic",
            "Bearer abc",
            "SDK-HMAC-SHA256 Access=k",
            "Basicx y",
            "",
        ] {
            assert_eq!(basic_credentials(other), None, "{other:?}");
        }
    }

    #[test]
    fn dot_segments_are_detected() {
        for bad in ["/a/../b", "/a/./b", "/..", "/a/%2e%2E/b", "/a/.%2e", "/%2E"] {
            assert!(has_dot_segment(bad), "{bad}");
        }
        for good in ["/a/b", "/a/.b", "/a/b..", "/...", "/a/%2e%2e%2e"] {
            assert!(!has_dot_segment(good), "{good}");
        }
    }

    #[test]
    fn request_ids_stay_distinct_across_batches() {
        let ids: std::collections::HashSet<String> = (0..5 * REQUEST_IDS_PER_BATCH)
            .map(|_| {
                let id = RequestId::generate();
                assert_eq!(id.header.as_bytes(), id.as_str().as_bytes());
                id.as_str().to_owned()
            })
            .collect();
        assert_eq!(ids.len(), 5 * REQUEST_IDS_PER_BATCH);
        assert!(ids.iter().all(|id| id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))));
    }

    #[test]
    fn request_ids_are_32_hex_digits() {
        let id = RequestId::generate();
        assert_eq!(id.as_str().len(), 32);
        assert!(id.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(id.as_str(), RequestId::generate().as_str());
    }
}
