//! Gateway instances (DESIGN "Instances"): create, list, get, delete, and the `APIG.3030` answer
//! for an unknown instance on every app and AppCode path.

mod common;
use common::*;
use serde_json::{json, Value};

fn is_hex32(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn instances_path(s: &Session) -> String {
    format!("/v2/{}/apigw/instances", s.project_id)
}

fn create_instance(server: &Server, s: &Session, body: &Value) -> Reply {
    server.call("POST", &instances_path(s), Some(&s.token), Some(body))
}

fn not_found_msg(id: &str) -> String {
    format!("The instance does not exist;id:{id}")
}

#[test]
fn create_and_read_back_an_instance() {
    let server = Server::start();
    let admin = server.admin();
    let r = create_instance(
        &server,
        &admin,
        &json!({"instance_name": "gw_two", "description": "second gateway"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json["id"].as_str().expect("id").to_owned();
    assert!(is_hex32(&id), "{id}");
    assert_eq!(r.json["instance_id"], id.as_str());
    assert_eq!(r.json["instance_name"], "gw_two");
    assert_eq!(r.json["description"], "second gateway");
    assert_ne!(id, admin.instance_id);

    let got = server.call(
        "GET",
        &format!("{}/{id}", instances_path(&admin)),
        Some(&admin.token),
        None,
    );
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json["id"], id.as_str());
    assert_eq!(got.json["instance_id"], id.as_str());
    assert_eq!(got.json["instance_name"], "gw_two");
    assert_eq!(got.json["description"], "second gateway");

    // Without a description.
    let r = create_instance(&server, &admin, &json!({"instance_name": "gw-three"}));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["instance_name"], "gw-three");

    // The new instance is usable right away and starts empty.
    let apps = format!("{}/{id}/apps", instances_path(&admin));
    let list = server.call("GET", &apps, Some(&admin.token), None);
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.json["total"], 0);
    let app = server.call(
        "POST",
        &apps,
        Some(&admin.token),
        Some(&json!({"name": "in_two"})),
    );
    assert_eq!(app.status, 201, "{}", app.text);
    // Apps are per instance: the default instance does not see it.
    let default_list = server.call("GET", &admin.apig("/apps"), Some(&admin.token), None);
    assert_eq!(default_list.json["total"], 0, "{}", default_list.text);
    // The same name may exist in two instances.
    let same = server.call(
        "POST",
        &admin.apig("/apps"),
        Some(&admin.token),
        Some(&json!({"name": "in_two"})),
    );
    assert_eq!(same.status, 201, "{}", same.text);
}

#[test]
fn instance_name_validation() {
    let server = Server::start();
    let admin = server.admin();
    let bad_names = [
        json!("ab"),
        json!("1gateway"),
        json!("_gateway"),
        json!("gate way"),
        json!("gate.way"),
        json!("a".repeat(65)),
        json!(""),
        json!(5),
    ];
    for name in bad_names {
        let r = create_instance(&server, &admin, &json!({"instance_name": name}));
        r.assert_error(400, "APIG.2011", Some(&invalid("instance_name")));
    }
    let r = create_instance(&server, &admin, &json!({"description": "no name"}));
    r.assert_error(400, "APIG.2011", Some(&invalid("instance_name")));
    let r = create_instance(&server, &admin, &json!({}));
    r.assert_error(400, "APIG.2011", Some(&invalid("instance_name")));
    // Boundaries are accepted.
    for name in ["abc".to_owned(), "a".repeat(64)] {
        let r = create_instance(&server, &admin, &json!({"instance_name": name}));
        assert_eq!(r.status, 201, "{name}: {}", r.text);
    }
    // Only the two valid ones were stored next to the default.
    let list = server.call("GET", &instances_path(&admin), Some(&admin.token), None);
    assert_eq!(list.json["total"], 3, "{}", list.text);
}

#[test]
fn list_instances_with_paging() {
    let server = Server::start();
    let admin = server.admin();
    for name in ["gw_a", "gw_b"] {
        assert_eq!(
            create_instance(&server, &admin, &json!({"instance_name": name})).status,
            201
        );
    }
    let r = server.call("GET", &instances_path(&admin), Some(&admin.token), None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["total"], 3);
    assert_eq!(r.json["size"], 3);
    let items = r.json["instances"].as_array().unwrap();
    let mut names: Vec<&str> = items
        .iter()
        .map(|i| i["instance_name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["default", "gw_a", "gw_b"]);
    for i in items {
        assert_eq!(i["id"], i["instance_id"], "{i}");
        assert!(is_hex32(i["id"].as_str().unwrap()));
    }

    let page = server.call(
        "GET",
        &format!("{}?offset=1&limit=1", instances_path(&admin)),
        Some(&admin.token),
        None,
    );
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.json["total"], 3);
    assert_eq!(page.json["size"], 1);
    assert_eq!(page.json["instances"].as_array().unwrap().len(), 1);

    let bad = server.call(
        "GET",
        &format!("{}?limit=x", instances_path(&admin)),
        Some(&admin.token),
        None,
    );
    bad.assert_error(400, "APIG.2012", Some(&invalid("limit")));
}

#[test]
fn delete_an_instance() {
    let server = Server::start();
    let admin = server.admin();
    let r = create_instance(&server, &admin, &json!({"instance_name": "short_lived"}));
    let id = r.json["id"].as_str().unwrap().to_owned();
    let path = format!("{}/{id}", instances_path(&admin));

    let del = server.call("DELETE", &path, Some(&admin.token), None);
    assert_eq!(del.status, 204, "{}", del.text);
    assert!(del.text.is_empty());

    let got = server.call("GET", &path, Some(&admin.token), None);
    got.assert_error(404, "APIG.3030", Some(&not_found_msg(&id)));
    let again = server.call("DELETE", &path, Some(&admin.token), None);
    again.assert_error(404, "APIG.3030", Some(&not_found_msg(&id)));

    let list = server.call("GET", &instances_path(&admin), Some(&admin.token), None);
    assert_eq!(list.json["total"], 1, "{}", list.text);
    assert_eq!(list.json["instances"][0]["instance_name"], "default");

    // A reader may not delete; a foreign project's instance is not reachable.
    let reader = server.user_session(&admin, "rob", "proj_r", "reader");
    let r = server.call(
        "DELETE",
        &format!("{}/{}", instances_path(&reader), reader.instance_id),
        Some(&reader.token),
        None,
    );
    r.assert_error(403, "APIG.1005", None);
    let other = server.user_session(&admin, "oli", "proj_o", "admin");
    let r = server.call(
        "DELETE",
        &format!("{}/{}", instances_path(&other), admin.instance_id),
        Some(&other.token),
        None,
    );
    r.assert_error(404, "APIG.3030", Some(&not_found_msg(&admin.instance_id)));
    let still = server.call(
        "GET",
        &format!("{}/{}", instances_path(&admin), admin.instance_id),
        Some(&admin.token),
        None,
    );
    assert_eq!(still.status, 200, "{}", still.text);
}

#[test]
fn unknown_instance_on_every_app_path_is_3030() {
    let server = Server::start();
    let admin = server.admin();
    let app = server.call(
        "POST",
        &admin.apig("/apps"),
        Some(&admin.token),
        Some(&json!({"name": "real_app"})),
    );
    let app_id = app.json["id"].as_str().unwrap().to_owned();
    let code = server.call(
        "PUT",
        &admin.apig(&format!("/apps/{app_id}/app-codes")),
        Some(&admin.token),
        None,
    );
    let code_id = code.json["id"].as_str().unwrap().to_owned();
    let unknown = "0123456789abcdef0123456789abcdef";
    let value = "a".repeat(64);
    for family in ["apigw", "apic"] {
        let base = format!("/v2/{}/{family}/instances/{unknown}", admin.project_id);
        let mut calls: Vec<(&str, String, Option<Value>)> = vec![
            ("GET", format!("{base}/apps/{app_id}/app-codes"), None),
            (
                "POST",
                format!("{base}/apps/{app_id}/app-codes"),
                Some(json!({"app_code": value})),
            ),
            ("PUT", format!("{base}/apps/{app_id}/app-codes"), None),
            (
                "GET",
                format!("{base}/apps/{app_id}/app-codes/{code_id}"),
                None,
            ),
            (
                "DELETE",
                format!("{base}/apps/{app_id}/app-codes/{code_id}"),
                None,
            ),
        ];
        if family == "apigw" {
            calls.extend([
                ("GET", base.clone(), None),
                ("DELETE", base.clone(), None),
                ("GET", format!("{base}/apps"), None),
                (
                    "POST",
                    format!("{base}/apps"),
                    Some(json!({"name": "lost_app"})),
                ),
                ("GET", format!("{base}/apps/{app_id}"), None),
                (
                    "PUT",
                    format!("{base}/apps/{app_id}"),
                    Some(json!({"name": "lost_app"})),
                ),
                ("DELETE", format!("{base}/apps/{app_id}"), None),
                ("PUT", format!("{base}/apps/secret/{app_id}"), None),
                ("GET", format!("{base}/apps/validation/{app_id}"), None),
                ("GET", format!("{base}/resources/outline/apps"), None),
            ]);
        }
        for (method, path, body) in &calls {
            let r = server.call(method, path, Some(&admin.token), body.as_ref());
            assert_eq!(r.status, 404, "{method} {path}: {}", r.text);
            r.assert_error(404, "APIG.3030", Some(&not_found_msg(unknown)));
        }
    }
    // Nothing in the real instance changed.
    let got = server.call(
        "GET",
        &admin.apig(&format!("/apps/{app_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(got.json["name"], "real_app");
    assert_eq!(got.json["app_secret"], app.json["app_secret"]);
    let codes = server.call(
        "GET",
        &admin.apig(&format!("/apps/{app_id}/app-codes")),
        Some(&admin.token),
        None,
    );
    assert_eq!(codes.json["total"], 1, "{}", codes.text);
    assert_eq!(codes.json["app_codes"][0]["id"], code_id.as_str());
}

#[test]
fn malformed_instance_id_is_2012() {
    let server = Server::start();
    let admin = server.admin();
    for bad in ["a.b", &"a".repeat(65)] {
        let r = server.call(
            "GET",
            &format!("/v2/{}/apigw/instances/{bad}/apps", admin.project_id),
            Some(&admin.token),
            None,
        );
        r.assert_error(400, "APIG.2012", Some(&invalid("instance_id")));
    }
}

#[test]
fn deleting_an_instance_deletes_its_apps() {
    let server = Server::start();
    let admin = server.admin();
    let inst = create_instance(&server, &admin, &json!({"instance_name": "doomed"}));
    let inst_id = inst.json["id"].as_str().unwrap().to_owned();
    let base = format!("{}/{inst_id}", instances_path(&admin));
    let app = server.call(
        "POST",
        &format!("{base}/apps"),
        Some(&admin.token),
        Some(&json!({"name": "doomed_app"})),
    );
    assert_eq!(app.status, 201, "{}", app.text);
    let app_id = app.json["id"].as_str().unwrap().to_owned();
    let value = "d".repeat(64);
    let code = server.call(
        "POST",
        &format!("{base}/apps/{app_id}/app-codes"),
        Some(&admin.token),
        Some(&json!({"app_code": value})),
    );
    assert_eq!(code.status, 201, "{}", code.text);
    // An app in the default instance must survive.
    let keep = server.call(
        "POST",
        &admin.apig("/apps"),
        Some(&admin.token),
        Some(&json!({"name": "keeper"})),
    );
    assert_eq!(keep.status, 201);

    assert_eq!(
        server
            .call("DELETE", &base, Some(&admin.token), None)
            .status,
        204
    );

    for path in [
        format!("{base}/apps"),
        format!("{base}/apps/{app_id}"),
        format!("{base}/apps/{app_id}/app-codes"),
    ] {
        server
            .call("GET", &path, Some(&admin.token), None)
            .assert_error(404, "APIG.3030", Some(&not_found_msg(&inst_id)));
    }
    // The app is not visible through any other instance either.
    let in_default = server.call(
        "GET",
        &admin.apig(&format!("/apps/{app_id}")),
        Some(&admin.token),
        None,
    );
    in_default.assert_error(
        404,
        "APIG.3004",
        Some(&format!("App {app_id} does not exist")),
    );
    let list = server.call("GET", &admin.apig("/apps"), Some(&admin.token), None);
    assert_eq!(list.json["total"], 1, "{}", list.text);
    assert_eq!(list.json["apps"][0]["name"], "keeper");
    // A new instance with the same name is a different, empty instance.
    let again = create_instance(&server, &admin, &json!({"instance_name": "doomed"}));
    assert_eq!(again.status, 201, "{}", again.text);
    let new_id = again.json["id"].as_str().unwrap();
    assert_ne!(new_id, inst_id);
    let apps = server.call(
        "GET",
        &format!("{}/{new_id}/apps", instances_path(&admin)),
        Some(&admin.token),
        None,
    );
    assert_eq!(apps.json["total"], 0, "{}", apps.text);
}

#[test]
fn members_may_create_instances_readers_and_strangers_may_not() {
    let server = Server::start();
    let admin = server.admin();
    let member = server.user_session(&admin, "max", "proj_m", "member");
    let r = create_instance(&server, &member, &json!({"instance_name": "member_gw"}));
    assert_eq!(r.status, 201, "{}", r.text);

    let reader = server.user_session(&admin, "ria", "proj_m", "reader");
    let r = create_instance(&server, &reader, &json!({"instance_name": "reader_gw"}));
    r.assert_error(
        403,
        "APIG.1005",
        Some("No permissions to request this method"),
    );
    let list = server.call("GET", &instances_path(&reader), Some(&reader.token), None);
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.json["total"], 2, "{}", list.text);

    // Another project's token on this project's path.
    let r = server.call(
        "POST",
        &instances_path(&member),
        Some(&admin.token),
        Some(&json!({"instance_name": "admin_gw"})),
    );
    r.assert_error(403, "APIG.1005", None);
    let r = server.call("GET", &instances_path(&member), Some(&admin.token), None);
    r.assert_error(403, "APIG.1005", None);
    let list = server.call("GET", &instances_path(&member), Some(&member.token), None);
    assert_eq!(list.json["total"], 2, "{}", list.text);
}
