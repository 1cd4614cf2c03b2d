//! API groups, environments, APIs and their publication in environments (spec §3.1–3.4).
//!
//! Every instance has a `DEFAULT` group and the built-in `RELEASE` environment from the moment it
//! exists. An API's definition is kept as validated JSON; publishing copies the definition as it
//! is at that moment into the environment, and the data plane serves only those copies
//! ([`ApiStore::published_apis`]), so editing an API changes nothing for callers until it is
//! published again.

use crate::{Scope, StoreError, StoreResult};
use apigw_domain::api::{ApiDefinition, EnvName, GroupName, Remark};
use apigw_domain::{Page, Timestamp};
use async_trait::async_trait;

/// Why a call of [`ApiStore`] did not do what was asked: the refusals of these resources, each
/// mapped to its own APIG code by the management API, or a general store failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiStoreError {
    /// The API group is not in the scope.
    #[error("the API group does not exist")]
    GroupNotFound,
    /// The API is not in the scope.
    #[error("the API does not exist")]
    ApiNotFound,
    /// The environment is not in the scope.
    #[error("the environment does not exist")]
    EnvNotFound,
    /// The API is not published in that environment (or not in that version).
    #[error("the API is not published in the environment")]
    NotPublished,
    /// The instance has no version of this id (of this API).
    #[error("the API version does not exist")]
    VersionNotFound,
    /// The version is not the one in force in its environment.
    #[error("the API version is not in force")]
    VersionNotInForce {
        /// Its API.
        api_id: String,
        /// Its environment.
        env_id: String,
    },
    /// Another group of the instance has this name.
    #[error("the API group name already exists")]
    GroupNameExists,
    /// Another API of the group has this name.
    #[error("the API name already exists")]
    ApiNameExists,
    /// Another API of the group has this method and path.
    #[error("an API with this method and path exists in the group")]
    ApiRouteExists,
    /// Another API of the group with this method and path is published in the environment.
    #[error("an API with this method and path is published in the group and environment")]
    RoutePublished,
    /// Another environment of the instance has this name.
    #[error("the environment name already exists")]
    EnvNameExists,
    /// The instance holds its maximum number of environments.
    #[error("the environment limit of the instance is reached")]
    EnvLimitReached,
    /// The group still holds APIs.
    #[error("the API group contains APIs")]
    GroupHasApis,
    /// The API is published in some environment.
    #[error("the API is published")]
    ApiPublished,
    /// Some API is published in the environment.
    #[error("the environment contains published APIs")]
    EnvHasPublishedApis,
    /// The `DEFAULT` group cannot be deleted or renamed.
    #[error("the DEFAULT group cannot be deleted or renamed")]
    DefaultGroupLocked,
    /// The `RELEASE` environment cannot be deleted or changed.
    #[error("the RELEASE environment cannot be deleted or changed")]
    ReleaseEnvLocked,
    /// The backend names a VPC channel that is not in the instance.
    #[error("VPC channel {0} does not exist")]
    VpcChannelNotFound(String),
    /// The definition names a gateway response its group does not have.
    #[error("gateway response {0} does not exist")]
    ResponseNotFound(String),
    /// An update tried to move the API to another group.
    #[error("an API cannot move to another group")]
    GroupChange,
    /// The store failed (unavailable, corrupt data, ...).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ApiStoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Result of the refusing calls of [`ApiStore`].
pub type ApiStoreResult<T> = Result<T, ApiStoreError>;

/// `status` of a valid group and API.
pub const API_STATUS_VALID: i64 = 1;

/// An API group: the unit APIs are routed by (its subdomain) and named in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiGroup {
    /// 32 hex id.
    pub id: String,
    /// Instance it belongs to.
    pub instance_id: String,
    /// Unique name in the instance.
    pub name: GroupName,
    /// Description (at most 1000 characters).
    pub remark: Remark,
    /// Whether this is the instance's `DEFAULT` group (reachable by IP on the data plane).
    pub is_default: bool,
    /// Whether its debugging subdomain (`<id>.<base domain>`) reaches it
    /// (`sl_domain_access_enabled`; true unless turned off).
    pub sl_domain_access: bool,
    /// Creation time.
    pub register_time: Timestamp,
    /// Last change.
    pub update_time: Timestamp,
}

/// A group to create.
#[derive(Debug, Clone)]
pub struct NewGroup {
    /// Name.
    pub name: GroupName,
    /// Description.
    pub remark: Remark,
}

