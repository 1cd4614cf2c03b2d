//! `SDK-HMAC-SHA256`, the request signature of Huawei Cloud API Gateway (APIG) and IAM AK/SK.
//!
//! One algorithm serves two callers: the data plane verifies app calls signed with an
//! AppKey/AppSecret, and the management API verifies calls signed with an AK/SK. Clients (the
//! `apigw call` CLI, tests) sign with the same code, so signer and verifier cannot drift apart.
//!
//! The algorithm (spec §4.3) in one breath: build a *canonical request* from the method, the
//! re-encoded path, the sorted query, the signed headers and the payload hash; hash it; put the
//! hash under the algorithm name and the `X-Sdk-Date` value (the *string to sign*); HMAC-SHA256 it
//! with the secret. There is no key derivation and no region scope, unlike AWS SigV4.
//!
//! Module map, one concern each:
//! - `encode`: RFC 3986 percent-encoding exactly as the official signers do it;
//! - `hexdigits`: hex for digests without allocating;
//! - `scan`: allocation-free splitting on ASCII separators;
//! - `sink`: a buffered byte sink, so the verifier streams the canonical request into SHA-256
//!   instead of building a `String`;
//! - [`canonical`]: the canonical request (steps 1–6 of the spec);
//! - [`payload`]: which payload hash a request carries (body hash or `X-Sdk-Content-Sha256`);
//! - [`date`]: the `X-Sdk-Date` format;
//! - [`signature`]: string to sign and the HMAC;
//! - [`authorization`]: the `Authorization` header value;
//! - [`signer`]: signing a client request;
//! - [`verifier`]: checking a server-side request, with Huawei's error wording.
//!
//! Server-side use:
//!
//! ```
//! # use apigw_signing::{Authorization, PayloadHash, SigningKey, Verifier};
//! # fn check(parts: &http::request::Parts, body: &[u8], secret_for: impl Fn(&str) -> Option<Vec<u8>>)
//! #     -> Result<(), String> {
//! let value = parts.headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
//! let auth = Authorization::parse(value.unwrap_or_default()).map_err(|e| e.to_string())?;
//! // A verifier holding many secrets prepares each key once, not per request.
//! let key = SigningKey::new(&secret_for(auth.access).ok_or("app not found")?);
//! let payload = PayloadHash::for_verification(&auth, &parts.headers, body);
//! Verifier::default()
//!     .verify(&auth, &parts.method, &parts.uri, &parts.headers, payload, &key,
//!             time::OffsetDateTime::now_utc())
//!     .map_err(|e| format!("Incorrect app authentication information: {e}"))
//! # }
//! ```

pub mod authorization;
pub mod canonical;
pub mod date;
mod encode;
mod hexdigits;
pub mod payload;
mod scan;
pub mod signature;
pub mod signer;
mod sink;
pub mod verifier;

pub use authorization::{Authorization, ParseError};
pub use canonical::{canonical_request, hash_canonical_request};
pub use date::{format_date, parse_date, InvalidDate};
pub use payload::PayloadHash;
pub use signature::{sign_string, string_to_sign, SigningKey};
pub use signer::{sign_forwarded, sign_request, SignError, Signed};
pub use verifier::{Mismatch, Verifier, VerifyError, DEFAULT_MAX_SKEW};

/// The algorithm name that opens the `Authorization` header and the string to sign; the only
/// algorithm this crate speaks (newer SDKs' `SDK-HMAC-SM3` and `V11-*` are out of scope).
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// Header carrying the signing time (`YYYYMMDDTHHMMSSZ`, UTC); it must be signed, because the
/// server's clock-skew check is what limits replay.
pub const DATE_HEADER: &str = "x-sdk-date";

/// Header whose value, when present, replaces the body hash in the canonical request (clients
/// use it to stream bodies or to skip body signing with [`UNSIGNED_PAYLOAD`]).
pub const CONTENT_SHA256_HEADER: &str = "x-sdk-content-sha256";

/// [`DATE_HEADER`] as a header name, for lookups that skip parsing the name.
pub(crate) const DATE_NAME: http::HeaderName = http::HeaderName::from_static(DATE_HEADER);

/// [`CONTENT_SHA256_HEADER`] as a header name, for lookups that skip parsing the name.
pub(crate) const CONTENT_SHA256_NAME: http::HeaderName =
    http::HeaderName::from_static(CONTENT_SHA256_HEADER);

/// The conventional [`CONTENT_SHA256_HEADER`] value of a client that does not sign its body.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
