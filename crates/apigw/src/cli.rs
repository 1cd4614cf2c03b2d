//! Command-line interface. Every `serve` flag can also be set with an `APIGW_`-prefixed
//! environment variable (shown in `--help`).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// apigw: a self-hosted API gateway with Huawei Cloud APIG-compatible app credentials
/// (apps, AppKey/AppSecret, AppCodes, SDK-HMAC-SHA256 signatures).
#[derive(Debug, Parser)]
#[command(
    name = "apigw",
    version,
    about = "apigw: a self-hosted API gateway with Huawei Cloud APIG-compatible app credentials",
    after_help = "Quick start:\n  APIGW_ADMIN_PASSWORD=... apigw serve --admin-listen 127.0.0.1:9080 --data-dir ./apigw-data\n  (every serve flag has an APIGW_ variable, e.g. APIGW_ADMIN_LISTEN, APIGW_DATA_DIR; see 'apigw serve --help')"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: the management API (APIG v2, ROMA Connect, ModelArts v1, Keystone v3
    /// identity) on the admin listener, with an embedded SQLite store in the data directory, or
    /// a PostgreSQL database shared with other nodes (--database-url).
    ///
    /// On first start it creates the master key, the `admin` project and user (password from
    /// APIGW_ADMIN_PASSWORD, or generated and printed once) and the `default` instance.
    Serve(Box<ServeArgs>),
    /// Sign a request with SDK-HMAC-SHA256 (AK/SK or AppKey/AppSecret), send it and print the
    /// response like curl; `--dry-run` prints the signed request instead of sending it.
    Call(CallArgs),
    /// Write a whole installation (apps, AppCodes, APIs, authorizations, users…) to a JSON
    /// dump; secrets stay sealed with the master key.
    Export(Box<ExportArgs>),
    /// Load a dump written by `apigw export` into a new installation with the same master key.
    Import(Box<ImportArgs>),
    /// Copy a whole installation to another database, e.g. from the default SQLite file to
    /// PostgreSQL (`apigw migrate --data-dir ./apigw-data --to postgres://…`) or back.
    Migrate(Box<MigrateArgs>),
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 30s, 15m, 24h)"))
}

/// A duration above zero (for timeouts where zero would mean "close at once").
/// A number of worker threads: at least one.
fn parse_worker_threads(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err("expected a whole number of threads, such as 1 or 4".to_owned()),
    }
}

fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        d if d.is_zero() => Err("must be longer than 0s (examples: 30s, 2m)".to_owned()),
        d => Ok(d),
    }
}

