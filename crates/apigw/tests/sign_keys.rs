//! Signature keys, black-box through the management API: create, list, replace and delete
//! keys with every rule (generated values, masking, the secret sealed in the database, the
//! instance's limit); bind them to published APIs, unbind, the three binding lists; missing
//! objects, scope and roles. What the gateway sends the backend is in `gateway_e2e.rs`.

mod common;
use common::*;
use serde_json::{json, Value};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";
const RANDOM_ID: &str = "0123456789abcdef0123456789abcdef";

/// The calls of this suite's keys.
trait Keys {
    fn create_ok(&self, body: &Value) -> Value;
    fn bind(&self, sign: &str, publish_ids: &[&str]) -> Reply;
}

impl Keys for Mgmt<'_> {
    fn create_ok(&self, body: &Value) -> Value {
        let r = self.call("POST", "/signs", Some(body));
        assert_eq!(r.status, 201, "{}", r.text);
        r.json
    }

    fn bind(&self, sign: &str, publish_ids: &[&str]) -> Reply {
        self.call(
            "POST",
            "/sign-bindings",
            Some(&json!({"sign_id": sign, "publish_ids": publish_ids})),
        )
    }
}

/// Published API number `n`: (api id, publication record id).
fn published(m: &Mgmt, n: u32) -> (String, String) {
    m.published_api(&format!("sign_api_{n}"), &format!("/s{n}/{{name}}"))
}

fn masked(secret: &str) -> String {
    format!(
        "{}************{}",
        &secret[..3],
        &secret[secret.len() - 3..]
    )
}

