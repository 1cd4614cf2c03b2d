//! Request throttling policies (APIG "throttles"): how many calls an API takes per window, in
//! all and per caller (the user, the app, the client address), the policy's exceptions for
//! single apps and users ("excluded configurations", `throttle-specials`), and the errors of
//! these resources.
//!
//! Rules as APIG documents them (OTC API reference, "Request Throttling Policy Management";
//! the official SDK's `ThrottleBaseInfo`): every limit is a positive 32-bit count; the user
//! limit may not exceed the API limit, the app limit neither the user limit (when there is
//! one) nor the API limit, the address limit not the API limit (400 `APIG.2003`, "too large",
//! naming the field); an exception's limit may not exceed the policy's API limit.

use crate::authz::{QuotaNumber, TimeUnit};
use crate::names::AppRemark;
use crate::ApiError;
use serde_json::Value;
use std::fmt;

/// Most excluded configurations one policy may hold.
pub const MAX_SPECIALS_PER_THROTTLE: usize = 100;

impl ApiError {
    /// 404 `APIG.3005`: no request throttling policy with this id in this project and instance.
    pub fn throttle_not_found(id: &str) -> Self {
        Self::new(
            404,
            "APIG.3005",
            format!("Request throttling policy {id} does not exist"),
        )
    }

    /// 400 `APIG.3204`: another policy of the instance has this name (Huawei's wording).
    pub fn throttle_name_exists() -> Self {
        Self::new(
            400,
            "APIG.3204",
            "The request throttling policy name already exists.",
        )
    }

    /// 404 `APIG.3012`: no binding record with this id.
    pub fn throttle_binding_not_found() -> Self {
        Self::new(
            404,
            "APIG.3012",
            "The request throttling policy binding record does not exist",
        )
    }

    /// 404 `APIG.3013`: no excluded configuration with this id under the policy.
    pub fn throttle_special_not_found(id: &str) -> Self {
        Self::new(
            404,
            "APIG.3013",
            format!("Excluded request throttling configuration {id} does not exist"),
        )
    }

    /// 400 `APIG.3308`: the policy already has an exception for this app or user.
    pub fn throttle_special_exists() -> Self {
        Self::new(
            400,
            "APIG.3308",
            "The excluded request throttling configuration already exists.",
        )
    }

    /// 400 `APIG.3307` (Huawei's count-limit family): the policy holds as many excluded
    /// configurations as allowed.
    pub fn throttle_specials_limit_reached() -> Self {
        Self::new(
            400,
            "APIG.3307",
            format!(
                "The number of excluded request throttling configurations exceeds the maximum allowed limit {MAX_SPECIALS_PER_THROTTLE}."
            ),
        )
    }

    /// 404 `APIG.3015`: no publication record with this id (the API is not published there).
    pub fn publication_record_not_found(id: &str) -> Self {
        Self::new(
            404,
            "APIG.3015",
            format!("The API publication record does not exist,id:{id}"),
        )
    }

    /// 400 `APIG.3353` (our code; APIG allows one policy per API and environment and does not
    /// document the refusal): the published API is bound to another policy.
    pub fn api_bound_to_other_throttle(publish_id: &str) -> Self {
        Self::new(
            400,
            "APIG.3353",
            format!(
                "The API of publication record {publish_id} is already bound to another request throttling policy in this environment"
            ),
        )
    }

    /// 400 `APIG.2002`: a value below what another value requires.
    pub fn value_too_small(field: &str) -> Self {
        Self::new(
            400,
            "APIG.2002",
            format!(
                "The parameter value is too small,parameterName:{field}. Please refer to the support documentation"
            ),
        )
    }

    /// 400 `APIG.2003`: a value above what its rule (or another field) allows.
    pub fn value_too_large(field: &str) -> Self {
        Self::new(
            400,
            "APIG.2003",
            format!(
                "The parameter value is too large,parameterName:{field}. Please refer to the support documentation"
            ),
        )
    }
}

/// Throttling policy name: 3–64 characters, a letter (or CJK ideograph) first, then letters,
/// digits and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ThrottleName(String);

/// Whether `s` is a policy name as APIG names throttling and access control policies: 3–64
/// characters, a letter (or CJK ideograph) first, then letters, digits and `_`.
pub fn is_policy_name(s: &str) -> bool {
    let is_cjk = |c: char| ('\u{4e00}'..='\u{9fa5}').contains(&c);
    let mut chars = s.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || is_cjk(c));
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || is_cjk(c));
    first_ok && rest_ok && (3..=64).contains(&s.chars().count())
}

impl ThrottleName {
    /// Parses the `name` body field.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        if is_policy_name(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ApiError::invalid_body_field("name"))
        }
    }

    /// The validated text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ThrottleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a policy counts the calls of the APIs bound to it (`type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThrottleKind {
    /// `1`: each bound API (in each environment) has its own counters.
    PerApi,
    /// `2`: the APIs bound to the policy share one set of counters.
    Shared,
}

