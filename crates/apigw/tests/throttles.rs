//! Request throttling policies, black-box through the management API: create, get, list,
//! replace and delete policies with every rule; bind them to published APIs, unbind one or
//! many, the three binding lists; excluded configurations (apps' and users' own limits);
//! missing objects, scope and roles; and what reaches the database. What the gateway does
//! with them is in `gateway_e2e.rs`.

mod common;
use common::*;
use serde_json::{json, Value};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";
const RANDOM_ID: &str = "0123456789abcdef0123456789abcdef";

/// The calls of this suite's policies.
trait Policies {
    fn create(&self, body: &Value) -> Reply;
    fn create_ok(&self, name: &str, api_limit: u32) -> String;
    fn bind(&self, throttle: &str, publish_ids: &[&str]) -> Reply;
}

/// Published API number `n`: (api id, publication record id).
fn published(m: &Mgmt, n: u32) -> (String, String) {
    m.published_api(&format!("api_{n}"), &format!("/t{n}/{{name}}"))
}

impl Policies for Mgmt<'_> {
    fn create(&self, body: &Value) -> Reply {
        self.call("POST", "/throttles", Some(body))
    }

    fn create_ok(&self, name: &str, api_limit: u32) -> String {
        let r = self.create(&policy(name, api_limit));
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["id"].as_str().unwrap().to_owned()
    }

    fn bind(&self, throttle: &str, publish_ids: &[&str]) -> Reply {
        self.call(
            "POST",
            "/throttle-bindings",
            Some(&json!({"strategy_id": throttle, "publish_ids": publish_ids})),
        )
    }
}

fn policy(name: &str, api_limit: u32) -> Value {
    json!({"name": name, "api_call_limits": api_limit, "time_interval": 1, "time_unit": "SECOND"})
}

