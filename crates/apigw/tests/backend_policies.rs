//! Backend policies (`policy_https`, `policy_mocks` of an API), black-box: the real server with
//! its plain HTTP gateway and real echo backends. An API's policies are stored with it, shown
//! with ids, and route its calls by request parameter, cookie, path, method and client
//! address (all or any of a policy's conditions), each policy with its own backend and backend
//! parameters; a call that meets none goes to the API's own backend. Every bad field is
//! refused with `APIG.2011` naming it.

mod common;
use common::*;
use serde_json::{json, Value};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

/// A policy to the echo backend on `port` at `/{prefix}/{name}`, marked by header
/// `X-Policy: {prefix}`.
fn http_policy(name: &str, mode: &str, conditions: Value, port: u16, prefix: &str) -> Value {
    json!({
        "name": name, "effect_mode": mode, "conditions": conditions,
        "url_domain": format!("127.0.0.1:{port}"), "req_protocol": "HTTP", "req_method": "GET",
        "req_uri": format!("/{prefix}/{{name}}"), "timeout": 5000,
        "backend_params": [
            {"name": "name", "value": "name", "location": "PATH", "origin": "REQUEST"},
            {"name": "X-Policy", "value": prefix, "location": "HEADER", "origin": "CONSTANT"}
        ]
    })
}

/// An API without authentication at `ANY /echo/{name}` to the echo backend on `port`, which
/// declares a header `X-Tier` and a query parameter `region` (default `us`), with `policies`.
fn routed_api(group: &str, port: u16, policies: Value) -> Value {
    let mut body = echo_api_body(group, "routed", port);
    body["auth_type"] = json!("NONE");
    body["auth_opt"] = json!({"app_code_auth_type": "DISABLE"});
    body["req_method"] = json!("ANY");
    body["backend_api"]["req_method"] = json!("ANY");
    body["req_params"] = json!([
        {"name": "X-Tier", "type": "STRING", "location": "HEADER", "required": 2},
        {"name": "region", "type": "STRING", "location": "QUERY", "required": 2,
         "default_value": "us"}
    ]);
    body["backend_params"].as_array_mut().unwrap().push(
        json!({"name": "X-Default", "value": "yes", "location": "HEADER", "origin": "CONSTANT"}),
    );
    body["policy_https"] = policies;
    body
}

