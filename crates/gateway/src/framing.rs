//! HTTP/1.1 message framing that both sides of the proxy share (RFC 9112 §6–7): the
//! `Content-Length` value, the body decoder (length, chunked, until close) working on a
//! connection's read buffer, chunk-size lines, vectored writes, and how a parsed head's
//! fields are noted.
//!
//! Exists once so the caller's request body ([`server`](crate::server)) and the backend's
//! response body ([`upstream`](crate::upstream)) are cut from their streams by the same code.

/// A field's place in a head: name start and end, value start and end.
pub(crate) type Span = (u32, u32, u32, u32);

/// Fields a head usually has at most: the spans of that many stay inline (more are fine, and
/// cost an allocation), instead of an array of the maximum zeroed for every head.
pub(crate) const USUAL_FIELDS: usize = 24;

use bytes::{Buf, Bytes, BytesMut};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

/// The longest chunk-size line accepted (size, extensions and CRLF).
const MAX_CHUNK_LINE: usize = 4 * 1024;
/// The largest trailer section accepted after the last chunk (its fields are dropped).
const MAX_TRAILER_BYTES: usize = 64 * 1024;

/// A `Content-Length` value: 1 to 19 digits, nothing else.
pub(crate) fn parse_length(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0')),
    )
}

/// Where a body decoder stands in its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decoder {
    /// This many bytes are still to come (`Content-Length`).
    Length(u64),
    /// Chunked transfer coding.
    Chunked(Chunk),
    /// Everything until the peer closes (responses only).
    UntilClose,
}

/// The part of a chunked body expected next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// A chunk-size line.
    Size,
    /// This many bytes of chunk data.
    Data(u64),
    /// The CRLF after chunk data.
    DataEnd,
    /// The trailer section after the last chunk; the count is how much of the buffer was
    /// already searched for its end (a trailer that arrives in small reads is searched once,
    /// not again from its start after every read).
    Trailers(u32),
    /// The message is complete.
    Done,
}

/// What the buffered bytes yielded.
#[derive(Debug)]
pub(crate) enum Decoded {
    /// A piece of the body, taken out of the buffer.
    Data(Bytes),
    /// The body is complete; the buffer holds what follows the message.
    End,
    /// More bytes must be read first.
    NeedMore,
}

impl Decoder {
    /// The chunked decoder at the start of a body.
    pub const CHUNKED: Self = Self::Chunked(Chunk::Size);

