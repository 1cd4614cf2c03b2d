//! Gateway features (APIG "instance features", `POST /instances/{id}/features`): switches a
//! gateway instance turns on for all its APIs. apigw implements:
//!
//! * `app_secret`: `X-HW-ID: <AppKey>` and `X-HW-AppKey: <AppSecret>` (sic: the header named
//!   AppKey carries the secret), an app authentication mode of spec §4.2;
//! * `app_basic`: `Authorization: Basic base64(<AppKey>:<AppSecret>)`, another;
//! * `app_api_key`: `apikey: <AppKey>`, the AppKey alone as the credential (an opt-in
//!   weaker mode, like APIG's);
//! * `app_token`: apps exchange their AppKey and AppSecret for an access token at the
//!   gateway and call with `Authorization: Bearer <token>` (see [`app_token`]);
//! * `app_auth_header`: the header that carries app credentials instead of `Authorization`
//!   (signatures, Basic, Bearer), which then reaches the backend as the caller sent it;
//! * `backend_sign_header`: the header a signature key's signature goes to the backend in,
//!   instead of `Authorization`;
//! * `app_route`: calls to the gateway by IP address reach the APIs of every group, not only
//!   the DEFAULT group's;
//! * `real_ip_from_xff`: the client address that app ACLs, failure throttling,
//!   `$context.sourceIp` and the access log see is read from `X-Forwarded-For` (the gateway
//!   behind a load balancer), at `xff_index` (0 the first address, -1 the last);
//! * `request_body_size`: the largest request body the instance's APIs accept, in bytes
//!   (APIG: 12 MB by default, from 1 MB to 9,536 MB);
//! * `backend_timeout`: `{"max_timeout": ms}`, the longest any backend of the instance may
//!   take, whatever an API's own `timeout` (APIG: 1 ms to 600,000 ms). Without it the APIs'
//!   own timeouts apply (APIG's documented default cap, 60,000 ms, is not imposed: apigw
//!   accepted API timeouts up to 600,000 ms before this feature existed);
//! * `ratelimit`: `{"api_limits": n}`, the calls per second any one API of the instance takes
//!   in all its environments together, besides its request throttling policy (APIG: 1 to
//!   1,000,000; its default of 200 when the feature is not configured is not imposed).
//!
//! All are off until configured, as in APIG. A feature apigw does not implement is refused
//! rather than stored and ignored, so a configuration never claims what the gateway does not do.

mod app_token;

pub use app_token::AppTokenTerms;

use crate::ApiError;
use std::fmt;

/// A feature apigw implements, by its APIG name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeatureName {
    /// `app_secret`: the key and secret in `X-HW-ID` / `X-HW-AppKey`.
    AppSecret,
    /// `app_basic`: the key and secret as HTTP Basic credentials.
    AppBasic,
    /// `app_api_key`: the AppKey alone in `apikey`.
    AppApiKey,
    /// `app_token`: access tokens issued by the gateway, presented as bearer tokens.
    AppToken,
    /// `app_auth_header`: the header of app credentials, instead of `Authorization`.
    AppAuthHeader,
    /// `backend_sign_header`: the header of backend signatures, instead of `Authorization`.
    BackendSignHeader,
    /// `app_route`: calls by IP address reach every group's APIs.
    AppRoute,
    /// `real_ip_from_xff`: the client address from `X-Forwarded-For`.
    RealIpFromXff,
    /// `request_body_size`: the instance's own request body limit.
    RequestBodySize,
    /// `backend_timeout`: a cap on every backend timeout of the instance.
    BackendTimeout,
    /// `ratelimit`: the instance's default limit of calls per second of each API.
    RateLimit,
}

impl FeatureName {
    /// Every feature apigw implements (what `GET .../instance-features` lists).
    pub const ALL: [FeatureName; 11] = [
        FeatureName::AppSecret,
        FeatureName::AppBasic,
        FeatureName::AppApiKey,
        FeatureName::AppToken,
        FeatureName::AppAuthHeader,
        FeatureName::BackendSignHeader,
        FeatureName::AppRoute,
        FeatureName::RealIpFromXff,
        FeatureName::RequestBodySize,
        FeatureName::BackendTimeout,
        FeatureName::RateLimit,
    ];

