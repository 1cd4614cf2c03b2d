//! JSON shapes of APIG objects. Create and update answers carry nanosecond times, later reads
//! whole seconds, as Huawei's do.

use apigw_domain::Timestamp;
use apigw_store::{App, AppCode, Instance, InstanceFeature};
use serde_json::{json, Value};

/// Which time format an answer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// `2020-08-03T13:09:13.122211909Z` (create, update, reset).
    Nanos,
    /// `2020-08-03T13:09:13Z` (get, list).
    Seconds,
}

fn time(t: Timestamp, p: Precision) -> String {
    match p {
        Precision::Nanos => t.rfc3339_nanos(),
        Precision::Seconds => t.rfc3339_seconds(),
    }
}

/// `AppInfo` (and with `bind_num` the list item `AppInfoWithBindNum`).
pub fn app_info(app: &App, p: Precision, mask_secret: bool, with_bind_num: bool) -> Value {
    let mut v = json!({
        "id": app.id,
        "name": app.name.as_str(),
        "remark": app.remark.as_str(),
        "creator": app.creator,
        "update_time": time(app.update_time, p),
        "app_key": app.app_key.as_str(),
        "app_secret": if mask_secret { app.app_secret.masked() } else { app.app_secret.as_str().to_owned() },
        "register_time": time(app.register_time, p),
        "status": app.status,
        "app_type": app.app_type,
    });
    if with_bind_num {
        v["bind_num"] = json!(app.bind_num);
    }
    v
}

/// `AppCodeBaseInfo`.
pub fn app_code_info(code: &AppCode, p: Precision) -> Value {
    json!({
        "id": code.id,
        "app_id": code.app_id,
        "app_code": code.value.as_str(),
        "create_time": time(code.create_time, p),
    })
}

/// A gateway instance, with the id under both `id` and `instance_id`.
pub fn instance_info(i: &Instance) -> Value {
    json!({
        "id": i.id,
        "instance_id": i.id,
        "instance_name": i.name,
        "project_id": i.project_id,
        "description": i.description,
        "status": i.status,
        "instance_status": 6,
        "type": "apig",
        "spec": "BASIC",
        "create_time": i.created_at.millis(),
        "enterprise_project_id": "0",
        "eps_id": "0",
        "charge_type": "postPaid",
    })
}

/// `FeatureInfo`: a configured feature (times with nanoseconds, as APIG's examples show in
/// both the configure answer and the list).
pub fn feature_info(f: &InstanceFeature) -> Value {
    json!({
        "id": f.id,
        "name": f.setting.name().as_str(),
        "enable": f.setting.enable(),
        "config": f.setting.config(),
        "instance_id": f.instance_id,
        "update_time": time(f.update_time, Precision::Nanos),
    })
}
