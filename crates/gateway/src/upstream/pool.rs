//! Keep-alive connections to backends: one open connection (TCP or TLS) with its read buffer
//! ([`Conn`]), and the idle ones kept per backend ([`Pool`]).
//!
//! A connection is lent to one exchange at a time ([`Lease`]) and comes back only when its
//! response was read to the end with keep-alive allowed. Before an idle connection is lent
//! again, its readiness is checked without a system call in the usual case: a backend that
//! closed it (or sent bytes nobody asked for) has made it readable, and it is dropped.

use bytes::BytesMut;
use http::uri::{Authority, Scheme};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// An idle connection older than this is closed rather than reused (backends commonly close
/// theirs after 60–75 s).
const IDLE_TIMEOUT: Duration = Duration::from_secs(55);
/// Idle connections kept per backend; more are closed when they come back.
const MAX_IDLE_PER_BACKEND: usize = 256;
/// How often a return to the pool also closes expired connections of every backend.
const SWEEP_INTERVAL: Duration = Duration::from_secs(30);
/// Read buffer size of a new connection.
pub(super) const READ_BUFFER: usize = 8 * 1024;

/// The byte stream of a backend connection.
#[derive(Debug)]
pub(super) enum BackendIo {
    /// Plain TCP (`http` backends).
    Plain(TcpStream),
    /// TLS over TCP (`https` backends).
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for BackendIo {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for BackendIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    #[inline]
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            Self::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// One open backend connection with the buffers it keeps between exchanges.
#[derive(Debug)]
pub(super) struct Conn {
    pub io: BackendIo,
    /// Bytes read from the backend and not consumed yet.
    pub read: BytesMut,
    /// The request head being written (kept for its capacity).
    pub write: Vec<u8>,
    /// When the connection was opened or last lent: its idle time counts from then, so an
    /// exchange's own duration counts as idle too (which only retires it sooner), and no clock
    /// is read when it comes back.
    last_used: Instant,
}

impl Conn {
    pub fn new(io: BackendIo) -> Self {
        Self {
            io,
            read: BytesMut::with_capacity(READ_BUFFER),
            write: Vec::with_capacity(1024),
            last_used: Instant::now(),
        }
    }

    /// Whether an idle connection can carry another exchange: nothing arrived on it while it
    /// was idle (no close, no stray bytes). Without pending readiness this is a flag check;
    /// the read it may do never waits.
    fn is_open(&mut self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        let mut probe = [0u8; 8];
        let mut buf = ReadBuf::new(&mut probe);
        matches!(
            Pin::new(&mut self.io).poll_read(&mut cx, &mut buf),
            Poll::Pending
        )
    }
}

/// Which connections may serve a backend: scheme and authority (host and port), as a small
/// number given out once per distinct backend.
///
/// Exists so that the per-request pool lookup hashes and copies one integer instead of the
/// authority text (and its reference count); the snapshot computes it when an API is indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PoolKey(u64);

impl PoolKey {
    /// The key of `scheme://authority` reached with TLS server name `tls_name` (if not the
    /// authority's host); equal for equal backends (compared without regard to case),
    /// distinct otherwise, for the life of the process.
    pub fn new(scheme: &Scheme, authority: &Authority, tls_name: Option<&str>) -> Self {
        /// TLS or not, the authority, the TLS server name.
        type Backend = (bool, String, String);
        static KEYS: LazyLock<Mutex<HashMap<Backend, u64>>> = LazyLock::new(Default::default);
        let backend = (
            *scheme == Scheme::HTTPS,
            authority.as_str().to_ascii_lowercase(),
            tls_name.unwrap_or_default().to_ascii_lowercase(),
        );
        let mut keys = KEYS.lock().unwrap_or_else(PoisonError::into_inner);
        let next = keys.len() as u64;
        Self(*keys.entry(backend).or_insert(next))
    }
}

/// Hashes a [`PoolKey`] as itself: keys are small distinct integers, not caller input.
#[derive(Debug, Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        // Spread over the high bits too: hashbrown takes its control byte from the top 7.
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// The idle connections of every backend (cheap to clone; clones share them).
#[derive(Debug, Clone)]
pub(super) struct Pool {
    inner: Arc<Mutex<Idle>>,
}

#[derive(Debug)]
struct Idle {
    by_backend: HashMap<PoolKey, Vec<Conn>, BuildHasherDefault<KeyHasher>>,
    swept: Instant,
}

impl Default for Pool {
    fn default() -> Self {
        Self {
            inner: Arc::new(Mutex::new(Idle {
                by_backend: HashMap::default(),
                swept: Instant::now(),
            })),
        }
    }
}

impl Pool {
    /// The most recently returned open connection for `key`, if any (stale ones are closed on
    /// the way); `now` is the exchange's start.
    pub fn checkout(&self, key: PoolKey, now: Instant) -> Option<Lease> {
        loop {
            let mut conn = {
                let mut idle = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
                idle.by_backend.get_mut(&key)?.pop()?
            };
            if now.saturating_duration_since(conn.last_used) < IDLE_TIMEOUT && conn.is_open() {
                conn.last_used = now;
                return Some(Lease {
                    conn,
                    pool: self.clone(),
                    key,
                });
            }
        }
    }

    /// Lends a new connection; it joins the pool when released.
    pub fn lease(&self, key: PoolKey, conn: Conn) -> Lease {
        Lease {
            conn,
            pool: self.clone(),
            key,
        }
    }

    fn put(&self, key: PoolKey, conn: Conn) {
        // The time it was lent stands in for the present (see `Conn::last_used`).
        let now = conn.last_used;
        let mut expired = Vec::new();
        {
            let mut idle = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            if now.saturating_duration_since(idle.swept) >= SWEEP_INTERVAL {
                idle.swept = now;
                for conns in idle.by_backend.values_mut() {
                    let fresh = conns
                        .iter()
                        .position(|c| now.saturating_duration_since(c.last_used) < IDLE_TIMEOUT)
                        .unwrap_or(conns.len());
                    expired.extend(conns.drain(..fresh));
                }
                idle.by_backend.retain(|_, conns| !conns.is_empty());
            }
            let conns = idle.by_backend.entry(key).or_default();
            if conns.len() < MAX_IDLE_PER_BACKEND {
                conns.push(conn);
            } else {
                expired.push(conn);
            }
        }
        // Closed outside the lock.
        drop(expired);
    }

    /// Idle connections across all backends (for tests).
    #[cfg(test)]
    pub fn idle_count(&self) -> usize {
        let idle = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        idle.by_backend.values().map(Vec::len).sum()
    }
}

/// A connection lent to one exchange.
#[derive(Debug)]
pub(super) struct Lease {
    pub conn: Conn,
    pool: Pool,
    key: PoolKey,
}

impl Lease {
    /// Returns the connection to the pool: its exchange is complete and the backend allows
    /// another. Anything left unread means the framing went wrong, and the connection closes.
    pub fn release(self) {
        if self.conn.read.is_empty() {
            self.pool.put(self.key, self.conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    async fn pair() -> (Conn, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (Conn::new(BackendIo::Plain(client)), server)
    }

    fn key() -> PoolKey {
        PoolKey::new(&Scheme::HTTP, &"127.0.0.1:1".parse().unwrap(), None)
    }

    #[test]
    fn pool_keys_are_equal_exactly_for_the_same_backend() {
        let key = |scheme: &Scheme, authority: &str| {
            PoolKey::new(scheme, &authority.parse().unwrap(), None)
        };
        let base = key(&Scheme::HTTP, "backend.example:80");
        assert_eq!(key(&Scheme::HTTP, "Backend.Example:80"), base);
        for other in [
            key(&Scheme::HTTPS, "backend.example:80"),
            key(&Scheme::HTTP, "backend.example:81"),
            key(&Scheme::HTTP, "other.example:80"),
        ] {
            assert_ne!(other, base);
        }
    }

    #[tokio::test]
    async fn open_connections_are_reused_and_closed_ones_dropped() {
        let pool = Pool::default();
        let (conn, server) = pair().await;
        pool.lease(key(), conn).release();
        assert_eq!(pool.idle_count(), 1);
        let lease = pool
            .checkout(key(), Instant::now())
            .expect("an open idle connection is lent again");
        lease.release();

        // The backend closes it while idle: the next checkout finds nothing.
        drop(server);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(pool.checkout(key(), Instant::now()).is_none());
        assert_eq!(pool.idle_count(), 0);
    }

    #[tokio::test]
    async fn stray_bytes_or_unread_leftovers_retire_a_connection() {
        let pool = Pool::default();
        let (conn, mut server) = pair().await;
        pool.lease(key(), conn).release();
        server.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            pool.checkout(key(), Instant::now()).is_none(),
            "unsolicited bytes"
        );

        let (mut conn, _server) = pair().await;
        conn.read.extend_from_slice(b"leftover");
        pool.lease(key(), conn).release();
        assert_eq!(pool.idle_count(), 0);
    }
}
