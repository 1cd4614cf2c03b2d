//! Apps (credentials), spec §1: create, update, delete, get, list, reset AppSecret, verify and
//! the app quantities of an instance.

use super::views::{app_info, Precision};
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::changes::ChangedApps;
use crate::error::{not_found, ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::generate::{new_app_key, new_app_secret};
use apigw_domain::{ApiError, AppKey, AppName, AppRemark, AppSecret, Page};
use apigw_store::{AppChange, AppFilter, AppLimits, NewApp};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type InstancePath = PathArgs<(String, String)>;
type AppPath = PathArgs<(String, String, String)>;

/// Reads an optional credential field: absent or `""` means "generate".
fn given<'a>(body: &'a JsonObject, field: &str) -> ApiResult<Option<&'a str>> {
    Ok(body.opt_str(field)?.filter(|s| !s.is_empty()))
}

fn remark(body: &JsonObject) -> ApiResult<Option<AppRemark>> {
    body.opt_str("remark")?
        .map(|r| AppRemark::parse(r, "remark"))
        .transpose()
        .map_err(Error)
}

/// `POST /apps`: 201 with the new app, key and secret generated unless given.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    body: JsonObject,
) -> ApiResult<(StatusCode, ChangedApps, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let name = AppName::parse(body.req_str("name")?, "name")?;
    let remark = remark(&body)?.unwrap_or_else(AppRemark::empty);
    let app_key = match given(&body, "app_key")? {
        Some(k) => AppKey::parse(k)?,
        None => new_app_key(),
    };
    let app_secret = match given(&body, "app_secret")? {
        Some(s) => AppSecret::parse(s)?,
        None => new_app_secret(),
    };
    let app = state
        .store
        .create_app(
            &scope,
            NewApp {
                name,
                remark,
                app_key,
                app_secret,
                created_by: caller.user_id.clone(),
            },
            AppLimits {
                per_instance: state.config.max_apps_per_instance,
                per_creator: None,
            },
        )
        .await
        .map_err(|e| not_found(e, || ApiError::instance_not_found(&instance_id)))?;
    tracing::info!(app_id = %app.id, name = %app.name, app_key = %app.app_key, "app created");
    Ok((
        StatusCode::CREATED,
        ChangedApps::one(&app.id),
        Json(app_info(&app, Precision::Nanos, false, false)),
    ))
}

/// `PUT /apps/{app_id}`: 200 with the changed app. `name` is mandatory in Huawei's reference,
/// but otcextensions sends only the changed fields, so an absent name keeps the current one.
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, app_id)): AppPath,
    body: JsonObject,
) -> ApiResult<(ChangedApps, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let app_id = path_id(&app_id, "app_id")?;
    let change = AppChange {
        name: body
            .opt_str("name")?
            .map(|n| AppName::parse(n, "name"))
            .transpose()?,
        remark: remark(&body)?,
        app_key: given(&body, "app_key")?.map(AppKey::parse).transpose()?,
        app_secret: given(&body, "app_secret")?
            .map(AppSecret::parse)
            .transpose()?,
    };
    let app = state
        .store
        .update_app(&scope, app_id.as_str(), change)
        .await
        .map_err(|e| not_found(e, || ApiError::app_not_found(app_id.as_str())))?;
    tracing::info!(app_id = %app.id, "app updated");
    Ok((
        ChangedApps::one(&app.id),
        Json(app_info(&app, Precision::Nanos, false, false)),
    ))
}

/// `DELETE /apps/{app_id}`: 204; its AppCodes and authorizations go with it.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, app_id)): AppPath,
) -> ApiResult<(ChangedApps, StatusCode)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let app_id = path_id(&app_id, "app_id")?;
    if !state.store.delete_app(&scope, app_id.as_str()).await? {
        return Err(Error(ApiError::app_not_found(app_id.as_str())));
    }
    tracing::info!(app_id = %app_id, "app deleted");
    Ok((ChangedApps::one(app_id.as_str()), StatusCode::NO_CONTENT))
}

/// `GET /apps/{app_id}`.
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, app_id)): AppPath,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let app_id = path_id(&app_id, "app_id")?;
    let app = state
        .store
        .get_app(&scope, app_id.as_str())
        .await?
        .ok_or_else(|| Error(ApiError::app_not_found(app_id.as_str())))?;
    Ok(Json(app_info(&app, Precision::Seconds, false, false)))
}

/// `GET /apps`: filters `id`, `name` (fuzzy unless `precise_search=name`), `status`, `app_key`,
/// `creator`; newest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let status = q
        .filter("status", 11)?
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| Error(ApiError::invalid_param("status")))
        })
        .transpose()?;
    let creator = q.filter("creator", 16)?;
    if creator.is_some_and(|c| c != "USER" && c != "MARKET") {
        return Err(Error(ApiError::invalid_param("creator")));
    }
    let precise = q.filter("precise_search", 255)?.unwrap_or_default();
    let filter = AppFilter {
        id: q.filter("id", 64)?.map(str::to_owned),
        name: q.filter("name", 64)?.map(str::to_owned),
        name_exact: precise.split(',').any(|p| p.trim() == "name"),
        status,
        app_key: q.filter("app_key", 200)?.map(str::to_owned),
        creator: creator.map(str::to_owned),
        ..AppFilter::default()
    };
    let (total, apps) = state.store.list_apps(&scope, &filter, page).await?;
    let mask = state.config.mask_secret_in_list;
    Ok(Json(json!({
        "total": total,
        "size": apps.len(),
        "apps": apps.iter().map(|a| app_info(a, Precision::Seconds, mask, true)).collect::<Vec<_>>(),
    })))
}

/// `PUT /apps/secret/{app_id}`: a new random AppSecret, or the one given.
pub async fn reset_secret(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, app_id)): AppPath,
    body: JsonObject,
) -> ApiResult<(ChangedApps, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let app_id = path_id(&app_id, "app_id")?;
    let secret = match given(&body, "app_secret")? {
        Some(s) => AppSecret::parse(s)?,
        None => new_app_secret(),
    };
    let app = state
        .store
        .reset_app_secret(&scope, app_id.as_str(), secret)
        .await
        .map_err(|e| not_found(e, || ApiError::app_not_found(app_id.as_str())))?;
    tracing::info!(app_id = %app.id, "app secret reset");
    Ok((
        ChangedApps::one(&app.id),
        Json(app_info(&app, Precision::Nanos, false, false)),
    ))
}

/// `GET /apps/validation/{app_id}`: only `id`, `name` and `remark`.
pub async fn verify(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, app_id)): AppPath,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let app_id = path_id(&app_id, "app_id")?;
    let app = state
        .store
        .get_app(&scope, app_id.as_str())
        .await?
        .ok_or_else(|| Error(ApiError::app_not_found(app_id.as_str())))?;
    Ok(Json(
        json!({"id": app.id, "name": app.name.as_str(), "remark": app.remark.as_str()}),
    ))
}

/// `GET /resources/outline/apps`: apps with and without API authorizations.
pub async fn quantities(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let q = state.store.app_quantities(&scope).await?;
    Ok(Json(
        json!({"authed_nums": q.authed, "unauthed_nums": q.unauthed}),
    ))
}
