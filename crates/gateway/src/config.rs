//! The gateway's input: what the store layer hands over ([`GatewayConfig`]) and how this node
//! behaves ([`GatewaySettings`]).
//!
//! Everything here is plain owned data with no behaviour beyond small parsers, so the store can
//! fill it from any backend (SQLite, PostgreSQL) without knowing how the gateway indexes it. The
//! snapshot builder turns it into lookup tables once; the request path never sees these types.

pub use crate::app_token::TokenKey;
pub use crate::responses::ErrorResponses;
use crate::tls::ClientCaFingerprint;
use apigw_signing::SigningKey;
use http::{HeaderName, Method};
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Everything the data plane serves, as one value: published APIs with their groups, apps with
/// their credentials, authorizations, ACLs and quotas.
///
/// Exists as a single owned value so that a configuration change is one atomic replacement
/// ([`Gateway::replace`](crate::Gateway::replace)); the gateway never reads the store per request.
#[derive(Debug, Clone, Default)]
pub struct GatewayConfig {
    /// API groups: each owns a set of domains and the APIs published under them.
    pub groups: Vec<GroupConfig>,
    /// One entry per (API, environment) in which the API is published.
    pub apis: Vec<PublishedApi>,
    /// Apps with their AppKey, AppSecret and AppCode hashes.
    pub apps: Vec<AppCredential>,
    /// App authorizations as `(app_id, api_id, env_id)`: the app may call the API in that env.
    pub auths: Vec<(String, String, String)>,
    /// Per-app client IP control (spec §1.12); at most one per app (the first wins).
    pub acls: Vec<AppAcl>,
    /// Per-app call quotas (spec §1.13); at most one per app (the first wins).
    pub quotas: Vec<AppQuota>,
    /// The gateway features the instance turned on.
    pub features: InstanceFeatures,
}

/// The gateway features an instance turned on that change how the gateway reads a request:
/// the app authentication modes of spec §4.2 (`app_secret`, `app_basic`) and where the
/// client's address comes from (`real_ip_from_xff`). All off by default, as in APIG.
///
/// Exists because each of them trusts the caller with more than the default does (the
/// AppSecret itself, an address the caller's proxies wrote): a gateway does so only where its
/// operator asked for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceFeatures {
    /// `X-HW-ID: <AppKey>` with `X-HW-AppKey: <AppSecret>`.
    pub app_secret: bool,
    /// `Authorization: Basic base64(<AppKey>:<AppSecret>)`.
    pub app_basic: bool,
    /// `apikey: <AppKey>`: the AppKey alone (`app_api_key`).
    pub app_api_key: bool,
    /// Calls by IP address reach the APIs of every group, the DEFAULT group's first
    /// (`app_route`); without it only the DEFAULT group's.
    pub app_route: bool,
    /// Access tokens issued at a path of the gateway and presented as
    /// `Authorization: Bearer <token>` (`app_token`).
    pub app_token: Option<Arc<AppTokenConfig>>,
    /// The header that carries app credentials instead of `Authorization`
    /// (`app_auth_header`): signatures, Basic and Bearer are read from it and it is removed
    /// from backend requests, while `Authorization` reaches the backend as the caller sent it.
    pub app_auth_header: Option<HeaderName>,
    /// The header a signature key's signature reaches the backend in, instead of
    /// `Authorization` (`backend_sign_header`).
    pub backend_sign_header: Option<HeaderName>,
    /// The client address is this address of `X-Forwarded-For` (0 the first, -1 the last),
    /// when the header has one there; else the TCP peer's.
    pub client_ip_xff_index: Option<i32>,
    /// The instance's request body limit in bytes (`request_body_size`), instead of the
    /// node's.
    pub max_body_bytes: Option<u64>,
    /// The longest any backend may take (`backend_timeout`), whatever an API's own timeout.
    pub max_backend_timeout: Option<Duration>,
    /// Calls per second each API takes in all its environments together (`ratelimit`),
    /// besides its request throttling policy.
    pub api_calls_per_second: Option<u32>,
}

/// The `app_token` feature as the gateway applies it.
///
/// Exists because tokens are sealed and checked by every node alike: what they are sealed with
/// (the node's token key from the master key, varied by the instance's `app_token_key`) and
/// how long they live is the same everywhere the instance is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppTokenConfig {
    /// The path that issues tokens (`POST`), on every host of the instance.
    pub uri: String,
    /// How long an access token lives.
    pub access_ttl: Duration,
    /// How long a refresh token lives.
    pub refresh_ttl: Duration,
    /// SHA-256 of the instance's `app_token_key`, if it set one.
    pub key_digest: Option<[u8; 32]>,
}

