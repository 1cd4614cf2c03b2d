//! `apigw call`, run as a subprocess: the dry run shows the canonical request and the
//! `Authorization` header; real calls sign with an access key and print the answer like curl.

mod common;
use common::*;
use serde_json::{json, Value};
use std::process::Command;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `apigw <args>` with no `APIGW_CALL_*` variables from the environment.
fn apigw(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apigw"));
    cmd.args(args)
        .env_remove("APIGW_CALL_KEY")
        .env_remove("APIGW_CALL_SECRET");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run apigw");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The value of header `name` in dry-run output (`name: value` lines, any case).
fn header_line<'a>(out: &'a str, name: &str) -> Option<&'a str> {
    out.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn signed_headers(authorization: &str) -> &str {
    authorization
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or_default()
}

#[test]
fn dry_run_prints_canonical_request_and_authorization() {
    let r = apigw(
        &[
            "call",
            "--dry-run",
            "--key",
            "K",
            "--secret",
            "S",
            "http://example.com/v1/x?b=2&a=1",
        ],
        &[],
    );
    assert_eq!(
        r.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        r.stdout,
        r.stderr
    );
    assert!(
        r.stdout.contains("GET\n/v1/x/\na=1&b=2\n"),
        "canonical request:\n{}",
        r.stdout
    );
    assert!(r.stdout.contains("host:example.com\n"), "{}", r.stdout);
    let auth = header_line(&r.stdout, "authorization")
        .unwrap_or_else(|| panic!("no Authorization in:\n{}", r.stdout));
    assert!(
        auth.starts_with("SDK-HMAC-SHA256 Access=K, SignedHeaders="),
        "{auth}"
    );
    assert_eq!(signed_headers(auth), "host;x-sdk-date", "{auth}");
    let sig = auth.split("Signature=").nth(1).expect("Signature=");
    assert_eq!(sig.len(), 64, "{auth}");
    assert!(
        sig.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{auth}"
    );
    let date = header_line(&r.stdout, "x-sdk-date").expect("X-Sdk-Date shown");
    assert_eq!(date.len(), 16, "{date}");
    assert!(
        r.stdout.contains(&format!("SDK-HMAC-SHA256\n{date}\n")),
        "string to sign:\n{}",
        r.stdout
    );
}

