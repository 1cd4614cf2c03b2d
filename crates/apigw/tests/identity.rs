//! The built-in Keystone v3 subset (spec §7.1, §7.2, DESIGN "Identity"): token issue, validation
//! and revocation, projects, users, roles, and how tokens and roles gate the APIG v2 paths.

mod common;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A request with arbitrary headers (the harness only sets `X-Auth-Token`).
fn send(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Reply {
    let mut req = server.client.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        server.url(path),
    );
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    Reply::from(req.send().expect("request sent"))
}

/// `GET|HEAD|DELETE /v3/auth/tokens` as `caller` about `subject`.
fn token_call(server: &Server, method: &str, caller: &str, subject: &str) -> Reply {
    send(
        server,
        method,
        "/v3/auth/tokens",
        &[("X-Auth-Token", caller), ("X-Subject-Token", subject)],
        None,
    )
}

fn password_body(user: Value, password: &str, scope: Value) -> Value {
    let mut u = user;
    u["password"] = json!(password);
    json!({"auth": {"identity": {"methods": ["password"], "password": {"user": u}}, "scope": scope}})
}

fn is_hex32(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn parse_time(v: &Value) -> OffsetDateTime {
    let s = v.as_str().unwrap_or_else(|| panic!("time string, got {v}"));
    assert!(s.ends_with('Z'), "UTC time: {s}");
    OffsetDateTime::parse(s, &Rfc3339).unwrap_or_else(|e| panic!("RFC 3339 time {s}: {e}"))
}

/// Asserts the Keystone `error` object that `/v3` errors carry besides `error_code`/`error_msg`.
fn assert_keystone_error(r: &Reply, title: &str) {
    let e = &r.json["error"];
    assert_eq!(e["code"], r.status, "error.code of {}", r.text);
    assert_eq!(e["title"], title, "error.title of {}", r.text);
    assert_eq!(
        e["message"], r.json["error_msg"],
        "error.message of {}",
        r.text
    );
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        r.text
    );
}

fn create_project(server: &Server, admin: &Session, name: &str) -> Reply {
    server.call(
        "POST",
        "/v3/projects",
        Some(&admin.token),
        Some(&json!({"project": {"name": name, "domain_id": "default", "description": "project of tests"}})),
    )
}

fn create_user(server: &Server, admin: &Session, name: &str, project_id: &str) -> Reply {
    server.call(
        "POST",
        "/v3/users",
        Some(&admin.token),
        Some(&json!({"user": {"name": name, "password": "user-password-1", "domain_id": "default", "default_project_id": project_id}})),
    )
}

fn create_app(server: &Server, s: &Session, name: &str) -> Value {
    let r = server.call(
        "POST",
        &s.apig("/apps"),
        Some(&s.token),
        Some(&json!({"name": name})),
    );
    assert_eq!(r.status, 201, "create app: {}", r.text);
    r.json
}

// ---- POST /v3/auth/tokens ------------------------------------------------------------------

