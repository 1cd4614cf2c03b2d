//! The request head a client sends and the response head the gateway writes (RFC 9112 §2–3,
//! §6), with the strict reading that keeps request smuggling out: a head is accepted only when
//! its framing has one meaning.
//!
//! Refused outright (400, and the connection closes): both `Content-Length` and
//! `Transfer-Encoding`; disagreeing or malformed `Content-Length` values; a transfer coding
//! other than a single `chunked`, or any in HTTP/1.0; an HTTP/1.1 request without exactly one
//! `Host`; whitespace before a field's colon or obsolete line folding (httparse's defaults).

use crate::framing::{parse_length, push_number_field, Span, USUAL_FIELDS};
use crate::pipeline::{DEBUG_MODE_HEADER, STAGE_HEADER};
use crate::proxy::{APP_CODE_HEADER, FORWARDED_FOR};
use crate::upstream::BackendFields;
use bytes::BytesMut;
use http::header::{CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri, Version};
use smallvec::SmallVec;
use std::mem::MaybeUninit;

/// The largest request head read; a longer one is refused (414 when the request line alone
/// is that long, else 494). Above the pipeline's own limits (32 KiB of URI, 32 KiB of fields),
/// which give APIG's answers for heads that fit.
pub(super) const MAX_HEAD_BYTES: usize = 72 * 1024;
/// The most header fields in a request head (more: 494).
const MAX_HEADERS: usize = 128;

/// Fields a request's map may get beyond the caller's before it goes to the backend (backend
/// header parameters; the gateway's own fields go beside the map).
const ROOM_FOR_PROXY_FIELDS: usize = 4;

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BodyFraming {
    /// `Content-Length` bytes (0: no body).
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
}

/// A request head read off the connection.
#[derive(Debug)]
pub(super) struct RequestHead {
    pub parts: Parts,
    pub framing: BodyFraming,
    /// The client lets the connection carry another request (HTTP/1.1 without
    /// `Connection: close`, or HTTP/1.0 with `Connection: keep-alive`).
    pub keep_alive: bool,
    /// `Expect: 100-continue` on an HTTP/1.1 request.
    pub expect_continue: bool,
}

/// Why a request head was refused; the connection closes after the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HeadError {
    /// Malformed, or framing with more than one meaning (400); the reason is logged.
    Malformed(&'static str),
    /// The request line is longer than [`MAX_HEAD_BYTES`] (414).
    UriTooLong,
    /// The head is longer than [`MAX_HEAD_BYTES`] or has too many fields (494).
    TooLarge,
}

impl HeadError {
    /// What was wrong, for the log.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Malformed(reason) => reason,
            Self::UriTooLong => "request line too long",
            Self::TooLarge => "request head too large",
        }
    }
}

/// Framing facts gathered field by field.
#[derive(Default)]
struct Facts {
    length: Option<u64>,
    /// Transfer-Encoding values seen, and whether all of them together say exactly `chunked`.
    transfer_encodings: u8,
    chunked: bool,
    hosts: u8,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
}

impl Facts {
    fn note(&mut self, name: &[u8], value: &[u8]) -> Result<(), HeadError> {
        let is = |known: &[u8]| name.eq_ignore_ascii_case(known);
        match name.len() {
            14 if is(b"content-length") => {
                // Every listed value must agree (RFC 9112 §6.3 item 5).
                for part in value.split(|b| *b == b',') {
                    let n = parse_length(part.trim_ascii())
                        .ok_or(HeadError::Malformed("invalid content-length"))?;
                    if self.length.is_some_and(|previous| previous != n) {
                        return Err(HeadError::Malformed("conflicting content-length values"));
                    }
                    self.length = Some(n);
                }
            }
            17 if is(b"transfer-encoding") => {
                self.transfer_encodings = self.transfer_encodings.saturating_add(1);
                self.chunked = value.trim_ascii().eq_ignore_ascii_case(b"chunked");
            }
            4 if is(b"host") => self.hosts = self.hosts.saturating_add(1),
            10 if is(b"connection") => {
                for token in value.split(|b| *b == b',').map(<[u8]>::trim_ascii) {
                    if token.eq_ignore_ascii_case(b"close") {
                        self.close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        self.keep_alive = true;
                    }
                }
            }
            6 if is(b"expect") => {
                self.expect_continue = value.trim_ascii().eq_ignore_ascii_case(b"100-continue");
            }
            _ => {}
        }
        Ok(())
    }
}

