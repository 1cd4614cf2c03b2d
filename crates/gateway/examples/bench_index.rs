//! Measures the credential index of the data plane: snapshot build time, memory per credential,
//! AppCode / AppKey lookups per second (hit and miss), and the latency of one app-level
//! `Gateway::patch` (p50/p99) next to a full `Gateway::replace`, for 1 and 1,000,000
//! credentials.
//!
//! Run in release: `cargo run --release -p apigw-gateway --example bench_index [N...]`.
//! Each credential is one app with one AppCode (the worst case per AppCode: it carries a whole
//! app entry with its AppKey and AppSecret).

use apigw_gateway::{
    ApiAuth, AppCodeHasher, AppCredential, AppPatch, AppQuota, AppUpdate, Backend, Gateway,
    GatewayConfig, GatewaySettings, GroupConfig, HttpBackend, MatchMode, Protocol, PublishedApi,
    QuotaLimit, ReqMethod, Snapshot,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Counts live heap bytes, so memory per credential is exact rather than an RSS estimate.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live_bytes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// The AppCode of credential `i`: 64 characters, like a generated one.
fn code(i: usize) -> String {
    format!("{:032x}{:032x}", i as u128 * 0x9e37_79b9_7f4a_7c15, i)
}

/// Credential `i` with the AppCode `code`.
fn credential(i: usize, code: &str, hasher: &AppCodeHasher) -> AppCredential {
    AppCredential {
        app_id: format!("{i:032x}"),
        app_name: format!("app_{i}"),
        app_key: format!("{:032x}", i as u128 * 31 + 7),
        app_secret: format!("{:032x}", i as u128 * 17 + 3),
        app_code_hashes: vec![hasher.hash(code.as_bytes())],
    }
}

fn config(n: usize, hasher: &AppCodeHasher) -> GatewayConfig {
    let apps = (0..n).map(|i| credential(i, &code(i), hasher)).collect();
    GatewayConfig {
        apps,
        ..Default::default()
    }
}

/// Runs `op` over `inputs` repeatedly for about `budget`; returns operations per second.
fn rate<T>(inputs: &[T], budget: Duration, mut op: impl FnMut(&T) -> bool) -> (f64, usize) {
    let started = Instant::now();
    let (mut ops, mut found) = (0usize, 0usize);
    while started.elapsed() < budget {
        for input in inputs {
            found += usize::from(op(input));
        }
        ops += inputs.len();
    }
    (ops as f64 / started.elapsed().as_secs_f64(), found)
}

/// The lookup inputs: AppCodes (presented and pre-hashed) and AppKeys, found and not found.
struct Inputs {
    hits: Vec<String>,
    misses: Vec<String>,
    hit_hashes: Vec<[u8; 32]>,
    miss_hashes: Vec<[u8; 32]>,
    hit_keys: Vec<String>,
    miss_keys: Vec<String>,
}

fn lookups(snapshot: &Snapshot, hasher: &AppCodeHasher, inputs: &Inputs) {
    let budget = Duration::from_millis(700);
    let Inputs {
        hits,
        misses,
        hit_hashes,
        miss_hashes,
        hit_keys,
        miss_keys,
    } = inputs;
    let report = |label: &str, (per_sec, found): (f64, usize)| {
        println!(
            "  {label:<44} {:>7.2} M/s  ({:>6.1} ns each; {found} found)",
            per_sec / 1e6,
            1e9 / per_sec
        );
    };
    report(
        "AppCode hit (HMAC of presented code + lookup)",
        rate(hits, budget, |c| {
            snapshot
                .app_id_for_code_hash(&hasher.hash(black_box(c).as_bytes()))
                .is_some()
        }),
    );
    report(
        "AppCode miss (HMAC + lookup)",
        rate(misses, budget, |c| {
            snapshot
                .app_id_for_code_hash(&hasher.hash(black_box(c).as_bytes()))
                .is_some()
        }),
    );
    report(
        "AppCode hit, lookup only (pre-hashed)",
        rate(hit_hashes, budget, |h| {
            snapshot.app_id_for_code_hash(black_box(h)).is_some()
        }),
    );
    report(
        "AppCode miss, lookup only (pre-hashed)",
        rate(miss_hashes, budget, |h| {
            snapshot.app_id_for_code_hash(black_box(h)).is_some()
        }),
    );
    report(
        "AppKey hit (signature path lookup)",
        rate(hit_keys, budget, |k| {
            snapshot.app_id_for_key(black_box(k)).is_some()
        }),
    );
    report(
        "AppKey miss",
        rate(miss_keys, budget, |k| {
            snapshot.app_id_for_key(black_box(k)).is_some()
        }),
    );
}

fn bench(n: usize) {
    let hasher = AppCodeHasher::hmac_sha256([42; 32]);
    let before = rss_bytes();
    let live_before = live_bytes();
    let t = Instant::now();
    let cfg = config(n, &hasher);
    let config_time = t.elapsed();
    let with_config = rss_bytes();

    let t = Instant::now();
    let snapshot = Snapshot::build(cfg, "apigw.local", None);
    let build_time = t.elapsed();
    let after = rss_bytes();
    let live_after = live_bytes();
    assert_eq!(snapshot.stats().app_codes, n);

    // 100,000 inputs whatever `n`, spread over all credentials, so the loop overhead (a clock
    // read per pass) is negligible.
    let sample = 100_000;
    let step = (n / sample).max(1);
    let hits: Vec<String> = (0..sample).map(|i| code((i * step) % n)).collect();
    let misses: Vec<String> = (0..sample).map(|i| code(n + i)).collect();
    let hit_hashes: Vec<[u8; 32]> = hits.iter().map(|c| hasher.hash(c.as_bytes())).collect();
    let miss_hashes: Vec<[u8; 32]> = misses.iter().map(|c| hasher.hash(c.as_bytes())).collect();
    let hit_keys: Vec<String> = (0..sample)
        .map(|i| format!("{:032x}", ((i * step) % n) as u128 * 31 + 7))
        .collect();
    let miss_keys: Vec<String> = (0..sample).map(|i| format!("nokey{i:027x}")).collect();
    println!("== {n} credential(s)");
    println!(
        "  config built in {:.1} ms; snapshot built in {:.1} ms ({:.0} ns per credential)",
        config_time.as_secs_f64() * 1e3,
        build_time.as_secs_f64() * 1e3,
        build_time.as_nanos() as f64 / n as f64
    );
    println!(
        "  heap held by the snapshot: {:.1} MiB = {:.0} bytes per credential",
        live_after.saturating_sub(live_before) as f64 / 1048576.0,
        live_after.saturating_sub(live_before) as f64 / n as f64
    );
    if n >= 1000 {
        println!(
            "  RSS: before {:.1} MiB, config {:.1} MiB, snapshot (config consumed) {:.1} MiB → {:.0} bytes per credential (snapshot), config alone {:.0} bytes per credential",
            before as f64 / 1048576.0,
            with_config as f64 / 1048576.0,
            after as f64 / 1048576.0,
            after.saturating_sub(before) as f64 / n as f64,
            with_config.saturating_sub(before) as f64 / n as f64,
        );
    }
    let inputs = Inputs {
        hits,
        misses,
        hit_hashes,
        miss_hashes,
        hit_keys,
        miss_keys,
    };
    lookups(&snapshot, &hasher, &inputs);
    let t = Instant::now();
    drop(snapshot);
    println!(
        "  snapshot dropped in {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    patches(n, &hasher, &inputs);
}

/// p50 and p99 of `samples`, in microseconds.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.99))
}

/// One `patch_blocking` per patch of `batches`; returns each one's time.
fn time_patches(gateway: &Gateway, batches: Vec<Vec<AppPatch>>) -> Vec<Duration> {
    batches
        .into_iter()
        .map(|batch| {
            let t = Instant::now();
            gateway.patch_blocking(batch);
            t.elapsed()
        })
        .collect()
}

/// Patch latency through a real [`Gateway`] holding `n` credentials, against a full rebuild.
fn patches(n: usize, hasher: &AppCodeHasher, inputs: &Inputs) {
    let rounds = 1000;
    let settings = GatewaySettings::new(hasher.clone());
    let gateway = Gateway::new(config(n, hasher), settings).expect("gateway");
    // Spread over all credentials; a different app each time.
    let pick = |r: usize| (r * 7919 + 13) % n;

    let upserts: Vec<Vec<AppPatch>> = (0..rounds)
        .map(|r| {
            let i = pick(r);
            vec![AppPatch::Upsert(AppUpdate {
                credential: credential(i, &format!("new-code-{r}-{}", code(i)), hasher),
                auths: vec![],
                acl: None,
                quota: None,
            })]
        })
        .collect();
    let (p50, p99) = percentiles(time_patches(&gateway, upserts));
    println!("  patch: Upsert of one app changing its AppCode   p50 {p50:>7.1} µs   p99 {p99:>7.1} µs  ({rounds} patches)");
    let changed = gateway.snapshot();
    assert_eq!(
        changed.app_id_for_code_hash(&hasher.hash(code(pick(0)).as_bytes())),
        None,
        "the old AppCode is revoked"
    );

    let removes: Vec<Vec<AppPatch>> = (0..rounds)
        .map(|r| vec![AppPatch::Remove(format!("{:032x}", pick(r + rounds)))])
        .collect();
    let (p50, p99) = percentiles(time_patches(&gateway, removes));
    println!("  patch: Remove of one app                        p50 {p50:>7.1} µs   p99 {p99:>7.1} µs  ({rounds} patches)");
    let stats = gateway.snapshot().stats();
    println!(
        "  after the patches: {} apps, {} AppCodes; lookups on the patched snapshot:",
        stats.apps, stats.app_codes
    );
    lookups(&gateway.snapshot(), hasher, inputs);

    // Publishing or taking an API offline replaces only the routes.
    let mut route_times: Vec<f64> = (0..100)
        .map(|r| {
            let group = GroupConfig {
                subdomain_open: true,
                id: "g".into(),
                name: "g".into(),
                is_default: true,
                domains: vec![],
                responses: None,
            };
            let api = PublishedApi {
                api_id: format!("api-{}", r % 2),
                name: "bench".into(),
                group_id: "g".into(),
                env_id: "RELEASE-id".into(),
                env_name: "RELEASE".into(),
                req_protocol: Protocol::Both,
                req_method: ReqMethod::Any,
                req_uri: format!("/bench/{r}"),
                match_mode: MatchMode::Normal,
                auth: ApiAuth::App {
                    app_code_header: true,
                },
                backend: Backend::Http(HttpBackend {
                    https: false,
                    grpc: false,
                    host: "127.0.0.1".into(),
                    port: 8080,
                    method: ReqMethod::Any,
                    path: "/".into(),
                    timeout: Duration::from_secs(5),
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
            };
            let t = Instant::now();
            gateway.replace_routes_blocking(vec![group], vec![api]);
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    route_times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "  replace_routes (publish/offline an API, apps kept) p50 {:>7.1} µs   p99 {:>7.1} µs  (100 replacements)",
        route_times[50], route_times[98]
    );

    let cfg = config(n, hasher);
    let t = Instant::now();
    gateway.replace_blocking(cfg);
    println!(
        "  full rebuild (replace_blocking; old snapshot freed in the background): {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    // Every app bound to one quota, whose terms then change (and finally the quota goes).
    let limit = |call_limit| QuotaLimit {
        call_limit,
        interval: Duration::from_secs(3600),
        reset_at_ms: None,
    };
    let mut cfg = config(n, hasher);
    cfg.quotas = (0..n)
        .map(|i| AppQuota {
            app_id: format!("{i:032x}"),
            quota_id: "shared".into(),
            limit: limit(1000),
        })
        .collect();
    gateway.replace_blocking(cfg);
    let mut quota_times: Vec<f64> = (0..100)
        .map(|r| {
            let t = Instant::now();
            gateway.set_quota_blocking("shared", Some(&limit(1000 + r)));
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let t = Instant::now();
    gateway.set_quota_blocking("shared", None);
    let deleted = t.elapsed().as_secs_f64() * 1e6;
    quota_times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "  set_quota (a quota bound to all {n} apps changed) p50 {:>7.1} µs   p99 {:>7.1} µs  (100 changes); deleted in {deleted:.1} µs",
        quota_times[50], quota_times[98]
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1, 1_000_000]
    } else {
        sizes
    };
    for n in sizes {
        bench(n);
    }
}
