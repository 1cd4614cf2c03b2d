//! What the bindings of policies to published APIs share (request throttling and access
//! control): finding a publication record in scope, the columns and filters of the lists of
//! published APIs, removing binding records one by one.

use super::*;
use crate::acl_policies::AclApiOutline;
use crate::throttles::{BindingSide, PublicationFilter, UnbindFailure};

/// The columns of a published API (`pb` publication, `p` API, `g` group, `e` environment) in
/// the binding lists.
pub(super) const PUBLICATION_COLUMNS: &str =
    "p.id, p.name, p.api_type, COALESCE(json_extract(p.definition, '$.remark'), '') AS remark, \
     p.group_id, g.name AS group_name, pb.env_id, e.name AS env_name, pb.id AS publish_id, \
     p.req_uri, p.req_method, p.auth_type";

/// Appends the scope and `filter` conditions to a binding list's `WHERE` clause.
pub(super) fn push_publication_filter(
    q: &mut QueryBuilder<'_>,
    scope: &Scope,
    filter: &PublicationFilter,
) {
    q.push(" AND i.project_id = ")
        .push_bind(scope.project_id.clone())
        .push(" AND pb.instance_id = ")
        .push_bind(scope.instance_id.clone());
    if let Some(v) = &filter.env_id {
        q.push(" AND pb.env_id = ").push_bind(v.clone());
    }
    if let Some(v) = &filter.group_id {
        q.push(" AND p.group_id = ").push_bind(v.clone());
    }
    if let Some(v) = &filter.api_id {
        q.push(" AND p.id = ").push_bind(v.clone());
    }
    if let Some(v) = &filter.api_name {
        q.push(" AND instr(p.name, ")
            .push_bind(v.clone())
            .push(") > 0");
    }
}

/// A published API of a policy's lists (access control, signature keys) from a row of
/// [`PUBLICATION_COLUMNS`] with, on the bound side, `bind_id` and `bind_time`, on the unbound
/// side `other_policy`.
pub(super) fn outline_from_row(row: &AnyRow, side: BindingSide) -> StoreResult<AclApiOutline> {
    let (binding, other_policy) = match side {
        BindingSide::Bound => (
            Some((
                row.try_get("bind_id")?,
                Timestamp::from_nanos(row.try_get("bind_time")?),
            )),
            None,
        ),
        BindingSide::Unbound => (None, row.try_get("other_policy")?),
    };
    Ok(AclApiOutline {
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
        other_policy,
    })
}

impl SqlStore {
    /// The (API, environment) of publication record `publish_id` in `scope`.
    pub(super) async fn publication_in_scope(
        tx: &mut AnyConnection,
        scope: &Scope,
        publish_id: &str,
    ) -> StoreResult<Option<(String, String)>> {
        let row = sqlx::query(
            "SELECT p.api_id, p.env_id FROM publications p JOIN instances i ON i.id = p.instance_id \
             WHERE i.project_id = $1 AND p.instance_id = $2 AND p.id = $3",
        )
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .bind(publish_id)
        .fetch_optional(&mut *tx)
        .await?;
        Ok(match row {
            Some(row) => Some((row.try_get("api_id")?, row.try_get("env_id")?)),
            None => None,
        })
    }

    /// Whether API `api_id` is in `scope`.
    pub(super) async fn api_in_scope(
        tx: &mut AnyConnection,
        scope: &Scope,
        api_id: &str,
    ) -> StoreResult<bool> {
        Ok(sqlx::query(
            "SELECT 1 FROM apis p JOIN instances i ON i.id = p.instance_id \
             WHERE i.project_id = $1 AND p.instance_id = $2 AND p.id = $3",
        )
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .bind(api_id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some())
    }

    /// Removes binding records of `table` (`throttle_bindings`, `acl_bindings`) in `scope`,
    /// each on its own: how many went and the ids that were not there.
    pub(super) async fn delete_bindings(
        &self,
        table: &'static str,
        scope: &Scope,
        binding_ids: &[String],
    ) -> StoreResult<(usize, Vec<UnbindFailure>)> {
        let sql = format!(
            "DELETE FROM {table} WHERE id = $1 AND instance_id = $2 \
             AND instance_id IN (SELECT id FROM instances WHERE project_id = $3)"
        );
        let mut tx = self.config_tx().await?;
        let mut removed = 0;
        let mut failures = Vec::new();
        for id in binding_ids {
            let r = sqlx::query(&sql)
                .bind(id)
                .bind(&scope.instance_id)
                .bind(&scope.project_id)
                .execute(&mut *tx)
                .await?;
            if r.rows_affected() > 0 {
                removed += 1;
            } else {
                failures.push(UnbindFailure {
                    binding_id: id.clone(),
                });
            }
        }
        tx.commit().await?;
        Ok((removed, failures))
    }
}
