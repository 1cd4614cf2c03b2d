//! Gateway responses of API groups (`/api-groups/{group_id}/gateway-responses`): what the
//! gateway answers, per kind of failure, instead of its own error body. A group has one
//! default response (created with it, its id the group's) and up to
//! [`MAX_CUSTOM_RESPONSES`] more; an API names one with `response_id`, else the group's
//! default applies. Each response holds a rule per [`ResponseType`]: a status, a body
//! template and headers, or nothing where the gateway's own answer stands (`default: true`).
//!
//! The values that parse, the wire forms (`ResponsesInfo`, `ResponseInfoResp`), the stored
//! form, and the errors of the resource. The data plane fills the templates in
//! (`apigw_gateway::responses`).

use crate::error::ApiError;
use crate::fields::Fields;
use crate::timestamp::Timestamp;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Responses a group may have besides its default (Huawei: "a maximum of four gateway
/// responses for each group").
pub const MAX_CUSTOM_RESPONSES: usize = 4;

/// Most headers one rule may add (Huawei's limit).
pub const MAX_RULE_HEADERS: usize = 10;

/// Longest body template we keep (our limit; Huawei documents none).
pub const MAX_BODY_TEMPLATE: usize = 65_536;

/// The name of a group's default response.
pub const DEFAULT_RESPONSE_NAME: &str = "default";

/// Headers a rule may not set (any case): those that frame the message or belong to the
/// connection (a wrong `Content-Length` would corrupt the exchange), and the request id the
/// gateway sets itself.
const RESERVED_HEADERS: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "upgrade",
    "te",
    "trailer",
    "x-request-id",
];

/// The body template of every rule nobody changed: the gateway's own error body.
pub const DEFAULT_BODY: &str = r#"{"error_code":"$context.error.code","error_msg":"$context.error.message","request_id":"$context.requestId"}"#;

impl ApiError {
    /// 404 `APIG.3081` (our code): no such response in the group.
    pub fn gateway_response_not_found(id: &str) -> Self {
        Self::new(
            404,
            "APIG.3081",
            format!("The gateway response does not exist, id: {id}"),
        )
    }

    /// 400 `APIG.3209` (our code): the group has a response of this name.
    pub fn gateway_response_name_exists() -> Self {
        Self::new(
            400,
            "APIG.3209",
            "The gateway response name already exists.",
        )
    }

    /// 403 `APIG.3111` (our code): the group has [`MAX_CUSTOM_RESPONSES`] besides its default.
    pub fn gateway_response_limit() -> Self {
        Self::new(
            403,
            "APIG.3111",
            "The number of gateway responses exceeds the maximum allowed limit.",
        )
    }

    /// 403 `APIG.3419` (our code): a group's default response cannot be deleted.
    pub fn default_gateway_response_locked() -> Self {
        Self::new(
            403,
            "APIG.3419",
            "The default gateway response cannot be deleted.",
        )
    }

    /// 403 `APIG.3420` (our code): an API (or a published or kept version of one) names the
    /// response.
    pub fn gateway_response_in_use() -> Self {
        Self::new(
            403,
            "APIG.3420",
            "The gateway response is used by APIs and cannot be deleted.",
        )
    }
}

macro_rules! response_types {
    ($($variant:ident = $wire:literal, $status:expr;)*) => {
        /// A kind of gateway failure a response rule answers (the keys of `responses`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ResponseType {
            $(
                #[doc = concat!("`", $wire, "`.")]
                $variant,
            )*
        }

        impl ResponseType {
            /// Every type, in the order answers list them.
            pub const ALL: &'static [ResponseType] = &[$(ResponseType::$variant),*];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ResponseType::$variant => $wire,)*
                }
            }

            /// The type named `s` (exact, upper case), if any.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($wire => Some(ResponseType::$variant),)*
                    _ => None,
                }
            }

            /// The status the gateway answers this type with unless a rule says otherwise;
            /// none for the catch-all types, whose failures keep their own statuses.
            pub fn default_status(self) -> Option<u16> {
                match self {
                    $(ResponseType::$variant => $status,)*
                }
            }
        }
    };
}

