//! The metrics listener (`--metrics-listen`): installs the Prometheus recorder behind the
//! `metrics` facade the gateway and the management API record into, and serves
//! `GET /metrics` in the Prometheus text format. Without the flag no recorder is installed and
//! every metric handle is a no-op.

use anyhow::Context;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often histogram samples are folded into their buckets, which bounds the memory they
/// hold between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The content type of the Prometheus text exposition format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Binds `addr`, installs the recorder and serves `/metrics` until `stop` turns true. Must run
/// before the gateway builds its first snapshot: its per-API meters are resolved then.
pub async fn start(
    addr: SocketAddr,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot start the metrics listener on {addr}"))?;
    let bound = listener.local_addr()?;
    let handle = install()?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                // The recorder lists every series it ever handed out; a scrape sees the
                // per-API ones of APIs in service only.
                let text = apigw_gateway::meters::in_service_only(&handle.render());
                ([(CONTENT_TYPE, TEXT_FORMAT)], text).into_response()
            }
        }),
    );
    tracing::info!(address = %bound, "metrics listening (GET /metrics)");
    let mut stop = stop;
    Ok(tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|stop| *stop).await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "metrics listener failed");
        }
    }))
}

/// Installs the process-wide Prometheus recorder with latency buckets for the histograms and
/// the help text of every metric.
fn install() -> anyhow::Result<PrometheusHandle> {
    let mut builder = PrometheusBuilder::new();
    let histograms = apigw_gateway::meters::LATENCY_METRICS
        .iter()
        .chain([&apigw_admin::request_id::ADMIN_DURATION]);
    for name in histograms {
        builder = builder.set_buckets_for_metric(
            Matcher::Full((*name).to_owned()),
            apigw_gateway::meters::LATENCY_BUCKETS,
        )?;
    }
    let handle = builder
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    apigw_gateway::meters::describe();
    apigw_admin::request_id::describe_metrics();
    crate::quota_ledger::describe_metrics();
    crate::membership::describe_metrics();
    metrics::describe_gauge!(
        "apigw_build_info",
        "Always 1; the version label names the running build."
    );
    metrics::gauge!("apigw_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(handle)
}
