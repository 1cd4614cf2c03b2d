//! The three fixed roles and their assignment to users on projects.

use crate::auth::Caller;
use crate::error::{not_found, ApiResult, Error};
use crate::AppState;
use apigw_domain::identity::Role;
use apigw_domain::ApiError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

/// `GET /v3/roles` (admin): `admin`, `member`, `reader`.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Value>> {
    caller.require_admin()?;
    let roles: Vec<Value> = Role::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.as_str(),
                "name": r.as_str(),
                "domain_id": null,
                "links": {"self": format!("{}/v3/roles/{}", state.config.public_url, r.as_str())},
            })
        })
        .collect();
    Ok(Json(
        json!({ "roles": roles, "links": {"self": format!("{}/v3/roles", state.config.public_url), "previous": null, "next": null} }),
    ))
}

/// `PUT /v3/projects/{project_id}/users/{user_id}/roles/{role_id}` (admin): 204.
pub async fn assign(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((project_id, user_id, role_id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    caller.require_admin()?;
    let role = Role::parse(&role_id)
        .ok_or_else(|| Error(ApiError::identity_not_found("role", &role_id)))?;
    state
        .store
        .assign_role(&project_id, &user_id, role)
        .await
        .map_err(|e| {
            not_found(e, || {
                ApiError::identity_not_found("project or user", &format!("{project_id}/{user_id}"))
            })
        })?;
    tracing::info!(%project_id, %user_id, role = %role, "role assigned");
    Ok(StatusCode::NO_CONTENT)
}
