//! Black-box tests of the data plane: a real echo backend (HTTP and HTTPS), the gateway's real
//! listeners on 127.0.0.1:0, and real HTTP(S) requests.

use apigw_gateway::{
    serve_http, serve_https, ApiAuth, AppAcl, AppCodeHasher, AppCredential, AppPatch, AppQuota,
    AppUpdate, Backend, BackendParam, Gateway, GatewayConfig, GatewaySettings, GroupConfig,
    HttpBackend, ListenerCertificate, MatchMode, ParamLocation, ParamValue, Protocol, PublishedApi,
    QuotaLimit, ReqMethod, ServerHandle, SystemParam, TlsSettings,
};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const INDEX_KEY: [u8; 32] = [9; 32];
const CODE1: &str = "CodeOne0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
const CODE2: &str = "CodeTwo0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
const CODE3: &str = "CodeThree123456789abcdef0123456789abcdef0123456789abcdef012345678";
/// An AppCode no app has.
const CODE_WRONG: &str = "CodeWrong23456789abcdef0123456789abcdef0123456789abcdef0123456789";
const CODE_ACL: &str = "CodeAcl0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
const CODE_QUOTA: &str = "CodeQuota23456789abcdef0123456789abcdef0123456789abcdef0123456789";

// ---------------------------------------------------------------------------------------------
// Backend

/// Lets the echo backend's `/store/chunks` response send its second chunk.
static SECOND_CHUNK: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// The paths of the echo backend's endless bodies (`/store/endless...`) that were dropped
/// (their connection went away).
static ENDLESS_DROPPED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Waits until the endless body served for `path` has been dropped.
async fn endless_dropped(path: &str) {
    let dropped = || ENDLESS_DROPPED.lock().unwrap().iter().any(|p| p == path);
    let wait = async {
        while !dropped() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("the backend's response for {path} was never dropped"));
}

/// The echo backend's response body: a complete document, two chunks without a
/// `Content-Length` (the second only once [`SECOND_CHUNK`] is notified), or 64 KiB chunks
/// without end.
enum EchoBody {
    Full(Full<Bytes>),
    Chunks(Option<Pin<Box<dyn Future<Output = ()> + Send>>>, bool),
    Endless { _guard: EndlessGuard },
}

/// Notes in [`ENDLESS_DROPPED`] that the endless body for this path was dropped.
struct EndlessGuard(String);

impl Drop for EndlessGuard {
    fn drop(&mut self) {
        let path = std::mem::take(&mut self.0);
        ENDLESS_DROPPED.lock().unwrap().push(path);
    }
}

impl http_body::Body for EchoBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Self::Full(full) => Pin::new(full).poll_frame(cx),
            Self::Endless { .. } => {
                Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(vec![
                    b'x';
                    64 * 1024
                ])))))
            }
            Self::Chunks(wait, first_sent) => {
                if !*first_sent {
                    *first_sent = true;
                    return Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from("first,")))));
                }
                match wait.as_mut() {
                    None => Poll::Ready(None),
                    Some(w) => {
                        std::task::ready!(w.as_mut().poll(cx));
                        *wait = None;
                        Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from("second")))))
                    }
                }
            }
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            Self::Full(full) => full.size_hint(),
            Self::Chunks(..) | Self::Endless { .. } => http_body::SizeHint::default(),
        }
    }
}

/// Echoes the request as JSON; `/slow...` waits 2 s first; `/hop` answers with hop-by-hop
/// headers; `/store/chunks` streams two chunks, `/store/endless...` never ends.
async fn echo(request: Request<Incoming>) -> Result<Response<EchoBody>, Infallible> {
    let (parts, body) = request.into_parts();
    if parts.uri.path().starts_with("/slow") {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    if parts.uri.path().starts_with("/store/endless") {
        let guard = EndlessGuard(parts.uri.path().to_owned());
        return Ok(Response::new(EchoBody::Endless { _guard: guard }));
    }
    if parts.uri.path() == "/store/chunks" {
        let wait = Box::pin(SECOND_CHUNK.notified());
        return Ok(Response::new(EchoBody::Chunks(Some(wait), false)));
    }
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut headers = serde_json::Map::new();
    for (name, value) in &parts.headers {
        let value = value.to_str().unwrap_or("<binary>").to_owned();
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    let doc = json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    });
    let mut response = Response::new(EchoBody::Full(Full::new(Bytes::from(doc.to_string()))));
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    if parts.uri.path() == "/hop" {
        let h = response.headers_mut();
        h.insert("connection", HeaderValue::from_static("x-resp-hop"));
        h.insert("x-resp-hop", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("proxy-authenticate", HeaderValue::from_static("Basic"));
        h.insert("x-kept", HeaderValue::from_static("yes"));
        h.insert(
            "x-request-id",
            HeaderValue::from_static("the-backend-s-own"),
        );
    }
    Ok(response)
}

/// Starts the echo backend; with `tls`, over TLS with a certificate for 127.0.0.1.
async fn start_backend(tls: Option<Arc<rustls::ServerConfig>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let http = hyper::server::conn::http1::Builder::new();
                match acceptor {
                    None => {
                        let _ = http
                            .serve_connection(TokioIo::new(stream), service_fn(echo))
                            .await;
                    }
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            let _ = http
                                .serve_connection(TokioIo::new(stream), service_fn(echo))
                                .await;
                        }
                    }
                }
            });
        }
    });
    addr
}

/// A test CA and a backend TLS configuration with a leaf it signed; returns the CA's PEM.
fn backend_tls() -> (Arc<rustls::ServerConfig>, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "apigw test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf_params
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone()], key)
    .unwrap();
    (Arc::new(config), ca.pem())
}

/// A port nothing listens on.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------------------
// Configuration

fn hasher() -> AppCodeHasher {
    AppCodeHasher::hmac_sha256(INDEX_KEY)
}

fn backend(port: u16, path: &str) -> HttpBackend {
    HttpBackend {
        https: false,
        grpc: false,
        host: "127.0.0.1".into(),
        port,
        method: ReqMethod::Any,
        path: path.into(),
        timeout: Duration::from_secs(5),
        retries: Default::default(),
        channel: None,
    }
}

fn api(
    id: &str,
    method: ReqMethod,
    uri: &str,
    auth: ApiAuth,
    backend: HttpBackend,
) -> PublishedApi {
    PublishedApi {
        api_id: id.into(),
        name: id.into(),
        group_id: "dflt".into(),
        env_id: "env-release".into(),
        env_name: "RELEASE".into(),
        req_protocol: Protocol::Both,
        req_method: method,
        req_uri: uri.into(),
        match_mode: MatchMode::Normal,
        auth,
        backend: Backend::Http(backend),
        req_params: vec![],
        backend_params: vec![],
        policies: vec![],
        cors: false,
        throttle: None,
        ip_acl: None,
        backend_signing: None,
        responses: None,
        plugins: Default::default(),
    }
}

fn app(id: &str, code: &str) -> AppCredential {
    AppCredential {
        app_id: id.into(),
        app_name: format!("name-{id}"),
        app_key: format!("key-{id}"),
        app_secret: format!("secret-{id}"),
        app_code_hashes: vec![hasher().hash(code.as_bytes())],
    }
}

fn get() -> ReqMethod {
    ReqMethod::Only(Method::GET)
}

const APP_CODE: ApiAuth = ApiAuth::App {
    app_code_header: true,
};

