//! SQL implementation of [`ThrottleStore`]: request throttling policies, their bindings to
//! published APIs and their excluded configurations.

use super::bindings::{push_api_policy_filter, ApiPolicyFilter};
use super::bindings::{push_publication_filter, PUBLICATION_COLUMNS};
use super::*;
use crate::throttles::*;
use apigw_domain::authz::{QuotaNumber, TimeUnit};
use apigw_domain::throttle::{
    SpecialObjectId, SpecialObjectType, ThrottleKind, ThrottleLimits, ThrottleName, ThrottleSpec,
    MAX_SPECIALS_PER_THROTTLE,
};

/// The columns of a policy (`t`), with its binding count and whether it has exceptions.
const THROTTLE_COLUMNS: &str = "t.id, t.name, t.api_call_limits, t.user_call_limits, \
     t.app_call_limits, t.ip_call_limits, t.time_interval, t.time_unit, t.type, \
     t.enable_adaptive_control, t.remark, t.create_time, \
     (SELECT COUNT(*) FROM throttle_bindings b WHERE b.throttle_id = t.id) AS bind_num, \
     (SELECT COUNT(*) FROM throttle_specials s WHERE s.throttle_id = t.id) AS special_num";

/// The columns of an exception (`s`) with its app's name (`a`, for `APP` ones).
const SPECIAL_COLUMNS: &str = "s.id, s.throttle_id, s.object_type, s.object_id, \
     COALESCE(a.name, s.object_id) AS object_name, s.call_limits, s.apply_time";

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("stored throttling {what} breaks the rules"))
}

fn count(row: &AnyRow, column: &str) -> StoreResult<QuotaNumber> {
    QuotaNumber::from_i64(row.try_get(column)?).ok_or_else(|| corrupt(column))
}

fn optional_count(row: &AnyRow, column: &str) -> StoreResult<Option<QuotaNumber>> {
    match row.try_get::<i64, _>(column)? {
        0 => Ok(None),
        n => QuotaNumber::from_i64(n)
            .map(Some)
            .ok_or_else(|| corrupt(column)),
    }
}

fn limits_from_row(row: &AnyRow) -> StoreResult<ThrottleLimits> {
    let unit: String = row.try_get("time_unit")?;
    Ok(ThrottleLimits {
        api: count(row, "api_call_limits")?,
        user: optional_count(row, "user_call_limits")?,
        app: optional_count(row, "app_call_limits")?,
        ip: optional_count(row, "ip_call_limits")?,
        time_interval: count(row, "time_interval")?,
        time_unit: TimeUnit::from_wire(&unit).ok_or_else(|| corrupt("time_unit"))?,
    })
}

fn throttle_from_row(row: &AnyRow) -> StoreResult<Throttle> {
    let name: String = row.try_get("name")?;
    let remark: String = row.try_get("remark")?;
    Ok(Throttle {
        id: row.try_get("id")?,
        spec: ThrottleSpec {
            name: ThrottleName::parse(&name).map_err(|_| corrupt("name"))?,
            limits: limits_from_row(row)?,
            kind: ThrottleKind::from_code(row.try_get("type")?).ok_or_else(|| corrupt("type"))?,
            remark: AppRemark::parse(&remark, "remark").map_err(|_| corrupt("remark"))?,
            adaptive_control: row.try_get::<i64, _>("enable_adaptive_control")? != 0,
        },
        bind_num: row.try_get("bind_num")?,
        has_specials: row.try_get::<i64, _>("special_num")? > 0,
        create_time: Timestamp::from_nanos(row.try_get("create_time")?),
    })
}

fn special_from_row(row: &AnyRow) -> StoreResult<ThrottleSpecial> {
    let object_type: String = row.try_get("object_type")?;
    Ok(ThrottleSpecial {
        id: row.try_get("id")?,
        throttle_id: row.try_get("throttle_id")?,
        object_type: SpecialObjectType::from_wire(&object_type)
            .ok_or_else(|| corrupt("object_type"))?,
        object_id: row.try_get("object_id")?,
        object_name: row.try_get("object_name")?,
        call_limits: count(row, "call_limits")?.get(),
        apply_time: Timestamp::from_nanos(row.try_get("apply_time")?),
    })
}

