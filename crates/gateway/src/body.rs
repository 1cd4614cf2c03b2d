//! The body types of the proxy: what the caller sends (`CallerBody`), what goes to the backend
//! (`UpstreamBody`) and what goes back to the caller ([`GatewayBody`]).
//!
//! Both are enums rather than boxed trait objects, so forwarding a body costs no allocation:
//! either a buffered `Bytes` (error responses, bodies read for a signature check) or the
//! connection's own stream passed through.

use crate::config::{GatewaySettings, InstanceFeatures};
use crate::errors;
pub use crate::upstream::BackendBody;
use apigw_domain::ApiError;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};
use tokio::time::Sleep;

/// The error type of both bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A response body sent by the gateway: a buffered error document or the backend's stream.
///
/// Exists as the single response type of [`Gateway::handle`](crate::Gateway::handle).
#[derive(Debug)]
pub enum GatewayBody {
    /// A complete body (taken on the first poll).
    Full(Option<Bytes>),
    /// The backend's response body, streamed.
    Upstream(BackendBody),
}

impl GatewayBody {
    /// A complete body.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        Self::Full((!bytes.is_empty()).then_some(bytes))
    }
}

impl Body for GatewayBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            Self::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Self::Upstream(inner) => Pin::new(inner).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Full(bytes) => bytes.is_none(),
            Self::Upstream(inner) => inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Self::Upstream(inner) => inner.size_hint(),
        }
    }
}

/// Moves a backend response's fields into the response's `HeaderMap`, for servers that need
/// them there (hyper's HTTP/2, embedders of [`Gateway::handle`](crate::Gateway::handle)); the
/// gateway's own HTTP/1.1 server writes them as received instead.
pub(crate) fn with_backend_fields(
    response: http::Response<GatewayBody>,
) -> http::Response<GatewayBody> {
    let (mut parts, mut body) = response.into_parts();
    if let GatewayBody::Upstream(upstream) = &mut body {
        upstream.take_fields().append_to(&mut parts.headers);
    }
    http::Response::from_parts(parts, body)
}

/// An HTTP/2 response body on its way to the client, holding its request's place on the
/// connection until it has been sent (or dropped): the connection counts as idle only
/// afterwards, and is dropped if the client stops taking this response (the client send
/// timeout, see [`StreamSend`](crate::drain::StreamSend)).
#[derive(Debug)]
pub(crate) struct Served {
    body: GatewayBody,
    send: crate::drain::StreamSend,
    _in_flight: crate::drain::InFlight,
}

impl Served {
    pub fn new(
        body: GatewayBody,
        in_flight: crate::drain::InFlight,
        send: crate::drain::StreamSend,
    ) -> Self {
        Self {
            body,
            send,
            _in_flight: in_flight,
        }
    }
}

impl Body for Served {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        this.send.polled();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(_))) = &polled {
            this.send.handed_over();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The caller's request body, as the connection it arrived on delivers it.
#[derive(Debug)]
pub(crate) enum CallerBody {
    /// No body (no `Content-Length` or zero, no transfer coding).
    Empty,
    /// Read from an HTTP/1.1 connection of the gateway's own server.
    Http1(crate::server::ConnBody),
    /// Delivered by hyper (HTTP/2, or a request handed to [`Gateway::handle`](crate::Gateway::handle)).
    Hyper(Incoming),
    /// Given whole (a debugging call, [`Gateway::debug`](crate::Gateway::debug)); taken on the
    /// first poll.
    Whole(Option<Bytes>),
}

impl Body for CallerBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            Self::Empty => Poll::Ready(None),
            Self::Http1(inner) => Pin::new(inner).poll_frame(cx),
            Self::Hyper(inner) => Pin::new(inner)
                .poll_frame(cx)
                .map_err(|e| Box::new(e) as BoxError),
            Self::Whole(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Empty => true,
            Self::Http1(inner) => inner.is_end_stream(),
            Self::Hyper(inner) => inner.is_end_stream(),
            Self::Whole(bytes) => bytes.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Empty => SizeHint::with_exact(0),
            Self::Http1(inner) => inner.size_hint(),
            Self::Hyper(inner) => inner.size_hint(),
            Self::Whole(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
        }
    }
}

