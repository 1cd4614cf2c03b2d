//! VPC channels (`/vpc-channels`), their backend servers (`/members`) and backend server
//! groups (`/member-groups`): here the routes, the mapping of store refusals to APIG errors
//! and the JSON shapes (APIG's `VpcChannelInfo`, `VpcMemberInfo`, `VpcHealthConfigInfo`,
//! `MemberGroupInfo`).
//!
//! Decisions where APIG is silent or differs from itself:
//! - `PUT /vpc-channels/{id}` replaces the channel whole, its members too (Huawei's rule);
//!   members kept by identity (host, or `ecs_id`) keep their ids.
//! - Groups given with a channel (`member_groups` of a create or `PUT`) are added or updated
//!   by name; groups not given stay (members name them). A member naming a group the channel
//!   does not have is refused (400 naming `members[i].member_group_name`).
//! - Deleting a group leaves its servers in the channel, without a group.
//! - `PUT …/members` with a body-level `member_group_name` replaces that group's servers
//!   only; the servers given of other groups are ignored (APIG's rule), an unknown group is
//!   404 `APIG.3025`.
//! - The health check's `id` is the channel's (one check per channel).

pub mod channels;
pub mod groups;
pub mod members;

use crate::apig::authz::views::time;
use crate::apig::views::Precision;
use crate::error::Error;
use apigw_domain::{ApiError, ResourceId};
use apigw_store::vpc_channels::{VpcChannel, VpcChannelError, VpcMember, VpcMemberGroup};
use apigw_store::StoreError;
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Value};

use crate::AppState;

/// Routes of VPC channels and their members.
pub fn routes() -> Router<AppState> {
    let base = "/v2/{project_id}/apigw/instances/{instance_id}/vpc-channels";
    Router::new()
        .route(base, get(channels::list).post(channels::create))
        .route(
            &format!("{base}/{{vpc_channel_id}}"),
            get(channels::show)
                .put(channels::update)
                .delete(channels::delete),
        )
        .route(
            &format!("{base}/{{vpc_channel_id}}/health-config"),
            put(channels::health_config),
        )
        .route(
            &format!("{base}/{{vpc_channel_id}}/members"),
            get(members::list).post(members::add).put(members::replace),
        )
        .route(
            &format!("{base}/{{vpc_channel_id}}/members/{{member_id}}"),
            axum::routing::delete(members::delete),
        )
        .route(
            &format!("{base}/{{vpc_channel_id}}/members/batch-enable"),
            post(members::enable),
        )
        .route(
            &format!("{base}/{{vpc_channel_id}}/members/batch-disable"),
            post(members::disable),
        )
        .route(
            &format!("{base}/{{vpc_channel_id}}/member-groups"),
            get(groups::list).post(groups::add),
        )
        .route(
            &format!("{base}/{{vpc_channel_id}}/member-groups/{{member_group_id}}"),
            get(groups::show).put(groups::update).delete(groups::delete),
        )
}

/// Maps a store refusal to its APIG error; a bare `NotFound` (the instance vanished) means
/// what `missing` says.
pub fn channel_error(e: VpcChannelError, missing: impl FnOnce() -> ApiError) -> Error {
    Error(match e {
        VpcChannelError::Store(StoreError::NotFound) => missing(),
        VpcChannelError::Store(other) => return other.into(),
        VpcChannelError::NotFound(id) => ApiError::vpc_channel_not_found(&id),
        VpcChannelError::MemberNotFound(id) => ApiError::vpc_member_not_found(&id),
        VpcChannelError::NameExists => ApiError::vpc_channel_name_exists(),
        VpcChannelError::LimitReached => ApiError::vpc_channel_limit(),
        VpcChannelError::MemberLimitReached => ApiError::vpc_member_limit(),
        VpcChannelError::MemberTypeChanged => ApiError::invalid_body_field("members"),
        VpcChannelError::InUse => ApiError::vpc_channel_in_use(),
        VpcChannelError::GroupNotFound(id) => ApiError::vpc_member_group_not_found(&id),
        VpcChannelError::UnknownGroup(i) => {
            ApiError::invalid_body_field(&format!("members[{i}].member_group_name"))
        }
        VpcChannelError::GroupNameExists => ApiError::invalid_body_field("member_group_name"),
        VpcChannelError::GroupLimitReached => ApiError::vpc_member_group_limit(),
    })
}

