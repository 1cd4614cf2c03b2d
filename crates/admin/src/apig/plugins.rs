//! Plug-ins (`/plugins`) and their attachments to published APIs, seen from either side
//! (`/plugins/{plugin_id}/attach`, `/apis/{api_id}/plugins/attach`, and the lists): here the
//! routes, the mapping of store refusals to APIG errors and the JSON shapes (create and
//! update answers carry nanosecond times, later reads whole seconds, as for the policies).
//!
//! Decisions where APIG is silent:
//! - Types `cors` and `set_resp_headers` only (see [`apigw_domain::plugin`]); the content is
//!   shown in its canonical form, defaults filled in.
//! - An update must keep the type (400 `APIG.2011` naming `plugin_type` otherwise).
//! - Detaching what is not attached changes nothing and succeeds (204); the plug-ins, APIs
//!   and environment named must exist.
//! - One attach call naming two plug-ins of one type for an API is refused (400 `APIG.2011`
//!   naming `plugin_ids`) rather than letting one silently replace the other.

use crate::apig::authz::ids_field;
use crate::apig::authz::views::time;
use crate::apig::views::Precision;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::plugin::PluginSpec;
use apigw_domain::{ApiError, Page, ResourceId};
use apigw_store::plugins::{
    ApiPluginFilter, AttachTarget, Plugin, PluginApi, PluginApiFilter, PluginAttachment,
    PluginError, PluginFilter,
};
use apigw_store::throttles::BindingSide;
use apigw_store::StoreError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::Uri;
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

type InstancePath = PathArgs<(String, String)>;
type ItemPath = PathArgs<(String, String, String)>;

/// Routes of plug-ins and their attachments.
pub fn routes() -> Router<AppState> {
    let base = "/v2/{project_id}/apigw/instances/{instance_id}";
    Router::new()
        .route(&format!("{base}/plugins"), get(list).post(create))
        .route(
            &format!("{base}/plugins/{{plugin_id}}"),
            get(show).put(update).delete(delete),
        )
        .route(
            &format!("{base}/plugins/{{plugin_id}}/attach"),
            post(attach),
        )
        .route(&format!("{base}/plugins/{{plugin_id}}/detach"), put(detach))
        .route(
            &format!("{base}/plugins/{{plugin_id}}/attached-apis"),
            get(attached_apis),
        )
        .route(
            &format!("{base}/plugins/{{plugin_id}}/attachable-apis"),
            get(attachable_apis),
        )
        .route(
            &format!("{base}/apis/{{api_id}}/plugins/attach"),
            post(attach),
        )
        .route(
            &format!("{base}/apis/{{api_id}}/plugins/detach"),
            put(detach),
        )
        .route(
            &format!("{base}/apis/{{api_id}}/attached-plugins"),
            get(api_attached_plugins),
        )
        .route(
            &format!("{base}/apis/{{api_id}}/attachable-plugins"),
            get(api_attachable_plugins),
        )
}

/// Maps a store refusal to its APIG error; a bare `NotFound` means what `missing` says.
fn plugin_error(e: PluginError, missing: impl FnOnce() -> ApiError) -> Error {
    Error(match e {
        PluginError::Store(StoreError::NotFound) => missing(),
        PluginError::Store(other) => return other.into(),
        PluginError::NotFound(id) => ApiError::plugin_not_found(&id),
        PluginError::NameExists => ApiError::plugin_name_exists(),
        PluginError::LimitReached => ApiError::plugin_limit(),
        PluginError::Attached => ApiError::plugin_attached(),
        PluginError::TypeChanged => ApiError::invalid_body_field("plugin_type"),
        PluginError::ApiNotFound(id) => ApiError::api_not_found(&id),
        PluginError::EnvNotFound(id) => ApiError::environment_not_found(&id),
        PluginError::NotPublished { api_id, env_id } => {
            ApiError::api_not_published_in_env(&api_id, &env_id)
        }
        PluginError::MethodNotAllowed { api_id, method } => {
            ApiError::cors_plugin_method_not_allowed(&api_id, &method)
        }
        PluginError::SameTypeTwice(_) => ApiError::invalid_body_field("plugin_ids"),
    })
}

/// `PluginInfo`.
fn plugin_info(p: &Plugin, precision: Precision) -> Value {
    json!({
        "plugin_id": p.id,
        "plugin_name": p.spec.name,
        "plugin_type": p.spec.content.plugin_type().as_str(),
        "plugin_scope": "global",
        "plugin_content": p.spec.content.to_content(),
        "remark": p.spec.remark,
        "create_time": time(p.create_time, precision),
        "update_time": time(p.update_time, precision),
    })
}

