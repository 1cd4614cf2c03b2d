//! Backend server groups of VPC channels (APIG `member-groups`): named sets of a channel's
//! servers. A group with a weight gives it to each of its servers (what the data plane reads
//! with [`VpcChannelStore::vpc_channels_in_force`](crate::VpcChannelStore)); deleting a group
//! leaves its servers in the channel, without a group.

use crate::model::Scope;
use crate::vpc_channels::{VpcChannelResult, VpcMemberGroup};
use apigw_domain::member_group::MemberGroupSpec;
use apigw_domain::Page;
use async_trait::async_trait;

/// Filters of a channel's group list.
#[derive(Debug, Clone, Default)]
pub struct MemberGroupFilter {
    /// `member_group_name`, substring unless `name_exact`.
    pub name: Option<String>,
    /// `precise_search` names `member_group_name`.
    pub name_exact: bool,
    /// Exact `dict_code`.
    pub dict_code: Option<String>,
}

/// The backend server groups of channels, each call inside a [`Scope`] and one transaction.
#[async_trait]
pub trait VpcMemberGroupStore: Send + Sync + 'static {
    /// Adds groups to channel `id`, or updates those whose name it has (keeping their ids);
    /// answers every group of the channel.
    async fn add_member_groups(
        &self,
        scope: &Scope,
        id: &str,
        groups: Vec<MemberGroupSpec>,
    ) -> VpcChannelResult<Vec<VpcMemberGroup>>;
    /// A page of a channel's groups, oldest first.
    async fn list_member_groups(
        &self,
        scope: &Scope,
        id: &str,
        filter: &MemberGroupFilter,
        page: Page,
    ) -> VpcChannelResult<(i64, Vec<VpcMemberGroup>)>;
    /// One group.
    async fn get_member_group(
        &self,
        scope: &Scope,
        id: &str,
        group_id: &str,
    ) -> VpcChannelResult<VpcMemberGroup>;
    /// Replaces a group's settings (its name must stay unique in the channel).
    async fn update_member_group(
        &self,
        scope: &Scope,
        id: &str,
        group_id: &str,
        spec: MemberGroupSpec,
    ) -> VpcChannelResult<VpcMemberGroup>;
    /// Deletes a group; its servers stay, without a group.
    async fn delete_member_group(
        &self,
        scope: &Scope,
        id: &str,
        group_id: &str,
    ) -> VpcChannelResult<()>;
}
