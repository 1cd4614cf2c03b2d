//! Change notification: after every successful management write the data plane must see the new
//! state before the caller gets its answer, so a revocation (deleted AppCode, reset secret,
//! cancelled authorization) is in force for the very next API call.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::future::Future;
use std::pin::Pin;

use crate::AppState;

/// Something that must learn about configuration changes (the gateway's in-memory index).
pub trait ChangeListener: Send + Sync + 'static {
    /// Called after a write committed; the management answer waits until it returns.
    fn changed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The listener of a server without a data plane: nothing to refresh.
pub struct NoDataPlane;

impl ChangeListener for NoDataPlane {
    fn changed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::ready(()))
    }
}

/// Middleware: after a successful write under `/v1` or `/v2`, waits for the listener.
pub async fn notify(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let write = !matches!(*req.method(), http::Method::GET | http::Method::HEAD);
    let gateway_object =
        req.uri().path().starts_with("/v2/") || req.uri().path().starts_with("/v1/");
    let response = next.run(req).await;
    if write && gateway_object && response.status().is_success() {
        state.changes.changed().await;
    }
    response
}
