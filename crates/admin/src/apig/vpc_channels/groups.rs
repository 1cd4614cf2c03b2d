//! The backend server groups of a VPC channel: add or update by name, list, show, replace,
//! delete (`/vpc-channels/{id}/member-groups`).

use super::{group_info, groups_answer, of_channel};
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::member_group::{parse_member_groups, MemberGroupSpec};
use apigw_domain::{ApiError, Page};
use apigw_store::member_groups::MemberGroupFilter;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::Value;

type ChannelPath = PathArgs<(String, String, String)>;
type GroupPath = PathArgs<(String, String, String, String)>;

/// `POST /vpc-channels/{id}/member-groups`: 201 with every group of the channel; a group
/// with the name of an existing one updates it (APIG's rule).
pub async fn add(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, channel_id)): ChannelPath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let channel_id = path_id(&channel_id, "vpc_channel_id")?;
    let items = match body.0.get("member_groups") {
        Some(Value::Array(items)) => items.as_slice(),
        None | Some(Value::Null) => return Err(Error(ApiError::missing_field("member_groups"))),
        Some(_) => return Err(Error(ApiError::invalid_body_field("member_groups"))),
    };
    let given = parse_member_groups(items)?;
    let count = given.len();
    let groups = state
        .store
        .add_member_groups(&scope, channel_id.as_str(), given)
        .await
        .map_err(of_channel(&channel_id))?;
    tracing::info!(vpc_channel_id = %channel_id.as_str(), given = count, groups = groups.len(), "VPC channel backend server groups added or updated");
    let total = groups.len() as i64;
    Ok((StatusCode::CREATED, Json(groups_answer(&groups, total))))
}

/// `GET /vpc-channels/{id}/member-groups?offset&limit&member_group_name&precise_search
/// &dict_code`: oldest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, channel_id)): ChannelPath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let channel_id = path_id(&channel_id, "vpc_channel_id")?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let filter = MemberGroupFilter {
        name: q.filter("member_group_name", 64)?.map(str::to_owned),
        name_exact: crate::apig::apis::precise(&q, "member_group_name")?,
        dict_code: q.filter("dict_code", 64)?.map(str::to_owned),
    };
    let (total, groups) = state
        .store
        .list_member_groups(&scope, channel_id.as_str(), &filter, page)
        .await
        .map_err(of_channel(&channel_id))?;
    Ok(Json(groups_answer(&groups, total)))
}

/// `GET /vpc-channels/{id}/member-groups/{group_id}`: the group.
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, channel_id, group_id)): GroupPath,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let channel_id = path_id(&channel_id, "vpc_channel_id")?;
    let group_id = path_id(&group_id, "member_group_id")?;
    let group = state
        .store
        .get_member_group(&scope, channel_id.as_str(), group_id.as_str())
        .await
        .map_err(of_channel(&channel_id))?;
    Ok(Json(group_info(&group)))
}

/// `PUT /vpc-channels/{id}/member-groups/{group_id}`: 200 with the group, its settings now
/// the body's.
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, channel_id, group_id)): GroupPath,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let channel_id = path_id(&channel_id, "vpc_channel_id")?;
    let group_id = path_id(&group_id, "member_group_id")?;
    let spec = MemberGroupSpec::parse(&body.0)?;
    let group = state
        .store
        .update_member_group(&scope, channel_id.as_str(), group_id.as_str(), spec)
        .await
        .map_err(of_channel(&channel_id))?;
    tracing::info!(vpc_channel_id = %channel_id.as_str(), member_group_id = %group_id.as_str(), "VPC channel backend server group updated");
    Ok(Json(group_info(&group)))
}

/// `DELETE /vpc-channels/{id}/member-groups/{group_id}`: 204; its servers stay, without a
/// group.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, channel_id, group_id)): GroupPath,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let channel_id = path_id(&channel_id, "vpc_channel_id")?;
    let group_id = path_id(&group_id, "member_group_id")?;
    state
        .store
        .delete_member_group(&scope, channel_id.as_str(), group_id.as_str())
        .await
        .map_err(of_channel(&channel_id))?;
    tracing::info!(vpc_channel_id = %channel_id.as_str(), member_group_id = %group_id.as_str(), "VPC channel backend server group deleted");
    Ok(StatusCode::NO_CONTENT)
}
