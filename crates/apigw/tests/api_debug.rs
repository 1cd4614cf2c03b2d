//! Debugging APIs (`POST /apis/debug/{api_id}`), black-box: the real server with its plain
//! HTTP gateway and a real echo backend. `DEVELOPER` mode calls an API's current definition,
//! published or not, without credentials; `CONSUMER` mode calls what is published in a stage
//! like any consumer, signed with the app's key and secret; the answer shows the request
//! sent, the response received (cut at 2 MiB), the latency and a log; every bad field, role
//! and scope is refused with its APIG code.

mod common;
use common::*;
use serde_json::{json, Value};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

/// The server with a plain HTTP gateway (and room for 2 MiB debugging bodies), and the
/// gateway's address.
fn server_with_gateway() -> (Server, String) {
    let server = Server::start_with(
        Opts::default()
            .arg("--gateway-http-listen")
            .arg("127.0.0.1:0")
            .arg("--max-body-bytes")
            .arg("4000000"),
    );
    let port = server.port_of("gateway listening (plain HTTP)");
    (server, format!("http://127.0.0.1:{port}"))
}

/// An API `name` at `method uri` in the default group, to the echo backend on `port` at
/// `/backend/{name}`: its id.
fn echo_api(m: &Mgmt<'_>, name: &str, method: &str, port: u16) -> String {
    let group = default_group(m.server, m.s);
    let mut body = echo_api_body(&group, name, port);
    body["req_method"] = json!(method);
    body["backend_api"]["req_method"] = json!(method);
    let api = m.call("POST", "/apis", Some(&body));
    assert_eq!(api.status, 201, "{}", api.text);
    api.json["id"].as_str().unwrap().to_owned()
}

fn debug(m: &Mgmt<'_>, api_id: &str, body: &Value) -> Reply {
    m.call("POST", &format!("/apis/debug/{api_id}"), Some(body))
}

