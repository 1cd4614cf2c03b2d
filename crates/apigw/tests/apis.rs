//! APIs and publishing (spec §3.3, §3.4), black-box: create, get, update, delete, list with its
//! filters, publish and take offline through the real binary; the answer fields; validation of
//! every part of a definition; duplicates, 404s and 403s; the published copy that later edits do
//! not touch; app authorizations removed with their API; scoping; and what reaches the database.

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

fn db_json(server: &Server, sql: &str) -> Value {
    let rows = db(server, sql);
    assert_eq!(rows.len(), 1, "{sql}: {rows:?}");
    serde_json::from_str(&rows[0]).unwrap()
}

fn default_group(server: &Server, s: &Session) -> String {
    let l = server.call(
        "GET",
        &s.apig("/api-groups?name=DEFAULT&precise_search=name"),
        Some(&s.token),
        None,
    );
    l.json["groups"][0]["id"].as_str().unwrap().to_owned()
}

fn create_group(server: &Server, s: &Session, name: &str) -> String {
    let r = server.call(
        "POST",
        &s.apig("/api-groups"),
        Some(&s.token),
        Some(&json!({"name": name})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["id"].as_str().unwrap().to_owned()
}

fn create_env(server: &Server, s: &Session, name: &str) -> String {
    let r = server.call(
        "POST",
        &s.apig("/envs"),
        Some(&s.token),
        Some(&json!({"name": name})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["id"].as_str().unwrap().to_owned()
}

/// The documented web-backend example (with our auth types), in group `group_id`.
fn full_api(group_id: &str) -> Value {
    json!({
        "group_id": group_id,
        "match_mode": "NORMAL",
        "name": "Api_http",
        "auth_type": "APP",
        "auth_opt": {"app_code_auth_type": "HEADER"},
        "backend_type": "HTTP",
        "backend_api": {
            "url_domain": "192.168.189.156:12346",
            "req_protocol": "HTTP",
            "req_method": "GET",
            "req_uri": "/test/benchmark/{uid}",
            "timeout": 5000,
            "retry_count": "-1"
        },
        "req_protocol": "HTTPS",
        "req_uri": "/test/http/{user_id}",
        "remark": "Web backend API",
        "type": 1,
        "version": "V0.0.1",
        "req_method": "GET",
        "result_normal_sample": "Example success response",
        "tags": ["webApi"],
        "cors": false,
        "req_params": [
            {"name": "user_id", "location": "PATH", "type": "STRING", "required": 1},
            {"name": "query_demo", "location": "QUERY", "type": "STRING", "required": 1},
            {"name": "header-demo", "location": "HEADER", "type": "STRING", "required": 2}
        ],
        "backend_params": [
            {"name": "uid", "value": "user_id", "location": "PATH", "origin": "REQUEST"},
            {"name": "backHeader", "value": "header-demo", "location": "HEADER", "origin": "REQUEST"},
            {"name": "backQuery", "value": "query_demo", "location": "QUERY", "origin": "REQUEST"},
            {"name": "X-CONSTANT-HEADER", "value": "demo", "location": "HEADER", "origin": "CONSTANT", "remark": "constant_demo"},
            {"name": "app-id", "value": "$context.appId", "location": "HEADER", "origin": "SYSTEM", "remark": "App ID of the API caller"}
        ]
    })
}

/// A small API `name` at `method uri` in group `group_id`.
fn small_api(group_id: &str, name: &str, method: &str, uri: &str) -> Value {
    json!({
        "group_id": group_id, "name": name, "type": 1, "req_protocol": "HTTPS", "req_method": method,
        "req_uri": uri, "auth_type": "NONE", "backend_type": "HTTP",
        "backend_api": {"url_domain": "backend.test:8080", "req_protocol": "HTTP", "req_method": method,
                        "req_uri": "/b", "timeout": 5000}
    })
}

fn create_api(server: &Server, s: &Session, body: &Value) -> Value {
    let r = server.call("POST", &s.apig("/apis"), Some(&s.token), Some(body));
    assert_eq!(r.status, 201, "create api {body}: {}", r.text);
    r.json
}

fn act(server: &Server, s: &Session, action: &str, api_id: &str, env_id: &str) -> Reply {
    server.call(
        "POST",
        &s.apig("/apis/action"),
        Some(&s.token),
        Some(&json!({"action": action, "api_id": api_id, "env_id": env_id, "remark": "by test"})),
    )
}

fn api_not_found(id: &str) -> String {
    format!("API {id} does not exist")
}

#[test]
fn create_an_api_and_read_it_back() {
    let server = Server::start();
    let admin = server.admin();
    let group_id = create_group(&server, &admin, "api_group_001");
    let body = full_api(&group_id);
    let c = create_api(&server, &admin, &body);
    let id = c["id"].as_str().unwrap().to_owned();
    assert!(is_hex32(&id));
    // Request fields come back as sent.
    for key in [
        "group_id",
        "match_mode",
        "name",
        "auth_type",
        "auth_opt",
        "backend_type",
        "req_protocol",
        "req_uri",
        "remark",
        "type",
        "version",
        "req_method",
        "result_normal_sample",
        "tags",
        "cors",
        "backend_params",
    ] {
        assert_eq!(c[key], body[key], "{key}");
    }
    // Request parameters as sent, with the defaults of the validation switch (2: off) and of
    // pass-through (1: on) filled in.
    let mut params = body["req_params"].clone();
    for p in params.as_array_mut().unwrap() {
        p["valid_enable"] = json!(2);
        p["pass_through"] = json!(1);
    }
    assert_eq!(c["req_params"], params);
    assert_eq!(c["status"], 1);
    assert_eq!(c["group_name"], "api_group_001");
    assert_eq!(c["group_version"], "V1");
    assert_eq!(c["arrange_necessary"], 2);
    assert_time(&c["register_time"], true);
    assert_time(&c["update_time"], true);
    let b = &c["backend_api"];
    assert!(is_hex32(b["id"].as_str().unwrap()));
    assert_eq!(b["status"], 1);
    assert_eq!(b["url_domain"], "192.168.189.156:12346");
    assert_eq!(b["timeout"], 5000);
    assert_eq!(b["retry_count"], "-1");
    assert_eq!(b["vpc_channel_status"], 2);
    assert_time(&b["register_time"], true);
    let g = &c["api_group_info"];
    assert_eq!(g["id"], group_id.as_str());
    assert_eq!(g["name"], "api_group_001");
    assert_eq!(g["sl_domain"], format!("{group_id}.apic.default").as_str());
    assert_eq!(g["status"], 1);
    for key in ["run_env_id", "run_env_name", "publish_id", "publish_time"] {
        assert!(c.get(key).is_none(), "{key} before publishing");
    }

    let g = server.call(
        "GET",
        &admin.apig(&format!("/apis/{id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(g.status, 200, "{}", g.text);
    assert_time(&g.json["register_time"], false);
    assert_time(&g.json["backend_api"]["update_time"], false);
    assert_eq!(g.json["backend_api"]["id"], c["backend_api"]["id"]);
    assert_eq!(g.json["req_params"], params);
    assert_eq!(g.json["backend_params"], body["backend_params"]);

    // Stored: indexed columns next to the validated definition.
    let row = db(
        &server,
        &format!(
            "SELECT group_id || '|' || name || '|' || req_method || '|' || req_uri || '|' || route_key \
             || '|' || auth_type || '|' || api_type FROM apis WHERE id = '{id}'"
        ),
    );
    assert_eq!(
        row,
        [format!(
            "{group_id}|Api_http|GET|/test/http/{{user_id}}|GET /test/http/{{}}|APP|1"
        )]
    );
    let stored = db_json(
        &server,
        &format!("SELECT definition FROM apis WHERE id = '{id}'"),
    );
    assert_eq!(stored["backend_params"][4]["value"], "$context.appId");
    assert_eq!(stored["auth_opt"]["app_code_auth_type"], "HEADER");

    // Defaults of a minimal API.
    let m = create_api(
        &server,
        &admin,
        &json!({"group_id": group_id, "name": "minimal", "type": 2, "req_method": "ANY", "req_uri": "/",
                "auth_type": "NONE", "backend_type": "HTTP",
                "backend_api": {"url_domain": "example.com", "req_protocol": "HTTPS", "req_method": "ANY",
                                "req_uri": "/", "timeout": 1}}),
    );
    assert_eq!(m["req_protocol"], "HTTPS");
    assert_eq!(m["match_mode"], "NORMAL");
    assert_eq!(m["auth_opt"]["app_code_auth_type"], "DISABLE");
    assert_eq!(m["cors"], false);
    assert_eq!(m["tags"], json!([]));
    assert_eq!(m["req_params"], json!([]));
    assert_eq!(m["backend_api"]["retry_count"], "-1");
    assert_eq!(m["remark"], "");
}

#[test]
fn every_part_of_a_definition_is_validated() {
    let server = Server::start();
    let admin = server.admin();
    let group_id = default_group(&server, &admin);
    let post =
        |body: &Value| server.call("POST", &admin.apig("/apis"), Some(&admin.token), Some(body));
    let base = full_api(&group_id);
    let cases: Vec<(Value, &str)> = vec![
        (json!({"group_id": null}), "group_id"),
        (json!({"name": "ab"}), "name"),
        (json!({"name": "bad name!"}), "name"),
        (json!({"type": 3}), "type"),
        (json!({"version": "v".repeat(17)}), "version"),
        // A gRPC frontend needs a gRPC backend, and a gRPC backend a gRPC protocol.
        (json!({"req_protocol": "GRPCS"}), "backend_type"),
        (json!({"req_method": "TRACE"}), "req_method"),
        (json!({"req_uri": "no/slash"}), "req_uri"),
        (
            json!({"req_uri": format!("/{}", "a".repeat(512))}),
            "req_uri",
        ),
        (json!({"req_uri": "/a//b"}), "req_uri"),
        (json!({"match_mode": "PREFIX"}), "match_mode"),
        (json!({"auth_type": "IAM"}), "auth_type"),
        (
            json!({"auth_type": "AUTHORIZER", "authorizer_id": "0d982c1ac3da493dae47627b6439fc5c"}),
            "auth_type",
        ),
        (json!({"auth_type": "NONE"}), "auth_opt.app_code_auth_type"),
        (
            json!({"auth_opt": {"app_code_auth_type": "QUERY"}}),
            "auth_opt.app_code_auth_type",
        ),
        (json!({"backend_type": "FUNCTION"}), "backend_type"),
        (json!({"backend_type": "MOCK"}), "backend_api"),
        (json!({"backend_type": "GRPC"}), "backend_api.req_protocol"),
        (json!({"backend_api": null}), "backend_api"),
        (json!({"remark": "r".repeat(256)}), "remark"),
        (json!({"tags": ["ok", "9bad"]}), "tags"),
        (json!({"cors": "false"}), "cors"),
        (json!({"req_params": "none"}), "req_params"),
        (
            json!({"req_params": [{"name": "x", "location": "BODY"}]}),
            "req_params[0].location",
        ),
    ];
    for (patch, field) in cases {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        post(&body).assert_error(400, "APIG.2011", Some(&invalid(field)));
    }
    let backend_cases: Vec<(&str, Value, &str)> = vec![
        ("url_domain", json!("bad host:80"), "backend_api.url_domain"),
        ("url_domain", json!("a.com:99999"), "backend_api.url_domain"),
        (
            "url_domain",
            json!(format!("{}.com", "a".repeat(252))),
            "backend_api.url_domain",
        ),
        ("req_protocol", json!("GRPCS"), "backend_api.req_protocol"),
        ("req_method", json!("FETCH"), "backend_api.req_method"),
        ("req_uri", json!("relative"), "backend_api.req_uri"),
        ("timeout", json!(0), "backend_api.timeout"),
        ("timeout", json!(600001), "backend_api.timeout"),
        ("retry_count", json!("11"), "backend_api.retry_count"),
        (
            "vpc_channel_status",
            json!(3),
            "backend_api.vpc_channel_status",
        ),
        // A channel backend names its channel.
        (
            "vpc_channel_status",
            json!(1),
            "backend_api.vpc_channel_info",
        ),
    ];
    for (key, value, field) in backend_cases {
        let mut body = base.clone();
        body["backend_api"][key] = value;
        post(&body).assert_error(400, "APIG.2011", Some(&invalid(field)));
    }
    // Parameters: an unknown system parameter, an undeclared request source, a backend path
    // parameter without a source.
    let mut body = base.clone();
    body["backend_params"][4]["value"] = json!("$context.secret");
    post(&body).assert_error(400, "APIG.2011", Some(&invalid("backend_params[4].value")));
    let mut body = base.clone();
    body["backend_params"][1]["value"] = json!("undeclared");
    post(&body).assert_error(400, "APIG.2011", Some(&invalid("backend_params[1].value")));
    let mut body = base.clone();
    body["backend_params"].as_array_mut().unwrap().remove(0);
    post(&body).assert_error(400, "APIG.2011", Some(&invalid("backend_api.req_uri")));
    // Malformed JSON and an empty body.
    server
        .call_raw("POST", &admin.apig("/apis"), Some(&admin.token), "{")
        .assert_error(400, "APIG.2000", None);
    server
        .call_raw("POST", &admin.apig("/apis"), Some(&admin.token), "")
        .assert_error(400, "APIG.2011", Some(&invalid("group_id")));
    // Nothing was stored.
    assert!(db(&server, "SELECT id FROM apis").is_empty());
    // The unchanged example is fine.
    create_api(&server, &admin, &base);
}

#[test]
fn a_grpc_api_follows_huaweis_rules_and_is_stored_as_given() {
    let server = Server::start();
    let admin = server.admin();
    let group_id = default_group(&server, &admin);
    let post =
        |body: &Value| server.call("POST", &admin.apig("/apis"), Some(&admin.token), Some(body));
    let grpc = json!({
        "group_id": group_id, "name": "greeter", "type": 1, "req_protocol": "GRPCS",
        "req_method": "POST", "req_uri": "/helloworld.Greeter/SayHello", "match_mode": "NORMAL",
        "auth_type": "APP", "auth_opt": {"app_code_auth_type": "HEADER"}, "backend_type": "GRPC",
        "backend_api": {"url_domain": "grpc.example.com", "req_protocol": "GRPCS",
                        "req_method": "POST", "req_uri": "/", "timeout": 3000},
        "backend_params": [{"name": "x-app", "value": "$context.appId", "location": "HEADER",
                            "origin": "SYSTEM"}]
    });
    let created = post(&grpc);
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().unwrap();
    let shown = server.call(
        "GET",
        &admin.apig(&format!("/apis/{id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(shown.status, 200, "{}", shown.text);
    for m in [&created.json, &shown.json] {
        assert_eq!(m["req_protocol"], "GRPCS");
        assert_eq!(m["backend_type"], "GRPC");
        assert_eq!(m["backend_api"]["req_protocol"], "GRPCS");
        assert_eq!(m["backend_api"]["req_uri"], "/");
        assert_eq!(m["backend_params"][0]["name"], "x-app");
    }

    let cases: Vec<(Value, &str)> = vec![
        (json!({"req_method": "GET"}), "req_method"),
        (json!({"req_protocol": "HTTPS"}), "req_protocol"),
        (
            json!({"req_uri": "/helloworld.Greeter/SayHello/x"}),
            "req_uri",
        ),
        (json!({"req_uri": "/helloworld.Greeter"}), "match_mode"),
        (json!({"backend_type": "HTTP"}), "backend_api.req_protocol"),
        (
            json!({"backend_params": [{"name": "q", "value": "1", "location": "QUERY", "origin": "CONSTANT"}]}),
            "backend_params[0].location",
        ),
    ];
    for (patch, field) in cases {
        let mut body = grpc.clone();
        body["name"] = json!("greeter_bad");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        post(&body).assert_error(400, "APIG.2011", Some(&invalid(field)));
    }
    for (key, value, field) in [
        ("req_protocol", json!("HTTP"), "backend_api.req_protocol"),
        ("req_method", json!("ANY"), "backend_api.req_method"),
        (
            "req_uri",
            json!("/helloworld.Greeter"),
            "backend_api.req_uri",
        ),
    ] {
        let mut body = grpc.clone();
        body["name"] = json!("greeter_bad");
        body["backend_api"][key] = value;
        post(&body).assert_error(400, "APIG.2011", Some(&invalid(field)));
    }
    // A prefix of a service (or of everything) is a gRPC API too.
    let mut service = grpc.clone();
    service["name"] = json!("greeter_service");
    service["req_uri"] = json!("/helloworld.Greeter");
    service["match_mode"] = json!("SWA");
    let created = post(&service);
    assert_eq!(created.status, 201, "{}", created.text);
}

#[test]
fn duplicates_updates_and_not_found() {
    let server = Server::start();
    let admin = server.admin();
    let g1 = create_group(&server, &admin, "group_one");
    let g2 = create_group(&server, &admin, "group_two");
    let a = create_api(
        &server,
        &admin,
        &small_api(&g1, "users", "GET", "/users/{id}"),
    );
    let a_id = a["id"].as_str().unwrap().to_owned();

    // Unknown group.
    let missing = "0123456789abcdef0123456789abcdef";
    server
        .call(
            "POST",
            &admin.apig("/apis"),
            Some(&admin.token),
            Some(&small_api(missing, "x_api", "GET", "/x")),
        )
        .assert_error(
            404,
            "APIG.3001",
            Some(&format!("API group {missing} does not exist")),
        );
    // Same name in the group; same method and path (parameter names do not matter).
    server
        .call(
            "POST",
            &admin.apig("/apis"),
            Some(&admin.token),
            Some(&small_api(&g1, "users", "POST", "/other")),
        )
        .assert_error(400, "APIG.3202", Some("The API name already exists."));
    server
        .call(
            "POST",
            &admin.apig("/apis"),
            Some(&admin.token),
            Some(&small_api(&g1, "users_2", "GET", "/users/{uid}")),
        )
        .assert_error(400, "APIG.3301", Some("The API already exists."));
    // Other method, or other group: fine.
    create_api(
        &server,
        &admin,
        &small_api(&g1, "users_post", "POST", "/users/{id}"),
    );
    create_api(
        &server,
        &admin,
        &small_api(&g2, "users", "GET", "/users/{id}"),
    );
    let b = create_api(&server, &admin, &small_api(&g1, "books", "GET", "/books"));
    let b_id = b["id"].as_str().unwrap().to_owned();

    // Update: the whole definition; nanosecond times; register_time kept.
    let path = admin.apig(&format!("/apis/{b_id}"));
    let mut changed = small_api(&g1, "books_v2", "PUT", "/books/{isbn}");
    changed["remark"] = json!("changed");
    changed["backend_api"]["timeout"] = json!(9000);
    let u = server.call("PUT", &path, Some(&admin.token), Some(&changed));
    assert_eq!(u.status, 200, "{}", u.text);
    assert_eq!(u.json["name"], "books_v2");
    assert_eq!(u.json["req_method"], "PUT");
    assert_eq!(u.json["remark"], "changed");
    assert_eq!(u.json["backend_api"]["timeout"], 9000);
    assert_eq!(u.json["backend_api"]["id"], b["backend_api"]["id"]);
    assert_eq!(
        u.json["register_time"].as_str().unwrap()[..19],
        b["register_time"].as_str().unwrap()[..19]
    );
    assert_time(&u.json["update_time"], true);
    assert_eq!(
        db(
            &server,
            &format!("SELECT name || '|' || route_key FROM apis WHERE id = '{b_id}'")
        ),
        ["books_v2|PUT /books/{}"]
    );
    // Keeping its own name and path is not a duplicate.
    let again = server.call("PUT", &path, Some(&admin.token), Some(&changed));
    assert_eq!(again.status, 200, "{}", again.text);
    // Duplicates on update.
    server
        .call(
            "PUT",
            &path,
            Some(&admin.token),
            Some(&small_api(&g1, "users", "GET", "/elsewhere")),
        )
        .assert_error(400, "APIG.3202", None);
    server
        .call(
            "PUT",
            &path,
            Some(&admin.token),
            Some(&small_api(&g1, "books_v2", "GET", "/users/{x}")),
        )
        .assert_error(400, "APIG.3301", None);
    // Moving to another group is refused; a bad definition is refused.
    server
        .call(
            "PUT",
            &path,
            Some(&admin.token),
            Some(&small_api(&g2, "books_v2", "GET", "/books")),
        )
        .assert_error(400, "APIG.2011", Some(&invalid("group_id")));
    let mut bad = changed.clone();
    bad["backend_api"]["timeout"] = json!(-5);
    server
        .call("PUT", &path, Some(&admin.token), Some(&bad))
        .assert_error(400, "APIG.2011", Some(&invalid("backend_api.timeout")));

    // 404s name the API.
    let gone = admin.apig(&format!("/apis/{missing}"));
    server
        .call("GET", &gone, Some(&admin.token), None)
        .assert_error(404, "APIG.3002", Some(&api_not_found(missing)));
    server
        .call("DELETE", &gone, Some(&admin.token), None)
        .assert_error(404, "APIG.3002", Some(&api_not_found(missing)));
    server
        .call("PUT", &gone, Some(&admin.token), Some(&changed))
        .assert_error(404, "APIG.3002", Some(&api_not_found(missing)));
    server
        .call("GET", &admin.apig("/apis/bad.id"), Some(&admin.token), None)
        .assert_error(400, "APIG.2012", Some(&invalid("api_id")));

    // Delete.
    let d = server.call(
        "DELETE",
        &admin.apig(&format!("/apis/{a_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(d.status, 204, "{}", d.text);
    server
        .call(
            "GET",
            &admin.apig(&format!("/apis/{a_id}")),
            Some(&admin.token),
            None,
        )
        .assert_error(404, "APIG.3002", Some(&api_not_found(&a_id)));
    assert!(db(&server, &format!("SELECT id FROM apis WHERE id = '{a_id}'")).is_empty());
    // Its name and path are free again.
    create_api(
        &server,
        &admin,
        &small_api(&g1, "users", "GET", "/users/{id}"),
    );
}

#[test]
fn list_apis_with_filters_and_paging() {
    let server = Server::start();
    let admin = server.admin();
    let g1 = create_group(&server, &admin, "group_one");
    let g2 = create_group(&server, &admin, "group_two");
    let mut specs = vec![
        (g1.clone(), "list_users", "GET", "/users"),
        (g1.clone(), "create_user", "POST", "/users"),
        (g1.clone(), "user_books", "GET", "/users/{id}/books"),
        (g2.clone(), "orders", "GET", "/orders"),
    ];
    let mut ids = Vec::new();
    for (g, name, method, uri) in specs.drain(..) {
        let mut body = small_api(&g, name, method, uri);
        if name == "create_user" {
            body["type"] = json!(2);
            body["auth_type"] = json!("APP");
            body["req_protocol"] = json!("BOTH");
        }
        ids.push(
            create_api(&server, &admin, &body)["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let list = |q: &str| {
        let r = server.call(
            "GET",
            &admin.apig(&format!("/apis{q}")),
            Some(&admin.token),
            None,
        );
        assert_eq!(r.status, 200, "{q}: {}", r.text);
        r.json
    };
    let names = |v: &Value| -> Vec<String> {
        v["apis"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = list("");
    assert_eq!(all["total"], 4);
    assert_eq!(all["size"], 4);
    assert_eq!(
        names(&all),
        ["orders", "user_books", "create_user", "list_users"],
        "newest first"
    );
    assert_time(&all["apis"][0]["register_time"], false);
    assert_eq!(all["apis"][0]["group_name"], "group_two");
    assert_eq!(names(&list(&format!("?id={}", ids[1]))), ["create_user"]);
    assert_eq!(
        names(&list("?name=user")),
        ["user_books", "create_user", "list_users"]
    );
    assert_eq!(
        names(&list("?name=user&precise_search=name")),
        Vec::<String>::new()
    );
    assert_eq!(
        names(&list("?name=list_users&precise_search=name")),
        ["list_users"]
    );
    assert_eq!(names(&list(&format!("?group_id={g2}"))), ["orders"]);
    assert_eq!(names(&list("?req_method=POST")), ["create_user"]);
    assert_eq!(names(&list("?req_protocol=BOTH")), ["create_user"]);
    assert_eq!(names(&list("?auth_type=APP")), ["create_user"]);
    assert_eq!(names(&list("?type=2")), ["create_user"]);
    assert_eq!(
        names(&list("?req_uri=/users")),
        ["user_books", "create_user", "list_users"]
    );
    assert_eq!(
        names(&list("?req_uri=/users&precise_search=name,req_uri")),
        ["create_user", "list_users"]
    );
    let page = list("?offset=1&limit=2");
    assert_eq!(page["total"], 4);
    assert_eq!(names(&page), ["user_books", "create_user"]);
    // Published in an environment.
    let dev = create_env(&server, &admin, "DEV");
    assert_eq!(act(&server, &admin, "online", &ids[0], &dev).status, 201);
    assert_eq!(act(&server, &admin, "online", &ids[3], RELEASE).status, 201);
    assert_eq!(names(&list(&format!("?env_id={dev}"))), ["list_users"]);
    assert_eq!(names(&list(&format!("?env_id={RELEASE}"))), ["orders"]);
    let listed = list(&format!("?env_id={dev}"));
    assert_eq!(listed["apis"][0]["run_env_name"], "DEV");
    server
        .call(
            "GET",
            &admin.apig("/apis?type=public"),
            Some(&admin.token),
            None,
        )
        .assert_error(400, "APIG.2012", Some(&invalid("type")));
    server
        .call(
            "GET",
            &admin.apig("/apis?offset=x"),
            Some(&admin.token),
            None,
        )
        .assert_error(400, "APIG.2012", Some(&invalid("offset")));
}

#[test]
fn publish_serves_a_copy_until_published_again() {
    let server = Server::start();
    let admin = server.admin();
    let group_id = default_group(&server, &admin);
    let api = create_api(&server, &admin, &full_api(&group_id));
    let api_id = api["id"].as_str().unwrap().to_owned();
    let dev = create_env(&server, &admin, "DEV");

    let p = act(&server, &admin, "online", &api_id, RELEASE);
    assert_eq!(p.status, 201, "{}", p.text);
    assert_eq!(p.json["api_id"], api_id.as_str());
    assert_eq!(p.json["api_name"], "Api_http");
    assert_eq!(p.json["env_id"], RELEASE);
    assert_eq!(p.json["remark"], "by test");
    assert!(is_hex32(p.json["publish_id"].as_str().unwrap()));
    assert!(is_hex32(p.json["version_id"].as_str().unwrap()));
    assert_time(&p.json["publish_time"], true);
    let release_publish = p.json["publish_id"].as_str().unwrap().to_owned();

    let shown = server.call(
        "GET",
        &admin.apig(&format!("/apis/{api_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(shown.json["run_env_id"], RELEASE);
    assert_eq!(shown.json["run_env_name"], "RELEASE");
    assert_eq!(shown.json["publish_id"], release_publish.as_str());
    assert_time(&shown.json["publish_time"], false);

    // In two environments: `|`-joined, oldest publication first.
    let d = act(&server, &admin, "online", &api_id, &dev);
    assert_eq!(d.status, 201);
    let dev_publish = d.json["publish_id"].as_str().unwrap().to_owned();
    let shown = server.call(
        "GET",
        &admin.apig(&format!("/apis/{api_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(
        shown.json["run_env_id"],
        format!("{RELEASE}|{dev}").as_str()
    );
    assert_eq!(shown.json["run_env_name"], "RELEASE|DEV");
    assert_eq!(
        shown.json["publish_id"],
        format!("{release_publish}|{dev_publish}").as_str()
    );
    assert_eq!(
        shown.json["publish_time"]
            .as_str()
            .unwrap()
            .split('|')
            .count(),
        2
    );

    // The published copy is what the definition was; an edit does not change it.
    let published = |env: &str| {
        db_json(
            &server,
            &format!("SELECT definition FROM publications WHERE api_id = '{api_id}' AND env_id = '{env}'"),
        )
    };
    assert_eq!(published(RELEASE)["req_uri"], "/test/http/{user_id}");
    let mut edited = full_api(&group_id);
    edited["req_uri"] = json!("/v2/http/{user_id}");
    edited["backend_api"]["timeout"] = json!(7000);
    let u = server.call(
        "PUT",
        &admin.apig(&format!("/apis/{api_id}")),
        Some(&admin.token),
        Some(&edited),
    );
    assert_eq!(u.status, 200, "{}", u.text);
    assert_eq!(
        u.json["run_env_id"],
        format!("{RELEASE}|{dev}").as_str(),
        "still published"
    );
    assert_eq!(published(RELEASE)["req_uri"], "/test/http/{user_id}");
    assert_eq!(published(RELEASE)["backend_api"]["timeout"], 5000);
    // Republishing replaces the copy with a new publication and version.
    let r = act(&server, &admin, "online", &api_id, RELEASE);
    assert_eq!(r.status, 201);
    assert_ne!(r.json["publish_id"], release_publish.as_str());
    assert_ne!(r.json["version_id"], p.json["version_id"]);
    assert_eq!(published(RELEASE)["req_uri"], "/v2/http/{user_id}");
    assert_eq!(published(dev.as_str())["req_uri"], "/test/http/{user_id}");
    assert_eq!(
        db(
            &server,
            &format!("SELECT id FROM publications WHERE api_id = '{api_id}' ORDER BY publish_time")
        ),
        [
            dev_publish.clone(),
            r.json["publish_id"].as_str().unwrap().to_owned()
        ]
    );

    // A published API cannot be deleted.
    server
        .call(
            "DELETE",
            &admin.apig(&format!("/apis/{api_id}")),
            Some(&admin.token),
            None,
        )
        .assert_error(
            403,
            "APIG.3416",
            Some("The API cannot be deleted because it has been published."),
        );

    // Offline: answers with the removed publication; a second time is 404 APIG.3015.
    let o = act(&server, &admin, "offline", &api_id, &dev);
    assert_eq!(o.status, 201, "{}", o.text);
    assert_eq!(o.json["publish_id"], dev_publish.as_str());
    assert_eq!(o.json["version_id"], d.json["version_id"]);
    assert_eq!(o.json["env_id"], dev.as_str());
    assert_time(&o.json["publish_time"], true);
    act(&server, &admin, "offline", &api_id, &dev).assert_error(
        404,
        "APIG.3015",
        Some(&format!(
            "The API publication record does not exist,api_id:{api_id},env_id:{dev}"
        )),
    );
    let shown = server.call(
        "GET",
        &admin.apig(&format!("/apis/{api_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(shown.json["run_env_id"], RELEASE);
    assert_eq!(
        act(&server, &admin, "offline", &api_id, RELEASE).status,
        201
    );
    assert!(db(
        &server,
        &format!("SELECT id FROM publications WHERE api_id = '{api_id}'")
    )
    .is_empty());
    let d = server.call(
        "DELETE",
        &admin.apig(&format!("/apis/{api_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(d.status, 204, "{}", d.text);
}

#[test]
fn publish_action_errors() {
    let server = Server::start();
    let admin = server.admin();
    let group_id = default_group(&server, &admin);
    let api = create_api(
        &server,
        &admin,
        &small_api(&group_id, "pub_api", "GET", "/p"),
    );
    let api_id = api["id"].as_str().unwrap().to_owned();
    let missing = "0123456789abcdef0123456789abcdef";
    let post = |body: Value| {
        server.call(
            "POST",
            &admin.apig("/apis/action"),
            Some(&admin.token),
            Some(&body),
        )
    };
    post(json!({"action": "publish", "env_id": RELEASE, "api_id": api_id})).assert_error(
        400,
        "APIG.2011",
        Some(&invalid("action")),
    );
    post(json!({"env_id": RELEASE, "api_id": api_id})).assert_error(
        400,
        "APIG.2011",
        Some(&invalid("action")),
    );
    post(json!({"action": "online", "api_id": api_id})).assert_error(
        400,
        "APIG.2011",
        Some(&invalid("env_id")),
    );
    post(json!({"action": "online", "env_id": "bad/env", "api_id": api_id})).assert_error(
        400,
        "APIG.2011",
        Some(&invalid("env_id")),
    );
    post(json!({"action": "online", "env_id": RELEASE})).assert_error(
        400,
        "APIG.2011",
        Some(&invalid("api_id")),
    );
    post(
        json!({"action": "online", "env_id": RELEASE, "api_id": api_id, "remark": "r".repeat(256)}),
    )
    .assert_error(400, "APIG.2011", Some(&invalid("remark")));
    post(json!({"action": "online", "env_id": RELEASE, "api_id": missing})).assert_error(
        404,
        "APIG.3002",
        Some(&api_not_found(missing)),
    );
    post(json!({"action": "online", "env_id": missing, "api_id": api_id})).assert_error(
        404,
        "APIG.3003",
        Some(&format!("Environment {missing} does not exist")),
    );
    post(json!({"action": "offline", "env_id": missing, "api_id": api_id})).assert_error(
        404,
        "APIG.3003",
        None,
    );
    post(json!({"action": "offline", "env_id": RELEASE, "api_id": missing})).assert_error(
        404,
        "APIG.3002",
        None,
    );
    post(json!({"action": "offline", "env_id": RELEASE, "api_id": api_id})).assert_error(
        404,
        "APIG.3015",
        None,
    );
    assert!(db(&server, "SELECT id FROM publications").is_empty());

    // Two APIs of a group cannot be published with the same method and path in one
    // environment: A was published at /shared, then moved; B now has /shared.
    let a = create_api(
        &server,
        &admin,
        &small_api(&group_id, "api_a", "GET", "/shared/{x}"),
    );
    let a_id = a["id"].as_str().unwrap().to_owned();
    assert_eq!(act(&server, &admin, "online", &a_id, RELEASE).status, 201);
    let moved = server.call(
        "PUT",
        &admin.apig(&format!("/apis/{a_id}")),
        Some(&admin.token),
        Some(&small_api(&group_id, "api_a", "GET", "/moved")),
    );
    assert_eq!(moved.status, 200, "{}", moved.text);
    let b = create_api(
        &server,
        &admin,
        &small_api(&group_id, "api_b", "GET", "/shared/{y}"),
    );
    let b_id = b["id"].as_str().unwrap().to_owned();
    act(&server, &admin, "online", &b_id, RELEASE).assert_error(400, "APIG.3301", None);
    // In another environment, or once A is republished at its new path, B may go online.
    let dev = create_env(&server, &admin, "DEV");
    assert_eq!(act(&server, &admin, "online", &b_id, &dev).status, 201);
    assert_eq!(act(&server, &admin, "online", &a_id, RELEASE).status, 201);
    assert_eq!(act(&server, &admin, "online", &b_id, RELEASE).status, 201);
}

#[test]
fn deleting_an_api_removes_its_app_authorizations() {
    let server = Server::start();
    let admin = server.admin();
    let group_id = default_group(&server, &admin);
    let keep = create_api(
        &server,
        &admin,
        &small_api(&group_id, "kept_api", "GET", "/kept"),
    );
    let gone = create_api(
        &server,
        &admin,
        &small_api(&group_id, "gone_api", "GET", "/gone"),
    );
    let keep_id = keep["id"].as_str().unwrap().to_owned();
    let gone_id = gone["id"].as_str().unwrap().to_owned();
    let app = server.call(
        "POST",
        &admin.apig("/apps"),
        Some(&admin.token),
        Some(&json!({"name": "caller_app"})),
    );
    assert_eq!(app.status, 201, "{}", app.text);
    let app_id = app.json["id"].as_str().unwrap().to_owned();
    // Authorizations written directly: the app-auth calls are a separate resource.
    for (auth, api) in [("auth_keep", &keep_id), ("auth_gone", &gone_id)] {
        db(
            &server,
            &format!(
                "INSERT INTO app_auths (id, instance_id, app_id, api_id, env_id, auth_time) \
                 VALUES ('{auth}', '{}', '{app_id}', '{api}', '{RELEASE}', 1) RETURNING id",
                admin.instance_id
            ),
        );
    }
    let a = server.call(
        "GET",
        &admin.apig(&format!("/apps?id={app_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(a.json["apps"][0]["bind_num"], 2);
    let d = server.call(
        "DELETE",
        &admin.apig(&format!("/apis/{gone_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(d.status, 204, "{}", d.text);
    assert_eq!(
        db(&server, "SELECT id FROM app_auths ORDER BY id"),
        ["auth_keep"]
    );
    let a = server.call(
        "GET",
        &admin.apig(&format!("/apps?id={app_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(a.json["apps"][0]["bind_num"], 1);
}

#[test]
fn apis_are_scoped_by_project_and_role() {
    let server = Server::start();
    let admin = server.admin();
    let group_id = default_group(&server, &admin);
    let api = create_api(
        &server,
        &admin,
        &small_api(&group_id, "private_api", "GET", "/private"),
    );
    let api_id = api["id"].as_str().unwrap().to_owned();
    let other = server.user_session(&admin, "erin", "proj_e", "admin");
    let theirs = other.apig(&format!("/apis/{api_id}"));
    server
        .call("GET", &theirs, Some(&other.token), None)
        .assert_error(404, "APIG.3002", Some(&api_not_found(&api_id)));
    server
        .call("DELETE", &theirs, Some(&other.token), None)
        .assert_error(404, "APIG.3002", None);
    // Another project's group cannot hold their API.
    server
        .call(
            "POST",
            &other.apig("/apis"),
            Some(&other.token),
            Some(&small_api(&group_id, "sneaky", "GET", "/s")),
        )
        .assert_error(404, "APIG.3001", None);
    // Nor can they publish our API in their instance.
    act(&server, &other, "online", &api_id, RELEASE).assert_error(404, "APIG.3002", None);
    assert_eq!(
        server
            .call("GET", &other.apig("/apis"), Some(&other.token), None)
            .json["total"],
        0
    );
    server
        .call(
            "GET",
            &admin.apig(&format!("/apis/{api_id}")),
            Some(&other.token),
            None,
        )
        .assert_error(403, "APIG.1005", None);
    // A reader reads, but neither writes nor publishes.
    let reader = server.user_session(&admin, "ray", "admin", "reader");
    assert_eq!(
        server
            .call(
                "GET",
                &admin.apig(&format!("/apis/{api_id}")),
                Some(&reader.token),
                None
            )
            .status,
        200
    );
    assert_eq!(
        server
            .call("GET", &admin.apig("/apis"), Some(&reader.token), None)
            .json["total"],
        1
    );
    server
        .call(
            "POST",
            &admin.apig("/apis"),
            Some(&reader.token),
            Some(&small_api(&group_id, "nope", "GET", "/n")),
        )
        .assert_error(403, "APIG.1005", None);
    let reader_session = Session {
        token: reader.token.clone(),
        ..admin.clone()
    };
    act(&server, &reader_session, "online", &api_id, RELEASE).assert_error(403, "APIG.1005", None);
    server
        .call(
            "DELETE",
            &admin.apig(&format!("/apis/{api_id}")),
            Some(&reader.token),
            None,
        )
        .assert_error(403, "APIG.1005", None);
    // Unknown instance.
    let unknown = Session {
        instance_id: "0123456789abcdef0123456789abcdef".into(),
        ..admin.clone()
    };
    server
        .call("GET", &unknown.apig("/apis"), Some(&admin.token), None)
        .assert_error(404, "APIG.3030", None);
    act(&server, &unknown, "online", &api_id, RELEASE).assert_error(404, "APIG.3030", None);
}
