//! SSL certificates as resources of a project (`/v2/{project_id}/apigw/certificates`),
//! black-box: the real server and its store, its HTTPS gateway listener presenting the
//! certificates attached to bound names (`.../domains/{domain_id}/certificates/attach`), real
//! TLS clients with a real echo backend behind the name.

mod common;
use common::*;
use rcgen::{CertificateParams, KeyPair};
use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::net::SocketAddr;

const NAME: &str = "api.shop.example";

/// A certificate for `names` with its key (PEM), valid from now for a year unless `expired`.
fn certificate(names: &[&str], expired: bool) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
    if expired {
        params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(30);
        params.not_after = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    }
    (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
}

struct Gw {
    server: Server,
    admin: Session,
    https: SocketAddr,
}

impl Gw {
    fn start() -> Gw {
        let server = Server::start_with(Opts::default().arg("--gateway-listen").arg("127.0.0.1:0"));
        let https = SocketAddr::from(([127, 0, 0, 1], server.port_of("gateway listening (HTTPS)")));
        let admin = server.admin();
        Gw {
            server,
            admin,
            https,
        }
    }

    /// `method` on the project's certificates (`rest` after `/certificates`).
    fn certs(&self, method: &str, rest: &str, body: Option<&Value>) -> Reply {
        let path = format!("/v2/{}/apigw/certificates{rest}", self.admin.project_id);
        self.server
            .call(method, &path, Some(&self.admin.token), body)
    }

    /// `method` on the admin's instance path `path`.
    fn mgmt(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        Mgmt {
            server: &self.server,
            s: &self.admin,
        }
        .call(method, path, body)
    }

    /// `GET /echo/a` on [`NAME`] over HTTPS, trusting only `server_pem`.
    fn call(&self, server_pem: &str) -> reqwest::Result<reqwest::blocking::Response> {
        Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(server_pem.as_bytes()).unwrap())
            .resolve(NAME, self.https)
            .build()
            .unwrap()
            .get(format!("https://{NAME}:{}/echo/a", self.https.port()))
            .send()
    }

    /// The leaf the listener presents for [`NAME`].
    fn presented(&self) -> Vec<u8> {
        presented_for_name(&format!("https://{}", self.https), Some(NAME))
    }

    fn stored_certificates(&self) -> i64 {
        db_scalar(&self.server, "SELECT COUNT(*) FROM certificates")
    }
}

fn form(name: &str, pair: &(String, String)) -> Value {
    json!({"name": name, "cert_content": pair.0, "private_key": pair.1})
}

fn with(mut body: Value, field: &str, value: Value) -> Value {
    body[field] = value;
    body
}

/// Asserts `r` is 400 `APIG.2011` naming `field`.
fn assert_invalid(r: &Reply, field: &str) {
    r.assert_error(400, "APIG.2011", None);
    assert!(r.text.contains(field), "{field}: {}", r.text);
}

