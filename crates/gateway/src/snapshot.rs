//! The immutable, indexed form of a [`GatewayConfig`]: what one request reads.
//!
//! Built in full by [`Gateway::replace`](crate::Gateway::replace) (off the request path), or
//! derived from the current one by [`Gateway::patch`](crate::Gateway::patch) for app-level
//! changes; then only read: host → group, (group, environment name) → [`RouteTable`], API
//! entries with their backend prepared, and app entries found by AppKey or by AppCode hash. A
//! request loads the current snapshot once and borrows everything else from it, so a
//! concurrent replace or patch never changes the view of a request in flight.

use crate::apps::{Acl, AppEntry, AppIndex, AuthTarget, CodeHash};
use crate::backend_sign::BackendSigner;
use crate::balancer::{Balancer, CallKey, Endpoint, Picked};
use crate::breaker::{ArmParts, Breaker, BreakerState, Downgraded, MockReply};
use crate::config::{
    ApiAuth, AppAcl, AppPatch, AppQuota, AppUpdate, Backend, BackendParam, BackendRetries,
    ChannelConfig, DowngradeConfig, GatewayConfig, GroupConfig, HttpBackend, InstanceFeatures,
    Protocol, PublishedApi, QuotaLimit, ReqMethod, RequestParam, Transport,
};
use crate::health::{HealthKey, MemberHealth};
use crate::meters::ApiMeters;
use crate::plugins::PreparedPlugins;
use crate::policy::Policies;
use crate::quota::{QuotaCounter, QuotaPolicy, QuotaTally, QuotaTerms, QuotaUsage, UsageBook};
use crate::rate_limit::{AllEnvs, Counters, RateLimiter, ThrottleCount};
use crate::responses::ErrorResponses;
use crate::routes::{ApiIdx, RouteMatch, RouteTable};
use crate::tls::ClientCaFingerprint;
use crate::IndexHasher;
use apigw_signing::SigningKey;
use bytes::Bytes;
use http::uri::Scheme;
use http::{HeaderValue, Method};
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;

/// One configuration, indexed for the request path.
///
/// Exists so that every per-request lookup is a hash-map probe or a short scan over borrowed
/// data, and so that a configuration change is one pointer swap (the gateway holds it in an
/// `ArcSwap`). Two halves, shared between versions through `Arc`s: the routing half (hosts,
/// route tables, APIs), rebuilt only by a full build, and the app half ([`AppIndex`], sharded
/// and copy-on-write), which an app-level patch changes in O(size of the change).
pub struct Snapshot {
    routing: Arc<Routing>,
    apps: AppIndex,
    /// The quotas bound to at least one app, by id (shared with the apps' counters).
    quotas: Arc<QuotaPolicies>,
    /// The counters with calls the quota ledger has not been told of (one book for the life
    /// of the gateway, handed from version to version).
    usage: Arc<UsageBook>,
    /// The gateway features the instance turned on.
    features: InstanceFeatures,
}

/// Quota policies by quota id.
type QuotaPolicies = HashMap<Box<str>, Arc<QuotaPolicy>>;

/// Throttling counters by [`Counters::key_of`].
type Limiters = HashMap<Box<str>, Arc<Counters>>;

/// Circuit breakers' counts by breaker (`<key>` or `<key>/<rule>`).
type BreakerStates = HashMap<Box<str>, Arc<BreakerState>>;

/// The routing half of a snapshot.
struct Routing {
    /// Bound names, lower case.
    hosts: HashMap<Box<str>, HostRoute, IndexHasher>,
    /// Wildcard bindings (`*.example.com`) by their parent name (`example.com`).
    wildcards: HashMap<Box<str>, HostRoute, IndexHasher>,
    group_suffix: Box<str>,
    group_ids: HashMap<Box<str>, u32, IndexHasher>,
    default_group: Option<u32>,
    groups: Vec<GroupRoutes>,
    apis: Vec<ApiEntry>,
    /// Keys of the authorization fingerprints (kept from version to version).
    fp_keys: RandomState,
    /// The interned target of every published (API, environment), by fingerprint.
    targets: HashMap<u64, Arc<AuthTarget>>,
    /// The balancers of the VPC channels the APIs use, by channel, scheme and TLS name (one
    /// each, shared by those APIs); their servers' health carries over to the next build.
    balancers: HashMap<BalancerKey, Arc<Balancer>>,
}

/// A channel's balancer is per channel id, scheme (HTTPS or not) and TLS server name.
type BalancerKey = (Box<str>, bool, Option<Box<str>>);

impl Routing {
    /// The authorization target `(api_id, env_id)`: the published API's own when there is one,
    /// else a fresh one (an authorization for an API not published here is kept by its ids).
    fn target(&self, api_id: &str, env_id: &str) -> Arc<AuthTarget> {
        let fp = self.fp_keys.hash_one((api_id, env_id));
        match self.targets.get(&fp) {
            Some(t) if t.is(api_id, env_id) => Arc::clone(t),
            _ => Arc::new(AuthTarget {
                fp,
                api_id: api_id.into(),
                env_id: env_id.into(),
            }),
        }
    }
}

/// Sizes of a snapshot, for logs and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotStats {
    /// API groups.
    pub groups: usize,
    /// Routable (API, environment) entries.
    pub apis: usize,
    /// Apps.
    pub apps: usize,
    /// Distinct AppCode hashes.
    pub app_codes: usize,
}

#[derive(Debug, Default)]
struct GroupRoutes {
    envs: HashMap<Box<str>, RouteTable, IndexHasher>,
    /// Whether its subdomain reaches it.
    subdomain_open: bool,
    /// Its default gateway response, if it changes some answer (for calls routed to no API).
    responses: Option<Arc<ErrorResponses>>,
}

/// What a host name is to the routing.
enum HostLookup {
    /// A bound name, a wildcard binding or an open group subdomain.
    Route(HostRoute),
    /// The subdomain of a group that closed it.
    ClosedSubdomain,
    /// Nothing of this instance's (the DEFAULT group answers).
    Unknown,
}

/// A published API, ready to proxy.
#[derive(Debug)]
pub(crate) struct ApiEntry {
    pub api_id: Box<str>,
    pub name: Box<str>,
    pub protocol: Protocol,
    pub auth: ApiAuth,
    /// What an authorization for this API in this environment names.
    pub target: Arc<AuthTarget>,
    /// What answers its calls.
    pub serving: Serving,
    /// Other backends for the calls that meet conditions, tried before `serving` (see
    /// [`crate::policy`]).
    pub policies: Option<Box<Policies>>,
    /// The declared request parameters with something to enforce (see [`crate::params`]).
    pub req_params: Box<[RequestParam]>,
    /// Whether cross-origin calls from browsers are allowed (see [`crate::cors`]).
    pub cors: bool,
    /// The counters of its request throttling policy, if one is bound (see
    /// [`crate::rate_limit`]).
    pub rate_limit: Option<Box<RateLimiter>>,
    /// Its calls in all environments against the instance's default limit (`ratelimit`).
    pub all_envs: Arc<AllEnvs>,
    /// The client addresses its access control policy allows, if one is bound.
    pub ip_acl: Option<Box<Acl>>,
    /// Its request counters and latency histograms.
    pub meters: ApiMeters,
    /// What its refusals are answered with, if not the gateway's own error bodies.
    pub responses: Option<Box<ApiResponses>>,
    /// Its plug-ins, prepared (see [`crate::plugins`]), if any is attached.
    pub plugins: Option<Box<PreparedPlugins>>,
    /// Its circuit breaker, if a `breaker` plug-in is attached (see [`crate::breaker`]).
    pub breaker: Option<Box<Breaker>>,
}

/// The gateway response an API's refusals are answered with, and the stage the API is
/// published in (its `$context.stage`).
#[derive(Debug)]
pub(crate) struct ApiResponses {
    pub set: Arc<ErrorResponses>,
    pub stage: Box<str>,
}

/// What answers an API's calls, prepared for the request path.
#[derive(Debug)]
pub(crate) enum Serving {
    /// Proxied to this backend.
    Proxy(BackendEntry),
    /// A `MOCK` API: the gateway answers with this body.
    Mock(Bytes),
    /// No backend in this environment (500 `APIG.0103`), and why (for the log).
    Missing(Box<str>),
}

