//! Excluded configurations of a request throttling policy (`throttle-specials`): one app's or
//! one user's own limit, in place of the policy's app or user limit.

use super::{special_info, throttle_error};
use crate::apig::views::Precision;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::authz::QuotaNumber;
use apigw_domain::throttle::{SpecialObjectId, SpecialObjectType};
use apigw_domain::{ApiError, Page};
use apigw_store::throttles::SpecialFilter;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type ThrottlePath = PathArgs<(String, String, String)>;
type SpecialPath = PathArgs<(String, String, String, String)>;

/// `POST /throttles/{throttle_id}/throttle-specials` with `object_type`, `object_id` and
/// `call_limits`: 201 with the exception.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, throttle_id)): ThrottlePath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let throttle_id = path_id(&throttle_id, "throttle_id")?;
    let object_type = SpecialObjectType::parse(body.req_str("object_type")?, "object_type")?;
    let object_id = SpecialObjectId::parse(body.req_str("object_id")?)?;
    let call_limits = QuotaNumber::parse(body.0.get("call_limits"), "call_limits")?;
    let special = state
        .store
        .create_throttle_special(
            &scope,
            throttle_id.as_str(),
            object_type,
            &object_id,
            call_limits.get(),
        )
        .await
        .map_err(|e| throttle_error(e, ApiError::internal))?;
    tracing::info!(%throttle_id, special_id = %special.id, object_type = object_type.as_str(), "excluded throttling configuration created");
    Ok((
        StatusCode::CREATED,
        Json(special_info(&special, Precision::Nanos)),
    ))
}

/// `PUT /throttles/{throttle_id}/throttle-specials/{strategy_id}` with `call_limits`: 200.
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, throttle_id, special_id)): SpecialPath,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let throttle_id = path_id(&throttle_id, "throttle_id")?;
    let special_id = path_id(&special_id, "strategy_id")?;
    let call_limits = QuotaNumber::parse(body.0.get("call_limits"), "call_limits")?;
    let special = state
        .store
        .update_throttle_special(
            &scope,
            throttle_id.as_str(),
            special_id.as_str(),
            call_limits.get(),
        )
        .await
        .map_err(|e| throttle_error(e, ApiError::internal))?;
    tracing::info!(%throttle_id, %special_id, "excluded throttling configuration updated");
    Ok(Json(special_info(&special, Precision::Nanos)))
}

/// `DELETE /throttles/{throttle_id}/throttle-specials/{strategy_id}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, throttle_id, special_id)): SpecialPath,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let throttle_id = path_id(&throttle_id, "throttle_id")?;
    let special_id = path_id(&special_id, "strategy_id")?;
    state
        .store
        .delete_throttle_special(&scope, throttle_id.as_str(), special_id.as_str())
        .await
        .map_err(|e| throttle_error(e, ApiError::internal))?;
    tracing::info!(%throttle_id, %special_id, "excluded throttling configuration deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /throttles/{throttle_id}/throttle-specials?offset&limit&object_type&app_name&user`:
/// newest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, throttle_id)): ThrottlePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let throttle_id = path_id(&throttle_id, "throttle_id")?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let object_type = q
        .filter("object_type", 8)?
        .map(|t| {
            SpecialObjectType::from_wire(t)
                .ok_or_else(|| Error(ApiError::invalid_param("object_type")))
        })
        .transpose()?;
    let filter = SpecialFilter {
        object_type,
        app_name: q.filter("app_name", 64)?.map(str::to_owned),
        user: q.filter("user", 64)?.map(str::to_owned),
    };
    let (total, specials) = state
        .store
        .list_throttle_specials(&scope, throttle_id.as_str(), &filter, page)
        .await
        .map_err(|e| throttle_error(e, ApiError::internal))?;
    Ok(Json(json!({
        "total": total,
        "size": specials.len(),
        "throttle_specials": specials.iter().map(|s| special_info(s, Precision::Seconds)).collect::<Vec<_>>(),
    })))
}