response_types! {
    AuthFailure = "AUTH_FAILURE", Some(401);
    AuthHeaderMissing = "AUTH_HEADER_MISSING", Some(401);
    AuthorizerFailure = "AUTHORIZER_FAILURE", Some(500);
    AuthorizerConfFailure = "AUTHORIZER_CONF_FAILURE", Some(500);
    AuthorizerIdentitiesFailure = "AUTHORIZER_IDENTITIES_FAILURE", Some(401);
    BackendUnavailable = "BACKEND_UNAVAILABLE", Some(502);
    BackendTimeout = "BACKEND_TIMEOUT", Some(504);
    Throttled = "THROTTLED", Some(429);
    // Huawei's table says 401; this gateway answers APIG.0304 with 403 (spec §5.2).
    Unauthorized = "UNAUTHORIZED", Some(403);
    AccessDenied = "ACCESS_DENIED", Some(403);
    NotFound = "NOT_FOUND", Some(404);
    RequestParametersFailure = "REQUEST_PARAMETERS_FAILURE", Some(400);
    Default4xx = "DEFAULT_4XX", None;
    Default5xx = "DEFAULT_5XX", None;
    ThirdAuthFailure = "THIRD_AUTH_FAILURE", Some(401);
    ThirdAuthIdentitiesFailure = "THIRD_AUTH_IDENTITIES_FAILURE", Some(401);
    ThirdAuthConfFailure = "THIRD_AUTH_CONF_FAILURE", Some(500);
    OidcAuthTokenVerifyFail = "OIDC_AUTH_TOKEN_VERIFY_FAIL", Some(401);
    OidcAuthGetDiscoveryError = "OIDC_AUTH_GET_DISCOVERY_ERROR", Some(500);
    OidcAuthCodeFlowFail = "OIDC_AUTH_CODE_FLOW_FAIL", Some(401);
    JwtAuthFailure = "JWT_AUTH_FAILURE", Some(401);
    OrchestrationParameterNotFound = "ORCHESTRATION_PARAMETER_NOT_FOUND", Some(400);
    OrchestrationFailure = "ORCHESTRATION_FAILURE", Some(400);
}

impl ResponseType {
    /// The type of a gateway refusal with APIG code `code` and HTTP status `status`: the
    /// documented kinds by code, anything else `DEFAULT_4XX` or `DEFAULT_5XX` by status.
    /// `missing_credentials` tells a call without any credential (`AUTH_HEADER_MISSING`)
    /// from one with wrong ones (`AUTH_FAILURE`).
    pub fn of_refusal(code: &str, status: u16, missing_credentials: bool) -> Self {
        match code {
            "APIG.0101" => Self::NotFound,
            "APIG.0106" => Self::RequestParametersFailure,
            "APIG.0303" | "APIG.0305" if missing_credentials => Self::AuthHeaderMissing,
            "APIG.0303" | "APIG.0305" => Self::AuthFailure,
            "APIG.0304" => Self::Unauthorized,
            "APIG.0308" => Self::Throttled,
            "APIG.0306" | "APIG.0401" | "APIG.0402" | "APIG.0405" => Self::AccessDenied,
            "APIG.0202" => Self::BackendUnavailable,
            "APIG.0203" => Self::BackendTimeout,
            _ if status >= 500 => Self::Default5xx,
            _ => Self::Default4xx,
        }
    }
}

/// A response's `name`: 1–64 letters, digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResponseName(String);

impl ResponseName {
    /// Parses `name`: 400 `APIG.2011` naming the field otherwise.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let b = raw.as_bytes();
        let ok = (1..=64).contains(&b.len())
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ApiError::invalid_body_field("name"))
        }
    }

    /// Reads back a name this type wrote (the store's copy).
    pub fn from_stored(name: String) -> Self {
        Self(name)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A header a rule adds: a name of 1–128 letters, digits, `-` and `_` (not one of
/// [`RESERVED_HEADERS`]), and a value template of 1–1,024 characters without `[[` or `]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleHeader {
    /// `key`.
    pub key: String,
    /// `value` (may name `$context` variables).
    pub value: String,
}

/// What one response type answers with once a rule is set (`ResponseInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseRule {
    /// `status` (200–599 but 444); none: the failure's own status.
    pub status: Option<u16>,
    /// `body`: a template naming `$context` variables.
    pub body: String,
    /// `headers`.
    pub headers: Vec<RuleHeader>,
}

