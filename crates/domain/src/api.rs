//! Values of API groups, environments and APIs (spec §3.1–3.4) that parse, the validated
//! [`ApiDefinition`] the store keeps and the data plane serves, and the errors of these
//! resources.
//!
//! An API definition is read once from the request body by [`ApiDefinition::parse`], which
//! checks every field and the rules between fields (a backend path parameter has a source, a
//! `REQUEST` backend parameter names a request parameter, ...). [`ApiDefinition::to_json`]
//! writes the canonical wire form, which is also what the store keeps and parses again on
//! reading, so a definition read back from the database passed the same rules.
//!
//! A backend's address and path may name environment variables (`#name#`, see
//! [`crate::env_variable`]): the definition keeps them as written; the data plane fills them in
//! per environment.
//!
//! gRPC APIs (`req_protocol` `GRPCS` with `backend_type` `GRPC`) follow Huawei's rules: method
//! `POST` on both sides, a frontend path of `/`, `/{package}.{service}` or
//! `/{package}.{service}/{method}` (`NORMAL` matching only for the last), a backend path of `/`
//! (the call's own path is forwarded) and backend parameters only in headers (gRPC metadata).
//!
//! A backend is either an address (`url_domain`) or a VPC channel (`vpc_channel_status` 1,
//! `vpc_channel_info`, see [`crate::vpc_channel`]). Backend policies ([`policy`]) send the
//! calls that meet their conditions to other backends.
//!
//! What we refuse although Huawei accepts it (we do not implement it): `auth_type` `IAM` and
//! `AUTHORIZER`, `backend_type` `FUNCTION`, parameters
//! inside a path segment (`/a/{id}.json`) and `{p+}`.

use crate::env_variable;
use crate::error::ApiError;
use crate::fields::Fields;
use crate::names::ResourceId;
use crate::vpc_channel::ChannelRef;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Id of the built-in environment every instance has (Huawei's fixed id).
pub const RELEASE_ENV_ID: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";
/// Name of the built-in environment, the one a call without `X-Stage` reaches.
pub const RELEASE_ENV_NAME: &str = "RELEASE";
/// Name of the API group every instance is created with.
pub const DEFAULT_GROUP_NAME: &str = "DEFAULT";
/// Most environments a user may create in one instance (`RELEASE` not counted).
pub const MAX_ENVIRONMENTS: u32 = 10;
/// `group_version` of every API group and API (Huawei answers `V1`).
pub const GROUP_VERSION: &str = "V1";
/// Most entries of `req_params`, and of `backend_params`, one API may have (our limit).
pub const MAX_API_PARAMS: usize = 50;
/// Most `tags` one API may have (Huawei's default).
pub const MAX_API_TAGS: usize = 10;

/// The subdomain an API group answers on: `<group_id>.apic.<region>`. Shared by the management
/// views (`sl_domain`) and the data plane (routing by `Host`), so both agree.
pub fn sl_domain(group_id: &str, region: &str) -> String {
    format!("{group_id}.apic.{region}")
}

impl ApiError {
    /// 404 `APIG.3001`: the API group is not in this project and instance (Huawei's wording).
    pub fn api_group_not_found(id: &str) -> Self {
        Self::new(404, "APIG.3001", format!("API group {id} does not exist"))
    }

    /// 404 `APIG.3002`: the API is not in this project and instance.
    pub fn api_not_found(id: &str) -> Self {
        Self::new(404, "APIG.3002", format!("API {id} does not exist"))
    }

    /// 404 `APIG.3003`: the environment is not in this project and instance.
    pub fn environment_not_found(id: &str) -> Self {
        Self::new(404, "APIG.3003", format!("Environment {id} does not exist"))
    }

    /// 404 `APIG.3022`: no such version of an API (none kept, or of another API).
    pub fn api_version_not_found(id: &str) -> Self {
        Self::new(
            404,
            "APIG.3022",
            format!("The API version does not exist,id:{id}"),
        )
    }

    /// 404 `APIG.3015`: taking offline an API that is not published in that environment.
    pub fn publication_not_found(api_id: &str, env_id: &str) -> Self {
        Self::new(
            404,
            "APIG.3015",
            format!("The API publication record does not exist,api_id:{api_id},env_id:{env_id}"),
        )
    }

    /// 400 `APIG.3201`: another group of the instance has this name.
    pub fn api_group_name_exists() -> Self {
        Self::new(400, "APIG.3201", "The API group name already exists.")
    }

    /// 400 `APIG.3202`: another API of the group has this name.
    pub fn api_name_exists() -> Self {
        Self::new(400, "APIG.3202", "The API name already exists.")
    }

    /// 400 `APIG.3205`: another environment of the instance has this name (`RELEASE` included).
    pub fn environment_name_exists() -> Self {
        Self::new(400, "APIG.3205", "The environment name already exists.")
    }

    /// 400 `APIG.3301`: another API of the group has this method and path.
    pub fn api_exists() -> Self {
        Self::new(400, "APIG.3301", "The API already exists.")
    }

    /// 400 `APIG.3301`: publishing would put two APIs with one method and path in one group and
    /// environment (the other API's published copy still has them), so routing would be ambiguous.
    pub fn api_route_published() -> Self {
        Self::new(
            400,
            "APIG.3301",
            "The API already exists: another API of the group with the same method and path is published in this environment.",
        )
    }

    /// 403 `APIG.3104`: the instance holds its maximum number of environments.
    pub fn environment_limit_reached() -> Self {
        Self::new(
            403,
            "APIG.3104",
            "The number of environments exceeds the maximum allowed limit.",
        )
    }

    /// 403 `APIG.3415`: a group is deleted only once it holds no API.
    pub fn api_group_has_apis() -> Self {
        Self::new(
            403,
            "APIG.3415",
            "The API group cannot be deleted because it contains APIs.",
        )
    }

    /// 403 `APIG.3416`: an API is deleted only once it is offline everywhere.
    pub fn api_published() -> Self {
        Self::new(
            403,
            "APIG.3416",
            "The API cannot be deleted because it has been published.",
        )
    }

    /// 403 `APIG.3418`: an environment is deleted only once no API is published in it.
    pub fn environment_has_published_apis() -> Self {
        Self::new(403, "APIG.3418", "The environment contains published APIs.")
    }

    /// 403 `APIG.1101`: the `DEFAULT` group cannot be deleted or renamed.
    pub fn default_group_locked() -> Self {
        Self::new(
            403,
            "APIG.1101",
            "No permissions to perform operations on this API group.",
        )
    }

    /// 403 `APIG.1103`: the built-in `RELEASE` environment cannot be deleted or changed.
    pub fn release_environment_locked() -> Self {
        Self::new(
            403,
            "APIG.1103",
            "No permissions to perform operations on this environment.",
        )
    }
}

// ---- small text values ---------------------------------------------------------------------

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fa5}').contains(&c)
}

fn char_len_between(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.chars().count())
}

/// Declares a validated string newtype with `as_str`, `Display`, `Debug` and `AsRef<str>`.
macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// Names of groups and APIs: 3–255 characters, a letter, digit (or CJK ideograph) first, then
/// letters, digits and `-_./:()`.
fn is_group_or_api_name(s: &str) -> bool {
    let mut chars = s.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || is_cjk(c));
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "-_./:()".contains(c) || is_cjk(c));
    first_ok && rest_ok && char_len_between(s, 3, 255)
}

text_value!(
    /// API group name: 3–255 characters, a letter or digit first, then letters, digits and
    /// `-_./():`.
    GroupName
);

impl GroupName {
    /// Parses the `name` body field of a group.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        if is_group_or_api_name(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ApiError::invalid_body_field("name"))
        }
    }

    /// `DEFAULT`, the group every instance has.
    pub fn default_group() -> Self {
        Self(DEFAULT_GROUP_NAME.to_owned())
    }
}

text_value!(
    /// API name: 3–255 characters, a letter or digit first, then letters, digits and `-_./:()`.
    ApiName
);

impl ApiName {
    /// Parses the `name` body field of an API.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        if is_group_or_api_name(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ApiError::invalid_body_field("name"))
        }
    }
}

text_value!(
    /// Environment name: 3–64 characters, a letter first, then letters, digits and `_`.
    EnvName
);

impl EnvName {
    /// Parses the `name` body field of an environment.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let b = s.as_bytes();
        let ok = (3..=64).contains(&b.len())
            && b[0].is_ascii_alphabetic()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ApiError::invalid_body_field("name"))
        }
    }

    /// `RELEASE`, the built-in environment.
    pub fn release() -> Self {
        Self(RELEASE_ENV_NAME.to_owned())
    }
}

text_value!(
    /// A free-text description (`remark`) of a group, environment, API or publication: at most
    /// a given number of characters (1000 for groups, 255 elsewhere), no `<` or `>`.
    Remark
);

impl Remark {
    /// Parses a body field named `field` of at most `max` characters.
    pub fn parse(s: &str, field: &str, max: usize) -> Result<Self, ApiError> {
        if char_len_between(s, 0, max) && !s.contains(['<', '>']) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ApiError::invalid_body_field(field))
        }
    }

    /// The empty remark.
    pub fn empty() -> Self {
        Self(String::new())
    }
}

/// Longest `remark` of a group.
pub const GROUP_REMARK_MAX: usize = 1000;
/// Longest `remark` of an environment, API, backend or publication.
pub const REMARK_MAX: usize = 255;

text_value!(
    /// Name of a request or backend parameter: 1–32 characters, a letter first, then letters,
    /// digits, `-`, `_` and `.`.
    ParamName
);

impl ParamName {
    /// Parses a parameter name given in the body field `field`.
    pub fn parse(s: &str, field: &str) -> Result<Self, ApiError> {
        if is_param_name(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ApiError::invalid_body_field(field))
        }
    }
}

fn is_param_name(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=32).contains(&b.len())
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
}

// ---- enumerations --------------------------------------------------------------------------