/// A backend with its URI parts parsed once.
#[derive(Debug)]
pub(crate) struct BackendEntry {
    /// Where calls go.
    pub target: Target,
    /// The `Host` sent; `None`: the caller's (a channel without a proxy host).
    pub host_header: Option<HeaderValue>,
    pub method: ReqMethod,
    pub path: Box<str>,
    pub timeout: Duration,
    pub retries: BackendRetries,
    /// A gRPC server, reached over HTTP/2 (see [`HttpBackend::grpc`]).
    pub grpc: bool,
    /// The signature key bound to the API here, if any (see [`crate::backend_sign`]).
    pub signing: Option<Box<BackendSigner>>,
    /// The parameters added to its requests (the API's, or its backend policy's).
    pub params: Box<[BackendParam]>,
}

/// Where a backend's calls go.
#[derive(Debug)]
pub(crate) enum Target {
    /// One address.
    Fixed(Endpoint),
    /// The servers of a VPC channel.
    Channel(Arc<Balancer>),
}

impl BackendEntry {
    /// The server for this call (`call` says what a hash strategy needs); `None` when a
    /// channel has no healthy server.
    pub(crate) fn pick(&self, call: &CallKey<'_>) -> Option<Picked<'_>> {
        match &self.target {
            Target::Fixed(endpoint) => Some(Picked::fixed(endpoint)),
            Target::Channel(balancer) => balancer.pick(call),
        }
    }

    /// The server a retry goes to after `failed` failed: another of the channel's, else the
    /// same one.
    pub(crate) fn retry_server<'e>(&'e self, failed: &'e Endpoint) -> &'e Endpoint {
        match &self.target {
            Target::Channel(balancer) => balancer.other_than(failed).unwrap_or(failed),
            Target::Fixed(_) => failed,
        }
    }
}

/// The balancers of one routing build: one per channel, scheme and TLS name, their servers'
/// health and their round-robin turn carried over from the previous build.
pub(crate) struct ChannelBalancers {
    built: HashMap<BalancerKey, Arc<Balancer>>,
    healths: HashMap<HealthKey, Arc<MemberHealth>>,
    turns: HashMap<BalancerKey, usize>,
}

impl ChannelBalancers {
    /// Starts a build; `previous` hands over its servers' health and where each balancer's
    /// turns had got to.
    fn new(previous: Option<&Routing>) -> Self {
        let balancers = || previous.into_iter().flat_map(|p| p.balancers.iter());
        let healths = balancers()
            .flat_map(|(_, b)| b.healths())
            .map(|(key, health)| (key, Arc::clone(health)))
            .collect();
        let turns = balancers()
            .map(|(key, b)| (key.clone(), b.next_turn()))
            .collect();
        Self {
            built: HashMap::new(),
            healths,
            turns,
        }
    }

    /// The balancer of `channel` over `scheme` with TLS name `tls_name`.
    fn balancer(
        &mut self,
        channel: &ChannelConfig,
        scheme: &Scheme,
        tls_name: Option<&str>,
    ) -> Arc<Balancer> {
        let key = (
            channel.id.as_str().into(),
            *scheme == Scheme::HTTPS,
            tls_name.map(Into::into),
        );
        let (healths, turns) = (&mut self.healths, &self.turns);
        Arc::clone(self.built.entry(key).or_insert_with_key(|key| {
            // A balancer goes on where its predecessor was, so a rebuild (any management
            // change) does not send the next calls to the first server again; a new one
            // starts anywhere, so one-off builds (debugging calls) spread too.
            let first_turn = turns
                .get(key)
                .copied()
                .unwrap_or_else(|| rand::random::<u32>() as usize);
            Arc::new(Balancer::new(
                channel, scheme, tls_name, healths, first_turn,
            ))
        }))
    }
}

/// The host part of a `Host` value, without port or IPv6 brackets.
pub(crate) fn host_only(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(h, _)| h);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

impl Routing {
    /// Indexes groups and published APIs. `fp_keys` are the authorization fingerprint keys,
    /// carried over from the previous version so that apps' authorizations stay comparable.
    fn build(
        groups: Vec<GroupConfig>,
        apis: Vec<PublishedApi>,
        base_domain: &str,
        fp_keys: RandomState,
        previous: Option<&Routing>,
    ) -> Self {
        // Throttling counters carry over to the new routes (same policy, same binding).
        let mut counters: Limiters = previous
            .into_iter()
            .flat_map(|p| p.apis.iter().filter_map(|a| a.rate_limit.as_ref()))
            .map(|l| (l.counters().key().into(), Arc::clone(l.counters())))
            .collect();
        // Why each API, or one of its backend policies, lacked a backend where it did: the log
        // says so again only when the reason changes, not at every rebuild.
        let mut was_missing: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
        for a in previous.into_iter().flat_map(|p| p.apis.iter()) {
            let policies = a.policies.iter().flat_map(|p| p.servings());
            for serving in std::iter::once(&a.serving).chain(policies) {
                if let Serving::Missing(reason) = serving {
                    let key = (&*a.target.api_id, &*a.target.env_id);
                    was_missing.entry(key).or_default().push(reason);
                }
            }
        }
        // So are circuit breakers' counts and open times (by breaker, see `Breaker::states`).
        let mut breakers: BreakerStates = previous
            .into_iter()
            .flat_map(|p| p.apis.iter().filter_map(|a| a.breaker.as_deref()))
            .flat_map(Breaker::states)
            .map(|(label, state)| (label.into(), Arc::clone(state)))
            .collect();
        // So are the calls of each API in all its environments.
        let mut all_envs: HashMap<Box<str>, Arc<AllEnvs>> = previous
            .into_iter()
            .flat_map(|p| p.apis.iter())
            .map(|a| (a.api_id.clone(), Arc::clone(&a.all_envs)))
            .collect();
        let mut routing = Routing {
            hosts: HashMap::default(),
            wildcards: HashMap::default(),
            group_suffix: format!(".{}", base_domain.trim_matches('.').to_ascii_lowercase()).into(),
            group_ids: HashMap::with_capacity_and_hasher(groups.len(), IndexHasher::default()),
            default_group: None,
            groups: Vec::with_capacity(groups.len()),
            apis: Vec::with_capacity(apis.len()),
            fp_keys,
            targets: HashMap::with_capacity(apis.len()),
            balancers: HashMap::new(),
        };
        let mut balancers = ChannelBalancers::new(previous);

        for group in groups {
            let idx = routing.groups.len() as u32;
            if routing
                .group_ids
                .insert(group.id.to_ascii_lowercase().into(), idx)
                .is_some()
            {
                tracing::warn!(group = %group.id, "duplicate group id; later definition wins for its subdomain");
            }
            if group.is_default && routing.default_group.is_none() {
                routing.default_group = Some(idx);
            }
            for domain in group.domains {
                let name = host_only(domain.name.trim()).to_ascii_lowercase();
                let route = HostRoute {
                    group: idx,
                    redirect_to_https: domain.redirect_to_https,
                    https_port: domain.https_port,
                    on_http: domain.on_http,
                    on_https: domain.on_https,
                    client_ca: domain.client_ca,
                    fallback: false,
                };
                let (table, key) = match name.strip_prefix("*.") {
                    Some(parent) => (&mut routing.wildcards, parent),
                    None => (&mut routing.hosts, name.as_str()),
                };
                if table.insert(key.into(), route).is_some() {
                    tracing::warn!(domain = %name, "domain bound to several groups; the last one wins");
                }
            }
            routing.groups.push(GroupRoutes {
                envs: HashMap::default(),
                subdomain_open: group.subdomain_open,
                responses: group.responses,
            });
        }

        for mut api in apis {
            let rate_limit = api.throttle.take().map(|policy| {
                let key = Counters::key_of(&policy, &api.api_id, &api.env_id);
                let counters = counters
                    .entry(key.as_str().into())
                    .or_insert_with(|| Counters::new(&key));
                Box::new(RateLimiter::new(&policy, Arc::clone(counters)))
            });
            let all_envs = Arc::clone(all_envs.entry(api.api_id.as_str().into()).or_default());
            let missing_before = was_missing
                .get(&(api.api_id.as_str(), api.env_id.as_str()))
                .cloned()
                .unwrap_or_default();
            let kept = (all_envs, &mut breakers);
            routing.add_api(api, rate_limit, kept, &missing_before, &mut balancers);
        }
        routing.balancers = balancers.built;
        for group in &mut routing.groups {
            for table in group.envs.values_mut() {
                table.finish();
            }
        }

        routing
    }
}

impl Snapshot {
    /// Indexes `config`. `base_domain` names group subdomains (`<group_id>.<base_domain>`);
    /// `previous` hands its quota counters over to apps whose quota is unchanged.
    ///
    /// Never fails: an entry that cannot be served (unknown group, duplicate route, bad backend
    /// host) is skipped with a warning, so one bad row cannot stop every other change.
    pub fn build(config: GatewayConfig, base_domain: &str, previous: Option<&Snapshot>) -> Self {
        let GatewayConfig {
            groups,
            apis,
            apps,
            auths,
            acls,
            quotas,
            features,
        } = config;

        let fp_keys = previous.map_or_else(RandomState::new, |p| p.routing.fp_keys.clone());
        let usage = previous.map_or_else(Arc::default, |p| Arc::clone(&p.usage));
        let routing = Routing::build(
            groups,
            apis,
            base_domain,
            fp_keys,
            previous.map(|p| &*p.routing),
        );

        // Authorizations by app, as interned targets (one per distinct pair, published or not).
        let mut unpublished: HashMap<(String, String), Arc<AuthTarget>> = HashMap::new();
        let mut authorized: HashMap<String, Vec<(u64, Arc<AuthTarget>)>> = HashMap::new();
        for (app_id, api_id, env_id) in auths {
            let mut target = routing.target(&api_id, &env_id);
            if Arc::strong_count(&target) == 1 {
                target = Arc::clone(unpublished.entry((api_id, env_id)).or_insert(target));
            }
            authorized
                .entry(app_id)
                .or_default()
                .push((target.fp, target));
        }
        let mut acl_by_app: HashMap<String, AppAcl> = HashMap::new();
        for acl in acls {
            acl_by_app.entry(acl.app_id.clone()).or_insert(acl);
        }
        let previous_quotas: HashMap<&str, &Arc<QuotaCounter>> = previous
            .map(|p| {
                p.apps
                    .iter()
                    .filter_map(|a| Some((&*a.app_id, a.quota.as_ref()?)))
                    .collect()
            })
            .unwrap_or_default();
        let mut quota_by_app: HashMap<String, AppQuota> = HashMap::new();
        for quota in quotas {
            quota_by_app.entry(quota.app_id.clone()).or_insert(quota);
        }
        // A quota kept from the previous snapshot keeps its policy object (the counters that
        // carry over point to it), with the terms just read.
        let mut policies = QuotaPolicies::new();
        for quota in quota_by_app.values() {
            if !policies.contains_key(quota.quota_id.as_str()) {
                let policy = policy_for(previous.map(|p| &*p.quotas), quota, &usage);
                policies.insert(quota.quota_id.as_str().into(), policy);
            }
        }

        let codes = apps.iter().map(|a| a.app_code_hashes.len()).sum();
        let mut index = AppIndex::with_capacity(apps.len(), codes);
        for app in apps {
            let auths = authorized.remove(&app.app_id).unwrap_or_default();
            let acl = acl_by_app.remove(&app.app_id);
            let quota = quota_by_app.remove(&app.app_id).map(|q| {
                let policy = &policies[q.quota_id.as_str()];
                counter(
                    &app.app_id,
                    policy,
                    previous_quotas.get(app.app_id.as_str()).copied(),
                )
            });
            index.insert(Arc::new(app_entry(
                app,
                AppEntry::sorted_auths(auths),
                acl,
                quota,
            )));
        }
        Snapshot {
            routing: Arc::new(routing),
            apps: index,
            quotas: Arc::new(policies),
            usage,
            features,
        }
    }