/// The echo backend's JSON in a debugging answer's `response` text.
fn echoed(answer: &Value) -> Value {
    let text = answer["response"].as_str().unwrap();
    let (_, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn developer_mode_calls_the_current_definition_without_publishing_it() {
    let (server, gateway) = server_with_gateway();
    let echo = EchoBackend::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let api_id = echo_api(&m, "debugged", "GET", echo.port);
    let group = default_group(&server, &admin);

    let r = debug(
        &m,
        &api_id,
        &json!({"mode": "DEVELOPER", "scheme": "HTTP", "method": "GET", "path": "/echo/alice",
                "query": {"q": ["1", "2 3"]}, "header": {"x-MY-header": ["v1", "v2"]}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let answer = &r.json;
    let request = answer["request"].as_str().unwrap();
    assert!(
        request.starts_with(&format!(
            "GET /echo/alice?q=1&q=2%203 HTTP/1.1\r\nHost: {group}.apic."
        )),
        "{request}"
    );
    assert!(
        request.contains("\r\nX-My-Header: v1\r\nX-My-Header: v2\r\n"),
        "{request}"
    );
    assert!(request.contains("\r\nX-Stage: DEBUG\r\n"), "{request}");
    assert!(request.contains("\r\nX-Apig-Mode: debug\r\n"), "{request}");
    let response = answer["response"].as_str().unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.contains("\r\nX-Request-Id: "), "{response}");
    assert!(
        response.contains("\r\nX-Apig-Upstream-Latency: "),
        "{response}"
    );
    let backend = echoed(answer);
    assert_eq!(backend["path"], "/backend/alice?q=1&q=2%203");
    assert_eq!(backend["headers"]["x-my-header"], "v2", "{backend}");
    assert!(
        answer["latency"].as_u64().is_some(),
        "{}",
        answer["latency"]
    );
    let log = answer["log"].as_str().unwrap();
    assert!(
        log.starts_with("DEVELOPER mode: the current definition of API debugged"),
        "{log}"
    );
    assert!(log.contains("the backend answered its head in"), "{log}");
    assert!(log.contains("200 OK after"), "{log}");
    assert_eq!(echo.hits.load(std::sync::atomic::Ordering::SeqCst), 1);

    // Published nowhere: the gateway does not serve it, and no publication was stored.
    let direct = reqwest::blocking::get(format!("{gateway}/echo/alice")).unwrap();
    assert_eq!(direct.status(), 404);
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM publications"), 0);

    // The definition as it is now: a changed backend path is what the next call uses.
    let mut changed = echo_api_body(&group, "debugged", echo.port);
    changed["backend_api"]["req_uri"] = json!("/v2/{name}");
    let updated = m.call("PUT", &format!("/apis/{api_id}"), Some(&changed));
    assert_eq!(updated.status, 200, "{}", updated.text);
    let r = debug(
        &m,
        &api_id,
        &json!({"mode": "DEVELOPER", "scheme": "HTTP", "method": "GET", "path": "/echo/bob"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(echoed(&r.json)["path"], "/v2/bob");

    // A method the API does not take: the gateway's own refusal, in the answer, and the log
    // says so; credentials are not used in this mode.
    let r = debug(
        &m,
        &api_id,
        &json!({"mode": "DEVELOPER", "scheme": "HTTP", "method": "POST", "path": "/echo/bob",
                "body": "{}", "app_key": "abcdefgh1234", "app_secret": "secret12345678"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let response = r.json["response"].as_str().unwrap();
    assert!(
        response.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{response}"
    );
    assert!(response.contains("APIG.0101"), "{response}");
    let log = r.json["log"].as_str().unwrap();
    assert!(
        log.contains("app_key and app_secret are used in CONSUMER mode only"),
        "{log}"
    );
    assert!(
        log.contains("refused by the gateway, no backend called (APIG.0101: "),
        "{log}"
    );
    assert!(!r.json["request"]
        .as_str()
        .unwrap()
        .contains("Authorization"));
    assert_eq!(echo.hits.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn developer_mode_reaches_the_servers_of_a_vpc_channel() {
    let (server, _gateway) = server_with_gateway();
    let (one, two) = (
        EchoBackend::start_on("127.0.0.31"),
        EchoBackend::start_on("127.0.0.32"),
    );
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let channel = m.call(
        "POST",
        "/vpc-channels",
        Some(
            &json!({"name": "debugged_channel", "port": 80, "balance_strategy": 1,
            "member_type": "ip", "type": 2,
            "members": [{"host": "127.0.0.31", "port": one.port},
                        {"host": "127.0.0.32", "port": two.port}]}),
        ),
    );
    assert_eq!(channel.status, 201, "{}", channel.text);
    let group = default_group(&server, &admin);
    let api = m.call(
        "POST",
        "/apis",
        Some(&json!({"group_id": group, "name": "on_channel", "type": 1,
            "req_protocol": "BOTH", "req_method": "GET", "req_uri": "/on-channel",
            "auth_type": "NONE", "backend_type": "HTTP",
            "backend_api": {"vpc_channel_status": 1,
                "vpc_channel_info": {"vpc_channel_id": channel.json["id"]},
                "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/backend",
                "timeout": 5000}})),
    );
    assert_eq!(api.status, 201, "{}", api.text);
    let api_id = api.json["id"].as_str().unwrap();
    // Each call builds its balancer afresh, starting at a random turn: 20 calls all to one
    // of two servers would happen once in 500,000 runs.
    for _ in 0..20 {
        let r = debug(
            &m,
            api_id,
            &json!({"mode": "DEVELOPER", "scheme": "HTTP", "method": "GET", "path": "/on-channel"}),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(echoed(&r.json)["path"], "/backend");
    }
    // Both servers answered: the channel's balancer, not one fixed address.
    let hits = [&one, &two].map(|b| b.hits.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(hits.iter().sum::<usize>(), 20);
    assert!(hits.iter().all(|&n| n > 0), "{hits:?}");
}

#[test]
fn developer_mode_shows_a_mock_s_answer_without_a_backend() {
    let (server, _gateway) = server_with_gateway();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let group = default_group(&server, &admin);
    let api = m.call(
        "POST",
        "/apis",
        Some(
            &json!({"group_id": group, "name": "mocked", "type": 1, "req_protocol": "BOTH",
            "req_method": "GET", "req_uri": "/mocked", "auth_type": "APP",
            "backend_type": "MOCK", "mock_info": {"result_content": "{\"hello\":\"mock\"}"}}),
        ),
    );
    assert_eq!(api.status, 201, "{}", api.text);
    let r = debug(
        &m,
        api.json["id"].as_str().unwrap(),
        &json!({"mode": "DEVELOPER", "scheme": "HTTP", "method": "GET", "path": "/mocked"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(echoed(&r.json), json!({"hello": "mock"}));
    let response = r.json["response"].as_str().unwrap();
    assert!(!response.contains("X-Apig-Upstream-Latency"), "{response}");
    let log = r.json["log"].as_str().unwrap();
    assert!(
        log.contains("answered by the gateway, no backend called"),
        "{log}"
    );
}

#[test]
fn consumer_mode_calls_the_published_api_signed_with_the_app_s_key() {
    let (server, _gateway) = server_with_gateway();
    let echo = EchoBackend::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let api_id = echo_api(&m, "consumed", "ANY", echo.port);
    let consumer = |extra: Value| {
        let mut body = json!({"mode": "CONSUMER", "scheme": "HTTP", "method": "POST",
                              "path": "/echo/carol", "body": "{\"a\":1}"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        debug(&m, &api_id, &body)
    };

    // Not published yet: the gateway's 404, inside a 200.
    let r = consumer(json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json["response"].as_str().unwrap().contains("APIG.0101"));
    assert!(r.json["log"]
        .as_str()
        .unwrap()
        .starts_with("CONSUMER mode: the APIs published in environment RELEASE"));

    let online = m.call(
        "POST",
        "/apis/action",
        Some(&json!({"action": "online", "api_id": api_id, "env_id": RELEASE})),
    );
    assert_eq!(online.status, 201, "{}", online.text);
    // Published, but the caller has no credential: 401 from the gateway.
    let r = consumer(json!({}));
    let response = r.json["response"].as_str().unwrap();
    assert!(
        response.starts_with("HTTP/1.1 401 Unauthorized\r\n"),
        "{response}"
    );
    assert!(response.contains("APIG.0303"), "{response}");
    assert_eq!(echo.hits.load(std::sync::atomic::Ordering::SeqCst), 0);

    let app = m.call("POST", "/apps", Some(&json!({"name": "debugging_app"})));
    assert_eq!(app.status, 201, "{}", app.text);
    let (app_id, key, secret) = (
        app.json["id"].as_str().unwrap().to_owned(),
        app.json["app_key"].as_str().unwrap().to_owned(),
        app.json["app_secret"].as_str().unwrap().to_owned(),
    );
    // Signed, but the app is not authorized for the API: 403.
    let r = consumer(json!({"app_key": key, "app_secret": secret}));
    assert!(
        r.json["response"].as_str().unwrap().contains("APIG.0304"),
        "{}",
        r.text
    );
    let auth = m.call(
        "POST",
        "/app-auths",
        Some(&json!({"env_id": RELEASE, "app_ids": [app_id], "api_ids": [api_id]})),
    );
    assert_eq!(auth.status, 201, "{}", auth.text);
    let r = consumer(json!({"app_key": key, "app_secret": secret,
                            "header": {"Content-Type": "application/json"}}));
    assert_eq!(r.status, 200, "{}", r.text);
    let request = r.json["request"].as_str().unwrap();
    assert!(
        request.starts_with("POST /echo/carol HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(
        request.contains(&format!(
            "\r\nAuthorization: SDK-HMAC-SHA256 Access={key}, SignedHeaders="
        )),
        "{request}"
    );
    assert!(request.contains("\r\nX-Sdk-Date: "), "{request}");
    assert!(request.ends_with("\r\n\r\n{\"a\":1}"), "{request}");
    assert!(
        !request.contains(&secret),
        "the secret itself is never shown"
    );
    let backend = echoed(&r.json);
    assert_eq!(backend["method"], "POST");
    assert_eq!(backend["body"], "{\"a\":1}");
    assert!(
        backend["headers"].get("authorization").is_none(),
        "{backend}"
    );
    let log = r.json["log"].as_str().unwrap();
    assert!(
        log.contains(&format!("signed with SDK-HMAC-SHA256 as app_key {key}")),
        "{log}"
    );
    assert_eq!(echo.hits.load(std::sync::atomic::Ordering::SeqCst), 1);

    // A wrong secret is the gateway's 401.
    let r = consumer(json!({"app_key": key, "app_secret": "wrong_secret_1"}));
    assert!(r.json["response"].as_str().unwrap().contains("APIG.0303"));
    // HTTPS only reaches APIs served over HTTPS: this one is BOTH, so it answers.
    let r = consumer(json!({"scheme": "HTTPS", "app_key": key, "app_secret": secret}));
    assert!(r.json["response"]
        .as_str()
        .unwrap()
        .starts_with("HTTP/1.1 200 OK"));
    // A stage that does not exist.
    let r = consumer(json!({"stage": "NO_SUCH_ENV"}));
    r.assert_error(
        404,
        "APIG.3003",
        Some("Environment NO_SUCH_ENV does not exist"),
    );

    // A response body over 2 MiB is cut there and marked.
    let big = "x".repeat(2_097_152);
    let r = consumer(json!({"app_key": key, "app_secret": secret, "body": big}));
    assert_eq!(r.status, 200, "{}", r.text);
    let response = r.json["response"].as_str().unwrap();
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    assert_eq!(body.len(), 2_097_152 + "[TRUNCATED]".len());
    assert!(body.ends_with("xxx[TRUNCATED]"));
    assert!(r.json["log"]
        .as_str()
        .unwrap()
        .contains("response body cut after 2097152 bytes"));
    // A request body over 2 MiB is refused before anything is called.
    let r = consumer(json!({"body": "x".repeat(2_097_153)}));
    r.assert_error(400, "APIG.2011", Some(&invalid("body")));
}

#[test]
fn debugging_refuses_bad_fields_roles_other_projects_and_instances_it_does_not_serve() {
    let (server, _gateway) = server_with_gateway();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let api_id = echo_api(&m, "refusals", "GET", 9);
    let ok = json!({"mode": "DEVELOPER", "scheme": "HTTP", "method": "GET", "path": "/echo/x"});
    for (field, value, named) in [
        ("mode", json!("MARKET"), "mode"),
        ("mode", json!(null), "mode"),
        ("scheme", json!("ftp"), "scheme"),
        ("method", json!("ANY"), "method"),
        ("path", json!("echo"), "path"),
        ("header", json!({"X-Stage": "RELEASE"}), "header.X-Stage"),
        (
            "header",
            json!({"X-Apig-Mode": "debug"}),
            "header.X-Apig-Mode",
        ),
        ("header", json!({"Host": "a.example.com"}), "header.Host"),
        ("header", json!("a string"), "header"),
        ("query", json!({"_a": "1"}), "query._a"),
        ("domain", json!("a b"), "domain"),
        ("app_key", json!("abcdefgh1234"), "app_secret"),
    ] {
        let mut body = ok.clone();
        body[field] = value.clone();
        let r = debug(&m, &api_id, &body);
        r.assert_error(400, "APIG.2011", Some(&invalid(named)));
    }
    let mut consumer = ok.clone();
    consumer["mode"] = json!("CONSUMER");
    consumer["header"] = json!({"Authorization": "Basic eDp5"});
    debug(&m, &api_id, &consumer).assert_error(
        400,
        "APIG.2011",
        Some(&invalid("header.Authorization")),
    );
    let not_json = server.call_raw(
        "POST",
        &admin.apig(&format!("/apis/debug/{api_id}")),
        Some(&admin.token),
        "{",
    );
    assert_eq!(not_json.status, 400, "{}", not_json.text);
    // A backend that names environment variables runs only in an environment.
    let group = default_group(&server, &admin);
    let mut templated = echo_api_body(&group, "templated", 9);
    templated["req_uri"] = json!("/templated/{name}");
    templated["backend_api"]["req_uri"] = json!("/#prefix#/{name}");
    let templated = m.call("POST", "/apis", Some(&templated));
    assert_eq!(templated.status, 201, "{}", templated.text);
    let templated = templated.json["id"].as_str().unwrap().to_owned();
    let r = debug(&m, &templated, &ok);
    r.assert_error(400, "APIG.2011", None);
    assert!(r.text.contains("debug it in CONSUMER mode"), "{}", r.text);
    debug(&m, "0123456789abcdef0123456789abcdef", &ok).assert_error(
        404,
        "APIG.3002",
        Some("API 0123456789abcdef0123456789abcdef does not exist"),
    );

    // Roles and projects: a reader may not make calls; another project does not see the API;
    // another project's own instance is not served by this node's gateway.
    let reader = server.user_session(&admin, "rita", "proj_debug", "reader");
    let other = server.user_session(&admin, "otto", "proj_debug_other", "member");
    let as_reader = Mgmt {
        server: &server,
        s: &reader,
    };
    debug(&as_reader, &api_id, &ok).assert_error(403, "APIG.1005", None);
    let as_other = Mgmt {
        server: &server,
        s: &other,
    };
    let r = as_other.call("POST", &format!("/apis/debug/{api_id}"), Some(&ok));
    assert_eq!(r.status, 404, "{}", r.text);
    let own = echo_api(&as_other, "elsewhere", "GET", 9);
    let r = debug(&as_other, &own, &ok);
    r.assert_error(503, "APIG.9999", None);
    let message = r.json["error_msg"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "no gateway of this server serves instance {}",
            other.instance_id
        )),
        "{message}"
    );

    // A server without a gateway listener cannot debug at all.
    let plain = Server::start();
    let plain_admin = plain.admin();
    let pm = Mgmt {
        server: &plain,
        s: &plain_admin,
    };
    let api = echo_api(&pm, "no_gateway", "GET", 9);
    debug(&pm, &api, &ok).assert_error(503, "APIG.9999", None);
}