fn outline_from_row(row: &AnyRow, side: BindingSide) -> StoreResult<ThrottledApiOutline> {
    let binding = match side {
        BindingSide::Bound => Some(ApiThrottleBinding {
            id: row.try_get("bind_id")?,
            throttle_name: row.try_get("throttle_name")?,
            apply_time: Timestamp::from_nanos(row.try_get("apply_time")?),
        }),
        BindingSide::Unbound => None,
    };
    Ok(ThrottledApiOutline {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        api_type: row.try_get("api_type")?,
        remark: row.try_get("remark")?,
        group_id: row.try_get("group_id")?,
        group_name: row.try_get("group_name")?,
        env_id: row.try_get("env_id")?,
        env_name: row.try_get("env_name")?,
        publish_id: row.try_get("publish_id")?,
        req_uri: row.try_get("req_uri")?,
        req_method: row.try_get("req_method")?,
        auth_type: row.try_get("auth_type")?,
        binding,
    })
}

impl SqlStore {
    /// Whether policy `id` is in `scope`.
    async fn throttle_in_scope(
        tx: &mut AnyConnection,
        scope: &Scope,
        id: &str,
    ) -> StoreResult<bool> {
        Ok(sqlx::query(
            "SELECT 1 FROM throttles t JOIN instances i ON i.id = t.instance_id \
             WHERE i.project_id = $1 AND t.instance_id = $2 AND t.id = $3",
        )
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some())
    }

    /// The API limit of policy `id` in `scope`, if it is there.
    async fn throttle_api_limit(
        tx: &mut AnyConnection,
        scope: &Scope,
        id: &str,
    ) -> StoreResult<Option<i64>> {
        let row = sqlx::query(
            "SELECT t.api_call_limits FROM throttles t JOIN instances i ON i.id = t.instance_id \
             WHERE i.project_id = $1 AND t.instance_id = $2 AND t.id = $3",
        )
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        Ok(match row {
            Some(row) => Some(row.try_get("api_call_limits")?),
            None => None,
        })
    }

    async fn fetch_throttle(
        conn: impl Executor<'_, Database = Any>,
        scope: &Scope,
        id: &str,
    ) -> StoreResult<Option<Throttle>> {
        let sql = format!(
            "SELECT {THROTTLE_COLUMNS} FROM throttles t JOIN instances i ON i.id = t.instance_id \
             WHERE i.project_id = $1 AND t.instance_id = $2 AND t.id = $3"
        );
        sqlx::query(&sql)
            .bind(&scope.project_id)
            .bind(&scope.instance_id)
            .bind(id)
            .fetch_optional(conn)
            .await?
            .as_ref()
            .map(throttle_from_row)
            .transpose()
    }

    async fn fetch_special(
        tx: &mut AnyConnection,
        throttle_id: &str,
        special_id: &str,
    ) -> StoreResult<Option<ThrottleSpecial>> {
        let sql = format!(
            "SELECT {SPECIAL_COLUMNS} FROM throttle_specials s LEFT JOIN apps a ON a.id = s.app_id \
             WHERE s.throttle_id = $1 AND s.id = $2"
        );
        sqlx::query(&sql)
            .bind(throttle_id)
            .bind(special_id)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(special_from_row)
            .transpose()
    }
}

/// Binds the columns of `spec` after `sql`'s first placeholders: name, the four limits,
/// interval, unit, type, adaptive control, remark (ten values, in that order).
fn bind_spec<'q>(
    q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    spec: &'q ThrottleSpec,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    let l = &spec.limits;
    let or_zero = |n: Option<QuotaNumber>| n.map_or(0, |n| i64::from(n.get()));
    q.bind(spec.name.as_str())
        .bind(i64::from(l.api.get()))
        .bind(or_zero(l.user))
        .bind(or_zero(l.app))
        .bind(or_zero(l.ip))
        .bind(i64::from(l.time_interval.get()))
        .bind(l.time_unit.as_str())
        .bind(spec.kind.code())
        .bind(i64::from(spec.adaptive_control))
        .bind(spec.remark.as_str())
}

#[async_trait]
impl ThrottleStore for SqlStore {
    async fn create_throttle(&self, scope: &Scope, spec: ThrottleSpec) -> ThrottleResult<Throttle> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        if Self::name_taken_in_instance(&mut tx, "throttles", scope, spec.name.as_str(), "").await?
        {
            return Err(ThrottleError::NameExists);
        }
        let throttle = Throttle {
            id: new_id(),
            spec,
            bind_num: 0,
            has_specials: false,
            create_time: Timestamp::now(),
        };
        let insert = sqlx::query(
            "INSERT INTO throttles (name, api_call_limits, user_call_limits, app_call_limits, \
             ip_call_limits, time_interval, time_unit, type, enable_adaptive_control, remark, \
             id, instance_id, create_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        );
        bind_spec(insert, &throttle.spec)
            .bind(&throttle.id)
            .bind(&scope.instance_id)
            .bind(throttle.create_time.nanos())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(throttle)
    }

