//! App authorizations, spec §3.5 with DESIGN's decisions, black-box: authorize (201, a repeat
//! pair `SKIPPED`), cancel (204), the three lists with their filters and shapes, every error
//! row (unknown app, API, environment, record; bad bodies and queries), what reaches the
//! database, `bind_num` and the app quantities, cascades, scope and roles.

mod common;
use common::*;
use serde_json::{json, Value};

const RANDOM_ID: &str = "0123456789abcdef0123456789abcdef";
const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

fn is_hex32(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn ok(r: Reply, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", r.text);
    r.json
}

fn new_app(server: &Server, s: &Session, name: &str) -> String {
    let r = server.call(
        "POST",
        &s.apig("/apps"),
        Some(&s.token),
        Some(&json!({"name": name, "remark": format!("{name} remark")})),
    );
    ok(r, 201)["id"].as_str().unwrap().to_owned()
}

fn new_group(server: &Server, s: &Session, name: &str) -> String {
    let r = server.call(
        "POST",
        &s.apig("/api-groups"),
        Some(&s.token),
        Some(&json!({"name": name})),
    );
    ok(r, 201)["id"].as_str().unwrap().to_owned()
}

fn new_env(server: &Server, s: &Session, name: &str) -> String {
    let r = server.call(
        "POST",
        &s.apig("/envs"),
        Some(&s.token),
        Some(&json!({"name": name})),
    );
    ok(r, 201)["id"].as_str().unwrap().to_owned()
}

fn new_api(
    server: &Server,
    s: &Session,
    group: &str,
    name: &str,
    uri: &str,
    auth_type: &str,
) -> String {
    let body = json!({
        "group_id": group, "name": name, "type": 1, "req_protocol": "HTTPS", "req_method": "GET",
        "req_uri": uri, "auth_type": auth_type, "backend_type": "HTTP", "remark": format!("{name} remark"),
        "backend_api": {"url_domain": "backend.example.com", "req_protocol": "HTTPS",
            "req_method": "GET", "req_uri": "/backend", "timeout": 5000}
    });
    let r = server.call("POST", &s.apig("/apis"), Some(&s.token), Some(&body));
    ok(r, 201)["id"].as_str().unwrap().to_owned()
}

/// Publishes (or takes offline) an API; returns the publication id.
fn publish(server: &Server, s: &Session, api: &str, env: &str, action: &str) -> String {
    let r = server.call(
        "POST",
        &s.apig("/apis/action"),
        Some(&s.token),
        Some(&json!({"action": action, "env_id": env, "api_id": api})),
    );
    ok(r, 201)["publish_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn authorize(server: &Server, s: &Session, env: &str, apps: &[&str], apis: &[&str]) -> Reply {
    server.call(
        "POST",
        &s.apig("/app-auths"),
        Some(&s.token),
        Some(&json!({"env_id": env, "app_ids": apps, "api_ids": apis})),
    )
}

fn query(server: &Server, s: &Session, what: &str, q: &str) -> Reply {
    server.call(
        "GET",
        &s.apig(&format!("/app-auths/{what}?{q}")),
        Some(&s.token),
        None,
    )
}

fn listed(server: &Server, s: &Session, what: &str, q: &str) -> Value {
    ok(query(server, s, what, q), 200)
}

fn bind_num(server: &Server, s: &Session, app: &str) -> i64 {
    let r = server.call(
        "GET",
        &s.apig(&format!("/apps?id={app}")),
        Some(&s.token),
        None,
    );
    ok(r, 200)["apps"][0]["bind_num"].as_i64().unwrap()
}

fn outline(server: &Server, s: &Session) -> Value {
    ok(
        server.call(
            "GET",
            &s.apig("/resources/outline/apps"),
            Some(&s.token),
            None,
        ),
        200,
    )
}

fn auth_count(server: &Server) -> i64 {
    db_scalar(server, "SELECT COUNT(*) FROM app_auths")
}

/// Pairs (app_id, api_id) of a list answer's `auths`, in order.
fn pairs(v: &Value) -> Vec<(String, String)> {
    v["auths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["app_id"].as_str().unwrap().to_owned(),
                a["api_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn api_ids(v: &Value) -> Vec<String> {
    v["apis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

fn own(a: &str, b: &str) -> (String, String) {
    (a.to_owned(), b.to_owned())
}

#[test]
fn authorize_skip_repeats_and_count() {
    let server = Server::start();
    let admin = server.admin();
    let group = new_group(&server, &admin, "group_one");
    let published = new_api(&server, &admin, &group, "api_published", "/pub", "APP");
    let draft = new_api(&server, &admin, &group, "api_draft", "/draft", "APP");
    let open = new_api(&server, &admin, &group, "api_open", "/open", "NONE");
    publish(&server, &admin, &published, RELEASE, "online");
    let app1 = new_app(&server, &admin, "app_one");
    let app2 = new_app(&server, &admin, "app_two");
    let _idle = new_app(&server, &admin, "app_idle");
    assert_eq!(
        outline(&server, &admin),
        json!({"authed_nums": 0, "unauthed_nums": 3})
    );

    // Two apps × two APIs: four new records, app by app. A repeated id counts once.
    let r = authorize(
        &server,
        &admin,
        RELEASE,
        &[&app1, &app2, &app1],
        &[&published, &draft],
    );
    let body = ok(r, 201);
    let auths = body["auths"].as_array().unwrap();
    assert_eq!(auths.len(), 4, "{body}");
    let expected_pairs = [
        own(&app1, &published),
        own(&app1, &draft),
        own(&app2, &published),
        own(&app2, &draft),
    ];
    assert_eq!(pairs(&body), expected_pairs);
    for a in auths {
        assert!(is_hex32(&a["id"]), "{a}");
        assert_eq!(a["auth_result"], json!({"status": "SUCCESS"}));
        assert!(is_nanos_time(&a["auth_time"]), "{a}");
        assert_eq!(a["auth_role"], "PROVIDER");
        assert_eq!(a["auth_tunnel"], "NORMAL");
        assert_eq!(a.as_object().unwrap().len(), 7, "{a}");
    }
    let first = auths[0].clone();
    assert_eq!(auth_count(&server), 4);
    assert_eq!(
        db_scalar(&server, &format!("SELECT COUNT(*) FROM app_auths WHERE app_id = '{app1}' AND api_id = '{published}' AND env_id = '{RELEASE}'")),
        1
    );

    // Again, with one new API: the existing pair is SKIPPED with its record, the new one
    // SUCCESS (an API that does not authenticate apps may be authorized too).
    let body = ok(
        authorize(&server, &admin, RELEASE, &[&app1], &[&published, &open]),
        201,
    );
    let auths = body["auths"].as_array().unwrap();
    assert_eq!(auths.len(), 2);
    assert_eq!(auths[0]["id"], first["id"]);
    assert_eq!(auths[0]["auth_time"], first["auth_time"]);
    assert_eq!(
        auths[0]["auth_result"],
        json!({"status": "SKIPPED", "error_code": "APIG.3316",
            "error_msg": "The API authorization record already exists.",
            "api_name": "api_published", "app_name": "app_one"})
    );
    assert_eq!(auths[1]["auth_result"]["status"], "SUCCESS");
    assert_eq!(auths[1]["api_id"], open.as_str());
    assert_eq!(auth_count(&server), 5);

    // The app list counts authorizations; the outline counts apps with any.
    assert_eq!(bind_num(&server, &admin, &app1), 3);
    assert_eq!(bind_num(&server, &admin, &app2), 2);
    let apps = ok(
        server.call("GET", &admin.apig("/apps"), Some(&admin.token), None),
        200,
    );
    let idle = apps["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "app_idle")
        .unwrap();
    assert_eq!(idle["bind_num"], 0);
    assert_eq!(
        outline(&server, &admin),
        json!({"authed_nums": 2, "unauthed_nums": 1})
    );

    // Another environment is another authorization.
    let test_env = new_env(&server, &admin, "TEST_ENV");
    let body = ok(
        authorize(&server, &admin, &test_env, &[&app1], &[&published]),
        201,
    );
    assert_eq!(body["auths"][0]["auth_result"]["status"], "SUCCESS");
    assert_ne!(body["auths"][0]["id"], first["id"]);
    assert_eq!(bind_num(&server, &admin, &app1), 4);
}

#[test]
fn the_three_lists() {
    let server = Server::start();
    let admin = server.admin();
    let g1 = new_group(&server, &admin, "group_alpha");
    let g2 = new_group(&server, &admin, "group_beta");
    let api1 = new_api(&server, &admin, &g1, "orders_list", "/orders", "APP");
    let api2 = new_api(&server, &admin, &g1, "orders_draft", "/orders/draft", "APP");
    let api3 = new_api(&server, &admin, &g2, "users_get", "/users", "APP");
    let api4 = new_api(&server, &admin, &g2, "public_ping", "/ping", "NONE");
    let pub1 = publish(&server, &admin, &api1, RELEASE, "online");
    let pub3 = publish(&server, &admin, &api3, RELEASE, "online");
    let test_env = new_env(&server, &admin, "TEST_ENV");
    let app1 = new_app(&server, &admin, "mobile_app");
    let app2 = new_app(&server, &admin, "web_app");
    ok(
        authorize(&server, &admin, RELEASE, &[&app1], &[&api1, &api2]),
        201,
    );
    ok(authorize(&server, &admin, RELEASE, &[&app2], &[&api1]), 201);
    let last = ok(
        authorize(&server, &admin, &test_env, &[&app1], &[&api3]),
        201,
    );

    // binded-apis: the APIs of one app, newest first, every ApiAuthInfo field.
    let v = listed(&server, &admin, "binded-apis", &format!("app_id={app1}"));
    assert_eq!(
        (v["total"].as_i64(), v["size"].as_i64()),
        (Some(3), Some(3))
    );
    assert_eq!(pairs(&v)[0], own(&app1, &api3));
    let newest = &v["auths"][0];
    let expected = json!({
        "id": last["auths"][0]["id"], "api_id": api3, "api_name": "users_get",
        "group_name": "group_beta", "group_id": g2, "api_type": 1, "api_remark": "users_get remark",
        "env_id": test_env, "env_name": "TEST_ENV", "auth_role": "PROVIDER",
        "auth_time": to_seconds(&last["auths"][0]["auth_time"]), "app_id": app1,
        "app_name": "mobile_app", "app_remark": "mobile_app remark", "app_type": "apig",
        "app_creator": "USER", "publish_id": "", "auth_tunnel": "NORMAL"
    });
    assert_eq!(*newest, expected);
    let by_api: Vec<&Value> = v["auths"].as_array().unwrap().iter().collect();
    let on = |api: &str| (*by_api.iter().find(|a| a["api_id"] == api).unwrap()).clone();
    assert_eq!(
        on(&api1)["publish_id"],
        pub1.as_str(),
        "published in RELEASE"
    );
    assert_eq!(on(&api1)["env_name"], "RELEASE");
    assert_eq!(on(&api2)["publish_id"], "", "not published");
    assert_ne!(pub3, "");

    // binded-apis filters.
    let f = |q: &str| {
        listed(
            &server,
            &admin,
            "binded-apis",
            &format!("app_id={app1}&{q}"),
        )["total"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(f("api_name=orders"), 2);
    assert_eq!(f("api_name=draft"), 1);
    assert_eq!(f(&format!("api_id={api3}")), 1);
    assert_eq!(f(&format!("group_id={g1}")), 2);
    assert_eq!(f("group_name=beta"), 1);
    assert_eq!(f(&format!("env_id={RELEASE}")), 2);
    assert_eq!(f(&format!("env_id={test_env}")), 1);
    assert_eq!(f("api_name=nothing"), 0);
    let page = listed(
        &server,
        &admin,
        "binded-apis",
        &format!("app_id={app1}&offset=1&limit=1"),
    );
    assert_eq!(
        (page["total"].as_i64(), page["size"].as_i64()),
        (Some(3), Some(1))
    );

    // binded-apps: the apps of an API, or all authorizations.
    let v = listed(&server, &admin, "binded-apps", &format!("api_id={api1}"));
    assert_eq!(v["total"], 2);
    let mut apps: Vec<String> = pairs(&v).into_iter().map(|p| p.0).collect();
    apps.sort();
    let mut want = vec![app1.clone(), app2.clone()];
    want.sort();
    assert_eq!(apps, want);
    assert_eq!(v["auths"][0]["api_name"], "orders_list");
    assert_eq!(listed(&server, &admin, "binded-apps", "")["total"], 4);
    assert_eq!(
        listed(
            &server,
            &admin,
            "binded-apps",
            &format!("api_id={api1}&app_name=web")
        )["auths"][0]["app_id"],
        app2.as_str()
    );
    assert_eq!(
        listed(&server, &admin, "binded-apps", &format!("app_id={app2}"))["total"],
        1
    );
    assert_eq!(
        listed(
            &server,
            &admin,
            "binded-apps",
            &format!("env_id={test_env}")
        )["total"],
        1
    );
    assert_eq!(
        listed(&server, &admin, "binded-apps", &format!("api_id={api4}"))["total"],
        0
    );

    // unbinded-apis: APP APIs the app is not authorized for in the environment.
    let v = listed(
        &server,
        &admin,
        "unbinded-apis",
        &format!("app_id={app2}&env_id={RELEASE}"),
    );
    assert_eq!(
        api_ids(&v),
        [api3.clone(), api2.clone()],
        "newest first, api1 authorized, api4 not APP"
    );
    assert_eq!(
        v["apis"][0],
        json!({"id": api3, "name": "users_get", "remark": "users_get remark", "auth_type": "APP",
            "req_uri": "/users", "group_id": g2, "group_name": "group_beta",
            "run_env_id": RELEASE, "run_env_name": "RELEASE", "publish_id": pub3})
    );
    assert_eq!(v["apis"][1]["run_env_id"], "");
    assert_eq!(v["apis"][1]["run_env_name"], "");
    assert_eq!(v["apis"][1]["publish_id"], "");
    let v = listed(
        &server,
        &admin,
        "unbinded-apis",
        &format!("app_id={app1}&env_id={test_env}"),
    );
    assert_eq!(api_ids(&v), [api2.clone(), api1.clone()]);
    assert_eq!(
        v["apis"][1]["publish_id"], "",
        "api1 is published in RELEASE, not TEST_ENV"
    );
    let u = |q: &str| {
        listed(
            &server,
            &admin,
            "unbinded-apis",
            &format!("app_id={app2}&env_id={RELEASE}&{q}"),
        )["total"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(u(&format!("group_id={g1}")), 1);
    assert_eq!(u(&format!("api_id={api3}")), 1);
    assert_eq!(u(&format!("api_id={api1}")), 0);
    assert_eq!(u("api_name=users"), 1);
    assert_eq!(u("limit=1"), 2);
    assert_eq!(
        listed(
            &server,
            &admin,
            "unbinded-apis",
            &format!("app_id={app2}&env_id={RELEASE}&limit=1")
        )["size"],
        1
    );
}

#[test]
fn cancel_and_every_error() {
    let server = Server::start();
    let admin = server.admin();
    let group = new_group(&server, &admin, "group_err");
    let api = new_api(&server, &admin, &group, "api_err", "/err", "APP");
    let app = new_app(&server, &admin, "app_err");
    let other_app = new_app(&server, &admin, "app_other");
    let body = ok(authorize(&server, &admin, RELEASE, &[&app], &[&api]), 201);
    let auth_id = body["auths"][0]["id"].as_str().unwrap().to_owned();

    // Unknown environment, app, API: 404, nothing stored (all or nothing).
    authorize(&server, &admin, RANDOM_ID, &[&other_app], &[&api]).assert_error(
        404,
        "APIG.3003",
        Some(&format!("Environment {RANDOM_ID} does not exist")),
    );
    authorize(&server, &admin, RELEASE, &[&other_app, RANDOM_ID], &[&api]).assert_error(
        404,
        "APIG.3004",
        Some(&format!("App {RANDOM_ID} does not exist")),
    );
    authorize(&server, &admin, RELEASE, &[&other_app], &[&api, RANDOM_ID]).assert_error(
        404,
        "APIG.3002",
        Some(&format!("API {RANDOM_ID} does not exist")),
    );
    assert_eq!(auth_count(&server), 1);
    assert_eq!(bind_num(&server, &admin, &other_app), 0);

    // Bodies.
    let cases = [
        ("env_id", json!({"app_ids": [app], "api_ids": [api]})),
        (
            "env_id",
            json!({"env_id": 5, "app_ids": [app], "api_ids": [api]}),
        ),
        (
            "env_id",
            json!({"env_id": "a.b", "app_ids": [app], "api_ids": [api]}),
        ),
        ("app_ids", json!({"env_id": RELEASE, "api_ids": [api]})),
        (
            "app_ids",
            json!({"env_id": RELEASE, "app_ids": [], "api_ids": [api]}),
        ),
        (
            "app_ids",
            json!({"env_id": RELEASE, "app_ids": app, "api_ids": [api]}),
        ),
        (
            "app_ids",
            json!({"env_id": RELEASE, "app_ids": ["bad id"], "api_ids": [api]}),
        ),
        ("api_ids", json!({"env_id": RELEASE, "app_ids": [app]})),
        (
            "api_ids",
            json!({"env_id": RELEASE, "app_ids": [app], "api_ids": []}),
        ),
        (
            "api_ids",
            json!({"env_id": RELEASE, "app_ids": [app], "api_ids": [1]}),
        ),
    ];
    for (field, b) in cases {
        server
            .call(
                "POST",
                &admin.apig("/app-auths"),
                Some(&admin.token),
                Some(&b),
            )
            .assert_error(400, "APIG.2011", Some(&invalid(field)));
    }
    let many: Vec<String> = (0..501).map(|i| format!("{i:032x}")).collect();
    server
        .call(
            "POST",
            &admin.apig("/app-auths"),
            Some(&admin.token),
            Some(&json!({"env_id": RELEASE, "app_ids": [app], "api_ids": many})),
        )
        .assert_error(400, "APIG.2011", Some(&invalid("api_ids")));
    server
        .call_raw(
            "POST",
            &admin.apig("/app-auths"),
            Some(&admin.token),
            "not json",
        )
        .assert_error(400, "APIG.2000", None);

    // Queries of the lists.
    query(&server, &admin, "binded-apis", "").assert_error(
        400,
        "APIG.2012",
        Some(&invalid("app_id")),
    );
    query(&server, &admin, "binded-apis", "app_id=a.b").assert_error(
        400,
        "APIG.2012",
        Some(&invalid("app_id")),
    );
    query(
        &server,
        &admin,
        "binded-apis",
        &format!("app_id={RANDOM_ID}"),
    )
    .assert_error(
        404,
        "APIG.3004",
        Some(&format!("App {RANDOM_ID} does not exist")),
    );
    query(
        &server,
        &admin,
        "binded-apis",
        &format!("app_id={app}&env_id=a.b"),
    )
    .assert_error(400, "APIG.2012", Some(&invalid("env_id")));
    query(
        &server,
        &admin,
        "binded-apis",
        &format!("app_id={app}&offset=x"),
    )
    .assert_error(400, "APIG.2012", Some(&invalid("offset")));
    query(
        &server,
        &admin,
        "unbinded-apis",
        &format!("env_id={RELEASE}"),
    )
    .assert_error(400, "APIG.2012", Some(&invalid("app_id")));
    query(&server, &admin, "unbinded-apis", &format!("app_id={app}")).assert_error(
        400,
        "APIG.2012",
        Some(&invalid("env_id")),
    );
    query(
        &server,
        &admin,
        "unbinded-apis",
        &format!("app_id={RANDOM_ID}&env_id={RELEASE}"),
    )
    .assert_error(
        404,
        "APIG.3004",
        Some(&format!("App {RANDOM_ID} does not exist")),
    );
    query(
        &server,
        &admin,
        "unbinded-apis",
        &format!("app_id={app}&env_id={RANDOM_ID}"),
    )
    .assert_error(
        404,
        "APIG.3003",
        Some(&format!("Environment {RANDOM_ID} does not exist")),
    );
    query(
        &server,
        &admin,
        "binded-apps",
        &format!("api_id={RANDOM_ID}"),
    )
    .assert_error(
        404,
        "APIG.3002",
        Some(&format!("API {RANDOM_ID} does not exist")),
    );
    query(
        &server,
        &admin,
        "binded-apps",
        &format!("app_id={RANDOM_ID}"),
    )
    .assert_error(
        404,
        "APIG.3004",
        Some(&format!("App {RANDOM_ID} does not exist")),
    );
    assert_eq!(
        listed(&server, &admin, "binded-apps", "app_name=")["total"],
        1,
        "an empty filter is no filter"
    );

    // Cancel: 204, counted out; again 404 3009; a malformed id 2012.
    assert_eq!(bind_num(&server, &admin, &app), 1);
    assert_eq!(
        outline(&server, &admin),
        json!({"authed_nums": 1, "unauthed_nums": 1})
    );
    let r = server.call(
        "DELETE",
        &admin.apig(&format!("/app-auths/{auth_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    assert_eq!(auth_count(&server), 0);
    assert_eq!(bind_num(&server, &admin, &app), 0);
    assert_eq!(
        outline(&server, &admin),
        json!({"authed_nums": 0, "unauthed_nums": 2})
    );
    assert_eq!(
        listed(&server, &admin, "binded-apis", &format!("app_id={app}"))["total"],
        0
    );
    let missing = format!("The app authorization record does not exist,id:{auth_id}");
    server
        .call(
            "DELETE",
            &admin.apig(&format!("/app-auths/{auth_id}")),
            Some(&admin.token),
            None,
        )
        .assert_error(404, "APIG.3009", Some(&missing));
    server
        .call(
            "DELETE",
            &admin.apig("/app-auths/a.b"),
            Some(&admin.token),
            None,
        )
        .assert_error(400, "APIG.2012", Some(&invalid("app_auth_id")));
    // GET on a record path is not an operation.
    server
        .call(
            "GET",
            &admin.apig(&format!("/app-auths/{auth_id}")),
            Some(&admin.token),
            None,
        )
        .assert_error(404, "APIG.0101", None);
}

#[test]
fn authorizations_go_with_their_app_api_and_environment() {
    let server = Server::start();
    let admin = server.admin();
    let group = new_group(&server, &admin, "group_gone");
    let api1 = new_api(&server, &admin, &group, "api_keep", "/keep", "APP");
    let api2 = new_api(&server, &admin, &group, "api_drop", "/drop", "APP");
    let env = new_env(&server, &admin, "STAGING");
    let app1 = new_app(&server, &admin, "app_keep");
    let app2 = new_app(&server, &admin, "app_drop");
    ok(
        authorize(&server, &admin, RELEASE, &[&app1, &app2], &[&api1, &api2]),
        201,
    );
    ok(authorize(&server, &admin, &env, &[&app1], &[&api1]), 201);
    assert_eq!(auth_count(&server), 5);

    // Deleting an app drops its authorizations.
    assert_eq!(
        server
            .call(
                "DELETE",
                &admin.apig(&format!("/apps/{app2}")),
                Some(&admin.token),
                None
            )
            .status,
        204
    );
    assert_eq!(auth_count(&server), 3);
    assert_eq!(listed(&server, &admin, "binded-apps", "")["total"], 3);

    // Deleting an (unpublished) API drops its authorizations.
    assert_eq!(
        server
            .call(
                "DELETE",
                &admin.apig(&format!("/apis/{api2}")),
                Some(&admin.token),
                None
            )
            .status,
        204
    );
    assert_eq!(auth_count(&server), 2);
    assert_eq!(bind_num(&server, &admin, &app1), 2);

    // Deleting an environment drops the authorizations in it.
    assert_eq!(
        server
            .call(
                "DELETE",
                &admin.apig(&format!("/envs/{env}")),
                Some(&admin.token),
                None
            )
            .status,
        204
    );
    assert_eq!(auth_count(&server), 1);
    let v = listed(&server, &admin, "binded-apis", &format!("app_id={app1}"));
    assert_eq!(pairs(&v), [own(&app1, &api1)]);
    assert_eq!(v["auths"][0]["env_id"], RELEASE);
}

#[test]
fn roles_and_projects() {
    let server = Server::start();
    let admin = server.admin();
    let member = server.user_session(&admin, "mel", "proj_auth", "member");
    let reader = server.user_session(&admin, "rob", "proj_auth", "reader");
    let other = server.user_session(&admin, "ora", "proj_other", "member");
    let group = new_group(&server, &member, "group_m");
    let api = new_api(&server, &member, &group, "api_m", "/m", "APP");
    let app = new_app(&server, &member, "app_m");
    let body = ok(authorize(&server, &member, RELEASE, &[&app], &[&api]), 201);
    let auth_id = body["auths"][0]["id"].as_str().unwrap().to_owned();
    let forbidden = "No permissions to request this method";

    // Readers list, never change.
    assert_eq!(
        listed(&server, &reader, "binded-apis", &format!("app_id={app}"))["total"],
        1
    );
    assert_eq!(listed(&server, &reader, "binded-apps", "")["total"], 1);
    assert_eq!(
        listed(
            &server,
            &reader,
            "unbinded-apis",
            &format!("app_id={app}&env_id={RELEASE}")
        )["total"],
        0
    );
    authorize(&server, &reader, RELEASE, &[&app], &[&api]).assert_error(
        403,
        "APIG.1005",
        Some(forbidden),
    );
    server
        .call(
            "DELETE",
            &reader.apig(&format!("/app-auths/{auth_id}")),
            Some(&reader.token),
            None,
        )
        .assert_error(403, "APIG.1005", Some(forbidden));

    // Another project: 403 on these paths; on its own instance our objects do not exist.
    server
        .call(
            "GET",
            &member.apig(&format!("/app-auths/binded-apis?app_id={app}")),
            Some(&other.token),
            None,
        )
        .assert_error(403, "APIG.1005", Some(forbidden));
    authorize(&server, &other, RELEASE, &[&app], &[&api]).assert_error(
        404,
        "APIG.3004",
        Some(&format!("App {app} does not exist")),
    );
    let their_app = new_app(&server, &other, "app_o");
    authorize(&server, &other, RELEASE, &[&their_app], &[&api]).assert_error(
        404,
        "APIG.3002",
        Some(&format!("API {api} does not exist")),
    );
    server
        .call(
            "DELETE",
            &other.apig(&format!("/app-auths/{auth_id}")),
            Some(&other.token),
            None,
        )
        .assert_error(
            404,
            "APIG.3009",
            Some(&format!(
                "The app authorization record does not exist,id:{auth_id}"
            )),
        );
    assert_eq!(listed(&server, &other, "binded-apps", "")["total"], 0);
    assert_eq!(auth_count(&server), 1);

    // Unknown instance and no token.
    let path = format!(
        "/v2/{}/apigw/instances/{RANDOM_ID}/app-auths",
        member.project_id
    );
    server
        .call(
            "POST",
            &path,
            Some(&member.token),
            Some(&json!({"env_id": RELEASE, "app_ids": [app], "api_ids": [api]})),
        )
        .assert_error(
            404,
            "APIG.3030",
            Some(&format!("The instance does not exist;id:{RANDOM_ID}")),
        );
    authorize(
        &server,
        &Session {
            token: "bad".into(),
            ..member.clone()
        },
        RELEASE,
        &[&app],
        &[&api],
    )
    .assert_error(401, "APIG.1002", None);
}
