//! Gateway features of an instance (APIG "instance features"): configure one, list the
//! configured ones, list the ones apigw implements. A configured feature changes what the
//! instance's data plane accepts (see `apigw_domain::feature`), so a write is followed by the
//! instance's reload before its answer, like every write of the instance.

use super::views::feature_info;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{not_found, ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, Access};
use crate::AppState;
use apigw_domain::{ApiError, FeatureName, FeatureSetting, Page};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

/// `POST /v2/{project_id}/apigw/instances/{instance_id}/features`: 201 with the feature,
/// whether it was configured before or not.
pub async fn configure(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): PathArgs<(String, String)>,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let name = body.req_str("name")?;
    let enable = body
        .opt_bool("enable")?
        .ok_or_else(|| Error(ApiError::invalid_body_field("enable")))?;
    // APIG documents `config` as text, but writes an object feature's config as the object
    // itself in its own example (`"config": {"enable": "on", "xff_index": -1}`): both are taken.
    let config = match body.opt_object("config") {
        Ok(Some(object)) => Some(Value::Object(object.0).to_string()),
        _ => body.opt_str("config")?.map(str::to_owned),
    };
    let setting = FeatureSetting::parse(name, enable, config.as_deref())?;
    let feature = state
        .store
        .set_feature(&scope, setting)
        .await
        .map_err(|e| not_found(e, || ApiError::instance_not_found(&instance_id)))?;
    tracing::info!(
        instance_id = %scope.instance_id,
        feature = %feature.setting.name(),
        enable = feature.setting.enable(),
        config = %feature.setting.config(),
        "instance feature configured"
    );
    Ok((StatusCode::CREATED, Json(feature_info(&feature))))
}

/// `GET .../features`: the instance's configured features.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): PathArgs<(String, String)>,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let (total, items) = state
        .store
        .list_features(&scope, page)
        .await
        .map_err(|e| not_found(e, || ApiError::instance_not_found(&instance_id)))?;
    Ok(Json(json!({
        "total": total,
        "size": items.len(),
        "features": items.iter().map(feature_info).collect::<Vec<_>>(),
    })))
}

/// `GET .../instance-features`: the names of the features apigw implements (each can be
/// configured on every instance).
pub async fn supported(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): PathArgs<(String, String)>,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    scope::instance(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let names: Vec<&str> = page
        .of(&FeatureName::ALL)
        .iter()
        .map(|f| f.as_str())
        .collect();
    Ok(Json(json!({
        "total": FeatureName::ALL.len(),
        "size": names.len(),
        "features": names,
    })))
}
