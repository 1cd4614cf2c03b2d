//! The body types of the proxy: what the caller sends (`CallerBody`), what goes to the backend
//! (`UpstreamBody`) and what goes back to the caller ([`GatewayBody`]).
//!
//! Both are enums rather than boxed trait objects, so forwarding a body costs no allocation:
//! either a buffered `Bytes` (error responses, bodies read for a signature check) or the
//! connection's own stream passed through.

pub use crate::upstream::BackendBody;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

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
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Empty => true,
            Self::Http1(inner) => inner.is_end_stream(),
            Self::Hyper(inner) => inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Empty => SizeHint::with_exact(0),
            Self::Http1(inner) => inner.size_hint(),
            Self::Hyper(inner) => inner.size_hint(),
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

/// The caller's body with a byte limit; exceeding it fails the stream and raises a flag the
/// proxy reads to answer 413 rather than 502.
#[derive(Debug)]
pub(crate) struct LimitedBody {
    inner: CallerBody,
    remaining: u64,
    exceeded: Arc<AtomicBool>,
}

impl LimitedBody {
    pub fn new(inner: CallerBody, limit: u64) -> (Self, Arc<AtomicBool>) {
        let exceeded = Arc::new(AtomicBool::new(false));
        let body = Self {
            inner,
            remaining: limit,
            exceeded: Arc::clone(&exceeded),
        };
        (body, exceeded)
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

impl Body for LimitedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        Poll::Ready(match frame {
            None => None,
            Some(Err(e)) => Some(Err(e)),
            Some(Ok(frame)) => {
                let len = frame.data_ref().map_or(0, |d| d.len() as u64);
                match self.remaining.checked_sub(len) {
                    Some(rest) => {
                        self.remaining = rest;
                        Some(Ok(frame))
                    }
                    None => {
                        self.exceeded.store(true, Ordering::Release);
                        Some(Err(Box::new(TooLarge)))
                    }
                }
            }
        })
    }
}
