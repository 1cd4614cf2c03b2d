//! Wire-level rules shared by every management call: `X-Request-Id`, JSON content type, the body
//! size limit (413 `APIG.0201`), unknown paths and methods (404 `APIG.0101`), oversized path
//! parameters and the unauthenticated `/health`.

mod common;
use common::*;
use serde_json::json;
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn request_id(r: &Reply) -> String {
    let id = r
        .header("x-request-id")
        .unwrap_or_else(|| panic!("X-Request-Id on {} {}", r.status, r.text));
    assert_eq!(id.len(), 32, "{id}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "lowercase hex: {id}"
    );
    id.to_owned()
}

fn assert_json(r: &Reply) {
    let ct = r
        .header("content-type")
        .unwrap_or_else(|| panic!("content-type on {} {}", r.status, r.text));
    assert!(
        ct.starts_with("application/json"),
        "content-type {ct} on {} {}",
        r.status,
        r.text
    );
    assert!(!r.json.is_null(), "JSON body: {}", r.text);
}

/// Sends raw bytes and returns the whole response text (connection closed by the request).
fn raw_http(server: &Server, request: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn every_response_has_a_distinct_request_id() {
    let server = Server::start();
    let admin = server.admin();
    let mut replies = Vec::new();
    let created = server.call(
        "POST",
        &admin.apig("/apps"),
        Some(&admin.token),
        Some(&json!({"name": "rid_app"})),
    );
    assert_eq!(created.status, 201);
    let id = created.json["id"].as_str().unwrap().to_owned();
    replies.push(created);
    replies.push(server.call("GET", &admin.apig("/apps"), Some(&admin.token), None));
    replies.push(server.call(
        "GET",
        &admin.apig(&format!("/apps/{id}")),
        Some(&admin.token),
        None,
    ));
    replies.push(server.call(
        "DELETE",
        &admin.apig(&format!("/apps/{id}")),
        Some(&admin.token),
        None,
    ));
    replies.push(server.call(
        "GET",
        &admin.apig(&format!("/apps/{id}")),
        Some(&admin.token),
        None,
    ));
    replies.push(server.call(
        "POST",
        &admin.apig("/apps"),
        Some(&admin.token),
        Some(&json!({"name": "1"})),
    ));
    replies.push(server.call("GET", &admin.apig("/apps"), None, None));
    replies.push(server.call("GET", &admin.apig("/apps"), Some("bogus"), None));
    replies.push(server.call(
        "GET",
        &format!("/v2/{}/apigw/instances", "0".repeat(32)),
        Some(&admin.token),
        None,
    ));
    replies.push(server.call("GET", "/no/such/path", None, None));
    replies.push(server.call("GET", "/health", None, None));
    replies.push(server.login("admin", "wrong-password", "admin"));
    replies.push(server.login("admin", ADMIN_PASSWORD, "admin"));
    // The same request twice gets two ids.
    replies.push(server.call("GET", &admin.apig("/apps"), Some(&admin.token), None));

    let statuses: HashSet<u16> = replies.iter().map(|r| r.status).collect();
    for s in [200, 201, 204, 400, 401, 403, 404] {
        assert!(statuses.contains(&s), "covered status {s}: {statuses:?}");
    }
    let mut ids = HashSet::new();
    for r in &replies {
        assert!(ids.insert(request_id(r)), "distinct ids");
    }
    // Error bodies are JSON in APIG's shape.
    for r in replies.iter().filter(|r| r.status >= 400) {
        assert_json(r);
        assert!(
            r.json["error_code"]
                .as_str()
                .is_some_and(|c| c.starts_with("APIG.")),
            "{}",
            r.text
        );
        assert!(r.json["error_msg"].is_string(), "{}", r.text);
    }
    // Success bodies with content are JSON.
    for r in replies
        .iter()
        .filter(|r| (r.status == 200 || r.status == 201) && !r.text.is_empty())
    {
        if r.header("content-type")
            .is_some_and(|c| c.starts_with("text/"))
        {
            continue; // /health
        }
        assert_json(r);
    }
}

#[test]
fn json_bodies_are_labelled_application_json() {
    let server = Server::start();
    let admin = server.admin();
    let created = server.call(
        "POST",
        &admin.apig("/apps"),
        Some(&admin.token),
        Some(&json!({"name": "ct_app"})),
    );
    let id = created.json["id"].as_str().unwrap().to_owned();
    let code = server.call(
        "PUT",
        &admin.apig(&format!("/apps/{id}/app-codes")),
        Some(&admin.token),
        None,
    );
    for r in [
        &created,
        &code,
        &server.call("GET", &admin.apig("/apps"), Some(&admin.token), None),
        &server.call(
            "GET",
            &admin.apig(&format!("/apps/{id}")),
            Some(&admin.token),
            None,
        ),
        &server.call(
            "GET",
            &admin.apig("/resources/outline/apps"),
            Some(&admin.token),
            None,
        ),
        &server.call("GET", &admin.modelarts("/apps"), Some(&admin.token), None),
        &server.call("GET", "/v3/projects", Some(&admin.token), None),
        &server.call(
            "GET",
            &admin.apig("/apps/0123456789abcdef0123456789abcdef"),
            Some(&admin.token),
            None,
        ),
        &server.call_raw("POST", &admin.apig("/apps"), Some(&admin.token), "{"),
    ] {
        assert_json(r);
        request_id(r);
    }
    // 204 has no body.
    let del = server.call(
        "DELETE",
        &admin.apig(&format!("/apps/{id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(del.status, 204);
    assert!(del.text.is_empty());
    request_id(&del);
}

#[test]
fn oversized_body_is_413() {
    let server = Server::start_with(Opts::default().arg("--max-body-bytes").arg("1024"));
    let admin = server.admin();
    let big = json!({"name": "big_app", "remark": "r".repeat(2000)});
    let r = server.call("POST", &admin.apig("/apps"), Some(&admin.token), Some(&big));
    r.assert_error(413, "APIG.0201", None);
    assert_json(&r);
    // Also before authentication, and on other paths.
    let r = server.call("POST", &admin.apig("/apps"), None, Some(&big));
    r.assert_error(413, "APIG.0201", None);
    let r = server.call(
        "POST",
        "/v3/auth/tokens",
        None,
        Some(&json!({"pad": "p".repeat(5000)})),
    );
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(r.json["error_code"], "APIG.0201");

    // A chunked body without Content-Length is limited too.
    let path = admin.apig("/apps");
    let chunk = format!(
        "{{\"name\":\"chunked_app\",\"remark\":\"{}\"}}",
        "c".repeat(3000)
    );
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: {}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        admin.token,
        chunk.len()
    );
    let text = raw_http(&server, request.as_bytes());
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("APIG.0201"), "{text}");

    // The limit is inclusive: exactly 1024 bytes pass, 1025 do not.
    let exact = |len: usize| {
        let head = "{\"name\":\"edge_app\",\"pad\":\"";
        let pad = "x".repeat(len - head.len() - 2);
        let body = format!("{head}{pad}\"}}");
        assert_eq!(body.len(), len);
        server.call_raw("POST", &admin.apig("/apps"), Some(&admin.token), &body)
    };
    exact(1025).assert_error(413, "APIG.0201", None);
    let r = exact(1024);
    assert_eq!(
        r.status, 201,
        "a body of exactly the limit is accepted: {}",
        r.text
    );
    let del = server.call(
        "DELETE",
        &admin.apig(&format!("/apps/{}", r.json["id"].as_str().unwrap())),
        Some(&admin.token),
        None,
    );
    assert_eq!(del.status, 204);

    // Nothing was stored, and a body under the limit is processed normally.
    let list = server.call("GET", &admin.apig("/apps"), Some(&admin.token), None);
    assert_eq!(list.json["total"], 0, "{}", list.text);
    let ok = server.call(
        "POST",
        &admin.apig("/apps"),
        Some(&admin.token),
        Some(&json!({"name": "small_app", "remark": "r".repeat(200)})),
    );
    assert_eq!(ok.status, 201, "{}", ok.text);
}

#[test]
fn unknown_path_is_0101() {
    let server = Server::start();
    let admin = server.admin();
    for (method, path, token) in [
        ("GET", "/no/such/path".to_owned(), None),
        ("GET", "/".to_owned(), None),
        (
            "GET",
            admin.apig("/nothing-here"),
            Some(admin.token.as_str()),
        ),
        (
            "POST",
            admin.apig("/apps/x/y/z"),
            Some(admin.token.as_str()),
        ),
        (
            "GET",
            format!("/v9/{}/apigw/instances", admin.project_id),
            Some(admin.token.as_str()),
        ),
    ] {
        let r = server.call(method, &path, token, None);
        r.assert_error(404, "APIG.0101", None);
        assert_json(&r);
    }
}

#[test]
fn wrong_method_on_a_known_path_is_0101() {
    let server = Server::start();
    let admin = server.admin();
    let app = server.call(
        "POST",
        &admin.apig("/apps"),
        Some(&admin.token),
        Some(&json!({"name": "method_app"})),
    );
    let id = app.json["id"].as_str().unwrap().to_owned();
    for (method, path) in [
        ("PATCH", admin.apig("/apps")),
        ("DELETE", admin.apig("/apps")),
        ("POST", admin.apig(&format!("/apps/{id}"))),
        ("PATCH", admin.apig(&format!("/apps/{id}"))),
        ("GET", admin.apig(&format!("/apps/secret/{id}"))),
        ("POST", admin.apig(&format!("/apps/validation/{id}"))),
        ("PUT", admin.apig(&format!("/apps/{id}/app-codes/{id}"))),
        ("PUT", "/v3/projects".to_owned()),
        ("POST", "/health".to_owned()),
    ] {
        let r = server.call(method, &path, Some(&admin.token), None);
        assert_eq!(r.status, 404, "{method} {path}: {}", r.text);
        r.assert_error(404, "APIG.0101", None);
        assert_json(&r);
    }
    // The app is still there.
    let g = server.call(
        "GET",
        &admin.apig(&format!("/apps/{id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(g.status, 200, "{}", g.text);
}

#[test]
fn very_long_path_segment_is_2012() {
    let server = Server::start();
    let admin = server.admin();
    let long = "a".repeat(1000);
    let r = server.call(
        "GET",
        &admin.apig(&format!("/apps/{long}")),
        Some(&admin.token),
        None,
    );
    r.assert_error(400, "APIG.2012", Some(&invalid("app_id")));
    let r = server.call(
        "DELETE",
        &admin.apig(&format!("/apps/{long}/app-codes/{long}")),
        Some(&admin.token),
        None,
    );
    r.assert_error(400, "APIG.2012", None);
    let r = server.call(
        "GET",
        &format!("/v2/{}/apigw/instances/{long}/apps", admin.project_id),
        Some(&admin.token),
        None,
    );
    r.assert_error(400, "APIG.2012", Some(&invalid("instance_id")));
}

#[test]
fn health_needs_no_token() {
    let server = Server::start();
    let r = server.call("GET", "/health", None, None);
    assert_eq!(r.status, 200, "{}", r.text);
    request_id(&r);
    let r = server.call("GET", "/health", Some("garbage"), None);
    assert_eq!(
        r.status, 200,
        "a bad token does not matter on /health: {}",
        r.text
    );
}

#[test]
fn secrets_and_tokens_never_reach_the_log() {
    let server = Server::start();
    let admin = server.admin();
    let secret = "Very_secret-value!1";
    let app = server.call(
        "POST",
        &admin.apig("/apps"),
        Some(&admin.token),
        Some(&json!({"name": "logged_app", "app_secret": secret})),
    );
    assert_eq!(app.status, 201, "{}", app.text);
    let id = app.json["id"].as_str().unwrap();
    let value = format!("Lg{}", "q".repeat(62));
    let code = server.call(
        "POST",
        &admin.apig(&format!("/apps/{id}/app-codes")),
        Some(&admin.token),
        Some(&json!({"app_code": value})),
    );
    assert_eq!(code.status, 201, "{}", code.text);
    let reset = server.call(
        "PUT",
        &admin.apig(&format!("/apps/secret/{id}")),
        Some(&admin.token),
        None,
    );
    let new_secret = reset.json["app_secret"].as_str().unwrap().to_owned();
    // ModelArts puts AppCode values into paths.
    let gen = server.call(
        "POST",
        &admin.modelarts(&format!("/apps/{id}/app-code")),
        Some(&admin.token),
        None,
    );
    let codes = gen.json["app"]["app_codes"].as_array().unwrap().clone();
    let generated = codes
        .iter()
        .map(|c| c.as_str().unwrap())
        .find(|c| *c != value)
        .unwrap()
        .to_owned();
    let del = server.call(
        "DELETE",
        &admin.modelarts(&format!("/apps/{id}/app-code/{generated}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(del.status, 200, "{}", del.text);
    // A failed login with a password.
    server.login("admin", "Wrong-password-xyz", "admin");

    let log = server.log_text();
    assert!(!log.is_empty());
    for needle in [
        secret,
        &new_secret,
        &value,
        &generated,
        &admin.token,
        ADMIN_PASSWORD,
        "Wrong-password-xyz",
    ] {
        assert!(
            !log.contains(needle),
            "the log contains a secret ({} chars)",
            needle.len()
        );
    }
}
