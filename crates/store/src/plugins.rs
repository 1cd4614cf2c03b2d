//! Plug-ins (APIG `plugins`) and their attachments to published APIs, plus what the data
//! plane reads of them ([`AttachedPlugin`]).
//!
//! An attachment names a plug-in, an API and an environment the API is published in; the API
//! has at most one plug-in of each type there, and attaching another of that type replaces
//! the first (APIG's rule). As with the policies' bindings it is kept by (API, environment):
//! taking the API offline keeps it, deleting the API or the environment removes it. A plug-in
//! still attached cannot be deleted.

use crate::model::Scope;
use crate::throttles::BindingSide;
use crate::{StoreError, StoreResult};
use apigw_domain::plugin::{PluginContent, PluginSpec};
use apigw_domain::{Page, Timestamp};
use async_trait::async_trait;

/// Why a plug-in call did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The store failed, or the instance is not in scope (`StoreError::NotFound`).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The plug-in is not in the caller's scope.
    #[error("plugin {0} not found")]
    NotFound(String),
    /// Another plug-in of the instance has this name.
    #[error("the plugin name already exists")]
    NameExists,
    /// The instance holds its maximum number of plug-ins.
    #[error("the plugin limit is reached")]
    LimitReached,
    /// The plug-in is still attached to APIs.
    #[error("the plugin is attached to APIs")]
    Attached,
    /// An update names another type than the plug-in's (APIG does not change a type).
    #[error("a plugin's type cannot change")]
    TypeChanged,
    /// The API is not in the caller's scope.
    #[error("API {0} not found")]
    ApiNotFound(String),
    /// The environment is not in the caller's instance.
    #[error("environment {0} not found")]
    EnvNotFound(String),
    /// The API is not published in the environment.
    #[error("API {api_id} is not published in environment {env_id}")]
    NotPublished {
        /// The API.
        api_id: String,
        /// The environment.
        env_id: String,
    },
    /// A CORS plug-in does not allow the method of an API it would apply to.
    #[error("the CORS plugin does not allow {method}, the method of API {api_id}")]
    MethodNotAllowed {
        /// The API.
        api_id: String,
        /// Its method.
        method: String,
    },
    /// One attach call names two plug-ins of one type for the same API.
    #[error("two plugins of type {0} for one API")]
    SameTypeTwice(String),
}

impl From<sqlx::Error> for PluginError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Result of plug-in calls.
pub type PluginResult<T> = Result<T, PluginError>;

/// A plug-in as the management API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plugin {
    /// 32 hex id.
    pub id: String,
    /// Name, content (and so type) and remark.
    pub spec: PluginSpec,
    /// When it was created.
    pub create_time: Timestamp,
    /// Creation or last change.
    pub update_time: Timestamp,
}

/// One attachment, with its plug-in and API (the attach answer, `attached-plugins`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginAttachment {
    /// Attachment id.
    pub id: String,
    /// When it was made.
    pub attached_time: Timestamp,
    /// The plug-in.
    pub plugin: Plugin,
    /// The environment.
    pub env_id: String,
    /// Its name.
    pub env_name: String,
    /// The API.
    pub api_id: String,
    /// Its name.
    pub api_name: String,
}

/// A published API in a plug-in's lists (`PluginApiInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginApi {
    /// API id.
    pub api_id: String,
    /// API name.
    pub api_name: String,
    /// `type` (1 public, 2 private).
    pub api_type: i64,
    /// `req_protocol`.
    pub req_protocol: String,
    /// `req_method`.
    pub req_method: String,
    /// `req_uri`.
    pub req_uri: String,
    /// `auth_type`.
    pub auth_type: String,
    /// `match_mode`.
    pub match_mode: String,
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
    /// In the attached list, the attachment (id, time).
    pub attachment: Option<(String, Timestamp)>,
}

/// Filters of the plug-in list.
#[derive(Debug, Clone, Default)]
pub struct PluginFilter {
    /// Exact id.
    pub id: Option<String>,
    /// Name, substring unless `name_exact`.
    pub name: Option<String>,
    /// `precise_search` names `plugin_name`.
    pub name_exact: bool,
    /// Only this type.
    pub plugin_type: Option<String>,
}

/// Filters of an API's plug-in lists (`attached-plugins`, `attachable-plugins`).
#[derive(Debug, Clone, Default)]
pub struct ApiPluginFilter {
    /// The environment (`attachable-plugins` needs one).
    pub env_id: Option<String>,
    /// Environments whose name contains this (`attached-plugins`).
    pub env_name: Option<String>,
    /// Only this plug-in.
    pub plugin_id: Option<String>,
    /// Plug-ins whose name contains this.
    pub plugin_name: Option<String>,
    /// Only this type.
    pub plugin_type: Option<String>,
}

