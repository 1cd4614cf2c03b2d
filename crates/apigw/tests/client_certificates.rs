//! Two-way TLS for bound domain names (APIG's client certificate verification), black-box: the
//! real server, its store and its HTTPS and plain HTTP gateway listeners with a real echo
//! backend, real TLS clients with and without client certificates. A certificate added to a
//! name with a `trusted_root_ca` makes the name's callers present a client certificate that CA
//! issued (`verified_client_certificate_enabled`, on by default then); the binding can turn it
//! off and on; a request for the name on a connection not verified for it (plain HTTP, another
//! SNI, a CA changed since) is refused with 403 `APIG.0306`.

mod common;
use common::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::net::SocketAddr;

const NAME: &str = "api.shop.example";

/// A CA (`CN=name`): its certificate (PEM, and as rcgen signs with it) and its key.
struct Ca {
    pem: String,
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            cert,
            key,
        }
    }

    /// A client certificate for `who` with its key, as one PEM (what `reqwest::Identity` reads).
    fn client(&self, who: &str) -> reqwest::Identity {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, who);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        let pem = format!("{}{}", cert.pem(), key.serialize_pem());
        reqwest::Identity::from_pem(pem.as_bytes()).unwrap()
    }
}

struct Gw {
    server: Server,
    admin: Session,
    http: String,
    https: SocketAddr,
}

impl Gw {
    fn start() -> Gw {
        let server = Server::start_with(
            Opts::default()
                .arg("--gateway-http-listen")
                .arg("127.0.0.1:0")
                .arg("--gateway-listen")
                .arg("127.0.0.1:0")
                .arg("--metrics-listen")
                .arg("127.0.0.1:0"),
        );
        let http = format!(
            "http://127.0.0.1:{}",
            server.port_of("gateway listening (plain HTTP)")
        );
        let https = SocketAddr::from(([127, 0, 0, 1], server.port_of("gateway listening (HTTPS)")));
        let admin = server.admin();
        Gw {
            server,
            admin,
            http,
            https,
        }
    }

    fn mgmt(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        Mgmt {
            server: &self.server,
            s: &self.admin,
        }
        .call(method, path, body)
    }

    /// A TLS client for [`NAME`] (resolved to the HTTPS listener) that trusts `server_pem` and
    /// presents `identity` when asked.
    fn client(&self, server_pem: &str, identity: Option<reqwest::Identity>) -> Client {
        let mut builder = Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(server_pem.as_bytes()).unwrap())
            .resolve(NAME, self.https);
        if let Some(identity) = identity {
            builder = builder.identity(identity);
        }
        builder.build().unwrap()
    }

    /// `GET /echo/a` on [`NAME`] over HTTPS with `client`.
    fn call(&self, client: &Client) -> reqwest::Result<reqwest::blocking::Response> {
        client
            .get(format!("https://{NAME}:{}/echo/a", self.https.port()))
            .send()
    }

    /// The value of counter `name` on the metrics listener (0 before its first increment).
    fn counter(&self, name: &str) -> u64 {
        let port = self.server.port_of("metrics listening");
        let text = reqwest::blocking::get(format!("http://127.0.0.1:{port}/metrics"))
            .unwrap()
            .text()
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Turns client verification of binding `domain` (its path) on or off: the answer.
    fn verify(&self, domain: &str, on: bool) -> Reply {
        let body = json!({ "verified_client_certificate_enabled": on });
        self.mgmt("PUT", domain, Some(&body))
    }

    /// The stored two-way TLS columns of binding `domain_id`: (the CA PEM of the certificate
    /// it presents, verify flag).
    fn stored(&self, domain_id: &str) -> (Option<String>, i64) {
        use sqlx::Row;
        db_rows(
            &self.server,
            &format!(
                "SELECT c.trusted_root_ca, d.verify_client_certificate FROM group_domains d \
                 LEFT JOIN certificates c ON c.id = d.ssl_id WHERE d.id = '{domain_id}'"
            ),
            |r| (r.try_get(0).unwrap(), r.try_get(1).unwrap()),
        )
        .remove(0)
    }
}

/// A group with a published API `ANY /echo...` (no authentication, both protocols) to
/// `backend`, and [`NAME`] bound to it: (group id, binding id).
fn shop(gw: &Gw, backend: &EchoBackend) -> (String, String) {
    let mgmt = Mgmt {
        server: &gw.server,
        s: &gw.admin,
    };
    let (group_id, _) = mgmt.shop_group(backend);
    let bound = gw.mgmt(
        "POST",
        &format!("/api-groups/{group_id}/domains"),
        Some(&json!({ "url_domain": NAME })),
    );
    assert_eq!(bound.status, 201, "{}", bound.text);
    assert_eq!(bound.json["verified_client_certificate_enabled"], false);
    (group_id, bound.json["id"].as_str().unwrap().to_owned())
}

