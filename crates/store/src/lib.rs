//! Persistence for apigw: one [`Store`] interface with its SQL implementation (SQLite or
//! PostgreSQL), migrations and encryption at rest. Every method takes the caller's scope (project, instance) so an object of
//! another project cannot be reached, and returns secrets already decrypted into domain types.

pub mod acl_policies;
pub mod apis;
pub mod authz;
pub mod certificates;
pub mod crypto;
pub mod env_variables;
pub mod error;
pub mod features;
pub mod gateway_responses;
pub mod group_domains;
pub mod ledger;
pub mod member_groups;
pub mod member_health;
pub mod model;
pub mod nodes;
pub mod plugins;
pub mod revision;
pub mod sign_keys;
pub mod sql;
pub mod test_db;
pub mod throttle_counts;
pub mod throttles;
pub mod vpc_channels;

pub use acl_policies::AclPolicyStore;
pub use apis::ApiStore;
pub use authz::AuthzStore;
pub use certificates::CertificateStore;
pub use env_variables::EnvVariableStore;
pub use error::StoreError;
pub use features::{FeatureStore, InstanceFeature};
pub use gateway_responses::GatewayResponseStore;
pub use group_domains::GroupDomainStore;
pub use ledger::QuotaLedgerStore;
pub use member_groups::VpcMemberGroupStore;
pub use member_health::MemberHealthStore;
pub use model::*;
pub use nodes::GatewayNodeStore;
pub use plugins::PluginStore;
pub use sign_keys::SignKeyStore;
pub use sql::{Backend, Dump, DumpTable, DumpValue, ImportSummary, PostgresOptions, SqlStore};
pub use throttle_counts::ThrottleCountStore;
pub use throttles::ThrottleStore;
pub use vpc_channels::VpcChannelStore;

use apigw_domain::{AppCodeValue, AppSecret, Page};
use async_trait::async_trait;

/// Result of store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// Everything apigw keeps: the sum of the per-concern stores. Implementations must make each
/// method one atomic transaction and enforce the uniqueness and count limits named in the docs
/// even under concurrent callers.
pub trait Store:
    IdentityStore
    + AppStore
    + ApiStore
    + AuthzStore
    + ThrottleStore
    + AclPolicyStore
    + GroupDomainStore
    + CertificateStore
    + EnvVariableStore
    + GatewayResponseStore
    + SignKeyStore
    + PluginStore
    + VpcChannelStore
    + VpcMemberGroupStore
    + MemberHealthStore
    + FeatureStore
    + RevisionStore
    + QuotaLedgerStore
    + GatewayNodeStore
    + ThrottleCountStore
{
}

impl<T> Store for T where
    T: IdentityStore
        + AppStore
        + ApiStore
        + AuthzStore
        + ThrottleStore
        + AclPolicyStore
        + GroupDomainStore
        + CertificateStore
        + EnvVariableStore
        + GatewayResponseStore
        + SignKeyStore
        + PluginStore
        + VpcChannelStore
        + VpcMemberGroupStore
        + MemberHealthStore
        + FeatureStore
        + RevisionStore
        + QuotaLedgerStore
        + GatewayNodeStore
        + ThrottleCountStore
{
}

/// The configuration revision (see [`revision`]): how a node tells whether its in-memory
/// state has every committed change.
#[async_trait]
pub trait RevisionStore: Send + Sync + 'static {
    /// The revision of the last committed change to what the data plane serves.
    async fn revision(&self) -> StoreResult<i64>;
}

/// Users, projects, roles, tokens and access keys (the Keystone/IAM side).
#[async_trait]
pub trait IdentityStore: Send + Sync + 'static {
    /// Creates the default domain, admin project, admin user and default instance once; later
    /// calls change nothing and say so.
    async fn bootstrap(&self, admin: BootstrapAdmin) -> StoreResult<BootstrapOutcome>;

    /// Looks a domain up by id or name.
    async fn find_domain(
        &self,
        id: Option<&str>,
        name: Option<&str>,
    ) -> StoreResult<Option<Domain>>;
    /// Creates a project and its `default` instance. Duplicate name in the domain: `Duplicate`.
    async fn create_project(&self, project: NewProject) -> StoreResult<(Project, Instance)>;
    /// A project by id.
    async fn get_project(&self, id: &str) -> StoreResult<Option<Project>>;
    /// A project by domain and name.
    async fn find_project(&self, domain_id: &str, name: &str) -> StoreResult<Option<Project>>;
    /// All projects, optionally only those with `name`.
    async fn list_projects(&self, name: Option<&str>) -> StoreResult<Vec<Project>>;
    /// Creates a user. Duplicate name in the domain: `Duplicate`.
    async fn create_user(&self, user: NewUser) -> StoreResult<User>;
    /// A user by id, with the password hash.
    async fn get_user(&self, id: &str) -> StoreResult<Option<UserWithSecret>>;
    /// A user by domain and name, with the password hash.
    async fn find_user(&self, domain_id: &str, name: &str) -> StoreResult<Option<UserWithSecret>>;
    /// All users, optionally only those with `name`.
    async fn list_users(&self, name: Option<&str>) -> StoreResult<Vec<User>>;
    /// Grants `role` to a user on a project (idempotent). Unknown project or user: `NotFound`.
    async fn assign_role(&self, project_id: &str, user_id: &str, role: Role) -> StoreResult<()>;
    /// The roles a user holds on a project.
    async fn roles_of(&self, user_id: &str, project_id: &str) -> StoreResult<Vec<Role>>;
    /// Records an issued token (by hash).
    async fn insert_token(&self, token: TokenRecord) -> StoreResult<()>;
    /// A token by hash.
    async fn get_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>>;
    /// Marks a token revoked; false if unknown.
    async fn revoke_token(&self, hash: &str) -> StoreResult<bool>;

    // ---- access keys (AK/SK) --------------------------------------------------------------

    /// Stores a new access key; the secret is sealed at rest.
    async fn create_access_key(&self, key: NewAccessKey) -> StoreResult<AccessKey>;
    /// An access key by its AK, with the decrypted secret.
    async fn get_access_key(&self, access: &str) -> StoreResult<Option<AccessKeyWithSecret>>;
    /// The access keys of a user.
    async fn list_access_keys(&self, user_id: &str) -> StoreResult<Vec<AccessKey>>;
    /// Changes status and/or description; `NotFound` if unknown.
    async fn update_access_key(
        &self,
        access: &str,
        change: AccessKeyChange,
    ) -> StoreResult<AccessKey>;
    /// Deletes an access key; false if unknown.
    async fn delete_access_key(&self, access: &str) -> StoreResult<bool>;
}

