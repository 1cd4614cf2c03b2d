//! The plug-ins attached to an API (APIG `plugins`), prepared for the request path: a CORS
//! plug-in (which origins, methods and headers browsers are told are allowed) and response
//! field rules (`set_resp_headers`). Values are turned into header names and values once, when
//! the snapshot is built; a request of an API without plug-ins pays one `Option` test.
//!
//! - A CORS plug-in takes the place of the API's own `cors` switch: the gateway answers the
//!   API's preflights with the plug-in's methods, headers and cache time, and marks its
//!   responses (its own refusals included) with the caller's origin where the plug-in allows
//!   it (`*` where it allows any). A backend's own `Access-Control-*` fields give way to the
//!   plug-in's. An origin the plug-in does not allow gets no CORS field at all, so the browser
//!   keeps the page from reading the answer.
//! - Response field rules run on every response of the API, in order, before the gateway adds
//!   its own fields (`X-Request-Id`, CORS's), which the rules cannot name.

use crate::body::GatewayBody;
use crate::upstream::BackendFields;
use apigw_domain::plugin::{
    CorsPlugin, HeaderAction, OriginList, ResponseHeaderRules, MAX_RESPONSE_HEADER_RULES,
};
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ORIGIN,
    VARY,
};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};

/// The plug-ins attached to one API in one environment, as the data plane applies them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiPlugins {
    /// The CORS plug-in, if one is attached.
    pub cors: Option<CorsPlugin>,
    /// The response field rules, if a `set_resp_headers` plug-in is attached.
    pub response_headers: Option<ResponseHeaderRules>,
    /// The circuit breaker, if a `breaker` plug-in is attached (see the `breaker` module).
    pub breaker: Option<crate::config::BreakerConfig>,
}

/// [`ApiPlugins`] prepared: header names and values built once.
#[derive(Debug)]
pub(crate) struct PreparedPlugins {
    cors: Option<CorsPolicy>,
    rules: Box<[Rule]>,
}

/// A CORS plug-in's answers.
#[derive(Debug)]
struct CorsPolicy {
    /// `None`: any origin (`*`); else the origins allowed.
    origins: Option<Box<[HeaderValue]>>,
    methods: HeaderValue,
    headers: Option<HeaderValue>,
    expose: Option<HeaderValue>,
    max_age: HeaderValue,
    credentials: bool,
}

/// One response field rule.
#[derive(Debug)]
struct Rule {
    name: HeaderName,
    value: HeaderValue,
    action: HeaderAction,
}

/// A comma-separated list as one field value; `None` for an empty list.
fn list_value(items: &[String]) -> Option<HeaderValue> {
    if items.is_empty() {
        return None;
    }
    HeaderValue::from_str(&items.join(",")).ok()
}

impl PreparedPlugins {
    /// Prepares `plugins`; `None` when none is attached. Values the domain let through are
    /// valid field values; one that is not is left out, with a warning.
    pub(crate) fn new(plugins: &ApiPlugins, api_id: &str) -> Option<Box<Self>> {
        if plugins.cors.is_none() && plugins.response_headers.is_none() {
            return None;
        }
        let cors = plugins.cors.as_ref().map(|c| CorsPolicy {
            origins: match &c.allow_origin {
                OriginList::Any => None,
                OriginList::Only(list) => Some(
                    list.iter()
                        .filter_map(|o| HeaderValue::from_str(o).ok())
                        .collect(),
                ),
            },
            methods: list_value(&c.allow_methods).unwrap_or_else(|| HeaderValue::from_static("")),
            headers: list_value(&c.allow_headers),
            expose: list_value(&c.expose_headers),
            max_age: HeaderValue::from(c.max_age),
            credentials: c.allow_credentials,
        });
        let rules = plugins
            .response_headers
            .iter()
            .flat_map(|r| r.0.iter())
            .take(MAX_RESPONSE_HEADER_RULES)
            .filter_map(|r| {
                let rule = HeaderName::from_bytes(r.name.as_bytes())
                    .ok()
                    .zip(HeaderValue::from_str(&r.value).ok())
                    .map(|(name, value)| Rule {
                        name,
                        value,
                        action: r.action,
                    });
                if rule.is_none() {
                    tracing::warn!(api = %api_id, field = %r.name, "response field rule unusable; left out");
                }
                rule
            })
            .collect();
        Some(Box::new(Self { cors, rules }))
    }