/// Declares an enumeration with its wire texts.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// The wire text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// The value with this wire text, if it is one we support.
            pub fn from_wire(s: &str) -> Option<Self> {
                match s {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// Parses the body field `field` (`APIG.2011` naming it otherwise).
            pub fn parse(s: &str, field: &str) -> Result<Self, ApiError> {
                Self::from_wire(s).ok_or_else(|| ApiError::invalid_body_field(field))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod debug;
pub mod policy;

wire_enum!(
    /// Protocols an API accepts calls on.
    ReqProtocol {
        /// Plain HTTP only.
        Http = "HTTP",
        /// HTTPS only.
        Https = "HTTPS",
        /// Both.
        Both = "BOTH",
        /// gRPC over TLS (HTTP/2), the protocol of gRPC APIs.
        Grpcs = "GRPCS",
    }
);

impl ReqProtocol {
    /// Whether a call over HTTPS (`true`) or plain HTTP (`false`) is accepted.
    pub fn accepts(self, https: bool) -> bool {
        match self {
            Self::Http => !https,
            Self::Https | Self::Grpcs => https,
            Self::Both => true,
        }
    }
}

wire_enum!(
    /// HTTP method of an API or its backend; `ANY` matches (and forwards) every method.
    HttpMethod {
        /// GET.
        Get = "GET",
        /// POST.
        Post = "POST",
        /// PUT.
        Put = "PUT",
        /// DELETE.
        Delete = "DELETE",
        /// HEAD.
        Head = "HEAD",
        /// PATCH.
        Patch = "PATCH",
        /// OPTIONS.
        Options = "OPTIONS",
        /// Any method.
        Any = "ANY",
    }
);

impl HttpMethod {
    /// Whether a request with `method` (upper case, as on the wire) is this method.
    pub fn matches(self, method: &str) -> bool {
        self == Self::Any || self.as_str() == method
    }
}

wire_enum!(
    /// How the request path is compared with `req_uri`.
    MatchMode {
        /// Exact match (with `{param}` segments matching one segment each).
        Normal = "NORMAL",
        /// Prefix match: the path starts with `req_uri`'s segments.
        Swa = "SWA",
    }
);

wire_enum!(
    /// Who may call an API (`IAM` and `AUTHORIZER` are not supported).
    AuthType {
        /// Anyone.
        None = "NONE",
        /// Apps authorized for the API in the environment (signature or AppCode).
        App = "APP",
    }
);

wire_enum!(
    /// Whether an `APP` API also accepts AppCodes (`X-Apig-AppCode`).
    AppCodeAuth {
        /// Signatures only.
        Disable = "DISABLE",
        /// AppCodes in the `X-Apig-AppCode` header too.
        Header = "HEADER",
    }
);

wire_enum!(
    /// Protocol the gateway speaks to the backend.
    BackendProtocol {
        /// Plain HTTP.
        Http = "HTTP",
        /// HTTPS.
        Https = "HTTPS",
        /// gRPC over cleartext HTTP/2 (`GRPC` backends only).
        Grpc = "GRPC",
        /// gRPC over TLS (`GRPC` backends only).
        Grpcs = "GRPCS",
    }
);

impl BackendProtocol {
    /// The port used when `url_domain` names none.
    pub fn default_port(self) -> u16 {
        if self.is_tls() {
            443
        } else {
            80
        }
    }

    /// Whether the backend is reached over TLS.
    pub fn is_tls(self) -> bool {
        matches!(self, Self::Https | Self::Grpcs)
    }

    /// Whether this is a gRPC protocol (the only ones a `GRPC` backend may use).
    pub fn is_grpc(self) -> bool {
        matches!(self, Self::Grpc | Self::Grpcs)
    }
}

wire_enum!(
    /// Type of a request parameter.
    ParamType {
        /// Any text.
        String = "STRING",
        /// A number.
        Number = "NUMBER",
    }
);

wire_enum!(
    /// Where a parameter travels.
    ParamLocation {
        /// A `{name}` segment of the path.
        Path = "PATH",
        /// The query string.
        Query = "QUERY",
        /// A header (names compare case-insensitively).
        Header = "HEADER",
    }
);

wire_enum!(
    /// Where a backend parameter's value comes from.
    ParamOrigin {
        /// A request parameter, named by `value`.
        Request = "REQUEST",
        /// The constant `value`.
        Constant = "CONSTANT",
        /// A gateway system parameter such as `$context.appId`.
        System = "SYSTEM",
    }
);

wire_enum!(
    /// System parameters a backend parameter may carry; the data plane fills them per call.
    SystemParam {
        /// Id of the calling app (empty for `NONE` APIs).
        AppId = "$context.appId",
        /// Name of the calling app.
        AppName = "$context.appName",
        /// Id of the API.
        ApiId = "$context.apiId",
        /// Name of the API.
        ApiName = "$context.apiName",
        /// Name of the environment the call reached.
        Stage = "$context.stage",
        /// Client address.
        SourceIp = "$context.sourceIp",
        /// `X-Request-Id` of the call.
        RequestId = "$context.requestId",
    }
);

/// Whether an API is public (1) or private (2); stored and shown, not enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiType {
    /// 1.
    Public,
    /// 2.
    Private,
}

impl ApiType {
    /// The wire number.
    pub fn code(self) -> i64 {
        match self {
            Self::Public => 1,
            Self::Private => 2,
        }
    }

    /// The type with this wire number.
    pub fn from_code(n: i64) -> Option<Self> {
        match n {
            1 => Some(Self::Public),
            2 => Some(Self::Private),
            _ => None,
        }
    }
}

// ---- paths ---------------------------------------------------------------------------------

/// One `/`-separated segment of a [`ReqUri`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UriSegment {
    /// Text compared literally (case-sensitive).
    Literal(String),
    /// `{name}`: any one non-empty segment, captured under `name`.
    Param(String),
}

/// A request path of an API or its backend: starts with `/`, at most 512 characters, segments
/// of URI path characters or a whole-segment `{param}` (names as [`ParamName`], each once).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ReqUri {
    raw: String,
    segments: Vec<UriSegment>,
}

impl fmt::Debug for ReqUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReqUri({:?})", self.raw)
    }
}

impl fmt::Display for ReqUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

fn is_path_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@%".contains(&c)
}

fn literal_ok(seg: &str) -> bool {
    let b = seg.as_bytes();
    if !b.iter().all(|c| is_path_char(*c)) {
        return false;
    }
    // `%` only as a percent-encoding.
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

impl ReqUri {
    /// Parses a path given in the body field `field` (`req_uri` or `backend_api.req_uri`).
    pub fn parse(s: &str, field: &str) -> Result<Self, ApiError> {
        let bad = || ApiError::invalid_body_field(field);
        if s.len() > 512 || !s.starts_with('/') {
            return Err(bad());
        }
        let mut segments = Vec::new();
        if s != "/" {
            let mut seen = HashSet::new();
            for seg in s[1..].split('/') {
                if seg.is_empty() {
                    return Err(bad());
                }
                if let Some(inner) = seg.strip_prefix('{') {
                    let name = inner.strip_suffix('}').ok_or_else(bad)?;
                    if !is_param_name(name) || !seen.insert(name.to_owned()) {
                        return Err(bad());
                    }
                    segments.push(UriSegment::Param(name.to_owned()));
                } else if literal_ok(seg) {
                    segments.push(UriSegment::Literal(seg.to_owned()));
                } else {
                    return Err(bad());
                }
            }
        }
        Ok(Self {
            raw: s.to_owned(),
            segments,
        })
    }

    /// Parses a backend path (`backend_api.req_uri`), which may also name environment
    /// variables as `#name#` (`/#Path#/items`), filled per environment when calls are routed:
    /// the rest must fit the rules of a path with any value in place.
    pub fn parse_backend(s: &str, field: &str) -> Result<Self, ApiError> {
        match env_variable::references(s) {
            None => Err(ApiError::invalid_body_field(field)),
            Some(false) => Self::parse(s, field),
            Some(true) if s.len() > 512 => Err(ApiError::invalid_body_field(field)),
            Some(true) => {
                let checked = Self::parse(&env_variable::with_placeholders(s), field)?;
                Ok(Self {
                    raw: s.to_owned(),
                    segments: checked.segments,
                })
            }
        }
    }

    /// The path as given.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The segments (none for `/`).
    pub fn segments(&self) -> &[UriSegment] {
        &self.segments
    }

    /// Names of the `{param}` segments, in order.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            UriSegment::Param(p) => Some(p.as_str()),
            UriSegment::Literal(_) => None,
        })
    }

    /// Whether `{name}` is a segment.
    pub fn has_param(&self, name: &str) -> bool {
        self.params().any(|p| p == name)
    }

    /// The path with parameter names erased (`/users/{}`): two APIs whose keys are equal match
    /// the same requests, so a group may hold only one of them per method.
    pub fn route_key(&self) -> String {
        if self.segments.is_empty() {
            return "/".to_owned();
        }
        let mut out = String::with_capacity(self.raw.len());
        for seg in &self.segments {
            out.push('/');
            match seg {
                UriSegment::Literal(l) => out.push_str(l),
                UriSegment::Param(_) => out.push_str("{}"),
            }
        }
        out
    }

    /// Matches a request path (without query): `NORMAL` needs every segment to match, `SWA`
    /// only this URI's segments as a prefix. Returns the captured `{param}` values, in order.
    pub fn match_path(&self, path: &str, mode: MatchMode) -> Option<Vec<(String, String)>> {
        let rest = path.strip_prefix('/')?;
        let parts: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        let fits = match mode {
            MatchMode::Normal => parts.len() == self.segments.len(),
            MatchMode::Swa => parts.len() >= self.segments.len(),
        };
        if !fits {
            return None;
        }
        let mut captured = Vec::new();
        for (seg, part) in self.segments.iter().zip(&parts) {
            match seg {
                UriSegment::Literal(l) if l == part => {}
                UriSegment::Literal(_) => return None,
                UriSegment::Param(_) if part.is_empty() => return None,
                UriSegment::Param(name) => captured.push((name.clone(), (*part).to_owned())),
            }
        }
        Some(captured)
    }

    /// Builds a concrete path, asking `value` for each `{param}`; `None` if one has no value.
    pub fn render(&self, mut value: impl FnMut(&str) -> Option<String>) -> Option<String> {
        if self.segments.is_empty() {
            return Some("/".to_owned());
        }
        let mut out = String::new();
        for seg in &self.segments {
            out.push('/');
            match seg {
                UriSegment::Literal(l) => out.push_str(l),
                UriSegment::Param(p) => out.push_str(&value(p)?),
            }
        }
        Some(out)
    }
}

