//! The gateway's HTTP/1.1 server side: one task per client connection reads a request head,
//! runs the request through the pipeline in that same task, writes the response, and goes
//! round again while the connection may be kept alive (HTTP/2 stays with hyper, see
//! [`listener`](crate::listener)).
//!
//! Why not hyper's HTTP/1 server: it takes a response only as a `HeaderMap`, so every backend
//! response was taken apart field by field and encoded again. Here the backend's fields go out
//! as the backend wrote them ([`BackendFields`](crate::upstream::BackendFields)), the head is
//! parsed by `httparse` straight into the request's `Parts` (header values sliced from the one
//! read buffer, room left for the fields the proxy adds), the response head and first body
//! bytes leave in one vectored write, and a request without a body involves no channel. This
//! loop by itself costs about what hyper's dispatcher did; with what it allows, a proxied
//! request takes 6–14 % fewer instructions (BENCHMARKS.md, 2026-12-03).
//!
//! What hyper gave that this keeps: strict framing (see `head`: a head whose body length has
//! two readings is refused and the connection closed), head size and field count limits,
//! `Expect: 100-continue`, pipelining, HTTP/1.0 keep-alive, the client header timeout and
//! graceful shutdown (through [`Drain`](crate::drain)), and a lingering close that lets a
//! client still sending an unread body see the answer instead of a reset. Beyond hyper: a head
//! that arrives in many small reads is parsed once its blank line can be there, not again
//! after every read ([`HeadProgress`]).

mod body;
mod head;

pub(crate) use body::{ConnBody, ReadIo, Reader};

use crate::body::{BoxError, CallerBody, GatewayBody};
use crate::drain::{Activity, Graceful, SendWatch};
use crate::errors;
use crate::framing::{write_parts, ChunkSizeLine, Decoder, LAST_CHUNK};
use crate::pipeline::{Conn, ConnState};
use crate::Gateway;
use body::Returned;
use bytes::BytesMut;
use head::{BodyFraming, HeadError, HeadProgress, RequestHead, ResponseFields, ResponseFraming};
use http::{Method, Request, Response, StatusCode, Version};
use http_body::Body;
use http_body_util::BodyExt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, WriteHalf};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_rustls::server::TlsStream;
use tokio_util::either::Either;

pub(crate) use body::READ_BUFFER;
use head::{is_h2_preface_start, H2_PREFACE};

/// How long a closing connection keeps reading (and discarding) what the client still sends
/// after a response that left its request body unread.
const LINGER: Duration = Duration::from_secs(2);

/// The write half of a client connection: plain TCP (left) or TLS (right).
pub(crate) type WriteIo = Either<OwnedWriteHalf, WriteHalf<TlsStream<TcpStream>>>;

/// The write half as the connection uses it: blocked writes count toward the send timeout.
type ClientWriter = SendWatch<WriteIo>;

/// An HTTP/1.1 connection being served, as a future for [`Drain::watch`](crate::drain::Drain::watch).
pub(crate) struct H1Connection(Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>);

