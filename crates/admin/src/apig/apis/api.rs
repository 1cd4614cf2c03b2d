//! APIs, spec §3.3: create, update (the whole definition), delete, get and list. A change
//! reaches callers only when the API is published again; a published API cannot be deleted.

use super::views::api_info;
use super::{precise, refusal, Addressed};
use crate::apig::views::Precision;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::api::ApiDefinition;
use apigw_domain::{ApiError, Page};
use apigw_store::apis::{Api, ApiFilter};
use apigw_store::group_domains::BoundDomain;
use apigw_store::Scope;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Value};

type InstancePath = PathArgs<(String, String)>;
type ApiPath = PathArgs<(String, String, String)>;

/// `POST /apis`: 201 with the new API.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let definition = ApiDefinition::parse(&body.0)?;
    let group_id = definition.group_id().to_owned();
    let at = Addressed {
        instance: &instance_id,
        group: &group_id,
        ..Addressed::default()
    };
    let api = state
        .store
        .create_api(&scope, definition)
        .await
        .map_err(|e| refusal(e, at))?;
    tracing::info!(api_id = %api.id, name = %api.definition.name(), group_id = %group_id, "API created");
    let domains = state.store.group_domains(&scope, Some(&group_id)).await?;
    Ok((
        StatusCode::CREATED,
        Json(api_info(
            &api,
            &domains,
            Precision::Nanos,
            &state.config.region,
        )),
    ))
}

/// `PUT /apis/{api_id}`: 200 with the changed API. The body is a complete definition, as on
/// create; `group_id` must stay the same.
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, api_id)): ApiPath,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let api_id = path_id(&api_id, "api_id")?;
    let definition = ApiDefinition::parse(&body.0)?;
    let group_id = definition.group_id().to_owned();
    let at = Addressed {
        instance: &instance_id,
        group: &group_id,
        api: api_id.as_str(),
        ..Addressed::default()
    };
    let api = state
        .store
        .update_api(&scope, api_id.as_str(), definition)
        .await
        .map_err(|e| refusal(e, at))?;
    tracing::info!(api_id = %api.id, "API updated");
    let domains = state.store.group_domains(&scope, Some(&group_id)).await?;
    Ok(Json(api_info(
        &api,
        &domains,
        Precision::Nanos,
        &state.config.region,
    )))
}

/// `DELETE /apis/{api_id}`: 204; its app authorizations go with it.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, api_id)): ApiPath,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let api_id = path_id(&api_id, "api_id")?;
    let at = Addressed {
        instance: &instance_id,
        api: api_id.as_str(),
        ..Addressed::default()
    };
    state
        .store
        .delete_api(&scope, api_id.as_str())
        .await
        .map_err(|e| refusal(e, at))?;
    tracing::info!(api_id = %api_id, "API deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /apis/{api_id}`.
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, api_id)): ApiPath,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let api_id = path_id(&api_id, "api_id")?;
    let at = Addressed {
        instance: &instance_id,
        api: api_id.as_str(),
        ..Addressed::default()
    };
    let (api, domains) = api_and_domains(&state, &scope, api_id.as_str(), at)
        .await?
        .ok_or_else(|| Error(ApiError::api_not_found(api_id.as_str())))?;
    Ok(Json(api_info(
        &api,
        &domains,
        Precision::Seconds,
        &state.config.region,
    )))
}

/// An API in scope with the domain names bound to its group (what its views show), if it
/// exists.
pub(super) async fn api_and_domains(
    state: &AppState,
    scope: &Scope,
    api_id: &str,
    at: Addressed<'_>,
) -> ApiResult<Option<(Api, Vec<BoundDomain>)>> {
    let Some(api) = state
        .store
        .get_api(scope, api_id)
        .await
        .map_err(|e| refusal(e, at))?
    else {
        return Ok(None);
    };
    let domains = state
        .store
        .group_domains(scope, Some(&api.group.id))
        .await?;
    Ok(Some((api, domains)))
}

/// `GET /apis`: filters `id`, `name`, `group_id`, `req_protocol`, `req_method`, `req_uri`,
/// `auth_type`, `env_id` (published there), `type`; `name` and `req_uri` match substrings
/// unless named in `precise_search`. Newest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id)): InstancePath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let api_type = q
        .filter("type", 11)?
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| Error(ApiError::invalid_param("type")))
        })
        .transpose()?;
    let text = |key: &str, max: usize| -> ApiResult<Option<String>> {
        Ok(q.filter(key, max)?.map(str::to_owned))
    };
    let filter = ApiFilter {
        id: text("id", 64)?,
        name: text("name", 255)?,
        name_exact: precise(&q, "name")?,
        group_id: text("group_id", 64)?,
        req_protocol: text("req_protocol", 16)?,
        req_method: text("req_method", 16)?,
        req_uri: text("req_uri", 512)?,
        req_uri_exact: precise(&q, "req_uri")?,
        auth_type: text("auth_type", 16)?,
        env_id: text("env_id", 64)?,
        api_type,
    };
    let at = Addressed {
        instance: &instance_id,
        ..Addressed::default()
    };
    let (total, apis) = state
        .store
        .list_apis(&scope, &filter, page)
        .await
        .map_err(|e| refusal(e, at))?;
    let region = &state.config.region;
    let domains = if apis.is_empty() {
        Vec::new()
    } else {
        state.store.group_domains(&scope, None).await?
    };
    let info = |a: &Api| api_info(a, &domains, Precision::Seconds, region);
    Ok(Json(json!({
        "total": total,
        "size": apis.len(),
        "apis": apis.iter().map(info).collect::<Vec<_>>(),
    })))
}
