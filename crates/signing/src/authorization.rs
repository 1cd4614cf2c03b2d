//! The `Authorization` header value:
//! `SDK-HMAC-SHA256 Access=<key>, SignedHeaders=<h1;h2>, Signature=<hex>`.

use crate::{hexdigits, scan, ALGORITHM};
use std::fmt;

/// The three fields of a signed request's `Authorization` header, borrowed from it.
///
/// Exists so the server can look the caller up by `access` (AppKey or AK) before it fetches
/// the secret and verifies, and so the signer formats the header in one place ([`Display`]).
///
/// [`Display`]: fmt::Display
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// The AppKey (data plane) or AK (management API) identifying the secret.
    pub access: &'a str,
    /// Signed header names, `;`-separated, as the client listed them.
    pub signed_headers: &'a str,
    /// Hex HMAC-SHA256 (64 digits; [`parse`](Self::parse) checks this).
    pub signature: &'a str,
}

/// Why an `Authorization` value is not an `SDK-HMAC-SHA256` one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// The value does not start with `SDK-HMAC-SHA256` followed by whitespace.
    Algorithm,
    /// A comma-separated part is not `Name=value`.
    Malformed,
    /// A part other than `Access`, `SignedHeaders` or `Signature` (names are case-sensitive).
    UnknownField,
    /// The named field appears twice.
    DuplicateField(&'static str),
    /// The named field is absent.
    MissingField(&'static str),
    /// The named field's value is empty or contains whitespace.
    InvalidValue(&'static str),
    /// `Signature` is not 64 hex digits.
    InvalidSignature,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Algorithm => write!(f, "authorization algorithm is not {ALGORITHM}"),
            Self::Malformed => f.write_str("malformed authorization header"),
            Self::UnknownField => f.write_str("unknown field in authorization header"),
            Self::DuplicateField(name) => write!(f, "duplicate {name} in authorization header"),
            Self::MissingField(name) => write!(f, "missing {name} in authorization header"),
            Self::InvalidValue(name) => write!(f, "invalid {name} in authorization header"),
            Self::InvalidSignature => f.write_str("signature is not 64 hex digits"),
        }
    }
}

impl std::error::Error for ParseError {}

const ACCESS: &str = "Access";
const SIGNED_HEADERS: &str = "SignedHeaders";
const SIGNATURE: &str = "Signature";

impl<'a> Authorization<'a> {
    /// Parses a header value.
    ///
    /// Strict about the algorithm name and the three fields (each exactly once, names
    /// case-sensitive, values non-empty without whitespace, a 64-hex-digit signature); lenient
    /// about whitespace around the fields and the commas, and about field order.
    pub fn parse(header_value: &'a str) -> Result<Self, ParseError> {
        let rest = header_value
            .trim_matches(|c: char| c.is_ascii_whitespace())
            .strip_prefix(ALGORITHM)
            .ok_or(ParseError::Algorithm)?;
        if rest
            .bytes()
            .next()
            .is_some_and(|b| !b.is_ascii_whitespace())
        {
            return Err(ParseError::Algorithm);
        }

        let (mut access, mut signed_headers, mut signature) = (None, None, None);
        // `str::split` searches with `memchr`, which pays off on these long pieces.
        for part in rest.split(',') {
            let (name, value) =
                scan::split_once(part.trim_ascii_start(), b'=').ok_or(ParseError::Malformed)?;
            let (field, slot) = match name {
                ACCESS => (ACCESS, &mut access),
                SIGNED_HEADERS => (SIGNED_HEADERS, &mut signed_headers),
                SIGNATURE => (SIGNATURE, &mut signature),
                _ => return Err(ParseError::UnknownField),
            };
            let value = value.trim_ascii_end();
            // Whitespace and control characters are all at or below ' '; no early exit, so
            // the check vectorises (this runs on every request).
            let spaced = value.bytes().fold(false, |any, b| any | (b <= b' '));
            if value.is_empty() || spaced {
                return Err(ParseError::InvalidValue(field));
            }
            if slot.replace(value).is_some() {
                return Err(ParseError::DuplicateField(field));
            }
        }

        let signature = signature.ok_or(ParseError::MissingField(SIGNATURE))?;
        if !hexdigits::is_digest(signature) {
            return Err(ParseError::InvalidSignature);
        }
        Ok(Self {
            access: access.ok_or(ParseError::MissingField(ACCESS))?,
            signed_headers: signed_headers.ok_or(ParseError::MissingField(SIGNED_HEADERS))?,
            signature,
        })
    }

