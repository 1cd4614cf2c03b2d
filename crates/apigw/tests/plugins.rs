//! Plug-ins, black-box through the management API: create, show, list, replace and delete
//! with every rule (canonical content, unsupported types, names, the type that cannot
//! change); attach to published APIs from either side, the one-per-type rule, detach, the
//! four lists; missing objects, scope and roles, what is stored. What the gateway does with
//! them is in `gateway_e2e.rs`.

mod common;
use common::*;
use serde_json::{json, Value};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";
const RANDOM_ID: &str = "0123456789abcdef0123456789abcdef";

fn cors_body(name: &str, content: Value) -> Value {
    json!({"plugin_name": name, "plugin_type": "cors", "plugin_scope": "global",
           "plugin_content": content.to_string(), "remark": "browser access"})
}

fn headers_body(name: &str) -> Value {
    let content = json!({"response_headers": [
        {"name": "X-Custom", "value": "1", "action": "override"}]});
    json!({"plugin_name": name, "plugin_type": "set_resp_headers", "plugin_scope": "global",
           "plugin_content": content.to_string()})
}

fn created(m: &Mgmt, body: &Value) -> Value {
    let r = m.call("POST", "/plugins", Some(body));
    assert_eq!(r.status, 201, "{}", r.text);
    r.json
}

fn id(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap().to_owned()
}

