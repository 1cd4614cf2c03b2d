//! Signing the request to a backend with the signature key bound to its API (APIG `signs`),
//! so that the backend can tell the gateway's calls from any other: the last step of building
//! a backend request, after every other header is in place.
//!
//! - `hmac`: `SDK-HMAC-SHA256` keyed by the key's secret, the algorithm callers sign with.
//!   Signed: `Host` (the backend's) and a fresh `X-Sdk-Date`; the payload hash is the body's
//!   (the body is read whole first, within the body limits), except for a gRPC backend, whose
//!   streams are not held back: there `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` is signed in
//!   the body hash's place, as the SDKs do for bodies they stream. A backend verifies it with any
//!   APIG signer: rebuild the request from what arrived, sign it with the key and secret and
//!   the `X-Sdk-Date` received, compare `Authorization`. The caller's own `X-Sdk-Date` and
//!   `X-Sdk-Content-Sha256` (part of the caller's signature, never the backend's) are replaced
//!   or dropped.
//! - `basic`: `Authorization: Basic base64(key:secret)`, prepared once per snapshot.

use crate::body::UpstreamBody;
use crate::config::BackendSigning;
use crate::upstream::BackendRequest;
use apigw_signing::{
    format_date, sign_forwarded, PayloadHash, SigningKey, CONTENT_SHA256_HEADER, DATE_HEADER,
    UNSIGNED_PAYLOAD,
};
use base64::Engine;
use http::header::{AUTHORIZATION, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use std::cell::RefCell;
use time::OffsetDateTime;

const SDK_DATE: HeaderName = HeaderName::from_static(DATE_HEADER);
const SDK_CONTENT_SHA256: HeaderName = HeaderName::from_static(CONTENT_SHA256_HEADER);

thread_local! {
    /// The thread's last `X-Sdk-Date` and the second it names: requests of one second share
    /// one formatting and one header value (a reference count, not a copy).
    static SDK_DATE_OF_SECOND: RefCell<(i64, HeaderValue)> =
        const { RefCell::new((i64::MIN, HeaderValue::from_static(""))) };
}

/// `X-Sdk-Date` for `now`, formatted once per second per thread.
fn sdk_date(now: OffsetDateTime) -> HeaderValue {
    SDK_DATE_OF_SECOND.with_borrow_mut(|(second, value)| {
        let now_second = now.unix_timestamp();
        if *second != now_second {
            *value = HeaderValue::from_str(&format_date(now))
                .expect("a formatted date is visible ASCII");
            *second = now_second;
        }
        value.clone()
    })
}

/// A signature key prepared for the request path.
pub(crate) enum BackendSigner {
    /// The key's name and its secret's prepared HMAC state.
    Hmac { access: Box<str>, key: SigningKey },
    /// The whole `Authorization` value (sensitive).
    Basic(HeaderValue),
}

impl std::fmt::Debug for BackendSigner {
    // Neither the secret nor the Basic value reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hmac { access, .. } => write!(f, "BackendSigner::Hmac({access})"),
            Self::Basic(_) => f.write_str("BackendSigner::Basic(<redacted>)"),
        }
    }
}

