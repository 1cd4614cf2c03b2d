//! A handler that panics (a bug) answers 500 `APIG.9999` in APIG's shape, with its request id,
//! and is logged, instead of the connection closing without an answer. Nothing of the panic's
//! message reaches the caller: it may quote data of the request.

use crate::error::Error;
use apigw_domain::ApiError;
use axum::response::{IntoResponse, Response};
use std::any::Any;
use tower_http::catch_panic::CatchPanicLayer;

/// The answer to a panicked handler, logged with the panic's message.
fn answer(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    tracing::error!(panic = %message, "a management handler panicked; answered 500");
    Error(ApiError::internal()).into_response()
}

/// The layer that catches handlers' panics (inside the request id layer, so the answer
/// carries the request's id).
pub fn layer() -> CatchPanicLayer<fn(Box<dyn Any + Send + 'static>) -> Response> {
    CatchPanicLayer::custom(answer as fn(Box<dyn Any + Send + 'static>) -> Response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use axum::Router;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_in_apig_shape() {
        let app = Router::new()
            .route(
                "/boom",
                get(|| async {
                    let secret = "AppSecret-abc";
                    panic!("bug while handling {secret}");
                    #[allow(unreachable_code)]
                    ""
                }),
            )
            .layer(layer());
        let response = app
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 500);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error_code"], "APIG.9999");
        assert!(
            !body.to_string().contains("AppSecret"),
            "the panic's text stays in the log: {body}"
        );
    }
}
