//! The canonical request (spec §4.3 steps 1–6): the exact bytes both sides hash.
//!
//! ```text
//! METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders (each "name:value\n") \n
//! SignedHeaders \n HashedPayload
//! ```
//!
//! One generic writer produces these bytes into any byte sink; [`canonical_request`] collects them
//! into a `String` (for the signer's dry-run and the verifier's error message) and
//! [`hash_canonical_request`] streams them into SHA-256 without building anything, which is what
//! the verifier does on every request.

use crate::encode::{cmp_decoded, reencode, COMPONENT, PATH};
use crate::scan;
use crate::sink::{HashSink, Sink};
use http::{HeaderMap, HeaderValue, Method, Uri};

/// Query pairs or header values up to this many are sorted on the stack; more spill to a `Vec`.
const INLINE: usize = 8;

/// Builds the canonical request as text.
///
/// Exists for humans: the client's `--dry-run`, tests, and the server's
/// `verify signature fail, canonicalRequest:...` message. `signed_headers` is the `;`-separated
/// list as it appears in the `Authorization` header; `payload_hash` is the last line (see
/// [`PayloadHash`](crate::PayloadHash)). A signed header the request lacks contributes no line
/// (the Go signer's behaviour); the verifier rejects such requests before this matters. Bytes
/// that are not UTF-8 (possible in header values) are shown as U+FFFD.
pub fn canonical_request(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    signed_headers: &str,
    payload_hash: &str,
) -> String {
    text(canonical_bytes(
        method,
        uri,
        headers,
        signed_headers,
        payload_hash.as_bytes(),
    ))
}

/// SHA-256 of the canonical request, computed without building it.
///
/// Exists so that the per-request verification path costs little more than the hashing it must
/// do; the result equals hashing [`canonical_request`]'s bytes.
pub fn hash_canonical_request(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    signed_headers: &str,
    payload_hash: &str,
) -> [u8; 32] {
    let mut sink = HashSink::new();
    write(
        &mut sink,
        method,
        uri,
        headers,
        signed_headers,
        payload_hash.as_bytes(),
    );
    sink.finalize()
}

/// The canonical request as raw bytes (exactly what is hashed).
pub(crate) fn canonical_bytes(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    signed_headers: &str,
    payload_hash: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write(&mut out, method, uri, headers, signed_headers, payload_hash);
    out
}

/// Canonical-request bytes as text, non-UTF-8 bytes shown as U+FFFD.
pub(crate) fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Writes the canonical request into `sink`; returns the first signed header name that the
/// request does not carry (its line is left out), so the verifier needs no second pass.
pub(crate) fn write<'s, S: Sink>(
    sink: &mut S,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    signed_headers: &'s str,
    payload_hash: &[u8],
) -> Option<&'s str> {
    for b in method.as_str().bytes() {
        sink.put_byte(b.to_ascii_uppercase());
    }
    sink.put_byte(b'\n');
    write_uri(sink, uri.path());
    sink.put_byte(b'\n');
    if let Some(query) = uri.query() {
        write_query(sink, query);
    }
    sink.put_byte(b'\n');
    let missing = write_headers(sink, uri, headers, signed_headers);
    sink.put_byte(b'\n');
    sink.put(signed_headers.as_bytes());
    sink.put_byte(b'\n');
    sink.put(payload_hash);
    missing
}

/// Step 3: decode the path, encode each segment, and make sure it ends with `/`.
fn write_uri<S: Sink>(sink: &mut S, path: &str) {
    if reencode(sink, path.as_bytes(), &PATH) != Some(b'/') {
        sink.put_byte(b'/');
    }
}