// ---- backend address -----------------------------------------------------------------------

/// Backend address `host[:port]` (at most 255 characters): a DNS name, an IPv4 address or a
/// bracketed IPv6 address, and a port 1–65535 (default by protocol when absent). It may name
/// environment variables as `#name#` (`#address#:8080`), filled per environment when calls
/// are routed ([`UrlDomain::address`]); the rest must fit the rules with any value in place.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UrlDomain {
    raw: String,
    /// The address itself; `None` when it names variables.
    literal: Option<BackendAddress>,
}

/// A backend's host and port, with no variables left: what the gateway connects to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BackendAddress {
    host: String,
    port: Option<u16>,
}

/// Why a `url_domain` naming variables has no address in an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// It names a variable the environment does not define.
    Undefined(String),
    /// With the environment's values it is no `host[:port]` (the text it became).
    NotAnAddress(String),
}

impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Undefined(name) => write!(f, "environment variable {name} is not defined"),
            Self::NotAnAddress(text) => write!(f, "{text:?} is not a host[:port]"),
        }
    }
}

impl fmt::Debug for UrlDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UrlDomain({:?})", self.raw)
    }
}

fn is_dns_name(host: &str) -> bool {
    host.len() <= 253
        && host.split('.').all(|label| {
            let b = label.as_bytes();
            (1..=63).contains(&b.len())
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

fn parse_port(s: &str) -> Option<u16> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) || s.len() > 5 {
        return None;
    }
    s.parse::<u16>().ok().filter(|p| *p > 0)
}

impl UrlDomain {
    /// Parses the `backend_api.url_domain` body field.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let bad = || ApiError::invalid_body_field("backend_api.url_domain");
        if s.is_empty() || s.len() > 255 {
            return Err(bad());
        }
        let literal = match env_variable::references(s) {
            None => return Err(bad()),
            Some(true) => {
                BackendAddress::parse(&env_variable::with_placeholders(s)).ok_or_else(bad)?;
                None
            }
            Some(false) => Some(BackendAddress::parse(s).ok_or_else(bad)?),
        };
        Ok(Self {
            raw: s.to_owned(),
            literal,
        })
    }

    /// The address as given.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The address when it names no variables.
    pub fn literal(&self) -> Option<&BackendAddress> {
        self.literal.as_ref()
    }

    /// The address in an environment whose variables `value` gives.
    pub fn address<'v>(
        &self,
        value: impl Fn(&str) -> Option<&'v str>,
    ) -> Result<BackendAddress, Unresolved> {
        if let Some(literal) = &self.literal {
            return Ok(literal.clone());
        }
        let text = env_variable::substitute(&self.raw, value)
            .map_err(|env_variable::Undefined(name)| Unresolved::Undefined(name))?;
        BackendAddress::parse(&text).ok_or_else(|| Unresolved::NotAnAddress(text.into_owned()))
    }
}

/// `host[:port]`, an IPv6 host in brackets (the form it was given in).
impl fmt::Display for BackendAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

impl BackendAddress {
    /// `host[:port]` as [`UrlDomain`] describes it, without variables.
    pub fn parse(s: &str) -> Option<Self> {
        if s.is_empty() || s.len() > 255 {
            return None;
        }
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (addr, after) = rest.split_once(']')?;
            addr.parse::<Ipv6Addr>().ok()?;
            let port = match after {
                "" => None,
                p => Some(parse_port(p.strip_prefix(':')?)?),
            };
            (format!("[{addr}]"), port)
        } else {
            let (host, port) = match s.split_once(':') {
                Some((h, p)) => (h, Some(parse_port(p)?)),
                None => (s, None),
            };
            let all_numeric = host
                .split('.')
                .all(|l| l.bytes().all(|c| c.is_ascii_digit()));
            let ok = if all_numeric {
                host.parse::<Ipv4Addr>().is_ok()
            } else {
                is_dns_name(host)
            };
            if !ok {
                return None;
            }
            (host.to_ascii_lowercase(), port)
        };
        Some(Self { host, port })
    }

    /// The host (lower case; IPv6 in brackets), ready for a URL authority.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port given, if any.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port to connect to with `protocol`.
    pub fn port_for(&self, protocol: BackendProtocol) -> u16 {
        self.port.unwrap_or_else(|| protocol.default_port())
    }
}

// ---- the definition ------------------------------------------------------------------------

/// A request parameter the API declares (`req_params` item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReqParam {
    /// Name.
    pub name: ParamName,
    /// `STRING` or `NUMBER`.
    pub param_type: ParamType,
    /// Where it travels.
    pub location: ParamLocation,
    /// Mandatory (`required` 1) or not (2); a `PATH` parameter is mandatory unless said
    /// otherwise.
    pub required: bool,
    /// Value used when the caller sends none.
    pub default_value: Option<String>,
    /// Whether the gateway checks the value against [`ReqParam::rules`] (`valid_enable` 1).
    pub valid_enable: bool,
    /// The value's rules, kept whether or not they are enforced.
    pub rules: ParamRules,
    /// Whether the parameter reaches the backend as the caller sent it (`pass_through` 1, the
    /// default); with 2 it only feeds checks and backend parameters.
    pub pass_through: bool,
    /// Example shown to callers.
    pub sample_value: Option<String>,
    /// Description.
    pub remark: Option<String>,
}

/// The rules of a request parameter's value, checked when `valid_enable` is 1 (Huawei does
/// not support `regular` and `json_schema` yet; neither do we).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParamRules {
    /// The values allowed (`enumerations`, comma-separated on the wire); empty: any.
    pub enumerations: Vec<String>,
    /// Smallest value of a `NUMBER` parameter (`min_num`).
    pub min_num: Option<i64>,
    /// Largest value of a `NUMBER` parameter (`max_num`).
    pub max_num: Option<i64>,
    /// Shortest `STRING` value, in characters (`min_size`).
    pub min_size: Option<u32>,
    /// Longest `STRING` value, in characters (`max_size`).
    pub max_size: Option<u32>,
}

/// Where a backend parameter's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendValue {
    /// The request parameter of this name (a `req_params` entry or a `{param}` of `req_uri`).
    Request(ParamName),
    /// This text.
    Constant(String),
    /// A gateway system parameter.
    System(SystemParam),
}

impl BackendValue {
    /// `origin` on the wire.
    pub fn origin(&self) -> ParamOrigin {
        match self {
            Self::Request(_) => ParamOrigin::Request,
            Self::Constant(_) => ParamOrigin::Constant,
            Self::System(_) => ParamOrigin::System,
        }
    }

    /// `value` on the wire.
    pub fn wire_value(&self) -> &str {
        match self {
            Self::Request(p) => p.as_str(),
            Self::Constant(c) => c,
            Self::System(s) => s.as_str(),
        }
    }
}

/// A parameter the gateway sends to the backend (`backend_params` item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendParam {
    /// Name at the backend.
    pub name: ParamName,
    /// Where it travels to the backend.
    pub location: ParamLocation,
    /// Its source.
    pub value: BackendValue,
    /// Description.
    pub remark: Option<String>,
}

/// Where an API's calls go: one address, or the servers of a VPC channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendTarget {
    /// `url_domain` (`vpc_channel_status` 2): `host[:port]`.
    Address(UrlDomain),
    /// `vpc_channel_info` (`vpc_channel_status` 1): a channel of the same instance, which must
    /// exist when the API is created or changed.
    Channel(ChannelRef),
}

impl BackendTarget {
    /// The address, when the backend is one.
    pub fn address(&self) -> Option<&UrlDomain> {
        match self {
            Self::Address(a) => Some(a),
            Self::Channel(_) => None,
        }
    }

    /// The channel, when the backend is one.
    pub fn channel(&self) -> Option<&ChannelRef> {
        match self {
            Self::Channel(c) => Some(c),
            Self::Address(_) => None,
        }
    }
}

/// The backend server of an API (`backend_api`), HTTP or gRPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendApi {
    /// `url_domain`, or a VPC channel.
    pub target: BackendTarget,
    /// HTTP or HTTPS (an `HTTP` backend), GRPC or GRPCS (a `GRPC` backend).
    pub req_protocol: BackendProtocol,
    /// Method sent (`ANY`: the caller's).
    pub req_method: HttpMethod,
    /// Backend path; each `{param}` is filled by a `PATH` backend parameter.
    pub req_uri: ReqUri,
    /// Timeout in milliseconds, 1–600000.
    pub timeout_ms: u32,
    /// Retries on failure, -1 (gateway default) to 10.
    pub retry_count: i8,
    /// Description.
    pub remark: Option<String>,
}

/// Longest `mock_info.result_content` accepted, in characters (our limit; Huawei documents
/// none).
pub const MOCK_CONTENT_MAX: usize = 65_536;

/// The fixed answer of a `MOCK` API (`mock_info`): the gateway answers every call itself, for
/// an API whose backend does not exist yet, or an `OPTIONS` API answering preflights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockInfo {
    /// The body of every answer (may be empty; at most [`MOCK_CONTENT_MAX`] characters).
    pub result_content: String,
    /// Free version label (at most 64 characters).
    pub version: Option<String>,
    /// Description.
    pub remark: Option<String>,
}

/// What answers an API's calls (`backend_type` with its object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiBackend {
    /// `HTTP`: a backend server the call is forwarded to (`backend_api`).
    Http(BackendApi),
    /// `MOCK`: the gateway's fixed answer (`mock_info`).
    Mock(MockInfo),
    /// `GRPC`: a gRPC server the call is forwarded to over HTTP/2 (`backend_api` with protocol
    /// `GRPC` or `GRPCS`, method `POST`, path `/`).
    Grpc(BackendApi),
}

impl ApiBackend {
    /// The `backend_type` on the wire.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Http(_) => "HTTP",
            Self::Mock(_) => "MOCK",
            Self::Grpc(_) => "GRPC",
        }
    }

    /// The wire field holding the backend's object (`backend_api` or `mock_info`).
    pub fn field(&self) -> &'static str {
        match self {
            Self::Http(_) | Self::Grpc(_) => "backend_api",
            Self::Mock(_) => "mock_info",
        }
    }

    /// The backend server calls are forwarded to (none for a `MOCK`).
    pub fn server(&self) -> Option<&BackendApi> {
        match self {
            Self::Http(api) | Self::Grpc(api) => Some(api),
            Self::Mock(_) => None,
        }
    }
}

