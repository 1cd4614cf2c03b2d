//! JSON shapes of API groups, environments, APIs and publication records. Create and update
//! answers carry nanosecond times, later reads whole seconds, as Huawei's do.

use crate::apig::views::Precision;
use apigw_domain::api::{sl_domain, GROUP_VERSION};
use apigw_domain::Timestamp;
use apigw_store::apis::{Api, ApiGroup, ApiVersion, Environment, PublishRecord, API_STATUS_VALID};
use apigw_store::group_domains::BoundDomain;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn time(t: Timestamp, p: Precision) -> String {
    match p {
        Precision::Nanos => t.rfc3339_nanos(),
        Precision::Seconds => t.rfc3339_seconds(),
    }
}

/// `is_default` on the wire: 1 yes, 2 no.
fn yes_no(b: bool) -> i64 {
    if b {
        1
    } else {
        2
    }
}

/// An API group (`ApiGroupInfo`) with the domains bound to it (those of `domains` whose group
/// it is); `region` names its subdomain.
pub fn group_info(g: &ApiGroup, domains: &[BoundDomain], p: Precision, region: &str) -> Value {
    let domain = sl_domain(&g.id, region);
    json!({
        "id": g.id,
        "name": g.name.as_str(),
        "status": API_STATUS_VALID,
        "sl_domain": domain,
        "sl_domains": [domain],
        "register_time": time(g.register_time, p),
        "update_time": time(g.update_time, p),
        "on_sell_status": 2,
        "url_domains": url_domains(domains, &g.id),
        "sl_domain_access_enabled": g.sl_domain_access,
        "remark": g.remark.as_str(),
        "is_default": yes_no(g.is_default),
        "version": GROUP_VERSION,
    })
}

/// The names of `domains` bound to group `group_id`, as groups and APIs list them.
fn url_domains(domains: &[BoundDomain], group_id: &str) -> Vec<Value> {
    domains
        .iter()
        .filter(|d| d.group_id == group_id)
        .map(url_domain_ref)
        .collect()
}

/// A bound domain as a group lists it (`UrlDomain`), with its certificate if one was added.
/// Resolution is not checked, so `cname_status` is 3 (resolved).
fn url_domain_ref(d: &BoundDomain) -> Value {
    let (ssl_id, ssl_name) = d
        .certificate
        .as_ref()
        .map_or(("", ""), |c| (c.id.as_str(), c.name.as_str()));
    let ssl_infos: Vec<Value> = d
        .certificate
        .iter()
        .map(|c| {
            json!({
                "ssl_id": c.id,
                "ssl_name": c.name.as_str(),
                "algorithm_type": c.algorithm.map_or("", |a| a.as_str()),
                "type": c.certificate_type.ssl_info_code(),
                "is_has_trusted_root_ca": c.trusted_root_ca.is_some(),
            })
        })
        .collect();
    json!({
        "id": d.id,
        "domain": d.domain.as_str(),
        "cname_status": CNAME_RESOLVED,
        "ssl_id": ssl_id,
        "ssl_name": ssl_name,
        "min_ssl_version": d.min_ssl_version.as_str(),
        "verified_client_certificate_enabled": d.verify_client_certificate,
        "is_has_trusted_root_ca": d.trusted_root_ca().is_some(),
        "ingress_http_port": d.ingress_ports.http,
        "ingress_https_port": d.ingress_ports.https,
        "ssl_infos": ssl_infos,
    })
}

/// A binding as binding and changing it answer (`AssociateDomainV2` response).
pub fn bound_domain_info(d: &BoundDomain) -> Value {
    let mut v = json!({
        "id": d.id,
        "url_domain": d.domain.as_str(),
        "status": CNAME_RESOLVED,
        "min_ssl_version": d.min_ssl_version.as_str(),
        "is_http_redirect_to_https": d.redirect_to_https,
        "verified_client_certificate_enabled": d.verify_client_certificate,
        "ingress_http_port": d.ingress_ports.http,
        "ingress_https_port": d.ingress_ports.https,
    });
    if let (Some(c), Value::Object(fields)) = (&d.certificate, &mut v) {
        fields.insert("ssl_id".into(), c.id.clone().into());
        fields.insert("ssl_name".into(), c.name.as_str().into());
        fields.insert(
            "is_has_trusted_root_ca".into(),
            c.trusted_root_ca.is_some().into(),
        );
    }
    v
}

/// `status` / `cname_status` of a binding: resolved (apigw does not look names up; the
/// operator points them at the gateway).
const CNAME_RESOLVED: i64 = 3;