/// The request body sent to the backend.
#[derive(Debug)]
pub(crate) enum UpstreamBody {
    /// Read completely already (the signature covered it).
    Buffered(Option<Bytes>),
    /// The caller's stream, cut off past the size limit.
    Streaming(LimitedBody),
}

impl UpstreamBody {
    pub fn buffered(bytes: Bytes) -> Self {
        Self::Buffered((!bytes.is_empty()).then_some(bytes))
    }

    /// The whole body (a signature key hashes it): a buffered one as it is, a stream read to
    /// its end within its limits (`watch` tells why it failed: 413, 408, else 400).
    pub async fn read_whole(self, watch: Option<&BodyWatch>) -> Result<Bytes, ApiError> {
        match self {
            Self::Buffered(bytes) => Ok(bytes.unwrap_or_default()),
            Self::Streaming(body) => match body.collect().await {
                Ok(collected) => Ok(collected.to_bytes()),
                Err(_) => Err(watch.map_or_else(errors::bad_request, BodyWatch::refusal)),
            },
        }
    }

    /// Whether the body can be sent a second time (a retry on a new backend connection):
    /// buffered, or a stream that holds nothing.
    pub fn is_replayable(&self) -> bool {
        match self {
            Self::Buffered(_) => true,
            Self::Streaming(inner) => inner.inner.is_end_stream(),
        }
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            Self::Buffered(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Self::Streaming(inner) => Pin::new(inner).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Buffered(bytes) => bytes.is_none(),
            Self::Streaming(inner) => inner.inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Buffered(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Self::Streaming(inner) => inner.inner.size_hint(),
        }
    }
}

/// The caller's body on its way through the gateway, with a byte limit and a pace: past the
/// limit the stream fails (413), and so it does when the caller sends nothing for the client
/// body timeout (408). What happened is left in the shared [`BodyWatch`].
#[derive(Debug)]
pub(crate) struct LimitedBody {
    inner: CallerBody,
    budget: Budget,
    watch: Arc<BodyWatch>,
    /// How long the caller may leave the gateway waiting for the next bytes.
    idle: Duration,
    /// Armed while the caller is waited on (made at the first wait, re-armed after).
    stall: Option<Pin<Box<Sleep>>>,
}

/// How large a caller's body may be and how long the caller may stall while sending it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    /// The most bytes a body may hold (or each gRPC message, with `per_grpc_message`).
    pub max_bytes: u64,
    /// How long the caller may leave the gateway waiting for the next bytes.
    pub idle: Duration,
    /// A streamed body is a gRPC call's messages and `max_bytes` limits each of them, as
    /// gRPC's own message size limit does: a long client stream is not one large body.
    pub per_grpc_message: bool,
}

impl BodyLimits {
    /// The node's limits, with the instance's own body size (`request_body_size`) where it
    /// configured one.
    pub fn of(settings: &GatewaySettings, features: &InstanceFeatures) -> Self {
        Self {
            max_bytes: features.max_body_bytes.unwrap_or(settings.max_body_bytes),
            idle: settings.client_body_timeout,
            per_grpc_message: false,
        }
    }
}

/// What the size limit holds a body to.
#[derive(Debug)]
enum Budget {
    /// The whole body: the bytes it may still hold.
    Whole { remaining: u64 },
    /// Each gRPC message, at most `max` bytes.
    PerMessage { max: u64, at: GrpcMessages },
}

impl Budget {
    /// Takes `data` out of the budget; `false` past the limit.
    fn take(&mut self, data: &[u8]) -> bool {
        match self {
            Self::Whole { remaining } => match remaining.checked_sub(data.len() as u64) {
                Some(rest) => {
                    *remaining = rest;
                    true
                }
                None => false,
            },
            Self::PerMessage { max, at } => at.accept(data, *max),
        }
    }
}

/// Where a gRPC request stream is in its length-prefixed messages (1 byte compression flag,
/// 4 bytes big-endian length, the message), to hold each message to the size limit as its
/// prefix arrives, whatever the HTTP/2 DATA frames cut it into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GrpcMessages {
    /// Within a prefix: its bytes so far.
    Prefix { have: u8, length: [u8; 4] },
    /// Within a message: the bytes still to come.
    Message { left: u64 },
}

