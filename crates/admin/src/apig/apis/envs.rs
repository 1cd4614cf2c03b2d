//! Environments, spec §3.2: create, update, delete, get and list. The built-in `RELEASE`
//! (`DEFAULT_ENVIRONMENT_RELEASE_ID`) is always listed and can be neither deleted nor changed;
//! an instance holds at most [`MAX_ENVIRONMENTS`] others; an environment is deleted only once
//! no API is published in it.

use super::views::env_info;
use super::{precise, refusal, Addressed};
use crate::apig::views::Precision;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::api::{EnvName, Remark, MAX_ENVIRONMENTS, REMARK_MAX};
use apigw_domain::{ApiError, Page};
use apigw_store::apis::{EnvChange, EnvFilter, NewEnvironment};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type InstancePath = PathArgs<(String, String)>;
type EnvPath = PathArgs<(String, String, String)>;

fn remark(body: &JsonObject) -> ApiResult<Option<Remark>> {
    body.opt_str("remark")?
        .map(|r| Remark::parse(r, "remark", REMARK_MAX))
        .transpose()
        .map_err(Error)
}

/// `POST /envs`: 201 with the new environment.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let env = NewEnvironment {
        name: EnvName::parse(body.req_str("name")?)?,
        remark: remark(&body)?.unwrap_or_else(Remark::empty),
    };
    let at = Addressed {
        instance: &instance_id,
        ..Addressed::default()
    };
    let env = state
        .store
        .create_environment(&scope, env, MAX_ENVIRONMENTS)
        .await
        .map_err(|e| refusal(e, at))?;
    tracing::info!(env_id = %env.id, name = %env.name, "environment created");
    Ok((StatusCode::CREATED, Json(env_info(&env, Precision::Nanos))))
}

/// `PUT /envs/{env_id}`: 200 with the changed environment; `name` is mandatory.
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, env_id)): EnvPath,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let env_id = path_id(&env_id, "env_id")?;
    let change = EnvChange {
        name: EnvName::parse(body.req_str("name")?)?,
        remark: remark(&body)?,
    };
    let at = Addressed {
        instance: &instance_id,
        env: env_id.as_str(),
        ..Addressed::default()
    };
    let env = state
        .store
        .update_environment(&scope, env_id.as_str(), change)
        .await
        .map_err(|e| refusal(e, at))?;
    tracing::info!(env_id = %env.id, "environment updated");
    Ok(Json(env_info(&env, Precision::Nanos)))
}

/// `DELETE /envs/{env_id}`: 204; app authorizations made for it go with it.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, env_id)): EnvPath,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let env_id = path_id(&env_id, "env_id")?;
    let at = Addressed {
        instance: &instance_id,
        env: env_id.as_str(),
        ..Addressed::default()
    };
    state
        .store
        .delete_environment(&scope, env_id.as_str())
        .await
        .map_err(|e| refusal(e, at))?;
    tracing::info!(env_id = %env_id, "environment deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /envs/{env_id}` (not in Huawei's reference; answers like one item of the list).
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, env_id)): EnvPath,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let env_id = path_id(&env_id, "env_id")?;
    let at = Addressed {
        instance: &instance_id,
        env: env_id.as_str(),
        ..Addressed::default()
    };
    let env = state
        .store
        .get_environment(&scope, env_id.as_str())
        .await
        .map_err(|e| refusal(e, at))?
        .ok_or_else(|| Error(ApiError::environment_not_found(env_id.as_str())))?;
    Ok(Json(env_info(&env, Precision::Seconds)))
}

/// `GET /envs`: filter `name` (substring unless `precise_search=name`); `RELEASE` first, then
/// oldest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let filter = EnvFilter {
        name: q.filter("name", 64)?.map(str::to_owned),
        name_exact: precise(&q, "name")?,
    };
    let at = Addressed {
        instance: &instance_id,
        ..Addressed::default()
    };
    let (total, envs) = state
        .store
        .list_environments(&scope, &filter, page)
        .await
        .map_err(|e| refusal(e, at))?;
    Ok(Json(json!({
        "total": total,
        "size": envs.len(),
        "envs": envs.iter().map(|e| env_info(e, Precision::Seconds)).collect::<Vec<_>>(),
    })))
}
