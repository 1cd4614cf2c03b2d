//! Signing a client request the way the official SDKs do.

use crate::canonical::{authority_host, canonical_bytes, text};
use crate::date::{parse_date, SdkDate};
use crate::payload::PayloadHash;
use crate::signature::{sign_parts, string_to_sign, SigningKey};
use crate::sink::HashSink;
use crate::{hexdigits, Authorization, DATE_NAME};
use http::header::{AUTHORIZATION, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use sha2::{Digest, Sha256};
use std::fmt;
use time::OffsetDateTime;

/// What signing produced, besides the headers it set.
///
/// Exists for `apigw call --dry-run` and for debugging a rejected signature: compare
/// `canonical_request` with the server's `canonicalRequest:` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The canonical request (U+FFFD stands for non-UTF-8 header bytes).
    pub canonical_request: String,
    /// `SDK-HMAC-SHA256\n<date>\n<hex SHA-256 of the canonical request>`.
    pub string_to_sign: String,
    /// The `;`-joined signed header names.
    pub signed_headers: String,
    /// Lower-case hex signature.
    pub signature: String,
    /// The `Authorization` header value that was set.
    pub authorization: String,
}

/// Why a request cannot be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignError {
    /// The key is empty or has characters that break the `Authorization` header (whitespace,
    /// `,`, control or non-ASCII characters).
    InvalidKey,
    /// The request already has an `X-Sdk-Date` that is not `YYYYMMDDTHHMMSSZ`.
    InvalidDate,
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidKey => "access key cannot be used in an authorization header",
            Self::InvalidDate => "x-sdk-date header is not in the format YYYYMMDDTHHMMSSZ",
        })
    }
}

impl std::error::Error for SignError {}

/// Signs a request in place.
///
/// Adds `X-Sdk-Date` (from `now`, unless the request has one), `Host` (from the URI authority,
/// if absent and the URI has one), then signs **every** header present, lower-cased and sorted,
/// as the SDKs do, and sets `Authorization`. An existing `Authorization` header is replaced and
/// not signed. The body is hashed unless `X-Sdk-Content-Sha256` is set (see [`PayloadHash`]).
/// `key`/`secret` are AppKey/AppSecret or AK/SK.
///
/// Headers added after signing (by an HTTP client, say) are simply unsigned; the server
/// ignores them.
pub fn sign_request(
    method: &Method,
    uri: &Uri,
    headers: &mut HeaderMap,
    body: &[u8],
    key: &str,
    secret: &str,
    now: OffsetDateTime,
) -> Result<Signed, SignError> {
    let key_ok = !key.is_empty() && key.bytes().all(|b| b.is_ascii_graphic() && b != b',');
    if !key_ok {
        return Err(SignError::InvalidKey);
    }
    headers.remove(AUTHORIZATION);

    let date = match headers.get(DATE_NAME) {
        Some(value) => {
            let value = value.to_str().map_err(|_| SignError::InvalidDate)?.trim();
            parse_date(value).map_err(|_| SignError::InvalidDate)?;
            value.to_owned()
        }
        None => {
            let value = SdkDate(now).to_string();
            let header = HeaderValue::from_str(&value).expect("a formatted date is ASCII");
            headers.insert(DATE_NAME, header);
            value
        }
    };
    if !headers.contains_key(HOST) {
        if let Some(host) = authority_host(uri).and_then(|h| HeaderValue::from_str(h).ok()) {
            headers.insert(HOST, host);
        }
    }

    let mut names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
    names.sort_unstable();
    let signed_headers = names.join(";");

    let payload = PayloadHash::from_request(headers, body).resolve();
    let canonical = canonical_bytes(method, uri, headers, &signed_headers, payload.as_bytes());
    let hash: [u8; 32] = Sha256::digest(&canonical).into();
    let signature = hexdigits::encode_string(&sign_parts(
        &SigningKey::new(secret.as_bytes()),
        &date,
        &hash,
    ));
    let authorization = Authorization {
        access: key,
        signed_headers: &signed_headers,
        signature: &signature,
    }
    .to_string();
    let header =
        HeaderValue::from_str(&authorization).expect("key and header names are visible ASCII");
    headers.insert(AUTHORIZATION, header);

    Ok(Signed {
        canonical_request: text(canonical),
        string_to_sign: string_to_sign(&date, &hexdigits::encode_string(&hash)),
        signed_headers,
        signature,
        authorization,
    })
}

