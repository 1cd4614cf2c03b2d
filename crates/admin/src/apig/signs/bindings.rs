//! Bindings of signature keys to published APIs (`/sign-bindings`): bind, unbind, and the
//! three lists.

use super::{binding_info, bound_api_info, sign_error, unbound_api_info};
use crate::apig::authz::{ids_field, publication_filter, query_id};
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::{ApiError, Page, ResourceId};
use apigw_store::sign_keys::ApiSignFilter;
use apigw_store::throttles::BindingSide;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type InstancePath = PathArgs<(String, String)>;
type BindingPath = PathArgs<(String, String, String)>;

/// `POST /sign-bindings` with `sign_id` and `publish_ids`: 201 `{"bindings": [...]}`; the
/// next call of each API in that environment reaches its backend signed.
pub async fn bind(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let sign_id = ResourceId::parse(body.req_str("sign_id")?, "sign_id")
        .map_err(|_| Error(ApiError::invalid_body_field("sign_id")))?;
    let publish_ids = ids_field(&body, "publish_ids")?;
    let bindings = state
        .store
        .bind_sign_key(&scope, sign_id.as_str(), &publish_ids)
        .await
        .map_err(|e| sign_error(e, ApiError::internal))?;
    tracing::info!(%sign_id, apis = bindings.len(), "published APIs bound to signature key");
    Ok((
        StatusCode::CREATED,
        Json(json!({"bindings": bindings.iter().map(binding_info).collect::<Vec<_>>()})),
    ))
}

/// `DELETE /sign-bindings/{sign_bindings_id}`: 204; the next call goes unsigned.
pub async fn unbind(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, binding_id)): BindingPath,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let binding_id = path_id(&binding_id, "sign_bindings_id")?;
    if !state
        .store
        .unbind_sign_key(&scope, binding_id.as_str())
        .await?
    {
        return Err(Error(ApiError::sign_binding_not_found()));
    }
    tracing::info!(%binding_id, "signature key unbound");
    Ok(StatusCode::NO_CONTENT)
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
    let sign_id = query_id(&q, "sign_id")?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let filter = publication_filter(&q)?;
    let (key, total, apis) = state
        .store
        .list_sign_key_apis(&scope, sign_id.as_str(), side, &filter, page)
        .await
        .map_err(|e| sign_error(e, ApiError::internal))?;
    let (field, items): (&str, Vec<Value>) = match side {
        BindingSide::Bound => (
            "bindings",
            apis.iter().map(|a| bound_api_info(a, &key)).collect(),
        ),
        BindingSide::Unbound => ("apis", apis.iter().map(unbound_api_info).collect()),
    };
    Ok(Json(json!({
        "total": total,
        "size": items.len(),
        field: items,
    })))
}

/// `GET /sign-bindings/binded-apis?sign_id&env_id&group_id&api_id&api_name`: the published
/// APIs bound to the key.
pub async fn bound_apis(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(path): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    list_apis(state, caller, path, q, BindingSide::Bound).await
}

/// `GET /sign-bindings/unbinded-apis?sign_id&...`: the published APIs not bound to the key.
pub async fn unbound_apis(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(path): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    list_apis(state, caller, path, q, BindingSide::Unbound).await
}

/// `GET /sign-bindings/binded-signs?api_id&sign_id&sign_name&env_id`: the keys bound to the
/// API, one per environment at most.
pub async fn api_signs(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let api_id = query_id(&q, "api_id")?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let filter = ApiSignFilter {
        sign_id: q.filter("sign_id", 64)?.map(str::to_owned),
        sign_name: q.filter("sign_name", 255)?.map(str::to_owned),
        env_id: q.filter("env_id", 64)?.map(str::to_owned),
    };
    let (total, bindings) = state
        .store
        .list_api_sign_keys(&scope, api_id.as_str(), &filter, page)
        .await
        .map_err(|e| sign_error(e, ApiError::internal))?;
    Ok(Json(json!({
        "total": total,
        "size": bindings.len(),
        "bindings": bindings.iter().map(binding_info).collect::<Vec<_>>(),
    })))
}
