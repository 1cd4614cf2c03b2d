//! The reading side of a client connection ([`Reader`]) and the body of a request on it
//! ([`ConnBody`]): decoded from the connection as the proxy pulls it, in the request's own
//! task, and handed back to the connection loop when the body ends or is dropped.
//!
//! A request without a body never takes the reader away from the connection loop; one with a
//! body costs a one-shot channel for the way back.

use crate::body::BoxError;
use crate::framing::{self, BodyFailure, Decoded, Decoder};
use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::ReadHalf;
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_rustls::server::TlsStream;
use tokio_util::either::Either;

/// Read buffer size of a new connection, and what is added when it runs low.
pub(crate) const READ_BUFFER: usize = 8 * 1024;

/// The read half of a client connection: plain TCP (left) or TLS (right, sharing the TLS
/// session with the write half).
pub(crate) type ReadIo = Either<OwnedReadHalf, ReadHalf<TlsStream<TcpStream>>>;

/// The reading side of a client connection: its read half and the bytes read ahead.
pub(crate) struct Reader {
    pub io: ReadIo,
    /// Bytes received and not consumed yet (the rest of a head, a body, pipelined requests).
    pub buf: BytesMut,
}

impl Reader {
    /// Reads more bytes into the buffer, growing it when it runs low; `Ok(0)`: end of stream.
    pub fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.buf.capacity() - self.buf.len() < READ_BUFFER / 2 {
            self.buf.reserve(READ_BUFFER);
        }
        tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.buf)
    }

    /// Takes a body's remaining bytes out of the buffer without reading; whether the body
    /// ended there (an unread body the buffer holds completely need not close the connection).
    pub fn skip_buffered(&mut self, decoder: &mut Decoder) -> bool {
        loop {
            match decoder.decode(&mut self.buf) {
                Ok(Decoded::Data(_)) => {}
                Ok(Decoded::End) => return true,
                Ok(Decoded::NeedMore) | Err(_) => return false,
            }
        }
    }
}

/// The reader coming back from a body, with the decoder where the body left it.
pub(super) struct Returned {
    pub reader: Reader,
    pub decoder: Decoder,
}

/// A request body on an HTTP/1.1 connection.
pub(crate) struct ConnBody {
    /// The connection's reading side, until the body ends.
    reader: Option<Reader>,
    decoder: Decoder,
    back: Option<oneshot::Sender<Returned>>,
}

impl fmt::Debug for ConnBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnBody")
            .field("decoder", &self.decoder)
            .finish_non_exhaustive()
    }
}

impl ConnBody {
    /// The body framed by `decoder` at the start of `reader`'s buffer; the receiver gets the
    /// reader back.
    pub(super) fn new(reader: Reader, decoder: Decoder) -> (Self, oneshot::Receiver<Returned>) {
        let (back, returned) = oneshot::channel();
        let body = Self {
            reader: Some(reader),
            decoder,
            back: Some(back),
        };
        (body, returned)
    }

    fn give_back(&mut self) {
        if let (Some(reader), Some(back)) = (self.reader.take(), self.back.take()) {
            let _ = back.send(Returned {
                reader,
                decoder: self.decoder,
            });
        }
    }
}

impl Drop for ConnBody {
    fn drop(&mut self) {
        self.give_back();
    }
}

/// The client broke the body's framing or went away in the middle of it.
#[derive(Debug)]
pub(crate) struct BodyError(&'static str);

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid request body: {}", self.0)
    }
}

impl std::error::Error for BodyError {}

impl Body for ConnBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let Some(reader) = this.reader.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = framing::poll_body(
            &mut this.decoder,
            &mut reader.buf,
            &mut reader.io,
            READ_BUFFER,
            cx,
        );
        let frame = match ready!(polled) {
            Ok(Some(data)) => Some(Ok(Frame::data(data))),
            Ok(None) => None,
            Err(failure) => {
                let error: BoxError = match failure {
                    BodyFailure::Framing(rule) => Box::new(BodyError(rule)),
                    BodyFailure::Closed => {
                        Box::new(BodyError("the client closed the connection in the body"))
                    }
                    BodyFailure::Io(e) => Box::new(e),
                };
                Some(Err(error))
            }
        };
        // Complete, or failed: the connection loop gets its reader back (and closes the
        // connection unless the body was complete).
        if this.decoder.is_done() || !matches!(frame, Some(Ok(_))) {
            this.give_back();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.reader.is_none() || self.decoder.is_done()
    }

    fn size_hint(&self) -> SizeHint {
        match self.decoder.exact_remaining() {
            Some(n) if self.reader.is_some() => SizeHint::with_exact(n),
            Some(_) => SizeHint::with_exact(0),
            None => SizeHint::default(),
        }
    }
}
