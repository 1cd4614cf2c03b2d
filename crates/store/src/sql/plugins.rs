//! SQL implementation of [`PluginStore`]: plug-ins and their attachments.

use super::*;
use crate::plugins::*;
use crate::throttles::BindingSide;
use apigw_domain::plugin::{PluginContent, PluginSpec, PluginType, MAX_PLUGINS_PER_INSTANCE};

/// The columns of a plug-in (`g`), named apart from an API's columns.
const PLUGIN_COLUMNS: &str = "g.id AS plugin_id, g.name AS plugin_name, g.plugin_type, \
     g.content, g.remark AS plugin_remark, g.create_time AS plugin_create_time, \
     g.update_time AS plugin_update_time";

/// An attachment (`b`) with its plug-in (`g`), API (`p`) and environment (`e`).
const ATTACHMENT_FROM: &str = " FROM plugin_bindings b \
     JOIN plugins g ON g.id = b.plugin_id \
     JOIN apis p ON p.id = b.api_id \
     JOIN instances i ON i.id = b.instance_id \
     JOIN environments e ON e.instance_id = b.instance_id AND e.id = b.env_id";

/// The columns of [`ATTACHMENT_FROM`].
fn attachment_columns() -> String {
    format!(
        "b.id AS attach_id, b.create_time AS attach_time, b.env_id, e.name AS env_name, \
         b.api_id, p.name AS api_name, {PLUGIN_COLUMNS}"
    )
}

/// The columns of a published API (`pb` publication, `p` API, `a` group, `e` environment) in
/// a plug-in's API lists.
const PLUGIN_API_COLUMNS: &str = "p.id AS api_id, p.name AS api_name, p.api_type, \
     p.req_protocol, p.req_method, p.req_uri, p.auth_type, \
     COALESCE(json_extract(p.definition, '$.match_mode'), 'NORMAL') AS match_mode, \
     COALESCE(json_extract(p.definition, '$.remark'), '') AS remark, p.group_id, \
     a.name AS group_name, pb.env_id, e.name AS env_name, pb.id AS publish_id";

fn plugin_from_row(row: &AnyRow) -> StoreResult<Plugin> {
    let spec = PluginSpec::from_stored(
        row.try_get("plugin_name")?,
        &row.try_get::<String, _>("plugin_type")?,
        &row.try_get::<String, _>("content")?,
        row.try_get("plugin_remark")?,
    )
    .ok_or_else(|| StoreError::Corrupt("stored plugin breaks the rules".into()))?;
    Ok(Plugin {
        id: row.try_get("plugin_id")?,
        spec,
        create_time: Timestamp::from_nanos(row.try_get("plugin_create_time")?),
        update_time: Timestamp::from_nanos(row.try_get("plugin_update_time")?),
    })
}

fn attachment_from_row(row: &AnyRow) -> StoreResult<PluginAttachment> {
    Ok(PluginAttachment {
        id: row.try_get("attach_id")?,
        attached_time: Timestamp::from_nanos(row.try_get("attach_time")?),
        plugin: plugin_from_row(row)?,
        env_id: row.try_get("env_id")?,
        env_name: row.try_get("env_name")?,
        api_id: row.try_get("api_id")?,
        api_name: row.try_get("api_name")?,
    })
}

fn plugin_api_from_row(row: &AnyRow, side: BindingSide) -> StoreResult<PluginApi> {
    let attachment = match side {
        BindingSide::Bound => Some((
            row.try_get("attach_id")?,
            Timestamp::from_nanos(row.try_get("attach_time")?),
        )),
        BindingSide::Unbound => None,
    };
    Ok(PluginApi {
        api_id: row.try_get("api_id")?,
        api_name: row.try_get("api_name")?,
        api_type: row.try_get("api_type")?,
        req_protocol: row.try_get("req_protocol")?,
        req_method: row.try_get("req_method")?,
        req_uri: row.try_get("req_uri")?,
        auth_type: row.try_get("auth_type")?,
        match_mode: row.try_get("match_mode")?,
        remark: row.try_get("remark")?,
        group_id: row.try_get("group_id")?,
        group_name: row.try_get("group_name")?,
        env_id: row.try_get("env_id")?,
        env_name: row.try_get("env_name")?,
        publish_id: row.try_get("publish_id")?,
        attachment,
    })
}

