//! VPC channels: create, list, show, replace, delete, and the health check
//! (`/vpc-channels`, `/vpc-channels/{id}/health-config`).

use super::{channel_details, channel_error, channel_info, health_info, of_channel};
use crate::apig::views::Precision;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::vpc_channel::{ChannelInput, HealthCheck};
use apigw_domain::{ApiError, Page};
use apigw_store::vpc_channels::VpcChannelFilter;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type InstancePath = PathArgs<(String, String)>;
type ChannelPath = PathArgs<(String, String, String)>;

/// `POST /vpc-channels`: 201 with the new channel (without its members, as APIG answers).
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let input = ChannelInput::parse(&body.0)?;
    let channel = state
        .store
        .create_vpc_channel(&scope, input)
        .await
        .map_err(|e| channel_error(e, || ApiError::instance_not_found(&instance_id)))?;
    tracing::info!(
        vpc_channel_id = %channel.id,
        name = %channel.spec.name,
        members = channel.members.len(),
        "VPC channel created"
    );
    Ok((
        StatusCode::CREATED,
        Json(channel_info(&channel, Precision::Nanos)),
    ))
}

/// `GET /vpc-channels?offset&limit&id&name&dict_code&precise_search&member_host&member_port
/// &member_group_name&member_group_id`: newest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let member_port = match q.filter("member_port", 5)? {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| Error(ApiError::invalid_param("member_port")))?,
        ),
    };
    let filter = VpcChannelFilter {
        id: q.filter("id", 64)?.map(str::to_owned),
        name: q.filter("name", 255)?.map(str::to_owned),
        name_exact: crate::apig::apis::precise(&q, "name")?,
        dict_code: q.filter("dict_code", 64)?.map(str::to_owned),
        member_host: q.filter("member_host", 255)?.map(str::to_owned),
        member_port,
        group_name: q.filter("member_group_name", 64)?.map(str::to_owned),
        group_id: q.filter("member_group_id", 64)?.map(str::to_owned),
    };
    let (total, channels) = state.store.list_vpc_channels(&scope, &filter, page).await?;
    Ok(Json(json!({
        "total": total,
        "size": channels.len(),
        "vpc_channels": channels
            .iter()
            .map(|c| channel_info(c, Precision::Seconds))
            .collect::<Vec<_>>(),
    })))
}

/// `GET /vpc-channels/{id}`: the channel with its members and health check.
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, channel_id)): ChannelPath,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let channel_id = path_id(&channel_id, "vpc_channel_id")?;
    let channel = state
        .store
        .get_vpc_channel(&scope, channel_id.as_str())
        .await
        .map_err(of_channel(&channel_id))?;
    Ok(Json(channel_details(&channel)))
}

/// `PUT /vpc-channels/{id}`: 200 with the replaced channel; its members are the body's.
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, channel_id)): ChannelPath,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let channel_id = path_id(&channel_id, "vpc_channel_id")?;
    let input = ChannelInput::parse(&body.0)?;
    let channel = state
        .store
        .update_vpc_channel(&scope, channel_id.as_str(), input)
        .await
        .map_err(of_channel(&channel_id))?;
    tracing::info!(
        vpc_channel_id = %channel.id,
        members = channel.members.len(),
        "VPC channel updated"
    );
    Ok(Json(channel_info(&channel, Precision::Seconds)))
}

/// `DELETE /vpc-channels/{id}`: 204; a channel an API names is refused.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, channel_id)): ChannelPath,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let channel_id = path_id(&channel_id, "vpc_channel_id")?;
    state
        .store
        .delete_vpc_channel(&scope, channel_id.as_str())
        .await
        .map_err(of_channel(&channel_id))?;
    tracing::info!(vpc_channel_id = %channel_id.as_str(), "VPC channel deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /vpc-channels/{id}/health-config`: 200 with the channel's new health check.
pub async fn health_config(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, channel_id)): ChannelPath,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let channel_id = path_id(&channel_id, "vpc_channel_id")?;
    let health = HealthCheck::parse_object(&body.0, "")?;
    let channel = state
        .store
        .set_vpc_health_check(&scope, channel_id.as_str(), health)
        .await
        .map_err(of_channel(&channel_id))?;
    tracing::info!(vpc_channel_id = %channel.id, "VPC channel health check changed");
    Ok(Json(health_info(&channel).unwrap_or_default()))
}
