//! Access keys (`/v3.0/OS-CREDENTIAL/credentials`) and AK/SK `SDK-HMAC-SHA256` signatures on
//! management calls (spec §4.3, §7.3): the keys API and who may use it, signed calls in place of
//! tokens, every refusal (401 `APIG.0301`), project and role checks, and the lockout.

mod common;
use common::*;
use http::{HeaderMap, HeaderValue, Method, Uri};
use serde_json::{json, Value};
use std::time::Duration;

const CREDENTIALS: &str = "/v3.0/OS-CREDENTIAL/credentials";

/// An access key pair.
#[derive(Debug, Clone)]
struct Key {
    ak: String,
    sk: String,
}

/// Creates an access key for `user_id` with `token`; asserts 201 and returns the pair.
fn create_key(server: &Server, token: &str, user_id: &str) -> Key {
    let r = server.call(
        "POST",
        CREDENTIALS,
        Some(token),
        Some(&json!({"credential": {"user_id": user_id, "description": "test key"}})),
    );
    assert_eq!(r.status, 201, "create access key: {}", r.text);
    Key {
        ak: r.json["credential"]["access"].as_str().unwrap().to_owned(),
        sk: r.json["credential"]["secret"].as_str().unwrap().to_owned(),
    }
}

/// How to build one signed request.
struct Signed<'a> {
    method: &'a str,
    path: &'a str,
    /// The body that is signed.
    body: Option<String>,
    /// A different body to send than the one signed (tampering).
    send_body: Option<String>,
    /// Headers set before signing.
    headers: Vec<(&'a str, String)>,
    /// Headers added after signing (not covered by the signature).
    unsigned: Vec<(&'a str, String)>,
}

impl<'a> Signed<'a> {
    fn new(method: &'a str, path: &'a str) -> Self {
        Signed {
            method,
            path,
            body: None,
            send_body: None,
            headers: Vec::new(),
            unsigned: Vec::new(),
        }
    }
    fn json(mut self, v: &Value) -> Self {
        self.body = Some(v.to_string());
        self
    }
    fn header(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    fn unsigned_header(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.unsigned.push((name, value.into()));
        self
    }
    fn send_body(mut self, b: &str) -> Self {
        self.send_body = Some(b.to_owned());
        self
    }

    /// Signs with `ak`/`sk` and sends; no `X-Auth-Token`.
    fn send(self, server: &Server, ak: &str, sk: &str) -> Reply {
        let method = Method::from_bytes(self.method.as_bytes()).unwrap();
        let url = server.url(self.path);
        let uri: Uri = url.parse().unwrap();
        let mut headers = HeaderMap::new();
        if self.body.is_some() {
            headers.insert("content-type", HeaderValue::from_static("application/json"));
        }
        for (name, value) in &self.headers {
            let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
            headers.insert(name, HeaderValue::from_str(value).unwrap());
        }
        let body = self.body.unwrap_or_default();
        apigw_signing::sign_request(
            &method,
            &uri,
            &mut headers,
            body.as_bytes(),
            ak,
            sk,
            time::OffsetDateTime::now_utc(),
        )
        .expect("request can be signed");
        for (name, value) in &self.unsigned {
            let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
            headers.insert(name, HeaderValue::from_str(value).unwrap());
        }
        let sent = self.send_body.unwrap_or(body);
        let resp = server
            .client
            .request(method, url)
            .headers(headers)
            .body(sent)
            .send()
            .expect("request sent");
        Reply::from(resp)
    }
}

fn get(server: &Server, key: &Key, path: &str) -> Reply {
    Signed::new("GET", path).send(server, &key.ak, &key.sk)
}

fn msg(r: &Reply) -> String {
    r.json["error_msg"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn access_key_lifecycle() {
    let server = Server::start();
    let admin = server.admin();
    let r = server.call(
        "POST",
        CREDENTIALS,
        Some(&admin.token),
        Some(&json!({"credential": {"user_id": admin.user_id, "description": "d"}})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let c = &r.json["credential"];
    let ak = c["access"].as_str().expect("access").to_owned();
    assert_eq!(ak.len(), 20, "{ak}");
    assert!(
        ak.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
        "{ak}"
    );
    let sk = c["secret"].as_str().expect("secret");
    assert_eq!(sk.len(), 40, "{sk}");
    assert_eq!(c["user_id"], admin.user_id.as_str());
    assert_eq!(c["status"], "active");
    assert!(
        c["create_time"].as_str().is_some_and(|t| !t.is_empty()),
        "{c}"
    );
    assert_eq!(c["description"], "d");

    // A second key, to see that lists hold several.
    let other = create_key(&server, &admin.token, &admin.user_id);

    let list = server.call(
        "GET",
        &format!("{CREDENTIALS}?user_id={}", admin.user_id),
        Some(&admin.token),
        None,
    );
    assert_eq!(list.status, 200, "{}", list.text);
    let items = list.json["credentials"]
        .as_array()
        .expect("credentials array");
    assert_eq!(items.len(), 2, "{}", list.text);
    for item in items {
        assert!(
            item.get("secret").is_none(),
            "no secret in list items: {item}"
        );
        assert_eq!(item["user_id"], admin.user_id.as_str());
    }
    assert!(items.iter().any(|i| i["access"] == ak.as_str()));
    assert!(items.iter().any(|i| i["access"] == other.ak.as_str()));
    assert!(!list.text.contains(sk), "the secret never shows again");
    // Without ?user_id= the caller's own keys.
    let own = server.call("GET", CREDENTIALS, Some(&admin.token), None);
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json["credentials"].as_array().unwrap().len(), 2);

    let one = server.call(
        "GET",
        &format!("{CREDENTIALS}/{ak}"),
        Some(&admin.token),
        None,
    );
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(one.json["credential"]["access"], ak.as_str());
    assert_eq!(one.json["credential"]["status"], "active");
    assert!(
        one.json["credential"].get("secret").is_none(),
        "{}",
        one.text
    );
    assert!(!one.text.contains(sk));

    let up = server.call(
        "PUT",
        &format!("{CREDENTIALS}/{ak}"),
        Some(&admin.token),
        Some(&json!({"credential": {"status": "inactive", "description": "x"}})),
    );
    assert_eq!(up.status, 200, "{}", up.text);
    assert_eq!(up.json["credential"]["status"], "inactive");
    assert_eq!(up.json["credential"]["description"], "x");
    let one = server.call(
        "GET",
        &format!("{CREDENTIALS}/{ak}"),
        Some(&admin.token),
        None,
    );
    assert_eq!(one.json["credential"]["status"], "inactive");
    assert_eq!(one.json["credential"]["description"], "x");

    let bad = server.call(
        "PUT",
        &format!("{CREDENTIALS}/{ak}"),
        Some(&admin.token),
        Some(&json!({"credential": {"status": "paused"}})),
    );
    bad.assert_error(400, "APIG.2011", Some(&invalid("status")));

    let del = server.call(
        "DELETE",
        &format!("{CREDENTIALS}/{ak}"),
        Some(&admin.token),
        None,
    );
    assert_eq!(del.status, 204, "{}", del.text);
    let gone = server.call(
        "GET",
        &format!("{CREDENTIALS}/{ak}"),
        Some(&admin.token),
        None,
    );
    assert_eq!(gone.status, 404, "{}", gone.text);
    let again = server.call(
        "DELETE",
        &format!("{CREDENTIALS}/{ak}"),
        Some(&admin.token),
        None,
    );
    assert_eq!(again.status, 404, "{}", again.text);
    let list = server.call("GET", CREDENTIALS, Some(&admin.token), None);
    assert_eq!(
        list.json["credentials"].as_array().unwrap().len(),
        1,
        "{}",
        list.text
    );
}

#[test]
fn access_keys_belong_to_their_user() {
    let server = Server::start();
    let admin = server.admin();
    let bob = server.user_session(&admin, "bob", "projb", "member");
    let admin_key = create_key(&server, &admin.token, &admin.user_id);
    let path = format!("{CREDENTIALS}/{}", admin_key.ak);

    // Bob cannot see or touch the admin's key: it looks missing.
    let r = server.call("GET", &path, Some(&bob.token), None);
    assert_eq!(r.status, 404, "bob GET admin key: {}", r.text);
    let r = server.call(
        "PUT",
        &path,
        Some(&bob.token),
        Some(&json!({"credential": {"status": "inactive"}})),
    );
    assert_eq!(r.status, 404, "bob PUT admin key: {}", r.text);
    let r = server.call("DELETE", &path, Some(&bob.token), None);
    assert_eq!(r.status, 404, "bob DELETE admin key: {}", r.text);
    let r = server.call(
        "GET",
        &format!("{CREDENTIALS}?user_id={}", admin.user_id),
        Some(&bob.token),
        None,
    );
    assert!(
        r.status == 403 || r.status == 404,
        "bob lists admin's keys: {}",
        r.text
    );
    assert!(!r.text.contains(&admin_key.ak), "{}", r.text);
    let r = server.call(
        "POST",
        CREDENTIALS,
        Some(&bob.token),
        Some(&json!({"credential": {"user_id": admin.user_id, "description": "mine now"}})),
    );
    r.assert_error(403, "APIG.1005", None);
    // Still intact and active.
    let r = server.call("GET", &path, Some(&admin.token), None);
    assert_eq!(r.json["credential"]["status"], "active", "{}", r.text);

    // Bob manages his own.
    let bob_key = create_key(&server, &bob.token, &bob.user_id);
    let own = server.call("GET", CREDENTIALS, Some(&bob.token), None);
    assert_eq!(own.status, 200, "{}", own.text);
    let items = own.json["credentials"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", own.text);
    assert_eq!(items[0]["access"], bob_key.ak.as_str());
    let bpath = format!("{CREDENTIALS}/{}", bob_key.ak);
    let r = server.call("GET", &bpath, Some(&bob.token), None);
    assert_eq!(r.status, 200, "{}", r.text);
    let r = server.call(
        "PUT",
        &bpath,
        Some(&bob.token),
        Some(&json!({"credential": {"description": "bob's"}})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["credential"]["description"], "bob's");
    let r = server.call("DELETE", &bpath, Some(&bob.token), None);
    assert_eq!(r.status, 204, "{}", r.text);

    // The admin manages bob's.
    let r = server.call(
        "POST",
        CREDENTIALS,
        Some(&admin.token),
        Some(&json!({"credential": {"user_id": bob.user_id, "description": "by admin"}})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["credential"]["user_id"], bob.user_id.as_str());
    let ak = r.json["credential"]["access"].as_str().unwrap().to_owned();
    let r = server.call(
        "GET",
        &format!("{CREDENTIALS}?user_id={}", bob.user_id),
        Some(&admin.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.json["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["access"] == ak.as_str()),
        "{}",
        r.text
    );
    let r = server.call(
        "GET",
        &format!("{CREDENTIALS}/{ak}"),
        Some(&admin.token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = server.call(
        "PUT",
        &format!("{CREDENTIALS}/{ak}"),
        Some(&admin.token),
        Some(&json!({"credential": {"status": "inactive"}})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["credential"]["status"], "inactive");
    // Bob sees it in his list too.
    let r = server.call("GET", CREDENTIALS, Some(&bob.token), None);
    assert!(
        r.json["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["access"] == ak.as_str()),
        "{}",
        r.text
    );
    let r = server.call(
        "DELETE",
        &format!("{CREDENTIALS}/{ak}"),
        Some(&admin.token),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text);
}

#[test]
fn management_calls_signed_with_aksk() {
    let server = Server::start();
    let admin = server.admin();
    let key = create_key(&server, &admin.token, &admin.user_id);

    // The same sequence, once with the token and once with AK/SK only.
    let mut by_token = Vec::new();
    let mut by_aksk = Vec::new();
    for (round, use_token) in [("tok", true), ("sig", false)] {
        let send = |method: &str, path: &str, body: Option<&Value>| -> Reply {
            if use_token {
                server.call(method, path, Some(&admin.token), body)
            } else {
                let mut s = Signed::new(method, path);
                if let Some(b) = body {
                    s = s.json(b);
                }
                s.send(&server, &key.ak, &key.sk)
            }
        };
        let statuses = if use_token {
            &mut by_token
        } else {
            &mut by_aksk
        };
        let name = format!("aksk_app_{round}");
        let c = send(
            "POST",
            &admin.apig("/apps"),
            Some(&json!({"name": name, "remark": "signed"})),
        );
        statuses.push(c.status);
        assert_eq!(c.status, 201, "{round} create: {}", c.text);
        assert_eq!(c.json["name"], name.as_str());
        let id = c.json["id"].as_str().unwrap().to_owned();
        let l = send("GET", &admin.apig(&format!("/apps?name={name}")), None);
        statuses.push(l.status);
        assert_eq!(l.status, 200, "{round} list: {}", l.text);
        assert_eq!(l.json["total"], 1, "{}", l.text);
        assert_eq!(l.json["apps"][0]["id"], id.as_str());
        let g = send("PUT", &admin.apig(&format!("/apps/{id}/app-codes")), None);
        statuses.push(g.status);
        assert_eq!(g.status, 201, "{round} generate code: {}", g.text);
        let code = g.json["app_code"].as_str().unwrap();
        assert_eq!(code.len(), 64);
        assert!(code.bytes().all(|b| b.is_ascii_hexdigit()));
        let one = send("GET", &admin.apig(&format!("/apps/{id}")), None);
        statuses.push(one.status);
        assert_eq!(one.json["remark"], "signed");
        let d = send("DELETE", &admin.apig(&format!("/apps/{id}")), None);
        statuses.push(d.status);
        assert_eq!(d.status, 204, "{round} delete: {}", d.text);
        let gone = send("GET", &admin.apig(&format!("/apps/{id}")), None);
        statuses.push(gone.status);
        gone.assert_error(404, "APIG.3004", Some(&format!("App {id} does not exist")));
    }
    assert_eq!(by_token, by_aksk);

    // Identity calls accept signatures too (the caller is the key's user).
    let r = get(&server, &key, CREDENTIALS);
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains(&key.ak), "{}", r.text);
}

#[test]
fn refused_signatures() {
    let server = Server::start();
    let admin = server.admin();
    let key = create_key(&server, &admin.token, &admin.user_id);
    let apps = admin.apig("/apps");
    let ok = |what: &str| {
        // A correct call between failures keeps the key below the lockout threshold.
        let r = get(&server, &key, &apps);
        assert_eq!(r.status, 200, "correct signature after {what}: {}", r.text);
    };
    ok("nothing");

    // Unknown AK.
    let r = get(
        &server,
        &Key {
            ak: "UNKNOWNACCESSKEY0000".into(),
            sk: key.sk.clone(),
        },
        &apps,
    );
    r.assert_error(401, "APIG.0301", None);
    assert!(msg(&r).contains("ak not exist"), "{}", r.text);
    assert!(
        msg(&r).starts_with("Incorrect IAM authentication information: "),
        "{}",
        r.text
    );

    // Wrong secret: the server shows its canonical request with `|` for newlines.
    let wrong = Key {
        ak: key.ak.clone(),
        sk: "0".repeat(40),
    };
    let r = get(&server, &wrong, &apps);
    r.assert_error(401, "APIG.0301", None);
    let m = msg(&r);
    assert!(
        m.starts_with(
            "Incorrect IAM authentication information: verify signature fail, canonicalRequest:"
        ),
        "{}",
        r.text
    );
    assert!(m.contains('|'), "{m}");
    let canonical = m.split("canonicalRequest:").nth(1).unwrap();
    assert!(
        canonical.starts_with(&format!("GET|{apps}/|")),
        "{canonical}"
    );
    assert!(canonical.contains("x-sdk-date:"), "{canonical}");
    assert!(!m.contains(&key.sk), "the secret is never echoed");
    ok("wrong secret");

    // Body changed after signing.
    let body = json!({"name": "signed_name"});
    let r = Signed::new("POST", &apps)
        .json(&body)
        .send_body(&json!({"name": "tampered_name"}).to_string())
        .send(&server, &key.ak, &key.sk);
    r.assert_error(401, "APIG.0301", None);
    assert!(msg(&r).contains("verify signature fail"), "{}", r.text);
    let l = server.call(
        "GET",
        &format!("{apps}?name=tampered_name"),
        Some(&admin.token),
        None,
    );
    assert_eq!(
        l.json["total"], 0,
        "the tampered create did not happen: {}",
        l.text
    );
    ok("tampered body");

    // Signed 20 minutes ago: outside the 15-minute window.
    let old = time::OffsetDateTime::now_utc() - time::Duration::minutes(20);
    let r = Signed::new("GET", &apps)
        .header("x-sdk-date", apigw_signing::format_date(old))
        .send(&server, &key.ak, &key.sk);
    r.assert_error(401, "APIG.0301", None);
    assert!(msg(&r).contains("signature expired"), "{}", r.text);
    // And 20 minutes in the future.
    let future = time::OffsetDateTime::now_utc() + time::Duration::minutes(20);
    let r = Signed::new("GET", &apps)
        .header("x-sdk-date", apigw_signing::format_date(future))
        .send(&server, &key.ak, &key.sk);
    r.assert_error(401, "APIG.0301", None);
    assert!(msg(&r).contains("signature expired"), "{}", r.text);
    ok("expired date");

    // An inactive key is refused, and works again once re-activated.
    let inactive = create_key(&server, &admin.token, &admin.user_id);
    let up = server.call(
        "PUT",
        &format!("{CREDENTIALS}/{}", inactive.ak),
        Some(&admin.token),
        Some(&json!({"credential": {"status": "inactive"}})),
    );
    assert_eq!(up.status, 200, "{}", up.text);
    let r = get(&server, &inactive, &apps);
    r.assert_error(401, "APIG.0301", None);
    let up = server.call(
        "PUT",
        &format!("{CREDENTIALS}/{}", inactive.ak),
        Some(&admin.token),
        Some(&json!({"credential": {"status": "active"}})),
    );
    assert_eq!(up.status, 200, "{}", up.text);
    let r = get(&server, &inactive, &apps);
    assert_eq!(r.status, 200, "re-activated key: {}", r.text);

    // A deleted key is unknown.
    let del = server.call(
        "DELETE",
        &format!("{CREDENTIALS}/{}", inactive.ak),
        Some(&admin.token),
        None,
    );
    assert_eq!(del.status, 204);
    let r = get(&server, &inactive, &apps);
    r.assert_error(401, "APIG.0301", None);
    assert!(msg(&r).contains("ak not exist"), "{}", r.text);
}

/// Sends a GET whose `Authorization` lists exactly `signed_headers` (a correct signature over
/// them), while the request carries `Host` and `X-Sdk-Date`.
fn get_signing_only(server: &Server, key: &Key, path: &str, signed_headers: &str) -> Reply {
    let url = server.url(path);
    let uri: Uri = url.parse().unwrap();
    let date = apigw_signing::format_date(time::OffsetDateTime::now_utc());
    let mut headers = HeaderMap::new();
    headers.insert(
        "host",
        HeaderValue::from_str(uri.authority().unwrap().as_str()).unwrap(),
    );
    headers.insert("x-sdk-date", HeaderValue::from_str(&date).unwrap());
    let empty = apigw_signing::PayloadHash::Body(b"").to_hex();
    let hash =
        apigw_signing::hash_canonical_request(&Method::GET, &uri, &headers, signed_headers, &empty);
    let sts = apigw_signing::string_to_sign(&date, &hex::encode(hash));
    let sig = hex::encode(apigw_signing::sign_string(key.sk.as_bytes(), &sts));
    let auth = format!(
        "SDK-HMAC-SHA256 Access={}, SignedHeaders={signed_headers}, Signature={sig}",
        key.ak
    );
    headers.insert("authorization", HeaderValue::from_str(&auth).unwrap());
    Reply::from(server.client.get(url).headers(headers).send().unwrap())
}

#[test]
fn signature_must_cover_the_date_and_the_body() {
    let server = Server::start();
    let admin = server.admin();
    let key = create_key(&server, &admin.token, &admin.user_id);
    let apps = admin.apig("/apps");

    // The hand-made signature is right when it covers host and date...
    let r = get_signing_only(&server, &key, &apps, "host;x-sdk-date");
    assert_eq!(r.status, 200, "hand-made signature: {}", r.text);
    // ...and refused when X-Sdk-Date is not signed (it could be replaced to replay forever).
    let r = get_signing_only(&server, &key, &apps, "host");
    r.assert_error(401, "APIG.0301", None);

    // An unsigned X-Sdk-Content-Sha256 added by someone else must not let the body change:
    // the signature covers the original body's hash; the header claims that hash for another body.
    let signed_body = json!({"name": "original_body"}).to_string();
    let claimed = apigw_signing::PayloadHash::Body(signed_body.as_bytes()).to_hex();
    let r = Signed::new("POST", &apps)
        .json(&json!({"name": "original_body"}))
        .unsigned_header("x-sdk-content-sha256", claimed)
        .send_body(&json!({"name": "swapped_body"}).to_string())
        .send(&server, &key.ak, &key.sk);
    let l = server.call(
        "GET",
        &format!("{apps}?name=swapped_body"),
        Some(&admin.token),
        None,
    );
    assert_eq!(
        l.json["total"], 0,
        "a body swapped under an unsigned X-Sdk-Content-Sha256 was accepted: {}",
        l.text
    );
    r.assert_error(401, "APIG.0301", None);
    // Same with UNSIGNED-PAYLOAD added after signing.
    let r = Signed::new("POST", &apps)
        .json(&json!({"name": "original_body"}))
        .unsigned_header("x-sdk-content-sha256", "UNSIGNED-PAYLOAD")
        .send_body(&json!({"name": "swapped_body2"}).to_string())
        .send(&server, &key.ak, &key.sk);
    r.assert_error(401, "APIG.0301", None);
    // A correct request after these failures still works (fewer than 5 failures).
    let r = get(&server, &key, &apps);
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn signed_calls_respect_projects_and_roles() {
    let server = Server::start();
    let admin = server.admin();
    let bob = server.user_session(&admin, "bob", "projb", "member");
    let carol = server.user_session(&admin, "carol", "projc", "reader");
    let bob_key = create_key(&server, &bob.token, &bob.user_id);
    let carol_key = create_key(&server, &carol.token, &carol.user_id);

    // Bob's key works in his project...
    let r = Signed::new("POST", &bob.apig("/apps"))
        .json(&json!({"name": "bob_signed"}))
        .send(&server, &bob_key.ak, &bob_key.sk);
    assert_eq!(r.status, 201, "{}", r.text);
    // ...but not on the admin project's paths.
    let r = get(&server, &bob_key, &admin.apig("/apps"));
    r.assert_error(403, "APIG.1005", None);
    let r = Signed::new("POST", &admin.apig("/apps"))
        .json(&json!({"name": "bob_intrudes"}))
        .send(&server, &bob_key.ak, &bob_key.sk);
    r.assert_error(403, "APIG.1005", None);
    let l = server.call(
        "GET",
        &admin.apig("/apps?name=bob_intrudes"),
        Some(&admin.token),
        None,
    );
    assert_eq!(l.json["total"], 0, "{}", l.text);
    // An X-Project-Id header does not override the path's project.
    let r = Signed::new("GET", &admin.apig("/apps"))
        .header("x-project-id", bob.project_id.clone())
        .send(&server, &bob_key.ak, &bob_key.sk);
    r.assert_error(403, "APIG.1005", None);

    // Carol (reader) reads but cannot write.
    let r = get(&server, &carol_key, &carol.apig("/apps"));
    assert_eq!(r.status, 200, "{}", r.text);
    let r = Signed::new("POST", &carol.apig("/apps"))
        .json(&json!({"name": "carol_app"}))
        .send(&server, &carol_key.ak, &carol_key.sk);
    r.assert_error(403, "APIG.1005", None);
}

#[test]
fn repeated_failures_lock_the_key_for_a_while() {
    let server = Server::start_with(
        Opts::default()
            .arg("--aksk-lockout-failures")
            .arg("3")
            .arg("--aksk-lockout-seconds")
            .arg("2"),
    );
    let admin = server.admin();
    let key = create_key(&server, &admin.token, &admin.user_id);
    let other = create_key(&server, &admin.token, &admin.user_id);
    let apps = admin.apig("/apps");
    let wrong = Key {
        ak: key.ak.clone(),
        sk: "W".repeat(40),
    };
    for i in 0..3 {
        let r = get(&server, &wrong, &apps);
        r.assert_error(401, "APIG.0301", None);
        assert!(
            msg(&r).contains("verify signature fail"),
            "failure {i}: {}",
            r.text
        );
    }
    let r = get(&server, &key, &apps);
    r.assert_error(401, "APIG.0301", None);
    assert!(
        msg(&r).to_lowercase().contains("limit"),
        "locked message: {}",
        r.text
    );
    // Only that key is locked.
    let r = get(&server, &other, &apps);
    assert_eq!(r.status, 200, "another key: {}", r.text);

    std::thread::sleep(Duration::from_millis(2500));
    let r = Signed::new("POST", &apps)
        .json(&json!({"name": "after_lock"}))
        .send(&server, &key.ak, &key.sk);
    assert_eq!(r.status, 201, "after the lock period: {}", r.text);
    let r = get(&server, &key, &apps);
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn refused_signatures_never_log_the_signed_headers() {
    // The caller gets the canonical request (as Huawei does); the log must not, since signed
    // headers of temporary credentials carry an X-Security-Token.
    let server = Server::start();
    let admin = server.admin();
    let key = create_key(&server, &admin.token, &admin.user_id);
    let security_token = "temporary-security-token-value-42";
    let r = Signed::new("GET", &format!("/v2/{}/apigw/instances", admin.project_id))
        .header("x-security-token", security_token)
        .send(&server, &key.ak, "wrong-secret-key-value");
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(
        msg(&r).contains(security_token),
        "the caller sees its canonical request"
    );
    std::thread::sleep(std::time::Duration::from_millis(100));
    let log = server.log_text();
    assert!(log.contains("canonicalRequest:<omitted>"), "{log}");
    assert!(
        !log.contains(security_token),
        "security token leaked into the log"
    );
}