/// The gateway's own request fields: named here without an allocation (`HeaderName` copies
/// every name outside the standard set), since nearly every API call carries one or two.
static GATEWAY_FIELDS: [HeaderName; 6] = [
    APP_CODE_HEADER,
    HeaderName::from_static(apigw_signing::DATE_HEADER),
    HeaderName::from_static(apigw_signing::CONTENT_SHA256_HEADER),
    STAGE_HEADER,
    DEBUG_MODE_HEADER,
    FORWARDED_FOR,
];

/// A field name as a `HeaderName`; the gateway's own fields from [`GATEWAY_FIELDS`].
fn header_name(raw: &[u8]) -> Result<HeaderName, http::header::InvalidHeaderName> {
    let known = GATEWAY_FIELDS.iter().find(|known| {
        known.as_str().len() == raw.len() && raw.eq_ignore_ascii_case(known.as_str().as_bytes())
    });
    match known {
        Some(name) => Ok(name.clone()),
        None => HeaderName::from_bytes(raw),
    }
}

/// Parses the request head at the start of `buf` and removes it from `buf`.
/// `Ok(None)`: the head is not complete yet.
pub(super) fn parse(buf: &mut BytesMut) -> Result<Option<RequestHead>, HeadError> {
    let mut spans: SmallVec<[Span; USUAL_FIELDS]> = SmallVec::new();
    let mut facts = Facts::default();
    let (len, method, target, http11, count) = {
        let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut []);
        let parsed = httparse::ParserConfig::default().parse_request_with_uninit_headers(
            &mut request,
            buf,
            &mut fields,
        );
        let len = match parsed {
            Ok(httparse::Status::Complete(len)) if len > MAX_HEAD_BYTES => {
                return Err(too_large(buf))
            }
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_BYTES => {
                return Err(too_large(buf))
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
            Err(httparse::Error::Version) => {
                return Err(HeadError::Malformed("unsupported HTTP version"))
            }
            Err(_) => return Err(HeadError::Malformed("malformed request head")),
        };
        // Offsets fit in u32: a head is at most MAX_HEAD_BYTES long.
        let base = buf.as_ptr() as usize;
        let offset = |p: *const u8| (p as usize - base) as u32;
        for field in request.headers.iter() {
            facts.note(field.name.as_bytes(), field.value)?;
            let name = offset(field.name.as_ptr());
            let value = offset(field.value.as_ptr());
            spans.push((
                name,
                name + field.name.len() as u32,
                value,
                value + field.value.len() as u32,
            ));
        }
        let method = Method::from_bytes(request.method.unwrap_or_default().as_bytes())
            .map_err(|_| HeadError::Malformed("invalid method"))?;
        let path = request.path.unwrap_or_default();
        let target = offset(path.as_ptr())..offset(path.as_ptr()) + path.len() as u32;
        (
            len,
            method,
            target,
            request.version == Some(1),
            request.headers.len(),
        )
    };
    let framing = match (facts.transfer_encodings, facts.length) {
        (0, length) => BodyFraming::Length(length.unwrap_or(0)),
        (_, Some(_)) => {
            return Err(HeadError::Malformed(
                "both content-length and transfer-encoding",
            ))
        }
        (1, None) if facts.chunked && http11 => BodyFraming::Chunked,
        _ => return Err(HeadError::Malformed("unsupported transfer-encoding")),
    };
    if http11 && facts.hosts != 1 {
        return Err(HeadError::Malformed("an HTTP/1.1 request needs one host"));
    }
    if facts.hosts > 1 {
        return Err(HeadError::Malformed("more than one host"));
    }

    let head = buf.split_to(len).freeze();
    let uri = Uri::from_maybe_shared(head.slice(target.start as usize..target.end as usize))
        .map_err(|_| HeadError::Malformed("invalid request target"))?;
    // Room for what the proxy phase adds (Host is replaced; X-Request-Id, X-Forwarded-For and
    // a few backend parameters are new): growing the map would rehash it.
    let mut headers = HeaderMap::with_capacity(count + ROOM_FOR_PROXY_FIELDS);
    for &(ns, ne, vs, ve) in &spans[..count] {
        let name = header_name(&head[ns as usize..ne as usize])
            .map_err(|_| HeadError::Malformed("invalid header name"))?;
        let value = HeaderValue::from_maybe_shared(head.slice(vs as usize..ve as usize))
            .map_err(|_| HeadError::Malformed("invalid header value"))?;
        headers.append(name, value);
    }
    let (mut parts, ()) = Request::new(()).into_parts();
    parts.method = method;
    parts.uri = uri;
    parts.version = if http11 {
        Version::HTTP_11
    } else {
        Version::HTTP_10
    };
    parts.headers = headers;
    Ok(Some(RequestHead {
        parts,
        framing,
        keep_alive: if http11 {
            !facts.close
        } else {
            facts.keep_alive && !facts.close
        },
        expect_continue: http11 && facts.expect_continue,
    }))
}