    /// Takes what `read` holds of the body. Errors name the framing rule the peer broke.
    pub fn decode(&mut self, read: &mut BytesMut) -> Result<Decoded, &'static str> {
        loop {
            match self {
                Self::Length(0) | Self::Chunked(Chunk::Done) => return Ok(Decoded::End),
                Self::Length(remaining) | Self::Chunked(Chunk::Data(remaining)) => {
                    if read.is_empty() {
                        return Ok(Decoded::NeedMore);
                    }
                    let n = read
                        .len()
                        .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                    let data = read.split_to(n).freeze();
                    *remaining -= n as u64;
                    if *remaining == 0 && matches!(self, Self::Chunked(_)) {
                        *self = Self::Chunked(Chunk::DataEnd);
                    }
                    return Ok(Decoded::Data(data));
                }
                Self::UntilClose => {
                    if read.is_empty() {
                        return Ok(Decoded::NeedMore);
                    }
                    return Ok(Decoded::Data(read.split().freeze()));
                }
                // The line is parsed once it has ended: a line that arrives in small reads
                // is not parsed again from its start after every read.
                Self::Chunked(Chunk::Size) if !read.contains(&b'\n') => {
                    if read.len() > MAX_CHUNK_LINE {
                        return Err("chunk size line too long");
                    }
                    return Ok(Decoded::NeedMore);
                }
                Self::Chunked(Chunk::Size) => match httparse::parse_chunk_size(read) {
                    Ok(httparse::Status::Complete((line, size))) => {
                        read.advance(line);
                        *self = Self::Chunked(if size == 0 {
                            Chunk::Trailers(0)
                        } else {
                            Chunk::Data(size)
                        });
                    }
                    Ok(httparse::Status::Partial) if read.len() > MAX_CHUNK_LINE => {
                        return Err("chunk size line too long")
                    }
                    Ok(httparse::Status::Partial) => return Ok(Decoded::NeedMore),
                    Err(_) => return Err("invalid chunk size"),
                },
                Self::Chunked(Chunk::DataEnd) => {
                    if read.len() < 2 {
                        return Ok(Decoded::NeedMore);
                    }
                    if !read.starts_with(b"\r\n") {
                        return Err("chunk not followed by CRLF");
                    }
                    read.advance(2);
                    *self = Self::Chunked(Chunk::Size);
                }
                Self::Chunked(Chunk::Trailers(searched)) => {
                    // Trailer fields are dropped (none is forwarded: `Trailer` is hop-by-hop).
                    let end = if read.starts_with(b"\r\n") {
                        Some(2)
                    } else {
                        // Resumed three bytes back: the end may straddle two reads.
                        let from = (*searched as usize).saturating_sub(3);
                        read[from..]
                            .windows(4)
                            .position(|w| w == b"\r\n\r\n")
                            .map(|p| from + p + 4)
                    };
                    match end {
                        Some(end) => {
                            read.advance(end);
                            *self = Self::Chunked(Chunk::Done);
                        }
                        None if read.len() > MAX_TRAILER_BYTES => {
                            return Err("trailer section too large")
                        }
                        None => {
                            // At most MAX_TRAILER_BYTES here, so it fits.
                            *searched = read.len() as u32;
                            return Ok(Decoded::NeedMore);
                        }
                    }
                }
            }
        }
    }

    /// Whether the whole body has been taken.
    pub fn is_done(&self) -> bool {
        matches!(self, Self::Length(0) | Self::Chunked(Chunk::Done))
    }

    /// The number of body bytes still to come, when the framing says.
    pub fn exact_remaining(&self) -> Option<u64> {
        match self {
            Self::Length(n) => Some(*n),
            Self::Chunked(Chunk::Done) => Some(0),
            _ => None,
        }
    }
}

/// Why a body could not be read to its end.
#[derive(Debug)]
pub(crate) enum BodyFailure {
    /// The peer broke the framing (the rule it broke).
    Framing(&'static str),
    /// The peer closed the connection before the body was complete.
    Closed,
    /// Reading failed.
    Io(io::Error),
}

/// The next piece of a body framed by `decoder`: from the bytes in `buf`, else from `io`
/// (read into `buf`, which grows by `grow` bytes when it runs low). `Ok(None)`: the body is
/// complete (for [`Decoder::UntilClose`], at the end of the stream).
pub(crate) fn poll_body<R: AsyncRead + Unpin>(
    decoder: &mut Decoder,
    buf: &mut BytesMut,
    io: &mut R,
    grow: usize,
    cx: &mut Context<'_>,
) -> Poll<Result<Option<Bytes>, BodyFailure>> {
    loop {
        match decoder.decode(buf) {
            Ok(Decoded::Data(data)) => return Poll::Ready(Ok(Some(data))),
            Ok(Decoded::End) => return Poll::Ready(Ok(None)),
            Ok(Decoded::NeedMore) => {}
            Err(rule) => return Poll::Ready(Err(BodyFailure::Framing(rule))),
        }
        if buf.capacity() - buf.len() < grow / 2 {
            buf.reserve(grow);
        }
        match ready!(tokio_util::io::poll_read_buf(Pin::new(&mut *io), cx, buf)) {
            Ok(0) if *decoder == Decoder::UntilClose => return Poll::Ready(Ok(None)),
            Ok(0) => return Poll::Ready(Err(BodyFailure::Closed)),
            Ok(_) => {}
            Err(e) => return Poll::Ready(Err(BodyFailure::Io(e))),
        }
    }
}

/// `<size in hex>\r\n`, formatted without allocating.
pub(crate) struct ChunkSizeLine {
    bytes: [u8; 18],
    len: usize,
}

impl ChunkSizeLine {
    /// The line that introduces a chunk of `size` bytes.
    pub fn new(size: usize) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut bytes = [0u8; 18];
        let digits = (usize::BITS - size.leading_zeros()).div_ceil(4).max(1) as usize;
        for (i, byte) in bytes[..digits].iter_mut().enumerate() {
            *byte = HEX[(size >> (4 * (digits - 1 - i))) & 0xf];
        }
        bytes[digits..digits + 2].copy_from_slice(b"\r\n");
        Self {
            bytes,
            len: digits + 2,
        }
    }

