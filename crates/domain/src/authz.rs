//! Values of app authorizations, app ACLs and app quotas (spec §1.12, §1.13, §3.5) that parse,
//! the client-IP matcher the data plane consults on every request, and the errors of these
//! resources.
//!
//! An ACL value is a single address (`192.168.0.1`, `2001:db8::1`), an inclusive range
//! (`192.168.0.5-192.168.0.10`, start ≤ end, both of one family) or a CIDR block
//! (`192.168.0.100/28`; host bits may be set, as in Huawei's own example, and are ignored).
//! [`AclValues`] keeps the values as given, for the management API, and an [`IpMatcher`] built
//! once from them: sorted, merged ranges searched by bisection, so a check allocates nothing.

use crate::error::ApiError;
use serde_json::Value;
use std::fmt;
use std::net::IpAddr;
use time::macros::format_description;
use time::PrimitiveDateTime;

/// Most values one app ACL may hold (our limit; Huawei documents none).
pub const MAX_ACL_VALUES: usize = 300;

/// Most ids one `app_ids` or `api_ids` list may hold in a single call.
pub const MAX_IDS_PER_CALL: usize = 500;

impl ApiError {
    /// 404 `APIG.3093`: the app quota is not in this project and instance.
    pub fn app_quota_not_found(id: &str) -> Self {
        Self::new(404, "APIG.3093", format!("App quota {id} does not exist"))
    }

    /// 400 `APIG.3325`: another app quota of the instance has this name (Huawei's wording).
    pub fn app_quota_name_exists() -> Self {
        Self::new(400, "APIG.3325", "The API quota name already exists")
    }

    /// 400 `APIG.3351` (our code): the app is bound to another quota; an app has at most one,
    /// so it must be unbound there first.
    pub fn app_bound_to_other_quota(app_id: &str) -> Self {
        Self::new(
            400,
            "APIG.3351",
            format!("The app {app_id} is already bound to another app quota"),
        )
    }

    /// 404 `APIG.3352` (our code): the app exists but is not bound to this quota.
    pub fn app_not_bound_to_quota(app_id: &str, quota_id: &str) -> Self {
        Self::new(
            404,
            "APIG.3352",
            format!("The app {app_id} is not bound to app quota {quota_id}"),
        )
    }

    /// 404 `APIG.3009`: no authorization record with this id in this project and instance.
    pub fn app_auth_not_found(id: &str) -> Self {
        Self::new(
            404,
            "APIG.3009",
            format!("The app authorization record does not exist,id:{id}"),
        )
    }
}

// ---- ACL ----------------------------------------------------------------------------------

/// Whether an app ACL lists the addresses allowed (`PERMIT`) or refused (`DENY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AclType {
    /// Whitelist: only listed addresses may call.
    Permit,
    /// Blacklist: listed addresses may not call.
    Deny,
}

impl AclType {
    /// Parses the `app_acl_type` body field (`PERMIT` or `DENY`, exact case).
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        Self::from_wire(s).ok_or_else(|| ApiError::invalid_body_field("app_acl_type"))
    }

    /// The type named by its wire form, if it is one.
    pub fn from_wire(s: &str) -> Option<Self> {
        match s {
            "PERMIT" => Some(Self::Permit),
            "DENY" => Some(Self::Deny),
            _ => None,
        }
    }

    /// Wire and storage form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Permit => "PERMIT",
            Self::Deny => "DENY",
        }
    }
}

impl fmt::Display for AclType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One parsed ACL value: an inclusive address range of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    V4(u32, u32),
    V6(u128, u128),
}

fn parse_addr(s: &str) -> Option<IpAddr> {
    // `IpAddr::from_str` refuses whitespace, zone ids and IPv4 octets with leading zeros.
    s.parse().ok()
}

fn parse_prefix(s: &str, max: u32) -> Option<u32> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|p| *p <= max)
}

fn parse_span(s: &str) -> Option<Span> {
    if let Some((a, b)) = s.split_once('-') {
        return match (parse_addr(a)?, parse_addr(b)?) {
            (IpAddr::V4(a), IpAddr::V4(b)) if a <= b => Some(Span::V4(a.into(), b.into())),
            (IpAddr::V6(a), IpAddr::V6(b)) if a <= b => Some(Span::V6(a.into(), b.into())),
            _ => None,
        };
    }
    if let Some((a, p)) = s.split_once('/') {
        return match parse_addr(a)? {
            IpAddr::V4(a) => {
                let p = parse_prefix(p, 32)?;
                let mask = u32::MAX.checked_shl(32 - p).unwrap_or(0);
                let start = u32::from(a) & mask;
                Some(Span::V4(start, start | !mask))
            }
            IpAddr::V6(a) => {
                let p = parse_prefix(p, 128)?;
                let mask = u128::MAX.checked_shl(128 - p).unwrap_or(0);
                let start = u128::from(a) & mask;
                Some(Span::V6(start, start | !mask))
            }
        };
    }
    match parse_addr(s)? {
        IpAddr::V4(a) => Some(Span::V4(a.into(), a.into())),
        IpAddr::V6(a) => Some(Span::V6(a.into(), a.into())),
    }
}

