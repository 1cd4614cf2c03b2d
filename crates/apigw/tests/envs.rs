//! Environments (spec §3.2), black-box: create, get, update, delete and list through the real
//! binary; the built-in `RELEASE`; the quota of 10; duplicates and 404s; an environment with
//! published APIs cannot be deleted, and deleting one removes its app authorizations; scoping;
//! and what reaches the database.

mod common;
use common::*;
use serde_json::{json, Value};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

fn is_hex32(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn assert_time(t: &Value, nanos: bool) {
    let t = t
        .as_str()
        .unwrap_or_else(|| panic!("time expected, got {t}"));
    assert_eq!(t.len(), if nanos { 30 } else { 20 }, "{t}");
    assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
}

/// Runs `sql` on the server's database (writes allowed) and returns column 0 of every row as
/// text.
fn db(server: &Server, sql: &str) -> Vec<String> {
    common::db_texts(server, sql)
}

fn create_env(server: &Server, s: &Session, name: &str) -> Value {
    let r = server.call(
        "POST",
        &s.apig("/envs"),
        Some(&s.token),
        Some(&json!({"name": name, "remark": "env remark"})),
    );
    assert_eq!(r.status, 201, "create env {name}: {}", r.text);
    r.json
}

fn env_not_found(id: &str) -> String {
    format!("Environment {id} does not exist")
}

#[test]
fn release_is_built_in_listed_and_locked() {
    let server = Server::start();
    let admin = server.admin();
    let l = server.call("GET", &admin.apig("/envs"), Some(&admin.token), None);
    assert_eq!(l.status, 200, "{}", l.text);
    assert_eq!(l.json["total"], 1);
    assert_eq!(l.json["size"], 1);
    assert_eq!(l.json["envs"][0]["id"], RELEASE);
    assert_eq!(l.json["envs"][0]["name"], "RELEASE");
    assert_time(&l.json["envs"][0]["create_time"], false);
    let path = admin.apig(&format!("/envs/{RELEASE}"));
    let g = server.call("GET", &path, Some(&admin.token), None);
    assert_eq!(g.status, 200);
    assert_eq!(g.json["name"], "RELEASE");
    let locked = "No permissions to perform operations on this environment.";
    server
        .call("DELETE", &path, Some(&admin.token), None)
        .assert_error(403, "APIG.1103", Some(locked));
    server
        .call(
            "PUT",
            &path,
            Some(&admin.token),
            Some(&json!({"name": "PROD"})),
        )
        .assert_error(403, "APIG.1103", Some(locked));
    server
        .call(
            "PUT",
            &path,
            Some(&admin.token),
            Some(&json!({"name": "RELEASE", "remark": "x"})),
        )
        .assert_error(403, "APIG.1103", Some(locked));
    server
        .call(
            "POST",
            &admin.apig("/envs"),
            Some(&admin.token),
            Some(&json!({"name": "RELEASE"})),
        )
        .assert_error(
            400,
            "APIG.3205",
            Some("The environment name already exists."),
        );
    // Still listed, still first, after user environments exist.
    create_env(&server, &admin, "DEV");
    let l = server.call("GET", &admin.apig("/envs"), Some(&admin.token), None);
    assert_eq!(l.json["total"], 2);
    assert_eq!(l.json["envs"][0]["id"], RELEASE);
    assert_eq!(l.json["envs"][1]["name"], "DEV");
    // Stored once per instance.
    let rows = db(
        &server,
        &format!("SELECT name FROM environments WHERE id = '{RELEASE}'"),
    );
    assert_eq!(rows, ["RELEASE"]);
}

#[test]
fn create_read_update_delete_an_environment() {
    let server = Server::start();
    let admin = server.admin();
    let c = create_env(&server, &admin, "DEV_1");
    let id = c["id"].as_str().unwrap().to_owned();
    assert!(is_hex32(&id));
    assert_eq!(c["name"], "DEV_1");
    assert_eq!(c["remark"], "env remark");
    assert_time(&c["create_time"], true);
    assert_eq!(c.as_object().unwrap().len(), 4, "{c}");

    let path = admin.apig(&format!("/envs/{id}"));
    let g = server.call("GET", &path, Some(&admin.token), None);
    assert_eq!(g.status, 200);
    assert_eq!(g.json["name"], "DEV_1");
    assert_time(&g.json["create_time"], false);

    server
        .call(
            "POST",
            &admin.apig("/envs"),
            Some(&admin.token),
            Some(&json!({"name": "DEV_1"})),
        )
        .assert_error(
            400,
            "APIG.3205",
            Some("The environment name already exists."),
        );

    let u = server.call(
        "PUT",
        &path,
        Some(&admin.token),
        Some(&json!({"name": "TEST"})),
    );
    assert_eq!(u.status, 200, "{}", u.text);
    assert_eq!(u.json["name"], "TEST");
    assert_eq!(u.json["remark"], "env remark");
    assert_time(&u.json["create_time"], true);
    let u = server.call(
        "PUT",
        &path,
        Some(&admin.token),
        Some(&json!({"name": "TEST", "remark": "changed"})),
    );
    assert_eq!(u.json["remark"], "changed");
    server
        .call(
            "PUT",
            &path,
            Some(&admin.token),
            Some(&json!({"remark": "x"})),
        )
        .assert_error(400, "APIG.2011", Some(&invalid("name")));
    create_env(&server, &admin, "OTHER");
    server
        .call(
            "PUT",
            &path,
            Some(&admin.token),
            Some(&json!({"name": "OTHER"})),
        )
        .assert_error(400, "APIG.3205", None);
    server
        .call(
            "PUT",
            &path,
            Some(&admin.token),
            Some(&json!({"name": "RELEASE"})),
        )
        .assert_error(400, "APIG.3205", None);
    assert_eq!(
        db(
            &server,
            &format!("SELECT name || '|' || remark FROM environments WHERE id = '{id}'")
        ),
        ["TEST|changed"]
    );

    let d = server.call("DELETE", &path, Some(&admin.token), None);
    assert_eq!(d.status, 204, "{}", d.text);
    for (method, body) in [
        ("GET", None),
        ("DELETE", None),
        ("PUT", Some(json!({"name": "AGAIN"}))),
    ] {
        server
            .call(method, &path, Some(&admin.token), body.as_ref())
            .assert_error(404, "APIG.3003", Some(&env_not_found(&id)));
    }
    assert!(db(
        &server,
        &format!("SELECT id FROM environments WHERE id = '{id}'")
    )
    .is_empty());
    create_env(&server, &admin, "TEST");
}

#[test]
fn environment_fields_are_validated() {
    let server = Server::start();
    let admin = server.admin();
    let post = |body: Value| {
        server.call(
            "POST",
            &admin.apig("/envs"),
            Some(&admin.token),
            Some(&body),
        )
    };
    for name in [
        json!("ab"),
        json!("1env"),
        json!("dev-1"),
        json!("a".repeat(65)),
        json!(7),
    ] {
        post(json!({"name": name})).assert_error(400, "APIG.2011", Some(&invalid("name")));
    }
    post(json!({"remark": "no name"})).assert_error(400, "APIG.2011", Some(&invalid("name")));
    post(json!({"name": "DEV", "remark": "r".repeat(256)})).assert_error(
        400,
        "APIG.2011",
        Some(&invalid("remark")),
    );
    let ok = post(json!({"name": format!("a{}", "b".repeat(63)), "remark": "r".repeat(255)}));
    assert_eq!(ok.status, 201, "{}", ok.text);
    server
        .call("GET", &admin.apig("/envs/bad.id"), Some(&admin.token), None)
        .assert_error(400, "APIG.2012", Some(&invalid("env_id")));
}

#[test]
fn at_most_ten_environments_besides_release() {
    let server = Server::start();
    let admin = server.admin();
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(
            create_env(&server, &admin, &format!("ENV_{i}"))["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    server
        .call(
            "POST",
            &admin.apig("/envs"),
            Some(&admin.token),
            Some(&json!({"name": "ENV_10"})),
        )
        .assert_error(
            403,
            "APIG.3104",
            Some("The number of environments exceeds the maximum allowed limit."),
        );
    let l = server.call(
        "GET",
        &admin.apig("/envs?limit=500"),
        Some(&admin.token),
        None,
    );
    assert_eq!(l.json["total"], 11);
    // Oldest first after RELEASE; paging.
    assert_eq!(l.json["envs"][1]["name"], "ENV_0");
    assert_eq!(l.json["envs"][10]["name"], "ENV_9");
    let p = server.call(
        "GET",
        &admin.apig("/envs?offset=2&limit=3"),
        Some(&admin.token),
        None,
    );
    assert_eq!(p.json["total"], 11);
    assert_eq!(p.json["size"], 3);
    assert_eq!(p.json["envs"][0]["name"], "ENV_1");
    // Filters.
    let f = server.call(
        "GET",
        &admin.apig("/envs?name=ENV_1"),
        Some(&admin.token),
        None,
    );
    assert_eq!(f.json["total"], 1);
    let f = server.call(
        "GET",
        &admin.apig("/envs?name=ENV_"),
        Some(&admin.token),
        None,
    );
    assert_eq!(f.json["total"], 10);
    let f = server.call(
        "GET",
        &admin.apig("/envs?name=ENV_&precise_search=name"),
        Some(&admin.token),
        None,
    );
    assert_eq!(f.json["total"], 0);
    // Deleting one frees a place; the quota is per instance.
    let d = server.call(
        "DELETE",
        &admin.apig(&format!("/envs/{}", ids[3])),
        Some(&admin.token),
        None,
    );
    assert_eq!(d.status, 204);
    create_env(&server, &admin, "ENV_10");
    let other = server.user_session(&admin, "carol", "proj_c", "member");
    create_env(&server, &other, "ENV_0");
}

#[test]
fn environment_with_published_apis_cannot_be_deleted() {
    let server = Server::start();
    let admin = server.admin();
    let env = create_env(&server, &admin, "STAGING");
    let env_id = env["id"].as_str().unwrap().to_owned();
    let groups = server.call("GET", &admin.apig("/api-groups"), Some(&admin.token), None);
    let group_id = groups.json["groups"][0]["id"].as_str().unwrap().to_owned();
    let api = server.call(
        "POST",
        &admin.apig("/apis"),
        Some(&admin.token),
        Some(&json!({
            "group_id": group_id, "name": "staged_api", "type": 1, "req_method": "GET", "req_uri": "/s",
            "auth_type": "APP", "backend_type": "HTTP",
            "backend_api": {"url_domain": "backend.test", "req_protocol": "HTTPS", "req_method": "GET",
                            "req_uri": "/s", "timeout": 1000}
        })),
    );
    assert_eq!(api.status, 201, "{}", api.text);
    let api_id = api.json["id"].as_str().unwrap().to_owned();
    let action = |action: &str| {
        server.call(
            "POST",
            &admin.apig("/apis/action"),
            Some(&admin.token),
            Some(&json!({"action": action, "env_id": env_id, "api_id": api_id})),
        )
    };
    assert_eq!(action("online").status, 201);
    let path = admin.apig(&format!("/envs/{env_id}"));
    server
        .call("DELETE", &path, Some(&admin.token), None)
        .assert_error(
            403,
            "APIG.3418",
            Some("The environment contains published APIs."),
        );
    // Renaming is allowed while published.
    let u = server.call(
        "PUT",
        &path,
        Some(&admin.token),
        Some(&json!({"name": "STAGE2"})),
    );
    assert_eq!(u.status, 200, "{}", u.text);
    let shown = server.call(
        "GET",
        &admin.apig(&format!("/apis/{api_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(shown.json["run_env_name"], "STAGE2");

    // An app authorization for this environment (written directly: the app-auth calls are a
    // separate resource) goes away with the environment.
    let app = server.call(
        "POST",
        &admin.apig("/apps"),
        Some(&admin.token),
        Some(&json!({"name": "env_app"})),
    );
    let app_id = app.json["id"].as_str().unwrap().to_owned();
    db(
        &server,
        &format!(
            "INSERT INTO app_auths (id, instance_id, app_id, api_id, env_id, auth_time) \
             VALUES ('auth1', '{}', '{app_id}', '{api_id}', '{env_id}', 1) RETURNING id",
            admin.instance_id
        ),
    );
    assert_eq!(action("offline").status, 201);
    let d = server.call("DELETE", &path, Some(&admin.token), None);
    assert_eq!(d.status, 204, "{}", d.text);
    assert!(db(
        &server,
        &format!("SELECT id FROM app_auths WHERE env_id = '{env_id}'")
    )
    .is_empty());
    let a = server.call(
        "GET",
        &admin.apig(&format!("/apps/{app_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(a.status, 200);
    // The API itself is untouched.
    let shown = server.call(
        "GET",
        &admin.apig(&format!("/apis/{api_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(shown.status, 200);
    assert!(shown.json.get("run_env_id").is_none());
}

#[test]
fn environments_are_scoped_by_project_and_role() {
    let server = Server::start();
    let admin = server.admin();
    let env = create_env(&server, &admin, "PRIVATE");
    let id = env["id"].as_str().unwrap();
    let other = server.user_session(&admin, "dave", "proj_d", "admin");
    server
        .call(
            "GET",
            &other.apig(&format!("/envs/{id}")),
            Some(&other.token),
            None,
        )
        .assert_error(404, "APIG.3003", Some(&env_not_found(id)));
    server
        .call(
            "DELETE",
            &other.apig(&format!("/envs/{id}")),
            Some(&other.token),
            None,
        )
        .assert_error(404, "APIG.3003", None);
    let l = server.call("GET", &other.apig("/envs"), Some(&other.token), None);
    assert_eq!(l.json["total"], 1, "only their RELEASE");
    // Same name in another instance is fine.
    create_env(&server, &other, "PRIVATE");
    server
        .call("GET", &admin.apig("/envs"), Some(&other.token), None)
        .assert_error(403, "APIG.1005", None);
    let reader = server.user_session(&admin, "rex", "admin", "reader");
    assert_eq!(
        server
            .call("GET", &admin.apig("/envs"), Some(&reader.token), None)
            .status,
        200
    );
    server
        .call(
            "POST",
            &admin.apig("/envs"),
            Some(&reader.token),
            Some(&json!({"name": "NOPE"})),
        )
        .assert_error(403, "APIG.1005", None);
    server
        .call(
            "PUT",
            &admin.apig(&format!("/envs/{id}")),
            Some(&reader.token),
            Some(&json!({"name": "NOPE"})),
        )
        .assert_error(403, "APIG.1005", None);
}
