//! The apigw data plane: a reverse proxy that serves published APIs to apps authenticated the
//! way Huawei Cloud APIG authenticates them.
//!
//! A call is routed by host (API group), `X-Stage` (environment) and method + path (published
//! API), authenticated by AppCode (`X-Apig-AppCode`) or app signature (`SDK-HMAC-SHA256` with
//! AppKey/AppSecret), checked against the app's authorizations, ACL and quota, and forwarded to
//! the API's backend (spec §3.6). Every decision reads an immutable in-memory [`Snapshot`];
//! the store is never queried per request, so unknown credentials cost no database work and a
//! store outage leaves the last snapshot in service.
//!
//! Module map, one concern each:
//! - [`config`]: the owned input the store layer fills ([`GatewayConfig`]) and the node's
//!   settings ([`GatewaySettings`], [`AppCodeHasher`]);
//! - [`snapshot`]: [`Snapshot`], the indexed configuration (hosts, route tables, apps by
//!   AppKey and by AppCode hash); `routes` holds the per-(group, environment) route table;
//! - `pipeline`: the per-request phases — request id, route, authenticate, authorize, ACL,
//!   quota, proxy;
//! - `proxy`: the backend request (path, parameters, hop-by-hop headers), sent within the
//!   API's timeout; `upstream`: the pooled HTTP/1.1 client (TCP or TLS) that sends it, driven
//!   in the request's own task;
//! - `cors`: calls from browser pages of other origins to APIs with `cors` on (preflights
//!   answered by the gateway, responses marked);
//! - `params`: the request parameters an API declares, enforced (required, `NUMBER`) and
//!   their defaults supplied to backend parameters;
//! - [`errors`]: the data-plane error catalogue (spec §5.2) and its JSON body;
//! - `rate_limit`: request throttling policies (per API, user, app and client address), each
//!   limit enforced as this node's share of it, counts of long windows readable for checkpoints;
//!   `rate_rules` and `rule_match`: plug-ins' parameter-based rules;
//! - `breaker`: circuit breakers (`breaker` plug-ins), their counts kept across rebuilds;
//! - `throttle`: failed-authentication limits per address and per AppKey; `quota`: app quota
//!   counters that survive snapshot replacement and exchange their calls with the store's
//!   ledger ([`QuotaUsage`] out, [`QuotaTally`] in);
//! - [`body`]: the request and response body types; `framing`: HTTP/1.1 body framing both
//!   sides share;
//! - `server`: the HTTP/1.1 server (strict request heads, the pipeline run in the connection's
//!   task, backend fields written as received); HTTP/2 is served by hyper;
//! - [`meters`]: the Prometheus metrics (requests, latencies, refusals, connections, index
//!   updates), resolved once per API so a request costs a few atomic adds;
//! - [`listener`]: the HTTP and HTTPS listeners with graceful shutdown; [`tls`]: their
//!   certificate (PEM or self-signed).
//!
//! Wiring it up:
//!
//! ```no_run
//! # async fn start(config: apigw_gateway::GatewayConfig, index_key: [u8; 32]) -> std::io::Result<()> {
//! use apigw_gateway::{serve_http, serve_https, AppCodeHasher, Gateway, GatewaySettings, ListenerCertificate, TlsSettings};
//! let settings = GatewaySettings::new(AppCodeHasher::hmac_sha256(index_key));
//! let gateway = Gateway::new(config, settings)?;
//! let certificate = ListenerCertificate::load(TlsSettings::self_signed("/var/lib/apigw/tls"), None)?;
//! let https = serve_https("0.0.0.0:8443".parse().unwrap(), &certificate, gateway.clone()).await?;
//! let http = serve_http("0.0.0.0:8080".parse().unwrap(), gateway.clone()).await?;
//! // After a change of groups or APIs: gateway.replace(new_config).await;
//! // After an app-level change: gateway.patch(vec![AppPatch::Upsert(update)]).await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod app_token;
mod apps;
mod backend_sign;
mod balancer;
pub mod body;
mod breaker;
pub mod config;
mod cors;
mod deadline;
mod debug;
mod drain;
pub mod errors;
mod fields;
mod framing;
mod health;
pub mod listener;
pub mod meters;
mod params;
mod pipeline;
mod plugins;
mod policy;
mod proxy;
mod quota;
mod rate_limit;
mod rate_rules;
mod responses;
mod routes;
mod rule_match;
mod server;
pub mod snapshot;
mod throttle;
pub mod tls;
mod upstream;

