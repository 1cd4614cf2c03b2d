//! The README's quick start, end to end: log in, find the default instance, create an app,
//! generate an AppCode, read both back.

mod common;
use common::*;
use serde_json::json;

#[test]
fn readme_quick_start_works() {
    let server = Server::start();
    let admin = server.admin();
    assert_eq!(admin.instance_id.len(), 32);
    let app = server.call(
        "POST",
        &admin.apig("/apps"),
        Some(&admin.token),
        Some(&json!({"name": "app_demo", "remark": "Demo app"})),
    );
    assert_eq!(app.status, 201, "{}", app.text);
    let app_id = app.json["id"].as_str().unwrap();
    let code = server.call(
        "PUT",
        &admin.apig(&format!("/apps/{app_id}/app-codes")),
        Some(&admin.token),
        None,
    );
    assert_eq!(code.status, 201, "{}", code.text);
    let value = code.json["app_code"].as_str().unwrap();
    assert_eq!(value.len(), 64);
    let list = server.call(
        "GET",
        &admin.apig(&format!("/apps/{app_id}/app-codes")),
        Some(&admin.token),
        None,
    );
    assert_eq!(list.json["total"], 1);
    assert_eq!(list.json["app_codes"][0]["app_code"], value);
}
