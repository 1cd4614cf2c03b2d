//! The embedded SQLite store: one file, WAL journal, `synchronous=FULL` so a commit that returned
//! survives a crash. All writes go through a single-connection pool, which serialises them and
//! makes the count limits and uniqueness checks inside a transaction race-free; reads use a
//! separate pool so they never wait behind a write.

use crate::crypto::{MasterKey, Sealer};
use crate::model::*;
use crate::{Store, StoreError, StoreResult};
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

fn trusted_name(s: String) -> StoreResult<AppName> {
    AppName::parse(&s, "name").map_err(|_| StoreError::Corrupt("stored app name breaks the rules".into()))
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

#[async_trait]
impl Store for SqliteStore {
    async fn bootstrap(&self, admin: BootstrapAdmin) -> StoreResult<BootstrapOutcome> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query("SELECT 1 FROM domains WHERE id = ?")
            .bind(DEFAULT_DOMAIN_ID)
            .fetch_optional(&mut *tx)
            .await?;
        if done.is_some() {
            return Ok(BootstrapOutcome::AlreadyDone);
        }
        sqlx::query("INSERT INTO domains (id, name) VALUES (?, ?)")
            .bind(DEFAULT_DOMAIN_ID)
            .bind(DEFAULT_DOMAIN_NAME)
            .execute(&mut *tx)
            .await?;
        let project = Self::insert_project(
            &mut tx,
            &NewProject {
                domain_id: DEFAULT_DOMAIN_ID.into(),
                name: "admin".into(),
                description: "Administration project created on first start".into(),
            },
        )
        .await?;
        let user = Self::insert_user(
            &mut tx,
            &NewUser {
                domain_id: DEFAULT_DOMAIN_ID.into(),
                name: "admin".into(),
                password_hash: admin.password_hash,
                default_project_id: Some(project.id.clone()),
            },
        )
        .await?;
        sqlx::query("INSERT INTO role_assignments (project_id, user_id, role) VALUES (?, ?, 'admin')")
            .bind(&project.id)
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        let instance = Self::insert_instance(&mut tx, &project.id, "default", "").await?;
        tx.commit().await?;
        Ok(BootstrapOutcome::Created {
            project_id: project.id,
            user_id: user.id,
            instance_id: instance.id,
        })
    }

    async fn find_domain(&self, id: Option<&str>, name: Option<&str>) -> StoreResult<Option<Domain>> {
        let row = sqlx::query(
            "SELECT id, name FROM domains WHERE (?1 IS NULL OR id = ?1) AND (?2 IS NULL OR name = ?2) LIMIT 1",
        )
        .bind(id)
        .bind(name)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|r| {
            Ok(Domain {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
            })
        })
        .transpose()
    }

    async fn create_project(&self, project: NewProject) -> StoreResult<(Project, Instance)> {
        let mut tx = self.writer.begin().await?;
        let p = Self::insert_project(&mut tx, &project).await?;
        let i = Self::insert_instance(&mut tx, &p.id, "default", "").await?;
        tx.commit().await?;
        Ok((p, i))
    }

    async fn get_project(&self, id: &str) -> StoreResult<Option<Project>> {
        sqlx::query("SELECT * FROM projects WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| project_from_row(&r))
            .transpose()
    }

    async fn find_project(&self, domain_id: &str, name: &str) -> StoreResult<Option<Project>> {
        sqlx::query("SELECT * FROM projects WHERE domain_id = ? AND name = ?")
            .bind(domain_id)
            .bind(name)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| project_from_row(&r))
            .transpose()
    }

    async fn list_projects(&self, name: Option<&str>) -> StoreResult<Vec<Project>> {
        sqlx::query("SELECT * FROM projects WHERE (?1 IS NULL OR name = ?1) ORDER BY created_at, id")
            .bind(name)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(project_from_row)
            .collect()
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        let mut tx = self.writer.begin().await?;
        let u = Self::insert_user(&mut tx, &user).await?;
        tx.commit().await?;
        Ok(u)
    }

    async fn get_user(&self, id: &str) -> StoreResult<Option<UserWithSecret>> {
        sqlx::query("SELECT * FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| user_from_row(&r))
            .transpose()
    }

    async fn find_user(&self, domain_id: &str, name: &str) -> StoreResult<Option<UserWithSecret>> {
        sqlx::query("SELECT * FROM users WHERE domain_id = ? AND name = ?")
            .bind(domain_id)
            .bind(name)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| user_from_row(&r))
            .transpose()
    }

    async fn list_users(&self, name: Option<&str>) -> StoreResult<Vec<User>> {
        sqlx::query("SELECT * FROM users WHERE (?1 IS NULL OR name = ?1) ORDER BY created_at, id")
            .bind(name)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(|r| user_from_row(r).map(|u| u.user))
            .collect()
    }

    async fn assign_role(&self, project_id: &str, user_id: &str, role: Role) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let p = sqlx::query("SELECT 1 FROM projects WHERE id = ?")
            .bind(project_id)
            .fetch_optional(&mut *tx)
            .await?;
        let u = sqlx::query("SELECT 1 FROM users WHERE id = ?")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        if p.is_none() || u.is_none() {
            return Err(StoreError::NotFound);
        }
        sqlx::query("INSERT OR IGNORE INTO role_assignments (project_id, user_id, role) VALUES (?, ?, ?)")
            .bind(project_id)
            .bind(user_id)
            .bind(role.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn roles_of(&self, user_id: &str, project_id: &str) -> StoreResult<Vec<Role>> {
        let rows = sqlx::query(
            "SELECT role FROM role_assignments WHERE user_id = ? AND project_id = ? ORDER BY role",
        )
        .bind(user_id)
        .bind(project_id)
        .fetch_all(&self.reader)
        .await?;
        let mut roles = Vec::with_capacity(rows.len());
        for r in rows {
            let s: String = r.try_get("role")?;
            roles.push(Role::parse(&s).ok_or_else(|| StoreError::Corrupt(format!("role {s}")))?);
        }
        roles.sort();
        Ok(roles)
    }

    async fn insert_token(&self, t: TokenRecord) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        // Expired tokens are useless; dropping them here keeps the table small without a timer.
        sqlx::query("DELETE FROM tokens WHERE expires_at < ?")
            .bind(Timestamp::now().nanos())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO tokens (hash, user_id, project_id, methods, issued_at, expires_at, revoked) \
             VALUES (?, ?, ?, ?, ?, ?, 0)",
        )
        .bind(&t.hash)
        .bind(&t.user_id)
        .bind(&t.project_id)
        .bind(&t.methods)
        .bind(t.issued_at.nanos())
        .bind(t.expires_at.nanos())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        sqlx::query("SELECT * FROM tokens WHERE hash = ?")
            .bind(hash)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| token_from_row(&r))
            .transpose()
    }

    async fn revoke_token(&self, hash: &str) -> StoreResult<bool> {
        let r = sqlx::query("UPDATE tokens SET revoked = 1 WHERE hash = ?")
            .bind(hash)
            .execute(&self.writer)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    async fn create_access_key(&self, key: NewAccessKey) -> StoreResult<AccessKey> {
        let ak = AccessKey {
            access: key.access,
            user_id: key.user_id,
            status: AccessKeyStatus::Active,
            description: key.description,
            created_at: Timestamp::now(),
        };
        let mut tx = self.writer.begin().await?;
        let user = sqlx::query("SELECT 1 FROM users WHERE id = ?")
            .bind(&ak.user_id)
            .fetch_optional(&mut *tx)
            .await?;
        if user.is_none() {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "INSERT INTO access_keys (access, user_id, secret_enc, status, description, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&ak.access)
        .bind(&ak.user_id)
        .bind(self.sealer.seal(key.secret.as_bytes(), &access_key_context(&ak.access)))
        .bind(ak.status.as_str())
        .bind(&ak.description)
        .bind(ak.created_at.nanos())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ak)
    }

    async fn get_access_key(&self, access: &str) -> StoreResult<Option<AccessKeyWithSecret>> {
        let row = sqlx::query("SELECT * FROM access_keys WHERE access = ?")
            .bind(access)
            .fetch_optional(&self.reader)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: String = row.try_get("secret_enc")?;
        Ok(Some(AccessKeyWithSecret {
            secret: self.sealer.open_string(&sealed, &access_key_context(access))?,
            key: Self::access_key_from_row(&row)?,
        }))
    }

    async fn list_access_keys(&self, user_id: &str) -> StoreResult<Vec<AccessKey>> {
        sqlx::query("SELECT * FROM access_keys WHERE user_id = ? ORDER BY created_at, access")
            .bind(user_id)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(Self::access_key_from_row)
            .collect()
    }

    async fn update_access_key(&self, access: &str, change: AccessKeyChange) -> StoreResult<AccessKey> {
        let mut tx = self.writer.begin().await?;
        let r = sqlx::query(
            "UPDATE access_keys SET status = COALESCE(?, status), description = COALESCE(?, description) \
             WHERE access = ?",
        )
        .bind(change.status.map(AccessKeyStatus::as_str))
        .bind(change.description)
        .bind(access)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let row = sqlx::query("SELECT * FROM access_keys WHERE access = ?")
            .bind(access)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Self::access_key_from_row(&row)
    }

    async fn delete_access_key(&self, access: &str) -> StoreResult<bool> {
        let r = sqlx::query("DELETE FROM access_keys WHERE access = ?")
            .bind(access)
            .execute(&self.writer)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    async fn create_instance(&self, project_id: &str, instance: NewInstance) -> StoreResult<Instance> {
        let mut tx = self.writer.begin().await?;
        let p = sqlx::query("SELECT 1 FROM projects WHERE id = ?")
            .bind(project_id)
            .fetch_optional(&mut *tx)
            .await?;
        if p.is_none() {
            return Err(StoreError::NotFound);
        }
        let i = Self::insert_instance(
            &mut tx,
            project_id,
            instance.name.as_str(),
            instance.description.as_str(),
        )
        .await?;
        tx.commit().await?;
        Ok(i)
    }

    async fn get_instance(&self, project_id: &str, id: &str) -> StoreResult<Option<Instance>> {
        sqlx::query("SELECT * FROM instances WHERE project_id = ? AND id = ?")
            .bind(project_id)
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| instance_from_row(&r))
            .transpose()
    }

    async fn find_instance_by_name(&self, project_id: &str, name: &str) -> StoreResult<Option<Instance>> {
        sqlx::query(
            "SELECT * FROM instances WHERE project_id = ? AND name = ? ORDER BY created_at, id LIMIT 1",
        )
        .bind(project_id)
        .bind(name)
        .fetch_optional(&self.reader)
        .await?
        .map(|r| instance_from_row(&r))
        .transpose()
    }

    async fn list_instances(&self, project_id: &str, page: Page) -> StoreResult<(i64, Vec<Instance>)> {
        let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM instances WHERE project_id = ?")
            .bind(project_id)
            .fetch_one(&self.reader)
            .await?
            .try_get("n")?;
        let items = sqlx::query(
            "SELECT * FROM instances WHERE project_id = ? ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        )
        .bind(project_id)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(instance_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
        Ok((total, items))
    }

    async fn delete_instance(&self, project_id: &str, id: &str) -> StoreResult<bool> {
        let r = sqlx::query("DELETE FROM instances WHERE project_id = ? AND id = ?")
            .bind(project_id)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    async fn create_app(&self, scope: &Scope, app: NewApp, max_apps: u32) -> StoreResult<App> {
        let mut tx = self.writer.begin().await?;
        let instance = sqlx::query("SELECT 1 FROM instances WHERE project_id = ? AND id = ?")
            .bind(&scope.project_id)
            .bind(&scope.instance_id)
            .fetch_optional(&mut *tx)
            .await?;
        if instance.is_none() {
            return Err(StoreError::NotFound);
        }
        if Self::exists(
            &mut tx,
            "SELECT 1 FROM apps WHERE instance_id = ? AND name = ? AND id <> ?",
            &scope.instance_id,
            app.name.as_str(),
            "",
        )
        .await?
        {
            return Err(StoreError::AppNameExists);
        }
        if Self::exists(
            &mut tx,
            "SELECT 1 FROM apps WHERE instance_id = ? AND app_key = ? AND id <> ?",
            &scope.instance_id,
            app.app_key.as_str(),
            "",
        )
        .await?
        {
            return Err(StoreError::AppKeyExists);
        }
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM apps WHERE instance_id = ?")
            .bind(&scope.instance_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if count >= i64::from(max_apps) {
            return Err(StoreError::AppLimitReached);
        }
        let id = new_id();
        let now = Timestamp::now();
        sqlx::query(
            "INSERT INTO apps (id, instance_id, name, remark, app_key, secret_enc, creator, status, \
             app_type, created_by, register_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(&scope.instance_id)
        .bind(app.name.as_str())
        .bind(app.remark.as_str())
        .bind(app.app_key.as_str())
        .bind(self.sealer.seal(app.app_secret.as_str().as_bytes(), &secret_context(&id)))
        .bind(CREATOR_USER)
        .bind(APP_STATUS_VALID)
        .bind(APP_TYPE_APIG)
        .bind(&app.created_by)
        .bind(now.nanos())
        .bind(now.nanos())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(App {
            id,
            instance_id: scope.instance_id.clone(),
            name: app.name,
            remark: app.remark,
            app_key: app.app_key,
            app_secret: app.app_secret,
            creator: CREATOR_USER.into(),
            status: APP_STATUS_VALID,
            app_type: APP_TYPE_APIG.into(),
            created_by: app.created_by,
            register_time: now,
            update_time: now,
            bind_num: 0,
        })
    }

    async fn update_app(&self, scope: &Scope, id: &str, change: AppChange) -> StoreResult<App> {
        let mut tx = self.writer.begin().await?;
        if !Self::app_in_scope(&mut tx, scope, id).await? {
            return Err(StoreError::NotFound);
        }
        if let Some(name) = &change.name {
            if Self::exists(
                &mut tx,
                "SELECT 1 FROM apps WHERE instance_id = ? AND name = ? AND id <> ?",
                &scope.instance_id,
                name.as_str(),
                id,
            )
            .await?
            {
                return Err(StoreError::AppNameExists);
            }
        }
        if let Some(key) = &change.app_key {
            if Self::exists(
                &mut tx,
                "SELECT 1 FROM apps WHERE instance_id = ? AND app_key = ? AND id <> ?",
                &scope.instance_id,
                key.as_str(),
                id,
            )
            .await?
            {
                return Err(StoreError::AppKeyExists);
            }
        }
        let sealed = change
            .app_secret
            .as_ref()
            .map(|s| self.sealer.seal(s.as_str().as_bytes(), &secret_context(id)));
        sqlx::query(
            "UPDATE apps SET name = COALESCE(?, name), remark = COALESCE(?, remark), app_key = COALESCE(?, app_key), \
             secret_enc = COALESCE(?, secret_enc), update_time = ? WHERE id = ? AND instance_id = ?",
        )
        .bind(change.name.as_ref().map(AppName::as_str))
        .bind(change.remark.as_ref().map(AppRemark::as_str))
        .bind(change.app_key.as_ref().map(AppKey::as_str))
        .bind(sealed)
        .bind(Timestamp::now().nanos())
        .bind(id)
        .bind(&scope.instance_id)
        .execute(&mut *tx)
        .await?;
        let app = self.fetch_app(&mut *tx, scope, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(app)
    }

    async fn reset_app_secret(&self, scope: &Scope, id: &str, secret: AppSecret) -> StoreResult<App> {
        let mut tx = self.writer.begin().await?;
        if !Self::app_in_scope(&mut tx, scope, id).await? {
            return Err(StoreError::NotFound);
        }
        sqlx::query("UPDATE apps SET secret_enc = ?, update_time = ? WHERE id = ? AND instance_id = ?")
            .bind(self.sealer.seal(secret.as_str().as_bytes(), &secret_context(id)))
            .bind(Timestamp::now().nanos())
            .bind(id)
            .bind(&scope.instance_id)
            .execute(&mut *tx)
            .await?;
        let app = self.fetch_app(&mut *tx, scope, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(app)
    }

    async fn delete_app(&self, scope: &Scope, id: &str) -> StoreResult<bool> {
        let r = sqlx::query(
            "DELETE FROM apps WHERE id = ? AND instance_id = ? \
             AND instance_id IN (SELECT id FROM instances WHERE project_id = ?)",
        )
        .bind(id)
        .bind(&scope.instance_id)
        .bind(&scope.project_id)
        .execute(&self.writer)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    async fn get_app(&self, scope: &Scope, id: &str) -> StoreResult<Option<App>> {
        self.fetch_app(&self.reader, scope, id).await
    }

    async fn list_apps(&self, scope: &Scope, f: &AppFilter, page: Page) -> StoreResult<(i64, Vec<App>)> {
        fn filtered<'a>(q: &mut QueryBuilder<'a, Sqlite>, scope: &'a Scope, f: &'a AppFilter) {
            q.push(" FROM apps a JOIN instances i ON i.id = a.instance_id WHERE i.project_id = ")
                .push_bind(&scope.project_id)
                .push(" AND a.instance_id = ")
                .push_bind(&scope.instance_id);
            if let Some(id) = &f.id {
                q.push(" AND a.id = ").push_bind(id);
            }
            if let Some(name) = &f.name {
                if f.name_exact {
                    q.push(" AND a.name = ").push_bind(name);
                } else {
                    q.push(" AND instr(a.name, ").push_bind(name).push(") > 0");
                }
            }
            if let Some(status) = f.status {
                q.push(" AND a.status = ").push_bind(status);
            }
            if let Some(key) = &f.app_key {
                q.push(" AND a.app_key = ").push_bind(key);
            }
            if let Some(creator) = &f.creator {
                q.push(" AND a.creator = ").push_bind(creator);
            }
            if let Some(user) = &f.created_by {
                q.push(" AND a.created_by = ").push_bind(user);
            }
        }
        let mut count = QueryBuilder::new("SELECT COUNT(*) AS n");
        filtered(&mut count, scope, f);
        let total: i64 = count.build().fetch_one(&self.reader).await?.try_get("n")?;
        let mut items = QueryBuilder::new(format!("SELECT {APP_COLUMNS}"));
        filtered(&mut items, scope, f);
        let column = match f.order.field {
            AppSortField::Created => "a.register_time",
            AppSortField::Updated => "a.update_time",
            AppSortField::Name => "a.name",
        };
        let direction = if f.order.descending { "DESC" } else { "ASC" };
        items
            .push(format!(" ORDER BY {column} {direction}, a.id LIMIT "))
            .push_bind(page.limit)
            .push(" OFFSET ")
            .push_bind(page.offset);
        let apps = items
            .build()
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(|r| self.app_from_row(r))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((total, apps))
    }

    async fn app_quantities(&self, scope: &Scope) -> StoreResult<AppQuantities> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM app_auths x WHERE x.app_id = a.id) \
             THEN 1 ELSE 0 END), 0) AS authed, COUNT(*) AS total \
             FROM apps a JOIN instances i ON i.id = a.instance_id WHERE i.project_id = ? AND a.instance_id = ?",
        )
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .fetch_one(&self.reader)
        .await?;
        let authed: i64 = row.try_get("authed")?;
        let total: i64 = row.try_get("total")?;
        Ok(AppQuantities {
            authed,
            unauthed: total - authed,
        })
    }

    async fn create_app_code(
        &self,
        scope: &Scope,
        app_id: &str,
        value: AppCodeValue,
        max_codes: u32,
    ) -> StoreResult<AppCode> {
        let hash = self.sealer.index(value.as_str().as_bytes());
        let mut tx = self.writer.begin().await?;
        if !Self::app_in_scope(&mut tx, scope, app_id).await? {
            return Err(StoreError::NotFound);
        }
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM app_codes WHERE app_id = ?")
            .bind(app_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if count >= i64::from(max_codes) {
            return Err(StoreError::AppCodeLimitReached);
        }
        if Self::exists(
            &mut tx,
            "SELECT 1 FROM app_codes WHERE instance_id = ? AND value_hash = ? AND id <> ?",
            &scope.instance_id,
            &hash,
            "",
        )
        .await?
        {
            return Err(StoreError::AppCodeExists);
        }
        let code = AppCode {
            id: new_id(),
            app_id: app_id.to_owned(),
            value,
            create_time: Timestamp::now(),
        };
        sqlx::query(
            "INSERT INTO app_codes (id, app_id, instance_id, value_hash, value_enc, create_time) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&code.id)
        .bind(app_id)
        .bind(&scope.instance_id)
        .bind(&hash)
        .bind(self.sealer.seal(code.value.as_str().as_bytes(), &code_context(&code.id)))
        .bind(code.create_time.nanos())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(code)
    }

    async fn list_app_codes(&self, scope: &Scope, app_id: &str, page: Page) -> StoreResult<(i64, Vec<AppCode>)> {
        let mut tx = self.reader.begin().await?;
        if !Self::app_in_scope(&mut tx, scope, app_id).await? {
            return Err(StoreError::NotFound);
        }
        let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM app_codes WHERE app_id = ?")
            .bind(app_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        let rows = sqlx::query(
            "SELECT * FROM app_codes WHERE app_id = ? ORDER BY create_time DESC, id LIMIT ? OFFSET ?",
        )
        .bind(app_id)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let codes = rows
            .iter()
            .map(|r| self.code_from_row(r))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((total, codes))
    }

    async fn get_app_code(&self, scope: &Scope, app_id: &str, code_id: &str) -> StoreResult<Option<AppCode>> {
        sqlx::query(
            "SELECT c.* FROM app_codes c JOIN instances i ON i.id = c.instance_id \
             WHERE i.project_id = ? AND c.instance_id = ? AND c.app_id = ? AND c.id = ?",
        )
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .bind(app_id)
        .bind(code_id)
        .fetch_optional(&self.reader)
        .await?
        .map(|r| self.code_from_row(&r))
        .transpose()
    }

    async fn delete_app_code(&self, scope: &Scope, app_id: &str, code_id: &str) -> StoreResult<bool> {
        let r = sqlx::query(
            "DELETE FROM app_codes WHERE id = ? AND app_id = ? AND instance_id = ? \
             AND instance_id IN (SELECT id FROM instances WHERE project_id = ?)",
        )
        .bind(code_id)
        .bind(app_id)
        .bind(&scope.instance_id)
        .bind(&scope.project_id)
        .execute(&self.writer)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    async fn find_app_code_by_value(
        &self,
        scope: &Scope,
        app_id: &str,
        value: &AppCodeValue,
    ) -> StoreResult<Option<AppCode>> {
        let hash = self.sealer.index(value.as_str().as_bytes());
        sqlx::query(
            "SELECT c.* FROM app_codes c JOIN instances i ON i.id = c.instance_id \
             WHERE i.project_id = ? AND c.instance_id = ? AND c.app_id = ? AND c.value_hash = ?",
        )
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .bind(app_id)
        .bind(hash)
        .fetch_optional(&self.reader)
        .await?
        .map(|r| self.code_from_row(&r))
        .transpose()
    }

    async fn replace_app_code_value(
        &self,
        scope: &Scope,
        app_id: &str,
        code_id: &str,
        value: AppCodeValue,
    ) -> StoreResult<AppCode> {
        let hash = self.sealer.index(value.as_str().as_bytes());
        let mut tx = self.writer.begin().await?;
        if !Self::app_in_scope(&mut tx, scope, app_id).await? {
            return Err(StoreError::NotFound);
        }
        if Self::exists(
            &mut tx,
            "SELECT 1 FROM app_codes WHERE instance_id = ? AND value_hash = ? AND id <> ?",
            &scope.instance_id,
            &hash,
            code_id,
        )
        .await?
        {
            return Err(StoreError::AppCodeExists);
        }
        let r = sqlx::query("UPDATE app_codes SET value_hash = ?, value_enc = ? WHERE id = ? AND app_id = ?")
            .bind(&hash)
            .bind(self.sealer.seal(value.as_str().as_bytes(), &code_context(code_id)))
            .bind(code_id)
            .bind(app_id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let row = sqlx::query("SELECT * FROM app_codes WHERE id = ?")
            .bind(code_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        self.code_from_row(&row)
    }
}
