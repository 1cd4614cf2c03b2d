//! Percent-encoding as the official APIG signers do it (Python `quote(s, safe='~')`, Go
//! `escape()`): RFC 3986 unreserved bytes `A-Z a-z 0-9 - _ . ~` stay, every other byte becomes
//! `%XX` with upper-case hex. Decoding turns `%XX` into its byte, leaves malformed escapes as
//! they are and treats `+` literally (it is not a space here).
//!
//! Bytes, not characters, are the unit: a decoded path that is not UTF-8 is re-encoded byte for
//! byte (the Go signer's behaviour), so canonicalisation never fails.

use crate::sink::Sink;
use percent_encoding::percent_decode;

/// Which bytes pass through unencoded.
type Table = [bool; 256];

const fn table(keep_slash: bool) -> Table {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/');
        i += 1;
    }
    t
}

/// RFC 3986 unreserved: the set for a query key or value (and a single path segment).
pub(crate) static COMPONENT: Table = table(false);

/// Unreserved plus `/`: encoding a whole decoded path with this set equals splitting it on `/`,
/// encoding each segment and re-joining, which is what the spec describes.
pub(crate) static PATH: Table = table(true);

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

#[inline]
fn escape<S: Sink>(sink: &mut S, b: u8) {
    sink.put(&[
        b'%',
        HEX_UPPER[usize::from(b >> 4)],
        HEX_UPPER[usize::from(b & 0xF)],
    ]);
}

/// Encodes raw bytes, copying runs of kept bytes in one piece.
pub(crate) fn encode_slice<S: Sink>(sink: &mut S, bytes: &[u8], keep: &Table) {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !keep[usize::from(b)] {
            sink.put(&bytes[start..i]);
            escape(sink, b);
            start = i + 1;
        }
    }
    sink.put(&bytes[start..]);
}

/// Percent-decodes `raw` and encodes the result; returns the last decoded byte (if any), which
/// the canonical URI needs for its trailing-slash rule.
pub(crate) fn reencode<S: Sink>(sink: &mut S, raw: &[u8], keep: &Table) -> Option<u8> {
    if !raw.contains(&b'%') {
        // Nothing to decode: the common case, and it allows whole-run copies.
        encode_slice(sink, raw, keep);
        return raw.last().copied();
    }
    let mut last = None;
    for b in percent_decode(raw) {
        if keep[usize::from(b)] {
            sink.put_byte(b);
        } else {
            escape(sink, b);
        }
        last = Some(b);
    }
    last
}

/// Orders two raw (still encoded) strings by their decoded bytes, without allocating.
pub(crate) fn cmp_decoded(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.contains(&b'%') || b.contains(&b'%') {
        percent_decode(a).cmp(percent_decode(b))
    } else {
        a.cmp(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(raw: &str, keep: &Table) -> String {
        let mut out = Vec::new();
        reencode(&mut out, raw.as_bytes(), keep);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn unreserved_bytes_are_kept_and_others_escaped_upper_case() {
        assert_eq!(re("AZaz09-_.~", &COMPONENT), "AZaz09-_.~");
        assert_eq!(re("a b/c+d*e", &COMPONENT), "a%20b%2Fc%2Bd%2Ae");
        assert_eq!(re("ä", &COMPONENT), "%C3%A4");
        assert_eq!(re("a/b c", &PATH), "a/b%20c");
    }

    #[test]
    fn decoding_normalises_escapes_and_keeps_plus_and_malformed_escapes() {
        assert_eq!(re("%61%2f%2F%c3%a4", &COMPONENT), "a%2F%2F%C3%A4");
        assert_eq!(re("a+b", &COMPONENT), "a%2Bb");
        assert_eq!(re("%zz%4", &COMPONENT), "%25zz%254");
        assert_eq!(re("%FF", &COMPONENT), "%FF");
        assert_eq!(re("/a%2Fb", &PATH), "/a/b");
    }

    #[test]
    fn reencode_reports_the_last_decoded_byte() {
        let mut out = Vec::new();
        assert_eq!(reencode(&mut out, b"/a%2F", &PATH), Some(b'/'));
        assert_eq!(reencode(&mut out, b"/a", &PATH), Some(b'a'));
        assert_eq!(reencode(&mut out, b"", &PATH), None);
    }

    #[test]
    fn comparison_is_on_decoded_bytes() {
        use std::cmp::Ordering::*;
        assert_eq!(cmp_decoded("%61", "a"), Equal);
        assert_eq!(cmp_decoded("b", "%61"), Greater);
        assert_eq!(cmp_decoded("a", "ab"), Less);
    }
}
