//! Gateway features of an instance (APIG "instance features"): configure (create or replace),
//! list the configured ones, list the supported ones; the rules of each field, what is stored,
//! roles and project isolation. What the features change on the data plane is in
//! `gateway_e2e.rs`.

mod common;
use common::*;
use serde_json::{json, Value};

fn features_path(s: &Session) -> String {
    s.apig("/features")
}

fn configure(server: &Server, s: &Session, body: Value) -> Reply {
    server.call("POST", &features_path(s), Some(&s.token), Some(&body))
}

fn list(server: &Server, s: &Session, query: &str) -> Reply {
    server.call(
        "GET",
        &format!("{}{query}", features_path(s)),
        Some(&s.token),
        None,
    )
}

/// Stored rows of the instance: name, enable, config.
fn stored(server: &Server, instance_id: &str) -> Vec<(String, i64, String)> {
    use sqlx::Row;
    db_rows(
        server,
        &format!(
            "SELECT name, enable, config FROM instance_features \
             WHERE instance_id = '{instance_id}' ORDER BY name"
        ),
        |r| {
            (
                r.try_get::<String, _>(0).unwrap(),
                r.try_get::<i64, _>(1).unwrap(),
                r.try_get::<String, _>(2).unwrap(),
            )
        },
    )
}

