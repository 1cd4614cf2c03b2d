//! Verifier rules: which requests are refused, why, and in which words.

use apigw_signing::{
    parse_date, sign_request, Authorization, PayloadHash, SigningKey, Verifier, VerifyError,
};
use http::header::{AUTHORIZATION, HOST};
use http::{HeaderMap, HeaderValue, Method, Uri};
use std::time::Duration;
use time::OffsetDateTime;

const KEY: &str = "app-key";
const SECRET: &str = "app-secret";

fn at(date: &str) -> OffsetDateTime {
    parse_date(date).unwrap()
}

/// A request signed at `date` by the SDK rules, with `extra` headers present at signing time.
fn signed(uri: &str, extra: &[(&'static str, &'static str)], date: &str) -> (Uri, HeaderMap) {
    let uri: Uri = uri.parse().unwrap();
    let mut headers = HeaderMap::new();
    for (name, value) in extra {
        headers.append(*name, HeaderValue::from_static(value));
    }
    sign_request(&Method::GET, &uri, &mut headers, b"", KEY, SECRET, at(date)).unwrap();
    (uri, headers)
}

/// Verifies with `auth` given explicitly (the header in `headers` is ignored).
fn verify_with<'r>(
    auth: &Authorization<'r>,
    uri: &'r Uri,
    headers: &'r HeaderMap,
    secret: &str,
    now: &str,
) -> Result<(), VerifyError<'r>> {
    Verifier::default().verify(
        auth,
        &Method::GET,
        uri,
        headers,
        PayloadHash::for_verification(auth, headers, b""),
        &SigningKey::new(secret.as_bytes()),
        at(now),
    )
}

fn auth_of(headers: &HeaderMap) -> Authorization<'_> {
    Authorization::parse(headers[AUTHORIZATION].to_str().unwrap()).unwrap()
}

fn verify<'r>(uri: &'r Uri, headers: &'r HeaderMap, now: &str) -> Result<(), VerifyError<'r>> {
    verify_with(&auth_of(headers), uri, headers, SECRET, now)
}

const DATE: &str = "20230527T015431Z";

#[test]
fn accepts_a_signed_request_and_ignores_unsigned_extra_headers() {
    let (uri, mut headers) = signed("http://h.example.com/test", &[("x-a", "1")], DATE);
    headers.insert(
        "user-agent",
        HeaderValue::from_static("added-after-signing"),
    );
    assert!(verify(&uri, &headers, DATE).is_ok());
}

#[test]
fn host_may_come_from_the_uri_authority() {
    // HTTP/2: no Host header, the authority is in the URI.
    let (uri, mut headers) = signed("https://h.example.com:8443/test", &[], DATE);
    assert_eq!(headers[HOST], "h.example.com:8443");
    headers.remove(HOST);
    assert!(verify(&uri, &headers, DATE).is_ok());
}

#[test]
fn refuses_a_request_without_x_sdk_date() {
    let (uri, mut headers) = signed("http://h.example.com/test", &[], DATE);
    headers.remove("x-sdk-date");
    let err = verify(&uri, &headers, DATE).unwrap_err();
    assert!(matches!(err, VerifyError::MissingDate), "{err:?}");
    assert_eq!(err.to_string(), "x-sdk-date header is missing");
}

#[test]
fn refuses_an_unsigned_x_sdk_date() {
    let (uri, headers) = signed("http://h.example.com/test", &[], DATE);
    let auth = Authorization {
        signed_headers: "host",
        ..auth_of(&headers)
    };
    let err = verify_with(&auth, &uri, &headers, SECRET, DATE).unwrap_err();
    assert!(matches!(err, VerifyError::DateNotSigned), "{err:?}");
}

