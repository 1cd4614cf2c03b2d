//! Access control policies: create, get, list, replace, delete one or many (`/acls`).

use super::{acl_error, policy_info};
use crate::apig::authz::delete_action_ids;
use crate::apig::views::Precision;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::acl_policy::AclPolicySpec;
use apigw_domain::authz::AclType;
use apigw_domain::{ApiError, Page};
use apigw_store::acl_policies::AclPolicyFilter;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type InstancePath = PathArgs<(String, String)>;
type PolicyPath = PathArgs<(String, String, String)>;

/// `POST /acls`: 201 with the new policy.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let spec = AclPolicySpec::parse(|field| body.0.get(field))?;
    let policy = state
        .store
        .create_acl_policy(&scope, spec)
        .await
        .map_err(|e| acl_error(e, || ApiError::instance_not_found(&instance_id)))?;
    tracing::info!(acl_id = %policy.id, name = %policy.spec.name, "access control policy created");
    Ok((
        StatusCode::CREATED,
        Json(policy_info(&policy, Precision::Nanos)),
    ))
}

/// `GET /acls/{acl_id}`.
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, acl_id)): PolicyPath,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let acl_id = path_id(&acl_id, "acl_id")?;
    let policy = state
        .store
        .get_acl_policy(&scope, acl_id.as_str())
        .await?
        .ok_or_else(|| Error(ApiError::acl_policy_not_found(acl_id.as_str())))?;
    Ok(Json(policy_info(&policy, Precision::Seconds)))
}

/// `GET /acls?offset&limit&id&name&acl_type&entity_type&precise_search`: most recently
/// changed first; `name` matches a substring unless `precise_search` names it.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let acl_type = q
        .filter("acl_type", 8)?
        .map(|t| AclType::from_wire(t).ok_or_else(|| Error(ApiError::invalid_param("acl_type"))))
        .transpose()?;
    let filter = AclPolicyFilter {
        id: q.filter("id", 64)?.map(str::to_owned),
        name: q.filter("name", 255)?.map(str::to_owned),
        name_exact: crate::apig::apis::precise(&q, "name")?,
        acl_type,
    };
    // Only IP policies exist: another restriction type lists nothing.
    let (total, policies) = match q.filter("entity_type", 16)? {
        Some(t) if t != "IP" => (0, Vec::new()),
        _ => state.store.list_acl_policies(&scope, &filter, page).await?,
    };
    Ok(Json(json!({
        "total": total,
        "size": policies.len(),
        "acls": policies.iter().map(|p| {
            let mut v = policy_info(p, Precision::Seconds);
            v["bind_num"] = json!(p.bind_num);
            v
        }).collect::<Vec<_>>(),
    })))
}

/// `PUT /acls/{acl_id}`: 200 with the replaced policy; the APIs bound to it apply the new
/// list from the next call.
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, acl_id)): PolicyPath,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let acl_id = path_id(&acl_id, "acl_id")?;
    let spec = AclPolicySpec::parse(|field| body.0.get(field))?;
    let policy = state
        .store
        .update_acl_policy(&scope, acl_id.as_str(), spec)
        .await
        .map_err(|e| acl_error(e, || ApiError::acl_policy_not_found(acl_id.as_str())))?;
    tracing::info!(acl_id = %policy.id, "access control policy updated");
    Ok(Json(policy_info(&policy, Precision::Nanos)))
}

/// `DELETE /acls/{acl_id}`: 204, unless the policy is still bound (400 `APIG.3447`).
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, acl_id)): PolicyPath,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let acl_id = path_id(&acl_id, "acl_id")?;
    state
        .store
        .delete_acl_policy(&scope, acl_id.as_str())
        .await
        .map_err(|e| acl_error(e, ApiError::internal))?;
    tracing::info!(%acl_id, "access control policy deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /acls?action=delete` with `acls`: 200 with the number deleted and a failure item for
/// each id not deleted (still bound, or not there).
pub async fn delete_many(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let ids = delete_action_ids(&q, &body, "acls")?;
    let (removed, failures) = state.store.delete_acl_policies(&scope, &ids).await?;
    tracing::info!(
        removed,
        failed = failures.len(),
        "access control policies deleted"
    );
    Ok(Json(json!({
        "success_count": removed,
        "failure": failures.iter().map(|f| {
            let e = if f.bound {
                ApiError::acl_policy_bound()
            } else {
                ApiError::acl_policy_not_found(&f.acl_id)
            };
            let mut v = json!({"acl_id": f.acl_id, "error_code": e.code, "error_msg": e.message});
            if let Some(name) = &f.acl_name {
                v["acl_name"] = json!(name);
            }
            v
        }).collect::<Vec<_>>(),
    })))
}
