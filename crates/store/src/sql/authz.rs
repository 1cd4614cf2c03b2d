//! SQLite implementation of [`AuthzStore`]: app ACLs, app quotas and their bindings, app
//! authorizations and the data-plane snapshot.

use super::*;
use crate::authz::*;
use apigw_domain::authz::{
    AclRule, AclType, AclValues, QuotaLimits, QuotaName, QuotaNumber, QuotaResetTime, TimeUnit,
};

/// Separator of ACL values in `app_acls.acl_values` (no valid value contains it).
const ACL_SEPARATOR: &str = ",";

const QUOTA_COLUMNS: &str =
    "q.id, q.name, q.call_limits, q.time_unit, q.time_interval, q.reset_time, \
     q.remark, q.create_time, \
     (SELECT COUNT(*) FROM app_quota_bindings b WHERE b.app_quota_id = q.id) AS bound_app_num";

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("stored {what} breaks the rules"))
}

fn acl_from_row(row: &AnyRow) -> StoreResult<AppAcl> {
    let acl_type: String = row.try_get("acl_type")?;
    let values: String = row.try_get("acl_values")?;
    let values: Vec<&str> = values.split(ACL_SEPARATOR).collect();
    Ok(AppAcl {
        app_id: row.try_get("app_id")?,
        rule: AclRule {
            acl_type: AclType::from_wire(&acl_type).ok_or_else(|| corrupt("ACL type"))?,
            values: AclValues::parse(&values).map_err(|_| corrupt("ACL values"))?,
        },
        update_time: Timestamp::from_nanos(row.try_get("update_time")?),
    })
}

fn limits_from_row(row: &AnyRow) -> StoreResult<QuotaLimits> {
    let time_unit: String = row.try_get("time_unit")?;
    let reset_time: Option<String> = row.try_get("reset_time")?;
    Ok(QuotaLimits {
        call_limits: QuotaNumber::from_i64(row.try_get("call_limits")?)
            .ok_or_else(|| corrupt("call_limits"))?,
        time_unit: TimeUnit::from_wire(&time_unit).ok_or_else(|| corrupt("time_unit"))?,
        time_interval: QuotaNumber::from_i64(row.try_get("time_interval")?)
            .ok_or_else(|| corrupt("time_interval"))?,
        reset_time: reset_time
            .map(|t| QuotaResetTime::parse(&t).map_err(|_| corrupt("reset_time")))
            .transpose()?,
    })
}

fn quota_from_row(row: &AnyRow) -> StoreResult<AppQuota> {
    Ok(AppQuota {
        id: row.try_get("id")?,
        name: QuotaName::parse(&row.try_get::<String, _>("name")?)
            .map_err(|_| corrupt("quota name"))?,
        limits: limits_from_row(row)?,
        remark: AppRemark::parse(&row.try_get::<String, _>("remark")?, "remark")
            .map_err(|_| corrupt("quota remark"))?,
        create_time: Timestamp::from_nanos(row.try_get("create_time")?),
        bound_app_num: row.try_get("bound_app_num")?,
    })
}

fn quota_app_from_row(row: &AnyRow) -> StoreResult<QuotaApp> {
    let quota_id: Option<String> = row.try_get("app_quota_id")?;
    let quota = match quota_id {
        Some(app_quota_id) => Some(AppQuotaRef {
            app_quota_id,
            app_quota_name: row.try_get("app_quota_name")?,
            bound_time: Timestamp::from_nanos(row.try_get("bound_time")?),
        }),
        None => None,
    };
    Ok(QuotaApp {
        app_id: row.try_get("id")?,
        name: row.try_get("name")?,
        status: row.try_get("status")?,
        app_key: row.try_get("app_key")?,
        remark: row.try_get("remark")?,
        register_time: Timestamp::from_nanos(row.try_get("register_time")?),
        update_time: Timestamp::from_nanos(row.try_get("update_time")?),
        quota,
    })
}

fn auth_from_row(row: &AnyRow) -> StoreResult<AppAuth> {
    Ok(AppAuth {
        id: row.try_get("id")?,
        app_id: row.try_get("app_id")?,
        api_id: row.try_get("api_id")?,
        env_id: row.try_get("env_id")?,
        auth_time: Timestamp::from_nanos(row.try_get("auth_time")?),
    })
}

