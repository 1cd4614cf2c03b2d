//! AppCodes, spec §2: create with a value, generate a random one, list, get, delete. Mounted
//! under both the APIG (`apigw`) and ROMA Connect (`apic`) prefixes, over the same data.

use super::views::{app_code_info, Precision};
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::changes::ChangedApps;
use crate::error::{not_found, ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::generate::new_app_code;
use apigw_domain::{ApiError, AppCodeValue, Page, ResourceId};
use apigw_store::{AppCode, Scope, StoreError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type AppPath = PathArgs<(String, String, String)>;
type CodePath = PathArgs<(String, String, String, String)>;

/// Adds `value` to the app, mapping a missing app to `APIG.3004`.
pub async fn add(
    state: &AppState,
    scope: &Scope,
    app_id: &str,
    value: AppCodeValue,
) -> ApiResult<AppCode> {
    let code = state
        .store
        .create_app_code(scope, app_id, value, state.config.max_app_codes_per_app)
        .await
        .map_err(|e| not_found(e, || ApiError::app_not_found(app_id)))?;
    tracing::info!(%app_id, app_code_id = %code.id, "AppCode added");
    Ok(code)
}

/// Adds a freshly generated AppCode (a second draw in the astronomically unlikely collision).
pub async fn add_generated(state: &AppState, scope: &Scope, app_id: &str) -> ApiResult<AppCode> {
    match add(state, scope, app_id, new_app_code()).await {
        Err(Error(e)) if e.code == ApiError::app_code_exists().code => {
            add(state, scope, app_id, new_app_code()).await
        }
        other => other,
    }
}

/// `POST .../apps/{app_id}/app-codes` with `{"app_code": "<value>"}`: 201.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, app_id)): AppPath,
    body: JsonObject,
) -> ApiResult<(StatusCode, ChangedApps, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let app_id = path_id(&app_id, "app_id")?;
    let value = AppCodeValue::parse(body.req_str("app_code")?)?;
    let code = add(&state, &scope, app_id.as_str(), value).await?;
    Ok((
        StatusCode::CREATED,
        ChangedApps::one(app_id.as_str()),
        Json(app_code_info(&code, Precision::Nanos)),
    ))
}

/// `PUT .../apps/{app_id}/app-codes`: generates a 64-hex AppCode; 201.
pub async fn generate(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, app_id)): AppPath,
) -> ApiResult<(StatusCode, ChangedApps, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let app_id = path_id(&app_id, "app_id")?;
    let code = add_generated(&state, &scope, app_id.as_str()).await?;
    Ok((
        StatusCode::CREATED,
        ChangedApps::one(app_id.as_str()),
        Json(app_code_info(&code, Precision::Nanos)),
    ))
}

/// `GET .../apps/{app_id}/app-codes`: newest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, app_id)): AppPath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let app_id = path_id(&app_id, "app_id")?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let (total, codes) = state
        .store
        .list_app_codes(&scope, app_id.as_str(), page)
        .await
        .map_err(|e| not_found(e, || ApiError::app_not_found(app_id.as_str())))?;
    Ok(Json(json!({
        "total": total,
        "size": codes.len(),
        "app_codes": codes.iter().map(|c| app_code_info(c, Precision::Seconds)).collect::<Vec<_>>(),
    })))
}

/// Resolves the path of one AppCode: a missing app is `APIG.3004`, then the code id is checked.
async fn code_path(
    state: &AppState,
    caller: &Caller,
    (project_id, instance_id, app_id, code_id): (String, String, String, String),
    access: Access,
) -> ApiResult<(Scope, ResourceId, ResourceId)> {
    let scope = scope::instance_scope(state, caller, &project_id, &instance_id, access).await?;
    let app_id = path_id(&app_id, "app_id")?;
    let code_id = path_id(&code_id, "app_code_id")?;
    if state
        .store
        .get_app(&scope, app_id.as_str())
        .await?
        .is_none()
    {
        return Err(Error(ApiError::app_not_found(app_id.as_str())));
    }
    Ok((scope, app_id, code_id))
}

/// `GET .../apps/{app_id}/app-codes/{app_code_id}`: 200 (DESIGN; clients accept 200 and 201).
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(path): CodePath,
) -> ApiResult<Json<Value>> {
    let (scope, app_id, code_id) = code_path(&state, &caller, path, Access::Read).await?;
    let code = state
        .store
        .get_app_code(&scope, app_id.as_str(), code_id.as_str())
        .await?
        .ok_or_else(|| Error(ApiError::app_code_not_found()))?;
    Ok(Json(app_code_info(&code, Precision::Seconds)))
}

/// `DELETE .../apps/{app_id}/app-codes/{app_code_id}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(path): CodePath,
) -> ApiResult<(ChangedApps, StatusCode)> {
    let (scope, app_id, code_id) = code_path(&state, &caller, path, Access::Write).await?;
    let deleted = state
        .store
        .delete_app_code(&scope, app_id.as_str(), code_id.as_str())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => Error(ApiError::app_code_not_found()),
            other => other.into(),
        })?;
    if !deleted {
        return Err(Error(ApiError::app_code_not_found()));
    }
    tracing::info!(app_id = %app_id, app_code_id = %code_id, "AppCode deleted");
    Ok((ChangedApps::one(app_id.as_str()), StatusCode::NO_CONTENT))
}