/// Gateway instances, apps and AppCodes (the APIG credential side).
#[async_trait]
pub trait AppStore: Send + Sync + 'static {
    // ---- instances ------------------------------------------------------------------------

    /// Creates a gateway instance in a project.
    async fn create_instance(
        &self,
        project_id: &str,
        instance: NewInstance,
    ) -> StoreResult<Instance>;
    /// An instance, only if it belongs to `project_id`.
    async fn get_instance(&self, project_id: &str, id: &str) -> StoreResult<Option<Instance>>;
    /// A project's instance by name (`default` for ModelArts).
    async fn find_instance_by_name(
        &self,
        project_id: &str,
        name: &str,
    ) -> StoreResult<Option<Instance>>;
    /// A page of a project's instances and the total.
    async fn list_instances(
        &self,
        project_id: &str,
        page: Page,
    ) -> StoreResult<(i64, Vec<Instance>)>;
    /// Deletes an instance with everything in it; false if not in the project.
    async fn delete_instance(&self, project_id: &str, id: &str) -> StoreResult<bool>;

    // ---- apps -----------------------------------------------------------------------------

    /// Creates an app. Errors: `AppNameExists`, `AppKeyExists`, `AppLimitReached` (a limit of
    /// `limits` would be exceeded).
    async fn create_app(&self, scope: &Scope, app: NewApp, limits: AppLimits) -> StoreResult<App>;
    /// Changes name, remark and (when given) key and secret. `NotFound` if the app is not in scope.
    async fn update_app(&self, scope: &Scope, id: &str, change: AppChange) -> StoreResult<App>;
    /// Replaces the AppSecret. `NotFound` if the app is not in scope.
    async fn reset_app_secret(
        &self,
        scope: &Scope,
        id: &str,
        secret: AppSecret,
    ) -> StoreResult<App>;
    /// Deletes an app with its AppCodes and authorizations; false if not in scope.
    async fn delete_app(&self, scope: &Scope, id: &str) -> StoreResult<bool>;
    /// An app in scope.
    async fn get_app(&self, scope: &Scope, id: &str) -> StoreResult<Option<App>>;
    /// A page of apps matching `filter` (newest first) and the total number of matches.
    async fn list_apps(
        &self,
        scope: &Scope,
        filter: &AppFilter,
        page: Page,
    ) -> StoreResult<(i64, Vec<App>)>;
    /// Numbers of apps with and without any API authorization.
    async fn app_quantities(&self, scope: &Scope) -> StoreResult<AppQuantities>;

    // ---- AppCodes -------------------------------------------------------------------------

    /// Adds an AppCode. Errors: `NotFound` (app), `AppCodeLimitReached` (more than
    /// `max_codes`), `AppCodeExists` (value taken in the instance).
    async fn create_app_code(
        &self,
        scope: &Scope,
        app_id: &str,
        value: AppCodeValue,
        max_codes: u32,
    ) -> StoreResult<AppCode>;
    /// A page of an app's AppCodes (newest first) and the total. `NotFound` if the app is not in scope.
    async fn list_app_codes(
        &self,
        scope: &Scope,
        app_id: &str,
        page: Page,
    ) -> StoreResult<(i64, Vec<AppCode>)>;
    /// One AppCode of an app in scope.
    async fn get_app_code(
        &self,
        scope: &Scope,
        app_id: &str,
        code_id: &str,
    ) -> StoreResult<Option<AppCode>>;
    /// Deletes one AppCode; false if not found.
    async fn delete_app_code(
        &self,
        scope: &Scope,
        app_id: &str,
        code_id: &str,
    ) -> StoreResult<bool>;
    /// The AppCode of an app with this value (ModelArts addresses codes by value).
    async fn find_app_code_by_value(
        &self,
        scope: &Scope,
        app_id: &str,
        value: &AppCodeValue,
    ) -> StoreResult<Option<AppCode>>;
    /// Every app of an instance with its credentials, for the data plane's in-memory index.
    async fn app_credentials(&self, instance_id: &str) -> StoreResult<Vec<AppCredentials>>;

    /// One app's credentials (`None` once it is deleted), for patching the data plane's index.
    async fn app_credential(
        &self,
        instance_id: &str,
        app_id: &str,
    ) -> StoreResult<Option<AppCredentials>>;

    /// Replaces the value of an AppCode, keeping its id. `NotFound`, `AppCodeExists`.
    async fn replace_app_code_value(
        &self,
        scope: &Scope,
        app_id: &str,
        code_id: &str,
        value: AppCodeValue,
    ) -> StoreResult<AppCode>;
}