#[test]
fn policies_are_created_read_listed_replaced_and_deleted_under_their_rules() {
    let server = Server::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let created = m.create(&json!({
        "name": "throttle_demo", "api_call_limits": 800, "user_call_limits": 500,
        "app_call_limits": 300, "ip_call_limits": 600, "time_interval": 1,
        "time_unit": "SECOND", "remark": "Total: 800 calls/second", "type": 1,
        "enable_adaptive_control": "FALSE"
    }));
    assert_eq!(created.status, 201, "{}", created.text);
    let t = &created.json;
    let id = t["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    for (field, value) in [
        ("name", json!("throttle_demo")),
        ("api_call_limits", json!(800)),
        ("user_call_limits", json!(500)),
        ("app_call_limits", json!(300)),
        ("ip_call_limits", json!(600)),
        ("time_interval", json!(1)),
        ("time_unit", json!("SECOND")),
        ("remark", json!("Total: 800 calls/second")),
        ("type", json!(1)),
        ("enable_adaptive_control", json!("FALSE")),
        ("bind_num", json!(0)),
        ("is_inclu_special_throttle", json!(2)),
    ] {
        assert_eq!(t[field], value, "{field}: {t}");
    }
    assert!(is_nanos_time(&t["create_time"]), "{t}");

    // Read back: whole seconds; what is stored is what was given.
    let got = m.call("GET", &format!("/throttles/{id}"), None);
    assert_eq!(got.status, 200);
    assert!(is_seconds_time(&got.json["create_time"]));
    assert_eq!(
        got.json["create_time"],
        json!(to_seconds(&t["create_time"]))
    );
    let stored = db_rows(
        &server,
        &format!(
            "SELECT api_call_limits, user_call_limits, type, time_unit FROM throttles WHERE id = '{id}'"
        ),
        |r| {
            use sqlx::Row;
            (
                r.get::<i64, _>(0),
                r.get::<i64, _>(1),
                r.get::<i64, _>(2),
                r.get::<String, _>(3),
            )
        },
    );
    assert_eq!(stored, vec![(800, 500, 1, "SECOND".to_owned())]);

    // Optional limits default to 0 (none), type to 1; a shared policy is type 2.
    let minimal = m.create(
        &json!({"name": "minimal", "api_call_limits": 10, "time_interval": 2,
        "time_unit": "MINUTE", "type": 2, "user_call_limits": 0}),
    );
    assert_eq!(minimal.status, 201, "{}", minimal.text);
    for field in ["user_call_limits", "app_call_limits", "ip_call_limits"] {
        assert_eq!(minimal.json[field], 0, "{field}");
    }
    assert_eq!(minimal.json["type"], 2);
    assert_eq!(minimal.json["remark"], "");
    let minimal_id = minimal.json["id"].as_str().unwrap().to_owned();

    // Every rule, and nothing stored on a refusal.
    let base = policy("bad_one", 10);
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, code, field) in [
        (with("name", json!("ab")), "APIG.2011", "name"),
        (with("name", json!("1abc")), "APIG.2011", "name"),
        (with("name", json!("a".repeat(65))), "APIG.2011", "name"),
        (
            with("api_call_limits", json!(0)),
            "APIG.2011",
            "api_call_limits",
        ),
        (
            with("api_call_limits", json!("10")),
            "APIG.2011",
            "api_call_limits",
        ),
        (
            with("api_call_limits", json!(2_147_483_648_i64)),
            "APIG.2011",
            "api_call_limits",
        ),
        (
            with("time_interval", json!(0)),
            "APIG.2011",
            "time_interval",
        ),
        (with("time_unit", json!("WEEK")), "APIG.2011", "time_unit"),
        (with("type", json!(3)), "APIG.2011", "type"),
        (
            with("enable_adaptive_control", json!(true)),
            "APIG.2011",
            "enable_adaptive_control",
        ),
        (
            with("remark", json!("x".repeat(256))),
            "APIG.2011",
            "remark",
        ),
        (
            with("user_call_limits", json!(11)),
            "APIG.2003",
            "user_call_limits",
        ),
        (
            with("app_call_limits", json!(11)),
            "APIG.2003",
            "app_call_limits",
        ),
        (
            with("ip_call_limits", json!(11)),
            "APIG.2003",
            "ip_call_limits",
        ),
    ] {
        let r = m.create(&body);
        assert_eq!(r.status, 400, "{field}: {}", r.text);
        assert_eq!(r.json["error_code"], code, "{field}: {}", r.text);
        assert!(
            r.json["error_msg"]
                .as_str()
                .unwrap()
                .contains(&format!("parameterName:{field}")),
            "{}",
            r.text
        );
    }
    let mut app_over_user = with("user_call_limits", json!(5));
    app_over_user["app_call_limits"] = json!(6);
    assert_eq!(m.create(&app_over_user).json["error_code"], "APIG.2003");
    m.create(&policy("throttle_demo", 5)).assert_error(
        400,
        "APIG.3204",
        Some("The request throttling policy name already exists."),
    );
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM throttles"), 2);

    // Lists: newest first, name as substring or exact with precise_search, id, paging.
    let list = m.call("GET", "/throttles", None);
    assert_eq!(list.json["total"], 2);
    assert_eq!(list.json["throttles"][0]["id"], minimal_id.as_str());
    assert!(is_seconds_time(&list.json["throttles"][0]["create_time"]));
    let named = m.call("GET", "/throttles?name=demo", None);
    assert_eq!(named.json["total"], 1);
    let exact = m.call("GET", "/throttles?name=demo&precise_search=name", None);
    assert_eq!(exact.json["total"], 0);
    let by_id = m.call("GET", &format!("/throttles?id={id}"), None);
    assert_eq!(by_id.json["throttles"][0]["name"], "throttle_demo");
    let page = m.call("GET", "/throttles?offset=1&limit=1", None);
    assert_eq!(
        (page.json["total"].clone(), page.json["size"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(page.json["throttles"][0]["id"], id.as_str());

    // PUT replaces every field: an absent optional limit or remark is cleared.
    let replaced = m.call(
        "PUT",
        &format!("/throttles/{id}"),
        Some(
            &json!({"name": "renamed", "api_call_limits": 50, "app_call_limits": 5,
            "time_interval": 3, "time_unit": "HOUR"}),
        ),
    );
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert!(is_nanos_time(&replaced.json["create_time"]));
    assert_eq!(replaced.json["create_time"], t["create_time"]);
    for (field, value) in [
        ("name", json!("renamed")),
        ("api_call_limits", json!(50)),
        ("user_call_limits", json!(0)),
        ("app_call_limits", json!(5)),
        ("ip_call_limits", json!(0)),
        ("time_unit", json!("HOUR")),
        ("remark", json!("")),
    ] {
        assert_eq!(replaced.json[field], value, "{field}");
    }
    m.call(
        "PUT",
        &format!("/throttles/{id}"),
        Some(&policy("minimal", 5)),
    )
    .assert_error(400, "APIG.3204", None);

    // Missing and malformed ids.
    let missing = format!("Request throttling policy {RANDOM_ID} does not exist");
    m.call("GET", &format!("/throttles/{RANDOM_ID}"), None)
        .assert_error(404, "APIG.3005", Some(&missing));
    m.call(
        "PUT",
        &format!("/throttles/{RANDOM_ID}"),
        Some(&policy("nobody", 5)),
    )
    .assert_error(404, "APIG.3005", Some(&missing));
    m.call("DELETE", &format!("/throttles/{RANDOM_ID}"), None)
        .assert_error(404, "APIG.3005", Some(&missing));
    m.call("GET", "/throttles/not-an-id!", None).assert_error(
        400,
        "APIG.2012",
        Some(&invalid("throttle_id")),
    );

    // Delete.
    assert_eq!(
        m.call("DELETE", &format!("/throttles/{id}"), None).status,
        204
    );
    assert_eq!(m.call("GET", &format!("/throttles/{id}"), None).status, 404);
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM throttles"), 1);
}

#[test]
fn policies_are_bound_to_published_apis_and_listed_both_ways() {
    let server = Server::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let t1 = m.create_ok("first_policy", 10);
    let t2 = m.create_ok("second_policy", 20);
    let (api1, pub1) = published(&m, 1);
    let (api2, pub2) = published(&m, 2);

    let bound = m.bind(&t1, &[&pub1, &pub2]);
    assert_eq!(bound.status, 201, "{}", bound.text);
    let applys = bound.json["throttle_applys"].as_array().unwrap();
    assert_eq!(applys.len(), 2);
    assert_eq!(applys[0]["publish_id"], pub1.as_str());
    assert_eq!(applys[0]["strategy_id"], t1.as_str());
    assert_eq!(applys[0]["scope"], 1);
    assert!(is_nanos_time(&applys[0]["apply_time"]));
    let bind1 = applys[0]["id"].as_str().unwrap().to_owned();
    let bind2 = applys[1]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        m.call("GET", &format!("/throttles/{t1}"), None).json["bind_num"],
        2
    );

    // Binding again to the same policy keeps the binding; to another one is refused, and a
    // bind call is all or nothing.
    let again = m.bind(&t1, &[&pub1]);
    assert_eq!(again.json["throttle_applys"][0]["id"], bind1.as_str());
    m.bind(&t2, &[&pub1]).assert_error(400, "APIG.3353", None);
    m.bind(RANDOM_ID, &[&pub1]).assert_error(
        404,
        "APIG.3005",
        Some(&format!(
            "Request throttling policy {RANDOM_ID} does not exist"
        )),
    );
    m.bind(&t2, &[RANDOM_ID])
        .assert_error(404, "APIG.3015", None);
    for body in [
        json!({"publish_ids": [pub1]}),
        json!({"strategy_id": "bad id", "publish_ids": [pub1]}),
        json!({"strategy_id": t2, "publish_ids": []}),
        json!({"strategy_id": t2, "publish_ids": "x"}),
    ] {
        let r = m.call("POST", "/throttle-bindings", Some(&body));
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(r.json["error_code"], "APIG.2011");
    }
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM throttle_bindings"),
        2
    );

    // The lists.
    let bound_apis = m.call(
        "GET",
        &format!("/throttle-bindings/binded-apis?throttle_id={t1}"),
        None,
    );
    assert_eq!(bound_apis.status, 200, "{}", bound_apis.text);
    assert_eq!(bound_apis.json["total"], 2);
    let first = bound_apis.json["apis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == api1.as_str())
        .unwrap()
        .clone();
    for (field, value) in [
        ("name", json!("api_1")),
        ("type", json!(1)),
        ("run_env_id", json!(RELEASE)),
        ("run_env_name", json!("RELEASE")),
        ("publish_id", json!(pub1)),
        ("req_uri", json!("/t1/{name}")),
        ("req_method", json!("GET")),
        ("auth_type", json!("APP")),
        ("throttle_apply_id", json!(bind1)),
        ("throttle_name", json!("first_policy")),
    ] {
        assert_eq!(first[field], value, "{field}: {first}");
    }
    assert!(is_seconds_time(&first["apply_time"]));
    let filtered = m.call(
        "GET",
        &format!("/throttle-bindings/binded-apis?throttle_id={t1}&api_name=api_2"),
        None,
    );
    assert_eq!(filtered.json["total"], 1);
    let unbound = m.call(
        "GET",
        &format!("/throttle-bindings/unbinded-apis?throttle_id={t2}"),
        None,
    );
    assert_eq!(unbound.json["total"], 2, "{}", unbound.text);
    assert!(unbound.json["apis"][0].get("throttle_apply_id").is_none());
    let none_left = m.call(
        "GET",
        &format!("/throttle-bindings/unbinded-apis?throttle_id={t1}"),
        None,
    );
    assert_eq!(none_left.json["total"], 0);
    let of_api = m.call(
        "GET",
        &format!("/throttle-bindings/binded-throttles?api_id={api2}"),
        None,
    );
    assert_eq!(of_api.status, 200, "{}", of_api.text);
    assert_eq!(of_api.json["total"], 1);
    let t = &of_api.json["throttles"][0];
    assert_eq!(t["id"], t1.as_str());
    assert_eq!(t["bind_id"], bind2.as_str());
    assert_eq!(t["env_name"], "RELEASE");
    assert_eq!(t["api_call_limits"], 10);
    assert!(is_seconds_time(&t["bind_time"]));
    for (path, field) in [
        ("/throttle-bindings/binded-apis", "throttle_id"),
        (
            "/throttle-bindings/binded-apis?throttle_id=bad!",
            "throttle_id",
        ),
        ("/throttle-bindings/unbinded-apis", "throttle_id"),
        ("/throttle-bindings/binded-throttles", "api_id"),
    ] {
        m.call("GET", path, None)
            .assert_error(400, "APIG.2012", Some(&invalid(field)));
    }
    m.call(
        "GET",
        &format!("/throttle-bindings/binded-apis?throttle_id={RANDOM_ID}"),
        None,
    )
    .assert_error(404, "APIG.3005", None);
    m.call(
        "GET",
        &format!("/throttle-bindings/binded-throttles?api_id={RANDOM_ID}"),
        None,
    )
    .assert_error(404, "APIG.3002", None);

    // A republished API keeps its binding (a new publication record, the same binding).
    let republished = m.call(
        "POST",
        "/apis/action",
        Some(&json!({"action": "online", "api_id": api1, "env_id": RELEASE})),
    );
    let new_pub1 = republished.json["publish_id"].as_str().unwrap().to_owned();
    let listed = m.call(
        "GET",
        &format!("/throttle-bindings/binded-apis?throttle_id={t1}&api_id={api1}"),
        None,
    );
    assert_eq!(listed.json["apis"][0]["publish_id"], new_pub1.as_str());

    // Unbinding one, then several (each id on its own).
    assert_eq!(
        m.call("DELETE", &format!("/throttle-bindings/{bind2}"), None)
            .status,
        204
    );
    m.call("DELETE", &format!("/throttle-bindings/{bind2}"), None)
        .assert_error(
            404,
            "APIG.3012",
            Some("The request throttling policy binding record does not exist"),
        );
    let batch = m.call(
        "PUT",
        "/throttle-bindings?action=delete",
        Some(&json!({"throttle_bindings": [bind1, RANDOM_ID]})),
    );
    assert_eq!(batch.status, 200, "{}", batch.text);
    assert_eq!(batch.json["success_count"], 1);
    assert_eq!(batch.json["failure"][0]["bind_id"], RANDOM_ID);
    assert_eq!(batch.json["failure"][0]["error_code"], "APIG.3012");
    let no_action = m.call(
        "PUT",
        "/throttle-bindings",
        Some(&json!({"throttle_bindings": [bind1]})),
    );
    assert_eq!(no_action.status, 400);
    assert_eq!(no_action.json["error_code"], "APIG.2011");
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM throttle_bindings"),
        0
    );

    // Taken offline, an API keeps its binding but leaves the lists; published again, it is
    // listed again with its new publication record. Deleting it or the policy removes it.
    assert_eq!(m.bind(&t2, &[&new_pub1, &pub2]).status, 201);
    let action = |action: &str| {
        let r = m.call(
            "POST",
            "/apis/action",
            Some(&json!({"action": action, "api_id": api1, "env_id": RELEASE})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["publish_id"].as_str().unwrap().to_owned()
    };
    action("offline");
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM throttle_bindings"),
        2
    );
    let t2_apis = || {
        m.call(
            "GET",
            &format!("/throttle-bindings/binded-apis?throttle_id={t2}"),
            None,
        )
    };
    assert_eq!(t2_apis().json["total"], 1);
    let third_pub1 = action("online");
    let listed = t2_apis();
    assert_eq!(listed.json["total"], 2);
    assert!(listed.json["apis"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["publish_id"] == third_pub1.as_str()));
    action("offline");
    assert_eq!(m.call("DELETE", &format!("/apis/{api1}"), None).status, 204);
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM throttle_bindings"),
        1
    );
    assert_eq!(
        m.call("DELETE", &format!("/throttles/{t2}"), None).status,
        204
    );
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM throttle_bindings"),
        0
    );
}

