//! App quotas and their bindings, spec §1.13, black-box: create, get, list, replace and delete
//! quotas with every validation rule; bind, unbind and list apps; the quota bound to an app; the
//! one-quota-per-app rule; missing objects, scope and roles; and what reaches the database.

mod common;
use common::*;
use serde_json::{json, Value};

const RANDOM_ID: &str = "0123456789abcdef0123456789abcdef";

fn is_hex32(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn new_app(server: &Server, s: &Session, name: &str) -> String {
    let r = server.call(
        "POST",
        &s.apig("/apps"),
        Some(&s.token),
        Some(&json!({"name": name})),
    );
    assert_eq!(r.status, 201, "create app: {}", r.text);
    r.json["id"].as_str().unwrap().to_owned()
}

fn quota_body(name: &str) -> Value {
    json!({"name": name, "call_limits": 1000, "time_unit": "DAY", "time_interval": 1})
}

fn create(server: &Server, s: &Session, body: &Value) -> Reply {
    server.call("POST", &s.apig("/app-quotas"), Some(&s.token), Some(body))
}

fn create_ok(server: &Server, s: &Session, name: &str) -> String {
    let r = create(server, s, &quota_body(name));
    assert_eq!(r.status, 201, "create quota: {}", r.text);
    r.json["app_quota_id"].as_str().unwrap().to_owned()
}

fn quota_path(s: &Session, id: &str, rest: &str) -> String {
    s.apig(&format!("/app-quotas/{id}{rest}"))
}

fn get(server: &Server, s: &Session, id: &str) -> Reply {
    server.call("GET", &quota_path(s, id, ""), Some(&s.token), None)
}

fn bind(server: &Server, s: &Session, quota: &str, apps: &[&str]) -> Reply {
    server.call(
        "POST",
        &quota_path(s, quota, "/binding-apps"),
        Some(&s.token),
        Some(&json!({"app_ids": apps})),
    )
}

fn unbind(server: &Server, s: &Session, quota: &str, app: &str) -> Reply {
    server.call(
        "DELETE",
        &quota_path(s, quota, &format!("/bound-apps/{app}")),
        Some(&s.token),
        None,
    )
}

fn app_quota(server: &Server, s: &Session, app: &str) -> Reply {
    server.call(
        "GET",
        &s.apig(&format!("/apps/{app}/bound-quota")),
        Some(&s.token),
        None,
    )
}

fn list_apps(server: &Server, s: &Session, quota: &str, which: &str, query: &str) -> Reply {
    let r = server.call(
        "GET",
        &quota_path(s, quota, &format!("/{which}{query}")),
        Some(&s.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r
}

fn app_ids(r: &Reply) -> Vec<String> {
    r.json["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["app_id"].as_str().unwrap().to_owned())
        .collect()
}

fn quota_missing(id: &str) -> String {
    format!("App quota {id} does not exist")
}

#[test]
fn create_get_list_replace_delete() {
    let server = Server::start();
    let admin = server.admin();

    // Create with every field: 201, nanosecond create_time, nothing bound.
    let body = json!({"name": "ClientQuota_demo", "call_limits": 1000, "time_unit": "DAY",
        "time_interval": 1, "reset_time": "2020-09-20 00:00:00", "remark": "Demo quota"});
    let r = create(&server, &admin, &body);
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json["app_quota_id"].as_str().unwrap().to_owned();
    assert!(is_hex32(&r.json["app_quota_id"]));
    assert!(is_nanos_time(&r.json["create_time"]), "{}", r.text);
    let created_at = to_seconds(&r.json["create_time"]);
    let expected = json!({"app_quota_id": id, "name": "ClientQuota_demo", "call_limits": 1000,
        "time_unit": "DAY", "time_interval": 1, "reset_time": "2020-09-20 00:00:00",
        "remark": "Demo quota", "create_time": created_at, "bound_app_num": 0});
    let mut created = r.json.clone();
    created["create_time"] = json!(created_at);
    assert_eq!(created, expected);

    // Get: the same in whole seconds.
    let r = get(&server, &admin, &id);
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(is_seconds_time(&r.json["create_time"]));
    assert_eq!(r.json, expected);
    assert_eq!(
        db_scalar(
            &server,
            &format!("SELECT call_limits FROM app_quotas WHERE id = '{id}'")
        ),
        1000
    );

    // Without the optional fields: no reset_time, empty remark.
    let r = create(
        &server,
        &admin,
        &json!({"name": "minimal", "call_limits": 1, "time_unit": "SECOND", "time_interval": 2147483647}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.json.get("reset_time").is_none(), "{}", r.text);
    assert_eq!(r.json["remark"], "");
    assert_eq!(r.json["time_interval"], 2147483647);
    let minimal = r.json["app_quota_id"].as_str().unwrap().to_owned();
    // An empty reset_time means none.
    let r = create(
        &server,
        &admin,
        &json!({"name": "empty_reset", "call_limits": 5, "time_unit": "HOUR", "time_interval": 3, "reset_time": ""}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.json.get("reset_time").is_none());

    // List: newest first, fuzzy name, paging.
    let l = server.call("GET", &admin.apig("/app-quotas"), Some(&admin.token), None);
    assert_eq!(l.status, 200, "{}", l.text);
    assert_eq!(l.json["total"], 3);
    assert_eq!(l.json["size"], 3);
    let names: Vec<&str> = l.json["quotas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["empty_reset", "minimal", "ClientQuota_demo"]);
    assert_eq!(l.json["quotas"][2], expected);
    let l = server.call(
        "GET",
        &admin.apig("/app-quotas?name=ini"),
        Some(&admin.token),
        None,
    );
    assert_eq!(l.json["total"], 1);
    assert_eq!(l.json["quotas"][0]["name"], "minimal");
    let l = server.call(
        "GET",
        &admin.apig("/app-quotas?offset=1&limit=1"),
        Some(&admin.token),
        None,
    );
    assert_eq!(
        (l.json["total"].as_i64(), l.json["size"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(l.json["quotas"][0]["name"], "minimal");
    let l = server.call(
        "GET",
        &admin.apig("/app-quotas?name=nothing_like_it"),
        Some(&admin.token),
        None,
    );
    assert_eq!(l.json, json!({"total": 0, "size": 0, "quotas": []}));
    server
        .call(
            "GET",
            &admin.apig("/app-quotas?limit=x"),
            Some(&admin.token),
            None,
        )
        .assert_error(400, "APIG.2012", Some(&invalid("limit")));

    // Replace: every field; absent remark and reset_time are cleared.
    let r = server.call(
        "PUT",
        &quota_path(&admin, &id, ""),
        Some(&admin.token),
        Some(&json!({"name": "renamed_quota", "call_limits": 50, "time_unit": "MINUTE", "time_interval": 10})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["name"], "renamed_quota");
    assert_eq!(r.json["call_limits"], 50);
    assert_eq!(r.json["time_unit"], "MINUTE");
    assert_eq!(r.json["time_interval"], 10);
    assert_eq!(r.json["remark"], "");
    assert!(r.json.get("reset_time").is_none());
    assert_eq!(
        to_seconds(&r.json["create_time"]),
        created_at,
        "create_time is kept"
    );
    let g = get(&server, &admin, &id);
    assert_eq!(g.json["name"], "renamed_quota");
    assert!(g.json.get("reset_time").is_none());
    // Keeping its own name is fine; taking another quota's name is 3325.
    let r = server.call("PUT", &quota_path(&admin, &id, ""), Some(&admin.token), Some(&json!({"name": "renamed_quota", "call_limits": 51, "time_unit": "MINUTE", "time_interval": 10, "remark": "again"})));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["remark"], "again");
    server
        .call(
            "PUT",
            &quota_path(&admin, &id, ""),
            Some(&admin.token),
            Some(&quota_body("minimal")),
        )
        .assert_error(400, "APIG.3325", Some("The API quota name already exists"));
    assert_eq!(get(&server, &admin, &id).json["call_limits"], 51);

    // Delete: 204, then 404 everywhere.
    let r = server.call(
        "DELETE",
        &quota_path(&admin, &id, ""),
        Some(&admin.token),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text);
    get(&server, &admin, &id).assert_error(404, "APIG.3093", Some(&quota_missing(&id)));
    server
        .call(
            "DELETE",
            &quota_path(&admin, &id, ""),
            Some(&admin.token),
            None,
        )
        .assert_error(404, "APIG.3093", Some(&quota_missing(&id)));
    server
        .call(
            "PUT",
            &quota_path(&admin, &id, ""),
            Some(&admin.token),
            Some(&quota_body("other_name")),
        )
        .assert_error(404, "APIG.3093", Some(&quota_missing(&id)));
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM app_quotas"), 2);
    assert_eq!(get(&server, &admin, &minimal).status, 200);
}

#[test]
fn validation_rules_and_duplicate_names() {
    let server = Server::start();
    let admin = server.admin();
    let base = quota_body("valid_quota");
    let with = |field: &str, value: Value| {
        let mut b = base.clone();
        b[field] = value;
        b
    };
    let without = |field: &str| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(field);
        b
    };
    let cases: Vec<(&str, Value)> = vec![
        ("name", with("name", json!("ab"))),
        ("name", with("name", json!("1abc"))),
        ("name", with("name", json!("_abc"))),
        ("name", with("name", json!("bad-name"))),
        ("name", with("name", json!("q".repeat(256)))),
        ("name", with("name", json!(5))),
        ("name", without("name")),
        ("call_limits", with("call_limits", json!(0))),
        ("call_limits", with("call_limits", json!(-3))),
        ("call_limits", with("call_limits", json!(2147483648u64))),
        ("call_limits", with("call_limits", json!("1000"))),
        ("call_limits", with("call_limits", json!(1.5))),
        ("call_limits", without("call_limits")),
        ("time_unit", with("time_unit", json!("WEEK"))),
        ("time_unit", with("time_unit", json!("day"))),
        ("time_unit", without("time_unit")),
        ("time_interval", with("time_interval", json!(0))),
        ("time_interval", with("time_interval", json!(2147483648u64))),
        ("time_interval", without("time_interval")),
        ("reset_time", with("reset_time", json!("2020-09-20"))),
        (
            "reset_time",
            with("reset_time", json!("2020-09-20T00:00:00Z")),
        ),
        (
            "reset_time",
            with("reset_time", json!("2020-02-30 00:00:00")),
        ),
        ("reset_time", with("reset_time", json!(12))),
        ("remark", with("remark", json!("no <tags>"))),
        ("remark", with("remark", json!("r".repeat(256)))),
    ];
    for (field, body) in &cases {
        let r = create(&server, &admin, body);
        r.assert_error(400, "APIG.2011", Some(&invalid(field)));
    }
    create(&server, &admin, &json!([1])).assert_error(400, "APIG.2000", None);
    server
        .call_raw(
            "POST",
            &admin.apig("/app-quotas"),
            Some(&admin.token),
            "{\"name\":",
        )
        .assert_error(400, "APIG.2000", None);
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM app_quotas"), 0);

    // Limits at their edges, a CJK name and a 255-character remark are fine.
    let r = create(
        &server,
        &admin,
        &json!({"name": "配额_1", "call_limits": 2147483647, "time_unit": "SECOND", "time_interval": 1, "remark": "r".repeat(255)}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = create_ok(&server, &admin, "valid_quota");

    // The same rules on PUT.
    for (field, body) in &cases {
        let r = server.call(
            "PUT",
            &quota_path(&admin, &id, ""),
            Some(&admin.token),
            Some(body),
        );
        r.assert_error(400, "APIG.2011", Some(&invalid(field)));
    }
    assert_eq!(
        get(&server, &admin, &id).json["call_limits"],
        1000,
        "nothing refused was stored"
    );

    // Duplicate names (exact, case-sensitive).
    create(&server, &admin, &quota_body("valid_quota")).assert_error(
        400,
        "APIG.3325",
        Some("The API quota name already exists"),
    );
    assert_eq!(
        create(&server, &admin, &quota_body("Valid_Quota")).status,
        201
    );
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM app_quotas"), 3);

    // Path ids.
    for id in ["a.b", &"x".repeat(65)] {
        get(&server, &admin, id).assert_error(400, "APIG.2012", Some(&invalid("app_quota_id")));
    }
    get(&server, &admin, RANDOM_ID).assert_error(404, "APIG.3093", Some(&quota_missing(RANDOM_ID)));
}

#[test]
fn bind_unbind_and_the_app_lists() {
    let server = Server::start();
    let admin = server.admin();
    let q1 = create_ok(&server, &admin, "gold_quota");
    let q2 = create_ok(&server, &admin, "silver_quota");
    let a1 = new_app(&server, &admin, "app_one");
    let a2 = new_app(&server, &admin, "app_two");
    let a3 = new_app(&server, &admin, "app_three");

    // Nothing bound: the app has no quota, every app is bindable.
    let r = app_quota(&server, &admin, &a1);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json, json!({}));
    assert_eq!(
        list_apps(&server, &admin, &q1, "bindable-apps", "").json["total"],
        3
    );
    assert_eq!(
        list_apps(&server, &admin, &q1, "bound-apps", "").json,
        json!({"total": 0, "size": 0, "apps": []})
    );

    // Bind two apps (a repeat in the list counts once).
    let r = bind(&server, &admin, &q1, &[&a1, &a2, &a1]);
    assert_eq!(r.status, 201, "{}", r.text);
    let applies = r.json["applies"].as_array().unwrap();
    assert_eq!(applies.len(), 2);
    for (apply, app) in applies.iter().zip([&a1, &a2]) {
        assert_eq!(apply["app_quota_id"], q1.as_str());
        assert_eq!(apply["app_id"], app.as_str());
        assert!(is_nanos_time(&apply["bound_time"]), "{}", r.text);
        assert_eq!(apply.as_object().unwrap().len(), 3);
    }
    let bound_at = applies[0]["bound_time"].clone();
    assert_eq!(get(&server, &admin, &q1).json["bound_app_num"], 2);
    assert_eq!(
        db_scalar(
            &server,
            &format!("SELECT COUNT(*) FROM app_quota_bindings WHERE app_quota_id = '{q1}'")
        ),
        2
    );

    // The app's quota.
    let r = app_quota(&server, &admin, &a1);
    assert_eq!(r.status, 200);
    assert_eq!(r.json["app_quota_id"], q1.as_str());
    assert_eq!(r.json["name"], "gold_quota");
    assert_eq!(r.json["bound_app_num"], 2);
    assert!(is_seconds_time(&r.json["create_time"]));

    // Bound apps show the binding; bindable apps are those bound to no quota.
    let r = list_apps(&server, &admin, &q1, "bound-apps", "");
    assert_eq!(r.json["total"], 2);
    let mut ids = app_ids(&r);
    ids.sort();
    let mut want = vec![a1.clone(), a2.clone()];
    want.sort();
    assert_eq!(ids, want);
    let one = r.json["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["app_id"] == a1.as_str())
        .unwrap();
    assert_eq!(one["name"], "app_one");
    assert_eq!(one["status"], 1);
    assert_eq!(one["app_quota_id"], q1.as_str());
    assert_eq!(one["app_quota_name"], "gold_quota");
    assert_eq!(one["bound_time"], json!(to_seconds(&bound_at)));
    assert!(one["app_key"].as_str().is_some_and(|k| k.len() == 32));
    assert!(is_seconds_time(&one["register_time"]) && is_seconds_time(&one["update_time"]));
    assert_eq!(one["remark"], "");
    for q in [&q1, &q2] {
        let r = list_apps(&server, &admin, q, "bindable-apps", "");
        assert_eq!(app_ids(&r), std::slice::from_ref(&a3));
        let item = &r.json["apps"][0];
        assert!(
            item.get("app_quota_id").is_none() && item.get("bound_time").is_none(),
            "{}",
            r.text
        );
    }
    assert_eq!(
        list_apps(&server, &admin, &q1, "bound-apps", "?app_name=two").json["apps"][0]["app_id"],
        a2.as_str()
    );
    assert_eq!(
        list_apps(&server, &admin, &q1, "bound-apps", "?app_name=zzz").json["total"],
        0
    );
    assert_eq!(
        list_apps(&server, &admin, &q1, "bindable-apps", "?app_name=one").json["total"],
        0
    );
    let paged = list_apps(&server, &admin, &q1, "bound-apps", "?offset=1&limit=1");
    assert_eq!(
        (paged.json["total"].as_i64(), paged.json["size"].as_i64()),
        (Some(2), Some(1))
    );

    // Binding again to the same quota keeps the binding and its time.
    let r = bind(&server, &admin, &q1, &[&a1]);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["applies"][0]["bound_time"], bound_at);

    // One quota per app: binding to another quota is refused, and the whole call with it.
    let bound_elsewhere = format!("The app {a1} is already bound to another app quota");
    bind(&server, &admin, &q2, &[&a3, &a1]).assert_error(400, "APIG.3351", Some(&bound_elsewhere));
    assert_eq!(app_quota(&server, &admin, &a3).json, json!({}));
    assert_eq!(get(&server, &admin, &q2).json["bound_app_num"], 0);
    assert_eq!(
        app_quota(&server, &admin, &a1).json["app_quota_id"],
        q1.as_str()
    );

    // Unknown apps and quotas; bad lists.
    bind(&server, &admin, &q2, &[&a3, RANDOM_ID]).assert_error(
        404,
        "APIG.3004",
        Some(&app_missing(RANDOM_ID)),
    );
    assert_eq!(app_quota(&server, &admin, &a3).json, json!({}));
    bind(&server, &admin, RANDOM_ID, &[&a3]).assert_error(
        404,
        "APIG.3093",
        Some(&quota_missing(RANDOM_ID)),
    );
    for body in [
        json!({"app_ids": []}),
        json!({"app_ids": "x"}),
        json!({"app_ids": ["a.b"]}),
        json!({"app_ids": [1]}),
        json!({}),
    ] {
        server
            .call(
                "POST",
                &quota_path(&admin, &q2, "/binding-apps"),
                Some(&admin.token),
                Some(&body),
            )
            .assert_error(400, "APIG.2011", Some(&invalid("app_ids")));
    }
    let too_many: Vec<String> = (0..501).map(|i| format!("{i:032x}")).collect();
    server
        .call(
            "POST",
            &quota_path(&admin, &q2, "/binding-apps"),
            Some(&admin.token),
            Some(&json!({"app_ids": too_many})),
        )
        .assert_error(400, "APIG.2011", Some(&invalid("app_ids")));

    // Unbind: 204, then the app is bindable anywhere; unbinding again is 404.
    let r = unbind(&server, &admin, &q1, &a1);
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(app_quota(&server, &admin, &a1).json, json!({}));
    assert_eq!(get(&server, &admin, &q1).json["bound_app_num"], 1);
    unbind(&server, &admin, &q1, &a1).assert_error(
        404,
        "APIG.3352",
        Some(&format!("The app {a1} is not bound to app quota {q1}")),
    );
    unbind(&server, &admin, &q2, &a2).assert_error(
        404,
        "APIG.3352",
        Some(&format!("The app {a2} is not bound to app quota {q2}")),
    );
    unbind(&server, &admin, &q1, RANDOM_ID).assert_error(
        404,
        "APIG.3004",
        Some(&app_missing(RANDOM_ID)),
    );
    unbind(&server, &admin, RANDOM_ID, &a2).assert_error(
        404,
        "APIG.3093",
        Some(&quota_missing(RANDOM_ID)),
    );
    unbind(&server, &admin, &q1, "a.b").assert_error(400, "APIG.2012", Some(&invalid("app_id")));
    let r = bind(&server, &admin, &q2, &[&a1]);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        app_quota(&server, &admin, &a1).json["app_quota_id"],
        q2.as_str()
    );

    // Lists of an unknown quota; the bound quota of an unknown app.
    for which in ["bound-apps", "bindable-apps"] {
        server
            .call(
                "GET",
                &quota_path(&admin, RANDOM_ID, &format!("/{which}")),
                Some(&admin.token),
                None,
            )
            .assert_error(404, "APIG.3093", Some(&quota_missing(RANDOM_ID)));
    }
    app_quota(&server, &admin, RANDOM_ID).assert_error(
        404,
        "APIG.3004",
        Some(&app_missing(RANDOM_ID)),
    );
    app_quota(&server, &admin, "a.b").assert_error(400, "APIG.2012", Some(&invalid("app_id")));
}

#[test]
fn deleting_quotas_and_apps_drops_bindings() {
    let server = Server::start();
    let admin = server.admin();
    let q1 = create_ok(&server, &admin, "doomed_quota");
    let q2 = create_ok(&server, &admin, "lasting_quota");
    let a1 = new_app(&server, &admin, "app_a");
    let a2 = new_app(&server, &admin, "app_b");
    let a3 = new_app(&server, &admin, "app_c");
    assert_eq!(bind(&server, &admin, &q1, &[&a1, &a2]).status, 201);
    assert_eq!(bind(&server, &admin, &q2, &[&a3]).status, 201);
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM app_quota_bindings"),
        3
    );

    // Deleting a quota drops its bindings: its apps become bindable again.
    assert_eq!(
        server
            .call(
                "DELETE",
                &quota_path(&admin, &q1, ""),
                Some(&admin.token),
                None
            )
            .status,
        204
    );
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM app_quota_bindings"),
        1
    );
    assert_eq!(app_quota(&server, &admin, &a1).json, json!({}));
    assert_eq!(
        list_apps(&server, &admin, &q2, "bindable-apps", "").json["total"],
        2
    );

    // Deleting an app drops its binding.
    assert_eq!(
        server
            .call(
                "DELETE",
                &admin.apig(&format!("/apps/{a3}")),
                Some(&admin.token),
                None
            )
            .status,
        204
    );
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM app_quota_bindings"),
        0
    );
    assert_eq!(get(&server, &admin, &q2).json["bound_app_num"], 0);
    assert_eq!(
        list_apps(&server, &admin, &q2, "bound-apps", "").json["total"],
        0
    );
}

#[test]
fn roles_and_projects() {
    let server = Server::start();
    let admin = server.admin();
    let member = server.user_session(&admin, "mae", "proj_q", "member");
    let reader = server.user_session(&admin, "ray", "proj_q", "reader");
    let other = server.user_session(&admin, "ole", "proj_other", "member");
    let quota = create_ok(&server, &member, "member_quota");
    let app = new_app(&server, &member, "member_app");
    assert_eq!(bind(&server, &member, &quota, &[&app]).status, 201);
    let forbidden = "No permissions to request this method";

    // A reader may read everything and change nothing.
    assert_eq!(get(&server, &reader, &quota).status, 200);
    assert_eq!(
        server
            .call(
                "GET",
                &reader.apig("/app-quotas"),
                Some(&reader.token),
                None
            )
            .json["total"],
        1
    );
    assert_eq!(
        list_apps(&server, &reader, &quota, "bound-apps", "").json["total"],
        1
    );
    assert_eq!(
        list_apps(&server, &reader, &quota, "bindable-apps", "").json["total"],
        0
    );
    assert_eq!(
        app_quota(&server, &reader, &app).json["app_quota_id"],
        quota.as_str()
    );
    create(&server, &reader, &quota_body("reader_quota")).assert_error(
        403,
        "APIG.1005",
        Some(forbidden),
    );
    server
        .call(
            "PUT",
            &quota_path(&reader, &quota, ""),
            Some(&reader.token),
            Some(&quota_body("x_quota")),
        )
        .assert_error(403, "APIG.1005", Some(forbidden));
    server
        .call(
            "DELETE",
            &quota_path(&reader, &quota, ""),
            Some(&reader.token),
            None,
        )
        .assert_error(403, "APIG.1005", Some(forbidden));
    bind(&server, &reader, &quota, &[&app]).assert_error(403, "APIG.1005", Some(forbidden));
    unbind(&server, &reader, &quota, &app).assert_error(403, "APIG.1005", Some(forbidden));

    // Another project: 403 on this project's paths, 404 on its own instance.
    get(&server, &other, &quota).assert_error(404, "APIG.3093", Some(&quota_missing(&quota)));
    server
        .call(
            "GET",
            &quota_path(&member, &quota, ""),
            Some(&other.token),
            None,
        )
        .assert_error(403, "APIG.1005", Some(forbidden));
    bind(&server, &other, &quota, &[&app]).assert_error(
        404,
        "APIG.3093",
        Some(&quota_missing(&quota)),
    );
    let theirs = create_ok(&server, &other, "member_quota");
    bind(&server, &other, &theirs, &[&app]).assert_error(
        404,
        "APIG.3004",
        Some(&app_missing(&app)),
    );
    app_quota(&server, &other, &app).assert_error(404, "APIG.3004", Some(&app_missing(&app)));
    assert_eq!(
        server
            .call("GET", &other.apig("/app-quotas"), Some(&other.token), None)
            .json["total"],
        1
    );

    // Unknown instance and missing token.
    let path = format!(
        "/v2/{}/apigw/instances/{RANDOM_ID}/app-quotas",
        member.project_id
    );
    server
        .call("GET", &path, Some(&member.token), None)
        .assert_error(
            404,
            "APIG.3030",
            Some(&format!("The instance does not exist;id:{RANDOM_ID}")),
        );
    server
        .call("GET", &member.apig("/app-quotas"), None, None)
        .assert_error(401, "APIG.1000", None);
}
