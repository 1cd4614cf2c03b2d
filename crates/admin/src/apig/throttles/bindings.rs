//! Bindings of request throttling policies to published APIs (`/throttle-bindings`): bind,
//! unbind one or many, and the three lists (APIs bound to a policy, published APIs not bound
//! to it, policies bound to an API).

use super::{api_outline_info, api_throttle_info, binding_info, throttle_error};
use crate::apig::authz::{
    delete_action_ids, ids_field, publication_filter, query_id, unbind_answer,
};
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::{ApiError, Page, ResourceId};
use apigw_store::throttles::{ApiThrottleFilter, BindingSide};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type InstancePath = PathArgs<(String, String)>;
type BindingPath = PathArgs<(String, String, String)>;

/// `POST /throttle-bindings` with `strategy_id` and `publish_ids`: 201
/// `{"throttle_applys": [...]}`.
pub async fn bind(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let throttle_id = ResourceId::parse(body.req_str("strategy_id")?, "strategy_id")
        .map_err(|_| Error(ApiError::invalid_body_field("strategy_id")))?;
    let publish_ids = ids_field(&body, "publish_ids")?;
    let bindings = state
        .store
        .bind_throttle(&scope, throttle_id.as_str(), &publish_ids)
        .await
        .map_err(|e| throttle_error(e, ApiError::internal))?;
    tracing::info!(throttle_id = %throttle_id, apis = bindings.len(), "published APIs bound to request throttling policy");
    Ok((
        StatusCode::CREATED,
        Json(json!({"throttle_applys": bindings.iter().map(binding_info).collect::<Vec<_>>()})),
    ))
}

/// `DELETE /throttle-bindings/{throttle_binding_id}`: 204.
pub async fn unbind(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, binding_id)): BindingPath,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let binding_id = path_id(&binding_id, "throttle_binding_id")?;
    let one = [binding_id.as_str().to_owned()];
    let (removed, _) = state.store.unbind_throttles(&scope, &one).await?;
    if removed == 0 {
        return Err(Error(ApiError::throttle_binding_not_found()));
    }
    tracing::info!(binding_id = %binding_id, "request throttling policy unbound");
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /throttle-bindings?action=delete` with `throttle_bindings`: 200 with the number
/// removed and a failure item for each id that was not there (each id on its own, as in APIG).
pub async fn unbind_many(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let ids = delete_action_ids(&q, &body, "throttle_bindings")?;
    let (removed, failures) = state.store.unbind_throttles(&scope, &ids).await?;
    tracing::info!(
        removed,
        failed = failures.len(),
        "request throttling policies unbound"
    );
    let missing = ApiError::throttle_binding_not_found();
    Ok(Json(unbind_answer(removed, &failures, &missing)))
}

async fn list_apis(
    state: AppState,
    caller: Caller,
    (project_id, instance_id): (String, String),
    q: QueryMap,
    side: BindingSide,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let throttle_id = query_id(&q, "throttle_id")?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let filter = publication_filter(&q)?;
    let (total, apis) = state
        .store
        .list_throttle_apis(&scope, throttle_id.as_str(), side, &filter, page)
        .await
        .map_err(|e| throttle_error(e, ApiError::internal))?;
    Ok(Json(json!({
        "total": total,
        "size": apis.len(),
        "apis": apis.iter().map(api_outline_info).collect::<Vec<_>>(),
    })))
}

/// `GET /throttle-bindings/binded-apis?throttle_id&env_id&group_id&api_id&api_name`: the
/// published APIs bound to the policy, most recently published first.
pub async fn bound_apis(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(path): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    list_apis(state, caller, path, q, BindingSide::Bound).await
}

/// `GET /throttle-bindings/unbinded-apis?throttle_id&...`: the published APIs not bound to
/// the policy (bound to another one, or to none).
pub async fn unbound_apis(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(path): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    list_apis(state, caller, path, q, BindingSide::Unbound).await
}

/// `GET /throttle-bindings/binded-throttles?api_id&throttle_id&throttle_name&env_id`: the
/// policies bound to the API, one per environment at most.
pub async fn api_throttles(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let api_id = query_id(&q, "api_id")?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let filter = ApiThrottleFilter {
        throttle_id: q.filter("throttle_id", 64)?.map(str::to_owned),
        throttle_name: q.filter("throttle_name", 255)?.map(str::to_owned),
        env_id: q.filter("env_id", 64)?.map(str::to_owned),
    };
    let (total, throttles) = state
        .store
        .list_api_throttles(&scope, api_id.as_str(), &filter, page)
        .await
        .map_err(|e| throttle_error(e, ApiError::internal))?;
    Ok(Json(json!({
        "total": total,
        "size": throttles.len(),
        "throttles": throttles.iter().map(api_throttle_info).collect::<Vec<_>>(),
    })))
}
