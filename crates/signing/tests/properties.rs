//! Property tests: what the signer signs, the verifier accepts; a change of meaning to any
//! signed part makes it refuse; changes that canonicalise away (other percent-encoding, query
//! order, unsigned headers) do not.

use apigw_signing::{sign_request, Authorization, PayloadHash, Verifier};
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use proptest::prelude::*;
use proptest::sample::Index;
use time::OffsetDateTime;

const KEY: &str = "prop-key";
const SECRET: &str = "prop-secret";

fn methods() -> Vec<Method> {
    [
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "PURGE",
    ]
    .iter()
    .map(|m| Method::from_bytes(m.as_bytes()).unwrap())
    .collect()
}

/// A request in decoded form; [`Req::uri`] encodes it, varying the encoding with `seed`.
#[derive(Debug, Clone)]
struct Req {
    method: Method,
    /// Decoded path, starting with `/`.
    path: Vec<u8>,
    /// Decoded key, decoded value, and whether `=` is written when the value is empty.
    query: Vec<(Vec<u8>, Vec<u8>, bool)>,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// Host in the URI authority (HTTP/2 style) instead of a `Host` header.
    absolute: bool,
    seed: u64,
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.~".contains(&b)
}

/// Percent-encodes `bytes`; bytes in `raw_ok` are written raw unless the seed says otherwise.
fn encode(bytes: &[u8], seed: u64, raw_ok: impl Fn(u8) -> bool) -> String {
    let mut out = String::new();
    for (i, &b) in bytes.iter().enumerate() {
        let bit = (seed.rotate_left(i as u32 * 7) & 1) == 1;
        if raw_ok(b) && !bit {
            out.push(b as char);
        } else if seed.rotate_left(i as u32 * 13) & 1 == 1 {
            out.push_str(&format!("%{b:02x}"));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Req {
    fn uri(&self) -> Uri {
        let mut text = String::new();
        if self.absolute {
            text.push_str("http://h.example.com:8080");
        }
        // The leading `/` stays raw: it is what makes the text a path.
        text.push('/');
        text.push_str(&encode(&self.path[1..], self.seed, |b| {
            unreserved(b) || b == b'/'
        }));
        let pairs: Vec<String> = self
            .query
            .iter()
            .map(|(k, v, eq)| {
                let raw_ok = |b: u8| unreserved(b) || b == b'/';
                let (k, v) = (encode(k, self.seed, raw_ok), encode(v, !self.seed, raw_ok));
                if v.is_empty() && !eq {
                    k
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        if !pairs.is_empty() {
            text.push('?');
            text.push_str(&pairs.join("&"));
        }
        text.parse().unwrap()
    }

    fn header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        if !self.absolute {
            map.insert("host", HeaderValue::from_static("api.example.com:8443"));
        }
        for (name, value) in &self.headers {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    /// Signs at `date`; returns the headers as sent.
    fn sign(&self, date: OffsetDateTime) -> HeaderMap {
        let mut headers = self.header_map();
        sign_request(
            &self.method,
            &self.uri(),
            &mut headers,
            &self.body,
            KEY,
            SECRET,
            date,
        )
        .unwrap();
        headers
    }

    fn verifies(&self, headers: &HeaderMap, now: OffsetDateTime) -> bool {
        let auth = Authorization::parse(headers[AUTHORIZATION].to_str().unwrap()).unwrap();
        let uri = self.uri();
        Verifier::default()
            .verify(
                &auth,
                &self.method,
                &uri,
                headers,
                PayloadHash::for_verification(&auth, headers, &self.body),
                &apigw_signing::SigningKey::new(SECRET.as_bytes()),
                now,
            )
            .is_ok()
    }
}

/// Characters for paths and queries: letters, reserved and special ASCII, non-ASCII.
fn text_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    let ch = prop_oneof![
        3 => proptest::char::range('a', 'z'),
        1 => proptest::char::range('0', '9'),
        2 => proptest::sample::select(vec![
            ' ', '/', '?', '#', '%', '+', '&', '=', ';', ':', '@', '!', '$', '\'', '(', ')',
            '*', ',', '~', '-', '.', '_', '"', '<', '[', '\\',
        ]),
        1 => proptest::sample::select(vec!['ä', 'é', '€', '中', '😀']),
    ];
    proptest::collection::vec(ch, 0..max)
        .prop_map(|chars| chars.into_iter().collect::<String>().into_bytes())
}

fn header_name() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec![
        "content-type",
        "accept",
        "x-stage",
        "x-a",
        "x-b",
        "x-request-id",
        "user-agent",
        "x-custom-long-header-name",
    ])
}

fn req() -> impl Strategy<Value = Req> {
    (
        proptest::sample::select(methods()),
        proptest::collection::vec(text_bytes(8), 1..5),
        proptest::collection::vec(
            (
                prop_oneof![
                    proptest::sample::select(vec!["a", "b", "k e y", "ä", "a+b"])
                        .prop_map(|k| k.as_bytes().to_vec()),
                    text_bytes(6).prop_filter("non-empty key", |k| !k.is_empty()),
                ],
                prop_oneof![Just(Vec::new()), text_bytes(6)],
                any::<bool>(),
            ),
            0..7,
        ),
        proptest::collection::vec((header_name(), "[!-~]{1,8}( [!-~]{1,8})?"), 0..9),
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(method, segments, query, headers, body, absolute, seed)| Req {
                method,
                path: [b"/".to_vec(), segments.join(&b'/')].concat(),
                query,
                headers,
                body,
                absolute,
                seed,
            },
        )
}

/// Signing time and a server clock within the allowed skew of it.
fn times() -> impl Strategy<Value = (OffsetDateTime, OffsetDateTime)> {
    (1_500_000_000i64..2_000_000_000, -900i64..=900).prop_map(|(t, skew)| {
        let date = OffsetDateTime::from_unix_timestamp(t).unwrap();
        (date, date + time::Duration::seconds(skew))
    })
}

/// Which signed part to change.
#[derive(Debug, Clone, Copy)]
enum Part {
    Method,
    Path,
    Query,
    Header,
    Body,
}

/// Replaces the byte at `pos` with a different one.
fn change_byte(bytes: &mut [u8], pos: Index, delta: u8) {
    let i = pos.index(bytes.len());
    bytes[i] = bytes[i].wrapping_add(delta);
}

/// Replaces one byte of a header value with a different visible ASCII character, so that the
/// result is still a valid header value whose trimmed form differs.
fn change_header(headers: &HeaderMap, which: Index, pos: Index, delta: u8) -> HeaderMap {
    let mut entries: Vec<(HeaderName, Vec<u8>)> = headers
        .iter()
        .filter(|(name, _)| *name != AUTHORIZATION)
        .map(|(name, value)| (name.clone(), value.as_bytes().to_vec()))
        .collect();
    let entry = which.index(entries.len());
    let value = &mut entries[entry].1;
    let i = pos.index(value.len());
    let old = value[i];
    let visible = |c: u8| b'!' + (c.wrapping_sub(b'!') % 94);
    let new = visible(old.wrapping_add(delta % 93 + 1));
    value[i] = if new == old { visible(new + 1) } else { new };
    let mut map = HeaderMap::new();
    map.insert(AUTHORIZATION, headers[AUTHORIZATION].clone());
    for (name, value) in entries {
        map.append(name, HeaderValue::from_bytes(&value).unwrap());
    }
    map
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn sign_then_verify(req in req(), (date, now) in times()) {
        let headers = req.sign(date);
        prop_assert!(req.verifies(&headers, now), "uri {}", req.uri());
    }

    #[test]
    fn any_change_of_meaning_is_refused(
        req in req(),
        (date, now) in times(),
        part in prop_oneof![
            Just(Part::Method), Just(Part::Path), Just(Part::Query), Just(Part::Header),
            Just(Part::Body),
        ],
        which in any::<Index>(),
        pos in any::<Index>(),
        delta in 1u8..=255,
    ) {
        let headers = req.sign(date);
        let mut changed = req.clone();
        let mut changed_headers = headers.clone();
        match part {
            Part::Method => {
                let all = methods();
                let i = all.iter().position(|m| *m == req.method).unwrap();
                changed.method = all[(i + 1 + which.index(all.len() - 1)) % all.len()].clone();
            }
            Part::Path if req.path.len() > 1 => {
                // Never the leading `/`; any other byte, `/` included, changes the meaning.
                let i = 1 + pos.index(req.path.len() - 1);
                changed.path[i] = changed.path[i].wrapping_add(delta);
            }
            Part::Query if !req.query.is_empty() => {
                let (key, value, _) = &mut changed.query[which.index(req.query.len())];
                let target = if value.is_empty() || delta % 2 == 0 { key } else { value };
                change_byte(target, pos, delta);
            }
            Part::Header => {
                changed_headers = change_header(&headers, which, pos, delta);
            }
            _ if req.body.is_empty() => changed.body.push(delta),
            _ => change_byte(&mut changed.body, pos, delta),
        }
        prop_assert!(
            !changed.verifies(&changed_headers, now),
            "{part:?}: {} {} -> {} {}", req.method, req.uri(), changed.method, changed.uri()
        );
    }

    #[test]
    fn changes_that_canonicalise_away_still_verify(
        req in req(),
        (date, now) in times(),
        seed in any::<u64>(),
        rotate in any::<Index>(),
        extra in "[!-~]{1,16}",
    ) {
        let mut headers = req.sign(date);
        let mut same = req.clone();
        // Another percent-encoding of the same bytes, queries in another order, `k=` vs `k`.
        same.seed = seed;
        let n = same.query.len();
        if n > 0 {
            same.query.rotate_left(rotate.index(n));
        }
        for (_, _, eq) in &mut same.query {
            *eq = !*eq;
        }
        // A header nobody signed.
        headers.insert("x-unsigned", HeaderValue::from_str(&extra).unwrap());
        prop_assert!(same.verifies(&headers, now), "{} vs {}", req.uri(), same.uri());
    }
}