/// Step 4: decoded pairs sorted by key then value, re-encoded, `k=v` joined by `&`.
///
/// Like the official Python signer, empty segments (`a=1&&b=2`) and pairs with an empty key
/// (`=v`) are dropped, and a key without `=` is the key with an empty value.
fn write_query<S: Sink>(sink: &mut S, query: &str) {
    let pairs = scan::split(query, b'&').filter_map(|pair| {
        let (key, value) = scan::split_once(pair, b'=').unwrap_or((pair, ""));
        (!key.is_empty()).then_some((key, value))
    });
    // Equal decoded pairs canonicalise to equal text, so an unstable sort is exact.
    let by_decoded = |a: &(&str, &str), b: &(&str, &str)| {
        cmp_decoded(a.0, b.0).then_with(|| cmp_decoded(a.1, b.1))
    };
    with_sorted(pairs, ("", ""), by_decoded, |pairs| {
        for (i, (key, value)) in pairs.iter().enumerate() {
            if i > 0 {
                sink.put_byte(b'&');
            }
            reencode(sink, key.as_bytes(), &COMPONENT);
            sink.put_byte(b'=');
            reencode(sink, value.as_bytes(), &COMPONENT);
        }
    });
}

/// Requests with up to this many header values and signed names are matched in one pass over
/// the header map, which is cheaper than a hash lookup (with name parsing) per signed header.
const SCAN: usize = 16;

/// Steps 1–2: one `name:trimmed-value\n` line per signed header, in the listed order; several
/// values of one header give one line each, values sorted (the Go signer's behaviour).
fn write_headers<'s, S: Sink>(
    sink: &mut S,
    uri: &Uri,
    headers: &HeaderMap,
    signed_headers: &'s str,
) -> Option<&'s str> {
    let lookup = |name| headers.get_all(name).iter().map(trim);
    let mut signed = scan::split(signed_headers, b';').filter(|n| !n.is_empty());
    let mut names = [""; SCAN];
    let mut count = 0;
    for (slot, name) in names.iter_mut().zip(signed.by_ref()) {
        *slot = name;
        count += 1;
    }
    if headers.len() > SCAN || signed.next().is_some() {
        return write_header_lines(sink, uri, signed_headers, lookup);
    }
    let names = &names[..count];

    let mut found = [Found::Absent; SCAN];
    for (header, value) in headers {
        let header = header.as_str();
        for (slot, name) in found.iter_mut().zip(names) {
            if same_name(header, name) {
                *slot = match slot {
                    Found::Absent => Found::One(trim(value)),
                    _ => Found::Several,
                };
            }
        }
    }

    let mut missing = None;
    for (&name, found) in names.iter().zip(found) {
        match found {
            Found::One(value) => header_line(sink, name, value),
            Found::Several => write_sorted_values(sink, name, lookup(name)),
            Found::Absent => match fallback_host(name, uri) {
                Some(host) => header_line(sink, name, host.as_bytes()),
                None => {
                    missing.get_or_insert(name);
                }
            },
        }
    }
    missing
}

/// What one pass over the header map found for a signed name.
#[derive(Clone, Copy)]
enum Found<'h> {
    Absent,
    /// Exactly one value, trimmed.
    One(&'h [u8]),
    /// Several values: they are looked up again and sorted.
    Several,
}

/// Header name equality; the signed list is normally lower case already, like `HeaderName`.
#[inline(always)]
fn same_name(header: &str, signed: &str) -> bool {
    header.len() == signed.len() && (header == signed || header.eq_ignore_ascii_case(signed))
}

/// One line per value, values sorted.
fn write_sorted_values<'h, S: Sink>(
    sink: &mut S,
    name: &str,
    values: impl Iterator<Item = &'h [u8]>,
) {
    with_sorted(values, &[], Ord::cmp, |values| {
        for value in values {
            header_line(sink, name, value);
        }
    });
}

