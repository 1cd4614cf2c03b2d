//! The ModelArts v1 wrapper, spec §6.2: `/v1/{project_id}/app-auth/apps...` over the same apps
//! as APIG v2 (the project's `default` instance), always 200 with an `{"app": {...}}` envelope,
//! epoch-millisecond times and AppCodes addressed by value.

mod common;
use common::*;
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

const RANDOM_ID: &str = "0123456789abcdef0123456789abcdef";

fn is_hex(v: &Value, len: usize) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn masked(secret: &str) -> String {
    format!(
        "{}************{}",
        &secret[..3],
        &secret[secret.len() - 3..]
    )
}

fn create(server: &Server, s: &Session, body: Value) -> Reply {
    server.call("POST", &s.modelarts("/apps"), Some(&s.token), Some(&body))
}

fn create_ok(server: &Server, s: &Session, name: &str) -> Value {
    let r = create(
        server,
        s,
        json!({"app_name": name, "app_remark": "autotest"}),
    );
    assert_eq!(r.status, 200, "create {name}: {}", r.text);
    r.json["app"].clone()
}

fn show(server: &Server, s: &Session, id: &str) -> Reply {
    server.call(
        "GET",
        &s.modelarts(&format!("/apps/{id}")),
        Some(&s.token),
        None,
    )
}

/// Checks the `ApigAppDetailInfo` shape and returns the app.
fn detail(r: &Reply) -> Value {
    assert_eq!(r.status, 200, "{}", r.text);
    let obj = r
        .json
        .as_object()
        .unwrap_or_else(|| panic!("object body: {}", r.text));
    assert_eq!(
        obj.keys().collect::<Vec<_>>(),
        ["app"],
        "envelope: {}",
        r.text
    );
    let a = r.json["app"].clone();
    for f in [
        "app_id",
        "app_name",
        "app_remark",
        "app_key",
        "app_secret",
        "app_codes",
        "app_type",
        "bounded_api_count",
        "created_at",
        "updated_at",
        "project_id",
        "user_id",
    ] {
        assert!(a.get(f).is_some(), "field {f} in {}", r.text);
    }
    assert!(a["app_codes"].is_array(), "{a}");
    assert!(a["created_at"].is_i64(), "epoch ms integer: {a}");
    assert!(a["updated_at"].is_i64(), "epoch ms integer: {a}");
    a
}