/// One app's complete data-plane state, replacing whatever the snapshot had for that app.
///
/// Exists so that one app-level management change (new AppCode, revoked authorization, new
/// quota...) can be applied with [`Gateway::patch`](crate::Gateway::patch) without rebuilding
/// the whole snapshot. The `app_id` fields of `acl` and `quota` are ignored: both belong to
/// `credential.app_id`.
#[derive(Debug, Clone)]
pub struct AppUpdate {
    /// The app's id, AppKey, AppSecret and AppCode hashes.
    pub credential: AppCredential,
    /// Every authorization of the app, as `(api_id, env_id)`.
    pub auths: Vec<(String, String)>,
    /// The app's client-IP control, if any.
    pub acl: Option<AppAcl>,
    /// The app's call quota, if any.
    pub quota: Option<AppQuota>,
}

/// One app-level change for [`Gateway::patch`](crate::Gateway::patch).
// Patches exist one per changed app per management call, never per request: their size does
// not matter, and boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum AppPatch {
    /// Adds the app, or replaces everything the snapshot holds for it (old AppKey and old
    /// AppCodes stop working).
    Upsert(AppUpdate),
    /// Removes the app with this id (nothing happens if it is unknown).
    Remove(String),
}

/// An API group as the router needs it.
///
/// Exists because the Host header selects the group (spec §3.6 step 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// Group id; `<id>.<base_domain>` is the group's own subdomain.
    pub id: String,
    /// Group name (for logs only).
    pub name: String,
    /// The DEFAULT group also answers for IP literals and unknown hosts.
    pub is_default: bool,
    /// Whether the group's subdomain `<id>.<base_domain>` reaches it; a closed one
    /// (`sl_domain_access_enabled` false) reaches nothing, its calls refused as unrouted.
    pub subdomain_open: bool,
    /// Bound domains (`url_domains`), matched case-insensitively, port ignored.
    pub domains: Vec<GroupDomain>,
    /// The group's default gateway response, if it changes some answer: what a call the
    /// group routes to no API is refused with.
    pub responses: Option<Arc<ErrorResponses>>,
}

/// A domain name routed to a group: exact (`api.example.com`) or a wildcard first label
/// (`*.example.com`: any name one label deeper without an exact binding of its own).
///
/// Exists because a bound name carries how plain HTTP requests for it are answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDomain {
    /// The name (any case; a port is ignored).
    pub name: String,
    /// Plain HTTP requests for this name are redirected to HTTPS
    /// (`is_http_redirect_to_https`).
    pub redirect_to_https: bool,
    /// The port HTTPS callers of this name use when it is not 443 (`ingress_https_port`):
    /// the redirect's `Location` names it.
    pub https_port: Option<u16>,
    /// The name is served on the plain HTTP listener (`ingress_http_port` is not -1).
    pub on_http: bool,
    /// The name is served on the HTTPS listener (`ingress_https_port` is not -1).
    pub on_https: bool,
    /// The CA set its callers must present a client certificate from
    /// (`verified_client_certificate_enabled`): requests for the name are served only on
    /// TLS connections verified against it.
    pub client_ca: Option<ClientCaFingerprint>,
}

impl From<&str> for GroupDomain {
    /// A name without redirect.
    fn from(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            redirect_to_https: false,
            https_port: None,
            on_http: true,
            on_https: true,
            client_ca: None,
        }
    }
}

impl From<String> for GroupDomain {
    /// A name without redirect.
    fn from(name: String) -> Self {
        Self {
            name,
            redirect_to_https: false,
            https_port: None,
            on_http: true,
            on_https: true,
            client_ca: None,
        }
    }
}

/// An API published in one environment: the unit the data plane routes to.
///
/// Exists because APIG serves the published snapshot of an API per environment (spec §3.4); the
/// same `api_id` may appear once per environment it is published in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedApi {
    /// API id (authorizations refer to it).
    pub api_id: String,
    /// API name (for logs only).
    pub name: String,
    /// The group the API belongs to.
    pub group_id: String,
    /// Environment id (authorizations refer to it).
    pub env_id: String,
    /// Environment name, as callers select it with `X-Stage` (default `RELEASE`).
    pub env_name: String,
    /// Which listener may serve the API.
    pub req_protocol: Protocol,
    /// Request method, or any.
    pub req_method: ReqMethod,
    /// Request path; may contain `{param}` segments.
    pub req_uri: String,
    /// Exact or prefix matching of `req_uri`.
    pub match_mode: MatchMode,
    /// How callers authenticate.
    pub auth: ApiAuth,
    /// Where the call goes.
    pub backend: Backend,
    /// Request parameters the API declares (`req_params`): what callers must send, in what
    /// form, and the defaults of those they may leave out.
    pub req_params: Vec<RequestParam>,
    /// Parameters added to the backend request.
    pub backend_params: Vec<BackendParam>,
    /// Other backends for the calls that meet conditions (APIG backend policies), tried in
    /// order before `backend`.
    pub policies: Vec<BackendPolicy>,
    /// Whether browsers may call the API from any origin (APIG `cors`): the gateway answers
    /// its CORS preflights and marks its responses with `Access-Control-Allow-Origin: *`.
    pub cors: bool,
    /// The request throttling policy bound to the API in this environment, if any.
    pub throttle: Option<ThrottlePolicy>,
    /// The access control policy (client addresses) bound to the API in this environment, if
    /// any.
    pub ip_acl: Option<IpAcl>,
    /// The signature key bound to the API in this environment, if any: its backend requests
    /// are signed with it.
    pub backend_signing: Option<BackendSigning>,
    /// The gateway response its refusals are answered with (the one it names, else its
    /// group's default), if that changes some answer.
    pub responses: Option<Arc<ErrorResponses>>,
    /// The plug-ins attached to the API in this environment (APIG `plugins`).
    pub plugins: crate::plugins::ApiPlugins,
}

