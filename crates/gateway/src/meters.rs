//! The data plane's metrics, recorded through the `metrics` facade. The binary installs a
//! Prometheus recorder when it serves `/metrics` (`apigw serve --metrics-listen`); without a
//! recorder every handle here is a no-op.
//!
//! Handles are resolved once: per published API (and stage) when a snapshot is built, per
//! listener when it starts. A request then costs an atomic add and one or two histogram
//! samples, never a registry lookup; only refusals, the uncommon path, look up the counter of
//! their APIG error code.
//!
//! The per-API series leave the exposition with their API: an API taken offline, deleted,
//! renamed or moved to a renamed stage stops being listed once no snapshot in service holds
//! its meters ([`in_service_only`]). The recorder itself keeps their values (it has no way to
//! drop a series whose handle may still be held), so an API published again continues its
//! counts; what each retired series keeps is a few hundred bytes until the process ends.

use crate::snapshot::SnapshotStats;
use http::StatusCode;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, Unit};
use metrics::{Counter, Gauge, Histogram};
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Requests answered, by API, stage and status class (`2xx`, `4xx`...).
const REQUESTS: &str = "apigw_gateway_requests_total";
/// Time from the request head to the response head, by API and stage.
const DURATION: &str = "apigw_gateway_request_duration_seconds";
/// Time from sending the backend request to its response head, by API and stage.
const UPSTREAM_DURATION: &str = "apigw_gateway_upstream_duration_seconds";
/// Requests the gateway answered itself with an APIG error, by code.
const REFUSALS: &str = "apigw_gateway_refusals_total";
/// Calls a backend policy took, by API, stage and policy.
const POLICY_CALLS: &str = "apigw_gateway_backend_policy_requests_total";
/// Times a circuit breaker opened, by breaker (`<key>` or `<key>/<rule>`).
const BREAKER_OPENINGS: &str = "apigw_gateway_breaker_openings_total";
/// Client connections open now, by listener.
const OPEN_CONNECTIONS: &str = "apigw_gateway_open_connections";
/// Client connections accepted, by listener.
const CONNECTIONS: &str = "apigw_gateway_connections_total";
/// TLS handshakes refused because a name that verifies client certificates got none, or one
/// its CA set did not issue.
const CLIENT_CERTIFICATE_REFUSALS: &str = "apigw_gateway_client_certificate_refusals_total";
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
/// When the HTTPS listener's certificate expires (its `notAfter`), as a Unix time.
const CERTIFICATE_EXPIRY: &str = "apigw_gateway_certificate_expiry_timestamp_seconds";
/// Servers of a VPC channel its health check has taken out, by channel.
const CHANNEL_UNHEALTHY: &str = "apigw_vpc_channel_servers_unhealthy";

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
        POLICY_CALLS,
        Unit::Count,
        "Data-plane requests a backend policy sent to its backend, by API id, stage and policy name (the others went to the API's own backend)."
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
        CLIENT_CERTIFICATE_REFUSALS,
        Unit::Count,
        "TLS handshakes refused for a name that verifies client certificates: no client certificate, or one its trusted root CAs did not issue."
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
    describe_gauge!(
        CERTIFICATE_EXPIRY,
        Unit::Seconds,
        "When the certificate the HTTPS listener presents expires (notAfter, Unix time); alert well before it."
    );
    describe_gauge!(SNAPSHOT_APPS, Unit::Count, "Apps in service.");
    describe_gauge!(SNAPSHOT_APP_CODES, Unit::Count, "AppCodes in service.");
    describe_gauge!(SNAPSHOT_GROUPS, Unit::Count, "API groups in service.");
    describe_gauge!(
        CHANNEL_UNHEALTHY,
        Unit::Count,
        "Servers of a VPC channel its health check has taken out of the rotation, by channel."
    );
}

/// The meters of one routable (API, stage), resolved when the snapshot is built (the
/// recorder hands out the same series again for the same labels, so counts carry over from
/// one snapshot to the next).
#[derive(Debug)]
pub(crate) struct ApiMeters {
    by_class: [Counter; 5],
    duration: Histogram,
    upstream: Histogram,
    /// Keeps the series listed while these meters are in service (none for unrouted).
    _listed: Option<Listed>,
}

impl ApiMeters {
    /// The meters of API `api_id` (named `api_name`) published in `stage`.
    pub fn for_api(api_id: &str, api_name: &str, stage: &str) -> Self {
        Self {
            _listed: Some(Listed::new(api_id, api_name, stage)),
            ..Self::resolve(api_id, api_name, stage)
        }
    }

    /// The meters of requests that matched no published API (empty `api_id`; they never reach
    /// a backend).
    pub fn unrouted() -> Self {
        Self {
            upstream: Histogram::noop(),
            ..Self::resolve("", "", "")
        }
    }

