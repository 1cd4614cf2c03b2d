//! Signing the request to a backend with the signature key bound to its API (APIG `signs`),
//! so that the backend can tell the gateway's calls from any other: the last step of building
//! a backend request, after every other header is in place.
//!
//! - `hmac`: `SDK-HMAC-SHA256` keyed by the key's secret, the algorithm callers sign with.
//!   Signed: `Host` (the backend's) and a fresh `X-Sdk-Date`; the payload hash is the body's
//!   (the body is read whole first, within the body limits). A backend verifies it with any
//!   APIG signer: rebuild the request from what arrived, sign it with the key and secret and
//!   the `X-Sdk-Date` received, compare `Authorization`. The caller's own `X-Sdk-Date` and
//!   `X-Sdk-Content-Sha256` (part of the caller's signature, never the backend's) are replaced
//!   or dropped.
//! - `basic`: `Authorization: Basic base64(key:secret)`, prepared once per snapshot.

use crate::body::UpstreamBody;
use crate::config::BackendSigning;
use crate::upstream::BackendRequest;
use apigw_signing::{format_date, sign_forwarded, SigningKey, CONTENT_SHA256_HEADER, DATE_HEADER};
use base64::Engine;
use http::header::{AUTHORIZATION, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

const SDK_DATE: HeaderName = HeaderName::from_static(DATE_HEADER);
const SDK_CONTENT_SHA256: HeaderName = HeaderName::from_static(CONTENT_SHA256_HEADER);

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

    /// Whether the body must be read whole before the request is signed (its hash is signed).
    pub fn hashes_body(&self) -> bool {
        matches!(self, Self::Hmac { .. })
    }

    /// Signs `request` at `now`. For `hmac` its body is buffered ([`Self::hashes_body`]); a
    /// target that is not a valid URI (it cannot be: the proxy checked it) is signed as `/`
    /// and fails at the backend rather than here.
    pub fn sign(&self, request: &mut BackendRequest, now: OffsetDateTime) {
        match self {
            Self::Basic(value) => {
                request.headers.insert(AUTHORIZATION, value.clone());
            }
            Self::Hmac { access, key } => {
                let date = format_date(now);
                let date_value =
                    HeaderValue::from_str(&date).expect("a formatted date is visible ASCII");
                let body: &[u8] = match &request.body {
                    UpstreamBody::Buffered(Some(bytes)) => bytes,
                    _ => &[],
                };
                let payload = hex::encode(Sha256::digest(body));
                let mut signed = HeaderMap::with_capacity(2);
                signed.insert(HOST, request.gateway.host.clone());
                signed.insert(SDK_DATE, date_value.clone());
                let uri = Uri::try_from(request.target.as_str())
                    .unwrap_or_else(|_| Uri::from_static("/"));
                let authorization = sign_forwarded(
                    &request.method,
                    &uri,
                    &signed,
                    &payload,
                    (access, key),
                    &date,
                );
                request.headers.remove(SDK_CONTENT_SHA256);
                request.headers.insert(SDK_DATE, date_value);
                let mut value = HeaderValue::from_str(&authorization)
                    .expect("the key and the header names are visible ASCII");
                value.set_sensitive(true);
                request.headers.insert(AUTHORIZATION, value);
            }
        }
    }
}
