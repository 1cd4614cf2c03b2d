//! SQL implementation of [`GatewayResponseStore`]: gateway responses of API groups.

use super::env_variables::group_in_scope;
use super::*;
use crate::gateway_responses::*;
use apigw_domain::gateway_response::{
    rules_from_stored, rules_to_stored, GatewayResponse, ResponseName, ResponseRule, ResponseRules,
    ResponseType, DEFAULT_RESPONSE_NAME,
};

const RESPONSE_COLUMNS: &str =
    "r.id, r.group_id, r.name, r.is_default, r.rules, r.create_time, r.update_time";

fn response_from_row(row: &AnyRow) -> StoreResult<GatewayResponse> {
    let rules: String = row.try_get("rules")?;
    Ok(GatewayResponse {
        id: row.try_get("id")?,
        group_id: row.try_get("group_id")?,
        name: ResponseName::from_stored(row.try_get("name")?),
        is_default: row.try_get::<i64, _>("is_default")? == 1,
        rules: rules_from_stored(&rules).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        create_time: Timestamp::from_nanos(row.try_get("create_time")?),
        update_time: Timestamp::from_nanos(row.try_get("update_time")?),
    })
}

/// Gives every group of the instance that lacks one (or only group `group_id`) its default
/// response, id the group's: run when a group is made and after an import of a dump older
/// than gateway responses (the migration did the same for the groups it found).
pub(super) async fn insert_default_responses(
    conn: &mut AnyConnection,
    group_id: Option<&str>,
) -> StoreResult<()> {
    let mut q = QueryBuilder::new(
        "INSERT INTO gateway_responses \
         (id, instance_id, group_id, name, is_default, rules, create_time, update_time) \
         SELECT g.id, g.instance_id, g.id, ",
    );
    q.push_bind(DEFAULT_RESPONSE_NAME).push(
        ", 1, '{}', g.register_time, g.register_time FROM api_groups g \
         WHERE NOT EXISTS (SELECT 1 FROM gateway_responses r WHERE r.id = g.id)",
    );
    if let Some(id) = group_id {
        q.push(" AND g.id = ").push_bind(id);
    }
    q.build().execute(conn).await?;
    Ok(())
}

/// The response `id` of group `group_id` in `scope`. Errors: `GroupNotFound`, `NotFound`.
async fn fetch_response(
    conn: &mut AnyConnection,
    scope: &Scope,
    group_id: &str,
    id: &str,
) -> GatewayResponseResult<GatewayResponse> {
    if !group_in_scope(&mut *conn, scope, group_id).await? {
        return Err(GatewayResponseError::GroupNotFound);
    }
    let sql = format!(
        "SELECT {RESPONSE_COLUMNS} FROM gateway_responses r WHERE r.group_id = $1 AND r.id = $2"
    );
    let row = sqlx::query(&sql)
        .bind(group_id)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(GatewayResponseError::NotFound)?;
    Ok(response_from_row(&row)?)
}

