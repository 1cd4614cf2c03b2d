//! Gateway responses of API groups (`/api-groups/{group_id}/gateway-responses`), and what the
//! data plane reads of them ([`GatewayResponseStore::instance_gateway_responses`]).
//!
//! Every group has a default response, made with the group (its id is the group's) and never
//! deleted; up to [`MAX_CUSTOM_RESPONSES`](apigw_domain::gateway_response::MAX_CUSTOM_RESPONSES)
//! more, names unique per group. A response an API names (`response_id`, also in a published
//! or kept version) cannot be deleted. Deleting the group deletes its responses.

use crate::model::Scope;
use crate::{StoreError, StoreResult};
use apigw_domain::gateway_response::{
    GatewayResponse, ResponseName, ResponseRule, ResponseRules, ResponseType,
};
use apigw_domain::Page;
use async_trait::async_trait;

/// Why a gateway response call did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum GatewayResponseError {
    /// The store failed, or the instance is not in scope (`StoreError::NotFound`).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The group is not in the caller's scope.
    #[error("the API group does not exist")]
    GroupNotFound,
    /// The group has no response with this id.
    #[error("the gateway response does not exist")]
    NotFound,
    /// The group has a response of this name.
    #[error("the gateway response name already exists")]
    NameExists,
    /// The group holds its maximum number of responses.
    #[error("the gateway response limit is reached")]
    LimitReached,
    /// The group's default response cannot be deleted.
    #[error("the default gateway response cannot be deleted")]
    DefaultLocked,
    /// An API, or a published or kept version of one, names the response.
    #[error("the gateway response is used by APIs")]
    InUse,
}

impl From<sqlx::Error> for GatewayResponseError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Result of gateway response calls.
pub type GatewayResponseResult<T> = Result<T, GatewayResponseError>;

/// Gateway responses. Each method is one transaction (changes bump the configuration
/// revision, so every gateway node rebuilds its routes); the name's uniqueness and the limit
/// per group hold under concurrent callers.
#[async_trait]
pub trait GatewayResponseStore: Send + Sync + 'static {
    /// Creates a response of group `group_id`. Errors: `GroupNotFound`, `NameExists`,
    /// `LimitReached` (`max_custom` besides the default).
    async fn create_gateway_response(
        &self,
        scope: &Scope,
        group_id: &str,
        name: ResponseName,
        rules: ResponseRules,
        max_custom: usize,
    ) -> GatewayResponseResult<GatewayResponse>;
    /// One response of the group. Errors: `GroupNotFound`, `NotFound`.
    async fn gateway_response(
        &self,
        scope: &Scope,
        group_id: &str,
        id: &str,
    ) -> GatewayResponseResult<GatewayResponse>;
    /// Renames a response and replaces all its rules. Errors: `GroupNotFound`, `NotFound`,
    /// `NameExists`.
    async fn update_gateway_response(
        &self,
        scope: &Scope,
        group_id: &str,
        id: &str,
        name: ResponseName,
        rules: ResponseRules,
    ) -> GatewayResponseResult<GatewayResponse>;
    /// Sets the rule of one type (`None`: back to the gateway's own answer). Errors:
    /// `GroupNotFound`, `NotFound`.
    async fn set_gateway_response_rule(
        &self,
        scope: &Scope,
        group_id: &str,
        id: &str,
        kind: ResponseType,
        rule: Option<ResponseRule>,
    ) -> GatewayResponseResult<GatewayResponse>;
    /// Deletes a response. Errors: `GroupNotFound`, `NotFound`, `DefaultLocked`, `InUse`.
    async fn delete_gateway_response(
        &self,
        scope: &Scope,
        group_id: &str,
        id: &str,
    ) -> GatewayResponseResult<()>;
    /// A page of the group's responses (the default first, then oldest first) and their
    /// total. Errors: `GroupNotFound`.
    async fn list_gateway_responses(
        &self,
        scope: &Scope,
        group_id: &str,
        page: Page,
    ) -> GatewayResponseResult<(i64, Vec<GatewayResponse>)>;
    /// Every response of instance `instance_id` that changes some answer, for the data plane
    /// (no scope: the gateway serves one instance).
    async fn instance_gateway_responses(
        &self,
        instance_id: &str,
    ) -> StoreResult<Vec<GatewayResponse>>;
}
