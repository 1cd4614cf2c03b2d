//! API groups, environments, APIs and publishing (spec §3.1–3.4).

use crate::AppState;
use axum::Router;

/// Routes of groups, environments, APIs and publishing.
pub fn routes() -> Router<AppState> {
    Router::new()
}
