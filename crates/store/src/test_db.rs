//! Throwaway databases (and installations in them) for tests, so the whole suite can run on
//! SQLite and on PostgreSQL.
//!
//! `APIGW_TEST_DATABASE=postgres` selects PostgreSQL; each test then gets a database of its own
//! on the server named by `APIGW_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), created empty and dropped when it is dropped.

use crate::authz::AppQuotaSpec;
use crate::crypto::MasterKey;
use crate::{
    AuthzStore, BootstrapAdmin, BootstrapOutcome, IdentityStore, PostgresOptions, Scope, SqlStore,
    StoreResult,
};
use apigw_domain::authz::{QuotaLimits, QuotaName, QuotaNumber, TimeUnit};
use apigw_domain::AppRemark;
use sqlx::{Connection, Executor, PgConnection};

/// The variable that selects the backend tests run on.
pub const BACKEND_VAR: &str = "APIGW_TEST_DATABASE";

/// Whether tests run on PostgreSQL.
pub fn postgres_selected() -> bool {
    std::env::var(BACKEND_VAR).is_ok_and(|v| v == "postgres")
}

/// The server's maintenance database URL.
pub fn server_url() -> String {
    std::env::var("APIGW_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A PostgreSQL database that exists as long as this value does.
pub struct TestDatabase {
    /// URL of the new database.
    pub url: String,
    name: String,
}

impl TestDatabase {
    /// Creates an empty database with a unique name. Panics when the server cannot be reached:
    /// a test that asked for PostgreSQL must not pass without it.
    pub fn create() -> Self {
        let name = format!("apigw_test_{}", apigw_domain::generate::new_id());
        let server = server_url();
        run_blocking(&server, &format!("CREATE DATABASE {name}"));
        let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
        Self {
            url: format!("{base}/{name}"),
            name,
        }
    }

    /// A store on this database.
    pub async fn open(&self, master: &MasterKey) -> StoreResult<SqlStore> {
        SqlStore::open_postgres(&PostgresOptions::new(self.url.clone()), master).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        run_blocking(
            &server_url(),
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// Runs one statement on its own thread and runtime (usable from sync and async code alike).
fn run_blocking(url: &str, sql: &str) {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let mut conn = PgConnection::connect(&url)
                .await
                .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {url}: {e}"));
            conn.execute(sql.as_str())
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        })
    })
    .join()
    .expect("database set-up thread");
}

/// Where a test store lives: a temporary SQLite directory or a throwaway PostgreSQL database.
pub enum TestPlace {
    /// SQLite in a temporary directory.
    Sqlite(tempfile::TempDir),
    /// A PostgreSQL database.
    Postgres(TestDatabase),
}

/// A fresh empty store on the backend the tests run on, and the place to keep alive with it.
pub async fn open_store(master: &MasterKey) -> (TestPlace, SqlStore) {
    if postgres_selected() {
        let db = TestDatabase::create();
        let store = db.open(master).await.expect("open PostgreSQL store");
        (TestPlace::Postgres(db), store)
    } else {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqlStore::open(&dir.path().join("t.db"), master)
            .await
            .expect("open SQLite store");
        (TestPlace::Sqlite(dir), store)
    }
}

/// A fresh store with the first-start installation in it, and the scope of the admin
/// project's default instance.
pub async fn bootstrapped_store(master: &MasterKey) -> (TestPlace, SqlStore, Scope) {
    let (place, store) = open_store(master).await;
    let BootstrapOutcome::Created {
        project_id,
        instance_id,
        ..
    } = store
        .bootstrap(BootstrapAdmin {
            password_hash: "x".into(),
        })
        .await
        .expect("bootstrap")
    else {
        panic!("a fresh store was set up already");
    };
    let scope = Scope {
        project_id,
        instance_id,
    };
    (place, store, scope)
}

/// Creates app quota `name` (`calls` a minute, windows from each app's first call) and binds
/// `apps` to it; its id.
pub async fn quota_per_minute(
    store: &SqlStore,
    scope: &Scope,
    name: &str,
    calls: i64,
    apps: &[String],
) -> String {
    let quota = store
        .create_app_quota(
            scope,
            AppQuotaSpec {
                name: QuotaName::parse(name).expect("quota name"),
                limits: QuotaLimits {
                    call_limits: QuotaNumber::from_i64(calls).expect("call limit"),
                    time_unit: TimeUnit::Minute,
                    time_interval: QuotaNumber::from_i64(1).expect("one"),
                    reset_time: None,
                },
                remark: AppRemark::empty(),
            },
        )
        .await
        .expect("create quota")
        .id;
    store
        .bind_app_quota(scope, &quota, apps)
        .await
        .expect("bind apps");
    quota
}