impl ThrottleKind {
    /// Parses the optional `type` body field (absent: per API).
    pub fn parse(value: Option<&Value>) -> Result<Self, ApiError> {
        match value {
            None | Some(Value::Null) => Ok(Self::PerApi),
            Some(v) => v
                .as_i64()
                .and_then(Self::from_code)
                .ok_or_else(|| ApiError::invalid_body_field("type")),
        }
    }

    /// The kind with this wire and storage code.
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            1 => Some(Self::PerApi),
            2 => Some(Self::Shared),
            _ => None,
        }
    }

    /// Wire and storage code.
    pub fn code(self) -> i64 {
        match self {
            Self::PerApi => 1,
            Self::Shared => 2,
        }
    }
}

/// What a policy allows per window of `time_interval` × `time_unit`: `api` calls of a bound API
/// in all, and optionally at most `user` by one user (tenant), `app` by one app and `ip` from
/// one client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    /// `api_call_limits`.
    pub api: QuotaNumber,
    /// `user_call_limits` (absent or 0: no user limit).
    pub user: Option<QuotaNumber>,
    /// `app_call_limits` (absent or 0: no app limit).
    pub app: Option<QuotaNumber>,
    /// `ip_call_limits` (absent or 0: no address limit).
    pub ip: Option<QuotaNumber>,
    /// Window length in `time_unit`s.
    pub time_interval: QuotaNumber,
    /// Unit of the window length.
    pub time_unit: TimeUnit,
}

/// An optional limit: absent, `null` or 0 means none (APIG answers 0 for a limit not set).
fn optional_limit(value: Option<&Value>, field: &str) -> Result<Option<QuotaNumber>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) if v.as_i64() == Some(0) => Ok(None),
        v => QuotaNumber::parse(v, field).map(Some),
    }
}

impl ThrottleLimits {
    /// Reads the limits of a create or update body (`get` gives a body field by name) and
    /// checks them against each other.
    pub fn parse<'a>(get: impl Fn(&str) -> Option<&'a Value>) -> Result<Self, ApiError> {
        let api = QuotaNumber::parse(get("api_call_limits"), "api_call_limits")?;
        let limits = Self {
            api,
            user: optional_limit(get("user_call_limits"), "user_call_limits")?,
            app: optional_limit(get("app_call_limits"), "app_call_limits")?,
            ip: optional_limit(get("ip_call_limits"), "ip_call_limits")?,
            time_interval: QuotaNumber::parse(get("time_interval"), "time_interval")?,
            time_unit: match get("time_unit").and_then(Value::as_str) {
                Some(unit) => TimeUnit::parse(unit)?,
                None => return Err(ApiError::invalid_body_field("time_unit")),
            },
        };
        if limits.user.is_some_and(|u| u > api) {
            return Err(ApiError::value_too_large("user_call_limits"));
        }
        if limits.app.is_some_and(|a| a > limits.user.unwrap_or(api)) {
            return Err(ApiError::value_too_large("app_call_limits"));
        }
        if limits.ip.is_some_and(|i| i > api) {
            return Err(ApiError::value_too_large("ip_call_limits"));
        }
        Ok(limits)
    }

    /// Length of one window in milliseconds.
    pub fn window_ms(&self) -> u64 {
        u64::from(self.time_interval.get()) * self.time_unit.seconds() * 1000
    }
}

/// A request throttling policy as created or replaced (`PUT` replaces every field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleSpec {
    /// Unique in the instance.
    pub name: ThrottleName,
    /// What it allows.
    pub limits: ThrottleLimits,
    /// Per API or shared counters.
    pub kind: ThrottleKind,
    /// Description (≤ 255 characters).
    pub remark: AppRemark,
    /// `enable_adaptive_control`: stored and shown; APIG documents it as not supported yet, and
    /// so does apigw (it changes nothing).
    pub adaptive_control: bool,
}

/// Parses `enable_adaptive_control` (`"TRUE"` or `"FALSE"`, absent: false).
pub fn parse_adaptive_control(value: Option<&Value>) -> Result<bool, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(Value::String(s)) if s == "TRUE" => Ok(true),
        Some(Value::String(s)) if s == "FALSE" => Ok(false),
        Some(_) => Err(ApiError::invalid_body_field("enable_adaptive_control")),
    }
}

/// Who an excluded configuration concerns (`object_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpecialObjectType {
    /// `APP`: an app of the instance; its limit replaces the policy's app limit.
    App,
    /// `USER`: a tenant (the project that owns the apps calling); its limit replaces the
    /// policy's user limit.
    User,
}

impl SpecialObjectType {
    /// Parses the `object_type` body field or query parameter named `field`.
    pub fn parse(s: &str, field: &str) -> Result<Self, ApiError> {
        Self::from_wire(s).ok_or_else(|| ApiError::invalid_body_field(field))
    }