/// A complete, validated API definition (spec §3.3): what is created, updated, published and
/// served. Fields are private so the cross-field rules of [`ApiDefinition::parse`] always hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiDefinition {
    group_id: ResourceId,
    name: ApiName,
    api_type: ApiType,
    version: Option<String>,
    req_protocol: ReqProtocol,
    req_method: HttpMethod,
    req_uri: ReqUri,
    match_mode: MatchMode,
    auth_type: AuthType,
    app_code_auth: AppCodeAuth,
    backend: ApiBackend,
    req_params: Vec<ReqParam>,
    backend_params: Vec<BackendParam>,
    policies: Vec<policy::BackendPolicy>,
    response_id: Option<ResourceId>,
    remark: Remark,
    tags: Vec<String>,
    cors: bool,
    result_normal_sample: Option<String>,
    result_failure_sample: Option<String>,
}

/// Key under which two parameters at one location collide (header names ignore case).
fn param_key(location: ParamLocation, name: &str) -> (ParamLocation, String) {
    match location {
        ParamLocation::Header => (location, name.to_ascii_lowercase()),
        _ => (location, name.to_owned()),
    }
}

fn parse_tag(s: &str, field: &str) -> Result<String, ApiError> {
    let b = s.as_bytes();
    let ok = (1..=128).contains(&b.len())
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-*#%.:_".contains(c));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(ApiError::invalid_body_field(field))
    }
}

fn parse_retry_count(f: &Fields<'_>) -> Result<i8, ApiError> {
    let bad = || f.bad("retry_count");
    let n = match f.get("retry_count") {
        None | Some(Value::Null) => return Ok(-1),
        Some(Value::String(s)) => s.trim().parse::<i64>().map_err(|_| bad())?,
        Some(Value::Number(n)) => n.as_i64().ok_or_else(bad)?,
        Some(_) => return Err(bad()),
    };
    if (-1..=10).contains(&n) {
        Ok(n as i8)
    } else {
        Err(bad())
    }
}

impl BackendApi {
    fn parse(f: &Fields<'_>) -> Result<Self, ApiError> {
        // 1 = through a VPC channel, 2 (the default) = the address in `url_domain`.
        let target = match f.opt_int("vpc_channel_status")? {
            Some(1) => {
                let info = f.opt_object("vpc_channel_info")?;
                let info = info.ok_or_else(|| f.bad("vpc_channel_info"))?;
                BackendTarget::Channel(ChannelRef::read(&info)?)
            }
            None | Some(2) => BackendTarget::Address(UrlDomain::parse(f.req_str("url_domain")?)?),
            Some(_) => return Err(f.bad("vpc_channel_status")),
        };
        let req_protocol =
            BackendProtocol::parse(f.req_str("req_protocol")?, &f.name("req_protocol"))?;
        let req_method = HttpMethod::parse(f.req_str("req_method")?, &f.name("req_method"))?;
        let req_uri = ReqUri::parse_backend(f.req_str("req_uri")?, &f.name("req_uri"))?;
        let timeout = f.opt_int("timeout")?.ok_or_else(|| f.bad("timeout"))?;
        if !(1..=600_000).contains(&timeout) {
            return Err(f.bad("timeout"));
        }
        let retry_count = parse_retry_count(f)?;
        let remark = f.opt_text("remark", REMARK_MAX)?;
        Ok(Self {
            target,
            req_protocol,
            req_method,
            req_uri,
            timeout_ms: timeout as u32,
            retry_count,
            remark,
        })
    }

    fn to_json(&self) -> Value {
        let mut v = json!({
            "req_protocol": self.req_protocol.as_str(),
            "req_method": self.req_method.as_str(),
            "req_uri": self.req_uri.as_str(),
            "timeout": self.timeout_ms,
            "retry_count": self.retry_count.to_string(),
        });
        match &self.target {
            BackendTarget::Address(a) => {
                v["url_domain"] = json!(a.as_str());
                v["vpc_channel_status"] = json!(2);
            }
            BackendTarget::Channel(c) => {
                // As APIG answers: the channel's id in `url_domain`.
                v["url_domain"] = json!(c.channel_id);
                v["vpc_channel_status"] = json!(1);
                v["vpc_channel_info"] = c.to_json();
            }
        }
        if let Some(r) = &self.remark {
            v["remark"] = json!(r);
        }
        v
    }
}

impl MockInfo {
    /// Reads `mock_info` (absent: an empty answer).
    fn parse(f: Option<Fields<'_>>) -> Result<Self, ApiError> {
        let Some(f) = f else {
            return Ok(Self {
                result_content: String::new(),
                version: None,
                remark: None,
            });
        };
        Ok(Self {
            result_content: f
                .opt_text("result_content", MOCK_CONTENT_MAX)?
                .unwrap_or_default(),
            version: f.opt_text("version", 64)?,
            remark: f.opt_text("remark", REMARK_MAX)?,
        })
    }

    fn to_json(&self) -> Value {
        let mut v = json!({ "result_content": self.result_content });
        for (k, val) in [("version", &self.version), ("remark", &self.remark)] {
            if let Some(val) = val {
                v[k] = json!(val);
            }
        }
        v
    }
}

impl ReqParam {
    fn parse(f: &Fields<'_>) -> Result<Self, ApiError> {
        let name = ParamName::parse(f.req_str("name")?, &f.name("name"))?;
        let param_type = match f.opt_str("type")? {
            Some(t) => ParamType::parse(t, &f.name("type"))?,
            None => ParamType::String,
        };
        let location = ParamLocation::parse(f.req_str("location")?, &f.name("location"))?;
        let required = match f.opt_int("required")? {
            None => location == ParamLocation::Path,
            Some(2) => false,
            Some(1) => true,
            Some(_) => return Err(f.bad("required")),
        };
        let valid_enable = match f.opt_int("valid_enable")? {
            None | Some(2) => false,
            Some(1) => true,
            Some(_) => return Err(f.bad("valid_enable")),
        };
        let rules = ParamRules::parse(f)?;
        let pass_through = match f.opt_int("pass_through")? {
            None | Some(1) => true,
            Some(2) => false,
            Some(_) => return Err(f.bad("pass_through")),
        };
        let default_value = f.opt_text("default_value", 255)?;
        if let (Some(d), ParamType::Number) = (&default_value, param_type) {
            if d.parse::<f64>().is_err() {
                return Err(f.bad("default_value"));
            }
        }
        Ok(Self {
            name,
            param_type,
            location,
            required,
            default_value,
            valid_enable,
            rules,
            pass_through,
            sample_value: f.opt_text("sample_value", 255)?,
            remark: f.opt_text("remark", REMARK_MAX)?,
        })
    }

    fn to_json(&self) -> Value {
        let mut v = json!({
            "name": self.name.as_str(),
            "type": self.param_type.as_str(),
            "location": self.location.as_str(),
            "required": if self.required { 1 } else { 2 },
            "valid_enable": if self.valid_enable { 1 } else { 2 },
            "pass_through": if self.pass_through { 1 } else { 2 },
        });
        self.rules.write(&mut v);
        for (k, val) in [
            ("default_value", &self.default_value),
            ("sample_value", &self.sample_value),
            ("remark", &self.remark),
        ] {
            if let Some(val) = val {
                v[k] = json!(val);
            }
        }
        v
    }
}

/// Longest `enumerations` text accepted.
const ENUMERATIONS_MAX: usize = 1024;