/// The hash of the in-memory index's maps (hosts, group ids, stages, exact paths, app ids and
/// AppKeys): several times cheaper than the standard SipHash on the per-request lookups. Their
/// keys come from the management API and requests only look them up, so a caller cannot
/// choose what collides; the seed is still random per process.
type IndexHasher = foldhash::fast::RandomState;

pub use body::GatewayBody;
pub use config::{
    ApiAuth, AppAcl, AppCodeHasher, AppCredential, AppPatch, AppQuota, AppTokenConfig, AppUpdate,
    Backend, BackendParam, BackendPolicy, BackendRetries, BackendSigning, BalanceStrategy,
    BreakerConfig, ChannelConfig, ChannelMember, ChannelTarget, ConditionSubject, ConditionTest,
    DowngradeConfig, ErrorResponses, GatewayConfig, GatewaySettings, GroupConfig, GroupDomain,
    HealthCheckConfig, HttpBackend, InstanceFeatures, IpAcl, MatchMode, MockAnswer, ParamLocation,
    ParamValue, PolicyCondition, ProbeProtocol, Protocol, PublishedApi, QuotaLimit, ReqMethod,
    RequestParam, SystemParam, ThrottlePolicy, TokenKey, ValueRules,
};
pub use debug::{DebugAnswer, DebugCall, DebugRoutes};
pub use health::{probed_servers, probed_servers_changed};
pub use listener::{serve_http, serve_https, ServerHandle};
pub use plugins::ApiPlugins;
pub use quota::{QuotaTally, QuotaUsage};
pub use rate_limit::{ThrottleCaller, ThrottleCount, CHECKPOINTED_WINDOW_MS};
pub use snapshot::{Snapshot, SnapshotStats};
pub use tls::{BoundCertificate, ClientCaFingerprint, ListenerCertificate, TlsSettings};

use apigw_domain::ApiError;
use apigw_signing::Verifier;
use arc_swap::ArcSwap;
use http::{Request, Response};
use hyper::body::Incoming;
use pipeline::ConnState;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The data plane of one node: the current snapshot, the settings, the backend client and the
/// failure book, shared by every listener (cheap to clone).
///
/// Exists as the one object the binary builds and the management side updates: listeners
/// serve it, [`replace`](Self::replace) swaps in a new configuration atomically.
#[derive(Clone, Debug)]
pub struct Gateway {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) snapshot: ArcSwap<Snapshot>,
    pub(crate) settings: GatewaySettings,
    pub(crate) verifier: Verifier,
    pub(crate) upstream: upstream::Upstream,
    failures: throttle::FailureBook,
    /// The meters of requests no published API matched.
    pub(crate) unrouted: meters::ApiMeters,
    /// Among how many gateway nodes every throttling limit is divided (1: enforced whole).
    throttle_nodes: AtomicU32,
    /// Serialises rebuilds and patches, so the last `replace` or `patch` call is the one that
    /// stays.
    replace_lock: Mutex<()>,
}

impl Gateway {
    /// Builds the first snapshot from `config` and the backend client. Fails only if
    /// `settings.backend_ca_file` cannot be read or holds no certificate.
    pub fn new(config: GatewayConfig, settings: GatewaySettings) -> io::Result<Self> {
        let upstream = upstream::Upstream::new(settings.backend_ca_file.as_deref())?;
        let started = Instant::now();
        let snapshot = Snapshot::build(config, &settings.base_domain, None);
        let stats = snapshot.stats();
        meters::snapshot_updated("rebuild", stats, started.elapsed());
        tracing::info!(?stats, "data plane configuration loaded");
        Ok(Self {
            inner: Arc::new(Inner {
                snapshot: ArcSwap::from_pointee(snapshot),
                verifier: Verifier::new(settings.signature_max_skew),
                failures: throttle::FailureBook::new(
                    settings.auth_failure_limit,
                    settings.auth_failure_window,
                ),
                settings,
                upstream,
                unrouted: meters::ApiMeters::unrouted(),
                throttle_nodes: AtomicU32::new(1),
                replace_lock: Mutex::new(()),
            }),
        })
    }

