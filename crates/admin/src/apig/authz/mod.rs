//! App authorizations, app ACLs and app quotas (spec §1.12, §1.13, §3.5): one file per family,
//! their JSON shapes in [`views`], and here the routes, the mapping of store refusals to APIG
//! errors and the reader of id lists.

pub mod acl;
pub mod auths;
pub mod quotas;
pub mod views;

use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::QueryMap;
use crate::AppState;
use apigw_domain::authz::MAX_IDS_PER_CALL;
use apigw_domain::{ApiError, ResourceId};
use apigw_store::authz::AuthzError;
use apigw_store::throttles::{PublicationFilter, UnbindFailure};
use apigw_store::StoreError;
use axum::routing::{delete, get, post};
use axum::Router;
use serde_json::{json, Value};

/// Routes of authorizations, ACLs and quotas.
pub fn routes() -> Router<AppState> {
    let base = "/v2/{project_id}/apigw/instances/{instance_id}";
    Router::new()
        .route(
            &format!("{base}/apps/{{app_id}}/app-acl"),
            get(acl::show).put(acl::set).delete(acl::delete),
        )
        .route(
            &format!("{base}/apps/{{app_id}}/bound-quota"),
            get(quotas::app_quota),
        )
        .route(
            &format!("{base}/app-quotas"),
            get(quotas::list).post(quotas::create),
        )
        .route(
            &format!("{base}/app-quotas/{{app_quota_id}}"),
            get(quotas::show).put(quotas::update).delete(quotas::delete),
        )
        .route(
            &format!("{base}/app-quotas/{{app_quota_id}}/binding-apps"),
            post(quotas::bind),
        )
        .route(
            &format!("{base}/app-quotas/{{app_quota_id}}/bound-apps"),
            get(quotas::bound_apps),
        )
        .route(
            &format!("{base}/app-quotas/{{app_quota_id}}/bound-apps/{{app_id}}"),
            delete(quotas::unbind),
        )
        .route(
            &format!("{base}/app-quotas/{{app_quota_id}}/bindable-apps"),
            get(quotas::bindable_apps),
        )
        .route(&format!("{base}/app-auths"), post(auths::create))
        .route(
            &format!("{base}/app-auths/{{app_auth_id}}"),
            delete(auths::delete),
        )
        .route(
            &format!("{base}/app-auths/binded-apis"),
            get(auths::bound_apis),
        )
        .route(
            &format!("{base}/app-auths/unbinded-apis"),
            get(auths::unbound_apis),
        )
        .route(
            &format!("{base}/app-auths/binded-apps"),
            get(auths::bound_apps),
        )
}

/// Maps a store refusal to its APIG error; a bare `NotFound` means what `missing` says.
pub fn authz_error(e: AuthzError, missing: impl FnOnce() -> ApiError) -> Error {
    Error(match e {
        AuthzError::Store(StoreError::NotFound) => missing(),
        AuthzError::Store(other) => return other.into(),
        AuthzError::QuotaNotFound(id) => ApiError::app_quota_not_found(&id),
        AuthzError::AppNotFound(id) => ApiError::app_not_found(&id),
        AuthzError::ApiNotFound(id) => ApiError::api_not_found(&id),
        AuthzError::EnvNotFound(id) => ApiError::environment_not_found(&id),
        AuthzError::AuthNotFound(id) => ApiError::app_auth_not_found(&id),
        AuthzError::QuotaNameExists => ApiError::app_quota_name_exists(),
        AuthzError::AppBoundElsewhere(id) => ApiError::app_bound_to_other_quota(&id),
        AuthzError::AppNotBound { app_id, quota_id } => {
            ApiError::app_not_bound_to_quota(&app_id, &quota_id)
        }
    })
}

/// A mandatory body list of ids (`app_ids`, `api_ids`): 1 to [`MAX_IDS_PER_CALL`] valid ids,
/// repeats dropped (first occurrence kept); anything else is `APIG.2011` naming the field.
pub fn ids_field(body: &JsonObject, field: &str) -> ApiResult<Vec<String>> {
    let raw = body.req_str_array(field)?;
    if raw.is_empty() || raw.len() > MAX_IDS_PER_CALL {
        return Err(Error(ApiError::invalid_body_field(field)));
    }
    let mut ids: Vec<String> = Vec::with_capacity(raw.len());
    for s in raw {
        let id =
            ResourceId::parse(s, field).map_err(|_| Error(ApiError::invalid_body_field(field)))?;
        if !ids.iter().any(|x| x == id.as_str()) {
            ids.push(id.into_inner());
        }
    }
    Ok(ids)
}

/// A mandatory id in the query (`APIG.2012` naming it when absent or malformed).
pub fn query_id(q: &QueryMap, key: &str) -> ApiResult<ResourceId> {
    let value = q.get(key).unwrap_or_default();
    ResourceId::parse(value, key).map_err(|_| Error(ApiError::invalid_param(key)))
}

/// The ids of a batch deletion, `PUT ...?action=delete` with `{"<field>": [ids]}`: the query
/// must say `delete` (APIG's message otherwise); the list may be absent (nothing to do), at most
/// [`MAX_IDS_PER_CALL`] valid ids, repeats dropped.
pub fn delete_action_ids(q: &QueryMap, body: &JsonObject, field: &str) -> ApiResult<Vec<String>> {
    if q.get("action") != Some("delete") {
        return Err(Error(ApiError::new(
            400,
            "APIG.2011",
            "Invalid parameter value,parameterName:action. parameter action should be \"delete\"",
        )));
    }
    let raw = match body.0.get(field) {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(_) => body.req_str_array(field)?,
    };
    if raw.len() > MAX_IDS_PER_CALL {
        return Err(Error(ApiError::invalid_body_field(field)));
    }
    let mut ids: Vec<String> = Vec::with_capacity(raw.len());
    for s in raw {
        let id =
            ResourceId::parse(s, field).map_err(|_| Error(ApiError::invalid_body_field(field)))?;
        if !ids.iter().any(|x| x == id.as_str()) {
            ids.push(id.into_inner());
        }
    }
    Ok(ids)
}

/// The answer of a batch unbinding: how many went, and a failure item with `missing`'s code
/// and message for each id that was not there.
pub fn unbind_answer(removed: usize, failures: &[UnbindFailure], missing: &ApiError) -> Value {
    json!({
        "success_count": removed,
        "failure": failures.iter().map(|f| json!({
            "bind_id": f.binding_id,
            "error_code": missing.code,
            "error_msg": missing.message,
        })).collect::<Vec<_>>(),
    })
}

/// The filters of the lists of published APIs bound (or not) to a policy: `env_id`,
/// `group_id`, `api_id`, `api_name`.
pub fn publication_filter(q: &QueryMap) -> ApiResult<PublicationFilter> {
    let text = |key: &str, max: usize| -> ApiResult<Option<String>> {
        Ok(q.filter(key, max)?.map(str::to_owned))
    };
    Ok(PublicationFilter {
        env_id: text("env_id", 64)?,
        group_id: text("group_id", 64)?,
        api_id: text("api_id", 64)?,
        api_name: text("api_name", 255)?,
    })
}