    /// The feature named `name`; 400 `APIG.2011` (`name`) for any other.
    pub fn parse(name: &str) -> Result<Self, ApiError> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| ApiError::invalid_body_field("name"))
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            FeatureName::AppSecret => "app_secret",
            FeatureName::AppBasic => "app_basic",
            FeatureName::AppApiKey => "app_api_key",
            FeatureName::AppToken => "app_token",
            FeatureName::AppAuthHeader => "app_auth_header",
            FeatureName::BackendSignHeader => "backend_sign_header",
            FeatureName::AppRoute => "app_route",
            FeatureName::RealIpFromXff => "real_ip_from_xff",
            FeatureName::RequestBodySize => "request_body_size",
            FeatureName::BackendTimeout => "backend_timeout",
            FeatureName::RateLimit => "ratelimit",
        }
    }
}

impl fmt::Display for FeatureName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `request_body_size` without a `config`: APIG's default, 12 MB.
pub const DEFAULT_BODY_LIMIT: u64 = 12 * MB;
/// The smallest `request_body_size` (1 MB).
pub const MIN_BODY_LIMIT: u64 = MB;
/// The largest `request_body_size` (9,536 MB).
pub const MAX_BODY_LIMIT: u64 = 9536 * MB;
const MB: u64 = 1024 * 1024;
/// The largest `max_timeout` of `backend_timeout`, in milliseconds (an API's own largest).
pub const MAX_BACKEND_TIMEOUT_MS: u32 = 600_000;
/// `backend_timeout` without a `max_timeout`: APIG's default, 60 s.
const DEFAULT_BACKEND_TIMEOUT_MS: u32 = 60_000;
/// The largest `api_limits` of `ratelimit`, in calls per second.
pub const MAX_API_LIMITS: u32 = 1_000_000;
/// `ratelimit` without an `api_limits`: APIG's default, 200 calls per second.
const DEFAULT_API_LIMITS: u32 = 200;

/// The `config` of an on/off feature.
const ON: &str = "on";
const OFF: &str = "off";

/// A feature's setting that passed its rules: the feature, `enable`, and its `config`.
///
/// `app_secret` and `app_basic` are switches whose `config` is `on` or `off` (APIG's example:
/// `{"name":"app_api_key","enable":true,"config":"on"}`); without a `config` the switch follows
/// `enable`. `real_ip_from_xff` takes a JSON object, `{"enable":true,"xff_index":-1}`; both
/// members are optional (`enable` follows the outer one, `xff_index` is -1: the address the
/// nearest proxy added) and `xff_index` is any 32-bit integer (APIG's range; an index past the
/// header's addresses leaves the TCP peer as the client). A feature is in force only when the
/// outer and the inner switch are both on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureSetting {
    name: FeatureName,
    enable: bool,
    config: FeatureConfig,
}

/// What `config` holds, by feature.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FeatureConfig {
    /// `on` (true) or `off`.
    Switch(bool),
    /// `real_ip_from_xff`'s object.
    Xff { enable: bool, xff_index: i32 },
    /// `request_body_size`'s byte count.
    BodyLimit(u64),
    /// `backend_timeout`'s `max_timeout`, in milliseconds.
    TimeoutCap(u32),
    /// `ratelimit`'s `api_limits`, calls per second.
    ApiLimits(u32),
    /// `app_token`'s object.
    Token(AppTokenTerms),
    /// `app_auth_header`'s or `backend_sign_header`'s header name (empty: none, as APIG's
    /// initial value).
    HeaderName(String),
}

