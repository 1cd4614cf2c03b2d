//! Server-side verification (spec §4.3 step 9), with Huawei's error wording.

use crate::canonical::{canonical_bytes, text, write};
use crate::date::{parse_date, SdkDate};
use crate::payload::{PayloadHash, ResolvedHash};
use crate::signature::{sign_parts, SigningKey};
use crate::sink::HashSink;
use crate::{hexdigits, Authorization, DATE_HEADER, DATE_NAME};
use http::{HeaderMap, Method, Uri};
use std::fmt;
use std::time::Duration;
use subtle::{Choice, ConstantTimeEq};
use time::OffsetDateTime;

/// Huawei's clock-skew limit: a signature is accepted up to 15 minutes either side of the
/// server's clock.
pub const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// Checks `SDK-HMAC-SHA256` signatures.
///
/// Exists as a value (not a free function) so the gateway can configure the skew once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verifier {
    /// Largest accepted difference between `X-Sdk-Date` and the server clock, either way; it
    /// bounds how long a captured request can be replayed.
    pub max_skew: Duration,
}

impl Default for Verifier {
    fn default() -> Self {
        Self {
            max_skew: DEFAULT_MAX_SKEW,
        }
    }
}

/// Why a signed request was refused. Borrows from the request so that the common failures
/// cost no allocation; `Display` gives Huawei's wording where it is known (prefix it with
/// `Incorrect app authentication information: ` for `APIG.0303`).
#[derive(Debug)]
pub enum VerifyError<'r> {
    /// The request has no `X-Sdk-Date` header.
    MissingDate,
    /// `x-sdk-date` is not among the signed headers, so the date (and replay window) is not
    /// protected.
    DateNotSigned,
    /// `X-Sdk-Date` is not `YYYYMMDDTHHMMSSZ` (the value is empty if it was not ASCII).
    InvalidDate {
        /// The header value as received.
        value: &'r str,
    },
    /// The signing time is further from the server clock than the allowed skew.
    Expired {
        /// The request's `X-Sdk-Date`.
        signature_time: OffsetDateTime,
        /// The server clock used for the check.
        server_time: OffsetDateTime,
    },
    /// A header named in `SignedHeaders` is not in the request.
    MissingSignedHeader {
        /// The name as listed.
        name: &'r str,
    },
    /// The signature does not match (or is not 64 hex digits).
    SignatureMismatch(Mismatch<'r>),
}

impl fmt::Display for VerifyError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingDate => f.write_str("x-sdk-date header is missing"),
            Self::DateNotSigned => f.write_str("x-sdk-date is not a signed header"),
            Self::InvalidDate { value } => write!(f, "invalid x-sdk-date:{value}"),
            Self::Expired {
                signature_time,
                server_time,
            } => write!(
                f,
                "signature expired, signature time:{},server time:{}",
                SdkDate(*signature_time),
                SdkDate(*server_time)
            ),
            Self::MissingSignedHeader { name } => {
                write!(f, "signed header {name} is missing from the request")
            }
            Self::SignatureMismatch(mismatch) => write!(
                f,
                "verify signature fail, canonicalRequest:{}",
                mismatch.canonical_request_piped()
            ),
        }
    }
}

impl std::error::Error for VerifyError<'_> {}

/// A signature mismatch, holding what is needed to show the server's canonical request.
///
/// Exists so that the text is only built when the caller asks for it (Huawei puts it in the
/// 401 message, so the client can diff it against its own).
pub struct Mismatch<'r> {
    method: &'r Method,
    uri: &'r Uri,
    headers: &'r HeaderMap,
    signed_headers: &'r str,
    payload_hash: ResolvedHash<'r>,
}

impl Mismatch<'_> {
    /// The canonical request the server computed.
    pub fn canonical_request(&self) -> String {
        text(canonical_bytes(
            self.method,
            self.uri,
            self.headers,
            self.signed_headers,
            self.payload_hash.as_bytes(),
        ))
    }

    /// The canonical request with every `\n` replaced by `|`, as in Huawei's
    /// `verify signature fail, canonicalRequest:GET|/test/||host:...` message.
    pub fn canonical_request_piped(&self) -> String {
        self.canonical_request().replace('\n', "|")
    }
}

/// Shows only the signed parts: the header map may hold credentials that are not signed.
impl fmt::Debug for Mismatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mismatch")
            .field("method", self.method)
            .field("uri", self.uri)
            .field("signed_headers", &self.signed_headers)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier with the given skew limit.
    pub fn new(max_skew: Duration) -> Self {
        Self { max_skew }
    }

    /// Verifies a request against `auth` (parsed from its `Authorization` header) and the
    /// caller's secret (AppSecret or SK, as bytes), at server time `now`.
    ///
    /// Checks, in order: `X-Sdk-Date` present, signed and well-formed; within
    /// [`max_skew`](Self::max_skew) of `now`; every signed header present (`host` may come from
    /// the URI authority); the signature, compared in constant time. The canonical request is
    /// streamed into SHA-256; nothing is allocated on success.
    #[allow(clippy::too_many_arguments)] // The request's parts, as `http` hands them over.
    pub fn verify<'r>(
        &self,
        auth: &Authorization<'r>,
        method: &'r Method,
        uri: &'r Uri,
        headers: &'r HeaderMap,
        payload: PayloadHash<'r>,
        key: &SigningKey,
        now: OffsetDateTime,
    ) -> Result<(), VerifyError<'r>> {
        let date = headers.get(DATE_NAME).ok_or(VerifyError::MissingDate)?;
        if !auth
            .signed_header_names()
            .any(|name| name.eq_ignore_ascii_case(DATE_HEADER))
        {
            return Err(VerifyError::DateNotSigned);
        }
        let date = date.to_str().map(str::trim).unwrap_or_default();
        let signature_time =
            parse_date(date).map_err(|_| VerifyError::InvalidDate { value: date })?;
        if (now - signature_time).unsigned_abs() > self.max_skew {
            return Err(VerifyError::Expired {
                signature_time,
                server_time: now,
            });
        }

        let payload_hash = payload.resolve();
        let mut sink = HashSink::new();
        let missing = write(
            &mut sink,
            method,
            uri,
            headers,
            auth.signed_headers,
            payload_hash.as_bytes(),
        );
        if let Some(name) = missing {
            return Err(VerifyError::MissingSignedHeader { name });
        }
        let expected = sign_parts(key, date, &sink.finalize());

        if hexdigits::decode(auth.signature).is_some_and(|given| equal(&expected, &given)) {
            Ok(())
        } else {
            Err(VerifyError::SignatureMismatch(Mismatch {
                method,
                uri,
                headers,
                signed_headers: auth.signed_headers,
                payload_hash,
            }))
        }
    }
}

/// Constant-time equality of two digests, a word at a time (`subtle` guards each comparison
/// against being optimised into an early exit).
fn equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let word = |s: &[u8]| u64::from_ne_bytes(s.try_into().expect("8-byte chunk"));
    let same = a
        .chunks_exact(8)
        .zip(b.chunks_exact(8))
        .fold(Choice::from(1), |acc, (x, y)| acc & word(x).ct_eq(&word(y)));
    same.into()
}
