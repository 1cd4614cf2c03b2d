//! API groups, environments and their variables, APIs and publishing (spec §3.1–3.4).
//!
//! Codes beyond the spec's table that we chose (Huawei's own catalogue where it has one):
//! deleting a group that still holds APIs is 403 `APIG.3415`; deleting or renaming the
//! `DEFAULT` group is 403 `APIG.1101`; deleting or changing `RELEASE` is 403 `APIG.1103`; a
//! 11th environment is 403 `APIG.3104`; taking offline an API that is not published in the
//! environment is 404 `APIG.3015`; moving an API to another group on update is 400 `APIG.2011`
//! naming `group_id`; publishing an API whose method and path another API of the group already
//! has published in the environment is 400 `APIG.3301`.

pub mod api;
pub mod checks;
pub mod debug;
pub mod domain_certificates;
pub mod domains;
pub mod env_variables;
pub mod envs;
pub mod gateway_responses;
pub mod groups;
pub mod openapi;
pub mod publish;
pub mod versions;
pub mod views;

use crate::error::Error;
use crate::AppState;
use apigw_domain::ApiError;
use apigw_store::apis::ApiStoreError;
use apigw_store::StoreError;
use axum::routing::{get, post, put};
use axum::Router;

/// Routes of groups, environments, APIs and publishing.
pub fn routes() -> Router<AppState> {
    let base = "/v2/{project_id}/apigw/instances/{instance_id}";
    Router::new()
        .route(
            &format!("{base}/api-groups"),
            get(groups::list).post(groups::create),
        )
        .route(
            &format!("{base}/api-groups/{{group_id}}"),
            get(groups::show).put(groups::update).delete(groups::delete),
        )
        .route(
            &format!("{base}/api-groups/{{group_id}}/sl-domain-access-settings"),
            put(groups::set_sl_domain_access),
        )
        .route(
            &format!("{base}/api-groups/{{group_id}}/domains"),
            post(domains::bind),
        )
        .route(
            &format!("{base}/api-groups/{{group_id}}/domains/{{domain_id}}"),
            put(domains::update).delete(domains::unbind),
        )
        .route(
            &format!("{base}/api-groups/{{group_id}}/domains/{{domain_id}}/certificates/attach"),
            post(domain_certificates::attach_stored),
        )
        .route(
            &format!("{base}/api-groups/{{group_id}}/domains/{{domain_id}}/certificates/detach"),
            post(domain_certificates::detach_stored),
        )
        .route(
            &format!("{base}/api-groups/{{group_id}}/domains/{{domain_id}}/certificate"),
            post(domain_certificates::attach),
        )
        .route(
            &format!(
                "{base}/api-groups/{{group_id}}/domains/{{domain_id}}/certificate/{{certificate_id}}"
            ),
            get(domain_certificates::show).delete(domain_certificates::detach),
        )
        .route(
            &format!("{base}/api-groups/{{group_id}}/gateway-responses"),
            get(gateway_responses::list).post(gateway_responses::create),
        )
        .route(
            &format!("{base}/api-groups/{{group_id}}/gateway-responses/{{response_id}}"),
            get(gateway_responses::show)
                .put(gateway_responses::update)
                .delete(gateway_responses::delete),
        )
        .route(
            &format!(
                "{base}/api-groups/{{group_id}}/gateway-responses/{{response_id}}/{{response_type}}"
            ),
            get(gateway_responses::show_type)
                .put(gateway_responses::update_type)
                .delete(gateway_responses::delete_type),
        )
        .route(&format!("{base}/envs"), get(envs::list).post(envs::create))
        .route(
            &format!("{base}/envs/{{env_id}}"),
            get(envs::show).put(envs::update).delete(envs::delete),
        )
        .route(
            &format!("{base}/env-variables"),
            get(env_variables::list).post(env_variables::create),
        )
        .route(
            &format!("{base}/env-variables/{{env_variable_id}}"),
            get(env_variables::show)
                .put(env_variables::update)
                .delete(env_variables::delete),
        )
        .route(&format!("{base}/apis"), get(api::list).post(api::create))
        .route(&format!("{base}/apis/action"), post(publish::action))
        .route(&format!("{base}/apis/publish"), post(publish::batch))
        .route(&format!("{base}/apis/debug/{{api_id}}"), post(debug::debug))
        .route(&format!("{base}/apis/check"), post(checks::api))
        .route(&format!("{base}/api-groups/check"), post(checks::group))
        .route(
            &format!("{base}/apis/runtime/{{api_id}}"),
            get(checks::runtime),
        )
        .route(
            &format!("{base}/resources/outline/apis"),
            get(checks::api_quantities),
        )
        .route(&format!("{base}/tags"), get(checks::tags))
        .route(&format!("{base}/openapi/import"), post(openapi::import))
        .route(&format!("{base}/openapi/export"), post(openapi::export))
        .route(
            &format!("{base}/apis/publish/{{api_id}}"),
            get(versions::list).put(versions::switch),
        )
        .route(
            &format!("{base}/apis/versions/{{version_id}}"),
            get(versions::show).delete(versions::take_offline),
        )
        .route(
            &format!("{base}/apis/{{api_id}}"),
            get(api::show).put(api::update).delete(api::delete),
        )
}

