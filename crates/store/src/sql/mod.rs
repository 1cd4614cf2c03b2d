//! The SQL store: one implementation of [`Store`](crate::Store) for both backends, written once
//! against sqlx's `Any` driver with `$n` placeholders (which SQLite and PostgreSQL both accept).
//!
//! * **SQLite** (the default): one file, WAL journal, `synchronous=FULL` so a commit that returned
//!   survives a crash. All writes go through a single-connection pool, which serialises them.
//! * **PostgreSQL** (`--database-url postgres://…`, several nodes on one database): every write
//!   transaction first takes one transaction-scoped advisory lock, so writes from all nodes are
//!   serialised exactly as SQLite's single writer serialises them, and every count limit and
//!   uniqueness check inside a transaction stays race-free; unique constraints back them up.
//!
//! Every transaction that changes what the data plane serves (apps, AppCodes, APIs,
//! authorizations, instances) also advances the one-row `revision` counter; see [`crate::revision`].

mod acl_policies;
mod apis;
mod apps;
mod authz;
mod bindings;
mod builder;
mod certificates;
mod env_variables;
mod export;
mod expr;
mod features;
mod gateway_responses;
mod group_domains;
mod ledger;
mod member_groups;
mod member_health;
mod nodes;
mod plugins;
mod sign_keys;
mod throttle_counts;
mod throttles;
mod vpc_channels;

mod identity;

pub use export::{Dump, DumpTable, DumpValue, ImportSummary, DUMP_FORMAT};

use crate::crypto::{MasterKey, Sealer};
use crate::model::*;
use crate::revision;
use crate::{AppStore, IdentityStore, RevisionStore, StoreError, StoreResult};
use apigw_domain::generate::new_id;
use apigw_domain::{AppCodeValue, AppKey, AppName, AppRemark, AppSecret, Page, Timestamp};
use async_trait::async_trait;
use builder::SqlBuilder as QueryBuilder;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyConnection, AnyPool, Executor, Row, Transaction};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// Which database a [`SqlStore`] talks to; the few statements that differ ask this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server shared by several nodes.
    Postgres,
}

/// How to reach PostgreSQL, and how long to wait for it before a call fails with a 5xx.
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// `postgres://user@host:port/database`.
    pub url: String,
    /// Connections this node keeps open.
    pub max_connections: u32,
    /// How long a call waits for a connection before it fails (a store outage answers fast).
    pub acquire_timeout: Duration,
}

impl PostgresOptions {
    /// Defaults fit for a management plane: 8 connections, fail after 3 s.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 8,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

/// The SQL implementation of [`Store`](crate::Store) (SQLite or PostgreSQL).
#[derive(Clone)]
pub struct SqlStore {
    writer: AnyPool,
    reader: AnyPool,
    sealer: Sealer,
    backend: Backend,
    url: String,
}

/// The key of the advisory lock that serialises PostgreSQL write transactions ("apigw" in ASCII).
const WRITE_LOCK_KEY: i64 = 0x61_70_69_67_77;

const KEY_CHECK: &str = "master_key_check";
const KEY_CHECK_PLAIN: &[u8] = b"apigw master key check";

const APP_COLUMNS: &str = "a.id, a.instance_id, a.name, a.remark, a.app_key, a.secret_enc, \
     a.creator, a.status, a.app_type, a.created_by, a.register_time, a.update_time, \
     (SELECT COUNT(*) FROM app_auths x WHERE x.app_id = a.id) AS bind_num";

fn secret_context(app_id: &str) -> String {
    format!("app_secret:{app_id}")
}

fn code_context(code_id: &str) -> String {
    format!("app_code:{code_id}")
}

fn access_key_context(access: &str) -> String {
    format!("access_key:{access}")
}

#[async_trait]
impl RevisionStore for SqlStore {
    async fn revision(&self) -> StoreResult<i64> {
        Ok(sqlx::query("SELECT n FROM revision WHERE id = 1")
            .fetch_one(&self.reader)
            .await?
            .try_get("n")?)
    }
}

/// A transaction that changes served configuration, and the revision it will commit as.
struct ConfigTx {
    tx: Transaction<'static, Any>,
    revision: i64,
}

impl ConfigTx {
    /// Commits, then tells the enclosing [`revision::track`] which revision it was.
    async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await?;
        revision::record(self.revision);
        Ok(())
    }
}