#[test]
fn a_project_certificate_is_created_listed_attached_replaced_and_deleted() {
    let gw = Gw::start();
    let backend = EchoBackend::start();
    let mgmt = Mgmt {
        server: &gw.server,
        s: &gw.admin,
    };
    let (group_id, _) = mgmt.shop_group(&backend);
    let bound = gw.mgmt(
        "POST",
        &format!("/api-groups/{group_id}/domains"),
        Some(&json!({ "url_domain": NAME })),
    );
    assert_eq!(bound.status, 201, "{}", bound.text);
    let domain_id = bound.json["id"].as_str().unwrap().to_owned();
    let domain = format!("/api-groups/{group_id}/domains/{domain_id}");
    let default_leaf = gw.presented();
    let shop = certificate(&[NAME, "*.shop.example"], false);
    let ca = certificate(&["Shop clients CA"], false).0;

    // Every rule of the form, each refused with Huawei's code and nothing stored.
    let good = form("shop_cert", &shop);
    assert_invalid(
        &gw.certs("POST", "", Some(&with(good.clone(), "name", json!("ab")))),
        "name",
    );
    let r = gw.certs(
        "POST",
        "",
        Some(&json!({"name": "shop_cert", "private_key": shop.1})),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("cert_content"), "{}", r.text);
    let garbage = with(good.clone(), "cert_content", json!("not a certificate"));
    gw.certs("POST", "", Some(&garbage))
        .assert_error(400, "APIG.2106", None);
    let expired = certificate(&[NAME], true);
    gw.certs("POST", "", Some(&form("old_cert", &expired)))
        .assert_error(400, "APIG.2102", Some("The certificate has expired."));
    let other_key = with(
        good.clone(),
        "private_key",
        json!(certificate(&[NAME], false).1),
    );
    gw.certs("POST", "", Some(&other_key))
        .assert_error(400, "APIG.2101", None);
    assert_invalid(
        &gw.certs(
            "POST",
            "",
            Some(&with(good.clone(), "type", json!("region"))),
        ),
        "type",
    );
    let r = gw.certs(
        "POST",
        "",
        Some(&with(good.clone(), "type", json!("instance"))),
    );
    r.assert_error(400, "APIG.2001", None);
    assert!(r.text.contains("instance_id"), "{}", r.text);
    let elsewhere = with(
        with(good.clone(), "type", json!("instance")),
        "instance_id",
        json!("0".repeat(32)),
    );
    gw.certs("POST", "", Some(&elsewhere))
        .assert_error(404, "APIG.3030", None);
    // rcgen's keys are ECDSA: `RSA` names another family, `SM2` is not supported.
    for algorithm in ["RSA", "SM2"] {
        let r = gw.certs(
            "POST",
            "",
            Some(&with(good.clone(), "algorithm_type", json!(algorithm))),
        );
        assert_invalid(&r, "algorithm_type");
    }
    assert_invalid(
        &gw.certs(
            "POST",
            "",
            Some(&with(good.clone(), "trusted_root_ca", json!(7))),
        ),
        "trusted_root_ca",
    );
    assert_eq!(gw.stored_certificates(), 0);

    // Created: global by default, its details read from the leaf, the key sealed at rest.
    let created = gw.certs(
        "POST",
        "",
        Some(&with(
            with(good.clone(), "trusted_root_ca", json!(ca)),
            "algorithm_type",
            json!("ECC"),
        )),
    );
    assert_eq!(created.status, 200, "{}", created.text);
    let c = &created.json;
    let global_id = c["id"].as_str().unwrap().to_owned();
    assert_eq!(c["name"], "shop_cert");
    assert_eq!(c["type"], "global");
    assert_eq!(c["instance_id"], "common");
    assert_eq!(c["project_id"], gw.admin.project_id.as_str());
    assert_eq!(c["san"], json!([NAME, "*.shop.example"]));
    assert_eq!(c["algorithm_type"], "ECC");
    assert_eq!(c["signature_algorithm"], "ECDSA-SHA256");
    assert_eq!(c["is_has_trusted_root_ca"], true);
    assert_eq!(c["version"], 3);
    assert!(is_seconds_time(&c["not_before"]) && is_seconds_time(&c["not_after"]));
    assert!(c.get("private_key").is_none() && c.get("cert_content").is_none());
    let stored = db_rows(
        &gw.server,
        &format!("SELECT instance_id, cert_content, private_key, trusted_root_ca FROM certificates WHERE id = '{global_id}'"),
        |row| {
            use sqlx::Row;
            (
                row.try_get::<Option<String>, _>(0).unwrap(),
                row.try_get::<String, _>(1).unwrap(),
                row.try_get::<String, _>(2).unwrap(),
                row.try_get::<Option<String>, _>(3).unwrap(),
            )
        },
    )
    .remove(0);
    assert_eq!(stored.0, None);
    assert_eq!(stored.1, shop.0);
    assert!(!stored.2.contains("PRIVATE KEY") && !shop.1.contains(&stored.2));
    assert_eq!(stored.3.as_deref(), Some(ca.as_str()));
    assert!(!gw.server.log_text().contains("PRIVATE KEY"));
    let instance = gw.certs(
        "POST",
        "",
        Some(
            &json!({"name": "own_cert", "cert_content": shop.0, "private_key": shop.1,
            "type": "instance", "instance_id": gw.admin.instance_id}),
        ),
    );
    assert_eq!(instance.status, 200, "{}", instance.text);
    assert_eq!(instance.json["type"], "instance");
    assert_eq!(instance.json["instance_id"], gw.admin.instance_id.as_str());
    assert_eq!(instance.json["is_has_trusted_root_ca"], false);
    let instance_id = instance.json["id"].as_str().unwrap().to_owned();

    // Listed, filtered and paged.
    let ids = |query: &str| -> (u64, Vec<String>) {
        let r = gw.certs("GET", query, None);
        assert_eq!(r.status, 200, "{query}: {}", r.text);
        let certs = r.json["certs"].as_array().unwrap();
        assert_eq!(r.json["size"], certs.len());
        (
            r.json["total"].as_u64().unwrap(),
            certs
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned())
                .collect(),
        )
    };
    assert_eq!(ids(""), (2, vec![global_id.clone(), instance_id.clone()]));
    assert_eq!(ids("?type=instance").1, [instance_id.as_str()]);
    assert_eq!(ids("?name=own").1, [instance_id.as_str()]);
    assert_eq!(ids(&format!("?instance_id={}", gw.admin.instance_id)).0, 2);
    assert_eq!(
        ids(&format!("?instance_id={}", "0".repeat(32))).1,
        [global_id.as_str()]
    );
    assert_eq!(ids("?common_name=&algorithm_type=ECC").0, 2);
    assert_eq!(ids("?algorithm_type=RSA").0, 0);
    assert_eq!(ids("?signature_algorithm=ECDSA-SHA256").0, 2);
    assert_eq!(ids("?limit=1&offset=1"), (2, vec![instance_id.clone()]));
    gw.certs("GET", "?type=region", None)
        .assert_error(400, "APIG.2012", None);
    let shown = gw.certs("GET", &format!("/{global_id}"), None);
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(shown.json, created.json);
    gw.certs("GET", &format!("/{}", "0".repeat(32)), None)
        .assert_error(
            404,
            "APIG.3021",
            Some("The SSL certificate does not exist."),
        );

    // Attaching: exactly one id, a certificate the instance may use that covers the name;
    // verification without a CA is refused.
    let attach = |body: Value| {
        gw.mgmt(
            "POST",
            &format!("{domain}/certificates/attach"),
            Some(&body),
        )
    };
    assert_invalid(
        &attach(json!({"certificate_ids": [global_id, instance_id]})),
        "certificate_ids",
    );
    assert_invalid(&attach(json!({"certificate_ids": []})), "certificate_ids");
    attach(json!({"certificate_ids": ["0".repeat(32)]})).assert_error(404, "APIG.3021", None);
    let elsewhere = certificate(&["www.other.example"], false);
    let other = gw.certs("POST", "", Some(&form("other_cert", &elsewhere)));
    let other_id = other.json["id"].as_str().unwrap().to_owned();
    attach(json!({"certificate_ids": [other_id]})).assert_error(400, "APIG.2103", None);
    assert_invalid(
        &attach(
            json!({"certificate_ids": [instance_id], "verified_client_certificate_enabled": true}),
        ),
        "verified_client_certificate_enabled",
    );
    assert_eq!(gw.presented(), default_leaf);

    // Attached (without client verification): the name presents it at once, callers reach
    // the backend, the group and the certificate name each other.
    let r = attach(
        json!({"certificate_ids": [global_id], "verified_client_certificate_enabled": false}),
    );
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(gw.presented(), der_of(&shop.0));
    let echoed: Value = gw
        .call(&shop.0)
        .expect("the certificate verifies")
        .json()
        .unwrap();
    assert_eq!(echoed["path"], "/backend/a");
    let group = gw.mgmt("GET", &format!("/api-groups/{group_id}"), None);
    let listed = &group.json["url_domains"][0];
    assert_eq!(listed["ssl_id"], global_id.as_str());
    assert_eq!(listed["ssl_name"], "shop_cert");
    assert_eq!(listed["verified_client_certificate_enabled"], false);
    assert_eq!(listed["is_has_trusted_root_ca"], true);
    assert_eq!(
        listed["ssl_infos"],
        json!([{"ssl_id": global_id, "ssl_name": "shop_cert", "algorithm_type": "ECC",
            "type": 2, "is_has_trusted_root_ca": true}])
    );
    let attached = gw.certs("GET", &format!("/{global_id}/attached-domains"), None);
    assert_eq!(attached.status, 200, "{}", attached.text);
    assert_eq!(attached.json["total"], 1);
    let a = &attached.json["bound_domains"][0];
    assert_eq!(a["id"], domain_id.as_str());
    assert_eq!(a["url_domain"], NAME);
    assert_eq!(a["ssl_id"], global_id.as_str());
    assert_eq!(a["api_group_id"], group_id.as_str());
    assert_eq!(a["api_group_name"], "shop");
    assert_eq!(a["instance_id"], gw.admin.instance_id.as_str());
    assert_eq!(a["status"], 3);
    let none = gw.certs(
        "GET",
        &format!("/{global_id}/attached-domains?url_domain=www"),
        None,
    );
    assert_eq!(none.json["total"], 0);
    // The certificate a name already presents: attaching again changes the verification.
    let r = attach(json!({"certificate_ids": [global_id]}));
    assert_eq!(r.status, 204, "{}", r.text);
    let group = gw.mgmt("GET", &format!("/api-groups/{group_id}"), None);
    assert_eq!(
        group.json["url_domains"][0]["verified_client_certificate_enabled"],
        true
    );
    assert!(
        gw.call(&shop.0).is_err(),
        "no client certificate: the handshake fails"
    );
    let r = gw.mgmt(
        "PUT",
        &domain,
        Some(&json!({"verified_client_certificate_enabled": false})),
    );
    assert_eq!(r.status, 200, "{}", r.text);

    // Attached, it cannot be deleted.
    gw.certs("DELETE", &format!("/{global_id}"), None)
        .assert_error(400, "APIG.3449", None);

    // Replaced: the scope stays, the new chain must cover the attached name; then every name
    // presents the new one from the next handshake.
    let r = gw.certs(
        "PUT",
        &format!("/{global_id}"),
        Some(&form("shop_cert", &elsewhere)),
    );
    r.assert_error(400, "APIG.2103", None);
    assert_invalid(
        &gw.certs(
            "PUT",
            &format!("/{global_id}"),
            Some(&with(good.clone(), "type", json!("instance"))),
        ),
        "type",
    );
    let renewed = certificate(&[NAME], false);
    let r = gw.certs(
        "PUT",
        &format!("/{global_id}"),
        Some(&form("shop_cert_2026", &renewed)),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["id"], global_id.as_str());
    assert_eq!(r.json["name"], "shop_cert_2026");
    assert_eq!(r.json["type"], "global");
    assert_eq!(r.json["is_has_trusted_root_ca"], false);
    assert_eq!(r.json["create_time"], created.json["create_time"]);
    assert_eq!(gw.presented(), der_of(&renewed.0));
    assert_eq!(gw.call(&renewed.0).unwrap().status(), 200);
    let group = gw.mgmt("GET", &format!("/api-groups/{group_id}"), None);
    assert_eq!(group.json["url_domains"][0]["ssl_name"], "shop_cert_2026");
    assert_eq!(
        group.json["url_domains"][0]["is_has_trusted_root_ca"],
        false
    );

    // The instance's own certificate replaces it on the name (the global one stays).
    let r = attach(json!({"certificate_ids": [instance_id]}));
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(gw.presented(), der_of(&shop.0));
    let group = gw.mgmt("GET", &format!("/api-groups/{group_id}"), None);
    assert_eq!(group.json["url_domains"][0]["ssl_infos"][0]["type"], 1);
    let attached = gw.certs("GET", &format!("/{global_id}/attached-domains"), None);
    assert_eq!(attached.json["total"], 0);

    // Detached: only the certificate it presents (404 `APIG.3097` otherwise); the name gets
    // the listener's own certificate again; then the certificate can be deleted.
    let detach = |id: &str| {
        gw.mgmt(
            "POST",
            &format!("{domain}/certificates/detach"),
            Some(&json!({"certificate_ids": [id]})),
        )
    };
    detach(&global_id).assert_error(404, "APIG.3097", None);
    let r = detach(&instance_id);
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(gw.presented(), default_leaf);
    for id in [&global_id, &instance_id, &other_id] {
        let r = gw.certs("DELETE", &format!("/{id}"), None);
        assert_eq!(r.status, 204, "{}", r.text);
    }
    gw.certs("GET", &format!("/{global_id}"), None)
        .assert_error(404, "APIG.3021", None);
    assert_eq!(gw.stored_certificates(), 0);

    // One added to the name itself is an instance certificate of the project while the name
    // presents it, and goes with it.
    let added = gw.mgmt(
        "POST",
        &format!("{domain}/certificate"),
        Some(&form("name_cert", &shop)),
    );
    assert_eq!(added.status, 201, "{}", added.text);
    let added_id = added.json["ssl_id"].as_str().unwrap().to_owned();
    let listed = gw.certs("GET", "", None);
    assert_eq!(
        listed.json["certs"][0]["id"],
        added_id.as_str(),
        "{}",
        listed.text
    );
    assert_eq!(listed.json["certs"][0]["type"], "instance");
    let r = gw.mgmt("DELETE", &format!("{domain}/certificate/{added_id}"), None);
    assert_eq!(r.status, 204, "{}", r.text);
    gw.certs("GET", &format!("/{added_id}"), None)
        .assert_error(404, "APIG.3021", None);
    assert_eq!(gw.stored_certificates(), 0);
    let log = gw.server.log_text();
    for line in [
        "certificate created",
        "certificate attached to a bound domain",
        "certificate replaced",
        "certificate detached from a bound domain",
        "certificate deleted",
    ] {
        assert!(log.contains(line), "{line}");
    }
}

