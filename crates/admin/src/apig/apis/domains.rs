//! Independent domain names of API groups (`/api-groups/{group_id}/domains`): bind, change and
//! unbind. A bound name routes the gateway's requests whose `Host` is that name to the group
//! (see `apigw_domain::group_domain`); the group's own views list its names (`url_domains`).

use super::views::bound_domain_info;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiResult, Error};
use crate::extract::PathArgs;
use crate::scope::{self, path_id, Access};
use crate::AppState;
use apigw_domain::group_domain::{DomainSettings, GroupDomainName, MAX_DOMAINS_PER_GROUP};
use apigw_domain::ApiError;
use apigw_store::group_domains::GroupDomainError;
use apigw_store::StoreError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::Value;

type GroupPath = PathArgs<(String, String, String)>;
pub(super) type DomainPath = PathArgs<(String, String, String, String)>;

/// Maps a refusal of the domain store to its APIG error (`CertificateNotFound` as a lookup
/// of the certificate: 404 `APIG.3021`).
pub(super) fn refusal(e: GroupDomainError, instance: &str, group: &str) -> Error {
    Error(match e {
        GroupDomainError::GroupNotFound => ApiError::api_group_not_found(group),
        GroupDomainError::NotFound => ApiError::url_domain_not_found(),
        GroupDomainError::Exists => ApiError::url_domain_exists(),
        GroupDomainError::LimitReached => ApiError::url_domain_limit(),
        GroupDomainError::CertificateNotFound => ApiError::ssl_certificate_not_found(),
        // Client certificates need a CA to be verified against: a certificate added with
        // `trusted_root_ca` first.
        GroupDomainError::NoTrustedRootCa => {
            ApiError::invalid_body_field("verified_client_certificate_enabled")
        }
        GroupDomainError::CertificateRefused(e) => e,
        GroupDomainError::Store(StoreError::NotFound) => ApiError::instance_not_found(instance),
        GroupDomainError::Store(other) => return other.into(),
    })
}

/// `POST /api-groups/{group_id}/domains`: 201 with the binding. A name already bound in the
/// instance is refused (400 `APIG.3305`), so is a sixth name (403 `APIG.3108`).
pub async fn bind(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id)): GroupPath,
    body: JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let group_id = path_id(&group_id, "group_id")?;
    let domain = GroupDomainName::parse(body.req_str("url_domain")?)?;
    let settings = DomainSettings::parse(&body.0)?;
    let bound = state
        .store
        .bind_domain(
            &scope,
            group_id.as_str(),
            domain,
            &settings,
            MAX_DOMAINS_PER_GROUP,
        )
        .await
        .map_err(|e| refusal(e, &instance_id, group_id.as_str()))?;
    tracing::info!(group_id = %group_id, domain_id = %bound.id, domain = bound.domain.as_str(), "domain bound to API group");
    Ok((StatusCode::CREATED, Json(bound_domain_info(&bound))))
}

/// `PUT /api-groups/{group_id}/domains/{domain_id}`: 200 with the binding; fields not given
/// keep their values.
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id, domain_id)): DomainPath,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let group_id = path_id(&group_id, "group_id")?;
    let domain_id = path_id(&domain_id, "domain_id")?;
    let settings = DomainSettings::parse(&body.0)?;
    let bound = state
        .store
        .update_domain(&scope, group_id.as_str(), domain_id.as_str(), &settings)
        .await
        .map_err(|e| refusal(e, &instance_id, group_id.as_str()))?;
    tracing::info!(group_id = %group_id, domain_id = %bound.id, verify_client_certificate = bound.verify_client_certificate, "domain binding changed");
    Ok(Json(bound_domain_info(&bound)))
}

/// `DELETE /api-groups/{group_id}/domains/{domain_id}`: 204.
pub async fn unbind(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathArgs((project_id, instance_id, group_id, domain_id)): DomainPath,
) -> ApiResult<StatusCode> {
    let scope =
        scope::instance_scope(&state, &caller, &project_id, &instance_id, Access::Write).await?;
    let group_id = path_id(&group_id, "group_id")?;
    let domain_id = path_id(&domain_id, "domain_id")?;
    state
        .store
        .unbind_domain(&scope, group_id.as_str(), domain_id.as_str())
        .await
        .map_err(|e| refusal(e, &instance_id, group_id.as_str()))?;
    tracing::info!(group_id = %group_id, domain_id = %domain_id, "domain unbound from API group");
    Ok(StatusCode::NO_CONTENT)
}