/// Flags of `apigw serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where the configuration lives.
    #[command(flatten)]
    pub store: StoreArgs,

    /// Log line format on stderr: text (for people) or json (one object per line, fields at
    /// the top level, for log shippers).
    #[arg(long, env = "APIGW_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Address of the management API listener. Defaults to loopback only.
    #[arg(long, env = "APIGW_ADMIN_LISTEN", default_value = "127.0.0.1:9080")]
    pub admin_listen: SocketAddr,

    /// How often the data plane adds the app quota calls it counted to the quota ledger in
    /// the database and reads every node's totals back. A quota survives a restart (a crash
    /// forgets at most this interval's calls) and is one quota across nodes (a node learns of
    /// the others' calls within about two intervals, sooner for an app below half its limit,
    /// whose calls bring the exchange forward; what nodes admit meanwhile can overshoot it).
    #[arg(long, env = "APIGW_QUOTA_SYNC_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub quota_sync_interval: Duration,

    /// With PostgreSQL: how often this node checks that it has applied every committed change
    /// (repairs a missed notification by reloading), and how often a node with a gateway
    /// listener announces itself to the others (see --throttle-limits).
    #[arg(long, env = "APIGW_SYNC_CHECK_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub sync_check_interval: Duration,

    /// With PostgreSQL and several nodes: how request throttling limits (policies, their
    /// exceptions, the instance's ratelimit) apply across the nodes serving an instance. Each
    /// node counts calls on its own; `split` has each enforce its share, the limit divided by
    /// the number of nodes (rounded up; a node counts while it announced itself within three
    /// --sync-check-interval), so the cluster admits about the limit when the load balancer
    /// spreads calls evenly; `per-node` has each enforce whole limits (N nodes admit up to N
    /// times them). App quotas are shared through the quota ledger either way.
    #[arg(long, env = "APIGW_THROTTLE_LIMITS", value_enum, default_value_t = ThrottleLimits::Split)]
    pub throttle_limits: ThrottleLimits,

    /// How often the data plane saves its request throttling counts of windows of a minute or
    /// more to the database, so that a restart carries them on (a graceful stop saves them
    /// all, a crash loses at most this interval's calls); each save also takes over the counts
    /// of nodes silent for three intervals.
    #[arg(long, env = "APIGW_THROTTLE_CHECKPOINT_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub throttle_checkpoint_interval: Duration,

    /// URL clients use to reach the management API; the Keystone catalog points here.
    /// Default: http://<admin-listen>.
    #[arg(long, env = "APIGW_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Region name written into the Keystone catalog.
    #[arg(long, env = "APIGW_REGION", default_value = "default")]
    pub region: String,

    /// Lifetime of issued tokens.
    #[arg(long, env = "APIGW_TOKEN_TTL", default_value = "24h", value_parser = parse_duration)]
    pub token_ttl: Duration,

    /// Maximum number of apps per gateway instance (APIG.3103 beyond).
    #[arg(long, env = "APIGW_MAX_APPS_PER_INSTANCE", default_value_t = 50)]
    pub max_apps_per_instance: u32,

    /// Mask app_secret (first 3 + ************ + last 3) in app list answers.
    #[arg(long, env = "APIGW_MASK_SECRET_IN_LIST")]
    pub mask_secret_in_list: bool,

    /// Largest accepted management request body, in bytes (413 beyond).
    #[arg(long, env = "APIGW_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,

    /// Allowed clock skew of SDK-HMAC-SHA256 signatures (X-Sdk-Date).
    #[arg(long, env = "APIGW_SIGNATURE_MAX_SKEW", default_value = "15m", value_parser = parse_duration)]
    pub signature_max_skew: Duration,

    /// Consecutive AK/SK signature failures that lock an access key.
    #[arg(long, env = "APIGW_AKSK_LOCKOUT_FAILURES", default_value_t = 5)]
    pub aksk_lockout_failures: u32,

    /// How long a locked access key stays locked, in seconds.
    #[arg(long, env = "APIGW_AKSK_LOCKOUT_SECONDS", default_value_t = 300)]
    pub aksk_lockout_seconds: u64,

    /// Failed password logins per user name and per client address within
    /// --login-failure-window before logins are refused with 429 (APIG.0308).
    #[arg(long, env = "APIGW_LOGIN_FAILURE_LIMIT", default_value_t = 10)]
    pub login_failure_limit: u32,

    /// Window of --login-failure-limit.
    #[arg(long, env = "APIGW_LOGIN_FAILURE_WINDOW", default_value = "1m", value_parser = parse_duration)]
    pub login_failure_window: Duration,

    /// Address of the HTTPS gateway listener (the data plane: published APIs, AppCode and
    /// signature authentication). Off unless given.
    #[arg(long, env = "APIGW_GATEWAY_LISTEN")]
    pub gateway_listen: Option<SocketAddr>,

    /// Address of a plain-HTTP gateway listener (APIs whose req_protocol is HTTP or BOTH).
    /// Off unless given.
    #[arg(long, env = "APIGW_GATEWAY_HTTP_LISTEN")]
    pub gateway_http_listen: Option<SocketAddr>,

    /// Instance the gateway listeners serve. Default: the `default` instance of project `admin`.
    #[arg(long, env = "APIGW_GATEWAY_INSTANCE")]
    pub gateway_instance: Option<String>,

    /// Parent domain of API group subdomains (`<group_id>.<base-domain>`).
    /// Default: apic.<region>, the sl_domain the management API shows.
    #[arg(long, env = "APIGW_GATEWAY_BASE_DOMAIN")]
    pub gateway_base_domain: Option<String>,

    /// Certificate (PEM) of the HTTPS gateway listener. Without --tls-cert/--tls-key a
    /// self-signed certificate is generated into the data directory on first start. SIGHUP
    /// reads both files again: new connections get the renewed certificate, open ones keep
    /// theirs, and a pair that cannot be used is logged and the old one kept.
    #[arg(long, env = "APIGW_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// Private key (PEM) of --tls-cert.
    #[arg(long, env = "APIGW_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Directory of more certificates for the HTTPS gateway listener, one per domain (the
    /// names bound to groups): each NAME.crt (PEM chain) with its NAME.key is presented to
    /// clients asking (SNI) for a DNS name of its subjectAltName (`*.example.com` covers one
    /// label); other clients get the default certificate. Read at start and on SIGHUP; a
    /// certificate without key or DNS name, or a name in two certificates, is refused. A
    /// certificate added to a bound domain through the management API
    /// (`.../domains/{domain_id}/certificate`) comes before this directory's for its name.
    #[arg(long, env = "APIGW_TLS_SNI_DIR")]
    pub tls_sni_dir: Option<PathBuf>,

    /// Accept credentials sent in clear on the plain-HTTP gateway listener (behind a
    /// TLS-terminating load balancer, or for local benchmarks): X-Apig-AppCode, and once an
    /// instance turns those modes on, the AppSecret itself (app_secret, app_basic), the AppKey
    /// alone (app_api_key), and app tokens and the token endpoint (app_token). Off: an AppCode
    /// over HTTP counts as no credential, the others are refused (401).
    #[arg(long, env = "APIGW_ALLOW_APP_CODE_OVER_HTTP")]
    pub allow_app_code_over_http: bool,

    /// Failed app authentications per client address, and per AppKey, within
    /// --auth-failure-window before further failures get 429 (APIG.0308).
    #[arg(long, env = "APIGW_AUTH_FAILURE_LIMIT", default_value_t = 60)]
    pub auth_failure_limit: u32,

    /// Window of --auth-failure-limit.
    #[arg(long, env = "APIGW_AUTH_FAILURE_WINDOW", default_value = "1m", value_parser = parse_duration)]
    pub auth_failure_window: Duration,

    /// Extra CA certificates (PEM) trusted for HTTPS backends, besides the Mozilla roots.
    #[arg(long, env = "APIGW_BACKEND_CA_FILE")]
    pub backend_ca_file: Option<PathBuf>,

    /// How long a gateway client connection may go without a request in flight (idle between
    /// requests, or still sending a request head) before it is closed.
    #[arg(long, env = "APIGW_CLIENT_HEADER_TIMEOUT", default_value = "30s", value_parser = parse_positive_duration)]
    pub client_header_timeout: Duration,

    /// How long the gateway waits for the next bytes of a request body before it answers 408
    /// (like nginx's client_body_timeout). Waiting for a caller's slow upload does not count
    /// toward the API's backend timeout.
    #[arg(long, env = "APIGW_CLIENT_BODY_TIMEOUT", default_value = "60s", value_parser = parse_positive_duration)]
    pub client_body_timeout: Duration,

    /// How long a write to a gateway client may wait for the client to take some of the
    /// response before the connection is dropped, freeing the backend connection it holds
    /// (the time between two successive writes, like nginx's send_timeout; over HTTP/2 also
    /// a response the client grants no flow-control window for).
    #[arg(long, env = "APIGW_CLIENT_SEND_TIMEOUT", default_value = "60s", value_parser = parse_positive_duration)]
    pub client_send_timeout: Duration,

    /// Log one line per gateway request (request id, client address, method, path without
    /// query, status, APIG error code, API id, app id, latencies) at INFO, target
    /// apigw::access. Credentials never appear in it. Off unless given.
    #[arg(long, env = "APIGW_ACCESS_LOG")]
    pub access_log: bool,

    /// Address of the metrics listener: GET /metrics answers in the Prometheus text format
    /// (gateway requests by API, stage and status class, latency histograms, refusals by APIG
    /// code, connections, in-memory index updates, management API requests). Unauthenticated:
    /// bind it to a private address. Off unless given.
    #[arg(long, env = "APIGW_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Worker threads of the gateway listeners' runtime (default: one per CPU core). 1 runs
    /// the data plane on one thread with the current-thread scheduler, like one nginx worker.
    /// The management API, the metrics exporter and cluster sync always run on a thread of
    /// their own, so neither side queues behind the other.
    #[arg(long, env = "APIGW_WORKER_THREADS", value_parser = parse_worker_threads)]
    pub worker_threads: Option<usize>,

    /// How long in-flight requests may take to finish after SIGTERM/SIGINT.
    #[arg(long, env = "APIGW_SHUTDOWN_GRACE", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
}