/// [`write_headers`] for large requests: a map lookup per signed header.
fn write_header_lines<'s, 'h, S, F, I>(
    sink: &mut S,
    uri: &'h Uri,
    signed_headers: &'s str,
    values_of: F,
) -> Option<&'s str>
where
    S: Sink,
    F: Fn(&'s str) -> I,
    I: Iterator<Item = &'h [u8]>,
{
    let mut missing = None;
    for name in scan::split(signed_headers, b';').filter(|n| !n.is_empty()) {
        let mut values = values_of(name);
        match (values.next(), values.next()) {
            (None, _) => match fallback_host(name, uri) {
                Some(host) => header_line(sink, name, host.as_bytes()),
                None => {
                    missing.get_or_insert(name);
                }
            },
            (Some(only), None) => header_line(sink, name, only),
            (Some(_), Some(_)) => write_sorted_values(sink, name, values_of(name)),
        }
    }
    missing
}

/// Sorts `items` on the stack (or in a `Vec` when there are more than [`INLINE`]) and hands
/// the sorted slice to `f`.
fn with_sorted<T: Copy, R>(
    mut items: impl Iterator<Item = T>,
    filler: T,
    mut cmp: impl FnMut(&T, &T) -> std::cmp::Ordering,
    f: impl FnOnce(&[T]) -> R,
) -> R {
    let mut inline = [filler; INLINE];
    let mut len = 0;
    while let Some(item) = items.next() {
        if len == INLINE {
            let mut spilled = inline.to_vec();
            spilled.push(item);
            spilled.extend(items);
            spilled.sort_unstable_by(cmp);
            return f(&spilled);
        }
        inline[len] = item;
        len += 1;
    }
    let sorted = &mut inline[..len];
    sorted.sort_unstable_by(&mut cmp);
    f(sorted)
}

#[inline]
fn header_line<S: Sink>(sink: &mut S, name: &str, value: &[u8]) {
    sink.put(name.as_bytes());
    sink.put_byte(b':');
    sink.put(value);
    sink.put_byte(b'\n');
}

fn trim(value: &HeaderValue) -> &[u8] {
    value.as_bytes().trim_ascii()
}

/// The `host` value when the header map has no `Host`: HTTP/2 carries it as `:authority`,
/// which `http` keeps in the URI. User info, if any, is not part of it.
fn fallback_host<'u>(name: &str, uri: &'u Uri) -> Option<&'u str> {
    if !name.eq_ignore_ascii_case("host") {
        return None;
    }
    authority_host(uri)
}