impl GrpcMessages {
    const START: Self = Self::Prefix {
        have: 0,
        length: [0; 4],
    };

    /// Walks `data`; `false` when a message declares more than `max` bytes.
    fn accept(&mut self, mut data: &[u8], max: u64) -> bool {
        while !data.is_empty() {
            match self {
                Self::Message { left } => {
                    let n = (*left).min(data.len() as u64);
                    *left -= n;
                    data = &data[n as usize..];
                    if *left == 0 {
                        *self = Self::START;
                    }
                }
                Self::Prefix { have, length } => {
                    // Byte 0 is the compression flag; bytes 1..5 the length.
                    if *have > 0 {
                        length[usize::from(*have) - 1] = data[0];
                    }
                    *have += 1;
                    data = &data[1..];
                    if *have == 5 {
                        let len = u64::from(u32::from_be_bytes(*length));
                        if len > max {
                            return false;
                        }
                        *self = if len == 0 {
                            Self::START
                        } else {
                            Self::Message { left: len }
                        };
                    }
                }
            }
        }
        true
    }
}

impl LimitedBody {
    /// `inner`, failing past the body size limit or after the idle time without a byte from
    /// the caller.
    pub fn new(inner: CallerBody, limits: BodyLimits) -> (Self, Arc<BodyWatch>) {
        let watch = Arc::new(BodyWatch::new());
        let body = Self {
            inner,
            budget: if limits.per_grpc_message {
                Budget::PerMessage {
                    max: limits.max_bytes,
                    at: GrpcMessages::START,
                }
            } else {
                Budget::Whole {
                    remaining: limits.max_bytes,
                }
            },
            watch: Arc::clone(&watch),
            idle: limits.idle,
            stall: None,
        };
        (body, watch)
    }

    /// The caller has nothing for us now: note since when and arm the stall timer.
    fn begin_wait(&mut self) {
        let now = Instant::now();
        self.watch.begin_wait(now);
        let deadline = tokio::time::Instant::from_std(now + self.idle);
        match &mut self.stall {
            Some(stall) => stall.as_mut().reset(deadline),
            none => *none = Some(Box::pin(tokio::time::sleep_until(deadline))),
        }
    }
}

/// What a caller's streamed body told the proxy: whether it outgrew the limit (the exchange
/// then failed because of the caller: 413, not 502), whether the caller stopped sending
/// (408), and how long the gateway waited for it.
///
/// Exists because the API's backend timeout is the backend's time: waiting for a caller's
/// slow upload is not counted against it (see [`deadline`](crate::deadline)).
#[derive(Debug)]
pub(crate) struct BodyWatch {
    exceeded: AtomicBool,
    stalled: AtomicBool,
    /// The origin of the microsecond counts below.
    base: Instant,
    /// When the current wait for the caller began (µs after `base`, plus one); 0: none.
    waiting_since: AtomicU64,
    /// Finished waits, in µs.
    waited: AtomicU64,
}

impl BodyWatch {
    fn new() -> Self {
        Self {
            exceeded: AtomicBool::new(false),
            stalled: AtomicBool::new(false),
            base: Instant::now(),
            waiting_since: AtomicU64::new(0),
            waited: AtomicU64::new(0),
        }
    }

    /// The body failed because of the caller: it outgrew the limit or the caller stopped
    /// sending.
    pub fn failed(&self) -> bool {
        self.exceeded.load(Ordering::Acquire) || self.stalled.load(Ordering::Acquire)
    }

    /// The answer to a body that could not be read to its end: 413 past the size limit, 408
    /// when the caller stopped sending, else 400.
    pub fn refusal(&self) -> ApiError {
        if self.exceeded.load(Ordering::Acquire) {
            errors::body_too_large()
        } else if self.stalled.load(Ordering::Acquire) {
            errors::body_timeout()
        } else {
            errors::bad_request()
        }
    }

