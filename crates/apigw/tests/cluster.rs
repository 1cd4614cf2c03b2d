//! Several `apigw serve` processes on one PostgreSQL database: a change made through one node is
//! in force on another node's data plane; concurrent writes through two nodes keep the limits
//! and uniqueness rules; a database outage leaves the data planes serving from memory, fails
//! management writes with 503, and heals by itself. PostgreSQL only (`APIGW_TEST_DATABASE`).

mod common;
use common::*;
use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

fn skip_on_sqlite() -> bool {
    if on_postgres() {
        return false;
    }
    eprintln!("skipped: several nodes need PostgreSQL (run with APIGW_TEST_DATABASE=postgres)");
    true
}

/// One node: a server, an admin session on it and the address of its plain-HTTP gateway.
struct NodeUnderTest {
    server: Server,
    admin: Session,
    gateway: String,
}

/// Starts a node: the first one on a new database, later ones on `database_url` with the
/// master key of `key_from` (the first node).
fn node(database_url: Option<&str>, key_from: Option<&Server>) -> NodeUnderTest {
    node_with(database_url, key_from, &[])
}

/// [`node`] with more command-line arguments.
fn node_with(
    database_url: Option<&str>,
    key_from: Option<&Server>,
    args: &[&str],
) -> NodeUnderTest {
    let mut opts = Opts::default()
        .arg("--gateway-http-listen")
        .arg("127.0.0.1:0")
        .arg("--allow-app-code-over-http")
        .arg("--sync-check-interval")
        .arg("1s")
        .arg("--database-timeout")
        .arg("2s")
        // The tests poll with not-yet-valid AppCodes; keep the failure throttle out of the way.
        .arg("--auth-failure-limit")
        .arg("1000000")
        .env("APIGW_LOG", "info,apigw::quota_ledger=debug");
    for arg in args {
        opts = opts.arg(arg);
    }
    if let Some(url) = database_url {
        opts = opts.env("APIGW_DATABASE_URL", url);
    }
    if let Some(first) = key_from {
        let key = first.data_dir.join("master.key");
        opts = opts.env("APIGW_MASTER_KEY_FILE", key.to_str().unwrap());
    }
    let server = Server::start_with(opts);
    let admin = server.admin();
    let port = server.port_of("gateway listening (plain HTTP)");
    NodeUnderTest {
        server,
        admin,
        gateway: format!("http://127.0.0.1:{port}"),
    }
}

impl NodeUnderTest {
    /// App `app_id`'s AppKey, and its AppSecret after a reset (so it is known).
    fn key_and_new_secret(&self, app_id: &str) -> (String, String) {
        let app = self.mgmt("GET", &format!("/apps/{app_id}"), None);
        let key = app.json["app_key"].as_str().unwrap().to_owned();
        let reset = self.mgmt("PUT", &format!("/apps/secret/{app_id}"), None);
        (key, reset.json["app_secret"].as_str().unwrap().to_owned())
    }

    /// The publication record of `api_id` (in RELEASE), what policies are bound to.
    fn publish_id(&self, api_id: &str) -> String {
        let api = self.mgmt("GET", &format!("/apis/{api_id}"), None);
        api.json["publish_id"].as_str().unwrap().to_owned()
    }

    fn mgmt(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        self.server.call(
            method,
            &self.admin.apig(path),
            Some(&self.admin.token),
            body,
        )
    }

    fn created(&self, path: &str, body: Value) -> Value {
        let r = self.mgmt("POST", path, Some(&body));
        assert_eq!(r.status, 201, "POST {path}: {}", r.text);
        r.json
    }

    /// Creates an hourly app quota `name` of `limit` calls and binds `app_id` to it; its id.
    fn bound_quota(&self, name: &str, limit: u32, app_id: &str) -> String {
        let created = self.created(
            "/app-quotas",
            json!({"name": name, "call_limits": limit, "time_unit": "HOUR", "time_interval": 1}),
        );
        let quota_id = created["app_quota_id"].as_str().unwrap().to_owned();
        self.created(
            &format!("/app-quotas/{quota_id}/binding-apps"),
            json!({"app_ids": [app_id]}),
        );
        quota_id
    }

    /// Generates an AppCode for `app_id` (`PUT .../app-codes`).
    fn new_code(&self, app_id: &str) -> Value {
        let r = self.mgmt("PUT", &format!("/apps/{app_id}/app-codes"), None);
        assert_eq!(r.status, 201, "generate AppCode: {}", r.text);
        r.json
    }

    /// A call in debug mode: the status and `X-Apig-RateLimit-api` (present once a throttling
    /// policy is in force).
    fn call_debug(&self, client: &Client, app_code: &str) -> (u16, Option<String>) {
        let r = client
            .get(format!("{}/echo/x", self.gateway))
            .header("X-Apig-AppCode", app_code)
            .header("X-Apig-Mode", "debug")
            .send()
            .unwrap();
        let limit = r.headers().get("x-apig-ratelimit-api");
        let limit = limit.map(|v| v.to_str().unwrap().to_owned());
        (r.status().as_u16(), limit)
    }