/// A signature key as a published API is bound to it (APIG `signs`): how the gateway signs
/// the API's backend requests so that the backend can tell them from any other.
#[derive(Clone, PartialEq, Eq)]
pub enum BackendSigning {
    /// `SDK-HMAC-SHA256` with `key` as the access key and `secret` as the HMAC key.
    Hmac {
        /// `sign_key`.
        key: String,
        /// `sign_secret`.
        secret: String,
    },
    /// `Authorization: Basic base64(key:secret)`.
    Basic {
        /// `sign_key` (the user name).
        key: String,
        /// `sign_secret` (the password).
        secret: String,
    },
}

impl std::fmt::Debug for BackendSigning {
    // The secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, key) = match self {
            Self::Hmac { key, .. } => ("Hmac", key),
            Self::Basic { key, .. } => ("Basic", key),
        };
        write!(f, "BackendSigning::{kind}({key}, <redacted>)")
    }
}

/// An access control policy of client addresses, as an API is bound to it: APIG's `PERMIT`
/// or `DENY` list as inclusive address ranges (use [`AppAcl::parse_value`] for APIG's text
/// forms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpAcl {
    /// `true` = PERMIT (only these addresses), `false` = DENY (all but these).
    pub permit: bool,
    /// Inclusive ranges; IPv4 and IPv6 ranges may be mixed, a range never spans families.
    pub ranges: Vec<(IpAddr, IpAddr)>,
}

/// A request throttling policy as one published API is bound to it: calls per window in all,
/// per user, per app and per client address (`None`: no limit of that kind).
///
/// Exists so that the data plane counts calls against the policy without the store: the
/// exceptions (APIG's excluded configurations) are resolved into it when it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// The policy's id (with `shared`, which counters a call counts against).
    pub throttle_id: String,
    /// Whether the APIs bound to the policy share its counters (APIG `type` 2); otherwise
    /// each published API counts on its own.
    pub shared: bool,
    /// Window length.
    pub window: Duration,
    /// Calls of the API per window (`None`: no API limit, a `rate_limit` plug-in's -1).
    pub api_limit: Option<u32>,
    /// Calls per window by the user (the tenant that owns the calling apps), already the
    /// tenant's exception where it has one; only for authenticated calls.
    pub user_limit: Option<u32>,
    /// Calls per window by one app, unless it has an exception.
    pub app_limit: Option<u32>,
    /// The apps with an exception, and their own limit.
    pub app_exceptions: Vec<(String, u32)>,
    /// Calls per window from one client address.
    pub ip_limit: Option<u32>,
    /// A `rate_limit` plug-in's parameter-based rules (its parameters and rules; a call
    /// that a rule takes counts against the rule's limit in place of `api_limit`).
    pub parameter_rules: Option<std::sync::Arc<apigw_domain::plugin::RateLimitPlugin>>,
}

/// The API's `req_protocol`: an HTTPS API is served only by the TLS listener, an HTTP one only
/// by the plain listener, BOTH by either, a gRPC API only to HTTP/2 calls on the TLS listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Plain HTTP only.
    Http,
    /// TLS only (APIG's default).
    Https,
    /// Either listener.
    Both,
    /// `GRPCS`: gRPC, which is HTTP/2, over TLS.
    Grpcs,
}

impl Protocol {
    /// Whether a call that arrived over `transport` may reach an API of this protocol.
    pub(crate) fn serves(self, transport: Transport) -> bool {
        match self {
            Self::Http => !transport.tls,
            Self::Https => transport.tls,
            Self::Both => true,
            Self::Grpcs => transport.tls && transport.http2,
        }
    }
}

/// How a call arrived: what decides which APIs it may reach ([`Protocol::serves`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Transport {
    /// Over the TLS listener.
    pub tls: bool,
    /// As an HTTP/2 stream.
    pub http2: bool,
}

/// A request method or APIG's `ANY`.
///
/// Exists because both the API (`req_method`) and its backend (`backend_api.req_method`) may say
/// `ANY`: match every method / forward the caller's method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReqMethod {
    /// `ANY`.
    Any,
    /// Exactly this method.
    Only(Method),
}

