//! HTTP/1.1 message framing for the backend client (RFC 9112): the request head the gateway
//! writes and the response head it reads, with the body-length rules of §6.3.
//!
//! Header values of a response are slices of the one buffer the head was read into (no copy
//! per header).

use bytes::{Buf, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use std::fmt;
use std::io::Write;
use std::mem::MaybeUninit;

/// The largest response head accepted from a backend.
pub(super) const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The most header fields accepted in a response head.
const MAX_HEADERS: usize = 100;

/// How the request body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RequestFraming {
    /// No body and no framing header (GET and the like without a body).
    None,
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked` (a streamed body of unknown length).
    Chunked,
}

impl RequestFraming {
    /// The framing for a body of which `exact` bytes are known to come (`None`: unknown),
    /// `empty` when it is known to hold nothing.
    pub fn for_body(method: &Method, empty: bool, exact: Option<u64>) -> Self {
        if empty {
            // A zero length is stated where a body is expected (RFC 9110 §8.6).
            return if matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
                Self::Length(0)
            } else {
                Self::None
            };
        }
        match exact {
            Some(n) => Self::Length(n),
            None => Self::Chunked,
        }
    }
}

/// Writes the request line and header section into `buf`. The caller's own framing headers
/// are replaced by `framing`.
pub(super) fn encode_head(
    buf: &mut Vec<u8>,
    method: &Method,
    target: &str,
    headers: &HeaderMap,
    framing: RequestFraming,
) {
    buf.extend_from_slice(method.as_str().as_bytes());
    buf.push(b' ');
    buf.extend_from_slice(target.as_bytes());
    buf.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            continue;
        }
        buf.extend_from_slice(name.as_str().as_bytes());
        buf.extend_from_slice(b": ");
        buf.extend_from_slice(value.as_bytes());
        buf.extend_from_slice(b"\r\n");
    }
    match framing {
        RequestFraming::None => {}
        RequestFraming::Length(n) => {
            let _ = write!(buf, "content-length: {n}\r\n");
        }
        RequestFraming::Chunked => buf.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    buf.extend_from_slice(b"\r\n");
}

/// How the response body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ResponseFraming {
    /// No body (HEAD, 204, 304, `Content-Length: 0`).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Everything until the backend closes the connection.
    UntilClose,
}

/// A parsed response head.
#[derive(Debug)]
pub(super) struct ResponseHead {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub framing: ResponseFraming,
    /// Whether the connection may carry another exchange after this one.
    pub keep_alive: bool,
}

/// A backend broke HTTP/1.1.
#[derive(Debug)]
pub(crate) struct ProtocolError(pub &'static str);

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid backend response: {}", self.0)
    }
}

impl std::error::Error for ProtocolError {}

/// Parses the response head at the start of `buf`, skipping interim (1xx) responses, and
/// removes it from `buf`. `Ok(None)`: the head is not complete yet.
pub(super) fn parse_head(
    buf: &mut BytesMut,
    request_method: &Method,
) -> Result<Option<ResponseHead>, ProtocolError> {
    loop {
        // Field positions relative to the start of the head: (name start, name end, value
        // start, value end).
        let mut spans = [(0u32, 0u32, 0u32, 0u32); MAX_HEADERS];
        let (len, code, http11, count) = {
            let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut []);
            let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
                &mut response,
                buf,
                &mut fields,
            );
            let len = match parsed {
                Ok(httparse::Status::Complete(len)) if len > MAX_HEAD_BYTES => {
                    return Err(ProtocolError("response head too large"))
                }
                Ok(httparse::Status::Complete(len)) => len,
                Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_BYTES => {
                    return Err(ProtocolError("response head too large"))
                }
                Ok(httparse::Status::Partial) => return Ok(None),
                Err(httparse::Error::TooManyHeaders) => {
                    return Err(ProtocolError("too many header fields"))
                }
                Err(_) => return Err(ProtocolError("malformed response head")),
            };
            // Offsets fit: a head is at most MAX_HEAD_BYTES long.
            let base = buf.as_ptr() as usize;
            let offset = |p: *const u8| (p as usize - base) as u32;
            for (span, field) in spans.iter_mut().zip(response.headers.iter()) {
                let name = offset(field.name.as_ptr());
                let value = offset(field.value.as_ptr());
                *span = (
                    name,
                    name + field.name.len() as u32,
                    value,
                    value + field.value.len() as u32,
                );
            }
            (
                len,
                response.code.unwrap_or(0),
                response.version == Some(1),
                response.headers.len(),
            )
        };
        let status = StatusCode::from_u16(code).map_err(|_| ProtocolError("invalid status"))?;
        if status.is_informational() {
            if code == 101 {
                return Err(ProtocolError("protocol upgrade is not supported"));
            }
            // 100 Continue, 103 Early Hints: the final response follows.
            buf.advance(len);
            continue;
        }
        let head = buf.split_to(len).freeze();
        let mut headers = HeaderMap::with_capacity(count);
        for &(ns, ne, vs, ve) in &spans[..count] {
            let (ns, ne, vs, ve) = (ns as usize, ne as usize, vs as usize, ve as usize);
            let name = HeaderName::from_bytes(&head[ns..ne])
                .map_err(|_| ProtocolError("invalid header name"))?;
            let value = HeaderValue::from_maybe_shared(head.slice(vs..ve))
                .map_err(|_| ProtocolError("invalid header value"))?;
            headers.append(name, value);
        }
        let chunked_or_other = transfer_coding(&headers);
        let length = content_length(&headers)?;
        let framing = if *request_method == Method::HEAD || code == 204 || code == 304 {
            ResponseFraming::Empty
        } else if let Some(chunked) = chunked_or_other {
            if chunked {
                ResponseFraming::Chunked
            } else {
                ResponseFraming::UntilClose
            }
        } else {
            match length {
                Some(0) => ResponseFraming::Empty,
                Some(n) => ResponseFraming::Length(n),
                None => ResponseFraming::UntilClose,
            }
        };
        let keep_alive = framing != ResponseFraming::UntilClose
            // Both framings at once is how request smuggling starts: never reuse (§6.3).
            && !(chunked_or_other.is_some() && length.is_some())
            && if http11 {
                !has_token(&headers, "close")
            } else {
                has_token(&headers, "keep-alive")
            };
        return Ok(Some(ResponseHead {
            status,
            headers,
            framing,
            keep_alive,
        }));
    }
}

/// `Some(true)` when the last transfer coding is chunked, `Some(false)` for another coding,
/// `None` without `Transfer-Encoding`.
fn transfer_coding(headers: &HeaderMap) -> Option<bool> {
    let last = headers.get_all(TRANSFER_ENCODING).iter().next_back()?;
    let last = last.as_bytes().rsplit(|b| *b == b',').next().unwrap_or(b"");
    Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"))
}

/// The `Content-Length`, where every listed value must agree (RFC 9112 §6.3 item 5).
fn content_length(headers: &HeaderMap) -> Result<Option<u64>, ProtocolError> {
    let mut length = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        for part in value.as_bytes().split(|b| *b == b',') {
            let part = part.trim_ascii();
            if part.is_empty() || part.len() > 19 || !part.iter().all(u8::is_ascii_digit) {
                return Err(ProtocolError("invalid content-length"));
            }
            let n = part.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            match length {
                Some(previous) if previous != n => {
                    return Err(ProtocolError("conflicting content-length values"))
                }
                _ => length = Some(n),
            }
        }
    }
    Ok(length)
}

/// Whether a `Connection` header lists `token`.
fn has_token(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get_all(CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str, method: Method) -> Result<Option<ResponseHead>, ProtocolError> {
        let mut buf = BytesMut::from(raw);
        parse_head(&mut buf, &method)
    }

    #[test]
    fn request_head_replaces_framing_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("backend:8080"));
        headers.insert("content-length", HeaderValue::from_static("999"));
        headers.insert("x-a", HeaderValue::from_static("1"));
        let mut buf = Vec::new();
        encode_head(
            &mut buf,
            &Method::POST,
            "/p?q=1",
            &headers,
            RequestFraming::Length(3),
        );
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "POST /p?q=1 HTTP/1.1\r\nhost: backend:8080\r\nx-a: 1\r\ncontent-length: 3\r\n\r\n"
        );
        let mut buf = Vec::new();
        encode_head(
            &mut buf,
            &Method::PUT,
            "/",
            &HeaderMap::new(),
            RequestFraming::Chunked,
        );
        assert!(String::from_utf8(buf)
            .unwrap()
            .ends_with("transfer-encoding: chunked\r\n\r\n"));
    }

    #[test]
    fn request_framing_follows_the_body() {
        use RequestFraming as F;
        assert_eq!(F::for_body(&Method::GET, true, Some(0)), F::None);
        assert_eq!(F::for_body(&Method::POST, true, Some(0)), F::Length(0));
        assert_eq!(F::for_body(&Method::POST, false, Some(7)), F::Length(7));
        assert_eq!(F::for_body(&Method::POST, false, None), F::Chunked);
    }

    #[test]
    fn response_framing_follows_rfc_9112() {
        let head = |raw: &str| parse(raw, Method::GET).unwrap().unwrap();
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello");
        assert_eq!(h.framing, ResponseFraming::Length(5));
        assert!(h.keep_alive);
        assert_eq!(h.headers["x-a"], "b");
        let h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert_eq!(h.framing, ResponseFraming::Chunked);
        let h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
        assert_eq!(h.framing, ResponseFraming::UntilClose);
        assert!(!h.keep_alive);
        let h = head("HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(h.framing, ResponseFraming::UntilClose);
        let h = head("HTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!(h.framing, ResponseFraming::Empty);
        assert!(h.keep_alive);
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        assert_eq!(h.framing, ResponseFraming::Empty);
        assert!(!h.keep_alive);
        let h = head("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n");
        assert!(!h.keep_alive);
        let h = head("HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: Keep-Alive\r\n\r\n");
        assert!(h.keep_alive);
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(h.framing, ResponseFraming::Chunked);
        assert!(!h.keep_alive, "both framings: never reused");
        let h = parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", Method::HEAD)
            .unwrap()
            .unwrap();
        assert_eq!(h.framing, ResponseFraming::Empty);
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n");
        assert_eq!(h.framing, ResponseFraming::Length(3));
    }

    #[test]
    fn interim_responses_are_skipped_and_upgrades_refused() {
        let mut buf = BytesMut::from(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx",
        );
        let h = parse_head(&mut buf, &Method::POST).unwrap().unwrap();
        assert_eq!(h.status, 201);
        assert_eq!(&buf[..], b"x", "the body stays in the buffer");
        assert!(parse("HTTP/1.1 101 Switching Protocols\r\n\r\n", Method::GET).is_err());
    }

    #[test]
    fn bad_heads_are_errors_and_partial_heads_wait() {
        assert!(parse("HTTP/1.1 200 OK\r\nContent-Le", Method::GET)
            .unwrap()
            .is_none());
        for bad in [
            "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "garbage\r\n\r\n",
        ] {
            assert!(parse(bad, Method::GET).is_err(), "{bad}");
        }
        let huge = format!("HTTP/1.1 200 OK\r\nX: {}", "a".repeat(MAX_HEAD_BYTES + 1));
        assert!(parse(&huge, Method::GET).is_err());
        assert!(
            parse(&format!("{huge}\r\n\r\n"), Method::GET).is_err(),
            "complete but too large"
        );
        let many: String = (0..200).map(|i| format!("X-{i}: 1\r\n")).collect();
        assert!(parse(&format!("HTTP/1.1 200 OK\r\n{many}\r\n"), Method::GET).is_err());
    }
}
