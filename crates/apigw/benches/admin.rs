//! Management-plane throughput on SQLite with durable commits (`synchronous=FULL`, WAL).
//!
//! Run: `cargo bench -p apigw --bench admin -- [--requests N] [--concurrency C]`
//!
//! Starts the release `apigw` binary on a fresh data directory and measures, in one run:
//! - reference 1: a bare SQLite insert+commit with the same durability settings, in the same
//!   directory (the floor any durable write pays);
//! - reference 2: `GET /health` over HTTP (the floor of a request through the server);
//! - `POST /apps` (create app) and `PUT /apps/{id}/app-codes` (generate AppCode),
//!   each as operations per second with p50/p99 latency and ratios to the references.

use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Figures {
    ops_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

/// Runs `total` calls of `op(i)` over `threads` threads; `op` returns true on success.
fn load(total: usize, threads: usize, op: Arc<dyn Fn(usize) -> bool + Send + Sync>) -> Figures {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let next = next.clone();
            let op = op.clone();
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let t = Instant::now();
                    assert!(op(i), "operation {i} failed");
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                lat
            })
        })
        .collect();
    let mut lat: Vec<f64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let elapsed = started.elapsed().as_secs_f64();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Figures {
        ops_per_sec: total as f64 / elapsed,
        p50_ms: percentile(&lat, 0.5),
        p99_ms: percentile(&lat, 0.99),
    }
}

/// The floor a durable store gives: one connection inserting a row and committing, `total`
/// times (SQLite in WAL with `synchronous=FULL`, as the server runs it, or PostgreSQL).
fn bare_commit_floor(url: &str, total: usize) -> Figures {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::{Connection, Executor};
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
        if url.starts_with("sqlite:") {
            conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
                .await
                .unwrap();
        }
        conn.execute("CREATE TABLE floor_t (id TEXT PRIMARY KEY, v TEXT NOT NULL)")
            .await
            .unwrap();
        let mut lat = Vec::with_capacity(total);
        let started = Instant::now();
        for i in 0..total {
            let t = Instant::now();
            let mut tx = conn.begin().await.unwrap();
            sqlx::query("INSERT INTO floor_t (id, v) VALUES ($1, $2)")
                .bind(format!("{i:032x}"))
                .bind("x".repeat(200))
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let elapsed = started.elapsed().as_secs_f64();
        lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
        Figures {
            ops_per_sec: total as f64 / elapsed,
            p50_ms: percentile(&lat, 0.5),
            p99_ms: percentile(&lat, 0.99),
        }
    })
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let total = arg("--requests", 2000);
    let threads = arg("--concurrency", 8);
    // `--postgres`: the same run on a throwaway PostgreSQL database (APIGW_TEST_POSTGRES_URL's
    // server) instead of SQLite.
    let postgres = std::env::args()
        .any(|a| a == "--postgres")
        .then(apigw_store::test_db::TestDatabase::create);
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_apigw"));
    if let Some(db) = &postgres {
        command
            .env("APIGW_DATABASE_URL", &db.url)
            .env("APIGW_MASTER_KEY_FILE", dir.path().join("master.key"));
    }
    let mut child = command
        .args([
            "serve",
            "--admin-listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path())
        .args(["--max-apps-per-instance", "100000000"])
        .env("APIGW_ADMIN_PASSWORD", "bench-password")
        .env("APIGW_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start apigw");
    let base = format!("http://127.0.0.1:{port}");
    let client = Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .get(format!("{base}/health"))
        .send()
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let login = client
        .post(format!("{base}/v3/auth/tokens"))
        .json(&json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "password": "bench-password", "domain": {"name": "Default"}}}}, "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}))
        .send()
        .unwrap();
    let token = login.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = login.json().unwrap();
    let project = body["token"]["project"]["id"].as_str().unwrap().to_owned();
    let instances: Value = client
        .get(format!("{base}/v2/{project}/apigw/instances"))
        .header("X-Auth-Token", &token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let instance = instances["instances"][0]["id"].as_str().unwrap().to_owned();
    let apps_url = format!("{base}/v2/{project}/apigw/instances/{instance}/apps");

    let (floor_name, floor) = match &postgres {
        Some(db) => (
            "bare PostgreSQL insert+commit (reference, 1 connection)",
            bare_commit_floor(&db.url, total),
        ),
        None => (
            "bare SQLite insert+commit (reference, 1 connection)",
            bare_commit_floor(
                &format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("floor.db").display()
                ),
                total,
            ),
        ),
    };

    let c = client.clone();
    let health_url = format!("{base}/health");
    let health = load(
        total,
        threads,
        Arc::new(move |_| {
            c.get(&health_url)
                .send()
                .map(|r| r.status() == 200)
                .unwrap_or(false)
        }),
    );

    let (c, t, u) = (client.clone(), token.clone(), apps_url.clone());
    let create = load(
        total,
        threads,
        Arc::new(move |i| {
            c.post(&u)
                .header("X-Auth-Token", &t)
                .json(&json!({"name": format!("bench_app_{i}"), "remark": "benchmark"}))
                .send()
                .map(|r| r.status() == 201)
                .unwrap_or(false)
        }),
    );

    // Targets for AppCodes: one app per five codes (the per-app limit).
    let listing: Value = client
        .get(format!("{apps_url}?limit=500"))
        .header("X-Auth-Token", &token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let mut app_ids: Vec<String> = listing["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    let needed = total.div_ceil(5);
    let mut extra = 0;
    while app_ids.len() < needed {
        let r: Value = client
            .post(&apps_url)
            .header("X-Auth-Token", &token)
            .json(&json!({"name": format!("code_host_{extra}")}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        app_ids.push(r["id"].as_str().unwrap().to_owned());
        extra += 1;
    }
    let app_ids = Arc::new(app_ids);
    let (c, t, u) = (client.clone(), token.clone(), apps_url.clone());
    let generate = load(
        total,
        threads,
        Arc::new(move |i| {
            c.put(format!("{u}/{}/app-codes", app_ids[i / 5]))
                .header("X-Auth-Token", &t)
                .send()
                .map(|r| r.status() == 201)
                .unwrap_or(false)
        }),
    );

    unsafe_terminate(&mut child);

    println!(
        "requests per measurement: {total}, client threads: {threads}, machine: {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    println!();
    let store = if postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("| measurement | ops/s | p50 ms | p99 ms | vs bare {store} commit | vs GET /health |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, f) in [
        (floor_name, &floor),
        ("GET /health (reference)", &health),
        ("POST /apps (create app)", &create),
        ("PUT /apps/{id}/app-codes (generate AppCode)", &generate),
    ] {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:.2}x | {:.3}x |",
            f.ops_per_sec,
            f.p50_ms,
            f.p99_ms,
            f.ops_per_sec / floor.ops_per_sec,
            f.ops_per_sec / health.ops_per_sec
        );
    }
}

fn unsafe_terminate(child: &mut std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
}
