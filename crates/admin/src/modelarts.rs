//! The ModelArts v1 wrapper (`/v1/{project_id}/app-auth/apps...`, spec §6.2) over the same apps
//! as APIG v2: they live in the project's `default` instance. Answers are always 200 with an
//! `{"app": ApigAppDetailInfo}` envelope, times in epoch milliseconds, AppCodes by value.

use crate::apig::app_codes;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::changes::ChangedApps;
use crate::error::{not_found, ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::generate::{new_app_code, new_app_key, new_app_secret};
use apigw_domain::{ApiError, AppCodeValue, AppName, AppRemark, Page};
use apigw_store::{App, AppFilter, AppLimits, AppOrder, AppSortField, NewApp, Scope};

/// ModelArts lets one user create at most five apps (spec §6.2); `APIG.3103` beyond.
const MAX_APPS_PER_USER: u32 = 5;
use axum::extract::State;
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

/// ModelArts routes.
pub fn routes() -> Router<AppState> {
    let base = "/v1/{project_id}/app-auth/apps";
    Router::new()
        .route(base, get(list).post(create))
        .route(&format!("{base}/{{app_id}}"), get(show).delete(delete))
        .route(&format!("{base}/{{app_id}}/app-code"), post(add_code))
        .route(
            &format!("{base}/{{app_id}}/app-code/{{app_code}}"),
            put(reset_code).delete(delete_code),
        )
        .route(&format!("{base}/{{app_id}}/app-secret"), put(reset_secret))
}

type AppPath = PathArgs<(String, String)>;
type CodePath = PathArgs<(String, String, String)>;

/// `ApigAppDetailInfo`, with the app's AppCode values.
async fn detail(state: &AppState, scope: &Scope, app: &App, show_secret: bool) -> ApiResult<Value> {
    let page = Page {
        offset: 0,
        limit: i64::from(state.config.max_app_codes_per_app),
    };
    let (_, codes) = state.store.list_app_codes(scope, &app.id, page).await?;
    Ok(json!({
        "app_id": app.id,
        "app_name": app.name.as_str(),
        "app_remark": app.remark.as_str(),
        "app_key": app.app_key.as_str(),
        "app_secret": if show_secret { app.app_secret.as_str().to_owned() } else { app.app_secret.masked() },
        "app_codes": codes.iter().map(|c| c.value.as_str()).collect::<Vec<_>>(),
        "app_type": "APIG",
        "bounded_api_count": app.bind_num,
        "created_at": app.register_time.millis(),
        "updated_at": app.update_time.millis(),
        "project_id": scope.project_id,
        "user_id": app.created_by,
    }))
}

async fn envelope(state: &AppState, scope: &Scope, app: &App) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "app": detail(state, scope, app, true).await? }),
    ))
}

/// The envelope of a write answer, naming the app it changed for the data plane.
async fn changed(
    state: &AppState,
    scope: &Scope,
    app: &App,
) -> ApiResult<(ChangedApps, Json<Value>)> {
    Ok((
        ChangedApps::one(&app.id),
        envelope(state, scope, app).await?,
    ))
}

async fn app_in(state: &AppState, scope: &Scope, app_id: &str) -> ApiResult<App> {
    let app_id = path_id(app_id, "app_id")?;
    state
        .store
        .get_app(scope, app_id.as_str())
        .await?
        .ok_or_else(|| Error(ApiError::app_not_found(app_id.as_str())))
}

/// `POST /v1/{project_id}/app-auth/apps` with `app_name`, `app_remark`, `workspace_id`; at most
/// five apps per user.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(project_id): PathArgs<String>,
    body: JsonObject,
) -> ApiResult<(ChangedApps, Json<Value>)> {
    let scope = scope::default_instance_scope(&state, &caller, &project_id, Access::Write).await?;
    let name = AppName::parse(body.req_str("app_name")?, "app_name")?;
    let remark = match body.opt_str("app_remark")? {
        Some(r) => AppRemark::parse(r, "app_remark")?,
        None => AppRemark::empty(),
    };
    body.opt_str("workspace_id")?;
    let app = state
        .store
        .create_app(
            &scope,
            NewApp {
                name,
                remark,
                app_key: new_app_key(),
                app_secret: new_app_secret(),
                created_by: caller.user_id.clone(),
            },
            AppLimits {
                per_instance: state.config.max_apps_per_instance,
                per_creator: Some(MAX_APPS_PER_USER),
            },
        )
        .await
        .map_err(|e| not_found(e, || ApiError::instance_not_found("default")))?;
    tracing::info!(app_id = %app.id, name = %app.name, "app created (ModelArts)");
    changed(&state, &scope, &app).await
}