/// APIG's `match_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchMode {
    /// `NORMAL`: the path equals `req_uri` (with `{param}` segments matching one segment each).
    Normal,
    /// `SWA`: `req_uri` is a prefix of the path, on a segment boundary; the rest is appended to
    /// the backend path.
    Swa,
}

/// APIG's `auth_type` (only the kinds this gateway implements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiAuth {
    /// `NONE`: anyone may call.
    None,
    /// `APP`: an app authenticates by signature, or by AppCode when `app_code_header` is on
    /// (`auth_opt.app_code_auth_type = HEADER`).
    App {
        /// Simple authentication with `X-Apig-AppCode` is enabled.
        app_code_header: bool,
    },
}

/// A backend policy of a published API (APIG `policy_https`, `policy_mocks`): the calls that
/// meet its conditions go to its backend, with its backend parameters, instead of the API's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendPolicy {
    /// Its name (for logs and the debug header).
    pub name: String,
    /// Every condition must hold (`effect_mode` `ALL`); otherwise one suffices (`ANY`).
    pub match_all: bool,
    /// One or more conditions.
    pub conditions: Vec<PolicyCondition>,
    /// Where the calls it takes go.
    pub backend: Backend,
    /// The parameters added to those calls (in place of the API's).
    pub backend_params: Vec<BackendParam>,
}

/// One condition of a backend policy: what of the call it reads, and what that must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyCondition {
    /// What it reads.
    pub subject: ConditionSubject,
    /// What that must be.
    pub test: ConditionTest,
}

/// What of a call a policy condition reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionSubject {
    /// The value of the declared request parameter `name` where it is declared (a path
    /// parameter, the query, a header), or its default.
    Param {
        /// Its name.
        name: String,
        /// Where the caller sends it.
        location: ParamLocation,
    },
    /// The client address (as access control sees it).
    SourceIp,
    /// The request path.
    Path,
    /// The request method.
    Method,
    /// The value of the cookie of this name.
    Cookie(String),
}

/// What a policy condition's subject must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionTest {
    /// Equal to this text.
    Equals(String),
    /// Equal to one of these.
    OneOf(Vec<String>),
    /// This regular expression is found in it.
    Pattern(String),
    /// An address in one of these inclusive ranges.
    Addresses(Vec<(IpAddr, IpAddr)>),
}

/// What answers an API's calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A backend server the call is forwarded to (`backend_type` `HTTP`).
    Http(HttpBackend),
    /// The gateway's fixed answer (`backend_type` `MOCK`): no backend server at all.
    Mock(MockAnswer),
    /// No backend in this environment: the API's backend names an environment variable the
    /// environment does not define, or one whose value makes no address. Calls answer 500
    /// `APIG.0103`; `reason` is logged when the routes are built.
    Missing {
        /// Why, for the log.
        reason: String,
    },
}

/// A `breaker` plug-in attached to a published API, as the gateway runs it (see
/// the `breaker` module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Names the breaker's counts: the APIs with the same key count together (a shared
    /// plug-in's calls, or one plug-in's on one API in one environment).
    pub key: String,
    /// The plug-in's content: conditions, windows, rules.
    pub plugin: Arc<apigw_domain::plugin::BreakerPlugin>,
    /// What an open breaker does, by breaker: `[0]` for the calls meeting no rule, `[1 + i]`
    /// for rule `i`'s (its own downgrade, or the plug-in's).
    pub downgrades: Vec<DowngradeConfig>,
}

/// What answers a call while its breaker is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DowngradeConfig {
    /// 503 `APIG.0202`: no downgrade configured.
    Unavailable,
    /// A fixed answer (`mock`).
    Mock(apigw_domain::plugin::MockAnswer),
    /// A backend: another one (`http`, `http_vpc`), or the API's own with extra request
    /// fields (`passthrough`).
    Backend {
        /// Where the calls go.
        backend: Backend,
        /// The parameters added to them.
        params: Vec<BackendParam>,
    },
}

/// The fixed answer of a `MOCK` API: 200 with `content` as an `application/json` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockAnswer {
    /// The body (`mock_info.result_content`; may be empty).
    pub content: String,
}

/// An HTTP(S) backend (`backend_api`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpBackend {
    /// TLS to the backend.
    pub https: bool,
    /// A gRPC server (`backend_type` `GRPC`): spoken to over HTTP/2 (cleartext with prior
    /// knowledge, or negotiated by ALPN over TLS), sent the call's own path, with the call's
    /// `TE: trailers` and the backend's trailers passed through.
    pub grpc: bool,
    /// Backend host name or IP literal (without brackets for IPv6).
    pub host: String,
    /// Backend port.
    pub port: u16,
    /// Method sent to the backend; `Any` forwards the caller's.
    pub method: ReqMethod,
    /// Backend path; `{param}` segments are filled from the request path or backend parameters.
    pub path: String,
    /// Time allowed for the backend's response head (APIG `timeout`, 1 ms–600 s).
    pub timeout: Duration,
    /// How often a failed request is tried again (APIG `retry_count`).
    pub retries: BackendRetries,
    /// The VPC channel whose servers take the calls (`host` and `port` are then unused).
    pub channel: Option<ChannelTarget>,
}