fn codes(a: &Value) -> Vec<String> {
    a["app_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn create_app_returns_the_envelope() {
    let server = Server::start();
    let admin = server.admin();
    let before = now_ms();
    let r = create(
        &server,
        &admin,
        json!({"app_name": "app_xq0XT", "app_remark": "autotest"}),
    );
    let a = detail(&r);
    assert!(is_hex(&a["app_id"], 32), "{a}");
    assert_eq!(a["app_name"], "app_xq0XT");
    assert_eq!(a["app_remark"], "autotest");
    assert!(is_hex(&a["app_key"], 32), "{a}");
    assert!(
        is_hex(&a["app_secret"], 32),
        "plaintext secret on create: {a}"
    );
    assert_eq!(a["app_codes"], json!([]));
    assert_eq!(a["app_type"], "APIG");
    assert_eq!(a["bounded_api_count"], 0);
    assert_eq!(a["project_id"], admin.project_id.as_str());
    assert_eq!(a["user_id"], admin.user_id.as_str());
    let created = a["created_at"].as_i64().unwrap();
    let updated = a["updated_at"].as_i64().unwrap();
    assert!(
        created >= before - 2000 && created <= now_ms() + 2000,
        "created_at {created} is now in ms"
    );
    assert!(updated >= created, "{a}");

    // Without a remark; workspace_id is accepted.
    let r = create(
        &server,
        &admin,
        json!({"app_name": "no_remark", "workspace_id": "0"}),
    );
    let b = detail(&r);
    assert_eq!(b["app_remark"], "");

    // The app is an ordinary APIG app in the default instance.
    let id = a["app_id"].as_str().unwrap();
    let v2 = server.call(
        "GET",
        &admin.apig(&format!("/apps/{id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(v2.status, 200, "{}", v2.text);
    assert_eq!(v2.json["name"], "app_xq0XT");
    assert_eq!(v2.json["remark"], "autotest");
    assert_eq!(v2.json["app_key"], a["app_key"]);
    assert_eq!(v2.json["app_secret"], a["app_secret"]);
    assert_eq!(v2.json["app_type"], "apig");
    let list = server.call("GET", &admin.apig("/apps"), Some(&admin.token), None);
    assert_eq!(list.json["total"], 2, "{}", list.text);
}

#[test]
fn create_validation() {
    let server = Server::start();
    let admin = server.admin();
    for body in [
        json!({"app_name": "1bad"}),
        json!({"app_name": "ab"}),
        json!({"app_name": "bad-name"}),
        json!({"app_name": "a".repeat(65)}),
        json!({"app_name": 5}),
        json!({"app_remark": "no name"}),
        json!({}),
    ] {
        let r = create(&server, &admin, body.clone());
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        r.assert_error(400, "APIG.2011", Some(&invalid("app_name")));
    }
    for body in [
        json!({"app_name": "good_name", "app_remark": "<b>"}),
        json!({"app_name": "good_name", "app_remark": "r".repeat(256)}),
    ] {
        let r = create(&server, &admin, body);
        r.assert_error(400, "APIG.2011", Some(&invalid("app_remark")));
    }
    let r = server.call_raw(
        "POST",
        &admin.modelarts("/apps"),
        Some(&admin.token),
        "{\"app_name\"",
    );
    r.assert_error(400, "APIG.2000", None);
    // The name is unique like in v2.
    create_ok(&server, &admin, "unique_app");
    create(&server, &admin, json!({"app_name": "unique_app"})).assert_error(
        400,
        "APIG.3203",
        Some("The app name already exists."),
    );
    let list = server.call("GET", &admin.modelarts("/apps"), Some(&admin.token), None);
    assert_eq!(list.json["total_count"], 1, "{}", list.text);
}

#[test]
fn list_masks_secrets_sorts_and_counts() {
    let server = Server::start();
    let admin = server.admin();
    let b = create_ok(&server, &admin, "b_app");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let a = create_ok(&server, &admin, "a_app");
    let secrets: std::collections::HashMap<String, String> = [&a, &b]
        .iter()
        .map(|x| {
            (
                x["app_id"].as_str().unwrap().to_owned(),
                x["app_secret"].as_str().unwrap().to_owned(),
            )
        })
        .collect();

    let get = |query: &str| {
        let r = server.call(
            "GET",
            &admin.modelarts(&format!("/apps{query}")),
            Some(&admin.token),
            None,
        );
        assert_eq!(r.status, 200, "{query}: {}", r.text);
        let apps = r.json["apps"]
            .as_array()
            .unwrap_or_else(|| panic!("apps: {}", r.text))
            .clone();
        assert_eq!(r.json["count"], apps.len(), "{}", r.text);
        r
    };
    let names = |r: &Reply| -> Vec<String> {
        r.json["apps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["app_name"].as_str().unwrap().to_owned())
            .collect()
    };

    let r = get("");
    assert_eq!(r.json["count"], 2);
    assert_eq!(r.json["total_count"], 2);
    for item in r.json["apps"].as_array().unwrap() {
        let id = item["app_id"].as_str().unwrap();
        assert_eq!(
            item["app_secret"],
            masked(&secrets[id]).as_str(),
            "masked by default: {item}"
        );
        assert_eq!(item["app_type"], "APIG");
        assert!(
            item["created_at"].is_i64() && item["updated_at"].is_i64(),
            "{item}"
        );
        assert_eq!(item["app_codes"], json!([]));
        assert_eq!(item["project_id"], admin.project_id.as_str());
    }

    let r = get("?ciphertext_enabled=true");
    for item in r.json["apps"].as_array().unwrap() {
        let id = item["app_id"].as_str().unwrap();
        assert_eq!(
            item["app_secret"],
            secrets[id].as_str(),
            "plaintext on request: {item}"
        );
    }
    let r = get("?ciphertext_enabled=false");
    for item in r.json["apps"].as_array().unwrap() {
        assert!(
            item["app_secret"]
                .as_str()
                .unwrap()
                .contains("************"),
            "{item}"
        );
    }

    assert_eq!(
        names(&get("?sort_by=app_name&order=asc")),
        ["a_app", "b_app"]
    );
    assert_eq!(
        names(&get("?sort_by=app_name&order=desc")),
        ["b_app", "a_app"]
    );
    assert_eq!(
        names(&get("?sort_by=created_at&order=asc")),
        ["b_app", "a_app"]
    );
    assert_eq!(
        names(&get("?sort_by=created_at&order=desc")),
        ["a_app", "b_app"]
    );
    assert_eq!(
        names(&get("?sort_by=app_name")),
        ["a_app", "b_app"],
        "order defaults to asc"
    );

    let r = get("?app_name=b_a");
    assert_eq!(names(&r), ["b_app"]);
    assert_eq!(r.json["total_count"], 1);
    let r = get("?sort_by=app_name&limit=1&offset=1");
    assert_eq!(names(&r), ["b_app"]);
    assert_eq!(r.json["count"], 1);
    assert_eq!(r.json["total_count"], 2);
}

#[test]
fn show_one_app() {
    let server = Server::start();
    let admin = server.admin();
    let a = create_ok(&server, &admin, "shown_app");
    let id = a["app_id"].as_str().unwrap();
    let got = detail(&show(&server, &admin, id));
    assert_eq!(got["app_id"], id);
    assert_eq!(got["app_name"], "shown_app");
    assert_eq!(got["app_key"], a["app_key"]);
    assert_eq!(got["app_secret"], a["app_secret"]);
    assert_eq!(got["created_at"], a["created_at"]);
    show(&server, &admin, RANDOM_ID).assert_error(404, "APIG.3004", Some(&app_missing(RANDOM_ID)));
    // An app made through v2 is visible too.
    let v2 = server.call(
        "POST",
        &admin.apig("/apps"),
        Some(&admin.token),
        Some(&json!({"name": "v2_app", "remark": "from v2"})),
    );
    let v2_id = v2.json["id"].as_str().unwrap();
    let got = detail(&show(&server, &admin, v2_id));
    assert_eq!(got["app_name"], "v2_app");
    assert_eq!(got["app_remark"], "from v2");
    assert_eq!(got["app_secret"], v2.json["app_secret"]);
}

#[test]
fn app_code_add_reset_delete_by_value() {
    let server = Server::start();
    let admin = server.admin();
    let a = create_ok(&server, &admin, "code_app");
    let id = a["app_id"].as_str().unwrap().to_owned();
    let base = admin.modelarts(&format!("/apps/{id}/app-code"));
    let v2_codes = || {
        let r = server.call(
            "GET",
            &admin.apig(&format!("/apps/{id}/app-codes")),
            Some(&admin.token),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        r.json["app_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["app_code"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };

    // Add.
    let r = server.call(
        "POST",
        &base,
        Some(&admin.token),
        Some(&json!({"app_name": "code_app"})),
    );
    let after_add = detail(&r);
    let added = codes(&after_add);
    assert_eq!(added.len(), 1, "{after_add}");
    assert!(is_hex(&json!(added[0]), 64), "{after_add}");
    assert_eq!(after_add["app_id"], id.as_str());
    assert_eq!(v2_codes(), added);
    assert_eq!(codes(&detail(&show(&server, &admin, &id))), added);

    // Reset: the same AppCode gets a new value.
    let old = added[0].clone();
    let r = server.call(
        "PUT",
        &format!("{base}/{old}"),
        Some(&admin.token),
        Some(&json!({"app_name": "code_app"})),
    );
    let after_reset = detail(&r);
    let now = codes(&after_reset);
    assert_eq!(now.len(), 1, "still one code: {after_reset}");
    assert_ne!(now[0], old, "a new value");
    assert!(is_hex(&json!(now[0]), 64));
    assert_eq!(v2_codes(), now);
    // The old value is gone: resetting or deleting it again is 3082.
    let r = server.call(
        "PUT",
        &format!("{base}/{old}"),
        Some(&admin.token),
        Some(&json!({"app_name": "code_app"})),
    );
    r.assert_error(404, "APIG.3082", Some("The AppCode does not exist."));
    let r = server.call("DELETE", &format!("{base}/{old}"), Some(&admin.token), None);
    r.assert_error(404, "APIG.3082", Some("The AppCode does not exist."));

    // A code made through v2 is addressable by value here.
    let v2_value = "m".repeat(64);
    let made = server.call(
        "POST",
        &admin.apig(&format!("/apps/{id}/app-codes")),
        Some(&admin.token),
        Some(&json!({"app_code": v2_value})),
    );
    assert_eq!(made.status, 201, "{}", made.text);
    let r = server.call(
        "DELETE",
        &format!("{base}/{v2_value}"),
        Some(&admin.token),
        None,
    );
    let after = detail(&r);
    assert_eq!(codes(&after), now);

    // Delete: 200 with the app, codes empty.
    let r = server.call(
        "DELETE",
        &format!("{base}/{}", now[0]),
        Some(&admin.token),
        None,
    );
    let after_delete = detail(&r);
    assert_eq!(after_delete["app_codes"], json!([]));
    assert_eq!(after_delete["app_id"], id.as_str());
    assert!(v2_codes().is_empty());

    // Unknown values.
    let unknown = "f".repeat(64);
    for method in ["PUT", "DELETE"] {
        let r = server.call(
            method,
            &format!("{base}/{unknown}"),
            Some(&admin.token),
            None,
        );
        r.assert_error(404, "APIG.3082", Some("The AppCode does not exist."));
    }
}

#[test]
fn app_code_of_another_app_is_not_reachable() {
    let server = Server::start();
    let admin = server.admin();
    let a = create_ok(&server, &admin, "owner_app");
    let b = create_ok(&server, &admin, "other_app");
    let a_id = a["app_id"].as_str().unwrap();
    let b_id = b["app_id"].as_str().unwrap();
    let r = server.call(
        "POST",
        &admin.modelarts(&format!("/apps/{a_id}/app-code")),
        Some(&admin.token),
        None,
    );
    let value = codes(&detail(&r))[0].clone();
    let r = server.call(
        "DELETE",
        &admin.modelarts(&format!("/apps/{b_id}/app-code/{value}")),
        Some(&admin.token),
        None,
    );
    r.assert_error(404, "APIG.3082", Some("The AppCode does not exist."));
    assert_eq!(codes(&detail(&show(&server, &admin, a_id))), [value]);
}

#[test]
fn reset_app_secret() {
    let server = Server::start();
    let admin = server.admin();
    let a = create_ok(&server, &admin, "secret_app");
    let id = a["app_id"].as_str().unwrap();
    let r = server.call(
        "PUT",
        &admin.modelarts(&format!("/apps/{id}/app-secret")),
        Some(&admin.token),
        Some(&json!({"app_name": "secret_app"})),
    );
    let after = detail(&r);
    assert!(is_hex(&after["app_secret"], 32), "{after}");
    assert_ne!(after["app_secret"], a["app_secret"]);
    assert_eq!(after["app_key"], a["app_key"]);
    assert!(after["updated_at"].as_i64() >= a["updated_at"].as_i64());
    assert_eq!(
        detail(&show(&server, &admin, id))["app_secret"],
        after["app_secret"]
    );
    let v2 = server.call(
        "GET",
        &admin.apig(&format!("/apps/{id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(v2.json["app_secret"], after["app_secret"]);

    let r = server.call(
        "PUT",
        &admin.modelarts(&format!("/apps/{RANDOM_ID}/app-secret")),
        Some(&admin.token),
        Some(&json!({"app_name": "secret_app"})),
    );
    r.assert_error(404, "APIG.3004", Some(&app_missing(RANDOM_ID)));
}

#[test]
fn delete_app() {
    let server = Server::start();
    let admin = server.admin();
    let a = create_ok(&server, &admin, "doomed_app");
    let keep = create_ok(&server, &admin, "kept_app");
    let id = a["app_id"].as_str().unwrap();
    let path = admin.modelarts(&format!("/apps/{id}"));
    let r = server.call("DELETE", &path, Some(&admin.token), None);
    let gone = detail(&r);
    assert_eq!(gone["app_id"], id);
    show(&server, &admin, id).assert_error(404, "APIG.3004", Some(&app_missing(id)));
    server
        .call(
            "GET",
            &admin.apig(&format!("/apps/{id}")),
            Some(&admin.token),
            None,
        )
        .assert_error(404, "APIG.3004", Some(&app_missing(id)));
    server
        .call("DELETE", &path, Some(&admin.token), None)
        .assert_error(404, "APIG.3004", Some(&app_missing(id)));
    let list = server.call("GET", &admin.modelarts("/apps"), Some(&admin.token), None);
    assert_eq!(list.json["total_count"], 1, "{}", list.text);
    assert_eq!(list.json["apps"][0]["app_id"], keep["app_id"]);
}

#[test]
fn unknown_and_malformed_app_ids() {
    let server = Server::start();
    let admin = server.admin();
    let msg = app_missing(RANDOM_ID);
    let calls: [(&str, String); 4] = [
        ("GET", format!("/apps/{RANDOM_ID}")),
        ("DELETE", format!("/apps/{RANDOM_ID}")),
        ("POST", format!("/apps/{RANDOM_ID}/app-code")),
        ("PUT", format!("/apps/{RANDOM_ID}/app-secret")),
    ];
    for (method, rest) in &calls {
        let r = server.call(
            method,
            &admin.modelarts(rest),
            Some(&admin.token),
            Some(&json!({"app_name": "any_app"})),
        );
        r.assert_error(404, "APIG.3004", Some(&msg));
    }
    let r = server.call(
        "GET",
        &admin.modelarts("/apps/a.b"),
        Some(&admin.token),
        None,
    );
    r.assert_error(400, "APIG.2012", Some(&invalid("app_id")));
}

#[test]
fn other_projects_and_readers() {
    let server = Server::start();
    let admin = server.admin();
    let a = create_ok(&server, &admin, "admin_app");
    let id = a["app_id"].as_str().unwrap();
    let bob = server.user_session(&admin, "bob", "proj_b", "member");
    // Bob's token on the admin project's path.
    let r = server.call("GET", &admin.modelarts("/apps"), Some(&bob.token), None);
    r.assert_error(
        403,
        "APIG.1005",
        Some("No permissions to request this method"),
    );
    // Bob's own path does not reach the admin's app.
    show(&server, &bob, id).assert_error(404, "APIG.3004", Some(&app_missing(id)));
    let list = server.call("GET", &bob.modelarts("/apps"), Some(&bob.token), None);
    assert_eq!(list.json["total_count"], 0, "{}", list.text);

    let reader = server.user_session(&admin, "rex", "proj_b", "reader");
    let r = create(&server, &reader, json!({"app_name": "reader_app"}));
    r.assert_error(403, "APIG.1005", None);
    let r = server.call("GET", &reader.modelarts("/apps"), Some(&reader.token), None);
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn at_most_five_apps_per_user() {
    // Spec §6.2: ModelArts allows at most 5 apps per user (DESIGN: same codes as APIG, so the
    // app-limit code APIG.3103).
    let server = Server::start();
    let admin = server.admin();
    for i in 0..5 {
        create_ok(&server, &admin, &format!("ma_app_{i}"));
    }
    let r = create(&server, &admin, json!({"app_name": "ma_app_5"}));
    r.assert_error(
        403,
        "APIG.3103",
        Some("The number of apps exceeds the maximum allowed limit."),
    );
    let list = server.call("GET", &admin.modelarts("/apps"), Some(&admin.token), None);
    assert_eq!(list.json["total_count"], 5, "{}", list.text);
}