/// A change to a group (`PUT /api-groups/{id}`): the name is mandatory there.
#[derive(Debug, Clone)]
pub struct GroupChange {
    /// New name.
    pub name: GroupName,
    /// New description (`None` keeps it).
    pub remark: Option<Remark>,
}

/// Filters of `GET /api-groups`.
#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    /// Exact id.
    pub id: Option<String>,
    /// Name, substring unless `name_exact`.
    pub name: Option<String>,
    /// `precise_search=name`.
    pub name_exact: bool,
}

/// An environment (stage): APIs are published into it, callers pick it with `X-Stage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// 32 hex id, or `DEFAULT_ENVIRONMENT_RELEASE_ID`.
    pub id: String,
    /// Unique name in the instance.
    pub name: EnvName,
    /// Description (at most 255 characters).
    pub remark: Remark,
    /// Creation time (the instance's for `RELEASE`).
    pub create_time: Timestamp,
}

impl Environment {
    /// Whether this is the built-in `RELEASE` environment.
    pub fn is_release(&self) -> bool {
        self.id == apigw_domain::api::RELEASE_ENV_ID
    }
}

/// An environment to create.
#[derive(Debug, Clone)]
pub struct NewEnvironment {
    /// Name.
    pub name: EnvName,
    /// Description.
    pub remark: Remark,
}

/// A change to an environment (`PUT /envs/{id}`): the name is mandatory there.
#[derive(Debug, Clone)]
pub struct EnvChange {
    /// New name.
    pub name: EnvName,
    /// New description (`None` keeps it).
    pub remark: Option<Remark>,
}

/// Filters of `GET /envs`.
#[derive(Debug, Clone, Default)]
pub struct EnvFilter {
    /// Name, substring unless `name_exact`.
    pub name: Option<String>,
    /// `precise_search=name`.
    pub name_exact: bool,
}

/// Where an API is published: one per environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiPublication {
    /// Id of the publication record.
    pub publish_id: String,
    /// Environment id.
    pub env_id: String,
    /// Environment name.
    pub env_name: String,
    /// Id of the published version (new on every publish).
    pub version_id: String,
    /// When it was published.
    pub publish_time: Timestamp,
    /// Remark given when publishing.
    pub remark: String,
}

/// An API as the management API shows it: its current definition, its group and where it is
/// published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    /// 32 hex id.
    pub id: String,
    /// Instance it belongs to.
    pub instance_id: String,
    /// The current (not necessarily published) definition.
    pub definition: ApiDefinition,
    /// The group it belongs to.
    pub group: ApiGroup,
    /// Id of its backend (`backend_api.id`), stable across updates.
    pub backend_id: String,
    /// Creation time.
    pub register_time: Timestamp,
    /// Last change of the definition.
    pub update_time: Timestamp,
    /// Environments it is published in, oldest publication first.
    pub publications: Vec<ApiPublication>,
}

/// Filters of `GET /apis`.
#[derive(Debug, Clone, Default)]
pub struct ApiFilter {
    /// Exact id.
    pub id: Option<String>,
    /// Name, substring unless `name_exact`.
    pub name: Option<String>,
    /// `precise_search` contains `name`.
    pub name_exact: bool,
    /// Exact group id.
    pub group_id: Option<String>,
    /// Exact `req_protocol`.
    pub req_protocol: Option<String>,
    /// Exact `req_method`.
    pub req_method: Option<String>,
    /// Path, substring unless `req_uri_exact`.
    pub req_uri: Option<String>,
    /// `precise_search` contains `req_uri`.
    pub req_uri_exact: bool,
    /// Exact `auth_type`.
    pub auth_type: Option<String>,
    /// Only APIs published in this environment.
    pub env_id: Option<String>,
    /// Exact `type` (1 or 2).
    pub api_type: Option<i64>,
}

/// What publishing or taking offline did (`POST /apis/action` answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRecord {
    /// Id of the publication record (the removed one when taking offline).
    pub publish_id: String,
    /// The API.
    pub api_id: String,
    /// Its name.
    pub api_name: String,
    /// The environment.
    pub env_id: String,
    /// Remark given with the action.
    pub remark: String,
    /// When the action happened.
    pub publish_time: Timestamp,
    /// Id of the version published (or taken offline).
    pub version_id: String,
}

/// Most versions kept per API and environment (Huawei's 10): publishing an 11th drops the
/// oldest.
pub const MAX_VERSIONS_PER_ENV: usize = 10;