impl FeatureSetting {
    /// Parses a request's `name`, `enable` and `config`; 400 `APIG.2011` naming the field
    /// that broke its rule.
    pub fn parse(name: &str, enable: bool, config: Option<&str>) -> Result<Self, ApiError> {
        let name = FeatureName::parse(name)?;
        let config = config.map(str::trim);
        let config = match name {
            FeatureName::AppSecret
            | FeatureName::AppBasic
            | FeatureName::AppApiKey
            | FeatureName::AppRoute => match config {
                None => FeatureConfig::Switch(enable),
                Some(c) if c.eq_ignore_ascii_case(ON) => FeatureConfig::Switch(true),
                Some(c) if c.eq_ignore_ascii_case(OFF) => FeatureConfig::Switch(false),
                Some(_) => return Err(ApiError::invalid_body_field("config")),
            },
            FeatureName::RealIpFromXff => parse_xff(enable, config)?,
            FeatureName::AppToken => FeatureConfig::Token(AppTokenTerms::parse(enable, config)?),
            FeatureName::AppAuthHeader | FeatureName::BackendSignHeader => {
                FeatureConfig::HeaderName(parse_header_name(config)?)
            }
            FeatureName::RequestBodySize => match config {
                None => FeatureConfig::BodyLimit(DEFAULT_BODY_LIMIT),
                Some(c) => c
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (MIN_BODY_LIMIT..=MAX_BODY_LIMIT).contains(n))
                    .map(FeatureConfig::BodyLimit)
                    .ok_or_else(|| ApiError::invalid_body_field("config"))?,
            },
            FeatureName::BackendTimeout => FeatureConfig::TimeoutCap(parse_number(
                config,
                "max_timeout",
                MAX_BACKEND_TIMEOUT_MS,
                DEFAULT_BACKEND_TIMEOUT_MS,
            )?),
            FeatureName::RateLimit => FeatureConfig::ApiLimits(parse_number(
                config,
                "api_limits",
                MAX_API_LIMITS,
                DEFAULT_API_LIMITS,
            )?),
        };
        Ok(Self {
            name,
            enable,
            config,
        })
    }

    /// The feature.
    pub fn name(&self) -> FeatureName {
        self.name
    }

    /// `enable` as configured.
    pub fn enable(&self) -> bool {
        self.enable
    }

    /// `config` as stored and shown: `on` or `off`, or the `real_ip_from_xff` object with
    /// both members.
    pub fn config(&self) -> String {
        match &self.config {
            FeatureConfig::Switch(on) => (if *on { ON } else { OFF }).to_owned(),
            FeatureConfig::Xff { enable, xff_index } => {
                serde_json::json!({"enable": enable, "xff_index": xff_index}).to_string()
            }
            FeatureConfig::BodyLimit(bytes) => bytes.to_string(),
            FeatureConfig::TimeoutCap(ms) => serde_json::json!({ "max_timeout": ms }).to_string(),
            FeatureConfig::ApiLimits(n) => serde_json::json!({ "api_limits": n }).to_string(),
            FeatureConfig::Token(terms) => terms.to_config(),
            FeatureConfig::HeaderName(name) => name.clone(),
        }
    }

    /// Whether the gateway applies the feature.
    pub fn in_force(&self) -> bool {
        self.enable
            && match &self.config {
                FeatureConfig::Switch(on) => *on,
                FeatureConfig::Xff { enable, .. } => *enable,
                FeatureConfig::Token(terms) => terms.enable(),
                FeatureConfig::HeaderName(name) => !name.is_empty(),
                FeatureConfig::BodyLimit(_)
                | FeatureConfig::TimeoutCap(_)
                | FeatureConfig::ApiLimits(_) => true,
            }
    }

    /// For `app_auth_header` or `backend_sign_header` in force, the header's name (as
    /// configured; header names are case-insensitive).
    pub fn header_name(&self) -> Option<&str> {
        match &self.config {
            FeatureConfig::HeaderName(name) if self.in_force() => Some(name),
            _ => None,
        }
    }

    /// For `app_token` in force, its terms.
    pub fn app_token(&self) -> Option<&AppTokenTerms> {
        match &self.config {
            FeatureConfig::Token(terms) if self.in_force() => Some(terms),
            _ => None,
        }
    }

    /// For `backend_timeout` in force, the longest a backend may take, in milliseconds.
    pub fn max_backend_timeout_ms(&self) -> Option<u32> {
        match self.config {
            FeatureConfig::TimeoutCap(ms) if self.in_force() => Some(ms),
            _ => None,
        }
    }

    /// For `ratelimit` in force, the calls per second each API takes.
    pub fn api_calls_per_second(&self) -> Option<u32> {
        match self.config {
            FeatureConfig::ApiLimits(n) if self.in_force() => Some(n),
            _ => None,
        }
    }

    /// For `request_body_size` in force, the largest request body in bytes.
    pub fn body_limit(&self) -> Option<u64> {
        match self.config {
            FeatureConfig::BodyLimit(bytes) if self.in_force() => Some(bytes),
            _ => None,
        }
    }

    /// For `real_ip_from_xff` in force, which address of `X-Forwarded-For` is the client's.
    pub fn xff_index(&self) -> Option<i32> {
        match self.config {
            FeatureConfig::Xff { xff_index, .. } if self.in_force() => Some(xff_index),
            _ => None,
        }
    }
}