/// A request head being read: how much of the buffer is known not to hold its end.
///
/// Exists so a head that arrives in many small reads (a slow or hostile client) is parsed
/// once its blank line can be there, not again from its start after every read, which would
/// cost time quadratic in its length. A head that arrives whole is parsed at once.
#[derive(Debug, Default)]
pub(super) struct HeadProgress {
    /// Bytes at the start of the buffer that hold no end of head (0: parse at once).
    searched: usize,
}

impl HeadProgress {
    /// [`parse`], skipped while the bytes read since the last attempt cannot end the head
    /// (a malformed head is then refused once its end or the size limit arrives).
    pub(super) fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<RequestHead>, HeadError> {
        if self.searched > 0 && buf.len() <= MAX_HEAD_BYTES {
            // Two bytes back: the blank line may straddle two reads.
            if !ends_head(&buf[self.searched.saturating_sub(2)..]) {
                self.searched = buf.len();
                return Ok(None);
            }
        }
        let parsed = parse(buf);
        self.searched = match parsed {
            Ok(None) => buf.len(),
            _ => 0,
        };
        parsed
    }
}

/// Whether `bytes` hold the blank line that ends a head (`\n\n` or `\n\r\n`: httparse takes
/// bare line feeds as line ends).
fn ends_head(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    while let Some(at) = rest.iter().position(|b| *b == b'\n') {
        rest = &rest[at + 1..];
        if rest.starts_with(b"\n") || rest.starts_with(b"\r\n") {
            return true;
        }
    }
    false
}

/// 414 when the request line has not ended within the limit, else 494.
fn too_large(buf: &[u8]) -> HeadError {
    let line_ends = buf[..buf.len().min(MAX_HEAD_BYTES)].contains(&b'\n');
    if line_ends {
        HeadError::TooLarge
    } else {
        HeadError::UriTooLong
    }
}

/// Whether `bytes` could be the start of HTTP/2's connection preface (all of it: it is).
pub(super) fn is_h2_preface_start(bytes: &[u8]) -> bool {
    let n = bytes.len().min(H2_PREFACE.len());
    bytes[..n] == H2_PREFACE[..n]
}

/// What an HTTP/2 client with prior knowledge sends first (RFC 9113 §3.4).
pub(super) const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How the response body goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ResponseFraming {
    /// No body bytes follow the head (HEAD, 204, 304); the fields are written as they are.
    Bodiless,
    /// `Content-Length` bytes.
    Length(u64),
    /// Chunked transfer coding (HTTP/1.1 clients, unknown length).
    Chunked,
    /// Until the gateway closes the connection (HTTP/1.0 clients, unknown length).
    UntilClose,
}

/// What the response head is made of besides the framing.
pub(super) struct ResponseFields<'a> {
    pub status: StatusCode,
    /// The gateway's fields (all of them for its own answers).
    pub headers: &'a HeaderMap,
    /// A backend's fields, written as received.
    pub backend: Option<&'a BackendFields>,
}