#[test]
fn excluded_configurations_give_apps_and_users_their_own_limits() {
    let server = Server::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let t = m.create_ok("with_specials", 100);
    let app = m.call("POST", "/apps", Some(&json!({"name": "special_app"})));
    let app_id = app.json["id"].as_str().unwrap().to_owned();
    let specials = format!("/throttles/{t}/throttle-specials");

    let created = m.call(
        "POST",
        &specials,
        Some(&json!({"object_type": "APP", "object_id": app_id, "call_limits": 50})),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let s = &created.json;
    for (field, value) in [
        ("throttle_id", json!(t)),
        ("object_type", json!("APP")),
        ("object_id", json!(app_id)),
        ("object_name", json!("special_app")),
        ("app_id", json!(app_id)),
        ("app_name", json!("special_app")),
        ("call_limits", json!(50)),
    ] {
        assert_eq!(s[field], value, "{field}: {s}");
    }
    assert!(is_nanos_time(&s["apply_time"]));
    let app_special = s["id"].as_str().unwrap().to_owned();
    let user = m.call(
        "POST",
        &specials,
        Some(&json!({"object_type": "USER", "object_id": admin.project_id, "call_limits": 80})),
    );
    assert_eq!(user.status, 201, "{}", user.text);
    assert_eq!(user.json["object_name"], admin.project_id.as_str());
    assert!(user.json.get("app_id").is_none());
    let user_special = user.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        m.call("GET", &format!("/throttles/{t}"), None).json["is_inclu_special_throttle"],
        1
    );

    // Refusals, with nothing stored.
    for (body, status, code) in [
        (
            json!({"object_type": "APP", "object_id": app_id, "call_limits": 1}),
            400,
            "APIG.3308",
        ),
        (
            json!({"object_type": "APP", "object_id": RANDOM_ID, "call_limits": 1}),
            404,
            "APIG.3004",
        ),
        (
            json!({"object_type": "USER", "object_id": "u1", "call_limits": 101}),
            400,
            "APIG.2003",
        ),
        (
            json!({"object_type": "TEAM", "object_id": "u1", "call_limits": 1}),
            400,
            "APIG.2011",
        ),
        (
            json!({"object_type": "USER", "object_id": "a b", "call_limits": 1}),
            400,
            "APIG.2011",
        ),
        (
            json!({"object_type": "USER", "object_id": "u1", "call_limits": 0}),
            400,
            "APIG.2011",
        ),
        (
            json!({"object_type": "USER", "object_id": "u1"}),
            400,
            "APIG.2011",
        ),
    ] {
        let r = m.call("POST", &specials, Some(&body));
        assert_eq!(
            (r.status, r.json["error_code"].clone()),
            (status, json!(code)),
            "{body}: {}",
            r.text
        );
    }
    m.call(
        "POST",
        &format!("/throttles/{RANDOM_ID}/throttle-specials"),
        Some(&json!({"object_type": "USER", "object_id": "u1", "call_limits": 1})),
    )
    .assert_error(404, "APIG.3005", None);
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM throttle_specials"),
        2
    );

    // Lists and filters.
    let list = m.call("GET", &specials, None);
    assert_eq!(list.json["total"], 2, "{}", list.text);
    assert!(is_seconds_time(
        &list.json["throttle_specials"][0]["apply_time"]
    ));
    let apps_only = m.call("GET", &format!("{specials}?object_type=APP"), None);
    assert_eq!(apps_only.json["total"], 1);
    assert_eq!(
        apps_only.json["throttle_specials"][0]["id"],
        app_special.as_str()
    );
    assert_eq!(
        m.call("GET", &format!("{specials}?app_name=special"), None)
            .json["total"],
        1
    );
    assert_eq!(
        m.call(
            "GET",
            &format!("{specials}?user={}", admin.project_id),
            None
        )
        .json["total"],
        1
    );
    m.call("GET", &format!("{specials}?object_type=X"), None)
        .assert_error(400, "APIG.2012", Some(&invalid("object_type")));

    // Update and delete.
    let updated = m.call(
        "PUT",
        &format!("{specials}/{app_special}"),
        Some(&json!({"call_limits": 60})),
    );
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.json["call_limits"], 60);
    m.call(
        "PUT",
        &format!("{specials}/{app_special}"),
        Some(&json!({"call_limits": 101})),
    )
    .assert_error(400, "APIG.2003", None);
    let gone = format!("Excluded request throttling configuration {RANDOM_ID} does not exist");
    m.call(
        "PUT",
        &format!("{specials}/{RANDOM_ID}"),
        Some(&json!({"call_limits": 1})),
    )
    .assert_error(404, "APIG.3013", Some(&gone));
    m.call("DELETE", &format!("{specials}/{RANDOM_ID}"), None)
        .assert_error(404, "APIG.3013", Some(&gone));
    // The policy's API limit may not fall below an exception's limit.
    m.call(
        "PUT",
        &format!("/throttles/{t}"),
        Some(&policy("with_specials", 70)),
    )
    .assert_error(
        400,
        "APIG.2002",
        Some("The parameter value is too small,parameterName:api_call_limits. Please refer to the support documentation"),
    );
    assert_eq!(
        m.call("DELETE", &format!("{specials}/{user_special}"), None)
            .status,
        204
    );
    // An app's exception goes with the app; the policy's with the policy.
    assert_eq!(
        m.call("DELETE", &format!("/apps/{app_id}"), None).status,
        204
    );
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM throttle_specials"),
        0
    );
    assert_eq!(
        m.call("GET", &format!("/throttles/{t}"), None).json["is_inclu_special_throttle"],
        2
    );
}

