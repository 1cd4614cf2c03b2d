//! App authorizations, app ACLs and app quotas (spec §1.12, §1.13, §3.5).

use crate::AppState;
use axum::Router;

/// Routes of authorizations, ACLs and quotas.
pub fn routes() -> Router<AppState> {
    Router::new()
}