fn auth_info_from_row(row: &AnyRow) -> StoreResult<AppAuthInfo> {
    Ok(AppAuthInfo {
        auth: auth_from_row(row)?,
        api_name: row.try_get("api_name")?,
        api_type: row.try_get("api_type")?,
        api_remark: row.try_get("api_remark")?,
        group_id: row.try_get("group_id")?,
        group_name: row.try_get("group_name")?,
        env_name: row.try_get("env_name")?,
        app_name: row.try_get("app_name")?,
        app_remark: row.try_get("app_remark")?,
        app_type: row.try_get("app_type")?,
        app_creator: row.try_get("app_creator")?,
        publish_id: row.try_get("publish_id")?,
    })
}

fn outline_from_row(row: &AnyRow) -> StoreResult<ApiOutline> {
    let publish_id: Option<String> = row.try_get("publish_id")?;
    let run_env = match publish_id {
        Some(publish_id) => Some(RunEnv {
            env_id: row.try_get("run_env_id")?,
            env_name: row.try_get("run_env_name")?,
            publish_id,
        }),
        None => None,
    };
    Ok(ApiOutline {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        remark: row.try_get("remark")?,
        auth_type: row.try_get("auth_type")?,
        req_uri: row.try_get("req_uri")?,
        group_id: row.try_get("group_id")?,
        group_name: row.try_get("group_name")?,
        run_env,
    })
}

impl SqlStore {
    async fn fetch_quota(
        exec: impl Executor<'_, Database = Any>,
        scope: &Scope,
        id: &str,
    ) -> StoreResult<Option<AppQuota>> {
        let sql = format!(
            "SELECT {QUOTA_COLUMNS} FROM app_quotas q JOIN instances i ON i.id = q.instance_id \
             WHERE i.project_id = $1 AND q.instance_id = $2 AND q.id = $3"
        );
        sqlx::query(&sql)
            .bind(&scope.project_id)
            .bind(&scope.instance_id)
            .bind(id)
            .fetch_optional(exec)
            .await?
            .map(|r| quota_from_row(&r))
            .transpose()
    }

    async fn quota_in_scope(tx: &mut AnyConnection, scope: &Scope, id: &str) -> StoreResult<bool> {
        Ok(sqlx::query(
            "SELECT 1 FROM app_quotas q JOIN instances i ON i.id = q.instance_id \
             WHERE i.project_id = $1 AND q.instance_id = $2 AND q.id = $3",
        )
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some())
    }

    /// The quota id an app is bound to, if any (the app must be known to be in scope).
    async fn binding_of(
        tx: &mut AnyConnection,
        app_id: &str,
    ) -> StoreResult<Option<(String, i64)>> {
        let row = sqlx::query(
            "SELECT app_quota_id, bound_time FROM app_quota_bindings WHERE app_id = $1",
        )
        .bind(app_id)
        .fetch_optional(&mut *tx)
        .await?;
        row.map(|r| Ok((r.try_get("app_quota_id")?, r.try_get("bound_time")?)))
            .transpose()
    }

    /// Name of an app (`table` = `apps`) or API (`apis`) in scope, if it is there.
    async fn name_in_scope(
        tx: &mut AnyConnection,
        scope: &Scope,
        table: ScopedTable,
        id: &str,
    ) -> StoreResult<Option<String>> {
        let sql = format!(
            "SELECT t.name FROM {} t JOIN instances i ON i.id = t.instance_id \
             WHERE i.project_id = $1 AND t.instance_id = $2 AND t.id = $3",
            table.as_str()
        );
        let row = sqlx::query(&sql)
            .bind(&scope.project_id)
            .bind(&scope.instance_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        row.map(|r| r.try_get("name"))
            .transpose()
            .map_err(Into::into)
    }

    /// Whether the environment is in scope.
    pub(super) async fn env_in_scope(
        tx: &mut AnyConnection,
        scope: &Scope,
        id: &str,
    ) -> StoreResult<bool> {
        Ok(sqlx::query(
            "SELECT 1 FROM environments e JOIN instances i ON i.id = e.instance_id \
             WHERE i.project_id = $1 AND e.instance_id = $2 AND e.id = $3",
        )
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some())
    }
}

#[async_trait]
impl AuthzStore for SqlStore {
    async fn set_app_acl(&self, scope: &Scope, app_id: &str, rule: AclRule) -> StoreResult<AppAcl> {
        let mut tx = self.config_tx().await?;
        if !Self::app_in_scope(&mut tx, scope, app_id).await? {
            return Err(StoreError::NotFound);
        }
        let now = Timestamp::now();
        sqlx::query(
            "INSERT INTO app_acls (app_id, instance_id, acl_type, acl_values, update_time) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (app_id) DO UPDATE SET \
             acl_type = excluded.acl_type, acl_values = excluded.acl_values, update_time = excluded.update_time",
        )
        .bind(app_id)
        .bind(&scope.instance_id)
        .bind(rule.acl_type.as_str())
        .bind(rule.values.as_slice().join(ACL_SEPARATOR))
        .bind(now.nanos())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(AppAcl {
            app_id: app_id.to_owned(),
            rule,
            update_time: now,
        })
    }