/// An API's use of a VPC channel: the channel, and the `Host` its backend requests carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelTarget {
    /// The channel (shared by every API that uses it).
    pub channel: Arc<ChannelConfig>,
    /// `vpc_channel_proxy_host`: the `Host` sent to the servers (and the TLS server name);
    /// `None`: the caller's own `Host`.
    pub proxy_host: Option<String>,
}

/// A VPC channel (APIG `vpc-channels`): the servers an API's calls are spread over.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChannelConfig {
    /// Channel id (for logs, and to share one balancer among the APIs that use it).
    pub id: String,
    /// How calls are spread.
    pub strategy: BalanceStrategy,
    /// The enabled servers (disabled ones are left out).
    pub members: Vec<ChannelMember>,
    /// The active health check, if any; without one every server counts as healthy.
    pub health_check: Option<HealthCheckConfig>,
}

/// How a channel spreads calls over its servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BalanceStrategy {
    /// Weighted round robin.
    RoundRobin,
    /// Weighted least connections: the server with the fewest calls in flight relative to
    /// its weight.
    LeastConnections,
    /// By a hash of the caller's address.
    SourceHash,
    /// By a hash of the request path.
    UriHash,
}

/// A server of a channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChannelMember {
    /// The member's id (what its health is published under).
    pub id: String,
    /// Host name or IP literal (without brackets for IPv6).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Share of the calls relative to the others' (0 takes none).
    pub weight: u16,
    /// Takes calls only while no other server is healthy.
    pub backup: bool,
}

/// How a health check probes a channel's servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeProtocol {
    /// A TCP connection that opens.
    Tcp,
    /// An HTTP request whose status is accepted.
    Http,
    /// The same over TLS (the certificate is not checked: the probe asks whether the server
    /// answers; calls check who it is).
    Https,
}

/// A channel's active health check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HealthCheckConfig {
    /// How servers are probed.
    pub protocol: ProbeProtocol,
    /// Path of an HTTP(S) probe.
    pub path: String,
    /// `GET` or `HEAD`.
    pub method: String,
    /// Port probed; `None`: each server's own.
    pub port: Option<u16>,
    /// Successes in a row that make an unhealthy server healthy.
    pub healthy_threshold: u8,
    /// Failures in a row that make a healthy server unhealthy.
    pub unhealthy_threshold: u8,
    /// Time between probes of one server.
    pub interval: Duration,
    /// Time one probe may take.
    pub timeout: Duration,
    /// Accepted statuses of an HTTP(S) probe, as inclusive ranges.
    pub codes: Vec<(u16, u16)>,
}

/// How often a request the backend failed is sent again (APIG `retry_count`, `-1` to `10`).
///
/// A retry happens only where it cannot duplicate work the backend did: the connection could
/// not be opened, or it ended before any response byte and the request can be sent again
/// (empty or buffered body). A timeout is not retried: the API's timeout covers all attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendRetries {
    /// `-1`, the default: idempotent methods once, others never.
    #[default]
    IdempotentOnce,
    /// `0`–`10`: up to this many times, whatever the method.
    UpTo(u8),
}

impl BackendRetries {
    /// From APIG's `retry_count` (negative: the default).
    pub fn from_retry_count(count: i8) -> Self {
        u8::try_from(count).map_or(Self::IdempotentOnce, Self::UpTo)
    }

    /// Retries allowed for a request with `method`.
    pub fn allowed(self, method: &http::Method) -> u8 {
        match self {
            Self::IdempotentOnce => u8::from(method.is_idempotent()),
            Self::UpTo(n) => n,
        }
    }
}

/// A request parameter an API declares (`req_params`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestParam {
    /// Its name (a header name is matched in any case).
    pub name: String,
    /// Where the caller sends it.
    pub location: ParamLocation,
    /// Callers must send it, not empty (`required` 1).
    pub required: bool,
    /// Its value must be a number (`type` `NUMBER`).
    pub number: bool,
    /// The value a backend parameter mapped from it takes when the caller leaves it out.
    pub default_value: Option<String>,
    /// What a value the caller sends must meet (APIG `valid_enable` 1; empty when off).
    pub rules: ValueRules,
    /// Whether the backend gets it as sent (APIG `pass_through` 1); a query or header
    /// parameter with `false` is withheld (backend parameters may still map it).
    pub pass_through: bool,
}

impl RequestParam {
    /// Whether the gateway has anything to do for it (check it or supply its default).
    pub fn enforced(&self) -> bool {
        self.required
            || self.number
            || self.default_value.is_some()
            || !self.rules.is_empty()
            || !self.pass_through
    }
}

