//! SQL implementation of [`AclPolicyStore`]: access control policies and their bindings.

use super::bindings::{
    outline_from_row, policy_publication_columns, push_api_policy_filter, push_policy_name_filter,
    push_policy_publications, ApiPolicyFilter, PolicyTables,
};
use super::*;
use crate::acl_policies::*;
use crate::throttles::{BindingSide, PublicationFilter, UnbindFailure};
use apigw_domain::acl_policy::AclPolicySpec;
use apigw_domain::authz::AclType;

/// The columns of a policy (`c`) with its binding count.
const POLICY_COLUMNS: &str = "c.id, c.name, c.acl_type, c.acl_value, c.update_time, \
     (SELECT COUNT(*) FROM acl_bindings b WHERE b.acl_id = c.id) AS bind_num";

/// Where access control policies and their bindings are.
const ACL_TABLES: PolicyTables = PolicyTables {
    bindings: "acl_bindings",
    policy_column: "acl_id",
    policies: "acl_policies",
};

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("stored access control {what} breaks the rules"))
}

fn policy_from_row(row: &AnyRow) -> StoreResult<AclPolicy> {
    let acl_type: String = row.try_get("acl_type")?;
    let value: String = row.try_get("acl_value")?;
    Ok(AclPolicy {
        id: row.try_get("id")?,
        spec: AclPolicySpec {
            name: row.try_get("name")?,
            acl_type: AclType::from_wire(&acl_type).ok_or_else(|| corrupt("acl_type"))?,
            values: AclPolicySpec::parse_values(&value).map_err(|_| corrupt("acl_value"))?,
        },
        bind_num: row.try_get("bind_num")?,
        update_time: Timestamp::from_nanos(row.try_get("update_time")?),
    })
}

impl SqlStore {
    /// Policy `id` in `scope`: its name and whether it is bound.
    async fn acl_policy_state(
        tx: &mut AnyConnection,
        scope: &Scope,
        id: &str,
    ) -> StoreResult<Option<(String, bool)>> {
        let row = sqlx::query(
            "SELECT c.name, (SELECT COUNT(*) FROM acl_bindings b WHERE b.acl_id = c.id) AS bound \
             FROM acl_policies c JOIN instances i ON i.id = c.instance_id \
             WHERE i.project_id = $1 AND c.instance_id = $2 AND c.id = $3",
        )
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        Ok(match row {
            Some(row) => Some((row.try_get("name")?, row.try_get::<i64, _>("bound")? > 0)),
            None => None,
        })
    }

    async fn fetch_acl_policy(
        conn: impl Executor<'_, Database = Any>,
        scope: &Scope,
        id: &str,
    ) -> StoreResult<Option<AclPolicy>> {
        let sql = format!(
            "SELECT {POLICY_COLUMNS} FROM acl_policies c JOIN instances i ON i.id = c.instance_id \
             WHERE i.project_id = $1 AND c.instance_id = $2 AND c.id = $3"
        );
        sqlx::query(&sql)
            .bind(&scope.project_id)
            .bind(&scope.instance_id)
            .bind(id)
            .fetch_optional(conn)
            .await?
            .as_ref()
            .map(policy_from_row)
            .transpose()
    }
}