impl std::ops::Deref for ConfigTx {
    type Target = AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for ConfigTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// Statements every new SQLite connection runs: the settings SQLite keeps per connection.
const SQLITE_SESSION: &str =
    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL; \
     PRAGMA cache_size = -32768;";

impl SqlStore {
    /// Opens (creating if needed) the SQLite database file, runs migrations and checks that
    /// `master` can open the secrets already stored.
    pub async fn open(path: &Path, master: &MasterKey) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let url = |mode: &str| {
            let mut url = url_from_path(path);
            url.set_query(Some(&format!("mode={mode}")));
            AnyConnectOptions::from_str(url.as_str())
                .map_err(|e| StoreError::Unavailable(e.to_string()))
        };
        let writer = AnyPoolOptions::new()
            .max_connections(1)
            .after_connect(|conn, _| Box::pin(async move { sqlite_session(conn).await }))
            .connect_with(url("rwc")?)
            .await?;
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&writer)
            .await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&writer)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))?;
        let reader = AnyPoolOptions::new()
            .max_connections(4)
            .after_connect(|conn, _| Box::pin(async move { sqlite_session(conn).await }))
            .connect_with(url("ro")?)
            .await?;
        let url = url("rw")?.database_url.to_string();
        Self::finish_open(writer, reader, master, Backend::Sqlite, url).await
    }

    /// Connects to PostgreSQL, runs migrations (several nodes starting at once on an empty
    /// database run them exactly once: sqlx holds an advisory lock while migrating) and checks
    /// that `master` can open the secrets already stored.
    pub async fn open_postgres(options: &PostgresOptions, master: &MasterKey) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let connect = AnyConnectOptions::from_str(&options.url)
            .map_err(|e| StoreError::Unavailable(format!("bad database URL: {e}")))?;
        let pool = AnyPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))?;
        Self::finish_open(
            pool.clone(),
            pool,
            master,
            Backend::Postgres,
            options.url.clone(),
        )
        .await
    }

    async fn finish_open(
        writer: AnyPool,
        reader: AnyPool,
        master: &MasterKey,
        backend: Backend,
        url: String,
    ) -> StoreResult<Self> {
        let store = Self {
            writer,
            reader,
            sealer: Sealer::new(master),
            backend,
            url,
        };
        store.check_master_key().await?;
        Ok(store)
    }

    /// The database this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL the store was opened with (it may hold a password: do not log it).
    pub fn database_url(&self) -> &str {
        &self.url
    }

    /// A write transaction that does not touch what the data plane serves (identity).
    async fn write_tx(&self) -> StoreResult<Transaction<'static, Any>> {
        let mut tx = self.writer.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT 1 AS locked FROM pg_advisory_xact_lock($1)")
                .bind(WRITE_LOCK_KEY)
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// A write transaction on configuration the data plane serves: also advances the revision
    /// counter; its commit records the new revision for the change feed ([`crate::revision`]).
    async fn config_tx(&self) -> StoreResult<ConfigTx> {
        let mut tx = self.write_tx().await?;
        let revision: i64 = sqlx::query("UPDATE revision SET n = n + 1 WHERE id = 1 RETURNING n")
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        Ok(ConfigTx { tx, revision })
    }

    /// A read transaction whose statements all see one snapshot (a page and its total agree).
    async fn read_tx(&self) -> StoreResult<Transaction<'static, Any>> {
        let mut tx = self.reader.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// Sends `payload` to every session listening on `channel` (PostgreSQL only; elsewhere a
    /// no-op, since one SQLite file has one node).
    pub async fn notify(&self, channel: &str, payload: &str) -> StoreResult<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT 1 AS sent FROM pg_notify($1, $2)")
                .bind(channel)
                .bind(payload)
                .execute(&self.writer)
                .await?;
        }
        Ok(())
    }

    /// Refuses a master key that cannot open what is stored; records a check value on first use.
    async fn check_master_key(&self) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query("SELECT value FROM meta WHERE key = $1")
            .bind(KEY_CHECK)
            .fetch_optional(&mut *tx)
            .await?;
        match row {
            Some(row) => {
                let sealed: String = row.try_get("value")?;
                let plain = self.sealer.open(&sealed, KEY_CHECK).map_err(|e| {
                    StoreError::Corrupt(format!(
                        "the master key cannot decrypt this database's secrets ({e}); \
                         start with the key this database was created with"
                    ))
                })?;
                if plain != KEY_CHECK_PLAIN {
                    return Err(StoreError::Corrupt("master key check value differs".into()));
                }
                Ok(())
            }
            None => {
                sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2)")
                    .bind(KEY_CHECK)
                    .bind(self.sealer.seal(KEY_CHECK_PLAIN, KEY_CHECK))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    }

    /// Closes the pools (checkpointing SQLite's WAL).
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    fn app_from_row(&self, row: &AnyRow) -> StoreResult<App> {
        let id: String = row.try_get("id")?;
        let sealed: String = row.try_get("secret_enc")?;
        let secret = self.sealer.open_string(&sealed, &secret_context(&id))?;
        Ok(App {
            instance_id: row.try_get("instance_id")?,
            name: trusted_name(row.try_get("name")?)?,
            remark: AppRemark::parse(&row.try_get::<String, _>("remark")?, "remark")
                .map_err(|_| StoreError::Corrupt("stored remark breaks the rules".into()))?,
            app_key: AppKey::from_trusted(row.try_get("app_key")?),
            app_secret: AppSecret::from_trusted(secret),
            creator: row.try_get("creator")?,
            status: row.try_get("status")?,
            app_type: row.try_get("app_type")?,
            created_by: row.try_get("created_by")?,
            register_time: Timestamp::from_nanos(row.try_get("register_time")?),
            update_time: Timestamp::from_nanos(row.try_get("update_time")?),
            bind_num: row.try_get("bind_num")?,
            id,
        })
    }

    fn code_from_row(&self, row: &AnyRow) -> StoreResult<AppCode> {
        let id: String = row.try_get("id")?;
        let sealed: String = row.try_get("value_enc")?;
        let value = self.sealer.open_string(&sealed, &code_context(&id))?;
        Ok(AppCode {
            app_id: row.try_get("app_id")?,
            value: AppCodeValue::from_trusted(value),
            create_time: Timestamp::from_nanos(row.try_get("create_time")?),
            id,
        })
    }

    async fn fetch_app(
        &self,
        exec: impl Executor<'_, Database = Any>,
        scope: &Scope,
        id: &str,
    ) -> StoreResult<Option<App>> {
        let sql = format!(
            "SELECT {APP_COLUMNS} FROM apps a JOIN instances i ON i.id = a.instance_id \
             WHERE i.project_id = $1 AND a.instance_id = $2 AND a.id = $3"
        );
        let row = sqlx::query(&sql)
            .bind(&scope.project_id)
            .bind(&scope.instance_id)
            .bind(id)
            .fetch_optional(exec)
            .await?;
        row.map(|r| self.app_from_row(&r)).transpose()
    }

    /// The scope's instance, checked inside the transaction (it may have just been deleted):
    /// `NotFound` when it is gone.
    async fn check_instance(conn: &mut AnyConnection, scope: &Scope) -> StoreResult<()> {
        let found = sqlx::query("SELECT 1 FROM instances WHERE project_id = $1 AND id = $2")
            .bind(&scope.project_id)
            .bind(&scope.instance_id)
            .fetch_optional(conn)
            .await?;
        found.map(|_| ()).ok_or(StoreError::NotFound)
    }

    async fn app_in_scope(tx: &mut AnyConnection, scope: &Scope, id: &str) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM apps a JOIN instances i ON i.id = a.instance_id \
             WHERE i.project_id = $1 AND a.instance_id = $2 AND a.id = $3",
        )
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        Ok(row.is_some())
    }

    async fn exists(
        tx: &mut AnyConnection,
        sql: &str,
        a: &str,
        b: &str,
        except_id: &str,
    ) -> StoreResult<bool> {
        Ok(sqlx::query(sql)
            .bind(a)
            .bind(b)
            .bind(except_id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some())
    }

    /// Whether another row of `table` in `scope`'s instance is called `name` (`except_id` is
    /// the row being renamed, `""` for a new one): the uniqueness check of every resource
    /// named per instance.
    async fn name_taken_in_instance(
        tx: &mut AnyConnection,
        table: &'static str,
        scope: &Scope,
        name: &str,
        except_id: &str,
    ) -> StoreResult<bool> {
        let sql =
            format!("SELECT 1 FROM {table} WHERE instance_id = $1 AND name = $2 AND id <> $3");
        Self::exists(tx, &sql, &scope.instance_id, name, except_id).await
    }

    /// How many rows of `table` `scope`'s instance holds: what a resource's per-instance
    /// limit is checked against.
    async fn rows_in_instance(
        tx: &mut AnyConnection,
        table: &'static str,
        scope: &Scope,
    ) -> StoreResult<i64> {
        let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE instance_id = $1");
        Ok(sqlx::query(&sql)
            .bind(&scope.instance_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?)
    }

    async fn insert_instance(
        tx: &mut AnyConnection,
        project_id: &str,
        name: &str,
        description: &str,
    ) -> StoreResult<Instance> {
        let instance = Instance {
            id: new_id(),
            project_id: project_id.to_owned(),
            name: name.to_owned(),
            description: description.to_owned(),
            status: "Running".to_owned(),
            created_at: Timestamp::now(),
        };
        sqlx::query(
            "INSERT INTO instances (id, project_id, name, description, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&instance.id)
        .bind(&instance.project_id)
        .bind(&instance.name)
        .bind(&instance.description)
        .bind(&instance.status)
        .bind(instance.created_at.nanos())
        .execute(&mut *tx)
        .await?;
        apis::insert_instance_defaults(tx, &instance.id, instance.created_at).await?;
        Ok(instance)
    }

    async fn insert_project(tx: &mut AnyConnection, p: &NewProject) -> StoreResult<Project> {
        let taken = sqlx::query("SELECT 1 FROM projects WHERE domain_id = $1 AND name = $2")
            .bind(&p.domain_id)
            .bind(&p.name)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Duplicate);
        }
        let domain = sqlx::query("SELECT 1 FROM domains WHERE id = $1")
            .bind(&p.domain_id)
            .fetch_optional(&mut *tx)
            .await?;
        if domain.is_none() {
            return Err(StoreError::NotFound);
        }
        let project = Project {
            id: new_id(),
            domain_id: p.domain_id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            enabled: true,
        };
        sqlx::query(
            "INSERT INTO projects (id, domain_id, name, description, enabled, created_at) \
             VALUES ($1, $2, $3, $4, 1, $5)",
        )
        .bind(&project.id)
        .bind(&project.domain_id)
        .bind(&project.name)
        .bind(&project.description)
        .bind(Timestamp::now().nanos())
        .execute(&mut *tx)
        .await?;
        Ok(project)
    }

    async fn insert_user(tx: &mut AnyConnection, u: &NewUser) -> StoreResult<User> {
        let taken = sqlx::query("SELECT 1 FROM users WHERE domain_id = $1 AND name = $2")
            .bind(&u.domain_id)
            .bind(&u.name)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Duplicate);
        }
        if let Some(p) = &u.default_project_id {
            let exists = sqlx::query("SELECT 1 FROM projects WHERE id = $1")
                .bind(p)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Err(StoreError::NotFound);
            }
        }
        let user = User {
            id: new_id(),
            domain_id: u.domain_id.clone(),
            name: u.name.clone(),
            default_project_id: u.default_project_id.clone(),
            enabled: true,
        };
        sqlx::query(
            "INSERT INTO users (id, domain_id, name, password_hash, default_project_id, enabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, 1, $6)",
        )
        .bind(&user.id)
        .bind(&user.domain_id)
        .bind(&user.name)
        .bind(&u.password_hash)
        .bind(&user.default_project_id)
        .bind(Timestamp::now().nanos())
        .execute(&mut *tx)
        .await?;
        Ok(user)
    }

    fn access_key_from_row(row: &AnyRow) -> StoreResult<AccessKey> {
        let status: String = row.try_get("status")?;
        Ok(AccessKey {
            access: row.try_get("access")?,
            user_id: row.try_get("user_id")?,
            status: AccessKeyStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("access key status {status}")))?,
            description: row.try_get("description")?,
            created_at: Timestamp::from_nanos(row.try_get("created_at")?),
        })
    }
}

