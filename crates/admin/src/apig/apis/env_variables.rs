//! Environment variables (`/env-variables`): create, show, change, delete and list. A
//! variable is a value per API group and environment that the group's APIs name as `#name#`
//! in their backend address or path (see `apigw_domain::env_variable`); the data plane fills
//! them in when it routes, so a change reaches the APIs already published.

use super::publish::body_id;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::env_variable::{
    EnvVariable, VariableName, VariableValue, MAX_VARIABLES_PER_GROUP_ENV,
};
use apigw_domain::{ApiError, Page, ResourceId};
use apigw_store::env_variables::{EnvVariableError, EnvVariableFilter, NewEnvVariable};
use apigw_store::StoreError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type InstancePath = PathArgs<(String, String)>;
type VariablePath = PathArgs<(String, String, String)>;

/// The ids a call addressed, so its 404s name what was missing.
#[derive(Default)]
struct Addressed<'a> {
    instance: &'a str,
    group: &'a str,
    env: &'a str,
    variable: &'a str,
}

/// Maps a refusal of the variable store to its APIG error.
fn refusal(e: EnvVariableError, at: Addressed<'_>) -> Error {
    Error(match e {
        EnvVariableError::GroupNotFound => ApiError::api_group_not_found(at.group),
        EnvVariableError::EnvNotFound => ApiError::environment_not_found(at.env),
        EnvVariableError::NotFound => ApiError::env_variable_not_found(at.variable),
        EnvVariableError::Exists => ApiError::env_variable_exists(),
        EnvVariableError::LimitReached => ApiError::env_variable_limit(),
        EnvVariableError::Store(StoreError::NotFound) => ApiError::instance_not_found(at.instance),
        EnvVariableError::Store(other) => return other.into(),
    })
}

/// `POST /env-variables` with `group_id`, `env_id`, `variable_name`, `variable_value`: 201
/// with the variable. A name the group has in the environment already is 400 `APIG.3303`; a
/// 51st variable of the group in the environment is 403 `APIG.3106`.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let variable = NewEnvVariable {
        group_id: body_id(&body, "group_id")?.into_inner(),
        env_id: body_id(&body, "env_id")?.into_inner(),
        name: VariableName::parse(body.req_str("variable_name")?)?,
        value: VariableValue::parse(body.req_str("variable_value")?)?,
    };
    let (group, env) = (variable.group_id.clone(), variable.env_id.clone());
    let at = Addressed {
        instance: &instance_id,
        group: &group,
        env: &env,
        ..Addressed::default()
    };
    let created = state
        .store
        .create_env_variable(&scope, variable, MAX_VARIABLES_PER_GROUP_ENV)
        .await
        .map_err(|e| refusal(e, at))?;
    tracing::info!(
        variable_id = %created.id,
        group_id = %created.group_id,
        env_id = %created.env_id,
        name = created.name.as_str(),
        "environment variable created"
    );
    Ok((StatusCode::CREATED, Json(created.to_json())))
}

/// `GET /env-variables/{env_variable_id}`: the variable.
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, variable_id)): VariablePath,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let id = path_id(&variable_id, "env_variable_id")?;
    let at = Addressed {
        instance: &instance_id,
        variable: id.as_str(),
        ..Addressed::default()
    };
    let variable = state
        .store
        .env_variable(&scope, id.as_str())
        .await
        .map_err(|e| refusal(e, at))?;
    Ok(Json(variable.to_json()))
}

/// `PUT /env-variables/{env_variable_id}` with `variable_value`: 200 with the variable (its
/// name, group and environment stay).
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, variable_id)): VariablePath,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let id = path_id(&variable_id, "env_variable_id")?;
    let value = VariableValue::parse(body.req_str("variable_value")?)?;
    let at = Addressed {
        instance: &instance_id,
        variable: id.as_str(),
        ..Addressed::default()
    };
    let variable = state
        .store
        .update_env_variable(&scope, id.as_str(), value)
        .await
        .map_err(|e| refusal(e, at))?;
    tracing::info!(variable_id = %variable.id, name = variable.name.as_str(), "environment variable changed");
    Ok(Json(variable.to_json()))
}

/// `DELETE /env-variables/{env_variable_id}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, variable_id)): VariablePath,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let id = path_id(&variable_id, "env_variable_id")?;
    let at = Addressed {
        instance: &instance_id,
        variable: id.as_str(),
        ..Addressed::default()
    };
    state
        .store
        .delete_env_variable(&scope, id.as_str())
        .await
        .map_err(|e| refusal(e, at))?;
    tracing::info!(variable_id = %id, "environment variable deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /env-variables?group_id=...`: the group's variables, oldest first; filters `env_id`
/// and `variable_name` (substring unless `precise_search=variable_name`). `group_id` is
/// mandatory (400 `APIG.2012` without it).
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let group_id = ResourceId::parse(q.get("group_id").unwrap_or_default(), "group_id")?;
    let env_id = q
        .filter("env_id", 64)?
        .map(|e| ResourceId::parse(e, "env_id").map(ResourceId::into_inner))
        .transpose()?;
    let filter = EnvVariableFilter {
        group_id: group_id.into_inner(),
        env_id,
        name: q.filter("variable_name", 32)?.map(str::to_owned),
        name_exact: super::precise(&q, "variable_name")?,
    };
    let at = Addressed {
        instance: &instance_id,
        group: &filter.group_id,
        ..Addressed::default()
    };
    let (total, variables) = state
        .store
        .list_env_variables(&scope, &filter, page)
        .await
        .map_err(|e| refusal(e, at))?;
    Ok(Json(json!({
        "total": total,
        "size": variables.len(),
        "variables": variables.iter().map(EnvVariable::to_json).collect::<Vec<_>>(),
    })))
}