impl ParamRules {
    /// Reads `enumerations`, `min_num`/`max_num` and `min_size`/`max_size` (each smallest
    /// not above its largest).
    fn parse(f: &Fields<'_>) -> Result<Self, ApiError> {
        let enumerations = f
            .opt_text("enumerations", ENUMERATIONS_MAX)?
            .map(|text| {
                text.split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let (min_num, max_num) = (f.opt_int("min_num")?, f.opt_int("max_num")?);
        if let (Some(min), Some(max)) = (min_num, max_num) {
            if min > max {
                return Err(f.bad("max_num"));
            }
        }
        let size = |field: &str| -> Result<Option<u32>, ApiError> {
            f.opt_int(field)?
                .map(|n| u32::try_from(n).map_err(|_| f.bad(field)))
                .transpose()
        };
        let (min_size, max_size) = (size("min_size")?, size("max_size")?);
        if let (Some(min), Some(max)) = (min_size, max_size) {
            if min > max {
                return Err(f.bad("max_size"));
            }
        }
        Ok(Self {
            enumerations,
            min_num,
            max_num,
            min_size,
            max_size,
        })
    }

    /// Adds the rules that are set to a parameter's wire form.
    fn write(&self, v: &mut Value) {
        if !self.enumerations.is_empty() {
            v["enumerations"] = json!(self.enumerations.join(","));
        }
        for (k, n) in [("min_num", self.min_num), ("max_num", self.max_num)] {
            if let Some(n) = n {
                v[k] = json!(n);
            }
        }
        for (k, n) in [("min_size", self.min_size), ("max_size", self.max_size)] {
            if let Some(n) = n {
                v[k] = json!(n);
            }
        }
    }
}

impl BackendParam {
    fn parse(f: &Fields<'_>) -> Result<Self, ApiError> {
        let name = ParamName::parse(f.req_str("name")?, &f.name("name"))?;
        let location = ParamLocation::parse(f.req_str("location")?, &f.name("location"))?;
        let origin = ParamOrigin::parse(f.req_str("origin")?, &f.name("origin"))?;
        let raw = f.req_str("value")?;
        let value = match origin {
            ParamOrigin::Request => BackendValue::Request(ParamName::parse(raw, &f.name("value"))?),
            ParamOrigin::Constant => {
                if raw.is_empty() || raw.chars().count() > 255 || raw.chars().any(char::is_control)
                {
                    return Err(f.bad("value"));
                }
                BackendValue::Constant(raw.to_owned())
            }
            ParamOrigin::System => BackendValue::System(SystemParam::parse(raw, &f.name("value"))?),
        };
        Ok(Self {
            name,
            location,
            value,
            remark: f.opt_text("remark", REMARK_MAX)?,
        })
    }

    fn to_json(&self) -> Value {
        let mut v = json!({
            "name": self.name.as_str(),
            "value": self.value.wire_value(),
            "location": self.location.as_str(),
            "origin": self.value.origin().as_str(),
        });
        if let Some(r) = &self.remark {
            v["remark"] = json!(r);
        }
        v
    }
}

/// Reads the `backend_params` of `f` (the API, or one of its backend policies) sent to
/// `server` (none for a mock, which takes none): names unique per location, `PATH` ones
/// naming a `{param}` of the server's path, every such `{param}` filled (else `uri_field` of
/// `f` is named), `REQUEST` ones naming a declared request parameter, only headers for gRPC.
fn parse_backend_params(
    f: &Fields<'_>,
    server: Option<&BackendApi>,
    grpc: bool,
    req_params: &[ReqParam],
    req_uri: &ReqUri,
    uri_field: &str,
) -> Result<Vec<BackendParam>, ApiError> {
    let items = f.opt_array("backend_params")?;
    // Parameters go to a backend server: a mock has none, nor more than the limit.
    if items.len() > MAX_API_PARAMS || (server.is_none() && !items.is_empty()) {
        return Err(f.bad("backend_params"));
    }
    let mut backend_params: Vec<BackendParam> = Vec::with_capacity(items.len());
    let mut keys = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let item = f.item("backend_params", i, item)?;
        let p = BackendParam::parse(&item)?;
        if !keys.insert(param_key(p.location, p.name.as_str())) {
            return Err(item.bad("name"));
        }
        // gRPC metadata is all a gRPC backend takes beside its messages.
        if grpc && p.location != ParamLocation::Header {
            return Err(item.bad("location"));
        }
        let backend_path = server.map(|b| &b.req_uri);
        if p.location == ParamLocation::Path
            && !backend_path.is_some_and(|uri| uri.has_param(p.name.as_str()))
        {
            return Err(item.bad("location"));
        }
        if let BackendValue::Request(source) = &p.value {
            let declared =
                req_params.iter().any(|r| r.name == *source) || req_uri.has_param(source.as_str());
            if !declared {
                return Err(item.bad("value"));
            }
        }
        backend_params.push(p);
    }
    let filled = |name: &str| {
        backend_params
            .iter()
            .any(|p| p.location == ParamLocation::Path && p.name.as_str() == name)
    };
    if server.is_some_and(|b| !b.req_uri.params().all(filled)) {
        return Err(f.bad(uri_field));
    }
    Ok(backend_params)
}

/// The rules of gRPC APIs (Huawei's "Creating a gRPC API" and `CreateApiV2`): what makes a
/// `GRPCS` frontend and a `GRPC` backend, which only go together.
struct GrpcRules;

impl GrpcRules {
    /// A `GRPC` backend: protocol `GRPC` or `GRPCS`, method `POST`, path `/` (the call's own
    /// path, `/{package}.{service}/{method}`, is what the backend receives).
    /// `f` is the backend's object (`backend_api`, or a policy), for the names of its fields.
    fn backend(api: BackendApi, f: &Fields<'_>) -> Result<BackendApi, ApiError> {
        if !api.req_protocol.is_grpc() {
            return Err(f.bad("req_protocol"));
        }
        if api.req_method != HttpMethod::Post {
            return Err(f.bad("req_method"));
        }
        if api.req_uri.as_str() != "/" {
            return Err(f.bad("req_uri"));
        }
        Ok(api)
    }

    /// A `GRPCS` frontend goes with a `GRPC` backend and no other: method `POST`, path `/`,
    /// `/{package}.{service}` or `/{package}.{service}/{method}` without parameters, and
    /// `NORMAL` matching only for a whole method's path.
    fn frontend(
        protocol: ReqProtocol,
        method: HttpMethod,
        uri: &ReqUri,
        mode: MatchMode,
        backend: &ApiBackend,
        f: &Fields<'_>,
    ) -> Result<(), ApiError> {
        let grpc_backend = matches!(backend, ApiBackend::Grpc(_));
        match (protocol == ReqProtocol::Grpcs, grpc_backend) {
            (false, false) => return Ok(()),
            (true, false) => return Err(f.bad("backend_type")),
            (false, true) => return Err(f.bad("req_protocol")),
            (true, true) => {}
        }
        if method != HttpMethod::Post {
            return Err(f.bad("req_method"));
        }
        let segments = uri.segments();
        let literal = segments.iter().all(|s| matches!(s, UriSegment::Literal(_)));
        if segments.len() > 2 || !literal {
            return Err(f.bad("req_uri"));
        }
        if mode == MatchMode::Normal && segments.len() != 2 {
            return Err(f.bad("match_mode"));
        }
        Ok(())
    }
}

impl ApiDefinition {
    /// Reads and validates an API from a create or update body (spec §3.3). Every error is
    /// `APIG.2011` naming the field by its path (`backend_api.timeout`, `req_params[0].name`).
    pub fn parse(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let f = Fields::new(body, "");
        let group_id =
            ResourceId::parse(f.req_str("group_id")?, "group_id").map_err(|_| f.bad("group_id"))?;
        let name = ApiName::parse(f.req_str("name")?)?;
        let api_type = f
            .opt_int("type")?
            .and_then(ApiType::from_code)
            .ok_or_else(|| f.bad("type"))?;
        let version = f.opt_text("version", 16)?;
        let req_protocol = match f.opt_str("req_protocol")? {
            Some(p) => ReqProtocol::parse(p, "req_protocol")?,
            None => ReqProtocol::Https,
        };
        let req_method = HttpMethod::parse(f.req_str("req_method")?, "req_method")?;
        let req_uri = ReqUri::parse(f.req_str("req_uri")?, "req_uri")?;
        let match_mode = match f.opt_str("match_mode")? {
            Some(m) => MatchMode::parse(m, "match_mode")?,
            None => MatchMode::Normal,
        };
        let auth_type = AuthType::parse(f.req_str("auth_type")?, "auth_type")?;
        let app_code_auth = match f.opt_object("auth_opt")? {
            Some(opt) => match opt.opt_str("app_code_auth_type")? {
                Some(a) => AppCodeAuth::parse(a, &opt.name("app_code_auth_type"))?,
                None => AppCodeAuth::Disable,
            },
            None => AppCodeAuth::Disable,
        };
        if app_code_auth == AppCodeAuth::Header && auth_type != AuthType::App {
            return Err(f.bad("auth_opt.app_code_auth_type"));
        }
        let backend_object = || {
            f.opt_object("backend_api")?
                .ok_or_else(|| f.bad("backend_api"))
        };
        let backend = match f.req_str("backend_type")? {
            "HTTP" => {
                let api = BackendApi::parse(&backend_object()?)?;
                if api.req_protocol.is_grpc() {
                    return Err(f.bad("backend_api.req_protocol"));
                }
                ApiBackend::Http(api)
            }
            "GRPC" => {
                let object = backend_object()?;
                ApiBackend::Grpc(GrpcRules::backend(BackendApi::parse(&object)?, &object)?)
            }
            "MOCK" => {
                // A mock has no backend server to describe.
                if f.get("backend_api").is_some() {
                    return Err(f.bad("backend_api"));
                }
                ApiBackend::Mock(MockInfo::parse(f.opt_object("mock_info")?)?)
            }
            _ => return Err(f.bad("backend_type")),
        };
        GrpcRules::frontend(req_protocol, req_method, &req_uri, match_mode, &backend, &f)?;

        let items = f.opt_array("req_params")?;
        if items.len() > MAX_API_PARAMS {
            return Err(f.bad("req_params"));
        }
        let mut req_params: Vec<ReqParam> = Vec::with_capacity(items.len());
        let mut keys = HashSet::new();
        for (i, item) in items.iter().enumerate() {
            let item = f.item("req_params", i, item)?;
            let p = ReqParam::parse(&item)?;
            if !keys.insert(param_key(p.location, p.name.as_str())) {
                return Err(item.bad("name"));
            }
            if p.location == ParamLocation::Path && !req_uri.has_param(p.name.as_str()) {
                return Err(item.bad("location"));
            }
            req_params.push(p);
        }

        let backend_params = parse_backend_params(
            &f,
            backend.server(),
            matches!(backend, ApiBackend::Grpc(_)),
            &req_params,
            &req_uri,
            "backend_api.req_uri",
        )?;
        let context = policy::PolicyContext {
            mock: matches!(backend, ApiBackend::Mock(_)),
            grpc: matches!(backend, ApiBackend::Grpc(_)),
            req_params: &req_params,
            req_uri: &req_uri,
        };
        let policies = policy::parse_policies(&f, &context)?;

        // The group's gateway response for this API's failures (empty: the group's default).
        let response_id = match f.opt_str("response_id")? {
            None | Some("") => None,
            Some(id) => {
                Some(ResourceId::parse(id, "response_id").map_err(|_| f.bad("response_id"))?)
            }
        };
        let remark = Remark::parse(f.opt_str("remark")?.unwrap_or(""), "remark", REMARK_MAX)?;
        let tag_items = f.opt_array("tags")?;
        if tag_items.len() > MAX_API_TAGS {
            return Err(f.bad("tags"));
        }
        let mut tags = Vec::with_capacity(tag_items.len());
        for t in tag_items {
            let t = t.as_str().ok_or_else(|| f.bad("tags"))?;
            let t = parse_tag(t, "tags")?;
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        Ok(Self {
            group_id,
            name,
            api_type,
            version,
            req_protocol,
            req_method,
            req_uri,
            match_mode,
            auth_type,
            app_code_auth,
            backend,
            req_params,
            backend_params,
            policies,
            response_id,
            remark,
            tags,
            cors: f.opt_bool("cors")?.unwrap_or(false),
            result_normal_sample: f.opt_text("result_normal_sample", 20480)?,
            result_failure_sample: f.opt_text("result_failure_sample", 20480)?,
        })
    }

    /// Reads a definition the store wrote with [`ApiDefinition::to_json`], checking it again.
    pub fn from_stored(text: &str) -> Result<Self, ApiError> {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Self::parse(&map),
            _ => Err(ApiError::malformed_body(
                "stored API definition is not a JSON object",
            )),
        }
    }