/// Tables whose rows belong to an instance and are addressed by `id` (a closed set: the name
/// goes into SQL).
#[derive(Clone, Copy)]
enum ScopedTable {
    Apps,
    Apis,
    AppQuotas,
    Throttles,
}

impl ScopedTable {
    fn as_str(self) -> &'static str {
        match self {
            Self::Apps => "apps",
            Self::Apis => "apis",
            Self::AppQuotas => "app_quotas",
            Self::Throttles => "throttles",
        }
    }
}

impl SqlStore {
    /// Deletes row `id` of `table` if it is in `scope` (its instance, in its project); false if
    /// there is none, so another project's row is as missing as one that never existed.
    async fn delete_scoped(
        &self,
        table: ScopedTable,
        scope: &Scope,
        id: &str,
    ) -> StoreResult<bool> {
        let sql = format!(
            "DELETE FROM {} WHERE id = $1 AND instance_id = $2 \
             AND instance_id IN (SELECT id FROM instances WHERE project_id = $3)",
            table.as_str()
        );
        let mut tx = self.config_tx().await?;
        let r = sqlx::query(&sql)
            .bind(id)
            .bind(&scope.instance_id)
            .bind(&scope.project_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(r.rows_affected() > 0)
    }
}

/// The pagination every list call shares: counts the rows `filter` selects and fetches one page
/// of them (`columns`, ordered by what `order` pushes) in the caller's transaction, so the total
/// and the page agree.
async fn page_rows<'a>(
    tx: &mut AnyConnection,
    columns: &str,
    filter: impl Fn(&mut QueryBuilder<'a>),
    order: impl FnOnce(&mut QueryBuilder<'a>),
    page: Page,
) -> StoreResult<(i64, Vec<AnyRow>)> {
    let mut count = QueryBuilder::new("SELECT COUNT(*) AS n");
    filter(&mut count);
    let total: i64 = count.build().fetch_one(&mut *tx).await?.try_get("n")?;
    let mut items = QueryBuilder::new(format!("SELECT {columns}"));
    filter(&mut items);
    order(&mut items);
    items
        .push(" LIMIT ")
        .push_bind(page.limit)
        .push(" OFFSET ")
        .push_bind(page.offset);
    let rows = items.build().fetch_all(&mut *tx).await?;
    Ok((total, rows))
}

/// [`page_rows`] in the read transaction `tx`, which it then ends, with each row read by `read`:
/// the total and the page.
async fn read_page<'a, T>(
    mut tx: Transaction<'static, Any>,
    columns: &str,
    filter: impl Fn(&mut QueryBuilder<'a>),
    order: &'static str,
    page: Page,
    read: impl Fn(&AnyRow) -> StoreResult<T>,
) -> StoreResult<(i64, Vec<T>)> {
    let (total, rows) = page_rows(
        &mut tx,
        columns,
        filter,
        |q| {
            q.push(order);
        },
        page,
    )
    .await?;
    tx.commit().await?;
    let items = rows.iter().map(read).collect::<StoreResult<Vec<_>>>()?;
    Ok((total, items))
}

fn trusted_name(s: String) -> StoreResult<AppName> {
    AppName::parse(&s, "name")
        .map_err(|_| StoreError::Corrupt("stored app name breaks the rules".into()))
}

fn project_from_row(row: &AnyRow) -> StoreResult<Project> {
    Ok(Project {
        id: row.try_get("id")?,
        domain_id: row.try_get("domain_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
    })
}

fn user_from_row(row: &AnyRow) -> StoreResult<UserWithSecret> {
    Ok(UserWithSecret {
        user: User {
            id: row.try_get("id")?,
            domain_id: row.try_get("domain_id")?,
            name: row.try_get("name")?,
            default_project_id: row.try_get("default_project_id")?,
            enabled: row.try_get::<i64, _>("enabled")? != 0,
        },
        password_hash: row.try_get("password_hash")?,
    })
}

fn instance_from_row(row: &AnyRow) -> StoreResult<Instance> {
    Ok(Instance {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        status: row.try_get("status")?,
        created_at: Timestamp::from_nanos(row.try_get("created_at")?),
    })
}

fn token_from_row(row: &AnyRow) -> StoreResult<TokenRecord> {
    Ok(TokenRecord {
        hash: row.try_get("hash")?,
        user_id: row.try_get("user_id")?,
        project_id: row.try_get("project_id")?,
        methods: row.try_get("methods")?,
        issued_at: Timestamp::from_nanos(row.try_get("issued_at")?),
        expires_at: Timestamp::from_nanos(row.try_get("expires_at")?),
        revoked: row.try_get::<i64, _>("revoked")? != 0,
    })
}

const DEFAULT_DOMAIN_ID: &str = "default";
const DEFAULT_DOMAIN_NAME: &str = "Default";

/// A `sqlite://` URL for a file path (percent-encoding what a URL cannot hold).
fn url_from_path(path: &Path) -> url::Url {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut url = url::Url::parse("sqlite:///").expect("static URL");
    url.set_path(&absolute.to_string_lossy());
    url
}

async fn sqlite_session(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    conn.execute(SQLITE_SESSION).await.map(|_| ())
}
