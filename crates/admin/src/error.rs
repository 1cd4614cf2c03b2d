//! Turning domain and store errors into HTTP answers in APIG's shape.

use apigw_domain::ApiError;
use apigw_store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An [`ApiError`] ready to be sent: `{"error_code","error_msg"}` with its status.
#[derive(Debug)]
pub struct Error(pub ApiError);

/// Result type of handlers.
pub type ApiResult<T> = Result<T, Error>;

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // A refused signature's message carries the canonical request, whose signed headers may
        // hold credentials (X-Security-Token): the caller gets it, the log does not.
        let logged = match self.0.message.split_once("canonicalRequest:") {
            Some((head, _)) => format!("{head}canonicalRequest:<omitted>"),
            None => self.0.message.to_string(),
        };
        if status.is_server_error() {
            tracing::error!(code = self.0.code, error_msg = %logged, "request failed");
        } else {
            tracing::info!(code = self.0.code, error_msg = %logged, "request refused");
        }
        let body = serde_json::json!({
            "error_code": self.0.code,
            "error_msg": self.0.message,
        });
        (status, Json(body)).into_response()
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl From<StoreError> for Error {
    /// Maps failures that mean the same everywhere. `NotFound` depends on what was addressed,
    /// so handlers map it first with [`not_found`]; one that gets here is a bug, not a 404.
    fn from(e: StoreError) -> Self {
        Self(match e {
            StoreError::AppNameExists => ApiError::app_name_exists(),
            StoreError::AppKeyExists => ApiError::app_key_exists(),
            StoreError::AppCodeExists => ApiError::app_code_exists(),
            StoreError::AppLimitReached => ApiError::app_limit_reached(),
            StoreError::AppCodeLimitReached => ApiError::app_code_limit_reached(),
            StoreError::Unavailable(detail) => {
                tracing::error!(%detail, "store unavailable");
                ApiError::store_unavailable()
            }
            StoreError::Corrupt(detail) => {
                tracing::error!(%detail, "stored data unreadable");
                ApiError::internal()
            }
            StoreError::NotFound | StoreError::Duplicate => {
                tracing::error!(error = %e, "unmapped store answer");
                ApiError::internal()
            }
        })
    }
}

/// Maps a store `NotFound` to the given 404 and everything else as usual.
pub fn not_found(e: StoreError, missing: impl FnOnce() -> ApiError) -> Error {
    match e {
        StoreError::NotFound => Error(missing()),
        other => other.into(),
    }
}
