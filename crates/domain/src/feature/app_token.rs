//! The terms of the `app_token` feature: apps exchange their AppKey and AppSecret for an
//! access token at the gateway (OAuth 2.0 client credentials, RFC 6749 §4.4) and call APP
//! APIs with `Authorization: Bearer <access_token>`.
//!
//! APIG's `config` is a JSON object: `enable`, `app_token_expire_time` (seconds an access
//! token lives), `refresh_token_expire_time` (seconds a refresh token lives), `app_token_uri`
//! (the gateway path that issues tokens) and `app_token_key` (the key tokens are sealed with).
//! apigw never stores or shows `app_token_key` itself: it keeps its SHA-256, shown as
//! `app_token_key_digest`, which a later `config` may carry back unchanged. The key only
//! varies the token key the gateway derives from its master key, so changing it voids every
//! token issued before.

use crate::ApiError;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// `app_token_expire_time` without a value: one hour.
pub const DEFAULT_ACCESS_TTL_SECS: u32 = 3600;
/// `refresh_token_expire_time` without a value: two hours.
pub const DEFAULT_REFRESH_TTL_SECS: u32 = 7200;
/// The longest an access token may live: 20 hours (APIG's range is 1 to 72,000 s).
pub const MAX_ACCESS_TTL_SECS: u32 = 72_000;
/// The longest a refresh token may live: the same 72,000 s as APIG.
pub const MAX_REFRESH_TTL_SECS: u32 = 72_000;
/// `app_token_uri` without a value (APIG's).
pub const DEFAULT_TOKEN_URI: &str = "/v1/apigw/oauth2/token";
/// The longest `app_token_uri`.
const MAX_URI_LEN: usize = 128;
/// `app_token_key`'s length range.
const KEY_LEN: std::ops::RangeInclusive<usize> = 8..=64;

/// The `app_token` feature's settings, each within its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppTokenTerms {
    enable: bool,
    access_ttl_secs: u32,
    refresh_ttl_secs: u32,
    uri: String,
    key_digest: Option<[u8; 32]>,
}

impl AppTokenTerms {
    /// Parses `config` (absent: every default, `enable` following the outer switch); 400
    /// `APIG.2011` (`config`) for anything else than the members above with their rules.
    pub fn parse(outer: bool, config: Option<&str>) -> Result<Self, ApiError> {
        let bad = || ApiError::invalid_body_field("config");
        let mut terms = Self {
            enable: outer,
            access_ttl_secs: DEFAULT_ACCESS_TTL_SECS,
            refresh_ttl_secs: DEFAULT_REFRESH_TTL_SECS,
            uri: DEFAULT_TOKEN_URI.to_owned(),
            key_digest: None,
        };
        let Some(text) = config else {
            return Ok(terms);
        };
        let value: Value = serde_json::from_str(text).map_err(|_| bad())?;
        let object: &Map<String, Value> = value.as_object().ok_or_else(bad)?;
        for (member, value) in object {
            match member.as_str() {
                "enable" => terms.enable = switch(value).ok_or_else(bad)?,
                "app_token_expire_time" => {
                    terms.access_ttl_secs = seconds(value, MAX_ACCESS_TTL_SECS).ok_or_else(bad)?
                }
                "refresh_token_expire_time" => {
                    terms.refresh_ttl_secs = seconds(value, MAX_REFRESH_TTL_SECS).ok_or_else(bad)?
                }
                "app_token_uri" => {
                    terms.uri = value.as_str().filter(|u| uri_ok(u)).ok_or_else(bad)?.into()
                }
                "app_token_key" => {
                    let key = value.as_str().filter(|k| key_ok(k)).ok_or_else(bad)?;
                    let digest = Sha256::digest(key.as_bytes()).into();
                    set_once(&mut terms.key_digest, digest).ok_or_else(bad)?;
                }
                "app_token_key_digest" => {
                    let digest = value.as_str().and_then(digest_of).ok_or_else(bad)?;
                    set_once(&mut terms.key_digest, digest).ok_or_else(bad)?;
                }
                _ => return Err(bad()),
            }
        }
        Ok(terms)
    }

    /// The inner switch.
    pub fn enable(&self) -> bool {
        self.enable
    }

    /// Seconds an access token lives.
    pub fn access_ttl_secs(&self) -> u32 {
        self.access_ttl_secs
    }

    /// Seconds a refresh token lives.
    pub fn refresh_ttl_secs(&self) -> u32 {
        self.refresh_ttl_secs
    }

    /// The gateway path that issues tokens.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// SHA-256 of `app_token_key`, if one was given.
    pub fn key_digest(&self) -> Option<[u8; 32]> {
        self.key_digest
    }