/// A `config` object with one number, `{"<key>": <1..=max>}` (`backend_timeout`'s
/// `max_timeout`, `ratelimit`'s `api_limits`); without the `config` or the key, `default`.
fn parse_number(config: Option<&str>, key: &str, max: u32, default: u32) -> Result<u32, ApiError> {
    let bad = || ApiError::invalid_body_field("config");
    let Some(text) = config else {
        return Ok(default);
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| bad())?;
    let object = value.as_object().ok_or_else(bad)?;
    if object.keys().any(|k| k != key) {
        return Err(bad());
    }
    match object.get(key) {
        None => Ok(default),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(bad),
    }
}

/// Header names `app_auth_header` and `backend_sign_header` may not take: the ones the gateway reads for something
/// else, or that HTTP itself gives a meaning.
const RESERVED_HEADERS: [&str; 20] = [
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "expect",
    "x-stage",
    "x-apig-mode",
    "x-apig-appcode",
    "x-hw-id",
    "x-hw-appkey",
    "apikey",
    "x-sdk-date",
    "x-sdk-content-sha256",
    "x-request-id",
    "x-forwarded-for",
];

/// `app_auth_header`'s and `backend_sign_header`'s `config`: a header name of at most 64
/// letters, digits, `-` and `_`, not one of [`RESERVED_HEADERS`]; absent or empty, none (the
/// feature then does nothing, as with APIG's empty initial value).
fn parse_header_name(config: Option<&str>) -> Result<String, ApiError> {
    let name = config.unwrap_or_default();
    let fits = name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !RESERVED_HEADERS
            .iter()
            .any(|r| r.eq_ignore_ascii_case(name));
    if fits {
        Ok(name.to_owned())
    } else {
        Err(ApiError::invalid_body_field("config"))
    }
}

