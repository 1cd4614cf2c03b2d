//! VPC channels (APIG `vpc-channels`): named sets of backend servers with a distribution
//! algorithm and an optional health check, which APIs use in place of one address.
//!
//! A channel named by an API — by its current definition, a publication or a kept version —
//! cannot be deleted, so every published API finds its channel. The data plane reads every
//! channel of its instance with its members ([`VpcChannelStore::vpc_channels_in_force`]).

use crate::model::Scope;
use crate::{StoreError, StoreResult};
use apigw_domain::member_group::{GroupName, MemberGroupSpec};
use apigw_domain::vpc_channel::{ChannelInput, ChannelSpec, HealthCheck, MemberSpec, ServerHealth};
use apigw_domain::{Page, Timestamp};
use async_trait::async_trait;

/// Why a VPC channel call did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum VpcChannelError {
    /// The store failed, or the instance is not in scope (`StoreError::NotFound`).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The channel is not in the caller's scope.
    #[error("VPC channel {0} not found")]
    NotFound(String),
    /// A member id is not one of the channel's.
    #[error("member {0} of the VPC channel not found")]
    MemberNotFound(String),
    /// Another channel of the instance has this name.
    #[error("the VPC channel name already exists")]
    NameExists,
    /// The instance holds its maximum number of channels.
    #[error("the VPC channel limit is reached")]
    LimitReached,
    /// The channel would hold more than its maximum number of members.
    #[error("the member limit of the VPC channel is reached")]
    MemberLimitReached,
    /// The members given are of the other `member_type` (the channel changed type since the
    /// caller read it).
    #[error("the members are not of the channel's member type")]
    MemberTypeChanged,
    /// An API (its definition, a publication or a kept version) names the channel.
    #[error("the VPC channel is used by APIs")]
    InUse,
    /// A backend server group id is not one of the channel's.
    #[error("backend server group {0} of the VPC channel not found")]
    GroupNotFound(String),
    /// The member at this index (of those given) names a group the channel does not have.
    #[error("member {0} names a backend server group the VPC channel does not have")]
    UnknownGroup(usize),
    /// Another group of the channel has this name.
    #[error("the backend server group name already exists in the VPC channel")]
    GroupNameExists,
    /// The channel would hold more than its maximum number of groups.
    #[error("the backend server group limit of the VPC channel is reached")]
    GroupLimitReached,
}

impl From<sqlx::Error> for VpcChannelError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Result of VPC channel calls.
pub type VpcChannelResult<T> = Result<T, VpcChannelError>;

/// A backend server of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcMember {
    /// 32 hex id.
    pub id: String,
    /// Its channel.
    pub channel_id: String,
    /// Address, port, weight, backup, enabled.
    pub spec: MemberSpec,
    /// When it was added (kept when an add call updates it).
    pub create_time: Timestamp,
    /// What the live gateway nodes' health checks say of it (`Unknown` in what the data
    /// plane reads).
    pub health: ServerHealth,
    /// The id of its backend server group (whose name is `spec.group`), if any.
    pub group_id: Option<String>,
}

/// A backend server group of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcMemberGroup {
    /// 32 hex id.
    pub id: String,
    /// Its channel.
    pub channel_id: String,
    /// Name, description, weight, `dict_code`.
    pub spec: MemberGroupSpec,
    /// When it was created.
    pub create_time: Timestamp,
    /// Creation or last change.
    pub update_time: Timestamp,
}

/// A channel as the management API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcChannel {
    /// 32 hex id.
    pub id: String,
    /// Settings.
    pub spec: ChannelSpec,
    /// Members, oldest first (left empty by the list call).
    pub members: Vec<VpcMember>,
    /// Backend server groups, oldest first (left empty by the list call).
    pub groups: Vec<VpcMemberGroup>,
    /// When it was created.
    pub create_time: Timestamp,
    /// Creation or last change of its settings.
    pub update_time: Timestamp,
}