/// `GET /v1/{project_id}/app-auth/apps`: the caller's own apps, `{"apps","count","total_count"}`.
/// Secrets are masked unless `ciphertext_enabled=true` (optionally only for `app_ids`).
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(project_id): PathArgs<String>,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope = scope::default_instance_scope(&state, &caller, &project_id, Access::Read).await?;
    let page = Page::parse_with(q.get("offset"), q.get("limit"), 1000, 1000)?;
    let field = match q.filter("sort_by", 16)? {
        None | Some("app_name") | Some("name") => AppSortField::Name,
        Some("created_at") => AppSortField::Created,
        Some("updated_at") => AppSortField::Updated,
        Some(_) => return Err(Error(ApiError::invalid_param("sort_by"))),
    };
    let descending = match q.filter("order", 4)? {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(Error(ApiError::invalid_param("order"))),
    };
    let plain_flag = q
        .filter("ciphertext_enabled", 5)?
        .or(q.filter("iphertext_enabled", 5)?);
    let show_plain = match plain_flag {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(Error(ApiError::invalid_param("ciphertext_enabled"))),
    };
    let plain_ids: Option<Vec<&str>> = q
        .filter("app_ids", 4096)?
        .map(|s| s.split(',').map(str::trim).collect());
    let filter = AppFilter {
        name: q.filter("app_name", 64)?.map(str::to_owned),
        created_by: Some(caller.user_id.clone()),
        order: AppOrder { field, descending },
        ..AppFilter::default()
    };
    let (total, apps) = state.store.list_apps(&scope, &filter, page).await?;
    let mut items = Vec::with_capacity(apps.len());
    for app in &apps {
        let plain = show_plain
            && plain_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&app.id.as_str()));
        items.push(detail(&state, &scope, app, plain).await?);
    }
    Ok(Json(
        json!({"apps": items, "count": apps.len(), "total_count": total}),
    ))
}

/// `GET /v1/{project_id}/app-auth/apps/{app_id}`.
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, app_id)): AppPath,
) -> ApiResult<Json<Value>> {
    let scope = scope::default_instance_scope(&state, &caller, &project_id, Access::Read).await?;
    let app = app_in(&state, &scope, &app_id).await?;
    envelope(&state, &scope, &app).await
}

/// `DELETE /v1/{project_id}/app-auth/apps/{app_id}`: 200 with the app as it was.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, app_id)): AppPath,
) -> ApiResult<(ChangedApps, Json<Value>)> {
    let scope = scope::default_instance_scope(&state, &caller, &project_id, Access::Write).await?;
    let app = app_in(&state, &scope, &app_id).await?;
    let before = envelope(&state, &scope, &app).await?;
    if !state.store.delete_app(&scope, &app.id).await? {
        return Err(Error(ApiError::app_not_found(&app.id)));
    }
    tracing::info!(app_id = %app.id, "app deleted (ModelArts)");
    Ok((ChangedApps::one(&app.id), before))
}

/// `POST .../apps/{app_id}/app-code`: adds a generated AppCode.
pub async fn add_code(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, app_id)): AppPath,
    body: JsonObject,
) -> ApiResult<(ChangedApps, Json<Value>)> {
    drop(body);
    let scope = scope::default_instance_scope(&state, &caller, &project_id, Access::Write).await?;
    let app = app_in(&state, &scope, &app_id).await?;
    app_codes::add_generated(&state, &scope, &app.id).await?;
    let app = app_in(&state, &scope, &app.id).await?;
    changed(&state, &scope, &app).await
}

/// Finds the AppCode addressed by value in the path (`APIG.3082` when the app has none such).
async fn code_by_value(
    state: &AppState,
    caller: &Caller,
    (project_id, app_id, value): (String, String, String),
) -> ApiResult<(Scope, App, apigw_store::AppCode)> {
    let scope = scope::default_instance_scope(state, caller, &project_id, Access::Write).await?;
    let app = app_in(state, &scope, &app_id).await?;
    let value = AppCodeValue::parse_path(&value)?;
    let code = state
        .store
        .find_app_code_by_value(&scope, &app.id, &value)
        .await?
        .ok_or_else(|| Error(ApiError::app_code_not_found()))?;
    Ok((scope, app, code))
}

/// `PUT .../apps/{app_id}/app-code/{app_code}`: that AppCode gets a new random value.
pub async fn reset_code(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(path): CodePath,
    body: JsonObject,
) -> ApiResult<(ChangedApps, Json<Value>)> {
    drop(body);
    let (scope, app, code) = code_by_value(&state, &caller, path).await?;
    state
        .store
        .replace_app_code_value(&scope, &app.id, &code.id, new_app_code())
        .await
        .map_err(|e| not_found(e, ApiError::app_code_not_found))?;
    tracing::info!(app_id = %app.id, app_code_id = %code.id, "AppCode reset (ModelArts)");
    let app = app_in(&state, &scope, &app.id).await?;
    changed(&state, &scope, &app).await
}

/// `DELETE .../apps/{app_id}/app-code/{app_code}`: 200 with the app.
pub async fn delete_code(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(path): CodePath,
) -> ApiResult<(ChangedApps, Json<Value>)> {
    let (scope, app, code) = code_by_value(&state, &caller, path).await?;
    if !state
        .store
        .delete_app_code(&scope, &app.id, &code.id)
        .await?
    {
        return Err(Error(ApiError::app_code_not_found()));
    }
    tracing::info!(app_id = %app.id, app_code_id = %code.id, "AppCode deleted (ModelArts)");
    let app = app_in(&state, &scope, &app.id).await?;
    changed(&state, &scope, &app).await
}

/// `PUT .../apps/{app_id}/app-secret`: a new random AppSecret.
pub async fn reset_secret(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, app_id)): AppPath,
    body: JsonObject,
) -> ApiResult<(ChangedApps, Json<Value>)> {
    drop(body);
    let scope = scope::default_instance_scope(&state, &caller, &project_id, Access::Write).await?;
    let app = app_in(&state, &scope, &app_id).await?;
    let app = state
        .store
        .reset_app_secret(&scope, &app.id, new_app_secret())
        .await
        .map_err(|e| not_found(e, || ApiError::app_not_found(&app_id)))?;
    tracing::info!(app_id = %app.id, "app secret reset (ModelArts)");
    changed(&state, &scope, &app).await
}