/// `host[:port]` of the URI's authority, without user info.
pub(crate) fn authority_host(uri: &Uri) -> Option<&str> {
    let authority = uri.authority()?.as_str();
    Some(
        authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn canon(uri: &str, pairs: &[(&str, &str)], signed: &str) -> String {
        canonical_request(
            &Method::GET,
            &uri.parse().unwrap(),
            &headers(pairs),
            signed,
            EMPTY,
        )
    }

    fn lines(text: &str) -> Vec<&str> {
        text.split('\n').collect()
    }

    #[test]
    fn uri_gets_a_trailing_slash_and_segments_are_reencoded() {
        assert_eq!(lines(&canon("/", &[], ""))[1], "/");
        assert_eq!(lines(&canon("/v1/x", &[], ""))[1], "/v1/x/");
        assert_eq!(lines(&canon("/v1/x/", &[], ""))[1], "/v1/x/");
        assert_eq!(lines(&canon("/a%2fb/%7e*", &[], ""))[1], "/a/b/~%2A/");
        assert_eq!(lines(&canon("//a", &[], ""))[1], "//a/");
        assert_eq!(lines(&canon("http://h.example.com", &[], ""))[1], "/");
    }

    #[test]
    fn query_is_decoded_sorted_and_reencoded() {
        let text = canon("/p?b=2&a=x+y&b=1&c&&=v&d=%2f%41", &[], "");
        assert_eq!(lines(&text)[2], "a=x%2By&b=1&b=2&c=&d=%2FA");
        // Sorting is by decoded key: `%61` is `a`.
        assert_eq!(lines(&canon("/p?b=1&%61=2", &[], ""))[2], "a=2&b=1");
        assert_eq!(lines(&canon("/p", &[], ""))[2], "");
    }

    #[test]
    fn query_with_many_pairs_spills_to_the_heap_and_stays_sorted() {
        let query: Vec<String> = (0..40).rev().map(|i| format!("k{i:02}=v")).collect();
        let text = canon(&format!("/p?{}", query.join("&")), &[], "");
        let expected: Vec<String> = (0..40).map(|i| format!("k{i:02}=v")).collect();
        assert_eq!(lines(&text)[2], expected.join("&"));
    }

    #[test]
    fn headers_are_trimmed_and_repeated_values_sorted_one_line_each() {
        let map = [
            ("x-b", "  2 "),
            ("x-a", "z"),
            ("x-b", "1"),
            ("host", "h:8080"),
        ];
        let text = canon("/", &map, "host;x-a;x-b");
        assert_eq!(
            text,
            format!("GET\n/\n\nhost:h:8080\nx-a:z\nx-b:1\nx-b:2\n\nhost;x-a;x-b\n{EMPTY}")
        );
    }

    #[test]
    fn large_requests_take_the_lookup_path_with_the_same_result() {
        let small = [("x-b", " 2"), ("x-a", "z"), ("x-b", "1"), ("host", "h")];
        let signed = "host;x-a;x-b;x-missing";
        let expected = canon("/", &small, signed);
        let fillers: Vec<String> = (0..2 * SCAN).map(|i| format!("x-filler-{i}")).collect();
        let mut many = small.to_vec();
        many.extend(fillers.iter().map(|name| (name.as_str(), "f")));
        assert_eq!(canon("/", &many, signed), expected);

        // More signed names than the scan handles.
        let names: Vec<String> = (0..SCAN + 4).map(|i| format!("x-h{i:02}")).collect();
        let pairs: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
        let lines: String = names.iter().map(|n| format!("{n}:v\n")).collect();
        let text = canon("/", &pairs, &names.join(";"));
        assert!(text.contains(&format!("\n{lines}\n")), "{text}");
    }

    #[test]
    fn signed_names_match_headers_case_insensitively_and_keep_their_spelling() {
        let text = canon("/", &[("x-a", "1")], "X-A");
        assert_eq!(lines(&text)[3], "X-A:1");
    }

    #[test]
    fn host_falls_back_to_the_uri_authority_without_user_info() {
        let text = canon("http://u:p@h.example.com:81/", &[], "host");
        assert_eq!(lines(&text)[3], "host:h.example.com:81");
    }

    #[test]
    fn missing_signed_headers_are_reported_and_left_out() {
        let map = headers(&[("x-a", "1")]);
        let mut out = Vec::new();
        let uri: Uri = "/".parse().unwrap();
        let missing = write(&mut out, &Method::GET, &uri, &map, "x-a;x-b;x-c", b"h");
        assert_eq!(missing, Some("x-b"));
        assert_eq!(out, b"GET\n/\n\nx-a:1\n\nx-a;x-b;x-c\nh");
    }

    #[test]
    fn extension_methods_are_upper_cased() {
        let method = Method::from_bytes(b"purge").unwrap();
        let text = canonical_request(&method, &"/".parse().unwrap(), &HeaderMap::new(), "", "h");
        assert!(text.starts_with("PURGE\n"));
    }

    #[test]
    fn streamed_hash_equals_hash_of_the_text() {
        let map = headers(&[("host", "h"), ("x-sdk-date", "20240416T095341Z")]);
        let uri: Uri = "/a%20b/c?z=1&y=%E2%82%AC".parse().unwrap();
        let text = canonical_request(&Method::POST, &uri, &map, "host;x-sdk-date", EMPTY);
        let expected: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        let streamed = hash_canonical_request(&Method::POST, &uri, &map, "host;x-sdk-date", EMPTY);
        assert_eq!(streamed, expected);
    }
}
