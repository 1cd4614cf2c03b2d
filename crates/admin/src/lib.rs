//! The management API (control plane): the Keystone v3 subset that issues and checks tokens,
//! the Huawei IAM access-key calls, and the APIG v2 App/AppCode families with their ROMA Connect
//! and ModelArts v1 variants. Every handler works through the [`apigw_store::Store`] trait.
//!
//! A request passes: request id → body limit → authentication ([`auth`]) → handler, which
//! resolves its scope (project check, role check, instance lookup) through [`scope`] before it
//! touches any object.

pub mod apig;
pub mod auth;
pub mod body;
pub mod changes;
pub mod debugger;
pub mod error;
pub mod extract;
pub mod identity;
pub mod modelarts;
pub mod panics;
pub mod request_id;
pub mod scope;
pub mod throttle;

use apigw_store::Store;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use std::time::Duration;

/// Settings of the management API that handlers consult.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Lifetime of issued tokens.
    pub token_ttl: Duration,
    /// Maximum number of apps in one instance (`APIG.3103` beyond).
    pub max_apps_per_instance: u32,
    /// Maximum number of AppCodes on one app (`APIG.3131` beyond).
    pub max_app_codes_per_app: u32,
    /// Mask `app_secret` (first 3 + `************` + last 3) in `GET /apps` lists.
    pub mask_secret_in_list: bool,
    /// Base URL clients use to reach this server; the token catalog points there.
    pub public_url: String,
    /// Region name written into the token catalog.
    pub region: String,
    /// Allowed clock skew of AK/SK signatures.
    pub signature_max_skew: Duration,
    /// Consecutive AK/SK failures that lock an access key.
    pub aksk_lockout_failures: u32,
    /// How long a locked access key stays locked.
    pub aksk_lockout: Duration,
    /// Failed password logins per user name and per client address within the window before
    /// further logins are refused with 429.
    pub login_failure_limit: u32,
    /// The window of `login_failure_limit`.
    pub login_failure_window: Duration,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            token_ttl: Duration::from_secs(24 * 3600),
            max_apps_per_instance: 50,
            max_app_codes_per_app: 5,
            mask_secret_in_list: false,
            public_url: "http://127.0.0.1:9080".into(),
            region: "default".into(),
            signature_max_skew: Duration::from_secs(15 * 60),
            aksk_lockout_failures: 5,
            aksk_lockout: Duration::from_secs(300),
            login_failure_limit: 10,
            login_failure_window: Duration::from_secs(60),
        }
    }
}

/// What every handler can reach: the store, the settings and the AK/SK lockout book.
#[derive(Clone)]
pub struct AppState {
    /// The configuration store.
    pub store: Arc<dyn Store>,
    /// Settings.
    pub config: Arc<AdminConfig>,
    /// Failure counts and locks of access keys.
    pub lockout: Arc<auth::Lockout>,
    /// Failed password logins per user name and per client address.
    pub login_throttle: Arc<throttle::FailureThrottle>,
    /// Told about every committed change (the data plane's index).
    pub changes: Arc<dyn changes::ChangeListener>,
    /// Makes the calls of `POST /apis/debug/{api_id}` (the node's data plane).
    pub debugger: Arc<dyn debugger::ApiDebugger>,
}

impl AppState {
    /// Builds the state from a store and settings, for a server without a data plane.
    pub fn new(store: Arc<dyn Store>, config: AdminConfig) -> Self {
        Self::with_listener(store, config, Arc::new(changes::NoDataPlane))
    }

    /// Builds the state with a listener that must see every change before the answer.
    pub fn with_listener(
        store: Arc<dyn Store>,
        config: AdminConfig,
        changes: Arc<dyn changes::ChangeListener>,
    ) -> Self {
        Self {
            changes,
            debugger: Arc::new(debugger::NoGateway),
            lockout: Arc::new(auth::Lockout::new(
                config.aksk_lockout_failures,
                config.aksk_lockout,
            )),
            login_throttle: Arc::new(throttle::FailureThrottle::new(
                config.login_failure_limit,
                config.login_failure_window,
            )),
            store,
            config: Arc::new(config),
        }
    }
}

impl AppState {
    /// The state with `debugger` making the debugging calls.
    pub fn with_debugger(mut self, debugger: Arc<dyn debugger::ApiDebugger>) -> Self {
        self.debugger = debugger;
        self
    }
}

/// The whole management router: public routes, then everything behind authentication.
pub fn router(state: AppState) -> Router {
    let protected = Router::new()
        .merge(identity::protected_routes())
        .merge(apig::routes())
        .merge(modelarts::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            changes::notify,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .merge(identity::public_routes())
        .merge(protected)
        .fallback(|| async { error::Error(apigw_domain::ApiError::no_such_operation()) })
        .method_not_allowed_fallback(|| async {
            error::Error(apigw_domain::ApiError::no_such_operation())
        })
        .layer(axum::middleware::from_fn(identity::keystone_error_shape))
        // `limit_body` enforces `--max-body-bytes` (413 in APIG's shape); axum's own default
        // limit (2 MB) would otherwise cut larger settings short.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            body::limit_body,
        ))
        .layer(panics::layer())
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(state)
}