    /// The canonical wire form (defaults filled in): what the store keeps, and the request
    /// fields of every API answer.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut v = json!({
            "group_id": self.group_id.as_str(),
            "name": self.name.as_str(),
            "type": self.api_type.code(),
            "req_protocol": self.req_protocol.as_str(),
            "req_method": self.req_method.as_str(),
            "req_uri": self.req_uri.as_str(),
            "match_mode": self.match_mode.as_str(),
            "auth_type": self.auth_type.as_str(),
            "auth_opt": {"app_code_auth_type": self.app_code_auth.as_str()},
            "backend_type": self.backend.type_name(),
            "req_params": self.req_params.iter().map(ReqParam::to_json).collect::<Vec<_>>(),
            "backend_params": self.backend_params.iter().map(BackendParam::to_json).collect::<Vec<_>>(),
            "remark": self.remark.as_str(),
            "tags": self.tags,
            "cors": self.cors,
        });
        v[self.backend.field()] = match &self.backend {
            ApiBackend::Http(api) | ApiBackend::Grpc(api) => api.to_json(),
            ApiBackend::Mock(mock) => mock.to_json(),
        };
        if !self.policies.is_empty() {
            let field = policy::field_of(matches!(self.backend, ApiBackend::Mock(_)));
            v[field] = self
                .policies
                .iter()
                .map(policy::BackendPolicy::to_json)
                .collect();
        }
        if let Some(id) = &self.response_id {
            v["response_id"] = json!(id.as_str());
        }
        for (k, val) in [
            ("version", &self.version),
            ("result_normal_sample", &self.result_normal_sample),
            ("result_failure_sample", &self.result_failure_sample),
        ] {
            if let Some(val) = val {
                v[k] = json!(val);
            }
        }
        match v {
            Value::Object(map) => map,
            _ => unreachable!("json! of an object literal is an object"),
        }
    }

    /// Text stored for this definition.
    pub fn to_stored(&self) -> String {
        Value::Object(self.to_json()).to_string()
    }

    /// Method and path with parameter names erased: unique among the APIs of a group.
    pub fn route_key(&self) -> String {
        format!("{} {}", self.req_method.as_str(), self.req_uri.route_key())
    }

    /// The group the API belongs to.
    pub fn group_id(&self) -> &str {
        self.group_id.as_str()
    }
    /// Name, unique in the group.
    pub fn name(&self) -> &ApiName {
        &self.name
    }
    /// Public or private.
    pub fn api_type(&self) -> ApiType {
        self.api_type
    }
    /// Free version label.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }
    /// Protocols callers may use.
    pub fn req_protocol(&self) -> ReqProtocol {
        self.req_protocol
    }
    /// Method callers use.
    pub fn req_method(&self) -> HttpMethod {
        self.req_method
    }
    /// Path callers use.
    pub fn req_uri(&self) -> &ReqUri {
        &self.req_uri
    }
    /// Exact or prefix path matching.
    pub fn match_mode(&self) -> MatchMode {
        self.match_mode
    }
    /// Who may call.
    pub fn auth_type(&self) -> AuthType {
        self.auth_type
    }
    /// Whether AppCodes are accepted (only with `APP`).
    pub fn app_code_auth(&self) -> AppCodeAuth {
        self.app_code_auth
    }
    /// What answers the API's calls.
    pub fn backend(&self) -> &ApiBackend {
        &self.backend
    }
    /// The backend server, unless the API is a mock.
    pub fn backend_api(&self) -> Option<&BackendApi> {
        self.backend.server()
    }
    /// Declared request parameters.
    pub fn req_params(&self) -> &[ReqParam] {
        &self.req_params
    }
    /// Parameters sent to the backend.
    pub fn backend_params(&self) -> &[BackendParam] {
        &self.backend_params
    }
    /// Its backend policies, in the order they are tried.
    pub fn policies(&self) -> &[policy::BackendPolicy] {
        &self.policies
    }
    /// Every backend server its calls may reach: its own, then its policies'.
    pub fn servers(&self) -> impl Iterator<Item = &BackendApi> {
        self.backend.server().into_iter().chain(
            self.policies
                .iter()
                .filter_map(policy::BackendPolicy::server),
        )
    }
    /// The group's gateway response its failures are answered with, if not the default.
    pub fn response_id(&self) -> Option<&str> {
        self.response_id.as_ref().map(ResourceId::as_str)
    }
    /// Description.
    pub fn remark(&self) -> &Remark {
        &self.remark
    }
    /// Tags.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }
    /// Whether cross-origin calls are allowed.
    pub fn cors(&self) -> bool {
        self.cors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn sample() -> Value {
        json!({
            "group_id": "c77f5e81d9cb4424bf704ef2b0ac7600",
            "name": "Api_http",
            "type": 1,
            "version": "V0.0.1",
            "req_protocol": "HTTPS",
            "req_method": "GET",
            "req_uri": "/users/{user_id}",
            "auth_type": "APP",
            "auth_opt": {"app_code_auth_type": "HEADER"},
            "backend_type": "HTTP",
            "backend_api": {
                "url_domain": "192.168.189.156:12346",
                "req_protocol": "HTTP",
                "req_method": "GET",
                "req_uri": "/internal/{uid}",
                "timeout": 5000,
                "retry_count": "-1"
            },
            "req_params": [
                {"name": "user_id", "location": "PATH", "type": "STRING", "required": 1},
                {"name": "query_demo", "location": "QUERY", "type": "NUMBER", "required": 2, "default_value": "5"}
            ],
            "backend_params": [
                {"name": "uid", "value": "user_id", "location": "PATH", "origin": "REQUEST"},
                {"name": "backQuery", "value": "query_demo", "location": "QUERY", "origin": "REQUEST"},
                {"name": "X-Const", "value": "demo", "location": "HEADER", "origin": "CONSTANT", "remark": "c"},
                {"name": "app-id", "value": "$context.appId", "location": "HEADER", "origin": "SYSTEM"}
            ],
            "remark": "Web backend API",
            "tags": ["webApi"],
            "cors": false
        })
    }

    fn with(mut v: Value, path: &[&str], new: Value) -> Value {
        let mut cur = &mut v;
        for p in &path[..path.len() - 1] {
            cur = match p.parse::<usize>() {
                Ok(i) => &mut cur[i],
                Err(_) => &mut cur[*p],
            };
        }
        let last = path[path.len() - 1];
        match (last.parse::<usize>(), new.is_null()) {
            (Ok(i), _) => cur[i] = new,
            (Err(_), true) => {
                cur.as_object_mut().unwrap().remove(last);
            }
            (Err(_), false) => cur[last] = new,
        }
        v
    }

    fn refused(v: Value) -> String {
        let e = ApiDefinition::parse(&obj(v)).unwrap_err();
        assert_eq!(e.code, "APIG.2011", "{e}");
        e.message
            .split("parameterName:")
            .nth(1)
            .unwrap()
            .split(". Please")
            .next()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn parses_the_documented_example_and_round_trips() {
        let d = ApiDefinition::parse(&obj(sample())).unwrap();
        assert_eq!(d.group_id(), "c77f5e81d9cb4424bf704ef2b0ac7600");
        assert_eq!(d.name().as_str(), "Api_http");
        assert_eq!(d.match_mode(), MatchMode::Normal);
        assert_eq!(d.app_code_auth(), AppCodeAuth::Header);
        let backend = d.backend_api().unwrap();
        let address = backend.target.address().unwrap();
        assert_eq!(address.literal().unwrap().port(), Some(12346));
        assert_eq!(backend.retry_count, -1);
        assert_eq!(d.to_json()["backend_type"], "HTTP");
        assert_eq!(d.route_key(), "GET /users/{}");
        assert_eq!(
            d.backend_params()[3].value,
            BackendValue::System(SystemParam::AppId)
        );
        let again = ApiDefinition::from_stored(&d.to_stored()).unwrap();
        assert_eq!(again, d);
        let j = d.to_json();
        assert_eq!(j["backend_api"]["retry_count"], "-1");
        assert_eq!(j["req_params"][0]["required"], 1);
        assert_eq!(j["version"], "V0.0.1");
    }

    #[test]
    fn request_parameter_rules_round_trip_and_path_parameters_default_to_required() {
        let v = with(
            sample(),
            &["req_params", "1"],
            json!({"name": "query_demo", "location": "QUERY", "type": "NUMBER",
                   "valid_enable": 1, "enumerations": " 1, 2 ,,5", "min_num": 1, "max_num": 5}),
        );
        let v = with(
            v,
            &["req_params", "0"],
            json!({"name": "user_id", "location": "PATH"}),
        );
        let d = ApiDefinition::parse(&obj(v)).unwrap();
        let [path, query] = d.req_params() else {
            panic!("{d:?}")
        };
        assert!(path.required && !path.valid_enable);
        assert!(query.valid_enable);
        assert_eq!(query.rules.enumerations, ["1", "2", "5"]);
        assert_eq!(
            (query.rules.min_num, query.rules.max_num),
            (Some(1), Some(5))
        );
        let j = d.to_json();
        assert_eq!(j["req_params"][0]["required"], 1);
        assert_eq!(j["req_params"][0]["valid_enable"], 2);
        assert_eq!(j["req_params"][1]["enumerations"], "1,2,5");
        assert_eq!(ApiDefinition::from_stored(&d.to_stored()).unwrap(), d);
    }

    #[test]
    fn a_mock_api_has_its_answer_and_no_backend_server() {
        let mock = json!({
            "group_id": "g1", "name": "mocked", "type": 1, "req_method": "OPTIONS", "req_uri": "/",
            "auth_type": "NONE", "backend_type": "MOCK",
            "mock_info": {"result_content": "{\"ok\":true}", "version": "v1", "remark": "r"}
        });
        let d = ApiDefinition::parse(&obj(mock.clone())).unwrap();
        let ApiBackend::Mock(info) = d.backend() else {
            panic!("not a mock: {d:?}")
        };
        assert_eq!(info.result_content, r#"{"ok":true}"#);
        assert_eq!(info.version.as_deref(), Some("v1"));
        assert!(d.backend_api().is_none());
        let j = d.to_json();
        assert_eq!(j["backend_type"], "MOCK");
        assert_eq!(j["mock_info"]["result_content"], r#"{"ok":true}"#);
        assert!(j.get("backend_api").is_none());
        assert_eq!(ApiDefinition::from_stored(&d.to_stored()).unwrap(), d);
        // Without mock_info: an empty answer.
        let bare = with(mock.clone(), &["mock_info"], Value::Null);
        let d = ApiDefinition::parse(&obj(bare)).unwrap();
        assert_eq!(d.to_json()["mock_info"], json!({"result_content": ""}));
        // What a mock cannot have, and its own fields' limits.
        let params =
            json!([{"name": "h", "value": "v", "location": "HEADER", "origin": "CONSTANT"}]);
        for (path, value, named) in [
            (&["backend_params"][..], params, "backend_params"),
            (&["mock_info"], json!("text"), "mock_info"),
            (
                &["mock_info", "result_content"],
                json!(1),
                "mock_info.result_content",
            ),
            (
                &["mock_info", "result_content"],
                json!("x".repeat(MOCK_CONTENT_MAX + 1)),
                "mock_info.result_content",
            ),
            (
                &["mock_info", "version"],
                json!("v".repeat(65)),
                "mock_info.version",
            ),
            (
                &["mock_info", "remark"],
                json!("r".repeat(256)),
                "mock_info.remark",
            ),
        ] {
            assert_eq!(refused(with(mock.clone(), path, value)), named);
        }
        let longest = with(
            mock,
            &["mock_info", "result_content"],
            json!("é".repeat(MOCK_CONTENT_MAX)),
        );
        assert!(ApiDefinition::parse(&obj(longest)).is_ok());
    }

    #[test]
    fn grpc_apis_follow_huaweis_rules() {
        let grpc = json!({
            "group_id": "g1", "name": "greeter", "type": 1, "req_protocol": "GRPCS",
            "req_method": "POST", "req_uri": "/helloworld.Greeter", "match_mode": "SWA",
            "auth_type": "APP", "auth_opt": {"app_code_auth_type": "HEADER"}, "backend_type": "GRPC",
            "backend_api": {"url_domain": "10.0.0.1:50051", "req_protocol": "GRPC",
                            "req_method": "POST", "req_uri": "/", "timeout": 5000},
            "backend_params": [{"name": "x-app", "location": "HEADER", "origin": "SYSTEM",
                                "value": "$context.appId"}]
        });
        let d = ApiDefinition::parse(&obj(grpc.clone())).unwrap();
        assert_eq!(d.req_protocol(), ReqProtocol::Grpcs);
        assert!(d.req_protocol().accepts(true) && !d.req_protocol().accepts(false));
        assert!(matches!(d.backend(), ApiBackend::Grpc(_)));
        let j = d.to_json();
        assert_eq!(j["backend_type"], "GRPC");
        assert_eq!(j["backend_api"]["req_protocol"], "GRPC");
        assert_eq!(ApiDefinition::parse(&j).unwrap(), d);
        // Over TLS to the backend, default port 443; a whole method's path may match exactly.
        let tls = with(
            grpc.clone(),
            &["backend_api", "req_protocol"],
            json!("GRPCS"),
        );
        let tls = with(
            tls,
            &["backend_api", "url_domain"],
            json!("grpc.example.com"),
        );
        let tls = with(tls, &["req_uri"], json!("/helloworld.Greeter/SayHello"));
        let tls = with(tls, &["match_mode"], json!("NORMAL"));
        let d = ApiDefinition::parse(&obj(tls)).unwrap();
        let server = d.backend_api().unwrap();
        assert_eq!(
            server
                .target
                .address()
                .unwrap()
                .literal()
                .unwrap()
                .port_for(server.req_protocol),
            443
        );
        assert!(ApiDefinition::parse(&obj(with(grpc.clone(), &["req_uri"], json!("/")))).is_ok());

        let cases: Vec<(&[&str], Value, &str)> = vec![
            (&["req_protocol"], json!("HTTPS"), "req_protocol"),
            (&["req_method"], json!("GET"), "req_method"),
            (&["req_uri"], json!("/a.B/c/d"), "req_uri"),
            (&["req_uri"], json!("/a.B/{m}"), "req_uri"),
            (&["match_mode"], json!("NORMAL"), "match_mode"),
            (&["backend_type"], json!("HTTP"), "backend_api.req_protocol"),
            (
                &["backend_api", "req_protocol"],
                json!("HTTP"),
                "backend_api.req_protocol",
            ),
            (
                &["backend_api", "req_method"],
                json!("ANY"),
                "backend_api.req_method",
            ),
            (
                &["backend_api", "req_uri"],
                json!("/x"),
                "backend_api.req_uri",
            ),
            (
                &["backend_params", "0", "location"],
                json!("QUERY"),
                "backend_params[0].location",
            ),
        ];
        for (path, value, named) in cases {
            assert_eq!(refused(with(grpc.clone(), path, value)), named, "{path:?}");
        }
    }

    #[test]
    fn defaults_are_filled() {
        let v = json!({
            "group_id": "g1", "name": "minimal", "type": 2, "req_method": "ANY", "req_uri": "/",
            "auth_type": "NONE", "backend_type": "HTTP",
            "backend_api": {"url_domain": "example.com", "req_protocol": "HTTPS", "req_method": "ANY",
                            "req_uri": "/", "timeout": 1}
        });
        let d = ApiDefinition::parse(&obj(v)).unwrap();
        assert_eq!(d.req_protocol(), ReqProtocol::Https);
        assert_eq!(d.match_mode(), MatchMode::Normal);
        assert_eq!(d.app_code_auth(), AppCodeAuth::Disable);
        assert_eq!(d.api_type(), ApiType::Private);
        assert!(!d.cors());
        assert_eq!(
            d.backend_api()
                .unwrap()
                .target
                .address()
                .unwrap()
                .literal()
                .unwrap()
                .port_for(BackendProtocol::Https),
            443
        );
        assert_eq!(d.remark().as_str(), "");
        let j = d.to_json();
        assert!(j.get("version").is_none());
        assert_eq!(ApiDefinition::parse(&j).unwrap(), d);
    }

    #[test]
    fn every_bad_field_is_named() {
        let cases: Vec<(&[&str], Value, &str)> = vec![
            (&["group_id"], Value::Null, "group_id"),
            (&["group_id"], json!("a/b"), "group_id"),
            (&["name"], json!("ab"), "name"),
            (&["type"], json!(3), "type"),
            (&["type"], json!("1"), "type"),
            (&["version"], json!("v".repeat(17)), "version"),
            // A gRPC frontend needs a gRPC backend.
            (&["req_protocol"], json!("GRPCS"), "backend_type"),
            (&["req_method"], json!("TRACE"), "req_method"),
            (&["req_uri"], json!("users"), "req_uri"),
            (&["match_mode"], json!("PREFIX"), "match_mode"),
            (&["auth_type"], json!("IAM"), "auth_type"),
            (&["auth_type"], json!("AUTHORIZER"), "auth_type"),
            (
                &["auth_opt", "app_code_auth_type"],
                json!("QUERY"),
                "auth_opt.app_code_auth_type",
            ),
            (&["backend_type"], json!("FUNCTION"), "backend_type"),
            // A mock with a backend server described.
            (&["backend_type"], json!("MOCK"), "backend_api"),
            (&["backend_api"], Value::Null, "backend_api"),
            (
                &["backend_api", "url_domain"],
                json!("bad host:80"),
                "backend_api.url_domain",
            ),
            (
                &["backend_api", "url_domain"],
                Value::Null,
                "backend_api.url_domain",
            ),
            (
                &["backend_api", "req_protocol"],
                json!("GRPCS"),
                "backend_api.req_protocol",
            ),
            (
                &["backend_api", "req_method"],
                json!("get"),
                "backend_api.req_method",
            ),
            (&["backend_api", "timeout"], json!(0), "backend_api.timeout"),
            (
                &["backend_api", "timeout"],
                json!(600001),
                "backend_api.timeout",
            ),
            (
                &["backend_api", "timeout"],
                json!("5000"),
                "backend_api.timeout",
            ),
            (
                &["backend_api", "retry_count"],
                json!("11"),
                "backend_api.retry_count",
            ),
            (
                &["backend_api", "vpc_channel_status"],
                json!(3),
                "backend_api.vpc_channel_status",
            ),
            (
                &["backend_api", "vpc_channel_status"],
                json!(1),
                "backend_api.vpc_channel_info",
            ),
            (
                &["req_params", "1", "name"],
                json!("1bad"),
                "req_params[1].name",
            ),
            (
                &["req_params", "1", "location"],
                json!("BODY"),
                "req_params[1].location",
            ),
            (
                &["req_params", "1", "required"],
                json!(3),
                "req_params[1].required",
            ),
            (
                &["req_params", "1", "default_value"],
                json!("five"),
                "req_params[1].default_value",
            ),
            (
                &["req_params", "1", "valid_enable"],
                json!(0),
                "req_params[1].valid_enable",
            ),
            (
                &["req_params", "1", "pass_through"],
                json!("no"),
                "req_params[1].pass_through",
            ),
            (
                &["req_params", "1"],
                json!({"name": "n", "location": "QUERY", "min_num": 5, "max_num": 4}),
                "req_params[1].max_num",
            ),
            (
                &["req_params", "1"],
                json!({"name": "n", "location": "QUERY", "min_size": 5, "max_size": 4}),
                "req_params[1].max_size",
            ),
            (
                &["req_params", "1"],
                json!({"name": "n", "location": "QUERY", "min_size": -1}),
                "req_params[1].min_size",
            ),
            (
                &["req_params", "1", "enumerations"],
                json!("x".repeat(1025)),
                "req_params[1].enumerations",
            ),
            (
                &["req_params", "1", "location"],
                json!("PATH"),
                "req_params[1].location",
            ),
            (
                &["req_params", "1"],
                json!({"name": "USER_ID", "location": "PATH"}),
                "req_params[1].location",
            ),
            (
                &["req_params", "1"],
                json!({"name": "user_id", "location": "PATH"}),
                "req_params[1].name",
            ),
            (
                &["backend_params", "1"],
                json!({"name": "X-CONST", "location": "HEADER", "origin": "CONSTANT", "value": "v"}),
                // Header names ignore case: the later `X-Const` collides with it.
                "backend_params[2].name",
            ),
            (
                &["backend_params", "0", "origin"],
                json!("MAGIC"),
                "backend_params[0].origin",
            ),
            (
                &["backend_params", "1", "value"],
                json!("undeclared"),
                "backend_params[1].value",
            ),
            (
                &["backend_params", "3", "value"],
                json!("$context.secret"),
                "backend_params[3].value",
            ),
            (
                &["backend_params", "2", "name"],
                json!("APP-ID"),
                "backend_params[3].name",
            ),
            (
                &["backend_params", "2", "location"],
                json!("PATH"),
                "backend_params[2].location",
            ),
            (&["remark"], json!("a<b"), "remark"),
            (&["tags"], json!(["1tag"]), "tags"),
            (&["tags"], json!("webApi"), "tags"),
            (&["cors"], json!("yes"), "cors"),
        ];
        for (path, value, field) in cases {
            assert_eq!(refused(with(sample(), path, value)), field, "{path:?}");
        }
    }

    #[test]
    fn backend_path_parameters_need_a_source() {
        // Without its PATH backend parameter, `{uid}` of the backend path has no value.
        let mut v = sample();
        v["backend_params"].as_array_mut().unwrap().remove(0);
        assert_eq!(refused(v), "backend_api.req_uri");
    }

    #[test]
    fn app_code_needs_app_auth() {
        let v = with(sample(), &["auth_type"], json!("NONE"));
        assert_eq!(refused(v), "auth_opt.app_code_auth_type");
    }

    #[test]
    fn req_uri_rules() {
        for good in [
            "/",
            "/a",
            "/a/{b}/c",
            "/v1.0/~x/a%2Fb/*",
            "/a/{b}/{c.d-e_f}",
        ] {
            ReqUri::parse(good, "req_uri").unwrap();
        }
        for bad in [
            "", "a", "//", "/a/", "/a//b", "/a b", "/a/{b", "/a/{1b}", "/a/x{b}", "/{b}/{b}",
            "/a%2", "/a%zz", "/é",
        ] {
            assert!(ReqUri::parse(bad, "req_uri").is_err(), "{bad}");
        }
        assert!(ReqUri::parse(&format!("/{}", "a".repeat(511)), "req_uri").is_ok());
        assert!(ReqUri::parse(&format!("/{}", "a".repeat(512)), "req_uri").is_err());
        let u = ReqUri::parse("/users/{id}/books/{book}", "req_uri").unwrap();
        assert_eq!(u.params().collect::<Vec<_>>(), ["id", "book"]);
        assert_eq!(u.route_key(), "/users/{}/books/{}");
        assert_eq!(ReqUri::parse("/", "x").unwrap().route_key(), "/");
    }

    #[test]
    fn path_matching() {
        let u = ReqUri::parse("/users/{id}", "req_uri").unwrap();
        assert_eq!(
            u.match_path("/users/42", MatchMode::Normal),
            Some(vec![("id".to_owned(), "42".to_owned())])
        );
        assert_eq!(u.match_path("/users", MatchMode::Normal), None);
        assert_eq!(u.match_path("/users/", MatchMode::Normal), None);
        assert_eq!(u.match_path("/users/42/x", MatchMode::Normal), None);
        assert_eq!(u.match_path("/Users/42", MatchMode::Normal), None);
        assert!(u.match_path("/users/42/x", MatchMode::Swa).is_some());
        assert_eq!(u.match_path("users/42", MatchMode::Normal), None);
        let root = ReqUri::parse("/", "req_uri").unwrap();
        assert_eq!(root.match_path("/", MatchMode::Normal), Some(vec![]));
        assert_eq!(root.match_path("/a", MatchMode::Normal), None);
        assert_eq!(root.match_path("/a/b", MatchMode::Swa), Some(vec![]));
    }

    #[test]
    fn render_fills_parameters() {
        let u = ReqUri::parse("/internal/{uid}/x", "backend_api.req_uri").unwrap();
        assert_eq!(
            u.render(|p| (p == "uid").then(|| "7".to_owned())),
            Some("/internal/7/x".to_owned())
        );
        assert_eq!(u.render(|_| None), None);
        assert_eq!(
            ReqUri::parse("/", "x").unwrap().render(|_| None),
            Some("/".to_owned())
        );
    }

    #[test]
    fn url_domain_rules() {
        let address = |s: &str| UrlDomain::parse(s).unwrap().literal().unwrap().clone();
        let d = address("Example.COM:8080");
        assert_eq!((d.host(), d.port()), ("example.com", Some(8080)));
        let d = address("10.0.0.1");
        assert_eq!(d.port_for(BackendProtocol::Http), 80);
        let d = address("[::1]:443");
        assert_eq!((d.host(), d.port()), ("[::1]", Some(443)));
        UrlDomain::parse("localhost").unwrap();
        UrlDomain::parse(&format!("{}.com", "a".repeat(63))).unwrap();
        for bad in [
            "",
            "host:",
            "host:0",
            "host:65536",
            "host:+80",
            "a b",
            "-a.com",
            "a-.com",
            "a..com",
            "http://a.com",
            "a.com/x",
            "1.2.3.256",
            "[::1",
            "[zz]:80",
            "[::1]80",
            "a:1:2",
            &format!("{}.com", "a".repeat(64)),
            "#address",
            "#ab#:80",
            "#address#:port",
            "#address#/x",
        ] {
            assert!(UrlDomain::parse(bad).is_err(), "{bad}");
        }
        assert!(UrlDomain::parse(&"a".repeat(256)).is_err());
    }

    #[test]
    fn backend_addresses_and_paths_may_name_environment_variables() {
        let vars = |n: &str| match n {
            "address" => Some("10.0.0.5"),
            "hostport" => Some("backend.example.com:8443"),
            "bad" => Some("a/b"),
            _ => None,
        };
        let d = UrlDomain::parse("#address#:8080").unwrap();
        assert_eq!(d.as_str(), "#address#:8080");
        assert!(d.literal().is_none());
        let a = d.address(vars).unwrap();
        assert_eq!((a.host(), a.port()), ("10.0.0.5", Some(8080)));
        let a = UrlDomain::parse("#hostport#")
            .unwrap()
            .address(vars)
            .unwrap();
        assert_eq!((a.host(), a.port()), ("backend.example.com", Some(8443)));
        let a = UrlDomain::parse("api.#address#.internal").unwrap();
        assert_eq!(a.address(vars).unwrap().host(), "api.10.0.0.5.internal");
        assert_eq!(
            UrlDomain::parse("#address#.1").unwrap().address(vars),
            Err(Unresolved::NotAnAddress("10.0.0.5.1".into())),
            "all digits and no IPv4 address"
        );
        assert_eq!(
            UrlDomain::parse("#other#:80").unwrap().address(vars),
            Err(Unresolved::Undefined("other".into()))
        );
        assert_eq!(
            UrlDomain::parse("#bad#").unwrap().address(vars),
            Err(Unresolved::NotAnAddress("a/b".into()))
        );
        let literal = UrlDomain::parse("example.com").unwrap();
        assert_eq!(literal.address(|_| None).unwrap().host(), "example.com");

        let field = "backend_api.req_uri";
        let u = ReqUri::parse_backend("/#Path#/users/{id}", field).unwrap();
        assert_eq!(u.as_str(), "/#Path#/users/{id}");
        assert!(u.has_param("id"));
        assert!(ReqUri::parse_backend("/plain/{id}", field).is_ok());
        for bad in ["/#Path", "/#ab#", "#Path#/x", "/#Path#//x", "/a b/#Path#"] {
            let e = ReqUri::parse_backend(bad, field).unwrap_err();
            assert_eq!(e.message, format!("Invalid parameter value,parameterName:{field}. Please refer to the support documentation"), "{bad}");
        }
        assert!(
            ReqUri::parse("/#Path#", "req_uri").is_err(),
            "callers' paths name none"
        );
    }

    #[test]
    fn names_and_remarks() {
        assert!(GroupName::parse("api_group_001").is_ok());
        assert!(GroupName::parse("1group(v2):a/b.c-d").is_ok());
        assert!(GroupName::parse("分组一").is_ok());
        for bad in ["ab", "_abc", "a b c", &"a".repeat(256)] {
            assert_eq!(GroupName::parse(bad).unwrap_err().code, "APIG.2011");
        }
        assert!(ApiName::parse("Api_http").is_ok());
        assert!(ApiName::parse("a!c").is_err());
        assert!(EnvName::parse("DEV_1").is_ok());
        for bad in ["ab", "1env", "dev-1", &"a".repeat(65)] {
            assert!(EnvName::parse(bad).is_err(), "{bad}");
        }
        assert!(Remark::parse(&"x".repeat(1000), "remark", GROUP_REMARK_MAX).is_ok());
        assert!(Remark::parse(&"x".repeat(256), "remark", REMARK_MAX).is_err());
        assert!(Remark::parse("<b>", "remark", REMARK_MAX).is_err());
    }

    #[test]
    fn enums_and_helpers() {
        assert!(ReqProtocol::Both.accepts(false) && ReqProtocol::Both.accepts(true));
        assert!(!ReqProtocol::Https.accepts(false));
        assert!(HttpMethod::Any.matches("DELETE"));
        assert!(!HttpMethod::Get.matches("POST"));
        assert_eq!(
            SystemParam::from_wire("$context.appId"),
            Some(SystemParam::AppId)
        );
        assert_eq!(ApiType::from_code(2), Some(ApiType::Private));
        assert_eq!(sl_domain("abc", "eu-de"), "abc.apic.eu-de");
    }

    #[test]
    fn error_texts() {
        assert_eq!(ApiError::api_not_found("x").message, "API x does not exist");
        assert_eq!(
            ApiError::environment_not_found("e").message,
            "Environment e does not exist"
        );
        assert_eq!(ApiError::api_group_not_found("g").code, "APIG.3001");
        assert_eq!(ApiError::api_published().status, 403);
    }
}