    async fn update_throttle(
        &self,
        scope: &Scope,
        id: &str,
        spec: ThrottleSpec,
    ) -> ThrottleResult<Throttle> {
        let mut tx = self.config_tx().await?;
        if !Self::throttle_in_scope(&mut tx, scope, id).await? {
            return Err(ThrottleError::NotFound(id.to_owned()));
        }
        if Self::name_taken_in_instance(&mut tx, "throttles", scope, spec.name.as_str(), id).await?
        {
            return Err(ThrottleError::NameExists);
        }
        // An exception may not allow more than the policy's new API limit.
        let above: Option<AnyRow> = sqlx::query(
            "SELECT 1 FROM throttle_specials WHERE throttle_id = $1 AND call_limits > $2",
        )
        .bind(id)
        .bind(i64::from(spec.limits.api.get()))
        .fetch_optional(&mut *tx)
        .await?;
        if above.is_some() {
            return Err(ThrottleError::ApiLimitBelowSpecial);
        }
        let update = sqlx::query(
            "UPDATE throttles SET name = $1, api_call_limits = $2, user_call_limits = $3, \
             app_call_limits = $4, ip_call_limits = $5, time_interval = $6, time_unit = $7, \
             type = $8, enable_adaptive_control = $9, remark = $10 \
             WHERE id = $11 AND instance_id = $12",
        );
        bind_spec(update, &spec)
            .bind(id)
            .bind(&scope.instance_id)
            .execute(&mut *tx)
            .await?;
        let throttle = Self::fetch_throttle(&mut *tx, scope, id)
            .await?
            .ok_or_else(|| ThrottleError::NotFound(id.to_owned()))?;
        tx.commit().await?;
        Ok(throttle)
    }

    async fn get_throttle(&self, scope: &Scope, id: &str) -> StoreResult<Option<Throttle>> {
        Self::fetch_throttle(&self.reader, scope, id).await
    }

