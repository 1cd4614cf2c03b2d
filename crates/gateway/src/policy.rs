//! Backend policies on the request path (APIG `policy_https`, `policy_mocks`): which backend
//! a call of an API with policies goes to. The policies are tried in order; the first whose
//! conditions hold (all, or any one, as its `effect_mode` says) takes the call, with its own
//! backend and backend parameters; a call that meets none goes to the API's own backend. An
//! API without policies pays one emptiness test.
//!
//! A condition reads the call as the rest of the pipeline does: a request parameter as a
//! `REQUEST` backend parameter reads it (path parameter, else query, else header; its default
//! when the caller leaves it out), the client address as access control sees it, the path
//! percent-decoded, the method, or a cookie's value. A value the call lacks meets no test.

use crate::apps::Acl;
use crate::config::{BackendPolicy, ConditionSubject, ConditionTest, RequestParam};
use crate::pipeline::RequestId;
use crate::routes::RouteMatch;
use crate::snapshot::{ApiEntry, Serving};
use http::{HeaderMap, Method};
use percent_encoding::percent_decode_str;
use regex::Regex;
use std::borrow::Cow;
use std::net::IpAddr;

/// A backend policy prepared for the request path.
#[derive(Debug)]
pub(crate) struct PolicyEntry {
    /// Its name (logs, the debug header).
    pub name: Box<str>,
    match_all: bool,
    conditions: Box<[ConditionEntry]>,
    /// The backend of the calls it takes.
    pub serving: Serving,
}

#[derive(Debug)]
struct ConditionEntry {
    subject: ConditionSubject,
    test: Test,
}

/// A condition's test, compiled.
#[derive(Debug)]
enum Test {
    Equals(Box<str>),
    OneOf(Box<[Box<str>]>),
    Pattern(Regex),
    Addresses(Acl),
}

/// What of the call the conditions read, borrowed from the request.
pub(crate) struct CallFacts<'a, 'r> {
    /// The client address (the TCP peer, or the one `X-Forwarded-For` names where trusted).
    pub client: IpAddr,
    /// The request method.
    pub method: &'a Method,
    /// The request's path and query.
    pub uri: &'r http::Uri,
    /// The route's match (path parameters).
    pub route: &'a RouteMatch<'a, 'r>,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The API's request parameters with something to enforce (their defaults).
    pub req_params: &'a [RequestParam],
}

impl PolicyEntry {
    /// The prepared form of `policy`, whose calls `serving` answers; `None` when a pattern
    /// does not compile (the management API checked it, so only a stored definition from an
    /// older rule can).
    pub(crate) fn new(policy: &BackendPolicy, serving: Serving) -> Option<Self> {
        let conditions = policy
            .conditions
            .iter()
            .map(|c| {
                let test = match &c.test {
                    ConditionTest::Equals(v) => Test::Equals(v.as_str().into()),
                    ConditionTest::OneOf(vs) => {
                        Test::OneOf(vs.iter().map(|v| v.as_str().into()).collect())
                    }
                    ConditionTest::Pattern(p) => {
                        Test::Pattern(apigw_domain::api::policy::compile_pattern(p).ok()?)
                    }
                    ConditionTest::Addresses(ranges) => Test::Addresses(Acl {
                        permit: true,
                        ranges: ranges.as_slice().into(),
                    }),
                };
                Some(ConditionEntry {
                    subject: c.subject.clone(),
                    test,
                })
            })
            .collect::<Option<Box<[_]>>>()?;
        Some(Self {
            name: policy.name.as_str().into(),
            match_all: policy.match_all,
            conditions,
            serving,
        })
    }

    fn admits(&self, call: &CallFacts<'_, '_>) -> bool {
        let mut held = self.conditions.iter().map(|c| c.holds(call));
        if self.match_all {
            held.all(|h| h)
        } else {
            held.any(|h| h)
        }
    }
}

/// What answers `call` of `api` (which has policies): its first policy whose conditions the
/// call meets, else its own backend. Out of line: only APIs with policies run it.
#[inline(never)]
pub(crate) fn serving<'a>(
    api: &'a ApiEntry,
    call: &CallFacts<'_, '_>,
    request_id: &RequestId,
) -> &'a Serving {
    match api.policies.iter().find(|p| p.admits(call)) {
        Some(policy) => {
            tracing::debug!(
                request_id = request_id.as_str(),
                policy = &*policy.name,
                "backend policy chosen"
            );
            &policy.serving
        }
        None => &api.serving,
    }
}

impl ConditionEntry {
    fn holds(&self, call: &CallFacts<'_, '_>) -> bool {
        if let Test::Addresses(acl) = &self.test {
            return self.subject == ConditionSubject::SourceIp && acl.allows(call.client);
        }
        let value: Option<Cow<'_, str>> = match &self.subject {
            ConditionSubject::Param(name) => {
                let query = call.uri.query();
                crate::proxy::request_value(name, call.route, query, call.headers)
                    .or_else(|| crate::params::default_of(call.req_params, name))
            }
            ConditionSubject::Path => Some(percent_decode_str(call.uri.path()).decode_utf8_lossy()),
            ConditionSubject::Method => Some(Cow::Borrowed(call.method.as_str())),
            ConditionSubject::Cookie(name) => cookie(call.headers, name).map(Cow::Borrowed),
            ConditionSubject::SourceIp => None,
        };
        let Some(value) = value else {
            return false;
        };
        match &self.test {
            Test::Equals(v) => **v == *value,
            Test::OneOf(vs) => vs.iter().any(|v| **v == *value),
            Test::Pattern(re) => re.is_match(&value),
            Test::Addresses(_) => false,
        }
    }
}

/// The value of cookie `name` in the request's `Cookie` fields (the first, if repeated).
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k.trim() == name).then(|| {
                let v = v.trim();
                v.strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v)
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name_among_several_fields() {
        let mut headers = HeaderMap::new();
        headers.append(http::header::COOKIE, "a=1; tier=\"gold\"".parse().unwrap());
        headers.append(http::header::COOKIE, "b=2;tier=silver".parse().unwrap());
        assert_eq!(cookie(&headers, "tier"), Some("gold"));
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, "ti"), None);
        assert_eq!(cookie(&HeaderMap::new(), "a"), None);
    }
}
