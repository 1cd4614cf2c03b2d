//! VPC channels (`/vpc-channels`): a named set of backend servers an API's calls are spread
//! over, with a distribution algorithm, per-server weights, backup servers and an optional
//! active health check. An API uses one instead of a fixed `url_domain` (`backend_api`
//! `vpc_channel_status` 1 with `vpc_channel_info.vpc_channel_id`). The values that parse, and
//! the errors of the resource.
//!
//! Served: channels of `type` 2 (servers), members of `member_type` `ip` (an address or, our
//! extension, a DNS name) and `ecs` (the server's `ecs_id` and `ecs_name` kept as labels; its
//! address must be given in `host`, there being no cloud to look it up in), all four
//! distribution algorithms, backup members, members enabled and disabled, health checks over
//! TCP, HTTP and HTTPS, backend server groups (`member_groups`, a member's
//! `member_group_name`; see [`crate::member_group`]). Refused with a message that says so:
//! microservice channels (`type` 3).

use crate::error::ApiError;
use crate::fields::Fields;
use crate::member_group::{parse_member_groups, GroupName, MemberGroupSpec};
use serde_json::{json, Map, Value};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Most VPC channels one instance may have (Huawei's default quota).
pub const MAX_CHANNELS_PER_INSTANCE: usize = 30;
/// Most backend servers one channel may have (our limit; Huawei's console shows 200).
pub const MAX_MEMBERS_PER_CHANNEL: usize = 200;
/// Highest member weight.
pub const MAX_WEIGHT: u16 = 10_000;

impl ApiError {
    /// 404 `APIG.3023`: no VPC channel with this id in the instance (Huawei's wording).
    pub fn vpc_channel_not_found(id: &str) -> Self {
        Self::new(
            404,
            "APIG.3023",
            format!("The VPC channel does not exist,id:{id}"),
        )
    }

    /// 400 `APIG.3208`: another channel of the instance has this name.
    pub fn vpc_channel_name_exists() -> Self {
        Self::new(400, "APIG.3208", "The VPC channel name already exists.")
    }

    /// 403 `APIG.3109`: the instance has [`MAX_CHANNELS_PER_INSTANCE`] channels already.
    pub fn vpc_channel_limit() -> Self {
        Self::new(
            403,
            "APIG.3109",
            "The number of VPC channels exceeds the maximum allowed limit.",
        )
    }

    /// 403 `APIG.3110`: the channel would have more than [`MAX_MEMBERS_PER_CHANNEL`] servers.
    pub fn vpc_member_limit() -> Self {
        Self::new(
            403,
            "APIG.3110",
            format!(
                "The number of cloud servers in the VPC channel exceeds the maximum allowed limit ({MAX_MEMBERS_PER_CHANNEL})."
            ),
        )
    }

    /// 404 `APIG.3024`: no backend server with this id in the channel (Huawei's wording).
    pub fn vpc_member_not_found(id: &str) -> Self {
        Self::new(
            404,
            "APIG.3024",
            format!("The VPC instance does not exist,id:{id}"),
        )
    }

    /// 403 `APIG.3414`: the channel is the backend of an API (its definition or a published
    /// version); delete or change those first.
    pub fn vpc_channel_in_use() -> Self {
        Self::new(
            403,
            "APIG.3414",
            "The VPC channel is already being used by another API.",
        )
    }

    /// 400 `APIG.2011` naming `field`, saying that this gateway does not implement `what`.
    fn unsupported(field: &str, what: &str) -> Self {
        Self::new(
            400,
            "APIG.2011",
            format!(
                "Parameter value does not match the rules,parameterName:{field}. {what} are not supported by this gateway."
            ),
        )
    }
}

/// How a channel spreads calls over its servers (`balance_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BalanceStrategy {
    /// 1: weighted round robin.
    WeightedRoundRobin,
    /// 2: weighted least connections (calls in flight, relative to the weight).
    WeightedLeastConnections,
    /// 3: by a hash of the caller's address: one caller keeps reaching one server.
    SourceHash,
    /// 4: by a hash of the request path: one path keeps reaching one server.
    UriHash,
}

impl BalanceStrategy {
    /// The wire number.
    pub fn code(self) -> i64 {
        match self {
            Self::WeightedRoundRobin => 1,
            Self::WeightedLeastConnections => 2,
            Self::SourceHash => 3,
            Self::UriHash => 4,
        }
    }