#[test]
fn keys_are_created_listed_replaced_and_deleted_under_their_rules() {
    let server = Server::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    // Everything generated but the name: an hmac key.
    let made = m.create_ok(&json!({"name": "backend_sign"}));
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(made["name"], "backend_sign");
    assert_eq!(made["sign_type"], "hmac");
    let key = made["sign_key"].as_str().unwrap().to_owned();
    let secret = made["sign_secret"].as_str().unwrap().to_owned();
    assert!(key.len() == 32 && key.starts_with('k'), "{key}");
    assert!(key.bytes().skip(1).all(|b| b.is_ascii_hexdigit()), "{key}");
    assert_eq!(secret.len(), 32);
    assert!(is_nanos_time(&made["update_time"]));
    assert!(is_nanos_time(&made["create_time"]));
    // The secret is sealed at rest; the key is not a secret.
    let stored = db_texts(&server, "SELECT secret_enc FROM sign_keys");
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains(&secret));
    assert_eq!(
        db_texts(&server, "SELECT sign_key FROM sign_keys"),
        vec![key.clone()]
    );

    // Given values, a basic key.
    let basic = m.create_ok(&json!({"name": "basic_auth", "sign_type": "basic",
        "sign_key": "gateway", "sign_secret": "s3cret!@#$%"}));
    assert_eq!(basic["sign_key"], "gateway");
    assert_eq!(basic["sign_secret"], "s3cret!@#$%");

    // Every rule, and nothing stored on a refusal.
    for (body, field) in [
        (json!({"name": "ab"}), "name"),
        (json!({"name": "1abc"}), "name"),
        (json!({"sign_type": "hmac"}), "name"),
        (json!({"name": "abc", "sign_type": "rsa"}), "sign_type"),
        (json!({"name": "abc", "sign_type": 1}), "sign_type"),
        (
            json!({"name": "abc", "sign_algorithm": "aes-128-cfb"}),
            "sign_algorithm",
        ),
        (json!({"name": "abc", "sign_key": "short"}), "sign_key"),
        (json!({"name": "abc", "sign_key": "-leading1"}), "sign_key"),
        (
            json!({"name": "abc", "sign_type": "basic", "sign_key": "9user"}),
            "sign_key",
        ),
        (
            json!({"name": "abc", "sign_secret": "fifteen_chars15"}),
            "sign_secret",
        ),
        (
            json!({"name": "abc", "sign_secret": "no spaces allowed here"}),
            "sign_secret",
        ),
        (
            json!({"name": "abc", "sign_type": "basic", "sign_secret": "seven77"}),
            "sign_secret",
        ),
    ] {
        m.call("POST", "/signs", Some(&body))
            .assert_error(400, "APIG.2011", Some(&invalid(field)));
    }
    for unsupported in ["aes", "public_key"] {
        let r = m.call(
            "POST",
            "/signs",
            Some(&json!({"name": "abc", "sign_type": unsupported})),
        );
        r.assert_error(400, "APIG.2011", None);
        assert!(
            r.json["error_msg"]
                .as_str()
                .unwrap()
                .contains("not supported"),
            "{}",
            r.text
        );
    }
    m.call("POST", "/signs", Some(&json!({"name": "backend_sign"})))
        .assert_error(
            400,
            "APIG.3207",
            Some("The signature key name already exists."),
        );
    server
        .call_raw(
            "POST",
            &admin.apig("/signs"),
            Some(&admin.token),
            "not json",
        )
        .assert_error(400, "APIG.2000", None);
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM sign_keys"), 2);

    // Lists, with bind_num; the secret masked; filters.
    let list = m.call("GET", "/signs", None);
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.json["total"], 2);
    let first = &list.json["signs"][0];
    assert_eq!(first["id"], basic["id"]);
    assert_eq!(first["sign_secret"], "s3c************#$%");
    assert_eq!(first["bind_num"], 0);
    assert_eq!(first["ldapi_bind_num"], 0);
    assert!(is_seconds_time(&first["update_time"]));
    assert_eq!(
        list.json["signs"][1]["sign_secret"],
        masked(&secret).as_str()
    );
    assert_eq!(m.call("GET", "/signs?name=sign", None).json["total"], 1);
    assert_eq!(
        m.call("GET", "/signs?name=sign&precise_search=name", None)
            .json["total"],
        0
    );
    assert_eq!(
        m.call("GET", "/signs?name=backend_sign&precise_search=name", None)
            .json["total"],
        1
    );
    assert_eq!(
        m.call("GET", &format!("/signs?id={id}"), None).json["total"],
        1
    );
    m.call("GET", "/signs?limit=ten", None)
        .assert_error(400, "APIG.2012", None);

    // Replace: a rename keeps key and secret; a new type gets new ones unless given.
    let renamed = m.call(
        "PUT",
        &format!("/signs/{id}"),
        Some(&json!({"name": "renamed_sign"})),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.json["name"], "renamed_sign");
    assert_eq!(renamed.json["sign_key"], key.as_str());
    assert_eq!(renamed.json["sign_secret"], masked(&secret).as_str());
    assert!(is_nanos_time(&renamed.json["update_time"]));
    assert!(is_seconds_time(&renamed.json["create_time"]));
    let retyped = m.call(
        "PUT",
        &format!("/signs/{id}"),
        Some(&json!({"name": "renamed_sign", "sign_type": "basic", "sign_secret": "new-pass"})),
    );
    assert_eq!(retyped.status, 200, "{}", retyped.text);
    assert_eq!(retyped.json["sign_type"], "basic");
    assert_ne!(retyped.json["sign_key"], key.as_str());
    assert_eq!(retyped.json["sign_secret"], "new************ass");
    m.call(
        "PUT",
        &format!("/signs/{id}"),
        Some(&json!({"name": "basic_auth"})),
    )
    .assert_error(400, "APIG.3207", None);
    m.call("PUT", &format!("/signs/{id}"), Some(&json!({"name": "x"})))
        .assert_error(400, "APIG.2011", Some(&invalid("name")));

    // Missing.
    let missing = format!("Signature key {RANDOM_ID} does not exist");
    m.call(
        "PUT",
        &format!("/signs/{RANDOM_ID}"),
        Some(&json!({"name": "nobody"})),
    )
    .assert_error(404, "APIG.3017", Some(&missing));
    m.call("DELETE", &format!("/signs/{RANDOM_ID}"), None)
        .assert_error(404, "APIG.3017", Some(&missing));
    m.call("DELETE", "/signs/not-an-id!", None)
        .assert_error(400, "APIG.2012", None);

    // Delete.
    assert_eq!(m.call("DELETE", &format!("/signs/{id}"), None).status, 204);
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM sign_keys"), 1);

    // The instance's limit: 200 keys.
    for n in 1..200 {
        m.create_ok(&json!({"name": format!("many_{n}")}));
    }
    m.call("POST", "/signs", Some(&json!({"name": "one_too_many"})))
        .assert_error(
            403,
            "APIG.3105",
            Some("The number of signature keys exceeds the maximum allowed limit."),
        );
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM sign_keys"), 200);
}