    async fn get_app_acl(&self, scope: &Scope, app_id: &str) -> StoreResult<Option<AppAcl>> {
        let mut tx = self.read_tx().await?;
        if !Self::app_in_scope(&mut tx, scope, app_id).await? {
            return Err(StoreError::NotFound);
        }
        let row = sqlx::query("SELECT * FROM app_acls WHERE app_id = $1 AND instance_id = $2")
            .bind(app_id)
            .bind(&scope.instance_id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.map(|r| acl_from_row(&r)).transpose()
    }

    async fn delete_app_acl(&self, scope: &Scope, app_id: &str) -> StoreResult<bool> {
        let mut tx = self.config_tx().await?;
        if !Self::app_in_scope(&mut tx, scope, app_id).await? {
            return Err(StoreError::NotFound);
        }
        let r = sqlx::query("DELETE FROM app_acls WHERE app_id = $1 AND instance_id = $2")
            .bind(app_id)
            .bind(&scope.instance_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(r.rows_affected() > 0)
    }

    async fn create_app_quota(&self, scope: &Scope, spec: AppQuotaSpec) -> AuthzResult<AppQuota> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        if Self::name_taken_in_instance(&mut tx, "app_quotas", scope, spec.name.as_str(), "")
            .await?
        {
            return Err(AuthzError::QuotaNameExists);
        }
        let quota = AppQuota {
            id: new_id(),
            name: spec.name,
            limits: spec.limits,
            remark: spec.remark,
            create_time: Timestamp::now(),
            bound_app_num: 0,
        };
        sqlx::query(
            "INSERT INTO app_quotas (id, instance_id, name, call_limits, time_unit, time_interval, \
             reset_time, remark, create_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&quota.id)
        .bind(&scope.instance_id)
        .bind(quota.name.as_str())
        .bind(i64::from(quota.limits.call_limits.get()))
        .bind(quota.limits.time_unit.as_str())
        .bind(i64::from(quota.limits.time_interval.get()))
        .bind(quota.limits.reset_time.map(QuotaResetTime::to_wire))
        .bind(quota.remark.as_str())
        .bind(quota.create_time.nanos())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(quota)
    }

    async fn update_app_quota(
        &self,
        scope: &Scope,
        id: &str,
        spec: AppQuotaSpec,
    ) -> AuthzResult<AppQuota> {
        let mut tx = self.config_tx().await?;
        if !Self::quota_in_scope(&mut tx, scope, id).await? {
            return Err(AuthzError::QuotaNotFound(id.to_owned()));
        }
        if Self::name_taken_in_instance(&mut tx, "app_quotas", scope, spec.name.as_str(), id)
            .await?
        {
            return Err(AuthzError::QuotaNameExists);
        }
        sqlx::query(
            "UPDATE app_quotas SET name = $1, call_limits = $2, time_unit = $3, time_interval = $4, \
             reset_time = $5, remark = $6 WHERE id = $7 AND instance_id = $8",
        )
        .bind(spec.name.as_str())
        .bind(i64::from(spec.limits.call_limits.get()))
        .bind(spec.limits.time_unit.as_str())
        .bind(i64::from(spec.limits.time_interval.get()))
        .bind(spec.limits.reset_time.map(QuotaResetTime::to_wire))
        .bind(spec.remark.as_str())
        .bind(id)
        .bind(&scope.instance_id)
        .execute(&mut *tx)
        .await?;
        let quota = Self::fetch_quota(&mut *tx, scope, id)
            .await?
            .ok_or_else(|| AuthzError::QuotaNotFound(id.to_owned()))?;
        tx.commit().await?;
        Ok(quota)
    }

    async fn get_app_quota(&self, scope: &Scope, id: &str) -> StoreResult<Option<AppQuota>> {
        Self::fetch_quota(&self.reader, scope, id).await
    }

    async fn list_app_quotas(
        &self,
        scope: &Scope,
        name: Option<&str>,
        page: Page,
    ) -> StoreResult<(i64, Vec<AppQuota>)> {
        fn filtered<'a>(q: &mut QueryBuilder<'a>, scope: &'a Scope, name: Option<&'a str>) {
            q.push(
                " FROM app_quotas q JOIN instances i ON i.id = q.instance_id WHERE i.project_id = ",
            )
            .push_bind(&scope.project_id)
            .push(" AND q.instance_id = ")
            .push_bind(&scope.instance_id);
            if let Some(name) = name {
                q.push(" AND instr(q.name, ").push_bind(name).push(") > 0");
            }
        }
        let mut tx = self.read_tx().await?;
        let (total, rows) = page_rows(
            &mut tx,
            QUOTA_COLUMNS,
            |q| filtered(q, scope, name),
            |q| {
                q.push(" ORDER BY q.create_time DESC, q.id");
            },
            page,
        )
        .await?;
        tx.commit().await?;
        let quotas = rows
            .iter()
            .map(quota_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((total, quotas))
    }

    async fn delete_app_quota(&self, scope: &Scope, id: &str) -> StoreResult<bool> {
        // Bindings go with the quota (ON DELETE CASCADE).
        self.delete_scoped(ScopedTable::AppQuotas, scope, id).await
    }

    async fn bind_app_quota(
        &self,
        scope: &Scope,
        quota_id: &str,
        app_ids: &[String],
    ) -> AuthzResult<Vec<QuotaBinding>> {
        let mut tx = self.config_tx().await?;
        if !Self::quota_in_scope(&mut tx, scope, quota_id).await? {
            return Err(AuthzError::QuotaNotFound(quota_id.to_owned()));
        }
        let now = Timestamp::now();
        let mut out = Vec::with_capacity(app_ids.len());
        for app_id in app_ids {
            if !Self::app_in_scope(&mut tx, scope, app_id).await? {
                return Err(AuthzError::AppNotFound(app_id.clone()));
            }
            let bound_time = match Self::binding_of(&mut tx, app_id).await? {
                Some((current, bound)) if current == quota_id => Timestamp::from_nanos(bound),
                Some(_) => return Err(AuthzError::AppBoundElsewhere(app_id.clone())),
                None => {
                    sqlx::query(
                        "INSERT INTO app_quota_bindings (app_id, app_quota_id, instance_id, bound_time) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(app_id)
                    .bind(quota_id)
                    .bind(&scope.instance_id)
                    .bind(now.nanos())
                    .execute(&mut *tx)
                    .await?;
                    now
                }
            };
            out.push(QuotaBinding {
                app_quota_id: quota_id.to_owned(),
                app_id: app_id.clone(),
                bound_time,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn unbind_app_quota(
        &self,
        scope: &Scope,
        quota_id: &str,
        app_id: &str,
    ) -> AuthzResult<()> {
        let mut tx = self.config_tx().await?;
        if !Self::quota_in_scope(&mut tx, scope, quota_id).await? {
            return Err(AuthzError::QuotaNotFound(quota_id.to_owned()));
        }
        if !Self::app_in_scope(&mut tx, scope, app_id).await? {
            return Err(AuthzError::AppNotFound(app_id.to_owned()));
        }
        let r =
            sqlx::query("DELETE FROM app_quota_bindings WHERE app_id = $1 AND app_quota_id = $2")
                .bind(app_id)
                .bind(quota_id)
                .execute(&mut *tx)
                .await?;
        if r.rows_affected() == 0 {
            return Err(AuthzError::AppNotBound {
                app_id: app_id.to_owned(),
                quota_id: quota_id.to_owned(),
            });
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_quota_apps(
        &self,
        scope: &Scope,
        quota_id: &str,
        set: QuotaAppSet,
        app_name: Option<&str>,
        page: Page,
    ) -> AuthzResult<(i64, Vec<QuotaApp>)> {
        fn filtered<'a>(
            q: &mut QueryBuilder<'a>,
            scope: &'a Scope,
            quota_id: &'a str,
            set: QuotaAppSet,
            app_name: Option<&'a str>,
        ) {
            q.push(
                " FROM apps a JOIN instances i ON i.id = a.instance_id \
                 LEFT JOIN app_quota_bindings b ON b.app_id = a.id \
                 LEFT JOIN app_quotas q ON q.id = b.app_quota_id \
                 WHERE i.project_id = ",
            )
            .push_bind(&scope.project_id)
            .push(" AND a.instance_id = ")
            .push_bind(&scope.instance_id);
            match set {
                QuotaAppSet::Bound => {
                    q.push(" AND b.app_quota_id = ").push_bind(quota_id);
                }
                QuotaAppSet::Bindable => {
                    q.push(" AND b.app_id IS NULL");
                }
            }
            if let Some(name) = app_name {
                q.push(" AND instr(a.name, ").push_bind(name).push(") > 0");
            }
        }
        let mut tx = self.read_tx().await?;
        if !Self::quota_in_scope(&mut tx, scope, quota_id).await? {
            return Err(AuthzError::QuotaNotFound(quota_id.to_owned()));
        }
        let order = match set {
            QuotaAppSet::Bound => " ORDER BY b.bound_time DESC, a.id",
            QuotaAppSet::Bindable => " ORDER BY a.register_time DESC, a.id",
        };
        let (total, rows) = page_rows(
            &mut tx,
            "a.id, a.name, a.status, a.app_key, a.remark, a.register_time, a.update_time, \
             b.app_quota_id, q.name AS app_quota_name, b.bound_time",
            |q| filtered(q, scope, quota_id, set, app_name),
            |q| {
                q.push(order);
            },
            page,
        )
        .await?;
        tx.commit().await?;
        let apps = rows
            .iter()
            .map(quota_app_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((total, apps))
    }

    async fn app_bound_quota(&self, scope: &Scope, app_id: &str) -> StoreResult<Option<AppQuota>> {
        let mut tx = self.read_tx().await?;
        if !Self::app_in_scope(&mut tx, scope, app_id).await? {
            return Err(StoreError::NotFound);
        }
        let sql = format!(
            "SELECT {QUOTA_COLUMNS} FROM app_quotas q JOIN app_quota_bindings b ON b.app_quota_id = q.id \
             WHERE b.app_id = $1 AND q.instance_id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(app_id)
            .bind(&scope.instance_id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.map(|r| quota_from_row(&r)).transpose()
    }

    async fn authorize_apps(
        &self,
        scope: &Scope,
        env_id: &str,
        app_ids: &[String],
        api_ids: &[String],
    ) -> AuthzResult<Vec<AuthGrant>> {
        let mut tx = self.config_tx().await?;
        if !Self::env_in_scope(&mut tx, scope, env_id).await? {
            return Err(AuthzError::EnvNotFound(env_id.to_owned()));
        }
        let mut apps = Vec::with_capacity(app_ids.len());
        for id in app_ids {
            let name = Self::name_in_scope(&mut tx, scope, ScopedTable::Apps, id)
                .await?
                .ok_or_else(|| AuthzError::AppNotFound(id.clone()))?;
            apps.push((id, name));
        }
        let mut apis = Vec::with_capacity(api_ids.len());
        for id in api_ids {
            let name = Self::name_in_scope(&mut tx, scope, ScopedTable::Apis, id)
                .await?
                .ok_or_else(|| AuthzError::ApiNotFound(id.clone()))?;
            apis.push((id, name));
        }
        let now = Timestamp::now();
        let mut grants = Vec::with_capacity(apps.len() * apis.len());
        for (app_id, app_name) in &apps {
            for (api_id, api_name) in &apis {
                let existing = sqlx::query(
                    "SELECT * FROM app_auths WHERE app_id = $1 AND api_id = $2 AND env_id = $3",
                )
                .bind(app_id.as_str())
                .bind(api_id.as_str())
                .bind(env_id)
                .fetch_optional(&mut *tx)
                .await?;
                let (auth, created) = match existing {
                    Some(row) => (auth_from_row(&row)?, false),
                    None => {
                        let auth = AppAuth {
                            id: new_id(),
                            app_id: (*app_id).clone(),
                            api_id: (*api_id).clone(),
                            env_id: env_id.to_owned(),
                            auth_time: now,
                        };
                        sqlx::query(
                            "INSERT INTO app_auths (id, instance_id, app_id, api_id, env_id, auth_time) \
                             VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .bind(&auth.id)
                        .bind(&scope.instance_id)
                        .bind(&auth.app_id)
                        .bind(&auth.api_id)
                        .bind(&auth.env_id)
                        .bind(auth.auth_time.nanos())
                        .execute(&mut *tx)
                        .await?;
                        (auth, true)
                    }
                };
                grants.push(AuthGrant {
                    auth,
                    created,
                    api_name: api_name.clone(),
                    app_name: app_name.clone(),
                });
            }
        }
        tx.commit().await?;
        Ok(grants)
    }

    async fn delete_app_auth(&self, scope: &Scope, id: &str) -> StoreResult<Option<String>> {
        let mut tx = self.config_tx().await?;
        let row = sqlx::query(
            "DELETE FROM app_auths WHERE id = $1 AND instance_id = $2 \
             AND instance_id IN (SELECT id FROM instances WHERE project_id = $3) RETURNING app_id",
        )
        .bind(id)
        .bind(&scope.instance_id)
        .bind(&scope.project_id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.map(|r| r.try_get("app_id")).transpose()?)
    }

    async fn list_app_auths(
        &self,
        scope: &Scope,
        f: &AuthFilter,
        page: Page,
    ) -> AuthzResult<(i64, Vec<AppAuthInfo>)> {
        fn filtered<'a>(q: &mut QueryBuilder<'a>, scope: &'a Scope, f: &'a AuthFilter) {
            q.push(
                " FROM app_auths x \
                 JOIN instances i ON i.id = x.instance_id \
                 JOIN apps a ON a.id = x.app_id \
                 JOIN apis p ON p.id = x.api_id \
                 JOIN api_groups g ON g.id = p.group_id \
                 JOIN environments e ON e.instance_id = x.instance_id AND e.id = x.env_id \
                 LEFT JOIN publications pb ON pb.api_id = x.api_id AND pb.env_id = x.env_id \
                 WHERE i.project_id = ",
            )
            .push_bind(&scope.project_id)
            .push(" AND x.instance_id = ")
            .push_bind(&scope.instance_id);
            for (column, value) in [
                ("x.app_id", &f.app_id),
                ("x.api_id", &f.api_id),
                ("p.group_id", &f.group_id),
                ("x.env_id", &f.env_id),
            ] {
                if let Some(v) = value {
                    q.push(format!(" AND {column} = ")).push_bind(v);
                }
            }
            for (column, value) in [
                ("a.name", &f.app_name),
                ("p.name", &f.api_name),
                ("g.name", &f.group_name),
            ] {
                if let Some(v) = value {
                    q.push(format!(" AND instr({column}, "))
                        .push_bind(v)
                        .push(") > 0");
                }
            }
        }
        let mut tx = self.read_tx().await?;
        if let Some(id) = &f.app_id {
            if !Self::app_in_scope(&mut tx, scope, id).await? {
                return Err(AuthzError::AppNotFound(id.clone()));
            }
        }
        if let Some(id) = &f.api_id {
            if Self::name_in_scope(&mut tx, scope, ScopedTable::Apis, id)
                .await?
                .is_none()
            {
                return Err(AuthzError::ApiNotFound(id.clone()));
            }
        }
        let (total, rows) = page_rows(
            &mut tx,
            "x.id, x.app_id, x.api_id, x.env_id, x.auth_time, p.name AS api_name, \
             p.api_type, COALESCE(json_extract(p.definition, '$.remark'), '') AS api_remark, \
             p.group_id, g.name AS group_name, e.name AS env_name, a.name AS app_name, \
             a.remark AS app_remark, a.app_type, a.creator AS app_creator, pb.id AS publish_id",
            |q| filtered(q, scope, f),
            |q| {
                q.push(" ORDER BY x.auth_time DESC, x.id");
            },
            page,
        )
        .await?;
        tx.commit().await?;
        let auths = rows
            .iter()
            .map(auth_info_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((total, auths))
    }

    async fn list_unauthorized_apis(
        &self,
        scope: &Scope,
        app_id: &str,
        env_id: &str,
        f: &ApiOutlineFilter,
        page: Page,
    ) -> AuthzResult<(i64, Vec<ApiOutline>)> {
        fn filtered<'a>(
            q: &mut QueryBuilder<'a>,
            scope: &'a Scope,
            app_id: &'a str,
            env_id: &'a str,
            f: &'a ApiOutlineFilter,
        ) {
            q.push(
                " FROM apis p \
                 JOIN instances i ON i.id = p.instance_id \
                 JOIN api_groups g ON g.id = p.group_id \
                 LEFT JOIN publications pb ON pb.api_id = p.id AND pb.env_id = ",
            )
            .push_bind(env_id)
            .push(
                " LEFT JOIN environments e ON e.instance_id = p.instance_id AND e.id = pb.env_id \
                 WHERE i.project_id = ",
            )
            .push_bind(&scope.project_id)
            .push(" AND p.instance_id = ")
            .push_bind(&scope.instance_id)
            .push(" AND p.auth_type = 'APP' AND NOT EXISTS (SELECT 1 FROM app_auths x WHERE x.api_id = p.id AND x.app_id = ")
            .push_bind(app_id)
            .push(" AND x.env_id = ")
            .push_bind(env_id)
            .push(")");
            if let Some(v) = &f.group_id {
                q.push(" AND p.group_id = ").push_bind(v);
            }
            if let Some(v) = &f.api_id {
                q.push(" AND p.id = ").push_bind(v);
            }
            if let Some(v) = &f.api_name {
                q.push(" AND instr(p.name, ").push_bind(v).push(") > 0");
            }
        }
        let mut tx = self.read_tx().await?;
        if !Self::app_in_scope(&mut tx, scope, app_id).await? {
            return Err(AuthzError::AppNotFound(app_id.to_owned()));
        }
        if !Self::env_in_scope(&mut tx, scope, env_id).await? {
            return Err(AuthzError::EnvNotFound(env_id.to_owned()));
        }
        let (total, rows) = page_rows(
            &mut tx,
            "p.id, p.name, COALESCE(json_extract(p.definition, '$.remark'), '') AS remark, \
             p.auth_type, p.req_uri, p.group_id, g.name AS group_name, pb.id AS publish_id, \
             pb.env_id AS run_env_id, e.name AS run_env_name",
            |q| filtered(q, scope, app_id, env_id, f),
            |q| {
                q.push(" ORDER BY p.register_time DESC, p.id");
            },
            page,
        )
        .await?;
        tx.commit().await?;
        let apis = rows
            .iter()
            .map(outline_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((total, apis))
    }

    async fn authz_snapshot(&self, instance_id: &str) -> StoreResult<AuthzSnapshot> {
        self.authz_rows(instance_id, None).await
    }

    async fn app_authz(&self, instance_id: &str, app_id: &str) -> StoreResult<AuthzSnapshot> {
        self.authz_rows(instance_id, Some(app_id)).await
    }

    async fn quota_limits(
        &self,
        instance_id: &str,
        quota_id: &str,
    ) -> StoreResult<Option<QuotaLimits>> {
        sqlx::query(
            "SELECT call_limits, time_unit, time_interval, reset_time FROM app_quotas \
             WHERE instance_id = $1 AND id = $2",
        )
        .bind(instance_id)
        .bind(quota_id)
        .fetch_optional(&self.reader)
        .await?
        .map(|r| limits_from_row(&r))
        .transpose()
    }
}

impl SqlStore {
    /// Authorizations, ACLs and quota bindings of an instance, or of one app of it, read in one
    /// transaction.
    async fn authz_rows(
        &self,
        instance_id: &str,
        app_id: Option<&str>,
    ) -> StoreResult<AuthzSnapshot> {
        let mut tx = self.read_tx().await?;
        let auths = sqlx::query(
            "SELECT app_id, api_id, env_id FROM app_auths WHERE instance_id = $1 \
             AND ($2 IS NULL OR app_id = $2) ORDER BY app_id, api_id, env_id",
        )
        .bind(instance_id)
        .bind(app_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("app_id")?,
                r.try_get("api_id")?,
                r.try_get("env_id")?,
            ))
        })
        .collect::<StoreResult<Vec<_>>>()?;
        let acls = sqlx::query(
            "SELECT * FROM app_acls WHERE instance_id = $1 AND ($2 IS NULL OR app_id = $2) ORDER BY app_id",
        )
        .bind(instance_id)
        .bind(app_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(acl_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
        let quotas = sqlx::query(
            "SELECT b.app_id, q.id, q.call_limits, q.time_unit, q.time_interval, q.reset_time \
             FROM app_quota_bindings b JOIN app_quotas q ON q.id = b.app_quota_id \
             WHERE b.instance_id = $1 AND ($2 IS NULL OR b.app_id = $2) ORDER BY b.app_id",
        )
        .bind(instance_id)
        .bind(app_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            Ok(AppQuotaLimits {
                app_id: r.try_get("app_id")?,
                app_quota_id: r.try_get("id")?,
                limits: limits_from_row(r)?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
        tx.commit().await?;
        Ok(AuthzSnapshot {
            auths,
            acls,
            quotas,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::crypto::MasterKey;
    use crate::AppStore;
    use apigw_domain::generate::{new_app_key, new_app_secret};
    use apigw_domain::AppName;

    /// A bootstrapped store and the scope of its admin project's default instance.
    async fn store() -> (crate::test_db::TestPlace, SqlStore, Scope) {
        crate::test_db::bootstrapped_store(&MasterKey::generate()).await
    }

    /// Creates app `name` in `scope`; its id.
    pub(crate) async fn app(store: &SqlStore, scope: &Scope, name: &str) -> String {
        let app = NewApp {
            name: AppName::parse(name, "name").unwrap(),
            remark: AppRemark::empty(),
            app_key: new_app_key(),
            app_secret: new_app_secret(),
            created_by: "u".into(),
        };
        store
            .create_app(
                scope,
                app,
                AppLimits {
                    per_instance: 50,
                    per_creator: None,
                },
            )
            .await
            .unwrap()
            .id
    }

    #[tokio::test]
    async fn snapshot_holds_auths_acls_and_quota_limits_of_one_instance() {
        let (_dir, store, scope) = store().await;
        let a1 = app(&store, &scope, "app_one").await;
        let a2 = app(&store, &scope, "app_two").await;
        let rule = AclRule {
            acl_type: AclType::Deny,
            values: AclValues::parse(&["10.0.0.0/8", "2001:db8::1"]).unwrap(),
        };
        store.set_app_acl(&scope, &a1, rule.clone()).await.unwrap();
        let limits = QuotaLimits {
            call_limits: QuotaNumber::from_i64(100).unwrap(),
            time_unit: TimeUnit::Minute,
            time_interval: QuotaNumber::from_i64(5).unwrap(),
            reset_time: Some(QuotaResetTime::parse("2030-01-01 00:00:00").unwrap()),
        };
        let quota = store
            .create_app_quota(
                &scope,
                AppQuotaSpec {
                    name: QuotaName::parse("q_one").unwrap(),
                    limits,
                    remark: AppRemark::empty(),
                },
            )
            .await
            .unwrap();
        store
            .bind_app_quota(&scope, &quota.id, std::slice::from_ref(&a2))
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO app_auths (id, instance_id, app_id, api_id, env_id, auth_time) VALUES ('x1', $1, $2, 'api1', 'env1', 1)",
        )
        .bind(&scope.instance_id)
        .bind(&a1)
        .execute(&store.writer)
        .await
        .unwrap();

        let snap = store.authz_snapshot(&scope.instance_id).await.unwrap();
        assert_eq!(
            snap.auths,
            [(a1.clone(), "api1".to_owned(), "env1".to_owned())]
        );
        assert_eq!(snap.acls.len(), 1);
        assert_eq!(snap.acls[0].app_id, a1);
        assert_eq!(snap.acls[0].rule, rule);
        assert!(!snap.acls[0].rule.allows("10.1.2.3".parse().unwrap()));
        assert!(snap.acls[0].rule.allows("11.1.2.3".parse().unwrap()));
        assert_eq!(
            snap.quotas,
            [AppQuotaLimits {
                app_id: a2.clone(),
                app_quota_id: quota.id.clone(),
                limits
            }]
        );
        assert_eq!(snap.quotas[0].limits.window_seconds(), 300);

        // The quota's own terms, for the data plane.
        assert_eq!(
            store
                .quota_limits(&scope.instance_id, &quota.id)
                .await
                .unwrap(),
            Some(limits)
        );

        // Another instance sees nothing of this one.
        let other = store.authz_snapshot("no-such-instance").await.unwrap();
        assert_eq!(other, AuthzSnapshot::default());
        assert_eq!(
            store
                .quota_limits("no-such-instance", &quota.id)
                .await
                .unwrap(),
            None
        );

        // Deleting the apps empties the snapshot (ACL, binding and authorization cascade).
        assert!(store.delete_app(&scope, &a1).await.unwrap());
        assert!(store.delete_app(&scope, &a2).await.unwrap());
        let snap = store.authz_snapshot(&scope.instance_id).await.unwrap();
        assert_eq!(snap, AuthzSnapshot::default());
        assert_eq!(
            store
                .get_app_quota(&scope, &quota.id)
                .await
                .unwrap()
                .unwrap()
                .bound_app_num,
            0
        );
    }

    #[tokio::test]
    async fn scope_of_another_project_sees_nothing() {
        let (_dir, store, scope) = store().await;
        let a1 = app(&store, &scope, "app_one").await;
        let rule = AclRule {
            acl_type: AclType::Permit,
            values: AclValues::parse(&["1.2.3.4"]).unwrap(),
        };
        store.set_app_acl(&scope, &a1, rule.clone()).await.unwrap();
        let foreign = Scope {
            project_id: "other".into(),
            instance_id: scope.instance_id.clone(),
        };
        assert!(matches!(
            store.get_app_acl(&foreign, &a1).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.set_app_acl(&foreign, &a1, rule).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.delete_app_acl(&foreign, &a1).await,
            Err(StoreError::NotFound)
        ));
        assert!(store.get_app_acl(&scope, &a1).await.unwrap().is_some());
        let (n, _) = store
            .list_app_quotas(&foreign, None, Page::parse(None, None).unwrap())
            .await
            .unwrap();
        assert_eq!(n, 0);
    }
}
