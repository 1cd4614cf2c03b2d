//! Request throttling policies: create, get, list, replace, delete (`/throttles`).

use super::{throttle_error, throttle_info};
use crate::apig::views::Precision;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::throttle::{
    parse_adaptive_control, ThrottleKind, ThrottleLimits, ThrottleName, ThrottleSpec,
};
use apigw_domain::{ApiError, AppRemark, Page};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type InstancePath = PathArgs<(String, String)>;
type ThrottlePath = PathArgs<(String, String, String)>;

/// Reads the body of create and replace (`PUT` replaces every field: an absent optional limit
/// or remark clears it).
fn throttle_spec(body: &JsonObject) -> ApiResult<ThrottleSpec> {
    let name = ThrottleName::parse(body.req_str("name")?)?;
    let limits = ThrottleLimits::parse(|field| body.0.get(field))?;
    let remark = body
        .opt_str("remark")?
        .map(|r| AppRemark::parse(r, "remark"))
        .transpose()?
        .unwrap_or_else(AppRemark::empty);
    Ok(ThrottleSpec {
        name,
        limits,
        kind: ThrottleKind::parse(body.0.get("type"))?,
        remark,
        adaptive_control: parse_adaptive_control(body.0.get("enable_adaptive_control"))?,
    })
}

/// `POST /throttles`: 201 with the new policy.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let spec = throttle_spec(&body)?;
    let throttle = state
        .store
        .create_throttle(&scope, spec)
        .await
        .map_err(|e| throttle_error(e, || ApiError::instance_not_found(&instance_id)))?;
    tracing::info!(throttle_id = %throttle.id, name = %throttle.spec.name, "request throttling policy created");
    Ok((
        StatusCode::CREATED,
        Json(throttle_info(&throttle, Precision::Nanos)),
    ))
}

/// `GET /throttles/{throttle_id}`.
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, throttle_id)): ThrottlePath,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let throttle_id = path_id(&throttle_id, "throttle_id")?;
    let throttle = state
        .store
        .get_throttle(&scope, throttle_id.as_str())
        .await?
        .ok_or_else(|| Error(ApiError::throttle_not_found(throttle_id.as_str())))?;
    Ok(Json(throttle_info(&throttle, Precision::Seconds)))
}

/// `GET /throttles?offset&limit&id&name&precise_search`: `name` matches a substring unless
/// `precise_search` names it; newest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let id = q.filter("id", 64)?;
    let exact = crate::apig::apis::precise(&q, "name")?;
    let name = q.filter("name", 255)?.map(|n| (n, exact));
    let (total, throttles) = state.store.list_throttles(&scope, id, name, page).await?;
    Ok(Json(json!({
        "total": total,
        "size": throttles.len(),
        "throttles": throttles.iter().map(|t| throttle_info(t, Precision::Seconds)).collect::<Vec<_>>(),
    })))
}

/// `PUT /throttles/{throttle_id}`: 200 with the replaced policy; its bindings and exceptions
/// stay, the new limits apply to the calls already counted in the current window.
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, throttle_id)): ThrottlePath,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let throttle_id = path_id(&throttle_id, "throttle_id")?;
    let spec = throttle_spec(&body)?;
    let throttle = state
        .store
        .update_throttle(&scope, throttle_id.as_str(), spec)
        .await
        .map_err(|e| throttle_error(e, || ApiError::throttle_not_found(throttle_id.as_str())))?;
    tracing::info!(throttle_id = %throttle.id, "request throttling policy updated");
    Ok(Json(throttle_info(&throttle, Precision::Nanos)))
}

/// `DELETE /throttles/{throttle_id}`: 204; its bindings and exceptions go with it.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, throttle_id)): ThrottlePath,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let throttle_id = path_id(&throttle_id, "throttle_id")?;
    if !state
        .store
        .delete_throttle(&scope, throttle_id.as_str())
        .await?
    {
        return Err(Error(ApiError::throttle_not_found(throttle_id.as_str())));
    }
    tracing::info!(throttle_id = %throttle_id, "request throttling policy deleted");
    Ok(StatusCode::NO_CONTENT)
}