/// An environment (`EnvInfo`).
pub fn env_info(e: &Environment, p: Precision) -> Value {
    json!({
        "id": e.id,
        "name": e.name.as_str(),
        "remark": e.remark.as_str(),
        "create_time": time(e.create_time, p),
    })
}

/// An API: its definition's request fields plus ids, times, group (with the names of
/// `domains` bound to it) and where it is published (`run_env_*`, `publish_*` joined with `|`
/// when published in several environments).
pub fn api_info(api: &Api, domains: &[BoundDomain], p: Precision, region: &str) -> Value {
    let mut v = Value::Object(api.definition.to_json());
    v["id"] = json!(api.id);
    v["status"] = json!(API_STATUS_VALID);
    v["register_time"] = json!(time(api.register_time, p));
    v["update_time"] = json!(time(api.update_time, p));
    v["group_name"] = json!(api.group.name.as_str());
    v["group_version"] = json!(GROUP_VERSION);
    v["arrange_necessary"] = json!(2);
    // `backend_api`, or a mock's `mock_info`: the same backend record either way.
    let backend = &mut v[api.definition.backend().field()];
    backend["id"] = json!(api.backend_id);
    backend["status"] = json!(API_STATUS_VALID);
    backend["register_time"] = json!(time(api.register_time, p));
    backend["update_time"] = json!(time(api.update_time, p));
    name_policies(&mut v, &api.id);
    let g = &api.group;
    v["api_group_info"] = json!({
        "id": g.id,
        "name": g.name.as_str(),
        "status": API_STATUS_VALID,
        "sl_domain": sl_domain(&g.id, region),
        "register_time": g.register_time.rfc3339_seconds(),
        "update_time": g.update_time.rfc3339_seconds(),
        "on_sell_status": 2,
        "url_domains": url_domains(domains, &g.id),
        "sl_domain_access_enabled": g.sl_domain_access,
    });
    if !api.publications.is_empty() {
        let join = |f: &dyn Fn(&apigw_store::apis::ApiPublication) -> String| {
            api.publications.iter().map(f).collect::<Vec<_>>().join("|")
        };
        v["run_env_id"] = json!(join(&|x| x.env_id.clone()));
        v["run_env_name"] = json!(join(&|x| x.env_name.clone()));
        v["publish_id"] = json!(join(&|x| x.publish_id.clone()));
        v["publish_time"] = json!(join(&|x| time(x.publish_time, p)));
    }
    v
}

/// An id derived from `parts` (32 hex digits, as Huawei's ids look): stable for as long as
/// what it names stays, and nothing to store.
fn derived_id(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex::encode(&hash.finalize()[..16])
}

/// Gives each backend policy of an API's answer (`policy_https`, `policy_mocks`) its `id`, and
/// each of its conditions one, derived from the API's id, the policy's name and the
/// condition's place: a policy keeps its id across updates that keep its name.
fn name_policies(v: &mut Value, api_id: &str) {
    for field in ["policy_https", "policy_mocks"] {
        let Some(Value::Array(policies)) = v.get_mut(field) else {
            continue;
        };
        for policy in policies {
            let name = policy["name"].as_str().unwrap_or_default().to_owned();
            policy["id"] = json!(derived_id(&[api_id, &name]));
            if let Some(Value::Array(conditions)) = policy.get_mut("conditions") {
                for (i, condition) in conditions.iter_mut().enumerate() {
                    condition["id"] = json!(derived_id(&[api_id, &name, &i.to_string()]));
                }
            }
        }
    }
}

/// One kept version of an API, as `GET /apis/publish/{api_id}` lists it (`version_no` is its
/// publication time, `yyyyMMddHHmmss` UTC; `status` 1 for the version in force, 2 otherwise).
pub fn version_info(v: &ApiVersion) -> Value {
    json!({
        "version_id": v.id,
        "version_no": v.publish_time.compact_utc(),
        "api_id": v.api_id,
        "env_id": v.env_id,
        "env_name": v.env_name,
        "remark": v.remark,
        "publish_time": v.publish_time.rfc3339_seconds(),
        "status": if v.in_force { 1 } else { 2 },
    })
}

/// The answer of `POST /apis/action`.
pub fn publish_info(r: &PublishRecord) -> Value {
    json!({
        "publish_id": r.publish_id,
        "api_id": r.api_id,
        "api_name": r.api_name,
        "env_id": r.env_id,
        "remark": r.remark,
        "publish_time": r.publish_time.rfc3339_nanos(),
        "version_id": r.version_id,
    })
}
