//! What decides whether an app may call an API: app authorizations (spec §3.5), app ACLs
//! (§1.12) and app quotas with their bindings (§1.13), plus the [`AuthzSnapshot`] of one
//! instance that the data plane keeps in memory.
//!
//! Calls that can miss more than one kind of object (an app, a quota, an API, an environment)
//! return [`AuthzError`], which names what is missing; the others return [`StoreResult`]
//! where `NotFound` means the one object the call addresses.

use crate::model::Scope;
use crate::{StoreError, StoreResult};
use apigw_domain::authz::{AclRule, QuotaLimits, QuotaName};
use apigw_domain::{AppRemark, Page, Timestamp};
use async_trait::async_trait;

/// Why an authorization, ACL or quota call did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum AuthzError {
    /// The store failed, or a generic refusal (see [`StoreError`]).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The app quota is not in the caller's scope.
    #[error("app quota {0} not found")]
    QuotaNotFound(String),
    /// An app is not in the caller's scope.
    #[error("app {0} not found")]
    AppNotFound(String),
    /// An API is not in the caller's scope.
    #[error("API {0} not found")]
    ApiNotFound(String),
    /// The environment is not in the caller's scope.
    #[error("environment {0} not found")]
    EnvNotFound(String),
    /// The authorization record is not in the caller's scope.
    #[error("authorization {0} not found")]
    AuthNotFound(String),
    /// Another app quota of the instance has this name.
    #[error("the app quota name already exists")]
    QuotaNameExists,
    /// The app is bound to another quota (an app has at most one).
    #[error("app {0} is bound to another quota")]
    AppBoundElsewhere(String),
    /// The app is not bound to the quota addressed.
    #[error("app {app_id} is not bound to quota {quota_id}")]
    AppNotBound {
        /// The app.
        app_id: String,
        /// The quota.
        quota_id: String,
    },
}

impl From<sqlx::Error> for AuthzError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Result of calls that can miss more than one kind of object.
pub type AuthzResult<T> = Result<T, AuthzError>;

// ---- ACL ----------------------------------------------------------------------------------

/// The ACL of one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppAcl {
    /// The app.
    pub app_id: String,
    /// Type and values.
    pub rule: AclRule,
    /// When it was last set.
    pub update_time: Timestamp,
}

// ---- quotas -------------------------------------------------------------------------------

/// An app quota (`AppQuotaInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppQuota {
    /// 32 hex id (`app_quota_id`).
    pub id: String,
    /// Unique name in the instance.
    pub name: QuotaName,
    /// What it allows.
    pub limits: QuotaLimits,
    /// Description (≤255, no `<>`).
    pub remark: AppRemark,
    /// Creation time.
    pub create_time: Timestamp,
    /// Number of apps bound to it.
    pub bound_app_num: i64,
}

/// The fields of an app quota a caller sets (create, and the full replacement of update).
#[derive(Debug, Clone)]
pub struct AppQuotaSpec {
    /// Name, unique in the instance.
    pub name: QuotaName,
    /// What it allows.
    pub limits: QuotaLimits,
    /// Description.
    pub remark: AppRemark,
}

/// The binding of one app to a quota (`AppQuotaAppBinding`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaBinding {
    /// The quota.
    pub app_quota_id: String,
    /// The app.
    pub app_id: String,
    /// When the app was bound.
    pub bound_time: Timestamp,
}

/// Which apps a quota's app list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaAppSet {
    /// Apps bound to this quota.
    Bound,
    /// Apps bound to no quota (an app bound elsewhere must be unbound first).
    Bindable,
}

/// The quota an app is bound to, as an app list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppQuotaRef {
    /// Quota id.
    pub app_quota_id: String,
    /// Quota name.
    pub app_quota_name: String,
    /// When the app was bound.
    pub bound_time: Timestamp,
}

/// An app in a quota's app lists (`AppQuotaAppInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaApp {
    /// App id.
    pub app_id: String,
    /// App name.
    pub name: String,
    /// 1 = enabled.
    pub status: i64,
    /// AppKey.
    pub app_key: String,
    /// Description.
    pub remark: String,
    /// Creation time.
    pub register_time: Timestamp,
    /// Last change.
    pub update_time: Timestamp,
    /// The quota it is bound to, if any.
    pub quota: Option<AppQuotaRef>,
}

// ---- authorizations -----------------------------------------------------------------------

/// An authorization of an app to call an API in an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppAuth {
    /// 32 hex id of the record.
    pub id: String,
    /// The app.
    pub app_id: String,
    /// The API.
    pub api_id: String,
    /// The environment.
    pub env_id: String,
    /// When it was granted.
    pub auth_time: Timestamp,
}

