//! The data-plane listeners: plain HTTP (HTTP/1.1, or HTTP/2 with prior knowledge — h2c — when
//! the client opens with the HTTP/2 preface) and HTTPS (HTTP/2 when the client offers it
//! through ALPN, else HTTP/1.1), with keep-alive, each returning its bound address and a handle
//! for graceful shutdown. HTTP/1.x is served by the gateway's own [`server`](crate::server),
//! HTTP/2 by hyper.
//!
//! The listener tells the pipeline whether it terminates TLS; that decides which APIs it may
//! serve (`req_protocol`) and whether an AppCode counts as a credential.

use crate::body::{with_backend_fields, BoxError, CallerBody, Served};
use crate::drain::{Activity, Drain, Expired, SendWatch, SWEEP_INTERVAL};
use crate::meters::ListenerMeters;
use crate::pipeline::{Conn, SharedMemo};
use crate::server::{self, ReadIo, WriteIo};
use crate::tls::{Acceptor, ListenerCertificate};
use crate::Gateway;
use bytes::{Bytes, BytesMut};
use http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::convert::Infallible;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::either::Either;

/// Time a client has to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/2 header lists up to this size reach the pipeline, whose own limit (32 KiB) then gives
/// APIG's 494 answer instead of a stream reset.
const MAX_H2_HEADER_LIST: u32 = 64 * 1024;

/// A running listener.
///
/// Exists so the caller learns the bound address (port 0 in tests) and can stop the listener:
/// [`shutdown`](Self::shutdown) stops accepting, lets requests in flight finish, and returns.
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    stop: watch::Sender<Option<Duration>>,
    task: JoinHandle<()>,
}

impl ServerHandle {
    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections and waits up to `grace` for open ones to finish their
    /// current request; connections still busy after that are dropped.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(Some(grace));
        let _ = self.task.await;
    }
}

/// Serves the data plane over plain HTTP on `addr` (APIs with `req_protocol` HTTP or BOTH).
pub async fn serve_http(addr: SocketAddr, gateway: Gateway) -> io::Result<ServerHandle> {
    let listener = TcpListener::bind(addr).await?;
    serve(listener, None, gateway)
}

/// Serves the data plane over HTTPS on `addr` (APIs with `req_protocol` HTTPS or BOTH),
/// presenting `certificate` as it is at each handshake (see [`ListenerCertificate::reload`]).
pub async fn serve_https(
    addr: SocketAddr,
    certificate: &Arc<ListenerCertificate>,
    gateway: Gateway,
) -> io::Result<ServerHandle> {
    let acceptor = Acceptor::new(certificate)?;
    let listener = TcpListener::bind(addr).await?;
    serve(listener, Some(acceptor), gateway)
}

