//! Request throttling policies, their bindings to published APIs and their excluded
//! configurations (APIG `throttles`, `throttle-bindings`, `throttle-specials`), plus what the
//! data plane reads of them ([`ThrottledApi`]).
//!
//! A binding names a publication record in the API, but is kept by (API, environment): a
//! republished API gets a new publication record and keeps its policy, and so does an API
//! taken offline there and published again (while offline it is neither listed nor served);
//! deleting the API, the environment or the policy removes the binding.

use crate::model::Scope;
use crate::{StoreError, StoreResult};
use apigw_domain::throttle::{SpecialObjectId, SpecialObjectType, ThrottleLimits, ThrottleSpec};
use apigw_domain::{Page, Timestamp};
use async_trait::async_trait;

/// Why a throttling call did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ThrottleError {
    /// The store failed, or a generic refusal (see [`StoreError`]).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The policy is not in the caller's scope.
    #[error("request throttling policy {0} not found")]
    NotFound(String),
    /// Another policy of the instance has this name.
    #[error("the request throttling policy name already exists")]
    NameExists,
    /// No publication record with this id in the caller's scope.
    #[error("publication {0} not found")]
    PublicationNotFound(String),
    /// The published API is bound to another policy in that environment.
    #[error("the API of publication {0} is bound to another policy")]
    BoundElsewhere(String),
    /// The API is not in the caller's scope.
    #[error("API {0} not found")]
    ApiNotFound(String),
    /// The app an `APP` exception names is not in the caller's scope.
    #[error("app {0} not found")]
    AppNotFound(String),
    /// The excluded configuration is not under the policy.
    #[error("excluded configuration {0} not found")]
    SpecialNotFound(String),
    /// The policy already has an exception for this app or user.
    #[error("the excluded configuration already exists")]
    SpecialExists,
    /// The policy has as many exceptions as allowed.
    #[error("too many excluded configurations")]
    SpecialLimitReached,
    /// An exception's limit is above the policy's API limit.
    #[error("call_limits above the policy's API limit")]
    SpecialAboveApiLimit,
    /// A policy's new API limit is below the limit of one of its exceptions.
    #[error("api_call_limits below an exception's limit")]
    ApiLimitBelowSpecial,
}

impl From<sqlx::Error> for ThrottleError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Result of throttling calls.
pub type ThrottleResult<T> = Result<T, ThrottleError>;

/// A request throttling policy as the management API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    /// 32 hex id.
    pub id: String,
    /// Name, limits, kind, remark.
    pub spec: ThrottleSpec,
    /// Published APIs bound to it.
    pub bind_num: i64,
    /// Whether it has excluded configurations.
    pub has_specials: bool,
    /// Creation time.
    pub create_time: Timestamp,
}

/// One published API bound to a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleBinding {
    /// Binding record id.
    pub id: String,
    /// The policy.
    pub throttle_id: String,
    /// The current publication record of the API in the environment.
    pub publish_id: String,
    /// The API.
    pub api_id: String,
    /// The environment.
    pub env_id: String,
    /// When it was bound.
    pub apply_time: Timestamp,
}

/// What a batch unbinding did for one id it could not unbind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnbindFailure {
    /// The binding id asked for.
    pub binding_id: String,
}

/// A published API as the binding lists show it (`ApiForThrottle`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottledApiOutline {
    /// API id.
    pub id: String,
    /// API name.
    pub name: String,
    /// `type` (1 public, 2 private).
    pub api_type: i64,
    /// Description.
    pub remark: String,
    /// Group id.
    pub group_id: String,
    /// Group name.
    pub group_name: String,
    /// Environment id.
    pub env_id: String,
    /// Environment name.
    pub env_name: String,
    /// Publication record id.
    pub publish_id: String,
    /// Request path.
    pub req_uri: String,
    /// Request method.
    pub req_method: String,
    /// `auth_type`.
    pub auth_type: String,
    /// The binding to the policy listed, in the list of bound APIs.
    pub binding: Option<ApiThrottleBinding>,
}

/// A binding as the lists show it beside its API or policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiThrottleBinding {
    /// Binding record id.
    pub id: String,
    /// Name of the policy.
    pub throttle_name: String,
    /// When it was bound.
    pub apply_time: Timestamp,
}

/// Which published APIs a binding list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingSide {
    /// Those bound to the policy.
    Bound,
    /// Those published and not bound to it.
    Unbound,
}

/// Filters of the lists of published APIs bound (or not) to a policy (`binded-apis`,
/// `unbinded-apis` of throttling and access control policies).
#[derive(Debug, Clone, Default)]
pub struct PublicationFilter {
    /// Only this environment.
    pub env_id: Option<String>,
    /// Only this group.
    pub group_id: Option<String>,
    /// Only this API.
    pub api_id: Option<String>,
    /// APIs whose name contains this.
    pub api_name: Option<String>,
}

/// A policy bound to an API, as `binded-throttles` shows it (`ThrottleForApi`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiThrottle {
    /// The policy.
    pub throttle: Throttle,
    /// Environment of the binding.
    pub env_id: String,
    /// Its name.
    pub env_name: String,
    /// Binding record id.
    pub bind_id: String,
    /// When it was bound.
    pub bind_time: Timestamp,
}

/// Filters of `binded-throttles`.
#[derive(Debug, Clone, Default)]
pub struct ApiThrottleFilter {
    /// Only this policy.
    pub throttle_id: Option<String>,
    /// Policies whose name contains this.
    pub throttle_name: Option<String>,
    /// Only this environment.
    pub env_id: Option<String>,
}