/// First and last address of `::ffff:0:0/96`, where IPv4 addresses appear in IPv6 sockets.
const V4_MAPPED: (u128, u128) = (0xffff_0000_0000, 0xffff_ffff_ffff);

/// Sorts ranges and merges overlapping or adjacent ones.
fn merge<T: Ord + Copy>(mut ranges: Vec<(T, T)>, next: impl Fn(T) -> Option<T>) -> Box<[(T, T)]> {
    ranges.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match out.last_mut() {
            Some(last) if last.1 >= start || next(last.1) == Some(start) => {
                last.1 = last.1.max(end);
            }
            _ => out.push((start, end)),
        }
    }
    out.into_boxed_slice()
}

fn in_ranges<T: Ord + Copy>(ranges: &[(T, T)], x: T) -> bool {
    let i = ranges.partition_point(|r| r.0 <= x);
    i > 0 && ranges[i - 1].1 >= x
}

/// A set of client addresses, as disjoint sorted ranges per family. IPv4-mapped IPv6 addresses
/// (`::ffff:a.b.c.d`) count as the IPv4 address they carry, in the set and in a lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpMatcher {
    v4: Box<[(u32, u32)]>,
    v6: Box<[(u128, u128)]>,
}

impl IpMatcher {
    fn build(spans: &[Span]) -> Self {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for span in spans {
            match *span {
                Span::V4(a, b) => v4.push((a, b)),
                Span::V6(a, b) => {
                    v6.push((a, b));
                    let (lo, hi) = (a.max(V4_MAPPED.0), b.min(V4_MAPPED.1));
                    if lo <= hi {
                        // The low 32 bits are the IPv4 address.
                        v4.push((lo as u32, hi as u32));
                    }
                }
            }
        }
        Self {
            v4: merge(v4, |x| x.checked_add(1)),
            v6: merge(v6, |x| x.checked_add(1)),
        }
    }

    /// Whether `ip` is in the set: a binary search, no allocation.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip.to_canonical() {
            IpAddr::V4(a) => in_ranges(&self.v4, u32::from(a)),
            IpAddr::V6(a) => in_ranges(&self.v6, u128::from(a)),
        }
    }

    /// Whether the set holds no address.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

/// The `app_acl_values` of an app ACL: 1 to [`MAX_ACL_VALUES`] distinct values, each a valid
/// address, range or CIDR block, kept as given together with their [`IpMatcher`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclValues {
    values: Vec<String>,
    matcher: IpMatcher,
}

impl AclValues {
    /// Parses the `app_acl_values` body field; any bad, repeated or surplus value is
    /// `APIG.2011` naming `app_acl_values`.
    pub fn parse<S: AsRef<str>>(values: &[S]) -> Result<Self, ApiError> {
        Self::parse_field(values, "app_acl_values", MAX_ACL_VALUES)
    }

    /// [`parse`](Self::parse) for another body field, with at most `max` values (an access
    /// control policy's `acl_value` holds 100).
    pub fn parse_field<S: AsRef<str>>(
        values: &[S],
        field: &str,
        max: usize,
    ) -> Result<Self, ApiError> {
        let bad = || ApiError::invalid_body_field(field);
        if values.is_empty() || values.len() > max {
            return Err(bad());
        }
        let mut spans = Vec::with_capacity(values.len());
        let mut seen = std::collections::HashSet::with_capacity(values.len());
        for v in values {
            let v = v.as_ref();
            if !seen.insert(v) {
                return Err(bad());
            }
            spans.push(parse_span(v).ok_or_else(bad)?);
        }
        Ok(Self {
            values: values.iter().map(|v| v.as_ref().to_owned()).collect(),
            matcher: IpMatcher::build(&spans),
        })
    }

    /// The values as given.
    pub fn as_slice(&self) -> &[String] {
        &self.values
    }

    /// The addresses the values cover.
    pub fn matcher(&self) -> &IpMatcher {
        &self.matcher
    }
}