    /// Replaces the configuration: builds a new snapshot on a blocking thread and swaps it in.
    /// When the future resolves, every request that starts afterwards sees the new
    /// configuration (a revoked AppCode is refused by the very next request); requests already
    /// routed finish with the snapshot they started with. Quota counters carry over for apps
    /// still bound to the same quota. The rebuild completes even if the future is dropped.
    pub async fn replace(&self, config: GatewayConfig) {
        let gateway = self.clone();
        let built = tokio::task::spawn_blocking(move || gateway.replace_blocking(config)).await;
        if let Err(e) = built {
            // Only a panic in the builder gets here; the old snapshot stays in service.
            tracing::error!(error = %e, "building the data plane snapshot failed");
        }
    }

    /// [`replace`](Self::replace) for callers outside an async context (blocks while building).
    pub fn replace_blocking(&self, config: GatewayConfig) {
        let inner = &self.inner;
        let _serial = inner.replace_lock.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        let previous = inner.snapshot.load_full();
        let snapshot = Snapshot::build(config, &inner.settings.base_domain, Some(&previous));
        let stats = snapshot.stats();
        let replaced = inner.snapshot.swap(Arc::new(snapshot));
        drop(previous);
        // Freeing a million app entries takes a while (they are reached in hash order); the
        // caller need not wait for it.
        let freeing = std::thread::Builder::new()
            .name("apigw-snapshot-free".into())
            .spawn(move || drop(replaced));
        if let Err(e) = freeing {
            tracing::debug!(error = %e, "old snapshot freed inline");
        }
        let elapsed = started.elapsed();
        meters::snapshot_updated("rebuild", stats, elapsed);
        tracing::debug!(
            ?stats,
            elapsed_ms = elapsed.as_millis() as u64,
            "data plane configuration replaced"
        );
    }

    /// Replaces only the routing (groups and published APIs), keeping every app, AppCode,
    /// authorization, ACL and quota counter: what publishing, taking offline or changing an API
    /// needs. Costs O(number of routes), whatever the number of apps. Same guarantees as
    /// [`replace`](Self::replace).
    pub async fn replace_routes(&self, groups: Vec<GroupConfig>, apis: Vec<PublishedApi>) {
        let gateway = self.clone();
        let rerouted =
            tokio::task::spawn_blocking(move || gateway.replace_routes_blocking(groups, apis))
                .await;
        if let Err(e) = rerouted {
            tracing::error!(error = %e, "rebuilding the data plane routes failed");
        }
    }

    /// [`replace_routes`](Self::replace_routes) for callers outside an async context.
    pub fn replace_routes_blocking(&self, groups: Vec<GroupConfig>, apis: Vec<PublishedApi>) {
        let inner = &self.inner;
        let _serial = inner.replace_lock.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        let current = inner.snapshot.load_full();
        let snapshot = current.rerouted(groups, apis, &inner.settings.base_domain);
        let stats = snapshot.stats();
        inner.snapshot.store(Arc::new(snapshot));
        let elapsed = started.elapsed();
        meters::snapshot_updated("routes", stats, elapsed);
        tracing::debug!(
            ?stats,
            elapsed_us = elapsed.as_micros() as u64,
            "data plane routes replaced"
        );
    }

    /// Applies app-level changes: each [`AppPatch`] adds, replaces or removes one app's
    /// credentials, authorizations, ACL and quota, in order. Costs O(size of the change), not
    /// O(number of apps): the new snapshot shares the routes, the APIs and every untouched
    /// shard of the app indexes with the current one. Same guarantees as
    /// [`replace`](Self::replace): when the future resolves, the very next request sees the
    /// change; patches and replaces are serialised (the last one wins); an app's quota counter
    /// carries over while it stays bound to the same quota.
    pub async fn patch(&self, patches: Vec<AppPatch>) {
        let gateway = self.clone();
        let patched = tokio::task::spawn_blocking(move || gateway.patch_blocking(patches)).await;
        if let Err(e) = patched {
            tracing::error!(error = %e, "patching the data plane snapshot failed");
        }
    }

    /// [`patch`](Self::patch) for callers outside an async context (blocks while patching).
    pub fn patch_blocking(&self, patches: Vec<AppPatch>) {
        let inner = &self.inner;
        let _serial = inner.replace_lock.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        let count = patches.len();
        let snapshot = inner.snapshot.load_full().patched(patches);
        let stats = snapshot.stats();
        let previous = inner.snapshot.swap(Arc::new(snapshot));
        // The old version's unshared leaves are freed here unless a request still holds it.
        drop(previous);
        let elapsed = started.elapsed();
        meters::snapshot_updated("patch", stats, elapsed);
        tracing::debug!(
            patches = count,
            elapsed_us = elapsed.as_micros() as u64,
            "data plane configuration patched"
        );
    }