/// Every API of a group: what an import and the checks compare with.
pub(crate) async fn group_apis(
    state: &AppState,
    scope: &apigw_store::Scope,
    group_id: &str,
) -> crate::error::ApiResult<Vec<apigw_store::apis::Api>> {
    let filter = apigw_store::apis::ApiFilter {
        group_id: Some(group_id.to_owned()),
        ..Default::default()
    };
    all_apis(state, scope, &filter).await
}

/// Every API of the scope `filter` selects, read page by page (the store pages by 500).
pub(crate) async fn all_apis(
    state: &AppState,
    scope: &apigw_store::Scope,
    filter: &apigw_store::apis::ApiFilter,
) -> crate::error::ApiResult<Vec<apigw_store::apis::Api>> {
    let mut all = Vec::new();
    loop {
        let page = apigw_domain::Page {
            offset: all.len() as i64,
            limit: 500,
        };
        let (total, apis) = state
            .store
            .list_apis(scope, filter, page)
            .await
            .map_err(|e| refusal(e, Addressed::default()))?;
        let done = apis.is_empty() || all.len() + apis.len() >= total as usize;
        all.extend(apis);
        if done {
            return Ok(all);
        }
    }
}

/// The ids a call addressed, so its 404s name what was missing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Addressed<'a> {
    /// Instance of the path.
    pub instance: &'a str,
    /// Group of the path or body.
    pub group: &'a str,
    /// API of the path or body.
    pub api: &'a str,
    /// Environment of the path or body.
    pub env: &'a str,
    /// API version of the path or body.
    pub version: &'a str,
}

/// Maps a refusal of the API store to its APIG error.
pub fn refusal(e: ApiStoreError, at: Addressed<'_>) -> Error {
    Error(match e {
        ApiStoreError::GroupNotFound => ApiError::api_group_not_found(at.group),
        ApiStoreError::ApiNotFound => ApiError::api_not_found(at.api),
        ApiStoreError::EnvNotFound => ApiError::environment_not_found(at.env),
        ApiStoreError::NotPublished => ApiError::publication_not_found(at.api, at.env),
        ApiStoreError::VersionNotFound => ApiError::api_version_not_found(at.version),
        ApiStoreError::VersionNotInForce { api_id, env_id } => {
            ApiError::publication_not_found(&api_id, &env_id)
        }
        ApiStoreError::GroupNameExists => ApiError::api_group_name_exists(),
        ApiStoreError::ApiNameExists => ApiError::api_name_exists(),
        ApiStoreError::ApiRouteExists => ApiError::api_exists(),
        ApiStoreError::RoutePublished => ApiError::api_route_published(),
        ApiStoreError::EnvNameExists => ApiError::environment_name_exists(),
        ApiStoreError::EnvLimitReached => ApiError::environment_limit_reached(),
        ApiStoreError::GroupHasApis => ApiError::api_group_has_apis(),
        ApiStoreError::ApiPublished => ApiError::api_published(),
        ApiStoreError::EnvHasPublishedApis => ApiError::environment_has_published_apis(),
        ApiStoreError::DefaultGroupLocked => ApiError::default_group_locked(),
        ApiStoreError::ReleaseEnvLocked => ApiError::release_environment_locked(),
        ApiStoreError::GroupChange => ApiError::invalid_body_field("group_id"),
        ApiStoreError::VpcChannelNotFound(id) => ApiError::vpc_channel_not_found(&id),
        ApiStoreError::ResponseNotFound(id) => ApiError::gateway_response_not_found(&id),
        // The instance vanished between the scope check and the transaction.
        ApiStoreError::Store(StoreError::NotFound) => ApiError::instance_not_found(at.instance),
        ApiStoreError::Store(other) => return other.into(),
    })
}

/// Whether `precise_search` (a comma-separated list of field names) names `field`.
pub fn precise(q: &crate::extract::QueryMap, field: &str) -> Result<bool, Error> {
    Ok(q.filter("precise_search", 255)?
        .unwrap_or_default()
        .split(',')
        .any(|p| p.trim() == field))
}
