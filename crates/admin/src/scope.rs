//! Authorization of a management call: the path's project must be the caller's, writes need a
//! writing role, and the instance is looked up inside that project only, so another project's
//! object is indistinguishable from a missing one.

use crate::auth::Caller;
use crate::error::{ApiResult, Error};
use crate::AppState;
use apigw_domain::{ApiError, ResourceId};
use apigw_store::{Instance, Scope};

/// What the call does to the objects it addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only reads (`reader` may).
    Read,
    /// Changes something (`member` or `admin`).
    Write,
}

/// Checks that `caller` may act on `project_id` with `access` (403 `APIG.1005` otherwise).
pub fn check_project(caller: &Caller, project_id: &str, access: Access) -> ApiResult<()> {
    if caller.project_id != project_id || caller.roles.is_empty() {
        return Err(Error(ApiError::forbidden()));
    }
    if access == Access::Write && !caller.can_write() {
        return Err(Error(ApiError::forbidden()));
    }
    Ok(())
}

/// Checks the caller against the path and finds the instance in the caller's project.
pub async fn instance(
    state: &AppState,
    caller: &Caller,
    project_id: &str,
    instance_id: &str,
    access: Access,
) -> ApiResult<Instance> {
    check_project(caller, project_id, access)?;
    let instance_id = ResourceId::parse(instance_id, "instance_id")?;
    state
        .store
        .get_instance(project_id, instance_id.as_str())
        .await?
        .ok_or_else(|| Error(ApiError::instance_not_found(instance_id.as_str())))
}

/// Like [`instance`], returning the scope that addresses objects inside it.
pub async fn instance_scope(
    state: &AppState,
    caller: &Caller,
    project_id: &str,
    instance_id: &str,
    access: Access,
) -> ApiResult<Scope> {
    Ok(instance(state, caller, project_id, instance_id, access)
        .await?
        .scope())
}

/// The project's `default` instance (ModelArts apps live there).
pub async fn default_instance_scope(
    state: &AppState,
    caller: &Caller,
    project_id: &str,
    access: Access,
) -> ApiResult<Scope> {
    check_project(caller, project_id, access)?;
    state
        .store
        .find_instance_by_name(project_id, "default")
        .await?
        .map(|i| i.scope())
        .ok_or_else(|| Error(ApiError::instance_not_found("default")))
}

/// Parses a path id parameter (`APIG.2012` naming `field` when bad).
pub fn path_id(value: &str, field: &str) -> ApiResult<ResourceId> {
    ResourceId::parse(value, field).map_err(Error)
}