/// Asserts `r` is the gateway's 403 `APIG.0306`.
fn assert_access_denied(r: reqwest::blocking::Response) {
    assert_eq!(r.status(), 403);
    assert!(r.headers().contains_key("x-request-id"));
    let body: Value = r.json().unwrap();
    assert_eq!(body["error_code"], "APIG.0306", "{body}");
    assert_eq!(body["error_msg"], "API access denied.", "{body}");
}

#[test]
fn a_name_with_a_trusted_root_ca_serves_only_callers_with_a_certificate_it_issued() {
    let gw = Gw::start();
    let backend = EchoBackend::start();
    let (group_id, domain_id) = shop(&gw, &backend);
    let domain = format!("/api-groups/{group_id}/domains/{domain_id}");
    let certificate = format!("{domain}/certificate");
    let server = apigw_gateway::tls::self_signed_pem(&[NAME.into()]).unwrap();
    let clients_ca = Ca::new("Shop clients CA");
    let rogue_ca = Ca::new("Rogue CA");
    let add = |ca: Option<&str>| {
        let mut body =
            json!({"name": "shop_cert", "cert_content": server.0, "private_key": server.1});
        if let Some(ca) = ca {
            body["trusted_root_ca"] = json!(ca);
        }
        gw.mgmt("POST", &certificate, Some(&body))
    };

    // Verification needs a certificate with a CA: asked for without one, refused.
    let r = gw.verify(&domain, true);
    r.assert_error(400, "APIG.2011", None);
    assert!(
        r.text.contains("verified_client_certificate_enabled"),
        "{}",
        r.text
    );
    let r = gw.mgmt(
        "POST",
        &format!("/api-groups/{group_id}/domains"),
        Some(
            &json!({"url_domain": "www.shop.example", "verified_client_certificate_enabled": true}),
        ),
    );
    r.assert_error(400, "APIG.2011", None);
    // A CA that is not PEM certificates, or a too long one: refused, nothing stored.
    let r = add(Some("not a certificate"));
    r.assert_error(400, "APIG.2106", None);
    let r = add(Some(&"x".repeat(64 * 1024 + 1)));
    r.assert_error(400, "APIG.2011", None);
    assert!(r.text.contains("trusted_root_ca"), "{}", r.text);
    let r = gw.mgmt(
        "POST",
        &certificate,
        Some(
            &json!({"name": "shop_cert", "cert_content": server.0, "private_key": server.1,
            "trusted_root_ca": 7}),
        ),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(gw.stored(&domain_id), (None, 0));

    // Added with the clients' CA: verification on by default, shown and stored.
    let added = add(Some(&clients_ca.pem));
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(added.json["verified_client_certificate_enabled"], true);
    assert_eq!(added.json["is_has_trusted_root_ca"], true);
    let ssl_id = added.json["ssl_id"].as_str().unwrap().to_owned();
    assert_eq!(gw.stored(&domain_id), (Some(clients_ca.pem.clone()), 1));
    let group = gw.mgmt("GET", &format!("/api-groups/{group_id}"), None);
    let listed = &group.json["url_domains"][0];
    assert_eq!(listed["verified_client_certificate_enabled"], true);
    assert_eq!(listed["is_has_trusted_root_ca"], true);
    assert_eq!(listed["ssl_infos"][0]["is_has_trusted_root_ca"], true);
    let details = gw.mgmt("GET", &format!("{certificate}/{ssl_id}"), None);
    assert_eq!(
        details.json["is_has_trusted_root_ca"], true,
        "{}",
        details.text
    );
    assert!(gw
        .server
        .log_text()
        .contains("verify_client_certificate=true"));

    // A caller with a certificate the CA issued gets through; without one, or with one
    // another CA issued, the handshake fails.
    let alice = gw.client(&server.0, Some(clients_ca.client("alice")));
    let r = gw.call(&alice).expect("a client certificate of the CA");
    assert_eq!(r.status(), 200);
    let echoed: Value = r.json().unwrap();
    assert_eq!(echoed["path"], "/backend/a");
    assert!(gw.call(&gw.client(&server.0, None)).is_err());
    assert!(gw
        .call(&gw.client(&server.0, Some(rogue_ca.client("mallory"))))
        .is_err());
    // Each refusal is logged with the name (the server may log just after the client has
    // read the alert).
    let refused = "TLS handshake refused: the name verifies client certificates";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let log = loop {
        let log = gw.server.log_text();
        if log.matches(refused).count() >= 2 || std::time::Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let refusals: Vec<&str> = log.lines().filter(|l| l.contains(refused)).collect();
    assert_eq!(refusals.len(), 2, "{log}");
    assert!(refusals.iter().all(|l| l.contains(NAME)), "{refusals:?}");
    assert_eq!(
        gw.counter("apigw_gateway_client_certificate_refusals_total"),
        2
    );

    // The name asked for by `Host` on a connection opened for another name (the listener's
    // address, no client certificate asked for), or over plain HTTP: refused.
    let unverified = Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    // `GET /echo/a` at `base` (a listener's own address) with `host` as `Host`.
    let as_host = |base: &str, host: &str| {
        unverified
            .get(format!("{base}/echo/a"))
            .header("Host", host)
            .send()
            .unwrap()
    };
    let https = format!("https://{}", gw.https);
    let r = as_host(&https, NAME);
    assert_access_denied(r);
    let r = as_host(&gw.http, NAME);
    assert_access_denied(r);
    // The group's own subdomain does not verify client certificates.
    let sl_domain = group.json["sl_domain"].as_str().unwrap().to_owned();
    let r = as_host(&gw.http, &sl_domain);
    assert_eq!(r.status(), 200);

    // Turned off: callers without a certificate get through; on again: they do not.
    let off = gw.verify(&domain, false);
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(off.json["verified_client_certificate_enabled"], false);
    assert_eq!(gw.stored(&domain_id), (Some(clients_ca.pem.clone()), 0));
    let anonymous = gw.client(&server.0, None);
    assert_eq!(gw.call(&anonymous).unwrap().status(), 200);
    let r = as_host(&gw.http, NAME);
    assert_eq!(r.status(), 200);
    let on = gw.verify(&domain, true);
    assert_eq!(on.status, 200, "{}", on.text);
    assert_eq!(on.json["verified_client_certificate_enabled"], true);
    // The connection opened while it was off is not verified: its next request is refused.
    assert_access_denied(gw.call(&anonymous).unwrap());
    assert!(gw.call(&gw.client(&server.0, None)).is_err());
    assert_eq!(gw.call(&alice).unwrap().status(), 200);

    // The certificate replaced with another CA: a connection verified against the old one is
    // refused from its next request; a certificate of the new CA gets through.
    let added = add(Some(&rogue_ca.pem));
    assert_eq!(added.status, 201, "{}", added.text);
    assert_access_denied(gw.call(&alice).unwrap());
    let mallory = gw.client(&server.0, Some(rogue_ca.client("mallory")));
    assert_eq!(gw.call(&mallory).unwrap().status(), 200);
    assert!(gw
        .call(&gw.client(&server.0, Some(clients_ca.client("alice"))))
        .is_err());

    // Replaced without a CA: no verification, and none can be asked for.
    let plain = add(None);
    assert_eq!(plain.status, 201, "{}", plain.text);
    assert_eq!(plain.json["verified_client_certificate_enabled"], false);
    assert_eq!(plain.json["is_has_trusted_root_ca"], false);
    assert_eq!(gw.stored(&domain_id), (None, 0));
    assert_eq!(gw.call(&gw.client(&server.0, None)).unwrap().status(), 200);
    let r = gw.verify(&domain, true);
    r.assert_error(400, "APIG.2011", None);

    // With a CA again, then the certificate deleted: the name is served without one.
    let added = add(Some(&clients_ca.pem));
    let ssl_id = added.json["ssl_id"].as_str().unwrap().to_owned();
    assert!(gw.call(&gw.client(&server.0, None)).is_err());
    let deleted = gw.mgmt("DELETE", &format!("{certificate}/{ssl_id}"), None);
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(gw.stored(&domain_id), (None, 0));
    let r = as_host(&https, NAME);
    assert_eq!(r.status(), 200);
    let shown = gw.mgmt("GET", &format!("/api-groups/{group_id}"), None);
    assert_eq!(
        shown.json["url_domains"][0]["verified_client_certificate_enabled"],
        false
    );
}

#[test]
fn a_refusal_for_want_of_a_client_certificate_is_answered_by_the_access_denied_response() {
    let gw = Gw::start();
    let backend = EchoBackend::start();
    let (group_id, domain_id) = shop(&gw, &backend);
    let server = apigw_gateway::tls::self_signed_pem(&[NAME.into()]).unwrap();
    let ca = Ca::new("Shop clients CA");
    let added = gw.mgmt(
        "POST",
        &format!("/api-groups/{group_id}/domains/{domain_id}/certificate"),
        Some(
            &json!({"name": "shop_cert", "cert_content": server.0, "private_key": server.1,
            "trusted_root_ca": ca.pem}),
        ),
    );
    assert_eq!(added.status, 201, "{}", added.text);
    let set = gw.mgmt(
        "PUT",
        &format!("/api-groups/{group_id}/gateway-responses/{group_id}/ACCESS_DENIED"),
        Some(&json!({"status": 495, "body": "{\"refused\":\"$context.error.code\"}"})),
    );
    assert_eq!(set.status, 200, "{}", set.text);
    let r = Client::new()
        .get(format!("{}/echo/a", gw.http))
        .header("Host", NAME)
        .send()
        .unwrap();
    assert_eq!(r.status(), 495);
    assert_eq!(r.text().unwrap(), r#"{"refused":"APIG.0306"}"#);
}
