//! Moving a whole installation between stores with the real binary: `apigw migrate` from the
//! default SQLite file to PostgreSQL, then `apigw export` / `apigw import` from PostgreSQL back
//! to a new SQLite file. Apps, secrets, AppCodes, APIs, authorizations, users, environment
//! variables and bound domains with their certificates survive both moves and keep working
//! through the gateway; secrets (certificate keys included) never appear in clear on the way.

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";
const SECRET: &str = "Migrate_Secret_0123456789abcdef";
const SIGN_SECRET: &str = "Migrate_Sign_Secret_0123";

/// `apigw <args>` with `envs`; (success, stderr).
fn apigw(args: &[&str], envs: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env_remove("APIGW_DATABASE_URL")
        .env_remove("APIGW_MASTER_KEY")
        .env_remove("APIGW_MASTER_KEY_FILE");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("apigw runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A server with a gateway on `database_url` (a `sqlite://` or `postgres://` URL) and the key
/// in `key_file`.
fn serve(dir: &Path, database_url: &str, key_file: &Path, gateway_port: u16) -> Server {
    Server::start_in(
        dir,
        Opts::default()
            .env("APIGW_DATABASE_URL", database_url)
            .env("APIGW_MASTER_KEY_FILE", key_file.to_str().unwrap())
            .arg("--gateway-http-listen")
            .arg(&format!("127.0.0.1:{gateway_port}"))
            .arg("--allow-app-code-over-http")
            // HTTPS too: it opens the sealed keys of the bound domains' certificates.
            .arg("--gateway-listen")
            .arg("127.0.0.1:0"),
    )
    .expect("server starts")
}

/// The certificate the server's HTTPS listener presents for the bound name `moved.example`.
fn presents(server: &Server) -> Vec<u8> {
    let port = server.port_of("gateway listening (HTTPS)");
    presented_for_name(&format!("https://127.0.0.1:{port}"), Some("moved.example"))
}

/// What the management API shows of the installation: apps (with secrets), AppCodes, APIs,
/// authorizations, features, groups (with their bound domains and certificates), the
/// group's environment variables and gateway responses and the API's versions.
fn picture(server: &Server) -> Value {
    let admin = server.admin();
    let get = |path: &str| {
        let r = server.call("GET", &admin.apig(path), Some(&admin.token), None);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text);
        r.json
    };
    let apps = get("/apps");
    let app_id = apps["apps"][0]["id"].as_str().unwrap().to_owned();
    let groups = get("/api-groups");
    let group_id = groups["groups"][0]["id"].as_str().unwrap().to_owned();
    let channels = get("/vpc-channels");
    let channel = channels["vpc_channels"][0]["id"]
        .as_str()
        .map(|id| get(&format!("/vpc-channels/{id}")));
    json!({
        "channels": channels["vpc_channels"],
        "channel": channel,
        "variables": get(&format!("/env-variables?group_id={group_id}"))["variables"],
        "responses": get(&format!("/api-groups/{group_id}/gateway-responses"))["responses"],
        "apps": apps["apps"],
        "codes": get(&format!("/apps/{app_id}/app-codes"))["app_codes"],
        "apis": get("/apis")["apis"],
        "versions": get(&format!(
            "/apis/publish/{}",
            get("/apis")["apis"][0]["id"].as_str().unwrap()
        ))["api_versions"],
        "auths": get(&format!("/app-auths/binded-apis?app_id={app_id}"))["auths"],
        "features": get("/features")["features"],
        "groups": groups["groups"],
        "signs": get("/signs")["signs"],
        "sign_bindings": get(&format!(
            "/sign-bindings/binded-signs?api_id={}",
            get("/apis")["apis"][0]["id"].as_str().unwrap()
        ))["bindings"],
        "plugins": get(&format!(
            "/apis/{}/attached-plugins",
            get("/apis")["apis"][0]["id"].as_str().unwrap()
        ))["plugins"],
    })
}

/// The publication record of API `api_id` in RELEASE.
fn api_publish_id(server: &Server, admin: &Session, api_id: &str) -> String {
    let api = server.call(
        "GET",
        &admin.apig(&format!("/apis/{api_id}")),
        Some(&admin.token),
        None,
    );
    api.json["publish_id"].as_str().unwrap().to_owned()
}

fn gateway_status(port: u16, code: &str) -> u16 {
    reqwest::blocking::Client::new()
        .get(format!("http://127.0.0.1:{port}/echo/x"))
        .header("X-Apig-AppCode", code)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

fn pg_dump(url: &str) -> String {
    let out = Command::new("pg_dump").arg(url).output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn sqlite_to_postgres_and_back_keeps_everything() {
    if !on_postgres() {
        eprintln!("skipped: moving between stores needs PostgreSQL (APIGW_TEST_DATABASE=postgres)");
        return;
    }
    let backend = EchoBackend::start();
    let home = tempfile::tempdir().unwrap();
    let (dir1, dir2, dir3) = (
        home.path().join("sqlite1"),
        home.path().join("pg"),
        home.path().join("sqlite2"),
    );
    for d in [&dir1, &dir2, &dir3] {
        std::fs::create_dir_all(d).unwrap();
    }
    let key = dir1.join("master.key");
    let sqlite1 = format!("sqlite://{}", dir1.join("apigw.db").display());

    // 1. An installation on SQLite: an app with a chosen secret, an AppCode, a published API
    //    it is authorized for, and a second user.
    let port = free_port();
    let mut server = serve(&dir1, &sqlite1, &key, port);
    let admin = server.admin();
    let post = |path: &str, body: Value| {
        let r = server.call("POST", &admin.apig(path), Some(&admin.token), Some(&body));
        assert_eq!(r.status, 201, "POST {path}: {}", r.text);
        r.json
    };
    let groups = server.call("GET", &admin.apig("/api-groups"), Some(&admin.token), None);
    let group = groups.json["groups"][0]["id"].as_str().unwrap().to_owned();
    // The backend's address is an environment variable: calls work after each move only if
    // the variable moved too.
    let mut body = echo_api_body(&group, "moved_api", backend.port);
    body["backend_api"]["url_domain"] = json!("#backend#");
    let api = post("/apis", body);
    post(
        "/env-variables",
        json!({"group_id": group, "env_id": RELEASE, "variable_name": "backend",
               "variable_value": format!("127.0.0.1:{}", backend.port)}),
    );
    // The group's default gateway response changed, and one more response.
    let changed = server.call(
        "PUT",
        &admin.apig(&format!(
            "/api-groups/{group}/gateway-responses/{group}/NOT_FOUND"
        )),
        Some(&admin.token),
        Some(&json!({"status": 410, "body": "{\"moved\":\"$context.error.code\"}"})),
    );
    assert_eq!(changed.status, 200, "{}", changed.text);
    post(
        &format!("/api-groups/{group}/gateway-responses"),
        json!({"name": "moved_response", "responses": {"THROTTLED": {"status": 503}}}),
    );
    let api_id = api["id"].as_str().unwrap();
    post(
        "/apis/action",
        json!({"action": "online", "api_id": api_id, "env_id": RELEASE}),
    );
    let app = post(
        "/apps",
        json!({"name": "moved_app", "app_key": "Migrate_Key_0123456789", "app_secret": SECRET}),
    );
    let app_id = app["id"].as_str().unwrap().to_owned();
    let code = server.call(
        "PUT",
        &admin.apig(&format!("/apps/{app_id}/app-codes")),
        Some(&admin.token),
        None,
    );
    assert_eq!(code.status, 201, "{}", code.text);
    let code = code.json["app_code"].as_str().unwrap().to_owned();
    post(
        "/app-auths",
        json!({"env_id": RELEASE, "app_ids": [app_id], "api_ids": [api_id]}),
    );
    post(
        "/features",
        json!({"name": "app_basic", "enable": true, "config": "on"}),
    );
    let domain = post(
        &format!("/api-groups/{group}/domains"),
        json!({"url_domain": "moved.example"}),
    );
    let pair = apigw_gateway::tls::self_signed_pem(&["moved.example".into()]).unwrap();
    // With a trusted root CA (client verification then turned off, so the plain handshakes
    // below still work): the CA moves too.
    let clients_ca = apigw_gateway::tls::self_signed_pem(&["clients.example".into()]).unwrap();
    let domain_path = format!(
        "/api-groups/{group}/domains/{}",
        domain["id"].as_str().unwrap()
    );
    post(
        &format!("{domain_path}/certificate"),
        json!({"name": "moved_cert", "cert_content": pair.0, "private_key": pair.1,
            "trusted_root_ca": clients_ca.0}),
    );
    let off = server.call(
        "PUT",
        &admin.apig(&domain_path),
        Some(&admin.token),
        Some(&json!({"verified_client_certificate_enabled": false})),
    );
    assert_eq!(off.status, 200, "{}", off.text);
    // A signature key bound to the API (its secret sealed like the AppSecret).
    let sign = post(
        "/signs",
        json!({"name": "moved_sign", "sign_secret": SIGN_SECRET}),
    );
    let publish_id = api_publish_id(&server, &admin, api_id);
    post(
        "/sign-bindings",
        json!({"sign_id": sign["id"], "publish_ids": [publish_id]}),
    );
    // A plug-in attached to the API.
    let plugin = post(
        "/plugins",
        json!({"plugin_name": "moved_plugin", "plugin_type": "set_resp_headers",
            "plugin_scope": "global", "plugin_content":
            r#"{"response_headers":[{"name":"x-moved","value":"yes","action":"add"}]}"#}),
    );
    post(
        &format!("/apis/{api_id}/plugins/attach"),
        json!({"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID", "plugin_ids": [plugin["plugin_id"]]}),
    );
    // A VPC channel with its servers, a backend server group and a health check.
    post(
        "/vpc-channels",
        json!({"name": "moved_channel", "port": 8080, "member_type": "ip",
            "member_groups": [{"member_group_name": "moved_group", "member_group_weight": 5}],
            "members": [{"host": "10.0.0.1", "weight": 3, "member_group_name": "moved_group"},
                        {"host": "10.0.0.2", "is_backup": true}],
            "vpc_health_config": {"protocol": "TCP", "threshold_normal": 2,
                "threshold_abnormal": 2, "time_interval": 10, "timeout": 5}}),
    );
    // The key's longest base64 line: it must not appear in clear anywhere.
    let key_line = pair.1.lines().max_by_key(|l| l.len()).unwrap().to_owned();
    let user = server.user_session(&admin, "moved_user", "admin", "member");
    assert_eq!(gateway_status(port, &code), 200);
    let before = picture(&server);
    let moved_domain = &before["groups"][0]["url_domains"][0];
    assert_eq!(
        moved_domain["is_has_trusted_root_ca"], true,
        "{moved_domain}"
    );
    assert_eq!(before["features"][0]["name"], "app_basic");
    assert_eq!(before["variables"][0]["variable_name"], "backend");
    assert_eq!(before["versions"][0]["status"], 1);
    assert_eq!(before["sign_bindings"][0]["sign_name"], "moved_sign");
    assert_eq!(before["plugins"][0]["plugin_name"], "moved_plugin");
    assert_eq!(before["channel"]["members"][1]["is_backup"], true);
    let group = &before["channel"]["member_groups"][0];
    assert_eq!(group["member_group_weight"], 5);
    assert_eq!(
        before["channel"]["members"][0]["member_group_id"],
        group["member_group_id"]
    );
    assert_eq!(server.terminate(), Some(0));

    // 2. migrate SQLite → PostgreSQL.
    let pg = TestDatabase::create();
    let key_env = ("APIGW_MASTER_KEY_FILE", key.to_str().unwrap());
    let (ok, err) = apigw(
        &[
            "migrate",
            "--data-dir",
            dir1.to_str().unwrap(),
            "--to",
            &pg.url,
        ],
        &[key_env],
    );
    assert!(ok, "migrate failed: {err}");
    assert!(err.contains("imported"), "{err}");
    let dump = pg_dump(&pg.url);
    assert!(dump.contains("moved_app"), "the rows are in PostgreSQL");
    for secret in [
        SECRET,
        SIGN_SECRET,
        code.as_str(),
        user.token.as_str(),
        key_line.as_str(),
    ] {
        assert!(!dump.contains(secret), "{secret} in clear in PostgreSQL");
    }

    // A second migrate into the same database is refused and changes nothing.
    let (ok, err) = apigw(
        &[
            "migrate",
            "--data-dir",
            dir1.to_str().unwrap(),
            "--to",
            &pg.url,
        ],
        &[key_env],
    );
    assert!(
        !ok && err.contains("already holds an installation"),
        "{err}"
    );

    let port = free_port();
    let mut server = serve(&dir2, &pg.url, &key, port);
    assert_eq!(picture(&server), before);
    // The gateway answers with the moved gateway response.
    let nothing = reqwest::blocking::get(format!("http://127.0.0.1:{port}/nothing")).unwrap();
    assert_eq!(nothing.status(), 410);
    assert_eq!(nothing.text().unwrap(), r#"{"moved":"APIG.0101"}"#);
    assert_eq!(
        presents(&server),
        der_of(&pair.0),
        "the certificate's key opened"
    );
    assert_eq!(gateway_status(port, &code), 200);
    let login = server.login("moved_user", "user-password-1", "admin");
    assert_eq!(
        login.status, 201,
        "the user's password survives: {}",
        login.text
    );
    assert_eq!(server.terminate(), Some(0));

    // 3. export from PostgreSQL to a file, import into a new SQLite installation.
    let file = home.path().join("dump.json");
    let (ok, err) = apigw(
        &[
            "export",
            "--database-url",
            &pg.url,
            "--output",
            file.to_str().unwrap(),
        ],
        &[key_env],
    );
    assert!(ok, "export failed: {err}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("moved_app"));
    for secret in [SECRET, SIGN_SECRET, code.as_str(), key_line.as_str()] {
        assert!(!text.contains(secret), "{secret} in clear in the dump");
    }
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // The dump refuses another master key.
    let other = home.path().join("other.key");
    let (ok, err) = apigw(
        &[
            "import",
            "--data-dir",
            home.path().join("x").to_str().unwrap(),
            "--input",
            file.to_str().unwrap(),
        ],
        &[("APIGW_MASTER_KEY_FILE", other.to_str().unwrap())],
    );
    assert!(!ok && err.contains("another master key"), "{err}");

    let (ok, err) = apigw(
        &[
            "import",
            "--data-dir",
            dir3.to_str().unwrap(),
            "--input",
            file.to_str().unwrap(),
        ],
        &[key_env],
    );
    assert!(ok, "import failed: {err}");
    let port = free_port();
    let sqlite2 = format!("sqlite://{}", dir3.join("apigw.db").display());
    let server = serve(&dir3, &sqlite2, &key, port);
    assert_eq!(picture(&server), before);
    assert_eq!(
        presents(&server),
        der_of(&pair.0),
        "the certificate's key opened"
    );
    assert_eq!(gateway_status(port, &code), 200);
}

#[test]
fn export_of_a_missing_installation_is_refused_and_creates_nothing() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("typo");
    let (ok, err) = apigw(
        &[
            "export",
            "--data-dir",
            dir.to_str().unwrap(),
            "--output",
            "-",
        ],
        &[],
    );
    assert!(!ok && err.contains("no installation at"), "{err}");
    assert!(!dir.exists(), "export created {}", dir.display());
}