/// Appends ` AND {column} = value` when `value` is given.
fn push_equal(q: &mut QueryBuilder<'_>, column: &str, value: Option<&String>) {
    if let Some(v) = value {
        q.push(format!(" AND {column} = ")).push_bind(v.clone());
    }
}

/// Appends ` AND {column} contains value` when `value` is given.
fn push_contains(q: &mut QueryBuilder<'_>, column: &str, value: Option<&String>) {
    if let Some(v) = value {
        q.push(format!(" AND instr({column}, "))
            .push_bind(v.clone())
            .push(") > 0");
    }
}

/// Appends the `WHERE` conditions that keep plug-ins (`g`) of `scope`.
fn push_plugin_scope(q: &mut QueryBuilder<'_>, scope: &Scope) {
    q.push(" WHERE i.project_id = ")
        .push_bind(scope.project_id.clone())
        .push(" AND g.instance_id = ")
        .push_bind(scope.instance_id.clone());
}

impl SqlStore {
    /// Plug-in `id` in `scope`.
    async fn fetch_plugin(
        conn: &mut AnyConnection,
        scope: &Scope,
        id: &str,
    ) -> PluginResult<Plugin> {
        let sql = format!(
            "SELECT {PLUGIN_COLUMNS} FROM plugins g JOIN instances i ON i.id = g.instance_id \
             WHERE i.project_id = $1 AND g.instance_id = $2 AND g.id = $3"
        );
        let row = sqlx::query(&sql)
            .bind(&scope.project_id)
            .bind(&scope.instance_id)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| PluginError::NotFound(id.to_owned()))?;
        Ok(plugin_from_row(&row)?)
    }

    /// The method of API `api_id` in `scope` and whether it is published in `env_id`.
    async fn api_method_and_publication(
        tx: &mut AnyConnection,
        scope: &Scope,
        api_id: &str,
        env_id: &str,
    ) -> PluginResult<(String, bool)> {
        let row = sqlx::query(
            "SELECT p.req_method, (SELECT COUNT(*) FROM publications pb \
             WHERE pb.api_id = p.id AND pb.env_id = $4) AS published \
             FROM apis p JOIN instances i ON i.id = p.instance_id \
             WHERE i.project_id = $1 AND p.instance_id = $2 AND p.id = $3",
        )
        .bind(&scope.project_id)
        .bind(&scope.instance_id)
        .bind(api_id)
        .bind(env_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| PluginError::ApiNotFound(api_id.to_owned()))?;
        Ok((
            row.try_get("req_method")?,
            row.try_get::<i64, _>("published")? > 0,
        ))
    }

    /// Checks every name of `target` (environment, plug-ins, APIs) in `scope`: the plug-ins
    /// read, the APIs with their methods.
    async fn resolve_target(
        tx: &mut AnyConnection,
        scope: &Scope,
        target: &AttachTarget<'_>,
        need_published: bool,
    ) -> PluginResult<(Vec<Plugin>, Vec<(String, String)>)> {
        if !Self::env_in_scope(tx, scope, target.env_id).await? {
            return Err(PluginError::EnvNotFound(target.env_id.to_owned()));
        }
        let mut plugins = Vec::with_capacity(target.plugin_ids.len());
        for id in target.plugin_ids {
            plugins.push(Self::fetch_plugin(tx, scope, id).await?);
        }
        let mut apis = Vec::with_capacity(target.api_ids.len());
        for api_id in target.api_ids {
            let (method, published) =
                Self::api_method_and_publication(tx, scope, api_id, target.env_id).await?;
            if need_published && !published {
                return Err(PluginError::NotPublished {
                    api_id: api_id.clone(),
                    env_id: target.env_id.to_owned(),
                });
            }
            apis.push((api_id.clone(), method));
        }
        Ok((plugins, apis))
    }
}

