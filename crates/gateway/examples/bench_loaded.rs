//! Measures end-to-end gateway throughput with 1 and with 1,000,000 app credentials loaded,
//! through the real HTTP listener, AppCode authentication, authorization and proxy: does a large
//! credential index slow the request path down? (Target: req/s flat within 10 %.)
//!
//! Run in release: `cargo run --release -p apigw-gateway --example bench_loaded`.
//!
//! The example starts a tiny hyper backend (its own thread and runtime) answering 200, builds a
//! [`Gateway`] with one DEFAULT group, one published API (`GET /bench`, auth APP with AppCode in
//! the header, protocol BOTH) and N apps (one AppCode each, each authorized for the API), serves
//! it with [`serve_http`] on a multi-thread tokio runtime with one worker thread (like
//! `scripts/bench-gateway`), and loads it with `wrk -t1 -c32 -d10s --latency` (installed as
//! `/usr/bin/wrk`; `apt-get install wrk` otherwise). The AppCode is chosen at random among the
//! loaded ones; the Lua-rotation rows send 1,000 randomly chosen loaded AppCodes in turn (a wrk
//! Lua script with pre-formatted requests) so lookups hit different parts of the index. N = 1 is
//! measured both with a fixed `-H` header and with the Lua rotation, so the 1M row is compared
//! with the same client-side cost. Prints a Markdown table with req/s, p50, p99, the ratio to
//! N = 1, the snapshot build time and the process RSS after loading.

use apigw_gateway::{
    serve_http, ApiAuth, AppCodeHasher, AppCredential, Backend, Gateway, GatewayConfig,
    GatewaySettings, GroupConfig, HttpBackend, MatchMode, Protocol, PublishedApi, ReqMethod,
};
use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rand::Rng;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

const WRK: &str = "/usr/bin/wrk";
const DURATION: &str = "10s";
const CONNECTIONS: &str = "32";
const API_ID: &str = "bench-api";
const ENV_ID: &str = "env-release";
const ROTATION: usize = 1000;

/// The AppCode of credential `i`: 64 characters, like a generated one (as in `bench_index`).
fn code(i: usize) -> String {
    format!("{:032x}{:032x}", i as u128 * 0x9e37_79b9_7f4a_7c15, i)
}

fn app_id(i: usize) -> String {
    format!("{i:032x}")
}

fn config(n: usize, hasher: &AppCodeHasher, backend: SocketAddr) -> GatewayConfig {
    let apps = (0..n)
        .map(|i| AppCredential {
            app_id: app_id(i),
            app_name: format!("app_{i}"),
            app_key: format!("{:032x}", i as u128 * 31 + 7),
            app_secret: format!("{:032x}", i as u128 * 17 + 3),
            app_code_hashes: vec![hasher.hash(code(i).as_bytes())],
        })
        .collect();
    let auths = (0..n)
        .map(|i| (app_id(i), API_ID.to_owned(), ENV_ID.to_owned()))
        .collect();
    GatewayConfig {
        groups: vec![GroupConfig {
            subdomain_open: true,
            id: "dflt".into(),
            name: "DEFAULT".into(),
            is_default: true,
            domains: vec![],
            responses: None,
        }],
        apis: vec![PublishedApi {
            api_id: API_ID.into(),
            name: "bench".into(),
            group_id: "dflt".into(),
            env_id: ENV_ID.into(),
            env_name: "RELEASE".into(),
            req_protocol: Protocol::Both,
            req_method: ReqMethod::Only(Method::GET),
            req_uri: "/bench".into(),
            match_mode: MatchMode::Normal,
            auth: ApiAuth::App {
                app_code_header: true,
            },
            backend: Backend::Http(HttpBackend {
                https: false,
                grpc: false,
                host: backend.ip().to_string(),
                port: backend.port(),
                method: ReqMethod::Only(Method::GET),
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
        }],
        apps,
        auths,
        ..Default::default()
    }
}

async fn ok(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"{\"ok\":true}",
    ))))
}

/// Starts the backend on its own thread and single-threaded runtime, so it does not compete
/// with the gateway's one worker thread.
fn start_backend() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind backend");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("backend address");
    std::thread::Builder::new()
        .name("bench-backend".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("backend runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(async move {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service_fn(ok))
                            .await;
                    });
                }
            });
        })
        .expect("backend thread");
    addr
}

/// VmRSS of this process, in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// A wrk latency such as `526.00us`, `1.23ms` or `1.05s`, in milliseconds.
fn to_ms(v: &str) -> f64 {
    let (num, factor) = if let Some(n) = v.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1e3)
    } else {
        (v, f64::NAN)
    };
    num.parse::<f64>().map_or(f64::NAN, |x| x * factor)
}

struct WrkResult {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
}

/// Runs wrk against `url` with `extra` arguments (a header or a script).
fn wrk(url: &str, duration: &str, extra: &[&str]) -> WrkResult {
    let out = Command::new(WRK)
        .args(["-t1", "-c", CONNECTIONS, "-d", duration, "--latency"])
        .args(extra)
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("running {WRK}: {e} (install it: apt-get install wrk)"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |prefix: &str, index: usize| {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(index).map(str::to_owned))
    };
    WrkResult {
        rps: field("Requests/sec:", 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN),
        p50_ms: field("50%", 1).map_or(f64::NAN, |v| to_ms(&v)),
        p99_ms: field("99%", 1).map_or(f64::NAN, |v| to_ms(&v)),
        non_2xx: field("Non-2xx or 3xx responses:", 4)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    }
}

