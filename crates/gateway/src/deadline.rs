//! The API's backend timeout without a new timer per request.
//!
//! Exists because `tokio::time::timeout` builds a timer for every request: it looks up the
//! runtime's time driver, registers an entry in the timer wheel under the driver's lock on the
//! first poll and takes it out again, under the lock, when the request is done. An HTTP/1.1
//! connection serves one request at a time, so it keeps one timer ([`ExchangeTimer`]) and
//! moves its deadline for each request: a later deadline than the registered one is a single
//! atomic update (the wheel entry fires at the old time, sees the new one and goes back in
//! without waking anybody). Measured: 280 instructions fewer per proxied request
//! (`scripts/callgrind-gateway`, BENCHMARKS.md). The cost: a connection that goes idle is
//! woken once when its last deadline passes, and an HTTP/2 request, which gets a timer of its
//! own, allocates it.
//!
//! The API's timeout is the backend's time: while a streamed request body waits for the
//! caller's next bytes, the deadline moves on by that wait ([`BodyWatch`]), so a slow upload
//! to a quick backend is not a 504; the caller's own pace is bounded by the client body
//! timeout instead (408, see [`LimitedBody`](crate::body::LimitedBody)).

use crate::body::BodyWatch;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::time::Sleep;

/// A connection's timer for backend exchanges, made on first use and re-armed afterwards
/// (none yet by default).
#[derive(Default)]
pub(crate) struct ExchangeTimer(Option<Pin<Box<Sleep>>>);

impl ExchangeTimer {
    /// `work`, given up at `deadline` (`None` then), moved on by the time spent waiting for
    /// the caller's body when `caller` watches one. Always inlined into its one caller, the
    /// request path.
    #[inline(always)]
    pub fn bound<'t, F: Future + Unpin>(
        &'t mut self,
        deadline: Instant,
        work: F,
        caller: Option<&'t BodyWatch>,
    ) -> Bounded<'t, F> {
        let at = tokio::time::Instant::from_std(deadline);
        let sleep = match &mut self.0 {
            Some(sleep) => {
                sleep.as_mut().reset(at);
                sleep
            }
            none => none.insert(Box::pin(tokio::time::sleep_until(at))),
        };
        Bounded {
            work,
            sleep: sleep.as_mut(),
            deadline,
            caller,
            credited: Duration::ZERO,
        }
    }
}

/// Work with a deadline: its output, or `None` once the deadline passed first.
pub(crate) struct Bounded<'t, F> {
    work: F,
    sleep: Pin<&'t mut Sleep>,
    deadline: Instant,
    caller: Option<&'t BodyWatch>,
    /// The caller's waits the deadline has already been moved by.
    credited: Duration,
}

impl<F> Bounded<'_, F> {
    /// At the deadline: moves it on by the caller's waits not yet credited; whether that
    /// leaves the backend time still (else the timeout has passed).
    fn credit_caller_waits(&mut self) -> bool {
        let Some(caller) = self.caller else {
            return false;
        };
        let now = Instant::now();
        let waited = caller.caller_wait(now);
        let extra = waited.saturating_sub(self.credited);
        self.credited = waited;
        self.deadline += extra;
        if self.deadline <= now {
            return false;
        }
        let deadline = tokio::time::Instant::from_std(self.deadline);
        self.sleep.as_mut().reset(deadline);
        true
    }
}

impl<F: Future + Unpin> Future for Bounded<'_, F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Poll::Ready(output) = Pin::new(&mut this.work).poll(cx) {
            return Poll::Ready(Some(output));
        }
        loop {
            match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) if this.credit_caller_waits() => {}
                Poll::Ready(()) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn work_that_finishes_in_time_wins_and_late_work_is_given_up() {
        let mut timer = ExchangeTimer::default();
        let soon = Instant::now() + Duration::from_millis(200);
        let quick = Box::pin(async { 7 });
        assert_eq!(timer.bound(soon, quick, None).await, Some(7));
        // The same timer, re-armed for a later deadline, then for an earlier one.
        for wait in [Duration::from_millis(300), Duration::from_millis(50)] {
            let started = Instant::now();
            let slow = Box::pin(tokio::time::sleep(Duration::from_secs(5)));
            assert_eq!(timer.bound(started + wait, slow, None).await, None);
            let took = started.elapsed();
            assert!(took >= wait && took < Duration::from_secs(2), "{took:?}");
        }
        // And again in time after having fired.
        let later = Instant::now() + Duration::from_millis(500);
        let quick = Box::pin(async { 8 });
        assert_eq!(timer.bound(later, quick, None).await, Some(8));
    }
}