/// Filters of the channel list.
#[derive(Debug, Clone, Default)]
pub struct VpcChannelFilter {
    /// Exact id.
    pub id: Option<String>,
    /// Name, substring unless `name_exact`.
    pub name: Option<String>,
    /// `precise_search` names `name`.
    pub name_exact: bool,
    /// Exact `dict_code`.
    pub dict_code: Option<String>,
    /// Channels with a member at this host.
    pub member_host: Option<String>,
    /// Channels with a member on this port (its own, or the channel's).
    pub member_port: Option<u16>,
    /// Channels with a backend server group of this name.
    pub group_name: Option<String>,
    /// Channels with the backend server group of this id.
    pub group_id: Option<String>,
}

/// Filters of a channel's member list.
#[derive(Debug, Clone, Default)]
pub struct VpcMemberFilter {
    /// `name`: the member's `ecs_name` (an `ip` member's host), substring unless `name_exact`.
    pub name: Option<String>,
    /// `precise_search` names `name`.
    pub name_exact: bool,
    /// Members of the group of this name (`member_group_name`).
    pub group_name: Option<String>,
    /// Members of the group of this id (`member_group_id`).
    pub group_id: Option<String>,
}

/// VPC channels and their members. Every method except
/// [`VpcChannelStore::vpc_channels_in_force`] works inside a [`Scope`]; each is one
/// transaction.
#[async_trait]
pub trait VpcChannelStore: Send + Sync + 'static {
    /// Creates a channel with its members; its name must be free in the instance, and the
    /// instance below its limit.
    async fn create_vpc_channel(
        &self,
        scope: &Scope,
        input: ChannelInput,
    ) -> VpcChannelResult<VpcChannel>;
    /// Replaces a channel's settings and its members (APIG's `PUT` overwrites both: members
    /// left out are removed; a member kept by identity keeps its id).
    async fn update_vpc_channel(
        &self,
        scope: &Scope,
        id: &str,
        input: ChannelInput,
    ) -> VpcChannelResult<VpcChannel>;
    /// A channel with its members.
    async fn get_vpc_channel(&self, scope: &Scope, id: &str) -> VpcChannelResult<VpcChannel>;
    /// A page of the instance's channels (without members), newest first.
    async fn list_vpc_channels(
        &self,
        scope: &Scope,
        filter: &VpcChannelFilter,
        page: Page,
    ) -> StoreResult<(i64, Vec<VpcChannel>)>;
    /// Deletes a channel no API names.
    async fn delete_vpc_channel(&self, scope: &Scope, id: &str) -> VpcChannelResult<()>;

    /// Adds members, or updates those with the identity of an existing one; answers every
    /// member of the channel.
    async fn add_vpc_members(
        &self,
        scope: &Scope,
        id: &str,
        members: Vec<MemberSpec>,
    ) -> VpcChannelResult<Vec<VpcMember>>;
    /// Replaces every member (those kept by identity keep their ids), or, `within` a group,
    /// that group's members only (the members given of other groups are ignored, APIG's
    /// rule); answers every member of the channel.
    async fn replace_vpc_members(
        &self,
        scope: &Scope,
        id: &str,
        members: Vec<MemberSpec>,
        within: Option<&GroupName>,
    ) -> VpcChannelResult<Vec<VpcMember>>;
    /// A page of a channel's members, oldest first.
    async fn list_vpc_members(
        &self,
        scope: &Scope,
        id: &str,
        filter: &VpcMemberFilter,
        page: Page,
    ) -> VpcChannelResult<(i64, Vec<VpcMember>)>;
    /// Removes one member.
    async fn delete_vpc_member(
        &self,
        scope: &Scope,
        id: &str,
        member_id: &str,
    ) -> VpcChannelResult<()>;
    /// Enables or disables members, all or nothing (an unknown id refuses the call).
    async fn set_vpc_members_enabled(
        &self,
        scope: &Scope,
        id: &str,
        member_ids: &[String],
        enabled: bool,
    ) -> VpcChannelResult<()>;
    /// Replaces a channel's health check.
    async fn set_vpc_health_check(
        &self,
        scope: &Scope,
        id: &str,
        health: HealthCheck,
    ) -> VpcChannelResult<VpcChannel>;

    /// Every channel of an instance with its members: what the data plane spreads calls over.
    async fn vpc_channels_in_force(&self, instance_id: &str) -> StoreResult<Vec<VpcChannel>>;
}