/// A wrk Lua script sending the AppCodes in turn, requests pre-formatted at start.
fn rotation_script(codes: &[String], path: &std::path::Path) {
    let mut lua = String::from("local codes = {\n");
    for c in codes {
        let _ = writeln!(lua, "  \"{c}\",");
    }
    lua.push_str(
        "}\nlocal reqs = {}\nlocal i = 0\n\
         init = function(args)\n\
         \x20 for k, c in ipairs(codes) do\n\
         \x20   reqs[k] = wrk.format(\"GET\", nil, { [\"X-Apig-AppCode\"] = c })\n\
         \x20 end\n\
         end\n\
         request = function()\n\
         \x20 i = i % #reqs + 1\n\
         \x20 return reqs[i]\n\
         end\n",
    );
    std::fs::write(path, lua).expect("writing the wrk script");
}

struct Row {
    n: usize,
    client: &'static str,
    result: WrkResult,
    build: Duration,
    rss_mib: f64,
}

/// Checks one request answers 200 before loading the gateway.
fn sanity(port: u16, code: &str) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect gateway");
    write!(
        s,
        "GET /bench HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Apig-AppCode: {code}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut response = String::new();
    let _ = s.read_to_string(&mut response);
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "sanity check failed: {response}"
    );
}

fn bench(n: usize, backend: SocketAddr, script: &std::path::Path, rows: &mut Vec<Row>) {
    let hasher = AppCodeHasher::hmac_sha256([42; 32]);
    let mut settings = GatewaySettings::new(hasher.clone());
    settings.allow_app_code_over_http = true;
    settings.auth_failure_limit = u32::MAX;

    eprintln!("== N = {n}: building the configuration...");
    let cfg = config(n, &hasher, backend);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("gateway runtime");
    let entered = runtime.enter();
    let started = Instant::now();
    let gateway = Gateway::new(cfg, settings).expect("gateway");
    let build = started.elapsed();
    let stats = gateway.snapshot().stats();
    assert_eq!(stats.app_codes, n);
    let rss = rss_mib();
    eprintln!(
        "   snapshot built in {:.1} ms ({stats:?}); RSS {rss:.1} MiB",
        build.as_secs_f64() * 1e3
    );

    let handle = runtime
        .block_on(serve_http("127.0.0.1:0".parse().unwrap(), gateway.clone()))
        .expect("serve_http");
    let port = handle.local_addr().port();
    let url = format!("http://127.0.0.1:{port}/bench");

    let mut rng = rand::thread_rng();
    let one = code(rng.gen_range(0..n));
    sanity(port, &one);
    let rotation: Vec<String> = (0..ROTATION).map(|_| code(rng.gen_range(0..n))).collect();
    rotation_script(&rotation, script);
    let script_arg = script.to_str().expect("utf-8 temp path");
    let header = format!("X-Apig-AppCode: {one}");

    // Warm-up: connections to the gateway and the backend pool.
    wrk(&url, "2s", &["-s", script_arg]);
    let mut run = |client: &'static str, extra: &[&str]| {
        eprintln!("   wrk ({client})...");
        let result = wrk(&url, DURATION, extra);
        eprintln!(
            "   {:.0} req/s, p50 {:.3} ms, p99 {:.3} ms, non-2xx {}",
            result.rps, result.p50_ms, result.p99_ms, result.non_2xx
        );
        rows.push(Row {
            n,
            client,
            result,
            build,
            rss_mib: rss,
        });
    };
    if n == 1 {
        run("fixed -H", &["-H", &header]);
    }
    run("Lua rotation (1,000 codes)", &["-s", script_arg]);

    runtime.block_on(handle.shutdown(Duration::from_secs(1)));
    drop(gateway);
    drop(entered);
    runtime.shutdown_timeout(Duration::from_secs(1));
}

fn main() {
    if !std::path::Path::new(WRK).exists() {
        eprintln!("{WRK} not found; install it with: apt-get install wrk");
        std::process::exit(1);
    }
    let backend = start_backend();
    let script =
        std::env::temp_dir().join(format!("apigw-bench-loaded-{}.lua", std::process::id()));
    let mut rows = Vec::new();
    for n in [1, 1_000_000] {
        bench(n, backend, &script, &mut rows);
    }
    let _ = std::fs::remove_file(&script);

    println!(
        "\nwrk -t1 -c{CONNECTIONS} -d{DURATION} --latency, gateway on 1 worker thread, GET /bench with X-Apig-AppCode\n"
    );
    println!(
        "| N | client | req/s | p50 (ms) | p99 (ms) | req/s vs N=1 (same client) | non-2xx | snapshot build | RSS after load |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        let base = rows
            .iter()
            .find(|r| r.n == 1 && r.client == row.client)
            .map_or(f64::NAN, |r| r.result.rps);
        println!(
            "| {} | {} | {:.0} | {:.3} | {:.3} | {:.3} | {} | {:.1} ms | {:.1} MiB |",
            row.n,
            row.client,
            row.result.rps,
            row.result.p50_ms,
            row.result.p99_ms,
            row.result.rps / base,
            row.result.non_2xx,
            row.build.as_secs_f64() * 1e3,
            row.rss_mib,
        );
    }
}
