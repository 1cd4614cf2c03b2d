//! Gateway features (see [`apigw_domain::feature`]): per instance, the switches its data plane
//! applies to every API, such as the `app_secret` and `app_basic` authentication modes.

use crate::model::Scope;
use crate::StoreResult;
use apigw_domain::{FeatureSetting, Page, Timestamp};
use async_trait::async_trait;

/// A feature as configured on an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceFeature {
    /// 32 hex id, kept when the feature is configured again.
    pub id: String,
    /// The instance it belongs to.
    pub instance_id: String,
    /// The feature and its setting.
    pub setting: FeatureSetting,
    /// When it was last configured.
    pub update_time: Timestamp,
}

/// The features of gateway instances. Every method is one transaction scoped by project and
/// instance, except the data plane's reader.
#[async_trait]
pub trait FeatureStore: Send + Sync + 'static {
    /// Configures a feature: creates its setting, or replaces it keeping its id (APIG has one
    /// call for both). `NotFound`: the instance.
    async fn set_feature(
        &self,
        scope: &Scope,
        setting: FeatureSetting,
    ) -> StoreResult<InstanceFeature>;

    /// A page of an instance's configured features (by name) and their total.
    async fn list_features(
        &self,
        scope: &Scope,
        page: Page,
    ) -> StoreResult<(i64, Vec<InstanceFeature>)>;

    /// Every configured feature of an instance, for the data plane.
    async fn instance_features(&self, instance_id: &str) -> StoreResult<Vec<InstanceFeature>>;
}
