//! Environment variables of API groups (`/env-variables`), and what the data plane reads of
//! them ([`EnvVariableStore::instance_env_variables`]).
//!
//! A name is unique per group and environment and a group holds at most
//! [`MAX_VARIABLES_PER_GROUP_ENV`](apigw_domain::env_variable::MAX_VARIABLES_PER_GROUP_ENV)
//! per environment; deleting the group, the environment or the instance deletes its variables.

use crate::model::Scope;
use crate::{StoreError, StoreResult};
use apigw_domain::env_variable::{EnvVariable, VariableName, VariableValue};
use apigw_domain::Page;
use async_trait::async_trait;

/// Why a variable call did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum EnvVariableError {
    /// The store failed, or the instance is not in scope (`StoreError::NotFound`).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The group is not in the caller's scope.
    #[error("the API group does not exist")]
    GroupNotFound,
    /// The environment is not in the caller's scope.
    #[error("the environment does not exist")]
    EnvNotFound,
    /// The instance has no variable with this id.
    #[error("the environment variable does not exist")]
    NotFound,
    /// The group has a variable of this name in the environment.
    #[error("the environment variable already exists")]
    Exists,
    /// The group holds its maximum number of variables in the environment.
    #[error("the variable limit is reached")]
    LimitReached,
}

impl From<sqlx::Error> for EnvVariableError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Result of variable calls.
pub type EnvVariableResult<T> = Result<T, EnvVariableError>;

/// A variable to create.
#[derive(Debug, Clone)]
pub struct NewEnvVariable {
    /// The group it belongs to.
    pub group_id: String,
    /// The environment it holds in.
    pub env_id: String,
    /// `variable_name`.
    pub name: VariableName,
    /// `variable_value`.
    pub value: VariableValue,
}

/// Which variables a list call asks for: those of one group, optionally of one environment
/// and with a name containing (or, `name_exact`, equal to) `name`.
#[derive(Debug, Clone, Default)]
pub struct EnvVariableFilter {
    /// `group_id` (mandatory on the wire).
    pub group_id: String,
    /// `env_id`.
    pub env_id: Option<String>,
    /// `variable_name`.
    pub name: Option<String>,
    /// `precise_search=variable_name`.
    pub name_exact: bool,
}

/// Environment variables. Each method is one transaction; the uniqueness of a name and the
/// limit per group and environment hold under concurrent callers.
#[async_trait]
pub trait EnvVariableStore: Send + Sync + 'static {
    /// Creates a variable. Errors: `GroupNotFound`, `EnvNotFound`, `Exists`, `LimitReached`
    /// (`max_per_group_env`).
    async fn create_env_variable(
        &self,
        scope: &Scope,
        variable: NewEnvVariable,
        max_per_group_env: usize,
    ) -> EnvVariableResult<EnvVariable>;
    /// One variable of the instance. Errors: `NotFound`.
    async fn env_variable(&self, scope: &Scope, id: &str) -> EnvVariableResult<EnvVariable>;
    /// Changes a variable's value. Errors: `NotFound`.
    async fn update_env_variable(
        &self,
        scope: &Scope,
        id: &str,
        value: VariableValue,
    ) -> EnvVariableResult<EnvVariable>;
    /// Deletes a variable. Errors: `NotFound`.
    async fn delete_env_variable(&self, scope: &Scope, id: &str) -> EnvVariableResult<()>;
    /// A page of the variables `filter` selects (oldest first) and their total. Errors:
    /// `GroupNotFound`.
    async fn list_env_variables(
        &self,
        scope: &Scope,
        filter: &EnvVariableFilter,
        page: Page,
    ) -> EnvVariableResult<(i64, Vec<EnvVariable>)>;
    /// Every variable of instance `instance_id`, for the data plane (no scope: the gateway
    /// serves one instance).
    async fn instance_env_variables(&self, instance_id: &str) -> StoreResult<Vec<EnvVariable>>;
}