/// An app's ACL: its type and values. The data plane asks [`AclRule::allows`] per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclRule {
    /// `PERMIT` or `DENY`.
    pub acl_type: AclType,
    /// The addresses listed.
    pub values: AclValues,
}

impl AclRule {
    /// Whether a request from `ip` passes this ACL (`APIG.0405` on the data plane otherwise).
    pub fn allows(&self, ip: IpAddr) -> bool {
        let listed = self.values.matcher().contains(ip);
        match self.acl_type {
            AclType::Permit => listed,
            AclType::Deny => !listed,
        }
    }
}

// ---- quotas -------------------------------------------------------------------------------

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fa5}').contains(&c)
}

/// App quota name: 3–255 characters, a letter (or CJK ideograph, as Huawei allows in names)
/// first, then letters, digits and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QuotaName(String);

impl QuotaName {
    /// Parses the `name` body field.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut chars = s.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || is_cjk(c));
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || is_cjk(c));
        let len = s.chars().count();
        if first_ok && rest_ok && (3..=255).contains(&len) {
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

impl fmt::Display for QuotaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Unit of an app quota's `time_interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// Seconds.
    Second,
    /// Minutes.
    Minute,
    /// Hours.
    Hour,
    /// Days.
    Day,
}

impl TimeUnit {
    /// Parses the `time_unit` body field (`SECOND`, `MINUTE`, `HOUR` or `DAY`).
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        Self::from_wire(s).ok_or_else(|| ApiError::invalid_body_field("time_unit"))
    }

    /// The unit named by its wire form, if it is one.
    pub fn from_wire(s: &str) -> Option<Self> {
        match s {
            "SECOND" => Some(Self::Second),
            "MINUTE" => Some(Self::Minute),
            "HOUR" => Some(Self::Hour),
            "DAY" => Some(Self::Day),
            _ => None,
        }
    }

    /// Wire and storage form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Second => "SECOND",
            Self::Minute => "MINUTE",
            Self::Hour => "HOUR",
            Self::Day => "DAY",
        }
    }

    /// Length of one unit in seconds.
    pub fn seconds(self) -> u64 {
        match self {
            Self::Second => 1,
            Self::Minute => 60,
            Self::Hour => 3600,
            Self::Day => 86_400,
        }
    }
}

/// A positive 32-bit count of an app quota (`call_limits`, `time_interval`): 1–2147483647.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QuotaNumber(u32);

impl QuotaNumber {
    /// Parses a JSON body field named `field`; it must be an integer in range (a string, a
    /// fraction or an absent value is `APIG.2011`).
    pub fn parse(value: Option<&Value>, field: &str) -> Result<Self, ApiError> {
        value
            .and_then(Value::as_i64)
            .and_then(Self::from_i64)
            .ok_or_else(|| ApiError::invalid_body_field(field))
    }

    /// The number if it is in 1..=2147483647 (for values read back from storage).
    pub fn from_i64(n: i64) -> Option<Self> {
        (1..=i64::from(i32::MAX))
            .contains(&n)
            .then_some(Self(n as u32))
    }

    /// The count.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// First reset time of an app quota, `yyyy-MM-dd HH:mm:ss` as in Huawei's example
/// (`2020-09-20 00:00:00`); read as UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QuotaResetTime(PrimitiveDateTime);

impl QuotaResetTime {
    /// Parses the `reset_time` body field.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let f = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        PrimitiveDateTime::parse(s, &f)
            .map(Self)
            .map_err(|_| ApiError::invalid_body_field("reset_time"))
    }

    /// The wire and storage form, `2020-09-20 00:00:00`.
    pub fn to_wire(self) -> String {
        let f = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        self.0.format(&f).unwrap_or_default()
    }

    /// The instant, taking the value as UTC.
    pub fn timestamp(self) -> crate::Timestamp {
        crate::Timestamp::from_datetime(self.0.assume_utc())
    }
}

/// What an app quota allows: `call_limits` calls per `time_interval` × `time_unit`, windows
/// counted from `reset_time` when given (else from the first call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaLimits {
    /// Calls allowed per window.
    pub call_limits: QuotaNumber,
    /// Unit of the window length.
    pub time_unit: TimeUnit,
    /// Window length in `time_unit`s.
    pub time_interval: QuotaNumber,
    /// First reset.
    pub reset_time: Option<QuotaResetTime>,
}

