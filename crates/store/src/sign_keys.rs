//! Signature keys (APIG `signs`) and their bindings to published APIs (`sign-bindings`), plus
//! what the data plane reads of them ([`SignedBackend`]).
//!
//! As with the other policies, a binding names a publication record but is kept by (API,
//! environment): republishing keeps it, so does taking the API offline there; deleting the API
//! or the environment removes it. A key still bound cannot be deleted. The secret is sealed at
//! rest like an AppSecret.

use crate::acl_policies::AclApiOutline;
use crate::model::Scope;
use crate::throttles::{BindingSide, PublicationFilter};
use crate::{StoreError, StoreResult};
use apigw_domain::sign_key::{SignKeyInput, SignKeySpec};
use apigw_domain::{Page, Timestamp};
use async_trait::async_trait;

/// Why a signature key call did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SignKeyError {
    /// The store failed, or the instance is not in scope (`StoreError::NotFound`).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The key is not in the caller's scope.
    #[error("signature key {0} not found")]
    NotFound(String),
    /// Another key of the instance has this name.
    #[error("the signature key name already exists")]
    NameExists,
    /// The instance holds its maximum number of keys.
    #[error("the signature key limit is reached")]
    LimitReached,
    /// The key is still bound to APIs.
    #[error("the signature key is bound to APIs")]
    Bound,
    /// No publication record with this id in the caller's scope.
    #[error("publication {0} not found")]
    PublicationNotFound(String),
    /// The published API is bound to another key in that environment.
    #[error("the API of publication {0} is bound to another signature key")]
    BoundElsewhere(String),
    /// The API is not in the caller's scope.
    #[error("API {0} not found")]
    ApiNotFound(String),
}

impl From<sqlx::Error> for SignKeyError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Result of signature key calls.
pub type SignKeyResult<T> = Result<T, SignKeyError>;

/// A signature key as the management API shows it (the secret included, as APIG shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignKey {
    /// 32 hex id.
    pub id: String,
    /// Name, type, key and secret.
    pub spec: SignKeySpec,
    /// Published APIs bound to it.
    pub bind_num: i64,
    /// When it was created.
    pub create_time: Timestamp,
    /// Creation or last change.
    pub update_time: Timestamp,
}

/// A published API bound to a key, with the key: the answer of a bind call and the items of
/// `binded-signs` (`binding` holds the binding id and time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignApiBinding {
    /// The published API and the binding.
    pub api: AclApiOutline,
    /// The key bound there.
    pub key: SignKey,
}

/// Filters of the key list.
#[derive(Debug, Clone, Default)]
pub struct SignKeyFilter {
    /// Exact id.
    pub id: Option<String>,
    /// Name, substring unless `name_exact`.
    pub name: Option<String>,
    /// `precise_search` names `name`.
    pub name_exact: bool,
}

/// Filters of `binded-signs`.
#[derive(Debug, Clone, Default)]
pub struct ApiSignFilter {
    /// Only this key.
    pub sign_id: Option<String>,
    /// Keys whose name contains this.
    pub sign_name: Option<String>,
    /// Only this environment.
    pub env_id: Option<String>,
}

/// A key in force on one published API, for the data plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBackend {
    /// The API.
    pub api_id: String,
    /// The environment.
    pub env_id: String,
    /// The key, its secret opened.
    pub key: SignKeySpec,
}

/// Signature keys and their bindings. Every method except [`SignKeyStore::signed_backends`]
/// works inside a [`Scope`]; each is one transaction.
#[async_trait]
pub trait SignKeyStore: Send + Sync + 'static {
    /// Creates a key (fields left out generated); its name must be free in the instance, and
    /// the instance below its limit.
    async fn create_sign_key(&self, scope: &Scope, input: SignKeyInput) -> SignKeyResult<SignKey>;
    /// Replaces a key's fields (fields left out kept while the type stays); its bindings stay
    /// and sign with the new values from the next call on.
    async fn update_sign_key(
        &self,
        scope: &Scope,
        id: &str,
        input: SignKeyInput,
    ) -> SignKeyResult<SignKey>;
    /// A page of the instance's keys, most recently changed first.
    async fn list_sign_keys(
        &self,
        scope: &Scope,
        filter: &SignKeyFilter,
        page: Page,
    ) -> StoreResult<(i64, Vec<SignKey>)>;
    /// Deletes an unbound key.
    async fn delete_sign_key(&self, scope: &Scope, id: &str) -> SignKeyResult<()>;

    /// Binds published APIs (by publication record) to a key, all or nothing; binding an API
    /// again to the same key keeps its binding, one bound to another key is refused.
    async fn bind_sign_key(
        &self,
        scope: &Scope,
        sign_id: &str,
        publish_ids: &[String],
    ) -> SignKeyResult<Vec<SignApiBinding>>;
    /// Removes one binding; false if it is not in scope.
    async fn unbind_sign_key(&self, scope: &Scope, binding_id: &str) -> StoreResult<bool>;
    /// A page of the published APIs bound (or not bound) to a key.
    async fn list_sign_key_apis(
        &self,
        scope: &Scope,
        sign_id: &str,
        side: BindingSide,
        filter: &PublicationFilter,
        page: Page,
    ) -> SignKeyResult<(SignKey, i64, Vec<AclApiOutline>)>;
    /// A page of the keys bound to an API.
    async fn list_api_sign_keys(
        &self,
        scope: &Scope,
        api_id: &str,
        filter: &ApiSignFilter,
        page: Page,
    ) -> SignKeyResult<(i64, Vec<SignApiBinding>)>;

    /// Every published API of an instance with a key in force: what the data plane signs.
    async fn signed_backends(&self, instance_id: &str) -> StoreResult<Vec<SignedBackend>>;
}