impl Future for H1Connection {
    type Output = Result<(), BoxError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl Graceful for H1Connection {
    /// Nothing to do here: the connection reads its [`Activity`] between requests and while
    /// waiting for a head, and closes once asked to.
    fn graceful_shutdown(self: Pin<&mut Self>) {}
}

/// Serves HTTP/1.1 on a connection whose first bytes were already read into `first`.
pub(crate) fn connection(
    (read, writer): (ReadIo, WriteIo),
    first: BytesMut,
    gateway: Gateway,
    conn: Arc<Conn>,
    activity: Arc<Activity>,
) -> H1Connection {
    let reader = Reader {
        io: read,
        buf: first,
    };
    let writer = SendWatch::new(writer, Arc::clone(&activity));
    H1Connection(Box::pin(serve(reader, writer, gateway, conn, activity)))
}

/// What waiting for the next request head gave.
// Not boxed: one per request, moved once; a box would be an allocation per request.
#[allow(clippy::large_enum_variant)]
enum Next {
    Head(RequestHead),
    /// The client closed the connection, or the connection was asked to close while idle.
    Closed,
    /// The head cannot be served; answered, then the connection closes.
    Refused(HeadError),
}

async fn serve(
    mut reader: Reader,
    mut writer: ClientWriter,
    gateway: Gateway,
    conn: Arc<Conn>,
    activity: Arc<Activity>,
) -> Result<(), BoxError> {
    let mut out = Vec::with_capacity(1024);
    // One request at a time: one timer for all their backend exchanges, one AppCode memo.
    let mut state = ConnState::default();
    loop {
        // 1. The request head.
        let head = match read_head(&mut reader, &activity).await? {
            Next::Head(head) => head,
            Next::Closed => return Ok(()),
            Next::Refused(error) => {
                let _in_flight = activity.request();
                tracing::debug!(peer = %conn.peer, reason = error.reason(), "request head refused");
                let api_error = match error {
                    HeadError::Malformed(_) => errors::bad_request(),
                    HeadError::UriTooLong => errors::uri_too_large(),
                    HeadError::TooLarge => errors::headers_too_large(),
                };
                let response = gateway.refuse_head(api_error, &conn);
                let exchange = Exchange {
                    head_request: false,
                    http10: false,
                    keep_alive: false,
                };
                write_response(&mut writer, &mut out, response, exchange).await?;
                return close(writer, Some(reader)).await;
            }
        };
        let in_flight = activity.request();
        let RequestHead {
            parts,
            framing,
            keep_alive,
            expect_continue,
        } = head;
        let mut exchange = Exchange {
            head_request: parts.method == Method::HEAD,
            http10: parts.version == Version::HTTP_10,
            keep_alive,
        };

        // 2. The body: read from the connection by whoever consumes the request.
        let decoder = match framing {
            BodyFraming::Length(0) => None,
            BodyFraming::Length(n) => Some(Decoder::Length(n)),
            BodyFraming::Chunked => Some(Decoder::CHUNKED),
        };
        let (body, reading) = match decoder {
            None => (CallerBody::Empty, Reading::Kept(reader)),
            Some(decoder) => {
                if expect_continue && reader.buf.is_empty() {
                    write_parts(&mut writer, &[b"HTTP/1.1 100 Continue\r\n\r\n"]).await?;
                    writer.flush().await?;
                }
                let (body, returned) = ConnBody::new(reader, decoder);
                (CallerBody::Http1(body), Reading::Lent(returned))
            }
        };

        // 3. The pipeline.
        let request = Request::from_parts(parts, body);
        let response = gateway.serve(request, &conn, &mut state).await;

        // 4. The reader back: the connection stays open only if the body was read to its end
        //    (or its rest is already buffered).
        let next = match reading {
            Reading::Kept(reader) => Some((reader, true)),
            // The pipeline has dropped the request by now; a reader not sent back is lost.
            Reading::Lent(mut returned) => match returned.try_recv() {
                Ok(Returned {
                    mut reader,
                    mut decoder,
                }) => {
                    let complete = reader.skip_buffered(&mut decoder);
                    Some((reader, complete))
                }
                Err(_) => None,
            },
        };
        let body_complete = next.as_ref().is_some_and(|(_, complete)| *complete);
        exchange.keep_alive &= body_complete && !activity.asked_to_close();

        // 5. The response.
        let kept = write_response(&mut writer, &mut out, response, exchange).await?;
        drop(in_flight);
        match next {
            Some((next_reader, true)) if kept => reader = next_reader,
            Some((_, true)) | None => return close(writer, None).await,
            // The client may still be sending the body nobody read.
            Some((unread, false)) => return close(writer, Some(unread)).await,
        }
    }
}

/// Where the connection's reader is while the pipeline runs.
enum Reading {
    Kept(Reader),
    Lent(oneshot::Receiver<Returned>),
}

/// Reads until a complete request head is buffered.
async fn read_head(reader: &mut Reader, activity: &Activity) -> io::Result<Next> {
    let mut progress = HeadProgress::default();
    loop {
        if !reader.buf.is_empty() {
            match progress.parse(&mut reader.buf) {
                Ok(Some(head)) => return Ok(Next::Head(head)),
                Ok(None) => {}
                Err(error) => return Ok(Next::Refused(error)),
            }
        }
        let idle = reader.buf.is_empty();
        let read = poll_fn(|cx| {
            // Between requests, a connection asked to close (shutdown, client header timeout)
            // closes; one in the middle of a head gets until the next sweep.
            if idle && activity.asked_to_close() {
                return Poll::Ready(Ok(0));
            }
            reader.poll_fill(cx)
        })
        .await?;
        if read == 0 {
            // End of stream (in the middle of a head: nothing to answer).
            return Ok(Next::Closed);
        }
    }
}

/// What the response to one request must respect.
#[derive(Clone, Copy)]
struct Exchange {
    head_request: bool,
    http10: bool,
    /// Whether the connection may carry another request afterwards.
    keep_alive: bool,
}

/// Writes a response; whether the connection may carry another request.
///
/// The head is encoded when this is called, and only the body goes into the returned future
/// (and no second copy of it, as an `async fn`'s argument would make): the future is built and
/// moved once per request, so what it holds is copied each time.
fn write_response<'a>(
    writer: &'a mut ClientWriter,
    out: &'a mut Vec<u8>,
    response: Response<GatewayBody>,
    exchange: Exchange,
) -> impl Future<Output = Result<bool, BoxError>> + Send + 'a {
    let (parts, body) = response.into_parts();
    let status = parts.status;
    let bodiless = exchange.head_request
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || status.is_informational();
    let framing = if bodiless {
        ResponseFraming::Bodiless
    } else {
        match body.size_hint().exact() {
            Some(n) => ResponseFraming::Length(n),
            None if exchange.http10 => ResponseFraming::UntilClose,
            None => ResponseFraming::Chunked,
        }
    };
    let keep_alive = exchange.keep_alive && framing != ResponseFraming::UntilClose;
    let fields = ResponseFields {
        status,
        headers: &parts.headers,
        backend: match &body {
            GatewayBody::Upstream(upstream) => Some(upstream.fields()),
            GatewayBody::Full(_) => None,
        },
    };
    out.clear();
    head::encode_response_head(out, &fields, framing, keep_alive, exchange.http10);
    async move {
        match body {
            _ if bodiless => write_parts(writer, &[out]).await?,
            GatewayBody::Full(bytes) => {
                write_parts(writer, &[out, bytes.as_deref().unwrap_or_default()]).await?;
            }
            GatewayBody::Upstream(stream) => write_stream(writer, out, stream, framing).await?,
        }
        writer.flush().await?;
        Ok(keep_alive)
    }
}