#[test]
fn configure_a_feature_then_change_it_keeping_its_id() {
    let server = Server::start();
    let admin = server.admin();
    assert_eq!(
        list(&server, &admin, "").json,
        json!({"total": 0, "size": 0, "features": []})
    );

    let r = configure(
        &server,
        &admin,
        json!({"name": "app_basic", "enable": true, "config": "on"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32, "{id}");
    assert_eq!(r.json["name"], "app_basic");
    assert_eq!(r.json["enable"], true);
    assert_eq!(r.json["config"], "on");
    assert_eq!(r.json["instance_id"], admin.instance_id.as_str());
    assert!(is_nanos_time(&r.json["update_time"]), "{}", r.text);
    assert_eq!(
        stored(&server, &admin.instance_id),
        [("app_basic".into(), 1, "on".into())]
    );

    // Configured again: the same feature, its new setting; without a config the switch
    // follows enable.
    let again = configure(
        &server,
        &admin,
        json!({"name": "app_basic", "enable": false}),
    );
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.json["id"], id.as_str());
    assert_eq!(again.json["enable"], false);
    assert_eq!(again.json["config"], "off");
    assert_eq!(
        stored(&server, &admin.instance_id),
        [("app_basic".into(), 0, "off".into())]
    );

    let r = configure(
        &server,
        &admin,
        json!({"name": "app_secret", "enable": true, "config": "ON"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["config"], "on");
    let all = list(&server, &admin, "");
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(
        (all.json["total"].clone(), all.json["size"].clone()),
        (json!(2), json!(2))
    );
    let names: Vec<&str> = all.json["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["app_basic", "app_secret"]);
    assert_eq!(all.json["features"][0]["id"], id.as_str());
    assert_eq!(all.json["features"][0]["enable"], false);
    assert_eq!(
        all.json["features"][1]["instance_id"],
        admin.instance_id.as_str()
    );
    let page = list(&server, &admin, "?offset=1&limit=1");
    assert_eq!(page.json["total"], 2);
    assert_eq!(page.json["size"], 1);
    assert_eq!(page.json["features"][0]["name"], "app_secret");

    // real_ip_from_xff takes an object, stored and shown with both members.
    let r = configure(
        &server,
        &admin,
        json!({"name": "real_ip_from_xff", "enable": true}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["config"], r#"{"enable":true,"xff_index":-1}"#);
    let config = r#"{"enable": "on", "xff_index": 2}"#;
    let r = configure(
        &server,
        &admin,
        json!({"name": "real_ip_from_xff", "enable": true, "config": config}),
    );
    assert_eq!(r.json["config"], r#"{"enable":true,"xff_index":2}"#);
    // APIG's own example writes the object itself, not its text: taken the same way.
    let r = configure(
        &server,
        &admin,
        json!({"name": "real_ip_from_xff", "enable": true,
               "config": {"enable": "on", "xff_index": -1}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["config"], r#"{"enable":true,"xff_index":-1}"#);
    let r = configure(
        &server,
        &admin,
        json!({"name": "real_ip_from_xff", "enable": true, "config": {"xff_index": 2}}),
    );
    assert_eq!(r.json["config"], r#"{"enable":true,"xff_index":2}"#);
    assert_eq!(
        stored(&server, &admin.instance_id)[2],
        (
            "real_ip_from_xff".into(),
            1,
            r#"{"enable":true,"xff_index":2}"#.into()
        )
    );
}

#[test]
fn the_supported_features_are_the_ones_apigw_implements() {
    let server = Server::start();
    let admin = server.admin();
    let r = server.call(
        "GET",
        &admin.apig("/instance-features"),
        Some(&admin.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"total": 11, "size": 11, "features": ["app_secret", "app_basic", "app_api_key",
                                                    "app_token", "app_auth_header",
                                                    "backend_sign_header", "app_route", "real_ip_from_xff",
                                                    "request_body_size", "backend_timeout",
                                                    "ratelimit"]})
    );
    let r = server.call(
        "GET",
        &admin.apig("/instance-features?offset=1&limit=1"),
        Some(&admin.token),
        None,
    );
    assert_eq!(
        r.json,
        json!({"total": 11, "size": 1, "features": ["app_basic"]})
    );
}

#[test]
fn every_field_is_checked_and_nothing_is_stored_on_a_refusal() {
    let server = Server::start();
    let admin = server.admin();
    for (body, field) in [
        (json!({"enable": true, "config": "on"}), "name"),
        (
            json!({"name": "app_jwt", "enable": true, "config": "{\"api_limits\": 500}"}),
            "name",
        ),
        (
            json!({"name": "ratelimit", "enable": true, "config": "{\"api_limits\": 0}"}),
            "config",
        ),
        (
            json!({"name": "app_api_key", "enable": true, "config": "yes"}),
            "config",
        ),
        (
            json!({"name": "app_token", "enable": true, "config": "{\"app_token_uri\": \"token\"}"}),
            "config",
        ),
        (
            json!({"name": "app_token", "enable": true, "config": "{\"app_token_expire_time\": 0}"}),
            "config",
        ),
        (json!({"name": 7, "enable": true}), "name"),
        (json!({"name": "app_basic", "config": "on"}), "enable"),
        (json!({"name": "app_basic", "enable": "true"}), "enable"),
        (
            json!({"name": "app_basic", "enable": true, "config": "yes"}),
            "config",
        ),
        (
            json!({"name": "app_basic", "enable": true, "config": true}),
            "config",
        ),
        (
            json!({"name": "real_ip_from_xff", "enable": true, "config": "on"}),
            "config",
        ),
        (
            json!({"name": "real_ip_from_xff", "enable": true, "config": "{\"xff_index\": 2147483648}"}),
            "config",
        ),
        (
            json!({"name": "real_ip_from_xff", "enable": true, "config": "{\"index\": 1}"}),
            "config",
        ),
    ] {
        configure(&server, &admin, body.clone()).assert_error(
            400,
            "APIG.2011",
            Some(&invalid(field)),
        );
    }
    server
        .call_raw(
            "POST",
            &features_path(&admin),
            Some(&admin.token),
            "{not json",
        )
        .assert_error(400, "APIG.2000", None);
    assert_eq!(stored(&server, &admin.instance_id), []);
    list(&server, &admin, "?limit=many").assert_error(400, "APIG.2012", Some(&invalid("limit")));
}

#[test]
fn roles_projects_and_instances() {
    let server = Server::start();
    let admin = server.admin();
    let member = server.user_session(&admin, "fay", "proj_feat", "member");
    let reader = server.user_session(&admin, "rob", "proj_feat", "reader");
    let other = server.user_session(&admin, "ola", "proj_feat_other", "member");
    let on = json!({"name": "app_secret", "enable": true, "config": "on"});
    assert_eq!(configure(&server, &member, on.clone()).status, 201);

    // A reader may look, not change.
    assert_eq!(list(&server, &reader, "").json["total"], 1);
    let forbidden = "No permissions to request this method";
    configure(&server, &reader, on.clone()).assert_error(403, "APIG.1005", Some(forbidden));

    // Another project's token on this project's path is refused; its own instance has none.
    server
        .call("GET", &features_path(&member), Some(&other.token), None)
        .assert_error(403, "APIG.1005", Some(forbidden));
    server
        .call(
            "POST",
            &features_path(&member),
            Some(&other.token),
            Some(&on),
        )
        .assert_error(403, "APIG.1005", Some(forbidden));
    assert_eq!(list(&server, &other, "").json["total"], 0);
    assert_eq!(stored(&server, &other.instance_id), []);

    // An unknown instance is APIG.3030.
    let missing = "0123456789abcdef0123456789abcdef";
    let path = format!(
        "/v2/{}/apigw/instances/{missing}/features",
        admin.project_id
    );
    let gone = format!("The instance does not exist;id:{missing}");
    server
        .call("POST", &path, Some(&admin.token), Some(&on))
        .assert_error(404, "APIG.3030", Some(&gone));
    server
        .call("GET", &path, Some(&admin.token), None)
        .assert_error(404, "APIG.3030", Some(&gone));

    // The features go with their instance.
    let instances = format!("/v2/{}/apigw/instances", admin.project_id);
    let created = server.call(
        "POST",
        &instances,
        Some(&admin.token),
        Some(&json!({"instance_name": "gw_features"})),
    );
    let id = created.json["id"].as_str().unwrap().to_owned();
    let path = format!("{instances}/{id}/features");
    let r = server.call("POST", &path, Some(&admin.token), Some(&on));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(stored(&server, &id).len(), 1);
    let deleted = server.call(
        "DELETE",
        &format!("{instances}/{id}"),
        Some(&admin.token),
        None,
    );
    assert_eq!(deleted.status, 204);
    assert_eq!(stored(&server, &id), []);
    assert_eq!(stored(&server, &member.instance_id).len(), 1);
}