    /// Puts the new terms of quota `quota_id` in force for every app bound to it, or lifts the
    /// quota (`None`: it was deleted). O(1) whatever the number of apps bound: they share the
    /// quota's terms, which change in place (calls already counted in the current window stay
    /// counted). In force for the next request when this returns. Binding and unbinding apps
    /// are app patches ([`patch`](Self::patch)). Serialised with patches and replaces.
    pub async fn set_quota(&self, quota_id: &str, limit: Option<QuotaLimit>) {
        let gateway = self.clone();
        let quota_id = quota_id.to_owned();
        let set = tokio::task::spawn_blocking(move || {
            gateway.set_quota_blocking(&quota_id, limit.as_ref());
        })
        .await;
        if let Err(e) = set {
            tracing::error!(error = %e, "replacing a quota's terms failed");
        }
    }

    /// [`set_quota`](Self::set_quota) for callers outside an async context (blocks while a
    /// rebuild is in progress).
    pub fn set_quota_blocking(&self, quota_id: &str, limit: Option<&QuotaLimit>) {
        let inner = &self.inner;
        let _serial = inner.replace_lock.lock().unwrap_or_else(|p| p.into_inner());
        let bound = inner.snapshot.load().set_quota(quota_id, limit);
        tracing::debug!(
            quota_id,
            bound,
            deleted = limit.is_none(),
            "data plane quota terms replaced"
        );
    }

    /// Puts the instance's gateway features in force (the `app_secret`, `app_basic`,
    /// `app_api_key` and `app_token` modes, the client address from `X-Forwarded-For`...). O(1) whatever the number of apps: the new
    /// snapshot shares everything else with the current one. In force for the next request
    /// when this returns; serialised with patches and replaces.
    pub async fn set_features(&self, features: InstanceFeatures) {
        let gateway = self.clone();
        let set =
            tokio::task::spawn_blocking(move || gateway.set_features_blocking(features)).await;
        if let Err(e) = set {
            tracing::error!(error = %e, "replacing the gateway features failed");
        }
    }

    /// [`set_features`](Self::set_features) for callers outside an async context (blocks
    /// while a rebuild is in progress).
    pub fn set_features_blocking(&self, features: InstanceFeatures) {
        let inner = &self.inner;
        let _serial = inner.replace_lock.lock().unwrap_or_else(|p| p.into_inner());
        tracing::debug!(?features, "data plane gateway features replaced");
        let snapshot = inner.snapshot.load().with_features(features);
        inner.snapshot.store(Arc::new(snapshot));
    }

    /// Divides every request throttling limit (policies, their exceptions and the instance's
    /// `ratelimit`) among `nodes` gateway nodes: this one enforces its share, the limit
    /// divided by `nodes` and rounded up (1, the default, enforces whole limits). Exists
    /// because each node counts calls on its own; dividing keeps a policy one limit across a
    /// cluster whose load balancer spreads calls evenly. In force for the next request.
    pub fn share_throttling_among(&self, nodes: u32) {
        let previous = self
            .inner
            .throttle_nodes
            .swap(nodes.max(1), Ordering::Relaxed);
        if previous != nodes.max(1) {
            tracing::debug!(
                nodes,
                previous,
                "throttling limits divided among the gateway nodes"
            );
        }
    }

    /// The calls counted in the current windows of the request throttling counters whose
    /// windows last a minute or more ([`CHECKPOINTED_WINDOW_MS`]), for a checkpoint: what a
    /// restarted node, or another one, carries on with ([`restore_throttle_counts`](Self::restore_throttle_counts)).
    pub fn throttle_counts(&self) -> Vec<ThrottleCount> {
        self.inner.snapshot.load().throttle_counts(quota::wall_ms())
    }

    /// Adds checkpointed throttling counts to this node's counters (those of a binding in
    /// force whose window is still current; the rest are dropped): in force for the next
    /// call. How many were taken.
    pub fn restore_throttle_counts(&self, counts: &[ThrottleCount]) -> usize {
        self.inner
            .snapshot
            .load()
            .restore_throttle_counts(counts, quota::wall_ms())
    }

