//! The whole product end to end through the real binary: an API is defined, published and an
//! app authorized through the management API; the gateway listeners (HTTP and HTTPS) then
//! authenticate callers by AppCode and by signature and proxy to a real backend. Every revoking
//! management call (delete AppCode, reset secret, cancel authorization, take offline, delete
//! app) is in force for the very next gateway request.

mod common;
use common::*;
use reqwest::blocking::Client;
use serde_json::{json, Value};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

struct Gw {
    server: Server,
    admin: Session,
    http: String,
    https: String,
    client: Client,
}

fn start() -> Gw {
    start_with(Opts::default())
}

/// A server with both gateway listeners and `opts` on top.
fn start_with(opts: Opts) -> Gw {
    serve_gateway(None, opts)
}

/// A server with both gateway listeners on a kept data directory (a restarted node).
fn restart_in(dir: &std::path::Path) -> Gw {
    serve_gateway(Some(dir), Opts::default())
}

/// A server with both gateway listeners and `opts`, on `dir` or a fresh data directory.
fn serve_gateway(dir: Option<&std::path::Path>, opts: Opts) -> Gw {
    let opts = opts
        .arg("--gateway-http-listen")
        .arg("127.0.0.1:0")
        .arg("--gateway-listen")
        .arg("127.0.0.1:0");
    let server = match dir {
        Some(dir) => Server::start_in(dir, opts).expect("restart"),
        None => Server::start_with(opts),
    };
    let http_port = server.port_of("gateway listening (plain HTTP)");
    let https_port = server.port_of("gateway listening (HTTPS)");
    let admin = server.admin();
    let client = Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    Gw {
        http: format!("http://127.0.0.1:{http_port}"),
        https: format!("https://127.0.0.1:{https_port}"),
        server,
        admin,
        client,
    }
}

impl Gw {
    /// The publication record of `api_id` (in RELEASE), what policies are bound to.
    fn publish_id(&self, api_id: &str) -> String {
        let api = self.mgmt("GET", &format!("/apis/{api_id}"), None);
        api.json["publish_id"].as_str().unwrap().to_owned()
    }

    /// A new app named `name` with an AppCode, authorized for `api_id` in RELEASE: its id and
    /// the AppCode.
    fn authorized_app(&self, name: &str, api_id: &str) -> (String, String) {
        let app = self.mgmt("POST", "/apps", Some(&json!({ "name": name })));
        assert_eq!(app.status, 201, "{}", app.text);
        let app_id = app.json["id"].as_str().unwrap().to_owned();
        let code = self.mgmt("PUT", &format!("/apps/{app_id}/app-codes"), None);
        let code = code.json["app_code"].as_str().unwrap().to_owned();
        let auth = self.mgmt(
            "POST",
            "/app-auths",
            Some(&json!({"env_id": RELEASE, "app_ids": [app_id], "api_ids": [api_id]})),
        );
        assert_eq!(auth.status, 201, "{}", auth.text);
        (app_id, code)
    }

    /// Creates quota `body` and binds app `app_id` to it; the quota's id.
    fn bound_quota(&self, body: Value, app_id: &str) -> String {
        let quota = self.mgmt("POST", "/app-quotas", Some(&body));
        assert_eq!(quota.status, 201, "{}", quota.text);
        let quota_id = quota.json["app_quota_id"].as_str().unwrap().to_owned();
        self.bind_quota(&quota_id, app_id);
        quota_id
    }

    /// Binds app `app_id` to quota `quota_id`.
    fn bind_quota(&self, quota_id: &str, app_id: &str) {
        let bound = self.mgmt(
            "POST",
            &format!("/app-quotas/{quota_id}/binding-apps"),
            Some(&json!({"app_ids": [app_id]})),
        );
        assert!(bound.status < 300, "{}", bound.text);
    }

    fn mgmt(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        self.server.call(
            method,
            &self.admin.apig(path),
            Some(&self.admin.token),
            body,
        )
    }

    /// A new group `shop` with one published API: any method on `/echo...` (both protocols,
    /// no authentication) → `backend` at `/backend...`; the group's and the API's ids.
    fn shop_group(&self, backend: &EchoBackend) -> (String, String) {
        self.as_mgmt().shop_group(backend)
    }

    fn default_group(&self) -> String {
        default_group(&self.server, &self.admin)
    }

    /// Creates and publishes an APP-auth API `GET /echo/{name}` → backend `/backend/{name}`.
    fn publish_echo_api(&self, backend: &EchoBackend) -> String {
        let body = json!({
            "group_id": self.default_group(), "name": "echo_api", "type": 1,
            "req_protocol": "BOTH", "req_method": "GET", "req_uri": "/echo/{name}",
            "auth_type": "APP", "auth_opt": {"app_code_auth_type": "HEADER"},
            "backend_type": "HTTP",
            "backend_api": {"url_domain": format!("127.0.0.1:{}", backend.port), "req_protocol": "HTTP",
                            "req_method": "GET", "req_uri": "/backend/{name}", "timeout": 5000},
            "backend_params": [
                {"name": "name", "value": "name", "location": "PATH", "origin": "REQUEST"},
                {"name": "X-App-Id", "value": "$context.appId", "location": "HEADER", "origin": "SYSTEM"},
                {"name": "X-Source-Ip", "value": "$context.sourceIp", "location": "HEADER", "origin": "SYSTEM"},
                {"name": "rid", "value": "$context.requestId", "location": "QUERY", "origin": "SYSTEM"},
                {"name": "X-Stage-Name", "value": "$context.stage", "location": "HEADER", "origin": "SYSTEM"},
                {"name": "X-Api-Id", "value": "$context.apiId", "location": "HEADER", "origin": "SYSTEM"},
                {"name": "X-App-Name", "value": "$context.appName", "location": "HEADER", "origin": "SYSTEM"}
            ]
        });
        let api = self.mgmt("POST", "/apis", Some(&body));
        assert_eq!(api.status, 201, "{}", api.text);
        let id = api.json["id"].as_str().unwrap().to_owned();
        self.publish(&id);
        id
    }

    /// Creates the plug-in `name` of type `kind` with `content`; its answer (201 asserted).
    fn create_plugin(&self, name: &str, kind: &str, content: &Value) -> Reply {
        let body = json!({"plugin_name": name, "plugin_type": kind, "plugin_scope": "global",
                          "plugin_content": content.to_string()});
        let made = self.mgmt("POST", "/plugins", Some(&body));
        assert_eq!(made.status, 201, "{}", made.text);
        made
    }

    /// Attaches plug-in `plugin_id` to API `api_id` in RELEASE (201 asserted); the body, which
    /// also detaches it.
    fn attach_plugin(&self, api_id: &str, plugin_id: &str) -> Value {
        let attach = json!({"env_id": RELEASE, "plugin_ids": [plugin_id]});
        let path = format!("/apis/{api_id}/plugins/attach");
        let attached = self.mgmt("POST", &path, Some(&attach));
        assert_eq!(attached.status, 201, "{}", attached.text);
        attach
    }

    /// Publishes API `id` in RELEASE (again, after an update).
    fn publish(&self, id: &str) {
        self.as_mgmt().publish(id);
    }

    /// This server's management calls as the shared helpers take them.
    fn as_mgmt(&self) -> Mgmt<'_> {
        Mgmt {
            server: &self.server,
            s: &self.admin,
        }
    }

    fn call(&self, base: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut req = self.client.get(format!("{base}{path}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Reply::from(req.send().expect("gateway answers"))
    }

    fn signed(&self, base: &str, path: &str, key: &str, secret: &str) -> Reply {
        let url = format!("{base}{path}");
        let mut req = self.client.get(&url);
        for (k, v) in signature_headers(&url, key, secret) {
            req = req.header(k, v);
        }
        Reply::from(req.send().expect("gateway answers"))
    }
}

/// An API without authentication: `GET <uri>` on both listeners → the loopback backend on
/// `port` at `backend_path`.
fn plain_api_body(group: &str, name: &str, uri: &str, port: u16, backend_path: &str) -> Value {
    json!({
        "group_id": group, "name": name, "type": 1, "req_protocol": "BOTH",
        "req_method": "GET", "req_uri": uri, "auth_type": "NONE", "backend_type": "HTTP",
        "backend_api": {"url_domain": format!("127.0.0.1:{port}"), "req_protocol": "HTTP",
                        "req_method": "GET", "req_uri": backend_path, "timeout": 5000}
    })
}

fn assert_gateway_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.json["error_code"], code, "{}", r.text);
    let rid = r.header("x-request-id").expect("X-Request-Id");
    assert_eq!(r.json["request_id"], rid, "{}", r.text);
}

#[test]
fn define_publish_authorize_call_and_revoke() {
    let backend = EchoBackend::start();
    let gw = start();
    let api_id = gw.publish_echo_api(&backend);
    let app = gw.mgmt("POST", "/apps", Some(&json!({"name": "caller_app"})));
    assert_eq!(app.status, 201);
    let app_id = app.json["id"].as_str().unwrap().to_owned();
    let (key, secret) = (
        app.json["app_key"].as_str().unwrap().to_owned(),
        app.json["app_secret"].as_str().unwrap().to_owned(),
    );
    let code = gw.mgmt("PUT", &format!("/apps/{app_id}/app-codes"), None);
    let (code_id, code_value) = (
        code.json["id"].as_str().unwrap().to_owned(),
        code.json["app_code"].as_str().unwrap().to_owned(),
    );

    // Not authorized yet.
    assert_gateway_error(
        &gw.call(&gw.https, "/echo/world", &[("X-Apig-AppCode", &code_value)]),
        403,
        "APIG.0304",
    );
    let auth = gw.mgmt(
        "POST",
        "/app-auths",
        Some(&json!({"env_id": RELEASE, "app_ids": [app_id], "api_ids": [api_id]})),
    );
    assert_eq!(auth.status, 201, "{}", auth.text);
    let auth_id = auth.json["auths"][0]["id"].as_str().unwrap().to_owned();

    // AppCode over HTTPS: proxied, the backend sees the app id and never the AppCode.
    let ok = gw.call(&gw.https, "/echo/world", &[("X-Apig-AppCode", &code_value)]);
    assert_eq!(ok.status, 200, "{}", ok.text);
    let rid = ok.header("x-request-id").unwrap().to_owned();
    assert_eq!(ok.json["path"], format!("/backend/world?rid={rid}"));
    assert_eq!(ok.json["headers"]["x-app-id"], app_id.as_str());
    assert_eq!(ok.json["headers"]["x-source-ip"], "127.0.0.1");
    assert_eq!(ok.json["headers"]["x-stage-name"], "RELEASE");
    assert_eq!(ok.json["headers"]["x-api-id"], api_id.as_str());
    assert_eq!(ok.json["headers"]["x-app-name"], "caller_app");
    assert!(ok.json["headers"].get("x-apig-appcode").is_none());
    // A renamed app is known by its new name from the next call on.
    let renamed = gw.mgmt(
        "PUT",
        &format!("/apps/{app_id}"),
        Some(&json!({"name": "renamed_app"})),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let ok = gw.call(&gw.https, "/echo/world", &[("X-Apig-AppCode", &code_value)]);
    assert_eq!(
        ok.json["headers"]["x-app-name"], "renamed_app",
        "{}",
        ok.text
    );
    assert_eq!(
        ok.json["headers"]["x-request-id"],
        ok.header("x-request-id").unwrap()
    );
    assert!(ok.header("x-apig-latency").is_none());
    // Debug mode: the gateway's and the backend's share of the time, in milliseconds.
    let debug = gw.call(
        &gw.https,
        "/echo/world",
        &[("X-Apig-AppCode", &code_value), ("X-Apig-Mode", "debug")],
    );
    assert_eq!(debug.status, 200, "{}", debug.text);
    for name in ["x-apig-latency", "x-apig-upstream-latency"] {
        let v = debug.header(name).unwrap_or_else(|| panic!("{name}"));
        assert!(v.parse::<u64>().is_ok(), "{name}: {v}");
    }
    // ...but over plain HTTP an AppCode is no credential (not enabled with a flag here).
    assert_gateway_error(
        &gw.call(&gw.http, "/echo/world", &[("X-Apig-AppCode", &code_value)]),
        401,
        "APIG.0303",
    );
    // A signature works on both listeners; the backend never sees Authorization.
    let signed = gw.signed(&gw.http, "/echo/sig", &key, &secret);
    assert_eq!(signed.status, 200, "{}", signed.text);
    assert!(signed.json["headers"].get("authorization").is_none());
    assert_eq!(gw.signed(&gw.https, "/echo/sig", &key, &secret).status, 200);
    // Wrong credentials and unknown routes.
    assert_gateway_error(
        &gw.call(
            &gw.https,
            "/echo/world",
            &[("X-Apig-AppCode", &"f".repeat(64))],
        ),
        401,
        "APIG.0303",
    );
    assert_gateway_error(
        &gw.signed(&gw.http, "/echo/sig", &key, "wrong-secret-123"),
        401,
        "APIG.0303",
    );
    assert_gateway_error(&gw.call(&gw.https, "/nothing/here", &[]), 404, "APIG.0101");

    // Revocations are in force for the very next request.
    let deleted = gw.mgmt(
        "DELETE",
        &format!("/apps/{app_id}/app-codes/{code_id}"),
        None,
    );
    assert_eq!(deleted.status, 204);
    assert_gateway_error(
        &gw.call(&gw.https, "/echo/world", &[("X-Apig-AppCode", &code_value)]),
        401,
        "APIG.0303",
    );

    let reset = gw.mgmt("PUT", &format!("/apps/secret/{app_id}"), None);
    let new_secret = reset.json["app_secret"].as_str().unwrap().to_owned();
    assert_gateway_error(
        &gw.signed(&gw.http, "/echo/sig", &key, &secret),
        401,
        "APIG.0303",
    );
    assert_eq!(
        gw.signed(&gw.http, "/echo/sig", &key, &new_secret).status,
        200
    );

    let cancelled = gw.mgmt("DELETE", &format!("/app-auths/{auth_id}"), None);
    assert_eq!(cancelled.status, 204, "{}", cancelled.text);
    assert_gateway_error(
        &gw.signed(&gw.http, "/echo/sig", &key, &new_secret),
        403,
        "APIG.0304",
    );

    let again = gw.mgmt(
        "POST",
        "/app-auths",
        Some(&json!({"env_id": RELEASE, "app_ids": [app_id], "api_ids": [api_id]})),
    );
    assert_eq!(again.status, 201);
    assert_eq!(
        gw.signed(&gw.http, "/echo/sig", &key, &new_secret).status,
        200
    );
    let offline = gw.mgmt(
        "POST",
        "/apis/action",
        Some(&json!({"action": "offline", "api_id": api_id, "env_id": RELEASE})),
    );
    assert_eq!(offline.status, 201, "{}", offline.text);
    assert_gateway_error(
        &gw.signed(&gw.http, "/echo/sig", &key, &new_secret),
        404,
        "APIG.0101",
    );

    let online = gw.mgmt(
        "POST",
        "/apis/action",
        Some(&json!({"action": "online", "api_id": api_id, "env_id": RELEASE})),
    );
    assert_eq!(online.status, 201);
    assert_eq!(
        gw.signed(&gw.http, "/echo/sig", &key, &new_secret).status,
        200
    );
    assert_eq!(
        gw.mgmt("DELETE", &format!("/apps/{app_id}"), None).status,
        204
    );
    assert_gateway_error(
        &gw.signed(&gw.http, "/echo/sig", &key, &new_secret),
        401,
        "APIG.0303",
    );
}

#[test]
fn gateway_keeps_its_configuration_across_a_restart() {
    let backend = EchoBackend::start();
    let mut gw = start();
    let api_id = gw.publish_echo_api(&backend);
    let app = gw.mgmt("POST", "/apps", Some(&json!({"name": "restart_app"})));
    let app_id = app.json["id"].as_str().unwrap().to_owned();
    let code = gw
        .mgmt("PUT", &format!("/apps/{app_id}/app-codes"), None)
        .json["app_code"]
        .as_str()
        .unwrap()
        .to_owned();
    gw.mgmt(
        "POST",
        "/app-auths",
        Some(&json!({"env_id": RELEASE, "app_ids": [app_id], "api_ids": [api_id]})),
    );
    let dir = gw.server.keep_dir();
    assert_eq!(gw.server.terminate(), Some(0));
    let server = Server::start_in(
        dir.path(),
        Opts::default().arg("--gateway-listen").arg("127.0.0.1:0"),
    )
    .unwrap();
    let https_port = server.port_of("gateway listening (HTTPS)");
    gw.https = format!("https://127.0.0.1:{https_port}");
    let ok = gw.call(&gw.https, "/echo/after", &[("X-Apig-AppCode", &code)]);
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(
        ok.json["path"]
            .as_str()
            .unwrap()
            .starts_with("/backend/after?rid="),
        "{}",
        ok.text
    );
}

/// Names of the server process's threads.
fn thread_names(server: &Server) -> Vec<String> {
    let pid = server.child.as_ref().unwrap().id();
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|task| {
            let comm = task.unwrap().path().join("comm");
            std::fs::read_to_string(comm).unwrap().trim().to_owned()
        })
        .collect()
}

#[test]
fn the_gateway_listeners_run_on_threads_of_their_own() {
    // --worker-threads sizes the gateway's runtime alone: one thread drives it (the current-
    // thread scheduler), or that thread plus N workers; the management API stays on the main
    // thread either way, so a revocation is not queued behind proxied requests.
    for (workers, gateway_threads) in [("1", 1), ("2", 3)] {
        let backend = EchoBackend::start();
        let mut gw = start_with(Opts::default().arg("--worker-threads").arg(workers));
        let api_id = gw.publish_echo_api(&backend);
        let (_, code) = gw.authorized_app("threads_app", &api_id);
        let ok = gw.call(&gw.https, "/echo/t", &[("X-Apig-AppCode", &code)]);
        assert_eq!(ok.status, 200, "{}", ok.text);
        let names = thread_names(&gw.server);
        let on_gateway = names.iter().filter(|n| *n == "apigw-gateway").count();
        assert_eq!(
            on_gateway, gateway_threads,
            "--worker-threads {workers}: {names:?}"
        );
        assert_eq!(gw.server.terminate(), Some(0), "{}", gw.server.log_text());
    }
    // Without a gateway listener there is no gateway runtime.
    let server = Server::start();
    let names = thread_names(&server);
    assert!(!names.iter().any(|n| n == "apigw-gateway"), "{names:?}");
}

#[test]
fn app_quotas_count_calls_in_windows_aligned_to_the_reset_time() {
    let backend = EchoBackend::start();
    let gw = start();
    let api_id = gw.publish_echo_api(&backend);
    let (app_id, code) = gw.authorized_app("quota_app", &api_id);

    // Two calls per hour, the current window ending three seconds from now (reset_time is UTC).
    let reset = time::OffsetDateTime::now_utc() + time::Duration::seconds(3);
    let reset_text = reset
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap();
    let quota_id = gw.bound_quota(
        json!({"name": "two_per_hour", "call_limits": 2, "time_unit": "HOUR",
               "time_interval": 1, "reset_time": reset_text}),
        &app_id,
    );

    let debug = [("X-Apig-AppCode", code.as_str()), ("X-Apig-Mode", "debug")];
    for remain in [1, 0] {
        let ok = gw.call(&gw.https, "/echo/q", &debug);
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(
            ok.header("x-apig-ratelimit-app"),
            Some(format!("remain:{remain},limit:2,time:1 hour").as_str())
        );
    }
    assert_gateway_error(&gw.call(&gw.https, "/echo/q", &debug), 405, "APIG.0501");

    // At the reset time a new window begins (not an hour after the first call).
    let wait = reset - time::OffsetDateTime::now_utc() + time::Duration::milliseconds(1100);
    std::thread::sleep(std::time::Duration::try_from(wait).unwrap_or_default());
    let ok = gw.call(&gw.https, "/echo/q", &debug);
    assert_eq!(ok.status, 200, "{}", ok.text);

    // Changing the quota applies to its apps from the next call (its terms change in place
    // for every app bound), and the call already made in this window still counts.
    let updated = gw.mgmt(
        "PUT",
        &format!("/app-quotas/{quota_id}"),
        Some(
            &json!({"name": "five_per_hour", "call_limits": 5, "time_unit": "HOUR",
                     "time_interval": 1}),
        ),
    );
    assert_eq!(updated.status, 200, "{}", updated.text);
    let ok = gw.call(&gw.https, "/echo/q", &debug);
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(
        ok.header("x-apig-ratelimit-app"),
        Some("remain:3,limit:5,time:1 hour")
    );
    // Deleting it lifts the limit for its apps.
    let deleted = gw.mgmt("DELETE", &format!("/app-quotas/{quota_id}"), None);
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    for _ in 0..6 {
        let ok = gw.call(&gw.https, "/echo/q", &debug);
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(ok.header("x-apig-ratelimit-app"), None);
    }
}

#[test]
fn app_quota_calls_still_count_after_a_restart_and_after_a_crash() {
    let backend = EchoBackend::start();
    let mut gw = start();
    let api_id = gw.publish_echo_api(&backend);
    let (app_id, code) = gw.authorized_app("durable_quota_app", &api_id);
    // Four calls a day, the windows starting at the app's first call.
    let quota_id = gw.bound_quota(
        json!({"name": "four_a_day", "call_limits": 4, "time_unit": "DAY", "time_interval": 1}),
        &app_id,
    );
    let debug = [("X-Apig-AppCode", code.as_str()), ("X-Apig-Mode", "debug")];
    let call_ok = |gw: &Gw, remain: u32| {
        let ok = gw.call(&gw.https, "/echo/q", &debug);
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(
            ok.header("x-apig-ratelimit-app"),
            Some(format!("remain:{remain},limit:4,time:1 day").as_str())
        );
    };
    let ledger = |gw: &Gw| {
        db_rows(
            &gw.server,
            &format!("SELECT app_quota_id, calls FROM app_quota_usage WHERE app_id = '{app_id}'"),
            |row| {
                use sqlx::Row;
                (row.get::<String, _>(0), row.get::<i64, _>(1))
            },
        )
    };
    call_ok(&gw, 3);
    call_ok(&gw, 2);

    // A clean stop writes the last calls to the ledger; the restarted node reads them first.
    let dir = gw.server.keep_dir();
    assert_eq!(gw.server.terminate(), Some(0), "{}", gw.server.log_text());
    let mut gw = restart_in(dir.path());
    assert_eq!(ledger(&gw), [(quota_id.clone(), 2)]);
    call_ok(&gw, 1);

    // A crash loses only what was not yet exchanged (at most --quota-sync-interval's calls).
    let started = std::time::Instant::now();
    while ledger(&gw) != [(quota_id.clone(), 3)] {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the third call never reached the ledger: {:?}",
            ledger(&gw)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    gw.server.kill();
    let gw = restart_in(dir.path());
    call_ok(&gw, 0);
    assert_gateway_error(&gw.call(&gw.https, "/echo/q", &debug), 405, "APIG.0501");

    // Unbinding forgets the app's calls: bound again, it starts afresh.
    let unbound = gw.mgmt(
        "DELETE",
        &format!("/app-quotas/{quota_id}/bound-apps/{app_id}"),
        None,
    );
    assert_eq!(unbound.status, 204, "{}", unbound.text);
    assert_eq!(ledger(&gw), []);
    gw.bind_quota(&quota_id, &app_id);
    call_ok(&gw, 3);
}

#[test]
fn a_change_of_another_instance_leaves_the_served_snapshot_alone() {
    let backend = EchoBackend::start();
    let gw = start_with(Opts::default().env("APIGW_LOG", "info,apigw::data_plane=debug"));
    let api_id = gw.publish_echo_api(&backend);
    let (_, code) = gw.authorized_app("served_app", &api_id);

    let instances = format!("/v2/{}/apigw/instances", gw.admin.project_id);
    let token = Some(gw.admin.token.as_str());
    let other = gw.server.call(
        "POST",
        &instances,
        token,
        Some(&json!({"instance_name": "gw_other"})),
    );
    assert_eq!(other.status, 201, "{}", other.text);
    let other_id = other.json["instance_id"].as_str().unwrap().to_owned();
    let reloads = |log: &str| log.matches("data plane snapshot replaced").count();
    let before = reloads(&gw.server.log_text());

    // Objects of the other instance and then the instance itself go: no reload here.
    let other_app = gw.server.call(
        "POST",
        &format!("{instances}/{other_id}/apps"),
        token,
        Some(&json!({"name": "other_app"})),
    );
    assert_eq!(other_app.status, 201, "{}", other_app.text);
    let deleted = gw
        .server
        .call("DELETE", &format!("{instances}/{other_id}"), token, None);
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let log = gw.server.log_text();
    assert!(
        log.contains("a change of another instance; nothing to reload"),
        "{log}"
    );
    assert_eq!(reloads(&log), before, "{log}");
    let ok = gw.call(&gw.https, "/echo/still", &[("X-Apig-AppCode", &code)]);
    assert_eq!(ok.status, 200, "{}", ok.text);
}

/// A backend that hangs up on its first `hangups` connections without answering, then
/// answers every request with 200 `answered` after `delay`.
fn scripted_backend(hangups: usize, delay: std::time::Duration) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                if i >= hangups {
                    std::thread::sleep(delay);
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nanswered",
                    );
                }
            });
        }
    });
    port
}

