//! The lifecycle of a listener's connections: graceful shutdown (every connection finishes the
//! request it is serving and closes, idle keep-alive connections close at once, and the
//! listener learns when the last one is gone), the client header timeout (a connection with
//! no request in flight for that long, be it idle between requests or trickling a request head
//! in, is closed) and the client send timeout (a connection whose client has not taken any of
//! the response for that long is dropped, and with it the backend connection it holds: over
//! HTTP/1.1 a write to the socket that stays blocked, over HTTP/2 also a stream whose response
//! waits for a flow-control window the client never grants).
//!
//! Exists because the ready-made mechanisms cost the hot path: hyper-util's `GracefulShutdown`
//! re-registers with a `tokio::sync::Notify` on every poll of every connection, and hyper's
//! header read timeout allocates and registers a new timer for every request (about 1,300
//! instructions a request, 5 % of a proxied one). Here a connection registers its task's waker
//! once; a poll costs two atomic loads; a request counts itself in and out of its connection's
//! [`Activity`] with a few atomic operations; and one sweep a second per listener, on a coarse
//! clock, finds the connections that have been idle too long.

use hyper_util::server::graceful::GracefulConnection;
use slab::Slab;
use std::collections::HashMap;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// The connections of one listener: its shutdown switch and idle watch, shared with them.
#[derive(Clone)]
pub(crate) struct Drain {
    shared: Arc<Shared>,
}

struct Shared {
    /// Set once, when shutdown starts.
    stopping: AtomicBool,
    /// The open connections: their task wakers (to wake them when shutdown starts or they
    /// expire) and activity.
    open: Mutex<HashMap<u64, Registered>>,
    next_id: AtomicU64,
    /// Notified when a connection closes while stopping.
    closed: Notify,
    /// The coarse clock: milliseconds since `started` at the last sweep.
    clock: AtomicU64,
    started: Instant,
    /// How long a connection may go without a request in flight, in milliseconds, plus one
    /// sweep interval: the clock a request stamps may be that much behind.
    idle_limit: u64,
    /// How long a write to the client may stay blocked, in milliseconds, plus one sweep
    /// interval.
    send_limit: u64,
}

struct Registered {
    waker: Waker,
    activity: Arc<Activity>,
}

/// What a connection is doing, as its requests report it.
pub(crate) struct Activity {
    /// Requests being served (HTTP/2 serves several at once).
    in_flight: AtomicU32,
    /// The coarse clock when the connection opened or its last request ended.
    idle_since: AtomicU64,
    /// The coarse clock when a write to the client found no room and is still waiting, or
    /// [`NOT_BLOCKED`].
    send_blocked_since: AtomicU64,
    /// [`OPEN`], [`ASKED_TO_CLOSE`], [`MUST_CLOSE`] or [`SEND_STALLED`].
    expiry: AtomicU8,
    /// The HTTP/2 responses in flight, each with the coarse clock since when it has been
    /// waiting for the client to take more of it, or [`NOT_BLOCKED`] (empty over HTTP/1.1).
    streams: Mutex<Slab<Arc<AtomicU64>>>,
    shared: Arc<Shared>,
}

/// The connection may stay.
const OPEN: u8 = 0;
/// Idle past the limit: it should close gracefully (an HTTP/1.1 connection between requests
/// closes at once, an HTTP/2 one says GOAWAY).
const ASKED_TO_CLOSE: u8 = 1;
/// Still idle a sweep later (say, in the middle of a request head): it is dropped.
const MUST_CLOSE: u8 = 2;
/// A write to the client blocked past the send timeout: it is dropped at once (a graceful
/// close would wait for that very write).
const SEND_STALLED: u8 = 3;
/// `send_blocked_since` when no write is waiting.
const NOT_BLOCKED: u64 = u64::MAX;

/// A request in flight on a connection; its drop (with the response body, or the request's
/// future if the client went away) marks the connection idle from then on.
pub(crate) struct InFlight(Arc<Activity>);

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InFlight")
    }
}

impl Activity {
    /// Whether the connection should close once it has no request in flight: shutdown has
    /// started, or it stayed idle past the client header timeout.
    pub fn asked_to_close(&self) -> bool {
        self.expiry.load(Ordering::Relaxed) != OPEN || self.shared.stopping.load(Ordering::Relaxed)
    }

    /// Counts a request in until the returned guard is dropped.
    pub fn request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }

    /// The coarse clock since when the HTTP/2 response waiting longest for the client has
    /// been waiting, if one is.
    fn oldest_stream_wait(&self) -> Option<u64> {
        lock(&self.streams)
            .iter()
            .map(|(_, since)| since.load(Ordering::Relaxed))
            .filter(|since| *since != NOT_BLOCKED)
            .min()
    }
}