/// How request throttling limits apply across the gateway nodes of one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ThrottleLimits {
    /// Each node enforces the limit divided by the number of live nodes.
    Split,
    /// Each node enforces whole limits.
    PerNode,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event: timestamp, level, target, the event's fields and the
    /// current span's.
    Json,
}

/// Flags of `apigw call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// HTTP method.
    #[arg(short = 'X', long = "request", default_value = "GET")]
    pub method: String,

    /// Extra header `Name: value` (repeatable); it is signed like every header.
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,

    /// Request body (`@file` reads a file).
    #[arg(short = 'd', long = "data")]
    pub data: Option<String>,

    /// Access key (AK) or AppKey.
    #[arg(long, env = "APIGW_CALL_KEY")]
    pub key: String,

    /// Secret key (SK) or AppSecret. Prefer the environment variable to the flag.
    #[arg(long, env = "APIGW_CALL_SECRET", hide_env_values = true)]
    pub secret: String,

    /// Print the signed request (canonical request, headers) instead of sending it.
    #[arg(long)]
    pub dry_run: bool,

    /// Print the response status line and headers too.
    #[arg(short = 'i', long = "include")]
    pub include: bool,

    /// Accept any TLS certificate (self-signed gateways).
    #[arg(short = 'k', long = "insecure")]
    pub insecure: bool,

    /// The URL to call.
    pub url: String,
}