    /// This snapshot with `patches` applied, in order (the last patch of an app wins). Shares
    /// the routing half and every app index leaf the patches do not touch, so the cost is
    /// O(size of the change).
    ///
    /// An upsert whose AppKey belongs to another app is refused with a warning and leaves the
    /// app absent (as [`build`](Self::build) skips an app with a duplicate AppKey); one whose
    /// AppCode hash belongs to another app takes it over (the later app wins, as in `build`).
    pub(crate) fn patched(&self, patches: Vec<AppPatch>) -> Snapshot {
        let mut index = self.apps.clone();
        // Every app of the batch leaves first, so an AppKey moving between two apps of the
        // same batch is not refused; then the final state of each upserted app goes in.
        let mut last: HashMap<String, Option<AppUpdate>> = HashMap::with_capacity(patches.len());
        let mut order = Vec::with_capacity(patches.len());
        for patch in patches {
            let (app_id, update) = match patch {
                AppPatch::Upsert(update) => (update.credential.app_id.clone(), Some(update)),
                AppPatch::Remove(app_id) => (app_id, None),
            };
            if last.insert(app_id.clone(), update).is_none() {
                order.push(app_id);
            }
        }
        let mut old_quotas: HashMap<&str, Arc<QuotaCounter>> = HashMap::new();
        for app_id in &order {
            if let Some(quota) = index.remove(app_id).and_then(|old| old.quota.clone()) {
                old_quotas.insert(app_id, quota);
            }
        }
        let mut policies = Arc::clone(&self.quotas);
        for app_id in &order {
            let Some(Some(update)) = last.remove(app_id) else {
                continue;
            };
            let AppUpdate {
                credential,
                auths,
                acl,
                quota,
            } = update;
            let auths = auths
                .iter()
                .map(|(api_id, env_id)| {
                    let target = self.routing.target(api_id, env_id);
                    (target.fp, target)
                })
                .collect();
            let quota = quota.map(|q| {
                let policy = policy_for(Some(&policies), &q, &self.usage);
                if !policies.contains_key(q.quota_id.as_str()) {
                    Arc::make_mut(&mut policies)
                        .insert(q.quota_id.as_str().into(), Arc::clone(&policy));
                }
                counter(app_id, &policy, old_quotas.get(app_id.as_str()))
            });
            let entry = app_entry(credential, AppEntry::sorted_auths(auths), acl, quota);
            index.insert(Arc::new(entry));
        }
        Snapshot {
            routing: Arc::clone(&self.routing),
            apps: index,
            quotas: policies,
            usage: Arc::clone(&self.usage),
            features: self.features.clone(),
        }
    }

    /// Puts new terms of quota `quota_id` in force for every app bound to it (`None`: the
    /// quota was deleted and limits no app any more); in place, O(1). False when no app of
    /// this snapshot is bound to that quota.
    pub(crate) fn set_quota(&self, quota_id: &str, limit: Option<&QuotaLimit>) -> bool {
        let Some(policy) = self.quotas.get(quota_id) else {
            return false;
        };
        policy.set(limit.map(terms));
        true
    }

    /// What wakes when an app nears its quota limit (the same for every version).
    pub(crate) fn quota_nearing(&self) -> Arc<tokio::sync::Notify> {
        self.usage.nearing()
    }

    /// The calls counted on this node since the last take, for the quota ledger (see
    /// [`crate::quota`]).
    pub(crate) fn take_quota_usage(&self, now: i64) -> Vec<QuotaUsage> {
        self.usage.take(now)
    }