impl QuotaLimits {
    /// Length of one quota window in seconds.
    pub fn window_seconds(&self) -> u64 {
        u64::from(self.time_interval.get()) * self.time_unit.seconds()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn values(v: &[&str]) -> AclValues {
        AclValues::parse(v).unwrap()
    }

    #[test]
    fn acl_type_rule() {
        assert_eq!(AclType::parse("PERMIT").unwrap(), AclType::Permit);
        assert_eq!(AclType::parse("DENY").unwrap().as_str(), "DENY");
        for bad in ["permit", "", "ALLOW"] {
            let e = AclType::parse(bad).unwrap_err();
            assert_eq!(e.code, "APIG.2011");
            assert!(e.message.contains("parameterName:app_acl_type"));
        }
    }

    #[test]
    fn acl_values_accept_the_three_forms() {
        let v = values(&[
            "192.168.0.1",
            "192.168.0.5-192.168.0.10",
            "192.168.0.100/28",
            "2001:db8::1",
            "2001:db8:1::-2001:db8:1::ff",
            "2001:db8:2::/48",
            "10.0.0.0/0",
        ]);
        assert_eq!(v.as_slice().len(), 7);
        assert_eq!(v.as_slice()[2], "192.168.0.100/28");
    }

    #[test]
    fn acl_values_refuse_bad_ones() {
        for bad in [
            "",
            " 1.2.3.4",
            "1.2.3.4 ",
            "1.2.3",
            "1.2.3.256",
            "01.2.3.4",
            "1.2.3.4/33",
            "1.2.3.4/",
            "1.2.3.4/+8",
            "1.2.3.4/-1",
            "1.2.3.4/0008",
            "::1/129",
            "1.2.3.10-1.2.3.9",
            "1.2.3.4-::1",
            "1.2.3.4-",
            "-1.2.3.4",
            "1.2.3.4-1.2.3.5-1.2.3.6",
            "1.2.3.4/24-1.2.3.9",
            "fe80::1%eth0",
            "example.com",
        ] {
            let e = AclValues::parse(&[bad]).unwrap_err();
            assert_eq!(e.code, "APIG.2011", "{bad:?}");
            assert!(e.message.contains("parameterName:app_acl_values"));
        }
        assert!(AclValues::parse::<&str>(&[]).is_err());
        assert!(AclValues::parse(&["1.2.3.4", "1.2.3.4"]).is_err());
        let many: Vec<String> = (0..=MAX_ACL_VALUES)
            .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
            .collect();
        assert!(AclValues::parse(&many[..MAX_ACL_VALUES]).is_ok());
        assert!(AclValues::parse(&many).is_err());
    }

    #[test]
    fn matcher_ipv4() {
        let v = values(&[
            "192.168.0.1",
            "192.168.0.5-192.168.0.10",
            "192.168.0.100/28",
        ]);
        let m = v.matcher();
        for yes in [
            "192.168.0.1",
            "192.168.0.5",
            "192.168.0.7",
            "192.168.0.10",
            "192.168.0.96",
            "192.168.0.111",
        ] {
            assert!(m.contains(ip(yes)), "{yes}");
        }
        for no in [
            "192.168.0.0",
            "192.168.0.2",
            "192.168.0.4",
            "192.168.0.11",
            "192.168.0.95",
            "192.168.0.112",
            "10.0.0.1",
            "::1",
        ] {
            assert!(!m.contains(ip(no)), "{no}");
        }
        // An IPv4-mapped IPv6 client address counts as its IPv4 address.
        assert!(m.contains(ip("::ffff:192.168.0.7")));
        assert!(!m.contains(ip("::ffff:192.168.0.4")));
    }

    #[test]
    fn matcher_ipv6_and_edges() {
        let v = values(&["2001:db8::/32", "::1", "0.0.0.0/0"]);
        let m = v.matcher();
        assert!(m.contains(ip("2001:db8:ffff::1")));
        assert!(m.contains(ip("::1")));
        assert!(!m.contains(ip("2001:db9::")));
        assert!(!m.contains(ip("::2")));
        assert!(m.contains(IpAddr::V4(Ipv4Addr::BROADCAST)));
        assert!(m.contains(IpAddr::V4(Ipv4Addr::UNSPECIFIED)));
        let all6 = values(&["::/0"]);
        assert!(all6
            .matcher()
            .contains(IpAddr::V6(Ipv6Addr::from(u128::MAX))));
        assert!(
            all6.matcher().contains(ip("1.2.3.4")),
            "::/0 covers the mapped IPv4 space"
        );
        let mapped = values(&["::ffff:10.0.0.0/120"]);
        assert!(mapped.matcher().contains(ip("10.0.0.200")));
        assert!(!mapped.matcher().contains(ip("10.0.1.0")));
    }

    #[test]
    fn matcher_merges_overlaps_and_neighbours() {
        let v = values(&[
            "10.0.0.0-10.0.0.10",
            "10.0.0.5-10.0.0.20",
            "10.0.0.21",
            "10.0.0.30/31",
            "255.255.255.255",
        ]);
        assert_eq!(
            &*v.matcher().v4,
            &[
                (
                    u32::from(Ipv4Addr::new(10, 0, 0, 0)),
                    u32::from(Ipv4Addr::new(10, 0, 0, 21))
                ),
                (
                    u32::from(Ipv4Addr::new(10, 0, 0, 30)),
                    u32::from(Ipv4Addr::new(10, 0, 0, 31))
                ),
                (u32::MAX, u32::MAX),
            ]
        );
        assert!(v.matcher().contains(ip("10.0.0.21")));
        assert!(!v.matcher().contains(ip("10.0.0.22")));
        assert!(!IpMatcher::default().contains(ip("1.1.1.1")));
        assert!(IpMatcher::default().is_empty());
    }

    #[test]
    fn acl_rule_permit_and_deny() {
        let values = values(&["10.1.0.0/16"]);
        let permit = AclRule {
            acl_type: AclType::Permit,
            values: values.clone(),
        };
        let deny = AclRule {
            acl_type: AclType::Deny,
            values,
        };
        assert!(permit.allows(ip("10.1.2.3")));
        assert!(!permit.allows(ip("10.2.0.1")));
        assert!(!deny.allows(ip("10.1.2.3")));
        assert!(deny.allows(ip("10.2.0.1")));
    }

    #[test]
    fn quota_name_rule() {
        assert!(QuotaName::parse("ClientQuota_demo").is_ok());
        assert!(QuotaName::parse("配额_1").is_ok());
        assert!(QuotaName::parse(&"q".repeat(255)).is_ok());
        for bad in ["ab", "1abc", "_abc", "a-bc", "a bc", "", &"q".repeat(256)] {
            let e = QuotaName::parse(bad).unwrap_err();
            assert_eq!(e.code, "APIG.2011", "{bad}");
            assert!(e.message.contains("parameterName:name"));
        }
    }

    #[test]
    fn quota_numbers_and_units() {
        assert_eq!(
            QuotaNumber::parse(Some(&json!(1)), "call_limits")
                .unwrap()
                .get(),
            1
        );
        assert_eq!(
            QuotaNumber::parse(Some(&json!(2147483647)), "call_limits")
                .unwrap()
                .get(),
            2_147_483_647
        );
        for bad in [
            json!(0),
            json!(-1),
            json!(2147483648u64),
            json!("10"),
            json!(1.5),
            json!(null),
        ] {
            let e = QuotaNumber::parse(Some(&bad), "time_interval").unwrap_err();
            assert!(e.message.contains("parameterName:time_interval"), "{bad}");
        }
        assert!(QuotaNumber::parse(None, "call_limits").is_err());
        assert_eq!(TimeUnit::parse("DAY").unwrap().seconds(), 86_400);
        assert!(TimeUnit::parse("WEEK").is_err());
        assert!(TimeUnit::parse("day").is_err());
        let limits = QuotaLimits {
            call_limits: QuotaNumber::from_i64(5).unwrap(),
            time_unit: TimeUnit::Hour,
            time_interval: QuotaNumber::from_i64(2).unwrap(),
            reset_time: None,
        };
        assert_eq!(limits.window_seconds(), 7200);
    }

    #[test]
    fn reset_time_rule() {
        let t = QuotaResetTime::parse("2020-09-20 00:00:00").unwrap();
        assert_eq!(t.to_wire(), "2020-09-20 00:00:00");
        assert_eq!(t.timestamp().rfc3339_seconds(), "2020-09-20T00:00:00Z");
        for bad in [
            "2020-09-20",
            "2020-09-20T00:00:00Z",
            "2020-13-01 00:00:00",
            "2020-09-20 24:00:00",
            "x",
        ] {
            let e = QuotaResetTime::parse(bad).unwrap_err();
            assert!(e.message.contains("parameterName:reset_time"), "{bad}");
        }
    }

    #[test]
    fn error_texts() {
        assert_eq!(
            ApiError::app_quota_not_found("q1").message,
            "App quota q1 does not exist"
        );
        assert_eq!(ApiError::app_quota_not_found("q1").status, 404);
        assert_eq!(
            ApiError::app_auth_not_found("a1").message,
            "The app authorization record does not exist,id:a1"
        );
        assert_eq!(ApiError::app_quota_name_exists().code, "APIG.3325");
    }
}