    /// How long the gateway has waited for the caller's bytes up to `now`, the wait in
    /// progress included.
    pub fn caller_wait(&self, now: Instant) -> Duration {
        let since = self.waiting_since.load(Ordering::Acquire);
        let current = match since {
            0 => 0,
            since => self.micros(now).saturating_sub(since - 1),
        };
        Duration::from_micros(self.waited.load(Ordering::Acquire).saturating_add(current))
    }

    fn micros(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_micros()).unwrap_or(u64::MAX)
    }

    fn is_waiting(&self) -> bool {
        self.waiting_since.load(Ordering::Acquire) != 0
    }

    fn begin_wait(&self, now: Instant) {
        self.waiting_since
            .store(self.micros(now).saturating_add(1), Ordering::Release);
    }

    fn end_wait(&self, now: Instant) {
        let since = self.waiting_since.swap(0, Ordering::AcqRel);
        if since != 0 {
            let waited = self.micros(now).saturating_sub(since - 1);
            self.waited.fetch_add(waited, Ordering::AcqRel);
        }
    }
}

/// The body grew past the limit.
#[derive(Debug)]
pub(crate) struct TooLarge;

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("request body exceeds the size limit")
    }
}

impl std::error::Error for TooLarge {}

/// The caller sent no body bytes for the client body timeout.
#[derive(Debug)]
pub(crate) struct Stalled;

impl fmt::Display for Stalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the caller stopped sending its request body")
    }
}

impl std::error::Error for Stalled {}

impl Body for LimitedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                if !this.watch.is_waiting() {
                    this.begin_wait();
                }
                let stall = this.stall.as_mut().expect("armed when the wait began");
                ready!(stall.as_mut().poll(cx));
                this.watch.stalled.store(true, Ordering::Release);
                return Poll::Ready(Some(Err(Box::new(Stalled))));
            }
        };
        if this.watch.is_waiting() {
            this.watch.end_wait(Instant::now());
        }
        Poll::Ready(match frame {
            None => None,
            Some(Err(e)) => Some(Err(e)),
            Some(Ok(frame)) => {
                let data = frame.data_ref().map_or(&[][..], |d| &d[..]);
                if this.budget.take(data) {
                    Some(Ok(frame))
                } else {
                    this.watch.exceeded.store(true, Ordering::Release);
                    Some(Err(Box::new(TooLarge)))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gRPC message on the wire: flag, big-endian length, bytes.
    fn message(len: usize) -> Vec<u8> {
        let mut m = vec![0u8];
        m.extend_from_slice(&(len as u32).to_be_bytes());
        m.extend(std::iter::repeat_n(b'x', len));
        m
    }

    /// Feeds `wire` cut into pieces of `cut` bytes.
    fn accepts(wire: &[u8], cut: usize, max: u64) -> bool {
        let mut at = GrpcMessages::START;
        wire.chunks(cut).all(|piece| at.accept(piece, max))
    }

    #[test]
    fn each_grpc_message_is_held_to_the_limit_however_the_frames_cut_it() {
        // Three messages of 600 bytes: 1,815 bytes in all, each within a 1,000-byte limit.
        let stream: Vec<u8> = (0..3).flat_map(|_| message(600)).collect();
        for cut in [1, 2, 3, 5, 7, 600, 605, 4096] {
            assert!(accepts(&stream, cut, 1000), "cut {cut}");
        }
        // Empty messages and a message of exactly the limit pass.
        let mut wire = message(0);
        wire.extend(message(1000));
        wire.extend(message(0));
        assert!(accepts(&wire, 3, 1000));
        // One byte over, in any cut, after a good message or first.
        let mut wire = message(10);
        wire.extend(message(1001));
        for cut in [1, 4, 5, 6, 16, 4096] {
            assert!(!accepts(&wire, cut, 1000), "cut {cut}");
        }
        assert!(
            !accepts(&message(1001)[..5], 5, 1000),
            "the prefix alone is enough"
        );
    }

    #[test]
    fn a_whole_body_budget_counts_every_byte() {
        let mut budget = Budget::Whole { remaining: 10 };
        assert!(budget.take(b"12345"));
        assert!(budget.take(b"67890"));
        assert!(!budget.take(b"x"));
    }
}