/// Filters of a plug-in's API lists (`attached-apis`, `attachable-apis`).
#[derive(Debug, Clone, Default)]
pub struct PluginApiFilter {
    /// The environment (`attachable-apis` needs one).
    pub env_id: Option<String>,
    /// Only this API.
    pub api_id: Option<String>,
    /// APIs whose name contains this.
    pub api_name: Option<String>,
    /// Only this group's.
    pub group_id: Option<String>,
    /// Only this method.
    pub req_method: Option<String>,
    /// Paths that contain this.
    pub req_uri: Option<String>,
}

/// What an attach or detach call names: plug-ins and APIs (one of the two lists has one
/// item), in one environment.
#[derive(Debug, Clone)]
pub struct AttachTarget<'a> {
    /// The environment.
    pub env_id: &'a str,
    /// The plug-ins.
    pub plugin_ids: &'a [String],
    /// The APIs.
    pub api_ids: &'a [String],
}

/// A plug-in in force on one published API, for the data plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedPlugin {
    /// The API.
    pub api_id: String,
    /// The environment.
    pub env_id: String,
    /// The plug-in.
    pub plugin_id: String,
    /// The project owning the instance (the tenant a `rate_limit` plug-in's excluded
    /// tenants are compared with).
    pub project_id: String,
    /// The plug-in's configuration.
    pub content: PluginContent,
}

/// Plug-ins and their attachments. Every method except [`PluginStore::attached_plugins`]
/// works inside a [`Scope`]; each is one transaction.
#[async_trait]
pub trait PluginStore: Send + Sync + 'static {
    /// Creates a plug-in; its name must be free in the instance, and the instance below its
    /// limit.
    async fn create_plugin(&self, scope: &Scope, spec: PluginSpec) -> PluginResult<Plugin>;
    /// Replaces a plug-in's name, content and remark (its type stays); the APIs it is attached
    /// to follow the new content from their next call.
    async fn update_plugin(
        &self,
        scope: &Scope,
        id: &str,
        spec: PluginSpec,
    ) -> PluginResult<Plugin>;
    /// One plug-in.
    async fn get_plugin(&self, scope: &Scope, id: &str) -> PluginResult<Plugin>;
    /// A page of the instance's plug-ins, most recently created first.
    async fn list_plugins(
        &self,
        scope: &Scope,
        filter: &PluginFilter,
        page: Page,
    ) -> StoreResult<(i64, Vec<Plugin>)>;
    /// Deletes a plug-in attached nowhere.
    async fn delete_plugin(&self, scope: &Scope, id: &str) -> PluginResult<()>;

    /// Attaches every plug-in of `target` to every API of it, all or nothing: each API must
    /// be published in the environment; a plug-in of the same type attached there before is
    /// replaced; attaching the same plug-in again keeps its attachment.
    async fn attach_plugins(
        &self,
        scope: &Scope,
        target: AttachTarget<'_>,
    ) -> PluginResult<Vec<PluginAttachment>>;
    /// Removes the attachments of `target` that exist (the plug-ins, APIs and environment
    /// must).
    async fn detach_plugins(&self, scope: &Scope, target: AttachTarget<'_>) -> PluginResult<()>;
    /// A page of the attachments of an API's plug-ins, latest first.
    async fn list_api_attachments(
        &self,
        scope: &Scope,
        api_id: &str,
        filter: &ApiPluginFilter,
        page: Page,
    ) -> PluginResult<(i64, Vec<PluginAttachment>)>;
    /// A page of the plug-ins not attached to an API in `filter.env_id`.
    async fn list_api_attachable_plugins(
        &self,
        scope: &Scope,
        api_id: &str,
        filter: &ApiPluginFilter,
        page: Page,
    ) -> PluginResult<(i64, Vec<Plugin>)>;
    /// A page of the published APIs a plug-in is attached to (or, `side`, is not attached to
    /// in `filter.env_id`).
    async fn list_plugin_apis(
        &self,
        scope: &Scope,
        plugin_id: &str,
        side: BindingSide,
        filter: &PluginApiFilter,
        page: Page,
    ) -> PluginResult<(i64, Vec<PluginApi>)>;

    /// Every plug-in in force on a published API of an instance: what the data plane applies.
    async fn attached_plugins(&self, instance_id: &str) -> StoreResult<Vec<AttachedPlugin>>;
}