impl ResponseRule {
    /// Parses a `ResponseInfo` object; errors name fields under the object's path. A missing
    /// `body` is the default template.
    fn parse(f: &Fields<'_>) -> Result<Self, ApiError> {
        let status = match f.get("status") {
            None => None,
            Some(v) => match v.as_i64() {
                Some(n) if (200..=599).contains(&n) && n != 444 => Some(n as u16),
                _ => return Err(f.bad("status")),
            },
        };
        let body = match f.opt_str("body")? {
            None => DEFAULT_BODY.to_owned(),
            Some(b) if b.is_empty() || b.chars().count() > MAX_BODY_TEMPLATE => {
                return Err(f.bad("body"))
            }
            Some(b) => b.to_owned(),
        };
        let items = f.opt_array("headers")?;
        if items.len() > MAX_RULE_HEADERS {
            return Err(f.bad("headers"));
        }
        let mut headers: Vec<RuleHeader> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let h = f.item("headers", i, item)?;
            let key = h.req_str("key")?;
            let key_ok = (1..=128).contains(&key.len())
                && key
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
            let taken = headers.iter().any(|o| o.key.eq_ignore_ascii_case(key))
                || RESERVED_HEADERS.iter().any(|r| r.eq_ignore_ascii_case(key));
            if !key_ok || taken {
                return Err(h.bad("key"));
            }
            let value = h.req_str("value")?;
            let value_ok = (1..=1024).contains(&value.chars().count())
                && !value.contains("[[")
                && !value.contains("]]")
                && !value.chars().any(char::is_control);
            if !value_ok {
                return Err(h.bad("value"));
            }
            headers.push(RuleHeader {
                key: key.to_owned(),
                value: value.to_owned(),
            });
        }
        Ok(Self {
            status,
            body,
            headers,
        })
    }

    /// Parses the body of `PUT .../{response_type}` (a `ResponseInfo` at the top).
    pub fn parse_body(body: &Map<String, Value>) -> Result<Self, ApiError> {
        Self::parse(&Fields::new(body, ""))
    }

    fn to_stored(&self) -> Value {
        let mut v = json!({
            "body": self.body,
            "headers": self.headers.iter().map(|h| json!({"key": h.key, "value": h.value})).collect::<Vec<_>>(),
        });
        if let Some(status) = self.status {
            v["status"] = json!(status);
        }
        v
    }
}

/// A response's rules by type: only the types whose answer was changed.
pub type ResponseRules = BTreeMap<ResponseType, ResponseRule>;

/// Parses `responses` (a map from type to `ResponseInfo`) of a create or update body; absent
/// is no rule. Unknown types are 400 `APIG.2011` naming `responses.<TYPE>`.
pub fn parse_rules(body: &Map<String, Value>) -> Result<ResponseRules, ApiError> {
    let f = Fields::new(body, "");
    let mut rules = ResponseRules::new();
    let Some(map) = f.opt_object("responses")? else {
        return Ok(rules);
    };
    for key in map.entries().keys() {
        let kind = ResponseType::parse(key).ok_or_else(|| map.bad(key))?;
        let rule = map.opt_object(key)?.ok_or_else(|| map.bad(key))?;
        rules.insert(kind, ResponseRule::parse(&rule)?);
    }
    Ok(rules)
}

/// The text the store keeps for `rules`.
pub fn rules_to_stored(rules: &ResponseRules) -> String {
    let map: Map<String, Value> = rules
        .iter()
        .map(|(kind, rule)| (kind.as_str().to_owned(), rule.to_stored()))
        .collect();
    Value::Object(map).to_string()
}

