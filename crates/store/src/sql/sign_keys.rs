//! SQL implementation of [`SignKeyStore`]: signature keys and their bindings.

use super::bindings::{
    outline_from_row, policy_publication_columns, push_api_policy_filter, push_policy_name_filter,
    push_policy_publications, ApiPolicyFilter, PolicyTables, PUBLICATION_COLUMNS,
};
use super::*;
use crate::acl_policies::AclApiOutline;
use crate::sign_keys::*;
use crate::throttles::{BindingSide, PublicationFilter};
use apigw_domain::sign_key::{SignKeyInput, SignKeySpec, MAX_SIGN_KEYS_PER_INSTANCE};

/// The columns of a key (`s`) with its binding count, named apart from an API's columns.
const KEY_COLUMNS: &str = "s.id AS sign_id, s.name AS sign_name, s.sign_type, s.sign_key, \
     s.secret_enc, s.create_time AS sign_create_time, s.update_time AS sign_update_time, \
     (SELECT COUNT(*) FROM sign_bindings x WHERE x.sign_id = s.id) AS bind_num";

/// A published API bound to a key (`b`), with the key (`s`): the joins and columns of the
/// bind answer and of `binded-signs`.
const BOUND_FROM: &str = " FROM sign_bindings b \
     JOIN publications pb ON pb.api_id = b.api_id AND pb.env_id = b.env_id \
     JOIN apis p ON p.id = b.api_id \
     JOIN instances i ON i.id = b.instance_id \
     JOIN api_groups g ON g.id = p.group_id \
     JOIN environments e ON e.instance_id = b.instance_id AND e.id = b.env_id \
     JOIN sign_keys s ON s.id = b.sign_id";

/// Where signature keys and their bindings are.
const SIGN_TABLES: PolicyTables = PolicyTables {
    bindings: "sign_bindings",
    policy_column: "sign_id",
    policies: "sign_keys",
};

fn sign_secret_context(sign_id: &str) -> String {
    format!("sign_secret:{sign_id}")
}

impl SqlStore {
    fn sign_key_from_row(&self, row: &AnyRow) -> StoreResult<SignKey> {
        let id: String = row.try_get("sign_id")?;
        let sealed: String = row.try_get("secret_enc")?;
        let secret = self
            .sealer
            .open_string(&sealed, &sign_secret_context(&id))?;
        let spec = SignKeySpec::from_stored(
            row.try_get("sign_name")?,
            &row.try_get::<String, _>("sign_type")?,
            row.try_get("sign_key")?,
            secret,
        )
        .ok_or_else(|| StoreError::Corrupt("stored signature key breaks the rules".into()))?;
        Ok(SignKey {
            id,
            spec,
            bind_num: row.try_get("bind_num")?,
            create_time: Timestamp::from_nanos(row.try_get("sign_create_time")?),
            update_time: Timestamp::from_nanos(row.try_get("sign_update_time")?),
        })
    }

    fn sign_binding_from_row(&self, row: &AnyRow) -> StoreResult<SignApiBinding> {
        Ok(SignApiBinding {
            api: outline_from_row(row, BindingSide::Bound)?,
            key: self.sign_key_from_row(row)?,
        })
    }

    /// Key `id` in `scope`.
    async fn fetch_sign_key(
        &self,
        conn: &mut AnyConnection,
        scope: &Scope,
        id: &str,
    ) -> StoreResult<Option<SignKey>> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM sign_keys s JOIN instances i ON i.id = s.instance_id \
             WHERE i.project_id = $1 AND s.instance_id = $2 AND s.id = $3"
        );
        sqlx::query(&sql)
            .bind(&scope.project_id)
            .bind(&scope.instance_id)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| self.sign_key_from_row(&row))
            .transpose()
    }

    /// How many APIs key `id` in `scope` is bound to; `None` if it is not in scope. Reads no
    /// secret (deleting and binding need none).
    async fn sign_key_bindings(
        tx: &mut AnyConnection,
        scope: &Scope,
        id: &str,
    ) -> StoreResult<Option<i64>> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM sign_bindings b WHERE b.sign_id = s.id) AS bound \
             FROM sign_keys s JOIN instances i ON i.id = s.instance_id \
             WHERE i.project_id = $1 AND s.instance_id = $2 AND s.id = $3",
        )
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        Ok(match row {
            Some(row) => Some(row.try_get("bound")?),
            None => None,
        })
    }
}