#[test]
fn refuses_a_malformed_x_sdk_date() {
    let (uri, mut headers) = signed("http://h.example.com/test", &[], DATE);
    headers.insert(
        "x-sdk-date",
        HeaderValue::from_static("2023-05-27T01:54:31Z"),
    );
    let err = verify(&uri, &headers, DATE).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::InvalidDate {
                value: "2023-05-27T01:54:31Z"
            }
        ),
        "{err:?}"
    );
}

#[test]
fn refuses_when_a_signed_header_is_absent() {
    let (uri, mut headers) = signed("http://h.example.com/test", &[("x-stage", "RELEASE")], DATE);
    headers.remove("x-stage");
    let err = verify(&uri, &headers, DATE).unwrap_err();
    assert!(
        matches!(err, VerifyError::MissingSignedHeader { name: "x-stage" }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "signed header x-stage is missing from the request"
    );

    // Without a Host header or a URI authority, a signed `host` is absent too.
    let origin_form: Uri = "/test".parse().unwrap();
    headers.insert("x-stage", HeaderValue::from_static("RELEASE"));
    headers.remove(HOST);
    let err = verify(&origin_form, &headers, DATE).unwrap_err();
    assert!(
        matches!(err, VerifyError::MissingSignedHeader { name: "host" }),
        "{err:?}"
    );
}

#[test]
fn refuses_clock_skew_in_both_directions_with_huawei_wording() {
    let (uri, headers) = signed("http://h.example.com/test", &[], "20230527T000431Z");
    let err = verify(&uri, &headers, "20230527T020608Z").unwrap_err();
    assert_eq!(
        err.to_string(),
        "signature expired, signature time:20230527T000431Z,server time:20230527T020608Z"
    );
    let err = verify(&uri, &headers, "20230526T224930Z").unwrap_err();
    assert_eq!(
        err.to_string(),
        "signature expired, signature time:20230527T000431Z,server time:20230526T224930Z"
    );
    // The limit itself is inclusive, and configurable.
    assert!(verify(&uri, &headers, "20230527T001931Z").is_ok());
    assert!(verify(&uri, &headers, "20230526T234931Z").is_ok());
    assert!(verify(&uri, &headers, "20230527T001932Z").is_err());
    let strict = Verifier::new(Duration::from_secs(60));
    let now = at("20230527T000532Z");
    let err = strict
        .verify(
            &auth_of(&headers),
            &Method::GET,
            &uri,
            &headers,
            PayloadHash::Body(b""),
            &SigningKey::new(SECRET.as_bytes()),
            now,
        )
        .unwrap_err();
    assert!(matches!(err, VerifyError::Expired { .. }), "{err:?}");
}

#[test]
fn a_mismatch_shows_the_server_canonical_request_like_huawei() {
    let host = "d7da6fe436fb48f2af3c5c2e5b203df7.example.com";
    let (uri, headers) = signed(&format!("http://{host}/test"), &[], DATE);
    let err = verify_with(&auth_of(&headers), &uri, &headers, "wrong-secret", DATE).unwrap_err();
    let VerifyError::SignatureMismatch(mismatch) = &err else {
        panic!("{err:?}");
    };
    let expected = format!(
        "GET|/test/||host:{host}|x-sdk-date:{DATE}||host;x-sdk-date|\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(mismatch.canonical_request_piped(), expected);
    assert_eq!(mismatch.canonical_request(), expected.replace('|', "\n"));
    assert_eq!(
        err.to_string(),
        format!("verify signature fail, canonicalRequest:{expected}")
    );
}

#[test]
fn a_mismatch_for_tampering_and_for_signatures_that_are_not_hex() {
    let (uri, headers) = signed("http://h.example.com/test?a=1", &[], DATE);
    let tampered: Uri = "http://h.example.com/test?a=2".parse().unwrap();
    let err = verify(&tampered, &headers, DATE).unwrap_err();
    assert!(matches!(err, VerifyError::SignatureMismatch(_)), "{err:?}");

    let bogus = Authorization {
        signature: "not hex",
        ..auth_of(&headers)
    };
    let err = verify_with(&bogus, &uri, &headers, SECRET, DATE).unwrap_err();
    assert!(matches!(err, VerifyError::SignatureMismatch(_)), "{err:?}");
}

#[test]
fn upper_case_hex_signatures_are_accepted() {
    let (uri, headers) = signed("http://h.example.com/test", &[], DATE);
    let upper = auth_of(&headers).signature.to_ascii_uppercase();
    let auth = Authorization {
        signature: &upper,
        ..auth_of(&headers)
    };
    assert!(verify_with(&auth, &uri, &headers, SECRET, DATE).is_ok());
}

#[test]
fn unsigned_payload_leaves_the_body_out_but_not_the_header() {
    let uri: Uri = "http://h.example.com/upload".parse().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-sdk-content-sha256",
        HeaderValue::from_static("UNSIGNED-PAYLOAD"),
    );
    sign_request(
        &Method::PUT,
        &uri,
        &mut headers,
        b"one",
        KEY,
        SECRET,
        at(DATE),
    )
    .unwrap();
    let check = |headers: &HeaderMap, body: &[u8]| {
        let auth = auth_of(headers);
        Verifier::default()
            .verify(
                &auth,
                &Method::PUT,
                &uri,
                headers,
                PayloadHash::for_verification(&auth, headers, body),
                &SigningKey::new(SECRET.as_bytes()),
                at(DATE),
            )
            .is_ok()
    };
    assert!(check(&headers, b"two"));
    // Dropping the header makes the body count again, and the signature no longer matches.
    let mut stripped = headers.clone();
    stripped.remove("x-sdk-content-sha256");
    assert!(!check(&stripped, b"one"));
}

#[test]
fn an_unsigned_content_sha256_header_cannot_swap_the_body() {
    // A captured request signed over its body; the attacker adds the header with the original
    // body hash and sends another body.
    let uri: Uri = "http://h.example.com/pay".parse().unwrap();
    let mut headers = HeaderMap::new();
    sign_request(
        &Method::POST,
        &uri,
        &mut headers,
        b"amount=1",
        KEY,
        SECRET,
        at(DATE),
    )
    .unwrap();
    let original = PayloadHash::Body(b"amount=1").to_hex();
    headers.insert(
        "x-sdk-content-sha256",
        HeaderValue::from_str(&original).unwrap(),
    );
    let auth = auth_of(&headers);
    let check = |payload| {
        Verifier::default()
            .verify(
                &auth,
                &Method::POST,
                &uri,
                &headers,
                payload,
                &SigningKey::new(SECRET.as_bytes()),
                at(DATE),
            )
            .is_ok()
    };
    // Trusting the header blindly would accept the swap ...
    assert!(check(PayloadHash::from_request(&headers, b"amount=1000")));
    // ... which is why a verifier picks the payload with `for_verification`.
    assert!(!check(PayloadHash::for_verification(
        &auth,
        &headers,
        b"amount=1000"
    )));
    assert!(check(PayloadHash::for_verification(
        &auth,
        &headers,
        b"amount=1"
    )));
}

#[test]
fn signed_header_list_order_is_the_clients() {
    // A client that lists headers unsorted still verifies: the server follows the list.
    let (uri, headers) = signed("http://h.example.com/test", &[("x-a", "1")], DATE);
    let auth = auth_of(&headers);
    assert_eq!(auth.signed_headers, "host;x-a;x-sdk-date");
    let reordered = Authorization {
        signed_headers: "x-a;host;x-sdk-date",
        ..auth
    };
    let err = verify_with(&reordered, &uri, &headers, SECRET, DATE).unwrap_err();
    let VerifyError::SignatureMismatch(mismatch) = err else {
        panic!("{err:?}");
    };
    assert!(mismatch
        .canonical_request()
        .contains("\nx-a:1\nhost:h.example.com\nx-sdk-date:"));
}