    async fn list_throttles(
        &self,
        scope: &Scope,
        id: Option<&str>,
        name: Option<(&str, bool)>,
        page: Page,
    ) -> StoreResult<(i64, Vec<Throttle>)> {
        let filtered = |q: &mut QueryBuilder<'_>| {
            q.push(
                " FROM throttles t JOIN instances i ON i.id = t.instance_id WHERE i.project_id = ",
            )
            .push_bind(scope.project_id.clone())
            .push(" AND t.instance_id = ")
            .push_bind(scope.instance_id.clone());
            if let Some(id) = id {
                q.push(" AND t.id = ").push_bind(id.to_owned());
            }
            match name {
                Some((name, true)) => {
                    q.push(" AND t.name = ").push_bind(name.to_owned());
                }
                Some((name, false)) => {
                    q.push(" AND instr(t.name, ")
                        .push_bind(name.to_owned())
                        .push(") > 0");
                }
                None => {}
            }
        };
        let tx = self.read_tx().await?;
        let order = " ORDER BY t.create_time DESC, t.id";
        read_page(
            tx,
            THROTTLE_COLUMNS,
            filtered,
            order,
            page,
            throttle_from_row,
        )
        .await
    }

    async fn delete_throttle(&self, scope: &Scope, id: &str) -> StoreResult<bool> {
        // Bindings and exceptions go with the policy (ON DELETE CASCADE).
        self.delete_scoped(ScopedTable::Throttles, scope, id).await
    }

    async fn bind_throttle(
        &self,
        scope: &Scope,
        throttle_id: &str,
        publish_ids: &[String],
    ) -> ThrottleResult<Vec<ThrottleBinding>> {
        let mut tx = self.config_tx().await?;
        if !Self::throttle_in_scope(&mut tx, scope, throttle_id).await? {
            return Err(ThrottleError::NotFound(throttle_id.to_owned()));
        }
        let now = Timestamp::now();
        let mut out = Vec::with_capacity(publish_ids.len());
        for publish_id in publish_ids {
            let (api_id, env_id) = Self::publication_in_scope(&mut tx, scope, publish_id)
                .await?
                .ok_or_else(|| ThrottleError::PublicationNotFound(publish_id.clone()))?;
            let existing = sqlx::query(
                "SELECT id, throttle_id, apply_time FROM throttle_bindings \
                 WHERE api_id = $1 AND env_id = $2",
            )
            .bind(&api_id)
            .bind(&env_id)
            .fetch_optional(&mut *tx)
            .await?;
            let (id, apply_time) = match existing {
                Some(row) if row.try_get::<String, _>("throttle_id")? == throttle_id => (
                    row.try_get("id")?,
                    Timestamp::from_nanos(row.try_get("apply_time")?),
                ),
                Some(_) => return Err(ThrottleError::BoundElsewhere(publish_id.clone())),
                None => {
                    let id = new_id();
                    sqlx::query(
                        "INSERT INTO throttle_bindings (id, instance_id, throttle_id, api_id, env_id, \
                         apply_time) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&id)
                    .bind(&scope.instance_id)
                    .bind(throttle_id)
                    .bind(&api_id)
                    .bind(&env_id)
                    .bind(now.nanos())
                    .execute(&mut *tx)
                    .await?;
                    (id, now)
                }
            };
            out.push(ThrottleBinding {
                id,
                throttle_id: throttle_id.to_owned(),
                publish_id: publish_id.clone(),
                api_id,
                env_id,
                apply_time,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn unbind_throttles(
        &self,
        scope: &Scope,
        binding_ids: &[String],
    ) -> StoreResult<(usize, Vec<UnbindFailure>)> {
        self.delete_bindings("throttle_bindings", scope, binding_ids)
            .await
    }

    async fn list_throttle_apis(
        &self,
        scope: &Scope,
        throttle_id: &str,
        side: BindingSide,
        filter: &PublicationFilter,
        page: Page,
    ) -> ThrottleResult<(i64, Vec<ThrottledApiOutline>)> {
        let filtered = |q: &mut QueryBuilder<'_>| {
            q.push(
                " FROM publications pb \
                 JOIN apis p ON p.id = pb.api_id \
                 JOIN instances i ON i.id = pb.instance_id \
                 JOIN api_groups g ON g.id = p.group_id \
                 JOIN environments e ON e.instance_id = pb.instance_id AND e.id = pb.env_id",
            );
            match side {
                BindingSide::Bound => {
                    q.push(
                        " JOIN throttle_bindings b ON b.api_id = pb.api_id AND b.env_id = pb.env_id \
                         JOIN throttles t ON t.id = b.throttle_id WHERE b.throttle_id = ",
                    )
                    .push_bind(throttle_id.to_owned());
                }
                BindingSide::Unbound => {
                    q.push(
                        " WHERE NOT EXISTS (SELECT 1 FROM throttle_bindings b \
                         WHERE b.api_id = pb.api_id AND b.env_id = pb.env_id AND b.throttle_id = ",
                    )
                    .push_bind(throttle_id.to_owned())
                    .push(")");
                }
            }
            push_publication_filter(q, scope, filter);
        };
        let mut columns = String::from(PUBLICATION_COLUMNS);
        if side == BindingSide::Bound {
            columns.push_str(", b.id AS bind_id, t.name AS throttle_name, b.apply_time");
        }
        let mut tx = self.read_tx().await?;
        if !Self::throttle_in_scope(&mut tx, scope, throttle_id).await? {
            return Err(ThrottleError::NotFound(throttle_id.to_owned()));
        }
        let order = " ORDER BY pb.publish_time DESC, pb.id";
        let read = |row: &AnyRow| outline_from_row(row, side);
        Ok(read_page(tx, &columns, filtered, order, page, read).await?)
    }

    async fn list_api_throttles(
        &self,
        scope: &Scope,
        api_id: &str,
        filter: &ApiThrottleFilter,
        page: Page,
    ) -> ThrottleResult<(i64, Vec<ApiThrottle>)> {
        let filtered = |q: &mut QueryBuilder<'_>| {
            q.push(
                " FROM throttle_bindings b \
                 JOIN throttles t ON t.id = b.throttle_id \
                 JOIN instances i ON i.id = b.instance_id \
                 JOIN environments e ON e.instance_id = b.instance_id AND e.id = b.env_id",
            );
            let filter = ApiPolicyFilter {
                policy_id: filter.throttle_id.as_ref(),
                policy_name: filter.throttle_name.as_ref(),
                env_id: filter.env_id.as_ref(),
            };
            push_api_policy_filter(q, scope, api_id, "t", filter);
        };
        let mut tx = self.read_tx().await?;
        if !Self::api_in_scope(&mut tx, scope, api_id).await? {
            return Err(ThrottleError::ApiNotFound(api_id.to_owned()));
        }
        let columns = format!(
            "{THROTTLE_COLUMNS}, b.env_id, e.name AS env_name, b.id AS bind_id, b.apply_time"
        );
        let read = |row: &AnyRow| {
            Ok(ApiThrottle {
                throttle: throttle_from_row(row)?,
                env_id: row.try_get("env_id")?,
                env_name: row.try_get("env_name")?,
                bind_id: row.try_get("bind_id")?,
                bind_time: Timestamp::from_nanos(row.try_get("apply_time")?),
            })
        };
        let order = " ORDER BY b.apply_time DESC, b.id";
        Ok(read_page(tx, &columns, filtered, order, page, read).await?)
    }

    async fn create_throttle_special(
        &self,
        scope: &Scope,
        throttle_id: &str,
        object_type: SpecialObjectType,
        object_id: &SpecialObjectId,
        call_limits: u32,
    ) -> ThrottleResult<ThrottleSpecial> {
        let mut tx = self.config_tx().await?;
        let api_limit = Self::throttle_api_limit(&mut tx, scope, throttle_id)
            .await?
            .ok_or_else(|| ThrottleError::NotFound(throttle_id.to_owned()))?;
        let app_id = match object_type {
            SpecialObjectType::App => {
                if !Self::app_in_scope(&mut tx, scope, object_id.as_str()).await? {
                    return Err(ThrottleError::AppNotFound(object_id.as_str().to_owned()));
                }
                Some(object_id.as_str())
            }
            SpecialObjectType::User => None,
        };
        if i64::from(call_limits) > api_limit {
            return Err(ThrottleError::SpecialAboveApiLimit);
        }
        let taken = sqlx::query(
            "SELECT 1 FROM throttle_specials WHERE throttle_id = $1 AND object_type = $2 \
             AND object_id = $3",
        )
        .bind(throttle_id)
        .bind(object_type.as_str())
        .bind(object_id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if taken.is_some() {
            return Err(ThrottleError::SpecialExists);
        }
        let held: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM throttle_specials WHERE throttle_id = $1")
                .bind(throttle_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
        if held >= MAX_SPECIALS_PER_THROTTLE as i64 {
            return Err(ThrottleError::SpecialLimitReached);
        }
        let id = new_id();
        sqlx::query(
            "INSERT INTO throttle_specials (id, throttle_id, object_type, object_id, app_id, \
             call_limits, apply_time) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(throttle_id)
        .bind(object_type.as_str())
        .bind(object_id.as_str())
        .bind(app_id)
        .bind(i64::from(call_limits))
        .bind(Timestamp::now().nanos())
        .execute(&mut *tx)
        .await?;
        let special = Self::fetch_special(&mut tx, throttle_id, &id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(special)
    }

    async fn update_throttle_special(
        &self,
        scope: &Scope,
        throttle_id: &str,
        special_id: &str,
        call_limits: u32,
    ) -> ThrottleResult<ThrottleSpecial> {
        let mut tx = self.config_tx().await?;
        let api_limit = Self::throttle_api_limit(&mut tx, scope, throttle_id)
            .await?
            .ok_or_else(|| ThrottleError::NotFound(throttle_id.to_owned()))?;
        if Self::fetch_special(&mut tx, throttle_id, special_id)
            .await?
            .is_none()
        {
            return Err(ThrottleError::SpecialNotFound(special_id.to_owned()));
        }
        if i64::from(call_limits) > api_limit {
            return Err(ThrottleError::SpecialAboveApiLimit);
        }
        sqlx::query(
            "UPDATE throttle_specials SET call_limits = $1, apply_time = $2 \
             WHERE throttle_id = $3 AND id = $4",
        )
        .bind(i64::from(call_limits))
        .bind(Timestamp::now().nanos())
        .bind(throttle_id)
        .bind(special_id)
        .execute(&mut *tx)
        .await?;
        let special = Self::fetch_special(&mut tx, throttle_id, special_id)
            .await?
            .ok_or_else(|| ThrottleError::SpecialNotFound(special_id.to_owned()))?;
        tx.commit().await?;
        Ok(special)
    }

    async fn delete_throttle_special(
        &self,
        scope: &Scope,
        throttle_id: &str,
        special_id: &str,
    ) -> ThrottleResult<()> {
        let mut tx = self.config_tx().await?;
        if !Self::throttle_in_scope(&mut tx, scope, throttle_id).await? {
            return Err(ThrottleError::NotFound(throttle_id.to_owned()));
        }
        let r = sqlx::query("DELETE FROM throttle_specials WHERE throttle_id = $1 AND id = $2")
            .bind(throttle_id)
            .bind(special_id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Err(ThrottleError::SpecialNotFound(special_id.to_owned()));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_throttle_specials(
        &self,
        scope: &Scope,
        throttle_id: &str,
        filter: &SpecialFilter,
        page: Page,
    ) -> ThrottleResult<(i64, Vec<ThrottleSpecial>)> {
        let filtered = |q: &mut QueryBuilder<'_>| {
            q.push(" FROM throttle_specials s LEFT JOIN apps a ON a.id = s.app_id WHERE s.throttle_id = ")
                .push_bind(throttle_id.to_owned());
            if let Some(t) = filter.object_type {
                q.push(" AND s.object_type = ").push_bind(t.as_str());
            }
            if let Some(v) = &filter.app_name {
                q.push(" AND s.object_type = 'APP' AND instr(a.name, ")
                    .push_bind(v.clone())
                    .push(") > 0");
            }
            if let Some(v) = &filter.user {
                q.push(" AND s.object_type = 'USER' AND instr(s.object_id, ")
                    .push_bind(v.clone())
                    .push(") > 0");
            }
        };
        let mut tx = self.read_tx().await?;
        if !Self::throttle_in_scope(&mut tx, scope, throttle_id).await? {
            return Err(ThrottleError::NotFound(throttle_id.to_owned()));
        }
        let order = " ORDER BY s.apply_time DESC, s.id";
        Ok(read_page(tx, SPECIAL_COLUMNS, filtered, order, page, special_from_row).await?)
    }

    async fn throttled_apis(&self, instance_id: &str) -> StoreResult<Vec<ThrottledApi>> {
        let mut tx = self.read_tx().await?;
        let rows = sqlx::query(
            "SELECT b.api_id, b.env_id, i.project_id, t.id, t.api_call_limits, \
             t.user_call_limits, t.app_call_limits, t.ip_call_limits, t.time_interval, \
             t.time_unit, t.type \
             FROM throttle_bindings b JOIN throttles t ON t.id = b.throttle_id \
             JOIN instances i ON i.id = b.instance_id \
             JOIN publications pb ON pb.api_id = b.api_id AND pb.env_id = b.env_id \
             WHERE b.instance_id = $1 ORDER BY b.api_id, b.env_id",
        )
        .bind(instance_id)
        .fetch_all(&mut *tx)
        .await?;
        let special_rows = sqlx::query(
            "SELECT s.throttle_id, s.object_type, s.object_id, s.call_limits \
             FROM throttle_specials s JOIN throttles t ON t.id = s.throttle_id \
             WHERE t.instance_id = $1 ORDER BY s.throttle_id, s.id",
        )
        .bind(instance_id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut specials: std::collections::HashMap<String, Vec<(SpecialObjectType, String, u32)>> =
            std::collections::HashMap::new();
        for row in &special_rows {
            let object_type: String = row.try_get("object_type")?;
            specials
                .entry(row.try_get("throttle_id")?)
                .or_default()
                .push((
                    SpecialObjectType::from_wire(&object_type)
                        .ok_or_else(|| corrupt("object_type"))?,
                    row.try_get("object_id")?,
                    count(row, "call_limits")?.get(),
                ));
        }
        rows.iter()
            .map(|row| {
                let throttle_id: String = row.try_get("id")?;
                Ok(ThrottledApi {
                    api_id: row.try_get("api_id")?,
                    env_id: row.try_get("env_id")?,
                    project_id: row.try_get("project_id")?,
                    shared: row.try_get::<i64, _>("type")? == ThrottleKind::Shared.code(),
                    limits: limits_from_row(row)?,
                    specials: specials.get(&throttle_id).cloned().unwrap_or_default(),
                    throttle_id,
                })
            })
            .collect()
    }
}
