//! Huawei IAM access keys (`/v3.0/OS-CREDENTIAL/credentials`): an AK/SK pair signs management
//! calls with `SDK-HMAC-SHA256`. The secret is shown once, at creation, and sealed at rest.
//! Users manage their own keys; an admin manages anyone's; a foreign key is a 404 to others.

use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{not_found, ApiResult, Error};
use crate::AppState;
use apigw_domain::generate::{new_access_key_id, new_secret_key};
use apigw_domain::ApiError;
use apigw_store::{AccessKey, AccessKeyChange, AccessKeyStatus, NewAccessKey};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};
use std::collections::HashMap;

fn view(k: &AccessKey) -> Value {
    json!({
        "access": k.access,
        "user_id": k.user_id,
        "status": k.status.as_str(),
        "create_time": k.created_at.keystone(),
        "description": k.description,
    })
}

fn description(obj: &JsonObject) -> ApiResult<Option<String>> {
    match obj.opt_str("description")? {
        Some(d) if d.chars().count() > 255 || d.contains(['<', '>']) => {
            Err(Error(ApiError::invalid_body_field("description")))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

/// Finds a key the caller may manage; others' keys look missing to non-admins.
async fn owned_key(state: &AppState, caller: &Caller, access: &str) -> ApiResult<AccessKey> {
    let missing = || Error(ApiError::identity_not_found("credential", access));
    if access.is_empty() || access.len() > 128 {
        return Err(missing());
    }
    let key = state
        .store
        .get_access_key(access)
        .await?
        .ok_or_else(missing)?
        .key;
    if key.user_id != caller.user_id && !caller.is_admin() {
        return Err(missing());
    }
    Ok(key)
}

/// `POST /v3.0/OS-CREDENTIAL/credentials`: 201 with the secret (the only time it is shown).
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let c = body.req_object("credential")?;
    let user_id = c.req_str("user_id")?.to_owned();
    if user_id != caller.user_id && !caller.is_admin() {
        return Err(Error(ApiError::forbidden()));
    }
    let description = description(&c)?.unwrap_or_default();
    let secret = new_secret_key();
    let key = state
        .store
        .create_access_key(NewAccessKey {
            access: new_access_key_id(),
            secret: secret.clone(),
            user_id: user_id.clone(),
            description,
        })
        .await
        .map_err(|e| not_found(e, || ApiError::identity_not_found("user", &user_id)))?;
    tracing::info!(access_key = %key.access, %user_id, "access key created");
    let mut v = view(&key);
    v["secret"] = Value::String(secret);
    Ok((StatusCode::CREATED, Json(json!({ "credential": v }))))
}

/// `GET /v3.0/OS-CREDENTIAL/credentials?user_id=`: a user's keys (default: the caller's).
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let user_id = q
        .get("user_id")
        .cloned()
        .unwrap_or_else(|| caller.user_id.clone());
    if user_id != caller.user_id && !caller.is_admin() {
        return Err(Error(ApiError::forbidden()));
    }
    let keys = state.store.list_access_keys(&user_id).await?;
    Ok(Json(
        json!({ "credentials": keys.iter().map(view).collect::<Vec<_>>() }),
    ))
}

/// `GET /v3.0/OS-CREDENTIAL/credentials/{access}`.
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(access): Path<String>,
) -> ApiResult<Json<Value>> {
    let key = owned_key(&state, &caller, &access).await?;
    Ok(Json(json!({ "credential": view(&key) })))
}

/// `PUT /v3.0/OS-CREDENTIAL/credentials/{access}`: status `active`/`inactive`, description.
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(access): Path<String>,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    owned_key(&state, &caller, &access).await?;
    let c = body.req_object("credential")?;
    let status = match c.opt_str("status")? {
        None => None,
        Some(s) => Some(
            AccessKeyStatus::parse(s)
                .ok_or_else(|| Error(ApiError::invalid_body_field("status")))?,
        ),
    };
    let change = AccessKeyChange {
        status,
        description: description(&c)?,
    };
    let key = state
        .store
        .update_access_key(&access, change)
        .await
        .map_err(|e| not_found(e, || ApiError::identity_not_found("credential", &access)))?;
    tracing::info!(access_key = %access, status = key.status.as_str(), "access key updated");
    Ok(Json(json!({ "credential": view(&key) })))
}

/// `DELETE /v3.0/OS-CREDENTIAL/credentials/{access}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(access): Path<String>,
) -> ApiResult<StatusCode> {
    owned_key(&state, &caller, &access).await?;
    state.store.delete_access_key(&access).await?;
    tracing::info!(access_key = %access, "access key deleted");
    Ok(StatusCode::NO_CONTENT)
}
