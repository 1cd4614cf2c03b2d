//! Backend policies on the request path (APIG `policy_https`, `policy_mocks`): which backend
//! a call of an API with policies goes to. The policies are tried in order; the first whose
//! conditions hold (all, or any one, as its `effect_mode` says) takes the call, with its own
//! backend and backend parameters; a call that meets none goes to the API's own backend. An
//! API without policies pays one `Option` test.
//!
//! A condition reads one thing of the call (its subject): a declared request parameter where
//! the API declares it (a path parameter, the query, a header; its default when the caller
//! leaves it out), the client address as access control sees it, the path percent-decoded,
//! the method, or a cookie's value. A value the call lacks meets no test. The subjects of an
//! API's policies are resolved when the routes are built (a header's name parsed, a
//! parameter's default found) and each is read at most once per call, however many
//! conditions test it.

use crate::apps::Acl;
use crate::config::{BackendPolicy, ConditionSubject, ConditionTest, ParamLocation, PublishedApi};
use crate::pipeline::RequestId;
use crate::routes::RouteMatch;
use crate::snapshot::{ApiEntry, Serving};
use http::{HeaderMap, HeaderName, Method};
use percent_encoding::percent_decode_str;
use regex::Regex;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::net::IpAddr;

/// The backend policies of one published API, prepared for the request path.
#[derive(Debug)]
pub(crate) struct Policies {
    /// What the conditions read, each once (conditions refer to them by index).
    subjects: Box<[Subject]>,
    /// The policies, in the order they are tried.
    entries: Box<[PolicyEntry]>,
}

/// A backend policy prepared for the request path.
#[derive(Debug)]
struct PolicyEntry {
    name: Box<str>,
    /// The calls it took (`apigw_gateway_backend_policy_requests_total`).
    calls: metrics::Counter,
    match_all: bool,
    conditions: Box<[ConditionEntry]>,
    serving: Serving,
}

#[derive(Debug)]
struct ConditionEntry {
    /// Index into [`Policies::subjects`].
    subject: usize,
    test: Test,
}

/// What a condition reads, resolved (also what a `rate_limit` plug-in's rules read, see
/// [`crate::rate_rules`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Subject {
    /// A path parameter (percent-decoded), or its default.
    PathParam(Box<str>, Option<Box<str>>),
    /// A query parameter (form-decoded), or its default.
    Query(Box<str>, Option<Box<str>>),
    /// A header, or its default.
    Header(HeaderName, Option<Box<str>>),
    /// The client address (tested by address, not as text).
    SourceIp,
    /// The path, percent-decoded.
    Path,
    /// The method.
    Method,
    /// A cookie.
    Cookie(Box<str>),
    /// The client address as text.
    ClientAddress,
    /// The host the call names, without port.
    ServerName,
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
    /// The host the request names (`Host`, else the target's authority), port included.
    pub host: &'r str,
}

impl Policies {
    /// What its policies' backends serve, in order (for the next build's log).
    pub(crate) fn servings(&self) -> impl Iterator<Item = &Serving> {
        self.entries.iter().map(|e| &e.serving)
    }

    /// The prepared policies of `api` (`None` when it has none), each answered by the
    /// `Serving` `prepared` makes of it; the failing policy's name when `prepared` gives none,
    /// or a header name or pattern does not compile (the management API checked both, so only
    /// a definition stored under an older rule can).
    pub(crate) fn new(
        api: &PublishedApi,
        mut prepared: impl FnMut(&BackendPolicy) -> Option<Serving>,
    ) -> Result<Option<Box<Self>>, String> {
        if api.policies.is_empty() {
            return Ok(None);
        }
        let mut subjects: Vec<Subject> = Vec::new();
        let mut entries = Vec::with_capacity(api.policies.len());
        for policy in &api.policies {
            let entry = PolicyEntry::new(api, policy, &mut subjects, &mut prepared);
            entries.push(entry.ok_or_else(|| policy.name.clone())?);
        }
        Ok(Some(Box::new(Self {
            subjects: subjects.into(),
            entries: entries.into(),
        })))
    }

    /// What answers `call` of `api`, and the name of the policy that took it: the first
    /// policy whose conditions the call meets, else the API's own backend. Out of line: only
    /// APIs with policies run it.
    #[inline(never)]
    pub(crate) fn serving<'a>(
        &'a self,
        api: &'a ApiEntry,
        call: &CallFacts<'_, '_>,
        request_id: &RequestId,
    ) -> (&'a Serving, Option<&'a str>) {
        let mut reader = Reader {
            call,
            subjects: &self.subjects,
            values: SmallVec::from_elem(None, self.subjects.len()),
        };
        match self.entries.iter().find(|p| p.admits(&mut reader)) {
            Some(policy) => {
                policy.calls.increment(1);
                tracing::debug!(
                    request_id = request_id.as_str(),
                    policy = &*policy.name,
                    "backend policy chosen"
                );
                (&policy.serving, Some(&*policy.name))
            }
            None => (&api.serving, None),
        }
    }
}

