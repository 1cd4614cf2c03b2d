//! App ACLs, spec §1.12: which client addresses may use an app (`PERMIT`) or may not (`DENY`).
//!
//! `PUT` creates or replaces the ACL (201); `GET` answers 200 with the ACL, or with `{}` when
//! the app has none (what Huawei answers, and what terraform's `huaweicloud_apig_application_acl`
//! reads as "no ACL"); `DELETE` answers 204, also when the app had no ACL. A missing app is 404
//! `APIG.3004` on all three. The ACL goes with its app.

use super::views::acl_info;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::changes::ChangedApps;
use crate::error::{not_found, ApiResult};
use crate::extract::PathArgs;
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::authz::{AclRule, AclType, AclValues};
use apigw_domain::ApiError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type AppPath = PathArgs<(String, String, String)>;

/// `PUT /apps/{app_id}/app-acl` with `app_acl_type` and `app_acl_values`: 201 with the ACL.
pub async fn set(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, app_id)): AppPath,
    body: JsonObject,
) -> ApiResult<(StatusCode, ChangedApps, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let app_id = path_id(&app_id, "app_id")?;
    let rule = AclRule {
        acl_type: AclType::parse(body.req_str("app_acl_type")?)?,
        values: AclValues::parse(&body.req_str_array("app_acl_values")?)?,
    };
    let acl = state
        .store
        .set_app_acl(&scope, app_id.as_str(), rule)
        .await
        .map_err(|e| not_found(e, || ApiError::app_not_found(app_id.as_str())))?;
    tracing::info!(%app_id, acl_type = %acl.rule.acl_type, values = acl.rule.values.as_slice().len(), "app ACL set");
    Ok((
        StatusCode::CREATED,
        ChangedApps::one(app_id.as_str()),
        Json(acl_info(&acl)),
    ))
}

/// `GET /apps/{app_id}/app-acl`: 200 with the ACL, or `{}` when the app has none.
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, app_id)): AppPath,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let app_id = path_id(&app_id, "app_id")?;
    let acl = state
        .store
        .get_app_acl(&scope, app_id.as_str())
        .await
        .map_err(|e| not_found(e, || ApiError::app_not_found(app_id.as_str())))?;
    Ok(Json(acl.as_ref().map_or_else(|| json!({}), acl_info)))
}

/// `DELETE /apps/{app_id}/app-acl`: 204, whether or not the app had an ACL.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, app_id)): AppPath,
) -> ApiResult<(ChangedApps, StatusCode)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let app_id = path_id(&app_id, "app_id")?;
    let removed = state
        .store
        .delete_app_acl(&scope, app_id.as_str())
        .await
        .map_err(|e| not_found(e, || ApiError::app_not_found(app_id.as_str())))?;
    tracing::info!(%app_id, removed, "app ACL deleted");
    Ok((ChangedApps::one(app_id.as_str()), StatusCode::NO_CONTENT))
}