/// One app × API pair of an authorize call: the record, and whether this call created it or
/// found it already there (`SKIPPED` on the wire).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthGrant {
    /// The record (the existing one when `created` is false).
    pub auth: AppAuth,
    /// Whether this call created it.
    pub created: bool,
    /// Name of the API.
    pub api_name: String,
    /// Name of the app.
    pub app_name: String,
}

/// An authorization with the names around it (`ApiAuthInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppAuthInfo {
    /// The record.
    pub auth: AppAuth,
    /// API name.
    pub api_name: String,
    /// API type (1 public, 2 private).
    pub api_type: i64,
    /// API description.
    pub api_remark: String,
    /// Group of the API.
    pub group_id: String,
    /// Name of that group.
    pub group_name: String,
    /// Name of the environment.
    pub env_name: String,
    /// App name.
    pub app_name: String,
    /// App description.
    pub app_remark: String,
    /// `apig`.
    pub app_type: String,
    /// `USER`.
    pub app_creator: String,
    /// Id of the API's publication in the environment, if it is published there.
    pub publish_id: Option<String>,
}

/// Filters of the authorization lists (`binded-apis`, `binded-apps`). Names match fuzzily,
/// ids exactly. A given `app_id` or `api_id` must exist (`AppNotFound`, `ApiNotFound`).
#[derive(Debug, Clone, Default)]
pub struct AuthFilter {
    /// Only this app.
    pub app_id: Option<String>,
    /// Apps whose name contains this.
    pub app_name: Option<String>,
    /// Only this API.
    pub api_id: Option<String>,
    /// APIs whose name contains this.
    pub api_name: Option<String>,
    /// Only APIs of this group.
    pub group_id: Option<String>,
    /// Only APIs of groups whose name contains this.
    pub group_name: Option<String>,
    /// Only this environment.
    pub env_id: Option<String>,
}

/// Filters of `unbinded-apis` besides the mandatory app and environment.
#[derive(Debug, Clone, Default)]
pub struct ApiOutlineFilter {
    /// Only APIs of this group.
    pub group_id: Option<String>,
    /// Only this API.
    pub api_id: Option<String>,
    /// APIs whose name contains this.
    pub api_name: Option<String>,
}

/// An API as the `unbinded-apis` list shows it (`ApiOutline`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiOutline {
    /// API id.
    pub id: String,
    /// API name.
    pub name: String,
    /// Description.
    pub remark: String,
    /// `APP` (only APIs that authenticate apps are listed).
    pub auth_type: String,
    /// Request path.
    pub req_uri: String,
    /// Group id.
    pub group_id: String,
    /// Group name.
    pub group_name: String,
    /// The environment asked about, with the publication there, when the API is published in it.
    pub run_env: Option<RunEnv>,
}

/// Where an API is published: environment and publication record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEnv {
    /// Environment id.
    pub env_id: String,
    /// Environment name.
    pub env_name: String,
    /// Publication record id.
    pub publish_id: String,
}

// ---- data-plane snapshot ------------------------------------------------------------------

/// The quota limits one app is bound to, for the data plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppQuotaLimits {
    /// The app.
    pub app_id: String,
    /// The quota (windows are counted per app, so the id only identifies the policy).
    pub app_quota_id: String,
    /// What the quota allows.
    pub limits: QuotaLimits,
}

/// Everything of one instance that decides whether an authenticated app may call an API:
/// read in one transaction, so the parts are consistent with each other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthzSnapshot {
    /// Every authorization as (app_id, api_id, env_id).
    pub auths: Vec<(String, String, String)>,
    /// Every app ACL.
    pub acls: Vec<AppAcl>,
    /// Every quota binding with its limits.
    pub quotas: Vec<AppQuotaLimits>,
}

