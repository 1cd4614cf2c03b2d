//! The immutable, indexed form of a [`GatewayConfig`]: what one request reads.
//!
//! Built once per configuration change (off the request path), then only read: host → group,
//! (group, environment name) → [`RouteTable`], API entries with their backend prepared, and app
//! entries found by AppKey or by AppCode hash. A request loads the current snapshot once and
//! borrows everything else from it, so a concurrent [`Gateway::replace`](crate::Gateway::replace)
//! never changes the view of a request in flight.

use crate::config::{
    ApiAuth, AppCredential, BackendParam, GatewayConfig, Protocol, PublishedApi, ReqMethod,
};
use crate::quota::QuotaCounter;
use crate::routes::{ApiIdx, RouteMatch, RouteTable};
use http::uri::{Authority, Scheme};
use http::{HeaderValue, Method};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Index of an app in the snapshot's app list.
pub(crate) type AppIdx = u32;

/// One configuration, indexed for the request path.
///
/// Exists so that every per-request lookup is a hash-map probe or a short scan over borrowed
/// data, and so that a configuration change is one pointer swap (the gateway holds it in an
/// `ArcSwap`).
pub struct Snapshot {
    hosts: HashMap<Box<str>, u32>,
    group_suffix: Box<str>,
    group_ids: HashMap<Box<str>, u32>,
    default_group: Option<u32>,
    groups: Vec<GroupRoutes>,
    apis: Vec<ApiEntry>,
    apps: Vec<AppEntry>,
    apps_by_key: HashMap<Box<str>, AppIdx>,
    apps_by_code_hash: HashMap<CodeHash, AppIdx, BuildHasherDefault<CodeHashHasher>>,
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
    envs: HashMap<Box<str>, RouteTable>,
}

/// A published API, ready to proxy.
#[derive(Debug)]
pub(crate) struct ApiEntry {
    pub api_id: Box<str>,
    pub name: Box<str>,
    pub protocol: Protocol,
    pub auth: ApiAuth,
    pub backend: BackendEntry,
    pub params: Box<[BackendParam]>,
}

/// A backend with its URI parts parsed once.
#[derive(Debug)]
pub(crate) struct BackendEntry {
    pub scheme: Scheme,
    pub authority: Authority,
    pub host_header: HeaderValue,
    pub method: ReqMethod,
    pub path: Box<str>,
    pub timeout: Duration,
}

/// An app as authentication and the later phases need it. Kept small (it exists once per
/// app, possibly a million times): the AppKey lives only in `apps_by_key`, rare parts are boxed.
pub(crate) struct AppEntry {
    pub app_id: Box<str>,
    pub secret: Box<[u8]>,
    /// Sorted indices of the APIs (per environment) the app may call.
    pub authorized: Box<[ApiIdx]>,
    pub acl: Option<Box<Acl>>,
    pub quota: Option<Arc<QuotaCounter>>,
}

impl AppEntry {
    pub fn may_call(&self, api: ApiIdx) -> bool {
        self.authorized.binary_search(&api).is_ok()
    }
}

/// An app's client-IP control, matched against the peer address.
#[derive(Debug)]
pub(crate) struct Acl {
    permit: bool,
    ranges: Box<[(IpAddr, IpAddr)]>,
}

impl Acl {
    /// Whether a call from `ip` is allowed (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        let listed = self.ranges.iter().any(|&(start, end)| {
            start.is_ipv4() == ip.is_ipv4()
                && start.is_ipv4() == end.is_ipv4()
                && start <= ip
                && ip <= end
        });
        listed == self.permit
    }
}

/// An AppCode hash as a map key. HMAC outputs are uniformly distributed and an attacker
/// cannot steer them without the index key, so 8 of their bytes are already a good hash.
#[derive(Clone, Copy, PartialEq, Eq)]
struct CodeHash([u8; 32]);

impl Hash for CodeHash {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_ne_bytes(word));
    }
}

/// Passes [`CodeHash`]'s word through.
#[derive(Default)]
struct CodeHashHasher(u64);

impl Hasher for CodeHashHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, word: u64) {
        self.0 = word;
    }
}