/// Refuses a CORS plug-in that does not allow the method of one of `apis` (id, method).
fn check_cors_methods(plugin: &PluginSpec, apis: &[(String, String)]) -> PluginResult<()> {
    if let PluginContent::Cors(cors) = &plugin.content {
        if let Some((api_id, method)) = apis.iter().find(|(_, m)| !cors.allows_method(m)) {
            return Err(PluginError::MethodNotAllowed {
                api_id: api_id.clone(),
                method: method.clone(),
            });
        }
    }
    Ok(())
}

#[async_trait]
impl PluginStore for SqlStore {
    async fn create_plugin(&self, scope: &Scope, spec: PluginSpec) -> PluginResult<Plugin> {
        let mut tx = self.config_tx().await?;
        Self::check_instance(&mut tx, scope).await?;
        if Self::name_taken_in_instance(&mut tx, "plugins", scope, &spec.name, "").await? {
            return Err(PluginError::NameExists);
        }
        if Self::rows_in_instance(&mut tx, "plugins", scope).await?
            >= MAX_PLUGINS_PER_INSTANCE as i64
        {
            return Err(PluginError::LimitReached);
        }
        let now = Timestamp::now();
        let plugin = Plugin {
            id: new_id(),
            spec,
            create_time: now,
            update_time: now,
        };
        sqlx::query(
            "INSERT INTO plugins (id, instance_id, name, plugin_type, plugin_scope, content, \
             remark, create_time, update_time) VALUES ($1, $2, $3, $4, 'global', $5, $6, $7, $8)",
        )
        .bind(&plugin.id)
        .bind(&scope.instance_id)
        .bind(&plugin.spec.name)
        .bind(plugin.spec.content.plugin_type().as_str())
        .bind(plugin.spec.content.to_content())
        .bind(&plugin.spec.remark)
        .bind(now.nanos())
        .bind(now.nanos())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(plugin)
    }

