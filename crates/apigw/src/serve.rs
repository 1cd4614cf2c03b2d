//! `apigw serve`: opens the data directory and store, runs first-start setup, binds the
//! management listener and serves until SIGTERM/SIGINT, letting in-flight requests finish.

use crate::bootstrap;
use crate::cli::ServeArgs;
use crate::shutdown;
use anyhow::Context;
use apigw_admin::{AdminConfig, AppState};
use apigw_store::crypto::MasterKey;
use apigw_store::{SqliteStore, Store};
use std::sync::Arc;
use std::time::Duration;

fn master_key(args: &ServeArgs) -> anyhow::Result<MasterKey> {
    if let Some(text) = &args.master_key {
        tracing::info!("master key taken from APIGW_MASTER_KEY");
        return MasterKey::from_base64(text).context("APIGW_MASTER_KEY is not 32 bytes of base64");
    }
    let path = args
        .master_key_file
        .clone()
        .unwrap_or_else(|| args.data_dir.join("master.key"));
    let (key, created) = MasterKey::load_or_create(&path)
        .with_context(|| format!("master key file {}", path.display()))?;
    if created {
        tracing::warn!(path = %path.display(), kid = key.kid(), "generated a new master key (mode 0600); back it up: stored secrets cannot be read without it");
    } else {
        tracing::info!(path = %path.display(), kid = key.kid(), "master key loaded");
    }
    Ok(key)
}

/// Runs the server until a shutdown signal.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data directory {}", args.data_dir.display()))?;
    let key = master_key(&args)?;
    let db_path = args.data_dir.join("apigw.db");
    let store = SqliteStore::open(&db_path, &key)
        .await
        .with_context(|| format!("cannot open the store {}", db_path.display()))?;
    tracing::info!(path = %db_path.display(), "SQLite store open");

    let listener = tokio::net::TcpListener::bind(args.admin_listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.admin_listen))?;
    let bound = listener.local_addr()?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"));
    bootstrap::run(&store, &public_url).await?;

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
    let shared: Arc<dyn Store> = Arc::new(store.clone());
    let app = apigw_admin::router(AppState::new(shared, config));
    tracing::info!(address = %bound, public_url = %public_url, "management API listening");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut graceful = stop_rx.clone();
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = graceful.wait_for(|stop| *stop).await;
    });
    tokio::spawn(async move {
        shutdown::signal().await;
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
    store.close().await;
    tracing::info!("store closed; bye");
    Ok(())
}