    fn resolve(api_id: &str, api_name: &str, stage: &str) -> Self {
        let (api_id, api_name, stage) = (api_id.to_owned(), api_name.to_owned(), stage.to_owned());
        let latency = |name: &'static str| metrics::histogram!(name, "api_id" => api_id.clone(), "stage" => stage.clone());
        Self {
            by_class: CLASSES.map(|class| {
                counter!(REQUESTS, "api_id" => api_id.clone(), "api_name" => api_name.clone(),
                    "stage" => stage.clone(), "status_class" => class)
            }),
            duration: latency(DURATION),
            upstream: latency(UPSTREAM_DURATION),
            _listed: None,
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

/// The per-API label sets whose meters some snapshot in service holds, with how many hold
/// them (a rebuilt snapshot resolves the same meters again before the old one goes).
static LISTED: Mutex<Option<HashMap<ListedLabels, usize>>> = Mutex::new(None);

/// The counter of the calls backend policy `policy` of API `api_id` in `stage` takes.
pub(crate) fn policy_calls(api_id: &str, stage: &str, policy: &str) -> metrics::Counter {
    counter!(POLICY_CALLS, "api_id" => api_id.to_owned(), "stage" => stage.to_owned(),
        "policy" => policy.to_owned())
}

/// The counter of the times the breaker `label` opened.
pub(crate) fn breaker_openings(label: &str) -> metrics::Counter {
    counter!(BREAKER_OPENINGS, "breaker" => label.to_owned())
}

/// `(api_id, api_name, stage)`.
type ListedLabels = (String, String, String);

/// One holder of a per-API label set in [`LISTED`], for as long as it lives.
#[derive(Debug)]
struct Listed(ListedLabels);

impl Listed {
    fn new(api_id: &str, api_name: &str, stage: &str) -> Self {
        let labels = (api_id.to_owned(), api_name.to_owned(), stage.to_owned());
        let mut listed = LISTED.lock().unwrap_or_else(PoisonError::into_inner);
        *listed
            .get_or_insert_with(HashMap::new)
            .entry(labels.clone())
            .or_default() += 1;
        Self(labels)
    }
}

impl Drop for Listed {
    fn drop(&mut self) {
        let mut listed = LISTED.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(listed) = listed.as_mut() else {
            return;
        };
        if let Some(holders) = listed.get_mut(&self.0) {
            *holders -= 1;
            if *holders == 0 {
                listed.remove(&self.0);
            }
        }
    }
}

/// The Prometheus text `exposition` without the per-API series of APIs no longer in service
/// (offline, deleted, renamed, or in a renamed stage): the recorder keeps every series it
/// ever handed out, this is what a scrape should see. Lines of other metrics, and the
/// unrouted series (empty `api_id`), pass unchanged.
pub fn in_service_only(exposition: &str) -> String {
    let (full, by_stage): (HashSet<ListedLabels>, HashSet<(String, String)>) = {
        let listed = LISTED.lock().unwrap_or_else(PoisonError::into_inner);
        let keys = listed.iter().flat_map(HashMap::keys);
        (
            keys.clone().cloned().collect(),
            keys.map(|(id, _, stage)| (id.clone(), stage.clone()))
                .collect(),
        )
    };
    let mut out = String::with_capacity(exposition.len());
    for line in exposition.split_inclusive('\n') {
        if in_service(line, &full, &by_stage) {
            out.push_str(line);
        }
    }
    out
}

/// Whether a line of the exposition is kept by [`in_service_only`].
fn in_service(
    line: &str,
    full: &HashSet<ListedLabels>,
    by_stage: &HashSet<(String, String)>,
) -> bool {
    let Some((name, rest)) = line.split_once('{') else {
        return true; // a comment, a blank line, or a sample without labels
    };
    if name.starts_with('#') {
        return true;
    }
    let per_api_histogram = LATENCY_METRICS.iter().any(|metric| {
        name.strip_prefix(metric)
            .is_some_and(|suffix| matches!(suffix, "_bucket" | "_sum" | "_count"))
    });
    if name != REQUESTS && name != POLICY_CALLS && !per_api_histogram {
        return true;
    }
    let labels = parse_labels(rest);
    let label = |key: &str| {
        labels
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    };
    let (Some(api_id), Some(stage)) = (label("api_id"), label("stage")) else {
        return true;
    };
    if api_id.is_empty() {
        return true;
    }
    if per_api_histogram || name == POLICY_CALLS {
        return by_stage.contains(&(api_id, stage));
    }
    let api_name = label("api_name").unwrap_or_default();
    full.contains(&(api_id, api_name, stage))
}

/// The labels of a sample line after its `{`: `key="value"` pairs, values unescaped
/// (`\\`, `\"`, `\n`), up to the closing `}`.
fn parse_labels(mut rest: &str) -> Vec<(&str, String)> {
    let mut labels = Vec::new();
    loop {
        rest = rest.trim_start_matches(',');
        let Some((key, after)) = rest.split_once("=\"") else {
            return labels;
        };
        if key.contains('}') {
            return labels;
        }
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    end = i + 1;
                    break;
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => value.push(other),
                    None => {}
                },
                other => value.push(other),
            }
        }
        labels.push((key, value));
        rest = &after[end..];
    }
}

/// Counts a request the gateway refused with APIG error `code`.
pub(crate) fn refused(code: &'static str) {
    counter!(REFUSALS, "code" => code).increment(1);
}