    /// From the wire number.
    pub fn from_code(n: i64) -> Option<Self> {
        Some(match n {
            1 => Self::WeightedRoundRobin,
            2 => Self::WeightedLeastConnections,
            3 => Self::SourceHash,
            4 => Self::UriHash,
            _ => return None,
        })
    }
}

/// How a channel's servers are named (`member_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberType {
    /// `ip`: by address.
    Ip,
    /// `ecs`: by cloud server (`ecs_id`, `ecs_name`), with its address in `host`.
    Ecs,
}

impl MemberType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ip => "ip",
            Self::Ecs => "ecs",
        }
    }

    /// From the wire name.
    pub fn from_wire(s: &str) -> Option<Self> {
        match s {
            "ip" => Some(Self::Ip),
            "ecs" => Some(Self::Ecs),
            _ => None,
        }
    }
}

/// What the gateway nodes' health checks say of a server (`health_status` in member answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerHealth {
    /// `unknown`: no node checks it (no health check, the server disabled, or no published
    /// API using the channel on a running node).
    Unknown,
    /// `healthy`: every node checking it lets it take calls.
    Healthy,
    /// `unhealthy`: some node's check took it out of rotation.
    Unhealthy,
}

impl ServerHealth {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
        }
    }
}

/// How a health check probes a server (`vpc_health_config.protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HealthProtocol {
    /// A TCP connection that opens.
    Tcp,
    /// An HTTP request whose status is among `http_code`.
    Http,
    /// The same over TLS.
    Https,
}

impl HealthProtocol {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "TCP",
            Self::Http => "HTTP",
            Self::Https => "HTTPS",
        }
    }

    /// From the wire name, in any case (Huawei's examples send `http`).
    fn from_wire(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "TCP" => Some(Self::Tcp),
            "HTTP" => Some(Self::Http),
            "HTTPS" => Some(Self::Https),
            _ => None,
        }
    }
}

/// The status codes a health check counts as healthy (`http_code`: `200`, `200,202`,
/// `200-299`; each 100–599).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpCodes {
    raw: String,
    ranges: Vec<(u16, u16)>,
}

impl HttpCodes {
    /// Parses `http_code`.
    pub fn parse(s: &str) -> Option<Self> {
        if s.is_empty() || s.len() > 64 {
            return None;
        }
        let code = |t: &str| {
            let n: u16 = t.trim().parse().ok()?;
            (100..=599).contains(&n).then_some(n)
        };
        let ranges = s
            .split(',')
            .map(|part| match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (code(a)?, code(b)?);
                    (a <= b).then_some((a, b))
                }
                None => code(part).map(|c| (c, c)),
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            raw: s.to_owned(),
            ranges,
        })
    }

    /// As given.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The accepted statuses as inclusive ranges.
    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.ranges
    }

    /// Whether `status` counts as healthy.
    pub fn admits(&self, status: u16) -> bool {
        self.ranges.iter().any(|&(a, b)| (a..=b).contains(&status))
    }
}

/// A channel's active health check (`vpc_health_config`): every `interval_s` seconds each
/// server is probed; `threshold_abnormal` failures in a row take it out of the rotation,
/// `threshold_normal` successes in a row bring it back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HealthCheck {
    /// How servers are probed.
    pub protocol: HealthProtocol,
    /// The path an HTTP(S) probe requests.
    pub path: String,
    /// `GET` or `HEAD`.
    pub method: String,
    /// Port probed; `None`: each server's own port.
    pub port: Option<u16>,
    /// Successes in a row that make an unhealthy server healthy (1–10).
    pub threshold_normal: u8,
    /// Failures in a row that make a healthy server unhealthy (1–10).
    pub threshold_abnormal: u8,
    /// Seconds between probes (1–300).
    pub interval_s: u16,
    /// Seconds a probe may take (1–30, less than the interval).
    pub timeout_s: u16,
    /// Statuses an HTTP(S) probe accepts.
    pub http_codes: HttpCodes,
    /// `enable_client_ssl`, kept as given: this gateway has no client certificate to present
    /// to the servers it probes.
    pub enable_client_ssl: bool,
}

/// A backend server of a channel (`members` item), as created or updated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberSpec {
    /// Address: an IP literal (IPv6 without brackets) or a DNS name, lower case.
    pub host: String,
    /// Port; `None`: the channel's.
    pub port: Option<u16>,
    /// Share of the calls relative to the others' (0–10000; 0 takes none).
    pub weight: u16,
    /// A backup server takes calls only when no other server is healthy.
    pub is_backup: bool,
    /// `status` 1 (true) or 2 (disabled: takes no calls).
    pub enabled: bool,
    /// `ecs_id` and `ecs_name` of an `ecs` member.
    pub ecs: Option<(String, String)>,
    /// The backend server group it belongs to (`member_group_name`), if any.
    pub group: Option<GroupName>,
}