    /// The signed header names, in the listed order.
    pub fn signed_header_names(&self) -> impl Iterator<Item = &'a str> {
        scan::split(self.signed_headers, b';').filter(|n| !n.is_empty())
    }
}

/// Formats the header value exactly as the official SDKs do (`", "` between fields).
impl fmt::Display for Authorization<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{ALGORITHM} {ACCESS}={}, {SIGNED_HEADERS}={}, {SIGNATURE}={}",
            self.access, self.signed_headers, self.signature
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe";

    fn value(rest: &str) -> String {
        format!("SDK-HMAC-SHA256 {rest}")
    }

    #[test]
    fn parses_the_sdk_format_and_formats_it_back() {
        let text = value(&format!(
            "Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, Signature={SIG}"
        ));
        let auth = Authorization::parse(&text).unwrap();
        assert_eq!(auth.access, "QTWAOYTTINDUT2QVKYUC");
        assert_eq!(auth.signed_headers, "content-type;host;x-sdk-date");
        assert_eq!(auth.signature, SIG);
        assert_eq!(
            auth.signed_header_names().collect::<Vec<_>>(),
            ["content-type", "host", "x-sdk-date"]
        );
        assert_eq!(auth.to_string(), text);
    }

    #[test]
    fn is_lenient_about_whitespace_and_order() {
        for text in [
            format!("SDK-HMAC-SHA256   Access=k,SignedHeaders=host, Signature={SIG}"),
            format!(" SDK-HMAC-SHA256\tSignature={SIG} ,\tAccess=k ,  SignedHeaders=host "),
        ] {
            let auth = Authorization::parse(&text).unwrap();
            assert_eq!((auth.access, auth.signed_headers), ("k", "host"));
        }
    }

    #[test]
    fn rejects_bad_values() {
        use ParseError::*;
        let ok = format!("Access=k, SignedHeaders=host, Signature={SIG}");
        let cases = [
            (String::new(), Algorithm),
            (format!("SDK-HMAC-SM3 {ok}"), Algorithm),
            (format!("sdk-hmac-sha256 {ok}"), Algorithm),
            (format!("SDK-HMAC-SHA256{ok}"), Algorithm),
            (format!("SDK-HMAC-SHA256X {ok}"), Algorithm),
            (format!("Basic {ok}"), Algorithm),
            ("SDK-HMAC-SHA256".to_owned(), Malformed),
            (value("Access=k SignedHeaders=host"), InvalidValue("Access")),
            (value(&format!("{ok}, ")), Malformed),
            (value(&format!("{ok}, Extra=1")), UnknownField),
            (
                value(&format!("access=k, SignedHeaders=host, Signature={SIG}")),
                UnknownField,
            ),
            (value(&format!("{ok}, Access=j")), DuplicateField("Access")),
            (
                value(&format!("SignedHeaders=host, Signature={SIG}")),
                MissingField("Access"),
            ),
            (
                value(&format!("Access=k, Signature={SIG}")),
                MissingField("SignedHeaders"),
            ),
            (
                value("Access=k, SignedHeaders=host"),
                MissingField("Signature"),
            ),
            (
                value(&format!("Access=, SignedHeaders=host, Signature={SIG}")),
                InvalidValue("Access"),
            ),
            (
                value("Access=k, SignedHeaders=host, Signature=abc"),
                InvalidSignature,
            ),
            (
                value(&format!(
                    "Access=k, SignedHeaders=host, Signature={}",
                    &SIG.replace('e', "g")
                )),
                InvalidSignature,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(Authorization::parse(&text), Err(expected), "{text:?}");
        }
    }
}