    /// The calls this node counted against app quotas since the last take, per app, for the
    /// quota ledger (only calls of windows still current). What is taken is gone: a caller
    /// that cannot hand it to the ledger loses those calls from the ledger (this node still
    /// counts them until the window ends).
    pub fn take_quota_usage(&self) -> Vec<QuotaUsage> {
        self.inner
            .snapshot
            .load()
            .take_quota_usage(quota::wall_ms())
    }

    /// Woken (`notify_one`) when a call leaves an app near its quota limit (each time what is
    /// left halves below half the limit, and at the last call): the moment for the ledger to
    /// hear of this node's calls, and for this node to read the others', before the periodic
    /// exchange.
    pub fn quota_nearing(&self) -> Arc<tokio::sync::Notify> {
        self.inner.snapshot.load().quota_nearing()
    }

    /// Takes in the quota ledger's totals (every node's calls): each app bound to the quota a
    /// tally names counts them in its current window from the next call on.
    pub fn merge_quota_tallies(&self, tallies: &[QuotaTally]) {
        self.inner
            .snapshot
            .load()
            .merge_quota_tallies(tallies, quota::wall_ms());
    }

    /// The snapshot currently served (for inspection and benchmarks).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.snapshot.load_full()
    }

    /// The settings this gateway was built with.
    pub fn settings(&self) -> &GatewaySettings {
        &self.inner.settings
    }

    /// Serves one request that arrived from `peer` on a listener that does (`tls`) or does not
    /// terminate TLS; for embedding the data plane in another hyper server. Never fails: errors
    /// are data-plane error responses, and every response carries `X-Request-Id`.
    pub async fn handle(
        &self,
        request: Request<Incoming>,
        peer: SocketAddr,
        tls: bool,
    ) -> Response<GatewayBody> {
        let request = request.map(body::CallerBody::Hyper);
        let conn = pipeline::Conn::new(peer, tls);
        let response = self.serve(request, &conn, &mut ConnState::default()).await;
        body::with_backend_fields(response)
    }

    /// [`handle`](Self::handle) for a request on a connection the listener already described.
    /// Not an `async fn`: the pipeline's own future, without a layer around it to be moved.
    /// `state` is what the connection keeps between requests (the backend-timeout timer, the
    /// last AppCode's hash).
    // Always inlined: its callers (the HTTP/1.1 server, the HTTP/2 service, debugging calls)
    // then build the pipeline's future in place; an out-of-line `serve` returns it by value
    // and each caller copies it, some 420 instructions a request (BENCHMARKS.md).
    #[inline(always)]
    pub(crate) fn serve<'a>(
        &'a self,
        request: Request<body::CallerBody>,
        conn: &'a pipeline::Conn,
        state: &'a mut ConnState,
    ) -> impl Future<Output = Response<GatewayBody>> + Send + 'a {
        // The one call site of the pipeline: a second one would have the request path
        // compiled twice, and neither copy inlined as well as one is.
        pipeline::handle(&self.inner, request, conn, state)
    }

    /// The answer to a request head that could not be read as a request.
    pub(crate) fn refuse_head(
        &self,
        error: apigw_domain::ApiError,
        conn: &pipeline::Conn,
    ) -> Response<GatewayBody> {
        pipeline::refuse_head(&self.inner, conn, &error)
    }
}

impl Inner {
    /// This node's part of each throttling limit (see [`Gateway::share_throttling_among`]).
    #[inline]
    pub(crate) fn throttle_share(&self) -> rate_limit::Share {
        rate_limit::Share::among(self.throttle_nodes.load(Ordering::Relaxed))
    }

    /// Records a failed authentication and picks the answer: 401 `APIG.0303` with `detail`, or
    /// 429 `APIG.0308` (without building the detail) once the address or key is over its limit.
    pub(crate) fn auth_failure(
        &self,
        peer: IpAddr,
        app_key: Option<&str>,
        detail: impl FnOnce() -> String,
    ) -> ApiError {
        self.credential_failure(peer, app_key, || errors::app_auth_failed(detail()))
    }

    /// [`auth_failure`](Self::auth_failure) with another refusal than 401 `APIG.0303` (the
    /// token endpoint's 400 `APIG.1009`).
    pub(crate) fn credential_failure(
        &self,
        peer: IpAddr,
        app_key: Option<&str>,
        refusal: impl FnOnce() -> ApiError,
    ) -> ApiError {
        let peer = peer.to_canonical();
        if self.failures.record(peer, app_key, Instant::now()) {
            tracing::debug!(%peer, "authentication failures over the limit");
            errors::throttled()
        } else {
            refusal()
        }
    }
}
