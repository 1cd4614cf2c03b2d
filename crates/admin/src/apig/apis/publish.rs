//! Publishing and taking offline, spec §3.4: `POST /apis/action` with `action` `online` or
//! `offline`, and the same for many APIs at once (`POST /apis/publish?action=...`). Publishing
//! copies the API's current definition into the environment (replacing an earlier copy there);
//! the data plane serves only such copies.

use super::views::publish_info;
use super::{refusal, Addressed};
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, Access};
use crate::AppState;
use apigw_domain::api::{Remark, REMARK_MAX};
use apigw_domain::{ApiError, Page, ResourceId};
use apigw_store::apis::ApiFilter;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

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

/// Most APIs one batch call may name (Huawei's limit).
pub const MAX_APIS_PER_BATCH: usize = 1000;

/// `POST /apis/publish?action=online|offline` with `env_id`, `remark` and `apis` (up to
/// [`MAX_APIS_PER_BATCH`] ids) or `group_id` (every API of the group): 200
/// `{"success": [publication records], "failure": [{api_id, api_name, error_code, error_msg}]}`.
/// Each API is published (or taken offline) on its own, as `POST /apis/action` does it, so one
/// refusal does not hold back the others; an unknown environment or group refuses the call.
pub async fn batch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): PathArgs<(String, String)>,
    q: QueryMap,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let online = match q.get("action") {
        Some("online") => true,
        Some("offline") => false,
        _ => {
            return Err(ApiError::new(
                400,
                "APIG.2011",
                "Invalid parameter value: parameter action should be \"online\" or \"offline\"",
            )
            .into())
        }
    };
    let env_id = body_id(&body, "env_id")?;
    let remark = match body.opt_str("remark")? {
        Some(r) => Remark::parse(r, "remark", REMARK_MAX)?,
        None => Remark::empty(),
    };
    let at = Addressed {
        instance: &instance_id,
        env: env_id.as_str(),
        ..Addressed::default()
    };
    state
        .store
        .get_environment(&scope, env_id.as_str())
        .await
        .map_err(|e| refusal(e, at))?
        .ok_or_else(|| Error(ApiError::environment_not_found(env_id.as_str())))?;
    let api_ids = batch_api_ids(&state, &scope, &body, at).await?;
    let (mut success, mut failure) = (Vec::new(), Vec::new());
    for api_id in &api_ids {
        let at = Addressed { api: api_id, ..at };
        let done = if online {
            let published =
                state
                    .store
                    .publish_api(&scope, api_id, env_id.as_str(), remark.clone());
            published.await
        } else {
            let offline =
                state
                    .store
                    .unpublish_api(&scope, api_id, env_id.as_str(), remark.clone());
            offline.await
        };
        match done {
            Ok(record) => success.push(publish_info(&record)),
            Err(e) => {
                let Error(refused) = refusal(e, at);
                let api_name = state
                    .store
                    .get_api(&scope, api_id)
                    .await
                    .ok()
                    .flatten()
                    .map(|api| api.definition.name().as_str().to_owned());
                let mut failed = json!({
                    "api_id": api_id,
                    "error_code": refused.code,
                    "error_msg": refused.message,
                });
                // Named where the API exists (Huawei leaves the name out otherwise).
                if let Some(name) = api_name {
                    failed["api_name"] = json!(name);
                }
                failure.push(failed);
            }
        }
    }
    tracing::info!(
        env_id = %env_id,
        action = if online { "online" } else { "offline" },
        succeeded = success.len(),
        failed = failure.len(),
        "APIs published in a batch"
    );
    Ok(Json(json!({"success": success, "failure": failure})))
}

/// The APIs a batch call names: `apis` (1 to [`MAX_APIS_PER_BATCH`] ids, repeats dropped), or
/// every API of `group_id`.
async fn batch_api_ids(
    state: &AppState,
    scope: &apigw_store::Scope,
    body: &JsonObject,
    at: Addressed<'_>,
) -> ApiResult<Vec<String>> {
    if body.0.get("apis").is_some_and(|v| !v.is_null()) {
        let listed = body.req_str_array("apis")?;
        if listed.is_empty() || listed.len() > MAX_APIS_PER_BATCH {
            return Err(ApiError::invalid_body_field("apis").into());
        }
        let mut ids: Vec<String> = Vec::with_capacity(listed.len());
        for id in listed {
            let id = ResourceId::parse(id, "apis")
                .map_err(|_| ApiError::invalid_body_field("apis"))?
                .into_inner();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        return Ok(ids);
    }
    let Some(group_id) = body.opt_str("group_id")? else {
        return Err(ApiError::invalid_body_field("apis").into());
    };
    let group_id = ResourceId::parse(group_id, "group_id")
        .map_err(|_| ApiError::invalid_body_field("group_id"))?;
    let at = Addressed {
        group: group_id.as_str(),
        ..at
    };
    state
        .store
        .get_group(scope, group_id.as_str())
        .await
        .map_err(|e| refusal(e, at))?
        .ok_or_else(|| Error(ApiError::api_group_not_found(group_id.as_str())))?;
    let filter = ApiFilter {
        group_id: Some(group_id.as_str().to_owned()),
        ..ApiFilter::default()
    };
    let mut ids = Vec::new();
    loop {
        let offset = ids.len().to_string();
        let page = Page::parse(Some(&offset), Some("500"))?;
        let (total, apis) = state
            .store
            .list_apis(scope, &filter, page)
            .await
            .map_err(|e| refusal(e, at))?;
        let read = apis.len();
        ids.extend(apis.into_iter().map(|a| a.id));
        if read == 0 || ids.len() as i64 >= total || ids.len() >= MAX_APIS_PER_BATCH {
            break;
        }
    }
    ids.truncate(MAX_APIS_PER_BATCH);
    Ok(ids)
}
