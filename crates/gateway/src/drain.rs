//! Graceful shutdown of a listener's connections: when it starts, every connection finishes the
//! request it is serving and closes, idle keep-alive connections close at once, and the listener
//! learns when the last one is gone.
//!
//! Exists because the ready-made watcher (hyper-util's `GracefulShutdown`) re-registers with a
//! `tokio::sync::Notify` on every poll of every connection, a few hundred instructions per
//! request on the data plane's hot path. Here a connection registers its task's waker once and
//! each poll costs one atomic load.

use hyper_util::server::graceful::GracefulConnection;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use tokio::sync::Notify;

/// The shutdown switch of one listener, shared with its connections.
#[derive(Clone, Default)]
pub(crate) struct Drain {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// Set once, when shutdown starts.
    stopping: AtomicBool,
    /// The open connections' task wakers, to wake idle ones when shutdown starts.
    open: Mutex<HashMap<u64, Waker>>,
    next_id: AtomicU64,
    /// Notified when a connection closes while stopping.
    closed: Notify,
}

impl Drain {
    /// Wraps `conn` so that it shuts down gracefully when [`shutdown`](Self::shutdown) starts.
    pub fn watch<C: GracefulConnection>(&self, conn: C) -> Drained<C> {
        Drained {
            conn: Box::pin(conn),
            shared: Arc::clone(&self.shared),
            id: self.shared.next_id.fetch_add(1, Ordering::Relaxed),
            waker: None,
            signalled: false,
        }
    }

    /// Asks every connection to finish and waits until all are closed.
    pub async fn shutdown(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // The lock orders registration against this wake-up: a connection registered before
        // it is woken here; one that registers later reads `stopping` right after registering.
        for waker in lock(&self.shared.open).values() {
            waker.wake_by_ref();
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

fn lock(open: &Mutex<HashMap<u64, Waker>>) -> std::sync::MutexGuard<'_, HashMap<u64, Waker>> {
    // A panic while holding the lock leaves only a map of wakers behind: still usable.
    open.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A connection under a [`Drain`].
pub(crate) struct Drained<C> {
    conn: Pin<Box<C>>,
    shared: Arc<Shared>,
    id: u64,
    /// The waker registered in `shared.open` (the task's, which does not change in practice).
    waker: Option<Waker>,
    /// Whether the connection was told to shut down.
    signalled: bool,
}

impl<C: GracefulConnection> Future for Drained<C> {
    type Output = C::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C::Output> {
        let this = &mut *self;
        if !this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            let waker = cx.waker().clone();
            lock(&this.shared.open).insert(this.id, waker.clone());
            this.waker = Some(waker);
        }
        if !this.signalled && this.shared.stopping.load(Ordering::SeqCst) {
            this.signalled = true;
            this.conn.as_mut().graceful_shutdown();
        }
        this.conn.as_mut().poll(cx)
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