/// The host part of a `Host` value, without port or IPv6 brackets.
fn host_only(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(h, _)| h);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
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
        } = config;

        let mut snapshot = Snapshot {
            hosts: HashMap::new(),
            group_suffix: format!(".{}", base_domain.trim_matches('.').to_ascii_lowercase()).into(),
            group_ids: HashMap::with_capacity(groups.len()),
            default_group: None,
            groups: Vec::with_capacity(groups.len()),
            apis: Vec::with_capacity(apis.len()),
            apps: Vec::with_capacity(apps.len()),
            apps_by_key: HashMap::with_capacity(apps.len()),
            apps_by_code_hash: HashMap::default(),
        };

        for group in groups {
            let idx = snapshot.groups.len() as u32;
            if snapshot
                .group_ids
                .insert(group.id.to_ascii_lowercase().into(), idx)
                .is_some()
            {
                tracing::warn!(group = %group.id, "duplicate group id; later definition wins for its subdomain");
            }
            if group.is_default && snapshot.default_group.is_none() {
                snapshot.default_group = Some(idx);
            }
            for domain in group.domains {
                let domain = host_only(domain.trim()).to_ascii_lowercase();
                if snapshot.hosts.insert(domain.clone().into(), idx).is_some() {
                    tracing::warn!(%domain, "domain bound to several groups; the last one wins");
                }
            }
            snapshot.groups.push(GroupRoutes::default());
        }

        // APIs, and (api_id, env_id) → index for the authorizations.
        let mut api_index: HashMap<(String, String), ApiIdx> = HashMap::with_capacity(apis.len());
        for api in apis {
            snapshot.add_api(api, &mut api_index);
        }
        for group in &mut snapshot.groups {
            for table in group.envs.values_mut() {
                table.finish();
            }
        }

        let mut authorized: HashMap<String, Vec<ApiIdx>> = HashMap::new();
        for (app_id, api_id, env_id) in auths {
            if let Some(&api) = api_index.get(&(api_id, env_id)) {
                authorized.entry(app_id).or_default().push(api);
            }
        }
        let mut acl_by_app: HashMap<String, Box<Acl>> = HashMap::new();
        for acl in acls {
            acl_by_app.entry(acl.app_id).or_insert_with(|| {
                Box::new(Acl {
                    permit: acl.permit,
                    ranges: acl.ranges.into(),
                })
            });
        }
        let previous_quotas: HashMap<&str, &Arc<QuotaCounter>> = previous
            .map(|p| {
                p.apps
                    .iter()
                    .filter_map(|a| Some((&*a.app_id, a.quota.as_ref()?)))
                    .collect()
            })
            .unwrap_or_default();
        let mut quota_by_app: HashMap<String, Arc<QuotaCounter>> = HashMap::new();
        for quota in quotas {
            let fresh = QuotaCounter::new(quota.call_limit, quota.interval);
            let counter = match previous_quotas.get(quota.app_id.as_str()) {
                Some(old) if old.same_terms(&fresh) => Arc::clone(old),
                _ => Arc::new(fresh),
            };
            quota_by_app.entry(quota.app_id).or_insert(counter);
        }

        let codes: usize = apps.iter().map(|a| a.app_code_hashes.len()).sum();
        snapshot.apps_by_code_hash.reserve(codes);
        for app in apps {
            let mut allowed = authorized.remove(&app.app_id).unwrap_or_default();
            allowed.sort_unstable();
            allowed.dedup();
            let acl = acl_by_app.remove(&app.app_id);
            let quota = quota_by_app.remove(&app.app_id);
            snapshot.add_app(app, allowed, acl, quota);
        }
        snapshot
    }

    fn add_api(&mut self, api: PublishedApi, index: &mut HashMap<(String, String), ApiIdx>) {
        let Some(&group) = self
            .group_ids
            .get(api.group_id.to_ascii_lowercase().as_str())
        else {
            tracing::warn!(api = %api.api_id, group = %api.group_id, "API of an unknown group skipped");
            return;
        };
        let Some(backend) = BackendEntry::new(&api) else {
            tracing::warn!(api = %api.api_id, host = %api.backend.host, "API with an unusable backend host skipped");
            return;
        };
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
        index.insert((api.api_id.clone(), api.env_id), idx);
        self.apis.push(ApiEntry {
            api_id: api.api_id.into(),
            name: api.name.into(),
            protocol: api.req_protocol,
            auth: api.auth,
            backend,
            params: api.backend_params.into(),
        });
    }

    fn add_app(
        &mut self,
        app: AppCredential,
        authorized: Vec<ApiIdx>,
        acl: Option<Box<Acl>>,
        quota: Option<Arc<QuotaCounter>>,
    ) {
        let idx = self.apps.len() as AppIdx;
        if self.apps_by_key.contains_key(app.app_key.as_str()) {
            tracing::warn!(app = %app.app_id, "duplicate AppKey; app skipped");
            return;
        }
        self.apps_by_key.insert(app.app_key.into_boxed_str(), idx);
        for hash in &app.app_code_hashes {
            if self
                .apps_by_code_hash
                .insert(CodeHash(*hash), idx)
                .is_some()
            {
                tracing::warn!(app = %app.app_id, "AppCode hash shared by two apps; the later app wins");
            }
        }
        self.apps.push(AppEntry {
            app_id: app.app_id.into(),
            secret: app.app_secret.into_bytes().into(),
            authorized: authorized.into(),
            acl,
            quota,
        });
    }

    /// The group serving `host` (a `Host` header value): a bound domain, a group subdomain, or
    /// the DEFAULT group for anything else (IP literals included).
    pub(crate) fn group_for_host(&self, host: &str) -> Option<u32> {
        let host = host_only(host.trim());
        let found = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            self.lookup_host(&host.to_ascii_lowercase())
        } else {
            self.lookup_host(host)
        };
        found.or(self.default_group)
    }

    fn lookup_host(&self, host: &str) -> Option<u32> {
        if let Some(&g) = self.hosts.get(host) {
            return Some(g);
        }
        let group_id = host.strip_suffix(&*self.group_suffix)?;
        self.group_ids.get(group_id).copied()
    }

    /// Routes a request: the API of `group` published in `env` for `method` and `path` that
    /// the listener (`tls` or not) may serve.
    pub(crate) fn route<'s, 'r>(
        &'s self,
        group: u32,
        env: &str,
        method: &Method,
        path: &'r str,
        tls: bool,
    ) -> Option<RouteMatch<'s, 'r>> {
        let table = self.groups.get(group as usize)?.envs.get(env)?;
        table.find(method, path, |api| {
            matches!(
                (self.apis[api as usize].protocol, tls),
                (Protocol::Both, _) | (Protocol::Https, true) | (Protocol::Http, false)
            )
        })
    }

    pub(crate) fn api(&self, idx: ApiIdx) -> &ApiEntry {
        &self.apis[idx as usize]
    }

    pub(crate) fn app(&self, idx: AppIdx) -> &AppEntry {
        &self.apps[idx as usize]
    }

    pub(crate) fn app_idx_by_key(&self, app_key: &str) -> Option<AppIdx> {
        self.apps_by_key.get(app_key).copied()
    }

    pub(crate) fn app_idx_by_code_hash(&self, hash: &[u8; 32]) -> Option<AppIdx> {
        self.apps_by_code_hash.get(&CodeHash(*hash)).copied()
    }

    /// The app id owning the AppCode with this hash (as [`AppCodeHasher`](crate::AppCodeHasher)
    /// computes it).
    pub fn app_id_for_code_hash(&self, hash: &[u8; 32]) -> Option<&str> {
        self.app_idx_by_code_hash(hash)
            .map(|i| &*self.app(i).app_id)
    }

    /// The app id owning this AppKey.
    pub fn app_id_for_key(&self, app_key: &str) -> Option<&str> {
        self.app_idx_by_key(app_key).map(|i| &*self.app(i).app_id)
    }

    /// How much the snapshot holds.
    pub fn stats(&self) -> SnapshotStats {
        SnapshotStats {
            groups: self.groups.len(),
            apis: self.apis.len(),
            apps: self.apps.len(),
            app_codes: self.apps_by_code_hash.len(),
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
    fn new(api: &PublishedApi) -> Option<Self> {
        let b = &api.backend;
        let host = b.host.trim();
        let authority = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{}", b.port)
        } else {
            format!("{host}:{}", b.port)
        };
        let authority: Authority = authority.parse().ok()?;
        if authority.host().is_empty() {
            return None;
        }
        let default_port = if b.https { 443 } else { 80 };
        let host_header = if b.port == default_port {
            HeaderValue::from_str(authority.host()).ok()?
        } else {
            HeaderValue::from_str(authority.as_str()).ok()?
        };
        let path = if b.path.starts_with('/') {
            b.path.clone()
        } else {
            format!("/{}", b.path)
        };
        Some(Self {
            scheme: if b.https { Scheme::HTTPS } else { Scheme::HTTP },
            authority,
            host_header,
            method: b.method.clone(),
            path: path.into(),
            timeout: b.timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Backend, GroupConfig, MatchMode};

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
            backend: Backend {
                https: false,
                host: "127.0.0.1".into(),
                port: 80,
                method: ReqMethod::Any,
                path: "/".into(),
                timeout: Duration::from_secs(1),
            },
            backend_params: vec![],
        }
    }

    fn group(id: &str, default: bool, domains: &[&str]) -> GroupConfig {
        GroupConfig {
            id: id.into(),
            name: id.into(),
            is_default: default,
            domains: domains.iter().map(|d| d.to_string()).collect(),
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
        assert_eq!(s.group_for_host("api.example.com"), Some(1));
        assert_eq!(s.group_for_host("Api.Example.com:8443"), Some(1));
        assert_eq!(s.group_for_host("g1.apigw.local"), Some(1));
        assert_eq!(s.group_for_host("G1.APIGW.LOCAL:80"), Some(1));
        assert_eq!(s.group_for_host("dflt.apigw.local"), Some(0));
        assert_eq!(s.group_for_host("127.0.0.1:8080"), Some(0));
        assert_eq!(s.group_for_host("[::1]:8080"), Some(0));
        assert_eq!(s.group_for_host("other.example.com"), Some(0));
        assert_eq!(s.group_for_host("x.g1.apigw.local"), Some(0));

        let s = Snapshot::build(
            GatewayConfig {
                groups: vec![group("g1", false, &[])],
                ..Default::default()
            },
            "apigw.local",
            None,
        );
        assert_eq!(s.group_for_host("127.0.0.1"), None);
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
            ],
            ..Default::default()
        };
        let s = Snapshot::build(config, "apigw.local", None);
        assert_eq!(s.stats().apis, 3);
        let r = |env: &str, path: &str, tls: bool| {
            s.route(0, env, &Method::GET, path, tls)
                .map(|m| &*s.api(m.api).api_id)
        };
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
            app_key: format!("key-{id}"),
            app_secret: "s".into(),
            app_code_hashes: vec![[code; 32]],
        };
        let quota = |limit| crate::config::AppQuota {
            app_id: "x".into(),
            call_limit: limit,
            interval: Duration::from_secs(60),
        };
        let config = |limit| GatewayConfig {
            apps: vec![app("x", 1), app("y", 2)],
            quotas: vec![quota(limit)],
            ..Default::default()
        };
        let first = Snapshot::build(config(1), "d", None);
        assert_eq!(first.app_id_for_key("key-y"), Some("y"));
        assert_eq!(first.app_id_for_code_hash(&[1; 32]), Some("x"));
        assert_eq!(first.app_id_for_code_hash(&[3; 32]), None);
        let counter = first.apps[0].quota.as_ref().unwrap();
        assert!(counter.try_acquire(0));
        let second = Snapshot::build(config(1), "d", Some(&first));
        assert!(!second.apps[0].quota.as_ref().unwrap().try_acquire(1));
        let third = Snapshot::build(config(2), "d", Some(&second));
        assert!(third.apps[0].quota.as_ref().unwrap().try_acquire(1));
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
}
