//! The backend's response body, decoded from the leased connection as the caller's side asks
//! for it (content length, chunked, or until close), and the connection handed back to the
//! pool the moment the last byte is taken; or, from a gRPC backend, hyper's HTTP/2 stream with
//! its trailers.

use super::h1::{BackendFields, ProtocolError, ResponseFraming};
use super::pool::{Lease, READ_BUFFER};
use crate::balancer::InFlight;
use crate::body::BoxError;
use crate::framing::{self, BodyFailure, Decoder};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// A backend response body being streamed to the caller.
#[derive(Debug)]
pub struct BackendBody {
    stream: Stream,
    /// The response's end-to-end fields, as the backend wrote them (HTTP/1.1; an HTTP/2
    /// response keeps its fields in its header map, and only the gateway's are added here).
    fields: BackendFields,
    /// The call's count at its server (least connections), until the body is sent or dropped.
    in_flight: Option<InFlight>,
}

/// Where the body's bytes come from.
#[derive(Debug)]
enum Stream {
    Http1(Http1Stream),
    /// An HTTP/2 (gRPC) backend's stream, trailers included.
    Http2(Incoming),
}

/// The body on a leased HTTP/1.1 connection.
#[derive(Debug)]
struct Http1Stream {
    /// The connection, until the body is complete (then released or closed).
    lease: Option<Lease>,
    decoder: Decoder,
    keep_alive: bool,
}

impl BackendBody {
    /// A body without bytes.
    pub(super) fn empty(fields: BackendFields) -> Self {
        Self {
            stream: Stream::Http1(Http1Stream {
                lease: None,
                decoder: Decoder::Length(0),
                keep_alive: false,
            }),
            fields,
            in_flight: None,
        }
    }

    /// The body of an HTTP/2 backend's response.
    pub(super) fn http2(body: Incoming) -> Self {
        Self {
            stream: Stream::Http2(body),
            fields: BackendFields::default(),
            in_flight: None,
        }
    }

    /// The body, keeping its call counted at its server while it lives.
    pub(crate) fn counting(mut self, in_flight: InFlight) -> Self {
        self.in_flight = Some(in_flight);
        self
    }

    /// The response's end-to-end fields, which the gateway's HTTP/1.1 server writes as they
    /// are.
    pub(crate) fn fields(&self) -> &BackendFields {
        &self.fields
    }

    /// The fields, to add the gateway's own.
    pub(crate) fn fields_mut(&mut self) -> &mut BackendFields {
        &mut self.fields
    }

    /// Takes the fields out (to put them into a `HeaderMap` for hyper).
    pub(crate) fn take_fields(&mut self) -> BackendFields {
        std::mem::take(&mut self.fields)
    }

    /// The body of a response whose head was just read from `lease`. An empty body releases
    /// the connection at once (the caller's side never polls an empty body).
    pub(super) fn new(
        lease: Lease,
        framing: ResponseFraming,
        keep_alive: bool,
        fields: BackendFields,
    ) -> Self {
        let decoder = match framing {
            ResponseFraming::Empty => {
                if keep_alive {
                    lease.release();
                }
                return Self::empty(fields);
            }
            ResponseFraming::Length(n) => Decoder::Length(n),
            ResponseFraming::Chunked => Decoder::CHUNKED,
            ResponseFraming::UntilClose => Decoder::UntilClose,
        };
        Self {
            stream: Stream::Http1(Http1Stream {
                lease: Some(lease),
                decoder,
                keep_alive,
            }),
            fields,
            in_flight: None,
        }
    }
}

impl Http1Stream {
    /// The message is complete: the connection goes back to the pool if it may.
    fn finish(&mut self) {
        if let Some(lease) = self.lease.take() {
            if self.keep_alive && self.decoder != Decoder::UntilClose {
                lease.release();
            }
        }
    }

    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let Some(lease) = self.lease.as_mut() else {
            return Poll::Ready(None);
        };
        let conn = &mut lease.conn;
        let polled = framing::poll_body(
            &mut self.decoder,
            &mut conn.read,
            &mut conn.io,
            READ_BUFFER,
            cx,
        );
        match ready!(polled) {
            Ok(Some(data)) => {
                if self.decoder.is_done() {
                    self.finish();
                }
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
            Ok(None) => {
                self.finish();
                Poll::Ready(None)
            }
            Err(failure) => {
                // The connection is in an unknown state: closed, never reused.
                self.lease = None;
                let error: BoxError = match failure {
                    BodyFailure::Framing(rule) => Box::new(ProtocolError(rule)),
                    BodyFailure::Closed => Box::new(ProtocolError(
                        "backend closed the connection before the body was complete",
                    )),
                    BodyFailure::Io(e) => Box::new(e),
                };
                Poll::Ready(Some(Err(error)))
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        match (self.lease.is_some(), self.decoder.exact_remaining()) {
            (false, _) => SizeHint::with_exact(0),
            (true, Some(n)) => SizeHint::with_exact(n),
            (true, None) => SizeHint::default(),
        }
    }
}

impl Body for BackendBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().stream {
            Stream::Http1(stream) => stream.poll_frame(cx),
            Stream::Http2(stream) => Pin::new(stream)
                .poll_frame(cx)
                .map_err(|e| Box::new(e) as BoxError),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.stream {
            Stream::Http1(stream) => stream.lease.is_none(),
            Stream::Http2(stream) => stream.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.stream {
            Stream::Http1(stream) => stream.size_hint(),
            Stream::Http2(stream) => stream.size_hint(),
        }
    }
}