#[async_trait]
impl AclPolicyStore for SqlStore {
    async fn create_acl_policy(
        &self,
        scope: &Scope,
        spec: AclPolicySpec,
    ) -> AclPolicyResult<AclPolicy> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        if Self::name_taken_in_instance(&mut tx, "acl_policies", scope, &spec.name, "").await? {
            return Err(AclPolicyError::NameExists);
        }
        let policy = AclPolicy {
            id: new_id(),
            spec,
            bind_num: 0,
            update_time: Timestamp::now(),
        };
        sqlx::query(
            "INSERT INTO acl_policies (id, instance_id, name, acl_type, entity_type, acl_value, \
             update_time) VALUES ($1, $2, $3, $4, 'IP', $5, $6)",
        )
        .bind(&policy.id)
        .bind(&scope.instance_id)
        .bind(&policy.spec.name)
        .bind(policy.spec.acl_type.as_str())
        .bind(policy.spec.value_text())
        .bind(policy.update_time.nanos())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(policy)
    }

    async fn update_acl_policy(
        &self,
        scope: &Scope,
        id: &str,
        spec: AclPolicySpec,
    ) -> AclPolicyResult<AclPolicy> {
        let mut tx = self.config_tx().await?;
        if Self::acl_policy_state(&mut tx, scope, id).await?.is_none() {
            return Err(AclPolicyError::NotFound(id.to_owned()));
        }
        if Self::name_taken_in_instance(&mut tx, "acl_policies", scope, &spec.name, id).await? {
            return Err(AclPolicyError::NameExists);
        }
        sqlx::query(
            "UPDATE acl_policies SET name = $1, acl_type = $2, acl_value = $3, update_time = $4 \
             WHERE id = $5 AND instance_id = $6",
        )
        .bind(&spec.name)
        .bind(spec.acl_type.as_str())
        .bind(spec.value_text())
        .bind(Timestamp::now().nanos())
        .bind(id)
        .bind(&scope.instance_id)
        .execute(&mut *tx)
        .await?;
        let policy = Self::fetch_acl_policy(&mut *tx, scope, id)
            .await?
            .ok_or_else(|| AclPolicyError::NotFound(id.to_owned()))?;
        tx.commit().await?;
        Ok(policy)
    }

    async fn get_acl_policy(&self, scope: &Scope, id: &str) -> StoreResult<Option<AclPolicy>> {
        Self::fetch_acl_policy(&self.reader, scope, id).await
    }

    async fn list_acl_policies(
        &self,
        scope: &Scope,
        filter: &AclPolicyFilter,
        page: Page,
    ) -> StoreResult<(i64, Vec<AclPolicy>)> {
        let filtered = |q: &mut QueryBuilder<'_>| {
            q.push(
                " FROM acl_policies c JOIN instances i ON i.id = c.instance_id WHERE i.project_id = ",
            )
            .push_bind(scope.project_id.clone())
            .push(" AND c.instance_id = ")
            .push_bind(scope.instance_id.clone());
            let (id, name) = (filter.id.as_ref(), filter.name.as_ref());
            push_policy_name_filter(q, "c", id, name, filter.name_exact);
            if let Some(t) = filter.acl_type {
                q.push(" AND c.acl_type = ").push_bind(t.as_str());
            }
        };
        let tx = self.read_tx().await?;
        let order = " ORDER BY c.update_time DESC, c.id";
        read_page(tx, POLICY_COLUMNS, filtered, order, page, policy_from_row).await
    }

    async fn delete_acl_policy(&self, scope: &Scope, id: &str) -> AclPolicyResult<()> {
        let (removed, failures) = self
            .delete_acl_policies(scope, std::slice::from_ref(&id.to_owned()))
            .await?;
        match failures.first() {
            _ if removed == 1 => Ok(()),
            Some(f) if f.bound => Err(AclPolicyError::Bound),
            _ => Err(AclPolicyError::NotFound(id.to_owned())),
        }
    }

    async fn delete_acl_policies(
        &self,
        scope: &Scope,
        ids: &[String],
    ) -> StoreResult<(usize, Vec<AclDeleteFailure>)> {
        let mut tx = self.config_tx().await?;
        let mut removed = 0;
        let mut failures = Vec::new();
        for id in ids {
            match Self::acl_policy_state(&mut tx, scope, id).await? {
                Some((_, false)) => {
                    sqlx::query("DELETE FROM acl_policies WHERE id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    removed += 1;
                }
                Some((name, true)) => failures.push(AclDeleteFailure {
                    acl_id: id.clone(),
                    acl_name: Some(name),
                    bound: true,
                }),
                None => failures.push(AclDeleteFailure {
                    acl_id: id.clone(),
                    acl_name: None,
                    bound: false,
                }),
            }
        }
        tx.commit().await?;
        Ok((removed, failures))
    }

    async fn bind_acl_policy(
        &self,
        scope: &Scope,
        acl_id: &str,
        publish_ids: &[String],
    ) -> AclPolicyResult<Vec<AclBinding>> {
        let mut tx = self.config_tx().await?;
        if Self::acl_policy_state(&mut tx, scope, acl_id)
            .await?
            .is_none()
        {
            return Err(AclPolicyError::NotFound(acl_id.to_owned()));
        }
        let now = Timestamp::now();
        let mut out = Vec::with_capacity(publish_ids.len());
        for publish_id in publish_ids {
            let (api_id, env_id) = Self::publication_in_scope(&mut tx, scope, publish_id)
                .await?
                .ok_or_else(|| AclPolicyError::PublicationNotFound(publish_id.clone()))?;
            let existing = sqlx::query(
                "SELECT id, acl_id, create_time FROM acl_bindings WHERE api_id = $1 AND env_id = $2",
            )
            .bind(&api_id)
            .bind(&env_id)
            .fetch_optional(&mut *tx)
            .await?;
            let (id, create_time) = match existing {
                Some(row) if row.try_get::<String, _>("acl_id")? == acl_id => (
                    row.try_get("id")?,
                    Timestamp::from_nanos(row.try_get("create_time")?),
                ),
                Some(_) => return Err(AclPolicyError::BoundElsewhere(publish_id.clone())),
                None => {
                    let id = new_id();
                    sqlx::query(
                        "INSERT INTO acl_bindings (id, instance_id, acl_id, api_id, env_id, \
                         create_time) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&id)
                    .bind(&scope.instance_id)
                    .bind(acl_id)
                    .bind(&api_id)
                    .bind(&env_id)
                    .bind(now.nanos())
                    .execute(&mut *tx)
                    .await?;
                    (id, now)
                }
            };
            out.push(AclBinding {
                id,
                acl_id: acl_id.to_owned(),
                api_id,
                env_id,
                create_time,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn unbind_acl_policies(
        &self,
        scope: &Scope,
        binding_ids: &[String],
    ) -> StoreResult<(usize, Vec<UnbindFailure>)> {
        self.delete_bindings("acl_bindings", scope, binding_ids)
            .await
    }

    async fn list_acl_policy_apis(
        &self,
        scope: &Scope,
        acl_id: &str,
        side: BindingSide,
        filter: &PublicationFilter,
        page: Page,
    ) -> AclPolicyResult<(i64, Vec<AclApiOutline>)> {
        let filtered = |q: &mut QueryBuilder<'_>| {
            push_policy_publications(q, &ACL_TABLES, acl_id, side, scope, filter);
        };
        let columns = policy_publication_columns(side);
        let mut tx = self.read_tx().await?;
        if Self::acl_policy_state(&mut tx, scope, acl_id)
            .await?
            .is_none()
        {
            return Err(AclPolicyError::NotFound(acl_id.to_owned()));
        }
        let order = " ORDER BY pb.publish_time DESC, pb.id";
        let read = |row: &AnyRow| outline_from_row(row, side);
        Ok(read_page(tx, &columns, filtered, order, page, read).await?)
    }

    async fn list_api_acl_policies(
        &self,
        scope: &Scope,
        api_id: &str,
        filter: &ApiAclFilter,
        page: Page,
    ) -> AclPolicyResult<(i64, Vec<ApiAclPolicy>)> {
        let filtered = |q: &mut QueryBuilder<'_>| {
            q.push(
                " FROM acl_bindings b \
                 JOIN acl_policies c ON c.id = b.acl_id \
                 JOIN instances i ON i.id = b.instance_id \
                 JOIN environments e ON e.instance_id = b.instance_id AND e.id = b.env_id",
            );
            let filter = ApiPolicyFilter {
                policy_id: filter.acl_id.as_ref(),
                policy_name: filter.acl_name.as_ref(),
                env_id: filter.env_id.as_ref(),
            };
            push_api_policy_filter(q, scope, api_id, "c", filter);
        };
        let mut tx = self.read_tx().await?;
        if !Self::api_in_scope(&mut tx, scope, api_id).await? {
            return Err(AclPolicyError::ApiNotFound(api_id.to_owned()));
        }
        let columns = format!(
            "{POLICY_COLUMNS}, b.env_id, e.name AS env_name, b.id AS bind_id, b.create_time AS bind_time"
        );
        let read = |row: &AnyRow| {
            Ok(ApiAclPolicy {
                policy: policy_from_row(row)?,
                env_id: row.try_get("env_id")?,
                env_name: row.try_get("env_name")?,
                bind_id: row.try_get("bind_id")?,
                bind_time: Timestamp::from_nanos(row.try_get("bind_time")?),
            })
        };
        let order = " ORDER BY b.create_time DESC, b.id";
        Ok(read_page(tx, &columns, filtered, order, page, read).await?)
    }

    async fn acl_bound_apis(&self, instance_id: &str) -> StoreResult<Vec<AclBoundApi>> {
        let rows = sqlx::query(
            "SELECT b.api_id, b.env_id, c.acl_type, c.acl_value \
             FROM acl_bindings b JOIN acl_policies c ON c.id = b.acl_id \
             JOIN publications pb ON pb.api_id = b.api_id AND pb.env_id = b.env_id \
             WHERE b.instance_id = $1 ORDER BY b.api_id, b.env_id",
        )
        .bind(instance_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                let acl_type: String = row.try_get("acl_type")?;
                let value: String = row.try_get("acl_value")?;
                Ok(AclBoundApi {
                    api_id: row.try_get("api_id")?,
                    env_id: row.try_get("env_id")?,
                    acl_type: AclType::from_wire(&acl_type).ok_or_else(|| corrupt("acl_type"))?,
                    values: value.split(',').map(str::to_owned).collect(),
                })
            })
            .collect()
    }
}