impl MemberSpec {
    /// The member's identity in its channel: its host, or its cloud server's id. Adding a
    /// member with the identity of an existing one replaces that one.
    pub fn identity(&self) -> &str {
        match &self.ecs {
            Some((id, _)) => id,
            None => &self.host,
        }
    }

    /// The port calls go to, with the channel's `port` as the default.
    pub fn port_or(&self, channel_port: u16) -> u16 {
        self.port.unwrap_or(channel_port)
    }

    /// The wire object (`VpcMemberInfo` without ids and times).
    pub fn to_json(&self) -> Map<String, Value> {
        // An `ip` member shows its host in both, as APIG's examples do.
        let (ecs_id, ecs_name) = self
            .ecs
            .as_ref()
            .map_or((self.host.as_str(), self.host.as_str()), |(i, n)| {
                (i.as_str(), n.as_str())
            });
        let Value::Object(m) = json!({
            "host": self.host,
            "weight": self.weight,
            "is_backup": self.is_backup,
            "member_group_name": self.group.as_ref().map_or("", GroupName::as_str),
            "status": if self.enabled { 1 } else { 2 },
            "port": self.port.unwrap_or(0),
            "ecs_id": ecs_id,
            "ecs_name": ecs_name,
        }) else {
            unreachable!()
        };
        m
    }
}

/// A channel's settings (everything but its members), as created or updated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChannelSpec {
    /// Unique in the instance: 3–64 characters, a letter first, then letters, digits, `-`, `_`,
    /// `.`.
    pub name: String,
    /// The servers' port (1–65535), unless a member names its own.
    pub port: u16,
    /// Distribution algorithm.
    pub balance_strategy: BalanceStrategy,
    /// How members are named.
    pub member_type: MemberType,
    /// Free label (`dict_code`, the rule of names), if any.
    pub dict_code: Option<String>,
    /// The active health check, if any.
    pub health: Option<HealthCheck>,
}

/// A create or update body, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInput {
    /// The settings.
    pub spec: ChannelSpec,
    /// The servers given (`members`).
    pub members: Vec<MemberSpec>,
    /// The backend server groups given (`member_groups`): added, or updated by name.
    pub groups: Vec<MemberGroupSpec>,
}

/// Whether `s` is a channel name (or a `dict_code`): 3–64 characters, a letter first, then
/// letters, digits, `-`, `_` and `.`.
fn is_channel_name(s: &str) -> bool {
    let b = s.as_bytes();
    (3..=64).contains(&b.len())
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"-_.".contains(&c))
}

/// A member's `host`: an IPv4 or IPv6 literal (no brackets) or a DNS name, lower-cased.
fn parse_member_host(s: &str) -> Option<String> {
    if s.parse::<Ipv4Addr>().is_ok() || s.parse::<Ipv6Addr>().is_ok() {
        return Some(s.to_ascii_lowercase());
    }
    let all_numeric = s.split('.').all(|l| l.bytes().all(|c| c.is_ascii_digit()));
    let dns = !all_numeric
        && s.len() <= 253
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            (1..=63).contains(&b.len())
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        });
    dns.then(|| s.to_ascii_lowercase())
}

/// Whether `s` is a label of at most 64 printable characters (`ecs_id`, `ecs_name`).
fn is_label(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= 64 && !s.chars().any(char::is_control)
}

impl MemberSpec {
    /// Reads one `members` item (`f` names its fields `members[i].…`) of a channel whose
    /// members are `member_type`.
    fn parse(f: &Fields<'_>, member_type: MemberType) -> Result<Self, ApiError> {
        // The group is named; its id, which a details answer sent back carries, is not read.
        let group = match f.opt_str("member_group_name")?.filter(|g| !g.is_empty()) {
            Some(g) => Some(GroupName::parse(g).ok_or_else(|| f.bad("member_group_name"))?),
            None => None,
        };
        let ecs = match member_type {
            MemberType::Ip => None,
            MemberType::Ecs => {
                let id = f.opt_str("ecs_id")?.filter(|s| is_label(s));
                let name = f.opt_str("ecs_name")?.filter(|s| is_label(s));
                Some((
                    id.ok_or_else(|| f.bad("ecs_id"))?.to_owned(),
                    name.ok_or_else(|| f.bad("ecs_name"))?.to_owned(),
                ))
            }
        };
        let host = f
            .opt_str("host")?
            .and_then(parse_member_host)
            .ok_or_else(|| f.bad("host"))?;
        let port = f.opt_int_in("port", 0..=65_535)?.filter(|p| *p > 0);
        let weight = f
            .opt_int_in("weight", 0..=i64::from(MAX_WEIGHT))?
            .unwrap_or(1);
        let enabled = match f.opt_int_in("status", 1..=2)? {
            None | Some(1) => true,
            Some(_) => false,
        };
        Ok(Self {
            host,
            port: port.map(|p| p as u16),
            weight: weight as u16,
            is_backup: f.opt_bool("is_backup")?.unwrap_or(false),
            enabled,
            ecs,
            group,
        })
    }

