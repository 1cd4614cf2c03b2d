//! Gives every request a 32-hex `X-Request-Id` (returned on every response, also errors) and a
//! tracing span carrying it, logs one line per request with status and latency, and counts it
//! in the management API's metrics.

use apigw_domain::generate::new_id;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;
use tracing::Instrument;

/// Management API requests answered, by method and status (a Prometheus counter).
pub const ADMIN_REQUESTS: &str = "apigw_admin_requests_total";
/// Time to answer a management API request (a Prometheus histogram, in seconds).
pub const ADMIN_DURATION: &str = "apigw_admin_request_duration_seconds";

/// Registers the help text of the management API's metrics with the installed recorder.
pub fn describe_metrics() {
    metrics::describe_counter!(
        ADMIN_REQUESTS,
        metrics::Unit::Count,
        "Management API requests answered, by method and status."
    );
    metrics::describe_histogram!(
        ADMIN_DURATION,
        metrics::Unit::Seconds,
        "Time to answer a management API request."
    );
}

/// The request id of the current request, as an extension.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Middleware: assigns the id, runs the request inside its span, adds the response header.
pub async fn assign(mut req: Request, next: Next) -> Response {
    let id = new_id();
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id);
    let method = req.method().clone();
    let path = redact_path(req.uri().path());
    let started = Instant::now();
    let mut response = next.run(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let _enter = span.enter();
    tracing::info!(
        %method,
        path = %path,
        status,
        elapsed_ms = elapsed.as_secs_f64() * 1000.0,
        "handled"
    );
    metrics::counter!(ADMIN_REQUESTS, "method" => method.as_str().to_owned(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!(ADMIN_DURATION).record(elapsed.as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&id) {
        // openstacksdk reads the id from X-Openstack-Request-Id, Huawei's SDKs from X-Request-Id.
        response
            .headers_mut()
            .insert("x-openstack-request-id", v.clone());
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

/// The path for the log, with AppCode values (ModelArts puts them in paths) replaced by `***`.
pub fn redact_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut hide_next = false;
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if hide_next && !seg.is_empty() {
            out.push_str("***");
        } else {
            out.push_str(seg);
        }
        hide_next = seg == "app-code";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact_path;

    #[test]
    fn app_code_values_never_reach_the_log() {
        assert_eq!(
            redact_path("/v1/p/app-auth/apps/a/app-code/SECRETVALUE"),
            "/v1/p/app-auth/apps/a/app-code/***"
        );
        assert_eq!(
            redact_path("/v1/p/app-auth/apps/a/app-code"),
            "/v1/p/app-auth/apps/a/app-code"
        );
        assert_eq!(
            redact_path("/v2/p/apigw/instances/i/apps"),
            "/v2/p/apigw/instances/i/apps"
        );
    }
}