impl BackendSigner {
    /// Prepares `signing`; `None` (logged by the caller) if the key cannot go in a header.
    pub fn new(signing: &BackendSigning) -> Option<Self> {
        match signing {
            BackendSigning::Hmac { key, secret } => {
                let usable =
                    !key.is_empty() && key.bytes().all(|b| b.is_ascii_graphic() && b != b',');
                usable.then(|| Self::Hmac {
                    access: key.as_str().into(),
                    key: SigningKey::new(secret.as_bytes()),
                })
            }
            BackendSigning::Basic { key, secret } => {
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}"));
                let mut value = HeaderValue::from_str(&format!("Basic {token}")).ok()?;
                value.set_sensitive(true);
                Some(Self::Basic(value))
            }
        }
    }

    /// Whether the body must be read whole before the request is signed (its hash is signed):
    /// for `hmac`, unless the body is a stream (`streams`) left unsigned.
    pub fn hashes_body(&self, streams: bool) -> bool {
        matches!(self, Self::Hmac { .. }) && !streams
    }

    /// Signs `request` at `now`, the signature in `header` (`Authorization` when `None`).
    /// For `hmac` its body is buffered ([`Self::hashes_body`]) or, `streams`, left out of the
    /// signature; a target that is not a valid URI (it cannot be: the proxy checked it) is
    /// signed as `/` and fails at the backend rather than here.
    pub fn sign(
        &self,
        request: &mut BackendRequest,
        (streams, header): (bool, Option<&HeaderName>),
        now: OffsetDateTime,
    ) {
        let header = header.unwrap_or(&AUTHORIZATION);
        match self {
            Self::Basic(value) => {
                request.headers.insert(header, value.clone());
            }
            Self::Hmac { access, key } => {
                let date_value = sdk_date(now);
                let date = date_value
                    .to_str()
                    .expect("a formatted date is visible ASCII");
                let mut signed = HeaderMap::with_capacity(3);
                signed.insert(HOST, request.gateway.host.clone());
                signed.insert(SDK_DATE, date_value.clone());
                let payload = if streams {
                    let unsigned = HeaderValue::from_static(UNSIGNED_PAYLOAD);
                    signed.insert(SDK_CONTENT_SHA256, unsigned);
                    PayloadHash::Precomputed(UNSIGNED_PAYLOAD)
                } else {
                    PayloadHash::Body(match &request.body {
                        UpstreamBody::Buffered(Some(bytes)) => bytes,
                        _ => &[],
                    })
                };
                let uri = Uri::try_from(request.target.as_str())
                    .unwrap_or_else(|_| Uri::from_static("/"));
                let authorization =
                    sign_forwarded(&request.method, &uri, &signed, payload, (access, key), date);
                match signed.remove(SDK_CONTENT_SHA256) {
                    Some(unsigned) => request.headers.insert(SDK_CONTENT_SHA256, unsigned),
                    None => request.headers.remove(SDK_CONTENT_SHA256),
                };
                request.headers.insert(SDK_DATE, date_value);
                let mut value = HeaderValue::from_str(&authorization)
                    .expect("the key and the header names are visible ASCII");
                value.set_sensitive(true);
                request.headers.insert(header, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::GatewayFields;
    use apigw_signing::{Authorization, PayloadHash, Verifier};
    use bytes::Bytes;
    use http::Method;

    fn request(body: UpstreamBody) -> BackendRequest {
        let mut headers = HeaderMap::new();
        // The caller's own signing fields.
        headers.insert(SDK_DATE, HeaderValue::from_static("20200101T000000Z"));
        headers.insert(
            SDK_CONTENT_SHA256,
            HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
        BackendRequest {
            method: Method::POST,
            target: "/orders/7?b=2&a=1".to_owned(),
            headers,
            gateway: GatewayFields {
                host: HeaderValue::from_static("backend.test:8080"),
                request_id: HeaderValue::from_static("rid"),
                forwarded_for: HeaderValue::from_static("127.0.0.1"),
            },
            body,
        }
    }

    fn hmac() -> BackendSigner {
        BackendSigner::new(&BackendSigning::Hmac {
            key: "gateway_key".into(),
            secret: "gateway-secret-0123".into(),
        })
        .unwrap()
    }

    /// What a backend does: verify the request as it arrives (the gateway's Host among its
    /// headers) with the key's secret.
    fn verify(r: &BackendRequest, body: &[u8], secret: &str) -> Result<(), String> {
        let mut headers = r.headers.clone();
        headers.insert(HOST, r.gateway.host.clone());
        let value = headers[AUTHORIZATION].to_str().unwrap().to_owned();
        let auth = Authorization::parse(&value).map_err(|e| e.to_string())?;
        let uri: Uri = r.target.parse().unwrap();
        let payload = PayloadHash::for_verification(&auth, &headers, body);
        Verifier::default()
            .verify(
                &auth,
                &r.method,
                &uri,
                &headers,
                payload,
                &SigningKey::new(secret.as_bytes()),
                OffsetDateTime::now_utc(),
            )
            .map_err(|e| e.to_string())
    }

    #[test]
    fn an_hmac_key_signs_host_date_and_body_in_place_of_the_caller_s_fields() {
        let body = Bytes::from_static(b"{\"n\":1}");
        let mut r = request(UpstreamBody::buffered(body.clone()));
        let signer = hmac();
        assert!(signer.hashes_body(false));
        signer.sign(&mut r, (false, None), OffsetDateTime::now_utc());
        let auth = r.headers[AUTHORIZATION].to_str().unwrap();
        assert!(auth.starts_with(
            "SDK-HMAC-SHA256 Access=gateway_key, SignedHeaders=host;x-sdk-date, Signature="
        ));
        assert!(r.headers[AUTHORIZATION].is_sensitive());
        assert_ne!(r.headers[SDK_DATE], "20200101T000000Z");
        assert!(!r.headers.contains_key(SDK_CONTENT_SHA256));
        verify(&r, &body, "gateway-secret-0123").unwrap();
        assert!(verify(&r, b"{\"n\":2}", "gateway-secret-0123").is_err());
        assert!(verify(&r, &body, "another-secret-0123").is_err());
    }

    #[test]
    fn a_streamed_body_is_signed_as_unsigned_payload() {
        let mut r = request(UpstreamBody::Buffered(None));
        let signer = hmac();
        assert!(!signer.hashes_body(true));
        signer.sign(&mut r, (true, None), OffsetDateTime::now_utc());
        let auth = r.headers[AUTHORIZATION].to_str().unwrap();
        assert!(
            auth.contains("SignedHeaders=host;x-sdk-content-sha256;x-sdk-date,"),
            "{auth}"
        );
        assert_eq!(r.headers[SDK_CONTENT_SHA256], UNSIGNED_PAYLOAD);
        // Whatever the stream holds.
        verify(&r, b"any streamed bytes", "gateway-secret-0123").unwrap();
    }

    #[test]
    fn the_date_is_formatted_once_a_second() {
        let t = OffsetDateTime::from_unix_timestamp(1_765_022_400).unwrap();
        let first = sdk_date(t);
        assert_eq!(first, "20251206T120000Z");
        let later = sdk_date(t + time::Duration::milliseconds(999));
        assert_eq!(
            later.as_bytes().as_ptr(),
            first.as_bytes().as_ptr(),
            "the same value"
        );
        assert_eq!(sdk_date(t + time::Duration::seconds(1)), "20251206T120001Z");
    }

    #[test]
    fn a_basic_key_sends_its_credentials() {
        let signer = BackendSigner::new(&BackendSigning::Basic {
            key: "gateway".into(),
            secret: "pa55-word".into(),
        })
        .unwrap();
        assert!(!signer.hashes_body(false));
        assert_eq!(format!("{signer:?}"), "BackendSigner::Basic(<redacted>)");
        let mut r = request(UpstreamBody::Buffered(None));
        signer.sign(&mut r, (false, None), OffsetDateTime::now_utc());
        assert_eq!(r.headers[AUTHORIZATION], "Basic Z2F0ZXdheTpwYTU1LXdvcmQ=");
        assert!(r.headers[AUTHORIZATION].is_sensitive());
        // `backend_sign_header`: the same value under the instance's name, Authorization kept.
        let mut r = request(UpstreamBody::Buffered(None));
        r.headers
            .insert(AUTHORIZATION, HeaderValue::from_static("caller's"));
        let name = HeaderName::from_static("x-gateway-auth");
        signer.sign(&mut r, (false, Some(&name)), OffsetDateTime::now_utc());
        assert_eq!(r.headers[&name], "Basic Z2F0ZXdheTpwYTU1LXdvcmQ=");
        assert_eq!(r.headers[AUTHORIZATION], "caller's");
    }
}