    /// A stored member, checked again (`None`: it breaks the rules, the row is corrupt).
    /// `port` 0 is the channel's; `ecs` is read only for an `ecs` channel; `group` is its
    /// group's name, if it has one.
    pub fn from_stored(
        host: &str,
        port: i64,
        weight: i64,
        flags: (bool, bool),
        ecs: (String, String),
        member_type: MemberType,
        group: Option<&str>,
    ) -> Option<Self> {
        let (is_backup, enabled) = flags;
        let ecs = match member_type {
            MemberType::Ip => None,
            MemberType::Ecs => Some(ecs).filter(|(i, n)| is_label(i) && is_label(n)),
        };
        if member_type == MemberType::Ecs && ecs.is_none() {
            return None;
        }
        Some(Self {
            host: parse_member_host(host)?,
            port: match port {
                0 => None,
                p => Some(u16::try_from(p).ok()?),
            },
            weight: u16::try_from(weight).ok().filter(|w| *w <= MAX_WEIGHT)?,
            is_backup,
            enabled,
            ecs,
            group: match group {
                Some(g) => Some(GroupName::parse(g)?),
                None => None,
            },
        })
    }
}

/// Reads `members` (at most [`MAX_MEMBERS_PER_CHANNEL`], no identity twice).
pub fn parse_members(
    items: &[Value],
    member_type: MemberType,
) -> Result<Vec<MemberSpec>, ApiError> {
    if items.len() > MAX_MEMBERS_PER_CHANNEL {
        return Err(ApiError::vpc_member_limit());
    }
    let mut members: Vec<MemberSpec> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("members[{i}]");
        let Value::Object(m) = item else {
            return Err(ApiError::invalid_body_field(&field));
        };
        let member = MemberSpec::parse(&Fields::new(m, &format!("{field}.")), member_type)?;
        if members.iter().any(|o| o.identity() == member.identity()) {
            return Err(ApiError::invalid_body_field(&format!("{field}.host")));
        }
        members.push(member);
    }
    Ok(members)
}

