//! The request parameters an API declares (`req_params`), enforced: a required one the caller
//! left out or sent empty, a `NUMBER` one that is not a number, or (with `valid_enable` 1) a
//! value outside its enumeration, range or length, ends the call with 400
//! `APIG.0106` before any quota is spent or backend called (Huawei's "Orchestration error.":
//! the frontend parameters do not meet their definition). A backend parameter mapped from a
//! request parameter the caller left out takes that parameter's `default_value` (see
//! [`default_of`]).
//!
//! Each parameter is read where it is declared (path, query or header), so a required header
//! is not satisfied by a query parameter of the same name. A query or header parameter with
//! `pass_through` 2 is withheld from the backend ([`withheld_query`], [`withhold_headers`]).
//! An API declaring nothing to enforce costs one emptiness test.

use crate::config::{ParamLocation, RequestParam};
use crate::errors;
use crate::proxy::query_value;
use crate::routes::RouteMatch;
use apigw_domain::ApiError;
use http::HeaderMap;
use percent_encoding::percent_decode_str;
use std::borrow::Cow;

/// Checks the caller's request against `params` (those with something to enforce).
pub(crate) fn check(
    params: &[RequestParam],
    route: &RouteMatch<'_, '_>,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    for param in params {
        let value = match param.location {
            ParamLocation::Path => route
                .param(&param.name)
                .map(|raw| percent_decode_str(raw).decode_utf8_lossy()),
            ParamLocation::Query => query_value(query, &param.name),
            ParamLocation::Header => headers
                .get(param.name.as_str())
                .map(|v| String::from_utf8_lossy(v.as_bytes())),
        };
        let refused = match value.as_deref().map(str::trim) {
            None | Some("") => param.required,
            Some(v) => (param.number && !is_number(v)) || !param.rules.admit(v),
        };
        if refused {
            tracing::debug!(
                param = %param.name,
                location = ?param.location,
                sent = value.is_some(),
                "request parameter does not meet its definition"
            );
            return Err(errors::orchestration_error());
        }
    }
    Ok(())
}

/// Whether `name` is a query parameter the API withholds from its backend (`pass_through` 2).
pub(crate) fn withheld_query(params: &[RequestParam], name: &str) -> bool {
    params
        .iter()
        .any(|p| !p.pass_through && p.location == ParamLocation::Query && p.name == name)
}

/// Removes from `headers` the header parameters the API withholds from its backend
/// (`pass_through` 2).
pub(crate) fn withhold_headers(params: &[RequestParam], headers: &mut HeaderMap) {
    for p in params {
        if !p.pass_through && p.location == ParamLocation::Header {
            headers.remove(p.name.as_str());
        }
    }
}

/// The default value of request parameter `name`, for a backend parameter mapped from it
/// that the caller left out.
pub(crate) fn default_of<'p>(params: &'p [RequestParam], name: &str) -> Option<Cow<'p, str>> {
    params
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.default_value.as_deref())
        .map(Cow::Borrowed)
}

/// A `NUMBER` value: a finite decimal number (`42`, `-1.5`, `2e3`).
fn is_number(value: &str) -> bool {
    value.parse::<f64>().is_ok_and(f64::is_finite)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ValueRules;

    #[test]
    fn numbers_are_finite_decimals() {
        for ok in ["0", "42", "-1.5", "+3", "2e3", ".5"] {
            assert!(is_number(ok), "{ok}");
        }
        for bad in ["", "abc", "1,5", "inf", "NaN", "0x10", "1e400"] {
            assert!(!is_number(bad), "{bad}");
        }
    }

    #[test]
    fn rules_bound_values_lengths_and_choices() {
        let range = ValueRules {
            min: Some(1),
            max: Some(10),
            ..Default::default()
        };
        assert!(range.admit("1") && range.admit("10") && range.admit("2.5"));
        assert!(!range.admit("0") && !range.admit("10.5") && !range.admit("ten"));
        let length = ValueRules {
            min_chars: Some(2),
            max_chars: Some(3),
            ..Default::default()
        };
        assert!(length.admit("ab") && length.admit("äöü"));
        assert!(!length.admit("a") && !length.admit("abcd"));
        let choice = ValueRules {
            one_of: vec!["asc".into(), "desc".into()],
            ..Default::default()
        };
        assert!(choice.admit("asc") && !choice.admit("ASC"));
        assert!(ValueRules::default().is_empty() && !choice.is_empty());
    }

    #[test]
    fn defaults_are_found_by_name() {
        let params = [RequestParam {
            name: "page".into(),
            location: ParamLocation::Query,
            required: false,
            number: true,
            default_value: Some("1".into()),
            rules: Default::default(),
            pass_through: true,
        }];
        assert_eq!(default_of(&params, "page").as_deref(), Some("1"));
        assert_eq!(default_of(&params, "size"), None);
    }
}
