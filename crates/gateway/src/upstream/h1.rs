//! HTTP/1.1 message framing for the backend client (RFC 9112): the request head the gateway
//! writes and the response head it reads, with the body-length rules of §6.3.
//!
//! Header values of a response are slices of the one buffer the head was read into (no copy
//! per header).

use super::GatewayFields;
use crate::framing::{Span, USUAL_FIELDS};
use crate::proxy::{FORWARDED_FOR, REQUEST_ID_HEADER};
use bytes::{Buf, BytesMut};
use http::header::{CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use smallvec::SmallVec;
use std::fmt;
use std::mem::MaybeUninit;

/// The largest response head accepted from a backend.
const MAX_HEAD_BYTES: usize = 64 * 1024;
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

/// Writes the request line and header section into `buf`: `Host` first, the caller's fields,
/// the gateway's `X-Request-Id` and `X-Forwarded-For`, then the framing. The caller's own
/// framing fields, and those the gateway's replace, are left out.
pub(super) fn encode_head(
    buf: &mut Vec<u8>,
    method: &Method,
    target: &str,
    (headers, gateway): (&HeaderMap, &GatewayFields),
    framing: RequestFraming,
) {
    buf.extend_from_slice(method.as_str().as_bytes());
    buf.push(b' ');
    buf.extend_from_slice(target.as_bytes());
    buf.extend_from_slice(b" HTTP/1.1\r\n");
    let mut field = |name: &str, value: &HeaderValue| {
        buf.extend_from_slice(name.as_bytes());
        buf.extend_from_slice(b": ");
        buf.extend_from_slice(value.as_bytes());
        buf.extend_from_slice(b"\r\n");
    };
    field(HOST.as_str(), &gateway.host);
    for (name, value) in headers {
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING || GatewayFields::replace(name) {
            continue;
        }
        field(name.as_str(), value);
    }
    field(REQUEST_ID_HEADER.as_str(), &gateway.request_id);
    field(FORWARDED_FOR.as_str(), &gateway.forwarded_for);
    match framing {
        RequestFraming::None => {}
        RequestFraming::Length(n) => crate::framing::push_number_field(buf, b"content-length", n),
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

/// Bytes kept free in [`BackendFields`] for the gateway's own field
/// (`x-request-id: <32 hex digits>\r\n` is 48).
const ROOM_FOR_GATEWAY_FIELDS: usize = 48;

/// The end-to-end fields of a backend response, kept as the backend wrote them.
///
/// Exists so that a response can be forwarded over HTTP/1.1 without taking its fields apart
/// into a `HeaderMap` and encoding them again: the gateway's server writes these lines as they
/// are (HTTP/2 and embedders get them as a `HeaderMap`, see [`append_to`](Self::append_to)).
/// Hop-by-hop fields (RFC 9110 §7.6.1: `Connection` and what it names, `Keep-Alive`,
/// `Proxy-*`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`) are not among them;
/// `Content-Length` is kept apart, since the framing of the next hop decides it.
#[derive(Debug, Default)]
pub(crate) struct BackendFields {
    /// `name: value\r\n` lines (httparse validated both; no line breaks inside).
    lines: Vec<u8>,
    /// The backend's agreed `Content-Length`, unless `Transfer-Encoding` overrode it.
    content_length: Option<u64>,
    /// Whether a `Date` field is among the lines.
    has_date: bool,
}

impl BackendFields {
    /// The field lines, each ending in CRLF.
    pub fn lines(&self) -> &[u8] {
        &self.lines
    }

    /// The backend's `Content-Length`, if it sent one (a HEAD response's is passed on).
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// Whether the backend sent a `Date`.
    pub fn has_date(&self) -> bool {
        self.has_date
    }

    /// Whether a field named `name` is among the lines (any case): for the rare response
    /// that needs to know, so the common one pays nothing while the head is read.
    pub fn contains(&self, name: &HeaderName) -> bool {
        let name = name.as_str().as_bytes();
        self.lines.split(|b| *b == b'\n').any(|line| {
            line.get(name.len()) == Some(&b':') && line[..name.len()].eq_ignore_ascii_case(name)
        })
    }

    /// Walks the field lines once, in place: `pick` sees each field's name and says whether
    /// it goes (the line is then handed to `removed` as name and value, and left out). For the
    /// APIs whose plug-ins rewrite response fields; the common response never calls it. The
    /// date is the gateway's to add (no plug-in may name it), so `has_date` stays as it was.
    pub fn remove_where(
        &mut self,
        mut pick: impl FnMut(&[u8]) -> bool,
        mut removed: impl FnMut(&[u8], &[u8]),
    ) {
        let (mut read, mut write) = (0, 0);
        let len = self.lines.len();
        while read < len {
            let end = self.lines[read..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(len, |i| read + i + 1);
            let line = &self.lines[read..end];
            let colon = line.iter().position(|b| *b == b':').unwrap_or(line.len());
            if pick(&line[..colon]) {
                let value = line.get(colon + 1..).unwrap_or_default().trim_ascii();
                removed(&line[..colon], value);
            } else {
                if write != read {
                    self.lines.copy_within(read..end, write);
                }
                write += end - read;
            }
            read = end;
        }
        self.lines.truncate(write);
    }

    /// Adds a field of the gateway's own (`X-Request-Id`) to the lines: no map to build for
    /// the one field a proxied response gains. Always inlined: a few copies, on every
    /// proxied response.
    #[inline(always)]
    pub fn push(&mut self, name: &HeaderName, value: &[u8]) {
        self.lines.extend_from_slice(name.as_str().as_bytes());
        self.lines.extend_from_slice(b": ");
        self.lines.extend_from_slice(value);
        self.lines.extend_from_slice(b"\r\n");
    }

    /// Adds the fields (and `Content-Length`) to `headers`, for hyper's servers.
    pub fn append_to(&self, headers: &mut HeaderMap) {
        for line in self.lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Some(colon) = line.iter().position(|b| *b == b':') else {
                continue;
            };
            let value = line[colon + 1..].trim_ascii();
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(&line[..colon]),
                HeaderValue::from_bytes(value),
            ) {
                headers.append(name, value);
            }
        }
        if let Some(n) = self.content_length {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(n));
        }
    }
}

/// A parsed response head.
#[derive(Debug)]
pub(super) struct ResponseHead {
    pub status: StatusCode,
    /// The end-to-end fields.
    pub fields: BackendFields,
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

/// What a response field is to the client reading it, decided from its name alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldRole {
    /// Forwarded as is.
    EndToEnd,
    /// `Content-Length`: framing, forwarded unless `Transfer-Encoding` overrides it.
    ContentLength,
    /// `Transfer-Encoding`: framing for this hop only.
    TransferEncoding,
    /// `Connection`: options for this hop, possibly naming more hop-by-hop fields.
    Connection,
    /// Another hop-by-hop field (`Keep-Alive`, `Proxy-*`, `TE`, `Trailer`, `Upgrade`).
    HopByHop,
    /// `X-Request-Id`: the gateway's own replaces the backend's.
    RequestId,
}

impl FieldRole {
    fn of(name: &[u8]) -> Self {
        let is = |known: &[u8]| name.eq_ignore_ascii_case(known);
        match name.len() {
            14 if is(b"content-length") => Self::ContentLength,
            17 if is(b"transfer-encoding") => Self::TransferEncoding,
            10 if is(b"connection") => Self::Connection,
            10 if is(b"keep-alive") => Self::HopByHop,
            2 if is(b"te") => Self::HopByHop,
            7 if is(b"trailer") || is(b"upgrade") => Self::HopByHop,
            12 if is(b"x-request-id") => Self::RequestId,
            n if n > 6 && name[..6].eq_ignore_ascii_case(b"proxy-") => Self::HopByHop,
            _ => Self::EndToEnd,
        }
    }

    fn forwarded(self, transfer_encoded: bool) -> bool {
        match self {
            Self::EndToEnd => true,
            Self::ContentLength => !transfer_encoded,
            _ => false,
        }
    }
}

/// Whether a field is hop-by-hop (RFC 9110 §7.6.1, `Transfer-Encoding` included), by its name:
/// the one list both directions of the proxy use.
pub(crate) fn is_hop_by_hop(name: &[u8]) -> bool {
    matches!(
        FieldRole::of(name),
        FieldRole::TransferEncoding | FieldRole::Connection | FieldRole::HopByHop
    )
}

/// The framing facts of a head, gathered field by field from the raw bytes.
#[derive(Default)]
struct Framing {
    /// The agreed `Content-Length`.
    length: Option<u64>,
    /// `Some(true)` when the last transfer coding is chunked, `Some(false)` for another one.
    chunked: Option<bool>,
    /// `Connection: close` / `keep-alive` seen.
    close: bool,
    keep_alive: bool,
    /// `Connection` names a field besides its own options (removed from the map afterwards).
    names_fields: bool,
}

impl Framing {
    fn note(&mut self, role: FieldRole, value: &[u8]) -> Result<(), ProtocolError> {
        match role {
            FieldRole::ContentLength => {
                // Every listed value must agree (RFC 9112 §6.3 item 5).
                for part in value.split(|b| *b == b',') {
                    let n = crate::framing::parse_length(part.trim_ascii())
                        .ok_or(ProtocolError("invalid content-length"))?;
                    match self.length {
                        Some(previous) if previous != n => {
                            return Err(ProtocolError("conflicting content-length values"))
                        }
                        _ => self.length = Some(n),
                    }
                }
            }
            FieldRole::TransferEncoding => {
                let last = value.rsplit(|b| *b == b',').next().unwrap_or(b"");
                self.chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            }
            FieldRole::Connection => {
                for token in value.split(|b| *b == b',').map(<[u8]>::trim_ascii) {
                    if token.eq_ignore_ascii_case(b"close") {
                        self.close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        self.keep_alive = true;
                    } else if !token.is_empty() {
                        self.names_fields = true;
                    }
                }
            }
            FieldRole::EndToEnd | FieldRole::HopByHop | FieldRole::RequestId => {}
        }
        Ok(())
    }
}

/// Parses the response head at the start of `buf`, skipping interim (1xx) responses, and
/// removes it from `buf`. `Ok(None)`: the head is not complete yet.
pub(super) fn parse_head(
    buf: &mut BytesMut,
    request_method: &Method,
) -> Result<Option<ResponseHead>, ProtocolError> {
    loop {
        // Each field's span and role, noted while httparse's borrow of `buf` lasts.
        let mut spans: SmallVec<[(Span, FieldRole); USUAL_FIELDS]> = SmallVec::new();
        let mut framing = Framing::default();
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
            for field in response.headers.iter() {
                let role = FieldRole::of(field.name.as_bytes());
                framing.note(role, field.value)?;
                let name = offset(field.name.as_ptr());
                let value = offset(field.value.as_ptr());
                spans.push((
                    (
                        name,
                        name + field.name.len() as u32,
                        value,
                        value + field.value.len() as u32,
                    ),
                    role,
                ));
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
        let head = buf.split_to(len);
        let transfer_encoded = framing.chunked.is_some();
        // Fields the backend's `Connection` names are for this hop too (rare: most name none).
        let named: Vec<&[u8]> = if framing.names_fields {
            spans[..count]
                .iter()
                .filter(|(_, role)| *role == FieldRole::Connection)
                .flat_map(|&((_, _, vs, ve), _)| {
                    head[vs as usize..ve as usize].split(|b| *b == b',')
                })
                .map(<[u8]>::trim_ascii)
                .collect()
        } else {
            Vec::new()
        };
        let mut fields = BackendFields {
            // With room for the gateway's `X-Request-Id` line.
            lines: Vec::with_capacity(len + ROOM_FOR_GATEWAY_FIELDS),
            content_length: None,
            has_date: false,
        };
        for &((ns, ne, vs, ve), role) in &spans[..count] {
            if !role.forwarded(transfer_encoded) {
                continue;
            }
            if role == FieldRole::ContentLength {
                fields.content_length = framing.length;
                continue;
            }
            let name = &head[ns as usize..ne as usize];
            if named.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                continue;
            }
            fields.has_date |= name.eq_ignore_ascii_case(b"date");
            fields.lines.extend_from_slice(name);
            fields.lines.extend_from_slice(b": ");
            fields
                .lines
                .extend_from_slice(&head[vs as usize..ve as usize]);
            fields.lines.extend_from_slice(b"\r\n");
        }
        let framing_kind = if *request_method == Method::HEAD || code == 204 || code == 304 {
            ResponseFraming::Empty
        } else if let Some(chunked) = framing.chunked {
            if chunked {
                ResponseFraming::Chunked
            } else {
                ResponseFraming::UntilClose
            }
        } else {
            match framing.length {
                Some(0) => ResponseFraming::Empty,
                Some(n) => ResponseFraming::Length(n),
                None => ResponseFraming::UntilClose,
            }
        };
        let keep_alive = framing_kind != ResponseFraming::UntilClose
            // Both framings at once is how request smuggling starts: never reuse (§6.3).
            && !(transfer_encoded && framing.length.is_some())
            && if http11 {
                !framing.close
            } else {
                framing.keep_alive
            };
        return Ok(Some(ResponseHead {
            status,
            fields,
            framing: framing_kind,
            keep_alive,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str, method: Method) -> Result<Option<ResponseHead>, ProtocolError> {
        let mut buf = BytesMut::from(raw);
        parse_head(&mut buf, &method)
    }

    #[test]
    fn request_head_replaces_framing_and_gateway_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("caller.example"));
        headers.insert("content-length", HeaderValue::from_static("999"));
        headers.insert("x-a", HeaderValue::from_static("1"));
        headers.insert("x-request-id", HeaderValue::from_static("callers-own"));
        headers.insert("x-forwarded-for", HeaderValue::from_static("10.9.9.9"));
        let gateway = GatewayFields {
            host: HeaderValue::from_static("backend:8080"),
            request_id: HeaderValue::from_static("0123"),
            forwarded_for: HeaderValue::from_static("10.9.9.9, 10.0.0.1"),
        };
        let mut buf = Vec::new();
        encode_head(
            &mut buf,
            &Method::POST,
            "/p?q=1",
            (&headers, &gateway),
            RequestFraming::Length(3),
        );
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "POST /p?q=1 HTTP/1.1\r\nhost: backend:8080\r\nx-a: 1\r\nx-request-id: 0123\r\n\
             x-forwarded-for: 10.9.9.9, 10.0.0.1\r\ncontent-length: 3\r\n\r\n"
        );
        let mut buf = Vec::new();
        encode_head(
            &mut buf,
            &Method::PUT,
            "/",
            (&HeaderMap::new(), &gateway),
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
        assert_eq!(h.fields.lines(), b"X-A: b\r\n");
        assert_eq!(h.fields.content_length(), Some(5));
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
    fn hop_by_hop_fields_stay_on_this_hop() {
        let h = parse(
            "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n\
             Proxy-Authenticate: Basic\r\nProxy-Thing: 1\r\nTE: trailers\r\nTrailer: X-T\r\n\
             Upgrade: h2c\r\nContent-Length: 2\r\nX-Kept: yes\r\nProxy: not-a-prefix\r\n\r\n",
            Method::GET,
        )
        .unwrap()
        .unwrap();
        assert_eq!(h.fields.lines(), b"X-Kept: yes\r\nProxy: not-a-prefix\r\n");
        assert_eq!(h.fields.content_length(), Some(2));
        assert!(!h.fields.has_date());
        let mut headers = HeaderMap::new();
        h.fields.append_to(&mut headers);
        let mut names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["content-length", "proxy", "x-kept"]);
        assert_eq!(headers["proxy"], "not-a-prefix");
        // A forwarded field is found by name in any case, a removed or partial one is not.
        let named = |n: &'static str| h.fields.contains(&HeaderName::from_static(n));
        assert!(named("x-kept") && named("proxy"));
        assert!(!named("x-hop") && !named("x-kep") && !named("proxy-thing"));
        assert!(h.keep_alive);
        // Transfer-Encoding overrides Content-Length: neither is forwarded.
        let h = parse(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\nX-A: 1\r\n\r\n",
            Method::GET,
        )
        .unwrap()
        .unwrap();
        assert_eq!(h.fields.lines(), b"X-A: 1\r\n");
        assert_eq!(h.fields.content_length(), None);
        // Only whole names match.
        assert_eq!(FieldRole::of(b"Connections"), FieldRole::EndToEnd);
        assert_eq!(FieldRole::of(b"tE"), FieldRole::HopByHop);
        assert_eq!(FieldRole::of(b"proxy-"), FieldRole::EndToEnd);
    }

    #[test]
    fn fields_are_removed_in_one_pass_with_their_values_handed_over() {
        let mut h = parse(
            "HTTP/1.1 200 OK\r\nX-A: 1\r\nDate: Mon\r\nx-a:  2 \r\nX-AB: 3\r\nX-C: 4\r\nContent-Length: 0\r\n\r\n",
            Method::GET,
        )
        .unwrap()
        .unwrap();
        let mut seen: Vec<(String, String)> = Vec::new();
        h.fields.remove_where(
            |name| name.eq_ignore_ascii_case(b"x-a") || name.eq_ignore_ascii_case(b"x-c"),
            |name, value| {
                let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
                seen.push((text(name), text(value)));
            },
        );
        let pairs: Vec<(&str, &str)> = seen.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        assert_eq!(pairs, [("X-A", "1"), ("x-a", "2"), ("X-C", "4")]);
        assert_eq!(h.fields.lines(), b"Date: Mon\r\nX-AB: 3\r\n");
        assert!(h.fields.has_date());
        // Nothing picked: nothing changes.
        h.fields.remove_where(|_| false, |_, _| unreachable!());
        assert_eq!(h.fields.lines(), b"Date: Mon\r\nX-AB: 3\r\n");
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
