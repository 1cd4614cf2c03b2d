//! The backend client of gRPC APIs: HTTP/2, in cleartext with prior knowledge (`GRPC`) or
//! negotiated by ALPN over TLS (`GRPCS`), one multiplexed connection per backend address.
//!
//! Why hyper's HTTP/2 client here, when HTTP/1.1 backends have a client of the gateway's own
//! (see [`super`]): an HTTP/2 connection carries many calls at once, so it must be driven by a
//! task of its own rather than by any one call's task, which is what hyper's connection task
//! does; and gRPC needs what only HTTP/2 framing carries (trailers, both directions streaming
//! at once). The per-call cost the HTTP/1.1 client saves does not apply to a connection that
//! is shared anyway.
//!
//! A connection is opened on the first call to its backend and kept while it works; a call
//! that finds it closed (the backend went away, or sent `GOAWAY`) opens a new one, and a call
//! that hyper hands back unsent is sent once more on it. The API's `retry_count` applies to
//! connections that cannot be opened (a call once sent is never sent again).

use super::{open_stream, BackendBody, BackendIo, BackendRequest, ExchangeError};
use crate::balancer::Endpoint;
use crate::body::UpstreamBody;
use crate::snapshot::BackendEntry;
use crate::upstream::PoolKey;
use http::header::{HeaderValue, TE};
use http::{Request, Response, Uri, Version};
use hyper::client::conn::http2::{self, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::collections::HashMap;
use std::io;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio_rustls::TlsConnector;

/// How often an idle connection is pinged, so that a backend gone silent is noticed.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// The HTTP/2 connections to gRPC backends, one per backend address (shared by every call).
pub(super) struct Http2Clients {
    /// TLS offering only `h2` (gRPC is HTTP/2 or nothing).
    tls: TlsConnector,
    conns: Mutex<HashMap<PoolKey, SendRequest<UpstreamBody>>>,
}

impl std::fmt::Debug for Http2Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let open = self.conns.lock().map_or(0, |c| c.len());
        f.debug_struct("Http2Clients")
            .field("connections", &open)
            .finish()
    }
}

impl Http2Clients {
    pub fn new(tls: TlsConnector) -> Self {
        Self {
            tls,
            conns: Mutex::default(),
        }
    }