    /// Whether a CORS plug-in is attached (it answers the API's preflights).
    pub(crate) fn has_cors(&self) -> bool {
        self.cors.is_some()
    }

    /// The gateway's answer to a preflight for the API, from its CORS plug-in (call only
    /// where [`has_cors`](Self::has_cors)); [`respond`](Self::respond) adds the origin.
    pub(crate) fn preflight_answer(&self) -> Response<GatewayBody> {
        let mut response = Response::new(GatewayBody::Full(None));
        *response.status_mut() = StatusCode::OK;
        if let Some(cors) = &self.cors {
            let headers = response.headers_mut();
            headers.insert(ACCESS_CONTROL_ALLOW_METHODS, cors.methods.clone());
            if let Some(allowed) = &cors.headers {
                headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, allowed.clone());
            }
            headers.insert(ACCESS_CONTROL_MAX_AGE, cors.max_age.clone());
        }
        response
    }

    /// The request's `Origin`, kept for [`respond`](Self::respond) when a CORS plug-in
    /// allows only some origins (`None` otherwise: nothing to compare).
    pub(crate) fn origin_to_keep(&self, request: &HeaderMap) -> Option<Box<HeaderValue>> {
        self.cors
            .as_ref()
            .filter(|c| c.origins.is_some())
            .and_then(|_| request.get(ORIGIN))
            .map(|o| Box::new(o.clone()))
    }

    /// Applies the response field rules, then the CORS plug-in's marks (or, without one,
    /// the API's own `cors` switch's) to a response of the API. `origin` is the request's
    /// (see [`origin_to_keep`](Self::origin_to_keep)).
    pub(crate) fn respond(
        &self,
        response: &mut Response<GatewayBody>,
        api_cors: bool,
        origin: Option<&HeaderValue>,
    ) {
        // Outer `None`: no CORS plug-in; inner: what `Access-Control-Allow-Origin` says.
        let allowed = self.cors.as_ref().map(|c| c.allowed_origin(origin));
        if let GatewayBody::Upstream(body) = response.body_mut() {
            self.rewrite_fields(body.fields_mut(), allowed);
        } else {
            self.apply_rules(response.headers_mut());
            if let (Some(cors), Some(allowed)) = (&self.cors, allowed) {
                cors.mark_map(response.headers_mut(), allowed);
            }
        }
        if self.cors.is_none() && api_cors {
            crate::cors::mark(response);
        }
    }

    /// The rules and the CORS plug-in's marks on a proxied response's field lines, with one
    /// walk over them: the fields a rule replaces or deletes and the backend's CORS fields go
    /// (an `append` rule keeps their values), then the new fields are added in rule order.
    fn rewrite_fields(&self, fields: &mut BackendFields, allowed: Option<Option<HeaderValue>>) {
        let rules = &self.rules;
        let cors = allowed.is_some();
        let mut present = [false; MAX_RESPONSE_HEADER_RULES];
        let mut appended: [Vec<u8>; MAX_RESPONSE_HEADER_RULES] = Default::default();
        let rule_of = |name: &[u8]| {
            rules
                .iter()
                .position(|r| name.eq_ignore_ascii_case(r.name.as_str().as_bytes()))
        };
        fields.remove_where(
            |name| {
                if cors
                    && CORS_FIELDS
                        .iter()
                        .any(|f| name.eq_ignore_ascii_case(f.as_str().as_bytes()))
                {
                    return true;
                }
                rule_of(name).is_some_and(|i| {
                    present[i] = true;
                    !matches!(rules[i].action, HeaderAction::Skip | HeaderAction::Add)
                })
            },
            |name, value| {
                if let Some(i) = rule_of(name).filter(|&i| rules[i].action == HeaderAction::Append)
                {
                    appended[i].extend_from_slice(value);
                    appended[i].push(b',');
                }
            },
        );
        for (i, rule) in rules.iter().enumerate() {
            let value = rule.value.as_bytes();
            match rule.action {
                HeaderAction::Override | HeaderAction::Add => fields.push(&rule.name, value),
                HeaderAction::Append => {
                    appended[i].extend_from_slice(value);
                    fields.push(&rule.name, &appended[i]);
                }
                HeaderAction::Skip if !present[i] => fields.push(&rule.name, value),
                HeaderAction::Skip | HeaderAction::Delete => {}
            }
        }
        if let (Some(cors), Some(allowed)) = (&self.cors, allowed) {
            cors.push_fields(fields, allowed);
        }
    }

    /// The rules on the gateway's own answer's header map.
    fn apply_rules(&self, headers: &mut HeaderMap) {
        for rule in self.rules.iter() {
            match rule.action {
                HeaderAction::Override => {
                    headers.insert(rule.name.clone(), rule.value.clone());
                }
                HeaderAction::Append => {
                    let mut joined: Vec<u8> = Vec::new();
                    for v in headers.get_all(&rule.name) {
                        joined.extend_from_slice(v.as_bytes());
                        joined.push(b',');
                    }
                    joined.extend_from_slice(rule.value.as_bytes());
                    if let Ok(v) = HeaderValue::from_bytes(&joined) {
                        headers.insert(rule.name.clone(), v);
                    }
                }
                HeaderAction::Delete => {
                    headers.remove(&rule.name);
                }
                HeaderAction::Skip if headers.contains_key(&rule.name) => {}
                HeaderAction::Skip | HeaderAction::Add => {
                    headers.append(rule.name.clone(), rule.value.clone());
                }
            }
        }
    }
}

