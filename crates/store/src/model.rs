//! The records the store keeps, as the rest of apigw sees them (secrets already decrypted).

pub use apigw_domain::identity::Role;
use apigw_domain::{
    AppCodeValue, AppKey, AppName, AppRemark, AppSecret, InstanceDescription, InstanceName,
    Timestamp,
};

/// The identity domain every object lives in (only `default` for now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// Domain id (`default`).
    pub id: String,
    /// Domain name (`Default`).
    pub name: String,
}

/// What first start creates, with the admin password already hashed.
#[derive(Debug, Clone)]
pub struct BootstrapAdmin {
    /// Argon2 hash of the admin password.
    pub password_hash: String,
}

/// What `bootstrap` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapOutcome {
    /// The installation was fresh and has been created.
    Created {
        /// Id of the `admin` project.
        project_id: String,
        /// Id of the `admin` user.
        user_id: String,
        /// Id of the `default` instance of the admin project.
        instance_id: String,
    },
    /// Everything existed already; nothing changed.
    AlreadyDone,
}

/// A Keystone project: the unit of ownership of gateway objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// 32 hex id.
    pub id: String,
    /// Owning domain.
    pub domain_id: String,
    /// Unique name in the domain.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Disabled projects cannot be scoped to.
    pub enabled: bool,
}

/// A project to create.
#[derive(Debug, Clone)]
pub struct NewProject {
    /// Owning domain.
    pub domain_id: String,
    /// Unique name in the domain.
    pub name: String,
    /// Free text.
    pub description: String,
}

/// A user without secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// 32 hex id.
    pub id: String,
    /// Owning domain.
    pub domain_id: String,
    /// Unique name in the domain.
    pub name: String,
    /// Project used when a login names none.
    pub default_project_id: Option<String>,
    /// Disabled users cannot log in.
    pub enabled: bool,
}

/// A user with the password hash, for login.
#[derive(Debug, Clone)]
pub struct UserWithSecret {
    /// The user.
    pub user: User,
    /// Argon2 PHC string.
    pub password_hash: String,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Owning domain.
    pub domain_id: String,
    /// Unique name in the domain.
    pub name: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// Project used when a login names none.
    pub default_project_id: Option<String>,
}

/// An issued token, kept by the SHA-256 of its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Hex SHA-256 of the bearer value.
    pub hash: String,
    /// Who it authenticates.
    pub user_id: String,
    /// The project it is scoped to.
    pub project_id: String,
    /// Authentication methods, comma-separated (`password`).
    pub methods: String,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it stops being valid.
    pub expires_at: Timestamp,
    /// Revoked tokens are refused with `APIG.1002`.
    pub revoked: bool,
}

/// Whether an access key may sign requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessKeyStatus {
    /// Signatures with it are accepted.
    Active,
    /// Signatures with it are refused.
    Inactive,
}

impl AccessKeyStatus {
    /// Wire and storage form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
        }
    }

    /// Parses the wire form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "inactive" => Some(Self::Inactive),
            _ => None,
        }
    }
}

/// An access key (AK) of a user, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    /// The AK.
    pub access: String,
    /// Owner.
    pub user_id: String,
    /// Active or inactive.
    pub status: AccessKeyStatus,
    /// Free text.
    pub description: String,
    /// Creation time.
    pub created_at: Timestamp,
}

/// An access key with its decrypted secret (SK), for signature checks.
#[derive(Clone)]
pub struct AccessKeyWithSecret {
    /// The key.
    pub key: AccessKey,
    /// The SK.
    pub secret: String,
}

/// An access key to store.
#[derive(Clone)]
pub struct NewAccessKey {
    /// The AK.
    pub access: String,
    /// The SK (sealed by the store).
    pub secret: String,
    /// Owner.
    pub user_id: String,
    /// Free text.
    pub description: String,
}

/// A change to an access key.
#[derive(Debug, Clone, Default)]
pub struct AccessKeyChange {
    /// New status.
    pub status: Option<AccessKeyStatus>,
    /// New description.
    pub description: Option<String>,
}

/// A gateway instance (a logical gateway owned by a project).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// 32 hex id.
    pub id: String,
    /// Owning project.
    pub project_id: String,
    /// Name (`default` for the one every project gets).
    pub name: String,
    /// Free text.
    pub description: String,
    /// `Running`.
    pub status: String,
    /// Creation time.
    pub created_at: Timestamp,
}

impl Instance {
    /// The scope that addresses objects inside this instance.
    pub fn scope(&self) -> Scope {
        Scope {
            project_id: self.project_id.clone(),
            instance_id: self.id.clone(),
        }
    }
}