    /// The type with this wire form.
    pub fn from_wire(s: &str) -> Option<Self> {
        match s {
            "APP" => Some(Self::App),
            "USER" => Some(Self::User),
            _ => None,
        }
    }

    /// Wire and storage form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::App => "APP",
            Self::User => "USER",
        }
    }
}

/// The `object_id` of an excluded configuration: an app id or a tenant (project) id, 1–64
/// characters of letters, digits, `-` and `_` (Huawei's pattern).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpecialObjectId(String);

impl SpecialObjectId {
    /// Parses the `object_id` body field.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ApiError::invalid_body_field("object_id"))
        }
    }

    /// The validated text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limits(body: Value) -> Result<ThrottleLimits, ApiError> {
        ThrottleLimits::parse(|k| body.get(k))
    }

    #[test]
    fn names_follow_the_rule() {
        assert!(ThrottleName::parse("throttle_demo").is_ok());
        assert!(ThrottleName::parse("流控策略").is_ok());
        assert!(ThrottleName::parse(&format!("a{}", "b".repeat(63))).is_ok());
        for bad in ["ab", "1abc", "_abc", "ab-c", "ab c", ""] {
            assert_eq!(
                ThrottleName::parse(bad).unwrap_err().code,
                "APIG.2011",
                "{bad}"
            );
        }
        assert!(ThrottleName::parse(&format!("a{}", "b".repeat(64))).is_err());
    }

    #[test]
    fn limits_are_read_and_checked_against_each_other() {
        let ok = limits(json!({"api_call_limits": 800, "user_call_limits": 500,
            "app_call_limits": 300, "ip_call_limits": 600, "time_interval": 1, "time_unit": "SECOND"}))
        .unwrap();
        assert_eq!(ok.api.get(), 800);
        assert_eq!(ok.user.map(QuotaNumber::get), Some(500));
        assert_eq!(ok.window_ms(), 1000);
        // Zero and absent limits are no limit.
        let some = limits(json!({"api_call_limits": 10, "user_call_limits": 0,
            "time_interval": 2, "time_unit": "MINUTE"}))
        .unwrap();
        assert_eq!((some.user, some.app, some.ip), (None, None, None));
        assert_eq!(some.window_ms(), 120_000);
        // The app limit is bounded by the API limit when there is no user limit.
        let err = |body: Value| limits(body).unwrap_err();
        let base = |extra: Value| {
            let mut b = json!({"api_call_limits": 10, "time_interval": 1, "time_unit": "SECOND"});
            b.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            b
        };
        assert_eq!(err(base(json!({"app_call_limits": 11}))).code, "APIG.2003");
        let e = err(base(json!({"user_call_limits": 5, "app_call_limits": 6})));
        assert_eq!(e.code, "APIG.2003");
        assert!(e.message.contains("app_call_limits"));
        assert!(err(base(json!({"user_call_limits": 11})))
            .message
            .contains("user_call_limits"));
        assert!(err(base(json!({"ip_call_limits": 11})))
            .message
            .contains("ip_call_limits"));
        for (field, bad) in [
            ("api_call_limits", json!(0)),
            ("api_call_limits", json!("10")),
            ("api_call_limits", json!(2_147_483_648_i64)),
            ("user_call_limits", json!(-1)),
            ("time_interval", json!(0)),
            ("time_unit", json!("WEEK")),
            ("time_unit", json!(1)),
        ] {
            let e = err(base(json!({ field: bad })));
            assert_eq!(e.code, "APIG.2011", "{field}");
            assert!(e.message.contains(field), "{field}: {}", e.message);
        }
    }

    #[test]
    fn kinds_objects_and_adaptive_control() {
        assert_eq!(ThrottleKind::parse(None).unwrap(), ThrottleKind::PerApi);
        assert_eq!(
            ThrottleKind::parse(Some(&json!(2))).unwrap(),
            ThrottleKind::Shared
        );
        assert!(ThrottleKind::parse(Some(&json!(3))).is_err());
        assert!(ThrottleKind::parse(Some(&json!("1"))).is_err());
        assert!(parse_adaptive_control(Some(&json!("TRUE"))).unwrap());
        assert!(!parse_adaptive_control(None).unwrap());
        assert!(parse_adaptive_control(Some(&json!(true))).is_err());
        assert_eq!(
            SpecialObjectType::parse("APP", "object_type").unwrap(),
            SpecialObjectType::App
        );
        assert!(SpecialObjectType::parse("app", "object_type").is_err());
        assert!(SpecialObjectId::parse("356de8eb7a8742168586e5daf5339965").is_ok());
        assert!(SpecialObjectId::parse("a-b_c").is_ok());
        assert!(SpecialObjectId::parse("").is_err());
        assert!(SpecialObjectId::parse("a b").is_err());
        assert!(SpecialObjectId::parse(&"a".repeat(65)).is_err());
    }
}
