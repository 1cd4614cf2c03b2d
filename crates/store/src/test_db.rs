//! Throwaway databases for tests, so the whole suite can run on SQLite and on PostgreSQL.
//!
//! `APIGW_TEST_DATABASE=postgres` selects PostgreSQL; each test then gets a database of its own
//! on the server named by `APIGW_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), created empty and dropped when it is dropped.

use crate::crypto::MasterKey;
use crate::{PostgresOptions, SqlStore, StoreResult};
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
