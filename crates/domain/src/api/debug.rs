//! Debugging an API (APIG `DebugApiV2`, `POST /apis/debug/{api_id}`): the description of one
//! call the gateway makes on the caller's behalf, read from the body into a [`DebugSpec`]
//! whose every part follows Huawei's rules, so the request built from it is well formed.
//!
//! `MARKET` mode (APIs bought in KooGallery) has no meaning without a marketplace and is
//! refused with the field named.

use crate::error::ApiError;
use crate::fields::Fields;
use crate::names::{AppKey, AppSecret};
use serde_json::{Map, Value};
use std::fmt;

use super::{EnvName, HttpMethod};

/// Longest request body a debugging call may send (Huawei's limit, 2 MiB).
pub const MAX_DEBUG_BODY: usize = 2_097_152;
/// Longest request path (characters).
const MAX_PATH: usize = 1024;
/// Longest query or header parameter name (bytes).
const MAX_PARAM_NAME: usize = 32;
/// Longest access domain, with its port.
const MAX_DOMAIN: usize = 255;

/// The environment a `DEVELOPER` call's definition is placed in, alone (what `X-Stage` and
/// `$context.stage` say in such a call).
pub const DEVELOPER_STAGE: &str = "DEBUG";

impl ApiError {
    /// 503 `APIG.9999`: this server's gateway does not serve the instance, so it cannot make a
    /// debugging call there.
    pub fn debug_unavailable(instance_id: &str) -> Self {
        Self::new(
            503,
            "APIG.9999",
            format!(
                "System error: no gateway of this server serves instance {instance_id}; debug the API on a server started with --gateway-listen or --gateway-http-listen for it"
            ),
        )
    }
}

impl ApiError {
    /// 400 `APIG.2011`: a `DEVELOPER` call cannot run a backend whose address or path names
    /// environment variables (they have values only in an environment; Huawei refuses to
    /// debug such APIs too).
    pub fn debug_needs_environment() -> Self {
        Self::new(
            400,
            "APIG.2011",
            "Parameter error. The API's backend address or path uses environment variables, which have values only in an environment: debug it in CONSUMER mode, with stage naming an environment that defines them",
        )
    }
}

/// Whether a backend of `definition` (its own or a policy's) names environment variables in
/// its address or path (a `DEVELOPER` call cannot run it).
pub fn uses_variables(definition: &super::ApiDefinition) -> bool {
    let named = |template: &str| crate::env_variable::references(template) == Some(true);
    definition.servers().any(|b| {
        let address = match &b.target {
            super::BackendTarget::Address(domain) => named(domain.as_str()),
            super::BackendTarget::Channel(_) => false,
        };
        address || named(b.req_uri.as_str())
    })
}

wire_enum!(
    /// Which definition a debugging call runs.
    DebugMode {
        /// The API's current definition, published or not (the caller owns the API).
        Developer = "DEVELOPER",
        /// The API as published in an environment, called like any consumer calls it.
        Consumer = "CONSUMER",
    }
);

wire_enum!(
    /// The protocol the debugging call arrives on (which listener's rules apply).
    DebugScheme {
        /// Plain HTTP.
        Http = "HTTP",
        /// HTTPS.
        Https = "HTTPS",
    }
);

/// An app's key and secret the call is signed with (`SDK-HMAC-SHA256`).
#[derive(Debug, Clone)]
pub struct DebugCredential {
    /// `app_key`.
    pub key: AppKey,
    /// `app_secret` (redacted in `Debug`).
    pub secret: AppSecret,
}

/// A debugging call as the body describes it.
#[derive(Debug, Clone)]
pub struct DebugSpec {
    /// `mode`.
    pub mode: DebugMode,
    /// `scheme`.
    pub scheme: DebugScheme,
    /// `method` (never `ANY`).
    pub method: HttpMethod,
    /// `path`, percent-encoded where the path had characters a URI cannot carry.
    pub path: String,
    /// `query`, encoded as a query string (`a=1&a=2&b=x`), empty for none.
    pub query: String,
    /// `header`: lower-case names (rules checked) and their values, in name order.
    pub headers: Vec<(String, Vec<String>)>,
    /// `body`.
    pub body: String,
    /// `app_key` and `app_secret`, when both are given.
    pub credential: Option<DebugCredential>,
    /// `domain`: the `Host` of the call (with a port, if given); `None` for the group's
    /// subdomain.
    pub domain: Option<String>,
    /// `stage`: the environment a `CONSUMER` call selects (`RELEASE` when absent); ignored
    /// in `DEVELOPER` mode, as Huawei documents.
    pub stage: EnvName,
}