/// The HTTPS listener presents a certificate valid until `not_after` (Unix seconds).
pub(crate) fn certificate_presented(not_after: i64) {
    // A gauge holds an f64: Unix seconds fit exactly far beyond any certificate's lifetime.
    metrics::gauge!(CERTIFICATE_EXPIRY).set(not_after as f64);
}

/// Counts a handshake refused for want of a client certificate the name's CAs issued.
pub(crate) fn client_certificate_refused() {
    counter!(CLIENT_CERTIFICATE_REFUSALS).increment(1);
}

/// Counts a new backend connection.
pub(crate) fn upstream_connected() {
    counter!(UPSTREAM_CONNECTS).increment(1);
}

/// A server of VPC channel `channel` went out of the rotation (`out`), or came back (or, out,
/// left the channel).
pub(crate) fn channel_server_out(channel: &str, out: bool) {
    let unhealthy = metrics::gauge!(CHANNEL_UNHEALTHY, "vpc_channel" => channel.to_owned());
    if out {
        unhealthy.increment(1.0);
    } else {
        unhealthy.decrement(1.0);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    const EXPOSITION: &str = "\
# TYPE apigw_gateway_requests_total counter
apigw_gateway_requests_total{api_id=\"live1\",api_name=\"echo\",stage=\"RELEASE\",status_class=\"2xx\"} 3
apigw_gateway_requests_total{api_id=\"live1\",api_name=\"old name\",stage=\"RELEASE\",status_class=\"2xx\"} 1
apigw_gateway_requests_total{api_id=\"gone1\",api_name=\"echo\",stage=\"RELEASE\",status_class=\"2xx\"} 2
apigw_gateway_requests_total{api_id=\"\",api_name=\"\",stage=\"\",status_class=\"4xx\"} 1
apigw_gateway_request_duration_seconds_bucket{api_id=\"live1\",stage=\"RELEASE\",le=\"0.001\"} 3
apigw_gateway_request_duration_seconds_bucket{api_id=\"live1\",stage=\"TEST\",le=\"0.001\"} 3
apigw_gateway_request_duration_seconds_sum{api_id=\"gone1\",stage=\"RELEASE\"} 0.002
apigw_gateway_upstream_duration_seconds_count{api_id=\"live1\",stage=\"RELEASE\"} 3
apigw_gateway_backend_policy_requests_total{api_id=\"live1\",stage=\"RELEASE\",policy=\"canary\"} 2
apigw_gateway_backend_policy_requests_total{api_id=\"gone1\",stage=\"RELEASE\",policy=\"canary\"} 1
apigw_gateway_refusals_total{code=\"APIG.0303\"} 4
apigw_snapshot_apis 1
";

    #[test]
    fn the_exposition_lists_only_the_series_of_apis_in_service() {
        let live = ApiMeters::for_api("live1", "echo", "RELEASE");
        let gone = ApiMeters::for_api("gone1", "echo", "RELEASE");
        drop(gone);
        let shown = in_service_only(EXPOSITION);
        let kept: Vec<&str> = shown.lines().collect();
        assert_eq!(
            kept,
            [
                "# TYPE apigw_gateway_requests_total counter",
                "apigw_gateway_requests_total{api_id=\"live1\",api_name=\"echo\",stage=\"RELEASE\",status_class=\"2xx\"} 3",
                "apigw_gateway_requests_total{api_id=\"\",api_name=\"\",stage=\"\",status_class=\"4xx\"} 1",
                "apigw_gateway_request_duration_seconds_bucket{api_id=\"live1\",stage=\"RELEASE\",le=\"0.001\"} 3",
                "apigw_gateway_upstream_duration_seconds_count{api_id=\"live1\",stage=\"RELEASE\"} 3",
                "apigw_gateway_backend_policy_requests_total{api_id=\"live1\",stage=\"RELEASE\",policy=\"canary\"} 2",
                "apigw_gateway_refusals_total{code=\"APIG.0303\"} 4",
                "apigw_snapshot_apis 1",
            ]
        );
        // A second holder keeps the series listed until both are gone.
        let again = ApiMeters::for_api("live1", "echo", "RELEASE");
        drop(live);
        assert!(in_service_only(EXPOSITION).contains("api_name=\"echo\",stage=\"RELEASE\""));
        drop(again);
        assert!(!in_service_only(EXPOSITION).contains("live1"));
    }

    #[test]
    fn label_values_are_read_with_their_escapes() {
        let labels = parse_labels(r#"api_id="a\"b",api_name="c\\d\ne",stage="S"} 1"#);
        assert_eq!(
            labels,
            [
                ("api_id", "a\"b".to_owned()),
                ("api_name", "c\\d\ne".to_owned()),
                ("stage", "S".to_owned())
            ]
        );
        let _meters = ApiMeters::for_api("a\"b", "c\\d\ne", "S");
        let line = "apigw_gateway_requests_total{api_id=\"a\\\"b\",api_name=\"c\\\\d\\ne\",stage=\"S\",status_class=\"2xx\"} 1\n";
        assert_eq!(in_service_only(line), line);
    }
}