#[test]
fn roles_and_projects() {
    let server = Server::start();
    let admin = server.admin();
    let member = server.user_session(&admin, "mia", "proj_t", "member");
    let reader = server.user_session(&admin, "rex", "proj_t", "reader");
    let other = server.user_session(&admin, "oz", "proj_other", "member");
    let mine = Mgmt {
        server: &server,
        s: &member,
    };
    let t = mine.create_ok("member_policy", 10);

    let as_reader = Mgmt {
        server: &server,
        s: &reader,
    };
    assert_eq!(
        as_reader
            .call("GET", &format!("/throttles/{t}"), None)
            .status,
        200
    );
    assert_eq!(as_reader.call("GET", "/throttles", None).json["total"], 1);
    let forbidden = Some("No permissions to request this method");
    as_reader
        .create(&policy("reader_policy", 1))
        .assert_error(403, "APIG.1005", forbidden);
    as_reader
        .call("DELETE", &format!("/throttles/{t}"), None)
        .assert_error(403, "APIG.1005", forbidden);
    as_reader
        .call(
            "POST",
            &format!("/throttles/{t}/throttle-specials"),
            Some(&json!({"object_type": "USER", "object_id": "u1", "call_limits": 1})),
        )
        .assert_error(403, "APIG.1005", forbidden);

    // Another project's policy is as missing as one that never existed, even addressed
    // through that project's own instance.
    let theirs = Mgmt {
        server: &server,
        s: &other,
    };
    theirs
        .call("GET", &format!("/throttles/{t}"), None)
        .assert_error(404, "APIG.3005", None);
    assert_eq!(theirs.call("GET", "/throttles", None).json["total"], 0);
    server
        .call(
            "GET",
            &member.apig(&format!("/throttles/{t}")),
            Some(&other.token),
            None,
        )
        .assert_error(403, "APIG.1005", None);
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM throttles"), 1);
}
