//! The backend servers of a VPC channel: add or update, replace, list, remove, enable and
//! disable (`/vpc-channels/{id}/members`).

use super::{members_answer, of_channel};
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::member_group::GroupName;
use apigw_domain::vpc_channel::{parse_members, MemberSpec};
use apigw_domain::{ApiError, Page, ResourceId};
use apigw_store::model::Scope;
use apigw_store::vpc_channels::VpcMemberFilter;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::Value;

type ChannelPath = PathArgs<(String, String, String)>;
type MemberPath = PathArgs<(String, String, String, String)>;

/// The scope, the channel id and the `members` of a body, read with the channel's member
/// type.
async fn members_of(
    state: &AppState,
    scope: &Scope,
    channel_id: &ResourceId,
    body: &JsonObject,
    required: bool,
) -> ApiResult<Vec<MemberSpec>> {
    let items = match body.0.get("members") {
        Some(Value::Array(items)) => items.as_slice(),
        None | Some(Value::Null) if !required => &[],
        None | Some(Value::Null) => return Err(Error(ApiError::missing_field("members"))),
        Some(_) => return Err(Error(ApiError::invalid_body_field("members"))),
    };
    let channel = state
        .store
        .get_vpc_channel(scope, channel_id.as_str())
        .await
        .map_err(of_channel(channel_id))?;
    Ok(parse_members(items, channel.spec.member_type)?)
}

/// `POST /vpc-channels/{id}/members`: 201 with every member of the channel; a member with
/// the host (or `ecs_id`) of an existing one updates it.
pub async fn add(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, channel_id)): ChannelPath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let channel_id = path_id(&channel_id, "vpc_channel_id")?;
    let given = members_of(&state, &scope, &channel_id, &body, true).await?;
    let count = given.len();
    let members = state
        .store
        .add_vpc_members(&scope, channel_id.as_str(), given)
        .await
        .map_err(of_channel(&channel_id))?;
    tracing::info!(vpc_channel_id = %channel_id.as_str(), given = count, members = members.len(), "VPC channel members added or updated");
    let total = members.len() as i64;
    Ok((StatusCode::CREATED, Json(members_answer(&members, total))))
}

/// `PUT /vpc-channels/{id}/members`: 200 with the channel's members, now exactly the body's;
/// with a `member_group_name`, only that group's members are replaced (those of the body in
/// other groups are ignored).
pub async fn replace(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, channel_id)): ChannelPath,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let channel_id = path_id(&channel_id, "vpc_channel_id")?;
    let within = match body.0.get("member_group_name") {
        None | Some(Value::Null) => None,
        Some(Value::String(g)) if g.is_empty() => None,
        Some(Value::String(g)) => Some(
            GroupName::parse(g)
                .ok_or_else(|| Error(ApiError::invalid_body_field("member_group_name")))?,
        ),
        Some(_) => return Err(Error(ApiError::invalid_body_field("member_group_name"))),
    };
    let given = members_of(&state, &scope, &channel_id, &body, false).await?;
    let members = state
        .store
        .replace_vpc_members(&scope, channel_id.as_str(), given, within.as_ref())
        .await
        .map_err(of_channel(&channel_id))?;
    let group = within.as_ref().map_or("", GroupName::as_str);
    tracing::info!(vpc_channel_id = %channel_id.as_str(), members = members.len(), member_group_name = group, "VPC channel members replaced");
    let total = members.len() as i64;
    Ok(Json(members_answer(&members, total)))
}

/// `GET /vpc-channels/{id}/members?offset&limit&name&precise_search&member_group_name
/// &member_group_id`: oldest first.
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
    let filter = VpcMemberFilter {
        name: q.filter("name", 255)?.map(str::to_owned),
        name_exact: crate::apig::apis::precise(&q, "name")?,
        group_name: q.filter("member_group_name", 64)?.map(str::to_owned),
        group_id: q.filter("member_group_id", 64)?.map(str::to_owned),
    };
    let (total, members) = state
        .store
        .list_vpc_members(&scope, channel_id.as_str(), &filter, page)
        .await
        .map_err(of_channel(&channel_id))?;
    Ok(Json(members_answer(&members, total)))
}

/// `DELETE /vpc-channels/{id}/members/{member_id}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, channel_id, member_id)): MemberPath,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let channel_id = path_id(&channel_id, "vpc_channel_id")?;
    let member_id = path_id(&member_id, "member_id")?;
    state
        .store
        .delete_vpc_member(&scope, channel_id.as_str(), member_id.as_str())
        .await
        .map_err(of_channel(&channel_id))?;
    tracing::info!(vpc_channel_id = %channel_id.as_str(), member_id = %member_id.as_str(), "VPC channel member removed");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /vpc-channels/{id}/members/batch-enable`: 204; the members take calls again.
pub async fn enable(
    state: State<AppState>,
    caller: Extension<Caller>,
    path: ChannelPath,
    body: JsonObject,
) -> ApiResult<StatusCode> {
    set_enabled(state, caller, path, body, true).await
}

/// `POST /vpc-channels/{id}/members/batch-disable`: 204; the members take no more calls.
pub async fn disable(
    state: State<AppState>,
    caller: Extension<Caller>,
    path: ChannelPath,
    body: JsonObject,
) -> ApiResult<StatusCode> {
    set_enabled(state, caller, path, body, false).await
}

async fn set_enabled(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, channel_id)): ChannelPath,
    body: JsonObject,
    enabled: bool,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let channel_id = path_id(&channel_id, "vpc_channel_id")?;
    let bad = || Error(ApiError::invalid_body_field("member_ids"));
    let ids = match body.0.get("member_ids") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.len() <= 200 => items
            .iter()
            .map(|v| {
                v.as_str()
                    .and_then(|s| ResourceId::parse(s, "member_ids").ok())
            })
            .map(|id| id.map(|id| id.as_str().to_owned()).ok_or_else(bad))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(bad()),
    };
    state
        .store
        .set_vpc_members_enabled(&scope, channel_id.as_str(), &ids, enabled)
        .await
        .map_err(of_channel(&channel_id))?;
    tracing::info!(vpc_channel_id = %channel_id.as_str(), members = ids.len(), enabled, "VPC channel members enabled or disabled");
    Ok(StatusCode::NO_CONTENT)
}
