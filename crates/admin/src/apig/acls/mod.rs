//! Access control policies (APIG `acls`) and their bindings to published APIs
//! (`acl-bindings`): here the routes, the mapping of store refusals to APIG errors and the
//! JSON shapes (create and update answers carry nanosecond times, later reads whole seconds).
//!
//! Decisions where APIG is silent:
//! - Only the `IP` restriction type (see [`apigw_domain::acl_policy`]); an API has at most one
//!   policy per environment, binding it to another there is refused (400 `APIG.3354`, our
//!   code), binding it again to the same one keeps the binding. A bind call is all or nothing.
//! - Deleting a bound policy is 400 `APIG.3447` (Huawei's code; the status is ours).

pub mod bindings;
pub mod policies;

use crate::apig::authz::views::time;
use crate::apig::views::Precision;
use crate::error::Error;
use crate::AppState;
use apigw_domain::ApiError;
use apigw_store::acl_policies::{
    AclApiOutline, AclBinding, AclPolicy, AclPolicyError, ApiAclPolicy,
};
use apigw_store::StoreError;
use axum::routing::{delete, get};
use axum::Router;
use serde_json::{json, Value};

/// Routes of access control policies and their bindings.
pub fn routes() -> Router<AppState> {
    let base = "/v2/{project_id}/apigw/instances/{instance_id}";
    Router::new()
        .route(
            &format!("{base}/acls"),
            get(policies::list)
                .post(policies::create)
                .put(policies::delete_many),
        )
        .route(
            &format!("{base}/acls/{{acl_id}}"),
            get(policies::show)
                .put(policies::update)
                .delete(policies::delete),
        )
        .route(
            &format!("{base}/acl-bindings"),
            axum::routing::post(bindings::bind).put(bindings::unbind_many),
        )
        .route(
            &format!("{base}/acl-bindings/{{acl_bindings_id}}"),
            delete(bindings::unbind),
        )
        .route(
            &format!("{base}/acl-bindings/binded-apis"),
            get(bindings::bound_apis),
        )
        .route(
            &format!("{base}/acl-bindings/unbinded-apis"),
            get(bindings::unbound_apis),
        )
        .route(
            &format!("{base}/acl-bindings/binded-acls"),
            get(bindings::api_acls),
        )
}

/// Maps a store refusal to its APIG error; a bare `NotFound` means what `missing` says.
pub fn acl_error(e: AclPolicyError, missing: impl FnOnce() -> ApiError) -> Error {
    Error(match e {
        AclPolicyError::Store(StoreError::NotFound) => missing(),
        AclPolicyError::Store(other) => return other.into(),
        AclPolicyError::NotFound(id) => ApiError::acl_policy_not_found(&id),
        AclPolicyError::NameExists => ApiError::acl_policy_name_exists(),
        AclPolicyError::Bound => ApiError::acl_policy_bound(),
        AclPolicyError::PublicationNotFound(id) => ApiError::publication_record_not_found(&id),
        AclPolicyError::BoundElsewhere(id) => ApiError::api_bound_to_other_acl(&id),
        AclPolicyError::ApiNotFound(id) => ApiError::api_not_found(&id),
    })
}

/// The policy object (`ApiAclInfo`); lists add `bind_num`.
pub fn policy_info(p: &AclPolicy, precision: Precision) -> Value {
    json!({
        "id": p.id,
        "acl_name": p.spec.name,
        "acl_type": p.spec.acl_type.as_str(),
        "acl_value": p.spec.value_text(),
        "entity_type": "IP",
        "update_time": time(p.update_time, precision),
    })
}

/// `AclApiBindingInfo` (answer of a bind call, nanosecond time).
pub fn binding_info(b: &AclBinding) -> Value {
    json!({
        "id": b.id,
        "api_id": b.api_id,
        "env_id": b.env_id,
        "acl_id": b.acl_id,
        "create_time": time(b.create_time, Precision::Nanos),
    })
}

/// `AclBindApiInfo`: a published API bound to the policy.
pub fn bound_api_info(a: &AclApiOutline) -> Value {
    let (bind_id, bind_time) = a
        .binding
        .as_ref()
        .map(|(id, t)| (id.as_str(), time(*t, Precision::Seconds)))
        .unwrap_or_default();
    json!({
        "api_id": a.id,
        "api_name": a.name,
        "api_type": a.api_type,
        "api_remark": a.remark,
        "env_id": a.env_id,
        "env_name": a.env_name,
        "bind_id": bind_id,
        "group_name": a.group_name,
        "bind_time": bind_time,
        "publish_id": a.publish_id,
        "req_method": a.req_method,
        "tags": [],
    })
}

/// `UnbindApiForAcl`: a published API the policy is not bound to (`acl_name`: the policy bound
/// there instead, if any).
pub fn unbound_api_info(a: &AclApiOutline) -> Value {
    unbound_policy_api(a, "acl_name")
}

/// A published API a policy is not bound to, as the unbound lists of access control policies
/// and signature keys show it; `other_field` names the policy of the kind bound there instead,
/// if any.
pub fn unbound_policy_api(a: &AclApiOutline, other_field: &str) -> Value {
    let mut v = json!({
        "id": a.id,
        "name": a.name,
        "group_id": a.group_id,
        "group_name": a.group_name,
        "type": a.api_type,
        "remark": a.remark,
        "run_env_name": a.env_name,
        "run_env_id": a.env_id,
        "publish_id": a.publish_id,
        "req_uri": a.req_uri,
        "auth_type": a.auth_type,
        "req_method": a.req_method,
        "tags": [],
    });
    if let Some(other) = &a.other_policy {
        v[other_field] = json!(other);
    }
    v
}

/// An item of `binded-acls`: the policy with the binding's environment, id and time.
pub fn api_acl_info(b: &ApiAclPolicy) -> Value {
    json!({
        "acl_id": b.policy.id,
        "acl_name": b.policy.spec.name,
        "entity_type": "IP",
        "acl_type": b.policy.spec.acl_type.as_str(),
        "acl_value": b.policy.spec.value_text(),
        "env_id": b.env_id,
        "env_name": b.env_name,
        "bind_id": b.bind_id,
        "bind_time": time(b.bind_time, Precision::Seconds),
    })
}
