//! Independent domain names bound to API groups (`/api-groups/{group_id}/domains`): the values
//! that parse and the errors of the resource.
//!
//! A bound domain routes every request whose `Host` is that name to the group, besides the
//! group's own subdomain; a wildcard (`*.example.com`) routes every name one label deeper that
//! has no exact binding of its own. Names are kept in lower case without a trailing dot, so
//! `API.Example.com.` and `api.example.com` are one binding.

use crate::error::ApiError;
use serde_json::{Map, Value};

/// Most domains one group may have bound (Huawei's limit).
pub const MAX_DOMAINS_PER_GROUP: usize = 5;
/// Longest domain name accepted.
const MAX_DOMAIN_LEN: usize = 255;

impl ApiError {
    /// 404 `APIG.3020`: no such domain binding in the group.
    pub fn url_domain_not_found() -> Self {
        Self::new(404, "APIG.3020", "The URL domain does not exist")
    }

    /// 400 `APIG.3305`: the name is bound already (to this group or another of the instance).
    pub fn url_domain_exists() -> Self {
        Self::new(400, "APIG.3305", "The URL domain name already exists.")
    }

    /// 403 `APIG.3108`: the group has [`MAX_DOMAINS_PER_GROUP`] domains bound already.
    pub fn url_domain_limit() -> Self {
        Self::new(
            403,
            "APIG.3108",
            "The number of domain names exceeds the maximum allowed limit.",
        )
    }
}

/// A domain name that may be bound to a group: Huawei's pattern, either up to eight labels
/// ending in an alphabetic top-level label (`api.example.com`) or a wildcard first label
/// (`*.example.com`); lower case, no trailing dot. Stricter in its own ways than a backend's
/// host (`api::UrlDomain`): `_` allowed in labels, an alphabetic top-level label, no IP.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupDomainName(String);

impl GroupDomainName {
    /// Parses `url_domain`: 400 `APIG.2011` naming the field when it is not a domain name.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let invalid = || ApiError::invalid_body_field("url_domain");
        if raw.is_empty() || raw.len() > MAX_DOMAIN_LEN {
            return Err(invalid());
        }
        let name = raw.strip_suffix('.').unwrap_or(raw).to_ascii_lowercase();
        let labels: Vec<&str> = name.split('.').collect();
        let (wildcard, rest) = match labels.split_first() {
            Some((&"*", rest)) => (true, rest),
            _ => (false, &labels[..]),
        };
        let Some((tld, inner)) = rest.split_last() else {
            return Err(invalid());
        };
        let inner_ok = if wildcard {
            (1..=6).contains(&inner.len())
        } else {
            (1..=7).contains(&inner.len())
        };
        let tld_ok = (2..=64).contains(&tld.len()) && tld.bytes().all(|b| b.is_ascii_alphabetic());
        if !inner_ok || !tld_ok || !inner.iter().all(|l| label_ok(l)) {
            return Err(invalid());
        }
        Ok(Self(name))
    }

    /// Reads back a name this type wrote (the store's copy).
    pub fn from_stored(name: String) -> Self {
        Self(name)
    }

    /// The name, lower case.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is `*.<parent>`.
    pub fn is_wildcard(&self) -> bool {
        self.0.starts_with("*.")
    }
}

/// One label below the top level: 1–63 characters of letters, digits, `-` and `_`, starting
/// with a letter or digit and not ending with `-`.
fn label_ok(label: &str) -> bool {
    let b = label.as_bytes();
    let body_ok = |c: &u8| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_';
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            b.len() <= 63
                && first.is_ascii_alphanumeric()
                && (last.is_ascii_alphanumeric() || *last == b'_')
                && b.iter().all(body_ok)
        }
        _ => false,
    }
}

/// `min_ssl_version`: the oldest TLS version callers of the domain may use. apigw's TLS stack
/// (rustls) speaks TLS 1.2 and 1.3 only, so `TLSv1.1` is kept and answered but admits
/// nothing older than TLS 1.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MinSslVersion {
    /// `TLSv1.1` (Huawei's default).
    #[default]
    Tls11,
    /// `TLSv1.2`.
    Tls12,
}

impl MinSslVersion {
    /// Parses `min_ssl_version`.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        match raw {
            "TLSv1.1" => Ok(Self::Tls11),
            "TLSv1.2" => Ok(Self::Tls12),
            _ => Err(ApiError::invalid_body_field("min_ssl_version")),
        }
    }

    /// The wire (and stored) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tls11 => "TLSv1.1",
            Self::Tls12 => "TLSv1.2",
        }
    }
}

/// `ingress_http_port` and `ingress_https_port`: given together or not at all; each `-1` (no
/// port), the protocol's standard port, or 1024–49151. Kept and answered as given: apigw
/// serves a bound domain on whichever of its listeners the request reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngressPorts {
    /// `ingress_http_port`.
    pub http: i32,
    /// `ingress_https_port`.
    pub https: i32,
}

impl Default for IngressPorts {
    /// The standard ports, as Huawei does when neither is given.
    fn default() -> Self {
        Self {
            http: 80,
            https: 443,
        }
    }
}

