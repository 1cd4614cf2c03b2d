//! SQL implementation of [`EnvVariableStore`]: environment variables of API groups.

use super::*;
use crate::env_variables::*;
use apigw_domain::env_variable::{EnvVariable, VariableName, VariableValue};

const VARIABLE_COLUMNS: &str = "v.id, v.group_id, v.env_id, v.name, v.value";

fn variable_from_row(row: &AnyRow) -> StoreResult<EnvVariable> {
    Ok(EnvVariable {
        id: row.try_get("id")?,
        group_id: row.try_get("group_id")?,
        env_id: row.try_get("env_id")?,
        name: VariableName::from_stored(row.try_get("name")?),
        value: VariableValue::from_stored(row.try_get("value")?),
    })
}

/// Whether `sql` (a `SELECT 1 ...` bound with the scope's project and instance, then `id`)
/// finds a row.
async fn in_scope(
    conn: &mut AnyConnection,
    sql: &str,
    scope: &Scope,
    id: &str,
) -> StoreResult<bool> {
    Ok(sqlx::query(sql)
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .is_some())
}

pub(super) async fn group_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
) -> StoreResult<bool> {
    in_scope(
        conn,
        "SELECT 1 AS found FROM api_groups g JOIN instances i ON i.id = g.instance_id \
         WHERE i.project_id = $1 AND g.instance_id = $2 AND g.id = $3",
        scope,
        id,
    )
    .await
}

async fn env_in_scope(conn: &mut AnyConnection, scope: &Scope, id: &str) -> StoreResult<bool> {
    in_scope(
        conn,
        "SELECT 1 AS found FROM environments e JOIN instances i ON i.id = e.instance_id \
         WHERE i.project_id = $1 AND e.instance_id = $2 AND e.id = $3",
        scope,
        id,
    )
    .await
}

async fn fetch_variable(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
) -> EnvVariableResult<EnvVariable> {
    let sql = format!(
        "SELECT {VARIABLE_COLUMNS} FROM env_variables v JOIN instances i ON i.id = v.instance_id \
         WHERE i.project_id = $1 AND v.instance_id = $2 AND v.id = $3"
    );
    let row = sqlx::query(&sql)
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(EnvVariableError::NotFound)?;
    Ok(variable_from_row(&row)?)
}