#[test]
fn a_project_sees_and_uses_only_its_own_certificates() {
    let gw = Gw::start();
    let other = gw
        .server
        .user_session(&gw.admin, "oli", "proj_certs_other", "member");
    let reader = gw
        .server
        .user_session(&gw.admin, "rob", "proj_certs_other", "reader");
    let shop = certificate(&[NAME], false);
    let mine = gw.certs("POST", "", Some(&form("shop_cert", &shop)));
    assert_eq!(mine.status, 200, "{}", mine.text);
    let id = mine.json["id"].as_str().unwrap().to_owned();
    let theirs = |s: &Session, method: &str, rest: &str, body: Option<&Value>| {
        gw.server.call(
            method,
            &format!("/v2/{}/apigw/certificates{rest}", s.project_id),
            Some(&s.token),
            body,
        )
    };
    // Another project's token on this project's path: 403; on its own path the certificate
    // does not exist and is not listed.
    let r = gw.server.call(
        "GET",
        &format!("/v2/{}/apigw/certificates", gw.admin.project_id),
        Some(&other.token),
        None,
    );
    r.assert_error(403, "APIG.1005", None);
    theirs(&other, "GET", &format!("/{id}"), None).assert_error(404, "APIG.3021", None);
    theirs(&other, "DELETE", &format!("/{id}"), None).assert_error(404, "APIG.3021", None);
    let listed = theirs(&other, "GET", "", None);
    assert_eq!(listed.json["total"], 0, "{}", listed.text);
    // Nor can a name of the other project's instance present it.
    let group = gw.server.call(
        "POST",
        &other.apig("/api-groups"),
        Some(&other.token),
        Some(&json!({"name": "shop"})),
    );
    assert_eq!(group.status, 201, "{}", group.text);
    let group_id = group.json["id"].as_str().unwrap();
    let bound = gw.server.call(
        "POST",
        &other.apig(&format!("/api-groups/{group_id}/domains")),
        Some(&other.token),
        Some(&json!({"url_domain": NAME})),
    );
    assert_eq!(bound.status, 201, "{}", bound.text);
    let r = gw.server.call(
        "POST",
        &other.apig(&format!(
            "/api-groups/{group_id}/domains/{}/certificates/attach",
            bound.json["id"].as_str().unwrap()
        )),
        Some(&other.token),
        Some(&json!({"certificate_ids": [id]})),
    );
    r.assert_error(404, "APIG.3021", None);
    // A reader of a project may list but not create.
    assert_eq!(theirs(&reader, "GET", "", None).status, 200);
    theirs(&reader, "POST", "", Some(&form("shop_cert", &shop))).assert_error(
        403,
        "APIG.1005",
        None,
    );
    assert_eq!(gw.stored_certificates(), 1);
}

