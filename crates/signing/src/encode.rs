//! Percent-encoding as the official APIG signers do it (Python `quote(s, safe='~')`, Go
//! `escape()`): RFC 3986 unreserved bytes `A-Z a-z 0-9 - _ . ~` stay, every other byte becomes
//! `%XX` with upper-case hex. Decoding turns `%XX` into its byte, leaves malformed escapes as
//! they are and treats `+` literally (it is not a space here).
//!
//! Bytes, not characters, are the unit: a decoded path that is not UTF-8 is re-encoded byte for
//! byte (the Go signer's behaviour), so canonicalisation never fails.

use crate::sink::Sink;

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

/// Value of a hex digit, if it is one.
#[inline]
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte a `%XX` escape at the start of `raw` stands for.
#[inline]
fn escaped(raw: &[u8]) -> Option<u8> {
    match raw {
        [b'%', hi, lo, ..] => Some(hex_value(*hi)? << 4 | hex_value(*lo)?),
        _ => None,
    }
}

/// The decoded bytes of `raw`: `%XX` becomes its byte, anything else (a lone `%` included)
/// stands for itself.
fn decoded(raw: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let mut rest = raw;
    std::iter::from_fn(move || {
        let (byte, len) = match escaped(rest) {
            Some(byte) => (byte, 3),
            None => (*rest.first()?, 1),
        };
        rest = &rest[len..];
        Some(byte)
    })
}

/// Percent-decodes `raw` and encodes the result in one pass, copying runs of bytes that need
/// no change in one piece. Returns the last decoded byte (if any), which the canonical URI
/// needs for its trailing-slash rule.
pub(crate) fn reencode<S: Sink>(sink: &mut S, raw: &[u8], keep: &Table) -> Option<u8> {
    let mut rest = raw;
    let mut last = None;
    loop {
        // `%` is never kept, so a run of kept bytes stops at every escape.
        let run = rest
            .iter()
            .position(|&b| !keep[usize::from(b)])
            .unwrap_or(rest.len());
        if run > 0 {
            sink.put(&rest[..run]);
            last = Some(rest[run - 1]);
        }
        let Some(&b) = rest.get(run) else {
            return last;
        };
        let (byte, len) = match b {
            b'%' => escaped(&rest[run..]).map_or((b'%', 1), |byte| (byte, 3)),
            _ => (b, 1),
        };
        if keep[usize::from(byte)] {
            sink.put_byte(byte);
        } else {
            escape(sink, byte);
        }
        last = Some(byte);
        rest = &rest[run + len..];
    }
}

/// Orders two raw (still encoded) strings by their decoded bytes, without allocating.
pub(crate) fn cmp_decoded(a: &str, b: &str) -> std::cmp::Ordering {
    decoded(a.as_bytes()).cmp(decoded(b.as_bytes()))
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

    proptest::proptest! {
        #[test]
        fn decoding_agrees_with_the_percent_encoding_crate(raw in "[%0-9a-fA-FgG/ ]{0,12}") {
            let expected: Vec<u8> = percent_encoding::percent_decode(raw.as_bytes()).collect();
            proptest::prop_assert_eq!(decoded(raw.as_bytes()).collect::<Vec<u8>>(), expected.clone());
            let mut out = Vec::new();
            let last = reencode(&mut out, raw.as_bytes(), &COMPONENT);
            proptest::prop_assert_eq!(last, expected.last().copied());
            let mut direct = Vec::new();
            for b in expected {
                if COMPONENT[usize::from(b)] { direct.push(b) } else { escape(&mut direct, b) }
            }
            proptest::prop_assert_eq!(out, direct);
        }
    }

    #[test]
    fn comparison_is_on_decoded_bytes() {
        use std::cmp::Ordering::*;
        assert_eq!(cmp_decoded("%61", "a"), Equal);
        assert_eq!(cmp_decoded("b", "%61"), Greater);
        assert_eq!(cmp_decoded("a", "ab"), Less);
    }
}