fn serve(
    listener: TcpListener,
    tls: Option<Acceptor>,
    gateway: Gateway,
) -> io::Result<ServerHandle> {
    let local_addr = listener.local_addr()?;
    let is_tls = tls.is_some();
    let (stop, mut stopped) = watch::channel(None);
    let meters = ListenerMeters::new(if is_tls { "https" } else { "http" });
    let task = tokio::spawn(async move {
        let settings = gateway.settings();
        let drain = Drain::new(settings.client_header_timeout, settings.client_send_timeout);
        let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
        sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let h2 = Arc::new(http2());
        let grace = loop {
            tokio::select! {
                _ = sweep.tick() => drain.sweep(),
                changed = stopped.changed() => {
                    break match changed {
                        Ok(()) => stopped.borrow().unwrap_or(Duration::ZERO),
                        Err(_) => Duration::ZERO,
                    };
                }
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let open = meters.accepted();
                        let conn = Conn::new(peer, tls.is_some());
                        let (gateway, tls, h2, drain) =
                            (gateway.clone(), tls.clone(), Arc::clone(&h2), drain.clone());
                        tokio::spawn(async move {
                            serve_connection(stream, conn, tls, gateway, &h2, &drain).await;
                            drop(open);
                        });
                    }
                    Err(e) => {
                        // Typically EMFILE: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        };
        drop(listener);
        if tokio::time::timeout(grace, drain.shutdown()).await.is_err() {
            tracing::info!(addr = %local_addr, "shutdown grace period over; dropping open connections");
        }
    });
    tracing::info!(addr = %local_addr, tls = is_tls, "data plane listening");
    Ok(ServerHandle {
        local_addr,
        stop,
        task,
    })
}

/// The HTTP/2 server of every connection that speaks it.
fn http2() -> http2::Builder<TokioExecutor> {
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_H2_HEADER_LIST);
    builder
}

/// How a connection ended: its own outcome, or dropped for idleness.
type Ended = Result<Result<(), BoxError>, Expired>;

async fn serve_connection(
    mut stream: TcpStream,
    mut conn: Conn,
    tls: Option<Acceptor>,
    gateway: Gateway,
    h2: &http2::Builder<TokioExecutor>,
    drain: &Drain,
) {
    let _ = stream.set_nodelay(true);
    let peer = conn.peer;
    let is_tls = conn.tls;
    let activity = drain.activity();
    let ended = match tls {
        None => {
            let conn = Arc::new(conn);
            // HTTP/2 with prior knowledge (h2c) opens with its preface; anything else is
            // HTTP/1.x. The first bytes count against the client header timeout.
            let mut first = BytesMut::with_capacity(server::READ_BUFFER);
            let timeout = gateway.settings().client_header_timeout;
            match tokio::time::timeout(timeout, server::sniff_h2(&mut stream, &mut first)).await {
                Ok(Ok(false)) => {
                    let (read, write) = stream.into_split();
                    let io = (Either::Left(read), Either::Left(write));
                    serve_h1(io, first, gateway, conn, activity, drain).await
                }
                Ok(Ok(true)) => {
                    let io = Rewound {
                        prefix: first.freeze(),
                        io: stream,
                    };
                    serve_h2(io, gateway, conn, activity, h2, drain).await
                }
                Ok(Err(_)) | Err(_) => return,
            }
        }
        Some(acceptor) => {
            let stream =
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok((stream, client_ca))) => {
                        conn.client_ca = client_ca;
                        stream
                    }
                    Ok(Err(e)) => {
                        tracing::debug!(peer = %peer, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(peer = %peer, "TLS handshake timed out");
                        return;
                    }
                };
            let conn = Arc::new(conn);
            if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                serve_h2(stream, gateway, conn, activity, h2, drain).await
            } else {
                let (read, write) = tokio::io::split(stream);
                let io = (Either::Right(read), Either::Right(write));
                let first = BytesMut::with_capacity(server::READ_BUFFER);
                serve_h1(io, first, gateway, conn, activity, drain).await
            }
        }
    };
    match ended {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::debug!(peer = %peer, tls = is_tls, error = %e, "connection closed with an error");
        }
        Err(Expired::Idle) => {
            tracing::debug!(peer = %peer, tls = is_tls, "connection closed: no complete request within the client header timeout");
        }
        Err(Expired::SendStalled) => {
            tracing::info!(peer = %peer, tls = is_tls, "connection dropped: the client took none of the response within the client send timeout");
        }
    }
}

/// Serves HTTP/1.x with the gateway's own server on a connection whose first bytes are in
/// `first`.
async fn serve_h1(
    io: (ReadIo, WriteIo),
    first: BytesMut,
    gateway: Gateway,
    conn: Arc<Conn>,
    activity: Arc<Activity>,
    drain: &Drain,
) -> Ended {
    let h1 = server::connection(io, first, gateway, conn, Arc::clone(&activity));
    drain.watch(h1, activity).await
}

/// Serves HTTP/2 on `io` with hyper, every request through the pipeline.
async fn serve_h2<I>(
    io: I,
    gateway: Gateway,
    conn: Arc<Conn>,
    activity: Arc<Activity>,
    h2: &http2::Builder<TokioExecutor>,
    drain: &Drain,
) -> Ended
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let requests = Arc::clone(&activity);
    let memo = SharedMemo::new();
    let service = service_fn(move |request: Request<Incoming>| {
        let in_flight = requests.request();
        let (gateway, conn) = (gateway.clone(), Arc::clone(&conn));
        // HTTP/2 serves requests side by side: each its own state (timer), the connection's
        // AppCode memo lent to one at a time.
        let mut state = memo.stream();
        async move {
            let request = request.map(CallerBody::Hyper);
            let response = gateway.serve(request, &conn, &mut state).await;
            drop(state);
            let response = with_backend_fields(response);
            let send = in_flight.stream();
            Ok::<_, Infallible>(response.map(|body| Served::new(body, in_flight, send)))
        }
    });
    let io = SendWatch::new(io, Arc::clone(&activity));
    let connection = h2.serve_connection(TokioIo::new(io), service);
    drain
        .watch(connection, activity)
        .await
        .map(|served| served.map_err(BoxError::from))
}

/// A connection whose first bytes were read already (to look for the HTTP/2 preface): they
/// are read again first.
struct Rewound {
    prefix: Bytes,
    io: TcpStream,
}

impl AsyncRead for Rewound {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.prefix.is_empty() {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        let n = this.prefix.len().min(buf.remaining());
        buf.put_slice(&this.prefix.split_to(n));
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Rewound {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