/// An HTTP/2 response on its way to the client, for the client send timeout.
///
/// Exists because over HTTP/2 a client can stop taking a response without ever blocking a
/// write: it grants no flow-control window, and the server stops polling that stream's body
/// (which holds the backend connection) while its socket stays writable. The body reports
/// when it is polled and when it has handed a frame over; one that is not polled again within
/// the limit marks its connection stalled. A body waiting for its backend is being polled, so
/// a slow backend does not count (its timeout is the API's).
pub(crate) struct StreamSend {
    activity: Arc<Activity>,
    slot: usize,
    waiting_since: Arc<AtomicU64>,
}

impl StreamSend {
    /// The body is being polled: not waiting for the client.
    pub fn polled(&self) {
        self.waiting_since.store(NOT_BLOCKED, Ordering::Relaxed);
    }

    /// The body handed a frame over and waits for the server to take the next one, which it
    /// does once the client's window has room.
    pub fn handed_over(&self) {
        let now = self.activity.shared.clock.load(Ordering::Relaxed);
        self.waiting_since.store(now, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for StreamSend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamSend")
    }
}

impl Drop for StreamSend {
    fn drop(&mut self) {
        lock(&self.activity.streams).remove(self.slot);
    }
}

impl InFlight {
    /// Watches this request's HTTP/2 response from now, when its head is ready, until the
    /// returned record is dropped; it counts as waiting for the client until its body is
    /// first polled.
    pub fn stream(&self) -> StreamSend {
        let activity = &self.0;
        let now = activity.shared.clock.load(Ordering::Relaxed);
        let waiting_since = Arc::new(AtomicU64::new(now));
        let slot = lock(&activity.streams).insert(Arc::clone(&waiting_since));
        StreamSend {
            activity: Arc::clone(activity),
            slot,
            waiting_since,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        let now = activity.shared.clock.load(Ordering::Relaxed);
        activity.idle_since.store(now, Ordering::Relaxed);
        // Release: a sweep that sees no request in flight sees the new idle_since too.
        activity.in_flight.fetch_sub(1, Ordering::Release);
    }
}

/// Why a connection was dropped by its [`Drain`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Expired {
    /// No request in flight for longer than the client header timeout.
    Idle,
    /// The client took none of the response for longer than the client send timeout.
    SendStalled,
}

impl Drain {
    /// The connections of a listener that closes a connection after at least `idle_limit`
    /// without a request in flight (at most two [`SWEEP_INTERVAL`]s later), and drops one
    /// whose write to the client stayed blocked for at least `send_limit`, once
    /// [`sweep`](Self::sweep) runs every [`SWEEP_INTERVAL`].
    pub fn new(idle_limit: Duration, send_limit: Duration) -> Self {
        let millis = |limit: Duration| {
            u64::try_from(limit.saturating_add(SWEEP_INTERVAL).as_millis()).unwrap_or(u64::MAX)
        };
        Self {
            shared: Arc::new(Shared {
                stopping: AtomicBool::new(false),
                open: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(0),
                closed: Notify::new(),
                clock: AtomicU64::new(0),
                started: Instant::now(),
                idle_limit: millis(idle_limit),
                send_limit: millis(send_limit),
            }),
        }
    }

    /// The activity record of a new connection, idle from now on.
    pub fn activity(&self) -> Arc<Activity> {
        Arc::new(Activity {
            in_flight: AtomicU32::new(0),
            idle_since: AtomicU64::new(self.shared.clock.load(Ordering::Relaxed)),
            send_blocked_since: AtomicU64::new(NOT_BLOCKED),
            expiry: AtomicU8::new(OPEN),
            streams: Mutex::new(Slab::new()),
            shared: Arc::clone(&self.shared),
        })
    }

    /// Wraps `conn`, whose requests report to `activity`, so that it shuts down gracefully
    /// when [`shutdown`](Self::shutdown) starts and closes when it stays idle too long.
    pub fn watch<C: Graceful>(&self, conn: C, activity: Arc<Activity>) -> Drained<C> {
        Drained {
            conn: Box::pin(conn),
            shared: Arc::clone(&self.shared),
            activity,
            id: self.shared.next_id.fetch_add(1, Ordering::Relaxed),
            waker: None,
            signalled: false,
        }
    }