#[test]
fn login_returns_keystone_token_with_catalog() {
    let server = Server::start();
    let r = server.login("admin", ADMIN_PASSWORD, "admin");
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.header("x-subject-token").expect("X-Subject-Token header");
    assert!(!token.is_empty());
    assert!(r
        .header("content-type")
        .unwrap_or_default()
        .starts_with("application/json"));
    let t = &r.json["token"];
    assert_eq!(t["methods"], json!(["password"]));
    let issued = parse_time(&t["issued_at"]);
    let expires = parse_time(&t["expires_at"]);
    let ttl = expires - issued;
    assert!(
        ttl > time::Duration::hours(23) && ttl <= time::Duration::hours(24),
        "default validity is 24 h: {ttl}"
    );
    let now = OffsetDateTime::now_utc();
    assert!(
        (now - issued).abs() < time::Duration::minutes(5),
        "issued_at is now: {issued}"
    );

    assert!(is_hex32(t["user"]["id"].as_str().unwrap()), "{}", r.text);
    assert_eq!(t["user"]["name"], "admin");
    assert_eq!(t["user"]["domain"]["name"], "Default");
    assert!(t["user"]["domain"]["id"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert!(is_hex32(t["project"]["id"].as_str().unwrap()), "{}", r.text);
    assert_eq!(t["project"]["name"], "admin");
    assert_eq!(t["project"]["domain"]["name"], "Default");
    assert!(t["project"]["domain"]["id"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    let roles: Vec<&str> = t["roles"]
        .as_array()
        .expect("roles array")
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(roles.contains(&"admin"), "{roles:?}");
    for role in t["roles"].as_array().unwrap() {
        assert!(role["id"].is_string(), "{role}");
    }

    let catalog = t["catalog"].as_array().expect("catalog array");
    let want = format!("{}/v2", server.base);
    for kind in ["apigv2", "apig"] {
        let svc = catalog
            .iter()
            .find(|s| s["type"] == kind)
            .unwrap_or_else(|| panic!("catalog has type {kind}: {}", r.text));
        let eps = svc["endpoints"].as_array().expect("endpoints");
        assert!(!eps.is_empty());
        assert!(
            eps.iter()
                .any(|e| e["url"] == want.as_str() && e["interface"] == "public"),
            "{kind} endpoint url {want}: {svc}"
        );
        for e in eps {
            assert!(e["id"].is_string() && e["region"].is_string(), "{e}");
        }
    }

    // The token works on the management API.
    let admin = Session::from_login(&server, &r);
    let apps = server.call("GET", &admin.apig("/apps"), Some(token), None);
    assert_eq!(apps.status, 200, "{}", apps.text);
}

#[test]
fn nocatalog_omits_the_catalog() {
    let server = Server::start();
    let body = password_body(
        json!({"name": "admin", "domain": {"name": "Default"}}),
        ADMIN_PASSWORD,
        json!({"project": {"name": "admin", "domain": {"name": "Default"}}}),
    );
    let r = server.call("POST", "/v3/auth/tokens?nocatalog=1", None, Some(&body));
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.header("x-subject-token").is_some());
    assert!(r.json["token"].get("catalog").is_none(), "{}", r.text);
    assert_eq!(r.json["token"]["user"]["name"], "admin");
    assert_eq!(r.json["token"]["project"]["name"], "admin");

    let full = server.call("POST", "/v3/auth/tokens", None, Some(&body));
    assert!(full.json["token"]["catalog"].is_array(), "{}", full.text);
}

#[test]
fn login_by_user_id_and_scope_by_project_id() {
    let server = Server::start();
    let admin = server.admin();
    let body = password_body(
        json!({"id": admin.user_id}),
        ADMIN_PASSWORD,
        json!({"project": {"id": admin.project_id}}),
    );
    let r = server.call("POST", "/v3/auth/tokens", None, Some(&body));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["token"]["user"]["id"], admin.user_id.as_str());
    assert_eq!(r.json["token"]["user"]["name"], "admin");
    assert_eq!(r.json["token"]["project"]["id"], admin.project_id.as_str());
    assert_eq!(r.json["token"]["project"]["name"], "admin");
    let token = r.header("x-subject-token").unwrap();
    assert_ne!(token, admin.token, "every login issues a new token");
    let list = server.call("GET", &admin.apig("/apps"), Some(token), None);
    assert_eq!(list.status, 200, "{}", list.text);

    // Name login scoped by project id works too.
    let body = password_body(
        json!({"name": "admin", "domain": {"name": "Default"}}),
        ADMIN_PASSWORD,
        json!({"project": {"id": admin.project_id}}),
    );
    let r = server.call("POST", "/v3/auth/tokens", None, Some(&body));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["token"]["project"]["id"], admin.project_id.as_str());
}

#[test]
fn wrong_password_and_unknown_user_look_the_same() {
    let server = Server::start();
    let wrong = server.login("admin", "not-the-password", "admin");
    let unknown = server.login("nobody", "not-the-password", "admin");
    let unknown_id = server.call(
        "POST",
        "/v3/auth/tokens",
        None,
        Some(&password_body(
            json!({"id": "0123456789abcdef0123456789abcdef"}),
            "whatever1",
            json!({"project": {"name": "admin"}}),
        )),
    );
    for r in [&wrong, &unknown, &unknown_id] {
        assert_eq!(r.status, 401, "{}", r.text);
        assert!(r.header("x-subject-token").is_none());
        assert!(
            r.json["error_code"]
                .as_str()
                .is_some_and(|c| c.starts_with("APIG.")),
            "{}",
            r.text
        );
        assert!(r.json["error_msg"].is_string(), "{}", r.text);
        assert_keystone_error(r, "Unauthorized");
        assert_eq!(r.header("x-request-id").map(str::len), Some(32));
    }
    assert_eq!(wrong.json["error_code"], unknown.json["error_code"]);
    assert_eq!(wrong.json["error_msg"], unknown.json["error_msg"]);
    assert_eq!(wrong.json["error_msg"], unknown_id.json["error_msg"]);
}

// ---- GET / HEAD / DELETE /v3/auth/tokens ----------------------------------------------------

#[test]
fn validate_token_with_get_and_head() {
    let server = Server::start();
    let admin = server.admin();
    let second = Session::from_login(&server, &server.login("admin", ADMIN_PASSWORD, "admin"));

    let r = token_call(&server, "GET", &admin.token, &second.token);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-subject-token"), Some(second.token.as_str()));
    assert_eq!(r.json["token"]["user"]["id"], admin.user_id.as_str());
    assert_eq!(r.json["token"]["user"]["name"], "admin");
    assert_eq!(r.json["token"]["project"]["id"], admin.project_id.as_str());
    assert_eq!(r.json["token"]["methods"], json!(["password"]));
    assert!(r.json["token"]["catalog"].is_array(), "{}", r.text);
    parse_time(&r.json["token"]["expires_at"]);

    let r = send(
        &server,
        "GET",
        "/v3/auth/tokens?nocatalog=true",
        &[
            ("X-Auth-Token", &admin.token),
            ("X-Subject-Token", &admin.token),
        ],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json["token"].get("catalog").is_none(), "{}", r.text);

    let r = token_call(&server, "HEAD", &admin.token, &second.token);
    assert_eq!(r.status, 200);
    assert!(r.text.is_empty());

    let unknown = "f".repeat(64);
    let r = token_call(&server, "GET", &admin.token, &unknown);
    assert_eq!(r.status, 404, "{}", r.text);
    assert_keystone_error(&r, "Not Found");
    let r = token_call(&server, "HEAD", &admin.token, &unknown);
    assert_eq!(r.status, 404);
}

#[test]
fn non_admin_may_validate_only_its_own_token() {
    let server = Server::start();
    let admin = server.admin();
    let alice = server.user_session(&admin, "alice", "proj_a", "member");

    let own = token_call(&server, "GET", &alice.token, &alice.token);
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json["token"]["user"]["name"], "alice");
    assert_eq!(
        own.json["token"]["project"]["id"],
        alice.project_id.as_str()
    );
    let roles = own.json["token"]["roles"].as_array().unwrap();
    assert!(roles.iter().any(|r| r["name"] == "member"), "{}", own.text);

    let other = token_call(&server, "GET", &alice.token, &admin.token);
    other.assert_error(
        403,
        "APIG.1005",
        Some("No permissions to request this method"),
    );
    assert_keystone_error(&other, "Forbidden");
    let other = token_call(&server, "HEAD", &alice.token, &admin.token);
    assert_eq!(other.status, 403);
    let other = token_call(&server, "DELETE", &alice.token, &admin.token);
    other.assert_error(403, "APIG.1005", None);
    // The admin's token was not revoked by the refused call.
    assert_eq!(
        server
            .call("GET", &admin.apig("/apps"), Some(&admin.token), None)
            .status,
        200
    );

    // The admin may validate anyone's.
    let r = token_call(&server, "GET", &admin.token, &alice.token);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["token"]["user"]["id"], alice.user_id.as_str());
}

