//! The data plane's metrics, recorded through the `metrics` facade. The binary installs a
//! Prometheus recorder when it serves `/metrics` (`apigw serve --metrics-listen`); without a
//! recorder every handle here is a no-op.
//!
//! Handles are resolved once: per published API (and stage) when a snapshot is built, per
//! listener when it starts. A request then costs an atomic add and one or two histogram
//! samples, never a registry lookup; only refusals, the uncommon path, look up the counter of
//! their APIG error code.

use crate::snapshot::SnapshotStats;
use http::StatusCode;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, Unit};
use metrics::{Counter, Gauge, Histogram};
use std::time::Duration;

/// Requests answered, by API, stage and status class (`2xx`, `4xx`...).
const REQUESTS: &str = "apigw_gateway_requests_total";
/// Time from the request head to the response head, by API and stage.
const DURATION: &str = "apigw_gateway_request_duration_seconds";
/// Time from sending the backend request to its response head, by API and stage.
const UPSTREAM_DURATION: &str = "apigw_gateway_upstream_duration_seconds";
/// Requests the gateway answered itself with an APIG error, by code.
const REFUSALS: &str = "apigw_gateway_refusals_total";
/// Client connections open now, by listener.
const OPEN_CONNECTIONS: &str = "apigw_gateway_open_connections";
/// Client connections accepted, by listener.
const CONNECTIONS: &str = "apigw_gateway_connections_total";
/// New backend connections (the pool had none idle for the backend).
const UPSTREAM_CONNECTS: &str = "apigw_gateway_upstream_connects_total";
/// Snapshot replacements, by kind (`rebuild`, `routes`, `patch`).
const SNAPSHOT_UPDATES: &str = "apigw_snapshot_updates_total";
/// How long the last snapshot replacement took, by kind.
const SNAPSHOT_UPDATE_SECONDS: &str = "apigw_snapshot_update_seconds";
/// Sizes of the snapshot in service.
const SNAPSHOT_APIS: &str = "apigw_snapshot_apis";
const SNAPSHOT_APPS: &str = "apigw_snapshot_apps";
const SNAPSHOT_APP_CODES: &str = "apigw_snapshot_app_codes";
const SNAPSHOT_GROUPS: &str = "apigw_snapshot_groups";

/// The status-class label of each index of [`ApiMeters::by_class`].
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The histogram buckets (seconds) the exporter should use for the gateway's latencies: from
/// 100 µs (a proxy hop on one host) to 60 s (the longest backend timeout).
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0,
];

/// The metric names whose values are latencies in seconds (they take [`LATENCY_BUCKETS`]).
pub const LATENCY_METRICS: &[&str] = &[DURATION, UPSTREAM_DURATION];

/// Registers the help text and unit of every data-plane metric with the installed recorder
/// (Prometheus prints them as `# HELP` lines).
pub fn describe() {
    describe_counter!(
        REQUESTS,
        Unit::Count,
        "Data-plane requests answered, by API id, API name, stage and status class (api_id empty: no published API matched)."
    );
    describe_histogram!(
        DURATION,
        Unit::Seconds,
        "Time from a request's head to its response head, by API and stage."
    );
    describe_histogram!(
        UPSTREAM_DURATION,
        Unit::Seconds,
        "Time from sending the backend request to the backend's response head, by API and stage."
    );
    describe_counter!(
        REFUSALS,
        Unit::Count,
        "Requests the gateway answered with an APIG error (401 APIG.0303, 429 APIG.0308, 504 APIG.0203...), by code."
    );
    describe_gauge!(
        OPEN_CONNECTIONS,
        Unit::Count,
        "Client connections open now, by listener (http or https)."
    );
    describe_counter!(
        CONNECTIONS,
        Unit::Count,
        "Client connections accepted, by listener (http or https)."
    );
    describe_counter!(
        UPSTREAM_CONNECTS,
        Unit::Count,
        "Backend connections opened because no pooled one was idle."
    );
    describe_counter!(
        SNAPSHOT_UPDATES,
        Unit::Count,
        "Replacements of the in-memory index: rebuild (everything), routes (groups and APIs) or patch (apps)."
    );
    describe_gauge!(
        SNAPSHOT_UPDATE_SECONDS,
        Unit::Seconds,
        "How long the last replacement of the in-memory index took, by kind."
    );
    describe_gauge!(
        SNAPSHOT_APIS,
        Unit::Count,
        "Routable (API, stage) entries in service."
    );
    describe_gauge!(SNAPSHOT_APPS, Unit::Count, "Apps in service.");
    describe_gauge!(SNAPSHOT_APP_CODES, Unit::Count, "AppCodes in service.");
    describe_gauge!(SNAPSHOT_GROUPS, Unit::Count, "API groups in service.");
}

