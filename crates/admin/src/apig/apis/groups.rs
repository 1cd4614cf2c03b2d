//! API groups, spec §3.1: create, update, delete, get and list. Every instance has a `DEFAULT`
//! group that can be neither deleted nor renamed; a group is deleted only once it holds no API.

use super::views::group_info;
use super::{precise, refusal, Addressed};
use crate::apig::views::Precision;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::api::{GroupName, Remark, GROUP_REMARK_MAX};
use apigw_domain::{ApiError, Page};
use apigw_store::apis::{ApiGroup, GroupChange, GroupFilter, NewGroup};
use apigw_store::Scope;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type InstancePath = PathArgs<(String, String)>;
type GroupPath = PathArgs<(String, String, String)>;

fn remark(body: &JsonObject) -> ApiResult<Option<Remark>> {
    body.opt_str("remark")?
        .map(|r| Remark::parse(r, "remark", GROUP_REMARK_MAX))
        .transpose()
        .map_err(Error)
}

/// `POST /api-groups`: 201 with the new group.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let name = GroupName::parse(body.req_str("name")?)?;
    let remark = remark(&body)?.unwrap_or_else(Remark::empty);
    let group = create_in(&state, &scope, &instance_id, NewGroup { name, remark }).await?;
    Ok((
        StatusCode::CREATED,
        Json(group_info(
            &group,
            &[],
            Precision::Nanos,
            &state.config.region,
        )),
    ))
}

/// Creates `group` in the scope's instance and logs it: the create call's way, and an
/// import's.
pub(super) async fn create_in(
    state: &AppState,
    scope: &Scope,
    instance_id: &str,
    group: NewGroup,
) -> ApiResult<ApiGroup> {
    let at = Addressed {
        instance: instance_id,
        ..Addressed::default()
    };
    let group = state
        .store
        .create_group(scope, group)
        .await
        .map_err(|e| refusal(e, at))?;
    tracing::info!(group_id = %group.id, name = %group.name, "API group created");
    Ok(group)
}

/// `PUT /api-groups/{group_id}/sl-domain-access-settings`: 204; `sl_domain_access_enabled`
/// (mandatory) opens or closes the group's debugging subdomain on the data plane. A closed
/// one routes nowhere (404 `APIG.0101`); bound names and, for `DEFAULT`, IP addresses still
/// reach the group.
pub async fn set_sl_domain_access(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id)): GroupPath,
    body: JsonObject,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let group_id = path_id(&group_id, "group_id")?;
    let open = body
        .opt_bool("sl_domain_access_enabled")?
        .ok_or_else(|| Error(ApiError::missing_field("sl_domain_access_enabled")))?;
    let at = Addressed {
        instance: &instance_id,
        group: group_id.as_str(),
        ..Addressed::default()
    };
    state
        .store
        .set_group_sl_domain_access(&scope, group_id.as_str(), open)
        .await
        .map_err(|e| refusal(e, at))?;
    if open {
        tracing::info!(group_id = %group_id, "API group's debugging subdomain opened");
    } else {
        tracing::info!(group_id = %group_id, "API group's debugging subdomain closed");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api-groups/{group_id}`: 200 with the changed group; `name` is mandatory.
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id)): GroupPath,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let group_id = path_id(&group_id, "group_id")?;
    let change = GroupChange {
        name: GroupName::parse(body.req_str("name")?)?,
        remark: remark(&body)?,
    };
    let at = Addressed {
        instance: &instance_id,
        group: group_id.as_str(),
        ..Addressed::default()
    };
    let group = state
        .store
        .update_group(&scope, group_id.as_str(), change)
        .await
        .map_err(|e| refusal(e, at))?;
    tracing::info!(group_id = %group.id, "API group updated");
    let domains = state.store.group_domains(&scope, Some(&group.id)).await?;
    Ok(Json(group_info(
        &group,
        &domains,
        Precision::Nanos,
        &state.config.region,
    )))
}

/// `DELETE /api-groups/{group_id}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id)): GroupPath,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let group_id = path_id(&group_id, "group_id")?;
    let at = Addressed {
        instance: &instance_id,
        group: group_id.as_str(),
        ..Addressed::default()
    };
    state
        .store
        .delete_group(&scope, group_id.as_str())
        .await
        .map_err(|e| refusal(e, at))?;
    tracing::info!(group_id = %group_id, "API group deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api-groups/{group_id}`.
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id)): GroupPath,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let group_id = path_id(&group_id, "group_id")?;
    let at = Addressed {
        instance: &instance_id,
        group: group_id.as_str(),
        ..Addressed::default()
    };
    let group = state
        .store
        .get_group(&scope, group_id.as_str())
        .await
        .map_err(|e| refusal(e, at))?
        .ok_or_else(|| Error(ApiError::api_group_not_found(group_id.as_str())))?;
    let domains = state.store.group_domains(&scope, Some(&group.id)).await?;
    Ok(Json(group_info(
        &group,
        &domains,
        Precision::Seconds,
        &state.config.region,
    )))
}

/// `GET /api-groups`: filters `id`, `name` (substring unless `precise_search=name`); `DEFAULT`
/// first, then newest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let filter = GroupFilter {
        id: q.filter("id", 64)?.map(str::to_owned),
        name: q.filter("name", 255)?.map(str::to_owned),
        name_exact: precise(&q, "name")?,
    };
    let at = Addressed {
        instance: &instance_id,
        ..Addressed::default()
    };
    let (total, groups) = state
        .store
        .list_groups(&scope, &filter, page)
        .await
        .map_err(|e| refusal(e, at))?;
    let domains = state.store.group_domains(&scope, None).await?;
    let region = &state.config.region;
    Ok(Json(json!({
        "total": total,
        "size": groups.len(),
        "groups": groups.iter().map(|g| group_info(g, &domains, Precision::Seconds, region)).collect::<Vec<_>>(),
    })))
}
