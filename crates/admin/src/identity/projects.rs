//! Keystone projects. Creating one also creates its `default` gateway instance.

use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{not_found, ApiResult, Error};
use crate::AppState;
use apigw_domain::identity::IdentityName;
use apigw_domain::ApiError;
use apigw_store::{NewProject, Project, StoreError};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The Keystone view of a project.
pub fn view(state: &AppState, p: &Project) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "domain_id": p.domain_id,
        "description": p.description,
        "enabled": p.enabled,
        "parent_id": p.domain_id,
        "is_domain": false,
        "tags": [],
        "links": {"self": format!("{}/v3/projects/{}", state.config.public_url, p.id)},
    })
}

/// `POST /v3/projects` (admin): 201, 409 on a duplicate name.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_admin()?;
    let p = body.req_object("project")?;
    let name = IdentityName::parse(p.req_str("name")?, "name")?;
    let domain_id = p.opt_str("domain_id")?.unwrap_or("default").to_owned();
    let description = p.opt_str("description")?.unwrap_or_default();
    if description.chars().count() > 255 {
        return Err(Error(ApiError::invalid_body_field("description")));
    }
    let (project, instance) = state
        .store
        .create_project(NewProject {
            domain_id,
            name: name.as_str().to_owned(),
            description: description.to_owned(),
        })
        .await
        .map_err(|e| match e {
            StoreError::Duplicate => Error(ApiError::identity_conflict("project")),
            StoreError::NotFound => Error(ApiError::invalid_body_field("domain_id")),
            other => other.into(),
        })?;
    tracing::info!(project = %project.name, project_id = %project.id, instance_id = %instance.id, "project created with its default instance");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "project": view(&state, &project) })),
    ))
}

/// `GET /v3/projects`: all projects for an admin; for anyone else only the projects they hold a
/// role on (the SDKs resolve their project id this way).
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let all = state
        .store
        .list_projects(q.get("name").map(String::as_str))
        .await?;
    let mut out = Vec::with_capacity(all.len());
    for p in &all {
        if caller.is_admin()
            || !state
                .store
                .roles_of(&caller.user_id, &p.id)
                .await?
                .is_empty()
        {
            out.push(view(&state, p));
        }
    }
    Ok(Json(json!({
        "projects": out,
        "links": {"self": format!("{}/v3/projects", state.config.public_url), "previous": null, "next": null},
    })))
}

/// `GET /v3/projects/{id}`: for an admin, or a user with a role on it.
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(project_id): Path<String>,
) -> ApiResult<Json<Value>> {
    if !caller.is_admin()
        && state
            .store
            .roles_of(&caller.user_id, &project_id)
            .await?
            .is_empty()
    {
        return Err(Error(ApiError::forbidden()));
    }
    let project = state
        .store
        .get_project(&project_id)
        .await?
        .ok_or(StoreError::NotFound)
        .map_err(|e| not_found(e, || ApiError::identity_not_found("project", &project_id)))?;
    Ok(Json(json!({ "project": view(&state, &project) })))
}