    /// Takes in the ledger's totals: each app still bound to the quota a tally names counts
    /// the calls of every node in the current window. Tallies of apps not served here, or of
    /// another quota, are ignored.
    pub(crate) fn merge_quota_tallies(&self, tallies: &[QuotaTally], now: i64) {
        for tally in tallies {
            let Some(quota) = self
                .apps
                .by_id(&tally.app_id)
                .and_then(|a| a.quota.as_ref())
            else {
                continue;
            };
            if quota.policy().quota_id() == tally.app_quota_id {
                quota.merge(tally.window_start_ms, tally.calls, now);
            }
        }
    }
}

impl Snapshot {
    /// This snapshot with new routing (groups and published APIs) and the same apps: the cost
    /// is that of the routes, whatever the number of apps. Authorizations stay valid because
    /// they name (API id, environment id) and the fingerprint keys carry over.
    pub(crate) fn rerouted(
        &self,
        groups: Vec<GroupConfig>,
        apis: Vec<PublishedApi>,
        base_domain: &str,
    ) -> Snapshot {
        Snapshot {
            routing: Arc::new(Routing::build(
                groups,
                apis,
                base_domain,
                self.routing.fp_keys.clone(),
                Some(&self.routing),
            )),
            apps: self.apps.clone(),
            quotas: Arc::clone(&self.quotas),
            usage: Arc::clone(&self.usage),
            features: self.features.clone(),
        }
    }
}

/// The terms of a quota limit.
fn terms(limit: &QuotaLimit) -> QuotaTerms {
    QuotaTerms::new(limit.call_limit, limit.interval, limit.reset_at_ms)
}

/// The policy of `quota` with its terms as just read: the one of `known` when it has that
/// quota (updated in place), else a new one noting its apps' calls in `usage`.
fn policy_for(
    known: Option<&QuotaPolicies>,
    quota: &AppQuota,
    usage: &Arc<UsageBook>,
) -> Arc<QuotaPolicy> {
    match known.and_then(|k| k.get(quota.quota_id.as_str())) {
        Some(policy) => {
            policy.set(Some(terms(&quota.limit)));
            Arc::clone(policy)
        }
        None => QuotaPolicy::new(&quota.quota_id, terms(&quota.limit), usage),
    }
}

/// App `app_id`'s counter under `policy`: its previous one when that counts against the same
/// quota (calls already made in the window stay counted), else a fresh one.
fn counter(
    app_id: &str,
    policy: &Arc<QuotaPolicy>,
    old: Option<&Arc<QuotaCounter>>,
) -> Arc<QuotaCounter> {
    match old {
        Some(old) if Arc::ptr_eq(old.policy(), policy) => Arc::clone(old),
        _ => Arc::new(QuotaCounter::new(app_id, Arc::clone(policy))),
    }
}

/// An app entry from its parts.
fn app_entry(
    app: crate::config::AppCredential,
    authorized: Box<[(u64, Arc<AuthTarget>)]>,
    acl: Option<AppAcl>,
    quota: Option<Arc<QuotaCounter>>,
) -> AppEntry {
    AppEntry {
        app_id: app.app_id.into(),
        app_name: app.app_name.into(),
        app_key: app.app_key.into(),
        signing_key: SigningKey::new(app.app_secret.as_bytes()),
        code_hashes: app.app_code_hashes.into_iter().map(CodeHash).collect(),
        authorized,
        acl: acl.map(|a| {
            Box::new(Acl {
                permit: a.permit,
                ranges: a.ranges.into(),
            })
        }),
        quota,
    }
}

impl Routing {
    fn add_api(
        &mut self,
        mut api: PublishedApi,
        rate_limit: Option<Box<RateLimiter>>,
        (all_envs, breakers): (Arc<AllEnvs>, &mut BreakerStates),
        missing_before: &[&str],
        balancers: &mut ChannelBalancers,
    ) {
        let Some(&group) = self
            .group_ids
            .get(api.group_id.to_ascii_lowercase().as_str())
        else {
            tracing::warn!(api = %api.api_id, group = %api.group_id, "API of an unknown group skipped");
            return;
        };
        let breaker = api.plugins.breaker.take();
        let mut serving_of = |backend: &Backend, params: &[BackendParam]| {
            serving(&api, backend, params, missing_before, balancers)
        };
        let Some(default) = serving_of(&api.backend, &api.backend_params) else {
            return;
        };
        let prepared = Policies::new(&api, |p| serving_of(&p.backend, &p.backend_params));
        let policies = match prepared {
            Ok(policies) => policies,
            Err(policy) => {
                tracing::warn!(api = %api.api_id, env = %api.env_name, %policy, "API with an unusable backend policy skipped");
                return;
            }
        };
        let breaker = breaker.and_then(|config| {
            let built = Breaker::new(&config.plugin, |index, rule| {
                let label = match rule {
                    Some(rule) => format!("{}/{rule}", config.key),
                    None => config.key.clone(),
                };
                let downgrade = match config.downgrades.get(index) {
                    None | Some(DowngradeConfig::Unavailable) => Downgraded::Unavailable,
                    Some(DowngradeConfig::Mock(mock)) => Downgraded::Mock(MockReply::new(mock)),
                    Some(DowngradeConfig::Backend { backend, params }) => {
                        match serving_of(backend, params) {
                            Some(serving) => Downgraded::Serve(serving),
                            None => Downgraded::Unavailable,
                        }
                    }
                };
                let state = breakers.entry(label.as_str().into()).or_default();
                ArmParts {
                    downgrade,
                    state: Arc::clone(state),
                    label,
                }
            });
            if built.is_none() {
                tracing::warn!(api = %api.api_id, env = %api.env_name, breaker = %config.key, "circuit breaker with an unusable rule left out");
            }
            built
        });
        if !api.req_uri.starts_with('/') {
            tracing::warn!(api = %api.api_id, uri = %api.req_uri, "API whose path does not start with / skipped");
            return;
        }
        let idx = self.apis.len() as ApiIdx;
        let table = self.groups[group as usize]
            .envs
            .entry(api.env_name.as_str().into())
            .or_default();
        if !table.insert(api.match_mode, &api.req_method, &api.req_uri, idx) {
            tracing::warn!(api = %api.api_id, env = %api.env_name, uri = %api.req_uri, "API with a duplicate method and path skipped");
            return;
        }
        let target = self.target(&api.api_id, &api.env_id);
        self.targets
            .entry(target.fp)
            .or_insert_with(|| Arc::clone(&target));
        let meters = ApiMeters::for_api(&api.api_id, &api.name, &api.env_name);
        let responses = api.responses.map(|set| {
            Box::new(ApiResponses {
                set,
                stage: api.env_name.as_str().into(),
            })
        });
        let plugins = PreparedPlugins::new(&api.plugins, &api.api_id);
        self.apis.push(ApiEntry {
            meters,
            responses,
            plugins,
            breaker,
            api_id: api.api_id.into(),
            name: api.name.into(),
            protocol: api.req_protocol,
            auth: api.auth,
            target,
            serving: default,
            policies,
            req_params: api
                .req_params
                .into_iter()
                .filter(RequestParam::enforced)
                .collect(),
            cors: api.cors,
            rate_limit,
            all_envs,
            ip_acl: api.ip_acl.map(|a| {
                Box::new(Acl {
                    permit: a.permit,
                    ranges: a.ranges.into(),
                })
            }),
        });
    }
}

/// What answers the calls `backend` takes, with `params` added to them, for `api` (its
/// signature key signs them); `None` when the backend's host makes no valid authority.
fn serving(
    api: &PublishedApi,
    backend: &Backend,
    params: &[BackendParam],
    missing_before: &[&str],
    balancers: &mut ChannelBalancers,
) -> Option<Serving> {
    Some(match backend {
        Backend::Http(http) => {
            let Some(mut entry) = BackendEntry::new(http, balancers) else {
                tracing::warn!(api = %api.api_id, host = %http.host, "API with an unusable backend host skipped");
                return None;
            };
            entry.signing = api.backend_signing.as_ref().and_then(|s| {
                let signer = BackendSigner::new(s);
                if signer.is_none() {
                    tracing::warn!(api = %api.api_id, env = %api.env_name, "signature key unusable in a header; backend calls go unsigned");
                }
                signer.map(Box::new)
            });
            entry.params = params.into();
            Serving::Proxy(entry)
        }
        Backend::Mock(mock) => Serving::Mock(Bytes::from(mock.content.clone())),
        Backend::Missing { reason } => {
            if missing_before.contains(&reason.as_str()) {
                tracing::debug!(api = %api.api_id, env = %api.env_name, %reason, "API still without a backend in this environment");
            } else {
                tracing::warn!(api = %api.api_id, env = %api.env_name, %reason, "API without a backend in this environment: its calls answer 500 APIG.0103");
            }
            Serving::Missing(reason.as_str().into())
        }
    })
}

/// Where a `Host` leads: the group serving it, and whether plain HTTP requests for it are
/// redirected to HTTPS (a bound name's `is_http_redirect_to_https`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HostRoute {
    pub group: u32,
    pub redirect_to_https: bool,
    /// The HTTPS port the redirect names (none: 443).
    pub https_port: Option<u16>,
    /// Served on the plain listener.
    pub on_http: bool,
    /// Served on the HTTPS listener.
    pub on_https: bool,
    /// Served only on TLS connections whose client certificate this CA set verified.
    pub client_ca: Option<ClientCaFingerprint>,
    /// The host is no name the instance knows (an IP address, say): the DEFAULT group took it.
    pub fallback: bool,
}

