//! SQLite implementation of [`ApiStore`]: API groups, environments, APIs and publications.
//! Writes run in one transaction on the single writer connection, so the uniqueness checks
//! (names, method + path) and the environment limit hold under concurrent callers; the UNIQUE
//! constraints of `0002_apis.sql` back them up.

use super::*;
use crate::apis::*;
use apigw_domain::api::{
    ApiDefinition, EnvName, GroupName, Remark, DEFAULT_GROUP_NAME, GROUP_REMARK_MAX,
    RELEASE_ENV_ID, RELEASE_ENV_NAME, REMARK_MAX,
};
use apigw_domain::ApiError;

/// Inserts the `DEFAULT` group and the `RELEASE` environment of a new instance, inside the
/// transaction that creates it (instances made before `0002_apis.sql` got them there).
pub(super) async fn insert_instance_defaults(
    tx: &mut AnyConnection,
    instance_id: &str,
    at: Timestamp,
) -> StoreResult<()> {
    let group_id = new_id();
    sqlx::query(
        "INSERT INTO api_groups (id, instance_id, name, remark, is_default, register_time, update_time) \
         VALUES ($1, $2, $3, '', 1, $4, $5)",
    )
    .bind(&group_id)
    .bind(instance_id)
    .bind(DEFAULT_GROUP_NAME)
    .bind(at.nanos())
    .bind(at.nanos())
    .execute(&mut *tx)
    .await?;
    super::gateway_responses::insert_default_responses(tx, Some(&group_id)).await?;
    sqlx::query(
        "INSERT INTO environments (instance_id, id, name, remark, create_time) VALUES ($1, $2, $3, '', $4)",
    )
    .bind(instance_id)
    .bind(RELEASE_ENV_ID)
    .bind(RELEASE_ENV_NAME)
    .bind(at.nanos())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

fn corrupt(what: &'static str) -> impl Fn(ApiError) -> StoreError {
    move |e| StoreError::Corrupt(format!("stored {what} breaks the rules: {e}"))
}

const GROUP_COLUMNS: &str = "g.id AS g_id, g.instance_id AS g_instance_id, g.name AS g_name, \
     g.remark AS g_remark, g.is_default AS g_is_default, g.register_time AS g_register_time, \
     g.update_time AS g_update_time, g.sl_domain_access AS g_sl_domain_access";

const API_COLUMNS: &str =
    "a.id, a.instance_id, a.backend_id, a.definition, a.register_time, a.update_time";

fn group_from_row(row: &AnyRow) -> StoreResult<ApiGroup> {
    Ok(ApiGroup {
        id: row.try_get("g_id")?,
        instance_id: row.try_get("g_instance_id")?,
        name: GroupName::parse(&row.try_get::<String, _>("g_name")?)
            .map_err(corrupt("group name"))?,
        remark: Remark::parse(
            &row.try_get::<String, _>("g_remark")?,
            "remark",
            GROUP_REMARK_MAX,
        )
        .map_err(corrupt("group remark"))?,
        is_default: row.try_get::<i64, _>("g_is_default")? != 0,
        sl_domain_access: row.try_get::<i64, _>("g_sl_domain_access")? != 0,
        register_time: Timestamp::from_nanos(row.try_get("g_register_time")?),
        update_time: Timestamp::from_nanos(row.try_get("g_update_time")?),
    })
}

fn env_from_row(row: &AnyRow) -> StoreResult<Environment> {
    Ok(Environment {
        id: row.try_get("id")?,
        name: EnvName::parse(&row.try_get::<String, _>("name")?)
            .map_err(corrupt("environment name"))?,
        remark: Remark::parse(&row.try_get::<String, _>("remark")?, "remark", REMARK_MAX)
            .map_err(corrupt("environment remark"))?,
        create_time: Timestamp::from_nanos(row.try_get("create_time")?),
    })
}

fn definition_from_row(row: &AnyRow) -> StoreResult<ApiDefinition> {
    ApiDefinition::from_stored(&row.try_get::<String, _>("definition")?)
        .map_err(corrupt("API definition"))
}

async fn fetch_group(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
) -> ApiStoreResult<Option<ApiGroup>> {
    let sql = format!(
        "SELECT {GROUP_COLUMNS} FROM api_groups g JOIN instances i ON i.id = g.instance_id \
         WHERE i.project_id = $1 AND g.instance_id = $2 AND g.id = $3"
    );
    let row = sqlx::query(&sql)
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| group_from_row(&r)).transpose()?)
}

async fn fetch_env(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
) -> ApiStoreResult<Option<Environment>> {
    let row = sqlx::query(
        "SELECT e.id, e.name, e.remark, e.create_time FROM environments e \
         JOIN instances i ON i.id = e.instance_id \
         WHERE i.project_id = $1 AND e.instance_id = $2 AND e.id = $3",
    )
    .bind(&scope.project_id)
    .bind(&scope.instance_id)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| env_from_row(&r)).transpose()?)
}

/// Whether a row matches `sql` bound with `args` (all text).
async fn any(conn: &mut AnyConnection, sql: &str, args: &[&str]) -> ApiStoreResult<bool> {
    let mut q = sqlx::query(sql);
    for a in args {
        q = q.bind(*a);
    }
    Ok(q.fetch_optional(conn).await?.is_some())
}

