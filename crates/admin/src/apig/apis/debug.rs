//! Debugging an API (APIG `DebugApiV2`): `POST /apis/debug/{api_id}` describes one call; the
//! node's gateway makes it and the answer shows the request sent, the response received (its
//! body cut at 2 MiB), the time taken and a log of what was done.
//!
//! `DEVELOPER` runs the API's current definition alone, published or not, as its owner calls
//! it: no app credential is asked for, and what environments bind (request throttling, access
//! control, signature keys, variables) does not apply. `CONSUMER` calls the APIs published in
//! `stage` (default `RELEASE`) exactly as a consumer does, signed with `app_key`/`app_secret`
//! when given: every check of the gateway applies and the call counts like any other.

use super::{refusal, Addressed};
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::debugger::{DebugOrder, DebugOutcome, DebugTarget, DebugUnavailable};
use crate::error::{ApiResult, Error};
use crate::extract::PathArgs;
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::api::debug::{
    uses_variables, CanonicalName, DebugMode, DebugScheme, DebugSpec, DEVELOPER_STAGE,
    MAX_DEBUG_BODY,
};
use apigw_domain::api::sl_domain;
use apigw_domain::{ApiError, Page};
use apigw_store::apis::EnvFilter;
use axum::extract::{ConnectInfo, State};
use axum::{Extension, Json};
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::net::SocketAddr;

/// `X-Apig-Mode: debug`: the gateway adds its latency headers to the answer.
const DEBUG_MODE: (&str, &str) = ("x-apig-mode", "debug");

/// `POST /apis/debug/{api_id}`: 200 with `request`, `response`, `latency` (ms) and `log`.
pub async fn debug(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    PathArgs((project_id, instance_id, api_id)): PathArgs<(String, String, String)>,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let api_id = path_id(&api_id, "api_id")?;
    let spec = DebugSpec::parse(&body.0)?;
    let at = Addressed {
        instance: &instance_id,
        api: api_id.as_str(),
        env: spec.stage.as_str(),
        ..Addressed::default()
    };
    let api = state
        .store
        .get_api(&scope, api_id.as_str())
        .await
        .map_err(|e| refusal(e, at))?
        .ok_or_else(|| Error(ApiError::api_not_found(api_id.as_str())))?;
    let mut log = Vec::new();
    let stage = match spec.mode {
        DebugMode::Developer => {
            if uses_variables(&api.definition) {
                return Err(Error(ApiError::debug_needs_environment()));
            }
            log.push(format!(
                "DEVELOPER mode: the current definition of API {} ({}) alone, as its owner calls it (no app credential; no request throttling, access control, signature key or environment variable of an environment)",
                api.definition.name().as_str(),
                api.id
            ));
            if spec.credential.is_some() {
                log.push("app_key and app_secret are used in CONSUMER mode only".to_owned());
            }
            DEVELOPER_STAGE
        }
        DebugMode::Consumer => {
            let filter = EnvFilter {
                name: Some(spec.stage.as_str().to_owned()),
                name_exact: true,
            };
            let page = Page {
                offset: 0,
                limit: 1,
            };
            let (found, _) = state
                .store
                .list_environments(&scope, &filter, page)
                .await
                .map_err(|e| refusal(e, at))?;
            if found == 0 {
                return Err(Error(ApiError::environment_not_found(spec.stage.as_str())));
            }
            log.push(format!(
                "CONSUMER mode: the APIs published in environment {}, called as any consumer calls them",
                spec.stage.as_str()
            ));
            spec.stage.as_str()
        }
    };
    let host = match &spec.domain {
        Some(domain) => domain.clone(),
        None => sl_domain(&api.group.id, &state.config.region),
    };
    let request = build_request(&spec, &host, stage, &mut log)?;
    let request_text = request_text(&request);
    let order = DebugOrder {
        instance_id: instance_id.clone(),
        target: match spec.mode {
            DebugMode::Developer => DebugTarget::Definition(Box::new(api.clone())),
            DebugMode::Consumer => DebugTarget::Published,
        },
        request,
        peer,
        tls: spec.scheme == DebugScheme::Https,
        max_body: MAX_DEBUG_BODY,
    };
    let outcome = match state.debugger.debug(order).await {
        Ok(outcome) => outcome,
        Err(DebugUnavailable::NotServed) => {
            return Err(Error(ApiError::debug_unavailable(&instance_id)))
        }
        Err(DebugUnavailable::Failed(why)) => {
            tracing::error!(api_id = %api.id, error = %why, "debugging call failed");
            return Err(Error(ApiError::internal()));
        }
    };
    describe_outcome(&outcome, &mut log);
    tracing::info!(
        api_id = %api.id,
        mode = spec.mode.as_str(),
        status = outcome.status.as_u16(),
        latency_ms = outcome.latency.as_millis() as u64,
        "API debugged"
    );
    Ok(Json(json!({
        "request": request_text,
        "response": response_text(&outcome),
        "latency": u64::try_from(outcome.latency.as_millis()).unwrap_or(u64::MAX),
        "log": log.join("\n"),
    })))
}