/// Where an installation keeps its configuration: the data directory, the database and the
/// master key its secrets are sealed with (shared by `serve`, `export`, `import`, `migrate`).
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Directory for the SQLite database, the master key and generated certificates.
    #[arg(long, env = "APIGW_DATA_DIR", default_value = "apigw-data")]
    pub data_dir: PathBuf,

    /// The database: `postgres://user@host:port/db` to share one configuration among several
    /// nodes (each node then needs the same master key, given with --master-key-file or
    /// APIGW_MASTER_KEY), or `sqlite://PATH`. Default: SQLite in <data-dir>/apigw.db.
    #[arg(long, env = "APIGW_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// PostgreSQL connections this node keeps open.
    #[arg(long, env = "APIGW_DATABASE_MAX_CONNECTIONS", default_value_t = 8)]
    pub database_max_connections: u32,

    /// How long a management call waits for PostgreSQL before it fails with 503 (the data plane
    /// keeps serving from memory meanwhile).
    #[arg(long, env = "APIGW_DATABASE_TIMEOUT", default_value = "3s", value_parser = parse_duration)]
    pub database_timeout: Duration,

    /// Master key file (32 bytes, base64). Default: <data-dir>/master.key, created with mode
    /// 0600 on first start. Keep a copy: without it the stored secrets cannot be read.
    #[arg(long, env = "APIGW_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,

    /// The master key itself (base64 of 32 bytes), instead of a file. Prefer the environment
    /// variable to the flag: command lines are visible to other users.
    #[arg(long, env = "APIGW_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
}

/// Flags of `apigw export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The installation to export.
    #[command(flatten)]
    pub store: StoreArgs,

    /// File to write the dump to (JSON; secrets stay sealed with the master key). `-` for
    /// standard output.
    #[arg(long, short, default_value = "-")]
    pub output: PathBuf,
}

/// Flags of `apigw import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The installation to import into; it must be new (never served).
    #[command(flatten)]
    pub store: StoreArgs,

    /// The dump `apigw export` wrote. `-` for standard input.
    #[arg(long, short, default_value = "-")]
    pub input: PathBuf,
}

/// Flags of `apigw migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The installation to copy from.
    #[command(flatten)]
    pub store: StoreArgs,

    /// The database to copy to (`postgres://…` or `sqlite://PATH`); it must be new. The master
    /// key stays the same.
    #[arg(long)]
    pub to: String,
}