#[test]
fn revoked_token_is_refused() {
    let server = Server::start();
    let admin = server.admin();
    let doomed = Session::from_login(&server, &server.login("admin", ADMIN_PASSWORD, "admin"));
    assert_eq!(
        server
            .call("GET", &doomed.apig("/apps"), Some(&doomed.token), None)
            .status,
        200
    );

    let r = token_call(&server, "DELETE", &doomed.token, &doomed.token);
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());

    let r = server.call("GET", &doomed.apig("/apps"), Some(&doomed.token), None);
    r.assert_error(
        401,
        "APIG.1002",
        Some("Incorrect token or token resolution failed"),
    );
    let r = token_call(&server, "GET", &admin.token, &doomed.token);
    assert_eq!(
        r.status, 404,
        "revoked token no longer validates: {}",
        r.text
    );
    let r = token_call(&server, "HEAD", &admin.token, &doomed.token);
    assert_eq!(r.status, 404);

    // Other tokens of the same user stay valid.
    assert_eq!(
        server
            .call("GET", &admin.apig("/apps"), Some(&admin.token), None)
            .status,
        200
    );

    // An admin may revoke another token.
    let other = Session::from_login(&server, &server.login("admin", ADMIN_PASSWORD, "admin"));
    assert_eq!(
        token_call(&server, "DELETE", &admin.token, &other.token).status,
        204
    );
    server
        .call("GET", &other.apig("/apps"), Some(&other.token), None)
        .assert_error(401, "APIG.1002", None);
}