    /// Advances the coarse clock and wakes the connections idle past the limit (first to
    /// close gracefully, a sweep later, if still idle, to be dropped) and those whose client
    /// stopped taking the response (to be dropped).
    pub fn sweep(&self) {
        let shared = &self.shared;
        let now = u64::try_from(shared.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        shared.clock.store(now, Ordering::Relaxed);
        let stalled =
            |since: u64| since != NOT_BLOCKED && now.saturating_sub(since) >= shared.send_limit;
        for registered in lock(&shared.open).values() {
            let activity = &registered.activity;
            let blocked_since = activity.send_blocked_since.load(Ordering::Relaxed);
            if stalled(blocked_since) || activity.oldest_stream_wait().is_some_and(stalled) {
                activity.expiry.store(SEND_STALLED, Ordering::Relaxed);
                registered.waker.wake_by_ref();
                continue;
            }
            if activity.in_flight.load(Ordering::Acquire) != 0 {
                continue;
            }
            let idle_since = activity.idle_since.load(Ordering::Relaxed);
            if now.saturating_sub(idle_since) < shared.idle_limit {
                continue;
            }
            let next = match activity.expiry.load(Ordering::Relaxed) {
                OPEN => ASKED_TO_CLOSE,
                ASKED_TO_CLOSE => MUST_CLOSE,
                _ => continue,
            };
            activity.expiry.store(next, Ordering::Relaxed);
            registered.waker.wake_by_ref();
        }
    }

    /// Asks every connection to finish and waits until all are closed.
    pub async fn shutdown(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // The lock orders registration against this wake-up: a connection registered before
        // it is woken here; one that registers later reads `stopping` right after registering.
        for registered in lock(&self.shared.open).values() {
            registered.waker.wake_by_ref();
        }
        loop {
            let closed = self.shared.closed.notified();
            tokio::pin!(closed);
            closed.as_mut().enable();
            if lock(&self.shared.open).is_empty() {
                return;
            }
            closed.await;
        }
    }
}

/// How often a listener should call [`Drain::sweep`].
pub(crate) const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves only wakers or clock stamps behind: still usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A connection that can be asked to finish what it is doing and close.
///
/// Exists because hyper-util's `GracefulConnection` is sealed: the gateway's own HTTP/1.1
/// connections implement this one, hyper's HTTP/2 connections get it through theirs.
pub(crate) trait Graceful: Future {
    /// Starts closing: no new requests, the current ones finish.
    fn graceful_shutdown(self: Pin<&mut Self>);
}

impl<C: GracefulConnection> Graceful for C {
    fn graceful_shutdown(self: Pin<&mut Self>) {
        GracefulConnection::graceful_shutdown(self);
    }
}

/// A connection under a [`Drain`].
pub(crate) struct Drained<C> {
    conn: Pin<Box<C>>,
    shared: Arc<Shared>,
    activity: Arc<Activity>,
    id: u64,
    /// The waker registered in `shared.open` (the task's, which does not change in practice).
    waker: Option<Waker>,
    /// Whether the connection was told to shut down.
    signalled: bool,
}

impl<C: Graceful> Future for Drained<C> {
    /// The connection's own outcome, or [`Expired`] when it was dropped for idleness.
    type Output = Result<C::Output, Expired>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if !this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            let waker = cx.waker().clone();
            let registered = Registered {
                waker: waker.clone(),
                activity: Arc::clone(&this.activity),
            };
            lock(&this.shared.open).insert(this.id, registered);
            this.waker = Some(waker);
        }
        let expiry = this.activity.expiry.load(Ordering::Relaxed);
        if expiry == MUST_CLOSE {
            return Poll::Ready(Err(Expired::Idle));
        }
        if expiry == SEND_STALLED {
            return Poll::Ready(Err(Expired::SendStalled));
        }
        if !this.signalled
            && (expiry == ASKED_TO_CLOSE || this.shared.stopping.load(Ordering::SeqCst))
        {
            this.signalled = true;
            this.conn.as_mut().graceful_shutdown();
        }
        this.conn.as_mut().poll(cx).map(Ok)
    }
}

impl<C> Drop for Drained<C> {
    fn drop(&mut self) {
        if self.waker.is_some() {
            lock(&self.shared.open).remove(&self.id);
        }
        if self.shared.stopping.load(Ordering::SeqCst) {
            self.shared.closed.notify_waiters();
        }
    }
}

/// A client connection's writing side, which tells its [`Activity`] when a write finds no room
/// and when it goes through again, for the client send timeout. Writes that go through at once
/// (nearly all) touch no shared state.
pub(crate) struct SendWatch<W> {
    io: W,
    activity: Arc<Activity>,
    /// Whether `activity` holds this writer's blocked-since stamp.
    blocked: bool,
}

impl<W> SendWatch<W> {
    /// Watches the writes of `io`, a connection that reports to `activity`.
    pub fn new(io: W, activity: Arc<Activity>) -> Self {
        Self {
            io,
            activity,
            blocked: false,
        }
    }

    /// Notes whether the last write operation has to wait for the client.
    fn note<T>(&mut self, polled: Poll<T>) -> Poll<T> {
        match (&polled, self.blocked) {
            (Poll::Pending, false) => {
                let now = self.activity.shared.clock.load(Ordering::Relaxed);
                self.activity
                    .send_blocked_since
                    .store(now, Ordering::Relaxed);
                self.blocked = true;
            }
            (Poll::Ready(_), true) => {
                self.activity
                    .send_blocked_since
                    .store(NOT_BLOCKED, Ordering::Relaxed);
                self.blocked = false;
            }
            _ => {}
        }
        polled
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for SendWatch<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write(cx, buf);
        this.note(polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.note(polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_flush(cx);
        this.note(polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_shutdown(cx);
        this.note(polled)
    }
}

/// Reads pass through (HTTP/2 connections read and write through one watched value).
impl<W: AsyncRead + Unpin> AsyncRead for SendWatch<W> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}