    async fn update_plugin(
        &self,
        scope: &Scope,
        id: &str,
        spec: PluginSpec,
    ) -> PluginResult<Plugin> {
        let mut tx = self.config_tx().await?;
        let previous = Self::fetch_plugin(&mut tx, scope, id).await?;
        if previous.spec.content.plugin_type() != spec.content.plugin_type() {
            return Err(PluginError::TypeChanged);
        }
        if Self::name_taken_in_instance(&mut tx, "plugins", scope, &spec.name, id).await? {
            return Err(PluginError::NameExists);
        }
        // A CORS plug-in keeps allowing the methods of the APIs it is attached to.
        let attached = sqlx::query(
            "SELECT DISTINCT p.id, p.req_method FROM plugin_bindings b \
             JOIN apis p ON p.id = b.api_id WHERE b.plugin_id = $1 ORDER BY p.id",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("id")?, row.try_get("req_method")?)))
        .collect::<StoreResult<Vec<(String, String)>>>()?;
        check_cors_methods(&spec, &attached)?;
        let now = Timestamp::now();
        sqlx::query(
            "UPDATE plugins SET name = $1, content = $2, remark = $3, update_time = $4 \
             WHERE id = $5 AND instance_id = $6",
        )
        .bind(&spec.name)
        .bind(spec.content.to_content())
        .bind(&spec.remark)
        .bind(now.nanos())
        .bind(id)
        .bind(&scope.instance_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Plugin {
            spec,
            update_time: now,
            ..previous
        })
    }

    async fn get_plugin(&self, scope: &Scope, id: &str) -> PluginResult<Plugin> {
        let mut tx = self.read_tx().await?;
        let plugin = Self::fetch_plugin(&mut tx, scope, id).await?;
        tx.commit().await?;
        Ok(plugin)
    }

    async fn list_plugins(
        &self,
        scope: &Scope,
        filter: &PluginFilter,
        page: Page,
    ) -> StoreResult<(i64, Vec<Plugin>)> {
        let filtered = |q: &mut QueryBuilder<'_>| {
            q.push(" FROM plugins g JOIN instances i ON i.id = g.instance_id");
            push_plugin_scope(q, scope);
            push_equal(q, "g.id", filter.id.as_ref());
            push_equal(q, "g.plugin_type", filter.plugin_type.as_ref());
            if filter.name_exact {
                push_equal(q, "g.name", filter.name.as_ref());
            } else {
                push_contains(q, "g.name", filter.name.as_ref());
            }
        };
        let tx = self.read_tx().await?;
        let order = " ORDER BY g.create_time DESC, g.id";
        read_page(tx, PLUGIN_COLUMNS, filtered, order, page, plugin_from_row).await
    }

    async fn delete_plugin(&self, scope: &Scope, id: &str) -> PluginResult<()> {
        let mut tx = self.config_tx().await?;
        Self::fetch_plugin(&mut tx, scope, id).await?;
        let attached = sqlx::query("SELECT 1 FROM plugin_bindings WHERE plugin_id = $1 LIMIT 1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if attached.is_some() {
            return Err(PluginError::Attached);
        }
        sqlx::query("DELETE FROM plugins WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn attach_plugins(
        &self,
        scope: &Scope,
        target: AttachTarget<'_>,
    ) -> PluginResult<Vec<PluginAttachment>> {
        let mut tx = self.config_tx().await?;
        let (plugins, apis) = Self::resolve_target(&mut tx, scope, &target, true).await?;
        let mut types: Vec<PluginType> = Vec::with_capacity(plugins.len());
        for plugin in &plugins {
            let t = plugin.spec.content.plugin_type();
            if types.contains(&t) {
                return Err(PluginError::SameTypeTwice(t.as_str().to_owned()));
            }
            types.push(t);
            check_cors_methods(&plugin.spec, &apis)?;
        }
        let now = Timestamp::now();
        let mut ids: Vec<String> = Vec::with_capacity(plugins.len() * apis.len());
        for plugin in &plugins {
            let plugin_type = plugin.spec.content.plugin_type().as_str();
            for (api_id, _) in &apis {
                let existing = sqlx::query(
                    "SELECT id, plugin_id FROM plugin_bindings \
                     WHERE api_id = $1 AND env_id = $2 AND plugin_type = $3",
                )
                .bind(api_id)
                .bind(target.env_id)
                .bind(plugin_type)
                .fetch_optional(&mut *tx)
                .await?;
                let id = match existing {
                    Some(row) if row.try_get::<String, _>("plugin_id")? == plugin.id => {
                        row.try_get("id")?
                    }
                    other => {
                        // Another plug-in of this type is replaced.
                        if let Some(row) = other {
                            sqlx::query("DELETE FROM plugin_bindings WHERE id = $1")
                                .bind(row.try_get::<String, _>("id")?)
                                .execute(&mut *tx)
                                .await?;
                        }
                        let id = new_id();
                        sqlx::query(
                            "INSERT INTO plugin_bindings (id, instance_id, plugin_id, \
                             plugin_type, api_id, env_id, create_time) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        )
                        .bind(&id)
                        .bind(&scope.instance_id)
                        .bind(&plugin.id)
                        .bind(plugin_type)
                        .bind(api_id)
                        .bind(target.env_id)
                        .bind(now.nanos())
                        .execute(&mut *tx)
                        .await?;
                        id
                    }
                };
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        let mut q = QueryBuilder::new(format!(
            "SELECT {}{ATTACHMENT_FROM} WHERE b.id IN (",
            attachment_columns()
        ));
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.push_bind(id.clone());
        }
        q.push(")");
        let rows = q.build().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let mut attachments = rows
            .iter()
            .map(attachment_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        // In the order asked for.
        attachments.sort_by_key(|a| ids.iter().position(|id| *id == a.id));
        Ok(attachments)
    }

    async fn detach_plugins(&self, scope: &Scope, target: AttachTarget<'_>) -> PluginResult<()> {
        let mut tx = self.config_tx().await?;
        Self::resolve_target(&mut tx, scope, &target, false).await?;
        for plugin_id in target.plugin_ids {
            for api_id in target.api_ids {
                sqlx::query(
                    "DELETE FROM plugin_bindings WHERE plugin_id = $1 AND api_id = $2 \
                     AND env_id = $3 AND instance_id = $4",
                )
                .bind(plugin_id)
                .bind(api_id)
                .bind(target.env_id)
                .bind(&scope.instance_id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_api_attachments(
        &self,
        scope: &Scope,
        api_id: &str,
        filter: &ApiPluginFilter,
        page: Page,
    ) -> PluginResult<(i64, Vec<PluginAttachment>)> {
        let filtered = |q: &mut QueryBuilder<'_>| {
            q.push(ATTACHMENT_FROM);
            push_plugin_scope(q, scope);
            q.push(" AND b.api_id = ").push_bind(api_id.to_owned());
            push_equal(q, "b.env_id", filter.env_id.as_ref());
            push_contains(q, "e.name", filter.env_name.as_ref());
            push_equal(q, "g.id", filter.plugin_id.as_ref());
            push_contains(q, "g.name", filter.plugin_name.as_ref());
            push_equal(q, "g.plugin_type", filter.plugin_type.as_ref());
        };
        let mut tx = self.read_tx().await?;
        if !Self::api_in_scope(&mut tx, scope, api_id).await? {
            return Err(PluginError::ApiNotFound(api_id.to_owned()));
        }
        let order = " ORDER BY b.create_time DESC, b.id";
        let columns = attachment_columns();
        Ok(read_page(tx, &columns, filtered, order, page, attachment_from_row).await?)
    }

    async fn list_api_attachable_plugins(
        &self,
        scope: &Scope,
        api_id: &str,
        filter: &ApiPluginFilter,
        page: Page,
    ) -> PluginResult<(i64, Vec<Plugin>)> {
        let env_id = filter.env_id.clone().unwrap_or_default();
        let filtered = |q: &mut QueryBuilder<'_>| {
            q.push(" FROM plugins g JOIN instances i ON i.id = g.instance_id");
            push_plugin_scope(q, scope);
            q.push(
                " AND NOT EXISTS (SELECT 1 FROM plugin_bindings b WHERE b.plugin_id = g.id \
                 AND b.api_id = ",
            )
            .push_bind(api_id.to_owned())
            .push(" AND b.env_id = ")
            .push_bind(env_id.clone())
            .push(")");
            push_equal(q, "g.id", filter.plugin_id.as_ref());
            push_contains(q, "g.name", filter.plugin_name.as_ref());
            push_equal(q, "g.plugin_type", filter.plugin_type.as_ref());
        };
        let mut tx = self.read_tx().await?;
        if !Self::api_in_scope(&mut tx, scope, api_id).await? {
            return Err(PluginError::ApiNotFound(api_id.to_owned()));
        }
        if !Self::env_in_scope(&mut tx, scope, &env_id).await? {
            return Err(PluginError::EnvNotFound(env_id));
        }
        let order = " ORDER BY g.create_time DESC, g.id";
        Ok(read_page(tx, PLUGIN_COLUMNS, filtered, order, page, plugin_from_row).await?)
    }

    async fn list_plugin_apis(
        &self,
        scope: &Scope,
        plugin_id: &str,
        side: BindingSide,
        filter: &PluginApiFilter,
        page: Page,
    ) -> PluginResult<(i64, Vec<PluginApi>)> {
        let filtered = |q: &mut QueryBuilder<'_>| {
            q.push(
                " FROM publications pb \
                 JOIN apis p ON p.id = pb.api_id \
                 JOIN instances i ON i.id = pb.instance_id \
                 JOIN api_groups a ON a.id = p.group_id \
                 JOIN environments e ON e.instance_id = pb.instance_id AND e.id = pb.env_id",
            );
            match side {
                BindingSide::Bound => {
                    q.push(
                        " JOIN plugin_bindings b ON b.api_id = pb.api_id \
                         AND b.env_id = pb.env_id AND b.plugin_id = ",
                    )
                    .push_bind(plugin_id.to_owned())
                    .push(" WHERE 1 = 1");
                }
                BindingSide::Unbound => {
                    q.push(
                        " WHERE NOT EXISTS (SELECT 1 FROM plugin_bindings b \
                         WHERE b.api_id = pb.api_id AND b.env_id = pb.env_id AND b.plugin_id = ",
                    )
                    .push_bind(plugin_id.to_owned())
                    .push(")");
                }
            }
            q.push(" AND i.project_id = ")
                .push_bind(scope.project_id.clone())
                .push(" AND pb.instance_id = ")
                .push_bind(scope.instance_id.clone());
            push_equal(q, "pb.env_id", filter.env_id.as_ref());
            push_equal(q, "p.id", filter.api_id.as_ref());
            push_contains(q, "p.name", filter.api_name.as_ref());
            push_equal(q, "p.group_id", filter.group_id.as_ref());
            push_equal(q, "p.req_method", filter.req_method.as_ref());
            push_contains(q, "p.req_uri", filter.req_uri.as_ref());
        };
        let mut tx = self.read_tx().await?;
        Self::fetch_plugin(&mut tx, scope, plugin_id).await?;
        if let Some(env_id) = &filter.env_id {
            if !Self::env_in_scope(&mut tx, scope, env_id).await? {
                return Err(PluginError::EnvNotFound(env_id.clone()));
            }
        }
        let mut columns = String::from(PLUGIN_API_COLUMNS);
        let order = match side {
            BindingSide::Bound => {
                columns.push_str(", b.id AS attach_id, b.create_time AS attach_time");
                " ORDER BY b.create_time DESC, b.id"
            }
            BindingSide::Unbound => " ORDER BY pb.publish_time DESC, pb.id",
        };
        let read = |row: &AnyRow| plugin_api_from_row(row, side);
        Ok(read_page(tx, &columns, filtered, order, page, read).await?)
    }

    async fn attached_plugins(&self, instance_id: &str) -> StoreResult<Vec<AttachedPlugin>> {
        let rows = sqlx::query(
            "SELECT b.api_id, b.env_id, b.plugin_id, i.project_id, g.plugin_type, g.content \
             FROM plugin_bindings b \
             JOIN plugins g ON g.id = b.plugin_id \
             JOIN instances i ON i.id = b.instance_id \
             JOIN publications pb ON pb.api_id = b.api_id AND pb.env_id = b.env_id \
             WHERE b.instance_id = $1 ORDER BY b.api_id, b.env_id, g.plugin_type",
        )
        .bind(instance_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                let plugin_type = PluginType::from_wire(&row.try_get::<String, _>("plugin_type")?)
                    .ok_or_else(|| StoreError::Corrupt("stored plugin type".into()))?;
                let content =
                    PluginContent::parse(plugin_type, &row.try_get::<String, _>("content")?)
                        .map_err(|_| StoreError::Corrupt("stored plugin content".into()))?;
                Ok(AttachedPlugin {
                    api_id: row.try_get("api_id")?,
                    env_id: row.try_get("env_id")?,
                    plugin_id: row.try_get("plugin_id")?,
                    project_id: row.try_get("project_id")?,
                    content,
                })
            })
            .collect()
    }
}
