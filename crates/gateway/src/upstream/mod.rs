//! The backend client: HTTP/1.1 over pooled keep-alive connections (TCP, or TLS with rustls),
//! driven inside the task of the caller's request; gRPC backends over HTTP/2 ([`h2`]).
//!
//! Why not hyper's client: hyper drives every connection from a task of its own and talks to
//! it over channels, so each proxied call costs two extra task wake-ups, a pool lookup behind
//! a lock and a channel-fed response body. Measured on the data-plane benchmark
//! (BENCHMARKS.md), that was a third of the gateway's CPU time per proxied call. Here the
//! caller's task writes the request head and body with one vectored write, reads the response
//! head into the connection's buffer, and the response body is decoded from that same buffer
//! as the caller's side pulls it; the connection returns to the pool with the last byte.
//!
//! Two kinds of second attempt, both only where they cannot duplicate work the backend did:
//! - a reused connection the backend closed before answering: once more on a new connection,
//!   when the request was not sent completely or its method is idempotent, and the body can be
//!   sent again (empty or buffered); this is pool hygiene and counts against nothing;
//! - the API's `retry_count` ([`BackendRetries`](crate::BackendRetries)): after a failed
//!   connect, or a connection that ended before any response byte with a body that can be sent
//!   again.

mod body;
mod h1;
mod h2;
mod pool;

pub use body::BackendBody;

use crate::balancer::Endpoint;
use crate::body::{BoxError, LimitedBody, UpstreamBody};
use crate::framing::{write_parts, ChunkSizeLine, LAST_CHUNK};
use crate::proxy::{FORWARDED_FOR, REQUEST_ID_HEADER};
use crate::snapshot::BackendEntry;
pub(crate) use h1::{is_hop_by_hop, BackendFields};
use h1::{RequestFraming, ResponseHead};
use http::header::HOST;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response};
use http_body::Body;
use http_body_util::BodyExt;
pub(crate) use pool::PoolKey;
use pool::{BackendIo, Conn, Lease, Pool};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::fmt;
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// A request on its way to a backend.
#[derive(Debug)]
pub(crate) struct BackendRequest {
    pub method: Method,
    /// Path and query (the request target in origin form).
    pub target: String,
    /// The caller's fields to forward; a `Host`, `X-Request-Id` or `X-Forwarded-For` among
    /// them is not sent (`gateway` holds what replaces it).
    pub headers: HeaderMap,
    pub gateway: GatewayFields,
    pub body: UpstreamBody,
}

/// The fields the gateway sets on every backend request, written beside the caller's rather
/// than inserted among them (an insertion into the header map costs a hash and a probe, three
/// per request).
#[derive(Debug)]
pub(crate) struct GatewayFields {
    /// The backend's `Host`.
    pub host: HeaderValue,
    /// This request's id.
    pub request_id: HeaderValue,
    /// The caller's `X-Forwarded-For` with the caller's address appended.
    pub forwarded_for: HeaderValue,
}

impl GatewayFields {
    /// The names of these fields, in the order of [`Self::values`].
    const NAMES: [HeaderName; 3] = [HOST, REQUEST_ID_HEADER, FORWARDED_FOR];

    fn values(&mut self) -> [&mut HeaderValue; 3] {
        [
            &mut self.host,
            &mut self.request_id,
            &mut self.forwarded_for,
        ]
    }

    /// The field of the gateway's that replaces the caller's field `name`, if one does.
    pub fn replacing(&mut self, name: &HeaderName) -> Option<&mut HeaderValue> {
        let index = Self::NAMES.iter().position(|n| n == name)?;
        self.values().into_iter().nth(index)
    }

    /// Whether the caller's field `name` gives way to one of these.
    fn replace(name: &HeaderName) -> bool {
        Self::NAMES.contains(name)
    }
}

/// Why an exchange with a backend failed.
#[derive(Debug)]
pub(crate) enum ExchangeError {
    /// No connection could be opened (refused, unresolvable, TLS handshake).
    Connect(io::Error),
    /// Writing the request failed before it was complete.
    Write(io::Error),
    /// The request was sent and the connection ended before any response byte.
    NoResponse(io::Error),
    /// Reading the response head failed part-way.
    Read(io::Error),
    /// The response was not valid HTTP/1.1.
    Protocol(h1::ProtocolError),
    /// The caller's body failed while it was being forwarded (too large, or the caller went).
    Body(BoxError),
    /// The HTTP/2 exchange with a gRPC backend failed (handshake, stream or connection).
    Http2(hyper::Error),
}

impl fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "connecting to the backend failed: {e}"),
            Self::Write(e) => write!(f, "sending the request failed: {e}"),
            Self::NoResponse(e) => write!(f, "no response from the backend: {e}"),
            Self::Read(e) => write!(f, "reading the response failed: {e}"),
            Self::Protocol(e) => e.fmt(f),
            Self::Body(e) => write!(f, "reading the caller's body failed: {e}"),
            Self::Http2(e) => write!(f, "HTTP/2 exchange with the backend failed: {e}"),
        }
    }
}