    /// Waits until the node's log has `text` `times` times.
    fn until_logged(&self, text: &str, times: usize) {
        let started = Instant::now();
        while self.server.log_text().matches(text).count() < times {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "never logged {text:?} {times} times; log:\n{}",
                self.server.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn call_gateway(&self, client: &Client, app_code: &str) -> u16 {
        client
            .get(format!("{}/echo/x", self.gateway))
            .header("X-Apig-AppCode", app_code)
            .send()
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }
}

/// An app with an AppCode, authorized for a published AppCode API on `backend`.
struct Fixture {
    api_id: String,
    app_id: String,
    code_id: String,
    code: String,
}

fn define(node: &NodeUnderTest, backend: &EchoBackend) -> Fixture {
    let groups = node.mgmt("GET", "/api-groups", None);
    let group = groups.json["groups"][0]["id"].as_str().unwrap().to_owned();
    let api = node.created("/apis", echo_api_body(&group, "echo_api", backend.port));
    let api_id = api["id"].as_str().unwrap().to_owned();
    node.created(
        "/apis/action",
        json!({"action": "online", "api_id": api_id, "env_id": RELEASE}),
    );
    authorized_app(node, &api_id, "cluster_app")
}

/// A new app `name` with an AppCode, authorized for `api_id`.
fn authorized_app(node: &NodeUnderTest, api_id: &str, name: &str) -> Fixture {
    let app = node.created("/apps", json!({ "name": name }));
    let app_id = app["id"].as_str().unwrap().to_owned();
    let code = node.new_code(&app_id);
    node.created(
        "/app-auths",
        json!({"env_id": RELEASE, "app_ids": [app_id], "api_ids": [api_id]}),
    );
    Fixture {
        api_id: api_id.to_owned(),
        app_id,
        code_id: code["id"].as_str().unwrap().to_owned(),
        code: code["app_code"].as_str().unwrap().to_owned(),
    }
}

/// Two nodes on one new database, an API defined through the first and working on the second's
/// gateway; `None` on SQLite.
fn two_nodes_serving() -> Option<(EchoBackend, NodeUnderTest, NodeUnderTest, Client, Fixture)> {
    two_nodes_serving_with(&[])
}

/// [`two_nodes_serving`] with more command-line arguments for both nodes.
fn two_nodes_serving_with(
    args: &[&str],
) -> Option<(EchoBackend, NodeUnderTest, NodeUnderTest, Client, Fixture)> {
    if skip_on_sqlite() {
        return None;
    }
    let backend = EchoBackend::start();
    let a = node_with(None, None, args);
    let b = node_with(Some(&a.server.db_url()), Some(&a.server), args);
    let client = Client::new();
    let f = define(&a, &backend);
    until_status(&b, &client, &f.code, 200);
    Some((backend, a, b, client, f))
}

/// Calls `call` on `node` until it answers `want` (15 s at most).
fn until_answered<T: PartialEq + std::fmt::Debug>(
    node: &NodeUnderTest,
    want: T,
    call: &dyn Fn(&NodeUnderTest) -> T,
) {
    let started = Instant::now();
    while call(node) != want {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "node never answered {want:?}; log:\n{}",
            node.server.log_text()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Calls `node`'s gateway until it answers `status`; how long that took.
fn until_status(node: &NodeUnderTest, client: &Client, code: &str, status: u16) -> Duration {
    let started = Instant::now();
    loop {
        let got = node.call_gateway(client, code);
        if got == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "node never answered {status} (last {got}); log:\n{}",
            node.server.log_text()
        );
        // Tight polling at first (the figure the benchmark reports), gentler later.
        let pause = if started.elapsed() < Duration::from_millis(50) {
            Duration::from_micros(200)
        } else {
            Duration::from_millis(5)
        };
        std::thread::sleep(pause);
    }
}

#[test]
fn a_change_through_one_node_is_in_force_on_the_other() {
    let Some((_backend, a, b, client, f)) = two_nodes_serving() else {
        return;
    };

    // A revocation through A: B refuses the AppCode.
    let del = a.mgmt(
        "DELETE",
        &format!("/apps/{}/app-codes/{}", f.app_id, f.code_id),
        None,
    );
    assert_eq!(del.status, 204, "{}", del.text);
    until_status(&b, &client, &f.code, 401);

    // A new AppCode through B works on A's data plane, and what B stored A reads back.
    let fresh = b.new_code(&f.app_id);
    let fresh_code = fresh["app_code"].as_str().unwrap();
    until_status(&a, &client, fresh_code, 200);
    let listed = a.mgmt("GET", &format!("/apps/{}/app-codes", f.app_id), None);
    assert_eq!(listed.json["total"], 1, "{}", listed.text);
    assert_eq!(listed.json["app_codes"][0]["app_code"], fresh_code);

    // Deleting the app through B: A refuses its AppCode.
    let gone = b.mgmt("DELETE", &format!("/apps/{}", f.app_id), None);
    assert_eq!(gone.status, 204, "{}", gone.text);
    until_status(&a, &client, fresh_code, 401);
    assert_eq!(
        db_scalar(
            &a.server,
            "SELECT COUNT(*) FROM apps WHERE name = 'cluster_app'"
        ),
        0
    );
}

#[test]
fn a_domain_bound_through_one_node_is_in_force_on_the_other() {
    let Some((_backend, a, b, _client, f)) = two_nodes_serving() else {
        return;
    };
    let no_follow = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let call = |node: &NodeUnderTest| {
        no_follow
            .get(format!("{}/echo/x", node.gateway))
            .header("Host", "api.cluster.example")
            .header("X-Apig-AppCode", &f.code)
            .send()
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    let until = |node: &NodeUnderTest, status: u16| until_answered(node, status, &call);
    assert_eq!(call(&b), 200);
    let groups = a.mgmt("GET", "/api-groups", None);
    let group = groups.json["groups"][0]["id"].as_str().unwrap().to_owned();
    let bound = a.created(
        &format!("/api-groups/{group}/domains"),
        json!({"url_domain": "api.cluster.example", "is_http_redirect_to_https": true}),
    );
    assert_eq!(call(&a), 301, "in force on A when A answered");
    until(&b, 301);
    let domain_id = bound["id"].as_str().unwrap();
    let r = b.mgmt(
        "DELETE",
        &format!("/api-groups/{group}/domains/{domain_id}"),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(call(&b), 200, "in force on B when B answered");
    until(&a, 200);
}

#[test]
fn an_environment_variable_set_through_one_node_is_in_force_on_the_other() {
    let Some((backend, a, b, client, f)) = two_nodes_serving() else {
        return;
    };
    // The fixture's API, its backend's address made a variable of RELEASE.
    let groups = a.mgmt("GET", "/api-groups", None);
    let group = groups.json["groups"][0]["id"].as_str().unwrap().to_owned();
    let mut body = echo_api_body(&group, "echo_api", backend.port);
    body["backend_api"]["url_domain"] = json!("#backend#");
    let r = a.mgmt("PUT", &format!("/apis/{}", f.api_id), Some(&body));
    assert_eq!(r.status, 200, "{}", r.text);
    a.created(
        "/apis/action",
        json!({"action": "online", "api_id": f.api_id, "env_id": RELEASE}),
    );
    until_status(&b, &client, &f.code, 500);
    let variable = b.created(
        "/env-variables",
        json!({"group_id": group, "env_id": RELEASE, "variable_name": "backend",
               "variable_value": format!("127.0.0.1:{}", backend.port)}),
    );
    assert_eq!(
        b.call_gateway(&client, &f.code),
        200,
        "in force on B when B answered"
    );
    until_status(&a, &client, &f.code, 200);
    let id = variable["id"].as_str().unwrap();
    let r = a.mgmt("DELETE", &format!("/env-variables/{id}"), None);
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        a.call_gateway(&client, &f.code),
        500,
        "in force on A when A answered"
    );
    until_status(&b, &client, &f.code, 500);
}

/// The `Authorization` the backend received for a call through `node`'s gateway.
fn backend_authorization(node: &NodeUnderTest, client: &Client, app_code: &str) -> Option<String> {
    let echo: Value = client
        .get(format!("{}/echo/x", node.gateway))
        .header("X-Apig-AppCode", app_code)
        .send()
        .ok()?
        .json()
        .ok()?;
    echo["headers"]["authorization"].as_str().map(str::to_owned)
}

#[test]
fn a_signature_key_bound_through_one_node_signs_the_other_s_backend_calls() {
    let Some((_backend, a, b, client, f)) = two_nodes_serving() else {
        return;
    };
    assert_eq!(backend_authorization(&b, &client, &f.code), None);
    let key = a.created(
        "/signs",
        json!({"name": "cluster_basic", "sign_type": "basic", "sign_key": "gateway",
               "sign_secret": "cluster-pass"}),
    );
    let api = a.mgmt("GET", &format!("/apis/{}", f.api_id), None);
    let bound = a.created(
        "/sign-bindings",
        json!({"sign_id": key["id"], "publish_ids": [api.json["publish_id"]]}),
    );
    // Basic base64("gateway:cluster-pass").
    let expected = Some("Basic Z2F0ZXdheTpjbHVzdGVyLXBhc3M=".to_owned());
    assert_eq!(
        backend_authorization(&a, &client, &f.code),
        expected,
        "in force on A when A answered"
    );
    let started = Instant::now();
    while backend_authorization(&b, &client, &f.code) != expected {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "B never signed; log:\n{}",
            b.server.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let binding = bound["bindings"][0]["id"].as_str().unwrap();
    let r = b.mgmt("DELETE", &format!("/sign-bindings/{binding}"), None);
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        backend_authorization(&b, &client, &f.code),
        None,
        "unbound on B when B answered"
    );
    let started = Instant::now();
    while backend_authorization(&a, &client, &f.code).is_some() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "A kept signing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The `X-Shop` field of `node`'s gateway answer to the fixture's API (`None` without one).
fn shop_field(node: &NodeUnderTest, client: &Client, app_code: &str) -> Option<String> {
    let r = client
        .get(format!("{}/echo/x", node.gateway))
        .header("X-Apig-AppCode", app_code)
        .send()
        .ok()?;
    r.headers()
        .get("x-shop")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[test]
fn a_plugin_attached_through_one_node_shapes_the_other_s_answers() {
    let Some((_backend, a, b, client, f)) = two_nodes_serving() else {
        return;
    };
    assert_eq!(shop_field(&b, &client, &f.code), None);
    let fields = |value: &str| {
        json!({"plugin_name": "cluster_fields", "plugin_type": "set_resp_headers",
               "plugin_scope": "global", "plugin_content": json!({"response_headers": [
                   {"name": "X-Shop", "value": value, "action": "override"}]}).to_string()})
    };
    let plugin = a.created("/plugins", fields("blue"));
    let plugin_id = plugin["plugin_id"].as_str().unwrap().to_owned();
    a.created(
        &format!("/plugins/{plugin_id}/attach"),
        json!({"env_id": RELEASE, "api_ids": [f.api_id]}),
    );
    assert_eq!(
        shop_field(&a, &client, &f.code).as_deref(),
        Some("blue"),
        "in force on A when A answered"
    );
    until_answered(&b, Some("blue".to_owned()), &|n| {
        shop_field(n, &client, &f.code)
    });
    // A new content through B reaches A; so does a detachment.
    let r = b.mgmt(
        "PUT",
        &format!("/plugins/{plugin_id}"),
        Some(&fields("green")),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    until_answered(&a, Some("green".to_owned()), &|n| {
        shop_field(n, &client, &f.code)
    });
    let r = b.mgmt(
        "PUT",
        &format!("/plugins/{plugin_id}/detach"),
        Some(&json!({"env_id": RELEASE, "api_ids": [f.api_id]})),
    );
    assert_eq!(r.status, 204, "{}", r.text);
    until_answered(&a, None, &|n| shop_field(n, &client, &f.code));
}

#[test]
fn a_certificate_added_through_one_node_is_presented_by_the_other() {
    let Some((_backend, a, b, _client, _f)) =
        two_nodes_serving_with(&["--gateway-listen", "127.0.0.1:0"])
    else {
        return;
    };
    let name = "api.cluster.example";
    let presented = |node: &NodeUnderTest| {
        let port = node.server.port_of("gateway listening (HTTPS)");
        presented_for_name(&format!("https://127.0.0.1:{port}"), Some(name))
    };
    // Each node's own (self-signed) certificate, until a certificate is added.
    let (default_a, default_b) = (presented(&a), presented(&b));
    let groups = a.mgmt("GET", "/api-groups", None);
    let group = groups.json["groups"][0]["id"].as_str().unwrap().to_owned();
    let bound = a.created(
        &format!("/api-groups/{group}/domains"),
        json!({ "url_domain": name }),
    );
    let certificate = format!(
        "/api-groups/{group}/domains/{}/certificate",
        bound["id"].as_str().unwrap()
    );
    let pair = apigw_gateway::tls::self_signed_pem(&[name.into()]).unwrap();
    let added = a.created(
        &certificate,
        json!({"name": "cluster_cert", "cert_content": pair.0, "private_key": pair.1}),
    );
    let ours = der_of(&pair.0);
    assert_eq!(presented(&a), ours, "in force on A when A answered");
    until_answered(&b, ours, &presented);
    let ssl_id = added["ssl_id"].as_str().unwrap();
    // Its content replaced through B (the project's certificate, same id): in force on B when
    // B answered, then on A.
    let renewed = apigw_gateway::tls::self_signed_pem(&[name.into()]).unwrap();
    let r = b.server.call(
        "PUT",
        &format!("/v2/{}/apigw/certificates/{ssl_id}", b.admin.project_id),
        Some(&b.admin.token),
        Some(&json!({"name": "cluster_cert", "cert_content": renewed.0, "private_key": renewed.1})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let renewed = der_of(&renewed.0);
    assert_eq!(presented(&b), renewed, "in force on B when B answered");
    until_answered(&a, renewed, &presented);
    let r = b.mgmt("DELETE", &format!("{certificate}/{ssl_id}"), None);
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(presented(&b), default_b, "in force on B when B answered");
    until_answered(&a, default_a, &presented);
}

#[test]
fn a_feature_configured_through_one_node_is_in_force_on_the_other() {
    let Some((_backend, a, b, client, f)) = two_nodes_serving() else {
        return;
    };
    let (key, secret) = a.key_and_new_secret(&f.app_id);
    let call = |node: &NodeUnderTest| {
        client
            .get(format!("{}/echo/x", node.gateway))
            .header("X-HW-ID", &key)
            .header("X-HW-AppKey", &secret)
            .send()
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    let until = |node: &NodeUnderTest, status: u16| until_answered(node, status, &call);
    assert_eq!(call(&b), 401);
    let on = json!({"name": "app_secret", "enable": true, "config": "on"});
    a.created("/features", on);
    assert_eq!(call(&a), 200, "in force on A when A answered");
    until(&b, 200);
    let off = json!({"name": "app_secret", "enable": false, "config": "off"});
    b.created("/features", off);
    assert_eq!(call(&b), 401, "in force on B when B answered");
    until(&a, 401);
}

#[test]
fn an_app_token_issued_by_one_node_calls_through_the_other() {
    let Some((_backend, a, b, client, f)) = two_nodes_serving() else {
        return;
    };
    let (key, secret) = a.key_and_new_secret(&f.app_id);
    let config = json!({"app_token_key": "shared-token-key"}).to_string();
    a.created(
        "/features",
        json!({"name": "app_token", "enable": true, "config": config}),
    );
    let token_status = |node: &NodeUnderTest| {
        client
            .post(format!("{}/v1/apigw/oauth2/token", node.gateway))
            .basic_auth(&key, Some(&secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    until_answered(&b, 200, &token_status);
    let issued: serde_json::Value = client
        .post(format!("{}/v1/apigw/oauth2/token", a.gateway))
        .basic_auth(&key, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = issued["access_token"].as_str().unwrap().to_owned();
    let call = |node: &NodeUnderTest| {
        client
            .get(format!("{}/echo/x", node.gateway))
            .bearer_auth(&token)
            .send()
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    // Both nodes derive the same token key from the shared master key.
    assert_eq!(call(&a), 200);
    assert_eq!(call(&b), 200);
    // A secret reset through B voids the token on A too.
    b.mgmt("PUT", &format!("/apps/secret/{}", f.app_id), None);
    assert_eq!(call(&b), 401, "in force on B when B answered");
    until_answered(&a, 401, &call);
}

#[test]
fn a_throttling_policy_bound_through_one_node_is_in_force_on_the_other() {
    let Some((_backend, a, b, client, f)) = two_nodes_serving() else {
        return;
    };
    let policy = a.created(
        "/throttles",
        json!({"name": "cluster_policy", "api_call_limits": 1000, "app_call_limits": 1,
            "time_interval": 1, "time_unit": "DAY"}),
    );
    let policy_id = policy["id"].as_str().unwrap().to_owned();
    let publish_id = a.publish_id(&f.api_id);
    let bound = a.created(
        "/throttle-bindings",
        json!({"strategy_id": policy_id, "publish_ids": [publish_id]}),
    );
    // Each node counts on its own (its share of 1 call is 1): each node lets the app's one
    // call through, then refuses. A's share is used up here so that its 200 below can only
    // come from the exception.
    until_status(&b, &client, &f.code, 429);
    until_status(&a, &client, &f.code, 429);

    // An exception through B raises the app's limit on A too; unbinding through B lifts it.
    let special = b.created(
        &format!("/throttles/{policy_id}/throttle-specials"),
        json!({"object_type": "APP", "object_id": f.app_id, "call_limits": 1000}),
    );
    assert_eq!(special["call_limits"], 1000);
    until_status(&a, &client, &f.code, 200);
    let binding = bound["throttle_applys"][0]["id"].as_str().unwrap();
    let del = b.mgmt("DELETE", &format!("/throttle-bindings/{binding}"), None);
    assert_eq!(del.status, 204, "{}", del.text);
    let put = b.mgmt(
        "PUT",
        &format!("/throttles/{policy_id}"),
        Some(&json!({"name": "cluster_policy", "api_call_limits": 1,
            "time_interval": 1, "time_unit": "DAY"})),
    );
    assert_eq!(put.status, 400, "the exception exceeds it: {}", put.text);
    for _ in 0..3 {
        assert_eq!(a.call_gateway(&client, &f.code), 200);
    }
}

#[test]
fn every_node_s_view_of_a_channel_s_servers_shows_in_the_management_answers() {
    let Some((backend, a, mut b, client, f)) = two_nodes_serving() else {
        return;
    };
    // The fixture's API moves onto a channel of a live and a dead server, checked every second.
    let dead_port = free_port();
    let channel = a.created(
        "/vpc-channels",
        json!({"name": "checked", "port": 80, "balance_strategy": 1, "member_type": "ip",
            "members": [{"host": "127.0.0.1", "port": backend.port},
                        {"host": "127.0.0.2", "port": dead_port}]}),
    );
    let channel_id = channel["id"].as_str().unwrap().to_owned();
    let group = a.mgmt("GET", "/api-groups", None).json["groups"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut body = echo_api_body(&group, "echo_api", backend.port);
    body["backend_api"]["vpc_channel_status"] = json!(1);
    body["backend_api"]["vpc_channel_info"] = json!({ "vpc_channel_id": channel_id });
    body["backend_api"]
        .as_object_mut()
        .unwrap()
        .remove("url_domain");
    let r = a.mgmt("PUT", &format!("/apis/{}", f.api_id), Some(&body));
    assert_eq!(r.status, 200, "{}", r.text);
    a.created(
        "/apis/action",
        json!({"action": "online", "api_id": f.api_id, "env_id": RELEASE}),
    );
    let r = a.mgmt(
        "PUT",
        &format!("/vpc-channels/{channel_id}/health-config"),
        Some(
            &json!({"protocol": "TCP", "threshold_normal": 1, "threshold_abnormal": 1,
            "time_interval": 1, "timeout": 1}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text);

    // Both nodes check the servers and publish what they found; either node answers with
    // every node's view.
    let statuses = |node: &NodeUnderTest| -> Vec<String> {
        let listed = node.mgmt("GET", &format!("/vpc-channels/{channel_id}/members"), None);
        let members = listed.json["members"].as_array().unwrap().clone();
        let status = |m: &Value| m["health_status"].as_str().unwrap().to_owned();
        members.iter().map(status).collect()
    };
    let both = vec!["healthy".to_owned(), "unhealthy".to_owned()];
    let nodes_reporting = || {
        db_scalar(
            &a.server,
            "SELECT COUNT(DISTINCT node_id) FROM vpc_member_health WHERE healthy = 0",
        )
    };
    until_answered(&a, 2, &|_| nodes_reporting());
    assert_eq!(statuses(&a), both);
    assert_eq!(statuses(&b), both);
    // Neither node sends calls to the dead server any more.
    for node in [&a, &b] {
        for _ in 0..4 {
            assert_eq!(node.call_gateway(&client, &f.code), 200);
        }
    }

    // B stops and withdraws its view; A's still shows.
    assert_eq!(b.server.terminate(), Some(0));
    assert_eq!(nodes_reporting(), 1);
    assert_eq!(statuses(&a), both);
}

/// `node` admits its half of a limit of 4 calls a day (once the limit is in force there),
/// then refuses.
fn admits_its_half(node: &NodeUnderTest, client: &Client, code: &str) {
    let started = Instant::now();
    let first = loop {
        match node.call_debug(client, code) {
            (200, Some(limit)) => break limit,
            (200, None) => assert!(started.elapsed() < Duration::from_secs(15)),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(first, "remain:1,limit:2,time:1 day");
    let (status, second) = node.call_debug(client, code);
    assert_eq!(status, 200);
    assert_eq!(second.as_deref(), Some("remain:0,limit:2,time:1 day"));
    assert_eq!(node.call_debug(client, code).0, 429);
}

#[test]
fn throttling_limits_are_divided_among_the_nodes_serving_the_instance() {
    // Checkpoints are taken over only by a starting node here (see the last part).
    let hourly = ["--throttle-checkpoint-interval", "1h"];
    let Some((_backend, a, mut b, client, f)) = two_nodes_serving_with(&hourly) else {
        return;
    };
    // A started alone; it learns of B at its next announcement (every --sync-check-interval).
    const CHANGED: &str = "the number of gateway nodes changed";
    a.until_logged(CHANGED, 1);
    assert_eq!(
        db_scalar(&a.server, "SELECT COUNT(*) FROM gateway_nodes"),
        2
    );
    let policy = a.created(
        "/throttles",
        json!({"name": "divided", "api_call_limits": 4, "time_interval": 1, "time_unit": "DAY"}),
    );
    let publish_id = a.publish_id(&f.api_id);
    a.created(
        "/throttle-bindings",
        json!({"strategy_id": policy["id"], "publish_ids": [publish_id]}),
    );
    // Each node admits its half of the 4 calls a day, then refuses: 4 in all.
    for node in [&a, &b] {
        admits_its_half(node, &client, &f.code);
    }

    // B stops and withdraws: A enforces the whole limit again from its next announcement.
    assert_eq!(b.server.terminate(), Some(0));
    a.until_logged(CHANGED, 2);
    assert_eq!(
        db_scalar(&a.server, "SELECT COUNT(*) FROM gateway_nodes"),
        1
    );
    let (status, limit) = a.call_debug(&client, &f.code);
    assert_eq!(status, 200);
    assert!(limit.unwrap().starts_with("remain:1,limit:4,"));
    assert_eq!(a.call_gateway(&client, &f.code), 200);
    assert_eq!(a.call_gateway(&client, &f.code), 429);

    // A node with `--throttle-limits per-node` neither announces itself nor divides; starting,
    // it carries on the calls B counted (B's checkpoint, saved when it stopped): 2 of 4.
    let c = node_with(
        Some(&a.server.db_url()),
        Some(&a.server),
        &["--throttle-limits", "per-node"],
    );
    let (status, limit) = c.call_debug(&client, &f.code);
    assert_eq!(status, 200);
    assert!(limit.unwrap().starts_with("remain:1,limit:4,"));
    assert_eq!(c.call_gateway(&client, &f.code), 200);
    assert_eq!(c.call_gateway(&client, &f.code), 429);
    assert_eq!(
        db_scalar(&a.server, "SELECT COUNT(*) FROM gateway_nodes"),
        1
    );
}

#[test]
fn a_rate_limit_plugin_s_rule_is_divided_among_the_nodes_as_a_policy_s_limits_are() {
    let Some((_backend, a, b, client, f)) = two_nodes_serving_with(&[]) else {
        return;
    };
    a.until_logged("the number of gateway nodes changed", 1);
    // No API limit; the calls of method GET: 4 a day, attached through node A.
    let content = json!({"api_limit": -1, "default_time_unit": "day",
        "parameters": [{"type": "method", "name": "m", "value": "method"}],
        "rules": [{"rule_name": "gets", "match_regex": "[\"m\",\"==\",\"GET\"]", "limit": 4}]});
    let plugin = a.created(
        "/plugins",
        json!({"plugin_name": "divided_rule", "plugin_type": "rate_limit",
               "plugin_scope": "global", "plugin_content": content.to_string()}),
    );
    a.created(
        &format!("/apis/{}/plugins/attach", f.api_id),
        json!({"env_id": RELEASE, "plugin_ids": [plugin["plugin_id"]]}),
    );
    // Each node admits its half of the rule's 4 calls, then refuses: 4 in all.
    for node in [&a, &b] {
        admits_its_half(node, &client, &f.code);
    }
}

#[test]
fn a_crashed_nodes_throttling_counts_are_carried_on_by_another_node() {
    if skip_on_sqlite() {
        return;
    }
    let backend = EchoBackend::start();
    let args = [
        "--throttle-checkpoint-interval",
        "200ms",
        "--throttle-limits",
        "per-node",
    ];
    let a = node_with(None, None, &args);
    let mut b = node_with(Some(&a.server.db_url()), Some(&a.server), &args);
    let client = Client::new();
    let f = define(&a, &backend);
    let policy = a.created(
        "/throttles",
        json!({"name": "hourly", "api_call_limits": 10, "time_interval": 1, "time_unit": "HOUR"}),
    );
    let publish_id = a.publish_id(&f.api_id);
    away_from_window_end(3_600_000, 30_000);
    a.created(
        "/throttle-bindings",
        json!({"strategy_id": policy["id"], "publish_ids": [publish_id]}),
    );
    // B counts three calls and checkpoints them, then dies.
    let started = Instant::now();
    let mut counted = 0;
    while counted < 3 {
        match b.call_debug(&client, &f.code) {
            (200, Some(_)) => counted += 1,
            (200, None) => assert!(started.elapsed() < Duration::from_secs(15)),
            other => panic!("{other:?}"),
        }
    }
    let checkpointed = "SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) FROM throttle_counts";
    while db_scalar(&a.server, checkpointed) != 3 {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "never checkpointed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    b.server.kill();
    // A takes B's checkpoint over once B has been silent for three intervals.
    a.until_logged(
        "request throttling counts of a node gone carried on here",
        1,
    );
    let (status, limit) = a.call_debug(&client, &f.code);
    assert_eq!(status, 200);
    assert!(limit.unwrap().starts_with("remain:6,limit:10,"));
}

#[test]
fn a_quota_change_through_one_node_is_in_force_on_the_other() {
    let Some((_backend, a, b, client, f)) = two_nodes_serving() else {
        return;
    };
    let quota = |limit: u32| json!({"name": "cluster_quota", "call_limits": limit, "time_unit": "HOUR", "time_interval": 1});
    let quota_id = a.bound_quota("cluster_quota", 1, &f.app_id);
    // B lets one call through, then refuses.
    until_status(&b, &client, &f.code, 405);

    // Raised, lowered and deleted through A: B follows each change of the quota's terms.
    let update = |limit: u32| {
        let put = a.mgmt(
            "PUT",
            &format!("/app-quotas/{quota_id}"),
            Some(&quota(limit)),
        );
        assert_eq!(put.status, 200, "{}", put.text);
    };
    update(1000);
    until_status(&b, &client, &f.code, 200);
    update(1);
    until_status(&b, &client, &f.code, 405);
    let del = a.mgmt("DELETE", &format!("/app-quotas/{quota_id}"), None);
    assert_eq!(del.status, 204, "{}", del.text);
    until_status(&b, &client, &f.code, 200);
}

#[test]
fn an_app_quota_is_one_quota_across_nodes() {
    let Some((_backend, a, b, client, f)) = two_nodes_serving() else {
        return;
    };
    a.bound_quota("shared_quota", 3, &f.app_id);
    for _ in 0..3 {
        assert_eq!(a.call_gateway(&client, &f.code), 200);
    }
    assert_eq!(a.call_gateway(&client, &f.code), 405);

    // Once A's calls are in the ledger and B has read it (two exchanges later, so the second
    // began after they were written), B refuses the app too: the three calls were its quota.
    let started = Instant::now();
    let calls = || {
        db_scalar(
            &a.server,
            &format!(
                "SELECT COALESCE(MAX(calls), 0) FROM app_quota_usage WHERE app_id = '{}'",
                f.app_id
            ),
        )
    };
    while calls() != 3 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "A's calls never reached the ledger"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let exchanges = || {
        b.server
            .log_text()
            .matches("quota ledger exchanged")
            .count()
    };
    let seen = exchanges();
    while exchanges() < seen + 2 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "B never read the ledger:\n{}",
            b.server.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(b.call_gateway(&client, &f.code), 405);
    assert_eq!(calls(), 3, "refused calls take nothing");
}

#[test]
fn a_change_without_a_notification_is_found_by_the_sync_check() {
    let Some((_backend, a, b, client, f)) = two_nodes_serving() else {
        return;
    };
    // A committed change nobody announces (as if its node died right after the commit): the
    // AppCode row goes and the revision advances, straight in the database.
    let url = a.server.db_url();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("UPDATE revision SET n = n + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("DELETE FROM app_codes WHERE id = $1")
            .bind(&f.code_id)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    });
    // Both nodes find the uncovered revision on their next checks (every second here).
    until_status(&b, &client, &f.code, 401);
    until_status(&a, &client, &f.code, 401);
    // B may have re-read the app already for the setup's last event, if that arrived after
    // the change (a slow host): the check still finds the revision no event covered.
    let started = Instant::now();
    while !b
        .server
        .log_text()
        .contains("the data plane missed a change")
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "B's sync check never found the change:\n{}",
            b.server.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn concurrent_writes_through_two_nodes_keep_the_limits() {
    if skip_on_sqlite() {
        return;
    }
    let a = node(None, None);
    let b = node(Some(&a.server.db_url()), Some(&a.server));
    let app = a.created("/apps", json!({"name": "race_app"}));
    let app_id = app["id"].as_str().unwrap().to_owned();
    let nodes = [&a, &b];

    // Ten AppCodes at once, five through each node: exactly five exist afterwards.
    let statuses = race(10, |i| {
        let r = nodes[i % 2].mgmt("PUT", &format!("/apps/{app_id}/app-codes"), None);
        (
            r.status,
            r.json["error_code"].as_str().unwrap_or("").to_owned(),
        )
    });
    let created = statuses.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 5, "{statuses:?}");
    for (status, code) in statuses.iter().filter(|(s, _)| *s != 201) {
        assert_eq!((*status, code.as_str()), (403, "APIG.3131"), "{statuses:?}");
    }
    assert_eq!(
        db_scalar(
            &a.server,
            &format!("SELECT COUNT(*) FROM app_codes WHERE app_id = '{app_id}'")
        ),
        5
    );

    // One app name created through both nodes at once: one wins, the other gets APIG.3203.
    let statuses = race(2, |i| {
        let r = nodes[i].mgmt("POST", "/apps", Some(&json!({"name": "same_name"})));
        (
            r.status,
            r.json["error_code"].as_str().unwrap_or("").to_owned(),
        )
    });
    let mut got: Vec<_> = statuses.iter().map(|(s, c)| (*s, c.as_str())).collect();
    got.sort();
    assert_eq!(got, vec![(201, ""), (400, "APIG.3203")], "{statuses:?}");

    // One custom AppCode value on two apps at once: it stays unique.
    let other = a.created("/apps", json!({"name": "race_other"}));
    let apps = [app_id.clone(), other["id"].as_str().unwrap().to_owned()];
    let del = a.mgmt("GET", &format!("/apps/{}/app-codes", apps[0]), None);
    for c in del.json["app_codes"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        a.mgmt("DELETE", &format!("/apps/{}/app-codes/{id}", apps[0]), None);
    }
    let value = format!("SharedValue{}", "0123456789".repeat(6));
    let statuses = race(2, |i| {
        let r = nodes[i].mgmt(
            "POST",
            &format!("/apps/{}/app-codes", apps[i]),
            Some(&json!({"app_code": &value})),
        );
        (
            r.status,
            r.json["error_code"].as_str().unwrap_or("").to_owned(),
        )
    });
    assert_eq!(
        statuses.iter().filter(|(s, _)| *s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().any(|(s, _)| *s >= 400 && *s < 500),
        "{statuses:?}"
    );
}

/// Runs `n` calls of `f` at the same moment on `n` threads; their results in index order.
fn race<T: Send + 'static>(n: usize, f: impl Fn(usize) -> T + Send + Sync) -> Vec<T> {
    let barrier = Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (f, barrier) = (&f, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    f(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// A TCP proxy in front of PostgreSQL that the test can cut (every connection closed, new ones
/// refused) and restore: a database outage as a node sees it.
struct CutProxy {
    port: u16,
    state: Arc<Mutex<(bool, Vec<TcpStream>)>>,
}

impl CutProxy {
    fn start(upstream: &str) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state: Arc<Mutex<(bool, Vec<TcpStream>)>> = Arc::new(Mutex::new((false, Vec::new())));
        let shared = state.clone();
        let upstream = upstream.to_owned();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let mut guard = shared.lock().unwrap();
                if guard.0 {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                guard.1.push(client.try_clone().unwrap());
                guard.1.push(server.try_clone().unwrap());
                drop(guard);
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        CutProxy { port, state }
    }

    fn cut(&self) {
        let mut guard = self.state.lock().unwrap();
        guard.0 = true;
        for s in guard.1.drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.state.lock().unwrap().0 = false;
    }

    /// `url` (a postgres:// URL on 127.0.0.1:5432) redirected through this proxy.
    fn url(&self, url: &str) -> String {
        url.replace("127.0.0.1:5432", &format!("127.0.0.1:{}", self.port))
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

#[test]
fn a_database_outage_keeps_the_data_plane_serving_and_heals() {
    if skip_on_sqlite() {
        return;
    }
    let backend = EchoBackend::start();
    let first = node(None, None);
    let url = first.server.db_url();
    assert!(
        url.contains("127.0.0.1:5432"),
        "test expects the local server: {url}"
    );
    // Two nodes, each reaching the database through a proxy the test can cut.
    let (pa, pb) = (
        CutProxy::start("127.0.0.1:5432"),
        CutProxy::start("127.0.0.1:5432"),
    );
    let a = node(Some(&pa.url(&url)), Some(&first.server));
    let b = node(Some(&pb.url(&url)), Some(&first.server));
    // `first` owns the database (dropped with it) and keeps running as a third node.
    let client = Client::new();
    let f = define(&a, &backend);
    until_status(&b, &client, &f.code, 200);

    pa.cut();
    pb.cut();
    // Both data planes keep authenticating and proxying from memory: no error at all.
    for _ in 0..100 {
        assert_eq!(a.call_gateway(&client, &f.code), 200);
        assert_eq!(b.call_gateway(&client, &f.code), 200);
    }
    // Management writes fail fast with a 5xx and a clear message, never 401/403.
    for n in [&a, &b] {
        let started = Instant::now();
        let w = n.mgmt("POST", "/apps", Some(&json!({"name": "during_outage"})));
        assert!(w.status >= 500, "{} {}", w.status, w.text);
        assert_eq!(w.json["error_code"], "APIG.9999", "{}", w.text);
        assert!(w.text.contains("unavailable"), "{}", w.text);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }

    // A's database comes back first; a change through A while B cannot hear about it.
    pa.restore();
    let del = retry_until_done(|| {
        a.mgmt(
            "DELETE",
            &format!("/apps/{}/app-codes/{}", f.app_id, f.code_id),
            None,
        )
    });
    assert_eq!(del.status, 204, "{}", del.text);
    until_status(&a, &client, &f.code, 401);
    assert_eq!(
        b.call_gateway(&client, &f.code),
        200,
        "B still serves its snapshot"
    );

    // B's database comes back: B catches up by itself and takes writes again.
    pb.restore();
    until_status(&b, &client, &f.code, 401);
    let w = retry_until_done(|| b.mgmt("POST", "/apps", Some(&json!({"name": "after_outage"}))));
    assert_eq!(w.status, 201, "{}", w.text);
    assert!(
        b.server
            .log_text()
            .contains("change listener reconnected; reloading everything"),
        "{}",
        b.server.log_text()
    );
}

#[test]
fn quota_calls_counted_during_a_database_outage_reach_the_ledger_when_it_is_back() {
    if skip_on_sqlite() {
        return;
    }
    let backend = EchoBackend::start();
    let first = node(None, None);
    let url = first.server.db_url();
    let proxy = CutProxy::start("127.0.0.1:5432");
    let a = node(Some(&proxy.url(&url)), Some(&first.server));
    let client = Client::new();
    let f = define(&a, &backend);
    a.bound_quota("outage_quota", 1000, &f.app_id);
    let in_ledger = || {
        db_scalar(
            &first.server,
            &format!(
                "SELECT COALESCE(MAX(calls), 0) FROM app_quota_usage WHERE app_id = '{}'",
                f.app_id
            ),
        )
    };

    proxy.cut();
    for _ in 0..5 {
        assert_eq!(a.call_gateway(&client, &f.code), 200);
    }
    // At least one exchange fails meanwhile (the store answers within --database-timeout).
    let started = Instant::now();
    while !a
        .server
        .log_text()
        .contains("cannot exchange app quota usage")
    {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{}",
            a.server.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(in_ledger(), 0);

    // Back: the calls the failed exchanges kept reach the ledger, once each.
    proxy.restore();
    while in_ledger() != 5 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "ledger holds {}; log:\n{}",
            in_ledger(),
            a.server.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The node logs the recovery after the exchange committed: wait for the line too.
    while !a
        .server
        .log_text()
        .contains("the quota ledger is reachable again")
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{}",
            a.server.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(in_ledger(), 5, "written once");
}

/// Repeats a management call while it answers 5xx (the store reconnecting), up to 20 s.
fn retry_until_done(call: impl Fn() -> Reply) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = call();
        if r.status < 500 || Instant::now() > deadline {
            return r;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn nodes_starting_at_once_on_an_empty_database_set_it_up_once() {
    if skip_on_sqlite() {
        return;
    }
    let db = TestDatabase::create();
    let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32]);
    let servers = race(3, |_| {
        Server::start_with(
            Opts::default()
                .env("APIGW_DATABASE_URL", &db.url)
                .env("APIGW_MASTER_KEY", &key),
        )
    });
    for s in &servers {
        s.admin(); // every node logs the one admin in
    }
    let url = db.url.clone();
    let count_on_shared = |sql: &str| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&mut conn)
                .await
                .unwrap()
        })
    };
    assert_eq!(count_on_shared("SELECT COUNT(*) FROM users"), 1);
    assert_eq!(count_on_shared("SELECT COUNT(*) FROM projects"), 1);
    assert_eq!(count_on_shared("SELECT COUNT(*) FROM instances"), 1);
    assert_eq!(count_on_shared("SELECT COUNT(*) FROM api_groups"), 1);
    assert_eq!(count_on_shared("SELECT COUNT(*) FROM meta"), 1);
    // Each migration applied once.
    let migrations = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../store/migrations/postgres"
    ))
    .unwrap()
    .count() as i64;
    assert_eq!(
        count_on_shared("SELECT COUNT(*) FROM _sqlx_migrations"),
        migrations
    );
}

#[test]
fn a_node_with_another_master_key_refuses_to_start() {
    if skip_on_sqlite() {
        return;
    }
    let a = node(None, None);
    let dir = tempfile::tempdir().unwrap();
    let err = match Server::start_in(
        dir.path(),
        Opts::default()
            .env("APIGW_DATABASE_URL", &a.server.db_url())
            .env(
                "APIGW_MASTER_KEY_FILE",
                dir.path().join("other.key").to_str().unwrap(),
            ),
    ) {
        Err(log) => log,
        Ok(_) => panic!("a node with another master key started"),
    };
    assert!(
        err.contains("master key cannot decrypt this database"),
        "{err}"
    );
}

/// How far two nodes under load overshoot a shared app quota, for BENCHMARKS.md (a
/// measurement, not a pass/fail timing): `APIGW_TEST_DATABASE=postgres cargo test --release -p
/// apigw --test cluster -- --ignored --nocapture overshoot`. Four client threads call as fast
/// as they can for 6 s against one node (the reference: a node alone is exact) and then, with
/// a fresh app, two against each of two nodes; for a limit used up well within one exchange
/// interval and for one that lasts a few.
#[test]
#[ignore]
fn quota_overshoot_report() {
    let Some((_backend, a, b, _client, f)) = two_nodes_serving() else {
        return;
    };
    let run = |name: &str, limit: u32, targets: [&NodeUnderTest; 4], fixture: &Fixture| {
        let (app_id, code) = (fixture.app_id.as_str(), fixture.code.as_str());
        a.bound_quota(&format!("overshoot_{}", &app_id[..8]), limit, app_id);
        // Each thread on its own keep-alive connection.
        let counts: Vec<(u64, u64)> = std::thread::scope(|scope| {
            let threads: Vec<_> = targets
                .iter()
                .map(|node| {
                    scope.spawn(move || {
                        let client = Client::new();
                        let (mut ok, mut refused) = (0u64, 0u64);
                        let started = Instant::now();
                        while started.elapsed() < Duration::from_secs(6) {
                            match node.call_gateway(&client, code) {
                                200 => ok += 1,
                                405 => refused += 1,
                                other => panic!("unexpected {other}"),
                            }
                        }
                        (ok, refused)
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let admitted: u64 = counts.iter().map(|c| c.0).sum();
        let calls: u64 = counts.iter().map(|c| c.0 + c.1).sum();
        println!(
            "{name}: limit {limit}, admitted {admitted} ({:+} = {:.1} % over), {calls} calls in 6 s ({:.0}/s)",
            admitted as i64 - i64::from(limit),
            (admitted as f64 / f64::from(limit) - 1.0) * 100.0,
            calls as f64 / 6.0
        );
    };
    // A limit used up in a fraction of an exchange interval, then one that lasts a few.
    for limit in [5_000, 60_000] {
        let alone = authorized_app(&a, &f.api_id, &format!("alone_{limit}"));
        run("one node (reference)", limit, [&a, &a, &a, &a], &alone);
        let shared = authorized_app(&a, &f.api_id, &format!("shared_{limit}"));
        until_status(&b, &Client::new(), &shared.code, 200);
        run("two nodes", limit, [&a, &b, &a, &b], &shared);
    }
}

/// Propagation latency between two nodes, for BENCHMARKS.md (not a pass/fail timing):
/// `APIGW_TEST_DATABASE=postgres cargo test --release -p apigw --test cluster -- --ignored --nocapture`
#[test]
#[ignore]
fn propagation_latency_report() {
    let Some((_backend, a, b, client, f)) = two_nodes_serving() else {
        return;
    };
    let mut samples = Vec::new();
    for i in 0..200 {
        let r = a.new_code(&f.app_id);
        let code = r["app_code"].as_str().unwrap().to_owned();
        let id = r["id"].as_str().unwrap().to_owned();
        samples.push(until_status(&b, &client, &code, 200));
        let d = a.mgmt(
            "DELETE",
            &format!("/apps/{}/app-codes/{id}", f.app_id),
            None,
        );
        assert_eq!(d.status, 204);
        samples.push(until_status(&b, &client, &code, 401));
        if i == 0 {
            samples.clear();
        }
    }
    report(
        "propagation A→B (management answer on A → first matching answer on B)",
        samples,
    );
    report(
        "reference: bare pg_notify → LISTEN delivery on the same server",
        bare_notify_latency(&a.server.db_url(), 400),
    );
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "{what}: n={} p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        samples.len(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        samples.last().unwrap()
    );
}

/// How long PostgreSQL itself takes to deliver a notification between two connections.
fn bare_notify_latency(url: &str, n: usize) -> Vec<Duration> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut listener = sqlx::postgres::PgListener::connect(url).await.unwrap();
        listener.listen("bench_reference").await.unwrap();
        let mut sender = sqlx::PgConnection::connect(url).await.unwrap();
        let mut samples = Vec::with_capacity(n);
        for i in 0..n {
            let started = Instant::now();
            sqlx::query("SELECT pg_notify('bench_reference', $1)")
                .bind(i.to_string())
                .execute(&mut sender)
                .await
                .unwrap();
            listener.recv().await.unwrap();
            samples.push(started.elapsed());
        }
        samples
    })
}
