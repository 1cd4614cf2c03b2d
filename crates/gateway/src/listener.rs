//! The data-plane listeners: plain HTTP (HTTP/1.1, or HTTP/2 with prior knowledge — h2c — when
//! the client opens with the HTTP/2 preface) and HTTPS (HTTP/2 when the client offers it
//! through ALPN, else HTTP/1.1), with keep-alive, each returning its bound address and a handle
//! for graceful shutdown.
//!
//! The listener tells the pipeline whether it terminates TLS; that decides which APIs it may
//! serve (`req_protocol`) and whether an AppCode counts as a credential.

use crate::body::Served;
use crate::drain::{Drain, Expired, SWEEP_INTERVAL};
use crate::meters::ListenerMeters;
use crate::pipeline::Conn;
use crate::tls::TlsSettings;
use crate::Gateway;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_rustls::TlsAcceptor;

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

/// Serves the data plane over HTTPS on `addr` (APIs with `req_protocol` HTTPS or BOTH), with
/// the certificate `tls` names (generated on first use for the self-signed variant).
pub async fn serve_https(
    addr: SocketAddr,
    tls: &TlsSettings,
    gateway: Gateway,
) -> io::Result<ServerHandle> {
    let acceptor = TlsAcceptor::from(tls.server_config()?);
    let listener = TcpListener::bind(addr).await?;
    serve(listener, Some(acceptor), gateway)
}

fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    gateway: Gateway,
) -> io::Result<ServerHandle> {
    let local_addr = listener.local_addr()?;
    let is_tls = tls.is_some();
    let (stop, mut stopped) = watch::channel(None);
    let meters = ListenerMeters::new(if is_tls { "https" } else { "http" });
    let task = tokio::spawn(async move {
        let drain = Drain::new(gateway.settings().client_header_timeout);
        let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
        sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let http = Arc::new(protocols());
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
                        let (gateway, tls, http, drain) =
                            (gateway.clone(), tls.clone(), Arc::clone(&http), drain.clone());
                        tokio::spawn(async move {
                            serve_connection(stream, conn, tls, gateway, &http, &drain).await;
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

/// The HTTP server of every connection: HTTP/1.1, or HTTP/2 when the connection opens with its
/// preface (h2c on the plain listener; on HTTPS the client sends it after ALPN chose `h2`).
fn protocols() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // No header read timer per request: `Drain` closes connections that stay without a
    // request in flight past the client header timeout, which covers slow request heads.
    builder
        .http1()
        .header_read_timeout(None::<Duration>)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_H2_HEADER_LIST);
    builder
}

async fn serve_connection(
    stream: TcpStream,
    conn: Conn,
    tls: Option<TlsAcceptor>,
    gateway: Gateway,
    http: &auto::Builder<TokioExecutor>,
    drain: &Drain,
) {
    let _ = stream.set_nodelay(true);
    let peer = conn.peer;
    let is_tls = conn.tls;
    let conn = Arc::new(conn);
    let activity = drain.activity();
    let requests = Arc::clone(&activity);
    let service = service_fn(move |request| {
        let in_flight = requests.request();
        let (gateway, conn) = (gateway.clone(), Arc::clone(&conn));
        async move {
            let response = gateway.serve(request, &conn).await;
            Ok::<_, Infallible>(response.map(|body| Served::new(body, in_flight)))
        }
    });
    let result = match tls {
        None => {
            drain
                .watch(
                    http.serve_connection(TokioIo::new(stream), service),
                    activity,
                )
                .await
        }
        Some(acceptor) => {
            let stream =
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(e)) => {
                        tracing::debug!(peer = %peer, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(peer = %peer, "TLS handshake timed out");
                        return;
                    }
                };
            drain
                .watch(
                    http.serve_connection(TokioIo::new(stream), service),
                    activity,
                )
                .await
        }
    };
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::debug!(peer = %peer, tls = is_tls, error = %e, "connection closed with an error");
        }
        Err(Expired) => {
            tracing::debug!(peer = %peer, tls = is_tls, "connection closed: no complete request within the client header timeout");
        }
    }
}
