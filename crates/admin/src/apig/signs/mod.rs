//! Signature keys (APIG `signs`) and their bindings to published APIs (`sign-bindings`): here
//! the routes, the mapping of store refusals to APIG errors and the JSON shapes (create and
//! update answers carry nanosecond times, later reads whole seconds, as for the other
//! policies).
//!
//! Decisions where APIG is silent:
//! - Types `hmac` and `basic` only (see [`apigw_domain::sign_key`]); `sign_key` and
//!   `sign_secret` left out of an update keep their values while the type stays.
//! - An API has at most one key per environment: binding it to another there is refused (400
//!   `APIG.3355`, our code), binding it again to the same one keeps the binding. A bind call
//!   is all or nothing. Deleting a bound key is 400 `APIG.3448` (our code).

pub mod bindings;
pub mod keys;

use crate::apig::authz::views::time;
use crate::apig::views::Precision;
use crate::error::Error;
use crate::AppState;
use apigw_domain::ApiError;
use apigw_store::acl_policies::AclApiOutline;
use apigw_store::sign_keys::{SignApiBinding, SignKey, SignKeyError};
use apigw_store::StoreError;
use axum::routing::{delete, get, post, put};
use axum::Router;
use serde_json::{json, Value};

/// Routes of signature keys and their bindings.
pub fn routes() -> Router<AppState> {
    let base = "/v2/{project_id}/apigw/instances/{instance_id}";
    Router::new()
        .route(&format!("{base}/signs"), get(keys::list).post(keys::create))
        .route(
            &format!("{base}/signs/{{sign_id}}"),
            put(keys::update).delete(keys::delete),
        )
        .route(&format!("{base}/sign-bindings"), post(bindings::bind))
        .route(
            &format!("{base}/sign-bindings/{{sign_bindings_id}}"),
            delete(bindings::unbind),
        )
        .route(
            &format!("{base}/sign-bindings/binded-apis"),
            get(bindings::bound_apis),
        )
        .route(
            &format!("{base}/sign-bindings/unbinded-apis"),
            get(bindings::unbound_apis),
        )
        .route(
            &format!("{base}/sign-bindings/binded-signs"),
            get(bindings::api_signs),
        )
}

/// Maps a store refusal to its APIG error; a bare `NotFound` means what `missing` says.
pub fn sign_error(e: SignKeyError, missing: impl FnOnce() -> ApiError) -> Error {
    Error(match e {
        SignKeyError::Store(StoreError::NotFound) => missing(),
        SignKeyError::Store(other) => return other.into(),
        SignKeyError::NotFound(id) => ApiError::sign_key_not_found(&id),
        SignKeyError::NameExists => ApiError::sign_key_name_exists(),
        SignKeyError::LimitReached => ApiError::sign_key_limit(),
        SignKeyError::Bound => ApiError::sign_key_bound(),
        SignKeyError::PublicationNotFound(id) => ApiError::publication_record_not_found(&id),
        SignKeyError::BoundElsewhere(id) => ApiError::api_bound_to_other_sign_key(&id),
        SignKeyError::ApiNotFound(id) => ApiError::api_not_found(&id),
    })
}

/// The key object (`CreateSignatureKeyV2Response`), its secret masked as APIG shows it after
/// creation (the create answer shows it whole); lists add `bind_num`.
pub fn key_info(k: &SignKey, precision: Precision) -> Value {
    json!({
        "id": k.id,
        "name": k.spec.name,
        "sign_type": k.spec.sign_type.as_str(),
        "sign_key": k.spec.key,
        "sign_secret": k.spec.masked_secret(),
        "sign_algorithm": "",
        "create_time": time(k.create_time, precision),
        "update_time": time(k.update_time, precision),
    })
}

/// `SignApiBindingBase`: a published API bound to key `key` (`binded-apis`).
pub fn bound_api_info(a: &AclApiOutline, key: &SignKey) -> Value {
    let (bind_id, bind_time) = a
        .binding
        .as_ref()
        .map(|(id, t)| (id.as_str(), time(*t, Precision::Seconds)))
        .unwrap_or_default();
    json!({
        "id": bind_id,
        "publish_id": a.publish_id,
        "api_id": a.id,
        "api_name": a.name,
        "api_type": a.api_type,
        "api_remark": a.remark,
        "group_name": a.group_name,
        "env_id": a.env_id,
        "env_name": a.env_name,
        "binding_time": bind_time,
        "sign_id": key.id,
        "sign_name": key.spec.name,
        "req_method": a.req_method,
        "tags": [],
    })
}

/// `SignApiBindingInfo`: a binding with its key's type, key and masked secret (bind answer,
/// `binded-signs`).
pub fn binding_info(b: &SignApiBinding) -> Value {
    let mut v = bound_api_info(&b.api, &b.key);
    v["sign_type"] = json!(b.key.spec.sign_type.as_str());
    v["sign_key"] = json!(b.key.spec.key);
    v["sign_secret"] = json!(b.key.spec.masked_secret());
    v
}

/// `ApiForSign`: a published API the key is not bound to (`signature_name`: the key bound
/// there instead, if any).
pub fn unbound_api_info(a: &AclApiOutline) -> Value {
    crate::apig::acls::unbound_policy_api(a, "signature_name")
}
