//! Signature keys: create, list, replace, delete (`/signs`).

use super::{key_info, sign_error};
use crate::apig::views::Precision;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::ApiResult;
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::sign_key::SignKeyInput;
use apigw_domain::{ApiError, Page};
use apigw_store::sign_keys::SignKeyFilter;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type InstancePath = PathArgs<(String, String)>;
type KeyPath = PathArgs<(String, String, String)>;

/// `POST /signs`: 201 with the new key, its secret shown whole this once.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let input = SignKeyInput::parse(|field| body.0.get(field))?;
    let key = state
        .store
        .create_sign_key(&scope, input)
        .await
        .map_err(|e| sign_error(e, || ApiError::instance_not_found(&instance_id)))?;
    tracing::info!(sign_id = %key.id, name = %key.spec.name, sign_type = key.spec.sign_type.as_str(), "signature key created");
    let mut answer = key_info(&key, Precision::Nanos);
    answer["sign_secret"] = json!(key.spec.secret);
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `GET /signs?offset&limit&id&name&precise_search`: most recently changed first; `name`
/// matches a substring unless `precise_search` names it.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let filter = SignKeyFilter {
        id: q.filter("id", 64)?.map(str::to_owned),
        name: q.filter("name", 255)?.map(str::to_owned),
        name_exact: crate::apig::apis::precise(&q, "name")?,
    };
    let (total, keys) = state.store.list_sign_keys(&scope, &filter, page).await?;
    Ok(Json(json!({
        "total": total,
        "size": keys.len(),
        "signs": keys.iter().map(|k| {
            let mut v = key_info(k, Precision::Seconds);
            v["bind_num"] = json!(k.bind_num);
            v["ldapi_bind_num"] = json!(0);
            v
        }).collect::<Vec<_>>(),
    })))
}

/// `PUT /signs/{sign_id}`: 200 with the replaced key; the APIs bound to it are signed with the
/// new values from the next call.
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, sign_id)): KeyPath,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let sign_id = path_id(&sign_id, "sign_id")?;
    let input = SignKeyInput::parse(|field| body.0.get(field))?;
    let key = state
        .store
        .update_sign_key(&scope, sign_id.as_str(), input)
        .await
        .map_err(|e| sign_error(e, || ApiError::sign_key_not_found(sign_id.as_str())))?;
    tracing::info!(sign_id = %key.id, "signature key updated");
    let mut answer = key_info(&key, Precision::Nanos);
    answer["create_time"] = json!(crate::apig::authz::views::time(
        key.create_time,
        Precision::Seconds
    ));
    Ok(Json(answer))
}

/// `DELETE /signs/{sign_id}`: 204; a key still bound is refused.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, sign_id)): KeyPath,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let sign_id = path_id(&sign_id, "sign_id")?;
    state
        .store
        .delete_sign_key(&scope, sign_id.as_str())
        .await
        .map_err(|e| sign_error(e, || ApiError::sign_key_not_found(sign_id.as_str())))?;
    tracing::info!(%sign_id, "signature key deleted");
    Ok(StatusCode::NO_CONTENT)
}
