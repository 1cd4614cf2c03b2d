//! `apigw serve`: opens the data directory and store, runs first-start setup, binds the
//! management listener and serves until SIGTERM/SIGINT, letting in-flight requests finish.

use crate::api_debug::GatewayDebugger;
use crate::bootstrap;
use crate::cert_reload;
use crate::cli::ServeArgs;
use crate::cli::ThrottleLimits;
use crate::cluster;
use crate::data_plane;
use crate::database;
use crate::exporter;
use crate::gateway_runtime::GatewayRuntime;
use crate::health_report::HealthReport;
use crate::membership::{self, Membership};
use crate::quota_ledger::QuotaLedger;
use crate::shutdown;
use crate::throttle_checkpoint::ThrottleCheckpoint;
use anyhow::Context;
use apigw_admin::{AdminConfig, AppState};
use apigw_gateway::{
    serve_http, serve_https, AppCodeHasher, Gateway, GatewaySettings, ListenerCertificate,
    ServerHandle, TlsSettings, TokenKey,
};
use apigw_store::crypto::{MasterKey, Sealer};
use apigw_store::revision::Coverage;
use apigw_store::{Backend, Store};
use std::sync::Arc;
use std::time::Duration;

/// The instance the gateway serves: `--gateway-instance`, else project `admin`'s `default`.
async fn served_instance(args: &ServeArgs, store: &Arc<dyn Store>) -> anyhow::Result<String> {
    let admin = store
        .find_project("default", "admin")
        .await?
        .context("project admin is missing")?;
    match &args.gateway_instance {
        Some(id) => {
            // Any project's instance may be named; find its owner by scanning projects.
            for project in store.list_projects(None).await? {
                if let Some(i) = store.get_instance(&project.id, id).await? {
                    return Ok(i.id);
                }
            }
            anyhow::bail!("--gateway-instance {id}: no such instance")
        }
        None => Ok(store
            .find_instance_by_name(&admin.id, "default")
            .await?
            .context(
                "instance default of project admin is missing; name one with --gateway-instance",
            )?
            .id),
    }
}

/// The running data plane: what updates its snapshot, its listeners and their runtime, and
/// its exchange with the quota ledger (stopped after the listeners, for a last report).
struct DataPlane {
    refresher: Arc<data_plane::Refresher>,
    listeners: Vec<ServerHandle>,
    runtime: GatewayRuntime,
    ledger_stop: tokio::sync::watch::Sender<bool>,
    ledger: tokio::task::JoinHandle<()>,
    /// The task announcing this node to the others (PostgreSQL, `--throttle-limits split`).
    membership: Option<tokio::task::JoinHandle<()>>,
    /// The task saving the throttling counts.
    checkpoint: tokio::task::JoinHandle<()>,
    /// The task publishing this node's view of VPC channel server health.
    health_report: tokio::task::JoinHandle<()>,
    /// The HTTPS listener's certificate, reloaded on SIGHUP.
    certificate: Option<Arc<ListenerCertificate>>,
}