/// Turns API rows (with [`API_COLUMNS`] and [`GROUP_COLUMNS`]) into [`Api`]s, adding their
/// publications.
async fn complete_apis(
    conn: &mut AnyConnection,
    scope: &Scope,
    rows: Vec<AnyRow>,
) -> ApiStoreResult<Vec<Api>> {
    let mut apis = Vec::with_capacity(rows.len());
    for row in &rows {
        apis.push(Api {
            id: row.try_get("id")?,
            instance_id: row.try_get("instance_id")?,
            definition: definition_from_row(row)?,
            group: group_from_row(row)?,
            backend_id: row.try_get("backend_id")?,
            register_time: Timestamp::from_nanos(row.try_get("register_time")?),
            update_time: Timestamp::from_nanos(row.try_get("update_time")?),
            publications: Vec::new(),
        });
    }
    if apis.is_empty() {
        return Ok(apis);
    }
    let mut q = QueryBuilder::new(
        "SELECT p.id, p.api_id, p.env_id, e.name AS env_name, p.version_id, p.publish_time, p.remark \
         FROM publications p JOIN environments e ON e.instance_id = p.instance_id AND e.id = p.env_id \
         WHERE p.instance_id = ",
    );
    q.push_bind(&scope.instance_id).push(" AND p.api_id IN (");
    for (i, api) in apis.iter().enumerate() {
        q.push(if i == 0 { "" } else { ", " })
            .push_bind(api.id.clone());
    }
    q.push(") ORDER BY p.publish_time, p.env_id");
    for row in q.build().fetch_all(conn).await? {
        let api_id: String = row.try_get("api_id")?;
        if let Some(api) = apis.iter_mut().find(|a| a.id == api_id) {
            api.publications.push(ApiPublication {
                publish_id: row.try_get("id")?,
                env_id: row.try_get("env_id")?,
                env_name: row.try_get("env_name")?,
                version_id: row.try_get("version_id")?,
                publish_time: Timestamp::from_nanos(row.try_get("publish_time")?),
                remark: row.try_get("remark")?,
            });
        }
    }
    Ok(apis)
}

async fn fetch_api(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
) -> ApiStoreResult<Option<Api>> {
    let sql = format!(
        "SELECT {API_COLUMNS}, {GROUP_COLUMNS} FROM apis a JOIN api_groups g ON g.id = a.group_id \
         JOIN instances i ON i.id = a.instance_id \
         WHERE i.project_id = $1 AND a.instance_id = $2 AND a.id = $3"
    );
    let rows = sqlx::query(&sql)
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(complete_apis(conn, scope, rows).await?.pop())
}

/// The id, group and stored definition of an API in scope.
async fn api_row(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
) -> ApiStoreResult<Option<AnyRow>> {
    Ok(sqlx::query(
        "SELECT a.id, a.group_id, a.name, a.definition FROM apis a JOIN instances i ON i.id = a.instance_id \
         WHERE i.project_id = $1 AND a.instance_id = $2 AND a.id = $3",
    )
    .bind(&scope.project_id)
    .bind(&scope.instance_id)
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// A definition to put in force for an API in an environment, as a given version.
struct InForce<'a> {
    api_id: &'a str,
    env_id: &'a str,
    version_id: String,
    remark: &'a str,
    definition: &'a ApiDefinition,
}

/// Makes `v` the API's publication in its environment (replacing the one there): refused when
/// another API of the group has its method and path published there (`RoutePublished`).
async fn put_in_force(
    tx: &mut AnyConnection,
    scope: &Scope,
    v: &InForce<'_>,
) -> ApiStoreResult<PublishRecord> {
    let route_key = v.definition.route_key();
    if any(
        &mut *tx,
        "SELECT 1 FROM publications WHERE instance_id = $1 AND env_id = $2 AND group_id = $3 \
         AND route_key = $4 AND api_id <> $5",
        &[
            scope.instance_id.as_str(),
            v.env_id,
            v.definition.group_id(),
            &route_key,
            v.api_id,
        ],
    )
    .await?
    {
        return Err(ApiStoreError::RoutePublished);
    }
    sqlx::query("DELETE FROM publications WHERE instance_id = $1 AND api_id = $2 AND env_id = $3")
        .bind(&scope.instance_id)
        .bind(v.api_id)
        .bind(v.env_id)
        .execute(&mut *tx)
        .await?;
    let record = PublishRecord {
        publish_id: new_id(),
        api_id: v.api_id.to_owned(),
        api_name: v.definition.name().as_str().to_owned(),
        env_id: v.env_id.to_owned(),
        remark: v.remark.to_owned(),
        publish_time: Timestamp::now(),
        version_id: v.version_id.clone(),
    };
    sqlx::query(
        "INSERT INTO publications (id, instance_id, api_id, env_id, group_id, route_key, api_name, \
         version_id, remark, publish_time, definition) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&record.publish_id)
    .bind(&scope.instance_id)
    .bind(v.api_id)
    .bind(v.env_id)
    .bind(v.definition.group_id())
    .bind(&route_key)
    .bind(&record.api_name)
    .bind(&record.version_id)
    .bind(&record.remark)
    .bind(record.publish_time.nanos())
    .bind(v.definition.to_stored())
    .execute(&mut *tx)
    .await?;
    Ok(record)
}

const VERSION_COLUMNS: &str = "v.id, v.api_id, v.env_id, e.name AS env_name, v.remark, \
     v.publish_time, v.definition, \
     (SELECT COUNT(*) FROM publications p WHERE p.api_id = v.api_id AND p.env_id = v.env_id \
      AND p.version_id = v.id) AS in_force";

/// The tables behind a version, in scope (`$1` project, `$2` instance).
const VERSION_FROM: &str = " FROM api_versions v \
     JOIN instances i ON i.id = v.instance_id \
     JOIN environments e ON e.instance_id = v.instance_id AND e.id = v.env_id";

fn version_from_row(row: &AnyRow) -> ApiStoreResult<ApiVersion> {
    Ok(ApiVersion {
        id: row.try_get("id")?,
        api_id: row.try_get("api_id")?,
        env_id: row.try_get("env_id")?,
        env_name: row.try_get("env_name")?,
        remark: row.try_get("remark")?,
        publish_time: Timestamp::from_nanos(row.try_get("publish_time")?),
        in_force: row.try_get::<i64, _>("in_force")? > 0,
        definition: definition_from_row(row)?,
    })
}

async fn fetch_version(
    conn: &mut AnyConnection,
    scope: &Scope,
    version_id: &str,
) -> ApiStoreResult<ApiVersion> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS}{VERSION_FROM} \
         WHERE i.project_id = $1 AND v.instance_id = $2 AND v.id = $3"
    );
    let row = sqlx::query(&sql)
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .bind(version_id)
        .fetch_optional(conn)
        .await?
        .ok_or(ApiStoreError::VersionNotFound)?;
    version_from_row(&row)
}

