//! Bindings of access control policies to published APIs (`/acl-bindings`): bind, unbind
//! one or many, and the three lists.

use super::{acl_error, api_acl_info, binding_info, bound_api_info, unbound_api_info};
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
use apigw_store::acl_policies::ApiAclFilter;
use apigw_store::throttles::BindingSide;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type InstancePath = PathArgs<(String, String)>;
type BindingPath = PathArgs<(String, String, String)>;

/// `POST /acl-bindings` with `acl_id` and `publish_ids`: 201 `{"acl_bindings": [...]}`.
pub async fn bind(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let acl_id = ResourceId::parse(body.req_str("acl_id")?, "acl_id")
        .map_err(|_| Error(ApiError::invalid_body_field("acl_id")))?;
    let publish_ids = ids_field(&body, "publish_ids")?;
    let bindings = state
        .store
        .bind_acl_policy(&scope, acl_id.as_str(), &publish_ids)
        .await
        .map_err(|e| acl_error(e, ApiError::internal))?;
    tracing::info!(%acl_id, apis = bindings.len(), "published APIs bound to access control policy");
    Ok((
        StatusCode::CREATED,
        Json(json!({"acl_bindings": bindings.iter().map(binding_info).collect::<Vec<_>>()})),
    ))
}

/// `DELETE /acl-bindings/{acl_bindings_id}`: 204.
pub async fn unbind(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, binding_id)): BindingPath,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let binding_id = path_id(&binding_id, "acl_bindings_id")?;
    let (removed, _) = state
        .store
        .unbind_acl_policies(
            &scope,
            std::slice::from_ref(&binding_id.as_str().to_owned()),
        )
        .await?;
    if removed == 0 {
        return Err(Error(ApiError::acl_binding_not_found()));
    }
    tracing::info!(%binding_id, "access control policy unbound");
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /acl-bindings?action=delete` with `acl_bindings`: 200 with the number removed and a
/// failure item for each id that was not there.
pub async fn unbind_many(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let ids = delete_action_ids(&q, &body, "acl_bindings")?;
    let (removed, failures) = state.store.unbind_acl_policies(&scope, &ids).await?;
    tracing::info!(
        removed,
        failed = failures.len(),
        "access control policies unbound"
    );
    let missing = ApiError::acl_binding_not_found();
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
    let acl_id = query_id(&q, "acl_id")?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let filter = publication_filter(&q)?;
    let (total, apis) = state
        .store
        .list_acl_policy_apis(&scope, acl_id.as_str(), side, &filter, page)
        .await
        .map_err(|e| acl_error(e, ApiError::internal))?;
    let view = match side {
        BindingSide::Bound => bound_api_info,
        BindingSide::Unbound => unbound_api_info,
    };
    Ok(Json(json!({
        "total": total,
        "size": apis.len(),
        "apis": apis.iter().map(view).collect::<Vec<_>>(),
    })))
}

/// `GET /acl-bindings/binded-apis?acl_id&env_id&group_id&api_id&api_name`: the published
/// APIs bound to the policy.
pub async fn bound_apis(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(path): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    list_apis(state, caller, path, q, BindingSide::Bound).await
}

/// `GET /acl-bindings/unbinded-apis?acl_id&...`: the published APIs not bound to the policy.
pub async fn unbound_apis(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs(path): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    list_apis(state, caller, path, q, BindingSide::Unbound).await
}

/// `GET /acl-bindings/binded-acls?api_id&acl_id&acl_name&env_id`: the policies bound to the
/// API, one per environment at most.
pub async fn api_acls(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let api_id = query_id(&q, "api_id")?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let filter = ApiAclFilter {
        acl_id: q.filter("acl_id", 64)?.map(str::to_owned),
        acl_name: q.filter("acl_name", 255)?.map(str::to_owned),
        env_id: q.filter("env_id", 64)?.map(str::to_owned),
    };
    let (total, acls) = state
        .store
        .list_api_acl_policies(&scope, api_id.as_str(), &filter, page)
        .await
        .map_err(|e| acl_error(e, ApiError::internal))?;
    Ok(Json(json!({
        "total": total,
        "size": acls.len(),
        "acls": acls.iter().map(api_acl_info).collect::<Vec<_>>(),
    })))
}
