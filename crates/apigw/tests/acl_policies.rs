//! Access control policies, black-box through the management API: create, get, list, replace
//! and delete (one or many) policies with every rule; bind them to published APIs, unbind one
//! or many, the three binding lists; missing objects, scope and roles; what reaches the
//! database. What the gateway does with them is in `gateway_e2e.rs`.

mod common;
use common::*;
use serde_json::{json, Value};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";
const RANDOM_ID: &str = "0123456789abcdef0123456789abcdef";

/// The calls of this suite's policies.
trait Policies {
    fn create_ok(&self, name: &str, acl_type: &str, value: &str) -> String;
    fn bind(&self, acl: &str, publish_ids: &[&str]) -> Reply;
}

/// Published API number `n`: (api id, publication record id).
fn published(m: &Mgmt, n: u32) -> (String, String) {
    m.published_api(&format!("acl_api_{n}"), &format!("/a{n}/{{name}}"))
}

impl Policies for Mgmt<'_> {
    fn create_ok(&self, name: &str, acl_type: &str, value: &str) -> String {
        let r = self.call("POST", "/acls", Some(&policy(name, acl_type, value)));
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["id"].as_str().unwrap().to_owned()
    }

    fn bind(&self, acl: &str, publish_ids: &[&str]) -> Reply {
        self.call(
            "POST",
            "/acl-bindings",
            Some(&json!({"acl_id": acl, "publish_ids": publish_ids})),
        )
    }
}

fn policy(name: &str, acl_type: &str, value: &str) -> Value {
    json!({"acl_name": name, "acl_type": acl_type, "acl_value": value, "entity_type": "IP"})
}

