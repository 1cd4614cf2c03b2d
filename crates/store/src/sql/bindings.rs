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

/// The tables of a kind of policy whose bindings keep one policy per API and environment
/// (access control policies, signature keys): the binding table, its column naming the
/// policy, and the policy table.
pub(super) struct PolicyTables {
    pub bindings: &'static str,
    pub policy_column: &'static str,
    pub policies: &'static str,
}

/// Appends the `FROM … WHERE …` of the published APIs in `scope` bound (or, `side`, not
/// bound) to policy `policy_id` of `tables`, filtered by `filter`: `pb` publication, `p` API,
/// `g` group, `e` environment, `b` the API's binding there (if any), `c` its policy.
pub(super) fn push_policy_publications(
    q: &mut QueryBuilder<'_>,
    tables: &PolicyTables,
    policy_id: &str,
    side: BindingSide,
    scope: &Scope,
    filter: &PublicationFilter,
) {
    let PolicyTables {
        bindings,
        policy_column,
        policies,
    } = tables;
    q.push(format!(
        " FROM publications pb \
         JOIN apis p ON p.id = pb.api_id \
         JOIN instances i ON i.id = pb.instance_id \
         JOIN api_groups g ON g.id = p.group_id \
         JOIN environments e ON e.instance_id = pb.instance_id AND e.id = pb.env_id \
         LEFT JOIN {bindings} b ON b.api_id = pb.api_id AND b.env_id = pb.env_id \
         LEFT JOIN {policies} c ON c.id = b.{policy_column} WHERE "
    ));
    match side {
        BindingSide::Bound => q
            .push(format!("b.{policy_column} = "))
            .push_bind(policy_id.to_owned()),
        BindingSide::Unbound => q
            .push(format!(
                "(b.{policy_column} IS NULL OR b.{policy_column} <> "
            ))
            .push_bind(policy_id.to_owned())
            .push(")"),
    };
    push_publication_filter(q, scope, filter);
}

/// The columns [`outline_from_row`] reads on `side` besides [`PUBLICATION_COLUMNS`], with
/// `c` the other policy bound there.
pub(super) fn policy_publication_columns(side: BindingSide) -> String {
    let mut columns = String::from(PUBLICATION_COLUMNS);
    columns.push_str(match side {
        BindingSide::Bound => ", b.id AS bind_id, b.create_time AS bind_time",
        BindingSide::Unbound => ", c.name AS other_policy",
    });
    columns
}

/// Appends a policy list's filters on policy `alias`: exact id, name (a substring unless
/// `exact`).
pub(super) fn push_policy_name_filter(
    q: &mut QueryBuilder<'_>,
    alias: &str,
    id: Option<&String>,
    name: Option<&String>,
    exact: bool,
) {
    if let Some(id) = id {
        q.push(format!(" AND {alias}.id = ")).push_bind(id.clone());
    }
    match (name, exact) {
        (Some(name), true) => {
            q.push(format!(" AND {alias}.name = "))
                .push_bind(name.clone());
        }
        (Some(name), false) => {
            q.push(format!(" AND instr({alias}.name, "))
                .push_bind(name.clone())
                .push(") > 0");
        }
        (None, _) => {}
    }
}

/// Which of an API's bindings a list of its policies shows: those to one policy, to policies
/// whose name contains a text, in one environment.
pub(super) struct ApiPolicyFilter<'f> {
    pub policy_id: Option<&'f String>,
    pub policy_name: Option<&'f String>,
    pub env_id: Option<&'f String>,
}

/// Appends the `WHERE` of a list of the policies bound to API `api_id` in `scope` (`b` the
/// binding, `i` its instance, `alias` the policy).
pub(super) fn push_api_policy_filter(
    q: &mut QueryBuilder<'_>,
    scope: &Scope,
    api_id: &str,
    alias: &str,
    filter: ApiPolicyFilter<'_>,
) {
    q.push(" WHERE i.project_id = ")
        .push_bind(scope.project_id.clone())
        .push(" AND b.instance_id = ")
        .push_bind(scope.instance_id.clone())
        .push(" AND b.api_id = ")
        .push_bind(api_id.to_owned());
    push_policy_name_filter(q, alias, filter.policy_id, filter.policy_name, false);
    if let Some(v) = filter.env_id {
        q.push(" AND b.env_id = ").push_bind(v.clone());
    }
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
