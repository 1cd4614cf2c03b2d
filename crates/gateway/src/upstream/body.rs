//! The backend's response body, decoded from the leased connection as the caller's side asks
//! for it (content length, chunked, or until close), and the connection handed back to the
//! pool the moment the last byte is taken.

use super::h1::{ProtocolError, ResponseFraming, MAX_HEAD_BYTES};
use super::pool::{Lease, READ_BUFFER};
use crate::body::BoxError;
use bytes::{Buf, Bytes};
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// The longest chunk-size line accepted (size, extensions and CRLF).
const MAX_CHUNK_LINE: usize = 4 * 1024;

/// A backend response body being streamed to the caller.
#[derive(Debug)]
pub struct BackendBody {
    /// The connection, until the body is complete (then released or closed).
    lease: Option<Lease>,
    decoder: Decoder,
    keep_alive: bool,
}

#[derive(Debug, Clone, Copy)]
enum Decoder {
    Length(u64),
    Chunked(Chunk),
    UntilClose,
}

#[derive(Debug, Clone, Copy)]
enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
}

impl BackendBody {
    /// A body without bytes.
    pub(super) fn empty() -> Self {
        Self {
            lease: None,
            decoder: Decoder::Length(0),
            keep_alive: false,
        }
    }

    /// The body of a response whose head was just read from `lease`. An empty body releases
    /// the connection at once (the caller's side never polls an empty body).
    pub(super) fn new(lease: Lease, framing: ResponseFraming, keep_alive: bool) -> Self {
        let decoder = match framing {
            ResponseFraming::Empty => {
                if keep_alive {
                    lease.release();
                }
                return Self::empty();
            }
            ResponseFraming::Length(n) => Decoder::Length(n),
            ResponseFraming::Chunked => Decoder::Chunked(Chunk::Size),
            ResponseFraming::UntilClose => Decoder::UntilClose,
        };
        Self {
            lease: Some(lease),
            decoder,
            keep_alive,
        }
    }

    /// The message is complete: the connection goes back to the pool if it may.
    fn finish(&mut self) {
        if let Some(lease) = self.lease.take() {
            if self.keep_alive && !matches!(self.decoder, Decoder::UntilClose) {
                lease.release();
            }
        }
    }
}

fn failed(message: &'static str) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
    Poll::Ready(Some(Err(Box::new(ProtocolError(message)))))
}

impl Body for BackendBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            let Some(lease) = this.lease.as_mut() else {
                return Poll::Ready(None);
            };
            let read = &mut lease.conn.read;
            // What the buffered bytes allow; `true`: more bytes must be read first.
            let need_more = match &mut this.decoder {
                Decoder::Length(remaining) | Decoder::Chunked(Chunk::Data(remaining)) => {
                    if read.is_empty() {
                        true
                    } else {
                        let n = read
                            .len()
                            .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                        let data = read.split_to(n).freeze();
                        *remaining -= n as u64;
                        if *remaining == 0 {
                            match this.decoder {
                                Decoder::Length(_) => this.finish(),
                                _ => this.decoder = Decoder::Chunked(Chunk::DataEnd),
                            }
                        }
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                }
                Decoder::UntilClose => {
                    if read.is_empty() {
                        true
                    } else {
                        let data = read.split().freeze();
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                }
                Decoder::Chunked(Chunk::Size) => match httparse::parse_chunk_size(read) {
                    Ok(httparse::Status::Complete((line, size))) => {
                        read.advance(line);
                        this.decoder = Decoder::Chunked(if size == 0 {
                            Chunk::Trailers
                        } else {
                            Chunk::Data(size)
                        });
                        false
                    }
                    Ok(httparse::Status::Partial) if read.len() > MAX_CHUNK_LINE => {
                        return failed("chunk size line too long")
                    }
                    Ok(httparse::Status::Partial) => true,
                    Err(_) => return failed("invalid chunk size"),
                },
                Decoder::Chunked(Chunk::DataEnd) => {
                    if read.len() < 2 {
                        true
                    } else if read.starts_with(b"\r\n") {
                        read.advance(2);
                        this.decoder = Decoder::Chunked(Chunk::Size);
                        false
                    } else {
                        return failed("chunk not followed by CRLF");
                    }
                }
                Decoder::Chunked(Chunk::Trailers) => {
                    // Trailer fields are dropped (none is forwarded: `Trailer` is hop-by-hop).
                    let end = if read.starts_with(b"\r\n") {
                        Some(2)
                    } else {
                        read.windows(4)
                            .position(|w| w == b"\r\n\r\n")
                            .map(|p| p + 4)
                    };
                    match end {
                        Some(end) => {
                            read.advance(end);
                            this.finish();
                            return Poll::Ready(None);
                        }
                        None if read.len() > MAX_HEAD_BYTES => {
                            return failed("trailer section too large")
                        }
                        None => true,
                    }
                }
            };
            if !need_more {
                continue;
            }
            if read.capacity() - read.len() < READ_BUFFER / 2 {
                read.reserve(READ_BUFFER);
            }
            let n = match ready!(tokio_util::io::poll_read_buf(
                Pin::new(&mut lease.conn.io),
                cx,
                read
            )) {
                Ok(n) => n,
                Err(e) => {
                    this.lease = None;
                    return Poll::Ready(Some(Err(Box::new(e))));
                }
            };
            if n == 0 {
                if matches!(this.decoder, Decoder::UntilClose) {
                    this.lease = None;
                    return Poll::Ready(None);
                }
                this.lease = None;
                return failed("backend closed the connection before the body was complete");
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.lease.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match (self.lease.is_some(), self.decoder) {
            (false, _) => SizeHint::with_exact(0),
            (true, Decoder::Length(n)) => SizeHint::with_exact(n),
            _ => SizeHint::default(),
        }
    }
}