/// Starts the gateway listeners, if any is configured, with a snapshot loaded from the store,
/// on a runtime of their own.
async fn start_data_plane(
    args: &ServeArgs,
    store: &Arc<dyn Store>,
    key: &MasterKey,
    (backend, node_id): (Backend, &str),
) -> anyhow::Result<Option<DataPlane>> {
    if args.gateway_listen.is_none() && args.gateway_http_listen.is_none() {
        tracing::info!("no gateway listener configured (--gateway-listen / --gateway-http-listen): management API only");
        return Ok(None);
    }
    let instance_id = served_instance(args, store).await?;
    let sealer = Sealer::new(key);
    let hasher = AppCodeHasher::hmac_sha256(sealer.index_key());
    let mut settings = GatewaySettings::new(hasher);
    settings.app_token_key = TokenKey::new(sealer.app_token_key());
    settings.base_domain = args
        .gateway_base_domain
        .clone()
        .unwrap_or_else(|| format!("apic.{}", args.region));
    settings.allow_app_code_over_http = args.allow_app_code_over_http;
    settings.signature_max_skew = args.signature_max_skew;
    settings.auth_failure_limit = args.auth_failure_limit;
    settings.auth_failure_window = args.auth_failure_window;
    settings.backend_ca_file = args.backend_ca_file.clone();
    settings.access_log = args.access_log;
    settings.client_header_timeout = args.client_header_timeout;
    settings.client_body_timeout = args.client_body_timeout;
    settings.client_send_timeout = args.client_send_timeout;
    settings.metrics = args.metrics_listen.is_some();
    let revision = store
        .revision()
        .await
        .context("cannot read the configuration revision")?;
    let config = data_plane::load_config(store.as_ref(), &instance_id, &args.region)
        .await
        .context("cannot load the data plane configuration")?;
    let gateway = Gateway::new(config, settings).context("cannot start the gateway")?;
    anyhow::ensure!(
        !args.quota_sync_interval.is_zero(),
        "--quota-sync-interval must be more than zero"
    );
    // Before the listeners: calls counted before a restart keep counting.
    // Only on PostgreSQL can other nodes add to the ledger while this one runs.
    let shared = backend == Backend::Postgres;
    let ledger = QuotaLedger::load(store.clone(), instance_id.clone(), gateway.clone(), shared)
        .await
        .context("cannot read the app quota ledger")?;
    // Also before the listeners: the first calls count against this node's share of each limit
    // and against the calls counted before a restart.
    anyhow::ensure!(
        !args.throttle_checkpoint_interval.is_zero(),
        "--throttle-checkpoint-interval must be more than zero"
    );
    let node = (node_id.to_owned(), instance_id.clone());
    let checkpoint = ThrottleCheckpoint::load(
        store.clone(),
        node.clone(),
        gateway.clone(),
        args.throttle_checkpoint_interval,
        !shared,
    )
    .await
    .context("cannot read the request throttling checkpoints")?;
    let membership = if shared && args.throttle_limits == ThrottleLimits::Split {
        let joined = Membership::join(
            store.clone(),
            node,
            gateway.clone(),
            args.sync_check_interval,
        );
        Some(joined.await.context("cannot announce this gateway node")?)
    } else {
        None
    };
    let runtime =
        GatewayRuntime::start(args.worker_threads).context("cannot start the gateway runtime")?;
    let mut listeners = Vec::new();
    let mut certificate = None;
    if let Some(addr) = args.gateway_listen {
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => TlsSettings::Pem {
                cert: cert.clone(),
                key: key.clone(),
            },
            _ => TlsSettings::self_signed(&args.store.data_dir),
        };
        let cert_path = tls.cert_path();
        let loaded =
            ListenerCertificate::load(tls, args.tls_sni_dir.clone()).with_context(|| {
                format!(
                    "cannot load the HTTPS gateway certificate {}",
                    cert_path.display()
                )
            })?;
        data_plane::present_domain_certificates(store.as_ref(), &instance_id, &loaded)
            .await
            .context("cannot read the certificates of the bound domains")?;
        let (presented, gw) = (loaded.clone(), gateway.clone());
        let handle = runtime
            .run(async move { serve_https(addr, &presented, gw).await })
            .await
            .with_context(|| format!("cannot start the HTTPS gateway listener on {addr}"))?;
        tracing::info!(address = %handle.local_addr(), certificate = %cert_path.display(), valid_until = %cert_reload::valid_until(&loaded), sni_names = loaded.sni_names(), bound_domain_certificates = loaded.bound_names(), %instance_id, "gateway listening (HTTPS)");
        cert_reload::warn_if_expired(&loaded);
        listeners.push(handle);
        certificate = Some(loaded);
    }
    if let Some(addr) = args.gateway_http_listen {
        let handle = runtime
            .run(serve_http(addr, gateway.clone()))
            .await
            .with_context(|| format!("cannot start the HTTP gateway listener on {addr}"))?;
        tracing::info!(address = %handle.local_addr(), %instance_id, "gateway listening (plain HTTP)");
        listeners.push(handle);
    }
    let (ledger_stop, stopped) = tokio::sync::watch::channel(false);
    let membership = membership.map(|m| m.spawn(stopped.clone()));
    let checkpoint = checkpoint.spawn(stopped.clone());
    let health_report = HealthReport::new(store.clone(), node_id.to_owned()).spawn(stopped.clone());
    let ledger = ledger.spawn(args.quota_sync_interval, stopped);
    let refresher = Arc::new(data_plane::Refresher {
        store: store.clone(),
        instance_id,
        region: args.region.clone(),
        gateway,
        certificate: certificate.clone(),
        coverage: tokio::sync::Mutex::new(Coverage::reloaded(revision)),
    });
    Ok(Some(DataPlane {
        refresher,
        listeners,
        runtime,
        ledger_stop,
        ledger,
        membership,
        checkpoint,
        health_report,
        certificate,
    }))
}