#[async_trait]
impl SignKeyStore for SqlStore {
    async fn create_sign_key(&self, scope: &Scope, input: SignKeyInput) -> SignKeyResult<SignKey> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        let spec = input.complete(None);
        if Self::name_taken_in_instance(&mut tx, "sign_keys", scope, &spec.name, "").await? {
            return Err(SignKeyError::NameExists);
        }
        if Self::rows_in_instance(&mut tx, "sign_keys", scope).await?
            >= MAX_SIGN_KEYS_PER_INSTANCE as i64
        {
            return Err(SignKeyError::LimitReached);
        }
        let now = Timestamp::now();
        let key = SignKey {
            id: new_id(),
            spec,
            bind_num: 0,
            create_time: now,
            update_time: now,
        };
        sqlx::query(
            "INSERT INTO sign_keys (id, instance_id, name, sign_type, sign_key, secret_enc, \
             create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&key.id)
        .bind(&scope.instance_id)
        .bind(&key.spec.name)
        .bind(key.spec.sign_type.as_str())
        .bind(&key.spec.key)
        .bind(
            self.sealer
                .seal(key.spec.secret.as_bytes(), &sign_secret_context(&key.id)),
        )
        .bind(now.nanos())
        .bind(now.nanos())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(key)
    }

    async fn update_sign_key(
        &self,
        scope: &Scope,
        id: &str,
        input: SignKeyInput,
    ) -> SignKeyResult<SignKey> {
        let mut tx = self.config_tx().await?;
        let previous = self
            .fetch_sign_key(&mut tx, scope, id)
            .await?
            .ok_or_else(|| SignKeyError::NotFound(id.to_owned()))?;
        let spec = input.complete(Some(&previous.spec));
        if Self::name_taken_in_instance(&mut tx, "sign_keys", scope, &spec.name, id).await? {
            return Err(SignKeyError::NameExists);
        }
        let now = Timestamp::now();
        sqlx::query(
            "UPDATE sign_keys SET name = $1, sign_type = $2, sign_key = $3, secret_enc = $4, \
             update_time = $5 WHERE id = $6 AND instance_id = $7",
        )
        .bind(&spec.name)
        .bind(spec.sign_type.as_str())
        .bind(&spec.key)
        .bind(
            self.sealer
                .seal(spec.secret.as_bytes(), &sign_secret_context(id)),
        )
        .bind(now.nanos())
        .bind(id)
        .bind(&scope.instance_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(SignKey {
            spec,
            update_time: now,
            ..previous
        })
    }

    async fn list_sign_keys(
        &self,
        scope: &Scope,
        filter: &SignKeyFilter,
        page: Page,
    ) -> StoreResult<(i64, Vec<SignKey>)> {
        let filtered = |q: &mut QueryBuilder<'_>| {
            q.push(
                " FROM sign_keys s JOIN instances i ON i.id = s.instance_id WHERE i.project_id = ",
            )
            .push_bind(scope.project_id.clone())
            .push(" AND s.instance_id = ")
            .push_bind(scope.instance_id.clone());
            let (id, name) = (filter.id.as_ref(), filter.name.as_ref());
            push_policy_name_filter(q, "s", id, name, filter.name_exact);
        };
        let tx = self.read_tx().await?;
        let order = " ORDER BY s.update_time DESC, s.id";
        let read = |row: &AnyRow| self.sign_key_from_row(row);
        read_page(tx, KEY_COLUMNS, filtered, order, page, read).await
    }