/// The backend client of a gateway (cheap to clone; clones share the pool).
#[derive(Clone)]
pub(crate) struct Upstream {
    tls: TlsConnector,
    pool: Pool,
    /// The connections to gRPC backends.
    http2: Arc<h2::Http2Clients>,
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("pool", &self.pool)
            .field("http2", &self.http2)
            .finish()
    }
}

impl Upstream {
    /// A client trusting the Mozilla roots plus the CA certificates in `extra_ca_pem`.
    pub fn new(extra_ca_pem: Option<&Path>) -> io::Result<Self> {
        let mut roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = extra_ca_pem {
            let invalid = |e: &dyn fmt::Display| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            };
            let mut added = 0;
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| invalid(&e))? {
                roots
                    .add(cert.map_err(|e| invalid(&e))?)
                    .map_err(|e| invalid(&e))?;
                added += 1;
            }
            if added == 0 {
                return Err(invalid(&"no certificate in the file"));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut h2_tls = tls.clone();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        h2_tls.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Self {
            tls: TlsConnector::from(Arc::new(tls)),
            pool: Pool::default(),
            http2: Arc::new(h2::Http2Clients::new(TlsConnector::from(Arc::new(h2_tls)))),
        })
    }

    /// Sends `request` to `backend` and reads the response head; the body streams from the
    /// connection afterwards. The caller bounds the time this takes; `now` is when it starts
    /// (the pool's idle bookkeeping needs no clock reading of its own).
    ///
    /// Boxed (the exchange's state is the largest part of a request's future; inline, it
    /// would be copied with the request's), and chosen here: an HTTP/1.1 backend's exchange
    /// or a gRPC backend's, each a future of its own.
    pub fn exchange<'a>(
        &'a self,
        backend: &'a BackendEntry,
        endpoint: &'a Endpoint,
        request: BackendRequest,
        now: Instant,
    ) -> Pin<Box<dyn Future<Output = Result<Response<BackendBody>, ExchangeError>> + Send + 'a>>
    {
        if backend.grpc {
            Box::pin(self.http2.exchange(backend, endpoint, request))
        } else {
            Box::pin(self.exchange_http1(backend, endpoint, request, now))
        }
    }

    /// [`Self::exchange`] with an HTTP/1.1 backend.
    ///
    /// An `async` block rather than an `async fn` (which would copy the request into a second
    /// place in its future), and the request used where it is: the future is moved into its
    /// box once per request.
    #[allow(clippy::manual_async_fn)]
    fn exchange_http1<'a>(
        &'a self,
        backend: &'a BackendEntry,
        endpoint: &'a Endpoint,
        mut request: BackendRequest,
        now: Instant,
    ) -> impl Future<Output = Result<Response<BackendBody>, ExchangeError>> + Send + 'a {
        async move {
            let body = &mut request.body;
            let framing = RequestFraming::for_body(
                &request.method,
                body.is_end_stream(),
                body.size_hint().exact(),
            );
            let replayable = body.is_replayable();
            // A VPC channel's retries go to its other servers.
            let mut endpoint = endpoint;
            let mut stale_retried = false;
            let mut retries_left = backend.retries.allowed(&request.method);
            loop {
                let key = endpoint.pool_key;
                let (mut lease, reused) = match self.pool.checkout(key, now) {
                    Some(lease) => (lease, true),
                    // Boxed: the connect future (resolver, TLS handshake) is large and rarely
                    // needed; inline it would enlarge every request's future.
                    None => match Box::pin(self.connect(endpoint)).await {
                        Ok(conn) => (self.pool.lease(key, conn), false),
                        Err(e) if retries_left > 0 => {
                            retries_left -= 1;
                            tracing::debug!(error = %e, retries_left, "retrying the backend");
                            endpoint = backend.retry_server(endpoint);
                            continue;
                        }
                        Err(e) => return Err(e),
                    },
                };
                let conn = &mut lease.conn;
                conn.write.clear();
                let (method, target) = (&request.method, &request.target);
                let fields = (&request.headers, &request.gateway);
                h1::encode_head(&mut conn.write, method, target, fields, framing);
                let result = match write_request(conn, body, framing).await {
                    Ok(()) => read_head(conn, method).await,
                    Err(e) => Err(e),
                };
                match result {
                    Ok(head) => return Ok(response(lease, head)),
                    Err(e)
                        if reused
                            && !stale_retried
                            && replayable
                            && stale_may_retry(&e, method) =>
                    {
                        tracing::debug!(error = %e, "reused backend connection was closed; retrying on a new one");
                        stale_retried = true;
                    }
                    Err(e @ (ExchangeError::Write(_) | ExchangeError::NoResponse(_)))
                        if replayable && retries_left > 0 =>
                    {
                        retries_left -= 1;
                        tracing::debug!(error = %e, retries_left, "retrying the backend");
                        endpoint = backend.retry_server(endpoint);
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }

    async fn connect(&self, endpoint: &Endpoint) -> Result<Conn, ExchangeError> {
        let io = open_stream(&self.tls, endpoint).await?;
        crate::meters::upstream_connected();
        Ok(Conn::new(io))
    }
}

/// Opens the byte stream to `endpoint`: TCP (no Nagle delay), with TLS through `tls` when its
/// scheme is `https` (server name: its TLS name, else its host).
async fn open_stream(tls: &TlsConnector, endpoint: &Endpoint) -> Result<BackendIo, ExchangeError> {
    let https = endpoint.scheme == http::uri::Scheme::HTTPS;
    let authority = &endpoint.authority;
    let host = authority.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(ExchangeError::Connect)?;
    let _ = tcp.set_nodelay(true);
    if !https {
        return Ok(BackendIo::Plain(tcp));
    }
    let name = endpoint.tls_name.as_deref().unwrap_or(host);
    let name = ServerName::try_from(name.to_owned())
        .map_err(|e| ExchangeError::Connect(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    let tls = tls
        .connect(name, tcp)
        .await
        .map_err(ExchangeError::Connect)?;
    Ok(BackendIo::Tls(Box::new(tls)))
}

/// Whether a failed exchange on a reused connection may be tried again on a new one.
fn stale_may_retry(error: &ExchangeError, method: &Method) -> bool {
    match error {
        ExchangeError::Write(_) => true,
        ExchangeError::NoResponse(_) => method.is_idempotent(),
        _ => false,
    }
}

/// Sends the head in `conn.write` and the body, then flushes (TLS buffers). A buffered body
/// (or none) goes out with the head in one vectored write, right here; only a streamed one
/// takes [`write_streamed`]'s loop, boxed so that its room is not part of every exchange.
async fn write_request(
    conn: &mut Conn,
    body: &mut UpstreamBody,
    framing: RequestFraming,
) -> Result<(), ExchangeError> {
    let written = match body {
        UpstreamBody::Buffered(bytes) => {
            let data = bytes.as_deref().unwrap_or_default();
            write_parts(&mut conn.io, &[&conn.write, data]).await
        }
        UpstreamBody::Streaming(_) if framing == RequestFraming::None => {
            write_parts(&mut conn.io, &[&conn.write]).await
        }
        UpstreamBody::Streaming(stream) => {
            Box::pin(write_streamed(&mut conn.io, &conn.write, stream, framing)).await?;
            Ok(())
        }
    };
    written.map_err(ExchangeError::Write)?;
    conn.io.flush().await.map_err(ExchangeError::Write)
}

/// A streamed body, frame by frame (the head with the first), chunk-framed when its length
/// is unknown.
async fn write_streamed(
    io: &mut BackendIo,
    head: &[u8],
    stream: &mut LimitedBody,
    framing: RequestFraming,
) -> Result<(), ExchangeError> {
    let chunked = framing == RequestFraming::Chunked;
    let mut head = Some(head);
    while let Some(frame) = stream.frame().await {
        let Ok(data) = frame.map_err(ExchangeError::Body)?.into_data() else {
            continue; // trailers are not forwarded
        };
        if data.is_empty() {
            continue;
        }
        let head = head.take().unwrap_or_default();
        let written = if chunked {
            let line = ChunkSizeLine::new(data.len());
            write_parts(io, &[head, line.as_bytes(), &data, b"\r\n"]).await
        } else {
            write_parts(io, &[head, &data]).await
        };
        written.map_err(ExchangeError::Write)?;
    }
    let last: &[u8] = if chunked { LAST_CHUNK } else { b"" };
    write_parts(io, &[head.unwrap_or_default(), last])
        .await
        .map_err(ExchangeError::Write)
}

/// Reads until a complete response head is buffered.
async fn read_head(conn: &mut Conn, method: &Method) -> Result<ResponseHead, ExchangeError> {
    let mut received = false;
    loop {
        if conn.read.capacity() - conn.read.len() < pool::READ_BUFFER / 2 {
            conn.read.reserve(pool::READ_BUFFER);
        }
        let n = match conn.io.read_buf(&mut conn.read).await {
            Ok(n) => n,
            Err(e) if received => return Err(ExchangeError::Read(e)),
            Err(e) => return Err(ExchangeError::NoResponse(e)),
        };
        if n == 0 {
            let closed = io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the backend closed the connection",
            );
            return Err(if received {
                ExchangeError::Read(closed)
            } else {
                ExchangeError::NoResponse(closed)
            });
        }
        received = true;
        if let Some(head) =
            h1::parse_head(&mut conn.read, method).map_err(ExchangeError::Protocol)?
        {
            return Ok(head);
        }
    }
}

/// The response with its body streaming from `lease`; the backend's fields travel with the
/// body (see [`BackendBody::fields`]).
fn response(lease: Lease, head: ResponseHead) -> Response<BackendBody> {
    let ResponseHead {
        status,
        fields,
        framing,
        keep_alive,
    } = head;
    let mut response = Response::new(BackendBody::new(lease, framing, keep_alive, fields));
    *response.status_mut() = status;
    response
}
