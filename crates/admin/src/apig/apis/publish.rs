//! Publishing and taking offline, spec §3.4: `POST /apis/action` with `action` `online` or
//! `offline`. Publishing copies the API's current definition into the environment (replacing
//! an earlier copy there); the data plane serves only such copies.

use super::views::publish_info;
use super::{refusal, Addressed};
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::ApiResult;
use crate::extract::PathArgs;
use crate::scope::{self, Access};
use crate::AppState;
use apigw_domain::api::{Remark, REMARK_MAX};
use apigw_domain::{ApiError, ResourceId};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::Value;

/// A body id field: `APIG.2011` naming it when absent or malformed.
pub(super) fn body_id(body: &JsonObject, field: &str) -> ApiResult<ResourceId> {
    Ok(ResourceId::parse(body.req_str(field)?, field)
        .map_err(|_| ApiError::invalid_body_field(field))?)
}

/// `POST /apis/action`: 201 with the publication record (for `offline`, the one removed).
pub async fn action(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): PathArgs<(String, String)>,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let online = match body.req_str("action")? {
        "online" => true,
        "offline" => false,
        _ => return Err(ApiError::invalid_body_field("action").into()),
    };
    let env_id = body_id(&body, "env_id")?;
    let api_id = body_id(&body, "api_id")?;
    let remark = match body.opt_str("remark")? {
        Some(r) => Remark::parse(r, "remark", REMARK_MAX)?,
        None => Remark::empty(),
    };
    let at = Addressed {
        instance: &instance_id,
        api: api_id.as_str(),
        env: env_id.as_str(),
        ..Addressed::default()
    };
    let record = if online {
        state
            .store
            .publish_api(&scope, api_id.as_str(), env_id.as_str(), remark)
            .await
    } else {
        state
            .store
            .unpublish_api(&scope, api_id.as_str(), env_id.as_str(), remark)
            .await
    }
    .map_err(|e| refusal(e, at))?;
    tracing::info!(
        api_id = %record.api_id,
        env_id = %record.env_id,
        publish_id = %record.publish_id,
        action = if online { "online" } else { "offline" },
        "API publication changed"
    );
    Ok((StatusCode::CREATED, Json(publish_info(&record))))
}