impl DebugSpec {
    /// Reads a `DebugApiV2` body; the first bad or missing field is named in `APIG.2011`
    /// (`header.X-Stage`, `app_secret`).
    pub fn parse(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let f = Fields::new(body, "");
        let mode = DebugMode::parse(f.req_str("mode")?, "mode")?;
        let scheme = DebugScheme::parse(f.req_str("scheme")?, "scheme")?;
        let method = match HttpMethod::parse(f.req_str("method")?, "method")? {
            HttpMethod::Any => return Err(f.bad("method")),
            m => m,
        };
        let path = debug_path(f.req_str("path")?).ok_or_else(|| f.bad("path"))?;
        let query = match f.opt_object("query")? {
            Some(q) => query_string(&q)?,
            None => String::new(),
        };
        let headers = match f.opt_object("header")? {
            Some(h) => header_list(&h, mode)?,
            None => Vec::new(),
        };
        let body_text = f.opt_str("body")?.unwrap_or_default();
        if body_text.len() > MAX_DEBUG_BODY {
            return Err(f.bad("body"));
        }
        let credential = match (f.opt_str("app_key")?, f.opt_str("app_secret")?) {
            (None, None) => None,
            (Some(key), Some(secret)) => Some(DebugCredential {
                key: AppKey::parse(key)?,
                secret: AppSecret::parse(secret)?,
            }),
            (Some(_), None) => return Err(f.bad("app_secret")),
            (None, Some(_)) => return Err(f.bad("app_key")),
        };
        let domain = match f.opt_str("domain")? {
            Some(d) if is_access_domain(d) => Some(d.to_owned()),
            Some(_) => return Err(f.bad("domain")),
            None => None,
        };
        let stage = match f.opt_str("stage")? {
            Some(s) => EnvName::parse(s).map_err(|_| f.bad("stage"))?,
            None => EnvName::release(),
        };
        Ok(Self {
            mode,
            scheme,
            method,
            path,
            query,
            headers,
            body: body_text.to_owned(),
            credential,
            domain,
            stage,
        })
    }

    /// The path and query as the request line carries them.
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }
}

/// `path` with the characters a URI path cannot carry percent-encoded, if it follows the
/// rules: `/` first, at most 1024 characters, no control character, `?` or `#`, and every
/// `%` escape decoding (with the rest) to UTF-8.
fn debug_path(path: &str) -> Option<String> {
    if !path.starts_with('/')
        || path.chars().count() > MAX_PATH
        || path.chars().any(|c| c.is_control() || c == '?' || c == '#')
    {
        return None;
    }
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let text = std::str::from_utf8(hex).ok()?;
            decoded.push(u8::from_str_radix(text, 16).ok()?);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(decoded).ok()?;
    let mut encoded = String::with_capacity(path.len());
    for c in path.chars() {
        if c.is_ascii() && !" \"<>\\^`{|}".contains(c) {
            encoded.push(c);
        } else {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                encoded.push_str(&format!("%{b:02X}"));
            }
        }
    }
    Some(encoded)
}

/// Whether `name` may be a query parameter (`extra` = `_`) or header (`extra` = none) name of
/// a debugging call: a letter first, then letters, digits, `.`, `-` (and `_` for queries), at
/// most 32 bytes, neither `X-Stage` nor starting with `X-Apig-` or `X-Sdk-`.
fn is_param_name(name: &str, underscore: bool) -> bool {
    let b = name.as_bytes();
    let lower = name.to_ascii_lowercase();
    (1..=MAX_PARAM_NAME).contains(&b.len())
        && b[0].is_ascii_alphabetic()
        && b.iter().all(|&c| {
            c.is_ascii_alphanumeric() || c == b'.' || c == b'-' || (underscore && c == b'_')
        })
        && lower != "x-stage"
        && !lower.starts_with("x-apig-")
        && !lower.starts_with("x-sdk-")
}

