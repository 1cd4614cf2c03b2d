//! The request fields the phases read, found in one pass over the request's header map.
//!
//! Exists because each `HeaderMap::get` hashes the name and probes the map, and the phases
//! asked for one field after another (`X-Apig-Mode`, `Host`, `X-Stage`, `Content-Length`, the
//! credential, `X-Forwarded-For`), besides two walks of their own (the size limit, the
//! hop-by-hop check). A request has few fields: one walk over them answers every question.
//! Where a name occurs twice, the first value counts, as `HeaderMap::get` gives it.

use crate::pipeline::{DEBUG_MODE_HEADER, STAGE_HEADER};
use crate::proxy::{
    API_KEY_HEADER, APP_CODE_HEADER, APP_SECRET_HEADER, APP_SECRET_KEY_HEADER, FORWARDED_FOR,
};
use crate::upstream;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, EXPECT, HOST};
use http::{HeaderMap, HeaderValue};

/// What the phases read from a request's fields.
#[derive(Debug, Default)]
pub(crate) struct RequestFields<'h> {
    /// Names and values together, in bytes (for the 494 limit).
    pub bytes: usize,
    pub host: Option<&'h HeaderValue>,
    /// `X-Stage`.
    pub stage: Option<&'h HeaderValue>,
    pub content_length: Option<&'h HeaderValue>,
    /// `X-Apig-AppCode`.
    pub app_code: Option<&'h HeaderValue>,
    pub authorization: Option<&'h HeaderValue>,
    /// `X-HW-ID` (the AppKey of the `app_secret` mode).
    pub hw_id: Option<&'h HeaderValue>,
    /// `X-HW-AppKey` (the AppSecret of the `app_secret` mode).
    pub hw_app_key: Option<&'h HeaderValue>,
    /// `apikey` (the AppKey of the `app_api_key` mode).
    pub api_key: Option<&'h HeaderValue>,
    /// The caller's `X-Forwarded-For` (extended, not started, on the backend request).
    pub forwarded_for: Option<&'h HeaderValue>,
    /// `X-Apig-Mode: debug` asks for the debugging headers.
    pub debug: bool,
    /// What forwarding must take out.
    pub forwarding: Forwarding,
}

/// What the backend request has to change in the caller's fields.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Forwarding {
    /// A hop-by-hop field (RFC 9110 §7.6.1) is among them.
    pub hop_by_hop: bool,
    /// `Authorization` is among them.
    pub authorization: bool,
    /// `X-Apig-AppCode` is among them.
    pub app_code: bool,
    /// `X-HW-ID` or `X-HW-AppKey` is among them.
    pub app_secret: bool,
    /// `apikey` is among them (removed only where the `app_api_key` mode makes it a
    /// credential: elsewhere it may be the backend's own field).
    pub api_key: bool,
    /// `Expect` is among them.
    pub expect: bool,
}

impl<'h> RequestFields<'h> {
    /// Reads `headers` once.
    pub fn of(headers: &'h HeaderMap) -> Self {
        let mut fields = Self::default();
        let mut mode = None;
        let first = |slot: &mut Option<&'h HeaderValue>, value: &'h HeaderValue| {
            slot.get_or_insert(value);
        };
        for (name, value) in headers {
            fields.bytes += name.as_str().len() + value.len();
            let forwarding = &mut fields.forwarding;
            if name == HOST {
                first(&mut fields.host, value);
            } else if name == CONTENT_LENGTH {
                first(&mut fields.content_length, value);
            } else if name == AUTHORIZATION {
                first(&mut fields.authorization, value);
                forwarding.authorization = true;
            } else if name == APP_CODE_HEADER {
                first(&mut fields.app_code, value);
                forwarding.app_code = true;
            } else if name == EXPECT {
                forwarding.expect = true;
            } else if name == STAGE_HEADER {
                first(&mut fields.stage, value);
            } else if name == DEBUG_MODE_HEADER {
                first(&mut mode, value);
            } else if name == FORWARDED_FOR {
                first(&mut fields.forwarded_for, value);
            } else if name == APP_SECRET_KEY_HEADER {
                first(&mut fields.hw_id, value);
                forwarding.app_secret = true;
            } else if name == APP_SECRET_HEADER {
                first(&mut fields.hw_app_key, value);
                forwarding.app_secret = true;
            } else if name == API_KEY_HEADER {
                first(&mut fields.api_key, value);
                forwarding.api_key = true;
            } else if upstream::is_hop_by_hop(name.as_str().as_bytes()) {
                forwarding.hop_by_hop = true;
            }
        }
        fields.debug = mode.is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"debug"));
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderName;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    #[test]
    fn one_pass_finds_what_get_would() {
        let headers = map(&[
            ("host", "api.example"),
            ("x-stage", "TEST"),
            ("x-stage", "OTHER"),
            ("content-length", "3"),
            ("x-apig-appcode", "code"),
            ("x-apig-mode", "DEBUG"),
            ("x-forwarded-for", "10.0.0.1"),
            ("x-hw-id", "key"),
            ("x-hw-appkey", "secret"),
            ("apikey", "key"),
            ("x-other", "v"),
        ]);
        let f = RequestFields::of(&headers);
        for (found, name) in [
            (f.host, "host"),
            (f.stage, "x-stage"),
            (f.content_length, "content-length"),
            (f.app_code, "x-apig-appcode"),
            (f.authorization, "authorization"),
            (f.forwarded_for, "x-forwarded-for"),
            (f.hw_id, "x-hw-id"),
            (f.hw_app_key, "x-hw-appkey"),
            (f.api_key, "apikey"),
        ] {
            assert_eq!(found, headers.get(name), "{name}");
        }
        assert!(f.debug);
        let total: usize = headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len())
            .sum();
        assert_eq!(f.bytes, total);
        let forwarding = f.forwarding;
        assert!(forwarding.app_code && forwarding.app_secret && forwarding.api_key);
        assert!(!forwarding.hop_by_hop && !forwarding.authorization && !forwarding.expect);

        let empty = HeaderMap::new();
        let f = RequestFields::of(&empty);
        assert!(f.host.is_none() && !f.debug && f.bytes == 0);
        let hop = map(&[("keep-alive", "5"), ("x-apig-mode", "on")]);
        let f = RequestFields::of(&hop);
        assert!(f.forwarding.hop_by_hop && !f.forwarding.app_code && !f.debug);
        let expect = map(&[("expect", "100-continue"), ("authorization", "x")]);
        let forwarding = RequestFields::of(&expect).forwarding;
        assert!(forwarding.expect && forwarding.authorization && !forwarding.app_code);
        assert!(!forwarding.app_secret);
        let secret_only = map(&[("x-hw-appkey", "secret")]);
        assert!(RequestFields::of(&secret_only).forwarding.app_secret);
    }
}
