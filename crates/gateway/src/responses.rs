//! Gateway responses (APIG's group responses): the answer a group, or an API naming one of
//! its responses, gives a refused call instead of the gateway's own error body: a status, a
//! body template and headers per kind of failure
//! ([`ResponseType`](apigw_domain::gateway_response::ResponseType)).
//!
//! Templates are parsed once, when the routes are built; a refusal fills in the
//! `$context` variables it names. Only refusals pay: an API whose responses change nothing
//! carries none, and the success path never looks here.

use crate::body::GatewayBody;
use crate::errors::push_json_escaped;
use apigw_domain::gateway_response::{ResponseRules, ResponseType};
use apigw_domain::ApiError;
use http::header::CONTENT_TYPE;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use std::collections::HashMap;
use std::net::IpAddr;

/// A gateway response's changed rules, ready to answer refusals.
///
/// Exists so that the templates are parsed when the routes are built, not per refusal; one
/// value is shared (`Arc`) by the group and every API that answers with it.
#[derive(Debug, PartialEq, Eq)]
pub struct ErrorResponses {
    rules: HashMap<ResponseType, Rule>,
}

/// One type's answer.
#[derive(Debug, PartialEq, Eq)]
struct Rule {
    /// None: the refusal's own status.
    status: Option<StatusCode>,
    body: Template,
    headers: Vec<(HeaderName, Template)>,
}

/// A text with `$context` variables, split once, and the room its filled text is first
/// given (its literal text and some for the values).
#[derive(Debug, PartialEq, Eq)]
struct Template(Vec<Piece>, usize);

#[derive(Debug, PartialEq, Eq)]
enum Piece {
    Text(Box<str>),
    Var(Var),
}

/// The variables a gateway response may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    ErrorCode,
    ErrorMessage,
    ErrorType,
    RequestId,
    ApiId,
    ApiName,
    AppId,
    AppName,
    Stage,
    SourceIp,
}

/// Each variable's name after `$context.`; a name counts only where no letter, digit or `_`
/// follows it (`$context.apiIdx` is no variable).
const VARIABLES: &[(&str, Var)] = &[
    ("error.code", Var::ErrorCode),
    ("error.message", Var::ErrorMessage),
    ("error.type", Var::ErrorType),
    ("requestId", Var::RequestId),
    ("apiId", Var::ApiId),
    ("apiName", Var::ApiName),
    ("appId", Var::AppId),
    ("appName", Var::AppName),
    ("stage", Var::Stage),
    ("sourceIp", Var::SourceIp),
];

const PREFIX: &str = "$context.";

impl Template {
    /// Splits `text` at the variables it names; any other `$context.…` stays text (it may be
    /// one APIG knows and this gateway does not, such as a custom authorizer's).
    fn parse(text: &str) -> Self {
        let mut pieces = Vec::new();
        let mut rest = text;
        let mut literal = String::new();
        while let Some(at) = rest.find(PREFIX) {
            literal.push_str(&rest[..at]);
            let after = &rest[at + PREFIX.len()..];
            let found = VARIABLES.iter().find(|(name, _)| {
                after.starts_with(name)
                    && !after[name.len()..]
                        .bytes()
                        .next()
                        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
            match found {
                Some((name, var)) => {
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal).into()));
                    }
                    pieces.push(Piece::Var(*var));
                    rest = &after[name.len()..];
                }
                None => {
                    literal.push_str(PREFIX);
                    rest = after;
                }
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal.into()));
        }
        let room = pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.len(),
                Piece::Var(_) => 48,
            })
            .sum();
        Self(pieces, room)
    }

    /// The text with `facts` filled in; `escape` writes each value as JSON string content
    /// (the body's variables stand inside JSON strings).
    fn fill(&self, facts: &Facts<'_>, escape: bool) -> String {
        let mut out = String::with_capacity(self.1);
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(var) => {
                    let value = facts.value(*var);
                    if escape {
                        push_json_escaped(&mut out, &value);
                    } else {
                        out.push_str(&value);
                    }
                }
            }
        }
        out
    }
}

/// What a refusal's variables are read from.
pub(crate) struct Facts<'a> {
    /// The refusal.
    pub error: &'a ApiError,
    /// Its type.
    pub kind: ResponseType,
    /// The request's id.
    pub request_id: &'a str,
    /// The API routed to, with the stage it is published in, if any.
    pub api: Option<(&'a str, &'a str, &'a str)>,
    /// The app that called, if known.
    pub app: Option<(&'a str, &'a str)>,
    /// The client's address (as ACLs see it).
    pub client: IpAddr,
}