impl HostRoute {
    fn group(group: u32) -> Self {
        Self {
            group,
            redirect_to_https: false,
            https_port: None,
            on_http: true,
            on_https: true,
            client_ca: None,
            fallback: false,
        }
    }

    /// Whether this name is served on the listener a request came in on.
    pub fn served(&self, tls: bool) -> bool {
        if tls {
            self.on_https
        } else {
            self.on_http
        }
    }
}

impl Snapshot {
    /// Where `host` (a `Host` header value) leads: a bound name, a wildcard binding, an open
    /// group subdomain, or the DEFAULT group for anything else (IP literals included); a
    /// closed subdomain leads nowhere.
    pub(crate) fn host_route(&self, host: &str) -> Option<HostRoute> {
        let host = host_only(host.trim());
        let found = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            self.lookup_host(&host.to_ascii_lowercase())
        } else {
            self.lookup_host(host)
        };
        match found {
            HostLookup::Route(route) => Some(route),
            HostLookup::ClosedSubdomain => None,
            HostLookup::Unknown => self.routing.default_group.map(|g| HostRoute {
                fallback: true,
                ..HostRoute::group(g)
            }),
        }
    }

    /// The groups other than the DEFAULT one, in the order they were indexed (the server
    /// gives them in the order of their ids; `app_route` looks for a call by IP address among
    /// them).
    pub(crate) fn other_groups(&self) -> impl Iterator<Item = u32> + '_ {
        let default = self.routing.default_group;
        (0..self.routing.groups.len() as u32).filter(move |&g| Some(g) != default)
    }

    fn lookup_host(&self, host: &str) -> HostLookup {
        let routing = &*self.routing;
        if let Some(&route) = routing.hosts.get(host) {
            return HostLookup::Route(route);
        }
        if let Some(group_id) = host.strip_suffix(&*routing.group_suffix) {
            if let Some(&g) = routing.group_ids.get(group_id) {
                return if routing.groups[g as usize].subdomain_open {
                    HostLookup::Route(HostRoute::group(g))
                } else {
                    HostLookup::ClosedSubdomain
                };
            }
        }
        // Most instances bind no wildcard: no second lookup for them.
        if routing.wildcards.is_empty() {
            return HostLookup::Unknown;
        }
        host.split_once('.')
            .and_then(|(_, parent)| routing.wildcards.get(parent).copied())
            .map_or(HostLookup::Unknown, HostLookup::Route)
    }

    /// Routes a request: the API of `group` published in `env` for `method` and `path` that
    /// a call over `transport` may reach.
    pub(crate) fn route<'s, 'r>(
        &'s self,
        group: u32,
        env: &str,
        method: &Method,
        path: &'r str,
        transport: Transport,
    ) -> Option<RouteMatch<'s, 'r>> {
        let routing = &*self.routing;
        let table = routing.groups.get(group as usize)?.envs.get(env)?;
        table.find(method, path, |api| {
            routing.apis[api as usize].protocol.serves(transport)
        })
    }

    /// The default gateway response of group `group`, if it changes some answer.
    pub(crate) fn group_responses(&self, group: u32) -> Option<&ErrorResponses> {
        self.routing
            .groups
            .get(group as usize)?
            .responses
            .as_deref()
    }

    pub(crate) fn api(&self, idx: ApiIdx) -> &ApiEntry {
        &self.routing.apis[idx as usize]
    }

    pub(crate) fn app_by_key(&self, app_key: &str) -> Option<&AppEntry> {
        self.apps.by_key(app_key)
    }

    /// The app with this id, as the index shares the entry (what a connection keeps to tell
    /// later whether the app changed since).
    pub(crate) fn shared_app_by_id(&self, app_id: &str) -> Option<&Arc<AppEntry>> {
        self.apps.by_id(app_id)
    }

    pub(crate) fn app_by_code_hash(&self, hash: &[u8; 32]) -> Option<&AppEntry> {
        self.apps.by_code_hash(hash)
    }

    /// The gateway features the instance turned on.
    pub(crate) fn features(&self) -> &InstanceFeatures {
        &self.features
    }

    /// The calls of the current windows of every throttling binding whose windows are long
    /// enough to checkpoint, at `now` (Unix milliseconds); a shared policy's counters once.
    pub(crate) fn throttle_counts(&self, now: i64) -> Vec<ThrottleCount> {
        let mut seen = HashSet::new();
        let mut counts = Vec::new();
        for limiter in self.limiters() {
            if seen.insert(limiter.counters().key()) {
                limiter.checkpoint(now, &mut counts);
            }
        }
        counts
    }

    /// Adds checkpointed counts to the counters of the bindings they belong to, where the
    /// window is still the current one at `now`; how many were taken.
    pub(crate) fn restore_throttle_counts(&self, counts: &[ThrottleCount], now: i64) -> usize {
        let mut by_binding: HashMap<&str, &RateLimiter> = HashMap::new();
        for limiter in self.limiters() {
            by_binding
                .entry(limiter.counters().key())
                .or_insert(limiter);
        }
        counts
            .iter()
            .filter(|c| {
                let limiter = by_binding.get(c.binding.as_str());
                limiter.is_some_and(|l| l.restore(c, now))
            })
            .count()
    }

    fn limiters(&self) -> impl Iterator<Item = &RateLimiter> {
        self.routing
            .apis
            .iter()
            .filter_map(|a| a.rate_limit.as_deref())
    }

    /// This snapshot with other gateway features; everything else shared.
    pub(crate) fn with_features(&self, features: InstanceFeatures) -> Snapshot {
        Snapshot {
            routing: Arc::clone(&self.routing),
            apps: self.apps.clone(),
            quotas: Arc::clone(&self.quotas),
            usage: Arc::clone(&self.usage),
            features,
        }
    }

    /// The app id owning the AppCode with this hash (as [`AppCodeHasher`](crate::AppCodeHasher)
    /// computes it).
    pub fn app_id_for_code_hash(&self, hash: &[u8; 32]) -> Option<&str> {
        self.app_by_code_hash(hash).map(|a| &*a.app_id)
    }

    /// The app id owning this AppKey.
    pub fn app_id_for_key(&self, app_key: &str) -> Option<&str> {
        self.app_by_key(app_key).map(|a| &*a.app_id)
    }

    /// How much the snapshot holds.
    pub fn stats(&self) -> SnapshotStats {
        let (apps, app_codes) = self.apps.len();
        SnapshotStats {
            groups: self.routing.groups.len(),
            apis: self.routing.apis.len(),
            apps,
            app_codes,
        }
    }
}

/// Shows sizes only: the snapshot holds secrets.
impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Snapshot").field(&self.stats()).finish()
    }
}