#[test]
fn a_certificate_is_attached_from_its_side_to_a_name_wherever_it_is_bound() {
    let gw = Gw::start();
    let project = gw.admin.project_id.clone();
    let second = gw.server.call(
        "POST",
        &format!("/v2/{project}/apigw/instances"),
        Some(&gw.admin.token),
        Some(&json!({"instance_name": "gw_two"})),
    );
    assert_eq!(second.status, 201, "{}", second.text);
    let second = second.json["id"].as_str().unwrap().to_owned();
    // NAME bound in both instances, `www.other.example` in the first only.
    let bind = |instance: &str, name: &str| {
        let path = |rest: &str| format!("/v2/{project}/apigw/instances/{instance}{rest}");
        let call = |method: &str, rest: &str, body: &Value| {
            gw.server
                .call(method, &path(rest), Some(&gw.admin.token), Some(body))
        };
        let group = call(
            "POST",
            "/api-groups",
            &json!({"name": format!("shop_{}", &name[..3])}),
        );
        assert_eq!(group.status, 201, "{}", group.text);
        let group_id = group.json["id"].as_str().unwrap();
        let bound = call(
            "POST",
            &format!("/api-groups/{group_id}/domains"),
            &json!({"url_domain": name}),
        );
        assert_eq!(bound.status, 201, "{}", bound.text);
    };
    bind(&gw.admin.instance_id, NAME);
    bind(&second, NAME);
    bind(&gw.admin.instance_id, "www.other.example");
    let default_leaf = gw.presented();
    let shop = certificate(&[NAME], false);
    let global = gw.certs("POST", "", Some(&form("shop_cert", &shop)));
    let global_id = global.json["id"].as_str().unwrap().to_owned();
    let side = |action: &str, id: &str, domains: Value| {
        gw.certs(
            "POST",
            &format!("/{id}/domains/{action}"),
            Some(&json!({ "domains": domains })),
        )
    };
    let attached_instances = |id: &str| -> Vec<String> {
        let r = gw.certs("GET", &format!("/{id}/attached-domains"), None);
        assert_eq!(r.status, 200, "{}", r.text);
        let mut ids: Vec<String> = r.json["bound_domains"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["instance_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let mut both = vec![gw.admin.instance_id.clone(), second.clone()];
    both.sort();

    // Bad bodies, each naming its field.
    for (body, field) in [
        (json!({}), "domains"),
        (json!({"domains": []}), "domains"),
        (json!({"domains": ["api.shop.example"]}), "domains"),
        (json!({"domains": [{"domain": "not a name"}]}), "domain"),
        (
            json!({"domains": [{"domain": NAME, "instance_ids": "x"}]}),
            "instance_ids",
        ),
        (
            json!({"domains": [{"domain": NAME, "verified_client_certificate_enabled": "yes"}]}),
            "verified_client_certificate_enabled",
        ),
    ] {
        let r = gw.certs("POST", &format!("/{global_id}/domains/attach"), Some(&body));
        assert_invalid(&r, field);
    }
    // A name bound nowhere (or not in the instances named): 404 `APIG.3020`; one the
    // certificate does not cover: 400 `APIG.2103`, and nothing attached (all or none).
    side(
        "attach",
        &global_id,
        json!([{"domain": "www.none.example"}]),
    )
    .assert_error(404, "APIG.3020", None);
    side(
        "attach",
        &global_id,
        json!([{"domain": NAME, "instance_ids": ["0".repeat(32)]}]),
    )
    .assert_error(404, "APIG.3020", None);
    side(
        "attach",
        &global_id,
        json!([{"domain": NAME}, {"domain": "www.other.example"}]),
    )
    .assert_error(400, "APIG.2103", None);
    assert!(attached_instances(&global_id).is_empty());
    side("attach", &"0".repeat(32), json!([{"domain": NAME}])).assert_error(404, "APIG.3021", None);

    // Without instances: the name in both instances presents it.
    let r = side("attach", &global_id, json!([{"domain": NAME}]));
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(attached_instances(&global_id), both);
    assert_eq!(gw.presented(), der_of(&shop.0));
    // Detached in the second instance only; the first still presents it.
    let r = side(
        "detach",
        &global_id,
        json!([{"domain": NAME, "instance_ids": [second]}]),
    );
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        attached_instances(&global_id),
        [gw.admin.instance_id.as_str()]
    );
    assert_eq!(gw.presented(), der_of(&shop.0));
    side(
        "detach",
        &global_id,
        json!([{"domain": NAME, "instance_ids": [second]}]),
    )
    .assert_error(404, "APIG.3097", None);

    // An instance certificate reaches only its own instance's binding of the name.
    let own = gw.certs(
        "POST",
        "",
        Some(&with(
            with(form("own_cert", &shop), "type", json!("instance")),
            "instance_id",
            json!(second),
        )),
    );
    assert_eq!(own.status, 200, "{}", own.text);
    let own_id = own.json["id"].as_str().unwrap().to_owned();
    let r = side("attach", &own_id, json!([{"domain": NAME}]));
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(attached_instances(&own_id), [second.as_str()]);
    assert_eq!(
        attached_instances(&global_id),
        [gw.admin.instance_id.as_str()]
    );

    // Detached everywhere: the listener's own certificate again, and both can go.
    for id in [&global_id, &own_id] {
        let r = side("detach", id, json!([{"domain": NAME}]));
        assert_eq!(r.status, 204, "{}", r.text);
        assert!(attached_instances(id).is_empty());
        let r = gw.certs("DELETE", &format!("/{id}"), None);
        assert_eq!(r.status, 204, "{}", r.text);
    }
    assert_eq!(gw.presented(), default_leaf);
    let log = gw.server.log_text();
    assert!(log.contains("certificate attached to domain names"));
    assert!(log.contains("certificate detached from domain names"));
}
