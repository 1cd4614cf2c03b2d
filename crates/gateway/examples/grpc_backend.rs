//! A minimal gRPC backend for `scripts/bench-grpc`: cleartext HTTP/2 (prior knowledge) on one
//! thread; every call's request body is read to the end, then answered with `200`,
//! `content-type: application/grpc`, one 5-byte message and a `grpc-status: 0` trailer.
//!
//! Why not nginx, which serves the HTTP/1.1 benchmark's backend: nginx's `return` answers
//! without reading the request body, and nginx's own `grpc_pass` (the reference proxy) then
//! fails a call in a thousand with "upstream sent frame for unknown stream". A backend that
//! reads its requests keeps the reference honest.
//!
//! Usage: `cargo run --release -p apigw-gateway --example grpc_backend -- 127.0.0.1:PORT`

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The reply's frames: one message, then the trailers.
struct Reply(Vec<Frame<Bytes>>);

impl Body for Reply {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let frames = &mut self.get_mut().0;
        Poll::Ready((!frames.is_empty()).then(|| Ok(frames.remove(0))))
    }
}

async fn answer(request: Request<Incoming>) -> Result<Response<Reply>, Infallible> {
    // The whole request first, as a gRPC server reads a unary call's message.
    let _ = request.into_body().collect().await;
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    let message = Bytes::from_static(b"\x00\x00\x00\x00\x05hello");
    let mut response = Response::new(Reply(vec![Frame::data(message), Frame::trailers(trailers)]));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    Ok(response)
}

fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:50051".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&address).await?;
        eprintln!("gRPC backend listening on {}", listener.local_addr()?);
        loop {
            let (tcp, _) = listener.accept().await?;
            let _ = tcp.set_nodelay(true);
            tokio::spawn(async move {
                let served = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .max_concurrent_streams(1024)
                    .serve_connection(TokioIo::new(tcp), service_fn(answer))
                    .await;
                if let Err(e) = served {
                    eprintln!("connection ended: {e}");
                }
            });
        }
    })
}