/// The rules a request parameter's value must meet (APIG `enumerations`, `min_num`/`max_num`
/// for numbers, `min_size`/`max_size` for text).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValueRules {
    /// The values allowed; empty: any.
    pub one_of: Vec<String>,
    /// Smallest number allowed.
    pub min: Option<i64>,
    /// Largest number allowed.
    pub max: Option<i64>,
    /// Fewest characters allowed.
    pub min_chars: Option<usize>,
    /// Most characters allowed.
    pub max_chars: Option<usize>,
}

impl ValueRules {
    /// No rule at all.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Whether `value` (sent, not empty) meets every rule; a bound on numbers fails a value
    /// that is not one.
    pub fn admit(&self, value: &str) -> bool {
        if !self.one_of.is_empty() && !self.one_of.iter().any(|allowed| allowed == value) {
            return false;
        }
        if self.min.is_some() || self.max.is_some() {
            let Some(n) = value.parse::<f64>().ok().filter(|n| n.is_finite()) else {
                return false;
            };
            if self.min.is_some_and(|min| n < min as f64)
                || self.max.is_some_and(|max| n > max as f64)
            {
                return false;
            }
        }
        if self.min_chars.is_some() || self.max_chars.is_some() {
            let chars = value.chars().count();
            if self.min_chars.is_some_and(|min| chars < min)
                || self.max_chars.is_some_and(|max| chars > max)
            {
                return false;
            }
        }
        true
    }
}

/// One backend parameter (`backend_params`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendParam {
    /// Parameter name in the backend request.
    pub name: String,
    /// Where it goes.
    pub location: ParamLocation,
    /// Where its value comes from.
    pub value: ParamValue,
}

/// Where a backend parameter is placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamLocation {
    /// A request header (replaces one the caller sent).
    Header,
    /// A query parameter (replaces the caller's of the same name).
    Query,
    /// A `{name}` segment of the backend path.
    Path,
}

/// A backend parameter's origin (`origin` CONSTANT | REQUEST | SYSTEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    /// A fixed value.
    Constant(String),
    /// The value of a request parameter with this name: a `{name}` path parameter if the route
    /// has one, else the query parameter, else the header.
    Request(String),
    /// A gateway-provided value.
    System(SystemParam),
}

/// Gateway-provided parameter values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemParam {
    /// `$context.appId`: the authenticated app's id (absent on `NONE` APIs).
    AppId,
    /// `$context.appName`: the authenticated app's name (absent on `NONE` APIs).
    AppName,
    /// `$context.sourceIp`: the client address (the TCP peer).
    SourceIp,
    /// `$context.requestId`: the request's `X-Request-Id`.
    RequestId,
}

/// An app's credentials as the data plane needs them.
///
/// Exists so the gateway can authenticate without the store: the AppSecret must be plaintext here
/// (HMAC needs it), while AppCodes arrive only as keyed hashes, never as values.
#[derive(Clone, PartialEq, Eq)]
pub struct AppCredential {
    /// App id.
    pub app_id: String,
    /// App name (the `$context.appName` backend parameter).
    pub app_name: String,
    /// AppKey (`Access=` in signatures).
    pub app_key: String,
    /// AppSecret, the HMAC key of signatures.
    pub app_secret: String,
    /// HMAC-SHA256 index of each AppCode, as [`AppCodeHasher`] computes it (the store's
    /// `Sealer::index` in bytes; see [`AppCodeHasher::parse_hex`]).
    pub app_code_hashes: Vec<[u8; 32]>,
}

/// Never shows the secret (logs may print configurations).
impl fmt::Debug for AppCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppCredential")
            .field("app_id", &self.app_id)
            .field("app_name", &self.app_name)
            .field("app_key", &self.app_key)
            .field("app_secret", &"<redacted>")
            .field("app_code_hashes", &self.app_code_hashes.len())
            .finish()
    }
}

/// An app's client-IP control.
///
/// Exists to carry APIG's `PERMIT`/`DENY` list in a form that is cheap to match: inclusive
/// address ranges (use [`AppAcl::parse_value`] for APIG's text forms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppAcl {
    /// App id.
    pub app_id: String,
    /// `true` = PERMIT (whitelist), `false` = DENY (blacklist).
    pub permit: bool,
    /// Inclusive ranges; IPv4 and IPv6 ranges may be mixed, a range never spans families.
    pub ranges: Vec<(IpAddr, IpAddr)>,
}

