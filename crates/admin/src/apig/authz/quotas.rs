//! App quotas and their bindings, spec §1.13: create, get, list, replace, delete a quota; bind
//! apps to it, unbind one, list the apps bound to it and the apps that can be bound; the quota
//! bound to an app.
//!
//! Decisions where the spec is open:
//! - An app is bound to at most one quota. Binding an app bound to *another* quota is refused
//!   (400 `APIG.3351`), as Huawei's bindable-apps list shows only apps bound to no quota; binding
//!   it again to the *same* quota is accepted and keeps the original `bound_time`.
//!   A bind call is all or nothing.
//! - `PUT` replaces the quota: the mandatory fields as for create, and an absent `remark` or
//!   `reset_time` clears it (terraform always sends the whole object).
//! - `reset_time` is `yyyy-MM-dd HH:mm:ss` (UTC); `""` means none.
//! - Unbinding an app that is not bound to the quota is 404 `APIG.3352`.
//! - `GET /apps/{app_id}/bound-quota` for an app bound to no quota answers 200 `{}`.

use super::views::{binding_info, quota_app_info, quota_info};
use super::{authz_error, ids_field};
use crate::apig::views::Precision;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::changes::{ChangedApps, ChangedQuota};
use crate::error::{not_found, ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::authz::{QuotaLimits, QuotaName, QuotaNumber, QuotaResetTime, TimeUnit};
use apigw_domain::{ApiError, AppRemark, Page};
use apigw_store::authz::{AppQuotaSpec, QuotaAppSet};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type InstancePath = PathArgs<(String, String)>;
type QuotaPath = PathArgs<(String, String, String)>;
type QuotaAppPath = PathArgs<(String, String, String, String)>;

/// Reads the body of create and replace.
fn quota_spec(body: &JsonObject) -> ApiResult<AppQuotaSpec> {
    let name = QuotaName::parse(body.req_str("name")?)?;
    let call_limits = QuotaNumber::parse(body.0.get("call_limits"), "call_limits")?;
    let time_unit = TimeUnit::parse(body.req_str("time_unit")?)?;
    let time_interval = QuotaNumber::parse(body.0.get("time_interval"), "time_interval")?;
    let reset_time = body
        .opt_str("reset_time")?
        .filter(|s| !s.is_empty())
        .map(QuotaResetTime::parse)
        .transpose()?;
    let remark = body
        .opt_str("remark")?
        .map(|r| AppRemark::parse(r, "remark"))
        .transpose()?
        .unwrap_or_else(AppRemark::empty);
    Ok(AppQuotaSpec {
        name,
        limits: QuotaLimits {
            call_limits,
            time_unit,
            time_interval,
            reset_time,
        },
        remark,
    })
}

/// `POST /app-quotas`: 201 with the new quota.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let spec = quota_spec(&body)?;
    let quota = state
        .store
        .create_app_quota(&scope, spec)
        .await
        .map_err(|e| authz_error(e, || ApiError::instance_not_found(&instance_id)))?;
    tracing::info!(app_quota_id = %quota.id, name = %quota.name, "app quota created");
    Ok((
        StatusCode::CREATED,
        Json(quota_info(&quota, Precision::Nanos)),
    ))
}

/// `GET /app-quotas/{app_quota_id}`.
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, quota_id)): QuotaPath,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let quota_id = path_id(&quota_id, "app_quota_id")?;
    let quota = state
        .store
        .get_app_quota(&scope, quota_id.as_str())
        .await?
        .ok_or_else(|| Error(ApiError::app_quota_not_found(quota_id.as_str())))?;
    Ok(Json(quota_info(&quota, Precision::Seconds)))
}

/// `GET /app-quotas?offset&limit&name`: `name` matches fuzzily; newest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let name = q.filter("name", 255)?;
    let (total, quotas) = state.store.list_app_quotas(&scope, name, page).await?;
    Ok(Json(json!({
        "total": total,
        "size": quotas.len(),
        "quotas": quotas.iter().map(|x| quota_info(x, Precision::Seconds)).collect::<Vec<_>>(),
    })))
}

/// `PUT /app-quotas/{app_quota_id}`: 200 with the replaced quota.
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, quota_id)): QuotaPath,
    body: JsonObject,
) -> ApiResult<(ChangedQuota, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let quota_id = path_id(&quota_id, "app_quota_id")?;
    let spec = quota_spec(&body)?;
    let quota = state
        .store
        .update_app_quota(&scope, quota_id.as_str(), spec)
        .await
        .map_err(|e| authz_error(e, ApiError::internal))?;
    tracing::info!(app_quota_id = %quota.id, "app quota updated");
    Ok((
        ChangedQuota(quota.id.clone()),
        Json(quota_info(&quota, Precision::Nanos)),
    ))
}