    /// The stored and shown `config`: every member, the key as its digest only.
    pub fn to_config(&self) -> String {
        let mut object = serde_json::json!({
            "enable": self.enable,
            "app_token_expire_time": self.access_ttl_secs,
            "refresh_token_expire_time": self.refresh_ttl_secs,
            "app_token_uri": self.uri,
        });
        if let Some(digest) = self.key_digest {
            object["app_token_key_digest"] = Value::String(hex::encode(digest));
        }
        object.to_string()
    }
}

/// A boolean, or `on` / `off` (APIG writes both).
fn switch(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("on") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("off") => Some(false),
        _ => None,
    }
}

/// Whole seconds from 1 to `max`, as a number or a string of digits.
fn seconds(value: &Value, max: u32) -> Option<u32> {
    let n = match value {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()?
        }
        _ => return None,
    };
    u32::try_from(n).ok().filter(|n| (1..=max).contains(n))
}

/// A path of letters, digits and `-._~/`, `/` first, at most 128 characters, no empty or dot
/// segment (it is compared with request paths as they come).
fn uri_ok(uri: &str) -> bool {
    uri.len() <= MAX_URI_LEN
        && uri.starts_with('/')
        && uri
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b))
        && uri[1..]
            .split('/')
            .all(|segment| !matches!(segment, "" | "." | ".."))
}

/// 8 to 64 printable ASCII characters, no space.
fn key_ok(key: &str) -> bool {
    KEY_LEN.contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// 64 hex digits.
fn digest_of(text: &str) -> Option<[u8; 32]> {
    let mut digest = [0u8; 32];
    hex::decode_to_slice(text, &mut digest).ok()?;
    Some(digest)
}

/// Sets `slot` unless `app_token_key` and `app_token_key_digest` both tried to.
fn set_once(slot: &mut Option<[u8; 32]>, digest: [u8; 32]) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(digest);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(config: &str) -> Result<AppTokenTerms, ApiError> {
        AppTokenTerms::parse(true, Some(config))
    }

    #[test]
    fn defaults_follow_apig() {
        let t = AppTokenTerms::parse(true, None).unwrap();
        assert!(t.enable());
        assert_eq!((t.access_ttl_secs(), t.refresh_ttl_secs()), (3600, 7200));
        assert_eq!(t.uri(), "/v1/apigw/oauth2/token");
        assert_eq!(t.key_digest(), None);
        assert!(!AppTokenTerms::parse(false, Some("{}")).unwrap().enable());
    }

    #[test]
    fn every_member_is_read_and_the_key_is_kept_as_its_digest() {
        let t = parse(
            r#"{"enable":"on","app_token_expire_time":60,"refresh_token_expire_time":"600",
                "app_token_uri":"/oauth/token","app_token_key":"k3y-of-the-gateway"}"#,
        )
        .unwrap();
        assert_eq!((t.access_ttl_secs(), t.refresh_ttl_secs()), (60, 600));
        assert_eq!(t.uri(), "/oauth/token");
        let digest: [u8; 32] = Sha256::digest(b"k3y-of-the-gateway").into();
        assert_eq!(t.key_digest(), Some(digest));
        let shown = t.to_config();
        assert!(!shown.contains("k3y-of-the-gateway"), "{shown}");
        assert!(shown.contains(&hex::encode(digest)), "{shown}");
        // What is shown reads back as the same terms.
        assert_eq!(parse(&shown).unwrap(), t);
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "on",
            "[]",
            r#"{"enable":1}"#,
            r#"{"app_token_expire_time":0}"#,
            r#"{"app_token_expire_time":72001}"#,
            r#"{"app_token_expire_time":1.5}"#,
            r#"{"app_token_expire_time":"-1"}"#,
            r#"{"refresh_token_expire_time":72001}"#,
            r#"{"app_token_uri":"token"}"#,
            r#"{"app_token_uri":"/a//b"}"#,
            r#"{"app_token_uri":"/a/../b"}"#,
            r#"{"app_token_uri":"/a?b"}"#,
            r#"{"app_token_uri":"/a b"}"#,
            r#"{"app_token_key":"short"}"#,
            r#"{"app_token_key":"has a space"}"#,
            r#"{"app_token_key_digest":"00"}"#,
            r#"{"app_token_key":"abcdefgh","app_token_key_digest":"0000000000000000000000000000000000000000000000000000000000000000"}"#,
            r#"{"other":1}"#,
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.code, "APIG.2011", "{bad}");
            assert!(e.message.contains("parameterName:config"), "{bad}");
        }
        let long = format!(r#"{{"app_token_uri":"/{}"}}"#, "a".repeat(128));
        assert!(parse(&long).is_err());
    }
}