impl AppAcl {
    /// Parses one `app_acl_values` entry: `192.168.0.1`, `192.168.0.5-192.168.0.10` or
    /// `192.168.0.100/28` (IPv6 likewise) into an inclusive range.
    pub fn parse_value(text: &str) -> Option<(IpAddr, IpAddr)> {
        let text = text.trim();
        if let Some((a, b)) = text.split_once('-') {
            let (a, b): (IpAddr, IpAddr) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            return (a.is_ipv4() == b.is_ipv4() && a <= b).then_some((a, b));
        }
        if let Some((addr, bits)) = text.split_once('/') {
            let addr: IpAddr = addr.trim().parse().ok()?;
            let bits: u32 = bits.trim().parse().ok()?;
            return match addr {
                IpAddr::V4(v4) if bits <= 32 => {
                    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                    let start = u32::from(v4) & mask;
                    Some((IpAddr::V4(start.into()), IpAddr::V4((start | !mask).into())))
                }
                IpAddr::V6(v6) if bits <= 128 => {
                    let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                    let start = u128::from(v6) & mask;
                    Some((IpAddr::V6(start.into()), IpAddr::V6((start | !mask).into())))
                }
                _ => None,
            };
        }
        let addr: IpAddr = text.parse().ok()?;
        Some((addr, addr))
    }
}

/// An app's binding to a quota (APIG allows one quota per app).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppQuota {
    /// App id.
    pub app_id: String,
    /// Quota id (`app_quota_id`): apps bound to the same quota share its terms, so a change of
    /// the quota ([`Gateway::set_quota`](crate::Gateway::set_quota)) reaches all of them at once.
    pub quota_id: String,
    /// What the quota allows (calls are counted per app).
    pub limit: QuotaLimit,
}

/// What a quota allows: at most `call_limit` calls per `interval`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaLimit {
    /// Calls allowed per window (APIG `call_limits`).
    pub call_limit: u64,
    /// Window length (`time_interval` × `time_unit`).
    pub interval: Duration,
    /// APIG `reset_time` as Unix milliseconds: windows are aligned to this instant. `None`: an
    /// app's first window starts at its first call.
    pub reset_at_ms: Option<i64>,
}

/// How this gateway node behaves; fixed for the life of a [`Gateway`](crate::Gateway).
///
/// Exists separately from [`GatewayConfig`] because these come from the command line, not the
/// store, and do not change when APIs or apps do.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// Parent domain of group subdomains: group `g` answers on `g.<base_domain>`.
    pub base_domain: String,
    /// Accept `X-Apig-AppCode` on the plain-HTTP listener (for a TLS-terminating load balancer
    /// in front, or benchmarks). Off: an AppCode over HTTP counts as no credential.
    pub allow_app_code_over_http: bool,
    /// Largest accepted distance between `X-Sdk-Date` and the clock (Huawei: 15 minutes).
    pub signature_max_skew: Duration,
    /// Failed authentications per client address, and per AppKey, within
    /// [`auth_failure_window`](Self::auth_failure_window) before further failures get 429.
    pub auth_failure_limit: u32,
    /// Window of [`auth_failure_limit`](Self::auth_failure_limit).
    pub auth_failure_window: Duration,
    /// Largest request body (APIG: 12 MB) unless the instance configures its own
    /// (`request_body_size`); larger requests get 413 `APIG.0201`.
    pub max_body_bytes: u64,
    /// Hashes presented AppCodes exactly as the store indexed them.
    pub app_code_hasher: AppCodeHasher,
    /// Seals and checks `app_token` tokens: the same on every node that serves the instance
    /// (the server derives it from the master key); random by default.
    pub app_token_key: TokenKey,
    /// PEM file of extra CA certificates trusted for HTTPS backends, besides the Mozilla roots.
    pub backend_ca_file: Option<PathBuf>,
    /// Log one line per request (target `apigw::access`, level INFO): request id, client
    /// address, method, path (no query), status, APIG error code, API, app and latencies.
    /// Credentials never appear in it.
    pub access_log: bool,
    /// How long a client connection may go without a request in flight, whether idle between
    /// requests or sending a request head, before it is closed (slow-loris protection and
    /// keep-alive timeout in one). Checked once a second: a connection is asked to close up to
    /// two seconds after the limit, and dropped a second later if it is still there.
    pub client_header_timeout: Duration,
    /// How long the gateway waits for the next bytes of a request body before it gives up
    /// with 408 `APIG.0201` (like nginx's `client_body_timeout`). Time spent waiting for the
    /// caller's body does not count toward the API's backend timeout.
    pub client_body_timeout: Duration,
    /// How long a write to a client may wait for the client to take some of the response
    /// before the connection is dropped, with the backend connection its request holds (the
    /// time between two successive writes, like nginx's `send_timeout`; over HTTP/2 also a
    /// response the client grants no flow-control window for). Checked once a second.
    pub client_send_timeout: Duration,
    /// A metrics recorder is installed (`--metrics-listen`): count every request in
    /// [`meters`](crate::meters) and time it. Off: no clock is read for metrics.
    pub metrics: bool,
}