/// One version of an API: the definition one publication published in one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersion {
    /// 32 hex id (the publication's `version_id`).
    pub id: String,
    /// The API.
    pub api_id: String,
    /// The environment it was published in.
    pub env_id: String,
    /// That environment's name.
    pub env_name: String,
    /// Remark given when publishing.
    pub remark: String,
    /// When it was published.
    pub publish_time: Timestamp,
    /// Whether it is the version in force in its environment (`status` 1).
    pub in_force: bool,
    /// The definition it published.
    pub definition: ApiDefinition,
}

/// Which versions of an API a list call asks for: of one environment, by id or by name.
#[derive(Debug, Clone, Default)]
pub struct VersionFilter {
    /// `env_id`.
    pub env_id: Option<String>,
    /// `env_name`.
    pub env_name: Option<String>,
}

/// The group of a published API, as the data plane routes by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedGroup {
    /// Group id (its subdomain is [`apigw_domain::api::sl_domain`] of it).
    pub id: String,
    /// Current name.
    pub name: String,
    /// The `DEFAULT` group is also reachable by IP address.
    pub is_default: bool,
    /// Whether its subdomain reaches it (else a call there is refused as unrouted).
    pub sl_domain_access: bool,
}

/// One API published in one environment: what the data plane serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedApi {
    /// Environment id.
    pub env_id: String,
    /// Environment name (callers send it in `X-Stage`; `RELEASE` when absent).
    pub env_name: String,
    /// The API's group.
    pub group: PublishedGroup,
    /// API id (app authorizations name it).
    pub api_id: String,
    /// Publication record id.
    pub publish_id: String,
    /// Published version id.
    pub version_id: String,
    /// When it was published.
    pub publish_time: Timestamp,
    /// The definition as it was when published.
    pub definition: ApiDefinition,
}