/// The meters of one routable (API, stage), resolved when the snapshot is built (the
/// recorder hands out the same series again for the same labels, so counts carry over from
/// one snapshot to the next).
#[derive(Debug)]
pub(crate) struct ApiMeters {
    by_class: [Counter; 5],
    duration: Histogram,
    upstream: Histogram,
}

impl ApiMeters {
    /// The meters of API `api_id` (named `api_name`) published in `stage`.
    pub fn for_api(api_id: &str, api_name: &str, stage: &str) -> Self {
        let (api_id, api_name, stage) = (api_id.to_owned(), api_name.to_owned(), stage.to_owned());
        let latency = |name: &'static str| metrics::histogram!(name, "api_id" => api_id.clone(), "stage" => stage.clone());
        Self {
            by_class: CLASSES.map(|class| {
                counter!(REQUESTS, "api_id" => api_id.clone(), "api_name" => api_name.clone(),
                    "stage" => stage.clone(), "status_class" => class)
            }),
            duration: latency(DURATION),
            upstream: latency(UPSTREAM_DURATION),
        }
    }

    /// The meters of requests that matched no published API (empty `api_id`; they never reach
    /// a backend).
    pub fn unrouted() -> Self {
        Self {
            upstream: Histogram::noop(),
            ..Self::for_api("", "", "")
        }
    }

    /// Counts one answered request and its latencies.
    pub fn record(&self, status: StatusCode, total: Duration, upstream: Option<Duration>) {
        let class = usize::from(status.as_u16() / 100).clamp(1, 5) - 1;
        self.by_class[class].increment(1);
        self.duration.record(total.as_secs_f64());
        if let Some(upstream) = upstream {
            self.upstream.record(upstream.as_secs_f64());
        }
    }
}

/// Counts a request the gateway refused with APIG error `code`.
pub(crate) fn refused(code: &'static str) {
    counter!(REFUSALS, "code" => code).increment(1);
}

/// Counts a new backend connection.
pub(crate) fn upstream_connected() {
    counter!(UPSTREAM_CONNECTS).increment(1);
}

/// The connection meters of one listener.
#[derive(Debug, Clone)]
pub(crate) struct ListenerMeters {
    open: Gauge,
    accepted: Counter,
}

impl ListenerMeters {
    /// The meters of the `http` or `https` listener.
    pub fn new(listener: &'static str) -> Self {
        Self {
            open: metrics::gauge!(OPEN_CONNECTIONS, "listener" => listener),
            accepted: counter!(CONNECTIONS, "listener" => listener),
        }
    }

    /// Counts an accepted connection, open until the guard is dropped.
    pub fn accepted(&self) -> OpenConnection {
        self.accepted.increment(1);
        self.open.increment(1.0);
        OpenConnection(self.open.clone())
    }
}

/// One open client connection in [`ListenerMeters`]; closing it (drop) counts it down.
#[derive(Debug)]
pub(crate) struct OpenConnection(Gauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// Records a replacement of the in-memory index of `kind` that took `elapsed` and left
/// `stats` in service.
pub(crate) fn snapshot_updated(kind: &'static str, stats: SnapshotStats, elapsed: Duration) {
    counter!(SNAPSHOT_UPDATES, "kind" => kind).increment(1);
    metrics::gauge!(SNAPSHOT_UPDATE_SECONDS, "kind" => kind).set(elapsed.as_secs_f64());
    metrics::gauge!(SNAPSHOT_APIS).set(stats.apis as f64);
    metrics::gauge!(SNAPSHOT_APPS).set(stats.apps as f64);
    metrics::gauge!(SNAPSHOT_APP_CODES).set(stats.app_codes as f64);
    metrics::gauge!(SNAPSHOT_GROUPS).set(stats.groups as f64);
}