impl HealthCheck {
    /// Reads `vpc_health_config` (`f` names its fields `vpc_health_config.…`).
    fn parse(f: &Fields<'_>) -> Result<Self, ApiError> {
        let protocol = f
            .opt_str("protocol")?
            .and_then(HealthProtocol::from_wire)
            .ok_or_else(|| f.bad("protocol"))?;
        let http = protocol != HealthProtocol::Tcp;
        let path = match f.opt_str("path")?.filter(|p| !p.is_empty()) {
            Some(p)
                if p.starts_with('/')
                    && p.len() <= 512
                    && p.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                p.to_owned()
            }
            Some(_) => return Err(f.bad("path")),
            None if http => return Err(f.bad("path")),
            None => String::new(),
        };
        let method = match f.opt_str("method")?.filter(|m| !m.is_empty()) {
            None => "GET".to_owned(),
            Some(m @ ("GET" | "HEAD")) => m.to_owned(),
            Some(_) => return Err(f.bad("method")),
        };
        let http_codes = match f.opt_str("http_code")?.filter(|c| !c.is_empty()) {
            Some(c) => HttpCodes::parse(c).ok_or_else(|| f.bad("http_code"))?,
            None if http => return Err(f.bad("http_code")),
            None => HttpCodes::parse("200").expect("a valid code"),
        };
        let required = |field: &str, range| f.opt_int_in(field, range)?.ok_or_else(|| f.bad(field));
        let threshold_normal = required("threshold_normal", 1..=10)? as u8;
        let threshold_abnormal = required("threshold_abnormal", 1..=10)? as u8;
        let interval_s = required("time_interval", 1..=300)? as u16;
        // Mandatory in Huawei's docs, optional in its SDK: left out, 5 s or less than the
        // interval. It must be below the interval (1 s probes may take 1 s).
        let timeout_s = match f.opt_int_in("timeout", 1..=30)? {
            Some(t) => t as u16,
            None => 5.min(interval_s.saturating_sub(1)).max(1),
        };
        if timeout_s >= interval_s && interval_s > 1 {
            return Err(f.bad("timeout"));
        }
        let port = f.opt_int_in("port", 0..=65_535)?.filter(|p| *p > 0);
        Ok(Self {
            protocol,
            path,
            method,
            port: port.map(|p| p as u16),
            threshold_normal,
            threshold_abnormal,
            interval_s,
            timeout_s,
            http_codes,
            enable_client_ssl: f.opt_bool("enable_client_ssl")?.unwrap_or(false),
        })
    }

    /// The wire object (`VpcHealthConfigInfo` without ids and times); also the stored form.
    pub fn to_json(&self) -> Map<String, Value> {
        let Value::Object(m) = json!({
            "protocol": self.protocol.as_str(),
            "path": self.path,
            "method": self.method,
            "port": self.port.unwrap_or(0),
            "threshold_normal": self.threshold_normal,
            "threshold_abnormal": self.threshold_abnormal,
            "time_interval": self.interval_s,
            "http_code": self.http_codes.as_str(),
            "enable_client_ssl": self.enable_client_ssl,
            "status": 1,
            "timeout": self.timeout_s,
        }) else {
            unreachable!()
        };
        m
    }

    /// Reads a `vpc_health_config` object on its own (`PUT .../health-config`, and the
    /// stored form).
    pub fn parse_object(m: &Map<String, Value>, prefix: &str) -> Result<Self, ApiError> {
        Self::parse(&Fields::new(m, prefix))
    }
}

impl ChannelInput {
    /// Reads a create or update body. `type` must be 2 (servers) or absent; `members` and
    /// `vpc_health_config` may be left out.
    pub fn parse(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let f = Fields::new(body, "");
        let name = f.opt_str("name")?.filter(|n| is_channel_name(n));
        let name = name.ok_or_else(|| f.bad("name"))?.to_owned();
        match f
            .opt_int_in("type", 0..=i64::MAX)
            .map_err(|_| f.bad("type"))?
        {
            None | Some(2) => {}
            Some(3) => return Err(ApiError::unsupported("type", "Microservice VPC channels")),
            Some(_) => return Err(f.bad("type")),
        }
        // A details answer sent back carries an empty `microservice_info`: only one naming a
        // service type asks for a microservice channel.
        let service_type = f
            .get("microservice_info")
            .and_then(|v| v.get("service_type"))
            .and_then(Value::as_str);
        if service_type.is_some_and(|t| !t.is_empty()) {
            return Err(ApiError::unsupported(
                "microservice_info",
                "Microservice VPC channels",
            ));
        }
        let groups = parse_member_groups(f.opt_array("member_groups")?)?;
        let port = f
            .opt_int_in("port", 1..=65_535)?
            .ok_or_else(|| f.bad("port"))? as u16;
        let balance_strategy = match f.opt_int_in("balance_strategy", 1..=4)? {
            None => BalanceStrategy::WeightedRoundRobin,
            Some(n) => BalanceStrategy::from_code(n).expect("in range"),
        };
        let member_type = match f.opt_str("member_type")? {
            None => MemberType::Ecs,
            Some(t) => MemberType::from_wire(t).ok_or_else(|| f.bad("member_type"))?,
        };
        let dict_code = match f.opt_str("dict_code")?.filter(|c| !c.is_empty()) {
            Some(c) if is_channel_name(c) => Some(c.to_owned()),
            Some(_) => return Err(f.bad("dict_code")),
            None => None,
        };
        let health = f
            .opt_object("vpc_health_config")?
            .map(|h| HealthCheck::parse(&h))
            .transpose()?;
        let members = parse_members(f.opt_array("members")?, member_type)?;
        Ok(Self {
            spec: ChannelSpec {
                name,
                port,
                balance_strategy,
                member_type,
                dict_code,
                health,
            },
            members,
            groups,
        })
    }
}

/// What an API's `backend_api.vpc_channel_info` names: the channel, and the `Host` its
/// backend requests carry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChannelRef {
    /// `vpc_channel_id`.
    pub channel_id: String,
    /// `vpc_channel_proxy_host`: the `Host` sent to the servers; `None`: the caller's own.
    pub proxy_host: Option<String>,
}

