//! JSON shapes of app ACLs, app quotas, quota bindings and app authorizations. As elsewhere,
//! create and update answers carry nanosecond times, later reads whole seconds.

use crate::apig::views::Precision;
use apigw_domain::Timestamp;
use apigw_store::authz::{
    ApiOutline, AppAcl, AppAuthInfo, AppQuota, AuthGrant, QuotaApp, QuotaBinding,
};
use serde_json::{json, Value};

/// A time in the format of the answer.
pub fn time(t: Timestamp, p: Precision) -> String {
    match p {
        Precision::Nanos => t.rfc3339_nanos(),
        Precision::Seconds => t.rfc3339_seconds(),
    }
}

/// The app ACL object: `app_id`, `app_acl_type`, `app_acl_values` (as given).
pub fn acl_info(acl: &AppAcl) -> Value {
    json!({
        "app_id": acl.app_id,
        "app_acl_type": acl.rule.acl_type.as_str(),
        "app_acl_values": acl.rule.values.as_slice(),
    })
}

/// `AppQuotaInfo`. `reset_time` is absent when the quota counts from the first call.
pub fn quota_info(q: &AppQuota, p: Precision) -> Value {
    let mut v = json!({
        "app_quota_id": q.id,
        "name": q.name.as_str(),
        "call_limits": q.limits.call_limits.get(),
        "time_unit": q.limits.time_unit.as_str(),
        "time_interval": q.limits.time_interval.get(),
        "remark": q.remark.as_str(),
        "create_time": time(q.create_time, p),
        "bound_app_num": q.bound_app_num,
    });
    if let Some(reset) = q.limits.reset_time {
        v["reset_time"] = json!(reset.to_wire());
    }
    v
}

/// `AppQuotaAppBinding` (answer of a bind call, nanosecond time).
pub fn binding_info(b: &QuotaBinding) -> Value {
    json!({
        "app_quota_id": b.app_quota_id,
        "app_id": b.app_id,
        "bound_time": time(b.bound_time, Precision::Nanos),
    })
}

/// `AppQuotaAppInfo`. The quota fields are absent for an app bound to no quota.
pub fn quota_app_info(a: &QuotaApp) -> Value {
    let mut v = json!({
        "app_id": a.app_id,
        "name": a.name,
        "status": a.status,
        "app_key": a.app_key,
        "remark": a.remark,
        "register_time": time(a.register_time, Precision::Seconds),
        "update_time": time(a.update_time, Precision::Seconds),
    });
    if let Some(q) = &a.quota {
        v["app_quota_id"] = json!(q.app_quota_id);
        v["app_quota_name"] = json!(q.app_quota_name);
        v["bound_time"] = json!(time(q.bound_time, Precision::Seconds));
    }
    v
}

/// `ApiAuthRelations`: one app × API pair of an authorize call. A pair that already existed is
/// `SKIPPED` with the existing record, `APIG.3316`'s text and the names; a new one `SUCCESS`.
pub fn auth_relation(g: &AuthGrant) -> Value {
    let auth_result = if g.created {
        json!({"status": "SUCCESS"})
    } else {
        json!({
            "status": "SKIPPED",
            "error_code": "APIG.3316",
            "error_msg": "The API authorization record already exists.",
            "api_name": g.api_name,
            "app_name": g.app_name,
        })
    };
    json!({
        "id": g.auth.id,
        "api_id": g.auth.api_id,
        "app_id": g.auth.app_id,
        "auth_result": auth_result,
        "auth_time": time(g.auth.auth_time, Precision::Nanos),
        "auth_role": AUTH_ROLE,
        "auth_tunnel": AUTH_TUNNEL,
    })
}

/// `ApiAuthInfo`: an authorization with API, group, environment and app names.
/// `publish_id` is `""` when the API is not published in the environment.
pub fn auth_info(a: &AppAuthInfo) -> Value {
    json!({
        "id": a.auth.id,
        "api_id": a.auth.api_id,
        "api_name": a.api_name,
        "group_name": a.group_name,
        "group_id": a.group_id,
        "api_type": a.api_type,
        "api_remark": a.api_remark,
        "env_id": a.auth.env_id,
        "env_name": a.env_name,
        "auth_role": AUTH_ROLE,
        "auth_time": time(a.auth.auth_time, Precision::Seconds),
        "app_id": a.auth.app_id,
        "app_name": a.app_name,
        "app_remark": a.app_remark,
        "app_type": a.app_type,
        "app_creator": a.app_creator,
        "publish_id": a.publish_id.as_deref().unwrap_or(""),
        "auth_tunnel": AUTH_TUNNEL,
    })
}

/// `ApiOutline`; the run environment fields are `""` when the API is not published in the
/// environment asked about (as in Huawei's example).
pub fn api_outline(o: &ApiOutline) -> Value {
    let (run_env_id, run_env_name, publish_id) = match &o.run_env {
        Some(r) => (
            r.env_id.as_str(),
            r.env_name.as_str(),
            r.publish_id.as_str(),
        ),
        None => ("", "", ""),
    };
    json!({
        "id": o.id,
        "name": o.name,
        "remark": o.remark,
        "auth_type": o.auth_type,
        "req_uri": o.req_uri,
        "group_id": o.group_id,
        "group_name": o.group_name,
        "run_env_id": run_env_id,
        "run_env_name": run_env_name,
        "publish_id": publish_id,
    })
}

/// `auth_role` of every authorization: granted by the API's provider.
const AUTH_ROLE: &str = "PROVIDER";
/// `auth_tunnel` of every authorization (the green channel is not supported).
const AUTH_TUNNEL: &str = "NORMAL";