/// App authorizations, ACLs and quotas. Every method is one transaction scoped by project and
/// instance: an object of another project or instance is missing.
#[async_trait]
pub trait AuthzStore: Send + Sync + 'static {
    // ---- ACL ------------------------------------------------------------------------------

    /// Sets (creates or replaces) an app's ACL. `NotFound`: the app.
    async fn set_app_acl(&self, scope: &Scope, app_id: &str, rule: AclRule) -> StoreResult<AppAcl>;
    /// An app's ACL, `None` if it has none. `NotFound`: the app.
    async fn get_app_acl(&self, scope: &Scope, app_id: &str) -> StoreResult<Option<AppAcl>>;
    /// Removes an app's ACL; false if it had none. `NotFound`: the app.
    async fn delete_app_acl(&self, scope: &Scope, app_id: &str) -> StoreResult<bool>;

    // ---- quotas ---------------------------------------------------------------------------

    /// Creates an app quota. Errors: `QuotaNameExists`.
    async fn create_app_quota(&self, scope: &Scope, spec: AppQuotaSpec) -> AuthzResult<AppQuota>;
    /// Replaces the settable fields of a quota. Errors: `QuotaNotFound`, `QuotaNameExists`.
    async fn update_app_quota(
        &self,
        scope: &Scope,
        id: &str,
        spec: AppQuotaSpec,
    ) -> AuthzResult<AppQuota>;
    /// A quota in scope.
    async fn get_app_quota(&self, scope: &Scope, id: &str) -> StoreResult<Option<AppQuota>>;
    /// A page of quotas whose name contains `name` (all when `None`), newest first, and the
    /// total number of matches.
    async fn list_app_quotas(
        &self,
        scope: &Scope,
        name: Option<&str>,
        page: Page,
    ) -> StoreResult<(i64, Vec<AppQuota>)>;
    /// Deletes a quota and its bindings; false if not in scope.
    async fn delete_app_quota(&self, scope: &Scope, id: &str) -> StoreResult<bool>;
    /// Binds apps to a quota, all or none. An app already bound to this quota keeps its
    /// binding (and bound time). Errors: `QuotaNotFound`, `AppNotFound` (first missing app),
    /// `AppBoundElsewhere` (first app bound to another quota).
    async fn bind_app_quota(
        &self,
        scope: &Scope,
        quota_id: &str,
        app_ids: &[String],
    ) -> AuthzResult<Vec<QuotaBinding>>;
    /// Unbinds an app from a quota. Errors: `QuotaNotFound`, `AppNotFound`, `AppNotBound`.
    async fn unbind_app_quota(
        &self,
        scope: &Scope,
        quota_id: &str,
        app_id: &str,
    ) -> AuthzResult<()>;
    /// A page of the apps bound to a quota, or of the apps bound to none, optionally only those
    /// whose name contains `app_name`, and the total. Errors: `QuotaNotFound`.
    async fn list_quota_apps(
        &self,
        scope: &Scope,
        quota_id: &str,
        set: QuotaAppSet,
        app_name: Option<&str>,
        page: Page,
    ) -> AuthzResult<(i64, Vec<QuotaApp>)>;
    /// The quota an app is bound to, `None` if none. `NotFound`: the app.
    async fn app_bound_quota(&self, scope: &Scope, app_id: &str) -> StoreResult<Option<AppQuota>>;

    // ---- authorizations -------------------------------------------------------------------

    /// Authorizes every app for every API in the environment, all or nothing. A pair that is
    /// already authorized is returned with `created: false`. Errors: `EnvNotFound`,
    /// `AppNotFound`, `ApiNotFound` (the first missing one, checked in that order).
    async fn authorize_apps(
        &self,
        scope: &Scope,
        env_id: &str,
        app_ids: &[String],
        api_ids: &[String],
    ) -> AuthzResult<Vec<AuthGrant>>;
    /// Cancels one authorization; the app it belonged to, or `None` if not in scope.
    async fn delete_app_auth(&self, scope: &Scope, id: &str) -> StoreResult<Option<String>>;
    /// A page of authorizations matching `filter`, newest first, and the total. Errors:
    /// `AppNotFound`, `ApiNotFound` (a given `app_id` or `api_id` that does not exist).
    async fn list_app_auths(
        &self,
        scope: &Scope,
        filter: &AuthFilter,
        page: Page,
    ) -> AuthzResult<(i64, Vec<AppAuthInfo>)>;
    /// A page of the APIs with `auth_type` `APP` that the app is not authorized for in the
    /// environment, newest first, and the total. Errors: `AppNotFound`, `EnvNotFound`.
    async fn list_unauthorized_apis(
        &self,
        scope: &Scope,
        app_id: &str,
        env_id: &str,
        filter: &ApiOutlineFilter,
        page: Page,
    ) -> AuthzResult<(i64, Vec<ApiOutline>)>;

    // ---- data plane -----------------------------------------------------------------------

    /// All authorizations, ACLs and quota bindings of one instance, read consistently.
    async fn authz_snapshot(&self, instance_id: &str) -> StoreResult<AuthzSnapshot>;

    /// The same as [`authz_snapshot`](Self::authz_snapshot), for one app only (the data plane
    /// patches that app's entry after a change that concerns only it).
    async fn app_authz(&self, instance_id: &str, app_id: &str) -> StoreResult<AuthzSnapshot>;

    /// What quota `quota_id` of instance `instance_id` allows, `None` if it does not exist
    /// (the data plane puts a changed quota in force for every app bound to it at once).
    async fn quota_limits(
        &self,
        instance_id: &str,
        quota_id: &str,
    ) -> StoreResult<Option<QuotaLimits>>;
}