/// An instance to create.
#[derive(Debug, Clone)]
pub struct NewInstance {
    /// Name.
    pub name: InstanceName,
    /// Free text.
    pub description: InstanceDescription,
}

/// The project and instance a management call works in. Obtained from an [`Instance`] the
/// store returned for that project, so holding one means the instance exists there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Project of the caller and the path.
    pub project_id: String,
    /// Instance of the path.
    pub instance_id: String,
}

/// `creator` of an app: apps made through this API are `USER`.
pub const CREATOR_USER: &str = "USER";
/// `app_type` of an app: `apig`.
pub const APP_TYPE_APIG: &str = "apig";
/// `status` of a valid app.
pub const APP_STATUS_VALID: i64 = 1;

/// An app (credential) with its decrypted secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// 32 hex id.
    pub id: String,
    /// Instance it belongs to.
    pub instance_id: String,
    /// Unique name in the instance.
    pub name: AppName,
    /// Description.
    pub remark: AppRemark,
    /// AppKey, unique in the instance.
    pub app_key: AppKey,
    /// AppSecret.
    pub app_secret: AppSecret,
    /// `USER`.
    pub creator: String,
    /// 1 = valid.
    pub status: i64,
    /// `apig`.
    pub app_type: String,
    /// Id of the user who created it (ModelArts `user_id`).
    pub created_by: String,
    /// Creation time.
    pub register_time: Timestamp,
    /// Last change.
    pub update_time: Timestamp,
    /// Number of API authorizations.
    pub bind_num: i64,
}

/// An app to create (key and secret already chosen: given or generated).
#[derive(Debug, Clone)]
pub struct NewApp {
    /// Name.
    pub name: AppName,
    /// Description.
    pub remark: AppRemark,
    /// AppKey.
    pub app_key: AppKey,
    /// AppSecret.
    pub app_secret: AppSecret,
    /// Creating user's id.
    pub created_by: String,
}

/// Count limits checked when an app is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppLimits {
    /// Apps in one instance.
    pub per_instance: u32,
    /// Apps one user created in the instance (ModelArts allows five per user).
    pub per_creator: Option<u32>,
}

/// A change to an app. `None` keeps the current value.
#[derive(Debug, Clone)]
pub struct AppChange {
    /// New name (`None` keeps it: otcextensions sends only changed fields).
    pub name: Option<AppName>,
    /// New description (`None` keeps it).
    pub remark: Option<AppRemark>,
    /// New AppKey.
    pub app_key: Option<AppKey>,
    /// New AppSecret.
    pub app_secret: Option<AppSecret>,
}

/// Filters of `GET /apps`.
#[derive(Debug, Clone, Default)]
pub struct AppFilter {
    /// Exact id.
    pub id: Option<String>,
    /// Name, fuzzy (substring) unless `name_exact`.
    pub name: Option<String>,
    /// Exact name match (`precise_search=name`).
    pub name_exact: bool,
    /// Exact status.
    pub status: Option<i64>,
    /// Exact AppKey.
    pub app_key: Option<String>,
    /// Exact creator.
    pub creator: Option<String>,
    /// Only apps created by this user (ModelArts lists the caller's own apps).
    pub created_by: Option<String>,
    /// Sort order; newest first by default.
    pub order: AppOrder,
}

/// Field an app list is sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AppSortField {
    /// Registration time.
    #[default]
    Created,
    /// Last change.
    Updated,
    /// Name.
    Name,
}

/// Sort order of an app list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppOrder {
    /// Field.
    pub field: AppSortField,
    /// Descending when true.
    pub descending: bool,
}

impl Default for AppOrder {
    fn default() -> Self {
        Self {
            field: AppSortField::Created,
            descending: true,
        }
    }
}

/// Apps with and without API authorizations (`GET /resources/outline/apps`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppQuantities {
    /// Apps authorized for at least one API.
    pub authed: i64,
    /// Apps authorized for none.
    pub unauthed: i64,
}

/// An AppCode with its decrypted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCode {
    /// 32 hex id.
    pub id: String,
    /// Owning app.
    pub app_id: String,
    /// The secret value.
    pub value: AppCodeValue,
    /// Creation time.
    pub create_time: Timestamp,
}

/// What the data plane needs to authenticate one app: key, secret and the keyed hashes of its
/// AppCodes (the plaintext codes never leave the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCredentials {
    /// App id.
    pub app_id: String,
    /// App name (the `$context.appName` backend parameter).
    pub app_name: String,
    /// AppKey (signature `Access=`).
    pub app_key: AppKey,
    /// AppSecret (signature key).
    pub app_secret: AppSecret,
    /// HMAC-SHA256 index of each AppCode, as stored (hex).
    pub app_code_hashes: Vec<String>,
}