    async fn delete_sign_key(&self, scope: &Scope, id: &str) -> SignKeyResult<()> {
        let mut tx = self.config_tx().await?;
        let bindings = Self::sign_key_bindings(&mut tx, scope, id)
            .await?
            .ok_or_else(|| SignKeyError::NotFound(id.to_owned()))?;
        if bindings > 0 {
            return Err(SignKeyError::Bound);
        }
        sqlx::query("DELETE FROM sign_keys WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn bind_sign_key(
        &self,
        scope: &Scope,
        sign_id: &str,
        publish_ids: &[String],
    ) -> SignKeyResult<Vec<SignApiBinding>> {
        let mut tx = self.config_tx().await?;
        if Self::sign_key_bindings(&mut tx, scope, sign_id)
            .await?
            .is_none()
        {
            return Err(SignKeyError::NotFound(sign_id.to_owned()));
        }
        let now = Timestamp::now();
        let mut binding_ids = Vec::with_capacity(publish_ids.len());
        for publish_id in publish_ids {
            let (api_id, env_id) = Self::publication_in_scope(&mut tx, scope, publish_id)
                .await?
                .ok_or_else(|| SignKeyError::PublicationNotFound(publish_id.clone()))?;
            let existing = sqlx::query(
                "SELECT id, sign_id FROM sign_bindings WHERE api_id = $1 AND env_id = $2",
            )
            .bind(&api_id)
            .bind(&env_id)
            .fetch_optional(&mut *tx)
            .await?;
            let id = match existing {
                Some(row) if row.try_get::<String, _>("sign_id")? == sign_id => {
                    row.try_get("id")?
                }
                Some(_) => return Err(SignKeyError::BoundElsewhere(publish_id.clone())),
                None => {
                    let id = new_id();
                    sqlx::query(
                        "INSERT INTO sign_bindings (id, instance_id, sign_id, api_id, env_id, \
                         create_time) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&id)
                    .bind(&scope.instance_id)
                    .bind(sign_id)
                    .bind(&api_id)
                    .bind(&env_id)
                    .bind(now.nanos())
                    .execute(&mut *tx)
                    .await?;
                    id
                }
            };
            if !binding_ids.contains(&id) {
                binding_ids.push(id);
            }
        }
        let mut q = QueryBuilder::new(format!(
            "SELECT {PUBLICATION_COLUMNS}, b.id AS bind_id, b.create_time AS bind_time, \
             {KEY_COLUMNS}{BOUND_FROM} WHERE b.id IN ("
        ));
        for (i, id) in binding_ids.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.push_bind(id.clone());
        }
        q.push(") ORDER BY b.create_time DESC, b.id");
        let rows = q.build().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let mut bindings = rows
            .iter()
            .map(|row| self.sign_binding_from_row(row))
            .collect::<StoreResult<Vec<_>>>()?;
        // In the order asked for.
        bindings.sort_by_key(|b| {
            binding_ids
                .iter()
                .position(|id| b.api.binding.as_ref().is_some_and(|(bid, _)| bid == id))
        });
        Ok(bindings)
    }

    async fn unbind_sign_key(&self, scope: &Scope, binding_id: &str) -> StoreResult<bool> {
        let (removed, _) = self
            .delete_bindings(
                "sign_bindings",
                scope,
                std::slice::from_ref(&binding_id.to_owned()),
            )
            .await?;
        Ok(removed > 0)
    }

    async fn list_sign_key_apis(
        &self,
        scope: &Scope,
        sign_id: &str,
        side: BindingSide,
        filter: &PublicationFilter,
        page: Page,
    ) -> SignKeyResult<(SignKey, i64, Vec<AclApiOutline>)> {
        let filtered = |q: &mut QueryBuilder<'_>| {
            push_policy_publications(q, &SIGN_TABLES, sign_id, side, scope, filter);
        };
        let columns = policy_publication_columns(side);
        let mut tx = self.read_tx().await?;
        let key = self
            .fetch_sign_key(&mut tx, scope, sign_id)
            .await?
            .ok_or_else(|| SignKeyError::NotFound(sign_id.to_owned()))?;
        let order = " ORDER BY pb.publish_time DESC, pb.id";
        let read = |row: &AnyRow| outline_from_row(row, side);
        let (total, apis) = read_page(tx, &columns, filtered, order, page, read).await?;
        Ok((key, total, apis))
    }

    async fn list_api_sign_keys(
        &self,
        scope: &Scope,
        api_id: &str,
        filter: &ApiSignFilter,
        page: Page,
    ) -> SignKeyResult<(i64, Vec<SignApiBinding>)> {
        let filtered = |q: &mut QueryBuilder<'_>| {
            q.push(BOUND_FROM);
            let filter = ApiPolicyFilter {
                policy_id: filter.sign_id.as_ref(),
                policy_name: filter.sign_name.as_ref(),
                env_id: filter.env_id.as_ref(),
            };
            push_api_policy_filter(q, scope, api_id, "s", filter);
        };
        let mut tx = self.read_tx().await?;
        if !Self::api_in_scope(&mut tx, scope, api_id).await? {
            return Err(SignKeyError::ApiNotFound(api_id.to_owned()));
        }
        let columns = format!(
            "{PUBLICATION_COLUMNS}, b.id AS bind_id, b.create_time AS bind_time, {KEY_COLUMNS}"
        );
        let order = " ORDER BY b.create_time DESC, b.id";
        let read = |row: &AnyRow| self.sign_binding_from_row(row);
        Ok(read_page(tx, &columns, filtered, order, page, read).await?)
    }

    async fn signed_backends(&self, instance_id: &str) -> StoreResult<Vec<SignedBackend>> {
        let sql = format!(
            "SELECT b.api_id, b.env_id, {KEY_COLUMNS} FROM sign_bindings b \
             JOIN sign_keys s ON s.id = b.sign_id \
             JOIN publications pb ON pb.api_id = b.api_id AND pb.env_id = b.env_id \
             WHERE b.instance_id = $1 ORDER BY b.api_id, b.env_id"
        );
        let rows = sqlx::query(&sql)
            .bind(instance_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(SignedBackend {
                    api_id: row.try_get("api_id")?,
                    env_id: row.try_get("env_id")?,
                    key: self.sign_key_from_row(row)?.spec,
                })
            })
            .collect()
    }
}
