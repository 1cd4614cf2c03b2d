//! Keystone users. Passwords are hashed with Argon2id before they reach the store.

use super::password;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::AppState;
use apigw_domain::identity::{IdentityName, Password};
use apigw_domain::ApiError;
use apigw_store::{NewUser, StoreError, User};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The Keystone view of a user.
pub fn view(state: &AppState, u: &User) -> Value {
    json!({
        "id": u.id,
        "name": u.name,
        "domain_id": u.domain_id,
        "default_project_id": u.default_project_id,
        "enabled": u.enabled,
        "password_expires_at": null,
        "links": {"self": format!("{}/v3/users/{}", state.config.public_url, u.id)},
    })
}

/// `POST /v3/users` (admin): 201, 409 on a duplicate name.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_admin()?;
    let u = body.req_object("user")?;
    let name = IdentityName::parse(u.req_str("name")?, "name")?;
    let pw = Password::parse(u.req_str("password")?)?;
    let domain_id = u.opt_str("domain_id")?.unwrap_or("default").to_owned();
    let default_project_id = u.opt_str("default_project_id")?.map(str::to_owned);
    let password_hash = password::hash_async(pw.expose().to_owned()).await;
    let user = state
        .store
        .create_user(NewUser {
            domain_id,
            name: name.as_str().to_owned(),
            password_hash,
            default_project_id,
        })
        .await
        .map_err(|e| match e {
            StoreError::Duplicate => Error(ApiError::identity_conflict("user")),
            StoreError::NotFound => Error(ApiError::invalid_body_field("default_project_id")),
            other => other.into(),
        })?;
    tracing::info!(user = %user.name, user_id = %user.id, "user created");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "user": view(&state, &user) })),
    ))
}

/// `GET /v3/users` (admin).
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    caller.require_admin()?;
    let users = state
        .store
        .list_users(q.get("name").map(String::as_str))
        .await?;
    Ok(Json(json!({
        "users": users.iter().map(|u| view(&state, u)).collect::<Vec<_>>(),
        "links": {"self": format!("{}/v3/users", state.config.public_url), "previous": null, "next": null},
    })))
}

/// `GET /v3/users/{id}`: an admin, or the user itself.
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(user_id): Path<String>,
) -> ApiResult<Json<Value>> {
    if !caller.is_admin() && caller.user_id != user_id {
        return Err(Error(ApiError::forbidden()));
    }
    let user = state
        .store
        .get_user(&user_id)
        .await?
        .ok_or_else(|| Error(ApiError::identity_not_found("user", &user_id)))?;
    Ok(Json(json!({ "user": view(&state, &user.user) })))
}