/// `PluginApiAttachInfo`: the answer of an attach call.
fn attach_info(a: &PluginAttachment) -> Value {
    json!({
        "plugin_attach_id": a.id,
        "plugin_id": a.plugin.id,
        "plugin_name": a.plugin.spec.name,
        "plugin_type": a.plugin.spec.content.plugin_type().as_str(),
        "plugin_scope": "global",
        "env_id": a.env_id,
        "env_name": a.env_name,
        "api_id": a.api_id,
        "api_name": a.api_name,
        "attached_time": time(a.attached_time, Precision::Seconds),
    })
}

/// `AttachedPluginInfo`: a plug-in attached to an API (`attached-plugins`).
fn attached_plugin_info(a: &PluginAttachment) -> Value {
    let mut v = plugin_info(&a.plugin, Precision::Seconds);
    v["plugin_attach_id"] = json!(a.id);
    v["env_id"] = json!(a.env_id);
    v["env_name"] = json!(a.env_name);
    v["attached_time"] = json!(time(a.attached_time, Precision::Seconds));
    v
}

/// `PluginApiInfo`: a published API in a plug-in's lists.
fn plugin_api_info(a: &PluginApi) -> Value {
    let mut v = json!({
        "api_id": a.api_id,
        "api_name": a.api_name,
        "type": a.api_type,
        "req_protocol": a.req_protocol,
        "req_method": a.req_method,
        "req_uri": a.req_uri,
        "auth_type": a.auth_type,
        "match_mode": a.match_mode,
        "remark": a.remark,
        "group_id": a.group_id,
        "group_name": a.group_name,
        "roma_app_id": "",
        "env_id": a.env_id,
        "env_name": a.env_name,
        "publish_id": a.publish_id,
        "tags": [],
    });
    if let Some((id, at)) = &a.attachment {
        v["plugin_attach_id"] = json!(id);
        v["attached_time"] = json!(time(*at, Precision::Seconds));
    }
    v
}

/// `POST /plugins`: 201 with the new plug-in.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let spec = PluginSpec::parse(|field| body.0.get(field))?;
    let plugin = state
        .store
        .create_plugin(&scope, spec)
        .await
        .map_err(|e| plugin_error(e, || ApiError::instance_not_found(&instance_id)))?;
    tracing::info!(plugin_id = %plugin.id, name = %plugin.spec.name, plugin_type = plugin.spec.content.plugin_type().as_str(), "plugin created");
    Ok((
        StatusCode::CREATED,
        Json(plugin_info(&plugin, Precision::Nanos)),
    ))
}

/// `GET /plugins?offset&limit&plugin_type&plugin_scope&plugin_id&plugin_name&precise_search`:
/// most recently created first; `plugin_name` matches a substring unless `precise_search`
/// names it.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    if q.filter("plugin_scope", 32)?.is_some_and(|s| s != "global") {
        return Err(Error(ApiError::invalid_param("plugin_scope")));
    }
    let filter = PluginFilter {
        id: q.filter("plugin_id", 64)?.map(str::to_owned),
        name: q.filter("plugin_name", 255)?.map(str::to_owned),
        name_exact: crate::apig::apis::precise(&q, "plugin_name")?,
        plugin_type: q.filter("plugin_type", 32)?.map(str::to_owned),
    };
    let (total, plugins) = state.store.list_plugins(&scope, &filter, page).await?;
    Ok(Json(json!({
        "total": total,
        "size": plugins.len(),
        "plugins": plugins.iter().map(|p| plugin_info(p, Precision::Seconds)).collect::<Vec<_>>(),
    })))
}

/// `GET /plugins/{plugin_id}`.
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, plugin_id)): ItemPath,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let plugin_id = path_id(&plugin_id, "plugin_id")?;
    let plugin = state
        .store
        .get_plugin(&scope, plugin_id.as_str())
        .await
        .map_err(|e| plugin_error(e, || ApiError::plugin_not_found(plugin_id.as_str())))?;
    Ok(Json(plugin_info(&plugin, Precision::Seconds)))
}

/// `PUT /plugins/{plugin_id}`: 200 with the replaced plug-in; the APIs it is attached to
/// follow the new content from their next call.
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, plugin_id)): ItemPath,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let plugin_id = path_id(&plugin_id, "plugin_id")?;
    let spec = PluginSpec::parse(|field| body.0.get(field))?;
    let plugin = state
        .store
        .update_plugin(&scope, plugin_id.as_str(), spec)
        .await
        .map_err(|e| plugin_error(e, || ApiError::plugin_not_found(plugin_id.as_str())))?;
    tracing::info!(plugin_id = %plugin.id, "plugin updated");
    let mut answer = plugin_info(&plugin, Precision::Nanos);
    answer["create_time"] = json!(time(plugin.create_time, Precision::Seconds));
    Ok(Json(answer))
}