impl IngressPorts {
    /// Reads both ports from `body`: `None` when neither is there.
    pub fn parse(body: &Map<String, Value>) -> Result<Option<Self>, ApiError> {
        let port = |field: &str, standard: i64| -> Result<Option<i32>, ApiError> {
            match body.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => match v.as_i64() {
                    Some(p) if p == -1 || p == standard || (1024..=49151).contains(&p) => {
                        Ok(Some(p as i32))
                    }
                    _ => Err(ApiError::invalid_body_field(field)),
                },
            }
        };
        match (
            port("ingress_http_port", 80)?,
            port("ingress_https_port", 443)?,
        ) {
            (None, None) => Ok(None),
            (Some(http), Some(https)) => Ok(Some(Self { http, https })),
            (Some(_), None) => Err(ApiError::invalid_body_field("ingress_https_port")),
            (None, Some(_)) => Err(ApiError::invalid_body_field("ingress_http_port")),
        }
    }
}

/// A binding's settings as `POST` and `PUT` give them (absent fields: `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainSettings {
    /// `min_ssl_version`.
    pub min_ssl_version: Option<MinSslVersion>,
    /// `is_http_redirect_to_https`.
    pub redirect_to_https: Option<bool>,
    /// `verified_client_certificate_enabled`: HTTPS callers of the name must present a client
    /// certificate issued by the `trusted_root_ca` of the name's certificate (`true` only
    /// where the name has a certificate with one: checked by the store).
    pub verify_client_certificate: Option<bool>,
    /// `ingress_http_port` with `ingress_https_port`.
    pub ingress_ports: Option<IngressPorts>,
}

impl DomainSettings {
    /// Reads the settings of a binding from a request body.
    pub fn parse(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let flag = |field: &str| -> Result<Option<bool>, ApiError> {
            match body.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(_) => Err(ApiError::invalid_body_field(field)),
            }
        };
        let min_ssl_version = match body.get("min_ssl_version") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(MinSslVersion::parse(s)?),
            Some(_) => return Err(ApiError::invalid_body_field("min_ssl_version")),
        };
        Ok(Self {
            min_ssl_version,
            redirect_to_https: flag("is_http_redirect_to_https")?,
            verify_client_certificate: flag("verified_client_certificate_enabled")?,
            ingress_ports: IngressPorts::parse(body)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn domain_names_follow_huaweis_pattern() {
        for ok in [
            "api.example.com",
            "API.Example.COM.",
            "a.b.c.d.e.f.g.io",
            "x_y.example.com",
            "*.example.com",
            "*.a.b.c.d.e.example.org",
        ] {
            assert!(GroupDomainName::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            GroupDomainName::parse("API.Example.COM.").unwrap().as_str(),
            "api.example.com"
        );
        assert!(GroupDomainName::parse("*.example.com")
            .unwrap()
            .is_wildcard());
        for bad in [
            "",
            "localhost",
            "example.c0m",
            "example.c",
            "-api.example.com",
            "api-.example.com",
            "a..example.com",
            "a.b.c.d.e.f.g.h.io",
            "*.a.b.c.d.e.f.example.org",
            "api.*.example.com",
            "*.com",
            "127.0.0.1",
            "api example.com",
            "api.exa%mple.com",
        ] {
            let e = GroupDomainName::parse(bad).unwrap_err();
            assert_eq!((e.status, e.code), (400, "APIG.2011"), "{bad}");
        }
        let long = format!("{}.com", "a".repeat(64));
        assert!(GroupDomainName::parse(&long).is_err());
        assert!(GroupDomainName::parse(&format!("{}.com", "a".repeat(63))).is_ok());
    }

    #[test]
    fn settings_parse_with_their_field_named_in_refusals() {
        let parse = |v: Value| DomainSettings::parse(v.as_object().unwrap());
        let s = parse(
            json!({"min_ssl_version": "TLSv1.2", "is_http_redirect_to_https": true,
            "ingress_http_port": -1, "ingress_https_port": 8443}),
        )
        .unwrap();
        assert_eq!(s.min_ssl_version, Some(MinSslVersion::Tls12));
        assert_eq!(s.redirect_to_https, Some(true));
        assert_eq!(
            s.ingress_ports,
            Some(IngressPorts {
                http: -1,
                https: 8443
            })
        );
        assert_eq!(parse(json!({})).unwrap(), DomainSettings::default());
        let verify = parse(json!({"verified_client_certificate_enabled": true})).unwrap();
        assert_eq!(verify.verify_client_certificate, Some(true));
        for (body, field) in [
            (json!({"min_ssl_version": "TLSv1.0"}), "min_ssl_version"),
            (json!({"min_ssl_version": 1}), "min_ssl_version"),
            (
                json!({"is_http_redirect_to_https": "yes"}),
                "is_http_redirect_to_https",
            ),
            (
                json!({"verified_client_certificate_enabled": 1}),
                "verified_client_certificate_enabled",
            ),
            (json!({"ingress_http_port": 8080}), "ingress_https_port"),
            (json!({"ingress_https_port": 8443}), "ingress_http_port"),
            (
                json!({"ingress_http_port": 100, "ingress_https_port": 443}),
                "ingress_http_port",
            ),
            (
                json!({"ingress_http_port": 80, "ingress_https_port": 50000}),
                "ingress_https_port",
            ),
        ] {
            let e = parse(body.clone()).unwrap_err();
            assert_eq!(e.code, "APIG.2011", "{body}");
            assert!(e.message.contains(field), "{body}: {}", e.message);
        }
    }
}