/// Writes the status line and fields of a response into `buf`: the backend's and the
/// response's own fields (without framing fields, which `framing` decides), `Date` when
/// neither has one, and `Connection` as the connection's fate requires.
pub(super) fn encode_response_head(
    buf: &mut Vec<u8>,
    response: &ResponseFields<'_>,
    framing: ResponseFraming,
    keep_alive: bool,
    http10: bool,
) {
    let ResponseFields {
        status,
        headers,
        backend,
    } = *response;
    buf.extend_from_slice(b"HTTP/1.1 ");
    buf.extend_from_slice(status.as_str().as_bytes());
    buf.push(b' ');
    buf.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    buf.extend_from_slice(b"\r\n");
    let bodiless = framing == ResponseFraming::Bodiless;
    let mut has_date = headers.contains_key(DATE);
    if let Some(backend) = backend {
        buf.extend_from_slice(backend.lines());
        has_date |= backend.has_date();
        if let (Some(n), true) = (backend.content_length(), bodiless) {
            // A HEAD response tells the length a GET would have.
            push_number_field(buf, b"content-length", n);
        }
    }
    for (name, value) in headers {
        // A bodiless response keeps its Content-Length (HEAD: the length a GET would have).
        if (name == CONTENT_LENGTH && !bodiless) || name == TRANSFER_ENCODING {
            continue;
        }
        if name == http::header::CONNECTION {
            continue;
        }
        buf.extend_from_slice(name.as_str().as_bytes());
        buf.extend_from_slice(b": ");
        buf.extend_from_slice(value.as_bytes());
        buf.extend_from_slice(b"\r\n");
    }
    if !has_date {
        buf.extend_from_slice(b"date: ");
        date::write(buf);
        buf.extend_from_slice(b"\r\n");
    }
    match framing {
        ResponseFraming::Bodiless | ResponseFraming::UntilClose => {}
        ResponseFraming::Length(n) => push_number_field(buf, b"content-length", n),
        ResponseFraming::Chunked => buf.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    if !keep_alive {
        buf.extend_from_slice(b"connection: close\r\n");
    } else if http10 {
        buf.extend_from_slice(b"connection: keep-alive\r\n");
    }
    buf.extend_from_slice(b"\r\n");
}

/// The `Date` field value, formatted once a second per thread.
mod date {
    use std::cell::RefCell;
    use std::time::{SystemTime, UNIX_EPOCH};

    /// "Sun, 06 Nov 1994 08:49:37 GMT" is 29 bytes.
    const LEN: usize = 29;

    thread_local! {
        static CACHED: RefCell<(u64, [u8; LEN])> = const { RefCell::new((u64::MAX, [0; LEN])) };
    }

    /// Appends the current date in IMF-fixdate form.
    pub fn write(buf: &mut Vec<u8>) {
        let now = SystemTime::now();
        let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        CACHED.with_borrow_mut(|(cached_second, text)| {
            if *cached_second != second {
                let formatted = httpdate::fmt_http_date(now);
                if formatted.len() == LEN {
                    text.copy_from_slice(formatted.as_bytes());
                    *cached_second = second;
                }
            }
            buf.extend_from_slice(text);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(status: StatusCode, headers: &HeaderMap) -> ResponseFields<'_> {
        ResponseFields {
            status,
            headers,
            backend: None,
        }
    }

    #[test]
    fn gateway_field_names_are_recognised_in_any_case() {
        for raw in ["x-apig-appcode", "X-Apig-AppCode", "X-APIG-APPCODE"] {
            assert_eq!(header_name(raw.as_bytes()).unwrap(), "x-apig-appcode");
        }
        assert_eq!(header_name(b"X-Sdk-Date").unwrap(), "x-sdk-date");
        assert_eq!(header_name(b"X-Other").unwrap(), "x-other");
        assert_eq!(header_name(b"Host").unwrap(), http::header::HOST);
        assert!(header_name(b"bad name").is_err());
    }

    fn parse_str(raw: &str) -> Result<Option<RequestHead>, HeadError> {
        parse(&mut BytesMut::from(raw))
    }

    fn malformed(raw: &str) -> &'static str {
        match parse_str(raw) {
            Err(HeadError::Malformed(reason)) => reason,
            other => panic!("{raw:?} gave {other:?}"),
        }
    }

    #[test]
    fn a_request_head_becomes_parts_and_leaves_the_body_in_the_buffer() {
        let mut buf = BytesMut::from(
            "POST /a/b?x=1 HTTP/1.1\r\nHost: api.example\r\nContent-Length: 4\r\nX-Custom: v\r\n\r\nbodyGET",
        );
        let head = parse(&mut buf).unwrap().unwrap();
        assert_eq!(head.parts.method, Method::POST);
        assert_eq!(head.parts.uri, "/a/b?x=1");
        assert_eq!(head.parts.version, Version::HTTP_11);
        assert_eq!(head.parts.headers["host"], "api.example");
        assert_eq!(head.parts.headers["x-custom"], "v");
        assert_eq!(head.framing, BodyFraming::Length(4));
        assert!(head.keep_alive);
        assert!(!head.expect_continue);
        assert_eq!(&buf[..], b"bodyGET");
    }

    #[test]
    fn partial_heads_wait_and_keep_alive_follows_the_version() {
        assert!(parse_str("GET / HTTP/1.1\r\nHost: a\r\n")
            .unwrap()
            .is_none());
        let close = parse_str("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        assert!(!close.unwrap().unwrap().keep_alive);
        let old = parse_str("GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert!(!old.keep_alive);
        assert_eq!(old.parts.version, Version::HTTP_10);
        let old_kept = parse_str("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        assert!(old_kept.unwrap().unwrap().keep_alive);
        let expect = parse_str(
            "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
        );
        assert!(expect.unwrap().unwrap().expect_continue);
        let chunked = parse_str("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n");
        assert_eq!(chunked.unwrap().unwrap().framing, BodyFraming::Chunked);
    }

    #[test]
    fn framing_with_two_meanings_is_refused() {
        for raw in [
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 5\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n",
            "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
            "GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n",
        ] {
            malformed(raw);
        }
        // Agreeing repeats are one length.
        let same = parse_str(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n",
        );
        assert_eq!(same.unwrap().unwrap().framing, BodyFraming::Length(4));
    }

    /// Feeds `wire` to a [`HeadProgress`] in pieces of `step` bytes until it gives an answer.
    fn progressive(wire: &[u8], step: usize) -> (Result<Option<RequestHead>, HeadError>, BytesMut) {
        let mut progress = HeadProgress::default();
        let mut buf = BytesMut::new();
        for piece in wire.chunks(step) {
            buf.extend_from_slice(piece);
            match progress.parse(&mut buf) {
                Ok(None) => {}
                answer => return (answer, buf),
            }
        }
        (Ok(None), buf)
    }

    #[test]
    fn a_head_read_in_small_pieces_is_parsed_once_it_can_be_complete() {
        let mut progress = HeadProgress::default();
        let mut buf = BytesMut::from("GET / HTTP/1.1\r\nHost: a\r");
        assert!(progress.parse(&mut buf).unwrap().is_none());
        assert_eq!(progress.searched, buf.len());
        // Fields that do not end the head are searched, not parsed: even a malformed one
        // waits (it is refused once the blank line or the size limit arrives).
        buf.extend_from_slice(b"\nBad Name: x\r\n\r");
        assert!(progress.parse(&mut buf).unwrap().is_none());
        assert_eq!(progress.searched, buf.len());
        buf.extend_from_slice(b"\n");
        assert_eq!(
            progress.parse(&mut buf).unwrap_err(),
            HeadError::Malformed("malformed request head")
        );
        // Bare line feeds end a head too.
        for step in [1, 5, 100] {
            let (head, rest) = progressive(b"GET /x HTTP/1.1\nHost: a\n\nNEXT", step);
            assert_eq!(head.unwrap().unwrap().parts.uri, "/x");
            assert!(b"NEXT".starts_with(&rest), "{rest:?}");
        }
        // Past the size limit the answer comes without a blank line.
        let endless = format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX: {}",
            "a".repeat(MAX_HEAD_BYTES)
        );
        assert_eq!(
            progressive(endless.as_bytes(), 4096).0.unwrap_err(),
            HeadError::TooLarge
        );
    }

    proptest::proptest! {
        #[test]
        fn a_head_in_pieces_reads_as_the_whole_head(
            fields in proptest::collection::vec(("[a-z][a-z0-9-]{0,12}", "[ -~]{0,24}"), 0..8),
            bare_line_feeds in proptest::bool::ANY,
            step in 1usize..48,
        ) {
            let eol = if bare_line_feeds { "\n" } else { "\r\n" };
            let mut wire = format!("POST /p?q=1 HTTP/1.1{eol}Host: h{eol}");
            for (name, value) in &fields {
                wire.push_str(&format!("x-{name}: {value}{eol}"));
            }
            wire.push_str(&format!("Content-Length: 3{eol}{eol}abc"));
            let whole = parse(&mut BytesMut::from(wire.as_str()));
            let (pieces, rest) = progressive(wire.as_bytes(), step);
            match (whole, pieces) {
                (Ok(Some(a)), Ok(Some(b))) => {
                    proptest::prop_assert_eq!(a.parts.uri, b.parts.uri);
                    proptest::prop_assert_eq!(a.parts.headers, b.parts.headers);
                    proptest::prop_assert_eq!(a.framing, b.framing);
                    proptest::prop_assert!(b"abc".starts_with(&rest), "{:?}", rest);
                }
                (Err(a), Err(b)) => proptest::prop_assert_eq!(a, b),
                (a, b) => proptest::prop_assert!(false, "whole {:?}, in pieces {:?}", a, b),
            }
        }

        #[test]
        fn any_bytes_give_a_head_an_error_or_a_wait(
            wire in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
            step in 1usize..32,
        ) {
            let _ = progressive(&wire, step);
            let _ = parse(&mut BytesMut::from(&wire[..]));
        }
    }

    #[test]
    fn oversized_heads_are_told_apart() {
        let long_line = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_HEAD_BYTES));
        assert_eq!(parse_str(&long_line).unwrap_err(), HeadError::UriTooLong);
        let long_field = format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n",
            "a".repeat(MAX_HEAD_BYTES)
        );
        assert_eq!(parse_str(&long_field).unwrap_err(), HeadError::TooLarge);
        let many = format!(
            "GET / HTTP/1.1\r\nHost: a\r\n{}\r\n",
            "X: 1\r\n".repeat(MAX_HEADERS)
        );
        assert_eq!(parse_str(&many).unwrap_err(), HeadError::TooLarge);
    }

    #[test]
    fn the_h2_preface_is_recognised_from_its_first_bytes() {
        assert!(is_h2_preface_start(b"PRI * HT"));
        assert!(is_h2_preface_start(H2_PREFACE));
        assert!(!is_h2_preface_start(b"GET / HTTP/1.1"));
        assert!(!is_h2_preface_start(b"PRX"));
    }

    #[test]
    fn response_heads_carry_the_framing_the_body_needs() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("text/plain"));
        headers.insert("content-length", HeaderValue::from_static("999"));
        headers.insert("connection", HeaderValue::from_static("keep-alive"));
        let mut buf = Vec::new();
        encode_response_head(
            &mut buf,
            &fields(StatusCode::OK, &headers),
            ResponseFraming::Length(5),
            true,
            false,
        );
        let text = String::from_utf8(buf).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: "));
        assert!(
            text.ends_with(" GMT\r\ncontent-length: 5\r\n\r\n"),
            "{text}"
        );
        assert!(!text.contains("999") && !text.contains("connection"));

        let mut buf = Vec::new();
        headers.insert(
            DATE,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        encode_response_head(
            &mut buf,
            &fields(StatusCode::OK, &headers),
            ResponseFraming::Bodiless,
            false,
            false,
        );
        let text = String::from_utf8(buf).unwrap();
        assert!(text.contains("content-length: 999\r\n"), "{text}");
        assert!(text.ends_with("connection: close\r\n\r\n"), "{text}");
        assert_eq!(text.matches("date:").count(), 1);

        let mut buf = Vec::new();
        encode_response_head(
            &mut buf,
            &fields(StatusCode::from_u16(499).unwrap(), &HeaderMap::new()),
            ResponseFraming::Chunked,
            true,
            true,
        );
        let text = String::from_utf8(buf).unwrap();
        assert!(text.starts_with("HTTP/1.1 499 \r\n"), "{text}");
        assert!(text.ends_with("transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n"));
    }
}
