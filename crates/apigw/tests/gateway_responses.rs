//! Gateway responses of API groups (`/api-groups/{group_id}/gateway-responses`), black-box:
//! the real server, its store and its plain HTTP gateway with a real echo backend. A group has
//! a default response from the start; more are created, changed per error type, listed and
//! deleted with APIG's rules; an API names one with `response_id`. A refused call is answered
//! with its API's response (else its group's default) where that changes its type's answer:
//! status, body template with `$context` variables, headers.

mod common;
use common::*;
use serde_json::{json, Value};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

const DEFAULT_BODY: &str = r#"{"error_code":"$context.error.code","error_msg":"$context.error.message","request_id":"$context.requestId"}"#;

/// Every error type a response lists.
const TYPES: &[&str] = &[
    "AUTH_FAILURE",
    "AUTH_HEADER_MISSING",
    "AUTHORIZER_FAILURE",
    "AUTHORIZER_CONF_FAILURE",
    "AUTHORIZER_IDENTITIES_FAILURE",
    "BACKEND_UNAVAILABLE",
    "BACKEND_TIMEOUT",
    "THROTTLED",
    "UNAUTHORIZED",
    "ACCESS_DENIED",
    "NOT_FOUND",
    "REQUEST_PARAMETERS_FAILURE",
    "DEFAULT_4XX",
    "DEFAULT_5XX",
    "THIRD_AUTH_FAILURE",
    "THIRD_AUTH_IDENTITIES_FAILURE",
    "THIRD_AUTH_CONF_FAILURE",
    "OIDC_AUTH_TOKEN_VERIFY_FAIL",
    "OIDC_AUTH_GET_DISCOVERY_ERROR",
    "OIDC_AUTH_CODE_FLOW_FAIL",
    "JWT_AUTH_FAILURE",
    "ORCHESTRATION_PARAMETER_NOT_FOUND",
    "ORCHESTRATION_FAILURE",
];

fn responses_path(group: &str) -> String {
    format!("/api-groups/{group}/gateway-responses")
}