/// The request the gateway gets: the spec's method, path, query, headers and body, with
/// `Host`, `X-Stage`, `X-Apig-Mode: debug` and the framing; signed with the app's key and
/// secret in `CONSUMER` mode when they are given.
fn build_request(
    spec: &DebugSpec,
    host: &str,
    stage: &str,
    log: &mut Vec<String>,
) -> ApiResult<Request<Bytes>> {
    let method = Method::from_bytes(spec.method.as_str().as_bytes()).expect("a standard method");
    let uri: http::Uri = spec
        .path_and_query()
        .parse()
        .map_err(|_| ApiError::invalid_body_field("path"))?;
    let mut headers = HeaderMap::new();
    let host_value =
        HeaderValue::from_str(host).map_err(|_| ApiError::invalid_body_field("domain"))?;
    headers.insert(HOST, host_value);
    for (name, values) in &spec.headers {
        let field = format!("header.{name}");
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ApiError::invalid_body_field(&field))?;
        for value in values {
            let value = HeaderValue::from_bytes(value.as_bytes())
                .map_err(|_| ApiError::invalid_body_field(&field))?;
            headers.append(name.clone(), value);
        }
    }
    headers.insert(
        "x-stage",
        HeaderValue::from_str(stage).expect("an environment name"),
    );
    headers.insert(DEBUG_MODE.0, HeaderValue::from_static(DEBUG_MODE.1));
    if !spec.body.is_empty() {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(spec.body.len()));
    }
    let body = Bytes::from(spec.body.clone());
    if let (DebugMode::Consumer, Some(credential)) = (spec.mode, &spec.credential) {
        apigw_signing::sign_request(
            &method,
            &uri,
            &mut headers,
            &body,
            credential.key.as_str(),
            credential.secret.as_str(),
            time::OffsetDateTime::now_utc(),
        )
        .map_err(|_| ApiError::invalid_body_field("app_key"))?;
        log.push(format!(
            "signed with SDK-HMAC-SHA256 as app_key {}",
            credential.key.as_str()
        ));
    }
    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(request)
}

/// A header block as a message shows it: canonical names, one line per value.
fn write_headers(out: &mut String, headers: &HeaderMap) {
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        let _ = write!(out, "{}: {value}\r\n", CanonicalName(name.as_str()));
    }
    out.push_str("\r\n");
}

/// The request as sent, in HTTP/1.1 form.
fn request_text(request: &Request<Bytes>) -> String {
    let mut out = format!("{} {} HTTP/1.1\r\n", request.method(), request.uri());
    write_headers(&mut out, request.headers());
    out.push_str(&String::from_utf8_lossy(request.body()));
    out
}

/// The response as received, in HTTP/1.1 form; a body cut at the limit ends in
/// `[TRUNCATED]`.
fn response_text(outcome: &DebugOutcome) -> String {
    let status = outcome.status;
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    write_headers(&mut out, &outcome.headers);
    out.push_str(&String::from_utf8_lossy(&outcome.body));
    if outcome.truncated {
        out.push_str("[TRUNCATED]");
    }
    out
}

/// What the answer says about how the call went, for the log.
fn describe_outcome(outcome: &DebugOutcome, log: &mut Vec<String>) {
    let header = |name: &str| {
        outcome
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if let Some(id) = header("x-request-id") {
        log.push(format!("request id {id}"));
    }
    if let Some(policy) = header("x-apig-backend-policy") {
        log.push(format!("backend policy {policy} took the call"));
    }
    match header("x-apig-upstream-latency") {
        Some(ms) => log.push(format!("the backend answered its head in {ms} ms")),
        None => {
            let gateway_error = (outcome.status.as_u16() >= 400)
                .then(|| serde_json::from_slice::<Value>(&outcome.body).ok())
                .flatten()
                .and_then(|v| {
                    let code = v.get("error_code")?.as_str()?.to_owned();
                    let msg = v.get("error_msg")?.as_str()?.to_owned();
                    Some(format!("{code}: {msg}"))
                });
            match gateway_error {
                Some(e) => log.push(format!("refused by the gateway, no backend called ({e})")),
                None => log.push("answered by the gateway, no backend called".to_owned()),
            }
        }
    }
    log.push(format!(
        "{} {} after {} ms",
        outcome.status.as_u16(),
        outcome.status.canonical_reason().unwrap_or(""),
        outcome.latency.as_millis()
    ));
    if outcome.truncated {
        log.push(format!(
            "response body cut after {MAX_DEBUG_BODY} bytes, the rest not read"
        ));
    }
    if let Some(e) = &outcome.body_error {
        log.push(format!("the response body ended early: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn messages_read_as_http() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("text/plain"));
        headers.insert("x-request-id", HeaderValue::from_static("abc"));
        let outcome = DebugOutcome {
            status: http::StatusCode::NOT_FOUND,
            headers,
            body: Bytes::from_static(b"{\"error_code\":\"APIG.0101\",\"error_msg\":\"gone\"}"),
            truncated: true,
            latency: Duration::from_millis(7),
            body_error: None,
        };
        let text = response_text(&outcome);
        assert!(text.starts_with(
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nX-Request-Id: abc\r\n\r\n{"
        ));
        assert!(text.ends_with("}[TRUNCATED]"));
        let mut log = Vec::new();
        describe_outcome(&outcome, &mut log);
        assert_eq!(
            log,
            [
                "request id abc",
                "refused by the gateway, no backend called (APIG.0101: gone)",
                "404 Not Found after 7 ms",
                "response body cut after 2097152 bytes, the rest not read",
            ]
        );
    }
}