// ---- token errors on management calls -------------------------------------------------------

#[test]
fn missing_token_is_apig_1000() {
    let server = Server::start();
    let admin = server.admin();
    for (method, path) in [
        ("GET", admin.apig("/apps")),
        ("POST", admin.apig("/apps")),
        ("GET", format!("/v2/{}/apigw/instances", admin.project_id)),
        ("GET", admin.modelarts("/apps")),
        ("GET", "/v3/projects".to_owned()),
    ] {
        let body = json!({"name": "app_x"});
        let r = server.call(method, &path, None, (method == "POST").then_some(&body));
        r.assert_error(401, "APIG.1000", Some("The token is missing."));
    }
    let r = server.call("GET", "/v3/users", None, None);
    r.assert_error(401, "APIG.1000", Some("The token is missing."));
    assert_keystone_error(&r, "Unauthorized");
    let r = send(
        &server,
        "GET",
        "/v3/auth/tokens",
        &[("X-Subject-Token", &admin.token)],
        None,
    );
    r.assert_error(401, "APIG.1000", Some("The token is missing."));
    assert_keystone_error(&r, "Unauthorized");
    let r = server.call("GET", "/v3/no-such-thing", Some(&admin.token), None);
    r.assert_error(404, "APIG.0101", None);
    assert_keystone_error(&r, "Not Found");
    // Nothing was created by the refused POST.
    let list = server.call("GET", &admin.apig("/apps"), Some(&admin.token), None);
    assert_eq!(list.json["total"], 0, "{}", list.text);
}

#[test]
fn garbage_token_is_apig_1002() {
    let server = Server::start();
    let admin = server.admin();
    for garbage in [
        "garbage",
        "MIIDkgYJKoZIhvcNAQcCoII",
        &"0".repeat(64),
        &"x".repeat(2000),
    ] {
        let r = server.call("GET", &admin.apig("/apps"), Some(garbage), None);
        r.assert_error(
            401,
            "APIG.1002",
            Some("Incorrect token or token resolution failed"),
        );
    }
    let r = server.call("GET", "/v3/projects", Some("garbage"), None);
    r.assert_error(401, "APIG.1002", None);
    assert_keystone_error(&r, "Unauthorized");
}

#[test]
fn expired_token_is_apig_1001() {
    let server = Server::start_with(Opts::default().arg("--token-ttl").arg("2s"));
    let admin = server.admin();
    assert_eq!(
        server
            .call("GET", &admin.apig("/apps"), Some(&admin.token), None)
            .status,
        200
    );
    std::thread::sleep(Duration::from_secs(3));
    let r = server.call("GET", &admin.apig("/apps"), Some(&admin.token), None);
    r.assert_error(
        401,
        "APIG.1001",
        Some("Session expired. Please try again later."),
    );
    let r = server.call(
        "POST",
        &admin.apig("/apps"),
        Some(&admin.token),
        Some(&json!({"name": "too_late"})),
    );
    r.assert_error(401, "APIG.1001", None);

    // A fresh token works, and does not validate the expired one.
    let fresh = server.admin();
    let r = token_call(&server, "GET", &fresh.token, &admin.token);
    assert_eq!(
        r.status, 404,
        "an expired subject token is not valid: {}",
        r.text
    );
    let list = server.call("GET", &fresh.apig("/apps"), Some(&fresh.token), None);
    assert_eq!(list.status, 200);
    assert_eq!(list.json["total"], 0, "the refused POST created nothing");
}