/// [`channel_error`] for a call on channel `id` (a vanished instance reads as the channel
/// missing).
pub fn of_channel(id: &ResourceId) -> impl FnOnce(VpcChannelError) -> Error + '_ {
    move |e| channel_error(e, || ApiError::vpc_channel_not_found(id.as_str()))
}

/// `VpcChannelInfo`: a channel without its members (create, update and list answers).
pub fn channel_info(c: &VpcChannel, precision: Precision) -> Value {
    let empty_cse = json!({
        "cse_app_id": "", "engine_id": "", "engine_name": "", "register_address": "",
        "service_id": "", "service_name": "",
    });
    let empty_cce = json!({
        "cluster_id": "", "cluster_name": "", "namespace": "", "workload_type": "",
        "app_name": "",
    });
    json!({
        "name": c.spec.name,
        "port": c.spec.port,
        "balance_strategy": c.spec.balance_strategy.code(),
        "member_type": c.spec.member_type.as_str(),
        "type": 2,
        "vpc_channel_type": "builtin",
        "dict_code": c.spec.dict_code.as_deref().unwrap_or(""),
        "create_time": time(c.create_time, precision),
        "id": c.id,
        "status": 1,
        "member_groups": c.groups.iter().map(group_info).collect::<Vec<_>>(),
        "microservice_info": {
            "id": "", "instance_id": "", "service_type": "",
            "cse_info": empty_cse, "cce_info": empty_cce,
        },
    })
}

/// The details answer: [`channel_info`] with `members` and `vpc_health_config`.
pub fn channel_details(c: &VpcChannel) -> Value {
    let mut v = channel_info(c, Precision::Seconds);
    v["members"] = c.members.iter().map(member_info).collect();
    if let Some(health) = health_info(c) {
        v["vpc_health_config"] = health;
    }
    v
}

/// `VpcHealthConfigInfo` of a channel, if it has a health check.
pub fn health_info(c: &VpcChannel) -> Option<Value> {
    let health = c.spec.health.as_ref()?;
    let mut v = Value::Object(health.to_json());
    v["vpc_channel_id"] = json!(c.id);
    v["id"] = json!(c.id);
    v["create_time"] = json!(time(c.update_time, Precision::Seconds));
    Some(v)
}

/// `VpcMemberInfo`, with `health_status` as the live gateway nodes' checks see the server.
pub fn member_info(m: &VpcMember) -> Value {
    let mut v = Value::Object(m.spec.to_json());
    v["id"] = json!(m.id);
    v["vpc_channel_id"] = json!(m.channel_id);
    v["create_time"] = json!(time(m.create_time, Precision::Seconds));
    v["member_group_id"] = json!(m.group_id.as_deref().unwrap_or(""));
    v["health_status"] = json!(m.health.as_str());
    v
}

/// `MemberGroupInfo`.
pub fn group_info(g: &VpcMemberGroup) -> Value {
    let mut v = Value::Object(g.spec.to_json());
    v["member_group_id"] = json!(g.id);
    v["create_time"] = json!(time(g.create_time, Precision::Seconds));
    v["update_time"] = json!(time(g.update_time, Precision::Seconds));
    v
}

/// `{size, total, member_groups}` of the groups given.
pub fn groups_answer(groups: &[VpcMemberGroup], total: i64) -> Value {
    json!({
        "total": total,
        "size": groups.len(),
        "member_groups": groups.iter().map(group_info).collect::<Vec<_>>(),
    })
}

/// `{size, total, members}` of every member given.
pub fn members_answer(members: &[VpcMember], total: i64) -> Value {
    json!({
        "total": total,
        "size": members.len(),
        "members": members.iter().map(member_info).collect::<Vec<_>>(),
    })
}