    /// Sends `request` to the gRPC backend and waits for the response head; the body (and
    /// its trailers) stream afterwards.
    pub async fn exchange(
        &self,
        backend: &BackendEntry,
        endpoint: &Endpoint,
        request: BackendRequest,
    ) -> Result<Response<BackendBody>, ExchangeError> {
        let mut retries_left = backend.retries.allowed(&request.method);
        let mut request = http2_request(endpoint, request)?;
        let mut endpoint = endpoint;
        let mut fresh = false;
        loop {
            let mut sender = match self.open_connection(endpoint.pool_key) {
                Some(sender) => sender,
                None => {
                    fresh = true;
                    match self.connect(endpoint).await {
                        Ok(sender) => sender,
                        // The API's `retry_count`: a connection that could not be opened.
                        Err(e) if retries_left > 0 => {
                            retries_left -= 1;
                            tracing::debug!(error = %e, retries_left, "retrying the backend");
                            endpoint = backend.retry_server(endpoint);
                            // Another of a channel's servers: `:authority` names it.
                            *request.uri_mut() = aimed_at(request.uri(), endpoint)?;
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                }
            };
            match sender.try_send_request(request).await {
                Ok(response) => {
                    let (mut parts, body) = response.into_parts();
                    // The gateway's own request id goes on every response.
                    parts.headers.remove(crate::proxy::REQUEST_ID_HEADER);
                    return Ok(Response::from_parts(parts, BackendBody::http2(body)));
                }
                Err(mut failed) => match failed.take_message() {
                    // Not sent: the connection was closing. Once more on a new one.
                    Some(unsent) if !fresh => {
                        tracing::debug!(error = %failed.error(), "HTTP/2 backend connection closed; sending on a new one");
                        self.forget_closed(endpoint.pool_key);
                        request = unsent;
                    }
                    _ => {
                        self.forget_closed(endpoint.pool_key);
                        return Err(ExchangeError::Http2(failed.into_error()));
                    }
                },
            }
        }
    }

    /// The working connection to the backend with `key`, if there is one.
    fn open_connection(&self, key: PoolKey) -> Option<SendRequest<UpstreamBody>> {
        let mut conns = self.conns.lock().unwrap_or_else(PoisonError::into_inner);
        match conns.get(&key) {
            Some(sender) if !sender.is_closed() => Some(sender.clone()),
            Some(_) => {
                conns.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Drops the backend's connection from the map once it is closed (a failure of one call
    /// alone leaves a working connection in place, as does a newer connection).
    fn forget_closed(&self, key: PoolKey) {
        let mut conns = self.conns.lock().unwrap_or_else(PoisonError::into_inner);
        if conns.get(&key).is_some_and(SendRequest::is_closed) {
            conns.remove(&key);
        }
    }

    /// Opens a connection (TCP, TLS with ALPN `h2` for `GRPCS`), hands it to a task of its
    /// own and keeps it for the calls that follow.
    async fn connect(
        &self,
        endpoint: &Endpoint,
    ) -> Result<SendRequest<UpstreamBody>, ExchangeError> {
        let io = Box::pin(open_stream(&self.tls, endpoint)).await?;
        if let BackendIo::Tls(tls) = &io {
            if tls.get_ref().1.alpn_protocol() != Some(b"h2") {
                return Err(ExchangeError::Connect(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the backend did not agree to HTTP/2 (ALPN h2)",
                )));
            }
        }
        let (sender, connection) = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .keep_alive_interval(KEEP_ALIVE_INTERVAL)
            .handshake(TokioIo::new(io))
            .await
            .map_err(ExchangeError::Http2)?;
        let authority = endpoint.authority.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(backend = %authority, error = %e, "HTTP/2 backend connection ended");
            }
        });
        crate::meters::upstream_connected();
        self.conns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(endpoint.pool_key, sender.clone());
        Ok(sender)
    }
}

/// The HTTP/2 request for a gRPC backend: the backend's authority, the call's path, the
/// caller's fields with the gateway's `X-Request-Id` and `X-Forwarded-For` (HTTP/2 carries the
/// host as `:authority`, not `Host`) and `TE: trailers`, which gRPC servers require.
/// `uri` (a request's target) sent to `endpoint`: its scheme and authority, the same path.
fn aimed_at(uri: &Uri, endpoint: &Endpoint) -> Result<Uri, ExchangeError> {
    let mut parts = uri.clone().into_parts();
    parts.scheme = Some(endpoint.scheme.clone());
    parts.authority = Some(endpoint.authority.clone());
    Uri::from_parts(parts)
        .map_err(|e| ExchangeError::Connect(io::Error::new(io::ErrorKind::InvalidInput, e)))
}

fn http2_request(
    endpoint: &Endpoint,
    request: BackendRequest,
) -> Result<Request<UpstreamBody>, ExchangeError> {
    let BackendRequest {
        method,
        target,
        mut headers,
        gateway,
        body,
    } = request;
    let uri = Uri::builder()
        .scheme(endpoint.scheme.clone())
        .authority(endpoint.authority.clone())
        .path_and_query(target)
        .build()
        .map_err(|e| ExchangeError::Connect(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    headers.remove(http::header::HOST);
    headers.insert(crate::proxy::REQUEST_ID_HEADER, gateway.request_id);
    headers.insert(crate::proxy::FORWARDED_FOR, gateway.forwarded_for);
    headers.insert(TE, HeaderValue::from_static("trailers"));
    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_2;
    *request.headers_mut() = headers;
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::GatewayFields;
    use http::{HeaderMap, Method};

    #[test]
    fn a_grpc_request_names_the_backend_as_authority_and_asks_for_trailers() {
        let endpoint = Endpoint::new(http::uri::Scheme::HTTP, "127.0.0.1", 50051, None).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("gateway.example"));
        headers.insert("x-request-id", HeaderValue::from_static("the-callers"));
        headers.insert("content-type", HeaderValue::from_static("application/grpc"));
        let request = BackendRequest {
            method: Method::POST,
            target: "/pkg.Svc/Method".into(),
            headers,
            gateway: GatewayFields {
                host: HeaderValue::from_static("127.0.0.1:50051"),
                request_id: HeaderValue::from_static("the-gateways"),
                forwarded_for: HeaderValue::from_static("10.0.0.1"),
            },
            body: UpstreamBody::buffered(bytes::Bytes::from_static(b"\0\0\0\0\0")),
        };
        let request = http2_request(&endpoint, request).unwrap();
        assert_eq!(request.uri(), "http://127.0.0.1:50051/pkg.Svc/Method");
        assert_eq!(request.version(), Version::HTTP_2);
        let h = request.headers();
        assert!(
            h.get("host").is_none(),
            "HTTP/2 carries the host as :authority"
        );
        assert_eq!(h["te"], "trailers");
        assert_eq!(h["x-request-id"], "the-gateways");
        assert_eq!(h["x-forwarded-for"], "10.0.0.1");
        assert_eq!(h["content-type"], "application/grpc");
        // A retry on another of a channel's servers names that one.
        let other = Endpoint::new(http::uri::Scheme::HTTPS, "10.0.0.2", 50052, None).unwrap();
        let retried = aimed_at(request.uri(), &other).unwrap();
        assert_eq!(retried, "https://10.0.0.2:50052/pkg.Svc/Method");
    }
}