impl BackendEntry {
    /// The prepared form of `b`; `None` if its host makes no valid authority. A channel's
    /// backend gets its channel's balancer from `balancers` (built on first use).
    pub(crate) fn new(b: &HttpBackend, balancers: &mut ChannelBalancers) -> Option<Self> {
        let scheme = if b.https { Scheme::HTTPS } else { Scheme::HTTP };
        let (target, host_header) = match &b.channel {
            None => {
                let endpoint = Endpoint::new(scheme.clone(), &b.host, b.port, None)?;
                let default_port = if b.https { 443 } else { 80 };
                let authority = &endpoint.authority;
                let host_header = if b.port == default_port {
                    HeaderValue::from_str(authority.host()).ok()?
                } else {
                    HeaderValue::from_str(authority.as_str()).ok()?
                };
                (Target::Fixed(endpoint), Some(host_header))
            }
            Some(target) => {
                let proxy_host = target.proxy_host.as_deref();
                let host_header = match proxy_host {
                    Some(h) => Some(HeaderValue::from_str(h).ok()?),
                    None => None,
                };
                // The TLS server name: the proxy host without its port.
                let tls_name = proxy_host.map(host_only);
                let balancer = balancers.balancer(&target.channel, &scheme, tls_name);
                (Target::Channel(balancer), host_header)
            }
        };
        let path = if b.path.starts_with('/') {
            b.path.clone()
        } else {
            format!("/{}", b.path)
        };
        Some(Self {
            target,
            host_header,
            method: b.method.clone(),
            path: path.into(),
            timeout: b.timeout,
            retries: b.retries,
            grpc: b.grpc,
            signing: None,
            params: Box::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AppCredential, GroupConfig, GroupDomain, MatchMode};

    /// A call over the TLS listener, HTTP/1.1.
    const TLS: Transport = Transport {
        tls: true,
        http2: false,
    };
    use crate::quota::QuotaCall;
    use std::net::IpAddr;

    fn api(id: &str, group: &str, env: &str, uri: &str, protocol: Protocol) -> PublishedApi {
        PublishedApi {
            api_id: id.into(),
            name: id.into(),
            group_id: group.into(),
            env_id: format!("{env}-id"),
            env_name: env.into(),
            req_protocol: protocol,
            req_method: ReqMethod::Any,
            req_uri: uri.into(),
            match_mode: MatchMode::Normal,
            auth: ApiAuth::None,
            backend: Backend::Http(HttpBackend {
                https: false,
                grpc: false,
                host: "127.0.0.1".into(),
                port: 80,
                method: ReqMethod::Any,
                path: "/".into(),
                timeout: Duration::from_secs(1),
                retries: Default::default(),
                channel: None,
            }),
            req_params: vec![],
            backend_params: vec![],
            policies: vec![],
            cors: false,
            throttle: None,
            ip_acl: None,
            backend_signing: None,
            responses: None,
            plugins: Default::default(),
        }
    }

    fn group(id: &str, default: bool, domains: &[&str]) -> GroupConfig {
        GroupConfig {
            id: id.into(),
            name: id.into(),
            is_default: default,
            subdomain_open: true,
            domains: domains.iter().map(|&d| d.into()).collect(),
            responses: None,
        }
    }

    #[test]
    fn hosts_select_groups_and_everything_else_the_default() {
        let config = GatewayConfig {
            groups: vec![
                group("dflt", true, &[]),
                group("g1", false, &["API.example.com"]),
            ],
            ..Default::default()
        };
        let s = Snapshot::build(config, "apigw.local", None);
        let group_for_host = |s: &Snapshot, host: &str| s.host_route(host).map(|r| r.group);
        assert_eq!(group_for_host(&s, "api.example.com"), Some(1));
        assert_eq!(group_for_host(&s, "Api.Example.com:8443"), Some(1));
        assert_eq!(group_for_host(&s, "g1.apigw.local"), Some(1));
        assert_eq!(group_for_host(&s, "G1.APIGW.LOCAL:80"), Some(1));
        assert_eq!(group_for_host(&s, "dflt.apigw.local"), Some(0));
        assert_eq!(group_for_host(&s, "127.0.0.1:8080"), Some(0));
        assert_eq!(group_for_host(&s, "[::1]:8080"), Some(0));
        assert_eq!(group_for_host(&s, "other.example.com"), Some(0));
        assert_eq!(group_for_host(&s, "x.g1.apigw.local"), Some(0));

        // A closed subdomain leads nowhere (not to the DEFAULT group); bound names still lead.
        let mut config = GatewayConfig {
            groups: vec![
                group("dflt", true, &[]),
                group("g1", false, &["API.example.com"]),
            ],
            ..Default::default()
        };
        config.groups[1].subdomain_open = false;
        let s = Snapshot::build(config, "apigw.local", None);
        assert_eq!(group_for_host(&s, "g1.apigw.local"), None);
        assert_eq!(group_for_host(&s, "api.example.com"), Some(1));
        assert_eq!(group_for_host(&s, "dflt.apigw.local"), Some(0));

        let s = Snapshot::build(
            GatewayConfig {
                groups: vec![group("g1", false, &[])],
                ..Default::default()
            },
            "apigw.local",
            None,
        );
        assert_eq!(group_for_host(&s, "127.0.0.1"), None);
    }

    #[test]
    fn wildcard_names_route_one_label_deeper_and_exact_names_win() {
        let mut config = GatewayConfig {
            groups: vec![
                group("dflt", true, &[]),
                group("wild", false, &["*.Example.com"]),
                group("exact", false, &[]),
            ],
            ..Default::default()
        };
        config.groups[2].domains.push(GroupDomain {
            name: "secure.example.com".into(),
            redirect_to_https: true,
            https_port: Some(8443),
            on_http: true,
            on_https: true,
            client_ca: None,
        });
        config.groups[2].domains.push(GroupDomain {
            name: "tls-only.example.com".into(),
            on_http: false,
            ..GroupDomain::from("x")
        });
        let s = Snapshot::build(config, "apigw.local", None);
        let route = |host: &str| s.host_route(host).unwrap();
        assert_eq!(route("a.example.com").group, 1);
        assert_eq!(route("B.EXAMPLE.COM:8080").group, 1);
        assert!(!route("a.example.com").redirect_to_https);
        assert_eq!(route("secure.example.com").group, 2);
        assert!(route("secure.example.com").redirect_to_https);
        assert_eq!(route("secure.example.com").https_port, Some(8443));
        assert_eq!(route("a.example.com").https_port, None);
        assert!(route("a.example.com").served(false) && route("a.example.com").served(true));
        assert!(!route("tls-only.example.com").served(false));
        assert!(route("tls-only.example.com").served(true));
        // Not the parent itself, nor two labels deeper.
        assert_eq!(route("example.com").group, 0);
        assert_eq!(route("a.b.example.com").group, 0);
        assert_eq!(route("127.0.0.1").group, 0);
    }

    #[test]
    fn routes_by_env_and_protocol_and_skips_bad_entries() {
        let config = GatewayConfig {
            groups: vec![group("g", true, &[])],
            apis: vec![
                api("a", "g", "RELEASE", "/a", Protocol::Https),
                api("b", "g", "TEST", "/a", Protocol::Both),
                api("c", "g", "RELEASE", "/c", Protocol::Http),
                api("d", "missing", "RELEASE", "/d", Protocol::Both),
                api("e", "g", "RELEASE", "/a", Protocol::Both),
                api("f", "g", "RELEASE", "/f", Protocol::Grpcs),
            ],
            ..Default::default()
        };
        let s = Snapshot::build(config, "apigw.local", None);
        assert_eq!(s.stats().apis, 4);
        let over = |transport: Transport, env: &str, path: &str| {
            s.route(0, env, &Method::GET, path, transport)
                .map(|m| &*s.api(m.api).api_id)
        };
        let r = |env: &str, path: &str, tls: bool| over(Transport { tls, http2: false }, env, path);
        // A gRPC API: HTTP/2 over TLS only.
        assert_eq!(
            over(
                Transport {
                    tls: true,
                    http2: true
                },
                "RELEASE",
                "/f"
            ),
            Some("f")
        );
        assert_eq!(
            over(
                Transport {
                    tls: false,
                    http2: true
                },
                "RELEASE",
                "/f"
            ),
            None
        );
        assert_eq!(r("RELEASE", "/f", true), None);
        assert_eq!(r("RELEASE", "/a", true), Some("a"));
        assert_eq!(r("RELEASE", "/a", false), None);
        assert_eq!(r("TEST", "/a", false), Some("b"));
        assert_eq!(r("RELEASE", "/c", false), Some("c"));
        assert_eq!(r("RELEASE", "/c", true), None);
        assert_eq!(r("NOPE", "/a", true), None);
    }

    #[test]
    fn apps_are_found_by_key_and_code_and_quota_counters_survive_rebuilds() {
        let app = |id: &str, code: u8| AppCredential {
            app_id: id.into(),
            app_name: format!("name-{id}"),
            app_key: format!("key-{id}"),
            app_secret: "s".into(),
            app_code_hashes: vec![[code; 32]],
        };
        let quota = |quota_id: &str, limit| crate::config::AppQuota {
            app_id: "x".into(),
            quota_id: quota_id.into(),
            limit: QuotaLimit {
                call_limit: limit,
                interval: Duration::from_secs(60),
                reset_at_ms: None,
            },
        };
        let config = |quota| GatewayConfig {
            apps: vec![app("x", 1), app("y", 2)],
            quotas: vec![quota],
            ..Default::default()
        };
        let calls = |snapshot: &Snapshot| {
            let counter = snapshot.apps.by_id("x").unwrap().quota.clone().unwrap();
            counter.acquire(crate::quota::wall_ms())
        };
        let first = Snapshot::build(config(quota("q1", 1)), "d", None);
        assert_eq!(first.app_id_for_key("key-y"), Some("y"));
        assert_eq!(first.app_id_for_code_hash(&[1; 32]), Some("x"));
        assert_eq!(first.app_id_for_code_hash(&[3; 32]), None);
        assert_eq!(calls(&first), QuotaCall::Allowed(0));
        // Same quota: the counter carries over.
        let second = Snapshot::build(config(quota("q1", 1)), "d", Some(&first));
        assert_eq!(calls(&second), QuotaCall::UsedUp);
        // Same quota with a higher limit: the call made still counts.
        let third = Snapshot::build(config(quota("q1", 2)), "d", Some(&second));
        assert_eq!(calls(&third), QuotaCall::Allowed(0));
        // Another quota: a fresh counter.
        let fourth = Snapshot::build(config(quota("q2", 2)), "d", Some(&third));
        assert_eq!(calls(&fourth), QuotaCall::Allowed(1));
    }

    #[test]
    fn a_quota_change_reaches_every_bound_app_in_place() {
        let limit = |call_limit| QuotaLimit {
            call_limit,
            interval: Duration::from_secs(3600),
            reset_at_ms: None,
        };
        let ids: Vec<String> = (0..1000).map(|i| format!("app{i}")).collect();
        let config = GatewayConfig {
            apps: ids.iter().map(|id| credential(id)).collect(),
            quotas: ids
                .iter()
                .map(|id| AppQuota {
                    app_id: id.clone(),
                    quota_id: "shared".into(),
                    limit: limit(1),
                })
                .collect(),
            ..Default::default()
        };
        let first = Snapshot::build(config, "d", None);
        let counter = |s: &Snapshot, id: &str| s.apps.by_id(id).unwrap().quota.clone().unwrap();
        let now = crate::quota::wall_ms();
        assert_eq!(counter(&first, "app0").acquire(now), QuotaCall::Allowed(0));
        // A patch of one app keeps the shared policy (and that app's counter).
        let mut update = AppUpdate {
            credential: credential("app1"),
            auths: vec![],
            acl: None,
            quota: Some(AppQuota {
                app_id: "app1".into(),
                quota_id: "shared".into(),
                limit: limit(1),
            }),
        };
        let patched = first.patched(vec![AppPatch::Upsert(update.clone())]);
        assert_eq!(
            counter(&patched, "app1").acquire(now),
            QuotaCall::Allowed(0)
        );
        assert!(patched.set_quota("shared", Some(&limit(3))));
        for id in &ids {
            let expected = if id == "app0" || id == "app1" { 1 } else { 2 };
            assert_eq!(
                counter(&patched, id).acquire(now),
                QuotaCall::Allowed(expected),
                "{id}"
            );
        }
        assert!(patched.set_quota("shared", None));
        assert_eq!(counter(&patched, "app7").acquire(now), QuotaCall::Unlimited);
        assert!(!patched.set_quota("unknown", None));
        // Bound to a new quota by a patch: its own policy.
        update.quota.as_mut().unwrap().quota_id = "other".into();
        let repatched = patched.patched(vec![AppPatch::Upsert(update)]);
        assert_eq!(
            counter(&repatched, "app1").acquire(now),
            QuotaCall::Allowed(0)
        );
        assert_eq!(counter(&repatched, "app1").acquire(now), QuotaCall::UsedUp);
        assert!(repatched.set_quota("other", None));
        assert_eq!(
            counter(&repatched, "app1").acquire(now),
            QuotaCall::Unlimited
        );
    }

    #[test]
    fn acl_permit_and_deny() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let ranges: Box<[_]> = vec![(ip("10.0.0.0"), ip("10.0.0.255"))].into();
        let permit = Acl {
            permit: true,
            ranges: ranges.clone(),
        };
        let deny = Acl {
            permit: false,
            ranges,
        };
        assert!(permit.allows(ip("10.0.0.7")));
        assert!(permit.allows(ip("::ffff:10.0.0.7")));
        assert!(!permit.allows(ip("10.0.1.7")));
        assert!(!permit.allows(ip("::1")));
        assert!(!deny.allows(ip("10.0.0.7")));
        assert!(deny.allows(ip("127.0.0.1")));
    }

    // Patches.

    fn cred(id: &str, key: &str, codes: &[u8]) -> AppCredential {
        AppCredential {
            app_id: id.into(),
            app_name: format!("name-{id}"),
            app_key: key.into(),
            app_secret: format!("secret-{key}"),
            app_code_hashes: codes.iter().map(|&c| [c; 32]).collect(),
        }
    }

    fn update(id: &str, key: &str, codes: &[u8], apis: &[&str]) -> AppPatch {
        AppPatch::Upsert(AppUpdate {
            credential: cred(id, key, codes),
            auths: apis
                .iter()
                .map(|a| (a.to_string(), "RELEASE-id".to_string()))
                .collect(),
            acl: None,
            quota: None,
        })
    }

    fn quota(limit: u64) -> AppQuota {
        AppQuota {
            app_id: "ignored".into(),
            quota_id: "q".into(),
            limit: QuotaLimit {
                call_limit: limit,
                interval: Duration::from_secs(60),
                reset_at_ms: None,
            },
        }
    }

    fn credential(id: &str) -> AppCredential {
        cred(id, &format!("key-{id}"), &[])
    }

    /// Two APIs (`a` at /a, `b` at /b) and apps x (code 1, API a) and y (code 2).
    fn base() -> Snapshot {
        let config = GatewayConfig {
            groups: vec![group("g", true, &[])],
            apis: vec![
                api("a", "g", "RELEASE", "/a", Protocol::Both),
                api("b", "g", "RELEASE", "/b", Protocol::Both),
            ],
            apps: vec![cred("x", "kx", &[1]), cred("y", "ky", &[2])],
            auths: vec![("x".into(), "a".into(), "RELEASE-id".into())],
            ..Default::default()
        };
        Snapshot::build(config, "d", None)
    }

    /// Whether `app_id` may call the API at `path`.
    fn may(s: &Snapshot, app_id: &str, path: &str) -> bool {
        let api = s.route(0, "RELEASE", &Method::GET, path, TLS).unwrap().api;
        s.apps
            .by_id(app_id)
            .is_some_and(|app| app.may_call(&s.api(api).target))
    }

    #[test]
    fn upsert_adds_an_unknown_app() {
        let s = base().patched(vec![update("z", "kz", &[3, 4], &["b"])]);
        assert_eq!(s.app_id_for_key("kz"), Some("z"));
        assert_eq!(s.app_id_for_code_hash(&[3; 32]), Some("z"));
        assert_eq!(s.app_id_for_code_hash(&[4; 32]), Some("z"));
        assert!(may(&s, "z", "/b") && !may(&s, "z", "/a"));
        assert_eq!(s.app_id_for_key("kx"), Some("x"));
        assert_eq!(s.stats().apps, 3);
        assert_eq!(s.stats().app_codes, 4);
    }

    #[test]
    fn upsert_replaces_key_and_codes() {
        let old = base();
        let s = old.patched(vec![update("x", "kx2", &[5], &["a"])]);
        assert_eq!(s.app_id_for_key("kx"), None);
        assert_eq!(s.app_id_for_code_hash(&[1; 32]), None);
        assert_eq!(s.app_id_for_key("kx2"), Some("x"));
        assert_eq!(s.app_id_for_code_hash(&[5; 32]), Some("x"));
        assert_eq!(
            s.app_by_key("kx2").unwrap().signing_key.sign(b"m"),
            apigw_signing::sign_string(b"secret-kx2", "m")
        );
        assert_eq!((s.stats().apps, s.stats().app_codes), (2, 2));
        // The version a request in flight holds is unchanged.
        assert_eq!(old.app_id_for_key("kx"), Some("x"));
        assert_eq!(old.app_id_for_code_hash(&[1; 32]), Some("x"));
        assert_eq!(old.app_id_for_key("kx2"), None);
    }

    #[test]
    fn upsert_replaces_authorizations_acl_and_quota() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let s = base().patched(vec![AppPatch::Upsert(AppUpdate {
            credential: cred("x", "kx", &[1]),
            auths: vec![("b".into(), "RELEASE-id".into())],
            acl: Some(AppAcl {
                app_id: "ignored".into(),
                permit: true,
                ranges: vec![(ip("10.0.0.1"), ip("10.0.0.1"))],
            }),
            quota: Some(quota(1)),
        })]);
        assert!(!may(&s, "x", "/a") && may(&s, "x", "/b"));
        let x = s.apps.by_id("x").unwrap();
        assert!(x.acl.as_ref().unwrap().allows(ip("10.0.0.1")));
        assert!(!x.acl.as_ref().unwrap().allows(ip("10.0.0.2")));
        assert!(x.quota.as_ref().unwrap().acquire(0).is_allowed());
        assert!(x.quota.as_ref().unwrap().acquire(0).is_used_up());
        // And back to nothing.
        let s = s.patched(vec![update("x", "kx", &[1], &[])]);
        let x = s.apps.by_id("x").unwrap();
        assert!(!may(&s, "x", "/a") && !may(&s, "x", "/b"));
        assert!(x.acl.is_none() && x.quota.is_none());
    }