/// The CORS fields a plug-in answers with; the backend's own give way to them.
const CORS_FIELDS: [HeaderName; 3] = [
    ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS,
    ACCESS_CONTROL_ALLOW_CREDENTIALS,
];

impl CorsPolicy {
    /// The `Access-Control-Allow-Origin` for a request from `origin`: `*` when any origin
    /// is allowed, the origin itself when it is among those allowed, else none.
    fn allowed_origin(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        match &self.origins {
            None => Some(HeaderValue::from_static("*")),
            Some(list) => {
                let origin = origin?;
                list.iter()
                    .any(|o| o.as_bytes().eq_ignore_ascii_case(origin.as_bytes()))
                    .then(|| origin.clone())
            }
        }
    }

    /// Adds the plug-in's fields to a proxied response's lines (the backend's own CORS
    /// fields already removed): `Vary: Origin` where the answer depends on the origin, and the
    /// allowed origin with what goes with it.
    fn push_fields(&self, fields: &mut BackendFields, allowed: Option<HeaderValue>) {
        if self.origins.is_some() {
            fields.push(&VARY, b"Origin");
        }
        let Some(allowed) = allowed else { return };
        fields.push(&ACCESS_CONTROL_ALLOW_ORIGIN, allowed.as_bytes());
        if let Some(expose) = &self.expose {
            fields.push(&ACCESS_CONTROL_EXPOSE_HEADERS, expose.as_bytes());
        }
        if self.credentials {
            fields.push(&ACCESS_CONTROL_ALLOW_CREDENTIALS, b"true");
        }
    }