/// What the echo backend saw of a call through the gateway.
fn call(gateway: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> Value {
    let client = reqwest::blocking::Client::new();
    let mut request = client.request(method.parse().unwrap(), format!("{gateway}{path}"));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().unwrap();
    let status = response.status();
    let text = response.text().unwrap();
    assert_eq!(status, 200, "{method} {path} {headers:?}: {text}");
    serde_json::from_str(&text).unwrap()
}

fn publish(m: &Mgmt<'_>, api_id: &str) {
    let published = m.call(
        "POST",
        "/apis/action",
        Some(&json!({"action": "online", "api_id": api_id, "env_id": RELEASE})),
    );
    assert_eq!(published.status, 201, "{}", published.text);
}

fn is_hex_id(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[test]
fn policies_route_calls_by_parameter_cookie_path_method_and_client_address() {
    let (server, gateway) = server_with_plain_gateway();
    let default = EchoBackend::start();
    let other = EchoBackend::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let group = default_group(&server, &admin);
    let policies = json!([
        http_policy(
            "gold_tier",
            "ANY",
            json!([
                {"condition_origin": "param", "req_param_name": "X-Tier", "condition_type": "EXACT",
                 "condition_value": "gold"},
                {"condition_origin": "cookie", "cookie_param_name": "beta", "condition_type": "ENUM",
                 "condition_value": "yes, true"}
            ]),
            other.port,
            "gold"
        ),
        http_policy(
            "admin_reads",
            "ALL",
            json!([
                {"condition_origin": "system", "sys_param_name": "req_path",
                 "condition_type": "PATTERN", "condition_value": "^/echo/adm[a-z]+$"},
                {"condition_origin": "system", "sys_param_name": "reqMethod",
                 "condition_type": "ENUM", "condition_value": "GET,HEAD"}
            ]),
            other.port,
            "admin"
        ),
        http_policy(
            "local_eu",
            "ALL",
            json!([
                {"condition_origin": "source", "condition_value": "10.0.0.0/8, 127.0.0.0/8"},
                {"condition_origin": "param", "req_param_name": "region", "condition_type": "exact",
                 "condition_value": "eu"}
            ]),
            other.port,
            "eu"
        ),
        http_policy(
            "remote_only",
            "ANY",
            json!([
                {"condition_origin": "source", "condition_value": "10.0.0.0/8,192.168.0.1-192.168.0.9"}
            ]),
            other.port,
            "remote"
        ),
        http_policy(
            "by_name",
            "ANY",
            json!([
                {"condition_origin": "param", "req_param_name": "name", "condition_type": "ENUM",
                 "condition_value": "carol,dave"},
                {"condition_origin": "param", "req_param_name": "region", "condition_type": "EXACT",
                 "condition_value": "us"}
            ]),
            other.port,
            "named"
        )
    ]);
    let created = m.call(
        "POST",
        "/apis",
        Some(&routed_api(&group, default.port, policies)),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let api_id = created.json["id"].as_str().unwrap().to_owned();

    // Shown with Huawei's fields, an id per policy and per condition.
    let shown = &created.json["policy_https"];
    assert_eq!(shown.as_array().unwrap().len(), 5, "{shown}");
    let gold = &shown[0];
    assert_eq!(gold["name"], "gold_tier");
    assert_eq!(gold["effect_mode"], "ANY");
    assert_eq!(gold["url_domain"], format!("127.0.0.1:{}", other.port));
    assert_eq!(gold["req_uri"], "/gold/{name}");
    assert_eq!(gold["vpc_channel_status"], 2);
    assert_eq!(gold["timeout"], 5000);
    assert!(is_hex_id(&gold["id"]), "{gold}");
    assert_eq!(
        gold["conditions"][0],
        json!({"id": gold["conditions"][0]["id"], "condition_origin": "param",
               "req_param_name": "X-Tier", "req_param_location": "HEADER",
               "condition_type": "EXACT", "condition_value": "gold"})
    );
    assert!(is_hex_id(&gold["conditions"][0]["id"]));
    assert_ne!(gold["conditions"][0]["id"], gold["conditions"][1]["id"]);
    assert_eq!(gold["conditions"][1]["cookie_param_name"], "beta");
    assert_eq!(gold["backend_params"][1]["name"], "X-Policy");
    assert_eq!(shown[1]["conditions"][1]["sys_param_name"], "reqMethod");
    assert_eq!(shown[2]["conditions"][1]["condition_type"], "EXACT");
    assert!(shown[2]["conditions"][0].get("condition_type").is_none());
    let stored = db_texts(
        &server,
        &format!("SELECT definition FROM apis WHERE id = '{api_id}'"),
    );
    let stored: Value = serde_json::from_str(&stored[0]).unwrap();
    assert_eq!(stored["policy_https"][3]["name"], "remote_only");
    assert!(
        stored["policy_https"][0].get("id").is_none(),
        "ids are derived, not stored"
    );
    let read = m.call("GET", &format!("/apis/{api_id}"), None);
    assert_eq!(read.json["policy_https"], created.json["policy_https"]);

    publish(&m, &api_id);

    // No condition met (a region sent as `ch`, so that `by_name` does not take the call): the
    // API's own backend, with its own backend parameters.
    let seen = call(&gateway, "GET", "/echo/bob?region=ch", &[]);
    assert_eq!(seen["path"], "/backend/bob?region=ch");
    assert_eq!(seen["headers"]["x-default"], "yes");
    assert!(seen["headers"].get("x-policy").is_none(), "{seen}");

    // The default value of a parameter the caller leaves out counts.
    let seen = call(&gateway, "GET", "/echo/bob", &[]);
    assert_eq!(seen["path"], "/named/bob", "{seen}");

    // A header parameter (ANY: one condition is enough), with the policy's parameters only.
    let seen = call(
        &gateway,
        "GET",
        "/echo/bob?region=ch",
        &[("X-Tier", "gold")],
    );
    assert_eq!(seen["path"], "/gold/bob?region=ch");
    assert_eq!(seen["headers"]["x-policy"], "gold");
    assert!(seen["headers"].get("x-default").is_none(), "{seen}");
    let seen = call(
        &gateway,
        "GET",
        "/echo/bob?region=ch",
        &[("X-Tier", "silver")],
    );
    assert_eq!(seen["path"], "/backend/bob?region=ch");
    // A parameter is read where it is declared: a header, not a query parameter.
    let seen = call(&gateway, "GET", "/echo/bob?region=ch&X-Tier=gold", &[]);
    assert_eq!(seen["path"], "/backend/bob?region=ch&X-Tier=gold");

    // A cookie among others, one of an enumeration.
    let seen = call(
        &gateway,
        "GET",
        "/echo/bob?region=ch",
        &[("Cookie", "session=1; beta=true")],
    );
    assert_eq!(seen["path"], "/gold/bob?region=ch");

    // Path and method together (ALL): a GET of /echo/admin matches, a POST does not.
    let seen = call(&gateway, "GET", "/echo/admin?region=ch", &[]);
    assert_eq!(seen["path"], "/admin/admin?region=ch");
    let seen = call(&gateway, "POST", "/echo/admin?region=ch", &[]);
    assert_eq!(seen["path"], "/backend/admin?region=ch");
    // The path is tested decoded.
    let seen = call(&gateway, "GET", "/echo/%61dmin?region=ch", &[]);
    assert_eq!(seen["path"], "/admin/admin?region=ch");

    // The client address with a parameter (ALL): from 127.0.0.1 with region eu.
    let seen = call(&gateway, "GET", "/echo/bob?region=eu", &[]);
    assert_eq!(seen["path"], "/eu/bob?region=eu");

    // A path parameter in an enumeration; the earlier policy wins when several match.
    let seen = call(&gateway, "GET", "/echo/carol?region=ch", &[]);
    assert_eq!(seen["path"], "/named/carol?region=ch");
    let seen = call(
        &gateway,
        "GET",
        "/echo/carol?region=ch",
        &[("X-Tier", "gold")],
    );
    assert_eq!(seen["path"], "/gold/carol?region=ch");

    // Asked for debugging headers, the gateway says which policy took the call.
    let debugged = reqwest::blocking::Client::new()
        .get(format!("{gateway}/echo/bob?region=ch"))
        .header("X-Tier", "gold")
        .header("X-Apig-Mode", "debug")
        .send()
        .unwrap();
    assert_eq!(debugged.headers()["x-apig-backend-policy"], "gold_tier");
    let plain = reqwest::blocking::Client::new()
        .get(format!("{gateway}/echo/bob?region=ch"))
        .header("X-Apig-Mode", "debug")
        .send()
        .unwrap();
    assert!(plain.headers().get("x-apig-backend-policy").is_none());
    // And so does a debugging call (`DEVELOPER` mode: the current definition).
    let r = m.call(
        "POST",
        &format!("/apis/debug/{api_id}"),
        Some(
            &json!({"mode": "DEVELOPER", "scheme": "HTTP", "method": "GET",
                     "path": "/echo/bob", "query": {"region": "ch"},
                     "header": {"X-Tier": "gold"}}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let log = r.json["log"].as_str().unwrap();
    assert!(
        log.contains("backend policy gold_tier took the call"),
        "{log}"
    );
    assert!(
        r.json["response"].as_str().unwrap().contains("/gold/bob"),
        "{}",
        r.text
    );

    // An update that keeps a policy's name keeps its id; the published copy serves until
    // published again.
    let mut body = routed_api(
        &group,
        default.port,
        json!([http_policy(
            "gold_tier",
            "ALL",
            json!([
                {"condition_origin": "param", "req_param_name": "X-Tier", "condition_type": "EXACT",
                 "condition_value": "platinum"}
            ]),
            other.port,
            "platinum"
        )]),
    );
    body["name"] = json!("routed");
    let updated = m.call("PUT", &format!("/apis/{api_id}"), Some(&body));
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.json["policy_https"][0]["id"], gold["id"]);
    assert_eq!(updated.json["policy_https"].as_array().unwrap().len(), 1);
    let seen = call(
        &gateway,
        "GET",
        "/echo/bob?region=ch",
        &[("X-Tier", "gold")],
    );
    assert_eq!(seen["path"], "/gold/bob?region=ch");
    publish(&m, &api_id);
    let seen = call(
        &gateway,
        "GET",
        "/echo/bob?region=ch",
        &[("X-Tier", "gold")],
    );
    assert_eq!(seen["path"], "/backend/bob?region=ch");
    let seen = call(&gateway, "GET", "/echo/bob", &[("X-Tier", "platinum")]);
    assert_eq!(seen["path"], "/platinum/bob");
    assert_eq!(seen["headers"]["x-policy"], "platinum");

    // Without policies the field is gone from the answer.
    let mut body = routed_api(&group, default.port, json!([]));
    body["name"] = json!("routed");
    let updated = m.call("PUT", &format!("/apis/{api_id}"), Some(&body));
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert!(
        updated.json.get("policy_https").is_none(),
        "{}",
        updated.text
    );
}

#[test]
fn a_mock_api_answers_from_its_mock_policies() {
    let server = Server::start_with(
        Opts::default()
            .arg("--gateway-http-listen")
            .arg("127.0.0.1:0")
            .arg("--log-format")
            .arg("json")
            .arg("--access-log")
            .arg("--metrics-listen")
            .arg("127.0.0.1:0"),
    );
    let gateway = format!(
        "http://127.0.0.1:{}",
        server.port_of("gateway listening (plain HTTP)")
    );
    let metrics = format!(
        "http://127.0.0.1:{}/metrics",
        server.port_of("metrics listening")
    );
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let group = default_group(&server, &admin);
    let body = json!({
        "group_id": group, "name": "mocked", "type": 1, "req_protocol": "BOTH",
        "req_method": "GET", "req_uri": "/mocked", "auth_type": "NONE", "backend_type": "MOCK",
        "mock_info": {"result_content": "{\"who\":\"everyone\"}"},
        "policy_mocks": [{"name": "testers", "effect_mode": "ANY",
            "conditions": [{"condition_origin": "cookie", "cookie_param_name": "tester",
                            "condition_type": "PATTERN", "condition_value": "^qa-"}],
            "result_content": "{\"who\":\"testers\"}"}]
    });
    let created = m.call("POST", "/apis", Some(&body));
    assert_eq!(created.status, 201, "{}", created.text);
    let policy = &created.json["policy_mocks"][0];
    assert_eq!(policy["result_content"], "{\"who\":\"testers\"}");
    assert!(is_hex_id(&policy["id"]), "{policy}");
    let api_id = created.json["id"].as_str().unwrap().to_owned();
    publish(&m, &api_id);

    let client = reqwest::blocking::Client::new();
    let get = |cookie: Option<&str>| {
        let mut r = client.get(format!("{gateway}/mocked"));
        if let Some(c) = cookie {
            r = r.header("Cookie", c);
        }
        let r = r.send().unwrap();
        assert_eq!(r.status(), 200);
        r.text().unwrap()
    };
    assert_eq!(get(None), "{\"who\":\"everyone\"}");
    assert_eq!(get(Some("tester=qa-7")), "{\"who\":\"testers\"}");
    assert_eq!(get(Some("tester=dev-7")), "{\"who\":\"everyone\"}");

    // The access log names the policy that took each call.
    let policies: Vec<String> = server
        .log_text()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|e| e["target"] == "apigw::access")
        .map(|e| e["policy"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(policies, ["-", "testers", "-"]);

    // So does the metric of the calls each policy took.
    let exposition = reqwest::blocking::get(&metrics).unwrap().text().unwrap();
    let line = format!(
        "apigw_gateway_backend_policy_requests_total{{api_id=\"{api_id}\",stage=\"RELEASE\",policy=\"testers\"}} 1"
    );
    assert!(exposition.contains(&line), "{line} in {exposition}");
}

#[test]
fn a_policy_on_a_vpc_channel_needs_the_channel_and_keeps_it() {
    let (server, gateway) = server_with_plain_gateway();
    let default = EchoBackend::start();
    let member = EchoBackend::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let group = default_group(&server, &admin);
    let channel = m.call(
        "POST",
        "/vpc-channels",
        Some(
            &json!({"name": "policy_channel", "port": member.port, "balance_strategy": 1,
                     "member_type": "ip", "type": 2,
                     "members": [{"host": "127.0.0.1"}]}),
        ),
    );
    assert_eq!(channel.status, 201, "{}", channel.text);
    let channel_id = channel.json["id"].as_str().unwrap().to_owned();
    let mut policy = http_policy(
        "on_channel",
        "ANY",
        json!([{"condition_origin": "param", "req_param_name": "X-Tier",
                "condition_type": "EXACT", "condition_value": "gold"}]),
        0,
        "channel",
    );
    policy.as_object_mut().unwrap().remove("url_domain");
    policy["vpc_channel_status"] = json!(1);
    policy["vpc_channel_info"] = json!({"vpc_channel_id": "0123456789abcdef0123456789abcdef"});
    let body = routed_api(&group, default.port, json!([policy.clone()]));
    m.call("POST", "/apis", Some(&body))
        .assert_error(404, "APIG.3023", None);
    policy["vpc_channel_info"]["vpc_channel_id"] = json!(channel_id);
    let created = m.call(
        "POST",
        "/apis",
        Some(&routed_api(&group, default.port, json!([policy]))),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["policy_https"][0]["vpc_channel_status"], 1);
    let api_id = created.json["id"].as_str().unwrap().to_owned();
    publish(&m, &api_id);

    let seen = call(
        &gateway,
        "GET",
        "/echo/bob?region=ch",
        &[("X-Tier", "gold")],
    );
    assert_eq!(seen["path"], "/channel/bob?region=ch");
    assert_eq!(member.hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    let seen = call(&gateway, "GET", "/echo/bob?region=ch", &[]);
    assert_eq!(seen["path"], "/backend/bob?region=ch");

    m.call("DELETE", &format!("/vpc-channels/{channel_id}"), None)
        .assert_error(403, "APIG.3414", None);
}

#[test]
fn bad_policies_are_refused_naming_the_field() {
    let server = Server::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let group = default_group(&server, &admin);
    let tier = json!({"condition_origin": "param", "req_param_name": "X-Tier",
                      "condition_type": "EXACT", "condition_value": "gold"});
    let good = http_policy("good_one", "ANY", json!([tier.clone()]), 9, "p");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut p = good.clone();
        f(&mut p);
        p
    };
    let condition = |c: Value| with(&|p: &mut Value| p["conditions"] = json!([c.clone()]));
    let cases: Vec<(Value, &str)> = vec![
        (json!([good.clone(), good.clone()]), "policy_https[1].name"),
        (
            json!((0..6)
                .map(|i| with(&|p: &mut Value| p["name"] = json!(format!("policy_{i}"))))
                .collect::<Vec<_>>()),
            "policy_https",
        ),
        (
            json!([with(&|p: &mut Value| p["name"] = json!("ab"))]),
            "policy_https[0].name",
        ),
        (
            json!([with(&|p: &mut Value| p["name"] = json!("1abc"))]),
            "policy_https[0].name",
        ),
        (
            json!([with(&|p: &mut Value| p["name"] = json!("a-bc"))]),
            "policy_https[0].name",
        ),
        (
            json!([with(&|p: &mut Value| p["effect_mode"] = json!("SOME"))]),
            "policy_https[0].effect_mode",
        ),
        (
            json!([with(&|p: &mut Value| {
                p.as_object_mut().unwrap().remove("effect_mode");
            })]),
            "policy_https[0].effect_mode",
        ),
        (
            json!([with(&|p: &mut Value| p["conditions"] = json!([]))]),
            "policy_https[0].conditions",
        ),
        (
            json!([with(
                &|p: &mut Value| p["conditions"] = json!(vec![tier.clone(); 6])
            )]),
            "policy_https[0].conditions",
        ),
        (
            json!([with(&|p: &mut Value| p["authorizer_id"] = json!("abc"))]),
            "policy_https[0].authorizer_id",
        ),
        (
            json!([with(&|p: &mut Value| {
                p.as_object_mut().unwrap().remove("url_domain");
            })]),
            "policy_https[0].url_domain",
        ),
        (
            json!([with(&|p: &mut Value| p["timeout"] = json!(0))]),
            "policy_https[0].timeout",
        ),
        (
            json!([with(&|p: &mut Value| p["retry_count"] = json!("11"))]),
            "policy_https[0].retry_count",
        ),
        (
            json!([with(
                &|p: &mut Value| p["req_uri"] = json!("/p/{name}/{other}")
            )]),
            "policy_https[0].req_uri",
        ),
        (
            json!([with(
                &|p: &mut Value| p["backend_params"][1]["location"] = json!("PATH")
            )]),
            "policy_https[0].backend_params[1].location",
        ),
        (
            json!([condition(
                json!({"condition_origin": "frontend_authorizer", "frontend_authorizer_param_name": "$context.authorizer.frontend.user", "condition_type": "EXACT", "condition_value": "x"})
            )]),
            "policy_https[0].conditions[0].condition_origin",
        ),
        (
            json!([condition(
                json!({"condition_origin": "param", "req_param_name": "undeclared", "condition_type": "EXACT", "condition_value": "x"})
            )]),
            "policy_https[0].conditions[0].req_param_name",
        ),
        (
            json!([condition(
                json!({"condition_origin": "param", "req_param_name": "X-Tier", "condition_value": "x"})
            )]),
            "policy_https[0].conditions[0].condition_type",
        ),
        (
            json!([condition(
                json!({"condition_origin": "param", "req_param_name": "X-Tier", "condition_type": "LIKE", "condition_value": "x"})
            )]),
            "policy_https[0].conditions[0].condition_type",
        ),
        (
            json!([condition(
                json!({"condition_origin": "param", "req_param_name": "X-Tier", "condition_type": "EXACT", "condition_value": ""})
            )]),
            "policy_https[0].conditions[0].condition_value",
        ),
        (
            json!([condition(
                json!({"condition_origin": "param", "req_param_name": "X-Tier", "condition_type": "PATTERN", "condition_value": "(unclosed"})
            )]),
            "policy_https[0].conditions[0].condition_value",
        ),
        (
            json!([condition(
                json!({"condition_origin": "param", "req_param_name": "X-Tier", "condition_type": "PATTERN", "condition_value": "gold(?=en)"})
            )]),
            "policy_https[0].conditions[0].condition_value",
        ),
        (
            json!([condition(
                json!({"condition_origin": "param", "req_param_name": "X-Tier", "condition_type": "ENUM", "condition_value": " , "})
            )]),
            "policy_https[0].conditions[0].condition_value",
        ),
        (
            json!([condition(
                json!({"condition_origin": "system", "sys_param_name": "req_host", "condition_type": "EXACT", "condition_value": "x"})
            )]),
            "policy_https[0].conditions[0].sys_param_name",
        ),
        (
            json!([condition(
                json!({"condition_origin": "system", "sys_param_name": "req_method", "condition_type": "EXACT", "condition_value": "FETCH"})
            )]),
            "policy_https[0].conditions[0].condition_value",
        ),
        (
            json!([condition(
                json!({"condition_origin": "system", "sys_param_name": "req_method", "condition_type": "PATTERN", "condition_value": "G.*"})
            )]),
            "policy_https[0].conditions[0].condition_type",
        ),
        (
            json!([condition(
                json!({"condition_origin": "source", "condition_value": "10.0.0.0/33"})
            )]),
            "policy_https[0].conditions[0].condition_value",
        ),
        (
            json!([condition(
                json!({"condition_origin": "source", "condition_value": "10.0.0.1,10.0.0.1"})
            )]),
            "policy_https[0].conditions[0].condition_value",
        ),
        (
            json!([condition(
                json!({"condition_origin": "cookie", "cookie_param_name": "a b", "condition_type": "EXACT", "condition_value": "x"})
            )]),
            "policy_https[0].conditions[0].cookie_param_name",
        ),
        (
            json!([condition(
                json!({"condition_origin": "cookie", "condition_type": "EXACT", "condition_value": "x"})
            )]),
            "policy_https[0].conditions[0].cookie_param_name",
        ),
        (json!("not a list"), "policy_https"),
    ];
    for (policies, field) in cases {
        let r = m.call(
            "POST",
            "/apis",
            Some(&routed_api(&group, 9, policies.clone())),
        );
        r.assert_error(400, "APIG.2011", Some(&invalid(field)));
    }
    // The other kinds of policy list.
    let mut body = routed_api(&group, 9, json!([]));
    body["policy_functions"] = json!([{"name": "fg_policy", "effect_mode": "ANY"}]);
    m.call("POST", "/apis", Some(&body)).assert_error(
        400,
        "APIG.2011",
        Some(&invalid("policy_functions")),
    );
    let mut body = routed_api(&group, 9, json!([]));
    body["policy_mocks"] = json!([{"name": "mock_policy", "effect_mode": "ANY",
        "conditions": [tier], "result_content": "{}"}]);
    m.call("POST", "/apis", Some(&body)).assert_error(
        400,
        "APIG.2011",
        Some(&invalid("policy_mocks")),
    );
    let mock = json!({
        "group_id": group, "name": "mocked", "type": 1, "req_method": "GET", "req_uri": "/m",
        "auth_type": "NONE", "backend_type": "MOCK", "policy_https": [good]
    });
    m.call("POST", "/apis", Some(&mock)).assert_error(
        400,
        "APIG.2011",
        Some(&invalid("policy_https")),
    );
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM apis"), 0);
}

#[test]
fn a_policy_backend_naming_an_undefined_variable_answers_500_for_its_calls_only() {
    let (server, gateway) = server_with_plain_gateway();
    let default = EchoBackend::start();
    let other = EchoBackend::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let group = default_group(&server, &admin);
    let mut policy = http_policy(
        "by_variable",
        "ANY",
        json!([{"condition_origin": "param", "req_param_name": "X-Tier",
                "condition_type": "EXACT", "condition_value": "gold"}]),
        0,
        "variable",
    );
    policy["url_domain"] = json!("#canary_host#");
    let created = m.call(
        "POST",
        "/apis",
        Some(&routed_api(&group, default.port, json!([policy]))),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let api_id = created.json["id"].as_str().unwrap().to_owned();
    publish(&m, &api_id);

    let client = reqwest::blocking::Client::new();
    let missing = client
        .get(format!("{gateway}/echo/bob?region=ch"))
        .header("X-Tier", "gold")
        .send()
        .unwrap();
    assert_eq!(missing.status(), 500);
    let body: Value = missing.json().unwrap();
    assert_eq!(body["error_code"], "APIG.0103", "{body}");
    let seen = call(&gateway, "GET", "/echo/bob?region=ch", &[]);
    assert_eq!(seen["path"], "/backend/bob?region=ch");
    let log = server.log_text();
    assert!(
        log.contains("backend policy by_variable: url_domain"),
        "the log names the policy: {log}"
    );
    let warned = |log: &str| {
        log.lines()
            .filter(|l| l.contains("API without a backend") && l.contains("policy by_variable"))
            .count()
    };
    assert_eq!(warned(&log), 1, "{log}");
    // Another change rebuilds the routes: the same reason is not logged again.
    let unrelated = m.call("POST", "/api-groups", Some(&json!({"name": "unrelated"})));
    assert_eq!(unrelated.status, 201, "{}", unrelated.text);
    assert_eq!(warned(&server.log_text()), 1, "{}", server.log_text());

    // Defined, it is in force for the next call.
    let defined = m.call(
        "POST",
        "/env-variables",
        Some(
            &json!({"group_id": group, "env_id": RELEASE, "variable_name": "canary_host",
                     "variable_value": format!("127.0.0.1:{}", other.port)}),
        ),
    );
    assert_eq!(defined.status, 201, "{}", defined.text);
    let seen = call(
        &gateway,
        "GET",
        "/echo/bob?region=ch",
        &[("X-Tier", "gold")],
    );
    assert_eq!(seen["path"], "/variable/bob?region=ch");
}
