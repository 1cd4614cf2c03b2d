//! The versions of published APIs: every publication keeps the definition it published as a
//! version (the newest ten per API and environment), which can be listed
//! (`GET /apis/publish/{api_id}`), read (`GET /apis/versions/{version_id}`), put in force
//! again (`PUT /apis/publish/{api_id}` with `version_id`: a rollback, without editing the
//! API) or taken offline (`DELETE /apis/versions/{version_id}`, when it is the one in force).
//! Terraform's `huaweicloud_apig_api_publishment` reads its state from the list (the provider's
//! source; Terraform itself is not run in the tests).

use super::api::api_and_domains;
use super::publish::body_id;
use super::views::{api_info, publish_info, version_info};
use super::{refusal, Addressed};
use crate::apig::views::Precision;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::{PathArgs, QueryMap};
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::api::sl_domain;
use apigw_domain::{ApiError, Page, ResourceId};
use apigw_store::apis::VersionFilter;
use axum::extract::State;
use axum::{Extension, Json};
use serde_json::{json, Value};

type ApiPath = PathArgs<(String, String, String)>;
type VersionPath = PathArgs<(String, String, String)>;

/// `GET /apis/publish/{api_id}`: the API's kept versions, newest first; filters `env_id` and
/// `env_name`. `status` 1 marks the version in force in its environment.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, api_id)): ApiPath,
    q: QueryMap,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let api_id = path_id(&api_id, "api_id")?;
    let page = Page::parse(q.get("offset"), q.get("limit"))?;
    let filter = VersionFilter {
        env_id: q
            .filter("env_id", 64)?
            .map(|e| ResourceId::parse(e, "env_id").map(ResourceId::into_inner))
            .transpose()?,
        env_name: q.filter("env_name", 64)?.map(str::to_owned),
    };
    let at = Addressed {
        instance: &instance_id,
        api: api_id.as_str(),
        ..Addressed::default()
    };
    let (total, versions) = state
        .store
        .list_api_versions(&scope, api_id.as_str(), &filter, page)
        .await
        .map_err(|e| refusal(e, at))?;
    Ok(Json(json!({
        "total": total,
        "size": versions.len(),
        "api_versions": versions.iter().map(version_info).collect::<Vec<_>>(),
    })))
}

/// `PUT /apis/publish/{api_id}` with `version_id`: 200 with the new publication record; the
/// version's definition is in force in its environment from the next call.
pub async fn switch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, api_id)): ApiPath,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let api_id = path_id(&api_id, "api_id")?;
    let version_id = body_id(&body, "version_id")?;
    let at = Addressed {
        instance: &instance_id,
        api: api_id.as_str(),
        version: version_id.as_str(),
        ..Addressed::default()
    };
    let record = state
        .store
        .switch_api_version(&scope, api_id.as_str(), version_id.as_str())
        .await
        .map_err(|e| refusal(e, at))?;
    tracing::info!(
        api_id = %record.api_id,
        env_id = %record.env_id,
        version_id = %record.version_id,
        publish_id = %record.publish_id,
        "API version put in force"
    );
    Ok(Json(publish_info(&record)))
}

/// `GET /apis/versions/{version_id}`: the API as that version published it (its definition,
/// environment, time and the group's addresses).
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, version_id)): VersionPath,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Read).await?;
    let version_id = path_id(&version_id, "version_id")?;
    let at = Addressed {
        instance: &instance_id,
        version: version_id.as_str(),
        ..Addressed::default()
    };
    let version = state
        .store
        .api_version(&scope, version_id.as_str())
        .await
        .map_err(|e| refusal(e, at))?;
    let (mut api, domains) = api_and_domains(&state, &scope, &version.api_id, at)
        .await?
        .ok_or_else(|| Error(ApiError::api_version_not_found(version_id.as_str())))?;
    api.definition = version.definition;
    api.publications.clear();
    let mut v = api_info(&api, &domains, Precision::Seconds, &state.config.region);
    let group_domain = sl_domain(&api.group.id, &state.config.region);
    v["version_id"] = json!(version.id);
    v["run_env_id"] = json!(version.env_id);
    v["run_env_name"] = json!(version.env_name);
    v["publish_time"] = json!(version.publish_time.rfc3339_seconds());
    v["sl_domain"] = json!(group_domain);
    v["sl_domains"] = json!(std::iter::once(group_domain)
        .chain(domains.iter().map(|d| d.domain.as_str().to_owned()))
        .collect::<Vec<_>>());
    Ok(Json(v))
}

/// `DELETE /apis/versions/{version_id}`: 204; the API is offline in the version's environment.
/// Only the version in force can be taken offline (404 `APIG.3015` otherwise).
pub async fn take_offline(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, version_id)): VersionPath,
) -> ApiResult<axum::http::StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let version_id = path_id(&version_id, "version_id")?;
    let at = Addressed {
        instance: &instance_id,
        version: version_id.as_str(),
        ..Addressed::default()
    };
    let version = state
        .store
        .unpublish_api_version(&scope, version_id.as_str())
        .await
        .map_err(|e| refusal(e, at))?;
    tracing::info!(api_id = %version.api_id, env_id = %version.env_id, version_id = %version_id, "API version taken offline");
    Ok(axum::http::StatusCode::NO_CONTENT)
}
