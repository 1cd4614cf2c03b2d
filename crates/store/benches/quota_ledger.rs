//! The cost of one exchange with the quota ledger, as a node pays it every
//! `--quota-sync-interval` (1 s by default): adding the reports of N apps that made calls
//! since the last exchange, and reading the rows changed since the last read.
//!
//! Run: `cargo bench -p apigw-store --bench quota_ledger -- [--apps N]...` (several `--apps`
//! for several sizes; default 1000 and 10000), on SQLite (a file with `synchronous=FULL`)
//! or, with `APIGW_TEST_DATABASE=postgres`, on a fresh PostgreSQL database.
//!
//! The installation (N apps bound to one quota) is made in one import: an app and its
//! binding are created through the store, exported, copied N times and imported into a
//! fresh store. Each figure is the median of 5 exchanges; the reference is the exchange
//! interval the node has for it (1 s by default), and a single-app exchange measured in the same run.

use apigw_domain::generate::{new_app_key, new_app_secret, new_id};
use apigw_domain::{AppName, AppRemark};
use apigw_store::crypto::MasterKey;
use apigw_store::ledger::{QuotaLedgerStore, QuotaUsageReport};
use apigw_store::test_db::{
    bootstrapped_store, open_store, postgres_selected, quota_per_minute, TestPlace,
};
use apigw_store::{AppLimits, AppStore, DumpValue, NewApp, Scope, SqlStore};
use std::time::{Duration, Instant};

const MINUTE_MS: i64 = 60_000;

/// The default `--quota-sync-interval`: the time a node has for one exchange.
const INTERVAL: Duration = Duration::from_secs(1);

/// A store holding `apps` apps bound to one quota: the store, its place, the scope, the app
/// ids and the quota id.
async fn installation(apps: usize) -> (TestPlace, SqlStore, Scope, Vec<String>, String) {
    let master = MasterKey::generate();
    let (_seed_place, seed, scope) = bootstrapped_store(&master).await;
    let app = NewApp {
        name: AppName::parse("bench_app", "name").unwrap(),
        remark: AppRemark::empty(),
        app_key: new_app_key(),
        app_secret: new_app_secret(),
        created_by: "bench".into(),
    };
    let limits = AppLimits {
        per_instance: 10,
        per_creator: None,
    };
    let app_id = seed.create_app(&scope, app, limits).await.unwrap().id;
    let quota = quota_per_minute(
        &seed,
        &scope,
        "bench_quota",
        1_000_000,
        std::slice::from_ref(&app_id),
    )
    .await;

    // The one app and its binding, copied: new id, name and AppKey each.
    let mut dump = seed.export().await.unwrap();
    let mut ids = vec![app_id.clone()];
    for _ in 1..apps {
        ids.push(new_id());
    }
    for table in &mut dump.tables {
        let column = |name: &str| table.columns.iter().position(|c| c == name);
        match table.name.as_str() {
            "apps" => {
                let (id, name, key) = (
                    column("id").unwrap(),
                    column("name").unwrap(),
                    column("app_key").unwrap(),
                );
                let template = table.rows[0].clone();
                for (n, new) in ids.iter().enumerate().skip(1) {
                    let mut row = template.clone();
                    row[id] = DumpValue::Text(new.clone());
                    row[name] = DumpValue::Text(format!("bench_app_{n}"));
                    row[key] = DumpValue::Text(new_app_key().as_str().to_owned());
                    table.rows.push(row);
                }
            }
            "app_quota_bindings" => {
                let app = column("app_id").unwrap();
                let template = table.rows[0].clone();
                for new in ids.iter().skip(1) {
                    let mut row = template.clone();
                    row[app] = DumpValue::Text(new.clone());
                    table.rows.push(row);
                }
            }
            _ => {}
        }
    }
    let (place, store) = open_store(&master).await;
    store.import(&dump).await.unwrap();
    (place, store, scope, ids, quota)
}

/// The reports of `ids` for the window starting at `window_start_ms`, one call each.
fn reports(ids: &[String], quota: &str, window_start_ms: i64) -> Vec<QuotaUsageReport> {
    ids.iter()
        .map(|id| QuotaUsageReport {
            app_id: id.clone(),
            app_quota_id: quota.to_owned(),
            window_start_ms,
            interval_ms: MINUTE_MS,
            calls: 1,
        })
        .collect()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median time of 5 runs of `f`.
async fn timed<F, Fut>(mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut samples = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        f().await;
        samples.push(started.elapsed());
    }
    median(samples)
}

async fn measure(apps: usize) {
    let (_place, store, scope, ids, quota) = installation(apps).await;
    let window = 1_780_000_000_000;
    // The rows exist after the first exchange; later ones update them (the steady state).
    store
        .add_quota_usage(&reports(&ids, &quota, window))
        .await
        .unwrap();
    let one = reports(&ids[..1], &quota, window);
    let all = reports(&ids, &quota, window);
    let write_one = timed(|| async { store.add_quota_usage(&one).await.unwrap() }).await;
    let write_all = timed(|| async { store.add_quota_usage(&all).await.unwrap() }).await;
    let read_all = timed(|| async {
        let read = store
            .quota_usage_since(&scope.instance_id, i64::MIN)
            .await
            .unwrap();
        assert_eq!(read.tallies.len(), apps);
    })
    .await;
    let read_none = timed(|| async {
        let read = store
            .quota_usage_since(&scope.instance_id, i64::MAX)
            .await
            .unwrap();
        assert!(read.tallies.is_empty());
    })
    .await;
    let exchange = write_all + read_all;
    println!(
        "| {apps} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} % | {:.0}x |",
        ms(write_one),
        ms(write_all),
        ms(read_none),
        ms(read_all),
        ms(exchange),
        exchange.as_secs_f64() / INTERVAL.as_secs_f64() * 100.0,
        exchange.as_secs_f64() / (write_one + read_none).as_secs_f64(),
    );
}

fn main() {
    let mut sizes = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--apps" {
            sizes.push(args.next().and_then(|n| n.parse().ok()).expect("--apps N"));
        }
    }
    if sizes.is_empty() {
        sizes = vec![1000, 10_000];
    }
    let backend = if postgres_selected() {
        "PostgreSQL"
    } else {
        "SQLite (synchronous=FULL)"
    };
    println!("quota ledger exchange on {backend}, median of 5, ms");
    println!();
    println!("| apps reporting | write 1 app | write all | read, nothing changed | read all | exchange (write all + read all) | of a 1 s interval | vs a 1-app exchange |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for apps in sizes {
        rt.block_on(measure(apps));
    }
}