#[test]
fn plugins_are_created_shown_listed_replaced_and_deleted_under_their_rules() {
    let server = Server::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let made = created(
        &m,
        &cors_body(
            "web_cors",
            json!({"allow_origin": "https://app.example", "allow_methods": "get,post"}),
        ),
    );
    let cors_id = id(&made, "plugin_id");
    assert_eq!(cors_id.len(), 32);
    assert_eq!(made["plugin_name"], "web_cors");
    assert_eq!(made["plugin_type"], "cors");
    assert_eq!(made["plugin_scope"], "global");
    assert_eq!(made["remark"], "browser access");
    assert!(is_nanos_time(&made["create_time"]) && is_nanos_time(&made["update_time"]));
    // The content comes back canonical, defaults filled in.
    let content: Value = serde_json::from_str(made["plugin_content"].as_str().unwrap()).unwrap();
    assert_eq!(
        content,
        json!({"allow_origin": "https://app.example", "allow_methods": "GET,POST",
               "allow_headers": "", "expose_headers": "", "max_age": 172800,
               "allow_credentials": false})
    );
    assert_eq!(
        db_texts(&server, "SELECT content FROM plugins"),
        vec![made["plugin_content"].as_str().unwrap().to_owned()]
    );
    let shown = m.call("GET", &format!("/plugins/{cors_id}"), None);
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(shown.json["plugin_content"], made["plugin_content"]);
    assert_eq!(
        shown.json["create_time"],
        json!(to_seconds(&made["create_time"]))
    );
    let headers = created(&m, &headers_body("resp_headers"));
    let headers_id = id(&headers, "plugin_id");
    assert_eq!(headers["remark"], "");

    // Refusals name their field; nothing is stored.
    for (body, status, code, needle) in [
        (
            cors_body("web_cors", json!({})),
            409,
            "APIG.3213",
            "already exists",
        ),
        (cors_body("ab", json!({})), 400, "APIG.2011", "plugin_name"),
        (
            cors_body("web2", json!({"max_age": "x"})),
            400,
            "APIG.2011",
            "plugin_content.max_age",
        ),
        (
            cors_body("web2", json!({"allow_origin": "app.example"})),
            400,
            "APIG.2011",
            "plugin_content.allow_origin",
        ),
        (
            json!({"plugin_name": "web2", "plugin_type": "kafka_log", "plugin_scope": "global", "plugin_content": "{}"}),
            400,
            "APIG.2011",
            "not supported",
        ),
        (
            json!({"plugin_name": "web2", "plugin_type": "cors", "plugin_scope": "other", "plugin_content": "{}"}),
            400,
            "APIG.2011",
            "plugin_scope",
        ),
        (
            json!({"plugin_name": "web2", "plugin_type": "cors", "plugin_scope": "global"}),
            400,
            "APIG.2001",
            "plugin_content",
        ),
        (
            json!({"plugin_name": "web2", "plugin_type": "cors", "plugin_scope": "global", "plugin_content": "{"}),
            400,
            "APIG.2011",
            "plugin_content",
        ),
    ] {
        let r = m.call("POST", "/plugins", Some(&body));
        r.assert_error(status, code, None);
        assert!(r.text.contains(needle), "{needle}: {}", r.text);
    }
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM plugins"), 2);

    // Lists: newest first, filters, exact names.
    let list = |q: &str| {
        let r = m.call("GET", &format!("/plugins{q}"), None);
        assert_eq!(r.status, 200, "{}", r.text);
        r.json
    };
    let all = list("");
    assert_eq!(all["total"], 2);
    assert_eq!(all["plugins"][0]["plugin_id"], json!(headers_id));
    assert!(is_seconds_time(&all["plugins"][0]["create_time"]));
    assert_eq!(
        list("?plugin_type=cors")["plugins"][0]["plugin_id"],
        json!(cors_id)
    );
    assert_eq!(list("?plugin_name=resp")["total"], 1);
    assert_eq!(
        list("?plugin_name=resp&precise_search=plugin_name")["total"],
        0
    );
    assert_eq!(list(&format!("?plugin_id={cors_id}"))["total"], 1);
    assert_eq!(list("?limit=1&offset=1")["size"], 1);
    m.call("GET", "/plugins?plugin_scope=x", None)
        .assert_error(400, "APIG.2012", None);

    // Replace: new name and content; the type stays.
    let mut replaced = cors_body("web_cors_2", json!({"allow_origin": "*", "max_age": 60}));
    let r = m.call("PUT", &format!("/plugins/{cors_id}"), Some(&replaced));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["plugin_name"], "web_cors_2");
    assert!(r.json["plugin_content"]
        .as_str()
        .unwrap()
        .contains("\"max_age\":60"));
    assert!(is_nanos_time(&r.json["update_time"]));
    replaced["plugin_type"] = json!("set_resp_headers");
    m.call("PUT", &format!("/plugins/{cors_id}"), Some(&replaced))
        .assert_error(400, "APIG.2011", None);
    let taken = cors_body("resp_headers", json!({}));
    m.call("PUT", &format!("/plugins/{cors_id}"), Some(&taken))
        .assert_error(409, "APIG.3213", None);
    m.call("PUT", &format!("/plugins/{RANDOM_ID}"), Some(&taken))
        .assert_error(
            404,
            "APIG.3068",
            Some(&format!("Plugin {RANDOM_ID} does not exist")),
        );

    // Delete; a missing one is 404.
    let r = m.call("DELETE", &format!("/plugins/{headers_id}"), None);
    assert_eq!(r.status, 204, "{}", r.text);
    m.call("GET", &format!("/plugins/{headers_id}"), None)
        .assert_error(404, "APIG.3068", None);
    m.call("DELETE", &format!("/plugins/{headers_id}"), None)
        .assert_error(404, "APIG.3068", None);
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM plugins"), 1);

    // Another project sees none of it; a read-only user may read, not write.
    let other = server.user_session(&admin, "oli", "proj_plugin_other", "member");
    let o = Mgmt {
        server: &server,
        s: &other,
    };
    let r = o.call("GET", "/plugins", None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["total"], 0);
    o.call("GET", &format!("/plugins/{cors_id}"), None)
        .assert_error(404, "APIG.3068", None);
    let viewer = server.user_session(&admin, "rob", "admin", "reader");
    let v = Mgmt {
        server: &server,
        s: &viewer,
    };
    assert_eq!(v.call("GET", "/plugins", None).json["total"], 1);
    let forbidden = Some("No permissions to request this method");
    v.call("POST", "/plugins", Some(&headers_body("viewer_plugin")))
        .assert_error(403, "APIG.1005", forbidden);
    v.call("DELETE", &format!("/plugins/{cors_id}"), None)
        .assert_error(403, "APIG.1005", forbidden);
    // Their plug-in cannot be attached to our API.
    let (our_api, _) = m.published_api("our_api", "/ours/{name}");
    let theirs = created(&o, &headers_body("their_plugin"));
    o.call(
        "POST",
        &format!("/plugins/{}/attach", id(&theirs, "plugin_id")),
        Some(&json!({"env_id": RELEASE, "api_ids": [our_api]})),
    )
    .assert_error(404, "APIG.3002", None);
}