#[test]
fn keys_are_bound_to_published_apis_and_a_bound_one_cannot_be_deleted() {
    let server = Server::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let hmac = m.create_ok(&json!({"name": "hmac_key"}));
    let hmac_id = hmac["id"].as_str().unwrap().to_owned();
    let basic = m.create_ok(&json!({"name": "basic_key", "sign_type": "basic"}));
    let basic_id = basic["id"].as_str().unwrap().to_owned();
    let (api1, pub1) = published(&m, 1);
    let (_api2, pub2) = published(&m, 2);

    let bound = m.bind(&hmac_id, &[&pub1]);
    assert_eq!(bound.status, 201, "{}", bound.text);
    let b = &bound.json["bindings"][0];
    assert_eq!(b["sign_id"], hmac_id.as_str());
    assert_eq!(b["sign_name"], "hmac_key");
    assert_eq!(b["sign_type"], "hmac");
    assert_eq!(b["sign_key"], hmac["sign_key"]);
    let secret = hmac["sign_secret"].as_str().unwrap();
    assert_eq!(b["sign_secret"], masked(secret).as_str());
    assert_eq!(b["api_id"], api1.as_str());
    assert_eq!(b["api_name"], "sign_api_1");
    assert_eq!(b["publish_id"], pub1.as_str());
    assert_eq!(b["env_id"], RELEASE);
    assert_eq!(b["env_name"], "RELEASE");
    assert_eq!(b["group_name"], "DEFAULT");
    assert_eq!(b["req_method"], "GET");
    assert!(is_seconds_time(&b["binding_time"]));
    let bind1 = b["id"].as_str().unwrap().to_owned();
    assert_eq!(
        db_texts(&server, "SELECT id FROM sign_bindings"),
        vec![bind1.clone()]
    );
    // Again: the same binding.
    assert_eq!(
        m.bind(&hmac_id, &[&pub1]).json["bindings"][0]["id"],
        bind1.as_str()
    );
    // One key per API and environment; all or nothing.
    m.bind(&basic_id, &[&pub2, &pub1])
        .assert_error(400, "APIG.3355", None);
    m.bind(RANDOM_ID, &[&pub2])
        .assert_error(404, "APIG.3017", None);
    m.bind(&basic_id, &[RANDOM_ID])
        .assert_error(404, "APIG.3015", None);
    for body in [
        json!({"publish_ids": [pub2]}),
        json!({"sign_id": basic_id}),
        json!({"sign_id": basic_id, "publish_ids": []}),
        json!({"sign_id": basic_id, "publish_ids": "x"}),
        json!({"sign_id": "bad id", "publish_ids": [pub2]}),
    ] {
        let r = m.call("POST", "/sign-bindings", Some(&body));
        assert_eq!(r.status, 400, "{body}: {}", r.text);
    }
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM sign_bindings"), 1);
    let bound2 = m.bind(&basic_id, &[&pub2]);
    assert_eq!(bound2.status, 201, "{}", bound2.text);
    let bind2 = bound2.json["bindings"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The lists.
    let apis = m.call(
        "GET",
        &format!("/sign-bindings/binded-apis?sign_id={hmac_id}"),
        None,
    );
    assert_eq!(apis.status, 200, "{}", apis.text);
    assert_eq!(apis.json["total"], 1);
    let a = &apis.json["bindings"][0];
    assert_eq!(a["id"], bind1.as_str());
    assert_eq!(a["api_id"], api1.as_str());
    assert_eq!(a["sign_name"], "hmac_key");
    assert!(a.get("sign_secret").is_none());
    let unbound = m.call(
        "GET",
        &format!("/sign-bindings/unbinded-apis?sign_id={hmac_id}"),
        None,
    );
    assert_eq!(unbound.json["total"], 1, "{}", unbound.text);
    assert_eq!(unbound.json["apis"][0]["publish_id"], pub2.as_str());
    assert_eq!(unbound.json["apis"][0]["signature_name"], "basic_key");
    assert_eq!(unbound.json["apis"][0]["run_env_name"], "RELEASE");
    let of_api = m.call(
        "GET",
        &format!("/sign-bindings/binded-signs?api_id={api1}"),
        None,
    );
    assert_eq!(of_api.json["total"], 1, "{}", of_api.text);
    assert_eq!(of_api.json["bindings"][0]["sign_id"], hmac_id.as_str());
    assert_eq!(of_api.json["bindings"][0]["sign_key"], hmac["sign_key"]);
    assert_eq!(
        m.call(
            "GET",
            &format!("/sign-bindings/binded-signs?api_id={api1}&sign_name=basic"),
            None
        )
        .json["total"],
        0
    );
    let listed = m.call("GET", "/signs?precise_search=name&name=hmac_key", None);
    assert_eq!(listed.json["signs"][0]["bind_num"], 1);
    for (path, field) in [
        ("/sign-bindings/binded-apis", "sign_id"),
        ("/sign-bindings/unbinded-apis?sign_id=x!", "sign_id"),
        ("/sign-bindings/binded-signs", "api_id"),
    ] {
        m.call("GET", path, None)
            .assert_error(400, "APIG.2012", Some(&invalid(field)));
    }
    m.call(
        "GET",
        &format!("/sign-bindings/binded-apis?sign_id={RANDOM_ID}"),
        None,
    )
    .assert_error(404, "APIG.3017", None);
    m.call(
        "GET",
        &format!("/sign-bindings/binded-signs?api_id={RANDOM_ID}"),
        None,
    )
    .assert_error(404, "APIG.3002", None);

    // A bound key cannot be deleted.
    m.call("DELETE", &format!("/signs/{hmac_id}"), None)
        .assert_error(
            400,
            "APIG.3448",
            Some("The signature key has been bound to APIs and cannot be deleted."),
        );

    // Unbinding.
    assert_eq!(
        m.call("DELETE", &format!("/sign-bindings/{bind1}"), None)
            .status,
        204
    );
    m.call("DELETE", &format!("/sign-bindings/{bind1}"), None)
        .assert_error(
            404,
            "APIG.3018",
            Some("The signature key binding record does not exist."),
        );
    assert_eq!(
        db_texts(&server, "SELECT id FROM sign_bindings"),
        vec![bind2]
    );
    assert_eq!(
        m.call("DELETE", &format!("/signs/{hmac_id}"), None).status,
        204
    );
    // Deleting the API takes its binding with it.
    let api2 = _api2;
    let offline = m.call(
        "POST",
        "/apis/action",
        Some(&json!({"action": "offline", "api_id": api2, "env_id": RELEASE})),
    );
    assert!(offline.status < 300, "{}", offline.text);
    assert_eq!(m.call("DELETE", &format!("/apis/{api2}"), None).status, 204);
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM sign_bindings"), 0);
    assert_eq!(
        m.call("DELETE", &format!("/signs/{basic_id}"), None).status,
        204
    );
}

#[test]
fn roles_and_projects() {
    let server = Server::start();
    let admin = server.admin();
    let member = server.user_session(&admin, "amy", "proj_sign", "member");
    let reader = server.user_session(&admin, "rob", "proj_sign", "reader");
    let other = server.user_session(&admin, "oli", "proj_sign_other", "member");
    let mine = Mgmt {
        server: &server,
        s: &member,
    };
    let key = mine.create_ok(&json!({"name": "member_key"}));
    let id = key["id"].as_str().unwrap();
    let (_, publish_id) = mine.published_api("member_api", "/member/{name}");
    let as_reader = Mgmt {
        server: &server,
        s: &reader,
    };
    assert_eq!(as_reader.call("GET", "/signs", None).json["total"], 1);
    let forbidden = Some("No permissions to request this method");
    as_reader
        .call("POST", "/signs", Some(&json!({"name": "reader_key"})))
        .assert_error(403, "APIG.1005", forbidden);
    as_reader
        .call("DELETE", &format!("/signs/{id}"), None)
        .assert_error(403, "APIG.1005", forbidden);
    as_reader
        .bind(id, &[&publish_id])
        .assert_error(403, "APIG.1005", forbidden);
    let theirs = Mgmt {
        server: &server,
        s: &other,
    };
    theirs
        .call(
            "PUT",
            &format!("/signs/{id}"),
            Some(&json!({"name": "stolen"})),
        )
        .assert_error(404, "APIG.3017", None);
    theirs
        .call("DELETE", &format!("/signs/{id}"), None)
        .assert_error(404, "APIG.3017", None);
    assert_eq!(theirs.call("GET", "/signs", None).json["total"], 0);
    // Their key cannot be bound to our API, nor ours to theirs.
    let their_key = theirs.create_ok(&json!({"name": "their_key"}));
    theirs
        .bind(their_key["id"].as_str().unwrap(), &[&publish_id])
        .assert_error(404, "APIG.3015", None);
    theirs
        .bind(id, &[&publish_id])
        .assert_error(404, "APIG.3017", None);
    // No token, a bad token.
    let url = member.apig("/signs");
    let r = server.call("GET", &url, None, None);
    r.assert_error(401, "APIG.1000", None);
    let r = server.call("GET", &url, Some("not-a-token"), None);
    r.assert_error(401, "APIG.1002", None);
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM sign_keys"), 2);
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM sign_bindings"), 0);
}

#[test]
fn deleting_an_instance_deletes_its_keys_and_bindings() {
    let server = Server::start();
    let admin = server.admin();
    let created = server.call(
        "POST",
        &format!("/v2/{}/apigw/instances", admin.project_id),
        Some(&admin.token),
        Some(&json!({"instance_name": "short_lived"})),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let short_lived = Session {
        token: admin.token.clone(),
        project_id: admin.project_id.clone(),
        user_id: admin.user_id.clone(),
        instance_id: created.json["id"].as_str().unwrap().to_owned(),
    };
    let m = Mgmt {
        server: &server,
        s: &short_lived,
    };
    let key = m.create_ok(&json!({"name": "doomed_key"}));
    let (_, publish_id) = published(&m, 1);
    let bound = m.bind(key["id"].as_str().unwrap(), &[&publish_id]);
    assert_eq!(bound.status, 201, "{}", bound.text);
    // A key of the default instance stays.
    let kept = Mgmt {
        server: &server,
        s: &admin,
    };
    kept.create_ok(&json!({"name": "kept_key"}));
    let deleted = server.call(
        "DELETE",
        &format!(
            "/v2/{}/apigw/instances/{}",
            admin.project_id, short_lived.instance_id
        ),
        Some(&admin.token),
        None,
    );
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(
        db_texts(&server, "SELECT name FROM sign_keys"),
        vec!["kept_key".to_owned()]
    );
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM sign_bindings"), 0);
}