    #[test]
    fn remove_and_remove_unknown() {
        let s = base().patched(vec![AppPatch::Remove("x".into())]);
        assert_eq!(s.app_id_for_key("kx"), None);
        assert_eq!(s.app_id_for_code_hash(&[1; 32]), None);
        assert!(s.apps.by_id("x").is_none());
        assert_eq!((s.stats().apps, s.stats().app_codes), (1, 1));
        let t = s.patched(vec![AppPatch::Remove("nope".into())]);
        assert_eq!(t.stats(), s.stats());
        assert_eq!(t.app_id_for_key("ky"), Some("y"));
    }

    #[test]
    fn the_last_patch_of_an_app_wins_and_keys_may_move_within_a_batch() {
        let s = base().patched(vec![
            update("z", "kz", &[3], &[]),
            AppPatch::Remove("z".into()),
            AppPatch::Remove("y".into()),
            update("y", "ky2", &[2], &[]),
            // x takes y's old key in the same batch.
            update("x", "ky", &[1], &[]),
        ]);
        assert!(s.apps.by_id("z").is_none());
        assert_eq!(s.app_id_for_key("ky2"), Some("y"));
        assert_eq!(s.app_id_for_key("ky"), Some("x"));
        assert_eq!(s.app_id_for_key("kx"), None);
        assert_eq!(s.stats().apps, 2);
    }