/// Writes `head` and a streamed body: the head with the first bytes when they are ready at
/// once (one write), else the head first (a slow stream must not hold it back).
// An `async` block, not an `async fn`, for the reason given at `write_response`.
#[allow(clippy::manual_async_fn)]
fn write_stream<'a, B>(
    writer: &'a mut ClientWriter,
    head: &'a [u8],
    mut body: B,
    framing: ResponseFraming,
) -> impl Future<Output = Result<(), BoxError>> + Send + 'a
where
    B: Body<Data = bytes::Bytes, Error = BoxError> + Unpin + Send + 'a,
{
    async move {
        let chunked = framing == ResponseFraming::Chunked;
        let mut head = Some(head);
        let mut sent: u64 = 0;
        loop {
            let frame = match poll_fn(|cx| Poll::Ready(Pin::new(&mut body).poll_frame(cx))).await {
                Poll::Ready(frame) => frame,
                Poll::Pending => {
                    if let Some(head) = head.take() {
                        write_parts(writer, &[head]).await?;
                        writer.flush().await?;
                    }
                    body.frame().await
                }
            };
            let Some(frame) = frame else { break };
            let Ok(data) = frame?.into_data() else {
                continue; // trailers are not forwarded
            };
            if data.is_empty() {
                continue;
            }
            sent += data.len() as u64;
            if let ResponseFraming::Length(n) = framing {
                if sent > n {
                    return Err("response body longer than its content-length".into());
                }
            }
            let head = head.take().unwrap_or_default();
            if chunked {
                let line = ChunkSizeLine::new(data.len());
                write_parts(writer, &[head, line.as_bytes(), &data, b"\r\n"]).await?;
            } else {
                write_parts(writer, &[head, &data]).await?;
            }
        }
        if let ResponseFraming::Length(n) = framing {
            if sent != n {
                return Err("response body shorter than its content-length".into());
            }
        }
        let last: &[u8] = if chunked { LAST_CHUNK } else { b"" };
        write_parts(writer, &[head.unwrap_or_default(), last]).await?;
        Ok(())
    }
}

/// Closes the connection after its last response: the write side at once; then, when the
/// client may still be sending (`unread`: a body nobody read, or a refused head), its bytes
/// are read and dropped for up to [`LINGER`], so that closing with unread data does not reset
/// the connection under the response.
async fn close(mut writer: ClientWriter, unread: Option<Reader>) -> Result<(), BoxError> {
    let _ = writer.shutdown().await;
    if let Some(mut reader) = unread {
        let drain = async {
            loop {
                reader.buf.clear();
                match reader.io.read_buf(&mut reader.buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        };
        let _ = tokio::time::timeout(LINGER, drain).await;
    }
    Ok(())
}

/// Reads a plain connection's first bytes into `buf` until they are known not to be the
/// HTTP/2 preface (`false`) or are all of it (`true`).
pub(crate) async fn sniff_h2<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
) -> io::Result<bool> {
    loop {
        if io.read_buf(buf).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if !is_h2_preface_start(buf) {
            return Ok(false);
        }
        if buf.len() >= H2_PREFACE.len() {
            return Ok(true);
        }
    }
}
