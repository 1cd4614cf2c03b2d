//! Request throttling policies (APIG `throttles`), their bindings to published APIs
//! (`throttle-bindings`) and their excluded configurations (`throttles/{id}/throttle-specials`):
//! one file per family, here the routes, the mapping of store refusals to APIG errors and the
//! JSON shapes (create and update answers carry nanosecond times, later reads whole seconds).
//!
//! Decisions where APIG is silent:
//! - An API has at most one policy per environment; binding it to another policy there is
//!   refused (400 `APIG.3353`, our code), binding it again to the same one keeps the binding.
//!   A bind call is all or nothing.
//! - An exception may not allow more than its policy's API limit: 400 `APIG.2003` for its
//!   `call_limits`, 400 `APIG.2002` for a policy's new `api_call_limits` below it.

pub mod bindings;
pub mod policies;
pub mod specials;

use crate::apig::authz::views::time;
use crate::apig::views::Precision;
use crate::error::Error;
use crate::AppState;
use apigw_domain::authz::QuotaNumber;
use apigw_domain::ApiError;
use apigw_store::throttles::{
    ApiThrottle, Throttle, ThrottleBinding, ThrottleError, ThrottleSpecial, ThrottledApiOutline,
};
use apigw_store::StoreError;
use axum::routing::{delete, get, put};
use axum::Router;
use serde_json::{json, Value};

/// Routes of policies, bindings and exceptions.
pub fn routes() -> Router<AppState> {
    let base = "/v2/{project_id}/apigw/instances/{instance_id}";
    Router::new()
        .route(
            &format!("{base}/throttles"),
            get(policies::list).post(policies::create),
        )
        .route(
            &format!("{base}/throttles/{{throttle_id}}"),
            get(policies::show)
                .put(policies::update)
                .delete(policies::delete),
        )
        .route(
            &format!("{base}/throttles/{{throttle_id}}/throttle-specials"),
            get(specials::list).post(specials::create),
        )
        .route(
            &format!("{base}/throttles/{{throttle_id}}/throttle-specials/{{strategy_id}}"),
            put(specials::update).delete(specials::delete),
        )
        .route(
            &format!("{base}/throttle-bindings"),
            put(bindings::unbind_many).post(bindings::bind),
        )
        .route(
            &format!("{base}/throttle-bindings/{{throttle_binding_id}}"),
            delete(bindings::unbind),
        )
        .route(
            &format!("{base}/throttle-bindings/binded-apis"),
            get(bindings::bound_apis),
        )
        .route(
            &format!("{base}/throttle-bindings/unbinded-apis"),
            get(bindings::unbound_apis),
        )
        .route(
            &format!("{base}/throttle-bindings/binded-throttles"),
            get(bindings::api_throttles),
        )
}

/// Maps a store refusal to its APIG error; a bare `NotFound` means what `missing` says.
pub fn throttle_error(e: ThrottleError, missing: impl FnOnce() -> ApiError) -> Error {
    Error(match e {
        ThrottleError::Store(StoreError::NotFound) => missing(),
        ThrottleError::Store(other) => return other.into(),
        ThrottleError::NotFound(id) => ApiError::throttle_not_found(&id),
        ThrottleError::NameExists => ApiError::throttle_name_exists(),
        ThrottleError::PublicationNotFound(id) => ApiError::publication_record_not_found(&id),
        ThrottleError::BoundElsewhere(id) => ApiError::api_bound_to_other_throttle(&id),
        ThrottleError::ApiNotFound(id) => ApiError::api_not_found(&id),
        ThrottleError::AppNotFound(id) => ApiError::app_not_found(&id),
        ThrottleError::SpecialNotFound(id) => ApiError::throttle_special_not_found(&id),
        ThrottleError::SpecialExists => ApiError::throttle_special_exists(),
        ThrottleError::SpecialLimitReached => ApiError::throttle_specials_limit_reached(),
        ThrottleError::SpecialAboveApiLimit => ApiError::value_too_large("call_limits"),
        ThrottleError::ApiLimitBelowSpecial => ApiError::value_too_small("api_call_limits"),
    })
}

/// A limit as APIG shows it: 0 when not set.
fn or_zero(n: Option<QuotaNumber>) -> u32 {
    n.map_or(0, QuotaNumber::get)
}

/// `ThrottlesInfo`.
pub fn throttle_info(t: &Throttle, p: Precision) -> Value {
    let l = &t.spec.limits;
    json!({
        "id": t.id,
        "name": t.spec.name.as_str(),
        "api_call_limits": l.api.get(),
        "user_call_limits": or_zero(l.user),
        "app_call_limits": or_zero(l.app),
        "ip_call_limits": or_zero(l.ip),
        "time_interval": l.time_interval.get(),
        "time_unit": l.time_unit.as_str(),
        "remark": t.spec.remark.as_str(),
        "type": t.spec.kind.code(),
        "enable_adaptive_control": if t.spec.adaptive_control { "TRUE" } else { "FALSE" },
        "bind_num": t.bind_num,
        "is_inclu_special_throttle": if t.has_specials { 1 } else { 2 },
        "create_time": time(t.create_time, p),
    })
}

/// `ThrottleForApi`: the policy with the binding's environment, id and time.
pub fn api_throttle_info(t: &ApiThrottle) -> Value {
    let mut v = throttle_info(&t.throttle, Precision::Seconds);
    v["env_name"] = json!(t.env_name);
    v["bind_id"] = json!(t.bind_id);
    v["bind_time"] = json!(time(t.bind_time, Precision::Seconds));
    v
}

/// `ThrottleApiBinding` (answer of a bind call, nanosecond time). `scope` is always 1 (the
/// binding is to an API), as in APIG.
pub fn binding_info(b: &ThrottleBinding) -> Value {
    json!({
        "id": b.id,
        "publish_id": b.publish_id,
        "strategy_id": b.throttle_id,
        "scope": 1,
        "apply_time": time(b.apply_time, Precision::Nanos),
    })
}

/// `ApiForThrottle`: the binding's fields only in the list of bound APIs.
pub fn api_outline_info(a: &ThrottledApiOutline) -> Value {
    let mut v = json!({
        "id": a.id,
        "name": a.name,
        "type": a.api_type,
        "remark": a.remark,
        "group_id": a.group_id,
        "group_name": a.group_name,
        "run_env_id": a.env_id,
        "run_env_name": a.env_name,
        "publish_id": a.publish_id,
        "req_uri": a.req_uri,
        "req_method": a.req_method,
        "auth_type": a.auth_type,
        "tags": [],
    });
    if let Some(b) = &a.binding {
        v["throttle_apply_id"] = json!(b.id);
        v["throttle_name"] = json!(b.throttle_name);
        v["apply_time"] = json!(time(b.apply_time, Precision::Seconds));
    }
    v
}

/// `ThrottleSpecialInfo`: `app_id`/`app_name` only for an `APP` exception.
pub fn special_info(s: &ThrottleSpecial, p: Precision) -> Value {
    let mut v = json!({
        "id": s.id,
        "throttle_id": s.throttle_id,
        "call_limits": s.call_limits,
        "apply_time": time(s.apply_time, p),
        "object_id": s.object_id,
        "object_type": s.object_type.as_str(),
        "object_name": s.object_name,
    });
    if s.object_type == apigw_domain::throttle::SpecialObjectType::App {
        v["app_id"] = json!(s.object_id);
        v["app_name"] = json!(s.object_name);
    }
    v
}
