//! The embedded SQLite store: one file, WAL journal, `synchronous=FULL` so a commit that returned
//! survives a crash. All writes go through a single-connection pool, which serialises them and
//! makes the count limits and uniqueness checks inside a transaction race-free; reads use a
//! separate pool so they never wait behind a write.

mod apis;
mod apps;
mod authz;
mod identity;

use crate::crypto::{MasterKey, Sealer};
use crate::model::*;
use crate::{AppStore, IdentityStore, StoreError, StoreResult};
use apigw_domain::generate::new_id;
use apigw_domain::{AppCodeValue, AppKey, AppName, AppRemark, AppSecret, Page, Timestamp};
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// The SQLite implementation of [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    sealer: Sealer,
}

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

impl SqliteStore {
    /// Opens (creating if needed) the database file, runs migrations and checks that
    /// `master` can open the secrets already stored.
    pub async fn open(path: &Path, master: &MasterKey) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&writer)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        let store = Self {
            writer,
            reader,
            sealer: Sealer::new(master),
        };
        store.check_master_key().await?;
        Ok(store)
    }

    /// Refuses a master key that cannot open what is stored; records a check value on first use.
    async fn check_master_key(&self) -> StoreResult<()> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = ?")
            .bind(KEY_CHECK)
            .fetch_optional(&self.writer)
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
                sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?)")
                    .bind(KEY_CHECK)
                    .bind(self.sealer.seal(KEY_CHECK_PLAIN, KEY_CHECK))
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }
        }
    }

    /// Closes both pools (checkpointing the WAL).
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    fn app_from_row(&self, row: &SqliteRow) -> StoreResult<App> {
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

    fn code_from_row(&self, row: &SqliteRow) -> StoreResult<AppCode> {
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
        exec: impl sqlx::SqliteExecutor<'_>,
        scope: &Scope,
        id: &str,
    ) -> StoreResult<Option<App>> {
        let sql = format!(
            "SELECT {APP_COLUMNS} FROM apps a JOIN instances i ON i.id = a.instance_id \
             WHERE i.project_id = ? AND a.instance_id = ? AND a.id = ?"
        );
        let row = sqlx::query(&sql)
            .bind(&scope.project_id)
            .bind(&scope.instance_id)
            .bind(id)
            .fetch_optional(exec)
            .await?;
        row.map(|r| self.app_from_row(&r)).transpose()
    }

    async fn app_in_scope(
        tx: &mut Transaction<'_, Sqlite>,
        scope: &Scope,
        id: &str,
    ) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM apps a JOIN instances i ON i.id = a.instance_id \
             WHERE i.project_id = ? AND a.instance_id = ? AND a.id = ?",
        )
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(row.is_some())
    }

    async fn exists(
        tx: &mut Transaction<'_, Sqlite>,
        sql: &str,
        a: &str,
        b: &str,
        except_id: &str,
    ) -> StoreResult<bool> {
        Ok(sqlx::query(sql)
            .bind(a)
            .bind(b)
            .bind(except_id)
            .fetch_optional(&mut **tx)
            .await?
            .is_some())
    }

    async fn insert_instance(
        tx: &mut Transaction<'_, Sqlite>,
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
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&instance.id)
        .bind(&instance.project_id)
        .bind(&instance.name)
        .bind(&instance.description)
        .bind(&instance.status)
        .bind(instance.created_at.nanos())
        .execute(&mut **tx)
        .await?;
        apis::insert_instance_defaults(tx, &instance.id, instance.created_at).await?;
        Ok(instance)
    }

    async fn insert_project(
        tx: &mut Transaction<'_, Sqlite>,
        p: &NewProject,
    ) -> StoreResult<Project> {
        let taken = sqlx::query("SELECT 1 FROM projects WHERE domain_id = ? AND name = ?")
            .bind(&p.domain_id)
            .bind(&p.name)
            .fetch_optional(&mut **tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Duplicate);
        }
        let domain = sqlx::query("SELECT 1 FROM domains WHERE id = ?")
            .bind(&p.domain_id)
            .fetch_optional(&mut **tx)
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
             VALUES (?, ?, ?, ?, 1, ?)",
        )
        .bind(&project.id)
        .bind(&project.domain_id)
        .bind(&project.name)
        .bind(&project.description)
        .bind(Timestamp::now().nanos())
        .execute(&mut **tx)
        .await?;
        Ok(project)
    }

    async fn insert_user(tx: &mut Transaction<'_, Sqlite>, u: &NewUser) -> StoreResult<User> {
        let taken = sqlx::query("SELECT 1 FROM users WHERE domain_id = ? AND name = ?")
            .bind(&u.domain_id)
            .bind(&u.name)
            .fetch_optional(&mut **tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Duplicate);
        }
        if let Some(p) = &u.default_project_id {
            let exists = sqlx::query("SELECT 1 FROM projects WHERE id = ?")
                .bind(p)
                .fetch_optional(&mut **tx)
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
             VALUES (?, ?, ?, ?, ?, 1, ?)",
        )
        .bind(&user.id)
        .bind(&user.domain_id)
        .bind(&user.name)
        .bind(&u.password_hash)
        .bind(&user.default_project_id)
        .bind(Timestamp::now().nanos())
        .execute(&mut **tx)
        .await?;
        Ok(user)
    }

    fn access_key_from_row(row: &SqliteRow) -> StoreResult<AccessKey> {
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
    AppAuths,
}

