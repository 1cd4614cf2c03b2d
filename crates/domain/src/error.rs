//! The APIG error catalogue: every error the gateway returns is one of these constructors, so a
//! code always travels with its documented HTTP status and wire message.

use std::borrow::Cow;
use std::fmt;

/// An error as APIG puts it on the wire: HTTP status, `error_code` and `error_msg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// APIG error code such as `APIG.3004`.
    pub code: &'static str,
    /// The human-readable `error_msg`.
    pub message: Cow<'static, str>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

fn invalid_value(field: &str) -> String {
    format!(
        "Invalid parameter value,parameterName:{field}. Please refer to the support documentation"
    )
}

impl ApiError {
    /// Builds an error from its three parts.
    pub fn new(status: u16, code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `APIG.2011`: a request-body field broke its rule (DESIGN: body fields use 2011).
    pub fn invalid_body_field(field: &str) -> Self {
        Self::new(400, "APIG.2011", invalid_value(field))
    }

    /// 400 `APIG.2012`: a path or query parameter broke its rule.
    pub fn invalid_param(field: &str) -> Self {
        Self::new(400, "APIG.2012", invalid_value(field))
    }

    /// 400 `APIG.2000`: the body is not the JSON object the call expects.
    pub fn malformed_body(detail: impl fmt::Display) -> Self {
        Self::new(400, "APIG.2000", format!("Parameter error. {detail}"))
    }

    /// 400 `APIG.2001`: a mandatory request parameter is absent.
    pub fn missing_field(field: &str) -> Self {
        Self::new(
            400,
            "APIG.2001",
            format!("The request parameters must be specified,parameterName:{field}"),
        )
    }

    /// 413 `APIG.0201`: the request body exceeds the configured limit.
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            413,
            "APIG.0201",
            format!("Request entity too large. The limit is {limit} bytes."),
        )
    }

    /// 404 `APIG.0101`: no management operation has this method and path.
    pub fn no_such_operation() -> Self {
        Self::new(404, "APIG.0101", "The API does not exist.")
    }

    /// 401 `APIG.1000`: no `X-Auth-Token` and no signature.
    pub fn token_missing() -> Self {
        Self::new(401, "APIG.1000", "The token is missing.")
    }

    /// 401 `APIG.1001`: the token is past its `expires_at`.
    pub fn token_expired() -> Self {
        Self::new(401, "APIG.1001", "Session expired. Please try again later.")
    }

    /// 401 `APIG.1002`: the token is unknown, malformed or revoked.
    pub fn token_invalid() -> Self {
        Self::new(
            401,
            "APIG.1002",
            "Incorrect token or token resolution failed",
        )
    }

    /// 403 `APIG.1005`: the caller may not do this here (other project, read-only role, not admin).
    pub fn forbidden() -> Self {
        Self::new(403, "APIG.1005", "No permissions to request this method")
    }

    /// 401 `APIG.0301`: an AK/SK signature was refused; `detail` says why, as Huawei does.
    pub fn aksk_refused(detail: impl fmt::Display) -> Self {
        Self::new(
            401,
            "APIG.0301",
            format!("Incorrect IAM authentication information: {detail}"),
        )
    }

    /// 404 `APIG.3004`: the app is not in this project and instance.
    pub fn app_not_found(id: &str) -> Self {
        Self::new(404, "APIG.3004", format!("App {id} does not exist"))
    }

    /// 404 `APIG.3082`: the AppCode is not on this app.
    pub fn app_code_not_found() -> Self {
        Self::new(404, "APIG.3082", "The AppCode does not exist.")
    }

    /// 404 `APIG.3030`: the instance is not in this project.
    pub fn instance_not_found(id: &str) -> Self {
        Self::new(
            404,
            "APIG.3030",
            format!("The instance does not exist;id:{id}"),
        )
    }

    /// 400 `APIG.3203`: another app of the instance has this name.
    pub fn app_name_exists() -> Self {
        Self::new(400, "APIG.3203", "The app name already exists.")
    }

    /// 400 `APIG.3310`: another app of the instance has this AppKey.
    pub fn app_key_exists() -> Self {
        Self::new(400, "APIG.3310", "The AppKey already exists.")
    }

    /// 400 `APIG.3350`: the AppCode value is taken in this instance (our code, see DESIGN).
    pub fn app_code_exists() -> Self {
        Self::new(400, "APIG.3350", "The AppCode already exists.")
    }

    /// 403 `APIG.3103`: the instance holds its maximum number of apps.
    pub fn app_limit_reached() -> Self {
        Self::new(
            403,
            "APIG.3103",
            "The number of apps exceeds the maximum allowed limit.",
        )
    }

    /// 403 `APIG.3131`: the app holds its maximum number of AppCodes.
    pub fn app_code_limit_reached() -> Self {
        Self::new(
            403,
            "APIG.3131",
            "The number of AppCodes exceeds the maximum allowed limit.",
        )
    }

    /// 404 for identity objects (Keystone calls): project, user, role or token not found.
    pub fn identity_not_found(kind: &str, id: &str) -> Self {
        Self::new(404, "APIG.3000", format!("Could not find {kind}: {id}."))
    }

    /// 409 for a duplicate identity name (Keystone calls).
    pub fn identity_conflict(kind: &str) -> Self {
        Self::new(
            409,
            "APIG.3200",
            format!("Conflict occurred attempting to store {kind} - Duplicate entry."),
        )
    }

    /// 401 for a failed password login (Keystone `POST /v3/auth/tokens`).
    pub fn login_failed() -> Self {
        Self::new(
            401,
            "APIG.1002",
            "The request you have made requires authentication.",
        )
    }

    /// 429 `APIG.0308`: too many failed authentications for this user or address.
    pub fn throttled() -> Self {
        Self::new(
            429,
            "APIG.0308",
            "The throttling threshold has been reached.",
        )
    }

    /// 503 `APIG.9999`: the store cannot be reached; writes fail fast and never look like 401/403.
    pub fn store_unavailable() -> Self {
        Self::new(
            503,
            "APIG.9999",
            "System error: the configuration store is unavailable",
        )
    }

    /// 500 `APIG.9999`: anything unexpected; details go to the log, not to the caller.
    pub fn internal() -> Self {
        Self::new(500, "APIG.9999", "System error")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_value_text_matches_huawei() {
        let e = ApiError::invalid_body_field("name");
        assert_eq!(e.status, 400);
        assert_eq!(e.code, "APIG.2011");
        assert_eq!(
            e.message,
            "Invalid parameter value,parameterName:name. Please refer to the support documentation"
        );
        assert_eq!(ApiError::invalid_param("app_id").code, "APIG.2012");
    }

    #[test]
    fn not_found_messages() {
        assert_eq!(
            ApiError::app_not_found("abc").message,
            "App abc does not exist"
        );
        assert_eq!(
            ApiError::instance_not_found("x").message,
            "The instance does not exist;id:x"
        );
    }
}