/// The values of parameter `name`: one string, or an array of strings.
fn values<'a>(f: &Fields<'a>, name: &str, value: &'a Value) -> Result<Vec<&'a str>, ApiError> {
    match value {
        Value::String(s) => Ok(vec![s]),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().ok_or_else(|| f.bad(name)))
            .collect(),
        _ => Err(f.bad(name)),
    }
}

/// The `query` object as a query string (names in order, each value percent-encoded).
fn query_string(f: &Fields<'_>) -> Result<String, ApiError> {
    let mut out = String::new();
    for (name, value) in f.entries() {
        if !is_param_name(name, true) {
            return Err(f.bad(name));
        }
        for v in values(f, name, value)? {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(name);
            out.push('=');
            encode_query_value(v, &mut out);
        }
    }
    Ok(out)
}

/// Percent-encodes `value` for a query string: everything but the unreserved characters.
fn encode_query_value(value: &str, out: &mut String) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// Headers the debugger sets itself (the connection and the framing of its one request).
const SET_BY_DEBUGGER: [&str; 9] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
];

/// The `header` object as lower-case names and their values; `CONSUMER` calls may not carry
/// `Authorization` or `X-Auth-Token` (the credential is `app_key`/`app_secret`).
fn header_list(f: &Fields<'_>, mode: DebugMode) -> Result<Vec<(String, Vec<String>)>, ApiError> {
    let mut out: Vec<(String, Vec<String>)> = Vec::with_capacity(f.entries().len());
    for (name, value) in f.entries() {
        let lower = name.to_ascii_lowercase();
        let credential_header = lower == "authorization" || lower == "x-auth-token";
        if !is_param_name(name, false)
            || SET_BY_DEBUGGER.contains(&lower.as_str())
            || (mode == DebugMode::Consumer && credential_header)
        {
            return Err(f.bad(name));
        }
        let list = values(f, name, value)?;
        // A header value: visible characters, spaces and tabs (no line breaks).
        if list
            .iter()
            .any(|v| v.chars().any(|c| c.is_control() && c != '\t'))
        {
            return Err(f.bad(name));
        }
        let list = list.into_iter().map(str::to_owned);
        // Names differing only in case are one header.
        match out.iter_mut().find(|(n, _)| *n == lower) {
            Some((_, existing)) => existing.extend(list),
            None => out.push((lower, list.collect())),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Whether `d` is a host name or an IP address, with an optional port: what `domain` may be.
fn is_access_domain(d: &str) -> bool {
    if d.is_empty() || d.len() > MAX_DOMAIN {
        return false;
    }
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        match rest.split_once(']') {
            Some((v6, tail)) if v6.parse::<std::net::Ipv6Addr>().is_ok() => {
                (v6, tail.strip_prefix(':'))
            }
            _ => return false,
        }
    } else {
        match d.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    let host_ok = d.starts_with('[')
        || (!host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'-')
            }));
    port_ok && host_ok
}

/// A header name in the form messages show it (`x-my-header` → `X-My-Header`).
pub struct CanonicalName<'a>(pub &'a str);