impl Facts<'_> {
    fn value(&self, var: Var) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow::{Borrowed, Owned};
        match var {
            Var::ErrorCode => Borrowed(self.error.code),
            Var::ErrorMessage => Borrowed(&self.error.message),
            Var::ErrorType => Borrowed(self.kind.as_str()),
            Var::RequestId => Borrowed(self.request_id),
            Var::ApiId => Borrowed(self.api.map_or("", |a| a.0)),
            Var::ApiName => Borrowed(self.api.map_or("", |a| a.1)),
            Var::Stage => Borrowed(self.api.map_or("", |a| a.2)),
            Var::AppId => Borrowed(self.app.map_or("", |a| a.0)),
            Var::AppName => Borrowed(self.app.map_or("", |a| a.1)),
            Var::SourceIp => Owned(self.client.to_canonical().to_string()),
        }
    }
}

impl ErrorResponses {
    /// Prepares `rules`; `None` when they change nothing (the gateway's own answers stand).
    pub fn new(rules: &ResponseRules) -> Option<Self> {
        if rules.is_empty() {
            return None;
        }
        let rules = rules
            .iter()
            .map(|(kind, rule)| {
                let headers = rule
                    .headers
                    .iter()
                    .filter_map(|h| {
                        let name = HeaderName::from_bytes(h.key.as_bytes()).ok()?;
                        Some((name, Template::parse(&h.value)))
                    })
                    .collect();
                let status = rule.status.and_then(|s| StatusCode::from_u16(s).ok());
                let body = Template::parse(&rule.body);
                (
                    *kind,
                    Rule {
                        status,
                        body,
                        headers,
                    },
                )
            })
            .collect();
        Some(Self { rules })
    }

    /// The answer to the refusal `facts` describe, if these responses change its type's.
    pub(crate) fn render(&self, facts: &Facts<'_>) -> Option<Response<GatewayBody>> {
        let rule = self.rules.get(&facts.kind)?;
        let mut response = Response::new(GatewayBody::full(rule.body.fill(facts, true)));
        *response.status_mut() = rule.status.unwrap_or_else(|| {
            StatusCode::from_u16(facts.error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        });
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=utf-8"),
        );
        for (name, value) in &rule.headers {
            // A value a variable made unusable in a header (a control character) is left out.
            let Ok(value) = HeaderValue::from_str(&value.fill(facts, false)) else {
                continue;
            };
            // A rule's `Content-Type` replaces the gateway's; other headers add to it.
            if name == CONTENT_TYPE {
                headers.insert(CONTENT_TYPE, value);
            } else {
                headers.append(name.clone(), value);
            }
        }
        Some(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apigw_domain::gateway_response::parse_rules;
    use serde_json::json;

    fn responses(v: serde_json::Value) -> ErrorResponses {
        let body = json!({ "responses": v });
        ErrorResponses::new(&parse_rules(body.as_object().unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn templates_fill_known_variables_and_keep_others() {
        let t = Template::parse(
            r#"{"c":"$context.error.code","x":"$context.authorizer.frontend.code","i":"$context.apiIdx","s":"$context.stage"}"#,
        );
        let error = ApiError::new(401, "APIG.0303", "bad \"key\"\n");
        let facts = Facts {
            error: &error,
            kind: ResponseType::AuthFailure,
            request_id: "r1",
            api: Some(("a1", "orders", "RELEASE")),
            app: None,
            client: "::ffff:10.0.0.1".parse().unwrap(),
        };
        assert_eq!(
            t.fill(&facts, true),
            r#"{"c":"APIG.0303","x":"$context.authorizer.frontend.code","i":"$context.apiIdx","s":"RELEASE"}"#
        );
        let m = Template::parse("$context.error.message|$context.sourceIp|$context.appId");
        assert_eq!(m.fill(&facts, true), r#"bad \"key\"\n|10.0.0.1|"#);
    }

    #[test]
    fn a_rule_sets_status_body_and_headers_and_others_stay() {
        let set = responses(json!({
            "AUTH_FAILURE": {"status": 418, "body": "{\"why\":\"$context.error.type\"}",
                             "headers": [{"key": "X-Code", "value": "$context.error.code"}]},
            "NOT_FOUND": {"body": "gone", "headers": [{"key": "content-type", "value": "text/plain"}]},
        }));
        let error = ApiError::new(401, "APIG.0303", "no");
        let mut facts = Facts {
            error: &error,
            kind: ResponseType::AuthFailure,
            request_id: "r1",
            api: None,
            app: None,
            client: "10.0.0.1".parse().unwrap(),
        };
        let r = set.render(&facts).unwrap();
        assert_eq!(r.status(), 418);
        assert_eq!(r.headers()["x-code"], "APIG.0303");
        assert_eq!(
            r.headers()["content-type"],
            "application/json;charset=utf-8"
        );
        facts.kind = ResponseType::NotFound;
        let r = set.render(&facts).unwrap();
        assert_eq!(r.status(), 401, "its own status");
        let types: Vec<_> = r.headers().get_all("content-type").iter().collect();
        assert_eq!(types, ["text/plain"], "the rule's replaces the gateway's");
        facts.kind = ResponseType::Throttled;
        assert!(set.render(&facts).is_none());
        assert!(ErrorResponses::new(&Default::default()).is_none());
    }
}