impl ChannelRef {
    /// Reads `vpc_channel_info` (`prefix`: how its fields are named in errors).
    pub fn parse(m: &Map<String, Value>, prefix: &str) -> Result<Self, ApiError> {
        Self::read(&Fields::new(m, prefix))
    }

    /// [`ChannelRef::parse`] of an object being read.
    pub(crate) fn read(f: &Fields<'_>) -> Result<Self, ApiError> {
        let id = f.opt_str("vpc_channel_id")?.filter(|id| {
            (1..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        let channel_id = id.ok_or_else(|| f.bad("vpc_channel_id"))?.to_owned();
        let proxy_host = match f
            .opt_str("vpc_channel_proxy_host")?
            .filter(|h| !h.is_empty())
        {
            Some(h) => Some(parse_proxy_host(h).ok_or_else(|| f.bad("vpc_channel_proxy_host"))?),
            None => None,
        };
        Ok(Self {
            channel_id,
            proxy_host,
        })
    }

    /// The wire object.
    pub fn to_json(&self) -> Value {
        json!({
            "vpc_channel_id": self.channel_id,
            "vpc_channel_proxy_host": self.proxy_host.as_deref().unwrap_or(""),
            "vpc_channel_port": 0,
            "cascade_flag": false,
            "ecs_id": "",
            "ecs_name": "",
        })
    }
}

/// `vpc_channel_proxy_host`: a host name or address with an optional port (`host[:port]`).
fn parse_proxy_host(s: &str) -> Option<String> {
    if s.len() > 255 {
        return None;
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (s, None),
    };
    if let Some(p) = port {
        p.parse::<u16>().ok().filter(|p| *p > 0)?;
    }
    parse_member_host(host.trim_start_matches('[').trim_end_matches(']'))?;
    Some(s.to_ascii_lowercase())
}

impl ChannelSpec {
    /// The stored form of the settings.
    pub fn to_stored(&self) -> String {
        json!({
            "dict_code": self.dict_code.as_deref().unwrap_or(""),
            "vpc_health_config": self.health.as_ref().map(HealthCheck::to_json),
        })
        .to_string()
    }

    /// Settings read back: the columns and [`ChannelSpec::to_stored`]'s text, checked again.
    pub fn from_stored(
        name: String,
        port: i64,
        balance_strategy: i64,
        member_type: &str,
        stored: &str,
    ) -> Option<Self> {
        let extra: Value = serde_json::from_str(stored).ok()?;
        let dict_code = extra
            .get("dict_code")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        let health = match extra.get("vpc_health_config") {
            Some(Value::Object(m)) => Some(HealthCheck::parse_object(m, "").ok()?),
            _ => None,
        };
        is_channel_name(&name).then_some(())?;
        Some(Self {
            name,
            port: u16::try_from(port).ok().filter(|p| *p > 0)?,
            balance_strategy: BalanceStrategy::from_code(balance_strategy)?,
            member_type: MemberType::from_wire(member_type)?,
            dict_code,
            health,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn field_of(e: ApiError) -> String {
        assert_eq!(e.code, "APIG.2011", "{e:?}");
        e.message
            .split("parameterName:")
            .nth(1)
            .unwrap()
            .split(['.', ' '])
            .next()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn a_full_channel_parses_and_keeps_its_values() {
        let input = ChannelInput::parse(&body(json!({
            "name": "web-servers_1", "port": 8080, "balance_strategy": 2, "member_type": "ip",
            "type": 2, "dict_code": "abc_1",
            "members": [
                {"host": "10.0.0.1", "weight": 3},
                {"host": "Backend.Example.com", "port": 9000, "is_backup": true, "status": 2},
                {"host": "::1", "weight": 0}
            ],
            "vpc_health_config": {"protocol": "HTTP", "path": "/health", "method": "HEAD",
                "port": 0, "threshold_normal": 2, "threshold_abnormal": 3, "time_interval": 10,
                "http_code": "200,300-399", "timeout": 5}
        })))
        .unwrap();
        let s = &input.spec;
        assert_eq!(s.name, "web-servers_1");
        assert_eq!(s.port, 8080);
        assert_eq!(
            s.balance_strategy,
            BalanceStrategy::WeightedLeastConnections
        );
        assert_eq!(s.member_type, MemberType::Ip);
        assert_eq!(s.dict_code.as_deref(), Some("abc_1"));
        let h = s.health.as_ref().unwrap();
        assert_eq!(h.protocol, HealthProtocol::Http);
        assert_eq!((h.threshold_normal, h.threshold_abnormal), (2, 3));
        assert_eq!((h.interval_s, h.timeout_s, h.port), (10, 5, None));
        assert!(h.http_codes.admits(200) && h.http_codes.admits(302));
        assert!(!h.http_codes.admits(201) && !h.http_codes.admits(404));
        let m = &input.members;
        assert_eq!(m[0].weight, 3);
        assert_eq!(m[0].port_or(8080), 8080);
        assert!(m[0].enabled && !m[0].is_backup);
        assert_eq!(m[1].host, "backend.example.com");
        assert_eq!(m[1].port_or(8080), 9000);
        assert!(m[1].is_backup && !m[1].enabled);
        assert_eq!(m[2].weight, 0);
        // The stored form reads back the same.
        let back = ChannelSpec::from_stored(s.name.clone(), 8080, 2, "ip", &s.to_stored()).unwrap();
        assert_eq!(&back, s);
        let stored = MemberSpec::from_stored(
            "backend.example.com",
            9000,
            1,
            (true, false),
            (String::new(), String::new()),
            MemberType::Ip,
            None,
        );
        assert_eq!(stored.as_ref(), Some(&m[1]));
    }

    #[test]
    fn defaults_are_round_robin_over_ecs_members_without_a_health_check() {
        let input = ChannelInput::parse(&body(json!({
            "name": "abc", "port": 80,
            "members": [{"host": "10.1.1.1", "ecs_id": "i-1", "ecs_name": "vm1"}]
        })))
        .unwrap();
        assert_eq!(
            input.spec.balance_strategy,
            BalanceStrategy::WeightedRoundRobin
        );
        assert_eq!(input.spec.member_type, MemberType::Ecs);
        assert!(input.spec.health.is_none());
        assert_eq!(input.members[0].identity(), "i-1");
        assert_eq!(input.members[0].weight, 1);
    }

    #[test]
    fn every_bad_field_is_named() {
        let base = json!({"name": "abc", "port": 80, "member_type": "ip"});
        let cases = [
            (json!({"name": "ab"}), "name"),
            (json!({"name": "1abc"}), "name"),
            (json!({"name": "a b c"}), "name"),
            (json!({"port": 0}), "port"),
            (json!({"port": 65536}), "port"),
            (json!({"port": "x"}), "port"),
            (json!({"balance_strategy": 5}), "balance_strategy"),
            (json!({"member_type": "vm"}), "member_type"),
            (json!({"type": 1}), "type"),
            (json!({"dict_code": "a"}), "dict_code"),
            (json!({"members": {}}), "members"),
            (json!({"members": [1]}), "members[0]"),
            (json!({"members": [{"host": "300.1.1.1"}]}), "members[0]"),
            (
                json!({"members": [{"host": "10.0.0.1", "weight": 10001}]}),
                "members[0]",
            ),
            (
                json!({"members": [{"host": "10.0.0.1", "status": 3}]}),
                "members[0]",
            ),
            (
                json!({"members": [{"host": "10.0.0.1", "is_backup": "yes"}]}),
                "members[0]",
            ),
            (
                json!({"members": [{"host": "10.0.0.1"}, {"host": "10.0.0.1"}]}),
                "members[1]",
            ),
            (
                json!({"vpc_health_config": {"protocol": "UDP"}}),
                "vpc_health_config",
            ),
            (
                json!({"vpc_health_config": {"protocol": "HTTP", "threshold_normal": 2,
                "threshold_abnormal": 2, "time_interval": 10, "timeout": 5, "http_code": "200"}}),
                "vpc_health_config",
            ),
            (
                json!({"vpc_health_config": {"protocol": "TCP", "threshold_normal": 11,
                "threshold_abnormal": 2, "time_interval": 10, "timeout": 5}}),
                "vpc_health_config",
            ),
            (
                json!({"vpc_health_config": {"protocol": "TCP", "threshold_normal": 1,
                "threshold_abnormal": 2, "time_interval": 5, "timeout": 5}}),
                "vpc_health_config",
            ),
            (
                json!({"vpc_health_config": {"protocol": "HTTP", "path": "/h", "threshold_normal": 1,
                "threshold_abnormal": 2, "time_interval": 5, "timeout": 2, "http_code": "99"}}),
                "vpc_health_config",
            ),
        ];
        for (change, field) in cases {
            let mut b = base.clone();
            for (k, v) in change.as_object().unwrap() {
                b[k] = v.clone();
            }
            let e = ChannelInput::parse(&body(b.clone())).unwrap_err();
            assert_eq!(field_of(e), field, "{b}");
        }
        let missing = ChannelInput::parse(&body(json!({"name": "abc"}))).unwrap_err();
        assert_eq!(field_of(missing), "port");
        let ecs = json!({"name": "abc", "port": 80, "members": [{"host": "10.0.0.1"}]});
        assert_eq!(
            field_of(ChannelInput::parse(&body(ecs)).unwrap_err()),
            "members[0]"
        );
    }

    #[test]
    fn what_this_gateway_does_not_serve_is_refused_saying_so() {
        for extra in [
            json!({"type": 3}),
            json!({"microservice_info": {"service_type": "CCE"}}),
            json!({"member_groups": [{"member_group_name": "grp", "microservice_version": "v2"}]}),
        ] {
            let mut b = json!({"name": "abc", "port": 80, "member_type": "ip"});
            for (k, v) in extra.as_object().unwrap() {
                b[k] = v.clone();
            }
            let e = ChannelInput::parse(&body(b)).unwrap_err();
            assert_eq!((e.status, e.code), (400, "APIG.2011"));
            assert!(e.message.contains("not supported"), "{}", e.message);
        }
    }

    #[test]
    fn a_details_answer_sent_back_as_an_update_parses() {
        let answer = json!({
            "name": "web", "port": 80, "balance_strategy": 1, "member_type": "ip", "type": 2,
            "vpc_channel_type": "builtin", "dict_code": "", "id": "x", "status": 1,
            "member_groups": [], "create_time": "2026-12-06T10:00:00Z",
            "microservice_info": {"id": "", "instance_id": "", "service_type": "",
                "cse_info": {"engine_id": ""}, "cce_info": {"cluster_id": ""}},
            "members": [{"host": "10.0.0.1", "weight": 2, "is_backup": false,
                "member_group_name": "", "status": 1, "port": 0, "ecs_id": "10.0.0.1",
                "ecs_name": "10.0.0.1", "id": "m", "vpc_channel_id": "x", "member_group_id": "",
                "create_time": "2026-12-06T10:00:00Z"}],
            "vpc_health_config": {"protocol": "TCP", "path": "", "method": "GET", "port": 0,
                "threshold_normal": 2, "threshold_abnormal": 2, "time_interval": 10,
                "http_code": "200", "enable_client_ssl": false, "status": 1, "timeout": 5,
                "vpc_channel_id": "x", "id": "x", "create_time": "2026-12-06T10:00:00Z"}
        });
        let input = ChannelInput::parse(&body(answer)).unwrap();
        assert_eq!(input.members[0].weight, 2);
        assert_eq!(input.members[0].port, None);
        assert_eq!(input.spec.health.unwrap().port, None);
    }

    #[test]
    fn too_many_members_are_refused_with_the_limit_code() {
        let members: Vec<Value> = (0..=MAX_MEMBERS_PER_CHANNEL)
            .map(|i| json!({"host": format!("10.0.{}.{}", i / 250, i % 250 + 1)}))
            .collect();
        let e = parse_members(&members, MemberType::Ip).unwrap_err();
        assert_eq!((e.status, e.code), (403, "APIG.3110"));
        assert!(parse_members(&members[..MAX_MEMBERS_PER_CHANNEL], MemberType::Ip).is_ok());
    }

    #[test]
    fn a_channel_reference_names_the_channel_and_the_host_sent() {
        let r = ChannelRef::parse(
            &body(json!({"vpc_channel_id": "0123abcd", "vpc_channel_proxy_host": "Api.Example.com:8443"})),
            "backend_api.vpc_channel_info.",
        )
        .unwrap();
        assert_eq!(r.channel_id, "0123abcd");
        assert_eq!(r.proxy_host.as_deref(), Some("api.example.com:8443"));
        for bad in [
            json!({}),
            json!({"vpc_channel_id": ""}),
            json!({"vpc_channel_id": "a/b"}),
            json!({"vpc_channel_id": "abc", "vpc_channel_proxy_host": "a b"}),
            json!({"vpc_channel_id": "abc", "vpc_channel_proxy_host": "host:0"}),
        ] {
            let e =
                ChannelRef::parse(&body(bad.clone()), "backend_api.vpc_channel_info.").unwrap_err();
            assert!(
                e.message
                    .contains("backend_api.vpc_channel_info.vpc_channel"),
                "{bad}: {}",
                e.message
            );
        }
    }
}