#[test]
fn dry_run_signs_extra_headers_and_body() {
    let r = apigw(
        &[
            "call",
            "--dry-run",
            "-X",
            "post",
            "-H",
            "X-Project-Id: p123",
            "-d",
            "{\"name\":\"x\"}",
            "--key",
            "K",
            "--secret",
            "S",
            "http://example.com/v2/p123/apigw/instances/i/apps",
        ],
        &[],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let auth = header_line(&r.stdout, "authorization").expect("Authorization");
    let signed = signed_headers(auth);
    assert!(
        signed.split(';').any(|h| h == "x-project-id"),
        "X-Project-Id is signed: {auth}"
    );
    assert!(
        signed.split(';').any(|h| h == "content-type"),
        "Content-Type is added and signed: {auth}"
    );
    assert!(
        r.stdout
            .contains("POST\n/v2/p123/apigw/instances/i/apps/\n\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("x-project-id:p123\n"), "{}", r.stdout);
    // The canonical request ends with the SHA-256 of {"name":"x"}.
    assert!(
        r.stdout.contains(
            ";x-sdk-date\n0229d37e33daae149bf40543a5ce1db4459d10f830d5139279aa2bfd5f6485a1\n"
        ),
        "body hash:\n{}",
        r.stdout
    );

    // Key and secret from the environment give the same Access.
    let r = apigw(
        &["call", "--dry-run", "http://example.com/"],
        &[
            ("APIGW_CALL_KEY", "EnvKey"),
            ("APIGW_CALL_SECRET", "EnvSecret"),
        ],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let auth = header_line(&r.stdout, "authorization").expect("Authorization");
    assert!(
        auth.starts_with("SDK-HMAC-SHA256 Access=EnvKey, "),
        "{auth}"
    );
    assert!(
        !r.stdout.contains("EnvSecret"),
        "the secret is not printed:\n{}",
        r.stdout
    );
}

#[test]
fn real_calls_with_an_access_key() {
    let server = Server::start();
    let admin = server.admin();
    let k = server.call(
        "POST",
        "/v3.0/OS-CREDENTIAL/credentials",
        Some(&admin.token),
        Some(&json!({"credential": {"user_id": admin.user_id, "description": "cli"}})),
    );
    assert_eq!(k.status, 201, "{}", k.text);
    let ak = k.json["credential"]["access"].as_str().unwrap().to_owned();
    let sk = k.json["credential"]["secret"].as_str().unwrap().to_owned();
    let apps_url = server.url(&admin.apig("/apps"));

    // Create an app.
    let r = apigw(
        &[
            "call",
            "-X",
            "POST",
            "-d",
            "{\"name\":\"cli_app\"}",
            "--key",
            &ak,
            "--secret",
            &sk,
            &apps_url,
        ],
        &[],
    );
    assert_eq!(
        r.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        r.stdout,
        r.stderr
    );
    let app: Value =
        serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
    assert_eq!(app["name"], "cli_app");
    let id = app["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    let got = server.call(
        "GET",
        &admin.apig(&format!("/apps/{id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(got.status, 200, "{}", got.text);

    // -i: the status line and headers, then the body.
    let url = server.url(&admin.apig(&format!("/apps/{id}")));
    let r = apigw(&["call", "-i", "--key", &ak, "--secret", &sk, &url], &[]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let first = r.stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("HTTP/1.1 200"),
        "status line: {first:?}\n{}",
        r.stdout
    );
    assert!(
        header_line(&r.stdout, "content-type").is_some_and(|v| v.contains("json")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("\"cli_app\""), "{}", r.stdout);

    // Query strings are signed and sent as given.
    let list_url = format!("{apps_url}?name=cli_app&precise_search=name");
    let r = apigw(&["call", "--key", &ak, "--secret", &sk, &list_url], &[]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let list: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(list["total"], 1, "{}", r.stdout);

    // Key and secret from the environment.
    let r = apigw(
        &["call", "-X", "DELETE", &url],
        &[("APIGW_CALL_KEY", &ak), ("APIGW_CALL_SECRET", &sk)],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let gone = server.call(
        "GET",
        &admin.apig(&format!("/apps/{id}")),
        Some(&admin.token),
        None,
    );
    assert_eq!(gone.status, 404, "{}", gone.text);

    // A wrong secret: exit 1 and Huawei's error body.
    let r = apigw(
        &[
            "call",
            "--key",
            &ak,
            "--secret",
            "not-the-secret",
            &apps_url,
        ],
        &[],
    );
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    let err: Value =
        serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
    assert_eq!(err["error_code"], "APIG.0301", "{}", r.stdout);
    assert!(
        err["error_msg"]
            .as_str()
            .unwrap()
            .contains("verify signature fail"),
        "{}",
        r.stdout
    );

    // -i on an error shows the 401 status line.
    let r = apigw(
        &[
            "call",
            "-i",
            "--key",
            "NOSUCHKEY00000000000",
            "--secret",
            "x",
            &apps_url,
        ],
        &[],
    );
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("HTTP/1.1 401"), "{}", r.stdout);
    assert!(r.stdout.contains("APIG.0301"), "{}", r.stdout);
}

#[test]
fn local_errors_exit_2() {
    let r = apigw(
        &[
            "call",
            "--key",
            "K",
            "--secret",
            "S",
            "-H",
            "no colon here",
            "--dry-run",
            "http://example.com/",
        ],
        &[],
    );
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("apigw call:"), "{}", r.stderr);
    let port = free_port();
    let r = apigw(
        &[
            "call",
            "--key",
            "K",
            "--secret",
            "S",
            &format!("http://127.0.0.1:{port}/v1/x"),
        ],
        &[],
    );
    assert_eq!(
        r.code,
        Some(2),
        "connection refused is a local error: {}{}",
        r.stdout,
        r.stderr
    );
    let r = apigw(
        &[
            "call",
            "--key",
            "K",
            "--secret",
            "S",
            "-d",
            "@/nonexistent/file.json",
            "--dry-run",
            "http://example.com/",
        ],
        &[],
    );
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
}