#[async_trait]
impl EnvVariableStore for SqlStore {
    async fn create_env_variable(
        &self,
        scope: &Scope,
        variable: NewEnvVariable,
        max_per_group_env: usize,
    ) -> EnvVariableResult<EnvVariable> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        if !group_in_scope(&mut tx, scope, &variable.group_id).await? {
            return Err(EnvVariableError::GroupNotFound);
        }
        if !env_in_scope(&mut tx, scope, &variable.env_id).await? {
            return Err(EnvVariableError::EnvNotFound);
        }
        let names: Vec<String> =
            sqlx::query("SELECT name FROM env_variables WHERE group_id = $1 AND env_id = $2")
                .bind(&variable.group_id)
                .bind(&variable.env_id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|row| row.try_get("name"))
                .collect::<Result<_, _>>()?;
        if names.iter().any(|n| n == variable.name.as_str()) {
            return Err(EnvVariableError::Exists);
        }
        if names.len() >= max_per_group_env {
            return Err(EnvVariableError::LimitReached);
        }
        let created = EnvVariable {
            id: new_id(),
            group_id: variable.group_id,
            env_id: variable.env_id,
            name: variable.name,
            value: variable.value,
        };
        sqlx::query(
            "INSERT INTO env_variables (id, instance_id, group_id, env_id, name, value, create_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&created.id)
        .bind(&scope.instance_id)
        .bind(&created.group_id)
        .bind(&created.env_id)
        .bind(created.name.as_str())
        .bind(created.value.as_str())
        .bind(Timestamp::now().nanos())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn env_variable(&self, scope: &Scope, id: &str) -> EnvVariableResult<EnvVariable> {
        let mut conn = self.reader.acquire().await?;
        fetch_variable(&mut conn, scope, id).await
    }

    async fn update_env_variable(
        &self,
        scope: &Scope,
        id: &str,
        value: VariableValue,
    ) -> EnvVariableResult<EnvVariable> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        let mut variable = fetch_variable(&mut tx, scope, id).await?;
        sqlx::query("UPDATE env_variables SET value = $1 WHERE id = $2")
            .bind(value.as_str())
            .bind(&variable.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        variable.value = value;
        Ok(variable)
    }

    async fn delete_env_variable(&self, scope: &Scope, id: &str) -> EnvVariableResult<()> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        let variable = fetch_variable(&mut tx, scope, id).await?;
        sqlx::query("DELETE FROM env_variables WHERE id = $1")
            .bind(&variable.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_env_variables(
        &self,
        scope: &Scope,
        f: &EnvVariableFilter,
        page: Page,
    ) -> EnvVariableResult<(i64, Vec<EnvVariable>)> {
        fn filtered<'a>(q: &mut QueryBuilder<'a>, scope: &'a Scope, f: &'a EnvVariableFilter) {
            q.push(
                " FROM env_variables v JOIN instances i ON i.id = v.instance_id \
                 WHERE i.project_id = ",
            )
            .push_bind(&scope.project_id)
            .push(" AND v.instance_id = ")
            .push_bind(&scope.instance_id)
            .push(" AND v.group_id = ")
            .push_bind(&f.group_id);
            if let Some(env_id) = &f.env_id {
                q.push(" AND v.env_id = ").push_bind(env_id);
            }
            if let Some(name) = &f.name {
                if f.name_exact {
                    q.push(" AND v.name = ").push_bind(name);
                } else {
                    q.push(" AND instr(v.name, ").push_bind(name).push(") > 0");
                }
            }
        }
        let mut tx = self.read_tx().await?;
        if !group_in_scope(&mut tx, scope, &f.group_id).await? {
            return Err(EnvVariableError::GroupNotFound);
        }
        let (total, rows) = page_rows(
            &mut tx,
            VARIABLE_COLUMNS,
            |q| filtered(q, scope, f),
            |q| {
                q.push(" ORDER BY v.create_time, v.id");
            },
            page,
        )
        .await?;
        tx.commit().await?;
        let variables = rows
            .iter()
            .map(variable_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((total, variables))
    }

    async fn instance_env_variables(&self, instance_id: &str) -> StoreResult<Vec<EnvVariable>> {
        let sql = format!(
            "SELECT {VARIABLE_COLUMNS} FROM env_variables v WHERE v.instance_id = $1 \
             ORDER BY v.create_time, v.id"
        );
        sqlx::query(&sql)
            .bind(instance_id)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(variable_from_row)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apis::{ApiStore, GroupFilter, NewEnvironment, NewGroup};
    use crate::crypto::MasterKey;
    use apigw_domain::api::{EnvName, GroupName, Remark, RELEASE_ENV_ID};

    fn new(group_id: &str, env_id: &str, name: &str, value: &str) -> NewEnvVariable {
        NewEnvVariable {
            group_id: group_id.to_owned(),
            env_id: env_id.to_owned(),
            name: VariableName::parse(name).unwrap(),
            value: VariableValue::parse(value).unwrap(),
        }
    }

    #[tokio::test]
    async fn names_are_unique_per_group_and_environment_and_go_with_the_environment() {
        let (_dir, store, scope) = crate::test_db::bootstrapped_store(&MasterKey::generate()).await;
        let page = Page::parse(None, None).unwrap();
        let (_, groups) = store
            .list_groups(&scope, &GroupFilter::default(), page)
            .await
            .unwrap();
        let group = groups[0].id.clone();
        let dev = store
            .create_environment(
                &scope,
                NewEnvironment {
                    name: EnvName::parse("DEV").unwrap(),
                    remark: Remark::empty(),
                },
                10,
            )
            .await
            .unwrap();

        let release = store
            .create_env_variable(
                &scope,
                new(&group, RELEASE_ENV_ID, "address", "10.0.0.1"),
                2,
            )
            .await
            .unwrap();
        let again = store
            .create_env_variable(&scope, new(&group, RELEASE_ENV_ID, "address", "x"), 2)
            .await;
        assert!(matches!(again, Err(EnvVariableError::Exists)));
        // Case-sensitive: another variable.
        store
            .create_env_variable(&scope, new(&group, RELEASE_ENV_ID, "Address", "x"), 2)
            .await
            .unwrap();
        let third = store
            .create_env_variable(&scope, new(&group, RELEASE_ENV_ID, "third", "x"), 2)
            .await;
        assert!(matches!(third, Err(EnvVariableError::LimitReached)));
        store
            .create_env_variable(&scope, new(&group, &dev.id, "address", "10.0.0.2"), 2)
            .await
            .unwrap();
        for (g, e, want) in [
            ("nope", RELEASE_ENV_ID, "group"),
            (&group[..], "nope", "env"),
        ] {
            let r = store
                .create_env_variable(&scope, new(g, e, "other", "x"), 2)
                .await;
            match (r, want) {
                (Err(EnvVariableError::GroupNotFound), "group")
                | (Err(EnvVariableError::EnvNotFound), "env") => {}
                (r, _) => panic!("{want}: {r:?}"),
            }
        }

        let filter = EnvVariableFilter {
            group_id: group.clone(),
            ..Default::default()
        };
        assert_eq!(
            store
                .list_env_variables(&scope, &filter, page)
                .await
                .unwrap()
                .0,
            3
        );
        let exact = EnvVariableFilter {
            name: Some("address".into()),
            name_exact: true,
            env_id: Some(RELEASE_ENV_ID.into()),
            ..filter.clone()
        };
        let (total, found) = store
            .list_env_variables(&scope, &exact, page)
            .await
            .unwrap();
        assert_eq!((total, found), (1, vec![release.clone()]));

        // Another project sees none of it.
        let other = Scope {
            project_id: "other".into(),
            instance_id: scope.instance_id.clone(),
        };
        assert!(matches!(
            store.env_variable(&other, &release.id).await,
            Err(EnvVariableError::NotFound)
        ));
        assert!(matches!(
            store.list_env_variables(&other, &filter, page).await,
            Err(EnvVariableError::GroupNotFound)
        ));

        let changed = store
            .update_env_variable(
                &scope,
                &release.id,
                VariableValue::parse("10.0.0.9").unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(
            store.env_variable(&scope, &release.id).await.unwrap(),
            changed
        );
        store.delete_environment(&scope, &dev.id).await.unwrap();
        let left = store
            .instance_env_variables(&scope.instance_id)
            .await
            .unwrap();
        assert_eq!(left.len(), 2, "the environment's variable went with it");
        store
            .delete_env_variable(&scope, &release.id)
            .await
            .unwrap();
        assert!(matches!(
            store.delete_env_variable(&scope, &release.id).await,
            Err(EnvVariableError::NotFound)
        ));

        // Deleting a group deletes its variables.
        let shop = store
            .create_group(
                &scope,
                NewGroup {
                    name: GroupName::parse("shop").unwrap(),
                    remark: Remark::empty(),
                },
            )
            .await
            .unwrap();
        store
            .create_env_variable(&scope, new(&shop.id, RELEASE_ENV_ID, "address", "x"), 2)
            .await
            .unwrap();
        let all = store
            .instance_env_variables(&scope.instance_id)
            .await
            .unwrap();
        assert_eq!(all.len(), 2);
        store.delete_group(&scope, &shop.id).await.unwrap();
        let left = store
            .instance_env_variables(&scope.instance_id)
            .await
            .unwrap();
        assert_eq!(left.len(), 1, "the group's variable went with it");
        assert_eq!(left[0].group_id, group);
    }
}