/// `DELETE /plugins/{plugin_id}`: 204; a plug-in still attached is refused (409).
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, plugin_id)): ItemPath,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let plugin_id = path_id(&plugin_id, "plugin_id")?;
    state
        .store
        .delete_plugin(&scope, plugin_id.as_str())
        .await
        .map_err(|e| plugin_error(e, || ApiError::plugin_not_found(plugin_id.as_str())))?;
    tracing::info!(%plugin_id, "plugin deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Which side an attach or detach call is made from: the one plug-in or API in its path,
/// and the list of the other side in its body.
enum Side {
    /// `/plugins/{plugin_id}/...` with `api_ids`.
    Plugin(ResourceId),
    /// `/apis/{api_id}/plugins/...` with `plugin_ids`.
    Api(ResourceId),
}

/// Reads an attach or detach body: `env_id` and the ids of the other side (1 to 500).
fn attach_body(body: &JsonObject, side: &Side) -> ApiResult<(ResourceId, Vec<String>)> {
    let env_id = ResourceId::parse(body.req_str("env_id")?, "env_id")
        .map_err(|_| Error(ApiError::invalid_body_field("env_id")))?;
    let field = match side {
        Side::Plugin(_) => "api_ids",
        Side::Api(_) => "plugin_ids",
    };
    let ids = ids_field(body, field)?;
    Ok((env_id, ids))
}

/// Attaches, or (`attach` false) detaches, from `side` as `body` says.
async fn change_attachments(
    state: &AppState,
    caller: &Caller,
    (project_id, instance_id): (&str, &str),
    side: Side,
    body: &JsonObject,
    attach: bool,
) -> ApiResult<Vec<PluginAttachment>> {
    let scope =
        scope::instance_scope(state, caller, project_id, instance_id, Access::Write).await?;
    let (env_id, others) = attach_body(body, &side)?;
    let (one, from_plugin) = match &side {
        Side::Plugin(id) => (vec![id.as_str().to_owned()], true),
        Side::Api(id) => (vec![id.as_str().to_owned()], false),
    };
    let (plugin_ids, api_ids) = match from_plugin {
        true => (&one, &others),
        false => (&others, &one),
    };
    let target = AttachTarget {
        env_id: env_id.as_str(),
        plugin_ids,
        api_ids,
    };
    let store = &state.store;
    let done = if attach {
        store.attach_plugins(&scope, target).await
    } else {
        store
            .detach_plugins(&scope, target)
            .await
            .map(|()| Vec::new())
    };
    let done = done.map_err(|e| {
        plugin_error(e, || match from_plugin {
            true => ApiError::plugin_not_found(&one[0]),
            false => ApiError::api_not_found(&one[0]),
        })
    })?;
    tracing::info!(
        env_id = env_id.as_str(),
        plugins = plugin_ids.len(),
        apis = api_ids.len(),
        "plugins {}",
        if attach { "attached" } else { "detached" }
    );
    Ok(done)
}

/// The side an attach or detach call is made from, by its path: `.../plugins/{plugin_id}/attach`
/// or `.../apis/{api_id}/plugins/attach` (`id` is the path's id).
fn side_of(uri: &Uri, id: &str) -> ApiResult<Side> {
    Ok(if uri.path().rsplit('/').nth(2) == Some("plugins") {
        Side::Plugin(path_id(id, "plugin_id")?)
    } else {
        Side::Api(path_id(id, "api_id")?)
    })
}

/// `POST /plugins/{plugin_id}/attach` with `env_id` and `api_ids`, or
/// `POST /apis/{api_id}/plugins/attach` with `env_id` and `plugin_ids`: 201
/// `{"attached_plugins": [...]}`; the next call of each API there runs the plug-ins.
pub async fn attach(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    PathArgs((project_id, instance_id, id)): ItemPath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let side = side_of(&uri, &id)?;
    let path = (project_id.as_str(), instance_id.as_str());
    let done = change_attachments(&state, &caller, path, side, &body, true).await?;
    Ok(attached_answer(&done))
}

/// `PUT /plugins/{plugin_id}/detach` with `env_id` and `api_ids`, or
/// `PUT /apis/{api_id}/plugins/detach` with `env_id` and `plugin_ids`: 204.
pub async fn detach(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    PathArgs((project_id, instance_id, id)): ItemPath,
    body: JsonObject,
) -> ApiResult<StatusCode> {
    let side = side_of(&uri, &id)?;
    let path = (project_id.as_str(), instance_id.as_str());
    change_attachments(&state, &caller, path, side, &body, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn attached_answer(done: &[PluginAttachment]) -> (StatusCode, Json<Value>) {
    (
        StatusCode::CREATED,
        Json(json!({"attached_plugins": done.iter().map(attach_info).collect::<Vec<_>>()})),
    )
}

/// A plug-in's API list filters; `env_id` is mandatory for the attachable side.
fn plugin_api_filter(q: &QueryMap, side: BindingSide) -> ApiResult<PluginApiFilter> {
    let text = |key: &str, max: usize| -> ApiResult<Option<String>> {
        Ok(q.filter(key, max)?.map(str::to_owned))
    };
    let filter = PluginApiFilter {
        env_id: text("env_id", 64)?,
        api_id: text("api_id", 64)?,
        api_name: text("api_name", 255)?,
        group_id: text("group_id", 64)?,
        req_method: text("req_method", 16)?,
        req_uri: text("req_uri", 512)?,
    };
    if side == BindingSide::Unbound && filter.env_id.is_none() {
        return Err(Error(ApiError::missing_field("env_id")));
    }
    Ok(filter)
}

async fn plugin_apis(
    state: AppState,
    caller: Caller,
    (project_id, instance_id, plugin_id): (String, String, String),
    q: QueryMap,
    side: BindingSide,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let plugin_id = path_id(&plugin_id, "plugin_id")?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let filter = plugin_api_filter(&q, side)?;
    let (total, apis) = state
        .store
        .list_plugin_apis(&scope, plugin_id.as_str(), side, &filter, page)
        .await
        .map_err(|e| plugin_error(e, || ApiError::plugin_not_found(plugin_id.as_str())))?;
    Ok(Json(json!({
        "total": total,
        "size": apis.len(),
        "apis": apis.iter().map(plugin_api_info).collect::<Vec<_>>(),
    })))
}

/// `GET /plugins/{plugin_id}/attached-apis?env_id&api_name&api_id&group_id&req_method&req_uri`:
/// the published APIs the plug-in is attached to, latest attachment first.
pub async fn attached_apis(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(path): ItemPath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    plugin_apis(state, caller, path, q, BindingSide::Bound).await
}

/// `GET /plugins/{plugin_id}/attachable-apis?env_id&...`: the APIs published in `env_id` the
/// plug-in is not attached to.
pub async fn attachable_apis(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(path): ItemPath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    plugin_apis(state, caller, path, q, BindingSide::Unbound).await
}

/// An API's plug-in list filters; `env_id` is mandatory for the attachable side.
fn api_plugin_filter(q: &QueryMap, side: BindingSide) -> ApiResult<ApiPluginFilter> {
    let text = |key: &str, max: usize| -> ApiResult<Option<String>> {
        Ok(q.filter(key, max)?.map(str::to_owned))
    };
    let filter = ApiPluginFilter {
        env_id: text("env_id", 64)?,
        env_name: text("env_name", 64)?,
        plugin_id: text("plugin_id", 64)?,
        plugin_name: text("plugin_name", 255)?,
        plugin_type: text("plugin_type", 32)?,
    };
    if side == BindingSide::Unbound && filter.env_id.is_none() {
        return Err(Error(ApiError::missing_field("env_id")));
    }
    Ok(filter)
}

async fn api_plugins(
    state: AppState,
    caller: Caller,
    (project_id, instance_id, api_id): (String, String, String),
    q: QueryMap,
    side: BindingSide,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let api_id = path_id(&api_id, "api_id")?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let filter = api_plugin_filter(&q, side)?;
    let store = &state.store;
    let listed = match side {
        BindingSide::Bound => store
            .list_api_attachments(&scope, api_id.as_str(), &filter, page)
            .await
            .map(|(total, a)| {
                (
                    total,
                    a.iter().map(attached_plugin_info).collect::<Vec<_>>(),
                )
            }),
        BindingSide::Unbound => store
            .list_api_attachable_plugins(&scope, api_id.as_str(), &filter, page)
            .await
            .map(|(total, p)| {
                let seconds = |p| plugin_info(p, Precision::Seconds);
                (total, p.iter().map(seconds).collect::<Vec<_>>())
            }),
    };
    let (total, plugins) =
        listed.map_err(|e| plugin_error(e, || ApiError::api_not_found(api_id.as_str())))?;
    Ok(Json(
        json!({"total": total, "size": plugins.len(), "plugins": plugins}),
    ))
}

/// `GET /apis/{api_id}/attached-plugins?env_id&plugin_name&plugin_id&env_name&plugin_type`:
/// the plug-ins attached to the API, latest first.
pub async fn api_attached_plugins(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(path): ItemPath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    api_plugins(state, caller, path, q, BindingSide::Bound).await
}

/// `GET /apis/{api_id}/attachable-plugins?env_id&plugin_name&plugin_type&plugin_id`: the
/// plug-ins not attached to the API in `env_id`.
pub async fn api_attachable_plugins(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(path): ItemPath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    api_plugins(state, caller, path, q, BindingSide::Unbound).await
}
