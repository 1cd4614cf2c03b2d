//! Access control policies (APIG `acls`) and their bindings to published APIs
//! (`acl-bindings`), plus what the data plane reads of them ([`AclBoundApi`]).
//!
//! As with throttling policies, a binding names a publication record but is kept by (API,
//! environment): republishing keeps it, so does taking the API offline there; deleting the API
//! or the environment removes it. A policy still bound cannot be deleted (APIG's rule).

use crate::model::Scope;
use crate::throttles::{BindingSide, PublicationFilter, UnbindFailure};
use crate::{StoreError, StoreResult};
use apigw_domain::acl_policy::AclPolicySpec;
use apigw_domain::authz::AclType;
use apigw_domain::{Page, Timestamp};
use async_trait::async_trait;

/// Why an access control call did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum AclPolicyError {
    /// The store failed, or a generic refusal (see [`StoreError`]).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The policy is not in the caller's scope.
    #[error("access control policy {0} not found")]
    NotFound(String),
    /// Another policy of the instance has this name.
    #[error("the access control policy name already exists")]
    NameExists,
    /// The policy is still bound to APIs.
    #[error("the access control policy is bound to APIs")]
    Bound,
    /// No publication record with this id in the caller's scope.
    #[error("publication {0} not found")]
    PublicationNotFound(String),
    /// The published API is bound to another policy in that environment.
    #[error("the API of publication {0} is bound to another policy")]
    BoundElsewhere(String),
    /// The API is not in the caller's scope.
    #[error("API {0} not found")]
    ApiNotFound(String),
}

impl From<sqlx::Error> for AclPolicyError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Result of access control calls.
pub type AclPolicyResult<T> = Result<T, AclPolicyError>;

/// An access control policy as the management API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclPolicy {
    /// 32 hex id.
    pub id: String,
    /// Name, type and addresses.
    pub spec: AclPolicySpec,
    /// Published APIs bound to it.
    pub bind_num: i64,
    /// Creation or last change.
    pub update_time: Timestamp,
}

/// One published API bound to a policy (answer of a bind call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclBinding {
    /// Binding record id.
    pub id: String,
    /// The policy.
    pub acl_id: String,
    /// The API.
    pub api_id: String,
    /// The environment.
    pub env_id: String,
    /// When it was bound.
    pub create_time: Timestamp,
}

/// A published API in the lists of a policy's APIs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclApiOutline {
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
    /// In the bound list, the binding (id, time); in the unbound list, none.
    pub binding: Option<(String, Timestamp)>,
    /// In the unbound list, the policy of the same type bound there instead, if any.
    pub other_policy: Option<String>,
}

/// A policy bound to an API, as `binded-acls` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiAclPolicy {
    /// The policy.
    pub policy: AclPolicy,
    /// Environment of the binding.
    pub env_id: String,
    /// Its name.
    pub env_name: String,
    /// Binding record id.
    pub bind_id: String,
    /// When it was bound.
    pub bind_time: Timestamp,
}

/// Filters of the policy list.
#[derive(Debug, Clone, Default)]
pub struct AclPolicyFilter {
    /// Exact id.
    pub id: Option<String>,
    /// Name, substring unless `name_exact`.
    pub name: Option<String>,
    /// `precise_search` names `name`.
    pub name_exact: bool,
    /// Only `PERMIT` or `DENY` ones.
    pub acl_type: Option<AclType>,
}

/// Filters of `binded-acls`.
#[derive(Debug, Clone, Default)]
pub struct ApiAclFilter {
    /// Only this policy.
    pub acl_id: Option<String>,
    /// Policies whose name contains this.
    pub acl_name: Option<String>,
    /// Only this environment.
    pub env_id: Option<String>,
}

/// A policy that a batch deletion did not delete, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclDeleteFailure {
    /// The id asked for.
    pub acl_id: String,
    /// Its name, when it exists.
    pub acl_name: Option<String>,
    /// Still bound (else: not found).
    pub bound: bool,
}

/// An IP policy in force on one published API, for the data plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclBoundApi {
    /// The API.
    pub api_id: String,
    /// The environment.
    pub env_id: String,
    /// Allowed or refused.
    pub acl_type: AclType,
    /// The addresses, ranges and blocks as stored.
    pub values: Vec<String>,
}

/// Access control policies and their bindings. Every method except
/// [`AclPolicyStore::acl_bound_apis`] works inside a [`Scope`]; each is one transaction.
#[async_trait]
pub trait AclPolicyStore: Send + Sync + 'static {
    /// Creates a policy; its name must be free in the instance.
    async fn create_acl_policy(
        &self,
        scope: &Scope,
        spec: AclPolicySpec,
    ) -> AclPolicyResult<AclPolicy>;
    /// Replaces a policy's fields; its bindings stay and see the new list.
    async fn update_acl_policy(
        &self,
        scope: &Scope,
        id: &str,
        spec: AclPolicySpec,
    ) -> AclPolicyResult<AclPolicy>;
    /// One policy.
    async fn get_acl_policy(&self, scope: &Scope, id: &str) -> StoreResult<Option<AclPolicy>>;
    /// A page of the instance's policies, most recently changed first.
    async fn list_acl_policies(
        &self,
        scope: &Scope,
        filter: &AclPolicyFilter,
        page: Page,
    ) -> StoreResult<(i64, Vec<AclPolicy>)>;
    /// Deletes an unbound policy.
    async fn delete_acl_policy(&self, scope: &Scope, id: &str) -> AclPolicyResult<()>;
    /// Deletes policies, each on its own: how many went and the ones that did not.
    async fn delete_acl_policies(
        &self,
        scope: &Scope,
        ids: &[String],
    ) -> StoreResult<(usize, Vec<AclDeleteFailure>)>;

    /// Binds published APIs (by publication record) to a policy, all or nothing; binding an
    /// API again to the same policy keeps its binding, one bound to another is refused.
    async fn bind_acl_policy(
        &self,
        scope: &Scope,
        acl_id: &str,
        publish_ids: &[String],
    ) -> AclPolicyResult<Vec<AclBinding>>;
    /// Removes bindings, each on its own: how many went and the ids that were not there.
    async fn unbind_acl_policies(
        &self,
        scope: &Scope,
        binding_ids: &[String],
    ) -> StoreResult<(usize, Vec<UnbindFailure>)>;
    /// A page of the published APIs bound (or not bound) to a policy.
    async fn list_acl_policy_apis(
        &self,
        scope: &Scope,
        acl_id: &str,
        side: BindingSide,
        filter: &PublicationFilter,
        page: Page,
    ) -> AclPolicyResult<(i64, Vec<AclApiOutline>)>;
    /// A page of the policies bound to an API.
    async fn list_api_acl_policies(
        &self,
        scope: &Scope,
        api_id: &str,
        filter: &ApiAclFilter,
        page: Page,
    ) -> AclPolicyResult<(i64, Vec<ApiAclPolicy>)>;

    /// Every published API of an instance with an IP policy in force: what the data plane
    /// enforces.
    async fn acl_bound_apis(&self, instance_id: &str) -> StoreResult<Vec<AclBoundApi>>;
}