/// `real_ip_from_xff`'s `config`: a JSON object with optional `enable` (a boolean, or `on` /
/// `off`) and `xff_index` (a 32-bit integer), nothing else.
fn parse_xff(outer: bool, config: Option<&str>) -> Result<FeatureConfig, ApiError> {
    let bad = || ApiError::invalid_body_field("config");
    let Some(text) = config else {
        return Ok(FeatureConfig::Xff {
            enable: outer,
            xff_index: -1,
        });
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| bad())?;
    let object = value.as_object().ok_or_else(bad)?;
    if object.keys().any(|k| k != "enable" && k != "xff_index") {
        return Err(bad());
    }
    let enable = match object.get("enable") {
        None => outer,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case(ON) => true,
        Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case(OFF) => false,
        Some(_) => return Err(bad()),
    };
    let xff_index = match object.get("xff_index") {
        None => -1,
        Some(v) => v
            .as_i64()
            .and_then(|i| i32::try_from(i).ok())
            .ok_or_else(bad)?,
    };
    Ok(FeatureConfig::Xff { enable, xff_index })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_implemented_features_parse() {
        assert_eq!(
            FeatureName::parse("app_secret").unwrap(),
            FeatureName::AppSecret
        );
        assert_eq!(
            FeatureName::parse("app_basic").unwrap(),
            FeatureName::AppBasic
        );
        assert_eq!(
            FeatureName::parse("real_ip_from_xff").unwrap(),
            FeatureName::RealIpFromXff
        );
        for other in ["", "APP_BASIC", "app_jwt", "app_basic "] {
            let e = FeatureName::parse(other).unwrap_err();
            assert_eq!((e.status, e.code), (400, "APIG.2011"), "{other:?}");
            assert!(e.message.contains("parameterName:name"), "{}", e.message);
        }
        for f in FeatureName::ALL {
            assert_eq!(FeatureName::parse(f.as_str()).unwrap(), f);
        }
    }

    #[test]
    fn a_switch_is_in_force_when_enabled_and_on() {
        let s = |enable, config| FeatureSetting::parse("app_basic", enable, config);
        let on = s(true, Some("on")).unwrap();
        assert!(on.in_force() && on.enable() && on.config() == "on");
        assert!(!s(true, Some("off")).unwrap().in_force());
        assert!(!s(false, Some("on")).unwrap().in_force());
        assert_eq!(s(true, None).unwrap().config(), "on");
        assert_eq!(s(false, None).unwrap().config(), "off");
        assert_eq!(s(true, Some(" ON ")).unwrap().config(), "on");
        for bad in ["", "true", "1", "{\"enable\":\"on\"}"] {
            let e = s(true, Some(bad)).unwrap_err();
            assert_eq!(e.code, "APIG.2011");
            assert!(e.message.contains("parameterName:config"), "{bad:?}");
        }
        assert!(FeatureSetting::parse("lts", true, Some("on")).is_err());
        assert_eq!(on.xff_index(), None);
    }

    #[test]
    fn the_body_limit_is_a_byte_count_within_apig_s_range() {
        let s = |enable, config| FeatureSetting::parse("request_body_size", enable, config);
        let set = s(true, Some("104857600")).unwrap();
        assert_eq!(set.body_limit(), Some(100 * MB));
        assert_eq!(set.config(), "104857600");
        assert_eq!(
            s(true, None).unwrap().body_limit(),
            Some(DEFAULT_BODY_LIMIT)
        );
        assert_eq!(s(false, Some("104857600")).unwrap().body_limit(), None);
        assert_eq!(s(true, Some(" 1048576 ")).unwrap().body_limit(), Some(MB));
        let largest = MAX_BODY_LIMIT.to_string();
        assert_eq!(
            s(true, Some(&largest)).unwrap().body_limit(),
            Some(MAX_BODY_LIMIT)
        );
        let too_large = (MAX_BODY_LIMIT + 1).to_string();
        for bad in ["", "on", "1048575", too_large.as_str(), "-1", "1e6", "12M"] {
            let e = s(true, Some(bad)).unwrap_err();
            assert!(e.message.contains("parameterName:config"), "{bad:?}");
        }
        assert_eq!(s(true, Some("on")).ok(), None);
        let again = s(set.enable(), Some(&set.config())).unwrap();
        assert_eq!(again, set);
    }

    #[test]
    fn the_backend_timeout_cap_is_an_object_with_max_timeout() {
        let s = |enable, config| FeatureSetting::parse("backend_timeout", enable, config);
        let set = s(true, Some(r#"{"max_timeout": 500}"#)).unwrap();
        assert_eq!(set.max_backend_timeout_ms(), Some(500));
        assert_eq!(set.config(), r#"{"max_timeout":500}"#);
        assert_eq!(
            s(true, None).unwrap().max_backend_timeout_ms(),
            Some(60_000)
        );
        assert_eq!(
            s(true, Some("{}")).unwrap().max_backend_timeout_ms(),
            Some(60_000)
        );
        assert_eq!(
            s(false, Some(r#"{"max_timeout": 500}"#))
                .unwrap()
                .max_backend_timeout_ms(),
            None
        );
        assert_eq!(
            s(true, Some(r#"{"max_timeout": 600000}"#))
                .unwrap()
                .max_backend_timeout_ms(),
            Some(600_000)
        );
        for bad in [
            "500",
            r#"{"max_timeout": 0}"#,
            r#"{"max_timeout": 600001}"#,
            r#"{"max_timeout": "500"}"#,
            r#"{"max_timeout": 1.5}"#,
            r#"{"timeout": 500}"#,
        ] {
            let e = s(true, Some(bad)).unwrap_err();
            assert!(e.message.contains("parameterName:config"), "{bad:?}");
        }
        let again = s(set.enable(), Some(&set.config())).unwrap();
        assert_eq!(again, set);
    }

    #[test]
    fn the_xff_feature_takes_an_object() {
        let s = |enable, config| FeatureSetting::parse("real_ip_from_xff", enable, config);
        let set = s(true, Some(r#"{"enable": true, "xff_index": 1}"#)).unwrap();
        assert!(set.in_force());
        assert_eq!(set.xff_index(), Some(1));
        assert_eq!(set.config(), r#"{"enable":true,"xff_index":1}"#);
        // Both members optional; `enable` follows the outer one, the index is the last address.
        let plain = s(true, None).unwrap();
        assert_eq!(plain.xff_index(), Some(-1));
        assert_eq!(plain.config(), r#"{"enable":true,"xff_index":-1}"#);
        assert_eq!(s(true, Some("{}")).unwrap().xff_index(), Some(-1));
        assert_eq!(
            s(true, Some(r#"{"enable":"on","xff_index":-2147483648}"#))
                .unwrap()
                .xff_index(),
            Some(i32::MIN)
        );
        // Off inside or outside: not in force, no index.
        let inner_off = s(true, Some(r#"{"enable":false,"xff_index":0}"#)).unwrap();
        assert!(!inner_off.in_force() && inner_off.xff_index().is_none());
        assert!(s(false, Some(r#"{"xff_index":0}"#))
            .unwrap()
            .xff_index()
            .is_none());
        assert_eq!(
            s(false, None).unwrap().config(),
            r#"{"enable":false,"xff_index":-1}"#
        );
        for bad in [
            "on",
            "[1]",
            "{",
            r#"{"xff_index": 2147483648}"#,
            r#"{"xff_index": -2147483649}"#,
            r#"{"xff_index": 1.5}"#,
            r#"{"xff_index": "1"}"#,
            r#"{"enable": 1}"#,
            r#"{"enable": true, "other": 1}"#,
        ] {
            let e = s(true, Some(bad)).unwrap_err();
            assert!(e.message.contains("parameterName:config"), "{bad:?}");
        }
        // The stored text reads back as the same setting.
        let again = s(set.enable(), Some(&set.config())).unwrap();
        assert_eq!(again, set);
    }

    #[test]
    fn the_default_api_limit_is_an_object_with_api_limits() {
        let s = |enable, config| FeatureSetting::parse("ratelimit", enable, config);
        let set = s(true, Some(r#"{"api_limits": 500}"#)).unwrap();
        assert_eq!(set.api_calls_per_second(), Some(500));
        assert_eq!(set.config(), r#"{"api_limits":500}"#);
        assert_eq!(s(true, None).unwrap().api_calls_per_second(), Some(200));
        assert_eq!(
            s(true, Some("{}")).unwrap().api_calls_per_second(),
            Some(200)
        );
        assert_eq!(
            s(false, Some(r#"{"api_limits": 500}"#))
                .unwrap()
                .api_calls_per_second(),
            None
        );
        for bad in [
            r#"{"api_limits": 0}"#,
            r#"{"api_limits": 1000001}"#,
            r#"{"api_limits": "500"}"#,
            r#"{"api_limit": 500}"#,
            "500",
        ] {
            assert_eq!(s(true, Some(bad)).unwrap_err().code, "APIG.2011", "{bad}");
        }
    }

    #[test]
    fn the_auth_header_is_a_header_name_the_gateway_does_not_read_otherwise() {
        fn s(enable: bool, config: Option<&str>) -> Result<FeatureSetting, ApiError> {
            FeatureSetting::parse("app_auth_header", enable, config)
        }
        let set = s(true, Some("X-Apig-Auth")).unwrap();
        assert_eq!(set.header_name(), Some("X-Apig-Auth"));
        assert_eq!(set.config(), "X-Apig-Auth");
        assert_eq!(s(set.enable(), Some(&set.config())).unwrap(), set);
        assert_eq!(s(false, Some("X-Apig-Auth")).unwrap().header_name(), None);
        // Empty, as APIG's initial value: stored, in force nowhere.
        for empty in [None, Some("")] {
            let none = s(true, empty).unwrap();
            assert!(!none.in_force() && none.header_name().is_none());
        }
        assert_eq!(
            s(true, Some("authorization")).unwrap().header_name(),
            Some("authorization")
        );
        let backend = FeatureSetting::parse("backend_sign_header", true, Some("X-Gw-Sig")).unwrap();
        assert_eq!(backend.header_name(), Some("X-Gw-Sig"));
        assert!(FeatureSetting::parse("backend_sign_header", true, Some("Host")).is_err());
        let long = "x".repeat(65);
        for bad in [
            "Host",
            "X-Apig-AppCode",
            "apikey",
            "x sig",
            "x:y",
            "é",
            long.as_str(),
        ] {
            let e = s(true, Some(bad)).unwrap_err();
            assert!(e.message.contains("parameterName:config"), "{bad:?}");
        }
    }
}