impl fmt::Display for CanonicalName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut upper = true;
        for c in self.0.chars() {
            let shown = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            fmt::Write::write_char(f, shown)?;
            upper = c == '-';
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<DebugSpec, ApiError> {
        DebugSpec::parse(v.as_object().unwrap())
    }

    fn base() -> Value {
        json!({"mode": "DEVELOPER", "scheme": "HTTP", "method": "GET", "path": "/test"})
    }

    fn with(field: &str, value: Value) -> Value {
        let mut b = base();
        b[field] = value;
        b
    }

    fn refused_field(v: Value) -> String {
        let e = parse(v).unwrap_err();
        assert_eq!((e.status, e.code), (400, "APIG.2011"));
        e.message.to_string()
    }

    #[test]
    fn a_minimal_body_defaults_the_rest() {
        let s = parse(base()).unwrap();
        assert_eq!(s.mode, DebugMode::Developer);
        assert_eq!(s.scheme, DebugScheme::Http);
        assert_eq!(s.method, HttpMethod::Get);
        assert_eq!(s.path_and_query(), "/test");
        assert!(s.headers.is_empty() && s.body.is_empty() && s.credential.is_none());
        assert_eq!(s.stage.as_str(), "RELEASE");
        assert_eq!(s.domain, None);
    }

    #[test]
    fn query_and_headers_are_encoded_and_merged() {
        let mut b = base();
        b["query"] = json!({"b": "x y", "a": ["1", "2&3"]});
        b["header"] = json!({"X-MY-header": ["v1"], "x-my-HEADER": "v2", "Accept": "*/*"});
        b["path"] = json!("/p/ä b/%41");
        let s = parse(b).unwrap();
        assert_eq!(s.path_and_query(), "/p/%C3%A4%20b/%41?a=1&a=2%263&b=x%20y");
        assert_eq!(
            s.headers,
            vec![
                ("accept".to_owned(), vec!["*/*".to_owned()]),
                (
                    "x-my-header".to_owned(),
                    vec!["v1".to_owned(), "v2".to_owned()]
                ),
            ]
        );
        assert_eq!(CanonicalName("x-my-header").to_string(), "X-My-Header");
    }

    #[test]
    fn every_rule_names_its_field() {
        for (field, value) in [
            ("mode", json!("MARKET")),
            ("mode", json!("developer")),
            ("scheme", json!("FTP")),
            ("method", json!("ANY")),
            ("path", json!("test")),
            ("path", json!("/a?b=1")),
            ("path", json!("/%zz")),
            ("path", json!("/%ff")),
            ("path", json!(format!("/{}", "a".repeat(1024)))),
            ("domain", json!("bad host")),
            ("domain", json!("a.example.com:0")),
            ("domain", json!("a.example.com:99999")),
            ("stage", json!("1abc")),
            ("body", json!("x".repeat(MAX_DEBUG_BODY + 1))),
        ] {
            assert!(
                refused_field(with(field, value.clone())).contains(field),
                "{field} {value}"
            );
        }
        for (name, why) in [
            ("X-Stage", "x-stage"),
            ("x-apig-mode", "x-apig"),
            ("X-Sdk-Date", "x-sdk"),
            ("1abc", "a letter first"),
            ("a_b", "no underscore in headers"),
            ("Host", "set by the debugger"),
            ("Content-Length", "set by the debugger"),
        ] {
            let msg = refused_field(with("header", json!({ name: "v" })));
            assert!(msg.contains(name), "{why}: {msg}");
        }
        assert!(refused_field(with("header", json!({"a": "x\r\ny"}))).contains('a'));
        assert!(refused_field(with("header", json!({"a": 5}))).contains('a'));
        assert!(refused_field(with("query", json!({"x-stage": "1"}))).contains("x-stage"));
        assert!(refused_field(with("query", json!({"a": [1]}))).contains('a'));
        // Credentials come in pairs; a CONSUMER call carries no credential header of its own.
        assert!(refused_field(with("app_key", json!("abcdefgh12"))).contains("app_secret"));
        assert!(refused_field(with("app_secret", json!("abcdefgh12"))).contains("app_key"));
        let mut consumer = with("header", json!({"Authorization": "x"}));
        consumer["mode"] = json!("CONSUMER");
        assert!(refused_field(consumer).contains("Authorization"));
        assert!(parse(with("header", json!({"Authorization": "x", "a_b.c": "y"}))).is_err());
        assert!(parse(with("header", json!({"Authorization": "x"}))).is_ok());
    }

    #[test]
    fn access_domains() {
        for ok in [
            "a.example.com",
            "a.example.com:8080",
            "127.0.0.1:80",
            "[::1]:443",
            "[::1]",
            "localhost",
        ] {
            assert!(is_access_domain(ok), "{ok}");
        }
        for bad in [
            "", "a..b", "-a.com", "a.com:", "[::1", "[zz]:1", "a b", "a/b",
        ] {
            assert!(!is_access_domain(bad), "{bad}");
        }
    }
}