/// Runs the server until a shutdown signal.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    // Before anything listens: a SIGTERM right after start-up must still shut down cleanly.
    let signals = shutdown::Signals::register();
    let hangups = cert_reload::Hangups::register();
    let store = database::open(&args.store).await?;
    let listener = tokio::net::TcpListener::bind(args.admin_listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.admin_listen))?;
    let bound = listener.local_addr()?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"));
    let json_logs = args.log_format == crate::cli::LogFormat::Json;
    bootstrap::run(&store.store, &public_url, json_logs).await?;

    let config = AdminConfig {
        max_body_bytes: args.max_body_bytes,
        token_ttl: args.token_ttl,
        max_apps_per_instance: args.max_apps_per_instance,
        max_app_codes_per_app: 5,
        mask_secret_in_list: args.mask_secret_in_list,
        public_url: public_url.trim_end_matches('/').to_owned(),
        region: args.region.clone(),
        signature_max_skew: args.signature_max_skew,
        aksk_lockout_failures: args.aksk_lockout_failures,
        aksk_lockout: Duration::from_secs(args.aksk_lockout_seconds),
        login_failure_limit: args.login_failure_limit,
        login_failure_window: args.login_failure_window,
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // Before the data plane: its per-API meters are resolved when the first snapshot is built.
    let metrics = match args.metrics_listen {
        Some(addr) => Some(exporter::start(addr, stop_rx.clone()).await?),
        None => None,
    };
    let shared: Arc<dyn Store> = Arc::new(store.store.clone());
    // One id for this node in the cluster's change events, announcements and checkpoints.
    let node_id = membership::node_id(&args.store.data_dir)?;
    let data_plane = start_data_plane(
        &args,
        &shared,
        &store.key,
        (store.store.backend(), &node_id.id),
    )
    .await?;
    hangups.spawn(data_plane.as_ref().and_then(|d| d.certificate.clone()));
    let refresher = data_plane.as_ref().map(|d| d.refresher.clone());
    let node = cluster::Node::new(node_id.id.clone(), store.store.clone(), refresher);
    if store.store.backend() == Backend::Postgres {
        node.start_sync(args.sync_check_interval)?;
    }
    let mut state = AppState::with_listener(shared.clone(), config, Arc::new(node));
    if let Some(d) = &data_plane {
        state = state.with_debugger(Arc::new(GatewayDebugger {
            store: shared.clone(),
            gateway: d.refresher.gateway.clone(),
            instance_id: d.refresher.instance_id.clone(),
            region: args.region.clone(),
            runtime: d.runtime.handle().clone(),
        }));
    }
    let app = apigw_admin::router(state);
    tracing::info!(address = %bound, public_url = %public_url, "management API listening");

    let mut graceful = stop_rx.clone();
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = graceful.wait_for(|stop| *stop).await;
    });
    tokio::spawn(async move {
        signals.recv().await;
        let _ = stop_tx.send(true);
    });
    let grace = args.shutdown_grace;
    let mut deadline = stop_rx;
    tokio::select! {
        served = server => {
            served.context("management listener failed")?;
            tracing::info!("listener closed; in-flight requests finished");
        }
        _ = async {
            let _ = deadline.wait_for(|stop| *stop).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace = ?grace, "shutdown grace period elapsed; dropping unfinished requests");
        }
    }
    if let Some(data_plane) = data_plane {
        for listener in data_plane.listeners {
            listener.shutdown(grace).await;
        }
        data_plane.runtime.stop().await;
        tracing::info!("gateway listeners closed");
        let _ = data_plane.ledger_stop.send(true);
        if let Err(e) = data_plane.ledger.await {
            tracing::error!(error = %e, "the quota ledger task failed");
        }
        if let Err(e) = data_plane.checkpoint.await {
            tracing::error!(error = %e, "the throttling checkpoint task failed");
        }
        if let Err(e) = data_plane.health_report.await {
            tracing::error!(error = %e, "the VPC channel health report task failed");
        }
        if let Some(membership) = data_plane.membership {
            if let Err(e) = membership.await {
                tracing::error!(error = %e, "the gateway node announcement task failed");
            }
        }
    }
    if let Some(metrics) = metrics {
        // It stopped accepting with the others; a scraper's idle connection is not waited for.
        metrics.abort();
    }
    store.store.close().await;
    tracing::info!("store closed; bye");
    Ok(())
}