/// Reads rules the store wrote with [`rules_to_stored`], checking them again.
pub fn rules_from_stored(text: &str) -> Result<ResponseRules, ApiError> {
    match serde_json::from_str::<Value>(text) {
        Ok(responses) => parse_rules(&Map::from_iter([("responses".to_owned(), responses)])),
        Err(_) => Err(ApiError::malformed_body(
            "stored gateway response rules are not JSON",
        )),
    }
}

/// One gateway response of a group as the management API shows it (`ResponsesInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayResponse {
    /// 32 hex id (the group's id for its default response).
    pub id: String,
    /// The group it belongs to.
    pub group_id: String,
    /// `name`.
    pub name: ResponseName,
    /// Whether it is the group's default response.
    pub is_default: bool,
    /// The changed rules.
    pub rules: ResponseRules,
    /// Creation time.
    pub create_time: Timestamp,
    /// Last change.
    pub update_time: Timestamp,
}

/// `ResponseInfoResp` of `kind` in a response with `rules`: the rule if one is set, else
/// the gateway's own answer (`default: true`).
pub fn rule_json(rules: &ResponseRules, kind: ResponseType) -> Value {
    let (status, body, headers, default) = match rules.get(&kind) {
        Some(rule) => (
            rule.status.or(kind.default_status()),
            rule.body.as_str(),
            &rule.headers[..],
            false,
        ),
        None => (kind.default_status(), DEFAULT_BODY, &[][..], true),
    };
    let mut v = json!({
        "body": body,
        "headers": headers.iter().map(|h| json!({"key": h.key, "value": h.value})).collect::<Vec<_>>(),
        "default": default,
    });
    if let Some(status) = status {
        v["status"] = json!(status);
    }
    v
}

impl GatewayResponse {
    /// The wire form: every type, changed or not. Times to the nanosecond in the answer to
    /// the call that made or changed it (`fresh`), else to the second, as for every resource.
    pub fn to_json(&self, fresh: bool) -> Value {
        let time = |t: Timestamp| {
            if fresh {
                t.rfc3339_nanos()
            } else {
                t.rfc3339_seconds()
            }
        };
        let responses: Map<String, Value> = ResponseType::ALL
            .iter()
            .map(|&kind| (kind.as_str().to_owned(), rule_json(&self.rules, kind)))
            .collect();
        json!({
            "id": self.id,
            "name": self.name.as_str(),
            "default": self.is_default,
            "responses": responses,
            "create_time": time(self.create_time),
            "update_time": time(self.update_time),
        })
    }

    /// The answer to `GET`/`PUT .../{response_type}`: `{TYPE: ResponseInfoResp}`.
    pub fn type_json(&self, kind: ResponseType) -> Value {
        json!({ kind.as_str(): rule_json(&self.rules, kind) })
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

    #[test]
    fn rules_parse_and_round_trip_through_the_stored_form() {
        let rules = parse_rules(&obj(json!({"responses": {
            "AUTH_FAILURE": {"status": 418, "body": "{\"why\":\"$context.error.message\"}",
                             "headers": [{"key": "X-Why", "value": "$context.error.code"}]},
            "NOT_FOUND": {},
        }})))
        .unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[&ResponseType::AuthFailure].status, Some(418));
        assert_eq!(rules[&ResponseType::NotFound].body, DEFAULT_BODY);
        assert_eq!(rules_from_stored(&rules_to_stored(&rules)).unwrap(), rules);
        assert!(parse_rules(&obj(json!({}))).unwrap().is_empty());
    }