/// [`scripted_backend`] answering at once after `hangups` hang-ups.
fn flaky_backend(hangups: usize) -> u16 {
    scripted_backend(hangups, std::time::Duration::ZERO)
}

#[test]
fn retry_count_is_applied_to_backend_failures() {
    let gw = start();
    let publish = |name: &str, port: u16, retry_count: &str| {
        let body = json!({
            "group_id": gw.default_group(), "name": name, "type": 1,
            "req_protocol": "BOTH", "req_method": "GET", "req_uri": format!("/{name}"),
            "auth_type": "NONE", "backend_type": "HTTP",
            "backend_api": {"url_domain": format!("127.0.0.1:{port}"), "req_protocol": "HTTP",
                            "req_method": "GET", "req_uri": "/", "timeout": 5000,
                            "retry_count": retry_count},
        });
        let api = gw.mgmt("POST", "/apis", Some(&body));
        assert_eq!(api.status, 201, "{}", api.text);
        assert_eq!(api.json["backend_api"]["retry_count"], retry_count);
        let online = gw.mgmt(
            "POST",
            "/apis/action",
            Some(&json!({"action": "online", "api_id": api.json["id"], "env_id": RELEASE})),
        );
        assert_eq!(online.status, 201, "{}", online.text);
    };
    // Two hang-ups, two retries allowed: answered.
    publish("two_retries", flaky_backend(2), "2");
    let r = gw.call(&gw.https, "/two_retries", &[]);
    assert_eq!((r.status, r.text.as_str()), (200, "answered"));
    // One hang-up, no retry allowed: 502.
    publish("no_retry", flaky_backend(1), "0");
    assert_gateway_error(&gw.call(&gw.https, "/no_retry", &[]), 502, "APIG.0202");
    // The default (-1): a GET is tried once more.
    publish("default_retry", flaky_backend(1), "-1");
    let r = gw.call(&gw.https, "/default_retry", &[]);
    assert_eq!((r.status, r.text.as_str()), (200, "answered"));
}

/// The value of the series of `metric` whose labels include every pair of `labels`, in the
/// Prometheus text format `exposition`.
fn series(exposition: &str, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let (name_labels, value) = line.rsplit_once(' ')?;
        let (name, rest) = match name_labels.split_once('{') {
            Some((name, rest)) => (name, rest.trim_end_matches('}')),
            None => (name_labels, ""),
        };
        let has_all = labels
            .iter()
            .all(|(k, v)| rest.split(',').any(|pair| pair == format!("{k}=\"{v}\"")));
        (name == metric && has_all).then(|| value.parse().unwrap())
    })
}

#[test]
fn metrics_and_access_log_tell_what_the_gateway_did() {
    let backend = EchoBackend::start();
    let gw = start_with(
        Opts::default()
            .arg("--metrics-listen")
            .arg("127.0.0.1:0")
            .arg("--access-log"),
    );
    let metrics_port = gw.server.port_of("metrics listening");
    let api_id = gw.publish_echo_api(&backend);
    let (app_id, code) = gw.authorized_app("metered_app", &api_id);
    let wrong = "0".repeat(64);

    let ok = gw.call(&gw.https, "/echo/one", &[("X-Apig-AppCode", &code)]);
    assert_eq!(ok.status, 200, "{}", ok.text);
    let ok_rid = ok.header("x-request-id").unwrap().to_owned();
    assert_gateway_error(
        &gw.call(&gw.https, "/echo/two", &[("X-Apig-AppCode", &wrong)]),
        401,
        "APIG.0303",
    );
    assert_gateway_error(&gw.call(&gw.https, "/nowhere", &[]), 404, "APIG.0101");

    let scrape = gw
        .client
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .unwrap();
    assert_eq!(scrape.status(), 200);
    assert_eq!(
        scrape.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = scrape.text().unwrap();
    let metrics_url = |path: &str| format!("http://127.0.0.1:{metrics_port}{path}");
    let post = gw.client.post(metrics_url("/metrics")).send().unwrap();
    assert_eq!(post.status(), 405, "only GET /metrics");
    let other = gw.client.get(metrics_url("/admin")).send().unwrap();
    assert_eq!(other.status(), 404, "nothing else on the metrics listener");
    let value = |metric: &str, labels: &[(&str, &str)]| {
        series(&text, metric, labels).unwrap_or_else(|| panic!("no {metric} {labels:?} in\n{text}"))
    };
    let api = [("api_id", api_id.as_str()), ("stage", "RELEASE")];
    let class = |c: &'static str| {
        let mut labels = api.to_vec();
        labels.extend([("api_name", "echo_api"), ("status_class", c)]);
        labels
    };
    assert_eq!(value("apigw_gateway_requests_total", &class("2xx")), 1.0);
    assert_eq!(value("apigw_gateway_requests_total", &class("4xx")), 1.0);
    assert_eq!(value("apigw_gateway_requests_total", &class("5xx")), 0.0);
    let unrouted = [("api_id", ""), ("status_class", "4xx")];
    assert_eq!(value("apigw_gateway_requests_total", &unrouted), 1.0);
    assert_eq!(
        value("apigw_gateway_request_duration_seconds_count", &api),
        2.0
    );
    let mut under_a_minute = api.to_vec();
    under_a_minute.push(("le", "60"));
    assert_eq!(
        value(
            "apigw_gateway_request_duration_seconds_bucket",
            &under_a_minute
        ),
        2.0
    );
    assert_eq!(
        value("apigw_gateway_upstream_duration_seconds_count", &api),
        1.0
    );
    assert_eq!(
        value("apigw_gateway_refusals_total", &[("code", "APIG.0303")]),
        1.0
    );
    assert_eq!(
        value("apigw_gateway_refusals_total", &[("code", "APIG.0101")]),
        1.0
    );
    assert!(value("apigw_gateway_connections_total", &[("listener", "https")]) >= 1.0);
    assert!(value("apigw_gateway_upstream_connects_total", &[]) >= 1.0);
    assert_eq!(value("apigw_snapshot_apis", &[]), 1.0);
    // The first exchange with the quota ledger happens as the data plane starts.
    assert!(value("apigw_quota_ledger_exchanges_total", &[("result", "ok")]) >= 1.0);
    assert_eq!(value("apigw_quota_ledger_pending_reports", &[]), 0.0);
    assert_eq!(value("apigw_snapshot_apps", &[]), 1.0);
    assert_eq!(value("apigw_snapshot_app_codes", &[]), 1.0);
    assert!(value("apigw_snapshot_updates_total", &[("kind", "patch")]) >= 1.0);
    assert!(value("apigw_snapshot_updates_total", &[("kind", "routes")]) >= 1.0);
    assert_eq!(
        value(
            "apigw_admin_requests_total",
            &[("method", "PUT"), ("status", "201")]
        ),
        1.0,
        "one AppCode generated"
    );

    // Taken offline, the API's series leave the scrape; published again, they come back
    // with the counts they had.
    let scrape = || {
        let r = gw.client.get(metrics_url("/metrics")).send().unwrap();
        assert_eq!(r.status(), 200);
        r.text().unwrap()
    };
    let action = |action: &str| {
        let r = gw.mgmt(
            "POST",
            "/apis/action",
            Some(&json!({"action": action, "api_id": api_id, "env_id": RELEASE})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
    };
    action("offline");
    let offline = scrape();
    assert!(!offline.contains(&api_id), "{offline}");
    assert_eq!(
        series(&offline, "apigw_gateway_requests_total", &unrouted),
        Some(1.0)
    );
    action("online");
    let online = scrape();
    assert_eq!(
        series(&online, "apigw_gateway_requests_total", &class("2xx")),
        Some(1.0),
        "{online}"
    );
    assert_eq!(
        series(
            &online,
            "apigw_gateway_request_duration_seconds_count",
            &api
        ),
        Some(2.0)
    );

    // One access line per gateway request; no AppCode, right or wrong, in the log.
    let log = gw.server.log_text();
    let line = log
        .lines()
        .find(|l| l.contains(&ok_rid) && l.contains("status=200"))
        .unwrap_or_else(|| panic!("no access line for {ok_rid} in\n{log}"));
    for field in [
        "method=GET".to_owned(),
        "path=\"/echo/one\"".to_owned(),
        "code=\"-\"".to_owned(),
        format!("api_id=\"{api_id}\""),
        format!("app_id=\"{app_id}\""),
        "client=127.0.0.1".to_owned(),
        "tls=true".to_owned(),
        "upstream_ms=".to_owned(),
    ] {
        assert!(line.contains(&field), "{field} missing from {line}");
    }
    assert!(
        log.contains("path=\"/echo/two\" status=401 code=\"APIG.0303\""),
        "{log}"
    );
    assert!(
        log.contains("path=\"/nowhere\" status=404 code=\"APIG.0101\" api_id=\"-\""),
        "{log}"
    );
    assert!(!log.contains(&code) && !log.contains(&wrong), "{log}");
}

#[test]
fn json_logs_are_one_object_per_line_with_the_access_fields_on_top() {
    let backend = EchoBackend::start();
    let gw = start_with(
        Opts::default()
            .arg("--log-format")
            .arg("json")
            .arg("--access-log"),
    );
    let api_id = gw.publish_echo_api(&backend);
    let (app_id, code) = gw.authorized_app("json_logged_app", &api_id);
    let ok = gw.call(
        &gw.https,
        "/echo/json?secret=query",
        &[("X-Apig-AppCode", &code)],
    );
    assert_eq!(ok.status, 200, "{}", ok.text);
    let rid = ok.header("x-request-id").unwrap();

    // The harness writes stdout (the first-start banner, indented) and stderr to one file.
    let log = gw.server.log_text();
    let events: Vec<Value> = log
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with("  "))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert!(events
        .iter()
        .all(|e| e["timestamp"].is_string() && e["level"].is_string()));
    // No field shadows the event's message (JSON readers keep only one of two equal keys).
    assert!(
        log.lines().all(|l| l.matches("\"message\":").count() <= 1),
        "{log}"
    );
    let access = events
        .iter()
        .find(|e| e["target"] == "apigw::access" && e["request_id"] == rid)
        .unwrap_or_else(|| panic!("no access event for {rid} in\n{log}"));
    assert_eq!(access["level"], "INFO");
    assert_eq!(access["message"], "request");
    assert_eq!(access["method"], "GET");
    assert_eq!(access["path"], "/echo/json", "no query in the log");
    assert_eq!(access["status"], 200);
    assert_eq!(access["code"], "-");
    assert_eq!(access["api_id"], api_id.as_str());
    assert_eq!(access["app_id"], app_id.as_str());
    assert_eq!(access["policy"], "-", "no backend policy took it");
    assert!(access["latency_ms"].as_f64().unwrap() > 0.0);
    assert!(access["upstream_ms"].as_f64().unwrap() > 0.0);
    // Management requests carry their request id in the span.
    assert!(events
        .iter()
        .any(|e| e["message"] == "handled" && e["span"]["request_id"].is_string()));
    assert!(
        !log.contains(&code) && !log.contains("secret=query"),
        "{log}"
    );
}

/// The `app_secret` mode's headers.
fn hw<'a>(key: &'a str, secret: &'a str) -> [(&'static str, &'a str); 2] {
    [("X-HW-ID", key), ("X-HW-AppKey", secret)]
}

