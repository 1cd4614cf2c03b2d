//! Identity: domains, projects, users, roles, tokens and access keys.

use super::*;

#[async_trait]
impl IdentityStore for SqlStore {
    async fn bootstrap(&self, admin: BootstrapAdmin) -> StoreResult<BootstrapOutcome> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("SELECT 1 FROM domains WHERE id = $1")
            .bind(DEFAULT_DOMAIN_ID)
            .fetch_optional(&mut *tx)
            .await?;
        if done.is_some() {
            return Ok(BootstrapOutcome::AlreadyDone);
        }
        sqlx::query("INSERT INTO domains (id, name) VALUES ($1, $2)")
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
        sqlx::query(
            "INSERT INTO role_assignments (project_id, user_id, role) VALUES ($1, $2, 'admin')",
        )
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

    async fn find_domain(
        &self,
        id: Option<&str>,
        name: Option<&str>,
    ) -> StoreResult<Option<Domain>> {
        let row = sqlx::query(
            "SELECT id, name FROM domains WHERE ($1 IS NULL OR id = $1) AND ($2 IS NULL OR name = $2) LIMIT 1",
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
        let mut tx = self.write_tx().await?;
        let p = Self::insert_project(&mut tx, &project).await?;
        let i = Self::insert_instance(&mut tx, &p.id, "default", "").await?;
        tx.commit().await?;
        Ok((p, i))
    }

    async fn get_project(&self, id: &str) -> StoreResult<Option<Project>> {
        sqlx::query("SELECT * FROM projects WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| project_from_row(&r))
            .transpose()
    }

    async fn find_project(&self, domain_id: &str, name: &str) -> StoreResult<Option<Project>> {
        sqlx::query("SELECT * FROM projects WHERE domain_id = $1 AND name = $2")
            .bind(domain_id)
            .bind(name)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| project_from_row(&r))
            .transpose()
    }

    async fn list_projects(&self, name: Option<&str>) -> StoreResult<Vec<Project>> {
        sqlx::query(
            "SELECT * FROM projects WHERE ($1 IS NULL OR name = $1) ORDER BY created_at, id",
        )
        .bind(name)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(project_from_row)
        .collect()
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        let mut tx = self.write_tx().await?;
        let u = Self::insert_user(&mut tx, &user).await?;
        tx.commit().await?;
        Ok(u)
    }

    async fn get_user(&self, id: &str) -> StoreResult<Option<UserWithSecret>> {
        sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| user_from_row(&r))
            .transpose()
    }

    async fn find_user(&self, domain_id: &str, name: &str) -> StoreResult<Option<UserWithSecret>> {
        sqlx::query("SELECT * FROM users WHERE domain_id = $1 AND name = $2")
            .bind(domain_id)
            .bind(name)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| user_from_row(&r))
            .transpose()
    }

    async fn list_users(&self, name: Option<&str>) -> StoreResult<Vec<User>> {
        sqlx::query("SELECT * FROM users WHERE ($1 IS NULL OR name = $1) ORDER BY created_at, id")
            .bind(name)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(|r| user_from_row(r).map(|u| u.user))
            .collect()
    }

    async fn assign_role(&self, project_id: &str, user_id: &str, role: Role) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        let p = sqlx::query("SELECT 1 FROM projects WHERE id = $1")
            .bind(project_id)
            .fetch_optional(&mut *tx)
            .await?;
        let u = sqlx::query("SELECT 1 FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        if p.is_none() || u.is_none() {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "INSERT INTO role_assignments (project_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
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
            "SELECT role FROM role_assignments WHERE user_id = $1 AND project_id = $2 ORDER BY role",
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
        let mut tx = self.write_tx().await?;
        // Expired tokens are useless; dropping them here keeps the table small without a timer.
        sqlx::query("DELETE FROM tokens WHERE expires_at < $1")
            .bind(Timestamp::now().nanos())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO tokens (hash, user_id, project_id, methods, issued_at, expires_at, revoked) \
             VALUES ($1, $2, $3, $4, $5, $6, 0)",
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
        sqlx::query("SELECT * FROM tokens WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| token_from_row(&r))
            .transpose()
    }

    async fn revoke_token(&self, hash: &str) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let r = sqlx::query("UPDATE tokens SET revoked = 1 WHERE hash = $1")
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
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
        let mut tx = self.write_tx().await?;
        let user = sqlx::query("SELECT 1 FROM users WHERE id = $1")
            .bind(&ak.user_id)
            .fetch_optional(&mut *tx)
            .await?;
        if user.is_none() {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "INSERT INTO access_keys (access, user_id, secret_enc, status, description, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
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
        let row = sqlx::query("SELECT * FROM access_keys WHERE access = $1")
            .bind(access)
            .fetch_optional(&self.reader)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: String = row.try_get("secret_enc")?;
        Ok(Some(AccessKeyWithSecret {
            secret: self
                .sealer
                .open_string(&sealed, &access_key_context(access))?,
            key: Self::access_key_from_row(&row)?,
        }))
    }

    async fn list_access_keys(&self, user_id: &str) -> StoreResult<Vec<AccessKey>> {
        sqlx::query("SELECT * FROM access_keys WHERE user_id = $1 ORDER BY created_at, access")
            .bind(user_id)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(Self::access_key_from_row)
            .collect()
    }

    async fn update_access_key(
        &self,
        access: &str,
        change: AccessKeyChange,
    ) -> StoreResult<AccessKey> {
        let mut tx = self.write_tx().await?;
        let r = sqlx::query(
            "UPDATE access_keys SET status = COALESCE($1, status), description = COALESCE($2, description) \
             WHERE access = $3",
        )
        .bind(change.status.map(AccessKeyStatus::as_str))
        .bind(change.description)
        .bind(access)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let row = sqlx::query("SELECT * FROM access_keys WHERE access = $1")
            .bind(access)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Self::access_key_from_row(&row)
    }

    async fn delete_access_key(&self, access: &str) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let r = sqlx::query("DELETE FROM access_keys WHERE access = $1")
            .bind(access)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(r.rows_affected() > 0)
    }
}