    #[test]
    fn bad_rules_name_their_field() {
        let long = "x".repeat(MAX_BODY_TEMPLATE + 1);
        let many: Vec<Value> = (0..11)
            .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
            .collect();
        for (responses, field) in [
            (json!({"NOPE": {}}), "responses.NOPE"),
            (json!({"NOT_FOUND": 1}), "responses.NOT_FOUND"),
            (
                json!({"NOT_FOUND": {"status": 444}}),
                "responses.NOT_FOUND.status",
            ),
            (
                json!({"NOT_FOUND": {"status": 199}}),
                "responses.NOT_FOUND.status",
            ),
            (
                json!({"NOT_FOUND": {"status": "404"}}),
                "responses.NOT_FOUND.status",
            ),
            (
                json!({"NOT_FOUND": {"body": ""}}),
                "responses.NOT_FOUND.body",
            ),
            (
                json!({"NOT_FOUND": {"body": long}}),
                "responses.NOT_FOUND.body",
            ),
            (
                json!({"NOT_FOUND": {"headers": many}}),
                "responses.NOT_FOUND.headers",
            ),
            (
                json!({"NOT_FOUND": {"headers": [{"key": "a b", "value": "v"}]}}),
                "responses.NOT_FOUND.headers[0].key",
            ),
            (
                json!({"NOT_FOUND": {"headers": [{"key": "A", "value": "v"}, {"key": "a", "value": "w"}]}}),
                "responses.NOT_FOUND.headers[1].key",
            ),
            (
                json!({"NOT_FOUND": {"headers": [{"key": "Content-Length", "value": "1"}]}}),
                "responses.NOT_FOUND.headers[0].key",
            ),
            (
                json!({"NOT_FOUND": {"headers": [{"key": "a", "value": "[[x]]"}]}}),
                "responses.NOT_FOUND.headers[0].value",
            ),
            (
                json!({"NOT_FOUND": {"headers": [{"key": "a", "value": "x\ny"}]}}),
                "responses.NOT_FOUND.headers[0].value",
            ),
        ] {
            let e = parse_rules(&obj(json!({ "responses": responses }))).unwrap_err();
            assert_eq!(e.code, "APIG.2011", "{field}");
            assert!(
                e.message.contains(&format!(":{field}.")),
                "{field}: {}",
                e.message
            );
        }
        assert!(ResponseName::parse("a-b_9").is_ok());
        for bad in ["", "a b", &"x".repeat(65), "名字"] {
            assert!(ResponseName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refusals_map_to_their_types() {
        let of = ResponseType::of_refusal;
        assert_eq!(of("APIG.0101", 404, false), ResponseType::NotFound);
        assert_eq!(of("APIG.0303", 401, true), ResponseType::AuthHeaderMissing);
        assert_eq!(of("APIG.0303", 401, false), ResponseType::AuthFailure);
        assert_eq!(of("APIG.0304", 403, false), ResponseType::Unauthorized);
        assert_eq!(of("APIG.0405", 403, false), ResponseType::AccessDenied);
        assert_eq!(of("APIG.0306", 403, false), ResponseType::AccessDenied);
        assert_eq!(of("APIG.0203", 504, false), ResponseType::BackendTimeout);
        assert_eq!(of("APIG.0501", 405, false), ResponseType::Default4xx);
        assert_eq!(of("APIG.0103", 500, false), ResponseType::Default5xx);
    }

    #[test]
    fn the_wire_form_shows_every_type_with_its_default() {
        let response = GatewayResponse {
            id: "a".repeat(32),
            group_id: "a".repeat(32),
            name: ResponseName::parse(DEFAULT_RESPONSE_NAME).unwrap(),
            is_default: true,
            rules: parse_rules(&obj(json!({"responses": {"THROTTLED": {"body": "{}"}}}))).unwrap(),
            create_time: Timestamp::from_unix_seconds(0),
            update_time: Timestamp::from_unix_seconds(0),
        };
        let v = response.to_json(false);
        let all = v["responses"].as_object().unwrap();
        assert_eq!(all.len(), ResponseType::ALL.len());
        assert_eq!(
            all["THROTTLED"],
            json!({"body": "{}", "headers": [], "default": false, "status": 429})
        );
        assert_eq!(all["NOT_FOUND"]["default"], json!(true));
        assert_eq!(all["NOT_FOUND"]["body"], json!(DEFAULT_BODY));
        assert!(all["DEFAULT_4XX"].get("status").is_none());
        assert_eq!(
            response.type_json(ResponseType::NotFound)["NOT_FOUND"]["status"],
            json!(404)
        );
    }
}