impl PolicyEntry {
    fn new(
        api: &PublishedApi,
        policy: &BackendPolicy,
        subjects: &mut Vec<Subject>,
        prepared: &mut impl FnMut(&BackendPolicy) -> Option<Serving>,
    ) -> Option<Self> {
        let mut conditions = Vec::with_capacity(policy.conditions.len());
        for c in &policy.conditions {
            let subject = Subject::new(api, &c.subject)?;
            let index = match subjects.iter().position(|s| *s == subject) {
                Some(i) => i,
                None => {
                    subjects.push(subject);
                    subjects.len() - 1
                }
            };
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
            conditions.push(ConditionEntry {
                subject: index,
                test,
            });
        }
        Some(Self {
            name: policy.name.as_str().into(),
            calls: crate::meters::policy_calls(&api.api_id, &api.env_name, &policy.name),
            match_all: policy.match_all,
            conditions: conditions.into(),
            serving: prepared(policy)?,
        })
    }

    fn admits(&self, reader: &mut Reader<'_, '_, '_>) -> bool {
        let mut held = self.conditions.iter().map(|c| reader.holds(c));
        if self.match_all {
            held.all(|h| h)
        } else {
            held.any(|h| h)
        }
    }
}

impl Subject {
    /// `subject` of a condition of `api`; `None` for a header name that does not parse.
    fn new(api: &PublishedApi, subject: &ConditionSubject) -> Option<Self> {
        Some(match subject {
            ConditionSubject::Param { name, location } => {
                let default = api
                    .req_params
                    .iter()
                    .find(|p| p.name == *name && p.location == *location)
                    .and_then(|p| p.default_value.as_deref())
                    .map(Box::from);
                match location {
                    ParamLocation::Path => Self::PathParam(name.as_str().into(), default),
                    ParamLocation::Query => Self::Query(name.as_str().into(), default),
                    ParamLocation::Header => {
                        Self::Header(HeaderName::from_bytes(name.as_bytes()).ok()?, default)
                    }
                }
            }
            ConditionSubject::SourceIp => Self::SourceIp,
            ConditionSubject::Path => Self::Path,
            ConditionSubject::Method => Self::Method,
            ConditionSubject::Cookie(name) => Self::Cookie(name.as_str().into()),
        })
    }
}

/// Reads the subjects of one call, each at most once.
struct Reader<'c, 'a, 'r> {
    call: &'c CallFacts<'a, 'r>,
    subjects: &'c [Subject],
    /// Per subject: not read yet, or what the call has of it.
    values: SmallVec<[Option<Option<Cow<'c, str>>>; 4]>,
}

impl<'c, 'a: 'c, 'r: 'c> Reader<'c, 'a, 'r> {
    fn holds(&mut self, c: &ConditionEntry) -> bool {
        if let Test::Addresses(acl) = &c.test {
            return acl.allows(self.call.client);
        }
        let subjects = self.subjects;
        let value =
            self.values[c.subject].get_or_insert_with(|| read(self.call, &subjects[c.subject]));
        let Some(value) = value else {
            return false;
        };
        match &c.test {
            Test::Equals(v) => **v == **value,
            Test::OneOf(vs) => vs.iter().any(|v| **v == **value),
            Test::Pattern(re) => re.is_match(value),
            Test::Addresses(_) => false,
        }
    }
}

/// What `call` has of `subject`, borrowed from the request where it can be.
pub(crate) fn read<'c>(call: &'c CallFacts<'_, '_>, subject: &'c Subject) -> Option<Cow<'c, str>> {
    let or_default = |value: Option<Cow<'c, str>>, default: &'c Option<Box<str>>| {
        value.or_else(|| default.as_deref().map(Cow::Borrowed))
    };
    match subject {
        Subject::PathParam(name, default) => {
            or_default(call.route.param(name).map(decoded), default)
        }
        Subject::Query(name, default) => {
            or_default(crate::proxy::query_value(call.uri.query(), name), default)
        }
        Subject::Header(name, default) => {
            let value = call.headers.get(name).and_then(|v| v.to_str().ok());
            or_default(value.map(Cow::Borrowed), default)
        }
        Subject::Path => Some(decoded(call.uri.path())),
        Subject::Method => Some(Cow::Borrowed(call.method.as_str())),
        Subject::Cookie(name) => cookie(call.headers, name).map(Cow::Borrowed),
        Subject::SourceIp => None,
        Subject::ClientAddress => Some(Cow::Owned(call.client.to_string())),
        Subject::ServerName => Some(Cow::Borrowed(server_name(call.host))),
    }
}

/// `host` without its port (an IPv6 literal keeps its brackets).
fn server_name(host: &str) -> &str {
    match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => &host[..i],
        _ => host,
    }
}

/// `raw` percent-decoded (borrowed as it is when it has no escape, the common case).
fn decoded(raw: &str) -> Cow<'_, str> {
    if raw.contains('%') {
        percent_decode_str(raw).decode_utf8_lossy()
    } else {
        Cow::Borrowed(raw)
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

    #[test]
    fn the_server_name_leaves_out_the_port() {
        assert_eq!(server_name("api.example.com:8443"), "api.example.com");
        assert_eq!(server_name("api.example.com"), "api.example.com");
        assert_eq!(server_name("[::1]:443"), "[::1]");
        assert_eq!(server_name("[::1]"), "[::1]");
    }
}