/// An excluded configuration: one app's or one user's own limit under a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleSpecial {
    /// 32 hex id.
    pub id: String,
    /// The policy.
    pub throttle_id: String,
    /// `APP` or `USER`.
    pub object_type: SpecialObjectType,
    /// The app id or the tenant id.
    pub object_id: String,
    /// The app's name for an `APP` exception, else the object id.
    pub object_name: String,
    /// Calls per window of the policy.
    pub call_limits: u32,
    /// When it was created or last changed.
    pub apply_time: Timestamp,
}

/// Filters of the excluded configurations list.
#[derive(Debug, Clone, Default)]
pub struct SpecialFilter {
    /// Only this type.
    pub object_type: Option<SpecialObjectType>,
    /// App exceptions whose app name contains this.
    pub app_name: Option<String>,
    /// User exceptions whose tenant id contains this.
    pub user: Option<String>,
}

/// A policy in force on one published API, for the data plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottledApi {
    /// The API.
    pub api_id: String,
    /// The environment.
    pub env_id: String,
    /// The project that owns the instance (and its apps): the user of its apps' calls.
    pub project_id: String,
    /// The policy's id.
    pub throttle_id: String,
    /// Per API or shared.
    pub shared: bool,
    /// Its limits.
    pub limits: ThrottleLimits,
    /// Its exceptions as (type, object id, calls per window).
    pub specials: Vec<(SpecialObjectType, String, u32)>,
}

/// Request throttling policies, bindings and exceptions. Every method except
/// [`ThrottleStore::throttled_apis`] works inside a [`Scope`]; each is one transaction.
#[async_trait]
pub trait ThrottleStore: Send + Sync + 'static {
    /// Creates a policy; its name must be free in the instance.
    async fn create_throttle(&self, scope: &Scope, spec: ThrottleSpec) -> ThrottleResult<Throttle>;
    /// Replaces a policy's fields; its bindings and exceptions stay.
    async fn update_throttle(
        &self,
        scope: &Scope,
        id: &str,
        spec: ThrottleSpec,
    ) -> ThrottleResult<Throttle>;
    /// One policy.
    async fn get_throttle(&self, scope: &Scope, id: &str) -> StoreResult<Option<Throttle>>;
    /// A page of the instance's policies, newest first; `name` filters by substring, or by
    /// equality when `exact`; `id` by equality.
    async fn list_throttles(
        &self,
        scope: &Scope,
        id: Option<&str>,
        name: Option<(&str, bool)>,
        page: Page,
    ) -> StoreResult<(i64, Vec<Throttle>)>;
    /// Deletes a policy with its bindings and exceptions; false if there is none.
    async fn delete_throttle(&self, scope: &Scope, id: &str) -> StoreResult<bool>;

    /// Binds published APIs (by publication record) to a policy, all or nothing. Binding an
    /// API again to the same policy keeps its binding; one bound to another policy in that
    /// environment is refused.
    async fn bind_throttle(
        &self,
        scope: &Scope,
        throttle_id: &str,
        publish_ids: &[String],
    ) -> ThrottleResult<Vec<ThrottleBinding>>;
    /// Removes bindings, each on its own: the ids removed and those that were not there.
    async fn unbind_throttles(
        &self,
        scope: &Scope,
        binding_ids: &[String],
    ) -> StoreResult<(usize, Vec<UnbindFailure>)>;
    /// A page of the published APIs bound (or not bound) to a policy.
    async fn list_throttle_apis(
        &self,
        scope: &Scope,
        throttle_id: &str,
        side: BindingSide,
        filter: &PublicationFilter,
        page: Page,
    ) -> ThrottleResult<(i64, Vec<ThrottledApiOutline>)>;
    /// A page of the policies bound to an API.
    async fn list_api_throttles(
        &self,
        scope: &Scope,
        api_id: &str,
        filter: &ApiThrottleFilter,
        page: Page,
    ) -> ThrottleResult<(i64, Vec<ApiThrottle>)>;

    /// Adds an exception to a policy (an `APP` one must name an app of the instance).
    async fn create_throttle_special(
        &self,
        scope: &Scope,
        throttle_id: &str,
        object_type: SpecialObjectType,
        object_id: &SpecialObjectId,
        call_limits: u32,
    ) -> ThrottleResult<ThrottleSpecial>;
    /// Changes an exception's limit.
    async fn update_throttle_special(
        &self,
        scope: &Scope,
        throttle_id: &str,
        special_id: &str,
        call_limits: u32,
    ) -> ThrottleResult<ThrottleSpecial>;
    /// Removes an exception.
    async fn delete_throttle_special(
        &self,
        scope: &Scope,
        throttle_id: &str,
        special_id: &str,
    ) -> ThrottleResult<()>;
    /// A page of a policy's exceptions, newest first.
    async fn list_throttle_specials(
        &self,
        scope: &Scope,
        throttle_id: &str,
        filter: &SpecialFilter,
        page: Page,
    ) -> ThrottleResult<(i64, Vec<ThrottleSpecial>)>;

    /// Every published API of an instance with a policy in force, with the policy and its
    /// exceptions: what the data plane enforces.
    async fn throttled_apis(&self, instance_id: &str) -> StoreResult<Vec<ThrottledApi>>;
}