#[test]
fn policies_are_created_read_listed_replaced_and_deleted_under_their_rules() {
    let server = Server::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let created = m.call(
        "POST",
        "/acls",
        Some(&policy(
            "acl_demo",
            "PERMIT",
            "192.168.1.5, 192.168.10.0/24",
        )),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().unwrap().to_owned();
    assert_eq!(created.json["acl_name"], "acl_demo");
    assert_eq!(created.json["acl_type"], "PERMIT");
    assert_eq!(created.json["acl_value"], "192.168.1.5,192.168.10.0/24");
    assert_eq!(created.json["entity_type"], "IP");
    assert!(is_nanos_time(&created.json["update_time"]));
    assert_eq!(
        db_texts(&server, "SELECT acl_value FROM acl_policies"),
        vec!["192.168.1.5,192.168.10.0/24".to_owned()]
    );
    let got = m.call("GET", &format!("/acls/{id}"), None);
    assert_eq!(got.status, 200);
    assert!(is_seconds_time(&got.json["update_time"]));
    assert!(got.json.get("bind_num").is_none());

    // Every rule, and nothing stored on a refusal.
    let many = (0..101)
        .map(|i| format!("10.0.0.{i}"))
        .collect::<Vec<_>>()
        .join(",");
    for (body, field) in [
        (policy("ab", "PERMIT", "1.2.3.4"), "acl_name"),
        (policy("1abc", "PERMIT", "1.2.3.4"), "acl_name"),
        (policy("abc", "ALLOW", "1.2.3.4"), "acl_type"),
        (policy("abc", "DENY", "1.2.3"), "acl_value"),
        (policy("abc", "DENY", "1.2.3.4-1.2.3.1"), "acl_value"),
        (policy("abc", "DENY", ""), "acl_value"),
        (policy("abc", "DENY", &many), "acl_value"),
        (
            json!({"acl_name": "abc", "acl_type": "DENY", "acl_value": "acct", "entity_type": "DOMAIN"}),
            "entity_type",
        ),
        (
            json!({"acl_name": "abc", "acl_type": "DENY", "acl_value": "1.2.3.4"}),
            "entity_type",
        ),
    ] {
        m.call("POST", "/acls", Some(&body))
            .assert_error(400, "APIG.2011", Some(&invalid(field)));
    }
    m.call(
        "POST",
        "/acls",
        Some(&policy("acl_demo", "DENY", "1.2.3.4")),
    )
    .assert_error(
        400,
        "APIG.3206",
        Some("The access control policy name already exists."),
    );
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM acl_policies"), 1);

    // Lists, with bind_num; filters.
    let deny = m.create_ok("deny_list", "DENY", "2001:db8::/32");
    let list = m.call("GET", "/acls", None);
    assert_eq!(list.json["total"], 2, "{}", list.text);
    assert_eq!(list.json["acls"][0]["id"], deny.as_str());
    assert_eq!(list.json["acls"][0]["bind_num"], 0);
    assert_eq!(m.call("GET", "/acls?acl_type=DENY", None).json["total"], 1);
    assert_eq!(m.call("GET", "/acls?name=demo", None).json["total"], 1);
    assert_eq!(
        m.call("GET", "/acls?name=demo&precise_search=name", None)
            .json["total"],
        0
    );
    assert_eq!(
        m.call("GET", "/acls?entity_type=DOMAIN", None).json["total"],
        0
    );
    m.call("GET", "/acls?acl_type=X", None).assert_error(
        400,
        "APIG.2012",
        Some(&invalid("acl_type")),
    );

    // Replace.
    let replaced = m.call(
        "PUT",
        &format!("/acls/{id}"),
        Some(&policy("acl_renamed", "DENY", "10.1.0.0/16")),
    );
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(replaced.json["acl_type"], "DENY");
    assert_eq!(replaced.json["acl_value"], "10.1.0.0/16");
    m.call(
        "PUT",
        &format!("/acls/{id}"),
        Some(&policy("deny_list", "DENY", "10.1.0.0/16")),
    )
    .assert_error(400, "APIG.3206", None);

    // Missing.
    let missing = format!("Access control policy {RANDOM_ID} does not exist");
    for (method, body) in [
        ("GET", None),
        ("PUT", Some(policy("nobody", "DENY", "1.2.3.4"))),
        ("DELETE", None),
    ] {
        m.call(method, &format!("/acls/{RANDOM_ID}"), body.as_ref())
            .assert_error(404, "APIG.3006", Some(&missing));
    }

    // Deleting one, then several: a missing id is a failure item.
    assert_eq!(m.call("DELETE", &format!("/acls/{id}"), None).status, 204);
    let batch = m.call(
        "PUT",
        "/acls?action=delete",
        Some(&json!({"acls": [deny, RANDOM_ID]})),
    );
    assert_eq!(batch.status, 200, "{}", batch.text);
    assert_eq!(batch.json["success_count"], 1);
    assert_eq!(batch.json["failure"][0]["acl_id"], RANDOM_ID);
    assert_eq!(batch.json["failure"][0]["error_code"], "APIG.3006");
    assert_eq!(
        m.call("PUT", "/acls", Some(&json!({"acls": []}))).json["error_code"],
        "APIG.2011"
    );
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM acl_policies"), 0);
}

#[test]
fn policies_are_bound_to_published_apis_and_a_bound_one_cannot_be_deleted() {
    let server = Server::start();
    let admin = server.admin();
    let m = Mgmt {
        server: &server,
        s: &admin,
    };
    let permit = m.create_ok("office_only", "PERMIT", "203.0.113.0/24");
    let deny = m.create_ok("blocked", "DENY", "198.51.100.7");
    let (api1, pub1) = published(&m, 1);
    let (_api2, pub2) = published(&m, 2);

    let bound = m.bind(&permit, &[&pub1]);
    assert_eq!(bound.status, 201, "{}", bound.text);
    let b = &bound.json["acl_bindings"][0];
    assert_eq!(b["acl_id"], permit.as_str());
    assert_eq!(b["api_id"], api1.as_str());
    assert_eq!(b["env_id"], RELEASE);
    assert!(is_nanos_time(&b["create_time"]));
    let bind1 = b["id"].as_str().unwrap().to_owned();
    assert_eq!(
        m.bind(&permit, &[&pub1]).json["acl_bindings"][0]["id"],
        bind1.as_str()
    );
    m.bind(&deny, &[&pub2, &pub1])
        .assert_error(400, "APIG.3354", None);
    m.bind(RANDOM_ID, &[&pub2])
        .assert_error(404, "APIG.3006", None);
    m.bind(&deny, &[RANDOM_ID])
        .assert_error(404, "APIG.3015", None);
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM acl_bindings"), 1);
    let bound2 = m.bind(&deny, &[&pub2]);
    let bind2 = bound2.json["acl_bindings"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The lists.
    let apis = m.call(
        "GET",
        &format!("/acl-bindings/binded-apis?acl_id={permit}"),
        None,
    );
    assert_eq!(apis.status, 200, "{}", apis.text);
    assert_eq!(apis.json["total"], 1);
    let a = &apis.json["apis"][0];
    assert_eq!(a["api_id"], api1.as_str());
    assert_eq!(a["api_name"], "acl_api_1");
    assert_eq!(a["bind_id"], bind1.as_str());
    assert_eq!(a["publish_id"], pub1.as_str());
    assert_eq!(a["env_name"], "RELEASE");
    assert!(is_seconds_time(&a["bind_time"]));
    let unbound = m.call(
        "GET",
        &format!("/acl-bindings/unbinded-apis?acl_id={permit}"),
        None,
    );
    assert_eq!(unbound.json["total"], 1, "{}", unbound.text);
    assert_eq!(unbound.json["apis"][0]["publish_id"], pub2.as_str());
    assert_eq!(unbound.json["apis"][0]["acl_name"], "blocked");
    let of_api = m.call(
        "GET",
        &format!("/acl-bindings/binded-acls?api_id={api1}"),
        None,
    );
    assert_eq!(of_api.json["total"], 1, "{}", of_api.text);
    let p = &of_api.json["acls"][0];
    assert_eq!(p["acl_id"], permit.as_str());
    assert_eq!(p["acl_value"], "203.0.113.0/24");
    assert_eq!(p["bind_id"], bind1.as_str());
    for (path, field) in [
        ("/acl-bindings/binded-apis", "acl_id"),
        ("/acl-bindings/unbinded-apis?acl_id=x!", "acl_id"),
        ("/acl-bindings/binded-acls", "api_id"),
    ] {
        m.call("GET", path, None)
            .assert_error(400, "APIG.2012", Some(&invalid(field)));
    }
    m.call(
        "GET",
        &format!("/acl-bindings/binded-acls?api_id={RANDOM_ID}"),
        None,
    )
    .assert_error(404, "APIG.3002", None);

    // A bound policy cannot be deleted, alone or in a batch.
    m.call("DELETE", &format!("/acls/{permit}"), None)
        .assert_error(
            400,
            "APIG.3447",
            Some("The access control policy has been bound to APIs"),
        );
    let batch = m.call(
        "PUT",
        "/acls?action=delete",
        Some(&json!({"acls": [permit]})),
    );
    assert_eq!(batch.json["success_count"], 0);
    assert_eq!(batch.json["failure"][0]["acl_name"], "office_only");
    assert_eq!(batch.json["failure"][0]["error_code"], "APIG.3447");

    // Unbinding one, then several.
    assert_eq!(
        m.call("DELETE", &format!("/acl-bindings/{bind1}"), None)
            .status,
        204
    );
    m.call("DELETE", &format!("/acl-bindings/{bind1}"), None)
        .assert_error(
            404,
            "APIG.3010",
            Some("The access control policy binding record does not exist"),
        );
    let batch = m.call(
        "PUT",
        "/acl-bindings?action=delete",
        Some(&json!({"acl_bindings": [bind2, RANDOM_ID]})),
    );
    assert_eq!(batch.json["success_count"], 1, "{}", batch.text);
    assert_eq!(batch.json["failure"][0]["bind_id"], RANDOM_ID);
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM acl_bindings"), 0);
    assert_eq!(
        m.call("DELETE", &format!("/acls/{permit}"), None).status,
        204
    );
}

#[test]
fn roles_and_projects() {
    let server = Server::start();
    let admin = server.admin();
    let member = server.user_session(&admin, "amy", "proj_acl", "member");
    let reader = server.user_session(&admin, "rob", "proj_acl", "reader");
    let other = server.user_session(&admin, "oli", "proj_acl_other", "member");
    let mine = Mgmt {
        server: &server,
        s: &member,
    };
    let id = mine.create_ok("member_acl", "DENY", "192.0.2.1");
    let as_reader = Mgmt {
        server: &server,
        s: &reader,
    };
    assert_eq!(
        as_reader.call("GET", &format!("/acls/{id}"), None).status,
        200
    );
    let forbidden = Some("No permissions to request this method");
    as_reader
        .call(
            "POST",
            "/acls",
            Some(&policy("reader_acl", "DENY", "192.0.2.2")),
        )
        .assert_error(403, "APIG.1005", forbidden);
    as_reader
        .call("DELETE", &format!("/acls/{id}"), None)
        .assert_error(403, "APIG.1005", forbidden);
    let theirs = Mgmt {
        server: &server,
        s: &other,
    };
    theirs
        .call("GET", &format!("/acls/{id}"), None)
        .assert_error(404, "APIG.3006", None);
    assert_eq!(theirs.call("GET", "/acls", None).json["total"], 0);
    assert_eq!(db_scalar(&server, "SELECT COUNT(*) FROM acl_policies"), 1);
}