impl ScopedTable {
    fn as_str(self) -> &'static str {
        match self {
            Self::Apps => "apps",
            Self::Apis => "apis",
            Self::AppQuotas => "app_quotas",
            Self::AppAuths => "app_auths",
        }
    }
}

impl SqliteStore {
    /// Deletes row `id` of `table` if it is in `scope` (its instance, in its project); false if
    /// there is none, so another project's row is as missing as one that never existed.
    async fn delete_scoped(
        &self,
        table: ScopedTable,
        scope: &Scope,
        id: &str,
    ) -> StoreResult<bool> {
        let sql = format!(
            "DELETE FROM {} WHERE id = ? AND instance_id = ? \
             AND instance_id IN (SELECT id FROM instances WHERE project_id = ?)",
            table.as_str()
        );
        let r = sqlx::query(&sql)
            .bind(id)
            .bind(&scope.instance_id)
            .bind(&scope.project_id)
            .execute(&self.writer)
            .await?;
        Ok(r.rows_affected() > 0)
    }
}

/// The pagination every list call shares: counts the rows `filter` selects and fetches one page
/// of them (`columns`, ordered by what `order` pushes) in the caller's transaction, so the total
/// and the page agree.
async fn page_rows<'a>(
    tx: &mut Transaction<'_, Sqlite>,
    columns: &str,
    filter: impl Fn(&mut QueryBuilder<'a, Sqlite>),
    order: impl FnOnce(&mut QueryBuilder<'a, Sqlite>),
    page: Page,
) -> StoreResult<(i64, Vec<SqliteRow>)> {
    let mut count = QueryBuilder::new("SELECT COUNT(*) AS n");
    filter(&mut count);
    let total: i64 = count.build().fetch_one(&mut **tx).await?.try_get("n")?;
    let mut items = QueryBuilder::new(format!("SELECT {columns}"));
    filter(&mut items);
    order(&mut items);
    items
        .push(" LIMIT ")
        .push_bind(page.limit)
        .push(" OFFSET ")
        .push_bind(page.offset);
    let rows = items.build().fetch_all(&mut **tx).await?;
    Ok((total, rows))
}

fn trusted_name(s: String) -> StoreResult<AppName> {
    AppName::parse(&s, "name")
        .map_err(|_| StoreError::Corrupt("stored app name breaks the rules".into()))
}

fn project_from_row(row: &SqliteRow) -> StoreResult<Project> {
    Ok(Project {
        id: row.try_get("id")?,
        domain_id: row.try_get("domain_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
    })
}

fn user_from_row(row: &SqliteRow) -> StoreResult<UserWithSecret> {
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

fn instance_from_row(row: &SqliteRow) -> StoreResult<Instance> {
    Ok(Instance {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        status: row.try_get("status")?,
        created_at: Timestamp::from_nanos(row.try_get("created_at")?),
    })
}

fn token_from_row(row: &SqliteRow) -> StoreResult<TokenRecord> {
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