/// The `Authorization` value of a request signed by a party that forwards it (the gateway
/// calling a backend with a signature key): the headers to sign are exactly those of
/// `signed`, whose `X-Sdk-Date` is `date`; `payload` is the body (or a declared hash such as
/// `UNSIGNED-PAYLOAD`); `key` is the prepared secret of `access`.
///
/// Exists so the forwarder signs without copying the request: it passes the few headers it
/// signs and the prepared key it holds; the canonical request is streamed into SHA-256 and
/// an empty body's hash is a constant. `access` must be a valid key (the caller checked it
/// when the key was created).
pub fn sign_forwarded(
    method: &Method,
    uri: &Uri,
    signed: &HeaderMap,
    payload: PayloadHash<'_>,
    (access, key): (&str, &SigningKey),
    date: &str,
) -> String {
    let mut names: Vec<&str> = signed.keys().map(HeaderName::as_str).collect();
    names.sort_unstable();
    let signed_headers = names.join(";");
    let payload = payload.resolve();
    let mut sink = HashSink::new();
    crate::canonical::write(
        &mut sink,
        method,
        uri,
        signed,
        &signed_headers,
        payload.as_bytes(),
    );
    let hash = sink.finalize();
    let signature = hexdigits::encode_string(&sign_parts(key, date, &hash));
    Authorization {
        access,
        signed_headers: &signed_headers,
        signature: &signature,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn adds_date_and_host_and_signs_everything_present() {
        let mut headers = HeaderMap::new();
        headers.insert("X-Stage", HeaderValue::from_static("RELEASE"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("stale"));
        let now = datetime!(2024-04-16 09:53:41 UTC);
        let signed = sign_request(
            &Method::GET,
            &uri("https://u@api.example.com:8443/x"),
            &mut headers,
            b"",
            "key",
            "secret",
            now,
        )
        .unwrap();
        assert_eq!(headers["x-sdk-date"], "20240416T095341Z");
        assert_eq!(headers[HOST], "api.example.com:8443");
        assert_eq!(signed.signed_headers, "host;x-sdk-date;x-stage");
        assert_eq!(headers[AUTHORIZATION], signed.authorization.as_str());
        assert!(signed.authorization.starts_with(
            "SDK-HMAC-SHA256 Access=key, SignedHeaders=host;x-sdk-date;x-stage, Signature="
        ));
    }

    #[test]
    fn keeps_an_existing_date_and_host() {
        let mut headers = HeaderMap::new();
        headers.insert("x-sdk-date", HeaderValue::from_static("20191115T033655Z"));
        headers.insert(HOST, HeaderValue::from_static("other.example.com"));
        let signed = sign_request(
            &Method::GET,
            &uri("https://api.example.com/"),
            &mut headers,
            b"",
            "key",
            "secret",
            datetime!(2024-04-16 09:53:41 UTC),
        )
        .unwrap();
        assert!(signed.string_to_sign.contains("\n20191115T033655Z\n"));
        assert!(signed
            .canonical_request
            .contains("host:other.example.com\n"));
    }

    #[test]
    fn rejects_unusable_keys_and_dates() {
        let now = datetime!(2024-04-16 09:53:41 UTC);
        for key in ["", "a b", "a,b", "ä"] {
            let err = sign_request(
                &Method::GET,
                &uri("/"),
                &mut HeaderMap::new(),
                b"",
                key,
                "s",
                now,
            );
            assert_eq!(err, Err(SignError::InvalidKey), "{key:?}");
        }
        let mut headers = HeaderMap::new();
        headers.insert("x-sdk-date", HeaderValue::from_static("2024-04-16"));
        let err = sign_request(&Method::GET, &uri("/"), &mut headers, b"", "k", "s", now);
        assert_eq!(err, Err(SignError::InvalidDate));
    }

    #[test]
    fn a_forwarded_request_signs_only_the_headers_given_and_verifies() {
        let uri = uri("/backend/items?b=2&a=1");
        let mut signed = HeaderMap::new();
        signed.insert(HOST, HeaderValue::from_static("backend.test:8080"));
        signed.insert(DATE_NAME, HeaderValue::from_static("20261206T120000Z"));
        let body = b"{\"x\":1}";
        let key = SigningKey::new(b"forwarding-secret-0123");
        let auth = sign_forwarded(
            &Method::POST,
            &uri,
            &signed,
            PayloadHash::Body(body),
            ("gateway_key", &key),
            "20261206T120000Z",
        );
        assert!(auth.starts_with(
            "SDK-HMAC-SHA256 Access=gateway_key, SignedHeaders=host;x-sdk-date, Signature="
        ));
        // The client signer, given the same headers, makes the same signature.
        let mut headers = signed.clone();
        let by_client = sign_request(
            &Method::POST,
            &uri,
            &mut headers,
            body,
            "gateway_key",
            "forwarding-secret-0123",
            datetime!(2026-12-06 12:00:00 UTC),
        )
        .unwrap();
        assert_eq!(auth, by_client.authorization);
    }
}