/// Refuses a definition whose backend, or one of its backend policies, names a VPC channel
/// the instance does not have.
async fn check_api_channel(
    tx: &mut AnyConnection,
    scope: &Scope,
    definition: &ApiDefinition,
) -> ApiStoreResult<()> {
    let channels = definition
        .servers()
        .filter_map(|b| b.target.channel())
        .map(|c| c.channel_id.as_str());
    for id in channels {
        if !SqlStore::channel_in_scope(tx, scope, id).await? {
            return Err(ApiStoreError::VpcChannelNotFound(id.to_owned()));
        }
    }
    Ok(())
}

/// Whether an API definition of instance `instance_id` — an API's own, a publication's or a
/// kept version's — contains `needle` (how a VPC channel or a gateway response in use is
/// found: the definitions are JSON text).
pub(super) async fn definitions_mention(
    conn: &mut AnyConnection,
    instance_id: &str,
    needle: &str,
) -> StoreResult<bool> {
    let row = sqlx::query(
        "SELECT 1 AS used FROM apis WHERE instance_id = $1 AND instr(definition, $2) > 0 \
         UNION ALL SELECT 1 FROM publications WHERE instance_id = $1 AND instr(definition, $2) > 0 \
         UNION ALL SELECT 1 FROM api_versions WHERE instance_id = $1 AND instr(definition, $2) > 0 \
         LIMIT 1",
    )
    .bind(instance_id)
    .bind(needle)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

/// Refuses a definition naming a gateway response its group does not have.
async fn check_api_response(
    tx: &mut AnyConnection,
    definition: &ApiDefinition,
) -> ApiStoreResult<()> {
    if let Some(id) = definition.response_id() {
        if !super::gateway_responses::group_has_response(tx, definition.group_id(), id).await? {
            return Err(ApiStoreError::ResponseNotFound(id.to_owned()));
        }
    }
    Ok(())
}

/// Refuses a name or method + path another API of the group (other than `except_id`) has.
async fn check_api_unique(
    conn: &mut AnyConnection,
    def: &ApiDefinition,
    except_id: &str,
) -> ApiStoreResult<()> {
    if any(
        conn,
        "SELECT 1 FROM apis WHERE group_id = $1 AND name = $2 AND id <> $3",
        &[def.group_id(), def.name().as_str(), except_id],
    )
    .await?
    {
        return Err(ApiStoreError::ApiNameExists);
    }
    if any(
        conn,
        "SELECT 1 FROM apis WHERE group_id = $1 AND route_key = $2 AND id <> $3",
        &[def.group_id(), &def.route_key(), except_id],
    )
    .await?
    {
        return Err(ApiStoreError::ApiRouteExists);
    }
    Ok(())
}

/// A group as the data plane reads it, from the columns `g_id`, `g_name`, `g_is_default`,
/// `g_sl_domain_access`.
fn published_group_from_row(row: &AnyRow) -> StoreResult<PublishedGroup> {
    Ok(PublishedGroup {
        id: row.try_get("g_id")?,
        name: row.try_get("g_name")?,
        is_default: row.try_get::<i64, _>("g_is_default")? != 0,
        sl_domain_access: row.try_get::<i64, _>("g_sl_domain_access")? != 0,
    })
}

#[async_trait]
impl ApiStore for SqlStore {
    async fn create_group(&self, scope: &Scope, group: NewGroup) -> ApiStoreResult<ApiGroup> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        if any(
            &mut tx,
            "SELECT 1 FROM api_groups WHERE instance_id = $1 AND name = $2",
            &[scope.instance_id.as_str(), group.name.as_str()],
        )
        .await?
        {
            return Err(ApiStoreError::GroupNameExists);
        }
        let now = Timestamp::now();
        let created = ApiGroup {
            id: new_id(),
            instance_id: scope.instance_id.clone(),
            name: group.name,
            remark: group.remark,
            is_default: false,
            sl_domain_access: true,
            register_time: now,
            update_time: now,
        };
        sqlx::query(
            "INSERT INTO api_groups (id, instance_id, name, remark, is_default, register_time, update_time) \
             VALUES ($1, $2, $3, $4, 0, $5, $6)",
        )
        .bind(&created.id)
        .bind(&created.instance_id)
        .bind(created.name.as_str())
        .bind(created.remark.as_str())
        .bind(now.nanos())
        .bind(now.nanos())
        .execute(&mut *tx)
        .await?;
        super::gateway_responses::insert_default_responses(&mut tx, Some(&created.id)).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn update_group(
        &self,
        scope: &Scope,
        id: &str,
        change: GroupChange,
    ) -> ApiStoreResult<ApiGroup> {
        let mut tx = self.config_tx().await?;
        let group = fetch_group(&mut tx, scope, id)
            .await?
            .ok_or(ApiStoreError::GroupNotFound)?;
        if group.is_default && change.name.as_str() != DEFAULT_GROUP_NAME {
            return Err(ApiStoreError::DefaultGroupLocked);
        }
        if any(
            &mut tx,
            "SELECT 1 FROM api_groups WHERE instance_id = $1 AND name = $2 AND id <> $3",
            &[scope.instance_id.as_str(), change.name.as_str(), id],
        )
        .await?
        {
            return Err(ApiStoreError::GroupNameExists);
        }
        sqlx::query(
            "UPDATE api_groups SET name = $1, remark = COALESCE($2, remark), update_time = $3 \
             WHERE id = $4 AND instance_id = $5",
        )
        .bind(change.name.as_str())
        .bind(change.remark.as_ref().map(Remark::as_str))
        .bind(Timestamp::now().nanos())
        .bind(id)
        .bind(&scope.instance_id)
        .execute(&mut *tx)
        .await?;
        let group = fetch_group(&mut tx, scope, id)
            .await?
            .ok_or(ApiStoreError::GroupNotFound)?;
        tx.commit().await?;
        Ok(group)
    }

    async fn set_group_sl_domain_access(
        &self,
        scope: &Scope,
        id: &str,
        open: bool,
    ) -> ApiStoreResult<ApiGroup> {
        let mut tx = self.config_tx().await?;
        let done = sqlx::query(
            "UPDATE api_groups SET sl_domain_access = $1, update_time = $2 \
             WHERE id = $3 AND instance_id = $4",
        )
        .bind(i64::from(open))
        .bind(Timestamp::now().nanos())
        .bind(id)
        .bind(&scope.instance_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ApiStoreError::GroupNotFound);
        }
        let group = fetch_group(&mut tx, scope, id)
            .await?
            .ok_or(ApiStoreError::GroupNotFound)?;
        tx.commit().await?;
        Ok(group)
    }

    async fn delete_group(&self, scope: &Scope, id: &str) -> ApiStoreResult<()> {
        let mut tx = self.config_tx().await?;
        let group = fetch_group(&mut tx, scope, id)
            .await?
            .ok_or(ApiStoreError::GroupNotFound)?;
        if group.is_default {
            return Err(ApiStoreError::DefaultGroupLocked);
        }
        if any(&mut tx, "SELECT 1 FROM apis WHERE group_id = $1", &[id]).await? {
            return Err(ApiStoreError::GroupHasApis);
        }
        sqlx::query("DELETE FROM api_groups WHERE id = $1 AND instance_id = $2")
            .bind(id)
            .bind(&scope.instance_id)
            .execute(&mut *tx)
            .await?;
        // Its names went with it, and the certificates added to them.
        super::certificates::forget_unpresented_domain_certificates(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_group(&self, scope: &Scope, id: &str) -> ApiStoreResult<Option<ApiGroup>> {
        let mut conn = self.reader.acquire().await?;
        fetch_group(&mut conn, scope, id).await
    }

    async fn list_groups(
        &self,
        scope: &Scope,
        f: &GroupFilter,
        page: Page,
    ) -> ApiStoreResult<(i64, Vec<ApiGroup>)> {
        fn filtered<'a>(q: &mut QueryBuilder<'a>, scope: &'a Scope, f: &'a GroupFilter) {
            q.push(
                " FROM api_groups g JOIN instances i ON i.id = g.instance_id WHERE i.project_id = ",
            )
            .push_bind(&scope.project_id)
            .push(" AND g.instance_id = ")
            .push_bind(&scope.instance_id);
            if let Some(id) = &f.id {
                q.push(" AND g.id = ").push_bind(id);
            }
            if let Some(name) = &f.name {
                if f.name_exact {
                    q.push(" AND g.name = ").push_bind(name);
                } else {
                    q.push(" AND instr(g.name, ").push_bind(name).push(") > 0");
                }
            }
        }
        let mut tx = self.read_tx().await?;
        let (total, rows) = page_rows(
            &mut tx,
            GROUP_COLUMNS,
            |q| filtered(q, scope, f),
            |q| {
                q.push(" ORDER BY g.is_default DESC, g.register_time DESC, g.id");
            },
            page,
        )
        .await?;
        tx.commit().await?;
        let groups = rows
            .iter()
            .map(group_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((total, groups))
    }

    async fn create_environment(
        &self,
        scope: &Scope,
        env: NewEnvironment,
        max_envs: u32,
    ) -> ApiStoreResult<Environment> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        if any(
            &mut tx,
            "SELECT 1 FROM environments WHERE instance_id = $1 AND name = $2",
            &[scope.instance_id.as_str(), env.name.as_str()],
        )
        .await?
        {
            return Err(ApiStoreError::EnvNameExists);
        }
        let count: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM environments WHERE instance_id = $1 AND id <> $2",
        )
        .bind(&scope.instance_id)
        .bind(RELEASE_ENV_ID)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        if count >= i64::from(max_envs) {
            return Err(ApiStoreError::EnvLimitReached);
        }
        let created = Environment {
            id: new_id(),
            name: env.name,
            remark: env.remark,
            create_time: Timestamp::now(),
        };
        sqlx::query("INSERT INTO environments (instance_id, id, name, remark, create_time) VALUES ($1, $2, $3, $4, $5)")
            .bind(&scope.instance_id)
            .bind(&created.id)
            .bind(created.name.as_str())
            .bind(created.remark.as_str())
            .bind(created.create_time.nanos())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn update_environment(
        &self,
        scope: &Scope,
        id: &str,
        change: EnvChange,
    ) -> ApiStoreResult<Environment> {
        let mut tx = self.config_tx().await?;
        let env = fetch_env(&mut tx, scope, id)
            .await?
            .ok_or(ApiStoreError::EnvNotFound)?;
        if env.is_release() {
            return Err(ApiStoreError::ReleaseEnvLocked);
        }
        if any(
            &mut tx,
            "SELECT 1 FROM environments WHERE instance_id = $1 AND name = $2 AND id <> $3",
            &[scope.instance_id.as_str(), change.name.as_str(), id],
        )
        .await?
        {
            return Err(ApiStoreError::EnvNameExists);
        }
        sqlx::query(
            "UPDATE environments SET name = $1, remark = COALESCE($2, remark) WHERE instance_id = $3 AND id = $4",
        )
        .bind(change.name.as_str())
        .bind(change.remark.as_ref().map(Remark::as_str))
        .bind(&scope.instance_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let env = fetch_env(&mut tx, scope, id)
            .await?
            .ok_or(ApiStoreError::EnvNotFound)?;
        tx.commit().await?;
        Ok(env)
    }

    async fn delete_environment(&self, scope: &Scope, id: &str) -> ApiStoreResult<()> {
        let mut tx = self.config_tx().await?;
        let env = fetch_env(&mut tx, scope, id)
            .await?
            .ok_or(ApiStoreError::EnvNotFound)?;
        if env.is_release() {
            return Err(ApiStoreError::ReleaseEnvLocked);
        }
        if any(
            &mut tx,
            "SELECT 1 FROM publications WHERE instance_id = $1 AND env_id = $2",
            &[scope.instance_id.as_str(), id],
        )
        .await?
        {
            return Err(ApiStoreError::EnvHasPublishedApis);
        }
        sqlx::query("DELETE FROM app_auths WHERE instance_id = $1 AND env_id = $2")
            .bind(&scope.instance_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM environments WHERE instance_id = $1 AND id = $2")
            .bind(&scope.instance_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_environment(
        &self,
        scope: &Scope,
        id: &str,
    ) -> ApiStoreResult<Option<Environment>> {
        let mut conn = self.reader.acquire().await?;
        fetch_env(&mut conn, scope, id).await
    }

    async fn list_environments(
        &self,
        scope: &Scope,
        f: &EnvFilter,
        page: Page,
    ) -> ApiStoreResult<(i64, Vec<Environment>)> {
        fn filtered<'a>(q: &mut QueryBuilder<'a>, scope: &'a Scope, f: &'a EnvFilter) {
            q.push(" FROM environments e JOIN instances i ON i.id = e.instance_id WHERE i.project_id = ")
                .push_bind(&scope.project_id)
                .push(" AND e.instance_id = ")
                .push_bind(&scope.instance_id);
            if let Some(name) = &f.name {
                if f.name_exact {
                    q.push(" AND e.name = ").push_bind(name);
                } else {
                    q.push(" AND instr(e.name, ").push_bind(name).push(") > 0");
                }
            }
        }
        let mut tx = self.read_tx().await?;
        let (total, rows) = page_rows(
            &mut tx,
            "e.id, e.name, e.remark, e.create_time",
            |q| filtered(q, scope, f),
            |q| {
                q.push(" ORDER BY (e.id = ")
                    .push_bind(RELEASE_ENV_ID)
                    .push(") DESC, e.create_time, e.id");
            },
            page,
        )
        .await?;
        tx.commit().await?;
        let envs = rows
            .iter()
            .map(env_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((total, envs))
    }

    async fn create_api(&self, scope: &Scope, definition: ApiDefinition) -> ApiStoreResult<Api> {
        let mut tx = self.config_tx().await?;
        fetch_group(&mut tx, scope, definition.group_id())
            .await?
            .ok_or(ApiStoreError::GroupNotFound)?;
        check_api_unique(&mut tx, &definition, "").await?;
        check_api_channel(&mut tx, scope, &definition).await?;
        check_api_response(&mut tx, &definition).await?;
        let id = new_id();
        let now = Timestamp::now();
        sqlx::query(
            "INSERT INTO apis (id, instance_id, group_id, name, api_type, req_protocol, req_method, req_uri, \
             route_key, auth_type, backend_id, definition, register_time, update_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&id)
        .bind(&scope.instance_id)
        .bind(definition.group_id())
        .bind(definition.name().as_str())
        .bind(definition.api_type().code())
        .bind(definition.req_protocol().as_str())
        .bind(definition.req_method().as_str())
        .bind(definition.req_uri().as_str())
        .bind(definition.route_key())
        .bind(definition.auth_type().as_str())
        .bind(new_id())
        .bind(definition.to_stored())
        .bind(now.nanos())
        .bind(now.nanos())
        .execute(&mut *tx)
        .await?;
        let api = fetch_api(&mut tx, scope, &id)
            .await?
            .ok_or(ApiStoreError::ApiNotFound)?;
        tx.commit().await?;
        Ok(api)
    }

    async fn update_api(
        &self,
        scope: &Scope,
        id: &str,
        definition: ApiDefinition,
    ) -> ApiStoreResult<Api> {
        let mut tx = self.config_tx().await?;
        let row = api_row(&mut tx, scope, id)
            .await?
            .ok_or(ApiStoreError::ApiNotFound)?;
        if row.try_get::<String, _>("group_id")? != definition.group_id() {
            return Err(ApiStoreError::GroupChange);
        }
        check_api_unique(&mut tx, &definition, id).await?;
        check_api_channel(&mut tx, scope, &definition).await?;
        check_api_response(&mut tx, &definition).await?;
        sqlx::query(
            "UPDATE apis SET name = $1, api_type = $2, req_protocol = $3, req_method = $4, req_uri = $5, \
             route_key = $6, auth_type = $7, definition = $8, update_time = $9 WHERE id = $10 AND instance_id = $11",
        )
        .bind(definition.name().as_str())
        .bind(definition.api_type().code())
        .bind(definition.req_protocol().as_str())
        .bind(definition.req_method().as_str())
        .bind(definition.req_uri().as_str())
        .bind(definition.route_key())
        .bind(definition.auth_type().as_str())
        .bind(definition.to_stored())
        .bind(Timestamp::now().nanos())
        .bind(id)
        .bind(&scope.instance_id)
        .execute(&mut *tx)
        .await?;
        let api = fetch_api(&mut tx, scope, id)
            .await?
            .ok_or(ApiStoreError::ApiNotFound)?;
        tx.commit().await?;
        Ok(api)
    }

    async fn delete_api(&self, scope: &Scope, id: &str) -> ApiStoreResult<()> {
        let mut tx = self.config_tx().await?;
        api_row(&mut tx, scope, id)
            .await?
            .ok_or(ApiStoreError::ApiNotFound)?;
        if any(
            &mut tx,
            "SELECT 1 FROM publications WHERE api_id = $1",
            &[id],
        )
        .await?
        {
            return Err(ApiStoreError::ApiPublished);
        }
        sqlx::query("DELETE FROM app_auths WHERE instance_id = $1 AND api_id = $2")
            .bind(&scope.instance_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM apis WHERE id = $1 AND instance_id = $2")
            .bind(id)
            .bind(&scope.instance_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_api(&self, scope: &Scope, id: &str) -> ApiStoreResult<Option<Api>> {
        let mut tx = self.read_tx().await?;
        let api = fetch_api(&mut tx, scope, id).await?;
        tx.commit().await?;
        Ok(api)
    }

    async fn list_apis(
        &self,
        scope: &Scope,
        f: &ApiFilter,
        page: Page,
    ) -> ApiStoreResult<(i64, Vec<Api>)> {
        fn filtered<'a>(q: &mut QueryBuilder<'a>, scope: &'a Scope, f: &'a ApiFilter) {
            q.push(
                " FROM apis a JOIN api_groups g ON g.id = a.group_id JOIN instances i ON i.id = a.instance_id \
                 WHERE i.project_id = ",
            )
            .push_bind(&scope.project_id)
            .push(" AND a.instance_id = ")
            .push_bind(&scope.instance_id);
            let exact = [
                ("a.id", &f.id),
                ("a.group_id", &f.group_id),
                ("a.req_protocol", &f.req_protocol),
                ("a.req_method", &f.req_method),
                ("a.auth_type", &f.auth_type),
            ];
            for (column, value) in exact {
                if let Some(v) = value {
                    q.push(format!(" AND {column} = ")).push_bind(v);
                }
            }
            for (column, value, is_exact) in [
                ("a.name", &f.name, f.name_exact),
                ("a.req_uri", &f.req_uri, f.req_uri_exact),
            ] {
                if let Some(v) = value {
                    if is_exact {
                        q.push(format!(" AND {column} = ")).push_bind(v);
                    } else {
                        q.push(format!(" AND instr({column}, "))
                            .push_bind(v)
                            .push(") > 0");
                    }
                }
            }
            if let Some(t) = f.api_type {
                q.push(" AND a.api_type = ").push_bind(t);
            }
            if let Some(env) = &f.env_id {
                q.push(" AND EXISTS (SELECT 1 FROM publications p WHERE p.api_id = a.id AND p.env_id = ")
                    .push_bind(env)
                    .push(")");
            }
        }
        let mut tx = self.read_tx().await?;
        let (total, rows) = page_rows(
            &mut tx,
            &format!("{API_COLUMNS}, {GROUP_COLUMNS}"),
            |q| filtered(q, scope, f),
            |q| {
                q.push(" ORDER BY a.register_time DESC, a.id");
            },
            page,
        )
        .await?;
        let apis = complete_apis(&mut tx, scope, rows).await?;
        tx.commit().await?;
        Ok((total, apis))
    }

    async fn publish_api(
        &self,
        scope: &Scope,
        api_id: &str,
        env_id: &str,
        remark: Remark,
    ) -> ApiStoreResult<PublishRecord> {
        let mut tx = self.config_tx().await?;
        let row = api_row(&mut tx, scope, api_id)
            .await?
            .ok_or(ApiStoreError::ApiNotFound)?;
        fetch_env(&mut tx, scope, env_id)
            .await?
            .ok_or(ApiStoreError::EnvNotFound)?;
        let definition = definition_from_row(&row)?;
        let version = InForce {
            api_id,
            env_id,
            version_id: new_id(),
            remark: remark.as_str(),
            definition: &definition,
        };
        let record = put_in_force(&mut tx, scope, &version).await?;
        sqlx::query(
            "INSERT INTO api_versions (id, instance_id, api_id, env_id, remark, publish_time, definition) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&record.version_id)
        .bind(&scope.instance_id)
        .bind(api_id)
        .bind(env_id)
        .bind(&record.remark)
        .bind(record.publish_time.nanos())
        .bind(definition.to_stored())
        .execute(&mut *tx)
        .await?;
        // Keep the newest versions of the API in the environment (the new one among them).
        let kept: Vec<String> = sqlx::query(
            "SELECT id FROM api_versions WHERE api_id = $1 AND env_id = $2 \
             ORDER BY publish_time DESC, id DESC",
        )
        .bind(api_id)
        .bind(env_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
        for old in kept.iter().skip(MAX_VERSIONS_PER_ENV) {
            sqlx::query("DELETE FROM api_versions WHERE id = $1")
                .bind(old)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(record)
    }

    async fn unpublish_api(
        &self,
        scope: &Scope,
        api_id: &str,
        env_id: &str,
        remark: Remark,
    ) -> ApiStoreResult<PublishRecord> {
        let mut tx = self.config_tx().await?;
        let row = api_row(&mut tx, scope, api_id)
            .await?
            .ok_or(ApiStoreError::ApiNotFound)?;
        fetch_env(&mut tx, scope, env_id)
            .await?
            .ok_or(ApiStoreError::EnvNotFound)?;
        let publication = sqlx::query(
            "SELECT id, version_id FROM publications WHERE instance_id = $1 AND api_id = $2 AND env_id = $3",
        )
        .bind(&scope.instance_id)
        .bind(api_id)
        .bind(env_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(ApiStoreError::NotPublished)?;
        let publish_id: String = publication.try_get("id")?;
        sqlx::query("DELETE FROM publications WHERE id = $1")
            .bind(&publish_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(PublishRecord {
            publish_id,
            api_id: api_id.to_owned(),
            api_name: row.try_get("name")?,
            env_id: env_id.to_owned(),
            remark: remark.as_str().to_owned(),
            publish_time: Timestamp::now(),
            version_id: publication.try_get("version_id")?,
        })
    }

    async fn list_api_versions(
        &self,
        scope: &Scope,
        api_id: &str,
        f: &VersionFilter,
        page: Page,
    ) -> ApiStoreResult<(i64, Vec<ApiVersion>)> {
        fn filtered<'a>(
            q: &mut QueryBuilder<'a>,
            scope: &'a Scope,
            api_id: &'a str,
            f: &'a VersionFilter,
        ) {
            q.push(VERSION_FROM)
                .push(" WHERE i.project_id = ")
                .push_bind(&scope.project_id)
                .push(" AND v.instance_id = ")
                .push_bind(&scope.instance_id)
                .push(" AND v.api_id = ")
                .push_bind(api_id);
            if let Some(env_id) = &f.env_id {
                q.push(" AND v.env_id = ").push_bind(env_id);
            }
            if let Some(env_name) = &f.env_name {
                q.push(" AND e.name = ").push_bind(env_name);
            }
        }
        let mut tx = self.read_tx().await?;
        api_row(&mut tx, scope, api_id)
            .await?
            .ok_or(ApiStoreError::ApiNotFound)?;
        let (total, rows) = page_rows(
            &mut tx,
            VERSION_COLUMNS,
            |q| filtered(q, scope, api_id, f),
            |q| {
                q.push(" ORDER BY v.publish_time DESC, v.id DESC");
            },
            page,
        )
        .await?;
        tx.commit().await?;
        let versions = rows
            .iter()
            .map(version_from_row)
            .collect::<ApiStoreResult<Vec<_>>>()?;
        Ok((total, versions))
    }

    async fn api_version(&self, scope: &Scope, version_id: &str) -> ApiStoreResult<ApiVersion> {
        let mut conn = self.reader.acquire().await?;
        fetch_version(&mut conn, scope, version_id).await
    }

    async fn switch_api_version(
        &self,
        scope: &Scope,
        api_id: &str,
        version_id: &str,
    ) -> ApiStoreResult<PublishRecord> {
        let mut tx = self.config_tx().await?;
        api_row(&mut tx, scope, api_id)
            .await?
            .ok_or(ApiStoreError::ApiNotFound)?;
        let version = fetch_version(&mut tx, scope, version_id).await?;
        if version.api_id != api_id {
            return Err(ApiStoreError::VersionNotFound);
        }
        let in_force = InForce {
            api_id,
            env_id: &version.env_id,
            version_id: version.id.clone(),
            remark: &version.remark,
            definition: &version.definition,
        };
        let record = put_in_force(&mut tx, scope, &in_force).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn unpublish_api_version(
        &self,
        scope: &Scope,
        version_id: &str,
    ) -> ApiStoreResult<ApiVersion> {
        let mut tx = self.config_tx().await?;
        let mut version = fetch_version(&mut tx, scope, version_id).await?;
        if !version.in_force {
            return Err(ApiStoreError::VersionNotInForce {
                api_id: version.api_id,
                env_id: version.env_id,
            });
        }
        sqlx::query(
            "DELETE FROM publications WHERE api_id = $1 AND env_id = $2 AND version_id = $3",
        )
        .bind(&version.api_id)
        .bind(&version.env_id)
        .bind(&version.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        version.in_force = false;
        Ok(version)
    }

    async fn published_apis(&self, instance_id: &str) -> StoreResult<Vec<PublishedApi>> {
        let rows = sqlx::query(
            "SELECT p.env_id, e.name AS env_name, p.api_id, p.id AS publish_id, p.version_id, p.publish_time, \
             p.definition, g.id AS g_id, g.name AS g_name, g.is_default AS g_is_default, \
             g.sl_domain_access AS g_sl_domain_access \
             FROM publications p \
             JOIN environments e ON e.instance_id = p.instance_id AND e.id = p.env_id \
             JOIN api_groups g ON g.id = p.group_id \
             WHERE p.instance_id = $1 ORDER BY e.name, g.id, p.route_key",
        )
        .bind(instance_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PublishedApi {
                    env_id: row.try_get("env_id")?,
                    env_name: row.try_get("env_name")?,
                    group: published_group_from_row(row)?,
                    api_id: row.try_get("api_id")?,
                    publish_id: row.try_get("publish_id")?,
                    version_id: row.try_get("version_id")?,
                    publish_time: Timestamp::from_nanos(row.try_get("publish_time")?),
                    definition: definition_from_row(row)?,
                })
            })
            .collect()
    }

    async fn instance_groups(&self, instance_id: &str) -> StoreResult<Vec<PublishedGroup>> {
        sqlx::query(
            "SELECT id AS g_id, name AS g_name, is_default AS g_is_default, \
             sl_domain_access AS g_sl_domain_access FROM api_groups \
             WHERE instance_id = $1 ORDER BY id",
        )
        .bind(instance_id)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(published_group_from_row)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::MasterKey;
    use crate::AppStore;

    fn definition(group_id: &str, name: &str, uri: &str) -> ApiDefinition {
        let text = format!(
            r#"{{"group_id": "{group_id}", "name": "{name}", "type": 1, "req_method": "GET",
               "req_uri": "{uri}", "auth_type": "APP", "backend_type": "HTTP",
               "backend_api": {{"url_domain": "backend.test:8080", "req_protocol": "HTTP",
                                "req_method": "GET", "req_uri": "/b", "timeout": 5000}},
               "backend_params": [{{"name": "X-App", "value": "$context.appId",
                                    "location": "HEADER", "origin": "SYSTEM"}}]}}"#
        );
        ApiDefinition::from_stored(&text).unwrap()
    }

    async fn store() -> (crate::test_db::TestPlace, SqlStore, Scope) {
        crate::test_db::bootstrapped_store(&MasterKey::generate()).await
    }

    #[tokio::test]
    async fn published_apis_serve_the_copy_taken_at_publish_time() {
        let (_dir, store, scope) = store().await;
        let (_, groups) = store
            .list_groups(
                &scope,
                &GroupFilter::default(),
                Page::parse(None, None).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(groups.len(), 1);
        let default = &groups[0];
        assert!(default.is_default);
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
        let api = store
            .create_api(&scope, definition(&default.id, "api_one", "/one"))
            .await
            .unwrap();
        assert!(store
            .published_apis(&scope.instance_id)
            .await
            .unwrap()
            .is_empty());

        store
            .publish_api(&scope, &api.id, RELEASE_ENV_ID, Remark::empty())
            .await
            .unwrap();
        let dev_pub = store
            .publish_api(&scope, &api.id, &dev.id, Remark::empty())
            .await
            .unwrap();
        store
            .update_api(
                &scope,
                &api.id,
                definition(&default.id, "api_one", "/changed"),
            )
            .await
            .unwrap();

        let published = store.published_apis(&scope.instance_id).await.unwrap();
        assert_eq!(published.len(), 2);
        let names: Vec<_> = published.iter().map(|p| p.env_name.as_str()).collect();
        assert_eq!(names, ["DEV", "RELEASE"]);
        for p in &published {
            assert_eq!(p.api_id, api.id);
            assert_eq!(
                p.group,
                PublishedGroup {
                    id: default.id.clone(),
                    name: "DEFAULT".into(),
                    is_default: true,
                    sl_domain_access: true,
                }
            );
            assert_eq!(
                p.definition.req_uri().as_str(),
                "/one",
                "the published copy, not the edit"
            );
        }
        assert_eq!(published[0].publish_id, dev_pub.publish_id);
        assert_eq!(published[0].version_id, dev_pub.version_id);

        // Republishing replaces the copy; taking offline removes it.
        let again = store
            .publish_api(&scope, &api.id, RELEASE_ENV_ID, Remark::empty())
            .await
            .unwrap();
        store
            .unpublish_api(&scope, &api.id, &dev.id, Remark::empty())
            .await
            .unwrap();
        let published = store.published_apis(&scope.instance_id).await.unwrap();
        assert_eq!(published.len(), 1);
        assert_eq!(published[0].env_id, RELEASE_ENV_ID);
        assert_eq!(published[0].publish_id, again.publish_id);
        assert_eq!(published[0].definition.req_uri().as_str(), "/changed");

        // Another instance has nothing published; deleting the instance removes everything.
        assert!(store.published_apis("unknown").await.unwrap().is_empty());
        assert!(store
            .delete_instance(&scope.project_id, &scope.instance_id)
            .await
            .unwrap());
        assert!(store
            .published_apis(&scope.instance_id)
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn new_instances_get_default_group_and_release() {
        let (_dir, store, scope) = store().await;
        let other = store
            .create_instance(
                &scope.project_id,
                NewInstance {
                    name: apigw_domain::InstanceName::parse("second").unwrap(),
                    description: apigw_domain::InstanceDescription::empty(),
                },
            )
            .await
            .unwrap();
        let page = Page::parse(None, None).unwrap();
        let (n, groups) = store
            .list_groups(&other.scope(), &GroupFilter::default(), page)
            .await
            .unwrap();
        assert_eq!(
            (n, groups[0].name.as_str(), groups[0].is_default),
            (1, "DEFAULT", true)
        );
        let (n, envs) = store
            .list_environments(&other.scope(), &EnvFilter::default(), page)
            .await
            .unwrap();
        assert_eq!(
            (n, envs[0].id.as_str(), envs[0].name.as_str()),
            (1, RELEASE_ENV_ID, "RELEASE")
        );
        assert!(envs[0].is_release());
    }
}
