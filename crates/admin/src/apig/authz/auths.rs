//! App authorizations, spec §3.5: authorize apps for APIs in an environment, cancel one
//! authorization, and the three lists (APIs bound to an app, APIs not bound to it, apps bound
//! to an API).
//!
//! Decisions where the spec is open:
//! - An authorize call is all or nothing: an unknown environment (404 `APIG.3003`), app
//!   (`APIG.3004`) or API (`APIG.3002`) refuses the whole call, checked in that order.
//! - A pair that is already authorized is not an error (DESIGN): it comes back with
//!   `auth_result.status` `SKIPPED` (with `APIG.3316`'s text and the names), the existing
//!   record's id and time; new pairs are `SUCCESS`. Results are ordered app by app, then API.
//! - An API may be authorized whether or not it is published, and whatever its `auth_type`;
//!   the data plane still needs it published there with `auth_type` `APP`.
//! - `unbinded-apis` lists the APIs with `auth_type` `APP` not yet authorized for the app in
//!   the environment, published there or not (`run_env_id`, `run_env_name`, `publish_id` are
//!   `""` when not), as in Huawei's example.
//! - In the lists, an `app_id` or `api_id` filter must name an existing object (404), names
//!   match fuzzily, and newest records come first.

use super::views::{api_outline, auth_info, auth_relation};
use super::{authz_error, ids_field};
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::changes::ChangedApps;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::{ApiError, Page, ResourceId};
use apigw_store::authz::{ApiOutlineFilter, AuthFilter};
use apigw_store::Scope;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type InstancePath = PathArgs<(String, String)>;
type AuthPath = PathArgs<(String, String, String)>;

/// An optional id in the query (`APIG.2012` naming it when malformed).
fn query_id(q: &QueryMap, field: &str) -> ApiResult<Option<String>> {
    q.filter(field, 64)?
        .map(|v| ResourceId::parse(v, field).map(ResourceId::into_inner))
        .transpose()
        .map_err(Error)
}

/// A mandatory id in the query: absent or malformed is `APIG.2012` naming it.
fn required_query_id(q: &QueryMap, field: &str) -> ApiResult<String> {
    query_id(q, field)?.ok_or_else(|| Error(ApiError::invalid_param(field)))
}

/// An optional name filter of at most `max` characters.
fn query_name(q: &QueryMap, field: &str, max: usize) -> ApiResult<Option<String>> {
    Ok(q.filter(field, max)?.map(str::to_owned))
}

/// `POST /app-auths` with `env_id`, `app_ids`, `api_ids`: 201 `{"auths": [...]}`.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    body: JsonObject,
) -> ApiResult<(StatusCode, ChangedApps, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let env_id = ResourceId::parse(body.req_str("env_id")?, "env_id")
        .map_err(|_| Error(ApiError::invalid_body_field("env_id")))?;
    let app_ids = ids_field(&body, "app_ids")?;
    let api_ids = ids_field(&body, "api_ids")?;
    let grants = state
        .store
        .authorize_apps(&scope, env_id.as_str(), &app_ids, &api_ids)
        .await
        .map_err(|e| authz_error(e, ApiError::internal))?;
    let created = grants.iter().filter(|g| g.created).count();
    tracing::info!(env_id = %env_id, created, skipped = grants.len() - created, "apps authorized");
    Ok((
        StatusCode::CREATED,
        ChangedApps(app_ids.iter().map(ToString::to_string).collect()),
        Json(json!({"auths": grants.iter().map(auth_relation).collect::<Vec<_>>()})),
    ))
}

/// `DELETE /app-auths/{app_auth_id}`: 204. Only the app's data-plane state changes.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, auth_id)): AuthPath,
) -> ApiResult<(ChangedApps, StatusCode)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let auth_id = path_id(&auth_id, "app_auth_id")?;
    let Some(app_id) = state
        .store
        .delete_app_auth(&scope, auth_id.as_str())
        .await?
    else {
        return Err(Error(ApiError::app_auth_not_found(auth_id.as_str())));
    };
    tracing::info!(app_auth_id = %auth_id, %app_id, "app authorization cancelled");
    Ok((ChangedApps::one(app_id), StatusCode::NO_CONTENT))
}

async fn list_auths(
    state: &AppState,
    scope: &Scope,
    filter: AuthFilter,
    q: &QueryMap,
) -> ApiResult<Json<Value>> {
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let (total, auths) = state
        .store
        .list_app_auths(scope, &filter, page)
        .await
        .map_err(|e| authz_error(e, ApiError::internal))?;
    Ok(Json(json!({
        "total": total,
        "size": auths.len(),
        "auths": auths.iter().map(auth_info).collect::<Vec<_>>(),
    })))
}

/// `GET /app-auths/binded-apis?app_id&api_id&api_name&group_id&group_name&env_id`: the APIs
/// an app is authorized for (`app_id` mandatory).
pub async fn bound_apis(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let filter = AuthFilter {
        app_id: Some(required_query_id(&q, "app_id")?),
        api_id: query_id(&q, "api_id")?,
        api_name: query_name(&q, "api_name", 255)?,
        group_id: query_id(&q, "group_id")?,
        group_name: query_name(&q, "group_name", 255)?,
        env_id: query_id(&q, "env_id")?,
        ..AuthFilter::default()
    };
    list_auths(&state, &scope, filter, &q).await
}

/// `GET /app-auths/binded-apps?api_id&app_name&app_id&env_id`: the apps authorized for APIs.
pub async fn bound_apps(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let filter = AuthFilter {
        api_id: query_id(&q, "api_id")?,
        app_name: query_name(&q, "app_name", 64)?,
        app_id: query_id(&q, "app_id")?,
        env_id: query_id(&q, "env_id")?,
        ..AuthFilter::default()
    };
    list_auths(&state, &scope, filter, &q).await
}

/// `GET /app-auths/unbinded-apis?app_id&env_id&group_id&api_id&api_name`: APIs with
/// `auth_type` `APP` the app is not authorized for in the environment (`app_id`, `env_id`
/// mandatory).
pub async fn unbound_apis(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let app_id = required_query_id(&q, "app_id")?;
    let env_id = required_query_id(&q, "env_id")?;
    let filter = ApiOutlineFilter {
        group_id: query_id(&q, "group_id")?,
        api_id: query_id(&q, "api_id")?,
        api_name: query_name(&q, "api_name", 255)?,
    };
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let (total, apis) = state
        .store
        .list_unauthorized_apis(&scope, &app_id, &env_id, &filter, page)
        .await
        .map_err(|e| authz_error(e, ApiError::internal))?;
    Ok(Json(json!({
        "total": total,
        "size": apis.len(),
        "apis": apis.iter().map(api_outline).collect::<Vec<_>>(),
    })))
}
