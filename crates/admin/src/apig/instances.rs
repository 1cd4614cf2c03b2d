//! Gateway instances: a simplified, synchronous version of Huawei's instance calls.

use super::views::instance_info;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{not_found, ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, Access};
use crate::AppState;
use apigw_domain::{ApiError, InstanceDescription, InstanceName, Page};
use apigw_store::NewInstance;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

/// `POST /v2/{project_id}/apigw/instances`: 201 with the instance.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(project_id): PathArgs<String>,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    scope::check_project(&caller, &project_id, Access::Write)?;
    let name = InstanceName::parse(body.req_str("instance_name")?)?;
    let description = match body.opt_str("description")? {
        Some(d) => InstanceDescription::parse(d)?,
        None => InstanceDescription::empty(),
    };
    let instance = state
        .store
        .create_instance(&project_id, NewInstance { name, description })
        .await
        .map_err(|e| not_found(e, ApiError::forbidden))?;
    tracing::info!(instance_id = %instance.id, name = %instance.name, "instance created");
    Ok((StatusCode::CREATED, Json(instance_info(&instance))))
}

/// `GET /v2/{project_id}/apigw/instances`.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(project_id): PathArgs<String>,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    scope::check_project(&caller, &project_id, Access::Read)?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let (total, items) = state.store.list_instances(&project_id, page).await?;
    Ok(Json(json!({
        "total": total,
        "size": items.len(),
        "instances": items.iter().map(instance_info).collect::<Vec<_>>(),
    })))
}

/// `GET /v2/{project_id}/apigw/instances/{instance_id}`.
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): PathArgs<(String, String)>,
) -> ApiResult<Json<Value>> {
    let instance =
        scope::instance(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    Ok(Json(instance_info(&instance)))
}

/// `DELETE /v2/{project_id}/apigw/instances/{instance_id}`: 204; everything in it goes too.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): PathArgs<(String, String)>,
) -> ApiResult<StatusCode> {
    let instance =
        scope::instance(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    if !state
        .store
        .delete_instance(&project_id, &instance.id)
        .await?
    {
        return Err(Error(ApiError::instance_not_found(&instance_id)));
    }
    tracing::info!(instance_id = %instance.id, "instance deleted");
    Ok(StatusCode::NO_CONTENT)
}
