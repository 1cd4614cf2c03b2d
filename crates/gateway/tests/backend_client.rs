//! Black-box tests of the backend side of the proxy: the gateway's real listener in front of a
//! scripted raw-TCP backend whose answers are written byte by byte, so that framing (chunked,
//! close-delimited, HEAD, 204), keep-alive reuse, stale connections and broken backends are
//! all exercised exactly.

use apigw_gateway::{
    serve_http, ApiAuth, AppCodeHasher, Backend, BackendRetries, Gateway, GatewayConfig,
    GatewaySettings, GroupConfig, HttpBackend, MatchMode, Protocol, PublishedApi, ReqMethod,
    ServerHandle,
};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the scripted backend does with one request.
enum Answer {
    /// Writes these bytes and keeps the connection for the next request.
    KeepOpen(Vec<u8>),
    /// Writes these bytes and closes.
    Close(Vec<u8>),
    /// Closes without answering.
    Hangup,
}

/// A backend that answers request `n` (counted over all connections) with `script(n, head)`
/// and records every request it read in full.
struct Scripted {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Scripted {
    async fn start(script: fn(usize, &str) -> Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let (conns, reqs) = (Arc::clone(&connections), Arc::clone(&requests));
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                conns.fetch_add(1, Ordering::SeqCst);
                let reqs = Arc::clone(&reqs);
                tokio::spawn(async move {
                    while let Some(request) = read_request(&mut stream).await {
                        let n = {
                            let mut all = reqs.lock().unwrap();
                            all.push(request.clone());
                            all.len() - 1
                        };
                        let head = String::from_utf8_lossy(&request).into_owned();
                        match script(n, &head) {
                            Answer::KeepOpen(bytes) => {
                                if stream.write_all(&bytes).await.is_err() {
                                    return;
                                }
                            }
                            Answer::Close(bytes) => {
                                let _ = stream.write_all(&bytes).await;
                                return;
                            }
                            Answer::Hangup => return,
                        }
                    }
                });
            }
        });
        Self {
            addr,
            connections,
            requests,
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn request(&self, n: usize) -> String {
        String::from_utf8_lossy(&self.requests.lock().unwrap()[n]).into_owned()
    }
}