#[test]
fn plugins_attach_to_published_apis_one_per_type_from_either_side() {
    let server = Server::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let (api_a, publish_a) = m.published_api("plugin_api_a", "/pa/{name}");
    let (api_b, _) = m.published_api("plugin_api_b", "/pb/{name}");
    // An API created but never published.
    let group = default_group(&server, &admin);
    let mut body = echo_api_body(&group, "plugin_api_c", 9);
    body["req_uri"] = json!("/pc/{name}");
    let unpublished = m.call("POST", "/apis", Some(&body));
    let api_c = id(&unpublished.json, "id");

    let cors = id(&created(&m, &cors_body("cors_one", json!({}))), "plugin_id");
    let cors2 = id(&created(&m, &cors_body("cors_two", json!({}))), "plugin_id");
    let headers = id(&created(&m, &headers_body("headers_one")), "plugin_id");
    let post_only = id(
        &created(
            &m,
            &cors_body("cors_post", json!({"allow_methods": "POST"})),
        ),
        "plugin_id",
    );

    // From the plug-in's side: two APIs.
    let r = m.call(
        "POST",
        &format!("/plugins/{cors}/attach"),
        Some(&json!({"env_id": RELEASE, "api_ids": [api_a, api_b]})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let attached = r.json["attached_plugins"].as_array().unwrap();
    assert_eq!(attached.len(), 2);
    assert_eq!(attached[0]["api_id"], json!(api_a));
    assert_eq!(attached[0]["plugin_id"], json!(cors));
    assert_eq!(attached[0]["plugin_type"], "cors");
    assert_eq!(attached[0]["env_name"], "RELEASE");
    assert_eq!(attached[0]["api_name"], "plugin_api_a");
    assert!(is_seconds_time(&attached[0]["attached_time"]));
    let first_attach = id(&attached[0], "plugin_attach_id");
    // Again: the same attachment.
    let again = m.call(
        "POST",
        &format!("/plugins/{cors}/attach"),
        Some(&json!({"env_id": RELEASE, "api_ids": [api_a]})),
    );
    assert_eq!(
        again.json["attached_plugins"][0]["plugin_attach_id"],
        json!(first_attach)
    );
    // From the API's side: another type beside it.
    let r = m.call(
        "POST",
        &format!("/apis/{api_a}/plugins/attach"),
        Some(&json!({"env_id": RELEASE, "plugin_ids": [headers]})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM plugin_bindings"),
        3
    );
    // A second CORS plug-in replaces the first on that API.
    let r = m.call(
        "POST",
        &format!("/apis/{api_a}/plugins/attach"),
        Some(&json!({"env_id": RELEASE, "plugin_ids": [cors2]})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let on_a = m.call("GET", &format!("/apis/{api_a}/attached-plugins"), None);
    assert_eq!(on_a.status, 200, "{}", on_a.text);
    assert_eq!(on_a.json["total"], 2);
    let names: Vec<&str> = on_a.json["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["plugin_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cors_two", "headers_one"]);
    assert_eq!(on_a.json["plugins"][0]["env_id"], RELEASE);
    assert!(on_a.json["plugins"][0]["plugin_content"].is_string());
    let filtered = m.call(
        "GET",
        &format!("/apis/{api_a}/attached-plugins?plugin_type=set_resp_headers"),
        None,
    );
    assert_eq!(filtered.json["total"], 1);

    // Refusals: nothing changes.
    for (path, body, status, code) in [
        (
            format!("/plugins/{cors}/attach"),
            json!({"env_id": RELEASE, "api_ids": [api_c]}),
            404,
            "APIG.3015",
        ),
        (
            format!("/plugins/{cors}/attach"),
            json!({"env_id": RELEASE, "api_ids": [RANDOM_ID]}),
            404,
            "APIG.3002",
        ),
        (
            format!("/plugins/{cors}/attach"),
            json!({"env_id": RANDOM_ID, "api_ids": [api_a]}),
            404,
            "APIG.3003",
        ),
        (
            format!("/plugins/{RANDOM_ID}/attach"),
            json!({"env_id": RELEASE, "api_ids": [api_a]}),
            404,
            "APIG.3068",
        ),
        (
            format!("/plugins/{cors}/attach"),
            json!({"env_id": RELEASE, "api_ids": []}),
            400,
            "APIG.2011",
        ),
        (
            format!("/plugins/{cors}/attach"),
            json!({"api_ids": [api_a]}),
            400,
            "APIG.2011",
        ),
        (
            format!("/plugins/{post_only}/attach"),
            json!({"env_id": RELEASE, "api_ids": [api_b]}),
            400,
            "APIG.2011",
        ),
        (
            format!("/apis/{api_b}/plugins/attach"),
            json!({"env_id": RELEASE, "plugin_ids": [cors, cors2]}),
            400,
            "APIG.2011",
        ),
        (
            format!("/apis/{RANDOM_ID}/plugins/attach"),
            json!({"env_id": RELEASE, "plugin_ids": [cors]}),
            404,
            "APIG.3002",
        ),
    ] {
        m.call("POST", &path, Some(&body))
            .assert_error(status, code, None);
    }
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM plugin_bindings"),
        3
    );
    // A CORS plug-in's update keeps allowing its APIs' methods.
    let narrower = cors_body("cors_two", json!({"allow_methods": "POST"}));
    m.call("PUT", &format!("/plugins/{cors2}"), Some(&narrower))
        .assert_error(400, "APIG.2011", None);

    // The plug-in's lists of APIs.
    let apis_of = |plugin: &str, side: &str, q: &str| {
        let r = m.call("GET", &format!("/plugins/{plugin}/{side}{q}"), None);
        assert_eq!(r.status, 200, "{}", r.text);
        r.json
    };
    let on_cors = apis_of(&cors, "attached-apis", "");
    assert_eq!(on_cors["total"], 1);
    let info = &on_cors["apis"][0];
    assert_eq!(info["api_id"], json!(api_b));
    assert_eq!(info["req_method"], "GET");
    assert_eq!(info["req_protocol"], "BOTH");
    assert_eq!(info["match_mode"], "NORMAL");
    assert_eq!(info["auth_type"], "APP");
    assert_eq!(info["env_name"], "RELEASE");
    assert!(info["plugin_attach_id"].is_string() && info["publish_id"].is_string());
    let attachable = apis_of(&cors, "attachable-apis", &format!("?env_id={RELEASE}"));
    assert_eq!(attachable["total"], 1);
    assert_eq!(attachable["apis"][0]["api_id"], json!(api_a));
    assert_eq!(attachable["apis"][0]["publish_id"], json!(publish_a));
    assert!(attachable["apis"][0].get("plugin_attach_id").is_none());
    assert_eq!(
        apis_of(
            &cors,
            "attachable-apis",
            &format!("?env_id={RELEASE}&api_name=api_b")
        )["total"],
        0
    );
    m.call("GET", &format!("/plugins/{cors}/attachable-apis"), None)
        .assert_error(400, "APIG.2001", None);
    // The API's list of plug-ins it could take.
    let could = m.call(
        "GET",
        &format!("/apis/{api_a}/attachable-plugins?env_id={RELEASE}"),
        None,
    );
    assert_eq!(could.status, 200, "{}", could.text);
    let mut names: Vec<&str> = could.json["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["plugin_name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["cors_one", "cors_post"]);

    // An attached plug-in cannot be deleted.
    m.call("DELETE", &format!("/plugins/{cors2}"), None)
        .assert_error(409, "APIG.3462", None);
    // Detach from either side; detaching what is not attached changes nothing.
    let r = m.call(
        "PUT",
        &format!("/plugins/{cors2}/detach"),
        Some(&json!({"env_id": RELEASE, "api_ids": [api_a, api_b]})),
    );
    assert_eq!(r.status, 204, "{}", r.text);
    let r = m.call(
        "PUT",
        &format!("/apis/{api_a}/plugins/detach"),
        Some(&json!({"env_id": RELEASE, "plugin_ids": [headers]})),
    );
    assert_eq!(r.status, 204, "{}", r.text);
    m.call(
        "PUT",
        &format!("/apis/{api_a}/plugins/detach"),
        Some(&json!({"env_id": RELEASE, "plugin_ids": [RANDOM_ID]})),
    )
    .assert_error(404, "APIG.3068", None);
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM plugin_bindings"),
        1
    );
    let r = m.call("DELETE", &format!("/plugins/{cors2}"), None);
    assert_eq!(r.status, 204, "{}", r.text);

    // Taking the API offline keeps its attachment; deleting it removes it.
    let offline = m.call(
        "POST",
        "/apis/action",
        Some(&json!({"action": "offline", "api_id": api_b, "env_id": RELEASE})),
    );
    assert_eq!(offline.status, 201, "{}", offline.text);
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM plugin_bindings"),
        1
    );
    let r = m.call("DELETE", &format!("/apis/{api_b}"), None);
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) FROM plugin_bindings"),
        0
    );
    let r = m.call("DELETE", &format!("/plugins/{cors}"), None);
    assert_eq!(r.status, 204, "{}", r.text);
}