/// `Authorization: Basic base64(<key>:<secret>)`.
fn basic(key: &str, secret: &str) -> String {
    use base64::Engine;
    let pair = format!("{key}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

#[test]
fn the_app_secret_and_app_basic_modes_work_once_the_instance_turns_them_on() {
    let backend = EchoBackend::start();
    let gw = start_with(Opts::default().env("APIGW_LOG", "info,apigw::data_plane=debug"));
    let reloads = |gw: &Gw| {
        gw.server
            .log_text()
            .matches("data plane snapshot replaced")
            .count()
    };
    let api_id = gw.publish_echo_api(&backend);
    let (app_id, _) = gw.authorized_app("clear_app", &api_id);
    let app = gw.mgmt("GET", &format!("/apps/{app_id}"), None);
    let key = app.json["app_key"].as_str().unwrap().to_owned();
    let reset = gw.mgmt("PUT", &format!("/apps/secret/{app_id}"), None);
    let secret = reset.json["app_secret"].as_str().unwrap().to_owned();
    let configure = |name: &str, enable: bool, config: &str| {
        let r = gw.mgmt(
            "POST",
            "/features",
            Some(&json!({"name": name, "enable": enable, "config": config})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
    };
    let refused = |r: &Reply, detail: &str| {
        assert_gateway_error(r, 401, "APIG.0303");
        assert_eq!(
            r.json["error_msg"],
            format!("Incorrect app authentication information: {detail}"),
            "{}",
            r.text
        );
    };

    // Off by default, as in APIG: neither form is a credential.
    refused(
        &gw.call(&gw.https, "/echo/hw", &hw(&key, &secret)),
        "authorization not found",
    );
    let r = gw.call(
        &gw.https,
        "/echo/b",
        &[("Authorization", &basic(&key, &secret))],
    );
    assert_gateway_error(&r, 401, "APIG.0303");

    // app_secret on: the key and secret in X-HW-ID / X-HW-AppKey, over HTTPS. A feature
    // changes the snapshot's modes only, not the whole snapshot.
    let before = reloads(&gw);
    configure("app_secret", true, "on");
    assert_eq!(reloads(&gw), before, "{}", gw.server.log_text());
    let ok = gw.call(&gw.https, "/echo/hw", &hw(&key, &secret));
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["headers"]["x-app-id"], app_id.as_str());
    for credential in ["x-hw-id", "x-hw-appkey", "authorization"] {
        assert!(ok.json["headers"].get(credential).is_none(), "{}", ok.text);
    }
    refused(
        &gw.call(&gw.https, "/echo/hw", &hw(&key, "WrongSecret_123")),
        &format!("app secret does not match, appkey {key}"),
    );
    refused(
        &gw.call(&gw.https, "/echo/hw", &[("X-HW-ID", key.as_str())]),
        &format!("app secret does not match, appkey {key}"),
    );
    refused(
        &gw.call(&gw.https, "/echo/hw", &hw("0123456789abcdef", &secret)),
        "app not found, appkey 0123456789abcdef",
    );
    // The secret in clear over plain HTTP is refused, as an AppCode is.
    refused(
        &gw.call(&gw.http, "/echo/hw", &hw(&key, &secret)),
        "app secret is only accepted over HTTPS",
    );
    // Basic is still off.
    let r = gw.call(
        &gw.https,
        "/echo/b",
        &[("Authorization", &basic(&key, &secret))],
    );
    assert_gateway_error(&r, 401, "APIG.0303");

    // app_basic on.
    configure("app_basic", true, "on");
    let ok = gw.call(
        &gw.https,
        "/echo/b",
        &[("Authorization", &basic(&key, &secret))],
    );
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["headers"]["x-app-id"], app_id.as_str());
    assert!(ok.json["headers"].get("authorization").is_none());
    let lower = basic(&key, &secret).replacen("Basic", "basic", 1);
    let ok = gw.call(&gw.https, "/echo/b", &[("Authorization", &lower)]);
    assert_eq!(ok.status, 200, "{}", ok.text);
    refused(
        &gw.call(
            &gw.https,
            "/echo/b",
            &[("Authorization", &basic(&key, "WrongSecret_123"))],
        ),
        &format!("app secret does not match, appkey {key}"),
    );
    for malformed in ["Basic !!!", "Basic a2V5LW5vLWNvbG9u"] {
        refused(
            &gw.call(&gw.https, "/echo/b", &[("Authorization", malformed)]),
            "basic credentials are not base64(AppKey:AppSecret)",
        );
    }
    refused(
        &gw.call(
            &gw.http,
            "/echo/b",
            &[("Authorization", &basic(&key, &secret))],
        ),
        "app secret is only accepted over HTTPS",
    );
    // Signatures keep working beside both modes.
    assert_eq!(gw.signed(&gw.https, "/echo/s", &key, &secret).status, 200);

    // Revocations are in force for the next call: a reset secret, a cancelled authorization,
    // a mode turned off.
    let reset = gw.mgmt("PUT", &format!("/apps/secret/{app_id}"), None);
    let new_secret = reset.json["app_secret"].as_str().unwrap().to_owned();
    refused(
        &gw.call(&gw.https, "/echo/hw", &hw(&key, &secret)),
        &format!("app secret does not match, appkey {key}"),
    );
    assert_eq!(
        gw.call(&gw.https, "/echo/hw", &hw(&key, &new_secret))
            .status,
        200
    );
    let other = gw.mgmt("POST", "/apps", Some(&json!({"name": "not_authorized"})));
    let (other_key, other_secret) = (
        other.json["app_key"].as_str().unwrap().to_owned(),
        other.json["app_secret"].as_str().unwrap().to_owned(),
    );
    assert_gateway_error(
        &gw.call(&gw.https, "/echo/hw", &hw(&other_key, &other_secret)),
        403,
        "APIG.0304",
    );
    configure("app_secret", false, "off");
    refused(
        &gw.call(&gw.https, "/echo/hw", &hw(&key, &new_secret)),
        "authorization not found",
    );
    configure("app_basic", true, "off");
    let r = gw.call(
        &gw.https,
        "/echo/b",
        &[("Authorization", &basic(&key, &new_secret))],
    );
    assert_gateway_error(&r, 401, "APIG.0303");

    // Kept across a restart (the features are stored with the instance).
    configure("app_basic", true, "on");
    let listed = gw.mgmt("GET", "/features", None);
    assert_eq!(listed.json["total"], 2, "{}", listed.text);
    let mut gw = gw;
    let dir = gw.server.keep_dir();
    assert_eq!(gw.server.terminate(), Some(0));
    let gw = restart_in(dir.path());
    let credential = basic(&key, &new_secret);
    let ok = gw.call(&gw.https, "/echo/b", &[("Authorization", &credential)]);
    assert_eq!(ok.status, 200, "{}", ok.text);
    refused(
        &gw.call(&gw.https, "/echo/hw", &hw(&key, &new_secret)),
        "authorization not found",
    );
}

impl Gw {
    /// `POST <base><uri>` with `body` as a form (or as JSON with `json`), and `headers`.
    fn token_request(
        &self,
        base: &str,
        uri: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.client.post(format!("{base}{uri}")).form(form);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Reply::from(req.send().expect("gateway answers"))
    }

    /// A token for `key` and `secret` at the default token URI over HTTPS: access and refresh.
    fn app_token(&self, key: &str, secret: &str) -> (String, String) {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", key),
            ("client_secret", secret),
        ];
        let r = self.token_request(&self.https, TOKEN_URI, &form, &[]);
        assert_eq!(r.status, 200, "{}", r.text);
        (
            r.json["access_token"].as_str().unwrap().to_owned(),
            r.json["refresh_token"].as_str().unwrap().to_owned(),
        )
    }
}

/// APIG's default `app_token_uri`.
const TOKEN_URI: &str = "/v1/apigw/oauth2/token";

impl Gw {
    /// The echo API published, and a new app `name` authorized for it: the app's id, AppKey
    /// and (reset, so known) AppSecret.
    fn echo_api_and_app(&self, backend: &EchoBackend, name: &str) -> (String, String, String) {
        let api_id = self.publish_echo_api(backend);
        let (app_id, _) = self.authorized_app(name, &api_id);
        let app = self.mgmt("GET", &format!("/apps/{app_id}"), None);
        let key = app.json["app_key"].as_str().unwrap().to_owned();
        let reset = self.mgmt("PUT", &format!("/apps/secret/{app_id}"), None);
        let secret = reset.json["app_secret"].as_str().unwrap().to_owned();
        (app_id, key, secret)
    }
}

/// 401 `APIG.0303` with Huawei's message and `detail`.
fn assert_app_auth_refused(r: &Reply, detail: &str) {
    assert_gateway_error(r, 401, "APIG.0303");
    let message = format!("Incorrect app authentication information: {detail}");
    assert_eq!(r.json["error_msg"], message, "{}", r.text);
}

#[test]
fn the_app_api_key_mode_takes_the_app_key_alone_once_the_instance_turns_it_on() {
    let backend = EchoBackend::start();
    let gw = start();
    let (app_id, key, _) = gw.echo_api_and_app(&backend, "key_app");
    let refused = assert_app_auth_refused;
    let apikey = [("apikey", key.as_str())];
    // Off by default: the AppKey alone is no credential, and `apikey` is an ordinary field
    // that reaches the backends of other APIs.
    refused(
        &gw.call(&gw.https, "/echo/k", &apikey),
        "authorization not found",
    );
    let (shop_id, _) = gw.shop_group(&backend);
    let shop = gw.mgmt("GET", &format!("/api-groups/{shop_id}"), None);
    let host = shop.json["sl_domain"].as_str().unwrap().to_owned();
    let passed = gw.call(
        &gw.https,
        "/echo/open",
        &[("Host", &host), ("apikey", "kept")],
    );
    assert_eq!(passed.status, 200, "{}", passed.text);
    assert_eq!(passed.json["headers"]["apikey"], "kept", "{}", passed.text);

    let r = gw.mgmt(
        "POST",
        "/features",
        Some(&json!({"name": "app_api_key", "enable": true, "config": "on"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["name"], "app_api_key");
    let ok = gw.call(&gw.https, "/echo/k", &apikey);
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["headers"]["x-app-id"], app_id.as_str());
    assert!(ok.json["headers"].get("apikey").is_none(), "{}", ok.text);
    // Now a credential: taken out of every backend request.
    let stripped = gw.call(
        &gw.https,
        "/echo/open",
        &[("Host", &host), ("apikey", "kept")],
    );
    assert_eq!(stripped.status, 200, "{}", stripped.text);
    assert!(stripped.json["headers"].get("apikey").is_none());
    refused(
        &gw.call(&gw.https, "/echo/k", &[("apikey", "0123456789abcdef")]),
        "app not found by apikey",
    );
    refused(
        &gw.call(&gw.http, "/echo/k", &apikey),
        "apikey is only accepted over HTTPS",
    );
    // An app the API is not authorized for is refused as with any credential.
    let other = gw.mgmt("POST", "/apps", Some(&json!({"name": "other_key_app"})));
    let other_key = other.json["app_key"].as_str().unwrap();
    let r = gw.call(&gw.https, "/echo/k", &[("apikey", other_key)]);
    assert_gateway_error(&r, 403, "APIG.0304");
    // A changed AppKey is in force for the next call.
    let renamed = gw.mgmt(
        "PUT",
        &format!("/apps/{app_id}"),
        Some(&json!({"name": "key_app", "app_key": "renamed_key_0001"})),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    refused(
        &gw.call(&gw.https, "/echo/k", &apikey),
        "app not found by apikey",
    );
    let ok = gw.call(&gw.https, "/echo/k", &[("apikey", "renamed_key_0001")]);
    assert_eq!(ok.status, 200, "{}", ok.text);
    let r = gw.mgmt(
        "POST",
        "/features",
        Some(&json!({"name": "app_api_key", "enable": false})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    refused(
        &gw.call(&gw.https, "/echo/k", &[("apikey", "renamed_key_0001")]),
        "authorization not found",
    );
}

#[test]
fn app_tokens_are_issued_for_client_credentials_and_call_app_apis_as_bearer_tokens() {
    let backend = EchoBackend::start();
    let gw = start();
    let (app_id, key, secret) = gw.echo_api_and_app(&backend, "token_app");
    let credentials = [
        ("grant_type", "client_credentials"),
        ("client_id", key.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let bearer = |token: &str| format!("Bearer {token}");
    let call_with =
        |token: &str| gw.call(&gw.https, "/echo/t", &[("Authorization", &bearer(token))]);
    let refused = assert_app_auth_refused;

    // Off by default: the token URI is no API, a bearer token no credential.
    let r = gw.token_request(&gw.https, TOKEN_URI, &credentials, &[]);
    assert_gateway_error(&r, 404, "APIG.0101");

    let configure = |config: Value| {
        let body = json!({"name": "app_token", "enable": true, "config": config.to_string()});
        let r = gw.mgmt("POST", "/features", Some(&body));
        assert_eq!(r.status, 201, "{}", r.text);
        r
    };
    let shown = configure(json!({"enable": "on"}));
    assert_eq!(
        serde_json::from_str::<Value>(shown.json["config"].as_str().unwrap()).unwrap(),
        json!({"enable": true, "app_token_expire_time": 3600,
               "refresh_token_expire_time": 7200, "app_token_uri": TOKEN_URI}),
        "{}",
        shown.text
    );

    // Client credentials in the form: an access token and a refresh token, never cached.
    let issued = gw.token_request(&gw.https, TOKEN_URI, &credentials, &[]);
    assert_eq!(issued.status, 200, "{}", issued.text);
    assert_eq!(issued.json["token_type"], "Bearer");
    assert_eq!(issued.json["expires_in"], 3600);
    assert_eq!(issued.header("cache-control"), Some("no-store"));
    assert_eq!(issued.header("x-request-id").map(str::len), Some(32));
    let access = issued.json["access_token"].as_str().unwrap().to_owned();
    let refresh = issued.json["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(access, refresh);
    assert!(!issued.text.contains(&secret));

    let ok = call_with(&access);
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["headers"]["x-app-id"], app_id.as_str());
    assert!(
        ok.json["headers"].get("authorization").is_none(),
        "{}",
        ok.text
    );
    // Basic client authentication (RFC 6749 §2.3.1), and a JSON body, work too.
    let r = gw.token_request(
        &gw.https,
        TOKEN_URI,
        &[("grant_type", "client_credentials")],
        &[("Authorization", &basic(&key, &secret))],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        call_with(r.json["access_token"].as_str().unwrap()).status,
        200
    );
    let r = Reply::from(
        gw.client
            .post(format!("{}{TOKEN_URI}", gw.https))
            .json(&json!({"grant_type": "client_credentials", "client_id": key, "client_secret": secret}))
            .send()
            .unwrap(),
    );
    assert_eq!(r.status, 200, "{}", r.text);

    // The refresh token buys access tokens, and only that.
    let r = gw.token_request(
        &gw.https,
        TOKEN_URI,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["refresh_token"], refresh.as_str());
    let renewed = r.json["access_token"].as_str().unwrap().to_owned();
    assert_ne!(renewed, access);
    assert_eq!(call_with(&renewed).status, 200);
    // As APIG's own clients refresh: with the client credentials and `scope=default` (echoed).
    let huawei_style = [
        ("grant_type", "refresh_token"),
        ("client_id", key.as_str()),
        ("client_secret", secret.as_str()),
        ("refresh_token", refresh.as_str()),
        ("scope", "default"),
    ];
    let r = gw.token_request(&gw.https, TOKEN_URI, &huawei_style, &[]);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["scope"], "default");
    assert_eq!(
        call_with(r.json["access_token"].as_str().unwrap()).status,
        200
    );
    let mut wrong = huawei_style;
    wrong[2].1 = "WrongSecret_123";
    let r = gw.token_request(&gw.https, TOKEN_URI, &wrong, &[]);
    assert_gateway_error(&r, 400, "APIG.1009");
    refused(&call_with(&refresh), "token malformed");
    let r = gw.token_request(
        &gw.https,
        TOKEN_URI,
        &[("grant_type", "refresh_token"), ("refresh_token", &access)],
        &[],
    );
    refused(&r, "token malformed");

    // Refusals of the token endpoint.
    let wrong_secret = [
        ("grant_type", "client_credentials"),
        ("client_id", key.as_str()),
        ("client_secret", "WrongSecret_123"),
    ];
    let unknown_key = [
        ("grant_type", "client_credentials"),
        ("client_id", "0123456789abcdef"),
        ("client_secret", secret.as_str()),
    ];
    for form in [&wrong_secret[..], &unknown_key[..]] {
        let r = gw.token_request(&gw.https, TOKEN_URI, form, &[]);
        assert_gateway_error(&r, 400, "APIG.1009");
        assert_eq!(r.json["error_msg"], "AppKey or AppSecret is invalid");
    }
    for form in [
        &[
            ("client_id", key.as_str()),
            ("client_secret", secret.as_str()),
        ][..],
        &[("grant_type", "password"), ("client_id", key.as_str())][..],
        &[
            ("grant_type", "client_credentials"),
            ("client_id", key.as_str()),
        ][..],
        &[("grant_type", "refresh_token")][..],
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ][..],
    ] {
        let r = gw.token_request(&gw.https, TOKEN_URI, form, &[]);
        assert_gateway_error(&r, 400, "APIG.0201");
    }
    let r = gw.call(&gw.https, TOKEN_URI, &[]);
    assert_gateway_error(&r, 400, "APIG.0201");
    refused(
        &gw.token_request(&gw.http, TOKEN_URI, &credentials, &[]),
        "app token is only issued over HTTPS",
    );
    refused(
        &gw.call(&gw.http, "/echo/t", &[("Authorization", &bearer(&access))]),
        "app token is only accepted over HTTPS",
    );

    // Tokens that are not ours, or not right.
    let mut tampered = access.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    refused(
        &call_with(std::str::from_utf8(&tampered).unwrap()),
        "token signature mismatch",
    );
    refused(&call_with("not-a-token"), "token malformed");
    // An app not authorized for the API: 403, as with any credential.
    let other = gw.mgmt("POST", "/apps", Some(&json!({"name": "other_token_app"})));
    let (other_key, other_secret) = (
        other.json["app_key"].as_str().unwrap().to_owned(),
        other.json["app_secret"].as_str().unwrap().to_owned(),
    );
    let (other_access, _) = gw.app_token(&other_key, &other_secret);
    assert_gateway_error(&call_with(&other_access), 403, "APIG.0304");
    // Another app's credentials do not refresh this app's token.
    let r = gw.token_request(
        &gw.https,
        TOKEN_URI,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &other_key),
            ("client_secret", &other_secret),
        ],
        &[],
    );
    assert_gateway_error(&r, 400, "APIG.1009");

    // Tokens survive a restart (the token key comes from the master key).
    let mut gw = gw;
    let dir = gw.server.keep_dir();
    assert_eq!(gw.server.terminate(), Some(0));
    let gw = restart_in(dir.path());
    let call_with =
        |token: &str| gw.call(&gw.https, "/echo/t", &[("Authorization", &bearer(token))]);
    assert_eq!(call_with(&access).status, 200);

    // A reset secret voids the app's tokens from the next call on.
    let reset = gw.mgmt("PUT", &format!("/apps/secret/{app_id}"), None);
    let secret = reset.json["app_secret"].as_str().unwrap().to_owned();
    refused(&call_with(&access), "token signature mismatch");
    let (access, _) = gw.app_token(&key, &secret);
    assert_eq!(call_with(&access).status, 200);

    // So does a new app_token_key, which is never shown, and the terms apply: a short-lived
    // access token expires with 401 APIG.0307; another URI issues them.
    let body = json!({"name": "app_token", "enable": true, "config": json!({
        "enable": true, "app_token_expire_time": 1, "app_token_uri": "/oauth/token",
        "app_token_key": "a-new-token-key"}).to_string()});
    let shown = gw.mgmt("POST", "/features", Some(&body));
    assert_eq!(shown.status, 201, "{}", shown.text);
    assert!(!shown.text.contains("a-new-token-key"), "{}", shown.text);
    assert!(
        shown.text.contains("app_token_key_digest"),
        "{}",
        shown.text
    );
    refused(&call_with(&access), "token signature mismatch");
    let old_uri = gw.token_request(&gw.https, TOKEN_URI, &credentials, &[]);
    assert_gateway_error(&old_uri, 404, "APIG.0101");
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", key.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let r = gw.token_request(&gw.https, "/oauth/token", &form, &[]);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["expires_in"], 1);
    let short = r.json["access_token"].as_str().unwrap().to_owned();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let expired = call_with(&short);
    assert_gateway_error(&expired, 401, "APIG.0307");
    assert_eq!(expired.json["error_msg"], "The token must be updated.");

    // The shown config carries the key's digest back: same key, so the same tokens hold.
    let mut config: Value = serde_json::from_str(shown.json["config"].as_str().unwrap()).unwrap();
    config["app_token_expire_time"] = json!(3600);
    let again = json!({"name": "app_token", "enable": true, "config": config.to_string()});
    assert_eq!(gw.mgmt("POST", "/features", Some(&again)).status, 201);
    let r = gw.token_request(&gw.https, "/oauth/token", &form, &[]);
    let fresh = r.json["access_token"].as_str().unwrap().to_owned();
    assert_eq!(gw.mgmt("POST", "/features", Some(&again)).status, 201);
    assert_eq!(call_with(&fresh).status, 200);

    // Turning the feature off, or deleting the app, ends every token.
    let off = json!({"name": "app_token", "enable": false});
    assert_eq!(gw.mgmt("POST", "/features", Some(&off)).status, 201);
    assert_gateway_error(&call_with(&fresh), 401, "APIG.0303");
    assert_eq!(gw.mgmt("POST", "/features", Some(&again)).status, 201);
    assert_eq!(call_with(&fresh).status, 200);
    assert_eq!(
        gw.mgmt("DELETE", &format!("/apps/{app_id}"), None).status,
        204
    );
    refused(&call_with(&fresh), "token of no current app");
}

/// The headers of a `GET <url>` signed with `key` and `secret` now.
fn signature_headers(url: &str, key: &str, secret: &str) -> Vec<(String, String)> {
    let uri: http::Uri = url.parse().unwrap();
    let mut headers = http::HeaderMap::new();
    let now = time::OffsetDateTime::now_utc();
    apigw_signing::sign_request(
        &http::Method::GET,
        &uri,
        &mut headers,
        b"",
        key,
        secret,
        now,
    )
    .unwrap();
    headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn app_auth_header_moves_app_credentials_off_authorization_which_reaches_the_backend() {
    let backend = EchoBackend::start();
    let gw = start();
    let (app_id, key, secret) = gw.echo_api_and_app(&backend, "header_app");
    let url = format!("{}/echo/h", gw.https);
    let call = |headers: &[(String, String)]| {
        let mut req = gw.client.get(&url);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        Reply::from(req.send().expect("gateway answers"))
    };
    // The signature under another name, beside the caller's own Authorization.
    let moved = |name: &str| {
        let mut headers = signature_headers(&url, &key, &secret);
        for (k, _) in headers.iter_mut() {
            if k == "authorization" {
                *k = name.to_owned();
            }
        }
        headers.push(("authorization".into(), "Bearer end-user-token".into()));
        headers
    };
    let own = signature_headers(&url, &key, &secret);

    // Not configured: the moved signature is no credential, Authorization is read (and fails).
    assert_app_auth_refused(
        &call(&moved("x-apig-auth")),
        "authorization algorithm is not SDK-HMAC-SHA256",
    );
    let r = gw.mgmt(
        "POST",
        "/features",
        Some(&json!({"name": "app_auth_header", "enable": true, "config": "X-Apig-Auth"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["config"], "X-Apig-Auth");

    let ok = call(&moved("x-apig-auth"));
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["headers"]["x-app-id"], app_id.as_str());
    assert_eq!(ok.json["headers"]["authorization"], "Bearer end-user-token");
    assert!(
        ok.json["headers"].get("x-apig-auth").is_none(),
        "{}",
        ok.text
    );
    // Header names are case-insensitive; a signature in Authorization is no longer read.
    assert_eq!(call(&moved("X-APIG-AUTH")).status, 200);
    assert_app_auth_refused(&call(&own), "authorization not found");
    // A wrong signature in the header is refused as any.
    let mut wrong = moved("x-apig-auth");
    for (k, v) in wrong.iter_mut() {
        if k == "x-apig-auth" {
            *v = v.replace("Signature=", "Signature=0");
        }
    }
    let r = call(&wrong);
    assert_gateway_error(&r, 401, "APIG.0303");
    // The Basic mode reads the same header.
    assert_eq!(
        gw.mgmt(
            "POST",
            "/features",
            Some(&json!({"name": "app_basic", "enable": true, "config": "on"}))
        )
        .status,
        201
    );
    let ok = call(&[("X-Apig-Auth".into(), basic(&key, &secret))]);
    assert_eq!(ok.status, 200, "{}", ok.text);
    // AppCodes are untouched by it.
    let code = gw.mgmt("PUT", &format!("/apps/{app_id}/app-codes"), None);
    let code = code.json["app_code"].as_str().unwrap().to_owned();
    let ok = call(&[
        ("X-Apig-AppCode".into(), code),
        ("Authorization".into(), "kept".into()),
    ]);
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["headers"]["authorization"], "kept");

    // Names the gateway reads for something else are refused; turned off, Authorization again.
    let r = gw.mgmt(
        "POST",
        "/features",
        Some(&json!({"name": "app_auth_header", "enable": true, "config": "X-Apig-AppCode"})),
    );
    assert_eq!(
        (r.status, &r.json["error_code"]),
        (400, &json!("APIG.2011"))
    );
    let r = gw.mgmt(
        "POST",
        "/features",
        Some(&json!({"name": "app_auth_header", "enable": false, "config": "X-Apig-Auth"})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(call(&own).status, 200);
    assert_app_auth_refused(
        &call(&moved("x-apig-auth")),
        "authorization algorithm is not SDK-HMAC-SHA256",
    );
}

#[test]
fn with_app_route_calls_by_ip_address_reach_every_group_s_apis() {
    let backend = EchoBackend::start();
    let gw = start();
    let (shop_id, _) = gw.shop_group(&backend);
    let shop = gw.mgmt("GET", &format!("/api-groups/{shop_id}"), None);
    let subdomain = shop.json["sl_domain"].as_str().unwrap().to_owned();
    // The group's own subdomain reaches it; an IP address only the DEFAULT group (none here).
    let ok = gw.call(&gw.http, "/echo/a", &[("Host", &subdomain)]);
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_gateway_error(&gw.call(&gw.http, "/echo/a", &[]), 404, "APIG.0101");

    let feature = |enable: bool| {
        let body = json!({"name": "app_route", "enable": enable, "config": "on"});
        let r = gw.mgmt("POST", "/features", Some(&body));
        assert_eq!(r.status, 201, "{}", r.text);
    };
    feature(true);
    for base in [&gw.http, &gw.https] {
        let ok = gw.call(base, "/echo/a?x=1", &[]);
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(ok.json["path"], "/backend/a?x=1");
    }
    let ok = gw.call(&gw.http, "/echo/a", &[("Host", "[::1]:8080")]);
    assert_eq!(ok.status, 200, "{}", ok.text);
    // Only addresses: a name the instance does not know still reaches the DEFAULT group alone.
    let r = gw.call(&gw.http, "/echo/a", &[("Host", "unknown.example")]);
    assert_gateway_error(&r, 404, "APIG.0101");
    // The DEFAULT group's API comes first where both have one (here an APP API: 401).
    gw.publish_echo_api(&backend);
    assert_gateway_error(&gw.call(&gw.http, "/echo/a", &[]), 401, "APIG.0303");
    // A path no group has stays 404.
    assert_gateway_error(&gw.call(&gw.http, "/nowhere", &[]), 404, "APIG.0101");

    feature(false);
    let ok = gw.call(&gw.http, "/echo/a/b", &[("Host", &subdomain)]);
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_gateway_error(&gw.call(&gw.http, "/echo/a/b", &[]), 404, "APIG.0101");
}

#[test]
fn with_real_ip_from_xff_the_client_address_is_read_from_x_forwarded_for() {
    let backend = EchoBackend::start();
    let gw = start();
    let api_id = gw.publish_echo_api(&backend);
    let (app_id, code) = gw.authorized_app("behind_lb", &api_id);
    let acl = gw.mgmt(
        "PUT",
        &format!("/apps/{app_id}/app-acl"),
        Some(&json!({"app_acl_type": "PERMIT", "app_acl_values": ["203.0.113.0/24"]})),
    );
    assert!(acl.status < 300, "{}", acl.text);
    let call = |xff: Option<&str>| {
        let mut headers = vec![("X-Apig-AppCode", code.as_str())];
        if let Some(xff) = xff {
            headers.push(("X-Forwarded-For", xff));
        }
        gw.call(&gw.https, "/echo/lb", &headers)
    };
    let configure = |enable: bool, config: &str| {
        let r = gw.mgmt(
            "POST",
            "/features",
            Some(&json!({"name": "real_ip_from_xff", "enable": enable, "config": config})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r
    };

    // Off by default: the TCP peer (127.0.0.1) is the client, whatever the header says.
    assert_gateway_error(&call(Some("203.0.113.7")), 403, "APIG.0405");

    // On, the last address (the one the nearest proxy added) is the client's.
    let r = configure(true, r#"{"enable": true, "xff_index": -1}"#);
    assert_eq!(r.json["config"], r#"{"enable":true,"xff_index":-1}"#);
    let ok = call(Some("198.51.100.1, 203.0.113.7"));
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["headers"]["x-source-ip"], "203.0.113.7");
    // The backend still learns the whole chain, the gateway's peer appended.
    assert_eq!(
        ok.json["headers"]["x-forwarded-for"],
        "198.51.100.1, 203.0.113.7, 127.0.0.1"
    );
    assert_gateway_error(&call(Some("203.0.113.7, 198.51.100.1")), 403, "APIG.0405");
    // No header, or no address at the index: the peer again.
    assert_gateway_error(&call(None), 403, "APIG.0405");
    assert_gateway_error(&call(Some("unknown")), 403, "APIG.0405");

    // Index 0: the first address.
    configure(true, r#"{"xff_index": 0}"#);
    assert_eq!(call(Some("203.0.113.9, 198.51.100.1")).status, 200);
    assert_gateway_error(&call(Some("198.51.100.1, 203.0.113.9")), 403, "APIG.0405");

    // Off again: in force for the next call.
    configure(false, r#"{"xff_index": 0}"#);
    assert_gateway_error(&call(Some("203.0.113.9")), 403, "APIG.0405");
    let listed = gw.mgmt("GET", "/features", None);
    assert_eq!(
        listed.json["features"][0]["enable"], false,
        "{}",
        listed.text
    );
}

/// Sends `method` to the gateway with `headers`.
fn send(gw: &Gw, method: &str, url: &str, headers: &[(&str, &str)]) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = gw.client.request(method, url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    Reply::from(req.send().expect("gateway answers"))
}

#[test]
fn an_api_with_cors_on_answers_preflights_itself_and_its_responses_admit_any_origin() {
    use std::sync::atomic::Ordering::SeqCst;
    let backend = EchoBackend::start();
    let gw = start();
    let group = gw.default_group();
    let mut body = echo_api_body(&group, "browser_api", backend.port);
    body["req_uri"] = json!("/cors/{name}");
    body["cors"] = json!(true);
    let created = gw.mgmt("POST", "/apis", Some(&body));
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["cors"], true);
    let cors_api = created.json["id"].as_str().unwrap().to_owned();
    gw.publish(&cors_api);
    let (app_id, code) = gw.authorized_app("browser_app", &cors_api);
    // An API without CORS beside it, the same app authorized.
    let plain_api = gw.publish_echo_api(&backend);
    let auth = gw.mgmt(
        "POST",
        "/app-auths",
        Some(&json!({"env_id": RELEASE, "app_ids": [app_id], "api_ids": [plain_api]})),
    );
    assert_eq!(auth.status, 201, "{}", auth.text);
    let origin = ("Origin", "https://page.example");
    let url = |path: &str| format!("{}{path}", gw.https);
    let preflight = |path: &str, method: &str, headers: Option<&str>| {
        let mut h = vec![origin, ("Access-Control-Request-Method", method)];
        if let Some(headers) = headers {
            h.push(("Access-Control-Request-Headers", headers));
        }
        send(&gw, "OPTIONS", &url(path), &h)
    };

    // The preflight is the gateway's: 200 without credentials, the backend not called.
    let before = backend.hits.load(SeqCst);
    let pre = preflight("/cors/a", "GET", Some("x-apig-appcode,content-type"));
    assert_eq!(pre.status, 200, "{}", pre.text);
    assert_eq!(pre.text, "");
    assert_eq!(pre.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        pre.header("access-control-allow-methods"),
        Some("GET,POST,PUT,DELETE,HEAD,OPTIONS,PATCH")
    );
    assert_eq!(
        pre.header("access-control-allow-headers"),
        Some("x-apig-appcode,content-type")
    );
    assert_eq!(pre.header("access-control-max-age"), Some("172800"));
    assert_eq!(pre.header("x-request-id").map(str::len), Some(32));
    // No headers named: the default list, with the AppCode header among them.
    let pre = preflight("/cors/a", "GET", None);
    let allowed = pre.header("access-control-allow-headers").unwrap();
    assert!(allowed.contains("X-Apig-AppCode") && allowed.contains("X-Sdk-Date"));
    assert_eq!(
        backend.hits.load(SeqCst),
        before,
        "a preflight reached the backend"
    );

    // The call itself is proxied, authenticated as ever, and readable by the page.
    let ok = gw.call(&gw.https, "/cors/a", &[origin, ("X-Apig-AppCode", &code)]);
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["headers"]["origin"], "https://page.example");
    assert_eq!(ok.header("access-control-allow-origin"), Some("*"));
    let exposed = ok.header("access-control-expose-headers").unwrap();
    assert!(exposed.starts_with("X-Request-Id,"), "{exposed}");
    assert_eq!(backend.hits.load(SeqCst), before + 1);
    // So are the gateway's refusals: the page learns why.
    let refused = gw.call(&gw.https, "/cors/a", &[origin, ("X-Apig-AppCode", "wrong")]);
    assert_gateway_error(&refused, 401, "APIG.0303");
    assert_eq!(refused.header("access-control-allow-origin"), Some("*"));
    // A backend that does CORS itself is left to it.
    let own = gw.call(
        &gw.https,
        "/cors/a",
        &[
            origin,
            ("X-Apig-AppCode", &code),
            ("X-Echo-Allow-Origin", "https://page.example"),
        ],
    );
    assert_eq!(own.status, 200, "{}", own.text);
    let origins: Vec<_> = own
        .headers
        .get_all("access-control-allow-origin")
        .iter()
        .collect();
    assert_eq!(origins, ["https://page.example"]);
    assert!(own.header("access-control-expose-headers").is_none());

    // A preflight for a method the API does not serve finds no API (and no OPTIONS API).
    assert_gateway_error(&preflight("/cors/a", "DELETE", None), 404, "APIG.0101");
    // OPTIONS without Origin is no preflight: routed as OPTIONS, which no API serves.
    let not_preflight = send(
        &gw,
        "OPTIONS",
        &url("/cors/a"),
        &[("Access-Control-Request-Method", "GET")],
    );
    assert_gateway_error(&not_preflight, 404, "APIG.0101");

    // Without CORS: no preflight answer, no marks.
    let pre = preflight("/echo/a", "GET", None);
    assert_gateway_error(&pre, 404, "APIG.0101");
    assert!(pre.header("access-control-allow-origin").is_none());
    let plain = gw.call(&gw.https, "/echo/a", &[origin, ("X-Apig-AppCode", &code)]);
    assert_eq!(plain.status, 200, "{}", plain.text);
    assert!(plain.header("access-control-allow-origin").is_none());
    assert!(plain.header("access-control-expose-headers").is_none());

    // CORS turned off and the API published again: in force for the next preflight and call.
    body["cors"] = json!(false);
    let updated = gw.mgmt("PUT", &format!("/apis/{cors_api}"), Some(&body));
    assert_eq!(updated.status, 200, "{}", updated.text);
    let stored = gw.mgmt("GET", &format!("/apis/{cors_api}"), None);
    assert_eq!(stored.json["cors"], false, "{}", stored.text);
    gw.publish(&cors_api);
    assert_gateway_error(&preflight("/cors/a", "GET", None), 404, "APIG.0101");
    let ok = gw.call(&gw.https, "/cors/a", &[origin, ("X-Apig-AppCode", &code)]);
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(ok.header("access-control-allow-origin").is_none());
}

#[test]
fn plugins_shape_an_api_s_cors_answers_and_response_fields_from_the_next_call() {
    use std::sync::atomic::Ordering::SeqCst;
    let backend = EchoBackend::start();
    let gw = start();
    let api = gw.publish_echo_api(&backend);
    let (_, code) = gw.authorized_app("plugin_app", &api);
    let origin = ("Origin", "https://app.example");
    let appcode = ("X-Apig-AppCode", code.as_str());
    let url = format!("{}/echo/a", gw.https);
    let preflight = |from: &str| {
        send(
            &gw,
            "OPTIONS",
            &url,
            &[("Origin", from), ("Access-Control-Request-Method", "GET")],
        )
    };
    // Without plug-ins: no preflight answer, no CORS marks, the backend's fields as sent.
    assert_gateway_error(&preflight("https://app.example"), 404, "APIG.0101");
    let plain = gw.call(&gw.https, "/echo/a", &[origin, appcode]);
    assert_eq!(plain.status, 200, "{}", plain.text);
    assert!(plain.header("access-control-allow-origin").is_none());
    assert_eq!(plain.header("content-type"), Some("application/json"));

    let plugin = |body: Value| {
        let r = gw.mgmt("POST", "/plugins", Some(&body));
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["plugin_id"].as_str().unwrap().to_owned()
    };
    let cors = plugin(json!({"plugin_name": "web_cors", "plugin_type": "cors",
        "plugin_scope": "global", "plugin_content": json!({
            "allow_origin": "https://app.example,https://admin.example",
            "allow_methods": "GET,POST", "allow_headers": "X-Apig-AppCode,Content-Type",
            "expose_headers": "X-Request-Id,X-Custom", "max_age": 600,
            "allow_credentials": true}).to_string()}));
    // Two rules of one name are refused (which would win is not clear).
    let twice = gw.mgmt(
        "POST",
        "/plugins",
        Some(&json!({"plugin_name": "twice",
        "plugin_type": "set_resp_headers", "plugin_scope": "global",
        "plugin_content": json!({"response_headers": [
            {"name": "X-A", "value": "1", "action": "add"},
            {"name": "x-a", "value": "", "action": "delete"}]}).to_string()})),
    );
    twice.assert_error(400, "APIG.2011", None);
    let rules = plugin(
        json!({"plugin_name": "resp_fields", "plugin_type": "set_resp_headers",
        "plugin_scope": "global", "plugin_content": json!({"response_headers": [
            {"name": "Content-Type", "value": "application/vnd.shop+json", "action": "override"},
            {"name": "X-Custom", "value": "added", "action": "add"},
            {"name": "Cache-Control", "value": "no-store", "action": "skip"},
            {"name": "X-Trace", "value": "gw", "action": "append"}
        ]}).to_string()}),
    );
    let attached = gw.mgmt(
        "POST",
        &format!("/apis/{api}/plugins/attach"),
        Some(&json!({"env_id": RELEASE, "plugin_ids": [cors, rules]})),
    );
    assert_eq!(attached.status, 201, "{}", attached.text);

    // The preflight is the gateway's, with the plug-in's terms; the backend is not called.
    let before = backend.hits.load(SeqCst);
    let pre = preflight("https://app.example");
    assert_eq!(pre.status, 200, "{}", pre.text);
    assert_eq!(
        pre.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(pre.header("access-control-allow-methods"), Some("GET,POST"));
    assert_eq!(
        pre.header("access-control-allow-headers"),
        Some("X-Apig-AppCode,Content-Type")
    );
    assert_eq!(pre.header("access-control-max-age"), Some("600"));
    assert_eq!(pre.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(pre.header("vary"), Some("Origin"));
    assert_eq!(
        backend.hits.load(SeqCst),
        before,
        "a preflight reached the backend"
    );
    // An origin the plug-in does not allow gets no CORS field.
    let other = preflight("https://evil.example");
    assert_eq!(other.status, 200, "{}", other.text);
    assert!(other.header("access-control-allow-origin").is_none());
    assert!(other.header("access-control-allow-credentials").is_none());

    // The call: the rules rewrote the backend's fields, the CORS plug-in marked it.
    let ok = gw.call(
        &gw.https,
        "/echo/a",
        &[origin, appcode, ("X-Echo-Allow-Origin", "*")],
    );
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["headers"]["origin"], "https://app.example");
    let all = |r: &Reply, name: &str| -> Vec<String> {
        r.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(all(&ok, "content-type"), ["application/vnd.shop+json"]);
    assert_eq!(all(&ok, "x-custom"), ["added"]);
    assert_eq!(all(&ok, "cache-control"), ["no-store"]);
    assert_eq!(all(&ok, "x-trace"), ["gw"]);
    // The backend's own `*` gave way to the plug-in's answer for this origin.
    assert_eq!(
        all(&ok, "access-control-allow-origin"),
        ["https://app.example"]
    );
    assert_eq!(
        ok.header("access-control-expose-headers"),
        Some("X-Request-Id,X-Custom")
    );
    assert_eq!(ok.header("x-request-id").map(str::len), Some(32));
    // The gateway's refusals of the API get the same treatment.
    let refused = gw.call(&gw.https, "/echo/a", &[origin, ("X-Apig-AppCode", "wrong")]);
    assert_gateway_error(&refused, 401, "APIG.0303");
    assert_eq!(
        refused.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(all(&refused, "x-custom"), ["added"]);
    assert_eq!(all(&refused, "content-type"), ["application/vnd.shop+json"]);

    // A new content is in force for the next call, without publishing again: the backend's
    // value and the rule's in one field, then the field deleted.
    let replace = |rule: Value| {
        let content = json!({"response_headers": [rule]}).to_string();
        let body = json!({"plugin_name": "resp_fields", "plugin_type": "set_resp_headers",
            "plugin_scope": "global", "plugin_content": content});
        let replaced = gw.mgmt("PUT", &format!("/plugins/{rules}"), Some(&body));
        assert_eq!(replaced.status, 200, "{}", replaced.text);
    };
    replace(json!({"name": "Content-Type", "value": "v=2", "action": "append"}));
    let ok = gw.call(&gw.https, "/echo/a", &[origin, appcode]);
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(all(&ok, "content-type"), ["application/json,v=2"]);
    assert!(ok.header("x-custom").is_none());
    replace(json!({"name": "Content-Type", "value": "", "action": "delete"}));
    let ok = gw.call(&gw.https, "/echo/a", &[origin, appcode]);
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(ok.header("content-type").is_none(), "{:?}", ok.headers);

    // Detached: the API is as it was.
    let detached = gw.mgmt(
        "PUT",
        &format!("/apis/{api}/plugins/detach"),
        Some(&json!({"env_id": RELEASE, "plugin_ids": [cors, rules]})),
    );
    assert_eq!(detached.status, 204, "{}", detached.text);
    assert_gateway_error(&preflight("https://app.example"), 404, "APIG.0101");
    let plain = gw.call(&gw.https, "/echo/a", &[origin, appcode]);
    assert_eq!(plain.status, 200, "{}", plain.text);
    assert!(plain.header("access-control-allow-origin").is_none());
    assert_eq!(plain.header("content-type"), Some("application/json"));
}

#[test]
fn a_mock_api_is_answered_by_the_gateway_with_its_content() {
    let gw = start();
    let group = gw.default_group();
    let api_count = || {
        gw.mgmt("GET", "/apis", None).json["total"]
            .as_u64()
            .unwrap()
    };
    let mut body = json!({
        "group_id": group, "name": "mocked_api", "type": 1, "req_protocol": "BOTH",
        "req_method": "GET", "req_uri": "/mocked", "auth_type": "APP",
        "auth_opt": {"app_code_auth_type": "HEADER"}, "backend_type": "MOCK",
        "mock_info": {"result_content": "{\"hello\":\"mock\"}", "version": "v1", "remark": "stand-in"}
    });
    let created = gw.mgmt("POST", "/apis", Some(&body));
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["backend_type"], "MOCK");
    let mock = &created.json["mock_info"];
    assert_eq!(mock["result_content"], "{\"hello\":\"mock\"}");
    assert_eq!(
        (&mock["version"], &mock["remark"]),
        (&json!("v1"), &json!("stand-in"))
    );
    assert_eq!(
        mock["id"].as_str().map(str::len),
        Some(32),
        "{}",
        created.text
    );
    assert_eq!(mock["status"], 1);
    assert!(
        created.json.get("backend_api").is_none(),
        "{}",
        created.text
    );
    let api_id = created.json["id"].as_str().unwrap().to_owned();
    let shown = gw.mgmt("GET", &format!("/apis/{api_id}"), None);
    assert_eq!(
        shown.json["mock_info"]["result_content"],
        "{\"hello\":\"mock\"}"
    );
    assert_eq!(shown.json["mock_info"]["id"], mock["id"]);
    gw.publish(&api_id);
    let (_, code) = gw.authorized_app("mock_caller", &api_id);

    // The gateway answers itself, after authenticating and authorizing as for any API.
    let ok = gw.call(&gw.https, "/mocked", &[("X-Apig-AppCode", &code)]);
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.text, "{\"hello\":\"mock\"}");
    assert_eq!(ok.header("content-type"), Some("application/json"));
    assert_eq!(ok.header("x-request-id").map(str::len), Some(32));
    assert_gateway_error(&gw.call(&gw.https, "/mocked", &[]), 401, "APIG.0303");
    // New content, published again: answered from the next call on.
    body["mock_info"] = json!({"result_content": "plain text"});
    let updated = gw.mgmt("PUT", &format!("/apis/{api_id}"), Some(&body));
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(
        updated.json["mock_info"]["id"], mock["id"],
        "{}",
        updated.text
    );
    gw.publish(&api_id);
    let ok = gw.call(&gw.https, "/mocked", &[("X-Apig-AppCode", &code)]);
    assert_eq!(ok.text, "plain text");

    // What a mock cannot have is refused and nothing is stored.
    let before = api_count();
    let mut bad = body.clone();
    bad["name"] = json!("bad_mock");
    bad["req_uri"] = json!("/bad");
    for (field, value, named) in [
        (
            "backend_api",
            json!({"url_domain": "127.0.0.1:1", "req_protocol": "HTTP",
                               "req_method": "GET", "req_uri": "/", "timeout": 100}),
            "backend_api",
        ),
        (
            "backend_params",
            json!([{"name": "h", "value": "v", "location": "HEADER",
                                   "origin": "CONSTANT"}]),
            "backend_params",
        ),
        ("backend_type", json!("FUNCTION"), "backend_type"),
        (
            "mock_info",
            json!({"result_content": "x".repeat(65_537)}),
            "mock_info.result_content",
        ),
    ] {
        let mut b = bad.clone();
        b[field] = value;
        let r = gw.mgmt("POST", "/apis", Some(&b));
        r.assert_error(400, "APIG.2011", Some(&invalid(named)));
    }
    assert_eq!(api_count(), before);

    // APIG's recipe for preflights: an OPTIONS mock API with CORS at `/` (prefix match)
    // answers every preflight of the group, and plain OPTIONS calls with its content.
    let options = gw.mgmt(
        "POST",
        "/apis",
        Some(&json!({
            "group_id": group, "name": "preflights", "type": 1, "req_protocol": "BOTH",
            "req_method": "OPTIONS", "req_uri": "/", "match_mode": "SWA", "auth_type": "NONE",
            "cors": true, "backend_type": "MOCK", "mock_info": {"result_content": "{}"}
        })),
    );
    assert_eq!(options.status, 201, "{}", options.text);
    gw.publish(options.json["id"].as_str().unwrap());
    let pre = send(
        &gw,
        "OPTIONS",
        &format!("{}/anything/here", gw.https),
        &[
            ("Origin", "https://page.example"),
            ("Access-Control-Request-Method", "PUT"),
        ],
    );
    assert_eq!(pre.status, 200, "{}", pre.text);
    assert_eq!(pre.header("access-control-allow-origin"), Some("*"));
    assert_eq!(pre.header("access-control-max-age"), Some("172800"));
    let plain = send(&gw, "OPTIONS", &format!("{}/anything", gw.https), &[]);
    assert_eq!((plain.status, plain.text.as_str()), (200, "{}"));
    assert_eq!(plain.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn declared_request_parameters_are_enforced_and_their_defaults_reach_the_backend() {
    use std::sync::atomic::Ordering::SeqCst;
    let backend = EchoBackend::start();
    let gw = start();
    let group = gw.default_group();
    let mut body = echo_api_body(&group, "orders_api", backend.port);
    body["req_uri"] = json!("/orders/{id}");
    body["req_params"] = json!([
        {"name": "id", "location": "PATH", "type": "NUMBER", "required": 1},
        {"name": "lang", "location": "QUERY", "type": "STRING", "required": 1},
        {"name": "page", "location": "QUERY", "type": "NUMBER", "required": 2, "default_value": "1"},
        {"name": "X-Tenant", "location": "HEADER", "type": "STRING", "required": 1},
        // Rules checked with valid_enable 1 only.
        {"name": "sort", "location": "QUERY", "valid_enable": 1, "enumerations": "asc,desc"},
        {"name": "size", "location": "QUERY", "type": "NUMBER", "valid_enable": 1,
         "min_num": 1, "max_num": 50},
        {"name": "X-Code", "location": "HEADER", "valid_enable": 1, "min_size": 2, "max_size": 4},
        {"name": "loose", "location": "QUERY", "valid_enable": 2, "enumerations": "a,b"},
        // For the gateway only (pass_through 2): withheld, though a backend parameter maps one.
        {"name": "trace", "location": "QUERY", "pass_through": 2},
        {"name": "X-Hint", "location": "HEADER", "pass_through": 2}
    ]);
    body["backend_api"]["req_uri"] = json!("/backend/{id}");
    body["backend_params"] = json!([
        {"name": "id", "value": "id", "location": "PATH", "origin": "REQUEST"},
        {"name": "page", "value": "page", "location": "QUERY", "origin": "REQUEST"},
        {"name": "X-Tenant-Id", "value": "X-Tenant", "location": "HEADER", "origin": "REQUEST"},
        {"name": "X-Backend-Hint", "value": "X-Hint", "location": "HEADER", "origin": "REQUEST"}
    ]);
    let created = gw.mgmt("POST", "/apis", Some(&body));
    assert_eq!(created.status, 201, "{}", created.text);
    let api_id = created.json["id"].as_str().unwrap().to_owned();
    gw.publish(&api_id);
    let (app_id, code) = gw.authorized_app("orders_app", &api_id);
    // One call a minute: a refused request must not spend it.
    gw.bound_quota(
        json!({"name": "one_per_minute", "call_limits": 1, "time_unit": "MINUTE",
               "time_interval": 1}),
        &app_id,
    );
    let call_with = |path: &str, tenant: Option<&str>, x_code: Option<&str>| {
        let mut headers = vec![("X-Apig-AppCode", code.as_str()), ("X-Hint", "h1")];
        if let Some(tenant) = tenant {
            headers.push(("X-Tenant", tenant));
        }
        if let Some(x_code) = x_code {
            headers.push(("X-Code", x_code));
        }
        gw.call(&gw.https, path, &headers)
    };
    let call = |path: &str, tenant: Option<&str>| call_with(path, tenant, None);

    let hits = backend.hits.load(SeqCst);
    for (path, tenant) in [
        ("/orders/7?lang=en", None),                // required header missing
        ("/orders/7?lang=en", Some("")),            // ... or empty
        ("/orders/7", Some("t1")),                  // required query parameter missing
        ("/orders/7?lang=", Some("t1")),            // ... or empty
        ("/orders/seven?lang=en", Some("t1")),      // a NUMBER path parameter that is not one
        ("/orders/7?lang=en&page=two", Some("t1")), // an optional NUMBER sent, not a number
        ("/orders/7?lang=en&sort=up", Some("t1")),  // not among the enumerations
        ("/orders/7?lang=en&size=51", Some("t1")),  // above max_num
        ("/orders/7?lang=en&size=0", Some("t1")),   // below min_num
    ] {
        let refused = call(path, tenant);
        assert_gateway_error(&refused, 400, "APIG.0106");
        assert_eq!(refused.json["error_msg"], "Orchestration error.", "{path}");
    }
    for x_code in ["x", "abcde"] {
        let refused = call_with("/orders/7?lang=en", Some("t1"), Some(x_code));
        assert_gateway_error(&refused, 400, "APIG.0106");
    }
    assert_eq!(
        backend.hits.load(SeqCst),
        hits,
        "a refused request reached the backend"
    );
    // Credentials are checked first: a stranger learns nothing about the parameters.
    let stranger = gw.call(&gw.https, "/orders/7", &[("X-Apig-AppCode", "wrong")]);
    assert_gateway_error(&stranger, 401, "APIG.0303");

    // Complete: proxied, the omitted page taken from its default, the quota's one call spent.
    // (The rules of `loose` are not enforced: valid_enable 2.)
    let ok = call_with(
        "/orders/7?lang=en&sort=desc&size=50&loose=z&trace=on",
        Some("t1"),
        Some("abcd"),
    );
    assert_eq!(ok.status, 200, "{}", ok.text);
    let path = ok.json["path"].as_str().unwrap();
    assert!(path.starts_with("/backend/7?"), "{path}");
    assert!(path.contains("page=1"), "{path}");
    assert_eq!(ok.json["headers"]["x-tenant-id"], "t1");
    assert!(
        path.contains("loose=z") && !path.contains("trace"),
        "{path}"
    );
    assert!(ok.json["headers"].get("x-hint").is_none(), "{}", ok.text);
    assert_eq!(ok.json["headers"]["x-backend-hint"], "h1");
    assert_gateway_error(&call("/orders/7?lang=en", Some("t1")), 405, "APIG.0501");
}

#[test]
fn request_body_size_sets_the_instance_s_own_body_limit() {
    let backend = EchoBackend::start();
    let gw = start();
    let mut body = echo_api_body(&gw.default_group(), "upload_api", backend.port);
    body["req_method"] = json!("POST");
    body["req_uri"] = json!("/upload/{name}");
    body["auth_type"] = json!("NONE");
    body["auth_opt"] = json!({"app_code_auth_type": "DISABLE"});
    body["backend_api"]["req_method"] = json!("POST");
    let created = gw.mgmt("POST", "/apis", Some(&body));
    assert_eq!(created.status, 201, "{}", created.text);
    gw.publish(created.json["id"].as_str().unwrap());
    // Plain HTTP/1.1: a body the gateway refuses half-way is still taken in by the sockets'
    // buffers when it is little over the limit, so the client reads the 413 (over HTTP/2 the
    // refused stream is reset while the client still sends).
    let url = format!("{}/upload/file", gw.http);
    const MB: usize = 1024 * 1024;
    // Declared length (Content-Length), or streamed in chunks of unknown total.
    let post = |len: usize| Reply::from(gw.client.post(&url).body(vec![b'a'; len]).send().unwrap());
    let stream = |len: usize| {
        let body = reqwest::blocking::Body::new(std::io::Cursor::new(vec![b'a'; len]));
        Reply::from(gw.client.post(&url).body(body).send().unwrap())
    };
    let echoed = |r: &Reply| r.json["body"].as_str().map(str::len);
    let configure = |enable: bool, config: Option<&str>| {
        let mut feature = json!({"name": "request_body_size", "enable": enable});
        if let Some(config) = config {
            feature["config"] = json!(config);
        }
        gw.mgmt("POST", "/features", Some(&feature))
    };

    // The node's 12 MB by default.
    let r = post(MB + MB / 2);
    assert_eq!(
        (r.status, echoed(&r)),
        (200, Some(MB + MB / 2)),
        "{}",
        r.text
    );

    // 1 MB for this instance: larger bodies refused, declared or streamed.
    let set = configure(true, Some("1048576"));
    assert_eq!(set.status, 201, "{}", set.text);
    assert_eq!(set.json["config"], "1048576");
    for refused in [post(MB + 1), stream(MB + 1000)] {
        assert_gateway_error(&refused, 413, "APIG.0201");
        assert_eq!(refused.json["error_msg"], "Request entity too large.");
    }
    let r = post(MB);
    assert_eq!((r.status, echoed(&r)), (200, Some(MB)), "{}", r.text);

    // 20 MB: above the node's own limit.
    configure(true, Some("20971520"));
    let r = post(13 * MB);
    assert_eq!((r.status, echoed(&r)), (200, Some(13 * MB)), "{}", r.text);
    // Off: the node's limit again.
    configure(false, Some("20971520"));
    assert_gateway_error(&post(13 * MB), 413, "APIG.0201");

    // APIG's range is 1 MB to 9,536 MB, in bytes; nothing else is stored.
    for bad in ["1048575", "12M", "on", "10000000000000"] {
        configure(true, Some(bad)).assert_error(400, "APIG.2011", Some(&invalid("config")));
    }
    let listed = gw.mgmt("GET", "/features", None);
    assert_eq!(
        listed.json["features"][0]["config"], "20971520",
        "{}",
        listed.text
    );
}

#[test]
fn backend_timeout_caps_every_backend_timeout_of_the_instance() {
    let gw = start();
    let port = scripted_backend(0, std::time::Duration::from_millis(700));
    let mut body = echo_api_body(&gw.default_group(), "slow_api", port);
    body["req_uri"] = json!("/slow/{name}");
    body["auth_type"] = json!("NONE");
    body["auth_opt"] = json!({"app_code_auth_type": "DISABLE"});
    body["backend_api"]["timeout"] = json!(10_000);
    let created = gw.mgmt("POST", "/apis", Some(&body));
    assert_eq!(created.status, 201, "{}", created.text);
    gw.publish(created.json["id"].as_str().unwrap());
    let call = || gw.call(&gw.http, "/slow/x", &[]);
    let configure = |enable: bool, config: &str| {
        let r = gw.mgmt(
            "POST",
            "/features",
            Some(&json!({"name": "backend_timeout", "enable": enable, "config": config})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r
    };

    // The API's own 10 s: the backend's answer after 0.7 s arrives.
    let ok = call();
    assert_eq!((ok.status, ok.text.as_str()), (200, "answered"));
    // Capped at 0.3 s for every API of the instance.
    let set = configure(true, r#"{"max_timeout": 300}"#);
    assert_eq!(set.json["config"], r#"{"max_timeout":300}"#);
    assert_gateway_error(&call(), 504, "APIG.0203");
    // A cap above the API's own timeout changes nothing; off, the API's own again.
    configure(true, r#"{"max_timeout": 600000}"#);
    assert_eq!(call().status, 200);
    configure(false, r#"{"max_timeout": 300}"#);
    assert_eq!(call().status, 200);
    let refused = gw.mgmt(
        "POST",
        "/features",
        Some(&json!({"name": "backend_timeout", "enable": true, "config": "{\"max_timeout\": 0}"})),
    );
    refused.assert_error(400, "APIG.2011", Some(&invalid("config")));
}

#[test]
fn throttling_counts_of_long_windows_survive_a_restart_and_a_crash() {
    let backend = EchoBackend::start();
    let checkpoints = || {
        Opts::default()
            .arg("--throttle-checkpoint-interval")
            .arg("200ms")
    };
    let gw = start_with(checkpoints());
    let api_id = gw.publish_echo_api(&backend);
    let (_, code) = gw.authorized_app("kept_counts", &api_id);
    let publish_id = gw.publish_id(&api_id);
    let policy = gw.mgmt(
        "POST",
        "/throttles",
        Some(
            &json!({"name": "per_hour", "api_call_limits": 6, "app_call_limits": 4,
            "time_interval": 1, "time_unit": "HOUR"}),
        ),
    );
    assert_eq!(policy.status, 201, "{}", policy.text);
    away_from_window_end(3_600_000, 30_000);
    let bound = gw.mgmt(
        "POST",
        "/throttle-bindings",
        Some(&json!({"strategy_id": policy.json["id"], "publish_ids": [publish_id]})),
    );
    assert_eq!(bound.status, 201, "{}", bound.text);
    let call = |gw: &Gw, api_left: u32, app_left: u32| {
        let headers = [("X-Apig-AppCode", code.as_str()), ("X-Apig-Mode", "debug")];
        let r = gw.call(&gw.https, "/echo/kept", &headers);
        assert_eq!(r.status, 200, "{}", r.text);
        let api = format!("remain:{api_left},limit:6,time:1 hour");
        assert_eq!(r.header("x-apig-ratelimit-api"), Some(api.as_str()));
        let app = format!("remain:{app_left},limit:4,time:1 hour");
        assert_eq!(r.header("x-apig-ratelimit-app"), Some(app.as_str()));
    };
    call(&gw, 5, 3);
    call(&gw, 4, 2);

    // A graceful stop saves the counts; the restarted node carries them on.
    let mut gw = gw;
    let dir = gw.server.keep_dir();
    assert_eq!(gw.server.terminate(), Some(0));
    let mut gw = serve_gateway(Some(dir.path()), checkpoints());
    call(&gw, 3, 1);

    // A crash loses at most the calls since the last checkpoint (every 200 ms here).
    let started = std::time::Instant::now();
    while db_scalar(
        &gw.server,
        "SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) FROM throttle_counts WHERE caller = 'api'",
    ) != 3
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "never checkpointed"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    gw.server.kill();
    let gw = serve_gateway(Some(dir.path()), checkpoints());
    call(&gw, 2, 0);
    let refused = gw.call(
        &gw.https,
        "/echo/kept",
        &[("X-Apig-AppCode", code.as_str())],
    );
    assert_gateway_error(&refused, 429, "APIG.0308");
}

#[test]
fn request_throttling_policies_limit_calls_per_api_user_app_and_address() {
    let backend = EchoBackend::start();
    let gw = start();
    let api_id = gw.publish_echo_api(&backend);
    let (a, code_a) = gw.authorized_app("throttled_a", &api_id);
    let (_, code_b) = gw.authorized_app("throttled_b", &api_id);
    let (_, code_c) = gw.authorized_app("throttled_c", &api_id);
    let publish_id = gw.publish_id(&api_id);
    let policy = gw.mgmt(
        "POST",
        "/throttles",
        Some(
            &json!({"name": "per_hour", "api_call_limits": 10, "user_call_limits": 6,
            "app_call_limits": 2, "time_interval": 1, "time_unit": "HOUR"}),
        ),
    );
    assert_eq!(policy.status, 201, "{}", policy.text);
    let policy_id = policy.json["id"].as_str().unwrap().to_owned();
    away_from_window_end(3_600_000, 30_000);
    let bound = gw.mgmt(
        "POST",
        "/throttle-bindings",
        Some(&json!({"strategy_id": policy_id, "publish_ids": [publish_id]})),
    );
    assert_eq!(bound.status, 201, "{}", bound.text);
    let binding_id = bound.json["throttle_applys"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let call = |code: &str| {
        gw.call(
            &gw.https,
            "/echo/t",
            &[("X-Apig-AppCode", code), ("X-Apig-Mode", "debug")],
        )
    };
    let hits = || backend.hits.load(std::sync::atomic::Ordering::SeqCst);

    // App a: two calls per hour, with what is left of each limit in debugging headers.
    for (api_left, app_left) in [(9, 1), (8, 0)] {
        let ok = call(&code_a);
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(
            ok.header("x-apig-ratelimit-api"),
            Some(format!("remain:{api_left},limit:10,time:1 hour").as_str())
        );
        assert_eq!(
            ok.header("x-apig-ratelimit-app"),
            Some(format!("remain:{app_left},limit:2,time:1 hour").as_str())
        );
        assert_eq!(
            ok.header("x-apig-ratelimit-user"),
            Some(format!("remain:{},limit:6,time:1 hour", 6 - (10 - api_left)).as_str())
        );
        assert_eq!(ok.header("x-apig-ratelimit-ip"), None);
    }
    let before = hits();
    let refused = call(&code_a);
    assert_gateway_error(&refused, 429, "APIG.0308");
    assert_eq!(
        refused.json["error_msg"],
        "The throttling threshold has been reached."
    );
    assert_eq!(
        refused.header("x-apig-ratelimit-app"),
        Some("remain:0,limit:2,time:1 hour")
    );
    assert_eq!(hits(), before, "a throttled call never reaches the backend");
    // Without the debugging mode, no such headers.
    let plain = gw.call(&gw.https, "/echo/t", &[("X-Apig-AppCode", code_b.as_str())]);
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("x-apig-ratelimit-api"), None);
    assert_eq!(call(&code_b).status, 200);

    // The user (the tenant owning every app) has made 4 of its 6 calls; app c makes two more.
    assert_eq!(call(&code_c).status, 200);
    assert_eq!(call(&code_c).status, 200);
    let user_refused = call(&code_b);
    assert_gateway_error(&user_refused, 429, "APIG.0308");
    assert_eq!(
        user_refused.header("x-apig-ratelimit-user"),
        Some("remain:0,limit:6,time:1 hour")
    );

    // Exceptions: the tenant gets 8 calls, app a 3; in force for the next call, and the calls
    // already counted in this window still count.
    let specials = format!("/throttles/{policy_id}/throttle-specials");
    let user_special = gw.mgmt(
        "POST",
        &specials,
        Some(&json!({"object_type": "USER", "object_id": gw.admin.project_id, "call_limits": 8})),
    );
    assert_eq!(user_special.status, 201, "{}", user_special.text);
    let app_special = gw.mgmt(
        "POST",
        &specials,
        Some(&json!({"object_type": "APP", "object_id": a, "call_limits": 3})),
    );
    assert_eq!(app_special.status, 201, "{}", app_special.text);
    let ok = call(&code_a);
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(
        ok.header("x-apig-ratelimit-app"),
        Some("remain:0,limit:3,time:1 hour")
    );
    assert_eq!(
        ok.header("x-apig-ratelimit-user"),
        Some("remain:1,limit:8,time:1 hour")
    );
    assert_gateway_error(&call(&code_a), 429, "APIG.0308");
    assert_eq!(call(&code_c).status, 429, "app c is at its limit of 2");

    // A throttling refusal comes after authentication: a wrong AppCode is still a 401.
    assert_gateway_error(&call("0".repeat(64).as_str()), 401, "APIG.0303");

    // Unbound, the API is no longer throttled.
    let unbound = gw.mgmt("DELETE", &format!("/throttle-bindings/{binding_id}"), None);
    assert_eq!(unbound.status, 204, "{}", unbound.text);
    for _ in 0..3 {
        let ok = call(&code_a);
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(ok.header("x-apig-ratelimit-api"), None);
    }

    // An address limit (every call here comes from 127.0.0.1), bound anew: fresh counters.
    // (The tenant's exception of 8 would exceed the new API limit: it goes first.)
    let user_special_id = user_special.json["id"].as_str().unwrap();
    let dropped = gw.mgmt("DELETE", &format!("{specials}/{user_special_id}"), None);
    assert_eq!(dropped.status, 204, "{}", dropped.text);
    let replaced = gw.mgmt(
        "PUT",
        &format!("/throttles/{policy_id}"),
        Some(
            &json!({"name": "per_hour", "api_call_limits": 3, "ip_call_limits": 2,
            "time_interval": 1, "time_unit": "HOUR"}),
        ),
    );
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    let bound = gw.mgmt(
        "POST",
        "/throttle-bindings",
        Some(&json!({"strategy_id": policy_id, "publish_ids": [publish_id]})),
    );
    assert_eq!(bound.status, 201, "{}", bound.text);
    for ip_left in [1, 0] {
        let ok = call(&code_b);
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(
            ok.header("x-apig-ratelimit-ip"),
            Some(format!("remain:{ip_left},limit:2,time:1 hour").as_str())
        );
        assert_eq!(ok.header("x-apig-ratelimit-user"), None);
    }
    let ip_refused = call(&code_c);
    assert_gateway_error(&ip_refused, 429, "APIG.0308");
    assert_eq!(
        ip_refused.header("x-apig-ratelimit-ip"),
        Some("remain:0,limit:2,time:1 hour")
    );
    // The refused call counted nowhere: with the address limit raised, the API has one call
    // left (3 − 2), and a policy change keeps the window's counts.
    let raised = gw.mgmt(
        "PUT",
        &format!("/throttles/{policy_id}"),
        Some(
            &json!({"name": "per_hour", "api_call_limits": 3, "ip_call_limits": 3,
            "time_interval": 1, "time_unit": "HOUR"}),
        ),
    );
    assert_eq!(raised.status, 200, "{}", raised.text);
    let last = call(&code_c);
    assert_eq!(last.status, 200, "{}", last.text);
    assert_eq!(
        last.header("x-apig-ratelimit-api"),
        Some("remain:0,limit:3,time:1 hour")
    );
    assert_gateway_error(&call(&code_a), 429, "APIG.0308");

    // Taken offline and published again, the API keeps its policy (with fresh counters: an
    // API offline is not served, its counters are not kept).
    let offline = gw.mgmt(
        "POST",
        "/apis/action",
        Some(&json!({"action": "offline", "api_id": api_id, "env_id": RELEASE})),
    );
    assert_eq!(offline.status, 201, "{}", offline.text);
    assert_gateway_error(&call(&code_a), 404, "APIG.0101");
    gw.publish(&api_id);
    let back = call(&code_a);
    assert_eq!(back.status, 200, "{}", back.text);
    assert_eq!(
        back.header("x-apig-ratelimit-api"),
        Some("remain:2,limit:3,time:1 hour")
    );
}

#[test]
fn a_rate_limit_plugin_throttles_by_its_rules_in_place_of_the_api_s_policy() {
    let backend = EchoBackend::start();
    let gw = start();
    let api_id = gw.publish_echo_api(&backend);
    let (_, code_a) = gw.authorized_app("limited_a", &api_id);
    let (b, code_b) = gw.authorized_app("limited_b", &api_id);
    let hits = || backend.hits.load(std::sync::atomic::Ordering::SeqCst);
    let call = |code: &str, target: &str, tier: Option<&str>| {
        let mut headers = vec![("X-Apig-AppCode", code), ("X-Apig-Mode", "debug")];
        headers.extend(tier.map(|t| ("X-Tier", t)));
        gw.call(&gw.https, target, &headers)
    };
    let api_field = |r: &Reply| r.header("x-apig-ratelimit-api").map(str::to_owned);
    // A request throttling policy of one call an hour, used up.
    let policy = gw.mgmt(
        "POST",
        "/throttles",
        Some(&json!({"name": "one_an_hour", "api_call_limits": 1, "time_interval": 1, "time_unit": "HOUR"})),
    );
    assert_eq!(policy.status, 201, "{}", policy.text);
    away_from_window_end(3_600_000, 30_000);
    let bound = gw.mgmt(
        "POST",
        "/throttle-bindings",
        Some(&json!({"strategy_id": policy.json["id"], "publish_ids": [gw.publish_id(&api_id)]})),
    );
    assert_eq!(bound.status, 201, "{}", bound.text);
    assert_eq!(call(&code_a, "/echo/p", None).status, 200);
    assert_gateway_error(&call(&code_a, "/echo/p", None), 429, "APIG.0308");

    // The plug-in: 4 calls an hour, 3 per app (1 for app b), and 2 an hour for the gold tier
    // in Europe or America, whatever the API limit says.
    let content = json!({
        "scope": "basic", "api_limit": 4, "app_limit": 3,
        "default_interval": 1, "default_time_unit": "hour",
        "specials": [{"type": "app", "policies": [{"key": b, "limit": 1}]}],
        "parameters": [
            {"type": "header", "name": "tier", "value": "X-Tier"},
            {"type": "query", "name": "region", "value": "region"}
        ],
        "rules": [{"rule_name": "gold", "limit": 2, "interval": 1, "time_unit": "hour",
                   "match_regex": json!(["AND", ["tier", "==", "gold"], ["region", "in", "eu,us"]]).to_string()}]
    });
    let made = gw.create_plugin("limits", "rate_limit", &content);
    let plugin_id = made.json["plugin_id"].as_str().unwrap().to_owned();
    let shown: Value = serde_json::from_str(made.json["plugin_content"].as_str().unwrap()).unwrap();
    assert_eq!(
        shown["rules"][0]["match_regex"],
        "[\"AND\",[\"tier\",\"==\",\"gold\"],[\"region\",\"in\",\"eu,us\"]]"
    );
    assert_eq!(shown["parameters"][0]["value"], "x-tier");
    assert_eq!(shown["ip_limit"], 0);
    let attach = gw.attach_plugin(&api_id, &plugin_id);

    // The policy is no longer in force: the plug-in's limits are.
    let plain = call(&code_a, "/echo/p", None);
    assert_eq!(plain.status, 200, "{}", plain.text);
    assert_eq!(
        api_field(&plain).as_deref(),
        Some("remain:3,limit:4,time:1 hour")
    );
    assert_eq!(
        plain.header("x-apig-ratelimit-app"),
        Some("remain:2,limit:3,time:1 hour")
    );
    // The rule takes the gold tier's calls from Europe and America, apps a and b together.
    let gold = call(&code_a, "/echo/p?region=eu", Some("gold"));
    assert_eq!(gold.status, 200, "{}", gold.text);
    assert_eq!(
        api_field(&gold).as_deref(),
        Some("remain:1,limit:2,time:1 hour")
    );
    let gold_b = call(&code_b, "/echo/p?region=us", Some("gold"));
    assert_eq!(gold_b.status, 200, "{}", gold_b.text);
    assert_eq!(
        api_field(&gold_b).as_deref(),
        Some("remain:0,limit:2,time:1 hour")
    );
    assert_eq!(
        gold_b.header("x-apig-ratelimit-app"),
        Some("remain:0,limit:1,time:1 hour")
    );
    let before = hits();
    let refused = call(&code_a, "/echo/p?region=eu", Some("gold"));
    assert_gateway_error(&refused, 429, "APIG.0308");
    assert_eq!(
        api_field(&refused).as_deref(),
        Some("remain:0,limit:2,time:1 hour")
    );
    assert_eq!(hits(), before, "a throttled call never reaches the backend");
    // Another region is not the rule's: it counts against the API limit.
    let asia = call(&code_a, "/echo/p?region=asia", Some("gold"));
    assert_eq!(asia.status, 200, "{}", asia.text);
    assert_eq!(
        api_field(&asia).as_deref(),
        Some("remain:2,limit:4,time:1 hour")
    );
    // App b's own limit (1) and app a's (3) are used up.
    let b_refused = call(&code_b, "/echo/p", None);
    assert_gateway_error(&b_refused, 429, "APIG.0308");
    assert_eq!(
        b_refused.header("x-apig-ratelimit-app"),
        Some("remain:0,limit:1,time:1 hour")
    );
    assert_gateway_error(&call(&code_a, "/echo/p", None), 429, "APIG.0308");

    // A new content is in force for the next call, on the same counters: no API limit, 100
    // calls an hour from one address (counted from this call on: no address limit was set).
    let replaced = gw.mgmt(
        "PUT",
        &format!("/plugins/{plugin_id}"),
        Some(&json!({"plugin_name": "limits", "plugin_type": "rate_limit", "plugin_scope": "global",
                     "plugin_content": json!({"api_limit": -1, "ip_limit": 100, "default_time_unit": "hour"}).to_string()})),
    );
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    let open = call(&code_a, "/echo/p", None);
    assert_eq!(open.status, 200, "{}", open.text);
    assert_eq!(api_field(&open), None);
    assert_eq!(
        open.header("x-apig-ratelimit-ip"),
        Some("remain:99,limit:100,time:1 hour")
    );

    // Detached: the policy is in force again.
    let detached = gw.mgmt(
        "PUT",
        &format!("/apis/{api_id}/plugins/detach"),
        Some(&attach),
    );
    assert_eq!(detached.status, 204, "{}", detached.text);
    let again = call(&code_a, "/echo/p", None);
    assert!(again.status == 200 || again.status == 429, "{}", again.text);
    let refused = call(&code_a, "/echo/p", None);
    assert_gateway_error(&refused, 429, "APIG.0308");
    assert_eq!(
        api_field(&refused).as_deref(),
        Some("remain:0,limit:1,time:1 hour")
    );
}

#[test]
fn a_breaker_plugin_opens_on_unhealthy_answers_and_downgrades_until_it_closes() {
    let backend = EchoBackend::start();
    let fallback = EchoBackend::start();
    let gw = start();
    let api_id = gw.publish_echo_api(&backend);
    let (_, code) = gw.authorized_app("guarded", &api_id);
    let hits = |b: &EchoBackend| b.hits.load(std::sync::atomic::Ordering::SeqCst);
    // `X-Echo-Status` makes the backend answer with that status.
    let call = |target: &str, status: Option<&str>| {
        let mut headers = vec![("X-Apig-AppCode", code.as_str())];
        headers.extend(status.map(|s| ("X-Echo-Status", s)));
        gw.call(&gw.https, target, &headers)
    };
    // Two answers of 500 or 503 in a minute open the breaker for two seconds; an open
    // breaker answers with a fixed body. The gold tier has a breaker of its own, which sends
    // calls to another backend while open.
    let content = json!({
        "scope": "basic",
        "breaker_condition": {"breaker_type": "condition", "breaker_mode": "counter",
            "unhealthy_condition": json!(["$context.statusCode", "in", "500,503"]).to_string(),
            "unhealthy_threshold": 2, "time_window": 60, "open_breaker_time": 2},
        "downgrade_default": {"type": "mock", "mock_info": {"status_code": 200,
            "result_content": "{\"degraded\":true}", "headers": [{"key": "X-Degraded", "value": "yes"}]}},
        "downgrade_parameters": [{"type": "query", "name": "tier", "value": "tier"}],
        "downgrade_rules": [{"rule_name": "gold", "parameters": ["tier"],
            "match_regex": json!(["tier", "==", "gold"]).to_string(),
            "downgrade_backend": {"type": "http", "http_info": {"isVpc": false,
                "address": format!("127.0.0.1:{}", fallback.port), "scheme": "HTTP",
                "method": "GET", "path": "/fallback", "timeout": 5000}}}]
    });
    let made = gw.create_plugin("guard", "breaker", &content);
    let plugin_id = made.json["plugin_id"].as_str().unwrap().to_owned();
    // Stored and shown in canonical form, defaults filled in.
    let shown = gw.mgmt("GET", &format!("/plugins/{plugin_id}"), None);
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(shown.json["plugin_type"], "breaker");
    let stored: Value =
        serde_json::from_str(shown.json["plugin_content"].as_str().unwrap()).unwrap();
    assert_eq!(
        stored["breaker_condition"]["unhealthy_condition"],
        "[\"$context.statusCode\",\"in\",\"500,503\"]"
    );
    assert_eq!(stored["breaker_condition"]["min_call_threshold"], 0);
    assert_eq!(
        stored["downgrade_rules"][0]["breaker_condition"],
        Value::Null
    );
    assert_eq!(
        stored["downgrade_rules"][0]["downgrade_backend"]["http_info"]["path"],
        "/fallback"
    );
    assert_eq!(
        stored["downgrade_default"]["mock_info"]["headers"][0],
        json!({"key": "x-degraded", "value": "yes"})
    );
    let attach = gw.attach_plugin(&api_id, &plugin_id);

    // Closed: calls reach the backend, its own answers included.
    assert_eq!(call("/echo/a", None).status, 200);
    let failed = call("/echo/a", Some("503"));
    assert_eq!(failed.status, 503, "{}", failed.text);
    let path = |r: &Reply| r.json["path"].as_str().unwrap_or_default().to_owned();
    assert!(
        path(&failed).starts_with("/backend/a?"),
        "the backend's own answer: {}",
        failed.text
    );
    assert_eq!(call("/echo/a", Some("404")).status, 404, "not unhealthy");
    assert_eq!(hits(&backend), 3);
    // The second unhealthy answer opens it: the next calls get the fixed answer.
    assert_eq!(call("/echo/a", Some("500")).status, 500);
    let degraded = call("/echo/a", None);
    assert_eq!(degraded.status, 200, "{}", degraded.text);
    assert_eq!(degraded.json, json!({"degraded": true}));
    assert_eq!(degraded.header("x-degraded"), Some("yes"));
    assert_eq!(degraded.header("content-type"), Some("application/json"));
    assert!(degraded.header("x-request-id").is_some());
    assert_eq!(
        hits(&backend),
        4,
        "an open breaker keeps calls from the backend"
    );

    // The gold tier counts in its rule's breaker, still closed: its calls reach the backend
    // until two of them fail, then go to the fallback backend.
    assert_eq!(call("/echo/a?tier=gold", None).status, 200);
    assert_eq!(call("/echo/a?tier=gold", Some("500")).status, 500);
    assert_eq!(call("/echo/a?tier=gold", Some("500")).status, 500);
    assert_eq!(hits(&backend), 7);
    let rerouted = call("/echo/a?tier=gold", Some("500"));
    assert_eq!(
        rerouted.status, 500,
        "the fallback backend's answer: {}",
        rerouted.text
    );
    assert_eq!(rerouted.json["path"], "/fallback?tier=gold");
    assert_eq!((hits(&backend), hits(&fallback)), (7, 1));

    // After two seconds it is closed again.
    std::thread::sleep(std::time::Duration::from_millis(2_100));
    let back = call("/echo/a", None);
    assert_eq!(back.status, 200, "{}", back.text);
    assert!(path(&back).starts_with("/backend/a?"), "{}", back.text);
    assert_eq!(hits(&backend), 8);

    // Without a downgrade an open breaker answers 503 APIG.0202. A new content is in force
    // for the next call, and the counts carry over (one unhealthy answer so far in this
    // window would not do; two do).
    let replace = |content: &Value| {
        let body = json!({"plugin_name": "guard", "plugin_type": "breaker",
                          "plugin_scope": "global", "plugin_content": content.to_string()});
        let replaced = gw.mgmt("PUT", &format!("/plugins/{plugin_id}"), Some(&body));
        assert_eq!(replaced.status, 200, "{}", replaced.text);
    };
    let mut plain = content.clone();
    plain["downgrade_default"] = Value::Null;
    plain["downgrade_rules"] = json!([]);
    replace(&plain);
    assert_eq!(call("/echo/a", Some("503")).status, 503);
    assert_eq!(call("/echo/a", Some("503")).status, 503);
    let before = hits(&backend);
    assert_gateway_error(&call("/echo/a", None), 503, "APIG.0202");
    assert_eq!(hits(&backend), before);
    // Still open, now with a `passthrough` downgrade: the API's own backend, with a field
    // telling it so.
    let mut passthrough = plain.clone();
    passthrough["downgrade_default"] = json!({"type": "passthrough",
        "passthrough_infos": [{"key": "X-Degraded", "value": "breaker"}]});
    replace(&passthrough);
    let passed = call("/echo/a", None);
    assert_eq!(passed.status, 200, "{}", passed.text);
    assert_eq!(passed.json["headers"]["x-degraded"], "breaker");
    assert!(path(&passed).starts_with("/backend/a?"), "{}", passed.text);
    let before = hits(&backend);

    // Detached: every call reaches the backend again.
    let detached = gw.mgmt(
        "PUT",
        &format!("/apis/{api_id}/plugins/detach"),
        Some(&attach),
    );
    assert_eq!(detached.status, 204, "{}", detached.text);
    for _ in 0..3 {
        assert_eq!(call("/echo/a", Some("503")).status, 503);
    }
    assert_eq!(hits(&backend), before + 3);
}

#[test]
fn a_shared_timeout_breaker_counts_the_apis_together_and_judges_each_window_by_its_share() {
    let gw = start();
    // A backend answering after 0.7 s, behind APIs that wait 0.3 s.
    let port = scripted_backend(0, std::time::Duration::from_millis(700));
    let mut ids = Vec::new();
    for name in ["slow_one", "slow_two"] {
        let mut body = echo_api_body(&gw.default_group(), name, port);
        body["req_uri"] = json!(format!("/{name}/{{name}}"));
        body["auth_type"] = json!("NONE");
        body["auth_opt"] = json!({"app_code_auth_type": "DISABLE"});
        body["backend_api"]["timeout"] = json!(300);
        let created = gw.mgmt("POST", "/apis", Some(&body));
        assert_eq!(created.status, 201, "{}", created.text);
        let id = created.json["id"].as_str().unwrap().to_owned();
        gw.publish(&id);
        ids.push(id);
    }
    // Open for a minute once a window of a second had two calls or more, all timed out.
    let content = json!({"scope": "share", "breaker_condition": {"breaker_type": "timeout",
        "breaker_mode": "percentage", "min_call_threshold": 2, "unhealthy_percentage": 100,
        "time_window": 1, "open_breaker_time": 60}});
    let made = gw.create_plugin("slow_guard", "breaker", &content);
    let plugin_id = made.json["plugin_id"].as_str().unwrap();
    for id in &ids {
        gw.attach_plugin(id, plugin_id);
    }
    let call = |api: &str| gw.call(&gw.http, &format!("/{api}/x"), &[]);
    // One timeout on each API, in one window: judged when the window is over.
    assert_gateway_error(&call("slow_one"), 504, "APIG.0203");
    assert_gateway_error(&call("slow_two"), 504, "APIG.0203");
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    // Open for both APIs: 503 (the backend, had it been called, would have timed out: 504).
    assert_gateway_error(&call("slow_one"), 503, "APIG.0202");
    assert_gateway_error(&call("slow_two"), 503, "APIG.0202");
}

#[test]
fn a_shared_throttling_policy_counts_the_calls_of_all_its_apis_together() {
    let backend = EchoBackend::start();
    let gw = start();
    let group = gw.default_group();
    let mut ids = Vec::new();
    for (name, path) in [("shared_one", "/one/{name}"), ("shared_two", "/two/{name}")] {
        let mut body = echo_api_body(&group, name, backend.port);
        body["auth_type"] = json!("NONE");
        body.as_object_mut().unwrap().remove("auth_opt");
        body["req_uri"] = json!(path);
        let api = gw.mgmt("POST", "/apis", Some(&body));
        assert_eq!(api.status, 201, "{}", api.text);
        let id = api.json["id"].as_str().unwrap().to_owned();
        gw.publish(&id);
        ids.push(gw.publish_id(&id));
    }
    let make = |name: &str, kind: u8| {
        let policy = gw.mgmt(
            "POST",
            "/throttles",
            Some(
                &json!({"name": name, "api_call_limits": 3, "user_call_limits": 1,
                "app_call_limits": 1, "time_interval": 1, "time_unit": "DAY", "type": kind}),
            ),
        );
        assert_eq!(policy.status, 201, "{}", policy.text);
        policy.json["id"].as_str().unwrap().to_owned()
    };
    let shared = make("shared_policy", 2);
    away_from_window_end(86_400_000, 30_000);
    let bound = gw.mgmt(
        "POST",
        "/throttle-bindings",
        Some(&json!({"strategy_id": shared, "publish_ids": ids})),
    );
    assert_eq!(bound.status, 201, "{}", bound.text);
    // Unauthenticated calls: the user and app limits do not concern them.
    for path in ["/one/x", "/two/x", "/one/y"] {
        let ok = gw.call(&gw.http, path, &[]);
        assert_eq!(ok.status, 200, "{path}: {}", ok.text);
    }
    assert_gateway_error(&gw.call(&gw.http, "/two/y", &[]), 429, "APIG.0308");
    assert_gateway_error(&gw.call(&gw.http, "/one/z", &[]), 429, "APIG.0308");

    // A per-API policy (type 1) gives each API counters of its own.
    let per_api = make("per_api_policy", 1);
    let moved = gw.mgmt(
        "PUT",
        "/throttle-bindings?action=delete",
        Some(
            &json!({"throttle_bindings": bound.json["throttle_applys"].as_array().unwrap()
            .iter().map(|b| b["id"].clone()).collect::<Vec<_>>()}),
        ),
    );
    assert_eq!(moved.json["success_count"], 2, "{}", moved.text);
    let rebound = gw.mgmt(
        "POST",
        "/throttle-bindings",
        Some(&json!({"strategy_id": per_api, "publish_ids": ids})),
    );
    assert_eq!(rebound.status, 201, "{}", rebound.text);
    for path in ["/one/a", "/one/b", "/one/c", "/two/a", "/two/b", "/two/c"] {
        assert_eq!(gw.call(&gw.http, path, &[]).status, 200, "{path}");
    }
    assert_eq!(gw.call(&gw.http, "/one/d", &[]).status, 429);
    assert_eq!(gw.call(&gw.http, "/two/d", &[]).status, 429);
}

#[test]
fn the_ratelimit_feature_limits_every_api_per_second_in_all_environments() {
    let backend = EchoBackend::start();
    let gw = start();
    let api_id = gw.publish_echo_api(&backend);
    let (_, code) = gw.authorized_app("allenv_app", &api_id);
    let call = || {
        gw.call(
            &gw.https,
            "/echo/r",
            &[("X-Apig-AppCode", code.as_str()), ("X-Apig-Mode", "debug")],
        )
    };
    let configure = |enable: bool, config: Value| {
        let r = gw.mgmt(
            "POST",
            "/features",
            Some(&json!({"name": "ratelimit", "enable": enable, "config": config})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r
    };
    // Not configured: no default limit (APIG's 200 per second is not imposed).
    assert_eq!(call().header("x-apig-ratelimit-api-allenv"), None);
    let on = configure(true, json!("{\"api_limits\": 3}"));
    assert_eq!(on.json["config"], r#"{"api_limits":3}"#);
    // Three calls in one second, the fourth refused.
    away_from_window_end(1000, 400);
    for left in [2, 1, 0] {
        let ok = call();
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(
            ok.header("x-apig-ratelimit-api-allenv"),
            Some(format!("remain:{left},limit:3,time:1 second").as_str())
        );
    }
    let refused = call();
    assert_gateway_error(&refused, 429, "APIG.0308");
    assert_eq!(
        refused.header("x-apig-ratelimit-api-allenv"),
        Some("remain:0,limit:3,time:1 second")
    );
    // A new second, new calls.
    std::thread::sleep(std::time::Duration::from_millis(1000));
    assert_eq!(call().status, 200);
    // Bad configurations are refused and leave the feature as it was.
    for bad in [
        json!("{\"api_limits\": 0}"),
        json!({"api_limits": 1_000_001}),
        json!("500"),
    ] {
        let r = gw.mgmt(
            "POST",
            "/features",
            Some(&json!({"name": "ratelimit", "enable": true, "config": bad})),
        );
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        assert_eq!(r.json["error_code"], "APIG.2011");
    }
    // Off again: no limit.
    configure(false, json!({"api_limits": 3}));
    for _ in 0..5 {
        let ok = call();
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(ok.header("x-apig-ratelimit-api-allenv"), None);
    }
}

#[test]
fn an_access_control_policy_admits_or_refuses_client_addresses_of_an_api() {
    let backend = EchoBackend::start();
    let gw = start();
    let api_id = gw.publish_echo_api(&backend);
    let (_, code) = gw.authorized_app("acl_policy_app", &api_id);
    let publish_id = gw.publish_id(&api_id);
    let policy = |name: &str, acl_type: &str, value: &str| {
        let r = gw.mgmt(
            "POST",
            "/acls",
            Some(
                &json!({"acl_name": name, "acl_type": acl_type, "acl_value": value,
                "entity_type": "IP"}),
            ),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["id"].as_str().unwrap().to_owned()
    };
    let call = |headers: &[(&str, &str)]| gw.call(&gw.https, "/echo/acl", headers);
    let with_code = [("X-Apig-AppCode", code.as_str())];
    let hits = || backend.hits.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(call(&with_code).status, 200);

    // A whitelist without loopback: refused before authentication, the backend untouched.
    let office = policy("office_only", "PERMIT", "203.0.113.0/24,2001:db8::/32");
    let bound = gw.mgmt(
        "POST",
        "/acl-bindings",
        Some(&json!({"acl_id": office, "publish_ids": [publish_id]})),
    );
    assert_eq!(bound.status, 201, "{}", bound.text);
    let before = hits();
    let refused = call(&with_code);
    assert_gateway_error(&refused, 403, "APIG.0402");
    assert_eq!(
        refused.json["error_msg"],
        "The IP address is not authorized to access the API."
    );
    assert_gateway_error(&call(&[]), 403, "APIG.0402");
    assert_eq!(hits(), before);

    // Loopback added: in force for the next call, no republishing.
    let replaced = gw.mgmt(
        "PUT",
        &format!("/acls/{office}"),
        Some(&json!({"acl_name": "office_only", "acl_type": "PERMIT",
            "acl_value": "203.0.113.0/24,127.0.0.1", "entity_type": "IP"})),
    );
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(call(&with_code).status, 200);
    // Authentication still applies to an admitted address.
    assert_gateway_error(&call(&[]), 401, "APIG.0303");

    // A blacklist with loopback, in its place.
    let binding = bound.json["acl_bindings"][0]["id"].as_str().unwrap();
    let unbound = gw.mgmt("DELETE", &format!("/acl-bindings/{binding}"), None);
    assert_eq!(unbound.status, 204, "{}", unbound.text);
    let blocked = policy("blocked", "DENY", "127.0.0.0/8");
    let bound = gw.mgmt(
        "POST",
        "/acl-bindings",
        Some(&json!({"acl_id": blocked, "publish_ids": [publish_id]})),
    );
    assert_eq!(bound.status, 201, "{}", bound.text);
    assert_gateway_error(&call(&with_code), 403, "APIG.0402");

    // The client address honours real_ip_from_xff: behind a proxy, the caller's own address.
    let xff = gw.mgmt(
        "POST",
        "/features",
        Some(&json!({"name": "real_ip_from_xff", "enable": true, "config": {"xff_index": -1}})),
    );
    assert_eq!(xff.status, 201, "{}", xff.text);
    let forwarded = [
        ("X-Apig-AppCode", code.as_str()),
        ("X-Forwarded-For", "192.0.2.10"),
    ];
    assert_eq!(call(&forwarded).status, 200);

    // Taken offline and published again, the API keeps its policy.
    for action in ["offline", "online"] {
        let r = gw.mgmt(
            "POST",
            "/apis/action",
            Some(&json!({"action": action, "api_id": api_id, "env_id": RELEASE})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
    }
    assert_gateway_error(&call(&with_code), 403, "APIG.0402");
    let batch = gw.mgmt(
        "PUT",
        "/acl-bindings?action=delete",
        Some(&json!({"acl_bindings": [bound.json["acl_bindings"][0]["id"]]})),
    );
    assert_eq!(batch.json["success_count"], 1, "{}", batch.text);
    assert_eq!(call(&with_code).status, 200);
}

#[test]
fn a_group_answers_on_its_bound_domains_and_can_send_plain_http_to_https() {
    let gw = start();
    let backend = EchoBackend::start();
    let (group_id, api_id) = gw.shop_group(&backend);
    let domains = format!("/api-groups/{group_id}/domains");
    let host = |name: &'static str| [("Host", name)];

    // Before binding, the name reaches the DEFAULT group, which has no such API.
    let r = gw.call(&gw.http, "/echo/a", &host("api.shop.example"));
    assert_gateway_error(&r, 404, "APIG.0101");

    // Bind: the name is kept in lower case, with Huawei's defaults.
    let bound = gw.mgmt(
        "POST",
        &domains,
        Some(&json!({"url_domain": "API.Shop.Example."})),
    );
    assert_eq!(bound.status, 201, "{}", bound.text);
    let domain_id = bound.json["id"].as_str().unwrap().to_owned();
    assert!(
        domain_id.len() == 32 && domain_id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{domain_id}"
    );
    let mut rest = bound.json.clone();
    rest.as_object_mut().unwrap().remove("id");
    assert_eq!(
        rest,
        json!({"url_domain": "api.shop.example", "status": 3,
            "min_ssl_version": "TLSv1.1", "is_http_redirect_to_https": false,
            "verified_client_certificate_enabled": false,
            "ingress_http_port": 80, "ingress_https_port": 443})
    );
    assert_eq!(
        db_texts(
            &gw.server,
            &format!("SELECT url_domain FROM group_domains WHERE group_id = '{group_id}'")
        ),
        vec!["api.shop.example".to_owned()]
    );

    // The group's views list it.
    let shown = gw.mgmt("GET", &format!("/api-groups/{group_id}"), None);
    assert_eq!(
        shown.json["url_domains"][0]["id"], domain_id,
        "{}",
        shown.text
    );
    assert_eq!(shown.json["url_domains"][0]["domain"], "api.shop.example");
    assert_eq!(shown.json["url_domains"][0]["cname_status"], 3);
    let listed = gw.mgmt("GET", "/api-groups", None);
    let listed_shop = listed.json["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == group_id.as_str())
        .unwrap();
    assert_eq!(listed_shop["url_domains"][0]["domain"], "api.shop.example");
    let default = gw.mgmt("GET", &format!("/api-groups/{}", gw.default_group()), None);
    assert_eq!(default.json["url_domains"], json!([]));
    // So do the group's APIs (`api_group_info`), shown alone or listed.
    let shown_api = gw.mgmt("GET", &format!("/apis/{api_id}"), None);
    let names = &shown_api.json["api_group_info"]["url_domains"];
    assert_eq!(names[0]["domain"], "api.shop.example", "{}", shown_api.text);
    assert_eq!(names[0]["id"], domain_id.as_str());
    let listed_apis = gw.mgmt("GET", &format!("/apis?group_id={group_id}"), None);
    assert_eq!(
        listed_apis.json["apis"][0]["api_group_info"]["url_domains"][0]["domain"],
        "api.shop.example"
    );

    // Calls for the name reach the group's API on both listeners, whatever the port and case.
    for (base, name) in [
        (&gw.http, "api.shop.example"),
        (&gw.https, "API.Shop.Example:8443"),
    ] {
        let r = gw.call(base, "/echo/a?x=1", &[("Host", name)]);
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["path"], "/backend/a?x=1", "{}", r.text);
    }

    // Refusals, each with Huawei's code; nothing stored by any of them.
    let dup = gw.mgmt(
        "POST",
        &format!("/api-groups/{}/domains", gw.default_group()),
        Some(&json!({"url_domain": "api.shop.example"})),
    );
    dup.assert_error(
        400,
        "APIG.3305",
        Some("The URL domain name already exists."),
    );
    for (body, field) in [
        (json!({"url_domain": "localhost"}), "url_domain"),
        (json!({"url_domain": "a..shop.example"}), "url_domain"),
        (json!({"url_domain": 7}), "url_domain"),
        (
            json!({"url_domain": "b.shop.example", "min_ssl_version": "TLSv1.0"}),
            "min_ssl_version",
        ),
        (
            json!({"url_domain": "b.shop.example", "ingress_http_port": 8080}),
            "ingress_https_port",
        ),
    ] {
        let r = gw.mgmt("POST", &domains, Some(&body));
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert!(r.text.contains(field), "{body}: {}", r.text);
    }
    let missing = gw.mgmt("POST", &domains, Some(&json!({})));
    assert_eq!(missing.status, 400, "{}", missing.text);
    let r = gw.mgmt(
        "POST",
        "/api-groups/00000000000000000000000000000000/domains",
        Some(&json!({"url_domain": "c.shop.example"})),
    );
    r.assert_error(404, "APIG.3001", None);
    let r = gw.mgmt(
        "PUT",
        &format!("{domains}/00000000000000000000000000000000"),
        Some(&json!({})),
    );
    r.assert_error(404, "APIG.3020", Some("The URL domain does not exist"));
    let r = gw.mgmt(
        "DELETE",
        &format!("{domains}/00000000000000000000000000000000"),
        None,
    );
    r.assert_error(404, "APIG.3020", None);
    assert_eq!(
        db_scalar(&gw.server, "SELECT COUNT(*) FROM group_domains"),
        1
    );

    // A wildcard routes names one label deeper; at most five names per group.
    let mut wildcard_id = String::new();
    for name in [
        "*.shop.example",
        "b.shop.example",
        "c.shop.example",
        "d.shop.example",
    ] {
        let r = gw.mgmt("POST", &domains, Some(&json!({"url_domain": name})));
        assert_eq!(r.status, 201, "{}", r.text);
        if name.starts_with('*') {
            wildcard_id = r.json["id"].as_str().unwrap().to_owned();
        }
    }
    let sixth = gw.mgmt(
        "POST",
        &domains,
        Some(&json!({"url_domain": "e.shop.example"})),
    );
    sixth.assert_error(403, "APIG.3108", None);
    let r = gw.call(&gw.http, "/echo/w", &host("anything.shop.example"));
    assert_eq!(r.status, 200, "{}", r.text);
    let r = gw.call(&gw.http, "/echo/w", &host("x.y.shop.example"));
    assert_gateway_error(&r, 404, "APIG.0101");

    // Redirect plain HTTP to HTTPS: 301 for GET, 308 for other methods; HTTPS is served.
    let changed = gw.mgmt(
        "PUT",
        &format!("{domains}/{domain_id}"),
        Some(&json!({"is_http_redirect_to_https": true, "min_ssl_version": "TLSv1.2"})),
    );
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.json["is_http_redirect_to_https"], true);
    assert_eq!(changed.json["min_ssl_version"], "TLSv1.2");
    assert_eq!(changed.json["url_domain"], "api.shop.example");
    let hits = backend.hits.load(std::sync::atomic::Ordering::SeqCst);
    let no_follow = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (method, status) in [("GET", 301), ("POST", 308)] {
        let r = Reply::from(
            no_follow
                .request(method.parse().unwrap(), format!("{}/echo/a?x=1", gw.http))
                .header("Host", "api.shop.example:8080")
                .send()
                .unwrap(),
        );
        assert_eq!(r.status, status, "{method}: {}", r.text);
        assert_eq!(
            r.header("location"),
            Some("https://api.shop.example/echo/a?x=1"),
            "{method}"
        );
        assert!(r.header("x-request-id").is_some());
    }
    assert_eq!(
        backend.hits.load(std::sync::atomic::Ordering::SeqCst),
        hits,
        "redirects reach no backend"
    );
    let r = gw.call(&gw.https, "/echo/a", &host("api.shop.example"));
    assert_eq!(r.status, 200, "{}", r.text);
    // A binding whose HTTPS callers use another port (`ingress_https_port`) is sent there.
    let ports = json!({"ingress_http_port": 8080, "ingress_https_port": 8443});
    let changed = gw.mgmt("PUT", &format!("{domains}/{domain_id}"), Some(&ports));
    assert_eq!(changed.status, 200, "{}", changed.text);
    let r = Reply::from(
        no_follow
            .get(format!("{}/echo/a?x=1", gw.http))
            .header("Host", "api.shop.example:8080")
            .send()
            .unwrap(),
    );
    assert_eq!(r.status, 301, "{}", r.text);
    assert_eq!(
        r.header("location"),
        Some("https://api.shop.example:8443/echo/a?x=1")
    );
    // A binding without a plain HTTP port (-1: the protocol is not supported for the name) is
    // served on HTTPS only: plain HTTP callers get 404, not a redirect.
    let ports = json!({"ingress_http_port": -1, "ingress_https_port": 443});
    let changed = gw.mgmt("PUT", &format!("{domains}/{domain_id}"), Some(&ports));
    assert_eq!(changed.status, 200, "{}", changed.text);
    let r = gw.call(&gw.http, "/echo/a", &host("api.shop.example"));
    assert_gateway_error(&r, 404, "APIG.0101");
    let r = gw.call(&gw.https, "/echo/a", &host("api.shop.example"));
    assert_eq!(r.status, 200, "{}", r.text);
    // Other names of the group are not redirected.
    let r = gw.call(&gw.http, "/echo/a", &host("b.shop.example"));
    assert_eq!(r.status, 200, "{}", r.text);

    // Unbind: in force for the next call (the name then matches the wildcard, which does
    // not redirect; without the wildcard it reaches the DEFAULT group).
    let r = gw.mgmt("DELETE", &format!("{domains}/{domain_id}"), None);
    assert_eq!(r.status, 204, "{}", r.text);
    let r = gw.call(&gw.http, "/echo/a", &host("api.shop.example"));
    assert_eq!(r.status, 200, "{}", r.text);
    let r = gw.mgmt("DELETE", &format!("{domains}/{wildcard_id}"), None);
    assert_eq!(r.status, 204, "{}", r.text);
    let r = gw.call(&gw.https, "/echo/a", &host("api.shop.example"));
    assert_gateway_error(&r, 404, "APIG.0101");
    assert_eq!(
        db_scalar(&gw.server, "SELECT COUNT(*) FROM group_domains"),
        3
    );
    // Deleting the group (its API first) unbinds its names.
    let offline = gw.mgmt(
        "POST",
        "/apis/action",
        Some(&json!({"action": "offline", "api_id": api_id, "env_id": RELEASE})),
    );
    assert_eq!(offline.status, 201, "{}", offline.text);
    assert_eq!(
        gw.mgmt("DELETE", &format!("/apis/{api_id}"), None).status,
        204
    );
    assert_eq!(
        gw.mgmt("DELETE", &format!("/api-groups/{group_id}"), None)
            .status,
        204
    );
    assert_eq!(
        db_scalar(&gw.server, "SELECT COUNT(*) FROM group_domains"),
        0
    );
}

/// The leaf certificate (DER) the HTTPS listener presents to a new connection.
fn presented_certificate(https: &str) -> Vec<u8> {
    presented_for_name(https, None)
}

#[test]
fn sighup_puts_a_renewed_certificate_in_force_and_keeps_the_old_one_when_the_new_is_bad() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let first = apigw_gateway::tls::self_signed_pem(&["first.example".into()]).unwrap();
    let second = apigw_gateway::tls::self_signed_pem(&["second.example".into()]).unwrap();
    // Renewals are written beside and renamed over, as ACME clients do.
    let install = |pem: &(String, String)| {
        for (path, text) in [(&cert, &pem.0), (&key, &pem.1)] {
            let tmp = path.with_extension("new");
            std::fs::write(&tmp, text).unwrap();
            std::fs::rename(&tmp, path).unwrap();
        }
    };
    install(&first);
    let gw = start_with(
        Opts::default()
            .arg("--tls-cert")
            .arg(cert.to_str().unwrap())
            .arg("--tls-key")
            .arg(key.to_str().unwrap())
            .arg("--metrics-listen")
            .arg("127.0.0.1:0"),
    );
    assert_eq!(presented_certificate(&gw.https), der_of(&first.0));
    // Its expiry is logged and exported (rcgen's certificates end on 4096-01-01).
    assert!(
        gw.server.log_text().contains("4096-01-01T00:00:00Z"),
        "{}",
        gw.server.log_text()
    );
    let metrics_port = gw.server.port_of("metrics listening");
    let scrape = gw
        .client
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(
        series(
            &scrape,
            "apigw_gateway_certificate_expiry_timestamp_seconds",
            &[]
        ),
        Some(67_090_118_400.0),
        "{scrape}"
    );
    let pid = gw.server.child.as_ref().unwrap().id() as libc::pid_t;
    let hangup = || assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    let until_logged = |text: &str, times: usize| {
        let started = std::time::Instant::now();
        while gw.server.log_text().matches(text).count() < times {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "never logged {text:?} {times} times:\n{}",
                gw.server.log_text()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };

    // A connection opened before the renewal keeps working; new ones get the new certificate.
    let before = Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    // (reqwest keeps the connection of the first call for the second)
    let on_open_connection = || {
        before
            .get(format!("{}/any", gw.https))
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(on_open_connection(), 404);
    install(&second);
    assert_eq!(
        presented_certificate(&gw.https),
        der_of(&first.0),
        "not before SIGHUP"
    );
    hangup();
    until_logged("HTTPS certificate reloaded", 1);
    assert_eq!(presented_certificate(&gw.https), der_of(&second.0));
    assert_eq!(on_open_connection(), 404);

    // A renewal whose key is not its certificate's: logged, the listener keeps the second.
    std::fs::write(&cert, &first.0).unwrap();
    hangup();
    until_logged("HTTPS certificate not reloaded", 1);
    assert_eq!(presented_certificate(&gw.https), der_of(&second.0));
    // Still serving, still answering management calls, no secret in the log.
    assert_eq!(gw.mgmt("GET", "/api-groups", None).status, 200);
    let log = gw.server.log_text();
    assert!(!log.contains("PRIVATE KEY"), "{log}");
    assert!(log.contains(cert.to_str().unwrap()), "{log}");
}

#[test]
fn each_bound_name_can_have_its_own_certificate_from_the_sni_directory() {
    let dir = tempfile::tempdir().unwrap();
    let sni = dir.path().join("sni");
    std::fs::create_dir(&sni).unwrap();
    let shop = apigw_gateway::tls::self_signed_pem(&["api.shop.example".into()]).unwrap();
    let wild = apigw_gateway::tls::self_signed_pem(&["*.wild.example".into()]).unwrap();
    let put = |stem: &str, pair: &(String, String)| {
        std::fs::write(sni.join(format!("{stem}.crt")), &pair.0).unwrap();
        std::fs::write(sni.join(format!("{stem}.key")), &pair.1).unwrap();
    };
    put("shop", &shop);
    let gw = start_with(
        Opts::default()
            .arg("--tls-sni-dir")
            .arg(sni.to_str().unwrap()),
    );
    let default = presented_certificate(&gw.https);
    assert_ne!(default, der_of(&shop.0));
    assert_eq!(
        presented_for_name(&gw.https, Some("api.shop.example")),
        der_of(&shop.0)
    );
    assert_eq!(
        presented_for_name(&gw.https, Some("a.wild.example")),
        default
    );
    // A new certificate in the directory is presented after SIGHUP.
    put("wild", &wild);
    let pid = gw.server.child.as_ref().unwrap().id() as libc::pid_t;
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    let started = std::time::Instant::now();
    while !gw.server.log_text().contains("HTTPS certificate reloaded") {
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        presented_for_name(&gw.https, Some("a.wild.example")),
        der_of(&wild.0)
    );
    assert_eq!(
        presented_for_name(&gw.https, Some("api.shop.example")),
        der_of(&shop.0)
    );
    assert_eq!(presented_certificate(&gw.https), default);
    // A certificate without its key: refused at start.
    std::fs::write(sni.join("lonely.crt"), &wild.0).unwrap();
    let refused = Server::start_in(
        dir.path(),
        Opts::default()
            .arg("--gateway-listen")
            .arg("127.0.0.1:0")
            .arg("--tls-sni-dir")
            .arg(sni.to_str().unwrap()),
    );
    let Err(log) = refused else {
        panic!("a certificate without its key must stop the start")
    };
    assert!(log.contains("lonely.key"), "{log}");
}

#[test]
fn a_certificate_added_to_a_bound_domain_is_presented_for_its_name() {
    let mut gw = start();
    let backend = EchoBackend::start();
    let (group_id, _) = gw.shop_group(&backend);
    let bind = |name: &str| {
        let r = gw.mgmt(
            "POST",
            &format!("/api-groups/{group_id}/domains"),
            Some(&json!({ "url_domain": name })),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["id"].as_str().unwrap().to_owned()
    };
    let domain_id = bind("api.shop.example");
    let wild_id = bind("*.wild.example");
    let certificate = format!("/api-groups/{group_id}/domains/{domain_id}/certificate");
    let default = presented_certificate(&gw.https);
    assert_eq!(
        presented_for_name(&gw.https, Some("api.shop.example")),
        default
    );
    let shop = apigw_gateway::tls::self_signed_pem(&["api.shop.example".into()]).unwrap();
    let add = |path: &str, name: &str, pair: &(String, String)| {
        gw.mgmt(
            "POST",
            path,
            Some(&json!({"name": name, "cert_content": pair.0, "private_key": pair.1})),
        )
    };

    // Added: the binding answers with its new certificate's id, in force for the next handshake.
    let added = add(&certificate, "shop_cert", &shop);
    assert_eq!(added.status, 201, "{}", added.text);
    let ssl_id = added.json["ssl_id"].as_str().unwrap().to_owned();
    assert!(ssl_id.len() == 32 && ssl_id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(added.json["id"], domain_id.as_str());
    assert_eq!(added.json["url_domain"], "api.shop.example");
    assert_eq!(added.json["ssl_name"], "shop_cert");
    assert_eq!(added.json["api_group_id"], group_id.as_str());
    assert_eq!(added.json["instance_id"], gw.admin.instance_id.as_str());
    assert_eq!(added.json["status"], 3);
    assert_eq!(
        presented_for_name(&gw.https, Some("api.shop.example")),
        der_of(&shop.0)
    );
    assert_eq!(
        presented_certificate(&gw.https),
        default,
        "others keep the default"
    );
    // A client that trusts only that certificate calls the group's API by its name.
    let addr: std::net::SocketAddr = gw.https.trim_start_matches("https://").parse().unwrap();
    let strict = Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(shop.0.as_bytes()).unwrap())
        .resolve("api.shop.example", addr)
        .build()
        .unwrap();
    let r = strict
        .get(format!("https://api.shop.example:{}/echo/a", addr.port()))
        .send()
        .expect("the name's certificate verifies");
    assert_eq!(r.status(), 200);
    let echoed: Value = r.json().unwrap();
    assert_eq!(echoed["path"], "/backend/a");

    // Stored: a certificate of the instance that the binding names, the chain as given, the
    // key sealed (not the PEM, no PEM marker).
    let column = |c: &str| {
        db_texts(
            &gw.server,
            &format!(
                "SELECT c.{c} FROM group_domains d JOIN certificates c ON c.id = d.ssl_id \
                 WHERE d.id = '{domain_id}'"
            ),
        )
    };
    assert_eq!(column("id"), [ssl_id.as_str()]);
    assert_eq!(column("instance_id"), [gw.admin.instance_id.as_str()]);
    assert_eq!(column("cert_content"), [shop.0.as_str()]);
    assert_eq!(column("name"), ["shop_cert".to_owned()]);
    let sealed = column("private_key").remove(0);
    assert!(!sealed.contains("PRIVATE KEY") && !shop.1.contains(&sealed));
    assert!(!gw.server.log_text().contains("PRIVATE KEY"));

    // The group lists it; its details read as Huawei's gateway reports them.
    let shown = gw.mgmt("GET", &format!("/api-groups/{group_id}"), None);
    let listed = shown.json["url_domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == domain_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(listed["ssl_id"], ssl_id.as_str());
    assert_eq!(listed["ssl_name"], "shop_cert");
    assert_eq!(listed["ssl_infos"][0]["ssl_id"], ssl_id.as_str());
    let details = gw.mgmt("GET", &format!("{certificate}/{ssl_id}"), None);
    assert_eq!(details.status, 200, "{}", details.text);
    let d = &details.json;
    assert_eq!(
        (&d["id"], &d["name"], &d["type"]),
        (&json!(ssl_id), &json!("shop_cert"), &json!("instance"))
    );
    assert_eq!(d["instance_id"], gw.admin.instance_id.as_str());
    assert_eq!(d["san"], json!(["api.shop.example"]));
    assert_eq!(d["version"], 3);
    assert_eq!(d["signature_algorithm"], "ECDSA-SHA256");
    for field in ["not_before", "not_after", "create_time", "update_time"] {
        let t = d[field].as_str().unwrap();
        assert!(t.len() == 20 && t.ends_with('Z'), "{field}: {t}");
    }
    assert!(d["serial_number"]
        .as_str()
        .unwrap()
        .bytes()
        .all(|b| b.is_ascii_digit()));
    assert!(!details.text.contains("PRIVATE"));

    // Refusals, each with Huawei's code; the certificate in force stays.
    let other_name = apigw_gateway::tls::self_signed_pem(&["www.shop.example".into()]).unwrap();
    let other_key = (shop.0.clone(), other_name.1.clone());
    let encrypted = (
        shop.0.clone(),
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n".into(),
    );
    let garbage = ("not a certificate".to_owned(), shop.1.clone());
    for (pair, code) in [
        (&other_name, "APIG.2103"),
        (&other_key, "APIG.2101"),
        (&encrypted, "APIG.2105"),
        (&garbage, "APIG.2106"),
    ] {
        let r = add(&certificate, "shop_cert", pair);
        assert_eq!(
            (r.status, r.json["error_code"].as_str()),
            (400, Some(code)),
            "{}",
            r.text
        );
    }
    let r = add(&certificate, "no", &shop);
    r.assert_error(400, "APIG.2011", None);
    assert!(r.text.contains("parameterName:name"), "{}", r.text);
    let r = gw.mgmt(
        "POST",
        &certificate,
        Some(&json!({"name": "shop_cert", "cert_content": shop.0})),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    let r = add(
        &format!(
            "/api-groups/{group_id}/domains/{}/certificate",
            "0".repeat(32)
        ),
        "shop_cert",
        &shop,
    );
    r.assert_error(404, "APIG.3020", Some("The URL domain does not exist"));
    let r = add(
        &format!(
            "/api-groups/{}/domains/{domain_id}/certificate",
            gw.default_group()
        ),
        "shop_cert",
        &shop,
    );
    r.assert_error(404, "APIG.3020", None);
    let r = gw.mgmt("GET", &format!("{certificate}/{}", "0".repeat(32)), None);
    r.assert_error(
        404,
        "APIG.3021",
        Some("The SSL certificate does not exist."),
    );
    let r = gw.mgmt("DELETE", &format!("{certificate}/{}", "0".repeat(32)), None);
    r.assert_error(404, "APIG.3097", None);
    assert_eq!(column("id"), [ssl_id.as_str()]);
    assert_eq!(
        presented_for_name(&gw.https, Some("api.shop.example")),
        der_of(&shop.0)
    );

    // Replaced: a new id, the new certificate presented, the old id gone.
    let renewed =
        apigw_gateway::tls::self_signed_pem(&["api.shop.example".into(), "shop.example".into()])
            .unwrap();
    let again = add(&certificate, "shop_cert_2", &renewed);
    assert_eq!(again.status, 201, "{}", again.text);
    let renewed_id = again.json["ssl_id"].as_str().unwrap().to_owned();
    assert_ne!(renewed_id, ssl_id);
    // The certificate replaced went with it: only the new one is kept.
    assert_eq!(
        db_texts(&gw.server, "SELECT id FROM certificates"),
        [renewed_id.as_str()]
    );
    assert_eq!(
        presented_for_name(&gw.https, Some("api.shop.example")),
        der_of(&renewed.0)
    );
    gw.mgmt("GET", &format!("{certificate}/{ssl_id}"), None)
        .assert_error(404, "APIG.3021", None);

    // A wildcard binding takes a wildcard certificate, presented one label deeper.
    let wild = apigw_gateway::tls::self_signed_pem(&["*.wild.example".into()]).unwrap();
    let wild_path = format!("/api-groups/{group_id}/domains/{wild_id}/certificate");
    assert_eq!(add(&wild_path, "wild_cert", &wild).status, 201);
    assert_eq!(
        presented_for_name(&gw.https, Some("a.wild.example")),
        der_of(&wild.0)
    );

    // Kept across a crash: the restarted node presents both from its first handshake.
    let dir = gw.server.keep_dir();
    gw.server.kill();
    let gw = restart_in(dir.path());
    assert_eq!(
        presented_for_name(&gw.https, Some("api.shop.example")),
        der_of(&renewed.0)
    );
    assert_eq!(
        presented_for_name(&gw.https, Some("a.wild.example")),
        der_of(&wild.0)
    );

    // Deleted: the name stays bound and gets the listener's own certificate again.
    let r = gw.mgmt("DELETE", &format!("{certificate}/{renewed_id}"), None);
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        presented_for_name(&gw.https, Some("api.shop.example")),
        default
    );
    let column = |c: &str| {
        db_rows(
            &gw.server,
            &format!("SELECT {c} FROM group_domains WHERE id = '{domain_id}'"),
            |row| {
                use sqlx::Row;
                row.try_get::<Option<String>, _>(0).unwrap()
            },
        )
    };
    assert_eq!(column("ssl_id"), [None]);
    assert_eq!(
        db_scalar(
            &gw.server,
            &format!("SELECT COUNT(*) FROM certificates WHERE id = '{renewed_id}'")
        ),
        0
    );
    assert_eq!(column("url_domain"), [Some("api.shop.example".to_owned())]);
    let shown = gw.mgmt("GET", &format!("/api-groups/{group_id}"), None);
    assert!(shown.json["url_domains"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["id"] == domain_id.as_str()
            && d["ssl_id"] == ""
            && d["ssl_infos"] == json!([])));
    // Unbinding the name takes its certificate with it.
    let r = gw.mgmt(
        "DELETE",
        &format!("/api-groups/{group_id}/domains/{wild_id}"),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        presented_for_name(&gw.https, Some("a.wild.example")),
        default
    );
}

#[test]
fn environment_variables_choose_each_environment_s_backend_from_the_next_call_on() {
    let gw = start();
    let (a, b) = (EchoBackend::start(), EchoBackend::start());
    let group = gw.default_group();
    let test_env = gw.mgmt("POST", "/envs", Some(&json!({"name": "TEST"})));
    assert_eq!(test_env.status, 201, "{}", test_env.text);
    let test_env = test_env.json["id"].as_str().unwrap().to_owned();
    let mut body = plain_api_body(
        &group,
        "by_env",
        "/by-env/{item}",
        0,
        "/#prefix#/items/{item}",
    );
    body["backend_api"]["url_domain"] = json!("#backend#");
    body["backend_params"] =
        json!([{"name": "item", "value": "item", "location": "PATH", "origin": "REQUEST"}]);
    let api = gw.mgmt("POST", "/apis", Some(&body));
    assert_eq!(api.status, 201, "{}", api.text);
    let api_id = api.json["id"].as_str().unwrap().to_owned();
    for env in [RELEASE, &test_env] {
        let online = gw.mgmt(
            "POST",
            "/apis/action",
            Some(&json!({"action": "online", "api_id": api_id, "env_id": env})),
        );
        assert_eq!(online.status, 201, "{}", online.text);
    }
    let call = |stage: &str| gw.call(&gw.http, "/by-env/42", &[("X-Stage", stage)]);
    let set = |env: &str, name: &str, value: &str| -> String {
        let r = gw.mgmt(
            "POST",
            "/env-variables",
            Some(
                &json!({"group_id": group, "env_id": env, "variable_name": name,
                         "variable_value": value}),
            ),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["id"].as_str().unwrap().to_owned()
    };

    // Published before its variables exist: no backend in either environment.
    for stage in ["RELEASE", "TEST"] {
        let r = call(stage);
        assert_gateway_error(&r, 500, "APIG.0103");
        assert_eq!(r.json["error_msg"], "The backend does not exist.");
    }
    let log = gw.server.log_text();
    assert!(
        log.contains("API without a backend in this environment")
            && log.contains("environment variable backend is not defined"),
        "the routes' log says which API and why: {log}"
    );

    let release_backend = set(RELEASE, "backend", &format!("127.0.0.1:{}", a.port));
    set(RELEASE, "prefix", "release");
    // Half of RELEASE's names are not enough.
    assert_gateway_error(&call("TEST"), 500, "APIG.0103");
    // TEST still lacks the same name: the log said so once, not at each rebuild since.
    let log = gw.server.log_text();
    let warned = log
        .lines()
        .filter(|l| {
            l.contains("API without a backend in this environment") && l.contains("env=TEST")
        })
        .count();
    assert_eq!(warned, 1, "{log}");
    let test_backend = set(&test_env, "backend", &format!("127.0.0.1:{}", b.port));
    let test_prefix = set(&test_env, "prefix", "v2/test");

    let r = call("RELEASE");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["path"], "/release/items/42");
    assert_eq!(r.json["headers"]["host"], format!("127.0.0.1:{}", a.port));
    let r = call("TEST");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["path"], "/v2/test/items/42");
    assert_eq!(r.json["headers"]["host"], format!("127.0.0.1:{}", b.port));
    let hits = |e: &EchoBackend| e.hits.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!((hits(&a), hits(&b)), (1, 1));

    // A change is in force for the next call, without publishing again.
    let moved = gw.mgmt(
        "PUT",
        &format!("/env-variables/{test_backend}"),
        Some(&json!({"variable_value": format!("127.0.0.1:{}", a.port)})),
    );
    assert_eq!(moved.status, 200, "{}", moved.text);
    let r = call("TEST");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["headers"]["host"], format!("127.0.0.1:{}", a.port));
    assert_eq!((hits(&a), hits(&b)), (2, 1));
    // A value that makes no address: no backend until it is fixed.
    let bad = gw.mgmt(
        "PUT",
        &format!("/env-variables/{test_backend}"),
        Some(&json!({"variable_value": "a/b"})),
    );
    assert_eq!(bad.status, 200, "{}", bad.text);
    assert_gateway_error(&call("TEST"), 500, "APIG.0103");
    assert_eq!(call("RELEASE").status, 200, "RELEASE keeps its own values");

    // Another group's variable of the same name does not stand in.
    let (shop, _) = gw.shop_group(&b);
    let deleted = gw.mgmt("DELETE", &format!("/env-variables/{test_prefix}"), None);
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let other = gw.mgmt(
        "POST",
        "/env-variables",
        Some(
            &json!({"group_id": shop, "env_id": test_env, "variable_name": "prefix",
                     "variable_value": "shop"}),
        ),
    );
    assert_eq!(other.status, 201, "{}", other.text);
    gw.mgmt(
        "PUT",
        &format!("/env-variables/{test_backend}"),
        Some(&json!({"variable_value": format!("127.0.0.1:{}", b.port)})),
    );
    assert_gateway_error(&call("TEST"), 500, "APIG.0103");
    set(&test_env, "prefix", "back");
    let r = call("TEST");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["path"], "/back/items/42");

    // Deleting RELEASE's address leaves RELEASE without a backend at once.
    let deleted = gw.mgmt("DELETE", &format!("/env-variables/{release_backend}"), None);
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_gateway_error(&call("RELEASE"), 500, "APIG.0103");
    assert_eq!(hits(&a), 3, "no call reached a backend without its address");
}

#[test]
fn an_api_rolls_back_to_an_earlier_version_without_being_edited() {
    let gw = start();
    let (a, b) = (EchoBackend::start(), EchoBackend::start());
    let group = gw.default_group();
    let body =
        |port: u16, path: &str| plain_api_body(&group, "versioned", "/versioned", port, path);
    let api = gw.mgmt("POST", "/apis", Some(&body(a.port, "/first")));
    assert_eq!(api.status, 201, "{}", api.text);
    let api_id = api.json["id"].as_str().unwrap().to_owned();
    let publish = |remark: &str| {
        let r = gw.mgmt(
            "POST",
            "/apis/action",
            Some(
                &json!({"action": "online", "api_id": api_id, "env_id": RELEASE,
                         "remark": remark}),
            ),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["version_id"].as_str().unwrap().to_owned()
    };
    let v1 = publish("first");
    let edited = gw.mgmt(
        "PUT",
        &format!("/apis/{api_id}"),
        Some(&body(b.port, "/second")),
    );
    assert_eq!(edited.status, 200, "{}", edited.text);
    let v2 = publish("second");
    let call = || gw.call(&gw.http, "/versioned", &[]);
    assert_eq!(call().json["path"], "/second");

    let versions = || {
        let r = gw.mgmt(
            "GET",
            &format!("/apis/publish/{api_id}?env_id={RELEASE}"),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        r.json
    };
    let listed = versions();
    assert_eq!(
        (listed["total"].clone(), listed["size"].clone()),
        (json!(2), json!(2))
    );
    let first = &listed["api_versions"][0];
    assert_eq!(first["version_id"], v2.as_str(), "newest first");
    assert_eq!(first["status"], 1);
    assert_eq!(first["remark"], "second");
    assert_eq!(first["api_id"], api_id.as_str());
    assert_eq!(first["env_id"], RELEASE);
    assert_eq!(first["env_name"], "RELEASE");
    let no = first["version_no"].as_str().unwrap();
    assert!(
        no.len() == 14 && no.bytes().all(|c| c.is_ascii_digit()),
        "{no}"
    );
    let time = first["publish_time"].as_str().unwrap();
    assert!(time.len() == 20 && time.ends_with('Z'), "{time}");
    assert_eq!(listed["api_versions"][1]["version_id"], v1.as_str());
    assert_eq!(listed["api_versions"][1]["status"], 2);

    // Roll back: the first version is in force from the next call; the API keeps its edit.
    let switched = gw.mgmt(
        "PUT",
        &format!("/apis/publish/{api_id}"),
        Some(&json!({"version_id": v1})),
    );
    assert_eq!(switched.status, 200, "{}", switched.text);
    assert_eq!(switched.json["version_id"], v1.as_str());
    assert_eq!(switched.json["api_id"], api_id.as_str());
    assert_eq!(switched.json["env_id"], RELEASE);
    assert_eq!(switched.json["remark"], "first");
    let r = call();
    assert_eq!(r.json["path"], "/first", "{}", r.text);
    assert_eq!(r.json["headers"]["host"], format!("127.0.0.1:{}", a.port));
    let listed = versions();
    assert_eq!(
        listed["total"], 2,
        "switching keeps the versions, adds none"
    );
    assert_eq!(listed["api_versions"][0]["status"], 2);
    assert_eq!(listed["api_versions"][1]["status"], 1);
    let shown = gw.mgmt("GET", &format!("/apis/{api_id}"), None);
    assert_eq!(
        shown.json["backend_api"]["req_uri"], "/second",
        "the API itself is not edited"
    );
    assert_eq!(shown.json["publish_id"], switched.json["publish_id"]);

    // A version's own definition.
    let detail = gw.mgmt("GET", &format!("/apis/versions/{v1}"), None);
    assert_eq!(detail.status, 200, "{}", detail.text);
    assert_eq!(detail.json["version_id"], v1.as_str());
    assert_eq!(detail.json["id"], api_id.as_str());
    assert_eq!(detail.json["name"], "versioned");
    assert_eq!(detail.json["backend_api"]["req_uri"], "/first");
    assert_eq!(
        detail.json["backend_api"]["url_domain"],
        format!("127.0.0.1:{}", a.port)
    );
    assert_eq!(detail.json["run_env_id"], RELEASE);
    assert_eq!(detail.json["run_env_name"], "RELEASE");
    let sl = detail.json["sl_domain"].as_str().unwrap().to_owned();
    assert!(sl.starts_with(&group), "{sl}");
    assert_eq!(detail.json["sl_domains"], json!([sl]));

    // Only the version in force can be taken offline.
    let not_in_force = gw.mgmt("DELETE", &format!("/apis/versions/{v2}"), None);
    not_in_force.assert_error(404, "APIG.3015", None);
    assert_eq!(call().json["path"], "/first");
    let offline = gw.mgmt("DELETE", &format!("/apis/versions/{v1}"), None);
    assert_eq!(offline.status, 204, "{}", offline.text);
    assert_gateway_error(&call(), 404, "APIG.0101");
    let listed = versions();
    assert_eq!(listed["total"], 2, "taking offline keeps the versions");
    assert!(listed["api_versions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["status"] == 2));
    // A kept version can be put in force while the API is offline.
    let back = gw.mgmt(
        "PUT",
        &format!("/apis/publish/{api_id}"),
        Some(&json!({"version_id": v2})),
    );
    assert_eq!(back.status, 200, "{}", back.text);
    assert_eq!(call().json["path"], "/second");

    // Refusals.
    let zeros = "0".repeat(32);
    let gone = format!("The API version does not exist,id:{zeros}");
    gw.mgmt(
        "PUT",
        &format!("/apis/publish/{api_id}"),
        Some(&json!({"version_id": zeros})),
    )
    .assert_error(404, "APIG.3022", Some(&gone));
    gw.mgmt("GET", &format!("/apis/versions/{zeros}"), None)
        .assert_error(404, "APIG.3022", Some(&gone));
    gw.mgmt("DELETE", &format!("/apis/versions/{zeros}"), None)
        .assert_error(404, "APIG.3022", Some(&gone));
    gw.mgmt("PUT", &format!("/apis/publish/{api_id}"), Some(&json!({})))
        .assert_error(400, "APIG.2011", None);
    gw.mgmt("GET", &format!("/apis/publish/{zeros}"), None)
        .assert_error(404, "APIG.3002", None);
    let other = plain_api_body(&group, "other_api", "/other", a.port, "/other");
    let other = gw.mgmt("POST", "/apis", Some(&other));
    let other_id = other.json["id"].as_str().unwrap().to_owned();
    let other_version = gw.mgmt(
        "POST",
        "/apis/action",
        Some(&json!({"action": "online", "api_id": other_id, "env_id": RELEASE})),
    );
    let other_version = other_version.json["version_id"]
        .as_str()
        .unwrap()
        .to_owned();
    gw.mgmt(
        "PUT",
        &format!("/apis/publish/{api_id}"),
        Some(&json!({"version_id": other_version})),
    )
    .assert_error(404, "APIG.3022", None);
    let outsider = gw.server.user_session(&gw.admin, "olga", "proj_o", "admin");
    gw.server
        .call(
            "GET",
            &outsider.apig(&format!("/apis/versions/{v2}")),
            Some(&outsider.token),
            None,
        )
        .assert_error(404, "APIG.3022", None);
    let reader = gw.server.user_session(&gw.admin, "rita", "admin", "reader");
    gw.server
        .call(
            "PUT",
            &gw.admin.apig(&format!("/apis/publish/{api_id}")),
            Some(&reader.token),
            Some(&json!({"version_id": v1})),
        )
        .assert_error(403, "APIG.1005", None);

    // The newest ten versions per environment are kept.
    for i in 0..9 {
        publish(&format!("again {i}"));
    }
    let listed = versions();
    assert_eq!(listed["total"], 10);
    assert_eq!(listed["api_versions"][0]["remark"], "again 8");
    assert_eq!(listed["api_versions"][9]["version_id"], v2.as_str());
    gw.mgmt("GET", &format!("/apis/versions/{v1}"), None)
        .assert_error(404, "APIG.3022", None);
    let paged = gw.mgmt(
        "GET",
        &format!("/apis/publish/{api_id}?env_name=RELEASE&offset=9&limit=5"),
        None,
    );
    assert_eq!(
        (paged.json["total"].clone(), paged.json["size"].clone()),
        (json!(10), json!(1))
    );
    assert_eq!(paged.json["api_versions"][0]["version_id"], v2.as_str());
    let stored = common::db_texts(
        &gw.server,
        &format!("SELECT CAST(COUNT(*) AS TEXT) FROM api_versions WHERE api_id = '{api_id}'"),
    );
    assert_eq!(stored, ["10"]);
}

#[test]
fn apis_are_published_and_taken_offline_in_a_batch() {
    let gw = start();
    let backend = EchoBackend::start();
    let (group, first) = gw.shop_group(&backend);
    let offline = gw.mgmt(
        "POST",
        "/apis/action",
        Some(&json!({"action": "offline", "api_id": first, "env_id": RELEASE})),
    );
    assert_eq!(offline.status, 201, "{}", offline.text);
    let second = plain_api_body(
        &group,
        "shop_other",
        "/other",
        backend.port,
        "/backend-other",
    );
    let second = gw.mgmt("POST", "/apis", Some(&second));
    let second = second.json["id"].as_str().unwrap().to_owned();
    let host = format!("{group}.apic.default");
    let call = |path: &str| gw.call(&gw.http, path, &[("Host", &host)]).status;
    assert_eq!((call("/echo"), call("/other")), (404, 404));

    let zeros = "0".repeat(32);
    let batch = |action: &str, body: Value| {
        gw.mgmt(
            "POST",
            &format!("/apis/publish?action={action}"),
            Some(&body),
        )
    };
    let r = batch(
        "online",
        json!({"apis": [first, second, zeros, first], "env_id": RELEASE, "remark": "batch"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let success = r.json["success"].as_array().unwrap();
    assert_eq!(success.len(), 2, "repeats count once: {}", r.text);
    assert_eq!(success[0]["api_id"], first.as_str());
    assert_eq!(success[0]["api_name"], "shop_echo");
    assert_eq!(success[0]["remark"], "batch");
    assert_eq!(success[1]["api_id"], second.as_str());
    assert!(success[1]["version_id"].as_str().unwrap().len() == 32);
    assert_eq!(
        r.json["failure"],
        json!([{"api_id": zeros, "error_code": "APIG.3002",
                "error_msg": format!("API {zeros} does not exist")}])
    );
    assert_eq!((call("/echo"), call("/other")), (200, 200));

    // Every API of the group, taken offline.
    let r = batch("offline", json!({"group_id": group, "env_id": RELEASE}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["success"].as_array().unwrap().len(), 2, "{}", r.text);
    assert_eq!(r.json["failure"], json!([]));
    assert_eq!((call("/echo"), call("/other")), (404, 404));
    // Again: each fails on its own (not published), named.
    let r = batch("offline", json!({"apis": [first], "env_id": RELEASE}));
    assert_eq!(r.json["failure"][0]["api_name"], "shop_echo", "{}", r.text);
    assert_eq!(r.json["failure"][0]["error_code"], "APIG.3015");

    // Refusals of the whole call.
    let action = "Invalid parameter value: parameter action should be \"online\" or \"offline\"";
    batch("publish", json!({"apis": [first], "env_id": RELEASE})).assert_error(
        400,
        "APIG.2011",
        Some(action),
    );
    gw.mgmt(
        "POST",
        "/apis/publish",
        Some(&json!({"apis": [first], "env_id": RELEASE})),
    )
    .assert_error(400, "APIG.2011", Some(action));
    let invalid = |f: &str| {
        format!(
            "Invalid parameter value,parameterName:{f}. Please refer to the support documentation"
        )
    };
    batch("online", json!({"env_id": RELEASE})).assert_error(
        400,
        "APIG.2011",
        Some(&invalid("apis")),
    );
    batch("online", json!({"apis": [], "env_id": RELEASE})).assert_error(
        400,
        "APIG.2011",
        Some(&invalid("apis")),
    );
    batch("online", json!({"apis": ["a b"], "env_id": RELEASE})).assert_error(
        400,
        "APIG.2011",
        Some(&invalid("apis")),
    );
    let many: Vec<String> = (0..1001).map(|i| format!("{i:032x}")).collect();
    batch("online", json!({"apis": many, "env_id": RELEASE})).assert_error(
        400,
        "APIG.2011",
        Some(&invalid("apis")),
    );
    batch("online", json!({"apis": [first]})).assert_error(
        400,
        "APIG.2011",
        Some(&invalid("env_id")),
    );
    batch("online", json!({"apis": [first], "env_id": "nope"})).assert_error(
        404,
        "APIG.3003",
        Some("Environment nope does not exist"),
    );
    batch("online", json!({"group_id": zeros, "env_id": RELEASE})).assert_error(
        404,
        "APIG.3001",
        None,
    );
    let reader = gw.server.user_session(&gw.admin, "ruth", "admin", "reader");
    gw.server
        .call(
            "POST",
            &gw.admin.apig("/apis/publish?action=online"),
            Some(&reader.token),
            Some(&json!({"apis": [first], "env_id": RELEASE})),
        )
        .assert_error(403, "APIG.1005", None);
    assert_eq!(
        (call("/echo"), call("/other")),
        (404, 404),
        "nothing refused was published"
    );
}

/// Whether the backend request `echo` (what `EchoBackend` received) carries a valid
/// `SDK-HMAC-SHA256` signature by `key` and `secret`, checked as a backend would: the request
/// rebuilt from what arrived, verified with the signing library within its clock skew.
fn backend_signature_valid(echo: &Value, key: &str, secret: &str) -> Result<(), String> {
    let headers_in = echo["headers"].as_object().unwrap();
    let mut headers = http::HeaderMap::new();
    for (k, v) in headers_in {
        headers.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v.as_str().unwrap()).unwrap(),
        );
    }
    let value = headers_in
        .get("authorization")
        .and_then(Value::as_str)
        .ok_or("no Authorization")?;
    let auth = apigw_signing::Authorization::parse(value).map_err(|e| e.to_string())?;
    if auth.access != key {
        return Err(format!("signed by {}", auth.access));
    }
    let method: http::Method = echo["method"].as_str().unwrap().parse().unwrap();
    let uri: http::Uri = echo["path"].as_str().unwrap().parse().unwrap();
    let body = echo["body"].as_str().unwrap().as_bytes();
    let payload = apigw_signing::PayloadHash::for_verification(&auth, &headers, body);
    apigw_signing::Verifier::default()
        .verify(
            &auth,
            &method,
            &uri,
            &headers,
            payload,
            &apigw_signing::SigningKey::new(secret.as_bytes()),
            time::OffsetDateTime::now_utc(),
        )
        .map_err(|e| e.to_string())
}

#[test]
fn a_signature_key_signs_every_backend_request_of_its_api_from_the_next_call_on() {
    let backend = EchoBackend::start();
    let gw = start();
    let mut body = plain_api_body(
        &gw.default_group(),
        "signed_api",
        "/signed",
        backend.port,
        "/backend/signed",
    );
    body["req_method"] = json!("POST");
    body["backend_api"]["req_method"] = json!("POST");
    let api = gw.mgmt("POST", "/apis", Some(&body));
    assert_eq!(api.status, 201, "{}", api.text);
    let api_id = api.json["id"].as_str().unwrap().to_owned();
    gw.publish(&api_id);
    let publish_id = gw.publish_id(&api_id);
    // The caller's own signing fields, which are not the backend's.
    let post = |payload: Vec<u8>| {
        let r = gw
            .client
            .post(format!("{}/signed?b=2&a=1", gw.http))
            .header("Authorization", "Bearer the-caller-s-token")
            .header("X-Sdk-Date", "20200101T000000Z")
            .header("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD")
            .body(payload)
            .send()
            .expect("gateway answers");
        Reply::from(r)
    };
    let echoed = |r: &Reply| -> Value {
        assert_eq!(r.status, 200, "{}", r.text);
        r.json.clone()
    };

    // No key bound: the caller's Authorization is not forwarded and nothing replaces it.
    let plain = echoed(&post(b"{\"n\":1}".to_vec()));
    assert!(plain["headers"].get("authorization").is_none(), "{plain}");

    // An hmac key bound: the next call reaches the backend signed, body and query included.
    let key = gw.mgmt("POST", "/signs", Some(&json!({"name": "backend_hmac"})));
    assert_eq!(key.status, 201, "{}", key.text);
    let sign_id = key.json["id"].as_str().unwrap().to_owned();
    let access = key.json["sign_key"].as_str().unwrap().to_owned();
    let secret = key.json["sign_secret"].as_str().unwrap().to_owned();
    let bound = gw.mgmt(
        "POST",
        "/sign-bindings",
        Some(&json!({"sign_id": sign_id, "publish_ids": [publish_id]})),
    );
    assert_eq!(bound.status, 201, "{}", bound.text);
    let signed = echoed(&post(b"{\"n\":2}".to_vec()));
    let auth = signed["headers"]["authorization"].as_str().unwrap();
    assert!(
        auth.starts_with(&format!(
            "SDK-HMAC-SHA256 Access={access}, SignedHeaders=host;x-sdk-date, Signature="
        )),
        "{auth}"
    );
    assert_eq!(signed["path"], "/backend/signed?b=2&a=1");
    assert_eq!(signed["body"], "{\"n\":2}");
    backend_signature_valid(&signed, &access, &secret).unwrap();
    // The caller's X-Sdk-Date is replaced by the gateway's, its content hash dropped.
    assert_ne!(signed["headers"]["x-sdk-date"], "20200101T000000Z");
    assert!(signed["headers"].get("x-sdk-content-sha256").is_none());
    // What a backend must refuse: another secret, another body, another path.
    assert!(backend_signature_valid(&signed, &access, "some-other-secret-0").is_err());
    let mut tampered = signed.clone();
    tampered["body"] = json!("{\"n\":3}");
    assert!(backend_signature_valid(&tampered, &access, &secret).is_err());
    let mut moved = signed.clone();
    moved["path"] = json!("/backend/other?b=2&a=1");
    assert!(backend_signature_valid(&moved, &access, &secret).is_err());

    // A large body is read whole and signed.
    let large = vec![b'x'; 1 << 20];
    let signed_large = echoed(&post(large));
    assert_eq!(signed_large["body"].as_str().unwrap().len(), 1 << 20);
    backend_signature_valid(&signed_large, &access, &secret).unwrap();

    // A new secret signs the next call.
    let new_secret = "rotated-secret-0123456789";
    let rotated = gw.mgmt(
        "PUT",
        &format!("/signs/{sign_id}"),
        Some(&json!({"name": "backend_hmac", "sign_secret": new_secret})),
    );
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let after = echoed(&post(b"{}".to_vec()));
    backend_signature_valid(&after, &access, new_secret).unwrap();
    assert!(backend_signature_valid(&after, &access, &secret).is_err());

    // With the instance's own headers the signature goes under `backend_sign_header`, and
    // the caller's Authorization, no gateway credential under `app_auth_header`, reaches the
    // backend beside it.
    let feature = |name: &str, enable: bool, config: &str| {
        let body = json!({"name": name, "enable": enable, "config": config});
        let r = gw.mgmt("POST", "/features", Some(&body));
        assert_eq!(r.status, 201, "{}", r.text);
    };
    feature("app_auth_header", true, "X-Apig-Auth");
    feature("backend_sign_header", true, "X-Gw-Signature");
    let both = echoed(&post(b"{}".to_vec()));
    assert_eq!(
        both["headers"]["authorization"],
        "Bearer the-caller-s-token"
    );
    let mut as_usual = both.clone();
    as_usual["headers"]["authorization"] = both["headers"]["x-gw-signature"].clone();
    backend_signature_valid(&as_usual, &access, new_secret).unwrap();
    feature("app_auth_header", false, "X-Apig-Auth");
    feature("backend_sign_header", false, "X-Gw-Signature");
    let usual = echoed(&post(b"{}".to_vec()));
    assert!(usual["headers"].get("x-gw-signature").is_none(), "{usual}");
    backend_signature_valid(&usual, &access, new_secret).unwrap();

    // Unbound: the next call goes unsigned; a basic key bound: Basic credentials.
    let binding = bound.json["bindings"][0]["id"].as_str().unwrap();
    assert_eq!(
        gw.mgmt("DELETE", &format!("/sign-bindings/{binding}"), None)
            .status,
        204
    );
    let unsigned = echoed(&post(b"{}".to_vec()));
    assert!(
        unsigned["headers"].get("authorization").is_none(),
        "{unsigned}"
    );
    // Without a key bound, a caller's own header of the instance's backend signatures never
    // reaches the backend either.
    feature("backend_sign_header", true, "X-Gw-Signature");
    let forged = gw
        .client
        .post(format!("{}/signed", gw.http))
        .header("X-Gw-Signature", "forged")
        .body("{}")
        .send()
        .unwrap();
    let forged = echoed(&Reply::from(forged));
    assert!(
        forged["headers"].get("x-gw-signature").is_none(),
        "{forged}"
    );
    feature("backend_sign_header", false, "X-Gw-Signature");
    let basic_key = gw.mgmt(
        "POST",
        "/signs",
        Some(&json!({"name": "backend_basic", "sign_type": "basic",
            "sign_key": "gateway", "sign_secret": "pa55-word"})),
    );
    assert_eq!(basic_key.status, 201, "{}", basic_key.text);
    let bound = gw.mgmt(
        "POST",
        "/sign-bindings",
        Some(&json!({"sign_id": basic_key.json["id"], "publish_ids": [publish_id]})),
    );
    assert_eq!(bound.status, 201, "{}", bound.text);
    let with_basic = echoed(&post(b"{}".to_vec()));
    assert_eq!(
        with_basic["headers"]["authorization"],
        basic("gateway", "pa55-word").as_str()
    );

    // Taken offline and published again, the API keeps its key; the log never shows a secret.
    for action in ["offline", "online"] {
        let r = gw.mgmt(
            "POST",
            "/apis/action",
            Some(&json!({"action": action, "api_id": api_id, "env_id": RELEASE})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let again = echoed(&post(b"{}".to_vec()));
    assert!(again["headers"]["authorization"]
        .as_str()
        .unwrap()
        .starts_with("Basic "));
    let log = gw.server.log_text();
    assert!(!log.contains(&secret) && !log.contains(new_secret) && !log.contains("pa55-word"));
}