#[test]
fn tokens_stay_valid_across_a_restart() {
    let mut server = Server::start();
    let admin = server.admin();
    let app = create_app(&server, &admin, "survivor");
    let dir = server.keep_dir();
    assert_eq!(server.terminate(), Some(0), "clean exit on SIGTERM");

    let restarted =
        Server::start_in(dir.path(), Opts::default()).expect("restart on the same data");
    let r = restarted.call(
        "GET",
        &admin.apig(&format!("/apps/{}", app["id"].as_str().unwrap())),
        Some(&admin.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["name"], "survivor");
    assert_eq!(r.json["app_secret"], app["app_secret"]);
    let v = token_call(&restarted, "GET", &admin.token, &admin.token);
    assert_eq!(v.status, 200, "{}", v.text);
    // The bootstrap did not run again: the admin password still works and the ids are the same.
    let again = restarted.admin();
    assert_eq!(again.project_id, admin.project_id);
    assert_eq!(again.instance_id, admin.instance_id);
}

// ---- projects, users, roles -----------------------------------------------------------------

#[test]
fn projects_create_list_show() {
    let server = Server::start();
    let admin = server.admin();
    let r = create_project(&server, &admin, "proj_a");
    assert_eq!(r.status, 201, "{}", r.text);
    let p = &r.json["project"];
    let id = p["id"].as_str().expect("project id").to_owned();
    assert!(is_hex32(&id), "{id}");
    assert_eq!(p["name"], "proj_a");
    assert_eq!(p["domain_id"], "default");
    assert_eq!(p["description"], "project of tests");
    assert_eq!(p["enabled"], true);
    assert!(
        p["links"]["self"]
            .as_str()
            .is_some_and(|l| l.ends_with(&format!("/v3/projects/{id}"))),
        "{}",
        r.text
    );

    let dup = create_project(&server, &admin, "proj_a");
    assert_eq!(dup.status, 409, "{}", dup.text);
    assert!(
        dup.json["error_code"].is_string() && dup.json["error_msg"].is_string(),
        "{}",
        dup.text
    );
    assert_keystone_error(&dup, "Conflict");

    let list = server.call("GET", "/v3/projects", Some(&admin.token), None);
    assert_eq!(list.status, 200, "{}", list.text);
    let names: Vec<&str> = list.json["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"admin") && names.contains(&"proj_a"),
        "{names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| **n == "proj_a").count(),
        1,
        "duplicate not stored"
    );

    let by_name = server.call("GET", "/v3/projects?name=proj_a", Some(&admin.token), None);
    assert_eq!(by_name.status, 200);
    assert_eq!(
        by_name.json["projects"].as_array().unwrap().len(),
        1,
        "{}",
        by_name.text
    );
    assert_eq!(by_name.json["projects"][0]["id"], id.as_str());

    let one = server.call(
        "GET",
        &format!("/v3/projects/{id}"),
        Some(&admin.token),
        None,
    );
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(one.json["project"], *p);

    let missing = server.call(
        "GET",
        &format!("/v3/projects/{}", "0".repeat(32)),
        Some(&admin.token),
        None,
    );
    assert_eq!(missing.status, 404, "{}", missing.text);
    assert_keystone_error(&missing, "Not Found");
}

#[test]
fn a_new_project_gets_a_default_instance() {
    let server = Server::start();
    let admin = server.admin();
    let bob = server.user_session(&admin, "bob", "proj_b", "member");
    assert_ne!(bob.project_id, admin.project_id);
    let r = server.call(
        "GET",
        &format!("/v2/{}/apigw/instances", bob.project_id),
        Some(&bob.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["total"], 1, "{}", r.text);
    assert_eq!(r.json["size"], 1);
    let inst = &r.json["instances"][0];
    assert_eq!(inst["instance_name"], "default");
    assert!(is_hex32(inst["id"].as_str().unwrap()));
    assert_eq!(inst["id"], bob.instance_id.as_str());
    assert_ne!(bob.instance_id, admin.instance_id);
    // The new instance is usable right away and starts empty.
    let apps = server.call("GET", &bob.apig("/apps"), Some(&bob.token), None);
    assert_eq!(apps.status, 200, "{}", apps.text);
    assert_eq!(apps.json["total"], 0);
}

#[test]
fn users_create_list_duplicate() {
    let server = Server::start();
    let admin = server.admin();
    let r = create_user(&server, &admin, "carol", &admin.project_id);
    assert_eq!(r.status, 201, "{}", r.text);
    let u = &r.json["user"];
    let id = u["id"].as_str().unwrap().to_owned();
    assert!(is_hex32(&id), "{id}");
    assert_eq!(u["name"], "carol");
    assert_eq!(u["domain_id"], "default");
    assert_eq!(u["default_project_id"], admin.project_id.as_str());
    assert_eq!(u["enabled"], true);
    assert!(
        u.get("password").is_none(),
        "password never echoed: {}",
        r.text
    );
    assert!(!r.text.contains("user-password-1"));

    let dup = create_user(&server, &admin, "carol", &admin.project_id);
    assert_eq!(dup.status, 409, "{}", dup.text);
    assert_keystone_error(&dup, "Conflict");

    let list = server.call("GET", "/v3/users", Some(&admin.token), None);
    assert_eq!(list.status, 200, "{}", list.text);
    let users = list.json["users"].as_array().unwrap();
    let names: Vec<&str> = users.iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert!(
        names.contains(&"admin") && names.contains(&"carol"),
        "{names:?}"
    );
    assert_eq!(names.iter().filter(|n| **n == "carol").count(), 1);
    assert!(users.iter().all(|u| u.get("password").is_none()));

    let one = server.call("GET", &format!("/v3/users/{id}"), Some(&admin.token), None);
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(one.json["user"]["name"], "carol");
}

#[test]
fn non_admins_cannot_manage_identity() {
    let server = Server::start();
    let admin = server.admin();
    let member = server.user_session(&admin, "dave", "proj_d", "member");
    let forbidden = [
        server.call("POST", "/v3/projects", Some(&member.token), Some(&json!({"project": {"name": "evil", "domain_id": "default"}}))),
        server.call(
            "POST",
            "/v3/users",
            Some(&member.token),
            Some(&json!({"user": {"name": "evil", "password": "evil-password", "domain_id": "default"}})),
        ),
        server.call("GET", "/v3/users", Some(&member.token), None),
        server.call(
            "PUT",
            &format!("/v3/projects/{}/users/{}/roles/admin", admin.project_id, member.user_id),
            Some(&member.token),
            None,
        ),
    ];
    for r in &forbidden {
        r.assert_error(
            403,
            "APIG.1005",
            Some("No permissions to request this method"),
        );
        assert_keystone_error(r, "Forbidden");
    }
    // Nothing was created.
    let projects = server.call("GET", "/v3/projects?name=evil", Some(&admin.token), None);
    assert_eq!(projects.json["projects"], json!([]), "{}", projects.text);
    let users = server.call("GET", "/v3/users?name=evil", Some(&admin.token), None);
    assert_eq!(users.json["users"], json!([]), "{}", users.text);
    // A non-admin lists only the projects it holds a role on, and cannot read others.
    let mine = server.call("GET", "/v3/projects", Some(&member.token), None);
    assert_eq!(mine.status, 200, "{}", mine.text);
    let names: Vec<&str> = mine.json["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["proj_d"]);
    let r = server.call(
        "GET",
        &format!("/v3/projects/{}", admin.project_id),
        Some(&member.token),
        None,
    );
    r.assert_error(403, "APIG.1005", None);
    let own = server.call(
        "GET",
        &format!("/v3/projects/{}", member.project_id),
        Some(&member.token),
        None,
    );
    assert_eq!(own.status, 200, "{}", own.text);
    // And the member did not become admin of the admin project.
    assert_eq!(server.login("dave", "user-password-1", "admin").status, 401);
}

#[test]
fn roles_list_and_assignment() {
    let server = Server::start();
    let admin = server.admin();
    let roles = server.call("GET", "/v3/roles", Some(&admin.token), None);
    assert_eq!(roles.status, 200, "{}", roles.text);
    let mut names: Vec<&str> = roles.json["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["admin", "member", "reader"]);
    for r in roles.json["roles"].as_array().unwrap() {
        assert!(r["id"].is_string(), "{r}");
    }

    let p = create_project(&server, &admin, "proj_e");
    let project_id = p.json["project"]["id"].as_str().unwrap().to_owned();
    let u = create_user(&server, &admin, "erin", &project_id);
    let user_id = u.json["user"]["id"].as_str().unwrap().to_owned();

    // Without a role on the project the user cannot obtain a token for it.
    let r = server.login("erin", "user-password-1", "proj_e");
    assert_eq!(r.status, 401, "{}", r.text);

    let bad = server.call(
        "PUT",
        &format!("/v3/projects/{project_id}/users/{user_id}/roles/superuser"),
        Some(&admin.token),
        None,
    );
    assert_eq!(bad.status, 404, "{}", bad.text);
    assert_keystone_error(&bad, "Not Found");
    assert_eq!(
        server.login("erin", "user-password-1", "proj_e").status,
        401
    );

    let ok = server.call(
        "PUT",
        &format!("/v3/projects/{project_id}/users/{user_id}/roles/reader"),
        Some(&admin.token),
        None,
    );
    assert_eq!(ok.status, 204, "{}", ok.text);
    assert!(ok.text.is_empty());
    let r = server.login("erin", "user-password-1", "proj_e");
    assert_eq!(r.status, 201, "{}", r.text);
    let roles: Vec<&str> = r.json["token"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["reader"]);
    // Idempotent.
    let again = server.call(
        "PUT",
        &format!("/v3/projects/{project_id}/users/{user_id}/roles/reader"),
        Some(&admin.token),
        None,
    );
    assert_eq!(again.status, 204, "{}", again.text);
}

// ---- roles and projects on APIG paths -------------------------------------------------------

#[test]
fn reader_may_read_but_not_write() {
    let server = Server::start();
    let admin = server.admin();
    let reader = server.user_session(&admin, "rita", "proj_r", "reader");
    let list = server.call("GET", &reader.apig("/apps"), Some(&reader.token), None);
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.json["total"], 0);
    let r = server.call(
        "POST",
        &reader.apig("/apps"),
        Some(&reader.token),
        Some(&json!({"name": "nope_app"})),
    );
    r.assert_error(
        403,
        "APIG.1005",
        Some("No permissions to request this method"),
    );
    let list = server.call("GET", &reader.apig("/apps"), Some(&reader.token), None);
    assert_eq!(list.json["total"], 0, "nothing stored: {}", list.text);
    let r = server.call(
        "POST",
        &format!("/v2/{}/apigw/instances", reader.project_id),
        Some(&reader.token),
        Some(&json!({"instance_name": "nope_inst"})),
    );
    r.assert_error(403, "APIG.1005", None);
}

#[test]
fn member_may_create_apps() {
    let server = Server::start();
    let admin = server.admin();
    let member = server.user_session(&admin, "mia", "proj_m", "member");
    let app = create_app(&server, &member, "member_app");
    let id = app["id"].as_str().unwrap();
    let got = server.call(
        "GET",
        &member.apig(&format!("/apps/{id}")),
        Some(&member.token),
        None,
    );
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json["name"], "member_app");
    let list = server.call("GET", &member.apig("/apps"), Some(&member.token), None);
    assert_eq!(list.json["total"], 1);
    // The app lives in the member's project, not in the admin's.
    let admin_list = server.call("GET", &admin.apig("/apps"), Some(&admin.token), None);
    assert_eq!(admin_list.json["total"], 0, "{}", admin_list.text);
    let del = server.call(
        "DELETE",
        &member.apig(&format!("/apps/{id}")),
        Some(&member.token),
        None,
    );
    assert_eq!(del.status, 204, "{}", del.text);
}

#[test]
fn token_of_one_project_on_another_projects_path_is_403() {
    let server = Server::start();
    let admin = server.admin();
    let alice = server.user_session(&admin, "alice", "proj_a", "member");
    let admin_app = create_app(&server, &admin, "admin_app");
    let admin_app_id = admin_app["id"].as_str().unwrap();
    let calls = [
        ("GET", admin.apig("/apps"), None),
        (
            "POST",
            admin.apig("/apps"),
            Some(json!({"name": "intruder"})),
        ),
        ("GET", admin.apig(&format!("/apps/{admin_app_id}")), None),
        ("DELETE", admin.apig(&format!("/apps/{admin_app_id}")), None),
        (
            "GET",
            format!("/v2/{}/apigw/instances", admin.project_id),
            None,
        ),
        ("GET", admin.modelarts("/apps"), None),
        // A project that does not exist at all answers the same.
        (
            "GET",
            format!(
                "/v2/{}/apigw/instances/{}/apps",
                "0".repeat(32),
                admin.instance_id
            ),
            None,
        ),
    ];
    for (method, path, body) in &calls {
        let r = server.call(method, path, Some(&alice.token), body.as_ref());
        r.assert_error(
            403,
            "APIG.1005",
            Some("No permissions to request this method"),
        );
    }
    // Even an admin of project admin cannot use project A's paths with the admin token.
    let r = server.call("GET", &alice.apig("/apps"), Some(&admin.token), None);
    r.assert_error(403, "APIG.1005", None);
    // Nothing changed in the admin project.
    let list = server.call("GET", &admin.apig("/apps"), Some(&admin.token), None);
    assert_eq!(list.json["total"], 1, "{}", list.text);
    assert_eq!(list.json["apps"][0]["id"], admin_app_id);
}

#[test]
fn a_foreign_app_is_indistinguishable_from_a_missing_one() {
    let server = Server::start();
    let admin = server.admin();
    let bob = server.user_session(&admin, "bob", "proj_b", "admin");
    let a_app = create_app(&server, &admin, "secret_app");
    let a_id = a_app["id"].as_str().unwrap().to_owned();
    let random = "0123456789abcdef0123456789abcdef".to_owned();

    for id in [&a_id, &random] {
        let msg = format!("App {id} does not exist");
        let probes = [
            ("GET", bob.apig(&format!("/apps/{id}")), None),
            (
                "PUT",
                bob.apig(&format!("/apps/{id}")),
                Some(json!({"name": "stolen_app"})),
            ),
            ("DELETE", bob.apig(&format!("/apps/{id}")), None),
            ("PUT", bob.apig(&format!("/apps/secret/{id}")), None),
            ("GET", bob.apig(&format!("/apps/validation/{id}")), None),
            ("GET", bob.apig(&format!("/apps/{id}/app-codes")), None),
            ("PUT", bob.apig(&format!("/apps/{id}/app-codes")), None),
        ];
        for (method, path, body) in &probes {
            let r = server.call(method, path, Some(&bob.token), body.as_ref());
            r.assert_error(404, "APIG.3004", Some(&msg));
        }
    }
    // A's instance under B's project is an unknown instance.
    let r = server.call(
        "GET",
        &format!(
            "/v2/{}/apigw/instances/{}/apps",
            bob.project_id, admin.instance_id
        ),
        Some(&bob.token),
        None,
    );
    r.assert_error(
        404,
        "APIG.3030",
        Some(&format!(
            "The instance does not exist;id:{}",
            admin.instance_id
        )),
    );

    // A's app is untouched.
    let got = server.call(
        "GET",
        &admin.apig(&format!("/apps/{a_id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json["name"], "secret_app");
    assert_eq!(got.json["app_secret"], a_app["app_secret"]);
    let codes = server.call(
        "GET",
        &admin.apig(&format!("/apps/{a_id}/app-codes")),
        Some(&admin.token),
        None,
    );
    assert_eq!(codes.json["total"], 0, "{}", codes.text);
}

#[test]
fn login_accepts_the_documented_content_type() {
    // Spec §7.1: `Content-Type: application/json;charset=utf8`.
    let server = Server::start();
    let body = password_body(
        json!({"name": "admin", "domain": {"name": "Default"}}),
        ADMIN_PASSWORD,
        json!({"project": {"name": "admin", "domain": {"name": "Default"}}}),
    );
    let r = Reply::from(
        server
            .client
            .post(server.url("/v3/auth/tokens"))
            .header("Content-Type", "application/json;charset=utf8")
            .body(body.to_string())
            .send()
            .unwrap(),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.header("x-subject-token").is_some());
}

#[test]
fn password_brute_force_meets_429() {
    // DESIGN, security properties: failed authentication is rate-limited per client address and
    // per key, so a brute force meets 429 quickly.
    let server = Server::start();
    let mut statuses = Vec::new();
    for i in 0..30 {
        let r = server.login("admin", &format!("guess-{i:04}"), "admin");
        statuses.push(r.status);
        if r.status == 429 {
            assert!(
                r.json["error_code"].is_string() && r.json["error_msg"].is_string(),
                "{}",
                r.text
            );
            assert_eq!(r.header("x-request-id").map(str::len), Some(32));
            break;
        }
        assert_eq!(r.status, 401, "{}", r.text);
    }
    assert_eq!(
        statuses.last(),
        Some(&429),
        "30 wrong passwords in a row never met 429: {statuses:?}"
    );
}