impl GatewaySettings {
    /// The documented defaults (`apigw.local`, AppCode over HTTPS only, 15 min skew, 60 failures
    /// per 60 s, 12 MB bodies, 30 s client header timeout, 60 s client body and send timeouts, no access log, no metrics) with the given AppCode hasher, which has no sensible default.
    pub fn new(app_code_hasher: AppCodeHasher) -> Self {
        Self {
            base_domain: "apigw.local".to_owned(),
            allow_app_code_over_http: false,
            signature_max_skew: apigw_signing::DEFAULT_MAX_SKEW,
            auth_failure_limit: 60,
            auth_failure_window: Duration::from_secs(60),
            max_body_bytes: 12 * 1024 * 1024,
            app_code_hasher,
            app_token_key: TokenKey::random(),
            backend_ca_file: None,
            access_log: false,
            client_header_timeout: Duration::from_secs(30),
            client_body_timeout: Duration::from_secs(60),
            client_send_timeout: Duration::from_secs(60),
            metrics: false,
        }
    }
}

/// Computes the keyed hash under which the store indexes AppCodes, for a presented AppCode.
///
/// Exists because the gateway never holds AppCode values: it hashes what the caller presents
/// once and looks the hash up. Build it from the store's 32-byte index key
/// ([`hmac_sha256`](Self::hmac_sha256), the fast path: the keyed HMAC state is computed once
/// and cloned per request), or wrap any function that reproduces the store's index
/// ([`custom`](Self::custom)).
#[derive(Clone)]
pub struct AppCodeHasher(HasherKind);

/// A function computing the store's AppCode index.
type IndexFn = dyn Fn(&[u8]) -> [u8; 32] + Send + Sync;

#[derive(Clone)]
enum HasherKind {
    Hmac(SigningKey),
    Custom(Arc<IndexFn>),
}

impl AppCodeHasher {
    /// HMAC-SHA256 keyed with the store's index key (what `Sealer::index` computes, as bytes).
    pub fn hmac_sha256(index_key: [u8; 32]) -> Self {
        Self(HasherKind::Hmac(SigningKey::new(&index_key)))
    }

    /// Any function equal to the store's index, e.g. `Sealer::index` with its hex decoded.
    pub fn custom(f: impl Fn(&[u8]) -> [u8; 32] + Send + Sync + 'static) -> Self {
        Self(HasherKind::Custom(Arc::new(f)))
    }

    /// The index of `app_code`.
    pub fn hash(&self, app_code: &[u8]) -> [u8; 32] {
        match &self.0 {
            HasherKind::Hmac(keyed) => keyed.sign(app_code),
            HasherKind::Custom(f) => f(app_code),
        }
    }

    /// Decodes the store's hex index (64 hex digits) into the form [`AppCredential`] carries.
    pub fn parse_hex(hex_index: &str) -> Option<[u8; 32]> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_index, &mut out).ok()?;
        Some(out)
    }
}

/// Never shows the key.
impl fmt::Debug for AppCodeHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            HasherKind::Hmac(_) => "AppCodeHasher(hmac-sha256, <redacted>)",
            HasherKind::Custom(_) => "AppCodeHasher(custom)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_values_parse_to_inclusive_ranges() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            AppAcl::parse_value("192.168.0.1"),
            Some((ip("192.168.0.1"), ip("192.168.0.1")))
        );
        assert_eq!(
            AppAcl::parse_value("192.168.0.5-192.168.0.10"),
            Some((ip("192.168.0.5"), ip("192.168.0.10")))
        );
        assert_eq!(
            AppAcl::parse_value("192.168.0.100/28"),
            Some((ip("192.168.0.96"), ip("192.168.0.111")))
        );
        assert_eq!(
            AppAcl::parse_value("0.0.0.0/0"),
            Some((ip("0.0.0.0"), ip("255.255.255.255")))
        );
        assert_eq!(
            AppAcl::parse_value("2001:db8::/32"),
            Some((
                ip("2001:db8::"),
                ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")
            ))
        );
        for bad in ["", "x", "1.2.3.4/33", "1.2.3.9-1.2.3.1", "1.2.3.4-::1"] {
            assert_eq!(AppAcl::parse_value(bad), None, "{bad}");
        }
    }

    #[test]
    fn hasher_is_hmac_sha256_and_hex_round_trips() {
        use hmac::{Hmac, Mac};
        use sha2::Sha256;
        let h = AppCodeHasher::hmac_sha256([7; 32]);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&[7; 32]).unwrap();
        mac.update(b"code");
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(h.hash(b"code"), expected);
        assert_eq!(
            AppCodeHasher::parse_hex(&hex::encode(expected)),
            Some(expected)
        );
        assert_eq!(AppCodeHasher::parse_hex("zz"), None);
        let custom = AppCodeHasher::custom(|v| [v.len() as u8; 32]);
        assert_eq!(custom.hash(b"abc"), [3; 32]);
        assert!(!format!("{h:?}").contains('7'));
    }
}