    /// The line's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Appends `name: <n>\r\n` (a field with a decimal value, such as `Content-Length`) without
/// going through `fmt`.
pub(crate) fn push_number_field(buf: &mut Vec<u8>, name: &[u8], n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    buf.extend_from_slice(name);
    buf.extend_from_slice(b": ");
    buf.extend_from_slice(&digits[at..]);
    buf.extend_from_slice(b"\r\n");
}

/// The chunked coding's last chunk with an empty trailer section.
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Writes all of `parts` (at most four; empty ones are skipped) with as few vectored writes as
/// the socket allows.
pub(crate) async fn write_parts<W: AsyncWrite + Unpin>(
    io: &mut W,
    parts: &[&[u8]],
) -> io::Result<()> {
    let mut storage = [IoSlice::new(&[]); 4];
    let mut count = 0;
    for part in parts.iter().filter(|p| !p.is_empty()) {
        storage[count] = IoSlice::new(part);
        count += 1;
    }
    let mut slices = &mut storage[..count];
    while !slices.is_empty() {
        let n = io.write_vectored(slices).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut slices, n);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `wire` to a decoder in pieces of `step` bytes; the body and what is left over.
    fn run(mut decoder: Decoder, wire: &[u8], step: usize) -> Result<(Vec<u8>, Vec<u8>), &str> {
        let mut buf = BytesMut::new();
        let mut body = Vec::new();
        let mut fed = 0;
        loop {
            match decoder.decode(&mut buf)? {
                Decoded::Data(d) => body.extend_from_slice(&d),
                Decoded::End => return Ok((body, buf.to_vec())),
                Decoded::NeedMore if fed >= wire.len() => return Err("incomplete"),
                Decoded::NeedMore => {
                    let end = (fed + step).min(wire.len());
                    buf.extend_from_slice(&wire[fed..end]);
                    fed = end;
                }
            }
        }
    }

    #[test]
    fn lengths_are_plain_digits() {
        assert_eq!(parse_length(b"0"), Some(0));
        assert_eq!(parse_length(b"1234"), Some(1234));
        for bad in [
            &b""[..],
            b"-1",
            b"+1",
            b" 1",
            b"1 ",
            b"0x10",
            b"12345678901234567890",
        ] {
            assert_eq!(parse_length(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bodies_are_cut_at_their_framing_whatever_the_read_sizes() {
        let chunked = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: 1\r\n\r\nNEXT";
        for step in [1, 2, 3, 7, 100] {
            // What is left over is what was fed past the body: a prefix of the next message.
            let (body, rest) = run(Decoder::CHUNKED, chunked, step).unwrap();
            assert_eq!(body, b"hello world");
            assert!(b"NEXT".starts_with(&rest), "step {step}: {rest:?}");
            let (body, rest) = run(Decoder::Length(5), b"helloNEXT", step).unwrap();
            assert_eq!(body, b"hello");
            assert!(b"NEXT".starts_with(&rest), "step {step}: {rest:?}");
        }
        assert_eq!(
            run(Decoder::CHUNKED, b"0\r\n\r\n", 1).unwrap(),
            (vec![], vec![])
        );
    }

    #[test]
    fn broken_chunked_framing_is_an_error() {
        for bad in [
            &b"zz\r\nhello\r\n"[..],
            b"5\r\nhelloXX0\r\n\r\n",
            b"-5\r\nhello\r\n",
            b"10000000000000000\r\n",
        ] {
            assert!(run(Decoder::CHUNKED, bad, 100).is_err(), "{bad:?}");
        }
        let long_line = [b"5;".as_slice(), &[b'x'; 5000]].concat();
        assert_eq!(
            run(Decoder::CHUNKED, &long_line, 100),
            Err("chunk size line too long")
        );
    }

    #[test]
    fn a_trailer_read_in_small_pieces_is_searched_once() {
        let mut decoder = Decoder::CHUNKED;
        let mut buf = BytesMut::from(&b"0\r\nx-trailer: 1\r\n"[..]);
        assert!(matches!(decoder.decode(&mut buf), Ok(Decoded::NeedMore)));
        // The search resumes where it stopped (three bytes back), not at the trailer's start.
        assert_eq!(decoder, Decoder::Chunked(Chunk::Trailers(14)));
        for piece in [&b"y: 2"[..], b"\r", b"\n", b"\r"] {
            buf.extend_from_slice(piece);
            assert!(matches!(decoder.decode(&mut buf), Ok(Decoded::NeedMore)));
            assert_eq!(decoder, Decoder::Chunked(Chunk::Trailers(buf.len() as u32)));
        }
        buf.extend_from_slice(b"\nNEXT");
        assert!(matches!(decoder.decode(&mut buf), Ok(Decoded::End)));
        assert_eq!(&buf[..], b"NEXT");
    }

    #[test]
    fn a_chunk_size_line_waits_for_its_end_up_to_the_limit() {
        let mut decoder = Decoder::CHUNKED;
        let mut buf = BytesMut::from(&b"5;ext"[..]);
        assert!(matches!(decoder.decode(&mut buf), Ok(Decoded::NeedMore)));
        buf.extend_from_slice(&[b'x'; MAX_CHUNK_LINE]);
        assert_eq!(
            decoder.decode(&mut buf).unwrap_err(),
            "chunk size line too long"
        );
    }

    /// A body in the chunked coding: the chunks' sizes, an extension on some, a trailer.
    fn chunked_wire(body: &[u8], sizes: &[usize], trailer: bool) -> Vec<u8> {
        let mut wire = Vec::new();
        let mut rest = body;
        for (i, size) in sizes.iter().cycle().enumerate() {
            if rest.is_empty() {
                break;
            }
            let (chunk, after) = rest.split_at((*size).clamp(1, rest.len()));
            wire.extend_from_slice(ChunkSizeLine::new(chunk.len()).as_bytes());
            if i % 3 == 1 {
                // An extension goes between the size and the line end.
                wire.truncate(wire.len() - 2);
                wire.extend_from_slice(b";name=value\r\n");
            }
            wire.extend_from_slice(chunk);
            wire.extend_from_slice(b"\r\n");
            rest = after;
        }
        wire.extend_from_slice(b"0\r\n");
        if trailer {
            wire.extend_from_slice(b"x-checksum: abc\r\nx-other: 1\r\n");
        }
        wire.extend_from_slice(b"\r\n");
        wire
    }

    proptest::proptest! {
        #[test]
        fn chunked_bodies_decode_whatever_the_chunks_and_read_sizes(
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
            sizes in proptest::collection::vec(1usize..200, 1..8),
            trailer in proptest::bool::ANY,
            step in 1usize..64,
        ) {
            let mut wire = chunked_wire(&body, &sizes, trailer);
            wire.extend_from_slice(b"NEXT");
            let (decoded, rest) = run(Decoder::CHUNKED, &wire, step).unwrap();
            proptest::prop_assert_eq!(decoded, body);
            proptest::prop_assert!(b"NEXT".starts_with(&rest), "{:?}", rest);
        }

        #[test]
        fn any_bytes_give_a_body_an_error_or_a_wait_never_more_than_was_sent(
            wire in proptest::collection::vec(proptest::num::u8::ANY, 0..400),
            step in 1usize..32,
        ) {
            if let Ok((body, rest)) = run(Decoder::CHUNKED, &wire, step) {
                proptest::prop_assert!(body.len() + rest.len() <= wire.len());
            }
        }
    }

    #[test]
    fn number_fields_are_decimal() {
        let mut buf = Vec::new();
        for n in [0, 7, 10, 1234567890, u64::MAX] {
            buf.clear();
            push_number_field(&mut buf, b"content-length", n);
            assert_eq!(buf, format!("content-length: {n}\r\n").into_bytes());
        }
    }

    #[test]
    fn chunk_size_lines_are_hex() {
        for n in [1, 9, 10, 16, 4095, 4096, 1 << 40] {
            assert_eq!(
                ChunkSizeLine::new(n).as_bytes(),
                format!("{n:x}\r\n").as_bytes()
            );
        }
        assert_eq!(ChunkSizeLine::new(0).as_bytes(), b"0\r\n");
        assert_eq!(ChunkSizeLine::new(255).as_bytes(), b"ff\r\n");
        assert_eq!(
            ChunkSizeLine::new(usize::MAX).as_bytes(),
            b"ffffffffffffffff\r\n"
        );
    }
}