/// The test configuration: backend APIs in a DEFAULT group and a group with a domain.
fn config(backend_port: u16, tls_backend_port: u16, down_port: u16) -> GatewayConfig {
    let b = |path: &str| backend(backend_port, path);
    let mut apis = vec![
        api("open", get(), "/open", ApiAuth::None, b("/echo/open")),
        {
            let mut a = api("app", ReqMethod::Any, "/app", APP_CODE, b("/echo/app"));
            a.backend_params = vec![
                BackendParam {
                    name: "X-App-Id".into(),
                    location: ParamLocation::Header,
                    value: ParamValue::System(SystemParam::AppId),
                },
                BackendParam {
                    name: "X-App-Name".into(),
                    location: ParamLocation::Header,
                    value: ParamValue::System(SystemParam::AppName),
                },
                BackendParam {
                    name: "fixed".into(),
                    location: ParamLocation::Query,
                    value: ParamValue::Constant("c v".into()),
                },
            ];
            a
        },
        api(
            "signed",
            ReqMethod::Any,
            "/signed",
            ApiAuth::App {
                app_code_header: false,
            },
            b("/echo/signed"),
        ),
        {
            let mut a = api("secure", get(), "/secure", ApiAuth::None, b("/echo/secure"));
            a.req_protocol = Protocol::Https;
            a
        },
        {
            let mut a = api("plain", get(), "/plain", ApiAuth::None, b("/echo/plain"));
            a.req_protocol = Protocol::Http;
            a
        },
        {
            let mut a = api(
                "param",
                get(),
                "/users/{id}/items/{item}",
                ApiAuth::None,
                b("/u/{id}/i/{item}"),
            );
            a.backend_params = vec![
                BackendParam {
                    name: "X-User".into(),
                    location: ParamLocation::Header,
                    value: ParamValue::Request("id".into()),
                },
                // A backend parameter has the last word, even over the gateway's own fields.
                BackendParam {
                    name: "X-Forwarded-For".into(),
                    location: ParamLocation::Header,
                    value: ParamValue::Constant("203.0.113.7".into()),
                },
            ];
            a
        },
        {
            let mut a = api("swa", ReqMethod::Any, "/files", ApiAuth::None, b("/store"));
            a.match_mode = MatchMode::Swa;
            a
        },
        api(
            "slow",
            get(),
            "/slow",
            ApiAuth::None,
            HttpBackend {
                timeout: Duration::from_millis(300),
                ..b("/slow")
            },
        ),
        // A quick backend behind a short timeout, for uploads at the caller's pace.
        api(
            "upload",
            ReqMethod::Any,
            "/upload",
            ApiAuth::None,
            HttpBackend {
                timeout: Duration::from_millis(300),
                ..b("/echo/upload")
            },
        ),
        api(
            "slow_ok",
            get(),
            "/slow-ok",
            ApiAuth::None,
            HttpBackend {
                timeout: Duration::from_secs(10),
                ..b("/slow-ok")
            },
        ),
        api(
            "down",
            get(),
            "/down",
            ApiAuth::None,
            backend(down_port, "/"),
        ),
        api("hop", get(), "/hop", ApiAuth::None, b("/hop")),
        {
            let mut a = api("staged", get(), "/staged", ApiAuth::None, b("/echo/staged"));
            a.env_id = "env-test".into();
            a.env_name = "TEST".into();
            a
        },
        {
            let mut a = api("grp1-open", get(), "/open", ApiAuth::None, b("/grp1/open"));
            a.group_id = "grp1".into();
            a
        },
        api(
            "tlsb",
            get(),
            "/tlsb",
            ApiAuth::None,
            HttpBackend {
                https: true,
                ..backend(tls_backend_port, "/echo/tls")
            },
        ),
    ];
    // The AppCode API is also published in TEST (authorizations are per environment).
    let mut app_in_test = apis[1].clone();
    app_in_test.env_id = "env-test".into();
    app_in_test.env_name = "TEST".into();
    apis.push(app_in_test);

    let mut auths = Vec::new();
    for app_id in ["app1", "app2", "app-acl", "app-quota"] {
        for api_id in ["app", "signed"] {
            auths.push((
                app_id.to_owned(),
                api_id.to_owned(),
                "env-release".to_owned(),
            ));
        }
    }
    GatewayConfig {
        groups: vec![
            GroupConfig {
                subdomain_open: true,
                id: "dflt".into(),
                name: "DEFAULT".into(),
                is_default: true,
                domains: vec![],
                responses: None,
            },
            GroupConfig {
                subdomain_open: true,
                id: "grp1".into(),
                name: "group one".into(),
                is_default: false,
                domains: vec!["api.example.com".into()],
                responses: None,
            },
        ],
        apis,
        apps: vec![
            app("app1", CODE1),
            app("app2", CODE2),
            app("app3", CODE3),
            app("app-acl", CODE_ACL),
            app("app-quota", CODE_QUOTA),
        ],
        auths,
        acls: vec![AppAcl {
            app_id: "app-acl".into(),
            permit: false,
            ranges: vec![AppAcl::parse_value("127.0.0.0/8").unwrap()],
        }],
        quotas: vec![AppQuota {
            app_id: "app-quota".into(),
            quota_id: "quota-2-per-hour".into(),
            limit: QuotaLimit {
                call_limit: 2,
                interval: Duration::from_secs(3600),
                reset_at_ms: None,
            },
        }],
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Harness

fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "apigw-gw-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Harness {
    gateway: Gateway,
    http: ServerHandle,
    https: ServerHandle,
    client: reqwest::Client,
    backend: u16,
    tls_backend: u16,
    down: u16,
    dir: PathBuf,
}

impl Harness {
    async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    async fn start_with(tweak: impl FnOnce(&mut GatewaySettings)) -> Self {
        let dir = temp_dir("h");
        let backend = start_backend(None).await.port();
        let (tls, ca_pem) = backend_tls();
        let tls_backend = start_backend(Some(tls)).await.port();
        let down = closed_port().await;
        let ca_file = dir.join("backend-ca.pem");
        std::fs::write(&ca_file, ca_pem).unwrap();

        let mut settings = GatewaySettings::new(hasher());
        settings.backend_ca_file = Some(ca_file);
        tweak(&mut settings);
        let gateway = Gateway::new(config(backend, tls_backend, down), settings).unwrap();
        let any = "127.0.0.1:0".parse().unwrap();
        let http = serve_http(any, gateway.clone()).await.unwrap();
        let certificate =
            ListenerCertificate::load(TlsSettings::self_signed(dir.join("tls")), None).unwrap();
        let https = serve_https(any, &certificate, gateway.clone())
            .await
            .unwrap();
        let client = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .no_proxy()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        Self {
            gateway,
            http,
            https,
            client,
            backend,
            tls_backend,
            down,
            dir,
        }
    }

    fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http.local_addr())
    }

    fn https_url(&self, path: &str) -> String {
        format!("https://{}{path}", self.https.local_addr())
    }

    async fn send(&self, method: Method, url: &str, headers: HeaderMap, body: Vec<u8>) -> Reply {
        let response = self
            .client
            .request(method, url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .unwrap();
        Reply::read(response).await
    }

    async fn get(&self, url: &str) -> Reply {
        self.send(Method::GET, url, HeaderMap::new(), vec![]).await
    }

    async fn get_with(&self, url: &str, headers: &[(&str, &str)]) -> Reply {
        self.send(Method::GET, url, header_map(headers), vec![])
            .await
    }

    /// A request signed with `key`/`secret` at `now`.
    #[allow(clippy::too_many_arguments)] // Each is a knob some test turns.
    async fn signed(
        &self,
        method: Method,
        url: &str,
        key: &str,
        secret: &str,
        body: &[u8],
        extra: &[(&str, &str)],
        now: time::OffsetDateTime,
    ) -> Reply {
        let uri: http::Uri = url.parse().unwrap();
        let mut headers = header_map(extra);
        headers.insert(
            http::header::HOST,
            HeaderValue::from_str(uri.authority().unwrap().as_str()).unwrap(),
        );
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        apigw_signing::sign_request(&method, &uri, &mut headers, body, key, secret, now).unwrap();
        self.send(method, url, headers, body.to_vec()).await
    }

    async fn stop(self) {
        self.http.shutdown(Duration::from_secs(1)).await;
        self.https.shutdown(Duration::from_secs(1)).await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn header_map(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (k, v) in pairs {
        headers.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    headers
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HeaderMap,
    json: Value,
}

impl Reply {
    async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Self {
            status,
            headers,
            json,
        }
    }

    fn request_id(&self) -> &str {
        self.headers["x-request-id"].to_str().unwrap()
    }

    /// Asserts an APIG error and that its `request_id` is the header's.
    fn assert_error(&self, status: u16, code: &str) -> &str {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.json["error_code"], code, "{self:?}");
        assert_eq!(self.json["request_id"], self.request_id(), "{self:?}");
        self.json["error_msg"].as_str().unwrap()
    }

    /// Asserts the echo backend answered and returns its view of the request.
    fn echoed(&self) -> &Value {
        assert_eq!(self.status, 200, "{self:?}");
        let id = self.request_id();
        assert_eq!(id.len(), 32);
        assert_eq!(self.json["headers"]["x-request-id"], id, "{self:?}");
        &self.json
    }
}

const NOT_FOUND: &str = "The API does not exist or has not been published in the environment.";
const AUTH_PREFIX: &str = "Incorrect app authentication information: ";

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn none_auth_passes_with_request_id_and_forwarded_for() {
    let h = Harness::start().await;
    let r = h.get(&h.http_url("/open?a=1&a=2")).await;
    let echo = r.echoed();
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["path"], "/echo/open");
    assert_eq!(echo["query"], "a=1&a=2");
    assert_eq!(echo["headers"]["x-forwarded-for"], "127.0.0.1");
    assert_eq!(echo["headers"]["host"], format!("127.0.0.1:{}", h.backend));
    // The same API over HTTPS (BOTH).
    h.get(&h.https_url("/open")).await.echoed();
    // The caller's own Host and X-Request-Id are replaced (once each: `echoed` checks the id),
    // its X-Forwarded-For extended.
    let r = h
        .get_with(
            &h.http_url("/open"),
            &[
                ("host", "caller.example"),
                ("x-request-id", "callers-own"),
                ("x-forwarded-for", "198.51.100.1"),
            ],
        )
        .await;
    let echo = r.echoed();
    assert_eq!(echo["headers"]["host"], format!("127.0.0.1:{}", h.backend));
    assert_eq!(
        echo["headers"]["x-forwarded-for"],
        "198.51.100.1, 127.0.0.1"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_code_over_https_passes_and_is_not_forwarded() {
    let h = Harness::start().await;
    let r = h
        .get_with(&h.https_url("/app?x=1"), &[("X-Apig-AppCode", CODE1)])
        .await;
    let echo = r.echoed();
    assert_eq!(echo["path"], "/echo/app");
    assert!(echo["headers"].get("x-apig-appcode").is_none(), "{echo}");
    // $context.appId as a header, a constant as a query parameter.
    assert_eq!(echo["headers"]["x-app-id"], "app1");
    assert_eq!(echo["headers"]["x-app-name"], "name-app1");
    assert_eq!(echo["query"], "x=1&fixed=c%20v");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_code_over_plain_http_is_refused_unless_allowed() {
    let h = Harness::start().await;
    let r = h
        .get_with(&h.http_url("/app"), &[("X-Apig-AppCode", CODE1)])
        .await;
    let msg = r.assert_error(401, "APIG.0303");
    assert_eq!(
        msg,
        format!("{AUTH_PREFIX}app code is only accepted over HTTPS")
    );
    h.stop().await;

    let h = Harness::start_with(|s| s.allow_app_code_over_http = true).await;
    let r = h
        .get_with(&h.http_url("/app"), &[("X-Apig-AppCode", CODE1)])
        .await;
    assert_eq!(r.echoed()["headers"]["x-app-id"], "app1");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_passes_and_authorization_is_not_forwarded() {
    let h = Harness::start().await;
    let body = br#"{"name":"demo"}"#;
    let r = h
        .signed(
            Method::POST,
            &h.http_url("/signed?b=2&a=1"),
            "key-app2",
            "secret-app2",
            body,
            &[("X-Stage", "RELEASE")],
            now(),
        )
        .await;
    let echo = r.echoed();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["body"], r#"{"name":"demo"}"#);
    assert!(echo["headers"].get("authorization").is_none(), "{echo}");

    // UNSIGNED-PAYLOAD: the body is streamed, not hashed.
    let r = h
        .signed(
            Method::PUT,
            &h.https_url("/signed"),
            "key-app2",
            "secret-app2",
            b"streamed body",
            &[("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD")],
            now(),
        )
        .await;
    assert_eq!(r.echoed()["body"], "streamed body");

    // The AppCode API accepts signatures too.
    let r = h
        .signed(
            Method::GET,
            &h.http_url("/app"),
            "key-app1",
            "secret-app1",
            b"",
            &[],
            now(),
        )
        .await;
    assert_eq!(r.echoed()["headers"]["x-app-id"], "app1");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authentication_has_huawei_messages() {
    let h = Harness::start().await;

    let r = h
        .get_with(
            &h.https_url("/app"),
            &[(
                "X-Apig-AppCode",
                "WrongCode0123456789abcdef0123456789abcdef0123456789abcdef01234567",
            )],
        )
        .await;
    assert_eq!(
        r.assert_error(401, "APIG.0303"),
        format!("{AUTH_PREFIX}app code not found")
    );

    let r = h.get(&h.https_url("/app")).await;
    assert_eq!(
        r.assert_error(401, "APIG.0303"),
        format!("{AUTH_PREFIX}authorization not found")
    );

    // The AppCode header is ignored on an API without simple authentication.
    let r = h
        .get_with(&h.https_url("/signed"), &[("X-Apig-AppCode", CODE1)])
        .await;
    r.assert_error(401, "APIG.0303");

    let r = h
        .signed(
            Method::GET,
            &h.http_url("/signed"),
            "nokey",
            "x",
            b"",
            &[],
            now(),
        )
        .await;
    assert_eq!(
        r.assert_error(401, "APIG.0303"),
        format!("{AUTH_PREFIX}app not found, appkey nokey")
    );

    let r = h
        .signed(
            Method::POST,
            &h.http_url("/signed?q=1"),
            "key-app1",
            "wrong",
            b"{}",
            &[],
            now(),
        )
        .await;
    let msg = r.assert_error(401, "APIG.0303");
    let expected = format!(
        "{AUTH_PREFIX}verify signature fail, canonicalRequest:POST|/signed/|q=1|content-type:application/json|host:{}|x-sdk-date:",
        h.http.local_addr()
    );
    assert!(msg.starts_with(&expected), "{msg}");
    assert!(msg.ends_with("||content-type;host;x-sdk-date|44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"), "{msg}");

    let old = now() - time::Duration::minutes(20);
    let r = h
        .signed(
            Method::GET,
            &h.http_url("/signed"),
            "key-app1",
            "secret-app1",
            b"",
            &[],
            old,
        )
        .await;
    let msg = r.assert_error(401, "APIG.0303");
    let date = apigw_signing::format_date(old);
    assert!(
        msg.starts_with(&format!(
            "{AUTH_PREFIX}signature expired, signature time:{date},server time:"
        )),
        "{msg}"
    );

    // A signed X-Sdk-Content-Sha256 must be the body's hash.
    use sha2::Digest;
    let hash = hex::encode(sha2::Sha256::digest(b"payload"));
    let url = h.http_url("/signed");
    let extra = [("X-Sdk-Content-Sha256", hash.as_str())];
    let r = h
        .signed(
            Method::POST,
            &url,
            "key-app1",
            "secret-app1",
            b"payload",
            &extra,
            now(),
        )
        .await;
    assert_eq!(r.echoed()["body"], "payload");
    let uri: http::Uri = url.parse().unwrap();
    let mut headers = header_map(&extra);
    headers.insert(
        http::header::HOST,
        HeaderValue::from_str(uri.authority().unwrap().as_str()).unwrap(),
    );
    apigw_signing::sign_request(
        &Method::POST,
        &uri,
        &mut headers,
        b"payload",
        "key-app1",
        "secret-app1",
        now(),
    )
    .unwrap();
    let r = h
        .send(Method::POST, &url, headers, b"swapped".to_vec())
        .await;
    assert_eq!(
        r.assert_error(401, "APIG.0303"),
        format!("{AUTH_PREFIX}payload hash does not match x-sdk-content-sha256")
    );

    // A body changed after signing fails the signature.
    let uri: http::Uri = h.http_url("/signed").parse().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::HOST,
        HeaderValue::from_str(uri.authority().unwrap().as_str()).unwrap(),
    );
    apigw_signing::sign_request(
        &Method::POST,
        &uri,
        &mut headers,
        b"original",
        "key-app1",
        "secret-app1",
        now(),
    )
    .unwrap();
    let r = h
        .send(
            Method::POST,
            &h.http_url("/signed"),
            headers,
            b"tampered".to_vec(),
        )
        .await;
    r.assert_error(401, "APIG.0303");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_app_acl_and_quota() {
    let h = Harness::start().await;
    let code = |c: &'static str| [("X-Apig-AppCode", c)];

    let r = h.get_with(&h.https_url("/app"), &code(CODE3)).await;
    assert_eq!(
        r.assert_error(403, "APIG.0304"),
        "The app is not authorized to access the API."
    );
    // Authorized in RELEASE only, not in TEST.
    let r = h
        .get_with(
            &h.https_url("/app"),
            &[("X-Apig-AppCode", CODE1), ("X-Stage", "TEST")],
        )
        .await;
    r.assert_error(403, "APIG.0304");

    let r = h.get_with(&h.https_url("/app"), &code(CODE_ACL)).await;
    assert_eq!(
        r.assert_error(403, "APIG.0405"),
        "The app is not accessed from a trusted IP address."
    );

    for _ in 0..2 {
        h.get_with(&h.https_url("/app"), &code(CODE_QUOTA))
            .await
            .echoed();
    }
    let r = h.get_with(&h.https_url("/app"), &code(CODE_QUOTA)).await;
    assert_eq!(
        r.assert_error(405, "APIG.0501"),
        "The app quota has been used up."
    );

    // A configuration change does not refill the quota.
    let cfg = config(h.backend, h.tls_backend, h.down);
    h.gateway.replace(cfg).await;
    let r = h.get_with(&h.https_url("/app"), &code(CODE_QUOTA)).await;
    r.assert_error(405, "APIG.0501");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_are_throttled_but_valid_credentials_pass() {
    let h = Harness::start_with(|s| s.auth_failure_limit = 3).await;
    let url = h.http_url("/signed");
    let bad = || h.signed(Method::GET, &url, "key-app1", "wrong", b"", &[], now());
    for _ in 0..3 {
        bad().await.assert_error(401, "APIG.0303");
    }
    let r = bad().await;
    assert_eq!(
        r.assert_error(429, "APIG.0308"),
        "The throttling threshold has been reached."
    );

    // Another key's valid signature, and a valid AppCode, from the same address still pass.
    h.signed(
        Method::GET,
        &h.http_url("/signed"),
        "key-app2",
        "secret-app2",
        b"",
        &[],
        now(),
    )
    .await
    .echoed();
    h.signed(
        Method::GET,
        &h.http_url("/signed"),
        "key-app1",
        "secret-app1",
        b"",
        &[],
        now(),
    )
    .await
    .echoed();
    h.get_with(&h.https_url("/app"), &[("X-Apig-AppCode", CODE2)])
        .await
        .echoed();
    // Further failures from this address are throttled whatever the credential.
    let r = h
        .get_with(&h.https_url("/app"), &[("X-Apig-AppCode", "nope")])
        .await;
    r.assert_error(429, "APIG.0308");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_stages_methods_and_protocols_are_404() {
    let h = Harness::start().await;
    for r in [
        h.get(&h.http_url("/nope")).await,
        h.get_with(&h.http_url("/open"), &[("X-Stage", "TEST")])
            .await,
        h.get(&h.http_url("/staged")).await,
        h.send(Method::POST, &h.http_url("/open"), HeaderMap::new(), vec![])
            .await,
        h.get(&h.http_url("/secure")).await,
        h.get(&h.https_url("/plain")).await,
        h.get(&h.http_url("/open/")).await,
    ] {
        assert_eq!(r.assert_error(404, "APIG.0101"), NOT_FOUND);
    }
    assert_eq!(
        h.get_with(&h.http_url("/staged"), &[("X-Stage", "TEST")])
            .await
            .echoed()["path"],
        "/echo/staged"
    );
    assert_eq!(
        h.get(&h.https_url("/secure")).await.echoed()["path"],
        "/echo/secure"
    );
    assert_eq!(
        h.get(&h.http_url("/plain")).await.echoed()["path"],
        "/echo/plain"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_selects_the_group_and_anything_else_is_default() {
    let h = Harness::start().await;
    let port = h.http.local_addr().port();
    let url = h.http_url("/open");
    for (host, backend_path) in [
        ("api.example.com".to_owned(), "/grp1/open"),
        (format!("API.Example.com:{port}"), "/grp1/open"),
        (format!("grp1.apigw.local:{port}"), "/grp1/open"),
        (format!("127.0.0.1:{port}"), "/echo/open"),
        ("unknown.example.org".to_owned(), "/echo/open"),
        (format!("dflt.apigw.local:{port}"), "/echo/open"),
    ] {
        let r = h.get_with(&url, &[("Host", &host)]).await;
        assert_eq!(r.echoed()["path"], backend_path, "{host}");
    }
    // grp1 has no /plain.
    let r = h
        .get_with(&h.http_url("/plain"), &[("Host", "api.example.com")])
        .await;
    r.assert_error(404, "APIG.0101");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_parameters_and_prefix_routes_build_the_backend_path() {
    let h = Harness::start().await;
    let r = h.get(&h.http_url("/users/42/items/x%20y?z=1")).await;
    let echo = r.echoed();
    assert_eq!(echo["path"], "/u/42/i/x%20y");
    assert_eq!(echo["query"], "z=1");
    assert_eq!(echo["headers"]["x-user"], "42");
    assert_eq!(echo["headers"]["x-forwarded-for"], "203.0.113.7");

    let r = h
        .send(
            Method::PUT,
            &h.http_url("/files/a/b.txt?q=1"),
            HeaderMap::new(),
            b"data".to_vec(),
        )
        .await;
    let echo = r.echoed();
    assert_eq!(
        (echo["method"].as_str(), echo["path"].as_str()),
        (Some("PUT"), Some("/store/a/b.txt"))
    );
    assert_eq!(echo["query"], "q=1");
    assert_eq!(echo["body"], "data");
    assert_eq!(
        h.get(&h.http_url("/files")).await.echoed()["path"],
        "/store"
    );
    h.get(&h.http_url("/filesx"))
        .await
        .assert_error(404, "APIG.0101");

    // Dot segments could climb out of the backend path.
    let mut stream = TcpStream::connect(h.http.local_addr()).await.unwrap();
    stream
        .write_all(b"GET /files/../admin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("APIG.0201"), "{text}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_timeout_down_and_https_backend() {
    let h = Harness::start().await;
    let r = h.get(&h.http_url("/slow")).await;
    assert_eq!(r.assert_error(504, "APIG.0203"), "Backend timeout");
    let r = h.get(&h.http_url("/down")).await;
    assert_eq!(r.assert_error(502, "APIG.0202"), "Backend unavailable");
    let r = h.get(&h.http_url("/tlsb")).await;
    assert_eq!(r.echoed()["path"], "/echo/tls");
    h.stop().await;
}

/// Sends a raw request and returns the response text (status line, headers, body).
async fn raw_exchange(addr: SocketAddr, head: String, body: Vec<u8>) -> String {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        if write.write_all(head.as_bytes()).await.is_ok() {
            // The gateway may answer and close before the body is through.
            let _ = write.write_all(&body).await;
        }
        write
    });
    let text = read_response(&mut read).await;
    writer.abort();
    text
}

/// Reads one response (its head and `Content-Length` bytes), or what came before the peer
/// closed or 10 s passed.
/// A new connection to `addr` on which `bytes` were sent.
async fn connect_and_send(addr: std::net::SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream
}

async fn read_response(read: &mut (impl tokio::io::AsyncRead + Unpin)) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), read.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf);
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end].lines().find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    });
                    if length.is_some_and(|len| buf.len() >= end + 4 + len) {
                        break;
                    }
                }
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_get_413() {
    let h = Harness::start().await;
    let big = vec![b'x'; 13 * 1024 * 1024];
    for path in ["/files/up", "/signed"] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
            big.len()
        );
        let text = raw_exchange(h.http.local_addr(), head, big.clone()).await;
        assert!(text.starts_with("HTTP/1.1 413"), "{path}: {text:.300}");
        assert!(text.contains(r#""error_code":"APIG.0201""#), "{text}");
        assert!(text.contains("Request entity too large."), "{text}");
    }
    h.stop().await;

    // Chunked bodies (no declared length) are cut off while streaming or reading.
    let h = Harness::start_with(|s| s.max_body_bytes = 1024).await;
    let chunk = "x".repeat(2048);
    let chunked = format!("{:x}\r\n{chunk}\r\n0\r\n\r\n", chunk.len());
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::HOST,
        HeaderValue::from_str(&h.http.local_addr().to_string()).unwrap(),
    );
    let uri: http::Uri = h.http_url("/signed").parse().unwrap();
    apigw_signing::sign_request(
        &Method::POST,
        &uri,
        &mut headers,
        chunk.as_bytes(),
        "key-app1",
        "secret-app1",
        now(),
    )
    .unwrap();
    let signed_head: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {}\r\n", v.to_str().unwrap()))
        .collect();
    for (path, extra) in [("/files/up", String::new()), ("/signed", signed_head)] {
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n{extra}"
        );
        if !head.to_ascii_lowercase().contains("\r\nhost:") {
            head.push_str("Host: 127.0.0.1\r\n");
        }
        head.push_str("\r\n");
        let text = raw_exchange(h.http.local_addr(), head, chunked.clone().into_bytes()).await;
        assert!(text.starts_with("HTTP/1.1 413"), "{path}: {text:.400}");
    }
    // Within the limit, fine.
    let r = h
        .send(
            Method::POST,
            &h.http_url("/files/up"),
            HeaderMap::new(),
            vec![b'y'; 1000],
        )
        .await;
    assert_eq!(r.echoed()["body"].as_str().unwrap().len(), 1000);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hop_by_hop_headers_are_not_forwarded() {
    let h = Harness::start().await;
    let sent = [
        ("Connection", "keep-alive, X-Hop"),
        ("X-Hop", "1"),
        ("Keep-Alive", "timeout=5"),
        ("Proxy-Authorization", "Basic eA=="),
        ("TE", "trailers"),
        ("X-End-To-End", "kept"),
    ];
    // The client really sends them: straight to the backend they arrive.
    let direct = format!("http://127.0.0.1:{}/direct", h.backend);
    let r = h.get_with(&direct, &sent).await;
    for name in [
        "connection",
        "x-hop",
        "keep-alive",
        "proxy-authorization",
        "te",
    ] {
        assert!(
            r.json["headers"].get(name).is_some(),
            "{name} not sent: {}",
            r.json
        );
    }

    let r = h.get_with(&h.http_url("/open"), &sent).await;
    let headers = &r.echoed()["headers"];
    for name in [
        "connection",
        "x-hop",
        "keep-alive",
        "proxy-authorization",
        "te",
    ] {
        assert!(headers.get(name).is_none(), "{name} forwarded: {headers}");
    }
    assert_eq!(headers["x-end-to-end"], "kept");

    let direct = h.get(&format!("http://127.0.0.1:{}/hop", h.backend)).await;
    assert!(direct.headers.contains_key("x-resp-hop"), "{direct:?}");
    let r = h.get(&h.http_url("/hop")).await;
    assert_eq!(r.status, 200);
    for name in ["x-resp-hop", "keep-alive", "proxy-authenticate"] {
        assert!(
            !r.headers.contains_key(name),
            "{name} returned: {:?}",
            r.headers
        );
    }
    assert_eq!(r.headers["x-kept"], "yes");
    // The gateway's request id replaces the backend's: one field, 32 hex digits.
    let ids: Vec<_> = r.headers.get_all("x-request-id").iter().collect();
    assert_eq!(ids.len(), 1, "{:?}", r.headers);
    assert_eq!(ids[0].len(), 32, "{:?}", r.headers);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_codes_on_one_keep_alive_connection_are_each_checked_against_the_index() {
    let h = Harness::start_with(|s| s.allow_app_code_over_http = true).await;
    let mut conn = TcpStream::connect(h.http.local_addr()).await.unwrap();
    async fn call_on(conn: &mut TcpStream, code: &str) -> String {
        let head = format!("GET /app HTTP/1.1\r\nHost: gw\r\nX-Apig-AppCode: {code}\r\n\r\n");
        conn.write_all(head.as_bytes()).await.unwrap();
        read_response(conn).await
    }
    // The same code twice, another app's, a wrong one, the first again: each answered for
    // the code it carries.
    for (code, app) in [(CODE1, "app1"), (CODE1, "app1"), (CODE2, "app2")] {
        let answer = call_on(&mut conn, code).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(
            answer.contains(&format!("\"x-app-id\":\"{app}\"")),
            "{answer}"
        );
    }
    let wrong = call_on(&mut conn, CODE_WRONG).await;
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    assert!(call_on(&mut conn, CODE1).await.starts_with("HTTP/1.1 200"));
    // Revoked between two requests of the connection: the next one is refused.
    let mut cfg = config(h.backend, h.tls_backend, h.down);
    cfg.apps[0].app_code_hashes.clear();
    h.gateway.replace(cfg).await;
    let revoked = call_on(&mut conn, CODE1).await;
    assert!(revoked.starts_with("HTTP/1.1 401"), "{revoked}");
    assert!(revoked.contains("APIG.0303"), "{revoked}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_codes_on_one_http2_connection_are_each_checked_against_the_index() {
    let h = Harness::start_with(|s| s.allow_app_code_over_http = true).await;
    // HTTP/2 with prior knowledge on the plain listener: every request on one connection.
    let tcp = TcpStream::connect(h.http.local_addr()).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let call = |code: &'static str| {
        let client = client.clone();
        async move {
            let request = Request::get("http://gw/app")
                .header("X-Apig-AppCode", code)
                .body(())
                .unwrap();
            let (response, _) = client
                .ready()
                .await
                .unwrap()
                .send_request(request, true)
                .unwrap();
            let response = response.await.unwrap();
            let status = response.status().as_u16();
            let mut body = response.into_body();
            let mut text = Vec::new();
            while let Some(chunk) = body.data().await {
                let chunk = chunk.unwrap();
                body.flow_control().release_capacity(chunk.len()).unwrap();
                text.extend_from_slice(&chunk);
            }
            (status, String::from_utf8(text).unwrap())
        }
    };
    let is_app = |(status, body): &(u16, String), app: &str| {
        *status == 200 && body.contains(&format!("\"x-app-id\":\"{app}\""))
    };
    // One after another: the same code twice, another app's, a wrong one, the first again.
    for (code, app) in [(CODE1, "app1"), (CODE1, "app1"), (CODE2, "app2")] {
        let answer = call(code).await;
        assert!(is_app(&answer, app), "{code}: {answer:?}");
    }
    let (status, body) = call(CODE_WRONG).await;
    assert_eq!(status, 401, "{body}");
    assert!(is_app(&call(CODE1).await, "app1"));
    // Side by side: each stream answered for its own code, whichever holds the memo.
    let side_by_side: Vec<_> = (0..8)
        .map(|i| tokio::spawn(call(if i % 2 == 0 { CODE1 } else { CODE2 })))
        .collect();
    for (i, answer) in side_by_side.into_iter().enumerate() {
        let answer = answer.await.unwrap();
        let app = if i % 2 == 0 { "app1" } else { "app2" };
        assert!(is_app(&answer, app), "{i}: {answer:?}");
    }
    // Revoked between two requests of the connection: the next one is refused.
    let mut cfg = config(h.backend, h.tls_backend, h.down);
    cfg.apps[0].app_code_hashes.clear();
    h.gateway.replace(cfg).await;
    let (status, body) = call(CODE1).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("APIG.0303"), "{body}");
    assert!(is_app(&call(CODE2).await, "app2"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_revokes_an_app_code_for_the_very_next_request() {
    let h = Harness::start().await;
    let code = [("X-Apig-AppCode", CODE1)];
    h.get_with(&h.https_url("/app"), &code).await.echoed();

    let mut cfg = config(h.backend, h.tls_backend, h.down);
    cfg.apps[0].app_code_hashes.clear();
    h.gateway.replace(cfg).await;
    let r = h.get_with(&h.https_url("/app"), &code).await;
    r.assert_error(401, "APIG.0303");
    // The signature of the same app still works.
    h.signed(
        Method::GET,
        &h.http_url("/signed"),
        "key-app1",
        "secret-app1",
        b"",
        &[],
        now(),
    )
    .await
    .echoed();

    // Removing the authorization is just as immediate.
    let mut cfg = config(h.backend, h.tls_backend, h.down);
    cfg.auths.retain(|(app, _, _)| app != "app2");
    h.gateway.replace_blocking(cfg);
    h.get_with(&h.https_url("/app"), &[("X-Apig-AppCode", CODE2)])
        .await
        .assert_error(403, "APIG.0304");
    h.stop().await;
}

/// The data-plane state of a test app as `config` has it, authorized for `apis` in RELEASE.
fn app_update(id: &str, code: Option<&str>, apis: &[&str]) -> AppUpdate {
    let mut credential = app(id, code.unwrap_or(""));
    if code.is_none() {
        credential.app_code_hashes.clear();
    }
    AppUpdate {
        credential,
        auths: apis
            .iter()
            .map(|a| (a.to_string(), "env-release".to_string()))
            .collect(),
        acl: None,
        quota: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patches_apply_to_the_very_next_request() {
    let h = Harness::start().await;
    let code = |c: &'static str| [("X-Apig-AppCode", c)];
    h.get_with(&h.https_url("/app"), &code(CODE1))
        .await
        .echoed();

    // Removing an AppCode: the next request is refused; the app's signature still works.
    let update = app_update("app1", None, &["app", "signed"]);
    h.gateway.patch(vec![AppPatch::Upsert(update)]).await;
    h.get_with(&h.https_url("/app"), &code(CODE1))
        .await
        .assert_error(401, "APIG.0303");
    h.signed(
        Method::GET,
        &h.http_url("/signed"),
        "key-app1",
        "secret-app1",
        b"",
        &[],
        now(),
    )
    .await
    .echoed();

    // Adding an authorization: the next request passes.
    h.get_with(&h.https_url("/app"), &code(CODE3))
        .await
        .assert_error(403, "APIG.0304");
    let update = app_update("app3", Some(CODE3), &["app"]);
    h.gateway.patch(vec![AppPatch::Upsert(update)]).await;
    let r = h.get_with(&h.https_url("/app"), &code(CODE3)).await;
    assert_eq!(r.echoed()["headers"]["x-app-id"], "app3");

    // Removing an app: its AppCode and its AppKey stop working.
    h.gateway
        .patch_blocking(vec![AppPatch::Remove("app2".into())]);
    h.get_with(&h.https_url("/app"), &code(CODE2))
        .await
        .assert_error(401, "APIG.0303");
    h.signed(
        Method::GET,
        &h.http_url("/signed"),
        "key-app2",
        "secret-app2",
        b"",
        &[],
        now(),
    )
    .await
    .assert_error(401, "APIG.0303");

    // A new app, then a full replace that does not know it.
    let update = app_update("app9", Some("CodeNine"), &["app"]);
    h.gateway.patch(vec![AppPatch::Upsert(update)]).await;
    h.get_with(&h.https_url("/app"), &code("CodeNine"))
        .await
        .echoed();
    h.gateway
        .replace(config(h.backend, h.tls_backend, h.down))
        .await;
    h.get_with(&h.https_url("/app"), &code("CodeNine"))
        .await
        .assert_error(401, "APIG.0303");
    h.get_with(&h.https_url("/app"), &code(CODE1))
        .await
        .echoed();
    h.get_with(&h.https_url("/app"), &code(CODE2))
        .await
        .echoed();
    h.get_with(&h.https_url("/app"), &code(CODE3))
        .await
        .assert_error(403, "APIG.0304");

    // A patch keeps a used-up quota when its terms are unchanged.
    for _ in 0..2 {
        h.get_with(&h.https_url("/app"), &code(CODE_QUOTA))
            .await
            .echoed();
    }
    let mut update = app_update("app-quota", Some(CODE_QUOTA), &["app"]);
    update.quota = Some(AppQuota {
        app_id: "app-quota".into(),
        quota_id: "quota-2-per-hour".into(),
        limit: QuotaLimit {
            call_limit: 2,
            interval: Duration::from_secs(3600),
            reset_at_ms: None,
        },
    });
    h.gateway.patch(vec![AppPatch::Upsert(update)]).await;
    h.get_with(&h.https_url("/app"), &code(CODE_QUOTA))
        .await
        .assert_error(405, "APIG.0501");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_requests_in_flight_and_closes_idle_connections() {
    let h = Harness::start().await;
    let server = serve_http("127.0.0.1:0".parse().unwrap(), h.gateway.clone())
        .await
        .unwrap();
    let addr = server.local_addr();
    // A keep-alive connection that served one request and now sits idle.
    let mut idle = connect_and_send(addr, b"GET /open HTTP/1.1\r\nHost: gw\r\n\r\n").await;
    assert!(read_response(&mut idle).await.starts_with("HTTP/1.1 200"));
    // A request in flight: the backend takes 2 s to answer.
    let mut busy = connect_and_send(addr, b"GET /slow-ok HTTP/1.1\r\nHost: gw\r\n\r\n").await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let grace = Duration::from_secs(15);
    let started = std::time::Instant::now();
    let stopping = tokio::spawn(server.shutdown(grace));
    // The idle connection is closed at once, long before the slow answer comes.
    let mut rest = [0u8; 64];
    let idle_read = tokio::time::timeout(Duration::from_millis(1500), idle.read(&mut rest)).await;
    assert!(
        matches!(idle_read, Ok(Ok(0)) | Ok(Err(_))),
        "idle connection still open: {idle_read:?}"
    );
    // The request in flight gets its whole answer, then its connection closes too.
    let answer = read_response(&mut busy).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"path\":\"/slow-ok\""), "{answer}");
    assert!(matches!(busy.read(&mut rest).await, Ok(0) | Err(_)));
    // Shutdown ended because every connection closed, not because the grace period ran out.
    stopping.await.unwrap();
    assert!(started.elapsed() < grace, "{:?}", started.elapsed());
    assert!(TcpStream::connect(addr).await.is_err());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_without_a_request_in_flight_close_after_the_client_header_timeout() {
    let h = Harness::start_with(|s| s.client_header_timeout = Duration::from_secs(1)).await;
    let addr = h.http.local_addr();
    let closed_within = |limit: Duration, mut stream: TcpStream| async move {
        let started = std::time::Instant::now();
        let mut rest = [0u8; 256];
        let read = tokio::time::timeout(limit, stream.read(&mut rest)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "connection still open after {limit:?}: {read:?}"
        );
        started.elapsed()
    };
    // A request head trickling in (slow loris): dropped, never answered.
    let slow = connect_and_send(addr, b"GET /open HTTP/1.1\r\nHost: gw\r\n").await;
    // An idle keep-alive connection after one answer.
    let mut idle = connect_and_send(addr, b"GET /open HTTP/1.1\r\nHost: gw\r\n\r\n").await;
    assert!(read_response(&mut idle).await.starts_with("HTTP/1.1 200"));
    // A request whose backend takes 2 s, twice the timeout: in flight, so never cut.
    let mut busy = connect_and_send(addr, b"GET /slow-ok HTTP/1.1\r\nHost: gw\r\n\r\n").await;

    let (slow_after, idle_after) = tokio::join!(
        closed_within(Duration::from_secs(10), slow),
        closed_within(Duration::from_secs(10), idle)
    );
    // Never before the timeout itself.
    assert!(slow_after >= Duration::from_millis(900), "{slow_after:?}");
    assert!(idle_after >= Duration::from_millis(900), "{idle_after:?}");
    let answer = read_response(&mut busy).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"path\":\"/slow-ok\""), "{answer}");
    // Then idle in turn, it closes too.
    closed_within(Duration::from_secs(10), busy).await;
    // A connection that keeps sending requests stays open past the timeout.
    let mut active = TcpStream::connect(addr).await.unwrap();
    for _ in 0..6 {
        active
            .write_all(b"GET /open HTTP/1.1\r\nHost: gw\r\n\r\n")
            .await
            .unwrap();
        assert!(read_response(&mut active).await.starts_with("HTTP/1.1 200"));
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_taking_the_response_is_dropped_after_the_send_timeout() {
    let h = Harness::start_with(|s| s.client_send_timeout = Duration::from_secs(1)).await;
    let addr = h.http.local_addr();
    // The backend streams without end; the client reads the head and then nothing, so the
    // socket buffers fill and the gateway's writes wait.
    let mut stalled =
        connect_and_send(addr, b"GET /files/endless HTTP/1.1\r\nHost: gw\r\n\r\n").await;
    let mut head = [0u8; 12];
    stalled.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    // Meanwhile a client that keeps reading is served (the timeout is per write, not per
    // response): 64 KiB every 100 ms for 3 s.
    let mut steady =
        connect_and_send(addr, b"GET /files/endless HTTP/1.1\r\nHost: gw\r\n\r\n").await;
    let mut chunk = vec![0u8; 64 * 1024];
    for _ in 0..30 {
        let n = steady.read(&mut chunk).await.unwrap();
        assert!(n > 0);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // By now (3 s, more than the 1 s timeout and two sweeps) the stalled connection is gone:
    // what the buffers held can still be read, then the end.
    let drained = tokio::time::timeout(Duration::from_secs(20), async {
        let mut total = 0usize;
        loop {
            match stalled.read(&mut chunk).await {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n,
            }
        }
    })
    .await
    .expect("the stalled connection was not dropped");
    assert!(
        drained < 64 * 1024 * 1024,
        "{drained} bytes: still streaming"
    );
    // The steady one still streams.
    assert!(steady.read(&mut chunk).await.unwrap() > 0);
    drop(steady);
    // With the client connection, the backend exchange was dropped too.
    endless_dropped("/store/endless").await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_client_that_grants_no_window_is_dropped_after_the_send_timeout() {
    let h = Harness::start_with(|s| s.client_send_timeout = Duration::from_secs(1)).await;
    let addr = h.http.local_addr();
    // HTTP/2 with prior knowledge and an initial stream window of zero: the gateway can send
    // the response head but no byte of the body, and its socket never blocks.
    let open = |window: u32| async move {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let (client, connection) = h2::client::Builder::new()
            .initial_window_size(window)
            .handshake::<_, Bytes>(tcp)
            .await
            .unwrap();
        let connection = tokio::spawn(connection);
        (client, connection)
    };
    let get = |path: &str| Request::get(format!("http://gw{path}")).body(()).unwrap();
    let (mut stalled, stalled_conn) = open(0).await;
    let (response, _) = stalled
        .send_request(get("/files/endless-h2"), true)
        .unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);

    // A client on another connection that keeps taking data (and so granting window) is
    // served meanwhile: 3 s.
    let (mut steady, _steady_conn) = open(64 * 1024).await;
    let (response, _) = steady
        .send_request(get("/files/endless-h2-steady"), true)
        .unwrap();
    let mut body = response.await.unwrap().into_body();
    let started = std::time::Instant::now();
    let mut received = 0usize;
    while started.elapsed() < Duration::from_secs(3) {
        let chunk = tokio::time::timeout(Duration::from_secs(2), body.data())
            .await
            .expect("the steady stream stopped")
            .unwrap()
            .unwrap();
        received += chunk.len();
        body.flow_control().release_capacity(chunk.len()).unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(received > 0);

    // The stalled connection is gone by now (3 s: the 1 s timeout and two sweeps), and with
    // it the backend exchange it held; the steady one still streams.
    let ended = tokio::time::timeout(Duration::from_secs(10), stalled_conn)
        .await
        .expect("the connection that grants no window was not dropped");
    assert!(ended.is_ok());
    endless_dropped("/store/endless-h2").await;
    let chunk = body.data().await.unwrap().unwrap();
    assert!(!chunk.is_empty());
    assert!(!ENDLESS_DROPPED
        .lock()
        .unwrap()
        .iter()
        .any(|p| p == "/store/endless-h2-steady"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_certificate_is_reused_and_listeners_shut_down() {
    let h = Harness::start().await;
    let tls = TlsSettings::self_signed(h.dir.join("tls"));
    let pem = std::fs::read_to_string(tls.cert_path()).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let certificate = ListenerCertificate::load(tls.clone(), None).unwrap();
    let again = serve_https(
        "127.0.0.1:0".parse().unwrap(),
        &certificate,
        h.gateway.clone(),
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read_to_string(tls.cert_path()).unwrap(), pem);
    let url = format!("https://{}/open", again.local_addr());
    h.get(&url).await.echoed();
    let addr = again.local_addr();
    again.shutdown(Duration::from_secs(1)).await;
    assert!(TcpStream::connect(addr).await.is_err());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_uri_and_headers_get_apig_answers() {
    let h = Harness::start().await;
    let addr = h.http.local_addr();
    // A URI over 32 KiB: 414 APIG.0201 with request_id, before routing.
    let long = "a".repeat(33 * 1024);
    let head =
        format!("GET /open?q={long} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let text = raw_exchange(addr, head, Vec::new()).await;
    assert!(text.starts_with("HTTP/1.1 414"), "{text:.300}");
    assert!(text.contains(r#""error_code":"APIG.0201""#), "{text:.300}");
    assert!(text.contains("Request URI too large."), "{text:.300}");
    assert!(text.contains(r#""request_id":""#), "{text:.300}");

    // Headers over 32 KiB together: 494 APIG.0201.
    let value = "v".repeat(17 * 1024);
    let head = format!(
        "GET /open HTTP/1.1\r\nHost: 127.0.0.1\r\nX-One: {value}\r\nX-Two: {value}\r\nConnection: close\r\n\r\n"
    );
    let text = raw_exchange(addr, head, Vec::new()).await;
    assert!(text.starts_with("HTTP/1.1 494"), "{text:.300}");
    assert!(text.contains("Request headers too large."), "{text:.300}");

    // Just under both limits: proxied.
    let head = format!(
        "GET /open?q={} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-One: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(30 * 1024),
        "v".repeat(30 * 1024)
    );
    let text = raw_exchange(addr, head, Vec::new()).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text:.300}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_mode_reports_latencies_and_the_app_quota() {
    let h = Harness::start().await;
    let numeric = |r: &Reply, name: &str| {
        r.headers
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing: {r:?}"))
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("{name} is not a number: {r:?}"))
    };
    // Without the header: nothing extra.
    let r = h.get(&h.http_url("/open")).await;
    r.echoed();
    assert!(r.headers.get("x-apig-latency").is_none(), "{r:?}");

    let r = h
        .get_with(&h.http_url("/open"), &[("X-Apig-Mode", "debug")])
        .await;
    r.echoed();
    let total = numeric(&r, "x-apig-latency");
    let upstream = numeric(&r, "x-apig-upstream-latency");
    assert!(upstream <= total, "{r:?}");
    assert!(
        r.headers.get("x-apig-ratelimit-app").is_none(),
        "no app quota: {r:?}"
    );

    // An app with a quota of 2 per hour: what is left after each call, then the refusal.
    let debug_quota = [("X-Apig-AppCode", CODE_QUOTA), ("X-Apig-Mode", "DEBUG")];
    for remain in [1, 0] {
        let r = h.get_with(&h.https_url("/app"), &debug_quota).await;
        r.echoed();
        assert_eq!(
            r.headers["x-apig-ratelimit-app"],
            format!("remain:{remain},limit:2,time:1 hour").as_str()
        );
    }
    let r = h.get_with(&h.https_url("/app"), &debug_quota).await;
    r.assert_error(405, "APIG.0501");
    assert_eq!(
        r.headers["x-apig-ratelimit-app"],
        "remain:0,limit:2,time:1 hour"
    );
    assert!(r.headers.get("x-apig-upstream-latency").is_none(), "{r:?}");
    numeric(&r, "x-apig-latency");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_speaks_http2_when_the_client_offers_it() {
    let h = Harness::start().await;
    let r = h.client.get(h.https_url("/open")).send().await.unwrap();
    assert_eq!(r.version(), http::Version::HTTP_2);
    let r = Reply::read(r).await;
    let echo = r.echoed();
    assert_eq!(echo["path"], "/echo/open", "{r:?}");
    // The backend is spoken to in HTTP/1.1 with a Host header, whatever the caller used.
    assert_eq!(echo["headers"]["host"], format!("127.0.0.1:{}", h.backend));
    // An AppCode API over HTTP/2.
    let r = h
        .client
        .get(h.https_url("/app"))
        .header("X-Apig-AppCode", CODE1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), http::Version::HTTP_2);
    Reply::read(r).await.echoed();
    // Errors keep their APIG body over HTTP/2.
    let r = h.client.get(h.https_url("/nowhere")).send().await.unwrap();
    assert_eq!(r.version(), http::Version::HTTP_2);
    Reply::read(r).await.assert_error(404, "APIG.0101");
    // The plain listener speaks HTTP/1.1 to HTTP/1.1 clients...
    let r = h.client.get(h.http_url("/open")).send().await.unwrap();
    assert_eq!(r.version(), http::Version::HTTP_11);
    // ...and HTTP/2 to clients that open with its preface (h2c, prior knowledge).
    let h2c = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let r = h2c
        .post(h.http_url("/files/h2c"))
        .body("over h2c")
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), http::Version::HTTP_2);
    let r = Reply::read(r).await;
    assert_eq!(r.echoed()["path"], "/store/h2c", "{r:?}");
    assert_eq!(r.echoed()["body"], "over h2c");
    let r = h2c.get(h.http_url("/nowhere")).send().await.unwrap();
    assert_eq!(r.version(), http::Version::HTTP_2);
    Reply::read(r).await.assert_error(404, "APIG.0101");
    h.stop().await;
}

/// Reads from `stream` until `done` holds for what arrived (or the peer closed, or 10 s
/// passed without a byte); returns the text.
async fn read_until(stream: &mut TcpStream, done: impl Fn(&str) -> bool) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    while !done(&String::from_utf8_lossy(&buf)) {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Whether the peer has closed `stream` (reads end of stream within 10 s).
async fn closed_by_peer(stream: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    matches!(
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest)).await,
        Ok(Ok(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_requests_are_pipelined_streamed_and_kept_alive_past_refusals() {
    let h = Harness::start().await;
    let addr = h.http.local_addr();

    // Two requests in one write: two answers, in order, on the same connection.
    let mut stream = connect_and_send(
        addr,
        b"GET /open?n=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /open?n=2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    )
    .await;
    let text = read_until(&mut stream, |t| {
        t.matches(r#""path":"/echo/open""#).count() == 2
    })
    .await;
    let first = text.find(r#""query":"n=1""#).expect(&text);
    let second = text.find(r#""query":"n=2""#).expect(&text);
    assert!(first < second, "{text}");
    assert_eq!(text.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{text}");

    // HEAD: the backend's fields as it wrote them and the length a GET would have, no body
    // (the next response starts right after the head).
    stream
        .write_all(b"HEAD /files/h HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /open HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let text = read_until(&mut stream, |t| t.contains(r#""path":"/echo/open""#)).await;
    let (head, next) = text.split_once("\r\n\r\n").expect(&text);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("\r\ncontent-type: application/json\r\n"),
        "{head}"
    );
    let length: usize = head
        .split("\r\n")
        .find_map(|l| l.strip_prefix("content-length: "))
        .expect(head)
        .parse()
        .unwrap();
    assert!(length > 50, "{head}");
    assert_eq!(head.matches("date: ").count(), 1, "{head}");
    assert!(next.starts_with("HTTP/1.1 200 OK\r\n"), "{next}");

    // A refused request whose small body arrived with it leaves the connection usable.
    stream
        .write_all(b"POST /app HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello")
        .await
        .unwrap();
    let text = read_until(&mut stream, |t| t.contains("APIG.0303")).await;
    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
    assert!(!text.contains("connection: close"), "{text}");
    stream
        .write_all(b"POST /files/up HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        .await
        .unwrap();
    let text = read_until(&mut stream, |t| t.contains(r#""body":"hello world""#)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains(r#""path":"/store/up""#), "{text}");

    // Expect: 100-continue gets its interim answer before the body is sent.
    stream
        .write_all(b"PUT /files/up HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\n")
        .await
        .unwrap();
    let text = read_until(&mut stream, |t| t.contains("\r\n\r\n")).await;
    assert_eq!(text, "HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(b"goahead").await.unwrap();
    let text = read_until(&mut stream, |t| t.contains(r#""body":"goahead""#)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");

    // A streamed backend response: head and first chunk before the backend has finished,
    // re-chunked for the client; the connection carries on afterwards.
    stream
        .write_all(b"GET /files/chunks HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let text = read_until(&mut stream, |t| t.contains("first,")).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("transfer-encoding: chunked\r\n"), "{text}");
    assert!(!text.contains("content-length"), "{text}");
    assert!(text.contains("\r\nx-request-id: "), "{text}");
    SECOND_CHUNK.notify_one();
    let text = read_until(&mut stream, |t| t.ends_with("0\r\n\r\n")).await;
    assert!(text.contains("6\r\nsecond\r\n0\r\n\r\n"), "{text:?}");
    stream
        .write_all(b"GET /open HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let text = read_until(&mut stream, |t| t.contains(r#""path":"/echo/open""#)).await;
    assert!(text.contains("connection: close\r\n"), "{text}");
    assert!(closed_by_peer(&mut stream).await);

    // HTTP/1.0: answered with a length, then closed.
    let mut stream = connect_and_send(addr, b"GET /open HTTP/1.0\r\n\r\n").await;
    let text = read_until(&mut stream, |t| t.contains(r#""path":"/echo/open""#)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("content-length: "), "{text}");
    assert!(closed_by_peer(&mut stream).await);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_dribbled_a_few_bytes_per_write_is_served_and_the_connection_kept() {
    let h = Harness::start().await;
    let mut stream = TcpStream::connect(h.http.local_addr()).await.unwrap();
    stream.set_nodelay(true).unwrap();
    // The head (with bare line feeds in one field), then a chunked body with an extension
    // and a trailer: each arrives in pieces of up to 3 bytes, most of them read separately.
    let request = b"POST /files/up HTTP/1.1\r\nHost: 127.0.0.1\nX-Slow: yes\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 1\r\nX-More: 2\r\n\r\n";
    for piece in request.chunks(3) {
        stream.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let text = read_until(&mut stream, |t| t.contains(r#""body":"hello world""#)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains(r#""x-slow":"yes""#), "{text}");
    // What followed the trailer starts the next request on the same connection.
    stream
        .write_all(b"GET /open HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let text = read_until(&mut stream, |t| t.contains(r#""path":"/echo/open""#)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_upload_is_not_a_backend_timeout_but_a_stalled_one_is_408() {
    let h = Harness::start_with(|s| s.client_body_timeout = Duration::from_secs(1)).await;
    let addr = h.http.local_addr();

    // 10 bytes over about 1.2 s to an API whose backend timeout is 300 ms: the waits for the
    // caller are not the backend's time, and no gap reaches the body timeout.
    let mut stream = connect_and_send(
        addr,
        b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n",
    )
    .await;
    for piece in [&b"01"[..], b"23", b"45", b"67", b"89"] {
        tokio::time::sleep(Duration::from_millis(250)).await;
        stream.write_all(piece).await.unwrap();
    }
    let text = read_until(&mut stream, |t| t.contains(r#""body":"0123456789""#)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");

    // The same upload, chunked, on the same connection.
    stream
        .write_all(
            b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .await
        .unwrap();
    for piece in [&b"3\r\nabc\r\n"[..], b"3\r\ndef\r\n", b"0\r\n\r\n"] {
        tokio::time::sleep(Duration::from_millis(250)).await;
        stream.write_all(piece).await.unwrap();
    }
    let text = read_until(&mut stream, |t| t.contains(r#""body":"abcdef""#)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");

    // A caller that stops half-way gets 408 once the body timeout passes, and the
    // connection closes (its request was never complete).
    let started = std::time::Instant::now();
    let mut stream = connect_and_send(
        addr,
        b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n01234",
    )
    .await;
    let text = read_until(&mut stream, |t| t.contains("APIG.0201")).await;
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains(r#""error_msg":"Request timeout.""#), "{text}");
    assert!(started.elapsed() >= Duration::from_secs(1), "{text}");
    assert!(text.contains("connection: close\r\n"), "{text}");

    // A body a signature covers is read whole first: a caller that stalls there gets the
    // same answer (before, nothing bounded that wait).
    let url: http::Uri = h.http_url("/signed").parse().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::HOST,
        HeaderValue::from_str(url.authority().unwrap().as_str()).unwrap(),
    );
    let body = b"0123456789";
    apigw_signing::sign_request(
        &Method::POST,
        &url,
        &mut headers,
        body,
        "key-app2",
        "secret-app2",
        now(),
    )
    .unwrap();
    let mut head = "POST /signed HTTP/1.1\r\nContent-Length: 10\r\n".to_owned();
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    head.push_str("\r\n01234");
    let mut stream = connect_and_send(addr, head.as_bytes()).await;
    let text = read_until(&mut stream, |t| t.contains("APIG.0201")).await;
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    // Over HTTP/2 (prior knowledge): a stream whose body pauses under the body timeout is
    // served; one whose body stops gets 408 on that stream.
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let post = || Request::post("http://127.0.0.1/upload").body(()).unwrap();
    let (response, mut send) = client.send_request(post(), false).unwrap();
    for piece in ["ab", "cd", "ef"] {
        tokio::time::sleep(Duration::from_millis(250)).await;
        send.send_data(Bytes::from(piece), piece == "ef").unwrap();
    }
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    let mut received = response.into_body();
    let mut text = Vec::new();
    while let Some(chunk) = received.data().await {
        text.extend_from_slice(&chunk.unwrap());
    }
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains(r#""body":"abcdef""#), "{text}");
    let (response, mut send) = client.send_request(post(), false).unwrap();
    send.send_data(Bytes::from_static(b"half"), false).unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 408);

    // Sent whole, the same signed request passes.
    let r = h
        .signed(
            Method::POST,
            &h.http_url("/signed"),
            "key-app2",
            "secret-app2",
            body,
            &[],
            now(),
        )
        .await;
    assert_eq!(r.echoed()["body"], "0123456789");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_heads_with_two_readings_are_refused_and_the_connection_closed() {
    let h = Harness::start().await;
    let addr = h.http.local_addr();
    let long_field = format!("X-Long: {}\r\n", "v".repeat(80 * 1024));
    let cases: [(&str, String); 6] = [
        // The classic smuggling pair: the second request must never be served.
        (
            "400",
            "POST /files/up HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /open HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".into(),
        ),
        (
            "400",
            "POST /files/up HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!".into(),
        ),
        (
            "400",
            "POST /files/up HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n".into(),
        ),
        ("400", "GET /open HTTP/1.1\r\n\r\n".into()),
        ("400", "GET /open HTTP/1.1\r\nHost : 127.0.0.1\r\n\r\n".into()),
        // A head over the server's 72 KiB read limit.
        (
            "494",
            format!("GET /open HTTP/1.1\r\nHost: 127.0.0.1\r\n{long_field}\r\n"),
        ),
    ];
    for (status, raw) in cases {
        let mut stream = connect_and_send(addr, raw.as_bytes()).await;
        let text = read_until(&mut stream, |t| t.contains(r#""request_id":""#)).await;
        assert!(
            text.starts_with(&format!("HTTP/1.1 {status}")),
            "{raw:.120}: {text}"
        );
        assert!(text.contains(r#""error_code":"APIG.0201""#), "{text}");
        assert!(text.contains("connection: close\r\n"), "{text}");
        assert!(closed_by_peer(&mut stream).await, "{raw:.120}");
        assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text}");
    }
    // A chunked body that breaks its framing mid-way: the caller's fault, 400.
    let mut stream = connect_and_send(
        addr,
        b"POST /files/up HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    )
    .await;
    let text = read_until(&mut stream, |t| t.contains(r#""request_id":""#)).await;
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains(r#""error_code":"APIG.0201""#), "{text}");
    assert!(closed_by_peer(&mut stream).await);
    h.stop().await;
}