    #[test]
    fn an_upsert_taking_another_apps_key_is_refused_and_fails_closed() {
        let s = base().patched(vec![update("x", "ky", &[7], &["a"])]);
        assert_eq!(s.app_id_for_key("ky"), Some("y"));
        assert!(s.apps.by_id("x").is_none());
        assert_eq!(s.app_id_for_key("kx"), None);
        assert_eq!(s.app_id_for_code_hash(&[1; 32]), None);
        assert_eq!(s.app_id_for_code_hash(&[7; 32]), None);
    }

    #[test]
    fn a_code_hash_taken_over_is_not_lost_when_the_old_owner_leaves() {
        let s = base().patched(vec![update("z", "kz", &[1], &[])]);
        assert_eq!(s.app_id_for_code_hash(&[1; 32]), Some("z"));
        let s = s.patched(vec![AppPatch::Remove("x".into())]);
        assert_eq!(s.app_id_for_code_hash(&[1; 32]), Some("z"));
    }

    #[test]
    fn patch_after_replace_and_replace_after_patch() {
        let first = base();
        let patched = first.patched(vec![update("z", "kz", &[3], &["a", "b"])]);
        // A full rebuild replaces everything the patch did.
        let config = GatewayConfig {
            groups: vec![group("g", true, &[])],
            apis: vec![
                // The APIs move around in the list: authorizations follow the ids.
                api("b", "g", "RELEASE", "/b", Protocol::Both),
                api("a", "g", "RELEASE", "/a", Protocol::Both),
            ],
            apps: vec![cred("x", "kx", &[1])],
            auths: vec![("x".into(), "b".into(), "RELEASE-id".into())],
            ..Default::default()
        };
        let rebuilt = Snapshot::build(config, "d", Some(&patched));
        assert!(rebuilt.apps.by_id("z").is_none() && rebuilt.apps.by_id("y").is_none());
        assert!(may(&rebuilt, "x", "/b") && !may(&rebuilt, "x", "/a"));
        // A patch after the rebuild resolves authorizations against the new API list.
        let again = rebuilt.patched(vec![update("z", "kz", &[3], &["a"])]);
        assert!(may(&again, "z", "/a") && !may(&again, "z", "/b"));
        assert!(may(&again, "x", "/b"));
        assert!(Arc::ptr_eq(&again.routing, &rebuilt.routing));
    }

    #[test]
    fn rerouting_keeps_apps_and_their_authorizations() {
        let config = GatewayConfig {
            groups: vec![group("g", true, &[])],
            apis: vec![api("a", "g", "RELEASE", "/a", Protocol::Both)],
            apps: vec![cred("x", "kx", &[1])],
            auths: vec![
                ("x".into(), "a".into(), "RELEASE-id".into()),
                ("x".into(), "b".into(), "RELEASE-id".into()),
            ],
            ..Default::default()
        };
        let first = Snapshot::build(config, "d", None);
        assert!(may(&first, "x", "/a"));
        // Publish `b` and take `a` offline: only routes change.
        let rerouted = first.rerouted(
            vec![group("g", true, &[])],
            vec![api("b", "g", "RELEASE", "/b", Protocol::Both)],
            "d",
        );
        assert!(
            may(&rerouted, "x", "/b"),
            "authorized before b was published"
        );
        assert!(
            rerouted
                .route(0, "RELEASE", &Method::GET, "/a", TLS)
                .is_none(),
            "a is no longer routed"
        );
        assert!(Arc::ptr_eq(
            rerouted.apps.by_id("x").unwrap(),
            first.apps.by_id("x").unwrap()
        ));
        // A later patch resolves against the new routes.
        let patched = rerouted.patched(vec![update("z", "kz", &[3], &["b"])]);
        assert!(may(&patched, "z", "/b"));
    }

    #[test]
    fn quota_counters_survive_upserts_with_the_same_quota() {
        let with_quota = |limit| {
            AppPatch::Upsert(AppUpdate {
                credential: cred("x", "kx", &[1]),
                auths: vec![],
                acl: None,
                quota: Some(quota(limit)),
            })
        };
        let s = base().patched(vec![with_quota(1)]);
        assert!(s
            .apps
            .by_id("x")
            .unwrap()
            .quota
            .as_ref()
            .unwrap()
            .acquire(0)
            .is_allowed());
        let same = s.patched(vec![with_quota(1)]);
        assert!(same
            .apps
            .by_id("x")
            .unwrap()
            .quota
            .as_ref()
            .unwrap()
            .acquire(1)
            .is_used_up());
        let changed = same.patched(vec![with_quota(2)]);
        assert!(changed
            .apps
            .by_id("x")
            .unwrap()
            .quota
            .as_ref()
            .unwrap()
            .acquire(1)
            .is_allowed());
        // A removed app starts afresh.
        let removed = s.patched(vec![AppPatch::Remove("x".into())]);
        let back = removed.patched(vec![with_quota(1)]);
        assert!(back
            .apps
            .by_id("x")
            .unwrap()
            .quota
            .as_ref()
            .unwrap()
            .acquire(1)
            .is_allowed());
    }

    #[test]
    fn a_patch_shares_what_it_does_not_touch() {
        let s = base();
        let t = s.patched(vec![update("x", "kx2", &[9], &[])]);
        assert!(Arc::ptr_eq(&s.routing, &t.routing));
        assert!(Arc::ptr_eq(
            s.apps.by_id("y").unwrap(),
            t.apps.by_id("y").unwrap()
        ));
    }

    #[test]
    fn a_fingerprint_collision_never_authorizes() {
        let s = base();
        let a = &s
            .api(s.route(0, "RELEASE", &Method::GET, "/a", TLS).unwrap().api)
            .target;
        let forged = Arc::new(AuthTarget {
            fp: a.fp,
            api_id: "other".into(),
            env_id: a.env_id.clone(),
        });
        let entry = app_entry(
            cred("c", "kc", &[]),
            AppEntry::sorted_auths(vec![(a.fp, forged)]),
            None,
            None,
        );
        assert!(!entry.may_call(a));
        // The same ids in a different allocation do authorize.
        let copy = Arc::new(AuthTarget {
            fp: a.fp,
            api_id: a.api_id.clone(),
            env_id: a.env_id.clone(),
        });
        let entry = app_entry(
            cred("c", "kc", &[]),
            AppEntry::sorted_auths(vec![(a.fp, copy)]),
            None,
            None,
        );
        assert!(entry.may_call(a));
    }
}
