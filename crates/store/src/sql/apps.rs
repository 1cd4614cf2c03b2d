//! Gateway instances, apps and AppCodes.

use super::*;

#[async_trait]
impl AppStore for SqlStore {
    async fn create_instance(
        &self,
        project_id: &str,
        instance: NewInstance,
    ) -> StoreResult<Instance> {
        let mut tx = self.config_tx().await?;
        let p = sqlx::query("SELECT 1 FROM projects WHERE id = $1")
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
        sqlx::query("SELECT * FROM instances WHERE project_id = $1 AND id = $2")
            .bind(project_id)
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| instance_from_row(&r))
            .transpose()
    }

    async fn find_instance_by_name(
        &self,
        project_id: &str,
        name: &str,
    ) -> StoreResult<Option<Instance>> {
        sqlx::query(
            "SELECT * FROM instances WHERE project_id = $1 AND name = $2 ORDER BY created_at, id LIMIT 1",
        )
        .bind(project_id)
        .bind(name)
        .fetch_optional(&self.reader)
        .await?
        .map(|r| instance_from_row(&r))
        .transpose()
    }

    async fn list_instances(
        &self,
        project_id: &str,
        page: Page,
    ) -> StoreResult<(i64, Vec<Instance>)> {
        let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM instances WHERE project_id = $1")
            .bind(project_id)
            .fetch_one(&self.reader)
            .await?
            .try_get("n")?;
        let items = sqlx::query(
            "SELECT * FROM instances WHERE project_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
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
        let mut tx = self.config_tx().await?;
        let r = sqlx::query("DELETE FROM instances WHERE project_id = $1 AND id = $2")
            .bind(project_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(r.rows_affected() > 0)
    }

    async fn create_app(&self, scope: &Scope, app: NewApp, limits: AppLimits) -> StoreResult<App> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        if Self::name_taken_in_instance(&mut tx, "apps", scope, app.name.as_str(), "").await? {
            return Err(StoreError::AppNameExists);
        }
        if Self::exists(
            &mut tx,
            "SELECT 1 FROM apps WHERE instance_id = $1 AND app_key = $2 AND id <> $3",
            &scope.instance_id,
            app.app_key.as_str(),
            "",
        )
        .await?
        {
            return Err(StoreError::AppKeyExists);
        }
        if Self::rows_in_instance(&mut tx, "apps", scope).await? >= i64::from(limits.per_instance) {
            return Err(StoreError::AppLimitReached);
        }
        if let Some(per_creator) = limits.per_creator {
            let mine: i64 = sqlx::query(
                "SELECT COUNT(*) AS n FROM apps WHERE instance_id = $1 AND created_by = $2",
            )
            .bind(&scope.instance_id)
            .bind(&app.created_by)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
            if mine >= i64::from(per_creator) {
                return Err(StoreError::AppLimitReached);
            }
        }
        let id = new_id();
        let now = Timestamp::now();
        sqlx::query(
            "INSERT INTO apps (id, instance_id, name, remark, app_key, secret_enc, creator, status, \
             app_type, created_by, register_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
        let mut tx = self.config_tx().await?;
        if !Self::app_in_scope(&mut tx, scope, id).await? {
            return Err(StoreError::NotFound);
        }
        if let Some(name) = &change.name {
            if Self::name_taken_in_instance(&mut tx, "apps", scope, name.as_str(), id).await? {
                return Err(StoreError::AppNameExists);
            }
        }
        if let Some(key) = &change.app_key {
            if Self::exists(
                &mut tx,
                "SELECT 1 FROM apps WHERE instance_id = $1 AND app_key = $2 AND id <> $3",
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
            "UPDATE apps SET name = COALESCE($1, name), remark = COALESCE($2, remark), app_key = COALESCE($3, app_key), \
             secret_enc = COALESCE($4, secret_enc), update_time = $5 WHERE id = $6 AND instance_id = $7",
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
        let app = self
            .fetch_app(&mut *tx, scope, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(app)
    }

    async fn reset_app_secret(
        &self,
        scope: &Scope,
        id: &str,
        secret: AppSecret,
    ) -> StoreResult<App> {
        let mut tx = self.config_tx().await?;
        if !Self::app_in_scope(&mut tx, scope, id).await? {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "UPDATE apps SET secret_enc = $1, update_time = $2 WHERE id = $3 AND instance_id = $4",
        )
        .bind(
            self.sealer
                .seal(secret.as_str().as_bytes(), &secret_context(id)),
        )
        .bind(Timestamp::now().nanos())
        .bind(id)
        .bind(&scope.instance_id)
        .execute(&mut *tx)
        .await?;
        let app = self
            .fetch_app(&mut *tx, scope, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(app)
    }

    async fn delete_app(&self, scope: &Scope, id: &str) -> StoreResult<bool> {
        self.delete_scoped(ScopedTable::Apps, scope, id).await
    }

    async fn get_app(&self, scope: &Scope, id: &str) -> StoreResult<Option<App>> {
        self.fetch_app(&self.reader, scope, id).await
    }

    async fn list_apps(
        &self,
        scope: &Scope,
        f: &AppFilter,
        page: Page,
    ) -> StoreResult<(i64, Vec<App>)> {
        fn filtered<'a>(q: &mut QueryBuilder<'a>, scope: &'a Scope, f: &'a AppFilter) {
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
        let column = match f.order.field {
            AppSortField::Created => "a.register_time",
            AppSortField::Updated => "a.update_time",
            AppSortField::Name => "a.name",
        };
        let direction = if f.order.descending { "DESC" } else { "ASC" };
        let mut tx = self.read_tx().await?;
        let (total, rows) = page_rows(
            &mut tx,
            APP_COLUMNS,
            |q| filtered(q, scope, f),
            |q| {
                q.push(format!(" ORDER BY {column} {direction}, a.id"));
            },
            page,
        )
        .await?;
        tx.commit().await?;
        let apps = rows
            .iter()
            .map(|r| self.app_from_row(r))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((total, apps))
    }

    async fn app_quantities(&self, scope: &Scope) -> StoreResult<AppQuantities> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM app_auths x WHERE x.app_id = a.id) \
             THEN 1 ELSE 0 END), 0) AS authed, COUNT(*) AS total \
             FROM apps a JOIN instances i ON i.id = a.instance_id WHERE i.project_id = $1 AND a.instance_id = $2",
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
        let mut tx = self.config_tx().await?;
        if !Self::app_in_scope(&mut tx, scope, app_id).await? {
            return Err(StoreError::NotFound);
        }
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM app_codes WHERE app_id = $1")
            .bind(app_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if count >= i64::from(max_codes) {
            return Err(StoreError::AppCodeLimitReached);
        }
        if Self::exists(
            &mut tx,
            "SELECT 1 FROM app_codes WHERE instance_id = $1 AND value_hash = $2 AND id <> $3",
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
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&code.id)
        .bind(app_id)
        .bind(&scope.instance_id)
        .bind(&hash)
        .bind(
            self.sealer
                .seal(code.value.as_str().as_bytes(), &code_context(&code.id)),
        )
        .bind(code.create_time.nanos())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(code)
    }

    async fn list_app_codes(
        &self,
        scope: &Scope,
        app_id: &str,
        page: Page,
    ) -> StoreResult<(i64, Vec<AppCode>)> {
        let mut tx = self.read_tx().await?;
        if !Self::app_in_scope(&mut tx, scope, app_id).await? {
            return Err(StoreError::NotFound);
        }
        let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM app_codes WHERE app_id = $1")
            .bind(app_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        let rows = sqlx::query(
            "SELECT * FROM app_codes WHERE app_id = $1 ORDER BY create_time DESC, id LIMIT $2 OFFSET $3",
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

    async fn get_app_code(
        &self,
        scope: &Scope,
        app_id: &str,
        code_id: &str,
    ) -> StoreResult<Option<AppCode>> {
        sqlx::query(
            "SELECT c.* FROM app_codes c JOIN instances i ON i.id = c.instance_id \
             WHERE i.project_id = $1 AND c.instance_id = $2 AND c.app_id = $3 AND c.id = $4",
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

    async fn delete_app_code(
        &self,
        scope: &Scope,
        app_id: &str,
        code_id: &str,
    ) -> StoreResult<bool> {
        let mut tx = self.config_tx().await?;
        let r = sqlx::query(
            "DELETE FROM app_codes WHERE id = $1 AND app_id = $2 AND instance_id = $3 \
             AND instance_id IN (SELECT id FROM instances WHERE project_id = $4)",
        )
        .bind(code_id)
        .bind(app_id)
        .bind(&scope.instance_id)
        .bind(&scope.project_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
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
             WHERE i.project_id = $1 AND c.instance_id = $2 AND c.app_id = $3 AND c.value_hash = $4",
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
        let mut tx = self.config_tx().await?;
        if !Self::app_in_scope(&mut tx, scope, app_id).await? {
            return Err(StoreError::NotFound);
        }
        if Self::exists(
            &mut tx,
            "SELECT 1 FROM app_codes WHERE instance_id = $1 AND value_hash = $2 AND id <> $3",
            &scope.instance_id,
            &hash,
            code_id,
        )
        .await?
        {
            return Err(StoreError::AppCodeExists);
        }
        let r = sqlx::query(
            "UPDATE app_codes SET value_hash = $1, value_enc = $2 WHERE id = $3 AND app_id = $4",
        )
        .bind(&hash)
        .bind(
            self.sealer
                .seal(value.as_str().as_bytes(), &code_context(code_id)),
        )
        .bind(code_id)
        .bind(app_id)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let row = sqlx::query("SELECT * FROM app_codes WHERE id = $1")
            .bind(code_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        self.code_from_row(&row)
    }

    async fn app_credentials(&self, instance_id: &str) -> StoreResult<Vec<AppCredentials>> {
        self.credential_rows(instance_id, None).await
    }

    async fn app_credential(
        &self,
        instance_id: &str,
        app_id: &str,
    ) -> StoreResult<Option<AppCredentials>> {
        Ok(self.credential_rows(instance_id, Some(app_id)).await?.pop())
    }
}

impl SqlStore {
    /// Credentials of every app of an instance, or of one, read in one transaction.
    async fn credential_rows(
        &self,
        instance_id: &str,
        app_id: Option<&str>,
    ) -> StoreResult<Vec<AppCredentials>> {
        let mut tx = self.read_tx().await?;
        let apps = sqlx::query(
            "SELECT id, name, app_key, secret_enc FROM apps WHERE instance_id = $1 \
             AND ($2 IS NULL OR id = $2) ORDER BY id",
        )
        .bind(instance_id)
        .bind(app_id)
        .fetch_all(&mut *tx)
        .await?;
        let codes = sqlx::query(
            "SELECT app_id, value_hash FROM app_codes WHERE instance_id = $1 \
             AND ($2 IS NULL OR app_id = $2) ORDER BY app_id",
        )
        .bind(instance_id)
        .bind(app_id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut by_app: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        for row in codes {
            by_app
                .entry(row.try_get("app_id")?)
                .or_default()
                .push(row.try_get("value_hash")?);
        }
        apps.iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                let sealed: String = row.try_get("secret_enc")?;
                let secret = self.sealer.open_string(&sealed, &secret_context(&id))?;
                Ok(AppCredentials {
                    app_name: row.try_get("name")?,
                    app_key: AppKey::from_trusted(row.try_get("app_key")?),
                    app_secret: AppSecret::from_trusted(secret),
                    app_code_hashes: by_app.remove(&id).unwrap_or_default(),
                    app_id: id,
                })
            })
            .collect()
    }
}