/// API groups, environments, APIs and publications. Every method except
/// [`ApiStore::published_apis`] works inside a [`Scope`]; each is one transaction, and the
/// uniqueness and count rules hold under concurrent callers.
#[async_trait]
pub trait ApiStore: Send + Sync + 'static {
    // ---- groups ---------------------------------------------------------------------------

    /// Creates a group. Errors: `GroupNameExists`.
    async fn create_group(&self, scope: &Scope, group: NewGroup) -> ApiStoreResult<ApiGroup>;
    /// Renames / re-describes a group. Errors: `GroupNotFound`, `GroupNameExists`,
    /// `DefaultGroupLocked` (renaming `DEFAULT`).
    async fn update_group(
        &self,
        scope: &Scope,
        id: &str,
        change: GroupChange,
    ) -> ApiStoreResult<ApiGroup>;
    /// Opens or closes a group's debugging subdomain. Errors: `GroupNotFound`.
    async fn set_group_sl_domain_access(
        &self,
        scope: &Scope,
        id: &str,
        open: bool,
    ) -> ApiStoreResult<ApiGroup>;
    /// Deletes a group. Errors: `GroupNotFound`, `DefaultGroupLocked`, `GroupHasApis`.
    async fn delete_group(&self, scope: &Scope, id: &str) -> ApiStoreResult<()>;
    /// A group in scope.
    async fn get_group(&self, scope: &Scope, id: &str) -> ApiStoreResult<Option<ApiGroup>>;
    /// A page of groups matching `filter` (`DEFAULT` first, then newest first) and the total.
    async fn list_groups(
        &self,
        scope: &Scope,
        filter: &GroupFilter,
        page: Page,
    ) -> ApiStoreResult<(i64, Vec<ApiGroup>)>;

    // ---- environments ---------------------------------------------------------------------

    /// Creates an environment. Errors: `EnvNameExists`, `EnvLimitReached` (more than
    /// `max_envs` besides `RELEASE`).
    async fn create_environment(
        &self,
        scope: &Scope,
        env: NewEnvironment,
        max_envs: u32,
    ) -> ApiStoreResult<Environment>;
    /// Renames / re-describes an environment. Errors: `EnvNotFound`, `EnvNameExists`,
    /// `ReleaseEnvLocked`.
    async fn update_environment(
        &self,
        scope: &Scope,
        id: &str,
        change: EnvChange,
    ) -> ApiStoreResult<Environment>;
    /// Deletes an environment with the app authorizations made for it. Errors: `EnvNotFound`,
    /// `ReleaseEnvLocked`, `EnvHasPublishedApis`.
    async fn delete_environment(&self, scope: &Scope, id: &str) -> ApiStoreResult<()>;
    /// An environment in scope (`RELEASE` included).
    async fn get_environment(&self, scope: &Scope, id: &str)
        -> ApiStoreResult<Option<Environment>>;
    /// A page of environments matching `filter` (`RELEASE` first, then oldest first) and the
    /// total.
    async fn list_environments(
        &self,
        scope: &Scope,
        filter: &EnvFilter,
        page: Page,
    ) -> ApiStoreResult<(i64, Vec<Environment>)>;

    // ---- APIs -----------------------------------------------------------------------------

    /// Creates an API in the definition's group. Errors: `GroupNotFound`, `ApiNameExists`,
    /// `ApiRouteExists`.
    async fn create_api(&self, scope: &Scope, definition: ApiDefinition) -> ApiStoreResult<Api>;
    /// Replaces an API's definition (published copies stay as they are). Errors: `ApiNotFound`,
    /// `GroupChange`, `ApiNameExists`, `ApiRouteExists`.
    async fn update_api(
        &self,
        scope: &Scope,
        id: &str,
        definition: ApiDefinition,
    ) -> ApiStoreResult<Api>;
    /// Deletes an API with its app authorizations. Errors: `ApiNotFound`, `ApiPublished`.
    async fn delete_api(&self, scope: &Scope, id: &str) -> ApiStoreResult<()>;
    /// An API in scope.
    async fn get_api(&self, scope: &Scope, id: &str) -> ApiStoreResult<Option<Api>>;
    /// A page of APIs matching `filter` (newest first) and the total.
    async fn list_apis(
        &self,
        scope: &Scope,
        filter: &ApiFilter,
        page: Page,
    ) -> ApiStoreResult<(i64, Vec<Api>)>;

    // ---- publication ----------------------------------------------------------------------

    /// Publishes the API's current definition in the environment, replacing an earlier copy
    /// there, and keeps it as a new version (the oldest beyond [`MAX_VERSIONS_PER_ENV`] are
    /// dropped). Errors: `ApiNotFound`, `EnvNotFound`, `RoutePublished`.
    async fn publish_api(
        &self,
        scope: &Scope,
        api_id: &str,
        env_id: &str,
        remark: Remark,
    ) -> ApiStoreResult<PublishRecord>;
    /// Takes the API offline in the environment. Errors: `ApiNotFound`, `EnvNotFound`,
    /// `NotPublished`.
    async fn unpublish_api(
        &self,
        scope: &Scope,
        api_id: &str,
        env_id: &str,
        remark: Remark,
    ) -> ApiStoreResult<PublishRecord>;

    // ---- versions ---------------------------------------------------------------------------

    /// The kept versions of an API (newest first) that `filter` selects, and their total.
    /// Errors: `ApiNotFound`.
    async fn list_api_versions(
        &self,
        scope: &Scope,
        api_id: &str,
        filter: &VersionFilter,
        page: Page,
    ) -> ApiStoreResult<(i64, Vec<ApiVersion>)>;
    /// One kept version. Errors: `VersionNotFound`.
    async fn api_version(&self, scope: &Scope, version_id: &str) -> ApiStoreResult<ApiVersion>;
    /// Puts a version of the API in force in its environment: its definition is published
    /// again (a new publication record, the same version). Errors: `ApiNotFound`,
    /// `VersionNotFound` (also a version of another API), `RoutePublished`.
    async fn switch_api_version(
        &self,
        scope: &Scope,
        api_id: &str,
        version_id: &str,
    ) -> ApiStoreResult<PublishRecord>;
    /// Takes the API offline in the version's environment, if that version is the one in
    /// force; the version taken offline. Errors: `VersionNotFound`, `VersionNotInForce`.
    async fn unpublish_api_version(
        &self,
        scope: &Scope,
        version_id: &str,
    ) -> ApiStoreResult<ApiVersion>;

    // ---- data plane -----------------------------------------------------------------------

    /// Everything published in an instance, for the data plane's routing snapshot: one entry
    /// per (environment, API) with the definition as published and its group. An unknown
    /// instance has nothing published.
    async fn published_apis(&self, instance_id: &str) -> StoreResult<Vec<PublishedApi>>;
    /// Every API group of an instance, for the data plane: a group's subdomain leads to it
    /// also while it has nothing published.
    async fn instance_groups(&self, instance_id: &str) -> StoreResult<Vec<PublishedGroup>>;
}