    /// The same on the gateway's own answer's header map.
    fn mark_map(&self, headers: &mut HeaderMap, allowed: Option<HeaderValue>) {
        for name in &CORS_FIELDS {
            headers.remove(name);
        }
        if self.origins.is_some() {
            headers.append(VARY, HeaderValue::from_static("Origin"));
        }
        let Some(allowed) = allowed else { return };
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        if let Some(expose) = &self.expose {
            headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, expose.clone());
        }
        if self.credentials {
            headers.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apigw_domain::plugin::{HeaderRule, PluginContent, PluginType};

    fn cors(content: &str) -> CorsPlugin {
        match PluginContent::parse(PluginType::Cors, content).unwrap() {
            PluginContent::Cors(c) => c,
            _ => unreachable!(),
        }
    }

    fn rules(list: &[(&str, &str, HeaderAction)]) -> ResponseHeaderRules {
        ResponseHeaderRules(
            list.iter()
                .map(|(name, value, action)| HeaderRule {
                    name: (*name).to_owned(),
                    value: (*value).to_owned(),
                    action: *action,
                })
                .collect(),
        )
    }

    fn prepared(plugins: ApiPlugins) -> Box<PreparedPlugins> {
        PreparedPlugins::new(&plugins, "api").unwrap()
    }

    fn full(fields: &[(&'static str, &'static str)]) -> Response<GatewayBody> {
        let mut r = Response::new(GatewayBody::full("{}"));
        for (k, v) in fields {
            r.headers_mut()
                .append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        r
    }

    #[test]
    fn no_plugin_prepares_nothing() {
        assert!(PreparedPlugins::new(&ApiPlugins::default(), "api").is_none());
    }

    #[test]
    fn response_field_rules_act_on_the_gateway_s_own_answers() {
        let p = prepared(ApiPlugins {
            breaker: None,
            cors: None,
            response_headers: Some(rules(&[
                ("x-over", "new", HeaderAction::Override),
                ("x-app", "c", HeaderAction::Append),
                ("x-gone", "", HeaderAction::Delete),
                ("x-kept", "ignored", HeaderAction::Skip),
                ("x-skip-new", "s", HeaderAction::Skip),
                ("x-add", "2", HeaderAction::Add),
            ])),
        });
        let mut r = full(&[
            ("x-over", "old1"),
            ("x-over", "old2"),
            ("x-app", "a"),
            ("x-app", "b"),
            ("x-gone", "1"),
            ("x-gone", "2"),
            ("x-kept", "backend"),
            ("x-add", "1"),
        ]);
        p.respond(&mut r, false, None);
        let h = r.headers();
        let all =
            |n: &str| -> Vec<&str> { h.get_all(n).iter().map(|v| v.to_str().unwrap()).collect() };
        assert_eq!(all("x-over"), ["new"]);
        assert_eq!(all("x-app"), ["a,b,c"]);
        assert!(all("x-gone").is_empty());
        assert_eq!(all("x-kept"), ["backend"]);
        assert_eq!(all("x-skip-new"), ["s"]);
        assert_eq!(all("x-add"), ["1", "2"]);
        assert!(h.get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        // Without a CORS plug-in the API's own switch still marks.
        let mut r = full(&[]);
        p.respond(&mut r, true, None);
        assert_eq!(r.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }

    #[test]
    fn a_cors_plugin_answers_preflights_and_marks_allowed_origins_only() {
        let p = prepared(ApiPlugins {
            breaker: None,
            cors: Some(cors(
                r#"{"allow_origin":"https://app.example","allow_methods":"GET,PUT",
                "allow_headers":"X-Apig-AppCode","expose_headers":"X-Request-Id",
                "max_age":600,"allow_credentials":true}"#,
            )),
            response_headers: None,
        });
        assert!(p.has_cors());
        let pre = p.preflight_answer();
        assert_eq!(pre.headers()[ACCESS_CONTROL_ALLOW_METHODS], "GET,PUT");
        assert_eq!(
            pre.headers()[ACCESS_CONTROL_ALLOW_HEADERS],
            "X-Apig-AppCode"
        );
        assert_eq!(pre.headers()[ACCESS_CONTROL_MAX_AGE], "600");
        let mut request = HeaderMap::new();
        request.insert(ORIGIN, HeaderValue::from_static("https://APP.example"));
        let origin = p.origin_to_keep(&request).unwrap();
        let mut r = full(&[("access-control-allow-origin", "*")]);
        p.respond(&mut r, false, Some(&origin));
        let h = r.headers();
        assert_eq!(h[ACCESS_CONTROL_ALLOW_ORIGIN], "https://APP.example");
        assert_eq!(h.get_all(ACCESS_CONTROL_ALLOW_ORIGIN).iter().count(), 1);
        assert_eq!(h[ACCESS_CONTROL_EXPOSE_HEADERS], "X-Request-Id");
        assert_eq!(h[ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert_eq!(h[VARY], "Origin");
        // Another origin, or none: no CORS field, the backend's removed.
        let other = HeaderValue::from_static("https://evil.example");
        for origin in [Some(&other), None] {
            let mut r = full(&[("access-control-allow-origin", "*")]);
            p.respond(&mut r, true, origin);
            assert!(r.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
            assert!(r.headers().get(ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none());
        }
        // Any origin: `*`, and no origin kept.
        let any = prepared(ApiPlugins {
            breaker: None,
            cors: Some(cors("{}")),
            response_headers: None,
        });
        assert!(any.origin_to_keep(&request).is_none());
        let mut r = full(&[]);
        any.respond(&mut r, false, None);
        assert_eq!(r.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(r.headers().get(VARY).is_none());
        assert!(any
            .preflight_answer()
            .headers()
            .get(ACCESS_CONTROL_ALLOW_HEADERS)
            .is_none());
    }
}