/// Reads one request: head, then a `content-length` or chunked body.
async fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            break end + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map(|v| v.trim().parse::<usize>().unwrap());
    let complete = |buf: &[u8]| match length {
        Some(len) => buf.len() >= head_end + len,
        None if head.contains("transfer-encoding: chunked") => {
            find(&buf[head_end..], b"0\r\n\r\n").is_some()
        }
        None => true,
    };
    while !complete(&buf) {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A gateway with one API, `ANY /b` (prefix), proxying to `backend` with a 2 s timeout.
async fn gateway(backend: SocketAddr) -> ServerHandle {
    gateway_with(backend, BackendRetries::default()).await
}

/// [`gateway`] with the API's `retry_count`.
async fn gateway_with(backend: SocketAddr, retries: BackendRetries) -> ServerHandle {
    let config = GatewayConfig {
        groups: vec![GroupConfig {
            subdomain_open: true,
            id: "dflt".into(),
            name: "DEFAULT".into(),
            is_default: true,
            domains: vec![],
            responses: None,
        }],
        apis: vec![PublishedApi {
            api_id: "b".into(),
            name: "b".into(),
            group_id: "dflt".into(),
            env_id: "env-release".into(),
            env_name: "RELEASE".into(),
            req_protocol: Protocol::Both,
            req_method: ReqMethod::Any,
            req_uri: "/b".into(),
            match_mode: MatchMode::Swa,
            auth: ApiAuth::None,
            backend: Backend::Http(HttpBackend {
                https: false,
                grpc: false,
                host: "127.0.0.1".into(),
                port: backend.port(),
                method: ReqMethod::Any,
                path: "/".into(),
                timeout: Duration::from_secs(2),
                retries,
                channel: None,
            }),
            req_params: vec![],
            backend_params: vec![],
            policies: vec![],
            cors: false,
            throttle: None,
            ip_acl: None,
            backend_signing: None,
            responses: None,
            plugins: Default::default(),
        }],
        ..Default::default()
    };
    let settings = GatewaySettings::new(AppCodeHasher::hmac_sha256([1; 32]));
    let gateway = Gateway::new(config, settings).unwrap();
    serve_http("127.0.0.1:0".parse().unwrap(), gateway)
        .await
        .unwrap()
}

/// A keep-alive client connection to the gateway.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// A response as the client saw it.
#[derive(Debug)]
struct Seen {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Self {
        Self {
            stream: TcpStream::connect(addr).await.unwrap(),
            buf: Vec::new(),
        }
    }

    /// Sends `request` (a complete message) and reads one response (content-length or
    /// chunked, as the gateway frames it; `head_only` for HEAD).
    async fn exchange(&mut self, request: &str, head_only: bool) -> Seen {
        self.stream.write_all(request.as_bytes()).await.unwrap();
        let head_end = self
            .fill_until(|b| find(b, b"\r\n\r\n").map(|e| e + 4))
            .await;
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let status = head[9..12].parse().unwrap();
        let lower = head.to_ascii_lowercase();
        let length = lower
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .map(|v| v.trim().parse::<usize>().unwrap());
        self.buf.drain(..head_end);
        let body = if head_only || status == 204 || status == 304 {
            Vec::new()
        } else if let Some(len) = length {
            self.fill_until(|b| (b.len() >= len).then_some(len)).await;
            self.buf.drain(..len).collect()
        } else {
            // Chunked: decode.
            let mut body = Vec::new();
            loop {
                let line_end = self.fill_until(|b| find(b, b"\r\n").map(|e| e + 2)).await;
                let size = usize::from_str_radix(
                    String::from_utf8_lossy(&self.buf[..line_end - 2])
                        .split(';')
                        .next()
                        .unwrap()
                        .trim(),
                    16,
                )
                .unwrap();
                self.buf.drain(..line_end);
                if size == 0 {
                    self.fill_until(|b| find(b, b"\r\n").map(|e| e + 2)).await;
                    self.buf.drain(..2);
                    break body;
                }
                self.fill_until(|b| (b.len() >= size + 2).then_some(size + 2))
                    .await;
                body.extend(self.buf.drain(..size));
                self.buf.drain(..2);
            }
        };
        Seen { status, head, body }
    }

    async fn fill_until(&mut self, done: impl Fn(&[u8]) -> Option<usize>) -> usize {
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(n) = done(&self.buf) {
                return n;
            }
            let n = tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut chunk))
                .await
                .expect("gateway answered in time")
                .unwrap();
            assert!(
                n > 0,
                "gateway closed: {:?}",
                String::from_utf8_lossy(&self.buf)
            );
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads until the gateway closes the connection; returns what arrived.
    async fn read_to_close(&mut self) -> Vec<u8> {
        let mut rest = std::mem::take(&mut self.buf);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.stream.read_to_end(&mut rest))
            .await
            .expect("gateway closed in time");
        rest
    }
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: gw\r\n\r\n")
}

fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Backend: yes\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn keep_alive_connections_are_reused_across_framings() {
    let backend = Scripted::start(|n, _| {
        Answer::KeepOpen(match n {
            0 => ok("first"),
            // Chunked, with an extension, split chunks and a trailer section.
            1 => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n".to_vec(),
            2 => b"HTTP/1.1 204 No Content\r\nX-Empty: 1\r\n\r\n".to_vec(),
            3 => b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n".to_vec(), // HEAD
            4 => b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok".to_vec(),
            _ => ok("again"),
        })
    })
    .await;
    let gw = gateway(backend.addr).await;
    let mut client = Client::connect(gw.local_addr()).await;

    let r = client.exchange(&get("/b/1"), false).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"first"[..]), "{}", r.head);
    assert!(r.head.to_ascii_lowercase().contains("x-backend: yes"));
    let r = client.exchange(&get("/b/2"), false).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"hello world"[..]));
    assert!(!r.head.to_ascii_lowercase().contains("x-trailer"));
    let r = client.exchange(&get("/b/3"), false).await;
    assert_eq!(r.status, 204);
    assert!(r.head.to_ascii_lowercase().contains("x-empty: 1"));
    let r = client
        .exchange("HEAD /b/4 HTTP/1.1\r\nHost: gw\r\n\r\n", true)
        .await;
    assert_eq!(r.status, 200);
    assert!(r.head.to_ascii_lowercase().contains("content-length: 9"));
    let r = client
        .exchange(
            "POST /b/5 HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\n\r\nabc",
            false,
        )
        .await;
    assert_eq!(
        (r.status, &r.body[..]),
        (201, &b"ok"[..]),
        "interim 100 skipped"
    );
    let r = client.exchange(&get("/b/6"), false).await;
    assert_eq!(r.body, b"again");

    // Six exchanges, every framing, one backend connection.
    assert_eq!(backend.connections(), 1);
    // What the backend read: origin-form target, our framing, no caller framing left over.
    let post = backend.request(4);
    assert!(post.starts_with("POST /5 HTTP/1.1\r\n"), "{post}");
    assert!(post.ends_with("content-length: 3\r\n\r\nabc"), "{post}");
    let head = backend.request(3);
    assert!(head.starts_with("HEAD /4 HTTP/1.1\r\n"), "{head}");
    gw.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn close_delimited_and_closing_responses_are_not_reused() {
    let backend = Scripted::start(|n, _| match n {
        0 => Answer::Close(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end".to_vec(),
        ),
        1 => Answer::KeepOpen(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nc1".to_vec(),
        ),
        2 => Answer::KeepOpen(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold".to_vec()),
        _ => Answer::KeepOpen(ok("fresh")),
    })
    .await;
    let gw = gateway(backend.addr).await;
    let mut client = Client::connect(gw.local_addr()).await;
    let r = client.exchange(&get("/b/a"), false).await;
    assert_eq!(r.body, b"until the end");
    let r = client.exchange(&get("/b/b"), false).await;
    assert_eq!(r.body, b"c1");
    let r = client.exchange(&get("/b/c"), false).await;
    assert_eq!(r.body, b"old");
    let r = client.exchange(&get("/b/d"), false).await;
    assert_eq!(r.body, b"fresh");
    // Each of the first three ended its connection (close-delimited, `Connection: close`,
    // HTTP/1.0 without keep-alive).
    assert_eq!(backend.connections(), 4);
    gw.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn stale_pooled_connections_are_replaced_or_retried_when_safe() {
    // Request 0 is answered and the connection kept; the backend then hangs up on request 1
    // without answering (an idle connection it closed as the request arrived). A GET is
    // retried on a new connection; a POST with a body is not (the backend may have acted).
    let backend = Scripted::start(|n, _| match n {
        1 | 4 => Answer::Hangup,
        _ => Answer::KeepOpen(ok(&format!("r{n}"))),
    })
    .await;
    let gw = gateway(backend.addr).await;
    let mut client = Client::connect(gw.local_addr()).await;
    assert_eq!(client.exchange(&get("/b/x"), false).await.body, b"r0");
    let r = client.exchange(&get("/b/y"), false).await;
    assert_eq!(
        (r.status, &r.body[..]),
        (200, &b"r2"[..]),
        "retried: {}",
        r.head
    );
    assert_eq!(backend.connections(), 2);

    let r = client
        .exchange(
            "POST /b/z HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\n\r\nbody",
            false,
        )
        .await;
    assert_eq!(r.status, 200, "request 3 on the kept connection");
    let r = client
        .exchange(
            "POST /b/z HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\n\r\nbody",
            false,
        )
        .await;
    assert_eq!(r.status, 502, "a non-idempotent request is not replayed");
    assert!(String::from_utf8_lossy(&r.body).contains("APIG.0202"));
    assert_eq!(backend.requests.lock().unwrap().len(), 5);

    // A connection the backend closed while it sat idle is noticed and never used.
    let idle = Scripted::start(|_, _| Answer::Close(ok("bye-with-length"))).await;
    let gw2 = gateway(idle.addr).await;
    let mut client = Client::connect(gw2.local_addr()).await;
    for _ in 0..3 {
        let r = client.exchange(&get("/b/i"), false).await;
        assert_eq!(r.body, b"bye-with-length");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(idle.connections(), 3);
    assert_eq!(
        idle.requests.lock().unwrap().len(),
        3,
        "no request sent into a closed one"
    );
    gw.shutdown(Duration::from_secs(1)).await;
    gw2.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn streamed_request_bodies_are_framed_for_the_backend() {
    let backend = Scripted::start(|_, _| Answer::KeepOpen(ok("got"))).await;
    let gw = gateway(backend.addr).await;
    let mut client = Client::connect(gw.local_addr()).await;
    let r = client
        .exchange(
            "PUT /b/up HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
            false,
        )
        .await;
    assert_eq!(r.body, b"got");
    let seen = backend.request(0);
    let (head, body) = seen.split_once("\r\n\r\n").unwrap();
    let head = head.to_ascii_lowercase();
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    // Re-chunked as it streamed; the data is intact.
    let mut data = String::new();
    let mut rest = body;
    loop {
        let (size, after) = rest.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size, 16).unwrap();
        if size == 0 {
            break;
        }
        data.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
    assert_eq!(data, "abcdefg");

    // An empty POST states its zero length; a GET carries no framing header at all.
    client
        .exchange(
            "POST /b/e HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n",
            false,
        )
        .await;
    client.exchange(&get("/b/g"), false).await;
    assert!(backend
        .request(1)
        .to_ascii_lowercase()
        .contains("content-length: 0\r\n"));
    let get_head = backend.request(2).to_ascii_lowercase();
    assert!(!get_head.contains("content-length") && !get_head.contains("transfer-encoding"));
    gw.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn broken_backends_get_502_and_truncated_bodies_end_the_connection() {
    let backend = Scripted::start(|n, _| match n {
        0 => Answer::KeepOpen(b"NOT HTTP AT ALL\r\n\r\n".to_vec()),
        1 => Answer::KeepOpen(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab".to_vec(),
        ),
        2 => Answer::KeepOpen(
            format!(
                "HTTP/1.1 200 OK\r\nX-Big: {}\r\n\r\n",
                "a".repeat(70 * 1024)
            )
            .into_bytes(),
        ),
        3 => Answer::KeepOpen(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n".to_vec()),
        4 => Answer::Close(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort".to_vec()),
        _ => Answer::KeepOpen(ok("x")),
    })
    .await;
    let gw = gateway(backend.addr).await;
    for path in ["/b/garbage", "/b/conflict", "/b/huge-head", "/b/upgrade"] {
        let mut client = Client::connect(gw.local_addr()).await;
        let r = client.exchange(&get(path), false).await;
        assert_eq!(r.status, 502, "{path}: {}", r.head);
        assert!(String::from_utf8_lossy(&r.body).contains("APIG.0202"));
    }
    // The head promised 10 bytes and 5 came: the caller's connection is cut (before or after
    // the head went out) rather than given a complete-looking response.
    let mut client = Client::connect(gw.local_addr()).await;
    client
        .stream
        .write_all(get("/b/short").as_bytes())
        .await
        .unwrap();
    let seen = client.read_to_close().await;
    let text = String::from_utf8_lossy(&seen);
    if let Some((head, body)) = text.split_once("\r\n\r\n") {
        assert!(head.starts_with("HTTP/1.1 200"), "{text}");
        assert!(body.len() < 10, "{text}");
    } else {
        assert!(text.is_empty(), "{text}");
    }
    gw.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn retry_count_retries_failed_attempts_that_are_safe_to_repeat() {
    // retry_count 2: two attempts end without an answer, the third succeeds.
    let backend = Scripted::start(|n, _| match n {
        0 | 1 => Answer::Hangup,
        _ => Answer::KeepOpen(ok(&format!("r{n}"))),
    })
    .await;
    let gw = gateway_with(backend.addr, BackendRetries::from_retry_count(2)).await;
    let mut client = Client::connect(gw.local_addr()).await;
    let r = client.exchange(&get("/b/a"), false).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"r2"[..]), "{}", r.head);
    assert_eq!(backend.connections(), 3);
    gw.shutdown(Duration::from_secs(1)).await;

    // retry_count 0: no second attempt, even for a GET.
    let backend = Scripted::start(|n, _| match n {
        0 => Answer::Hangup,
        _ => Answer::KeepOpen(ok("late")),
    })
    .await;
    let gw = gateway_with(backend.addr, BackendRetries::from_retry_count(0)).await;
    let mut client = Client::connect(gw.local_addr()).await;
    assert_eq!(client.exchange(&get("/b/a"), false).await.status, 502);
    assert_eq!(backend.requests.lock().unwrap().len(), 1);
    gw.shutdown(Duration::from_secs(1)).await;

    // retry_count -1 (the default): a GET once more, a POST never.
    let backend = Scripted::start(|n, _| match n {
        0 | 2 => Answer::Hangup,
        _ => Answer::KeepOpen(ok(&format!("r{n}"))),
    })
    .await;
    let gw = gateway_with(backend.addr, BackendRetries::from_retry_count(-1)).await;
    let mut client = Client::connect(gw.local_addr()).await;
    let r = client.exchange(&get("/b/a"), false).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"r1"[..]));
    let r = client
        .exchange(
            "POST /b/p HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n",
            false,
        )
        .await;
    assert_eq!(r.status, 502, "{}", r.head);
    assert_eq!(backend.requests.lock().unwrap().len(), 3);

    // A backend that cannot be reached at all is tried 1 + retries times, then 502.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap();
    drop(closed);
    let gw2 = gateway_with(port, BackendRetries::from_retry_count(3)).await;
    let mut client = Client::connect(gw2.local_addr()).await;
    let r = client.exchange(&get("/b/x"), false).await;
    assert_eq!(r.status, 502);
    assert!(String::from_utf8_lossy(&r.body).contains("APIG.0202"));
    gw.shutdown(Duration::from_secs(1)).await;
    gw2.shutdown(Duration::from_secs(1)).await;
}
