//! The last line of the canonical request: what the signature says about the body.

use crate::{hexdigits, CONTENT_SHA256_HEADER, CONTENT_SHA256_NAME};
use http::HeaderMap;
use sha2::{Digest, Sha256};

/// The payload hash a request is signed with (spec §4.3 step 5).
///
/// Exists because the body does not always take part: a client may send
/// `X-Sdk-Content-Sha256` (typically `UNSIGNED-PAYLOAD`), whose value then stands in for the
/// body hash. In that case the signature does **not** authenticate the body; a gateway that
/// needs body integrity must refuse such requests or check the hash itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadHash<'a> {
    /// The body; its lower-case hex SHA-256 is the payload hash.
    Body(&'a [u8]),
    /// A value used verbatim (the `X-Sdk-Content-Sha256` header).
    Precomputed(&'a str),
}

impl<'a> PayloadHash<'a> {
    /// Picks what the official signers use: the trimmed `X-Sdk-Content-Sha256` value if the
    /// request has one (and it is visible ASCII), the body otherwise. For signing; a verifier
    /// uses [`for_verification`](Self::for_verification).
    pub fn from_request(headers: &'a HeaderMap, body: &'a [u8]) -> Self {
        match headers
            .get(CONTENT_SHA256_NAME)
            .and_then(|v| v.to_str().ok())
        {
            Some(value) => Self::Precomputed(value.trim()),
            None => Self::Body(body),
        }
    }

    /// What a verifier must use: the `X-Sdk-Content-Sha256` value only when that header is among
    /// the request's signed headers, the body otherwise. An unsigned header would let anyone who
    /// captured a signed request replace its body, so it is ignored.
    pub fn for_verification(
        auth: &crate::Authorization<'_>,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> Self {
        let signed = auth
            .signed_header_names()
            .any(|n| n.eq_ignore_ascii_case(CONTENT_SHA256_HEADER));
        if signed {
            Self::from_request(headers, body)
        } else {
            Self::Body(body)
        }
    }

    /// The payload hash as text, e.g. for [`canonical_request`](crate::canonical_request).
    pub fn to_hex(&self) -> String {
        let hex = self.resolve();
        String::from_utf8_lossy(hex.as_bytes()).into_owned()
    }

    /// Hashes the body if needed, without allocating.
    pub(crate) fn resolve(&self) -> ResolvedHash<'a> {
        match *self {
            // Most signed calls (GET and the like) have none: its hash is a constant.
            Self::Body([]) => ResolvedHash::Computed(*EMPTY_BODY_SHA256_HEX),
            Self::Body(body) => {
                ResolvedHash::Computed(hexdigits::encode(&Sha256::digest(body).into()))
            }
            Self::Precomputed(value) => ResolvedHash::Given(value),
        }
    }
}

/// The lower-case hex SHA-256 of an empty body.
const EMPTY_BODY_SHA256_HEX: &[u8; 64] =
    b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// A payload hash ready for the canonical request.
#[derive(Clone, Copy)]
pub(crate) enum ResolvedHash<'a> {
    Computed([u8; 64]),
    Given(&'a str),
}

impl ResolvedHash<'_> {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Computed(hex) => hex,
            Self::Given(value) => value.as_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn body_hash_is_lower_case_hex_sha256() {
        assert_eq!(
            PayloadHash::Body(b"").to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            EMPTY_BODY_SHA256_HEX,
            &hexdigits::encode(&Sha256::digest(b"").into()),
            "the constant is the empty body's hash"
        );
        assert_eq!(
            PayloadHash::Body(b"x").to_hex(),
            hex::encode(Sha256::digest(b"x"))
        );
    }

    #[test]
    fn content_sha256_header_wins_over_the_body() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            PayloadHash::from_request(&headers, b"x"),
            PayloadHash::Body(b"x")
        );
        headers.insert(
            CONTENT_SHA256_HEADER,
            HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
        let payload = PayloadHash::from_request(&headers, b"x");
        assert_eq!(payload, PayloadHash::Precomputed("UNSIGNED-PAYLOAD"));
        assert_eq!(payload.to_hex(), "UNSIGNED-PAYLOAD");
    }

    #[test]
    fn a_verifier_honours_the_header_only_when_it_is_signed() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_SHA256_HEADER,
            HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
        let auth = |signed_headers| crate::Authorization {
            access: "k",
            signed_headers,
            signature: "",
        };
        assert_eq!(
            PayloadHash::for_verification(&auth("host;x-sdk-date"), &headers, b"x"),
            PayloadHash::Body(b"x")
        );
        assert_eq!(
            PayloadHash::for_verification(&auth("host;X-Sdk-Content-Sha256"), &headers, b"x"),
            PayloadHash::Precomputed("UNSIGNED-PAYLOAD")
        );
    }
}