/// `DELETE /app-quotas/{app_quota_id}`: 204; the bindings go with it.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, quota_id)): QuotaPath,
) -> ApiResult<(ChangedQuota, StatusCode)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let quota_id = path_id(&quota_id, "app_quota_id")?;
    if !state
        .store
        .delete_app_quota(&scope, quota_id.as_str())
        .await?
    {
        return Err(Error(ApiError::app_quota_not_found(quota_id.as_str())));
    }
    tracing::info!(app_quota_id = %quota_id, "app quota deleted");
    Ok((
        ChangedQuota(quota_id.as_str().to_owned()),
        StatusCode::NO_CONTENT,
    ))
}

/// `POST /app-quotas/{app_quota_id}/binding-apps` with `app_ids`: 201 `{"applies": [...]}`.
pub async fn bind(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, quota_id)): QuotaPath,
    body: JsonObject,
) -> ApiResult<(StatusCode, ChangedApps, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let quota_id = path_id(&quota_id, "app_quota_id")?;
    let app_ids = ids_field(&body, "app_ids")?;
    let bindings = state
        .store
        .bind_app_quota(&scope, quota_id.as_str(), &app_ids)
        .await
        .map_err(|e| authz_error(e, ApiError::internal))?;
    tracing::info!(app_quota_id = %quota_id, apps = bindings.len(), "apps bound to app quota");
    Ok((
        StatusCode::CREATED,
        ChangedApps(app_ids.iter().map(ToString::to_string).collect()),
        Json(json!({"applies": bindings.iter().map(binding_info).collect::<Vec<_>>()})),
    ))
}

/// `DELETE /app-quotas/{app_quota_id}/bound-apps/{app_id}`: 204.
pub async fn unbind(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, quota_id, app_id)): QuotaAppPath,
) -> ApiResult<(ChangedApps, StatusCode)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let quota_id = path_id(&quota_id, "app_quota_id")?;
    let app_id = path_id(&app_id, "app_id")?;
    state
        .store
        .unbind_app_quota(&scope, quota_id.as_str(), app_id.as_str())
        .await
        .map_err(|e| authz_error(e, ApiError::internal))?;
    tracing::info!(app_quota_id = %quota_id, %app_id, "app unbound from app quota");
    Ok((ChangedApps::one(app_id.as_str()), StatusCode::NO_CONTENT))
}

async fn list_apps(
    state: AppState,
    caller: Caller,
    (project_id, instance_id, quota_id): (String, String, String),
    q: QueryMap,
    set: QuotaAppSet,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let quota_id = path_id(&quota_id, "app_quota_id")?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let app_name = q.filter("app_name", 64)?;
    let (total, apps) = state
        .store
        .list_quota_apps(&scope, quota_id.as_str(), set, app_name, page)
        .await
        .map_err(|e| authz_error(e, ApiError::internal))?;
    Ok(Json(json!({
        "total": total,
        "size": apps.len(),
        "apps": apps.iter().map(quota_app_info).collect::<Vec<_>>(),
    })))
}

/// `GET /app-quotas/{app_quota_id}/bound-apps?offset&limit&app_name`: apps bound to the quota,
/// most recently bound first.
pub async fn bound_apps(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(path): QuotaPath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    list_apps(state, caller, path, q, QuotaAppSet::Bound).await
}

/// `GET /app-quotas/{app_quota_id}/bindable-apps?offset&limit&app_name`: apps bound to no
/// quota, newest first.
pub async fn bindable_apps(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(path): QuotaPath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    list_apps(state, caller, path, q, QuotaAppSet::Bindable).await
}

/// `GET /apps/{app_id}/bound-quota`: 200 with the app's quota, or `{}` when it has none.
pub async fn app_quota(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, app_id)): QuotaPath,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let app_id = path_id(&app_id, "app_id")?;
    let quota = state
        .store
        .app_bound_quota(&scope, app_id.as_str())
        .await
        .map_err(|e| not_found(e, || ApiError::app_not_found(app_id.as_str())))?;
    Ok(Json(quota.map_or_else(
        || json!({}),
        |q| quota_info(&q, Precision::Seconds),
    )))
}