/// Whether another response of the group than `except_id` is called `name`.
async fn name_taken(
    conn: &mut AnyConnection,
    group_id: &str,
    name: &ResponseName,
    except_id: &str,
) -> StoreResult<bool> {
    let row = sqlx::query(
        "SELECT 1 AS taken FROM gateway_responses WHERE group_id = $1 AND name = $2 AND id <> $3",
    )
    .bind(group_id)
    .bind(name.as_str())
    .bind(except_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

/// Writes `response`'s name and rules, stamped `now`.
async fn write_response(
    conn: &mut AnyConnection,
    response: &mut GatewayResponse,
    now: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE gateway_responses SET name = $1, rules = $2, update_time = $3 WHERE id = $4",
    )
    .bind(response.name.as_str())
    .bind(rules_to_stored(&response.rules))
    .bind(now.nanos())
    .bind(&response.id)
    .execute(conn)
    .await?;
    response.update_time = now;
    Ok(())
}

/// How an API definition names response `id` (what `ApiDefinition::to_json` writes).
fn response_reference(id: &str) -> String {
    format!("\"response_id\":\"{id}\"")
}

/// Whether an API of the instance, or a published or kept version of one, names response
/// `id`.
async fn response_in_use(conn: &mut AnyConnection, scope: &Scope, id: &str) -> StoreResult<bool> {
    super::apis::definitions_mention(conn, &scope.instance_id, &response_reference(id)).await
}

/// Whether group `group_id` has response `id` (for the APIs that name it).
pub(super) async fn group_has_response(
    conn: &mut AnyConnection,
    group_id: &str,
    id: &str,
) -> StoreResult<bool> {
    let row =
        sqlx::query("SELECT 1 AS found FROM gateway_responses WHERE group_id = $1 AND id = $2")
            .bind(group_id)
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(row.is_some())
}

#[async_trait]
impl GatewayResponseStore for SqlStore {
    async fn create_gateway_response(
        &self,
        scope: &Scope,
        group_id: &str,
        name: ResponseName,
        rules: ResponseRules,
        max_custom: usize,
    ) -> GatewayResponseResult<GatewayResponse> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        if !group_in_scope(&mut tx, scope, group_id).await? {
            return Err(GatewayResponseError::GroupNotFound);
        }
        if name_taken(&mut tx, group_id, &name, "").await? {
            return Err(GatewayResponseError::NameExists);
        }
        let custom: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM gateway_responses WHERE group_id = $1 AND is_default = 0",
        )
        .bind(group_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        if custom as usize >= max_custom {
            return Err(GatewayResponseError::LimitReached);
        }
        let now = Timestamp::now();
        let created = GatewayResponse {
            id: new_id(),
            group_id: group_id.to_owned(),
            name,
            is_default: false,
            rules,
            create_time: now,
            update_time: now,
        };
        sqlx::query(
            "INSERT INTO gateway_responses \
             (id, instance_id, group_id, name, is_default, rules, create_time, update_time) \
             VALUES ($1, $2, $3, $4, 0, $5, $6, $7)",
        )
        .bind(&created.id)
        .bind(&scope.instance_id)
        .bind(group_id)
        .bind(created.name.as_str())
        .bind(rules_to_stored(&created.rules))
        .bind(now.nanos())
        .bind(now.nanos())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn gateway_response(
        &self,
        scope: &Scope,
        group_id: &str,
        id: &str,
    ) -> GatewayResponseResult<GatewayResponse> {
        let mut conn = self.reader.acquire().await?;
        fetch_response(&mut conn, scope, group_id, id).await
    }

    async fn update_gateway_response(
        &self,
        scope: &Scope,
        group_id: &str,
        id: &str,
        name: ResponseName,
        rules: ResponseRules,
    ) -> GatewayResponseResult<GatewayResponse> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        let mut response = fetch_response(&mut tx, scope, group_id, id).await?;
        if name_taken(&mut tx, group_id, &name, id).await? {
            return Err(GatewayResponseError::NameExists);
        }
        response.name = name;
        response.rules = rules;
        write_response(&mut tx, &mut response, Timestamp::now()).await?;
        tx.commit().await?;
        Ok(response)
    }

    async fn set_gateway_response_rule(
        &self,
        scope: &Scope,
        group_id: &str,
        id: &str,
        kind: ResponseType,
        rule: Option<ResponseRule>,
    ) -> GatewayResponseResult<GatewayResponse> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        let mut response = fetch_response(&mut tx, scope, group_id, id).await?;
        match rule {
            Some(rule) => response.rules.insert(kind, rule),
            None => response.rules.remove(&kind),
        };
        write_response(&mut tx, &mut response, Timestamp::now()).await?;
        tx.commit().await?;
        Ok(response)
    }

    async fn delete_gateway_response(
        &self,
        scope: &Scope,
        group_id: &str,
        id: &str,
    ) -> GatewayResponseResult<()> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        let response = fetch_response(&mut tx, scope, group_id, id).await?;
        if response.is_default {
            return Err(GatewayResponseError::DefaultLocked);
        }
        if response_in_use(&mut tx, scope, id).await? {
            return Err(GatewayResponseError::InUse);
        }
        sqlx::query("DELETE FROM gateway_responses WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_gateway_responses(
        &self,
        scope: &Scope,
        group_id: &str,
        page: Page,
    ) -> GatewayResponseResult<(i64, Vec<GatewayResponse>)> {
        let mut tx = self.read_tx().await?;
        if !group_in_scope(&mut tx, scope, group_id).await? {
            return Err(GatewayResponseError::GroupNotFound);
        }
        let (total, rows) = page_rows(
            &mut tx,
            RESPONSE_COLUMNS,
            |q| {
                q.push(" FROM gateway_responses r WHERE r.group_id = ")
                    .push_bind(group_id);
            },
            |q| {
                q.push(" ORDER BY r.is_default DESC, r.create_time, r.id");
            },
            page,
        )
        .await?;
        tx.commit().await?;
        let responses = rows
            .iter()
            .map(response_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((total, responses))
    }

    async fn instance_gateway_responses(
        &self,
        instance_id: &str,
    ) -> StoreResult<Vec<GatewayResponse>> {
        let sql = format!(
            "SELECT {RESPONSE_COLUMNS} FROM gateway_responses r \
             WHERE r.instance_id = $1 AND r.rules <> '{{}}' ORDER BY r.create_time, r.id"
        );
        sqlx::query(&sql)
            .bind(instance_id)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(response_from_row)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apis::{ApiStore, GroupFilter, NewGroup};
    use crate::crypto::MasterKey;
    use apigw_domain::api::{GroupName, Remark};
    use apigw_domain::gateway_response::parse_rules;
    use serde_json::json;

    fn rules(v: serde_json::Value) -> ResponseRules {
        parse_rules(json!({ "responses": v }).as_object().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn every_group_has_its_default_also_after_importing_an_older_dump() {
        let master = MasterKey::generate();
        let (_dir, store, scope) = crate::test_db::bootstrapped_store(&master).await;
        let page = Page::parse(None, None).unwrap();
        let (_, groups) = store
            .list_groups(&scope, &GroupFilter::default(), page)
            .await
            .unwrap();
        let default_group = groups[0].id.clone();
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
        for group in [&default_group, &shop.id] {
            let (total, list) = store
                .list_gateway_responses(&scope, group, page)
                .await
                .unwrap();
            assert_eq!(total, 1);
            assert_eq!(&list[0].id, group);
            assert!(list[0].is_default && list[0].rules.is_empty());
        }
        store
            .set_gateway_response_rule(
                &scope,
                &shop.id,
                &shop.id,
                ResponseType::NotFound,
                rules(json!({"NOT_FOUND": {"status": 410}})).remove(&ResponseType::NotFound),
            )
            .await
            .unwrap();
        let custom = store
            .create_gateway_response(
                &scope,
                &shop.id,
                ResponseName::parse("custom").unwrap(),
                ResponseRules::new(),
                1,
            )
            .await
            .unwrap();
        let limit = store
            .create_gateway_response(
                &scope,
                &shop.id,
                ResponseName::parse("second").unwrap(),
                ResponseRules::new(),
                1,
            )
            .await;
        assert!(matches!(limit, Err(GatewayResponseError::LimitReached)));
        // The data plane reads only the responses that change something.
        let served = store
            .instance_gateway_responses(&scope.instance_id)
            .await
            .unwrap();
        assert_eq!(served.len(), 1);
        assert_eq!(served[0].id, shop.id);

        // The whole installation moves with its responses.
        let mut dump = store.export().await.unwrap();
        let (_copy_dir, copy) = crate::test_db::open_store(&master).await;
        copy.import(&dump).await.unwrap();
        let (total, _) = copy
            .list_gateway_responses(&scope, &shop.id, page)
            .await
            .unwrap();
        assert_eq!(total, 2);
        assert_eq!(
            copy.gateway_response(&scope, &shop.id, &custom.id)
                .await
                .unwrap(),
            custom
        );

        // A dump of the version before gateway responses: every group gets its default.
        dump.tables.retain(|t| t.name != "gateway_responses");
        let (_older_dir, older) = crate::test_db::open_store(&master).await;
        let summary = older.import(&dump).await.unwrap();
        assert!(summary.rows.contains(&("gateway_responses".to_owned(), 0)));
        for group in [&default_group, &shop.id] {
            let one = older.gateway_response(&scope, group, group).await.unwrap();
            assert!(one.is_default && one.rules.is_empty());
        }
    }
}