fn is_hex_id(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The stored rules of response `id` (JSON text of the changed types).
fn stored_rules(server: &Server, id: &str) -> Value {
    let text = db_texts(
        server,
        &format!("SELECT rules FROM gateway_responses WHERE id = '{id}'"),
    );
    assert_eq!(text.len(), 1, "response {id} stored once");
    serde_json::from_str(&text[0]).unwrap()
}

#[test]
fn a_group_has_a_default_response_and_up_to_four_more() {
    let server = Server::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let group = default_group(&server, &admin);
    let path = responses_path(&group);

    // The default response: the group's id, every type at the gateway's own answer.
    let list = m.call("GET", &path, None);
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(
        (list.json["total"].clone(), list.json["size"].clone()),
        (json!(1), json!(1))
    );
    let default = &list.json["responses"][0];
    assert_eq!(default["id"], json!(group));
    assert_eq!(default["name"], "default");
    assert_eq!(default["default"], true);
    assert!(is_seconds_time(&default["create_time"]), "{default}");
    let all = default["responses"].as_object().unwrap();
    assert_eq!(all.len(), TYPES.len());
    for t in TYPES {
        assert_eq!(all[*t]["default"], true, "{t}");
        assert_eq!(all[*t]["body"], DEFAULT_BODY, "{t}");
    }
    assert_eq!(all["AUTH_FAILURE"]["status"], 401);
    assert_eq!(all["NOT_FOUND"]["status"], 404);
    assert_eq!(all["BACKEND_TIMEOUT"]["status"], 504);
    assert!(all["DEFAULT_5XX"].get("status").is_none());

    // A new group gets its own default.
    let shop = m.call("POST", "/api-groups", Some(&json!({"name": "shop"})));
    assert_eq!(shop.status, 201, "{}", shop.text);
    let shop_id = shop.json["id"].as_str().unwrap().to_owned();
    let shop_list = m.call("GET", &responses_path(&shop_id), None);
    assert_eq!(shop_list.json["responses"][0]["id"], json!(shop_id));

    // Create one.
    let body = json!({"name": "strict", "responses": {
        "AUTH_FAILURE": {"status": 403, "body": "{\"code\":\"$context.error.code\"}",
                         "headers": [{"key": "X-Why", "value": "$context.error.type"}]},
        "NOT_FOUND": {"body": "{\"gone\":true}"}
    }});
    let created = m.call("POST", &path, Some(&body));
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().unwrap().to_owned();
    assert!(is_hex_id(&created.json["id"]));
    assert_ne!(id, group);
    assert_eq!(created.json["name"], "strict");
    assert_eq!(created.json["default"], false);
    assert!(
        is_nanos_time(&created.json["create_time"]),
        "{}",
        created.text
    );
    let rules = &created.json["responses"];
    assert_eq!(
        rules["AUTH_FAILURE"],
        json!({"status": 403, "body": "{\"code\":\"$context.error.code\"}", "default": false,
               "headers": [{"key": "X-Why", "value": "$context.error.type"}]})
    );
    assert_eq!(
        rules["NOT_FOUND"],
        json!({"status": 404, "body": "{\"gone\":true}", "default": false, "headers": []})
    );
    assert_eq!(rules["THROTTLED"]["default"], true);
    // Stored: only the changed types.
    let stored = stored_rules(&server, &id);
    assert_eq!(
        stored.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["AUTH_FAILURE", "NOT_FOUND"]
    );
    assert_eq!(stored["NOT_FOUND"]["body"], "{\"gone\":true}");

    // Read back.
    let one = m.call("GET", &format!("{path}/{id}"), None);
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(one.json["responses"], created.json["responses"]);
    assert!(is_seconds_time(&one.json["update_time"]));

    // A name the group has; the sixth response.
    m.call("POST", &path, Some(&json!({"name": "strict"})))
        .assert_error(
            400,
            "APIG.3209",
            Some("The gateway response name already exists."),
        );
    m.call("POST", &path, Some(&json!({"name": "default"})))
        .assert_error(400, "APIG.3209", None);
    for name in ["r2", "r3", "r4"] {
        let r = m.call("POST", &path, Some(&json!({ "name": name })));
        assert_eq!(r.status, 201, "{}", r.text);
    }
    m.call("POST", &path, Some(&json!({"name": "r5"})))
        .assert_error(
            403,
            "APIG.3111",
            Some("The number of gateway responses exceeds the maximum allowed limit."),
        );
    let list = m.call("GET", &format!("{path}?limit=2&offset=1"), None);
    assert_eq!(list.json["total"], 5);
    assert_eq!(list.json["size"], 2);
    assert_eq!(list.json["responses"][0]["name"], "strict");
    // Another group's limit is its own.
    let r = m.call(
        "POST",
        &responses_path(&shop_id),
        Some(&json!({"name": "r5"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);

    // One type: show, set, restore.
    let type_path = format!("{path}/{id}/THROTTLED");
    let shown = m.call("GET", &type_path, None);
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(
        shown.json,
        json!({"THROTTLED": {"status": 429, "body": DEFAULT_BODY, "default": true, "headers": []}})
    );
    let set = m.call(
        "PUT",
        &type_path,
        Some(&json!({"status": 503, "body": "{\"slow\":\"down\"}"})),
    );
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(
        set.json,
        json!({"THROTTLED": {"status": 503, "body": "{\"slow\":\"down\"}", "default": false, "headers": []}})
    );
    assert_eq!(stored_rules(&server, &id)["THROTTLED"]["status"], 503);
    assert_eq!(
        stored_rules(&server, &id)["AUTH_FAILURE"]["status"],
        403,
        "others stay"
    );
    let restored = m.call("DELETE", &format!("{path}/{id}/AUTH_FAILURE"), None);
    assert_eq!(restored.status, 204, "{}", restored.text);
    assert!(stored_rules(&server, &id).get("AUTH_FAILURE").is_none());
    m.call("GET", &format!("{path}/{id}/NOPE"), None)
        .assert_error(400, "APIG.2012", Some(&invalid("response_type")));

    // Update: renamed, and the rules given replace them all.
    let updated = m.call(
        "PUT",
        &format!("{path}/{id}"),
        Some(&json!({"name": "strict2", "responses": {"ACCESS_DENIED": {"status": 451}}})),
    );
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.json["name"], "strict2");
    assert!(is_nanos_time(&updated.json["update_time"]));
    assert_eq!(
        stored_rules(&server, &id),
        json!({"ACCESS_DENIED": {"status": 451, "body": DEFAULT_BODY, "headers": []}})
    );
    m.call("PUT", &format!("{path}/{id}"), Some(&json!({"name": "r2"})))
        .assert_error(400, "APIG.3209", None);
    // The default can be changed, not deleted.
    let changed_default = m.call(
        "PUT",
        &format!("{path}/{group}/NOT_FOUND"),
        Some(&json!({"body": "{}"})),
    );
    assert_eq!(changed_default.status, 200, "{}", changed_default.text);
    m.call("DELETE", &format!("{path}/{group}"), None)
        .assert_error(
            403,
            "APIG.3419",
            Some("The default gateway response cannot be deleted."),
        );

    // Delete; then it is gone.
    let deleted = m.call("DELETE", &format!("{path}/{id}"), None);
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let missing = format!("The gateway response does not exist, id: {id}");
    for method in ["GET", "DELETE"] {
        m.call(method, &format!("{path}/{id}"), None).assert_error(
            404,
            "APIG.3081",
            Some(&missing),
        );
    }
    m.call("PUT", &format!("{path}/{id}/NOT_FOUND"), Some(&json!({})))
        .assert_error(404, "APIG.3081", None);
    // Another group's path does not reach a response.
    m.call(
        "GET",
        &format!("{}/{group}", responses_path(&shop_id)),
        None,
    )
    .assert_error(404, "APIG.3081", None);
    m.call("GET", &responses_path(&"f".repeat(32)), None)
        .assert_error(404, "APIG.3001", None);

    // Deleting the group deletes its responses.
    let shop_rows =
        format!("SELECT COUNT(*) AS n FROM gateway_responses WHERE group_id = '{shop_id}'");
    assert_eq!(db_scalar(&server, &shop_rows), 2);
    let gone = m.call("DELETE", &format!("/api-groups/{shop_id}"), None);
    assert_eq!(gone.status, 204, "{}", gone.text);
    assert_eq!(db_scalar(&server, &shop_rows), 0);
}

#[test]
fn bad_fields_are_refused_naming_them() {
    let server = Server::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let group = default_group(&server, &admin);
    let path = responses_path(&group);
    let rule = |v: Value| json!({"name": "r", "responses": {"NOT_FOUND": v}});
    let eleven: Vec<Value> = (0..11)
        .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
        .collect();
    for (body, field) in [
        (json!({}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": "a b"}), "name"),
        (json!({"name": "x".repeat(65)}), "name"),
        (json!({"name": "r", "responses": []}), "responses"),
        (
            json!({"name": "r", "responses": {"NOPE": {}}}),
            "responses.NOPE",
        ),
        (rule(json!({"status": 444})), "responses.NOT_FOUND.status"),
        (rule(json!({"status": 600})), "responses.NOT_FOUND.status"),
        (rule(json!({"status": "404"})), "responses.NOT_FOUND.status"),
        (rule(json!({"body": ""})), "responses.NOT_FOUND.body"),
        (rule(json!({"body": 1})), "responses.NOT_FOUND.body"),
        (
            rule(json!({"headers": eleven})),
            "responses.NOT_FOUND.headers",
        ),
        (
            rule(json!({"headers": [{"key": "a:b", "value": "v"}]})),
            "responses.NOT_FOUND.headers[0].key",
        ),
        (
            rule(json!({"headers": [{"value": "v"}]})),
            "responses.NOT_FOUND.headers[0].key",
        ),
        (
            rule(json!({"headers": [{"key": "Transfer-Encoding", "value": "chunked"}]})),
            "responses.NOT_FOUND.headers[0].key",
        ),
        (
            rule(json!({"headers": [{"key": "a", "value": ""}]})),
            "responses.NOT_FOUND.headers[0].value",
        ),
        (
            rule(json!({"headers": [{"key": "a", "value": "x]]"}]})),
            "responses.NOT_FOUND.headers[0].value",
        ),
    ] {
        m.call("POST", &path, Some(&body))
            .assert_error(400, "APIG.2011", Some(&invalid(field)));
    }
    m.call(
        "PUT",
        &format!("{path}/{group}/NOT_FOUND"),
        Some(&json!({"status": 100})),
    )
    .assert_error(400, "APIG.2011", Some(&invalid("status")));
    m.call(
        "PUT",
        &format!("{path}/{group}/NOT_FOUND"),
        Some(&json!({"headers": [{"key": "a", "value": "b"}, {"key": "A", "value": "c"}]})),
    )
    .assert_error(400, "APIG.2011", Some(&invalid("headers[1].key")));
    assert_eq!(
        db_scalar(&server, "SELECT COUNT(*) AS n FROM gateway_responses"),
        1,
        "nothing stored"
    );

    // An API naming a response its group does not have.
    let mut api = echo_api_body(&group, "named", 9);
    api["response_id"] = json!("e".repeat(32));
    m.call("POST", "/apis", Some(&api)).assert_error(
        404,
        "APIG.3081",
        Some(&format!(
            "The gateway response does not exist, id: {}",
            "e".repeat(32)
        )),
    );
    api["response_id"] = json!("not-an-id!");
    m.call("POST", "/apis", Some(&api)).assert_error(
        400,
        "APIG.2011",
        Some(&invalid("response_id")),
    );
}

#[test]
fn responses_are_scoped_by_project_and_role() {
    let server = Server::start();
    let admin = server.admin();
    let group = default_group(&server, &admin);
    let path = admin.apig(&responses_path(&group));
    let other = server.user_session(&admin, "dave", "proj_d", "admin");
    let theirs = other.apig(&responses_path(&group));
    for (method, p, body) in [
        ("GET", theirs.clone(), None),
        ("POST", theirs.clone(), Some(json!({"name": "evil"}))),
        ("GET", format!("{theirs}/{group}"), None),
        (
            "PUT",
            format!("{theirs}/{group}/NOT_FOUND"),
            Some(json!({})),
        ),
    ] {
        server
            .call(method, &p, Some(&other.token), body.as_ref())
            .assert_error(404, "APIG.3001", None);
    }
    server
        .call("GET", &path, Some(&other.token), None)
        .assert_error(403, "APIG.1005", None);
    let reader = server.user_session(&admin, "rex", "admin", "reader");
    assert_eq!(
        server.call("GET", &path, Some(&reader.token), None).status,
        200
    );
    server
        .call(
            "POST",
            &path,
            Some(&reader.token),
            Some(&json!({"name": "r"})),
        )
        .assert_error(403, "APIG.1005", None);
    server
        .call(
            "DELETE",
            &format!("{path}/{group}/NOT_FOUND"),
            Some(&reader.token),
            None,
        )
        .assert_error(403, "APIG.1005", None);
}

/// A call through the gateway: status, headers and body.
fn call(gateway: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    let client = reqwest::blocking::Client::new();
    let mut request = client.get(format!("{gateway}{path}"));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().unwrap().into()
}

#[test]
fn refused_calls_are_answered_with_the_api_or_group_response() {
    let server = Server::start_with(
        Opts::default()
            .arg("--gateway-http-listen")
            .arg("127.0.0.1:0")
            .arg("--allow-app-code-over-http"),
    );
    let port = server.port_of("gateway listening (plain HTTP)");
    let gateway = format!("http://127.0.0.1:{port}");
    let backend = EchoBackend::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let group = default_group(&server, &admin);
    let path = responses_path(&group);

    // The group's default: a missing credential, a call no API takes and an unreachable
    // backend answered its way.
    let changed = m.call(
        "PUT",
        &format!("{path}/{group}"),
        Some(&json!({"name": "default", "responses": {
            "AUTH_HEADER_MISSING": {"status": 407,
                "body": "{\"missing\":\"$context.error.message\",\"id\":\"$context.requestId\",\"api\":\"$context.apiName\"}"},
            "NOT_FOUND": {"status": 410,
                "body": "{\"nothing\":\"$context.error.code\",\"type\":\"$context.error.type\",\"stage\":\"$context.stage\"}",
                "headers": [{"key": "X-Apig-Why", "value": "$context.error.type"}]},
            "BACKEND_UNAVAILABLE": {"body": "{\"down\":\"$context.apiId\"}"}
        }})),
    );
    assert_eq!(changed.status, 200, "{}", changed.text);
    // A response of its own for the strict API.
    let strict = m.call(
        "POST",
        &path,
        Some(&json!({"name": "strict", "responses": {
            "AUTH_FAILURE": {"status": 403,
                "body": "{\"denied\":\"$context.apiId\",\"stage\":\"$context.stage\",\"from\":\"$context.sourceIp\",\"custom\":\"$context.authorizer.frontend.x\"}",
                "headers": [{"key": "X-Denied", "value": "$context.error.code"},
                            {"key": "Cache-Control", "value": "no-store"}]},
            "UNAUTHORIZED": {"body": "{\"app\":\"$context.appId\",\"name\":\"$context.appName\"}"}
        }})),
    );
    assert_eq!(strict.status, 201, "{}", strict.text);
    let strict_id = strict.json["id"].as_str().unwrap().to_owned();

    let plain = m.call(
        "POST",
        "/apis",
        Some(&echo_api_body(&group, "plain", backend.port)),
    );
    assert_eq!(plain.status, 201, "{}", plain.text);
    let plain_id = plain.json["id"].as_str().unwrap().to_owned();
    let mut body = echo_api_body(&group, "strict", backend.port);
    body["req_uri"] = json!("/strict/{name}");
    body["response_id"] = json!(strict_id);
    let strict_api = m.call("POST", "/apis", Some(&body));
    assert_eq!(strict_api.status, 201, "{}", strict_api.text);
    assert_eq!(strict_api.json["response_id"], json!(strict_id));
    let strict_api_id = strict_api.json["id"].as_str().unwrap().to_owned();
    let mut body = echo_api_body(&group, "down", free_port());
    body["req_uri"] = json!("/down/{name}");
    body["auth_type"] = json!("NONE");
    body["auth_opt"] = json!({"app_code_auth_type": "DISABLE"});
    let down = m.call("POST", "/apis", Some(&body));
    let down_id = down.json["id"].as_str().unwrap().to_owned();
    for api in [&plain_id, &strict_api_id, &down_id] {
        let published = m.call(
            "POST",
            "/apis/action",
            Some(&json!({"action": "online", "api_id": api, "env_id": RELEASE})),
        );
        assert_eq!(published.status, 201, "{}", published.text);
    }

    // No API: the group's NOT_FOUND.
    let r = call(&gateway, "/nothing/here", &[]);
    assert_eq!(r.status, 410, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"nothing": "APIG.0101", "type": "NOT_FOUND", "stage": ""})
    );
    assert_eq!(r.header("x-apig-why"), Some("NOT_FOUND"));
    assert_eq!(
        r.header("content-type"),
        Some("application/json;charset=utf-8")
    );
    assert_eq!(r.header("x-request-id").map(str::len), Some(32));

    // A group with nothing published: its subdomain leads to it, not to the DEFAULT group's
    // APIs, and its own default response answers.
    let quiet = m.call("POST", "/api-groups", Some(&json!({"name": "quiet"})));
    assert_eq!(quiet.status, 201, "{}", quiet.text);
    let quiet_id = quiet.json["id"].as_str().unwrap().to_owned();
    let quiet_host = quiet.json["sl_domain"].as_str().unwrap().to_owned();
    let set = m.call(
        "PUT",
        &format!("{}/{quiet_id}/NOT_FOUND", responses_path(&quiet_id)),
        Some(&json!({"body": "{\"quiet\":\"$context.error.code\"}"})),
    );
    assert_eq!(set.status, 200, "{}", set.text);
    let r = call(&gateway, "/echo/x", &[("Host", &quiet_host)]);
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.json, json!({"quiet": "APIG.0101"}));

    // No credential on the plain API: the group's AUTH_HEADER_MISSING, its message escaped.
    let r = call(&gateway, "/echo/x", &[]);
    assert_eq!(r.status, 407, "{}", r.text);
    assert_eq!(
        r.json["missing"],
        "Incorrect app authentication information: authorization not found"
    );
    assert_eq!(r.json["id"].as_str(), r.header("x-request-id"));
    assert_eq!(r.json["api"], "plain");
    // A wrong AppCode: AUTH_FAILURE, which the default leaves as the gateway's own answer.
    call(&gateway, "/echo/x", &[("X-Apig-AppCode", "wrong-code")]).assert_error(
        401,
        "APIG.0303",
        Some("Incorrect app authentication information: app code not found"),
    );

    // The strict API: its own response (the group's default no longer applies to it).
    let r = call(&gateway, "/strict/x", &[("X-Apig-AppCode", "wrong-code")]);
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"denied": strict_api_id, "stage": "RELEASE", "from": "127.0.0.1",
               "custom": "$context.authorizer.frontend.x"})
    );
    assert_eq!(r.header("x-denied"), Some("APIG.0303"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    call(&gateway, "/strict/x", &[]).assert_error(401, "APIG.0303", None);
    // An app with an AppCode but no authorization: UNAUTHORIZED with the app's id and name.
    let app = m.call("POST", "/apps", Some(&json!({"name": "outsider"})));
    let app_id = app.json["id"].as_str().unwrap().to_owned();
    let code = m.call("PUT", &format!("/apps/{app_id}/app-codes"), None);
    let code = code.json["app_code"].as_str().unwrap().to_owned();
    let r = call(&gateway, "/strict/x", &[("X-Apig-AppCode", &code)]);
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.json, json!({"app": app_id, "name": "outsider"}));

    // An unreachable backend: the group's BACKEND_UNAVAILABLE, its own status kept.
    let r = call(&gateway, "/down/x", &[]);
    assert_eq!(r.status, 502, "{}", r.text);
    assert_eq!(r.json, json!({"down": down_id}));

    // A change is in force for the next call: restore NOT_FOUND, and the strict API's rule.
    let restored = m.call("DELETE", &format!("{path}/{group}/NOT_FOUND"), None);
    assert_eq!(restored.status, 204, "{}", restored.text);
    call(&gateway, "/nothing/here", &[]).assert_error(404, "APIG.0101", None);
    let restored = m.call("DELETE", &format!("{path}/{strict_id}/AUTH_FAILURE"), None);
    assert_eq!(restored.status, 204, "{}", restored.text);
    call(&gateway, "/strict/x", &[("X-Apig-AppCode", "wrong-code")]).assert_error(
        401,
        "APIG.0303",
        None,
    );

    // A response an API names cannot be deleted; once no API (nor a published copy) names
    // it, it can.
    m.call("DELETE", &format!("{path}/{strict_id}"), None)
        .assert_error(
            403,
            "APIG.3420",
            Some("The gateway response is used by APIs and cannot be deleted."),
        );
    let mut body = echo_api_body(&group, "strict", backend.port);
    body["req_uri"] = json!("/strict/{name}");
    let updated = m.call("PUT", &format!("/apis/{strict_api_id}"), Some(&body));
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert!(
        updated.json.get("response_id").is_none(),
        "{}",
        updated.text
    );
    m.call("DELETE", &format!("{path}/{strict_id}"), None)
        .assert_error(403, "APIG.3420", None); // still in the published copy
    let offline = m.call(
        "POST",
        "/apis/action",
        Some(&json!({"action": "offline", "api_id": strict_api_id, "env_id": RELEASE})),
    );
    assert_eq!(offline.status, 201, "{}", offline.text);
    // Its kept versions still name it, until the API goes.
    m.call("DELETE", &format!("{path}/{strict_id}"), None)
        .assert_error(403, "APIG.3420", None);
    let deleted_api = m.call("DELETE", &format!("/apis/{strict_api_id}"), None);
    assert_eq!(deleted_api.status, 204, "{}", deleted_api.text);
    let deleted = m.call("DELETE", &format!("{path}/{strict_id}"), None);
    assert_eq!(deleted.status, 204, "{}", deleted.text);
}
